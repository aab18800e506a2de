//! What server functions read from the request they serve: the app state, the signed-in
//! actor, the client's address. Server functions stay thin: these, one service call, `finish`.
use axum::extract::ConnectInfo;
use http::request::Parts;
use leptos::prelude::{expect_context, use_context};
use std::net::SocketAddr;

use super::{Actor, AppState};
use crate::auth::{User, service as auth};
use crate::error::AppError;

pub fn state() -> AppState {
    expect_context::<AppState>()
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The signed-in user of this request, if any.
pub async fn current_user(st: &AppState) -> Result<Option<(Actor, User)>, AppError> {
    let Some(parts) = parts() else {
        return Ok(None);
    };
    auth::actor_from_headers(st, &parts.headers).await
}

/// The signed-in actor, or Unauthenticated.
pub async fn actor(st: &AppState) -> Result<Actor, AppError> {
    current_user(st)
        .await?
        .map(|(a, _)| a)
        .ok_or_else(AppError::unauthenticated)
}

/// The client's address as the server saw it (the proxy's, behind one).
pub fn client_ip() -> String {
    parts()
        .and_then(|p| {
            p.extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn user_agent() -> String {
    parts()
        .and_then(|p| {
            p.headers
                .get(http::header::USER_AGENT)?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// Sets a response header on this server function's answer.
pub fn set_header(name: http::HeaderName, value: &str) {
    if let (Some(resp), Ok(v)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        resp.append_header(name, v);
    }
}

/// Gives an error its HTTP status (server functions answer 500 for every error otherwise).
pub fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result
        && let Some(resp) = use_context::<leptos_axum::ResponseOptions>()
    {
        resp.set_status(e.status());
        if let AppError::Limit { retry_after_s, .. } = e
            && let Ok(v) = http::HeaderValue::from_str(&retry_after_s.to_string())
        {
            resp.insert_header(http::header::RETRY_AFTER, v);
        }
    }
    result
}

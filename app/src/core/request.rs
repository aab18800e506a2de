//! What server functions read from the request they serve: the app state, the request's
//! parts, the client's address (the signed-in actor is `auth::session`'s). Server functions stay thin: these, one service call, `finish`.
use axum::extract::ConnectInfo;
use http::request::Parts;
use leptos::prelude::use_context;
use std::net::SocketAddr;

use super::AppState;
use crate::error::AppError;

tokio::task_local! {
    /// This request's state and parts, set by the server around every request. Leptos
    /// provides both as context too, but context hangs on its reactive owner, and under
    /// concurrent requests a server function was seen to run without it (a panic); the
    /// task-local cannot go missing while the handler runs.
    pub static SCOPE: RequestScope;
}

#[derive(Clone)]
pub struct RequestScope {
    pub state: AppState,
    pub parts: Parts,
}

/// The app state: from Leptos context, else from the request's task-local scope. Neither
/// exists only when Leptos polls a page's data after its request's owner has gone (seen in
/// tests with many servers in one process); that answers an error instead of panicking.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .or_else(|| SCOPE.try_with(|s| s.state.clone()).ok())
        .ok_or_else(|| {
            tracing::warn!("a server function ran outside any request");
            AppError::Unavailable {
                message: "This request has ended.".into(),
            }
        })
}

/// The request's method, URI, headers and extensions.
pub fn parts() -> Option<Parts> {
    use_context::<Parts>().or_else(|| SCOPE.try_with(|s| s.parts.clone()).ok())
}

/// The client's address: the peer of the connection, or — behind a reverse proxy, when
/// `NEXUS_TRUST_PROXY` says so — the last address the proxy appended to `X-Forwarded-For`
/// (the one the proxy itself saw; earlier entries are the client's word and can be forged).
pub fn client_ip(st: &AppState) -> String {
    let Some(p) = parts() else {
        return "unknown".into();
    };
    if st.config.trust_proxy {
        let hops: Vec<&str> = p
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(ip) = hops.last() {
            return ip.to_string();
        }
    }
    p.extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
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

/// Whether this is a plain HTML form post (no JavaScript yet): the framework answers those
/// with a redirect back to the form's page, carrying the error for the form to show.
fn is_plain_form_post() -> bool {
    parts().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Gives an error its HTTP status (server functions answer 500 for every error otherwise),
/// except on plain form posts, whose answer must stay the redirect back to the form.
pub fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result
        && !is_plain_form_post()
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

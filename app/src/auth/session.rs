//! The signed-in actor of the request being served (from its session cookie): what every
//! server function asks first.
use super::{User, service as auth};
use crate::core::request::parts;
use crate::core::{Actor, AppState};
use crate::error::AppError;

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

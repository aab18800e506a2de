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

/// Runs `f` with the state and the signed-in actor, and finishes the request as every server
/// function does (the error's status on the answer).
pub async fn with_actor<T, F, Fut>(f: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, Actor) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    use crate::core::request::{finish, state};
    let st = state()?;
    finish(
        async {
            let a = actor(&st).await?;
            f(st.clone(), a).await
        }
        .await,
    )
}

//! The calling key, as handlers take it (`Key`), and what the API's layers share (`Api`).
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::errors::ApiError;
use super::limits;
use app::core::{Actor, AppState};
use app::error::AppError;

/// What the API's layers share: the app, and the rate limiters.
#[derive(Clone)]
pub struct Api {
    pub app: AppState,
    pub limits: limits::Limits,
}

/// The calling key's actor (put there by [`authenticate`]).
pub struct Key(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Key)
            .ok_or_else(|| ApiError(AppError::unauthenticated()))
    }
}

impl Key {
    /// The actor, once it holds `scope` (403 naming the scope otherwise).
    pub fn with(&self, scope: &str) -> Result<&Actor, ApiError> {
        if self.0.has_scope(scope) {
            Ok(&self.0)
        } else {
            Err(ApiError(AppError::Forbidden {
                message: format!("This key lacks the {scope} scope."),
            }))
        }
    }
}

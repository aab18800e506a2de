//! The one error type. Services return it, server functions carry it to the browser as JSON,
//! REST handlers turn it into a status and body. Internal details are logged once, where the
//! error is made, with the request id; people see a short message and that id.
use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Not found.")]
    NotFound,
    #[error("{message}")]
    Unauthenticated { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{reason}")]
    Invalid { field: String, reason: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    Limit { message: String, retry_after_s: i64 },
    /// The workspace's plan does not allow this (storage full, a tier not included): the
    /// message says which limit; the page offers the plans.
    #[error("{message}")]
    PlanLimit { message: String },
    /// A file with the same content is already in the folder; the person chooses what to do.
    #[error("“{name}” is already in this folder with the same content.")]
    Duplicate { name: String, file_id: String },
    #[error("{message}")]
    Unavailable { message: String },
    #[error("Something went wrong on our side (request {request_id}). Please try again.")]
    Internal { request_id: String },
    /// Transport trouble between the browser and the server (offline, bad response).
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        AppError::Unauthenticated {
            message: "Please sign in.".into(),
        }
    }

    /// Logs the cause (never shown to people) and answers with the request id.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let request_id = crate::request_id::current();
        tracing::error!(%request_id, "internal error: {cause}");
        AppError::Internal { request_id }
    }

    /// The form field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    #[cfg(feature = "ssr")]
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::NotFound => S::NOT_FOUND,
            AppError::Unauthenticated { .. } => S::UNAUTHORIZED,
            AppError::Forbidden { .. } => S::FORBIDDEN,
            AppError::Invalid { .. } => S::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } | AppError::Duplicate { .. } => S::CONFLICT,
            AppError::Limit { .. } => S::TOO_MANY_REQUESTS,
            AppError::PlanLimit { .. } => S::PAYMENT_REQUIRED,
            AppError::Unavailable { .. } => S::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } | AppError::Transport(_) => S::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => AppError::Invalid {
                field: "request".into(),
                reason: m,
            },
            // On the server, a body that does not parse is the caller's mistake.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(m) => AppError::Invalid {
                field: "request".into(),
                reason: format!("The request could not be read: {m}"),
            },
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::ServerError(m) => AppError::internal(m),
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(e: ServerFnErrorErr) -> Self {
        AppError::from_server_fn_error(e)
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                AppError::conflict("That already exists.")
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "database unavailable");
                AppError::Unavailable {
                    message: "The database is not reachable right now.".into(),
                }
            }
            _ => AppError::internal(format!("database: {e}")),
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        let mut resp = (
            status,
            axum::Json(serde_json::json!({
                "error": self.kind(),
                "message": self.to_string(),
                "field": self.field(),
            })),
        )
            .into_response();
        if let AppError::Limit { retry_after_s, .. } = &self
            && let Ok(v) = http::HeaderValue::from_str(&retry_after_s.to_string())
        {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl AppError {
    /// A stable machine-readable name for the REST API.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated { .. } => "unauthenticated",
            AppError::Forbidden { .. } => "forbidden",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict { .. } => "conflict",
            AppError::Duplicate { .. } => "duplicate",
            AppError::Limit { .. } => "rate_limited",
            AppError::PlanLimit { .. } => "plan_limit",
            AppError::Unavailable { .. } => "unavailable",
            AppError::Internal { .. } => "internal",
            AppError::Transport(_) => "transport",
        }
    }
}

//! The API's one error shape, `{"error":{"code","message","field"?,"file_id"?}}`, and the
//! extractors that turn unreadable input into it (never axum's plain-text rejections).
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use app::error::AppError;

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// The error body.
#[derive(serde::Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, ToSchema)]
pub struct ErrorDetail {
    /// not_found, unauthenticated, forbidden, invalid, conflict, duplicate, rate_limited,
    /// plan_limit, unavailable, internal.
    pub code: String,
    /// For people: what went wrong and what to do.
    pub message: String,
    /// The input at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The file already holding this content (code `duplicate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match &e {
            // The API has no page to send people to: a 500 for transport trouble is ours.
            AppError::Transport(_) => http::StatusCode::BAD_GATEWAY,
            e => e.status(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.kind().to_string(),
                message: e.to_string(),
                field: e.field().map(str::to_string),
                file_id: match &e {
                    AppError::Duplicate { file_id, .. } => Some(file_id.clone()),
                    _ => None,
                },
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let AppError::Limit { retry_after_s, .. } = &e
            && let Ok(v) = http::HeaderValue::from_str(&retry_after_s.max(&1).to_string())
        {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The largest JSON body the API reads (an id list at its cap fits).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// A JSON body; one that does not parse is a 422 naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| ApiError(AppError::invalid("body", "The body is larger than 2 MiB.")))?;
        // A NUL is no part of any name or id (and PostgreSQL refuses it in text).
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(ApiError(AppError::invalid(
                "body",
                "The body holds a NUL character (\\u0000).",
            )));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(ApiError(AppError::invalid("body", json_reason(&r)))),
        }
    }
}

fn json_reason(r: &JsonRejection) -> String {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            "Send the body as JSON, with Content-Type: application/json.".into()
        }
        other => format!("The body could not be read: {}", other.body_text()),
    }
}

/// Query parameters; ones that do not parse are a 422.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(ApiError(AppError::invalid("query", query_reason(&r)))),
        }
    }
}

fn query_reason(r: &QueryRejection) -> String {
    format!("The query could not be read: {}", r.body_text())
}

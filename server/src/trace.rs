//! One span per request with a request id, method and path (never the query string: it can
//! hold presigned signatures), and one line when the answer leaves.
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use std::time::Instant;
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// The web app's request layer (`middleware::from_fn(trace_app)`).
pub async fn trace_app(req: Request, next: Next) -> Response {
    trace_request("app", req, next).await
}

/// The embedded S3 endpoint's request layer.
pub async fn trace_s3(req: Request, next: Next) -> Response {
    trace_request("s3", req, next).await
}

async fn trace_request(service: &'static str, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let span =
        tracing::info_span!("request", %service, id = %id, method = %req.method(), path = %route);
    let started = Instant::now();
    req.extensions_mut()
        .insert(app::request_id::RequestId(id.clone()));
    let fut = app::request_id::REQUEST_ID.scope(id.clone(), next.run(req));
    let mut resp = fut.instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms = format!("{ms:.1}"), "answered");
        } else {
            tracing::info!(status, ms = format!("{ms:.1}"), "answered");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

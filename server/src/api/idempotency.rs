//! `Idempotency-Key` on POSTs: the first answer (2xx or 4xx) to a key's request with that
//! header is kept for 24 hours, and a retry of the same request gets it again instead of
//! running twice. The same header on a different request is refused (422), and a retry while
//! the first is still running waits its turn (409). A 5xx is not kept: the retry runs.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::key::Api;
use app::core::Actor;
use app::error::AppError;

/// How long an answer is kept (the hourly `purge_developer_records` job deletes older ones).
const KEEP_MS: i64 = app::developer::keys::IDEMPOTENCY_KEEP_MS;
/// Largest body an idempotent request may have (the API's bodies are small JSON).
const MAX_BODY: usize = 2 * 1024 * 1024;

pub async fn replay(State(api): State<Api>, req: Request, next: Next) -> Response {
    if req.method() != http::Method::POST {
        return next.run(req).await;
    }
    let Some(idem) = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string))
    else {
        return next.run(req).await;
    };
    let idem = match idem {
        Ok(k) if !k.trim().is_empty() && k.len() <= 200 => k,
        _ => {
            return ApiError(AppError::invalid(
                "Idempotency-Key",
                "An Idempotency-Key is 1 to 200 visible characters.",
            ))
            .into_response();
        }
    };
    let Some(Actor::Key { key_id, .. }) = req.extensions().get::<Actor>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError(AppError::invalid("body", "The body is too large.")).into_response();
    };
    let fingerprint = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(parts.method.as_str().as_bytes());
        h.update(b" ");
        h.update(parts.uri.to_string().as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        hex::encode(h.finalize())
    };
    match claim(&api, &key_id, &idem, &fingerprint).await {
        Ok(Claim::Run) => {}
        Ok(Claim::Replay(status, body)) => {
            let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
            let mut resp = (
                status,
                [(http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            resp.headers_mut().insert(
                "idempotent-replayed",
                http::HeaderValue::from_static("true"),
            );
            return resp;
        }
        Err(e) => return e.into_response(),
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = resp.status();
    let (rparts, rbody) = resp.into_parts();
    let Ok(out) = axum::body::to_bytes(rbody, MAX_BODY).await else {
        forget(&api, &key_id, &idem).await;
        return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if status.is_server_error() {
        forget(&api, &key_id, &idem).await;
    } else if let Err(e) = sqlx::query(
        "UPDATE idempotency_keys SET status = $1, body = $2 WHERE key_id = $3 AND idem_key = $4",
    )
    .bind(i64::from(status.as_u16()))
    .bind(without_secret(&out))
    .bind(&key_id)
    .bind(&idem)
    .execute(&api.app.db.pool)
    .await
    {
        tracing::warn!(error = %e, "could not keep an idempotent answer");
    }
    Response::from_parts(rparts, Body::from(out))
}

/// The answer as kept: a key's secret is shown once and stored nowhere, so a replay of the
/// answer that made it says where the secret went instead.
fn without_secret(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) if v.get("secret").is_some_and(|s| s.is_string()) => {
            v["secret"] = serde_json::Value::String(
                "(shown once, in the first answer; rotate the key for a new secret)".into(),
            );
            v.to_string()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// A first request that has not answered in this long is taken for dead (its client went
/// away mid-request, dropping the handler before it could record or forget anything).
const ABANDONED_MS: i64 = 60_000;

enum Claim {
    Run,
    Replay(u16, String),
}

/// Takes the key for this request, or finds the answer kept for it.
async fn claim(api: &Api, key_id: &str, idem: &str, fingerprint: &str) -> Result<Claim, ApiError> {
    let db = &api.app.db;
    let now = api.app.clock.now_ms();
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE key_id = $1 AND idem_key = $2 AND created_at < $3",
    )
    .bind(key_id)
    .bind(idem)
    .bind(now - KEEP_MS)
    .execute(&db.pool)
    .await
    .map_err(AppError::from)?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (key_id, idem_key, request_hash, status, body, created_at)
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (key_id, idem_key) DO NOTHING",
    )
    .bind(key_id)
    .bind(idem)
    .bind(fingerprint)
    .bind(now)
    .execute(&db.pool)
    .await
    .map_err(AppError::from)?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Run);
    }
    let (hash, status, body): (String, i64, String) = sqlx::query_as(
        "SELECT request_hash, CAST(status AS BIGINT), body FROM idempotency_keys
         WHERE key_id = $1 AND idem_key = $2",
    )
    .bind(key_id)
    .bind(idem)
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::from)?;
    if hash != fingerprint {
        return Err(ApiError(AppError::invalid(
            "Idempotency-Key",
            "This Idempotency-Key was used for a different request.",
        )));
    }
    if status == 0 {
        let took = sqlx::query(
            "UPDATE idempotency_keys SET created_at = $1
             WHERE key_id = $2 AND idem_key = $3 AND status = 0 AND created_at < $4",
        )
        .bind(now)
        .bind(key_id)
        .bind(idem)
        .bind(now - ABANDONED_MS)
        .execute(&db.pool)
        .await
        .map_err(AppError::from)?;
        if took.rows_affected() == 1 {
            return Ok(Claim::Run);
        }
        return Err(ApiError(AppError::conflict(
            "A request with this Idempotency-Key is still running; retry in a moment.",
        )));
    }
    Ok(Claim::Replay(status as u16, body))
}

async fn forget(api: &Api, key_id: &str, idem: &str) {
    let _ = sqlx::query("DELETE FROM idempotency_keys WHERE key_id = $1 AND idem_key = $2")
        .bind(key_id)
        .bind(idem)
        .execute(&api.app.db.pool)
        .await;
}

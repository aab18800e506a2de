//! Outbound webhooks: a workspace's endpoints, and the job that delivers its events to them.
//! Each delivery is signed as Stripe signs (`Nexus-Signature: t=<unix secs>,v1=<hex
//! HMAC-SHA256 of "t.body" with the endpoint's secret>`), carries the event's id, and is
//! retried with exponential backoff for 3 days; an endpoint that has failed for 3 days is
//! disabled and its maker told. Endpoints on loopback or private addresses are refused
//! (unless `NEXUS_WEBHOOK_ALLOW_PRIVATE`), at creation and again at every delivery, against
//! the addresses the name resolves to then; the request goes to the address vetted (no second
//! lookup to rebind) and redirects are not followed.
use std::time::Duration;

use super::keys::managed_workspace;
use super::{Delivery, WebhookEndpoint, check_events};
use crate::core::jobs::{Job, Next};
use crate::core::outbound::{check_url, pinned_client, vetted_addr};
use crate::core::{Actor, AppState, new_id, random_token};
use crate::error::AppError;

/// How long a delivery is retried, and how long an endpoint may fail before it is disabled.
pub const RETRY_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;
/// First retry after this; doubling up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 6 * 3600 * 1000;
/// Endpoints one workspace may have.
const MAX_ENDPOINTS: i64 = 20;
/// How long one delivery may take, and be locked by the worker sending it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than a run's batch takes (50 deliveries, 8 at a time, 10 s each at worst).
const LOCK_MS: i64 = 10 * 60_000;
/// Deliveries sent at once by one run.
const IN_FLIGHT: usize = 8;
/// Most deliveries of one workspace in one batch of 50 (as many as are sent at once, so a
/// workspace alone still uses every slot).
const PER_WORKSPACE: i64 = IN_FLIGHT as i64;
/// The sender runs at least this often (and when woken by a new event).
const EVERY_MS: i64 = 30_000;

const ENDPOINT_COLUMNS: &str =
    "id, url, events, secret, created_at, failing_since, disabled_at, disabled_reason";

/// The `Nexus-Signature` header for a body sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Backoff after the `attempts`-th failed try: 30 s, 1 min, 2 min, … at most 6 hours.
pub fn backoff_ms(attempts: i64) -> i64 {
    (FIRST_BACKOFF_MS << (attempts - 1).clamp(0, 20)).min(MAX_BACKOFF_MS)
}

pub async fn list_endpoints(
    st: &AppState,
    actor: &Actor,
) -> Result<Vec<WebhookEndpoint>, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE workspace_id = $1
         ORDER BY created_at, id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&ws)
        .fetch_all(&st.db.pool)
        .await?)
}

async fn get_endpoint(st: &AppState, ws: &str, id: &str) -> Result<WebhookEndpoint, AppError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND workspace_id = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(ws)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// Adds an endpoint with a new signing secret (`whsec_…`).
pub async fn create_endpoint(
    st: &AppState,
    actor: &Actor,
    url: &str,
    events: &[String],
) -> Result<WebhookEndpoint, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let url = check_url(url, st.config.webhook_allow_private)?;
    // A name that resolves inside the network now is refused now (it is checked again at
    // every delivery; one that does not resolve yet may later).
    if let Err(e) = vetted_addr(&url, st.config.webhook_allow_private).await
        && e.starts_with("refused")
    {
        return Err(AppError::invalid(
            "url",
            "The URL must be reachable on the internet: its name leads to a private or loopback address.",
        ));
    }
    let events = check_events(events)?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_endpoints WHERE workspace_id = $1",
    )
    .bind(&ws)
    .fetch_one(&st.db.pool)
    .await?;
    if n >= MAX_ENDPOINTS {
        return Err(AppError::conflict(format!(
            "A workspace may have {MAX_ENDPOINTS} webhook endpoints."
        )));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, workspace_id, created_by, url, events, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&ws)
    .bind(actor.user_id())
    .bind(url.as_str())
    .bind(events.join(" "))
    .bind(format!("whsec_{}", random_token(24)))
    .bind(st.clock.now_ms())
    .execute(&st.db.pool)
    .await?;
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&ws),
            "key.webhook_create",
            format!("webhook:{id}"),
        )
        .detail(url.host_str().unwrap_or_default().to_string()),
    )
    .await?;
    get_endpoint(st, &ws, &id).await
}

pub async fn delete_endpoint(st: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let ep = get_endpoint(st, &ws, id).await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(&ep.id)
        .execute(&st.db.pool)
        .await?;
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&ws),
            "key.webhook_delete",
            format!("webhook:{}", ep.id),
        ),
    )
    .await?;
    Ok(())
}

/// Turns a disabled endpoint back on (its failures are forgotten).
pub async fn enable_endpoint(
    st: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<WebhookEndpoint, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let ep = get_endpoint(st, &ws, id).await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
         WHERE id = $1",
    )
    .bind(&ep.id)
    .execute(&st.db.pool)
    .await?;
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&ws),
            "key.webhook_enable",
            format!("webhook:{}", ep.id),
        ),
    )
    .await?;
    get_endpoint(st, &ws, id).await
}

/// The endpoint's latest deliveries (100), newest first.
pub async fn list_deliveries(
    st: &AppState,
    actor: &Actor,
    endpoint_id: &str,
) -> Result<Vec<Delivery>, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let ep = get_endpoint(st, &ws, endpoint_id).await?;
    Ok(sqlx::query_as(
        "SELECT d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.state,
            CAST(d.attempts AS BIGINT) AS attempts, d.last_status, d.last_error, d.last_at,
            d.next_at, d.created_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
         WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT 100",
    )
    .bind(&ep.id)
    .fetch_all(&st.db.pool)
    .await?)
}

/// Sends a delivery's event again, as a new delivery (the old one keeps its record).
pub async fn redeliver(st: &AppState, actor: &Actor, delivery_id: &str) -> Result<(), AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let found: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT d.endpoint_id, d.event_id, p.disabled_at FROM webhook_deliveries d
         JOIN webhook_endpoints p ON p.id = d.endpoint_id
         WHERE d.id = $1 AND p.workspace_id = $2",
    )
    .bind(delivery_id)
    .bind(&ws)
    .fetch_optional(&st.db.pool)
    .await?;
    let (endpoint_id, event_id, disabled) = found.ok_or(AppError::NotFound)?;
    if disabled.is_some() {
        return Err(AppError::conflict(
            "This endpoint is disabled: enable it first.",
        ));
    }
    let mut conn = st.db.pool.acquire().await?;
    crate::events::queue_delivery(&mut conn, &endpoint_id, &event_id, st.clock.now_ms()).await
}

/// Sends a test event (`ping`) to the endpoint.
pub async fn send_test(st: &AppState, actor: &Actor, endpoint_id: &str) -> Result<(), AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let ep = get_endpoint(st, &ws, endpoint_id).await?;
    let now = st.clock.now_ms();
    let data = serde_json::json!({"message": "A test event from the Developer page."});
    let mut tx = st.db.begin().await?;
    let event_id = crate::events::insert_event(&mut tx, &ws, "ping", data, now).await?;
    crate::events::queue_delivery(&mut tx, &ep.id, &event_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// One due delivery, with what sending it needs.
#[derive(sqlx::FromRow)]
struct Due {
    id: String,
    endpoint_id: String,
    created_by: String,
    url: String,
    secret: String,
    payload: String,
    event_id: String,
    event_type: String,
    attempts: i64,
    created_at: i64,
}

/// The sender's job: claims due deliveries, sends them a few at a time, records each
/// outcome; runs again when the next one is due (at most 30 s later).
pub async fn deliver_job(st: &AppState, _job: &Job) -> Result<Next, AppError> {
    use futures_util::StreamExt;
    loop {
        let now = st.clock.now_ms();
        // Workspaces take turns: each one's oldest first, then each one's second, … and at
        // most a few of each in a batch. A workspace whose endpoints are slow (or hold every
        // connection for the whole timeout) cannot fill the batch, nor the sends in flight,
        // and make every other workspace's events wait behind its own.
        let due: Vec<Due> = sqlx::query_as(
            "SELECT * FROM (
                SELECT d.id, d.endpoint_id, p.created_by, p.url, p.secret,
                    e.payload, e.id AS event_id, e.type AS event_type,
                    CAST(d.attempts AS BIGINT) AS attempts, d.created_at, d.next_at,
                    ROW_NUMBER() OVER (PARTITION BY p.workspace_id ORDER BY d.next_at, d.id) AS nth
                FROM webhook_deliveries d
                JOIN webhook_endpoints p ON p.id = d.endpoint_id
                JOIN webhook_events e ON e.id = d.event_id
                WHERE d.state = 'pending' AND d.next_at <= $1
                  AND (d.locked_until IS NULL OR d.locked_until < $1)
                  AND p.disabled_at IS NULL
             ) due WHERE nth <= $2
             ORDER BY nth, next_at LIMIT 50",
        )
        .bind(now)
        .bind(PER_WORKSPACE)
        .fetch_all(&st.db.pool)
        .await?;
        if due.is_empty() {
            break;
        }
        let mut claimed = Vec::new();
        for d in due {
            let took = sqlx::query(
                "UPDATE webhook_deliveries SET locked_until = $1
                 WHERE id = $2 AND state = 'pending' AND (locked_until IS NULL OR locked_until < $3)",
            )
            .bind(now + LOCK_MS)
            .bind(&d.id)
            .bind(now)
            .execute(&st.db.pool)
            .await?;
            if took.rows_affected() == 1 {
                claimed.push(d);
            }
        }
        let results: Vec<Result<(), AppError>> = futures_util::stream::iter(claimed)
            .map(|d| async move {
                let outcome = send(st, &d).await;
                record(st, &d, outcome).await
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for r in results {
            r?;
        }
    }
    let now = st.clock.now_ms();
    let (next,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(next_at) FROM webhook_deliveries WHERE state = 'pending'")
            .fetch_one(&st.db.pool)
            .await?;
    Ok(Next::At(
        next.unwrap_or(i64::MAX).clamp(now + 1000, now + EVERY_MS),
    ))
}

/// Sends one delivery: Ok(status) for any HTTP answer, Err(reason) when none came.
async fn send(st: &AppState, d: &Due) -> Result<u16, String> {
    let allow = st.config.webhook_allow_private;
    let url = check_url(&d.url, allow).map_err(|e| format!("refused: {e}"))?;
    let client = pinned_client(&url, allow, SEND_TIMEOUT, "Nexus-Webhooks/1").await?;
    let t = st.clock.now_ms() / 1000;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("nexus-signature", signature(&d.secret, t, &d.payload))
        .header("nexus-event-id", &d.event_id)
        .header("nexus-event-type", &d.event_type)
        .header("nexus-delivery-id", &d.id)
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "could not connect".to_string()
            } else {
                "request failed".to_string()
            }
        })?;
    Ok(resp.status().as_u16())
}

/// Records a delivery's outcome: done on a 2xx; otherwise another try after the backoff, or
/// failed once its 3 days are over. The endpoint's first failure since its last success is
/// remembered; failing for 3 days disables it and tells its maker.
async fn record(st: &AppState, d: &Due, outcome: Result<u16, String>) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    let attempts = d.attempts + 1;
    let (status, error) = match &outcome {
        Ok(code) => (Some(i64::from(*code)), None),
        Err(e) => (None, Some(e.clone())),
    };
    let ok = matches!(outcome, Ok(200..=299));
    let (state, next_at) = if ok {
        ("succeeded", None)
    } else if now - d.created_at >= RETRY_WINDOW_MS {
        ("failed", None)
    } else {
        ("pending", Some(now + backoff_ms(attempts)))
    };
    let mut tx = st.db.begin().await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = $2, last_status = $3, last_error = $4,
            last_at = $5, next_at = $6, locked_until = NULL
         WHERE id = $7",
    )
    .bind(state)
    .bind(attempts)
    .bind(status)
    .bind(&error)
    .bind(now)
    .bind(next_at)
    .bind(&d.id)
    .execute(&mut *tx)
    .await?;
    if ok {
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
            .bind(&d.endpoint_id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(&d.endpoint_id)
        .execute(&mut *tx)
        .await?;
        let disabled = sqlx::query(
            "UPDATE webhook_endpoints SET disabled_at = $1,
                disabled_reason = 'Every delivery failed for 3 days.'
             WHERE id = $2 AND disabled_at IS NULL AND failing_since <= $3",
        )
        .bind(now)
        .bind(&d.endpoint_id)
        .bind(now - RETRY_WINDOW_MS)
        .execute(&mut *tx)
        .await?;
        if disabled.rows_affected() == 1 {
            tracing::warn!(endpoint = %d.endpoint_id, "webhook endpoint disabled after 3 days of failures");
            let url = reqwest::Url::parse(&d.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            crate::notify::service::notify(
                &mut tx,
                &st.config,
                &d.created_by,
                "webhook_disabled",
                "A webhook endpoint was disabled",
                &format!(
                    "Every delivery to your webhook endpoint at {url} failed for 3 days, so it is disabled and no more events are sent to it. Fix the endpoint, then enable it again on the Developer page; you can redeliver the events it missed from there."
                ),
                "/developer",
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    if !ok && state == "pending" {
        tracing::info!(delivery = %d.id, attempts, error = ?error, status = ?status, "webhook delivery failed; will retry");
    }
    Ok(())
}

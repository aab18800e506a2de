//! Events for the workspace's webhook endpoints: a feature records what happened (in its own
//! transaction when it has one, so a crash never keeps the change and loses the event), and
//! the webhooks job (`developer::webhooks`) delivers it to every endpoint that asked for its
//! type. Knows no feature: it only writes rows.
use crate::core::{AppState, jobs, new_id};
use crate::error::AppError;

/// A file finished uploading (`data`: the file).
pub const FILE_UPLOADED: &str = "file.uploaded";
/// A file went to the trash.
pub const FILE_DELETED: &str = "file.deleted";
/// An upload was aborted or abandoned before it finished.
pub const UPLOAD_FAILED: &str = "upload.failed";
/// A restored copy is ready to download.
pub const RESTORE_READY: &str = "restore.ready";
/// A restored copy expired (the file is archived only again).
pub const RESTORE_EXPIRED: &str = "restore.expired";
/// A file moved to another storage class.
pub const CLASS_CHANGED: &str = "class.changed";
/// The workspace's stored bytes crossed 80 % or 100 % of its plan.
pub const USAGE_THRESHOLD: &str = "usage.threshold";
/// A payment for the workspace's plan failed.
pub const BILLING_PAYMENT_FAILED: &str = "billing.payment_failed";

/// The job that sends due webhook deliveries (its handler lives in `developer::webhooks`).
pub const DELIVER_WEBHOOKS: &str = "deliver_webhooks";

/// Records an event and a pending delivery for each enabled endpoint of the workspace that
/// listens for `kind`, on `conn` (a transaction's connection, or a pooled one), and brings the
/// sender's next run forward to when this commits. Returns the event's id, or None when no
/// endpoint wants it (nothing is written then).
pub async fn record(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    kind: &str,
    data: serde_json::Value,
    now: i64,
) -> Result<Option<String>, AppError> {
    let endpoints: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, events FROM webhook_endpoints WHERE workspace_id = $1 AND disabled_at IS NULL",
    )
    .bind(workspace_id)
    .fetch_all(&mut *conn)
    .await?;
    let wanted: Vec<&String> = endpoints
        .iter()
        .filter(|(_, events)| events.split_whitespace().any(|e| e == kind))
        .map(|(id, _)| id)
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let event_id = insert_event(conn, workspace_id, kind, data, now).await?;
    for endpoint in wanted {
        queue_delivery(conn, endpoint, &event_id, now).await?;
    }
    Ok(Some(event_id))
}

/// Writes an event as it will be sent (its payload is fixed now); returns its id.
pub async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
    kind: &str,
    data: serde_json::Value,
    now: i64,
) -> Result<String, AppError> {
    let event_id = format!("evt_{}", new_id().replace('-', ""));
    let payload = serde_json::json!({
        "id": event_id,
        "type": kind,
        "created": now / 1000,
        "workspace_id": workspace_id,
        "data": data,
    });
    sqlx::query(
        "INSERT INTO webhook_events (id, workspace_id, type, payload, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&event_id)
    .bind(workspace_id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(event_id)
}

/// Queues one delivery of an event to an endpoint, due now; the sender runs as soon as the
/// caller's transaction commits (its job row is written on the same connection).
pub async fn queue_delivery(
    conn: &mut sqlx::AnyConnection,
    endpoint_id: &str,
    event_id: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, state, next_at, created_at)
         VALUES ($1, $2, $3, 'pending', $4, $4)",
    )
    .bind(new_id())
    .bind(endpoint_id)
    .bind(event_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    jobs::wake_on(conn, DELIVER_WEBHOOKS, now).await
}

/// Records an event outside any transaction.
pub async fn emit(
    st: &AppState,
    workspace_id: &str,
    kind: &str,
    data: serde_json::Value,
) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    record(&mut tx, workspace_id, kind, data, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Emits, logging rather than failing: the change it reports has happened already, and an
/// event that cannot be written must not turn that into an error for the person.
pub async fn emit_logged(st: &AppState, workspace_id: &str, kind: &str, data: serde_json::Value) {
    if let Err(e) = emit(st, workspace_id, kind, data).await {
        tracing::warn!(error = %e, kind, "could not record a webhook event");
    }
}

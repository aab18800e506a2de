//! The console's reads, and retrying a failed job. Operators only (a person's own session,
//! not a key, not an SSO session: this is the instance, not a workspace).
use super::{AdminUser, AdminView, AdminWorkspace, FailedJob, FailingWebhook};
use crate::core::{Actor, AppState};
use crate::error::AppError;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    created_at: i64,
    email_confirmed_at: Option<i64>,
    deleted_at: Option<i64>,
    is_operator: i64,
    workspaces: i64,
}

#[derive(sqlx::FromRow)]
struct WorkspaceRow {
    id: String,
    name: String,
    kind: String,
    owner_email: Option<String>,
    members: i64,
    files: i64,
    bytes: i64,
    plan: Option<String>,
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    workspace_name: String,
    url: String,
    failing_since: Option<i64>,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
}

/// NotFound unless the actor is an operator acting in a session of their own.
pub async fn require_operator(st: &AppState, actor: &Actor) -> Result<(), AppError> {
    let Actor::User { user_id, .. } = actor else {
        return Err(AppError::NotFound);
    };
    if !actor.sso_workspace().is_empty() || !actor.is_session() {
        return Err(AppError::NotFound);
    }
    let flag: Option<(i64,)> = sqlx::query_as(
        "SELECT CAST(is_operator AS BIGINT) FROM users WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(user_id)
    .fetch_optional(&st.db.pool)
    .await?;
    match flag {
        Some((1,)) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// The console: `search` narrows the users to addresses containing it.
pub async fn overview(st: &AppState, actor: &Actor, search: &str) -> Result<AdminView, AppError> {
    require_operator(st, actor).await?;
    if search.len() > 254 {
        return Err(AppError::invalid("search", "At most 254 characters."));
    }
    let db = &st.db.pool;
    let (user_count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL")
            .fetch_one(db)
            .await?;
    let pattern = format!(
        "%{}%",
        search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let users: Vec<UserRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.created_at, u.email_confirmed_at, u.deleted_at,
                CAST(u.is_operator AS BIGINT) AS is_operator,
                (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS workspaces
         FROM users u WHERE u.email LIKE $1 ESCAPE '\\'
         ORDER BY u.created_at DESC, u.id DESC LIMIT 100",
    )
    .bind(&pattern)
    .fetch_all(db)
    .await?;
    let (workspace_count, total_bytes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM workspaces),
                CAST(COALESCE((SELECT SUM(bytes) FROM vault_stats), 0) AS BIGINT)",
    )
    .fetch_one(db)
    .await?;
    let workspaces: Vec<WorkspaceRow> =
        sqlx::query_as(
            "SELECT w.id, w.name, w.kind,
                    (SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
                     WHERE m.workspace_id = w.id AND m.role = 'owner' LIMIT 1) AS owner_email,
                    (SELECT COUNT(*) FROM memberships m WHERE m.workspace_id = w.id) AS members,
                    CAST(COALESCE((SELECT SUM(s.file_count) FROM vault_stats s JOIN vaults v ON v.id = s.vault_id
                                   WHERE v.workspace_id = w.id), 0) AS BIGINT) AS files,
                    CAST(COALESCE((SELECT SUM(s.bytes) FROM vault_stats s JOIN vaults v ON v.id = s.vault_id
                                   WHERE v.workspace_id = w.id), 0) AS BIGINT) AS bytes,
                    (SELECT plan_id FROM subscriptions s WHERE s.workspace_id = w.id
                       AND s.status IN ('trialing', 'active', 'past_due') LIMIT 1) AS plan
             FROM workspaces w ORDER BY bytes DESC, w.created_at DESC, w.id LIMIT 100",
        )
        .fetch_all(db)
        .await?;
    let failed_jobs: Vec<(String, String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, kind, CAST(attempts AS BIGINT), last_error, updated_at FROM jobs
         WHERE state = 'failed' ORDER BY updated_at DESC, id LIMIT 200",
    )
    .fetch_all(db)
    .await?;
    let webhooks: Vec<WebhookRow> =
        sqlx::query_as(
        "SELECT e.id, w.name AS workspace_name, e.url, e.failing_since, e.disabled_at, e.disabled_reason
             FROM webhook_endpoints e JOIN workspaces w ON w.id = e.workspace_id
             WHERE e.failing_since IS NOT NULL OR e.disabled_at IS NOT NULL
             ORDER BY COALESCE(e.disabled_at, e.failing_since) DESC LIMIT 200",
    )
    .fetch_all(db)
    .await?;
    let default_plan = st.config.default_plan.clone();
    Ok(AdminView {
        user_count,
        users: users
            .into_iter()
            .map(|u| AdminUser {
                id: u.id,
                email: u.email,
                created_at: u.created_at,
                confirmed: u.email_confirmed_at.is_some(),
                deleted: u.deleted_at.is_some(),
                operator: u.is_operator == 1,
                workspaces: u.workspaces,
            })
            .collect(),
        workspace_count,
        workspaces: workspaces
            .into_iter()
            .map(|w| AdminWorkspace {
                id: w.id,
                name: w.name,
                kind: w.kind,
                owner_email: w.owner_email.unwrap_or_default(),
                members: w.members,
                files: w.files,
                bytes: w.bytes,
                plan: w.plan.unwrap_or_else(|| default_plan.clone()),
            })
            .collect(),
        failed_jobs: failed_jobs
            .into_iter()
            .map(|(id, kind, attempts, last_error, updated_at)| FailedJob {
                id,
                kind,
                attempts,
                last_error: last_error.unwrap_or_default(),
                updated_at,
            })
            .collect(),
        failing_webhooks: webhooks
            .into_iter()
            .map(|w| FailingWebhook {
                id: w.id,
                workspace_name: w.workspace_name,
                url: w.url,
                failing_since: w.failing_since,
                disabled_at: w.disabled_at,
                reason: w.disabled_reason.unwrap_or_default(),
            })
            .collect(),
        total_bytes,
    })
}

/// Runs a failed job again: queued, due now, its attempts counted from zero. Only a failed
/// job (a running or queued one is left alone: 409).
pub async fn retry_job(st: &AppState, actor: &Actor, job_id: &str) -> Result<(), AppError> {
    require_operator(st, actor).await?;
    let now = st.clock.now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, attempts = 0, locked_until = NULL,
            locked_by = NULL, updated_at = $1
         WHERE id = $2 AND state = 'failed'",
    )
    .bind(now)
    .bind(job_id)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if done != 1 {
        return Err(AppError::conflict(
            "That job is not failed (any more): nothing to retry.",
        ));
    }
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(None, "admin.job_retry", format!("job:{job_id}")),
    )
    .await?;
    tracing::info!(%job_id, "failed job queued again by an operator");
    Ok(())
}

/// Sets or clears the operator flag of the account with this email (the server's command
/// line: whoever runs it has the machine). Returns whether an account matched.
pub async fn set_operator(db: &crate::core::Db, email: &str, on: bool) -> Result<bool, AppError> {
    let email = crate::auth::service::normalize_email(email)?;
    Ok(
        sqlx::query("UPDATE users SET is_operator = $1 WHERE email = $2 AND deleted_at IS NULL")
            .bind(i32::from(on))
            .bind(&email)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

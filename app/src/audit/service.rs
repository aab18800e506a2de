//! Recording to the audit log, and reading it (owners and admins of the workspace).
use super::{AuditEntry, AuditFilter, PAGE_ROWS};
use crate::core::{Actor, AppState, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};

/// What a change record names besides who and when.
pub struct Change<'a> {
    /// The workspace it belongs to (None for account-wide changes: sign-in, password).
    pub workspace_id: Option<&'a str>,
    pub action: &'a str,
    pub target: String,
    pub detail: String,
}

impl<'a> Change<'a> {
    pub fn new(workspace_id: Option<&'a str>, action: &'a str, target: impl Into<String>) -> Self {
        Change {
            workspace_id,
            action,
            target: target.into(),
            detail: String::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

fn key_of(actor: &Actor) -> Option<&str> {
    match actor {
        Actor::Key { key_id, .. } => Some(key_id),
        Actor::User { .. } => None,
    }
}

/// The address and request id of the request being served ('' outside one: a job).
fn origin(st: &AppState) -> (String, String) {
    let ip = crate::core::request::client_ip(st);
    let ip = if ip == "unknown" { String::new() } else { ip };
    let rid = crate::request_id::current();
    (ip, if rid == "-" { String::new() } else { rid })
}

/// Records a change made by `actor` inside the transaction that makes it (so it is recorded
/// exactly when the change commits).
pub async fn record_tx(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    change: Change<'_>,
) -> Result<(), AppError> {
    let (ip, request_id) = origin(st);
    insert(
        &mut **tx,
        st.clock.now_ms(),
        actor,
        change,
        &ip,
        &request_id,
    )
    .await
}

/// Records a change the app made by itself (a job following a vault's rules, the trash's
/// 30 days running out): no person, shown as "Nexus (automatic)".
pub async fn record_automatic(
    st: &AppState,
    workspace_id: &str,
    action: &str,
    target: String,
    detail: String,
) -> Result<(), AppError> {
    record(
        st,
        &Actor::job_for(""),
        Change::new(Some(workspace_id), action, target).detail(detail),
    )
    .await
}

/// Records a change made by `actor` that has committed already (its own statement).
pub async fn record(st: &AppState, actor: &Actor, change: Change<'_>) -> Result<(), AppError> {
    let (ip, request_id) = origin(st);
    let mut conn = st.db.pool.acquire().await?;
    insert(
        &mut *conn,
        st.clock.now_ms(),
        actor,
        change,
        &ip,
        &request_id,
    )
    .await
}

async fn insert<'e, E>(
    exec: E,
    now: i64,
    actor: &Actor,
    change: Change<'_>,
    ip: &str,
    request_id: &str,
) -> Result<(), AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, workspace_id, user_id, key_id, action, target, detail, ip, request_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(change.workspace_id)
    .bind(actor.user_id())
    .bind(key_of(actor))
    .bind(change.action)
    .bind(change.target.chars().take(500).collect::<String>())
    .bind(change.detail.chars().take(500).collect::<String>())
    .bind(ip)
    .bind(request_id)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

const COLUMNS: &str = "a.id, a.at,
    COALESCE(u.email, CASE WHEN COALESCE(a.user_id, '') = '' THEN 'Nexus (automatic)' ELSE '' END) AS actor_email,
    a.key_id, a.action,
    a.target, a.detail, a.ip, a.request_id";

/// The current workspace's log, newest first, filtered (owners and admins; a key needs the
/// admin scope): its changes, and the account-wide ones (sign-ins, password and email
/// changes) of its members. `before` pages back: the `at` of the last row shown, or 0.
pub async fn list(
    st: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let (ws, _, _) = crate::workspaces::service::current(&st.db, actor).await?;
    if !actor.has_scope("admin") || !actor.only_vault().is_empty() {
        return Err(AppError::Forbidden {
            message: "The audit log needs a key with the admin scope for the whole workspace."
                .into(),
        });
    }
    require_role(&st.db, actor, &ws, Role::Admin).await?;
    if filter.action.len() > 100 || filter.actor.len() > 254 {
        return Err(AppError::invalid("filter", "That filter is too long."));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         WHERE (a.workspace_id = $1 OR (a.workspace_id IS NULL AND a.user_id IN
                 (SELECT user_id FROM memberships WHERE workspace_id = $1)))
           AND ($2 = '' OR a.action LIKE $2 || '%')
           AND ($3 = '' OR LOWER(COALESCE(u.email, '')) LIKE '%' || LOWER($3) || '%')
           AND ($4 = 0 OR a.at >= $4) AND ($5 = 0 OR a.at < $5) AND ($6 = 0 OR a.at < $6)
         ORDER BY a.at DESC, a.id DESC LIMIT {}",
        limit.clamp(1, 10_000)
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&ws)
        .bind(filter.action.replace(['%', '_'], ""))
        .bind(filter.actor.replace(['%', '_'], ""))
        .bind(filter.since)
        .bind(filter.until)
        .bind(before)
        .fetch_all(&st.db.pool)
        .await?)
}

/// The first page of the log.
pub async fn page(
    st: &AppState,
    actor: &Actor,
    filter: &AuditFilter,
    before: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    list(st, actor, filter, before, PAGE_ROWS).await
}

/// The filtered log as CSV (at most 100,000 rows, newest first), cells defused for
/// spreadsheets.
pub async fn csv(st: &AppState, actor: &Actor, filter: &AuditFilter) -> Result<String, AppError> {
    let rows = list(st, actor, filter, 0, 100_000).await?;
    let mut out = String::from("time_utc,actor,api_key,action,target,detail,ip,request_id\n");
    let c = crate::format::csv_cell;
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            c(&crate::format::time_ms(r.at)),
            c(&r.actor_email),
            c(r.key_id.as_deref().unwrap_or("")),
            c(&r.action),
            c(&r.target),
            c(&r.detail),
            c(&r.ip),
            c(&r.request_id)
        ));
    }
    Ok(out)
}

/// Deletes rows older than the retention setting; returns how many went.
pub async fn purge(st: &AppState) -> Result<u64, AppError> {
    let cutoff = st.clock.now_ms() - st.config.audit_retention_days * 86_400_000;
    Ok(sqlx::query("DELETE FROM audit_log WHERE at < $1")
        .bind(cutoff)
        .execute(&st.db.pool)
        .await?
        .rows_affected())
}

//! The trash: files keep the folder path they were deleted from and come back there;
//! emptied by hand or purged after their days by a job.
use super::changes::free_name_in;
use super::folders::ensure_folder_path;
use super::records::{get_file, record_event};
use crate::core::db::Sql;
use crate::core::{Actor, AppState, Db};
use crate::error::AppError;
use crate::files::TrashEntry;
use crate::workspaces::Role;
use crate::workspaces::service::usable_membership;

/// The trash of every workspace the actor belongs to, newest first (at most 1,000).
pub async fn list_trash(db: &Db, actor: &Actor) -> Result<Vec<TrashEntry>, AppError> {
    let sql = format!(
        "SELECT f.id, f.vault_id, v.name AS vault_name, COALESCE(f.trashed_path, '') AS path, f.name,
                f.size, f.storage_class, f.deleted_at, f.state
         FROM files f JOIN vaults v ON v.id = f.vault_id
         JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = $1
         WHERE f.deleted_at IS NOT NULL AND ($2 = '' OR f.workspace_id = $2) AND ($3 = '' OR f.vault_id = $3)
           AND {}
         ORDER BY f.deleted_at DESC, f.id DESC LIMIT 1000",
        usable_membership("m", 4, 5)
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .bind(actor.only_workspace())
        .bind(actor.only_vault())
        .bind(actor.sso_workspace())
        .bind(i32::from(actor.is_session()))
        .fetch_all(&db.pool)
        .await?)
}

/// Most files one "restore from trash" or "delete for good" request may name (each is a few
/// statements; the trash page shows fewer).
pub const MAX_TRASH_IDS: usize = 1_000;

/// Brings files back from the trash into the folder they were deleted from (made again when
/// it went too); a name taken there meanwhile gets "name (n).ext". A file of a deleted vault
/// brings its vault back.
pub async fn restore_files(st: &AppState, actor: &Actor, ids: &[String]) -> Result<i64, AppError> {
    crate::files::check_id_list("file_ids", ids.len(), MAX_TRASH_IDS)?;
    let now = st.clock.now_ms();
    let mut n = 0;
    let mut per_workspace = std::collections::BTreeMap::<String, i64>::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
        let f = get_file(&st.db, actor, id, Role::Member).await?;
        // Not in the trash, or its deletion for good has begun (its object may be gone).
        if f.deleted_at.is_none() || f.state == "deleted" {
            continue;
        }
        sqlx::query("UPDATE vaults SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(&f.vault_id)
            .execute(&st.db.pool)
            .await?;
        let names = crate::files::check_folder_path(f.trashed_path.as_deref().unwrap_or(""))?;
        let folder = ensure_folder_path(
            &st.db,
            &f.workspace_id,
            &f.vault_id,
            &names,
            actor.user_id(),
            now,
        )
        .await?;
        let name =
            free_name_in(&st.db.pool, &f.vault_id, folder.as_deref(), &f.name, &f.id).await?;
        let mut tx = st.db.begin().await?;
        let back = sqlx::query(
            "UPDATE files SET deleted_at = NULL, trashed_path = NULL, folder_id = $1, name = $2, updated_at = $3
             WHERE id = $4 AND deleted_at IS NOT NULL AND state <> 'deleted'",
        )
        .bind(&folder)
        .bind(&name)
        .bind(now)
        .bind(&f.id)
        .execute(&mut *tx)
        .await?;
        if back.rows_affected() == 0 {
            continue; // its deletion for good began meanwhile
        }
        record_event(
            &mut tx,
            &f.id,
            Some(actor.user_id()),
            "restored",
            "from the trash",
            now,
        )
        .await?;
        tx.commit().await?;
        n += 1;
        *per_workspace.entry(f.workspace_id.clone()).or_default() += 1;
    }
    record_per_workspace(st, actor, &per_workspace, "file.untrash", "brought back").await?;
    Ok(n)
}

/// One audit row per workspace whose trash a request changed (a person's trash spans every
/// workspace they belong to; each workspace's log shows its own files).
async fn record_per_workspace(
    st: &AppState,
    actor: &Actor,
    counts: &std::collections::BTreeMap<String, i64>,
    action: &str,
    what: &str,
) -> Result<(), AppError> {
    for (ws, n) in counts {
        crate::audit::service::record(
            st,
            actor,
            crate::audit::service::Change::new(Some(ws), action, "trash")
                .detail(format!("{n} files {what}")),
        )
        .await?;
    }
    Ok(())
}

/// Deletes trashed files for good — their objects (and previews), then their rows — counting
/// them per workspace in `counts` (for the audit log).
///
/// Safe to stop anywhere (storage failing, the process killed): a file is first marked
/// `deleted` (its deletion has begun: it can no longer be brought back, so it is never
/// available without its object), then its preview and object go, then its row. A file left
/// marked is finished by the next purge (the trash job takes marked files at once). Files done
/// before a failure stay counted, so the caller records them before it reports the failure.
async fn purge(
    st: &AppState,
    files: Vec<(String, String, Option<String>, String)>,
    counts: &mut std::collections::BTreeMap<String, i64>,
) -> Result<i64, AppError> {
    let mut n = 0;
    for (id, key, thumb, ws) in files {
        let marked = sqlx::query(
            "UPDATE files SET state = 'deleted' WHERE id = $1 AND deleted_at IS NOT NULL",
        )
        .bind(&id)
        .execute(&st.db.pool)
        .await?;
        if marked.rows_affected() == 0 {
            continue; // brought back from the trash meanwhile
        }
        if let Some(t) = thumb {
            st.storage.delete(&t).await?;
        }
        st.storage.delete(&key).await?;
        sqlx::query("DELETE FROM files WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(&id)
            .execute(&st.db.pool)
            .await?;
        *counts.entry(ws).or_default() += 1;
        n += 1;
    }
    Ok(n)
}

/// Purges, 500 at a time, the trashed files `select` finds (it selects `id, s3_key,
/// thumb_key, workspace_id` and ends in `LIMIT 500`) until it finds no more.
async fn purge_all(
    st: &AppState,
    select: &Sql,
    counts: &mut std::collections::BTreeMap<String, i64>,
) -> Result<i64, AppError> {
    let mut total = 0;
    loop {
        let batch: Vec<(String, String, Option<String>, String)> =
            select.query_as().fetch_all(&st.db.pool).await?;
        let len = batch.len();
        total += purge(st, batch, counts).await?;
        if len < 500 {
            return Ok(total);
        }
    }
}

/// "Empty trash" (all of the actor's trash, or the given files): deleted for good now.
pub async fn empty_trash(
    st: &AppState,
    actor: &Actor,
    only: Option<&[String]>,
) -> Result<i64, AppError> {
    let mut total = 0;
    let mut per_workspace = std::collections::BTreeMap::<String, i64>::new();
    let outcome = async {
        if let Some(ids) = only {
            crate::files::check_id_list("file_ids", ids.len(), MAX_TRASH_IDS)?;
            let mut seen = std::collections::HashSet::new();
            for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                let f = get_file(&st.db, actor, id, Role::Member).await?;
                if f.deleted_at.is_some() {
                    total += purge(
                        st,
                        vec![(f.id, f.s3_key, f.thumb_key, f.workspace_id)],
                        &mut per_workspace,
                    )
                    .await?;
                }
            }
        } else {
            let mut sql = Sql::new(
                "SELECT f.id, f.s3_key, f.thumb_key, f.workspace_id FROM files f
                 JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = ",
            );
            let user = sql.arg(actor.user_id());
            let ws = sql.arg(actor.only_workspace());
            let vault = sql.arg(actor.only_vault());
            // $4 and $5, as `usable_membership` reads them.
            sql.arg(actor.sso_workspace());
            sql.arg(i64::from(actor.is_session()));
            sql.push(&format!(
                "{user} WHERE f.deleted_at IS NOT NULL AND m.role IN ('owner', 'admin', 'member')
                   AND ({ws} = '' OR f.workspace_id = {ws}) AND ({vault} = '' OR f.vault_id = {vault})
                   AND {} ORDER BY f.id LIMIT 500",
                usable_membership("m", 4, 5)
            ));
            total += purge_all(st, &sql, &mut per_workspace).await?;
        }
        Ok::<(), AppError>(())
    }
    .await
    .map(|()| total);
    finish_purge(st, actor, &per_workspace, "deleted for good", outcome).await
}

/// The job: files in the trash longer than [`crate::files::TRASH_DAYS`] are deleted for good,
/// a batch at a time, and so are files whose deletion began and was cut short (storage
/// failing, the process killed); returns how many went.
pub async fn purge_expired_trash(st: &AppState) -> Result<i64, AppError> {
    let cutoff = st.clock.now_ms() - crate::files::TRASH_DAYS * 86_400_000;
    let mut per_workspace = std::collections::BTreeMap::<String, i64>::new();
    let mut sql = Sql::new(
        "SELECT id, s3_key, thumb_key, workspace_id FROM files
         WHERE deleted_at IS NOT NULL AND (deleted_at <= ",
    );
    let before = sql.arg(cutoff);
    sql.push(&format!(
        "{before} OR state = 'deleted') ORDER BY deleted_at LIMIT 500"
    ));
    let outcome = purge_all(st, &sql, &mut per_workspace).await;
    let after = format!(
        "deleted for good after {} days in the trash",
        crate::files::TRASH_DAYS
    );
    finish_purge(st, &Actor::job_for(""), &per_workspace, &after, outcome).await
}

/// After a purge, whole or cut short: vaults left empty go, what went is recorded, then the
/// failure (if any) is reported.
async fn finish_purge(
    st: &AppState,
    actor: &Actor,
    counts: &std::collections::BTreeMap<String, i64>,
    what: &str,
    outcome: Result<i64, AppError>,
) -> Result<i64, AppError> {
    remove_empty_deleted_vaults(&st.db).await?;
    record_per_workspace(st, actor, counts, "file.purge", what).await?;
    outcome
}

async fn remove_empty_deleted_vaults(db: &Db) -> Result<(), AppError> {
    sqlx::query(
        "DELETE FROM vaults WHERE deleted_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM files f WHERE f.vault_id = vaults.id)",
    )
    .execute(&db.pool)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- details

/// Early-deletion fees that emptying the actor's trash now would incur (micro-dollars).
pub async fn trash_fee(st: &AppState, actor: &Actor) -> Result<i64, AppError> {
    let prices = crate::pricing::service::load(&st.db).await?;
    let now = st.clock.now_ms();
    let sql = format!(
        "SELECT f.storage_class, f.size, f.class_changed_at FROM files f
         JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = $1
         WHERE f.deleted_at IS NOT NULL AND f.storage_class <> 'STANDARD'
           AND ($2 = '' OR f.workspace_id = $2) AND ($3 = '' OR f.vault_id = $3) AND {} LIMIT 100000",
        usable_membership("m", 4, 5)
    );
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .bind(actor.only_workspace())
        .bind(actor.only_vault())
        .bind(actor.sso_workspace())
        .bind(i32::from(actor.is_session()))
        .fetch_all(&st.db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|(class, size, since)| prices.early_deletion_fee_micros(class, *size, *since, now))
        .sum())
}

/// The job that deletes files kept in the trash past their days (hourly).
pub const PURGE_TRASH: &str = "purge_trash";

/// Runs [`PURGE_TRASH`].
pub async fn purge_trash_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let n = purge_expired_trash(st).await?;
    if n > 0 {
        tracing::info!(files = n, "deleted files kept in the trash past their days");
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

//! Bulk actions over a selection: move, delete (to the trash), download links. A selection
//! names files and folders, or "everything this view matches" minus some. Up to
//! [`INLINE_LIMIT`] files are handled in the request; more run as a `bulk_action` job that
//! walks the files in id order and records its place, so a crash or a second run resumes
//! where it was and never applies a step twice.
use super::selection::{check_folders, resolve_files, selected_ids};
use super::service::{self as files, count_matching, matching_ids, view_scope};
use super::{BulkOp, BulkOutcome, DownloadLink, Selection};
use crate::core::db::Sql;
use crate::core::{Actor, AppState, jobs, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The job that runs a large bulk action in steps (payload: the bulk op's id).
pub const BULK_ACTION: &str = "bulk_action";

/// Runs [`BULK_ACTION`]. When its last try fails (storage or the database failing for every
/// retry), the action says it stopped and why — else it would show "running" for ever.
pub async fn bulk_action_job(st: &AppState, job: &jobs::Job) -> Result<jobs::Next, AppError> {
    let outcome = run_op(st, &job.payload).await;
    if let Err(e) = &outcome
        && job.attempts >= job.max_attempts
    {
        fail_op(
            st,
            &job.payload,
            &format!(
                "Gave up after {} tries. The last: {e} Files already done stay done; run the action again for the rest.",
                job.attempts
            ),
        )
        .await?;
    }
    outcome
}

/// Ends a bulk action as failed with `error` (a restore keeps the files it got and is reported
/// when they are back).
async fn fail_op(st: &AppState, op_id: &str, error: &str) -> Result<(), AppError> {
    let failed: Option<(String,)> = sqlx::query_as(
        "UPDATE bulk_ops SET state = 'failed', error = $1, updated_at = $2
         WHERE id = $3 AND state = 'running' RETURNING params",
    )
    .bind(error)
    .bind(st.clock.now_ms())
    .bind(op_id)
    .fetch_optional(&st.db.pool)
    .await?;
    if let Some((params,)) = failed
        && let Ok(OpParams {
            action: BulkAction::Restore { request },
            ..
        }) = serde_json::from_str::<OpParams>(&params)
    {
        crate::tiers::restores::close_request(st, &request).await?;
    }
    Ok(())
}

/// Larger selections become a job with progress.
pub const INLINE_LIMIT: i64 = 10_000;
/// Files per step of a job (and per transaction group).
const BATCH: i64 = 500;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum BulkAction {
    /// Into the folder at this path ('' is the top level).
    Move { to: String },
    /// To the trash.
    Trash,
    /// To another storage class.
    Class { to: String },
    /// Into a restore request (archived files come back; asked by `tiers::restore_request`,
    /// brought back by the worker in `tiers::restores`).
    Restore { request: String },
}

impl BulkAction {
    fn name(&self) -> &'static str {
        match self {
            BulkAction::Move { .. } => "move",
            BulkAction::Trash => "trash",
            BulkAction::Class { .. } => "class",
            BulkAction::Restore { .. } => "restore",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct OpParams {
    action: BulkAction,
    selection: Selection,
}

/// Applies `action` to the selection: at once when it is small, as a job otherwise.
pub async fn apply(
    st: &AppState,
    actor: &Actor,
    action: BulkAction,
    sel: Selection,
) -> Result<BulkOutcome, AppError> {
    sel.check_limits()?;
    let vault = crate::vaults::service::get_vault(&st.db, actor, &sel.vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    let folders = check_folders(st, &vault.id, &sel, false).await?;
    let target = match &action {
        BulkAction::Move { to } => {
            let to = to.trim_matches('/').to_string();
            for (_, _, path) in &folders {
                if to == *path || to.starts_with(&format!("{path}/")) {
                    return Err(AppError::invalid(
                        "target",
                        "A folder cannot move into itself.",
                    ));
                }
            }
            let id = files::find_folder(&st.db, &vault.id, &to).await?;
            if !to.is_empty() && id.is_none() {
                return Err(AppError::invalid(
                    "target",
                    format!("There is no folder “{to}” in this vault."),
                ));
            }
            Some((id, to))
        }
        BulkAction::Trash | BulkAction::Class { .. } | BulkAction::Restore { .. } => None,
    };
    if let BulkAction::Class { to } = &action {
        if !crate::vaults::STORAGE_CLASSES.contains(&to.as_str()) {
            return Err(AppError::invalid(
                "class",
                "Choose one of the storage classes.",
            ));
        }
        crate::usage::service::check_class(st, &vault.workspace_id, to).await?;
    }
    let mut total = sel.file_ids.len() as i64;
    if let Some(q) = &sel.all_matching {
        let mut q = q.clone();
        q.vault_id = vault.id.clone();
        let (_, scope) = view_scope(&st.db, actor, &q).await?;
        total += count_matching(&st.db, &vault.id, &scope, &q).await?;
    }
    if matches!(
        action,
        BulkAction::Trash | BulkAction::Class { .. } | BulkAction::Restore { .. }
    ) {
        for (id, _, _) in &folders {
            total += files::count_subtree(&st.db, id).await?;
        }
    }
    if !matches!(action, BulkAction::Restore { .. }) {
        let (what, detail) = match &action {
            BulkAction::Move { to } => ("file.move", format!("to /{}", to.trim_matches('/'))),
            BulkAction::Class { to } => ("file.class", format!("to {to}")),
            _ => ("file.trash", String::new()),
        };
        crate::audit::service::record(
            st,
            actor,
            crate::audit::service::Change::new(
                Some(&vault.workspace_id),
                what,
                format!("vault:{} files:{total}", vault.id),
            )
            .detail(detail),
        )
        .await?;
    }
    if total > INLINE_LIMIT {
        let op_id = new_id();
        let now = st.clock.now_ms();
        let params = serde_json::to_string(&OpParams {
            action: action.clone(),
            selection: sel,
        })
        .map_err(AppError::internal)?;
        sqlx::query(
            "INSERT INTO bulk_ops (id, workspace_id, vault_id, user_id, action, params, total, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&op_id)
        .bind(&vault.workspace_id)
        .bind(&vault.id)
        .bind(actor.user_id())
        .bind(action.name())
        .bind(&params)
        .bind(total)
        .bind(now)
        .execute(&st.db.pool)
        .await?;
        jobs::enqueue(
            &st.db,
            BULK_ACTION,
            Some(&format!("bulk:{op_id}")),
            &op_id,
            now,
            now,
        )
        .await?;
        tracing::info!(%op_id, action = action.name(), total, "bulk action queued");
        return Ok(BulkOutcome::Queued { op_id, total });
    }
    // Small: all of it now.
    let mut done_files = 0;
    let ids = selected_ids(st, actor, &vault.id, &sel, "", i64::MAX).await?;
    for chunk in ids.chunks(BATCH as usize) {
        done_files += step(st, actor.user_id(), &vault.id, &action, &target, chunk).await?;
    }
    let mut done_folders = 0;
    for (id, name, path) in &folders {
        match (&action, &target) {
            (BulkAction::Class { .. } | BulkAction::Restore { .. }, _) => {
                let ids = files::subtree_ids(&st.db, &vault.id, path).await?;
                for chunk in ids.chunks(BATCH as usize) {
                    done_files +=
                        step(st, actor.user_id(), &vault.id, &action, &None, chunk).await?;
                }
            }
            (_, Some((_, to))) => {
                files::move_folder(st, actor, id, to, name).await?;
            }
            _ => {
                done_files += files::delete_folder_checked(st, actor.user_id(), id).await?;
            }
        }
        done_folders += 1;
    }
    Ok(BulkOutcome::Done {
        files: done_files,
        folders: done_folders,
    })
}

async fn step(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    action: &BulkAction,
    target: &Option<(Option<String>, String)>,
    ids: &[String],
) -> Result<i64, AppError> {
    match (action, target) {
        (BulkAction::Move { .. }, Some((folder, path))) => {
            files::move_files_checked(st, actor_id, vault_id, ids, folder.as_deref(), path).await
        }
        (BulkAction::Class { to }, _) => {
            crate::tiers::service::change_class_checked(st, actor_id, vault_id, ids, to).await
        }
        (BulkAction::Restore { request }, _) => {
            crate::tiers::restores::add_files(st, actor_id, vault_id, request, ids).await
        }
        _ => files::trash_files_checked(st, actor_id, vault_id, ids).await,
    }
}

#[derive(sqlx::FromRow)]
struct OpRow {
    vault_id: String,
    user_id: String,
    params: String,
    cursor: String,
    state: String,
}

/// The job: a few batches of a queued bulk action, then it asks to run again (so no run
/// outlives its lease). Idempotent: the cursor is saved after each batch, and a batch run
/// twice changes nothing the second time.
pub async fn run_op(st: &AppState, op_id: &str) -> Result<jobs::Next, AppError> {
    let Some(op): Option<OpRow> = sqlx::query_as(
        "SELECT vault_id, user_id, params, cursor, state FROM bulk_ops WHERE id = $1",
    )
    .bind(op_id)
    .fetch_optional(&st.db.pool)
    .await?
    else {
        return Ok(jobs::Next::Done);
    };
    if op.state != "running" {
        return Ok(jobs::Next::Done);
    }
    let params: OpParams = serde_json::from_str(&op.params).map_err(AppError::internal)?;
    // The job acts for the person who asked, with their access as it is now.
    let actor = Actor::job_for(&op.user_id);
    let outcome = run_op_steps(st, &actor, op_id, &op, &params).await;
    match outcome {
        Ok(more) => Ok(if more {
            jobs::Next::At(st.clock.now_ms())
        } else {
            jobs::Next::Done
        }),
        Err(
            e @ (AppError::NotFound
            | AppError::Forbidden { .. }
            | AppError::Invalid { .. }
            | AppError::Conflict { .. }
            | AppError::PlanLimit { .. }),
        ) => {
            fail_op(st, op_id, &e.to_string()).await?;
            Ok(jobs::Next::Done)
        }
        Err(e) => Err(e),
    }
}

/// Runs up to 20 batches; true when there is more to do. The cursor says where it is:
/// '' (the picked files next), "view:<id>" (the view's files after that id), "folders".
async fn run_op_steps(
    st: &AppState,
    actor: &Actor,
    op_id: &str,
    op: &OpRow,
    p: &OpParams,
) -> Result<bool, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, &op.vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    // A class change queued before a downgrade stops when the plan no longer has the class.
    if let BulkAction::Class { to } = &p.action {
        crate::usage::service::check_class(st, &vault.workspace_id, to).await?;
    }
    let sel = &p.selection;
    let except: HashSet<&str> = sel.except.iter().map(String::as_str).collect();
    let folders = check_folders(st, &vault.id, sel, true).await?;
    let target = match &p.action {
        BulkAction::Move { to } => {
            let to = to.trim_matches('/').to_string();
            Some((files::find_folder(&st.db, &vault.id, &to).await?, to))
        }
        BulkAction::Trash | BulkAction::Class { .. } | BulkAction::Restore { .. } => None,
    };
    let view = match &sel.all_matching {
        Some(q) => {
            let mut q = q.clone();
            q.vault_id = vault.id.clone();
            let (_, scope) = view_scope(&st.db, actor, &q).await?;
            Some((q, scope))
        }
        None => None,
    };
    let mut cursor = op.cursor.clone();
    for _ in 0..20 {
        if cursor == "folders" {
            break;
        }
        let (ids, next) = if cursor.is_empty() {
            let mut seen = HashSet::new();
            let ids: Vec<String> = sel
                .file_ids
                .iter()
                .filter(|id| !except.contains(id.as_str()) && seen.insert(id.as_str()))
                .cloned()
                .collect();
            (
                ids,
                if view.is_some() {
                    "view:".to_string()
                } else {
                    "folders".to_string()
                },
            )
        } else {
            let after = cursor.strip_prefix("view:").unwrap_or_default();
            let (q, scope) = view
                .as_ref()
                .ok_or_else(|| AppError::internal("view cursor without a view"))?;
            let batch = matching_ids(&st.db, &vault.id, scope, q, after, BATCH).await?;
            let next = match batch.last() {
                Some(last) if batch.len() as i64 == BATCH => format!("view:{last}"),
                _ => "folders".to_string(),
            };
            (
                batch
                    .into_iter()
                    .filter(|id| !except.contains(id.as_str()))
                    .collect(),
                next,
            )
        };
        let mut n = 0;
        for chunk in ids.chunks(BATCH as usize) {
            n += step(st, &op.user_id, &vault.id, &p.action, &target, chunk).await?;
        }
        cursor = next;
        sqlx::query(
            "UPDATE bulk_ops SET done = done + $1, cursor = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(n)
        .bind(&cursor)
        .bind(st.clock.now_ms())
        .bind(op_id)
        .execute(&st.db.pool)
        .await?;
    }
    if cursor != "folders" {
        return Ok(true);
    }
    for (id, name, path) in &folders {
        let n = match (&p.action, &target) {
            (BulkAction::Class { .. } | BulkAction::Restore { .. }, _) => {
                let mut n = 0;
                for chunk in files::subtree_ids(&st.db, &vault.id, path)
                    .await?
                    .chunks(BATCH as usize)
                {
                    n += step(st, &op.user_id, &vault.id, &p.action, &None, chunk).await?;
                }
                n
            }
            (_, Some((_, to))) => {
                files::move_folder(st, actor, id, to, name).await?;
                0
            }
            _ => files::delete_folder_checked(st, &op.user_id, id).await?,
        };
        sqlx::query("UPDATE bulk_ops SET done = done + $1, updated_at = $2 WHERE id = $3")
            .bind(n)
            .bind(st.clock.now_ms())
            .bind(op_id)
            .execute(&st.db.pool)
            .await?;
    }
    sqlx::query("UPDATE bulk_ops SET state = 'done', done = total, updated_at = $1 WHERE id = $2")
        .bind(st.clock.now_ms())
        .bind(op_id)
        .execute(&st.db.pool)
        .await?;
    if let BulkAction::Restore { request } = &p.action {
        crate::tiers::restores::close_request(st, request).await?;
        crate::tiers::restores::wake(st).await?;
    }
    tracing::info!(%op_id, "bulk action finished");
    Ok(false)
}

/// A queued bulk action's progress (only its owner sees it).
pub async fn get_op(st: &AppState, actor: &Actor, op_id: &str) -> Result<BulkOp, AppError> {
    sqlx::query_as(
        "SELECT id, action, total, done, state, error FROM bulk_ops
         WHERE id = $1 AND user_id = $2 AND ($3 = '' OR workspace_id = $3) AND ($4 = '' OR vault_id = $4)",
    )
    .bind(op_id)
    .bind(actor.user_id())
    .bind(actor.only_workspace())
    .bind(actor.only_vault())
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// The actor's latest queued bulk actions (100), newest first.
pub async fn list_ops(st: &AppState, actor: &Actor) -> Result<Vec<BulkOp>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, action, total, done, state, error FROM bulk_ops
         WHERE user_id = $1 AND ($2 = '' OR workspace_id = $2) AND ($3 = '' OR vault_id = $3)
         ORDER BY created_at DESC, id DESC LIMIT 100",
    )
    .bind(actor.user_id())
    .bind(actor.only_workspace())
    .bind(actor.only_vault())
    .fetch_all(&st.db.pool)
    .await?)
}

/// Short-lived links for every file of the selection (folders with their subfolders), with
/// each file's path and SHA-256 for a manifest. Archived files are listed with the reason
/// they cannot be fetched now.
pub async fn download_links(
    st: &AppState,
    actor: &Actor,
    sel: Selection,
) -> Result<Vec<DownloadLink>, AppError> {
    let ids = resolve_files(st, actor, &sel, INLINE_LIMIT + 1).await?;
    if ids.len() as i64 > INLINE_LIMIT {
        return Err(AppError::invalid(
            "selection",
            "A download list holds at most 10,000 files: pick fewer, or one folder at a time.",
        ));
    }
    type Row = (
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH as usize) {
        // One statement per batch; the vault's access was checked by resolve_files.
        let mut sql = Sql::new(
            "SELECT COALESCE(d.path, ''), f.name, f.size, f.sha256, f.crc64nvme, f.s3_key, f.state,
                f.storage_class
             FROM files f LEFT JOIN folders d ON d.id = f.folder_id
             WHERE f.deleted_at IS NULL AND f.state <> 'uploading' AND f.vault_id = ",
        );
        let v = sql.arg(&sel.vault_id);
        sql.push(&v);
        let list: Vec<String> = chunk.iter().map(|id| sql.arg(id)).collect();
        sql.push(&format!(" AND f.id IN ({}) ORDER BY 1, 2", list.join(", ")));
        let rows: Vec<Row> = sql.query_as().fetch_all(&st.db.pool).await?;
        for (path, name, size, sha256, crc64nvme, key, state, class) in rows {
            let (url, reason) = match crate::downloads::service::downloadable(&state, &name, &class)
            {
                Ok(()) => (
                    Some(
                        st.storage
                            .presign_get(&key, &name, st.config.presign_ttl_secs)
                            .await?,
                    ),
                    None,
                ),
                Err(e) => (None, Some(e.to_string())),
            };
            out.push(DownloadLink {
                path,
                name,
                size,
                sha256,
                crc64nvme,
                url,
                reason,
            });
        }
    }
    Ok(out)
}

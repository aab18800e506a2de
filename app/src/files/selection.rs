//! What a selection names: explicit files, "everything this view matches" minus exceptions,
//! and folders with all under them; resolved to file ids with the actor's access checked.
//! Used by the bulk actions, class changes, restores, downloads and fees alike.
use super::Selection;
use super::service::{matching_ids, view_scope};
use crate::core::{Actor, AppState};
use crate::error::AppError;
use crate::workspaces::Role;
use std::collections::HashSet;

/// Ids read from a view per query.
const PAGE: i64 = 500;

/// Checks the selection's folders belong to the vault and the actor may change them.
/// A folder gone meanwhile is an error unless `tolerant` (a resumed job may have moved or
/// deleted it already).
pub(crate) async fn check_folders(
    st: &AppState,
    vault_id: &str,
    sel: &Selection,
    tolerant: bool,
) -> Result<Vec<(String, String, String)>, AppError> {
    let mut out = vec![];
    let mut seen = HashSet::new();
    for id in &sel.folder_ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, name, path FROM folders WHERE id = $1 AND vault_id = $2")
                .bind(id)
                .bind(vault_id)
                .fetch_optional(&st.db.pool)
                .await?;
        match row {
            Some(r) => out.push(r),
            None if tolerant => {}
            None => return Err(AppError::NotFound),
        }
    }
    Ok(out)
}

/// The selection's file ids (explicit ones first, then the view's, minus exceptions) after
/// `after` in the view's id order, at most `limit`.
pub(crate) async fn selected_ids(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    sel: &Selection,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let except: HashSet<&str> = sel.except.iter().map(String::as_str).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut ids: Vec<String> = vec![];
    let mut take = |id: String, ids: &mut Vec<String>| {
        if !except.contains(id.as_str()) && seen.insert(id.clone()) {
            ids.push(id);
        }
    };
    if after.is_empty() {
        for id in &sel.file_ids {
            take(id.clone(), &mut ids);
        }
    }
    if let Some(q) = &sel.all_matching {
        let mut q = q.clone();
        q.vault_id = vault_id.to_string();
        let (_, scope) = view_scope(&st.db, actor, &q).await?;
        let mut cursor = after.to_string();
        loop {
            let batch =
                matching_ids(&st.db, vault_id, &scope, &q, &cursor, PAGE.min(limit)).await?;
            let Some(last) = batch.last().cloned() else {
                break;
            };
            let len = batch.len() as i64;
            for id in batch {
                take(id, &mut ids);
            }
            cursor = last;
            if len < PAGE.min(limit) || ids.len() as i64 >= limit {
                break;
            }
        }
    }
    Ok(ids)
}

/// Every file id a selection names (explicit, the view's, and folders' subtrees), at most
/// `limit`: for previews that must see the whole selection.
pub async fn resolve_files(
    st: &AppState,
    actor: &Actor,
    sel: &Selection,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    sel.check_limits()?;
    let vault =
        crate::vaults::service::check_vault(&st.db, actor, &sel.vault_id, Role::Viewer).await?;
    let folders = check_folders(st, &vault, sel, false).await?;
    let mut ids = selected_ids(st, actor, &vault, sel, "", limit).await?;
    for (_, _, path) in &folders {
        ids.extend(crate::files::service::subtree_ids(&st.db, &vault, path).await?);
    }
    ids.sort();
    ids.dedup();
    ids.truncate(limit as usize);
    Ok(ids)
}

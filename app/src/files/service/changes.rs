//! Renaming, moving and trashing files and folders (the bulk actions' steps).
use super::folders::folder_condition;
use super::folders::{folder_path, like_escape, name_taken, subtree_ids};
use super::records::{entry, get_live_file, record_event};
use crate::core::db::Sql;
use crate::core::{Actor, AppState};
use crate::error::AppError;
use crate::files::FileEntry;
use crate::workspaces::Role;

/// The next free "name (n).ext" among live files of a folder. Inside a transaction pass the
/// transaction (`&mut *tx`), never the pool: on SQLite a writer that waits for a second
/// connection while it holds the write lock stalls every other writer (seen under a write
/// storm as "database is locked").
pub async fn free_name_in<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    vault_id: &str,
    folder_id: Option<&str>,
    name: &str,
    except: &str,
) -> Result<String, AppError> {
    let (stem, ext) = crate::files::stem_ext(name);
    let mut sql = Sql::new("SELECT f.name FROM files f WHERE f.vault_id = ");
    let v = sql.arg(vault_id);
    sql.push(&v);
    folder_condition(&mut sql, folder_id);
    let n = sql.arg(name);
    let like = sql.arg(format!("{}%", like_escape(stem)));
    let ex = sql.arg(except);
    sql.push(&format!(
        " AND f.deleted_at IS NULL AND f.state <> 'uploading' AND (f.name = {n} OR f.name LIKE {like} ESCAPE '\\') AND f.id <> {ex}"
    ));
    let taken: Vec<(String,)> = sql.query_as().fetch_all(db).await?;
    let taken: std::collections::HashSet<String> = taken.into_iter().map(|t| t.0).collect();
    if !taken.contains(name) {
        return Ok(name.to_string());
    }
    (2..100_000)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|c| !taken.contains(c))
        .ok_or_else(|| AppError::conflict("Too many files of this name in the folder."))
}

/// Renames a file; a name another file in the folder has is refused.
pub async fn rename_file(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
    name: &str,
) -> Result<FileEntry, AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    let name = crate::files::check_file_name(name)?;
    if name == f.name {
        return entry(&st.db, &f.id).await;
    }
    let path = folder_path(&st.db, f.folder_id.as_deref()).await?;
    if name_taken(&st.db, &f.vault_id, &path, &name).await? {
        return Err(AppError::conflict(format!(
            "“{name}” already exists in this folder."
        )));
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query("UPDATE files SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(&name)
        .bind(now)
        .bind(&f.id)
        .execute(&mut *tx)
        .await?;
    record_event(
        &mut tx,
        &f.id,
        Some(actor.user_id()),
        "renamed",
        &format!("{} → {name}", f.name),
        now,
    )
    .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(
            Some(&f.workspace_id),
            "file.rename",
            format!("file:{}", f.id),
        )
        .detail(format!("{name} (was {})", f.name)),
    )
    .await?;
    tx.commit().await?;
    entry(&st.db, &f.id).await
}

/// Moves files (already checked to be the actor's, live, in `vault_id`) into a folder. A
/// file whose name is taken there gets the next free "name (n).ext", like "Keep both".
pub async fn move_files_checked(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    ids: &[String],
    target: Option<&str>,
    target_path: &str,
) -> Result<i64, AppError> {
    let now = st.clock.now_ms();
    let mut moved = 0;
    for id in ids {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT name, folder_id FROM files WHERE id = $1 AND vault_id = $2 AND deleted_at IS NULL AND state <> 'uploading'",
        )
        .bind(id)
        .bind(vault_id)
        .fetch_optional(&st.db.pool)
        .await?;
        let Some((name, from)) = row else { continue };
        if from.as_deref() == target {
            continue;
        }
        let new_name = free_name_in(&st.db.pool, vault_id, target, &name, id).await?;
        let mut tx = st.db.begin().await?;
        sqlx::query("UPDATE files SET folder_id = $1, name = $2, updated_at = $3 WHERE id = $4")
            .bind(target)
            .bind(&new_name)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let to = if target_path.is_empty() {
            "the vault's top level".to_string()
        } else {
            target_path.to_string()
        };
        let detail = if new_name == name {
            format!("to {to}")
        } else {
            format!("to {to}, as {new_name}")
        };
        record_event(&mut tx, id, Some(actor_id), "moved", &detail, now).await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

/// Puts files (checked by the caller) in the trash, remembering their folder path.
pub async fn trash_files_checked(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    ids: &[String],
) -> Result<i64, AppError> {
    let now = st.clock.now_ms();
    let mut n = 0;
    for id in ids {
        let mut tx = st.db.begin().await?;
        let done = sqlx::query(
            "UPDATE files SET deleted_at = $1,
                 trashed_path = COALESCE((SELECT d.path FROM folders d WHERE d.id = files.folder_id), '')
             WHERE id = $2 AND vault_id = $3 AND deleted_at IS NULL AND state <> 'uploading'",
        )
        .bind(now)
        .bind(id)
        .bind(vault_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done > 0 {
            record_event(&mut tx, id, Some(actor_id), "trashed", "", now).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(n)
}

/// Deletes a folder: every file under it goes to the trash (keeping its path), then the
/// folders go. Returns how many files went to the trash.
pub async fn delete_folder_checked(
    st: &AppState,
    actor_id: &str,
    folder_id: &str,
) -> Result<i64, AppError> {
    let folder: Option<(String, String)> =
        sqlx::query_as("SELECT vault_id, path FROM folders WHERE id = $1")
            .bind(folder_id)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some((vault_id, path)) = folder else {
        return Ok(0);
    };
    let subtree = format!("{}/", path);
    let mut trashed = 0;
    for chunk in subtree_ids(&st.db, &vault_id, &path).await?.chunks(500) {
        trashed += trash_files_checked(st, actor_id, &vault_id, chunk).await?;
    }
    let mut tx = st.db.begin().await?;
    // Trashed files keep their path in trashed_path; they no longer point at the folders
    // (whose rows go, and would take the files with them).
    sqlx::query(
        "UPDATE files SET folder_id = NULL WHERE vault_id = $1 AND deleted_at IS NOT NULL AND folder_id IN
           (SELECT id FROM folders WHERE vault_id = $1 AND (path = $2 OR SUBSTR(path, 1, CAST($3 AS INTEGER)) = $4))",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .execute(&mut *tx)
    .await?;
    // Files still uploading into the folder keep it alive: those folders stay.
    sqlx::query(
        "DELETE FROM folders WHERE vault_id = $1 AND (path = $2 OR SUBSTR(path, 1, CAST($3 AS INTEGER)) = $4)
           AND NOT EXISTS (SELECT 1 FROM files f JOIN folders d2 ON d2.id = f.folder_id
                           WHERE f.vault_id = $1 AND (d2.path = folders.path OR SUBSTR(d2.path, 1, LENGTH(folders.path) + 1) = folders.path || '/'))",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%folder_id, files = trashed, "folder deleted");
    Ok(trashed)
}

//! Folders: made on the way for uploads, created, renamed and moved (never into
//! themselves), found by name, and their subtrees.
use crate::core::db::Sql;
use crate::core::{Actor, AppState, Db, new_id};
use crate::error::AppError;
use crate::files::FolderEntry;
use crate::workspaces::{Role, service::require_role, service::require_role_in};

/// The folder at `path` (checked names) in a vault, made with its parents when missing;
/// None for the root. Safe when two uploads make the same folder at once.
pub async fn ensure_folder_path(
    db: &Db,
    workspace_id: &str,
    vault_id: &str,
    names: &[String],
    user_id: &str,
    now: i64,
) -> Result<Option<String>, AppError> {
    let mut parent: Option<String> = None;
    let mut path = String::new();
    for name in names {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(name);
        sqlx::query(
            "INSERT INTO folders (id, workspace_id, vault_id, parent_id, name, path, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (vault_id, path) DO NOTHING",
        )
        .bind(new_id())
        .bind(workspace_id)
        .bind(vault_id)
        .bind(&parent)
        .bind(name)
        .bind(&path)
        .bind(user_id)
        .bind(now)
        .execute(&db.pool)
        .await?;
        let (id,): (String,) =
            sqlx::query_as("SELECT id FROM folders WHERE vault_id = $1 AND path = $2")
                .bind(vault_id)
                .bind(&path)
                .fetch_one(&db.pool)
                .await?;
        parent = Some(id);
    }
    Ok(parent)
}

/// The folder at `path` in a vault if it exists (None for the root or a missing folder).
pub async fn find_folder(db: &Db, vault_id: &str, path: &str) -> Result<Option<String>, AppError> {
    if path.is_empty() {
        return Ok(None);
    }
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT id FROM folders WHERE vault_id = $1 AND path = $2")
            .bind(vault_id)
            .bind(path)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.0),
    )
}

/// The folder at `path`, which must exist ('' is the root).
pub(crate) async fn existing_folder(
    db: &Db,
    vault_id: &str,
    path: &str,
) -> Result<Option<String>, AppError> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    match find_folder(db, vault_id, path).await? {
        Some(id) => Ok(Some(id)),
        None => Err(AppError::invalid(
            "path",
            format!("There is no folder “{path}” in this vault (any more)."),
        )),
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
struct FolderRow {
    id: String,
    workspace_id: String,
    vault_id: String,
    parent_id: Option<String>,
    name: String,
    path: String,
}

async fn get_folder(
    db: &Db,
    actor: &Actor,
    folder_id: &str,
    role: Role,
) -> Result<FolderRow, AppError> {
    let f: FolderRow = sqlx::query_as(
        "SELECT id, workspace_id, vault_id, parent_id, name, path FROM folders WHERE id = $1",
    )
    .bind(folder_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require_role_in(db, actor, &f.workspace_id, &f.vault_id, role).await?;
    Ok(f)
}

fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// A name is taken in a folder when a live file or a folder has it.
pub(crate) async fn name_taken(
    db: &Db,
    vault_id: &str,
    parent_path: &str,
    name: &str,
) -> Result<bool, AppError> {
    let folder = find_folder(db, vault_id, parent_path).await?;
    let mut sql = Sql::new("SELECT COUNT(*) FROM files f WHERE f.vault_id = ");
    let v = sql.arg(vault_id);
    sql.push(&v);
    folder_condition(&mut sql, folder.as_deref());
    let n = sql.arg(name);
    sql.push(&format!(
        " AND f.name = {n} AND f.deleted_at IS NULL AND f.state <> 'uploading'"
    ));
    let (files,): (i64,) = sql.query_as().fetch_one(&db.pool).await?;
    let (folders,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM folders WHERE vault_id = $1 AND path = $2")
            .bind(vault_id)
            .bind(join_path(parent_path, name))
            .fetch_one(&db.pool)
            .await?;
    Ok(files + folders > 0)
}

/// Makes a folder in `parent_path` (which must exist).
pub async fn create_folder(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    parent_path: &str,
    name: &str,
) -> Result<FolderEntry, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    let name = crate::files::check_file_name(name).map_err(|_| {
        AppError::invalid(
            "name",
            "A folder name needs 1 to 255 characters and no '/' or '\\'.",
        )
    })?;
    let parent_path = parent_path.trim_matches('/');
    existing_folder(&st.db, &vault.id, parent_path).await?;
    if name_taken(&st.db, &vault.id, parent_path, &name).await? {
        return Err(AppError::conflict(format!(
            "“{name}” already exists in this folder."
        )));
    }
    let mut names = crate::files::check_folder_path(parent_path)?;
    names.push(name.clone());
    let id = ensure_folder_path(
        &st.db,
        &vault.workspace_id,
        &vault.id,
        &names,
        actor.user_id(),
        st.clock.now_ms(),
    )
    .await?
    .ok_or_else(|| AppError::internal("a folder path with a name made no folder"))?;
    tracing::info!(folder_id = %id, vault_id = %vault.id, "folder created");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&vault.workspace_id),
            "file.folder_create",
            format!("folder:{id}"),
        )
        .detail(join_path(parent_path, &name)),
    )
    .await?;
    Ok(FolderEntry {
        id,
        path: join_path(parent_path, &name),
        name,
        created_at: st.clock.now_ms(),
    })
}

/// Moves and/or renames a folder: its subtree's paths follow. A folder cannot go inside
/// itself, and a name already used in the target folder is refused.
pub async fn move_folder(
    st: &AppState,
    actor: &Actor,
    folder_id: &str,
    target_parent: &str,
    new_name: &str,
) -> Result<FolderEntry, AppError> {
    let folder = get_folder(&st.db, actor, folder_id, Role::Member).await?;
    let name = crate::files::check_file_name(new_name).map_err(|_| {
        AppError::invalid(
            "name",
            "A folder name needs 1 to 255 characters and no '/' or '\\'.",
        )
    })?;
    let target_parent = target_parent.trim_matches('/');
    let new_path = join_path(target_parent, &name);
    if new_path == folder.path {
        return Ok(FolderEntry {
            id: folder.id,
            name,
            path: new_path,
            created_at: 0,
        });
    }
    if target_parent == folder.path || target_parent.starts_with(&format!("{}/", folder.path)) {
        return Err(AppError::invalid(
            "target",
            "A folder cannot move into itself.",
        ));
    }
    let parent_id = existing_folder(&st.db, &folder.vault_id, target_parent).await?;
    // Renaming "a" to "A" in place is fine; anything else must be a free name.
    let same_place = parent_id == folder.parent_id;
    if !(same_place && name.eq_ignore_ascii_case(&folder.name))
        && name_taken(&st.db, &folder.vault_id, target_parent, &name).await?
    {
        return Err(AppError::conflict(format!(
            "“{name}” already exists there."
        )));
    }
    let mut tx = st.db.begin().await?;
    // Descendants first (their paths start with the old path and a '/'), then the folder.
    let old_prefix_len = folder.path.chars().count() as i64;
    sqlx::query(
        "UPDATE folders SET path = $1 || SUBSTR(path, CAST($2 AS INTEGER))
         WHERE vault_id = $3 AND SUBSTR(path, 1, CAST($4 AS INTEGER)) = $5",
    )
    .bind(&new_path)
    .bind(old_prefix_len + 1)
    .bind(&folder.vault_id)
    .bind(old_prefix_len + 1)
    .bind(format!("{}/", folder.path))
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE folders SET path = $1, name = $2, parent_id = $3 WHERE id = $4")
        .bind(&new_path)
        .bind(&name)
        .bind(&parent_id)
        .bind(&folder.id)
        .execute(&mut *tx)
        .await?;
    let (ws,): (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(&folder.vault_id)
        .fetch_one(&mut *tx)
        .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(
            Some(&ws),
            "file.folder_move",
            format!("folder:{}", folder.id),
        )
        .detail(format!("{new_path} (was {})", folder.path)),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(folder_id = %folder.id, "folder moved or renamed");
    Ok(FolderEntry {
        id: folder.id,
        name,
        path: new_path,
        created_at: 0,
    })
}

/// Renames a folder and/or moves it under another parent (`None`: as it is).
pub async fn change_folder(
    st: &AppState,
    actor: &Actor,
    folder_id: &str,
    name: Option<&str>,
    parent_path: Option<&str>,
) -> Result<FolderEntry, AppError> {
    let folder = get_folder(&st.db, actor, folder_id, Role::Member).await?;
    let here = folder
        .path
        .rsplit_once('/')
        .map(|(parent, _)| parent.to_string())
        .unwrap_or_default();
    let parent = parent_path.map(str::to_string).unwrap_or(here);
    move_folder(st, actor, folder_id, &parent, name.unwrap_or(&folder.name)).await
}

/// The vault a folder is in, once the actor may change it.
pub async fn folder_vault(db: &Db, actor: &Actor, folder_id: &str) -> Result<String, AppError> {
    Ok(get_folder(db, actor, folder_id, Role::Member)
        .await?
        .vault_id)
}

/// Folders whose path contains `text` (for the "Move to…" picker), at most 50.
pub async fn find_folders(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
    text: &str,
) -> Result<Vec<FolderEntry>, AppError> {
    let vault = crate::vaults::service::get_vault(db, actor, vault_id).await?;
    Ok(sqlx::query_as(
        "SELECT id, name, path, created_at FROM folders
         WHERE vault_id = $1 AND LOWER(path) LIKE $2 ESCAPE '\\' ORDER BY path LIMIT 50",
    )
    .bind(&vault.id)
    .bind(format!("%{}%", like_escape(&text.trim().to_lowercase())))
    .fetch_all(&db.pool)
    .await?)
}

// ---------------------------------------------------------------- listing

pub(crate) async fn folder_path(db: &Db, folder_id: Option<&str>) -> Result<String, AppError> {
    let Some(id) = folder_id else {
        return Ok(String::new());
    };
    let (p,): (String,) = sqlx::query_as("SELECT path FROM folders WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(p)
}

/// Live files under a folder (its own and its subfolders').
pub async fn subtree_ids(db: &Db, vault_id: &str, path: &str) -> Result<Vec<String>, AppError> {
    let sub = format!("{path}/");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT f.id FROM files f JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND (d.path = $2 OR SUBSTR(d.path, 1, CAST($3 AS INTEGER)) = $4)
           AND f.deleted_at IS NULL AND f.state <> 'uploading' ORDER BY f.id",
    )
    .bind(vault_id)
    .bind(path)
    .bind(sub.chars().count() as i64)
    .bind(&sub)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Files under a folder's subtree that are live (for deciding whether a delete is a job).
pub async fn count_subtree(db: &Db, folder_id: &str) -> Result<i64, AppError> {
    let (vault_id, path): (String, String) =
        sqlx::query_as("SELECT vault_id, path FROM folders WHERE id = $1")
            .bind(folder_id)
            .fetch_one(&db.pool)
            .await?;
    let subtree = format!("{path}/");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM files f JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND (d.path = $2 OR SUBSTR(d.path, 1, CAST($3 AS INTEGER)) = $4)
           AND f.deleted_at IS NULL AND f.state <> 'uploading'",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .fetch_one(&db.pool)
    .await?;
    Ok(n)
}

// ---------------------------------------------------------------- trash

pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// ` AND f.folder_id = $n` (or IS NULL at the root): equality, so the folder indexes serve.
pub(crate) fn folder_condition(sql: &mut Sql, folder: Option<&str>) {
    match folder {
        None => {
            sql.push(" AND f.folder_id IS NULL");
        }
        Some(id) => {
            let p = sql.arg(id);
            sql.push(&format!(" AND f.folder_id = {p}"));
        }
    }
}

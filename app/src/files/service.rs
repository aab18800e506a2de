use super::FileEntry;
use crate::core::{Actor, Db, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};

/// What the service knows of a file beyond what the browser shows.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FileRecord {
    pub id: String,
    pub workspace_id: String,
    pub vault_id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub s3_key: String,
    pub storage_class: String,
    pub state: String,
}

/// The first page of a vault's files, newest first. (Keyset paging and folders arrive with
/// the file browser; LIMIT without OFFSET stays fast.)
pub async fn list_files(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
) -> Result<Vec<FileEntry>, AppError> {
    let vault = crate::vaults::service::get_vault(db, actor, vault_id).await?;
    Ok(sqlx::query_as(
        "SELECT f.id, f.vault_id, COALESCE(d.path, '') AS folder_path, f.name, f.size,
                f.content_type, f.storage_class, f.state, f.created_at
         FROM files f LEFT JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND f.state <> 'uploading' AND f.state <> 'deleted'
         ORDER BY f.created_at DESC, f.id DESC LIMIT 1000",
    )
    .bind(&vault.id)
    .fetch_all(&db.pool)
    .await?)
}

/// A file the actor holds at least `role` on (NotFound when it may not see it at all).
pub async fn get_file(
    db: &Db,
    actor: &Actor,
    file_id: &str,
    role: Role,
) -> Result<FileRecord, AppError> {
    let file: FileRecord = sqlx::query_as(
        "SELECT id, workspace_id, vault_id, name, size, content_type, s3_key, storage_class, state
         FROM files WHERE id = $1",
    )
    .bind(file_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require_role(db, actor, &file.workspace_id, role).await?;
    Ok(file)
}

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

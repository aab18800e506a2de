use super::FileEntry;
use crate::core::{Actor, Db};
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
        "SELECT id, vault_id, name, size, content_type, storage_class, state, created_at
         FROM files WHERE vault_id = $1 AND state <> 'uploading' AND state <> 'deleted'
         ORDER BY created_at DESC, id DESC LIMIT 500",
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

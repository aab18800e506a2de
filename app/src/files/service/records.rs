//! A file as the service knows it: reading one with the actor's access checked, the
//! browser's entry for it, and its history.
use crate::core::{Actor, Db, new_id};
use crate::error::AppError;
use crate::files::FileEntry;
use crate::workspaces::{Role, service::require_role_in};

/// What the service knows of a file beyond what the browser shows.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FileRecord {
    pub id: String,
    pub workspace_id: String,
    pub vault_id: String,
    pub folder_id: Option<String>,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub s3_key: String,
    pub storage_class: String,
    pub state: String,
    pub class_changed_at: i64,
    pub thumb_key: Option<String>,
    pub deleted_at: Option<i64>,
    pub sha256: Option<String>,
    /// The folder path a trashed file came from.
    pub trashed_path: Option<String>,
    /// The whole object's CRC64NVME, as S3 verified it at completion (files uploaded since
    /// full-object checksums).
    pub crc64nvme: Option<String>,
    pub created_by: String,
}

const RECORD_COLUMNS: &str = "id, workspace_id, vault_id, folder_id, name, size, content_type,
    s3_key, storage_class, state, class_changed_at, thumb_key, deleted_at, sha256, trashed_path,
    crc64nvme, created_by";

/// The columns of [`FileEntry`], from `files f LEFT JOIN folders d`.
pub const ENTRY_COLUMNS: &str = "f.id, f.vault_id, COALESCE(d.path, '') AS folder_path, f.name,
    f.size, f.content_type, f.storage_class, f.state, f.created_at, f.updated_at, f.kind,
    CAST(CASE WHEN f.thumb_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_thumb, f.restored_until";

/// A file the actor holds at least `role` on (NotFound when it may not see it at all).
/// Files in the trash are found too; callers decide what they may do with them.
pub async fn get_file(
    db: &Db,
    actor: &Actor,
    file_id: &str,
    role: Role,
) -> Result<FileRecord, AppError> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM files WHERE id = $1");
    let file: FileRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(file_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require_role_in(db, actor, &file.workspace_id, &file.vault_id, role).await?;
    Ok(file)
}

/// A live (not trashed, not uploading) file the actor holds `role` on.
pub(crate) async fn get_live_file(
    db: &Db,
    actor: &Actor,
    file_id: &str,
    role: Role,
) -> Result<FileRecord, AppError> {
    let f = get_file(db, actor, file_id, role).await?;
    if f.deleted_at.is_some() || f.state == "uploading" {
        return Err(AppError::NotFound);
    }
    Ok(f)
}

pub async fn entry(db: &Db, file_id: &str) -> Result<FileEntry, AppError> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM files f LEFT JOIN folders d ON d.id = f.folder_id WHERE f.id = $1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(file_id)
        .fetch_one(&db.pool)
        .await?)
}

/// What a file's webhook event says of it: workspace, id, vault, name, size, class, state,
/// SHA-256, folder path.
type EventFile = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    String,
);

/// Records something that happened to a file (its details panel shows the history) and, in
/// the same transaction, the webhook event it is for the workspace's endpoints.
pub async fn record_event(
    conn: &mut sqlx::AnyConnection,
    file_id: &str,
    actor_id: Option<&str>,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO file_events (id, file_id, at, actor_id, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(file_id)
    .bind(now)
    .bind(actor_id)
    .bind(kind)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    let webhook = match kind {
        "uploaded" => crate::events::FILE_UPLOADED,
        "trashed" => crate::events::FILE_DELETED,
        "class_changed" => crate::events::CLASS_CHANGED,
        "restore_ready" => crate::events::RESTORE_READY,
        "restore_expired" => crate::events::RESTORE_EXPIRED,
        _ => return Ok(()),
    };
    // Most workspaces have no endpoint: one indexed lookup, and nothing more for them.
    let listening: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM files f JOIN webhook_endpoints e
            ON e.workspace_id = f.workspace_id AND e.disabled_at IS NULL
         WHERE f.id = $1 LIMIT 1",
    )
    .bind(file_id)
    .fetch_optional(&mut *conn)
    .await?;
    if listening.is_none() {
        return Ok(());
    }
    let f: Option<EventFile> = sqlx::query_as(
        "SELECT f.workspace_id, f.id, f.vault_id, f.name, f.size, f.storage_class, f.state,
                f.sha256, COALESCE(d.path, '') FROM files f
             LEFT JOIN folders d ON d.id = f.folder_id WHERE f.id = $1",
    )
    .bind(file_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((ws, id, vault_id, name, size, class, state, sha256, folder_path)) = f {
        let data = serde_json::json!({
            "file": {
                "id": id, "vault_id": vault_id, "folder_path": folder_path, "name": name,
                "size": size, "storage_class": class, "state": state, "sha256": sha256,
            },
            "detail": detail,
        });
        crate::events::record(conn, &ws, webhook, data, now).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- folders

use super::Vault;
use crate::core::{Actor, Db, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};

pub async fn create_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    workspace_id: &str,
    name: &str,
    now: i64,
) -> Result<String, AppError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO vaults (id, workspace_id, name, default_storage_class, created_at)
         VALUES ($1, $2, $3, 'STANDARD', $4)",
    )
    .bind(&id)
    .bind(workspace_id)
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

const VAULT_COLUMNS: &str = "v.id, v.workspace_id, v.name, v.default_storage_class,
    v.allowed_types, v.max_file_size,
    (SELECT COUNT(*) FROM files f WHERE f.vault_id = v.id AND f.state <> 'uploading' AND f.state <> 'deleted') AS file_count,
    (SELECT CAST(COALESCE(SUM(f.size), 0) AS BIGINT) FROM files f WHERE f.vault_id = v.id AND f.state <> 'uploading' AND f.state <> 'deleted') AS total_bytes";

/// Every vault in every workspace the actor belongs to.
pub async fn list_vaults(db: &Db, actor: &Actor) -> Result<Vec<Vault>, AppError> {
    let sql = format!(
        "SELECT {VAULT_COLUMNS} FROM vaults v
         JOIN memberships m ON m.workspace_id = v.workspace_id AND m.user_id = $1
         ORDER BY v.created_at, v.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .fetch_all(&db.pool)
        .await?)
}

/// One vault, if the actor may see it (NotFound otherwise: no hint that it exists).
pub async fn get_vault(db: &Db, actor: &Actor, vault_id: &str) -> Result<Vault, AppError> {
    let sql = format!("SELECT {VAULT_COLUMNS} FROM vaults v WHERE v.id = $1");
    let vault: Vault = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(vault_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require_role(db, actor, &vault.workspace_id, Role::Viewer).await?;
    Ok(vault)
}

/// Changes a vault's upload rules and default storage class (admins and owners).
pub async fn update_settings(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
    default_storage_class: &str,
    allowed_types: &str,
    max_file_size: Option<i64>,
) -> Result<Vault, AppError> {
    let vault = get_vault(db, actor, vault_id).await?;
    require_role(db, actor, &vault.workspace_id, Role::Admin).await?;
    if !super::STORAGE_CLASSES.contains(&default_storage_class) {
        return Err(AppError::invalid(
            "default_storage_class",
            "Choose one of the storage classes.",
        ));
    }
    let allowed = crate::uploads::normalize_type_rule(allowed_types)
        .map_err(|m| AppError::invalid("allowed_types", m))?;
    if let Some(max) = max_file_size
        && !(1..=crate::uploads::MAX_FILE_SIZE).contains(&max)
    {
        return Err(AppError::invalid(
            "max_file_size",
            "The largest file must be between 1 byte and 5 TiB.",
        ));
    }
    sqlx::query(
        "UPDATE vaults SET default_storage_class = $1, allowed_types = $2, max_file_size = $3
         WHERE id = $4",
    )
    .bind(default_storage_class)
    .bind(&allowed)
    .bind(max_file_size)
    .bind(&vault.id)
    .execute(&db.pool)
    .await?;
    tracing::info!(vault_id = %vault.id, %default_storage_class, %allowed, ?max_file_size, "vault settings changed");
    get_vault(db, actor, vault_id).await
}

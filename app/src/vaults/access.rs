//! Reading vaults with the actor's access checked first: the list, one vault with its
//! totals, and the bare access check the other features ask before touching a vault's files.
use super::Vault;
use crate::core::{Actor, Db};
use crate::error::AppError;
use crate::workspaces::{Role, service::held_by, service::require_role};

const VAULT_COLUMNS: &str = "v.id, v.workspace_id, v.name, v.default_storage_class,
    v.allowed_types, v.max_file_size, v.sha256_mode,
    (SELECT CAST(COALESCE(SUM(s.file_count), 0) AS BIGINT) FROM vault_stats s WHERE s.vault_id = v.id) AS file_count,
    (SELECT CAST(COALESCE(SUM(s.bytes), 0) AS BIGINT) FROM vault_stats s WHERE s.vault_id = v.id) AS total_bytes";

/// Fills in the per-class totals (kept by triggers in `vault_stats`).
async fn with_classes(db: &Db, mut vaults: Vec<Vault>) -> Result<Vec<Vault>, AppError> {
    for v in &mut vaults {
        v.classes = sqlx::query_as(
            "SELECT s.storage_class, s.file_count, s.bytes FROM vault_stats s
             JOIN prices p ON p.storage_class = s.storage_class
             WHERE s.vault_id = $1 AND s.file_count > 0 ORDER BY p.sort_order",
        )
        .bind(&v.id)
        .fetch_all(&db.pool)
        .await?;
    }
    Ok(vaults)
}

/// The vaults of the workspace the actor works in ([`crate::workspaces::service::current`]).
pub async fn list_vaults(db: &Db, actor: &Actor) -> Result<Vec<Vault>, AppError> {
    let (workspace_id, _, role) = crate::workspaces::service::current(db, actor).await?;
    let sql = format!(
        "SELECT {VAULT_COLUMNS} FROM vaults v
         JOIN memberships m ON m.workspace_id = v.workspace_id AND m.user_id = $1
         WHERE v.deleted_at IS NULL AND v.workspace_id = $2 AND ($3 = '' OR v.id = $3)
         ORDER BY v.created_at, v.id"
    );
    let mut vaults: Vec<Vault> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .bind(&workspace_id)
        .bind(actor.only_vault())
        .fetch_all(&db.pool)
        .await?;
    for v in &mut vaults {
        v.your_role = role.as_str().to_string();
    }
    with_classes(db, vaults).await
}

/// One vault, if the actor may see it (NotFound otherwise: no hint that it exists).
pub async fn get_vault(db: &Db, actor: &Actor, vault_id: &str) -> Result<Vault, AppError> {
    let sql =
        format!("SELECT {VAULT_COLUMNS} FROM vaults v WHERE v.id = $1 AND v.deleted_at IS NULL");
    let vault: Vault = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(vault_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    in_reach(actor, vault_id)?;
    let role = require_role(db, actor, &vault.workspace_id, Role::Viewer).await?;
    let mut vault = with_classes(db, vec![vault]).await?.remove(0);
    vault.your_role = role.as_str().to_string();
    Ok(vault)
}

/// The vault's id once the actor holds `role` in its workspace: the access check alone,
/// without the totals `get_vault` adds (NotFound when it may not see it).
pub async fn check_vault(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
    role: Role,
) -> Result<String, AppError> {
    in_reach(actor, vault_id)?;
    // One statement: the vault and the actor's membership of its workspace.
    let found: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT m.role, v.workspace_id, CAST(COALESCE(s.require_sso, 0) AS BIGINT) FROM vaults v
         JOIN memberships m ON m.workspace_id = v.workspace_id AND m.user_id = $2
         LEFT JOIN workspace_sso s ON s.workspace_id = v.workspace_id
         WHERE v.id = $1 AND v.deleted_at IS NULL",
    )
    .bind(vault_id)
    .bind(actor.user_id())
    .fetch_optional(&db.pool)
    .await?;
    let (held, workspace_id, require_sso) = found
        .and_then(|(r, w, s)| Some((Role::parse(&r)?, w, s != 0)))
        .ok_or(AppError::NotFound)?;
    let held = held_by(actor, &workspace_id, held, require_sso)?;
    if held < role {
        return Err(AppError::Forbidden {
            message: format!("This needs the {} role in the workspace.", role.as_str()),
        });
    }
    Ok(vault_id.to_string())
}

/// NotFound for a vault outside a vault-restricted key's one vault.
fn in_reach(actor: &Actor, vault_id: &str) -> Result<(), AppError> {
    let only = actor.only_vault();
    if only.is_empty() || only == vault_id {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

//! Changing vaults: made (with a personal workspace, or by a person), renamed, deleted
//! (their files to the trash), and their settings. Reading them, with the actor's access
//! checked, is `vaults::access` (below the files service, which checks vaults too).
use super::Vault;
use crate::core::{Actor, AppState, Db, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};

pub use super::access::{check_vault, get_vault, list_vaults};

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

/// A new vault in the workspace the actor works in (admins and owners).
pub async fn create_vault(st: &AppState, actor: &Actor, name: &str) -> Result<Vault, AppError> {
    let name = super::check_vault_name(name)?;
    let (workspace_id, _, _) = crate::workspaces::service::current(&st.db, actor).await?;
    // A key: only with the admin scope, and not one kept to a single vault.
    if !actor.only_vault().is_empty() {
        return Err(AppError::Forbidden {
            message: "This key is limited to one vault.".into(),
        });
    }
    require_role(&st.db, actor, &workspace_id, Role::Admin).await?;
    name_free(&st.db, &workspace_id, &name, "").await?;
    let mut tx = st.db.begin().await?;
    let id = create_in_tx(&mut tx, &workspace_id, &name, st.clock.now_ms()).await?;
    tx.commit().await?;
    tracing::info!(vault_id = %id, "vault created");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&workspace_id),
            "vault.create",
            format!("vault:{id}"),
        )
        .detail(name.clone()),
    )
    .await?;
    get_vault(&st.db, actor, &id).await
}

async fn name_free(db: &Db, workspace_id: &str, name: &str, except: &str) -> Result<(), AppError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM vaults WHERE workspace_id = $1 AND LOWER(name) = LOWER($2) AND id <> $3",
    )
    .bind(workspace_id)
    .bind(name)
    .bind(except)
    .fetch_one(&db.pool)
    .await?;
    if n > 0 {
        return Err(AppError::conflict(format!(
            "There is already a vault named “{name}” (perhaps in the trash)."
        )));
    }
    Ok(())
}

/// Renames a vault (admins and owners).
pub async fn rename_vault(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    name: &str,
) -> Result<Vault, AppError> {
    let vault = get_vault(&st.db, actor, vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Admin).await?;
    let name = super::check_vault_name(name)?;
    name_free(&st.db, &vault.workspace_id, &name, &vault.id).await?;
    sqlx::query("UPDATE vaults SET name = $1 WHERE id = $2")
        .bind(&name)
        .bind(&vault.id)
        .execute(&st.db.pool)
        .await?;
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&vault.workspace_id),
            "vault.rename",
            format!("vault:{}", vault.id),
        )
        .detail(format!("{name} (was {})", vault.name)),
    )
    .await?;
    get_vault(&st.db, actor, vault_id).await
}

/// Deletes a vault (admins and owners). An empty vault simply goes. A vault with files
/// needs `confirm` to be its name: every file moves to the trash (restorable for a week;
/// restoring one brings the vault back) and the vault disappears from the list. Returns
/// how many files went to the trash.
pub async fn delete_vault(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    confirm: &str,
) -> Result<i64, AppError> {
    let vault = get_vault(&st.db, actor, vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Admin).await?;
    let (folders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM folders WHERE vault_id = $1")
        .bind(&vault.id)
        .fetch_one(&st.db.pool)
        .await?;
    let (uploading,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM files WHERE vault_id = $1 AND state = 'uploading'")
            .bind(&vault.id)
            .fetch_one(&st.db.pool)
            .await?;
    if uploading > 0 {
        return Err(AppError::conflict(
            "Files are still uploading into this vault: finish or cancel them first.",
        ));
    }
    if (vault.file_count > 0 || folders > 0) && confirm.trim() != vault.name {
        return Err(AppError::invalid(
            "confirm",
            format!(
                "This vault is not empty. Type its name, “{}”, to move everything in it to the trash.",
                vault.name
            ),
        ));
    }
    let mut trashed = 0;
    loop {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM files WHERE vault_id = $1 AND deleted_at IS NULL AND state <> 'uploading' LIMIT 500",
        )
        .bind(&vault.id)
        .fetch_all(&st.db.pool)
        .await?;
        if ids.is_empty() {
            break;
        }
        let ids: Vec<String> = ids.into_iter().map(|r| r.0).collect();
        trashed += crate::files::service::trash_files_checked(st, actor.user_id(), &vault.id, &ids)
            .await?;
    }
    let mut tx = st.db.begin().await?;
    sqlx::query("UPDATE files SET folder_id = NULL WHERE vault_id = $1")
        .bind(&vault.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM folders WHERE vault_id = $1")
        .bind(&vault.id)
        .execute(&mut *tx)
        .await?;
    let (in_trash,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files WHERE vault_id = $1")
        .bind(&vault.id)
        .fetch_one(&mut *tx)
        .await?;
    if in_trash == 0 {
        sqlx::query("DELETE FROM vaults WHERE id = $1")
            .bind(&vault.id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query("UPDATE vaults SET deleted_at = $1 WHERE id = $2")
            .bind(st.clock.now_ms())
            .bind(&vault.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(vault_id = %vault.id, files = trashed, "vault deleted");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&vault.workspace_id),
            "vault.delete",
            format!("vault:{}", vault.id),
        )
        .detail(format!("{} ({trashed} files to the trash)", vault.name)),
    )
    .await?;
    Ok(trashed)
}

/// Changes a vault's upload rules and default storage class (admins and owners).
pub async fn update_settings(
    st: &crate::core::AppState,
    actor: &Actor,
    vault_id: &str,
    default_storage_class: &str,
    allowed_types: &str,
    max_file_size: Option<i64>,
    sha256_mode: Option<&str>,
) -> Result<Vault, AppError> {
    let db = &st.db;
    let vault = get_vault(db, actor, vault_id).await?;
    require_role(db, actor, &vault.workspace_id, Role::Admin).await?;
    if !super::STORAGE_CLASSES.contains(&default_storage_class) {
        return Err(AppError::invalid(
            "default_storage_class",
            "Choose one of the storage classes.",
        ));
    }
    // Uploads land in the default class: the plan must include a new one, as for uploads.
    // (An unchanged class left by a downgrade does not block changing the other settings.)
    if default_storage_class != vault.default_storage_class {
        crate::usage::service::check_class(st, &vault.workspace_id, default_storage_class).await?;
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
    let sha256_mode = sha256_mode.unwrap_or(&vault.sha256_mode);
    if !super::SHA256_MODES.iter().any(|(m, _)| *m == sha256_mode) {
        return Err(AppError::invalid(
            "sha256_mode",
            "Choose auto, always or never.",
        ));
    }
    sqlx::query(
        "UPDATE vaults SET default_storage_class = $1, allowed_types = $2, max_file_size = $3,
             sha256_mode = $4
         WHERE id = $5",
    )
    .bind(default_storage_class)
    .bind(&allowed)
    .bind(max_file_size)
    .bind(sha256_mode)
    .bind(&vault.id)
    .execute(&db.pool)
    .await?;
    tracing::info!(vault_id = %vault.id, %default_storage_class, %allowed, ?max_file_size, %sha256_mode, "vault settings changed");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&vault.workspace_id),
            "vault.settings",
            format!("vault:{}", vault.id),
        )
        .detail(format!(
            "class {default_storage_class}, types {allowed:?}, max {max_file_size:?}, sha256 {sha256_mode}"
        )),
    )
    .await?;
    get_vault(db, actor, vault_id).await
}

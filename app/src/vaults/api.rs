use super::Vault;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "list_vaults")]
pub async fn list_vaults() -> Result<Vec<Vault>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::list_vaults(&st.db, &actor(&st).await?).await }.await)
}

#[server(prefix = "/api", endpoint = "get_vault")]
pub async fn get_vault(vault_id: String) -> Result<Vault, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::get_vault(&st.db, &actor(&st).await?, &vault_id).await }.await)
}

/// `max_file_size_mb`: empty for no limit of our own.
#[server(prefix = "/api", endpoint = "update_vault_settings")]
pub async fn update_vault_settings(
    vault_id: String,
    default_storage_class: String,
    allowed_types: String,
    max_file_size_mb: String,
    /// auto, always or never (unchanged when left out).
    #[server(default)]
    sha256_mode: Option<String>,
) -> Result<Vault, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            let max = match max_file_size_mb.trim() {
                "" => None,
                v => Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|m| m.is_finite() && *m > 0.0)
                        .map(|m| (m * 1_000_000.0).round() as i64)
                        .ok_or_else(|| {
                            AppError::invalid("max_file_size", "Give a size in MB, like 250.")
                        })?,
                ),
            };
            super::service::update_settings(
                &st,
                &actor(&st).await?,
                &vault_id,
                &default_storage_class,
                &allowed_types,
                max,
                sha256_mode.as_deref(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "create_vault")]
pub async fn create_vault(name: String) -> Result<Vault, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::create_vault(&st, &actor(&st).await?, &name).await }.await)
}

#[server(prefix = "/api", endpoint = "rename_vault")]
pub async fn rename_vault(vault_id: String, name: String) -> Result<Vault, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::service::rename_vault(&st, &actor(&st).await?, &vault_id, &name).await }
            .await,
    )
}

/// Deletes a vault; one with files needs `confirm` to be its name (everything goes to the
/// trash). Returns how many files went to the trash.
#[server(prefix = "/api", endpoint = "delete_vault")]
pub async fn delete_vault(vault_id: String, confirm: String) -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::service::delete_vault(&st, &actor(&st).await?, &vault_id, &confirm).await }
            .await,
    )
}

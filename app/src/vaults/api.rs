use super::Vault;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "list_vaults")]
pub async fn list_vaults() -> Result<Vec<Vault>, AppError> {
    use crate::core::request::{actor, finish, state};
    let st = state()?;
    finish(async { super::service::list_vaults(&st.db, &actor(&st).await?).await }.await)
}

#[server(prefix = "/api", endpoint = "get_vault")]
pub async fn get_vault(vault_id: String) -> Result<Vault, AppError> {
    use crate::core::request::{actor, finish, state};
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
) -> Result<Vault, AppError> {
    use crate::core::request::{actor, finish, state};
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
                &st.db,
                &actor(&st).await?,
                &vault_id,
                &default_storage_class,
                &allowed_types,
                max,
            )
            .await
        }
        .await,
    )
}

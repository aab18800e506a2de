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

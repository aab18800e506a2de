use super::FileEntry;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "list_files")]
pub async fn list_files(vault_id: String) -> Result<Vec<FileEntry>, AppError> {
    use crate::core::request::{actor, finish, state};
    let st = state()?;
    finish(async { super::service::list_files(&st.db, &actor(&st).await?, &vault_id).await }.await)
}

//! Share links' server functions: for members (make, list, revoke) and for the public page
//! (open, download), thin calls into `shares::service`.
use super::{CreatedShare, NewShare, ShareLink, SharedView};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;

#[server(prefix = "/api", endpoint = "create_share", input = Json)]
pub async fn create_share(new: NewShare) -> Result<CreatedShare, AppError> {
    with_actor(|st, a| async move { super::service::create(&st, &a, &new).await }).await
}

#[server(prefix = "/api", endpoint = "list_shares")]
pub async fn list_shares(vault_id: String) -> Result<Vec<ShareLink>, AppError> {
    with_actor(|st, a| async move { super::service::list(&st, &a, &vault_id).await }).await
}

#[server(prefix = "/api", endpoint = "revoke_share")]
pub async fn revoke_share(share_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::revoke(&st, &a, &share_id).await }).await
}

/// What a share link shows (no session needed; its password when it has one).
#[server(prefix = "/api", endpoint = "open_share")]
pub async fn open_share(token: String, password: String) -> Result<SharedView, AppError> {
    use crate::core::request::{client_ip, finish, state};
    let st = state()?;
    finish(super::service::view(&st, &token, &password, &client_ip(&st)).await)
}

/// A download of one of a share link's files: the presigned URL, made now.
#[server(prefix = "/api", endpoint = "share_download")]
pub async fn share_download(
    token: String,
    password: String,
    file_id: String,
) -> Result<String, AppError> {
    use crate::core::request::{client_ip, finish, state};
    let st = state()?;
    finish(super::service::download(&st, &token, &password, &file_id, &client_ip(&st)).await)
}

use super::{CompletedPart, PartUrl, UploadTicket};
use crate::error::AppError;
use crate::files::FileEntry;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::core::request::{actor, finish, state};

#[server(prefix = "/api", endpoint = "start_upload")]
pub async fn start_upload(
    vault_id: String,
    name: String,
    size: i64,
    content_type: String,
) -> Result<UploadTicket, AppError> {
    let st = state()?;
    finish(
        async {
            let a = actor(&st).await?;
            super::service::start_upload(&st, &a, &vault_id, &name, size, &content_type).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "presign_parts", input = Json)]
pub async fn presign_parts(upload_id: String, parts: Vec<i64>) -> Result<Vec<PartUrl>, AppError> {
    let st = state()?;
    finish(
        async { super::service::presign_parts(&st, &actor(&st).await?, &upload_id, &parts).await }
            .await,
    )
}

#[server(prefix = "/api", endpoint = "complete_upload", input = Json)]
pub async fn complete_upload(
    upload_id: String,
    parts: Vec<CompletedPart>,
) -> Result<FileEntry, AppError> {
    let st = state()?;
    finish(
        async {
            super::service::complete_upload(&st, &actor(&st).await?, &upload_id, &parts).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "abort_upload")]
pub async fn abort_upload(upload_id: String) -> Result<(), AppError> {
    let st = state()?;
    finish(async { super::service::abort_upload(&st, &actor(&st).await?, &upload_id).await }.await)
}

use super::{
    CompletedPart, NewUpload, OnDuplicate, OpenUpload, PartRequest, PartUrl, ResumeInfo,
    UploadTicket,
};
use crate::error::AppError;
use crate::files::FileEntry;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{
    auth::session::actor,
    core::request::{finish, state},
};

#[server(prefix = "/api", endpoint = "start_upload", input = Json)]
pub async fn start_upload(req: NewUpload) -> Result<UploadTicket, AppError> {
    let st = state()?;
    finish(async { super::service::start_upload(&st, &actor(&st).await?, &req).await }.await)
}

#[server(prefix = "/api", endpoint = "presign_parts", input = Json)]
pub async fn presign_parts(
    upload_id: String,
    parts: Vec<PartRequest>,
) -> Result<Vec<PartUrl>, AppError> {
    let st = state()?;
    finish(
        async { super::service::presign_parts(&st, &actor(&st).await?, &upload_id, &parts).await }
            .await,
    )
}

#[server(prefix = "/api", endpoint = "parts_done", input = Json)]
pub async fn parts_done(upload_id: String, parts: Vec<CompletedPart>) -> Result<(), AppError> {
    let st = state()?;
    finish(
        async { super::service::parts_done(&st, &actor(&st).await?, &upload_id, &parts).await }
            .await,
    )
}

#[server(prefix = "/api", endpoint = "complete_upload", input = Json)]
pub async fn complete_upload(
    upload_id: String,
    sha256: Option<String>,
    parts: Vec<CompletedPart>,
    on_duplicate: Option<OnDuplicate>,
) -> Result<FileEntry, AppError> {
    let st = state()?;
    finish(
        async {
            super::service::complete_upload(
                &st,
                &actor(&st).await?,
                &upload_id,
                sha256.as_deref(),
                &parts,
                on_duplicate,
            )
            .await
        }
        .await,
    )
}

/// The file's SHA-256 from the uploading page's background worker, with the CRC64NVME it
/// computed over the same bytes (checked against the one S3 verified).
#[server(prefix = "/api", endpoint = "attach_sha256")]
pub async fn attach_sha256(
    file_id: String,
    sha256: String,
    crc64nvme: String,
) -> Result<(), AppError> {
    let st = state()?;
    finish(
        async {
            super::service::attach_sha256(&st, &actor(&st).await?, &file_id, &sha256, &crc64nvme)
                .await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "abort_upload")]
pub async fn abort_upload(upload_id: String) -> Result<(), AppError> {
    let st = state()?;
    finish(async { super::service::abort_upload(&st, &actor(&st).await?, &upload_id).await }.await)
}

#[server(prefix = "/api", endpoint = "list_open_uploads")]
pub async fn list_open_uploads(vault_id: String) -> Result<Vec<OpenUpload>, AppError> {
    let st = state()?;
    finish(
        async { super::service::list_open_uploads(&st, &actor(&st).await?, &vault_id).await }.await,
    )
}

#[server(prefix = "/api", endpoint = "resume_upload")]
pub async fn resume_upload(upload_id: String) -> Result<ResumeInfo, AppError> {
    let st = state()?;
    finish(async { super::service::resume_upload(&st, &actor(&st).await?, &upload_id).await }.await)
}

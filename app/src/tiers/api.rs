//! Server functions of restores: thin, each extracts the actor and calls the service.
use super::{RestoreFile, RestorePreview, RestoreRequest};
use crate::error::AppError;
use crate::files::{BulkOutcome, DownloadLink, Selection};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Each restore tier for the selection: cost, usual and latest ready time, or why not.
#[server(prefix = "/api", endpoint = "preview_restore", input = Json)]
pub async fn preview_restore(selection: Selection, days: i64) -> Result<RestorePreview, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::restore_request::preview(&st, &actor(&st).await?, &selection, days).await }
            .await,
    )
}

/// Asks for a restore; answers the request's id and how the files were taken in.
#[server(prefix = "/api", endpoint = "request_restore", input = Json)]
pub async fn request_restore(
    selection: Selection,
    tier: String,
    days: i64,
) -> Result<(String, BulkOutcome), AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::restore_request::request(&st, &actor(&st).await?, selection, &tier, days).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "restore_requests")]
pub async fn restore_requests() -> Result<Vec<RestoreRequest>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::restores::list_requests(&st, &actor(&st).await?).await }.await)
}

#[server(prefix = "/api", endpoint = "restore_request_files")]
pub async fn restore_request_files(request_id: String) -> Result<Vec<RestoreFile>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::restores::request_files(&st, &actor(&st).await?, &request_id).await }.await,
    )
}

/// Links for every restored file of a request, with SHA-256 sums for a manifest.
#[server(prefix = "/api", endpoint = "restore_download_links")]
pub async fn restore_download_links(request_id: String) -> Result<Vec<DownloadLink>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            let actor = actor(&st).await?;
            let (vault_id, file_ids) =
                super::restores::ready_file_ids(&st.db, &actor, &request_id).await?;
            if file_ids.is_empty() {
                return Ok(vec![]);
            }
            let sel = Selection {
                vault_id,
                file_ids,
                ..Default::default()
            };
            crate::files::bulk::download_links(&st, &actor, sel).await
        }
        .await,
    )
}

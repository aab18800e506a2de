//! Server functions of the file browser: thin, each extracts the actor and calls the service.
use super::{
    BulkOp, BulkOutcome, DownloadLink, FileDetails, FileEntry, FolderEntry, ListQuery, Page,
    Selection, TrashEntry,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of a view of a vault (a folder, or a search); `cursor` from the previous page.
#[server(prefix = "/api", endpoint = "list_page", input = Json)]
pub async fn list_page(
    query: ListQuery,
    cursor: Option<String>,
    limit: Option<i64>,
) -> Result<Page, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::service::list_page(
                &st.db,
                &actor(&st).await?,
                &query,
                cursor.as_deref(),
                limit.unwrap_or(100),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "file_details")]
pub async fn get_file_details(file_id: String) -> Result<FileDetails, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::file_details(&st.db, &actor(&st).await?, &file_id).await }.await)
}

#[server(prefix = "/api", endpoint = "create_folder")]
pub async fn create_folder(
    vault_id: String,
    parent_path: String,
    name: String,
) -> Result<FolderEntry, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::service::create_folder(&st, &actor(&st).await?, &vault_id, &parent_path, &name)
                .await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "rename_file")]
pub async fn rename_file(file_id: String, name: String) -> Result<FileEntry, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::service::rename_file(&st, &actor(&st).await?, &file_id, &name).await }.await,
    )
}

/// Renames a folder where it is.
#[server(prefix = "/api", endpoint = "rename_folder")]
pub async fn rename_folder(folder_id: String, name: String) -> Result<FolderEntry, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            let actor = actor(&st).await?;
            super::service::change_folder(&st, &actor, &folder_id, Some(&name), None).await
        }
        .await,
    )
}

/// Folders of a vault whose path contains `text` (the "Move to…" picker).
#[server(prefix = "/api", endpoint = "find_folders")]
pub async fn find_folders(vault_id: String, text: String) -> Result<Vec<FolderEntry>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::service::find_folders(&st.db, &actor(&st).await?, &vault_id, &text).await }
            .await,
    )
}

/// Moves the selection into the folder at `to` ('' for the top level).
#[server(prefix = "/api", endpoint = "move_items", input = Json)]
pub async fn move_items(selection: Selection, to: String) -> Result<BulkOutcome, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::bulk::apply(
                &st,
                &actor(&st).await?,
                super::bulk::BulkAction::Move { to },
                selection,
            )
            .await
        }
        .await,
    )
}

/// Moves the selection to the trash.
#[server(prefix = "/api", endpoint = "trash_items", input = Json)]
pub async fn trash_items(selection: Selection) -> Result<BulkOutcome, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::bulk::apply(
                &st,
                &actor(&st).await?,
                super::bulk::BulkAction::Trash,
                selection,
            )
            .await
        }
        .await,
    )
}

/// What deleting the selection would cost in early-deletion fees (micro-dollars).
#[server(prefix = "/api", endpoint = "deletion_fee", input = Json)]
pub async fn deletion_fee(selection: Selection) -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::deletion_fee(&st, &actor(&st).await?, &selection).await }.await)
}

#[server(prefix = "/api", endpoint = "download_links", input = Json)]
pub async fn download_links(selection: Selection) -> Result<Vec<DownloadLink>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::bulk::download_links(&st, &actor(&st).await?, selection).await }.await)
}

#[server(prefix = "/api", endpoint = "bulk_op")]
pub async fn get_bulk_op(op_id: String) -> Result<BulkOp, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::bulk::get_op(&st, &actor(&st).await?, &op_id).await }.await)
}

#[server(prefix = "/api", endpoint = "list_trash")]
pub async fn list_trash() -> Result<Vec<TrashEntry>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::list_trash(&st.db, &actor(&st).await?).await }.await)
}

#[server(prefix = "/api", endpoint = "restore_files", input = Json)]
pub async fn restore_files(file_ids: Vec<String>) -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::restore_files(&st, &actor(&st).await?, &file_ids).await }.await)
}

/// What emptying the trash now would cost in early-deletion fees (micro-dollars).
#[server(prefix = "/api", endpoint = "trash_fee")]
pub async fn trash_fee() -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::trash_fee(&st, &actor(&st).await?).await }.await)
}

/// Deletes files in the trash for good: the given ones, or all of it.
#[server(prefix = "/api", endpoint = "empty_trash", input = Json)]
pub async fn empty_trash(file_ids: Option<Vec<String>>) -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { super::service::empty_trash(&st, &actor(&st).await?, file_ids.as_deref()).await }
            .await,
    )
}

/// Where the browser stores a file's preview (a small WebP or JPEG it made).
#[server(prefix = "/api", endpoint = "thumbnail_upload", input = Json)]
pub async fn thumbnail_upload(
    file_id: String,
    size: i64,
    content_type: String,
) -> Result<crate::uploads::PartUrl, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::service::thumbnail_upload(&st, &actor(&st).await?, &file_id, size, &content_type)
                .await
        }
        .await,
    )
}

/// The browser stored the preview: the server checks it and shows it from now on.
#[server(prefix = "/api", endpoint = "thumbnail_done")]
pub async fn thumbnail_done(file_id: String) -> Result<(), AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::thumbnail_done(&st, &actor(&st).await?, &file_id).await }.await)
}

/// Moves the selection (folders with everything under them) to another storage class.
#[server(prefix = "/api", endpoint = "change_class", input = Json)]
pub async fn change_class(selection: Selection, to: String) -> Result<BulkOutcome, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            super::bulk::apply(
                &st,
                &actor(&st).await?,
                super::bulk::BulkAction::Class { to },
                selection,
            )
            .await
        }
        .await,
    )
}

/// Each storage class with the selection's monthly cost there and the fees of moving now.
#[server(prefix = "/api", endpoint = "class_preview", input = Json)]
pub async fn class_preview(selection: Selection) -> Result<crate::tiers::ClassPreview, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { crate::tiers::service::class_preview(&st, &actor(&st).await?, &selection).await }
            .await,
    )
}

#[server(prefix = "/api", endpoint = "archive_rules")]
pub async fn archive_rules(vault_id: String) -> Result<Vec<crate::tiers::ArchiveRule>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { crate::tiers::rules::list_rules(&st.db, &actor(&st).await?, &vault_id).await }
            .await,
    )
}

/// Replaces a vault's archiving rules, in order.
#[server(prefix = "/api", endpoint = "save_archive_rules", input = Json)]
pub async fn save_archive_rules(
    vault_id: String,
    rules: Vec<crate::tiers::ArchiveRule>,
) -> Result<Vec<crate::tiers::ArchiveRule>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { crate::tiers::rules::save_rules(&st, &actor(&st).await?, &vault_id, &rules).await }
            .await,
    )
}

/// What each of the vault's rules would move today, and the monthly saving.
#[server(prefix = "/api", endpoint = "preview_archive_rules")]
pub async fn preview_archive_rules(
    vault_id: String,
) -> Result<Vec<crate::tiers::RulePreview>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async { crate::tiers::rules::preview_rules(&st, &actor(&st).await?, &vault_id).await }
            .await,
    )
}

/// Applies the vault's rules now (as a job).
#[server(prefix = "/api", endpoint = "apply_archive_rules")]
pub async fn apply_archive_rules(vault_id: String) -> Result<(), AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { crate::tiers::rules::apply_now(&st, &actor(&st).await?, &vault_id).await }.await)
}

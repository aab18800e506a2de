//! Every `/api/v1` route: check the scope, call the service, answer JSON. Documented with
//! `#[utoipa::path]` so the OpenAPI document lists exactly the routes served.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::errors::{ApiError, ApiJson, ApiQuery, ErrorBody};
use super::key::Key;
use crate::state::ServerState;
use app::core::AppState;
use app::developer::{ApiKey, CreatedKey, Delivery, NewKey, WebhookEndpoint};
use app::error::AppError;
use app::files::bulk::{BulkAction, apply};
use app::files::{
    BulkOp, BulkOutcome, FileDetails, FileEntry, FolderEntry, ListQuery, Selection, Sort,
};
use app::tiers::{RestoreFile, RestorePreview, RestoreRequest};
use app::uploads::{
    CompletedPart, NewUpload, OnDuplicate, PartRequest, PartUrl, ResumeInfo, UploadTicket,
};
use app::vaults::Vault;
use app::workspaces::Role;

type Res<T> = Result<T, ApiError>;

pub fn routes(r: OpenApiRouter<ServerState>) -> OpenApiRouter<ServerState> {
    r.routes(routes!(me))
        .routes(routes!(list_vaults, create_vault))
        .routes(routes!(get_vault, rename_vault, delete_vault))
        .routes(routes!(list_files))
        .routes(routes!(create_folder))
        .routes(routes!(update_folder, delete_folder))
        .routes(routes!(get_file, update_file, delete_file))
        .routes(routes!(restore_from_trash))
        .routes(routes!(download))
        .routes(routes!(attach_sha256))
        .routes(routes!(change_class))
        .routes(routes!(start_upload))
        .routes(routes!(upload_url))
        .routes(routes!(get_upload, abort_upload))
        .routes(routes!(part_urls))
        .routes(routes!(parts_done))
        .routes(routes!(complete_upload))
        .routes(routes!(estimate_restore))
        .routes(routes!(list_restores, request_restore))
        .routes(routes!(get_restore))
        .routes(routes!(get_job))
        .routes(routes!(list_jobs))
        .routes(routes!(usage))
        .routes(routes!(usage_daily))
        .routes(routes!(notifications))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(rotate_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(webhook_deliveries))
        .routes(routes!(redeliver))
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ---- me

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub workspace_id: String,
    pub key: ApiKey,
    /// The key's scopes, as a list.
    pub scopes: Vec<String>,
}

/// The calling key and its workspace.
#[utoipa::path(get, path = "/api/v1/me", tag = "keys",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(st): State<AppState>, key: Key) -> Res<Json<Me>> {
    let k = app::developer::keys::own_key(&st, &key.0).await?;
    Ok(Json(Me {
        workspace_id: key.0.only_workspace().to_string(),
        scopes: k.scope_list(),
        key: k,
    }))
}

// ---- vaults

#[derive(Serialize, ToSchema)]
pub struct VaultList {
    pub vaults: Vec<Vault>,
}

#[derive(Deserialize, ToSchema)]
pub struct VaultName {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Deserialize, IntoParams)]
pub struct Confirm {
    /// The vault's name, typed again.
    pub confirm: String,
}

#[derive(Serialize, ToSchema)]
pub struct Trashed {
    pub trashed_files: i64,
}

/// Every vault the key may see.
#[utoipa::path(get, path = "/api/v1/vaults", tag = "vaults",
    responses((status = 200, body = VaultList), (status = 401, body = ErrorBody)))]
async fn list_vaults(State(st): State<AppState>, key: Key) -> Res<Json<VaultList>> {
    let a = key.with("files:read")?;
    Ok(Json(VaultList {
        vaults: app::vaults::service::list_vaults(&st.db, a).await?,
    }))
}

/// A new vault (scope `admin`).
#[utoipa::path(post, path = "/api/v1/vaults", tag = "vaults", request_body = VaultName,
    responses((status = 201, body = Vault), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_vault(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<VaultName>,
) -> Res<Response> {
    let a = key.with("admin")?;
    Ok(created(
        app::vaults::service::create_vault(&st, a, &b.name).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/vaults/{id}", tag = "vaults",
    params(("id" = String, Path)), responses((status = 200, body = Vault), (status = 404, body = ErrorBody)))]
async fn get_vault(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<Vault>> {
    let a = key.with("files:read")?;
    Ok(Json(app::vaults::service::get_vault(&st.db, a, &id).await?))
}

/// Renames a vault (scope `admin`).
#[utoipa::path(patch, path = "/api/v1/vaults/{id}", tag = "vaults", request_body = VaultName,
    params(("id" = String, Path)), responses((status = 200, body = Vault), (status = 404, body = ErrorBody)))]
async fn rename_vault(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<VaultName>,
) -> Res<Json<Vault>> {
    let a = key.with("admin")?;
    Ok(Json(
        app::vaults::service::rename_vault(&st, a, &id, &b.name).await?,
    ))
}

/// Deletes a vault: its files go to the trash (scope `admin`).
#[utoipa::path(delete, path = "/api/v1/vaults/{id}", tag = "vaults",
    params(("id" = String, Path), Confirm), responses((status = 200, body = Trashed), (status = 422, body = ErrorBody)))]
async fn delete_vault(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiQuery(c): ApiQuery<Confirm>,
) -> Res<Json<Trashed>> {
    let a = key.with("admin")?;
    Ok(Json(Trashed {
        trashed_files: app::vaults::service::delete_vault(&st, a, &id, &c.confirm).await?,
    }))
}

// ---- files and folders

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
pub struct ListParams {
    /// Folder path ('' is the top level).
    pub path: String,
    /// Name search (any part, any case).
    pub q: String,
    /// The whole vault, not just the folder.
    pub everywhere: bool,
    pub class: String,
    pub state: String,
    pub kind: String,
    /// Size range in bytes.
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    /// Modified between these days (YYYY-MM-DD, inclusive, UTC).
    pub from: String,
    pub to: String,
    /// name, size, class, state or modified.
    pub sort: String,
    pub desc: bool,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 500 (default 100).
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub folders: Vec<FolderEntry>,
    pub files: Vec<FileEntry>,
    /// Where the next page starts; null on the last page.
    pub next_cursor: Option<String>,
}

/// A folder's folders and files (or a search), one page at a time.
#[utoipa::path(get, path = "/api/v1/vaults/{id}/files", tag = "files",
    params(("id" = String, Path), ListParams),
    responses((status = 200, body = FileList), (status = 422, body = ErrorBody)))]
async fn list_files(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Res<Json<FileList>> {
    let a = key.with("files:read")?;
    let sort = if p.sort.is_empty() {
        Sort::Name
    } else {
        Sort::parse(&p.sort).ok_or_else(|| {
            AppError::invalid("sort", "Sort by name, size, class, state or modified.")
        })?
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "A page is 1 to 500 entries.").into());
    }
    for (field, day) in [("from", &p.from), ("to", &p.to)] {
        if !day.is_empty() && app::files::parse_day(day).is_none() {
            return Err(AppError::invalid(field, "A day is YYYY-MM-DD.").into());
        }
    }
    let q = ListQuery {
        vault_id: id,
        path: p.path,
        q: p.q,
        everywhere: p.everywhere,
        class: p.class,
        state: p.state,
        kind: p.kind,
        min_size: p.min_size,
        max_size: p.max_size,
        from: p.from,
        to: p.to,
        sort,
        desc: p.desc,
    };
    let page = app::files::service::list_page(&st.db, a, &q, p.cursor.as_deref(), limit).await?;
    Ok(Json(FileList {
        folders: page.folders,
        files: page.files,
        next_cursor: page.next,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewFolder {
    /// `a/b/c`: made with any missing parents.
    #[schema(min_length = 1)]
    pub path: String,
}

/// Makes a folder (and its missing parents).
#[utoipa::path(post, path = "/api/v1/vaults/{id}/folders", tag = "files", request_body = NewFolder,
    params(("id" = String, Path)), responses((status = 201, body = FolderEntry), (status = 422, body = ErrorBody)))]
async fn create_folder(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NewFolder>,
) -> Res<Response> {
    let a = key.with("files:write")?;
    let parts = app::files::check_folder_path(&b.path)?;
    if parts.is_empty() {
        return Err(AppError::invalid("path", "Name the folder to make.").into());
    }
    app::vaults::service::check_vault(&st.db, a, &id, Role::Member).await?;
    // Each missing folder on the way, then the last one (409 when it is there already).
    let mut made = None;
    for depth in 1..=parts.len() {
        let (parents, name) = (&parts[..depth - 1], &parts[depth - 1]);
        let here = parts[..depth].join("/");
        if depth < parts.len()
            && app::files::service::find_folder(&st.db, &id, &here)
                .await?
                .is_some()
        {
            continue;
        }
        made =
            Some(app::files::service::create_folder(&st, a, &id, &parents.join("/"), name).await?);
    }
    Ok(created(made.expect("at least one folder")))
}

#[derive(Deserialize, ToSchema)]
pub struct FolderChange {
    /// A new name.
    pub name: Option<String>,
    /// Another parent folder's path ('' is the top level).
    pub parent_path: Option<String>,
}

/// Renames and/or moves a folder (with everything in it).
#[utoipa::path(patch, path = "/api/v1/folders/{id}", tag = "files", request_body = FolderChange,
    params(("id" = String, Path)), responses((status = 200, body = FolderEntry), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_folder(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FolderChange>,
) -> Res<Json<FolderEntry>> {
    let a = key.with("files:write")?;
    if b.name.is_none() && b.parent_path.is_none() {
        return Err(AppError::invalid("body", "Send a name, a parent_path or both.").into());
    }
    Ok(Json(
        app::files::service::change_folder(
            &st,
            a,
            &id,
            b.name.as_deref(),
            b.parent_path.as_deref(),
        )
        .await?,
    ))
}

/// Deletes a folder: every file under it goes to the trash (200 when done, 202 when queued).
#[utoipa::path(delete, path = "/api/v1/folders/{id}", tag = "files",
    params(("id" = String, Path)), responses((status = 200, body = Outcome), (status = 202, body = Outcome), (status = 404, body = ErrorBody)))]
async fn delete_folder(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Response> {
    let a = key.with("files:write")?;
    let vault_id = app::files::service::folder_vault(&st.db, a, &id).await?;
    let sel = Selection {
        vault_id,
        folder_ids: vec![id],
        ..Selection::default()
    };
    outcome(apply(&st, a, BulkAction::Trash, sel).await?)
}

/// A bulk action's answer: 200 when done, 202 with the job when queued.
fn outcome(o: BulkOutcome) -> Res<Response> {
    let status = match o {
        BulkOutcome::Queued { .. } => StatusCode::ACCEPTED,
        BulkOutcome::Done { .. } => StatusCode::OK,
    };
    Ok((status, Json(Outcome::from(o))).into_response())
}

/// One file: its record, SHA-256, monthly cost, history.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path)), responses((status = 200, body = FileDetails), (status = 404, body = ErrorBody)))]
async fn get_file(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<FileDetails>> {
    let a = key.with("files:read")?;
    Ok(Json(
        app::files::service::file_details(&st.db, a, &id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct FileChange {
    /// A new name.
    pub name: Option<String>,
    /// Another folder ('' is the top level).
    pub folder_path: Option<String>,
}

/// Renames and/or moves a file.
#[utoipa::path(patch, path = "/api/v1/files/{id}", tag = "files", request_body = FileChange,
    params(("id" = String, Path)), responses((status = 200, body = FileEntry), (status = 409, body = ErrorBody)))]
async fn update_file(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FileChange>,
) -> Res<Json<FileEntry>> {
    let a = key.with("files:write")?;
    if b.name.is_none() && b.folder_path.is_none() {
        return Err(AppError::invalid("body", "Send a name, a folder_path or both.").into());
    }
    let f = app::files::service::get_file(&st.db, a, &id, Role::Member).await?;
    if let Some(to) = b.folder_path {
        let sel = Selection {
            vault_id: f.vault_id.clone(),
            file_ids: vec![f.id.clone()],
            ..Selection::default()
        };
        apply(&st, a, BulkAction::Move { to }, sel).await?;
    }
    if let Some(name) = b.name {
        app::files::service::rename_file(&st, a, &id, &name).await?;
    }
    Ok(Json(app::files::service::entry(&st.db, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct TrashedOne {
    pub trashed: i64,
}

/// Moves a file to the trash (kept 7 days).
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path)), responses((status = 200, body = TrashedOne), (status = 404, body = ErrorBody)))]
async fn delete_file(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<TrashedOne>> {
    let a = key.with("files:write")?;
    let f = app::files::service::get_file(&st.db, a, &id, Role::Member).await?;
    let sel = Selection {
        vault_id: f.vault_id,
        file_ids: vec![f.id],
        ..Selection::default()
    };
    let n = match apply(&st, a, BulkAction::Trash, sel).await? {
        BulkOutcome::Done { files, .. } => files,
        BulkOutcome::Queued { total, .. } => total,
    };
    Ok(Json(TrashedOne { trashed: n }))
}

#[derive(Deserialize, ToSchema)]
pub struct FileIds {
    pub file_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Restored {
    pub restored: i64,
}

/// Brings files back from the trash (at most 1,000 ids).
#[utoipa::path(post, path = "/api/v1/trash/restore", tag = "files", request_body = FileIds,
    responses((status = 200, body = Restored), (status = 422, body = ErrorBody)))]
async fn restore_from_trash(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<FileIds>,
) -> Res<Json<Restored>> {
    let a = key.with("files:write")?;
    Ok(Json(Restored {
        restored: app::files::service::restore_files(&st, a, &b.file_ids).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct Sha256Attach {
    /// Hex SHA-256 of the whole file.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
    /// Base64 CRC64NVME computed over the same bytes: it must be the one storage verified.
    #[schema(pattern = "^[A-Za-z0-9+/]{11}=$")]
    pub crc64nvme: String,
}

/// Records a file's SHA-256 after its upload (only its uploader, once; the CRC64NVME computed
/// in the same pass must be the stored object's).
#[utoipa::path(post, path = "/api/v1/files/{id}/sha256", tag = "files", request_body = Sha256Attach,
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn attach_sha256(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Sha256Attach>,
) -> Res<StatusCode> {
    let a = key.with("files:write")?;
    app::uploads::service::attach_sha256(&st, a, &id, &b.sha256, &b.crc64nvme).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DownloadUrl {
    /// A presigned GET of the file, valid `expires_in_secs`.
    pub url: String,
    pub expires_in_secs: u64,
}

/// A short-lived download link (409 while the file is archived: restore it first).
#[utoipa::path(get, path = "/api/v1/files/{id}/download", tag = "files",
    params(("id" = String, Path)), responses((status = 200, body = DownloadUrl), (status = 409, body = ErrorBody)))]
async fn download(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<DownloadUrl>> {
    let a = key.with("files:read")?;
    let url = app::downloads::service::download_url(&st, a, &id).await?;
    Ok(Json(DownloadUrl {
        url,
        expires_in_secs: st.config.presign_ttl_secs,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ClassChange {
    /// STANDARD, STANDARD_IA, GLACIER_IR, GLACIER or DEEP_ARCHIVE (those the plan has).
    #[schema(pattern = "^(STANDARD|STANDARD_IA|GLACIER_IR|GLACIER|DEEP_ARCHIVE)$")]
    pub storage_class: String,
}

#[derive(Serialize, ToSchema)]
pub struct Outcome {
    /// Files done at once.
    pub files: Option<i64>,
    /// Or: the job doing it (`GET /api/v1/jobs/{id}`), and how many it has to do.
    pub job_id: Option<String>,
    pub total: Option<i64>,
}

impl From<BulkOutcome> for Outcome {
    fn from(o: BulkOutcome) -> Self {
        match o {
            BulkOutcome::Done { files, .. } => Outcome {
                files: Some(files),
                job_id: None,
                total: None,
            },
            BulkOutcome::Queued { op_id, total } => Outcome {
                files: None,
                job_id: Some(op_id),
                total: Some(total),
            },
        }
    }
}

/// Moves a file to another storage class (200 when done, 202 when queued as a job).
#[utoipa::path(post, path = "/api/v1/files/{id}/class", tag = "files", request_body = ClassChange,
    params(("id" = String, Path)),
    responses((status = 200, body = Outcome), (status = 202, body = Outcome, description = "Queued as a job"),
        (status = 402, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_class(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ClassChange>,
) -> Res<Response> {
    let a = key.with("files:write")?;
    let f = app::files::service::get_file(&st.db, a, &id, Role::Member).await?;
    let sel = Selection {
        vault_id: f.vault_id,
        file_ids: vec![f.id],
        ..Selection::default()
    };
    let to = b.storage_class;
    outcome(apply(&st, a, BulkAction::Class { to }, sel).await?)
}

// ---- uploads

/// Starts a multipart upload (any size). Then: part URLs, PUT the parts, complete.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", request_body = NewUpload,
    responses((status = 201, body = UploadTicket), (status = 409, body = ErrorBody), (status = 402, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_upload(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<NewUpload>,
) -> Res<Response> {
    let a = key.with("files:write")?;
    let ticket = app::uploads::service::start_upload(&st, a, &b).await?;
    Ok(created(ticket))
}

#[derive(Deserialize, ToSchema)]
pub struct SmallUpload {
    #[serde(flatten)]
    pub file: NewUpload,
    /// Base64 CRC64NVME of the whole file (it is the one part).
    #[schema(pattern = "^[A-Za-z0-9+/]{11}=$")]
    pub checksum: String,
}

#[derive(Serialize, ToSchema)]
pub struct SmallUploadUrl {
    pub upload_id: String,
    pub file_id: String,
    pub name: String,
    /// PUT the file's bytes here, with every header below; then complete the upload with
    /// part 1 and the ETag the PUT answered.
    pub url: String,
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
}

/// One presigned PUT for a file of up to one part (8 MiB).
#[utoipa::path(post, path = "/api/v1/upload-url", tag = "uploads", request_body = SmallUpload,
    responses((status = 201, body = SmallUploadUrl), (status = 422, body = ErrorBody)))]
async fn upload_url(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<SmallUpload>,
) -> Res<Response> {
    let a = key.with("files:write")?;
    if b.file.size > app::uploads::MIN_PART_SIZE {
        return Err(AppError::invalid(
            "size",
            "upload-url takes files up to 8 MiB; start a multipart upload (POST /api/v1/uploads) for larger ones.",
        )
        .into());
    }
    let ticket = app::uploads::service::start_upload(&st, a, &b.file).await?;
    let urls = app::uploads::service::presign_parts(
        &st,
        a,
        &ticket.upload_id,
        &[PartRequest {
            number: 1,
            checksum: b.checksum,
        }],
    )
    .await;
    let mut urls = match urls {
        Ok(u) => u,
        Err(e) => {
            // A bad checksum leaves no upload behind.
            let _ = app::uploads::service::abort_upload(&st, a, &ticket.upload_id).await;
            return Err(e.into());
        }
    };
    let part = urls.remove(0);
    Ok(created(SmallUploadUrl {
        upload_id: ticket.upload_id,
        file_id: ticket.file_id,
        name: ticket.name,
        url: part.url,
        headers: part.headers,
    }))
}

/// An unfinished upload and the parts already stored (to resume it).
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path)), responses((status = 200, body = ResumeInfo), (status = 404, body = ErrorBody)))]
async fn get_upload(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<ResumeInfo>> {
    let a = key.with("files:write")?;
    Ok(Json(
        app::uploads::service::resume_upload(&st, a, &id).await?,
    ))
}

/// Aborts an upload: its parts are deleted.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn abort_upload(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let a = key.with("files:write")?;
    app::uploads::service::abort_upload(&st, a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PartsAsked {
    /// 1 to 100 parts, each with its base64 checksum of the upload's `checksum_algorithm`
    /// (CRC64NVME), signed into its URL.
    #[schema(min_items = 1, max_items = 100)]
    pub parts: Vec<PartRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

/// Presigned PUT URLs for parts (each exact in size and checksum, short-lived).
#[utoipa::path(post, path = "/api/v1/uploads/{id}/parts", tag = "uploads", request_body = PartsAsked,
    params(("id" = String, Path)), responses((status = 200, body = PartUrls), (status = 422, body = ErrorBody)))]
async fn part_urls(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PartsAsked>,
) -> Res<Json<PartUrls>> {
    let a = key.with("files:write")?;
    Ok(Json(PartUrls {
        parts: app::uploads::service::presign_parts(&st, a, &id, &b.parts).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PartsStored {
    pub parts: Vec<CompletedPart>,
}

/// Records parts stored (their ETags), so a resumed upload skips them.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/parts/done", tag = "uploads", request_body = PartsStored,
    params(("id" = String, Path)), responses((status = 204), (status = 422, body = ErrorBody)))]
async fn parts_done(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PartsStored>,
) -> Res<StatusCode> {
    let a = key.with("files:write")?;
    app::uploads::service::parts_done(&st, a, &id, &b.parts).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct Completion {
    /// Hex SHA-256 of the whole file, when the upload's `record_sha256` asks for it (it may
    /// also be attached later: `POST /api/v1/files/{id}/sha256`).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
    /// Every part of the upload, each once.
    #[schema(min_items = 1, max_items = 10000)]
    pub parts: Vec<CompletedPart>,
    pub on_duplicate: Option<OnDuplicate>,
}

/// Completes an upload: S3 assembles the parts; the file becomes available.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/complete", tag = "uploads", request_body = Completion,
    params(("id" = String, Path)), responses((status = 200, body = FileEntry), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_upload(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Completion>,
) -> Res<Json<FileEntry>> {
    let a = key.with("files:write")?;
    Ok(Json(
        app::uploads::service::complete_upload(
            &st,
            a,
            &id,
            b.sha256.as_deref(),
            &b.parts,
            b.on_duplicate,
        )
        .await?,
    ))
}

// ---- restores

#[derive(Deserialize, ToSchema)]
pub struct RestoreAsk {
    /// Files of one vault (at most 10,000).
    #[schema(min_items = 1, max_items = 10000)]
    pub file_ids: Vec<String>,
    /// Days the restored copies stay (1 to 365).
    #[schema(minimum = 1, maximum = 365)]
    pub days: i64,
    /// Expedited, Standard or Bulk (for a request).
    #[serde(default)]
    #[schema(pattern = "^(|Expedited|Standard|Bulk)$")]
    pub tier: String,
}

/// The selection of the files' vault (their first file's; the service refuses others).
async fn selection(st: &AppState, a: &app::core::Actor, ids: Vec<String>) -> Res<Selection> {
    app::files::check_id_list("file_ids", ids.len(), app::files::MAX_SELECTED_FILES)?;
    let Some(first) = ids.first() else {
        return Err(AppError::invalid("file_ids", "Name at least one file.").into());
    };
    let f = app::files::service::get_file(&st.db, a, first, Role::Viewer).await?;
    Ok(Selection {
        vault_id: f.vault_id,
        file_ids: ids,
        ..Selection::default()
    })
}

/// What restoring the files would cost and take with each tier.
#[utoipa::path(post, path = "/api/v1/restores/estimate", tag = "restores", request_body = RestoreAsk,
    responses((status = 200, body = RestorePreview), (status = 422, body = ErrorBody)))]
async fn estimate_restore(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<RestoreAsk>,
) -> Res<Json<RestorePreview>> {
    let a = key.with("files:read")?;
    let sel = selection(&st, a, b.file_ids).await?;
    Ok(Json(
        app::tiers::restore_request::preview(&st, a, &sel, b.days).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RestoreAsked {
    pub request_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Asks for a restore (it costs what the estimate says).
#[utoipa::path(post, path = "/api/v1/restores", tag = "restores", request_body = RestoreAsk,
    responses((status = 201, body = RestoreAsked), (status = 402, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn request_restore(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<RestoreAsk>,
) -> Res<Response> {
    let a = key.with("restores:write")?;
    let sel = selection(&st, a, b.file_ids).await?;
    let (request_id, outcome) =
        app::tiers::restore_request::request(&st, a, sel, &b.tier, b.days).await?;
    Ok(created(RestoreAsked {
        request_id,
        outcome: outcome.into(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RestoreView {
    #[serde(flatten)]
    pub request: RestoreRequest,
    /// In progress, Partly ready, Ready, Expired, Failed.
    pub state: String,
}

impl From<RestoreRequest> for RestoreView {
    fn from(r: RestoreRequest) -> Self {
        RestoreView {
            state: r.state().to_string(),
            request: r,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RestoreList {
    pub restores: Vec<RestoreView>,
}

/// Restore requests, newest first (200).
#[utoipa::path(get, path = "/api/v1/restores", tag = "restores",
    responses((status = 200, body = RestoreList)))]
async fn list_restores(State(st): State<AppState>, key: Key) -> Res<Json<RestoreList>> {
    let a = key.with("files:read")?;
    let list = app::tiers::restores::list_requests(&st, a).await?;
    Ok(Json(RestoreList {
        restores: list.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RestoreDetail {
    pub restore: RestoreView,
    pub files: Vec<RestoreFile>,
}

/// One restore request and its files.
#[utoipa::path(get, path = "/api/v1/restores/{id}", tag = "restores",
    params(("id" = String, Path)), responses((status = 200, body = RestoreDetail), (status = 404, body = ErrorBody)))]
async fn get_restore(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<RestoreDetail>> {
    let a = key.with("files:read")?;
    let files = app::tiers::restores::request_files(&st, a, &id).await?;
    let request = app::tiers::restores::get_request(&st, a, &id).await?;
    Ok(Json(RestoreDetail {
        restore: request.into(),
        files,
    }))
}

// ---- jobs, usage, notifications

/// A queued bulk job's progress.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path)), responses((status = 200, body = BulkOp), (status = 404, body = ErrorBody)))]
async fn get_job(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<BulkOp>> {
    let a = key.with("files:read")?;
    Ok(Json(app::files::bulk::get_op(&st, a, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<BulkOp>,
}

/// The key maker's latest bulk jobs in this workspace (100), newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", responses((status = 200, body = JobList)))]
async fn list_jobs(State(st): State<AppState>, key: Key) -> Res<Json<JobList>> {
    let a = key.with("files:read")?;
    Ok(Json(JobList {
        jobs: app::files::bulk::list_ops(&st, a).await?,
    }))
}

/// Each day's storage, cost and retrievals per vault and class, as CSV (rolled-up days,
/// then today so far).
#[utoipa::path(get, path = "/api/v1/usage/daily", tag = "usage",
    responses((status = 200, content_type = "text/csv", body = String)))]
async fn usage_daily(State(st): State<AppState>, key: Key) -> Res<Response> {
    let a = key.with("billing:read")?;
    let csv = app::usage::service::daily_csv(&st, a).await?;
    Ok((
        [(http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        csv,
    )
        .into_response())
}

/// The workspace's storage and cost: by class, this month, the months before, retrievals.
#[utoipa::path(get, path = "/api/v1/usage", tag = "usage",
    responses((status = 200, body = Object, description = "The usage summary")))]
async fn usage(State(st): State<AppState>, key: Key) -> Res<Json<serde_json::Value>> {
    let a = key.with("billing:read")?;
    let s = app::usage::service::summary(&st, a).await?;
    Ok(Json(serde_json::to_value(s).map_err(AppError::internal)?))
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<app::notify::Notification>,
}

/// The key maker's latest notifications (scope `admin`, a key of their own workspace).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    responses((status = 200, body = NotificationList)))]
async fn notifications(State(st): State<AppState>, key: Key) -> Res<Json<NotificationList>> {
    let a = key.with("admin")?;
    // Notifications are the person's, across workspaces: only a key of their own
    // workspace, with the run of it, reads them.
    let (own, _) =
        app::usage::service::own_workspace(&st.db, &app::core::Actor::job_for(a.user_id())).await?;
    let list = if own == a.only_workspace() && a.only_vault().is_empty() {
        app::notify::service::list(&st, a).await?
    } else {
        Vec::new()
    };
    Ok(Json(NotificationList {
        notifications: list,
    }))
}

// ---- keys

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<ApiKey>,
}

/// The workspace's keys (scope `admin`).
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", responses((status = 200, body = KeyList), (status = 403, body = ErrorBody)))]
async fn list_keys(State(st): State<AppState>, key: Key) -> Res<Json<KeyList>> {
    let a = key.with("admin")?;
    Ok(Json(KeyList {
        keys: app::developer::keys::list_keys(&st, a).await?,
    }))
}

/// Makes a key; its secret is in this answer only (scope `admin`).
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 422, body = ErrorBody)))]
async fn create_key(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<NewKey>,
) -> Res<Response> {
    let a = key.with("admin")?;
    Ok(created(app::developer::keys::create_key(&st, a, &b).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Rotation {
    /// How long the old secret keeps working (0 to 604800 s).
    #[serde(default)]
    pub grace_secs: i64,
}

/// A new secret for a key; the old one works `grace_secs` more (scope `admin`).
#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = "keys", request_body = Rotation,
    params(("id" = String, Path)), responses((status = 200, body = CreatedKey), (status = 409, body = ErrorBody)))]
async fn rotate_key(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Rotation>,
) -> Res<Json<CreatedKey>> {
    let a = key.with("admin")?;
    Ok(Json(
        app::developer::keys::rotate_key(&st, a, &id, b.grace_secs).await?,
    ))
}

/// Revokes a key at once (scope `admin`).
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let a = key.with("admin")?;
    app::developer::keys::revoke_key(&st, a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- webhooks

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookEndpoint>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewWebhook {
    #[schema(min_length = 1)]
    pub url: String,
    #[schema(min_items = 1)]
    pub events: Vec<String>,
}

/// The workspace's webhook endpoints (scope `admin`).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = WebhookList)))]
async fn list_webhooks(State(st): State<AppState>, key: Key) -> Res<Json<WebhookList>> {
    let a = key.with("admin")?;
    Ok(Json(WebhookList {
        webhooks: app::developer::webhooks::list_endpoints(&st, a).await?,
    }))
}

/// Adds an endpoint; the answer carries its signing secret (scope `admin`).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookEndpoint), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(st): State<AppState>,
    key: Key,
    ApiJson(b): ApiJson<NewWebhook>,
) -> Res<Response> {
    let a = key.with("admin")?;
    Ok(created(
        app::developer::webhooks::create_endpoint(&st, a, &b.url, &b.events).await?,
    ))
}

/// Deletes an endpoint (scope `admin`).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let a = key.with("admin")?;
    app::developer::webhooks::delete_endpoint(&st, a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// An endpoint's latest deliveries (scope `admin`).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path)), responses((status = 200, body = DeliveryList), (status = 404, body = ErrorBody)))]
async fn webhook_deliveries(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<Json<DeliveryList>> {
    let a = key.with("admin")?;
    Ok(Json(DeliveryList {
        deliveries: app::developer::webhooks::list_deliveries(&st, a, &id).await?,
    }))
}

/// Sends a delivery's event again (scope `admin`).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path)), responses((status = 202), (status = 404, body = ErrorBody)))]
async fn redeliver(
    State(st): State<AppState>,
    key: Key,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let a = key.with("admin")?;
    app::developer::webhooks::redeliver(&st, a, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

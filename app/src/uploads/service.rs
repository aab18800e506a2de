use super::{
    CompletedPart, MAX_FILE_SIZE, NewUpload, OnDuplicate, OpenUpload, PartChecksum, PartRequest,
    PartUrl, ResumeInfo, StoredPart, UPLOAD_PART_CHECKSUM, UploadTicket, part_count, part_len,
    part_size_for, type_allowed,
};
use crate::core::{Actor, AppState, Db, new_id};
use crate::error::AppError;
use crate::files::{FileEntry, check_file_name, check_folder_path, service as files};
use crate::format;
use crate::workspaces::{Role, service::require_role, service::require_role_in};

/// A claim to complete or cancel an upload older than this is a crashed process's.
const CLAIM_TIMEOUT_MS: i64 = 10 * 60_000;
/// Unfinished uploads one person may have at once (each holds parts S3 bills for).
const MAX_OPEN_UPLOADS_PER_USER: i64 = 1000;
/// Most part URLs handed out in one call.
const MAX_PARTS_PER_PRESIGN: usize = 100;

#[derive(sqlx::FromRow, Debug)]
struct UploadRow {
    id: String,
    file_id: String,
    workspace_id: String,
    vault_id: String,
    folder_id: Option<String>,
    s3_upload_id: String,
    part_size: i64,
    part_count: i64,
    completed_at: Option<i64>,
    expires_at: i64,
    s3_key: String,
    size: i64,
    name: String,
    created_by: String,
    part_checksum: String,
}

impl UploadRow {
    /// The checksum its parts carry; an upload started before CRC32 parts keeps SHA-256.
    fn sum(&self) -> PartChecksum {
        PartChecksum::from_name(&self.part_checksum).unwrap_or(PartChecksum::Sha256)
    }
}

fn check_content_type(ct: &str) -> Result<String, AppError> {
    let ct = ct.trim();
    if ct.is_empty() {
        return Ok("application/octet-stream".into());
    }
    let ok = ct.len() <= 200
        && ct
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if ok {
        Ok(ct.to_string())
    } else {
        Err(AppError::invalid("content_type", "Not a media type."))
    }
}

/// A whole file's CRC64NVME as S3 carries it (base64 of 8 bytes).
fn check_crc64(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if PartChecksum::Crc64Nvme.is_valid(s) {
        Ok(s.to_string())
    } else {
        Err(AppError::invalid(
            "crc64nvme",
            "The file's CRC64NVME must be base64 of 8 bytes.",
        ))
    }
}

fn check_sha256_hex(s: &str) -> Result<String, AppError> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(AppError::invalid(
            "sha256",
            "The file's SHA-256 must be 64 hex digits.",
        ))
    }
}

/// How long an unfinished upload may sit without activity before it is abandoned.
fn abandon_after_ms(st: &AppState) -> i64 {
    st.config.upload_abandon_hours * 3_600_000
}

/// A file's content as duplicates are matched: its size and whichever of its whole-file
/// checksums are known (the CRC64NVME S3 verified, the SHA-256 the browser reported).
struct Content<'a> {
    size: i64,
    sha256: Option<&'a str>,
    crc64nvme: Option<&'a str>,
}

/// A live file in the folder with this content, if any (not `except`): the same size and the
/// same CRC64NVME or SHA-256. A match is only offered to the person as a possible duplicate;
/// nothing is skipped without asking, so a CRC's weaker collision resistance costs at most a
/// question (and the size must match too).
async fn find_duplicate(
    db: &Db,
    vault_id: &str,
    folder_id: Option<&str>,
    content: &Content<'_>,
    except: &str,
) -> Result<Option<(String, String)>, AppError> {
    if content.sha256.is_none() && content.crc64nvme.is_none() {
        return Ok(None);
    }
    Ok(sqlx::query_as(
        "SELECT id, name FROM files
         WHERE vault_id = $1 AND COALESCE(folder_id, '') = $2 AND size = $4
           AND (sha256 = $3 OR crc64nvme = $6)
           AND id <> $5 AND state <> 'uploading' AND deleted_at IS NULL
         ORDER BY created_at LIMIT 1",
    )
    .bind(vault_id)
    .bind(folder_id.unwrap_or(""))
    .bind(content.sha256.unwrap_or(""))
    .bind(content.size)
    .bind(except)
    .bind(content.crc64nvme.unwrap_or(""))
    .fetch_optional(&db.pool)
    .await?)
}

/// Starts a multipart upload into a vault: checks the person's role and the vault's upload
/// rules before any byte moves, finds a duplicate when the content's hash is known, makes the
/// folders, the file row (state `uploading`) and the S3 multipart upload under a server-made
/// key.
pub async fn start_upload(
    st: &AppState,
    actor: &Actor,
    req: &NewUpload,
) -> Result<UploadTicket, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, &req.vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    let name = check_file_name(&req.name)?;
    let content_type = check_content_type(&req.content_type)?;
    let size = req.size;
    if !(0..=MAX_FILE_SIZE).contains(&size) {
        return Err(AppError::invalid("size", "A file can be at most 5 TiB."));
    }
    if let Some(max) = vault.max_file_size
        && size > max
    {
        return Err(AppError::invalid(
            "size",
            format!(
                "“{name}” is {}; this vault takes files up to {}.",
                format::bytes(size),
                format::bytes(max)
            ),
        ));
    }
    if !type_allowed(&vault.allowed_types, &content_type, &name) {
        return Err(AppError::invalid(
            "content_type",
            format!(
                "“{name}” ({content_type}) is not a type this vault takes: {}.",
                vault.allowed_types
            ),
        ));
    }
    let folders = check_folder_path(&req.folder_path)?;
    let folder_path = folders.join("/");
    let sha256 = req.sha256.as_deref().map(check_sha256_hex).transpose()?;
    let crc64nvme = req.crc64nvme.as_deref().map(check_crc64).transpose()?;

    // A duplicate can only be in a folder that exists already.
    let existing_folder = files::find_folder(&st.db, &vault.id, &folder_path).await?;
    let content = Content {
        size,
        sha256: sha256.as_deref(),
        crc64nvme: crc64nvme.as_deref(),
    };
    if (folder_path.is_empty() || existing_folder.is_some())
        && req.on_duplicate.is_none()
        && let Some((id, dup)) =
            find_duplicate(&st.db, &vault.id, existing_folder.as_deref(), &content, "").await?
    {
        return Err(AppError::Duplicate {
            name: dup,
            file_id: id,
        });
    }

    let (open,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM uploads WHERE created_by = $1 AND completed_at IS NULL",
    )
    .bind(actor.user_id())
    .fetch_one(&st.db.pool)
    .await?;
    if open >= MAX_OPEN_UPLOADS_PER_USER {
        return Err(AppError::conflict(format!(
            "You have {open} unfinished uploads. Finish or cancel some before starting more."
        )));
    }

    // The plan's storage and class, before any S3 request (read once: the reservation below
    // checks the storage again under its lock).
    let plan = crate::usage::service::plan_for(st, &vault.workspace_id).await?;
    crate::usage::service::check_upload(&st.db, &plan, &vault.workspace_id, size, 0).await?;
    crate::usage::service::class_in_plan(&plan, &vault.default_storage_class)?;
    crate::billing::service::check_dunning(st, &vault.workspace_id).await?;

    let now = st.clock.now_ms();
    let folder_id = files::ensure_folder_path(
        &st.db,
        &vault.workspace_id,
        &vault.id,
        &folders,
        actor.user_id(),
        now,
    )
    .await?;
    let name = if req.on_duplicate == Some(OnDuplicate::Replace) {
        name
    } else {
        files::free_name_in(&st.db.pool, &vault.id, folder_id.as_deref(), &name, "").await?
    };
    let file_id = new_id();
    let key = format!("ws/{}/{}/{}", vault.workspace_id, vault.id, file_id);
    let part_size = part_size_for(size);
    let parts = part_count(size, part_size);
    let s3_upload_id = st
        .storage
        .create_multipart(
            &key,
            &content_type,
            &vault.default_storage_class,
            UPLOAD_PART_CHECKSUM,
        )
        .await?;

    let upload_id = new_id();
    let recorded = async {
        let mut tx = st.db.begin().await?;
        // The plan's check again, now holding the workspace's reservation lock: parallel
        // starts that passed the quick check above cannot all be recorded past the plan.
        crate::usage::service::reserve_upload(
            &st.db,
            &mut tx,
            &plan,
            &vault.workspace_id,
            size,
        )
        .await?;
        sqlx::query(
            "INSERT INTO files (id, workspace_id, vault_id, folder_id, name, size, content_type,
                sha256, s3_key, storage_class, state, created_by, created_at, updated_at,
                class_changed_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'uploading', $11, $12, $12, $12, $13)",
        )
        .bind(&file_id)
        .bind(&vault.workspace_id)
        .bind(&vault.id)
        .bind(&folder_id)
        .bind(&name)
        .bind(size)
        .bind(&content_type)
        .bind(&sha256)
        .bind(&key)
        .bind(&vault.default_storage_class)
        .bind(actor.user_id())
        .bind(now)
        .bind(crate::files::kind_of(&content_type, &name))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO uploads (id, file_id, workspace_id, s3_upload_id, part_size, part_count,
                created_by, created_at, updated_at, expires_at, last_modified, folder_path,
                part_checksum)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12)",
        )
        .bind(&upload_id)
        .bind(&file_id)
        .bind(&vault.workspace_id)
        .bind(&s3_upload_id)
        .bind(part_size)
        .bind(parts)
        .bind(actor.user_id())
        .bind(now)
        .bind(now + abandon_after_ms(st))
        .bind(req.last_modified)
        .bind(&folder_path)
        .bind(UPLOAD_PART_CHECKSUM.name())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<(), AppError>(())
    }
    .await;
    if let Err(e) = recorded {
        // No row will ever name this S3 upload: drop it now rather than leave billed parts.
        st.storage.abort_multipart(&key, &s3_upload_id).await.ok();
        return Err(e);
    }
    tracing::info!(%upload_id, %file_id, size, parts, "upload started");
    Ok(UploadTicket {
        upload_id,
        file_id,
        name,
        part_size,
        part_count: parts,
        checksum_algorithm: UPLOAD_PART_CHECKSUM.name().into(),
        record_sha256: crate::vaults::records_sha256(&vault.sha256_mode, size),
    })
}

const UPLOAD_SELECT: &str = "SELECT u.id, u.file_id, u.workspace_id, f.vault_id, f.folder_id,
        u.s3_upload_id, u.part_size, CAST(u.part_count AS BIGINT) AS part_count, u.completed_at,
        u.expires_at, f.s3_key, f.size, f.name, u.created_by, u.part_checksum
    FROM uploads u JOIN files f ON f.id = u.file_id";

async fn load_upload(st: &AppState, actor: &Actor, upload_id: &str) -> Result<UploadRow, AppError> {
    let sql = format!("{UPLOAD_SELECT} WHERE u.id = $1");
    let row: UploadRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(upload_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require_role_in(
        &st.db,
        actor,
        &row.workspace_id,
        &row.vault_id,
        Role::Member,
    )
    .await?;
    Ok(row)
}

/// Refuses to go on with an upload left unfinished past its lifetime (the sweep aborts it).
fn check_not_expired(st: &AppState, up: &UploadRow) -> Result<(), AppError> {
    if up.completed_at.is_none() && up.expires_at <= st.clock.now_ms() {
        return Err(AppError::conflict(
            "This upload was left unfinished for too long and has expired. Start it again.",
        ));
    }
    Ok(())
}

/// Marks the upload active now: the abandoned-upload job leaves it alone for a while longer.
async fn touch(st: &AppState, upload_id: &str) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    sqlx::query("UPDATE uploads SET updated_at = $1, expires_at = $2 WHERE id = $3")
        .bind(now)
        .bind(now + abandon_after_ms(st))
        .bind(upload_id)
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

fn open_only(up: &UploadRow) -> Result<(), AppError> {
    if up.completed_at.is_some() {
        Err(AppError::conflict("This upload is already complete."))
    } else {
        Ok(())
    }
}

/// Presigned PUT URLs for the given parts: each signs the exact key, upload id, part number,
/// content length and the part's checksum, and lives at most the configured TTL. The declared
/// checksum is recorded: it is what the completed object is checked against.
pub async fn presign_parts(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
    parts: &[PartRequest],
) -> Result<Vec<PartUrl>, AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    open_only(&up)?;
    check_not_expired(st, &up)?;
    if parts.is_empty() || parts.len() > MAX_PARTS_PER_PRESIGN {
        return Err(AppError::invalid(
            "parts",
            "Ask for 1 to 100 parts at a time.",
        ));
    }
    for p in parts {
        if !(1..=up.part_count).contains(&p.number) {
            return Err(AppError::invalid(
                "parts",
                format!("Part {} is not part of this upload.", p.number),
            ));
        }
        if !up.sum().is_valid(&p.checksum) {
            return Err(AppError::invalid(
                "parts",
                format!(
                    "Part {} needs its {} checksum (base64).",
                    p.number,
                    up.sum().name()
                ),
            ));
        }
    }
    let now = st.clock.now_ms();
    let mut urls = Vec::with_capacity(parts.len());
    for p in parts {
        let size = part_len(up.size, up.part_size, p.number);
        // A part signed again with other content (the file changed) is not stored yet.
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, part_number, size, checksum, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (upload_id, part_number) DO UPDATE SET
                etag = CASE WHEN upload_parts.checksum = excluded.checksum THEN upload_parts.etag ELSE NULL END,
                stored_at = CASE WHEN upload_parts.checksum = excluded.checksum THEN upload_parts.stored_at ELSE NULL END,
                checksum = excluded.checksum",
        )
        .bind(&up.id)
        .bind(p.number)
        .bind(size)
        .bind(&p.checksum)
        .bind(now)
        .execute(&st.db.pool)
        .await?;
        let signed = st
            .storage
            .presign_upload_part(
                &up.s3_key,
                &up.s3_upload_id,
                p.number as i32,
                size,
                Some((up.sum(), &p.checksum)),
                st.config.presign_ttl_secs,
            )
            .await?;
        urls.push(PartUrl {
            number: p.number,
            size,
            url: signed.url,
            headers: signed.headers,
        });
    }
    touch(st, &up.id).await?;
    Ok(urls)
}

/// Records parts the browser has stored (S3 answered with these ETags). Each report counts:
/// a part reported twice was sent twice.
pub async fn parts_done(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
    parts: &[CompletedPart],
) -> Result<(), AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    open_only(&up)?;
    if parts.len() > MAX_PARTS_PER_PRESIGN {
        return Err(AppError::invalid(
            "parts",
            "Report at most 100 parts at a time.",
        ));
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    for p in parts {
        if p.etag.trim().is_empty() || p.etag.len() > 200 {
            return Err(AppError::invalid(
                "parts",
                "Every part needs the ETag S3 returned.",
            ));
        }
        let n = sqlx::query(
            "UPDATE upload_parts SET etag = $1, stored_at = $2, put_count = put_count + 1
             WHERE upload_id = $3 AND part_number = $4",
        )
        .bind(&p.etag)
        .bind(now)
        .bind(&up.id)
        .bind(p.number)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(AppError::invalid(
                "parts",
                format!("Part {} was never signed for this upload.", p.number),
            ));
        }
    }
    tx.commit().await?;
    touch(st, &up.id).await
}

const OPEN_UPLOAD_SELECT: &str = "SELECT u.id AS upload_id, u.file_id, f.vault_id, f.name,
        u.folder_path, f.size, u.last_modified, u.part_size,
        CAST(u.part_count AS BIGINT) AS part_count,
        (SELECT COUNT(*) FROM upload_parts p WHERE p.upload_id = u.id AND p.stored_at IS NOT NULL) AS parts_stored,
        (SELECT CAST(COALESCE(SUM(p.size), 0) AS BIGINT) FROM upload_parts p WHERE p.upload_id = u.id AND p.stored_at IS NOT NULL) AS bytes_stored,
        u.updated_at
    FROM uploads u JOIN files f ON f.id = u.file_id";

/// The actor's unfinished uploads in a vault, most recent first: what a reloaded page offers
/// to continue.
pub async fn list_open_uploads(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
) -> Result<Vec<OpenUpload>, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, vault_id).await?;
    let sql = format!(
        "{OPEN_UPLOAD_SELECT} WHERE f.vault_id = $1 AND u.created_by = $2
           AND u.completed_at IS NULL AND u.expires_at > $3
         ORDER BY u.updated_at DESC LIMIT 1000"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&vault.id)
        .bind(actor.user_id())
        .bind(st.clock.now_ms())
        .fetch_all(&st.db.pool)
        .await?)
}

/// What continuing an upload needs: the parts storage already holds (ListParts is the truth;
/// our records fill in what a store does not list), so only the missing ones are sent.
pub async fn resume_upload(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
) -> Result<ResumeInfo, AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    open_only(&up)?;
    check_not_expired(st, &up)?;
    // An upload started by an earlier version continues with its own part checksum (CRC32
    // or SHA-256): S3 refuses a part under another algorithm.
    // (part number, declared checksum, ETag, stored at)
    type Recorded = (i64, Option<String>, Option<String>, Option<i64>);
    let recorded: Vec<Recorded> = sqlx::query_as(
        "SELECT CAST(part_number AS BIGINT), checksum, etag, stored_at FROM upload_parts
         WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(&up.id)
    .fetch_all(&st.db.pool)
    .await?;
    let sum_of = |n: i64| recorded.iter().find(|r| r.0 == n).and_then(|r| r.1.clone());
    let stored: Vec<StoredPart> = match st.storage.list_parts(&up.s3_key, &up.s3_upload_id).await {
        Ok(listed) => {
            let now = st.clock.now_ms();
            let mut out = Vec::new();
            for p in listed {
                let n = p.number as i64;
                // Only whole parts count (S3 stores a part whole or not at all).
                if p.size != part_len(up.size, up.part_size, n) {
                    continue;
                }
                let sum = p.checksum.or_else(|| sum_of(n));
                // A part stored but not reported (the page closed first) is recorded now.
                sqlx::query(
                    "UPDATE upload_parts SET etag = $1, stored_at = COALESCE(stored_at, $2),
                        put_count = CASE WHEN put_count = 0 THEN 1 ELSE put_count END
                     WHERE upload_id = $3 AND part_number = $4",
                )
                .bind(&p.etag)
                .bind(now)
                .bind(&up.id)
                .bind(n)
                .execute(&st.db.pool)
                .await?;
                out.push(StoredPart {
                    number: n,
                    etag: p.etag,
                    checksum: sum,
                });
            }
            out
        }
        Err(e @ AppError::Conflict { .. }) => return Err(e),
        Err(e) => {
            // A store whose ListParts we cannot read: trust what browsers reported.
            tracing::warn!(upload_id = %up.id, error = %e, "ListParts failed; resuming from recorded parts");
            recorded
                .iter()
                .filter(|r| r.3.is_some())
                .filter_map(|r| {
                    Some(StoredPart {
                        number: r.0,
                        etag: r.2.clone()?,
                        checksum: r.1.clone(),
                    })
                })
                .collect()
        }
    };
    touch(st, &up.id).await?;
    let sql = format!("{OPEN_UPLOAD_SELECT} WHERE u.id = $1");
    let upload: OpenUpload = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&up.id)
        .fetch_one(&st.db.pool)
        .await?;
    let vault = crate::vaults::service::get_vault(&st.db, actor, &up.vault_id).await?;
    Ok(ResumeInfo {
        upload,
        stored,
        checksum_algorithm: up.sum().name().into(),
        record_sha256: crate::vaults::records_sha256(&vault.sha256_mode, up.size),
    })
}

/// Completes the upload: every part must be there, each with the checksum it was signed
/// with; S3 assembles the object (and, for CRC64NVME, checks the whole object's CRC, which
/// the server combined from the parts' without reading a byte); the server then checks the
/// stored object's size and checksum before the file becomes `available`, and keeps the
/// checksum. The SHA-256 is optional (it may come later, [`attach_sha256`]). A file with the
/// same content already in the folder is answered with `Duplicate` unless the person chose
/// what to do.
pub async fn complete_upload(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
    sha256: Option<&str>,
    parts: &[CompletedPart],
    on_duplicate: Option<OnDuplicate>,
) -> Result<FileEntry, AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    open_only(&up)?;
    let sha256 = sha256
        .filter(|s| !s.trim().is_empty())
        .map(check_sha256_hex)
        .transpose()?;
    let mut parts = parts.to_vec();
    parts.sort_by_key(|p| p.number);
    let numbers: Vec<i64> = parts.iter().map(|p| p.number).collect();
    if numbers != (1..=up.part_count).collect::<Vec<_>>() {
        return Err(AppError::invalid(
            "parts",
            format!("Expected parts 1 to {}, each once.", up.part_count),
        ));
    }
    if parts
        .iter()
        .any(|p| p.etag.trim().is_empty() || p.etag.len() > 200)
    {
        return Err(AppError::invalid(
            "parts",
            "Every part needs the ETag S3 returned.",
        ));
    }
    check_not_expired(st, &up)?;
    let sums: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT CAST(part_number AS BIGINT), checksum FROM upload_parts
         WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(&up.id)
    .fetch_all(&st.db.pool)
    .await?;
    // By number: 10,000 parts looked up in a list would be 10^8 comparisons per retry.
    let sums: std::collections::HashMap<i64, Option<String>> = sums.into_iter().collect();
    let mut checksums = Vec::with_capacity(parts.len());
    for p in &parts {
        match sums.get(&p.number).and_then(|s| s.clone()) {
            Some(sum) => checksums.push(sum),
            None => {
                // A cancel that got in first takes the parts' rows with it.
                let (open,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM uploads WHERE id = $1 AND claimed_at IS NULL AND completed_at IS NULL",
                )
                .bind(&up.id)
                .fetch_one(&st.db.pool)
                .await?;
                if open == 0 {
                    return Err(AppError::conflict(
                        "This upload is already being completed or cancelled.",
                    ));
                }
                return Err(AppError::invalid(
                    "parts",
                    format!("Part {} was never signed for this upload.", p.number),
                ));
            }
        }
    }
    // The whole object's checksum as S3 will report it: for CRC64NVME the parts' CRCs
    // combined (S3 checks it at completion), else the composite of the parts' checksums.
    let with_len: Vec<(String, i64)> = parts
        .iter()
        .zip(&checksums)
        .map(|(p, sum)| (sum.clone(), part_len(up.size, up.part_size, p.number)))
        .collect();
    let expected = up.sum().object_checksum(&with_len);
    let crc64nvme = expected.clone().filter(|_| up.sum().full_object());
    let content = Content {
        size: up.size,
        sha256: sha256.as_deref(),
        crc64nvme: crc64nvme.as_deref(),
    };
    if on_duplicate.is_none()
        && let Some((id, name)) = find_duplicate(
            &st.db,
            &up.vault_id,
            up.folder_id.as_deref(),
            &content,
            &up.file_id,
        )
        .await?
    {
        return Err(AppError::Duplicate { name, file_id: id });
    }
    // Checked again at the end: the plan may have changed since the upload started (a
    // downgrade, a cancelled subscription). The upload stays open to complete after space
    // is freed. Its bytes are reserved already, so no lock is needed: a plain check.
    let plan = crate::usage::service::plan_for(st, &up.workspace_id).await?;
    crate::usage::service::check_upload(&st.db, &plan, &up.workspace_id, up.size, up.size).await?;
    claim(st, &up.id).await?;
    let sums = Sums {
        parts: &checksums,
        expected: expected.as_deref(),
        crc64nvme: crc64nvme.as_deref(),
        sha256: sha256.as_deref(),
    };
    let result = finish_complete(st, actor, &up, &parts, &sums, on_duplicate).await;
    if result.is_err() {
        release(st, &up.id).await;
    }
    result
}

/// Takes the upload for completing or cancelling: one caller at a time, so a double click,
/// a retry racing the first try, or a cancel racing a complete cannot both act.
async fn claim(st: &AppState, upload_id: &str) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    let claimed = sqlx::query(
        "UPDATE uploads SET claimed_at = $1
         WHERE id = $2 AND completed_at IS NULL AND (claimed_at IS NULL OR claimed_at < $3)",
    )
    .bind(now)
    .bind(upload_id)
    .bind(now - CLAIM_TIMEOUT_MS)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if claimed == 1 {
        Ok(())
    } else {
        Err(AppError::conflict(
            "This upload is already being completed or cancelled.",
        ))
    }
}

/// Gives a claim back after a failure, so the person can try again at once.
async fn release(st: &AppState, upload_id: &str) {
    let released = sqlx::query("UPDATE uploads SET claimed_at = NULL WHERE id = $1")
        .bind(upload_id)
        .execute(&st.db.pool)
        .await;
    if let Err(e) = released {
        tracing::warn!(%upload_id, error = %e, "could not release an upload claim");
    }
}

/// Deletes the assembled object and the file after a failed check, and says why.
async fn discard_bad_object(
    st: &AppState,
    up: &UploadRow,
    why: String,
) -> Result<FileEntry, AppError> {
    tracing::error!(upload_id = %up.id, file_id = %up.file_id, "{why}");
    st.storage.delete(&up.s3_key).await.ok();
    sqlx::query("DELETE FROM files WHERE id = $1")
        .bind(&up.file_id)
        .execute(&st.db.pool)
        .await?;
    Err(AppError::invalid(
        "parts",
        format!("{why} It was discarded; upload the file again."),
    ))
}

/// A completing upload's checksums: each part's, the object's as S3 will report it, the
/// whole file's CRC64NVME (full-object uploads) and the SHA-256 when the browser sent one.
struct Sums<'a> {
    parts: &'a [String],
    expected: Option<&'a str>,
    crc64nvme: Option<&'a str>,
    sha256: Option<&'a str>,
}

async fn finish_complete(
    st: &AppState,
    actor: &Actor,
    up: &UploadRow,
    parts: &[CompletedPart],
    sums: &Sums<'_>,
    on_duplicate: Option<OnDuplicate>,
) -> Result<FileEntry, AppError> {
    let upload_id = &up.id;
    let list: Vec<(i32, String, Option<String>)> = parts
        .iter()
        .zip(sums.parts)
        .map(|(p, sum)| (p.number as i32, p.etag.clone(), Some(sum.clone())))
        .collect();
    st.storage
        .complete_multipart(
            &up.s3_key,
            &up.s3_upload_id,
            &list,
            up.sum(),
            sums.crc64nvme,
        )
        .await?;

    let head = st.storage.head(&up.s3_key).await?;
    let Some(head) = head else {
        return discard_bad_object(st, up, "Storage does not show the completed object.".into())
            .await;
    };
    if head.size != up.size {
        return discard_bad_object(
            st,
            up,
            format!(
                "The stored object has {} bytes but the file has {}.",
                head.size, up.size
            ),
        )
        .await;
    }
    match (&head.checksum, &sums.expected) {
        (Some(got), Some(want)) if !super::same_composite(got, want) => {
            return discard_bad_object(
                st,
                up,
                "The stored object's checksum is not the one of the parts sent.".into(),
            )
            .await;
        }
        (None, _) => {
            // Some S3-compatible stores keep no checksums: each part was still checked on
            // arrival against the checksum its URL signed.
            tracing::warn!(%upload_id, "storage reported no object checksum; size checked only");
        }
        _ => {}
    }

    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    for p in parts {
        sqlx::query(
            "UPDATE upload_parts SET etag = $1, stored_at = COALESCE(stored_at, $2),
                put_count = CASE WHEN put_count = 0 THEN 1 ELSE put_count END
             WHERE upload_id = $3 AND part_number = $4",
        )
        .bind(&p.etag)
        .bind(now)
        .bind(&up.id)
        .bind(p.number)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE uploads SET completed_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&up.id)
        .execute(&mut *tx)
        .await?;
    let mut name = up.name.clone();
    if on_duplicate == Some(OnDuplicate::Replace) {
        // The new file takes the place of the same content (and of a file of the same name):
        // those go to the trash, where they can be brought back for a week.
        let replaced: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM files
             WHERE vault_id = $1 AND COALESCE(folder_id, '') = $2 AND id <> $3
               AND ((size = $6 AND (sha256 = $4 OR crc64nvme = $7)) OR name = $5)
               AND state <> 'uploading' AND deleted_at IS NULL",
        )
        .bind(&up.vault_id)
        .bind(up.folder_id.as_deref().unwrap_or(""))
        .bind(&up.file_id)
        .bind(sums.sha256.unwrap_or(""))
        .bind(&up.name)
        .bind(up.size)
        .bind(sums.crc64nvme.unwrap_or(""))
        .fetch_all(&mut *tx)
        .await?;
        for (old,) in replaced {
            sqlx::query(
                "UPDATE files SET deleted_at = $1,
                     trashed_path = COALESCE((SELECT d.path FROM folders d WHERE d.id = files.folder_id), '')
                 WHERE id = $2",
            )
            .bind(now)
            .bind(&old)
            .execute(&mut *tx)
            .await?;
            files::record_event(
                &mut tx,
                &old,
                Some(&up.created_by),
                "trashed",
                "replaced by a new upload",
                now,
            )
            .await?;
        }
    } else {
        // The upload's name, unless another live file in the folder took it meanwhile.
        name = files::free_name_in(
            &mut *tx,
            &up.vault_id,
            up.folder_id.as_deref(),
            &name,
            &up.file_id,
        )
        .await?;
    }
    sqlx::query(
        "UPDATE files SET state = CASE WHEN storage_class IN ('GLACIER', 'DEEP_ARCHIVE') THEN 'archived' ELSE 'available' END,
             sha256 = COALESCE($1, sha256), crc64nvme = $5, name = $2, updated_at = $3
         WHERE id = $4",
    )
    .bind(sums.sha256)
    .bind(&name)
    .bind(now)
    .bind(&up.file_id)
    .bind(sums.crc64nvme)
    .execute(&mut *tx)
    .await?;
    files::record_event(
        &mut tx,
        &up.file_id,
        Some(&up.created_by),
        "uploaded",
        "",
        now,
    )
    .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(
            Some(&up.workspace_id),
            "file.upload",
            format!("file:{}", up.file_id),
        )
        .detail(format!("{} bytes", up.size)),
    )
    .await?;
    tx.commit().await?;
    crate::core::metrics::metrics().upload_completed(up.size);
    tracing::info!(%upload_id, file_id = %up.file_id, "upload completed");
    usage_threshold(st, &up.workspace_id, up.size).await;

    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM files f LEFT JOIN folders d ON d.id = f.folder_id WHERE f.id = $1",
        files::ENTRY_COLUMNS
    )))
    .bind(&up.file_id)
    .fetch_one(&st.db.pool)
    .await?)
}

/// Attaches the file's SHA-256 once the uploading browser's background worker has it (it may
/// finish after the upload). Only the person who uploaded the file, only once, and only when
/// the CRC64NVME that worker computed over the same bytes is the one S3 verified: a SHA-256
/// of other bytes (the file changed on disk between the reads) is refused, not recorded.
pub async fn attach_sha256(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
    sha256: &str,
    crc64nvme: &str,
) -> Result<(), AppError> {
    let f = files::get_file(&st.db, actor, file_id, Role::Member).await?;
    if f.created_by != actor.user_id() {
        return Err(AppError::Forbidden {
            message: "Only the person who uploaded a file can record its SHA-256.".into(),
        });
    }
    let sha256 = check_sha256_hex(sha256)?;
    let crc = check_crc64(crc64nvme)?;
    if f.state == "uploading" {
        return Err(AppError::conflict(
            "This file's upload is not complete yet; record its SHA-256 after it completes.",
        ));
    }
    if f.crc64nvme.as_deref() != Some(crc.as_str()) {
        return Err(AppError::conflict(
            "These checksums are of other bytes than the ones stored (the file changed after it was sent?); the SHA-256 was not recorded.",
        ));
    }
    if let Some(have) = &f.sha256 {
        return if *have == sha256 {
            Ok(())
        } else {
            Err(AppError::conflict(
                "This file has another SHA-256 recorded already.",
            ))
        };
    }
    let set = sqlx::query("UPDATE files SET sha256 = $1 WHERE id = $2 AND sha256 IS NULL")
        .bind(&sha256)
        .bind(&f.id)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    if set == 0 {
        // Another call recorded one meanwhile: the same is fine, another is not.
        let (now,): (Option<String>,) = sqlx::query_as("SELECT sha256 FROM files WHERE id = $1")
            .bind(&f.id)
            .fetch_one(&st.db.pool)
            .await?;
        if now.as_deref() != Some(sha256.as_str()) {
            return Err(AppError::conflict(
                "This file has another SHA-256 recorded already.",
            ));
        }
    }
    tracing::info!(file_id = %f.id, "SHA-256 recorded");
    Ok(())
}

/// Tells the workspace's webhooks when an upload of `size` bytes took its storage across 80 %
/// or 100 % of the plan (best effort: the upload is done either way).
async fn usage_threshold(st: &AppState, ws: &str, size: i64) {
    let (Ok(plan), Ok(stored)) = (
        crate::usage::service::plan_for(st, ws).await,
        crate::usage::service::stored_bytes(&st.db, ws).await,
    ) else {
        return;
    };
    let included = plan.included_bytes();
    if included <= 0 {
        return;
    }
    let after = stored.total();
    let before = after - size;
    for percent in [80i64, 100] {
        let line = included / 100 * percent;
        if before < line && after >= line {
            let data = serde_json::json!({
                "percent": percent, "used_bytes": after, "included_bytes": included, "plan": plan.id,
            });
            crate::events::emit_logged(st, ws, crate::events::USAGE_THRESHOLD, data).await;
        }
    }
}

/// Cancels an unfinished upload: aborts it on S3 and forgets the file.
pub async fn abort_upload(st: &AppState, actor: &Actor, upload_id: &str) -> Result<(), AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    if up.completed_at.is_some() {
        return Err(AppError::conflict("This upload is already complete."));
    }
    claim(st, &up.id).await?;
    let result = discard(st, &up, "aborted").await;
    if result.is_err() {
        release(st, &up.id).await;
    }
    result
}

/// Aborts the S3 upload (its parts go) and deletes the file row (the upload row with it),
/// recording `upload.failed` for the workspace's webhooks in the same transaction.
async fn discard(st: &AppState, up: &UploadRow, reason: &str) -> Result<(), AppError> {
    st.storage
        .abort_multipart(&up.s3_key, &up.s3_upload_id)
        .await?;
    let mut tx = st.db.begin().await?;
    let gone = sqlx::query("DELETE FROM files WHERE id = $1 AND state = 'uploading'")
        .bind(&up.file_id)
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() > 0 {
        let data = serde_json::json!({
            "upload_id": up.id, "file_id": up.file_id, "vault_id": up.vault_id,
            "name": up.name, "size": up.size, "reason": reason,
        });
        let now = st.clock.now_ms();
        crate::events::record(
            &mut tx,
            &up.workspace_id,
            crate::events::UPLOAD_FAILED,
            data,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Aborts uploads left unfinished past their lifetime, a batch at a time; returns how many
/// went. Idempotent and safe to run in several processes (each upload is claimed first).
pub async fn abort_expired_uploads(st: &AppState) -> Result<u64, AppError> {
    let sql = format!(
        "{UPLOAD_SELECT} WHERE u.completed_at IS NULL AND u.expires_at <= $1 ORDER BY u.expires_at LIMIT 200"
    );
    let expired: Vec<UploadRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(st.clock.now_ms())
        .fetch_all(&st.db.pool)
        .await?;
    let mut done = 0;
    for up in expired {
        if claim(st, &up.id).await.is_err() {
            continue;
        }
        match discard(st, &up, "abandoned").await {
            Ok(()) => done += 1,
            Err(e) => {
                tracing::warn!(upload_id = %up.id, error = %e, "could not abort an expired upload");
                release(st, &up.id).await;
            }
        }
    }
    Ok(done)
}

/// The job that aborts abandoned uploads (hourly).
pub const ABORT_ABANDONED_UPLOADS: &str = "abort_abandoned_uploads";

/// Runs [`ABORT_ABANDONED_UPLOADS`]: batches of 200 until none is left.
pub async fn abort_abandoned_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    loop {
        let n = abort_expired_uploads(st).await?;
        if n > 0 {
            tracing::info!(uploads = n, "aborted abandoned uploads");
        }
        if n < 200 {
            break;
        }
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

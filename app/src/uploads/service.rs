use super::{
    CompletedPart, MAX_FILE_SIZE, PartUrl, UploadTicket, part_count, part_len, part_size_for,
};
use crate::core::{Actor, AppState, new_id};
use crate::error::AppError;
use crate::files::{FileEntry, check_file_name};
use crate::workspaces::{Role, service::require_role};

/// Multipart uploads not completed after this long are abandoned: refused, then aborted on S3
/// by [`abort_expired_uploads`].
const UPLOAD_LIFETIME_MS: i64 = 7 * 24 * 3_600_000;
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
    s3_upload_id: String,
    part_size: i64,
    part_count: i64,
    completed_at: Option<i64>,
    expires_at: i64,
    s3_key: String,
    size: i64,
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

/// Starts a multipart upload into a vault: validates before any byte moves, creates the
/// file row (state `uploading`) and the S3 multipart upload under a server-made key.
pub async fn start_upload(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    name: &str,
    size: i64,
    content_type: &str,
) -> Result<UploadTicket, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    let name = check_file_name(name)?;
    let content_type = check_content_type(content_type)?;
    if !(0..=MAX_FILE_SIZE).contains(&size) {
        return Err(AppError::invalid("size", "A file can be at most 5 TiB."));
    }

    let now = st.clock.now_ms();
    let file_id = new_id();
    let key = format!("ws/{}/{}/{}", vault.workspace_id, vault.id, file_id);
    let part_size = part_size_for(size);
    let parts = part_count(size, part_size);
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
    let s3_upload_id = st
        .storage
        .create_multipart(&key, &content_type, &vault.default_storage_class)
        .await?;

    let upload_id = new_id();
    let recorded = async {
        let mut tx = st.db.pool.begin().await?;
        sqlx::query(
            "INSERT INTO files (id, workspace_id, vault_id, name, size, content_type, s3_key,
            storage_class, state, created_by, created_at, updated_at, class_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'uploading', $9, $10, $10, $10)",
        )
        .bind(&file_id)
        .bind(&vault.workspace_id)
        .bind(&vault.id)
        .bind(&name)
        .bind(size)
        .bind(&content_type)
        .bind(&key)
        .bind(&vault.default_storage_class)
        .bind(actor.user_id())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO uploads (id, file_id, workspace_id, s3_upload_id, part_size, part_count,
            created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&upload_id)
        .bind(&file_id)
        .bind(&vault.workspace_id)
        .bind(&s3_upload_id)
        .bind(part_size)
        .bind(parts)
        .bind(actor.user_id())
        .bind(now)
        .bind(now + UPLOAD_LIFETIME_MS)
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
        part_size,
        part_count: parts,
    })
}

const UPLOAD_SELECT: &str = "SELECT u.id, u.file_id, u.workspace_id, u.s3_upload_id, u.part_size,
        CAST(u.part_count AS BIGINT) AS part_count, u.completed_at, u.expires_at, f.s3_key, f.size
    FROM uploads u JOIN files f ON f.id = u.file_id";

async fn load_upload(st: &AppState, actor: &Actor, upload_id: &str) -> Result<UploadRow, AppError> {
    let sql = format!("{UPLOAD_SELECT} WHERE u.id = $1");
    let row: UploadRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(upload_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require_role(&st.db, actor, &row.workspace_id, Role::Member).await?;
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

/// Presigned PUT URLs for the given parts: each signs the exact key, upload id, part number
/// and content length, and lives at most the configured TTL.
pub async fn presign_parts(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
    numbers: &[i64],
) -> Result<Vec<PartUrl>, AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    if up.completed_at.is_some() {
        return Err(AppError::conflict("This upload is already complete."));
    }
    check_not_expired(st, &up)?;
    if numbers.is_empty() || numbers.len() > MAX_PARTS_PER_PRESIGN {
        return Err(AppError::invalid(
            "parts",
            "Ask for 1 to 100 parts at a time.",
        ));
    }
    let mut urls = Vec::with_capacity(numbers.len());
    for &n in numbers {
        if !(1..=up.part_count).contains(&n) {
            return Err(AppError::invalid(
                "parts",
                format!("Part {n} is not part of this upload."),
            ));
        }
        let size = part_len(up.size, up.part_size, n);
        let url = st
            .storage
            .presign_upload_part(
                &up.s3_key,
                &up.s3_upload_id,
                n as i32,
                size,
                st.config.presign_ttl_secs,
            )
            .await?;
        urls.push(PartUrl {
            number: n,
            size,
            url,
        });
    }
    Ok(urls)
}

/// Completes the upload: every part must be there; S3 assembles the object; the server then
/// checks the stored object's size before the file becomes `available`.
pub async fn complete_upload(
    st: &AppState,
    actor: &Actor,
    upload_id: &str,
    parts: &[CompletedPart],
) -> Result<FileEntry, AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    if up.completed_at.is_some() {
        return Err(AppError::conflict("This upload is already complete."));
    }
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
    claim(st, &up.id).await?;
    let result = finish_complete(st, &up, &parts).await;
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

async fn finish_complete(
    st: &AppState,
    up: &UploadRow,
    parts: &[CompletedPart],
) -> Result<FileEntry, AppError> {
    let upload_id = &up.id;
    let list: Vec<(i32, String)> = parts
        .iter()
        .map(|p| (p.number as i32, p.etag.clone()))
        .collect();
    st.storage
        .complete_multipart(&up.s3_key, &up.s3_upload_id, &list)
        .await?;

    let head = st.storage.head(&up.s3_key).await?;
    let stored = head.map(|h| h.size);
    if stored != Some(up.size) {
        tracing::error!(%upload_id, expected = up.size, ?stored, "completed object has the wrong size");
        st.storage.delete(&up.s3_key).await.ok();
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(&up.file_id)
            .execute(&st.db.pool)
            .await?;
        return Err(AppError::invalid(
            "parts",
            format!(
                "The stored object has {} bytes but the file has {}; it was discarded. Upload it again.",
                stored.unwrap_or(0),
                up.size
            ),
        ));
    }

    let now = st.clock.now_ms();
    let mut tx = st.db.pool.begin().await?;
    for p in parts {
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, part_number, size, etag, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&up.id)
        .bind(p.number)
        .bind(part_len(up.size, up.part_size, p.number))
        .bind(&p.etag)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE uploads SET completed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&up.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE files SET state = 'available', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&up.file_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%upload_id, file_id = %up.file_id, "upload completed");

    Ok(sqlx::query_as(
        "SELECT id, vault_id, name, size, content_type, storage_class, state, created_at
         FROM files WHERE id = $1",
    )
    .bind(&up.file_id)
    .fetch_one(&st.db.pool)
    .await?)
}

/// Cancels an unfinished upload: aborts it on S3 and forgets the file.
pub async fn abort_upload(st: &AppState, actor: &Actor, upload_id: &str) -> Result<(), AppError> {
    let up = load_upload(st, actor, upload_id).await?;
    if up.completed_at.is_some() {
        return Err(AppError::conflict("This upload is already complete."));
    }
    claim(st, &up.id).await?;
    let result = discard(st, &up).await;
    if result.is_err() {
        release(st, &up.id).await;
    }
    result
}

/// Aborts the S3 upload (its parts go) and deletes the file row (the upload row with it).
async fn discard(st: &AppState, up: &UploadRow) -> Result<(), AppError> {
    st.storage
        .abort_multipart(&up.s3_key, &up.s3_upload_id)
        .await?;
    sqlx::query("DELETE FROM files WHERE id = $1 AND state = 'uploading'")
        .bind(&up.file_id)
        .execute(&st.db.pool)
        .await?;
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
        match discard(st, &up).await {
            Ok(()) => done += 1,
            Err(e) => {
                tracing::warn!(upload_id = %up.id, error = %e, "could not abort an expired upload");
                release(st, &up.id).await;
            }
        }
    }
    Ok(done)
}

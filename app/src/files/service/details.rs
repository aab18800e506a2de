//! A file's details panel: history, monthly cost, preview images, and the fees of
//! deleting before a class's minimum duration.
use super::records::{entry, get_file, get_live_file};
use crate::core::db::Sql;
use crate::core::{Actor, AppState, Db};
use crate::error::AppError;
use crate::files::{FileDetails, FileEvent};
use crate::workspaces::Role;

/// Everything known of a file.
pub async fn file_details(db: &Db, actor: &Actor, file_id: &str) -> Result<FileDetails, AppError> {
    let f = get_file(db, actor, file_id, Role::Viewer).await?;
    if f.state == "uploading" {
        return Err(AppError::NotFound);
    }
    let events: Vec<FileEvent> = sqlx::query_as(
        "SELECT e.at, e.kind, e.detail, u.email AS actor FROM file_events e
         LEFT JOIN users u ON u.id = e.actor_id WHERE e.file_id = $1 ORDER BY e.at, e.id LIMIT 200",
    )
    .bind(&f.id)
    .fetch_all(&db.pool)
    .await?;
    let prices = crate::pricing::service::load(db).await?;
    let monthly = prices.monthly_cost_micros(&f.storage_class, f.size);
    Ok(FileDetails {
        file: entry(db, &f.id).await?,
        sha256: f.sha256.clone(),
        crc64nvme: f.crc64nvme.clone(),
        events,
        monthly_cost_micros: monthly,
        deleted_at: f.deleted_at,
    })
}

// ---------------------------------------------------------------- previews

/// Largest preview the browser may store.
pub const MAX_THUMB_BYTES: i64 = 256 * 1024;

/// A PUT URL for the preview of an image file, beside the file's object.
pub async fn thumbnail_upload(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
    size: i64,
    content_type: &str,
) -> Result<crate::uploads::PartUrl, AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    if !(1..=MAX_THUMB_BYTES).contains(&size) {
        return Err(AppError::invalid("size", "A preview is at most 256 KiB."));
    }
    if !matches!(content_type, "image/webp" | "image/jpeg") {
        return Err(AppError::invalid(
            "content_type",
            "A preview is a WebP or JPEG image.",
        ));
    }
    let put = st
        .storage
        .presign_put(
            &format!("{}.thumb", f.s3_key),
            content_type,
            size,
            st.config.presign_ttl_secs,
        )
        .await?;
    Ok(crate::uploads::PartUrl {
        number: 1,
        size,
        url: put.url,
        headers: put.headers,
    })
}

/// Records the preview once it is stored (and no larger than allowed).
pub async fn thumbnail_done(st: &AppState, actor: &Actor, file_id: &str) -> Result<(), AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    let key = format!("{}.thumb", f.s3_key);
    match st.storage.head(&key).await? {
        Some(h) if h.size <= MAX_THUMB_BYTES => {}
        Some(_) => {
            st.storage.delete(&key).await?;
            return Err(AppError::invalid("size", "A preview is at most 256 KiB."));
        }
        None => return Err(AppError::conflict("The preview was not stored.")),
    }
    sqlx::query("UPDATE files SET thumb_key = $1 WHERE id = $2")
        .bind(&key)
        .bind(&f.id)
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// A short-lived link to a file's preview (for the list's `<img>`).
pub async fn thumbnail_url(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
) -> Result<String, AppError> {
    let f = get_file(&st.db, actor, file_id, Role::Viewer).await?;
    let key = f.thumb_key.ok_or(AppError::NotFound)?;
    st.storage
        .presign_get(
            &key,
            &format!("{}.preview", f.name),
            st.config.presign_ttl_secs,
        )
        .await
}

// ---------------------------------------------------------------- fees

/// (class, size, in class since, state) of live files of a vault, by id, a batch at a time:
/// what cost previews are computed from.
pub async fn pricing_rows(
    db: &Db,
    vault_id: &str,
    ids: &[String],
) -> Result<Vec<(String, i64, i64, String)>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT storage_class, size, class_changed_at, state FROM files WHERE deleted_at IS NULL AND vault_id = ",
        );
        let v = sql.arg(vault_id);
        sql.push(&v);
        let list: Vec<String> = chunk.iter().map(|id| sql.arg(id)).collect();
        sql.push(&format!(" AND id IN ({})", list.join(", ")));
        let part: Vec<(String, i64, i64, String)> = sql.query_as().fetch_all(&db.pool).await?;
        rows.extend(part);
    }
    Ok(rows)
}

/// Early-deletion fees that deleting the selection would incur now, in micro-dollars
/// (Standard-IA 30 days, Glacier IR and Flexible 90, Deep Archive 180; at most 100,000 files
/// are priced).
pub async fn deletion_fee(
    st: &AppState,
    actor: &Actor,
    sel: &crate::files::Selection,
) -> Result<i64, AppError> {
    let ids = crate::files::selection::resolve_files(st, actor, sel, 100_000).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let now = st.clock.now_ms();
    Ok(pricing_rows(&st.db, &sel.vault_id, &ids)
        .await?
        .iter()
        .map(|(class, size, since, _)| prices.early_deletion_fee_micros(class, *size, *since, now))
        .sum())
}

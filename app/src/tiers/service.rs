//! Storage classes by hand: a file, a selection or a folder moves to another class through
//! S3 (CopyObject onto itself; a multipart copy above 5 GiB). The file's record follows:
//! class, the time it entered the class (minimum-duration fees count from it), its state
//! (archived in GLACIER and DEEP_ARCHIVE) and an entry in its history.
use crate::core::AppState;
use crate::error::AppError;

/// Whether a class keeps objects archived (restore before reading).
pub fn is_archive(class: &str) -> bool {
    matches!(class, "GLACIER" | "DEEP_ARCHIVE")
}

/// Moves files (already checked to be the actor's, in `vault_id`) to `class`. Files already
/// there, uploading, restoring or archived without a restored copy are left as they are
/// (S3 cannot copy an archived object). Returns how many moved.
pub async fn change_class_checked(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    ids: &[String],
    class: &str,
) -> Result<i64, AppError> {
    if !crate::vaults::STORAGE_CLASSES.contains(&class) {
        return Err(AppError::invalid(
            "class",
            "Choose one of the storage classes.",
        ));
    }
    let mut moved = 0;
    for id in ids {
        let row: Option<(String, i64, String, String)> = sqlx::query_as(
            "SELECT s3_key, size, storage_class, state FROM files
             WHERE id = $1 AND vault_id = $2 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(vault_id)
        .fetch_optional(&st.db.pool)
        .await?;
        let Some((key, size, from, state)) = row else {
            continue;
        };
        if from == class || !matches!(state.as_str(), "available" | "restored") {
            continue;
        }
        st.storage.change_class(&key, size, class).await?;
        let now = st.clock.now_ms();
        let mut tx = st.db.begin().await?;
        sqlx::query(
            "UPDATE files SET storage_class = $1, class_changed_at = $2, updated_at = $2,
                 state = $3 WHERE id = $4",
        )
        .bind(class)
        .bind(now)
        .bind(if is_archive(class) {
            "archived"
        } else {
            "available"
        })
        .bind(id)
        .execute(&mut *tx)
        .await?;
        crate::files::service::record_event(
            &mut *tx,
            id,
            Some(actor_id),
            "class_changed",
            &format!(
                "from {} to {}",
                crate::files::class_label(&from),
                crate::files::class_label(class)
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

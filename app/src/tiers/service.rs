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
            &mut tx,
            id,
            // '' is an archiving rule, not a person.
            Some(actor_id).filter(|a| !a.is_empty()),
            "class_changed",
            &format!(
                "from {} to {}{}",
                crate::files::class_label(&from),
                crate::files::class_label(class),
                if actor_id.is_empty() {
                    " (archiving rule)"
                } else {
                    ""
                }
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

/// Each class with this selection's monthly cost there and the early-deletion fees moving
/// now would incur (at most 100,000 files are priced).
pub async fn class_preview(
    st: &AppState,
    actor: &crate::core::Actor,
    sel: &crate::files::Selection,
) -> Result<super::ClassPreview, AppError> {
    let ids = crate::files::selection::resolve_files(st, actor, sel, 100_000).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let retrieval = crate::pricing::service::load_retrieval(&st.db).await?;
    let now = st.clock.now_ms();
    let rows = crate::files::service::pricing_rows(&st.db, &sel.vault_id, &ids).await?;
    let movable = |state: &str| matches!(state, "available" | "restored");
    let monthly_now = rows
        .iter()
        .map(|(c, size, _, _)| prices.monthly_cost_micros(c, *size))
        .sum();
    let options = crate::vaults::STORAGE_CLASSES
        .iter()
        .filter_map(|&class| {
            let p = prices.get(class)?;
            let after = rows
                .iter()
                .map(|(c, size, _, state)| {
                    let to = if movable(state) { class } else { c.as_str() };
                    prices.monthly_cost_micros(to, *size)
                })
                .sum();
            let fee = rows
                .iter()
                .filter(|(c, _, _, state)| movable(state) && c != class)
                .map(|(c, size, since, _)| prices.early_deletion_fee_micros(c, *size, *since, now))
                .sum();
            let tiers = retrieval.tiers(class);
            let describe = tiers
                .iter()
                .map(|t| {
                    if t.tier == "Instant" {
                        "instant".to_string()
                    } else {
                        format!("{} {}", t.tier, wait(t.typical_minutes, t.max_minutes))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            Some(super::ClassOption {
                class: class.to_string(),
                storage_micros_gb_month: p.storage_micros_gb_month,
                min_storage_days: p.min_storage_days,
                retrieval: describe,
                monthly_after_micros: after,
                fee_micros: fee,
            })
        })
        .collect();
    Ok(super::ClassPreview {
        files: rows.len() as i64,
        bytes: rows.iter().map(|r| r.1).sum(),
        stuck: rows.iter().filter(|r| !movable(&r.3)).count() as i64,
        monthly_now_micros: monthly_now,
        options,
    })
}

/// "3–5 min", "4–5 h", "12 h", "36–48 h".
fn wait(typical: i64, max: i64) -> String {
    let f = |m: i64| {
        if m < 120 {
            format!("{m} min")
        } else {
            format!("{} h", m / 60)
        }
    };
    if typical == max {
        format!("within {}", f(max))
    } else if typical < 120 && max < 120 {
        format!("{typical}–{max} min")
    } else if typical >= 120 && max >= 120 {
        format!("{}–{} h", typical / 60, max / 60)
    } else {
        format!("{}–{}", f(typical), f(max))
    }
}

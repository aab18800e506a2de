//! Asking for a restore: what each tier would cost and take for a selection (the dialog's
//! preview), and the request itself, which puts the selection's archived files into a
//! restore request through the bulk actions (a job above their inline limit). The worker
//! that sends, polls and expires restores is `tiers::restores`.
use super::restores::{close_request, wake};
use super::service::is_archive;
use super::{RESTORE_TIERS, RestorePreview, TierOption};
use crate::core::{Actor, AppState, new_id};
use crate::error::AppError;
use crate::files::{BulkOutcome, Selection};
use crate::workspaces::{Role, service::require_role};

/// What the restore dialog offers for the selection, kept `days` days.
pub async fn preview(
    st: &AppState,
    actor: &Actor,
    sel: &Selection,
    days: i64,
) -> Result<RestorePreview, AppError> {
    check_days(days)?;
    let vault = crate::vaults::service::get_vault(&st.db, actor, &sel.vault_id).await?;
    let plan = crate::usage::service::plan_for(st, &vault.workspace_id).await?;
    let ids = crate::files::selection::resolve_files(st, actor, sel, 100_000).await?;
    let rows = crate::files::service::pricing_rows(&st.db, &sel.vault_id, &ids).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let retrieval = crate::pricing::service::load_retrieval(&st.db).await?;
    let now = st.clock.now_ms();
    let archived: Vec<(&str, i64)> = rows
        .iter()
        .filter(|(c, _, _, s)| is_archive(c) && s == "archived")
        .map(|(c, size, _, _)| (c.as_str(), *size))
        .collect();
    let mut classes: Vec<&str> = archived.iter().map(|(c, _)| *c).collect();
    classes.sort();
    classes.dedup();
    let options = RESTORE_TIERS
        .iter()
        .map(|&tier| {
            let mut o = TierOption {
                tier: tier.to_string(),
                unavailable: String::new(),
                cost_micros: 0,
                retrieval_micros: 0,
                request_micros: 0,
                copy_micros: 0,
                typical_ready_at: now,
                ready_by: now,
            };
            if archived.is_empty() {
                o.unavailable = "Nothing in this selection needs restoring.".into();
            } else if !plan.allows_tier(tier) {
                o.unavailable = format!("Not part of the {} plan.", plan.name);
            }
            for class in &classes {
                let sizes: Vec<i64> = archived
                    .iter()
                    .filter(|(c, _)| c == class)
                    .map(|(_, s)| *s)
                    .collect();
                match retrieval.estimate(&prices, class, tier, &sizes, days) {
                    Some(e) => {
                        o.retrieval_micros += e.retrieval_micros;
                        o.request_micros += e.request_micros;
                        o.copy_micros += e.copy_micros;
                        o.cost_micros += e.total_micros;
                        o.typical_ready_at =
                            o.typical_ready_at.max(now + e.typical_minutes * 60_000);
                        o.ready_by = o.ready_by.max(now + e.max_minutes * 60_000);
                    }
                    None => {
                        o.unavailable = format!(
                            "{} does not offer {tier} restores.",
                            crate::files::class_label(class)
                        )
                    }
                }
            }
            o
        })
        .collect();
    Ok(RestorePreview {
        files: rows.len() as i64,
        to_restore: archived.len() as i64,
        bytes: archived.iter().map(|(_, s)| s).sum(),
        restored: rows
            .iter()
            .filter(|(c, _, _, s)| is_archive(c) && s == "restored")
            .count() as i64,
        in_progress: rows.iter().filter(|r| r.3 == "restoring").count() as i64,
        not_archived: rows.iter().filter(|(c, _, _, _)| !is_archive(c)).count() as i64,
        days,
        options,
    })
}

fn check_days(days: i64) -> Result<(), AppError> {
    if !(1..=super::MAX_RESTORE_DAYS).contains(&days) {
        return Err(AppError::invalid(
            "days",
            format!(
                "Keep restored copies between 1 and {} days.",
                super::MAX_RESTORE_DAYS
            ),
        ));
    }
    Ok(())
}

/// Asks for a restore of the selection: checks the tier suits every archived file, records
/// the request with its estimate, and adds the files (a job for large selections). Files
/// already restored get their copy kept for the new days; files with a restore in flight
/// stay with it.
pub async fn request(
    st: &AppState,
    actor: &Actor,
    sel: Selection,
    tier: &str,
    days: i64,
) -> Result<(String, BulkOutcome), AppError> {
    if !RESTORE_TIERS.contains(&tier) {
        return Err(AppError::invalid(
            "tier",
            "Choose Expedited, Standard or Bulk.",
        ));
    }
    check_days(days)?;
    let vault = crate::vaults::service::get_vault(&st.db, actor, &sel.vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    crate::usage::service::check_tier(st, &vault.workspace_id, tier).await?;
    let p = preview(st, actor, &sel, days).await?;
    if p.to_restore + p.restored == 0 {
        return Err(AppError::invalid(
            "selection",
            if p.in_progress > 0 {
                "A restore is already under way for these files."
            } else {
                "Nothing in this selection is archived: it downloads as it is."
            },
        ));
    }
    let option = p
        .options
        .iter()
        .find(|o| o.tier == tier)
        .ok_or_else(|| AppError::internal("tier missing from the preview"))?;
    if p.to_restore > 0 && !option.unavailable.is_empty() {
        return Err(AppError::invalid("tier", option.unavailable.clone()));
    }
    let label = describe(st, &sel, p.files).await?;
    let id = new_id();
    let now = st.clock.now_ms();
    sqlx::query(
        "INSERT INTO restore_requests (id, workspace_id, vault_id, user_id, tier, days, label,
             estimate_micros, estimate_ready_at, requested_at, adding)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)",
    )
    .bind(&id)
    .bind(&vault.workspace_id)
    .bind(&vault.id)
    .bind(actor.user_id())
    .bind(tier)
    .bind(days)
    .bind(&label)
    .bind(option.cost_micros)
    .bind(option.ready_by.max(now))
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    let outcome = match crate::files::bulk::apply(
        st,
        actor,
        crate::files::bulk::BulkAction::Restore {
            request: id.clone(),
        },
        sel,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => {
            // Refused (or cut short): what it added goes on and is reported; an empty
            // request goes.
            drop_if_empty(st, &id).await?;
            close_request(st, &id).await?;
            return Err(e);
        }
    };
    if let BulkOutcome::Done { files: 0, .. } = outcome {
        // Everything had a restore under way already (a second click, another tab).
        drop_if_empty(st, &id).await?;
        return Err(AppError::invalid(
            "selection",
            "A restore is already under way for these files.",
        ));
    }
    if matches!(outcome, BulkOutcome::Done { .. }) {
        close_request(st, &id).await?;
    }
    wake(st).await?;
    tracing::info!(request = %id, tier, days, "restore requested");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            Some(&vault.workspace_id),
            "restore.request",
            format!("restore:{id}"),
        )
        .detail(format!("{tier}, {days} days")),
    )
    .await?;
    Ok((id, outcome))
}

/// Deletes a request no file was added to.
async fn drop_if_empty(st: &AppState, request_id: &str) -> Result<(), AppError> {
    sqlx::query(
        "DELETE FROM restore_requests WHERE id = $1
           AND NOT EXISTS (SELECT 1 FROM restores WHERE request_id = $1)",
    )
    .bind(request_id)
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// "report.pdf", "folder “2019”", "12 files".
async fn describe(st: &AppState, sel: &Selection, files: i64) -> Result<String, AppError> {
    if sel.all_matching.is_none() && sel.folder_ids.is_empty() && sel.file_ids.len() == 1 {
        let name: Option<(String,)> = sqlx::query_as("SELECT name FROM files WHERE id = $1")
            .bind(&sel.file_ids[0])
            .fetch_optional(&st.db.pool)
            .await?;
        if let Some((n,)) = name {
            return Ok(n);
        }
    }
    if sel.all_matching.is_none() && sel.file_ids.is_empty() && sel.folder_ids.len() == 1 {
        let name: Option<(String,)> = sqlx::query_as("SELECT path FROM folders WHERE id = $1")
            .bind(&sel.folder_ids[0])
            .fetch_optional(&st.db.pool)
            .await?;
        if let Some((n,)) = name {
            return Ok(format!("folder “{n}”"));
        }
    }
    Ok(crate::format::count(files, "file", "files"))
}

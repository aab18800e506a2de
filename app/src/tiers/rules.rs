//! Archiving rules: per vault, in order, "files older than N days (of a kind, at least a size,
//! under a folder) move to CLASS". A daily job applies them (and on demand); a preview says
//! what each would move today and what that saves. A rule never warms a file up, and never
//! touches a file that is uploading, restoring or archived without a restored copy.
use super::{ArchiveRule, RulePreview};
use crate::core::db::Sql;
use crate::core::{Actor, AppState, Db, jobs, new_id};
use crate::error::AppError;
use crate::workspaces::Role;

/// Classes from warm to cold.
const ORDER: [&str; 5] = [
    "STANDARD",
    "STANDARD_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

pub async fn list_rules(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
) -> Result<Vec<ArchiveRule>, AppError> {
    let vault = crate::vaults::service::check_vault(db, actor, vault_id, Role::Viewer).await?;
    Ok(sqlx::query_as(
        "SELECT id, older_than_days, kind, min_size, folder_path, to_class FROM archive_rules
         WHERE vault_id = $1 ORDER BY position",
    )
    .bind(&vault)
    .fetch_all(&db.pool)
    .await?)
}

fn check(rule: &ArchiveRule) -> Result<(), AppError> {
    if !(0..=36_500).contains(&rule.older_than_days) {
        return Err(AppError::invalid(
            "older_than_days",
            "Give an age between 0 and 36,500 days.",
        ));
    }
    if !ORDER.contains(&rule.to_class.as_str()) || rule.to_class == "STANDARD" {
        return Err(AppError::invalid(
            "to_class",
            "Rules move files to a colder class than Standard.",
        ));
    }
    if !rule.kind.is_empty() && !crate::files::KINDS.contains(&rule.kind.as_str()) {
        return Err(AppError::invalid("kind", "Unknown file type."));
    }
    if rule.min_size.is_some_and(|s| s < 0) {
        return Err(AppError::invalid("min_size", "A size cannot be negative."));
    }
    crate::files::check_folder_path(&rule.folder_path)?;
    Ok(())
}

/// Replaces a vault's rules (admins and owners), in the order given.
pub async fn save_rules(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    rules: &[ArchiveRule],
) -> Result<Vec<ArchiveRule>, AppError> {
    let vault = crate::vaults::service::check_vault(&st.db, actor, vault_id, Role::Admin).await?;
    if rules.len() > 20 {
        return Err(AppError::invalid("rules", "A vault has at most 20 rules."));
    }
    let workspace_id = crate::vaults::service::get_vault(&st.db, actor, &vault)
        .await?
        .workspace_id;
    for r in rules {
        check(r)?;
        // The plan's classes, as for uploads and class changes by hand.
        crate::usage::service::check_class(st, &workspace_id, &r.to_class).await?;
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query("DELETE FROM archive_rules WHERE vault_id = $1")
        .bind(&vault)
        .execute(&mut *tx)
        .await?;
    for (i, r) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO archive_rules (id, vault_id, position, older_than_days, kind, min_size, folder_path, to_class, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(&vault)
        .bind(i as i64)
        .bind(r.older_than_days)
        .bind(&r.kind)
        .bind(r.min_size)
        .bind(r.folder_path.trim_matches('/'))
        .bind(&r.to_class)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let (ws,): (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(&vault)
        .fetch_one(&mut *tx)
        .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(Some(&ws), "vault.rules", format!("vault:{vault}"))
            .detail(format!("{} rules", rules.len())),
    )
    .await?;
    tx.commit().await?;
    list_rules(&st.db, actor, &vault).await
}

/// The files each rule takes today, in rule order (a file goes to its first match):
/// (rule, [(id, size, class)]).
async fn matches(
    st: &AppState,
    vault_id: &str,
    rules: &[ArchiveRule],
) -> Result<Vec<Vec<(String, i64, String)>>, AppError> {
    let now = st.clock.now_ms();
    let mut taken = std::collections::HashSet::new();
    let mut out = vec![];
    for r in rules {
        let to = ORDER.iter().position(|c| *c == r.to_class).unwrap_or(0);
        let warmer: Vec<&str> = ORDER[..to].to_vec();
        let mut sql = Sql::new(
            "SELECT f.id, f.size, f.storage_class FROM files f LEFT JOIN folders d ON d.id = f.folder_id WHERE f.vault_id = ",
        );
        let v = sql.arg(vault_id);
        sql.push(&v);
        sql.push(" AND f.deleted_at IS NULL AND f.state IN ('available', 'restored')");
        let cutoff = sql.arg(now - r.older_than_days * 86_400_000);
        sql.push(&format!(" AND f.created_at <= {cutoff}"));
        let classes: Vec<String> = warmer.iter().map(|c| sql.arg(*c)).collect();
        if classes.is_empty() {
            out.push(vec![]);
            continue;
        }
        sql.push(&format!(" AND f.storage_class IN ({})", classes.join(", ")));
        if !r.kind.is_empty() {
            let k = sql.arg(&r.kind);
            sql.push(&format!(" AND f.kind = {k}"));
        }
        if let Some(m) = r.min_size {
            let p = sql.arg(m);
            sql.push(&format!(" AND f.size >= {p}"));
        }
        if !r.folder_path.is_empty() {
            let p = sql.arg(&r.folder_path);
            let sub = sql.arg(format!(
                "{}/%",
                r.folder_path
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            ));
            sql.push(&format!(
                " AND (d.path = {p} OR d.path LIKE {sub} ESCAPE '\\')"
            ));
        }
        sql.push(" ORDER BY f.id");
        let rows: Vec<(String, i64, String)> = sql.query_as().fetch_all(&st.db.pool).await?;
        out.push(
            rows.into_iter()
                .filter(|r| taken.insert(r.0.clone()))
                .collect(),
        );
    }
    Ok(out)
}

/// What each rule would move today, and the monthly saving.
pub async fn preview_rules(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
) -> Result<Vec<RulePreview>, AppError> {
    let rules = list_rules(&st.db, actor, vault_id).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let found = matches(st, vault_id, &rules).await?;
    Ok(rules
        .iter()
        .zip(found)
        .map(|(r, files)| RulePreview {
            files: files.len() as i64,
            bytes: files.iter().map(|f| f.1).sum(),
            monthly_saving_micros: files
                .iter()
                .map(|(_, size, class)| {
                    prices.monthly_cost_micros(class, *size)
                        - prices.monthly_cost_micros(&r.to_class, *size)
                })
                .sum(),
        })
        .collect())
}

/// Applies a vault's rules now (the job). Idempotent: a moved file no longer matches.
pub async fn apply_rules(st: &AppState, vault_id: &str) -> Result<i64, AppError> {
    let rules: Vec<ArchiveRule> = sqlx::query_as(
        "SELECT id, older_than_days, kind, min_size, folder_path, to_class FROM archive_rules
         WHERE vault_id = $1 ORDER BY position",
    )
    .bind(vault_id)
    .fetch_all(&st.db.pool)
    .await?;
    if rules.is_empty() {
        return Ok(0);
    }
    let found = matches(st, vault_id, &rules).await?;
    // A rule saved under a plan that allowed its class does nothing after a downgrade.
    let (workspace_id,): (String,) =
        sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
            .bind(vault_id)
            .fetch_one(&st.db.pool)
            .await?;
    let plan = crate::usage::service::plan_for(st, &workspace_id).await?;
    let mut moved = 0;
    for (r, files) in rules.iter().zip(found) {
        if !plan.allows_class(&r.to_class) {
            tracing::info!(%vault_id, class = %r.to_class, plan = %plan.id, "archiving rule skipped: class not in the plan");
            continue;
        }
        let ids: Vec<String> = files.into_iter().map(|f| f.0).collect();
        let mut by_rule = 0;
        for chunk in ids.chunks(500) {
            by_rule +=
                super::service::change_class_checked(st, "", vault_id, chunk, &r.to_class).await?;
        }
        if by_rule > 0 {
            crate::audit::service::record_automatic(
                st,
                &workspace_id,
                "file.class",
                format!("vault:{vault_id}"),
                format!(
                    "{by_rule} files to {} by the vault's archiving rule (older than {} days)",
                    r.to_class, r.older_than_days
                ),
            )
            .await?;
        }
        moved += by_rule;
    }
    if moved > 0 {
        tracing::info!(%vault_id, files = moved, "archiving rules applied");
    }
    Ok(moved)
}

/// "Apply now": queues the vault's rules (members and up).
pub async fn apply_now(st: &AppState, actor: &Actor, vault_id: &str) -> Result<(), AppError> {
    let vault = crate::vaults::service::check_vault(&st.db, actor, vault_id, Role::Member).await?;
    let now = st.clock.now_ms();
    jobs::enqueue(
        &st.db,
        APPLY_RULES,
        Some(&format!("rules:{vault}")),
        &vault,
        now,
        now,
    )
    .await
}

/// The daily pass over every vault with rules.
pub async fn apply_all(st: &AppState) -> Result<i64, AppError> {
    let vaults: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT r.vault_id FROM archive_rules r JOIN vaults v ON v.id = r.vault_id WHERE v.deleted_at IS NULL",
    )
    .fetch_all(&st.db.pool)
    .await?;
    let mut n = 0;
    for (v,) in vaults {
        n += apply_rules(st, &v).await?;
    }
    Ok(n)
}

/// The job that applies every vault's archiving rules (daily).
pub const APPLY_ALL_RULES: &str = "apply_archive_rules";
/// The job that applies one vault's rules, on demand (payload: the vault id).
pub const APPLY_RULES: &str = "apply_vault_rules";

/// Runs [`APPLY_ALL_RULES`].
pub async fn apply_all_job(st: &AppState, _job: &jobs::Job) -> Result<jobs::Next, AppError> {
    let now = st.clock.now_ms();
    apply_all(st).await?;
    Ok(jobs::Next::At(now + 86_400_000))
}

/// Runs [`APPLY_RULES`].
pub async fn apply_rules_job(st: &AppState, job: &jobs::Job) -> Result<jobs::Next, AppError> {
    apply_rules(st, &job.payload).await?;
    Ok(jobs::Next::Done)
}

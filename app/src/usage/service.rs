//! Usage: the daily roll-up (a job), today's figures computed live from the last rolled-up
//! day, the usage page's summary and CSV, plans and the limits they set (checked here, before
//! any S3 request).
use super::{
    Change, ClassUsage, CostItem, DAY_MS, DailyRow, MonthUsage, Plan, Quota, Retrieval,
    UsageSummary, compute_day, day_of, days_in_month, month_of, month_start,
};
use crate::core::{Actor, AppState, Db, new_id};
use crate::error::AppError;
use crate::format;
use crate::pricing::{GIB, PriceList};

const DAILY_COLUMNS: &str = "workspace_id, vault_id, storage_class, day, bytes_end, objects_end,
    billable_end, standard_end, byte_hours, cost_micros, early_fee_micros";
const CHANGE_COLUMNS: &str =
    "workspace_id, vault_id, storage_class, bytes, objects, since, leaves, at";
/// Days one roll-up run handles at most (a server that was off for a year catches up in a
/// few runs).
const MAX_DAYS_PER_RUN: i64 = 400;

pub async fn plan(db: &Db, id: &str) -> Result<Plan, AppError> {
    sqlx::query_as(
        "SELECT id, name, monthly_micros, included_gb, overage_micros_gb_month, allowed_classes,
            allowed_tiers, seats, api_access, trial_days FROM plans WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| AppError::internal(format!("no plan {id}")))
}

pub async fn plans(db: &Db) -> Result<Vec<Plan>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, name, monthly_micros, included_gb, overage_micros_gb_month, allowed_classes,
            allowed_tiers, seats, api_access, trial_days FROM plans ORDER BY position",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// The plan a workspace is on: its subscription's while that is live, else the default.
pub async fn plan_for(st: &AppState, workspace_id: &str) -> Result<Plan, AppError> {
    let sub: Option<(String,)> = sqlx::query_as(
        "SELECT plan_id FROM subscriptions
         WHERE workspace_id = $1 AND status IN ('trialing', 'active', 'past_due')",
    )
    .bind(workspace_id)
    .fetch_optional(&st.db.pool)
    .await?;
    match sub {
        Some((id,)) => plan(&st.db, &id).await,
        None => plan(&st.db, &st.config.default_plan).await,
    }
}

/// What counts against a plan's storage: bytes kept in the vaults, bytes in the trash (still
/// in S3, and billed, until purged: otherwise upload, trash, repeat would store for free),
/// and bytes of uploads under way (reserved when they start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoredBytes {
    pub kept: i64,
    pub trash: i64,
    pub uploading: i64,
}

impl StoredBytes {
    pub fn total(&self) -> i64 {
        self.kept + self.trash + self.uploading
    }
}

pub async fn stored_bytes(db: &Db, workspace_id: &str) -> Result<StoredBytes, AppError> {
    let mut conn = db.pool.acquire().await?;
    stored_bytes_in(&mut conn, workspace_id).await
}

/// [`stored_bytes`] on a connection (inside a reservation's transaction).
pub async fn stored_bytes_in(
    conn: &mut sqlx::AnyConnection,
    workspace_id: &str,
) -> Result<StoredBytes, AppError> {
    let (kept,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(s.bytes), 0) AS BIGINT) FROM vault_stats s
         JOIN vaults v ON v.id = s.vault_id WHERE v.workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await?;
    // Two statements, each matching a partial index (uploads under way, the trash), so a
    // workspace with millions of files is not scanned on every start.
    let (uploading,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files
         WHERE workspace_id = $1 AND state = 'uploading'",
    )
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await?;
    let (trash,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files
         WHERE workspace_id = $1 AND deleted_at IS NOT NULL AND state <> 'uploading'",
    )
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(StoredBytes {
        kept,
        trash,
        uploading,
    })
}

/// Refuses an upload that would take a hard-quota plan past its storage: a quick check before
/// any S3 request, and again at completion (when `already_reserved`, the upload's own size,
/// is among the uploading bytes already). [`reserve_upload`] is the one that holds under
/// concurrency, when the upload is recorded.
pub async fn check_upload(
    db: &Db,
    plan: &Plan,
    workspace_id: &str,
    size: i64,
    already_reserved: i64,
) -> Result<(), AppError> {
    if plan.overage_micros_gb_month > 0 {
        return Ok(());
    }
    let mut used = stored_bytes(db, workspace_id).await?;
    used.uploading -= already_reserved;
    quota_answer(plan, used, size)
}

/// Inside the transaction that records an upload (before its file row is inserted): holds
/// the workspace's reservation lock, then checks the plan against what is stored and reserved
/// now. On PostgreSQL the lock is the workspace row (`FOR UPDATE`, until commit); on SQLite
/// the transaction began with `BEGIN IMMEDIATE`, so it holds the database's write lock
/// already and reservations run one at a time. Of parallel starts that together go past the
/// plan, only those that fit are recorded. The plan is read before the transaction (`plan`):
/// on SQLite a query on another pooled connection would wait behind the writers queued for
/// the lock.
pub async fn reserve_upload(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    plan: &Plan,
    workspace_id: &str,
    size: i64,
) -> Result<(), AppError> {
    if plan.overage_micros_gb_month > 0 {
        return Ok(());
    }
    if db.dialect == crate::core::db::Dialect::Postgres {
        sqlx::query("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE")
            .bind(workspace_id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    let used = stored_bytes_in(conn, workspace_id).await?;
    quota_answer(plan, used, size)
}

fn quota_answer(plan: &Plan, used: StoredBytes, size: i64) -> Result<(), AppError> {
    if used.total() + size <= plan.included_bytes() {
        return Ok(());
    }
    let mut also = vec![];
    if used.trash > 0 {
        also.push(format!("{} in the trash", format::bytes(used.trash)));
    }
    if used.uploading > 0 {
        also.push(format!("{} uploading", format::bytes(used.uploading)));
    }
    Err(AppError::PlanLimit {
        message: format!(
            "This upload ({}) would take you past the {} GB of the {} plan ({} used{}). Free some space (empty the trash), or upgrade for more.",
            format::bytes(size),
            plan.included_gb,
            plan.name,
            format::bytes(used.kept),
            if also.is_empty() {
                String::new()
            } else {
                format!(", {}", also.join(", "))
            }
        ),
    })
}

/// Refuses a restore tier the plan does not include.
pub async fn check_tier(st: &AppState, workspace_id: &str, tier: &str) -> Result<(), AppError> {
    let plan = plan_for(st, workspace_id).await?;
    if !plan.allows_tier(tier) {
        return Err(AppError::PlanLimit {
            message: format!(
                "{tier} restores are not part of the {} plan. Choose another tier, or upgrade.",
                plan.name
            ),
        });
    }
    Ok(())
}

/// Refuses a storage class the plan does not include.
pub async fn check_class(st: &AppState, workspace_id: &str, class: &str) -> Result<(), AppError> {
    class_in_plan(&plan_for(st, workspace_id).await?, class)
}

/// Refuses a storage class the plan does not include (for a plan already read).
pub fn class_in_plan(plan: &Plan, class: &str) -> Result<(), AppError> {
    if !plan.allows_class(class) {
        return Err(AppError::PlanLimit {
            message: format!(
                "{} is not part of the {} plan.",
                crate::files::class_label(class),
                plan.name
            ),
        });
    }
    Ok(())
}

/// Records a retrieval (a restore's copy became ready) with its cost.
#[allow(clippy::too_many_arguments)]
pub async fn record_retrieval(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    workspace_id: &str,
    vault_id: &str,
    class: &str,
    tier: &str,
    bytes: i64,
    cost_micros: i64,
    at: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO usage_events (id, workspace_id, vault_id, kind, storage_class, tier, bytes,
             requests, cost_micros, at)
         VALUES ($1, $2, $3, 'retrieval', $4, $5, $6, 1, $7, $8)",
    )
    .bind(new_id())
    .bind(workspace_id)
    .bind(vault_id)
    .bind(class)
    .bind(tier)
    .bind(bytes)
    .bind(cost_micros)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn daily_rows(db: &Db, day: i64, workspace: Option<&str>) -> Result<Vec<DailyRow>, AppError> {
    let sql = format!(
        "SELECT {DAILY_COLUMNS} FROM usage_daily WHERE day = $1
           AND (objects_end <> 0 OR bytes_end <> 0) AND ($2 = '' OR workspace_id = $2)"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(day)
        .bind(workspace.unwrap_or(""))
        .fetch_all(&db.pool)
        .await?)
}

async fn changes(
    db: &Db,
    from: i64,
    to: i64,
    workspace: Option<&str>,
) -> Result<Vec<Change>, AppError> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM usage_changes WHERE at >= $1 AND at < $2
           AND ($3 = '' OR workspace_id = $3) ORDER BY at, seq"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(to)
        .bind(workspace.unwrap_or(""))
        .fetch_all(&db.pool)
        .await?)
}

async fn last_rolled_day(db: &Db) -> Result<Option<i64>, AppError> {
    let (d,): (Option<i64>,) = sqlx::query_as("SELECT MAX(day) FROM usage_rollups")
        .fetch_one(&db.pool)
        .await?;
    Ok(d)
}

/// The job: rolls up every whole day not rolled up yet (before today), one transaction per
/// day (its rows are replaced whole, so a day run twice ends the same). Returns the days done.
pub async fn rollup_pending(st: &AppState) -> Result<i64, AppError> {
    // A day is rolled up a quarter of an hour after it ends: changes are stamped by the
    // database's clock when written and may commit a little later.
    let today = day_of(st.clock.now_ms() - 15 * 60_000);
    let first = match last_rolled_day(&st.db).await? {
        Some(d) => d + 1,
        None => {
            let (min,): (Option<i64>,) = sqlx::query_as("SELECT MIN(at) FROM usage_changes")
                .fetch_one(&st.db.pool)
                .await?;
            match min {
                Some(at) => day_of(at),
                None => return Ok(0),
            }
        }
    };
    let prices = crate::pricing::service::load(&st.db).await?;
    let mut done = 0;
    for day in first..today.min(first + MAX_DAYS_PER_RUN) {
        rollup_day(st, &prices, day).await?;
        done += 1;
    }
    Ok(done)
}

/// Rolls up one day from the day before and the day's changes.
pub async fn rollup_day(st: &AppState, prices: &PriceList, day: i64) -> Result<(), AppError> {
    let prev = daily_rows(&st.db, day - 1, None).await?;
    let ch = changes(&st.db, day * DAY_MS, (day + 1) * DAY_MS, None).await?;
    let rows = compute_day(prices, &prev, &ch, day, (day + 1) * DAY_MS);
    let mut tx = st.db.begin().await?;
    sqlx::query("DELETE FROM usage_daily WHERE day = $1")
        .bind(day)
        .execute(&mut *tx)
        .await?;
    for r in rows.iter().filter(|r| {
        r.objects_end != 0 || r.bytes_end != 0 || r.byte_hours != 0 || r.early_fee_micros != 0
    }) {
        let sql = format!(
            "INSERT INTO usage_daily ({DAILY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&r.workspace_id)
            .bind(&r.vault_id)
            .bind(&r.storage_class)
            .bind(r.day)
            .bind(r.bytes_end)
            .bind(r.objects_end)
            .bind(r.billable_end)
            .bind(r.standard_end)
            .bind(r.byte_hours)
            .bind(r.cost_micros)
            .bind(r.early_fee_micros)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO usage_rollups (day, done_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(st.clock.now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The workspace's rows of the days not rolled up yet, today up to now included.
pub async fn live_rows(
    st: &AppState,
    prices: &PriceList,
    workspace_id: &str,
) -> Result<Vec<DailyRow>, AppError> {
    let now = st.clock.now_ms();
    let today = day_of(now);
    let (mut prev, first) = match last_rolled_day(&st.db).await? {
        Some(d) if d < today => (daily_rows(&st.db, d, Some(workspace_id)).await?, d + 1),
        Some(_) => (vec![], today),
        None => (
            vec![],
            today.min(
                first_change_day(&st.db, workspace_id)
                    .await?
                    .unwrap_or(today),
            ),
        ),
    };
    let ch = changes(&st.db, first * DAY_MS, now + 1, Some(workspace_id)).await?;
    let mut out = vec![];
    for day in first..=today {
        let rows = compute_day(
            prices,
            &prev,
            &ch,
            day,
            if day == today {
                now
            } else {
                (day + 1) * DAY_MS
            },
        );
        out.extend(rows.iter().cloned());
        prev = rows;
    }
    Ok(out)
}

async fn first_change_day(db: &Db, workspace_id: &str) -> Result<Option<i64>, AppError> {
    let (min,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(at) FROM usage_changes WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(min.map(day_of))
}

/// The workspace the usage and billing pages are about: the one the actor works in
/// ([`crate::workspaces::service::current`]).
pub async fn own_workspace(db: &Db, actor: &Actor) -> Result<(String, String), AppError> {
    // Usage and billing are the whole workspace's (every vault's costs, names and folders).
    if !actor.only_vault().is_empty() {
        return Err(AppError::Forbidden {
            message: "A key limited to one vault cannot read the workspace's usage.".into(),
        });
    }
    let (id, name, _) = crate::workspaces::service::current(db, actor).await?;
    Ok((id, name))
}

/// What a month of keeping `billable` class bytes and `standard` Standard bytes costs.
fn monthly(prices: &PriceList, class: &str, billable: i64, standard: i64) -> i64 {
    let p = prices
        .get(class)
        .map(|p| p.storage_micros_gb_month)
        .unwrap_or(0);
    ((billable as f64 * p as f64 + standard as f64 * prices.standard_micros() as f64) / GIB).round()
        as i64
}

/// What the same bytes and objects would cost a month in Deep Archive.
fn deep_archive(prices: &PriceList, bytes: i64, objects: i64) -> i64 {
    match prices.get("DEEP_ARCHIVE") {
        Some(p) => monthly(
            prices,
            "DEEP_ARCHIVE",
            bytes + objects * p.overhead_class_bytes,
            objects * p.overhead_standard_bytes,
        ),
        None => 0,
    }
}

/// The usage page.
pub async fn summary(st: &AppState, actor: &Actor) -> Result<UsageSummary, AppError> {
    let (ws, ws_name) = own_workspace(&st.db, actor).await?;
    let plan = plan_for(st, &ws).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let now = st.clock.now_ms();
    let today = day_of(now);
    let live = live_rows(st, &prices, &ws).await?;
    let current: Vec<&DailyRow> = live.iter().filter(|r| r.day == today).collect();

    let mut classes: Vec<ClassUsage> = vec![];
    for class in crate::vaults::STORAGE_CLASSES {
        let rows: Vec<&&DailyRow> = current
            .iter()
            .filter(|r| r.storage_class == class)
            .collect();
        if rows.is_empty() {
            continue;
        }
        classes.push(ClassUsage {
            class: class.to_string(),
            bytes: rows.iter().map(|r| r.bytes_end).sum(),
            objects: rows.iter().map(|r| r.objects_end).sum(),
            monthly_micros: rows
                .iter()
                .map(|r| monthly(&prices, class, r.billable_end, r.standard_end))
                .sum(),
        });
    }
    let monthly_now: i64 = classes.iter().map(|c| c.monthly_micros).sum();

    // The last 12 months, from the rolled-up days and the live ones.
    let first_month_day = {
        let mut d = month_start(today);
        for _ in 0..11 {
            d = month_start(d - 1);
        }
        d
    };
    let past: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, CAST(SUM(cost_micros) AS BIGINT), CAST(SUM(early_fee_micros) AS BIGINT),
            CAST(SUM(bytes_end) AS BIGINT)
         FROM usage_daily WHERE workspace_id = $1 AND day >= $2 GROUP BY day",
    )
    .bind(&ws)
    .bind(first_month_day)
    .fetch_all(&st.db.pool)
    .await?;
    let mut per_day: std::collections::BTreeMap<i64, (i64, i64, i64)> = past
        .into_iter()
        .map(|(d, c, f, b)| (d, (c, f, b)))
        .collect();
    for r in &live {
        let e = per_day.entry(r.day).or_default();
        e.0 += r.cost_micros;
        e.1 += r.early_fee_micros;
        e.2 += r.bytes_end;
    }
    let retrievals_12: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT at, cost_micros FROM usage_events WHERE workspace_id = $1 AND at >= $2",
    )
    .bind(&ws)
    .bind(first_month_day * DAY_MS)
    .fetch_all(&st.db.pool)
    .await?;
    let mut months: Vec<MonthUsage> = vec![];
    let mut d = first_month_day;
    while d <= today {
        let m = month_of(d);
        let next = d + days_in_month(d);
        let days: Vec<&(i64, i64, i64)> = per_day.range(d..next).map(|(_, v)| v).collect();
        months.push(MonthUsage {
            month: m,
            storage_micros: days.iter().map(|v| v.0).sum(),
            early_fee_micros: days.iter().map(|v| v.1).sum(),
            retrieval_micros: retrievals_12
                .iter()
                .filter(|(at, _)| (d..next).contains(&day_of(*at)))
                .map(|(_, c)| c)
                .sum(),
            avg_bytes: if days.is_empty() {
                0
            } else {
                days.iter().map(|v| v.2).sum::<i64>() / days.len() as i64
            },
        });
        d = next;
    }
    let this = months.last().cloned();
    let so_far = this
        .as_ref()
        .map(|m| m.storage_micros + m.early_fee_micros + m.retrieval_micros)
        .unwrap_or(0);
    let month_end = (month_start(today) + days_in_month(today)) * DAY_MS;
    let projected =
        so_far + (monthly_now as f64 * (month_end - now) as f64 / (30.0 * DAY_MS as f64)) as i64;

    let retrievals: Vec<Retrieval> = sqlx::query_as(
        "SELECT e.at, v.name AS vault_name, e.storage_class, e.tier, e.bytes, e.requests, e.cost_micros
         FROM usage_events e JOIN vaults v ON v.id = e.vault_id
         WHERE e.workspace_id = $1 AND e.at >= $2 ORDER BY e.at DESC LIMIT 100",
    )
    .bind(&ws)
    .bind(month_start(today) * DAY_MS)
    .fetch_all(&st.db.pool)
    .await?;

    // Vaults by cost now.
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM vaults WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_all(&st.db.pool)
            .await?;
    let mut top_vaults: Vec<CostItem> = names
        .iter()
        .filter_map(|(id, name)| {
            let rows: Vec<&&DailyRow> = current.iter().filter(|r| &r.vault_id == id).collect();
            if rows.is_empty() {
                return None;
            }
            let bytes = rows.iter().map(|r| r.bytes_end).sum();
            let objects = rows.iter().map(|r| r.objects_end).sum();
            Some(CostItem {
                vault_id: id.clone(),
                vault_name: name.clone(),
                path: String::new(),
                bytes,
                monthly_micros: rows
                    .iter()
                    .map(|r| monthly(&prices, &r.storage_class, r.billable_end, r.standard_end))
                    .sum(),
                deep_archive_micros: deep_archive(&prices, bytes, objects),
            })
        })
        .collect();
    top_vaults.sort_by_key(|c| std::cmp::Reverse(c.monthly_micros));
    top_vaults.truncate(10);

    // Folders by cost now (files directly in them).
    let folders: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT f.vault_id, v.name, COALESCE(d.path, ''), f.storage_class,
            CAST(SUM(f.size) AS BIGINT), CAST(COUNT(*) AS BIGINT)
         FROM files f JOIN vaults v ON v.id = f.vault_id LEFT JOIN folders d ON d.id = f.folder_id
         WHERE f.workspace_id = $1 AND f.state <> 'uploading' AND f.deleted_at IS NULL
         GROUP BY f.vault_id, v.name, d.path, f.storage_class",
    )
    .bind(&ws)
    .fetch_all(&st.db.pool)
    .await?;
    let mut by_folder: std::collections::BTreeMap<(String, String, String), (i64, i64, i64)> =
        Default::default();
    for (vault, vname, path, class, bytes, objects) in folders {
        let p = prices.get(&class);
        let (oc, os) = p
            .map(|p| (p.overhead_class_bytes, p.overhead_standard_bytes))
            .unwrap_or_default();
        let e = by_folder.entry((vault, vname, path)).or_default();
        e.0 += bytes;
        e.1 += objects;
        e.2 += monthly(&prices, &class, bytes + objects * oc, objects * os);
    }
    let mut top_folders: Vec<CostItem> = by_folder
        .into_iter()
        .map(
            |((vault_id, vault_name, path), (bytes, objects, cost))| CostItem {
                vault_id,
                vault_name,
                path,
                bytes,
                monthly_micros: cost,
                deep_archive_micros: deep_archive(&prices, bytes, objects),
            },
        )
        .collect();
    top_folders.sort_by_key(|c| std::cmp::Reverse(c.monthly_micros));
    top_folders.truncate(10);

    Ok(UsageSummary {
        workspace_name: ws_name,
        plan,
        stored_bytes: classes.iter().map(|c| c.bytes).sum(),
        classes,
        month_so_far_micros: so_far,
        projected_micros: projected,
        months,
        retrievals,
        top_vaults,
        top_folders,
    })
}

/// The daily figures as CSV (rolled-up days, then today so far).
pub async fn daily_csv(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    let (ws, _) = own_workspace(&st.db, actor).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let sql = format!(
        "SELECT {DAILY_COLUMNS} FROM usage_daily WHERE workspace_id = $1 ORDER BY day, vault_id, storage_class"
    );
    let mut rows: Vec<DailyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&ws)
        .fetch_all(&st.db.pool)
        .await?;
    rows.extend(live_rows(st, &prices, &ws).await?);
    let names: std::collections::HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT id, name FROM vaults WHERE workspace_id = $1",
    )
    .bind(&ws)
    .fetch_all(&st.db.pool)
    .await?
    .into_iter()
    .collect();
    let mut out = String::from(
        "date,vault,storage_class,bytes_at_end_of_day,objects_at_end_of_day,byte_hours,storage_cost_usd,early_deletion_fee_usd\n",
    );
    let esc = format::csv_cell;
    for r in rows {
        let date = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(r.day);
        out.push_str(&format!(
            "{:04}-{:02}-{:02},{},{},{},{},{},{:.6},{:.6}\n",
            date.year(),
            date.month() as u8,
            date.day(),
            esc(names
                .get(&r.vault_id)
                .map(String::as_str)
                .unwrap_or("(deleted vault)")),
            r.storage_class,
            r.bytes_end,
            r.objects_end,
            r.byte_hours,
            r.cost_micros as f64 / 1e6,
            r.early_fee_micros as f64 / 1e6
        ));
    }
    Ok(out)
}

/// The header's meter: the plan's storage and how much is used (None when not signed in).
pub async fn quota(st: &AppState, actor: &Actor) -> Result<Quota, AppError> {
    let (ws, _) = own_workspace(&st.db, actor).await?;
    let plan = plan_for(st, &ws).await?;
    // The trash counts against the plan until it is purged.
    let used = stored_bytes(&st.db, &ws).await?;
    let stored = used.kept + used.trash;
    let failed: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT payment_failed_at FROM subscriptions WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_optional(&st.db.pool)
            .await?;
    Ok(Quota {
        payment_failed: matches!(failed, Some((Some(_),))),
        included_bytes: plan.included_bytes(),
        plan_name: plan.name,
        used_bytes: stored,
    })
}

/// The daily usage roll-up's job (hourly: it rolls up each whole day once).
pub const ROLLUP_USAGE: &str = "rollup_usage";

/// Runs [`ROLLUP_USAGE`].
pub async fn rollup_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let days = rollup_pending(st).await?;
    if days > 0 {
        tracing::info!(days, "usage rolled up");
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

//! Restores: bringing archived files (GLACIER, DEEP_ARCHIVE) back for a number of days.
//!
//! A person asks for a selection with a tier; the request is a `restore_requests` row and each
//! archived file a `restores` row (`requested`). The worker ([`poll`]) then, per cycle:
//! sends RestoreObject for requested rows (at most [`SEND_BATCH`], [`CONCURRENCY`] at a time:
//! throttled), looks at rows in flight with HeadObject when they are due (first when the tier
//! usually finishes, then backing off), marks finished copies `ready` (the file becomes
//! `restored` until the copy's expiry), and marks copies whose days are over `expired` (the
//! file is `archived` again). When a request has no file left in flight its owner gets a
//! notification and a mail. Every step is a guarded state change, so a cycle run twice, or
//! cut short and run again, changes nothing twice.
//!
//! In production S3 Event Notifications (`s3:ObjectRestore:Completed` through SQS) can tell
//! the app at once; polling stays as the fallback and is what any S3 offers (README).
use super::service::is_archive;
use super::{RestoreFile, RestoreRequest};
use crate::core::db::Sql;
use crate::core::storage::{RestoreSent, RestoreStatus};
use crate::core::{Actor, AppState, Db, jobs, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role_in};
use futures_util::StreamExt;

/// RestoreObject calls per cycle, at most.
pub const SEND_BATCH: i64 = 500;
/// HeadObject checks per cycle, at most.
pub const CHECK_BATCH: i64 = 10_000;
/// S3 requests in flight at once.
pub const CONCURRENCY: usize = 32;
/// A restore whose RestoreObject keeps failing gives up after this many tries.
const MAX_SEND_TRIES: i64 = 8;
/// A restore S3 has not finished a week after it was asked for (the slowest tier takes 48 h)
/// is given up as failed, rather than polled for ever.
const GIVE_UP_MS: i64 = 7 * 86_400_000;
/// `next_check_at` of a ready copy that never expires (the object is no longer archived).
const NEVER: i64 = 253_402_300_799_000;

/// Adds these files (checked to be in the vault) to the request: archived files and restored
/// ones (their copy is kept longer). A file already in the request, or with a restore in
/// flight, is left alone, so a step run twice adds nothing twice. Returns how many it added.
pub async fn add_files(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    request_id: &str,
    ids: &[String],
) -> Result<i64, AppError> {
    let req: Option<(String, i64)> =
        sqlx::query_as("SELECT tier, days FROM restore_requests WHERE id = $1 AND vault_id = $2")
            .bind(request_id)
            .bind(vault_id)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some((tier, days)) = req else {
        return Err(AppError::NotFound);
    };
    let retrieval = crate::pricing::service::load_retrieval(&st.db).await?;
    let mut added = 0;
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT id, s3_key, storage_class, size, state FROM files
             WHERE deleted_at IS NULL AND vault_id = ",
        );
        let v = sql.arg(vault_id);
        sql.push(&v);
        let list: Vec<String> = chunk.iter().map(|id| sql.arg(id)).collect();
        sql.push(&format!(" AND id IN ({})", list.join(", ")));
        let files: Vec<(String, String, String, i64, String)> =
            sql.query_as().fetch_all(&st.db.pool).await?;
        let now = st.clock.now_ms();
        let mut tx = st.db.begin().await?;
        let (mut n, mut bytes) = (0i64, 0i64);
        for (id, key, class, size, state) in files {
            if !is_archive(&class) || !matches!(state.as_str(), "archived" | "restored") {
                continue;
            }
            // A tier the class lacks (Expedited from Deep Archive) was refused up front for
            // what the preview saw; a file archived since then is skipped.
            if !retrieval.tiers(&class).iter().any(|t| t.tier == tier) {
                continue;
            }
            let r = sqlx::query(
                "INSERT INTO restores (id, request_id, file_id, s3_key, storage_class, size, state,
                     next_check_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, 'requested', $7, $7
                 WHERE NOT EXISTS (SELECT 1 FROM restores WHERE request_id = $2 AND file_id = $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(new_id())
            .bind(request_id)
            .bind(&id)
            .bind(&key)
            .bind(&class)
            .bind(size)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                continue;
            }
            n += 1;
            bytes += size;
            sqlx::query(
                "UPDATE files SET state = 'restoring' WHERE id = $1 AND state = 'archived'",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            crate::files::service::record_event(
                &mut tx,
                &id,
                Some(actor_id),
                "restore_requested",
                &format!("{tier}, kept {}", crate::format::count(days, "day", "days")),
                now,
            )
            .await?;
        }
        sqlx::query(
            "UPDATE restore_requests SET files = files + $1, bytes = bytes + $2 WHERE id = $3",
        )
        .bind(n)
        .bind(bytes)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        added += n;
    }
    Ok(added)
}

/// The request has all its files: it may now be reported done once they are.
pub async fn close_request(st: &AppState, request_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE restore_requests SET adding = 0 WHERE id = $1")
        .bind(request_id)
        .execute(&st.db.pool)
        .await?;
    finish_request(st, request_id).await
}

/// Brings the restore worker's next cycle forward to now.
pub async fn wake(st: &AppState) -> Result<(), AppError> {
    jobs::wake(&st.db, POLL_RESTORES, st.clock.now_ms()).await
}

/// What one worker cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollStats {
    pub sent: usize,
    pub checked: usize,
    pub ready: usize,
    pub expired: usize,
    pub failed: usize,
    /// S3 requests made (RestoreObject + HeadObject).
    pub s3_requests: usize,
    /// Rows were left for the next cycle (a batch was full).
    pub more: bool,
    /// Time spent waiting for S3, and the whole cycle (milliseconds; the rest is the database).
    pub s3_ms: u64,
    pub total_ms: u64,
}

impl PollStats {
    /// Adds another cycle's figures to these (for runs of several cycles).
    pub fn add(&mut self, o: &PollStats) {
        self.sent += o.sent;
        self.checked += o.checked;
        self.ready += o.ready;
        self.expired += o.expired;
        self.failed += o.failed;
        self.s3_requests += o.s3_requests;
        self.more = o.more;
        self.s3_ms += o.s3_ms;
        self.total_ms += o.total_ms;
    }
}

#[derive(sqlx::FromRow)]
struct Live {
    id: String,
    request_id: String,
    file_id: String,
    s3_key: String,
    storage_class: String,
    size: i64,
    checks: i64,
    sent_at: Option<i64>,
    tier: String,
    days: i64,
    workspace_id: String,
    vault_id: String,
}

/// One cycle of the restore worker (see the module's notes). Idempotent.
pub async fn poll(st: &AppState) -> Result<PollStats, AppError> {
    let mut stats = PollStats::default();
    let started = std::time::Instant::now();
    let now = st.clock.now_ms();
    let retrieval = crate::pricing::service::load_retrieval(&st.db).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    // What a ready restore cost: retrieval, the request, and the copy for its days.
    let cost = |row: &Live| {
        retrieval
            .estimate(
                &prices,
                &row.storage_class,
                &row.tier,
                &[row.size],
                row.days,
            )
            .map(|e| e.total_micros)
            .unwrap_or(0)
    };
    let min_ms = st.config.restore_poll_min_secs * 1000;
    let max_ms = (st.config.restore_poll_max_secs * 1000).max(min_ms);
    let backoff = |checks: i64| (min_ms << checks.clamp(0, 20)).min(max_ms);
    let mut touched: Vec<String> = vec![];

    // 1. Send RestoreObject for new rows.
    let due: Vec<Live> = sqlx::query_as(
        "SELECT r.id, r.request_id, r.file_id, r.s3_key, r.storage_class, r.size, r.checks, r.sent_at, q.tier,
            q.days, q.workspace_id, q.vault_id
         FROM restores r JOIN restore_requests q ON q.id = r.request_id
         WHERE r.state = 'requested' AND r.next_check_at <= $1
         ORDER BY r.next_check_at LIMIT $2",
    )
    .bind(now)
    .bind(SEND_BATCH)
    .fetch_all(&st.db.pool)
    .await?;
    stats.more |= due.len() as i64 == SEND_BATCH;
    let storage = &st.storage;
    let s3_started = std::time::Instant::now();
    let mut sent: Vec<(Live, Result<RestoreSent, AppError>)> = futures_util::stream::iter(due)
        .map(|row| async move {
            let r = storage
                .restore(&row.s3_key, &row.tier, row.days.clamp(1, 30_000) as i32)
                .await;
            (row, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    stats.s3_ms += s3_started.elapsed().as_millis() as u64;
    // Rows in one order, so two workers at once (a lapsed lease) never deadlock.
    sent.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    stats.sent = sent.len();
    stats.s3_requests += sent.len();
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    // Taken by S3: one statement per first-look time, not per row.
    let mut accepted: std::collections::BTreeMap<i64, Vec<&str>> = Default::default();
    for (row, r) in &sent {
        match r {
            Ok(RestoreSent::Accepted | RestoreSent::AlreadyInProgress) => {
                let first = if st.config.s3.embedded {
                    min_ms
                } else {
                    // No use asking before the tier usually finishes.
                    retrieval
                        .tiers(&row.storage_class)
                        .iter()
                        .find(|t| t.tier == row.tier)
                        .map(|t| t.typical_minutes * 60_000 * 9 / 10)
                        .unwrap_or(0)
                        .max(min_ms)
                };
                accepted.entry(first).or_default().push(&row.id);
            }
            Ok(RestoreSent::NotArchived) => {
                stats.ready += mark_ready(&mut tx, row, None, cost(row), now).await?;
                touched.push(row.request_id.clone());
            }
            Ok(RestoreSent::Missing) => {
                stats.failed +=
                    mark_failed(&mut tx, row, "The object is missing from storage.", now).await?;
                touched.push(row.request_id.clone());
            }
            Err(e) if row.checks + 1 >= MAX_SEND_TRIES => {
                stats.failed += mark_failed(&mut tx, row, &e.to_string(), now).await?;
                touched.push(row.request_id.clone());
            }
            Err(e) => {
                tracing::warn!(restore = %row.id, error = %e, "RestoreObject failed; will retry");
                sqlx::query(
                    "UPDATE restores SET checks = checks + 1, next_check_at = $1, error = $2,
                         updated_at = $3
                     WHERE id = $4 AND state = 'requested'",
                )
                .bind(now + backoff(row.checks + 1))
                .bind(e.to_string())
                .bind(now)
                .bind(&row.id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    for (first, ids) in accepted {
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new("UPDATE restores SET state = 'in_progress', sent_at = ");
            let at = sql.arg(now);
            let next = sql.arg(now + first);
            sql.push(&format!(
                "{at}, checks = 0, next_check_at = {next}, error = NULL, updated_at = {at}
                 WHERE state = 'requested' AND id IN ("
            ));
            let list: Vec<String> = chunk.iter().map(|id| sql.arg(*id)).collect();
            sql.push(&list.join(", ")).push(")");
            sql.query().execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;

    // 2. Look at restores in flight that are due.
    let due: Vec<Live> = sqlx::query_as(
        "SELECT r.id, r.request_id, r.file_id, r.s3_key, r.storage_class, r.size, r.checks, r.sent_at, q.tier,
            q.days, q.workspace_id, q.vault_id
         FROM restores r JOIN restore_requests q ON q.id = r.request_id
         WHERE r.state = 'in_progress' AND r.next_check_at <= $1
         ORDER BY r.next_check_at LIMIT $2",
    )
    .bind(now)
    .bind(CHECK_BATCH)
    .fetch_all(&st.db.pool)
    .await?;
    stats.more |= due.len() as i64 == CHECK_BATCH;
    let s3_started = std::time::Instant::now();
    let mut checked: Vec<(Live, Result<RestoreStatus, AppError>)> = futures_util::stream::iter(due)
        .map(|row| async move {
            let r = storage.restore_status(&row.s3_key).await;
            (row, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    stats.s3_ms += s3_started.elapsed().as_millis() as u64;
    checked.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    stats.checked = checked.len();
    stats.s3_requests += checked.len();
    let now = st.clock.now_ms();
    let overdue = |row: &Live| row.sent_at.is_some_and(|t| now - t > GIVE_UP_MS);
    for chunk in checked.chunks(500) {
        let mut tx = st.db.begin().await?;
        // Still under way (the common case): one statement per backoff step, not per row.
        let mut later: std::collections::BTreeMap<i64, Vec<&str>> = Default::default();
        for (row, r) in chunk {
            match r {
                Ok(RestoreStatus::Ready { expires_ms }) => {
                    stats.ready +=
                        mark_ready(&mut tx, row, Some(*expires_ms), cost(row), now).await?;
                    touched.push(row.request_id.clone());
                }
                Ok(RestoreStatus::NotArchived) => {
                    stats.ready += mark_ready(&mut tx, row, None, cost(row), now).await?;
                    touched.push(row.request_id.clone());
                }
                Ok(RestoreStatus::Missing) => {
                    stats.failed +=
                        mark_failed(&mut tx, row, "The object is missing from storage.", now)
                            .await?;
                    touched.push(row.request_id.clone());
                }
                // The restore S3 knew of is gone (its copy came and went unseen, or S3 lost
                // the request): ask again.
                Ok(RestoreStatus::NotRestored | RestoreStatus::Ongoing) | Err(_)
                    if overdue(row) =>
                {
                    stats.failed += mark_failed(
                        &mut tx,
                        row,
                        "Storage did not finish the restore within a week of the request.",
                        now,
                    )
                    .await?;
                    touched.push(row.request_id.clone());
                }
                Ok(RestoreStatus::NotRestored) => {
                    sqlx::query(
                        "UPDATE restores SET state = 'requested', next_check_at = $1, checks = 0,
                             updated_at = $1
                         WHERE id = $2 AND state = 'in_progress'",
                    )
                    .bind(now)
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
                }
                Ok(RestoreStatus::Ongoing) | Err(_) => {
                    if let Err(e) = r {
                        tracing::warn!(restore = %row.id, error = %e, "HeadObject failed; will retry");
                    }
                    later.entry(row.checks).or_default().push(&row.id);
                }
            }
        }
        for (checks, ids) in later {
            let mut sql = Sql::new("UPDATE restores SET checks = checks + 1, next_check_at = ");
            let next = sql.arg(now + backoff(checks + 1));
            let at = sql.arg(now);
            sql.push(&format!(
                "{next}, updated_at = {at} WHERE state = 'in_progress' AND id IN ("
            ));
            let list: Vec<String> = ids.iter().map(|id| sql.arg(*id)).collect();
            sql.push(&list.join(", ")).push(")");
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }

    // 3. Copies whose days are over.
    let expired: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, file_id FROM restores
         WHERE state = 'ready' AND next_check_at <= $1
         ORDER BY next_check_at LIMIT $2",
    )
    .bind(now)
    .bind(CHECK_BATCH)
    .fetch_all(&st.db.pool)
    .await?;
    stats.more |= expired.len() as i64 == CHECK_BATCH;
    for chunk in expired.chunks(500) {
        let mut tx = st.db.begin().await?;
        for (id, file_id) in chunk {
            let r = sqlx::query(
                "UPDATE restores SET state = 'expired', updated_at = $1
                 WHERE id = $2 AND state = 'ready'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                continue;
            }
            stats.expired += 1;
            // A newer restore of the file may have moved its expiry on.
            let f = sqlx::query(
                "UPDATE files SET restored_until = NULL,
                     state = CASE WHEN EXISTS (SELECT 1 FROM restores WHERE file_id = $1
                                     AND state IN ('requested', 'in_progress'))
                             THEN 'restoring' ELSE 'archived' END
                 WHERE id = $1 AND state = 'restored' AND restored_until <= $2",
            )
            .bind(file_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if f.rows_affected() > 0 {
                crate::files::service::record_event(
                    &mut tx,
                    file_id,
                    None,
                    "restore_expired",
                    "",
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
    }

    // Requests nobody will report otherwise: a job that added files and then failed for good
    // (still 'adding' a day on), or whose files went while they were on their way.
    sqlx::query(
        "UPDATE restore_requests SET adding = 0 WHERE adding = 1 AND notified_at IS NULL
           AND requested_at < $1",
    )
    .bind(now - 86_400_000)
    .execute(&st.db.pool)
    .await?;
    let stale: Vec<(String,)> = sqlx::query_as(
        "SELECT q.id FROM restore_requests q
         WHERE q.notified_at IS NULL AND q.adding = 0
           AND NOT EXISTS (SELECT 1 FROM restores r WHERE r.request_id = q.id
                             AND r.state IN ('requested', 'in_progress'))
         LIMIT 100",
    )
    .fetch_all(&st.db.pool)
    .await?;
    touched.extend(stale.into_iter().map(|r| r.0));
    touched.sort();
    touched.dedup();
    for request_id in &touched {
        finish_request(st, request_id).await?;
    }
    if stats.s3_requests > 0 || stats.expired > 0 {
        tracing::info!(
            sent = stats.sent,
            checked = stats.checked,
            ready = stats.ready,
            expired = stats.expired,
            failed = stats.failed,
            "restore worker cycle"
        );
    }
    stats.total_ms = started.elapsed().as_millis() as u64;
    Ok(stats)
}

async fn mark_ready(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    row: &Live,
    expires: Option<i64>,
    cost_micros: i64,
    now: i64,
) -> Result<usize, AppError> {
    let r = sqlx::query(
        "UPDATE restores SET state = 'ready', ready_at = $1, expires_at = $2, next_check_at = $3,
             error = NULL, updated_at = $1
         WHERE id = $4 AND state IN ('requested', 'in_progress')",
    )
    .bind(now)
    .bind(expires)
    .bind(expires.unwrap_or(NEVER))
    .bind(&row.id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(0);
    }
    if expires.is_some() {
        crate::usage::service::record_retrieval(
            tx,
            &row.workspace_id,
            &row.vault_id,
            &row.storage_class,
            &row.tier,
            row.size,
            cost_micros,
            now,
        )
        .await?;
    }
    match expires {
        Some(until) => {
            sqlx::query(
                "UPDATE files SET state = 'restored', restored_until = $1
                 WHERE id = $2 AND state IN ('archived', 'restoring', 'restored')",
            )
            .bind(until)
            .bind(&row.file_id)
            .execute(&mut **tx)
            .await?;
            crate::files::service::record_event(
                tx,
                &row.file_id,
                None,
                "restore_ready",
                &format!("until {}", crate::format::time_ms(until)),
                now,
            )
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE files SET state = 'available', restored_until = NULL
                 WHERE id = $1 AND state IN ('archived', 'restoring', 'restored')",
            )
            .bind(&row.file_id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(1)
}

async fn mark_failed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    row: &Live,
    why: &str,
    now: i64,
) -> Result<usize, AppError> {
    let r = sqlx::query(
        "UPDATE restores SET state = 'failed', error = $1, updated_at = $2
         WHERE id = $3 AND state IN ('requested', 'in_progress')",
    )
    .bind(why)
    .bind(now)
    .bind(&row.id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(0);
    }
    sqlx::query("UPDATE files SET state = 'archived' WHERE id = $1 AND state = 'restoring'")
        .bind(&row.file_id)
        .execute(&mut **tx)
        .await?;
    Ok(1)
}

/// When a closed request has no file in flight: its ready time, and (once) a notification and
/// a mail to the person who asked.
async fn finish_request(st: &AppState, request_id: &str) -> Result<(), AppError> {
    let counts: Option<(i64, String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT CAST(q.adding AS BIGINT), q.user_id, q.label, v.name,
            CAST((SELECT COUNT(*) FROM restores r WHERE r.request_id = q.id
                  AND r.state IN ('requested', 'in_progress')) AS BIGINT),
            CAST((SELECT COUNT(*) FROM restores r WHERE r.request_id = q.id
                  AND r.state = 'ready') AS BIGINT),
            CAST((SELECT COUNT(*) FROM restores r WHERE r.request_id = q.id
                  AND r.state = 'failed') AS BIGINT)
         FROM restore_requests q JOIN vaults v ON v.id = q.vault_id
         WHERE q.id = $1 AND q.notified_at IS NULL",
    )
    .bind(request_id)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some((adding, user_id, label, vault, live, ready, failed)) = counts else {
        return Ok(());
    };
    if adding != 0 || live > 0 {
        return Ok(());
    }
    // Its files went (deleted meanwhile): nothing to tell.
    let quiet = ready + failed == 0;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    let r = sqlx::query(
        "UPDATE restore_requests SET notified_at = $1,
             ready_at = (SELECT MAX(ready_at) FROM restores WHERE request_id = $2)
         WHERE id = $2 AND notified_at IS NULL",
    )
    .bind(now)
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 || quiet {
        tx.commit().await?;
        return Ok(());
    }
    let expires: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT MIN(expires_at) FROM restores WHERE request_id = $1 AND state = 'ready'",
    )
    .bind(request_id)
    .fetch_optional(&mut *tx)
    .await?;
    let until = expires
        .and_then(|e| e.0)
        .map(|t| format!(" until {}", crate::format::time_ms(t)))
        .unwrap_or_default();
    let (title, body) = if failed == 0 {
        (
            format!("Restore ready: {label}"),
            format!(
                "{} from “{vault}” can be downloaded{until}.",
                crate::format::count(ready, "file", "files")
            ),
        )
    } else {
        (
            format!("Restore finished with problems: {label}"),
            format!(
                "{} from “{vault}” can be downloaded{until}; {} could not be restored. The Restores page says why.",
                crate::format::count(ready, "file", "files"),
                crate::format::count(failed, "file", "files")
            ),
        )
    };
    let link = format!("/restores?request={request_id}");
    crate::notify::service::notify(
        &mut tx,
        &st.config,
        &user_id,
        "restore_ready",
        &title,
        &body,
        &link,
        now,
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    Ok(())
}

/// Restore requests of every workspace the actor belongs to, newest first (at most 200).
pub async fn list_requests(st: &AppState, actor: &Actor) -> Result<Vec<RestoreRequest>, AppError> {
    requests(st, actor, "").await
}

/// One restore request, if the actor may see it (NotFound otherwise).
pub async fn get_request(
    st: &AppState,
    actor: &Actor,
    request_id: &str,
) -> Result<RestoreRequest, AppError> {
    requests(st, actor, request_id)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The requests the actor may see: all of them (`only` ''), or the one with that id.
async fn requests(
    st: &AppState,
    actor: &Actor,
    only: &str,
) -> Result<Vec<RestoreRequest>, AppError> {
    let sql = format!(
        "SELECT q.id, q.vault_id, v.name AS vault_name, q.label, q.tier, CAST(q.days AS BIGINT) AS days,
            CAST(q.files AS BIGINT) AS files, CAST(q.bytes AS BIGINT) AS bytes,
            CAST(q.estimate_micros AS BIGINT) AS estimate_micros,
            CAST(q.estimate_ready_at AS BIGINT) AS estimate_ready_at,
            CAST(q.requested_at AS BIGINT) AS requested_at, q.ready_at,
            CAST(COALESCE(SUM(CASE WHEN r.state IN ('requested', 'in_progress') THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting,
            CAST(COALESCE(SUM(CASE WHEN r.state = 'ready' THEN 1 ELSE 0 END), 0) AS BIGINT) AS ready,
            CAST(COALESCE(SUM(CASE WHEN r.state = 'expired' THEN 1 ELSE 0 END), 0) AS BIGINT) AS expired,
            CAST(COALESCE(SUM(CASE WHEN r.state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
            MIN(CASE WHEN r.state = 'ready' THEN r.expires_at END) AS expires_at
         FROM restore_requests q
         JOIN memberships m ON m.workspace_id = q.workspace_id AND m.user_id = $1
         JOIN vaults v ON v.id = q.vault_id
         LEFT JOIN restores r ON r.request_id = q.id
         WHERE ($2 = '' OR q.workspace_id = $2) AND ($3 = '' OR q.vault_id = $3)
           AND ($4 = '' OR q.id = $4) AND {usable}
         GROUP BY q.id, q.vault_id, v.name, q.label, q.tier, q.days, q.files, q.bytes,
            q.estimate_micros, q.estimate_ready_at, q.requested_at, q.ready_at
         ORDER BY q.requested_at DESC, q.id DESC LIMIT 200",
        usable = crate::workspaces::service::usable_membership("m", 5, 6)
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .bind(actor.only_workspace())
        .bind(actor.only_vault())
        .bind(only)
        .bind(actor.sso_workspace())
        .bind(i32::from(actor.is_session()))
        .fetch_all(&st.db.pool)
        .await?)
}

/// The files of one request (the first 1,000 by name).
pub async fn request_files(
    st: &AppState,
    actor: &Actor,
    request_id: &str,
) -> Result<Vec<RestoreFile>, AppError> {
    let ws: Option<(String, String)> =
        sqlx::query_as("SELECT workspace_id, vault_id FROM restore_requests WHERE id = $1")
            .bind(request_id)
            .fetch_optional(&st.db.pool)
            .await?;
    let (ws, vault) = ws.ok_or(AppError::NotFound)?;
    require_role_in(&st.db, actor, &ws, &vault, Role::Viewer).await?;
    Ok(sqlx::query_as(
        "SELECT r.file_id, f.name, COALESCE(d.path, '') AS folder_path, r.size, r.state,
            r.ready_at, r.expires_at, r.error
         FROM restores r JOIN files f ON f.id = r.file_id
         LEFT JOIN folders d ON d.id = f.folder_id
         WHERE r.request_id = $1
         ORDER BY f.name, r.file_id LIMIT 1000",
    )
    .bind(request_id)
    .fetch_all(&st.db.pool)
    .await?)
}

/// The files of a request that can be downloaded now (for "download all").
pub async fn ready_file_ids(
    db: &Db,
    actor: &Actor,
    request_id: &str,
) -> Result<(String, Vec<String>), AppError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT workspace_id, vault_id FROM restore_requests WHERE id = $1")
            .bind(request_id)
            .fetch_optional(&db.pool)
            .await?;
    let (ws, vault) = row.ok_or(AppError::NotFound)?;
    require_role_in(db, actor, &ws, &vault, Role::Viewer).await?;
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT file_id FROM restores WHERE request_id = $1 AND state = 'ready' ORDER BY file_id",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    Ok((vault, ids.into_iter().map(|r| r.0).collect()))
}

/// The restore worker's job: send, poll, expire ([`poll`]).
pub const POLL_RESTORES: &str = "poll_restores";

/// Runs [`POLL_RESTORES`]: at once again while there is more to do.
pub async fn poll_job(st: &AppState, _job: &jobs::Job) -> Result<jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let stats = poll(st).await?;
    Ok(jobs::Next::At(if stats.more {
        now
    } else {
        now + st.config.restore_poll_min_secs * 1000
    }))
}

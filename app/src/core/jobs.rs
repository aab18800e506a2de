//! Durable background work. One `jobs` table; every server process runs a worker that claims
//! due jobs with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so any number of processes
//! share the table; SQLite: one writer, so a claim is one atomic UPDATE). At least once: a
//! job whose process died is claimed again when its lease runs out, so every handler is
//! idempotent. A failed run is retried with exponential backoff up to `max_attempts`, then
//! kept as `failed` with its last error. Periodic jobs have a `dedupe_key` and reschedule
//! themselves in place.
use super::db::Dialect;
use super::{AppState, Db, new_id};
use crate::error::AppError;

/// How long a claimed job is its worker's before another may take it over.
pub const LEASE_MS: i64 = 5 * 60_000;
/// Longest wait between retries.
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// Kinds of jobs (what `run` dispatches on).
pub const ABORT_ABANDONED_UPLOADS: &str = "abort_abandoned_uploads";
pub const PURGE_EXPIRED_SESSIONS: &str = "purge_expired_sessions";
pub const PURGE_TRASH: &str = "purge_trash";
pub const BULK_ACTION: &str = "bulk_action";
/// Every vault's archiving rules, daily.
pub const APPLY_ALL_RULES: &str = "apply_archive_rules";
/// One vault's rules, on demand (payload: the vault id).
pub const APPLY_RULES: &str = "apply_vault_rules";
/// The restore worker: send, poll, expire (`tiers::restores::poll`).
pub const POLL_RESTORES: &str = "poll_restores";
/// The mailer: sends the outbox over SMTP.
pub const SEND_MAIL: &str = "send_mail";
/// The daily usage roll-up (hourly: it rolls up each whole day once).
pub const ROLLUP_USAGE: &str = "rollup_usage";
/// Overage reported to Stripe's meter (hourly; nothing without billing).
pub const REPORT_USAGE: &str = "report_usage";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// What a handler asks for after a successful run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Finished: the row goes.
    Done,
    /// Run again at this time (periodic jobs), with attempts reset.
    At(i64),
}

/// Queues a job. With a `dedupe_key`, a job of that key that exists already is kept as is.
pub async fn enqueue(
    db: &Db,
    kind: &str,
    dedupe_key: Option<&str>,
    payload: &str,
    run_at: i64,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, dedupe_key, payload, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(kind)
    .bind(dedupe_key)
    .bind(payload)
    .bind(run_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Makes sure the periodic job `kind` exists and brings its next run forward to now (new work
/// for it arrived).
pub async fn wake(db: &Db, kind: &str, now: i64) -> Result<(), AppError> {
    enqueue(db, kind, Some(kind), "{}", now, now).await?;
    sqlx::query(
        "UPDATE jobs SET run_at = $1 WHERE dedupe_key = $2 AND state = 'queued' AND run_at > $1",
    )
    .bind(now)
    .bind(kind)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Claims the most overdue job, if any: queued and due, or running with a lapsed lease.
pub async fn claim(db: &Db, worker: &str, now: i64) -> Result<Option<Job>, AppError> {
    let lock = match db.dialect {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', locked_until = $1, locked_by = $2,
            attempts = attempts + 1, updated_at = $3
         WHERE id = (SELECT id FROM jobs
                     WHERE (state = 'queued' AND run_at <= $3)
                        OR (state = 'running' AND locked_until < $3)
                     ORDER BY run_at LIMIT 1 {lock})
         RETURNING id, kind, payload, CAST(attempts AS BIGINT) AS attempts,
                   CAST(max_attempts AS BIGINT) AS max_attempts"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now + LEASE_MS)
        .bind(worker)
        .bind(now)
        .fetch_optional(&db.pool)
        .await?)
}

/// Backoff before attempt `attempts + 1`: 2^attempts seconds, at most an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    (1000i64 << attempts.clamp(0, 22)).min(MAX_BACKOFF_MS)
}

/// Records how a run ended (only while the job is still this worker's).
pub async fn finish(
    db: &Db,
    job: &Job,
    worker: &str,
    outcome: Result<Next, String>,
    now: i64,
) -> Result<(), AppError> {
    let q = match outcome {
        Ok(Next::Done) => sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
            .bind(&job.id)
            .bind(worker),
        Ok(Next::At(at)) => sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $3, attempts = 0, locked_until = NULL,
                locked_by = NULL, last_error = NULL, updated_at = $4
             WHERE id = $1 AND locked_by = $2",
        )
        .bind(&job.id)
        .bind(worker)
        .bind(at)
        .bind(now),
        // Periodic jobs keep going (retried at the longest backoff); others end as failed.
        Err(e) if job.attempts >= job.max_attempts && !PERIODIC.contains(&job.kind.as_str()) => {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', locked_until = NULL, locked_by = NULL,
                last_error = $3, updated_at = $4
             WHERE id = $1 AND locked_by = $2",
            )
            .bind(&job.id)
            .bind(worker)
            .bind(e)
            .bind(now)
        }
        Err(e) => sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $3, locked_until = NULL, locked_by = NULL,
                last_error = $4, updated_at = $5
             WHERE id = $1 AND locked_by = $2",
        )
        .bind(&job.id)
        .bind(worker)
        .bind(now + backoff_ms(job.attempts))
        .bind(e)
        .bind(now),
    };
    q.execute(&db.pool).await?;
    Ok(())
}

/// The jobs that run for ever, each once (its kind is its dedupe key).
const PERIODIC: [&str; 8] = [
    ABORT_ABANDONED_UPLOADS,
    PURGE_EXPIRED_SESSIONS,
    PURGE_TRASH,
    APPLY_ALL_RULES,
    POLL_RESTORES,
    SEND_MAIL,
    ROLLUP_USAGE,
    REPORT_USAGE,
];

/// Puts the periodic jobs in the table (once; they then keep themselves going), and brings
/// back any that an older version left as failed.
pub async fn schedule_periodic(st: &AppState) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    for kind in PERIODIC {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1
             WHERE dedupe_key = $2 AND state = 'failed'",
        )
        .bind(now)
        .bind(kind)
        .execute(&st.db.pool)
        .await?;
        enqueue(&st.db, kind, Some(kind), "{}", now, now).await?;
    }
    Ok(())
}

/// Runs one job's handler.
pub async fn run(st: &AppState, job: &Job) -> Result<Next, AppError> {
    let now = st.clock.now_ms();
    match job.kind.as_str() {
        ABORT_ABANDONED_UPLOADS => {
            // Batches of 200 until none is left; the job runs hourly.
            loop {
                let n = crate::uploads::service::abort_expired_uploads(st).await?;
                if n > 0 {
                    tracing::info!(uploads = n, "aborted abandoned uploads");
                }
                if n < 200 {
                    break;
                }
            }
            Ok(Next::At(now + 3_600_000))
        }
        PURGE_EXPIRED_SESSIONS => {
            let n = crate::auth::service::purge_expired(st).await?;
            if n > 0 {
                tracing::info!(rows = n, "purged expired sessions and sign-in attempts");
            }
            Ok(Next::At(now + 3_600_000))
        }
        PURGE_TRASH => {
            let n = crate::files::service::purge_expired_trash(st).await?;
            if n > 0 {
                tracing::info!(files = n, "deleted files kept in the trash past their days");
            }
            Ok(Next::At(now + 3_600_000))
        }
        BULK_ACTION => crate::files::bulk::run_op(st, &job.payload).await,
        APPLY_ALL_RULES => {
            crate::tiers::rules::apply_all(st).await?;
            Ok(Next::At(now + 86_400_000))
        }
        APPLY_RULES => {
            crate::tiers::rules::apply_rules(st, &job.payload).await?;
            Ok(Next::Done)
        }
        POLL_RESTORES => {
            let stats = crate::tiers::restores::poll(st).await?;
            Ok(Next::At(if stats.more {
                now
            } else {
                now + st.config.restore_poll_min_secs * 1000
            }))
        }
        SEND_MAIL => {
            crate::notify::service::send_pending(st).await?;
            Ok(Next::At(now + 30_000))
        }
        ROLLUP_USAGE => {
            let days = crate::usage::service::rollup_pending(st).await?;
            if days > 0 {
                tracing::info!(days, "usage rolled up");
            }
            Ok(Next::At(now + 3_600_000))
        }
        REPORT_USAGE => {
            let n = crate::billing::service::report_usage(st).await?;
            if n > 0 {
                tracing::info!(reports = n, "overage reported to Stripe");
            }
            Ok(Next::At(now + 3_600_000))
        }
        other => Err(AppError::internal(format!("unknown job kind {other}"))),
    }
}

/// Claims and runs due jobs until none is due; returns how many ran.
pub async fn run_due(st: &AppState, worker: &str) -> Result<usize, AppError> {
    let mut ran = 0;
    while let Some(job) = claim(&st.db, worker, st.clock.now_ms()).await? {
        let outcome = run(st, &job).await.map_err(|e| match e {
            AppError::Internal { request_id } => format!("internal error (request {request_id})"),
            e => e.to_string(),
        });
        if let Err(e) = &outcome {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
        }
        finish(&st.db, &job, worker, outcome, st.clock.now_ms()).await?;
        ran += 1;
    }
    Ok(ran)
}

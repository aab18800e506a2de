//! Durable background work. One `jobs` table; every server process runs a worker that claims
//! due jobs with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so any number of processes
//! share the table; SQLite: one writer, so a claim is one atomic UPDATE). At least once: a
//! job whose process died is claimed again when its lease runs out (30 s: a running job's
//! worker renews it every 10 s, so a long job keeps it and a killed one frees it soon), so
//! every handler is idempotent. A failed run is retried with exponential backoff up to `max_attempts`, then
//! kept as `failed` with its last error. Periodic jobs have a `dedupe_key` and reschedule
//! themselves in place.
//!
//! This module knows no kind of job: each feature supplies the handlers of its own kinds
//! ([`Handler`]), and the app lists them once, above the features (`crate::jobs`), so adding a
//! job never edits the runner.
use super::db::Dialect;
use super::{AppState, Db, new_id};
use crate::error::AppError;
use std::future::Future;
use std::pin::Pin;

/// How long a claimed job is its worker's before another may take it over, unless renewed.
pub const LEASE_MS: i64 = 30_000;
/// How often a running job's lease is renewed.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest wait between retries.
const MAX_BACKOFF_MS: i64 = 3_600_000;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// A handler's run: owns its state and job, so handlers are plain `fn`s.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<Next, AppError>> + Send>>;

/// A kind of job and the handler that runs it, supplied by the feature that owns the work.
#[derive(Clone, Copy)]
pub struct Handler {
    pub kind: &'static str,
    /// Runs for ever, one of it (its kind is its dedupe key): retried, never kept as failed.
    pub periodic: bool,
    pub run: fn(AppState, Job) -> JobFuture,
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
    let mut conn = db.pool.acquire().await?;
    wake_on(&mut conn, kind, now).await
}

/// [`wake`] on a connection (inside the caller's transaction: the job is due once it commits).
pub async fn wake_on(conn: &mut sqlx::AnyConnection, kind: &str, now: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, dedupe_key, payload, run_at, created_at, updated_at)
         VALUES ($1, $2, $2, '{}', $3, $3, $3)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(kind)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE jobs SET run_at = $1 WHERE dedupe_key = $2 AND state = 'queued' AND run_at > $1",
    )
    .bind(now)
    .bind(kind)
    .execute(&mut *conn)
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

/// Hands back the jobs `worker` holds (a process shutting down): queued again, due now, the
/// attempt not counted, so another process takes them at once instead of waiting for the
/// lease to lapse. Returns how many.
pub async fn release(db: &Db, worker: &str, now: i64) -> Result<u64, AppError> {
    Ok(sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, locked_until = NULL, locked_by = NULL,
            attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $1
         WHERE state = 'running' AND locked_by = $2",
    )
    .bind(now)
    .bind(worker)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// Backoff before attempt `attempts + 1`: 2^attempts seconds, at most an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    (1000i64 << attempts.clamp(0, 22)).min(MAX_BACKOFF_MS)
}

/// Records how a run ended (only while the job is still this worker's). A periodic job's
/// failures are retried at the backoff however many there were.
pub async fn finish(
    db: &Db,
    job: &Job,
    worker: &str,
    outcome: Result<Next, String>,
    periodic: bool,
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
        // Periodic jobs keep going (retried with the growing backoff, at most an hour apart);
        // others end as failed.
        Err(e) if job.attempts >= job.max_attempts && !periodic => sqlx::query(
            "UPDATE jobs SET state = 'failed', locked_until = NULL, locked_by = NULL,
                last_error = $3, updated_at = $4
             WHERE id = $1 AND locked_by = $2",
        )
        .bind(&job.id)
        .bind(worker)
        .bind(e)
        .bind(now),
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

/// Puts the periodic jobs in the table (once; they then keep themselves going), and brings
/// back any that an older version left as failed.
pub async fn schedule_periodic(st: &AppState, handlers: &[Handler]) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    for kind in handlers.iter().filter(|h| h.periodic).map(|h| h.kind) {
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
pub async fn run(st: &AppState, handlers: &[Handler], job: &Job) -> Result<Next, AppError> {
    match handlers.iter().find(|h| h.kind == job.kind) {
        Some(h) => (h.run)(st.clone(), job.clone()).await,
        None => Err(AppError::internal(format!("unknown job kind {}", job.kind))),
    }
}

/// Runs the job, renewing its lease every [`RENEW_EVERY`] while it runs.
async fn run_renewing(
    st: &AppState,
    handlers: &[Handler],
    job: &Job,
    worker: &str,
) -> Result<Next, AppError> {
    let work = run(st, handlers, job);
    tokio::pin!(work);
    let mut renew = tokio::time::interval(RENEW_EVERY);
    renew.tick().await; // the first tick is at once: the claim just set the lease
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = renew.tick() => {
                let renewed = sqlx::query(
                    "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running'",
                )
                .bind(st.clock.now_ms() + LEASE_MS)
                .bind(&job.id)
                .bind(worker)
                .execute(&st.db.pool)
                .await;
                if let Err(e) = renewed {
                    tracing::warn!(job = %job.id, error = %e, "could not renew a job's lease");
                }
            }
        }
    }
}

/// Whether jobs of this kind are periodic.
pub fn is_periodic(handlers: &[Handler], kind: &str) -> bool {
    handlers.iter().any(|h| h.kind == kind && h.periodic)
}

/// Claims and runs due jobs until none is due; returns how many ran.
pub async fn run_due(st: &AppState, handlers: &[Handler], worker: &str) -> Result<usize, AppError> {
    let mut ran = 0;
    while let Some(job) = claim(&st.db, worker, st.clock.now_ms()).await? {
        let outcome = run_renewing(st, handlers, &job, worker)
            .await
            .map_err(|e| match e {
                AppError::Internal { request_id } => {
                    format!("internal error (request {request_id})")
                }
                e => e.to_string(),
            });
        if let Err(e) = &outcome {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
        }
        let periodic = is_periodic(handlers, &job.kind);
        finish(&st.db, &job, worker, outcome, periodic, st.clock.now_ms()).await?;
        ran += 1;
    }
    Ok(ran)
}

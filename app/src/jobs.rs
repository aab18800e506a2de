//! The app's background jobs: every kind, with the handler its feature supplies, listed once
//! here above the features (the runner in `core::jobs` knows none of them). Adding a job is a
//! handler in its feature and a line in [`HANDLERS`].
use crate::core::jobs::{self as runner, Handler};
use crate::core::{AppState, Db};
use crate::error::AppError;

pub use crate::auth::service::PURGE_EXPIRED_SESSIONS;
pub use crate::billing::service::REPORT_USAGE;
pub use crate::core::jobs::{Job, LEASE_MS, Next, backoff_ms, claim, enqueue, wake};
pub use crate::developer::keys::PURGE_DEVELOPER_RECORDS;
pub use crate::events::DELIVER_WEBHOOKS;
pub use crate::files::bulk::BULK_ACTION;
pub use crate::files::service::PURGE_TRASH;
pub use crate::notify::service::SEND_MAIL;
pub use crate::ops::service::CHECK_STATUS;
pub use crate::tiers::restores::POLL_RESTORES;
pub use crate::tiers::rules::{APPLY_ALL_RULES, APPLY_RULES};
pub use crate::uploads::service::ABORT_ABANDONED_UPLOADS;
pub use crate::usage::service::ROLLUP_USAGE;

/// A handler from a feature's `async fn(&AppState, &Job) -> Result<Next, AppError>`.
macro_rules! handler {
    ($kind:expr, periodic: $periodic:expr, $run:path) => {
        Handler {
            kind: $kind,
            periodic: $periodic,
            run: |st, job| Box::pin(async move { $run(&st, &job).await }),
        }
    };
}

/// Every kind of job and its handler.
pub const HANDLERS: &[Handler] = &[
    handler!(ABORT_ABANDONED_UPLOADS, periodic: true, crate::uploads::service::abort_abandoned_job),
    handler!(PURGE_EXPIRED_SESSIONS, periodic: true, crate::auth::service::purge_expired_job),
    handler!(PURGE_TRASH, periodic: true, crate::files::service::purge_trash_job),
    handler!(BULK_ACTION, periodic: false, crate::files::bulk::bulk_action_job),
    handler!(APPLY_ALL_RULES, periodic: true, crate::tiers::rules::apply_all_job),
    handler!(APPLY_RULES, periodic: false, crate::tiers::rules::apply_rules_job),
    handler!(POLL_RESTORES, periodic: true, crate::tiers::restores::poll_job),
    handler!(SEND_MAIL, periodic: true, crate::notify::service::send_mail_job),
    handler!(ROLLUP_USAGE, periodic: true, crate::usage::service::rollup_job),
    handler!(REPORT_USAGE, periodic: true, crate::billing::service::report_usage_job),
    handler!(DELIVER_WEBHOOKS, periodic: true, crate::developer::webhooks::deliver_job),
    handler!(PURGE_DEVELOPER_RECORDS, periodic: true, crate::developer::keys::purge_records_job),
    handler!(CHECK_STATUS, periodic: true, crate::ops::service::check_job),
];

/// Puts the periodic jobs in the table (once; they keep themselves going after).
pub async fn schedule_periodic(st: &AppState) -> Result<(), AppError> {
    runner::schedule_periodic(st, HANDLERS).await
}

/// Runs one job's handler.
pub async fn run(st: &AppState, job: &Job) -> Result<Next, AppError> {
    runner::run(st, HANDLERS, job).await
}

/// Claims and runs due jobs until none is due; returns how many ran.
pub async fn run_due(st: &AppState, worker: &str) -> Result<usize, AppError> {
    runner::run_due(st, HANDLERS, worker).await
}

/// Records how a run ended (see [`runner::finish`]).
pub async fn finish(
    db: &Db,
    job: &Job,
    worker: &str,
    outcome: Result<Next, String>,
    now: i64,
) -> Result<(), AppError> {
    let periodic = runner::is_periodic(HANDLERS, &job.kind);
    runner::finish(db, job, worker, outcome, periodic, now).await
}

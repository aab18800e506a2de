//! Operating the service: the status page (`/status`, and `/status.json` behind it) with the
//! periodic check that keeps its incident history, and the figures `/metrics` reports. At the
//! top with the features: it reads their tables (jobs, restores, mail) and changes nothing of
//! theirs.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

/// One part of the service, as the status page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// `database`, `storage`, `jobs`, `mail`, `stripe`.
    pub name: String,
    /// `ok`, `degraded`, `down`, or `off` (not set up here: mail without SMTP, no Stripe).
    pub state: String,
    /// In a few words, with the figure behind the state ("oldest due job waited 3 s").
    pub detail: String,
}

/// A time a component was not ok.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub component: String,
    /// `degraded` or `down`.
    pub state: String,
    pub detail: String,
    pub started_at: i64,
    /// None while it lasts.
    pub ended_at: Option<i64>,
}

/// What `/status` and `/status.json` say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The worst component state (`off` counts as ok).
    pub overall: String,
    pub components: Vec<Component>,
    /// The newest 50, open ones first.
    pub incidents: Vec<Incident>,
    pub checked_at: i64,
}

/// How long the oldest due job may wait before the jobs are "degraded", then "down".
pub const JOB_LAG_DEGRADED_SECS: i64 = 300;
pub const JOB_LAG_DOWN_SECS: i64 = 3600;
/// How long the oldest pending mail may wait before mail is "degraded".
pub const MAIL_LAG_DEGRADED_SECS: i64 = 1800;

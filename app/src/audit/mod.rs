//! The audit log: every state change, recorded once — who (a person, or an API key and the
//! person who made it), what, on what, when, from which address, under which request id.
//! Rows are only ever added (there is no update path in the code) and deleted when older than
//! `NEXUS_AUDIT_RETENTION_DAYS`. Owners and admins read their workspace's log on `/audit`
//! (the page is `teams::audit_ui`), filtered, and export it as CSV (`/audit.csv`). Low in
//! the house: every feature records here, so it imports none of them.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod service;

/// Rows one page of the log shows.
pub const PAGE_ROWS: i64 = 200;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    /// The person (their email as it is now; '' when the account is gone).
    pub actor_email: String,
    /// The API key that acted for them, if one did.
    pub key_id: Option<String>,
    /// What happened: `vault.create`, `member.invite`, `file.trash`, `sign_in`…
    pub action: String,
    /// What it happened to: `vault:<id>`, `user:<email>`, `files:3`…
    pub target: String,
    /// A few words more (a new name, a role, a class).
    pub detail: String,
    pub ip: String,
    pub request_id: String,
}

/// What the log page asks for: an action prefix (`member.`, `file.`), an actor's email part,
/// and a time range (unix ms, 0 for open).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub since: i64,
    #[serde(default)]
    pub until: i64,
}

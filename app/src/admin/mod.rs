//! The operators' console (`/admin`): for the people who run this instance (a flag on their
//! account, set with `server operator <email>` on the server's machine), not for customers.
//! Users, workspaces with what they store, failed jobs (with "Retry"), failing webhooks. Every
//! call checks the flag; to anyone else the page and its functions do not exist (404).
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub created_at: i64,
    pub confirmed: bool,
    pub deleted: bool,
    pub operator: bool,
    pub workspaces: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminWorkspace {
    pub id: String,
    pub name: String,
    /// `personal` or `team`.
    pub kind: String,
    pub owner_email: String,
    pub members: i64,
    pub files: i64,
    pub bytes: i64,
    /// The plan its subscription gives, else the instance's default.
    pub plan: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedJob {
    pub id: String,
    pub kind: String,
    pub attempts: i64,
    pub last_error: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailingWebhook {
    pub id: String,
    pub workspace_name: String,
    pub url: String,
    pub failing_since: Option<i64>,
    pub disabled_at: Option<i64>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminView {
    pub user_count: i64,
    /// The newest 100 (or those matching the search).
    pub users: Vec<AdminUser>,
    pub workspace_count: i64,
    /// The 100 that store the most.
    pub workspaces: Vec<AdminWorkspace>,
    pub failed_jobs: Vec<FailedJob>,
    pub failing_webhooks: Vec<FailingWebhook>,
    pub total_bytes: i64,
}

//! Telling people things: in-app notifications (the header's bell, the notifications page)
//! and mail (an outbox the mailer job sends over SMTP; without SMTP, in development, each
//! person reads their own mail on the outbox page).
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Where it leads in the app ('' for nowhere).
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A mail as the outbox page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Mail {
    pub id: String,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

/// The kinds of notification a person can also get by mail: kind, what it is, and whether
/// its mail can be turned off (a failed payment's cannot: it pauses uploads).
pub const MAIL_KINDS: [(&str, &str, bool); 4] = [
    ("restore_ready", "A restore is ready to download", true),
    (
        "webhook_disabled",
        "A webhook endpoint was disabled after failing",
        true,
    ),
    ("trial_will_end", "A trial is about to end", true),
    ("payment_failed", "A payment failed", false),
];

/// One kind's mail setting, as the account page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailPref {
    pub kind: String,
    pub label: String,
    pub mail: bool,
    /// Whether it can be turned off.
    pub optional: bool,
}

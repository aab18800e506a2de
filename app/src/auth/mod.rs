//! Accounts: sign-up, sign-in, sign-out with email and password; server-side sessions;
//! mailed links (sign in without the password, reset it, confirm an address); the account
//! page (sessions, password, email).
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod account;
pub mod account_api;
pub mod account_ui;
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
pub mod ui;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    /// Whether the address was confirmed by a mailed link (the app shows a banner until then).
    #[serde(default)]
    pub email_confirmed: bool,
}

/// One signed-in session of the account, as the account page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    /// The browser and system, read from its user agent ("Chrome on Linux").
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The session this request came with.
    pub current: bool,
}

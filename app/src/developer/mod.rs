//! The developer platform's own data: API keys (a workspace's programs acting with chosen
//! scopes) and webhook endpoints (where the workspace's events are sent, signed). The REST
//! API that keys call lives in the server crate, over the same services as the pages.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod keys;
pub mod ui;
#[cfg(feature = "ssr")]
pub mod webhooks;

/// Every scope a key may hold, with what it allows (the Developer page's checkboxes).
pub const SCOPES: [(&str, &str); 5] = [
    ("files:read", "List vaults, folders and files; download"),
    (
        "files:write",
        "Upload, rename, move, delete; change storage classes",
    ),
    ("restores:write", "Ask for restores (they cost money)"),
    ("billing:read", "Read usage and costs"),
    ("admin", "Everything, including vaults, keys and webhooks"),
];

/// Every event type an endpoint may listen for.
pub const EVENTS: [(&str, &str); 8] = [
    ("file.uploaded", "A file finished uploading"),
    ("file.deleted", "A file went to the trash"),
    ("upload.failed", "An upload was aborted or abandoned"),
    ("restore.ready", "A restored file is ready to download"),
    ("restore.expired", "A restored copy expired"),
    ("class.changed", "A file moved to another storage class"),
    (
        "usage.threshold",
        "Storage crossed 80 % or 100 % of the plan",
    ),
    ("billing.payment_failed", "A payment failed"),
];

/// What a secret starts with: secret scanners (and people) can tell a Nexus key at a glance.
pub const KEY_PREFIX: &str = "nxs_live_";

/// Longest rotation grace period: the old secret keeps working at most this long.
pub const MAX_GRACE_SECS: i64 = 7 * 24 * 3600;

/// A key as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The secret's first characters, to recognise it.
    pub prefix: String,
    /// Space-separated scopes.
    pub scopes: String,
    pub vault_id: Option<String>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    pub fn scope_list(&self) -> Vec<String> {
        self.scopes.split_whitespace().map(str::to_string).collect()
    }

    /// "Active", "Revoked", "Expired" at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "Expired"
        } else {
            "Active"
        }
    }
}

/// What making a key asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewKey {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(min_items = 1))]
    pub scopes: Vec<String>,
    pub vault_id: Option<String>,
    /// Unix ms; None: it does not expire.
    pub expires_at: Option<i64>,
}

/// A key just made or rotated, with its secret: shown once, never again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// A webhook endpoint as listed (its secret only to those who may manage it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Space-separated event types.
    pub events: String,
    pub secret: String,
    pub created_at: i64,
    pub failing_since: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
}

/// One event sent (or being sent) to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// pending, succeeded, failed.
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_at: Option<i64>,
    pub next_at: Option<i64>,
    pub created_at: i64,
}

/// The scopes named, checked: known, at least one, no repeats (sorted).
pub fn check_scopes(scopes: &[String]) -> Result<Vec<String>, crate::error::AppError> {
    check_choices("scopes", scopes, &SCOPES, "a scope")
}

/// The event types named, checked (at least one, all known; sorted, no repeats).
pub fn check_events(events: &[String]) -> Result<Vec<String>, crate::error::AppError> {
    check_choices("events", events, &EVENTS, "an event type")
}

/// `given`, each one of `known`, at least one, sorted without repeats; else an error on
/// `field` that lists what may be chosen.
fn check_choices(
    field: &str,
    given: &[String],
    known: &[(&str, &str)],
    what: &str,
) -> Result<Vec<String>, crate::error::AppError> {
    let mut out: Vec<String> = given.iter().map(|s| s.trim().to_string()).collect();
    if let Some(bad) = out.iter().find(|s| !known.iter().any(|(k, _)| k == s)) {
        let all: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
        return Err(crate::error::AppError::invalid(
            field,
            format!("“{bad}” is not {what}. Choose from: {}.", all.join(", ")),
        ));
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(crate::error::AppError::invalid(
            field,
            format!("Choose at least one of: {}.", field),
        ));
    }
    Ok(out)
}

/// A key or endpoint name: 1 to 100 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, crate::error::AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(crate::error::AppError::invalid(
            "name",
            "A name is 1 to 100 characters.",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_normalized() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_scopes(&s(&["files:write", "files:read", "files:write"])).unwrap(),
            s(&["files:read", "files:write"])
        );
        assert!(check_scopes(&s(&[])).is_err());
        assert_eq!(
            check_scopes(&s(&["files:*"])).unwrap_err().field(),
            Some("scopes")
        );
        assert!(check_events(&s(&["file.uploaded", "nope"])).is_err());
    }
}

//! Single sign-on with OpenID Connect, per team workspace. Its owner names the provider
//! (issuer, client id and secret) and the email domain it vouches for; people then sign in
//! through the provider (authorization code with PKCE; state, nonce and the ID token's
//! signature, issuer, audience and expiry checked), and someone new from that domain gets an
//! account and joins with the role the owner chose. A session signed in this way reaches that
//! workspace only; "require SSO" makes the workspace refuse its members' other sessions
//! (never its owner's, who keeps a way in when the provider fails). Above accounts (it makes
//! sessions) and workspaces (it adds members); the team page shows its settings.
use crate::workspaces::Role;
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

/// How long a sign-in started at the provider may take to come back.
pub const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// Sign-ins one client address may start in an hour.
pub const STARTS_PER_HOUR: i64 = 60;

/// A workspace's provider, as its owners and admins see it (never the client secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub allowed_domain: String,
    pub require_sso: bool,
    /// The role someone new from the domain joins with (member or viewer).
    pub new_member_role: Role,
    pub updated_at: i64,
}

/// The team page's SSO panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SsoView {
    pub workspace_id: String,
    pub settings: Option<SsoSettings>,
    /// What to register at the provider as the redirect URI.
    pub redirect_uri: String,
    /// The link that starts a sign-in to this workspace.
    pub sign_in_url: String,
    /// Only the owner changes it.
    pub may_edit: bool,
}

/// Why an SSO sign-in did not happen, as a short code in the sign-in page's URL (`?error=`):
/// the page says it in words; nothing the provider or a link sends is shown as it came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SsoFailure {
    /// No workspace signs in with SSO for that domain (or that workspace has none).
    NotSetUp,
    /// Several workspaces use SSO for the domain: the workspace's own link is needed.
    Several,
    /// Too many sign-ins started from this address.
    TooMany,
    /// The provider could not be reached, or answered what is not OpenID Connect.
    Provider,
    /// The sign-in came back too late, twice, or in another browser than it started in.
    State,
    /// The provider said no (the person cancelled, or is not allowed).
    Denied,
    /// The ID token did not verify (signature, issuer, audience, nonce, expiry).
    Token,
    /// The provider's email is not in the workspace's domain.
    Domain,
    /// The provider says the email is not verified.
    Unverified,
    /// An account with the email exists and is not a member: an invitation comes first.
    Exists,
    /// An admin removed this person from the workspace.
    Removed,
    /// The workspace has as many members as it may.
    Full,
    /// Anything else (the server logs it).
    Internal,
}

impl SsoFailure {
    pub fn code(self) -> &'static str {
        match self {
            SsoFailure::NotSetUp => "not_set_up",
            SsoFailure::Several => "several",
            SsoFailure::TooMany => "too_many",
            SsoFailure::Provider => "provider",
            SsoFailure::State => "state",
            SsoFailure::Denied => "denied",
            SsoFailure::Token => "token",
            SsoFailure::Domain => "domain",
            SsoFailure::Unverified => "unverified",
            SsoFailure::Exists => "exists",
            SsoFailure::Removed => "removed",
            SsoFailure::Full => "full",
            SsoFailure::Internal => "internal",
        }
    }

    pub fn parse(code: &str) -> Option<SsoFailure> {
        [
            SsoFailure::NotSetUp,
            SsoFailure::Several,
            SsoFailure::TooMany,
            SsoFailure::Provider,
            SsoFailure::State,
            SsoFailure::Denied,
            SsoFailure::Token,
            SsoFailure::Domain,
            SsoFailure::Unverified,
            SsoFailure::Exists,
            SsoFailure::Removed,
            SsoFailure::Full,
            SsoFailure::Internal,
        ]
        .into_iter()
        .find(|f| f.code() == code)
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self {
            SsoFailure::NotSetUp => {
                "No workspace here signs in with single sign-on for that email's domain. Sign in with your password, or use the sign-in link your workspace's admin gave you."
            }
            SsoFailure::Several => {
                "Several workspaces use single sign-on for that domain: use the sign-in link your workspace's admin gave you."
            }
            SsoFailure::TooMany => {
                "Too many sign-ins were started from your network. Wait a while and try again."
            }
            SsoFailure::Provider => {
                "Your workspace's identity provider could not be reached, or its answer was not understood. Try again in a moment; if it goes on, tell your workspace's owner."
            }
            SsoFailure::State => {
                "That sign-in took more than 10 minutes, was used already, or came back to another browser than it started in. Start it again."
            }
            SsoFailure::Denied => "Your identity provider did not sign you in.",
            SsoFailure::Token => {
                "Your identity provider's answer did not verify, so it was not used. Start again; if it goes on, tell your workspace's owner."
            }
            SsoFailure::Domain => {
                "The email your identity provider gave is not in the domain this workspace signs in with SSO."
            }
            SsoFailure::Unverified => "Your identity provider has not verified your email address.",
            SsoFailure::Exists => {
                "An account with your email exists here and is not a member of this workspace. Ask one of its admins to invite it; then sign in with SSO."
            }
            SsoFailure::Removed => {
                "You were removed from this workspace. Ask one of its admins to invite you again."
            }
            SsoFailure::Full => "This workspace has as many members as it may have.",
            SsoFailure::Internal => "Something went wrong on our side. Try again.",
        }
    }
}

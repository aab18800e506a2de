//! Teams: workspaces people share, their members and roles, invitations by email, and the
//! header's workspace switcher. Above vaults (a team starts with one) and accounts (invites
//! are accepted by a signed-in person); roles and access checks are `workspaces`'.
use crate::workspaces::Role;
use serde::{Deserialize, Serialize};

pub mod api;
pub mod audit_ui;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

/// How long an invitation's link works.
pub const INVITE_TTL_MS: i64 = 7 * 86_400_000;
pub use crate::workspaces::MAX_MEMBERS;

/// A workspace the person belongs to, as the switcher lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    pub id: String,
    pub name: String,
    /// `personal` or `team`.
    pub kind: String,
    pub role: Role,
    /// The one this session works in.
    pub current: bool,
    /// It asks its members to sign in with its SSO, and this session did not: switching to it
    /// goes through the provider.
    #[serde(default)]
    pub needs_sso: bool,
}

/// A member of a workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
    /// The person looking.
    pub you: bool,
}

/// An invitation not yet accepted (shown to owners and admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The team page: the current workspace, its members, and (for owners and admins) its open
/// invitations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub workspace: WorkspaceInfo,
    pub members: Vec<Member>,
    pub invites: Vec<Invite>,
}

//! Workspaces (personal or team) and memberships with roles. Every access check in the app
//! ends here: an actor may act on a workspace's data only through a membership.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod service;

/// Members and open invitations one workspace may have.
pub const MAX_MEMBERS: i64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Member => "Member",
            Role::Admin => "Admin",
            Role::Owner => "Owner",
        }
    }

    /// What the role may do, in a phrase.
    pub fn what(self) -> &'static str {
        match self {
            Role::Viewer => "lists and downloads",
            Role::Member => "also uploads, moves, deletes and restores",
            Role::Admin => "also manages vaults, members, keys and billing",
            Role::Owner => "everything, and hands the workspace over",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "viewer" => Role::Viewer,
            "member" => Role::Member,
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            _ => return None,
        })
    }
}

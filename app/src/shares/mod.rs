//! Share links: a public link to a file or a folder, with a required expiry (at most 30
//! days), an optional password (argon2id) and download limit, revocable; views and downloads
//! counted. The public page (`/s/<token>`) shows names, sizes and classes; a download's
//! presigned GET is made when the button is pressed, never put in the page. Archived files
//! say they must be restored first (only a member can restore).
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

/// The longest a link may live.
pub const MAX_DAYS: i64 = 30;
/// Files a folder's link lists.
pub const MAX_LISTED: i64 = 1000;

/// A link as its vault's members see it (never its token: shown once, when made).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ShareLink {
    pub id: String,
    pub workspace_id: String,
    pub vault_id: String,
    pub file_id: Option<String>,
    pub folder_id: Option<String>,
    /// The file's name or the folder's path.
    pub target_name: String,
    /// 1 when the link asks for a password.
    pub protected: i64,
    pub expires_at: i64,
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    pub views: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A link just made: its address, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedShare {
    pub link: ShareLink,
    pub url: String,
}

/// What to share: one file or one folder of a vault, and the link's terms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewShare {
    pub vault_id: String,
    #[serde(default)]
    pub file_id: Option<String>,
    #[serde(default)]
    pub folder_id: Option<String>,
    /// Or a path in the vault: a folder's (`photos/2026`), else a file's (`photos/a.jpg`).
    #[serde(default)]
    pub path: Option<String>,
    /// 1 to [`MAX_DAYS`].
    pub days: i64,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub max_downloads: Option<i64>,
}

/// A file as the public page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct SharedFile {
    pub id: String,
    /// Its path inside the shared folder ('' for a file's link or the folder's top level).
    pub folder: String,
    pub name: String,
    pub size: i64,
    pub storage_class: String,
    pub state: String,
}

/// The public page's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedView {
    /// The file's name, or the folder's name.
    pub title: String,
    pub is_folder: bool,
    pub expires_at: i64,
    pub downloads_left: Option<i64>,
    pub files: Vec<SharedFile>,
}

//! Vaults: named containers of files inside a workspace, each with a default storage class.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod access;
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Vault {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub default_storage_class: String,
    /// Upload rule: allowed types ('' allows all), e.g. "image/*, .pdf".
    pub allowed_types: String,
    /// Upload rule: largest file accepted; None means S3's own limit (5 TiB).
    pub max_file_size: Option<i64>,
    /// When uploads also record the file's SHA-256 (beside the CRC64NVME storage checks
    /// always): `auto` (files up to 1 GiB), `always` or `never`. See [`records_sha256`].
    pub sha256_mode: String,
    pub file_count: i64,
    pub total_bytes: i64,
    /// Live files and bytes per storage class (classes with files only).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub classes: Vec<ClassStat>,
    /// The asker's role in the vault's workspace (`viewer` … `owner`): the page offers only
    /// what it allows (the server checks every call regardless).
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub your_role: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClassStat {
    pub storage_class: String,
    pub file_count: i64,
    pub bytes: i64,
}

/// The vault setting "also record SHA-256": values and their labels.
pub const SHA256_MODES: [(&str, &str); 3] = [
    ("auto", "For files up to 1 GiB"),
    ("always", "Always"),
    ("never", "Never"),
];

/// Files up to this size get a SHA-256 under the `auto` setting: the browser hashes about
/// 250 MB/s in wasm on one core, so 1 GiB costs some 4 s of a core, in the background; above
/// that it would compete for a small machine's cores for minutes.
pub const SHA256_AUTO_MAX: i64 = 1024 * 1024 * 1024;

/// Whether an upload of `size` bytes into a vault with this setting records its SHA-256.
pub fn records_sha256(mode: &str, size: i64) -> bool {
    match mode {
        "always" => true,
        "never" => false,
        _ => size <= SHA256_AUTO_MAX,
    }
}

/// Vault names: 1 to 100 characters, no control characters.
pub fn check_vault_name(name: &str) -> Result<String, crate::error::AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(crate::error::AppError::invalid(
            "name",
            "A vault name needs 1 to 100 characters.",
        ));
    }
    Ok(name.to_string())
}

/// Storage classes, cheapest last, as S3 names them.
pub const STORAGE_CLASSES: [&str; 5] = [
    "STANDARD",
    "STANDARD_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

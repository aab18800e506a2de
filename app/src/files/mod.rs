//! Files in a vault: what the file browser lists. Names live in rows; objects live under
//! server-made keys, so renaming never touches S3.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct FileEntry {
    pub id: String,
    pub vault_id: String,
    /// The folder's path in the vault ('' at the root).
    pub folder_path: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub storage_class: String,
    pub state: String,
    pub created_at: i64,
}

/// A storage class as people read it.
pub fn class_label(class: &str) -> &'static str {
    match class {
        "STANDARD" => "Standard",
        "STANDARD_IA" => "Standard-IA",
        "GLACIER_IR" => "Glacier Instant Retrieval",
        "GLACIER" => "Glacier Flexible Retrieval",
        "DEEP_ARCHIVE" => "Glacier Deep Archive",
        _ => "Unknown",
    }
}

/// Splits a folder path ("a/b/c", as a browser gives `webkitRelativePath` folders) into
/// checked names; '' is the vault's root.
pub fn check_folder_path(path: &str) -> Result<Vec<String>, crate::error::AppError> {
    let parts: Vec<&str> = path
        .split(['/', '\\'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > 32 {
        return Err(crate::error::AppError::invalid(
            "folder_path",
            "Folders can be nested at most 32 deep.",
        ));
    }
    parts
        .into_iter()
        .map(|p| {
            check_file_name(p).map_err(|_| {
                crate::error::AppError::invalid(
                    "folder_path",
                    format!("“{p}” cannot be a folder name."),
                )
            })
        })
        .collect()
}

/// File names are labels people choose: any text but path separators and control characters.
pub fn check_file_name(name: &str) -> Result<String, crate::error::AppError> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.chars().count() > 255
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        Err(crate::error::AppError::invalid(
            "name",
            "A file name needs 1 to 255 characters and no '/', '\\' or control characters.",
        ))
    } else {
        Ok(name.to_string())
    }
}

//! The deep in deep storage: storage classes chosen by hand (and, next, by rules), restores
//! with their cost and wait, and downloads of restored copies.
#[cfg(feature = "ssr")]
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// One storage class as the class dialog offers it, with what this selection would cost there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassOption {
    pub class: String,
    pub storage_micros_gb_month: i64,
    pub min_storage_days: i64,
    /// "instant", or the restore tiers and their usual wait.
    pub retrieval: String,
    /// The selection's monthly cost if it moved here (files that cannot move stay as they are).
    pub monthly_after_micros: i64,
    /// Early-deletion fees moving there now would incur.
    pub fee_micros: i64,
}

/// What the class dialog shows for a selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassPreview {
    pub files: i64,
    pub bytes: i64,
    /// Archived files (not restored) that cannot change class until restored.
    pub stuck: i64,
    pub monthly_now_micros: i64,
    pub options: Vec<ClassOption>,
}

/// An archiving rule: files older than `older_than_days` (optionally of a kind, at least a
/// size, under a folder) move to `to_class`. Rules apply in order; a file's first match wins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ArchiveRule {
    #[serde(default)]
    pub id: String,
    pub older_than_days: i64,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub min_size: Option<i64>,
    #[serde(default)]
    pub folder_path: String,
    pub to_class: String,
}

/// What a rule would do today.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RulePreview {
    pub files: i64,
    pub bytes: i64,
    /// Monthly storage saved once moved (micro-dollars).
    pub monthly_saving_micros: i64,
}

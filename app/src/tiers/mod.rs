//! The deep in deep storage: storage classes chosen by hand (and, next, by rules), restores
//! with their cost and wait, and downloads of restored copies.
pub mod api;
#[cfg(feature = "ssr")]
pub mod restore_request;
#[cfg(feature = "ssr")]
pub mod restores;
#[cfg(feature = "ssr")]
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

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

/// Restore tiers, fastest first.
pub const RESTORE_TIERS: [&str; 3] = ["Expedited", "Standard", "Bulk"];
/// Days a restored copy may be kept for, at most (AWS allows more; a year is plenty here).
pub const MAX_RESTORE_DAYS: i64 = 365;

/// One tier as the restore dialog compares it, for exactly the selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TierOption {
    pub tier: String,
    /// Why the tier cannot be used for this selection ('' when it can).
    pub unavailable: String,
    pub cost_micros: i64,
    pub retrieval_micros: i64,
    pub request_micros: i64,
    pub copy_micros: i64,
    /// Usually ready by, and at the latest by (unix ms, if asked now).
    pub typical_ready_at: i64,
    pub ready_by: i64,
}

/// What the restore dialog shows for a selection and a number of days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestorePreview {
    pub files: i64,
    /// Archived files a restore would bring back, and their bytes.
    pub to_restore: i64,
    pub bytes: i64,
    /// Already restored: asking again keeps the copy for the new number of days.
    pub restored: i64,
    /// A restore already runs for these; they join it.
    pub in_progress: i64,
    /// Not archived: they download at once.
    pub not_archived: i64,
    pub days: i64,
    pub options: Vec<TierOption>,
}

/// A restore request as the Restores page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreRequest {
    pub id: String,
    pub vault_id: String,
    pub vault_name: String,
    pub label: String,
    pub tier: String,
    pub days: i64,
    pub files: i64,
    pub bytes: i64,
    pub estimate_micros: i64,
    pub estimate_ready_at: i64,
    pub requested_at: i64,
    pub ready_at: Option<i64>,
    /// Counts of its files per state.
    pub waiting: i64,
    pub ready: i64,
    pub expired: i64,
    pub failed: i64,
    /// The earliest expiry of its restored copies.
    pub expires_at: Option<i64>,
}

impl RestoreRequest {
    /// In words: "In progress", "Ready", "Partly ready", "Expired", "Failed".
    pub fn state(&self) -> &'static str {
        if self.waiting > 0 {
            if self.ready > 0 {
                "Partly ready"
            } else {
                "In progress"
            }
        } else if self.ready > 0 {
            "Ready"
        } else if self.expired > 0 {
            "Expired"
        } else if self.failed > 0 {
            "Failed"
        } else {
            "Nothing to restore"
        }
    }
}

/// One file of a restore request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreFile {
    pub file_id: String,
    pub name: String,
    pub folder_path: String,
    pub size: i64,
    pub state: String,
    pub ready_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub error: Option<String>,
}

//! Vaults: named containers of files inside a workspace, each with a default storage class.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Vault {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub default_storage_class: String,
    pub file_count: i64,
    pub total_bytes: i64,
}

use crate::core::{Actor, AppState};
use crate::error::AppError;
use crate::files::service::get_file;
use crate::workspaces::Role;

/// How a download names its file (made by the storage layer, which signs it into the URL).
pub use crate::core::storage::content_disposition;

/// A presigned GET URL for the file, valid for the configured TTL (at most 15 minutes).
pub async fn download_url(st: &AppState, actor: &Actor, file_id: &str) -> Result<String, AppError> {
    let file = get_file(&st.db, actor, file_id, Role::Viewer).await?;
    downloadable(&file.state, &file.name, &file.storage_class)?;
    st.storage
        .presign_get(&file.s3_key, &file.name, st.config.presign_ttl_secs)
        .await
}

/// Whether a file in this state can be fetched now, and if not, why (in words for people).
pub fn downloadable(state: &str, name: &str, class: &str) -> Result<(), AppError> {
    match state {
        "available" | "restored" => Ok(()),
        "uploading" => Err(AppError::conflict("This file is still uploading.")),
        "archived" => Err(AppError::conflict(format!(
            "“{name}” is archived in {}: restore it before downloading.",
            crate::files::class_label(class)
        ))),
        _ => Err(AppError::conflict(
            "This file cannot be downloaded in its current state.",
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_disposition_keeps_unicode_names() {
        assert_eq!(
            super::content_disposition("Réunion \"2026\".mov"),
            "attachment; filename=\"R_union _2026_.mov\"; filename*=UTF-8''R%C3%A9union%20%222026%22.mov"
        );
    }
}

//! Files in a vault: what the file browser lists. Names live in rows; objects live under
//! server-made keys, so renaming never touches S3.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod bulk;
#[cfg(feature = "ssr")]
pub mod selection;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// Last change to the file (upload, rename, move, class change): the "Modified" column.
    pub updated_at: i64,
    /// image, video, audio, document, archive or other.
    pub kind: String,
    /// 1 when the browser stored a preview image for it.
    pub has_thumb: i64,
    /// A restored file's copy is there until then (unix ms).
    pub restored_until: Option<i64>,
}

/// A folder as the browser lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FolderEntry {
    pub id: String,
    pub name: String,
    /// 'a/b/c' from the vault's root.
    pub path: String,
    pub created_at: i64,
}

/// Columns the list sorts by. Folders always come first, by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Name,
    Size,
    Class,
    State,
    Modified,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Name,
        Sort::Size,
        Sort::Class,
        Sort::State,
        Sort::Modified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Size => "size",
            Sort::Class => "class",
            Sort::State => "state",
            Sort::Modified => "modified",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "Name",
            Sort::Size => "Size",
            Sort::Class => "Storage class",
            Sort::State => "State",
            Sort::Modified => "Modified",
        }
    }
}

/// What a view of a vault shows: a folder, or a search over the folder or the whole vault,
/// narrowed by filters, in one sort order. It is also the page's URL query, so every view is
/// a link.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub vault_id: String,
    /// The folder's path ('' is the vault's root).
    pub path: String,
    /// Name search: any part of the name, any case.
    pub q: String,
    /// The whole vault rather than the folder: a search across it, or (with no search)
    /// every file in it, flat.
    pub everywhere: bool,
    /// Filters; '' means any.
    pub class: String,
    pub state: String,
    pub kind: String,
    /// Size range in bytes.
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    /// Modified between these days (YYYY-MM-DD, inclusive, UTC).
    pub from: String,
    pub to: String,
    pub sort: Sort,
    pub desc: bool,
}

/// File states the filter offers.
pub const STATES: [&str; 4] = ["available", "archived", "restoring", "restored"];
/// File kinds the filter offers.
pub const KINDS: [&str; 6] = ["image", "video", "audio", "document", "archive", "other"];

impl ListQuery {
    /// True when the view searches or filters (then it lists matching files, not folders;
    /// so does a view of the whole vault).
    pub fn is_search(&self) -> bool {
        !self.q.trim().is_empty()
            || !self.class.is_empty()
            || !self.state.is_empty()
            || !self.kind.is_empty()
            || self.min_size.is_some()
            || self.max_size.is_some()
            || !self.from.is_empty()
            || !self.to.is_empty()
    }

    /// Reads the view from a URL query (unknown or malformed values fall back to defaults).
    pub fn from_pairs<'a>(
        vault_id: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> ListQuery {
        let mut q = ListQuery {
            vault_id: vault_id.to_string(),
            ..Default::default()
        };
        for (k, v) in pairs {
            match k {
                "path" => q.path = v.trim_matches('/').to_string(),
                "q" => q.q = v.to_string(),
                "in" => q.everywhere = v == "vault",
                "class" if crate::vaults::STORAGE_CLASSES.contains(&v) => q.class = v.to_string(),
                "state" if STATES.contains(&v) => q.state = v.to_string(),
                "kind" if KINDS.contains(&v) => q.kind = v.to_string(),
                // Sizes in the URL (and the form) are MB, as people type them.
                "min" => q.min_size = mb_to_bytes(v),
                "max" => q.max_size = mb_to_bytes(v),
                "from" if parse_day(v).is_some() => q.from = v.to_string(),
                "to" if parse_day(v).is_some() => q.to = v.to_string(),
                "sort" => q.sort = Sort::parse(v).unwrap_or_default(),
                "dir" => q.desc = v == "desc",
                _ => {}
            }
        }
        q
    }

    /// The URL query for this view (defaults left out), without the leading '?'.
    pub fn to_query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![];
        let mut put = |k, v: String| {
            if !v.is_empty() {
                pairs.push((k, v))
            }
        };
        put("path", self.path.clone());
        put("q", self.q.clone());
        put(
            "in",
            if self.everywhere {
                "vault".into()
            } else {
                String::new()
            },
        );
        put("class", self.class.clone());
        put("state", self.state.clone());
        put("kind", self.kind.clone());
        put("min", self.min_size.map(bytes_to_mb).unwrap_or_default());
        put("max", self.max_size.map(bytes_to_mb).unwrap_or_default());
        put("from", self.from.clone());
        put("to", self.to.clone());
        put(
            "sort",
            if self.sort == Sort::Name {
                String::new()
            } else {
                self.sort.as_str().into()
            },
        );
        put(
            "dir",
            if self.desc {
                "desc".into()
            } else {
                String::new()
            },
        );
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The link to this view of the vault.
    pub fn href(&self) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            format!("/vaults/{}", self.vault_id)
        } else {
            format!("/vaults/{}?{qs}", self.vault_id)
        }
    }
}

/// "2.5" (MB) → 2,500,000 bytes.
pub fn mb_to_bytes(v: &str) -> Option<i64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|m| m.is_finite() && *m >= 0.0 && *m < 1e13)
        .map(|m| (m * 1_000_000.0).round() as i64)
}

/// 2,500,000 bytes → "2.5" (MB).
pub fn bytes_to_mb(b: i64) -> String {
    let s = format!("{:.6}", b as f64 / 1_000_000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A day as YYYY-MM-DD → unix ms at 00:00 UTC.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

/// One page of a view: folders first (only when browsing a folder), then files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub folders: Vec<FolderEntry>,
    pub files: Vec<FileEntry>,
    /// Where the next page starts; None on the last page.
    pub next: Option<String>,
    /// Counted on the first page only (the whole view, not the page).
    pub folder_count: Option<i64>,
    pub file_count: Option<i64>,
}

/// The kind of a file, from its content type (and name when the type says nothing).
pub fn kind_of(content_type: &str, name: &str) -> &'static str {
    let ct = content_type.to_ascii_lowercase();
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if ct.starts_with("image/") {
        return "image";
    }
    if ct.starts_with("video/") {
        return "video";
    }
    if ct.starts_with("audio/") {
        return "audio";
    }
    const ARCHIVE_TYPES: [&str; 10] = [
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
    ];
    const ARCHIVE_EXT: [&str; 9] = ["zip", "tar", "gz", "tgz", "7z", "rar", "bz2", "xz", "zst"];
    if ARCHIVE_TYPES.contains(&ct.as_str()) || ARCHIVE_EXT.contains(&ext.as_str()) {
        return "archive";
    }
    const DOC_TYPES: [&str; 7] = [
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/rtf",
        "application/epub+zip",
        "application/json",
        "application/pdf",
    ];
    const DOC_EXT: [&str; 14] = [
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "txt", "md",
        "csv", "rtf",
    ];
    if ct.starts_with("text/")
        || DOC_TYPES.contains(&ct.as_str())
        || ct.starts_with("application/vnd.openxmlformats-officedocument.")
        || ct.starts_with("application/vnd.oasis.opendocument.")
        || DOC_EXT.contains(&ext.as_str())
    {
        return "document";
    }
    if ct == "application/octet-stream" || ct.is_empty() {
        const IMG: [&str; 6] = ["jpg", "jpeg", "png", "gif", "webp", "heic"];
        const VID: [&str; 5] = ["mp4", "mov", "mkv", "avi", "webm"];
        const AUD: [&str; 5] = ["mp3", "wav", "flac", "m4a", "ogg"];
        if IMG.contains(&ext.as_str()) {
            return "image";
        }
        if VID.contains(&ext.as_str()) {
            return "video";
        }
        if AUD.contains(&ext.as_str()) {
            return "audio";
        }
    }
    "other"
}

/// Everything known of one file, for its details panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileDetails {
    pub file: FileEntry,
    /// Hex SHA-256 reported by the uploading browser (None when the vault does not record it,
    /// or while its background worker has not finished).
    pub sha256: Option<String>,
    /// Base64 CRC64NVME of the whole object, verified by storage at upload (S3's
    /// `x-amz-checksum-crc64nvme`, `FULL_OBJECT`); None for files uploaded before it.
    pub crc64nvme: Option<String>,
    pub events: Vec<FileEvent>,
    /// What keeping it in its class costs a month, in micro-dollars.
    pub monthly_cost_micros: i64,
    /// In the trash since (unix ms).
    pub deleted_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileEvent {
    pub at: i64,
    pub kind: String,
    pub detail: String,
    /// Who did it (email), when known.
    pub actor: Option<String>,
}

/// A file in the trash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrashEntry {
    pub id: String,
    pub vault_id: String,
    pub vault_name: String,
    /// The folder it was deleted from.
    pub path: String,
    pub name: String,
    pub size: i64,
    pub storage_class: String,
    pub deleted_at: i64,
    /// The file's state; `deleted` once its deletion for good has begun (cut short by storage
    /// failing or a crash): it can no longer be brought back, and the next purge finishes it.
    pub state: String,
}

/// Days a file stays in the trash before its object is deleted for good.
pub const TRASH_DAYS: i64 = 7;

/// Which files (and folders) a bulk action applies to: the ones picked, or every file the
/// view matches (all pages) minus the ones unpicked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selection {
    pub vault_id: String,
    pub file_ids: Vec<String>,
    pub folder_ids: Vec<String>,
    pub all_matching: Option<ListQuery>,
    pub except: Vec<String>,
}

/// Most file ids (picked, or unpicked from "all matching") one selection may name: what the
/// list can show picked at once. Above it a request is refused before any work.
pub const MAX_SELECTED_FILES: usize = 10_000;
/// Most folder ids one selection may name (each is a subtree to walk).
pub const MAX_SELECTED_FOLDERS: usize = 1_000;

/// Refuses an id list longer than `max` (named `field` in the error).
pub fn check_id_list(field: &str, len: usize, max: usize) -> Result<(), crate::error::AppError> {
    if len > max {
        return Err(crate::error::AppError::invalid(
            field,
            format!(
                "At most {max} ids at once ({len} were sent): pick fewer, or select all matching the view."
            ),
        ));
    }
    Ok(())
}

impl Selection {
    /// The caps on what one selection may name, checked before any query.
    pub fn check_limits(&self) -> Result<(), crate::error::AppError> {
        check_id_list("file_ids", self.file_ids.len(), MAX_SELECTED_FILES)?;
        check_id_list("except", self.except.len(), MAX_SELECTED_FILES)?;
        check_id_list("folder_ids", self.folder_ids.len(), MAX_SELECTED_FOLDERS)
    }
}

/// What a bulk action did: finished at once, or queued as a job (large selections).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BulkOutcome {
    Done { files: i64, folders: i64 },
    Queued { op_id: String, total: i64 },
}

/// A queued bulk action's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkOp {
    pub id: String,
    pub action: String,
    pub total: i64,
    pub done: i64,
    pub state: String,
    pub error: Option<String>,
}

/// A file to fetch in a bulk download: a short-lived link and where it sits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DownloadLink {
    pub path: String,
    pub name: String,
    pub size: i64,
    pub sha256: Option<String>,
    pub crc64nvme: Option<String>,
    /// None when the file cannot be downloaded now (archived): `reason` says why.
    pub url: Option<String>,
    pub reason: Option<String>,
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

/// "name.ext" → ("name", ".ext"); a leading dot is part of the name.
pub fn stem_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
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

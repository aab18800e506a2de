//! Uploads: multipart, straight from the browser to S3 through presigned part URLs. The
//! server starts the upload, signs one URL per part (exact key, exact size, short-lived),
//! and completes it after checking the parts; it never receives file bytes.
pub use crate::checksums::{PartChecksum, PartHasher, same_composite};
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "hydrate")]
pub mod engine;
#[cfg(feature = "hydrate")]
pub mod hashing;
pub mod queue;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

pub const MIB: i64 = 1024 * 1024;
/// Smallest part we use (S3's minimum is 5 MiB; 8 MiB keeps request counts low).
pub const MIN_PART_SIZE: i64 = 8 * MIB;
/// S3's limit on parts in one upload.
pub const MAX_PARTS: i64 = 10_000;
/// S3's limit on one object.
pub const MAX_FILE_SIZE: i64 = 5 * 1024 * 1024 * MIB;

/// Part size for a file: at least 8 MiB, a whole number of MiB, and large enough that the
/// file needs no more than 10,000 parts (up to 5 TiB).
pub fn part_size_for(size: i64) -> i64 {
    let needed = (size + MAX_PARTS - 1) / MAX_PARTS;
    let rounded = (needed + MIB - 1) / MIB * MIB;
    rounded.max(MIN_PART_SIZE)
}

/// Number of parts of `part_size` that hold `size` bytes (an empty file is one empty part).
pub fn part_count(size: i64, part_size: i64) -> i64 {
    ((size + part_size - 1) / part_size).max(1)
}

/// Size of part `number` (1-based).
pub fn part_len(size: i64, part_size: i64, number: i64) -> i64 {
    (size - (number - 1) * part_size).clamp(0, part_size)
}

/// What the browser asks to start: the file as the person picked it, where it goes in the
/// vault, and (for small files, hashed first) its SHA-256 so duplicates are found at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewUpload {
    pub vault_id: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 255))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 5497558138880_i64))]
    pub size: i64,
    pub content_type: String,
    /// Folder inside the vault, `a/b/c` ('' for the vault's root).
    #[serde(default)]
    pub folder_path: String,
    /// The file's last-modified time (ms), to match it again after a reload.
    #[serde(default)]
    pub last_modified: i64,
    /// Hex SHA-256 of the whole file, when known before the upload.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub sha256: Option<String>,
    /// Base64 CRC64NVME of the whole file, when known before the upload (a small file read
    /// first): a duplicate is then found before any byte moves.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = "^[A-Za-z0-9+/]{11}=$"))]
    pub crc64nvme: Option<String>,
    #[serde(default)]
    pub on_duplicate: Option<OnDuplicate>,
}

/// What to do when the folder already holds a file with the same content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum OnDuplicate {
    /// Keep both; the new one is renamed "name (2).ext".
    KeepBoth,
    /// The new file takes the old one's place (the old one is deleted).
    Replace,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadTicket {
    pub upload_id: String,
    pub file_id: String,
    /// The name the file gets (a free name when the folder has one already).
    pub name: String,
    pub part_size: i64,
    pub part_count: i64,
    /// The checksum each part carries (`CRC64NVME`; `CRC32` or `SHA256` for uploads started
    /// by earlier versions), base64 in [`PartRequest::checksum`].
    pub checksum_algorithm: String,
    /// Whether the vault wants the file's SHA-256 too (its "also record SHA-256" setting):
    /// sent at completion or attached later (`attach_sha256`).
    pub record_sha256: bool,
}

/// A part the browser is about to send, with its checksum (base64, of the upload's
/// `checksum_algorithm`), which the URL signs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PartRequest {
    pub number: i64,
    pub checksum: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PartUrl {
    pub number: i64,
    pub size: i64,
    pub url: String,
    /// Headers the PUT must carry as given (they are part of the signature): [name, value].
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompletedPart {
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 10000))]
    pub number: i64,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 200))]
    pub etag: String,
}

/// An unfinished upload, as the page lists it after a reload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OpenUpload {
    pub upload_id: String,
    pub file_id: String,
    pub vault_id: String,
    pub name: String,
    pub folder_path: String,
    pub size: i64,
    pub last_modified: i64,
    pub part_size: i64,
    pub part_count: i64,
    pub parts_stored: i64,
    pub bytes_stored: i64,
    pub updated_at: i64,
}

/// A part storage holds already, with the checksum it was stored with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoredPart {
    pub number: i64,
    pub etag: String,
    pub checksum: Option<String>,
}

/// What resuming needs: the upload and the parts that need not be sent again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResumeInfo {
    pub upload: OpenUpload,
    pub stored: Vec<StoredPart>,
    /// As in [`UploadTicket`]: the parts' checksum, and whether a SHA-256 is wanted.
    pub checksum_algorithm: String,
    pub record_sha256: bool,
}

/// Whether a file of this type and name passes a vault's allowed-types rule (`''` allows
/// all; entries are `type/*`, `type/subtype` or `.ext`).
pub fn type_allowed(rule: &str, content_type: &str, name: &str) -> bool {
    let entries: Vec<&str> = rule
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return true;
    }
    let ct = content_type.trim().to_ascii_lowercase();
    let ct = ct.split(';').next().unwrap_or("").trim();
    let lname = name.to_lowercase();
    entries.iter().any(|e| {
        let e = e.to_ascii_lowercase();
        if let Some(ext) = e.strip_prefix('.') {
            lname.ends_with(&format!(".{ext}"))
        } else if let Some(major) = e.strip_suffix("/*") {
            ct.split_once('/').is_some_and(|(m, _)| m == major)
        } else {
            ct == e
        }
    })
}

/// Normalizes an allowed-types rule as people type it ("image/*  .PDF,video/mp4").
pub fn normalize_type_rule(rule: &str) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    for e in rule
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        let e = e.to_ascii_lowercase();
        let ok = if let Some(ext) = e.strip_prefix('.') {
            !ext.is_empty() && ext.len() <= 16 && ext.chars().all(|c| c.is_ascii_alphanumeric())
        } else if let Some((a, b)) = e.split_once('/') {
            let tok = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
            };
            tok(a) && (b == "*" || tok(b))
        } else {
            false
        };
        if !ok {
            return Err(format!(
                "“{e}” is not a type: use forms like image/*, video/mp4 or .pdf."
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.len() > 50 {
        return Err("At most 50 types.".into());
    }
    Ok(out.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_stay_under_ten_thousand_parts_up_to_5_tib() {
        assert_eq!(part_size_for(0), MIN_PART_SIZE);
        assert_eq!(part_size_for(64 * MIB), MIN_PART_SIZE);
        assert_eq!(part_count(64 * MIB, MIN_PART_SIZE), 8);
        for size in [1, 8 * MIB, 80_000 * MIB, 100 * 1024 * MIB, MAX_FILE_SIZE] {
            let ps = part_size_for(size);
            assert!(ps >= MIN_PART_SIZE && ps % MIB == 0);
            assert!(part_count(size, ps) <= MAX_PARTS, "size {size}");
        }
        assert_eq!(part_size_for(MAX_FILE_SIZE), 525 * MIB);
    }

    #[test]
    fn type_rules_match_types_families_and_extensions() {
        assert!(type_allowed("", "application/x-msdownload", "a.exe"));
        let rule = normalize_type_rule(" image/*  .PDF,video/mp4 ").unwrap();
        assert_eq!(rule, "image/*, .pdf, video/mp4");
        assert!(type_allowed(&rule, "image/jpeg", "a.jpg"));
        assert!(type_allowed(&rule, "", "Report.PDF"));
        assert!(type_allowed(&rule, "video/mp4; codecs=avc1", "v.mp4"));
        assert!(!type_allowed(&rule, "video/webm", "v.webm"));
        assert!(!type_allowed(&rule, "application/x-msdownload", "a.exe"));
        assert!(!type_allowed(&rule, "", "pdf"));
        assert!(normalize_type_rule("exe").is_err());
        assert!(normalize_type_rule("image/<x>").is_err());
        assert_eq!(normalize_type_rule("").unwrap(), "");
    }

    #[test]
    fn the_last_part_holds_the_rest() {
        let size = 20 * MIB + 5;
        assert_eq!(part_count(size, 8 * MIB), 3);
        assert_eq!(part_len(size, 8 * MIB, 1), 8 * MIB);
        assert_eq!(part_len(size, 8 * MIB, 3), 4 * MIB + 5);
        assert_eq!(part_count(0, 8 * MIB), 1);
        assert_eq!(part_len(0, 8 * MIB, 1), 0);
    }
}

/// Upload progress as people should see it: bytes never go backwards, speed is measured over
/// the last few seconds, time left follows from both.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meter {
    pub total: i64,
    pub done: i64,
    /// (time ms, bytes done) over the last `WINDOW_MS`.
    samples: std::collections::VecDeque<(f64, i64)>,
}

impl Meter {
    const WINDOW_MS: f64 = 5_000.0;

    pub fn new(total: i64) -> Self {
        Meter {
            total,
            ..Default::default()
        }
    }

    /// Records `done` bytes at time `now_ms`; a smaller value (a retried part) is ignored.
    pub fn record(&mut self, now_ms: f64, done: i64) {
        self.done = self.done.max(done.min(self.total));
        self.samples.push_back((now_ms, self.done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now_ms - t > Self::WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }

    /// Records `done` bytes and answers by how much the shown total grew.
    pub fn advance_to(&mut self, now_ms: f64, done: i64) -> i64 {
        let before = self.done;
        self.record(now_ms, done);
        self.done - before
    }

    /// For a sum of files: `delta` more bytes done.
    pub fn add_done(&mut self, now_ms: f64, delta: i64) {
        let done = self.done + delta;
        self.record(now_ms, done);
    }

    pub fn percent(&self) -> f64 {
        if self.total <= 0 {
            100.0
        } else {
            self.done as f64 * 100.0 / self.total as f64
        }
    }

    /// Bytes per second over the window, once it spans at least half a second.
    pub fn speed(&self) -> Option<f64> {
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        (t1 - t0 >= 500.0).then(|| (b1 - b0) as f64 * 1000.0 / (t1 - t0))
    }

    pub fn seconds_left(&self) -> Option<f64> {
        let s = self.speed().filter(|s| *s > 0.0)?;
        Some((self.total - self.done) as f64 / s)
    }
}

#[cfg(test)]
mod meter_tests {
    use super::Meter;

    #[test]
    fn progress_never_goes_backwards_and_speed_uses_recent_samples() {
        let mut m = Meter::new(100_000_000);
        m.record(0.0, 0);
        m.record(1000.0, 10_000_000);
        m.record(1500.0, 8_000_000); // a retried part restarts its byte count
        assert_eq!(m.done, 10_000_000);
        m.record(2000.0, 20_000_000);
        assert_eq!(m.speed(), Some(10_000_000.0));
        assert_eq!(m.seconds_left(), Some(8.0));
        assert_eq!(m.percent(), 20.0);
        // Fast now after a slow start: only the last seconds count.
        let mut m = Meter::new(100_000_000);
        m.record(0.0, 0);
        m.record(1000.0, 1_000_000);
        m.record(7000.0, 61_000_000);
        m.record(8000.0, 71_000_000);
        assert_eq!(
            m.speed(),
            Some(10_000_000.0),
            "old samples leave the window"
        );
    }
}

/// What new uploads' parts carry (the browser's read worker computes it, `part_checksum`).
pub const UPLOAD_PART_CHECKSUM: PartChecksum = PartChecksum::Crc64Nvme;

//! The embedded endpoint's store: s3s-fs's file system and the folders beside it where the
//! endpoint keeps what s3s-fs does not (part ETags and checksums, object checksums and
//! states), and the Glacier delays. Its S3 operations are in this module's parent, its
//! Glacier, multipart and checksum parts in the siblings.
use std::path::PathBuf;

use super::restore_times::GlacierTimes;

pub struct LocalS3 {
    pub(super) fs: s3s_fs::FileSystem,
    /// s3s-fs's root: one folder per bucket, and its own `.upload-<id>.json` files.
    pub(super) root: PathBuf,
    /// `<parts_dir>/<upload id>/<part number>` holds the part's ETag (outside `root`, where a
    /// folder would be listed as a bucket).
    pub(super) parts_dir: PathBuf,
    /// `<meta_dir>/<sha256(bucket/key)>.<crc32|sha256>` holds an object's checksum (the
    /// extension names the algorithm, as for parts), and `.state` its
    /// storage class and restore (JSON), so both survive restarts.
    pub(super) meta_dir: PathBuf,
    pub(super) glacier: GlacierTimes,
}

impl std::fmt::Debug for LocalS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalS3")
    }
}

impl LocalS3 {
    pub fn new(root: PathBuf, parts_dir: PathBuf) -> std::io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        let meta_dir = parts_dir.with_file_name("meta");
        let glacier = GlacierTimes::from_env().map_err(std::io::Error::other)?;
        Ok(LocalS3 {
            fs,
            root,
            parts_dir,
            meta_dir,
            glacier,
        })
    }
}

//! Checksums before and during an upload: a small file's SHA-256 before it starts (to find
//! a duplicate), and the hash worker's part CRC32s and the file's SHA-256 as parts are read.
use super::job::Stop;
use crate::uploads::hashing::FileHash;
use crate::uploads::{part_count, part_size_for};
use std::future::Future;
use std::pin::Pin;
use web_sys::File;

/// Files at most this large are hashed before they start, so duplicates cost no upload.
pub(crate) const HASH_FIRST_MAX: i64 = 32 * 1024 * 1024;

/// Parts hashed ahead of the ones being sent (the hashing waits beyond this).
pub(crate) const HASH_AHEAD: usize = 16;

/// Parts asked of the hash worker before its first answer arrives.
pub(crate) const WORKER_AHEAD: usize = 3;

/// A small file's hashes, computed before its upload starts: its SHA-256 (to find a duplicate
/// before any byte moves) and its parts' CRC32s for the part size the server will choose.
pub(crate) struct Hashed {
    pub(crate) sha256: String,
    pub(crate) part_size: i64,
    pub(crate) parts: Vec<String>,
}

/// Where a file's checksums come from: computed before it started (a small file), or from
/// the hash worker as its parts are read.
pub(crate) enum Sums {
    Known(Hashed),
    Worker(FileHash),
}

impl Sums {
    /// Part `n`'s CRC32 (bytes `[start, end)` of `file`); asked at once, awaited in order.
    pub(crate) fn part<'a>(
        &'a self,
        file: &'a File,
        n: i64,
        start: i64,
        end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + 'a>> {
        match self {
            Sums::Known(h) => Box::pin(std::future::ready(Ok(h.parts[(n - 1) as usize].clone()))),
            Sums::Worker(hash) => hash.part(file, start, end),
        }
    }

    /// The file's SHA-256 (hex), once every part was fed.
    pub(crate) async fn finish(&self) -> Result<String, String> {
        match self {
            Sums::Known(h) => Ok(h.sha256.clone()),
            Sums::Worker(hash) => hash.finish().await,
        }
    }
}

pub(crate) async fn hash_first(file: &File) -> Result<Hashed, Stop> {
    let size = file.size() as i64;
    let part_size = part_size_for(size);
    let hash = FileHash::new().await;
    let mut parts = Vec::new();
    for n in 0..part_count(size, part_size) {
        let start = n * part_size;
        let end = (start + part_size).min(size);
        parts.push(hash.part(file, start, end).await.map_err(hash_failed)?);
    }
    let sha256 = hash.finish().await.map_err(hash_failed)?;
    Ok(Hashed {
        sha256,
        part_size,
        parts,
    })
}

pub(crate) fn hash_failed(e: String) -> Stop {
    Stop::Failed(format!("the file could not be hashed: {e}"))
}

//! The browser half of uploads (hydrate only). For each queued file: hash it first when small
//! (to find a duplicate before any byte moves), start or resume the multipart upload, then
//! hash it part by part in order in the hash worker (the file's SHA-256 and each part's CRC32,
//! [`super::hashing`]) and PUT each part straight from the file to S3 with XHR (for progress),
//! several at once, each with its CRC32 signed into its URL (signed 8 parts at a time). A
//! failed part is retried with backoff; an expired URL is signed again. Parts are reported as
//! they land, so a reload loses nothing: the page lists the unfinished upload and
//! the same file, picked again, sends only the missing parts.
//!
//! Parts: [`control`] runs the queue and answers the page's buttons; [`transfer`] moves one
//! file's bytes; [`sums`] computes checksums; [`job`] tracks one file's upload; [`browser`]
//! wraps what the engine asks of the browser.
mod browser;
mod control;
mod job;
mod sums;
mod transfer;

pub use browser::{dropped_files, picked_files, save_parallel};
pub use control::{
    act, add_files, cancel_all, choose_duplicate, discard_open, install, mount, pause_all,
    resume_all,
};

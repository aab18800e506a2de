//! The browser half of uploads (hydrate only). For each queued file: read it first when small
//! (its CRC64NVME finds a duplicate before any byte moves), start or resume the multipart
//! upload, then read it part by part in the read worker for each part's CRC64NVME
//! ([`super::hashing`]), and PUT the part straight to S3 with XHR (for progress), several at
//! once, each with its CRC signed into its URL (signed 8 parts at a time). The PUT sends the
//! file's slice (the network stack reads it again, from the page cache; S3 refuses it should
//! the file change in between), or, by choice, the very buffer the worker read ([`sums::Body`]);
//! parts held in memory stay within a budget (256 MiB). S3 checks each part, and at completion the whole object's CRC, which the server
//! combines from the parts'. The file's SHA-256, when the vault records it, is a separate
//! low-priority pass that may finish after the upload. A failed part is retried with backoff;
//! an expired URL is signed again. Parts are reported as they land, so a reload loses
//! nothing: the page lists the unfinished upload and the same file, picked again, sends only
//! the missing parts.
//!
//! Parts: [`control`] runs the queue and answers the page's buttons; [`transfer`] moves one
//! file's bytes; [`sums`] reads parts within the memory budget and runs the SHA pass; [`job`]
//! tracks one file's upload; [`browser`] wraps what the engine asks of the browser.
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

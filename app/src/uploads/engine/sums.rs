//! Reading parts for sending, within the file's memory budget ([`super::job::hold`]): a
//! small file is read whole before it starts (its CRC64NVME finds a duplicate before any byte
//! moves); a larger one part by part as slots free up. The file's SHA-256, when the
//! vault records it, is a separate low-priority pass ([`sha_pass`]).
use super::browser::sleep_ms;
use super::job::{Held, Job, PART_SLOTS, Stop, hold};
use crate::checksums::crc64_combine;
use crate::uploads::hashing::{FileHash, ShaSum, read_part};
use crate::uploads::{PartChecksum, UPLOAD_PART_CHECKSUM, part_count, part_size_for};

/// Files at most this large are read whole before they start, so duplicates cost no upload.
pub(crate) const READ_FIRST_MAX: i64 = 32 * 1024 * 1024;

/// Reads asked of the read worker ahead of the one awaited (each holds budget).
pub(crate) const READ_AHEAD: usize = 4;

/// What a part's PUT sends: the bytes its checksum was computed from (read once), or the
/// file's slice, read again by the browser's network stack (S3 checks it against the
/// checksum, so a file changed in between is refused, never stored).
pub(crate) enum Body {
    Memory(js_sys::ArrayBuffer),
    Slice(web_sys::Blob),
}

/// One part, read and checksummed: its body, and the budget a body in memory holds.
pub(crate) struct ReadPart {
    pub(crate) sum: String,
    pub(crate) body: Body,
    pub(crate) held: Option<Held>,
}

/// Whether parts are sent from the buffer they were read into (`nexus.upload.send` =
/// `memory` in the browser's local storage) rather than as the file's slice (the default):
/// measured in Chromium (bench/upload), sending from memory costs the page some 2.5
/// CPU-seconds per GiB more than sending slices (the renderer copies every body into the
/// request), which on 2 cores is throughput lost; the second read of a part the read worker
/// has just read comes from the page cache.
fn send_from_memory() -> bool {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item("nexus.upload.send").ok().flatten())
        .is_some_and(|v| v == "memory")
}

/// Reads part `[start, end)` of the job's file within its budget.
pub(crate) async fn read(
    job: &Job,
    start: i64,
    end: i64,
    alg: PartChecksum,
) -> Result<ReadPart, Stop> {
    let held = hold(job, end - start).await;
    let keep = send_from_memory();
    let (sum, buf) = read_part(&job.file, start, end, alg, keep)
        .await
        .map_err(read_failed)?;
    let body = match buf {
        Some(b) => Body::Memory(b),
        None => Body::Slice(
            job.file
                .slice_with_f64_and_f64(start as f64, end as f64)
                .map_err(|_| Stop::Failed("the file could not be read".into()))?,
        ),
    };
    // A slice holds no memory: its share of the budget goes back now.
    let held = matches!(body, Body::Memory(_)).then_some(held);
    Ok(ReadPart { sum, body, held })
}

/// A small file read whole before it starts: its parts (for the part size the server will
/// choose) and the whole file's CRC64NVME, combined from theirs.
pub(crate) struct ReadFirst {
    pub(crate) part_size: i64,
    pub(crate) parts: Vec<ReadPart>,
    pub(crate) crc64nvme: String,
}

pub(crate) async fn read_first(job: &Job) -> Result<ReadFirst, Stop> {
    let size = job.file.size() as i64;
    let part_size = part_size_for(size);
    let mut parts = Vec::new();
    let mut lens = Vec::new();
    for n in 0..part_count(size, part_size) {
        let start = n * part_size;
        let end = (start + part_size).min(size);
        let p = read(job, start, end, UPLOAD_PART_CHECKSUM).await?;
        lens.push((p.sum.clone(), end - start));
        parts.push(p);
    }
    let crc64nvme =
        crc64_combine(&lens).ok_or_else(|| Stop::Failed("the file could not be read".into()))?;
    Ok(ReadFirst {
        part_size,
        parts,
        crc64nvme,
    })
}

/// Fewer than 4 cores (`navigator.hardwareConcurrency`; 2 when the browser does not say).
fn few_cores() -> bool {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .filter(|n| *n >= 1.0)
        .unwrap_or(2.0)
        < 4.0
}

pub(crate) fn read_failed(e: String) -> Stop {
    Stop::Failed(format!("the file could not be read: {e}"))
}

/// The file's SHA-256, read and hashed in the SHA worker a part at a time, at low priority:
/// it takes no CPU the upload needs. Before each part it waits: on a machine of 2 or 3 cores
/// (where hashing would take a core from sending: reading, the network and, often, the
/// storage itself) while any part of any file is being sent, so it runs once the queue is
/// idle; with 4 cores or more only while this upload's sending waits for reading
/// (`job.starved`). None when cancelled or the file cannot be read (the file is then stored
/// without a SHA-256; its CRC64NVME is always there).
pub(crate) async fn sha_pass(job: &Job, part_size: i64) -> Option<ShaSum> {
    if job.sha_running.replace(true) {
        return None; // a retry: the first pass goes on
    }
    let sum = sha_pass_inner(job, part_size).await;
    job.sha_running.set(false);
    sum
}

async fn sha_pass_inner(job: &Job, part_size: i64) -> Option<ShaSum> {
    let size = job.file.size() as i64;
    let hash = FileHash::new().await;
    for n in 0..part_count(size, part_size) {
        loop {
            if job.cancelled.get() {
                return None;
            }
            let busy = if few_cores() {
                PART_SLOTS.with(|s| s.busy())
            } else {
                job.starved.get() && !job.sending_done.get()
            };
            if !busy {
                break;
            }
            sleep_ms(200).await;
        }
        let start = n * part_size;
        let end = (start + part_size).min(size);
        if let Err(e) = hash.feed(&job.file, start, end).await {
            leptos::logging::warn!("no SHA-256 for {}: {e}", job.file.name());
            return None;
        }
    }
    hash.finish()
        .await
        .inspect_err(|e| leptos::logging::warn!("no SHA-256 for {}: {e}", job.file.name()))
        .ok()
}

//! `nexus upload`: the multipart upload engine, resumable across runs.
//!
//! For each file:
//!
//! 1. **Resume?** The state file for this exact file (path, size, mtime) and destination
//!    names an unfinished upload: ask the server which parts it has (`GET /uploads/{id}`),
//!    keep those whose checksum matches the CRC32 of our bytes for that part (re-read; the
//!    file may have changed in place with the same mtime), send the rest. A 404 means the
//!    upload is gone (completed, aborted, expired): start over.
//! 2. **Skip?** Only when the remote folder has a file of the same name and size is the
//!    whole file hashed first (SHA-256), to compare with that file's (`GET /files/{id}`):
//!    same content, nothing to send. Otherwise nothing is read before the upload starts:
//! 3. **One read per byte.** Each part is read once, in file order, into the buffer it is
//!    sent from; the same bytes feed its CRC32 (signed into its URL, checked by storage) and
//!    the file's running SHA-256, which completes the upload. A file whose content is in the
//!    folder under another name is found by the server at completion (duplicate) rather
//!    than at the start — the price of not reading every file twice.
//! 4. **Start** (`POST /uploads`, with `on_duplicate: Replace` only under `--replace`; a 409
//!    duplicate is reported and the file skipped) and write the state file before any part
//!    moves, so a kill from here on loses no more than the parts in flight.
//! 5. **Parts**: a reader reads parts in order (CRC'ing each), part URLs are signed in
//!    batches of whatever is ready (up to 100), PUTs run `--parts` at a time, each retried
//!    with backoff (a fresh URL after a 403: presigned URLs expire), and stored parts are
//!    reported (`/parts/done`) as they land, one report in flight at a time.
//! 6. **Complete** with the SHA-256 and every part's ETag; the state file goes.
use crate::client::{self, Client, FileEntry, PartUrl, ResumeInfo, UploadTicket, Vault};
use crate::output::{Ui, bar_style, human_bytes, print_json, say};
use crate::{Fail, config, paths};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use bytes::Bytes;
use indicatif::{MultiProgress, ProgressBar};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

/// Most parts the server signs in one call.
const SIGN_BATCH: usize = 100;
/// Most parts in one `/parts/done` report.
const REPORT_BATCH: usize = 100;
/// Retries of one part's PUT (after the first attempt).
const PART_RETRIES: u32 = 5;
/// Part buffers one file may hold at once. Parts grow with the file (the server keeps to
/// 10,000 parts), so `--parts 8` of 512 MiB parts would be 4 GiB: fewer go in flight instead.
const MEMORY_PER_FILE: u64 = 256 * 1024 * 1024;
const READ_BUF: usize = 1 << 20;
const STATE_VERSION: u32 = 1;

pub struct Options {
    pub sources: Vec<PathBuf>,
    pub dest: String,
    pub jobs: usize,
    pub parts: usize,
    pub replace: bool,
    /// Storage class to move each uploaded file to (the upload itself lands in the vault's
    /// default class: `POST /uploads` takes no class).
    pub class: Option<String>,
}

/// A local file and where it goes.
#[derive(Clone, Debug)]
struct LocalFile {
    path: PathBuf,
    /// The path with links and `..` resolved: the same file always has the same state key,
    /// whatever the working directory or the spelling of the argument.
    canonical: PathBuf,
    folder: String,
    name: String,
    size: u64,
    mtime_ns: u64,
}

/// What a resumable upload needs to be found again and checked: written after
/// `POST /uploads`, before the first part is sent; deleted once the upload completes.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct UploadState {
    version: u32,
    key: String,
    local_path: String,
    size: u64,
    mtime_ns: u64,
    vault_id: String,
    folder_path: String,
    name: String,
    /// The name the server gave the file (a free one when the folder had `name` already).
    remote_name: String,
    sha256: String,
    upload_id: String,
    file_id: String,
    part_size: u64,
    part_count: u32,
    on_duplicate: Option<String>,
    /// Base64 checksum of each part read so far (saved with each `/parts/done` report).
    #[serde(default)]
    crcs: BTreeMap<u32, String>,
    /// The parts' checksum (the ticket's `checksum_algorithm`; state files written before
    /// there was a choice are CRC32 uploads).
    #[serde(default = "crc32_name")]
    checksum_algorithm: String,
    /// Whether the vault records the file's SHA-256.
    #[serde(default = "yes")]
    record_sha256: bool,
}

fn crc32_name() -> String {
    "CRC32".into()
}

fn yes() -> bool {
    true
}

/// A part checksum the server may ask for: CRC64NVME (S3's full-object checksum, what new
/// uploads use) or CRC32 (uploads started by earlier versions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Crc32,
    Crc64Nvme,
}

impl Alg {
    pub fn from_name(name: &str) -> Option<Alg> {
        match name.to_ascii_uppercase().as_str() {
            "" | "CRC32" => Some(Alg::Crc32),
            "CRC64NVME" => Some(Alg::Crc64Nvme),
            _ => None,
        }
    }

    /// The checksum of `bytes`, base64 as S3's headers carry it.
    pub fn of(self, bytes: &[u8]) -> String {
        match self {
            Alg::Crc32 => crc32_b64(crc32fast::hash(bytes)),
            Alg::Crc64Nvme => {
                crc64_b64(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, bytes))
            }
        }
    }
}

/// A running [`Alg`] checksum.
enum Running {
    Crc32(crc32fast::Hasher),
    Crc64(Box<crc_fast::Digest>),
}

impl Running {
    fn new(alg: Alg) -> Running {
        match alg {
            Alg::Crc32 => Running::Crc32(crc32fast::Hasher::new()),
            Alg::Crc64Nvme => Running::Crc64(Box::new(crc_fast::Digest::new(
                crc_fast::CrcAlgorithm::Crc64Nvme,
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Running::Crc32(h) => h.update(bytes),
            Running::Crc64(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Running::Crc32(h) => crc32_b64(h.finalize()),
            Running::Crc64(h) => crc64_b64(h.finalize()),
        }
    }
}

pub fn crc64_b64(crc: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// The state file's name: SHA-256 of what identifies "this upload of this file". Each field
/// is length-prefixed, so no two different tuples can hash the same bytes. The mtime and size
/// make an edited file a new upload instead of a resume with stale parts.
pub fn state_key(
    canonical: &Path,
    size: u64,
    mtime_ns: u64,
    vault_id: &str,
    folder: &str,
    name: &str,
) -> String {
    let mut h = Sha256::new();
    let size = size.to_le_bytes();
    let mtime = mtime_ns.to_le_bytes();
    let fields: [&[u8]; 6] = [
        canonical.as_os_str().as_encoded_bytes(),
        &size,
        &mtime,
        vault_id.as_bytes(),
        folder.as_bytes(),
        name.as_bytes(),
    ];
    for field in fields {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field);
    }
    hex::encode(h.finalize())
}

/// Byte range (offset, length) of part `number` (1-based) of a file. The last part holds
/// the rest; an empty file is one empty part.
pub fn part_range(size: u64, part_size: u64, number: u32) -> (u64, u64) {
    let offset = u64::from(number.saturating_sub(1))
        .saturating_mul(part_size)
        .min(size);
    (offset, (size - offset).min(part_size))
}

/// Parts in flight for one file: as asked, but no more than [`MEMORY_PER_FILE`] of buffers.
pub fn parts_in_flight(requested: usize, part_size: u64) -> usize {
    let by_memory = usize::try_from(MEMORY_PER_FILE / part_size.max(1)).unwrap_or(usize::MAX);
    requested.min(by_memory).max(1)
}

/// Checks the server's part layout against the file before relying on it.
pub fn check_layout(size: u64, part_size: u64, part_count: u32) -> Result<(), String> {
    let ok = part_size > 0
        && part_count >= 1
        && u64::from(part_count).saturating_mul(part_size) >= size
        && (u64::from(part_count - 1).saturating_mul(part_size) < size
            || (size == 0 && part_count == 1));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the server's layout ({part_count} parts of {part_size} bytes) does not fit {size} bytes"
        ))
    }
}

/// CRC32 as the `x-amz-checksum-crc32` header carries it: base64 of the big-endian bytes.
pub fn crc32_b64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// A content type from the name's extension. The server checks it against the vault's
/// allowed types and records it; the bytes are never sniffed.
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "tif" | "tiff" => "image/tiff",
        "svg" => "image/svg+xml",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        "avi" => "video/x-msvideo",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "m4a" => "audio/mp4",
        "ogg" => "audio/ogg",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Planning: which local files go where.

/// Expands the arguments into files. A folder keeps its own name under the destination, as
/// `cp -r` does (`upload photos v/2024` makes `v/2024/photos/…`); `.` uploads the current
/// folder's contents. Links to files are followed; links to folders are not (loops).
fn plan(
    sources: &[PathBuf],
    dest_folder: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<LocalFile>> {
    let mut out = Vec::new();
    for src in sources {
        let meta =
            std::fs::metadata(src).map_err(|e| Fail::usage(format!("{}: {e}", src.display())))?;
        if meta.is_file() {
            let name = src
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Fail::usage(format!("{}: the name is not UTF-8", src.display())))?;
            out.push(local_file(src, dest_folder, name, &meta)?);
        } else if meta.is_dir() {
            let folder = match top_folder_name(src)? {
                Some(name) => paths::join(dest_folder, &name),
                None => dest_folder.to_string(),
            };
            walk(src, &folder, &mut out, warnings)?;
        } else {
            return Err(Fail::usage(format!(
                "{}: not a file or folder",
                src.display()
            )));
        }
    }
    Ok(out)
}

/// The name a folder argument keeps remotely; None for `.` (its contents go directly).
fn top_folder_name(src: &Path) -> Result<Option<String>> {
    if matches!(src.components().next_back(), Some(Component::CurDir)) {
        return Ok(None);
    }
    let name = match src.file_name() {
        Some(n) => Some(n.to_os_string()),
        // `..`, `/`: the real folder's name.
        None => std::fs::canonicalize(src)?
            .file_name()
            .map(|n| n.to_os_string()),
    };
    match name {
        Some(n) => n
            .into_string()
            .map(Some)
            .map_err(|_| Fail::usage(format!("{}: the name is not UTF-8", src.display()))),
        None => Ok(None),
    }
}

fn walk(
    dir: &Path,
    folder: &str,
    out: &mut Vec<LocalFile>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .and_then(|rd| rd.collect::<std::io::Result<Vec<_>>>())
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            warnings.push(format!(
                "{}: skipped (the name is not UTF-8)",
                path.display()
            ));
            continue;
        };
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, &paths::join(folder, &name), out, warnings)?;
        } else if kind.is_file() {
            let meta = entry
                .metadata()
                .with_context(|| format!("reading {}", path.display()))?;
            out.push(local_file(&path, folder, &name, &meta)?);
        } else if kind.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => out.push(local_file(&path, folder, &name, &meta)?),
                Ok(meta) if meta.is_dir() => {
                    warnings.push(format!("{}: skipped (a link to a folder)", path.display()));
                }
                _ => warnings.push(format!("{}: skipped (a broken link)", path.display())),
            }
        } else {
            warnings.push(format!("{}: skipped (not a regular file)", path.display()));
        }
    }
    Ok(())
}

fn local_file(
    path: &Path,
    folder: &str,
    name: &str,
    meta: &std::fs::Metadata,
) -> Result<LocalFile> {
    let canonical =
        std::fs::canonicalize(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(LocalFile {
        path: path.to_path_buf(),
        canonical,
        folder: folder.to_string(),
        name: name.to_string(),
        size: meta.len(),
        mtime_ns: mtime_ns(meta),
    })
}

// ---------------------------------------------------------------------------------------
// Resume state on disk.

#[derive(Clone)]
struct StateStore {
    dir: Option<PathBuf>,
}

impl StateStore {
    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.json")))
    }

    /// The state of an earlier run; an unreadable or foreign-version file is dropped (it can
    /// only cost a fresh start, never a wrong resume).
    async fn load(&self, key: &str) -> Option<UploadState> {
        let path = self.path(key)?;
        let bytes = tokio::fs::read(&path).await.ok()?;
        match serde_json::from_slice::<UploadState>(&bytes) {
            Ok(s) if s.version == STATE_VERSION && s.key == key => Some(s),
            _ => {
                let _ = tokio::fs::remove_file(&path).await;
                None
            }
        }
    }

    async fn save(&self, state: &UploadState) -> Result<()> {
        let Some(path) = self.path(&state.key) else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(state)?;
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                config::create_private_dir(dir)?;
            }
            config::write_private(&path, &bytes)
        })
        .await
        .context("state writer")?
        .context("saving the upload's resume state")
    }

    async fn remove(&self, key: &str) {
        if let Some(path) = self.path(key) {
            let _ = tokio::fs::remove_file(path).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Uploaded,
    Resumed,
    Skipped,
    Duplicate,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Uploaded => "uploaded",
            Status::Resumed => "resumed",
            Status::Skipped => "skipped",
            Status::Duplicate => "duplicate",
        }
    }
}

#[derive(Debug)]
struct Outcome {
    status: Status,
    file_id: Option<String>,
    remote_name: Option<String>,
    note: Option<String>,
    /// Parts an earlier run had stored, not sent again (resumed uploads).
    resumed_parts: Option<usize>,
}

/// Progress of one file, counted into the total too.
struct FileBars {
    bar: ProgressBar,
    total: ProgressBar,
    sent: AtomicU64,
}

impl FileBars {
    fn sent(&self, n: u64) {
        self.bar.inc(n);
        self.total.inc(n);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }
}

/// What every file's upload shares.
struct Shared {
    client: Client,
    vault: Vault,
    store: StateStore,
    parts: usize,
    replace: bool,
    class: Option<String>,
    ui: Ui,
    mp: MultiProgress,
    total: ProgressBar,
    /// Remote folder listings for the skip check, fetched once per folder.
    listings: Mutex<HashMap<String, Listing>>,
}

/// One remote folder's files, listed once however many uploads ask.
type Listing = Arc<OnceCell<Arc<Vec<FileEntry>>>>;

pub async fn run(client: Client, ui: Ui, opts: Options) -> Result<()> {
    let class = match &opts.class {
        Some(c) => Some(paths::storage_class(c).map_err(Fail::usage)?),
        None => None,
    };
    let (vault, dest_folder) = paths::resolve(&client, &opts.dest, false).await?;
    let mut warnings = Vec::new();
    let files = plan(&opts.sources, &dest_folder, &mut warnings)?;
    for w in &warnings {
        eprintln!("nexus: {w}");
    }
    if files.is_empty() {
        if ui.json {
            print_json(&json!({"vault": {"id": vault.id, "name": vault.name}, "files": []}))?;
        } else if !ui.quiet {
            say("Nothing to upload.");
        }
        return Ok(());
    }

    let store = StateStore {
        dir: config::uploads_state_dir(),
    };
    if store.dir.is_none() && !ui.quiet {
        eprintln!(
            "nexus: no state directory (set HOME or XDG_STATE_HOME): uploads will not resume"
        );
    }
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    let mp = MultiProgress::with_draw_target(ui.draw_target());
    let total = mp.add(ProgressBar::new(total_bytes));
    total.set_style(bar_style(
        "{msg:12} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ));
    total.set_message(format!(
        "{} file{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    ));

    let shared = Arc::new(Shared {
        client,
        vault,
        store,
        parts: opts.parts.max(1),
        replace: opts.replace,
        class,
        ui,
        mp,
        total,
        listings: Mutex::new(HashMap::new()),
    });

    // `--jobs` workers take files from one queue, in order.
    let queue: Arc<Mutex<VecDeque<(usize, LocalFile)>>> =
        Arc::new(Mutex::new(files.iter().cloned().enumerate().collect()));
    let mut workers = JoinSet::new();
    for _ in 0..opts.jobs.clamp(1, files.len()) {
        let (sh, queue) = (shared.clone(), queue.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((i, f)) = next else { break };
                let result = upload_file(&sh, &f).await;
                print_result(&sh, &f, &result);
                done.push((i, result));
            }
            done
        });
    }
    let mut results: Vec<Option<Result<Outcome>>> = (0..files.len()).map(|_| None).collect();
    while let Some(joined) = workers.join_next().await {
        for (i, r) in joined.context("upload worker")? {
            results[i] = Some(r);
        }
    }
    shared.total.finish_and_clear();

    // The summary: one JSON document, or one line.
    let mut entries = Vec::new();
    let (mut uploaded, mut skipped, mut duplicates, mut failed) = (0, 0, 0, 0);
    let mut first_failure: Option<u8> = None;
    for (f, r) in files.iter().zip(results) {
        let remote = paths::display(&shared.vault.name, &paths::join(&f.folder, &f.name));
        let mut entry = json!({
            "path": f.path.display().to_string(),
            "remote": remote,
            "folder_path": f.folder,
            "size": f.size,
        });
        match r.unwrap_or_else(|| Err(anyhow!("not attempted"))) {
            Ok(o) => {
                match o.status {
                    Status::Uploaded | Status::Resumed => uploaded += 1,
                    Status::Skipped => skipped += 1,
                    Status::Duplicate => duplicates += 1,
                }
                entry["status"] = json!(o.status);
                entry["file_id"] = json!(o.file_id);
                entry["name"] = json!(o.remote_name.unwrap_or_else(|| f.name.clone()));
                if let Some(note) = o.note {
                    entry["note"] = json!(note);
                }
                if let Some(n) = o.resumed_parts {
                    entry["resumed_parts"] = json!(n);
                }
            }
            Err(e) => {
                failed += 1;
                let code = crate::exit_code_of(&e);
                if first_failure.is_none() {
                    first_failure = Some(code);
                }
                entry["status"] = json!("failed");
                entry["error"] = json!({"message": format!("{e:#}"), "exit_code": code});
            }
        }
        entries.push(entry);
    }
    if ui.json {
        print_json(&json!({
            "vault": {"id": shared.vault.id, "name": shared.vault.name},
            "files": entries,
            "uploaded": uploaded,
            "skipped": skipped,
            "duplicates": duplicates,
            "failed": failed,
        }))?;
    } else if !ui.quiet && files.len() > 1 {
        say(format!(
            "{uploaded} uploaded, {skipped} skipped, {duplicates} duplicate, {failed} failed ({} in all)",
            human_bytes(i64::try_from(total_bytes).unwrap_or(i64::MAX))
        ));
    }
    match first_failure {
        Some(code) => Err(Fail::reported(
            code,
            format!("{failed} of {} files failed", files.len()),
        )),
        None => Ok(()),
    }
}

/// One line per file as it finishes (stdout), failures on stderr whatever the mode.
fn print_result(sh: &Shared, f: &LocalFile, result: &Result<Outcome>) {
    match result {
        Ok(o) if sh.ui.chatty() => {
            let name = o.remote_name.as_deref().unwrap_or(&f.name);
            let remote = paths::display(&sh.vault.name, &paths::join(&f.folder, name));
            let note = o
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            sh.mp.suspend(|| {
                say(format!(
                    "{:<9} {} -> {remote}{note}",
                    o.status.label(),
                    f.path.display()
                ));
            });
        }
        Ok(_) => {}
        Err(e) => sh
            .mp
            .suspend(|| eprintln!("nexus: {}: {e:#}", f.path.display())),
    }
}

async fn upload_file(sh: &Shared, f: &LocalFile) -> Result<Outcome> {
    let bar = sh.mp.add(ProgressBar::new(f.size));
    bar.set_style(bar_style(
        "{prefix:24!} {msg:10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    ));
    bar.set_prefix(f.name.clone());
    let bars = Arc::new(FileBars {
        bar,
        total: sh.total.clone(),
        sent: AtomicU64::new(0),
    });
    let result = upload_file_inner(sh, f, &bars).await;
    // Whatever happened, the file's bytes are done with: the total bar moves past them.
    let counted = bars.sent.load(Ordering::Relaxed);
    sh.total.inc(f.size.saturating_sub(counted));
    bars.bar.finish_and_clear();
    sh.mp.remove(&bars.bar);
    result
}

async fn upload_file_inner(sh: &Shared, f: &LocalFile, bars: &Arc<FileBars>) -> Result<Outcome> {
    let key = state_key(
        &f.canonical,
        f.size,
        f.mtime_ns,
        &sh.vault.id,
        &f.folder,
        &f.name,
    );
    let mut known_sha256 = None;

    // 1. An unfinished upload of this very file to this very place?
    if let Some(mut state) = sh.store.load(&key).await {
        known_sha256 = Some(state.sha256.clone()).filter(|s| !s.is_empty());
        match sh.client.upload_status(&state.upload_id).await {
            Ok(info)
                if info.upload.size == state.size
                    && info.upload.part_size == state.part_size
                    && info.upload.part_count == state.part_count =>
            {
                // The parts kept are not read again: the SHA-256 needs its own pass then.
                if state.sha256.is_empty() && state.record_sha256 {
                    bars.bar.set_message("hashing");
                    state.sha256 = hash_file(&f.path, &bars.bar).await?;
                    bars.bar.set_position(0);
                }
                return resume(sh, f, bars, state, info).await;
            }
            Ok(_) => {
                // Not the upload the state describes: drop it rather than mix the two.
                let _ = sh.client.abort_upload(&state.upload_id).await;
                sh.store.remove(&key).await;
            }
            Err(e) if client::status_of(&e) == Some(404) => sh.store.remove(&key).await,
            Err(e) => return Err(e.context("checking the unfinished upload")),
        }
    }

    // 2. Already there? Hashed first only when a file of this name and size is.
    bars.bar.set_message("checking");
    let twin_possible = sh.has_same_name_and_size(f).await?;
    let sha256 = match known_sha256 {
        Some(s) => s,
        None if twin_possible => {
            bars.bar.set_message("hashing");
            let s = hash_file(&f.path, &bars.bar).await?;
            bars.bar.set_position(0);
            s
        }
        // Computed as the parts are read (below).
        None => String::new(),
    };
    if twin_possible && let Some(id) = sh.remote_twin(f, &sha256).await? {
        return Ok(Outcome {
            status: Status::Skipped,
            file_id: Some(id),
            remote_name: Some(f.name.clone()),
            note: Some("same name, size and SHA-256 there already".to_string()),
            resumed_parts: None,
        });
    }

    // 4. Start, and remember the upload before sending anything.
    bars.bar.set_message("starting");
    let on_duplicate = sh.replace.then(|| "Replace".to_string());
    let mut body = json!({
        "vault_id": sh.vault.id,
        "name": f.name,
        "size": f.size,
        "content_type": content_type_for(&f.name),
        "folder_path": f.folder,
        // Required by the server (not in the contract's list): the browser uses it to match
        // a file again after a reload; ms like every time in the API.
        "last_modified": f.mtime_ns / 1_000_000,
    });
    if !sha256.is_empty() {
        body["sha256"] = json!(sha256);
    }
    if let Some(d) = &on_duplicate {
        body["on_duplicate"] = json!(d);
    }
    // Fresh per run: a retry within this run returns the same upload; a later run (after
    // that upload was aborted, say) must not be handed the old answer.
    let idempotency_key = format!("nexus-cli-upload-{}-{}", &key[..16], client::random_token());
    let ticket: UploadTicket = match sh
        .client
        .post("/uploads", &body, Some(idempotency_key.as_str()))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            if let Some(api) = client::api_error(&e).filter(|a| a.code == "duplicate") {
                return Ok(duplicate(api));
            }
            return Err(e.context("starting the upload"));
        }
    };
    let algorithm_ok = Alg::from_name(&ticket.checksum_algorithm).is_some();
    let layout = check_layout(f.size, ticket.part_size, ticket.part_count);
    if !algorithm_ok || layout.is_err() {
        let _ = sh.client.abort_upload(&ticket.upload_id).await;
        match layout {
            Err(why) => bail!("{why}"),
            Ok(()) => bail!(
                "the server asks for {} part checksums; this CLI sends CRC64NVME or CRC32",
                ticket.checksum_algorithm
            ),
        }
    }
    let state = UploadState {
        version: STATE_VERSION,
        key: key.clone(),
        local_path: f.canonical.display().to_string(),
        size: f.size,
        mtime_ns: f.mtime_ns,
        vault_id: sh.vault.id.clone(),
        folder_path: f.folder.clone(),
        name: f.name.clone(),
        remote_name: ticket.name.clone(),
        sha256,
        upload_id: ticket.upload_id.clone(),
        file_id: ticket.file_id.clone(),
        part_size: ticket.part_size,
        part_count: ticket.part_count,
        on_duplicate,
        crcs: BTreeMap::new(),
        checksum_algorithm: ticket.checksum_algorithm.clone(),
        record_sha256: ticket.record_sha256,
    };
    if let Err(e) = sh.store.save(&state).await {
        // Not fatal: the upload works, it just cannot resume if interrupted.
        sh.mp
            .suspend(|| eprintln!("nexus: {}: {e:#}", f.path.display()));
    }
    transfer(sh, f, bars, state, BTreeMap::new(), Status::Uploaded).await
}

fn duplicate(api: &client::ApiError) -> Outcome {
    Outcome {
        status: Status::Duplicate,
        file_id: api.file_id.clone(),
        remote_name: None,
        note: Some(format!("{} (--replace to replace it)", api.message)),
        resumed_parts: None,
    }
}

/// Continues an upload an earlier run started: parts the server holds are kept when their
/// checksum (the upload's algorithm) is the one of our bytes for that part.
async fn resume(
    sh: &Shared,
    f: &LocalFile,
    bars: &Arc<FileBars>,
    mut state: UploadState,
    info: ResumeInfo,
) -> Result<Outcome> {
    bars.bar.set_message("verifying");
    let mut kept = BTreeMap::new();
    for part in info.stored {
        let (Some(checksum), Some(etag)) = (part.checksum, part.etag) else {
            continue;
        };
        if part.number == 0 || part.number > state.part_count || etag.is_empty() {
            continue;
        }
        let (offset, len) = part_range(state.size, state.part_size, part.number);
        let alg = Alg::from_name(&state.checksum_algorithm).unwrap_or(Alg::Crc32);
        let local = crc_of_range(f.path.clone(), offset, len, alg).await?;
        if local == checksum {
            kept.insert(part.number, etag);
            state.crcs.insert(part.number, local);
            bars.sent(len);
        }
    }
    transfer(sh, f, bars, state, kept, Status::Resumed).await
}

/// Sends the parts not `kept`, then completes the upload.
async fn transfer(
    sh: &Shared,
    f: &LocalFile,
    bars: &Arc<FileBars>,
    state: UploadState,
    kept: BTreeMap<u32, String>,
    status: Status,
) -> Result<Outcome> {
    bars.bar.set_message("uploading");
    let key = state.key.clone();
    let upload_id = state.upload_id.clone();
    let known = state.sha256.clone();
    let record = state.record_sha256;
    let on_duplicate = state.on_duplicate.clone();
    let state = Arc::new(Mutex::new(state));
    let resumed_parts = (status == Status::Resumed).then_some(kept.len());
    // Every part is read (nothing kept), the vault records SHA-256 and there is none yet:
    // the reader computes it from the same bytes.
    let hash = record && known.is_empty() && kept.is_empty();
    let (etags, computed) = send_parts(sh, f, bars, state, kept, hash).await?;
    let sha256 = computed
        .or(Some(known).filter(|k| !k.is_empty()))
        .filter(|_| record);

    // The SHA-256 is of the file as it was at the start: a file changed since must not be
    // completed under it.
    let meta = tokio::fs::metadata(&f.path)
        .await
        .with_context(|| format!("reading {}", f.path.display()))?;
    if meta.len() != f.size || mtime_ns(&meta) != f.mtime_ns {
        let _ = sh.client.abort_upload(&upload_id).await;
        sh.store.remove(&key).await;
        bail!("the file changed while it was uploading; run the command again");
    }

    bars.bar.set_message("completing");
    let parts: Vec<(u32, String)> = etags.into_iter().collect();
    let file = match sh
        .client
        .complete(
            &upload_id,
            sha256.as_deref(),
            &parts,
            on_duplicate.as_deref(),
        )
        .await
    {
        Ok(file) => file,
        Err(e) => {
            if let Some(api) = client::api_error(&e).filter(|a| a.code == "duplicate") {
                // The same content landed in the folder while we uploaded.
                let _ = sh.client.abort_upload(&upload_id).await;
                sh.store.remove(&key).await;
                return Ok(duplicate(api));
            }
            return Err(e.context("completing the upload"));
        }
    };
    sh.store.remove(&key).await;

    let mut note = None;
    if let Some(class) = &sh.class
        && file.storage_class != *class
    {
        let body = json!({"storage_class": class});
        note = Some(
            match sh
                .client
                .post::<Value>(&format!("/files/{}/class", file.id), &body, None)
                .await
            {
                Ok(_) => format!("class {class}"),
                Err(e) => format!("uploaded, but the class change failed: {e:#}"),
            },
        );
    }
    Ok(Outcome {
        status,
        file_id: Some(file.id),
        remote_name: Some(file.name),
        note,
        resumed_parts,
    })
}

impl Shared {
    /// The files of a remote folder (all pages), fetched once per folder per run. A folder
    /// that does not exist yet has none.
    async fn folder_files(&self, folder: &str) -> Result<Arc<Vec<FileEntry>>> {
        let cell = self
            .listings
            .lock()
            .unwrap()
            .entry(folder.to_string())
            .or_default()
            .clone();
        let files = cell
            .get_or_try_init(|| async {
                match paths::list_folder(&self.client, &self.vault.id, folder, None).await {
                    Ok(listing) => Ok(Arc::new(listing.files)),
                    Err(e) if client::is_missing_folder(&e) => Ok(Arc::new(Vec::new())),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(files.clone())
    }

    /// A remote file with this one's name, size and SHA-256: nothing to upload then.
    /// Whether the remote folder holds a file of this one's name and size (a possible twin).
    async fn has_same_name_and_size(&self, f: &LocalFile) -> Result<bool> {
        let files = self.folder_files(&f.folder).await?;
        let size = i64::try_from(f.size).unwrap_or(i64::MAX);
        Ok(files.iter().any(|c| c.name == f.name && c.size == size))
    }

    async fn remote_twin(&self, f: &LocalFile, sha256: &str) -> Result<Option<String>> {
        let files = self.folder_files(&f.folder).await?;
        let size = i64::try_from(f.size).unwrap_or(i64::MAX);
        for candidate in files.iter().filter(|c| c.name == f.name && c.size == size) {
            let details = self.client.file(&candidate.id).await?;
            if details
                .sha256
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(sha256))
            {
                return Ok(Some(candidate.id.clone()));
            }
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// Reading and hashing (blocking file I/O, off the async threads).

async fn hash_file(path: &Path, bar: &ProgressBar) -> Result<String> {
    let (p, bar) = (path.to_path_buf(), bar.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut file = std::fs::File::open(&p)?;
        let mut buf = vec![0u8; READ_BUF];
        let mut h = Sha256::new();
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&buf[..n]);
            bar.inc(n as u64);
        }
        Ok(hex::encode(h.finalize()))
    })
    .await
    .context("hashing task")?
    .with_context(|| format!("reading {}", path.display()))
}

/// Reads one part whole (it is sent from this buffer) and checksums it.
fn read_part(path: &Path, offset: u64, len: u64, alg: Alg) -> std::io::Result<(Bytes, String)> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let len =
        usize::try_from(len).map_err(|_| std::io::Error::other("part too large for memory"))?;
    let mut buf = vec![0u8; len];
    file.read_exact(&mut buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            std::io::Error::other("the file is shorter than when the upload started")
        } else {
            e
        }
    })?;
    let crc = alg.of(&buf);
    Ok((Bytes::from(buf), crc))
}

/// The checksum of a byte range, streamed (resume checks need no part-sized buffer).
async fn crc_of_range(path: PathBuf, offset: u64, len: u64, alg: Alg) -> Result<String> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut file = std::fs::File::open(&path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut reader = file.take(len);
        let mut buf = vec![0u8; READ_BUF];
        let mut h = Running::new(alg);
        let mut read = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&buf[..n]);
            read += n as u64;
        }
        if read != len {
            return Err(std::io::Error::other(
                "the file is shorter than when the upload started",
            ));
        }
        Ok(h.finish())
    })
    .await
    .context("checksum task")?
    .with_context(|| format!("reading {shown}"))
}

// ---------------------------------------------------------------------------------------
// Sending parts.

/// A part read and CRC'd, waiting for its URL. The permit is its share of the file's
/// memory budget and is released when its PUT ends.
struct ReadyPart {
    number: u32,
    bytes: Bytes,
    crc: String,
    permit: OwnedSemaphorePermit,
}

#[derive(Clone)]
struct PartCtx {
    client: Client,
    upload_id: Arc<str>,
    bars: Arc<FileBars>,
}

/// Reader → signer → PUTs → reporter. Returns every part's ETag (kept ones included).
async fn send_parts(
    sh: &Shared,
    f: &LocalFile,
    bars: &Arc<FileBars>,
    state: Arc<Mutex<UploadState>>,
    kept: BTreeMap<u32, String>,
    hash: bool,
) -> Result<(BTreeMap<u32, String>, Option<String>)> {
    let (upload_id, size, part_size, part_count, alg) = {
        let s = state.lock().unwrap();
        let alg = Alg::from_name(&s.checksum_algorithm).unwrap_or(Alg::Crc32);
        (s.upload_id.clone(), s.size, s.part_size, s.part_count, alg)
    };
    let todo: Vec<u32> = (1..=part_count).filter(|n| !kept.contains_key(n)).collect();
    let mut etags = kept;
    if todo.is_empty() {
        return Ok((etags, None));
    }
    let in_flight = parts_in_flight(sh.parts, part_size);
    let ctx = PartCtx {
        client: sh.client.clone(),
        upload_id: Arc::from(upload_id.as_str()),
        bars: bars.clone(),
    };
    let permits = Arc::new(Semaphore::new(in_flight));
    let (ready_tx, ready_rx) = mpsc::channel::<ReadyPart>(in_flight);
    let (done_tx, done_rx) = mpsc::unbounded_channel::<(u32, String)>();
    let reporter = tokio::spawn(report_parts(
        sh.client.clone(),
        upload_id,
        done_rx,
        state.clone(),
        sh.store.clone(),
    ));
    let reader = read_parts(
        f.path.clone(),
        todo,
        (size, part_size, alg),
        permits,
        ready_tx,
        state,
        hash.then(Sha256::new),
    );
    let dispatcher = dispatch_parts(&ctx, ready_rx, done_tx, &mut etags);
    let result = tokio::try_join!(reader, dispatcher);
    // Success or not, the parts stored so far are reported before going on (the dispatcher,
    // and with it the reporter's sender, is gone now, so the reporter ends after its queue).
    let _ = reporter.await;
    let (sha256, ()) = result?;
    Ok((etags, sha256))
}

/// Reads the parts in file order (sequential reads suit disks), at most `in_flight` parts
/// ahead of the PUTs that finished; with a hasher (all parts, in order), the file's SHA-256
/// from the same bytes.
#[allow(clippy::too_many_arguments)]
async fn read_parts(
    path: PathBuf,
    todo: Vec<u32>,
    (size, part_size, alg): (u64, u64, Alg),
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<ReadyPart>,
    state: Arc<Mutex<UploadState>>,
    mut hasher: Option<Sha256>,
) -> Result<Option<String>> {
    for number in todo {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .context("part budget closed")?;
        let (offset, len) = part_range(size, part_size, number);
        let p = path.clone();
        let mut h = hasher.take();
        let (bytes, crc, h) = tokio::task::spawn_blocking(move || {
            read_part(&p, offset, len, alg).map(|(bytes, crc)| {
                if let Some(h) = h.as_mut() {
                    h.update(&bytes);
                }
                (bytes, crc, h)
            })
        })
        .await
        .context("part reader")?
        .with_context(|| format!("reading part {number} of {}", path.display()))?;
        hasher = h;
        state.lock().unwrap().crcs.insert(number, crc.clone());
        let part = ReadyPart {
            number,
            bytes,
            crc,
            permit,
        };
        if tx.send(part).await.is_err() {
            // The dispatcher stopped (it failed): its error is the one to report.
            return Ok(None);
        }
    }
    Ok(hasher.map(|h| hex::encode(h.finalize())))
}

/// Signs what the reader has ready (one call for up to [`SIGN_BATCH`] parts), starts their
/// PUTs, and collects the ETags as they finish.
async fn dispatch_parts(
    ctx: &PartCtx,
    mut ready: mpsc::Receiver<ReadyPart>,
    done: mpsc::UnboundedSender<(u32, String)>,
    etags: &mut BTreeMap<u32, String>,
) -> Result<()> {
    let mut puts: JoinSet<Result<(u32, String)>> = JoinSet::new();
    let mut reading = true;
    loop {
        if !reading && puts.is_empty() {
            return Ok(());
        }
        tokio::select! {
            next = ready.recv(), if reading => match next {
                None => reading = false,
                Some(first) => {
                    let mut batch = vec![first];
                    while batch.len() < SIGN_BATCH {
                        match ready.try_recv() {
                            Ok(part) => batch.push(part),
                            Err(_) => break,
                        }
                    }
                    let request: Vec<(u32, String)> =
                        batch.iter().map(|p| (p.number, p.crc.clone())).collect();
                    let mut urls: HashMap<u32, PartUrl> = ctx
                        .client
                        .sign_parts(&ctx.upload_id, &request)
                        .await
                        .context("signing part URLs")?
                        .into_iter()
                        .map(|u| (u.number, u))
                        .collect();
                    for part in batch {
                        let url = urls
                            .remove(&part.number)
                            .ok_or_else(|| anyhow!("the server signed no URL for part {}", part.number))?;
                        if url.size != part.bytes.len() as u64 {
                            bail!(
                                "the server expects {} bytes for part {}, the file has {}",
                                url.size,
                                part.number,
                                part.bytes.len()
                            );
                        }
                        let ctx = ctx.clone();
                        puts.spawn(async move { put_part(&ctx, part, url).await });
                    }
                }
            },
            Some(joined) = puts.join_next(), if !puts.is_empty() => {
                let (number, etag) = joined.context("part upload task")??;
                etags.insert(number, etag.clone());
                // The reporter only ends after this function; a send cannot fail before.
                let _ = done.send((number, etag));
            },
            else => return Ok(()),
        }
    }
}

/// Headers the HTTP client sets itself from the request; sending them twice breaks it.
fn is_transport_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("host")
        || name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
        || name.eq_ignore_ascii_case("connection")
}

/// Time for one part's PUT: at least 2 minutes, or 100 kB/s.
fn part_timeout(len: u64) -> Duration {
    Duration::from_secs((len / 100_000).max(120))
}

/// `<Code>` and `<Message>` of an S3 error body, else its start.
fn storage_message(body: &str) -> String {
    let tag = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => body.trim().chars().take(200).collect(),
    }
}

/// PUTs one part with every signed header, retrying network errors, 5xx, 408 and 429 with
/// backoff; a 403 (the URL expired while the part waited or retried) gets a fresh URL.
async fn put_part(ctx: &PartCtx, part: ReadyPart, first_url: PartUrl) -> Result<(u32, String)> {
    let ReadyPart {
        number,
        bytes,
        crc,
        permit: _permit,
    } = part;
    let len = bytes.len() as u64;
    let mut url = first_url;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let mut req = ctx
            .client
            .http()
            .put(ctx.client.absolute(&url.url))
            .timeout(part_timeout(len))
            // Signed into the URL; hyper leaves it out of an empty body's request.
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(bytes.clone());
        for (name, value) in &url.headers {
            if !is_transport_header(name) {
                req = req.header(name.as_str(), value.as_str());
            }
        }
        let mut resign = false;
        let why = match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                let etag = resp
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned);
                let Some(etag) = etag else {
                    bail!("storage took part {number} but sent no ETag");
                };
                ctx.bars.sent(len);
                return Ok((number, etag));
            }
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                let retryable =
                    status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
                if status.as_u16() == 403 {
                    resign = true;
                } else if !retryable {
                    bail!(
                        "storage refused part {number}: {status}: {}",
                        storage_message(&text)
                    );
                }
                format!("{status}: {}", storage_message(&text))
            }
            Err(e) if e.is_builder() => bail!("part {number}: {}", client::describe(e)),
            Err(e) => client::describe(e),
        };
        if attempt > PART_RETRIES {
            bail!("part {number} failed {attempt} times; last: {why}");
        }
        tokio::time::sleep(client::backoff(attempt)).await;
        if resign {
            url = ctx
                .client
                .sign_parts(&ctx.upload_id, &[(number, crc.clone())])
                .await
                .with_context(|| format!("signing part {number} again"))?
                .into_iter()
                .find(|u| u.number == number)
                .ok_or_else(|| anyhow!("the server signed no URL for part {number}"))?;
        }
    }
}

/// Reports stored parts as they land, one report in flight, each carrying whatever
/// finished meanwhile; the state file (with the CRCs read so far) is saved first. A failed
/// report is not fatal: `GET /uploads/{id}` lists what storage holds, reported or not.
async fn report_parts(
    client: Client,
    upload_id: String,
    mut rx: mpsc::UnboundedReceiver<(u32, String)>,
    state: Arc<Mutex<UploadState>>,
    store: StateStore,
) {
    // For the resume test: stop making progress after this many parts are reported, so the
    // test can `kill -9` the process at a known point.
    let hold_after: Option<usize> = std::env::var("NEXUS_CLI_TEST_HOLD_AFTER_PARTS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut reported = 0;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < REPORT_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let snapshot = state.lock().unwrap().clone();
        let _ = store.save(&snapshot).await;
        let _ = client.parts_done(&upload_id, &batch).await;
        reported += batch.len();
        if hold_after.is_some_and(|n| reported >= n) {
            eprintln!("nexus: holding after {reported} parts (NEXUS_CLI_TEST_HOLD_AFTER_PARTS)");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn parts_cover_the_file_exactly() {
        let size = 20 * MIB + 5;
        let ps = 8 * MIB;
        assert_eq!(part_range(size, ps, 1), (0, ps));
        assert_eq!(part_range(size, ps, 2), (ps, ps));
        assert_eq!(part_range(size, ps, 3), (2 * ps, 4 * MIB + 5));
        assert_eq!(part_range(16 * MIB, ps, 2), (ps, ps));
        assert_eq!(part_range(0, ps, 1), (0, 0));
        assert!(check_layout(size, ps, 3).is_ok());
        assert!(check_layout(size, ps, 2).is_err());
        assert!(check_layout(size, ps, 4).is_err());
        assert!(check_layout(0, ps, 1).is_ok());
        assert!(check_layout(16 * MIB, ps, 2).is_ok());
        assert!(check_layout(10, 0, 1).is_err());
    }

    #[test]
    fn large_parts_go_fewer_at_a_time() {
        assert_eq!(parts_in_flight(8, 8 * MIB), 8);
        assert_eq!(parts_in_flight(8, 64 * MIB), 4);
        assert_eq!(parts_in_flight(8, 512 * MIB), 1);
        assert_eq!(parts_in_flight(0, 8 * MIB), 1);
    }

    #[test]
    fn crc32_is_base64_big_endian() {
        assert_eq!(crc32_b64(crc32fast::hash(b"hello world")), "DUoRhQ==");
        assert_eq!(crc32_b64(crc32fast::hash(b"")), "AAAAAA==");
        // CRC-64/NVME's check value, as S3's x-amz-checksum-crc64nvme carries it.
        assert_eq!(
            Alg::Crc64Nvme.of(b"123456789"),
            crc64_b64(0xae8b14860a799888)
        );
        let mut r = Running::new(Alg::Crc64Nvme);
        r.update(b"1234");
        r.update(b"56789");
        assert_eq!(r.finish(), Alg::Crc64Nvme.of(b"123456789"));
        assert_eq!(Alg::from_name("crc64nvme"), Some(Alg::Crc64Nvme));
        assert_eq!(Alg::from_name("CRC32"), Some(Alg::Crc32));
        assert_eq!(Alg::from_name("SHA1"), None);
    }

    #[test]
    fn state_keys_change_with_any_field() {
        let p = Path::new("/data/a.bin");
        let k = state_key(p, 10, 1, "v1", "f", "a.bin");
        assert_eq!(k.len(), 64);
        assert_eq!(k, state_key(p, 10, 1, "v1", "f", "a.bin"));
        assert_ne!(k, state_key(p, 11, 1, "v1", "f", "a.bin"));
        assert_ne!(k, state_key(p, 10, 2, "v1", "f", "a.bin"));
        assert_ne!(k, state_key(p, 10, 1, "v2", "f", "a.bin"));
        assert_ne!(k, state_key(p, 10, 1, "v1", "g", "a.bin"));
        assert_ne!(k, state_key(p, 10, 1, "v1", "f", "b.bin"));
        assert_ne!(
            k,
            state_key(Path::new("/data/b.bin"), 10, 1, "v1", "f", "a.bin")
        );
        // Length prefixes: moving a character between fields changes the key.
        assert_ne!(
            state_key(p, 10, 1, "v1", "ab", "c"),
            state_key(p, 10, 1, "v1", "a", "bc")
        );
    }

    #[test]
    fn storage_errors_are_read() {
        let xml = "<Error><Code>BadDigest</Code><Message>CRC mismatch</Message></Error>";
        assert_eq!(storage_message(xml), "BadDigest: CRC mismatch");
        assert_eq!(storage_message(" oops "), "oops");
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("a.JPG"), "image/jpeg");
        assert_eq!(content_type_for("archive.tar.gz"), "application/gzip");
        assert_eq!(content_type_for("README"), "application/octet-stream");
    }

    #[test]
    fn folders_keep_their_name_but_dot_does_not() {
        assert_eq!(top_folder_name(Path::new(".")).unwrap(), None);
        assert_eq!(
            top_folder_name(Path::new("photos")).unwrap(),
            Some("photos".into())
        );
        assert_eq!(
            top_folder_name(Path::new("a/photos/")).unwrap(),
            Some("photos".into())
        );
    }
}

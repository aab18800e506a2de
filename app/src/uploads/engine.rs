//! The browser half of uploads (hydrate only). For each queued file: hash it first when small
//! (to find a duplicate before any byte moves), start or resume the multipart upload, then
//! hash it part by part in order in the hash worker (the file's SHA-256 and each part's CRC32,
//! [`super::hashing`]) and PUT each part straight from the file to S3 with XHR (for progress),
//! several at once, each with its CRC32 signed into its URL (signed 8 parts at a time). A
//! failed part is retried with backoff; an expired URL is signed again. Parts are reported as
//! they land, so a reload loses nothing: the page lists the unfinished upload and
//! the same file, picked again, sends only the missing parts.
use super::api::{
    abort_upload, complete_upload, list_open_uploads, parts_done, presign_parts, resume_upload,
    start_upload,
};
use super::hashing::FileHash;
use super::queue::{DEFAULT_PARALLEL, Item, Phase, Queue};
use super::{
    CompletedPart, Meter, NewUpload, OnDuplicate, PartRequest, PartUrl, UploadTicket, part_count,
    part_size_for,
};
use crate::error::AppError;
use futures_channel::{mpsc, oneshot};
use futures_util::{SinkExt, StreamExt};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

/// Files at most this large are hashed before they start, so duplicates cost no upload.
const HASH_FIRST_MAX: i64 = 32 * 1024 * 1024;
/// Parts hashed ahead of the ones being sent (the hashing waits beyond this).
const HASH_AHEAD: usize = 16;
/// Parts asked of the hash worker before its first answer arrives.
const WORKER_AHEAD: usize = 3;
/// Part URLs asked for at once (fewer at the end of a file).
const SIGN_BATCH: usize = 8;
/// Tries per part before the upload stops with an error.
const PART_ATTEMPTS: u32 = 8;
/// Part URLs live 15 minutes; older ones are signed again before use.
const URL_FRESH_MS: f64 = 10.0 * 60_000.0;
const PARALLEL_KEY: &str = "nexus.upload.parallel";

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Why a file's upload ended early.
#[derive(Debug)]
enum Stop {
    Cancelled,
    Skipped,
    Failed(String),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// A simple async counting semaphore for a single-threaded page.
#[derive(Default)]
struct Slots {
    in_use: Cell<usize>,
    waiters: RefCell<VecDeque<oneshot::Sender<()>>>,
}

impl Slots {
    async fn acquire(&self, limit: impl Fn() -> usize) {
        loop {
            if self.in_use.get() < limit() {
                self.in_use.set(self.in_use.get() + 1);
                return;
            }
            let (tx, rx) = oneshot::channel();
            self.waiters.borrow_mut().push_back(tx);
            let _ = rx.await;
        }
    }

    fn release(&self) {
        self.in_use.set(self.in_use.get().saturating_sub(1));
        self.wake_all();
    }

    fn wake_all(&self) {
        for w in self.waiters.borrow_mut().drain(..) {
            let _ = w.send(());
        }
    }
}

/// One file's upload, as the engine holds it.
struct Job {
    key: u64,
    vault_id: String,
    file: File,
    folder_path: String,
    item: Item,
    queue: Queue,
    on_done: Callback<()>,
    paused: Cell<bool>,
    cancelled: Cell<bool>,
    resume_waiters: RefCell<Vec<oneshot::Sender<()>>>,
    xhrs: RefCell<HashMap<i64, XmlHttpRequest>>,
    /// Bytes of parts stored; and bytes sent so far of parts in flight.
    confirmed: Cell<i64>,
    inflight: RefCell<HashMap<i64, f64>>,
    duplicate_choice: RefCell<Option<oneshot::Sender<Option<OnDuplicate>>>>,
    /// An unfinished upload (from an earlier visit, or this one) to continue.
    upload_id: RefCell<Option<String>>,
    pending_done: RefCell<Vec<CompletedPart>>,
    flushing: Cell<bool>,
    /// Parts failed at least once and not yet stored: while any, the row says "retrying".
    retrying: Cell<u32>,
}

thread_local! {
    static JOBS: RefCell<HashMap<u64, Rc<Job>>> = RefCell::new(HashMap::new());
    static NEXT_KEY: Cell<u64> = const { Cell::new(1) };
    static FILE_SLOTS: Rc<Slots> = Rc::new(Slots::default());
    static PART_SLOTS: Rc<Slots> = Rc::new(Slots::default());
    /// "For all duplicates": the choice made once (Some(None) is skip all).
    static DUPLICATE_ALL: Cell<Option<Option<OnDuplicate>>> = const { Cell::new(None) };
}

fn job(key: u64) -> Option<Rc<Job>> {
    JOBS.with(|j| j.borrow().get(&key).cloned())
}

// ---- browser helpers (public/upload-helpers.js) -------------------------------------------

fn helpers() -> Option<JsValue> {
    let w = web_sys::window()?;
    js_sys::Reflect::get(&w, &"nexusUploads".into())
        .ok()
        .filter(|v| !v.is_undefined())
}

fn call_helper(name: &str, arg: &JsValue) -> Option<js_sys::Promise> {
    let h = helpers()?;
    let f: js_sys::Function = js_sys::Reflect::get(&h, &name.into())
        .ok()?
        .dyn_into()
        .ok()?;
    f.call1(&h, arg).ok()?.dyn_into().ok()
}

/// Makes and stores an image's preview (best effort: a file the browser cannot draw has
/// none). Awaited before the file shows as uploaded, so the list that refreshes next has it.
async fn store_thumb(file: &File, file_id: &str) {
    let arg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&arg, &"file".into(), file);
    let _ = js_sys::Reflect::set(&arg, &"fileId".into(), &file_id.into());
    if let Some(p) = call_helper("storeThumb", &arg) {
        let _ = JsFuture::from(p).await;
    }
}

fn idb_put(ticket: &UploadTicket, job: &Job) {
    let rec = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&rec, &k.into(), &v);
    };
    set("upload_id", ticket.upload_id.clone().into());
    set("vault_id", job.vault_id.clone().into());
    set("name", job.file.name().into());
    set("size", job.file.size().into());
    set("last_modified", job.file.last_modified().into());
    set("folder_path", job.folder_path.clone().into());
    set("started_at", js_sys::Date::now().into());
    if let Some(p) = call_helper("idbPut", &rec) {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

fn idb_delete(upload_id: &str) {
    if let Some(p) = call_helper("idbDelete", &upload_id.into()) {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

/// Files from a file or folder picker, with each file's folder (from a folder picker's
/// `webkitRelativePath`).
pub fn picked_files(input: &web_sys::HtmlInputElement) -> Vec<(File, String)> {
    let mut out = Vec::new();
    if let Some(list) = input.files() {
        for i in 0..list.length() {
            if let Some(f) = list.get(i) {
                let rel = js_sys::Reflect::get(&f, &"webkitRelativePath".into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                let dir = rel
                    .rsplit_once('/')
                    .map(|(d, _)| d.to_string())
                    .unwrap_or_default();
                out.push((f, dir));
            }
        }
    }
    out
}

/// Files and whole folders dropped on the page (walked while the drop event lives).
pub fn dropped_files(dt: web_sys::DataTransfer, then: impl FnOnce(Vec<(File, String)>) + 'static) {
    let Some(promise) = call_helper("walkDrop", &dt) else {
        // Without the helper: the plain files only.
        let mut out = Vec::new();
        if let Some(list) = dt.files() {
            for i in 0..list.length() {
                if let Some(f) = list.get(i) {
                    out.push((f, String::new()));
                }
            }
        }
        then(out);
        return;
    };
    leptos::task::spawn_local(async move {
        let mut out = Vec::new();
        if let Ok(arr) = JsFuture::from(promise).await {
            for v in js_sys::Array::from(&arr).iter() {
                let file = js_sys::Reflect::get(&v, &"file".into()).ok();
                let path = js_sys::Reflect::get(&v, &"path".into())
                    .ok()
                    .and_then(|p| p.as_string())
                    .unwrap_or_default();
                if let Some(f) = file.and_then(|f| f.dyn_into::<File>().ok()) {
                    out.push((f, path));
                }
            }
        }
        then(out);
    });
}

pub fn save_parallel(n: usize) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(PARALLEL_KEY, &n.to_string());
    }
}

/// When the uploader shows: the parallel setting and the unfinished uploads of this vault.
pub fn mount(queue: Queue, vault_id: String) {
    let saved = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PARALLEL_KEY).ok().flatten())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PARALLEL);
    queue.parallel.set(saved.clamp(1, 16));
    leptos::task::spawn_local(async move {
        if let Ok(open) = list_open_uploads(vault_id).await {
            queue.open.set(open);
        }
    });
}

/// Once per queue (page): the tab title and the "leave the page?" guard.
pub fn install(queue: Queue) {
    // The tab title shows the total while files upload.
    let base_title = RefCell::new(None::<String>);
    Effect::new(move |_| {
        let (open, _) = queue.counts();
        let pct = queue.total.with(|m| m.percent());
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let mut base = base_title.borrow_mut();
        if open > 0 {
            let title = doc.title();
            let plain = base.get_or_insert(title).clone();
            doc.set_title(&format!("{pct:.0}% uploading — {plain}"));
        } else if let Some(t) = base.take() {
            doc.set_title(&t);
        }
    });
    // Leaving while files upload asks first.
    let guard = Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
        move |e: web_sys::BeforeUnloadEvent| {
            if queue.counts().0 > 0 {
                e.prevent_default();
                e.set_return_value("Uploads are still running.");
            }
        },
    );
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("beforeunload", guard.as_ref().unchecked_ref());
    }
    on_cleanup({
        let guard = send_wrapper::SendWrapper::new(guard);
        move || {
            if let Some(w) = web_sys::window() {
                let _ = w.remove_event_listener_with_callback(
                    "beforeunload",
                    guard.as_ref().unchecked_ref(),
                );
            }
        }
    });
}

// ---- queueing --------------------------------------------------------------------------------

/// Queues files (with their folder paths) for upload into the vault. A file that matches an
/// unfinished upload (name, size, last-modified, folder) continues it.
pub fn add_files(
    queue: Queue,
    vault_id: String,
    files: Vec<(File, String)>,
    on_done: Callback<()>,
) {
    let mut added = 0i64;
    for (file, folder_path) in files {
        let key = NEXT_KEY.with(|k| {
            let v = k.get();
            k.set(v + 1);
            v
        });
        let size = file.size() as i64;
        let resume = queue.open.try_update(|open| {
            let i = open.iter().position(|u| {
                u.name == file.name()
                    && u.size == size
                    && u.last_modified == file.last_modified() as i64
                    && u.folder_path == folder_path
            })?;
            Some(open.remove(i).upload_id)
        });
        let owner = queue.owner.get_value().unwrap_or_default();
        let item = owner.with(|| Item {
            key,
            name: file.name(),
            folder_path: folder_path.clone(),
            size,
            phase: RwSignal::new(Phase::Queued),
            meter: RwSignal::new(Meter::new(size)),
        });
        let job = Rc::new(Job {
            key,
            vault_id: vault_id.clone(),
            file,
            folder_path,
            item: item.clone(),
            queue,
            on_done,
            paused: Cell::new(false),
            cancelled: Cell::new(false),
            resume_waiters: RefCell::new(Vec::new()),
            xhrs: RefCell::new(HashMap::new()),
            confirmed: Cell::new(0),
            inflight: RefCell::new(HashMap::new()),
            duplicate_choice: RefCell::new(None),
            upload_id: RefCell::new(resume.flatten()),
            pending_done: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            retrying: Cell::new(0),
        });
        JOBS.with(|j| j.borrow_mut().insert(key, job.clone()));
        queue.items.update(|items| items.push(item));
        added += size;
        leptos::task::spawn_local(run(job));
    }
    queue.total.update(|m| m.total += added);
}

/// Runs a file's upload to its end, one of a few files at a time.
async fn run(job: Rc<Job>) {
    let slots = FILE_SLOTS.with(|s| s.clone());
    let limit = {
        let job = job.clone();
        move || job_limit(&job)
    };
    slots.acquire(limit).await;
    let outcome = if job.cancelled.get() {
        Err(Stop::Cancelled)
    } else {
        upload(&job).await
    };
    slots.release();
    let phase = match outcome {
        Ok(name) => {
            if let Some(id) = job.upload_id.borrow().as_ref() {
                idb_delete(id);
            }
            job.item.meter.update(|m| m.record(now_ms(), m.total));
            Phase::Done(name)
        }
        Err(Stop::Cancelled) => {
            forget(&job).await;
            Phase::Cancelled
        }
        Err(Stop::Skipped) => {
            forget(&job).await;
            Phase::Skipped
        }
        Err(Stop::Failed(why)) => Phase::Failed(why),
    };
    let finished_ok = matches!(phase, Phase::Done(_));
    if matches!(phase, Phase::Cancelled | Phase::Skipped) {
        // Bytes that will not come leave the total.
        let (size, done) = (job.item.size, job.item.meter.with_untracked(|m| m.done));
        job.queue.total.update(|m| {
            m.total -= size;
            m.done -= done;
        });
    }
    job.item.phase.set(phase);
    if finished_ok {
        job.on_done.run(());
    }
}

fn job_limit(job: &Job) -> usize {
    job.queue.parallel.get_untracked().max(1)
}

/// Cancels the unfinished upload on the server (S3 drops its parts) and forgets it here.
async fn forget(job: &Job) {
    let id = job.upload_id.borrow().clone();
    if let Some(id) = id {
        let _ = abort_upload(id.clone()).await;
        idb_delete(&id);
    }
}

/// Waits while the job is paused; Err when it was cancelled.
async fn checkpoint(job: &Job) -> Result<(), Stop> {
    loop {
        if job.cancelled.get() {
            return Err(Stop::Cancelled);
        }
        if !job.paused.get() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        job.resume_waiters.borrow_mut().push(tx);
        let _ = rx.await;
    }
}

/// Calls the server, trying again a few times when it cannot be reached.
async fn with_retry<T, F, Fut>(f: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Err(AppError::Transport(_) | AppError::Unavailable { .. }) if attempt < 5 => {
                attempt += 1;
                sleep_ms(1000 * 2i32.pow(attempt)).await;
            }
            other => return other,
        }
    }
}

/// Asks the person what to do with a duplicate (unless they chose for all already).
async fn ask_duplicate(job: &Job, name: String) -> Result<OnDuplicate, Stop> {
    if let Some(all) = DUPLICATE_ALL.with(|d| d.get()) {
        return all.ok_or(Stop::Skipped);
    }
    let (tx, rx) = oneshot::channel();
    *job.duplicate_choice.borrow_mut() = Some(tx);
    let before = job.item.phase.get_untracked();
    job.item.phase.set(Phase::Duplicate(name));
    let choice = rx.await.unwrap_or(None);
    job.item.phase.set(before);
    choice.ok_or(Stop::Skipped)
}

pub fn choose_duplicate(key: u64, choice: Option<OnDuplicate>, all: bool) {
    if all {
        DUPLICATE_ALL.with(|d| d.set(Some(choice)));
        JOBS.with(|j| {
            for job in j.borrow().values() {
                if let Some(tx) = job.duplicate_choice.borrow_mut().take() {
                    let _ = tx.send(choice);
                }
            }
        });
    } else if let Some(job) = job(key)
        && let Some(tx) = job.duplicate_choice.borrow_mut().take()
    {
        let _ = tx.send(choice);
    }
}

/// A small file's hashes, computed before its upload starts: its SHA-256 (to find a duplicate
/// before any byte moves) and its parts' CRC32s for the part size the server will choose.
struct Hashed {
    sha256: String,
    part_size: i64,
    parts: Vec<String>,
}

/// Where a file's checksums come from: computed before it started (a small file), or from
/// the hash worker as its parts are read.
enum Sums {
    Known(Hashed),
    Worker(FileHash),
}

impl Sums {
    /// Part `n`'s CRC32 (bytes `[start, end)` of `file`); asked at once, awaited in order.
    fn part<'a>(
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
    async fn finish(&self) -> Result<String, String> {
        match self {
            Sums::Known(h) => Ok(h.sha256.clone()),
            Sums::Worker(hash) => hash.finish().await,
        }
    }
}

async fn hash_first(file: &File) -> Result<Hashed, Stop> {
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

fn hash_failed(e: String) -> Stop {
    Stop::Failed(format!("the file could not be hashed: {e}"))
}

/// Starts the upload (asking about a duplicate when the content is known first); answers the
/// choice made, which completing repeats, and a small file's hashes.
async fn start(job: &Job) -> Result<(UploadTicket, Option<OnDuplicate>, Option<Hashed>), Stop> {
    let size = job.file.size() as i64;
    let hashed = if size <= HASH_FIRST_MAX {
        job.item.phase.set(Phase::Hashing);
        Some(hash_first(&job.file).await?)
    } else {
        None
    };
    let sha256 = hashed.as_ref().map(|h| h.sha256.clone());
    let mut on_duplicate = None;
    loop {
        checkpoint(job).await?;
        let req = NewUpload {
            vault_id: job.vault_id.clone(),
            name: job.file.name(),
            size,
            content_type: job.file.type_(),
            folder_path: job.folder_path.clone(),
            last_modified: job.file.last_modified() as i64,
            sha256: sha256.clone(),
            on_duplicate,
        };
        match with_retry(|| start_upload(req.clone())).await {
            Ok(t) => return Ok((t, on_duplicate, hashed)),
            Err(AppError::Duplicate { name, .. }) => {
                on_duplicate = Some(ask_duplicate(job, name).await?);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The whole upload of one file; Ok(the name it was stored under).
async fn upload(job: &Rc<Job>) -> Result<String, Stop> {
    let size = job.file.size() as i64;
    let resume = job.upload_id.borrow().clone();
    let mut on_duplicate = None;
    let mut hashed = None;
    let (ticket, stored) = match resume {
        Some(id) => {
            let info = with_retry(|| resume_upload(id.clone())).await?;
            if info.upload.size != size {
                return Err(Stop::Failed(
                    "this file's size differs from the interrupted upload's".into(),
                ));
            }
            let stored: HashMap<i64, (String, Option<String>)> = info
                .stored
                .into_iter()
                .map(|p| (p.number, (p.etag, p.checksum)))
                .collect();
            let t = UploadTicket {
                upload_id: info.upload.upload_id,
                file_id: info.upload.file_id,
                name: info.upload.name,
                part_size: info.upload.part_size,
                part_count: info.upload.part_count,
            };
            (t, stored)
        }
        None => {
            let (t, choice, h) = start(job).await?;
            on_duplicate = choice;
            hashed = h.filter(|h| h.part_size == t.part_size);
            *job.upload_id.borrow_mut() = Some(t.upload_id.clone());
            idb_put(&t, job);
            (t, HashMap::new())
        }
    };
    job.item.phase.set(Phase::Uploading);
    let part_slots = PART_SLOTS.with(|s| s.clone());
    let etags: Rc<RefCell<BTreeMap<i64, String>>> = Rc::new(RefCell::new(BTreeMap::new()));
    let failure: Rc<RefCell<Option<Stop>>> = Rc::new(RefCell::new(None));
    let mut running: Vec<oneshot::Receiver<()>> = Vec::new();

    // Hashing runs ahead of sending, in order, in its own task (the work itself is in the
    // hash worker): parts already stored are checked and counted there, the others come
    // here with their checksums, and their URLs are signed a batch at a time.
    let (mut ready_tx, mut ready_rx) = mpsc::channel::<Result<ReadyPart, Stop>>(HASH_AHEAD);
    let (sha_tx, sha_rx) = oneshot::channel::<Result<String, Stop>>();
    {
        let (job, etags, part_size, part_count) = (
            job.clone(),
            etags.clone(),
            ticket.part_size,
            ticket.part_count,
        );
        leptos::task::spawn_local(async move {
            let sums = match hashed {
                Some(h) => Sums::Known(h),
                None => Sums::Worker(FileHash::new().await),
            };
            // A few parts are asked ahead, so the worker never waits for this page.
            let mut asked = VecDeque::new();
            let mut next = 1;
            loop {
                while asked.len() < WORKER_AHEAD && next <= part_count {
                    let start = (next - 1) * part_size;
                    let end = (start + part_size).min(size);
                    asked.push_back((next, start, end, sums.part(&job.file, next, start, end)));
                    next += 1;
                }
                let Some((n, start, end, sum)) = asked.pop_front() else {
                    break;
                };
                if job.cancelled.get() {
                    return;
                }
                let ready = sum.await.map_err(hash_failed).and_then(|sum| {
                    if let Some((etag, stored_sum)) = stored.get(&n) {
                        if stored_sum.as_ref().is_some_and(|s| s != &sum) {
                            return Err(Stop::Failed(format!(
                                "this is not the file the upload started with (part {n} differs); cancel it and upload the file again"
                            )));
                        }
                        etags.borrow_mut().insert(n, etag.clone());
                        job.confirmed.set(job.confirmed.get() + (end - start));
                        progress(&job);
                        return Ok(None);
                    }
                    // The PUT sends the file's own slice (the browser streams it from disk);
                    // S3 checks it against the checksum just computed, so a file changed
                    // meanwhile is refused.
                    let body = job
                        .file
                        .slice_with_f64_and_f64(start as f64, end as f64)
                        .map_err(|_| Stop::Failed("the file could not be read".into()))?;
                    Ok(Some(ReadyPart {
                        number: n,
                        len: end - start,
                        body,
                        sum,
                    }))
                });
                match ready {
                    Ok(None) => {}
                    Ok(Some(p)) => {
                        if ready_tx.send(Ok(p)).await.is_err() {
                            return; // the upload ended
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            drop(ready_tx);
            drop(asked);
            let sha = sums.finish().await.map_err(hash_failed);
            let _ = sha_tx.send(sha);
        });
    }

    let mut hashing_done = false;
    let mut batch: Vec<ReadyPart> = Vec::with_capacity(SIGN_BATCH);
    let mut first = true;
    loop {
        // A batch: SIGN_BATCH parts (the first one goes as soon as one part is hashed, so
        // the upload starts at once), plus whatever else is hashed already.
        let want = if first { 1 } else { SIGN_BATCH };
        first = false;
        while !hashing_done && batch.len() < want {
            match ready_rx.next().await {
                Some(Ok(p)) => batch.push(p),
                Some(Err(stop)) => return Err(stop),
                None => hashing_done = true,
            }
        }
        while batch.len() < SIGN_BATCH {
            match ready_rx.try_recv() {
                Ok(Ok(p)) => batch.push(p),
                Ok(Err(stop)) => return Err(stop),
                Err(mpsc::TryRecvError::Closed) => {
                    hashing_done = true;
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break, // nothing more hashed yet
            }
        }
        if batch.is_empty() {
            break;
        }
        checkpoint(job).await?;
        if let Some(stop) = failure.borrow_mut().take() {
            return Err(stop);
        }
        let req: Vec<PartRequest> = batch
            .iter()
            .map(|p| PartRequest {
                number: p.number,
                checksum: p.sum.clone(),
            })
            .collect();
        let id = ticket.upload_id.clone();
        let signed = with_retry(|| presign_parts(id.clone(), req.clone())).await?;
        let at = now_ms();
        let mut urls: HashMap<i64, PartUrl> = signed.into_iter().map(|u| (u.number, u)).collect();
        for p in batch.drain(..) {
            checkpoint(job).await?;
            if let Some(stop) = failure.borrow_mut().take() {
                return Err(stop);
            }
            let limit = {
                let job = job.clone();
                move || job_limit(&job)
            };
            part_slots.acquire(limit).await;
            let (tx, rx) = oneshot::channel();
            running.push(rx);
            let (job2, slots, etags, failure) = (
                job.clone(),
                part_slots.clone(),
                etags.clone(),
                failure.clone(),
            );
            let upload_id = ticket.upload_id.clone();
            let single = ticket.part_count == 1;
            let url = urls.remove(&p.number).map(|u| (u, at));
            leptos::task::spawn_local(async move {
                let n = p.number;
                let result = send_part(&job2, &slots, &upload_id, &p, url).await;
                slots.release();
                match result {
                    Ok(etag) => {
                        etags.borrow_mut().insert(n, etag.clone());
                        if !single {
                            job2.pending_done
                                .borrow_mut()
                                .push(CompletedPart { number: n, etag });
                            flush_done(&job2, &upload_id, false).await;
                        }
                    }
                    Err(stop) => {
                        let mut f = failure.borrow_mut();
                        if f.is_none() {
                            *f = Some(stop);
                        }
                        // The others stop too.
                        abort_inflight(&job2);
                    }
                }
                let _ = tx.send(());
            });
        }
    }
    for rx in running {
        let _ = rx.await;
    }
    if let Some(stop) = failure.borrow_mut().take() {
        return Err(stop);
    }
    checkpoint(job).await?;
    flush_done(job, &ticket.upload_id, true).await;
    let sha256 = sha_rx
        .await
        .unwrap_or_else(|_| Err(Stop::Failed("the file's hashing stopped".into())))?;
    let parts: Vec<CompletedPart> = etags
        .borrow()
        .iter()
        .map(|(n, e)| CompletedPart {
            number: *n,
            etag: e.clone(),
        })
        .collect();
    job.item.phase.set(Phase::Verifying);
    loop {
        let id = ticket.upload_id.clone();
        match with_retry(|| {
            complete_upload(id.clone(), sha256.clone(), parts.clone(), on_duplicate)
        })
        .await
        {
            Ok(entry) => {
                if entry.kind == "image" {
                    store_thumb(&job.file, &entry.id).await;
                }
                return Ok(entry.name);
            }
            Err(AppError::Duplicate { name, .. }) => {
                on_duplicate = Some(ask_duplicate(job, name).await?);
                job.item.phase.set(Phase::Verifying);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reports stored parts to the server (batched: one report in flight at a time). `last`
/// waits until everything is reported.
async fn flush_done(job: &Job, upload_id: &str, last: bool) {
    let mut tries = 0;
    loop {
        if job.flushing.get() {
            if !last {
                return;
            }
            sleep_ms(50).await;
            continue;
        }
        let batch: Vec<CompletedPart> = {
            let mut p = job.pending_done.borrow_mut();
            let n = p.len().min(100);
            p.drain(..n).collect()
        };
        if batch.is_empty() {
            return;
        }
        job.flushing.set(true);
        let result = parts_done(upload_id.to_string(), batch.clone()).await;
        job.flushing.set(false);
        if result.is_err() {
            // Kept for the next report; completion records the parts in any case.
            job.pending_done.borrow_mut().extend(batch);
            tries += 1;
            if !last || tries > 3 {
                return;
            }
            sleep_ms(500).await;
        }
    }
}

/// Shows the file's bytes: parts stored plus what is in flight (never going backwards).
fn progress(job: &Job) {
    let inflight: f64 = job.inflight.borrow().values().sum();
    let done = job.confirmed.get() + inflight as i64;
    let now = now_ms();
    let mut grew = 0;
    job.item.meter.update(|m| grew = m.advance_to(now, done));
    if grew > 0 {
        job.queue.total.update(|m| m.add_done(now, grew));
    }
}

fn abort_inflight(job: &Job) {
    let xhrs: Vec<XmlHttpRequest> = job.xhrs.borrow().values().cloned().collect();
    for x in xhrs {
        let _ = x.abort();
    }
}

#[derive(Debug)]
enum PutError {
    Network,
    Aborted,
    Expired,
    BadDigest,
    Status(u16),
    NoEtag,
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Network => write!(f, "network connection lost"),
            PutError::Aborted => write!(f, "stopped"),
            PutError::Expired => write!(f, "the upload link expired"),
            PutError::BadDigest => write!(f, "the part arrived damaged"),
            PutError::Status(s) => write!(f, "storage answered HTTP {s}"),
            PutError::NoEtag => write!(
                f,
                "storage did not return the part's ETag (CORS must expose ETag)"
            ),
        }
    }
}

/// A part hashed and ready to send: its number, length, bytes (a slice of the file) and
/// checksum.
struct ReadyPart {
    number: i64,
    len: i64,
    body: web_sys::Blob,
    sum: String,
}

/// Sends one part until it is stored: signs its URL (again when stale or expired), PUTs it,
/// waits out a pause, retries failures with backoff. Holds a part slot except while paused.
async fn send_part(
    job: &Job,
    slots: &Rc<Slots>,
    upload_id: &str,
    part: &ReadyPart,
    mut url: Option<(PartUrl, f64)>,
) -> Result<String, Stop> {
    let (n, len, buf, sum) = (part.number, part.len, &part.body, &part.sum);
    let mut attempt = 0u32;
    // Counted in `job.retrying` from the first failure until stored (or stopped).
    struct Retrying<'a>(&'a Job, Cell<bool>);
    impl Drop for Retrying<'_> {
        fn drop(&mut self) {
            if self.1.get() {
                let left = self.0.retrying.get().saturating_sub(1);
                self.0.retrying.set(left);
                if left == 0 && matches!(self.0.item.phase.get_untracked(), Phase::Retrying(_)) {
                    self.0.item.phase.set(Phase::Uploading);
                }
            }
        }
    }
    let retrying = Retrying(job, Cell::new(false));
    loop {
        if job.cancelled.get() {
            return Err(Stop::Cancelled);
        }
        if job.paused.get() {
            // Give the slot to other files while this one waits.
            slots.release();
            let r = checkpoint(job).await;
            let limit = move || job_limit(job);
            slots.acquire(limit).await;
            r?;
        }
        if url
            .as_ref()
            .is_none_or(|(_, at)| now_ms() - at > URL_FRESH_MS)
        {
            let req = vec![PartRequest {
                number: n,
                checksum: sum.to_string(),
            }];
            let signed = with_retry(|| presign_parts(upload_id.to_string(), req.clone())).await?;
            let u = signed
                .into_iter()
                .next()
                .ok_or_else(|| Stop::Failed("storage signed no URL".into()))?;
            url = Some((u, now_ms()));
        }
        if job.paused.get() || job.cancelled.get() {
            continue; // paused or cancelled while the URL was being signed
        }
        let (u, _) = url.as_ref().expect("signed above");
        let result = put_part(job, n, u, buf).await;
        job.xhrs.borrow_mut().remove(&n);
        match result {
            Ok(etag) => {
                job.inflight.borrow_mut().remove(&n);
                job.confirmed.set(job.confirmed.get() + len);
                progress(job);
                drop(retrying);
                return Ok(etag);
            }
            Err(e) => {
                job.inflight.borrow_mut().remove(&n);
                match e {
                    PutError::Aborted => continue, // paused or cancelled: the loop decides
                    PutError::Expired => url = None,
                    PutError::NoEtag => return Err(Stop::Failed(e.to_string())),
                    PutError::Status(s) if (400..500).contains(&s) && s != 408 && s != 429 => {
                        return Err(Stop::Failed(format!("part {n}: {e}")));
                    }
                    _ => {}
                }
                attempt += 1;
                if attempt >= PART_ATTEMPTS {
                    return Err(Stop::Failed(format!("part {n} could not be stored: {e}")));
                }
                if !retrying.1.replace(true) {
                    job.retrying.set(job.retrying.get() + 1);
                }
                if !job.paused.get() && !job.cancelled.get() {
                    job.item.phase.set(Phase::Retrying(e.to_string()));
                }
                sleep_ms((500 * 2i32.pow(attempt)).min(30_000)).await;
                if matches!(e, PutError::Expired) {
                    continue;
                }
            }
        }
    }
}

/// PUTs one part with XHR (fetch has no upload progress), with the headers its URL signs.
async fn put_part(
    job: &Job,
    n: i64,
    url: &PartUrl,
    buf: &web_sys::Blob,
) -> Result<String, PutError> {
    let xhr = XmlHttpRequest::new().map_err(|_| PutError::Network)?;
    xhr.open("PUT", &url.url).map_err(|_| PutError::Network)?;
    for (k, v) in &url.headers {
        xhr.set_request_header(k, v)
            .map_err(|_| PutError::Network)?;
    }
    // A stalled connection must end: at least 60 s, or 100 kB/s for large parts.
    xhr.set_timeout(((buf.size() / 100.0) as u32).max(60_000));
    let (tx, rx) = oneshot::channel::<Result<String, PutError>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let send = {
        let tx = tx.clone();
        move |r: Result<String, PutError>| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(r);
            }
        }
    };

    let key = job.key;
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if let Some(job) = self::job(key) {
            job.inflight.borrow_mut().insert(n, e.loaded());
            progress(&job);
        }
    });
    let on_load = {
        let (xhr, send) = (xhr.clone(), send.clone());
        Closure::<dyn FnMut()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let text = || xhr.response_text().ok().flatten().unwrap_or_default();
            send(match status {
                200..=299 => xhr
                    .get_response_header("ETag")
                    .ok()
                    .flatten()
                    .filter(|e| !e.is_empty())
                    .ok_or(PutError::NoEtag),
                403 if text().contains("expired") => Err(PutError::Expired),
                400 if text().contains("BadDigest") => Err(PutError::BadDigest),
                s => Err(PutError::Status(s)),
            })
        })
    };
    let on_error = {
        let send = send.clone();
        Closure::<dyn FnMut()>::new(move || send(Err(PutError::Network)))
    };
    let on_abort = Closure::<dyn FnMut()>::new(move || send(Err(PutError::Aborted)));
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_ontimeout(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    job.xhrs.borrow_mut().insert(n, xhr.clone());
    xhr.send_with_opt_blob(Some(buf))
        .map_err(|_| PutError::Network)?;
    let result = rx.await.unwrap_or(Err(PutError::Network));
    // The closures must outlive the request; drop them only now.
    drop((on_progress, on_load, on_error, on_abort));
    result
}

// ---- controls ---------------------------------------------------------------------------------

fn pause(job: &Job) {
    if job.item.phase.with_untracked(|p| p.unfinished()) && !job.paused.replace(true) {
        abort_inflight(job);
        job.item.phase.set(Phase::Paused);
    }
}

fn resume(job: &Job) {
    if job.paused.replace(false) {
        job.item.phase.set(Phase::Uploading);
        for w in job.resume_waiters.borrow_mut().drain(..) {
            let _ = w.send(());
        }
    }
}

fn cancel(job: &Job) {
    job.cancelled.set(true);
    abort_inflight(job);
    if let Some(tx) = job.duplicate_choice.borrow_mut().take() {
        let _ = tx.send(None);
    }
    for w in job.resume_waiters.borrow_mut().drain(..) {
        let _ = w.send(());
    }
    FILE_SLOTS.with(|s| s.wake_all());
    PART_SLOTS.with(|s| s.wake_all());
}

/// A row's button: "pause", "resume", "cancel" or "retry".
pub fn act(key: u64, what: &str) {
    let Some(job) = job(key) else { return };
    match what {
        "pause" => pause(&job),
        "resume" => resume(&job),
        "cancel" => {
            if matches!(job.item.phase.get_untracked(), Phase::Failed(_)) {
                // Nothing runs any more: cancel on the server directly.
                job.cancelled.set(true);
                leptos::task::spawn_local(async move {
                    forget(&job).await;
                    let (size, done) = (job.item.size, job.item.meter.with_untracked(|m| m.done));
                    job.queue.total.update(|m| {
                        m.total -= size;
                        m.done -= done;
                    });
                    job.item.phase.set(Phase::Cancelled);
                });
            } else {
                cancel(&job)
            }
        }
        "retry" => {
            if matches!(job.item.phase.get_untracked(), Phase::Failed(_)) {
                // The browser still holds the file: continue at once, only missing parts.
                job.item.phase.set(Phase::Queued);
                job.confirmed.set(0);
                leptos::task::spawn_local(run(job));
            }
        }
        _ => {}
    }
}

fn each(queue: Queue, f: impl Fn(&Job)) {
    let keys: Vec<u64> = queue
        .items
        .with_untracked(|i| i.iter().map(|i| i.key).collect());
    for k in keys {
        if let Some(j) = job(k) {
            f(&j);
        }
    }
}

pub fn pause_all(queue: Queue) {
    each(queue, pause);
}

pub fn resume_all(queue: Queue) {
    each(queue, resume);
}

pub fn cancel_all(queue: Queue) {
    each(queue, |j| {
        if j.item.phase.with_untracked(|p| p.unfinished()) {
            cancel(j);
        }
    });
}

/// Cancels an interrupted upload from an earlier visit.
pub fn discard_open(queue: Queue, upload_id: String) {
    leptos::task::spawn_local(async move {
        if abort_upload(upload_id.clone()).await.is_ok() {
            idb_delete(&upload_id);
            queue
                .open
                .update(|o| o.retain(|u| u.upload_id != upload_id));
        }
    });
}

//! One file's upload as the engine tracks it: its stop signal, the part slots it may use,
//! its checkpoint (a wait while paused, a stop when cancelled), its IndexedDB record (so a
//! reload finds it), and retries with backoff.
use super::browser::{call_helper, idb_delete, sleep_ms};
use crate::error::AppError;
use crate::uploads::UploadTicket;
use crate::uploads::api::abort_upload;
use crate::uploads::queue::{Item, Queue};
use crate::uploads::{CompletedPart, OnDuplicate};
use futures_channel::oneshot;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, XmlHttpRequest};

/// Why a file's upload ended early.
#[derive(Debug)]
pub(crate) enum Stop {
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
pub(crate) struct Slots {
    in_use: Cell<usize>,
    waiters: RefCell<VecDeque<oneshot::Sender<()>>>,
}

impl Slots {
    pub(crate) async fn acquire(&self, limit: impl Fn() -> usize) {
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

    /// Whether any slot is taken (a part is being sent).
    pub(crate) fn busy(&self) -> bool {
        self.in_use.get() > 0
    }

    pub(crate) fn release(&self) {
        self.in_use.set(self.in_use.get().saturating_sub(1));
        self.wake_all();
    }

    pub(crate) fn wake_all(&self) {
        for w in self.waiters.borrow_mut().drain(..) {
            let _ = w.send(());
        }
    }
}

/// One file's upload, as the engine holds it.
pub(crate) struct Job {
    pub(crate) key: u64,
    pub(crate) vault_id: String,
    pub(crate) file: File,
    pub(crate) folder_path: String,
    pub(crate) item: Item,
    pub(crate) queue: Queue,
    pub(crate) on_done: Callback<()>,
    pub(crate) paused: Cell<bool>,
    pub(crate) cancelled: Cell<bool>,
    pub(crate) resume_waiters: RefCell<Vec<oneshot::Sender<()>>>,
    pub(crate) xhrs: RefCell<HashMap<i64, XmlHttpRequest>>,
    /// Bytes of parts stored; and bytes sent so far of parts in flight.
    pub(crate) confirmed: Cell<i64>,
    pub(crate) inflight: RefCell<HashMap<i64, f64>>,
    pub(crate) duplicate_choice: RefCell<Option<oneshot::Sender<Option<OnDuplicate>>>>,
    /// An unfinished upload (from an earlier visit, or this one) to continue.
    pub(crate) upload_id: RefCell<Option<String>>,
    pub(crate) pending_done: RefCell<Vec<CompletedPart>>,
    pub(crate) flushing: Cell<bool>,
    /// Parts failed at least once and not yet stored: while any, the row says "retrying".
    pub(crate) retrying: Cell<u32>,
    /// Sending waits for reading (nothing read to send): the SHA pass stands aside.
    pub(crate) starved: Cell<bool>,
    /// Every part is sent (or the upload stopped): the SHA pass runs freely.
    pub(crate) sending_done: Cell<bool>,
    /// The SHA pass's result, when it finished before the upload completed.
    pub(crate) sha: RefCell<Option<crate::uploads::hashing::ShaSum>>,
    /// The stored file, once the upload completed (a later SHA result is attached to it).
    pub(crate) completed_file: RefCell<Option<String>>,
    /// A SHA pass runs (a retried upload does not start another).
    pub(crate) sha_running: Cell<bool>,
    /// When the row's progress was last shown (ms): it is shown at most 10 times a second.
    pub(crate) shown_at: Cell<f64>,
    /// This file's share of the memory budget for parts ([`hold`]).
    pub(crate) budget: Rc<Budget>,
}

thread_local! {
    pub(crate) static JOBS: RefCell<HashMap<u64, Rc<Job>>> = RefCell::new(HashMap::new());
    pub(crate) static NEXT_KEY: Cell<u64> = const { Cell::new(1) };
    pub(crate) static FILE_SLOTS: Rc<Slots> = Rc::new(Slots::default());
    pub(crate) static PART_SLOTS: Rc<Slots> = Rc::new(Slots::default());
    /// "For all duplicates": the choice made once (Some(None) is skip all).
    pub(crate) static DUPLICATE_ALL: Cell<Option<Option<OnDuplicate>>> = const { Cell::new(None) };
}

pub(crate) fn job(key: u64) -> Option<Rc<Job>> {
    JOBS.with(|j| j.borrow().get(&key).cloned())
}

// ---- browser helpers (public/upload-helpers.js) -------------------------------------------

pub(crate) fn job_limit(job: &Job) -> usize {
    job.queue.parallel.get_untracked().max(1)
}

/// Cancels the unfinished upload on the server (S3 drops its parts) and forgets it here.
pub(crate) async fn forget(job: &Job) {
    let id = job.upload_id.borrow().clone();
    if let Some(id) = id {
        let _ = abort_upload(id.clone()).await;
        idb_delete(&id);
    }
}

/// Waits while the job is paused; Err when it was cancelled.
pub(crate) async fn checkpoint(job: &Job) -> Result<(), Stop> {
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
pub(crate) async fn with_retry<T, F, Fut>(f: F) -> Result<T, AppError>
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

pub(crate) fn idb_put(ticket: &UploadTicket, job: &Job) {
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

// ---- memory for parts -------------------------------------------------------------------

/// Bytes of parts held in memory at once, across every file (read ahead, waiting for a URL or
/// a slot, or being sent): whatever the file sizes, the page stays within it. Each file
/// uploading takes an equal share (the budget over the files allowed at once, the parallel
/// setting), so a paused file's buffers never hold back another's; one file alone gets all of
/// it: 32 parts of 8 MiB, which keeps a fast connection busy.
pub(crate) const MEMORY_BUDGET: i64 = 256 * 1024 * 1024;

/// An async byte budget for a single-threaded page (one per file upload).
#[derive(Default)]
pub(crate) struct Budget {
    used: Cell<i64>,
    waiters: RefCell<VecDeque<oneshot::Sender<()>>>,
}

/// Bytes taken from the budget, given back when dropped (with the part's buffer).
pub(crate) struct Held {
    budget: Rc<Budget>,
    bytes: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.used.set(self.budget.used.get() - self.bytes);
        for w in self.budget.waiters.borrow_mut().drain(..) {
            let _ = w.send(());
        }
    }
}

/// Takes `bytes` of the file's share of the memory budget, waiting while its other parts
/// hold it. A part larger than the share (a share of 16 MiB with 16 files at once; parts over
/// 256 MiB for files over 2.5 TB) goes alone.
pub(crate) async fn hold(job: &Job, bytes: i64) -> Held {
    let budget = job.budget.clone();
    let share = MEMORY_BUDGET / job_limit(job).max(1) as i64;
    loop {
        let used = budget.used.get();
        if used == 0 || used + bytes <= share {
            budget.used.set(used + bytes);
            return Held { budget, bytes };
        }
        let (tx, rx) = oneshot::channel();
        budget.waiters.borrow_mut().push_back(tx);
        let _ = rx.await;
    }
}

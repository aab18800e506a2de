//! The queue's runner and the page's controls: files added, run in turn with parts in
//! flight, paused, resumed, cancelled, and the choice on a duplicate.
use super::browser::{PARALLEL_KEY, idb_delete, now_ms};
use super::job::{
    DUPLICATE_ALL, FILE_SLOTS, JOBS, Job, NEXT_KEY, PART_SLOTS, Stop, forget, job, job_limit,
};
use super::transfer::{abort_inflight, upload};
use crate::uploads::api::{abort_upload, list_open_uploads};
use crate::uploads::queue::{DEFAULT_PARALLEL, Item, Phase, Queue};
use crate::uploads::{Meter, OnDuplicate};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::File;

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
            starved: Cell::new(false),
            sending_done: Cell::new(false),
            sha: RefCell::new(None),
            completed_file: RefCell::new(None),
            sha_running: Cell::new(false),
            shown_at: Cell::new(0.0),
            budget: Rc::default(),
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
            // The file's last bytes count in the total too (progress is shown at most every
            // 100 ms, so the last report may not have been).
            let now = now_ms();
            let mut grew = 0;
            job.item.meter.update(|m| grew = m.advance_to(now, m.total));
            if grew > 0 {
                job.queue.total.update(|m| m.add_done(now, grew));
            }
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

fn pause(job: &Job) {
    if job.item.phase.with_untracked(|p| p.unfinished()) && !job.paused.replace(true) {
        abort_inflight(job);
        job.item.phase.set(Phase::Paused);
    }
}

pub(crate) fn resume(job: &Job) {
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

//! Moving the bytes: starting or resuming the multipart upload, signing part URLs in
//! batches, PUTting parts with XHR (progress, retries, expired URLs signed again), reporting
//! them as they land, and completing.
use super::browser::{now_ms, sleep_ms, store_thumb};
use super::job::{
    DUPLICATE_ALL, Held, Job, PART_SLOTS, Slots, Stop, checkpoint, idb_put, job, job_limit,
    with_retry,
};
use super::sums::{
    Body, READ_AHEAD, READ_FIRST_MAX, ReadFirst, ReadPart, read, read_first, sha_pass,
};
use crate::checksums::crc64_combine;
use crate::error::AppError;
use crate::uploads::api::{
    attach_sha256, complete_upload, parts_done, presign_parts, resume_upload, start_upload,
};
use crate::uploads::hashing::ShaSum;
use crate::uploads::queue::Phase;
use crate::uploads::{
    CompletedPart, NewUpload, OnDuplicate, PartChecksum, PartRequest, PartUrl,
    UPLOAD_PART_CHECKSUM, UploadTicket,
};
use futures_channel::{mpsc, oneshot};
use futures_util::{SinkExt, StreamExt};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ProgressEvent, XmlHttpRequest};

/// Part URLs asked for at once (fewer at the end of a file).
const SIGN_BATCH: usize = 8;

/// Tries per part before the upload stops with an error.
const PART_ATTEMPTS: u32 = 8;

/// Part URLs live 15 minutes; older ones are signed again before use.
const URL_FRESH_MS: f64 = 10.0 * 60_000.0;

/// Starts the upload (asking about a duplicate when the content is known first); answers the
/// choice made, which completing repeats, and a small file's parts, read already.
pub(crate) async fn start(
    job: &Job,
) -> Result<(UploadTicket, Option<OnDuplicate>, Option<ReadFirst>), Stop> {
    let size = job.file.size() as i64;
    let first = if size <= READ_FIRST_MAX {
        job.item.phase.set(Phase::Hashing);
        Some(read_first(job).await?)
    } else {
        None
    };
    let crc64nvme = first.as_ref().map(|f| f.crc64nvme.clone());
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
            sha256: None,
            crc64nvme: crc64nvme.clone(),
            on_duplicate,
        };
        match with_retry(|| start_upload(req.clone())).await {
            Ok(t) => return Ok((t, on_duplicate, first)),
            Err(AppError::Duplicate { name, .. }) => {
                on_duplicate = Some(ask_duplicate(job, name).await?);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The whole upload of one file; Ok(the name it was stored under).
pub(crate) async fn upload(job: &Rc<Job>) -> Result<String, Stop> {
    let size = job.file.size() as i64;
    let resume = job.upload_id.borrow().clone();
    let mut on_duplicate = None;
    let mut first = None;
    let (ticket, stored, alg, record_sha256) = match resume {
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
            let alg = PartChecksum::from_name(&info.checksum_algorithm).ok_or_else(|| {
                Stop::Failed("this upload uses a checksum this page does not know".into())
            })?;
            let t = UploadTicket {
                upload_id: info.upload.upload_id,
                file_id: info.upload.file_id,
                name: info.upload.name,
                part_size: info.upload.part_size,
                part_count: info.upload.part_count,
                checksum_algorithm: info.checksum_algorithm,
                record_sha256: info.record_sha256,
            };
            (t, stored, alg, info.record_sha256)
        }
        None => {
            let (t, choice, f) = start(job).await?;
            on_duplicate = choice;
            first = f.filter(|f| f.part_size == t.part_size);
            *job.upload_id.borrow_mut() = Some(t.upload_id.clone());
            idb_put(&t, job);
            let alg =
                PartChecksum::from_name(&t.checksum_algorithm).unwrap_or(UPLOAD_PART_CHECKSUM);
            let record = t.record_sha256;
            (t, HashMap::new(), alg, record)
        }
    };
    job.item.phase.set(Phase::Uploading);
    job.sending_done.set(false);
    let part_slots = PART_SLOTS.with(|s| s.clone());
    let etags: Rc<RefCell<BTreeMap<i64, String>>> = Rc::new(RefCell::new(BTreeMap::new()));
    // Every part's checksum and length, for the whole file's CRC64NVME (to check the SHA
    // pass read the same bytes).
    let sums: Rc<RefCell<BTreeMap<i64, (String, i64)>>> = Rc::new(RefCell::new(BTreeMap::new()));
    let failure: Rc<RefCell<Option<Stop>>> = Rc::new(RefCell::new(None));
    let mut running: Vec<oneshot::Receiver<()>> = Vec::new();

    // The file's SHA-256, when the vault records it: a separate low-priority pass that never
    // holds back a PUT; it is sent with the completion when it is done by then, or attached
    // to the file when it finishes.
    if record_sha256 {
        let job = job.clone();
        let part_size = ticket.part_size;
        leptos::task::spawn_local(async move {
            let Some(sum) = sha_pass(&job, part_size).await else {
                return;
            };
            let done = job.completed_file.borrow().clone();
            match done {
                Some(file_id) => attach(&file_id, sum).await,
                None => *job.sha.borrow_mut() = Some(sum),
            }
        });
    }

    // Reading runs ahead of sending, in order, in its own task (the work itself is in the
    // read worker): parts already stored are checked and counted there, the others come here
    // read and checksummed, and their URLs are signed a batch at a time.
    let (mut ready_tx, mut ready_rx) = mpsc::channel::<Result<ReadyPart, Stop>>(READ_AHEAD);
    {
        let (job, etags, sums, part_size, part_count) = (
            job.clone(),
            etags.clone(),
            sums.clone(),
            ticket.part_size,
            ticket.part_count,
        );
        leptos::task::spawn_local(async move {
            let mut first: VecDeque<ReadPart> = first.map(|f| f.parts.into()).unwrap_or_default();
            // A few reads are asked ahead, so the worker never waits for this page.
            let mut asked = VecDeque::new();
            let mut next = 1;
            loop {
                while asked.len() < READ_AHEAD && next <= part_count {
                    let start = (next - 1) * part_size;
                    let end = (start + part_size).min(size);
                    let read_now: Pin<Box<dyn Future<Output = Result<ReadPart, Stop>>>> =
                        match first.pop_front() {
                            Some(p) => Box::pin(std::future::ready(Ok(p))),
                            None => Box::pin(read(&job, start, end, alg)),
                        };
                    asked.push_back((next, end - start, read_now));
                    next += 1;
                }
                let Some((n, len, part)) = asked.pop_front() else {
                    break;
                };
                if job.cancelled.get() {
                    return;
                }
                let ready = part.await.and_then(|part| {
                    sums.borrow_mut().insert(n, (part.sum.clone(), len));
                    if let Some((etag, stored_sum)) = stored.get(&n) {
                        if stored_sum.as_ref().is_some_and(|s| s != &part.sum) {
                            return Err(Stop::Failed(format!(
                                "this is not the file the upload started with (part {n} differs); cancel it and upload the file again"
                            )));
                        }
                        etags.borrow_mut().insert(n, etag.clone());
                        job.confirmed.set(job.confirmed.get() + len);
                        progress(&job);
                        return Ok(None); // its buffer goes back to the budget
                    }
                    // The PUT sends exactly these bytes; S3 checks them against the checksum
                    // just computed, so a file changed meanwhile is refused.
                    Ok(Some(ReadyPart {
                        number: n,
                        len,
                        sum: part.sum,
                        body: part.body,
                        _held: part.held,
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
        });
    }

    let mut reading_done = false;
    let mut batch: Vec<ReadyPart> = Vec::with_capacity(SIGN_BATCH);
    let mut first = true;
    loop {
        // A batch: SIGN_BATCH parts (the first one goes as soon as one part is read, so the
        // upload starts at once), plus whatever else is read already.
        let want = if first { 1 } else { SIGN_BATCH };
        first = false;
        while !reading_done && batch.len() < want {
            // Waiting here with nothing to send: the SHA pass stands aside.
            job.starved.set(batch.is_empty());
            let next = ready_rx.next().await;
            job.starved.set(false);
            match next {
                Some(Ok(p)) => batch.push(p),
                Some(Err(stop)) => return Err(stop),
                None => reading_done = true,
            }
        }
        while batch.len() < SIGN_BATCH {
            match ready_rx.try_recv() {
                Ok(Ok(p)) => batch.push(p),
                Ok(Err(stop)) => return Err(stop),
                Err(mpsc::TryRecvError::Closed) => {
                    reading_done = true;
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break, // nothing more read yet
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
                drop(p); // its bytes go back to the budget
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
    job.sending_done.set(true);
    if let Some(stop) = failure.borrow_mut().take() {
        return Err(stop);
    }
    checkpoint(job).await?;
    flush_done(job, &ticket.upload_id, true).await;
    let parts: Vec<CompletedPart> = etags
        .borrow()
        .iter()
        .map(|(n, e)| CompletedPart {
            number: *n,
            etag: e.clone(),
        })
        .collect();
    // The whole file's CRC64NVME from its parts' (what S3 will verify), to check that a SHA
    // pass read the same bytes.
    let whole = (alg == PartChecksum::Crc64Nvme)
        .then(|| crc64_combine(&sums.borrow().values().cloned().collect::<Vec<_>>()))
        .flatten();
    job.item.phase.set(Phase::Verifying);
    loop {
        let id = ticket.upload_id.clone();
        // The SHA-256 goes with the completion when it is ready (and of the same bytes).
        let sha = job.sha.borrow().clone();
        let sha256 = sha
            .as_ref()
            .filter(|s| Some(&s.crc64nvme) == whole.as_ref())
            .map(|s| s.sha256.clone());
        match with_retry(|| {
            complete_upload(id.clone(), sha256.clone(), parts.clone(), on_duplicate)
        })
        .await
        {
            Ok(entry) => {
                // A SHA pass that finishes later attaches its result; one that finished while
                // completing (after the check above) attaches it now.
                *job.completed_file.borrow_mut() = Some(entry.id.clone());
                let late = job.sha.borrow_mut().take();
                if let Some(sum) = late.filter(|_| sha256.is_none()) {
                    let file_id = entry.id.clone();
                    leptos::task::spawn_local(async move { attach(&file_id, sum).await });
                }
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

/// Records a SHA-256 that finished after its file's upload (the server checks the CRC64NVME
/// of the same read against the stored object's). Best effort: the file is stored either way.
async fn attach(file_id: &str, sum: ShaSum) {
    let r = with_retry(|| {
        attach_sha256(
            file_id.to_string(),
            sum.sha256.clone(),
            sum.crc64nvme.clone(),
        )
    })
    .await;
    if let Err(e) = r {
        leptos::logging::warn!("the file's SHA-256 was not recorded: {e}");
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
/// Shows the file's progress (at most every 100 ms: XHR reports each part's progress many
/// times a second, and every update redraws the row, the total and the tab's title).
fn progress(job: &Job) {
    let now = now_ms();
    if now - job.shown_at.get() < 100.0 {
        return;
    }
    job.shown_at.set(now);
    let inflight: f64 = job.inflight.borrow().values().sum();
    let done = job.confirmed.get() + inflight as i64;
    let mut grew = 0;
    job.item.meter.update(|m| grew = m.advance_to(now, done));
    if grew > 0 {
        job.queue.total.update(|m| m.add_done(now, grew));
    }
}

pub(crate) fn abort_inflight(job: &Job) {
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

/// A part read and ready to send: its number, length, checksum and bytes (read once, PUT as
/// they are), holding its share of the memory budget until it is dropped.
struct ReadyPart {
    number: i64,
    len: i64,
    sum: String,
    body: Body,
    _held: Option<Held>,
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
async fn put_part(job: &Job, n: i64, url: &PartUrl, buf: &Body) -> Result<String, PutError> {
    let xhr = XmlHttpRequest::new().map_err(|_| PutError::Network)?;
    xhr.open("PUT", &url.url).map_err(|_| PutError::Network)?;
    for (k, v) in &url.headers {
        xhr.set_request_header(k, v)
            .map_err(|_| PutError::Network)?;
    }
    // A stalled connection must end: at least 60 s, or 100 kB/s for large parts.
    let len = match buf {
        Body::Memory(b) => b.byte_length() as f64,
        Body::Slice(b) => b.size(),
    };
    xhr.set_timeout(((len / 100.0) as u32).max(60_000));
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
    match buf {
        Body::Memory(b) => xhr.send_with_opt_buffer_source(Some(b)),
        Body::Slice(b) => xhr.send_with_opt_blob(Some(b)),
    }
    .map_err(|_| PutError::Network)?;
    let result = rx.await.unwrap_or(Err(PutError::Network));
    // The closures must outlive the request; drop them only now.
    drop((on_progress, on_load, on_error, on_abort));
    result
}

// ---- controls ---------------------------------------------------------------------------------

/// Asks the person what to do with a duplicate (unless they chose for all already).
pub(crate) async fn ask_duplicate(job: &Job, name: String) -> Result<OnDuplicate, Stop> {
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

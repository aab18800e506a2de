//! The browser half of an upload (hydrate only): asks the server for part URLs, PUTs each
//! slice of the file straight to S3 with XHR (for upload progress events), retries a failed
//! part with backoff, and asks the server to complete. The later engine (parallel parts,
//! pause, resume after reload) grows from `upload_file` and `put_part`.
use super::api::{abort_upload, complete_upload, presign_parts, start_upload};
use super::ui::{Phase, UploadView};
use super::{CompletedPart, Meter, PartUrl};
use futures_channel::oneshot;
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{Blob, File, ProgressEvent, XmlHttpRequest};

const URL_BATCH: usize = 20;
const PART_ATTEMPTS: u32 = 4;
/// Part URLs live 15 minutes; ones older than this are signed again before use.
const URL_FRESH_MS: f64 = 10.0 * 60_000.0;

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
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Starts uploading `file` into the vault, reporting into `state`; `on_done` runs after success.
pub fn start(
    vault_id: String,
    file: File,
    state: RwSignal<Option<UploadView>>,
    on_done: Callback<()>,
) {
    let total = file.size() as i64;
    state.set(Some(UploadView {
        name: file.name(),
        phase: Phase::Preparing,
        meter: Meter::new(total),
    }));
    leptos::task::spawn_local(async move {
        match upload_file(&vault_id, &file, state).await {
            Ok(()) => {
                state.update(|s| {
                    if let Some(u) = s {
                        u.meter.record(now_ms(), total);
                        u.phase = Phase::Done;
                    }
                });
                on_done.run(());
            }
            Err(why) => state.update(|s| {
                if let Some(u) = s {
                    u.phase = Phase::Failed(why);
                }
            }),
        }
    });
}

async fn upload_file(
    vault_id: &str,
    file: &File,
    state: RwSignal<Option<UploadView>>,
) -> Result<(), String> {
    let content_type = file.type_();
    let ticket = start_upload(
        vault_id.to_string(),
        file.name(),
        file.size() as i64,
        content_type,
    )
    .await
    .map_err(|e| e.to_string())?;
    let set_phase = move |p: Phase| {
        state.update(|s| {
            if let Some(u) = s {
                u.phase = p
            }
        })
    };
    set_phase(Phase::Uploading);

    let result = async {
        let mut done_bytes: i64 = 0;
        let mut completed = Vec::with_capacity(ticket.part_count as usize);
        let numbers: Vec<i64> = (1..=ticket.part_count).collect();
        for batch in numbers.chunks(URL_BATCH) {
            let mut pending = sign(&ticket.upload_id, batch.to_vec()).await?;
            let mut signed_at = now_ms();
            while let Some(mut part) = pending.pop_front() {
                if now_ms() - signed_at > URL_FRESH_MS {
                    // Large parts on a slow line: sign this part and the rest of the batch
                    // again before their URLs expire.
                    let rest = std::iter::once(part.number).chain(pending.iter().map(|p| p.number));
                    pending = sign(&ticket.upload_id, rest.collect()).await?;
                    part = pending
                        .pop_front()
                        .ok_or("storage signed no URL for a part")?;
                    signed_at = now_ms();
                }
                let start = (part.number - 1) * ticket.part_size;
                let blob = file
                    .slice_with_f64_and_f64(start as f64, (start + part.size) as f64)
                    .map_err(|_| "could not read the file".to_string())?;
                let base = done_bytes;
                let progress = Rc::new(move |loaded: f64| {
                    state.update(|s| {
                        if let Some(u) = s {
                            u.meter.record(now_ms(), base + loaded as i64)
                        }
                    });
                });
                let mut attempt = 0;
                let etag = loop {
                    attempt += 1;
                    match put_part(&part.url, &blob, progress.clone()).await {
                        Ok(etag) => break etag,
                        Err(PutError::Expired) if attempt < PART_ATTEMPTS => {
                            // The URL outlived its 15 minutes: ask for a fresh one.
                            if let Some(u) = sign(&ticket.upload_id, vec![part.number])
                                .await?
                                .pop_front()
                            {
                                part = u;
                            }
                        }
                        Err(e) if attempt < PART_ATTEMPTS => {
                            leptos::logging::warn!("part {} failed ({e:?}); retrying", part.number);
                            sleep_ms(500 * 2i32.pow(attempt)).await;
                        }
                        Err(e) => {
                            return Err(format!("part {} could not be stored: {e}", part.number));
                        }
                    }
                };
                done_bytes += part.size;
                progress(part.size as f64);
                completed.push(CompletedPart {
                    number: part.number,
                    etag,
                });
            }
        }
        set_phase(Phase::Verifying);
        complete_upload(ticket.upload_id.clone(), completed)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
    .await;

    if result.is_err() {
        // Leave nothing half-made behind: S3 drops the stored parts.
        let _ = abort_upload(ticket.upload_id.clone()).await;
    }
    result
}

#[derive(Debug)]
enum PutError {
    Network,
    Expired,
    Status(u16),
    NoEtag,
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Network => write!(f, "the network connection failed"),
            PutError::Expired => write!(f, "the upload link expired"),
            PutError::Status(s) => write!(f, "storage answered HTTP {s}"),
            PutError::NoEtag => write!(
                f,
                "storage did not return the part's ETag (CORS must expose ETag)"
            ),
        }
    }
}

/// Presigned PUT URLs for these parts, in order.
async fn sign(upload_id: &str, parts: Vec<i64>) -> Result<VecDeque<PartUrl>, String> {
    presign_parts(upload_id.to_string(), parts)
        .await
        .map(VecDeque::from)
        .map_err(|e| e.to_string())
}

/// PUTs one part with XHR (fetch has no upload progress), reporting bytes sent.
async fn put_part(url: &str, blob: &Blob, progress: Rc<dyn Fn(f64)>) -> Result<String, PutError> {
    let xhr = XmlHttpRequest::new().map_err(|_| PutError::Network)?;
    xhr.open("PUT", url).map_err(|_| PutError::Network)?;
    // A stalled connection must end: allow at least 60 s, or 100 kB/s for large parts.
    xhr.set_timeout(((blob.size() / 100.0) as u32).max(60_000));
    let (tx, rx) = oneshot::channel::<Result<String, PutError>>();
    let tx = Rc::new(RefCell::new(Some(tx)));

    let on_progress =
        Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| progress(e.loaded()));
    let on_load = {
        let (xhr, tx) = (xhr.clone(), tx.clone());
        Closure::<dyn FnMut()>::new(move || {
            let status = xhr.status().unwrap_or(0);
            let result = match status {
                200..=299 => xhr
                    .get_response_header("ETag")
                    .ok()
                    .flatten()
                    .filter(|e| !e.is_empty())
                    .ok_or(PutError::NoEtag),
                403 if xhr
                    .response_text()
                    .ok()
                    .flatten()
                    .is_some_and(|t| t.contains("expired")) =>
                {
                    Err(PutError::Expired)
                }
                s => Err(PutError::Status(s)),
            };
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(result);
            }
        })
    };
    let on_error = {
        let tx = tx.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(Err(PutError::Network));
            }
        })
    };
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_ontimeout(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_error.as_ref().unchecked_ref()));
    xhr.send_with_opt_blob(Some(blob))
        .map_err(|_| PutError::Network)?;
    let result = rx.await.unwrap_or(Err(PutError::Network));
    // The closures must outlive the request; drop them only now.
    drop((on_progress, on_load, on_error));
    result
}

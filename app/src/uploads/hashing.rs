//! The browser's hashing of an upload (hydrate only): the file's SHA-256 (stored with the
//! file, compared by people's `sha256sum`) and each part's CRC32 (signed into the part's URL,
//! checked by S3), both in one pass over the file, in order.
//!
//! The work runs in a Web Worker (`public/hash-worker.js`) that instantiates this same wasm
//! module, so the page's thread only sends parts: hashing is the heaviest work of an upload
//! and must not freeze the page. Where no worker can start, the page hashes itself, in
//! chunks between which it stays responsive.
use super::{PartHasher, UPLOAD_PART_CHECKSUM};
use futures_channel::oneshot;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

/// Bytes read at once when the page hashes itself.
const CHUNK: i64 = 16 * 1024 * 1024;

/// The SHA-256 of a whole file and the CRC32 of each part, fed in order. Exported to the
/// hash worker, which drives it from JavaScript.
#[wasm_bindgen]
pub struct FileHasher {
    sha: Sha256,
    part: PartHasher,
}

impl Default for FileHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl FileHasher {
    #[wasm_bindgen(constructor)]
    pub fn new() -> FileHasher {
        FileHasher {
            sha: Sha256::new(),
            part: UPLOAD_PART_CHECKSUM.hasher(),
        }
    }

    /// Feeds the file's next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.part.update(bytes);
    }

    /// The part checksum ([`UPLOAD_PART_CHECKSUM`], base64 as `x-amz-checksum-crc32` carries
    /// it) of the bytes fed since the last part ended.
    pub fn end_part(&mut self) -> String {
        std::mem::replace(&mut self.part, UPLOAD_PART_CHECKSUM.hasher()).finish()
    }

    /// The file's SHA-256, lowercase hex.
    pub fn finish(self) -> String {
        self.sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

// ---- the worker --------------------------------------------------------------------------

type Reply = oneshot::Sender<Result<JsValue, String>>;

struct Worker {
    worker: web_sys::Worker,
    pending: RefCell<HashMap<u32, Reply>>,
    next_seq: Cell<u32>,
}

impl Worker {
    fn start() -> Option<Rc<Worker>> {
        let opts = web_sys::WorkerOptions::new();
        opts.set_type(web_sys::WorkerType::Module);
        let worker = web_sys::Worker::new_with_options("/hash-worker.js", &opts).ok()?;
        let w = Rc::new(Worker {
            worker,
            pending: RefCell::new(HashMap::new()),
            next_seq: Cell::new(1),
        });
        let weak = Rc::downgrade(&w);
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let Some(w) = weak.upgrade() else { return };
                let data = e.data();
                let get = |k: &str| js_sys::Reflect::get(&data, &k.into()).unwrap_or_default();
                let Some(seq) = get("seq").as_f64() else {
                    return;
                };
                let Some(tx) = w.pending.borrow_mut().remove(&(seq as u32)) else {
                    return;
                };
                let _ = tx.send(if get("ok").is_truthy() {
                    Ok(get("value"))
                } else {
                    Err(get("error").as_string().unwrap_or_default())
                });
            });
        w.worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // the worker lives as long as the page
        // A worker that dies fails whatever it was asked.
        let weak = Rc::downgrade(&w);
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(w) = weak.upgrade() {
                for (_, tx) in w.pending.borrow_mut().drain() {
                    let _ = tx.send(Err("the hashing worker stopped".into()));
                }
            }
        });
        w.worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        let init = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(&init, &k.into(), v);
        };
        set("type", &"init".into());
        set("module", &wasm_bindgen::module());
        set("glue", &glue_url().into());
        w.worker.post_message(&init).ok()?;
        Some(w)
    }

    /// Sends `msg`; no answer is wanted.
    fn tell(&self, msg: js_sys::Object) {
        let _ = self.worker.post_message(&msg);
    }

    /// Sends `msg` now; the future is its answer, so several requests can be sent before the
    /// first answer is awaited (the worker answers in order).
    fn ask(&self, msg: js_sys::Object) -> impl Future<Output = Result<JsValue, String>> + 'static {
        let seq = self.next_seq.get();
        self.next_seq.set(seq.wrapping_add(1));
        let _ = js_sys::Reflect::set(&msg, &"seq".into(), &seq.into());
        let (tx, rx) = oneshot::channel();
        let sent = self.worker.post_message(&msg).is_ok();
        if sent {
            self.pending.borrow_mut().insert(seq, tx);
        }
        async move {
            if !sent {
                return Err("the hashing worker could not be reached".into());
            }
            rx.await
                .unwrap_or_else(|_| Err("the hashing worker stopped".into()))
        }
    }
}

/// The page's own JS glue (`/pkg/<name>.js`), as the hydration script loads it.
fn glue_url() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("link[rel=modulepreload]").ok().flatten())
        .and_then(|l| l.get_attribute("href"))
        .unwrap_or_else(|| "/pkg/nexus.js".into())
}

fn msg(kind: &str, id: u64) -> js_sys::Object {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"type".into(), &kind.into());
    let _ = js_sys::Reflect::set(&o, &"id".into(), &(id as f64).into());
    o
}

#[derive(Clone, Copy, PartialEq)]
enum WorkerState {
    Unknown,
    Ready,
    Failed,
}

thread_local! {
    static WORKER: RefCell<Option<Rc<Worker>>> = const { RefCell::new(None) };
    static WORKER_STATE: Cell<WorkerState> = const { Cell::new(WorkerState::Unknown) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// The hash worker, started (and checked to run) on first use; None where none can run.
async fn worker() -> Option<Rc<Worker>> {
    loop {
        match WORKER_STATE.with(Cell::get) {
            WorkerState::Failed => return None,
            WorkerState::Ready => return WORKER.with(|w| w.borrow().clone()),
            WorkerState::Unknown => {}
        }
        let existing = WORKER.with(|w| w.borrow().clone());
        let w = match existing {
            // Another file is checking it already; ask too (answers queue in order).
            Some(w) => w,
            None => match Worker::start() {
                Some(w) => {
                    WORKER.with(|slot| *slot.borrow_mut() = Some(w.clone()));
                    w
                }
                None => {
                    WORKER_STATE.with(|s| s.set(WorkerState::Failed));
                    return None;
                }
            },
        };
        let ok = w.ask(msg("ready", 0)).await.is_ok();
        if WORKER_STATE.with(Cell::get) == WorkerState::Unknown {
            WORKER_STATE.with(|s| {
                s.set(if ok {
                    WorkerState::Ready
                } else {
                    WorkerState::Failed
                })
            });
            if !ok {
                leptos::logging::warn!("hashing on the page: the hash worker did not start");
                WORKER.with(|slot| *slot.borrow_mut() = None);
                w.worker.terminate();
            }
        }
    }
}

// ---- one file's hashing ----------------------------------------------------------------

enum Via {
    Worker(Rc<Worker>),
    Page(Box<RefCell<Option<FileHasher>>>),
}

/// One file's hashing: parts are fed in order, then `finish` gives the SHA-256. Dropping it
/// early (a cancelled upload) frees the worker's state.
pub struct FileHash {
    id: u64,
    via: Via,
    finished: Cell<bool>,
}

impl FileHash {
    pub async fn new() -> FileHash {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        let via = match worker().await {
            Some(w) => Via::Worker(w),
            None => Via::Page(Box::new(RefCell::new(Some(FileHasher::new())))),
        };
        FileHash {
            id,
            via,
            finished: Cell::new(false),
        }
    }

    /// Feeds bytes `[start, end)` of `file` (the next part); answers the part's CRC32. The
    /// worker is asked at once, so several parts can be asked for before the first answer
    /// (the worker takes them in order and never waits for the page); answers must be
    /// awaited in the order asked.
    pub fn part<'a>(
        &'a self,
        file: &'a File,
        start: i64,
        end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + 'a>> {
        match &self.via {
            Via::Worker(w) => {
                let m = msg("part", self.id);
                let set = |k: &str, v: &JsValue| {
                    let _ = js_sys::Reflect::set(&m, &k.into(), v);
                };
                set("file", file.as_ref());
                set("start", &(start as f64).into());
                set("end", &(end as f64).into());
                let answer = w.ask(m);
                Box::pin(async move {
                    answer
                        .await?
                        .as_string()
                        .ok_or_else(|| "the hashing worker gave no checksum".into())
                })
            }
            Via::Page(h) => Box::pin(async move {
                let mut at = start;
                while at < end {
                    let to = (at + CHUNK).min(end);
                    let buf = read(file, at, to).await?;
                    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                    h.borrow_mut()
                        .as_mut()
                        .ok_or("this file was hashed already")?
                        .update(&bytes);
                    at = to;
                }
                Ok(h.borrow_mut()
                    .as_mut()
                    .ok_or("this file was hashed already")?
                    .end_part())
            }),
        }
    }

    /// The file's SHA-256 (hex), once every part was fed.
    pub async fn finish(&self) -> Result<String, String> {
        self.finished.set(true);
        match &self.via {
            Via::Worker(w) => w
                .ask(msg("finish", self.id))
                .await?
                .as_string()
                .ok_or_else(|| "the hashing worker gave no SHA-256".into()),
            Via::Page(h) => Ok(h
                .borrow_mut()
                .take()
                .ok_or("this file was hashed already")?
                .finish()),
        }
    }
}

impl Drop for FileHash {
    fn drop(&mut self) {
        if let Via::Worker(w) = &self.via
            && !self.finished.get()
        {
            w.tell(msg("drop", self.id));
        }
    }
}

async fn read(file: &File, start: i64, end: i64) -> Result<js_sys::ArrayBuffer, String> {
    let blob = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|_| "the file could not be read".to_string())?;
    JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "the file could not be read (was it moved or changed?)".to_string())?
        .dyn_into()
        .map_err(|_| "the file could not be read".into())
}

//! The browser's reading and hashing of an upload (hydrate only), in two Web Workers that
//! run `public/hash-worker.js` with this same wasm module (nothing is downloaded or compiled
//! twice):
//!
//! - the **read worker** reads each part into one buffer and computes its checksum
//!   (CRC64NVME, signed into the part's URL and checked by S3); the buffer is handed to the
//!   page (transferred, not copied) and PUT as it is, so each byte is read once on the
//!   upload's critical path;
//! - the **SHA worker** computes the file's SHA-256 (and, in the same pass, its CRC64NVME,
//!   which binds that SHA-256 to the bytes S3 verified) when the vault records one. It reads
//!   the file on its own, at its own pace, and the engine holds it back whenever sending
//!   waits for reading: it never delays a PUT, and it may finish after the upload.
//!
//! Where no worker can start, the page does the same work itself.
use super::PartChecksum;
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

/// Bytes the SHA-256 pass reads at once.
const CHUNK: i64 = 16 * 1024 * 1024;

/// The checksum (`alg`: `CRC64NVME`, `CRC32` or `SHA256`, base64 as S3's headers carry it) of
/// one part's bytes. Exported to the read worker.
#[wasm_bindgen]
pub fn part_checksum(alg: &str, bytes: &[u8]) -> Result<String, JsValue> {
    PartChecksum::from_name(alg)
        .map(|a| a.of(bytes))
        .ok_or_else(|| JsValue::from_str("unknown checksum algorithm"))
}

/// The SHA-256 and the CRC64NVME of a whole file, fed in order. Exported to the SHA worker,
/// which drives it from JavaScript.
#[wasm_bindgen]
pub struct FileHasher {
    sha: Sha256,
    crc: crate::checksums::PartHasher,
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
            crc: PartChecksum::Crc64Nvme.hasher(),
        }
    }

    /// Feeds the file's next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.crc.update(bytes);
    }

    /// `<SHA-256, lowercase hex> <CRC64NVME, base64>`.
    pub fn finish(self) -> String {
        let sha: String = self
            .sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{sha} {}", self.crc.finish())
    }
}

/// A file's SHA-256 (hex) and the CRC64NVME (base64) of the same read.
#[derive(Clone, Debug, PartialEq)]
pub struct ShaSum {
    pub sha256: String,
    pub crc64nvme: String,
}

fn parse_finish(s: &str) -> Result<ShaSum, String> {
    let (sha, crc) = s
        .split_once(' ')
        .ok_or("the SHA worker gave no checksums")?;
    Ok(ShaSum {
        sha256: sha.into(),
        crc64nvme: crc.into(),
    })
}

// ---- the workers -------------------------------------------------------------------------

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
                    let _ = tx.send(Err("the upload worker stopped".into()));
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
    /// first answer is awaited.
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
                return Err("the upload worker could not be reached".into());
            }
            rx.await
                .unwrap_or_else(|_| Err("the upload worker stopped".into()))
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
}

/// Which worker: the read worker (parts for sending) or the SHA worker (background).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Read,
    Sha,
}

thread_local! {
    static WORKERS: RefCell<HashMap<Kind, (Rc<Worker>, WorkerState)>> = RefCell::new(HashMap::new());
    static FAILED: Cell<bool> = const { Cell::new(false) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// The worker of this kind, started (and checked to run) on first use; None where none can
/// run (the page then does the work).
async fn worker(kind: Kind) -> Option<Rc<Worker>> {
    loop {
        if FAILED.with(Cell::get) {
            return None;
        }
        let existing = WORKERS.with(|w| w.borrow().get(&kind).cloned());
        let w = match existing {
            Some((w, WorkerState::Ready)) => return Some(w),
            Some((w, _)) => w, // another caller is checking it: ask too
            None => match Worker::start() {
                Some(w) => {
                    WORKERS.with(|m| {
                        m.borrow_mut()
                            .insert(kind, (w.clone(), WorkerState::Unknown))
                    });
                    w
                }
                None => {
                    FAILED.with(|f| f.set(true));
                    return None;
                }
            },
        };
        let ok = w.ask(msg("ready", 0)).await.is_ok();
        let unknown = WORKERS.with(|m| {
            m.borrow()
                .get(&kind)
                .is_some_and(|(_, s)| *s == WorkerState::Unknown)
        });
        if unknown {
            if ok {
                WORKERS.with(|m| m.borrow_mut().insert(kind, (w, WorkerState::Ready)));
            } else {
                leptos::logging::warn!("uploads work on the page: a worker did not start");
                FAILED.with(|f| f.set(true));
                WORKERS.with(|m| m.borrow_mut().remove(&kind));
                w.worker.terminate();
            }
        }
    }
}

// ---- reading a part ------------------------------------------------------------------------

/// Bytes `[start, end)` of `file` read into one buffer, with their checksum (`alg`); with
/// `keep`, the buffer too (a part's PUT then sends it as it is). Read in the read worker (the
/// buffer is transferred, not copied) or, where none runs, on the page.
pub async fn read_part(
    file: &File,
    start: i64,
    end: i64,
    alg: PartChecksum,
    keep: bool,
) -> Result<(String, Option<js_sys::ArrayBuffer>), String> {
    if let Some(w) = worker(Kind::Read).await {
        let m = msg("read", 0);
        let set = |k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(&m, &k.into(), v);
        };
        set("file", file.as_ref());
        set("start", &(start as f64).into());
        set("end", &(end as f64).into());
        set("alg", &alg.name().into());
        set("keep", &keep.into());
        let v = w.ask(m).await?;
        let get = |k: &str| js_sys::Reflect::get(&v, &k.into()).unwrap_or_default();
        let sum = get("sum")
            .as_string()
            .ok_or("the read worker gave no checksum")?;
        let buf = if keep {
            Some(
                get("buf")
                    .dyn_into::<js_sys::ArrayBuffer>()
                    .map_err(|_| "the read worker gave no bytes".to_string())?,
            )
        } else {
            None
        };
        return Ok((sum, buf));
    }
    let buf = read(file, start, end).await?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    Ok((alg.of(&bytes), keep.then_some(buf)))
}

// ---- one file's SHA-256 --------------------------------------------------------------------

enum Via {
    Worker(Rc<Worker>),
    Page(Box<RefCell<Option<FileHasher>>>),
}

/// One file's SHA-256 (and CRC64NVME of the same read): ranges are fed in order, then
/// `finish` gives both. Dropping it early (a cancelled upload) frees the worker's state.
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
        let via = match worker(Kind::Sha).await {
            Some(w) => Via::Worker(w),
            None => Via::Page(Box::new(RefCell::new(Some(FileHasher::new())))),
        };
        FileHash {
            id,
            via,
            finished: Cell::new(false),
        }
    }

    /// Feeds bytes `[start, end)` of `file` (the next range).
    pub fn feed<'a>(
        &'a self,
        file: &'a File,
        start: i64,
        end: i64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + 'a>> {
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
                Box::pin(async move { answer.await.map(|_| ()) })
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
                Ok(())
            }),
        }
    }

    /// The file's SHA-256 and CRC64NVME, once every range was fed.
    pub async fn finish(&self) -> Result<ShaSum, String> {
        self.finished.set(true);
        match &self.via {
            Via::Worker(w) => parse_finish(
                &w.ask(msg("finish", self.id))
                    .await?
                    .as_string()
                    .ok_or("the SHA worker gave no checksums")?,
            ),
            Via::Page(h) => parse_finish(
                &h.borrow_mut()
                    .take()
                    .ok_or("this file was hashed already")?
                    .finish(),
            ),
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

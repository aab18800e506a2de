//! What the engine asks of the browser: time and sleep, the page's JS helpers (previews),
//! IndexedDB (so a reload finds its uploads), the file pickers and drops, local settings.
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

pub(crate) const PARALLEL_KEY: &str = "nexus.upload.parallel";

pub(crate) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

pub(crate) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

fn helpers() -> Option<JsValue> {
    let w = web_sys::window()?;
    js_sys::Reflect::get(&w, &"nexusUploads".into())
        .ok()
        .filter(|v| !v.is_undefined())
}

pub(crate) fn call_helper(name: &str, arg: &JsValue) -> Option<js_sys::Promise> {
    let h = helpers()?;
    let f: js_sys::Function = js_sys::Reflect::get(&h, &name.into())
        .ok()?
        .dyn_into()
        .ok()?;
    f.call1(&h, arg).ok()?.dyn_into().ok()
}

/// Makes and stores an image's preview (best effort: a file the browser cannot draw has
/// none). Awaited before the file shows as uploaded, so the list that refreshes next has it.
pub(crate) async fn store_thumb(file: &File, file_id: &str) {
    let arg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&arg, &"file".into(), file);
    let _ = js_sys::Reflect::set(&arg, &"fileId".into(), &file_id.into());
    if let Some(p) = call_helper("storeThumb", &arg) {
        let _ = JsFuture::from(p).await;
    }
}

pub(crate) fn idb_delete(upload_id: &str) {
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

//! The uploader: pick or drop a file, watch it go straight to S3, see it listed.
use super::Meter;
use crate::format;
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    Preparing,
    Uploading,
    Verifying,
    Done,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct UploadView {
    pub name: String,
    pub phase: Phase,
    pub meter: Meter,
}

#[component]
pub fn Uploader(
    vault_id: String,
    /// The current upload, kept by the page so it outlives a re-render of the uploader.
    state: RwSignal<Option<UploadView>>,
    on_done: Callback<()>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let busy = move || {
        state.with(|s| {
            s.as_ref().is_some_and(|u| {
                matches!(
                    u.phase,
                    Phase::Preparing | Phase::Uploading | Phase::Verifying
                )
            })
        })
    };

    #[cfg(feature = "hydrate")]
    let start = {
        let vault_id = vault_id.clone();
        move |file: web_sys::File| {
            if busy() {
                return;
            }
            super::engine::start(vault_id.clone(), file, state, on_done);
        }
    };
    #[cfg(feature = "hydrate")]
    let start_dropped = start.clone();
    #[cfg(not(feature = "hydrate"))]
    let _ = (&vault_id, on_done);

    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: web_sys::HtmlInputElement = _ev.target().unwrap().unchecked_into();
            if let Some(file) = input.files().and_then(|l| l.get(0)) {
                start(file);
            }
            input.set_value("");
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0))
        {
            start_dropped(file);
        }
    };

    view! {
        <div class="uploader" role="region" aria-label="Upload a file" class:dragging=move || dragging.get()
            on:dragover=move |ev| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <p>"Drop a file here, or"</p>
            <label class="button" class:disabled=busy>
                "Choose a file"
                <input type="file" class="visually-hidden" on:change=on_change disabled=busy />
            </label>
            <p class="hint">"Files go straight from your browser to storage, in parts, and are checked when complete."</p>
        </div>
        {move || state.get().map(|u| view! { <UploadRow u=u /> })}
    }
}

#[component]
fn UploadRow(u: UploadView) -> impl IntoView {
    let pct = u.meter.percent();
    let bytes = format!(
        "{} of {}",
        format::bytes(u.meter.done),
        format::bytes(u.meter.total)
    );
    let detail = match &u.phase {
        Phase::Idle | Phase::Preparing => "Preparing…".to_string(),
        Phase::Uploading => {
            let mut s = bytes.clone();
            if let Some(sp) = u.meter.speed() {
                s.push_str(&format!(" · {}", format::speed(sp)));
            }
            if let Some(left) = u.meter.seconds_left() {
                s.push_str(&format!(" · {} left", format::duration_s(left)));
            }
            s
        }
        Phase::Verifying => "Checking the stored file…".to_string(),
        Phase::Done => format!("Uploaded · {}", format::bytes(u.meter.total)),
        Phase::Failed(why) => format!("Upload failed: {why}"),
    };
    let failed = matches!(u.phase, Phase::Failed(_));
    let label = format!("Upload of {}", u.name);
    view! {
        <div class="upload-row" class:failed=failed>
            <div class="upload-name">{u.name.clone()}</div>
            <div class="progress" role="progressbar" aria-label=label
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")
                aria-valuetext=format!("{pct:.0}% — {bytes}")>
                <div class="progress-bar" style=format!("width: {pct:.2}%")></div>
            </div>
            <div class="upload-detail" role=if failed { "alert" } else { "status" } aria-live="polite">
                {detail}
            </div>
        </div>
    }
}

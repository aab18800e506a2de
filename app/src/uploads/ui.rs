//! The uploader: pick files or a folder, or drop them; a queue shows each file's state and the
//! total; files go straight to S3 in parallel parts; interrupted uploads from an earlier visit
//! are listed and continue when the same file is picked again.
use super::OnDuplicate;
use super::queue::{Item, Phase, Queue};
use crate::format;
use leptos::prelude::*;

/// The page's upload queue, with the engine's page-wide hooks (the tab title, the "leave the
/// page?" guard) installed for as long as it lives.
pub fn page_queue() -> Queue {
    let q = Queue::new();
    #[cfg(feature = "hydrate")]
    super::engine::install(q);
    q
}

/// At most this many rows are drawn; the summary counts the rest.
const ROWS_SHOWN: usize = 200;

#[component]
pub fn Uploader(
    vault_id: String,
    queue: Queue,
    /// Runs when files have landed (the page refreshes its list).
    on_done: Callback<()>,
    /// The folder files go into ('' is the vault's top level); picked folders go inside it.
    #[prop(into)]
    base: Signal<String>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);

    #[cfg(feature = "hydrate")]
    {
        super::engine::mount(queue, vault_id.clone());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (&vault_id, on_done, base);

    #[cfg(feature = "hydrate")]
    let add = {
        let vault_id = vault_id.clone();
        move |files: Vec<(web_sys::File, String)>| {
            let base = base.get_untracked();
            let files = files
                .into_iter()
                .map(|(f, p)| match (base.is_empty(), p.is_empty()) {
                    (true, _) => (f, p),
                    (false, true) => (f, base.clone()),
                    (false, false) => (f, format!("{base}/{p}")),
                })
                .collect();
            super::engine::add_files(queue, vault_id.clone(), files, on_done)
        }
    };
    #[cfg(feature = "hydrate")]
    let (add_picked, add_dropped, add_early) = (add.clone(), add.clone(), add);

    // Files picked before the page came alive (a slow connection, a quick hand) are in the
    // inputs already, and their change event is gone: take them up once hydrated.
    let files_input = NodeRef::<leptos::html::Input>::new();
    let folder_input = NodeRef::<leptos::html::Input>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        for input in [files_input.get(), folder_input.get()]
            .into_iter()
            .flatten()
        {
            if input.files().is_some_and(|f| f.length() > 0) {
                add_early(super::engine::picked_files(&input));
                input.set_value("");
            }
        }
    });

    let on_pick = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: web_sys::HtmlInputElement = _ev.target().unwrap().unchecked_into();
            add_picked(super::engine::picked_files(&input));
            input.set_value("");
        }
    };
    // A copy for the second input (the closure is Copy only without the browser engine).
    #[allow(clippy::clone_on_copy)]
    let on_pick_files = on_pick.clone();
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(dt) = ev.data_transfer() {
            super::engine::dropped_files(dt, add_dropped.clone());
        }
    };
    let on_parallel = move |ev: leptos::ev::Event| {
        if let Ok(n) = event_target_value(&ev).parse::<usize>() {
            queue.parallel.set(n.clamp(1, 16));
            #[cfg(feature = "hydrate")]
            super::engine::save_parallel(n);
        }
    };

    view! {
        <div class="uploader" role="region" aria-label="Upload files" class:dragging=move || dragging.get()
            on:dragover=move |ev| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <p>{move || base.with(|b| if b.is_empty() {
                "Drop files or folders here, or".to_string()
            } else {
                format!("Drop files or folders here to upload into “{b}”, or")
            })}</p>
            <div class="pick">
                <label class="button">
                    "Choose files"
                    <input type="file" multiple class="visually-hidden" data-testid="pick-files" node_ref=files_input on:change=on_pick_files />
                </label>
                <label class="button secondary">
                    "Choose a folder"
                    <input type="file" multiple prop:webkitdirectory=true class="visually-hidden" data-testid="pick-folder" node_ref=folder_input on:change=on_pick />
                </label>
            </div>
            <p class="hint">
                "Files go straight from your browser to storage, in parts that are checked on arrival. "
                <label>
                    "Parallel parts "
                    <select on:change=on_parallel prop:value=move || queue.parallel.get().to_string()>
                        {[1usize, 2, 4, 6, 8, 12].into_iter().map(|n| view! {
                            <option value=n.to_string() selected=move || queue.parallel.get() == n>{n.to_string()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </p>
        </div>
        <Interrupted queue=queue />
        <QueueView queue=queue />
    }
}

/// Unfinished uploads from an earlier visit: pick the same file again to continue.
#[component]
fn Interrupted(queue: Queue) -> impl IntoView {
    move || {
        let open = queue.open.get();
        (!open.is_empty()).then(|| {
            view! {
                <div class="interrupted" role="region" aria-labelledby="interrupted-heading">
                    <h3 id="interrupted-heading">"Interrupted uploads"</h3>
                    <p class="muted">"Choose or drop the same files again and they continue where they stopped; only the missing parts are sent."</p>
                    <ul>
                        {open.into_iter().map(|u| {
                            let pct = if u.size > 0 { u.bytes_stored as f64 * 100.0 / u.size as f64 } else { 0.0 };
                            let label = format!("Cancel the upload of {}", u.name);
                            let path = if u.folder_path.is_empty() { u.name.clone() } else { format!("{}/{}", u.folder_path, u.name) };
                            let id = u.upload_id.clone();
                            view! {
                                <li>
                                    <span class="upload-name">{path}</span>
                                    <span class="muted">{format!(" · {} of {} stored ({pct:.0}%)", format::bytes(u.bytes_stored), format::bytes(u.size))}</span>
                                    <button type="button" class="link" aria-label=label on:click=move |_| {
                                        #[cfg(feature = "hydrate")]
                                        super::engine::discard_open(queue, id.clone());
                                        #[cfg(not(feature = "hydrate"))]
                                        let _ = &id;
                                    }>"Cancel"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

#[component]
fn QueueView(queue: Queue) -> impl IntoView {
    let summary = move || {
        let (open, all) = queue.counts();
        (all > 0).then(|| {
            let m = queue.total.get();
            let pct = m.percent();
            let mut s = format!(
                "{} of {} · {} of {}",
                all - open,
                format::count(all as i64, "file", "files"),
                format::bytes(m.done),
                format::bytes(m.total)
            );
            let failed = queue.failed();
            if failed > 0 {
                s.push_str(&format!(" · {failed} failed"));
            }
            if open > 0 {
                if let Some(sp) = m.speed() {
                    s.push_str(&format!(" · {}", format::speed(sp)));
                }
                if let Some(left) = m.seconds_left() {
                    s.push_str(&format!(" · {} left", format::duration_s(left)));
                }
            }
            let more = all.saturating_sub(ROWS_SHOWN);
            view! {
                <div class="queue-summary">
                    <div class="progress" role="progressbar" aria-label="All uploads"
                        aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")
                        aria-valuetext=format!("{pct:.0}% — {s}")>
                        <div class="progress-bar" style=format!("width: {pct:.2}%")></div>
                    </div>
                    <div class="queue-line">
                        <span role="status" aria-live="polite" data-testid="queue-status">
                            {if open > 0 { format!("Uploading · {s}") } else { format!("Finished · {s}") }}
                        </span>
                        {(open > 0).then(|| view! {
                            <span class="queue-actions">
                                <button type="button" class="link" on:click=move |_| {
                                    #[cfg(feature = "hydrate")]
                                    super::engine::pause_all(queue);
                                }>"Pause all"</button>
                                <button type="button" class="link" on:click=move |_| {
                                    #[cfg(feature = "hydrate")]
                                    super::engine::resume_all(queue);
                                }>"Resume all"</button>
                                <button type="button" class="link danger" on:click=move |_| {
                                    #[cfg(feature = "hydrate")]
                                    super::engine::cancel_all(queue);
                                }>"Cancel all"</button>
                            </span>
                        })}
                    </div>
                    {(more > 0).then(|| view! { <p class="muted">{format!("Showing the first {ROWS_SHOWN}; {more} more in the queue.")}</p> })}
                </div>
            }
        })
    };
    view! {
        {summary}
        <ul class="queue" aria-label="Upload queue">
            <For each=move || queue.items.get().into_iter().take(ROWS_SHOWN) key=|i| i.key let:item>
                <ItemRow item=item />
            </For>
        </ul>
    }
}

#[component]
fn ItemRow(item: Item) -> impl IntoView {
    let Item {
        key,
        name,
        folder_path,
        phase,
        meter,
        ..
    } = item;
    let shown = if folder_path.is_empty() {
        name.clone()
    } else {
        format!("{folder_path}/{name}")
    };
    let label = format!("Upload of {shown}");
    let detail = move || {
        let m = meter.get();
        let bytes = format!("{} of {}", format::bytes(m.done), format::bytes(m.total));
        match phase.get() {
            Phase::Queued => "Waiting…".to_string(),
            Phase::Hashing => "Reading the file…".to_string(),
            Phase::Uploading => {
                let mut s = bytes;
                if let Some(sp) = m.speed() {
                    s.push_str(&format!(" · {}", format::speed(sp)));
                }
                if let Some(left) = m.seconds_left() {
                    s.push_str(&format!(" · {} left", format::duration_s(left)));
                }
                s
            }
            Phase::Retrying(why) => format!("{bytes} · retrying ({why})"),
            Phase::Paused => format!("Paused · {bytes}"),
            Phase::Verifying => "Checking the stored file…".to_string(),
            Phase::Duplicate(other) => {
                format!("“{other}” in this folder has the same content.")
            }
            Phase::Done(stored) if stored != name => {
                format!("Uploaded as “{stored}” · {}", format::bytes(m.total))
            }
            Phase::Done(_) => format!("Uploaded · {}", format::bytes(m.total)),
            Phase::Skipped => "Skipped (already here)".to_string(),
            Phase::Cancelled => "Cancelled".to_string(),
            Phase::Failed(why) => format!("Upload failed: {why}"),
        }
    };
    let failed = move || matches!(phase.get(), Phase::Failed(_));
    let pct = move || meter.with(|m| m.percent());
    let _ = key;
    view! {
        <li class="upload-row" class:failed=failed data-state=move || format!("{:?}", phase.get()).split('(').next().unwrap_or("").to_lowercase()>
            <div class="upload-name">{shown.clone()}</div>
            <div class="progress" role="progressbar" aria-label=label.clone()
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || format!("{:.0}", pct())>
                <div class="progress-bar" style=move || format!("width: {:.2}%", pct())></div>
            </div>
            <div class="upload-line">
                <span class="upload-detail" role=move || if failed() { "alert" } else { "status" } aria-live="polite">{detail}</span>
                <ItemActions key=key phase=phase name=shown />
            </div>
        </li>
    }
}

#[component]
fn ItemActions(key: u64, phase: RwSignal<Phase>, name: String) -> impl IntoView {
    let act = move |what: &'static str| {
        #[cfg(feature = "hydrate")]
        super::engine::act(key, what);
        #[cfg(not(feature = "hydrate"))]
        let _ = (key, what);
    };
    let choose = move |c: Option<OnDuplicate>| {
        #[cfg(feature = "hydrate")]
        {
            let all = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&format!("dup-all-{key}")))
                .map(|e| {
                    wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlInputElement>(e).checked()
                })
                .unwrap_or(false);
            super::engine::choose_duplicate(key, c, all);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = c;
    };
    move || {
        let n = name.clone();
        match phase.get() {
            Phase::Duplicate(_) => view! {
                <span class="actions dup" role="group" aria-label=format!("What to do with {n}")>
                    <button type="button" on:click=move |_| choose(None)>"Skip"</button>
                    <button type="button" on:click=move |_| choose(Some(OnDuplicate::KeepBoth))>"Keep both"</button>
                    <button type="button" on:click=move |_| choose(Some(OnDuplicate::Replace))>"Replace"</button>
                    <label><input type="checkbox" id=format!("dup-all-{key}") />" for all duplicates"</label>
                </span>
            }.into_any(),
            Phase::Paused => view! {
                <span class="actions">
                    <button type="button" class="link" aria-label=format!("Resume {n}") on:click=move |_| act("resume")>"Resume"</button>
                    <button type="button" class="link danger" aria-label=format!("Cancel {n}") on:click=move |_| act("cancel")>"Cancel"</button>
                </span>
            }.into_any(),
            Phase::Failed(why) => view! {
                <span class="actions">
                    // A plan's limit (storage, paused uploads): the way to the plans.
                    {(why.contains(" plan") || why.contains("Uploads are paused")).then(|| view! {
                        <a href="/billing">"See the plans"</a>
                    })}
                    <button type="button" class="link" aria-label=format!("Retry {n}") on:click=move |_| act("retry")>"Retry"</button>
                    <button type="button" class="link danger" aria-label=format!("Cancel {n}") on:click=move |_| act("cancel")>"Cancel"</button>
                </span>
            }.into_any(),
            p if p.unfinished() => view! {
                <span class="actions">
                    <button type="button" class="link" aria-label=format!("Pause {n}") on:click=move |_| act("pause")>"Pause"</button>
                    <button type="button" class="link danger" aria-label=format!("Cancel {n}") on:click=move |_| act("cancel")>"Cancel"</button>
                </span>
            }.into_any(),
            _ => ().into_any(),
        }
    }
}

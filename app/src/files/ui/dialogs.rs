//! The bulk bar's dialogs: move, delete (with the early-deletion fee), download links,
//! rename, new folder, change storage class.
use super::rows::Row;
use crate::components::{ErrorNote, LinkList};
use crate::error::AppError;
use crate::files::api::{
    create_folder, deletion_fee, download_links, find_folders, rename_file, rename_folder,
    trash_items,
};
use crate::files::{BulkOutcome, Selection, TRASH_DAYS, class_label};
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;

#[component]
pub(crate) fn MoveDialog(
    vault_id: String,
    open: RwSignal<bool>,
    on_move: Callback<String>,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let vid = vault_id.clone();
    let found = Resource::new(move || text.get(), move |t| find_folders(vid.clone(), t));
    view! {
        <form class="dialog-body" on:submit=move |ev| {
            ev.prevent_default();
            on_move.run(text.get_untracked().trim().trim_matches('/').to_string());
            open.set(false);
        }>
            <h2>"Move to a folder"</h2>
            <label>"Folder (empty for the vault's top level)"
                <input type="text" list="folder-choices" autofocus prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev)) placeholder="e.g. Photos/2024" />
            </label>
            <datalist id="folder-choices">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        found.await.unwrap_or_default().into_iter().map(|f| view! { <option value=f.path.clone()></option> }).collect_view()
                    })}
                </Transition>
            </datalist>
            <div class="dialog-actions">
                <button type="submit">"Move here"</button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
pub(crate) fn DeleteDialog(
    selection: Signal<Selection>,
    count: Signal<i64>,
    open: RwSignal<bool>,
    on_done: Callback<Result<BulkOutcome, AppError>>,
) -> impl IntoView {
    let sel = selection.get_untracked();
    let fee = Resource::new(|| (), move |_| deletion_fee(sel.clone()));
    let busy = RwSignal::new(false);
    view! {
        <div class="dialog-body">
            <h2>{move || format!("Delete {}?", format::count(count.get(), "item", "items"))}</h2>
            <p>{format!("They go to the trash, where they can be brought back for {TRASH_DAYS} days; then they are deleted for good.")}</p>
            <Transition fallback=|| view! { <p class="muted">"Checking for early-deletion fees…"</p> }>
                {move || Suspend::new(async move {
                    match fee.await {
                        Ok(0) => view! { <p class="muted">"No early-deletion fee applies."</p> }.into_any(),
                        Ok(m) => view! { <p class="warning" role="alert">{format!("Some of these are in archive classes with a minimum storage time: deleting them now incurs an early-deletion fee of about {}.", dollars(m))}</p> }.into_any(),
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                    }
                })}
            </Transition>
            <div class="dialog-actions">
                <button type="button" class="danger" disabled=move || busy.get() on:click=move |_| {
                    busy.set(true);
                    let sel = selection.get_untracked();
                    leptos::task::spawn_local(async move {
                        let r = trash_items(sel).await;
                        open.set(false);
                        on_done.run(r);
                    });
                }>"Move to trash"</button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </div>
    }
}

#[component]
pub(crate) fn DownloadDialog(selection: Signal<Selection>) -> impl IntoView {
    let sel = selection.get_untracked();
    let links = Resource::new(|| (), move |_| download_links(sel.clone()));
    view! {
        <div class="dialog-body">
            <h2>"Download"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Preparing links…"</p> }>
                {move || Suspend::new(async move {
                    match links.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(list) => view! { <LinkList links=list /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
pub(crate) fn RenameDialog(
    target: RwSignal<Option<Row>>,
    open: RwSignal<bool>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let name = RwSignal::new(
        target
            .get_untracked()
            .map(|r| r.name().to_string())
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    view! {
        <form class="dialog-body" on:submit=move |ev| {
            ev.prevent_default();
            let Some(row) = target.get_untracked() else { return };
            let new = name.get_untracked();
            leptos::task::spawn_local(async move {
                let r = match row {
                    Row::File(f) => rename_file(f.id, new).await.map(|_| ()),
                    Row::Folder(d) => rename_folder(d.id, new).await.map(|_| ()),
                };
                match r {
                    Ok(()) => { open.set(false); version.update(|v| *v += 1); }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }>
            <h2>"Rename"</h2>
            <label>"New name"
                <input type="text" autofocus prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="dialog-actions">
                <button type="submit">"Rename"</button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
pub(crate) fn NewFolderDialog(
    vault_id: String,
    parent: String,
    open: RwSignal<bool>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let (vid, par) = (StoredValue::new(vault_id), StoredValue::new(parent));
    view! {
        <form class="dialog-body" on:submit=move |ev| {
            ev.prevent_default();
            let n = name.get_untracked();
            leptos::task::spawn_local(async move {
                match create_folder(vid.get_value(), par.get_value(), n).await {
                    Ok(_) => { open.set(false); name.set(String::new()); version.update(|v| *v += 1); }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }>
            <h2>"New folder"</h2>
            <label>"Folder name"
                <input type="text" autofocus prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="dialog-actions">
                <button type="submit">"Create folder"</button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

/// Choose a storage class for the selection: per class, its price, minimum duration and how
/// files come back, and what this selection would cost there a month and in fees now.
#[component]
pub(crate) fn ClassDialog(
    selection: Signal<Selection>,
    open: RwSignal<bool>,
    on_done: Callback<Result<BulkOutcome, AppError>>,
) -> impl IntoView {
    let sel = selection.get_untracked();
    let preview = Resource::new(
        || (),
        move |_| crate::files::api::class_preview(sel.clone()),
    );
    let choice = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    view! {
        <form class="dialog-body wide" on:submit=move |ev| {
            ev.prevent_default();
            let to = choice.get_untracked();
            if to.is_empty() { return; }
            busy.set(true);
            let sel = selection.get_untracked();
            leptos::task::spawn_local(async move {
                let r = crate::files::api::change_class(sel, to).await;
                open.set(false);
                on_done.run(r);
            });
        }>
            <h2>"Change storage class"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Pricing the selection…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(p) => view! {
                            <p>{format!("{} · {} · now {} a month.", format::count(p.files, "file", "files"), format::bytes(p.bytes), dollars(p.monthly_now_micros))}</p>
                            {(p.stuck > 0).then(|| view! { <p class="warning">{format!("{} archived and must be restored before it can change class; it stays where it is.", format::count(p.stuck, "file is", "files are"))}</p> })}
                            <fieldset class="class-choice">
                                <legend class="visually-hidden">"Storage class"</legend>
                                <table class="files">
                                    <thead><tr>
                                        <th scope="col">"Class"</th>
                                        <th scope="col" class="num">"Per GB-month"</th>
                                        <th scope="col">"Minimum"</th>
                                        <th scope="col">"Getting files back"</th>
                                        <th scope="col" class="num">"This selection a month"</th>
                                        <th scope="col" class="num">"Fee now"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.options.into_iter().map(|o| {
                                            let c = o.class.clone();
                                            let id = format!("class-{}", o.class.to_lowercase());
                                            view! {
                                                <tr>
                                                    <th scope="row">
                                                        <input type="radio" name="class" id=id.clone() value=o.class.clone()
                                                            on:change=move |_| choice.set(c.clone()) />
                                                        <label for=id>{class_label(&o.class)}</label>
                                                    </th>
                                                    <td class="num">{format!("${:.5}", o.storage_micros_gb_month as f64 / 1e6)}</td>
                                                    <td>{if o.min_storage_days == 0 { "none".to_string() } else { format!("{} days", o.min_storage_days) }}</td>
                                                    <td>{o.retrieval.clone()}</td>
                                                    <td class="num">{dollars(o.monthly_after_micros)}</td>
                                                    <td class="num">{if o.fee_micros == 0 { "—".to_string() } else { dollars(o.fee_micros) }}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </fieldset>
                        }.into_any(),
                    }
                })}
            </Transition>
            <div class="dialog-actions">
                <button type="submit" disabled=move || busy.get() || choice.with(|c| c.is_empty())>
                    {move || if choice.with(|c| c.is_empty()) { "Choose a class".to_string() } else { format!("Move to {}", class_label(&choice.get())) }}
                </button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

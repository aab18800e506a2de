//! The listing: folders first, sortable columns, pages loaded on demand; selection
//! (click, shift-click, ctrl/cmd-click, all matching), the bulk bar, drag onto a folder,
//! and the keyboard (arrows, Home/End, Enter, Space, Delete, `/`).
use super::details::DetailsPanel;
use super::dialogs::{
    ClassDialog, DeleteDialog, DownloadDialog, MoveDialog, NewFolderDialog, RenameDialog,
};
use super::navigation::{Breadcrumbs, SearchForm};
use super::rows::{ListRow, Row, details_href, rows_of};
use crate::components::{ErrorNote, Modal};
use crate::error::AppError;
use crate::files::api::{get_bulk_op, list_page};
use crate::files::{BulkOutcome, ListQuery, Page, Selection, Sort};
use crate::format;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use std::collections::HashSet;

/// The browser for one view. `first` is the view's first page (rendered on the server).
#[component]
pub fn Listing(
    query: ListQuery,
    page: Page,
    #[prop(into)] vault_name: Signal<String>,
    /// Whether the asker may change files here (viewers are offered no "New folder").
    #[prop(optional, into)]
    can_change: Option<Signal<bool>>,
    /// Bumped to refetch (after a change).
    version: RwSignal<u32>,
    /// The file whose details are open (from the URL).
    #[prop(into)]
    details: Signal<Option<String>>,
    /// What the last action did, and a background job's progress: owned by the page, since
    /// the listing renders anew after each change.
    notice: RwSignal<Option<String>>,
    progress: RwSignal<Option<crate::files::BulkOp>>,
) -> impl IntoView {
    let rows = RwSignal::new(rows_of(&page));
    let next = RwSignal::new(page.next.clone());
    let folder_count = page.folder_count.unwrap_or_default();
    let file_count = page.file_count.unwrap_or_default();
    let selected = RwSignal::new(HashSet::<String>::new());
    let anchor = RwSignal::new(None::<usize>);
    let all_matching = RwSignal::new(false);
    let focus = RwSignal::new(0usize);
    let failure = RwSignal::new(None::<AppError>);
    let class_open = RwSignal::new(false);
    let restore_open = RwSignal::new(false);
    let (move_open, delete_open, download_open, rename_open, folder_open) = (
        RwSignal::new(false),
        RwSignal::new(false),
        RwSignal::new(false),
        RwSignal::new(false),
        RwSignal::new(false),
    );
    // Set when a drag or a single row's action names the items, instead of the selection.
    let acting_on = RwSignal::new(None::<Selection>);
    let rename_target = RwSignal::new(None::<Row>);
    let q = StoredValue::new(query.clone());
    let navigate = use_navigate();

    let load_more = Action::new(move |cursor: &String| {
        let cursor = cursor.clone();
        let query = q.get_value();
        async move { list_page(query, Some(cursor), None).await }
    });
    Effect::new(move |_| {
        if let Some(r) = load_more.value().get() {
            match r {
                Ok(p) => {
                    rows.update(|rs| rs.extend(rows_of(&p)));
                    next.set(p.next);
                }
                Err(e) => failure.set(Some(e)),
            }
        }
    });

    let selection = move || -> Selection {
        if let Some(s) = acting_on.get_untracked() {
            return s;
        }
        let keys = selected.get_untracked();
        let mut sel = Selection {
            vault_id: q.with_value(|q| q.vault_id.clone()),
            ..Default::default()
        };
        if all_matching.get_untracked() {
            sel.all_matching = Some(q.get_value());
            // The view's files all count; picked folders still go by id.
            sel.folder_ids = keys
                .iter()
                .filter_map(|k| k.strip_prefix("d:").map(str::to_string))
                .collect();
            let loaded: HashSet<String> = rows.with_untracked(|rs| {
                rs.iter()
                    .filter_map(|r| match r {
                        Row::File(f) => Some(f.id.clone()),
                        _ => None,
                    })
                    .collect()
            });
            sel.except = loaded
                .into_iter()
                .filter(|id| !keys.contains(&format!("f:{id}")))
                .collect();
            return sel;
        }
        for k in keys {
            if let Some(id) = k.strip_prefix("f:") {
                sel.file_ids.push(id.to_string());
            } else if let Some(id) = k.strip_prefix("d:") {
                sel.folder_ids.push(id.to_string());
            }
        }
        sel
    };
    let count_selected = move || {
        if all_matching.get() {
            let unpicked = rows.with(|rs| {
                rs.iter()
                    .filter(|r| {
                        matches!(r, Row::File(_)) && !selected.with(|s| s.contains(&r.key()))
                    })
                    .count()
            }) as i64;
            let folders =
                selected.with(|s| s.iter().filter(|k| k.starts_with("d:")).count()) as i64;
            file_count - unpicked + folders
        } else {
            selected.with(|s| s.len()) as i64
        }
    };

    // After a change: a queued job is followed until it ends; then the list refetches.
    let finish = move |r: Result<BulkOutcome, AppError>, what: &'static str| match r {
        Ok(BulkOutcome::Done { files, folders }) => {
            let mut parts = vec![];
            if files > 0 {
                parts.push(format::count(files, "file", "files"));
            }
            if folders > 0 {
                parts.push(format::count(folders, "folder", "folders"));
            }
            notice.set(Some(format!(
                "{} {what}.",
                if parts.is_empty() {
                    "Nothing".to_string()
                } else {
                    parts.join(" and ")
                }
            )));
            acting_on.set(None);
            version.update(|v| *v += 1);
        }
        Ok(BulkOutcome::Queued { op_id, total }) => {
            notice.set(Some(format!(
                "Working on {} in the background…",
                format::count(total, "file", "files")
            )));
            acting_on.set(None);
            follow_op(op_id, progress, notice, version);
        }
        Err(e) => failure.set(Some(e)),
    };

    let move_to = move |to: String| {
        let sel = selection();
        leptos::task::spawn_local(async move {
            finish(crate::files::api::move_items(sel, to).await, "moved");
        });
    };
    let on_drop_to = Callback::new(move |to: String| move_to(to));

    // Clicks: plain selects one, ctrl/cmd toggles, shift selects the range from the anchor.
    let click_row = move |i: usize, shift: bool, toggle: bool| {
        let key = rows.with_untracked(|rs| rs.get(i).map(Row::key));
        let Some(key) = key else { return };
        focus.set(i);
        if shift && let Some(a) = anchor.get_untracked() {
            let (lo, hi) = (a.min(i), a.max(i));
            let keys: Vec<String> = rows
                .with_untracked(|rs| rs[lo..=hi.min(rs.len() - 1)].iter().map(Row::key).collect());
            selected.update(|s| {
                if !toggle {
                    s.clear();
                }
                s.extend(keys)
            });
            return;
        }
        if toggle {
            selected.update(|s| {
                if !s.remove(&key) {
                    s.insert(key);
                }
            });
        } else {
            selected.update(|s| {
                s.clear();
                s.insert(key);
            });
            all_matching.set(false);
        }
        anchor.set(Some(i));
    };

    let open_row = {
        let navigate = navigate.clone();
        move |i: usize| {
            let row = rows.with_untracked(|rs| rs.get(i).cloned());
            match row {
                Some(Row::Folder(d)) => {
                    let to = ListQuery {
                        vault_id: q.with_value(|q| q.vault_id.clone()),
                        path: d.path,
                        sort: q.with_value(|q| q.sort),
                        desc: q.with_value(|q| q.desc),
                        ..Default::default()
                    };
                    navigate(&to.href(), Default::default());
                }
                Some(Row::File(f)) => {
                    navigate(&details_href(&q.get_value(), &f.id), Default::default())
                }
                None => {}
            }
        }
    };

    let on_keydown = {
        let open_row = open_row.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            let n = rows.with_untracked(|rs| rs.len());
            if n == 0 {
                return;
            }
            let i = focus.get_untracked().min(n - 1);
            let go = |j: usize| {
                focus.set(j);
                focus_row(j);
            };
            match ev.key().as_str() {
                "ArrowDown" => {
                    ev.prevent_default();
                    let j = (i + 1).min(n - 1);
                    if ev.shift_key() {
                        let k = rows.with_untracked(|rs| rs[j].key());
                        selected.update(|s| {
                            s.insert(k);
                        });
                    }
                    go(j);
                }
                "ArrowUp" => {
                    ev.prevent_default();
                    let j = i.saturating_sub(1);
                    if ev.shift_key() {
                        let k = rows.with_untracked(|rs| rs[j].key());
                        selected.update(|s| {
                            s.insert(k);
                        });
                    }
                    go(j);
                }
                "Home" => {
                    ev.prevent_default();
                    go(0);
                }
                "End" => {
                    ev.prevent_default();
                    go(n - 1);
                }
                " " => {
                    ev.prevent_default();
                    click_row(i, false, true);
                }
                "Enter" => {
                    ev.prevent_default();
                    open_row(i);
                }
                "Delete" | "Backspace" => {
                    ev.prevent_default();
                    if selected.with_untracked(|s| s.is_empty()) {
                        click_row(i, false, false);
                    }
                    delete_open.set(true);
                }
                "a" if ev.ctrl_key() || ev.meta_key() => {
                    ev.prevent_default();
                    let keys: Vec<String> =
                        rows.with_untracked(|rs| rs.iter().map(Row::key).collect());
                    selected.update(|s| s.extend(keys));
                }
                "Escape" => selected.update(|s| s.clear()),
                _ => {}
            }
        }
    };

    // `/` anywhere on the page (outside a text field) goes to the search box.
    // The details panel is drawn in the browser only, once the page is live (effects never
    // run on the server). Rendered on the server too, a page opened at a file's details
    // (`?file=…`, a link people share) failed to hydrate now and then ("expected a marker
    // node" at the panel's close link) and the whole page stopped answering.
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    // Escape closes the details panel (when no dialog has it).
    #[cfg(feature = "hydrate")]
    {
        let navigate = navigate.clone();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape"
                && !ev.default_prevented()
                && details.with_untracked(|d| d.is_some())
            {
                let modal_open = document()
                    .query_selector("dialog[open]")
                    .ok()
                    .flatten()
                    .is_some();
                if !modal_open {
                    navigate(&q.with_value(|q| q.href()), Default::default());
                }
                return;
            }
            if ev.key() != "/" {
                return;
            }
            let in_field = document()
                .active_element()
                .map(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
                .unwrap_or(false);
            if !in_field && let Some(el) = document().get_element_by_id("search-q") {
                use wasm_bindgen::JsCast;
                ev.prevent_default();
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
        on_cleanup(move || handle.remove());
    }

    let all_visible_selected = move || {
        rows.with(|rs| !rs.is_empty() && rs.iter().all(|r| selected.with(|s| s.contains(&r.key()))))
    };
    let toggle_all = move |_| {
        if all_visible_selected() {
            selected.update(|s| s.clear());
            all_matching.set(false);
        } else {
            let keys: Vec<String> = rows.with_untracked(|rs| rs.iter().map(Row::key).collect());
            selected.update(|s| s.extend(keys));
        }
    };

    let sort_href = move |s: Sort| {
        q.with_value(|q| {
            let desc = if q.sort == s {
                !q.desc
            } else {
                s == Sort::Modified || s == Sort::Size
            };
            ListQuery {
                sort: s,
                desc,
                ..q.clone()
            }
            .href()
        })
    };
    let aria_sort = move |s: Sort| {
        q.with_value(|q| {
            if q.sort != s {
                "none"
            } else if q.desc {
                "descending"
            } else {
                "ascending"
            }
        })
    };
    let is_search = query.is_search();
    let summary = if is_search {
        format!("{} match", format::count(file_count, "file", "files"))
    } else {
        let mut p = vec![];
        if folder_count > 0 {
            p.push(format::count(folder_count, "folder", "folders"));
        }
        p.push(format::count(file_count, "file", "files"));
        p.join(" · ")
    };

    view! {
        <div class="browser" class:with-details=move || details.with(|d| d.is_some())>
            <div class="browser-main">
            <Breadcrumbs query=query.clone() vault_name=vault_name on_drop_to=on_drop_to />
            <SearchForm query=query.clone() />
            <div class="toolbar">
                <p class="muted" role="status" data-testid="view-count">{summary}</p>
                <div class="actions">
                    {move || (!is_search && can_change.is_none_or(|c| c.get())).then(|| view! {
                        <button type="button" class="button secondary small" on:click=move |_| folder_open.set(true)>"New folder"</button>
                    })}
                    <A href="/trash" attr:class="button secondary small">"Trash"</A>
                </div>
            </div>
            {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {move || failure.get().map(|e| view! {
                <div class="failure">
                    <ErrorNote error=e />
                    <button type="button" class="link" on:click=move |_| { failure.set(None); version.update(|v| *v += 1); }>"Retry"</button>
                </div>
            })}
            {move || progress.get().filter(|p| p.state == "running").map(|p| view! {
                <div class="bulk-progress">
                    <label>{format!("{} in the background: {} of {}", match p.action.as_str() {
                        "move" => "Moving",
                        "class" => "Changing the class",
                        "restore" => "Asking for the restore",
                        _ => "Deleting",
                    }, p.done, p.total)}
                        <progress max=p.total.max(1) value=p.done></progress>
                    </label>
                </div>
            })}
            <div class="selection-bar" role="region" aria-label="Selection" class:active={move || count_selected() > 0}>
                {move || (count_selected() > 0).then(|| view! {
                    <span data-testid="selected-count">{format!("{} selected", count_selected())}</span>
                    <button type="button" class="small" on:click=move |_| move_open.set(true)>"Move to…"</button>
                    <button type="button" class="small" on:click=move |_| class_open.set(true)>"Change class…"</button>
                    <button type="button" class="small" on:click=move |_| restore_open.set(true)>"Restore…"</button>
                    <button type="button" class="small" on:click=move |_| download_open.set(true)>"Download"</button>
                    <button type="button" class="small danger" on:click=move |_| delete_open.set(true)>"Delete"</button>
                    <button type="button" class="link" on:click=move |_| { selected.update(|s| s.clear()); all_matching.set(false); }>"Clear selection"</button>
                    {move || (all_visible_selected() && !all_matching.get() && (file_count as usize) > rows.with(|rs| rs.iter().filter(|r| matches!(r, Row::File(_))).count())).then(|| view! {
                        <button type="button" class="link" on:click=move |_| all_matching.set(true)>
                            {format!("Select all {} matching", format::count(file_count, "file", "files"))}
                        </button>
                    })}
                    {move || all_matching.get().then(|| view! { <span class="muted">{format!("All {} matching are selected.", format::count(file_count, "file", "files"))}</span> })}
                })}
            </div>
            {move || rows.with(|rs| rs.is_empty()).then(|| if is_search {
                view! { <p class="empty">"No files match this search. Try fewer filters, or search the whole vault."</p> }.into_any()
            } else {
                view! { <p class="empty">"This folder is empty. Drop files or a folder on the upload area above, or make a new folder."</p> }.into_any()
            })}
            <div class="table-wrap" class:hidden=move || rows.with(|rs| rs.is_empty())>
                <table class="files" aria-label="Files and folders" aria-multiselectable="true">
                    <thead>
                        <tr>
                            <th scope="col" class="check">
                                <input type="checkbox" aria-label="Select all shown" prop:checked=all_visible_selected on:change=toggle_all />
                            </th>
                            {Sort::ALL.into_iter().map(|s| view! {
                                <th scope="col" aria-sort=move || aria_sort(s) class=if s == Sort::Size { "num" } else { "" }>
                                    <a href=move || sort_href(s)>{s.label()}<span aria-hidden="true">{move || match aria_sort(s) { "ascending" => " ▲", "descending" => " ▼", _ => "" }}</span></a>
                                </th>
                            }).collect_view()}
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody on:keydown=on_keydown>
                        <For each=move || rows.get().into_iter().enumerate() key=|(i, r)| (*i, r.key()) let((i, row))>
                            <ListRow i=i row=row query=q selected=selected focus=focus details=details
                                on_click=Callback::new(move |(i, shift, toggle): (usize, bool, bool)| click_row(i, shift, toggle))
                                on_drop_to=on_drop_to
                                on_drag=Callback::new(move |key: String| {
                                    // Dragging a selected row drags the selection; another row, itself.
                                    if !selected.with_untracked(|s| s.contains(&key)) {
                                        let mut sel = Selection { vault_id: q.with_value(|q| q.vault_id.clone()), ..Default::default() };
                                        if let Some(id) = key.strip_prefix("f:") { sel.file_ids.push(id.into()); }
                                        if let Some(id) = key.strip_prefix("d:") { sel.folder_ids.push(id.into()); }
                                        acting_on.set(Some(sel));
                                    } else {
                                        acting_on.set(None);
                                    }
                                })
                                on_rename=Callback::new(move |r: Row| { rename_target.set(Some(r)); rename_open.set(true); })
                            />
                        </For>
                    </tbody>
                </table>
            </div>
            {move || next.get().map(|c| view! {
                <p class="more">
                    <button type="button" class="secondary" disabled=move || load_more.pending().get()
                        on:click=move |_| { load_more.dispatch(c.clone()); }>
                        {move || if load_more.pending().get() { "Loading…" } else { "Show more" }}
                    </button>
                </p>
            })}
            <Modal open=move_open label="Move to a folder">
                <MoveDialog vault_id=q.with_value(|q| q.vault_id.clone()) open=move_open on_move=Callback::new(move_to) />
            </Modal>
            <Modal open=class_open label="Change storage class">
                <ClassDialog selection=Signal::derive(selection) open=class_open
                    on_done=Callback::new(move |r| { selected.update(|s| s.clear()); all_matching.set(false); finish(r, "moved to the new class") }) />
            </Modal>
            <Modal open=restore_open label="Restore from archive">
                <crate::components::RestoreDialog selection=Signal::derive(selection) open=restore_open
                    on_done=Callback::new(move |r: Result<(String, BulkOutcome), AppError>| { selected.update(|s| s.clear()); all_matching.set(false); finish(r.map(|(_, o)| o), "asked to come back: follow them on the Restores page") }) />
            </Modal>
            <Modal open=delete_open label="Delete">
                <DeleteDialog selection=Signal::derive(selection) count=Signal::derive(count_selected) open=delete_open
                    on_done=Callback::new(move |r| { selected.update(|s| s.clear()); all_matching.set(false); finish(r, "moved to the trash") }) />
            </Modal>
            <Modal open=download_open label="Download">
                <DownloadDialog selection=Signal::derive(selection) />
            </Modal>
            <Modal open=rename_open label="Rename">
                <RenameDialog target=rename_target open=rename_open version=version />
            </Modal>
            <Modal open=folder_open label="New folder">
                <NewFolderDialog vault_id=q.with_value(|q| q.vault_id.clone()) parent=q.with_value(|q| q.path.clone()) open=folder_open version=version />
            </Modal>
            </div>
            {move || live.get().then(|| details.get().map(|id| view! { <DetailsPanel file_id=id query=q.get_value() version=version /> })).flatten()}
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn focus_row(i: usize) {
    use wasm_bindgen::JsCast;
    if let Ok(Some(el)) = document().query_selector(&format!("tr[data-row='{i}']"))
        && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = el.focus();
    }
}

#[cfg(not(feature = "hydrate"))]
fn focus_row(_i: usize) {}

/// Polls a queued bulk action until it ends, then refreshes the view.
fn follow_op(
    op_id: String,
    progress: RwSignal<Option<crate::files::BulkOp>>,
    notice: RwSignal<Option<String>>,
    version: RwSignal<u32>,
) {
    leptos::task::spawn_local(async move {
        loop {
            match get_bulk_op(op_id.clone()).await {
                Ok(op) => {
                    let state = op.state.clone();
                    let error = op.error.clone();
                    progress.set(Some(op));
                    match state.as_str() {
                        "done" => {
                            notice.set(Some("Done.".into()));
                            version.update(|v| *v += 1);
                            return;
                        }
                        "failed" => {
                            notice.set(Some(format!("Stopped: {}", error.unwrap_or_default())));
                            version.update(|v| *v += 1);
                            return;
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    notice.set(Some(e.to_string()));
                    return;
                }
            }
            sleep(1000).await;
        }
    });
}

#[cfg(feature = "hydrate")]
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(not(feature = "hydrate"))]
async fn sleep(_ms: i32) {}

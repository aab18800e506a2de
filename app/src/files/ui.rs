//! The file browser: breadcrumbs, search and filters, the listing (folders first, sortable
//! columns, pages loaded on demand), selection (click, shift-click, ctrl/cmd-click, all
//! matching), bulk move / delete / download, drag onto a folder, the details panel and the
//! keyboard (arrows, Enter, Space, Delete, `/`). The view lives in the URL query.
use super::api::{
    create_folder, deletion_fee, download_links, find_folders, get_bulk_op, get_file_details,
    list_page, rename_file, rename_folder, trash_items,
};
use super::{
    BulkOutcome, FileEntry, FolderEntry, KINDS, ListQuery, Page, STATES, Selection, Sort,
    TRASH_DAYS, bytes_to_mb, class_label,
};
use crate::components::{ErrorNote, LinkList, Modal};
use crate::error::AppError;
use crate::format;
use crate::pricing::dollars;
use crate::vaults::STORAGE_CLASSES;
use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_navigate;
use std::collections::HashSet;

/// A row of the listing.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Folder(FolderEntry),
    File(FileEntry),
}

impl Row {
    /// "d:<id>" or "f:<id>": the selection's keys.
    fn key(&self) -> String {
        match self {
            Row::Folder(d) => format!("d:{}", d.id),
            Row::File(f) => format!("f:{}", f.id),
        }
    }
    fn name(&self) -> &str {
        match self {
            Row::Folder(d) => &d.name,
            Row::File(f) => &f.name,
        }
    }
}

fn rows_of(page: &Page) -> Vec<Row> {
    page.folders
        .iter()
        .cloned()
        .map(Row::Folder)
        .chain(page.files.iter().cloned().map(Row::File))
        .collect()
}

pub fn state_label(state: &str) -> &'static str {
    match state {
        "available" => "Available",
        "archived" => "Archived",
        "restoring" => "Restoring",
        "restored" => "Restored",
        "uploading" => "Uploading",
        _ => "Unknown",
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "image" => "Images",
        "video" => "Videos",
        "audio" => "Audio",
        "document" => "Documents",
        "archive" => "Archives",
        _ => "Other",
    }
}

/// A small drawn icon (no emoji: not every system has a font for them).
fn icon(folder: bool) -> impl IntoView {
    if folder {
        view! {
            <svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4.6l2 2h8.4A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"/></svg>
        }.into_any()
    } else {
        view! {
            <svg viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="1.6" d="M6.5 3h7l4 4v13.5H6.5z M13.5 3v4h4"/></svg>
        }.into_any()
    }
}

/// The link to a view with the details panel of `file_id` open.
pub fn details_href(q: &ListQuery, file_id: &str) -> String {
    let base = q.href();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}file={file_id}")
}

/// Breadcrumbs of the view's folder; each is a link and a drop target.
#[component]
fn Breadcrumbs(
    query: ListQuery,
    vault_name: Signal<String>,
    on_drop_to: Callback<String>,
) -> impl IntoView {
    // None is the vault's own name (it can change while the list stays).
    let mut crumbs: Vec<(Option<String>, String)> = vec![(None, String::new())];
    let mut acc = String::new();
    for part in query.path.split('/').filter(|p| !p.is_empty()) {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        crumbs.push((Some(part.to_string()), acc.clone()));
    }
    let last = crumbs.len() - 1;
    view! {
        <nav aria-label="Folder" class="breadcrumbs">
            <ol>
                {crumbs.into_iter().enumerate().map(|(i, (name, path))| {
                    let href = ListQuery { vault_id: query.vault_id.clone(), path: path.clone(), sort: query.sort, desc: query.desc, ..Default::default() }.href();
                    let drop_path = path.clone();
                    let name = move || name.clone().unwrap_or_else(|| vault_name.get());
                    view! {
                        <li
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| { ev.prevent_default(); on_drop_to.run(drop_path.clone()); }>
                            {if i == last && !query.is_search() {
                                view! { <span aria-current="page">{name}</span> }.into_any()
                            } else {
                                view! { <a href=href>{name}</a> }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </nav>
    }
}

/// Search by name and filters: a GET form, so it works before the page's script loads and
/// every search is a link.
#[component]
fn SearchForm(query: ListQuery) -> impl IntoView {
    let open_filters = !query.class.is_empty()
        || !query.state.is_empty()
        || !query.kind.is_empty()
        || query.min_size.is_some()
        || query.max_size.is_some()
        || !query.from.is_empty()
        || !query.to.is_empty();
    let action = format!("/vaults/{}", query.vault_id);
    let clear = ListQuery {
        vault_id: query.vault_id.clone(),
        path: query.path.clone(),
        ..Default::default()
    }
    .href();
    let q = query.clone();
    view! {
        <Form method="GET" action=action attr:class="search" attr:role="search">
            <input type="hidden" name="path" value=q.path.clone() />
            {(q.sort != Sort::Name).then(|| view! { <input type="hidden" name="sort" value=q.sort.as_str() /> })}
            {q.desc.then(|| view! { <input type="hidden" name="dir" value="desc" /> })}
            <div class="search-line">
                <label class="visually-hidden" for="search-q">"Search by name"</label>
                <input id="search-q" type="search" name="q" value=q.q.clone() placeholder="Search by name  ( / )" autocomplete="off" />
                <label class="visually-hidden" for="search-in">"Where"</label>
                <select id="search-in" name="in">
                    <option value="" selected=!q.everywhere>"In this folder"</option>
                    <option value="vault" selected=q.everywhere>"In the whole vault"</option>
                </select>
                <button type="submit">"Search"</button>
                {query.is_search().then(|| view! { <A href=clear.clone() attr:class="button secondary">"Clear"</A> })}
            </div>
            <details class="filters" open=open_filters>
                <summary>"Filters"</summary>
                <div class="filter-grid">
                    <label>"Storage class"
                        <select name="class">
                            <option value="">"Any"</option>
                            {STORAGE_CLASSES.into_iter().map(|c| view! { <option value=c selected=q.class == c>{class_label(c)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"State"
                        <select name="state">
                            <option value="">"Any"</option>
                            {STATES.into_iter().map(|s| view! { <option value=s selected=q.state == s>{state_label(s)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Type"
                        <select name="kind">
                            <option value="">"Any"</option>
                            {KINDS.into_iter().map(|k| view! { <option value=k selected=q.kind == k>{kind_label(k)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"At least (MB)"
                        <input type="number" name="min" min="0" step="any" value=q.min_size.map(bytes_to_mb).unwrap_or_default() />
                    </label>
                    <label>"At most (MB)"
                        <input type="number" name="max" min="0" step="any" value=q.max_size.map(bytes_to_mb).unwrap_or_default() />
                    </label>
                    <label>"Modified from"
                        <input type="date" name="from" value=q.from.clone() />
                    </label>
                    <label>"Modified until"
                        <input type="date" name="to" value=q.to.clone() />
                    </label>
                </div>
            </details>
        </Form>
    }
}

/// The browser for one view. `first` is the view's first page (rendered on the server).
#[component]
pub fn Listing(
    query: ListQuery,
    page: Page,
    #[prop(into)] vault_name: Signal<String>,
    /// Bumped to refetch (after a change).
    version: RwSignal<u32>,
    /// The file whose details are open (from the URL).
    #[prop(into)]
    details: Signal<Option<String>>,
    /// What the last action did, and a background job's progress: owned by the page, since
    /// the listing renders anew after each change.
    notice: RwSignal<Option<String>>,
    progress: RwSignal<Option<super::BulkOp>>,
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
            finish(super::api::move_items(sel, to).await, "moved");
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
                    {(!is_search).then(|| view! {
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
            {move || details.get().map(|id| view! { <DetailsPanel file_id=id query=q.get_value() version=version /> })}
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
    progress: RwSignal<Option<super::BulkOp>>,
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

#[component]
fn ListRow(
    i: usize,
    row: Row,
    query: StoredValue<ListQuery>,
    selected: RwSignal<HashSet<String>>,
    focus: RwSignal<usize>,
    details: Signal<Option<String>>,
    on_click: Callback<(usize, bool, bool)>,
    on_drop_to: Callback<String>,
    on_drag: Callback<String>,
    on_rename: Callback<Row>,
) -> impl IntoView {
    let key = row.key();
    let key_sel = StoredValue::new(key.clone());
    let is_selected = move || key_sel.with_value(|k| selected.with(|s| s.contains(k)));
    let name = row.name().to_string();
    let (href, size, class, state, modified, folder_hint, file_id, is_folder, thumb) = match &row {
        Row::Folder(d) => (
            query.with_value(|q| {
                ListQuery {
                    vault_id: q.vault_id.clone(),
                    path: d.path.clone(),
                    sort: q.sort,
                    desc: q.desc,
                    ..Default::default()
                }
                .href()
            }),
            "—".to_string(),
            String::new(),
            String::new(),
            format::time_ms(d.created_at),
            String::new(),
            None,
            true,
            false,
        ),
        Row::File(f) => (
            query.with_value(|q| details_href(q, &f.id)),
            format::bytes(f.size),
            class_label(&f.storage_class).to_string(),
            match (f.state.as_str(), f.restored_until) {
                ("restored", Some(t)) => format!("Restored until {}", format::time_ms(t)),
                (s, _) => state_label(s).to_string(),
            },
            format::time_ms(f.updated_at),
            // In a search, where the file sits.
            if query.with_value(|q| q.is_search() || q.everywhere) && !f.folder_path.is_empty() {
                format!("{}/", f.folder_path)
            } else {
                String::new()
            },
            Some(f.id.clone()),
            false,
            f.has_thumb == 1,
        ),
    };
    let drop_path = match &row {
        Row::Folder(d) => Some(d.path.clone()),
        _ => None,
    };
    let archived = match &row {
        Row::File(f) if f.state == "archived" => Some("Archived: restore to download"),
        Row::File(f) if f.state == "restoring" => Some("Restoring: download when ready"),
        _ => None,
    };
    let key_drag = key.clone();
    let open = {
        let file_id = file_id.clone();
        move || {
            file_id
                .as_ref()
                .is_some_and(|id| details.with(|d| d.as_deref() == Some(id.as_str())))
        }
    };
    let row_for_rename = row.clone();
    let rename_label = format!("Rename {name}");
    let check_label = format!("Select {name}");
    let download_label = format!("Download {name}");
    view! {
        <tr data-row=i tabindex=move || if focus.get() == i { "0" } else { "-1" }
            aria-selected=move || if is_selected() { "true" } else { "false" }
            class:selected=is_selected class:open=open
            draggable="true"
            on:dragstart=move |ev| {
                on_drag.run(key_drag.clone());
                #[cfg(feature = "hydrate")]
                if let Some(dt) = ev.data_transfer() { let _ = dt.set_data("text/plain", "nexus-items"); dt.set_effect_allowed("move"); }
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
            on:dragover=move |ev| if is_folder { ev.prevent_default(); }
            on:drop={
                let drop_path = drop_path.clone();
                move |ev| if let Some(p) = drop_path.clone() { ev.prevent_default(); on_drop_to.run(p); }
            }
            on:click=move |ev: leptos::ev::MouseEvent| {
                // Links and buttons in the row do their own thing.
                let tag = ev.target().and_then(|t| {
                    use leptos::wasm_bindgen::JsCast;
                    t.dyn_into::<leptos::web_sys::Element>().ok()
                }).map(|e| e.tag_name()).unwrap_or_default();
                if matches!(tag.as_str(), "A" | "BUTTON" | "INPUT") { return; }
                on_click.run((i, ev.shift_key(), ev.ctrl_key() || ev.meta_key()));
            }>
            <td class="check">
                <input type="checkbox" aria-label=check_label prop:checked=is_selected tabindex="-1"
                    on:click=move |ev: leptos::ev::MouseEvent| on_click.run((i, ev.shift_key(), true)) />
            </td>
            <th scope="row" class="name">
                <span class="name-line">
                    <span class=if is_folder { "icon folder-icon" } else { "icon" } aria-hidden="true">
                        {if thumb {
                            view! { <img src=format!("/files/{}/thumb", file_id.clone().unwrap_or_default()) alt="" loading="lazy" width="32" height="32" /> }.into_any()
                        } else {
                            icon(is_folder).into_any()
                        }}
                    </span>
                    {(!folder_hint.is_empty()).then(|| view! { <span class="folder" title=folder_hint.clone()>{folder_hint.clone()}</span> })}
                    <a href=href class=if is_folder { "folder-link" } else { "file-link" }>{name.clone()}</a>
                </span>
                <span class="file-sub">{if is_folder { "Folder".to_string() } else { format!("{size} · {class} · {modified}") }}</span>
            </th>
            <td class="num">{size.clone()}</td>
            <td>{class}</td>
            <td>{state}</td>
            <td>{modified}</td>
            <td class="row-actions">
                {file_id.clone().map(|id| if let Some(why) = archived {
                    view! { <span class="muted" title="Archived files come back through a restore first">{why}</span> }.into_any()
                } else {
                    view! { <a href=format!("/files/{id}/download") aria-label=download_label.clone() rel="external">"Download"</a> }.into_any()
                })}
                <button type="button" class="link" aria-label=rename_label on:click=move |_| on_rename.run(row_for_rename.clone())>"Rename"</button>
            </td>
        </tr>
    }
}

#[component]
fn MoveDialog(vault_id: String, open: RwSignal<bool>, on_move: Callback<String>) -> impl IntoView {
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
fn DeleteDialog(
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
fn DownloadDialog(selection: Signal<Selection>) -> impl IntoView {
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
fn RenameDialog(
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
fn NewFolderDialog(
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

/// Everything known of one file, beside the list.
#[component]
fn DetailsPanel(file_id: String, query: ListQuery, version: RwSignal<u32>) -> impl IntoView {
    let id = file_id.clone();
    let details = Resource::new(move || version.get(), move |_| get_file_details(id.clone()));
    let close = query.href();
    view! {
        <aside class="details" aria-label="File details">
            <A href=close attr:class="close" attr:aria-label="Close details">"×"</A>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading details…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(d) => {
                            let f = d.file.clone();
                            view! {
                                <h2>{f.name.clone()}</h2>
                                {(f.has_thumb == 1).then(|| view! { <img class="preview" src=format!("/files/{}/thumb", f.id) alt=format!("Preview of {}", f.name) /> })}
                                <dl>
                                    <dt>"Folder"</dt><dd>{if f.folder_path.is_empty() { "Top level".to_string() } else { f.folder_path.clone() }}</dd>
                                    <dt>"Size"</dt><dd>{format!("{} ({} bytes)", format::bytes(f.size), f.size)}</dd>
                                    <dt>"Type"</dt><dd>{f.content_type.clone()}</dd>
                                    <dt>"Storage class"</dt><dd>{class_label(&f.storage_class)}</dd>
                                    <dt>"State"</dt><dd>{match (f.state.as_str(), f.restored_until) {
                                        ("restored", Some(t)) => format!("Restored until {}", format::time_ms(t)),
                                        (s, _) => state_label(s).to_string(),
                                    }}</dd>
                                    <dt>"Cost per month"</dt><dd>{dollars(d.monthly_cost_micros)}</dd>
                                    <dt>"SHA-256"</dt><dd><span class="mono">{d.sha256.clone().unwrap_or_else(|| "not recorded".into())}</span>{d.sha256.is_some().then(|| view! { <br /><span class="muted small">"reported by the uploading browser, not verified by the server"</span> })}</dd>
                                    <dt>"Uploaded"</dt><dd>{format::time_ms(f.created_at)}</dd>
                                    <dt>"Modified"</dt><dd>{format::time_ms(f.updated_at)}</dd>
                                </dl>
                                {if f.state == "archived" {
                                    view! { <p class="muted">{format!("Archived in {}: it must be restored before it can be downloaded.", class_label(&f.storage_class))}</p> }.into_any()
                                } else if f.state == "restoring" {
                                    view! { <p class="muted">"A restore is under way: the Restores page says when it will be ready."</p> }.into_any()
                                } else {
                                    view! { <p><a class="button small" href=format!("/files/{}/download", f.id) rel="external">"Download"</a></p> }.into_any()
                                }}
                                <h3>"History"</h3>
                                <ol class="history">
                                    {d.events.into_iter().map(|e| view! {
                                        <li>
                                            <time>{format::time_ms(e.at)}</time>" — "
                                            {match e.kind.as_str() {
                                                "uploaded" => "Uploaded".to_string(),
                                                "renamed" => format!("Renamed {}", e.detail),
                                                "moved" => format!("Moved {}", e.detail),
                                                "trashed" => format!("Moved to the trash{}", if e.detail.is_empty() { String::new() } else { format!(" ({})", e.detail) }),
                                                "restored" => format!("Restored {}", e.detail),
                                                "class_changed" => format!("Storage class changed {}", e.detail),
                                                "restore_requested" => format!("Restore requested ({})", e.detail),
                                                "restore_ready" => format!("Restored {}", e.detail),
                                                "restore_expired" => "Restored copy expired: archived again".to_string(),
                                                other => other.to_string(),
                                            }}
                                            {e.actor.map(|a| format!(" by {a}"))}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </aside>
    }
}

/// The trash of every vault the person can reach: restore, delete for good, empty.
#[component]
pub fn TrashPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let trash = Resource::new(move || version.get(), |_| super::api::list_trash());
    let selected = RwSignal::new(HashSet::<String>::new());
    let notice = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<AppError>);
    let empty_open = RwSignal::new(false);
    let restore = move |ids: Vec<String>| {
        leptos::task::spawn_local(async move {
            match super::api::restore_files(ids).await {
                Ok(n) => {
                    notice.set(Some(format!(
                        "{} restored to where {} deleted from.",
                        format::count(n, "file", "files"),
                        if n == 1 { "it was" } else { "they were" }
                    )));
                    selected.update(|s| s.clear());
                    version.update(|v| *v += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let purge = move |ids: Option<Vec<String>>| {
        leptos::task::spawn_local(async move {
            match super::api::empty_trash(ids).await {
                Ok(n) => {
                    notice.set(Some(format!(
                        "{} deleted for good.",
                        format::count(n, "file", "files")
                    )));
                    selected.update(|s| s.clear());
                    empty_open.set(false);
                    version.update(|v| *v += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <leptos_meta::Title text="Trash — Nexus Deep Storage" />
        <section class="panel">
            <div class="page-head">
                <h1>"Trash"</h1>
                <p class="muted">{format!("Deleted files stay here for {TRASH_DAYS} days, then they are deleted for good.")}</p>
            </div>
            {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading the trash…"</p> }>
                {move || Suspend::new(async move {
                    match trash.await {
                        Err(e) => view! {
                            <ErrorNote error=e />
                            <button type="button" class="link" on:click=move |_| version.update(|v| *v += 1)>"Retry"</button>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"The trash is empty."</p> }.into_any(),
                        Ok(list) => {
                            let total = list.len();
                            view! {
                                <div class="selection-bar active" role="region" aria-label="Selection">
                                    <span>{move || format!("{} selected", selected.with(|s| s.len()))}</span>
                                    <button type="button" class="small" disabled=move || selected.with(|s| s.is_empty())
                                        on:click=move |_| restore(selected.get_untracked().into_iter().collect())>"Restore"</button>
                                    <button type="button" class="small danger" disabled=move || selected.with(|s| s.is_empty())
                                        on:click=move |_| purge(Some(selected.get_untracked().into_iter().collect()))>"Delete for good"</button>
                                    <button type="button" class="small danger" on:click=move |_| empty_open.set(true)>{format!("Empty trash ({})", format::count(total as i64, "file", "files"))}</button>
                                </div>
                                <div class="table-wrap">
                                    <table class="files trash">
                                        <caption class="visually-hidden">"Files in the trash, most recently deleted first"</caption>
                                        <thead><tr>
                                            <th scope="col" class="check"><span class="visually-hidden">"Select"</span></th>
                                            <th scope="col">"Name"</th>
                                            <th scope="col" class="num">"Size"</th>
                                            <th scope="col">"Vault"</th>
                                            <th scope="col">"Deleted"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|t| {
                                                let id = t.id.clone();
                                                let id2 = t.id.clone();
                                                let id3 = t.id.clone();
                                                let path = if t.path.is_empty() { t.name.clone() } else { format!("{}/{}", t.path, t.name) };
                                                let gone = t.deleted_at + TRASH_DAYS * 86_400_000;
                                                view! {
                                                    <tr>
                                                        <td class="check"><input type="checkbox" aria-label=format!("Select {}", t.name)
                                                            prop:checked=move || selected.with(|s| s.contains(&id))
                                                            on:change=move |_| selected.update(|s| { if !s.remove(&id2) { s.insert(id2.clone()); } }) /></td>
                                                        <th scope="row" class="name">{path}
                                                            <span class="file-sub">{format!("{} · {}", t.vault_name, format::time_ms(t.deleted_at))}</span></th>
                                                        <td class="num">{format::bytes(t.size)}</td>
                                                        <td>{t.vault_name.clone()}</td>
                                                        <td>{format::time_ms(t.deleted_at)}<br /><small class="muted">{format!("deleted for good {}", format::time_ms(gone))}</small></td>
                                                        <td class="row-actions"><button type="button" class="link" aria-label=format!("Restore {}", t.name)
                                                            on:click=move |_| restore(vec![id3.clone()])>"Restore"</button></td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <Modal open=empty_open label="Empty trash">
                <div class="dialog-body">
                    <h2>"Empty the trash?"</h2>
                    <p>"Every file in the trash is deleted for good. This cannot be undone."</p>
                    <EmptyTrashFee />
                    <div class="dialog-actions">
                        <button type="button" class="danger" on:click=move |_| purge(None)>"Delete all for good"</button>
                        <button type="button" class="secondary" on:click=move |_| empty_open.set(false)>"Cancel"</button>
                    </div>
                </div>
            </Modal>
        </section>
    }
}

/// The early-deletion fee emptying the trash would incur, fetched when the dialog opens.
#[component]
fn EmptyTrashFee() -> impl IntoView {
    let fee = Resource::new(|| (), |_| super::api::trash_fee());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Checking for early-deletion fees…"</p> }>
            {move || Suspend::new(async move {
                match fee.await {
                    Ok(0) => view! { <p class="muted">"No early-deletion fee applies."</p> }.into_any(),
                    Ok(m) => view! { <p class="warning" role="alert">{format!("Some files were in archive classes for less than their minimum storage time: deleting them now incurs an early-deletion fee of about {}.", dollars(m))}</p> }.into_any(),
                    Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Choose a storage class for the selection: per class, its price, minimum duration and how
/// files come back, and what this selection would cost there a month and in fees now.
#[component]
fn ClassDialog(
    selection: Signal<Selection>,
    open: RwSignal<bool>,
    on_done: Callback<Result<BulkOutcome, AppError>>,
) -> impl IntoView {
    let sel = selection.get_untracked();
    let preview = Resource::new(|| (), move |_| super::api::class_preview(sel.clone()));
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
                let r = super::api::change_class(sel, to).await;
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

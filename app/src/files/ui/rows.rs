//! The listing's rows: a folder or a file, with its checkbox, name, size, class, state and
//! date; clicks, drags and the keys that act on one row.
use crate::files::{FileEntry, FolderEntry, ListQuery, Page, class_label};
use crate::format;
use leptos::prelude::*;
use std::collections::HashSet;

/// A row of the listing.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Folder(FolderEntry),
    File(FileEntry),
}

impl Row {
    /// "d:<id>" or "f:<id>": the selection's keys.
    pub(crate) fn key(&self) -> String {
        match self {
            Row::Folder(d) => format!("d:{}", d.id),
            Row::File(f) => format!("f:{}", f.id),
        }
    }
    pub(crate) fn name(&self) -> &str {
        match self {
            Row::Folder(d) => &d.name,
            Row::File(f) => &f.name,
        }
    }
}

pub(crate) fn rows_of(page: &Page) -> Vec<Row> {
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

pub(crate) fn kind_label(kind: &str) -> &'static str {
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

#[component]
pub(crate) fn ListRow(
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

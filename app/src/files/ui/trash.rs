//! The trash page: restore, delete for good, empty the trash (with its fee).
use crate::components::{ErrorNote, Modal};
use crate::error::AppError;
use crate::files::TRASH_DAYS;
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;
use std::collections::HashSet;

/// The trash of every vault the person can reach: restore, delete for good, empty.
#[component]
pub fn TrashPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let trash = Resource::new(move || version.get(), |_| crate::files::api::list_trash());
    let selected = RwSignal::new(HashSet::<String>::new());
    let notice = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<AppError>);
    let empty_open = RwSignal::new(false);
    let restore = move |ids: Vec<String>| {
        leptos::task::spawn_local(async move {
            match crate::files::api::restore_files(ids).await {
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
            match crate::files::api::empty_trash(ids).await {
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
                                                let deleting = t.state == "deleted";
                                                view! {
                                                    <tr>
                                                        <td class="check"><input type="checkbox" aria-label=format!("Select {}", t.name)
                                                            prop:checked=move || selected.with(|s| s.contains(&id))
                                                            on:change=move |_| selected.update(|s| { if !s.remove(&id2) { s.insert(id2.clone()); } }) /></td>
                                                        <th scope="row" class="name">{path}
                                                            <span class="file-sub">{format!("{} · {}", t.vault_name, format::time_ms(t.deleted_at))}</span></th>
                                                        <td class="num">{format::bytes(t.size)}</td>
                                                        <td>{t.vault_name.clone()}</td>
                                                        <td>{format::time_ms(t.deleted_at)}<br /><small class="muted">{if deleting {
                                                            "being deleted for good".to_string()
                                                        } else {
                                                            format!("deleted for good {}", format::time_ms(gone))
                                                        }}</small></td>
                                                        <td class="row-actions">{(!deleting).then(|| view! {
                                                            <button type="button" class="link" aria-label=format!("Restore {}", t.name)
                                                                on:click=move |_| restore(vec![id3.clone()])>"Restore"</button>
                                                        })}</td>
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
    let fee = Resource::new(|| (), |_| crate::files::api::trash_fee());
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

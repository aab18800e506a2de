//! The vault list and the vault page (uploader + file list).
use super::api::{
    CreateVault, UpdateVaultSettings, delete_vault, get_vault, list_vaults, rename_vault,
};
use super::{ClassStat, STORAGE_CLASSES, Vault};
use crate::components::ErrorNote;
use crate::components::Modal;
use crate::files::ui::Listing;
use crate::files::{ListQuery, api::list_page, class_label};
use crate::format;
use crate::uploads::ui::{Uploader, page_queue};
use crate::workspaces::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

#[component]
pub fn VaultsPage() -> impl IntoView {
    let create = ServerAction::<CreateVault>::new();
    let vaults = Resource::new(move || create.version().get(), |_| list_vaults());
    let error = move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    // Made: the field empties for the next one.
    let new_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if create.value().with(|v| matches!(v, Some(Ok(_)))) {
            new_name.set(String::new());
        }
    });
    view! {
        <Title text="Vaults — Nexus Deep Storage" />
        <section class="panel">
            <div class="page-head">
                <h1>"Your vaults"</h1>
                <A href="/trash" attr:class="button secondary small">"Trash"</A>
            </div>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading vaults…"</p> }>
                {move || Suspend::new(async move {
                    match vaults.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p class="empty">"You have no vaults yet. Make one below."</p> }.into_any(),
                        Ok(v) => view! {
                            <ul class="vault-list">
                                {v.into_iter().map(|vault| view! {
                                    <li>
                                        <A href=format!("/vaults/{}", vault.id)>{vault.name.clone()}</A>
                                        <span class="muted">
                                            {format!(" · {} · {}", format::count(vault.file_count, "file", "files"), format::bytes(vault.total_bytes))}
                                        </span>
                                        <ClassBreakdown classes=vault.classes.clone() />
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=create attr:class="inline new-vault">
                <label>"New vault" <input type="text" name="name" required maxlength="100" placeholder="e.g. Family photos"
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev)) /></label>
                <button type="submit">"Create vault"</button>
            </ActionForm>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// Files and bytes per storage class, as a compact list.
#[component]
fn ClassBreakdown(classes: Vec<ClassStat>) -> impl IntoView {
    (!classes.is_empty()).then(|| view! {
        <ul class="class-breakdown" aria-label="By storage class">
            {classes.into_iter().map(|c| view! {
                <li><span class=format!("class-dot c-{}", c.storage_class.to_lowercase()) aria-hidden="true"></span>
                    {format!("{}: {} · {}", class_label(&c.storage_class), format::count(c.file_count, "file", "files"), format::bytes(c.bytes))}
                </li>
            }).collect_view()}
        </ul>
    })
}

#[component]
pub fn VaultPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let vault_id = move || params.read().get("id").unwrap_or_default();
    // The view (folder, search, filters, sort) is the URL query; the details panel too.
    let query = Memo::new(move |_| {
        let id = vault_id();
        query_map.with(|m| ListQuery::from_pairs(&id, m.into_iter().map(|(k, v)| (k.as_ref(), v))))
    });
    let details =
        Signal::derive(move || query_map.with(|m| m.get("file")).filter(|f| !f.is_empty()));
    // Bumped after a change so the vault's totals and the list refetch.
    let version = RwSignal::new(0u32);
    let vault = Resource::new(move || (vault_id(), version.get()), |(id, _)| get_vault(id));
    let first = Resource::new(
        move || (query.get(), version.get()),
        |(q, _)| list_page(q, None, None),
    );
    // Owned by the page, not the uploader: the vault's panel renders again after uploads and
    // the queue must survive that.
    let queue = page_queue();
    // The list refreshes when the queue has finished, and every 25 files on the way.
    let landed = StoredValue::new(0u32);
    let on_done = Callback::new(move |_| {
        landed.update_value(|n| *n += 1);
        if queue.unfinished_untracked() == 0 || landed.get_value().is_multiple_of(25) {
            version.update(|n| *n += 1);
        }
    });
    let settings = ServerAction::<UpdateVaultSettings>::new();
    Effect::new(move |_| {
        if settings.value().with(|v| matches!(v, Some(Ok(_)))) {
            version.update(|n| *n += 1);
        }
    });
    let base = Signal::derive(move || query.with(|q| q.path.clone()));
    // Read apart from the list's Suspend: one resource per Suspend, so a vault refetch does
    // not render the list again.
    let vault_name = Signal::derive(move || {
        vault
            .get()
            .and_then(|r| r.ok())
            .map(|v| v.name)
            .unwrap_or_default()
    });
    // Whether the asker may change the vault's files (members and up; viewers browse).
    let can_change = Signal::derive(move || {
        vault
            .get()
            .and_then(|r| r.ok())
            .is_none_or(|v| role(&v) >= Role::Member)
    });
    let notice = RwSignal::new(None::<String>);
    let progress = RwSignal::new(None::<crate::files::BulkOp>);
    // A notice belongs to the view it was made in.
    Effect::new(move |prev: Option<ListQuery>| {
        let now = query.get();
        if prev.is_some_and(|p| p != now) {
            notice.set(None);
        }
        now
    });

    view! {
        <Transition fallback=|| view! { <p class="muted" role="status">"Loading vault…"</p> }>
            {move || Suspend::new(async move {
                match vault.await {
                    Err(e) => view! { <section class="panel"><ErrorNote error=e /></section> }.into_any(),
                    Ok(v) => view! {
                        <Title text=format!("{} — Nexus Deep Storage", v.name) />
                        <section class="panel">
                            <div class="page-head">
                                <h1>{v.name.clone()}</h1>
                                <p class="muted">
                                    {format!("{} · {} · new files go to {}",
                                        format::count(v.file_count, "file", "files"),
                                        format::bytes(v.total_bytes),
                                        class_label(&v.default_storage_class))}
                                </p>
                                {(role(&v) >= Role::Admin).then(|| view! { <VaultActions vault=v.clone() version=version /> })}
                            </div>
                            <ClassBreakdown classes=v.classes.clone() />
                            {if role(&v) >= Role::Member {
                                view! { <Uploader vault_id=v.id.clone() queue=queue on_done=on_done base=base /> }.into_any()
                            } else {
                                view! { <p class="alert info" data-testid="viewer-note">"You are a viewer in this workspace: you can browse and download; uploads, moves and deletions need the member role."</p> }.into_any()
                            }}
                            {(role(&v) >= Role::Admin).then(|| view! { <VaultSettings vault=v.clone() action=settings /> })}
                            <ArchiveRules vault_id=v.id.clone() />
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <section class="panel" aria-labelledby="files-heading">
            <h2 id="files-heading" class="visually-hidden">"Files"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading files…"</p> }>
                {move || Suspend::new(async move {
                    let page = first.await;
                    match page {
                        Err(e) => view! {
                            <ErrorNote error=e />
                            <p><A href=format!("/vaults/{}", vault_id())>"Back to the vault's top level"</A></p>
                        }.into_any(),
                        Ok(p) => view! { <Listing query=query.get_untracked() page=p vault_name=vault_name can_change=can_change version=version details=details notice=notice progress=progress /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The asker's role in the vault's workspace as the page reads it (an answer without one
/// shows everything: the server checks each call anyway).
fn role(v: &Vault) -> Role {
    Role::parse(&v.your_role).unwrap_or(Role::Owner)
}

/// Rename and delete, for admins (the server checks).
#[component]
fn VaultActions(vault: Vault, version: RwSignal<u32>) -> impl IntoView {
    let (rename_open, delete_open) = (RwSignal::new(false), RwSignal::new(false));
    let name = RwSignal::new(vault.name.clone());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let v = StoredValue::new(vault);
    let navigate = use_navigate();
    let empty = v.with_value(|v| v.file_count == 0);
    view! {
        <div class="actions">
            <button type="button" class="button secondary small" on:click=move |_| { error.set(None); rename_open.set(true) }>"Rename vault"</button>
            <button type="button" class="button secondary small danger" on:click=move |_| { error.set(None); delete_open.set(true) }>"Delete vault"</button>
        </div>
        <Modal open=rename_open label="Rename vault">
            <form class="dialog-body" on:submit=move |ev| {
                ev.prevent_default();
                let (id, n) = (v.with_value(|v| v.id.clone()), name.get_untracked());
                leptos::task::spawn_local(async move {
                    match rename_vault(id, n).await {
                        Ok(_) => { rename_open.set(false); version.update(|x| *x += 1); }
                        Err(e) => error.set(Some(e.to_string())),
                    }
                });
            }>
                <h2>"Rename vault"</h2>
                <label>"Name" <input type="text" autofocus prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="submit">"Rename"</button>
                    <button type="button" class="secondary" on:click=move |_| rename_open.set(false)>"Cancel"</button>
                </div>
            </form>
        </Modal>
        <Modal open=delete_open label="Delete vault">
            <form class="dialog-body" on:submit={
                let navigate = navigate.clone();
                move |ev| {
                    ev.prevent_default();
                    let (id, c) = (v.with_value(|v| v.id.clone()), confirm.get_untracked());
                    let navigate = navigate.clone();
                    leptos::task::spawn_local(async move {
                        match delete_vault(id, c).await {
                            Ok(_) => { delete_open.set(false); navigate("/vaults", Default::default()); }
                            Err(e) => error.set(Some(e.to_string())),
                        }
                    });
                }
            }>
                <h2>{move || format!("Delete “{}”?", v.with_value(|v| v.name.clone()))}</h2>
                {if empty {
                    view! { <p>"This vault is empty; it will simply go."</p> }.into_any()
                } else {
                    view! {
                        <p>{format!("Everything in it ({}) moves to the trash, where it can be brought back for {} days; then it is deleted for good.", v.with_value(|v| format!("{}, {}", format::count(v.file_count, "file", "files"), format::bytes(v.total_bytes))), crate::files::TRASH_DAYS)}</p>
                        <label>{format!("Type the vault's name, “{}”, to confirm", v.with_value(|v| v.name.clone()))}
                            <input type="text" autocomplete="off" prop:value=move || confirm.get() on:input=move |ev| confirm.set(event_target_value(&ev)) />
                        </label>
                    }.into_any()
                }}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <div class="dialog-actions">
                    <button type="submit" class="danger">"Delete vault"</button>
                    <button type="button" class="secondary" on:click=move |_| delete_open.set(false)>"Cancel"</button>
                </div>
            </form>
        </Modal>
    }
}

/// The vault's upload rules and default storage class.
#[component]
fn VaultSettings(vault: Vault, action: ServerAction<UpdateVaultSettings>) -> impl IntoView {
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let saved = move || action.value().with(|v| matches!(v, Some(Ok(_))));
    let max_mb = vault
        .max_file_size
        .map(|b| format!("{}", b as f64 / 1_000_000.0))
        .unwrap_or_default();
    let rules = {
        let mut r = vec![];
        if !vault.allowed_types.is_empty() {
            r.push(format!("only {}", vault.allowed_types));
        }
        if let Some(m) = vault.max_file_size {
            r.push(format!("files up to {}", format::bytes(m)));
        }
        if r.is_empty() {
            "any type, any size".to_string()
        } else {
            r.join(", ")
        }
    };
    view! {
        <details class="vault-settings">
            <summary>{format!("Upload rules: {rules}")}</summary>
            <ActionForm action=action>
                <input type="hidden" name="vault_id" value=vault.id.clone() />
                <label>
                    "New files go to"
                    <select name="default_storage_class">
                        {STORAGE_CLASSES.into_iter().map(|c| view! {
                            <option value=c selected=vault.default_storage_class == c>{class_label(c)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Allowed types"
                    <input type="text" name="allowed_types" value=vault.allowed_types.clone()
                        placeholder="any — or e.g. image/*, video/mp4, .pdf" aria-describedby="types-hint" />
                </label>
                <small id="types-hint" class="muted">"Separate with commas: a family (image/*), a type (video/mp4) or an extension (.pdf). Empty allows all."</small>
                <label>
                    "Largest file (MB)"
                    <input type="number" name="max_file_size_mb" min="0" step="any" value=max_mb placeholder="no limit" />
                </label>
                <label>
                    "Also record SHA-256"
                    <select name="sha256_mode" aria-describedby="sha-hint">
                        {crate::vaults::SHA256_MODES.into_iter().map(|(m, label)| view! {
                            <option value=m selected=vault.sha256_mode == m>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <small id="sha-hint" class="muted">"Storage checks every file with CRC64NVME, always. A SHA-256 (what sha256sum prints) is worked out in the background by the uploading browser and may arrive just after the upload."</small>
                <button type="submit">"Save rules"</button>
                <p role="status" class="muted">{move || saved().then_some("Saved.")}</p>
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </ActionForm>
        </details>
    }
}

/// The vault's archiving rules: edit them in order, see what each would move today and save,
/// and apply them now (they also run daily).
#[component]
fn ArchiveRules(vault_id: String) -> impl IntoView {
    use crate::files::api::{
        apply_archive_rules, archive_rules, preview_archive_rules, save_archive_rules,
    };
    use crate::tiers::ArchiveRule;
    let vid = StoredValue::new(vault_id);
    let version = RwSignal::new(0u32);
    let loaded = Resource::new(
        move || version.get(),
        move |_| archive_rules(vid.get_value()),
    );
    let preview = Resource::new(
        move || version.get(),
        move |_| preview_archive_rules(vid.get_value()),
    );
    let rules = RwSignal::new(Vec::<ArchiveRule>::new());
    let message = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(r)) = loaded.get() {
            rules.set(r);
        }
    });
    let save = move |_| {
        let list = rules.get_untracked();
        leptos::task::spawn_local(async move {
            match save_archive_rules(vid.get_value(), list).await {
                Ok(_) => {
                    message.set(Some("Rules saved.".into()));
                    version.update(|v| *v += 1);
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let apply = move |_| {
        leptos::task::spawn_local(async move {
            match apply_archive_rules(vid.get_value()).await {
                Ok(()) => message.set(Some(
                    "Applying the rules in the background; files move within a minute.".into(),
                )),
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let edit = move |i: usize, f: Box<dyn Fn(&mut ArchiveRule)>| {
        rules.update(|r| {
            if let Some(x) = r.get_mut(i) {
                f(x)
            }
        })
    };
    view! {
        <details class="vault-settings archive-rules">
            <summary>{move || format!("Archiving rules: {}", match rules.with(|r| r.len()) { 0 => "none".to_string(), n => format!("{n}") })}</summary>
            <p class="hint">"In order; a file follows the first rule it matches. Rules only move files to colder classes, and skip files that are uploading, restoring or archived."</p>
            <ol class="rules">
                {move || rules.get().into_iter().enumerate().map(|(i, r)| {
                    let pv = move || preview.get().and_then(|p| p.ok()).and_then(|p| p.get(i).cloned());
                    view! {
                        <li>
                            <label>"Files older than (days)"
                                <input type="number" min="0" value=r.older_than_days.to_string()
                                    on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); edit(i, Box::new(move |x| x.older_than_days = v)) } />
                            </label>
                            <label>"of type"
                                <select on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |x| x.kind = v.clone())) }>
                                    <option value="" selected=r.kind.is_empty()>"any"</option>
                                    {crate::files::KINDS.into_iter().map(|k| view! { <option value=k selected=r.kind == k>{k}</option> }).collect_view()}
                                </select></label>
                            <label>"at least (MB)"
                                <input type="number" min="0" step="any" value=r.min_size.map(crate::files::bytes_to_mb).unwrap_or_default()
                                    on:change=move |ev| { let v = crate::files::mb_to_bytes(&event_target_value(&ev)); edit(i, Box::new(move |x| x.min_size = v)) } />
                            </label>
                            <label>"in folder"
                                <input type="text" value=r.folder_path.clone() placeholder="whole vault"
                                    on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |x| x.folder_path = v.clone())) } />
                            </label>
                            <label>"move to"
                                <select on:change=move |ev| { let v = event_target_value(&ev); edit(i, Box::new(move |x| x.to_class = v.clone())) }>
                                    {STORAGE_CLASSES.into_iter().skip(1).map(|c| view! { <option value=c selected=r.to_class == c>{class_label(c)}</option> }).collect_view()}
                                </select></label>
                            <button type="button" class="link danger" aria-label=format!("Remove rule {}", i + 1) on:click=move |_| rules.update(|r| { r.remove(i); })>"Remove"</button>
                            {move || pv().map(|p| view! {
                                <p class="muted">{format!("Today: {} · {} · saves {} a month", format::count(p.files, "file", "files"), format::bytes(p.bytes), crate::pricing::dollars(p.monthly_saving_micros))}</p>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="actions">
                <button type="button" class="button secondary small" on:click=move |_| rules.update(|r| r.push(ArchiveRule { older_than_days: 30, to_class: "DEEP_ARCHIVE".into(), ..Default::default() }))>"Add rule"</button>
                <button type="button" class="small" on:click=save>"Save rules"</button>
                <button type="button" class="button secondary small" on:click=apply>"Apply now"</button>
            </div>
            <p role="status" class="muted">{move || message.get()}</p>
        </details>
    }
}

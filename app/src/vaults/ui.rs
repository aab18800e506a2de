//! The vault list and the vault page (uploader + file list).
use super::api::{UpdateVaultSettings, get_vault, list_vaults};
use super::{STORAGE_CLASSES, Vault};
use crate::ErrorNote;
use crate::files::{FileEntry, api::list_files, class_label};
use crate::format;
use crate::uploads::ui::{Queue, Uploader};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn VaultsPage() -> impl IntoView {
    let vaults = Resource::new(|| (), |_| list_vaults());
    view! {
        <Title text="Vaults — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Your vaults"</h1>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading vaults…"</p> }>
                {move || Suspend::new(async move {
                    match vaults.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p>"You have no vaults yet."</p> }.into_any(),
                        Ok(v) => view! {
                            <ul class="vault-list">
                                {v.into_iter().map(|vault| view! {
                                    <li>
                                        <A href=format!("/vaults/{}", vault.id)>{vault.name.clone()}</A>
                                        <span class="muted">
                                            {format!(" · {} · {}", format::count(vault.file_count, "file", "files"), format::bytes(vault.total_bytes))}
                                        </span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn VaultPage() -> impl IntoView {
    let params = use_params_map();
    let vault_id = move || params.read().get("id").unwrap_or_default();
    // Bumped after each upload so the vault's totals and the list refetch.
    let version = RwSignal::new(0u32);
    let vault = Resource::new(move || (vault_id(), version.get()), |(id, _)| get_vault(id));
    let files = Resource::new(
        move || (vault_id(), version.get()),
        |(id, _)| list_files(id),
    );
    // Owned by the page, not the uploader: the vault's panel renders again after uploads and
    // the queue must survive that.
    let queue = Queue::new();
    // The list refreshes when the queue has finished, and every 25 files on the way.
    let landed = StoredValue::new(0u32);
    let on_done = Callback::new(move |_| {
        landed.update_value(|n| *n += 1);
        if queue.counts().0 == 0 || landed.get_value().is_multiple_of(25) {
            version.update(|n| *n += 1);
        }
    });
    let settings = ServerAction::<UpdateVaultSettings>::new();
    Effect::new(move |_| {
        if settings.value().with(|v| matches!(v, Some(Ok(_)))) {
            version.update(|n| *n += 1);
        }
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
                            </div>
                            <Uploader vault_id=v.id.clone() queue=queue on_done=on_done />
                            <VaultSettings vault=v.clone() action=settings />
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <section class="panel" aria-labelledby="files-heading">
            <h2 id="files-heading">"Files"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading files…"</p> }>
                {move || Suspend::new(async move {
                    match files.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No files yet. Choose a file above, or drop one on the upload area, to keep it here."</p>
                        }.into_any(),
                        Ok(list) => view! { <FileTable files=list /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn FileTable(files: Vec<FileEntry>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="files">
                <caption class="visually-hidden">"Files in this vault, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col" class="num">"Size"</th>
                        <th scope="col">"Storage class"</th>
                        <th scope="col">"Uploaded"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {files.into_iter().map(|f| {
                        let label = format!("Download {}", f.name);
                        view! {
                            <tr>
                                <th scope="row" class="name">
                                    {(!f.folder_path.is_empty()).then(|| view! { <span class="folder">{format!("{}/", f.folder_path)}</span> })}
                                    {f.name.clone()}
                                    // On narrow screens the class and date columns fold in here.
                                    <span class="file-sub">
                                        {format!("{} · {}", class_label(&f.storage_class), format::time_ms(f.created_at))}
                                    </span>
                                </th>
                                <td class="num">{format::bytes(f.size)}</td>
                                <td>{class_label(&f.storage_class)}</td>
                                <td>{format::time_ms(f.created_at)}</td>
                                <td class="actions">
                                    <a href=format!("/files/{}/download", f.id) aria-label=label rel="external">"Download"</a>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
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
                <button type="submit">"Save rules"</button>
                <p role="status" class="muted">{move || saved().then_some("Saved.")}</p>
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </ActionForm>
        </details>
    }
}

//! The vault list and the vault page (uploader + file list).
use super::api::{get_vault, list_vaults};
use crate::ErrorNote;
use crate::files::{FileEntry, api::list_files, class_label};
use crate::format;
use crate::uploads::ui::{UploadView, Uploader};
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
    // Owned by the page, not the uploader: the vault's panel renders again after each upload
    // and the uploader's last state ("Uploaded · 315 MB") must survive that.
    let upload = RwSignal::new(None::<UploadView>);

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
                            <Uploader vault_id=v.id.clone() state=upload
                                on_done=Callback::new(move |_| version.update(|n| *n += 1)) />
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

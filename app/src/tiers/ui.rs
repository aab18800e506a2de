//! Restores in the browser: the dialog that compares the tiers for a selection, and the
//! Restores page that follows every request until its files are back (and gone again).
use super::RestoreRequest;
use super::api::{restore_download_links, restore_request_files, restore_requests};
use crate::components::ErrorNote;
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// Every restore request of the person's workspaces; refreshes itself while one is under way.
#[component]
pub fn RestoresPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| restore_requests());
    let query = use_query_map();
    let open_id = Memo::new(move |_| query.with(|q| q.get("request")));
    // While something is on its way back, look again every few seconds.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                let waiting = list
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|l| l.iter().any(|r| r.waiting > 0));
                if waiting {
                    version.update(|v| *v += 1);
                }
            },
            std::time::Duration::from_secs(3),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    view! {
        <Title text="Restores — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Restores"</h1>
            <p class="muted">"Archived files come back for the days you chose. You get a notification and a mail when a request is ready."</p>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading restores…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! {
                            <p class="empty">"No restores yet. To bring archived files back, select them in a vault and choose Restore…"</p>
                        }.into_any(),
                        Ok(l) => view! {
                            <div class="table-wrap">
                                <table class="files data restores" aria-label="Restore requests">
                                    <thead><tr>
                                        <th scope="col">"What"</th>
                                        <th scope="col">"State"</th>
                                        <th scope="col">"Tier"</th>
                                        <th scope="col" class="num">"Files"</th>
                                        <th scope="col">"Requested"</th>
                                        <th scope="col">"Estimated ready"</th>
                                        <th scope="col">"Ready"</th>
                                        <th scope="col">"Expires"</th>
                                        <th scope="col" class="num">"Estimated cost"</th>
                                    </tr></thead>
                                    <tbody>
                                        {l.into_iter().map(|r| view! { <RequestRow r=r open_id=open_id /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            {move || open_id.get().map(|id| view! { <RequestFiles request_id=id version=version /> })}
        </section>
    }
}

#[component]
fn RequestRow(r: RestoreRequest, open_id: Memo<Option<String>>) -> impl IntoView {
    let state = r.state();
    let id = r.id.clone();
    let is_open = move || open_id.get().as_deref() == Some(id.as_str());
    view! {
        <tr class:current=is_open.clone() data-testid="restore-row">
            <th scope="row">
                <A href=format!("/restores?request={}", r.id)>{r.label.clone()}</A>
                <span class="file-sub">{format!("in {} · {}", r.vault_name, format::bytes(r.bytes))}</span>
            </th>
            <td><span class=format!("badge {}", state.to_lowercase().replace(' ', "-")) data-testid="restore-state">{state}</span>
                {(r.waiting > 0 && r.ready > 0).then(|| format!(" {} of {}", r.ready, r.files))}
                {(r.failed > 0).then(|| view! { <span class="muted">{format!(" · {} failed", r.failed)}</span> })}
            </td>
            <td>{r.tier.clone()}</td>
            <td class="num">{r.files}</td>
            <td>{format::time_ms(r.requested_at)}</td>
            <td>{format::time_ms(r.estimate_ready_at)}</td>
            <td>{r.ready_at.map(format::time_ms).unwrap_or_else(|| "—".into())}</td>
            <td>{r.expires_at.map(format::time_ms).unwrap_or_else(|| "—".into())}</td>
            <td class="num">{dollars(r.estimate_micros)}</td>
        </tr>
    }
}

/// One request's files: restored ones download at once; "Download all" lists links and a
/// SHA-256 manifest.
#[component]
fn RequestFiles(request_id: String, version: RwSignal<u32>) -> impl IntoView {
    let id = request_id.clone();
    let files = Resource::new(
        move || version.get(),
        move |_| restore_request_files(id.clone()),
    );
    let all_open = RwSignal::new(false);
    let id2 = request_id.clone();
    view! {
        <section class="request-files" aria-label="Files of this restore">
            <h2>"Files of this restore"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading files…"</p> }>
                {move || Suspend::new(async move {
                    match files.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(list) => {
                            let ready = list.iter().filter(|f| f.state == "ready").count();
                            view! {
                                {(ready > 1).then(|| view! {
                                    <p><button type="button" class="secondary small" on:click=move |_| all_open.set(true)>
                                        {format!("Download all {ready} (links and SHA-256 manifest)")}
                                    </button></p>
                                })}
                                <ul class="link-list">
                                    {list.into_iter().map(|f| {
                                        let path = if f.folder_path.is_empty() { f.name.clone() } else { format!("{}/{}", f.folder_path, f.name) };
                                        let state = match f.state.as_str() {
                                            "requested" | "in_progress" => "on its way back".to_string(),
                                            "ready" => format!("restored until {}", f.expires_at.map(format::time_ms).unwrap_or_else(|| "further notice".into())),
                                            "expired" => "expired: archived again".to_string(),
                                            _ => format!("failed: {}", f.error.clone().unwrap_or_default()),
                                        };
                                        view! {
                                            <li>
                                                {path.clone()}" · "{format::bytes(f.size)}" — "<span class="muted">{state}</span>
                                                {(f.state == "ready").then(|| view! {
                                                    " "<a href=format!("/files/{}/download", f.file_id) rel="external" class="button small" aria-label=format!("Download {path}")>"Download"</a>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || all_open.get().then(|| {
                let id = id2.clone();
                let links = Resource::new(|| (), move |_| restore_download_links(id.clone()));
                view! {
                    <Suspense fallback=|| view! { <p class="muted" role="status">"Preparing links…"</p> }>
                        {move || Suspend::new(async move {
                            match links.await {
                                Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                                Ok(l) => view! { <crate::components::LinkList links=l /> }.into_any(),
                            }
                        })}
                    </Suspense>
                }
            })}
        </section>
    }
}

//! Restores in the browser: the dialog that compares the tiers for a selection, and the
//! Restores page that follows every request until its files are back (and gone again).
use super::api::{
    preview_restore, request_restore, restore_download_links, restore_request_files,
    restore_requests,
};
use super::{MAX_RESTORE_DAYS, RestoreRequest};
use crate::ErrorNote;
use crate::error::AppError;
use crate::files::{BulkOutcome, Selection};
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// "usually by 14:05, at the latest 26 Nov 2026 18:00".
fn ready_words(typical: i64, latest: i64) -> String {
    if typical == latest {
        return format!("by {}", format::time_ms(latest));
    }
    format!(
        "usually by {}, at the latest {}",
        format::time_ms(typical),
        format::time_ms(latest)
    )
}

/// The restore dialog: days to keep the copies, then each tier with its cost and ready-by
/// for exactly this selection; tiers the selection's classes lack are shown disabled.
#[component]
pub fn RestoreDialog(
    selection: Signal<Selection>,
    open: RwSignal<bool>,
    on_done: Callback<Result<(String, BulkOutcome), AppError>>,
) -> impl IntoView {
    let days = RwSignal::new(7i64);
    let sel = selection.get_untracked();
    let preview = Resource::new(move || days.get(), move |d| preview_restore(sel.clone(), d));
    let choice = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    view! {
        <form class="dialog-body wide" on:submit=move |ev| {
            ev.prevent_default();
            let tier = choice.get_untracked();
            if tier.is_empty() { return; }
            busy.set(true);
            let sel = selection.get_untracked();
            let d = days.get_untracked();
            leptos::task::spawn_local(async move {
                let r = request_restore(sel, tier, d).await;
                busy.set(false);
                open.set(false);
                on_done.run(r);
            });
        }>
            <h2>"Restore from archive"</h2>
            <p>
                <label for="restore-days">"Keep the restored copy for "</label>
                <input id="restore-days" type="number" min="1" max=MAX_RESTORE_DAYS.to_string() required
                    class="days" prop:value=move || days.get().to_string()
                    on:change=move |ev| {
                        if let Ok(d) = event_target_value(&ev).parse::<i64>() {
                            days.set(d.clamp(1, MAX_RESTORE_DAYS));
                        }
                    } />
                " days (then it is archived again; the archived file itself stays)."
            </p>
            <Transition fallback=|| view! { <p class="muted" role="status">"Pricing the restore…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(p) => view! {
                            <p data-testid="restore-summary">{format!("{} to restore · {}.", format::count(p.to_restore, "archived file", "archived files"), format::bytes(p.bytes))}</p>
                            {(p.restored > 0).then(|| view! { <p class="muted">{format!("{} restored already: {} kept {} from now.", format::count(p.restored, "file is", "files are"), if p.restored == 1 { "its copy is" } else { "their copies are" }, format::count(p.days, "day", "days"))}</p> })}
                            {(p.in_progress > 0).then(|| view! { <p class="muted">{format!("{} on the way back already.", format::count(p.in_progress, "file is", "files are"))}</p> })}
                            {(p.not_archived > 0).then(|| view! { <p class="muted">{format!("{} not archived and can be downloaded now.", format::count(p.not_archived, "file is", "files are"))}</p> })}
                            <fieldset class="class-choice">
                                <legend class="visually-hidden">"Restore tier"</legend>
                                <div class="table-wrap"><table class="files data">
                                    <thead><tr>
                                        <th scope="col">"Tier"</th>
                                        <th scope="col">"Ready"</th>
                                        <th scope="col" class="num">"Retrieval"</th>
                                        <th scope="col" class="num">"Requests"</th>
                                        <th scope="col" class="num">"Copy storage"</th>
                                        <th scope="col" class="num">"Total"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.options.into_iter().map(|o| {
                                            let t = o.tier.clone();
                                            let id = format!("tier-{}", o.tier.to_lowercase());
                                            let off = !o.unavailable.is_empty();
                                            view! {
                                                <tr class:disabled=off>
                                                    <th scope="row">
                                                        <input type="radio" name="tier" id=id.clone() value=o.tier.clone() disabled=off
                                                            on:change=move |_| choice.set(t.clone()) />
                                                        <label for=id>{o.tier.clone()}</label>
                                                    </th>
                                                    {if off {
                                                        view! { <td colspan="5" class="muted">{o.unavailable.clone()}</td> }.into_any()
                                                    } else {
                                                        view! {
                                                            <td>{ready_words(o.typical_ready_at, o.ready_by)}</td>
                                                            <td class="num">{dollars(o.retrieval_micros)}</td>
                                                            <td class="num">{dollars(o.request_micros)}</td>
                                                            <td class="num">{dollars(o.copy_micros)}</td>
                                                            <td class="num"><strong>{dollars(o.cost_micros)}</strong></td>
                                                        }.into_any()
                                                    }}
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            </fieldset>
                            <p class="muted small">"Estimates from AWS us-east-1 list prices; the restored copy is billed at S3 Standard for its days."</p>
                        }.into_any(),
                    }
                })}
            </Transition>
            <div class="dialog-actions">
                <button type="submit" disabled=move || busy.get() || choice.with(|c| c.is_empty())>
                    {move || if choice.with(|c| c.is_empty()) { "Choose a tier".to_string() } else { format!("Restore with {}", choice.get()) }}
                </button>
                <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

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
                                Ok(l) => view! { <crate::files::ui::LinkList links=l /> }.into_any(),
                            }
                        })}
                    </Suspense>
                }
            })}
        </section>
    }
}

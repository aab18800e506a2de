//! `/admin`: the operators' console. To anyone else it answers as a page that does not exist.
use super::AdminView;
use super::api::{admin_overview, admin_retry_job};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminPage() -> impl IntoView {
    let q = use_query_map();
    let version = RwSignal::new(0u32);
    let data = Resource::new(
        move || (q.read().get("q").unwrap_or_default(), version.get()),
        |(search, _)| admin_overview(search),
    );
    let failure = RwSignal::new(None::<AppError>);
    let retry = Callback::new(move |id: String| {
        leptos::task::spawn_local(async move {
            match admin_retry_job(id).await {
                Ok(()) => failure.set(None),
                Err(e) => failure.set(Some(e)),
            }
            version.update(|v| *v += 1);
        });
    });
    view! {
        <Title text="Operators — Nexus Deep Storage" />
        <section class="panel admin">
            <h1>"Operators"</h1>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(v) => view! { <Console v=v retry=retry /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Console(v: AdminView, retry: Callback<String>) -> impl IntoView {
    let search = use_query_map()
        .read_untracked()
        .get("q")
        .unwrap_or_default();
    view! {
        <p class="muted">{format!(
            "{} accounts, {} workspaces, {} stored.",
            v.user_count, v.workspace_count, format::bytes(v.total_bytes)
        )}</p>

        <h2>"Failed jobs"</h2>
        {if v.failed_jobs.is_empty() {
            view! { <p class="muted" data-testid="no-failed-jobs">"None."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap"><table class="files data">
                    <thead><tr><th scope="col">"Kind"</th><th scope="col">"Tries"</th><th scope="col">"Last error"</th>
                        <th scope="col">"When"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>
                        {v.failed_jobs.into_iter().map(|j| {
                            let id = j.id.clone();
                            let label = format!("Retry the {} job", j.kind);
                            view! {
                                <tr data-testid="failed-job">
                                    <td><code>{j.kind}</code></td><td>{j.attempts}</td><td>{j.last_error}</td>
                                    <td>{format::time_ms(j.updated_at)}</td>
                                    <td><button type="button" class="secondary small" aria-label=label
                                        on:click=move |_| retry.run(id.clone())>"Retry"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}

        <h2>"Failing webhooks"</h2>
        {if v.failing_webhooks.is_empty() {
            view! { <p class="muted">"None."</p> }.into_any()
        } else {
            view! {
                <ul class="plain">
                    {v.failing_webhooks.into_iter().map(|w| view! {
                        <li data-testid="failing-webhook">
                            <strong>{w.workspace_name}</strong>" — "<code>{w.url}</code>" — "
                            {match (w.disabled_at, w.failing_since) {
                                (Some(d), _) => format!("disabled {} ({})", format::time_ms(d), w.reason),
                                (None, Some(f)) => format!("failing since {}", format::time_ms(f)),
                                _ => String::new(),
                            }}
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}

        <h2>"Storage by workspace"</h2>
        <div class="table-wrap"><table class="files data">
            <thead><tr><th scope="col">"Workspace"</th><th scope="col">"Owner"</th><th scope="col">"Members"</th>
                <th scope="col">"Plan"</th><th scope="col">"Files"</th><th scope="col">"Stored"</th></tr></thead>
            <tbody>
                {v.workspaces.into_iter().map(|w| view! {
                    <tr data-testid="admin-workspace">
                        <td>{w.name}{(w.kind == "personal").then_some(" (personal)")}</td>
                        <td>{w.owner_email}</td><td>{w.members}</td><td>{w.plan}</td>
                        <td>{w.files}</td><td>{format::bytes(w.bytes)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>

        <h2>"Accounts"</h2>
        <form method="get" action="/admin" class="search-line" role="search">
            <label for="admin-search" class="visually-hidden">"Find accounts by email"</label>
            <input id="admin-search" type="search" name="q" maxlength="254" value=search placeholder="Find by email" />
            <button type="submit" class="secondary">"Find"</button>
        </form>
        <div class="table-wrap"><table class="files data">
            <thead><tr><th scope="col">"Email"</th><th scope="col">"Since"</th><th scope="col">"Workspaces"</th><th scope="col">"State"</th></tr></thead>
            <tbody>
                {v.users.into_iter().map(|u| view! {
                    <tr data-testid="admin-user">
                        <td>{u.email}{u.operator.then(|| view! { " " <span class="badge">"operator"</span> })}</td>
                        <td>{format::time_ms(u.created_at)}</td>
                        <td>{u.workspaces}</td>
                        <td>{if u.deleted { "deleted" } else if u.confirmed { "confirmed" } else { "unconfirmed" }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

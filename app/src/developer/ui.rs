//! The Developer page: the workspace's API keys (make one and see its secret once, rotate,
//! revoke) and its webhook endpoints (add, send a test, see every delivery, redeliver,
//! enable again after a failure streak, delete). Links to the API reference.
use super::api::{
    create_api_key, create_webhook, delete_webhook, enable_webhook, list_api_keys, list_webhooks,
    redeliver_webhook, revoke_api_key, rotate_api_key, test_webhook, webhook_deliveries,
};
use super::{ApiKey, CreatedKey, EVENTS, NewKey, SCOPES, WebhookEndpoint};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use crate::vaults::api::list_vaults;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeveloperPage() -> impl IntoView {
    view! {
        <Title text="Developer — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Developer"</h1>
            <p class="muted">
                "Everything the app does, your programs can do with the "
                <a href="/docs/api">"REST API"</a>
                " and the "<code>"nexus"</code>" command-line tool. A key acts in this workspace with the scopes you give it."
            </p>
            <Keys />
            <Webhooks />
        </section>
    }
}

/// The secret of a key just made or rotated: shown here once.
#[component]
fn SecretOnce(created: CreatedKey, on_done: Callback<()>) -> impl IntoView {
    view! {
        <div class="alert success secret-once" role="status" data-testid="secret-once">
            <p><strong>{format!("The secret of “{}”", created.key.name)}</strong>" — copy it now: it is not shown again."</p>
            <label class="field">
                <span class="visually-hidden">"Secret"</span>
                <input type="text" readonly class="mono" value=created.secret.clone() aria-label="New key secret"
                    on:focus=move |ev| { event_target::<leptos::web_sys::HtmlInputElement>(&ev).select(); } />
            </label>
            <button type="button" class="secondary small" on:click=move |_| on_done.run(())>"I have copied it"</button>
        </div>
    }
}

#[component]
fn Keys() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let keys = Resource::new(move || version.get(), |_| list_api_keys());
    let vaults = Resource::new(|| (), |_| list_vaults());
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec!["files:read".to_string()]);
    let vault = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let secret = RwSignal::new(None::<CreatedKey>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let expires_at = match expires.get_untracked().trim() {
            "" => None,
            d => match crate::files::parse_day(d) {
                // The end of the day chosen (UTC).
                Some(ms) => Some(ms + 86_400_000 - 1),
                None => {
                    failure.set(Some(AppError::invalid("expires_at", "Pick a day.")));
                    return;
                }
            },
        };
        let new = NewKey {
            name: name.get_untracked(),
            scopes: scopes.get_untracked(),
            vault_id: Some(vault.get_untracked()).filter(|v| !v.is_empty()),
            expires_at,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_api_key(new).await {
                Ok(k) => {
                    secret.set(Some(k));
                    failure.set(None);
                    name.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let toggle = move |s: &'static str, on: bool| {
        scopes.update(|l| {
            l.retain(|x| x != s);
            if on {
                l.push(s.to_string());
            }
        })
    };
    let act = move |fut: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<CreatedKey>, AppError>>>,
    >| {
        leptos::task::spawn_local(async move {
            match fut.await {
                Ok(made) => {
                    if made.is_some() {
                        secret.set(made);
                    }
                    failure.set(None);
                }
                Err(e) => failure.set(Some(e)),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <section aria-labelledby="keys-h" class="developer-block">
            <h2 id="keys-h">"API keys"</h2>
            {move || secret.get().map(|k| view! { <SecretOnce created=k on_done=Callback::new(move |_| secret.set(None)) /> })}
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <form class="key-form" on:submit=create aria-label="New API key">
                <label class="field">"Key name"
                    <input type="text" required maxlength="100" placeholder="Nightly backup"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <fieldset class="scopes">
                    <legend>"Scopes"</legend>
                    {SCOPES.iter().map(|(s, what)| {
                        let s: &'static str = s;
                        view! {
                            <label class="check">
                                <input type="checkbox" name="scope" value=s
                                    prop:checked=move || scopes.with(|l| l.iter().any(|x| x == s))
                                    on:change=move |ev| toggle(s, event_target_checked(&ev)) />
                                <code>{s}</code>" "<span class="muted small">{*what}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <label class="field">"Vault"
                    <select on:change=move |ev| vault.set(event_target_value(&ev))>
                        <option value="">"All vaults"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                vaults.await.unwrap_or_default().into_iter().map(|v| view! {
                                    <option value=v.id.clone()>{v.name.clone()}</option>
                                }).collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <label class="field">"Expires (optional)"
                    <input type="date" prop:value=move || expires.get() on:input=move |ev| expires.set(event_target_value(&ev)) />
                </label>
                <button type="submit" disabled=move || busy.get()>"Create key"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty">"No keys yet."</p> }.into_any(),
                        Ok(l) => view! {
                            <div class="table-wrap"><table class="files data keys">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scopes"</th>
                                    <th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {l.into_iter().map(|k| key_row(k, act)).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

type KeyAction =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<CreatedKey>, AppError>>>>;

fn key_row(k: ApiKey, act: impl Fn(KeyAction) + Copy + 'static) -> impl IntoView {
    let now = format::now_ms();
    let status = k.status(now);
    let active = status == "Active";
    let id_rotate = k.id.clone();
    let id_revoke = k.id.clone();
    let grace = RwSignal::new("3600".to_string());
    let name = k.name.clone();
    let revoke_name = k.name.clone();
    view! {
        <tr data-testid="key-row">
            <td>{k.name.clone()}</td>
            <td><code>{format!("{}…", k.prefix)}</code></td>
            <td>{k.scope_list().join(", ")}{k.vault_id.as_ref().map(|_| " (one vault)")}</td>
            <td><time>{format::time_ms(k.created_at)}</time>{k.expires_at.map(|e| format!(" · expires {}", format::time_ms(e)))}</td>
            <td>{match (k.last_used_at, k.last_used_ip.clone()) {
                (Some(t), Some(ip)) => format!("{} from {ip}", format::time_ms(t)),
                (Some(t), None) => format::time_ms(t),
                _ => "Never".into(),
            }}</td>
            <td>{status}</td>
            <td class="actions">
                {active.then(|| view! {
                    <label class="inline">
                        <span class="visually-hidden">{format!("Old secret of {name} keeps working")}</span>
                        <select on:change=move |ev| grace.set(event_target_value(&ev))>
                            <option value="0">"Old secret stops now"</option>
                            <option value="3600" selected>"Old secret works 1 hour"</option>
                            <option value="86400">"Old secret works 1 day"</option>
                            <option value="604800">"Old secret works 7 days"</option>
                        </select>
                    </label>
                    <button type="button" class="secondary small" on:click=move |_| {
                        let id = id_rotate.clone();
                        let g = grace.get_untracked().parse().unwrap_or(0);
                        act(Box::pin(async move { rotate_api_key(id, g).await.map(Some) }));
                    }>"Rotate"</button>
                    <button type="button" class="danger small" on:click=move |_| {
                        if !confirmed(&format!("Revoke “{revoke_name}”? Programs using it are refused at once.")) {
                            return;
                        }
                        let id = id_revoke.clone();
                        act(Box::pin(async move { revoke_api_key(id).await.map(|_| None) }));
                    }>"Revoke"</button>
                })}
            </td>
        </tr>
    }
}

#[component]
fn Webhooks() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let endpoints = Resource::new(move || version.get(), |_| list_webhooks());
    let url = RwSignal::new(String::new());
    let events = RwSignal::new(vec!["file.uploaded".to_string()]);
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let (u, e) = (url.get_untracked(), events.get_untracked());
        leptos::task::spawn_local(async move {
            match create_webhook(u, e).await {
                Ok(_) => {
                    url.set(String::new());
                    failure.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section aria-labelledby="hooks-h" class="developer-block">
            <h2 id="hooks-h">"Webhooks"</h2>
            <p class="muted small">"Each event is POSTed as JSON and signed: "<code>"Nexus-Signature: t=…,v1=…"</code>
                " (HMAC-SHA256 of "<code>"t.body"</code>" with the endpoint's secret; "<a href="/docs/api#webhooks">"how to verify"</a>"). Failed deliveries are retried for 3 days."</p>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <form class="key-form" on:submit=add aria-label="New webhook endpoint">
                <label class="field">"Endpoint URL"
                    <input type="url" required placeholder="https://example.com/nexus-events"
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                </label>
                <fieldset class="scopes">
                    <legend>"Events"</legend>
                    {EVENTS.iter().map(|(e, what)| {
                        let e: &'static str = e;
                        view! {
                            <label class="check">
                                <input type="checkbox" name="event" value=e
                                    prop:checked=move || events.with(|l| l.iter().any(|x| x == e))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        events.update(|l| { l.retain(|x| x != e); if on { l.push(e.to_string()); } });
                                    } />
                                <code>{e}</code>" "<span class="muted small">{*what}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button type="submit" disabled=move || busy.get()>"Add endpoint"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match endpoints.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty">"No endpoints yet."</p> }.into_any(),
                        Ok(l) => l.into_iter().map(|ep| view! { <Endpoint ep=ep version=version failure=failure /> }).collect_view().into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Endpoint(
    ep: WebhookEndpoint,
    version: RwSignal<u32>,
    failure: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let shown = RwSignal::new(0u32);
    let id = ep.id.clone();
    let deliveries = Resource::new(move || shown.get(), {
        let id = id.clone();
        move |_| webhook_deliveries(id.clone())
    });
    let reveal = RwSignal::new(false);
    let run =
        move |fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>| {
            leptos::task::spawn_local(async move {
                if let Err(e) = fut.await {
                    failure.set(Some(e));
                }
                version.update(|v| *v += 1);
                shown.update(|v| *v += 1);
            });
        };
    let (id_test, id_del, id_on) = (id.clone(), id.clone(), id.clone());
    let disabled = ep.disabled_at.is_some();
    let secret = ep.secret.clone();
    let del_url = ep.url.clone();
    view! {
        <article class="endpoint" data-testid="endpoint">
            <h3 class="mono">{ep.url.clone()}</h3>
            <p class="small">{ep.events.split_whitespace().collect::<Vec<_>>().join(", ")}</p>
            {disabled.then(|| view! {
                <p class="alert error small" role="status">{format!("Disabled: {}", ep.disabled_reason.clone().unwrap_or_default())}</p>
            })}
            <p class="small">"Signing secret: "
                {move || if reveal.get() { view! { <code data-testid="signing-secret">{secret.clone()}</code> }.into_any() }
                         else { view! { <button type="button" class="link" on:click=move |_| reveal.set(true)>"Show"</button> }.into_any() }}
            </p>
            <div class="actions">
                {if disabled {
                    view! { <button type="button" class="small" on:click=move |_| { let i = id_on.clone(); run(Box::pin(async move { enable_webhook(i).await.map(|_| ()) })); }>"Enable again"</button> }.into_any()
                } else {
                    view! { <button type="button" class="secondary small" on:click=move |_| { let i = id_test.clone(); run(Box::pin(async move { test_webhook(i).await })); }>"Send a test event"</button> }.into_any()
                }}
                <button type="button" class="secondary small" on:click=move |_| shown.update(|v| *v += 1)>"Refresh deliveries"</button>
                <button type="button" class="danger small" on:click=move |_| {
                    if !confirmed(&format!("Delete the endpoint {del_url}? No more events are sent to it, and its deliveries are forgotten.")) {
                        return;
                    }
                    let i = id_del.clone();
                    run(Box::pin(async move { delete_webhook(i).await }));
                }>"Delete"</button>
            </div>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading deliveries…"</p> }>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty small">"No deliveries yet."</p> }.into_any(),
                        Ok(l) => view! {
                            <div class="table-wrap"><table class="files data deliveries">
                                <caption class="visually-hidden">"Deliveries"</caption>
                                <thead><tr><th scope="col">"Event"</th><th scope="col">"Status"</th><th scope="col">"Response"</th>
                                    <th scope="col">"Tries"</th><th scope="col">"Last try"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {l.into_iter().map(|d| {
                                        let did = d.id.clone();
                                        view! {
                                            <tr data-testid="delivery">
                                                <td><code>{d.event_type.clone()}</code><br/><span class="muted small mono">{d.event_id.clone()}</span></td>
                                                <td>{match d.state.as_str() { "succeeded" => "Delivered", "failed" => "Failed", _ => "Retrying" }}</td>
                                                <td>{d.last_status.map(|s| s.to_string()).or(d.last_error.clone()).unwrap_or_else(|| "—".into())}</td>
                                                <td>{d.attempts}</td>
                                                <td>{d.last_at.map(format::time_ms).unwrap_or_else(|| "Not yet".into())}</td>
                                                <td><button type="button" class="secondary small" on:click=move |_| {
                                                    let i = did.clone();
                                                    run(Box::pin(async move { redeliver_webhook(i).await }));
                                                }>"Redeliver"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </article>
    }
}

/// Asks the person to confirm a step that cannot be undone.
fn confirmed(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

//! The share links page (`/shares?vault=…&path=…`: make a link, see and revoke the vault's
//! links) and the public page a link opens (`/s/<token>`).
use super::api::{create_share, list_shares, open_share, revoke_share, share_download};
use super::{CreatedShare, MAX_DAYS, NewShare, ShareLink, SharedView};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::files::class_label;
use crate::format;
use crate::vaults::api::list_vaults;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn SharesPage() -> impl IntoView {
    let q = use_query_map();
    let vaults = Resource::new(|| (), |_| list_vaults());
    let vault = RwSignal::new(q.read_untracked().get("vault").unwrap_or_default());
    // The fields are read when the form is sent (not kept in signals): what was typed
    // before the page came alive is kept.
    let path = q.read_untracked().get("path").unwrap_or_default();
    let path_ref = NodeRef::<leptos::html::Input>::new();
    let days_ref = NodeRef::<leptos::html::Input>::new();
    let password_ref = NodeRef::<leptos::html::Input>::new();
    let max_ref = NodeRef::<leptos::html::Input>::new();
    let made = RwSignal::new(None::<CreatedShare>);
    let failure = RwSignal::new(None::<AppError>);
    let version = RwSignal::new(0u32);
    let busy = RwSignal::new(false);
    let links = Resource::new(
        move || (vault.get(), version.get()),
        |(v, _)| async move {
            if v.is_empty() {
                Ok(vec![])
            } else {
                list_shares(v).await
            }
        },
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |r: NodeRef<leptos::html::Input>| {
            r.get_untracked().map(|e| e.value()).unwrap_or_default()
        };
        let new = NewShare {
            vault_id: vault.get_untracked(),
            path: Some(value(path_ref)),
            days: value(days_ref).trim().parse().unwrap_or(0),
            password: Some(value(password_ref)).filter(|p| !p.is_empty()),
            max_downloads: value(max_ref).trim().parse().ok(),
            ..Default::default()
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_share(new).await {
                Ok(c) => {
                    made.set(Some(c));
                    failure.set(None);
                    if let Some(p) = password_ref.get_untracked() {
                        p.set_value("");
                    }
                    version.update(|v| *v += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <Title text="Share links — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Share links"</h1>
            <p class="muted">{format!("A link lets anyone who has it download a file or a folder's files until it expires (at most {MAX_DAYS} days). Add a password and a download limit if you like; revoke it any time.")}</p>
            <form class="share-form" on:submit=submit aria-label="Make a share link">
                <label for="share-vault">"Vault"</label>
                <Transition fallback=|| view! { <p class="muted">"Loading vaults…"</p> }>
                    {move || Suspend::new(async move {
                        let list = vaults.await.unwrap_or_default();
                        if vault.get_untracked().is_empty()
                            && let Some(v) = list.first()
                        {
                            vault.set(v.id.clone());
                        }
                        view! {
                            <select id="share-vault" on:change=move |ev| vault.set(event_target_value(&ev))>
                                {list.into_iter().map(|v| view! {
                                    <option value=v.id.clone() selected=v.id == vault.get_untracked()>{v.name}</option>
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
                <label for="share-path">"File or folder"</label>
                <input id="share-path" type="text" required maxlength="2000" placeholder="photos/2026 or report.pdf"
                    aria-describedby="share-path-hint" value=path node_ref=path_ref />
                <p id="share-path-hint" class="hint">"Its path in the vault, as the file browser shows it."</p>
                <label for="share-days">"Expires after (days)"</label>
                <input id="share-days" type="number" min="1" max=MAX_DAYS.to_string() required class="days"
                    value="7" node_ref=days_ref />
                <label for="share-password">"Password (optional)"</label>
                <input id="share-password" type="password" autocomplete="new-password" minlength="8"
                    node_ref=password_ref />
                <label for="share-max">"Download limit (optional)"</label>
                <input id="share-max" type="number" min="1" max="100000" class="days" node_ref=max_ref />
                {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
                <button type="submit" disabled=move || busy.get()>"Make the link"</button>
            </form>
            {move || made.get().map(|c| view! {
                <div class="alert success" role="status" data-testid="share-made">
                    <p><strong>{format!("Link to “{}”", c.link.target_name)}</strong>" — copy it now: it is not shown again."</p>
                    <label class="field"><span class="visually-hidden">"Link"</span>
                        <input type="text" readonly class="mono" aria-label="New share link" value=c.url.clone()
                            on:focus=move |ev| { event_target::<leptos::web_sys::HtmlInputElement>(&ev).select(); } />
                    </label>
                </div>
            })}
            <h2>"This vault's links"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading links…"</p> }>
                {move || Suspend::new(async move {
                    match links.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(l) if l.is_empty() => view! { <p class="empty">"No links yet."</p> }.into_any(),
                        Ok(l) => view! { <LinkTable links=l failure=failure version=version /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LinkTable(
    links: Vec<ShareLink>,
    failure: RwSignal<Option<AppError>>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let now = format::now_ms();
    view! {
        <div class="table-wrap"><table class="files data shares">
            <thead><tr>
                <th scope="col">"Shares"</th><th scope="col">"Expires"</th><th scope="col">"Password"</th>
                <th scope="col" class="num">"Views"</th><th scope="col" class="num">"Downloads"</th>
                <th scope="col">"State"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {links.into_iter().map(|l| {
                    let live = l.revoked_at.is_none() && l.expires_at > now
                        && l.max_downloads.is_none_or(|m| l.downloads < m);
                    let state = if l.revoked_at.is_some() { "revoked" } else if l.expires_at <= now { "expired" }
                        else if !live { "used up" } else { "active" };
                    let id = l.id.clone();
                    let label = format!("Revoke the link to {}", l.target_name);
                    view! {
                        <tr data-testid="share-row">
                            <td>{if l.folder_id.is_some() { format!("{}/ (folder)", l.target_name) } else { l.target_name.clone() }}</td>
                            <td>{format::time_ms(l.expires_at)}</td>
                            <td>{if l.protected == 1 { "yes" } else { "no" }}</td>
                            <td class="num">{l.views}</td>
                            <td class="num">{match l.max_downloads { Some(m) => format!("{} of {m}", l.downloads), None => l.downloads.to_string() }}</td>
                            <td>{state}</td>
                            <td>{live.then(|| view! {
                                <button type="button" class="link" aria-label=label on:click=move |_| {
                                    let id = id.clone();
                                    leptos::task::spawn_local(async move {
                                        if let Err(e) = revoke_share(id).await { failure.set(Some(e)); }
                                        version.update(|v| *v += 1);
                                    });
                                }>"Revoke"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// The public page of a share link: what it holds and a Download button per file (the
/// download's address is asked for when the button is pressed).
#[component]
pub fn SharedPage() -> impl IntoView {
    let token = move || use_params_map().read().get("token").unwrap_or_default();
    let password = RwSignal::new(String::new());
    let typed = NodeRef::<leptos::html::Input>::new();
    let shown = Resource::new(move || (token(), password.get()), |(t, p)| open_share(t, p));
    view! {
        <Title text="Shared with you — Nexus Deep Storage" />
        <section class="panel">
            <Transition fallback=|| view! { <p class="muted" role="status">"Opening the link…"</p> }>
                {move || Suspend::new(async move {
                    match shown.await {
                        Ok(v) => view! { <Shared shared=v token=token() password=password.get_untracked() /> }.into_any(),
                        Err(e) if e.field() == Some("password") => view! {
                            <h1>"This link has a password"</h1>
                            <form class="narrow" on:submit=move |ev| {
                                ev.prevent_default();
                                if let Some(i) = typed.get_untracked() { password.set(i.value()); }
                            }>
                                <label for="shared-password">"Password"</label>
                                <input id="shared-password" type="password" autocomplete="off" required node_ref=typed />
                                {(!password.get_untracked().is_empty()).then(|| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                                <button type="submit">"Open"</button>
                            </form>
                        }.into_any(),
                        Err(AppError::NotFound) => view! {
                            <h1>"This link no longer works"</h1>
                            <p>"It has expired, was revoked, or its downloads are used up. Ask whoever shared it for a new one."</p>
                        }.into_any(),
                        Err(e) => view! { <h1>"Shared with you"</h1><ErrorNote error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Shared(shared: SharedView, token: String, password: String) -> impl IntoView {
    let failure = RwSignal::new(None::<AppError>);
    let token = StoredValue::new(token);
    let password = StoredValue::new(password);
    view! {
        <h1>{shared.title.clone()}</h1>
        <p class="muted">
            {format!("Shared with you until {}", format::time_ms(shared.expires_at))}
            {shared.downloads_left.map(|n| format!(" · {n} downloads left"))}
        </p>
        {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
        {if shared.files.is_empty() {
            view! { <p class="empty">"Nothing to download here (any more)."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap"><table class="files data">
                    <thead><tr>
                        {shared.is_folder.then(|| view! { <th scope="col">"Folder"</th> })}
                        <th scope="col">"Name"</th><th scope="col" class="num">"Size"</th><th scope="col">"Class"</th>
                        <th scope="col"><span class="visually-hidden">"Download"</span></th>
                    </tr></thead>
                    <tbody>
                        {shared.files.into_iter().map(|f| {
                            let archived = matches!(f.state.as_str(), "archived" | "restoring");
                            let id = f.id.clone();
                            let label = format!("Download {}", f.name);
                            view! {
                                <tr data-testid="shared-file">
                                    {shared.is_folder.then(|| view! { <td>{f.folder.clone()}</td> })}
                                    <td>{f.name.clone()}</td>
                                    <td class="num">{format::bytes(f.size)}</td>
                                    <td>{class_label(&f.storage_class)}</td>
                                    <td>{if archived {
                                        view! { <span class="muted">"Archived: must be restored by a member first"</span> }.into_any()
                                    } else {
                                        view! {
                                            <button type="button" class="small" aria-label=label on:click=move |_| {
                                                let id = id.clone();
                                                leptos::task::spawn_local(async move {
                                                    match share_download(token.get_value(), password.get_value(), id).await {
                                                        Ok(url) => {
                                                            failure.set(None);
                                                            let _ = window().location().set_href(&url);
                                                        }
                                                        Err(e) => failure.set(Some(e)),
                                                    }
                                                });
                                            }>"Download"</button>
                                        }.into_any()
                                    }}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
    }
}

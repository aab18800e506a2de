//! The SSO sign-in page (an email, then the provider) and the team page's SSO panel. The
//! sign-in page is a plain GET form to `/sso/start`: it works before hydration and needs no
//! server function (nothing changes until the provider sends the person back).
use super::api::{get_sso, remove_sso, save_sso};
use super::{SsoFailure, SsoView};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use crate::workspaces::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SsoSignInPage() -> impl IntoView {
    let q = use_query_map();
    let next = move || q.read().get("next").unwrap_or_default();
    // Only known codes are shown, in our words: a link cannot put its own text on this page.
    let failure = move || q.read().get("error").and_then(|c| SsoFailure::parse(&c));
    view! {
        <Title text="Sign in with SSO — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Sign in with SSO"</h1>
            <p class="muted">"If your company signs in to Nexus Deep Storage through its identity provider, give your work email: we send you there and it sends you back signed in."</p>
            {move || failure().map(|f| view! {
                <div class="alert error" role="alert" data-testid="sso-error"><p>{f.message()}</p></div>
            })}
            <form method="get" action="/sso/start">
                <input type="hidden" name="next" value=next />
                <label for="sso-email">"Work email"</label>
                <input id="sso-email" type="email" name="email" autocomplete="username" required maxlength="254" />
                <button type="submit">"Continue"</button>
            </form>
            <p class="muted"><A href="/sign-in">"Sign in with your password instead"</A></p>
        </section>
    }
}

/// The team page's SSO section, for owners and admins of a team (only the owner edits).
#[component]
pub fn SsoPanel() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let data = Resource::new(move || version.get(), |_| get_sso());
    // Kept here: the form is made again when the settings reload after a save.
    let saved = RwSignal::new(false);
    view! {
        <section class="sso-panel" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Single sign-on (OpenID Connect)"</h2>
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(v) => view! { <SsoForm v=v saved=saved on_done=Callback::new(move |_| version.update(|n| *n += 1)) /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SsoForm(v: SsoView, saved: RwSignal<bool>, on_done: Callback<()>) -> impl IntoView {
    let s = v.settings.clone();
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let refs = (
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Select>::new(),
    );
    let (issuer, client_id, secret, domain, require, role) = refs;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(i), Some(c), Some(sec), Some(d), Some(r), Some(ro)) = (
            issuer.get_untracked(),
            client_id.get_untracked(),
            secret.get_untracked(),
            domain.get_untracked(),
            require.get_untracked(),
            role.get_untracked(),
        ) else {
            return;
        };
        busy.set(true);
        saved.set(false);
        let args = (
            i.value(),
            c.value(),
            sec.value(),
            d.value(),
            r.checked(),
            ro.value(),
        );
        leptos::task::spawn_local(async move {
            let (i, c, s, d, r, ro) = args;
            match save_sso(i, c, s, d, r.then(|| "on".to_string()), ro).await {
                Ok(_) => {
                    failure.set(None);
                    saved.set(true);
                    sec.set_value("");
                    on_done.run(());
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let remove = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match remove_sso().await {
                Ok(()) => {
                    failure.set(None);
                    saved.set(false);
                    on_done.run(());
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let configured = s.is_some();
    let role_now = s
        .as_ref()
        .map(|s| s.new_member_role)
        .unwrap_or(Role::Member);
    view! {
        <p class="muted">
            {if configured {
                "People from the domain below sign in through your identity provider; someone new joins this team with the role chosen. A session signed in this way reaches this team only."
            } else {
                "Let your team sign in through your company's identity provider (Okta, Entra ID, Google Workspace, Keycloak…). Register this app there as a web application with the redirect URI below, then fill in what the provider gives you."
            }}
        </p>
        <dl class="facts">
            <dt>"Redirect URI (register it at the provider)"</dt>
            <dd><code data-testid="sso-redirect-uri">{v.redirect_uri.clone()}</code></dd>
            <dt>"Sign-in link for your team"</dt>
            <dd><code data-testid="sso-sign-in-url">{v.sign_in_url.clone()}</code></dd>
            {s.as_ref().map(|s| view! {
                <dt>"Last changed"</dt><dd>{format::time_ms(s.updated_at)}</dd>
            })}
        </dl>
        {(!v.may_edit).then(|| view! {
            <p class="muted">{match &s {
                Some(s) => format!("Set up for {} ({}). Require SSO: {}. Only the team's owner changes it.", s.allowed_domain, s.issuer, if s.require_sso { "on" } else { "off" }),
                None => "Not set up. Only the team's owner can set it up.".to_string(),
            }}</p>
        })}
        {v.may_edit.then(|| view! {
            <form class="sso-form" method="post" action="/api/save_sso" on:submit=submit aria-label="Single sign-on settings">
                <label for="sso-issuer">"Issuer URL"</label>
                <input id="sso-issuer" name="issuer" type="url" required maxlength="2000" placeholder="https://login.example.com"
                    value=s.as_ref().map(|s| s.issuer.clone()).unwrap_or_default() node_ref=issuer
                    aria-describedby="sso-issuer-hint" />
                <p id="sso-issuer-hint" class="hint">"The provider's issuer exactly as it states it (its configuration is read from /.well-known/openid-configuration under it)."</p>
                <label for="sso-client-id">"Client id"</label>
                <input id="sso-client-id" name="client_id" type="text" required maxlength="255" autocomplete="off"
                    value=s.as_ref().map(|s| s.client_id.clone()).unwrap_or_default() node_ref=client_id />
                <label for="sso-client-secret">"Client secret"</label>
                <input id="sso-client-secret" name="client_secret" type="password" maxlength="1024" autocomplete="new-password"
                    required=!configured node_ref=secret aria-describedby="sso-secret-hint" />
                <p id="sso-secret-hint" class="hint">{if configured { "Saved, and never shown again. Leave empty to keep it." } else { "Kept on the server and never shown again." }}</p>
                <label for="sso-domain">"Email domain"</label>
                <input id="sso-domain" name="allowed_domain" type="text" required maxlength="253" placeholder="example.com"
                    value=s.as_ref().map(|s| s.allowed_domain.clone()).unwrap_or_default() node_ref=domain
                    aria-describedby="sso-domain-hint" />
                <p id="sso-domain-hint" class="hint">"Only addresses in this domain sign in through the provider."</p>
                <label for="sso-role">"New people join as"</label>
                <select id="sso-role" name="new_member_role" node_ref=role>
                    {[Role::Member, Role::Viewer].into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == role_now>{format!("{} — {}", r.label(), r.what())}</option>
                    }).collect_view()}
                </select>
                <label class="check">
                    <input type="checkbox" name="require_sso" value="on" node_ref=require
                        checked=s.as_ref().is_some_and(|s| s.require_sso) />
                    " Require SSO: members reach this team only through the provider (you, the owner, can still use your password)."
                </label>
                {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
                {move || saved.get().then(|| view! { <p class="alert success" role="status">"Saved. The provider answered."</p> })}
                <button type="submit" disabled=move || busy.get()>{if configured { "Save" } else { "Set up SSO" }}</button>
                {configured.then(|| view! {
                    " "
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=remove>"Turn SSO off"</button>
                })}
            </form>
        })}
    }
}

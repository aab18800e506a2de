//! Nexus Deep Storage: the Leptos app (pages, components, server functions, shared types).
//! Compiled twice: with `ssr` into the server, with `hydrate` into the browser's wasm.
#![recursion_limit = "256"]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod checksums;
pub mod components;
#[cfg(feature = "ssr")]
pub mod core;
pub mod developer;
pub mod downloads;
pub mod error;
#[cfg(feature = "ssr")]
pub mod events;
pub mod files;
pub mod format;
#[cfg(feature = "ssr")]
pub mod jobs;
pub mod notify;
pub mod ops;
pub mod pricing;
#[cfg(feature = "ssr")]
pub mod request_id;
pub mod shares;
pub mod sso;
pub mod teams;
pub mod tiers;
pub mod uploads;
pub mod usage;
pub mod vaults;
pub mod workspaces;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <script src="/upload-helpers.js" defer></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Pages render whole (`SsrMode::Async`): they are small, their status code and redirects
/// are then right, and no response waits on a stream that a resource forgot to finish.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/nexus.css" />
        // Every page's title passes through this: leptos_meta writes the server's `<title>`
        // text as it is, and titles carry names people chose (a vault called
        // `</title><script>…`). In the browser the title is set as text, so it stays as is.
        <Title formatter=page_title text="Nexus Deep Storage" />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home ssr=SsrMode::Async />
                    <Route path=path!("/sign-in") view=auth::ui::SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in/link") view=auth::ui::SignInLinkPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in/forgot") view=auth::account_ui::ForgotPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in/sso") view=sso::ui::SsoSignInPage ssr=SsrMode::Async />
                    <Route path=path!("/status") view=ops::ui::StatusPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=admin::ui::AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=auth::account_ui::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/account/email") view=auth::account_ui::EmailChangePage ssr=SsrMode::Async />
                    <Route path=path!("/team") view=teams::ui::TeamPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=teams::audit_ui::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/shares") view=shares::ui::SharesPage ssr=SsrMode::Async />
                    <Route path=path!("/s/:token") view=shares::ui::SharedPage ssr=SsrMode::Async />
                    <Route path=path!("/invite") view=teams::ui::InvitePage ssr=SsrMode::Async />
                    <Route path=path!("/sign-up") view=auth::ui::SignUpPage ssr=SsrMode::Async />
                    <Route path=path!("/vaults") view=vaults::ui::VaultsPage ssr=SsrMode::Async />
                    <Route path=path!("/vaults/:id") view=vaults::ui::VaultPage ssr=SsrMode::Async />
                    <Route path=path!("/trash") view=files::ui::TrashPage ssr=SsrMode::Async />
                    <Route path=path!("/restores") view=tiers::ui::RestoresPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=notify::ui::NotificationsPage ssr=SsrMode::Async />
                    <Route path=path!("/outbox") view=notify::ui::OutboxPage ssr=SsrMode::Async />
                    <Route path=path!("/usage") view=usage::ui::UsagePage ssr=SsrMode::Async />
                    <Route path=path!("/billing") view=billing::ui::BillingPage ssr=SsrMode::Async />
                    <Route path=path!("/developer") view=developer::ui::DeveloperPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// A page's title as the `<title>` element's text: escaped where the server writes it.
fn page_title(text: String) -> String {
    if cfg!(feature = "ssr") {
        format::html_text(&text)
    } else {
        text
    }
}

/// Top bar: the product, and who is signed in. Refetched on every navigation so signing in
/// or out shows at once.
#[component]
fn Header() -> impl IntoView {
    let location = use_location();
    let user = Resource::new(
        move || location.pathname.get(),
        |_| auth::api::current_user(),
    );
    let unread = notify::ui::unread_resource();
    let quota = Resource::new(
        move || location.pathname.get(),
        |_| usage::api::usage_quota(),
    );
    let spaces = Resource::new(
        move || location.pathname.get(),
        |_| teams::api::list_workspaces(),
    );
    // While the header loads again after a navigation it keeps what it showed — except the
    // signed-out links, which would be wrong for the moment after signing in: those hide
    // until the header knows who is there.
    let pending = RwSignal::new(false);
    let signed_out_shown = RwSignal::new(false);
    view! {
        <header class="topbar" class:rechecking=move || pending.get() && signed_out_shown.get()>
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Nexus Deep Storage"
            </A>
            <Transition fallback=|| () set_pending=pending.write_only()>
                {move || Suspend::new(async move {
                    // Both in this one Suspend: a Transition nested in it would be made at
                    // different points on the server and in the browser, and hydration
                    // would pair the page's resources with the wrong data.
                    let unread = unread.await.unwrap_or(0);
                    let quota = quota.await.ok().flatten();
                    let spaces = spaces.await.unwrap_or_default();
                    let user = user.await;
                    signed_out_shown.set(!matches!(user, Ok(Some(_))));
                    match user {
                        Ok(Some(u)) => {
                            let banner = (!u.email_confirmed).then(|| {
                                view! { <auth::account_ui::UnconfirmedBanner email=u.email.clone() /> }
                            });
                            view! {
                                {(!spaces.is_empty()).then(|| view! { <teams::ui::WorkspaceSwitcher workspaces=spaces /> })}
                                <nav aria-label="Account">
                                    {quota.map(|q| view! { <usage::ui::QuotaMeter quota=q /> })}
                                    <A href="/restores">"Restores"</A>
                                    <A href="/usage">"Usage"</A>
                                    <A href="/developer">"Developer"</A>
                                    <notify::ui::Bell unread=unread />
                                    <auth::ui::AccountMenu user=u />
                                </nav>
                                {banner}
                            }.into_any()
                        }
                        _ => view! {
                            <nav aria-label="Account">
                                <A href="/sign-in">"Sign in"</A>
                                <A href="/sign-up" attr:class="button small">"Create account"</A>
                            </nav>
                        }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn Home() -> impl IntoView {
    let deleted = move || {
        leptos_router::hooks::use_query_map()
            .read()
            .get("deleted")
            .is_some()
    };
    view! {
        <Title text="Nexus Deep Storage — keep files for years, cheaply and safely" />
        {move || deleted().then(|| view! {
            <div class="alert info" role="status" data-testid="account-deleted">
                <p>"Your account was deleted, with the workspaces you owned alone and their files. We mailed you a note."</p>
            </div>
        })}
        <section class="hero">
            <h1>"Keep files for years. Get them back when you need them."</h1>
            <p class="lead">
                "Upload straight to object storage, choose how cold each file sleeps — from S3 Standard "
                "down to Glacier Deep Archive — and restore it knowing the cost and the wait up front."
            </p>
            <p class="hero-actions">
                <A href="/sign-up" attr:class="button">"Create an account"</A>
                <A href="/vaults" attr:class="button secondary">"Go to my vaults"</A>
            </p>
        </section>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/vaults">"Go to your vaults"</A> "."</p>
        </section>
    }
}

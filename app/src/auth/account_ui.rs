//! The account page (email, password, sessions, mail, export, deletion), the "forgot password / sign-in link" page,
//! the page a mailed email-change link opens, and the banner for an unconfirmed address.
//! Plain forms posting to server functions: they work before hydration too.
use super::SessionInfo;
use super::account_api::{
    ChangePassword, ConfirmEmailChange, DeleteAccount, RequestEmailChange, RequestSignInLink,
    ResendConfirmation, SignOutEverywhere, account_sessions, end_session,
};
use super::ui::{field_error, form_error};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use crate::notify::MailPref;
use crate::notify::api::{mail_prefs, set_mail_pref};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// Asks for a mailed link: one that signs in without the password, or one that resets it.
#[component]
pub fn ForgotPage() -> impl IntoView {
    let action = ServerAction::<RequestSignInLink>::new();
    let value = action.value();
    view! {
        <Title text="Forgot your password — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Sign in by email"</h1>
            <p class="muted">"We mail a link to your address. It works once, for 15 minutes."</p>
            <ActionForm action=action attr:aria-describedby="forgot-error">
                <label for="forgot-email">"Email"</label>
                <input id="forgot-email" type="email" name="email" autocomplete="username" required />
                <fieldset class="choices">
                    <legend>"Send me"</legend>
                    <label class="check">
                        <input type="radio" name="purpose" value="reset" checked />
                        " a link to choose a new password"
                    </label>
                    <label class="check">
                        <input type="radio" name="purpose" value="magic" />
                        " a link that signs me in (keeps my password)"
                    </label>
                </fieldset>
                <p id="forgot-error" class="form-error" role="alert" aria-live="polite">
                    {move || form_error(value.get()).or_else(|| field_error(value.get(), "email"))}
                </p>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Sending…" } else { "Email me the link" }}
                </button>
            </ActionForm>
            <p class="muted"><A href="/sign-in">"Back to sign-in"</A></p>
        </section>
    }
}

/// What a mailed email-change link opens: one button (mail scanners open links; only the
/// person's click uses the single-use token).
#[component]
pub fn EmailChangePage() -> impl IntoView {
    let action = ServerAction::<ConfirmEmailChange>::new();
    let value = action.value();
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    view! {
        <Title text="Confirm your new email — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Confirm your new email"</h1>
            <p class="muted">"Your account will use this address from now on; your old address is told."</p>
            <ActionForm action=action attr:aria-describedby="email-change-error">
                <input type="hidden" name="token" value=token />
                <p id="email-change-error" class="form-error" role="alert" aria-live="polite">
                    {move || form_error(value.get()).or_else(|| field_error(value.get(), "token"))}
                </p>
                <button type="submit" disabled=move || action.pending().get()>"Use this address"</button>
            </ActionForm>
        </section>
    }
}

/// The banner shown while the account's address is not confirmed.
#[component]
pub fn UnconfirmedBanner(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendConfirmation>::new();
    let sent = move || matches!(resend.value().get(), Some(Ok(())));
    view! {
        <div class="banner warn" role="status" data-testid="unconfirmed-banner">
            <span>{format!("Please confirm your email: we mailed a link to {email}.")}</span>
            <ActionForm action=resend attr:class="inline">
                <button type="submit" class="link" disabled=move || resend.pending().get() || sent()>
                    {move || if sent() { "Sent — check your mail" } else { "Send it again" }}
                </button>
            </ActionForm>
        </div>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| super::api::current_user());
    let changed = move || use_query_map().read().get("email_changed").is_some();
    view! {
        <Title text="Account — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Account"</h1>
            {move || changed().then(|| view! {
                <div class="alert success" role="status"><p>"Your email was changed."</p></div>
            })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match user.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(None) => view! { <ErrorNote error=AppError::unauthenticated() /> }.into_any(),
                        Ok(Some(u)) => view! {
                            <EmailSection email=u.email.clone() confirmed=u.email_confirmed />
                            <PasswordSection email=u.email.clone() />
                            <SessionsSection />
                            <MailSection />
                            <DataSection email=u.email />
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EmailSection(email: String, confirmed: bool) -> impl IntoView {
    let action = ServerAction::<RequestEmailChange>::new();
    let value = action.value();
    let sent = move || matches!(value.get(), Some(Ok(())));
    view! {
        <section aria-labelledby="email-h" class="account-block">
            <h2 id="email-h">"Email"</h2>
            <p>
                <span data-testid="account-email">{email}</span>" "
                {if confirmed {
                    view! { <span class="badge ok">"confirmed"</span> }.into_any()
                } else {
                    view! { <span class="badge warn">"not confirmed"</span> }.into_any()
                }}
            </p>
            <details>
                <summary>"Change email"</summary>
                <ActionForm action=action attr:aria-describedby="email-error">
                    <label for="new-email">"New email"</label>
                    <input id="new-email" type="email" name="email" autocomplete="email" required />
                    <label for="email-password">"Your password"</label>
                    <input id="email-password" type="password" name="password" autocomplete="current-password" required />
                    <p id="email-error" class="form-error" role="alert" aria-live="polite">
                        {move || form_error(value.get())
                            .or_else(|| field_error(value.get(), "email"))
                            .or_else(|| field_error(value.get(), "current_password"))}
                    </p>
                    {move || sent().then(|| view! {
                        <p class="alert info" role="status">"If no other account uses that address, a link to confirm it is on its way there. Your email changes when you open it."</p>
                    })}
                    <button type="submit" disabled=move || action.pending().get()>"Send the confirmation link"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn PasswordSection(email: String) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let value = action.value();
    let done = move || matches!(value.get(), Some(Ok(())));
    view! {
        <section aria-labelledby="password-h" class="account-block">
            <h2 id="password-h">"Password"</h2>
            <ActionForm action=action attr:aria-describedby="password-error">
                // For password managers: whose password this is.
                <input type="email" name="username" autocomplete="username" value=email hidden readonly />
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" name="current_password" autocomplete="current-password" required />
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" name="new_password" autocomplete="new-password"
                    required minlength="10" aria-describedby="new-password-hint" />
                <p id="new-password-hint" class="hint">"At least 10 characters. Every other session is signed out."</p>
                <p id="password-error" class="form-error" role="alert" aria-live="polite">
                    {move || form_error(value.get())
                        .or_else(|| field_error(value.get(), "current_password"))
                        .or_else(|| field_error(value.get(), "password"))}
                </p>
                {move || done().then(|| view! {
                    <p class="alert success" role="status">"Password changed. Your other sessions were signed out."</p>
                })}
                <button type="submit" disabled=move || action.pending().get()>"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsSection() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let sessions = Resource::new(move || version.get(), |_| account_sessions());
    let failure = RwSignal::new(None::<AppError>);
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let end = move |id: String| {
        leptos::task::spawn_local(async move {
            match end_session(id).await {
                Ok(()) => failure.set(None),
                Err(e) => failure.set(Some(e)),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <section aria-labelledby="sessions-h" class="account-block">
            <h2 id="sessions-h">"Signed-in sessions"</h2>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(list) => view! { <SessionTable list=list on_end=Callback::new(end) /> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=everywhere attr:class="inline">
                <button type="submit" class="secondary">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionTable(list: Vec<SessionInfo>, on_end: Callback<String>) -> impl IntoView {
    view! {
        <div class="table-wrap"><table class="files data sessions">
            <thead><tr>
                <th scope="col">"Device"</th><th scope="col">"Address"</th>
                <th scope="col">"Signed in"</th><th scope="col">"Last seen"</th>
                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|s| {
                    let id = s.id.clone();
                    let label = format!("Sign out {} ({})", s.device, s.ip);
                    view! {
                        <tr data-testid="session-row">
                            <td>{s.device.clone()}{s.current.then(|| view! { " " <span class="badge ok">"this session"</span> })}</td>
                            <td class="mono">{s.ip.clone()}</td>
                            <td>{format::time_ms(s.created_at)}</td>
                            <td>{format::time_ms(s.last_seen_at)}</td>
                            <td>
                                {(!s.current).then(|| view! {
                                    <button type="button" class="link" aria-label=label
                                        on:click=move |_| on_end.run(id.clone())>"Sign out"</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

#[component]
fn MailSection() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let prefs = Resource::new(move || version.get(), |_| mail_prefs());
    let failure = RwSignal::new(None::<AppError>);
    view! {
        <section aria-labelledby="mail-h" class="account-block">
            <h2 id="mail-h">"Mail"</h2>
            <p class="muted">"Everything also shows under Notifications in the app. Email me when…"</p>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match prefs.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(list) => view! {
                            <fieldset class="choices">
                                <legend class="visually-hidden">"Email me when"</legend>
                                {list.into_iter().map(|p: MailPref| {
                                    let kind = p.kind.clone();
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" prop:checked=p.mail disabled=!p.optional
                                                on:change=move |ev| {
                                                    let (k, on) = (kind.clone(), event_target_checked(&ev));
                                                    leptos::task::spawn_local(async move {
                                                        match set_mail_pref(k, on).await {
                                                            Ok(()) => failure.set(None),
                                                            Err(e) => failure.set(Some(e)),
                                                        }
                                                        version.update(|v| *v += 1);
                                                    });
                                                } />
                                            " "{p.label}
                                            {(!p.optional).then(|| view! { <span class="muted small">" (always)"</span> })}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DataSection(email: String) -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let value = delete.value();
    view! {
        <section aria-labelledby="data-h" class="account-block">
            <h2 id="data-h">"Your data"</h2>
            <p>
                <a class="button secondary small" href="/account/export.json" rel="external" download="nexus-export.json">"Export my data (JSON)"</a>
                " "<span class="muted small">"Your account, sessions, workspaces, and every file you own with its checksums, plus your usage CSV."</span>
            </p>
            <details class="danger-zone">
                <summary>"Delete my account"</summary>
                <p>"This deletes the workspaces you own alone with every file in them (their storage is emptied), ends every session, key and link of yours, and cannot be undone. Teams you own with others must be handed over first; a paid plan must be cancelled first."</p>
                <ActionForm action=delete attr:aria-describedby="delete-error">
                    <label for="delete-confirm">{format!("Type your email ({email}) to confirm")}</label>
                    <input id="delete-confirm" type="text" name="confirm" autocomplete="off" required />
                    <p id="delete-error" class="form-error" role="alert" aria-live="polite">
                        {move || form_error(value.get()).or_else(|| field_error(value.get(), "confirm"))}
                    </p>
                    <button type="submit" class="danger" disabled=move || delete.pending().get()>"Delete my account"</button>
                </ActionForm>
            </details>
        </section>
    }
}

//! Sign-in and sign-up pages, and the signed-in account menu. Plain forms that post to the
//! server functions: they work before hydration, and show the server's error beside them.
use super::User;
use super::api::{SignIn, SignInWithLink, SignOut, SignUp};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

pub(super) fn field_error(value: Option<Result<(), AppError>>, field: &str) -> Option<String> {
    match value {
        Some(Err(e)) if e.field() == Some(field) => Some(e.to_string()),
        _ => None,
    }
}

pub(super) fn form_error(value: Option<Result<(), AppError>>) -> Option<String> {
    match value {
        Some(Err(e)) if e.field().is_none() => Some(e.to_string()),
        _ => None,
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let next = move || use_query_map().read().get("next").unwrap_or_default();
    let signed_up = move || use_query_map().read().get("signed_up").is_some();
    let link_sent = move || use_query_map().read().get("link_sent");
    view! {
        <Title text="Sign in — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            {move || signed_up().then(|| view! {
                <div class="alert info" role="status">
                    <p><strong>"Check your email."</strong>" We have sent a link to the address you gave. Open it to confirm the address and sign in — or sign in below with the password you chose."</p>
                </div>
            })}
            {move || link_sent().map(|p| view! {
                <div class="alert info" role="status" data-testid="link-sent">
                    <p><strong>"Check your email."</strong>{if p == "reset" {
                        " If an account uses that address, a link to choose a new password is on its way. It works once, for 15 minutes."
                    } else {
                        " If an account uses that address, a sign-in link is on its way. It works once, for 15 minutes."
                    }}</p>
                </div>
            })}
            <ActionForm action=action attr:aria-describedby="signin-error">
                <input type="hidden" name="next" value=next />
                <label for="signin-email">"Email"</label>
                <input id="signin-email" type="email" name="email" autocomplete="username" required />
                <label for="signin-password">"Password"</label>
                <input id="signin-password" type="password" name="password" autocomplete="current-password" required />
                <p id="signin-error" class="form-error" role="alert" aria-live="polite">
                    {move || form_error(value.get()).or_else(|| field_error(value.get(), "email"))}
                </p>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="muted"><A href="/sign-in/forgot">"Forgot your password?"</A></p>
            <p class="muted"><A href=move || {
                let n = next();
                if n.is_empty() { "/sign-in/sso".to_string() } else { format!("/sign-in/sso?next={}", urlencoding::encode(&n)) }
            }>"Use your company's single sign-on (SSO)"</A></p>
            <p class="muted">"New here? " <A href="/sign-up">"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let value = action.value();
    let next = move || use_query_map().read().get("next").unwrap_or_default();
    view! {
        <Title text="Create account — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Create your account"</h1>
            <p class="muted">"You get a personal workspace with a vault, ready for your first upload."</p>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next />
                <label for="signup-email">"Email"</label>
                <input id="signup-email" type="email" name="email" autocomplete="email" required
                    aria-describedby="signup-email-error" />
                <p id="signup-email-error" class="form-error" aria-live="polite">
                    {move || field_error(value.get(), "email")}
                </p>
                <label for="signup-password">"Password"</label>
                <input id="signup-password" type="password" name="password" autocomplete="new-password"
                    required minlength="10" aria-describedby="signup-password-hint signup-password-error" />
                <p id="signup-password-hint" class="hint">"At least 10 characters."</p>
                <p id="signup-password-error" class="form-error" aria-live="polite">
                    {move || field_error(value.get(), "password")}
                </p>
                <p class="form-error" role="alert">{move || form_error(value.get())}</p>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
        </section>
    }
}

/// Where a mailed sign-in link lands: one button, so that mail scanners that open links do
/// not use up the single-use token (only the person's click posts it).
#[component]
pub fn SignInLinkPage() -> impl IntoView {
    let action = ServerAction::<SignInWithLink>::new();
    let value = action.value();
    let token = move || use_query_map().read().get("token").unwrap_or_default();
    let reset = move || use_query_map().read().get("reset").is_some();
    view! {
        <Title text="Sign in with a link — Nexus Deep Storage" />
        <section class="panel narrow">
            <h1>"Sign in with your link"</h1>
            <p class="muted">"This link from your mail works once, for 15 minutes."</p>
            <ActionForm action=action attr:aria-describedby="link-error">
                <input type="hidden" name="token" value=token />
                <label for="link-password">"New password"</label>
                <input id="link-password" type="password" name="password" autocomplete="new-password"
                    required=reset minlength="10" aria-describedby="link-password-help link-password-error" />
                <p id="link-password-help" class="muted small">{move || if reset() {
                    "At least 10 characters. It replaces your old password and signs out every other session."
                } else {
                    "Needed when you confirm your email: it replaces any password the account had and signs out every other session. Otherwise leave it empty to keep your password."
                }}</p>
                <p id="link-password-error" class="form-error" role="alert">
                    {move || field_error(value.get(), "password")}
                </p>
                <p id="link-error" class="form-error" role="alert" aria-live="polite">
                    {move || form_error(value.get()).or_else(|| field_error(value.get(), "token"))}
                </p>
                <button type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Continue and sign in" }}
                </button>
            </ActionForm>
            <p class="muted"><A href="/sign-in">"Sign in with your password instead"</A></p>
        </section>
    }
}

#[component]
pub fn AccountMenu(user: User) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <A href="/vaults">"Vaults"</A>
        <A href="/account" attr:class="account" attr:title="Your account">{user.email}</A>
        <ActionForm action=sign_out attr:class="inline">
            <button type="submit" class="link">"Sign out"</button>
        </ActionForm>
    }
}

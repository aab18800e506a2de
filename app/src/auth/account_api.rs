//! The account page's and the mailed links' server functions: thin calls into
//! `auth::account`. Argument names match the forms' field names (they work before hydration).
use super::SessionInfo;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;
#[cfg(feature = "ssr")]
use crate::core::request::{client_ip, finish, set_header, state};

/// Mails a sign-in link (`purpose` "magic") or a password reset link ("reset") when the
/// address has an account; the answer is the same either way: back to sign-in with a note.
#[server(prefix = "/api", endpoint = "request_sign_in_link")]
pub async fn request_sign_in_link(email: String, purpose: String) -> Result<(), AppError> {
    use super::service::LinkPurpose;
    let st = state()?;
    finish(
        async {
            let p = match purpose.as_str() {
                "reset" => LinkPurpose::Reset,
                "magic" => LinkPurpose::Magic,
                _ => {
                    return Err(AppError::invalid(
                        "purpose",
                        "Ask for a sign-in or a reset link.",
                    ));
                }
            };
            super::account::request_link(&st, &email, p, &client_ip(&st)).await?;
            leptos_axum::redirect(&format!("/sign-in?link_sent={}", purpose));
            Ok(())
        }
        .await,
    )
}

/// The account's signed-in sessions.
#[server(prefix = "/api", endpoint = "account_sessions")]
pub async fn account_sessions() -> Result<Vec<SessionInfo>, AppError> {
    with_actor(|st, a| async move { super::account::list_sessions(&st, &a).await }).await
}

/// Ends one of the account's sessions.
#[server(prefix = "/api", endpoint = "end_session")]
pub async fn end_session(session_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::account::end_session(&st, &a, &session_id).await }).await
}

/// Ends every session of the account, this one too, and goes to sign-in.
#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    with_actor(|st, a| async move {
        super::account::end_all_sessions(&st, &a).await?;
        set_header(
            http::header::SET_COOKIE,
            &super::service::session_cookie(&st, None, 0),
        );
        leptos_axum::redirect("/sign-in");
        Ok(())
    })
    .await
}

/// Sets a new password (the current one is checked); other sessions end.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    with_actor(|st, a| async move {
        let ip = client_ip(&st);
        super::account::change_password(&st, &a, &current_password, &new_password, &ip).await
    })
    .await
}

/// Mails a link to the new address that moves the account to it.
#[server(prefix = "/api", endpoint = "request_email_change")]
pub async fn request_email_change(email: String, password: String) -> Result<(), AppError> {
    with_actor(|st, a| async move {
        let ip = client_ip(&st);
        super::account::request_email_change(&st, &a, &email, &password, &ip).await
    })
    .await
}

/// Uses a mailed email-change link, then shows the account page.
#[server(prefix = "/api", endpoint = "confirm_email_change")]
pub async fn confirm_email_change(token: String) -> Result<(), AppError> {
    let st = state()?;
    finish(
        async {
            super::account::confirm_email_change(&st, &token).await?;
            leptos_axum::redirect("/account?email_changed=1");
            Ok(())
        }
        .await,
    )
}

/// Mails the confirmation link again.
#[server(prefix = "/api", endpoint = "resend_confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    with_actor(|st, a| async move { super::account::resend_confirmation(&st, &a).await }).await
}

/// Deletes the account (`confirm` is its email), signs out and goes to the home page.
#[server(prefix = "/api", endpoint = "delete_account")]
pub async fn delete_account(confirm: String) -> Result<(), AppError> {
    with_actor(|st, a| async move {
        super::account::delete_account(&st, &a, &confirm).await?;
        set_header(
            http::header::SET_COOKIE,
            &super::service::session_cookie(&st, None, 0),
        );
        leptos_axum::redirect("/?deleted=1");
        Ok(())
    })
    .await
}

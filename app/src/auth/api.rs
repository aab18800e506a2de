//! The browser's door to accounts. Argument names match the forms' field names, so the forms
//! work before (and without) hydration.
use super::User;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::core::request::{client_ip, finish, set_header, state, user_agent};

/// Hands the new session to the browser and sends it on: to `next` when that is a path on
/// this site, else to `otherwise`.
#[cfg(feature = "ssr")]
fn enter(
    st: &crate::core::AppState,
    s: &super::service::SignedIn,
    next: Option<String>,
    otherwise: String,
) {
    use super::service;
    let cookie = service::session_cookie(st, Some(&s.token), s.expires_at);
    set_header(http::header::SET_COOKIE, &cookie);
    leptos_axum::redirect(&service::safe_next(next.as_deref()).unwrap_or(otherwise));
}

/// Creates the account (or mails the address's owner): the answer is the same either way, a
/// redirect to sign-in with a note to check the mail.
#[server(prefix = "/api", endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::service;
    let st = state()?;
    finish(
        async {
            service::sign_up(&st, &email, &password, &client_ip(&st)).await?;
            let to = match service::safe_next(next.as_deref()) {
                Some(n) => format!("/sign-in?signed_up=1&next={}", urlencoding::encode(&n)),
                None => "/sign-in?signed_up=1".to_string(),
            };
            leptos_axum::redirect(&to);
            Ok(())
        }
        .await,
    )
}

/// Signs in with a link from a mail (the token is the link's), then goes to the vaults. A
/// first link on an unconfirmed account needs a new `password` (see the service).
#[server(prefix = "/api", endpoint = "sign_in_with_link")]
pub async fn sign_in_with_link(token: String, password: Option<String>) -> Result<(), AppError> {
    use super::service;
    let st = state()?;
    finish(
        async {
            let s = service::sign_in_with_link(
                &st,
                &token,
                password.as_deref(),
                &client_ip(&st),
                &user_agent(),
            )
            .await?;
            enter(&st, &s, None, "/vaults".into());
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::service;
    let st = state()?;
    finish(
        async {
            let s =
                service::sign_in(&st, &email, &password, &client_ip(&st), &user_agent()).await?;
            enter(&st, &s, next, "/vaults".into());
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use super::service;
    let st = state()?;
    finish(
        async {
            if let Some(parts) = crate::core::request::parts()
                && let Some(token) = parts
                    .headers
                    .get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(service::token_from_cookie_header)
            {
                service::sign_out(&st, token).await?;
            }
            set_header(
                http::header::SET_COOKIE,
                &service::session_cookie(&st, None, 0),
            );
            leptos_axum::redirect("/sign-in");
            Ok(())
        }
        .await,
    )
}

/// The signed-in user, or None.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let st = state()?;
    finish(
        crate::auth::session::current_user(&st)
            .await
            .map(|o| o.map(|(_, u)| u)),
    )
}

//! The team page's SSO panel: thin calls into `sso::service` as the signed-in person. (The
//! sign-in itself is two plain routes, `/sso/start` and `/sso/callback`, in the server.)
use super::{SsoSettings, SsoView};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;

/// The current team's SSO settings (owners and admins).
#[server(prefix = "/api", endpoint = "get_sso")]
pub async fn get_sso() -> Result<SsoView, AppError> {
    with_actor(|st, a| async move { super::service::view(&st, &a).await }).await
}

/// Saves the current team's provider (owner only); an empty `client_secret` keeps the saved
/// one. `require_sso` is a checkbox: present means on.
#[server(prefix = "/api", endpoint = "save_sso")]
pub async fn save_sso(
    issuer: String,
    client_id: String,
    client_secret: String,
    allowed_domain: String,
    require_sso: Option<String>,
    new_member_role: String,
) -> Result<SsoSettings, AppError> {
    with_actor(|st, a| async move {
        let input = super::service::SsoInput {
            issuer,
            client_id,
            client_secret,
            allowed_domain,
            require_sso: require_sso.is_some_and(|v| v != "false" && v != "off"),
            new_member_role,
        };
        super::service::save(&st, &a, input).await
    })
    .await
}

/// Turns SSO off for the current team (owner only); the sessions it signed in end.
#[server(prefix = "/api", endpoint = "remove_sso")]
pub async fn remove_sso() -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::remove(&st, &a).await }).await
}

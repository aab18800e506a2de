//! Server functions of notifications and the development outbox.
use super::{Mail, MailPref, Notification};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/api", endpoint = "notifications")]
pub async fn notifications() -> Result<Vec<Notification>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::list(&st, &actor(&st).await?).await }.await)
}

/// Unread notifications; 0 when nobody is signed in (the header asks on every page).
#[server(prefix = "/api", endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(
        async {
            match actor(&st).await {
                Ok(a) => super::service::unread_count(&st, &a).await,
                Err(AppError::Unauthenticated { .. }) => Ok(0),
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "mark_notifications_read", input = Json)]
pub async fn mark_notifications_read(ids: Option<Vec<String>>) -> Result<(), AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::mark_read(&st, &actor(&st).await?, ids).await }.await)
}

/// Mail sent to the signed-in person while no SMTP server is set (development).
#[server(prefix = "/api", endpoint = "outbox")]
pub async fn outbox() -> Result<Vec<Mail>, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::outbox(&st, &actor(&st).await?).await }.await)
}

/// The person's mail setting per kind of notification.
#[server(prefix = "/api", endpoint = "mail_prefs")]
pub async fn mail_prefs() -> Result<Vec<MailPref>, AppError> {
    crate::auth::session::with_actor(
        |st, a| async move { super::service::mail_prefs(&st, &a).await },
    )
    .await
}

/// Turns one kind's mail on or off.
#[server(prefix = "/api", endpoint = "set_mail_pref")]
pub async fn set_mail_pref(kind: String, mail: bool) -> Result<(), AppError> {
    crate::auth::session::with_actor(|st, a| async move {
        super::service::set_mail_pref(&st, &a, &kind, mail).await
    })
    .await
}

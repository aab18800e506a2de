//! The team page's, the switcher's and the invitation page's server functions: thin calls
//! into `teams::service` as the signed-in person.
use super::{Invite, TeamView, WorkspaceInfo};
use crate::audit::{AuditEntry, AuditFilter};
use crate::error::AppError;
use crate::workspaces::Role;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::auth::session::with_actor;

/// Every workspace the person belongs to (the current one marked); none without a session
/// (the header asks on every page, signed in or not).
#[server(prefix = "/api", endpoint = "list_workspaces")]
pub async fn list_workspaces() -> Result<Vec<WorkspaceInfo>, AppError> {
    use crate::core::request::{finish, state};
    let st = state()?;
    finish(
        async {
            match crate::auth::session::current_user(&st).await? {
                Some((a, _)) => super::service::list(&st, &a).await,
                None => Ok(vec![]),
            }
        }
        .await,
    )
}

/// Makes a team workspace and switches to it, then shows its page.
#[server(prefix = "/api", endpoint = "create_team")]
pub async fn create_team(name: String) -> Result<WorkspaceInfo, AppError> {
    with_actor(|st, a| async move {
        let w = super::service::create_team(&st, &a, &name).await?;
        leptos_axum::redirect("/team");
        Ok(w)
    })
    .await
}

/// Switches this session to another workspace, then goes to its vaults.
#[server(prefix = "/api", endpoint = "switch_workspace")]
pub async fn switch_workspace(workspace_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move {
        if super::service::switch(&st, &a, &workspace_id).await? {
            leptos_axum::redirect("/vaults");
        } else {
            leptos_axum::redirect(&format!(
                "/sso/start?workspace={}",
                urlencoding::encode(&workspace_id)
            ));
        }
        Ok(())
    })
    .await
}

/// The current workspace's members (and open invitations, for owners and admins).
#[server(prefix = "/api", endpoint = "team")]
pub async fn team() -> Result<TeamView, AppError> {
    with_actor(|st, a| async move { super::service::view(&st, &a).await }).await
}

#[server(prefix = "/api", endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<Invite, AppError> {
    with_actor(|st, a| async move { super::service::invite(&st, &a, &email, &role).await }).await
}

#[server(prefix = "/api", endpoint = "revoke_invite")]
pub async fn revoke_invite(invite_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::revoke_invite(&st, &a, &invite_id).await })
        .await
}

/// What an invitation offers: the team's name, the role, and the address it was sent to.
#[server(prefix = "/api", endpoint = "invite_preview")]
pub async fn invite_preview(token: String) -> Result<(String, Role, String), AppError> {
    let st = crate::core::request::state()?;
    crate::core::request::finish(super::service::invite_preview(&st, &token).await)
}

/// Joins the invitation's team and goes to its vaults.
#[server(prefix = "/api", endpoint = "accept_invite")]
pub async fn accept_invite(token: String) -> Result<(), AppError> {
    with_actor(|st, a| async move {
        super::service::accept(&st, &a, &token).await?;
        leptos_axum::redirect("/vaults");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "change_member_role")]
pub async fn change_member_role(user_id: String, role: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::change_role(&st, &a, &user_id, &role).await })
        .await
}

#[server(prefix = "/api", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::remove(&st, &a, &user_id).await }).await
}

/// Leaves the current team and goes back to one's own vaults.
#[server(prefix = "/api", endpoint = "leave_workspace")]
pub async fn leave_workspace() -> Result<(), AppError> {
    with_actor(|st, a| async move {
        super::service::leave(&st, &a).await?;
        leptos_axum::redirect("/vaults");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "transfer_ownership")]
pub async fn transfer_ownership(user_id: String) -> Result<(), AppError> {
    with_actor(|st, a| async move { super::service::transfer(&st, &a, &user_id).await }).await
}

/// A page of the current workspace's audit log (owners and admins), newest first; `before`
/// is the time of the last row of the previous page (0 for the first).
#[server(prefix = "/api", endpoint = "audit_log", input = Json)]
pub async fn audit_log(filter: AuditFilter, before: i64) -> Result<Vec<AuditEntry>, AppError> {
    with_actor(|st, a| async move { crate::audit::service::page(&st, &a, &filter, before).await })
        .await
}

use super::Role;
use crate::core::{Actor, Db, new_id};
use crate::error::AppError;

/// Creates a user's personal workspace with the user as owner (inside sign-up's transaction).
pub async fn create_personal(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    now: i64,
) -> Result<String, AppError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO workspaces (id, name, kind, created_at) VALUES ($1, $2, 'personal', $3)",
    )
    .bind(&id)
    .bind("Personal")
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(Role::Owner.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The actor's role in the workspace, or NotFound when it has none: a workspace one is not a
/// member of does not exist as far as one can tell.
pub async fn require_role(
    db: &Db,
    actor: &Actor,
    workspace_id: &str,
    at_least: Role,
) -> Result<Role, AppError> {
    let role: Option<(String,)> =
        sqlx::query_as("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(workspace_id)
            .bind(actor.user_id())
            .fetch_optional(&db.pool)
            .await?;
    let role = role
        .and_then(|(r,)| Role::parse(&r))
        .ok_or(AppError::NotFound)?;
    let role = held_by(actor, workspace_id, role)?;
    if role < at_least {
        return Err(AppError::Forbidden {
            message: format!(
                "This needs the {} role in the workspace.",
                at_least.as_str()
            ),
        });
    }
    Ok(role)
}

/// The role an actor holds in a workspace where its person holds `person_role`: a person's
/// own; a key's is what its scopes give (`admin`: admin, a write scope: member, else viewer),
/// never more than its maker's, and only in its own workspace (NotFound elsewhere).
pub fn held_by(actor: &Actor, workspace_id: &str, person_role: Role) -> Result<Role, AppError> {
    match actor {
        Actor::User { .. } => Ok(person_role),
        Actor::Key {
            workspace_id: own, ..
        } if own != workspace_id => Err(AppError::NotFound),
        Actor::Key { .. } => {
            let by_scope = if actor.has_scope("admin") {
                Role::Admin
            } else if actor.has_scope("files:write") || actor.has_scope("restores:write") {
                Role::Member
            } else {
                Role::Viewer
            };
            Ok(by_scope.min(person_role))
        }
    }
}

/// [`require_role`] for something in a vault: also NotFound for a key kept to another vault.
pub async fn require_role_in(
    db: &Db,
    actor: &Actor,
    workspace_id: &str,
    vault_id: &str,
    at_least: Role,
) -> Result<Role, AppError> {
    let only = actor.only_vault();
    if !only.is_empty() && only != vault_id {
        return Err(AppError::NotFound);
    }
    require_role(db, actor, workspace_id, at_least).await
}

/// The workspace the actor works in, with its name and the actor's role there: a key's own;
/// the one the person's session switched to while they are still a member; else their own
/// (personal) workspace, else the first they joined.
pub async fn current(db: &Db, actor: &Actor) -> Result<(String, String, Role), AppError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT w.id, w.name FROM workspaces w
         JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1
         ORDER BY CASE WHEN w.id = $2 THEN 0 WHEN w.kind = 'personal' THEN 1 ELSE 2 END,
                  m.created_at, w.id
         LIMIT 1",
    )
    .bind(actor.user_id())
    .bind(actor.chosen_workspace())
    .fetch_optional(&db.pool)
    .await?;
    let (id, name) = row.ok_or_else(AppError::unauthenticated)?;
    if !actor.only_workspace().is_empty() && actor.only_workspace() != id {
        // A key whose maker has left its workspace.
        return Err(AppError::NotFound);
    }
    let role = require_role(db, actor, &id, Role::Viewer).await?;
    Ok((id, name, role))
}

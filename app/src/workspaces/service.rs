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
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT m.role, CAST(COALESCE(s.require_sso, 0) AS BIGINT) FROM memberships m
         LEFT JOIN workspace_sso s ON s.workspace_id = m.workspace_id
         WHERE m.workspace_id = $1 AND m.user_id = $2",
    )
    .bind(workspace_id)
    .bind(actor.user_id())
    .fetch_optional(&db.pool)
    .await?;
    let (role, require_sso) = row
        .and_then(|(r, s)| Some((Role::parse(&r)?, s != 0)))
        .ok_or(AppError::NotFound)?;
    let role = held_by(actor, workspace_id, role, require_sso)?;
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
/// never more than its maker's, and only in its own workspace (NotFound elsewhere). An SSO
/// session reaches only the workspace it signed in to (NotFound elsewhere); a workspace that
/// requires SSO (`require_sso`) refuses its members' other sessions — not its owner's, who
/// keeps a way in when the provider fails — and not keys or jobs.
pub fn held_by(
    actor: &Actor,
    workspace_id: &str,
    person_role: Role,
    require_sso: bool,
) -> Result<Role, AppError> {
    match actor {
        Actor::User { sso_workspace, .. }
            if !sso_workspace.is_empty() && sso_workspace != workspace_id =>
        {
            Err(AppError::NotFound)
        }
        Actor::User { .. }
            if require_sso
                && actor.is_session()
                && actor.sso_workspace() != workspace_id
                && person_role < Role::Owner =>
        {
            Err(sso_required(workspace_id))
        }
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

/// The answer for a session that is not signed in through the SSO the workspace requires.
pub fn sso_required(workspace_id: &str) -> AppError {
    AppError::Forbidden {
        message: format!(
            "This workspace asks its members to sign in with its single sign-on: /sso/start?workspace={workspace_id}"
        ),
    }
}

/// SQL condition: the membership `m` may be used by this request — not one of a workspace
/// that requires SSO (unless `m` is its owner's) from a person's session that did not sign in
/// through it. `$sso` binds [`Actor::sso_workspace`], `$session` 1 for a person's session
/// ([`Actor::is_session`]) else 0. (An SSO session's other workspaces are left out by
/// [`Actor::only_workspace`].)
pub fn usable_membership(m: &str, sso: usize, session: usize) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM workspace_sso rs WHERE rs.workspace_id = {m}.workspace_id
           AND rs.require_sso = 1 AND {m}.role <> 'owner' AND ${session} = 1 AND rs.workspace_id <> ${sso})"
    )
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
    let sql = format!(
        "SELECT w.id, w.name FROM workspaces w
         JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1
         WHERE ($3 = '' OR w.id = $3) AND {}
         ORDER BY CASE WHEN w.id = $2 THEN 0 WHEN w.kind = 'personal' THEN 1 ELSE 2 END,
                  m.created_at, w.id
         LIMIT 1",
        usable_membership("m", 3, 4)
    );
    let row: Option<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(actor.user_id())
        .bind(actor.chosen_workspace())
        .bind(actor.sso_workspace())
        .bind(i32::from(actor.is_session()))
        .fetch_optional(&db.pool)
        .await?;
    let Some((id, name)) = row else {
        // Every workspace of theirs asks for SSO (someone made by their provider, signed in
        // with a mailed link): say where to sign in.
        let sso: Option<(String,)> = sqlx::query_as(
            "SELECT m.workspace_id FROM memberships m
             JOIN workspace_sso s ON s.workspace_id = m.workspace_id AND s.require_sso = 1
             WHERE m.user_id = $1 ORDER BY m.created_at LIMIT 1",
        )
        .bind(actor.user_id())
        .fetch_optional(&db.pool)
        .await?;
        return Err(match sso {
            Some((ws,)) if actor.sso_workspace().is_empty() => sso_required(&ws),
            _ => AppError::unauthenticated(),
        });
    };
    if !actor.only_workspace().is_empty() && actor.only_workspace() != id {
        // A key whose maker has left its workspace.
        return Err(AppError::NotFound);
    }
    let role = require_role(db, actor, &id, Role::Viewer).await?;
    Ok((id, name, role))
}

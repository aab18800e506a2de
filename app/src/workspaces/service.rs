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

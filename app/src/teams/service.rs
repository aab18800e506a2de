//! Teams: workspaces people share. Making one, switching the session to it, inviting by
//! email (a single-use link that works for [`INVITE_TTL_MS`]), changing roles, removing
//! members, leaving, and handing the workspace to another member. Only people act here
//! (API keys cannot manage members).
//!
//! Who may do what: owners and admins invite, change roles and remove; an admin only acts on
//! members and viewers (never on another admin or the owner) and never makes an admin; the
//! owner does everything and is the only one who can hand the workspace over. Every workspace
//! keeps exactly one owner, who cannot leave or be removed (hand it over first). A personal
//! workspace has only its owner.
use super::{INVITE_TTL_MS, Invite, MAX_MEMBERS, Member, TeamView, WorkspaceInfo};
use crate::audit::service::{Change, record, record_tx};
use crate::core::{Actor, AppState, new_id, random_token, sha256_hex};
use crate::error::AppError;
use crate::workspaces::Role;
use crate::workspaces::service::{current, require_role, sso_required, usable_membership};

/// The person acting (members are never a key's business).
fn person(actor: &Actor) -> Result<&str, AppError> {
    Ok(actor.person("manage workspaces or members")?.0)
}

fn check_team_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "Give the team a name of 1 to 100 characters.",
        ));
    }
    Ok(name.to_string())
}

/// Every workspace the person belongs to, the current one marked.
pub async fn list(st: &AppState, actor: &Actor) -> Result<Vec<WorkspaceInfo>, AppError> {
    let user_id = person(actor)?;
    let (current, _, _) = current(&st.db, actor).await?;
    // An SSO session lists its one workspace; others list every membership, those that need
    // an SSO sign-in first marked.
    let sql = format!(
        "SELECT w.id, w.name, w.kind, m.role, CASE WHEN {} THEN 0 ELSE 1 END FROM workspaces w
         JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1
         WHERE ($2 = '' OR w.id = $2)
         ORDER BY CASE WHEN w.kind = 'personal' THEN 0 ELSE 1 END, LOWER(w.name), w.id",
        usable_membership("m", 2, 3)
    );
    let rows: Vec<(String, String, String, String, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(actor.sso_workspace())
        .bind(i32::from(actor.is_session()))
        .fetch_all(&st.db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind, role, needs_sso)| WorkspaceInfo {
            current: id == current,
            id,
            name,
            kind,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            needs_sso: needs_sso != 0,
        })
        .collect())
}

/// A new team workspace with the person as owner and a first vault; the session switches
/// to it.
pub async fn create_team(
    st: &AppState,
    actor: &Actor,
    name: &str,
) -> Result<WorkspaceInfo, AppError> {
    let user_id = person(actor)?;
    let name = check_team_name(name)?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.user_id = $1 AND m.role = 'owner' AND w.kind = 'team'",
    )
    .bind(user_id)
    .fetch_one(&st.db.pool)
    .await?;
    if n >= 20 {
        return Err(AppError::Forbidden {
            message: "You own 20 teams already.".into(),
        });
    }
    let now = st.clock.now_ms();
    let id = new_id();
    let mut tx = st.db.begin().await?;
    sqlx::query("INSERT INTO workspaces (id, name, kind, created_at) VALUES ($1, $2, 'team', $3)")
        .bind(&id)
        .bind(&name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::vaults::service::create_in_tx(&mut tx, &id, "Team vault", now).await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&id), "member.team_create", format!("workspace:{id}"))
            .detail(name.clone()),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(workspace_id = %id, "team created");
    switch(st, actor, &id).await?;
    Ok(WorkspaceInfo {
        id,
        name,
        kind: "team".into(),
        role: Role::Owner,
        current: true,
        needs_sso: false,
    })
}

/// Makes `workspace_id` the one this session works in (NotFound when not a member).
/// Switches the session to the workspace; `Ok(false)` when it asks for an SSO sign-in first
/// (the caller sends the person to `/sso/start?workspace=`).
pub async fn switch(st: &AppState, actor: &Actor, workspace_id: &str) -> Result<bool, AppError> {
    let (_, session_id) = actor.person("manage workspaces or members")?;
    match require_role(&st.db, actor, workspace_id, Role::Viewer).await {
        Err(e) if e == sso_required(workspace_id) => return Ok(false),
        r => r?,
    };
    sqlx::query("UPDATE sessions SET workspace_id = $1 WHERE id = $2 AND user_id = $3")
        .bind(workspace_id)
        .bind(session_id)
        .bind(actor.user_id())
        .execute(&st.db.pool)
        .await?;
    Ok(true)
}

/// The current workspace's members, and its open invitations for owners and admins.
pub async fn view(st: &AppState, actor: &Actor) -> Result<TeamView, AppError> {
    let user_id = person(actor)?.to_string();
    let (id, name, role) = current(&st.db, actor).await?;
    let kind: (String,) = sqlx::query_as("SELECT kind FROM workspaces WHERE id = $1")
        .bind(&id)
        .fetch_one(&st.db.pool)
        .await?;
    let members: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.email, m.role, m.created_at FROM memberships m
         JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END,
                  u.email",
    )
    .bind(&id)
    .fetch_all(&st.db.pool)
    .await?;
    let invites = if role >= Role::Admin {
        open_invites(st, &id).await?
    } else {
        vec![]
    };
    Ok(TeamView {
        workspace: WorkspaceInfo {
            id,
            name,
            kind: kind.0,
            role,
            current: true,
            needs_sso: false,
        },
        members: members
            .into_iter()
            .map(|(uid, email, r, joined_at)| Member {
                you: uid == user_id,
                user_id: uid,
                email,
                role: Role::parse(&r).unwrap_or(Role::Viewer),
                joined_at,
            })
            .collect(),
        invites,
    })
}

async fn open_invites(st: &AppState, workspace_id: &str) -> Result<Vec<Invite>, AppError> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT i.id, i.email, i.role, u.email, i.created_at, i.expires_at FROM invites i
         JOIN users u ON u.id = i.invited_by
         WHERE i.workspace_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
           AND i.expires_at > $2
         ORDER BY i.created_at DESC, i.id",
    )
    .bind(workspace_id)
    .bind(st.clock.now_ms())
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, email, role, invited_by, created_at, expires_at)| Invite {
                id,
                email,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                invited_by,
                created_at,
                expires_at,
            },
        )
        .collect())
}

/// The current team workspace, where the person holds at least `at_least` (a personal
/// workspace has no members to manage).
async fn managed_team(
    st: &AppState,
    actor: &Actor,
    at_least: Role,
) -> Result<(String, String, Role), AppError> {
    person(actor)?;
    let (id, name, _) = current(&st.db, actor).await?;
    let role = require_role(&st.db, actor, &id, at_least).await?;
    let (kind,): (String,) = sqlx::query_as("SELECT kind FROM workspaces WHERE id = $1")
        .bind(&id)
        .fetch_one(&st.db.pool)
        .await?;
    if kind != "team" {
        return Err(AppError::Forbidden {
            message: "Your personal workspace is yours alone: make a team to work with others."
                .into(),
        });
    }
    Ok((id, name, role))
}

/// Invites `email` to the current team with `role` (owners and admins; admins invite
/// members and viewers). Mails a link that works for 7 days.
pub async fn invite(
    st: &AppState,
    actor: &Actor,
    email: &str,
    role: &str,
) -> Result<Invite, AppError> {
    let (ws, ws_name, mine) = managed_team(st, actor, Role::Admin).await?;
    let email = crate::auth::service::normalize_email(email)?;
    let role = match Role::parse(role) {
        Some(r @ (Role::Admin | Role::Member | Role::Viewer)) => r,
        _ => {
            return Err(AppError::invalid(
                "role",
                "Invite as admin, member or viewer (an owner hands the workspace over instead).",
            ));
        }
    };
    if role == Role::Admin && mine < Role::Owner {
        return Err(AppError::Forbidden {
            message: "Only the owner can make admins.".into(),
        });
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    let (members, pending, already): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM memberships WHERE workspace_id = $1),
                (SELECT COUNT(*) FROM invites WHERE workspace_id = $1 AND accepted_at IS NULL
                   AND revoked_at IS NULL AND expires_at > $2),
                (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.workspace_id = $1 AND u.email = $3)",
    )
    .bind(&ws)
    .bind(now)
    .bind(&email)
    .fetch_one(&mut *tx)
    .await?;
    if already > 0 {
        return Err(AppError::conflict(format!("{email} is a member already.")));
    }
    if members + pending >= MAX_MEMBERS {
        return Err(AppError::Forbidden {
            message: format!("A workspace has at most {MAX_MEMBERS} members and invitations."),
        });
    }
    // A new invitation to the same address replaces the open one.
    sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE workspace_id = $2 AND email = $3
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&ws)
    .bind(&email)
    .execute(&mut *tx)
    .await?;
    let id = new_id();
    let token = random_token(32);
    let inviter = actor.user_id();
    sqlx::query(
        "INSERT INTO invites (id, workspace_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&ws)
    .bind(&email)
    .bind(role.as_str())
    .bind(sha256_hex(&token))
    .bind(inviter)
    .bind(now)
    .bind(now + INVITE_TTL_MS)
    .execute(&mut *tx)
    .await?;
    let (inviter_email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(inviter)
        .fetch_one(&mut *tx)
        .await?;
    crate::notify::service::queue_mail(
        &mut tx,
        &email,
        &format!("{inviter_email} invited you to “{ws_name}” on Nexus Deep Storage"),
        &format!(
            "{inviter_email} invited you to the team “{ws_name}” on Nexus Deep Storage, as {}: {}.\n\nTo accept, open this link (it works once, for 7 days) and sign in or create an account with this email:\n{}/invite?token={token}\n\nIf you do not know them, ignore this mail.\n\n— Nexus Deep Storage\n",
            role.label().to_lowercase(),
            role.what(),
            st.config.public_url
        ),
        now,
    )
    .await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&ws), "member.invite", format!("invite:{email}")).detail(role.as_str()),
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(workspace_id = %ws, invite_id = %id, "member invited");
    crate::core::metrics::metrics().event("invite_sent");
    Ok(Invite {
        id,
        email,
        role,
        invited_by: inviter_email,
        created_at: now,
        expires_at: now + INVITE_TTL_MS,
    })
}

/// Withdraws an open invitation of the current team (owners and admins).
pub async fn revoke_invite(st: &AppState, actor: &Actor, invite_id: &str) -> Result<(), AppError> {
    let (ws, _, _) = managed_team(st, actor, Role::Admin).await?;
    let n = sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(st.clock.now_ms())
    .bind(invite_id)
    .bind(&ws)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    record(
        st,
        actor,
        Change::new(
            Some(&ws),
            "member.invite_withdraw",
            format!("invite:{invite_id}"),
        ),
    )
    .await?;
    Ok(())
}

/// What an invitation link offers, for its page (NotFound when used, withdrawn or expired).
pub async fn invite_preview(
    st: &AppState,
    token: &str,
) -> Result<(String, Role, String), AppError> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT w.name, i.role, i.email FROM invites i JOIN workspaces w ON w.id = i.workspace_id
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
           AND i.expires_at > $2",
    )
    .bind(sha256_hex(token.trim()))
    .bind(st.clock.now_ms())
    .fetch_optional(&st.db.pool)
    .await?;
    let (name, role, email) = row.ok_or(AppError::NotFound)?;
    Ok((name, Role::parse(&role).unwrap_or(Role::Viewer), email))
}

/// Joins the team of an invitation, once, as the signed-in person whose email it was sent
/// to; the session switches to it.
pub async fn accept(st: &AppState, actor: &Actor, token: &str) -> Result<WorkspaceInfo, AppError> {
    let user_id = person(actor)?;
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::NotFound);
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, workspace_id, email, role FROM invites WHERE token_hash = $1
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(sha256_hex(token))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let (invite_id, ws, invited, role) = row.ok_or_else(|| {
        AppError::invalid(
            "token",
            "This invitation was used, withdrawn or has expired. Ask for a new one.",
        )
    })?;
    let (email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    if email != invited {
        return Err(AppError::Forbidden {
            message: format!(
                "This invitation is for {invited}. Sign in with that address to accept it."
            ),
        });
    }
    let used = sqlx::query(
        "UPDATE invites SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&invite_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if used != 1 {
        return Err(AppError::invalid(
            "token",
            "This invitation was used already.",
        ));
    }
    let joined = sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&ws)
    .bind(user_id)
    .bind(&role)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(AppError::from);
    match joined {
        Ok(_) => {}
        Err(AppError::Conflict { .. }) => {
            return Err(AppError::conflict(
                "You are a member of this workspace already.",
            ));
        }
        Err(e) => return Err(e),
    }
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&ws), "member.join", format!("user:{user_id}")).detail(role.clone()),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(workspace_id = %ws, %user_id, "invitation accepted");
    switch(st, actor, &ws).await?;
    let (name,): (String,) = sqlx::query_as("SELECT name FROM workspaces WHERE id = $1")
        .bind(&ws)
        .fetch_one(&st.db.pool)
        .await?;
    crate::core::metrics::metrics().event("invite_accepted");
    Ok(WorkspaceInfo {
        id: ws,
        name,
        kind: "team".into(),
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        current: true,
        needs_sso: false,
    })
}

/// The role of `user_id` in `ws` (NotFound when not a member).
async fn role_of(st: &AppState, ws: &str, user_id: &str) -> Result<Role, AppError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws)
            .bind(user_id)
            .fetch_optional(&st.db.pool)
            .await?;
    row.and_then(|(r,)| Role::parse(&r))
        .ok_or(AppError::NotFound)
}

/// Whether someone holding `mine` may act on a member holding `theirs`: the owner on anyone
/// else; an admin on members and viewers.
fn may_manage(mine: Role, theirs: Role) -> bool {
    match mine {
        Role::Owner => theirs != Role::Owner,
        Role::Admin => theirs <= Role::Member,
        _ => false,
    }
}

/// Changes a member's role in the current team (see the module's note for who may).
pub async fn change_role(
    st: &AppState,
    actor: &Actor,
    user_id: &str,
    role: &str,
) -> Result<(), AppError> {
    let (ws, _, mine) = managed_team(st, actor, Role::Admin).await?;
    let new = match Role::parse(role) {
        Some(r @ (Role::Admin | Role::Member | Role::Viewer)) => r,
        _ => {
            return Err(AppError::invalid(
                "role",
                "Choose admin, member or viewer (hand the workspace over to make an owner).",
            ));
        }
    };
    let theirs = role_of(st, &ws, user_id).await?;
    if user_id == actor.user_id() || !may_manage(mine, theirs) || !may_manage(mine, new) {
        return Err(AppError::Forbidden {
            message: "Your role cannot give or take that role.".into(),
        });
    }
    sqlx::query(
        "UPDATE memberships SET role = $1 WHERE workspace_id = $2 AND user_id = $3 AND role <> 'owner'",
    )
    .bind(new.as_str())
    .bind(&ws)
    .bind(user_id)
    .execute(&st.db.pool)
    .await?;
    tracing::info!(workspace_id = %ws, member = %user_id, role = new.as_str(), "role changed");
    record(
        st,
        actor,
        Change::new(Some(&ws), "member.role", format!("user:{user_id}")).detail(format!(
            "{} → {}",
            theirs.as_str(),
            new.as_str()
        )),
    )
    .await?;
    Ok(())
}

/// Removes a member from the current team (their files stay the team's).
pub async fn remove(st: &AppState, actor: &Actor, user_id: &str) -> Result<(), AppError> {
    let (ws, _, mine) = managed_team(st, actor, Role::Admin).await?;
    let theirs = role_of(st, &ws, user_id).await?;
    if user_id == actor.user_id() || !may_manage(mine, theirs) {
        return Err(AppError::Forbidden {
            message: "Your role cannot remove this member.".into(),
        });
    }
    drop_membership(st, actor, &ws, user_id, "member.remove").await?;
    tracing::info!(workspace_id = %ws, member = %user_id, "member removed");
    Ok(())
}

/// Leaves the current team (not its owner, who hands it over first); the session goes back
/// to the person's own workspace.
pub async fn leave(st: &AppState, actor: &Actor) -> Result<(), AppError> {
    let (ws, _, mine) = managed_team(st, actor, Role::Viewer).await?;
    if mine == Role::Owner {
        return Err(AppError::Forbidden {
            message: "Hand the workspace to another member before you leave it.".into(),
        });
    }
    drop_membership(st, actor, &ws, actor.user_id(), "member.leave").await?;
    tracing::info!(workspace_id = %ws, "member left");
    Ok(())
}

/// Ends a membership: the person's API keys in the workspace are revoked with it, and their
/// sessions stop working in it.
async fn drop_membership(
    st: &AppState,
    actor: &Actor,
    ws: &str,
    user_id: &str,
    action: &str,
) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query(
        "DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2 AND role <> 'owner'",
    )
    .bind(ws)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND created_by = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(ws)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE sessions SET workspace_id = NULL WHERE user_id = $1 AND workspace_id = $2")
        .bind(user_id)
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    // Sessions its SSO signed in reach nothing else: they end.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND sso_workspace_id = $2")
        .bind(user_id)
        .bind(ws)
        .execute(&mut *tx)
        .await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(ws), action, format!("user:{user_id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Hands the current team to another member (owner only): they become owner, the old owner
/// an admin.
pub async fn transfer(st: &AppState, actor: &Actor, user_id: &str) -> Result<(), AppError> {
    let (ws, _, _) = managed_team(st, actor, Role::Owner).await?;
    if user_id == actor.user_id() {
        return Err(AppError::invalid(
            "user_id",
            "You own this workspace already.",
        ));
    }
    role_of(st, &ws, user_id).await?;
    let mut tx = st.db.begin().await?;
    let demoted = sqlx::query(
        "UPDATE memberships SET role = 'admin' WHERE workspace_id = $1 AND user_id = $2 AND role = 'owner'",
    )
    .bind(&ws)
    .bind(actor.user_id())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if demoted != 1 {
        return Err(AppError::conflict("The workspace changed hands meanwhile."));
    }
    sqlx::query("UPDATE memberships SET role = 'owner' WHERE workspace_id = $1 AND user_id = $2")
        .bind(&ws)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&ws), "member.owner", format!("user:{user_id}")),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(workspace_id = %ws, new_owner = %user_id, "ownership handed over");
    Ok(())
}

//! The person's own account: mailed links that sign in without the password or reset a
//! forgotten one, the sessions signed in (listed, ended one by one or all at once), the
//! password and the email address. Only people act here, never API keys.
//!
//! Link requests answer the same whether or not the address has an account. They are limited
//! per client address ([`LINK_REQUESTS_PER_IP_PER_HOUR`], refused with a retry time) and per
//! account ([`LINKS_PER_ACCOUNT_PER_HOUR`] of each kind; past it no mail goes, and the answer
//! is still the same, so the limit does not tell either).
use super::SessionInfo;
use super::service::{
    LinkPurpose, SIGNUP_WINDOW_MS, begin_login_attempt, check_password_rules, hash_password,
    hourly_address_limit, link_url, links_since, mail_link_once, make_link_for, normalize_email,
    verify_password,
};
use crate::core::{Actor, AppState, sha256_hex};
use crate::error::AppError;

/// Link requests one client address may make in an hour.
pub const LINK_REQUESTS_PER_IP_PER_HOUR: i64 = 20;
/// Links of one kind mailed to one account in an hour.
pub const LINKS_PER_ACCOUNT_PER_HOUR: i64 = 3;

/// The person acting (sessions, password and email are never a key's business), in a session
/// of their own making: a session a workspace's SSO signed in reaches that workspace only,
/// not the account (a provider vouches for an address in its domain, not for the account's
/// other sessions, data or deletion).
fn person(actor: &Actor) -> Result<(&str, &str), AppError> {
    if !actor.sso_workspace().is_empty() {
        return Err(AppError::Forbidden {
            message: "You signed in through your company's single sign-on, which reaches its workspace only. To manage your account (sessions, password, email, export, deletion), sign in with your password or a mailed link.".into(),
        });
    }
    actor.person("change the account")
}

/// Mails a link that signs in without the password ([`LinkPurpose::Magic`]) or with a new one
/// ([`LinkPurpose::Reset`]). Ok whether or not the address has an account.
pub async fn request_link(
    st: &AppState,
    email: &str,
    purpose: LinkPurpose,
    ip: &str,
) -> Result<(), AppError> {
    if !matches!(purpose, LinkPurpose::Magic | LinkPurpose::Reset) {
        return Err(AppError::invalid(
            "purpose",
            "Ask for a sign-in or a reset link.",
        ));
    }
    let email = normalize_email(email)?;
    hourly_address_limit(
        st,
        &email,
        ip,
        "link",
        LINK_REQUESTS_PER_IP_PER_HOUR,
        "Too many links were asked for from your network.",
    )
    .await?;
    let now = st.clock.now_ms();
    let user: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(&st.db.pool)
        .await?;
    let Some((user_id,)) = user else {
        return Ok(());
    };
    let mut tx = st.db.begin().await?;
    if links_since(st, &mut tx, &user_id, purpose, now - SIGNUP_WINDOW_MS).await?
        >= LINKS_PER_ACCOUNT_PER_HOUR
    {
        tracing::warn!(%user_id, purpose = purpose.name(), "link not mailed: hourly limit");
        return Ok(());
    }
    let token = make_link_for(&mut tx, &user_id, purpose, None, now).await?;
    let link = link_url(st, &token);
    let (subject, body) = match purpose {
        LinkPurpose::Reset => (
            "Reset your Nexus Deep Storage password",
            format!(
                "Someone asked to reset the password of the Nexus Deep Storage account with this email.\n\nTo choose a new password and sign in, open this link (it works once, for 15 minutes):\n{link}&reset=1\n\nChoosing a new password signs out every other session. If you did not ask, ignore this mail: your password stays as it is.\n\n— Nexus Deep Storage\n"
            ),
        ),
        _ => (
            "Your Nexus Deep Storage sign-in link",
            format!(
                "To sign in to Nexus Deep Storage, open this link (it works once, for 15 minutes):\n{link}\n\nIf you did not ask for it, ignore this mail; nobody can use it without your mailbox.\n\n— Nexus Deep Storage\n"
            ),
        ),
    };
    crate::notify::service::queue_mail(&mut tx, &email, subject, &body, now).await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, purpose = purpose.name(), "link mailed");
    Ok(())
}

/// A user agent as a person reads it: "Firefox on Linux".
pub fn device_name(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("nexus-cli") {
        "nexus CLI"
    } else if ua.contains("curl/") {
        "curl"
    } else {
        ""
    };
    let system = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => "Unknown device".into(),
        (b, "") => b.into(),
        ("", s) => format!("A browser on {s}"),
        (b, s) => format!("{b} on {s}"),
    }
}

/// The account's sessions that have not expired, most recently seen first.
pub async fn list_sessions(st: &AppState, actor: &Actor) -> Result<Vec<SessionInfo>, AppError> {
    let (user_id, current) = person(actor)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        user_agent: Option<String>,
        ip: Option<String>,
        created_at: i64,
        last_seen_at: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, user_agent, ip, created_at, last_seen_at FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(st.clock.now_ms())
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionInfo {
            current: r.id == current,
            id: r.id,
            device: device_name(r.user_agent.as_deref().unwrap_or_default()),
            ip: r.ip.unwrap_or_default(),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
        })
        .collect())
}

/// Ends one of the account's sessions (NotFound for anyone else's).
pub async fn end_session(st: &AppState, actor: &Actor, session_id: &str) -> Result<(), AppError> {
    let (user_id, _) = person(actor)?;
    let n = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session_id)
        .bind(user_id)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(%user_id, "session ended from the account page");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            None,
            "account.session_end",
            format!("session:{session_id}"),
        ),
    )
    .await?;
    Ok(())
}

/// Ends every session of the account, this one too. Returns how many.
pub async fn end_all_sessions(st: &AppState, actor: &Actor) -> Result<u64, AppError> {
    let (user_id, _) = person(actor)?;
    let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    tracing::info!(%user_id, sessions = n, "signed out everywhere");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(
            None,
            "account.sign_out_everywhere",
            format!("user:{user_id}"),
        )
        .detail(format!("{n} sessions")),
    )
    .await?;
    Ok(n)
}

/// Checks the account's current password, counted as a sign-in attempt (a stolen session
/// cannot guess the password faster than the sign-in page could). Returns the email.
async fn check_current_password(
    st: &AppState,
    user_id: &str,
    password: &str,
    ip: &str,
) -> Result<String, AppError> {
    let (email, hash): (String, String) =
        sqlx::query_as("SELECT email, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(AppError::unauthenticated)?;
    let attempt = begin_login_attempt(st, &email, ip, Some(user_id)).await?;
    if !verify_password(password, &hash).await {
        return Err(AppError::invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    sqlx::query("UPDATE login_attempts SET succeeded = 1 WHERE id = $1")
        .bind(&attempt)
        .execute(&st.db.pool)
        .await?;
    Ok(email)
}

/// Sets a new password after checking the current one; every other session ends (this one
/// stays). The address is mailed a notice.
pub async fn change_password(
    st: &AppState,
    actor: &Actor,
    current: &str,
    new: &str,
    ip: &str,
) -> Result<(), AppError> {
    let (user_id, session_id) = person(actor)?;
    check_password_rules(new)?;
    let email = check_current_password(st, user_id, current, ip).await?;
    let hash = hash_password(new).await?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    crate::notify::service::queue_mail(
        &mut tx,
        &email,
        "Your Nexus Deep Storage password was changed",
        &format!(
            "The password of your Nexus Deep Storage account was changed, and every other session was signed out.\n\nIf it was not you, reset your password now at {}/sign-in/forgot.\n\n— Nexus Deep Storage\n",
            st.config.public_url
        ),
        now,
    )
    .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(None, "account.password", format!("user:{user_id}")),
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, "password changed");
    Ok(())
}

/// Mails a link to `new_email` that moves the account to it (after checking the password).
/// When another account has that address, nothing is mailed and the answer is the same.
pub async fn request_email_change(
    st: &AppState,
    actor: &Actor,
    new_email: &str,
    password: &str,
    ip: &str,
) -> Result<(), AppError> {
    let (user_id, _) = person(actor)?;
    let new_email = normalize_email(new_email)?;
    let email = check_current_password(st, user_id, password, ip).await?;
    if new_email == email {
        return Err(AppError::invalid("email", "That is your email already."));
    }
    let taken: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(&new_email)
        .fetch_optional(&st.db.pool)
        .await?;
    if taken.is_some() {
        tracing::info!(%user_id, "email change asked for a taken address: nothing mailed");
        return Ok(());
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    if links_since(
        st,
        &mut tx,
        user_id,
        LinkPurpose::Email,
        now - SIGNUP_WINDOW_MS,
    )
    .await?
        >= LINKS_PER_ACCOUNT_PER_HOUR
    {
        return Err(AppError::Limit {
            message: "Too many email changes were asked for in the last hour. Try again later."
                .into(),
            retry_after_s: 3600,
        });
    }
    let token = make_link_for(&mut tx, user_id, LinkPurpose::Email, Some(&new_email), now).await?;
    crate::notify::service::queue_mail(
        &mut tx,
        &new_email,
        "Confirm your new email for Nexus Deep Storage",
        &format!(
            "Someone asked to use this address for their Nexus Deep Storage account (now {email}).\n\nTo confirm, open this link (it works once, for 15 minutes):\n{}/account/email?token={token}\n\nIf it was not you, ignore this mail.\n\n— Nexus Deep Storage\n",
            st.config.public_url
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, "email change link mailed");
    Ok(())
}

/// Moves the account to the address its mailed link carries (once, within 15 minutes). The
/// old address is told. Returns the new address.
pub async fn confirm_email_change(st: &AppState, token: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::invalid(
            "token",
            "This link was used already or has expired. Ask for a new one on your account page.",
        )
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(bad());
    }
    let now = st.clock.now_ms();
    let hash = sha256_hex(token);
    let mut tx = st.db.begin().await?;
    let row: Option<(String, Option<String>, String)> = sqlx::query_as(
        "UPDATE login_tokens SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND purpose = 'email'
         RETURNING user_id, new_email, (SELECT email FROM users WHERE users.id = login_tokens.user_id)",
    )
    .bind(now)
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, Some(new_email), old_email)) = row else {
        return Err(bad());
    };
    let moved = sqlx::query("UPDATE users SET email = $1, email_confirmed_at = $2 WHERE id = $3")
        .bind(&new_email)
        .bind(now)
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::from);
    match moved {
        Ok(_) => {}
        Err(AppError::Conflict { .. }) => {
            return Err(AppError::invalid(
                "token",
                "Another account uses that address now, so yours was not changed.",
            ));
        }
        Err(e) => return Err(e),
    }
    crate::notify::service::queue_mail(
        &mut tx,
        &old_email,
        "Your Nexus Deep Storage email was changed",
        &format!(
            "The email of your Nexus Deep Storage account was changed to {new_email}. You sign in with it from now on.\n\nIf it was not you, write to your workspace's owner or to support at once.\n\n— Nexus Deep Storage\n"
        ),
        now,
    )
    .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        &Actor::job_for(&user_id),
        crate::audit::service::Change::new(None, "account.email", format!("user:{user_id}"))
            .detail(format!("{old_email} → {new_email}")),
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, "email changed");
    Ok(new_email)
}

/// Mails the sign-up confirmation link again (at most one a minute; nothing when confirmed).
pub async fn resend_confirmation(st: &AppState, actor: &Actor) -> Result<(), AppError> {
    let (user_id, _) = person(actor)?;
    let (email, confirmed): (String, Option<i64>) =
        sqlx::query_as("SELECT email, email_confirmed_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await?;
    if confirmed.is_some() {
        return Ok(());
    }
    let now = st.clock.now_ms();
    mail_link_once(
        st,
        user_id,
        &email,
        LinkPurpose::Confirm,
        now - 60_000,
        now,
        "Confirm your email for Nexus Deep Storage",
        |link| format!(
            "Open this link to confirm your email and sign in (it works once, for 15 minutes):\n{link}\n\n— Nexus Deep Storage\n"
        ),
    )
    .await
}

#[derive(sqlx::FromRow, serde::Serialize)]
struct ExportFile {
    folder: String,
    name: String,
    size: i64,
    storage_class: String,
    state: String,
    crc64nvme: Option<String>,
    sha256: Option<String>,
    created_at: i64,
}

/// Everything the account holds, as JSON: the account, its sessions, the workspaces it
/// belongs to (with its role), and for those it owns every vault's live files with their
/// checksums; plus its own workspace's daily usage CSV.
pub async fn export(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    let (user_id, _) = person(actor)?;
    let (email, created_at, confirmed): (String, i64, Option<i64>) =
        sqlx::query_as("SELECT email, created_at, email_confirmed_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&st.db.pool)
            .await?;
    let spaces: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT w.id, w.name, w.kind, m.role FROM workspaces w
         JOIN memberships m ON m.workspace_id = w.id AND m.user_id = $1 ORDER BY w.created_at",
    )
    .bind(user_id)
    .fetch_all(&st.db.pool)
    .await?;
    let mut workspaces = vec![];
    for (id, name, kind, role) in spaces {
        let mut vaults = vec![];
        if role == "owner" {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT id, name, default_storage_class FROM vaults
                 WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY created_at",
            )
            .bind(&id)
            .fetch_all(&st.db.pool)
            .await?;
            for (vault_id, vault_name, class) in rows {
                let files: Vec<ExportFile> = sqlx::query_as(
                    "SELECT COALESCE(d.path, '') AS folder, f.name, f.size, f.storage_class,
                            f.state, f.crc64nvme, f.sha256, f.created_at
                     FROM files f LEFT JOIN folders d ON d.id = f.folder_id
                     WHERE f.vault_id = $1 AND f.deleted_at IS NULL AND f.state <> 'uploading'
                     ORDER BY folder, f.name, f.id",
                )
                .bind(&vault_id)
                .fetch_all(&st.db.pool)
                .await?;
                vaults.push(serde_json::json!({
                    "id": vault_id, "name": vault_name, "default_storage_class": class,
                    "files": files,
                }));
            }
        }
        workspaces.push(serde_json::json!({
            "id": id, "name": name, "kind": kind, "role": role, "vaults": vaults,
        }));
    }
    let sessions = list_sessions(st, actor).await?;
    let usage_csv = crate::usage::service::daily_csv(st, &Actor::job_for(user_id)).await?;
    let out = serde_json::json!({
        "format": "nexus-deep-storage-export/1",
        "exported_at": st.clock.now_ms(),
        "account": { "id": user_id, "email": email, "created_at": created_at,
                     "email_confirmed_at": confirmed },
        "sessions": sessions,
        "workspaces": workspaces,
        "usage_csv": usage_csv,
    });
    serde_json::to_string_pretty(&out).map_err(AppError::internal)
}

/// Deletes the account, once `confirm` is its email. Team workspaces it owns that have other
/// members must be handed over (or the others removed) first, and a paid subscription of a
/// workspace it owns cancelled. The workspaces it owns alone go: their files to the trash,
/// already past its days, so the trash purge deletes their objects (started at once; the
/// hourly job finishes it). Its memberships, sessions, keys and links end; its row stays
/// without address or password (files it uploaded to teams stay theirs and name it).
pub async fn delete_account(st: &AppState, actor: &Actor, confirm: &str) -> Result<(), AppError> {
    let (user_id, _) = person(actor)?;
    let (email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&st.db.pool)
        .await?;
    if confirm.trim().to_lowercase() != email {
        return Err(AppError::invalid(
            "confirm",
            "Type your email exactly to delete the account.",
        ));
    }
    let owned: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT w.id, w.name,
                (SELECT COUNT(*) FROM memberships o WHERE o.workspace_id = w.id AND o.user_id <> $1)
         FROM workspaces w JOIN memberships m ON m.workspace_id = w.id
         WHERE m.user_id = $1 AND m.role = 'owner'",
    )
    .bind(user_id)
    .fetch_all(&st.db.pool)
    .await?;
    let shared: Vec<&str> = owned
        .iter()
        .filter(|(_, _, others)| *others > 0)
        .map(|(_, name, _)| name.as_str())
        .collect();
    if !shared.is_empty() {
        return Err(AppError::Forbidden {
            message: format!(
                "Hand these workspaces to another member (or remove the others) first: {}.",
                shared.join(", ")
            ),
        });
    }
    let alone: Vec<&str> = owned.iter().map(|(id, _, _)| id.as_str()).collect();
    for ws in &alone {
        let paid: Option<(String,)> = sqlx::query_as(
            "SELECT status FROM subscriptions WHERE workspace_id = $1
             AND status IN ('active', 'trialing', 'past_due', 'unpaid')",
        )
        .bind(ws)
        .fetch_optional(&st.db.pool)
        .await?;
        if paid.is_some() {
            return Err(AppError::Forbidden {
                message: "Cancel your subscription on the billing page first.".into(),
            });
        }
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    for ws in &alone {
        // In the trash since long ago: the purge takes them now.
        sqlx::query(
            "UPDATE files SET deleted_at = 1, trashed_path = COALESCE(trashed_path, '')
             WHERE workspace_id = $1 AND deleted_at IS NULL",
        )
        .bind(ws)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE vaults SET deleted_at = $1 WHERE workspace_id = $2 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(ws)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE share_links SET revoked_at = $1 WHERE workspace_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(ws)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM invites WHERE workspace_id = $1",
            "DELETE FROM workspace_sso WHERE workspace_id = $1",
        ] {
            sqlx::query(sql).bind(ws).execute(&mut *tx).await?;
        }
    }
    for sql in [
        "DELETE FROM memberships WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM login_tokens WHERE user_id = $1",
        "DELETE FROM known_addresses WHERE user_id = $1",
        "DELETE FROM notification_prefs WHERE user_id = $1",
        // A provider signing the same person in later makes a new account.
        "DELETE FROM sso_identities WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE share_links SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    crate::audit::service::record_tx(
        st,
        &mut tx,
        actor,
        crate::audit::service::Change::new(None, "account.delete", format!("user:{user_id}"))
            .detail(format!("{} workspaces deleted with it", alone.len())),
    )
    .await?;
    crate::notify::service::queue_mail(
        &mut tx,
        &email,
        "Your Nexus Deep Storage account was deleted",
        "Your Nexus Deep Storage account was deleted as you asked, with the workspaces you owned alone and their files. Files you uploaded to teams stay theirs.\n\n— Nexus Deep Storage\n",
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE users SET email = $1, password_hash = '!', email_confirmed_at = NULL, deleted_at = $2
         WHERE id = $3",
    )
    .bind(format!("deleted-{user_id}@deleted.invalid"))
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, workspaces = alone.len(), "account deleted");
    // The objects go now (the hourly purge would take them anyway).
    if let Err(e) = crate::files::service::purge_expired_trash(st).await {
        tracing::warn!(error = %e, "trash purge after an account deletion failed; the job retries");
    }
    Ok(())
}

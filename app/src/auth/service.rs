//! Accounts and sessions: sign-up (with a personal workspace and a first vault), sign-in with
//! per-account and per-IP limits on failures, server-side sessions, sign-out.
use crate::core::{Actor, AppState, new_id, random_token, sha256_hex};
use crate::error::AppError;
use crate::{vaults, workspaces};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use super::User;

pub const SESSION_COOKIE: &str = "nexus_session";
const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 1024;

/// What sign-up and sign-in hand back: the user, and a session whose token goes in a cookie.
pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
}

pub fn normalize_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
               && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid(
            "email",
            "Enter an email address like name@example.com.",
        ))
    }
}

fn check_password_rules(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::invalid(
            "password",
            format!("Use at least {MIN_PASSWORD} characters."),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AppError::invalid("password", "Use at most 1024 bytes."));
    }
    Ok(())
}

/// argon2id with the crate's recommended parameters, off the async threads.
pub async fn hash_password(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(format!("join: {e}")))?
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash of nothing anyone knows, verified when the email is unknown so that a wrong email
/// and a wrong password take the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn dummy_hash() -> String {
    if let Some(h) = DUMMY_HASH.get() {
        return h.clone();
    }
    let h = hash_password(&random_token(16)).await.unwrap_or_default();
    DUMMY_HASH.get_or_init(|| h).clone()
}

/// Creates the account, its personal workspace and a vault named "My vault", and signs in.
/// Returns the session and the id of the vault to land in.
pub async fn sign_up(
    st: &AppState,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: &str,
) -> Result<(SignedIn, String), AppError> {
    let email = normalize_email(email)?;
    check_password_rules(password)?;
    check_signup_limit(st, &email, ip).await?;
    let password_hash = hash_password(password).await?;
    let now = st.clock.now_ms();
    let user_id = new_id();

    let mut tx = st.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&user_id)
    .bind(&email)
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        return Err(match AppError::from(e) {
            // Says no more than sign-in would: the address cannot be used to create an account.
            AppError::Conflict { .. } => AppError::Conflict {
                message: "An account cannot be created with this email. If it is yours, sign in."
                    .into(),
            },
            other => other,
        });
    }
    let workspace_id = workspaces::service::create_personal(&mut tx, &user_id, now).await?;
    let vault_id = vaults::service::create_in_tx(&mut tx, &workspace_id, "My vault", now).await?;
    tx.commit().await?;

    let user = User { id: user_id, email };
    let signed_in = create_session(st, user, ip, user_agent).await?;
    tracing::info!(user_id = %signed_in.user.id, "account created");
    Ok((signed_in, vault_id))
}

/// Checks the password; refuses early while the account or the IP has too many recent failures.
pub async fn sign_in(
    st: &AppState,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: &str,
) -> Result<SignedIn, AppError> {
    let wrong = || AppError::Unauthenticated {
        message: "Email or password is incorrect.".into(),
    };
    let Ok(email) = normalize_email(email) else {
        return Err(wrong());
    };
    let attempt = begin_login_attempt(st, &email, ip).await?;

    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&st.db.pool)
            .await?;
    let ok = match &row {
        Some(u) => verify_password(password, &u.password_hash).await,
        None => {
            verify_password(password, &dummy_hash().await).await;
            false
        }
    };
    if ok {
        sqlx::query("UPDATE login_attempts SET succeeded = 1 WHERE id = $1")
            .bind(&attempt)
            .execute(&st.db.pool)
            .await?;
    }
    match row {
        Some(u) if ok => {
            let user = User {
                id: u.id,
                email: u.email,
            };
            create_session(st, user, ip, user_agent).await
        }
        _ => Err(wrong()),
    }
}

const SIGNUP_WINDOW_MS: i64 = 3_600_000;

/// Records a sign-in (`succeeded` 0 until the password is right) or sign-up attempt.
async fn record_attempt(
    st: &AppState,
    email: &str,
    ip: &str,
    kind: &str,
    now: i64,
) -> Result<String, AppError> {
    let id = new_id();
    let succeeded = i32::from(kind == "sign_up");
    sqlx::query(
        "INSERT INTO login_attempts (id, email, ip, at, succeeded, kind) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(email)
    .bind(ip)
    .bind(now)
    .bind(succeeded)
    .bind(kind)
    .execute(&st.db.pool)
    .await?;
    Ok(id)
}

/// Takes back an attempt that was refused by a limit (refusals do not extend the lockout).
async fn forget_attempt(st: &AppState, id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_attempts WHERE id = $1")
        .bind(id)
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// Counts this sign-up against its client address first (so parallel sign-ups count each
/// other), then refuses it when the address made too many in the last hour. Sign-ups that
/// then fail (an email already taken) still count: that also slows guessing which emails
/// have accounts.
async fn check_signup_limit(st: &AppState, email: &str, ip: &str) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    let id = record_attempt(st, email, ip, "sign_up", now).await?;
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE kind = 'sign_up' AND ip = $1 AND at > $2",
    )
    .bind(ip)
    .bind(now - SIGNUP_WINDOW_MS)
    .fetch_one(&st.db.pool)
    .await?;
    if count <= st.config.signup_max_per_ip_per_hour {
        return Ok(());
    }
    forget_attempt(st, &id).await?;
    let retry_after_s = (oldest.unwrap_or(now) + SIGNUP_WINDOW_MS - now)
        .max(1000)
        .div_euclid(1000);
    tracing::warn!("sign-up rate limit reached");
    Err(AppError::Limit {
        message: format!(
            "Too many accounts were created from your network. Try again in {retry_after_s} s."
        ),
        retry_after_s,
    })
}

/// Records a sign-in attempt as failed *before* the password is checked, then counts the
/// failures in the window including it: a burst of parallel guesses counts itself (checking
/// first and recording after the slow argon2 would let the whole burst through). Over a limit,
/// the row is removed again and the attempt refused. Returns the attempt's id.
async fn begin_login_attempt(st: &AppState, email: &str, ip: &str) -> Result<String, AppError> {
    let now = st.clock.now_ms();
    let id = record_attempt(st, email, ip, "sign_in", now).await?;
    let window_ms = st.config.login_window_secs * 1000;
    let since = now - window_ms;
    for (column, key, max) in [
        ("email", email, st.config.login_max_failures_per_account),
        ("ip", ip, st.config.login_max_failures_per_ip),
    ] {
        // Both statements are fixed text; only the column name differs.
        let sql = if column == "email" {
            "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE email = $1 AND at > $2 AND succeeded = 0 AND kind = 'sign_in'"
        } else {
            "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE ip = $1 AND at > $2 AND succeeded = 0 AND kind = 'sign_in'"
        };
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(sql)
            .bind(key)
            .bind(since)
            .fetch_one(&st.db.pool)
            .await?;
        if count > max {
            forget_attempt(st, &id).await?;
            let retry_ms = oldest.unwrap_or(since) + window_ms - now;
            let retry_after_s = (retry_ms.max(1000) + 999) / 1000;
            tracing::warn!(by = column, "sign-in rate limit reached");
            return Err(AppError::Limit {
                message: format!(
                    "Too many failed sign-in attempts. Try again in {retry_after_s} s."
                ),
                retry_after_s,
            });
        }
    }
    Ok(id)
}

async fn create_session(
    st: &AppState,
    user: User,
    ip: &str,
    user_agent: &str,
) -> Result<SignedIn, AppError> {
    let token = random_token(32);
    let now = st.clock.now_ms();
    let expires_at = now + st.config.session_ttl_hours * 3_600_000;
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(sha256_hex(&token))
    .bind(&user.id)
    .bind(now)
    .bind(expires_at)
    .bind(now)
    .bind(ip)
    .bind(user_agent.chars().take(300).collect::<String>())
    .execute(&st.db.pool)
    .await?;
    Ok(SignedIn {
        user,
        token,
        expires_at,
    })
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: String,
    user_id: String,
    email: String,
    expires_at: i64,
}

/// The user behind a session token, if the session exists and has not expired.
pub async fn session_user(st: &AppState, token: &str) -> Result<Option<(Actor, User)>, AppError> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.id AS session_id, u.id AS user_id, u.email AS email, s.expires_at AS expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(sha256_hex(token))
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(row.filter(|r| r.expires_at > st.clock.now_ms()).map(|r| {
        let actor = Actor::User {
            user_id: r.user_id.clone(),
            session_id: r.session_id,
        };
        (
            actor,
            User {
                id: r.user_id,
                email: r.email,
            },
        )
    }))
}

/// Deletes expired sessions and sign-in attempts older than the rate-limit window; returns
/// how many rows went. Run periodically by the server (idempotent, safe in every process).
pub async fn purge_expired(st: &AppState) -> Result<u64, AppError> {
    let now = st.clock.now_ms();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let keep_ms = (st.config.login_window_secs * 1000).max(SIGNUP_WINDOW_MS);
    let attempts = sqlx::query("DELETE FROM login_attempts WHERE at <= $1")
        .bind(now - keep_ms)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    Ok(sessions + attempts)
}

/// Ends the session behind the token (idempotent).
pub async fn sign_out(st: &AppState, token: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(sha256_hex(token))
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// The `Set-Cookie` value carrying a session (or clearing it when `token` is None).
pub fn session_cookie(st: &AppState, token: Option<&str>, expires_at: i64) -> String {
    let secure = if st.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    match token {
        Some(t) => {
            let max_age = ((expires_at - st.clock.now_ms()) / 1000).max(0);
            format!(
                "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
            )
        }
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The session user named by the request's cookie, if valid.
pub async fn actor_from_headers(
    st: &AppState,
    headers: &http::HeaderMap,
) -> Result<Option<(Actor, User)>, AppError> {
    let Some(cookie) = headers
        .get(http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    match token_from_cookie_header(cookie) {
        Some(token) => session_user(st, token).await,
        None => Ok(None),
    }
}

/// Where to go after signing in: only a path on this site (no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    // Visible ASCII only: browsers drop tabs and newlines from URLs, so `/\t/evil.example`
    // would become `//evil.example`, and a newline could not go in a header anyway.
    let n = next?.trim();
    let ok = n.starts_with('/')
        && n.bytes().all(|b| b.is_ascii_graphic())
        && !matches!(n.as_bytes().get(1), Some(b'/') | Some(b'\\'))
        && !n.contains('\\')
        && !n.contains("://");
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn only_paths_on_this_site_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/vaults/abc?x=1")),
            Some("/vaults/abc?x=1".into())
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "https://evil.example",
            "evil",
            "/a b",
            "/ok\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        assert_eq!(
            token_from_cookie_header("a=1; nexus_session=abc; b=2"),
            Some("abc")
        );
        assert_eq!(token_from_cookie_header("nexus_session="), None);
        assert_eq!(token_from_cookie_header("other=1"), None);
    }
}

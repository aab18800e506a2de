//! Accounts and sessions: sign-up (with a personal workspace and a first vault), sign-in with
//! limits on failures that slow guessing without locking the owner out, sign-in links by mail
//! (to confirm an address, to unlock an account under attack), server-side sessions, sign-out.
//!
//! Failures are counted per (account, client address), per address, and per account from all
//! addresses. The first two refuse only the guesser's address. Past the third (a guesser with
//! many addresses) only addresses the account signed in from before get in, and the owner is
//! mailed a single-use sign-in link: nobody can lock an owner out from elsewhere.
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
    email_confirmed_at: Option<i64>,
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

pub(super) fn check_password_rules(password: &str) -> Result<(), AppError> {
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

pub(crate) async fn verify_password(password: &str, hash: &str) -> bool {
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

/// Creates an account, or, when the address has one already, mails its owner instead; either
/// way the answer is the same (Ok), so sign-up does not tell who has an account. A new
/// account (with its personal workspace and a vault named "My vault") can sign in with its
/// password at once, and is mailed a link that confirms the address and signs in.
pub async fn sign_up(st: &AppState, email: &str, password: &str, ip: &str) -> Result<(), AppError> {
    let email = normalize_email(email)?;
    check_password_rules(password)?;
    check_signup_limit(st, &email, ip).await?;
    // Hashed either way: an address with an account answers as slowly as a new one.
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
    match inserted.map_err(AppError::from) {
        Ok(_) => {}
        Err(AppError::Conflict { .. }) => {
            drop(tx);
            return tell_owner_of_sign_up(st, &email, now).await;
        }
        Err(e) => return Err(e),
    }
    let workspace_id = workspaces::service::create_personal(&mut tx, &user_id, now).await?;
    vaults::service::create_in_tx(&mut tx, &workspace_id, "My vault", now).await?;
    let token = make_link(&mut tx, &user_id, LinkPurpose::Confirm, now).await?;
    crate::notify::service::queue_mail(
        &mut tx,
        &email,
        "Confirm your email for Nexus Deep Storage",
        &format!(
            "Welcome to Nexus Deep Storage.\n\nOpen this link to confirm your email and sign in (it works once, for 15 minutes):\n{}\n\nYou can also sign in with your password. If you did not create an account, ignore this mail.\n\n— Nexus Deep Storage\n",
            link_url(st, &token)
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, "account created");
    Ok(())
}

/// Someone tried to sign up with an address that has an account: its owner hears of it (at
/// most once an hour), with a sign-in link in case it was them.
async fn tell_owner_of_sign_up(st: &AppState, email: &str, now: i64) -> Result<(), AppError> {
    let Some((user_id,)): Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&st.db.pool)
            .await?
    else {
        return Ok(());
    };
    let public_url = st.config.public_url.clone();
    mail_link_once(
        st,
        &user_id,
        email,
        LinkPurpose::Existing,
        now - SIGNUP_WINDOW_MS,
        now,
        "Someone tried to create an account with your email",
        |link| format!(
            "Someone tried to create a Nexus Deep Storage account with this email, which already has one. Nothing was changed.\n\nIf it was you, sign in with your password at {public_url}/sign-in, or with this link (it works once, for 15 minutes):\n{link}\n\nIf it was not you, you need do nothing.\n\n— Nexus Deep Storage\n"
        ),
    )
    .await
}

/// Checks the password; refuses early while this address, or the account, has too many
/// recent failures (see the module's note).
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
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, password_hash, email_confirmed_at FROM users WHERE email = $1",
    )
    .bind(&email)
    .fetch_optional(&st.db.pool)
    .await?;
    let attempt = begin_login_attempt(st, &email, ip, row.as_ref().map(|u| u.id.as_str())).await?;
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
            crate::audit::service::record(
                st,
                &Actor::job_for(&u.id),
                crate::audit::service::Change::new(None, "sign_in", format!("user:{}", u.id))
                    .detail("password"),
            )
            .await?;
            let user = User {
                id: u.id,
                email: u.email,
                email_confirmed: u.email_confirmed_at.is_some(),
            };
            create_session(st, user, ip, user_agent, None).await
        }
        _ => Err(wrong()),
    }
}

/// What a mailed sign-in link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Sent at sign-up: confirms the address.
    Confirm,
    /// Sent when sign-ins from new addresses are refused for the account.
    Unlock,
    /// Sent when someone signs up with the address of an account.
    Existing,
    /// Asked for on the sign-in page: signs in without the password.
    Magic,
    /// Asked for on the sign-in page: signs in with a new password (required).
    Reset,
    /// Sent to a new address from the account page: confirms the change (not a sign-in).
    Email,
}

impl LinkPurpose {
    pub(super) fn name(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "confirm",
            LinkPurpose::Unlock => "unlock",
            LinkPurpose::Existing => "existing",
            LinkPurpose::Magic => "magic",
            LinkPurpose::Reset => "reset",
            LinkPurpose::Email => "email",
        }
    }
}

/// How long a mailed link works.
pub const LINK_TTL_MS: i64 = 15 * 60_000;

/// Makes a single-use sign-in link's token (the database keeps its hash).
pub(super) async fn make_link(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: LinkPurpose,
    now: i64,
) -> Result<String, AppError> {
    make_link_for(tx, user_id, purpose, None, now).await
}

/// [`make_link`], carrying a new email address (for [`LinkPurpose::Email`]).
pub(super) async fn make_link_for(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: LinkPurpose,
    new_email: Option<&str>,
    now: i64,
) -> Result<String, AppError> {
    let token = random_token(32);
    sqlx::query(
        "INSERT INTO login_tokens (id, user_id, token_hash, purpose, created_at, expires_at, new_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(sha256_hex(&token))
    .bind(purpose.name())
    .bind(now)
    .bind(now + LINK_TTL_MS)
    .bind(new_email)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

pub(super) fn link_url(st: &AppState, token: &str) -> String {
    format!("{}/sign-in/link?token={token}", st.config.public_url)
}

/// Whether no link of this purpose went to the user since `since`, decided inside the
/// transaction that would make one: parallel refusals mail one link, not one each. The user's
/// row is locked first on PostgreSQL; on SQLite the transaction holds the write lock already.
async fn first_link_since(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: LinkPurpose,
    since: i64,
) -> Result<bool, AppError> {
    Ok(links_since(st, tx, user_id, purpose, since).await? == 0)
}

/// How many links of this purpose went to the user since `since`, counted inside the
/// transaction that would make another (the user's row locked first on PostgreSQL; on SQLite
/// the transaction holds the write lock already), so parallel requests count each other.
pub(super) async fn links_since(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    purpose: LinkPurpose,
    since: i64,
) -> Result<i64, AppError> {
    if st.db.dialect == crate::core::db::Dialect::Postgres {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM login_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3",
    )
    .bind(user_id)
    .bind(purpose.name())
    .bind(since)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// Signs in with a mailed link: it works once (two clicks at once: one wins), and only
/// within its 15 minutes.
///
/// The first link used on an account whose address was never confirmed confirms it, and
/// needs a new password (`password`): whoever signed up may not have been the address's
/// owner (someone can sign up with another person's email and choose the password before
/// they do). Confirming sets the owner's password and ends every other session, so nobody
/// who chose the old password keeps a way in. On a confirmed account `password` is optional
/// (a new one when given).
pub async fn sign_in_with_link(
    st: &AppState,
    token: &str,
    password: Option<&str>,
    ip: &str,
    user_agent: &str,
) -> Result<SignedIn, AppError> {
    let bad = || {
        AppError::invalid(
            "token",
            "This sign-in link was used already or has expired. Sign in with your password, or ask for a new link by trying again.",
        )
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(bad());
    }
    let password = password.filter(|p| !p.is_empty());
    let now = st.clock.now_ms();
    let hash = sha256_hex(token);
    let (user_id, email, confirmed, purpose): (String, String, Option<i64>, String) = sqlx::query_as(
        "SELECT u.id, u.email, u.email_confirmed_at, t.purpose FROM login_tokens t
         JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND t.purpose <> 'email'",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(bad)?;
    let new_hash = match password {
        Some(p) => {
            check_password_rules(p)?;
            Some(hash_password(p).await?)
        }
        None if purpose == LinkPurpose::Reset.name() => {
            return Err(AppError::invalid(
                "password",
                format!("Choose a new password (at least {MIN_PASSWORD} characters)."),
            ));
        }
        None if confirmed.is_none() => {
            return Err(AppError::invalid(
                "password",
                format!(
                    "Choose a password to confirm your email (at least {MIN_PASSWORD} characters). It replaces any password this account had."
                ),
            ));
        }
        None => None,
    };
    let mut tx = st.db.begin().await?;
    let used = sqlx::query(
        "UPDATE login_tokens SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND purpose <> 'email'",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if used != 1 {
        return Err(bad());
    }
    if let Some(h) = &new_hash {
        sqlx::query(
            "UPDATE users SET password_hash = $1, email_confirmed_at = COALESCE(email_confirmed_at, $2)
             WHERE id = $3",
        )
        .bind(h)
        .bind(now)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        // A new password ends every session made with the old one.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
    }
    crate::audit::service::record_tx(
        st,
        &mut tx,
        &Actor::job_for(&user_id),
        crate::audit::service::Change::new(None, "sign_in", format!("user:{user_id}")).detail(
            if new_hash.is_some() {
                format!("mailed {purpose} link, new password")
            } else {
                format!("mailed {purpose} link")
            },
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%user_id, password_set = new_hash.is_some(), "signed in with a mailed link");
    let user = User {
        id: user_id,
        email,
        email_confirmed: confirmed.is_some() || new_hash.is_some(),
    };
    create_session(st, user, ip, user_agent, None).await
}

pub(super) const SIGNUP_WINDOW_MS: i64 = 3_600_000;

/// Records an attempt the limits count: a sign-in (`succeeded` 0 until the password is
/// right), a sign-up, a link request, a share link's wrong password; `ip` is the address as
/// the limits count it ([`address_key`]).
pub(crate) async fn record_attempt(
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
pub(super) async fn forget_attempt(st: &AppState, id: &str) -> Result<(), AppError> {
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
    hourly_address_limit(
        st,
        email,
        ip,
        "sign_up",
        st.config.signup_max_per_ip_per_hour,
        "Too many accounts were created from your network.",
    )
    .await
}

/// Counts an attempt of `kind` against the client address first (so parallel attempts count
/// each other), then refuses it — taken back, with the wait in seconds — when the address
/// made more than `max` in the last hour.
pub(crate) async fn hourly_address_limit(
    st: &AppState,
    email: &str,
    ip: &str,
    kind: &str,
    max: i64,
    too_many: &str,
) -> Result<(), AppError> {
    let ip = &address_key(ip);
    let now = st.clock.now_ms();
    let id = record_attempt(st, email, ip, kind, now).await?;
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE kind = $1 AND ip = $2 AND at > $3",
    )
    .bind(kind)
    .bind(ip)
    .bind(now - SIGNUP_WINDOW_MS)
    .fetch_one(&st.db.pool)
    .await?;
    if count <= max {
        return Ok(());
    }
    forget_attempt(st, &id).await?;
    let retry_after_s = (oldest.unwrap_or(now) + SIGNUP_WINDOW_MS - now)
        .max(1000)
        .div_euclid(1000);
    tracing::warn!(kind, "hourly rate limit per address reached");
    Err(AppError::Limit {
        message: format!("{too_many} Try again in {retry_after_s} s."),
        retry_after_s,
    })
}

/// Records a sign-in attempt as failed *before* the password is checked, then counts the
/// failures in the window including it: a burst of parallel guesses counts itself (checking
/// first and recording after the slow argon2 would let the whole burst through). Over a limit,
/// the row is removed again and the attempt refused. Returns the attempt's id.
///
/// Limits: failures to this account from this address, failures from this address, and
/// failures to this account from anywhere. The last one does not refuse an address the
/// account signed in from before; others are refused and the owner is mailed a sign-in link
/// (once per window). The answers do not tell whether the email has an account.
pub(super) async fn begin_login_attempt(
    st: &AppState,
    email: &str,
    ip: &str,
    user_id: Option<&str>,
) -> Result<String, AppError> {
    let ip = &address_key(ip);
    let now = st.clock.now_ms();
    let id = record_attempt(st, email, ip, "sign_in", now).await?;
    let window_ms = st.config.login_window_secs * 1000;
    let since = now - window_ms;
    let failures = |sql: &'static str, key: String| {
        let pool = st.db.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, Option<i64>)>(sql)
                .bind(key)
                .bind(since)
                .fetch_one(&pool)
                .await
        }
    };
    let retry_after = |oldest: Option<i64>| {
        let retry_ms = oldest.unwrap_or(since) + window_ms - now;
        (retry_ms.max(1000) + 999) / 1000
    };
    let too_many = |retry_after_s: i64| AppError::Limit {
        message: format!("Too many failed sign-in attempts. Try again in {retry_after_s} s."),
        retry_after_s,
    };

    // This address's failures on this account: in the window, and in the last day (one
    // statement). A slower back-off for a persistent guesser: one address gets at most
    // [`DAILY_ROUNDS`] windows' worth a day (20 guesses at the defaults, not 480), then waits
    // until its oldest failure of the day is a day old.
    let (here, oldest_here, today, oldest_today): (i64, Option<i64>, i64, Option<i64>) =
        sqlx::query_as(
            "SELECT COUNT(CASE WHEN at > $3 THEN 1 END), MIN(CASE WHEN at > $3 THEN at END),
                    COUNT(*), MIN(at)
             FROM login_attempts
             WHERE email = $1 AND ip = $2 AND at > $4 AND succeeded = 0 AND kind = 'sign_in'",
        )
        .bind(email)
        .bind(ip)
        .bind(since)
        .bind(now - DAY_MS)
        .fetch_one(&st.db.pool)
        .await?;
    if here > st.config.login_max_failures_per_account {
        forget_attempt(st, &id).await?;
        tracing::warn!(by = "account and address", "sign-in rate limit reached");
        return Err(too_many(retry_after(oldest_here)));
    }
    if today > DAILY_ROUNDS * st.config.login_max_failures_per_account {
        forget_attempt(st, &id).await?;
        tracing::warn!(
            by = "account and address, daily",
            "sign-in rate limit reached"
        );
        let retry_ms = oldest_today.unwrap_or(now) + DAY_MS - now;
        return Err(too_many((retry_ms.max(1000) + 999) / 1000));
    }
    let (from_ip, oldest_ip) = failures(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE ip = $1 AND at > $2 AND succeeded = 0 AND kind = 'sign_in'",
        ip.to_string(),
    )
    .await?;
    if from_ip > st.config.login_max_failures_per_ip {
        forget_attempt(st, &id).await?;
        tracing::warn!(by = "address", "sign-in rate limit reached");
        return Err(too_many(retry_after(oldest_ip)));
    }
    let (everywhere, oldest_all) = failures(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE email = $1 AND at > $2 AND succeeded = 0 AND kind = 'sign_in'",
        email.to_string(),
    )
    .await?;
    if everywhere > st.config.login_max_failures_per_account_all {
        let known = match user_id {
            Some(u) => known_address(st, u, ip).await?,
            None => false,
        };
        if !known {
            forget_attempt(st, &id).await?;
            if let Some(u) = user_id {
                send_unlock_link(st, u, email, now, since).await?;
            }
            tracing::warn!(by = "account", "sign-in refused from a new address");
            let retry_after_s = retry_after(oldest_all);
            return Err(AppError::Limit {
                message: format!(
                    "Too many failed sign-in attempts for this account: new addresses are refused for now. If the account is yours, we have mailed it a sign-in link; or try again in {retry_after_s} s."
                ),
                retry_after_s,
            });
        }
    }
    Ok(id)
}

const DAY_MS: i64 = 86_400_000;
/// Windows' worth of failures one address may spend on one account in a day.
const DAILY_ROUNDS: i64 = 4;

/// Addresses an account signed in from in the last 90 days are known.
const KNOWN_ADDRESS_MS: i64 = 90 * 86_400_000;

/// The address as the sign-in limits count it: an IPv4 address, or an IPv6 address's /64
/// (one subscriber usually has a whole /64, so counting single IPv6 addresses would give a
/// guesser 2^64 fresh ones).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => ip.to_string(),
    }
}

/// Whether the account signed in from this address (as [`address_key`] gives it) lately.
async fn known_address(st: &AppState, user_id: &str, ip: &str) -> Result<bool, AppError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM known_addresses WHERE user_id = $1 AND ip = $2 AND last_at > $3",
    )
    .bind(user_id)
    .bind(ip)
    .bind(st.clock.now_ms() - KNOWN_ADDRESS_MS)
    .fetch_one(&st.db.pool)
    .await?;
    Ok(n > 0)
}

async fn remember_address(
    st: &AppState,
    user_id: &str,
    ip: &str,
    now: i64,
) -> Result<(), AppError> {
    let ip = &address_key(ip);
    sqlx::query(
        "INSERT INTO known_addresses (user_id, ip, last_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, ip) DO UPDATE SET last_at = excluded.last_at",
    )
    .bind(user_id)
    .bind(ip)
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// Mails the owner of an account whose sign-ins from new addresses are refused a link that
/// signs in anyway (once per window).
async fn send_unlock_link(
    st: &AppState,
    user_id: &str,
    email: &str,
    now: i64,
    since: i64,
) -> Result<(), AppError> {
    mail_link_once(
        st,
        user_id,
        email,
        LinkPurpose::Unlock,
        since,
        now,
        "Sign-in link: many failed attempts on your account",
        |link| format!(
            "Someone has been trying many wrong passwords for your Nexus Deep Storage account, so sign-ins from new addresses are refused for a while. Your password still works from where you signed in before.\n\nTo sign in now from anywhere, open this link (it works once, for 15 minutes):\n{link}\n\nIf the attempts were not yours, consider a longer password.\n\n— Nexus Deep Storage\n"
        ),
    )
    .await
}

/// Mails the user a single-use sign-in link for `purpose`, unless one went since `since`
/// (decided inside the transaction that makes it, [`first_link_since`]). `body` is the
/// mail's text around the link.
#[allow(clippy::too_many_arguments)]
pub(super) async fn mail_link_once(
    st: &AppState,
    user_id: &str,
    email: &str,
    purpose: LinkPurpose,
    since: i64,
    now: i64,
    subject: &str,
    body: impl FnOnce(&str) -> String,
) -> Result<(), AppError> {
    let mut tx = st.db.begin().await?;
    if !first_link_since(st, &mut tx, user_id, purpose, since).await? {
        return Ok(());
    }
    let token = make_link(&mut tx, user_id, purpose, now).await?;
    crate::notify::service::queue_mail(&mut tx, email, subject, &body(&link_url(st, &token)), now)
        .await?;
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    tracing::info!(%user_id, purpose = purpose.name(), "sign-in link mailed");
    Ok(())
}

/// A new session for the user (`sso_workspace`: the workspace whose provider signed them in,
/// which the session then reaches alone).
pub(crate) async fn create_session(
    st: &AppState,
    user: User,
    ip: &str,
    user_agent: &str,
    sso_workspace: Option<&str>,
) -> Result<SignedIn, AppError> {
    let token = random_token(32);
    let now = st.clock.now_ms();
    let expires_at = now + st.config.session_ttl_hours * 3_600_000;
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent,
                               sso_workspace_id, workspace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(new_id())
    .bind(sha256_hex(&token))
    .bind(&user.id)
    .bind(now)
    .bind(expires_at)
    .bind(now)
    .bind(ip)
    .bind(user_agent.chars().take(300).collect::<String>())
    .bind(sso_workspace)
    .execute(&st.db.pool)
    .await?;
    remember_address(st, &user.id, ip, now).await?;
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
    last_seen_at: i64,
    email_confirmed_at: Option<i64>,
    workspace_id: Option<String>,
    sso_workspace_id: Option<String>,
}

/// How stale a session's "last seen" may get before a request writes it again (at most one
/// write a minute per session, not one per request).
const LAST_SEEN_EVERY_MS: i64 = 60_000;

/// The user behind a session token, if the session exists and has not expired.
pub async fn session_user(st: &AppState, token: &str) -> Result<Option<(Actor, User)>, AppError> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.id AS session_id, u.id AS user_id, u.email AS email, s.expires_at AS expires_at,
                s.last_seen_at AS last_seen_at, u.email_confirmed_at AS email_confirmed_at,
                s.workspace_id AS workspace_id, s.sso_workspace_id AS sso_workspace_id
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(sha256_hex(token))
    .fetch_optional(&st.db.pool)
    .await?;
    let now = st.clock.now_ms();
    if let Some(r) = &row
        && r.expires_at > now
        && now - r.last_seen_at >= LAST_SEEN_EVERY_MS
    {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&r.session_id)
            .execute(&st.db.pool)
            .await?;
    }
    Ok(row.filter(|r| r.expires_at > now).map(|r| {
        let actor = Actor::User {
            user_id: r.user_id.clone(),
            session_id: r.session_id,
            workspace_id: r.workspace_id.unwrap_or_default(),
            sso_workspace: r.sso_workspace_id.unwrap_or_default(),
        };
        (
            actor,
            User {
                id: r.user_id,
                email: r.email,
                email_confirmed: r.email_confirmed_at.is_some(),
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
    // Failures are kept a day: the daily back-off counts them.
    let keep_ms = (st.config.login_window_secs * 1000)
        .max(SIGNUP_WINDOW_MS)
        .max(DAY_MS);
    let attempts = sqlx::query("DELETE FROM login_attempts WHERE at <= $1")
        .bind(now - keep_ms)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let links = sqlx::query("DELETE FROM login_tokens WHERE expires_at <= $1")
        .bind(now - SIGNUP_WINDOW_MS)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let known = sqlx::query("DELETE FROM known_addresses WHERE last_at <= $1")
        .bind(now - KNOWN_ADDRESS_MS)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let audit = crate::audit::service::purge(st).await?;
    Ok(sessions + attempts + links + known + audit)
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

/// The job that purges expired sessions, old sign-in attempts and links (hourly).
pub const PURGE_EXPIRED_SESSIONS: &str = "purge_expired_sessions";

/// Runs [`PURGE_EXPIRED_SESSIONS`].
pub async fn purge_expired_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let n = purge_expired(st).await?;
    if n > 0 {
        tracing::info!(rows = n, "purged expired sessions and sign-in attempts");
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_an_ipv6_address_by_its_64_and_ipv4_as_it_is() {
        assert_eq!(address_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(address_key("unknown"), "unknown");
    }

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

//! API keys: made by a workspace's admins (on the Developer page, or by a key with the admin
//! scope), shown once, kept as a SHA-256 of the secret, rotated with a grace period, revoked.
//! `authenticate` turns a presented secret into the key's [`Actor`].
use super::{ApiKey, CreatedKey, KEY_PREFIX, MAX_GRACE_SECS, NewKey, check_name, check_scopes};
use crate::core::{Actor, AppState, Db, new_id, random_token, sha256_hex};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};

const KEY_COLUMNS: &str = "id, name, prefix, scopes, vault_id, expires_at, created_at,
    last_used_at, last_used_ip, revoked_at";

/// How often a key's "last used" is written (every call would make each API request a write).
const LAST_USED_EVERY_MS: i64 = 60_000;
/// Keys one workspace may hold (revoked ones included; they are kept for the record).
const MAX_KEYS_PER_WORKSPACE: i64 = 200;

/// The workspace the actor manages keys and webhooks in: a key's own; a person's own
/// workspace (as the usage and billing pages), where they must be an admin.
pub async fn managed_workspace(db: &Db, actor: &Actor) -> Result<String, AppError> {
    let ws = match actor {
        Actor::Key { workspace_id, .. } => workspace_id.clone(),
        Actor::User { .. } => crate::usage::service::own_workspace(db, actor).await?.0,
    };
    if !actor.has_scope("admin") {
        return Err(AppError::Forbidden {
            message: "This key lacks the admin scope.".into(),
        });
    }
    // Keys and webhooks reach the whole workspace (a webhook hears every vault's events; a
    // key could be rotated into one without the limit): not for a key kept to one vault.
    if !actor.only_vault().is_empty() {
        return Err(AppError::Forbidden {
            message: "A key limited to one vault cannot manage keys or webhooks.".into(),
        });
    }
    require_role(db, actor, &ws, Role::Admin).await?;
    Ok(ws)
}

pub async fn list_keys(st: &AppState, actor: &Actor) -> Result<Vec<ApiKey>, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1
         ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&ws)
        .fetch_all(&st.db.pool)
        .await?)
}

/// When the acting key expires, if it is a key that does.
fn own_expiry(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::Key { expires_at, .. } => *expires_at,
        Actor::User { .. } => None,
    }
}

/// Refuses a new key (made or rotated) once the workspace holds its most live keys.
async fn room_for_a_key(st: &AppState, ws: &str, now: i64) -> Result<(), AppError> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM api_keys
         WHERE workspace_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(ws)
    .bind(now)
    .fetch_one(&st.db.pool)
    .await?;
    if count >= MAX_KEYS_PER_WORKSPACE {
        return Err(AppError::conflict(format!(
            "This workspace has {count} live keys, the most it may have: revoke some first."
        )));
    }
    Ok(())
}

async fn get_key(db: &Db, ws: &str, key_id: &str) -> Result<ApiKey, AppError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND workspace_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_id)
        .bind(ws)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// A new secret: the prefix, then 32 random bytes (hex).
fn new_secret() -> String {
    format!("{KEY_PREFIX}{}", random_token(32))
}

/// Makes a key. A key making a key can give it no scope it lacks itself and no wider vault.
pub async fn create_key(
    st: &AppState,
    actor: &Actor,
    new: &NewKey,
) -> Result<CreatedKey, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    api_in_plan(st, &ws).await?;
    let name = check_name(&new.name)?;
    let scopes = check_scopes(&new.scopes)?;
    if let Some(s) = scopes.iter().find(|s| !actor.has_scope(s)) {
        return Err(AppError::Forbidden {
            message: format!("A key cannot give the {s} scope it lacks itself."),
        });
    }
    let vault_id = new.vault_id.clone().filter(|v| !v.trim().is_empty());
    if let Some(v) = &vault_id {
        let vault = crate::vaults::service::get_vault(&st.db, actor, v).await?;
        if vault.workspace_id != ws {
            return Err(AppError::NotFound);
        }
    }
    let now = st.clock.now_ms();
    if let Some(e) = new.expires_at
        && e <= now
    {
        return Err(AppError::invalid(
            "expires_at",
            "The expiry must be in the future.",
        ));
    }
    // A key that expires makes keys that expire no later (a short-lived CI key cannot mint
    // itself a lasting one).
    if let Some(limit) = own_expiry(actor)
        && new.expires_at.is_none_or(|e| e > limit)
    {
        return Err(AppError::invalid(
            "expires_at",
            "A key that expires can only make keys that expire by then.",
        ));
    }
    room_for_a_key(st, &ws, now).await?;
    let id = new_id();
    let secret = new_secret();
    insert_key(
        &st.db,
        &id,
        &ws,
        actor.user_id(),
        &name,
        &secret,
        &scopes.join(" "),
        vault_id.as_deref(),
        new.expires_at,
        now,
    )
    .await?;
    tracing::info!(key_id = %id, "api key created");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(Some(&ws), "key.create", format!("key:{id}"))
            .detail(format!("{name} ({})", scopes.join(" "))),
    )
    .await?;
    Ok(CreatedKey {
        key: get_key(&st.db, &ws, &id).await?,
        secret,
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert_key(
    db: &Db,
    id: &str,
    ws: &str,
    user_id: &str,
    name: &str,
    secret: &str,
    scopes: &str,
    vault_id: Option<&str>,
    expires_at: Option<i64>,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO api_keys (id, workspace_id, created_by, name, prefix, secret_hash, scopes,
            vault_id, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(ws)
    .bind(user_id)
    .bind(name)
    .bind(&secret[..KEY_PREFIX.len() + 8])
    .bind(sha256_hex(secret))
    .bind(scopes)
    .bind(vault_id)
    .bind(expires_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A new secret for the key: a new key with the same name, scopes, vault and expiry; the old
/// one keeps working `grace_secs` more (0: stops now).
pub async fn rotate_key(
    st: &AppState,
    actor: &Actor,
    key_id: &str,
    grace_secs: i64,
) -> Result<CreatedKey, AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    if !(0..=MAX_GRACE_SECS).contains(&grace_secs) {
        return Err(AppError::invalid(
            "grace_secs",
            "The grace period is 0 to 604800 seconds (7 days).",
        ));
    }
    let old = get_key(&st.db, &ws, key_id).await?;
    let now = st.clock.now_ms();
    if old.status(now) != "Active" {
        return Err(AppError::conflict("Only an active key can be rotated."));
    }
    room_for_a_key(st, &ws, now).await?;
    // The new key keeps the old one's expiry; a key rotating another gives it no more time
    // than it has itself.
    let new_expiry = match (old.expires_at, own_expiry(actor)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(s) = old.scope_list().iter().find(|s| !actor.has_scope(s)) {
        return Err(AppError::Forbidden {
            message: format!("A key cannot rotate a key with the {s} scope it lacks itself."),
        });
    }
    let (maker,): (String,) = sqlx::query_as("SELECT created_by FROM api_keys WHERE id = $1")
        .bind(&old.id)
        .fetch_one(&st.db.pool)
        .await?;
    let id = new_id();
    let secret = new_secret();
    let until = now + grace_secs * 1000;
    let until = own_expiry(actor).map_or(until, |e| until.min(e));
    // The old key stops at the end of the grace period, or its own expiry if sooner; only
    // the first of two racing rotations wins.
    let done = sqlx::query(
        "UPDATE api_keys SET replaced_by = $1,
            expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $2 THEN expires_at ELSE $2 END
         WHERE id = $3 AND replaced_by IS NULL AND revoked_at IS NULL",
    )
    .bind(&id)
    .bind(until)
    .bind(&old.id)
    .execute(&st.db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::conflict(
            "This key was rotated or revoked already.",
        ));
    }
    insert_key(
        &st.db,
        &id,
        &ws,
        &maker,
        &old.name,
        &secret,
        &old.scopes,
        old.vault_id.as_deref(),
        new_expiry,
        now,
    )
    .await?;
    tracing::info!(key_id = %old.id, new_key_id = %id, "api key rotated");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(Some(&ws), "key.rotate", format!("key:{}", old.id))
            .detail(format!("new key {id}")),
    )
    .await?;
    Ok(CreatedKey {
        key: get_key(&st.db, &ws, &id).await?,
        secret,
    })
}

/// Stops a key at once.
pub async fn revoke_key(st: &AppState, actor: &Actor, key_id: &str) -> Result<(), AppError> {
    let ws = managed_workspace(&st.db, actor).await?;
    let key = get_key(&st.db, &ws, key_id).await?;
    if let Some(s) = key.scope_list().iter().find(|s| !actor.has_scope(s)) {
        return Err(AppError::Forbidden {
            message: format!("A key cannot revoke a key with the {s} scope it lacks itself."),
        });
    }
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(st.clock.now_ms())
        .bind(&key.id)
        .execute(&st.db.pool)
        .await?;
    tracing::info!(key_id = %key.id, "api key revoked");
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(Some(&ws), "key.revoke", format!("key:{}", key.id)),
    )
    .await?;
    Ok(())
}

/// The actor a presented secret stands for, with its last use recorded (at most once a
/// minute, or when the address changes). Unknown, revoked and expired keys are refused alike
/// in status, each with its own message.
pub async fn authenticate(st: &AppState, secret: &str, ip: &str) -> Result<Actor, AppError> {
    let refuse = |m: &str| AppError::Unauthenticated { message: m.into() };
    if !secret.starts_with(KEY_PREFIX) || secret.len() > 200 {
        return Err(refuse(
            "This is not a Nexus API key (they start with nxs_live_).",
        ));
    }
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    // The key works only while its maker is in its workspace (`held_by` keeps it below
    // their role; a maker who left takes their keys' power with them).
    let row: Option<Row> = sqlx::query_as(
        "SELECT k.id, k.created_by, k.workspace_id, k.scopes, k.vault_id, k.expires_at,
            k.revoked_at, k.last_used_at, k.last_used_ip
         FROM api_keys k
         JOIN memberships m ON m.workspace_id = k.workspace_id AND m.user_id = k.created_by
         WHERE k.secret_hash = $1",
    )
    .bind(sha256_hex(secret))
    .fetch_optional(&st.db.pool)
    .await?;
    let Some((
        id,
        user_id,
        workspace_id,
        scopes,
        vault_id,
        expires_at,
        revoked_at,
        last_at,
        last_ip,
    )) = row
    else {
        return Err(refuse("This API key is not known."));
    };
    api_in_plan(st, &workspace_id).await?;
    let now = st.clock.now_ms();
    if revoked_at.is_some() {
        return Err(refuse("This API key was revoked."));
    }
    if expires_at.is_some_and(|e| e <= now) {
        return Err(refuse("This API key has expired."));
    }
    if last_at.is_none_or(|t| now - t >= LAST_USED_EVERY_MS) || last_ip.as_deref() != Some(ip) {
        sqlx::query("UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(now)
            .bind(ip)
            .bind(&id)
            .execute(&st.db.pool)
            .await?;
    }
    Ok(Actor::Key {
        key_id: id,
        user_id,
        workspace_id,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        vault_id,
        expires_at,
    })
}

/// The key behind an actor, as listed (for `GET /me`).
pub async fn own_key(st: &AppState, actor: &Actor) -> Result<ApiKey, AppError> {
    let Actor::Key {
        key_id,
        workspace_id,
        ..
    } = actor
    else {
        return Err(AppError::NotFound);
    };
    get_key(&st.db, workspace_id, key_id).await
}

/// Refuses when the workspace's plan does not include the API (402, naming the plan).
async fn api_in_plan(st: &AppState, ws: &str) -> Result<(), AppError> {
    let plan = crate::usage::service::plan_for(st, ws).await?;
    if plan.api_access == 1 {
        Ok(())
    } else {
        Err(AppError::PlanLimit {
            message: format!(
                "The {} plan does not include API access: choose another plan on the billing page.",
                plan.name
            ),
        })
    }
}

/// How long the API keeps a POST's answer for retries with its Idempotency-Key.
pub const IDEMPOTENCY_KEEP_MS: i64 = 24 * 3600 * 1000;
/// How long a webhook event and its deliveries stay listed once nothing is left to send.
const EVENTS_KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

/// The hourly job that forgets the API's kept answers after a day, and webhook events (with
/// their deliveries) a month old with nothing left to send.
pub const PURGE_DEVELOPER_RECORDS: &str = "purge_developer_records";

pub async fn purge_records_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let answers = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now - IDEMPOTENCY_KEEP_MS)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let events = sqlx::query(
        "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS
            (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.state = 'pending')",
    )
    .bind(now - EVENTS_KEEP_MS)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if answers + events > 0 {
        tracing::info!(answers, events, "purged old API answers and webhook events");
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

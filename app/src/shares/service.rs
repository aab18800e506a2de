//! Making, listing and revoking share links (members of the vault's workspace), and what the
//! public page may do with one (anyone holding the link, and its password when it has one).
use super::{CreatedShare, MAX_DAYS, MAX_LISTED, NewShare, ShareLink, SharedFile, SharedView};
use crate::audit::service::{Change, record};
use crate::core::{Actor, AppState, new_id, random_token, sha256_hex};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role_in};

/// Wrong passwords one link accepts from one client address in an hour.
pub const PASSWORD_TRIES_PER_HOUR: i64 = 10;

const LINK_COLUMNS: &str = "s.id, s.workspace_id, s.vault_id, s.file_id, s.folder_id,
    COALESCE(f.name, d.path, '') AS target_name,
    CAST(CASE WHEN s.password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS protected,
    s.expires_at, s.max_downloads, s.downloads, s.views, s.created_at, s.revoked_at";

/// Makes a link to a live file or a folder of the vault (members and up: a link makes
/// the file readable by whoever holds it).
pub async fn create(
    st: &AppState,
    actor: &Actor,
    new: &NewShare,
) -> Result<CreatedShare, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, &new.vault_id).await?;
    require_role_in(&st.db, actor, &vault.workspace_id, &vault.id, Role::Member).await?;
    if !(1..=MAX_DAYS).contains(&new.days) {
        return Err(AppError::invalid(
            "days",
            format!("A link lasts 1 to {MAX_DAYS} days."),
        ));
    }
    if let Some(m) = new.max_downloads
        && !(1..=100_000).contains(&m)
    {
        return Err(AppError::invalid(
            "max_downloads",
            "Allow 1 to 100,000 downloads, or leave it empty for no limit.",
        ));
    }
    let password = new.password.as_deref().filter(|p| !p.is_empty());
    if let Some(p) = password
        && !(8..=1024).contains(&p.len())
    {
        return Err(AppError::invalid(
            "password",
            "A link's password has 8 to 1024 characters.",
        ));
    }
    let (file_ref, folder_ref) = match new.path.as_deref().map(|p| p.trim().trim_matches('/')) {
        Some("") => {
            return Err(AppError::invalid(
                "path",
                "Name a file or a folder of the vault (a link to a whole vault is not offered).",
            ));
        }
        Some(path) => resolve_path(st, &vault.id, path).await?,
        None => (new.file_id.clone(), new.folder_id.clone()),
    };
    let (file_id, folder_id) = match (&file_ref, &folder_ref) {
        (Some(f), None) => {
            let file = crate::files::service::get_file(&st.db, actor, f, Role::Member).await?;
            if file.vault_id != vault.id || file.deleted_at.is_some() || file.state == "uploading" {
                return Err(AppError::NotFound);
            }
            (Some(file.id), None)
        }
        (None, Some(d)) => {
            let (id,): (String,) =
                sqlx::query_as("SELECT id FROM folders WHERE id = $1 AND vault_id = $2")
                    .bind(d)
                    .bind(&vault.id)
                    .fetch_optional(&st.db.pool)
                    .await?
                    .ok_or(AppError::NotFound)?;
            (None, Some(id))
        }
        _ => {
            return Err(AppError::invalid("target", "Share one file or one folder."));
        }
    };
    let password_hash = match password {
        Some(p) => Some(crate::auth::service::hash_password(p).await?),
        None => None,
    };
    let now = st.clock.now_ms();
    let id = new_id();
    let token = random_token(24);
    sqlx::query(
        "INSERT INTO share_links (id, workspace_id, vault_id, file_id, folder_id, token_hash,
            password_hash, expires_at, max_downloads, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&vault.workspace_id)
    .bind(&vault.id)
    .bind(&file_id)
    .bind(&folder_id)
    .bind(sha256_hex(&token))
    .bind(&password_hash)
    .bind(now + new.days * 86_400_000)
    .bind(new.max_downloads)
    .bind(actor.user_id())
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    let link = get(st, &id).await?;
    record(
        st,
        actor,
        Change::new(
            Some(&vault.workspace_id),
            "share.create",
            format!("share:{id}"),
        )
        .detail(format!(
            "{} for {} days{}{}",
            link.target_name,
            new.days,
            if link.protected == 1 {
                ", password"
            } else {
                ""
            },
            new.max_downloads
                .map(|m| format!(", {m} downloads"))
                .unwrap_or_default()
        )),
    )
    .await?;
    tracing::info!(share_id = %id, "share link made");
    crate::core::metrics::metrics().event("share_created");
    Ok(CreatedShare {
        link,
        url: format!("{}/s/{token}", st.config.public_url),
    })
}

/// A path in the vault as a folder (when one has it) or a live file.
async fn resolve_path(
    st: &AppState,
    vault_id: &str,
    path: &str,
) -> Result<(Option<String>, Option<String>), AppError> {
    let folder: Option<(String,)> =
        sqlx::query_as("SELECT id FROM folders WHERE vault_id = $1 AND path = $2")
            .bind(vault_id)
            .bind(path)
            .fetch_optional(&st.db.pool)
            .await?;
    if let Some((id,)) = folder {
        return Ok((None, Some(id)));
    }
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let file: Option<(String,)> = sqlx::query_as(
        "SELECT f.id FROM files f LEFT JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND COALESCE(d.path, '') = $2 AND f.name = $3
           AND f.deleted_at IS NULL AND f.state <> 'uploading'
         ORDER BY f.created_at DESC LIMIT 1",
    )
    .bind(vault_id)
    .bind(dir)
    .bind(name)
    .fetch_optional(&st.db.pool)
    .await?;
    match file {
        Some((id,)) => Ok((Some(id), None)),
        None => Err(AppError::invalid(
            "path",
            format!("There is no file or folder “{path}” in this vault."),
        )),
    }
}

async fn get(st: &AppState, id: &str) -> Result<ShareLink, AppError> {
    let sql = format!(
        "SELECT {LINK_COLUMNS} FROM share_links s
         LEFT JOIN files f ON f.id = s.file_id LEFT JOIN folders d ON d.id = s.folder_id
         WHERE s.id = $1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// The vault's links, newest first (anyone who may see the vault).
pub async fn list(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
) -> Result<Vec<ShareLink>, AppError> {
    crate::vaults::service::check_vault(&st.db, actor, vault_id, Role::Viewer).await?;
    let sql = format!(
        "SELECT {LINK_COLUMNS} FROM share_links s
         LEFT JOIN files f ON f.id = s.file_id LEFT JOIN folders d ON d.id = s.folder_id
         WHERE s.vault_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT 500"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(vault_id)
        .fetch_all(&st.db.pool)
        .await?)
}

/// Stops a link at once (members and up).
pub async fn revoke(st: &AppState, actor: &Actor, share_id: &str) -> Result<(), AppError> {
    let link = get(st, share_id).await?;
    let ws = link.workspace_id.clone();
    require_role_in(&st.db, actor, &ws, &link.vault_id, Role::Member).await?;
    sqlx::query("UPDATE share_links SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(st.clock.now_ms())
        .bind(&link.id)
        .execute(&st.db.pool)
        .await?;
    record(
        st,
        actor,
        Change::new(Some(&ws), "share.revoke", format!("share:{}", link.id))
            .detail(link.target_name),
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Live {
    id: String,
    file_id: Option<String>,
    folder_id: Option<String>,
    password_hash: Option<String>,
    expires_at: i64,
    max_downloads: Option<i64>,
    downloads: i64,
}

/// The link behind a token, if it still works (one answer for unknown, expired, revoked and
/// used up: the link no longer works), with its password checked.
async fn open(st: &AppState, token: &str, password: &str, ip: &str) -> Result<Live, AppError> {
    let gone = || AppError::NotFound;
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(gone());
    }
    let now = st.clock.now_ms();
    let live: Live = sqlx::query_as(
        "SELECT id, file_id, folder_id, password_hash, expires_at, max_downloads, downloads
         FROM share_links WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(sha256_hex(token))
    .bind(now)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(gone)?;
    if let Some(hash) = &live.password_hash {
        let ip = crate::auth::service::address_key(ip);
        let key = format!("share:{}", live.id);
        let (fails,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM login_attempts WHERE kind = 'share' AND email = $1 AND ip = $2
             AND at > $3 AND succeeded = 0",
        )
        .bind(&key)
        .bind(&ip)
        .bind(now - 3_600_000)
        .fetch_one(&st.db.pool)
        .await?;
        if fails >= PASSWORD_TRIES_PER_HOUR {
            return Err(AppError::Limit {
                message: "Too many wrong passwords for this link. Try again in an hour.".into(),
                retry_after_s: 3600,
            });
        }
        if password.is_empty() {
            return Err(AppError::invalid(
                "password",
                "This link needs its password.",
            ));
        }
        if !crate::auth::service::verify_password(password, hash).await {
            crate::auth::service::record_attempt(st, &key, &ip, "share", now).await?;
            return Err(AppError::invalid(
                "password",
                "That is not the link's password.",
            ));
        }
    }
    Ok(live)
}

/// A file a link's download may fetch.
#[derive(sqlx::FromRow)]
struct SharedObject {
    name: String,
    storage_class: String,
    state: String,
    s3_key: String,
}

/// The files a link shows: its file, or the folder's live files at any depth.
async fn files_of(st: &AppState, live: &Live) -> Result<(String, bool, Vec<SharedFile>), AppError> {
    if let Some(f) = &live.file_id {
        let files: Vec<SharedFile> = sqlx::query_as(
            "SELECT id, '' AS folder, name, size, storage_class, state FROM files
             WHERE id = $1 AND deleted_at IS NULL AND state <> 'uploading'",
        )
        .bind(f)
        .fetch_all(&st.db.pool)
        .await?;
        let title = files
            .first()
            .map(|f| f.name.clone())
            .ok_or(AppError::NotFound)?;
        return Ok((title, false, files));
    }
    let folder = live.folder_id.as_deref().unwrap_or_default();
    let (vault_id, path, name): (String, String, String) =
        sqlx::query_as("SELECT vault_id, path, name FROM folders WHERE id = $1")
            .bind(folder)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or(AppError::NotFound)?;
    let sql = format!(
        "SELECT f.id, COALESCE(d.path, '') AS folder, f.name, f.size, f.storage_class, f.state
         FROM files f JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1
           AND (d.path = $2 OR SUBSTR(d.path, 1, LENGTH($2) + 1) = $2 || '/')
           AND f.deleted_at IS NULL AND f.state <> 'uploading'
         ORDER BY d.path, f.name, f.id LIMIT {MAX_LISTED}"
    );
    let mut files: Vec<SharedFile> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&vault_id)
        .bind(&path)
        .fetch_all(&st.db.pool)
        .await?;
    for f in &mut files {
        // Paths are shown from the shared folder down.
        f.folder = f
            .folder
            .strip_prefix(&path)
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
    }
    Ok((name, true, files))
}

/// What the public page shows; counts a view.
pub async fn view(
    st: &AppState,
    token: &str,
    password: &str,
    ip: &str,
) -> Result<SharedView, AppError> {
    let live = open(st, token, password, ip).await?;
    let (title, is_folder, files) = files_of(st, &live).await?;
    sqlx::query("UPDATE share_links SET views = views + 1 WHERE id = $1")
        .bind(&live.id)
        .execute(&st.db.pool)
        .await?;
    crate::core::metrics::metrics().event("share_opened");
    Ok(SharedView {
        title,
        is_folder,
        expires_at: live.expires_at,
        downloads_left: live.max_downloads.map(|m| (m - live.downloads).max(0)),
        files,
    })
}

/// A presigned GET for one of the link's files, made now (counted; refused past the limit,
/// and for an archived file, which must be restored by a member first).
pub async fn download(
    st: &AppState,
    token: &str,
    password: &str,
    file_id: &str,
    ip: &str,
) -> Result<String, AppError> {
    let live = open(st, token, password, ip).await?;
    // The file itself, or one under the shared folder at any depth (live either way).
    let f: SharedObject = sqlx::query_as(
        "SELECT f.name, f.storage_class, f.state, f.s3_key FROM files f
         LEFT JOIN folders d ON d.id = f.folder_id
         LEFT JOIN folders top ON top.id = $3
         WHERE f.id = $1 AND f.deleted_at IS NULL AND f.state <> 'uploading'
           AND (f.id = $2 OR (top.id IS NOT NULL AND f.vault_id = top.vault_id AND
                (d.path = top.path OR SUBSTR(d.path, 1, LENGTH(top.path) + 1) = top.path || '/')))",
    )
    .bind(file_id)
    .bind(live.file_id.as_deref().unwrap_or_default())
    .bind(live.folder_id.as_deref().unwrap_or_default())
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    if f.state == "archived" || f.state == "restoring" {
        return Err(AppError::conflict(format!(
            "“{}” is archived in {}: it must be restored before it can be downloaded, and only a member of its workspace can restore it. Ask whoever shared it.",
            f.name,
            crate::files::class_label(&f.storage_class)
        )));
    }
    crate::downloads::service::downloadable(&f.state, &f.name, &f.storage_class)?;
    let counted = sqlx::query(
        "UPDATE share_links SET downloads = downloads + 1
         WHERE id = $1 AND (max_downloads IS NULL OR downloads < max_downloads)",
    )
    .bind(&live.id)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if counted != 1 {
        return Err(AppError::NotFound);
    }
    st.storage
        .presign_get(&f.s3_key, &f.name, st.config.presign_ttl_secs)
        .await
}

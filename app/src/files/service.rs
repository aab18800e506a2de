//! The file browser's service: listing a folder or a search in pages (keyset, never OFFSET),
//! folders (create, rename, move, delete), renaming and moving files, the trash (files keep
//! the folder path they were deleted from and come back there), details with history, and
//! the purge that deletes trashed objects for good. Every function checks the actor first.
use super::{FileDetails, FileEntry, FileEvent, FolderEntry, ListQuery, Page, Sort, TrashEntry};
use crate::core::db::{Dialect, Sql};
use crate::core::{Actor, AppState, Db, new_id};
use crate::error::AppError;
use crate::workspaces::{Role, service::require_role};
use base64::Engine;

/// What the service knows of a file beyond what the browser shows.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FileRecord {
    pub id: String,
    pub workspace_id: String,
    pub vault_id: String,
    pub folder_id: Option<String>,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub s3_key: String,
    pub storage_class: String,
    pub state: String,
    pub class_changed_at: i64,
    pub thumb_key: Option<String>,
    pub deleted_at: Option<i64>,
    pub sha256: Option<String>,
    /// The folder path a trashed file came from.
    pub trashed_path: Option<String>,
}

const RECORD_COLUMNS: &str = "id, workspace_id, vault_id, folder_id, name, size, content_type,
    s3_key, storage_class, state, class_changed_at, thumb_key, deleted_at, sha256, trashed_path";

/// The columns of [`FileEntry`], from `files f LEFT JOIN folders d`.
pub const ENTRY_COLUMNS: &str = "f.id, f.vault_id, COALESCE(d.path, '') AS folder_path, f.name,
    f.size, f.content_type, f.storage_class, f.state, f.created_at, f.updated_at, f.kind,
    CAST(CASE WHEN f.thumb_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_thumb, f.restored_until";

/// Largest page the browser may ask for.
pub const MAX_PAGE: i64 = 500;

/// A file the actor holds at least `role` on (NotFound when it may not see it at all).
/// Files in the trash are found too; callers decide what they may do with them.
pub async fn get_file(
    db: &Db,
    actor: &Actor,
    file_id: &str,
    role: Role,
) -> Result<FileRecord, AppError> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM files WHERE id = $1");
    let file: FileRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(file_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require_role(db, actor, &file.workspace_id, role).await?;
    Ok(file)
}

/// A live (not trashed, not uploading) file the actor holds `role` on.
async fn get_live_file(
    db: &Db,
    actor: &Actor,
    file_id: &str,
    role: Role,
) -> Result<FileRecord, AppError> {
    let f = get_file(db, actor, file_id, role).await?;
    if f.deleted_at.is_some() || f.state == "uploading" {
        return Err(AppError::NotFound);
    }
    Ok(f)
}

pub async fn entry(db: &Db, file_id: &str) -> Result<FileEntry, AppError> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM files f LEFT JOIN folders d ON d.id = f.folder_id WHERE f.id = $1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(file_id)
        .fetch_one(&db.pool)
        .await?)
}

/// Records something that happened to a file (its details panel shows the history).
pub async fn record_event<'e>(
    exec: impl sqlx::Executor<'e, Database = sqlx::Any>,
    file_id: &str,
    actor_id: Option<&str>,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO file_events (id, file_id, at, actor_id, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(file_id)
    .bind(now)
    .bind(actor_id)
    .bind(kind)
    .bind(detail)
    .execute(exec)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- folders

/// The folder at `path` (checked names) in a vault, made with its parents when missing;
/// None for the root. Safe when two uploads make the same folder at once.
pub async fn ensure_folder_path(
    db: &Db,
    workspace_id: &str,
    vault_id: &str,
    names: &[String],
    user_id: &str,
    now: i64,
) -> Result<Option<String>, AppError> {
    let mut parent: Option<String> = None;
    let mut path = String::new();
    for name in names {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(name);
        sqlx::query(
            "INSERT INTO folders (id, workspace_id, vault_id, parent_id, name, path, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (vault_id, path) DO NOTHING",
        )
        .bind(new_id())
        .bind(workspace_id)
        .bind(vault_id)
        .bind(&parent)
        .bind(name)
        .bind(&path)
        .bind(user_id)
        .bind(now)
        .execute(&db.pool)
        .await?;
        let (id,): (String,) =
            sqlx::query_as("SELECT id FROM folders WHERE vault_id = $1 AND path = $2")
                .bind(vault_id)
                .bind(&path)
                .fetch_one(&db.pool)
                .await?;
        parent = Some(id);
    }
    Ok(parent)
}

/// The folder at `path` in a vault if it exists (None for the root or a missing folder).
pub async fn find_folder(db: &Db, vault_id: &str, path: &str) -> Result<Option<String>, AppError> {
    if path.is_empty() {
        return Ok(None);
    }
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT id FROM folders WHERE vault_id = $1 AND path = $2")
            .bind(vault_id)
            .bind(path)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.0),
    )
}

/// The folder at `path`, which must exist ('' is the root).
async fn existing_folder(db: &Db, vault_id: &str, path: &str) -> Result<Option<String>, AppError> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    match find_folder(db, vault_id, path).await? {
        Some(id) => Ok(Some(id)),
        None => Err(AppError::invalid(
            "path",
            format!("There is no folder “{path}” in this vault (any more)."),
        )),
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
struct FolderRow {
    id: String,
    workspace_id: String,
    vault_id: String,
    parent_id: Option<String>,
    name: String,
    path: String,
}

async fn get_folder(
    db: &Db,
    actor: &Actor,
    folder_id: &str,
    role: Role,
) -> Result<FolderRow, AppError> {
    let f: FolderRow = sqlx::query_as(
        "SELECT id, workspace_id, vault_id, parent_id, name, path FROM folders WHERE id = $1",
    )
    .bind(folder_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require_role(db, actor, &f.workspace_id, role).await?;
    Ok(f)
}

fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// A name is taken in a folder when a live file or a folder has it.
async fn name_taken(
    db: &Db,
    vault_id: &str,
    parent_path: &str,
    name: &str,
) -> Result<bool, AppError> {
    let folder = find_folder(db, vault_id, parent_path).await?;
    let mut sql = Sql::new("SELECT COUNT(*) FROM files f WHERE f.vault_id = ");
    let v = sql.arg(vault_id);
    sql.push(&v);
    folder_condition(&mut sql, folder.as_deref());
    let n = sql.arg(name);
    sql.push(&format!(
        " AND f.name = {n} AND f.deleted_at IS NULL AND f.state <> 'uploading'"
    ));
    let (files,): (i64,) = sql.query_as().fetch_one(&db.pool).await?;
    let (folders,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM folders WHERE vault_id = $1 AND path = $2")
            .bind(vault_id)
            .bind(join_path(parent_path, name))
            .fetch_one(&db.pool)
            .await?;
    Ok(files + folders > 0)
}

/// Makes a folder in `parent_path` (which must exist).
pub async fn create_folder(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    parent_path: &str,
    name: &str,
) -> Result<FolderEntry, AppError> {
    let vault = crate::vaults::service::get_vault(&st.db, actor, vault_id).await?;
    require_role(&st.db, actor, &vault.workspace_id, Role::Member).await?;
    let name = super::check_file_name(name).map_err(|_| {
        AppError::invalid(
            "name",
            "A folder name needs 1 to 255 characters and no '/' or '\\'.",
        )
    })?;
    let parent_path = parent_path.trim_matches('/');
    existing_folder(&st.db, &vault.id, parent_path).await?;
    if name_taken(&st.db, &vault.id, parent_path, &name).await? {
        return Err(AppError::conflict(format!(
            "“{name}” already exists in this folder."
        )));
    }
    let mut names = super::check_folder_path(parent_path)?;
    names.push(name.clone());
    let id = ensure_folder_path(
        &st.db,
        &vault.workspace_id,
        &vault.id,
        &names,
        actor.user_id(),
        st.clock.now_ms(),
    )
    .await?
    .ok_or_else(|| AppError::internal("a folder path with a name made no folder"))?;
    tracing::info!(folder_id = %id, vault_id = %vault.id, "folder created");
    Ok(FolderEntry {
        id,
        path: join_path(parent_path, &name),
        name,
        created_at: st.clock.now_ms(),
    })
}

/// Moves and/or renames a folder: its subtree's paths follow. A folder cannot go inside
/// itself, and a name already used in the target folder is refused.
pub async fn move_folder(
    st: &AppState,
    actor: &Actor,
    folder_id: &str,
    target_parent: &str,
    new_name: &str,
) -> Result<FolderEntry, AppError> {
    let folder = get_folder(&st.db, actor, folder_id, Role::Member).await?;
    let name = super::check_file_name(new_name).map_err(|_| {
        AppError::invalid(
            "name",
            "A folder name needs 1 to 255 characters and no '/' or '\\'.",
        )
    })?;
    let target_parent = target_parent.trim_matches('/');
    let new_path = join_path(target_parent, &name);
    if new_path == folder.path {
        return Ok(FolderEntry {
            id: folder.id,
            name,
            path: new_path,
            created_at: 0,
        });
    }
    if target_parent == folder.path || target_parent.starts_with(&format!("{}/", folder.path)) {
        return Err(AppError::invalid(
            "target",
            "A folder cannot move into itself.",
        ));
    }
    let parent_id = existing_folder(&st.db, &folder.vault_id, target_parent).await?;
    // Renaming "a" to "A" in place is fine; anything else must be a free name.
    let same_place = parent_id == folder.parent_id;
    if !(same_place && name.eq_ignore_ascii_case(&folder.name))
        && name_taken(&st.db, &folder.vault_id, target_parent, &name).await?
    {
        return Err(AppError::conflict(format!(
            "“{name}” already exists there."
        )));
    }
    let mut tx = st.db.begin().await?;
    // Descendants first (their paths start with the old path and a '/'), then the folder.
    let old_prefix_len = folder.path.chars().count() as i64;
    sqlx::query(
        "UPDATE folders SET path = $1 || SUBSTR(path, CAST($2 AS INTEGER))
         WHERE vault_id = $3 AND SUBSTR(path, 1, CAST($4 AS INTEGER)) = $5",
    )
    .bind(&new_path)
    .bind(old_prefix_len + 1)
    .bind(&folder.vault_id)
    .bind(old_prefix_len + 1)
    .bind(format!("{}/", folder.path))
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE folders SET path = $1, name = $2, parent_id = $3 WHERE id = $4")
        .bind(&new_path)
        .bind(&name)
        .bind(&parent_id)
        .bind(&folder.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(folder_id = %folder.id, "folder moved or renamed");
    Ok(FolderEntry {
        id: folder.id,
        name,
        path: new_path,
        created_at: 0,
    })
}

/// Folders whose path contains `text` (for the "Move to…" picker), at most 50.
pub async fn find_folders(
    db: &Db,
    actor: &Actor,
    vault_id: &str,
    text: &str,
) -> Result<Vec<FolderEntry>, AppError> {
    let vault = crate::vaults::service::get_vault(db, actor, vault_id).await?;
    Ok(sqlx::query_as(
        "SELECT id, name, path, created_at FROM folders
         WHERE vault_id = $1 AND LOWER(path) LIKE $2 ESCAPE '\\' ORDER BY path LIMIT 50",
    )
    .bind(&vault.id)
    .bind(format!("%{}%", like_escape(&text.trim().to_lowercase())))
    .fetch_all(&db.pool)
    .await?)
}

// ---------------------------------------------------------------- listing

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// ` AND f.folder_id = $n` (or IS NULL at the root): equality, so the folder indexes serve.
fn folder_condition(sql: &mut Sql, folder: Option<&str>) {
    match folder {
        None => {
            sql.push(" AND f.folder_id IS NULL");
        }
        Some(id) => {
            let p = sql.arg(id);
            sql.push(&format!(" AND f.folder_id = {p}"));
        }
    }
}

fn sort_column(sort: Sort) -> &'static str {
    match sort {
        Sort::Name => "f.name",
        Sort::Size => "f.size",
        Sort::Class => "f.storage_class",
        Sort::State => "f.state",
        Sort::Modified => "f.updated_at",
    }
}

/// The search and filter conditions of a view (after `WHERE f.vault_id = …`).
fn filter_conditions(sql: &mut Sql, dialect: Dialect, q: &ListQuery) -> Result<(), AppError> {
    sql.push(" AND f.deleted_at IS NULL AND f.state <> 'uploading'");
    let text = q.q.trim();
    if !text.is_empty() {
        if text.chars().count() > 200 {
            return Err(AppError::invalid("q", "Search for at most 200 characters."));
        }
        if dialect == Dialect::Sqlite && text.chars().count() >= 3 {
            // FTS5 trigram: a quoted phrase matches any substring, any case.
            let p = sql.arg(format!("\"{}\"", text.replace('"', "\"\"")));
            sql.push(&format!(
                " AND f.id IN (SELECT s.file_id FROM files_fts JOIN file_search s ON s.seq = files_fts.rowid
                    WHERE files_fts MATCH {p})"
            ));
        } else {
            // PostgreSQL: the trigram index on lower(name) serves LIKE '%…%'.
            let p = sql.arg(format!("%{}%", like_escape(&text.to_lowercase())));
            sql.push(&format!(" AND LOWER(f.name) LIKE {p} ESCAPE '\\'"));
        }
    }
    if !q.class.is_empty() {
        if !crate::vaults::STORAGE_CLASSES.contains(&q.class.as_str()) {
            return Err(AppError::invalid("class", "Unknown storage class."));
        }
        let p = sql.arg(&q.class);
        sql.push(&format!(" AND f.storage_class = {p}"));
    }
    if !q.state.is_empty() {
        if !super::STATES.contains(&q.state.as_str()) {
            return Err(AppError::invalid("state", "Unknown state."));
        }
        let p = sql.arg(&q.state);
        sql.push(&format!(" AND f.state = {p}"));
    }
    if !q.kind.is_empty() {
        if !super::KINDS.contains(&q.kind.as_str()) {
            return Err(AppError::invalid("kind", "Unknown file type."));
        }
        let p = sql.arg(&q.kind);
        sql.push(&format!(" AND f.kind = {p}"));
    }
    if let (Some(a), Some(b)) = (q.min_size, q.max_size)
        && a > b
    {
        return Err(AppError::invalid(
            "min_size",
            "The smallest size is larger than the largest.",
        ));
    }
    if let Some(n) = q.min_size {
        let p = sql.arg(n);
        sql.push(&format!(" AND f.size >= {p}"));
    }
    if let Some(n) = q.max_size {
        let p = sql.arg(n);
        sql.push(&format!(" AND f.size <= {p}"));
    }
    if !q.from.is_empty() {
        let ms = super::parse_day(&q.from)
            .ok_or_else(|| AppError::invalid("from", "Give a date as YYYY-MM-DD."))?;
        let p = sql.arg(ms);
        sql.push(&format!(" AND f.updated_at >= {p}"));
    }
    if !q.to.is_empty() {
        let ms = super::parse_day(&q.to)
            .ok_or_else(|| AppError::invalid("to", "Give a date as YYYY-MM-DD."))?;
        let p = sql.arg(ms + 86_400_000);
        sql.push(&format!(" AND f.updated_at < {p}"));
    }
    Ok(())
}

/// Where a page ends: the phase (folders, then files), and the last row's sort key and id.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Cursor {
    /// "d" (folders) or "f" (files).
    p: String,
    /// The sort key: text or a number.
    v: serde_json::Value,
    id: String,
}

fn encode_cursor(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(s: &str) -> Result<Cursor, AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
        .filter(|c| c.p == "d" || c.p == "f")
        .ok_or_else(|| {
            AppError::invalid(
                "cursor",
                "This page link is not valid; start from the first page.",
            )
        })
}

fn file_sort_value(f: &FileEntry, sort: Sort) -> serde_json::Value {
    match sort {
        Sort::Name => f.name.clone().into(),
        Sort::Size => f.size.into(),
        Sort::Class => f.storage_class.clone().into(),
        Sort::State => f.state.clone().into(),
        Sort::Modified => f.updated_at.into(),
    }
}

/// Checks the actor may see the vault and works out the view's folder.
pub async fn view_scope(
    db: &Db,
    actor: &Actor,
    q: &ListQuery,
) -> Result<(String, Option<Option<String>>), AppError> {
    let vault = crate::vaults::service::check_vault(db, actor, &q.vault_id, Role::Viewer).await?;
    let folder = existing_folder(db, &vault, &q.path).await?;
    // "Everywhere" spans the vault (every file, flat, when nothing is searched for);
    // otherwise the view is one folder.
    let scope = if q.everywhere { None } else { Some(folder) };
    Ok((vault, scope))
}

/// `FROM files f … WHERE` the view's conditions (no keyset bound, no order).
fn view_where(
    sql: &mut Sql,
    db: &Db,
    vault_id: &str,
    scope: &Option<Option<String>>,
    q: &ListQuery,
) -> Result<(), AppError> {
    let v = sql.arg(vault_id);
    sql.push(&format!(
        " FROM files f LEFT JOIN folders d ON d.id = f.folder_id WHERE f.vault_id = {v}"
    ));
    if let Some(folder) = scope {
        folder_condition(sql, folder.as_deref());
    }
    filter_conditions(sql, db.dialect, q)
}

/// One page of a view: a folder's subfolders then its files, or the files a search matches.
pub async fn list_page(
    db: &Db,
    actor: &Actor,
    q: &ListQuery,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page, AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let (vault_id, scope) = view_scope(db, actor, q).await?;
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let first_page = cursor.is_none();
    let list_folders = !q.is_search() && !q.everywhere;
    let folder_of_view: Option<String> = scope.clone().flatten();

    let mut folders: Vec<FolderEntry> = vec![];
    if list_folders && cursor.as_ref().is_none_or(|c| c.p == "d") {
        let desc = q.sort == Sort::Name && q.desc;
        let mut sql = Sql::new("SELECT id, name, path, created_at FROM folders WHERE vault_id = ");
        let v = sql.arg(&vault_id);
        sql.push(&v);
        match &folder_of_view {
            None => sql.push(" AND parent_id IS NULL"),
            Some(id) => {
                let p = sql.arg(id);
                sql.push(&format!(" AND parent_id = {p}"))
            }
        };
        if let Some(c) = &cursor {
            let name = sql.arg(c.v.as_str().unwrap_or_default());
            let id = sql.arg(&c.id);
            sql.push(&format!(
                " AND (name, id) {} ({name}, {id})",
                if desc { "<" } else { ">" }
            ));
        }
        let dir = if desc { "DESC" } else { "ASC" };
        let lim = sql.arg(limit + 1);
        sql.push(&format!(" ORDER BY name {dir}, id {dir} LIMIT {lim}"));
        folders = sql.query_as().fetch_all(&db.pool).await?;
        if folders.len() as i64 > limit {
            folders.truncate(limit as usize);
            let last = folders
                .last()
                .cloned()
                .ok_or_else(|| AppError::internal("empty page"))?;
            let counts = if first_page {
                Some(count_view(db, &vault_id, &scope, q, &folder_of_view).await?)
            } else {
                None
            };
            return Ok(Page {
                next: Some(encode_cursor(&Cursor {
                    p: "d".into(),
                    v: last.name.into(),
                    id: last.id,
                })),
                folders,
                files: vec![],
                folder_count: counts.map(|c| c.0),
                file_count: counts.map(|c| c.1),
            });
        }
    }

    let room = limit - folders.len() as i64;
    let mut sql = Sql::new(&format!("SELECT {ENTRY_COLUMNS}"));
    view_where(&mut sql, db, &vault_id, &scope, q)?;
    let col = sort_column(q.sort);
    let (op, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
    if let Some(c) = cursor.as_ref().filter(|c| c.p == "f") {
        let v = match &c.v {
            serde_json::Value::Number(n) => sql.arg(n.as_i64().unwrap_or_default()),
            other => sql.arg(other.as_str().unwrap_or_default()),
        };
        let id = sql.arg(&c.id);
        sql.push(&format!(" AND ({col}, f.id) {op} ({v}, {id})"));
    }
    let lim = sql.arg(room + 1);
    sql.push(&format!(" ORDER BY {col} {dir}, f.id {dir} LIMIT {lim}"));
    let mut files: Vec<FileEntry> = if room > 0 {
        sql.query_as().fetch_all(&db.pool).await?
    } else {
        vec![]
    };
    let next = if files.len() as i64 > room {
        files.truncate(room as usize);
        files.last().map(|f| {
            encode_cursor(&Cursor {
                p: "f".into(),
                v: file_sort_value(f, q.sort),
                id: f.id.clone(),
            })
        })
    } else {
        None
    };
    let counts = if first_page {
        Some(count_view(db, &vault_id, &scope, q, &folder_of_view).await?)
    } else {
        None
    };
    Ok(Page {
        folders,
        files,
        next,
        folder_count: counts.map(|c| c.0),
        file_count: counts.map(|c| c.1),
    })
}

/// (folders, files) in the whole view.
async fn count_view(
    db: &Db,
    vault_id: &str,
    scope: &Option<Option<String>>,
    q: &ListQuery,
    folder: &Option<String>,
) -> Result<(i64, i64), AppError> {
    let mut sql = Sql::new("SELECT COUNT(*)");
    view_where(&mut sql, db, vault_id, scope, q)?;
    let (files,): (i64,) = sql.query_as().fetch_one(&db.pool).await?;
    let folders = if q.is_search() || q.everywhere {
        0
    } else {
        let (n,): (i64,) = match folder {
            None => {
                sqlx::query_as(
                    "SELECT COUNT(*) FROM folders WHERE vault_id = $1 AND parent_id IS NULL",
                )
                .bind(vault_id)
                .fetch_one(&db.pool)
                .await?
            }
            Some(id) => {
                sqlx::query_as("SELECT COUNT(*) FROM folders WHERE parent_id = $1")
                    .bind(id)
                    .fetch_one(&db.pool)
                    .await?
            }
        };
        n
    };
    Ok((folders, files))
}

/// Ids of the files a view matches, in id order after `after`, at most `limit` (bulk actions
/// over "everything matching" walk these).
pub async fn matching_ids(
    db: &Db,
    vault_id: &str,
    scope: &Option<Option<String>>,
    q: &ListQuery,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let mut sql = Sql::new("SELECT f.id");
    view_where(&mut sql, db, vault_id, scope, q)?;
    let a = sql.arg(after);
    let l = sql.arg(limit);
    sql.push(&format!(" AND f.id > {a} ORDER BY f.id LIMIT {l}"));
    let rows: Vec<(String,)> = sql.query_as().fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// How many files a view matches.
pub async fn count_matching(
    db: &Db,
    vault_id: &str,
    scope: &Option<Option<String>>,
    q: &ListQuery,
) -> Result<i64, AppError> {
    let mut sql = Sql::new("SELECT COUNT(*)");
    view_where(&mut sql, db, vault_id, scope, q)?;
    let (n,): (i64,) = sql.query_as().fetch_one(&db.pool).await?;
    Ok(n)
}

// ---------------------------------------------------------------- files

/// The next free "name (n).ext" among live files of a folder.
pub async fn free_name_in(
    db: &Db,
    vault_id: &str,
    folder_id: Option<&str>,
    name: &str,
    except: &str,
) -> Result<String, AppError> {
    let (stem, ext) = super::stem_ext(name);
    let mut sql = Sql::new("SELECT f.name FROM files f WHERE f.vault_id = ");
    let v = sql.arg(vault_id);
    sql.push(&v);
    folder_condition(&mut sql, folder_id);
    let n = sql.arg(name);
    let like = sql.arg(format!("{}%", like_escape(stem)));
    let ex = sql.arg(except);
    sql.push(&format!(
        " AND f.deleted_at IS NULL AND f.state <> 'uploading' AND (f.name = {n} OR f.name LIKE {like} ESCAPE '\\') AND f.id <> {ex}"
    ));
    let taken: Vec<(String,)> = sql.query_as().fetch_all(&db.pool).await?;
    let taken: std::collections::HashSet<String> = taken.into_iter().map(|t| t.0).collect();
    if !taken.contains(name) {
        return Ok(name.to_string());
    }
    (2..100_000)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|c| !taken.contains(c))
        .ok_or_else(|| AppError::conflict("Too many files of this name in the folder."))
}

/// Renames a file; a name another file in the folder has is refused.
pub async fn rename_file(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
    name: &str,
) -> Result<FileEntry, AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    let name = super::check_file_name(name)?;
    if name == f.name {
        return entry(&st.db, &f.id).await;
    }
    let path = folder_path(&st.db, f.folder_id.as_deref()).await?;
    if name_taken(&st.db, &f.vault_id, &path, &name).await? {
        return Err(AppError::conflict(format!(
            "“{name}” already exists in this folder."
        )));
    }
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query("UPDATE files SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(&name)
        .bind(now)
        .bind(&f.id)
        .execute(&mut *tx)
        .await?;
    record_event(
        &mut *tx,
        &f.id,
        Some(actor.user_id()),
        "renamed",
        &format!("{} → {name}", f.name),
        now,
    )
    .await?;
    tx.commit().await?;
    entry(&st.db, &f.id).await
}

async fn folder_path(db: &Db, folder_id: Option<&str>) -> Result<String, AppError> {
    let Some(id) = folder_id else {
        return Ok(String::new());
    };
    let (p,): (String,) = sqlx::query_as("SELECT path FROM folders WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(p)
}

/// Moves files (already checked to be the actor's, live, in `vault_id`) into a folder. A
/// file whose name is taken there gets the next free "name (n).ext", like "Keep both".
pub async fn move_files_checked(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    ids: &[String],
    target: Option<&str>,
    target_path: &str,
) -> Result<i64, AppError> {
    let now = st.clock.now_ms();
    let mut moved = 0;
    for id in ids {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT name, folder_id FROM files WHERE id = $1 AND vault_id = $2 AND deleted_at IS NULL AND state <> 'uploading'",
        )
        .bind(id)
        .bind(vault_id)
        .fetch_optional(&st.db.pool)
        .await?;
        let Some((name, from)) = row else { continue };
        if from.as_deref() == target {
            continue;
        }
        let new_name = free_name_in(&st.db, vault_id, target, &name, id).await?;
        let mut tx = st.db.begin().await?;
        sqlx::query("UPDATE files SET folder_id = $1, name = $2, updated_at = $3 WHERE id = $4")
            .bind(target)
            .bind(&new_name)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let to = if target_path.is_empty() {
            "the vault's top level".to_string()
        } else {
            target_path.to_string()
        };
        let detail = if new_name == name {
            format!("to {to}")
        } else {
            format!("to {to}, as {new_name}")
        };
        record_event(&mut *tx, id, Some(actor_id), "moved", &detail, now).await?;
        tx.commit().await?;
        moved += 1;
    }
    Ok(moved)
}

/// Puts files (checked by the caller) in the trash, remembering their folder path.
pub async fn trash_files_checked(
    st: &AppState,
    actor_id: &str,
    vault_id: &str,
    ids: &[String],
) -> Result<i64, AppError> {
    let now = st.clock.now_ms();
    let mut n = 0;
    for id in ids {
        let mut tx = st.db.begin().await?;
        let done = sqlx::query(
            "UPDATE files SET deleted_at = $1,
                 trashed_path = COALESCE((SELECT d.path FROM folders d WHERE d.id = files.folder_id), '')
             WHERE id = $2 AND vault_id = $3 AND deleted_at IS NULL AND state <> 'uploading'",
        )
        .bind(now)
        .bind(id)
        .bind(vault_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done > 0 {
            record_event(&mut *tx, id, Some(actor_id), "trashed", "", now).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(n)
}

/// Deletes a folder: every file under it goes to the trash (keeping its path), then the
/// folders go. Returns how many files went to the trash.
pub async fn delete_folder_checked(
    st: &AppState,
    actor_id: &str,
    folder_id: &str,
) -> Result<i64, AppError> {
    let folder: Option<(String, String)> =
        sqlx::query_as("SELECT vault_id, path FROM folders WHERE id = $1")
            .bind(folder_id)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some((vault_id, path)) = folder else {
        return Ok(0);
    };
    let subtree = format!("{}/", path);
    let mut trashed = 0;
    for chunk in subtree_ids(&st.db, &vault_id, &path).await?.chunks(500) {
        trashed += trash_files_checked(st, actor_id, &vault_id, chunk).await?;
    }
    let mut tx = st.db.begin().await?;
    // Trashed files keep their path in trashed_path; they no longer point at the folders
    // (whose rows go, and would take the files with them).
    sqlx::query(
        "UPDATE files SET folder_id = NULL WHERE vault_id = $1 AND deleted_at IS NOT NULL AND folder_id IN
           (SELECT id FROM folders WHERE vault_id = $1 AND (path = $2 OR SUBSTR(path, 1, CAST($3 AS INTEGER)) = $4))",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .execute(&mut *tx)
    .await?;
    // Files still uploading into the folder keep it alive: those folders stay.
    sqlx::query(
        "DELETE FROM folders WHERE vault_id = $1 AND (path = $2 OR SUBSTR(path, 1, CAST($3 AS INTEGER)) = $4)
           AND NOT EXISTS (SELECT 1 FROM files f JOIN folders d2 ON d2.id = f.folder_id
                           WHERE f.vault_id = $1 AND (d2.path = folders.path OR SUBSTR(d2.path, 1, LENGTH(folders.path) + 1) = folders.path || '/'))",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%folder_id, files = trashed, "folder deleted");
    Ok(trashed)
}

/// Live files under a folder (its own and its subfolders').
pub async fn subtree_ids(db: &Db, vault_id: &str, path: &str) -> Result<Vec<String>, AppError> {
    let sub = format!("{path}/");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT f.id FROM files f JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND (d.path = $2 OR SUBSTR(d.path, 1, CAST($3 AS INTEGER)) = $4)
           AND f.deleted_at IS NULL AND f.state <> 'uploading' ORDER BY f.id",
    )
    .bind(vault_id)
    .bind(path)
    .bind(sub.chars().count() as i64)
    .bind(&sub)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Files under a folder's subtree that are live (for deciding whether a delete is a job).
pub async fn count_subtree(db: &Db, folder_id: &str) -> Result<i64, AppError> {
    let (vault_id, path): (String, String) =
        sqlx::query_as("SELECT vault_id, path FROM folders WHERE id = $1")
            .bind(folder_id)
            .fetch_one(&db.pool)
            .await?;
    let subtree = format!("{path}/");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM files f JOIN folders d ON d.id = f.folder_id
         WHERE f.vault_id = $1 AND (d.path = $2 OR SUBSTR(d.path, 1, CAST($3 AS INTEGER)) = $4)
           AND f.deleted_at IS NULL AND f.state <> 'uploading'",
    )
    .bind(&vault_id)
    .bind(&path)
    .bind(subtree.chars().count() as i64)
    .bind(&subtree)
    .fetch_one(&db.pool)
    .await?;
    Ok(n)
}

// ---------------------------------------------------------------- trash

/// The trash of every workspace the actor belongs to, newest first (at most 1,000).
pub async fn list_trash(db: &Db, actor: &Actor) -> Result<Vec<TrashEntry>, AppError> {
    Ok(sqlx::query_as(
        "SELECT f.id, f.vault_id, v.name AS vault_name, COALESCE(f.trashed_path, '') AS path, f.name,
                f.size, f.storage_class, f.deleted_at
         FROM files f JOIN vaults v ON v.id = f.vault_id
         JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = $1
         WHERE f.deleted_at IS NOT NULL
         ORDER BY f.deleted_at DESC, f.id DESC LIMIT 1000",
    )
    .bind(actor.user_id())
    .fetch_all(&db.pool)
    .await?)
}

/// Most files one "restore from trash" or "delete for good" request may name (each is a few
/// statements; the trash page shows fewer).
pub const MAX_TRASH_IDS: usize = 1_000;

/// Brings files back from the trash into the folder they were deleted from (made again when
/// it went too); a name taken there meanwhile gets "name (n).ext". A file of a deleted vault
/// brings its vault back.
pub async fn restore_files(st: &AppState, actor: &Actor, ids: &[String]) -> Result<i64, AppError> {
    super::check_id_list("file_ids", ids.len(), MAX_TRASH_IDS)?;
    let now = st.clock.now_ms();
    let mut n = 0;
    let mut seen = std::collections::HashSet::new();
    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
        let f = get_file(&st.db, actor, id, Role::Member).await?;
        if f.deleted_at.is_none() {
            continue;
        }
        sqlx::query("UPDATE vaults SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(&f.vault_id)
            .execute(&st.db.pool)
            .await?;
        let names = super::check_folder_path(f.trashed_path.as_deref().unwrap_or(""))?;
        let folder = ensure_folder_path(
            &st.db,
            &f.workspace_id,
            &f.vault_id,
            &names,
            actor.user_id(),
            now,
        )
        .await?;
        let name = free_name_in(&st.db, &f.vault_id, folder.as_deref(), &f.name, &f.id).await?;
        let mut tx = st.db.begin().await?;
        sqlx::query(
            "UPDATE files SET deleted_at = NULL, trashed_path = NULL, folder_id = $1, name = $2, updated_at = $3
             WHERE id = $4 AND deleted_at IS NOT NULL",
        )
        .bind(&folder)
        .bind(&name)
        .bind(now)
        .bind(&f.id)
        .execute(&mut *tx)
        .await?;
        record_event(
            &mut *tx,
            &f.id,
            Some(actor.user_id()),
            "restored",
            "from the trash",
            now,
        )
        .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Deletes trashed files for good: their objects (and previews), then their rows.
async fn purge(
    st: &AppState,
    files: Vec<(String, String, Option<String>)>,
) -> Result<i64, AppError> {
    let mut n = 0;
    for (id, key, thumb) in files {
        st.storage.delete(&key).await?;
        if let Some(t) = thumb {
            st.storage.delete(&t).await?;
        }
        sqlx::query("DELETE FROM files WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(&id)
            .execute(&st.db.pool)
            .await?;
        n += 1;
    }
    Ok(n)
}

/// "Empty trash" (all of the actor's trash, or the given files): deleted for good now.
pub async fn empty_trash(
    st: &AppState,
    actor: &Actor,
    only: Option<&[String]>,
) -> Result<i64, AppError> {
    let mut total = 0;
    if let Some(ids) = only {
        super::check_id_list("file_ids", ids.len(), MAX_TRASH_IDS)?;
        let mut seen = std::collections::HashSet::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let f = get_file(&st.db, actor, id, Role::Member).await?;
            if f.deleted_at.is_some() {
                total += purge(st, vec![(f.id, f.s3_key, f.thumb_key)]).await?;
            }
        }
    } else {
        loop {
            let batch: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT f.id, f.s3_key, f.thumb_key FROM files f
                 JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = $1
                 WHERE f.deleted_at IS NOT NULL AND m.role IN ('owner', 'admin', 'member')
                 ORDER BY f.id LIMIT 500",
            )
            .bind(actor.user_id())
            .fetch_all(&st.db.pool)
            .await?;
            let len = batch.len();
            total += purge(st, batch).await?;
            if len < 500 {
                break;
            }
        }
    }
    remove_empty_deleted_vaults(&st.db).await?;
    Ok(total)
}

/// The job: files in the trash longer than [`super::TRASH_DAYS`] are deleted for good,
/// a batch at a time; returns how many went.
pub async fn purge_expired_trash(st: &AppState) -> Result<i64, AppError> {
    let cutoff = st.clock.now_ms() - super::TRASH_DAYS * 86_400_000;
    let mut total = 0;
    loop {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, s3_key, thumb_key FROM files WHERE deleted_at IS NOT NULL AND deleted_at <= $1
             ORDER BY deleted_at LIMIT 500",
        )
        .bind(cutoff)
        .fetch_all(&st.db.pool)
        .await?;
        let len = rows.len();
        total += purge(st, rows).await?;
        if len < 500 {
            break;
        }
    }
    remove_empty_deleted_vaults(&st.db).await?;
    Ok(total)
}

async fn remove_empty_deleted_vaults(db: &Db) -> Result<(), AppError> {
    sqlx::query(
        "DELETE FROM vaults WHERE deleted_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM files f WHERE f.vault_id = vaults.id)",
    )
    .execute(&db.pool)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- details

/// Everything known of a file.
pub async fn file_details(db: &Db, actor: &Actor, file_id: &str) -> Result<FileDetails, AppError> {
    let f = get_file(db, actor, file_id, Role::Viewer).await?;
    if f.state == "uploading" {
        return Err(AppError::NotFound);
    }
    let events: Vec<FileEvent> = sqlx::query_as(
        "SELECT e.at, e.kind, e.detail, u.email AS actor FROM file_events e
         LEFT JOIN users u ON u.id = e.actor_id WHERE e.file_id = $1 ORDER BY e.at, e.id LIMIT 200",
    )
    .bind(&f.id)
    .fetch_all(&db.pool)
    .await?;
    let prices = crate::pricing::service::load(db).await?;
    let monthly = prices.monthly_cost_micros(&f.storage_class, f.size);
    Ok(FileDetails {
        file: entry(db, &f.id).await?,
        sha256: f.sha256.clone(),
        events,
        monthly_cost_micros: monthly,
        deleted_at: f.deleted_at,
    })
}

// ---------------------------------------------------------------- previews

/// Largest preview the browser may store.
pub const MAX_THUMB_BYTES: i64 = 256 * 1024;

/// A PUT URL for the preview of an image file, beside the file's object.
pub async fn thumbnail_upload(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
    size: i64,
    content_type: &str,
) -> Result<crate::uploads::PartUrl, AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    if !(1..=MAX_THUMB_BYTES).contains(&size) {
        return Err(AppError::invalid("size", "A preview is at most 256 KiB."));
    }
    if !matches!(content_type, "image/webp" | "image/jpeg") {
        return Err(AppError::invalid(
            "content_type",
            "A preview is a WebP or JPEG image.",
        ));
    }
    let put = st
        .storage
        .presign_put(
            &format!("{}.thumb", f.s3_key),
            content_type,
            size,
            st.config.presign_ttl_secs,
        )
        .await?;
    Ok(crate::uploads::PartUrl {
        number: 1,
        size,
        url: put.url,
        headers: put.headers,
    })
}

/// Records the preview once it is stored (and no larger than allowed).
pub async fn thumbnail_done(st: &AppState, actor: &Actor, file_id: &str) -> Result<(), AppError> {
    let f = get_live_file(&st.db, actor, file_id, Role::Member).await?;
    let key = format!("{}.thumb", f.s3_key);
    match st.storage.head(&key).await? {
        Some(h) if h.size <= MAX_THUMB_BYTES => {}
        Some(_) => {
            st.storage.delete(&key).await?;
            return Err(AppError::invalid("size", "A preview is at most 256 KiB."));
        }
        None => return Err(AppError::conflict("The preview was not stored.")),
    }
    sqlx::query("UPDATE files SET thumb_key = $1 WHERE id = $2")
        .bind(&key)
        .bind(&f.id)
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// A short-lived link to a file's preview (for the list's `<img>`).
pub async fn thumbnail_url(
    st: &AppState,
    actor: &Actor,
    file_id: &str,
) -> Result<String, AppError> {
    let f = get_file(&st.db, actor, file_id, Role::Viewer).await?;
    let key = f.thumb_key.ok_or(AppError::NotFound)?;
    st.storage
        .presign_get(
            &key,
            &format!("{}.preview", f.name),
            st.config.presign_ttl_secs,
        )
        .await
}

// ---------------------------------------------------------------- fees

/// (class, size, in class since, state) of live files of a vault, by id, a batch at a time:
/// what cost previews are computed from.
pub async fn pricing_rows(
    db: &Db,
    vault_id: &str,
    ids: &[String],
) -> Result<Vec<(String, i64, i64, String)>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT storage_class, size, class_changed_at, state FROM files WHERE deleted_at IS NULL AND vault_id = ",
        );
        let v = sql.arg(vault_id);
        sql.push(&v);
        let list: Vec<String> = chunk.iter().map(|id| sql.arg(id)).collect();
        sql.push(&format!(" AND id IN ({})", list.join(", ")));
        let part: Vec<(String, i64, i64, String)> = sql.query_as().fetch_all(&db.pool).await?;
        rows.extend(part);
    }
    Ok(rows)
}

/// Early-deletion fees that deleting the selection would incur now, in micro-dollars
/// (Standard-IA 30 days, Glacier IR and Flexible 90, Deep Archive 180; at most 100,000 files
/// are priced).
pub async fn deletion_fee(
    st: &AppState,
    actor: &Actor,
    sel: &super::Selection,
) -> Result<i64, AppError> {
    let ids = super::bulk::resolve_files(st, actor, sel, 100_000).await?;
    let prices = crate::pricing::service::load(&st.db).await?;
    let now = st.clock.now_ms();
    Ok(pricing_rows(&st.db, &sel.vault_id, &ids)
        .await?
        .iter()
        .map(|(class, size, since, _)| prices.early_deletion_fee_micros(class, *size, *since, now))
        .sum())
}

/// Early-deletion fees that emptying the actor's trash now would incur (micro-dollars).
pub async fn trash_fee(st: &AppState, actor: &Actor) -> Result<i64, AppError> {
    let prices = crate::pricing::service::load(&st.db).await?;
    let now = st.clock.now_ms();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT f.storage_class, f.size, f.class_changed_at FROM files f
         JOIN memberships m ON m.workspace_id = f.workspace_id AND m.user_id = $1
         WHERE f.deleted_at IS NOT NULL AND f.storage_class <> 'STANDARD' LIMIT 100000",
    )
    .bind(actor.user_id())
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|(class, size, since)| prices.early_deletion_fee_micros(class, *size, *since, now))
        .sum())
}

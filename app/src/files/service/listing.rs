//! Listing a folder or a search in pages: filters, sorts and keyset cursors (never
//! OFFSET), and the ids a view matches for "select all".
use super::folders::{existing_folder, folder_condition, like_escape};
use super::records::ENTRY_COLUMNS;
use crate::core::db::{Dialect, Sql};
use crate::core::{Actor, Db};
use crate::error::AppError;
use crate::files::{FileEntry, FolderEntry, ListQuery, Page, Sort};
use crate::workspaces::Role;
use base64::Engine;

/// Largest page the browser may ask for.
pub const MAX_PAGE: i64 = 500;

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
        if !crate::files::STATES.contains(&q.state.as_str()) {
            return Err(AppError::invalid("state", "Unknown state."));
        }
        let p = sql.arg(&q.state);
        sql.push(&format!(" AND f.state = {p}"));
    }
    if !q.kind.is_empty() {
        if !crate::files::KINDS.contains(&q.kind.as_str()) {
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
        let ms = crate::files::parse_day(&q.from)
            .ok_or_else(|| AppError::invalid("from", "Give a date as YYYY-MM-DD."))?;
        let p = sql.arg(ms);
        sql.push(&format!(" AND f.updated_at >= {p}"));
    }
    if !q.to.is_empty() {
        let ms = crate::files::parse_day(&q.to)
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

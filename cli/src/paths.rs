//! Remote locations as people type them, `VAULT[/PATH]` and `VAULT/PATH/FILE` (or a file id),
//! and their resolution through the API: vault by name or id, file by exact name.
use crate::Fail;
use crate::client::{self, Client, FileDetails, FileEntry, FolderEntry, Page, Vault};
use anyhow::Result;

/// Largest listing page the server gives.
const PAGE: u32 = 500;
/// The server refuses longer searches.
const MAX_QUERY_CHARS: usize = 200;

/// Storage classes, as S3 names them (cheapest last).
pub const STORAGE_CLASSES: [&str; 5] = [
    "STANDARD",
    "STANDARD_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// One reading of a typed location: which vault, and the folder path inside it (`a/b`, `""`
/// for the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePath {
    pub vault: String,
    pub path: String,
}

impl RemotePath {
    /// The path as folder and last name, for a path that names a file.
    pub fn file_parts(&self) -> Option<(String, String)> {
        if self.path.is_empty() {
            return None;
        }
        Some(match self.path.rsplit_once('/') {
            Some((folder, name)) => (folder.to_string(), name.to_string()),
            None => (String::new(), self.path.clone()),
        })
    }
}

/// The readings of `VAULT[/PATH]`, longest vault name first. Vault names may contain `/`
/// (the server only forbids control characters), so `a/b/c` is vault `a/b` with path `c`
/// when such a vault exists, else vault `a` with path `b/c`. Empty segments (`a//b`, a
/// trailing `/`) and `.` are dropped; `..` is refused rather than guessed at.
pub fn readings(s: &str) -> Result<Vec<RemotePath>, String> {
    let mut segments = Vec::new();
    for seg in s.trim().split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(format!("`..` has no meaning in a remote path: `{s}`")),
            other => segments.push(other),
        }
    }
    if segments.is_empty() {
        return Err(format!("expected VAULT[/PATH], got `{s}`"));
    }
    Ok((1..=segments.len())
        .rev()
        .map(|k| RemotePath {
            vault: segments[..k].join("/"),
            path: segments[k..].join("/"),
        })
        .collect())
}

/// Joins folder paths, either of which may be the root (`""`).
pub fn join(folder: &str, name: &str) -> String {
    match (folder.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => folder.to_string(),
        _ => format!("{folder}/{name}"),
    }
}

/// How a location reads to a person: `vault/a/b`.
pub fn display(vault: &str, path: &str) -> String {
    join(vault, path)
}

/// A file as typed: an id (no `/`: a path always has one, between vault and name) or a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRef {
    Id(String),
    Path(String),
}

pub fn parse_file_ref(s: &str) -> Result<FileRef, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("expected VAULT/PATH/FILE or a file id".to_string());
    }
    if !t.contains('/') {
        return Ok(FileRef::Id(t.to_string()));
    }
    readings(t)?;
    Ok(FileRef::Path(t.to_string()))
}

/// Storage class as typed (`deep-archive`, `Deep_Archive`) in S3's spelling, checked here so
/// a typo fails before anything is uploaded.
pub fn storage_class(s: &str) -> Result<String, String> {
    let c = s.trim().to_ascii_uppercase().replace('-', "_");
    if STORAGE_CLASSES.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(format!(
            "unknown storage class `{s}` (one of {})",
            STORAGE_CLASSES.join(", ")
        ))
    }
}

/// A vault by exact name, else by id. Two vaults of one name are refused: picking one could
/// send files to the wrong place.
pub fn pick_vault<'a>(vaults: &'a [Vault], name_or_id: &str) -> Result<Option<&'a Vault>, String> {
    let named: Vec<&Vault> = vaults.iter().filter(|v| v.name == name_or_id).collect();
    match named.len() {
        1 => Ok(Some(named[0])),
        0 => Ok(vaults.iter().find(|v| v.id == name_or_id)),
        _ => Err(format!(
            "{} vaults are named `{name_or_id}`: use the id",
            named.len()
        )),
    }
}

/// Resolves `VAULT[/PATH]` to the vault and the folder path in it. With `need_path`, only
/// readings with a non-empty path count (a file needs a name after the vault).
pub async fn resolve(client: &Client, s: &str, need_path: bool) -> Result<(Vault, String)> {
    let candidates = readings(s).map_err(Fail::usage)?;
    let vaults = client.vaults().await?;
    for r in &candidates {
        if need_path && r.path.is_empty() {
            continue;
        }
        if let Some(v) = pick_vault(&vaults, &r.vault).map_err(Fail::usage)? {
            return Ok((v.clone(), r.path.clone()));
        }
    }
    let first = candidates
        .last()
        .map(|r| r.vault.clone())
        .unwrap_or_default();
    Err(Fail::not_found(format!(
        "no vault named (or with id) `{first}`"
    )))
}

/// A vault alone, by name or id.
pub async fn resolve_vault(client: &Client, name_or_id: &str) -> Result<Vault> {
    let vaults = client.vaults().await?;
    match pick_vault(&vaults, name_or_id).map_err(Fail::usage)? {
        Some(v) => Ok(v.clone()),
        None => Err(Fail::not_found(format!(
            "no vault named (or with id) `{name_or_id}`"
        ))),
    }
}

/// A whole folder listing: every page (`next_cursor`) until the end.
#[derive(Debug, Default)]
pub struct Listing {
    pub folders: Vec<FolderEntry>,
    pub files: Vec<FileEntry>,
}

/// Lists a folder, all pages; `q` narrows to names containing it (any case).
pub async fn list_folder(
    client: &Client,
    vault_id: &str,
    path: &str,
    q: Option<&str>,
) -> Result<Listing> {
    let mut out = Listing::default();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![
            ("path", path.to_string()),
            ("sort", "name".to_string()),
            ("limit", PAGE.to_string()),
        ];
        if let Some(q) = q {
            query.push(("q", q.to_string()));
        }
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page: Page = client
            .get(&format!("/vaults/{vault_id}/files"), &query)
            .await?;
        out.folders.extend(page.folders);
        out.files.extend(page.files);
        match page.next_cursor {
            // A cursor that does not move would loop forever.
            Some(c) if !c.is_empty() && cursor.as_deref() != Some(c.as_str()) => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// The file of exactly this name in a folder, if any. The search (`q`) narrows the listing
/// to a page or two; a full listing follows when it finds nothing, so a search quirk (its
/// tokenizing, say) cannot make an existing file look absent.
pub async fn find_in_folder(
    client: &Client,
    vault_id: &str,
    folder: &str,
    name: &str,
) -> Result<Option<FileEntry>> {
    let same = |f: &FileEntry| f.name == name && f.folder_path.trim_matches('/') == folder;
    let searches: Vec<Option<&str>> = if name.chars().count() <= MAX_QUERY_CHARS {
        vec![Some(name), None]
    } else {
        vec![None]
    };
    for q in searches {
        match list_folder(client, vault_id, folder, q).await {
            Ok(listing) => {
                if let Some(f) = listing.files.into_iter().find(|f| same(f)) {
                    return Ok(Some(f));
                }
            }
            // No such folder (yet): nothing in it.
            Err(e) if client::is_missing_folder(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// A file by id or by `VAULT/PATH/FILE`, with its details (SHA-256 included).
pub async fn resolve_file(client: &Client, s: &str) -> Result<FileDetails> {
    match parse_file_ref(s).map_err(Fail::usage)? {
        FileRef::Id(id) => client.file(&id).await,
        FileRef::Path(p) => {
            let (vault, path) = resolve(client, &p, true).await?;
            let at = RemotePath {
                vault: vault.name.clone(),
                path,
            };
            let (folder, name) = at
                .file_parts()
                .ok_or_else(|| Fail::usage(format!("`{s}` names a vault, not a file")))?;
            match find_in_folder(client, &vault.id, &folder, &name).await? {
                Some(f) => client.file(&f.id).await,
                None => Err(Fail::not_found(format!(
                    "no file `{name}` in {}",
                    display(&vault.name, &folder)
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(vault: &str, path: &str) -> RemotePath {
        RemotePath {
            vault: vault.into(),
            path: path.into(),
        }
    }

    /// The plain reading: the first segment is the vault.
    fn parse_remote(s: &str) -> Result<RemotePath, String> {
        readings(s).map(|mut all| all.pop().expect("readings are never empty"))
    }

    #[test]
    fn remote_paths_parse() {
        assert_eq!(parse_remote("photos").unwrap(), rp("photos", ""));
        assert_eq!(parse_remote("photos/").unwrap(), rp("photos", ""));
        assert_eq!(
            parse_remote("/photos//2024/./trip/").unwrap(),
            rp("photos", "2024/trip")
        );
        assert_eq!(
            parse_remote("My Vault/a b/c").unwrap(),
            rp("My Vault", "a b/c")
        );
        assert!(parse_remote("").is_err());
        assert!(parse_remote("/").is_err());
        assert!(parse_remote("photos/../x").is_err());
    }

    #[test]
    fn vault_names_with_slashes_are_tried_longest_first() {
        assert_eq!(
            readings("a/b/c").unwrap(),
            vec![rp("a/b/c", ""), rp("a/b", "c"), rp("a", "b/c")]
        );
    }

    #[test]
    fn file_refs() {
        assert_eq!(
            parse_file_ref("01HXYZ").unwrap(),
            FileRef::Id("01HXYZ".into())
        );
        assert_eq!(
            parse_file_ref("v/a.txt").unwrap(),
            FileRef::Path("v/a.txt".into())
        );
        assert_eq!(
            rp("v", "a/b.txt").file_parts(),
            Some(("a".into(), "b.txt".into()))
        );
        assert_eq!(
            rp("v", "b.txt").file_parts(),
            Some(("".into(), "b.txt".into()))
        );
        assert_eq!(rp("v", "").file_parts(), None);
        assert!(parse_file_ref("  ").is_err());
    }

    #[test]
    fn vaults_by_name_then_id() {
        let v = |id: &str, name: &str| Vault {
            id: id.into(),
            name: name.into(),
            default_storage_class: String::new(),
            file_count: 0,
            total_bytes: 0,
        };
        let vaults = vec![v("id1", "photos"), v("id2", "docs"), v("id3", "docs")];
        assert_eq!(pick_vault(&vaults, "photos").unwrap().unwrap().id, "id1");
        assert_eq!(pick_vault(&vaults, "id2").unwrap().unwrap().name, "docs");
        assert!(pick_vault(&vaults, "docs").is_err());
        assert!(pick_vault(&vaults, "nope").unwrap().is_none());
    }

    #[test]
    fn joins_and_classes() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("a", "b"), "a/b");
        assert_eq!(storage_class("deep-archive").unwrap(), "DEEP_ARCHIVE");
        assert_eq!(storage_class("Standard_IA").unwrap(), "STANDARD_IA");
        assert!(storage_class("COLD").is_err());
    }
}

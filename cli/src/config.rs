//! Where the CLI keeps things between runs: the API key and URL (`config.json`, readable by
//! the owner only, since the key is a bearer secret) and upload resume state, both at the XDG
//! locations people expect.
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `config.json`: what `nexus login` stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl Config {
    /// The stored config; an absent file is an empty config (nothing stored yet).
    pub fn load() -> Result<Config> {
        let Some(path) = config_path() else {
            return Ok(Config::default());
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {} (fix or delete it)", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the config with mode 0600 and returns where it went.
    pub fn save(&self) -> Result<PathBuf> {
        let path = config_path().context("no config directory: set HOME or XDG_CONFIG_HOME")?;
        if let Some(dir) = path.parent() {
            create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        write_private(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// `$XDG_CONFIG_HOME/nexus/config.json`, else `$HOME/.config/nexus/config.json`.
pub fn config_path() -> Option<PathBuf> {
    base_dir(std::env::var_os("XDG_CONFIG_HOME"), home(), ".config").map(|d| d.join("config.json"))
}

/// `$XDG_STATE_HOME/nexus/uploads`, else `$HOME/.local/state/nexus/uploads`: state, not
/// config (it is machine-local and may be deleted, losing only the ability to resume).
pub fn uploads_state_dir() -> Option<PathBuf> {
    base_dir(std::env::var_os("XDG_STATE_HOME"), home(), ".local/state").map(|d| d.join("uploads"))
}

fn home() -> Option<OsString> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE"))
}

/// The `nexus` directory under an XDG base: the variable when it holds an absolute path (the
/// XDG spec says relative ones are to be ignored), else `$HOME/<fallback>`.
pub fn base_dir(xdg: Option<OsString>, home: Option<OsString>, fallback: &str) -> Option<PathBuf> {
    if let Some(x) = xdg {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Some(p.join("nexus"));
        }
    }
    let home = home.filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(fallback).join("nexus"))
}

/// Creates a directory (and parents), new ones private to the owner.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a file readable by its owner only, atomically (a temporary file renamed over it): a
/// crash mid-write leaves the old file, never half of a new one.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().map(OsString::from).unwrap_or_default();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    // The mode above applies only to a new file; a leftover temporary keeps its own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_dirs_win_when_absolute() {
        let home = Some(OsString::from("/home/me"));
        assert_eq!(
            base_dir(Some("/xdg".into()), home.clone(), ".config"),
            Some(PathBuf::from("/xdg/nexus"))
        );
        assert_eq!(
            base_dir(Some("relative".into()), home.clone(), ".config"),
            Some(PathBuf::from("/home/me/.config/nexus"))
        );
        assert_eq!(
            base_dir(None, home, ".local/state"),
            Some(PathBuf::from("/home/me/.local/state/nexus"))
        );
        assert_eq!(base_dir(None, None, ".config"), None);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("nexus-cli-test-{}", std::process::id()));
        create_private_dir(&dir).unwrap();
        let path = dir.join("config.json");
        write_private(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `nexus download`: streams a file from its presigned URL into a temporary file beside the
//! target, hashing as it goes, and renames it into place only when the SHA-256 matches the
//! one the server recorded at upload. A failed or interrupted download never leaves a
//! half-written file under the real name.
use crate::client::{self, Client, DownloadLink};
use crate::output::{Ui, bar_style, human_bytes, print_json, say};
use crate::{Fail, paths};
use anyhow::{Context, Result, anyhow, bail};
use indicatif::ProgressBar;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// No byte for this long ends the download: reqwest's own read timeout cannot be used for
/// this (it bounds the time to the first byte, see `Client::new`), so each chunk is timed.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Removes the temporary file unless the download was kept (errors, Ctrl-C: the future is
/// dropped and this with it).
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub async fn run(client: &Client, ui: Ui, target: &str, out: Option<PathBuf>) -> Result<()> {
    let details = paths::resolve_file(client, target).await?;
    let file = &details.file;
    let dest = destination(out.as_deref(), &file.name)?;
    // A 409 here means the file is archived: the server's message says to restore it first.
    let link: DownloadLink = client
        .get(&format!("/files/{}/download", file.id), &[])
        .await?;
    let url = client.absolute(&link.url);

    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string());
    // Beside the target, so the final rename stays on one file system (atomic).
    let tmp = dir.join(format!(".{base}.nexus-{}.part", std::process::id()));
    let guard = TempFile {
        path: tmp.clone(),
        armed: true,
    };
    let mut out_file = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("creating {}", tmp.display()))?;

    let mut resp = client
        .http()
        .get(&url)
        .send()
        .await
        .map_err(|e| anyhow!("downloading {}: {}", file.name, client::describe(e)))?;
    if !resp.status().is_success() {
        bail!(
            "storage refused the download of {}: {}",
            file.name,
            resp.status()
        );
    }

    let expected_size = u64::try_from(file.size).unwrap_or(0);
    let bar = ProgressBar::with_draw_target(Some(expected_size), ui.draw_target());
    bar.set_style(bar_style(
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ));
    bar.set_message(file.name.clone());

    let mut hasher = Sha256::new();
    let mut crc = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme);
    let mut received: u64 = 0;
    loop {
        let chunk = match tokio::time::timeout(STALL_TIMEOUT, resp.chunk()).await {
            Err(_) => bail!("the download of {} stalled (no data for 60 s)", file.name),
            Ok(Err(e)) => bail!("downloading {}: {}", file.name, client::describe(e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        hasher.update(&chunk);
        crc.update(&chunk);
        out_file
            .write_all(&chunk)
            .await
            .with_context(|| format!("writing {}", tmp.display()))?;
        received += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    out_file.flush().await?;
    out_file
        .sync_all()
        .await
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(out_file);
    bar.finish_and_clear();

    let got = hex::encode(hasher.finalize());
    if received != expected_size {
        return Err(Fail::checksum(format!(
            "{}: expected {} bytes, received {received}; nothing was saved",
            file.name, file.size
        )));
    }
    // The whole file's CRC64NVME, which storage verified at upload, and its SHA-256 when the
    // vault records one: each one known must match.
    let got_crc = crate::upload::crc64_b64(crc.finalize());
    if let Some(expected) = details.crc64nvme.as_deref()
        && expected != got_crc
    {
        return Err(Fail::checksum(format!(
            "{}: CRC64NVME mismatch (expected {expected}, received {got_crc}); nothing was saved",
            file.name
        )));
    }
    let verified = match details.sha256.as_deref() {
        Some(expected) if expected.eq_ignore_ascii_case(&got) => Some("SHA-256"),
        Some(expected) => {
            return Err(Fail::checksum(format!(
                "{}: SHA-256 mismatch (expected {expected}, received {got}); nothing was saved",
                file.name
            )));
        }
        None if details.crc64nvme.is_some() => Some("CRC64NVME"),
        None => {
            if !ui.quiet {
                eprintln!(
                    "nexus: the server has no checksum for {}: only its size was checked",
                    file.name
                );
            }
            None
        }
    };
    tokio::fs::rename(&tmp, &dest)
        .await
        .with_context(|| format!("moving the download to {}", dest.display()))?;
    guard.keep();

    if ui.json {
        print_json(&json!({
            "file_id": file.id,
            "name": file.name,
            "path": dest.display().to_string(),
            "size": received,
            "sha256": got,
            "crc64nvme": got_crc,
            "verified": verified.is_some(),
            "verified_with": verified,
        }))?;
    } else if !ui.quiet {
        say(format!(
            "Downloaded {} ({}) to {}{}",
            file.name,
            human_bytes(file.size),
            dest.display(),
            verified
                .map(|v| format!(", {v} verified"))
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// Where the file goes: into `--out` when it is a folder (existing, or written with a
/// trailing `/`), to `--out` itself otherwise, else into the current folder under its name.
fn destination(out: Option<&Path>, name: &str) -> Result<PathBuf> {
    // The name comes from the server: it must not reach outside the chosen folder.
    fn safe_name(name: &str) -> Result<&str> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
            bail!("the file's name `{name}` cannot be used locally: pass --out FILE");
        }
        Ok(name)
    }
    match out {
        None => Ok(PathBuf::from(safe_name(name)?)),
        Some(p) => {
            let trailing = p
                .as_os_str()
                .to_string_lossy()
                .ends_with(['/', std::path::MAIN_SEPARATOR]);
            if trailing && !p.exists() {
                std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
            }
            if p.is_dir() {
                Ok(p.join(safe_name(name)?))
            } else {
                Ok(p.to_path_buf())
            }
        }
    }
}

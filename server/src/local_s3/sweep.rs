//! The embedded endpoint's housekeeping — what a bucket's lifecycle rule does on S3: a
//! multipart upload nothing has touched for the idle time is aborted (its parts and records
//! deleted), so an upload whose creator gave up on it (a CreateMultipartUpload answered too
//! late to be recorded, a client that went away) does not keep its bytes for ever. At start
//! it also removes the temporary files a killed process left half-written.
//!
//! The uploads live as files beside the buckets (s3s-fs's layout): `.upload-<id>.json` (who
//! made it), `.upload_id-<id>.part-<n>` (the parts), `….upload-<id>.metadata.json`, and this
//! endpoint's own `parts/<id>/` (each part's ETag and checksum; left alone when a process
//! died between s3s-fs completing an upload and its removal). An upload's last activity is the
//! newest of their modification times.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What one sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub uploads_aborted: usize,
    pub files_removed: usize,
}

/// The upload id a file of s3s-fs's layout belongs to, if any.
fn upload_of(name: &str) -> Option<&str> {
    let id = if let Some(rest) = name.strip_prefix(".upload_id-") {
        rest.split(".part-").next()?
    } else if let Some(rest) = name.strip_prefix(".upload-") {
        rest.strip_suffix(".json")?
    } else if let Some(at) = name.find(".upload-") {
        name[at + ".upload-".len()..].strip_suffix(".metadata.json")?
    } else {
        return None;
    };
    super::backend::is_upload_id(id).then_some(id)
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Aborts the uploads of the endpoint at `root` idle for longer than `idle` at `now`; with
/// `at_start`, also removes leftover temporary files (no write is under way then).
pub fn sweep(
    root: &Path,
    idle: Duration,
    now: SystemTime,
    at_start: bool,
) -> std::io::Result<Swept> {
    let (buckets, parts) = (root.join("buckets"), root.join("parts"));
    // Each upload's newest modification, and its files beside the buckets.
    let mut uploads: HashMap<String, (SystemTime, Vec<PathBuf>)> = HashMap::new();
    let mut seen = |id: &str, at: SystemTime, file: Option<PathBuf>| {
        let e = uploads
            .entry(id.to_string())
            .or_insert((SystemTime::UNIX_EPOCH, vec![]));
        e.0 = e.0.max(at);
        e.1.extend(file);
    };
    let mut swept = Swept::default();
    for entry in std::fs::read_dir(&buckets)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if at_start && name.starts_with(".tmp.") && name.ends_with(".internal.part") {
            std::fs::remove_file(&path)?;
            swept.files_removed += 1;
        } else if let Some(id) = upload_of(&name) {
            seen(id, modified(&path).unwrap_or(now), Some(path));
        }
    }
    for dir in std::fs::read_dir(&parts)?.flatten() {
        let id = dir.file_name().to_string_lossy().into_owned();
        if super::backend::is_upload_id(&id) {
            seen(&id, modified(&dir.path()).unwrap_or(now), None);
            for f in std::fs::read_dir(dir.path())?.flatten() {
                seen(&id, modified(&f.path()).unwrap_or(now), None);
            }
        }
    }
    for (id, (last, files)) in uploads {
        if now.duration_since(last).unwrap_or_default() <= idle {
            continue;
        }
        for f in files {
            std::fs::remove_file(&f)?;
            swept.files_removed += 1;
        }
        let own = parts.join(&id);
        if own.exists() {
            std::fs::remove_dir_all(&own)?;
        }
        swept.uploads_aborted += 1;
    }
    Ok(swept)
}

/// Sweeps once now (before the endpoint serves: no write is under way, so leftover temporary
/// files can go too), then every hour until `shutdown`.
pub async fn start(root: PathBuf, idle: Duration, shutdown: tokio_util::sync::CancellationToken) {
    run(root.clone(), idle, true).await;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
            run(root.clone(), idle, false).await;
        }
    });
}

async fn run(root: PathBuf, idle: Duration, at_start: bool) {
    match tokio::task::spawn_blocking(move || sweep(&root, idle, SystemTime::now(), at_start)).await
    {
        Ok(Ok(s)) if s != Swept::default() => tracing::info!(
            uploads_aborted = s.uploads_aborted,
            files_removed = s.files_removed,
            "embedded S3: idle multipart uploads aborted, leftover files removed"
        ),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "embedded S3 sweep failed"),
        Err(e) => tracing::warn!(error = %e, "embedded S3 sweep failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::upload_of;

    #[test]
    fn files_are_told_apart_by_their_upload() {
        let id = "0b6c2f1e-8a7d-4c1b-9e3f-2a5d6c7b8e9f";
        assert_eq!(upload_of(&format!(".upload-{id}.json")), Some(id));
        assert_eq!(upload_of(&format!(".upload_id-{id}.part-12")), Some(id));
        assert_eq!(
            upload_of(&format!(
                ".bucket-bmV4dXM.object-a2V5.upload-{id}.metadata.json"
            )),
            Some(id)
        );
        assert_eq!(upload_of(".bucket-bmV4dXM.object-a2V5.metadata.json"), None);
        assert_eq!(upload_of("nexus"), None);
        assert_eq!(upload_of(".upload-../../etc.json"), None);
        assert_eq!(upload_of(".upload-.json"), None);
    }
}

//! `server backup <dir>` and `server restore <dir>` for the embedded setup (SQLite and, when
//! this server runs it, the embedded S3 endpoint's objects). The database is copied with
//! SQLite's `VACUUM INTO`, a consistent snapshot taken while the server keeps running, then
//! the objects are copied (`copy_file_range`, so the kernel moves the bytes; not hard links:
//! the endpoint rewrites some small metadata files in place, which a link would share). An
//! object the snapshot names was complete before it (rows turn `available` only after the
//! object is); objects made after it are extra and harmless.
//! PostgreSQL is backed up with its own tools (`pg_dump`, see the README); objects on AWS S3
//! with S3's (versioning, replication).
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use app::core::{Config, Db};

/// What a backup or a restore did.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// When the backup was taken (unix ms).
    pub taken_at: i64,
    /// Files (live or in the trash) the database holds.
    pub files: i64,
    /// Object files of the embedded endpoint copied (0 with an external S3).
    pub objects: u64,
    pub object_bytes: u64,
    /// Whether the objects are in the backup (the embedded endpoint), or stay in the S3 the
    /// server uses.
    pub embedded_objects: bool,
}

fn sqlite_file(config: &Config) -> anyhow::Result<PathBuf> {
    match app::core::db::sqlite_path(&config.database_url) {
        Some(p) => Ok(PathBuf::from(p)),
        None => bail!(
            "backup and restore here are for SQLite; back PostgreSQL up with pg_dump (pg_dump -Fc \"$DATABASE_URL\" > nexus.dump; pg_restore --clean -d \"$DATABASE_URL\" nexus.dump)"
        ),
    }
}

/// Copies a folder; returns files and bytes.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    let (mut n, mut bytes) = (0, 0);
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let (a, b) = copy_tree(&src, &dst)?;
            n += a;
            bytes += b;
        } else if kind.is_file() {
            bytes += std::fs::copy(&src, &dst)?;
            n += 1;
        }
    }
    Ok((n, bytes))
}

async fn count_files(db: &Db) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files WHERE state <> 'uploading'")
        .fetch_one(&db.pool)
        .await?;
    Ok(n)
}

/// Backs the database (and the embedded endpoint's objects) up into `to`, a new or empty
/// folder; writes `manifest.json` there last, so a backup without it is incomplete.
pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<Report> {
    let db_file = sqlite_file(config)?;
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        bail!("{} is not empty: back up into a new folder", to.display());
    }
    std::fs::create_dir_all(to).with_context(|| format!("making {}", to.display()))?;
    let db = Db::connect(&config.database_url)
        .await
        .with_context(|| format!("opening {}", db_file.display()))?;
    let target = to.join("nexus.db");
    let quoted = target.to_string_lossy().replace('\'', "''");
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{quoted}'")))
        .execute(&db.pool)
        .await
        .context("copying the database (VACUUM INTO)")?;
    let snapshot = Db::connect(&format!("sqlite://{}", target.display())).await?;
    let mut report = Report {
        taken_at: app::core::Clock::default().now_ms(),
        files: count_files(&snapshot).await?,
        embedded_objects: config.s3.embedded,
        ..Report::default()
    };
    snapshot.pool.close().await;
    if config.s3.embedded {
        let objects = config.data_dir.join("s3");
        if objects.exists() {
            let (n, bytes) = copy_tree(&objects, &to.join("s3"))
                .with_context(|| format!("copying the objects in {}", objects.display()))?;
            report.objects = n;
            report.object_bytes = bytes;
        }
        let creds = config.data_dir.join("local-s3-credentials");
        if creds.exists() {
            std::fs::copy(&creds, to.join("local-s3-credentials"))?;
        }
    }
    std::fs::write(
        to.join("manifest.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    Ok(report)
}

/// Restores a backup made by [`backup`] into this configuration's data folder. The server
/// must be stopped. What was there is moved aside into `before-restore-<time>/`, not deleted.
pub async fn restore(config: &Config, from: &Path) -> anyhow::Result<Report> {
    let db_file = sqlite_file(config)?;
    let manifest: Report =
        serde_json::from_slice(&std::fs::read(from.join("manifest.json")).with_context(|| {
            format!(
                "{} has no manifest.json: not a finished backup",
                from.display()
            )
        })?)?;
    if !from.join("nexus.db").exists() {
        bail!("{} has no nexus.db", from.display());
    }
    let aside = config.data_dir.join(format!(
        "before-restore-{}",
        app::core::Clock::default().now_ms()
    ));
    std::fs::create_dir_all(&aside)?;
    for suffix in ["", "-wal", "-shm"] {
        let f = PathBuf::from(format!("{}{suffix}", db_file.display()));
        if f.exists() {
            std::fs::rename(&f, aside.join(f.file_name().unwrap_or_default()))?;
        }
    }
    if let Some(dir) = db_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from.join("nexus.db"), &db_file)?;
    let mut report = Report {
        taken_at: manifest.taken_at,
        embedded_objects: manifest.embedded_objects,
        ..Report::default()
    };
    if manifest.embedded_objects && config.s3.embedded {
        let objects = config.data_dir.join("s3");
        if objects.exists() {
            std::fs::rename(&objects, aside.join("s3"))?;
        }
        if from.join("s3").exists() {
            let (n, bytes) = copy_tree(&from.join("s3"), &objects)?;
            report.objects = n;
            report.object_bytes = bytes;
        }
        let creds = config.data_dir.join("local-s3-credentials");
        if from.join("local-s3-credentials").exists() {
            if creds.exists() {
                std::fs::rename(&creds, aside.join("local-s3-credentials"))?;
            }
            std::fs::copy(from.join("local-s3-credentials"), &creds)?;
        }
    }
    let db = Db::connect(&config.database_url).await?;
    report.files = count_files(&db).await?;
    db.pool.close().await;
    if report.files != manifest.files || report.objects != manifest.objects {
        bail!(
            "the restore does not match the backup: {} files and {} objects, the backup says {} and {}",
            report.files,
            report.objects,
            manifest.files,
            manifest.objects
        );
    }
    Ok(report)
}

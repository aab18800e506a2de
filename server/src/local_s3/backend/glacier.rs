//! Glacier in the embedded endpoint: each object keeps its storage class and restore state
//! beside its data (so both survive restarts); GLACIER and DEEP_ARCHIVE objects cannot be read
//! or copied until restored; RestoreObject starts a restore that finishes after a delay per
//! class and tier (`restore_times`); the restored copy expires after its days.
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::store::LocalS3;

/// An object's storage class and restore, as the embedded endpoint keeps them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ObjectState {
    /// '' is STANDARD.
    pub(super) class: String,
    pub(super) restore: Option<RestoreState>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct RestoreState {
    pub(super) tier: String,
    pub(super) days: i64,
    pub(super) ready_ms: i64,
}

/// Where an object's restore stands at a moment.
#[derive(Debug, PartialEq)]
pub(super) enum Restored {
    No,
    Ongoing,
    Until(i64),
}

/// What S3 answers a copy whose source is archived (s3s has no name for it).
pub(super) fn not_in_active_tier() -> s3s::S3Error {
    let mut e = s3s::S3Error::with_message(
        s3s::S3ErrorCode::Custom("ObjectNotInActiveTierError".into()),
        "The source object of the COPY action is not in the active tier",
    );
    e.set_status_code(http::StatusCode::FORBIDDEN);
    e
}

/// Classes whose objects must be restored before they can be read.
pub(super) fn archived(class: &str) -> bool {
    matches!(class, "GLACIER" | "DEEP_ARCHIVE")
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// An HTTP date for `x-amz-restore`'s expiry (RFC 7231, as S3 writes it).
pub(super) fn http_date(ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

impl LocalS3 {
    pub(super) fn state_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{bucket}/{key}")));
        self.meta_dir.join(format!("{name}.state"))
    }

    pub(super) async fn state(&self, bucket: &str, key: &str) -> ObjectState {
        tokio::fs::read(self.state_path(bucket, key))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(super) async fn set_state(
        &self,
        bucket: &str,
        key: &str,
        st: &ObjectState,
    ) -> S3Result<()> {
        let path = self.state_path(bucket, key);
        let write = async {
            tokio::fs::create_dir_all(&self.meta_dir).await?;
            if st.class.is_empty() || st.class == "STANDARD" {
                match tokio::fs::remove_file(&path).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            } else {
                // Write then rename: a crash leaves the old state or the new, never half.
                let tmp = path.with_extension("state.tmp");
                tokio::fs::write(&tmp, serde_json::to_vec(st).unwrap_or_default()).await?;
                tokio::fs::rename(&tmp, &path).await
            }
        };
        write
            .await
            .map_err(|e| s3_error!(InternalError, "recording storage class: {e}"))
    }

    pub(super) fn restored(&self, st: &ObjectState, now: i64) -> Restored {
        match &st.restore {
            None => Restored::No,
            Some(r) if now < r.ready_ms => Restored::Ongoing,
            Some(r) => {
                let until = r.ready_ms + r.days * self.glacier.day_ms;
                if now < until {
                    Restored::Until(until)
                } else {
                    Restored::No
                }
            }
        }
    }

    /// Refuses to read an archived object that has no restored copy (as S3 does).
    pub(super) async fn readable(&self, bucket: &str, key: &str) -> S3Result<()> {
        let st = self.state(bucket, key).await;
        if archived(&st.class) && !matches!(self.restored(&st, now_ms()), Restored::Until(_)) {
            return Err(s3_error!(
                InvalidObjectState,
                "The operation is not valid for the object's storage class"
            ));
        }
        Ok(())
    }

    pub(super) async fn start_restore(
        &self,
        req: S3Request<RestoreObjectInput>,
    ) -> S3Result<S3Response<RestoreObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let path = self.fs_object_exists(&bucket, &key).await;
        if !path {
            return Err(s3_error!(NoSuchKey));
        }
        let mut st = self.state(&bucket, &key).await;
        if !archived(&st.class) {
            return Err(s3_error!(
                InvalidObjectState,
                "Restore is not allowed for the object's current storage class"
            ));
        }
        let rr = req.input.restore_request.as_ref();
        let days = rr.and_then(|r| r.days).unwrap_or(1).max(1) as i64;
        let tier = rr
            .and_then(|r| {
                r.glacier_job_parameters
                    .as_ref()
                    .map(|g| g.tier.as_str().to_string())
                    .or_else(|| r.tier.as_ref().map(|t| t.as_str().to_string()))
            })
            .unwrap_or_else(|| "Standard".into());
        let now = now_ms();
        match self.restored(&st, now) {
            Restored::Ongoing => {
                return Err(s3_error!(
                    RestoreAlreadyInProgress,
                    "Object restore is already in progress"
                ));
            }
            Restored::Until(_) => {
                // A restored copy's days start again from now (S3 answers 200).
                if let Some(r) = st.restore.as_mut() {
                    r.days = days;
                    r.ready_ms = now;
                }
                self.set_state(&bucket, &key, &st).await?;
                return Ok(S3Response::new(RestoreObjectOutput::default()));
            }
            Restored::No => {}
        }
        let delay = self.glacier.delay_ms(&st.class, &tier).ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The {tier} tier is not offered for {}",
                st.class
            )
        })?;
        st.restore = Some(RestoreState {
            tier,
            days,
            ready_ms: now + delay,
        });
        self.set_state(&bucket, &key, &st).await?;
        let mut resp = S3Response::new(RestoreObjectOutput::default());
        resp.status = Some(http::StatusCode::ACCEPTED);
        Ok(resp)
    }
}

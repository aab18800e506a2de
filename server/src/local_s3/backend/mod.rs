//! The storage behind the embedded endpoint: `s3s_fs::FileSystem` ([`store`]) with the S3
//! operations the app and S3 clients use forwarded here, and what s3s-fs lacks added in one
//! file each: Glacier classes and restores ([`glacier`], with their delays in
//! [`restore_times`]), multipart bookkeeping and assembly ([`parts`]), and S3's checksums
//! ([`checksums`]).
use std::sync::{Arc, Mutex};

use app::uploads::PartChecksum;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

mod checksums;
mod glacier;
mod parts;
pub(crate) use parts::is_upload_id;
mod restore_times;
mod store;

pub use store::LocalS3;

use checksums::{checksum_type, set_checksum, verify_checksum};
use glacier::{ObjectState, Restored, http_date, not_in_active_tier, now_ms};

#[async_trait::async_trait]
impl S3 for LocalS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut req = req;
        // s3s-fs knows only STANDARD; the class is ours to keep.
        let class = req
            .input
            .storage_class
            .take()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default();
        let out = self.fs.put_object(req).await?;
        // A new object replaces the old one, its checksum, class and restore.
        self.forget_object_checksum(&bucket, &key).await;
        self.set_state(
            &bucket,
            &key,
            &ObjectState {
                class,
                restore: None,
            },
        )
        .await?;
        Ok(out)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.readable(&req.input.bucket, &req.input.key).await?;
        let st = self.state(&req.input.bucket, &req.input.key).await;
        // The whole object's checksum when asked (not for a range, as S3).
        let wants = req
            .input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
            && req.input.range.is_none()
            && req.input.part_number.is_none();
        let sum = if wants {
            self.object_checksum(&req.input.bucket, &req.input.key)
                .await
        } else {
            None
        };
        let mut out = self.fs.get_object(req).await?;
        if let Some((alg, _)) = &sum {
            out.output.checksum_type = Some(checksum_type(*alg));
        }
        set_checksum!(out.output, sum);
        if !st.class.is_empty() {
            out.output.storage_class = Some(StorageClass::from(st.class));
        }
        Ok(out)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let wants = req
            .input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let sum = if wants {
            self.object_checksum(&req.input.bucket, &req.input.key)
                .await
        } else {
            None
        };
        let st = self.state(&req.input.bucket, &req.input.key).await;
        let mut out = self.fs.head_object(req).await?;
        if let Some((alg, _)) = &sum {
            out.output.checksum_type = Some(checksum_type(*alg));
        }
        set_checksum!(out.output, sum);
        if !st.class.is_empty() {
            out.output.storage_class = Some(StorageClass::from(st.class.clone()));
        }
        out.output.restore = match self.restored(&st, now_ms()) {
            Restored::No => None,
            Restored::Ongoing => Some("ongoing-request=\"true\"".into()),
            Restored::Until(t) => Some(format!(
                "ongoing-request=\"false\", expiry-date=\"{}\"",
                http_date(t)
            )),
        };
        Ok(out)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let out = self.fs.delete_object(req).await?;
        self.forget_object_checksum(&bucket, &key).await;
        self.set_state(&bucket, &key, &ObjectState::default())
            .await?;
        Ok(out)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        // CopyObject onto itself with a StorageClass is how S3 changes an object's class; an
        // archived source must be restored first.
        let CopySource::Bucket {
            bucket: sb,
            key: sk,
            ..
        } = &req.input.copy_source
        else {
            return Err(s3_error!(NotImplemented));
        };
        let (src_bucket, src_key) = (sb.to_string(), sk.to_string());
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        // S3 names this refusal differently for a copy than for a GET.
        if self.readable(&src_bucket, &src_key).await.is_err() {
            return Err(not_in_active_tier());
        }
        let mut req = req;
        let class = req
            .input
            .storage_class
            .take()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default();
        let same = src_bucket == bucket && src_key == key;
        let out = self.fs.copy_object(req).await?;
        if !same {
            self.forget_object_checksum(&bucket, &key).await;
        }
        self.set_state(
            &bucket,
            &key,
            &ObjectState {
                class,
                restore: None,
            },
        )
        .await?;
        Ok(out)
    }

    async fn restore_object(
        &self,
        req: S3Request<RestoreObjectInput>,
    ) -> S3Result<S3Response<RestoreObjectOutput>> {
        self.start_restore(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let mut req = req;
        let class = req
            .input
            .storage_class
            .take()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default();
        let algorithm = match req.input.checksum_algorithm.as_ref() {
            None => None,
            Some(a) => Some(
                PartChecksum::from_name(a.as_str())
                    .ok_or_else(|| s3_error!(NotImplemented, "Unsupported checksum algorithm"))?,
            ),
        };
        // As S3: CRC64NVME checksums only the whole object; CRC32 and SHA-256 here only their
        // parts (S3 also takes CRC32 FULL_OBJECT; this endpoint does not).
        if let Some(t) = req.input.checksum_type.as_ref() {
            let full = t.as_str() == ChecksumType::FULL_OBJECT;
            match algorithm {
                Some(alg) if alg.full_object() != full => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The {} checksum algorithm does not support the {} checksum type here.",
                        alg.name(),
                        t.as_str()
                    ));
                }
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "A checksum type needs a checksum algorithm."
                    ));
                }
                _ => {}
            }
        }
        let out = self.fs.create_multipart_upload(req).await?;
        // The class applies when the upload completes; the checksum algorithm, when given,
        // binds every part (as on S3: CompleteMultipartUpload must repeat each checksum).
        if let Some(dir) = out
            .output
            .upload_id
            .as_deref()
            .and_then(|id| self.part_etag_path(id, 0))
            .and_then(|p| p.parent().map(|d| d.to_owned()))
        {
            let write = async {
                tokio::fs::create_dir_all(&dir).await?;
                if let Some(alg) = algorithm {
                    tokio::fs::write(dir.join("algorithm"), alg.name()).await?;
                }
                tokio::fs::write(dir.join("class"), &class).await
            };
            write
                .await
                .map_err(|e| s3_error!(InternalError, "recording storage class: {e}"))?;
        }
        Ok(out)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let mut req = req;
        let (upload_id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let expected = match (
            &req.input.checksum_crc64nvme,
            &req.input.checksum_crc32,
            &req.input.checksum_sha256,
        ) {
            (Some(c), _, _) => Some((PartChecksum::Crc64Nvme, c.clone())),
            (None, Some(c), _) => Some((PartChecksum::Crc32, c.clone())),
            (None, None, Some(s)) => Some((PartChecksum::Sha256, s.clone())),
            (None, None, None) => None,
        };
        // A part's checksum must be of its upload's algorithm (S3 refuses another).
        if let (Some((alg, _)), Some(want)) = (&expected, self.upload_algorithm(&upload_id).await)
            && *alg != want
        {
            return Err(s3_error!(
                InvalidRequest,
                "This upload's parts carry {} checksums, not {}.",
                want.name(),
                alg.name()
            ));
        }
        let mismatch = Arc::new(Mutex::new(false));
        if let Some((alg, sum)) = expected.clone()
            && let Some(body) = req.input.body.take()
        {
            req.input.body = Some(verify_checksum(body, alg, sum, mismatch.clone()));
        }
        let mut out = match self.fs.upload_part(req).await {
            Err(_) if *mismatch.lock().expect("flag") => {
                let alg = expected.as_ref().map_or("", |(a, _)| a.name());
                return Err(s3_error!(
                    BadDigest,
                    "The {alg} you specified did not match the calculated checksum."
                ));
            }
            other => other?,
        };
        if let Some(etag) = &out.output.e_tag {
            let sum = expected.as_ref().map(|(a, v)| (*a, v.as_str()));
            self.record_part(&upload_id, part, etag.value(), sum)
                .await?;
        }
        set_checksum!(out.output, expected);
        Ok(out)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let upload_id = req.input.upload_id.clone();
        // S3 answers NoSuchUpload for a finished or aborted upload; s3s-fs lists nothing.
        if !self.upload_exists(&upload_id).await {
            return Err(s3_error!(NoSuchUpload));
        }
        let mut out = self.fs.list_parts(req).await?;
        if let Some(parts) = out.output.parts.as_mut() {
            for p in parts.iter_mut() {
                let Some(n) = p.part_number else { continue };
                if let Some(path) = self.part_etag_path(&upload_id, n)
                    && let Ok(etag) = tokio::fs::read_to_string(&path).await
                {
                    p.e_tag = Some(ETag::Strong(etag));
                }
                let sum = self.part_checksum(&upload_id, n).await;
                set_checksum!(p, sum);
            }
            parts.sort_by_key(|p| p.part_number);
        }
        Ok(out)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source else {
            return Err(s3_error!(NotImplemented));
        };
        if self.readable(bucket, key).await.is_err() {
            return Err(not_in_active_tier());
        }
        let (upload_id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let out = self.fs.upload_part_copy(req).await?;
        // Recorded like an uploaded part's, so CompleteMultipartUpload accepts it.
        let etag = out
            .output
            .copy_part_result
            .as_ref()
            .and_then(|r| r.e_tag.as_ref())
            .map(|e| e.value().to_string());
        if let Some(etag) = etag {
            self.record_part(&upload_id, part, &etag, None).await?;
        }
        Ok(out)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let out = self.fs.abort_multipart_upload(req).await?;
        if let Some(dir) = self
            .part_etag_path(&upload_id, 0)
            .and_then(|p| p.parent().map(|d| d.to_owned()))
        {
            tokio::fs::remove_dir_all(dir).await.ok();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::glacier::RestoreState;
    use super::restore_times::GlacierTimes;
    use super::*;

    fn backend(dir: &std::path::Path) -> LocalS3 {
        let (b, p) = (dir.join("buckets"), dir.join("parts"));
        std::fs::create_dir_all(&b).unwrap();
        std::fs::create_dir_all(&p).unwrap();
        LocalS3::new(b, p).unwrap()
    }

    #[tokio::test]
    async fn class_and_restore_survive_a_restart_and_a_restored_copy_expires_after_its_days() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = backend(dir.path());
        let st = ObjectState {
            class: "DEEP_ARCHIVE".into(),
            restore: Some(RestoreState {
                tier: "Bulk".into(),
                days: 2,
                ready_ms: 1_000,
            }),
        };
        s3.set_state("b", "k", &st).await.unwrap();
        drop(s3);
        let again = backend(dir.path());
        let back = again.state("b", "k").await;
        assert_eq!(back.class, "DEEP_ARCHIVE");
        let day = again.glacier.day_ms;
        assert_eq!(again.restored(&back, 999), Restored::Ongoing);
        assert_eq!(
            again.restored(&back, 1_000),
            Restored::Until(1_000 + 2 * day)
        );
        assert_eq!(
            again.restored(&back, 1_000 + 2 * day - 1),
            Restored::Until(1_000 + 2 * day)
        );
        assert_eq!(
            again.restored(&back, 1_000 + 2 * day),
            Restored::No,
            "expired"
        );
        // Back to Standard: nothing is kept.
        again
            .set_state("b", "k", &ObjectState::default())
            .await
            .unwrap();
        assert!(!again.state_path("b", "k").exists());
    }

    #[test]
    fn restore_delays_per_class_and_tier() {
        let t = GlacierTimes::default();
        assert_eq!(t.delay_ms("GLACIER", "Expedited"), Some(2_000));
        assert_eq!(
            t.delay_ms("DEEP_ARCHIVE", "Expedited"),
            None,
            "Deep Archive has no Expedited tier"
        );
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}

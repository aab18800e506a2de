//! The storage behind the embedded endpoint: `s3s_fs::FileSystem` with the operations the app
//! and S3 clients use forwarded, ListParts completed with each part's ETag, and S3's SHA-256
//! checksums: a part sent with `x-amz-checksum-sha256` is refused (`BadDigest`) unless its
//! bytes match, CompleteMultipartUpload checks each part's checksum, and HeadObject reports
//! the object's composite checksum as S3 does.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

pub struct LocalS3 {
    fs: s3s_fs::FileSystem,
    /// s3s-fs's root: one folder per bucket, and its own `.upload-<id>.json` files.
    root: PathBuf,
    /// `<parts_dir>/<upload id>/<part number>` holds the part's ETag (outside `root`, where a
    /// folder would be listed as a bucket).
    parts_dir: PathBuf,
    /// `<meta_dir>/<sha256(bucket/key)>.sha256` holds an object's checksum.
    meta_dir: PathBuf,
}

#[derive(Debug)]
struct BodyError(String);
impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for BodyError {}

impl std::fmt::Debug for LocalS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalS3")
    }
}

impl LocalS3 {
    pub fn new(root: PathBuf, parts_dir: PathBuf) -> std::io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        let meta_dir = parts_dir.with_file_name("meta");
        Ok(LocalS3 {
            fs,
            root,
            parts_dir,
            meta_dir,
        })
    }

    /// Whether s3s-fs knows this multipart upload (it keeps `.upload-<id>.json` until the
    /// upload completes or is aborted).
    async fn upload_exists(&self, upload_id: &str) -> bool {
        is_upload_id(upload_id)
            && tokio::fs::try_exists(self.root.join(format!(".upload-{upload_id}.json")))
                .await
                .unwrap_or(false)
    }

    fn part_etag_path(&self, upload_id: &str, part: i32) -> Option<PathBuf> {
        is_upload_id(upload_id).then(|| self.parts_dir.join(upload_id).join(part.to_string()))
    }

    fn part_checksum_path(&self, upload_id: &str, part: i32) -> Option<PathBuf> {
        is_upload_id(upload_id).then(|| {
            self.parts_dir
                .join(upload_id)
                .join(format!("{part}.sha256"))
        })
    }

    async fn part_checksum(&self, upload_id: &str, part: i32) -> Option<String> {
        tokio::fs::read_to_string(self.part_checksum_path(upload_id, part)?)
            .await
            .ok()
    }

    fn object_checksum_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{bucket}/{key}")));
        self.meta_dir.join(format!("{name}.sha256"))
    }

    async fn forget_object_checksum(&self, bucket: &str, key: &str) {
        tokio::fs::remove_file(self.object_checksum_path(bucket, key))
            .await
            .ok();
    }
}

/// Wraps a request body so that it ends in an error, not end-of-stream, when its SHA-256 is
/// not `expected` (base64): s3s-fs then drops the part instead of keeping it.
fn verify_sha256(
    body: StreamingBlob,
    expected: String,
    mismatch: Arc<Mutex<bool>>,
) -> StreamingBlob {
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let h = hasher.clone();
    let bytes = body
        .map_err(|e| BodyError(e.to_string()))
        .inspect_ok(move |b| h.lock().expect("hasher").update(b));
    let check = futures_util::stream::once(async move {
        let got = base64::engine::general_purpose::STANDARD
            .encode(hasher.lock().expect("hasher").clone().finalize());
        if got == expected {
            None
        } else {
            *mismatch.lock().expect("flag") = true;
            Some(Err(BodyError("checksum mismatch".into())))
        }
    })
    .filter_map(|x| async move { x });
    StreamingBlob::wrap(bytes.chain(check))
}

/// Upload ids are UUIDs made by s3s-fs; anything else never names a file.
fn is_upload_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

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
        let out = self.fs.put_object(req).await?;
        // A new object replaces the old one and its checksum.
        self.forget_object_checksum(&bucket, &key).await;
        Ok(out)
    }
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
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
        let path = self.object_checksum_path(&req.input.bucket, &req.input.key);
        let mut out = self.fs.head_object(req).await?;
        if wants && let Ok(sum) = tokio::fs::read_to_string(path).await {
            out.output.checksum_sha256 = Some(sum);
        }
        Ok(out)
    }
    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let out = self.fs.delete_object(req).await?;
        self.forget_object_checksum(&bucket, &key).await;
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
        self.fs.copy_object(req).await
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
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let mut req = req;
        let (upload_id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let expected = req.input.checksum_sha256.clone();
        let mismatch = Arc::new(Mutex::new(false));
        if let Some(sum) = expected.clone()
            && let Some(body) = req.input.body.take()
        {
            req.input.body = Some(verify_sha256(body, sum, mismatch.clone()));
        }
        let mut out = match self.fs.upload_part(req).await {
            Err(_) if *mismatch.lock().expect("flag") => {
                return Err(s3_error!(
                    BadDigest,
                    "The SHA256 you specified did not match the calculated checksum."
                ));
            }
            other => other?,
        };
        if let (Some(path), Some(etag)) = (self.part_etag_path(&upload_id, part), &out.output.e_tag)
        {
            let sum_path = self.part_checksum_path(&upload_id, part);
            let write = async {
                tokio::fs::create_dir_all(path.parent().expect("has parent")).await?;
                match (&expected, &sum_path) {
                    (Some(sum), Some(p)) => tokio::fs::write(p, sum).await?,
                    (None, Some(p)) => {
                        tokio::fs::remove_file(p).await.ok();
                    }
                    _ => {}
                }
                tokio::fs::write(&path, etag.value()).await
            };
            write
                .await
                .map_err(|e| s3_error!(InternalError, "recording part ETag: {e}"))?;
        }
        out.output.checksum_sha256 = expected;
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
                p.checksum_sha256 = self.part_checksum(&upload_id, n).await;
            }
            parts.sort_by_key(|p| p.part_number);
        }
        Ok(out)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut checksums = Vec::new();
        // S3 refuses a part list whose ETags are not the stored parts'; s3s-fs does not check.
        if let Some(parts) = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
        {
            for p in parts {
                let (Some(n), Some(sent)) = (p.part_number, p.e_tag.as_ref()) else {
                    return Err(s3_error!(
                        InvalidPart,
                        "each part needs a number and an ETag"
                    ));
                };
                let stored = match self.part_etag_path(&upload_id, n) {
                    Some(path) => tokio::fs::read_to_string(path).await.ok(),
                    None => None,
                };
                if stored.as_deref() != Some(sent.value()) {
                    return Err(s3_error!(
                        InvalidPart,
                        "part {n} was not uploaded or its ETag differs"
                    ));
                }
                // As S3 does for an upload created with a checksum algorithm: each listed
                // part's checksum must be the one it was stored with.
                let stored_sum = self.part_checksum(&upload_id, n).await;
                if stored_sum.is_some() && p.checksum_sha256 != stored_sum {
                    return Err(s3_error!(
                        InvalidPart,
                        "part {n}'s checksum differs from the one it was stored with"
                    ));
                }
                checksums.push(stored_sum);
            }
        }
        let composite = if !checksums.is_empty() && checksums.iter().all(Option::is_some) {
            let sums: Vec<String> = checksums.into_iter().flatten().collect();
            app::uploads::composite_sha256(&sums)
        } else {
            None
        };
        let mut out = self.fs.complete_multipart_upload(req).await?;
        let sum_path = self.object_checksum_path(&bucket, &key);
        match &composite {
            Some(sum) => {
                let write = async {
                    tokio::fs::create_dir_all(&self.meta_dir).await?;
                    tokio::fs::write(&sum_path, sum).await
                };
                write
                    .await
                    .map_err(|e| s3_error!(InternalError, "recording checksum: {e}"))?;
            }
            None => self.forget_object_checksum(&bucket, &key).await,
        }
        out.output.checksum_sha256 = composite;
        if let Some(dir) = self
            .part_etag_path(&upload_id, 0)
            .and_then(|p| p.parent().map(|d| d.to_owned()))
        {
            tokio::fs::remove_dir_all(dir).await.ok();
        }
        Ok(out)
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

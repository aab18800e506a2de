//! The storage behind the embedded endpoint: `s3s_fs::FileSystem` with the operations the app
//! and S3 clients use forwarded, and ListParts completed with each part's ETag.
use std::path::PathBuf;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

pub struct LocalS3 {
    fs: s3s_fs::FileSystem,
    /// s3s-fs's root: one folder per bucket, and its own `.upload-<id>.json` files.
    root: PathBuf,
    /// `<parts_dir>/<upload id>/<part number>` holds the part's ETag (outside `root`, where a
    /// folder would be listed as a bucket).
    parts_dir: PathBuf,
}

impl std::fmt::Debug for LocalS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalS3")
    }
}

impl LocalS3 {
    pub fn new(root: PathBuf, parts_dir: PathBuf) -> std::io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(&root)
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        Ok(LocalS3 {
            fs,
            root,
            parts_dir,
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
        self.fs.put_object(req).await
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
        self.fs.head_object(req).await
    }
    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
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
        let (upload_id, part) = (req.input.upload_id.clone(), req.input.part_number);
        let out = self.fs.upload_part(req).await?;
        if let (Some(path), Some(etag)) = (self.part_etag_path(&upload_id, part), &out.output.e_tag)
        {
            let write = async {
                tokio::fs::create_dir_all(path.parent().expect("has parent")).await?;
                tokio::fs::write(&path, etag.value()).await
            };
            write
                .await
                .map_err(|e| s3_error!(InternalError, "recording part ETag: {e}"))?;
        }
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
            }
        }
        let out = self.fs.complete_multipart_upload(req).await?;
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

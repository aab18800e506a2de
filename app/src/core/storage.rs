//! Object storage through `aws-sdk-s3`, the same code for AWS S3, the embedded endpoint and
//! any other S3. Presigned URLs are short-lived and name one exact, server-made key; part
//! URLs also sign the part's exact length.
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    timeout::TimeoutConfig,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    StorageClass,
};
use std::time::{Duration, SystemTime};

use super::config::S3Settings;
use crate::checksums::PartChecksum;
use crate::error::AppError;

#[derive(Clone)]
pub struct Storage {
    client: Client,
    pub bucket: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectHead {
    pub size: i64,
    pub storage_class: String,
    pub etag: Option<String>,
    /// The object's checksum as S3 reports it (`x-amz-checksum-crc64nvme`, the whole
    /// object's; or `-crc32`/`-sha256`, for a multipart object the checksum of the parts'
    /// checksums, then `-<parts>`); None when the store keeps none.
    pub checksum: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, when the store says.
    pub checksum_type: Option<String>,
}

/// A part S3 holds.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPart {
    pub number: i32,
    pub size: i64,
    pub etag: String,
    /// The checksum it was stored with (CRC32 or SHA-256, base64), when the store keeps it.
    pub checksum: Option<String>,
}

/// What S3 said to a RestoreObject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreSent {
    /// 202 (started) or 200 (a restored copy's days extended).
    Accepted,
    AlreadyInProgress,
    /// The object is in a class that reads at once.
    NotArchived,
    Missing,
}

/// An object's restore as HeadObject reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreStatus {
    Ongoing,
    /// The copy is there until this time (unix ms).
    Ready {
        expires_ms: i64,
    },
    /// Archived, no restore running nor copy left.
    NotRestored,
    NotArchived,
    Missing,
}

/// `ongoing-request="true"`, or `ongoing-request="false", expiry-date="Fri, 21 Dec 2012
/// 00:00:00 GMT"` (an RFC 7231 date).
pub fn parse_restore_header(h: &str) -> RestoreStatus {
    if h.contains("ongoing-request=\"true\"") {
        return RestoreStatus::Ongoing;
    }
    let expiry = h
        .split_once("expiry-date=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(date, _)| {
            time::PrimitiveDateTime::parse(
                date.trim_end_matches(" GMT"),
                time::macros::format_description!(
                    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second]"
                ),
            )
            .ok()
        })
        .map(|t| (t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64);
    match expiry {
        Some(expires_ms) => RestoreStatus::Ready { expires_ms },
        None => RestoreStatus::NotRestored,
    }
}

/// A presigned part URL and the headers the PUT must carry exactly (they are signed).
#[derive(Clone, Debug, PartialEq)]
pub struct PresignedPut {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl From<&aws_sdk_s3::presigning::PresignedRequest> for PresignedPut {
    /// The browser sets what the signature covers, except what it sets itself.
    fn from(req: &aws_sdk_s3::presigning::PresignedRequest) -> Self {
        let headers = req
            .headers()
            .filter(|(name, _)| {
                !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "host" | "content-length" | "user-agent"
                )
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        PresignedPut {
            url: req.uri().to_string(),
            headers,
        }
    }
}

/// S3's answers for a request that may well work when tried again (throttling, the service's
/// own failures).
const TRANSIENT: [&str; 5] = [
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
];

fn s3_error(op: &str, e: impl std::error::Error) -> AppError {
    super::metrics::metrics().s3_error(op);
    // The SDK's error Display carries no credentials or signatures.
    let msg = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
    if msg.contains("dispatch failure") || msg.contains("timeout") || msg.contains("io error") {
        tracing::error!(op, error = %msg, "object storage unreachable");
        AppError::Unavailable {
            message: "Object storage is not reachable right now. Nothing was changed; try again in a moment.".into(),
        }
    } else if TRANSIENT.iter().any(|code| msg.contains(code)) {
        // Still failing after the SDK's retries (3 tries, exponential backoff with jitter):
        // the store is overloaded or failing, which is no error of the request's.
        tracing::error!(op, error = %msg, "object storage failing");
        AppError::Unavailable {
            message: "Object storage is busy or failing right now. Nothing was changed; try again in a moment.".into(),
        }
    } else {
        AppError::internal(format!("S3 {op}: {msg}"))
    }
}

impl Storage {
    pub async fn new(s: &S3Settings) -> Storage {
        let mut b = match (&s.access_key_id, &s.secret_access_key) {
            (Some(ak), Some(sk)) => aws_sdk_s3::config::Builder::new()
                .behavior_version(BehaviorVersion::latest())
                .credentials_provider(Credentials::new(ak, sk, None, None, "nexus-settings")),
            _ => {
                let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
                aws_sdk_s3::config::Builder::from(&shared)
            }
        };
        b = b
            .region(Region::new(s.region.clone()))
            .force_path_style(s.force_path_style)
            // Checksums only where S3 requires them: presigned browser PUTs cannot carry the
            // SDK's trailing CRC, and non-AWS endpoints differ in what they accept.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // A store that takes too long to start answering is tried again (the SDK's 3
            // tries), then answered 503, so no request or job waits on it for ever. Only the
            // first byte is bounded: CopyObject and CompleteMultipartUpload of large objects
            // answer at once and keep the connection alive while S3 works.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(s.timeout_secs.min(10)))
                    .read_timeout(Duration::from_secs(s.timeout_secs))
                    .build(),
            );
        if let Some(endpoint) = &s.endpoint {
            b = b.endpoint_url(endpoint);
        }
        Storage {
            client: Client::from_conf(b.build()),
            bucket: s.bucket.clone(),
        }
    }

    fn presigning(ttl_secs: u64) -> Result<PresigningConfig, AppError> {
        PresigningConfig::builder()
            .expires_in(Duration::from_secs(ttl_secs.min(900)))
            .build()
            .map_err(|e| AppError::internal(format!("presign config: {e}")))
    }

    /// Creates the bucket when it does not exist (the embedded endpoint and test servers).
    pub async fn ensure_bucket(&self) -> Result<(), AppError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let already = e.as_service_error().is_some_and(|se| {
                    se.is_bucket_already_owned_by_you() || se.is_bucket_already_exists()
                });
                if already {
                    Ok(())
                } else {
                    Err(s3_error("CreateBucket", e))
                }
            }
        }
    }

    /// Answers when the bucket does (for /readyz).
    pub async fn ping(&self) -> Result<(), AppError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error("HeadBucket", e))
    }

    pub async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        class: &str,
        sum: PartChecksum,
    ) -> Result<String, AppError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .storage_class(StorageClass::from(class))
            // Every part then carries its checksum, which S3 checks on arrival; CRC64NVME
            // also checksums the whole object (FULL_OBJECT), checked at completion.
            .checksum_algorithm(match sum {
                PartChecksum::Crc32 => ChecksumAlgorithm::Crc32,
                PartChecksum::Sha256 => ChecksumAlgorithm::Sha256,
                PartChecksum::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
            })
            .set_checksum_type(sum.full_object().then_some(ChecksumType::FullObject))
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", e))?;
        out.upload_id
            .ok_or_else(|| AppError::internal("CreateMultipartUpload gave no upload id"))
    }

    /// A PUT URL for one part: exact key, upload id, part number, content length and the
    /// part's checksum (base64) are signed; S3 refuses bytes that do not match the checksum.
    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_length: i64,
        checksum: Option<(PartChecksum, &str)>,
        ttl_secs: u64,
    ) -> Result<PresignedPut, AppError> {
        self.presign_upload_part_at(
            key,
            upload_id,
            part_number,
            content_length,
            checksum,
            ttl_secs,
            None,
        )
        .await
    }

    /// As [`Self::presign_upload_part`], signed as if at `start` (tests make expired URLs).
    #[allow(clippy::too_many_arguments)]
    pub async fn presign_upload_part_at(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_length: i64,
        checksum: Option<(PartChecksum, &str)>,
        ttl_secs: u64,
        start: Option<SystemTime>,
    ) -> Result<PresignedPut, AppError> {
        let mut cfg =
            PresigningConfig::builder().expires_in(Duration::from_secs(ttl_secs.min(900)));
        if let Some(t) = start {
            cfg = cfg.start_time(t);
        }
        let cfg = cfg
            .build()
            .map_err(|e| AppError::internal(format!("presign config: {e}")))?;
        let req = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .content_length(content_length);
        let req = match checksum {
            Some((PartChecksum::Crc32, sum)) => req.checksum_crc32(sum),
            Some((PartChecksum::Sha256, sum)) => req.checksum_sha256(sum),
            Some((PartChecksum::Crc64Nvme, sum)) => req.checksum_crc64_nvme(sum),
            None => req,
        };
        let req = req
            .presigned(cfg)
            .await
            .map_err(|e| s3_error("presign UploadPart", e))?;
        Ok(PresignedPut::from(&req))
    }

    /// Completes a multipart upload. `whole` is a full-object checksum's expected value
    /// (CRC64NVME): S3 computes the object's own and refuses (BadDigest) when they differ.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String, Option<String>)],
        sum: PartChecksum,
        whole: Option<&str>,
    ) -> Result<(), AppError> {
        let parts = parts
            .iter()
            .map(|(n, etag, checksum)| {
                let p = CompletedPart::builder().part_number(*n).e_tag(etag);
                match sum {
                    PartChecksum::Crc32 => p.set_checksum_crc32(checksum.clone()),
                    PartChecksum::Sha256 => p.set_checksum_sha256(checksum.clone()),
                    PartChecksum::Crc64Nvme => p.set_checksum_crc64_nvme(checksum.clone()),
                }
                .build()
            })
            .collect();
        let mut req = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        if let Some(whole) = whole {
            req = req
                .checksum_crc64_nvme(whole)
                .checksum_type(ChecksumType::FullObject);
        }
        req.send()
            .await
            .map_err(|e| {
                let code = e
                    .as_service_error()
                    .and_then(|se| aws_sdk_s3::error::ProvideErrorMetadata::code(se))
                    .unwrap_or_default()
                    .to_string();
                match code.as_str() {
                    "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => AppError::invalid(
                        "parts",
                        "S3 does not have these parts as listed; upload the missing parts again.",
                    ),
                    "NoSuchUpload" => AppError::conflict(
                        "Storage no longer has this upload (it was cancelled or expired). Start it again.",
                    ),
                    "BadDigest" | "InvalidRequest" if whole.is_some() => AppError::invalid(
                        "parts",
                        "Storage computed another checksum for the whole file than its parts' (the file changed while it was sent?). Upload it again.",
                    ),
                    _ => s3_error("CompleteMultipartUpload", e),
                }
            })?;
        Ok(())
    }

    /// Aborts a multipart upload; one S3 no longer has counts as aborted.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), AppError> {
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_no_such_upload()) =>
            {
                Ok(())
            }
            Err(e) => Err(s3_error("AbortMultipartUpload", e)),
        }
    }

    /// Parts S3 holds for an upload, by number.
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, AppError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error()
                        .is_some_and(|se| se.meta().code() == Some("NoSuchUpload"))
                    {
                        AppError::conflict(
                            "Storage no longer has this upload (it was cancelled or expired). Start it again.",
                        )
                    } else {
                        s3_error("ListParts", e)
                    }
                })?;
            for p in page.parts() {
                out.push(StoredPart {
                    number: p.part_number().unwrap_or(0),
                    size: p.size().unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().to_string(),
                    checksum: p
                        .checksum_crc64_nvme()
                        .or(p.checksum_crc32())
                        .or(p.checksum_sha256())
                        .map(str::to_owned),
                });
            }
            match (page.is_truncated(), page.next_part_number_marker()) {
                (Some(true), Some(m)) => marker = Some(m.to_string()),
                _ => break,
            }
        }
        out.sort_by_key(|p| p.number);
        Ok(out)
    }

    /// Size, class and ETag of an object, or None when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectHead>, AppError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(h) => Ok(Some(ObjectHead {
                size: h.content_length().unwrap_or(0),
                storage_class: h
                    .storage_class()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "STANDARD".into()),
                etag: h.e_tag().map(str::to_owned),
                checksum: h
                    .checksum_crc64_nvme()
                    .or(h.checksum_crc32())
                    .or(h.checksum_sha256())
                    .map(str::to_owned),
                checksum_type: h.checksum_type().map(|t| t.as_str().to_owned()),
            })),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error("HeadObject", e)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("DeleteObject", e))?;
        Ok(())
    }

    /// A PUT URL for one small object of exactly `content_length` bytes (the length and type
    /// are signed, so nothing else can be stored under the key).
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
        ttl_secs: u64,
    ) -> Result<PresignedPut, AppError> {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length)
            .presigned(Self::presigning(ttl_secs)?)
            .await
            .map_err(|e| s3_error("presign PutObject", e))?;
        Ok(PresignedPut::from(&req))
    }

    /// Moves an object to another storage class by copying it onto itself, as S3 does it: one
    /// CopyObject up to 5 GiB, a multipart copy (UploadPartCopy, 1 GiB ranges) above. An
    /// archived object must be restored first (S3 answers ObjectNotInActiveTierError).
    ///
    /// Idempotent: when the copy fails and the object is in `class` already — an earlier try
    /// copied it and its process died before recording it (S3 then refuses to copy an archived
    /// source) — it is done, not an error.
    pub async fn change_class(&self, key: &str, size: i64, class: &str) -> Result<(), AppError> {
        const ONE_COPY_MAX: i64 = 5 * 1024 * 1024 * 1024;
        let copied = if size > ONE_COPY_MAX {
            self.change_class_in_ranges(key, size, class, 1024 * 1024 * 1024)
                .await
        } else {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(key)
                .copy_source(format!("{}/{}", self.bucket, key))
                .storage_class(StorageClass::from(class))
                .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| s3_error("CopyObject", e))
        };
        match copied {
            Err(e) => match self.head(key).await {
                Ok(Some(h)) if h.storage_class == class => {
                    tracing::info!(
                        class,
                        "object already in the class asked for (an earlier try moved it)"
                    );
                    Ok(())
                }
                _ => Err(e),
            },
            ok => ok,
        }
    }

    /// The multipart copy behind [`Self::change_class`] for large objects, in `range`-byte
    /// parts (S3 wants 5 MiB to 5 GiB each, the last may be smaller).
    pub async fn change_class_in_ranges(
        &self,
        key: &str,
        size: i64,
        class: &str,
        range: i64,
    ) -> Result<(), AppError> {
        let source = format!("{}/{}", self.bucket, key);
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .storage_class(StorageClass::from(class))
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", e))?
            .upload_id
            .ok_or_else(|| AppError::internal("CreateMultipartUpload gave no upload id"))?;
        let copied = async {
            let mut parts = vec![];
            let mut start = 0;
            let mut n = 1;
            while start < size {
                let end = (start + range).min(size) - 1;
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload)
                    .part_number(n)
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .send()
                    .await
                    .map_err(|e| s3_error("UploadPartCopy", e))?;
                let etag = out
                    .copy_part_result
                    .and_then(|r| r.e_tag)
                    .ok_or_else(|| AppError::internal("UploadPartCopy gave no ETag"))?;
                parts.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
                start = end + 1;
                n += 1;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error("CompleteMultipartUpload", e))?;
            Ok::<(), AppError>(())
        };
        if let Err(e) = copied.await {
            self.abort_multipart(key, &upload).await.ok();
            return Err(e);
        }
        Ok(())
    }

    /// A GET URL that downloads the object under `filename`.
    pub async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        ttl_secs: u64,
    ) -> Result<String, AppError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition(filename))
            .presigned(Self::presigning(ttl_secs)?)
            .await
            .map_err(|e| s3_error("presign GetObject", e))?;
        Ok(req.uri().to_string())
    }

    /// Asks S3 to bring an archived object back for `days` days with `tier` (Expedited,
    /// Standard, Bulk). A repeat while the restore runs (409 RestoreAlreadyInProgress) is no
    /// error, nor is one that extends a restored copy (200).
    pub async fn restore(&self, key: &str, tier: &str, days: i32) -> Result<RestoreSent, AppError> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        use aws_sdk_s3::types::{GlacierJobParameters, RestoreRequest, Tier};
        let params = GlacierJobParameters::builder()
            .tier(Tier::from(tier))
            .build()
            .map_err(AppError::internal)?;
        let req = RestoreRequest::builder()
            .days(days)
            .glacier_job_parameters(params)
            .build();
        match self
            .client
            .restore_object()
            .bucket(&self.bucket)
            .key(key)
            .restore_request(req)
            .send()
            .await
        {
            Ok(_) => Ok(RestoreSent::Accepted),
            Err(e) => match e.code() {
                Some("RestoreAlreadyInProgress") => Ok(RestoreSent::AlreadyInProgress),
                // Not archived (any more): nothing to restore, it reads as it is.
                Some("InvalidObjectState") => Ok(RestoreSent::NotArchived),
                Some("NoSuchKey") => Ok(RestoreSent::Missing),
                _ => Err(s3_error("RestoreObject", e)),
            },
        }
    }

    /// Where an object's restore stands, from HeadObject's `x-amz-restore`.
    pub async fn restore_status(&self, key: &str) -> Result<RestoreStatus, AppError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(h) => {
                let archived = matches!(
                    h.storage_class().map(|c| c.as_str()),
                    Some("GLACIER" | "DEEP_ARCHIVE")
                );
                Ok(match h.restore() {
                    Some(r) => parse_restore_header(r),
                    None if archived => RestoreStatus::NotRestored,
                    None => RestoreStatus::NotArchived,
                })
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => {
                Ok(RestoreStatus::Missing)
            }
            Err(e) => Err(s3_error("HeadObject", e)),
        }
    }

    /// The origin (`scheme://host[:port]`) browsers reach for presigned URLs, read off a
    /// presigned URL itself so it is exactly what pages will be sent to (a custom endpoint,
    /// path or virtual-host style, a proxy in front of the embedded endpoint). For the
    /// Content-Security-Policy's `connect-src` and `img-src`.
    pub async fn browser_origin(&self) -> Option<String> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key("origin-probe")
            .presigned(Self::presigning(60).ok()?)
            .await
            .ok()?;
        let uri: http::Uri = req.uri().parse().ok()?;
        Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
    }

    /// The SDK client, for tests that speak S3 directly.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod restore_header_tests {
    use super::{RestoreStatus, parse_restore_header};

    #[test]
    fn x_amz_restore_reads_as_s3_writes_it() {
        assert_eq!(
            parse_restore_header("ongoing-request=\"true\""),
            RestoreStatus::Ongoing
        );
        // 2012-12-21 00:00:00 UTC
        assert_eq!(
            parse_restore_header(
                "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\""
            ),
            RestoreStatus::Ready {
                expires_ms: 1_356_048_000_000
            }
        );
        assert_eq!(
            parse_restore_header("ongoing-request=\"false\""),
            RestoreStatus::NotRestored
        );
    }
}

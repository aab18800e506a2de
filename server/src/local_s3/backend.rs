//! The storage behind the embedded endpoint: `s3s_fs::FileSystem` with the operations the app
//! and S3 clients use forwarded, ListParts completed with each part's ETag, and S3's CRC32
//! and SHA-256 checksums: a part sent with `x-amz-checksum-crc32` or `-sha256` is refused
//! (`BadDigest`) unless its bytes match, CompleteMultipartUpload checks each part's checksum
//! (and joins the parts itself, [`LocalS3::assemble`]), and HeadObject reports the object's
//! composite checksum as S3 does. And Glacier: each object keeps its storage class
//! (CopyObject onto itself changes it), GLACIER and DEEP_ARCHIVE objects cannot be read
//! or copied until restored, RestoreObject starts a restore that finishes after a delay per
//! class and tier ([`GlacierTimes`]), and the restored copy expires after its days.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use app::uploads::PartChecksum;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

pub struct LocalS3 {
    fs: s3s_fs::FileSystem,
    /// s3s-fs's root: one folder per bucket, and its own `.upload-<id>.json` files.
    root: PathBuf,
    /// `<parts_dir>/<upload id>/<part number>` holds the part's ETag (outside `root`, where a
    /// folder would be listed as a bucket).
    parts_dir: PathBuf,
    /// `<meta_dir>/<sha256(bucket/key)>.<crc32|sha256>` holds an object's checksum (the
    /// extension names the algorithm, as for parts), and `.state` its
    /// storage class and restore (JSON), so both survive restarts.
    meta_dir: PathBuf,
    glacier: GlacierTimes,
}

/// How long a restore takes per class and tier, and how long a restored "day" lasts: seconds
/// by default, so a person can try the whole flow in a minute. S3 takes minutes to days.
#[derive(Debug, Clone)]
pub struct GlacierTimes {
    /// (class, tier) → seconds; a missing pair is a tier the class does not offer.
    pub delays: Vec<(String, String, u64)>,
    pub day_ms: i64,
}

impl Default for GlacierTimes {
    fn default() -> Self {
        let d = |c: &str, t: &str, s| (c.to_string(), t.to_string(), s);
        GlacierTimes {
            delays: vec![
                d("GLACIER", "Expedited", 2),
                d("GLACIER", "Standard", 5),
                d("GLACIER", "Bulk", 10),
                d("DEEP_ARCHIVE", "Standard", 8),
                d("DEEP_ARCHIVE", "Bulk", 15),
            ],
            day_ms: 86_400_000,
        }
    }
}

impl GlacierTimes {
    /// Defaults, changed by `NEXUS_LOCAL_S3_RESTORE_SECS` ("GLACIER.Expedited=2,
    /// DEEP_ARCHIVE.Bulk=15,…") and `NEXUS_LOCAL_S3_DAY_SECS`.
    pub fn from_env() -> Result<GlacierTimes, String> {
        let mut t = GlacierTimes::default();
        if let Ok(v) = std::env::var("NEXUS_LOCAL_S3_RESTORE_SECS") {
            for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let bad =
                    || format!("NEXUS_LOCAL_S3_RESTORE_SECS: “{item}” is not CLASS.Tier=seconds");
                let (pair, secs) = item.split_once('=').ok_or_else(bad)?;
                let (class, tier) = pair.split_once('.').ok_or_else(bad)?;
                let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
                t.delays.retain(|(c, tr, _)| !(c == class && tr == tier));
                t.delays.push((class.to_string(), tier.to_string(), secs));
            }
        }
        if let Ok(v) = std::env::var("NEXUS_LOCAL_S3_DAY_SECS") {
            let secs: i64 = v
                .trim()
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or("NEXUS_LOCAL_S3_DAY_SECS must be a positive number of seconds")?;
            t.day_ms = secs * 1000;
        }
        Ok(t)
    }

    fn delay_ms(&self, class: &str, tier: &str) -> Option<i64> {
        self.delays
            .iter()
            .find(|(c, t, _)| c == class && t == tier)
            .map(|(_, _, s)| *s as i64 * 1000)
    }
}

/// An object's storage class and restore, as the embedded endpoint keeps them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct ObjectState {
    /// '' is STANDARD.
    class: String,
    restore: Option<RestoreState>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RestoreState {
    tier: String,
    days: i64,
    ready_ms: i64,
}

/// Where an object's restore stands at a moment.
#[derive(Debug, PartialEq)]
enum Restored {
    No,
    Ongoing,
    Until(i64),
}

/// What S3 answers a copy whose source is archived (s3s has no name for it).
fn not_in_active_tier() -> s3s::S3Error {
    let mut e = s3s::S3Error::with_message(
        s3s::S3ErrorCode::Custom("ObjectNotInActiveTierError".into()),
        "The source object of the COPY action is not in the active tier",
    );
    e.set_status_code(http::StatusCode::FORBIDDEN);
    e
}

/// Classes whose objects must be restored before they can be read.
fn archived(class: &str) -> bool {
    matches!(class, "GLACIER" | "DEEP_ARCHIVE")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// An HTTP date for `x-amz-restore`'s expiry (RFC 7231, as S3 writes it).
fn http_date(ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
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
        let glacier = GlacierTimes::from_env().map_err(std::io::Error::other)?;
        Ok(LocalS3 {
            fs,
            root,
            parts_dir,
            meta_dir,
            glacier,
        })
    }

    fn state_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{bucket}/{key}")));
        self.meta_dir.join(format!("{name}.state"))
    }

    async fn state(&self, bucket: &str, key: &str) -> ObjectState {
        tokio::fs::read(self.state_path(bucket, key))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    async fn set_state(&self, bucket: &str, key: &str, st: &ObjectState) -> S3Result<()> {
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

    fn restored(&self, st: &ObjectState, now: i64) -> Restored {
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
    async fn readable(&self, bucket: &str, key: &str) -> S3Result<()> {
        let st = self.state(bucket, key).await;
        if archived(&st.class) && !matches!(self.restored(&st, now_ms()), Restored::Until(_)) {
            return Err(s3_error!(
                InvalidObjectState,
                "The operation is not valid for the object's storage class"
            ));
        }
        Ok(())
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

    /// `<parts_dir>/<upload id>/<part>.<crc32|sha256>`: the checksum a part was verified
    /// against, the extension naming its algorithm.
    fn part_checksum_path(&self, upload_id: &str, part: i32, alg: PartChecksum) -> Option<PathBuf> {
        is_upload_id(upload_id).then(|| {
            self.parts_dir
                .join(upload_id)
                .join(format!("{part}.{}", alg.name().to_ascii_lowercase()))
        })
    }

    /// Records a stored part's ETag (and the checksum it was verified against, if any) for
    /// ListParts and CompleteMultipartUpload.
    async fn record_part(
        &self,
        upload_id: &str,
        part: i32,
        etag: &str,
        checksum: Option<(PartChecksum, &str)>,
    ) -> S3Result<()> {
        let Some(path) = self.part_etag_path(upload_id, part) else {
            return Ok(());
        };
        let write = async {
            tokio::fs::create_dir_all(path.parent().expect("has parent")).await?;
            for alg in ALGORITHMS {
                let Some(p) = self.part_checksum_path(upload_id, part, alg) else {
                    continue;
                };
                match checksum {
                    Some((a, sum)) if a == alg => tokio::fs::write(p, sum).await?,
                    _ => {
                        tokio::fs::remove_file(p).await.ok();
                    }
                }
            }
            tokio::fs::write(&path, etag).await
        };
        write
            .await
            .map_err(|e| s3_error!(InternalError, "recording part ETag: {e}"))
    }

    /// The checksum algorithm a multipart upload was created with, if any.
    async fn upload_algorithm(&self, upload_id: &str) -> Option<PartChecksum> {
        let dir = self.part_etag_path(upload_id, 0)?.parent()?.to_owned();
        let name = tokio::fs::read_to_string(dir.join("algorithm"))
            .await
            .ok()?;
        PartChecksum::from_name(&name)
    }

    async fn part_checksum(&self, upload_id: &str, part: i32) -> Option<(PartChecksum, String)> {
        read_checksum(|alg| self.part_checksum_path(upload_id, part, alg)).await
    }

    /// Whether the object's file is there (s3s-fs keeps `<root>/<bucket>/<key>`).
    async fn fs_object_exists(&self, bucket: &str, key: &str) -> bool {
        !key.split('/').any(|p| p == "..")
            && tokio::fs::metadata(self.root.join(bucket).join(key))
                .await
                .is_ok_and(|m| m.is_file())
    }

    fn object_checksum_path(&self, bucket: &str, key: &str, alg: PartChecksum) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{bucket}/{key}")));
        self.meta_dir
            .join(format!("{name}.{}", alg.name().to_ascii_lowercase()))
    }

    async fn object_checksum(&self, bucket: &str, key: &str) -> Option<(PartChecksum, String)> {
        read_checksum(|alg| Some(self.object_checksum_path(bucket, key, alg))).await
    }

    async fn forget_object_checksum(&self, bucket: &str, key: &str) {
        for alg in ALGORITHMS {
            tokio::fs::remove_file(self.object_checksum_path(bucket, key, alg))
                .await
                .ok();
        }
    }
}

const ALGORITHMS: [PartChecksum; 2] = [PartChecksum::Crc32, PartChecksum::Sha256];

/// The checksum kept at `path_of(algorithm)` for whichever algorithm has a file.
async fn read_checksum(
    path_of: impl Fn(PartChecksum) -> Option<PathBuf>,
) -> Option<(PartChecksum, String)> {
    for alg in ALGORITHMS {
        if let Ok(sum) = tokio::fs::read_to_string(path_of(alg)?).await {
            return Some((alg, sum));
        }
    }
    None
}

/// Wraps a request body so that it ends in an error, not end-of-stream, when its checksum is
/// not `expected` (base64): s3s-fs then drops the part instead of keeping it.
fn verify_checksum(
    body: StreamingBlob,
    alg: PartChecksum,
    expected: String,
    mismatch: Arc<Mutex<bool>>,
) -> StreamingBlob {
    let hasher = Arc::new(Mutex::new(alg.hasher()));
    let h = hasher.clone();
    let bytes = body
        .map_err(|e| BodyError(e.to_string()))
        .inspect_ok(move |b| h.lock().expect("hasher").update(b));
    let check = futures_util::stream::once(async move {
        let got = hasher.lock().expect("hasher").clone().finish();
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

/// Sets an output's checksum field for `alg` (S3 reports the one the object was made with).
macro_rules! set_checksum {
    ($out:expr, $sum:expr) => {
        match $sum {
            Some((PartChecksum::Crc32, v)) => $out.checksum_crc32 = Some(v),
            Some((PartChecksum::Sha256, v)) => $out.checksum_sha256 = Some(v),
            None => {}
        }
    };
}

impl LocalS3 {
    /// CompleteMultipartUpload without s3s-fs's copy: s3s-fs reads every part again, MD5s
    /// every byte again and rewrites the object in 64 KiB async writes (about 5 s per GiB
    /// here); this joins the part files with `copy_file_range` (the kernel copies) and makes
    /// the multipart ETag from the parts' MD5s recorded when they arrived. It keeps s3s-fs
    /// 0.14's layout (part files, upload file, metadata, `e_tag` in the internal info), so
    /// s3s-fs serves the object as its own. The caller has checked each listed ETag against
    /// the stored part's. None: a case it leaves to s3s-fs (conditional headers, an ETag that
    /// is not an MD5, an odd key).
    async fn assemble(
        &self,
        req: &S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<Option<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        if input.if_match.is_some() || input.if_none_match.is_some() {
            return Ok(None);
        }
        let Ok(upload) = uuid::Uuid::parse_str(&input.upload_id) else {
            return Ok(None);
        };
        let (bucket, key) = (&input.bucket, &input.key);
        let plain = |s: &str| {
            !s.is_empty() && !s.starts_with('/') && !s.split('/').any(|p| p == ".." || p == ".")
        };
        if !plain(bucket) || bucket.contains('/') || !plain(key) {
            return Ok(None);
        }
        let Some(parts) = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
        else {
            return Ok(None);
        };
        // The parts in order, each with the MD5 recorded when it was stored.
        let mut files = Vec::with_capacity(parts.len());
        let mut md5s = Vec::with_capacity(parts.len() * 16);
        for (i, p) in parts.iter().enumerate() {
            if p.part_number != Some(i as i32 + 1) {
                return Ok(None); // s3s-fs answers "invalid part order"
            }
            let n = i as i32 + 1;
            // The part's ETag (its MD5), already checked against the one recorded when the
            // part was stored.
            let md5 = p
                .e_tag
                .as_ref()
                .and_then(|e| hex::decode(e.value()).ok())
                .filter(|m| m.len() == 16);
            let Some(md5) = md5 else { return Ok(None) };
            md5s.extend_from_slice(&md5);
            files.push(self.root.join(format!(".upload_id-{upload}.part-{n}")));
        }
        if files.is_empty() {
            return Ok(None);
        }
        // The upload must exist, and be this access key's (as s3s-fs checks).
        let upload_file = self.root.join(format!(".upload-{upload}.json"));
        let Ok(owner) = tokio::fs::read(&upload_file).await else {
            return Err(s3_error!(NoSuchUpload));
        };
        let owner: Option<String> = serde_json::from_slice(&owner).unwrap_or(None);
        let caller = req.credentials.as_ref().map(|c| c.access_key.clone());
        if owner.is_some() && owner != caller {
            return Err(s3_error!(AccessDenied));
        }

        let object = self.root.join(bucket).join(key);
        let tmp = self.root.join(format!(".tmp.nexus-{upload}.internal.part"));
        let joined = {
            let (files, object, tmp) = (files.clone(), object.clone(), tmp.clone());
            tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut out = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
                let last = files.len() - 1;
                for (i, f) in files.iter().enumerate() {
                    let mut part =
                        std::fs::File::open(f).map_err(|e| format!("part {}: {e}", i + 1))?;
                    let n = std::io::copy(&mut part, &mut out).map_err(|e| e.to_string())?;
                    if i != last && n < 5 * 1024 * 1024 {
                        return Err("EntityTooSmall".into());
                    }
                }
                drop(out);
                if let Some(dir) = object.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::rename(&tmp, &object).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| s3_error!(InternalError, "assembling: {e}"))?
        };
        if let Err(e) = joined {
            tokio::fs::remove_file(&tmp).await.ok();
            return Err(if e == "EntityTooSmall" {
                s3_error!(EntityTooSmall)
            } else {
                s3_error!(InternalError, "assembling the object: {e}")
            });
        }
        for f in &files {
            tokio::fs::remove_file(f).await.ok();
        }
        tokio::fs::remove_file(&upload_file).await.ok();

        // What s3s-fs keeps beside an object: its metadata (moved from the upload's) and its
        // ETag, the MD5 of the parts' MD5s and the part count.
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let meta = |u: &str| {
            format!(
                ".bucket-{}.object-{}{u}.metadata.json",
                b64(bucket),
                b64(key)
            )
        };
        let upload_meta = self.root.join(meta(&format!(".upload-{upload}")));
        let object_meta = self.root.join(meta(""));
        if tokio::fs::try_exists(&upload_meta).await.unwrap_or(false) {
            tokio::fs::rename(&upload_meta, &object_meta)
                .await
                .map_err(|e| s3_error!(InternalError, "moving metadata: {e}"))?;
        } else {
            tokio::fs::remove_file(&object_meta).await.ok();
        }
        let e_tag = {
            use md5::Digest;
            format!("{}-{}", hex::encode(md5::Md5::digest(&md5s)), files.len())
        };
        let info_path = self.root.join(format!(
            ".bucket-{}.object-{}.internal.json",
            b64(bucket),
            b64(key)
        ));
        let info = serde_json::json!({ "e_tag": e_tag });
        let info_tmp = self.root.join(format!(".tmp.nexus-{upload}.internal.json"));
        let write = async {
            tokio::fs::write(&info_tmp, serde_json::to_vec(&info)?).await?;
            tokio::fs::rename(&info_tmp, &info_path).await
        };
        write
            .await
            .map_err(|e| s3_error!(InternalError, "recording the ETag: {e}"))?;
        Ok(Some(CompleteMultipartUploadOutput {
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
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
        let mut out = self.fs.get_object(req).await?;
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
        let expected = match (&req.input.checksum_crc32, &req.input.checksum_sha256) {
            (Some(c), _) => Some((PartChecksum::Crc32, c.clone())),
            (None, Some(s)) => Some((PartChecksum::Sha256, s.clone())),
            (None, None) => None,
        };
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
        let upload_id = req.input.upload_id.clone();
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut checksums = Vec::new();
        let algorithm = self.upload_algorithm(&upload_id).await;
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
                // part's checksum must be the one it was stored with (under that algorithm).
                let Some(alg) = algorithm else { continue };
                let stored_sum = self
                    .part_checksum(&upload_id, n)
                    .await
                    .filter(|(a, _)| *a == alg);
                let sent_sum = match alg {
                    PartChecksum::Crc32 => p.checksum_crc32.as_ref(),
                    PartChecksum::Sha256 => p.checksum_sha256.as_ref(),
                };
                if sent_sum.is_none() || stored_sum.as_ref().map(|(_, v)| v) != sent_sum {
                    return Err(s3_error!(
                        InvalidPart,
                        "part {n}'s checksum differs from the one it was stored with"
                    ));
                }
                checksums.push(stored_sum);
            }
        }
        // An upload made with a checksum algorithm gets S3's composite checksum.
        let composite = match algorithm {
            Some(alg) if !checksums.is_empty() => {
                let sums: Vec<String> = checksums.into_iter().flatten().map(|(_, v)| v).collect();
                alg.composite(&sums).map(|v| (alg, v))
            }
            _ => None,
        };
        let mut out = match self.assemble(&req).await? {
            Some(out) => S3Response::new(out),
            None => self.fs.complete_multipart_upload(req).await?,
        };
        self.forget_object_checksum(&bucket, &key).await;
        if let Some((alg, sum)) = &composite {
            let path = self.object_checksum_path(&bucket, &key, *alg);
            let write = async {
                tokio::fs::create_dir_all(&self.meta_dir).await?;
                tokio::fs::write(&path, sum).await
            };
            write
                .await
                .map_err(|e| s3_error!(InternalError, "recording checksum: {e}"))?;
        }
        set_checksum!(out.output, composite);
        if let Some(dir) = self
            .part_etag_path(&upload_id, 0)
            .and_then(|p| p.parent().map(|d| d.to_owned()))
        {
            let class = tokio::fs::read_to_string(dir.join("class"))
                .await
                .unwrap_or_default();
            self.set_state(
                &bucket,
                &key,
                &ObjectState {
                    class,
                    restore: None,
                },
            )
            .await?;
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

#[cfg(test)]
mod tests {
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

//! S3's checksums in the embedded endpoint: a part sent with `x-amz-checksum-crc64nvme`,
//! `-crc32` or `-sha256` is refused (`BadDigest`) unless its bytes match; a multipart object
//! gets S3's checksum of it: CRC64NVME of the whole object (`FULL_OBJECT`, combined from the
//! parts' CRCs and checked against the one CompleteMultipartUpload sends), or the composite
//! checksum of its parts' CRC32s or SHA-256s; HeadObject and GetObject report it when asked
//! (`x-amz-checksum-mode: ENABLED`), as S3 does.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use app::uploads::PartChecksum;

use s3s::dto::*;

use super::store::LocalS3;

#[derive(Debug)]
pub(super) struct BodyError(String);
impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for BodyError {}

impl LocalS3 {
    /// Whether the object's file is there (s3s-fs keeps `<root>/<bucket>/<key>`).
    pub(super) async fn fs_object_exists(&self, bucket: &str, key: &str) -> bool {
        !key.split('/').any(|p| p == "..")
            && tokio::fs::metadata(self.root.join(bucket).join(key))
                .await
                .is_ok_and(|m| m.is_file())
    }

    pub(super) fn object_checksum_path(
        &self,
        bucket: &str,
        key: &str,
        alg: PartChecksum,
    ) -> PathBuf {
        let name = hex::encode(Sha256::digest(format!("{bucket}/{key}")));
        self.meta_dir
            .join(format!("{name}.{}", alg.name().to_ascii_lowercase()))
    }

    pub(super) async fn object_checksum(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<(PartChecksum, String)> {
        read_checksum(|alg| Some(self.object_checksum_path(bucket, key, alg))).await
    }

    pub(super) async fn forget_object_checksum(&self, bucket: &str, key: &str) {
        for alg in ALGORITHMS {
            tokio::fs::remove_file(self.object_checksum_path(bucket, key, alg))
                .await
                .ok();
        }
    }
}

pub(super) const ALGORITHMS: [PartChecksum; 3] = [
    PartChecksum::Crc64Nvme,
    PartChecksum::Crc32,
    PartChecksum::Sha256,
];

/// The checksum kept at `path_of(algorithm)` for whichever algorithm has a file.
pub(super) async fn read_checksum(
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
pub(super) fn verify_checksum(
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
            Some((PartChecksum::Crc64Nvme, v)) => $out.checksum_crc64nvme = Some(v),
            None => {}
        }
    };
}
pub(super) use set_checksum;

/// The checksum type S3 reports beside an object's checksum made with `alg`.
pub(super) fn checksum_type(alg: PartChecksum) -> ChecksumType {
    ChecksumType::from_static(if alg.full_object() {
        ChecksumType::FULL_OBJECT
    } else {
        ChecksumType::COMPOSITE
    })
}

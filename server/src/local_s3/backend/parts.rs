//! Multipart uploads in the embedded endpoint: each part's ETag and checksum recorded as it
//! arrives (ListParts reports them; s3s-fs 0.14 does not), and CompleteMultipartUpload joining
//! the parts itself ([`LocalS3::assemble`]) after checking each part's ETag and checksum.
use std::path::PathBuf;

use base64::Engine as _;

use app::uploads::PartChecksum;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use super::checksums::{ALGORITHMS, checksum_type, read_checksum, set_checksum};
use super::glacier::ObjectState;
use super::store::LocalS3;

impl LocalS3 {
    /// Whether s3s-fs knows this multipart upload (it keeps `.upload-<id>.json` until the
    /// upload completes or is aborted).
    pub(super) async fn upload_exists(&self, upload_id: &str) -> bool {
        is_upload_id(upload_id)
            && tokio::fs::try_exists(self.root.join(format!(".upload-{upload_id}.json")))
                .await
                .unwrap_or(false)
    }

    pub(super) fn part_etag_path(&self, upload_id: &str, part: i32) -> Option<PathBuf> {
        is_upload_id(upload_id).then(|| self.parts_dir.join(upload_id).join(part.to_string()))
    }

    /// `<parts_dir>/<upload id>/<part>.<crc32|sha256>`: the checksum a part was verified
    /// against, the extension naming its algorithm.
    pub(super) fn part_checksum_path(
        &self,
        upload_id: &str,
        part: i32,
        alg: PartChecksum,
    ) -> Option<PathBuf> {
        is_upload_id(upload_id).then(|| {
            self.parts_dir
                .join(upload_id)
                .join(format!("{part}.{}", alg.name().to_ascii_lowercase()))
        })
    }

    /// Records a stored part's ETag (and the checksum it was verified against, if any) for
    /// ListParts and CompleteMultipartUpload.
    pub(super) async fn record_part(
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
    pub(super) async fn upload_algorithm(&self, upload_id: &str) -> Option<PartChecksum> {
        let dir = self.part_etag_path(upload_id, 0)?.parent()?.to_owned();
        let name = tokio::fs::read_to_string(dir.join("algorithm"))
            .await
            .ok()?;
        PartChecksum::from_name(&name)
    }

    pub(super) async fn part_checksum(
        &self,
        upload_id: &str,
        part: i32,
    ) -> Option<(PartChecksum, String)> {
        read_checksum(|alg| self.part_checksum_path(upload_id, part, alg)).await
    }
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
pub(crate) fn is_upload_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl LocalS3 {
    pub(super) async fn complete_upload(
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
                    PartChecksum::Crc64Nvme => p.checksum_crc64nvme.as_ref(),
                };
                // A full-object upload's listed parts may leave their checksums out.
                let sent_ok = match sent_sum {
                    None => alg.full_object(),
                    Some(s) => stored_sum.as_ref().map(|(_, v)| v) == Some(s),
                };
                let Some((_, stored_sum)) = stored_sum.filter(|_| sent_ok) else {
                    return Err(s3_error!(
                        InvalidPart,
                        "part {n}'s checksum differs from the one it was stored with"
                    ));
                };
                // Its length, for a full-object CRC (s3s-fs keeps the part as a file).
                let len = match uuid::Uuid::parse_str(&upload_id) {
                    Ok(u) => {
                        tokio::fs::metadata(self.root.join(format!(".upload_id-{u}.part-{n}")))
                            .await
                            .map(|m| m.len() as i64)
                            .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?
                    }
                    Err(_) => return Err(s3_error!(NoSuchUpload)),
                };
                checksums.push((stored_sum, len));
            }
        }
        // An upload made with a checksum algorithm gets S3's checksum of the object: the whole
        // object's CRC64NVME combined from its parts' (FULL_OBJECT), or the composite one.
        let composite = match algorithm {
            Some(alg) if !checksums.is_empty() => alg.object_checksum(&checksums).map(|v| (alg, v)),
            _ => None,
        };
        // The whole object's checksum the client expects, checked before anything is joined:
        // a wrong one fails the completion and leaves the upload open, as S3 does.
        let sent_whole = req.input.checksum_crc64nvme.clone();
        if let Some(sent) = &sent_whole {
            match &composite {
                Some((PartChecksum::Crc64Nvme, have)) if have == sent => {}
                Some((PartChecksum::Crc64Nvme, have)) => {
                    return Err(s3_error!(
                        BadDigest,
                        "The CRC64NVME you specified ({sent}) did not match the calculated checksum ({have})."
                    ));
                }
                _ => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "This upload was not made with the CRC64NVME full-object checksum."
                    ));
                }
            }
        }
        // S3 answers with the object's URL (clients such as Uppy's require it).
        let location = {
            let host = req
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
                .to_string();
            let key_path: String = key
                .split('/')
                .map(|p| urlencoding::encode(p).into_owned())
                .collect::<Vec<_>>()
                .join("/");
            format!("http://{host}/{bucket}/{key_path}")
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
        if out.output.location.is_none() {
            out.output.location = Some(location);
        }
        if let Some((alg, _)) = &composite {
            out.output.checksum_type = Some(checksum_type(*alg));
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
}

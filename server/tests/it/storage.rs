//! `core::Storage` against a real S3: the embedded endpoint by default, moto server when
//! `TEST_S3_ENDPOINT` is set (scripts/test runs both), so the app's S3 code is not tuned to
//! our own endpoint.
use crate::support::{TestApp, random_bytes, using_external_s3};
use app::core::storage::PresignedPut;
use app::uploads::PartChecksum;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

async fn put_part(url: &PresignedPut, bytes: &[u8]) -> String {
    let mut req = reqwest::Client::new()
        .put(&url.url)
        .header("content-type", "application/octet-stream");
    for (k, v) in &url.headers {
        req = req.header(k, v);
    }
    let r = req.body(bytes.to_vec()).send().await.unwrap();
    assert!(
        r.status().is_success(),
        "{}: {}",
        r.status(),
        r.text().await.unwrap_or_default()
    );
    r.headers()["etag"].to_str().unwrap().to_string()
}

/// Starts a multipart upload of `key` and stores one 5-byte part through a presigned URL.
async fn upload_hello(s: &app::core::Storage, key: &str) -> String {
    let crc = PartChecksum::Crc32;
    let upload = s
        .create_multipart(key, "text/plain", "STANDARD", crc)
        .await
        .unwrap();
    let url = s
        .presign_upload_part(key, &upload, 1, 5, Some((crc, &crc.of(b"hello"))), 300)
        .await
        .unwrap();
    put_part(&url, b"hello").await;
    upload
}

#[tokio::test]
async fn storage_multipart_round_trip() {
    let app = TestApp::spawn().await;
    let s = &app.state.storage;
    s.ensure_bucket().await.unwrap();
    s.ensure_bucket().await.unwrap(); // idempotent
    s.ping().await.unwrap();
    // CRC64NVME full-object (what uploads use), CRC32 and SHA-256 parts (uploads started
    // before).
    round_trip(s, "ws/w/v/round-trip-crc64", PartChecksum::Crc64Nvme).await;
    round_trip(s, "ws/w/v/round-trip", PartChecksum::Crc32).await;
    round_trip(s, "ws/w/v/round-trip-sha", PartChecksum::Sha256).await;
}

async fn round_trip(s: &app::core::Storage, key: &str, alg: PartChecksum) {
    let bytes = random_bytes(13 * MIB);
    let part = 8 * MIB;
    let upload = s
        .create_multipart(key, "application/octet-stream", "STANDARD", alg)
        .await
        .unwrap();
    let (s1, s2) = (alg.of(&bytes[..part]), alg.of(&bytes[part..]));
    let u1 = s
        .presign_upload_part(key, &upload, 1, part as i64, Some((alg, &s1)), 300)
        .await
        .unwrap();
    let u2 = s
        .presign_upload_part(
            key,
            &upload,
            2,
            (bytes.len() - part) as i64,
            Some((alg, &s2)),
            300,
        )
        .await
        .unwrap();
    let e1 = put_part(&u1, &bytes[..part]).await;
    let e2 = put_part(&u2, &bytes[part..]).await;

    // moto 5.2.5 answers ListParts under a `ListPartsResponse` root that aws-sdk-s3 refuses
    // (real S3 and our endpoint say `ListPartsResult`); boto3 tolerates it, so moto's
    // ListParts is covered by tests/s3_clients instead.
    if !using_external_s3() {
        let listed = s.list_parts(key, &upload).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            (listed[0].number, listed[0].size, listed[0].etag.as_str()),
            (1, part as i64, e1.as_str())
        );
        assert_eq!(
            (listed[1].number, listed[1].size, listed[1].etag.as_str()),
            (2, (bytes.len() - part) as i64, e2.as_str())
        );
        assert_eq!(listed[0].checksum.as_deref(), Some(s1.as_str()));
    }

    let lens = [part as i64, (bytes.len() - part) as i64];
    let want = alg
        .object_checksum(&[(s1.clone(), lens[0]), (s2.clone(), lens[1])])
        .unwrap();
    let whole = alg.full_object().then_some(want.as_str());
    if let Some(whole) = whole {
        // The combined CRC is the CRC of every byte, computed without reading them again.
        assert_eq!(whole, alg.of(&bytes));
    }
    s.complete_multipart(
        key,
        &upload,
        &[(1, e1, Some(s1.clone())), (2, e2, Some(s2.clone()))],
        alg,
        whole,
    )
    .await
    .unwrap();
    let head = s.head(key).await.unwrap().expect("object exists");
    assert_eq!(head.size, bytes.len() as i64);
    // S3's object checksum: CRC64NVME of the whole object (FULL_OBJECT), or the checksum of
    // the parts' checksums, then the part count (COMPOSITE).
    if let Some(sum) = &head.checksum {
        assert!(app::uploads::same_composite(sum, &want), "{sum} vs {want}");
        if alg.full_object() {
            assert_eq!(sum, &want);
            assert_eq!(head.checksum_type.as_deref(), Some("FULL_OBJECT"));
        }
    } else {
        assert!(using_external_s3(), "the embedded endpoint keeps checksums");
    }
    assert_eq!(head.storage_class, "STANDARD");
    // S3's multipart ETag: the MD5 of the parts' MD5s, then the part count.
    let want_etag = {
        use md5::Digest;
        let mut md5s = md5::Md5::digest(&bytes[..part]).to_vec();
        md5s.extend_from_slice(&md5::Md5::digest(&bytes[part..]));
        format!("{}-2", hex::encode(md5::Md5::digest(&md5s)))
    };
    assert_eq!(
        head.etag.as_deref().map(|e| e.trim_matches('"')),
        Some(want_etag.as_str())
    );

    let url = s.presign_get(key, "round trip.bin", 60).await.unwrap();
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), 200);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("round trip.bin")
    );
    assert_eq!(
        Sha256::digest(got.bytes().await.unwrap()),
        Sha256::digest(&bytes)
    );

    s.delete(key).await.unwrap();
    assert_eq!(s.head(key).await.unwrap(), None);
}

#[tokio::test]
async fn storage_abort_drops_the_parts() {
    let app = TestApp::spawn().await;
    let s = &app.state.storage;
    let key = "ws/w/v/aborted";
    let upload = upload_hello(s, key).await;
    s.abort_multipart(key, &upload).await.unwrap();
    assert!(
        s.list_parts(key, &upload).await.is_err(),
        "the upload is gone"
    );
    assert_eq!(s.head(key).await.unwrap(), None);
}

#[tokio::test]
async fn storage_refuses_to_complete_with_a_wrong_etag() {
    let app = TestApp::spawn().await;
    let s = &app.state.storage;
    let key = "ws/w/v/wrong-etag";
    let upload = upload_hello(s, key).await;
    let err = s
        .complete_multipart(
            key,
            &upload,
            &[(
                1,
                "\"00000000000000000000000000000000\"".into(),
                Some(PartChecksum::Crc32.of(b"hello")),
            )],
            PartChecksum::Crc32,
            None,
        )
        .await;
    assert!(
        matches!(err, Err(app::error::AppError::Invalid { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn storage_refuses_a_part_whose_bytes_do_not_match_the_signed_checksum() {
    if using_external_s3() {
        return; // moto 5.2.5 does not check part checksums (real S3 and ours do)
    }
    let app = TestApp::spawn().await;
    for crc in [PartChecksum::Crc64Nvme, PartChecksum::Crc32] {
        refuses_a_bad_part(&app.state.storage, crc).await;
    }
}

async fn refuses_a_bad_part(s: &app::core::Storage, crc: PartChecksum) {
    let key = &format!("ws/w/v/bad-digest-{}", crc.name());
    let upload = s
        .create_multipart(key, "text/plain", "STANDARD", crc)
        .await
        .unwrap();
    let url = s
        .presign_upload_part(key, &upload, 1, 5, Some((crc, &crc.of(b"hello"))), 300)
        .await
        .unwrap();
    assert!(
        url.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(crc.header())),
        "the checksum is a header the PUT must send: {:?}",
        url.headers
    );
    // …and one the signature covers: a PUT cannot drop or change it.
    let signed = url
        .url
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("X-Amz-SignedHeaders="))
        .map(|v| urlencoding::decode(v).unwrap().into_owned())
        .unwrap_or_default();
    assert!(
        signed.split(';').any(|h| h == crc.header()),
        "{} is in SignedHeaders: {signed}",
        crc.header()
    );
    let mut req = reqwest::Client::new()
        .put(&url.url)
        .header("content-type", "application/octet-stream");
    for (k, v) in &url.headers {
        req = req.header(k, v);
    }
    let r = req.body(b"jello".to_vec()).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("BadDigest") || body.contains("Checksum"),
        "{body}"
    );
    if !using_external_s3() {
        assert!(
            s.list_parts(key, &upload).await.unwrap().is_empty(),
            "the bad part was not kept"
        );
    }
    // The right bytes go in.
    put_part(&url, b"hello").await;
}

/// A full-object CRC64NVME that is not the parts' combined CRC fails the completion
/// (BadDigest, as S3) and leaves the upload open, so the right one still completes it. moto
/// does not check the whole-object value (the server's HeadObject check catches it there:
/// tests/it/engine.rs).
#[tokio::test]
async fn storage_refuses_a_wrong_full_object_checksum() {
    let app = TestApp::spawn().await;
    let s = &app.state.storage;
    let key = "ws/w/v/wrong-whole";
    let alg = PartChecksum::Crc64Nvme;
    let bytes = random_bytes(6 * MIB);
    let upload = s
        .create_multipart(key, "application/octet-stream", "STANDARD", alg)
        .await
        .unwrap();
    let sum = alg.of(&bytes);
    let url = s
        .presign_upload_part(key, &upload, 1, bytes.len() as i64, Some((alg, &sum)), 300)
        .await
        .unwrap();
    let etag = put_part(&url, &bytes).await;
    let parts = [(1, etag, Some(sum.clone()))];
    if !using_external_s3() {
        let wrong = alg.of(b"other bytes");
        let err = s
            .complete_multipart(key, &upload, &parts, alg, Some(&wrong))
            .await;
        assert!(
            matches!(err, Err(app::error::AppError::Invalid { .. })),
            "{err:?}"
        );
        assert_eq!(s.head(key).await.unwrap(), None, "nothing was stored");
    }
    s.complete_multipart(key, &upload, &parts, alg, Some(&sum))
        .await
        .unwrap();
    let head = s.head(key).await.unwrap().expect("stored");
    assert_eq!(head.checksum.as_deref(), Some(sum.as_str()));
}

/// The embedded endpoint's lifecycle: a multipart upload nothing touched for the idle time is
/// aborted (parts gone, S3 answers NoSuchUpload), a fresh one is kept, and what a killed
/// process left (temporary files, the records of a completed upload) is removed.
#[tokio::test]
async fn the_embedded_endpoint_aborts_idle_multipart_uploads() {
    if using_external_s3() {
        return; // S3 does this with a bucket lifecycle rule (README)
    }
    let app = TestApp::spawn().await;
    let st = &app.state;
    let client = st.storage.client();
    let bucket = &st.config.s3.bucket;
    let mut ids = vec![];
    for key in ["orphan-a", "orphan-b"] {
        let up = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let id = up.upload_id.unwrap();
        client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(1)
            .body(random_bytes(1000).into())
            .send()
            .await
            .unwrap();
        ids.push((key, id));
    }
    let root = st.config.data_dir.join("s3");
    let leftover = root.join("buckets").join(".tmp.99.internal.part");
    std::fs::write(&leftover, b"half written").unwrap();
    // The endpoint's own records of an upload s3s-fs completed just before a kill.
    let stale_parts = root.join("parts").join(uuid::Uuid::new_v4().to_string());
    std::fs::create_dir_all(&stale_parts).unwrap();
    std::fs::write(stale_parts.join("1"), b"\"etag\"").unwrap();
    let week = std::time::Duration::from_secs(7 * 86_400);
    let now = std::time::SystemTime::now();
    // Now: both are fresh; only the leftover goes (at start).
    let s = server::local_s3::sweep::sweep(&root, week, now, true).unwrap();
    assert_eq!((s.uploads_aborted, s.files_removed), (0, 1));
    assert!(!leftover.exists());
    // Eight days on: both idle past a week, aborted.
    let later = now + std::time::Duration::from_secs(8 * 86_400);
    let s = server::local_s3::sweep::sweep(&root, week, later, false).unwrap();
    assert_eq!(s.uploads_aborted, 3, "{s:?}");
    assert!(!stale_parts.exists());
    for (key, id) in ids {
        let r = client
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .send()
            .await;
        assert!(r.is_err(), "{key}: the upload is gone");
        assert!(!root.join("parts").join(&id).exists());
    }
    // Objects are untouched by it.
    let left: Vec<_> = std::fs::read_dir(root.join("buckets"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("upload"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

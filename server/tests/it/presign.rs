//! A presigned part URL names one exact key, part and size, and dies at its expiry: it cannot
//! be bent to another key, used late, re-signed by hand, or carry other bytes. Checked against
//! the embedded endpoint (moto checks no signatures, so these skip there).
use crate::support::{TestApp, put_part, using_external_s3};
use std::time::{Duration, SystemTime};

/// Starts a one-part upload of `size` bytes of 7s and signs its part: (upload id, URL, the
/// part URL as JSON).
async fn one_part_upload(app: &TestApp, size: usize) -> (String, String, serde_json::Value) {
    let c = app.client();
    let vault = c
        .sign_up(&format!("p{}@example.com", uuid::Uuid::now_v7().simple()))
        .await;
    let s = size.to_string();
    let t = c.start_upload(&vault, "p.bin", &s, "").await;
    let upload_id = t.body["upload_id"].as_str().unwrap().to_string();
    let urls = c
        .presign_bytes(&upload_id, size, &vec![7; size], &[1])
        .await;
    assert_eq!(urls.status, 200);
    let part = urls.body[0].clone();
    (upload_id, part["url"].as_str().unwrap().to_string(), part)
}

/// PUTs `body` to `url` with the headers `part` signs.
async fn put(part: &serde_json::Value, url: &str, body: Vec<u8>) -> (u16, String) {
    let mut part = part.clone();
    part["url"] = url.into();
    let r = put_part(&part, body).await;
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn a_part_url_signs_key_size_and_a_short_life() {
    let app = TestApp::spawn().await;
    let (_, url, part) = one_part_upload(&app, 1000).await;
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert!(
        part["headers"]
            .to_string()
            .contains("x-amz-checksum-crc64nvme"),
        "{part}"
    );
    let signed = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        signed.contains("content-length") && signed.contains("host"),
        "{signed}"
    );
    assert!(url.contains("partNumber=1") && url.contains("uploadId="));
}

#[tokio::test]
async fn a_part_url_cannot_be_used_for_another_key() {
    if using_external_s3() {
        return;
    }
    let app = TestApp::spawn().await;
    let (_, url, part) = one_part_upload(&app, 1000).await;
    let (path, query) = url.split_once('?').unwrap();
    let other = format!("{}x?{query}", path);
    let (status, body) = put(&part, &other, vec![7; 1000]).await;
    assert_eq!(status, 403, "{body}");
    // The URL as given works.
    assert_eq!(put(&part, &url, vec![7; 1000]).await.0, 200);
}

#[tokio::test]
async fn a_part_url_with_a_changed_signature_or_size_is_refused() {
    if using_external_s3() {
        return;
    }
    let app = TestApp::spawn().await;
    let (_, url, part) = one_part_upload(&app, 1000).await;
    let last = url.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert_eq!(put(&part, &flipped, vec![7; 1000]).await.0, 403);
    // Another size than the one signed.
    assert_eq!(put(&part, &url, vec![7; 1001]).await.0, 403);
    assert_eq!(put(&part, &url, vec![7; 999]).await.0, 403);
}

#[tokio::test]
async fn an_expired_part_url_is_refused() {
    if using_external_s3() {
        return;
    }
    let app = TestApp::spawn().await;
    let (upload_id, _, part) = one_part_upload(&app, 1000).await;
    let (key, s3_upload) = app.s3_names(&upload_id).await;
    let signed_at = SystemTime::now() - Duration::from_secs(20 * 60);
    let sum = crate::support::part_sum(&[7; 1000]);
    let old = app
        .state
        .storage
        .presign_upload_part_at(
            &key,
            &s3_upload,
            1,
            1000,
            Some((app::uploads::UPLOAD_PART_CHECKSUM, &sum)),
            900,
            Some(signed_at),
        )
        .await
        .unwrap();
    let (status, body) = put(&part, &old.url, vec![7; 1000]).await;
    assert_eq!(status, 403);
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn presigning_refuses_parts_outside_the_upload() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("range@example.com").await;
    let t = c.start_upload(&vault, "r.bin", "1000", "").await;
    let upload_id = t.body["upload_id"].as_str().unwrap();
    for parts in [
        serde_json::json!([{"number": 0, "checksum": crate::support::part_sum(b"")}]),
        serde_json::json!([{"number": 2, "checksum": crate::support::part_sum(b"")}]),
        serde_json::json!([{"number": 1, "checksum": "not base64 of a checksum"}]),
        serde_json::json!([{"number": 1}]),
        serde_json::json!([]),
    ] {
        let a = c
            .call_json(
                "presign_parts",
                serde_json::json!({"upload_id": upload_id, "parts": parts}),
            )
            .await;
        assert_eq!(a.status, 422, "{parts}: {:?}", a.body);
    }
}

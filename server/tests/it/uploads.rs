//! The first upload path over HTTP: start, presign, PUT parts straight to S3, complete, list,
//! download through a presigned GET.
use crate::support::{TestApp, random_bytes, upload, upload_parts};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_multipart_upload_is_verified_listed_and_downloaded() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("up@example.com").await;
    let bytes = random_bytes(17 * MIB + 123);
    let file = upload(&c, &vault, "Réunion 2026.bin", &bytes).await;
    assert_eq!(file["state"], "available");
    assert_eq!(file["size"], bytes.len() as i64);
    assert_eq!(file["storage_class"], "STANDARD");

    let list = c.list_files(&vault).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Réunion 2026.bin");
    let v = c.call("get_vault", &[("vault_id", &vault)]).await.body;
    assert_eq!(v["file_count"], 1);
    assert_eq!(v["total_bytes"], bytes.len() as i64);

    // The download is a redirect to a short-lived presigned GET, never the bytes themselves.
    let id = file["id"].as_str().unwrap();
    let resp = c.get(&format!("/files/{id}/download")).await;
    assert_eq!(resp.status(), 303);
    let url = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        url.contains("X-Amz-Expires=900") && url.contains("X-Amz-Signature="),
        "{url}"
    );
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), 200);
    let cd = got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment;") && cd.contains("R%C3%A9union%202026.bin"),
        "{cd}"
    );
    let body = got.bytes().await.unwrap();
    assert_eq!(Sha256::digest(&body), Sha256::digest(&bytes));
}

#[tokio::test]
async fn completing_with_missing_parts_is_refused_and_the_file_stays_hidden() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("missing@example.com").await;
    let size = (20 * MIB).to_string();
    let t = c.start_upload(&vault, "a.bin", &size, "").await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    assert_eq!(t.body["part_count"], 3);
    let upload_id = t.body["upload_id"].as_str().unwrap();
    let done = c
        .call_json(
            "complete_upload",
            serde_json::json!({"upload_id": upload_id, "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "parts": [{"number": 1, "etag": "\"x\""}]}),
        )
        .await;
    assert_eq!(done.status, 422);
    assert!(
        done.message().contains("Expected parts 1 to 3"),
        "{}",
        done.message()
    );
    // Parts S3 never received are refused by S3 itself.
    let parts: Vec<_> = (1..=3)
        .map(|n| serde_json::json!({"number": n, "etag": "\"0123\""}))
        .collect();
    let done = c
        .call_json(
            "complete_upload",
            serde_json::json!({"upload_id": upload_id, "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "parts": parts}),
        )
        .await;
    assert_eq!(done.status, 422, "{:?}", done.body);
    let list = c.list_files(&vault).await.body;
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "an unfinished upload is not listed"
    );
    assert_eq!(
        c.get(&format!(
            "/files/{}/download",
            t.body["file_id"].as_str().unwrap()
        ))
        .await
        .status(),
        409
    );
}

#[tokio::test]
async fn an_aborted_upload_leaves_nothing() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("abort@example.com").await;
    let t = c.start_upload(&vault, "b.bin", "100", "text/plain").await;
    let upload_id = t.body["upload_id"].as_str().unwrap();
    assert_eq!(
        c.call("abort_upload", &[("upload_id", upload_id)])
            .await
            .status,
        200
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        c.call("abort_upload", &[("upload_id", upload_id)])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn bad_upload_requests_are_refused_before_any_byte_moves() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("bad@example.com").await;
    for (name, size, ct, field) in [
        ("", "10", "", "name"),
        ("a/b", "10", "", "name"),
        ("ok.bin", "-1", "", "size"),
        ("ok.bin", "6000000000000", "", "size"),
        ("ok.bin", "10", "not a type", "content_type"),
    ] {
        let a = c.start_upload(&vault, name, size, ct).await;
        assert_eq!(a.status, 422, "{name:?} {size}: {:?}", a.body);
        assert_eq!(a.body["Invalid"]["field"], field);
    }
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM uploads")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn completing_twice_at_once_completes_once() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("twice@example.com").await;
    let bytes = random_bytes(3000);
    let (upload_id, parts) = upload_parts(&c, &vault, "t.bin", &bytes).await;
    let (a, b) = tokio::join!(
        c.complete(&upload_id, &bytes, &parts, None),
        c.complete(&upload_id, &bytes, &parts, None)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{:?} {:?}", a.body, b.body);
    let list = c.list_files(&vault).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["state"], "available");
}

#[tokio::test]
async fn completing_and_cancelling_at_once_do_not_both_act() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("race@example.com").await;
    let bytes = random_bytes(3000);
    let (upload_id, parts) = upload_parts(&c, &vault, "r.bin", &bytes).await;
    let cancel_form = [("upload_id", upload_id.as_str())];
    let (done, cancelled) = tokio::join!(
        c.complete(&upload_id, &bytes, &parts, None),
        c.call("abort_upload", &cancel_form)
    );
    let files = c.list_files(&vault).await.body;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    match (done.status, cancelled.status) {
        (200, 409) => assert_eq!(files.as_array().unwrap().len(), 1),
        // The cancel won: the completion found the upload taken (409) or already gone (404).
        (409 | 404, 200) => assert_eq!(n, 0, "the cancelled file is gone"),
        other => panic!(
            "both or neither acted: {other:?} {:?} {:?}",
            done.body, cancelled.body
        ),
    }
}

#[tokio::test]
async fn an_upload_left_unfinished_expires_and_is_aborted() {
    let app = TestApp::spawn_with(|c| c.session_ttl_hours = 24 * 30).await;
    let c = app.client();
    let vault = c.sign_up("late@example.com").await;
    let bytes = random_bytes(2000);
    let (upload_id, parts) = upload_parts(&c, &vault, "late.bin", &bytes).await;
    // Nothing to sweep yet.
    assert_eq!(
        app::uploads::service::abort_expired_uploads(&app.state)
            .await
            .unwrap(),
        0
    );
    app.clock.advance_ms(7 * 24 * 3_600_000 + 1000);
    let presign = c.presign(&upload_id, &[1]).await;
    assert_eq!(presign.status, 409);
    assert!(
        presign.message().contains("expired"),
        "{}",
        presign.message()
    );
    assert_eq!(
        c.complete(&upload_id, &bytes, &parts, None).await.status,
        409
    );
    let (key, s3_upload) = app.s3_names(&upload_id).await;
    assert_eq!(
        app::uploads::service::abort_expired_uploads(&app.state)
            .await
            .unwrap(),
        1
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM uploads")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert!(
        app.state
            .storage
            .list_parts(&key, &s3_upload)
            .await
            .is_err(),
        "S3 dropped the parts"
    );
    assert_eq!(
        app::uploads::service::abort_expired_uploads(&app.state)
            .await
            .unwrap(),
        0
    );
}

/// An empty file is a file: it uploads (one empty part), is listed and downloads empty.
#[tokio::test]
async fn an_empty_file_uploads_and_downloads_empty() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("empty@example.com").await;
    let f = upload(&c, &vault, "empty.txt", &[]).await;
    assert_eq!(f["size"], 0, "{f}");
    let r = c
        .get(&format!("/files/{}/download", f["id"].as_str().unwrap()))
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
}

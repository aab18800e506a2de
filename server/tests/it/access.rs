//! User B cannot see or touch anything of user A's, at the HTTP level. Everything answers
//! "not found", so B cannot even learn that A's things exist.
use crate::support::{TestApp, random_bytes, upload};

#[tokio::test]
async fn user_b_cannot_list_download_complete_or_presign_anything_of_user_a() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let a_vault = a.sign_up("a@example.com").await;
    let a_file = upload(&a, &a_vault, "secret.bin", &random_bytes(1000)).await;
    let a_file_id = a_file["id"].as_str().unwrap();
    let t = a.start_upload(&a_vault, "wip.bin", "10", "").await;
    let a_upload = t.body["upload_id"].as_str().unwrap();

    let b = app.client();
    let b_vault = b.sign_up("b@example.com").await;
    let vaults = b.call("list_vaults", &[]).await.body;
    assert_eq!(vaults.as_array().unwrap().len(), 1);
    assert_eq!(vaults[0]["id"], b_vault.as_str());

    assert_eq!(
        b.call("get_vault", &[("vault_id", &a_vault)]).await.status,
        404
    );
    assert_eq!(b.list_files(&a_vault).await.status, 404);
    assert_eq!(
        b.get(&format!("/files/{a_file_id}/download"))
            .await
            .status(),
        404
    );
    let start = b.start_upload(&a_vault, "x", "1", "").await;
    assert_eq!(start.status, 404);
    let presign = b.presign(a_upload, &[1]).await;
    assert_eq!(presign.status, 404);
    assert!(!presign.body.to_string().contains("X-Amz-Signature"));
    let complete = b
        .call_json(
            "complete_upload",
            serde_json::json!({"upload_id": a_upload, "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "parts": [{"number": 1, "etag": "\"e\""}]}),
        )
        .await;
    assert_eq!(complete.status, 404);
    assert_eq!(
        b.call("abort_upload", &[("upload_id", a_upload)])
            .await
            .status,
        404
    );

    // A still has everything.
    assert_eq!(
        a.list_files(&a_vault).await.body.as_array().unwrap().len(),
        1
    );
    assert_eq!(a.presign(a_upload, &[1]).await.status, 200);
}

#[tokio::test]
async fn signed_out_visitors_get_nothing() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let a_vault = a.sign_up("owner@example.com").await;
    let anon = app.client();
    assert_eq!(anon.call("list_vaults", &[]).await.status, 401);
    assert_eq!(anon.list_files(&a_vault).await.status, 401);
    let start = anon.start_upload(&a_vault, "x", "1", "").await;
    assert_eq!(start.status, 401);
}

//! Glacier behaviour of S3 as the app will rely on it, against the embedded endpoint and
//! (scripts/test) moto server: an object keeps its storage class, CopyObject onto itself
//! changes it, an archived object cannot be read until restored, RestoreObject answers 202
//! and then 409 while in progress, HeadObject reports the restore, and a restored copy reads.
//! Where moto differs (its restores finish at once), the test says so.
use crate::support::{TestApp, random_bytes, using_external_s3};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{GlacierJobParameters, RestoreRequest, StorageClass, Tier};

async fn put(app: &TestApp, key: &str, class: Option<StorageClass>, bytes: &[u8]) {
    app.state
        .storage
        .client()
        .put_object()
        .bucket(&app.state.storage.bucket)
        .key(key)
        .set_storage_class(class)
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .unwrap();
}

async fn head(app: &TestApp, key: &str) -> (Option<StorageClass>, Option<String>) {
    let h = app
        .state
        .storage
        .client()
        .head_object()
        .bucket(&app.state.storage.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    (h.storage_class().cloned(), h.restore().map(str::to_string))
}

/// GET's outcome: the bytes, or the error code.
async fn get(app: &TestApp, key: &str) -> Result<Vec<u8>, String> {
    match app
        .state
        .storage
        .client()
        .get_object()
        .bucket(&app.state.storage.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(o) => Ok(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) => Err(e.code().unwrap_or("?").to_string()),
    }
}

/// RestoreObject's outcome: the HTTP status, or the error code.
async fn restore(app: &TestApp, key: &str, tier: Tier, days: i32) -> Result<u16, String> {
    let req = RestoreRequest::builder()
        .days(days)
        .glacier_job_parameters(GlacierJobParameters::builder().tier(tier).build().unwrap())
        .build();
    let r = app
        .state
        .storage
        .client()
        .restore_object()
        .bucket(&app.state.storage.bucket)
        .key(key)
        .restore_request(req)
        .send()
        .await;
    match r {
        Ok(_) => Ok(202), // the SDK hides 200/202; the raw status is checked below where it matters
        Err(e) => Err(e.code().unwrap_or("?").to_string()),
    }
}

#[tokio::test]
async fn copy_onto_itself_changes_the_class_and_an_archived_object_is_not_readable() {
    let app = TestApp::spawn().await;
    let bytes = random_bytes(5000);
    put(&app, "g/a.bin", None, &bytes).await;
    let (class, restore_state) = head(&app, "g/a.bin").await;
    assert!(
        class.is_none() || class == Some(StorageClass::Standard),
        "{class:?}"
    );
    assert!(restore_state.is_none());
    assert_eq!(get(&app, "g/a.bin").await.unwrap(), bytes);

    let s = &app.state.storage;
    s.client()
        .copy_object()
        .bucket(&s.bucket)
        .key("g/a.bin")
        .copy_source(format!("{}/g/a.bin", s.bucket))
        .storage_class(StorageClass::DeepArchive)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head(&app, "g/a.bin").await.0,
        Some(StorageClass::DeepArchive)
    );
    assert_eq!(
        get(&app, "g/a.bin").await.err().as_deref(),
        Some("InvalidObjectState")
    );
    // Nor can it be copied out while archived.
    let copy = s
        .client()
        .copy_object()
        .bucket(&s.bucket)
        .key("g/b.bin")
        .copy_source(format!("{}/g/a.bin", s.bucket))
        .send()
        .await;
    assert_eq!(
        copy.err()
            .and_then(|e| e.code().map(str::to_string))
            .as_deref(),
        Some("ObjectNotInActiveTierError")
    );
    // Standard-IA and Glacier IR read at once.
    put(&app, "g/ia.bin", Some(StorageClass::StandardIa), &bytes).await;
    put(&app, "g/ir.bin", Some(StorageClass::GlacierIr), &bytes).await;
    assert_eq!(
        head(&app, "g/ir.bin").await.0,
        Some(StorageClass::GlacierIr)
    );
    assert_eq!(get(&app, "g/ia.bin").await.unwrap(), bytes);
    assert_eq!(get(&app, "g/ir.bin").await.unwrap(), bytes);
    // Restoring an object that is not archived is refused.
    assert_eq!(
        restore(&app, "g/ia.bin", Tier::Standard, 1)
            .await
            .err()
            .as_deref(),
        Some("InvalidObjectState")
    );
}

#[tokio::test]
async fn a_restore_is_in_progress_then_ready_and_the_copy_reads() {
    let app = TestApp::spawn().await;
    let bytes = random_bytes(3000);
    put(&app, "g/cold.bin", Some(StorageClass::Glacier), &bytes).await;
    assert_eq!(
        head(&app, "g/cold.bin").await.0,
        Some(StorageClass::Glacier)
    );
    assert_eq!(
        get(&app, "g/cold.bin").await.err().as_deref(),
        Some("InvalidObjectState")
    );

    // The first request is accepted.
    assert_eq!(
        restore(&app, "g/cold.bin", Tier::Expedited, 2).await,
        Ok(202)
    );
    let (_, state) = head(&app, "g/cold.bin").await;
    let state = state.expect("x-amz-restore after a restore request");
    if state.contains("ongoing-request=\"true\"") {
        // While it runs: a second request is refused, and GET still is.
        assert_eq!(
            restore(&app, "g/cold.bin", Tier::Expedited, 2)
                .await
                .err()
                .as_deref(),
            Some("RestoreAlreadyInProgress")
        );
        assert_eq!(
            get(&app, "g/cold.bin").await.err().as_deref(),
            Some("InvalidObjectState")
        );
    } else {
        assert!(
            using_external_s3(),
            "the embedded endpoint takes its time: {state}"
        );
    }
    // Ready within the configured delay (2 s for Glacier Expedited by default).
    let mut ready = None;
    for _ in 0..100 {
        let (_, st) = head(&app, "g/cold.bin").await;
        if let Some(st) = st.filter(|s| s.contains("ongoing-request=\"false\"")) {
            ready = Some(st);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ready = ready.expect("the restore finishes");
    assert!(ready.contains("expiry-date="), "{ready}");
    assert_eq!(get(&app, "g/cold.bin").await.unwrap(), bytes);
    // The class stays; only a copy was restored.
    assert_eq!(
        head(&app, "g/cold.bin").await.0,
        Some(StorageClass::Glacier)
    );
}

#[tokio::test]
async fn a_file_uploaded_into_a_deep_archive_vault_is_archived_and_says_so_on_download() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("cold-vault@example.com").await;
    let set = c
        .call(
            "update_vault_settings",
            &[
                ("vault_id", vault.as_str()),
                ("default_storage_class", "DEEP_ARCHIVE"),
                ("allowed_types", ""),
                ("max_file_size_mb", ""),
            ],
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let file = crate::support::upload(&c, &vault, "frozen.bin", &random_bytes(4000)).await;
    assert_eq!(file["state"], "archived");
    assert_eq!(file["storage_class"], "DEEP_ARCHIVE");
    let r = c
        .get(&format!("/files/{}/download", file["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("archived in Glacier Deep Archive"), "{body}");
}

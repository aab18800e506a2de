//! The upload engine's server half: resume bookkeeping, per-part checksums, upload rules,
//! folders, duplicates, and that nobody but the uploader's workspace can touch an upload.
use crate::support::{
    Client, TestApp, part_sum, random_bytes, send_parts, sha_hex, upload, using_external_s3,
};

const MIB: usize = 1024 * 1024;

fn ticket(t: &crate::support::Answer) -> (String, usize, i64) {
    assert_eq!(t.status, 200, "start_upload: {:?}", t.body);
    (
        t.body["upload_id"].as_str().unwrap().to_string(),
        t.body["part_size"].as_i64().unwrap() as usize,
        t.body["part_count"].as_i64().unwrap(),
    )
}

async fn put_counts(app: &TestApp, upload_id: &str) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT CAST(part_number AS BIGINT), CAST(put_count AS BIGINT) FROM upload_parts
         WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(upload_id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_interrupted_upload_resumes_with_only_the_missing_parts() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("resume@example.com").await;
    let bytes = random_bytes(17 * MIB + 123);
    let t = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault, "name": "movie.mkv", "size": bytes.len(),
            "folder_path": "films/2026", "last_modified": 1_700_000_000_000i64,
        }))
        .await;
    let (upload_id, part_size, count) = ticket(&t);
    assert_eq!(count, 3);
    let mut parts = send_parts(&c, &upload_id, part_size, &bytes, &[1, 3]).await;

    // The page reloads: it lists the unfinished upload and asks what storage holds.
    let open = c.call("list_open_uploads", &[("vault_id", &vault)]).await;
    assert_eq!(open.status, 200, "{:?}", open.body);
    let open = &open.body[0];
    assert_eq!(open["upload_id"], upload_id.as_str());
    assert_eq!(open["name"], "movie.mkv");
    assert_eq!(open["folder_path"], "films/2026");
    assert_eq!(open["last_modified"], 1_700_000_000_000i64);
    assert_eq!(open["parts_stored"], 2);
    assert_eq!(
        open["bytes_stored"].as_i64().unwrap() as usize,
        part_size + (bytes.len() - 2 * part_size)
    );
    let info = c.call("resume_upload", &[("upload_id", &upload_id)]).await;
    assert_eq!(info.status, 200, "{:?}", info.body);
    let stored: Vec<i64> = info.body["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_i64().unwrap())
        .collect();
    if !using_external_s3() {
        assert_eq!(stored, [1, 3]);
        // Each stored part comes with the checksum it was stored with, so the browser can
        // check that the file picked again is the same file.
        assert_eq!(
            info.body["stored"][0]["checksum"],
            part_sum(&bytes[..part_size]).as_str()
        );
    }

    parts.extend(send_parts(&c, &upload_id, part_size, &bytes, &[2]).await);
    let parts = serde_json::Value::Array(parts);
    let done = c.complete(&upload_id, &bytes, &parts, None).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["folder_path"], "films/2026");
    assert_eq!(put_counts(&app, &upload_id).await, [(1, 1), (2, 1), (3, 1)]);
    let (sha,): (String,) = sqlx::query_as("SELECT sha256 FROM files WHERE id = $1")
        .bind(done.body["id"].as_str().unwrap())
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(sha, sha_hex(&bytes));
    let open = c.call("list_open_uploads", &[("vault_id", &vault)]).await;
    assert_eq!(open.body.as_array().unwrap().len(), 0);
    assert_eq!(
        c.call("resume_upload", &[("upload_id", &upload_id)])
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn a_part_stored_under_another_checksum_than_recorded_is_refused_at_completion() {
    if using_external_s3() {
        return; // moto checks no part checksums at completion
    }
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("sum@example.com").await;
    let bytes = random_bytes(4000);
    let (upload_id, part_size, _) = ticket(&c.start_upload(&vault, "s.bin", "4000", "").await);
    let parts = serde_json::Value::Array(send_parts(&c, &upload_id, part_size, &bytes, &[1]).await);
    // The part is signed again declaring other content: the record now says so.
    let other = c
        .presign_bytes(&upload_id, part_size, &random_bytes(4000), &[1])
        .await;
    assert_eq!(other.status, 200);
    let done = c.complete(&upload_id, &bytes, &parts, None).await;
    assert_eq!(done.status, 422, "{:?}", done.body);
    let list = c.list_files(&vault).await.body;
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "nothing half-checked is listed"
    );
    // The wrong bytes for a signed checksum never reach storage.
    let url = c
        .presign_bytes(&upload_id, part_size, &bytes, &[1])
        .await
        .body[0]
        .clone();
    let r = crate::support::put_part(&url, random_bytes(4000)).await;
    assert_eq!(r.status(), 400);
}

async fn set_rules(
    c: &Client,
    vault: &str,
    class: &str,
    types: &str,
    max_mb: &str,
) -> crate::support::Answer {
    set_settings(c, vault, class, types, max_mb, None).await
}

async fn set_settings(
    c: &Client,
    vault: &str,
    class: &str,
    types: &str,
    max_mb: &str,
    sha256_mode: Option<&str>,
) -> crate::support::Answer {
    let mut form = vec![
        ("vault_id", vault),
        ("default_storage_class", class),
        ("allowed_types", types),
        ("max_file_size_mb", max_mb),
    ];
    if let Some(m) = sha256_mode {
        form.push(("sha256_mode", m));
    }
    c.call("update_vault_settings", &form).await
}

#[tokio::test]
async fn vault_rules_refuse_an_upload_before_any_byte_moves() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("rules@example.com").await;
    let r = set_rules(&c, &vault, "STANDARD_IA", "image/*, .PDF", "1").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["allowed_types"], "image/*, .pdf");
    assert_eq!(r.body["max_file_size"], 1_000_000);
    assert_eq!(r.body["default_storage_class"], "STANDARD_IA");

    let big = c
        .start_upload(&vault, "huge.jpg", "1000001", "image/jpeg")
        .await;
    assert_eq!(big.status, 422);
    assert!(big.message().contains("up to 1.0 MB"), "{}", big.message());
    let exe = c
        .start_upload(&vault, "setup.exe", "10", "application/x-msdownload")
        .await;
    assert_eq!(exe.status, 422);
    assert!(
        exe.message()
            .contains("not a type this vault takes: image/*, .pdf"),
        "{}",
        exe.message()
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM uploads")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "no upload was started");

    // What the rules allow goes in, in the vault's default class.
    let f = upload(&c, &vault, "scan.pdf", &random_bytes(1000)).await;
    assert_eq!(f["storage_class"], "STANDARD_IA");
    assert!(
        upload_ok(&c, &vault, "photo.png", "image/png").await,
        "an image is allowed"
    );

    for (class, types, max, field) in [
        ("CHEAP", "", "", "default_storage_class"),
        ("STANDARD", "exe", "", "allowed_types"),
        ("STANDARD", "", "-5", "max_file_size"),
        ("STANDARD", "", "lots", "max_file_size"),
    ] {
        let r = set_rules(&c, &vault, class, types, max).await;
        assert_eq!(r.status, 422, "{class} {types} {max}");
        assert_eq!(r.body["Invalid"]["field"], field);
    }
    // Nobody else may change them.
    let b = app.client();
    b.sign_up("rules-b@example.com").await;
    assert_eq!(set_rules(&b, &vault, "STANDARD", "", "").await.status, 404);
}

async fn upload_ok(c: &Client, vault: &str, name: &str, ct: &str) -> bool {
    c.start_upload(vault, name, "10", ct).await.status == 200
}

#[tokio::test]
async fn folders_are_made_from_paths_and_bad_paths_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("folders@example.com").await;
    for path in ["a/b/c", "a/b", "a/b/c", "a/x"] {
        let t = c
            .start_upload_with(serde_json::json!({"vault_id": vault, "name": "f.txt", "size": 1, "folder_path": path}))
            .await;
        assert_eq!(t.status, 200, "{path}: {:?}", t.body);
    }
    let paths: Vec<(String,)> = sqlx::query_as("SELECT path FROM folders ORDER BY path")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let paths: Vec<&str> = paths.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(paths, ["a", "a/b", "a/b/c", "a/x"]);
    for bad in ["a/../b", "a/\u{7}/b"] {
        let t = c
            .start_upload_with(serde_json::json!({"vault_id": vault, "name": "f.txt", "size": 1, "folder_path": bad}))
            .await;
        assert_eq!(t.status, 422, "{bad}");
        assert_eq!(t.body["Invalid"]["field"], "folder_path");
    }
}

#[tokio::test]
async fn a_duplicate_is_found_and_the_person_chooses() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("dups@example.com").await;
    let bytes = random_bytes(5000);
    let sha = sha_hex(&bytes);
    let first = upload(&c, &vault, "song.mp3", &bytes).await;

    // Known before the upload (small files are hashed first).
    let start = |on_dup: Option<&str>, name: &str| {
        c.start_upload_with(serde_json::json!({
            "vault_id": vault, "name": name, "size": bytes.len(),
            "sha256": sha, "on_duplicate": on_dup,
        }))
    };
    let dup = start(None, "song copy.mp3").await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["Duplicate"]["name"], "song.mp3");
    assert_eq!(dup.body["Duplicate"]["file_id"], first["id"]);
    // In another folder it is no duplicate.
    let elsewhere = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault, "name": "song.mp3", "size": bytes.len(), "sha256": sha,
            "folder_path": "other",
        }))
        .await;
    assert_eq!(elsewhere.status, 200);

    // Keep both: the new one is renamed.
    let (up, ps, n) = ticket(&start(Some("KeepBoth"), "song.mp3").await);
    assert_eq!(n, 1);
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1]).await);
    let both = c.complete(&up, &bytes, &parts, Some("KeepBoth")).await;
    assert_eq!(both.status, 200, "{:?}", both.body);
    assert_eq!(both.body["name"], "song (2).mp3");

    // Found only at completion (large files are hashed while they upload).
    let (up, ps, _) = ticket(&c.start_upload(&vault, "song.mp3", "5000", "").await);
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1]).await);
    let dup = c.complete(&up, &bytes, &parts, None).await;
    assert_eq!(dup.status, 409, "{:?}", dup.body);
    assert!(dup.body["Duplicate"]["name"].is_string());
    // Replace: the new file takes the old ones' place.
    let replaced = c.complete(&up, &bytes, &parts, Some("Replace")).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    let list = c.list_files(&vault).await.body;
    let names: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["folder_path"].as_str().unwrap(),
                f["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("", "song (3).mp3")], "{list}");
}

#[tokio::test]
async fn user_b_cannot_resume_report_complete_or_cancel_user_a_s_upload() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let a_vault = a.sign_up("eng-a@example.com").await;
    let bytes = random_bytes(3000);
    let (upload_id, ps, _) = ticket(&a.start_upload(&a_vault, "a.bin", "3000", "").await);
    let parts = serde_json::Value::Array(send_parts(&a, &upload_id, ps, &bytes, &[1]).await);

    let b = app.client();
    b.sign_up("eng-b@example.com").await;
    let form = [("upload_id", upload_id.as_str())];
    assert_eq!(b.call("resume_upload", &form).await.status, 404);
    assert_eq!(b.call("abort_upload", &form).await.status, 404);
    assert_eq!(b.parts_done(&upload_id, &parts).await.status, 404);
    assert_eq!(
        b.complete(&upload_id, &bytes, &parts, None).await.status,
        404
    );
    assert_eq!(b.presign(&upload_id, &[1]).await.status, 404);
    assert_eq!(
        b.call("list_open_uploads", &[("vault_id", &a_vault)])
            .await
            .status,
        404
    );
    // A's upload is untouched and still A's to finish.
    assert_eq!(
        a.complete(&upload_id, &bytes, &parts, None).await.status,
        200
    );
}

/// The whole file's CRC64NVME as storage verified it, and the SHA-256, from the database.
async fn file_sums(app: &TestApp, file_id: &str) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT crc64nvme, sha256 FROM files WHERE id = $1")
        .bind(file_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn complete_without_sha(
    c: &Client,
    upload_id: &str,
    parts: &serde_json::Value,
    on_duplicate: Option<&str>,
) -> crate::support::Answer {
    c.call_json(
        "complete_upload",
        serde_json::json!({"upload_id": upload_id, "sha256": null, "parts": parts,
            "on_duplicate": on_duplicate}),
    )
    .await
}

/// New uploads: CRC64NVME parts, the whole object's CRC combined by the server (no byte read
/// twice), checked by storage and HeadObject, kept with the file; the SHA-256 optional at
/// completion and attached afterwards by its uploader, bound to the stored bytes by the CRC
/// of the same read; the vault's setting decides whether one is wanted.
#[tokio::test]
async fn full_object_crc64nvme_is_kept_and_a_sha256_can_follow() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("crc64@example.com").await;
    let bytes = random_bytes(17 * MIB + 5);
    let t = c
        .start_upload(&vault, "big.bin", &bytes.len().to_string(), "")
        .await;
    assert_eq!(t.body["checksum_algorithm"], "CRC64NVME");
    assert_eq!(t.body["record_sha256"], true, "auto: files up to 1 GiB");
    let (up, ps, n) = ticket(&t);
    assert_eq!(n, 3);
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1, 2, 3]).await);
    let done = complete_without_sha(&c, &up, &parts, None).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let id = done.body["id"].as_str().unwrap().to_string();
    let crc = app::uploads::PartChecksum::Crc64Nvme.of(&bytes);
    assert_eq!(file_sums(&app, &id).await, (Some(crc.clone()), None));
    let head = app
        .state
        .storage
        .head(&app.s3_key_of(&id).await)
        .await
        .unwrap()
        .unwrap();
    if !using_external_s3() || head.checksum.is_some() {
        assert_eq!(
            head.checksum.as_deref(),
            Some(crc.as_str()),
            "storage's own CRC"
        );
    }
    let details = c.call("file_details", &[("file_id", &id)]).await;
    assert_eq!(details.body["crc64nvme"], crc.as_str());
    assert!(details.body["sha256"].is_null());

    // The SHA-256 follows; one computed over other bytes (the CRC of that read differs) is
    // refused, a second different one too, the same one again is fine.
    let attach = |sha: String, crc: String| {
        let id = id.clone();
        let c = &c;
        async move {
            c.call(
                "attach_sha256",
                &[("file_id", &id), ("sha256", &sha), ("crc64nvme", &crc)],
            )
            .await
        }
    };
    let other = app::uploads::PartChecksum::Crc64Nvme.of(b"other");
    assert_eq!(attach(sha_hex(&bytes), other).await.status, 409);
    assert_eq!(attach("zz".into(), crc.clone()).await.status, 422);
    assert_eq!(attach(sha_hex(&bytes), crc.clone()).await.status, 200);
    assert_eq!(attach(sha_hex(&bytes), crc.clone()).await.status, 200);
    assert_eq!(attach(sha_hex(b"x"), crc.clone()).await.status, 409);
    assert_eq!(
        file_sums(&app, &id).await,
        (Some(crc.clone()), Some(sha_hex(&bytes)))
    );

    // Not while uploading.
    let t2 = c.start_upload(&vault, "c.bin", "100", "").await;
    let r = c
        .call(
            "attach_sha256",
            &[
                ("file_id", t2.body["file_id"].as_str().unwrap()),
                ("sha256", &sha_hex(b"c")),
                ("crc64nvme", &crc),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);

    // The vault's setting: never, always.
    let set = |mode: &'static str| {
        let (c, vault) = (&c, vault.clone());
        async move {
            let r = set_settings(c, &vault, "STANDARD", "", "", Some(mode)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    set("never").await;
    let t = c.start_upload(&vault, "n.bin", "10", "").await;
    assert_eq!(t.body["record_sha256"], false);
    set("always").await;
    let huge = (3i64 << 30).to_string();
    let t = c.start_upload(&vault, "h.bin", &huge, "").await;
    assert_eq!(t.body["record_sha256"], true);
    set("auto").await;
    let t = c.start_upload(&vault, "h2.bin", &huge, "").await;
    assert_eq!(t.body["record_sha256"], false, "auto: not above 1 GiB");
    let bad = set_settings(&c, &vault, "STANDARD", "", "", Some("sometimes")).await;
    assert_eq!(bad.status, 422);
}

/// Without any SHA-256 a duplicate is still found: by size and the CRC64NVME, before the
/// upload (a small file read first) and at completion.
#[tokio::test]
async fn duplicates_are_found_by_crc64nvme_without_a_sha256() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("crcdup@example.com").await;
    let bytes = random_bytes(9 * MIB);
    let (up, ps, _) = ticket(
        &c.start_upload(&vault, "a.bin", &bytes.len().to_string(), "")
            .await,
    );
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1, 2]).await);
    let first = complete_without_sha(&c, &up, &parts, None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let crc = app::uploads::PartChecksum::Crc64Nvme.of(&bytes);
    let dup = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault, "name": "b.bin", "size": bytes.len(), "crc64nvme": crc,
        }))
        .await;
    assert_eq!(dup.status, 409, "{:?}", dup.body);
    assert_eq!(dup.body["Duplicate"]["name"], "a.bin");
    // Another size with the same CRC is no duplicate.
    let other = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault, "name": "b.bin", "size": 10, "crc64nvme": crc,
        }))
        .await;
    assert_eq!(other.status, 200);
    let bad = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault, "name": "b.bin", "size": 10, "crc64nvme": "not base64!",
        }))
        .await;
    assert_eq!(bad.status, 422);
    // At completion.
    let (up, ps, _) = ticket(
        &c.start_upload(&vault, "c.bin", &bytes.len().to_string(), "")
            .await,
    );
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1, 2]).await);
    let dup = complete_without_sha(&c, &up, &parts, None).await;
    assert_eq!(dup.status, 409, "{:?}", dup.body);
    let keep = complete_without_sha(&c, &up, &parts, Some("KeepBoth")).await;
    assert_eq!(keep.status, 200, "{:?}", keep.body);
}

/// An upload started under the old design (CRC32 parts, a composite checksum) can still be
/// resumed, completed or cancelled.
#[tokio::test]
async fn an_upload_started_with_crc32_parts_still_completes() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("oldcrc@example.com").await;
    let bytes = random_bytes(9 * MIB);
    let crc32 = app::uploads::PartChecksum::Crc32;
    for cancel in [false, true] {
        let (up, ps, _) = ticket(
            &c.start_upload(&vault, "old.bin", &bytes.len().to_string(), "")
                .await,
        );
        // As the earlier version made it: a CRC32 multipart upload.
        let (key, s3_upload) = app.s3_names(&up).await;
        app.state
            .storage
            .abort_multipart(&key, &s3_upload)
            .await
            .unwrap();
        let old = app
            .state
            .storage
            .create_multipart(&key, "application/octet-stream", "STANDARD", crc32)
            .await
            .unwrap();
        sqlx::query("UPDATE uploads SET s3_upload_id = $1, part_checksum = 'CRC32' WHERE id = $2")
            .bind(&old)
            .bind(&up)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let info = c.call("resume_upload", &[("upload_id", &up)]).await;
        assert_eq!(info.status, 200, "{:?}", info.body);
        assert_eq!(info.body["checksum_algorithm"], "CRC32");
        if cancel {
            assert_eq!(
                c.call("abort_upload", &[("upload_id", &up)]).await.status,
                200
            );
            continue;
        }
        let mut parts = vec![];
        for n in [1i64, 2] {
            let chunk = crate::support::part_of(&bytes, ps, n);
            let url = c
                .call_json(
                    "presign_parts",
                    serde_json::json!({"upload_id": up, "parts": [{"number": n, "checksum": crc32.of(chunk)}]}),
                )
                .await;
            assert_eq!(url.status, 200, "{:?}", url.body);
            let r = crate::support::put_part(&url.body[0], chunk.to_vec()).await;
            assert!(r.status().is_success());
            parts.push(
                serde_json::json!({"number": n, "etag": r.headers()["etag"].to_str().unwrap()}),
            );
        }
        let done = c
            .complete(&up, &bytes, &serde_json::Value::Array(parts), None)
            .await;
        assert_eq!(done.status, 200, "{:?}", done.body);
        let id = done.body["id"].as_str().unwrap();
        assert_eq!(file_sums(&app, id).await, (None, Some(sha_hex(&bytes))));
    }
}

/// Parallel attaches of two different SHA-256s: one value wins, every call with it succeeds,
/// every call with the other is refused (none "succeeds" without being recorded).
#[tokio::test]
async fn racing_sha256_attaches_record_one_value() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("shapar@example.com").await;
    let bytes = random_bytes(3000);
    let (up, ps, _) = ticket(&c.start_upload(&vault, "r.bin", "3000", "").await);
    let parts = serde_json::Value::Array(send_parts(&c, &up, ps, &bytes, &[1]).await);
    let done = complete_without_sha(&c, &up, &parts, None).await;
    let id = done.body["id"].as_str().unwrap().to_string();
    let crc = app::uploads::PartChecksum::Crc64Nvme.of(&bytes);
    let (x, y) = (sha_hex(&bytes), sha_hex(b"not these bytes"));
    let calls = (0..8).map(|i| {
        let (c, id, crc) = (&c, id.clone(), crc.clone());
        let sha = if i % 2 == 0 { x.clone() } else { y.clone() };
        async move {
            let r = c
                .call(
                    "attach_sha256",
                    &[("file_id", &id), ("sha256", &sha), ("crc64nvme", &crc)],
                )
                .await;
            (sha, r.status)
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let (_, stored) = file_sums(&app, &id).await;
    let stored = stored.expect("one was recorded");
    for (sha, status) in results {
        assert_eq!(status, if sha == stored { 200 } else { 409 }, "{sha}");
    }
}

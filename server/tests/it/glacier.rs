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
    // The app's class change is idempotent: moving it to Deep Archive again (an earlier try
    // moved it and died before recording it) is done, not an error; to another class, refused.
    s.change_class("g/a.bin", 5000, "DEEP_ARCHIVE")
        .await
        .unwrap();
    assert!(s.change_class("g/a.bin", 5000, "STANDARD").await.is_err());
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

#[tokio::test]
async fn files_change_class_through_s3_and_their_record_and_history_follow() {
    use app::files::bulk::{BulkAction, apply};
    use app::files::{BulkOutcome, Selection};
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("classes@example.com").await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    let a = app::core::Actor::job_for(&user);
    let bytes = random_bytes(6000);
    let f = crate::support::upload(&c, &vault, "move-me.bin", &bytes).await;
    let id = f["id"].as_str().unwrap().to_string();
    let sel = |ids: Vec<String>| Selection {
        vault_id: vault.clone(),
        file_ids: ids,
        ..Default::default()
    };

    // Standard → Glacier IR: still readable, cheaper.
    let out = apply(
        st,
        &a,
        BulkAction::Class {
            to: "GLACIER_IR".into(),
        },
        sel(vec![id.clone()]),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Done {
            files: 1,
            folders: 0
        }
    );
    let key = format!(
        "ws/{}/{}/{}",
        app::vaults::service::get_vault(&st.db, &a, &vault)
            .await
            .unwrap()
            .workspace_id,
        vault,
        id
    );
    assert_eq!(head(&app, &key).await.0, Some(StorageClass::GlacierIr));
    assert_eq!(get(&app, &key).await.unwrap(), bytes);
    // The class dialog's figures: leaving Glacier IR now bills its 90 days' minimum:
    // 6,000 B bills as 128 KiB; 131072 / 2^30 × 4,000 µ$ / 30 × 90 = 1.46 → 1 µ$.
    let p = app::tiers::service::class_preview(st, &a, &sel(vec![id.clone()]))
        .await
        .unwrap();
    assert_eq!((p.files, p.bytes, p.stuck), (1, 6000, 0));
    let fee = |p: &app::tiers::ClassPreview, c: &str| {
        p.options.iter().find(|o| o.class == c).unwrap().fee_micros
    };
    assert_eq!(fee(&p, "STANDARD"), 1);
    assert_eq!(fee(&p, "GLACIER_IR"), 0, "staying costs nothing");
    // → Deep Archive: archived; the vault's totals and the file's history follow.
    apply(
        st,
        &a,
        BulkAction::Class {
            to: "DEEP_ARCHIVE".into(),
        },
        sel(vec![id.clone()]),
    )
    .await
    .unwrap();
    assert_eq!(head(&app, &key).await.0, Some(StorageClass::DeepArchive));
    let d = app::files::service::file_details(&st.db, &a, &id)
        .await
        .unwrap();
    assert_eq!(
        (d.file.storage_class.as_str(), d.file.state.as_str()),
        ("DEEP_ARCHIVE", "archived")
    );
    let changes: Vec<&str> = d
        .events
        .iter()
        .filter(|e| e.kind == "class_changed")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        changes,
        [
            "from Standard to Glacier Instant Retrieval",
            "from Glacier Instant Retrieval to Glacier Deep Archive"
        ]
    );
    let v = app::vaults::service::get_vault(&st.db, &a, &vault)
        .await
        .unwrap();
    assert_eq!(
        v.classes
            .iter()
            .map(|c| c.storage_class.as_str())
            .collect::<Vec<_>>(),
        ["DEEP_ARCHIVE"]
    );
    let p = app::tiers::service::class_preview(st, &a, &sel(vec![id.clone()]))
        .await
        .unwrap();
    assert_eq!(
        p.stuck, 1,
        "archived: it must be restored before it can move"
    );
    // An archived file cannot move until restored: it is left as it is.
    let out = apply(
        st,
        &a,
        BulkAction::Class {
            to: "STANDARD".into(),
        },
        sel(vec![id.clone()]),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Done {
            files: 0,
            folders: 0
        }
    );
    assert_eq!(head(&app, &key).await.0, Some(StorageClass::DeepArchive));
    // Nonsense classes are refused; user B moves nothing of A's.
    let bad = apply(
        st,
        &a,
        BulkAction::Class { to: "COLD".into() },
        sel(vec![id.clone()]),
    )
    .await;
    assert!(
        matches!(bad, Err(app::error::AppError::Invalid { .. })),
        "{bad:?}"
    );
    let cb = app.client();
    let b_vault = cb.sign_up("classes-b@example.com").await;
    let b = app::core::Actor::job_for(cb.current_user().await["id"].as_str().unwrap());
    let theirs = apply(
        st,
        &b,
        BulkAction::Class {
            to: "STANDARD".into(),
        },
        sel(vec![id.clone()]),
    )
    .await;
    assert_eq!(theirs.err(), Some(app::error::AppError::NotFound));
    let smuggled = Selection {
        vault_id: b_vault,
        file_ids: vec![id.clone()],
        ..Default::default()
    };
    let out = apply(
        st,
        &b,
        BulkAction::Class {
            to: "STANDARD".into(),
        },
        smuggled,
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Done {
            files: 0,
            folders: 0
        }
    );
}

#[tokio::test]
async fn a_large_object_changes_class_by_multipart_copy() {
    let app = TestApp::spawn().await;
    let s = &app.state.storage;
    let bytes = random_bytes(11 * 1024 * 1024);
    put(&app, "g/large.bin", None, &bytes).await;
    // S3 wants parts of at least 5 MiB; three ranges of 5 MiB, 5 MiB and 1 MiB.
    s.change_class_in_ranges(
        "g/large.bin",
        bytes.len() as i64,
        "GLACIER_IR",
        5 * 1024 * 1024,
    )
    .await
    .unwrap();
    assert_eq!(
        head(&app, "g/large.bin").await.0,
        Some(StorageClass::GlacierIr)
    );
    assert_eq!(get(&app, "g/large.bin").await.unwrap(), bytes);
}

#[tokio::test]
async fn archiving_rules_move_old_files_colder_in_order_and_never_warm_one_up() {
    use app::tiers::ArchiveRule;
    use app::tiers::rules;
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("rules@example.com").await;
    let a = app::core::Actor::job_for(c.current_user().await["id"].as_str().unwrap());
    let up = |name: &'static str, folder: &'static str, n: usize| {
        let (c, vault) = (&c, &vault);
        async move {
            let bytes = random_bytes(n);
            let (upload_id, parts) = {
                let t = c
                    .start_upload_with(serde_json::json!({"vault_id": vault, "name": name, "size": n, "folder_path": folder}))
                    .await;
                let id = t.body["upload_id"].as_str().unwrap().to_string();
                let parts = crate::support::send_parts(c, &id, 8 << 20, &bytes, &[1]).await;
                (id, serde_json::Value::Array(parts))
            };
            c.complete(&upload_id, &bytes, &parts, None).await.body["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let photo = up("old-photo.jpg", "", 3000).await;
    let doc = up("old-notes.pdf", "", 2000).await;
    let fresh = up("new-photo.jpg", "", 1000).await;
    let scan = up("scan.bin", "Scans/1990", 5000).await;
    let day = 86_400_000;
    let now = st.clock.now_ms();
    for (id, age) in [(&photo, 40), (&doc, 40), (&fresh, 1), (&scan, 100)] {
        sqlx::query("UPDATE files SET created_at = $1 WHERE id = $2")
            .bind(now - age * day)
            .bind(id)
            .execute(&st.db.pool)
            .await
            .unwrap();
    }
    let rule = |days, kind: &str, folder: &str, to: &str| ArchiveRule {
        older_than_days: days,
        kind: kind.into(),
        folder_path: folder.into(),
        to_class: to.into(),
        ..Default::default()
    };
    let set = vec![
        rule(30, "image", "", "GLACIER_IR"),
        rule(90, "", "Scans", "DEEP_ARCHIVE"),
        rule(30, "", "", "STANDARD_IA"),
    ];
    // Bad rules and other people are refused.
    let bad = rules::save_rules(st, &a, &vault, &[rule(30, "", "", "STANDARD")]).await;
    assert!(
        matches!(bad, Err(app::error::AppError::Invalid { .. })),
        "{bad:?}"
    );
    let cb = app.client();
    cb.sign_up("rules-b@example.com").await;
    let b = app::core::Actor::job_for(cb.current_user().await["id"].as_str().unwrap());
    assert_eq!(
        rules::save_rules(st, &b, &vault, &set).await.err(),
        Some(app::error::AppError::NotFound)
    );
    assert_eq!(
        rules::list_rules(&st.db, &b, &vault).await.err(),
        Some(app::error::AppError::NotFound)
    );
    assert_eq!(
        rules::preview_rules(st, &b, &vault).await.err(),
        Some(app::error::AppError::NotFound)
    );
    assert_eq!(
        rules::apply_now(st, &b, &vault).await.err(),
        Some(app::error::AppError::NotFound)
    );

    let saved = rules::save_rules(st, &a, &vault, &set).await.unwrap();
    assert_eq!(
        saved
            .iter()
            .map(|r| r.to_class.as_str())
            .collect::<Vec<_>>(),
        ["GLACIER_IR", "DEEP_ARCHIVE", "STANDARD_IA"]
    );
    // The preview: each file counts for its first matching rule only.
    let p = rules::preview_rules(st, &a, &vault).await.unwrap();
    assert_eq!(
        p.iter().map(|r| (r.files, r.bytes)).collect::<Vec<_>>(),
        [(1, 3000), (1, 5000), (1, 2000)]
    );
    let prices = app::pricing::service::load(&st.db).await.unwrap();
    let saving = prices.monthly_cost_micros("STANDARD", 5000)
        - prices.monthly_cost_micros("DEEP_ARCHIVE", 5000);
    assert_eq!(p[1].monthly_saving_micros, saving);

    // Applied by the job ("Apply now"), idempotently.
    rules::apply_now(st, &a, &vault).await.unwrap();
    jobs_run(st).await;
    assert_eq!(file_of(st, &a, &photo).await.storage_class, "GLACIER_IR");
    assert_eq!(file_of(st, &a, &doc).await.storage_class, "STANDARD_IA");
    assert_eq!(file_of(st, &a, &fresh).await.storage_class, "STANDARD");
    let s = file_of(st, &a, &scan).await;
    assert_eq!(
        (s.storage_class.as_str(), s.state.as_str()),
        ("DEEP_ARCHIVE", "archived")
    );
    let d = app::files::service::file_details(&st.db, &a, &scan)
        .await
        .unwrap();
    assert!(d.events.iter().any(|e| e.kind == "class_changed"
        && e.detail.ends_with("(archiving rule)")
        && e.actor.is_none()));
    assert_eq!(
        rules::apply_rules(st, &vault).await.unwrap(),
        0,
        "nothing left to move"
    );
    // The audit log has one automatic row per rule that moved files, shown as the app's.
    let rows = app::audit::service::list(st, &a, &Default::default(), 0, 100)
        .await
        .unwrap();
    let auto: Vec<_> = rows.iter().filter(|r| r.action == "file.class").collect();
    assert!(!auto.is_empty(), "{rows:?}");
    assert!(
        auto.iter().all(|r| r.actor_email == "Nexus (automatic)"
            && r.detail.contains("by the vault's archiving rule")),
        "{auto:?}"
    );
    // A rule never warms a file up: "everything to Standard-IA" leaves Deep Archive alone.
    rules::save_rules(st, &a, &vault, &[rule(0, "", "", "STANDARD_IA")])
        .await
        .unwrap();
    assert_eq!(
        rules::apply_rules(st, &vault).await.unwrap(),
        1,
        "only the fresh file"
    );
    assert_eq!(file_of(st, &a, &scan).await.storage_class, "DEEP_ARCHIVE");
    assert_eq!(file_of(st, &a, &photo).await.storage_class, "GLACIER_IR");
}

async fn jobs_run(st: &app::core::AppState) {
    app::jobs::run_due(st, "test").await.unwrap();
}

async fn file_of(
    st: &app::core::AppState,
    a: &app::core::Actor,
    id: &str,
) -> app::files::FileEntry {
    app::files::service::file_details(&st.db, a, id)
        .await
        .unwrap()
        .file
}

//! `server backup` / `server restore` for the embedded setup: a backup taken while the server
//! runs, restored into another data folder, serves every file it held byte for byte to a
//! second server (the account signs in with its password; what came after the backup is not
//! there). PostgreSQL is refused with the pg_dump way.
use crate::support::{PASSWORD, TestApp, random_bytes, upload};

#[tokio::test]
async fn a_restored_backup_serves_every_file() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("backup");
    if app.state.db.dialect == app::core::db::Dialect::Postgres {
        let err = server::backup::backup(&app.state.config, &to)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("pg_dump"), "{err}");
        return;
    }
    let c = app.client();
    let vault = c.sign_up("keeper@example.com").await;
    let mut kept = vec![];
    for (name, size) in [
        ("tiny.txt", 1),
        ("small.bin", 1_000),
        ("big.bin", 6_000_000),
    ] {
        let bytes = random_bytes(size);
        upload(&c, &vault, name, &bytes).await;
        kept.push((name, bytes));
    }
    let report = server::backup::backup(&app.state.config, &to)
        .await
        .unwrap();
    assert_eq!(report.files, 3);
    assert!(report.embedded_objects);
    assert!(report.objects >= 3, "{report:?}");
    assert!(report.object_bytes >= 6_001_000, "{report:?}");
    // Not into a folder that holds something.
    assert!(
        server::backup::backup(&app.state.config, &to)
            .await
            .is_err()
    );
    upload(&c, &vault, "after.bin", &random_bytes(10)).await;

    // Restored into another data folder, served by another server.
    let data2 = dir.path().join("data2");
    let url2 = format!("sqlite://{}/nexus.db?mode=rwc", data2.display());
    let mut target = (*app.state.config).clone();
    target.data_dir = data2.clone();
    target.database_url = url2.clone();
    assert!(
        server::backup::restore(&target, dir.path()).await.is_err(),
        "a folder without a manifest is no backup"
    );
    let restored = server::backup::restore(&target, &to).await.unwrap();
    assert_eq!(
        (restored.files, restored.objects),
        (report.files, report.objects)
    );
    let app2 = TestApp::spawn_with(|cfg| {
        cfg.data_dir = data2.clone();
        cfg.database_url = url2.clone();
    })
    .await;
    let c2 = app2.client();
    assert_eq!(c2.sign_in("keeper@example.com", PASSWORD).await.status, 200);
    let files = c2.list_files(&vault).await.body;
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(!names.contains(&"after.bin"));
    for (name, bytes) in &kept {
        let f = files
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == *name)
            .unwrap();
        let r = c2
            .get(&format!("/files/{}/download", f["id"].as_str().unwrap()))
            .await;
        assert!(r.status().is_redirection(), "{name}: {}", r.status());
        let url = r.headers()["location"].to_str().unwrap().to_string();
        let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len(), bytes.len(), "{name}");
        assert!(body.as_ref() == bytes.as_slice(), "{name}: bytes differ");
    }
    // What was in the target folder before is kept aside, not deleted.
    assert!(std::fs::read_dir(&data2).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("before-restore-")
    }));
}

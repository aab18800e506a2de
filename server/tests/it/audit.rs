//! The audit log over HTTP: who, what, target, when, address and request id for each change;
//! only owners and admins read it; filters; the CSV export (cells defused for spreadsheets);
//! retention; and no code path that edits a row.
use crate::support::{PASSWORD, TestApp};
use serde_json::json;

async fn log(c: &crate::support::Client, filter: serde_json::Value) -> crate::support::Answer {
    c.call_json("audit_log", json!({ "filter": filter, "before": 0 }))
        .await
}

#[tokio::test]
async fn changes_are_recorded_with_who_where_and_the_request_and_only_admins_read_them() {
    let app = TestApp::spawn().await;
    let owner = app.client();
    let vault = owner.sign_up("olga@example.com").await;
    let renamed = owner
        .call(
            "rename_vault",
            &[("vault_id", &vault), ("name", "=HYPERLINK(\"x\")")],
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(
        owner
            .call("create_team", &[("name", "Logs Inc")])
            .await
            .status,
        200
    );
    let sam = app.client();
    sam.sign_up("sam@example.com").await;
    owner
        .call(
            "invite_member",
            &[("email", "sam@example.com"), ("role", "member")],
        )
        .await;
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_addr = 'sam@example.com' ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let token = body
        .split("/invite?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let joined = sam.call("accept_invite", &[("token", token)]).await;
    assert_eq!(joined.status, 200);

    let rows = log(&owner, json!({})).await;
    assert_eq!(rows.status, 200, "{:?}", rows.body);
    let rows = rows.body.as_array().unwrap().clone();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    // Newest first: Sam joined, Olga invited, made the team; Sam's and Olga's sign-ins (the
    // account-wide rows of the team's members) too. The rename was in Olga's own workspace.
    assert_eq!(actions[0], "member.join", "{actions:?}");
    for want in ["member.invite", "member.team_create", "sign_in"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "member.join").count(), 1);
    assert!(
        !actions.contains(&"vault.rename"),
        "another workspace's change"
    );
    let join = &rows[0];
    assert_eq!(join["actor_email"], "sam@example.com");
    assert_eq!(join["ip"], "127.0.0.1");
    assert!(join["request_id"].as_str().unwrap().len() > 8, "{join}");
    assert_eq!(join["detail"], "member");

    // A member reads no log; an outsider reads only their own workspace's.
    assert_eq!(log(&sam, json!({})).await.status, 403);
    let other = app.client();
    other.sign_up("otto@example.com").await;
    let own = log(&other, json!({})).await;
    assert_eq!(own.status, 200);
    assert!(!own.body.to_string().contains("Logs Inc") && !own.body.to_string().contains("sam@"));

    // Filters: by family and by person.
    let members = log(&owner, json!({ "action": "member." })).await.body;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"].as_str().unwrap().starts_with("member."))
    );
    let by_sam = log(&owner, json!({ "actor": "SAM@" })).await.body;
    assert!(!by_sam.as_array().unwrap().is_empty());
    assert!(
        by_sam
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor_email"] == "sam@example.com")
    );
    let wild = log(&owner, json!({ "actor": "%" })).await.body;
    assert_eq!(
        wild.as_array().unwrap().len(),
        log(&owner, json!({})).await.body.as_array().unwrap().len(),
        "% is not a wildcard"
    );

    // The CSV of Olga's own workspace: the rename with its formula-like name defused.
    let back = owner.call("list_workspaces", &[]).await.body;
    let personal = back[0]["id"].as_str().unwrap().to_string();
    owner
        .call("switch_workspace", &[("workspace_id", &personal)])
        .await;
    let resp = owner.get("/audit.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    assert!(
        csv.starts_with("time_utc,actor,api_key,action,target,detail,ip,request_id\n"),
        "{csv}"
    );
    assert!(csv.contains("vault.rename"), "{csv}");
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"x\"\") (was My vault)\""),
        "{csv}"
    );
    // Without a session: to sign-in; a member: refused.
    assert_eq!(app.client().get("/audit.csv").await.status(), 303);
    assert_eq!(sam.get("/audit.csv").await.status(), 403);
}

#[tokio::test]
async fn rows_go_after_the_retention_days_and_nothing_edits_them() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("rita@example.com").await;
    assert_eq!(c.sign_in("rita@example.com", PASSWORD).await.status, 200);
    let count = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        n
    };
    assert!(count().await >= 2);
    app.clock.advance_ms(399 * 86_400_000);
    app::auth::service::purge_expired(&app.state).await.unwrap();
    assert!(count().await >= 2, "kept for 400 days");
    app.clock.advance_ms(2 * 86_400_000);
    app::auth::service::purge_expired(&app.state).await.unwrap();
    assert_eq!(count().await, 0);

    // Append-only: no statement in the app changes a row.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap().to_lowercase();
                assert!(
                    !text.contains("update audit_log"),
                    "{} edits audit rows",
                    p.display()
                );
            }
        }
    }
}

#[tokio::test]
async fn file_folder_rule_webhook_and_trash_changes_are_recorded_once_each() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("fran@example.com").await;
    let f = crate::support::upload(&c, &vault, "a.txt", &crate::support::random_bytes(10)).await;
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.call("rename_file", &[("file_id", &id), ("name", "b.txt")])
            .await
            .status,
        200
    );
    let folder = c
        .call(
            "create_folder",
            &[("vault_id", &vault), ("parent_path", ""), ("name", "docs")],
        )
        .await;
    assert_eq!(folder.status, 200);
    let renamed = c
        .call(
            "rename_folder",
            &[
                ("folder_id", folder.body["id"].as_str().unwrap()),
                ("name", "papers"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let rules = c
        .call_json(
            "save_archive_rules",
            json!({ "vault_id": vault, "rules": [{ "older_than_days": 30, "kind": "", "min_size": null,
                "folder_path": "", "to_class": "DEEP_ARCHIVE" }] }),
        )
        .await;
    assert_eq!(rules.status, 200, "{:?}", rules.body);
    let hook = c
        .call_json(
            "create_webhook",
            json!({ "url": "http://127.0.0.1:9/hook", "events": ["file.uploaded"] }),
        )
        .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let sel = json!({ "selection": { "vault_id": vault, "file_ids": [id] } });
    assert_eq!(c.call_json("trash_items", sel.clone()).await.status, 200);
    assert_eq!(
        c.call_json("restore_files", json!({ "file_ids": [id] }))
            .await
            .status,
        200
    );
    assert_eq!(c.call_json("trash_items", sel).await.status, 200);
    assert_eq!(
        c.call_json("empty_trash", json!({ "file_ids": [id] }))
            .await
            .status,
        200
    );

    let rows = log(&c, json!({})).await.body;
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for (want, times) in [
        ("file.upload", 1),
        ("file.rename", 1),
        ("file.folder_create", 1),
        ("file.folder_move", 1),
        ("vault.rules", 1),
        ("key.webhook_create", 1),
        ("file.trash", 2),
        ("file.untrash", 1),
        ("file.purge", 1),
    ] {
        assert_eq!(
            actions.iter().filter(|a| **a == want).count(),
            times,
            "{want} in {actions:?}"
        );
    }
    // The trash spans the person's workspaces; its rows name the file's workspace.
    let (ws,): (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(&vault)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let trash_rows: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT workspace_id FROM audit_log WHERE action IN ('file.untrash', 'file.purge')",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(trash_rows, vec![(Some(ws.clone()),), (Some(ws),)]);
}

//! The table-driven cross-tenant sweep: user A gets one id of every kind (vault, folder, file,
//! trashed file, archived file, open upload, bulk job, restore request, notification), then
//! user B calls every server function and every id route with A's ids. Each answers "not
//! found" (B cannot even learn A's things exist) or B's own, empty results; no answer carries
//! any of A's ids or names, and A's things are unchanged afterwards. A server function the
//! table does not name fails the test, so a new one cannot skip the sweep. Then the same table
//! again without a session (refused or public, never an error, nothing of A's) and by a
//! viewer of A's workspace (may read; changes nothing of A's).
use std::collections::BTreeSet;

use crate::support::{Client, PASSWORD, TestApp, random_bytes, to_class, upload};
use serde_json::{Value, json};

/// What B must get back.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// 404: the id is not B's.
    NotFound,
    /// Any answer but an internal error (503 "billing is off" is fine), holding nothing of
    /// A's: B's own lists, B's own actions.
    Nothing,
}

/// How the function takes its arguments.
enum Args {
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

/// Who calls.
#[derive(Clone, Copy, PartialEq)]
enum Caller {
    B,
    /// A visitor without a session (for functions that would end B's session).
    Anonymous,
}

struct Row {
    name: &'static str,
    caller: Caller,
    args: Args,
    expect: Expect,
}

fn row(name: &'static str, args: Args, expect: Expect) -> Row {
    Row {
        name,
        caller: Caller::B,
        args,
        expect,
    }
}

fn form(pairs: &[(&'static str, &str)]) -> Args {
    Args::Form(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

/// A's things, by kind.
struct Ids {
    vault: String,
    folder: String,
    file: String,
    trashed: String,
    archived: String,
    upload: String,
    bulk_op: String,
    restore: String,
    notification: String,
    api_key: String,
    webhook: String,
    delivery: String,
    session: String,
    workspace: String,
    invite: String,
    user: String,
    share: String,
}

impl Ids {
    fn all(&self) -> Vec<&str> {
        vec![
            &self.vault,
            &self.folder,
            &self.file,
            &self.trashed,
            &self.archived,
            &self.upload,
            &self.bulk_op,
            &self.restore,
            &self.notification,
            &self.api_key,
            &self.webhook,
            &self.delivery,
            &self.session,
            &self.workspace,
            &self.invite,
            &self.user,
            &self.share,
        ]
    }
}

/// Names A chose; no answer to B may carry them either.
const A_NAMES: [&str; 4] = [
    "a-secret-vault",
    "a-private-folder",
    "a-secret.bin",
    "a-archived.bin",
];

fn sel(vault: &str, files: &[&str]) -> Value {
    json!({ "vault_id": vault, "file_ids": files })
}

fn table(a: &Ids) -> Vec<Row> {
    use Expect::*;
    let (v, f) = (a.vault.as_str(), a.file.as_str());
    let part = json!([{ "number": 1, "etag": "\"e\"" }]);
    let mut rows = vec![
        // accounts
        row(
            "sign_up",
            form(&[("email", "a@example.com"), ("password", PASSWORD)]),
            Nothing,
        ),
        row(
            "sign_in",
            form(&[("email", "a@example.com"), ("password", "not A's password")]),
            Nothing,
        ),
        row("sign_in_with_link", form(&[("token", "0123abcd")]), Nothing),
        row("current_user", form(&[]), Nothing),
        // the account page and mailed links: B's own account only
        row(
            "request_sign_in_link",
            form(&[("email", "a@example.com"), ("purpose", "magic")]),
            Nothing,
        ),
        row("account_sessions", form(&[]), Nothing),
        row("end_session", form(&[("session_id", &a.session)]), NotFound),
        row(
            "change_password",
            form(&[
                ("current_password", "not B's password"),
                ("new_password", "long enough new one"),
            ]),
            Nothing,
        ),
        row(
            "request_email_change",
            form(&[("email", "a@example.com"), ("password", PASSWORD)]),
            Nothing,
        ),
        row(
            "confirm_email_change",
            form(&[("token", "0123abcd")]),
            Nothing,
        ),
        row("resend_confirmation", form(&[]), Nothing),
        row("mail_prefs", form(&[]), Nothing),
        row(
            "set_mail_pref",
            form(&[("kind", "restore_ready"), ("mail", "false")]),
            Nothing,
        ),
        // vaults
        row("list_vaults", form(&[]), Nothing),
        row("create_vault", form(&[("name", "b-vault")]), Nothing),
        row("get_vault", form(&[("vault_id", v)]), NotFound),
        row(
            "rename_vault",
            form(&[("vault_id", v), ("name", "taken")]),
            NotFound,
        ),
        row(
            "update_vault_settings",
            form(&[
                ("vault_id", v),
                ("default_storage_class", "STANDARD"),
                ("allowed_types", ""),
                ("max_file_size_mb", ""),
            ]),
            NotFound,
        ),
        row(
            "delete_vault",
            form(&[("vault_id", v), ("confirm", "a-secret-vault")]),
            NotFound,
        ),
        // the file browser
        row(
            "list_page",
            Args::Json(json!({ "query": { "vault_id": v, "everywhere": true } })),
            NotFound,
        ),
        row("file_details", form(&[("file_id", f)]), NotFound),
        row(
            "create_folder",
            form(&[("vault_id", v), ("parent_path", ""), ("name", "x")]),
            NotFound,
        ),
        row(
            "rename_file",
            form(&[("file_id", f), ("name", "x")]),
            NotFound,
        ),
        row(
            "rename_folder",
            form(&[("folder_id", &a.folder), ("name", "x")]),
            NotFound,
        ),
        row(
            "find_folders",
            form(&[("vault_id", v), ("text", "a")]),
            NotFound,
        ),
        row(
            "move_items",
            Args::Json(json!({ "selection": sel(v, &[f]), "to": "" })),
            NotFound,
        ),
        row(
            "trash_items",
            Args::Json(json!({ "selection": sel(v, &[f]) })),
            NotFound,
        ),
        row(
            "deletion_fee",
            Args::Json(json!({ "selection": sel(v, &[f]) })),
            NotFound,
        ),
        row(
            "download_links",
            Args::Json(json!({ "selection": sel(v, &[f]) })),
            NotFound,
        ),
        row("bulk_op", form(&[("op_id", &a.bulk_op)]), NotFound),
        row("list_trash", form(&[]), Nothing),
        row(
            "restore_files",
            Args::Json(json!({ "file_ids": [a.trashed] })),
            NotFound,
        ),
        row("trash_fee", form(&[]), Nothing),
        row(
            "empty_trash",
            Args::Json(json!({ "file_ids": [a.trashed] })),
            NotFound,
        ),
        row(
            "thumbnail_upload",
            Args::Json(json!({ "file_id": f, "size": 100, "content_type": "image/webp" })),
            NotFound,
        ),
        row("thumbnail_done", form(&[("file_id", f)]), NotFound),
        row(
            "change_class",
            Args::Json(json!({ "selection": sel(v, &[f]), "to": "GLACIER" })),
            NotFound,
        ),
        row(
            "class_preview",
            Args::Json(json!({ "selection": sel(v, &[f]) })),
            NotFound,
        ),
        // archiving rules
        row("archive_rules", form(&[("vault_id", v)]), NotFound),
        row(
            "save_archive_rules",
            Args::Json(json!({ "vault_id": v, "rules": [] })),
            NotFound,
        ),
        row("preview_archive_rules", form(&[("vault_id", v)]), NotFound),
        row("apply_archive_rules", form(&[("vault_id", v)]), NotFound),
        // restores
        row(
            "preview_restore",
            Args::Json(json!({ "selection": sel(v, &[&a.archived]), "days": 7 })),
            NotFound,
        ),
        row(
            "request_restore",
            Args::Json(json!({ "selection": sel(v, &[&a.archived]), "tier": "Bulk", "days": 7 })),
            NotFound,
        ),
        row("restore_requests", form(&[]), Nothing),
        row(
            "restore_request_files",
            form(&[("request_id", &a.restore)]),
            NotFound,
        ),
        row(
            "restore_download_links",
            form(&[("request_id", &a.restore)]),
            NotFound,
        ),
        // uploads
        row(
            "start_upload",
            Args::Json(json!({ "req": { "vault_id": v, "name": "x", "size": 1,
                "content_type": "", "folder_path": "", "last_modified": 0 } })),
            NotFound,
        ),
        row(
            "presign_parts",
            Args::Json(
                json!({ "upload_id": a.upload, "parts": [{ "number": 1, "checksum": "AAAAAA==" }] }),
            ),
            NotFound,
        ),
        row(
            "parts_done",
            Args::Json(json!({ "upload_id": a.upload, "parts": part })),
            NotFound,
        ),
        row(
            "complete_upload",
            Args::Json(json!({ "upload_id": a.upload, "sha256": "0".repeat(64), "parts": part })),
            NotFound,
        ),
        row("abort_upload", form(&[("upload_id", &a.upload)]), NotFound),
        row(
            "attach_sha256",
            form(&[
                ("file_id", f),
                ("sha256", &"0".repeat(64)),
                ("crc64nvme", "AAAAAAAAAAA="),
            ]),
            NotFound,
        ),
        row("list_open_uploads", form(&[("vault_id", v)]), NotFound),
        row("resume_upload", form(&[("upload_id", &a.upload)]), NotFound),
        // notifications and mail
        row("notifications", form(&[]), Nothing),
        row("unread_notifications", form(&[]), Nothing),
        row(
            "mark_notifications_read",
            Args::Json(json!({ "ids": [a.notification] })),
            Nothing,
        ),
        row("outbox", form(&[]), Nothing),
        // usage and billing
        row("usage_summary", form(&[]), Nothing),
        row("usage_quota", form(&[]), Nothing),
        row("list_plans", form(&[]), Nothing),
        row("billing_info", form(&[]), Nothing),
        row("choose_plan", form(&[("plan", "plus")]), Nothing),
        row("billing_portal", form(&[]), Nothing),
        // the Developer page: B's own keys and endpoints, never A's
        row("list_api_keys", form(&[]), Nothing),
        row(
            "create_api_key",
            Args::Json(json!({"new": {"name": "b's", "scopes": ["files:read"], "vault_id": v}})),
            NotFound,
        ),
        row(
            "rotate_api_key",
            form(&[("key_id", &a.api_key), ("grace_secs", "0")]),
            NotFound,
        ),
        row("revoke_api_key", form(&[("key_id", &a.api_key)]), NotFound),
        row("list_webhooks", form(&[]), Nothing),
        row(
            "create_webhook",
            Args::Json(json!({"url": "http://127.0.0.1:9/b", "events": ["file.uploaded"]})),
            Nothing,
        ),
        row(
            "delete_webhook",
            form(&[("endpoint_id", &a.webhook)]),
            NotFound,
        ),
        row(
            "enable_webhook",
            form(&[("endpoint_id", &a.webhook)]),
            NotFound,
        ),
        row(
            "test_webhook",
            form(&[("endpoint_id", &a.webhook)]),
            NotFound,
        ),
        row(
            "webhook_deliveries",
            form(&[("endpoint_id", &a.webhook)]),
            NotFound,
        ),
        row(
            "redeliver_webhook",
            form(&[("delivery_id", &a.delivery)]),
            NotFound,
        ),
    ];
    // teams: B's own workspaces; A's workspace, members and invitations are not found
    // (create_team switches B into B's new team: these come last)
    rows.extend([
        row("list_workspaces", form(&[]), Nothing),
        row(
            "switch_workspace",
            form(&[("workspace_id", &a.workspace)]),
            NotFound,
        ),
        row("create_team", form(&[("name", "b-team")]), Nothing),
        row("team", form(&[]), Nothing),
        row(
            "invite_member",
            form(&[("email", "a@example.com"), ("role", "viewer")]),
            Nothing,
        ),
        row("revoke_invite", form(&[("invite_id", &a.invite)]), NotFound),
        row("invite_preview", form(&[("token", "0123abcd")]), Nothing),
        row("accept_invite", form(&[("token", "0123abcd")]), Nothing),
        row(
            "change_member_role",
            form(&[("user_id", &a.user), ("role", "viewer")]),
            NotFound,
        ),
        row("remove_member", form(&[("user_id", &a.user)]), NotFound),
        row(
            "transfer_ownership",
            form(&[("user_id", &a.user)]),
            NotFound,
        ),
        row("leave_workspace", form(&[]), Nothing),
        // SSO settings are the current workspace's (B's own, a personal one: refused)
        row("get_sso", form(&[]), Nothing),
        row(
            "save_sso",
            form(&[
                ("issuer", "https://idp.example"),
                ("client_id", "x"),
                ("client_secret", "y"),
                ("allowed_domain", "example.com"),
                ("new_member_role", "member"),
            ]),
            Nothing,
        ),
        row("remove_sso", form(&[]), Nothing),
        // the status page: public, no one's data
        row("service_status", form(&[]), Nothing),
        // the operators' console: B is no operator
        row("admin_overview", form(&[("search", "")]), NotFound),
        row("admin_retry_job", form(&[("job_id", "x")]), NotFound),
        // share links: A's vault's links are not found; the public functions answer alike
        row(
            "create_share",
            Args::Json(json!({ "new": { "vault_id": v, "path": "a-secret.bin", "days": 7 } })),
            NotFound,
        ),
        row("list_shares", form(&[("vault_id", v)]), NotFound),
        row("revoke_share", form(&[("share_id", &a.share)]), NotFound),
        row(
            "open_share",
            form(&[("token", "0123abcd"), ("password", "")]),
            Nothing,
        ),
        row(
            "share_download",
            form(&[("token", "0123abcd"), ("password", ""), ("file_id", f)]),
            Nothing,
        ),
        row(
            "audit_log",
            Args::Json(json!({ "filter": {}, "before": 0 })),
            Nothing,
        ),
    ]);
    rows.push(row(
        "delete_account",
        form(&[("confirm", "a@example.com")]),
        Nothing,
    ));
    rows.push(Row {
        name: "sign_out_everywhere",
        caller: Caller::Anonymous,
        args: form(&[]),
        expect: Nothing,
    });
    rows.push(Row {
        name: "sign_out",
        caller: Caller::Anonymous,
        args: form(&[]),
        expect: Nothing,
    });
    rows
}

async fn call(c: &Client, name: &str, args: &Args) -> (u16, String) {
    let req = c.http.post(c.url(&format!("/api/{name}")));
    let req = match args {
        Args::Form(pairs) => req.form(pairs),
        Args::Json(v) => req.json(v),
    };
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Everything A can see of A's things, to compare before and after B's calls.
async fn snapshot(a: &Client, ids: &Ids) -> Vec<String> {
    let mut out = vec![];
    for (name, args) in [
        ("list_vaults", json!({})),
        ("get_vault", json!({ "vault_id": ids.vault })),
        ("list_trash", json!({})),
        ("list_open_uploads", json!({ "vault_id": ids.vault })),
        ("archive_rules", json!({ "vault_id": ids.vault })),
        ("restore_requests", json!({})),
        (
            "restore_request_files",
            json!({ "request_id": ids.restore }),
        ),
        ("bulk_op", json!({ "op_id": ids.bulk_op })),
        ("unread_notifications", json!({})),
        ("file_details", json!({ "file_id": ids.file })),
    ] {
        let pairs: Vec<(String, String)> = args
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let resp = a
            .http
            .post(a.url(&format!("/api/{name}")))
            .form(&pairs)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "A's own {name}");
        out.push(format!("{name}: {}", resp.text().await.unwrap()));
    }
    let files = a.list_files(&ids.vault).await;
    assert_eq!(files.status, 200);
    out.push(format!("files: {}", files.body));
    out
}

#[tokio::test]
async fn user_b_reaches_nothing_of_user_a_through_any_server_function_or_id_route() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("a@example.com").await;
    let renamed = a
        .call(
            "rename_vault",
            &[("vault_id", &vault), ("name", "a-secret-vault")],
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let folder = a
        .call(
            "create_folder",
            &[
                ("vault_id", &vault),
                ("parent_path", ""),
                ("name", "a-private-folder"),
            ],
        )
        .await;
    assert_eq!(folder.status, 200, "{:?}", folder.body);
    let file = upload(&a, &vault, "a-secret.bin", &random_bytes(1000)).await;
    let trashed = upload(&a, &vault, "a-trashed.bin", &random_bytes(500)).await;
    let trash = a
        .call_json(
            "trash_items",
            json!({ "selection": sel(&vault, &[trashed["id"].as_str().unwrap()]) }),
        )
        .await;
    assert_eq!(trash.status, 200, "{:?}", trash.body);
    let archived = upload(&a, &vault, "a-archived.bin", &random_bytes(700)).await;
    let (user_id, workspace_id): (String, String) =
        sqlx::query_as("SELECT created_by, workspace_id FROM files WHERE id = $1")
            .bind(archived["id"].as_str().unwrap())
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    to_class(
        &app.state,
        &user_id,
        &vault,
        archived["id"].as_str().unwrap(),
        "DEEP_ARCHIVE",
    )
    .await;
    let restore = a
        .call_json(
            "request_restore",
            json!({ "selection": sel(&vault, &[archived["id"].as_str().unwrap()]),
                "tier": "Bulk", "days": 7 }),
        )
        .await;
    assert_eq!(restore.status, 200, "{:?}", restore.body);
    let open = a.start_upload(&vault, "a-wip.bin", "10", "").await;
    assert_eq!(open.status, 200, "{:?}", open.body);
    // A queued bulk job and a notification of A's, as the job runner and the restore worker
    // leave them.
    let bulk_op = app::core::new_id();
    sqlx::query(
        "INSERT INTO bulk_ops (id, workspace_id, vault_id, user_id, action, params, total, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'trash', '{}', 20000, 1, 1)",
    )
    .bind(&bulk_op)
    .bind(&workspace_id)
    .bind(&vault)
    .bind(&user_id)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let notification = app::core::new_id();
    sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, title, body, link, created_at)
         VALUES ($1, $2, 'restore_ready', 'a-secret.bin is back', 'ready', '', 1)",
    )
    .bind(&notification)
    .bind(&user_id)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    // A's key, webhook endpoint and a delivery to it.
    let key = a
        .call_json(
            "create_api_key",
            json!({"new": {"name": "a-key", "scopes": ["admin"]}}),
        )
        .await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let hook = a
        .call_json(
            "create_webhook",
            json!({"url": "http://127.0.0.1:9/a-hook", "events": ["file.uploaded"]}),
        )
        .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let webhook = hook.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.call("test_webhook", &[("endpoint_id", &webhook)])
            .await
            .status,
        200
    );
    let deliveries = a
        .call("webhook_deliveries", &[("endpoint_id", &webhook)])
        .await;
    let delivery = deliveries.body[0]["id"].as_str().unwrap().to_string();
    let ids = Ids {
        api_key: key.body["key"]["id"].as_str().unwrap().to_string(),
        webhook,
        delivery,
        vault: vault.clone(),
        folder: folder.body["id"].as_str().unwrap().to_string(),
        file: file["id"].as_str().unwrap().to_string(),
        trashed: trashed["id"].as_str().unwrap().to_string(),
        archived: archived["id"].as_str().unwrap().to_string(),
        upload: open.body["upload_id"].as_str().unwrap().to_string(),
        bulk_op,
        restore: restore.body[0].as_str().unwrap().to_string(),
        notification,
        session: sqlx::query_as::<_, (String,)>("SELECT id FROM sessions WHERE user_id = $1")
            .bind(&user_id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
            .0,
        workspace: workspace_id.clone(),
        invite: app::core::new_id(),
        user: user_id.clone(),
        share: {
            let made = a
                .call_json(
                    "create_share",
                    json!({ "new": { "vault_id": vault, "path": "a-secret.bin", "days": 7 } }),
                )
                .await;
            assert_eq!(made.status, 200, "{:?}", made.body);
            made.body["link"]["id"].as_str().unwrap().to_string()
        },
    };
    // An invitation of A's workspace, as a team's admin would leave it.
    sqlx::query(
        "INSERT INTO invites (id, workspace_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, 'c@example.com', 'viewer', 'not-a-hash', $3, 1, 9999999999999)",
    )
    .bind(&ids.invite)
    .bind(&ids.workspace)
    .bind(&ids.user)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let before = snapshot(&a, &ids).await;

    let b = app.client();
    b.sign_up("b@example.com").await;
    let anonymous = app.client();
    let rows = table(&ids);

    // Every server function the server has is in the table.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    let named: BTreeSet<String> = rows.iter().map(|r| r.name.to_string()).collect();
    let missing: Vec<_> = registered.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "server functions missing from the sweep's table (add a row saying what B must get): {missing:?}"
    );
    let unknown: Vec<_> = named.difference(&registered).collect();
    assert!(
        unknown.is_empty(),
        "rows for no server function: {unknown:?}"
    );

    let leaks = |body: &str| -> Vec<String> {
        ids.all()
            .into_iter()
            .chain(A_NAMES)
            .filter(|s| body.contains(*s))
            .map(str::to_string)
            .collect()
    };
    let mut failures = vec![];
    for r in &rows {
        let c = if r.caller == Caller::B {
            &b
        } else {
            &anonymous
        };
        let (status, body) = call(c, r.name, &r.args).await;
        let ok = match r.expect {
            Expect::NotFound => status == 404,
            Expect::Nothing => status != 500,
        };
        let leaked = leaks(&body);
        if !ok || !leaked.is_empty() {
            failures.push(format!(
                "{}: expected {:?}, got {status} {body:.200} (carries A's {leaked:?})",
                r.name, r.expect
            ));
        }
    }
    // The server's own routes (beside the pages and server functions): each is swept below
    // with A's ids, or named here with why it holds nothing of A's. A route added to
    // `routes.rs` that this list does not name fails the test.
    const ROUTES: [(&str, &str); 12] = [
        ("/healthz", "public: liveness, no data"),
        ("/readyz", "public: readiness, no data"),
        ("/files/{id}/download", "swept below with A's file"),
        ("/files/{id}/thumb", "swept below with A's file"),
        ("/usage.csv", "swept below: B's own usage"),
        ("/audit.csv", "swept below: B's own workspace's log"),
        ("/account/export.json", "swept below: B's own data"),
        (
            "/status.json",
            "public: component states and figures, no one's data (swept below)",
        ),
        (
            "/metrics",
            "the operator's: refused without NEXUS_METRICS_TOKEN (ops tests)",
        ),
        (
            "/sso/start",
            "swept below with A's workspace: a sign-in link is public by design (it leads to the provider, which decides)",
        ),
        (
            "/sso/callback",
            "swept below: a state that is not this browser's signs nobody in (sso tests)",
        ),
        (
            "/stripe/webhook",
            "Stripe's: refused without Stripe's signature (billing tests)",
        ),
    ];
    let routed: BTreeSet<&str> = include_str!("../../src/routes.rs")
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let named: BTreeSet<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        routed, named,
        "routes.rs and the sweep's ROUTES differ: add the new route with A's ids"
    );
    // The id routes.
    for path in [
        format!("/files/{}/download", ids.file),
        format!("/files/{}/thumb", ids.file),
    ] {
        let resp = b.get(&path).await;
        if resp.status() != 404 {
            failures.push(format!("GET {path}: {}", resp.status()));
        }
    }
    // Every page, with A's ids wherever a page takes one (path or query).
    let pages = [
        ("/", "/".to_string()),
        ("/sign-in", "/sign-in".to_string()),
        ("/sign-in/link", "/sign-in/link?token=0123abcd".to_string()),
        ("/sign-in/forgot", "/sign-in/forgot".to_string()),
        ("/sign-in/sso", "/sign-in/sso?error=state".to_string()),
        ("/status", "/status".to_string()),
        ("/admin", "/admin".to_string()),
        ("/sign-up", "/sign-up".to_string()),
        ("/account", "/account".to_string()),
        (
            "/account/email",
            "/account/email?token=0123abcd".to_string(),
        ),
        ("/team", "/team".to_string()),
        ("/audit", "/audit".to_string()),
        ("/shares", format!("/shares?vault={}", ids.vault)),
        ("/s/:token", "/s/0123abcd".to_string()),
        ("/invite", "/invite?token=0123abcd".to_string()),
        ("/vaults", "/vaults".to_string()),
        ("/vaults/:id", format!("/vaults/{}", ids.vault)),
        (
            "/vaults/:id",
            format!("/vaults/{}?file={}", ids.vault, ids.file),
        ),
        ("/trash", "/trash".to_string()),
        ("/restores", format!("/restores?request={}", ids.restore)),
        ("/notifications", "/notifications".to_string()),
        ("/outbox", "/outbox".to_string()),
        ("/usage", "/usage".to_string()),
        ("/billing", "/billing".to_string()),
        ("/developer", "/developer".to_string()),
    ];
    // A page the router has that the sweep does not visit fails the test.
    let visited: BTreeSet<String> = pages.iter().map(|(p, _)| p.to_string()).collect();
    let routed: BTreeSet<String> = server::route_list()
        .iter()
        .map(|r| r.path().replace('{', ":").replace('}', ""))
        .collect();
    let unvisited: Vec<_> = routed.difference(&visited).collect();
    assert!(
        unvisited.is_empty(),
        "pages missing from the sweep (add them with A's ids): {unvisited:?} (routed: {routed:?})"
    );
    for path in pages.iter().map(|(_, p)| p.clone()).chain([
        "/usage.csv".to_string(),
        "/audit.csv".to_string(),
        "/account/export.json".to_string(),
        format!("/sso/start?workspace={}", ids.workspace),
        "/sso/callback?state=0123abcd&code=x".to_string(),
        "/status.json".to_string(),
        "/metrics".to_string(),
    ]) {
        let resp = b.get(&path).await;
        let status = resp.status();
        // The page names the address B asked for (the router's state); nothing else of A's.
        let mut body = resp.text().await.unwrap().replace(&path, "");
        for own in ids.all() {
            // An id B's own request carried (in the path or query) is B's words, not a leak.
            if path.contains(own) {
                body = body.replace(own, "");
            }
        }
        let leaked = leaks(&body);
        if status == 500 || !leaked.is_empty() {
            failures.push(format!("GET {path}: {status}, carries A's {leaked:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A's things are as they were.
    assert_eq!(snapshot(&a, &ids).await, before);

    // Without a session: every function with A's ids is refused (401/403/404) or public, and
    // no answer carries anything of A's.
    let mut anon_refused = 0;
    for r in &rows {
        let (status, body) = call(&anonymous, r.name, &r.args).await;
        let leaked = leaks(&body);
        let refused = matches!(status, 401 | 403 | 404);
        anon_refused += usize::from(refused);
        if status == 500 || !leaked.is_empty() || (r.expect == Expect::NotFound && !refused) {
            failures.push(format!(
                "no session, {}: got {status} {body:.200} (carries A's {leaked:?})",
                r.name
            ));
        }
    }

    // A viewer of A's workspace: the same calls with the same ids. A viewer may read A's
    // things (that is what the role is for) but changes none of them: no error, A's view and
    // the workspace's rows as they were. (`leave_workspace` is the viewer's own right, and
    // would end the sweep early; the teams matrix covers it.)
    let viewer = app.client();
    viewer.sign_up("v@example.com").await;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at)
         SELECT $1, id, 'viewer', 1 FROM users WHERE email = 'v@example.com'",
    )
    .bind(&ids.workspace)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let rows_before = fingerprint(&app, &ids.workspace).await;
    let (mut viewer_read, mut viewer_refused) = (0, 0);
    for r in rows
        .iter()
        .filter(|r| r.caller == Caller::B && r.name != "leave_workspace")
    {
        let (status, body) = call(&viewer, r.name, &r.args).await;
        if status == 500 {
            failures.push(format!("viewer, {}: got {status} {body:.200}", r.name));
        }
        if r.expect == Expect::NotFound {
            if status < 300 {
                viewer_read += 1;
            } else {
                viewer_refused += 1;
            }
        }
    }
    for path in [
        format!("/files/{}/download", ids.file),
        format!("/files/{}/thumb", ids.file),
    ] {
        let status = viewer.get(&path).await.status();
        if status == 500 {
            failures.push(format!("viewer, GET {path}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        snapshot(&a, &ids).await,
        before,
        "a viewer changed A's things"
    );
    assert_eq!(
        fingerprint(&app, &ids.workspace).await,
        rows_before,
        "a viewer changed rows of A's workspace"
    );
    eprintln!(
        "cross-tenant sweep: {} functions by another user, {} routes and pages; without a session {anon_refused} refused; \
         a viewer read {viewer_read} and was refused {viewer_refused} of the id-taking calls",
        rows.len(),
        ROUTES.len() + pages.len()
    );
}

/// How many rows of each kind A's workspace has (a change anyone made shows here).
async fn fingerprint(app: &TestApp, workspace: &str) -> Vec<(String, i64)> {
    let mut out = vec![];
    for t in [
        "vaults",
        "folders",
        "files",
        "uploads",
        "share_links",
        "api_keys",
        "webhook_endpoints",
        "restore_requests",
        "invites",
        "memberships",
        "bulk_ops",
        "workspace_sso",
        "subscriptions",
    ] {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {t} WHERE workspace_id = $1"
        )))
        .bind(workspace)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        out.push((t.to_string(), n));
    }
    let files: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, name, storage_class, CAST(COALESCE(deleted_at, 0) AS BIGINT) FROM files
         WHERE workspace_id = $1 ORDER BY id",
    )
    .bind(workspace)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    out.extend(
        files
            .into_iter()
            .map(|(id, name, class, del)| (format!("{id} {name} {class}"), del)),
    );
    out
}

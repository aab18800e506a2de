//! The REST API (`/api/v1`) as a program uses it: keys and their scopes, every route refused
//! to the wrong key, the upload flow through presigned URLs, idempotency, rate limits, error
//! bodies, and signed webhooks delivered to a real HTTP receiver.
use crate::support::{TestApp, part_sum, random_bytes, sha_hex};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A key made on the Developer page by the signed-in person of `c`.
async fn make_key(
    c: &crate::support::Client,
    scopes: &[&str],
    vault: Option<&str>,
) -> (String, String) {
    let a = c
        .call_json(
            "create_api_key",
            json!({"new": {"name": "test key", "scopes": scopes, "vault_id": vault}}),
        )
        .await;
    assert_eq!(a.status, 200, "create_api_key: {:?}", a.body);
    (
        a.body["key"]["id"].as_str().unwrap().to_string(),
        a.body["secret"].as_str().unwrap().to_string(),
    )
}

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    fn new(app: &TestApp, key: &str) -> Api {
        Api {
            base: format!("{}/api/v1", app.base),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if !self.key.is_empty() {
            req = req.bearer_auth(&self.key);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(body), &[]).await
    }
}

/// Uploads `bytes` through the API's multipart flow; returns the file.
async fn api_upload(api: &Api, vault: &str, name: &str, bytes: &[u8]) -> Value {
    let t = api
        .post(
            "/uploads",
            json!({"vault_id": vault, "name": name, "size": bytes.len(), "content_type": "application/octet-stream", "folder_path": "from/api"}),
        )
        .await;
    assert_eq!(t.status, 201, "start: {:?}", t.body);
    assert_eq!(t.body["checksum_algorithm"], "CRC64NVME");
    let id = t.body["upload_id"].as_str().unwrap().to_string();
    let part_size = t.body["part_size"].as_u64().unwrap() as usize;
    let count = t.body["part_count"].as_i64().unwrap();
    let asks: Vec<Value> = (1..=count)
        .map(|n| json!({"number": n, "checksum": part_sum(crate::support::part_of(bytes, part_size, n))}))
        .collect();
    let urls = api
        .post(&format!("/uploads/{id}/parts"), json!({"parts": asks}))
        .await;
    assert_eq!(urls.status, 200, "parts: {:?}", urls.body);
    let mut parts = vec![];
    for p in urls.body["parts"].as_array().unwrap() {
        let n = p["number"].as_i64().unwrap();
        let resp =
            crate::support::put_part(p, crate::support::part_of(bytes, part_size, n).to_vec())
                .await;
        assert!(resp.status().is_success());
        parts.push(json!({"number": n, "etag": resp.headers()["etag"].to_str().unwrap()}));
    }
    let done = api
        .post(
            &format!("/uploads/{id}/parts/done"),
            json!({"parts": parts}),
        )
        .await;
    assert_eq!(done.status, 204, "{:?}", done.body);
    let f = api
        .post(
            &format!("/uploads/{id}/complete"),
            json!({"sha256": sha_hex(bytes), "parts": parts}),
        )
        .await;
    assert_eq!(f.status, 200, "complete: {:?}", f.body);
    f.body
}

#[tokio::test]
async fn a_key_uploads_lists_and_downloads_through_presigned_urls() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("dev@example.com").await;
    let (_, secret) = make_key(&c, &["files:read", "files:write"], None).await;
    assert!(secret.starts_with("nxs_live_"));
    let api = Api::new(&app, &secret);

    let me = api.get("/me").await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["key"]["scopes"], "files:read files:write");
    assert!(me.headers.contains_key("ratelimit-remaining"));

    // Multipart (2 parts) and the one-URL flow for a small file.
    let big = random_bytes(9 * 1024 * 1024);
    let f = api_upload(&api, &vault, "big.bin", &big).await;
    assert_eq!(f["folder_path"], "from/api");
    let small = b"hello from a script".to_vec();
    let u = api
        .post(
            "/upload-url",
            json!({"vault_id": vault, "name": "small.txt", "size": small.len(), "content_type": "text/plain",
                   "folder_path": "", "checksum": part_sum(&small)}),
        )
        .await;
    assert_eq!(u.status, 201, "{:?}", u.body);
    let resp = crate::support::put_part(&u.body, small.clone()).await;
    assert!(resp.status().is_success());
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let id = u.body["upload_id"].as_str().unwrap();
    let done = api
        .post(
            &format!("/uploads/{id}/complete"),
            json!({"sha256": sha_hex(&small), "parts": [{"number": 1, "etag": etag}]}),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);

    // Listing follows the cursor: one per page.
    let mut seen = vec![];
    let mut cursor = String::new();
    loop {
        let page = api
            .get(&format!(
                "/vaults/{vault}/files?everywhere=true&limit=1&cursor={cursor}"
            ))
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for f in page.body["files"].as_array().unwrap() {
            seen.push(f["name"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(n) => cursor = urlencoding::encode(n).into_owned(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["big.bin", "small.txt"]);

    // Download: a presigned GET whose bytes hash as the file's SHA-256 says.
    let fid = f["id"].as_str().unwrap();
    let d = api.get(&format!("/files/{fid}/download")).await;
    assert_eq!(d.status, 200, "{:?}", d.body);
    let bytes = reqwest::get(d.body["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let details = api.get(&format!("/files/{fid}")).await;
    assert_eq!(details.body["sha256"].as_str().unwrap(), sha_hex(&bytes));

    // Rename and move (into a folder made first), then the trash and back.
    let made = api
        .post(
            &format!("/vaults/{vault}/folders"),
            json!({"path": "elsewhere"}),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let r = api
        .send(
            "PATCH",
            &format!("/files/{fid}"),
            Some(json!({"name": "renamed.bin", "folder_path": "elsewhere"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["folder_path"].as_str()),
        (Some("renamed.bin"), Some("elsewhere"))
    );
    assert_eq!(
        api.send("DELETE", &format!("/files/{fid}"), None, &[])
            .await
            .status,
        200
    );
    let back = api.post("/trash/restore", json!({"file_ids": [fid]})).await;
    assert_eq!(back.body["restored"], 1, "{:?}", back.body);
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field_never_a_500() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("input@example.com").await;
    let (_, secret) = make_key(&c, &["admin"], None).await;
    let api = Api::new(&app, &secret);
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        (
            "POST",
            "/vaults".into(),
            Some(json!({"nom": "x"})),
            422,
            "body",
        ),
        (
            "POST",
            "/vaults".into(),
            Some(json!({"name": ""})),
            422,
            "name",
        ),
        (
            "GET",
            format!("/vaults/{vault}/files?sort=sideways"),
            None,
            422,
            "sort",
        ),
        (
            "GET",
            format!("/vaults/{vault}/files?limit=100000"),
            None,
            422,
            "limit",
        ),
        (
            "GET",
            format!("/vaults/{vault}/files?desc=perhaps"),
            None,
            422,
            "query",
        ),
        (
            "POST",
            "/uploads".into(),
            Some(
                json!({"vault_id": vault, "name": "a", "size": -1, "content_type": "text/plain", "folder_path": ""}),
            ),
            422,
            "size",
        ),
        (
            "POST",
            "/uploads".into(),
            Some(
                json!({"vault_id": vault, "name": "../..", "size": 1, "content_type": "text/plain", "folder_path": ""}),
            ),
            422,
            "name",
        ),
        (
            "POST",
            "/keys".into(),
            Some(json!({"name": "k", "scopes": ["root"]})),
            422,
            "scopes",
        ),
        (
            "POST",
            "/webhooks".into(),
            Some(json!({"url": "ftp://x", "events": ["file.uploaded"]})),
            422,
            "url",
        ),
        (
            "POST",
            "/restores/estimate".into(),
            Some(json!({"file_ids": [], "days": 7})),
            422,
            "file_ids",
        ),
        ("GET", "/nowhere".into(), None, 404, ""),
    ];
    for (m, path, body, status, field) in cases {
        let r = api.send(m, &path, body, &[]).await;
        assert_eq!(r.status, status, "{m} {path}: {:?}", r.body);
        assert!(
            r.body["error"]["code"].is_string(),
            "{m} {path}: {:?}",
            r.body
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        if !field.is_empty() {
            assert_eq!(r.body["error"]["field"], field, "{m} {path}: {:?}", r.body);
        }
    }
    // Plain text where JSON belongs.
    let r = api
        .http
        .post(format!("{}/vaults", api.base))
        .bearer_auth(&secret)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn an_idempotency_key_creates_once_and_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("idem@example.com").await;
    let (_, secret) = make_key(&c, &["admin"], None).await;
    let api = Api::new(&app, &secret);
    let body = json!({"name": "Once"});
    let first = api
        .send(
            "POST",
            "/vaults",
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    // Retries, some at once.
    let again = futures_util::future::join_all((0..5).map(|_| {
        api.send(
            "POST",
            "/vaults",
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
    }))
    .await;
    for r in &again {
        assert_eq!(r.status, 201);
        assert_eq!(r.body["id"], first.body["id"]);
        assert_eq!(r.headers["idempotent-replayed"], "true");
    }
    let list = api.get("/vaults").await;
    let named: Vec<_> = list.body["vaults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == "Once")
        .collect();
    assert_eq!(named.len(), 1);
    // The same key for another request is refused.
    let other = api
        .send(
            "POST",
            "/vaults",
            Some(json!({"name": "Twice"})),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.body["error"]["field"], "Idempotency-Key");
    // Without the header, a second vault of that name is a conflict (not a replay).
    let dup = api.post("/vaults", body).await;
    assert_eq!(dup.status, 409);
    // A day on, the hourly purge forgets the kept answers.
    app.clock.advance_ms(25 * 3_600_000);
    app::jobs::schedule_periodic(&app.state).await.unwrap();
    run_jobs(&app).await;
    let (kept,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 0);
}

#[tokio::test]
async fn a_key_past_its_rate_is_told_when_to_come_back() {
    let app = TestApp::spawn_with(|c| c.api_rate_per_minute = 5).await;
    let c = app.client();
    c.sign_up("rate@example.com").await;
    let (_, secret) = make_key(&c, &["files:read"], None).await;
    let api = Api::new(&app, &secret);
    let mut last = None;
    for i in 0..6 {
        let r = api.get("/vaults").await;
        if i < 5 {
            assert_eq!(r.status, 200, "request {i}");
            assert_eq!(r.headers["ratelimit-limit"], "5");
            assert_eq!(
                r.headers["ratelimit-remaining"].to_str().unwrap(),
                (4 - i).to_string()
            );
        }
        last = Some(r);
    }
    let r = last.unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.body["error"]["code"], "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    // Another key has its own allowance.
    let (_, other) = make_key(&c, &["files:read"], None).await;
    assert_eq!(Api::new(&app, &other).get("/vaults").await.status, 200);
}

/// A's things the route table names.
struct Theirs {
    vault: String,
    file: String,
    folder: String,
    upload: String,
    restore: String,
    job: String,
    key: String,
    webhook: String,
    delivery: String,
}

impl Theirs {
    fn ids(&self) -> [&str; 9] {
        [
            &self.vault,
            &self.file,
            &self.folder,
            &self.upload,
            &self.restore,
            &self.job,
            &self.key,
            &self.webhook,
            &self.delivery,
        ]
    }
}

/// Every route the API serves, with A's ids in it, the scope it needs, and a body.
fn route_table(t: &Theirs) -> Vec<(&'static str, String, &'static str, Option<Value>)> {
    let (v, f) = (&t.vault, &t.file);
    vec![
        ("GET", "/me".into(), "", None),
        ("GET", "/vaults".into(), "files:read", None),
        (
            "POST",
            "/vaults".into(),
            "admin",
            Some(json!({"name": "New"})),
        ),
        ("GET", format!("/vaults/{v}"), "files:read", None),
        (
            "PATCH",
            format!("/vaults/{v}"),
            "admin",
            Some(json!({"name": "Renamed"})),
        ),
        ("DELETE", format!("/vaults/{v}?confirm=x"), "admin", None),
        ("GET", format!("/vaults/{v}/files"), "files:read", None),
        (
            "POST",
            format!("/vaults/{v}/folders"),
            "files:write",
            Some(json!({"path": "x"})),
        ),
        (
            "PATCH",
            format!("/folders/{}", t.folder),
            "files:write",
            Some(json!({"name": "z"})),
        ),
        (
            "DELETE",
            format!("/folders/{}", t.folder),
            "files:write",
            None,
        ),
        ("GET", format!("/files/{f}"), "files:read", None),
        (
            "PATCH",
            format!("/files/{f}"),
            "files:write",
            Some(json!({"name": "y"})),
        ),
        ("DELETE", format!("/files/{f}"), "files:write", None),
        (
            "POST",
            format!("/files/{f}/sha256"),
            "files:write",
            Some(json!({"sha256": "0".repeat(64), "crc64nvme": "AAAAAAAAAAA="})),
        ),
        (
            "POST",
            "/trash/restore".into(),
            "files:write",
            Some(json!({"file_ids": [f]})),
        ),
        ("GET", format!("/files/{f}/download"), "files:read", None),
        (
            "POST",
            format!("/files/{f}/class"),
            "files:write",
            Some(json!({"storage_class": "STANDARD_IA"})),
        ),
        (
            "POST",
            "/uploads".into(),
            "files:write",
            Some(
                json!({"vault_id": v, "name": "n", "size": 1, "content_type": "text/plain", "folder_path": ""}),
            ),
        ),
        (
            "POST",
            "/upload-url".into(),
            "files:write",
            Some(
                json!({"vault_id": v, "name": "n", "size": 1, "content_type": "text/plain", "folder_path": "", "checksum": "AAAAAA=="}),
            ),
        ),
        ("GET", format!("/uploads/{}", t.upload), "files:write", None),
        (
            "DELETE",
            format!("/uploads/{}", t.upload),
            "files:write",
            None,
        ),
        (
            "POST",
            format!("/uploads/{}/parts", t.upload),
            "files:write",
            Some(json!({"parts": [{"number": 1, "checksum": "AAAAAA=="}]})),
        ),
        (
            "POST",
            format!("/uploads/{}/parts/done", t.upload),
            "files:write",
            Some(json!({"parts": [{"number": 1, "etag": "\"e\""}]})),
        ),
        (
            "POST",
            format!("/uploads/{}/complete", t.upload),
            "files:write",
            Some(json!({"sha256": "0".repeat(64), "parts": [{"number": 1, "etag": "\"e\""}]})),
        ),
        (
            "POST",
            "/restores/estimate".into(),
            "files:read",
            Some(json!({"file_ids": [f], "days": 1})),
        ),
        (
            "POST",
            "/restores".into(),
            "restores:write",
            Some(json!({"file_ids": [f], "days": 1, "tier": "Bulk"})),
        ),
        ("GET", "/restores".into(), "files:read", None),
        (
            "GET",
            format!("/restores/{}", t.restore),
            "files:read",
            None,
        ),
        ("GET", "/jobs".into(), "files:read", None),
        ("GET", format!("/jobs/{}", t.job), "files:read", None),
        ("GET", "/usage".into(), "billing:read", None),
        ("GET", "/usage/daily".into(), "billing:read", None),
        ("GET", "/notifications".into(), "admin", None),
        ("GET", "/keys".into(), "admin", None),
        (
            "POST",
            "/keys".into(),
            "admin",
            Some(json!({"name": "k", "scopes": ["files:read"]})),
        ),
        (
            "POST",
            format!("/keys/{}/rotate", t.key),
            "admin",
            Some(json!({"grace_secs": 0})),
        ),
        ("DELETE", format!("/keys/{}", t.key), "admin", None),
        ("GET", "/webhooks".into(), "admin", None),
        (
            "POST",
            "/webhooks".into(),
            "admin",
            Some(json!({"url": "http://127.0.0.1:9/", "events": ["file.uploaded"]})),
        ),
        ("DELETE", format!("/webhooks/{}", t.webhook), "admin", None),
        (
            "GET",
            format!("/webhooks/{}/deliveries", t.webhook),
            "admin",
            None,
        ),
        (
            "POST",
            format!("/deliveries/{}/redeliver", t.delivery),
            "admin",
            Some(json!({})),
        ),
    ]
}

#[tokio::test]
async fn every_route_refuses_the_wrong_key() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("owner@example.com").await;
    let other_vault = a.call("create_vault", &[("name", "Other")]).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = crate::support::upload(&a, &vault, "secret.txt", b"secret").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (admin_id, admin) = make_key(&a, &["admin"], None).await;
    let full = Api::new(&app, &admin);
    // A's things of every kind the routes name.
    let folder = full
        .post(
            &format!("/vaults/{vault}/folders"),
            json!({"path": "private"}),
        )
        .await;
    let upload = a.start_upload(&vault, "wip.bin", "10", "").await;
    let archived = crate::support::upload(&a, &vault, "cold.bin", b"cold").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user_id: (String,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'owner@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    crate::support::to_class(&app.state, &user_id.0, &vault, &archived, "DEEP_ARCHIVE").await;
    let restore = full
        .post(
            "/restores",
            json!({"file_ids": [archived], "days": 1, "tier": "Bulk"}),
        )
        .await;
    assert_eq!(restore.status, 201, "{:?}", restore.body);
    let hook = full
        .post(
            "/webhooks",
            json!({"url": "http://127.0.0.1:9/a", "events": ["file.uploaded"]}),
        )
        .await;
    let webhook = hook.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        a.call("test_webhook", &[("endpoint_id", &webhook)])
            .await
            .status,
        200
    );
    let delivery = full
        .get(&format!("/webhooks/{webhook}/deliveries"))
        .await
        .body["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = app::core::new_id();
    sqlx::query(
        "INSERT INTO bulk_ops (id, workspace_id, vault_id, user_id, action, params, total, created_at, updated_at)
         SELECT $1, workspace_id, id, $2, 'trash', '{}', 20000, 1, 1 FROM vaults WHERE id = $3",
    )
    .bind(&job)
    .bind(&user_id.0)
    .bind(&vault)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let theirs = Theirs {
        vault: vault.clone(),
        file: file.clone(),
        folder: folder.body["id"].as_str().unwrap().to_string(),
        upload: upload.body["upload_id"].as_str().unwrap().to_string(),
        restore: restore.body["request_id"].as_str().unwrap().to_string(),
        job,
        key: admin_id.clone(),
        webhook,
        delivery,
    };

    let (revoked_id, revoked) = make_key(&a, &["admin"], None).await;
    assert_eq!(
        a.call("revoke_api_key", &[("key_id", &revoked_id)])
            .await
            .status,
        200
    );
    let soon = app.clock.now_ms() + 60_000;
    let expired = a
        .call_json(
            "create_api_key",
            json!({"new": {"name": "short", "scopes": ["admin"], "expires_at": soon}}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, elsewhere) = make_key(
        &a,
        &["files:read", "files:write", "restores:write"],
        Some(&other_vault),
    )
    .await;
    let b = app.client();
    b.sign_up("intruder@example.com").await;
    let (_, b_admin) = make_key(
        &b,
        &[
            "admin",
            "files:read",
            "files:write",
            "restores:write",
            "billing:read",
        ],
        None,
    )
    .await;
    app.clock.advance_ms(120_000);

    let table = route_table(&theirs);
    // The table and the OpenAPI document name the same routes: a route served but not
    // documented, or documented but not in this sweep, fails here.
    let spec: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for m in ["get", "post", "patch", "delete", "put"] {
            if item.get(m).is_some() {
                documented.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    let swept: std::collections::BTreeSet<String> = table
        .iter()
        .map(|(m, path, _, _)| {
            let mut p = format!("/api/v1{}", path.split('?').next().unwrap());
            for id in theirs.ids() {
                p = p.replace(id, "{id}");
            }
            format!("{m} {p}")
        })
        .collect();
    assert_eq!(documented, swept, "documented routes vs the sweep's table");
    // The document's constraints say what the API checks: the class pattern names exactly the
    // storage classes there are.
    let pattern =
        spec["components"]["schemas"]["ClassChange"]["properties"]["storage_class"]["pattern"]
            .as_str()
            .unwrap()
            .to_string();
    let named: Vec<&str> = pattern
        .trim_start_matches("^(")
        .trim_end_matches(")$")
        .split('|')
        .collect();
    assert_eq!(named, app::vaults::STORAGE_CLASSES, "{pattern}");
    assert_eq!(
        spec["components"]["schemas"]["RestoreAsk"]["properties"]["days"]["maximum"],
        app::tiers::MAX_RESTORE_DAYS
    );
    assert_eq!(
        spec["components"]["schemas"]["NewUpload"]["properties"]["size"]["maximum"],
        app::uploads::MAX_FILE_SIZE
    );

    for (m, path, scope, body) in &table {
        let no_key = Api::new(&app, "").send(m, path, body.clone(), &[]).await;
        assert_eq!(no_key.status, 401, "no key: {m} {path}");
        for (what, secret) in [("revoked", &revoked), ("expired", &expired)] {
            let r = Api::new(&app, secret)
                .send(m, path, body.clone(), &[])
                .await;
            assert_eq!(r.status, 401, "{what}: {m} {path}: {:?}", r.body);
        }
        // A key of another workspace: what names A's things is not found, and no answer
        // carries any of A's ids.
        let r = Api::new(&app, &b_admin)
            .send(m, path, body.clone(), &[])
            .await;
        let names_a = theirs.ids().iter().any(|id| {
            path.contains(id) || body.as_ref().is_some_and(|b| b.to_string().contains(id))
        });
        if names_a {
            assert!(
                matches!(r.status, 404 | 422),
                "other workspace: {m} {path}: {} {:?}",
                r.status,
                r.body
            );
        }
        let text = r.body.to_string();
        for id in theirs.ids() {
            assert!(
                !text.contains(id),
                "other workspace: {m} {path} answered A's id: {text}"
            );
        }
        // A key without the scope: 403 naming it.
        if !scope.is_empty() {
            let lacking: Vec<&str> = [
                "files:read",
                "files:write",
                "restores:write",
                "billing:read",
            ]
            .into_iter()
            .filter(|s| s != scope)
            .collect();
            let (_, weak) = make_key(&a, &lacking, None).await;
            let r = Api::new(&app, &weak).send(m, path, body.clone(), &[]).await;
            assert_eq!(r.status, 403, "without {scope}: {m} {path}: {:?}", r.body);
            assert!(r.body["error"]["message"].as_str().unwrap().contains(scope));
        }
        // A key kept to another vault: A's vault, files, folders, uploads, restores and jobs
        // there are not found (or refused).
        if theirs.ids()[..6].iter().any(|id| path.contains(id)) {
            let r = Api::new(&app, &elsewhere)
                .send(m, path, body.clone(), &[])
                .await;
            assert!(
                matches!(r.status, 404 | 403),
                "other vault: {m} {path}: {} {:?}",
                r.status,
                r.body
            );
        }
    }
    // Nothing of A's changed: the file is there under its name.
    let files = a.list_files(&vault).await;
    assert!(files.body.to_string().contains("secret.txt"));
    // B's key listing vaults sees only B's.
    let bv = Api::new(&app, &b_admin).get("/vaults").await;
    assert!(
        bv.body["vaults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["id"] != vault.as_str() && v["id"] != other_vault.as_str())
    );
    // The vault-kept key lists its one vault only.
    let ev = Api::new(&app, &elsewhere).get("/vaults").await;
    assert_eq!(ev.body["vaults"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_rotated_key_works_through_its_grace_period_only() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("rotate@example.com").await;
    let (id, old) = make_key(&c, &["files:read"], None).await;
    let r = c
        .call("rotate_api_key", &[("key_id", &id), ("grace_secs", "3600")])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(Api::new(&app, &old).get("/vaults").await.status, 200);
    assert_eq!(Api::new(&app, &new).get("/vaults").await.status, 200);
    app.clock.advance_ms(3_601_000);
    let gone = Api::new(&app, &old).get("/vaults").await;
    assert_eq!(gone.status, 401);
    assert!(
        gone.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(Api::new(&app, &new).get("/vaults").await.status, 200);
    // Rotating twice at once: one wins.
    let new_id = r.body["key"]["id"].as_str().unwrap().to_string();
    let form = [("key_id", new_id.as_str()), ("grace_secs", "0")];
    let (x, y) = tokio::join!(
        c.call("rotate_api_key", &form),
        c.call("rotate_api_key", &form)
    );
    let mut codes = [x.status, y.status];
    codes.sort();
    assert_eq!(codes, [200, 409]);
}

/// A webhook receiver: records each request; answers with the statuses queued (200 after).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(http::HeaderMap, String)>>>,
    answers: Arc<Mutex<Vec<u16>>>,
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, body: String| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push((headers, body));
                let code = {
                    let mut a = state.answers.lock().unwrap();
                    if a.is_empty() { 200 } else { a.remove(0) }
                };
                // A redirect points back here: followed, it would arrive twice.
                (
                    http::StatusCode::from_u16(code).unwrap(),
                    [(http::header::LOCATION, "/hook")],
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}/hook"))
}

/// Checks a delivery's signature as a receiver would (the README's recipe).
fn verify(headers: &http::HeaderMap, body: &str, secret: &str) -> bool {
    let sig = headers["nexus-signature"].to_str().unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2_11::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

async fn run_jobs(app: &TestApp) {
    app::jobs::run_due(&app.state, "test").await.unwrap();
}

#[tokio::test]
async fn webhooks_are_signed_retried_redelivered_and_disabled_after_three_days() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("hooks@example.com").await;
    let (_, secret) = make_key(&c, &["admin"], None).await;
    let api = Api::new(&app, &secret);
    let (rx, url) = receiver().await;
    let ep = api
        .post(
            "/webhooks",
            json!({"url": url, "events": ["file.uploaded", "file.deleted"]}),
        )
        .await;
    assert_eq!(ep.status, 201, "{:?}", ep.body);
    let signing = ep.body["secret"].as_str().unwrap().to_string();
    let ep_id = ep.body["id"].as_str().unwrap().to_string();

    // An upload: one delivery, signed, carrying the event id.
    let f = crate::support::upload(&c, &vault, "report.pdf", b"%PDF-1.7").await;
    run_jobs(&app).await;
    {
        let got = rx.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (h, body) = &got[0];
        assert!(verify(h, body, &signing), "signature");
        assert!(!verify(h, body, "whsec_wrong"));
        let ev: Value = serde_json::from_str(body).unwrap();
        assert_eq!(ev["type"], "file.uploaded");
        assert_eq!(ev["data"]["file"]["id"], f["id"]);
        assert_eq!(
            h["nexus-event-id"].to_str().unwrap(),
            ev["id"].as_str().unwrap()
        );
    }

    // A redirect is not followed: it counts as a failed try.
    rx.answers.lock().unwrap().push(302);
    api_upload(&api, &vault, "moved.bin", b"moved").await;
    run_jobs(&app).await;
    assert_eq!(
        rx.got.lock().unwrap().len(),
        2,
        "one request, to the endpoint only"
    );
    app.clock.advance_ms(31_000);
    run_jobs(&app).await;
    assert_eq!(rx.got.lock().unwrap().len(), 3, "retried after the backoff");
    rx.got.lock().unwrap().truncate(1);

    // A 500, then a retry after the backoff with the same event id.
    rx.answers.lock().unwrap().push(500);
    let fid = f["id"].as_str().unwrap();
    assert_eq!(
        api.send("DELETE", &format!("/files/{fid}"), None, &[])
            .await
            .status,
        200
    );
    run_jobs(&app).await;
    assert_eq!(rx.got.lock().unwrap().len(), 2);
    run_jobs(&app).await;
    assert_eq!(rx.got.lock().unwrap().len(), 2, "not before the backoff");
    app.clock.advance_ms(31_000);
    run_jobs(&app).await;
    let (first, second) = {
        let got = rx.got.lock().unwrap();
        assert_eq!(got.len(), 3);
        (
            got[1].0["nexus-event-id"].clone(),
            got[2].0["nexus-event-id"].clone(),
        )
    };
    assert_eq!(first, second);
    let list = api.get(&format!("/webhooks/{ep_id}/deliveries")).await;
    let states: Vec<&str> = list.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["succeeded"; 3]);
    let d = &list.body["deliveries"][0];
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_status"], 200);

    // Redeliver: the same event again, as a new delivery.
    let did = d["id"].as_str().unwrap();
    assert_eq!(
        api.post(&format!("/deliveries/{did}/redeliver"), json!({}))
            .await
            .status,
        202
    );
    run_jobs(&app).await;
    assert_eq!(rx.got.lock().unwrap().len(), 4);

    // Failing for 3 days: retried with backoff, then the endpoint is disabled and its maker told.
    rx.answers
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(503, 1000));
    crate::support::upload(&c, &vault, "again.pdf", b"%PDF-1.7 again").await;
    run_jobs(&app).await;
    for _ in 0..30 {
        app.clock.advance_ms(6 * 3600 * 1000);
        run_jobs(&app).await;
    }
    let eps = api.get("/webhooks").await;
    assert!(
        eps.body["webhooks"][0]["disabled_at"].is_i64(),
        "{:?}",
        eps.body
    );
    let tries = rx.got.lock().unwrap().len();
    assert!(tries > 10, "{tries} tries");
    // (The session ran out in those days; the key reads the notifications.)
    let notes = api.get("/notifications").await;
    assert!(
        notes
            .body
            .to_string()
            .contains("webhook endpoint was disabled"),
        "{:?}",
        notes.body
    );
    // No more deliveries once disabled.
    api_upload(&api, &vault, "third.pdf", b"%PDF third").await;
    app.clock.advance_ms(60_000);
    run_jobs(&app).await;
    assert_eq!(rx.got.lock().unwrap().len(), tries);
}

#[tokio::test]
async fn a_workspace_with_a_backlog_does_not_hold_back_another_workspaces_events() {
    let app = TestApp::spawn().await;
    let (rx, url) = receiver().await;
    let mut endpoints = vec![];
    for who in ["busy@example.com", "quiet@example.com"] {
        let c = app.client();
        c.sign_up(who).await;
        let (_, secret) = make_key(&c, &["admin"], None).await;
        let ep = Api::new(&app, &secret)
            .post(
                "/webhooks",
                json!({"url": url, "events": ["file.uploaded"]}),
            )
            .await;
        assert_eq!(ep.status, 201, "{:?}", ep.body);
        endpoints.push(ep.body["id"].as_str().unwrap().to_string());
    }
    // 120 events of the busy workspace, due first; then one of the quiet one.
    let db = &app.state.db.pool;
    let now = app.clock.now_ms();
    for (i, (endpoint, count)) in [(&endpoints[0], 120), (&endpoints[1], 1)]
        .into_iter()
        .enumerate()
    {
        for n in 0..count {
            let event = format!("evt_{i}_{n}");
            sqlx::query(
                "INSERT INTO webhook_events (id, workspace_id, type, payload, created_at)
                 SELECT $1, workspace_id, 'file.uploaded', $2, $3 FROM webhook_endpoints WHERE id = $4",
            )
            .bind(&event)
            .bind(json!({"id": event, "who": i}).to_string())
            .bind(now)
            .bind(endpoint)
            .execute(db)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, state, next_at, created_at)
                 VALUES ($1, $2, $3, 'pending', $4, $4)",
            )
            .bind(app::core::new_id())
            .bind(endpoint)
            .bind(&event)
            .bind(now - 1000 + i as i64 * 500 + n)
            .execute(db)
            .await
            .unwrap();
        }
    }
    app::core::jobs::wake(&app.state.db, app::events::DELIVER_WEBHOOKS, now)
        .await
        .unwrap();
    run_jobs(&app).await;
    let got = rx.got.lock().unwrap();
    assert_eq!(got.len(), 121);
    let quiet = got
        .iter()
        .position(|(_, body)| body.contains("\"who\":1"))
        .unwrap();
    // In the first round of sends, not after the busy workspace's first 50.
    assert!(quiet < 8, "the quiet workspace's event went out {quiet}th");
}

#[tokio::test]
async fn webhook_urls_inside_the_network_are_refused() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = false).await;
    let c = app.client();
    c.sign_up("ssrf@example.com").await;
    let (_, secret) = make_key(&c, &["admin"], None).await;
    let api = Api::new(&app, &secret);
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://user:pw@example.com/",
        "file:///etc/passwd",
    ] {
        let r = api
            .post(
                "/webhooks",
                json!({"url": url, "events": ["file.uploaded"]}),
            )
            .await;
        assert_eq!(r.status, 422, "{url}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "url");
    }
}

#[test]
fn public_addresses_are_told_from_private_ones() {
    use app::core::outbound::is_public;
    for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
        assert!(is_public(ip.parse().unwrap()), "{ip}");
    }
    for ip in [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ] {
        assert!(!is_public(ip.parse().unwrap()), "{ip}");
    }
}

#[tokio::test]
async fn a_limited_key_cannot_widen_itself() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("limits@example.com").await;
    let (_, full) = make_key(&c, &["admin"], None).await;
    let (full_id, _) = (
        Api::new(&app, &full).get("/me").await.body["key"]["id"].clone(),
        (),
    );
    // An admin key kept to one vault: no keys, no webhooks, no workspace usage.
    let (_, kept) = make_key(&c, &["admin", "billing:read"], Some(&vault)).await;
    let k = Api::new(&app, &kept);
    for (m, path, body) in [
        ("GET", "/keys".to_string(), None),
        (
            "POST",
            "/keys".to_string(),
            Some(json!({"name": "wide", "scopes": ["admin"]})),
        ),
        (
            "POST",
            format!("/keys/{}/rotate", full_id.as_str().unwrap()),
            Some(json!({"grace_secs": 600})),
        ),
        ("GET", "/webhooks".to_string(), None),
        (
            "POST",
            "/webhooks".to_string(),
            Some(json!({"url": "http://127.0.0.1:9/", "events": ["file.uploaded"]})),
        ),
        ("GET", "/usage".to_string(), None),
    ] {
        let r = k.send(m, &path, body, &[]).await;
        assert_eq!(r.status, 403, "{m} {path}: {:?}", r.body);
    }
    // A key that expires makes only keys that expire by then.
    let soon = app.clock.now_ms() + 3_600_000;
    let short = c
        .call_json(
            "create_api_key",
            json!({"new": {"name": "ci", "scopes": ["admin"], "expires_at": soon}}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let s = Api::new(&app, &short);
    let lasting = s
        .post(
            "/keys",
            json!({"name": "forever", "scopes": ["files:read"]}),
        )
        .await;
    assert_eq!(lasting.status, 422, "{:?}", lasting.body);
    assert_eq!(lasting.body["error"]["field"], "expires_at");
    let ok = s
        .post(
            "/keys",
            json!({"name": "brief", "scopes": ["files:read"], "expires_at": soon - 1000}),
        )
        .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    // Its secret is in that answer only: a replay of the same request does not repeat it.
    let body = json!({"name": "once", "scopes": ["files:read"], "expires_at": soon - 1000});
    let first = s
        .send(
            "POST",
            "/keys",
            Some(body.clone()),
            &[("idempotency-key", "mint-1")],
        )
        .await;
    assert!(
        first.body["secret"]
            .as_str()
            .unwrap()
            .starts_with("nxs_live_")
    );
    let again = s
        .send(
            "POST",
            "/keys",
            Some(body),
            &[("idempotency-key", "mint-1")],
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["key"]["id"], first.body["key"]["id"]);
    assert!(
        !again.body["secret"].as_str().unwrap().contains("nxs_live_"),
        "{:?}",
        again.body
    );
    // A key stops when its maker leaves the workspace.
    sqlx::query("DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'limits@example.com')")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(Api::new(&app, &full).get("/me").await.status, 401);
}

#[tokio::test]
async fn nul_bytes_and_folder_paths_are_input_not_errors() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("nul@example.com").await;
    let (_, secret) = make_key(&c, &["admin"], None).await;
    let api = Api::new(&app, &secret);
    for path in [
        "/files/%00".to_string(),
        format!("/vaults/{vault}/files?path=%00"),
        format!("/vaults/{vault}/files?q=a%00b"),
    ] {
        let r = api.get(&path).await;
        assert_eq!(r.status, 422, "{path}: {:?}", r.body);
    }
    let r = api.post("/vaults", json!({"name": "a\u{0}b"})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    // A folder with its missing parents, then the same again: a conflict.
    let made = api
        .post(
            &format!("/vaults/{vault}/folders"),
            json!({"path": "a/b/c"}),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["path"], "a/b/c");
    let again = api
        .post(
            &format!("/vaults/{vault}/folders"),
            json!({"path": "a/b/c"}),
        )
        .await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    let deeper = api
        .post(
            &format!("/vaults/{vault}/folders"),
            json!({"path": "a/b/d"}),
        )
        .await;
    assert_eq!(deeper.status, 201, "{:?}", deeper.body);
}

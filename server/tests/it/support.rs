//! `TestApp`: a running server, its state, and a cookie-keeping HTTP client that behaves like
//! our own pages (it sends `Origin`).
use std::sync::Arc;

use app::core::config::S3Settings;
use app::core::{AppState, Clock, Config};
use leptos::config::LeptosOptions;
use reqwest::header::{HeaderMap, HeaderValue};

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: Clock,
    shutdown: server::Shutdown,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A fresh database URL: SQLite in `dir`, or a new database on the PostgreSQL server named by
/// `TEST_DATABASE_URL`.
async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        None => format!("sqlite://{}?mode=rwc", dir.join("nexus.db").display()),
        Some(admin_url) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let name = format!("t_{}", uuid::Uuid::now_v7().simple());
            let mut conn = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            conn.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("TEST_DATABASE_URL has a database name");
            format!("{base}/{name}")
        }
    }
}

/// S3 settings for tests: `TEST_S3_ENDPOINT` (with `TEST_S3_ACCESS_KEY`/`TEST_S3_SECRET_KEY`,
/// default `test`/`test` as moto takes) or the embedded endpoint on port 0.
fn s3_settings(bucket: &str) -> S3Settings {
    let external = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty());
    let key = |k: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "test".into())
    };
    S3Settings {
        embedded: external.is_none(),
        access_key_id: external.as_ref().map(|_| key("TEST_S3_ACCESS_KEY")),
        secret_access_key: external.as_ref().map(|_| key("TEST_S3_SECRET_KEY")),
        endpoint: external,
        bucket: bucket.into(),
        region: "us-east-1".into(),
        force_path_style: true,
        embedded_addr: "127.0.0.1:0".into(),
        embedded_public_url: None,
        timeout_secs: 30,
        embedded_abort_days: 7,
    }
}

pub fn using_external_s3() -> bool {
    std::env::var("TEST_S3_ENDPOINT").is_ok_and(|v| !v.is_empty())
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber_init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(dir.path()).await;
        // A bucket per test keeps tests on a shared external S3 apart; the embedded endpoint
        // is private to the test and keeps the default name (s3s-fs puts bucket and key,
        // base64-encoded, in one file name, so long names overflow 255 bytes).
        let bucket = if using_external_s3() {
            format!("nt-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
        } else {
            "nexus".to_string()
        };
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url,
            listen_addr: "127.0.0.1:0".into(),
            public_url: String::new(),
            s3: s3_settings(&bucket),
            presign_ttl_secs: 900,
            session_ttl_hours: 24,
            login_window_secs: 900,
            login_max_failures_per_account: 5,
            login_max_failures_per_account_all: 50,
            login_max_failures_per_ip: 30,
            signup_max_per_ip_per_hour: 1000,
            trust_proxy: false,
            upload_abandon_hours: 24 * 7,
            audit_retention_days: 400,
            // Tests run jobs themselves (`jobs::run_due`), on their own clock.
            run_jobs: false,
            smtp_url: std::env::var("TEST_SMTP_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            mail_from: "Nexus Tests <tests@nexus.test>".into(),
            restore_poll_min_secs: 1,
            restore_poll_max_secs: 5,
            // Tests reach every tier and class; the Free plan's limits have their own tests.
            default_plan: "pro".into(),
            billing: None,
            // The webhook receivers of the tests listen on loopback.
            webhook_allow_private: true,
            sso_allow_private: true,
            metrics_token: Some("test-metrics-token".into()),
            api_rate_per_minute: 600,
            api_bad_keys_per_minute: 10_000,
        };
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.public_url = format!("http://{addr}");
        let leptos = LeptosOptions::builder()
            .output_name("nexus")
            .site_addr(addr)
            .build();
        let clock = Clock::default();
        let shutdown = server::Shutdown::new();
        let running = server::launch(config, leptos, listener, clock.clone(), shutdown.clone())
            .await
            .expect("server starts");
        TestApp {
            base: format!("http://{addr}"),
            state: running.state,
            clock,
            shutdown,
            _dir: dir,
        }
    }

    /// A browser-like client with its own cookie jar.
    pub fn client(&self) -> Client {
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_str(&self.base).unwrap());
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            // A hung request fails its test with a clear error instead of hanging the suite.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        Client {
            http,
            base: self.base.clone(),
        }
    }

    /// The S3 key and S3 upload id behind one of our uploads.
    pub async fn s3_names(&self, upload_id: &str) -> (String, String) {
        sqlx::query_as(
            "SELECT f.s3_key, u.s3_upload_id FROM uploads u JOIN files f ON f.id = u.file_id WHERE u.id = $1",
        )
        .bind(upload_id)
        .fetch_one(&self.state.db.pool)
        .await
        .unwrap()
    }

    /// The S3 key of one of our files.
    pub async fn s3_key_of(&self, file_id: &str) -> String {
        let (key,): (String,) = sqlx::query_as("SELECT s3_key FROM files WHERE id = $1")
            .bind(file_id)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap();
        key
    }

    #[allow(dead_code)]
    pub fn config(&self) -> Arc<Config> {
        self.state.config.clone()
    }
}

fn tracing_subscriber_init() -> Result<(), ()> {
    let filter = server::log_filter(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init()
        .map_err(|_| ())
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

/// A server function's answer: status and body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn message(&self) -> String {
        // Errors are the `AppError` enum in JSON: {"Variant": {..., "message": ...}}
        self.body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.get("message").or_else(|| v.get("reason")))
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string()
    }
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Calls a server function with form-encoded arguments, as our forms and client do.
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> Answer {
        let resp = self
            .http
            .post(self.url(&format!("/api/{name}")))
            .form(form)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// Calls a server function whose arguments are JSON.
    /// Every live file of a vault (flat, most recently changed first), as `list_page` gives
    /// them: the body is the list of files.
    pub async fn list_files(&self, vault_id: &str) -> Answer {
        let mut a = self
            .call_json(
                "list_page",
                serde_json::json!({
                    "query": { "vault_id": vault_id, "everywhere": true, "sort": "modified", "desc": true },
                    "limit": 500,
                }),
            )
            .await;
        if a.status == 200 {
            a.body = a.body["files"].clone();
        }
        a
    }

    pub async fn call_json(&self, name: &str, body: serde_json::Value) -> Answer {
        let resp = self
            .http
            .post(self.url(&format!("/api/{name}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Signs up; returns the id of the vault sign-up made.
    pub async fn sign_up(&self, email: &str) -> String {
        let a = self
            .call("sign_up", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(a.status, 200, "sign-up failed: {:?}", a.body);
        // Sign-up answers the same whether or not the address has an account, so it signs
        // nobody in: the new account signs in with its password.
        let a = self.sign_in(email, PASSWORD).await;
        assert_eq!(a.status, 200, "sign-in after sign-up failed: {:?}", a.body);
        let vaults = self.call("list_vaults", &[]).await;
        assert_eq!(vaults.status, 200);
        vaults.body[0]["id"].as_str().unwrap().to_string()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.call("sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn start_upload(
        &self,
        vault_id: &str,
        name: &str,
        size: &str,
        content_type: &str,
    ) -> Answer {
        self.start_upload_with(serde_json::json!({
            "vault_id": vault_id,
            "name": name,
            "size": size.parse::<i64>().unwrap(),
            "content_type": content_type,
        }))
        .await
    }

    /// `start_upload` with any fields of `NewUpload` (the rest take defaults).
    pub async fn start_upload_with(&self, fields: serde_json::Value) -> Answer {
        let mut req = serde_json::json!({
            "vault_id": "", "name": "", "size": 0, "content_type": "", "folder_path": "",
            "last_modified": 0, "sha256": null, "on_duplicate": null,
        });
        for (k, v) in fields.as_object().unwrap() {
            req[k] = v.clone();
        }
        self.call_json("start_upload", serde_json::json!({ "req": req }))
            .await
    }

    /// Part URLs declaring a placeholder checksum (for tests that PUT no bytes).
    pub async fn presign(&self, upload_id: &str, parts: &[i64]) -> Answer {
        let sum = part_sum(b"");
        let parts: Vec<_> = parts
            .iter()
            .map(|n| serde_json::json!({"number": n, "checksum": sum}))
            .collect();
        let body = serde_json::json!({"upload_id": upload_id, "parts": parts});
        self.call_json("presign_parts", body).await
    }

    /// Part URLs for these parts of `bytes`, each signing its real checksum.
    pub async fn presign_bytes(
        &self,
        upload_id: &str,
        part_size: usize,
        bytes: &[u8],
        numbers: &[i64],
    ) -> Answer {
        let parts: Vec<_> = numbers
            .iter()
            .map(|&n| {
                let chunk = part_of(bytes, part_size, n);
                serde_json::json!({"number": n, "checksum": part_sum(chunk)})
            })
            .collect();
        let body = serde_json::json!({"upload_id": upload_id, "parts": parts});
        self.call_json("presign_parts", body).await
    }

    pub async fn parts_done(&self, upload_id: &str, parts: &serde_json::Value) -> Answer {
        self.call_json(
            "parts_done",
            serde_json::json!({"upload_id": upload_id, "parts": parts}),
        )
        .await
    }

    pub async fn complete(
        &self,
        upload_id: &str,
        bytes: &[u8],
        parts: &serde_json::Value,
        on_duplicate: Option<&str>,
    ) -> Answer {
        self.call_json(
            "complete_upload",
            serde_json::json!({"upload_id": upload_id, "sha256": sha_hex(bytes),
                "parts": parts, "on_duplicate": on_duplicate}),
        )
        .await
    }

    pub async fn current_user(&self) -> serde_json::Value {
        self.call("current_user", &[]).await.body
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// A part's checksum as the browser sends it (CRC64NVME, base64).
pub fn part_sum(bytes: &[u8]) -> String {
    app::uploads::UPLOAD_PART_CHECKSUM.of(bytes)
}

pub fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Part `n` (1-based) of `bytes` in parts of `part_size`.
pub fn part_of(bytes: &[u8], part_size: usize, n: i64) -> &[u8] {
    let n = n as usize;
    &bytes[((n - 1) * part_size).min(bytes.len())..(n * part_size).min(bytes.len())]
}

/// PUTs `body` to a presigned part URL (a `PartUrl` as JSON) with the headers it signs, as
/// the browser does.
pub async fn put_part(url: &serde_json::Value, body: Vec<u8>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .put(url["url"].as_str().unwrap())
        .header("content-type", "application/octet-stream");
    for h in url["headers"].as_array().unwrap() {
        req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    // An empty body goes without a Content-Length unless it is said; the URL signs it.
    req.header("content-length", body.len())
        .body(body)
        .send()
        .await
        .unwrap()
}

/// PUTs the given parts of `bytes` and reports them stored, as the browser does; returns the
/// parts as `complete_upload` wants them.
pub async fn send_parts(
    c: &Client,
    upload_id: &str,
    part_size: usize,
    bytes: &[u8],
    numbers: &[i64],
) -> Vec<serde_json::Value> {
    let urls = c.presign_bytes(upload_id, part_size, bytes, numbers).await;
    assert_eq!(urls.status, 200, "presign_parts: {:?}", urls.body);
    let mut parts = vec![];
    for p in urls.body.as_array().unwrap() {
        let n = p["number"].as_i64().unwrap();
        let resp = put_part(p, part_of(bytes, part_size, n).to_vec()).await;
        assert!(resp.status().is_success(), "part {n}: {}", resp.status());
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        parts.push(serde_json::json!({"number": n, "etag": etag}));
    }
    let done = c
        .parts_done(upload_id, &serde_json::Value::Array(parts.clone()))
        .await;
    assert_eq!(done.status, 200, "parts_done: {:?}", done.body);
    parts
}

/// Starts an upload and PUTs every part straight to S3 as the browser does, without
/// completing it. Returns the upload id and the parts list `complete_upload` wants.
pub async fn upload_parts(
    c: &Client,
    vault_id: &str,
    name: &str,
    bytes: &[u8],
) -> (String, serde_json::Value) {
    upload_parts_in(c, vault_id, "", name, bytes).await
}

/// [`upload_parts`] into the folder at `folder_path` ('' for the top level).
pub async fn upload_parts_in(
    c: &Client,
    vault_id: &str,
    folder_path: &str,
    name: &str,
    bytes: &[u8],
) -> (String, serde_json::Value) {
    let t = c
        .start_upload_with(serde_json::json!({
            "vault_id": vault_id, "name": name, "size": bytes.len(),
            "content_type": "application/octet-stream", "folder_path": folder_path,
        }))
        .await;
    assert_eq!(t.status, 200, "start_upload: {:?}", t.body);
    let upload_id = t.body["upload_id"].as_str().unwrap().to_string();
    let part_size = t.body["part_size"].as_i64().unwrap() as usize;
    let count = t.body["part_count"].as_i64().unwrap();
    let numbers: Vec<i64> = (1..=count).collect();
    let parts = send_parts(c, &upload_id, part_size, bytes, &numbers).await;
    (upload_id, serde_json::Value::Array(parts))
}

/// Uploads `bytes` into the vault through the presigned multipart flow, as the browser does.
/// Returns the file entry JSON.
pub async fn upload(c: &Client, vault_id: &str, name: &str, bytes: &[u8]) -> serde_json::Value {
    upload_in(c, vault_id, "", name, bytes).await
}

/// [`upload`] into the folder at `folder_path`.
pub async fn upload_in(
    c: &Client,
    vault_id: &str,
    folder_path: &str,
    name: &str,
    bytes: &[u8],
) -> serde_json::Value {
    let (upload_id, parts) = upload_parts_in(c, vault_id, folder_path, name, bytes).await;
    let done = c.complete(&upload_id, bytes, &parts, None).await;
    assert_eq!(done.status, 200, "complete_upload: {:?}", done.body);
    done.body
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

/// Moves one of the user's files to `class` through the app's service (as the class dialog
/// does).
pub async fn to_class(
    st: &app::core::AppState,
    user_id: &str,
    vault_id: &str,
    file_id: &str,
    class: &str,
) {
    app::files::bulk::apply(
        st,
        &app::core::Actor::job_for(user_id),
        app::files::bulk::BulkAction::Class { to: class.into() },
        app::files::Selection {
            vault_id: vault_id.into(),
            file_ids: vec![file_id.into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

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
            login_max_failures_per_ip: 30,
            signup_max_per_ip_per_hour: 1000,
            trust_proxy: false,
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
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// Signs up; returns the id of the vault sign-up made.
    pub async fn sign_up(&self, email: &str) -> String {
        let a = self
            .call("sign_up", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(a.status, 200, "sign-up failed: {:?}", a.body);
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
        let form = [
            ("vault_id", vault_id),
            ("name", name),
            ("size", size),
            ("content_type", content_type),
        ];
        self.call("start_upload", &form).await
    }

    pub async fn presign(&self, upload_id: &str, parts: &[i64]) -> Answer {
        let body = serde_json::json!({"upload_id": upload_id, "parts": parts});
        self.call_json("presign_parts", body).await
    }

    pub async fn current_user(&self) -> serde_json::Value {
        self.call("current_user", &[]).await.body
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// Starts an upload and PUTs every part straight to S3 as the browser does, without
/// completing it. Returns the upload id and the parts list `complete_upload` wants.
pub async fn upload_parts(
    c: &Client,
    vault_id: &str,
    name: &str,
    bytes: &[u8],
) -> (String, serde_json::Value) {
    let size = bytes.len().to_string();
    let t = c
        .start_upload(vault_id, name, &size, "application/octet-stream")
        .await;
    assert_eq!(t.status, 200, "start_upload: {:?}", t.body);
    let upload_id = t.body["upload_id"].as_str().unwrap().to_string();
    let part_size = t.body["part_size"].as_i64().unwrap() as usize;
    let count = t.body["part_count"].as_i64().unwrap();
    let numbers: Vec<i64> = (1..=count).collect();
    let urls = c
        .call_json(
            "presign_parts",
            serde_json::json!({"upload_id": upload_id, "parts": numbers}),
        )
        .await;
    assert_eq!(urls.status, 200, "presign_parts: {:?}", urls.body);
    let plain = reqwest::Client::new();
    let mut parts = vec![];
    for p in urls.body.as_array().unwrap() {
        let n = p["number"].as_i64().unwrap() as usize;
        let chunk = &bytes[(n - 1) * part_size..(n * part_size).min(bytes.len())];
        let resp = plain
            .put(p["url"].as_str().unwrap())
            .header("content-type", "application/octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "part {n}: {}", resp.status());
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        parts.push(serde_json::json!({"number": n, "etag": etag}));
    }
    (upload_id, serde_json::Value::Array(parts))
}

/// Uploads `bytes` into the vault through the presigned multipart flow, as the browser does.
/// Returns the file entry JSON.
pub async fn upload(c: &Client, vault_id: &str, name: &str, bytes: &[u8]) -> serde_json::Value {
    let (upload_id, parts) = upload_parts(c, vault_id, name, bytes).await;
    let done = c
        .call_json(
            "complete_upload",
            serde_json::json!({"upload_id": upload_id, "parts": parts}),
        )
        .await;
    assert_eq!(done.status, 200, "complete_upload: {:?}", done.body);
    done.body
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

//! The REST API v1 client (reference: /docs/api on the server): bearer auth, JSON in and out, transient
//! failures retried, and the server's error envelope decoded into [`ApiError`], whose status
//! picks the exit code.
//!
//! Presigned storage URLs (part PUTs, downloads) go through [`Client::http`] instead: they
//! carry their own signature, and an `Authorization` header next to it would make S3 refuse
//! the request (and hand the API key to the storage endpoint).
use anyhow::{Context, Result};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One API call, answer included. Completing a 10,000-part upload is the slowest call.
const API_TIMEOUT: Duration = Duration::from_secs(120);
const API_ATTEMPTS: u32 = 4;
/// A longer `Retry-After` is capped: the user would rather see the error than a silent wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// An answer outside 2xx, as the server explained it (`{"error":{"code","message",…}}`).
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: u16,
    /// not_found, unauthenticated, forbidden, invalid, conflict, duplicate, rate_limited, …
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// The existing file, with code `duplicate`.
    pub file_id: Option<String>,
}

impl ApiError {
    pub fn from_body(status: u16, body: &[u8]) -> ApiError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        let text = |x: &Value| x.as_str().map(str::to_owned);
        let message = text(&e["message"])
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                // Not our envelope (a proxy, a load balancer): show the start of what came back.
                let raw = String::from_utf8_lossy(body);
                let raw = raw.trim();
                if raw.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!(
                        "HTTP {status}: {}",
                        raw.chars().take(200).collect::<String>()
                    )
                }
            });
        ApiError {
            status,
            code: text(&e["code"]).unwrap_or_else(|| default_code(status).to_string()),
            message,
            field: text(&e["field"]),
            file_id: text(&e["file_id"]).or_else(|| text(&v["file_id"])),
        }
    }

    /// 4 for auth (401, 403), 3 for not found, 2 for input the server refused (422), else 1.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            401 | 403 => crate::exit::AUTH,
            404 => crate::exit::NOT_FOUND,
            422 => crate::exit::USAGE,
            _ => crate::exit::ERROR,
        }
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        422 => "invalid",
        429 => "rate_limited",
        402 => "plan_limit",
        503 => "unavailable",
        _ => "internal",
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The [`ApiError`] somewhere in an error's chain (context may wrap it).
pub fn api_error(e: &anyhow::Error) -> Option<&ApiError> {
    e.chain().find_map(|c| c.downcast_ref::<ApiError>())
}

/// Whether the error says the folder asked for does not exist (the server answers a listing
/// of a missing folder with 422 on `path`; a missing vault is a 404).
pub fn is_missing_folder(e: &anyhow::Error) -> bool {
    api_error(e).is_some_and(|a| {
        a.status == 404 || (a.code == "invalid" && a.field.as_deref() == Some("path"))
    })
}

/// The HTTP status of the [`ApiError`] in an error's chain.
pub fn status_of(e: &anyhow::Error) -> Option<u16> {
    api_error(e).map(|a| a.status)
}

/// A reqwest error with its causes ("error sending request: connection refused"), without
/// the URL: presigned URLs carry signatures that need not end up in logs.
pub fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Exponential backoff with jitter: 0.5 s, 1 s, 2 s, … capped at 15 s. The jitter keeps the
/// parallel part uploads of one file from retrying in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let base = 500u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(15_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(base + u64::from(nanos) % (base / 4 + 1))
}

/// A token unique enough for `Idempotency-Key` headers (no RNG crate for one use): the hash of
/// the time, the process and a counter.
pub fn random_token() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(now.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hex::encode(&h.finalize()[..16])
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Statuses worth another try: rate limits and a server or proxy briefly unable to answer.
/// Every call the CLI makes is safe to repeat (reads, idempotent writes, or creations that
/// carry an `Idempotency-Key`), so 500s are retried too.
fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The origin (`scheme://host:port`) of a URL, for resolving server-relative URLs.
pub fn origin(url: &str) -> &str {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[start..].find('/') {
        Some(i) => &url[..start + i],
        None => url,
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api_url: String,
    key: String,
}

impl Client {
    pub fn new(api_url: &str, key: &str) -> Result<Client> {
        // No client-wide read timeout: reqwest's runs from the start of the request to the
        // answer's headers, so it would cut off a large part still being sent. Each request
        // sets its own total timeout instead; downloads watch for stalls chunk by chunk.
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("nexus-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Client {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The bare HTTP client, for presigned URLs (no API key).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A presigned URL made absolute: the server may hand out paths on its own origin.
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{}", origin(&self.api_url), url)
        } else {
            url.to_string()
        }
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let body = self.call(Method::GET, path, query, None, None).await?;
        decode(path, &body)
    }

    /// A POST with a JSON body. Creations pass an `Idempotency-Key`, so a retry after a lost
    /// answer returns the first answer instead of creating a second thing.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let bytes = self
            .call(Method::POST, path, &[], Some(body), idempotency_key)
            .await?;
        decode(path, &bytes)
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, &[], None, None).await?;
        Ok(())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Bytes> {
        let url = format!("{}/api/v1{}", self.api_url, path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.key)
                .timeout(API_TIMEOUT);
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            if let Some(k) = idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            let wait = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return resp
                            .bytes()
                            .await
                            .with_context(|| format!("reading the answer to {method} {path}"));
                    }
                    let wait = retry_after(resp.headers());
                    let answer = resp.bytes().await.unwrap_or_default();
                    let err = ApiError::from_body(status.as_u16(), &answer);
                    // A keyed request still running server-side (our attempt timed out)
                    // answers 409 "conflict" until it ends: then the retry gets its answer.
                    let replay_pending = idempotency_key.is_some() && err.code == "conflict";
                    if attempt >= API_ATTEMPTS || !(retryable(status) || replay_pending) {
                        return Err(err.into());
                    }
                    wait.unwrap_or_else(|| backoff(attempt))
                }
                Err(e) => {
                    let transient = e.is_connect() || e.is_timeout() || e.is_request();
                    if attempt >= API_ATTEMPTS || !transient || e.is_builder() {
                        return Err(anyhow::anyhow!(
                            "{method} {} failed: {}",
                            self.api_url,
                            describe(e)
                        ));
                    }
                    backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    // The calls the engine makes more than once, typed.

    pub async fn vaults(&self) -> Result<Vec<Vault>> {
        #[derive(Deserialize)]
        struct List {
            vaults: Vec<Vault>,
        }
        Ok(self.get::<List>("/vaults", &[]).await?.vaults)
    }

    pub async fn file(&self, id: &str) -> Result<FileDetails> {
        self.get(&format!("/files/{id}"), &[]).await
    }

    /// Presigned URLs for parts, each signing the part's checksum (1 to 100 per call).
    pub async fn sign_parts(
        &self,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Vec<PartUrl>> {
        #[derive(Deserialize)]
        struct Signed {
            parts: Vec<PartUrl>,
        }
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, checksum)| json!({"number": number, "checksum": checksum}))
            .collect();
        let signed: Signed = self
            .post(
                &format!("/uploads/{upload_id}/parts"),
                &json!({"parts": parts}),
                None,
            )
            .await?;
        Ok(signed.parts)
    }

    /// Records stored parts, so a resume knows them.
    pub async fn parts_done(&self, upload_id: &str, parts: &[(u32, String)]) -> Result<()> {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, etag)| json!({"number": number, "etag": etag}))
            .collect();
        self.post::<Value>(
            &format!("/uploads/{upload_id}/parts/done"),
            &json!({"parts": parts}),
            None,
        )
        .await?;
        Ok(())
    }

    pub async fn upload_status(&self, upload_id: &str) -> Result<ResumeInfo> {
        self.get(&format!("/uploads/{upload_id}"), &[]).await
    }

    pub async fn complete(
        &self,
        upload_id: &str,
        sha256: Option<&str>,
        parts: &[(u32, String)],
        on_duplicate: Option<&str>,
    ) -> Result<FileEntry> {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(number, etag)| json!({"number": number, "etag": etag}))
            .collect();
        let mut body = json!({"sha256": sha256, "parts": parts});
        if let Some(d) = on_duplicate {
            body["on_duplicate"] = json!(d);
        }
        // Keyed: a retried completion gets the first answer, not a 404 (the upload is gone
        // once completed). Fresh per call: the server keeps a key's answer for a day, and a
        // later run completing the same upload must not be handed an old refusal.
        let key = format!("nexus-cli-complete-{upload_id}-{}", random_token());
        self.post(
            &format!("/uploads/{upload_id}/complete"),
            &body,
            Some(key.as_str()),
        )
        .await
    }

    pub async fn abort_upload(&self, upload_id: &str) -> Result<()> {
        self.delete(&format!("/uploads/{upload_id}")).await
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    // 204 answers have no body; `null` lets them decode as `Value` or `()`.
    let body: &[u8] = if body.is_empty() { b"null" } else { body };
    serde_json::from_slice(body).with_context(|| format!("unexpected answer from {path}"))
}

// The API's objects, as far as the CLI reads them. Unknown fields are ignored and fields the
// CLI does not need have defaults, so a newer server does not break an older CLI.

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vault {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub default_storage_class: String,
    #[serde(default)]
    pub file_count: i64,
    #[serde(default)]
    pub total_bytes: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileEntry {
    pub id: String,
    #[serde(default)]
    pub vault_id: String,
    #[serde(default)]
    pub folder_path: String,
    pub name: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub storage_class: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub restored_until: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FolderEntry {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub created_at: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub folders: Vec<FolderEntry>,
    #[serde(default)]
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileDetails {
    pub file: FileEntry,
    #[serde(default)]
    pub sha256: Option<String>,
    /// The whole file's CRC64NVME (base64), as storage verified it.
    #[serde(default)]
    pub crc64nvme: Option<String>,
    #[serde(default)]
    pub monthly_cost_micros: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct UploadTicket {
    pub upload_id: String,
    pub file_id: String,
    /// The name the file gets: the server picks a free one when the folder has the name.
    pub name: String,
    pub part_size: u64,
    pub part_count: u32,
    #[serde(default)]
    pub checksum_algorithm: String,
    /// Whether the vault records the file's SHA-256 (sent with the completion).
    #[serde(default = "yes")]
    pub record_sha256: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
pub struct PartUrl {
    pub number: u32,
    pub size: u64,
    pub url: String,
    /// Signed headers: the PUT carries each one exactly.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct OpenUpload {
    pub size: u64,
    pub part_size: u64,
    pub part_count: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StoredPart {
    pub number: u32,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub checksum: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResumeInfo {
    pub upload: OpenUpload,
    #[serde(default)]
    pub stored: Vec<StoredPart>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DownloadLink {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_is_decoded() {
        let e = ApiError::from_body(
            409,
            br#"{"error":{"code":"duplicate","message":"Already there.","file_id":"f1"}}"#,
        );
        assert_eq!(e.code, "duplicate");
        assert_eq!(e.message, "Already there.");
        assert_eq!(e.file_id.as_deref(), Some("f1"));
        let e = ApiError::from_body(502, b"Bad Gateway");
        assert_eq!(e.code, "internal");
        assert_eq!(e.message, "HTTP 502: Bad Gateway");
        assert_eq!(ApiError::from_body(401, b"").exit_code(), crate::exit::AUTH);
        assert_eq!(
            ApiError::from_body(404, b"").exit_code(),
            crate::exit::NOT_FOUND
        );
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://x.example:8443/api"),
            "https://x.example:8443"
        );
        assert_eq!(origin("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }
}

//! Settings, all from environment variables (documented in the README's configuration table).
//! Defaults give the embedded setup: SQLite and the embedded S3 endpoint under `data/`.
use std::fmt;
use std::path::PathBuf;

#[derive(Clone)]
pub struct Config {
    /// Where SQLite, the embedded S3 endpoint's objects and its credentials live.
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Where the web server listens.
    pub listen_addr: String,
    /// The URL people use to reach the app; its origin is the only one allowed to change state.
    pub public_url: String,
    pub s3: S3Settings,
    /// Lifetime of presigned URLs, at most 15 minutes.
    pub presign_ttl_secs: u64,
    pub session_ttl_hours: i64,
    pub login_window_secs: i64,
    /// Failed sign-ins to one account from one client address in the window.
    pub login_max_failures_per_account: i64,
    /// Failed sign-ins to one account from all addresses in the window; past it, only
    /// addresses the account signed in from before (and the link mailed to its owner) get in.
    pub login_max_failures_per_account_all: i64,
    pub login_max_failures_per_ip: i64,
    /// Accounts one client address may create per hour.
    pub signup_max_per_ip_per_hour: i64,
    /// Behind a reverse proxy: take the client's address from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Unfinished uploads with no activity for this long are aborted (and their rows go).
    pub upload_abandon_hours: i64,
    /// Audit log rows older than this many days are deleted (hourly).
    pub audit_retention_days: i64,
    /// Whether this process runs background jobs (set false for web-only processes).
    pub run_jobs: bool,
    /// Where mail goes: `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), or plain `smtp://host:port` for a local sink only. None: mail stays in the
    /// outbox, and the outbox page shows each person theirs (development).
    pub smtp_url: Option<String>,
    /// The sender of every mail.
    pub mail_from: String,
    /// How often the restore worker looks at a restore in flight: first after at least the
    /// minimum, then backing off to the maximum (seconds).
    pub restore_poll_min_secs: i64,
    pub restore_poll_max_secs: i64,
    /// The plan of every workspace without a live subscription (all of them while billing is
    /// off): an id from the `plans` table.
    pub default_plan: String,
    /// Stripe, when both keys are set; None: billing is off.
    pub billing: Option<BillingSettings>,
    /// Webhook endpoints may be on loopback and private networks (development and tests
    /// only: otherwise a webhook is a way to make the server call inside its own network).
    pub webhook_allow_private: bool,
    /// SSO providers may be on loopback and private networks and plain http (development and
    /// tests only, for the same reason as webhooks; a provider is otherwise https).
    pub sso_allow_private: bool,
    /// The bearer token `/metrics` asks for (`NEXUS_METRICS_TOKEN`); unset: no `/metrics`.
    pub metrics_token: Option<String>,
    /// Requests one API key may make a minute (with a burst of as many at once).
    pub api_rate_per_minute: u32,
    /// Unknown, revoked or expired keys one client address may send a minute.
    pub api_bad_keys_per_minute: u32,
}

#[derive(Clone)]
pub struct BillingSettings {
    pub secret_key: String,
    pub webhook_secret: String,
    /// Stripe's API (a local fake in tests).
    pub api_base: String,
    /// Checkout asks for a card even when a trial needs none.
    pub card_up_front: bool,
    /// Days a failed payment may stay unpaid before uploads pause.
    pub dunning_days: i64,
}

#[derive(Clone)]
pub struct S3Settings {
    /// None with no bucket either: the embedded endpoint. None with a bucket: AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub force_path_style: bool,
    /// Static keys; None means the AWS default chain (env, profile, instance role).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// True when no external S3 is configured and the server must start its own.
    pub embedded: bool,
    pub embedded_addr: String,
    /// The embedded endpoint's address as browsers reach it (presigned URLs name it).
    pub embedded_public_url: Option<String>,
    /// The embedded endpoint aborts a multipart upload nothing touched for this many days
    /// (what the lifecycle rule the README asks for does on S3).
    pub embedded_abort_days: u64,
    /// Longest wait for the first byte of S3's answer to one try (a slow store is then tried
    /// again, then answered 503); copies and completions send their first byte at once.
    pub timeout_secs: u64,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid value")),
    }
}

impl Config {
    pub fn from_env(default_addr: &str) -> Result<Config, String> {
        let data_dir = PathBuf::from(var("NEXUS_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("nexus.db").display())
        });
        let addr = var("NEXUS_ADDR").unwrap_or_else(|| default_addr.to_string());
        let public_url = var("NEXUS_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let endpoint = var("S3_ENDPOINT");
        let bucket = var("S3_BUCKET");
        let embedded = endpoint.is_none() && bucket.is_none();
        let s3 = S3Settings {
            force_path_style: parse("S3_FORCE_PATH_STYLE", endpoint.is_some() || embedded)?,
            endpoint,
            bucket: bucket.unwrap_or_else(|| "nexus".into()),
            region: var("S3_REGION")
                .or_else(|| var("AWS_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            embedded,
            embedded_addr: var("NEXUS_LOCAL_S3_ADDR").unwrap_or_else(|| "127.0.0.1:9000".into()),
            embedded_public_url: var("NEXUS_LOCAL_S3_PUBLIC_URL")
                .map(|u| u.trim_end_matches('/').to_string()),
            timeout_secs: parse("NEXUS_S3_TIMEOUT_SECS", 30)?,
            embedded_abort_days: parse("NEXUS_LOCAL_S3_ABORT_INCOMPLETE_DAYS", 7)?,
        };
        if !(1..=3650).contains(&s3.embedded_abort_days) {
            return Err("NEXUS_LOCAL_S3_ABORT_INCOMPLETE_DAYS must be between 1 and 3650".into());
        }
        if !(1..=600).contains(&s3.timeout_secs) {
            return Err("NEXUS_S3_TIMEOUT_SECS must be between 1 and 600".into());
        }
        let presign_ttl_secs: u64 = parse("NEXUS_PRESIGN_TTL_SECS", 900)?;
        if !(1..=900).contains(&presign_ttl_secs) {
            return Err("NEXUS_PRESIGN_TTL_SECS must be between 1 and 900 (15 minutes)".into());
        }
        Ok(Config {
            data_dir,
            database_url,
            listen_addr: addr,
            public_url,
            s3,
            presign_ttl_secs,
            session_ttl_hours: parse("NEXUS_SESSION_TTL_HOURS", 24 * 30)?,
            login_window_secs: parse("NEXUS_LOGIN_WINDOW_SECS", 15 * 60)?,
            login_max_failures_per_account: parse("NEXUS_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)?,
            login_max_failures_per_account_all: parse(
                "NEXUS_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL",
                50,
            )?,
            login_max_failures_per_ip: parse("NEXUS_LOGIN_MAX_FAILURES_PER_IP", 30)?,
            signup_max_per_ip_per_hour: parse("NEXUS_SIGNUP_MAX_PER_IP_PER_HOUR", 10)?,
            trust_proxy: parse("NEXUS_TRUST_PROXY", false)?,
            upload_abandon_hours: {
                let h: i64 = parse("NEXUS_UPLOAD_ABANDON_HOURS", 24 * 7)?;
                if !(1..=24 * 365).contains(&h) {
                    return Err("NEXUS_UPLOAD_ABANDON_HOURS must be between 1 and 8760".into());
                }
                h
            },
            audit_retention_days: {
                let d: i64 = parse("NEXUS_AUDIT_RETENTION_DAYS", 400)?;
                if !(1..=3650).contains(&d) {
                    return Err("NEXUS_AUDIT_RETENTION_DAYS must be between 1 and 3650".into());
                }
                d
            },
            run_jobs: parse("NEXUS_RUN_JOBS", true)?,
            smtp_url: var("NEXUS_SMTP_URL"),
            mail_from: var("NEXUS_MAIL_FROM")
                .unwrap_or_else(|| "Nexus Deep Storage <no-reply@localhost>".into()),
            // The embedded endpoint restores in seconds; AWS in minutes to hours.
            restore_poll_min_secs: parse(
                "NEXUS_RESTORE_POLL_MIN_SECS",
                if embedded { 1 } else { 60 },
            )?
            .max(1),
            restore_poll_max_secs: parse(
                "NEXUS_RESTORE_POLL_MAX_SECS",
                if embedded { 5 } else { 1800 },
            )?
            .max(1),
            default_plan: var("NEXUS_DEFAULT_PLAN").unwrap_or_else(|| "free".into()),
            billing: match (var("STRIPE_SECRET_KEY"), var("STRIPE_WEBHOOK_SECRET")) {
                (Some(secret_key), Some(webhook_secret)) => Some(BillingSettings {
                    secret_key,
                    webhook_secret,
                    api_base: var("STRIPE_API_BASE")
                        .unwrap_or_else(|| "https://api.stripe.com/".into()),
                    card_up_front: parse("NEXUS_BILLING_CARD_UP_FRONT", true)?,
                    dunning_days: parse("NEXUS_BILLING_DUNNING_DAYS", 14)?,
                }),
                (None, None) => None,
                _ => {
                    return Err(
                        "set both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or neither".into(),
                    );
                }
            },
            webhook_allow_private: parse("NEXUS_WEBHOOK_ALLOW_PRIVATE", false)?,
            sso_allow_private: parse("NEXUS_SSO_ALLOW_PRIVATE", false)?,
            metrics_token: var("NEXUS_METRICS_TOKEN"),
            api_rate_per_minute: {
                let n: u32 = parse("NEXUS_API_RATE_PER_MINUTE", 600)?;
                if n == 0 {
                    return Err("NEXUS_API_RATE_PER_MINUTE must be at least 1".into());
                }
                n
            },
            api_bad_keys_per_minute: parse("NEXUS_API_BAD_KEYS_PER_MINUTE", 30)?.max(1),
        })
    }

    /// Cookies get `Secure` whenever the public URL is https (everywhere but localhost).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// A URL fit for logs: the password in its user part and any `password`-like query
/// parameter become `***` (a password may itself hold `@`, `:` or `/`).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // The user part ends at the last '@' before the path (hosts hold no '@').
    let authority = match before_query.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}:***@{host}")
        }
        None => before_query.to_string(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}{authority}?{q}"),
        None => format!("{scheme}{authority}"),
    }
}

/// Hides the database password and the AWS secret.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let db = redact_url(&self.database_url);
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &db)
            .field("public_url", &self.public_url)
            .field("s3_endpoint", &self.s3.endpoint)
            .field("s3_bucket", &self.s3.bucket)
            .field("s3_region", &self.s3.region)
            .field("s3_embedded", &self.s3.embedded)
            .field("aws_access_key_id", &self.s3.access_key_id)
            .field(
                "aws_secret_access_key",
                &self.s3.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("presign_ttl_secs", &self.presign_ttl_secs)
            .field(
                "billing",
                &self
                    .billing
                    .as_ref()
                    .map(|b| format!("Stripe at {}, keys ***", b.api_base)),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_urls_are_logged_without_passwords() {
        assert_eq!(
            redact_url("postgres://u:p@ss@db.host:5432/nexus"),
            "postgres://u:***@db.host:5432/nexus"
        );
        assert_eq!(
            redact_url("postgres://u:secret@h/db?sslmode=require&password=x"),
            "postgres://u:***@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("sqlite://data/nexus.db?mode=rwc"),
            "sqlite://data/nexus.db?mode=rwc"
        );
        assert_eq!(
            redact_url("postgres://h/db?sslpassword=y"),
            "postgres://h/db?sslpassword=***"
        );
    }
}

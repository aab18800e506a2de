//! The process's Prometheus metrics: what requests, storage and uploads count as they happen,
//! plus gauges read from the database when `/metrics` is scraped (jobs, restores, mail), so
//! every process of a deployment reports the same queue figures. Served by the server at
//! `/metrics` behind `NEXUS_METRICS_TOKEN`.
use std::sync::OnceLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::AppError;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    s3_errors: Family<Labels, Counter>,
    upload_bytes: Counter,
    uploads: Counter,
    jobs: Family<Labels, Gauge>,
    oldest_due_job: Gauge,
    restores: Family<Labels, Gauge>,
    mail: Family<Labels, Gauge>,
    events: Family<Labels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let mut registry = Registry::with_prefix("nexus");
        let requests = Family::<Labels, Counter>::default();
        let latency =
            Family::<Labels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        let s3_errors = Family::<Labels, Counter>::default();
        let upload_bytes = Counter::default();
        let uploads = Counter::default();
        let jobs = Family::<Labels, Gauge>::default();
        let oldest_due_job = Gauge::default();
        let restores = Family::<Labels, Gauge>::default();
        let mail = Family::<Labels, Gauge>::default();
        let events = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route (as routed, never the raw path), method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method",
            latency.clone(),
        );
        registry.register(
            "s3_errors",
            "Object storage calls that failed, by S3 operation",
            s3_errors.clone(),
        );
        registry.register(
            "upload_bytes",
            "Bytes of uploads completed (stored and verified) by this process",
            upload_bytes.clone(),
        );
        registry.register(
            "uploads",
            "Uploads completed by this process",
            uploads.clone(),
        );
        registry.register(
            "jobs",
            "Background jobs by state (queued_due: waiting to run now; queued_later; running; failed)",
            jobs.clone(),
        );
        registry.register(
            "job_oldest_due_seconds",
            "How long the oldest due job has waited (0 when none): the queue's lag",
            oldest_due_job.clone(),
        );
        registry.register("restores", "File restores by state", restores.clone());
        registry.register(
            "mail_outbox",
            "Mails by state (pending, failed)",
            mail.clone(),
        );
        registry.register(
            "events",
            "What people did, by event: share_created, share_opened, invite_sent, invite_accepted, sso_sign_in, sso_refused",
            events.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            s3_errors,
            upload_bytes,
            uploads,
            jobs,
            oldest_due_job,
            restores,
            mail,
            events,
        }
    })
}

impl Metrics {
    /// One thing a person did (a name from the `events` family's help).
    pub fn event(&self, name: &'static str) {
        self.events
            .get_or_create(&vec![("event", name.to_string())])
            .inc();
    }

    /// One answered request (`route` is the router's pattern, e.g. `/files/{id}/download`).
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let route = route.to_string();
        let method = method.to_string();
        self.requests
            .get_or_create(&vec![
                ("route", route.clone()),
                ("method", method.clone()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("route", route), ("method", method)])
            .observe(seconds);
    }

    pub fn s3_error(&self, operation: &str) {
        self.s3_errors
            .get_or_create(&vec![("operation", operation.to_string())])
            .inc();
    }

    pub fn upload_completed(&self, bytes: i64) {
        self.uploads.inc();
        self.upload_bytes.inc_by(bytes.max(0) as u64);
    }

    /// The text exposition, with the figures read from the database for this scrape.
    pub fn render(&self, f: &Figures) -> Result<String, AppError> {
        for (state, n) in &f.jobs {
            self.jobs
                .get_or_create(&vec![("state", state.clone())])
                .set(*n);
        }
        self.oldest_due_job.set(f.oldest_due_job_secs);
        for (state, n) in &f.restores {
            self.restores
                .get_or_create(&vec![("state", state.clone())])
                .set(*n);
        }
        self.mail
            .get_or_create(&vec![("state", "pending".to_string())])
            .set(f.mail_pending);
        self.mail
            .get_or_create(&vec![("state", "failed".to_string())])
            .set(f.mail_failed);
        let mut out = String::new();
        encode(&mut out, &self.registry)
            .map_err(|e| AppError::internal(format!("metrics: {e}")))?;
        Ok(out)
    }
}

/// What the database says now, for `/metrics` and `/status` (read by `ops::service`).
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Jobs by state: queued_due, queued_later, running, failed.
    pub jobs: Vec<(String, i64)>,
    /// How long the oldest due job has waited, in seconds (0: none waiting).
    pub oldest_due_job_secs: i64,
    /// Restores by state.
    pub restores: Vec<(String, i64)>,
    pub mail_pending: i64,
    /// Mails given up on after every try.
    pub mail_failed: i64,
    /// How long the oldest pending mail has waited, in seconds.
    pub oldest_mail_secs: i64,
}

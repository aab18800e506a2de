//! Per-key rate limits (governor's keyed GCRA limiter: a key may send its minute's quota at
//! once, then one request per 1/quota of a minute), and a limit on bad keys per client address.
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::errors::ApiError;
use app::error::AppError;

type Limiter = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

#[derive(Clone)]
pub struct Limits {
    per_key: Arc<Limiter>,
    failures: Arc<Limiter>,
    per_minute: u32,
    failures_per_minute: u32,
}

/// Where a key stands after a request it may make: for the `RateLimit-*` headers.
pub struct Standing {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
}

impl Standing {
    pub fn write_headers(&self, h: &mut http::HeaderMap) {
        for (name, v) in [
            ("ratelimit-limit", u64::from(self.limit)),
            ("ratelimit-remaining", u64::from(self.remaining)),
            ("ratelimit-reset", self.reset_secs),
        ] {
            h.insert(name, http::HeaderValue::from(v));
        }
    }
}

fn limiter(per_minute: u32) -> Arc<Limiter> {
    let n = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
    Arc::new(
        RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>(),
    )
}

impl Limits {
    pub fn new(per_minute: u32, failures_per_minute: u32) -> Limits {
        Limits {
            per_key: limiter(per_minute),
            failures: limiter(failures_per_minute),
            per_minute: per_minute.max(1),
            failures_per_minute: failures_per_minute.max(1),
        }
    }

    /// Counts a request of the key: its standing, or a 429 with the wait.
    pub fn check_key(&self, key_id: &str) -> Result<Standing, Response429> {
        self.forget_old();
        match self.per_key.check_key(&key_id.to_string()) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                let used = self.per_minute.saturating_sub(remaining);
                // A cell comes back every minute/limit: the whole quota is back after `used` of them.
                let reset_secs = (u64::from(used) * 60).div_ceil(u64::from(self.per_minute));
                Ok(Standing {
                    limit: self.per_minute,
                    remaining,
                    reset_secs,
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Response429::new(self.per_minute, wait, "This key"))
            }
        }
    }

    /// Counts a bad key from `ip`: a 429 once there were too many.
    pub fn check_failure(&self, ip: &str) -> Result<(), Response429> {
        self.forget_old();
        match self.failures.check_key(&ip.to_string()) {
            Ok(_) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Response429::new(
                    self.failures_per_minute,
                    wait,
                    "This address",
                ))
            }
        }
    }

    /// Drops the state of keys idle long enough to be back at full quota (bounded memory).
    fn forget_old(&self) {
        for l in [&self.per_key, &self.failures] {
            if l.len() > 10_000 {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
    }
}

/// A 429 with `Retry-After` and the `RateLimit-*` headers.
pub struct Response429 {
    limit: u32,
    wait: Duration,
    who: &'static str,
}

impl Response429 {
    fn new(limit: u32, wait: Duration, who: &'static str) -> Self {
        Response429 { limit, wait, who }
    }
}

impl axum::response::IntoResponse for Response429 {
    fn into_response(self) -> axum::response::Response {
        let secs = self.wait.as_secs_f64().ceil().max(1.0) as i64;
        let mut resp = ApiError(AppError::Limit {
            message: format!(
                "{} sent more than {} requests a minute. Try again in {secs} s.",
                self.who, self.limit
            ),
            retry_after_s: secs,
        })
        .into_response();
        let h = resp.headers_mut();
        h.insert("ratelimit-limit", http::HeaderValue::from(self.limit));
        h.insert("ratelimit-remaining", http::HeaderValue::from(0u32));
        h.insert("ratelimit-reset", http::HeaderValue::from(secs));
        resp
    }
}

//! The checks behind the status page and the figures behind `/metrics`.
use std::time::{Duration, Instant};

use super::{
    Component, Incident, JOB_LAG_DEGRADED_SECS, JOB_LAG_DOWN_SECS, MAIL_LAG_DEGRADED_SECS,
    StatusReport,
};
use crate::core::jobs::{Job, Next};
use crate::core::metrics::Figures;
use crate::core::{AppState, new_id};
use crate::error::AppError;

/// The job that checks every component and keeps the incident history (each minute).
pub const CHECK_STATUS: &str = "check_status";
const EVERY_MS: i64 = 60_000;

/// What the database says now: jobs, restores and mail.
pub async fn figures(st: &AppState) -> Result<Figures, AppError> {
    let now = st.clock.now_ms();
    let db = &st.db.pool;
    let jobs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT CASE WHEN state = 'queued' AND run_at <= $1 THEN 'queued_due'
                     WHEN state = 'queued' THEN 'queued_later' ELSE state END AS s,
                COUNT(*) FROM jobs GROUP BY 1",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    let jobs = every_state(&jobs, &["queued_due", "queued_later", "running", "failed"]);
    // A job whose lease lapsed counts as due too: nobody is running it.
    let (oldest,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(run_at) FROM jobs
         WHERE (state = 'queued' AND run_at <= $1) OR (state = 'running' AND locked_until < $1)",
    )
    .bind(now)
    .fetch_one(db)
    .await?;
    let restores: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM restores GROUP BY state")
            .fetch_all(db)
            .await?;
    let restores = every_state(
        &restores,
        &["requested", "in_progress", "ready", "expired", "failed"],
    );
    let max = crate::notify::service::MAX_MAIL_TRIES;
    let (pending, failed, oldest_mail): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN attempts < $1 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN attempts >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT),
                MIN(CASE WHEN attempts < $1 THEN created_at END)
         FROM mail_outbox WHERE sent_at IS NULL",
    )
    .bind(max)
    .fetch_one(db)
    .await?;
    Ok(Figures {
        jobs,
        oldest_due_job_secs: oldest.map_or(0, |t| (now - t).max(0) / 1000),
        restores,
        mail_pending: pending,
        mail_failed: failed,
        oldest_mail_secs: oldest_mail.map_or(0, |t| (now - t).max(0) / 1000),
    })
}

/// Counts by state for every state named (0 for those no row has), in that order.
fn every_state(counted: &[(String, i64)], states: &[&str]) -> Vec<(String, i64)> {
    states
        .iter()
        .map(|s| {
            let n = counted.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            (s.to_string(), n)
        })
        .collect()
}

fn component(name: &str, state: &str, detail: impl Into<String>) -> Component {
    Component {
        name: name.into(),
        state: state.into(),
        detail: detail.into(),
    }
}

/// Checks each component now (each check bounded to 5 seconds).
pub async fn check(st: &AppState) -> Vec<Component> {
    let limit = Duration::from_secs(5);
    let mut out = vec![];
    let t = Instant::now();
    let db = tokio::time::timeout(limit, st.db.ping()).await;
    let db_ms = t.elapsed().as_millis();
    let db_ok = matches!(db, Ok(Ok(())));
    out.push(match db {
        Ok(Ok(())) => component("database", "ok", format!("answered in {db_ms} ms")),
        Ok(Err(_)) => component("database", "down", "the database refused the query"),
        Err(_) => component("database", "down", "no answer in 5 s"),
    });
    let t = Instant::now();
    out.push(match tokio::time::timeout(limit, st.storage.ping()).await {
        Ok(Ok(())) => component(
            "storage",
            "ok",
            format!("answered in {} ms", t.elapsed().as_millis()),
        ),
        Ok(Err(_)) => component("storage", "down", "the bucket did not answer as it should"),
        Err(_) => component("storage", "down", "no answer in 5 s"),
    });
    let figures = if db_ok { figures(st).await.ok() } else { None };
    out.push(match &figures {
        None => component("jobs", "down", "unknown: the database did not answer"),
        Some(f) => {
            let lag = f.oldest_due_job_secs;
            let failed = f
                .jobs
                .iter()
                .find(|(s, _)| s == "failed")
                .map_or(0, |(_, n)| *n);
            let state = if lag >= JOB_LAG_DOWN_SECS {
                "down"
            } else if lag >= JOB_LAG_DEGRADED_SECS {
                "degraded"
            } else {
                "ok"
            };
            component(
                "jobs",
                state,
                format!("oldest due job waited {lag} s; {failed} failed for good"),
            )
        }
    });
    out.push(match (&figures, st.config.smtp_url.is_some()) {
        (_, false) => component(
            "mail",
            "off",
            "no SMTP server set: mail stays in the outbox",
        ),
        (None, true) => component("mail", "down", "unknown: the database did not answer"),
        (Some(f), true) => component(
            "mail",
            if f.oldest_mail_secs >= MAIL_LAG_DEGRADED_SECS || f.mail_failed > 0 {
                "degraded"
            } else {
                "ok"
            },
            format!(
                "{} waiting (oldest {} s), {} given up",
                f.mail_pending, f.oldest_mail_secs, f.mail_failed
            ),
        ),
    });
    out.push(match &st.config.billing {
        None => component("stripe", "off", "billing is not set up"),
        Some(b) => stripe_reachable(&b.api_base).await,
    });
    out
}

/// Stripe answers at all (any HTTP status: the request carries no key, so 401 is the answer
/// expected); no answer in 5 s is "down".
async fn stripe_reachable(api_base: &str) -> Component {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .use_preconfigured_tls(crate::core::outbound::tls_config())
        .build();
    let Ok(client) = client else {
        return component("stripe", "down", "no HTTP client");
    };
    let t = Instant::now();
    match client.get(format!("{api_base}/v1/balance")).send().await {
        Ok(_) => component(
            "stripe",
            "ok",
            format!("answered in {} ms", t.elapsed().as_millis()),
        ),
        Err(e) if e.is_timeout() => component("stripe", "down", "no answer in 5 s"),
        Err(_) => component("stripe", "down", "could not connect"),
    }
}

fn rank(state: &str) -> u8 {
    match state {
        "down" => 2,
        "degraded" => 1,
        _ => 0,
    }
}

/// The status page: the components now, and the incident history.
pub async fn status(st: &AppState) -> Result<StatusReport, AppError> {
    let components = check(st).await;
    let overall = components
        .iter()
        .map(|c| c.state.as_str())
        .max_by_key(|s| rank(s))
        .filter(|s| rank(s) > 0)
        .unwrap_or("ok")
        .to_string();
    let incidents = incidents(st).await.unwrap_or_default();
    Ok(StatusReport {
        overall,
        components,
        incidents,
        checked_at: st.clock.now_ms(),
    })
}

async fn incidents(st: &AppState) -> Result<Vec<Incident>, AppError> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT component, state, detail, started_at, ended_at FROM status_incidents
         ORDER BY CASE WHEN ended_at IS NULL THEN 0 ELSE 1 END, started_at DESC, id DESC LIMIT 50",
    )
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(component, state, detail, started_at, ended_at)| Incident {
                component,
                state,
                detail,
                started_at,
                ended_at,
            },
        )
        .collect())
}

/// Records what a check found: an incident opens when a component stops being ok, its state
/// follows it (degraded ↔ down: the old one ends, a new one opens), and it ends when the
/// component is ok again. Several processes may run it: the open incident is found again, not
/// doubled (a second opening of the same component loses to the first's row).
pub async fn record(st: &AppState, found: &[Component]) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    for c in found {
        let open: Option<(String, String)> = sqlx::query_as(
            "SELECT id, state FROM status_incidents WHERE component = $1 AND ended_at IS NULL
             ORDER BY started_at LIMIT 1",
        )
        .bind(&c.name)
        .fetch_optional(&st.db.pool)
        .await?;
        let bad = rank(&c.state) > 0;
        match open {
            Some((_, state)) if bad && state == c.state => {}
            Some((id, _)) => {
                sqlx::query(
                    "UPDATE status_incidents SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
                )
                .bind(now)
                .bind(&id)
                .execute(&st.db.pool)
                .await?;
                if bad {
                    open_incident(st, c, now).await?;
                }
            }
            None if bad => open_incident(st, c, now).await?,
            None => {}
        }
    }
    Ok(())
}

async fn open_incident(st: &AppState, c: &Component, now: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO status_incidents (id, component, state, detail, started_at)
         SELECT $1, $2, $3, $4, $5
         WHERE NOT EXISTS (SELECT 1 FROM status_incidents WHERE component = $2 AND ended_at IS NULL)",
    )
    .bind(new_id())
    .bind(&c.name)
    .bind(&c.state)
    .bind(&c.detail)
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    tracing::warn!(component = %c.name, state = %c.state, detail = %c.detail, "status incident opened");
    Ok(())
}

/// Runs [`CHECK_STATUS`].
pub async fn check_job(st: &AppState, _job: &Job) -> Result<Next, AppError> {
    let found = check(st).await;
    record(st, &found).await?;
    Ok(Next::At(st.clock.now_ms() + EVERY_MS))
}

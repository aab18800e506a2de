//! Operating the service: `/metrics` (behind its token; per-route counts by pattern; the
//! queue, restore and mail figures; upload bytes), `/status` and `/status.json` (component
//! states, and the incident history the periodic check keeps: opened once, followed, ended),
//! and jobs handed back by a worker that stops.
use crate::support::{TestApp, random_bytes, upload};

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_need_the_token_and_count_by_route() {
    let app = TestApp::spawn().await;
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);
    let c = app.client();
    let vault = c.sign_up("ops@example.com").await;
    let bytes = random_bytes(70_000);
    upload(&c, &vault, "a.bin", &bytes).await;
    // Paths with ids (and unknown paths) count under their route's pattern. (The counters are
    // the process's, and other tests' servers run in this process too: compare before/after.)
    let downloads_404 =
        r#"nexus_http_requests_total{route="/files/{id}/download",method="GET",status="404"}"#;
    let before = sample(
        &scrape(&app, Some("test-metrics-token")).await.1,
        downloads_404,
    );
    for _ in 0..3 {
        let r = c
            .get(&format!("/files/{}/download", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(r.status(), 404);
    }
    c.get("/no/such/page/at/all").await;
    let (status, text) = scrape(&app, Some("test-metrics-token")).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        sample(
            &text,
            r#"nexus_http_requests_total{route="/api/sign_up",method="POST",status="200"}"#
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, downloads_404).unwrap_or(0.0) >= before.unwrap_or(0.0) + 3.0,
        "{text}"
    );
    assert!(
        !text.contains("/no/such/page"),
        "unrouted paths make no series"
    );
    assert!(
        text.contains("nexus_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        sample(&text, "nexus_upload_bytes_total") >= Some(70_000.0),
        "{text}"
    );
    assert!(sample(&text, "nexus_uploads_total") >= Some(1.0), "{text}");
    // What people do: a share link made counts.
    let shared = c
        .call_json(
            "create_share",
            serde_json::json!({ "new": { "vault_id": vault, "path": "a.bin", "days": 7 } }),
        )
        .await;
    assert_eq!(shared.status, 200, "{:?}", shared.body);
    let (_, text) = scrape(&app, Some("test-metrics-token")).await;
    assert!(
        sample(&text, r#"nexus_events_total{event="share_created"}"#) >= Some(1.0),
        "{text}"
    );
    for line in [
        r#"nexus_jobs{state="queued_due"}"#,
        r#"nexus_jobs{state="failed"}"#,
        "nexus_job_oldest_due_seconds",
        r#"nexus_restores{state="ready"}"#,
        r#"nexus_mail_outbox{state="pending"}"#,
    ] {
        assert!(sample(&text, line).is_some(), "{line} in {text}");
    }
    // A job waiting 2 minutes shows as the queue's lag.
    let now = app.state.clock.now_ms();
    app::core::jobs::enqueue(
        &app.state.db,
        "send_mail",
        Some("late"),
        "{}",
        now - 120_000,
        now - 120_000,
    )
    .await
    .unwrap();
    let (_, text) = scrape(&app, Some("test-metrics-token")).await;
    assert!(
        sample(&text, "nexus_job_oldest_due_seconds") >= Some(120.0),
        "{text}"
    );

    // No token set: no /metrics at all.
    let off = TestApp::spawn_with(|c| c.metrics_token = None).await;
    assert_eq!(scrape(&off, Some("test-metrics-token")).await.0, 404);
}

#[tokio::test]
async fn status_reports_components_and_keeps_incidents() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let r = reqwest::get(format!("{}/status.json", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["overall"], "ok", "{report}");
    let state_of = |r: &serde_json::Value, name: &str| {
        r["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(state_of(&report, "database"), "ok");
    assert_eq!(state_of(&report, "storage"), "ok");
    assert_eq!(state_of(&report, "jobs"), "ok");
    assert_eq!(state_of(&report, "stripe"), "off");
    let page = reqwest::get(format!("{}/status", app.base)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Service status"));

    // The queue falls 10 minutes behind: degraded; an hour: down; then it catches up.
    let now = st.clock.now_ms();
    let enqueue = |at: i64, key: &'static str| async move {
        app::core::jobs::enqueue(&st.db, "send_mail", Some(key), "{}", at, at)
            .await
            .unwrap();
    };
    enqueue(now - 600_000, "behind").await;
    let found = app::ops::service::check(st).await;
    assert_eq!(
        found.iter().find(|c| c.name == "jobs").unwrap().state,
        "degraded"
    );
    app::ops::service::record(st, &found).await.unwrap();
    app::ops::service::record(st, &found).await.unwrap();
    let report = app::ops::service::status(st).await.unwrap();
    assert_eq!(report.overall, "degraded");
    assert_eq!(
        report.incidents.len(),
        1,
        "one incident, not one per check: {:?}",
        report.incidents
    );
    assert!(report.incidents[0].ended_at.is_none());
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE dedupe_key = 'behind'")
        .bind(now - 2 * 3_600_000)
        .execute(&st.db.pool)
        .await
        .unwrap();
    let found = app::ops::service::check(st).await;
    assert_eq!(
        found.iter().find(|c| c.name == "jobs").unwrap().state,
        "down"
    );
    app::ops::service::record(st, &found).await.unwrap();
    sqlx::query("DELETE FROM jobs WHERE dedupe_key = 'behind'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let found = app::ops::service::check(st).await;
    app::ops::service::record(st, &found).await.unwrap();
    let report = app::ops::service::status(st).await.unwrap();
    assert_eq!(report.overall, "ok");
    let states: Vec<(&str, bool)> = report
        .incidents
        .iter()
        .map(|i| (i.state.as_str(), i.ended_at.is_some()))
        .collect();
    assert_eq!(
        states,
        [("down", true), ("degraded", true)],
        "{:?}",
        report.incidents
    );
}

#[tokio::test]
async fn a_stopping_worker_hands_its_jobs_back() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let now = app.state.clock.now_ms();
    app::core::jobs::enqueue(db, "send_mail", Some("held"), "{}", now, now)
        .await
        .unwrap();
    let job = app::core::jobs::claim(db, "w1", now)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(job.attempts, 1);
    assert!(
        app::core::jobs::claim(db, "w2", now)
            .await
            .unwrap()
            .is_none(),
        "held by w1"
    );
    assert_eq!(app::core::jobs::release(db, "w1", now).await.unwrap(), 1);
    assert_eq!(app::core::jobs::release(db, "w1", now).await.unwrap(), 0);
    let again = app::core::jobs::claim(db, "w2", now)
        .await
        .unwrap()
        .expect("taken at once");
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempts, 1, "the handed-back attempt is not counted");
}

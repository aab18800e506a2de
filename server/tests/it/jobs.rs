//! The durable job queue: leases, retries with backoff, periodic jobs, and the job that
//! aborts abandoned uploads.
use crate::support::{TestApp, random_bytes, upload_parts};
use app::jobs;

#[tokio::test]
async fn abandoned_uploads_are_aborted_by_the_job_and_their_rows_removed() {
    let app = TestApp::spawn_with(|c| {
        c.upload_abandon_hours = 24;
        c.session_ttl_hours = 24 * 30;
        // The restore worker and the mailer come back within the hour, not in a second.
        c.restore_poll_min_secs = 3600;
        c.restore_poll_max_secs = 3600;
    })
    .await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("abandon@example.com").await;
    let (upload_id, _) = upload_parts(&c, &vault, "old.bin", &random_bytes(2000)).await;
    let (active_id, _) = upload_parts(&c, &vault, "new.bin", &random_bytes(2000)).await;
    let (key, s3_upload) = app.s3_names(&upload_id).await;

    jobs::schedule_periodic(st).await.unwrap();
    jobs::schedule_periodic(st).await.unwrap(); // once only
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        n, 11,
        "abandoned uploads, expired sessions, trash, archiving rules, restores, mail, usage, meter, webhooks, API records, status check"
    );
    assert_eq!(jobs::run_due(st, "w1").await.unwrap(), 11);
    assert_eq!(
        jobs::run_due(st, "w1").await.unwrap(),
        0,
        "next run in an hour"
    );

    // 25 hours later, one upload saw activity 2 hours ago, the other none for 25 hours.
    app.clock.advance_ms(23 * 3_600_000);
    assert_eq!(c.presign(&active_id, &[1]).await.status, 200);
    app.clock.advance_ms(2 * 3_600_000);
    assert_eq!(
        jobs::run_due(st, "w1").await.unwrap(),
        11,
        "25 hours on: the hourly ones, the daily rules, the restore worker, the mailer, usage, meter, webhooks, API records, status check"
    );
    let left: Vec<(String,)> = sqlx::query_as("SELECT id FROM uploads")
        .fetch_all(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(left, [(active_id.clone(),)]);
    let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(files, 1);
    assert!(
        st.storage.list_parts(&key, &s3_upload).await.is_err(),
        "S3 dropped the abandoned upload's parts"
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_kept_as_failed() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let now = st.clock.now_ms();
    jobs::enqueue(&st.db, "no_such_kind", None, "{}", now, now)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET max_attempts = 3")
        .execute(&st.db.pool)
        .await
        .unwrap();
    let state = || async {
        sqlx::query_as::<_, (String, i64, i64, Option<String>)>(
            "SELECT state, CAST(attempts AS BIGINT), CAST(run_at AS BIGINT), last_error FROM jobs",
        )
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
    };
    assert_eq!(jobs::run_due(st, "w").await.unwrap(), 1);
    let (s, attempts, run_at, err) = state().await;
    assert_eq!((s.as_str(), attempts), ("queued", 1));
    let wait = run_at - st.clock.now_ms();
    assert!(
        (jobs::backoff_ms(1) - 1000..=jobs::backoff_ms(1)).contains(&wait),
        "{wait}"
    );
    assert!(err.unwrap().contains("internal error"));
    assert_eq!(jobs::run_due(st, "w").await.unwrap(), 0, "not due yet");
    app.clock.advance_ms(jobs::backoff_ms(1));
    assert_eq!(jobs::run_due(st, "w").await.unwrap(), 1);
    let wait = state().await.2 - st.clock.now_ms();
    assert!(
        (jobs::backoff_ms(2) - 1000..=jobs::backoff_ms(2)).contains(&wait),
        "{wait}"
    );
    app.clock.advance_ms(jobs::backoff_ms(2));
    assert_eq!(jobs::run_due(st, "w").await.unwrap(), 1);
    assert_eq!(state().await.0, "failed");
    app.clock.advance_ms(3_600_000 * 24);
    assert_eq!(
        jobs::run_due(st, "w").await.unwrap(),
        0,
        "failed jobs stay put"
    );
    assert_eq!(
        jobs::backoff_ms(40),
        3_600_000,
        "backoff is capped at an hour"
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let now = st.clock.now_ms();
    jobs::enqueue(
        &st.db,
        jobs::PURGE_EXPIRED_SESSIONS,
        Some("k"),
        "{}",
        now,
        now,
    )
    .await
    .unwrap();
    let held = jobs::claim(&st.db, "dead", now)
        .await
        .unwrap()
        .expect("due");
    assert!(
        jobs::claim(&st.db, "other", now).await.unwrap().is_none(),
        "leased"
    );
    app.clock.advance_ms(jobs::LEASE_MS + 1);
    let taken = jobs::claim(&st.db, "other", st.clock.now_ms())
        .await
        .unwrap()
        .expect("lease lapsed");
    assert_eq!(taken.id, held.id);
    assert_eq!(taken.attempts, 2);
    // The dead worker's late report changes nothing; the new owner's does.
    jobs::finish(
        &st.db,
        &held,
        "dead",
        Ok(jobs::Next::Done),
        st.clock.now_ms(),
    )
    .await
    .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    jobs::finish(
        &st.db,
        &taken,
        "other",
        Ok(jobs::Next::Done),
        st.clock.now_ms(),
    )
    .await
    .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A bulk action whose job fails every try ends as failed, saying so (it would show "running"
/// for ever); tries before the last leave it running for the retry.
#[tokio::test]
async fn a_bulk_action_whose_last_try_fails_says_it_stopped() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("bulkfail@example.com").await;
    let op = app::core::new_id();
    // Params that cannot be read make every run fail (as storage failing for good would).
    sqlx::query(
        "INSERT INTO bulk_ops (id, workspace_id, vault_id, user_id, action, params, total, created_at, updated_at)
         SELECT $1, v.workspace_id, v.id, m.user_id, 'class', 'not json', 20000, 1, 1
         FROM vaults v JOIN memberships m ON m.workspace_id = v.workspace_id WHERE v.id = $2",
    )
    .bind(&op)
    .bind(&vault)
    .execute(&st.db.pool)
    .await
    .unwrap();
    let state = || async {
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT state, error FROM bulk_ops WHERE id = $1",
        )
        .bind(&op)
        .fetch_one(&st.db.pool)
        .await
        .unwrap()
    };
    let job = |attempts| app::core::jobs::Job {
        id: "j".into(),
        kind: jobs::BULK_ACTION.into(),
        payload: op.clone(),
        attempts,
        max_attempts: 10,
    };
    assert!(
        app::files::bulk::bulk_action_job(st, &job(9))
            .await
            .is_err()
    );
    assert_eq!(state().await.0, "running", "retried later");
    assert!(
        app::files::bulk::bulk_action_job(st, &job(10))
            .await
            .is_err()
    );
    let (state, error) = state().await;
    assert_eq!(state, "failed");
    let error = error.unwrap();
    assert!(error.starts_with("Gave up after 10 tries"), "{error}");
    assert!(error.contains("run the action again"), "{error}");
}

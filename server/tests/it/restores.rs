//! Restores end to end through the server functions and the worker, on the embedded endpoint
//! (scripts/test also runs them against moto server, whose restores finish at once) and on
//! SQLite and PostgreSQL: estimates per class and tier, the state machine (requested → in
//! flight → ready → expired), repeats, the worker run twice or cut short, notifications and
//! mail, and that user B can do none of it to user A's files.
use crate::support::{Client, TestApp, random_bytes, sha_hex};
use app::core::Actor;
use app::files::Selection;
use app::tiers::restores::{PollStats, poll};
use serde_json::json;

const GIB: i64 = 1 << 30;

struct Setup {
    app: TestApp,
    c: Client,
    vault: String,
    actor: Actor,
    user: String,
}

async fn setup(email: &str) -> Setup {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up(email).await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    Setup {
        actor: Actor::job_for(&user),
        app,
        c,
        vault,
        user,
    }
}

impl Setup {
    fn sel(&self, ids: &[&str]) -> Selection {
        Selection {
            vault_id: self.vault.clone(),
            file_ids: ids.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Uploads a file and moves it to `class`; returns its id.
    async fn archived(&self, name: &str, bytes: &[u8], class: &str) -> String {
        let f = crate::support::upload(&self.c, &self.vault, name, bytes).await;
        let id = f["id"].as_str().unwrap().to_string();
        crate::support::to_class(&self.app.state, &self.user, &self.vault, &id, class).await;
        id
    }

    async fn file_state(&self, id: &str) -> (String, Option<i64>) {
        sqlx::query_as("SELECT state, restored_until FROM files WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.state.db.pool)
            .await
            .unwrap()
    }

    /// Runs worker cycles (moving the app's clock on ten minutes each, and giving the
    /// endpoint's restore real time) until `done` holds; at most 40 cycles.
    async fn poll_until(&self, done: impl Fn(&PollStats) -> bool) -> PollStats {
        let mut total = PollStats::default();
        for _ in 0..40 {
            total.add(&poll(&self.app.state).await.unwrap());
            if done(&total) {
                return total;
            }
            self.app.clock.advance_ms(10 * 60_000);
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("the worker did not get there: {total:?}");
    }
}

#[tokio::test]
async fn the_dialog_prices_each_tier_for_exactly_the_selection() {
    let s = setup("estimates@example.com").await;
    let st = &s.app.state;
    let g = s.archived("g.bin", &random_bytes(1000), "GLACIER").await;
    let d = s
        .archived("d.bin", &random_bytes(1000), "DEEP_ARCHIVE")
        .await;
    let warm = crate::support::upload(&s.c, &s.vault, "warm.bin", &random_bytes(10)).await;
    let warm = warm["id"].as_str().unwrap().to_string();
    // Round sizes for hand-computed figures (the estimate reads the record, not S3).
    for (id, size) in [(&g, GIB), (&d, 3 * GIB)] {
        sqlx::query("UPDATE files SET size = $1 WHERE id = $2")
            .bind(size)
            .bind(id)
            .execute(&st.db.pool)
            .await
            .unwrap();
    }
    let before = st.clock.now_ms();
    let p = app::tiers::restore_request::preview(st, &s.actor, &s.sel(&[&g, &d, &warm]), 10)
        .await
        .unwrap();
    let after = st.clock.now_ms();
    assert_eq!(
        (p.files, p.to_restore, p.bytes, p.not_archived, p.restored),
        (3, 2, 4 * GIB, 1, 0)
    );
    let tier = |t: &str| p.options.iter().find(|o| o.tier == t).unwrap().clone();
    // Deep Archive has no Expedited tier.
    assert_eq!(
        tier("Expedited").unavailable,
        "Glacier Deep Archive does not offer Expedited restores."
    );
    // Standard: Glacier 1 GiB × $0.01 + 1 request × $0.05/1000 + copy 1 GiB × $0.023 × 10/30
    // = 10,000 + 50 + 7,667 µ$; Deep Archive 3 GiB × $0.02 + $0.10/1000 + 3 × 23,000 × 10/30
    // = 60,000 + 100 + 23,000 µ$.
    let std = tier("Standard");
    assert_eq!(std.unavailable, "");
    assert_eq!(
        (std.retrieval_micros, std.request_micros, std.copy_micros),
        (70_000, 150, 30_667)
    );
    assert_eq!(std.cost_micros, 100_817);
    // The slowest class decides: Deep Archive Standard, 12 h typical and at most.
    assert!((before + 720 * 60_000..=after + 720 * 60_000).contains(&std.ready_by));
    assert!((before + 720 * 60_000..=after + 720 * 60_000).contains(&std.typical_ready_at));
    // Bulk: Glacier free retrieval and requests; Deep Archive 3 × 2,500 + 25 µ$.
    let bulk = tier("Bulk");
    assert_eq!(bulk.cost_micros, 7_667 + 7_500 + 25 + 23_000);
    assert!((before + 2880 * 60_000..=after + 2880 * 60_000).contains(&bulk.ready_by));
    assert!((before + 2160 * 60_000..=after + 2160 * 60_000).contains(&bulk.typical_ready_at));
    // Glacier alone offers Expedited: 1 GiB × $0.03 + $10/1000 + the copy, 3–5 minutes.
    let p = app::tiers::restore_request::preview(st, &s.actor, &s.sel(&[&g]), 10)
        .await
        .unwrap();
    let exp = p.options.iter().find(|o| o.tier == "Expedited").unwrap();
    assert_eq!(exp.cost_micros, 30_000 + 10_000 + 7_667);
    assert!(exp.ready_by - exp.typical_ready_at == 2 * 60_000);
    // Bad input is refused with the field named.
    for days in [0, 366] {
        let a =
            s.c.call_json(
                "preview_restore",
                json!({"selection": s.sel(&[&g]), "days": days}),
            )
            .await;
        assert_eq!(a.status, 422, "{days} days");
        assert!(
            a.message().contains("between 1 and 365 days"),
            "{}",
            a.message()
        );
    }
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&g, &d]), "tier": "Expedited", "days": 3}),
        )
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.message(),
        "Glacier Deep Archive does not offer Expedited restores."
    );
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&warm]), "tier": "Bulk", "days": 3}),
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(
        a.message()
            .contains("Nothing in this selection is archived")
    );
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&g]), "tier": "Instant", "days": 3}),
        )
        .await;
    assert_eq!(a.status, 422);
}

#[tokio::test]
async fn a_restore_goes_from_request_to_download_to_expiry_and_tells_its_owner_once() {
    let s = setup("restore@example.com").await;
    let st = &s.app.state;
    let bytes = random_bytes(70_000);
    let id = s.archived("report.pdf", &bytes, "GLACIER").await;
    // Archived: the download is refused with the reason.
    let r = s.c.get(&format!("/files/{id}/download")).await;
    assert_eq!(r.status(), 409);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("archived in Glacier Flexible Retrieval"),
        "{text}"
    );

    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&id]), "tier": "Expedited", "days": 3}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let request_id = a.body[0].as_str().unwrap().to_string();
    assert_eq!(s.file_state(&id).await.0, "restoring");
    // A repeat while it runs is refused in words, and adds nothing.
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&id]), "tier": "Standard", "days": 3}),
        )
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.message(),
        "A restore is already under way for these files."
    );
    let list = s.c.call("restore_requests", &[]).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["label"], "report.pdf");
    assert_eq!(list.body[0]["waiting"], 1);
    assert_eq!(list.body[0]["files"], 1);
    // Expedited from Glacier: 70,000 B × $0.03/GiB + $0.01 + 3 days of copy.
    assert_eq!(list.body[0]["estimate_micros"], 2 + 10_000);

    // The worker sends the restore, then polls until the copy is there.
    let first = poll(st).await.unwrap();
    assert_eq!((first.sent, first.s3_requests), (1, 1));
    assert_eq!(s.file_state(&id).await.0, "restoring");
    let total = s.poll_until(|t| t.ready == 1).await;
    assert_eq!(total.failed, 0);
    let (state, until) = s.file_state(&id).await;
    assert_eq!(state, "restored");
    let until = until.expect("restored until");
    let now = st.clock.now_ms();
    assert!(until > now, "the copy lasts into the future");

    // Downloadable now, with the same bytes.
    let r = s.c.get(&format!("/files/{id}/download")).await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let url = r.headers()["location"].to_str().unwrap().to_string();
    let got = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(sha_hex(&got), sha_hex(&bytes));

    // Told once: a notification and a mail with the link.
    let n = s.c.call("notifications", &[]).await;
    assert_eq!(n.body.as_array().unwrap().len(), 1, "{:?}", n.body);
    assert_eq!(n.body[0]["title"], "Restore ready: report.pdf");
    assert_eq!(n.body[0]["link"], format!("/restores?request={request_id}"));
    assert_eq!(s.c.call("unread_notifications", &[]).await.body, 1);
    let mail: Vec<(String, String)> =
        // (Besides the sign-up's confirmation link.)
        sqlx::query_as("SELECT subject, body FROM mail_outbox WHERE to_addr = $1 AND subject NOT LIKE 'Confirm your email%'")
            .bind("restore@example.com")
            .fetch_all(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "Restore ready: report.pdf");
    assert!(
        mail[0]
            .1
            .contains(&format!("/restores?request={request_id}"))
    );
    // The retrieval is on the usage page's record, with its cost.
    let (events, cost): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM usage_events",
    )
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!((events, cost), (1, 2 + 10_000));
    // More cycles change nothing and tell nobody again.
    let again = poll(st).await.unwrap();
    assert_eq!((again.sent, again.checked, again.ready), (0, 0, 0));
    assert_eq!(
        s.c.call("notifications", &[])
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.c.call_json("mark_notifications_read", json!({"ids": null}))
        .await;
    assert_eq!(s.c.call("unread_notifications", &[]).await.body, 0);

    let list = s.c.call("restore_requests", &[]).await;
    assert_eq!(list.body[0]["ready"], 1);
    assert_eq!(list.body[0]["waiting"], 0);
    assert!(list.body[0]["ready_at"].as_i64().is_some());
    let files =
        s.c.call("restore_request_files", &[("request_id", &request_id)])
            .await;
    assert_eq!(files.body[0]["state"], "ready");
    let links =
        s.c.call("restore_download_links", &[("request_id", &request_id)])
            .await;
    assert_eq!(links.body[0]["sha256"], sha_hex(&bytes));
    assert!(links.body[0]["url"].as_str().is_some());

    // Asking again for a restored file keeps its copy longer (S3 answers 200).
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&id]), "tier": "Standard", "days": 5}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(s.file_state(&id).await.0, "restored", "stays downloadable");
    s.poll_until(|t| t.ready == 1).await;
    let (_, longer) = s.file_state(&id).await;
    assert!(longer.unwrap() > until, "the copy's days start again");

    // When the copy's days are over the file is archived again.
    st.clock.advance_ms(6 * 86_400_000);
    let s2 = poll(st).await.unwrap();
    assert_eq!(s2.expired, 2, "both requests' copies are over");
    assert_eq!(s.file_state(&id).await, ("archived".to_string(), None));
    // (The test session has expired by now: ask the service directly.)
    let refused = app::downloads::service::download_url(st, &s.actor, &id).await;
    assert!(
        matches!(refused, Err(app::error::AppError::Conflict { .. })),
        "{refused:?}"
    );
    let d = app::files::service::file_details(&st.db, &s.actor, &id)
        .await
        .unwrap();
    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
    for k in ["restore_requested", "restore_ready", "restore_expired"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let _ = &s.user;
}

#[tokio::test]
async fn the_worker_run_twice_or_cut_short_does_each_step_once() {
    let s = setup("worker@example.com").await;
    let st = &s.app.state;
    let mut ids = vec![];
    for i in 0..3 {
        ids.push(
            s.archived(&format!("f{i}.bin"), &random_bytes(1000 + i), "GLACIER")
                .await,
        );
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (request_id, _) =
        app::tiers::restore_request::request(st, &s.actor, s.sel(&refs), "Expedited", 1)
            .await
            .unwrap();
    // Adding the same files to the request again (a job step run twice) adds nothing.
    let again = app::tiers::restores::add_files(st, &s.user, &s.vault, &request_id, &ids)
        .await
        .unwrap();
    assert_eq!(again, 0);
    // A worker that died after S3 took the first RestoreObject but before it wrote that down:
    // the next run's RestoreObject is answered 409 (or 200 on moto), which is no error.
    let key: (String,) = sqlx::query_as("SELECT s3_key FROM files WHERE id = $1")
        .bind(&ids[0])
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    st.storage.restore(&key.0, "Expedited", 1).await.unwrap();
    // Two workers at once (PostgreSQL shares the job between processes), cycle after cycle.
    let ready = || async {
        let n: (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM restores WHERE request_id = $1 AND state = 'ready'",
        )
        .bind(&request_id)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
        n.0
    };
    let mut sent = 0;
    for _ in 0..40 {
        if ready().await == 3 {
            break;
        }
        let (a, b) = tokio::join!(poll(st), poll(st));
        sent += a.unwrap().sent + b.unwrap().sent;
        st.clock.advance_ms(60_000);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(ready().await, 3);
    assert!(sent >= 3);
    // Each file became ready once, and its owner was told once.
    for id in &ids {
        let d = app::files::service::file_details(&st.db, &s.actor, id)
            .await
            .unwrap();
        assert_eq!(
            d.events
                .iter()
                .filter(|e| e.kind == "restore_ready")
                .count(),
            1
        );
        assert_eq!(d.file.state, "restored");
    }
    let n: (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE user_id = $1")
            .bind(&s.user)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(n.0, 1);
    let n: (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM mail_outbox WHERE subject NOT LIKE 'Confirm your email%'",
    )
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n.0, 1);
    let list = app::tiers::restores::list_requests(st, &s.actor)
        .await
        .unwrap();
    assert_eq!(list[0].label, "3 files");
    assert_eq!(list[0].state(), "Ready");
}

#[tokio::test]
async fn user_b_can_neither_restore_nor_see_nor_download_user_a_files() {
    let s = setup("owner-a@example.com").await;
    let st = &s.app.state;
    let id = s
        .archived("secret.bin", &random_bytes(5000), "GLACIER")
        .await;
    let a =
        s.c.call_json(
            "request_restore",
            json!({"selection": s.sel(&[&id]), "tier": "Expedited", "days": 1}),
        )
        .await;
    let request_id = a.body[0].as_str().unwrap().to_string();
    s.poll_until(|t| t.ready == 1).await;

    let b = s.app.client();
    let b_vault = b.sign_up("intruder-b@example.com").await;
    // A's vault, or A's file smuggled into B's own vault: not found either way.
    for vault in [s.vault.clone(), b_vault.clone()] {
        let sel = json!({"vault_id": vault, "file_ids": [id]});
        let p = b
            .call_json("preview_restore", json!({"selection": sel, "days": 1}))
            .await;
        if vault == s.vault {
            assert_eq!(p.status, 404, "{:?}", p.body);
        } else {
            assert_eq!(p.body["files"], 0, "A's file is not in B's vault");
        }
        let r = b
            .call_json(
                "request_restore",
                json!({"selection": sel, "tier": "Bulk", "days": 1}),
            )
            .await;
        assert!(matches!(r.status, 422 | 404), "{:?}", r.body);
        let c = b
            .call_json("change_class", json!({"selection": sel, "to": "STANDARD"}))
            .await;
        if vault == s.vault {
            assert_eq!(c.status, 404);
        }
    }
    assert_eq!(b.call("restore_requests", &[]).await.body, json!([]));
    for f in ["restore_request_files", "restore_download_links"] {
        let r = b.call(f, &[("request_id", &request_id)]).await;
        assert_eq!(r.status, 404, "{f}: {:?}", r.body);
    }
    assert_eq!(b.get(&format!("/files/{id}/download")).await.status(), 404);
    assert_eq!(b.call("notifications", &[]).await.body, json!([]));
    if st.config.smtp_url.is_none() {
        // B's outbox holds B's own sign-up mail, nothing of A's.
        let outbox = b.call("outbox", &[]).await.body;
        for m in outbox.as_array().unwrap() {
            assert_eq!(m["to_addr"], "intruder-b@example.com", "{m:?}");
        }
    }
    let theirs: (String,) = sqlx::query_as("SELECT id FROM notifications LIMIT 1")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    b.call_json("mark_notifications_read", json!({"ids": [theirs.0]}))
        .await;
    assert_eq!(s.c.call("unread_notifications", &[]).await.body, 1);
    // A's class and state are as A left them.
    assert_eq!(s.file_state(&id).await.0, "restored");
    // A reads their own mail on the outbox page (no SMTP in this test).
    if st.config.smtp_url.is_none() {
        let o = s.c.call("outbox", &[]).await;
        assert_eq!(o.body[0]["subject"], "Restore ready: secret.bin");
    }
}

/// With `TEST_SMTP_URL` (scripts/test starts aiosmtpd writing a maildir at
/// `TEST_SMTP_MAILDIR`), the mailer delivers the restore mail over SMTP.
#[tokio::test]
async fn the_mailer_delivers_over_smtp() {
    let Ok(maildir) = std::env::var("TEST_SMTP_MAILDIR") else {
        eprintln!("TEST_SMTP_MAILDIR not set: the SMTP delivery test needs scripts/test");
        return;
    };
    let s = setup(&format!(
        "mail-{}@example.com",
        uuid::Uuid::new_v4().simple()
    ))
    .await;
    let st = &s.app.state;
    assert!(st.config.smtp_url.is_some());
    // The sign-up's confirmation mail goes first.
    assert_eq!(app::notify::service::send_pending(st).await.unwrap(), 1);
    let id = s
        .archived("holiday.mov", &random_bytes(3000), "GLACIER")
        .await;
    app::tiers::restore_request::request(st, &s.actor, s.sel(&[&id]), "Expedited", 2)
        .await
        .unwrap();
    s.poll_until(|t| t.ready == 1).await;
    assert_eq!(app::notify::service::send_pending(st).await.unwrap(), 1);
    assert_eq!(
        app::notify::service::send_pending(st).await.unwrap(),
        0,
        "sent once"
    );
    let to = st.db.pool.clone();
    let email: (String, String) = sqlx::query_as(
        "SELECT to_addr, id FROM mail_outbox WHERE sent_at IS NOT NULL AND subject LIKE 'Restore ready%'",
    )
    .fetch_one(&to)
    .await
    .unwrap();
    // Its Message-ID is the outbox row's, the same on every try (a mail sent again after a
    // crash is the same message to the reader's mail app).
    let message_id = format!("Message-ID: <{}@", email.1);
    // aiosmtpd's Mailbox handler writes each message as a file under new/.
    let mut found = false;
    for _ in 0..50 {
        for e in std::fs::read_dir(format!("{maildir}/new"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            if text.contains(&email.0) && text.contains("Subject: Restore ready: holiday.mov") {
                assert!(text.contains(&message_id), "{message_id} in:\n{text}");
                found = true;
            }
        }
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the mail to {} is in the SMTP sink", email.0);
}

//! Billing against the Stripe fake in the test tree (`server/tests/stripe_fake.py`: Stripe's
//! current API shapes, parsed by the real async-stripe client, and webhooks signed as Stripe
//! signs them), on SQLite and PostgreSQL: checkout → trialing → active → plan change →
//! payment failed → canceled, the webhook's signature, timestamp, replays and unknown events,
//! metered overage reported once, and that user B never reaches user A's billing.
use crate::support::{Client, TestApp, random_bytes};
use app::core::Actor;
use app::core::config::BillingSettings;
use serde_json::{Value, json};
use sha2::Digest;

const SECRET: &str = "sk_test_nexus";
const WHSEC: &str = "whsec_test_nexus";

/// The fake, on a free port, stopped when dropped.
pub struct Fake {
    child: std::process::Child,
    pub url: String,
    http: reqwest::Client,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Fake {
    pub async fn start() -> Fake {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let python = std::env::var("NEXUS_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stripe_fake.py");
        let child = std::process::Command::new(python)
            .args([script, "--port", &port.to_string(), "--secret-key", SECRET])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs the Stripe fake");
        let fake = Fake {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        for _ in 0..100 {
            if fake
                .http
                .get(format!("{}/_fake/events", fake.url))
                .send()
                .await
                .is_ok()
            {
                return fake;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the Stripe fake did not start");
    }

    pub async fn control(&self, what: &str, args: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/_fake/{what}", self.url))
            .json(&args)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap_or(Value::Null)
    }

    /// Waits until every webhook so far has been answered by the app.
    pub async fn flush(&self) {
        self.control("flush", json!({})).await;
    }

    pub async fn events(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_fake/events", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Submits a hosted page's form (Checkout "Subscribe", Portal "Cancel plan", …) and
    /// answers where it sends the browser.
    pub async fn submit(&self, page: &str, action: &str) -> String {
        let r = self
            .http
            .post(format!("{page}/{action}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{page}/{action}");
        r.headers()["location"].to_str().unwrap().to_string()
    }
}

pub async fn app_with_billing(fake: &Fake, default_plan: &str) -> TestApp {
    let url = fake.url.clone();
    let plan = default_plan.to_string();
    let app = TestApp::spawn_with(move |c| {
        c.default_plan = plan;
        c.billing = Some(BillingSettings {
            secret_key: SECRET.into(),
            webhook_secret: WHSEC.into(),
            api_base: url,
            card_up_front: true,
            dunning_days: 14,
        });
    })
    .await;
    fake.control(
        "config",
        json!({"webhook_url": format!("{}/stripe/webhook", app.base), "webhook_secret": WHSEC}),
    )
    .await;
    app
}

/// Takes `plan` through Checkout (the hosted page's "Subscribe") and waits for the webhooks.
async fn subscribe(c: &Client, fake: &Fake, plan: &str) {
    let page = c.call("choose_plan", &[("plan", plan)]).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    fake.submit(page.body.as_str().unwrap(), "pay").await;
    fake.flush().await;
}

async fn info(c: &Client) -> Value {
    let a = c.call("billing_info", &[]).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

/// Stripe's scheme, written here from its documentation: HMAC-SHA256 keyed with the
/// endpoint secret over "<t>.<payload>".
fn sign(payload: &str, t: i64, secret: &str) -> String {
    let mut key = secret.as_bytes().to_vec();
    if key.len() > 64 {
        key = sha2::Sha256::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
    let inner =
        sha2::Sha256::digest([ipad.as_slice(), format!("{t}.{payload}").as_bytes()].concat());
    let outer = sha2::Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
    format!("t={t},v1={}", hex::encode(outer))
}

async fn post_webhook(app: &TestApp, payload: &str, sig: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/stripe/webhook", app.base))
        .header("Stripe-Signature", sig)
        .header("Content-Type", "application/json")
        .body(payload.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn checkout_trial_active_plan_change_payment_failed_and_cancel_follow_stripe() {
    let fake = Fake::start().await;
    let app = app_with_billing(&fake, "free").await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("payer@example.com").await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    let actor = Actor::job_for(&user);
    let (ws, _) = app::usage::service::own_workspace(&st.db, &actor)
        .await
        .unwrap();
    assert_eq!(info(&c).await["status"], "none");
    assert_eq!(info(&c).await["plan"]["id"], "free");

    // Checkout: the hosted page, then back to billing; the webhooks set the plan.
    let url = c.call("choose_plan", &[("plan", "plus")]).await;
    assert_eq!(url.status, 200, "{:?}", url.body);
    let page = url.body.as_str().unwrap().to_string();
    assert!(
        page.starts_with(&format!("{}/checkout/cs_test_", fake.url)),
        "{page}"
    );
    let html = reqwest::get(&page).await.unwrap().text().await.unwrap();
    assert!(html.contains("Free for 14 days"), "{html}");
    let back = fake.submit(&page, "pay").await;
    assert_eq!(back, format!("{}/billing?checkout=done", app.base));
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["status"], "trialing", "{b}");
    assert_eq!(b["plan"]["id"], "plus");
    // The subscription carries the plan and the metered overage price.
    let state = fake.control("state", json!({})).await;
    let prices: Vec<&str> = state["subs"][0]["items"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["price"]["lookup_key"].as_str().unwrap())
        .collect();
    assert_eq!(prices, ["nexus_plus", "nexus_overage"]);
    let trial_end = b["trial_end"].as_i64().unwrap();
    let days = (trial_end - st.clock.now_ms()) as f64 / 86_400_000.0;
    assert!((13.9..=14.1).contains(&days), "{days}");
    assert_eq!(
        app::usage::service::plan_for(st, &ws).await.unwrap().id,
        "plus"
    );

    // Three days before the trial ends: told in the app and by mail.
    fake.control("advance", json!({"seconds": 11 * 86_400 + 3600}))
        .await;
    fake.flush().await;
    let n = c.call("notifications", &[]).await;
    assert_eq!(n.body[0]["title"], "Your trial ends soon", "{:?}", n.body);
    // The trial ends: charged, active, an invoice.
    fake.control("advance", json!({"seconds": 3 * 86_400}))
        .await;
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["status"], "active", "{b}");
    assert_eq!(b["invoices"][0]["status"], "paid");
    assert_eq!(b["invoices"][0]["total_cents"], 600);
    assert_eq!(b["next_invoice_cents"], 600);

    // Up to Pro, prorated, in place.
    let r = c.call("choose_plan", &[("plan", "pro")]).await;
    assert_eq!(r.body, format!("{}/billing?changed=pro", app.base));
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["plan"]["id"], "pro", "{b}");
    assert_eq!(b["status"], "active");
    let proration = b["invoices"][0]["total_cents"].as_i64().unwrap();
    assert!(
        (1300..=1400).contains(&proration),
        "{proration} cents for ~29 days of $14"
    );

    // The card fails at renewal: past due, a banner, a mail; uploads go on until the dunning
    // period is over, then pause (nothing is deleted).
    let customer: (String,) =
        sqlx::query_as("SELECT stripe_customer_id FROM subscriptions WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    fake.control(
        "fail_payments",
        json!({"customer": customer.0, "fail": true}),
    )
    .await;
    fake.control("advance", json!({"seconds": 30 * 86_400}))
        .await;
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["status"], "past_due", "{b}");
    assert!(b["payment_failed_at"].as_i64().is_some());
    assert_eq!(
        c.call("usage_quota", &[]).await.body["payment_failed"],
        true
    );
    let mails: Vec<(String,)> =
        sqlx::query_as("SELECT subject FROM mail_outbox ORDER BY created_at")
            .fetch_all(&st.db.pool)
            .await
            .unwrap();
    assert!(mails.iter().any(|m| m.0 == "A payment failed"), "{mails:?}");
    crate::support::upload(&c, &vault, "still.bin", &random_bytes(1000)).await;
    app.clock.advance_ms(15 * 86_400_000);
    let c = app.client();
    c.sign_in("payer@example.com", crate::support::PASSWORD)
        .await;
    let a = c
        .start_upload_with(json!({"vault_id": vault, "name": "paused.bin", "size": 10,
            "content_type": "application/octet-stream"}))
        .await;
    assert_eq!(a.status, 402, "{:?}", a.body);
    assert!(a.message().contains("Uploads are paused"));
    // Paid again: the banner goes.
    fake.control(
        "fail_payments",
        json!({"customer": customer.0, "fail": false}),
    )
    .await;
    fake.control("advance", json!({"seconds": 30 * 86_400}))
        .await;
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["status"], "active", "{b}");
    assert_eq!(b["payment_failed_at"], Value::Null);

    // Cancel in the portal: at period end, told what happens; then canceled, back on Free.
    let portal = c
        .call("billing_portal", &[])
        .await
        .body
        .as_str()
        .unwrap()
        .to_string();
    assert!(portal.starts_with(&format!("{}/portal/", fake.url)));
    let back = fake.submit(&portal, "cancel").await;
    assert_eq!(back, format!("{}/billing?portal=1", app.base));
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["cancel_at_period_end"], true, "{b}");
    assert_eq!(b["plan"]["id"], "pro", "kept until the period ends");
    fake.control("advance", json!({"seconds": 31 * 86_400}))
        .await;
    fake.flush().await;
    let b = info(&c).await;
    assert_eq!(b["status"], "canceled", "{b}");
    assert_eq!(b["plan"]["id"], "free");
    // Stripe retrying an older event late (an update from when the plan was live) changes
    // nothing: the newest state stays. (A new id, as a redelivery after a failed one is.)
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stale_created = real_now - 86_400;
    let sub_json = fake.control("state", json!({})).await["subs"][0].clone();
    let mut live = sub_json.clone();
    live["status"] = json!("active");
    let payload = json!({"id": "evt_stale_1", "object": "event", "created": stale_created,
        "livemode": false, "pending_webhooks": 1, "type": "customer.subscription.updated",
        "data": {"object": live}})
    .to_string();
    assert_eq!(
        post_webhook(&app, &payload, &sign(&payload, real_now, WHSEC)).await,
        200
    );
    assert_eq!(info(&c).await["status"], "canceled");
    // Every webhook was taken (2xx) and applied once.
    for e in fake.events().await {
        assert_eq!(e["status"], 200, "{e}");
    }
    let (applied,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM stripe_events")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        fake.events().await.len() + 1,
        "and the stale one"
    );
    // Each subscription change Stripe made is in the workspace's audit log, the last one the
    // cancellation.
    let changes: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'billing.subscription' ORDER BY at, id",
    )
    .fetch_all(&st.db.pool)
    .await
    .unwrap();
    assert!(changes.len() >= 3, "{changes:?}");
    assert!(
        changes.last().unwrap().0.contains("canceled"),
        "{changes:?}"
    );
}

#[tokio::test]
async fn webhooks_need_stripes_signature_a_fresh_timestamp_and_apply_once() {
    let fake = Fake::start().await;
    let app = app_with_billing(&fake, "free").await;
    let st = &app.state;
    let now = st.clock.now_ms() / 1000;
    let payload = json!({"id": "evt_unknown_1", "object": "event", "created": now,
        "livemode": false, "pending_webhooks": 1, "type": "nexus.test_unknown",
        "data": {"object": {"id": "x", "object": "thing"}}})
    .to_string();
    // Wrong secret, tampered body, old timestamp, no header: 400, nothing recorded.
    assert_eq!(
        post_webhook(&app, &payload, &sign(&payload, now, "whsec_wrong")).await,
        400
    );
    let tampered = payload.replace("evt_unknown_1", "evt_unknown_2");
    assert_eq!(
        post_webhook(&app, &tampered, &sign(&payload, now, WHSEC)).await,
        400
    );
    assert_eq!(
        post_webhook(&app, &payload, &sign(&payload, now - 600, WHSEC)).await,
        400
    );
    assert_eq!(post_webhook(&app, &payload, "").await, 400);
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM stripe_events")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Signed right: an unknown type is taken (200) and recorded; its replay is a no-op.
    assert_eq!(
        post_webhook(&app, &payload, &sign(&payload, now, WHSEC)).await,
        200
    );
    assert_eq!(
        post_webhook(&app, &payload, &sign(&payload, now, WHSEC)).await,
        200
    );
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM stripe_events")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // A real event replayed by Stripe: applied once (one notification, not two).
    let c = app.client();
    c.sign_up("replay@example.com").await;
    subscribe(&c, &fake, "plus").await;
    let subs = fake.control("state", json!({})).await;
    let sub = subs["subs"][0]["id"].as_str().unwrap().to_string();
    fake.control("trial_will_end", json!({"subscription": sub}))
        .await;
    fake.flush().await;
    let evt = fake
        .events()
        .await
        .into_iter()
        .find(|e| e["type"] == "customer.subscription.trial_will_end")
        .unwrap();
    fake.control("resend", json!({"id": evt["id"]})).await;
    fake.flush().await;
    let n = c.call("notifications", &[]).await;
    assert_eq!(n.body.as_array().unwrap().len(), 1, "{:?}", n.body);
}

#[tokio::test]
async fn overage_is_reported_to_the_meter_once_per_day() {
    let fake = Fake::start().await;
    let app = app_with_billing(&fake, "free").await;
    let st = &app.state;
    let c = app.client();
    c.sign_up("heavy@example.com").await;
    let user = c.current_user().await["id"].as_str().unwrap().to_string();
    let (ws, _) = app::usage::service::own_workspace(&st.db, &Actor::job_for(&user))
        .await
        .unwrap();
    subscribe(&c, &fake, "plus").await;
    // Days before the subscription are not reported: a day of 1,124 GB then, and two days on
    // a day of it since. Plus includes 1,024 GB; 100 GB over at $0.006/GB-month: 2 cents.
    let before = app::usage::day_of(st.clock.now_ms()) - 1;
    app.clock.advance_ms(2 * 86_400_000);
    let day = app::usage::day_of(st.clock.now_ms()) - 1;
    for d in [before, day] {
        sqlx::query(
        "INSERT INTO usage_daily (workspace_id, vault_id, storage_class, day, bytes_end, objects_end,
            billable_end, standard_end, byte_hours, cost_micros, early_fee_micros)
         VALUES ($1, 'v', 'DEEP_ARCHIVE', $2, $3, 1, $3, 0, $4, 0, 0)",
    )
    .bind(&ws)
    .bind(d)
    .bind(1124i64 << 30)
    .bind((1124i64 << 30) * 24)
    .execute(&st.db.pool)
    .await
    .unwrap();
    }
    assert_eq!(app::billing::service::report_usage(st).await.unwrap(), 1);
    assert_eq!(
        app::billing::service::report_usage(st).await.unwrap(),
        0,
        "once"
    );
    let events: Vec<Value> = reqwest::get(format!("{}/_fake/meter_events", fake.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event_name"], app::billing::service::METER_EVENT);
    assert_eq!(events[0]["payload"]["value"], "2");
    assert_eq!(events[0]["identifier"], format!("{ws}:{day}"));
    let (reported,): (Option<i64>,) =
        sqlx::query_as("SELECT reported_at FROM meter_reports WHERE identifier = $1")
            .bind(format!("{ws}:{day}"))
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert!(reported.is_some());
}

#[tokio::test]
async fn user_b_never_reaches_user_a_billing_and_billing_off_says_so() {
    let fake = Fake::start().await;
    let app = app_with_billing(&fake, "free").await;
    let a = app.client();
    a.sign_up("bill-a@example.com").await;
    subscribe(&a, &fake, "plus").await;
    assert_eq!(info(&a).await["status"], "trialing");
    let b = app.client();
    b.sign_up("bill-b@example.com").await;
    let ib = info(&b).await;
    assert_eq!(ib["status"], "none");
    assert_eq!(ib["invoices"], json!([]));
    assert_eq!(ib["plan"]["id"], "free");
    let p = b.call("billing_portal", &[]).await;
    assert_eq!(p.status, 409, "B has no customer of its own: {:?}", p.body);
    // Signed out: nothing.
    let anon = app.client();
    assert_eq!(anon.call("billing_info", &[]).await.status, 401);
    assert_eq!(
        anon.call("choose_plan", &[("plan", "plus")]).await.status,
        401
    );

    // Without Stripe keys: billing off, the default plan, nothing breaks.
    let off = TestApp::spawn().await;
    let c = off.client();
    c.sign_up("nobill@example.com").await;
    let i = info(&c).await;
    assert_eq!(i["enabled"], false);
    assert_eq!(i["plan"]["id"], "pro");
    let r = c.call("choose_plan", &[("plan", "plus")]).await;
    assert_eq!(r.status, 409);
    assert!(r.message().contains("Billing is not set up"));
    let w = reqwest::Client::new()
        .post(format!("{}/stripe/webhook", off.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), 404);
}

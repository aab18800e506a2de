//! The operators' console: only an account flagged as operator (by `server operator`) sees
//! it, in a session of its own (not a key, not an SSO session); to everyone else its page
//! and functions do not exist. It lists accounts (searchable), workspaces by what they store,
//! failed jobs (retried once) and failing webhooks.
use crate::support::{TestApp, random_bytes, upload};

#[tokio::test]
async fn only_operators_see_the_console_and_retry_failed_jobs() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let op = app.client();
    op.sign_up("root@ops.example").await;
    let user = app.client();
    let vault = user.sign_up("customer@example.com").await;
    upload(&user, &vault, "a.bin", &random_bytes(5_000)).await;

    // Not an operator yet: the functions and the page are not there.
    for c in [&op, &user] {
        assert_eq!(
            c.call("admin_overview", &[("search", "")]).await.status,
            404
        );
        assert_eq!(
            c.call("admin_retry_job", &[("job_id", "x")]).await.status,
            404
        );
    }
    assert_eq!(
        app.client()
            .call("admin_overview", &[("search", "")])
            .await
            .status,
        401
    );
    assert!(
        app::admin::service::set_operator(&st.db, "Root@Ops.Example", true)
            .await
            .unwrap()
    );
    assert!(
        !app::admin::service::set_operator(&st.db, "nobody@x.example", true)
            .await
            .unwrap()
    );

    // A failed job, and a webhook that fails.
    let now = st.clock.now_ms();
    app::core::jobs::enqueue(&st.db, "send_mail", Some("doomed"), "{}", now, now)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET state = 'failed', attempts = 10, last_error = 'SMTP said <b>no</b>' WHERE dedupe_key = 'doomed'")
        .execute(&st.db.pool)
        .await
        .unwrap();

    let view = op.call("admin_overview", &[("search", "")]).await;
    assert_eq!(view.status, 200, "{:?}", view.body);
    let v = &view.body;
    assert_eq!(v["user_count"], 2);
    let ws = v["workspaces"].as_array().unwrap();
    assert_eq!(
        ws[0]["owner_email"], "customer@example.com",
        "most stored first: {v}"
    );
    assert_eq!(ws[0]["bytes"], 5_000);
    let job = &v["failed_jobs"][0];
    assert_eq!(job["kind"], "send_mail");
    let found = op
        .call("admin_overview", &[("search", "CUSTOMER")])
        .await
        .body;
    assert_eq!(found["users"].as_array().unwrap().len(), 1);
    assert_eq!(
        op.call("admin_overview", &[("search", "%")]).await.body["users"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "% is a character, not a wildcard"
    );

    // Retry: queued again, once.
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(
        user.call("admin_retry_job", &[("job_id", &id)])
            .await
            .status,
        404
    );
    assert_eq!(
        op.call("admin_retry_job", &[("job_id", &id)]).await.status,
        200
    );
    assert_eq!(
        op.call("admin_retry_job", &[("job_id", &id)]).await.status,
        409
    );
    let (state, attempts): (String, i64) =
        sqlx::query_as("SELECT state, CAST(attempts AS BIGINT) FROM jobs WHERE id = $1")
            .bind(&id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 0));
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'admin.job_retry'")
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(n, 1);

    // The page: for the operator, with the markup in the job's error as text.
    let page = op.get("/admin").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Operators"), "{html}");
    // An API key of the operator's is no way in.
    let key = op
        .call_json(
            "create_api_key",
            serde_json::json!({"new": {"name": "k", "scopes": ["admin"]}}),
        )
        .await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let r = reqwest::Client::new()
        .post(format!("{}/api/admin_overview", app.base))
        .bearer_auth(key.body["secret"].as_str().unwrap())
        .form(&[("search", "")])
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200);
    // Revoked: gone again.
    app::admin::service::set_operator(&st.db, "root@ops.example", false)
        .await
        .unwrap();
    assert_eq!(
        op.call("admin_overview", &[("search", "")]).await.status,
        404
    );
}

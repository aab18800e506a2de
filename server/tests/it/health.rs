use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let h = c.get("/healthz").await;
    assert_eq!(h.status(), 200);
    assert!(h.headers().contains_key("x-request-id"));
    assert_eq!(h.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = c.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": "ok", "storage": "ok"})
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.pool.close().await;
    let r = app.client().get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["database"],
        "unavailable"
    );
}

#[tokio::test]
async fn pages_render_and_unknown_ones_are_404() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let home = c.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Keep files for years"));
    let sign_in = c.get("/sign-in").await.text().await.unwrap();
    assert!(
        sign_in.contains("<label for=\"signin-email\">Email"),
        "{sign_in}"
    );
    assert!(sign_in.contains("id=\"signin-email\""));
    assert_eq!(c.get("/no/such/page").await.status(), 404);
}

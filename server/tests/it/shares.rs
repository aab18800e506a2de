//! Share links over HTTP: made by path (file or folder), shown once; the public page and its
//! downloads without a session (a presigned GET made at click time); expiry, password (with
//! a limit on guesses), download limit (raced), revoke; archived files refused; roles.
use crate::support::{Client, TestApp, random_bytes, to_class, upload};
use serde_json::json;

async fn make(
    c: &Client,
    vault: &str,
    path: &str,
    extra: serde_json::Value,
) -> crate::support::Answer {
    let mut new = json!({ "vault_id": vault, "path": path, "days": 7 });
    for (k, v) in extra.as_object().unwrap() {
        new[k] = v.clone();
    }
    c.call_json("create_share", json!({ "new": new })).await
}

fn token_of(url: &str) -> String {
    url.rsplit("/s/").next().unwrap().to_string()
}

async fn view(app: &TestApp, token: &str, password: &str) -> crate::support::Answer {
    app.client()
        .call("open_share", &[("token", token), ("password", password)])
        .await
}

async fn download(
    app: &TestApp,
    token: &str,
    password: &str,
    file: &str,
) -> crate::support::Answer {
    app.client()
        .call(
            "share_download",
            &[("token", token), ("password", password), ("file_id", file)],
        )
        .await
}

#[tokio::test]
async fn a_file_link_downloads_without_a_session_until_it_expires_and_counts() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("sally@example.com").await;
    let bytes = random_bytes(5000);
    let file = upload(&a, &vault, "<b>report<b>.pdf", &bytes).await;
    let file_id = file["id"].as_str().unwrap().to_string();

    let made = make(&a, &vault, "<b>report<b>.pdf", json!({})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let url = made.body["url"].as_str().unwrap().to_string();
    assert!(url.contains("/s/"), "{url}");
    let token = token_of(&url);
    // The token is kept hashed only.
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM share_links WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // The public page names the file (as text) and carries no download address.
    let page = app.client().get(&format!("/s/{token}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;b&gt;report&lt;b&gt;.pdf"), "{html}");
    assert!(!html.contains("<b>report<b>"));
    assert!(
        !html.contains("X-Amz-Signature"),
        "no presigned URL in the page"
    );

    let shown = view(&app, &token, "").await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);
    assert_eq!(shown.body["files"][0]["size"], 5000);
    let got = download(&app, &token, "", &file_id).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    let presigned = got.body.as_str().unwrap();
    assert!(presigned.contains("X-Amz-Signature"));
    let body = reqwest::get(presigned)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], &bytes[..]);

    // Another file of the vault is not reachable through this link.
    let other = upload(&a, &vault, "other.bin", &random_bytes(10)).await;
    let sneaky = download(&app, &token, "", other["id"].as_str().unwrap()).await;
    assert_eq!(sneaky.status, 404);

    let links = a.call("list_shares", &[("vault_id", &vault)]).await.body;
    // The page's render and the call above each counted a view.
    assert_eq!(links[0]["views"], 2);
    assert_eq!(links[0]["downloads"], 1);
    assert!(!links.to_string().contains(&token));

    // Seven days later it is gone, the same as a link that never was.
    app.clock.advance_ms(7 * 86_400_000 + 1_000);
    assert_eq!(view(&app, &token, "").await.status, 404);
    assert_eq!(download(&app, &token, "", &file_id).await.status, 404);
    assert_eq!(view(&app, "not-a-token", "").await.status, 404);
}

#[tokio::test]
async fn terms_are_checked_a_password_is_needed_and_guesses_are_limited() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("pat@example.com").await;
    let file = upload(&a, &vault, "plan.txt", &random_bytes(100)).await;
    let file_id = file["id"].as_str().unwrap().to_string();
    for (extra, field) in [
        (json!({ "days": 0 }), "days"),
        (json!({ "days": 31 }), "days"),
        (json!({ "password": "short" }), "password"),
        (json!({ "max_downloads": 0 }), "max_downloads"),
    ] {
        let r = make(&a, &vault, "plan.txt", extra.clone()).await;
        assert_eq!(r.status, 422, "{extra}");
        assert_eq!(r.body["Invalid"]["field"], field, "{extra}");
    }
    let missing = make(&a, &vault, "nope/nothing.txt", json!({})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["Invalid"]["field"], "path");

    let made = make(&a, &vault, "plan.txt", json!({ "password": "open sesame" })).await;
    let token = token_of(made.body["url"].as_str().unwrap());
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM share_links")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    let bare = view(&app, &token, "").await;
    assert_eq!(bare.status, 422);
    assert_eq!(bare.body["Invalid"]["field"], "password");
    assert_eq!(download(&app, &token, "", &file_id).await.status, 422);
    assert_eq!(view(&app, &token, "open sesame").await.status, 200);
    assert_eq!(
        download(&app, &token, "open sesame", &file_id).await.status,
        200
    );
    let mut statuses = vec![];
    for i in 0..12 {
        statuses.push(view(&app, &token, &format!("guess {i}")).await.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        view(&app, &token, "open sesame").await.status,
        429,
        "the address waits, even with the right password"
    );
}

#[tokio::test]
async fn a_download_limit_holds_under_parallel_clicks_and_a_revoked_link_stops() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("lim@example.com").await;
    let file = upload(&a, &vault, "twice.bin", &random_bytes(100)).await;
    let file_id = file["id"].as_str().unwrap().to_string();
    let made = make(&a, &vault, "twice.bin", json!({ "max_downloads": 2 })).await;
    let token = token_of(made.body["url"].as_str().unwrap());
    let mut clicks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let c = app.client();
        let (t, f) = (token.clone(), file_id.clone());
        clicks.spawn(async move {
            c.call(
                "share_download",
                &[("token", &t), ("password", ""), ("file_id", &f)],
            )
            .await
            .status
        });
    }
    let statuses = clicks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        4,
        "{statuses:?}"
    );

    let made = make(&a, &vault, "twice.bin", json!({})).await;
    let token = token_of(made.body["url"].as_str().unwrap());
    let id = made.body["link"]["id"].as_str().unwrap().to_string();
    assert_eq!(view(&app, &token, "").await.status, 200);
    assert_eq!(
        a.call("revoke_share", &[("share_id", &id)]).await.status,
        200
    );
    assert_eq!(view(&app, &token, "").await.status, 404);
    assert_eq!(download(&app, &token, "", &file_id).await.status, 404);
    // Both were recorded in the audit log.
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('share.create', 'share.revoke')",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn a_folder_link_lists_its_files_at_any_depth_and_archived_ones_wait_for_a_restore() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("fold@example.com").await;
    for (parent, name) in [("", "trip"), ("trip", "day 1"), ("", "trip_other")] {
        let r = a
            .call(
                "create_folder",
                &[
                    ("vault_id", &vault),
                    ("parent_path", parent),
                    ("name", name),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let top = crate::support::upload_in(&a, &vault, "trip", "map.png", &random_bytes(10)).await;
    let deep =
        crate::support::upload_in(&a, &vault, "trip/day 1", "cold.raw", &random_bytes(20)).await;
    let outside =
        crate::support::upload_in(&a, &vault, "trip_other", "secret.txt", &random_bytes(5)).await;
    let (user_id,): (String,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'fold@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    to_class(
        &app.state,
        &user_id,
        &vault,
        deep["id"].as_str().unwrap(),
        "DEEP_ARCHIVE",
    )
    .await;

    let made = make(&a, &vault, "/trip/", json!({})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let token = token_of(made.body["url"].as_str().unwrap());
    let shown = view(&app, &token, "").await.body;
    assert_eq!(shown["title"], "trip");
    assert_eq!(shown["is_folder"], true);
    let names: Vec<(String, String)> = shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["folder"].as_str().unwrap().into(),
                f["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("".into(), "map.png".into()),
            ("day 1".into(), "cold.raw".into())
        ],
        "trip_other (whose name starts the same) is not in it"
    );
    assert_eq!(
        download(&app, &token, "", top["id"].as_str().unwrap())
            .await
            .status,
        200
    );
    let cold = download(&app, &token, "", deep["id"].as_str().unwrap()).await;
    assert_eq!(cold.status, 409);
    assert!(
        cold.message().contains("must be restored"),
        "{}",
        cold.message()
    );
    assert_eq!(
        download(&app, &token, "", outside["id"].as_str().unwrap())
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn viewers_and_outsiders_make_no_links_and_see_none_of_others() {
    let app = TestApp::spawn().await;
    let t = crate::teams::team(&app).await;
    upload(&t.owner, &t.vault, "team.txt", &random_bytes(10)).await;
    assert_eq!(
        make(&t.viewer, &t.vault, "team.txt", json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        make(&t.outsider, &t.vault, "team.txt", json!({}))
            .await
            .status,
        404
    );
    let made = make(&t.member, &t.vault, "team.txt", json!({})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let id = made.body["link"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.viewer
            .call("list_shares", &[("vault_id", &t.vault)])
            .await
            .status,
        200
    );
    assert_eq!(
        t.outsider
            .call("list_shares", &[("vault_id", &t.vault)])
            .await
            .status,
        404
    );
    assert_eq!(
        t.outsider
            .call("revoke_share", &[("share_id", &id)])
            .await
            .status,
        404
    );
    assert_eq!(
        t.viewer
            .call("revoke_share", &[("share_id", &id)])
            .await
            .status,
        403
    );
    assert_eq!(
        t.admin
            .call("revoke_share", &[("share_id", &id)])
            .await
            .status,
        200
    );
}

//! The account's own flows over HTTP: mailed sign-in and reset links (single use, 15 minutes,
//! limited, the same answer for unknown addresses), sessions (listed, ended, everywhere),
//! password and email changes, the unconfirmed-address banner.
use crate::accounts::link_token;
use crate::support::{Client, PASSWORD, TestApp};

/// Mails sent to `to` so far (subjects and bodies), oldest first.
async fn mails_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT subject, body FROM mail_outbox WHERE to_addr = $1 ORDER BY created_at, id",
    )
    .bind(to)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn confirm(app: &TestApp, email: &str) {
    sqlx::query("UPDATE users SET email_confirmed_at = 1 WHERE email = $1")
        .bind(email)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

async fn ask_link(c: &Client, email: &str, purpose: &str) -> crate::support::Answer {
    c.call(
        "request_sign_in_link",
        &[("email", email), ("purpose", purpose)],
    )
    .await
}

/// The sign-in link's token in the last mail to `to`.
async fn last_token(app: &TestApp, to: &str) -> String {
    let mails = mails_to(app, to).await;
    link_token(&mails.last().expect("a mail").1)
}

#[tokio::test]
async fn a_magic_link_signs_in_once_within_15_minutes_and_unknown_addresses_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.client().sign_up("ann@example.com").await;
    confirm(&app, "ann@example.com").await;
    let before = mails_to(&app, "ann@example.com").await.len();

    let c = app.client();
    let known = ask_link(&c, "Ann@Example.com", "magic").await;
    let unknown = ask_link(&c, "nobody@example.com", "magic").await;
    assert_eq!(known.status, 200, "{:?}", known.body);
    assert_eq!(
        (known.status, known.headers.get("location")),
        (unknown.status, unknown.headers.get("location")),
        "the same answer whether or not the address has an account"
    );
    assert_eq!(known.headers["location"], "/sign-in?link_sent=magic");
    assert!(mails_to(&app, "nobody@example.com").await.is_empty());
    let mails = mails_to(&app, "ann@example.com").await;
    assert_eq!(mails.len(), before + 1);
    assert!(mails.last().unwrap().0.contains("sign-in link"));
    // The token is stored hashed, never as mailed.
    let token = last_token(&app, "ann@example.com").await;
    let (stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM login_tokens WHERE token_hash = $1")
            .bind(&token)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);

    // It signs in without the password, once.
    let other = app.client();
    let used = other.call("sign_in_with_link", &[("token", &token)]).await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(other.current_user().await["email"], "ann@example.com");
    let again = app
        .client()
        .call("sign_in_with_link", &[("token", &token)])
        .await;
    assert_eq!(again.status, 422, "a link works once");

    // A link 15 minutes old no longer works.
    ask_link(&c, "ann@example.com", "magic").await;
    let late = last_token(&app, "ann@example.com").await;
    app.clock.advance_ms(15 * 60_000 + 1_000);
    let expired = app
        .client()
        .call("sign_in_with_link", &[("token", &late)])
        .await;
    assert_eq!(expired.status, 422, "{:?}", expired.body);

    // Nothing but a sign-in or reset link can be asked for.
    let bogus = ask_link(&c, "ann@example.com", "confirm").await;
    assert_eq!(bogus.status, 422);
    let bad_email = ask_link(&c, "not an email", "magic").await;
    assert_eq!(bad_email.status, 422);
}

#[tokio::test]
async fn a_reset_link_needs_a_new_password_which_ends_every_session() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("ann@example.com").await;
    let c = app.client();
    ask_link(&c, "ann@example.com", "reset").await;
    let mail = mails_to(&app, "ann@example.com").await.pop().unwrap();
    assert!(mail.1.contains("&reset=1"), "{}", mail.1);
    let token = link_token(&mail.1);
    let page = c.get(&format!("/sign-in/link?token={token}&reset=1")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("It replaces your old password"), "{html}");

    let bare = c.call("sign_in_with_link", &[("token", &token)]).await;
    assert_eq!(bare.status, 422);
    assert_eq!(bare.body["Invalid"]["field"], "password");
    let short = c
        .call(
            "sign_in_with_link",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    let done = c
        .call(
            "sign_in_with_link",
            &[("token", &token), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(c.current_user().await["email"], "ann@example.com");
    // The session made with the old password is over; the old password no longer works.
    assert!(a.current_user().await.is_null());
    assert_eq!(
        app.client()
            .sign_in("ann@example.com", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        app.client()
            .sign_in("ann@example.com", "a brand new password")
            .await
            .status,
        200
    );
    // Resetting also confirms the address (the mail reached its owner).
    let (confirmed,): (Option<i64>,) =
        sqlx::query_as("SELECT email_confirmed_at FROM users WHERE email = 'ann@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(confirmed.is_some());
}

#[tokio::test]
async fn link_requests_are_limited_per_account_silently_and_per_address_openly() {
    let app = TestApp::spawn().await;
    app.client().sign_up("ann@example.com").await;
    let before = mails_to(&app, "ann@example.com").await.len();
    let c = app.client();
    // Per account: three links of a kind an hour; the answer stays the same after.
    for _ in 0..5 {
        assert_eq!(ask_link(&c, "ann@example.com", "reset").await.status, 200);
    }
    assert_eq!(mails_to(&app, "ann@example.com").await.len(), before + 3);
    // Parallel requests count each other.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let c = app.client();
        burst.spawn(async move { ask_link(&c, "ann@example.com", "magic").await.status });
    }
    let statuses = burst.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(mails_to(&app, "ann@example.com").await.len(), before + 6);
    // Per client address: 20 requests an hour, then 429 with a retry time.
    for i in 12..=20 {
        let a = ask_link(&c, &format!("x{i}@example.com"), "magic").await;
        assert_eq!(a.status, 200, "request {i}");
    }
    let refused = ask_link(&c, "x21@example.com", "magic").await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert!(refused.headers.get("retry-after").is_some());
    // An hour later the address may ask again.
    app.clock.advance_ms(3_600_000 + 1_000);
    assert_eq!(ask_link(&c, "ann@example.com", "magic").await.status, 200);
    assert_eq!(mails_to(&app, "ann@example.com").await.len(), before + 7);
}

#[tokio::test]
async fn sessions_are_listed_and_ended_one_by_one_or_everywhere_and_only_by_their_owner() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("ann@example.com").await;
    let b = app.client();
    assert_eq!(b.sign_in("ann@example.com", PASSWORD).await.status, 200);
    let bob = app.client();
    bob.sign_up("bob@example.com").await;

    let list = a.call("account_sessions", &[]).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let sessions = list.body.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
    let b_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Bob sees only his own, and cannot end Ann's (it does not exist for him).
    let bobs = bob.call("account_sessions", &[]).await.body;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    assert_ne!(bobs[0]["id"], b_session.as_str());
    let refused = bob.call("end_session", &[("session_id", &b_session)]).await;
    assert_eq!(refused.status, 404);
    assert_eq!(b.current_user().await["email"], "ann@example.com");
    // Without a session, nothing.
    assert_eq!(app.client().call("account_sessions", &[]).await.status, 401);

    // Ann ends the other session from the first.
    let ended = a.call("end_session", &[("session_id", &b_session)]).await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    assert!(b.current_user().await.is_null());
    assert_eq!(a.current_user().await["email"], "ann@example.com");

    // "Sign out everywhere" ends this one too, and clears the cookie.
    assert_eq!(b.sign_in("ann@example.com", PASSWORD).await.status, 200);
    let out = a.call("sign_out_everywhere", &[]).await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(a.current_user().await.is_null());
    assert!(b.current_user().await.is_null());
    assert_eq!(bob.current_user().await["email"], "bob@example.com");
}

#[tokio::test]
async fn last_seen_is_kept_at_most_a_minute_stale() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("ann@example.com").await;
    let first = a.call("account_sessions", &[]).await.body[0]["last_seen_at"]
        .as_i64()
        .unwrap();
    app.clock.advance_ms(30_000);
    let same = a.call("account_sessions", &[]).await.body[0]["last_seen_at"]
        .as_i64()
        .unwrap();
    assert_eq!(same, first, "no write on every request");
    app.clock.advance_ms(31_000);
    let later = a.call("account_sessions", &[]).await.body[0]["last_seen_at"]
        .as_i64()
        .unwrap();
    assert!(later >= first + 61_000, "{first} {later}");
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_signs_out_the_other_sessions() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("ann@example.com").await;
    let b = app.client();
    b.sign_in("ann@example.com", PASSWORD).await;

    let wrong = a
        .call(
            "change_password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "another password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.body["Invalid"]["field"], "current_password");
    let short = a
        .call(
            "change_password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert_eq!(short.body["Invalid"]["field"], "password");
    let done = a
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another password"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(a.current_user().await["email"], "ann@example.com");
    assert!(b.current_user().await.is_null(), "the other session ended");
    assert_eq!(
        app.client()
            .sign_in("ann@example.com", "another password")
            .await
            .status,
        200
    );
    let notice = mails_to(&app, "ann@example.com").await.pop().unwrap();
    assert!(notice.0.contains("password was changed"), "{}", notice.0);

    // A stolen session cannot guess the password faster than the sign-in page.
    let mut statuses = vec![];
    for _ in 0..8 {
        statuses.push(
            a.call(
                "change_password",
                &[
                    ("current_password", "guess guess"),
                    ("new_password", "guessed password"),
                ],
            )
            .await
            .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    // Five failures an hour from one address (the first wrong guess above was one).
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        4,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn an_email_change_needs_the_password_and_a_link_opened_from_the_new_address() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("ann@example.com").await;
    app.client().sign_up("bob@example.com").await;
    let bob_mails = mails_to(&app, "bob@example.com").await.len();

    let wrong = a
        .call(
            "request_email_change",
            &[("email", "ann@new.example"), ("password", "not it at all")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(mails_to(&app, "ann@new.example").await.is_empty());
    let same = a
        .call(
            "request_email_change",
            &[("email", "ANN@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(same.status, 422);
    // A taken address answers the same, and its owner is not mailed a link.
    let taken = a
        .call(
            "request_email_change",
            &[("email", "bob@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(taken.status, 200);
    assert_eq!(mails_to(&app, "bob@example.com").await.len(), bob_mails);

    let asked = a
        .call(
            "request_email_change",
            &[("email", "ann@new.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    // Nothing changes until the link is opened.
    assert_eq!(a.current_user().await["email"], "ann@example.com");
    let body = mails_to(&app, "ann@new.example").await.pop().unwrap().1;
    let token = body
        .split("/account/email?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // The link is not a sign-in link.
    let as_sign_in = app
        .client()
        .call("sign_in_with_link", &[("token", &token)])
        .await;
    assert_eq!(as_sign_in.status, 422);
    let page = app
        .client()
        .get(&format!("/account/email?token={token}"))
        .await;
    assert_eq!(page.status(), 200);
    let used = app
        .client()
        .call("confirm_email_change", &[("token", &token)])
        .await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(a.current_user().await["email"], "ann@new.example");
    assert_eq!(a.current_user().await["email_confirmed"], true);
    let told = mails_to(&app, "ann@example.com").await.pop().unwrap();
    assert!(told.0.contains("email was changed"), "{}", told.0);
    assert!(told.1.contains("ann@new.example"));
    assert_eq!(
        app.client()
            .sign_in("ann@new.example", PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        app.client()
            .call("confirm_email_change", &[("token", &token)])
            .await
            .status,
        422,
        "once"
    );
}

#[tokio::test]
async fn an_unconfirmed_account_sees_a_banner_and_names_stay_text() {
    let app = TestApp::spawn().await;
    let a = app.client();
    // An address with markup in it is a valid address; it is shown as text everywhere.
    let email = "<i>ann</i>@example.com";
    a.sign_up(email).await;
    let html = a.get("/account").await.text().await.unwrap();
    assert!(html.contains("unconfirmed-banner"), "{html}");
    assert!(
        !html.contains("<i>ann</i>"),
        "markup in the email is escaped"
    );
    assert!(html.contains("&lt;i&gt;ann&lt;/i&gt;@example.com"));
    let before = mails_to(&app, email).await.len();
    // Sign-up mailed a link a moment ago: not again within the minute.
    assert_eq!(a.call("resend_confirmation", &[]).await.status, 200);
    assert_eq!(mails_to(&app, email).await.len(), before);
    app.clock.advance_ms(61_000);
    assert_eq!(a.call("resend_confirmation", &[]).await.status, 200);
    assert_eq!(a.call("resend_confirmation", &[]).await.status, 200);
    assert_eq!(
        mails_to(&app, email).await.len(),
        before + 1,
        "at most one a minute"
    );
    confirm(&app, email).await;
    let html = a.get("/account").await.text().await.unwrap();
    assert!(!html.contains("unconfirmed-banner"));
    assert!(!html.contains("not confirmed"));
}

#[tokio::test]
async fn mail_per_kind_can_be_turned_off_except_what_stops_uploads() {
    let app = TestApp::spawn().await;
    let a = app.client();
    a.sign_up("nora@example.com").await;
    let prefs = a.call("mail_prefs", &[]).await.body;
    assert!(
        prefs.as_array().unwrap().iter().all(|p| p["mail"] == true),
        "{prefs}"
    );
    let off = a
        .call(
            "set_mail_pref",
            &[("kind", "restore_ready"), ("mail", "false")],
        )
        .await;
    assert_eq!(off.status, 200, "{:?}", off.body);
    let must = a
        .call(
            "set_mail_pref",
            &[("kind", "payment_failed"), ("mail", "false")],
        )
        .await;
    assert_eq!(must.status, 422);
    let bogus = a
        .call("set_mail_pref", &[("kind", "nonsense"), ("mail", "true")])
        .await;
    assert_eq!(bogus.status, 422);
    let (user_id,): (String,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'nora@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let before = mails_to(&app, "nora@example.com").await.len();
    for kind in ["restore_ready", "payment_failed"] {
        let mut tx = app.state.db.begin().await.unwrap();
        app::notify::service::notify(
            &mut tx,
            &app.state.config,
            &user_id,
            kind,
            &format!("about {kind}"),
            "body",
            "",
            app.state.clock.now_ms(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let mails = mails_to(&app, "nora@example.com").await;
    assert_eq!(mails.len(), before + 1, "only the payment mail");
    assert_eq!(mails.last().unwrap().0, "about payment_failed");
    // Both are in the app's notifications.
    let listed = a.call("notifications", &[]).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_export_holds_the_account_its_files_and_checksums_and_nobody_else_s() {
    let app = TestApp::spawn().await;
    let a = app.client();
    let vault = a.sign_up("exa@example.com").await;
    let bytes = crate::support::random_bytes(2000);
    crate::support::upload(&a, &vault, "kept.bin", &bytes).await;
    let b = app.client();
    let b_vault = b.sign_up("exb@example.com").await;
    crate::support::upload(&b, &b_vault, "b-private.bin", &bytes).await;
    let resp = a.get("/account/export.json").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = resp.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["account"]["email"], "exa@example.com");
    let file = &json["workspaces"][0]["vaults"][0]["files"][0];
    assert_eq!(file["name"], "kept.bin");
    assert_eq!(file["size"], 2000);
    assert_eq!(file["crc64nvme"].as_str().unwrap().len(), 12, "{file}");
    assert!(
        json["usage_csv"]
            .as_str()
            .unwrap()
            .starts_with("date,vault,")
    );
    assert!(!text.contains("b-private") && !text.contains("exb@"));
    assert_eq!(app.client().get("/account/export.json").await.status(), 303);
}

#[tokio::test]
async fn deleting_the_account_empties_what_it_owns_alone_and_keeps_what_teams_own() {
    let app = TestApp::spawn().await;
    let t = crate::teams::team(&app).await;
    // The member uploads to the team, and keeps a file of their own.
    let team_file = crate::support::upload(
        &t.member,
        &t.vault,
        "team-work.bin",
        &crate::support::random_bytes(300),
    )
    .await;
    let list = t.member.call("list_workspaces", &[]).await.body;
    let personal = list[0]["id"].as_str().unwrap().to_string();
    t.member
        .call("switch_workspace", &[("workspace_id", &personal)])
        .await;
    let own_vault = t.member.call("list_vaults", &[]).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = crate::support::upload(
        &t.member,
        &own_vault,
        "mine.bin",
        &crate::support::random_bytes(400),
    )
    .await;
    let own_key = app.s3_key_of(own["id"].as_str().unwrap()).await;

    // The owner of a team with members cannot go before handing it over.
    let blocked = t
        .owner
        .call("delete_account", &[("confirm", "owner@example.com")])
        .await;
    assert_eq!(blocked.status, 403, "{:?}", blocked.body);
    assert!(blocked.message().contains("Acme"), "{}", blocked.message());
    let wrong = t
        .member
        .call("delete_account", &[("confirm", "someone@example.com")])
        .await;
    assert_eq!(wrong.status, 422);

    let gone = t
        .member
        .call("delete_account", &[("confirm", " Member@Example.com ")])
        .await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    assert!(
        gone.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(t.member.current_user().await.is_null());
    assert_eq!(
        app.client()
            .sign_in("member@example.com", crate::support::PASSWORD)
            .await
            .status,
        401
    );
    // Their own file's object is gone from storage, and its row.
    assert!(
        matches!(app.state.storage.head(&own_key).await, Ok(None)),
        "the object of a file they owned alone is deleted"
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM files WHERE id = $1")
        .bind(own["id"].as_str().unwrap())
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // The team keeps what they uploaded; they are no longer a member.
    let kept = t
        .owner
        .call(
            "file_details",
            &[("file_id", team_file["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(kept.status, 200);
    let members = t.owner.call("team", &[]).await.body["members"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(members, 3);
    // Told by mail, and recorded.
    assert!(
        mails_to(&app, "member@example.com")
            .await
            .last()
            .unwrap()
            .0
            .contains("was deleted")
    );
    let (audited,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'account.delete'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

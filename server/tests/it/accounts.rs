//! Sign-up, sign-in, sign-out, sessions and the sign-in rate limit, over HTTP.
use crate::support::{PASSWORD, TestApp};

#[tokio::test]
async fn sign_up_creates_an_account_and_a_first_vault_and_mails_a_confirmation_link() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let a = c
        .call(
            "sign_up",
            &[("email", " Ann@Example.com "), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    // Nobody is signed in by sign-up (it answers the same for a taken address): the browser
    // is sent to sign in, where a note says to check the mail.
    assert!(a.headers.get("set-cookie").is_none());
    assert_eq!(a.headers["location"], "/sign-in?signed_up=1");
    assert!(c.current_user().await.is_null());
    // The password works at once.
    let s = c.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    let cookie = s.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("nexus_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(c.current_user().await["email"], "ann@example.com");
    let vaults = c.call("list_vaults", &[]).await.body;
    assert_eq!(vaults.as_array().unwrap().len(), 1);
    assert_eq!(vaults[0]["name"], "My vault");
    // The password is kept as argon2id, never as given.
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // The mailed link confirms the address and signs in, once.
    let (body,): (String,) =
        sqlx::query_as("SELECT body FROM mail_outbox WHERE to_addr = 'ann@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let token = link_token(&body);
    let other = app.client();
    let page = other.get(&format!("/sign-in/link?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Continue and sign in"));
    // Confirming needs a new password (whoever signed up may not own the address).
    let bare = other.call("sign_in_with_link", &[("token", &token)]).await;
    assert_eq!(bare.status, 422, "{:?}", bare.body);
    assert_eq!(bare.body["Invalid"]["field"], "password");
    let used = other
        .call(
            "sign_in_with_link",
            &[("token", &token), ("password", "a new password 2")],
        )
        .await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(used.headers["location"], "/vaults");
    assert_eq!(other.current_user().await["email"], "ann@example.com");
    // The session made with the old password is over, and only the new password works.
    assert!(c.current_user().await.is_null());
    assert_eq!(
        app.client()
            .sign_in("ann@example.com", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        app.client()
            .sign_in("ann@example.com", "a new password 2")
            .await
            .status,
        200
    );
    let (confirmed,): (Option<i64>,) = sqlx::query_as("SELECT email_confirmed_at FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(confirmed.is_some());
    let again = app
        .client()
        .call("sign_in_with_link", &[("token", &token)])
        .await;
    assert_eq!(again.status, 422, "a link works once");
}

/// The token of the sign-in link in a mail's text.
pub fn link_token(body: &str) -> String {
    body.split("/sign-in/link?token=")
        .nth(1)
        .expect("a sign-in link in the mail")
        .split(|c: char| c.is_whitespace() || c == '&')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_plain_form_post_is_redirected() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let resp = c
        .http
        .post(c.url("/api/sign_up"))
        .header("accept", "text/html")
        .form(&[
            ("email", "form@example.com"),
            ("password", PASSWORD),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/sign-in?signed_up=1");
}

#[tokio::test]
async fn a_plain_form_post_with_an_error_goes_back_to_the_form_which_shows_it() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let resp = c
        .http
        .post(c.url("/api/sign_in"))
        .header("accept", "text/html")
        .header("referer", c.url("/sign-in"))
        .form(&[
            ("email", "who@example.com"),
            ("password", "wrong password"),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&c.url("/sign-in?")) && back.contains("__err="),
        "{back}"
    );
    let page = c
        .http
        .get(&back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Email or password is incorrect."), "{page}");
}

#[tokio::test]
async fn a_taken_email_creates_nothing() {
    let app = TestApp::spawn().await;
    app.client().sign_up("dup@example.com").await;
    let a = app
        .client()
        .call(
            "sign_up",
            &[("email", "DUP@example.com"), ("password", PASSWORD)],
        )
        .await;
    // The same answer as for a new address (security.rs compares the two).
    assert_eq!(a.status, 200);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn bad_sign_up_input_names_the_field() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let a = c
        .call(
            "sign_up",
            &[("email", "not-an-email"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["Invalid"]["field"], "email");
    let a = c
        .call(
            "sign_up",
            &[("email", "short@example.com"), ("password", "short")],
        )
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["Invalid"]["field"], "password");
    assert!(c.current_user().await.is_null());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.client().sign_up("bob@example.com").await;
    let c = app.client();
    let wrong = c.sign_in("bob@example.com", "wrong password!").await;
    let unknown = c.sign_in("nobody@example.com", "wrong password!").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert!(c.current_user().await.is_null());
    let ok = c.sign_in("Bob@Example.com", PASSWORD).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(c.current_user().await["email"], "bob@example.com");
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("carol@example.com").await;
    let cookie_value = {
        // keep a copy of the cookie to replay after signing out
        let a = app.client().sign_in("carol@example.com", PASSWORD).await;
        a.headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let replay = || async {
        reqwest::Client::new()
            .post(c.url("/api/current_user"))
            .header("cookie", &cookie_value)
            .header("origin", &app.base)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(replay().await["email"], "carol@example.com");
    let other = app.client();
    let out = other
        .http
        .post(other.url("/api/sign_out"))
        .header("cookie", &cookie_value)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(replay().await.is_null(), "the old cookie no longer works");
    assert_eq!(
        c.current_user().await["email"],
        "carol@example.com",
        "other sessions stay"
    );
}

#[tokio::test]
async fn sessions_expire() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("dave@example.com").await;
    app.clock.advance_ms(23 * 3_600_000);
    assert_eq!(c.current_user().await["email"], "dave@example.com");
    app.clock.advance_ms(2 * 3_600_000);
    assert!(c.current_user().await.is_null());
    assert_eq!(c.call("list_vaults", &[]).await.status, 401);
}

#[tokio::test]
async fn expired_sessions_and_old_attempts_are_purged() {
    let app = TestApp::spawn().await;
    let c = app.client();
    c.sign_up("old@example.com").await;
    c.sign_in("old@example.com", "not the password").await;
    let count = |table: &'static str| {
        let pool = app.state.db.pool.clone();
        async move {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };
    assert_eq!(
        app::auth::service::purge_expired(&app.state).await.unwrap(),
        0
    );
    // the session, and the sign-up, the sign-in after it and the failed sign-in; the
    // confirmation link
    assert_eq!(
        (
            count("sessions").await,
            count("login_attempts").await,
            count("login_tokens").await
        ),
        (1, 3, 1)
    );
    app.clock.advance_ms(25 * 3_600_000);
    assert_eq!(
        app::auth::service::purge_expired(&app.state).await.unwrap(),
        5
    );
    assert_eq!(
        (
            count("sessions").await,
            count("login_attempts").await,
            count("login_tokens").await
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_and_address() {
    let app = TestApp::spawn().await;
    app.client().sign_up("erin@example.com").await;
    let c = app.client();
    for _ in 0..5 {
        let a = c.sign_in("erin@example.com", "not the password").await;
        assert_eq!(a.status, 401);
    }
    // Even the right password waits now.
    let a = c.sign_in("erin@example.com", PASSWORD).await;
    assert_eq!(a.status, 429);
    let retry: i64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(
        a.message().contains(&format!("Try again in {retry} s")),
        "{}",
        a.message()
    );
    // Once the window has passed, the right password works again.
    app.clock.advance_ms(901_000);
    let a = c.sign_in("erin@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[tokio::test]
async fn sign_up_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.signup_max_per_ip_per_hour = 2).await;
    app.client().sign_up("one@example.com").await;
    app.client().sign_up("two@example.com").await;
    let form = [("email", "three@example.com"), ("password", PASSWORD)];
    let a = app.client().call("sign_up", &form).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    assert!(a.message().contains("Try again in"), "{}", a.message());
    app.clock.advance_ms(3_601_000);
    assert_eq!(app.client().call("sign_up", &form).await.status, 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_count_the_forwarded_address() {
    let app = TestApp::spawn_with(|c| {
        c.signup_max_per_ip_per_hour = 1;
        c.trust_proxy = true;
    })
    .await;
    let sign_up = |email: &'static str, forwarded: &'static str| {
        let c = app.client();
        async move {
            c.http
                .post(c.url("/api/sign_up"))
                .header("x-forwarded-for", forwarded)
                .form(&[("email", email), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(sign_up("p1@example.com", "203.0.113.7").await, 200);
    // A forged first entry does not make a new client: the proxy's own entry counts.
    assert_eq!(
        sign_up("p2@example.com", "198.51.100.1, 203.0.113.7").await,
        429
    );
    assert_eq!(sign_up("p3@example.com", "203.0.113.8").await, 200);
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(|c| {
        c.login_max_failures_per_ip = 3;
        c.login_max_failures_per_account = 100;
    })
    .await;
    app.client().sign_up("frank@example.com").await;
    let c = app.client();
    for i in 0..3 {
        let email = format!("guess{i}@example.com");
        assert_eq!(c.sign_in(&email, "not the password").await.status, 401);
    }
    let a = c.sign_in("frank@example.com", PASSWORD).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
}

#[tokio::test]
async fn state_changes_from_another_origin_are_refused() {
    let app = TestApp::spawn().await;
    let plain = reqwest::Client::new();
    let url = format!("{}/api/sign_up", app.base);
    let form = [("email", "csrf@example.com"), ("password", PASSWORD)];
    let evil = plain
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let none = plain.post(&url).form(&form).send().await.unwrap();
    assert_eq!(none.status(), 403);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn pages_that_need_a_session_send_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let resp = c.get("/files/0000/download").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/sign-in?next=/files/0000/download"
    );
    let page = c.get("/vaults/some-vault").await;
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        "/sign-in?next=/vaults/some-vault"
    );
    // After sign-in the form's `next` is honoured, but only for paths on this site.
    c.sign_up("gina@example.com").await;
    for (next, to) in [
        ("/vaults", "/vaults"),
        ("//evil.example/", "/vaults"),
        ("https://evil.example/", "/vaults"),
    ] {
        let form = [
            ("email", "gina@example.com"),
            ("password", PASSWORD),
            ("next", next),
        ];
        let a = app.client().call("sign_in", &form).await;
        assert_eq!(a.headers["location"], to, "next={next}");
    }
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_is_limited_too() {
    let app = TestApp::spawn().await;
    app.client().sign_up("burst@example.com").await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let c = app.client();
        guesses.spawn(async move {
            c.sign_in("burst@example.com", &format!("wrong guess {i}"))
                .await
                .status
        });
    }
    let statuses = guesses.join_all().await;
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(wrong <= 5, "{statuses:?}");
    assert_eq!(wrong + limited, 20, "{statuses:?}");
}

/// A client whose requests come from `addr` (the app trusts the proxy's X-Forwarded-For).
fn from(app: &TestApp, addr: &'static str) -> crate::support::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", addr.parse().unwrap());
    headers.insert("origin", app.base.parse().unwrap());
    crate::support::Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

#[tokio::test]
async fn an_attacker_elsewhere_does_not_lock_the_owner_out() {
    let app = TestApp::spawn_with(|c| c.trust_proxy = true).await;
    from(&app, "198.51.100.2")
        .sign_up("owner@example.com")
        .await;
    // Past the limit from the attacker's address: the attacker waits...
    let attacker = from(&app, "203.0.113.9");
    for _ in 0..5 {
        let a = attacker.sign_in("owner@example.com", "guess guess").await;
        assert_eq!(a.status, 401);
    }
    assert_eq!(
        attacker.sign_in("owner@example.com", PASSWORD).await.status,
        429
    );
    // ...the owner, at home and on a new network, does not.
    let home = from(&app, "198.51.100.2");
    assert_eq!(
        home.sign_in("owner@example.com", PASSWORD).await.status,
        200
    );
    let travelling = from(&app, "192.0.2.77");
    assert_eq!(
        travelling
            .sign_in("owner@example.com", PASSWORD)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn many_attacking_addresses_refuse_new_ones_and_the_owner_gets_a_sign_in_link() {
    const ADDRS: [&str; 8] = [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
        "203.0.113.6",
        "203.0.113.7",
        "203.0.113.8",
    ];
    let app = TestApp::spawn_with(|c| {
        c.trust_proxy = true;
        c.login_max_failures_per_account_all = 10;
    })
    .await;
    from(&app, "198.51.100.2")
        .sign_up("target@example.com")
        .await;
    // 8 addresses, 2 guesses each: 16 failures, over the account-wide 10.
    let mut refused = 0;
    for addr in ADDRS {
        let c = from(&app, addr);
        for _ in 0..2 {
            match c.sign_in("target@example.com", "guess guess").await.status {
                401 => {}
                429 => refused += 1,
                s => panic!("{s}"),
            }
        }
    }
    assert!(refused >= 5, "{refused}");
    // A new address is refused even with the right password, and says why.
    let new = from(&app, "192.0.2.50");
    let a = new.sign_in("target@example.com", PASSWORD).await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    assert!(
        a.message().contains("mailed it a sign-in link"),
        "{}",
        a.message()
    );
    // Another email is not affected.
    let u = new.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(u.status, 401);
    // The owner's own address still gets in.
    assert_eq!(
        from(&app, "198.51.100.2")
            .sign_in("target@example.com", PASSWORD)
            .await
            .status,
        200
    );
    // One unlock mail, whose link signs in from the new address, once.
    let mails: Vec<(String,)> = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_addr = 'target@example.com' AND subject LIKE 'Sign-in link%'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(mails.len(), 1);
    let token = link_token(&mails[0].0);
    let used = new
        .call(
            "sign_in_with_link",
            &[("token", &token), ("password", "a new password 3")],
        )
        .await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(new.current_user().await["email"], "target@example.com");
    assert_eq!(
        from(&app, "192.0.2.51")
            .call("sign_in_with_link", &[("token", &token)])
            .await
            .status,
        422
    );
    // A link does not outlive its 15 minutes.
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_addr = 'target@example.com' AND subject LIKE 'Confirm%'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    app.clock.advance_ms(16 * 60_000);
    let late = from(&app, "192.0.2.52")
        .call("sign_in_with_link", &[("token", &link_token(&body))])
        .await;
    assert_eq!(late.status, 422);
}

#[tokio::test]
async fn one_address_guessing_all_day_is_slowed_to_four_windows_a_day() {
    let app = TestApp::spawn().await;
    app.client().sign_up("dora@example.com").await;
    let c = app.client();
    // Four windows of five failures, each after the last window passed.
    for round in 0..4 {
        for _ in 0..5 {
            let a = c.sign_in("dora@example.com", "not the password").await;
            assert_eq!(a.status, 401, "round {round}");
        }
        assert_eq!(
            c.sign_in("dora@example.com", "not the password")
                .await
                .status,
            429
        );
        app.clock.advance_ms(901_000);
    }
    // The fifth window is refused until the first failure is a day old.
    let a = c.sign_in("dora@example.com", "not the password").await;
    assert_eq!(a.status, 429, "{:?}", a.body);
    let retry: i64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 20 * 3600 && retry <= 24 * 3600, "{retry}");
    // Another address is not slowed (the owner at home).
    let home = crate::support::Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .default_headers({
                let mut h = reqwest::header::HeaderMap::new();
                h.insert("origin", app.base.parse().unwrap());
                h
            })
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().ok())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base.clone(),
    };
    assert_eq!(home.sign_in("dora@example.com", PASSWORD).await.status, 200);
    // A day after the first failure, the guessing address gets a window again.
    app.clock.advance_ms(86_400_000 - 4 * 901_000 + 1_000);
    assert_eq!(
        c.sign_in("dora@example.com", "not the password")
            .await
            .status,
        401
    );
}

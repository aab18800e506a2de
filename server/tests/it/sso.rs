//! Single sign-on with OpenID Connect. The whole sign-in runs against a real provider (the
//! certified `oidc-provider` package from npm, end2end/oidc-provider.mjs, started here on a
//! free port with this test server's redirect URI): PKCE, state, nonce, the ID token's
//! signature; then the rules, table by table: who may set it up, which addresses and accounts
//! a provider may sign in, what an SSO session reaches, and what "require SSO" refuses.
use crate::support::{Client, TestApp, random_bytes, upload};
use app::sso::SsoFailure;
use app::sso::service::{Identity, sign_in_identity};

/// The provider process, stopped when dropped.
struct Provider {
    child: std::process::Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn provider(redirect_uri: &str) -> Provider {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc-provider.mjs");
    let child = std::process::Command::new("node")
        .arg(script)
        .arg(port.to_string())
        .arg(redirect_uri)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("node runs end2end/oidc-provider.mjs (scripts/setup installs its package)");
    let p = Provider {
        child,
        issuer: format!("http://127.0.0.1:{port}"),
    };
    let url = format!("{}/.well-known/openid-configuration", p.issuer);
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the OIDC provider did not start at {}", p.issuer);
}

/// An owner with a team named "Corp" (their session in it); returns the team's id.
async fn team(owner: &Client, email: &str) -> String {
    owner.sign_up(email).await;
    let made = owner.call("create_team", &[("name", "Corp")]).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_string()
}

/// Saves SSO settings straight into the database (the rules below need no provider; saving
/// through the page, which reads the provider, is tested with the real one).
async fn set_sso(app: &TestApp, ws: &str, domain: &str, require: bool) {
    sqlx::query("DELETE FROM workspace_sso WHERE workspace_id = $1")
        .bind(ws)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO workspace_sso (workspace_id, issuer, client_id, client_secret, allowed_domain,
                                    require_sso, new_member_role, updated_at)
         VALUES ($1, 'https://idp.example', 'nexus', 'secret', $2, $3, 'member', 0)",
    )
    .bind(ws)
    .bind(domain)
    .bind(i32::from(require))
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

fn who(email: &str, verified: Option<bool>) -> Identity {
    Identity {
        issuer: "https://idp.example".into(),
        subject: format!("sub-{}", email.to_lowercase()),
        email: email.into(),
        email_verified: verified,
    }
}

/// `c` (signed in as `email`) joins the owner's team as `role` by invitation.
async fn join(app: &TestApp, owner: &Client, c: &Client, email: &str, role: &str) {
    let sent = owner
        .call("invite_member", &[("email", email), ("role", role)])
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let token = crate::teams::invite_token(app, email).await;
    let ok = c.call("accept_invite", &[("token", &token)]).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
}

/// A client carrying the session `sign_in_identity` made.
fn with_session(app: &TestApp, token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.base.parse().unwrap());
    headers.insert("cookie", format!("nexus_session={token}").parse().unwrap());
    Client {
        http: reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Follows a sign-in from `/sso/start…` through the provider's login and consent pages
/// (signing in as `login`) until it comes back to this app; returns the callback's URL.
async fn through_provider(c: &Client, p: &Provider, start: &str, login: &str) -> String {
    let r = c.http.get(c.url(start)).send().await.unwrap();
    assert_eq!(r.status(), 303, "{start}");
    let mut next = location(&r);
    assert!(next.starts_with(&format!("{}/auth?", p.issuer)), "{next}");
    for want in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "state=",
        "scope=openid+email",
    ] {
        assert!(next.contains(want), "{want} in {next}");
    }
    for _ in 0..12 {
        if next.starts_with(&c.base) {
            return next;
        }
        let url = if next.starts_with('/') {
            format!("{}{next}", p.issuer)
        } else {
            next.clone()
        };
        let r = c.http.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        // The provider's login form, then its consent form.
        let html = r.text().await.unwrap();
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("a form in {html}"))
            .to_string();
        let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![
                ("prompt", "login"),
                ("login", login),
                ("password", "anything"),
            ]
        } else {
            vec![("prompt", "consent")]
        };
        let action = if action.starts_with('/') {
            format!("{}{action}", p.issuer)
        } else {
            action
        };
        let r = c.http.post(&action).form(&form).send().await.unwrap();
        assert!(r.status().is_redirection(), "{action}: {}", r.status());
        next = location(&r);
    }
    panic!("the sign-in did not come back: {next}");
}

#[tokio::test]
async fn sign_in_through_a_real_provider() {
    let app = TestApp::spawn().await;
    let p = provider(&format!("{}/sso/callback", app.base)).await;
    let owner = app.client();
    let ws = team(&owner, "owner@corp.example").await;

    // Saving reads the provider: a wrong issuer is refused with the reason, the right one kept.
    let save = |issuer: String, secret: &'static str| {
        let owner = &owner;
        async move {
            owner
                .call(
                    "save_sso",
                    &[
                        ("issuer", issuer.as_str()),
                        ("client_id", "nexus"),
                        ("client_secret", secret),
                        ("allowed_domain", "@Corp.Example"),
                        ("new_member_role", "viewer"),
                    ],
                )
                .await
        }
    };
    let bad = save(format!("{}/nope", p.issuer), "nexus-test-secret").await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert!(
        bad.message().contains("Could not read the provider"),
        "{}",
        bad.message()
    );
    let ok = save(p.issuer.clone(), "nexus-test-secret").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["allowed_domain"], "corp.example");
    assert!(ok.body.get("client_secret").is_none(), "{}", ok.body);
    let view = owner.call("get_sso", &[]).await;
    assert_eq!(view.status, 200);
    assert!(
        !view.body.to_string().contains("nexus-test-secret"),
        "{}",
        view.body
    );
    // An empty secret keeps the saved one.
    assert_eq!(save(p.issuer.clone(), "").await.status, 200);

    // Someone new signs in: an account, the team's viewer, a session in the team only.
    let ana = app.client();
    let back = through_provider(
        &ana,
        &p,
        "/sso/start?email=ana@corp.example&next=/trash",
        "ana@corp.example",
    )
    .await;
    assert!(back.contains("code=") && back.contains("state="), "{back}");
    let r = ana.http.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/trash");
    assert_eq!(ana.current_user().await["email"], "ana@corp.example");
    let spaces = ana.call("list_workspaces", &[]).await.body;
    assert_eq!(spaces.as_array().unwrap().len(), 1, "{spaces}");
    assert_eq!(spaces[0]["id"], ws.as_str());
    assert_eq!(spaces[0]["role"], "Viewer");
    let vaults = ana.call("list_vaults", &[]).await.body;
    assert_eq!(vaults[0]["name"], "Team vault", "{vaults}");
    let account = ana.call("account_sessions", &[]).await;
    assert_eq!(account.status, 403);
    assert!(
        account.message().contains("single sign-on"),
        "{}",
        account.message()
    );

    // The same callback again: refused (the state is used), nobody signed in.
    let replay = app.client();
    let r = replay.http.get(&back).send().await.unwrap();
    assert_eq!(location(&r), "/sign-in/sso?error=state");
    let r = ana.http.get(&back).send().await.unwrap();
    assert_eq!(location(&r), "/sign-in/sso?error=state");
    assert_eq!(replay.current_user().await, serde_json::Value::Null);

    // A sign-in started in one browser and finished in another: refused.
    let starter = app.client();
    let finisher = app.client();
    let back = through_provider(
        &starter,
        &p,
        &format!("/sso/start?workspace={ws}"),
        "bo@corp.example",
    )
    .await;
    let r = finisher.http.get(&back).send().await.unwrap();
    assert_eq!(location(&r), "/sign-in/sso?error=state");
    // A mix-up: the same callback claiming another issuer.
    let other = app.client();
    let back = through_provider(
        &other,
        &p,
        &format!("/sso/start?workspace={ws}"),
        "cy@corp.example",
    )
    .await;
    let forged = back.replace(
        &urlencoding::encode(&p.issuer).to_string(),
        "https%3A%2F%2Fevil.example",
    );
    assert_ne!(forged, back);
    let r = other.http.get(&forged).send().await.unwrap();
    assert_eq!(location(&r), "/sign-in/sso?error=token");

    // The second time, the same person is the same account (found by the provider's subject).
    let again = app.client();
    let back = through_provider(
        &again,
        &p,
        "/sso/start?email=ana@corp.example",
        "ana@corp.example",
    )
    .await;
    let r = again.http.get(&back).send().await.unwrap();
    assert_eq!(location(&r), "/vaults");
    let (users,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE email = 'ana@corp.example'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(users, 1);

    // Refused at the provider's word: unverified, another domain.
    for (login, code) in [
        ("unverified-di@corp.example", "unverified"),
        ("eve@elsewhere.example", "domain"),
    ] {
        let c = app.client();
        let back = through_provider(&c, &p, &format!("/sso/start?workspace={ws}"), login).await;
        let r = c.http.get(&back).send().await.unwrap();
        assert_eq!(
            location(&r),
            format!("/sign-in/sso?error={code}"),
            "{login}"
        );
        assert_eq!(c.current_user().await, serde_json::Value::Null);
    }

    // What the owner sees: the newcomer joined, and each SSO sign-in is in the audit log.
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE workspace_id = $1 AND action IN ('member.join', 'sign_in', 'sso.update')
         ORDER BY at, id",
    )
    .bind(&ws)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    // Ana joined and signed in twice; the refused sign-ins left nothing.
    assert_eq!(
        actions,
        [
            "sso.update",
            "sso.update",
            "member.join",
            "sign_in",
            "sign_in"
        ],
        "{audit:?}"
    );

    // Turning SSO off ends the sessions it made.
    assert_eq!(owner.call("remove_sso", &[]).await.status, 200);
    assert_eq!(ana.current_user().await, serde_json::Value::Null);
}

#[tokio::test]
async fn who_may_set_it_up_and_what_is_refused() {
    let app = TestApp::spawn_with(|c| c.sso_allow_private = false).await;
    let owner = app.client();
    let ws = team(&owner, "owner@corp.example").await;
    let save = |c: &Client, issuer: &str, domain: &str| {
        let (c, issuer, domain) = (c.http.clone(), issuer.to_string(), domain.to_string());
        let url = format!("{}/api/save_sso", app.base);
        async move {
            let r = c
                .post(url)
                .form(&[
                    ("issuer", issuer.as_str()),
                    ("client_id", "nexus"),
                    ("client_secret", "s"),
                    ("allowed_domain", domain.as_str()),
                    ("new_member_role", "member"),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // Inputs refused before any request leaves the server.
    for (issuer, domain, says) in [
        ("http://idp.example", "corp.example", "https://"),
        (
            "https://127.0.0.1:8443",
            "corp.example",
            "private or loopback",
        ),
        ("https://localhost", "corp.example", "not this machine"),
        ("https://idp.example?x=1", "corp.example", "no query"),
        ("not a url", "corp.example", "not a URL"),
        ("https://idp.example", "corp", "like example.com"),
        ("https://idp.example", "a@b.example", "like example.com"),
        ("https://idp.example", "-x.example", "like example.com"),
    ] {
        let (status, body) = save(&owner, issuer, domain).await;
        assert_eq!(status, 422, "{issuer} {domain}: {body}");
        assert!(body.contains(says), "{issuer} {domain}: {body}");
    }
    // Only the owner, only in a team.
    let admin = app.client();
    admin.sign_up("admin@corp.example").await;
    join(&app, &owner, &admin, "admin@corp.example", "admin").await;
    let (status, body) = save(&admin, "https://idp.example", "corp.example").await;
    assert_eq!(status, 403, "{body}");
    let seen = admin.call("get_sso", &[]).await;
    assert_eq!(seen.status, 200, "admins see the settings");
    assert_eq!(seen.body["may_edit"], false);
    assert_eq!(admin.call("remove_sso", &[]).await.status, 403);
    let alone = app.client();
    alone.sign_up("alone@else.example").await;
    let (status, body) = save(&alone, "https://idp.example", "else.example").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("team workspaces"), "{body}");
    assert_eq!(alone.call("get_sso", &[]).await.status, 422);
    assert_eq!(app.client().call("get_sso", &[]).await.status, 401);
    let _ = ws;
}

#[tokio::test]
async fn which_people_a_provider_may_sign_in() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let owner = app.client();
    let ws = team(&owner, "owner@corp.example").await;
    // An account with the domain's address that is not a member: not taken over.
    let bystander = app.client();
    bystander.sign_up("bea@corp.example").await;
    set_sso(&app, &ws, "corp.example", false).await;
    let fail = |r: Result<app::auth::service::SignedIn, app::sso::service::SsoError>| {
        r.err().map(|e| e.failure)
    };
    let ip = "203.0.113.5";
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("bea@corp.example", Some(true)), ip, "t").await),
        Some(SsoFailure::Exists)
    );
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("x@other.example", Some(true)), ip, "t").await),
        Some(SsoFailure::Domain)
    );
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("x@sub.corp.example", Some(true)), ip, "t").await),
        Some(SsoFailure::Domain)
    );
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("x@corp.example", Some(false)), ip, "t").await),
        Some(SsoFailure::Unverified)
    );
    // No email_verified claim at all (some providers send none): the provider's word on its
    // own domain is taken.
    let cy = sign_in_identity(st, &ws, &who("Cy@Corp.Example", None), ip, "t")
        .await
        .unwrap();
    assert_eq!(cy.user.email, "cy@corp.example");
    assert!(cy.user.email_confirmed);
    // The owner's password session reaches their team; a member's account made by SSO has no
    // password that works.
    let wrong = app.client().sign_in("cy@corp.example", "!sso").await;
    assert_eq!(wrong.status, 401);
    // A member removed by an admin does not come back through the provider.
    let cy_session = with_session(&app, &cy.token);
    assert_eq!(cy_session.call("list_vaults", &[]).await.status, 200);
    let removed = owner
        .call("remove_member", &[("user_id", cy.user.id.as_str())])
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert_eq!(
        cy_session.current_user().await,
        serde_json::Value::Null,
        "their SSO session ended"
    );
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("cy@corp.example", Some(true)), ip, "t").await),
        Some(SsoFailure::Removed)
    );
    // An invited member with a password account is linked on their first SSO sign-in.
    join(&app, &owner, &bystander, "bea@corp.example", "member").await;
    let bea = sign_in_identity(st, &ws, &who("bea@corp.example", Some(true)), ip, "t")
        .await
        .unwrap();
    let (linked,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sso_identities WHERE user_id = $1")
            .bind(&bea.user.id)
            .fetch_one(&st.db.pool)
            .await
            .unwrap();
    assert_eq!(linked, 1);
    // SSO removed: nobody signs in through it.
    sqlx::query("DELETE FROM workspace_sso")
        .execute(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        fail(sign_in_identity(st, &ws, &who("bea@corp.example", Some(true)), ip, "t").await),
        Some(SsoFailure::NotSetUp)
    );
}

#[tokio::test]
async fn an_sso_session_reaches_its_workspace_only_and_require_sso_holds() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let owner = app.client();
    let ws = team(&owner, "owner@corp.example").await;
    let team_vault = owner.call("list_vaults", &[]).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A member with their own personal workspace and a password.
    let dee = app.client();
    let own_vault = dee.sign_up("dee@corp.example").await;
    join(&app, &owner, &dee, "dee@corp.example", "member").await;
    set_sso(&app, &ws, "corp.example", false).await;
    // A file in the team's trash, which members see in theirs.
    let file = upload(&owner, &team_vault, "gone.bin", &random_bytes(100)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let trashed = owner
        .call_json(
            "trash_items",
            serde_json::json!({"selection": {"vault_id": team_vault, "file_ids": [file]}}),
        )
        .await;
    assert_eq!(trashed.status, 200, "{:?}", trashed.body);
    assert!(
        dee.call("list_trash", &[])
            .await
            .body
            .to_string()
            .contains(&file)
    );

    // Dee's SSO session: the team's vault yes, her own vault no (404, as if it did not exist).
    let sso = sign_in_identity(
        st,
        &ws,
        &who("dee@corp.example", Some(true)),
        "203.0.113.9",
        "t",
    )
    .await
    .unwrap();
    let dee_sso = with_session(&app, &sso.token);
    let get = |c: &Client, id: &str| {
        let (http, url, id) = (
            c.http.clone(),
            format!("{}/api/get_vault", app.base),
            id.to_string(),
        );
        async move {
            http.post(url)
                .form(&[("vault_id", id)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(&dee_sso, &team_vault).await, 200);
    assert_eq!(get(&dee_sso, &own_vault).await, 404);
    let own_ws = dee
        .call("list_workspaces", &[])
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "personal")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let switched = dee_sso
        .call("switch_workspace", &[("workspace_id", &own_ws)])
        .await;
    assert_eq!(switched.status, 404, "{:?}", switched.body);
    assert_eq!(
        dee_sso
            .call("list_workspaces", &[])
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // As an admin, her SSO session makes a key (used below, once SSO is required).
    let dee_id = dee.current_user().await["id"].as_str().unwrap().to_string();
    let promoted = owner
        .call(
            "change_member_role",
            &[("user_id", dee_id.as_str()), ("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    let key = dee_sso
        .call_json(
            "create_api_key",
            serde_json::json!({"new": {"name": "ci", "scopes": ["files:read"]}}),
        )
        .await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let secret = key.body["secret"].as_str().unwrap().to_string();
    // Her password session still reaches both while SSO is not required.
    assert_eq!(get(&dee, &team_vault).await, 200);
    assert_eq!(get(&dee, &own_vault).await, 200);

    // Require SSO: her password session loses the team (403 naming the SSO link), keeps her
    // own; the switcher offers the team through SSO; the owner's password session keeps it.
    set_sso(&app, &ws, "corp.example", true).await;
    assert_eq!(get(&dee, &own_vault).await, 200);
    let r = dee
        .http
        .post(dee.url("/api/get_vault"))
        .form(&[("vault_id", &team_vault)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("/sso/start?workspace={ws}"))
    );
    let spaces = dee.call("list_workspaces", &[]).await.body;
    let team_row = spaces
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == ws.as_str())
        .unwrap();
    assert_eq!(team_row["needs_sso"], true, "{spaces}");
    let vaults = dee.call("list_vaults", &[]).await.body;
    assert_eq!(
        vaults[0]["id"],
        own_vault.as_str(),
        "the app falls back to her own workspace"
    );
    let r = dee
        .http
        .post(dee.url("/api/switch_workspace"))
        .header("accept", "text/html")
        .form(&[("workspace_id", &ws)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(location(&r), format!("/sso/start?workspace={ws}"));
    assert_eq!(
        get(&dee_sso, &team_vault).await,
        200,
        "her SSO session is the way in"
    );
    assert_eq!(
        get(&owner, &team_vault).await,
        200,
        "the owner keeps a way in"
    );
    // Trash and restores lists leave the team out of her password session.
    let trash = dee.call("list_trash", &[]).await;
    assert_eq!(trash.status, 200, "{:?}", trash.body);
    assert!(!trash.body.to_string().contains(&file), "{:?}", trash.body);
    assert!(
        dee_sso
            .call("list_trash", &[])
            .await
            .body
            .to_string()
            .contains(&file)
    );
    // Keys made in the team keep working (require SSO is about people's sessions).
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/vaults", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(&team_vault));
}

#[tokio::test]
async fn finding_the_workspace_by_email() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let a = app.client();
    let ws_a = team(&a, "a@one.example").await;
    let b = app.client();
    let ws_b = team(&b, "b@two.example").await;
    let start = |q: &str| {
        let (http, url) = (app.client().http, format!("{}/sso/start?{q}", app.base));
        async move { location(&http.get(url).send().await.unwrap()) }
    };
    assert_eq!(
        start("email=x@nobody.example").await,
        "/sign-in/sso?error=not_set_up"
    );
    assert_eq!(
        start("workspace=nope").await,
        "/sign-in/sso?error=not_set_up"
    );
    assert_eq!(start("").await, "/sign-in/sso?error=not_set_up");
    set_sso(&app, &ws_a, "shared.example", false).await;
    set_sso(&app, &ws_b, "shared.example", false).await;
    assert_eq!(
        start("email=x@shared.example").await,
        "/sign-in/sso?error=several"
    );
    // One workspace for the domain, but its provider is unreachable: said so, nothing kept.
    set_sso(&app, &ws_b, "two.example", false).await;
    sqlx::query("UPDATE workspace_sso SET issuer = 'http://127.0.0.1:9' WHERE workspace_id = $1")
        .bind(&ws_b)
        .execute(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(
        start("email=x@two.example").await,
        "/sign-in/sso?error=provider"
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sso_logins")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

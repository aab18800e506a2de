//! Teams over HTTP: the role × action matrix (table-driven: every role, and an outsider,
//! tries every action; what a role below the action's need gets is 403, an outsider 404),
//! invitations (the invited address only, once, 7 days, withdrawn), role changes, removal,
//! leaving, handing over, and the switcher.
use crate::support::{Client, TestApp, random_bytes, to_class, upload};
use serde_json::{Value, json};

/// Who calls, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub enum Who {
    Outsider,
    Viewer,
    Member,
    Admin,
    Owner,
}

const MEMBERS: [Who; 4] = [Who::Viewer, Who::Member, Who::Admin, Who::Owner];

/// Actions on "the workspace one works in" rather than on an id: an outsider's act in their
/// own workspace.
const OWN_WORKSPACE: [&str; 5] = [
    "team",
    "create_vault",
    "billing_info",
    "invite_member",
    "create_api_key",
];

pub struct Team {
    pub owner: Client,
    pub admin: Client,
    pub member: Client,
    pub viewer: Client,
    pub outsider: Client,
    pub vault: String,
}

impl Team {
    fn client(&self, who: Who) -> &Client {
        match who {
            Who::Outsider => &self.outsider,
            Who::Viewer => &self.viewer,
            Who::Member => &self.member,
            Who::Admin => &self.admin,
            Who::Owner => &self.owner,
        }
    }
}

fn email_of(who: Who) -> String {
    format!("{who:?}@example.com").to_lowercase()
}

/// The token of the newest invitation mailed to `to`.
pub async fn invite_token(app: &TestApp, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_addr = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    body.split("/invite?token=")
        .nth(1)
        .expect("an invitation link")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A team "Acme" made by its owner, with an admin, a member and a viewer who accepted their
/// invitations (their sessions switched to it), and an outsider with only their own.
pub async fn team(app: &TestApp) -> Team {
    let owner = app.client();
    owner.sign_up(&email_of(Who::Owner)).await;
    let made = owner.call("create_team", &[("name", "Acme")]).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let vaults = owner.call("list_vaults", &[]).await.body;
    assert_eq!(vaults.as_array().unwrap().len(), 1, "{vaults}");
    assert_eq!(vaults[0]["name"], "Team vault");
    let vault = vaults[0]["id"].as_str().unwrap().to_string();
    let mut joined = vec![];
    for (who, role) in [
        (Who::Admin, "admin"),
        (Who::Member, "member"),
        (Who::Viewer, "viewer"),
    ] {
        let c = app.client();
        c.sign_up(&email_of(who)).await;
        let sent = owner
            .call(
                "invite_member",
                &[("email", &email_of(who)), ("role", role)],
            )
            .await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
        let token = invite_token(app, &email_of(who)).await;
        let ok = c.call("accept_invite", &[("token", &token)]).await;
        assert_eq!(ok.status, 200, "{:?}", ok.body);
        joined.push(c);
    }
    let outsider = app.client();
    outsider.sign_up(&email_of(Who::Outsider)).await;
    let viewer = joined.pop().unwrap();
    let member = joined.pop().unwrap();
    let admin = joined.pop().unwrap();
    Team {
        owner,
        admin,
        member,
        viewer,
        outsider,
        vault,
    }
}

enum Args {
    Form(Vec<(String, String)>),
    Json(Value),
    Get(String),
}

async fn call(c: &Client, name: &str, args: &Args) -> (u16, String) {
    let resp = match args {
        Args::Form(pairs) => c.http.post(c.url(&format!("/api/{name}"))).form(pairs),
        Args::Json(v) => c.http.post(c.url(&format!("/api/{name}"))).json(v),
        Args::Get(path) => c.http.get(c.url(path)),
    }
    .send()
    .await
    .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn form(pairs: &[(&str, &str)]) -> Args {
    Args::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// One action of the matrix: its name, the least role it needs, and its arguments for a
/// caller (each caller gets its own file, folder name, address…, so that one caller's
/// success does not change what the next one tries).
struct Action {
    name: &'static str,
    needs: Who,
    args: Box<dyn Fn(Who) -> Args>,
}

#[tokio::test]
async fn every_role_may_do_what_its_role_allows_and_nothing_more() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let v = t.vault.clone();
    let (owner_id, _): (String, String) =
        sqlx::query_as("SELECT id, email FROM users WHERE email = $1")
            .bind(email_of(Who::Owner))
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    // Things of the team's to act on: a file per caller (to trash), an archived file per
    // caller (to restore), one file everyone reads.
    let shared = upload(&t.owner, &v, "shared.bin", &random_bytes(300)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut to_trash = std::collections::HashMap::new();
    let mut to_restore = std::collections::HashMap::new();
    let mut to_move = std::collections::HashMap::new();
    for who in [
        Who::Outsider,
        Who::Viewer,
        Who::Member,
        Who::Admin,
        Who::Owner,
    ] {
        let f = upload(
            &t.owner,
            &v,
            &format!("trash-{who:?}.bin"),
            &random_bytes(100),
        )
        .await;
        to_trash.insert(who as u8, f["id"].as_str().unwrap().to_string());
        let f = upload(
            &t.owner,
            &v,
            &format!("cold-{who:?}.bin"),
            &random_bytes(100),
        )
        .await;
        let id = f["id"].as_str().unwrap().to_string();
        to_class(&app.state, &owner_id, &v, &id, "DEEP_ARCHIVE").await;
        to_restore.insert(who as u8, id);
        let f = upload(
            &t.owner,
            &v,
            &format!("class-{who:?}.bin"),
            &random_bytes(100),
        )
        .await;
        to_move.insert(who as u8, f["id"].as_str().unwrap().to_string());
    }
    let sel = |v: &str, f: &str| json!({ "vault_id": v, "file_ids": [f] });

    let actions: Vec<Action> = vec![
        Action {
            name: "get_vault",
            needs: Who::Viewer,
            args: Box::new({
                let v = v.clone();
                move |_| form(&[("vault_id", &v)])
            }),
        },
        Action {
            name: "list_page",
            needs: Who::Viewer,
            args: Box::new({
                let v = v.clone();
                move |_| Args::Json(json!({ "query": { "vault_id": v, "everywhere": true } }))
            }),
        },
        Action {
            name: "file_details",
            needs: Who::Viewer,
            args: Box::new({
                let f = shared.clone();
                move |_| form(&[("file_id", &f)])
            }),
        },
        Action {
            name: "download",
            needs: Who::Viewer,
            args: Box::new({
                let f = shared.clone();
                move |_| Args::Get(format!("/files/{f}/download"))
            }),
        },
        Action {
            name: "team",
            needs: Who::Viewer,
            args: Box::new(|_| form(&[])),
        },
        Action {
            name: "start_upload",
            needs: Who::Member,
            args: Box::new({
                let v = v.clone();
                move |who| {
                    Args::Json(
                        json!({ "req": { "vault_id": v, "name": format!("new-{who:?}.bin"),
                        "size": 10, "content_type": "", "folder_path": "", "last_modified": 0 } }),
                    )
                }
            }),
        },
        Action {
            name: "create_folder",
            needs: Who::Member,
            args: Box::new({
                let v = v.clone();
                move |who| {
                    form(&[
                        ("vault_id", &v),
                        ("parent_path", ""),
                        ("name", &format!("folder-{who:?}")),
                    ])
                }
            }),
        },
        Action {
            name: "trash_items",
            needs: Who::Member,
            args: Box::new({
                let v = v.clone();
                let m = to_trash.clone();
                move |who| Args::Json(json!({ "selection": sel(&v, &m[&(who as u8)]) }))
            }),
        },
        Action {
            name: "change_class",
            needs: Who::Member,
            args: Box::new({
                let v = v.clone();
                let m = to_move.clone();
                move |who| {
                    Args::Json(json!({ "selection": sel(&v, &m[&(who as u8)]), "to": "GLACIER" }))
                }
            }),
        },
        Action {
            name: "request_restore",
            needs: Who::Member,
            args: Box::new({
                let v = v.clone();
                let m = to_restore.clone();
                move |who| {
                    Args::Json(
                        json!({ "selection": sel(&v, &m[&(who as u8)]), "tier": "Bulk", "days": 7 }),
                    )
                }
            }),
        },
        Action {
            name: "create_vault",
            needs: Who::Admin,
            args: Box::new(|who| form(&[("name", &format!("vault-{who:?}"))])),
        },
        Action {
            name: "billing_info",
            needs: Who::Admin,
            args: Box::new(|_| form(&[])),
        },
        Action {
            name: "invite_member",
            needs: Who::Admin,
            args: Box::new(|who| {
                form(&[
                    ("email", &format!("guest-{who:?}@example.com")),
                    ("role", "viewer"),
                ])
            }),
        },
        Action {
            name: "create_api_key",
            needs: Who::Admin,
            args: Box::new(|who| {
                Args::Json(
                    json!({ "new": { "name": format!("key-{who:?}"), "scopes": ["files:read"] } }),
                )
            }),
        },
    ];

    let mut failures = vec![];
    for a in &actions {
        for who in [
            Who::Outsider,
            Who::Viewer,
            Who::Member,
            Who::Admin,
            Who::Owner,
        ] {
            let (status, body) = call(t.client(who), a.name, &(a.args)(who)).await;
            let allowed = who >= a.needs && who != Who::Outsider;
            let ok = match (allowed, who) {
                (true, _) => (200..400).contains(&status),
                // An outsider may not even learn the team's things exist; its own lists
                // and its own workspace answer instead, never the team's.
                // Actions on the team's ids: 404. Actions on "the current workspace" act
                // in the outsider's own (any answer but a server error), never the team's.
                (false, Who::Outsider) if OWN_WORKSPACE.contains(&a.name) => {
                    status < 500 && !body.contains(&v) && !body.contains("Acme")
                }
                (false, Who::Outsider) => status == 404,
                (false, _) => status == 403,
            };
            if !ok {
                failures.push(format!(
                    "{} as {who:?}: {status} {}",
                    a.name,
                    &body[..body.len().min(200)]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every change the matrix made is in the team's audit log once, as its maker's; what
    // was refused left no row. (Rows made outside a request — the setup's class changes,
    // through the service as the class job does — carry no request id.)
    let (team_id,): (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(&v)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for (name, recorded) in [
        ("trash_items", "file.trash"),
        ("change_class", "file.class"),
        ("request_restore", "restore.request"),
        ("create_vault", "vault.create"),
        ("invite_member", "member.invite"),
        ("create_api_key", "key.create"),
    ] {
        let needs = actions.iter().find(|a| a.name == name).unwrap().needs;
        for who in MEMBERS {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.user_id
                 WHERE a.workspace_id = $1 AND a.action = $2 AND u.email = $3
                   AND a.request_id <> ''",
            )
            .bind(&team_id)
            .bind(recorded)
            .bind(email_of(who))
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
            let want = i64::from(who >= needs);
            // The owner invited three people while the team was made.
            let want = if recorded == "member.invite" && who == Who::Owner {
                want + 3
            } else {
                want
            };
            assert_eq!(n, want, "{recorded} by {who:?}");
        }
    }
    let (stray,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.user_id
         WHERE a.workspace_id = $1 AND u.email = $2",
    )
    .bind(&team_id)
    .bind(email_of(Who::Outsider))
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(stray, 0, "the outsider changed nothing of the team's");

    // The outsider's own vault list never shows the team's.
    let (_, own) = call(&t.outsider, "list_vaults", &form(&[])).await;
    assert!(!own.contains(&v));
    // Each member's list is the team's (their sessions switched to it when they joined).
    for who in MEMBERS {
        let (status, body) = call(t.client(who), "list_vaults", &form(&[])).await;
        assert_eq!(status, 200);
        assert!(body.contains(&v), "{who:?}: {body}");
    }
}

#[tokio::test]
async fn invitations_work_once_for_their_address_within_seven_days_and_can_be_withdrawn() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let dan = app.client();
    dan.sign_up("dan@example.com").await;
    let eve = app.client();
    eve.sign_up("eve@example.com").await;

    // A member cannot invite; an admin cannot make an admin; nobody invites an owner.
    let by_member = t
        .member
        .call(
            "invite_member",
            &[("email", "dan@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(by_member.status, 403);
    let admin_admin = t
        .admin
        .call(
            "invite_member",
            &[("email", "dan@example.com"), ("role", "admin")],
        )
        .await;
    assert_eq!(admin_admin.status, 403);
    let as_owner = t
        .owner
        .call(
            "invite_member",
            &[("email", "dan@example.com"), ("role", "owner")],
        )
        .await;
    assert_eq!(as_owner.status, 422);
    let already = t
        .owner
        .call(
            "invite_member",
            &[("email", "viewer@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(already.status, 409);

    let sent = t
        .admin
        .call(
            "invite_member",
            &[("email", "Dan@Example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let token = invite_token(&app, "dan@example.com").await;
    // The page shows what it offers without using it.
    let page = app.client().get(&format!("/invite?token={token}")).await;
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Acme") && html.contains("dan@example.com"),
        "{html}"
    );
    // Only the invited address can accept.
    let wrong = eve.call("accept_invite", &[("token", &token)]).await;
    assert_eq!(wrong.status, 403);
    let anonymous = app
        .client()
        .call("accept_invite", &[("token", &token)])
        .await;
    assert_eq!(anonymous.status, 401);
    let ok = dan.call("accept_invite", &[("token", &token)]).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let again = dan.call("accept_invite", &[("token", &token)]).await;
    assert_eq!(again.status, 422, "once");
    let team = dan.call("team", &[]).await.body;
    assert_eq!(team["workspace"]["name"], "Acme");
    assert_eq!(team["workspace"]["role"], "Member");
    assert_eq!(team["members"].as_array().unwrap().len(), 5);
    assert!(
        team["invites"].as_array().unwrap().is_empty(),
        "members do not see invitations"
    );

    // Withdrawn: the link stops working. Expired: too.
    let inv = t
        .owner
        .call(
            "invite_member",
            &[("email", "eve@example.com"), ("role", "viewer")],
        )
        .await;
    let first = invite_token(&app, "eve@example.com").await;
    let withdrawn = t
        .member
        .call(
            "revoke_invite",
            &[("invite_id", inv.body["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(withdrawn.status, 403, "members cannot withdraw");
    let withdrawn = t
        .admin
        .call(
            "revoke_invite",
            &[("invite_id", inv.body["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(withdrawn.status, 200);
    assert_eq!(
        eve.call("accept_invite", &[("token", &first)]).await.status,
        422
    );
    // An outsider cannot withdraw the team's invitations (they are not its).
    let (status, _) = call(
        &t.outsider,
        "revoke_invite",
        &form(&[("invite_id", inv.body["id"].as_str().unwrap())]),
    )
    .await;
    assert!(status == 403 || status == 404, "{status}");
    t.owner
        .call(
            "invite_member",
            &[("email", "eve@example.com"), ("role", "viewer")],
        )
        .await;
    let late = invite_token(&app, "eve@example.com").await;
    app.clock.advance_ms(7 * 86_400_000 + 1_000);
    // (Eve's session has ended meanwhile too: she signs in again.)
    let eve = app.client();
    assert_eq!(
        eve.sign_in("eve@example.com", crate::support::PASSWORD)
            .await
            .status,
        200
    );
    assert_eq!(
        eve.call("accept_invite", &[("token", &late)]).await.status,
        422
    );
    let gone = app.client().get(&format!("/invite?token={late}")).await;
    assert!(gone.text().await.unwrap().contains("has expired"));
}

async fn role(c: &Client, user_id: &str, role: &str) -> u16 {
    c.call(
        "change_member_role",
        &[("user_id", user_id), ("role", role)],
    )
    .await
    .status
}

async fn remove(c: &Client, user_id: &str) -> u16 {
    c.call("remove_member", &[("user_id", user_id)])
        .await
        .status
}

async fn user_id(app: &TestApp, who: Who) -> String {
    let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(email_of(who))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn roles_change_only_downward_from_ones_own_and_removed_members_lose_access_and_keys() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let (admin, member, viewer, owner) = (
        user_id(&app, Who::Admin).await,
        user_id(&app, Who::Member).await,
        user_id(&app, Who::Viewer).await,
        user_id(&app, Who::Owner).await,
    );
    // An admin moves members and viewers between member and viewer, nothing else.
    assert_eq!(role(&t.admin, &viewer, "member").await, 200);
    assert_eq!(role(&t.admin, &viewer, "viewer").await, 200);
    assert_eq!(role(&t.admin, &viewer, "admin").await, 403);
    assert_eq!(role(&t.admin, &owner, "viewer").await, 403);
    assert_eq!(role(&t.admin, &admin, "viewer").await, 403, "not oneself");
    assert_eq!(role(&t.member, &viewer, "member").await, 403);
    assert_eq!(role(&t.owner, &viewer, "owner").await, 422);
    // The owner makes and unmakes admins.
    assert_eq!(role(&t.owner, &member, "admin").await, 200);
    assert_eq!(role(&t.owner, &member, "member").await, 200);
    // An outsider acts in their own personal workspace, which has nobody to manage.
    assert_eq!(role(&t.outsider, &member, "viewer").await, 403);

    // The member makes a key in the team; removed, they lose the team and the key.
    let key = t
        .member
        .call_json(
            "create_api_key",
            json!({ "new": { "name": "k", "scopes": ["files:read"] } }),
        )
        .await;
    assert_eq!(key.status, 403, "members make no keys");
    assert_eq!(remove(&t.admin, &owner).await, 403);
    assert_eq!(remove(&t.admin, &admin).await, 403);
    assert_eq!(remove(&t.member, &viewer).await, 403);
    assert_eq!(remove(&t.admin, &viewer).await, 200);
    assert_eq!(
        t.viewer
            .call("get_vault", &[("vault_id", &t.vault)])
            .await
            .status,
        404
    );
    // Their session is back in their own workspace.
    let own = t.viewer.call("list_vaults", &[]).await.body;
    assert_eq!(own[0]["name"], "My vault");
    assert!(!own.to_string().contains(&t.vault));

    // The owner hands the team over; then cannot leave... until it is handed over.
    assert_eq!(t.owner.call("leave_workspace", &[]).await.status, 403);
    assert_eq!(
        t.admin
            .call("transfer_ownership", &[("user_id", &member)])
            .await
            .status,
        403
    );
    assert_eq!(
        t.owner
            .call("transfer_ownership", &[("user_id", &member)])
            .await
            .status,
        200
    );
    let view = t.member.call("team", &[]).await.body;
    assert_eq!(view["workspace"]["role"], "Owner");
    let view = t.owner.call("team", &[]).await.body;
    assert_eq!(view["workspace"]["role"], "Admin");
    let (owners,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         WHERE w.kind = 'team' AND m.role = 'owner'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(owners, 1, "exactly one owner");
    // The old owner may leave now.
    assert_eq!(t.owner.call("leave_workspace", &[]).await.status, 200);
    assert_eq!(
        t.owner
            .call("get_vault", &[("vault_id", &t.vault)])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn an_admin_s_keys_end_when_they_leave() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let key = t
        .admin
        .call_json(
            "create_api_key",
            json!({ "new": { "name": "ci", "scopes": ["files:read"] } }),
        )
        .await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let secret = key.body["secret"].as_str().unwrap().to_string();
    let vaults = |s: String| {
        let c = app.client();
        async move {
            c.http
                .get(c.url("/api/v1/vaults"))
                .bearer_auth(s)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(vaults(secret.clone()).await, 200);
    assert_eq!(t.admin.call("leave_workspace", &[]).await.status, 200);
    assert_eq!(vaults(secret).await, 401);
}

#[tokio::test]
async fn the_switcher_lists_ones_workspaces_and_follows_only_memberships() {
    let app = TestApp::spawn().await;
    let t = team(&app).await;
    let list = t.member.call("list_workspaces", &[]).await.body;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["kind"], "personal");
    assert_eq!(list[1]["name"], "Acme");
    assert_eq!(list[1]["current"], true);
    let personal = list[0]["id"].as_str().unwrap().to_string();
    let team_id = list[1]["id"].as_str().unwrap().to_string();
    let back = t
        .member
        .call("switch_workspace", &[("workspace_id", &personal)])
        .await;
    assert_eq!(back.status, 200);
    assert_eq!(
        t.member.call("list_vaults", &[]).await.body[0]["name"],
        "My vault"
    );
    // A vault made now lands in the workspace switched to (the member owns their own).
    let made = t.member.call("create_vault", &[("name", "Mine too")]).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body["workspace_id"], personal.as_str());
    // Nobody switches into a workspace that is not theirs.
    let sneaky = t
        .outsider
        .call("switch_workspace", &[("workspace_id", &team_id)])
        .await;
    assert_eq!(sneaky.status, 404);
    assert!(
        !t.outsider
            .call("list_vaults", &[])
            .await
            .body
            .to_string()
            .contains(&t.vault)
    );
    // Usage and billing follow the switch too: the team's plan page is the owner's and admins'.
    assert_eq!(t.viewer.call("billing_info", &[]).await.status, 403);
    assert_eq!(t.admin.call("billing_info", &[]).await.status, 200);
    // Markup in a team's name stays text.
    let c = app.client();
    c.sign_up("mallory@example.com").await;
    let made = c
        .call("create_team", &[("name", "<img src=x onerror=alert(1)>")])
        .await;
    assert_eq!(made.status, 200);
    let html = c.get("/team").await.text().await.unwrap();
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

//! SSO settings (owner only), starting a sign-in at the provider, and finishing it: the code
//! exchanged with its PKCE verifier, the ID token verified (signature against the provider's
//! keys, issuer, audience, expiry, the nonce sent), then the person found — by the
//! provider's subject, else by email among the workspace's members — or made.
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

use super::{LOGIN_TTL_MS, STARTS_PER_HOUR, SsoFailure, SsoSettings, SsoView};
use crate::audit::service::{Change, record, record_tx};
use crate::auth::User;
use crate::auth::service::{SignedIn, create_session, hourly_address_limit};
use crate::core::outbound::{check_url, pinned_client};
use crate::core::{Actor, AppState, new_id, random_token, sha256_hex};
use crate::error::AppError;
use crate::workspaces::service::{current, require_role};
use crate::workspaces::{MAX_MEMBERS, Role};

/// Why a sign-in failed: what the person is told, and what the log says.
#[derive(Debug)]
pub struct SsoError {
    pub failure: SsoFailure,
    pub detail: String,
}

impl SsoError {
    fn new(failure: SsoFailure, detail: impl Into<String>) -> Self {
        SsoError {
            failure,
            detail: detail.into(),
        }
    }
}

impl From<AppError> for SsoError {
    fn from(e: AppError) -> Self {
        let failure = match e {
            AppError::Limit { .. } => SsoFailure::TooMany,
            _ => SsoFailure::Internal,
        };
        SsoError::new(failure, e.to_string())
    }
}

impl From<sqlx::Error> for SsoError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

/// What the owner saves. An empty `client_secret` keeps the one saved before.
#[derive(Clone, Debug, Default)]
pub struct SsoInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub allowed_domain: String,
    pub require_sso: bool,
    pub new_member_role: String,
}

/// Who the provider says signed in (after the ID token verified).
#[derive(Clone, Debug)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: String,
    /// The provider's `email_verified` claim, when it sends one.
    pub email_verified: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct ConfigRow {
    workspace_id: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    allowed_domain: String,
    require_sso: i64,
    new_member_role: String,
    updated_at: i64,
}

const CONFIG_COLUMNS: &str = "workspace_id, issuer, client_id, client_secret, allowed_domain,
    CAST(require_sso AS BIGINT) AS require_sso, new_member_role, updated_at";

impl ConfigRow {
    fn settings(&self) -> SsoSettings {
        SsoSettings {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            allowed_domain: self.allowed_domain.clone(),
            require_sso: self.require_sso != 0,
            new_member_role: Role::parse(&self.new_member_role).unwrap_or(Role::Member),
            updated_at: self.updated_at,
        }
    }
}

async fn config_of(st: &AppState, workspace_id: &str) -> Result<Option<ConfigRow>, AppError> {
    let sql = format!("SELECT {CONFIG_COLUMNS} FROM workspace_sso WHERE workspace_id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(workspace_id)
        .fetch_optional(&st.db.pool)
        .await?)
}

/// Where the provider sends people back.
pub fn redirect_uri(st: &AppState) -> String {
    format!("{}/sso/callback", st.config.public_url)
}

/// The link that starts a sign-in to the workspace.
pub fn sign_in_url(st: &AppState, workspace_id: &str) -> String {
    format!(
        "{}/sso/start?workspace={workspace_id}",
        st.config.public_url
    )
}

/// The current team workspace's SSO panel (owners and admins; only the owner may edit).
pub async fn view(st: &AppState, actor: &Actor) -> Result<SsoView, AppError> {
    let (ws, role) = team(st, actor, Role::Admin).await?;
    Ok(SsoView {
        settings: config_of(st, &ws).await?.map(|c| c.settings()),
        redirect_uri: redirect_uri(st),
        sign_in_url: sign_in_url(st, &ws),
        may_edit: role == Role::Owner,
        workspace_id: ws,
    })
}

/// The owner's team workspace (SSO is set up by its owner, in a team).
async fn owned_team(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    Ok(team(st, actor, Role::Owner).await?.0)
}

/// The current workspace and the person's role there, when it is a team and they hold at
/// least `at_least`.
async fn team(st: &AppState, actor: &Actor, at_least: Role) -> Result<(String, Role), AppError> {
    actor.person("manage single sign-on")?;
    let (ws, _, _) = current(&st.db, actor).await?;
    let role = require_role(&st.db, actor, &ws, at_least).await?;
    let (kind,): (String,) = sqlx::query_as("SELECT kind FROM workspaces WHERE id = $1")
        .bind(&ws)
        .fetch_one(&st.db.pool)
        .await?;
    if kind != "team" {
        return Err(AppError::invalid(
            "workspace",
            "Single sign-on is for team workspaces: make a team first.",
        ));
    }
    Ok((ws, role))
}

/// An email domain as saved: lower-case, no `@`, labels of letters, digits and hyphens.
pub fn check_domain(domain: &str) -> Result<String, AppError> {
    let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
        return Err(AppError::invalid(
            "allowed_domain",
            "Give the email domain your provider signs in, like example.com.",
        ));
    }
    Ok(d)
}

/// Saves the provider after reading its configuration (so a typo is caught now, not at the
/// first sign-in). Owner only.
pub async fn save(st: &AppState, actor: &Actor, input: SsoInput) -> Result<SsoSettings, AppError> {
    let ws = owned_team(st, actor).await?;
    let issuer = input.issuer.trim().to_string();
    check_issuer(st, &issuer)?;
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 255 {
        return Err(AppError::invalid(
            "client_id",
            "Give the client id your provider made for this app (at most 255 characters).",
        ));
    }
    let allowed_domain = check_domain(&input.allowed_domain)?;
    let role = match input.new_member_role.as_str() {
        "" | "member" => Role::Member,
        "viewer" => Role::Viewer,
        _ => {
            return Err(AppError::invalid(
                "new_member_role",
                "New people join as members or viewers.",
            ));
        }
    };
    let before = config_of(st, &ws).await?;
    let secret = match (input.client_secret.trim(), &before) {
        ("", Some(b)) => b.client_secret.clone(),
        ("", None) => {
            return Err(AppError::invalid(
                "client_secret",
                "Give the client secret your provider made for this app.",
            ));
        }
        (s, _) if s.len() > 1024 => {
            return Err(AppError::invalid(
                "client_secret",
                "A client secret is at most 1,024 characters.",
            ));
        }
        (s, _) => s.to_string(),
    };
    discover(st, &issuer).await.map_err(|e| {
        AppError::invalid(
            "issuer",
            format!(
                "Could not read the provider's configuration at {issuer}/.well-known/openid-configuration ({}). Check the issuer URL.",
                e.detail
            ),
        )
    })?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    sqlx::query("DELETE FROM workspace_sso WHERE workspace_id = $1")
        .bind(&ws)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO workspace_sso (workspace_id, issuer, client_id, client_secret, allowed_domain,
                                    require_sso, new_member_role, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&ws)
    .bind(&issuer)
    .bind(&client_id)
    .bind(&secret)
    .bind(&allowed_domain)
    .bind(i32::from(input.require_sso))
    .bind(role.as_str())
    .bind(actor.user_id())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&ws), "sso.update", format!("workspace:{ws}")).detail(format!(
            "issuer {issuer}, domain {allowed_domain}, require SSO {}, new people join as {}",
            if input.require_sso { "on" } else { "off" },
            role.as_str()
        )),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(workspace_id = %ws, "SSO settings saved");
    Ok(config_of(st, &ws)
        .await?
        .ok_or(AppError::NotFound)?
        .settings())
}

/// Turns SSO off for the current team; the sessions it signed in end. Owner only.
pub async fn remove(st: &AppState, actor: &Actor) -> Result<(), AppError> {
    let ws = owned_team(st, actor).await?;
    let mut tx = st.db.begin().await?;
    let gone = sqlx::query("DELETE FROM workspace_sso WHERE workspace_id = $1")
        .bind(&ws)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    sqlx::query("DELETE FROM sessions WHERE sso_workspace_id = $1")
        .bind(&ws)
        .execute(&mut *tx)
        .await?;
    record_tx(
        st,
        &mut tx,
        actor,
        Change::new(Some(&ws), "sso.remove", format!("workspace:{ws}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An issuer URL the server may call: https (http and private addresses only when
/// `NEXUS_SSO_ALLOW_PRIVATE`), no user or password, no query.
fn check_issuer(st: &AppState, issuer: &str) -> Result<reqwest::Url, AppError> {
    let allow = st.config.sso_allow_private;
    let bad = |m: &str| AppError::invalid("issuer", m);
    let url = check_url(issuer, allow).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" && !allow {
        return Err(bad("The issuer URL must start with https://."));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("The issuer URL has no query or fragment."));
    }
    Ok(url)
}

/// A failed request to the provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFail(String);

/// Most bytes one answer of the provider may have (its configuration and keys are a few KiB).
const MAX_ANSWER: usize = 1 << 20;

/// One request to the provider, through the same guard as webhooks: its address vetted
/// (public unless allowed), pinned, no redirects, 10 seconds, at most 1 MiB back.
async fn send(
    req: openidconnect::HttpRequest,
    allow: bool,
) -> Result<openidconnect::HttpResponse, HttpFail> {
    let url = check_url(&req.uri().to_string(), allow).map_err(|e| HttpFail(e.to_string()))?;
    if url.scheme() != "https" && !allow {
        return Err(HttpFail(format!(
            "refused: {} is not https",
            url.host_str().unwrap_or("")
        )));
    }
    let client = pinned_client(&url, allow, Duration::from_secs(10), "Nexus-SSO/1")
        .await
        .map_err(HttpFail)?;
    let (parts, body) = req.into_parts();
    let mut rb = client.request(parts.method, url);
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let mut resp = rb.body(body).send().await.map_err(|e| {
        HttpFail(if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "could not connect".into()
        } else {
            "request failed".into()
        })
    })?;
    let mut out = http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| HttpFail("the answer broke off".into()))?
    {
        if bytes.len() + chunk.len() > MAX_ANSWER {
            return Err(HttpFail("the answer is over 1 MiB".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    out.body(bytes).map_err(|e| HttpFail(e.to_string()))
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider's configuration and signing keys, read now (its keys rotate).
async fn discover(st: &AppState, issuer: &str) -> Result<CoreProviderMetadata, SsoError> {
    let allow = st.config.sso_allow_private;
    let http = move |req| send(req, allow);
    let url = IssuerUrl::new(issuer.to_string())
        .map_err(|e| SsoError::new(SsoFailure::Provider, format!("issuer: {e}")))?;
    CoreProviderMetadata::discover_async(url, &http)
        .await
        .map_err(|e| SsoError::new(SsoFailure::Provider, discovery_error(&e)))
}

fn discovery_error<E: std::error::Error>(e: &openidconnect::DiscoveryError<E>) -> String {
    use openidconnect::DiscoveryError as D;
    match e {
        D::Request(e) => e.to_string(),
        D::Response(status, _, _) => format!("it answered HTTP {status}"),
        D::Parse(_) => "its answer is not an OpenID Connect configuration".into(),
        D::Validation(v) => v.clone(),
        other => other.to_string(),
    }
}

async fn client(st: &AppState, c: &ConfigRow) -> Result<Client, SsoError> {
    let meta = discover(st, &c.issuer).await?;
    let redirect = RedirectUrl::new(redirect_uri(st))
        .map_err(|e| SsoError::new(SsoFailure::Internal, format!("redirect uri: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(c.client_id.clone()),
        Some(ClientSecret::new(c.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// A sign-in on its way to the provider: where to send the browser, and the state it must
/// bring back in its cookie.
pub struct Started {
    pub url: String,
    pub state: String,
}

/// Starts a sign-in: to the workspace named, or to the one whose domain the email is in (one
/// workspace only: with several, the workspace's own link is needed). The state (kept hashed),
/// nonce and PKCE verifier wait here for 10 minutes; the state also goes into a cookie of the
/// browser, so a sign-in that comes back to another browser is refused.
pub async fn begin(
    st: &AppState,
    workspace_id: Option<&str>,
    email: Option<&str>,
    next: Option<&str>,
    ip: &str,
) -> Result<Started, SsoError> {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    hourly_address_limit(
        st,
        email.unwrap_or(""),
        ip,
        "sso_start",
        STARTS_PER_HOUR,
        "Too many sign-ins were started from your network.",
    )
    .await?;
    let config = match (workspace_id.map(str::trim).filter(|w| !w.is_empty()), email) {
        (Some(ws), _) => {
            if ws.len() > 64 {
                return Err(SsoError::new(SsoFailure::NotSetUp, "bad workspace id"));
            }
            config_of(st, ws).await?
        }
        (None, Some(email)) => {
            let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or(email);
            let Ok(domain) = check_domain(domain) else {
                return Err(SsoError::new(SsoFailure::NotSetUp, "no domain"));
            };
            let sql = format!(
                "SELECT {CONFIG_COLUMNS} FROM workspace_sso WHERE allowed_domain = $1 LIMIT 2"
            );
            let mut found: Vec<ConfigRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&domain)
                .fetch_all(&st.db.pool)
                .await?;
            if found.len() > 1 {
                return Err(SsoError::new(SsoFailure::Several, domain));
            }
            found.pop()
        }
        (None, None) => None,
    };
    let config = config.ok_or_else(|| SsoError::new(SsoFailure::NotSetUp, "no SSO"))?;
    let client = client(st, &config).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge);
    if let Some(e) = email.filter(|e| e.len() <= 254) {
        request = request.add_extra_param("login_hint", e.to_string());
    }
    let (url, state, nonce) = request.url();
    let now = st.clock.now_ms();
    let next = crate::auth::service::safe_next(next);
    // Sign-ins that never came back go as new ones start (a small indexed delete).
    sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
        .bind(now)
        .execute(&st.db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO sso_logins (state_hash, workspace_id, nonce, pkce_verifier, next, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sha256_hex(state.secret()))
    .bind(&config.workspace_id)
    .bind(nonce.secret())
    .bind(verifier.secret())
    .bind(next)
    .bind(now)
    .bind(now + LOGIN_TTL_MS)
    .execute(&st.db.pool)
    .await?;
    Ok(Started {
        url: url.to_string(),
        state: state.secret().clone(),
    })
}

/// What the provider sent back to `/sso/callback`.
pub struct Callback<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    /// The provider's `error` (the person cancelled, or may not use the app).
    pub error: Option<&'a str>,
    /// The state in the browser's cookie.
    pub cookie_state: Option<&'a str>,
    /// The provider's `iss` (RFC 9207), when it sends one: it must be the workspace's.
    pub iss: Option<&'a str>,
}

/// Finishes a sign-in: the state once (and from the browser it started in), the code for
/// tokens, the ID token verified, then [`sign_in_identity`]. Returns the session and where to go.
pub async fn complete(
    st: &AppState,
    cb: Callback<'_>,
    ip: &str,
    user_agent: &str,
) -> Result<(SignedIn, Option<String>), SsoError> {
    let outcome = complete_steps(st, cb, ip, user_agent).await;
    crate::core::metrics::metrics().event(if outcome.is_ok() {
        "sso_sign_in"
    } else {
        "sso_refused"
    });
    outcome
}

/// The steps of [`complete`] (which counts the outcome for /metrics).
async fn complete_steps(
    st: &AppState,
    cb: Callback<'_>,
    ip: &str,
    user_agent: &str,
) -> Result<(SignedIn, Option<String>), SsoError> {
    if cb.state.is_empty() || cb.state.len() > 256 || cb.cookie_state != Some(cb.state) {
        return Err(SsoError::new(
            SsoFailure::State,
            "state missing or not this browser's",
        ));
    }
    let now = st.clock.now_ms();
    let hash = sha256_hex(cb.state);
    // Used once: of two callbacks with the same state, one gets the row.
    let used = sqlx::query(
        "UPDATE sso_logins SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if used != 1 {
        return Err(SsoError::new(
            SsoFailure::State,
            "state unknown, used or expired",
        ));
    }
    let (ws, nonce, verifier, next): (String, String, String, Option<String>) = sqlx::query_as(
        "SELECT workspace_id, nonce, pkce_verifier, next FROM sso_logins WHERE state_hash = $1",
    )
    .bind(&hash)
    .fetch_one(&st.db.pool)
    .await?;
    if let Some(e) = cb.error {
        return Err(SsoError::new(
            SsoFailure::Denied,
            format!("provider error {}", e.chars().take(64).collect::<String>()),
        ));
    }
    let code = cb
        .code
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| SsoError::new(SsoFailure::Denied, "no code"))?;
    let config = config_of(st, &ws)
        .await?
        .ok_or_else(|| SsoError::new(SsoFailure::NotSetUp, "SSO removed meanwhile"))?;
    if cb.iss.is_some_and(|i| i != config.issuer) {
        // A code from another provider (a mix-up): never sent to this one's token endpoint.
        return Err(SsoError::new(
            SsoFailure::Token,
            "iss is another provider's",
        ));
    }
    let client = client(st, &config).await?;
    let allow = st.config.sso_allow_private;
    let http = move |req| send(req, allow);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| SsoError::new(SsoFailure::Provider, format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            use openidconnect::RequestTokenError as R;
            let detail = match &e {
                R::ServerResponse(r) => format!("token endpoint said {}", r.error()),
                R::Request(e) => format!("token endpoint: {e}"),
                R::Parse(_, _) => "token endpoint: not a token answer".into(),
                R::Other(o) => format!("token endpoint: {o}"),
            };
            let failure = if matches!(e, R::ServerResponse(_)) {
                SsoFailure::Denied
            } else {
                SsoFailure::Provider
            };
            SsoError::new(failure, detail)
        })?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| SsoError::new(SsoFailure::Token, "no ID token"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(|e| SsoError::new(SsoFailure::Token, format!("ID token: {e}")))?;
    let email = claims
        .email()
        .map(|e| e.as_str().to_string())
        .ok_or_else(|| SsoError::new(SsoFailure::Domain, "no email claim"))?;
    let identity = Identity {
        issuer: claims.issuer().as_str().to_string(),
        subject: claims.subject().as_str().to_string(),
        email,
        email_verified: claims.email_verified(),
    };
    let signed = sign_in_identity(st, &ws, &identity, ip, user_agent).await?;
    Ok((signed, next))
}

/// Signs in the person the workspace's provider vouched for: the account linked to the
/// provider's subject; else the member with that email (linked now); else a new account
/// (its address confirmed by the provider), joined with the workspace's role for newcomers.
/// The email must be in the workspace's domain and not said unverified. An account that is
/// not a member is not taken over: it needs an invitation first. The session reaches this
/// workspace only.
pub async fn sign_in_identity(
    st: &AppState,
    workspace_id: &str,
    who: &Identity,
    ip: &str,
    user_agent: &str,
) -> Result<SignedIn, SsoError> {
    let config = config_of(st, workspace_id)
        .await?
        .ok_or_else(|| SsoError::new(SsoFailure::NotSetUp, "SSO removed meanwhile"))?;
    let email = crate::auth::service::normalize_email(&who.email)
        .map_err(|_| SsoError::new(SsoFailure::Domain, "email not usable"))?;
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if domain != config.allowed_domain {
        return Err(SsoError::new(
            SsoFailure::Domain,
            format!("email domain {domain}"),
        ));
    }
    if who.email_verified == Some(false) {
        return Err(SsoError::new(
            SsoFailure::Unverified,
            "email_verified false",
        ));
    }
    let now = st.clock.now_ms();
    let linked: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT u.id, u.deleted_at FROM sso_identities i JOIN users u ON u.id = i.user_id
         WHERE i.issuer = $1 AND i.subject = $2",
    )
    .bind(&who.issuer)
    .bind(&who.subject)
    .fetch_optional(&st.db.pool)
    .await?;
    let mut tx = st.db.begin().await?;
    let user_id = match linked {
        Some((_, Some(_))) => {
            return Err(SsoError::new(SsoFailure::Removed, "account deleted"));
        }
        Some((user_id, None)) => {
            if !is_member(&mut tx, workspace_id, &user_id).await? {
                return Err(SsoError::new(
                    SsoFailure::Removed,
                    "linked but not a member",
                ));
            }
            sqlx::query(
                "UPDATE sso_identities SET last_at = $1 WHERE issuer = $2 AND subject = $3",
            )
            .bind(now)
            .bind(&who.issuer)
            .bind(&who.subject)
            .execute(&mut *tx)
            .await?;
            user_id
        }
        None => {
            let existing: Option<(String, Option<i64>)> =
                sqlx::query_as("SELECT id, deleted_at FROM users WHERE email = $1")
                    .bind(&email)
                    .fetch_optional(&mut *tx)
                    .await?;
            let user_id = match existing {
                Some((_, Some(_))) => {
                    return Err(SsoError::new(SsoFailure::Removed, "account deleted"));
                }
                Some((id, None)) => {
                    if !is_member(&mut tx, workspace_id, &id).await? {
                        return Err(SsoError::new(SsoFailure::Exists, "account not a member"));
                    }
                    id
                }
                None => join_new(st, &mut tx, &config, &email, now).await?,
            };
            sqlx::query(
                "INSERT INTO sso_identities (issuer, subject, user_id, workspace_id, created_at, last_at)
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&who.issuer)
            .bind(&who.subject)
            .bind(&user_id)
            .bind(workspace_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            user_id
        }
    };
    let (user_email, confirmed): (String, Option<i64>) =
        sqlx::query_as("SELECT email, email_confirmed_at FROM users WHERE id = $1")
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    record(
        st,
        &Actor::job_for(&user_id),
        Change::new(Some(workspace_id), "sign_in", format!("user:{user_id}"))
            .detail(format!("SSO ({})", config.issuer)),
    )
    .await?;
    tracing::info!(%user_id, %workspace_id, "signed in with SSO");
    let user = User {
        id: user_id,
        email: user_email,
        email_confirmed: confirmed.is_some(),
    };
    Ok(create_session(st, user, ip, user_agent, Some(workspace_id)).await?)
}

async fn is_member(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    workspace_id: &str,
    user_id: &str,
) -> Result<bool, AppError> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(workspace_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// Someone new from the domain: an account without a password (they sign in through the
/// provider, or set one with a mailed reset link), its address confirmed by the provider,
/// joined with the workspace's role for newcomers.
async fn join_new(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    config: &ConfigRow,
    email: &str,
    now: i64,
) -> Result<String, SsoError> {
    if st.db.dialect == crate::core::db::Dialect::Postgres {
        sqlx::query("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE")
            .bind(&config.workspace_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let (members,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE workspace_id = $1")
            .bind(&config.workspace_id)
            .fetch_one(&mut **tx)
            .await?;
    if members >= MAX_MEMBERS {
        return Err(SsoError::new(SsoFailure::Full, "workspace full"));
    }
    let user_id = new_id();
    // No password anyone knows: not a PHC string, so no password ever matches it.
    let no_password = format!("!sso:{}", random_token(8));
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at, email_confirmed_at)
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&user_id)
    .bind(email)
    .bind(&no_password)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| match AppError::from(e) {
        // Made meanwhile by a parallel sign-in or a sign-up: the next try finds it.
        AppError::Conflict { .. } => SsoError::new(SsoFailure::Internal, "email taken meanwhile"),
        e => e.into(),
    })?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&config.workspace_id)
    .bind(&user_id)
    .bind(&config.new_member_role)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    record_tx(
        st,
        tx,
        &Actor::job_for(&user_id),
        Change::new(
            Some(&config.workspace_id),
            "member.join",
            format!("user:{user_id}"),
        )
        .detail(format!("by SSO, as {}", config.new_member_role)),
    )
    .await?;
    Ok(user_id)
}

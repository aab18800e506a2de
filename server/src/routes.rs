//! Every route of the web server in one place: health, downloads, the Leptos pages and server
//! functions, static files. Layers: request id + trace, the Origin check on state changes,
//! and security headers.
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};

use app::core::AppState;
use app::error::AppError;

pub use crate::state::ServerState;

/// The app's routes, made once per process. `generate_route_list` renders the whole app with
/// leptos_server's process-wide "suppress resource loads" flag set, and a resource created
/// anywhere in the process meanwhile never loads (leptos-rs/leptos#4773): a page rendered
/// by another server of the same process (the tests run dozens) would never answer. Nothing
/// else may call `generate_route_list`.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

pub fn router(app: AppState, leptos: LeptosOptions, s3_origin: Option<String>) -> Router {
    let routes = route_list();
    let csp = Csp::new(s3_origin.as_deref());
    let state = ServerState {
        leptos: leptos.clone(),
        app: app.clone(),
    };
    let context = {
        let app = app.clone();
        move || {
            provide_context(app.clone());
            // The nonce the Content-Security-Policy header names (leptos_axum made one of its
            // own; the page's inline scripts must carry ours).
            if let Some(parts) = leptos::prelude::use_context::<http::request::Parts>()
                && let Some(CspNonce(n)) = parts.extensions.get::<CspNonce>()
            {
                provide_context(leptos::nonce::Nonce::from_value(n.clone()));
            }
        }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/files/{id}/download", get(download))
        .route("/files/{id}/thumb", get(thumbnail))
        .route("/usage.csv", get(usage_csv))
        .route("/audit.csv", get(audit_csv))
        .route("/account/export.json", get(account_export))
        .route("/status.json", get(status_json))
        .route("/metrics", get(metrics))
        .route("/sso/start", get(sso_start))
        .route("/sso/callback", get(sso_callback))
        .route("/stripe/webhook", axum::routing::post(stripe_webhook))
        .merge(crate::api::router(app.clone()))
        // The wasm, JS and CSS; a `--precompress` release build adds .br/.gz files beside
        // them, served to browsers that accept them.
        .route_service(
            &leptos_axum::site_pkg_dir_service_route_path(&leptos),
            leptos_axum::site_pkg_dir_service(&leptos),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let leptos = leptos.clone();
            move || app::shell(leptos.clone())
        })
        // Counted per route as routed (the pattern, never the raw path: ids and unknown paths
        // would make a series each); the fallback's answers are not routes.
        .route_layer(middleware::from_fn(count_request))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            ServerState,
            _,
        >(context, app::shell))
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn_with_state(app.clone(), request_scope))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            require_session_for_pages,
        ))
        .layer(middleware::from_fn_with_state(app, check_origin))
        .layer(middleware::from_fn_with_state(csp, security_headers))
        .layer(middleware::from_fn(crate::trace::trace_app))
        .with_state(state)
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// The database and object storage answer.
async fn readyz(State(s): State<ServerState>) -> impl IntoResponse {
    let db = s.app.db.ping().await;
    let storage = s.app.storage.ping().await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let ready = db.is_ok() && storage.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": word(ready),
        "database": word(db.is_ok()),
        "storage": word(storage.is_ok()),
    });
    (status, axum::Json(body))
}

/// Sends the signed-in user to a short-lived presigned GET of the file (never the bytes).
async fn download(
    State(s): State<ServerState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Response> {
    let st = &s.app;
    let actor = app::auth::service::actor_from_headers(st, req.headers())
        .await
        .map_err(IntoResponse::into_response)?;
    let Some((actor, _)) = actor else {
        let next = format!("/files/{id}/download");
        let to = format!("/sign-in?next={}", urlencode(&next));
        return Err(Redirect::to(&to).into_response());
    };
    let url = app::downloads::service::download_url(st, &actor, &id)
        .await
        .map_err(IntoResponse::into_response)?;
    let mut resp = Redirect::to(&url).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Stripe's webhooks: the signature is the check (no session, no Origin); 400 for a bad
/// signature or timestamp so Stripe shows the failure, 200 once applied (or seen before).
async fn stripe_webhook(
    State(s): State<ServerState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let sig = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match app::billing::service::webhook(&s.app, &body, sig).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e @ app::error::AppError::Invalid { .. }) => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The signed-in person's daily usage figures as CSV.
/// The signed-in person's data as JSON (the account page's "Export my data").
async fn account_export(State(s): State<ServerState>, req: Request) -> Result<Response, Response> {
    let st = &s.app;
    let Some((actor, _)) = app::auth::service::actor_from_headers(st, req.headers())
        .await
        .map_err(IntoResponse::into_response)?
    else {
        return Err(Redirect::to("/sign-in?next=%2Faccount").into_response());
    };
    let json = app::auth::account::export(st, &actor)
        .await
        .map_err(IntoResponse::into_response)?;
    let mut resp = json.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"nexus-export.json\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The current workspace's audit log as CSV, filtered as the page's query says (owners and
/// admins).
async fn audit_csv(
    State(s): State<ServerState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    req: Request,
) -> Result<Response, Response> {
    let st = &s.app;
    let Some((actor, _)) = app::auth::service::actor_from_headers(st, req.headers())
        .await
        .map_err(IntoResponse::into_response)?
    else {
        return Err(Redirect::to("/sign-in?next=%2Faudit").into_response());
    };
    let filter = app::audit::AuditFilter {
        action: q.get("action").cloned().unwrap_or_default(),
        actor: q.get("actor").cloned().unwrap_or_default(),
        since: q.get("since").and_then(|v| v.parse().ok()).unwrap_or(0),
        until: q.get("until").and_then(|v| v.parse().ok()).unwrap_or(0),
    };
    let csv = app::audit::service::csv(st, &actor, &filter)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(csv_response(csv, "audit.csv"))
}

/// Counts the answer and its time in the process's metrics, by route pattern.
async fn count_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "other".into());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    app::core::metrics::metrics().request(
        &route,
        &method,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// The status page's JSON (public: states and figures, no names or secrets).
async fn status_json(State(s): State<ServerState>) -> Response {
    match app::ops::service::status(&s.app).await {
        Ok(r) => {
            let mut resp = axum::Json(r).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Prometheus metrics, for a scraper holding `NEXUS_METRICS_TOKEN` as a bearer token; 404
/// when no token is set (nothing to scrape), 401 for a wrong or missing one.
async fn metrics(State(s): State<ServerState>, headers: HeaderMap) -> Response {
    let Some(token) = s.app.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as hashes: equal-length digests, no early exit on the secret's bytes.
    if app::core::sha256_hex(given) != app::core::sha256_hex(token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "A bearer token is needed.",
        )
            .into_response();
    }
    let figures = match app::ops::service::figures(&s.app).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match app::core::metrics::metrics().render(&figures) {
        Ok(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The cookie that ties an SSO sign-in to the browser that started it (its state).
const SSO_COOKIE: &str = "nexus_sso";

fn sso_cookie(st: &AppState, state: Option<&str>) -> String {
    let secure = if st.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    match state {
        Some(s) => format!(
            "{SSO_COOKIE}={s}; Path=/sso; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            app::sso::LOGIN_TTL_MS / 1000
        ),
        None => format!("{SSO_COOKIE}=; Path=/sso; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// A redirect that is never cached, with cookies set.
fn redirect_with(to: &str, cookies: &[String]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Back to the SSO sign-in page with the failure's code (the page words it).
fn sso_failed(st: &AppState, e: app::sso::service::SsoError) -> Response {
    let code = e.failure.code();
    tracing::warn!(code, detail = %e.detail, "SSO sign-in failed");
    redirect_with(
        &format!("/sign-in/sso?error={code}"),
        &[sso_cookie(st, None)],
    )
}

#[derive(serde::Deserialize)]
struct SsoStart {
    workspace: Option<String>,
    email: Option<String>,
    next: Option<String>,
}

/// Starts an SSO sign-in (a workspace's link, or the sign-in page's email): off to the
/// provider, the state in a cookie for the way back.
async fn sso_start(State(s): State<ServerState>, Query(q): Query<SsoStart>) -> Response {
    let st = &s.app;
    let ip = app::core::request::client_ip(st);
    match app::sso::service::begin(
        st,
        q.workspace.as_deref(),
        q.email.as_deref(),
        q.next.as_deref(),
        &ip,
    )
    .await
    {
        Ok(started) => redirect_with(&started.url, &[sso_cookie(st, Some(&started.state))]),
        Err(e) => sso_failed(st, e),
    }
}

#[derive(serde::Deserialize)]
struct SsoBack {
    #[serde(default)]
    state: String,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// Where the provider sends people back: the session made, on to where they were going.
async fn sso_callback(
    State(s): State<ServerState>,
    Query(q): Query<SsoBack>,
    headers: HeaderMap,
) -> Response {
    let st = &s.app;
    let cookie_state = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SSO_COOKIE)
        .map(|(_, v)| v.to_string());
    let cb = app::sso::service::Callback {
        state: &q.state,
        code: q.code.as_deref(),
        error: q.error.as_deref(),
        cookie_state: cookie_state.as_deref(),
        iss: q.iss.as_deref(),
    };
    let ip = app::core::request::client_ip(st);
    let ua = app::core::request::user_agent();
    match app::sso::service::complete(st, cb, &ip, &ua).await {
        Ok((signed, next)) => {
            let session =
                app::auth::service::session_cookie(st, Some(&signed.token), signed.expires_at);
            redirect_with(
                next.as_deref().unwrap_or("/vaults"),
                &[session, sso_cookie(st, None)],
            )
        }
        Err(e) => sso_failed(st, e),
    }
}

/// A CSV download: its type, its file name, never cached.
fn csv_response(csv: String, name: &'static str) -> Response {
    let mut resp = csv.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn usage_csv(State(s): State<ServerState>, req: Request) -> Result<Response, Response> {
    let st = &s.app;
    let Some((actor, _)) = app::auth::service::actor_from_headers(st, req.headers())
        .await
        .map_err(IntoResponse::into_response)?
    else {
        return Err(Redirect::to("/sign-in?next=%2Fusage").into_response());
    };
    let csv = app::usage::service::daily_csv(st, &actor)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(csv_response(csv, "usage.csv"))
}

/// Sends an `<img>` to a short-lived presigned GET of the file's preview; the redirect may be
/// cached for a few minutes (well inside the link's life) so lists scroll without refetching.
async fn thumbnail(
    State(s): State<ServerState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, Response> {
    let st = &s.app;
    let actor = app::auth::service::actor_from_headers(st, req.headers())
        .await
        .map_err(IntoResponse::into_response)?
        .ok_or_else(|| app::error::AppError::unauthenticated().into_response())?
        .0;
    let url = app::files::service::thumbnail_url(st, &actor, &id)
        .await
        .map_err(IntoResponse::into_response)?;
    let mut resp = Redirect::to(&url).into_response();
    let max_age = (st.config.presign_ttl_secs / 3).min(300);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        resp.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    Ok(resp)
}

/// Runs the request inside its [`app::core::request::SCOPE`] (state and parts for server
/// functions, independent of Leptos's reactive owner).
async fn request_scope(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let scope = app::core::request::RequestScope {
        state: st,
        parts: parts.clone(),
    };
    let req = Request::from_parts(parts, body);
    app::core::request::SCOPE.scope(scope, next.run(req)).await
}

/// Pages under these paths need a session.
const SIGNED_IN_PAGES: &[&str] = &[
    "/vaults",
    "/trash",
    "/developer",
    "/team",
    "/audit",
    "/shares",
    "/admin",
];

/// Sends a signed-out visitor of a page that needs a session to sign-in, which brings them
/// back (`next`) afterwards. Pages render only for people who may see them.
async fn require_session_for_pages(
    State(st): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let needs = req.method() == Method::GET
        && SIGNED_IN_PAGES
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if needs
        && matches!(
            app::auth::service::actor_from_headers(&st, req.headers()).await,
            Ok(None)
        )
    {
        let back = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        return Redirect::to(&format!("/sign-in?next={}", urlencode(back))).into_response();
    }
    next.run(req).await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// CSRF defence: a request that changes state must come from our own pages. Browsers send
/// `Origin` on every cross-site POST; it must be the public URL's origin or this host's.
/// Without `Origin`, `Sec-Fetch-Site` must say same-origin; with neither the request is
/// refused (API clients use API keys on /api/v1, not cookies).
async fn check_origin(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Stripe signs its webhooks; that signature is checked instead.
    let webhook = req.uri().path() == "/stripe/webhook";
    // The REST API takes keys, never cookies: a page elsewhere cannot act through it.
    let api = req.uri().path().starts_with("/api/v1/");
    if safe || webhook || api || origin_allowed(&st.config.public_url, req.headers()) {
        return next.run(req).await;
    }
    tracing::warn!(method = %req.method(), "refused a state change from another origin");
    AppError::Forbidden {
        message: "This request did not come from this site's pages, so it was refused.".into(),
    }
    .into_response()
}

pub fn origin_allowed(public_url: &str, headers: &http::HeaderMap) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    match get("origin") {
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            let host = get("host").unwrap_or("");
            origin == public_url
                || origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    == Some(host)
        }
        None => matches!(get("sec-fetch-site"), Some("same-origin") | Some("none")),
    }
}

/// A server function whose arguments do not parse fails before our code runs, and Leptos
/// answers 500; the body is our `AppError` all the same, so give it the status it means.
async fn server_fn_status(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if !is_api || resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = e.status();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A request's Content-Security-Policy nonce (base64url of 16 random bytes).
#[derive(Clone)]
struct CspNonce(std::sync::Arc<str>);

/// The Content-Security-Policy of every response, with a place for the request's nonce.
/// Scripts: our own files, inline scripts with the nonce (Leptos's hydration and resource
/// data), and compiling our wasm; no other inline script, no `eval`. Pages may talk to
/// themselves and to the object store (presigned PUTs and GETs), show images from both (and
/// previews drawn from local files), run workers from this origin; they may not be framed.
#[derive(Clone)]
pub struct Csp {
    before: std::sync::Arc<str>,
    after: std::sync::Arc<str>,
}

impl Csp {
    pub fn new(s3_origin: Option<&str>) -> Csp {
        let s3 = s3_origin
            .filter(|o| {
                o.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
            })
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        Csp {
            before: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-".into(),
            after: format!(
                "'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: blob:{s3}; \
                 connect-src 'self'{s3}; worker-src 'self'; object-src 'none'; base-uri 'none'; \
                 frame-ancestors 'none'"
            )
            .into(),
        }
    }

    fn header(&self, nonce: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}{nonce}{}", self.before, self.after)).ok()
    }
}

fn new_nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The usual security headers on every response, and a fresh CSP nonce per request (put in
/// the request for the page's render).
async fn security_headers(State(csp): State<Csp>, mut req: Request, next: Next) -> Response {
    let nonce = new_nonce();
    req.extensions_mut()
        .insert(CspNonce(std::sync::Arc::from(nonce.as_str())));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Some(v) = csp.header(&nonce) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;
    use http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn state_changes_need_our_origin() {
        let public = "http://127.0.0.1:3000";
        assert!(origin_allowed(
            public,
            &headers(&[("origin", "http://127.0.0.1:3000")])
        ));
        assert!(origin_allowed(
            public,
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ])
        ));
        assert!(!origin_allowed(
            public,
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000")
            ])
        ));
        assert!(origin_allowed(
            public,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!origin_allowed(
            public,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!origin_allowed(public, &headers(&[])));
    }
}

//! The REST API, `/api/v1`: JSON over the same services the pages call (each handler checks
//! the key's scope, then calls one service function; no business rule lives here). Keys come
//! as `Authorization: Bearer nxs_live_…`; cookies are never read, so no request can ride on a
//! person's session (and the Origin check does not apply). Layers, outside in: the key (401),
//! its rate limit (429 with `RateLimit-*` and `Retry-After`), then `Idempotency-Key` replay.
//! The OpenAPI 3.1 document is generated from the handlers (`utoipa`), served at
//! `/api/v1/openapi.json` and rendered at `/docs/api`.
mod docs;
mod errors;
mod handlers;
mod idempotency;
mod key;
mod limits;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use app::core::{Actor, AppState};
use app::error::AppError;
pub use errors::{ApiError, ApiJson, ApiQuery};
pub use key::{Api, Key};

use crate::state::ServerState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus Deep Storage API",
        version = "1",
        description = "Everything the web app does, from code. Authenticate with an API key from the Developer page: `Authorization: Bearer nxs_live_…`. Errors are `{\"error\":{\"code\",\"message\",\"field\"?}}`. POSTs that create something take an `Idempotency-Key` header."
    ),
    modifiers(&BearerKey),
    security(("api_key" = [])),
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("nxs_live_…")
                        .build(),
                ),
            );
    }
}

/// The API's routes and their OpenAPI document.
pub fn openapi_router() -> (Router<ServerState>, utoipa::openapi::OpenApi) {
    handlers::routes(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts()
}

/// The API mounted for the server: the documented routes behind the key, rate limit and
/// idempotency layers; the document and its reference page open to all; JSON 404s for
/// anything else under `/api/v1`.
pub fn router(app: AppState) -> Router<ServerState> {
    let (routes, spec) = openapi_router();
    let api = Api {
        limits: limits::Limits::new(
            app.config.api_rate_per_minute,
            app.config.api_bad_keys_per_minute,
        ),
        app,
    };
    let json = serde_json::to_string(&spec).expect("the OpenAPI document serializes");
    let page = docs::render(&spec);
    routes
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .route("/api/v1", axum::routing::any(not_found))
        .layer(middleware::from_fn_with_state(
            api.clone(),
            idempotency::replay,
        ))
        .layer(middleware::from_fn_with_state(api, authenticate))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let json = json.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], json) }
            }),
        )
        .route(
            "/docs/api",
            axum::routing::get(move || {
                let page = page.clone();
                async move { axum::response::Html(page) }
            }),
        )
}

/// The API alone, with its state: what `bench/browse` drives in process (no listener, no
/// pages), to time its calls against the service calls beneath them.
pub fn standalone(app: AppState) -> Router {
    let leptos = leptos::config::LeptosOptions::builder()
        .output_name("nexus")
        .build();
    router(app.clone()).with_state(ServerState { leptos, app })
}

async fn not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

/// The key of the request (401 without a valid one), then its rate limit.
async fn authenticate(State(api): State<Api>, mut req: Request, next: Next) -> Response {
    // A NUL is no part of any name, id or query (and PostgreSQL refuses it in text).
    if req.uri().to_string().to_ascii_lowercase().contains("%00") {
        return ApiError(AppError::invalid(
            "request",
            "The address holds a NUL character (%00).",
        ))
        .into_response();
    }
    let ip = app::core::request::client_ip(&api.app);
    let secret = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(str::to_string);
    let Some(secret) = secret else {
        return ApiError(AppError::Unauthenticated {
            message: "Send an API key: Authorization: Bearer nxs_live_… (make one on the Developer page).".into(),
        })
        .into_response();
    };
    let actor = match app::developer::keys::authenticate(&api.app, &secret, &ip).await {
        Ok(a) => a,
        Err(e) => {
            // Guessing keys is hopeless (256 bits), but each guess costs a query: a client
            // address sending bad keys is slowed down like a key sending too much.
            if let Err(limited) = api.limits.check_failure(&ip) {
                return limited.into_response();
            }
            return ApiError(e).into_response();
        }
    };
    let Actor::Key { key_id, .. } = &actor else {
        return ApiError(AppError::unauthenticated()).into_response();
    };
    let state = match api.limits.check_key(key_id) {
        Ok(s) => s,
        Err(limited) => return limited.into_response(),
    };
    req.extensions_mut().insert(actor);
    let mut resp = next.run(req).await;
    state.write_headers(resp.headers_mut());
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

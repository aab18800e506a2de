//! The Nexus server: wires settings, database, object storage (the embedded S3 endpoint when
//! none is configured) and the Leptos app into one axum service. `launch` takes a bound
//! listener and a shutdown token so tests run whole servers on port 0.
pub mod local_s3;
mod routes;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use app::core::{AppState, Clock, Config, Db, Storage};
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use tokio_util::sync::CancellationToken as Shutdown;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The embedded S3 endpoint, when this process runs one.
    pub s3_addr: Option<SocketAddr>,
    pub state: AppState,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the embedded S3 endpoint if needed, connects and migrates the database, makes sure
/// the bucket exists, and serves the app on `listener` until `shutdown` is cancelled.
pub async fn launch(
    mut config: Config,
    leptos_options: LeptosOptions,
    listener: TcpListener,
    clock: Clock,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let mut s3_addr = None;
    if config.s3.embedded {
        let creds = local_s3::load_or_create_credentials(&config.data_dir)
            .context("reading the embedded S3 endpoint's credentials")?;
        let addr = local_s3::spawn(
            &config.s3.embedded_addr,
            config.data_dir.join("s3"),
            &creds,
            shutdown.clone(),
        )
        .await
        .with_context(|| {
            format!(
                "starting the embedded S3 endpoint on {}",
                config.s3.embedded_addr
            )
        })?;
        // The one secret we log: it guards only this machine's local data.
        tracing::info!(
            endpoint = %format!("http://{addr}"),
            bucket = %config.s3.bucket,
            access_key_id = %creds.access_key_id,
            secret_access_key = %creds.secret_access_key,
            "embedded S3 endpoint ready"
        );
        config.s3.endpoint = Some(format!("http://{addr}"));
        config.s3.access_key_id = Some(creds.access_key_id);
        config.s3.secret_access_key = Some(creds.secret_access_key);
        config.s3.force_path_style = true;
        s3_addr = Some(addr);
    }

    let db = Db::connect(&config.database_url)
        .await
        .context("connecting to the database")?;
    let storage = Storage::new(&config.s3).await;
    storage
        .ensure_bucket()
        .await
        .map_err(|e| anyhow::anyhow!("object storage bucket {}: {e}", config.s3.bucket))?;

    let state = AppState {
        db,
        storage,
        clock,
        config: Arc::new(config),
    };
    let app = routes::router(state.clone(), leptos_options);
    let addr = listener.local_addr()?;
    tokio::spawn(sweep_every_hour(state.clone(), shutdown.clone()));
    let task = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running {
        addr,
        s3_addr,
        state,
        task,
    })
}

/// Keeps the sessions and sign-in attempt tables to what is still live, and aborts uploads
/// left unfinished past their lifetime. (The durable `jobs` table arrives with the upload
/// engine; these sweeps need no lease: they are idempotent and claim what they touch.)
async fn sweep_every_hour(state: AppState, shutdown: CancellationToken) {
    let hour = std::time::Duration::from_secs(3600);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match app::auth::service::purge_expired(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired sessions and sign-in attempts"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
        match app::uploads::service::abort_expired_uploads(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "aborted expired uploads"),
            Err(e) => tracing::warn!(error = %e, "aborting expired uploads failed"),
        }
    }
}

/// Crates whose logs would carry presigned signatures or SigV4 details: off whatever
/// `RUST_LOG` says.
const NEVER_LOG: [&str; 3] = ["s3s=off", "s3s_fs=off", "aws_sigv4=off"];

/// The log filter: `RUST_LOG` (or [`DEFAULT_LOG_FILTER`]), with [`NEVER_LOG`] forced on top.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let base = rust_log
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(DEFAULT_LOG_FILTER);
    let mut filter = tracing_subscriber::EnvFilter::try_new(base)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    for d in NEVER_LOG {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Log filter used when `RUST_LOG` is not set: our own info, libraries' warnings. s3s logs
/// requests (with presigned signatures) in its spans, so it stays off.
pub const DEFAULT_LOG_FILTER: &str = "info,s3s=off,s3s_fs=off,aws_smithy_runtime=warn,aws_config=warn,sqlx=warn,hyper=warn,leptos_axum=warn";

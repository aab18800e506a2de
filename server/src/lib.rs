#![recursion_limit = "512"]
//! The Nexus server: wires settings, database, object storage (the embedded S3 endpoint when
//! none is configured) and the Leptos app into one axum service. `launch` takes a bound
//! listener and a shutdown token so tests run whole servers on port 0.
pub mod api;
pub mod backup;
pub mod local_s3;
mod routes;
mod state;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use app::core::{AppState, Clock, Config, Db, Storage};
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use routes::route_list;
pub use tokio_util::sync::CancellationToken as Shutdown;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The embedded S3 endpoint, when this process runs one.
    pub s3_addr: Option<SocketAddr>,
    pub state: AppState,
    pub task: tokio::task::JoinHandle<()>,
    /// This process's job worker, when it runs jobs: ends after shutdown once it has handed
    /// its jobs back.
    pub jobs: Option<tokio::task::JoinHandle<()>>,
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
    // One TLS provider for the process: aws-lc-rs, which the AWS SDK and the mailer use
    // already (reqwest, for webhooks, takes the process default).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut s3_addr = None;
    if config.s3.embedded {
        let creds = local_s3::load_or_create_credentials(&config.data_dir)
            .context("reading the embedded S3 endpoint's credentials")?;
        let addr = local_s3::spawn(
            &config.s3.embedded_addr,
            config.data_dir.join("s3"),
            &creds,
            std::time::Duration::from_secs(config.s3.embedded_abort_days * 86_400),
            shutdown.clone(),
        )
        .await
        .with_context(|| {
            format!(
                "starting the embedded S3 endpoint on {}",
                config.s3.embedded_addr
            )
        })?;
        // The secret key is never logged (logs are shipped, kept and shared). A developer on
        // this machine gets it once on the terminal, to point `aws`/`rclone` at the endpoint;
        // an endpoint reachable beyond loopback never shows it (it is in the 0600 file, or
        // in the settings that gave it).
        tracing::info!(
            endpoint = %format!("http://{addr}"),
            bucket = %config.s3.bucket,
            access_key_id = %creds.access_key_id,
            "embedded S3 endpoint ready"
        );
        if local_s3::may_show_secret(
            addr,
            config.s3.embedded_public_url.as_deref(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            cfg!(debug_assertions),
        ) {
            eprintln!(
                "\n  Embedded S3 endpoint: http://{addr}  bucket {}\n  access key {}  secret key {}\n  (kept in {}; shown only on this terminal)\n",
                config.s3.bucket,
                creds.access_key_id,
                creds.secret_access_key,
                config.data_dir.join("local-s3-credentials").display(),
            );
        }
        // Presigned URLs name the endpoint as browsers reach it (a proxy in front, another
        // machine); the signature covers that host, which the request then carries.
        config.s3.endpoint = Some(
            config
                .s3
                .embedded_public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
        );
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
    let s3_origin = state.storage.browser_origin().await;
    let app = routes::router(state.clone(), leptos_options, s3_origin);
    let addr = listener.local_addr()?;
    let jobs = state
        .config
        .run_jobs
        .then(|| tokio::spawn(job_worker(state.clone(), shutdown.clone())));
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
        jobs,
    })
}

/// How long a job running at shutdown may take to finish before it is handed back.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// This process's job worker: puts the periodic jobs in place, then claims and runs due jobs
/// every second until shutdown (see `app::jobs`). At shutdown the job running gets
/// [`JOB_GRACE`] to finish; whatever this worker still holds then is handed back (queued
/// again, due now) for another process, instead of waiting out its lease.
async fn job_worker(state: AppState, shutdown: CancellationToken) {
    let worker = format!("worker-{}", uuid::Uuid::now_v7());
    if let Err(e) = app::jobs::schedule_periodic(&state).await {
        tracing::warn!(error = %e, "could not schedule periodic jobs");
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let run = app::jobs::run_due(&state, &worker);
        tokio::pin!(run);
        let outcome = tokio::select! {
            r = &mut run => Some(r),
            _ = shutdown.cancelled() => {
                match tokio::time::timeout(JOB_GRACE, &mut run).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        tracing::warn!("a job did not finish within the shutdown grace; handing it back");
                        None
                    }
                }
            }
        };
        if let Some(Err(e)) = outcome {
            tracing::warn!(error = %e, "job worker");
        }
        if shutdown.is_cancelled() {
            break;
        }
    }
    match app::core::jobs::release(&state.db, &worker, state.clock.now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "handed jobs back at shutdown"),
        Err(e) => tracing::warn!(error = %e, "could not hand jobs back at shutdown"),
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

//! `server`: reads settings from the environment, starts everything, serves until Ctrl-C or
//! SIGTERM, then shuts down gracefully.
use anyhow::Context;
use app::core::{Clock, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = server::log_filter(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();

    let mut leptos = leptos::config::get_configuration(None)
        .context("reading the Leptos settings")?
        .leptos_options;
    // A binary built by plain `cargo build`/`cargo test` lacks cargo-leptos's baked-in name.
    if leptos.output_name.is_empty() {
        leptos.output_name = "nexus".into();
    }
    let config = Config::from_env(&leptos.site_addr.to_string()).map_err(anyhow::Error::msg)?;
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(&config.listen_addr)
        .await
        .with_context(|| format!("listening on {}", config.listen_addr))?;
    let public_url = config.public_url.clone();

    let shutdown = server::Shutdown::new();
    let running =
        server::launch(config, leptos, listener, Clock::default(), shutdown.clone()).await?;
    tracing::info!(url = %public_url, "Nexus Deep Storage is ready");
    println!("\n  Nexus Deep Storage is ready at {public_url}\n");

    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    running.task.await.ok();
    if let Some(jobs) = running.jobs {
        jobs.await.ok();
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

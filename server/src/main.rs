//! `server`: reads settings from the environment, starts everything, serves until Ctrl-C or
//! SIGTERM, then shuts down gracefully. `server backup <dir>` and `server restore <dir>` back
//! the embedded setup up and put it back (see `server::backup`).
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["backup", dir] => {
            let r = server::backup::backup(&config, std::path::Path::new(dir)).await?;
            println!(
                "Backed up to {dir}: the database ({} files){}.",
                r.files,
                if r.embedded_objects {
                    format!(" and {} object files ({} bytes)", r.objects, r.object_bytes)
                } else {
                    "; the objects stay in your S3 bucket".into()
                }
            );
            return Ok(());
        }
        ["restore", dir] => {
            let r = server::backup::restore(&config, std::path::Path::new(dir)).await?;
            println!(
                "Restored from {dir}: {} files and {} object files, as the backup says. What was there before is in {}/before-restore-*.",
                r.files,
                r.objects,
                config.data_dir.display()
            );
            return Ok(());
        }
        ["operator", email] | ["operator", "--revoke", email] => {
            let on = args.len() == 2;
            let db = app::core::Db::connect(&config.database_url).await?;
            if app::admin::service::set_operator(&db, email, on).await? {
                println!(
                    "{email} {} an operator (the console is at {}/admin).",
                    if on { "is now" } else { "is no longer" },
                    config.public_url
                );
                return Ok(());
            }
            anyhow::bail!("no account has the email {email}");
        }
        _ => anyhow::bail!(
            "usage: server                  run the app\n       server backup <dir>     back the SQLite database and the embedded S3 endpoint's objects up into a new folder (while running)\n       server restore <dir>    put such a backup back (the server stopped)\n       server operator [--revoke] <email>   make an account an operator of this instance (the /admin console), or not"
        ),
    }
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

//! `nexus`, the command-line client of Nexus Deep Storage. It speaks the REST API v1
//! (reference: /docs/api on the server) with an API key, and uploads straight to storage through the
//! presigned part URLs the server signs, like the browser does.
//!
//! Exit codes are part of the interface (scripts branch on them): 0 ok, 1 server or I/O
//! error, 2 usage or bad input, 3 not found, 4 authentication or permission, 5 checksum
//! mismatch, 130 interrupted.
mod client;
mod commands;
mod config;
mod download;
mod output;
mod paths;
mod upload;

use anyhow::Result;
use clap::{Parser, Subcommand};
use client::Client;
use commands::Tier;
use output::Ui;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where a server started with `cargo leptos serve` listens.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:3000";

pub mod exit {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const AUTH: u8 = 4;
    pub const CHECKSUM: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

/// An error that ends the program with a chosen exit code.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub message: String,
    /// Already reported in the command's own JSON document: `--json` prints no second one.
    pub reported: bool,
}

impl Fail {
    fn with(code: u8, message: impl Into<String>, reported: bool) -> anyhow::Error {
        anyhow::Error::new(Fail {
            code,
            message: message.into(),
            reported,
        })
    }

    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        Fail::with(exit::USAGE, message, false)
    }

    pub fn not_found(message: impl Into<String>) -> anyhow::Error {
        Fail::with(exit::NOT_FOUND, message, false)
    }

    pub fn auth(message: impl Into<String>) -> anyhow::Error {
        Fail::with(exit::AUTH, message, false)
    }

    pub fn checksum(message: impl Into<String>) -> anyhow::Error {
        Fail::with(exit::CHECKSUM, message, false)
    }

    pub fn reported(code: u8, message: impl Into<String>) -> anyhow::Error {
        Fail::with(code, message, true)
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// The exit code an error stands for: a [`Fail`]'s own, an API error's by status, else 1.
pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return f.code;
        }
        if let Some(a) = cause.downcast_ref::<client::ApiError>() {
            return a.exit_code();
        }
    }
    exit::ERROR
}

/// The error code for `--json` error documents: the server's, else one named by exit code.
fn error_code_of(e: &anyhow::Error) -> String {
    if let Some(api) = client::api_error(e) {
        return api.code.clone();
    }
    match exit_code_of(e) {
        exit::USAGE => "usage",
        exit::NOT_FOUND => "not_found",
        exit::AUTH => "unauthenticated",
        exit::CHECKSUM => "checksum_mismatch",
        _ => "error",
    }
    .to_string()
}

/// A server URL as typed: no trailing `/`, and `/api/v1` tolerated (the CLI adds it).
pub fn normalize_api_url(s: &str) -> Result<String, String> {
    let mut url = s.trim().trim_end_matches('/');
    if let Some(base) = url.strip_suffix("/api/v1") {
        url = base.trim_end_matches('/');
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url.to_string()),
        _ => Err(format!("`{s}` is not an http:// or https:// URL")),
    }
}

#[derive(Parser)]
#[command(
    name = "nexus",
    version,
    about = "Nexus Deep Storage from the command line"
)]
struct Cli {
    /// Server URL [default: the one `nexus login` stored, else http://127.0.0.1:3000]
    #[arg(long, global = true, env = "NEXUS_API_URL", value_name = "URL")]
    api_url: Option<String>,

    /// API key [default: the one `nexus login` stored]
    #[arg(
        long,
        global = true,
        env = "NEXUS_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,

    /// Print one JSON document on stdout (for scripts)
    #[arg(long, global = true)]
    json: bool,

    /// No progress bars or informational lines
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an API key with the server and store it, with the URL, for later commands
    Login {
        /// The key (nxs_live_…); read from stdin when absent
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },

    /// List the workspace's vaults
    Vaults,

    /// List a folder of a vault (every page)
    Ls {
        /// Show size, storage class, state and modification time
        #[arg(short, long)]
        long: bool,

        /// Vault name or id, then the folder path
        #[arg(value_name = "VAULT[/PATH]")]
        target: String,
    },

    /// Upload files and folders (recursively); an interrupted upload resumes when run again
    Upload {
        /// Files and folders to upload (a folder keeps its name, as with `cp -r`)
        #[arg(required = true, value_name = "PATH")]
        sources: Vec<PathBuf>,

        /// Destination vault (name or id) and folder
        #[arg(value_name = "VAULT[/PATH]")]
        dest: String,

        /// Files uploaded at once
        #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
        jobs: u16,

        /// Parts in flight per file
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        parts: u16,

        /// Replace a file with the same content or name in the folder (default: report
        /// same-content files as duplicates and skip them)
        #[arg(long)]
        replace: bool,

        /// Move each uploaded file to this storage class (e.g. DEEP_ARCHIVE)
        #[arg(long, value_name = "CLASS")]
        class: Option<String>,
    },

    /// Download a file, verifying its SHA-256
    Download {
        /// Folder to download into, or the file to write
        #[arg(short, long, value_name = "DIR|FILE")]
        out: Option<PathBuf>,

        /// The file: VAULT/PATH/FILE, or its id
        #[arg(value_name = "VAULT/PATH/FILE")]
        file: String,
    },

    /// Change files' storage class
    Class {
        /// STANDARD, STANDARD_IA, GLACIER_IR, GLACIER or DEEP_ARCHIVE
        #[arg(value_name = "STORAGE_CLASS")]
        storage_class: String,

        /// Files: VAULT/PATH/FILE, or ids
        #[arg(required = true, value_name = "VAULT/PATH/FILE")]
        files: Vec<String>,
    },

    /// Restore archived files for a number of days (shows the cost and asks first)
    Restore {
        /// Restore tier [default: asked; with --yes, Standard]
        #[arg(long, value_enum, ignore_case = true)]
        tier: Option<Tier>,

        /// Days the restored copies stay readable
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=365))]
        days: u16,

        /// Do not ask: restore at once
        #[arg(short, long)]
        yes: bool,

        /// Files: VAULT/PATH/FILE, or ids
        #[arg(required = true, value_name = "VAULT/PATH/FILE")]
        files: Vec<String>,
    },

    /// List restore requests
    Restores,

    /// Storage by class and the cost of the month so far
    Usage,

    /// List API keys, or create or revoke one
    Keys {
        #[command(subcommand)]
        action: Option<KeysCommand>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; its secret is printed once
    Create {
        /// A name to recognize the key by
        #[arg(long)]
        name: String,

        /// A scope (files:read, files:write, …); repeat or separate with commas
        #[arg(
            long = "scope",
            value_name = "SCOPE",
            required = true,
            value_delimiter = ','
        )]
        scopes: Vec<String>,

        /// Limit the key to one vault (name or id)
        #[arg(long, value_name = "VAULT")]
        vault: Option<String>,

        /// Expire the key after this many days
        #[arg(long, value_name = "DAYS")]
        expires_days: Option<u32>,
    },

    /// Revoke a key at once
    Revoke {
        /// The key's id (`nexus keys` lists them)
        id: String,
    },
}

fn main() -> ExitCode {
    // Bad usage exits here with clap's message and code 2.
    let cli = Cli::parse();
    let ui = Ui {
        json: cli.json,
        quiet: cli.quiet,
    };
    // reqwest is built without a TLS crypto provider ("-no-provider"): install aws-lc-rs,
    // which the workspace compiles already. An error only means one was installed before.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nexus: cannot start: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = run(cli, ui) => Some(result),
            _ = interrupted() => None,
        }
    });
    // A hashing thread may still be reading a large file: do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            report_error(&e, ui);
            ExitCode::from(exit_code_of(&e))
        }
        None => {
            eprintln!("\nnexus: interrupted (an upload resumes when the same command runs again)");
            ExitCode::from(exit::INTERRUPTED)
        }
    }
}

/// Ctrl-C. Where signals cannot be listened to, never.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn report_error(e: &anyhow::Error, ui: Ui) {
    eprintln!("nexus: {e:#}");
    let reported = e
        .chain()
        .find_map(|c| c.downcast_ref::<Fail>())
        .is_some_and(|f| f.reported);
    if ui.json && !reported {
        let field = client::api_error(e).and_then(|a| a.field.clone());
        let _ = output::print_json(&json!({
            "error": {
                "code": error_code_of(e),
                "message": format!("{e:#}"),
                "field": field,
                "exit_code": exit_code_of(e),
            }
        }));
    }
}

async fn run(cli: Cli, ui: Ui) -> Result<()> {
    let stored = config::Config::load();
    let stored_ref = stored.as_ref().ok();
    let api_url = cli
        .api_url
        .clone()
        .or_else(|| stored_ref.and_then(|c| c.api_url.clone()))
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let api_url = normalize_api_url(&api_url).map_err(Fail::usage)?;
    let key = cli
        .api_key
        .clone()
        .or_else(|| stored_ref.and_then(|c| c.api_key.clone()));
    match cli.command {
        // A broken config must not keep `login` from writing a good one.
        Command::Login { key: given } => {
            commands::login(ui, &api_url, given.or(key), stored.unwrap_or_default()).await
        }
        command => {
            let Some(key) = key.filter(|k| !k.trim().is_empty()) else {
                stored?;
                return Err(Fail::auth(
                    "no API key: run `nexus login`, or set NEXUS_API_KEY",
                ));
            };
            let client = Client::new(&api_url, key.trim())?;
            dispatch(&client, ui, command).await
        }
    }
}

async fn dispatch(client: &Client, ui: Ui, command: Command) -> Result<()> {
    match command {
        Command::Login { .. } => unreachable!("login runs before a client exists"),
        Command::Vaults => commands::vaults(client, ui).await,
        Command::Ls { long, target } => commands::ls(client, ui, &target, long).await,
        Command::Upload {
            sources,
            dest,
            jobs,
            parts,
            replace,
            class,
        } => {
            let options = upload::Options {
                sources,
                dest,
                jobs: jobs.into(),
                parts: parts.into(),
                replace,
                class,
            };
            upload::run(client.clone(), ui, options).await
        }
        Command::Download { out, file } => download::run(client, ui, &file, out).await,
        Command::Class {
            storage_class,
            files,
        } => commands::set_class(client, ui, &storage_class, &files).await,
        Command::Restore {
            tier,
            days,
            yes,
            files,
        } => commands::restore(client, ui, &files, tier, days, yes).await,
        Command::Restores => commands::restores(client, ui).await,
        Command::Usage => commands::usage(client, ui).await,
        Command::Keys { action } => match action {
            None => commands::keys(client, ui).await,
            Some(KeysCommand::Create {
                name,
                scopes,
                vault,
                expires_days,
            }) => {
                commands::create_key(client, ui, &name, &scopes, vault.as_deref(), expires_days)
                    .await
            }
            Some(KeysCommand::Revoke { id }) => commands::revoke_key(client, ui, &id).await,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn upload_takes_sources_then_destination() {
        let cli = Cli::try_parse_from(["nexus", "upload", "a", "b", "v/x", "--jobs", "3"]).unwrap();
        match cli.command {
            Command::Upload {
                sources,
                dest,
                jobs,
                ..
            } => {
                assert_eq!(sources, vec![PathBuf::from("a"), PathBuf::from("b")]);
                assert_eq!(dest, "v/x");
                assert_eq!(jobs, 3);
            }
            _ => panic!("not an upload"),
        }
        assert!(Cli::try_parse_from(["nexus", "upload", "only-one"]).is_err());
    }

    #[test]
    fn tiers_parse_in_any_case() {
        let cli = Cli::try_parse_from(["nexus", "restore", "--tier", "bulk", "v/a"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Restore {
                tier: Some(Tier::Bulk),
                ..
            }
        ));
    }

    #[test]
    fn api_urls_are_normalized() {
        assert_eq!(
            normalize_api_url("http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            normalize_api_url("https://x.example/api/v1").unwrap(),
            "https://x.example"
        );
        assert!(normalize_api_url("x.example").is_err());
        assert!(normalize_api_url("https://").is_err());
    }

    #[test]
    fn exit_codes_follow_errors() {
        let e = anyhow::Error::new(client::ApiError::from_body(403, b"")).context("listing");
        assert_eq!(exit_code_of(&e), exit::AUTH);
        assert_eq!(exit_code_of(&Fail::checksum("bad")), exit::CHECKSUM);
        assert_eq!(exit_code_of(&anyhow::anyhow!("io")), exit::ERROR);
    }
}

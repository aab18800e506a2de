//! The commands other than upload and download: login, listings, storage class changes,
//! restores, usage and keys. Each prints for people, or with `--json` prints the server's
//! answer (or a document built from several answers) as one JSON value.
use crate::client::{self, Client};
use crate::config::Config;
use crate::output::{Table, Ui, human_bytes, money, opt_time, print_json, say, text};
use crate::{Fail, paths};
use anyhow::{Context, Result};
use clap::ValueEnum;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Write};

/// Restore tiers, as S3 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Tier {
    #[value(name = "Expedited")]
    Expedited,
    #[value(name = "Standard")]
    Standard,
    #[value(name = "Bulk")]
    Bulk,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Expedited => "Expedited",
            Tier::Standard => "Standard",
            Tier::Bulk => "Bulk",
        }
    }

    /// A tier as answered at the prompt: the name or its first letter, any case.
    pub fn from_answer(s: &str) -> Option<Tier> {
        match s.trim().to_ascii_lowercase().as_str() {
            "e" | "expedited" => Some(Tier::Expedited),
            "s" | "standard" => Some(Tier::Standard),
            "b" | "bulk" => Some(Tier::Bulk),
            _ => None,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn size_of(v: &Value) -> String {
    v.as_i64()
        .map(human_bytes)
        .unwrap_or_else(|| "-".to_string())
}

fn time_of(v: &Value) -> String {
    opt_time(v.as_i64())
}

/// Reads one line from the terminal (or stdin), after a prompt on stderr. Blocking reads
/// run off the async threads.
async fn prompt_line(prompt: String) -> Result<String> {
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        if !prompt.is_empty() {
            let mut err = std::io::stderr().lock();
            write!(err, "{prompt}")?;
            err.flush()?;
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line)
    })
    .await
    .context("reading stdin")?
    .context("reading stdin")
}

// ---------------------------------------------------------------------------------------

/// `nexus login`: checks the key with `GET /me` before storing it, so a typo is found now
/// and not at the next upload.
pub async fn login(ui: Ui, api_url: &str, key: Option<String>, mut config: Config) -> Result<()> {
    let key = match key {
        Some(k) => k,
        None => {
            // Visible as typed (no terminal-control dependency); piping it in avoids that:
            // `nexus login < keyfile`.
            let prompt = if std::io::stdin().is_terminal() {
                "API key: "
            } else {
                ""
            };
            prompt_line(prompt.to_string()).await?
        }
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(Fail::usage("no API key given (--key, or on stdin)"));
    }
    let client = Client::new(api_url, &key)?;
    let me: Value = client.get("/me", &[]).await.context("checking the key")?;
    config.api_url = Some(api_url.to_string());
    config.api_key = Some(key);
    let path = config.save()?;
    if ui.json {
        return print_json(&json!({
            "api_url": client.api_url(),
            "config_path": path.display().to_string(),
            "me": me,
        }));
    }
    if !ui.quiet {
        let k = &me["key"];
        let scopes = k["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        say(format!(
            "Logged in to {} with key {} ({}…); scopes: {}",
            client.api_url(),
            text(&k["name"]),
            text(&k["prefix"]),
            if scopes.is_empty() {
                "-"
            } else {
                scopes.as_str()
            }
        ));
        say(format!("Saved to {}", path.display()));
    }
    Ok(())
}

pub async fn vaults(client: &Client, ui: Ui) -> Result<()> {
    let list = client.vaults().await?;
    if ui.json {
        return print_json(&json!({ "vaults": list }));
    }
    let mut t = Table::new(&["NAME", "ID", "FILES", "SIZE", "DEFAULT CLASS"])
        .right(2)
        .right(3);
    for v in &list {
        t.row(vec![
            v.name.clone(),
            v.id.clone(),
            v.file_count.to_string(),
            human_bytes(v.total_bytes),
            v.default_storage_class.clone(),
        ]);
    }
    if t.is_empty() {
        if !ui.quiet {
            say("No vaults.");
        }
    } else {
        t.print();
    }
    Ok(())
}

/// `nexus ls`: every page of a folder. A path naming a file lists that file, as `ls` does.
pub async fn ls(client: &Client, ui: Ui, target: &str, long: bool) -> Result<()> {
    let (vault, path) = paths::resolve(client, target, false).await?;
    let listing = match paths::list_folder(client, &vault.id, &path, None).await {
        Ok(listing) => listing,
        Err(e) if client::status_of(&e) == Some(404) && !path.is_empty() => {
            let at = paths::RemotePath {
                vault: vault.name.clone(),
                path: path.clone(),
            };
            let found = match at.file_parts() {
                Some((folder, name)) => {
                    paths::find_in_folder(client, &vault.id, &folder, &name).await?
                }
                None => None,
            };
            match found {
                Some(f) => paths::Listing {
                    folders: Vec::new(),
                    files: vec![f],
                },
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    if ui.json {
        return print_json(&json!({
            "vault": {"id": vault.id, "name": vault.name},
            "path": path,
            "folders": listing.folders,
            "files": listing.files,
        }));
    }
    if !long {
        for folder in &listing.folders {
            say(format!("{}/", folder.name));
        }
        for file in &listing.files {
            say(&file.name);
        }
        return Ok(());
    }
    let mut t = Table::new(&["SIZE", "CLASS", "STATE", "MODIFIED", "NAME"]).right(0);
    for folder in &listing.folders {
        t.row(vec![
            "-".into(),
            String::new(),
            String::new(),
            opt_time((folder.created_at > 0).then_some(folder.created_at)),
            format!("{}/", folder.name),
        ]);
    }
    for file in &listing.files {
        let state = match file.restored_until {
            Some(until) if file.state == "restored" => {
                format!("restored until {}", opt_time(Some(until)))
            }
            _ => file.state.clone(),
        };
        t.row(vec![
            human_bytes(file.size),
            file.storage_class.clone(),
            state,
            opt_time((file.updated_at > 0).then_some(file.updated_at)),
            file.name.clone(),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
    Ok(())
}

/// `nexus class`: a class change is immediate for instant-access classes and a background
/// job (202) for archives; both are reported as the server says.
pub async fn set_class(client: &Client, ui: Ui, class: &str, files: &[String]) -> Result<()> {
    let class = paths::storage_class(class).map_err(Fail::usage)?;
    let mut results = Vec::new();
    for f in files {
        let details = paths::resolve_file(client, f).await?;
        let file = details.file;
        let answer: Value = client
            .post(
                &format!("/files/{}/class", file.id),
                &json!({"storage_class": class}),
                None,
            )
            .await
            .with_context(|| format!("changing the class of {}", file.name))?;
        if ui.chatty() {
            match answer.get("job_id").and_then(Value::as_str) {
                Some(job) => say(format!("{}: moving to {class} (job {job})", file.name)),
                None => say(format!("{}: now {class}", file.name)),
            }
        }
        results.push(json!({"file_id": file.id, "name": file.name, "storage_class": class, "result": answer}));
    }
    if ui.json {
        print_json(&json!({ "files": results }))?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Estimate {
    #[serde(default)]
    files: i64,
    #[serde(default)]
    to_restore: i64,
    #[serde(default)]
    bytes: i64,
    #[serde(default)]
    restored: i64,
    #[serde(default)]
    in_progress: i64,
    #[serde(default)]
    not_archived: i64,
    #[serde(default)]
    options: Vec<TierOption>,
}

#[derive(Debug, Deserialize)]
struct TierOption {
    tier: String,
    /// Why the tier cannot be used ("" or absent when it can).
    #[serde(default)]
    unavailable: Option<String>,
    #[serde(default)]
    cost_micros: i64,
    #[serde(default)]
    typical_ready_at: Option<i64>,
    #[serde(default)]
    ready_by: Option<i64>,
}

impl TierOption {
    fn available(&self) -> bool {
        self.unavailable.as_deref().is_none_or(str::is_empty)
    }
}

fn print_estimate(est: &Estimate, days: u16) {
    say(format!(
        "{} file{}: {} to restore ({}) for {days} day{}; {} restored already, {} being restored, {} not archived.",
        est.files,
        if est.files == 1 { "" } else { "s" },
        est.to_restore,
        human_bytes(est.bytes),
        if days == 1 { "" } else { "s" },
        est.restored,
        est.in_progress,
        est.not_archived,
    ));
    let mut t = Table::new(&["TIER", "COST", "TYPICALLY READY", "READY BY", "NOTE"]).right(1);
    for o in &est.options {
        t.row(vec![
            o.tier.clone(),
            money(o.cost_micros),
            opt_time(o.typical_ready_at),
            opt_time(o.ready_by),
            o.unavailable.clone().unwrap_or_default(),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
}

/// Asks for a tier (or to confirm the given one). None: the person declined.
async fn ask_tier(est: &Estimate, given: Option<Tier>) -> Result<Option<Tier>> {
    match given {
        Some(tier) => {
            let cost = est
                .options
                .iter()
                .find(|o| o.tier.eq_ignore_ascii_case(tier.as_str()))
                .map(|o| money(o.cost_micros))
                .unwrap_or_else(|| "an unknown cost".to_string());
            let answer =
                prompt_line(format!("Restore with {} for {cost}? [y/N] ", tier.as_str())).await?;
            let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
            Ok(yes.then_some(tier))
        }
        None => {
            let answer =
                prompt_line("Tier? [expedited/standard/bulk, empty to cancel] ".to_string())
                    .await?;
            if answer.trim().is_empty() {
                return Ok(None);
            }
            match Tier::from_answer(&answer) {
                Some(t) => Ok(Some(t)),
                None => Err(Fail::usage(format!("unknown tier `{}`", answer.trim()))),
            }
        }
    }
}

/// `nexus restore`: estimate, show every tier's price and deadline, confirm, request.
/// Restores cost money, so without `--yes` nothing is requested unless a person answers on
/// the terminal; a script without `--yes` gets exit code 2 and no restore.
pub async fn restore(
    client: &Client,
    ui: Ui,
    files: &[String],
    tier: Option<Tier>,
    days: u16,
    yes: bool,
) -> Result<()> {
    let mut ids: Vec<String> = Vec::new();
    for f in files {
        let id = paths::resolve_file(client, f).await?.file.id;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let raw: Value = client
        .post(
            "/restores/estimate",
            &json!({"file_ids": ids, "days": days}),
            None,
        )
        .await?;
    let est: Estimate = serde_json::from_value(raw.clone()).context("reading the estimate")?;
    if !ui.json {
        print_estimate(&est, days);
    }
    if est.to_restore == 0 {
        if ui.json {
            print_json(&json!({"estimate": raw, "restore": null}))?;
        } else {
            say("Nothing to restore.");
        }
        return Ok(());
    }

    let chosen = if yes {
        // S3's own default tier.
        tier.unwrap_or(Tier::Standard)
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(Fail::usage(
                "a restore costs money: confirm with --yes (and choose with --tier) when not on a terminal",
            ));
        }
        match ask_tier(&est, tier).await? {
            Some(t) => t,
            None => {
                if ui.json {
                    print_json(&json!({"estimate": raw, "restore": null, "cancelled": true}))?;
                } else {
                    say("Nothing restored.");
                }
                return Ok(());
            }
        }
    };
    if let Some(o) = est
        .options
        .iter()
        .find(|o| o.tier.eq_ignore_ascii_case(chosen.as_str()))
        && !o.available()
    {
        return Err(Fail::usage(format!(
            "{} is not available for these files: {}",
            chosen.as_str(),
            o.unavailable.as_deref().unwrap_or_default()
        )));
    }

    // Keyed: a retry after a lost answer must not order (and bill) a second restore.
    let idempotency_key = format!("nexus-cli-restore-{}", client::random_token());
    let created: Value = client
        .post(
            "/restores",
            &json!({"file_ids": ids, "tier": chosen.as_str(), "days": days}),
            Some(idempotency_key.as_str()),
        )
        .await?;
    if ui.json {
        print_json(&json!({"estimate": raw, "tier": chosen.as_str(), "restore": created}))?;
    } else if !ui.quiet {
        let id = created
            .get("request_id")
            .and_then(Value::as_str)
            .or_else(|| created.get("job_id").and_then(Value::as_str))
            .unwrap_or("-");
        say(format!(
            "Restore requested: {} tier, {days} day{} ({id}). `nexus restores` shows its progress.",
            chosen.as_str(),
            if days == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

pub async fn restores(client: &Client, ui: Ui) -> Result<()> {
    let v: Value = client.get("/restores", &[]).await?;
    if ui.json {
        return print_json(&v);
    }
    let list = v["restores"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        if !ui.quiet {
            say("No restores.");
        }
        return Ok(());
    }
    let mut t = Table::new(&[
        "ID", "VAULT", "LABEL", "TIER", "FILES", "SIZE", "STATE", "READY", "EXPIRES",
    ])
    .right(4)
    .right(5);
    for r in &list {
        let ready = match r["ready_at"].as_i64() {
            Some(ms) => opt_time(Some(ms)),
            None => match r["estimate_ready_at"].as_i64() {
                Some(ms) => format!("~{}", opt_time(Some(ms))),
                None => "-".to_string(),
            },
        };
        t.row(vec![
            text(&r["id"]),
            text(&r["vault_name"]),
            text(&r["label"]),
            text(&r["tier"]),
            text(&r["files"]),
            size_of(&r["bytes"]),
            text(&r["state"]),
            ready,
            time_of(&r["expires_at"]),
        ]);
    }
    t.print();
    Ok(())
}

pub async fn usage(client: &Client, ui: Ui) -> Result<()> {
    let v: Value = client.get("/usage", &[]).await?;
    if ui.json {
        return print_json(&v);
    }
    let plan = ["name", "label", "id"]
        .iter()
        .find_map(|k| v["plan"][k].as_str())
        .map(|p| format!(" ({p} plan)"))
        .unwrap_or_default();
    say(format!(
        "{}{plan}: {} stored",
        text(&v["workspace_name"]),
        size_of(&v["stored_bytes"])
    ));
    let mut t = Table::new(&["CLASS", "SIZE", "COST"]).right(1).right(2);
    for c in v["classes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        t.row(vec![
            text(&c["storage_class"]),
            size_of(&c["bytes"]),
            c["cost_micros"]
                .as_i64()
                .map(money)
                .unwrap_or_else(|| "-".to_string()),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
    let amount = |key: &str| {
        v[key]
            .as_i64()
            .map(money)
            .unwrap_or_else(|| "-".to_string())
    };
    say(format!("Month so far: {}", amount("month_so_far_micros")));
    say(format!(
        "Projected for the month: {}",
        amount("projected_micros")
    ));
    Ok(())
}

pub async fn keys(client: &Client, ui: Ui) -> Result<()> {
    let v: Value = client.get("/keys", &[]).await?;
    if ui.json {
        return print_json(&v);
    }
    let list = v["keys"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        if !ui.quiet {
            say("No keys.");
        }
        return Ok(());
    }
    let now = now_ms();
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "PREFIX",
        "SCOPES",
        "VAULT",
        "EXPIRES",
        "LAST USED",
        "STATUS",
    ]);
    for k in &list {
        let scopes = k["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let status = if !k["revoked_at"].is_null() {
            "revoked"
        } else if k["expires_at"].as_i64().is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        t.row(vec![
            text(&k["id"]),
            text(&k["name"]),
            text(&k["prefix"]),
            scopes,
            text(&k["vault_id"]),
            time_of(&k["expires_at"]),
            time_of(&k["last_used_at"]),
            status.to_string(),
        ]);
    }
    t.print();
    Ok(())
}

/// `nexus keys create`: the secret goes to stdout alone (so it can be piped into a secret
/// store), the explanation to stderr; the server shows it this once only.
pub async fn create_key(
    client: &Client,
    ui: Ui,
    name: &str,
    scopes: &[String],
    vault: Option<&str>,
    expires_days: Option<u32>,
) -> Result<()> {
    let mut body = json!({"name": name, "scopes": scopes});
    if let Some(v) = vault {
        body["vault_id"] = json!(paths::resolve_vault(client, v).await?.id);
    }
    if let Some(days) = expires_days {
        body["expires_at"] = json!(now_ms().saturating_add(i64::from(days) * 86_400_000));
    }
    let idempotency_key = format!("nexus-cli-key-{}", client::random_token());
    let created: Value = client
        .post("/keys", &body, Some(idempotency_key.as_str()))
        .await?;
    if ui.json {
        return print_json(&created);
    }
    if !ui.quiet {
        eprintln!(
            "Created key {} ({}). The secret below is shown once: store it now.",
            name,
            text(&created["key"]["id"])
        );
    }
    say(text(&created["secret"]));
    Ok(())
}

pub async fn revoke_key(client: &Client, ui: Ui, id: &str) -> Result<()> {
    client.delete(&format!("/keys/{id}")).await?;
    if ui.json {
        print_json(&json!({ "revoked": id }))?;
    } else if !ui.quiet {
        say(format!("Revoked key {id}."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_answers() {
        assert_eq!(Tier::from_answer(" B\n"), Some(Tier::Bulk));
        assert_eq!(Tier::from_answer("expedited"), Some(Tier::Expedited));
        assert_eq!(Tier::from_answer("Standard"), Some(Tier::Standard));
        assert_eq!(Tier::from_answer("fast"), None);
    }

    #[test]
    fn unavailable_tiers() {
        let o = |u: Option<&str>| TierOption {
            tier: "Expedited".into(),
            unavailable: u.map(str::to_owned),
            cost_micros: 0,
            typical_ready_at: None,
            ready_by: None,
        };
        assert!(o(None).available());
        assert!(o(Some("")).available());
        assert!(!o(Some("Not for DEEP_ARCHIVE")).available());
    }
}

//! `/status`: each component's state now, and the incident history.
use super::api::service_status;
use super::{Incident, StatusReport};
use crate::components::ErrorNote;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

fn label(state: &str) -> &'static str {
    match state {
        "ok" => "Operational",
        "degraded" => "Degraded",
        "down" => "Down",
        "off" => "Not set up",
        _ => "Unknown",
    }
}

fn badge(state: &str) -> &'static str {
    match state {
        "ok" => "badge ok",
        "degraded" => "badge warn",
        "down" => "badge danger",
        _ => "badge",
    }
}

fn name(component: &str) -> &'static str {
    match component {
        "database" => "Database",
        "storage" => "Object storage",
        "jobs" => "Background jobs",
        "mail" => "Mail",
        "stripe" => "Payments (Stripe)",
        _ => "Other",
    }
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| service_status());
    view! {
        <Title text="Status — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Service status"</h1>
            <Transition fallback=|| view! { <p class="muted" role="status">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(r) => view! { <Report r=r /> }.into_any(),
                    }
                })}
            </Transition>
            <p class="muted small">"The same, as JSON: " <a href="/status.json">"/status.json"</a></p>
        </section>
    }
}

#[component]
fn Report(r: StatusReport) -> impl IntoView {
    let summary = match r.overall.as_str() {
        "ok" => "Everything is working.",
        "degraded" => "Some parts are slow or behind; your files are safe.",
        _ => "Some parts are down; your files are safe, and we are on it.",
    };
    view! {
        <p class=format!("alert {}", if r.overall == "ok" { "success" } else { "error" }) role="status"
            data-testid="status-overall">{summary}</p>
        <p class="muted small">{format!("Checked {}", format::time_ms(r.checked_at))}</p>
        <div class="table-wrap"><table class="files data status">
            <thead><tr><th scope="col">"Part"</th><th scope="col">"State"</th><th scope="col">"Detail"</th></tr></thead>
            <tbody>
                {r.components.into_iter().map(|c| view! {
                    <tr data-testid="status-row">
                        <th scope="row">{name(&c.name)}</th>
                        <td><span class=badge(&c.state)>{label(&c.state)}</span></td>
                        <td>{c.detail}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
        <h2>"Incidents"</h2>
        {if r.incidents.is_empty() {
            view! { <p class="muted">"None recorded."</p> }.into_any()
        } else {
            view! { <ul class="incidents">{r.incidents.into_iter().map(|i| view! { <IncidentRow i=i /> }).collect_view()}</ul> }.into_any()
        }}
    }
}

#[component]
fn IncidentRow(i: Incident) -> impl IntoView {
    let when = match i.ended_at {
        None => format!("since {} (ongoing)", format::time_ms(i.started_at)),
        Some(end) => format!(
            "{} to {}",
            format::time_ms(i.started_at),
            format::time_ms(end)
        ),
    };
    view! {
        <li data-testid="incident">
            <span class=badge(&i.state)>{label(&i.state)}</span>" "
            <strong>{name(&i.component)}</strong>" — "{when}". "{i.detail}
        </li>
    }
}

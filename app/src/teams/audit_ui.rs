//! The audit page: the current workspace's log with filters (action, person, days), more
//! rows on demand, and the same filtered rows as CSV.
use super::api::audit_log;
use crate::audit::{AuditEntry, AuditFilter, PAGE_ROWS};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use leptos::prelude::*;
use leptos_meta::Title;

/// The actions the filter offers, by family.
const FAMILIES: [(&str, &str); 10] = [
    ("", "Everything"),
    ("sign_in", "Sign-ins"),
    ("account.", "Account (password, email)"),
    ("member.", "Members and invitations"),
    ("key.", "API keys and webhooks"),
    ("vault.", "Vaults and settings"),
    ("file.", "Files and folders"),
    ("restore.", "Restores"),
    ("share.", "Share links"),
    ("billing.", "Billing"),
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("0"));
    let applied = RwSignal::new(AuditFilter::default());
    let more = RwSignal::new(Vec::<AuditEntry>::new());
    let failure = RwSignal::new(None::<AppError>);
    let filter_now = move || {
        let d: i64 = days.get_untracked().trim().parse().unwrap_or(0);
        AuditFilter {
            action: action.get_untracked(),
            actor: actor.get_untracked().trim().to_string(),
            since: if d > 0 {
                format::now_ms() - d * 86_400_000
            } else {
                0
            },
            until: 0,
        }
    };
    let rows = Resource::new(move || applied.get(), |f| audit_log(f, 0));
    let csv_href = move || {
        let f = applied.get();
        format!(
            "/audit.csv?action={}&actor={}&since={}",
            urlencoding::encode(&f.action),
            urlencoding::encode(&f.actor),
            f.since
        )
    };
    let load_more = move |last: i64| {
        let f = applied.get_untracked();
        leptos::task::spawn_local(async move {
            match audit_log(f, last).await {
                Ok(r) => more.update(|m| m.extend(r)),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <Title text="Audit log — Nexus Deep Storage" />
        <section class="panel">
            <div class="heading-row">
                <h1>"Audit log"</h1>
                <a class="button secondary small" href=csv_href rel="external" download="audit.csv">"Export CSV"</a>
            </div>
            <p class="muted">"Every change in this workspace: who, what, when and from where. Rows are never edited."</p>
            <form class="audit-filter" aria-label="Filter the log" on:submit=move |ev| {
                ev.prevent_default();
                more.set(vec![]);
                applied.set(filter_now());
            }>
                <label class="field">"What"
                    <select on:change=move |ev| action.set(event_target_value(&ev))>
                        {FAMILIES.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">"Who (email contains)"
                    <input type="text" maxlength="254" prop:value=move || actor.get()
                        on:input=move |ev| actor.set(event_target_value(&ev)) />
                </label>
                <label class="field">"Last days (0: all)"
                    <input type="number" min="0" max="3650" class="days" prop:value=move || days.get()
                        on:input=move |ev| days.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Show"</button>
            </form>
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading the log…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(first) if first.is_empty() => view! { <p class="empty">"Nothing recorded that matches."</p> }.into_any(),
                        Ok(first) => {
                            let full = first.len() as i64 >= PAGE_ROWS;
                            view! {
                                <div class="table-wrap"><table class="files data audit">
                                    <thead><tr>
                                        <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                                        <th scope="col">"Target"</th><th scope="col">"Detail"</th><th scope="col">"Address"</th>
                                        <th scope="col">"Request"</th>
                                    </tr></thead>
                                    <tbody>
                                        {first.iter().cloned().map(|r| view! { <Row r=r /> }).collect_view()}
                                        {move || more.get().into_iter().map(|r| view! { <Row r=r /> }).collect_view()}
                                    </tbody>
                                </table></div>
                                {full.then(|| {
                                    let first_last = first.last().map(|r| r.at).unwrap_or(0);
                                    view! {
                                        <button type="button" class="secondary" on:click=move |_| {
                                            let last = more.with_untracked(|m| m.last().map(|r| r.at)).unwrap_or(first_last);
                                            load_more(last)
                                        }>"Older rows"</button>
                                    }
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Row(r: AuditEntry) -> impl IntoView {
    let who = match &r.key_id {
        Some(k) => format!("{} (key {})", r.actor_email, &k[..k.len().min(8)]),
        None => r.actor_email.clone(),
    };
    view! {
        <tr data-testid="audit-row">
            <td>{format::time_ms(r.at)}</td>
            <td>{who}</td>
            <td><code>{r.action}</code></td>
            <td class="mono">{r.target}</td>
            <td>{r.detail}</td>
            <td class="mono">{r.ip}</td>
            <td class="mono small">{r.request_id}</td>
        </tr>
    }
}

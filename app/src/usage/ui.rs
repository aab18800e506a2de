//! The usage page (stored per class, this month so far and projected, 12 months as a
//! server-rendered SVG chart with a table beside it, retrievals, top vaults and folders with
//! what Deep Archive would save, CSV export), the header's quota meter, and the plans page.
use super::api::get_usage_summary;
use super::{MonthUsage, Quota};
use crate::components::ErrorNote;
use crate::files::class_label;
use crate::format;
use crate::pricing::dollars;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The header's meter, from 80 % of the plan's storage.
#[component]
pub fn QuotaMeter(quota: Quota) -> impl IntoView {
    let pct = quota.percent();
    let failed = quota.payment_failed.then(|| {
        view! { <A href="/billing" attr:class="payment-alert" attr:data-testid="payment-banner">"Payment failed: update your card"</A> }
    });
    let meter = (pct >= 80).then(|| {
        view! {
            <A href="/usage" attr:class={if pct >= 100 { "quota full" } else { "quota" }} attr:data-testid="quota-meter">
                <meter min="0" max="100" low="80" high="95" optimum="0" value=pct.min(100)
                    aria-label=format!("Storage used of the {} plan", quota.plan_name)></meter>
                {format!(" {pct} % of {} GB", quota.included_bytes >> 30)}
            </A>
        }
    });
    view! { {failed} {meter} }
}

/// "2026-11" as people read it: "Nov 2026".
fn month_words(m: &str) -> String {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match (m.get(..4), m.get(5..).and_then(|x| x.parse::<usize>().ok())) {
        (Some(y), Some(n)) if (1..=12).contains(&n) => format!("{} {y}", NAMES[n - 1]),
        _ => m.to_string(),
    }
}

/// Bars of each month's total cost, labelled; what they show is also in the table beside.
fn chart(months: &[MonthUsage]) -> impl IntoView + use<> {
    let (w, h, pad) = (640.0f64, 200.0f64, 28.0f64);
    let total = |m: &MonthUsage| m.storage_micros + m.early_fee_micros + m.retrieval_micros;
    let max = months.iter().map(total).max().unwrap_or(0).max(1) as f64;
    let n = months.len().max(1) as f64;
    let slot = (w - pad) / n;
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let v = total(m) as f64;
            let bh = (v / max) * (h - 2.0 * pad);
            let x = pad + i as f64 * slot + slot * 0.15;
            let y = h - pad - bh;
            let label = month_words(&m.month)[..3].to_string();
            view! {
                <g>
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot * 0.7) height=format!("{bh:.1}") class="bar">
                        <title>{format!("{}: {}", month_words(&m.month), dollars(total(m)))}</title>
                    </rect>
                    <text x=format!("{:.1}", x + slot * 0.35) y=format!("{:.1}", h - pad + 16.0) text-anchor="middle" class="axis">{label}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="chart" role="img" aria-labelledby="chart-title">
            <title id="chart-title">"Cost per month, last 12 months (the table has the figures)"</title>
            <line x1=pad y1=h - pad x2=w y2=h - pad class="axis-line" />
            <text x="0" y="14" class="axis">{dollars(max as i64)}</text>
            {bars}
        </svg>
    }
}

#[component]
pub fn UsagePage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_usage_summary());
    view! {
        <Title text="Usage and cost — Nexus Deep Storage" />
        <section class="panel">
            <div class="heading-row">
                <h1>"Usage and cost"</h1>
                <a href="/usage.csv" class="button secondary small" download="usage.csv" rel="external">"Daily figures (CSV)"</a>
            </div>
            <Transition fallback=|| view! { <p class="muted" role="status">"Adding up…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Err(e) => view! { <ErrorNote error=e /> }.into_any(),
                        Ok(s) => {
                            let included = s.plan.included_bytes();
                            let pct = if included > 0 { s.stored_bytes as f64 * 100.0 / included as f64 } else { 0.0 };
                            view! {
                                <p>{format!("{} plan · {} used of {} GB ({:.0} %)", s.plan.name, format::bytes(s.stored_bytes), s.plan.included_gb, pct)}
                                    " · " <A href="/billing">"Plans and billing"</A></p>
                                <div class="stats">
                                    <div><span class="muted">"This month so far"</span><strong data-testid="month-so-far">{dollars(s.month_so_far_micros)}</strong></div>
                                    <div><span class="muted">"Projected for the month"</span><strong data-testid="projected">{dollars(s.projected_micros)}</strong></div>
                                </div>
                                <h2>"Stored now"</h2>
                                {if s.classes.is_empty() {
                                    view! { <p class="empty">"Nothing stored yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="table-wrap"><table class="files data">
                                            <thead><tr><th scope="col">"Class"</th><th scope="col" class="num">"Files"</th><th scope="col" class="num">"Size"</th><th scope="col" class="num">"Per month"</th></tr></thead>
                                            <tbody>
                                                {s.classes.iter().map(|c| view! {
                                                    <tr><th scope="row">{class_label(&c.class)}</th><td class="num">{c.objects}</td><td class="num">{format::bytes(c.bytes)}</td><td class="num">{dollars(c.monthly_micros)}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table></div>
                                    }.into_any()
                                }}
                                <h2>"Last 12 months"</h2>
                                <div class="chart-wrap">
                                    {chart(&s.months)}
                                    <div class="table-wrap"><table class="files data months">
                                        <caption class="visually-hidden">"Cost per month"</caption>
                                        <thead><tr><th scope="col">"Month"</th><th scope="col" class="num">"Storage"</th><th scope="col" class="num">"Early deletion"</th><th scope="col" class="num">"Retrievals"</th><th scope="col" class="num">"Average stored"</th></tr></thead>
                                        <tbody>
                                            {s.months.iter().rev().map(|m| view! {
                                                <tr><th scope="row">{month_words(&m.month)}</th><td class="num">{dollars(m.storage_micros)}</td><td class="num">{dollars(m.early_fee_micros)}</td><td class="num">{dollars(m.retrieval_micros)}</td><td class="num">{format::bytes(m.avg_bytes)}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table></div>
                                </div>
                                <h2>"Retrievals this month"</h2>
                                {if s.retrievals.is_empty() {
                                    view! { <p class="empty">"No restores this month."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="table-wrap"><table class="files data">
                                            <thead><tr><th scope="col">"When"</th><th scope="col">"Vault"</th><th scope="col">"From"</th><th scope="col">"Tier"</th><th scope="col" class="num">"Size"</th><th scope="col" class="num">"Cost"</th></tr></thead>
                                            <tbody>
                                                {s.retrievals.iter().map(|r| view! {
                                                    <tr><td>{format::time_ms(r.at)}</td><td>{r.vault_name.clone()}</td><td>{class_label(&r.storage_class)}</td><td>{r.tier.clone()}</td><td class="num">{format::bytes(r.bytes)}</td><td class="num">{dollars(r.cost_micros)}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table></div>
                                    }.into_any()
                                }}
                                <h2>"What costs the most"</h2>
                                <div class="table-wrap"><table class="files data">
                                    <caption class="visually-hidden">"Vaults and folders by monthly cost"</caption>
                                    <thead><tr><th scope="col">"Vault or folder"</th><th scope="col" class="num">"Size"</th><th scope="col" class="num">"Per month"</th><th scope="col" class="num">"In Deep Archive"</th><th scope="col" class="num">"Would save"</th></tr></thead>
                                    <tbody>
                                        {s.top_vaults.iter().chain(s.top_folders.iter().filter(|f| !f.path.is_empty())).map(|c| {
                                            let what = if c.path.is_empty() { format!("Vault “{}”", c.vault_name) } else { format!("{} / {}", c.vault_name, c.path) };
                                            let save = (c.monthly_micros - c.deep_archive_micros).max(0);
                                            view! {
                                                <tr><th scope="row"><A href=format!("/vaults/{}", c.vault_id)>{what}</A></th><td class="num">{format::bytes(c.bytes)}</td><td class="num">{dollars(c.monthly_micros)}</td><td class="num">{dollars(c.deep_archive_micros)}</td><td class="num">{if save > 0 { dollars(save) } else { "—".to_string() }}</td></tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

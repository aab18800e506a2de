//! The billing page: plan and status, trial days left, the next invoice as it stands, invoices,
//! and the way to Checkout (choose a plan) and the Billing Portal (card, invoices, cancel).
use super::api::{billing_portal, choose_plan, get_billing_info};
use crate::components::ErrorNote;
use crate::error::AppError;
use crate::format;
use crate::pricing::dollars;
use crate::usage::api::list_plans;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn go(url: &str) {
    let _ = window().location().set_href(url);
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let info = Resource::new(move || version.get(), |_| get_billing_info());
    let plans = Resource::new(|| (), |_| list_plans());
    let query = use_query_map();
    let back_from = move || {
        query.with(|q| {
            q.get("checkout")
                .or_else(|| q.get("changed").map(|_| "changed".into()))
                .or_else(|| q.get("portal").map(|_| "portal".into()))
        })
    };
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    // Back from Checkout, a plan change or the portal: Stripe's webhook brings the change within
    // seconds; look again.
    #[cfg(feature = "hydrate")]
    {
        let tries = StoredValue::new(0u32);
        if let Ok(h) = set_interval_with_handle(
            move || {
                let waiting = back_from()
                    .is_some_and(|b| b == "done" || b == "changed" || b == "portal")
                    && tries.get_value() < 15;
                if waiting {
                    tries.update_value(|t| *t += 1);
                    version.update(|v| *v += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || h.clear());
        }
    }
    let pick = move |plan: String| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match choose_plan(plan).await {
                Ok(url) => go(&url),
                Err(e) => {
                    failure.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    let manage = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match billing_portal().await {
                Ok(url) => go(&url),
                Err(e) => {
                    failure.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <Title text="Plans and billing — Nexus Deep Storage" />
        <section class="panel">
            <h1>"Plans and billing"</h1>
            {move || match back_from().as_deref() {
                Some("done") => Some(view! { <p class="notice" role="status">"Thank you. Your plan is being set up; this page shows it within seconds."</p> }.into_any()),
                Some("canceled") => Some(view! { <p class="notice" role="status">"Checkout was canceled; nothing changed."</p> }.into_any()),
                Some("portal") => Some(view! { <p class="notice" role="status">"Back from the billing portal: what you changed there shows here within seconds."</p> }.into_any()),
                Some(_) => Some(view! { <p class="notice" role="status">"Your plan is changing; the difference for this period is prorated."</p> }.into_any()),
                None => None,
            }}
            {move || failure.get().map(|e| view! { <ErrorNote error=e /> })}
            <Transition fallback=|| view! { <p class="muted" role="status">"Loading billing…"</p> }>
                {move || Suspend::new(async move {
                    let (info, plans) = (info.await, plans.await);
                    let (b, plans) = match (info, plans) {
                        (Err(e), _) | (_, Err(e)) => return view! { <ErrorNote error=e /> }.into_any(),
                        (Ok(b), Ok(p)) => (b, p),
                    };
                    let live = matches!(b.status.as_str(), "trialing" | "active" | "past_due");
                    let status = match b.status.as_str() {
                        "trialing" => format!("Trial: {} left", b.trial_end.map(|t| {
                            let days = ((t - format::now_ms()) as f64 / 86_400_000.0).ceil().max(0.0) as i64;
                            format::count(days, "day", "days")
                        }).unwrap_or_default()),
                        "active" => "Active".to_string(),
                        "past_due" => "Payment failed".to_string(),
                        "canceled" => "Canceled".to_string(),
                        _ => "No subscription".to_string(),
                    };
                    let current = b.plan.id.clone();
                    view! {
                        {(!b.enabled).then(|| view! {
                            <p class="notice" role="status" data-testid="billing-off">"Billing is not set up on this server: every account is on the plan it names, and nothing is charged."</p>
                        })}
                        {b.payment_failed_at.map(|_| view! {
                            <div class="alert error" role="alert" data-testid="payment-failed">
                                <p>{format!("A payment failed. Update your card{}; nothing stored is touched.",
                                    b.uploads_stop_at.map(|t| format!(" before {} or uploads pause", format::time_ms(t))).unwrap_or_default())}</p>
                            </div>
                        })}
                        <dl class="billing">
                            <dt>"Plan"</dt><dd data-testid="current-plan">{b.plan.name.clone()}</dd>
                            <dt>"Status"</dt><dd data-testid="billing-status">{status}</dd>
                            {b.current_period_end.filter(|_| live).map(|t| view! {
                                <dt>{if b.cancel_at_period_end { "Ends" } else { "Renews" }}</dt><dd>{format::time_ms(t)}</dd>
                            })}
                            {b.next_invoice_cents.map(|c| view! {
                                <dt>"Next invoice so far"</dt><dd data-testid="next-invoice">{dollars(c * 10_000)}</dd>
                            })}
                        </dl>
                        {b.cancel_at_period_end.then(|| view! {
                            <p class="warning" data-testid="cancel-notice">"This plan ends at the end of the period. Your files stay and can be downloaded; you move to the Free plan, so uploads stop while you keep more than its 10 GB. Renew any time in the billing portal."</p>
                        })}
                        {(b.enabled && b.can_manage).then(|| view! {
                            <p class="actions">
                                {plans.iter().filter(|p| p.monthly_micros > 0 && p.id != current).map(|p| {
                                    let id = p.id.clone();
                                    let label = if live { format!("Switch to {}", p.name) } else { format!("Choose {}", p.name) };
                                    view! { <button type="button" disabled=move || busy.get() on:click=move |_| pick(id.clone())>{label}</button> }
                                }).collect_view()}
                                <button type="button" class="secondary" disabled=move || busy.get() on:click=manage>"Manage card, invoices or cancel"</button>
                            </p>
                        })}
                        <h2>"Plans"</h2>
                        <div class="table-wrap"><table class="files data">
                            <thead><tr><th scope="col">"Plan"</th><th scope="col" class="num">"Per month"</th><th scope="col" class="num">"Included"</th><th scope="col" class="num">"Beyond that"</th><th scope="col">"Restore tiers"</th><th scope="col" class="num">"Seats"</th><th scope="col">"API"</th></tr></thead>
                            <tbody>
                                {plans.iter().map(|p| view! {
                                    <tr class:current=p.id == current>
                                        <th scope="row">{p.name.clone()}{(p.id == current).then_some(" (yours)")}</th>
                                        <td class="num">{dollars(p.monthly_micros)}</td>
                                        <td class="num">{format!("{} GB", p.included_gb)}</td>
                                        <td class="num">{if p.overage_micros_gb_month == 0 { "not possible".to_string() } else { format!("${:.4}/GB-month", p.overage_micros_gb_month as f64 / 1e6) }}</td>
                                        <td>{p.allowed_tiers.replace(',', ", ")}</td>
                                        <td class="num">{p.seats}</td>
                                        <td>{if p.api_access == 1 { "yes" } else { "no" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {(!b.invoices.is_empty()).then(|| view! {
                            <h2>"Invoices"</h2>
                            <ul class="link-list" data-testid="invoices">
                                {b.invoices.iter().map(|i| view! {
                                    <li>{format!("{} · {} · {} · {}", i.number, format::time_ms(i.created), dollars(i.total_cents * 10_000), i.status)}
                                        {i.url.clone().map(|u| view! { " " <a href=u rel="external">"View"</a> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        })}
                    }.into_any()
                })}
            </Transition>
        </section>
    }
}

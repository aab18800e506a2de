//! Billing with Stripe (async-stripe 1.x). Stripe's prices are found by lookup key
//! (`nexus_<plan>`, and `nexus_overage` for metered overage); the webhook is the one source of
//! a subscription's state, applied exactly once per event id.
use super::{BillingInfo, InvoiceRow};
use crate::core::{Actor, AppState};
use crate::error::AppError;
use crate::usage::service::{own_workspace, plan, plan_for};
use crate::workspaces::{Role, service::require_role};
use std::collections::HashMap;
use stripe_webhook::{EventObject, Webhook};

/// The meter Stripe sums overage on (a meter with this event name, value summed, priced by
/// the `nexus_overage` price at $0.01 per unit).
pub const METER_EVENT: &str = "nexus_overage_cents";
/// The metered price (lookup key) every paid subscription carries for overage.
pub const OVERAGE_PRICE: &str = "nexus_overage";

fn client(st: &AppState) -> Result<stripe::Client, AppError> {
    let b = st
        .config
        .billing
        .as_ref()
        .ok_or_else(|| AppError::conflict("Billing is not set up on this server."))?;
    stripe::ClientBuilder::new(b.secret_key.as_str())
        .url(b.api_base.as_str())
        .build()
        .map_err(|e| AppError::internal(format!("Stripe client: {e}")))
}

fn stripe_error(op: &str, e: stripe::StripeError) -> AppError {
    // Stripe's errors carry no secrets; the key never appears in them.
    match e {
        stripe::StripeError::ClientError(_) | stripe::StripeError::Timeout => {
            tracing::error!(op, error = %e, "Stripe unreachable");
            AppError::Unavailable {
                message: "Payments are not reachable right now; please try again shortly.".into(),
            }
        }
        e => AppError::internal(format!("Stripe {op}: {e}")),
    }
}

#[derive(sqlx::FromRow, Default)]
struct SubRow {
    status: String,
    stripe_customer_id: Option<String>,
    stripe_subscription_id: Option<String>,
    trial_end: Option<i64>,
    current_period_end: Option<i64>,
    cancel_at_period_end: i64,
    payment_failed_at: Option<i64>,
    trial_used: i64,
}

async fn sub_row(st: &AppState, ws: &str) -> Result<Option<SubRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT status, stripe_customer_id, stripe_subscription_id, trial_end,
            current_period_end, CAST(cancel_at_period_end AS BIGINT) AS cancel_at_period_end,
            payment_failed_at, CAST(trial_used AS BIGINT) AS trial_used
         FROM subscriptions WHERE workspace_id = $1",
    )
    .bind(ws)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// When uploads stop for a workspace whose payment failed (None while paid up).
pub fn uploads_stop_at(st: &AppState, payment_failed_at: Option<i64>) -> Option<i64> {
    let days = st
        .config
        .billing
        .as_ref()
        .map(|b| b.dunning_days)
        .unwrap_or(14);
    payment_failed_at.map(|t| t + days * 86_400_000)
}

/// Refuses uploads once a failed payment has stayed unpaid past the dunning period (nothing
/// is deleted).
pub async fn check_dunning(st: &AppState, ws: &str) -> Result<(), AppError> {
    if st.config.billing.is_none() {
        return Ok(());
    }
    if let Some(row) = sub_row(st, ws).await?
        && matches!(row.status.as_str(), "trialing" | "active" | "past_due")
        && let Some(stop) = uploads_stop_at(st, row.payment_failed_at)
        && st.clock.now_ms() >= stop
    {
        return Err(AppError::PlanLimit {
            message: "Uploads are paused: a payment has failed for a while. Update the card in billing; nothing stored is touched.".into(),
        });
    }
    Ok(())
}

/// The billing page (owners and admins only: members and viewers never see billing).
pub async fn info(st: &AppState, actor: &Actor) -> Result<BillingInfo, AppError> {
    let (ws, _) = own_workspace(&st.db, actor).await?;
    let role = require_role(&st.db, actor, &ws, Role::Admin).await?;
    let current = plan_for(st, &ws).await?;
    let row = sub_row(st, &ws).await?.unwrap_or_default();
    let mut out = BillingInfo {
        enabled: st.config.billing.is_some(),
        plan: current,
        status: if row.status.is_empty() {
            "none".into()
        } else {
            row.status.clone()
        },
        trial_end: row.trial_end,
        current_period_end: row.current_period_end,
        cancel_at_period_end: row.cancel_at_period_end == 1,
        payment_failed_at: row.payment_failed_at,
        uploads_stop_at: uploads_stop_at(st, row.payment_failed_at),
        next_invoice_cents: None,
        invoices: vec![],
        can_manage: role >= Role::Admin,
    };
    // Invoices (amounts, pay links) are for those who manage billing.
    if !out.enabled || !out.can_manage {
        return Ok(out);
    }
    let Some(customer) = row.stripe_customer_id.clone() else {
        return Ok(out);
    };
    let c = client(st)?;
    let list = stripe_billing::invoice::ListInvoice::new()
        .customer(customer.as_str())
        .limit(12)
        .send(&c)
        .await
        .map_err(|e| stripe_error("ListInvoices", e))?;
    out.invoices = list
        .data
        .into_iter()
        .map(|i| InvoiceRow {
            number: i.number.clone().unwrap_or_else(|| "draft".into()),
            created: i.created * 1000,
            total_cents: i.total,
            status: i
                .status
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            url: i.hosted_invoice_url.clone(),
        })
        .collect();
    if let Some(sub) = row
        .stripe_subscription_id
        .as_deref()
        .filter(|_| matches!(row.status.as_str(), "trialing" | "active" | "past_due"))
    {
        match stripe_billing::invoice::CreatePreviewInvoice::new()
            .customer(customer.as_str())
            .subscription(sub)
            .send(&c)
            .await
        {
            Ok(p) => out.next_invoice_cents = Some(p.total),
            Err(e) => tracing::warn!(error = %e, "no invoice preview"),
        }
    }
    Ok(out)
}

async fn price_id(c: &stripe::Client, lookup_key: &str) -> Result<String, AppError> {
    let prices = stripe_product::price::ListPrice::new()
        .active(true)
        .limit(100)
        .send(c)
        .await
        .map_err(|e| stripe_error("ListPrices", e))?;
    prices
        .data
        .into_iter()
        .find(|p| p.lookup_key.as_deref() == Some(lookup_key))
        .map(|p| p.id.to_string())
        .ok_or_else(|| {
            AppError::internal(format!(
                "Stripe has no active price with lookup key {lookup_key}"
            ))
        })
}

/// Takes `plan_id` for the actor's workspace: through Checkout the first time (a trial on the
/// first paid plan), as a change of the subscription with proration after that. Answers the
/// URL to send the browser to.
pub async fn choose_plan(st: &AppState, actor: &Actor, plan_id: &str) -> Result<String, AppError> {
    let (ws, _) = own_workspace(&st.db, actor).await?;
    require_role(&st.db, actor, &ws, Role::Admin).await?;
    let target = plan(&st.db, plan_id)
        .await
        .map_err(|_| AppError::invalid("plan", "There is no such plan."))?;
    crate::audit::service::record(
        st,
        actor,
        crate::audit::service::Change::new(Some(&ws), "billing.plan", format!("plan:{plan_id}"))
            .detail("checkout or change asked"),
    )
    .await?;
    if target.monthly_micros == 0 {
        return Err(AppError::invalid(
            "plan",
            "To go back to the free plan, cancel the subscription in the billing portal.",
        ));
    }
    let c = client(st)?;
    let b = st
        .config
        .billing
        .as_ref()
        .expect("client() checked billing");
    let price = price_id(&c, &format!("nexus_{plan_id}")).await?;
    let row = sub_row(st, &ws).await?.unwrap_or_default();
    let base = &st.config.public_url;
    // A live subscription changes price in place, prorated.
    if let Some(sub_id) = row
        .stripe_subscription_id
        .as_deref()
        .filter(|_| matches!(row.status.as_str(), "trialing" | "active" | "past_due"))
    {
        let sub = stripe_billing::subscription::RetrieveSubscription::new(sub_id)
            .send(&c)
            .await
            .map_err(|e| stripe_error("RetrieveSubscription", e))?;
        let item = plan_item(&sub)
            .ok_or_else(|| AppError::internal("subscription without a plan item"))?;
        let mut it = stripe_billing::subscription::UpdateSubscriptionItems::new();
        it.id = Some(item.id.to_string());
        it.price = Some(price);
        stripe_billing::subscription::UpdateSubscription::new(sub_id)
            .items(vec![it])
            .proration_behavior(
                stripe_billing::subscription::UpdateSubscriptionProrationBehavior::CreateProrations,
            )
            .send(&c)
            .await
            .map_err(|e| stripe_error("UpdateSubscription", e))?;
        return Ok(format!("{base}/billing?changed={plan_id}"));
    }
    let customer = ensure_customer(st, &c, actor, &ws, row.stripe_customer_id).await?;
    let mut li = stripe_checkout::checkout_session::CreateCheckoutSessionLineItems::new();
    li.price = Some(price);
    li.quantity = Some(1);
    let mut items = vec![li];
    if target.overage_micros_gb_month > 0 {
        // Metered: no quantity; Stripe bills what the meter sums.
        let mut over = stripe_checkout::checkout_session::CreateCheckoutSessionLineItems::new();
        over.price = Some(price_id(&c, OVERAGE_PRICE).await?);
        items.push(over);
    }
    let mut req = stripe_checkout::checkout_session::CreateCheckoutSession::new()
        .mode(stripe_checkout::CheckoutSessionMode::Subscription)
        .customer(customer.as_str())
        .client_reference_id(ws.as_str())
        .line_items(items)
        .success_url(format!("{base}/billing?checkout=done"))
        .cancel_url(format!("{base}/billing?checkout=canceled"))
        .payment_method_collection(if b.card_up_front {
            stripe_checkout::checkout_session::CreateCheckoutSessionPaymentMethodCollection::Always
        } else {
            stripe_checkout::checkout_session::CreateCheckoutSessionPaymentMethodCollection::IfRequired
        });
    if row.trial_used == 0 && target.trial_days > 0 {
        let mut sd =
            stripe_checkout::checkout_session::CreateCheckoutSessionSubscriptionData::new();
        sd.trial_period_days = Some(target.trial_days as u32);
        req = req.subscription_data(sd);
    }
    let session = req
        .send(&c)
        .await
        .map_err(|e| stripe_error("CreateCheckoutSession", e))?;
    session
        .url
        .ok_or_else(|| AppError::internal("Checkout session without a URL"))
}

/// The workspace's Stripe customer, made (and recorded) the first time.
async fn ensure_customer(
    st: &AppState,
    c: &stripe::Client,
    actor: &Actor,
    ws: &str,
    known: Option<String>,
) -> Result<String, AppError> {
    if let Some(id) = known {
        return Ok(id);
    }
    let email: (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
        .bind(actor.user_id())
        .fetch_one(&st.db.pool)
        .await?;
    let cus = stripe_core::customer::CreateCustomer::new()
        .email(email.0.as_str())
        .metadata(HashMap::from([(
            "workspace_id".to_string(),
            ws.to_string(),
        )]))
        .send(c)
        .await
        .map_err(|e| stripe_error("CreateCustomer", e))?;
    let id = cus.id.to_string();
    let now = st.clock.now_ms();
    // Two clicks at once make two customers: the first one stored stays the workspace's.
    sqlx::query(
        "INSERT INTO subscriptions (workspace_id, plan_id, status, stripe_customer_id, updated_at)
         VALUES ($1, $2, 'none', $3, $4)
         ON CONFLICT (workspace_id) DO UPDATE
         SET stripe_customer_id = COALESCE(subscriptions.stripe_customer_id, excluded.stripe_customer_id)",
    )
    .bind(ws)
    .bind(&st.config.default_plan)
    .bind(&id)
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    let (stored,): (Option<String>,) =
        sqlx::query_as("SELECT stripe_customer_id FROM subscriptions WHERE workspace_id = $1")
            .bind(ws)
            .fetch_one(&st.db.pool)
            .await?;
    Ok(stored.unwrap_or(id))
}

/// The Billing Portal for the actor's workspace.
pub async fn portal(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    let (ws, _) = own_workspace(&st.db, actor).await?;
    require_role(&st.db, actor, &ws, Role::Admin).await?;
    let c = client(st)?;
    let row = sub_row(st, &ws).await?.unwrap_or_default();
    let customer = row.stripe_customer_id.ok_or_else(|| {
        AppError::conflict("There is nothing to manage yet: choose a plan first.")
    })?;
    let s = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
        .customer(customer.as_str())
        // Back from the portal the page looks again for a while: Stripe's webhook for what was
        // changed there arrives on its own time, often after the person is back.
        .return_url(format!("{}/billing?portal=1", st.config.public_url))
        .send(&c)
        .await
        .map_err(|e| stripe_error("CreateBillingPortalSession", e))?;
    Ok(s.url)
}

/// A webhook from Stripe: checked (signature, timestamp within 5 minutes), then applied once.
pub async fn webhook(st: &AppState, payload: &str, signature: &str) -> Result<(), AppError> {
    let b = st.config.billing.as_ref().ok_or(AppError::NotFound)?;
    let event = Webhook::construct_event(payload, signature, &b.webhook_secret).map_err(|e| {
        tracing::warn!(error = %e, "refused a webhook");
        AppError::invalid(
            "signature",
            "The webhook's signature or timestamp is not valid.",
        )
    })?;
    let now = st.clock.now_ms();
    let mut tx = st.db.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(event.id.as_str())
    .bind(event.type_.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if fresh.rows_affected() == 0 {
        tracing::info!(event = %event.id.as_str(), "webhook already applied");
        return Ok(());
    }
    match event.data.object {
        EventObject::CheckoutSessionCompleted(s) => {
            if let (Some(ws), Some(customer)) =
                (s.client_reference_id.as_deref(), s.customer.as_ref())
            {
                sqlx::query(
                    "INSERT INTO subscriptions (workspace_id, plan_id, status, stripe_customer_id,
                         stripe_subscription_id, updated_at)
                     VALUES ($1, $2, 'none', $3, $4, $5)
                     ON CONFLICT (workspace_id) DO UPDATE SET stripe_customer_id = excluded.stripe_customer_id,
                         stripe_subscription_id = COALESCE(excluded.stripe_subscription_id, subscriptions.stripe_subscription_id),
                         updated_at = excluded.updated_at",
                )
                .bind(ws)
                .bind(&st.config.default_plan)
                .bind(customer.id().as_str())
                .bind(s.subscription.as_ref().map(|x| x.id().to_string()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        EventObject::CustomerSubscriptionCreated(s)
        | EventObject::CustomerSubscriptionUpdated(s)
        | EventObject::CustomerSubscriptionDeleted(s) => {
            apply_subscription(st, &mut tx, &s, event.created, now).await?;
        }
        EventObject::CustomerSubscriptionTrialWillEnd(s) => {
            if let Some((ws, user)) = owner_of(&mut tx, s.customer.id().as_str()).await? {
                let end = s
                    .trial_end
                    .map(|t| crate::format::time_ms(t * 1000))
                    .unwrap_or_default();
                crate::notify::service::notify(
                    &mut tx,
                    &st.config,
                    &user,
                    "trial_will_end",
                    "Your trial ends soon",
                    &format!("The trial of your plan ends {end}; the card on file is charged then. Change or cancel in billing."),
                    "/billing",
                    now,
                )
                .await?;
                let _ = ws;
            }
        }
        EventObject::InvoicePaid(i) => {
            if let Some(customer) = i.customer.as_ref() {
                sqlx::query(
                    "UPDATE subscriptions SET payment_failed_at = NULL, invoice_event_at = $3,
                         updated_at = $1
                     WHERE stripe_customer_id = $2 AND COALESCE(invoice_event_at, 0) <= $3",
                )
                .bind(now)
                .bind(customer.id().as_str())
                .bind(event.created)
                .execute(&mut *tx)
                .await?;
            }
        }
        EventObject::InvoicePaymentFailed(i) => {
            if let Some(customer) = i.customer.as_ref() {
                // Only if no later invoice event (a payment that went through) came first.
                let r = sqlx::query(
                    "UPDATE subscriptions SET payment_failed_at = COALESCE(payment_failed_at, $1),
                         invoice_event_at = $3, updated_at = $1
                     WHERE stripe_customer_id = $2 AND COALESCE(invoice_event_at, 0) <= $3",
                )
                .bind(now)
                .bind(customer.id().as_str())
                .bind(event.created)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() > 0
                    && let Some((ws, user)) = owner_of(&mut tx, customer.id().as_str()).await?
                {
                    let days = b.dunning_days;
                    crate::events::record(
                        &mut tx,
                        &ws,
                        crate::events::BILLING_PAYMENT_FAILED,
                        serde_json::json!({
                            "invoice_id": i.id.as_ref().map(|x| x.as_str().to_string()),
                            "uploads_pause_after_days": days,
                        }),
                        now,
                    )
                    .await?;
                    crate::notify::service::notify(
                        &mut tx,
                        &st.config,
                        &user,
                        "payment_failed",
                        "A payment failed",
                        &format!("We could not charge your card. Please update it in billing within {days} days; after that uploads pause (nothing stored is deleted)."),
                        "/billing",
                        now,
                    )
                    .await?;
                }
            }
        }
        _ => {
            tracing::info!(event = %event.id.as_str(), kind = %event.type_, "webhook event not used");
        }
    }
    tx.commit().await?;
    crate::notify::service::wake_mailer(st).await?;
    Ok(())
}

/// The subscription's plan item (not the metered overage one).
fn plan_item(s: &stripe_shared::Subscription) -> Option<&stripe_shared::SubscriptionItem> {
    s.items
        .data
        .iter()
        .find(|i| i.price.lookup_key.as_deref() != Some(OVERAGE_PRICE))
}

/// The workspace of a Stripe customer, and its owner.
async fn owner_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    customer: &str,
) -> Result<Option<(String, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT s.workspace_id, m.user_id FROM subscriptions s
         JOIN memberships m ON m.workspace_id = s.workspace_id AND m.role = 'owner'
         WHERE s.stripe_customer_id = $1 LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn apply_subscription(
    st: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    s: &stripe_shared::Subscription,
    event_created: i64,
    now: i64,
) -> Result<(), AppError> {
    let customer = s.customer.id().to_string();
    let known: Option<(String,)> =
        sqlx::query_as("SELECT workspace_id FROM subscriptions WHERE stripe_customer_id = $1")
            .bind(&customer)
            .fetch_optional(&mut **tx)
            .await?;
    if known.is_none() {
        // Not ours yet (checkout's completion will say whose it is): fail, so Stripe sends
        // it again later.
        return Err(AppError::internal(format!(
            "subscription event for unknown customer {customer}"
        )));
    }
    let item = plan_item(s);
    let plan_id = item
        .and_then(|i| i.price.lookup_key.as_deref())
        .and_then(|k| k.strip_prefix("nexus_"))
        .unwrap_or(&st.config.default_plan)
        .to_string();
    let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM plans WHERE id = $1")
        .bind(&plan_id)
        .fetch_optional(&mut **tx)
        .await?;
    let plan_id = if exists.is_some() {
        plan_id
    } else {
        st.config.default_plan.clone()
    };
    let status = s.status.as_str().to_string();
    let live = matches!(status.as_str(), "trialing" | "active" | "past_due");
    // Events can arrive out of order (Stripe retries a failed delivery later): an event older
    // than the newest one applied changes nothing.
    let r = sqlx::query(
        "UPDATE subscriptions SET plan_id = $1, status = $2, stripe_subscription_id = $3,
             trial_end = $4, current_period_end = $5, cancel_at_period_end = $6,
             trial_used = CASE WHEN $2 IN ('trialing', 'active', 'past_due', 'canceled') THEN 1 ELSE trial_used END,
             started_at = CASE WHEN $10 = 1 THEN COALESCE(started_at, $11) ELSE started_at END,
             payment_failed_at = CASE WHEN $10 = 1 THEN payment_failed_at ELSE NULL END,
             stripe_event_at = $9, updated_at = $7
         WHERE stripe_customer_id = $8 AND COALESCE(stripe_event_at, 0) <= $9",
    )
    .bind(&plan_id)
    .bind(&status)
    .bind(s.id.as_str())
    .bind(s.trial_end.map(|t| t * 1000))
    .bind(item.map(|i| i.current_period_end * 1000))
    .bind(if s.cancel_at_period_end { 1i64 } else { 0 })
    .bind(now)
    .bind(&customer)
    .bind(event_created)
    .bind(if live { 1i64 } else { 0 })
    .bind(s.start_date * 1000)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        tracing::info!(%customer, "an older subscription event; a newer one was applied");
    } else if let Some((ws, owner)) = owner_of(tx, &customer).await? {
        // Stripe made the change: recorded as the owner's account's, from Stripe's request.
        crate::audit::service::record_tx(
            st,
            tx,
            &crate::core::Actor::job_for(&owner),
            crate::audit::service::Change::new(
                Some(&ws),
                "billing.subscription",
                format!("subscription:{}", s.id.as_str()),
            )
            .detail(format!(
                "{plan_id}, {status}{}",
                if s.cancel_at_period_end {
                    ", ends at period end"
                } else {
                    ""
                }
            )),
        )
        .await?;
    }
    Ok(())
}

/// The job: reports each workspace's overage of each rolled-up day to Stripe's meter, once
/// (the report's identifier is workspace:day; a failed report is tried again next run).
pub async fn report_usage(st: &AppState) -> Result<i64, AppError> {
    if st.config.billing.is_none() {
        return Ok(0);
    }
    let c = client(st)?;
    let rows: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.workspace_id, s.stripe_customer_id, d.day,
            CAST(SUM(d.byte_hours) AS BIGINT), CAST(p.included_gb AS BIGINT),
            CAST(p.overage_micros_gb_month AS BIGINT)
         FROM subscriptions s
         JOIN plans p ON p.id = s.plan_id
         JOIN usage_daily d ON d.workspace_id = s.workspace_id
         WHERE s.status IN ('trialing', 'active', 'past_due') AND s.stripe_customer_id IS NOT NULL
           AND p.overage_micros_gb_month > 0
           AND d.day >= CAST(COALESCE(s.started_at, 0) / 86400000 AS BIGINT) AND d.day >= $1
           AND NOT EXISTS (SELECT 1 FROM meter_reports r WHERE r.workspace_id = s.workspace_id
                             AND r.day = d.day AND r.reported_at IS NOT NULL)
         GROUP BY s.workspace_id, s.stripe_customer_id, d.day, p.included_gb, p.overage_micros_gb_month
         ORDER BY d.day LIMIT 1000",
    )
    // Stripe takes meter events up to 35 days old.
    .bind(crate::usage::day_of(st.clock.now_ms()) - 30)
    .fetch_all(&st.db.pool)
    .await?;
    let retrievals: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT workspace_id, at, cost_micros FROM usage_events WHERE at >= $1")
            .bind(rows.iter().map(|r| r.2).min().unwrap_or(0) * crate::usage::DAY_MS)
            .fetch_all(&st.db.pool)
            .await?;
    let mut sent = 0;
    for (ws, customer, day, byte_hours, included_gb, overage) in rows {
        let identifier = format!("{ws}:{day}");
        let done: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT reported_at FROM meter_reports WHERE identifier = $1")
                .bind(&identifier)
                .fetch_optional(&st.db.pool)
                .await?;
        if matches!(done, Some((Some(_),))) {
            continue;
        }
        // The day's average stored bytes above the plan's, billed a day's share of a month.
        let avg = byte_hours as f64 / 24.0;
        let over_gb = ((avg - (included_gb << 30) as f64) / (1u64 << 30) as f64).max(0.0);
        let storage_micros = over_gb * overage as f64 / 30.0;
        let retrieval_micros: i64 = retrievals
            .iter()
            .filter(|(w, at, _)| w == &ws && crate::usage::day_of(*at) == day)
            .map(|r| r.2)
            .sum();
        let cents = ((storage_micros + retrieval_micros as f64) / 10_000.0).round() as i64;
        sqlx::query(
            "INSERT INTO meter_reports (identifier, workspace_id, day, value_cents)
             VALUES ($1, $2, $3, $4) ON CONFLICT (identifier) DO UPDATE SET value_cents = excluded.value_cents",
        )
        .bind(&identifier)
        .bind(&ws)
        .bind(day)
        .bind(cents)
        .execute(&st.db.pool)
        .await?;
        let outcome = if cents == 0 {
            Ok(())
        } else {
            stripe_billing::billing_meter_event::CreateBillingMeterEvent::new(
                METER_EVENT,
                HashMap::from([
                    ("stripe_customer_id".to_string(), customer.clone()),
                    ("value".to_string(), cents.to_string()),
                ]),
            )
            .identifier(identifier.as_str())
            .timestamp((day + 1) * 86_400 - 1)
            .send(&c)
            .await
            .map(|_| ())
            .or_else(|e| match &e {
                // Sent before (a crash between Stripe's answer and our record): done.
                stripe::StripeError::Stripe(err, _)
                    if err.code.as_ref().map(|c| c.as_str()) == Some("resource_already_exists") =>
                {
                    Ok(())
                }
                _ => Err(e.to_string()),
            })
        };
        let now = st.clock.now_ms();
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE meter_reports SET reported_at = $1, error = NULL WHERE identifier = $2",
                )
                .bind(now)
                .bind(&identifier)
                .execute(&st.db.pool)
                .await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(%identifier, error = %e, "meter event not sent; will retry");
                sqlx::query("UPDATE meter_reports SET error = $1 WHERE identifier = $2")
                    .bind(e)
                    .bind(&identifier)
                    .execute(&st.db.pool)
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// The job that reports overage to Stripe's meter (hourly; nothing without billing).
pub const REPORT_USAGE: &str = "report_usage";

/// Runs [`REPORT_USAGE`].
pub async fn report_usage_job(
    st: &AppState,
    _job: &crate::core::jobs::Job,
) -> Result<crate::core::jobs::Next, AppError> {
    let now = st.clock.now_ms();
    let n = report_usage(st).await?;
    if n > 0 {
        tracing::info!(reports = n, "overage reported to Stripe");
    }
    Ok(crate::core::jobs::Next::At(now + 3_600_000))
}

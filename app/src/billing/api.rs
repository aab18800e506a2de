//! Server functions of billing.
use super::BillingInfo;
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "billing_info")]
pub async fn get_billing_info() -> Result<BillingInfo, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::info(&st, &actor(&st).await?).await }.await)
}

/// Where to send the browser to take `plan`: Stripe Checkout (first subscription), or back
/// to the billing page after a change of plan with proration.
#[server(prefix = "/api", endpoint = "choose_plan")]
pub async fn choose_plan(plan: String) -> Result<String, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::choose_plan(&st, &actor(&st).await?, &plan).await }.await)
}

/// The Stripe Billing Portal (cards, invoices, cancellation).
#[server(prefix = "/api", endpoint = "billing_portal")]
pub async fn billing_portal() -> Result<String, AppError> {
    use crate::{
        auth::session::actor,
        core::request::{finish, state},
    };
    let st = state()?;
    finish(async { super::service::portal(&st, &actor(&st).await?).await }.await)
}

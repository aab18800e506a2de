//! Billing through Stripe: Checkout for upgrades (a trial on the first paid plan), the Billing
//! Portal for cards, invoices and cancellation, plan changes with proration, webhooks applied
//! exactly once, metered overage reported by a job. Off without Stripe keys: everyone is on
//! the default plan and the billing page says so.
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

use serde::{Deserialize, Serialize};

/// An invoice as the billing page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceRow {
    pub number: String,
    pub created: i64,
    pub total_cents: i64,
    pub status: String,
    pub url: Option<String>,
}

/// What the billing page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingInfo {
    /// False without Stripe keys.
    pub enabled: bool,
    pub plan: crate::usage::Plan,
    /// none, trialing, active, past_due, canceled
    pub status: String,
    pub trial_end: Option<i64>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    /// A payment failed at this time (unix ms) and is not settled yet.
    pub payment_failed_at: Option<i64>,
    /// Uploads stop after this (unix ms) while a payment stays failed.
    pub uploads_stop_at: Option<i64>,
    /// The next invoice as it stands (base and metered usage so far), in cents.
    pub next_invoice_cents: Option<i64>,
    pub invoices: Vec<InvoiceRow>,
    /// May this person change the plan (owners and admins)?
    pub can_manage: bool,
}

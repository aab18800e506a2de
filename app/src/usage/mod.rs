//! Usage and cost: what each workspace stores per vault and class, day by day, and what it
//! costs (storage with minimum billable sizes and per-object overheads, minimum-duration fees,
//! retrievals); plans and the limits they set. The daily roll-up is incremental: a day's rows
//! come from the day before and that day's changes (written by triggers on `files`), never
//! from all files.
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

use crate::pricing::{GIB, PriceList};
use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;
/// AWS bills a GB-month; a month here is 30 days (as the class dialog and fees count it).
const HOURS_PER_MONTH: f64 = 720.0;

/// A plan: what it costs and what it allows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub monthly_micros: i64,
    pub included_gb: i64,
    /// Per GB-month beyond the included storage; 0: the quota is a hard limit.
    pub overage_micros_gb_month: i64,
    pub allowed_classes: String,
    pub allowed_tiers: String,
    pub seats: i64,
    pub api_access: i64,
    pub trial_days: i64,
}

impl Plan {
    pub fn included_bytes(&self) -> i64 {
        self.included_gb.saturating_mul(1 << 30)
    }
    pub fn allows_tier(&self, tier: &str) -> bool {
        self.allowed_tiers.split(',').any(|t| t == tier)
    }
    pub fn allows_class(&self, class: &str) -> bool {
        self.allowed_classes.split(',').any(|c| c == class)
    }
}

/// One workspace's usage in one vault and class on one UTC day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DailyRow {
    pub workspace_id: String,
    pub vault_id: String,
    pub storage_class: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub bytes_end: i64,
    pub objects_end: i64,
    /// Bytes billed at the class's price at the end of the day (minimum billable size and
    /// per-object index included), and bytes billed at Standard's (per-object metadata).
    pub billable_end: i64,
    pub standard_end: i64,
    pub byte_hours: i64,
    pub cost_micros: i64,
    pub early_fee_micros: i64,
}

/// A change to what is stored (a row of `usage_changes`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Change {
    pub workspace_id: String,
    pub vault_id: String,
    pub storage_class: String,
    pub bytes: i64,
    pub objects: i64,
    pub since: i64,
    pub leaves: i64,
    pub at: i64,
}

/// The rows of `day` from the rows of the day before (`prev`, their `*_end` columns) and the
/// day's changes, up to `until` (the day's end, or now for today so far). Pure: the roll-up
/// and the live figures of today share it, and tests check it against hand-computed values.
pub fn compute_day(
    prices: &PriceList,
    prev: &[DailyRow],
    changes: &[Change],
    day: i64,
    until: i64,
) -> Vec<DailyRow> {
    use std::collections::BTreeMap;
    let start = day * DAY_MS;
    let end = until.clamp(start, start + DAY_MS);
    // Per (workspace, vault, class): bytes, objects, class-billed bytes, Standard-billed bytes.
    #[derive(Default)]
    struct Acc {
        bytes: i64,
        objects: i64,
        billable: f64,
        standard: f64,
        byte_ms: f64,
        cost_ms: f64,
        fee: i64,
        last: i64,
    }
    let std_price = prices.standard_micros() as f64;
    let billable_of = |class: &str, size: i64, objects: i64| -> (f64, f64) {
        match prices.get(class) {
            Some(p) => (
                (size.abs().max(p.min_billable_bytes) + p.overhead_class_bytes) as f64
                    * objects.signum() as f64,
                p.overhead_standard_bytes as f64 * objects.signum() as f64,
            ),
            None => (size as f64, 0.0),
        }
    };
    let mut accs: BTreeMap<(String, String, String), Acc> = BTreeMap::new();
    for r in prev {
        if r.objects_end == 0 && r.bytes_end == 0 {
            continue;
        }
        accs.insert(
            (
                r.workspace_id.clone(),
                r.vault_id.clone(),
                r.storage_class.clone(),
            ),
            Acc {
                bytes: r.bytes_end,
                objects: r.objects_end,
                billable: r.billable_end as f64,
                standard: r.standard_end as f64,
                last: start,
                ..Default::default()
            },
        );
    }
    let mut sorted: Vec<&Change> = changes
        .iter()
        .filter(|c| c.at >= start && c.at < end)
        .collect();
    sorted.sort_by_key(|c| c.at);
    let class_price = |class: &str| {
        prices
            .get(class)
            .map(|p| p.storage_micros_gb_month as f64)
            .unwrap_or(0.0)
    };
    for c in sorted {
        let a = accs
            .entry((
                c.workspace_id.clone(),
                c.vault_id.clone(),
                c.storage_class.clone(),
            ))
            .or_insert_with(|| Acc {
                last: start,
                ..Default::default()
            });
        let ms = (c.at - a.last).max(0) as f64;
        a.byte_ms += a.bytes as f64 * ms;
        a.cost_ms += (a.billable * class_price(&c.storage_class) + a.standard * std_price) * ms;
        a.last = c.at;
        a.bytes += c.bytes;
        a.objects += c.objects;
        let (b, s) = billable_of(&c.storage_class, c.bytes, c.objects);
        a.billable += b;
        a.standard += s;
        if c.leaves == 1 && c.bytes <= 0 {
            a.fee += prices.early_deletion_fee_micros(&c.storage_class, -c.bytes, c.since, c.at);
        }
    }
    accs.into_iter()
        .map(|((ws, vault, class), mut a)| {
            let ms = (end - a.last).max(0) as f64;
            a.byte_ms += a.bytes as f64 * ms;
            a.cost_ms += (a.billable * class_price(&class) + a.standard * std_price) * ms;
            DailyRow {
                workspace_id: ws,
                vault_id: vault,
                storage_class: class,
                day,
                bytes_end: a.bytes,
                objects_end: a.objects,
                billable_end: a.billable.round() as i64,
                standard_end: a.standard.round() as i64,
                byte_hours: (a.byte_ms / 3_600_000.0).round() as i64,
                cost_micros: (a.cost_ms / 3_600_000.0 / GIB / HOURS_PER_MONTH).round() as i64,
                early_fee_micros: a.fee,
            }
        })
        .collect()
}

/// Stored now, per class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassUsage {
    pub class: String,
    pub bytes: i64,
    pub objects: i64,
    pub monthly_micros: i64,
}

/// One month of the chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthUsage {
    /// "2026-11"
    pub month: String,
    pub storage_micros: i64,
    pub early_fee_micros: i64,
    pub retrieval_micros: i64,
    /// Average stored bytes over the month's days so far.
    pub avg_bytes: i64,
}

/// A vault or folder by what it costs, and what moving it to Deep Archive would save.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostItem {
    pub vault_id: String,
    pub vault_name: String,
    /// '' for a whole vault.
    pub path: String,
    pub bytes: i64,
    pub monthly_micros: i64,
    pub deep_archive_micros: i64,
}

/// A retrieval of this month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Retrieval {
    pub at: i64,
    pub vault_name: String,
    pub storage_class: String,
    pub tier: String,
    pub bytes: i64,
    pub requests: i64,
    pub cost_micros: i64,
}

/// Everything the usage page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub workspace_name: String,
    pub plan: Plan,
    pub stored_bytes: i64,
    pub classes: Vec<ClassUsage>,
    pub month_so_far_micros: i64,
    pub projected_micros: i64,
    pub months: Vec<MonthUsage>,
    pub retrievals: Vec<Retrieval>,
    pub top_vaults: Vec<CostItem>,
    pub top_folders: Vec<CostItem>,
}

/// The header's quota meter: shown from 80 % of the plan's storage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    pub plan_name: String,
    pub used_bytes: i64,
    pub included_bytes: i64,
    /// A payment failed and is not settled: the header shows a banner.
    pub payment_failed: bool,
}

impl Quota {
    pub fn percent(&self) -> i64 {
        if self.included_bytes <= 0 {
            return 0;
        }
        ((self.used_bytes as f64 / self.included_bytes as f64) * 100.0).floor() as i64
    }
}

/// UTC day number of unix milliseconds.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// "2026-11" of a day number.
pub fn month_of(day: i64) -> String {
    let d = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(day);
    format!("{:04}-{:02}", d.year(), d.month() as u8)
}

/// The day number of the first of the month that `day` is in.
pub fn month_start(day: i64) -> i64 {
    let d = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(day);
    day - (d.day() as i64 - 1)
}

/// Days in the month that `day` is in.
pub fn days_in_month(day: i64) -> i64 {
    let d = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(day);
    time::util::days_in_month(d.month(), d.year()) as i64
}

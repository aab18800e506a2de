//! Prices: what keeping a byte in each storage class costs, and the rules that bill more than
//! the bytes (minimum billable size, per-object overhead, minimum storage duration). Rows of
//! the `prices` table (AWS us-east-1 list prices); every estimate is computed here from them.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod service;

/// AWS bills storage per "GB" of 2^30 bytes.
pub const GIB: f64 = 1_073_741_824.0;
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Price {
    pub storage_class: String,
    /// Micro-dollars per GB-month.
    pub storage_micros_gb_month: i64,
    pub min_storage_days: i64,
    pub min_billable_bytes: i64,
    /// Per-object index billed at this class's price (Glacier: 32 KB).
    pub overhead_class_bytes: i64,
    /// Per-object metadata billed at Standard's price (Glacier: 8 KB).
    pub overhead_standard_bytes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceList(pub Vec<Price>);

impl PriceList {
    pub fn get(&self, class: &str) -> Option<&Price> {
        self.0.iter().find(|p| p.storage_class == class)
    }

    pub fn standard_micros(&self) -> i64 {
        self.get("STANDARD")
            .map(|p| p.storage_micros_gb_month)
            .unwrap_or_default()
    }

    /// Bytes billed at the class's price for an object of `size`.
    fn billable_bytes(p: &Price, size: i64) -> i64 {
        size.max(p.min_billable_bytes) + p.overhead_class_bytes
    }

    /// What keeping one object of `size` bytes in `class` costs a month, in micro-dollars.
    pub fn monthly_cost_micros(&self, class: &str, size: i64) -> i64 {
        let Some(p) = self.get(class) else { return 0 };
        let at_class =
            Self::billable_bytes(p, size) as f64 * p.storage_micros_gb_month as f64 / GIB;
        let at_standard = p.overhead_standard_bytes as f64 * self.standard_micros() as f64 / GIB;
        (at_class + at_standard).round() as i64
    }

    /// The fee for deleting (or moving out of) an object stored in `class` since `since_ms`,
    /// at `now_ms`: the storage of the days left of the class's minimum, in micro-dollars.
    pub fn early_deletion_fee_micros(
        &self,
        class: &str,
        size: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> i64 {
        let Some(p) = self.get(class) else { return 0 };
        let stored_days = ((now_ms - since_ms).max(0)) as f64 / DAY_MS as f64;
        let left = p.min_storage_days as f64 - stored_days;
        if left <= 0.0 {
            return 0;
        }
        let per_day =
            Self::billable_bytes(p, size) as f64 * p.storage_micros_gb_month as f64 / GIB / 30.0;
        (per_day * left).round() as i64
    }
}

/// What bringing objects back costs and takes, per storage class and tier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RetrievalPrice {
    pub storage_class: String,
    /// Expedited, Standard, Bulk (archived classes) or Instant (the others).
    pub tier: String,
    pub micros_per_gb: i64,
    pub micros_per_1000_requests: i64,
    pub typical_minutes: i64,
    pub max_minutes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetrievalList(pub Vec<RetrievalPrice>);

/// A restore's cost and wait, for exactly the objects asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreEstimate {
    pub tier: String,
    /// Per GB retrieved.
    pub retrieval_micros: i64,
    /// Per restore request (one per object).
    pub request_micros: i64,
    /// The restored copy, billed at Standard for its days.
    pub copy_micros: i64,
    pub total_micros: i64,
    pub typical_minutes: i64,
    pub max_minutes: i64,
}

impl RetrievalList {
    /// The tiers a class offers, fastest first.
    pub fn tiers(&self, class: &str) -> Vec<&RetrievalPrice> {
        let mut t: Vec<&RetrievalPrice> =
            self.0.iter().filter(|p| p.storage_class == class).collect();
        t.sort_by_key(|p| p.max_minutes);
        t
    }

    /// Restoring objects of these sizes from `class` with `tier`, keeping the copies `days`
    /// days. None when the class does not offer the tier.
    pub fn estimate(
        &self,
        storage: &PriceList,
        class: &str,
        tier: &str,
        sizes: &[i64],
        days: i64,
    ) -> Option<RestoreEstimate> {
        let p = self
            .0
            .iter()
            .find(|p| p.storage_class == class && p.tier == tier)?;
        let gb = sizes.iter().sum::<i64>() as f64 / GIB;
        let retrieval = (gb * p.micros_per_gb as f64).round() as i64;
        let requests =
            (sizes.len() as f64 * p.micros_per_1000_requests as f64 / 1000.0).round() as i64;
        let copy = if tier == "Instant" {
            0
        } else {
            (gb * storage.standard_micros() as f64 * days as f64 / 30.0).round() as i64
        };
        Some(RestoreEstimate {
            tier: tier.to_string(),
            retrieval_micros: retrieval,
            request_micros: requests,
            copy_micros: copy,
            total_micros: retrieval + requests + copy,
            typical_minutes: p.typical_minutes,
            max_minutes: p.max_minutes,
        })
    }
}

/// Micro-dollars as people read money: `$0.42`, `$12.30`, `<$0.01`.
pub fn dollars(micros: i64) -> String {
    if micros > 0 && micros < 5_000 {
        return "<$0.01".into();
    }
    let cents = (micros as f64 / 10_000.0).round() as i64;
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> PriceList {
        let p = |c: &str, m, d, b, oc, os| Price {
            storage_class: c.into(),
            storage_micros_gb_month: m,
            min_storage_days: d,
            min_billable_bytes: b,
            overhead_class_bytes: oc,
            overhead_standard_bytes: os,
        };
        PriceList(vec![
            p("STANDARD", 23_000, 0, 0, 0, 0),
            p("STANDARD_IA", 12_500, 30, 131_072, 0, 0),
            p("DEEP_ARCHIVE", 990, 180, 0, 32_768, 8_192),
        ])
    }

    #[test]
    fn monthly_costs_follow_the_billing_rules() {
        let l = list();
        // 1 GiB in Standard: $0.023.
        assert_eq!(l.monthly_cost_micros("STANDARD", 1 << 30), 23_000);
        // 1 KB in Standard-IA bills as 128 KB: 131072 / 2^30 * 12500 = 1.5259 µ$.
        assert_eq!(l.monthly_cost_micros("STANDARD_IA", 1_000), 2);
        // 1 GiB in Deep Archive: (2^30 + 32768) * 990 / 2^30 + 8192 * 23000 / 2^30
        // = 990.0302 + 0.1755 = 990.2057 → 990 µ$.
        assert_eq!(l.monthly_cost_micros("DEEP_ARCHIVE", 1 << 30), 990);
        // 100 GiB in Deep Archive: 99000 + 0.0302 + 0.1755 → 99000 µ$ ($0.099).
        assert_eq!(l.monthly_cost_micros("DEEP_ARCHIVE", 100 << 30), 99_000);
    }

    #[test]
    fn early_deletion_bills_the_days_left() {
        let l = list();
        let day = 86_400_000;
        // 30 GiB in Deep Archive for 60 days: 120 days left of 180 → 4 months of storage.
        // (30 GiB + 32 KB) * 990 / 2^30 = 29700.03 per month; × 120 / 30 = 118800.12 → 118800.
        assert_eq!(
            l.early_deletion_fee_micros("DEEP_ARCHIVE", 30 << 30, 0, 60 * day),
            118_800
        );
        // Past the minimum, nothing.
        assert_eq!(
            l.early_deletion_fee_micros("DEEP_ARCHIVE", 30 << 30, 0, 200 * day),
            0
        );
        // Standard has no minimum.
        assert_eq!(l.early_deletion_fee_micros("STANDARD", 30 << 30, 0, 0), 0);
    }

    fn retrieval() -> RetrievalList {
        let r = |c: &str, t: &str, g, q, ty, mx| RetrievalPrice {
            storage_class: c.into(),
            tier: t.into(),
            micros_per_gb: g,
            micros_per_1000_requests: q,
            typical_minutes: ty,
            max_minutes: mx,
        };
        RetrievalList(vec![
            r("GLACIER", "Standard", 10_000, 50_000, 240, 300),
            r("GLACIER", "Expedited", 30_000, 10_000_000, 3, 5),
            r("GLACIER", "Bulk", 0, 0, 480, 720),
            r("DEEP_ARCHIVE", "Standard", 20_000, 100_000, 720, 720),
            r("DEEP_ARCHIVE", "Bulk", 2_500, 25_000, 2160, 2880),
            r("STANDARD_IA", "Instant", 10_000, 1_000, 0, 0),
        ])
    }

    #[test]
    fn restore_estimates_by_class_and_tier() {
        let (s, r) = (list(), retrieval());
        let gib: i64 = 1 << 30;
        // 100 × 1 GiB from Deep Archive, Bulk, kept 7 days:
        // 100 GB × $0.0025 = 250,000 µ$; 100 requests × $0.025/1000 = 2,500 µ$;
        // copy 100 GB × $0.023 × 7/30 = 536,666.67 → 536,667 µ$.
        let e = r
            .estimate(&s, "DEEP_ARCHIVE", "Bulk", &[gib; 100], 7)
            .unwrap();
        assert_eq!(
            (e.retrieval_micros, e.request_micros, e.copy_micros),
            (250_000, 2_500, 536_667)
        );
        assert_eq!(e.total_micros, 789_167);
        assert_eq!(e.max_minutes, 2880);
        // 10 × 512 MiB from Glacier, Expedited, 1 day: 5 GB × $0.03 = 150,000; 10 × $10/1000
        // = 100,000; copy 5 × 23,000 / 30 = 3,833.33 → 3,833.
        let e = r
            .estimate(&s, "GLACIER", "Expedited", &[gib / 2; 10], 1)
            .unwrap();
        assert_eq!(e.total_micros, 253_833);
        // Bulk from Glacier Flexible Retrieval costs only the copy.
        let e = r.estimate(&s, "GLACIER", "Bulk", &[gib], 30).unwrap();
        assert_eq!(
            (e.retrieval_micros, e.request_micros, e.copy_micros),
            (0, 0, 23_000)
        );
        // Deep Archive offers no Expedited tier.
        assert!(
            r.estimate(&s, "DEEP_ARCHIVE", "Expedited", &[gib], 1)
                .is_none()
        );
        // Tiers fastest first.
        let tiers: Vec<&str> = r.tiers("GLACIER").iter().map(|t| t.tier.as_str()).collect();
        assert_eq!(tiers, ["Expedited", "Standard", "Bulk"]);
        // Standard-IA reads at once: retrieval fee, no copy.
        let e = r
            .estimate(&s, "STANDARD_IA", "Instant", &[10 * gib], 1)
            .unwrap();
        assert_eq!((e.retrieval_micros, e.copy_micros), (100_000, 0));
    }

    #[test]
    fn dollars_read_like_money() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(1), "<$0.01");
        assert_eq!(dollars(420_000), "$0.42");
        assert_eq!(dollars(12_300_000), "$12.30");
    }
}

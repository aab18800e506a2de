//! How long the embedded endpoint takes to restore an archived object, per class and tier
//! (seconds in development, set by `NEXUS_LOCAL_S3_RESTORE_SECS` and `NEXUS_LOCAL_S3_DAY_SECS`), and how long a day of a
//! restored copy lasts.

/// How long a restore takes per class and tier, and how long a restored "day" lasts: seconds
/// by default, so a person can try the whole flow in a minute. S3 takes minutes to days.
#[derive(Debug, Clone)]
pub struct GlacierTimes {
    /// (class, tier) → seconds; a missing pair is a tier the class does not offer.
    pub delays: Vec<(String, String, u64)>,
    pub day_ms: i64,
}

impl Default for GlacierTimes {
    fn default() -> Self {
        let d = |c: &str, t: &str, s| (c.to_string(), t.to_string(), s);
        GlacierTimes {
            delays: vec![
                d("GLACIER", "Expedited", 2),
                d("GLACIER", "Standard", 5),
                d("GLACIER", "Bulk", 10),
                d("DEEP_ARCHIVE", "Standard", 8),
                d("DEEP_ARCHIVE", "Bulk", 15),
            ],
            day_ms: 86_400_000,
        }
    }
}

impl GlacierTimes {
    /// Defaults, changed by `NEXUS_LOCAL_S3_RESTORE_SECS` ("GLACIER.Expedited=2,
    /// DEEP_ARCHIVE.Bulk=15,…") and `NEXUS_LOCAL_S3_DAY_SECS`.
    pub fn from_env() -> Result<GlacierTimes, String> {
        let mut t = GlacierTimes::default();
        if let Ok(v) = std::env::var("NEXUS_LOCAL_S3_RESTORE_SECS") {
            for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let bad =
                    || format!("NEXUS_LOCAL_S3_RESTORE_SECS: “{item}” is not CLASS.Tier=seconds");
                let (pair, secs) = item.split_once('=').ok_or_else(bad)?;
                let (class, tier) = pair.split_once('.').ok_or_else(bad)?;
                let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
                t.delays.retain(|(c, tr, _)| !(c == class && tr == tier));
                t.delays.push((class.to_string(), tier.to_string(), secs));
            }
        }
        if let Ok(v) = std::env::var("NEXUS_LOCAL_S3_DAY_SECS") {
            let secs: i64 = v
                .trim()
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or("NEXUS_LOCAL_S3_DAY_SECS must be a positive number of seconds")?;
            t.day_ms = secs * 1000;
        }
        Ok(t)
    }

    pub(super) fn delay_ms(&self, class: &str, tier: &str) -> Option<i64> {
        self.delays
            .iter()
            .find(|(c, t, _)| c == class && t == tier)
            .map(|(_, _, s)| *s as i64 * 1000)
    }
}

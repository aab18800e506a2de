//! Uploads: multipart, straight from the browser to S3 through presigned part URLs. The
//! server starts the upload, signs one URL per part (exact key, exact size, short-lived),
//! and completes it after checking the parts; it never receives file bytes.
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "hydrate")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod service;
pub mod ui;

pub const MIB: i64 = 1024 * 1024;
/// Smallest part we use (S3's minimum is 5 MiB; 8 MiB keeps request counts low).
pub const MIN_PART_SIZE: i64 = 8 * MIB;
/// S3's limit on parts in one upload.
pub const MAX_PARTS: i64 = 10_000;
/// S3's limit on one object.
pub const MAX_FILE_SIZE: i64 = 5 * 1024 * 1024 * MIB;

/// Part size for a file: at least 8 MiB, a whole number of MiB, and large enough that the
/// file needs no more than 10,000 parts (up to 5 TiB).
pub fn part_size_for(size: i64) -> i64 {
    let needed = (size + MAX_PARTS - 1) / MAX_PARTS;
    let rounded = (needed + MIB - 1) / MIB * MIB;
    rounded.max(MIN_PART_SIZE)
}

/// Number of parts of `part_size` that hold `size` bytes (an empty file is one empty part).
pub fn part_count(size: i64, part_size: i64) -> i64 {
    ((size + part_size - 1) / part_size).max(1)
}

/// Size of part `number` (1-based).
pub fn part_len(size: i64, part_size: i64, number: i64) -> i64 {
    (size - (number - 1) * part_size).clamp(0, part_size)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadTicket {
    pub upload_id: String,
    pub file_id: String,
    pub part_size: i64,
    pub part_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartUrl {
    pub number: i64,
    pub size: i64,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletedPart {
    pub number: i64,
    pub etag: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_stay_under_ten_thousand_parts_up_to_5_tib() {
        assert_eq!(part_size_for(0), MIN_PART_SIZE);
        assert_eq!(part_size_for(64 * MIB), MIN_PART_SIZE);
        assert_eq!(part_count(64 * MIB, MIN_PART_SIZE), 8);
        for size in [1, 8 * MIB, 80_000 * MIB, 100 * 1024 * MIB, MAX_FILE_SIZE] {
            let ps = part_size_for(size);
            assert!(ps >= MIN_PART_SIZE && ps % MIB == 0);
            assert!(part_count(size, ps) <= MAX_PARTS, "size {size}");
        }
        assert_eq!(part_size_for(MAX_FILE_SIZE), 525 * MIB);
    }

    #[test]
    fn the_last_part_holds_the_rest() {
        let size = 20 * MIB + 5;
        assert_eq!(part_count(size, 8 * MIB), 3);
        assert_eq!(part_len(size, 8 * MIB, 1), 8 * MIB);
        assert_eq!(part_len(size, 8 * MIB, 3), 4 * MIB + 5);
        assert_eq!(part_count(0, 8 * MIB), 1);
        assert_eq!(part_len(0, 8 * MIB, 1), 0);
    }
}

/// Upload progress as people should see it: bytes never go backwards, speed is measured over
/// the last few seconds, time left follows from both.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meter {
    pub total: i64,
    pub done: i64,
    /// (time ms, bytes done) over the last `WINDOW_MS`.
    samples: std::collections::VecDeque<(f64, i64)>,
}

impl Meter {
    const WINDOW_MS: f64 = 5_000.0;

    pub fn new(total: i64) -> Self {
        Meter {
            total,
            ..Default::default()
        }
    }

    /// Records `done` bytes at time `now_ms`; a smaller value (a retried part) is ignored.
    pub fn record(&mut self, now_ms: f64, done: i64) {
        self.done = self.done.max(done.min(self.total));
        self.samples.push_back((now_ms, self.done));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now_ms - t > Self::WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }

    pub fn percent(&self) -> f64 {
        if self.total <= 0 {
            100.0
        } else {
            self.done as f64 * 100.0 / self.total as f64
        }
    }

    /// Bytes per second over the window, once it spans at least half a second.
    pub fn speed(&self) -> Option<f64> {
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        (t1 - t0 >= 500.0).then(|| (b1 - b0) as f64 * 1000.0 / (t1 - t0))
    }

    pub fn seconds_left(&self) -> Option<f64> {
        let s = self.speed().filter(|s| *s > 0.0)?;
        Some((self.total - self.done) as f64 / s)
    }
}

#[cfg(test)]
mod meter_tests {
    use super::Meter;

    #[test]
    fn progress_never_goes_backwards_and_speed_uses_recent_samples() {
        let mut m = Meter::new(100_000_000);
        m.record(0.0, 0);
        m.record(1000.0, 10_000_000);
        m.record(1500.0, 8_000_000); // a retried part restarts its byte count
        assert_eq!(m.done, 10_000_000);
        m.record(2000.0, 20_000_000);
        assert_eq!(m.speed(), Some(10_000_000.0));
        assert_eq!(m.seconds_left(), Some(8.0));
        assert_eq!(m.percent(), 20.0);
        // Fast now after a slow start: only the last seconds count.
        let mut m = Meter::new(100_000_000);
        m.record(0.0, 0);
        m.record(1000.0, 1_000_000);
        m.record(7000.0, 61_000_000);
        m.record(8000.0, 71_000_000);
        assert_eq!(
            m.speed(),
            Some(10_000_000.0),
            "old samples leave the window"
        );
    }
}

//! What the CLI prints: human sizes, money, UTC times and aligned tables for people, one JSON
//! document for scripts (`--json`), and where progress bars may draw.
use indicatif::{ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::Write;

/// How the invocation wants to be talked to.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// One JSON document on stdout, nothing else there (scripts parse it).
    pub json: bool,
    /// No progress and no informational lines; results and errors still print.
    pub quiet: bool,
}

impl Ui {
    /// Progress goes to stderr so stdout stays clean for results. indicatif hides a stderr
    /// target by itself when stderr is not a terminal (CI logs, redirects).
    pub fn draw_target(&self) -> ProgressDrawTarget {
        if self.json || self.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        }
    }

    /// Whether informational lines ("uploaded …", summaries) are wanted.
    pub fn chatty(&self) -> bool {
        !self.json && !self.quiet
    }
}

/// A progress bar style from a template (the templates are constants; a bad one falls back to
/// the default bar rather than failing a transfer).
pub fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Writes a line to stdout. A closed pipe (`nexus ls | head`) is not an error worth a panic,
/// which is what `println!` would do.
pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.as_ref());
}

/// Prints the one JSON document of a `--json` run.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    say(text);
    Ok(())
}

/// Sizes in binary units, as storage bills and `du -h` count them.
pub fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n.unsigned_abs() < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = UNITS[0];
    for u in UNITS {
        value /= 1024.0;
        unit = u;
        if value.abs() < 1024.0 {
            break;
        }
    }
    if value.abs() < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// Dollars from micro-dollars: at least two decimals, more when the amount has them (deep
/// archive storage of a small file costs fractions of a cent, and "$0.00" would hide it).
/// Integer arithmetic, so no float ever rounds a price.
pub fn money(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let mut frac = format!("{:06}", m % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}${}.{frac}", m / 1_000_000)
}

/// A unix-ms time as `YYYY-MM-DD HH:MM UTC`. UTC on purpose: restore deadlines are compared
/// across machines and time zones, and no time-zone database is needed.
pub fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// [`utc_time`] of an optional time, "-" when there is none.
pub fn opt_time(ms: Option<i64>) -> String {
    ms.map(utc_time).unwrap_or_else(|| "-".to_string())
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A plain-text table: a header row and columns padded to their widest cell.
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            right: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns a column (numbers and sizes line up by their last digit).
    pub fn right(mut self, column: usize) -> Table {
        if let Some(r) = self.right.get_mut(column) {
            *r = true;
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        let text = self.render();
        say(text.trim_end_matches('\n'));
    }
}

/// A JSON field as display text: strings as they are, numbers and booleans printed, "-" for
/// null or missing. For listings whose fields the CLI only shows.
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".to_string(),
        serde_json::Value::String(s) if s.is_empty() => "-".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_two_decimals_and_shows_fractions_of_a_cent() {
        assert_eq!(money(0), "$0.00");
        assert_eq!(money(1_230_000), "$1.23");
        assert_eq!(money(12_000_000), "$12.00");
        assert_eq!(money(1_234_500), "$1.2345");
        assert_eq!(money(5), "$0.000005");
        assert_eq!(money(990_000), "$0.99");
        assert_eq!(money(-2_500_000), "-$2.50");
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_time(1_700_000_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_time(-86_400_000), "1969-12-31 00:00 UTC");
        assert_eq!(opt_time(None), "-");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["NAME", "SIZE"]).right(1);
        t.row(vec!["a".into(), "1 B".into()]);
        t.row(vec!["longer".into(), "10 MiB".into()]);
        assert_eq!(
            t.render(),
            "NAME      SIZE\na          1 B\nlonger  10 MiB\n"
        );
    }
}

//! The clock is a parameter: tests and reproducible runs pass a fixed time.

use jiff::{Timestamp, civil::Date, tz::TimeZone};

/// "Now" for a run: the real clock, or a fixed instant.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    now: Timestamp,
}

impl Clock {
    pub fn system() -> Clock {
        Clock {
            now: Timestamp::now(),
        }
    }

    /// Accepts `2026-11-25` or a full RFC 3339 timestamp.
    pub fn fixed(text: &str) -> Option<Clock> {
        let now = text.parse::<Timestamp>().ok().or_else(|| {
            text.parse::<Date>()
                .ok()
                .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })?;
        Some(Clock { now })
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn today(&self) -> Date {
        self.now.to_zoned(TimeZone::UTC).date()
    }

    /// Whole days from `date` to today (negative if `date` is in the future).
    pub fn days_since(&self, date: Date) -> i64 {
        date.until(self.today())
            .map(|span| i64::from(span.get_days()))
            .unwrap_or(0)
    }

    pub fn rfc3339(&self) -> String {
        self.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// A duration in seconds as people say it: "40 minutes", "16 hours", "5 days".
pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 3_600 => format!("{} minutes", s / 60),
        s if s < 2 * 86_400 => format!("{} hours", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

//! Cron schedules (issue 21): when a schedule fires, and what it does at
//! a tick whose previous job is still running or after ticks were missed.
//! Pure: the api validates with it, the scheduler fires with it
//! (scheduler/src/schedules.rs), docs/api.md ("Schedules") states the rules.
//!
//! Times: a cron expression (five fields, minute to day of week, or a macro
//! such as `@daily`) read in an IANA time zone. Daylight saving follows
//! croner's documented rules: in a spring-forward gap a fixed-time tick runs
//! at the first valid time after the gap, an interval tick inside the gap is
//! skipped; in a fall-back overlap a fixed-time tick runs once (the first
//! pass) and an interval tick runs in both passes.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use std::str::FromStr;

/// Ticks closer together than this are refused: a schedule is for
/// recurring work, not a queue.
pub const MIN_INTERVAL_SECS: i64 = 60;
/// With `catch_up: all`, at most this many missed ticks fire after a
/// downtime; the rest are recorded as missed.
pub const CATCH_UP_MAX: usize = 100;
/// With `catch_up: none`, a tick this late still fires (a scheduler's poll
/// or a short restart is not downtime).
pub const ON_TIME_GRACE_SECS: i64 = 60;

/// A parsed cron expression in its time zone.
#[derive(Debug, Clone)]
pub struct When {
    cron: Cron,
    tz: Tz,
}

/// Why an expression or a zone is refused (the api names the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error("{0}")]
    Cron(String),
    #[error("{0:?} is not an IANA time zone (for example Europe/Paris or UTC)")]
    Timezone(String),
}

impl When {
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, WhenError> {
        let tz = Tz::from_str(timezone).map_err(|_| WhenError::Timezone(timezone.to_owned()))?;
        let trimmed = cron.trim();
        let fields = trimmed.split_whitespace().count();
        if !trimmed.starts_with('@') && fields != 5 {
            return Err(WhenError::Cron(format!(
                "must have five fields (minute hour day-of-month month day-of-week) or be a macro such as @daily; got {fields}"
            )));
        }
        let cron = Cron::from_str(trimmed).map_err(|e| WhenError::Cron(e.to_string()))?;
        let when = Self { cron, tz };
        // The closest two ticks of the next few: a pattern firing more
        // often than once a minute is refused.
        let ticks = when.after(Utc::now(), 16);
        if ticks.is_empty() {
            return Err(WhenError::Cron("never fires".to_owned()));
        }
        if ticks
            .windows(2)
            .any(|w| (w[1] - w[0]).num_seconds() < MIN_INTERVAL_SECS)
        {
            return Err(WhenError::Cron(format!(
                "fires more often than once every {MIN_INTERVAL_SECS} seconds"
            )));
        }
        Ok(when)
    }

    /// The next `n` ticks strictly after `from`.
    pub fn after(&self, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron
            .iter_after(from.with_timezone(&self.tz))
            .take(n)
            .map(|t| t.with_timezone(&Utc))
            .collect()
    }

    /// The first tick strictly after `from`.
    pub fn next_after(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.after(from, 1).into_iter().next()
    }

    /// The ticks in `[first, now]` (`first` being the schedule's
    /// `next_fire_at`), at most `limit + 1` of them, so a caller can tell
    /// "more than `limit`".
    pub fn due(
        &self,
        first: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        if first > now {
            return Vec::new();
        }
        let mut ticks = vec![first];
        ticks.extend(
            self.cron
                .iter_after(first.with_timezone(&self.tz))
                .map(|t| t.with_timezone(&Utc))
                .take_while(|t| *t <= now)
                .take(limit),
        );
        ticks
    }
}

/// What a tick does while the schedule's previous job is unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Record the tick as skipped; submit nothing.
    Skip,
    /// Submit anyway: both run (within the plan's running cap).
    Queue,
    /// Cancel the previous job, then submit.
    CancelPrevious,
}

/// Which missed ticks fire after a downtime (ticks in the past when the
/// scheduler gets to the schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Only a tick at most `ON_TIME_GRACE_SECS` late fires.
    None,
    /// The latest missed tick fires, once.
    One,
    /// Every missed tick fires, up to `CATCH_UP_MAX`.
    All,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
            Overlap::CancelPrevious => "cancel_previous",
        }
    }
}

impl FromStr for Overlap {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "skip" => Ok(Overlap::Skip),
            "queue" => Ok(Overlap::Queue),
            "cancel_previous" => Ok(Overlap::CancelPrevious),
            _ => Err(()),
        }
    }
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::One => "one",
            CatchUp::All => "all",
        }
    }

    /// Of the due ticks (oldest first, from [`When::due`]), those that fire;
    /// the rest are missed.
    pub fn firing(self, due: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        match (self, due.last()) {
            (_, None) => Vec::new(),
            (CatchUp::None, Some(last)) => {
                match (now - *last).num_seconds() <= ON_TIME_GRACE_SECS {
                    true => vec![*last],
                    false => Vec::new(),
                }
            }
            (CatchUp::One, Some(last)) => vec![*last],
            (CatchUp::All, Some(_)) => due.iter().take(CATCH_UP_MAX).copied().collect(),
        }
    }
}

impl FromStr for CatchUp {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "none" => Ok(CatchUp::None),
            "one" => Ok(CatchUp::One),
            "all" => Ok(CatchUp::All),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn a_daily_tick_follows_its_zone_across_daylight_saving() -> Result<(), WhenError> {
        // 02:30 Paris time every day: on 2026-03-29 02:30 does not exist
        // (02:00 → 03:00): the tick runs at 03:00 local, 01:00 UTC. On
        // 2026-10-25 02:30 happens twice: the tick runs once.
        let when = When::parse("30 2 * * *", "Europe/Paris")?;
        let spring = when.after(utc("2026-03-27T12:00:00Z"), 3);
        assert_eq!(
            spring,
            [
                utc("2026-03-28T01:30:00Z"),
                utc("2026-03-29T01:00:00Z"),
                utc("2026-03-30T00:30:00Z")
            ]
        );
        let autumn = when.after(utc("2026-10-24T12:00:00Z"), 3);
        assert_eq!(
            autumn,
            [
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-26T01:30:00Z"),
                utc("2026-10-27T01:30:00Z")
            ]
        );
        Ok(())
    }

    #[test]
    fn an_hourly_tick_is_hourly_in_real_time_over_the_fall_back() -> Result<(), WhenError> {
        // Every hour at :00 in New York: the repeated hour fires twice.
        let when = When::parse("0 * * * *", "America/New_York")?;
        let ticks = when.after(utc("2026-11-01T04:30:00Z"), 4);
        let gaps: Vec<i64> = ticks
            .windows(2)
            .map(|w| (w[1] - w[0]).num_minutes())
            .collect();
        assert_eq!(gaps, [60, 60, 60], "{ticks:?}");
        Ok(())
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        for cron in ["* * * *", "* * * * * *", "61 * * * *", "nonsense", ""] {
            assert!(
                matches!(When::parse(cron, "UTC"), Err(WhenError::Cron(_))),
                "{cron}"
            );
        }
        assert!(
            When::parse("* * * * *", "UTC").is_ok(),
            "once a minute is the floor"
        );
        assert!(matches!(
            When::parse("0 0 * * *", "Mars/Olympus"),
            Err(WhenError::Timezone(_))
        ));
        assert!(When::parse("@daily", "Asia/Tokyo").is_ok());
    }

    #[test]
    fn missed_ticks_fire_by_the_catch_up_policy() -> Result<(), WhenError> {
        let when = When::parse("*/10 * * * *", "UTC")?;
        let first = Utc
            .with_ymd_and_hms(2026, 12, 6, 10, 0, 0)
            .single()
            .unwrap_or_default();
        let now = Utc
            .with_ymd_and_hms(2026, 12, 6, 10, 35, 0)
            .single()
            .unwrap_or_default();
        let due = when.due(first, now, CATCH_UP_MAX);
        assert_eq!(due.len(), 4, "10:00, 10:10, 10:20, 10:30: {due:?}");
        assert_eq!(CatchUp::All.firing(&due, now), due);
        assert_eq!(CatchUp::One.firing(&due, now), [due[3]]);
        assert!(
            CatchUp::None.firing(&due, now).is_empty(),
            "10:30 is 5 minutes late"
        );
        let just_after = due[3] + chrono::TimeDelta::seconds(30);
        assert_eq!(
            CatchUp::None.firing(&due, just_after),
            [due[3]],
            "30 s late fires"
        );
        assert!(
            when.due(now, first, 10).is_empty(),
            "nothing due before the first tick"
        );
        Ok(())
    }
}

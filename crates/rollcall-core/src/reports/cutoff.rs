//! [`LessonCutoff`]: the time of day by which every lesson of the day should have its
//! attendance taken (the school's choice, default 09:30). After it, the lessons still without
//! attendance are shown on the Today board, notified once and exported (see
//! [`super::not_taken`]).

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The earliest cutoff that may be chosen: before it, no school has taken attendance.
pub const EARLIEST_CUTOFF: LessonCutoff = LessonCutoff { minutes: 5 * 60 };
/// The latest cutoff that may be chosen: after it, the school day is over.
pub const LATEST_CUTOFF: LessonCutoff = LessonCutoff { minutes: 20 * 60 };

/// A time of day to the minute, written `HH:MM` (24-hour clock) in `rollcall.toml`, in the API
/// and in the window. The office's local time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LessonCutoff {
    /// Minutes since midnight.
    minutes: u16,
}

impl LessonCutoff {
    /// `hour:minute`, `None` when it is not a time of day.
    pub const fn at(hour: u16, minute: u16) -> Option<Self> {
        if hour < 24 && minute < 60 {
            Some(Self {
                minutes: hour * 60 + minute,
            })
        } else {
            None
        }
    }

    /// Reads `9:30` or `09:30`; the error is a sentence for the person who wrote it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let wrong = || {
            format!(
                "`{text}` is not a time of day: write it as hours and minutes on a 24-hour \
                 clock, such as 09:30."
            )
        };
        let (h, m) = text.trim().split_once(':').ok_or_else(wrong)?;
        let number = |s: &str, max_len: usize| {
            (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u16>().ok())
                .flatten()
        };
        match (number(h, 2), number(m, 2).filter(|_| m.len() == 2)) {
            (Some(h), Some(m)) => Self::at(h, m).ok_or_else(wrong),
            _ => Err(wrong()),
        }
    }

    /// Whether the cutoff may be chosen: between [`EARLIEST_CUTOFF`] and [`LATEST_CUTOFF`].
    pub fn within_limits(&self) -> bool {
        (EARLIEST_CUTOFF..=LATEST_CUTOFF).contains(self)
    }

    pub fn time(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(
            u32::from(self.minutes / 60),
            u32::from(self.minutes % 60),
            0,
        )
        .expect("a cutoff is a time of day")
    }

    /// Whether, at `now` (the office's local time), the cutoff of `day` has passed: always for
    /// a day before today, never for a day after, from the cutoff itself on today.
    pub fn has_passed(&self, day: NaiveDate, now: NaiveDateTime) -> bool {
        let today = now.date();
        day < today || (day == today && now.time().with_nanosecond(0) >= Some(self.time()))
    }
}

impl Default for LessonCutoff {
    fn default() -> Self {
        Self {
            minutes: 9 * 60 + 30,
        }
    }
}

impl fmt::Display for LessonCutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl fmt::Debug for LessonCutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LessonCutoff({self})")
    }
}

impl Serialize for LessonCutoff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LessonCutoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, time: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(&format!("{day} {time}"), "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn cutoffs_are_read_and_written_as_hours_and_minutes() {
        assert_eq!(LessonCutoff::default().to_string(), "09:30");
        assert_eq!(LessonCutoff::parse("9:05").unwrap().to_string(), "09:05");
        assert_eq!(LessonCutoff::parse(" 14:00 ").unwrap().to_string(), "14:00");
        for wrong in [
            "", "9", "9:5", "24:00", "09:60", "9h30", "-1:30", "09:30:00", "1 :30",
        ] {
            let err = LessonCutoff::parse(wrong).unwrap_err();
            assert!(err.contains("such as 09:30"), "{wrong}: {err}");
        }
        assert!(LessonCutoff::parse("05:00").unwrap().within_limits());
        assert!(LessonCutoff::parse("20:00").unwrap().within_limits());
        assert!(!LessonCutoff::parse("04:59").unwrap().within_limits());
        assert!(!LessonCutoff::parse("20:01").unwrap().within_limits());
    }

    #[test]
    fn the_cutoff_passes_at_its_minute_on_the_day_and_has_passed_for_earlier_days() {
        let cutoff = LessonCutoff::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        assert!(!cutoff.has_passed(day, at("2026-11-02", "09:29:59")));
        assert!(cutoff.has_passed(day, at("2026-11-02", "09:30:00")));
        assert!(cutoff.has_passed(day, at("2026-11-03", "07:00:00")));
        assert!(!cutoff.has_passed(day, at("2026-11-01", "23:00:00")));
    }
}

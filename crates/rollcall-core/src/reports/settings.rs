//! The thresholds reports and alerts use, in one place with their defaults and their limits.

use super::cutoff::LessonCutoff;
use super::limits::{ThresholdProblem, MAX_ABSENT_DAYS_IN_ROW, MAX_TERM_DAYS};

/// Report and alert thresholds. The school's choice is saved in the `[reports]` part of
/// `rollcall.toml` (see [`crate::config::ReportThresholds`]) and changed from Settings; a
/// request may still override the chronic threshold for one report (`--chronic-threshold`,
/// `?threshold=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportSettings {
    /// A student is chronically absent when absences (absent + excused) are at least this
    /// share of their sessions. 0.10 is the usual definition: 10% of sessions or more.
    pub chronic_threshold: f64,
    /// An alert is raised for a student with at least this many absences on one day.
    pub absences_per_day: u32,
    /// The "current term" for chronic-absence alerts: this many days up to today.
    pub term_days: u32,
    /// A student is only judged for chronic absence once their records cover at least this
    /// many different days of the range; before that it is "too early to tell" (see
    /// "what the numbers mean" in [`crate::reports`]).
    pub chronic_min_days: u32,
    /// An alert is raised for a student absent on this many school days in a row (see
    /// [`super::absent_days`] for what an absent day and "in a row" mean).
    pub absent_days_in_row: u32,
    /// After this time of day, the lessons expected today with no attendance yet are shown,
    /// notified and exported as "not taken yet" (see [`super::not_taken`]).
    pub lesson_cutoff: LessonCutoff,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            chronic_threshold: 0.10,
            absences_per_day: 2,
            term_days: 90,
            chronic_min_days: 10,
            absent_days_in_row: 3,
            lesson_cutoff: LessonCutoff::default(),
        }
    }
}

impl ReportSettings {
    /// Whether every threshold is within its limits; the first one that is not, otherwise.
    pub fn check(&self) -> Result<(), ThresholdProblem> {
        if !(0.0..=1.0).contains(&self.chronic_threshold) {
            return Err(ThresholdProblem::ChronicThreshold(self.chronic_threshold));
        }
        if self.absences_per_day < 1 {
            return Err(ThresholdProblem::AbsencesPerDay(self.absences_per_day));
        }
        if !(1..=MAX_TERM_DAYS).contains(&self.term_days) {
            return Err(ThresholdProblem::TermDays(self.term_days));
        }
        if !(1..=MAX_TERM_DAYS).contains(&self.chronic_min_days) {
            return Err(ThresholdProblem::ChronicMinDays(self.chronic_min_days));
        }
        if !(2..=MAX_ABSENT_DAYS_IN_ROW).contains(&self.absent_days_in_row) {
            return Err(ThresholdProblem::AbsentDaysInRow(self.absent_days_in_row));
        }
        if !self.lesson_cutoff.within_limits() {
            return Err(ThresholdProblem::LessonCutoff(self.lesson_cutoff));
        }
        Ok(())
    }

    /// Checks a threshold given by a person (a share between 0 and 1, such as 0.1).
    pub fn parse_threshold(s: &str) -> Result<f64, String> {
        match s.trim().parse::<f64>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
            _ => Err(format!(
                "`{s}` is not a share between 0 and 1 (write 0.1 for 10%)"
            )),
        }
    }

    /// [`parse_threshold`](Self::parse_threshold) for a number already read (the API's).
    pub fn check_threshold(t: f64) -> Result<f64, String> {
        if (0.0..=1.0).contains(&t) {
            Ok(t)
        } else {
            Err(format!(
                "The threshold {t} is not a share between 0 and 1 (write 0.1 for 10%)."
            ))
        }
    }

    /// What can be said of a student with `absences` out of `sessions` over `days` different
    /// days with records: too early before [`chronic_min_days`](Self::chronic_min_days),
    /// otherwise whether the threshold is reached.
    pub fn chronic_verdict(&self, absences: i64, sessions: i64, days: i64) -> ChronicVerdict {
        if days < i64::from(self.chronic_min_days) {
            ChronicVerdict::TooEarly
        } else if self.is_chronic(absences, sessions) {
            ChronicVerdict::Chronic
        } else {
            ChronicVerdict::NotChronic
        }
    }

    /// Whether `absences` out of `sessions` reach the chronic threshold. Compared on whole
    /// numbers (the threshold in millionths), so 3 of 30 at 0.1 is chronic, exactly.
    pub fn is_chronic(&self, absences: i64, sessions: i64) -> bool {
        let millionths = (self.chronic_threshold * 1_000_000.0).round() as i128;
        sessions > 0 && absences as i128 * 1_000_000 >= millionths * sessions as i128
    }
}

/// Whether a student is chronically absent, or whether it is too early to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChronicVerdict {
    Chronic,
    NotChronic,
    /// Fewer days with records than [`ReportSettings::chronic_min_days`].
    TooEarly,
}

impl ChronicVerdict {
    /// The students export's `chronic_absence` value.
    pub fn as_csv(self) -> &'static str {
        match self {
            Self::Chronic => "yes",
            Self::NotChronic => "no",
            Self::TooEarly => "too early to tell",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_days_are_too_early_to_tell() {
        let s = ReportSettings::default();
        assert_eq!(s.chronic_min_days, 10);
        assert_eq!(s.chronic_verdict(5, 5, 9), ChronicVerdict::TooEarly);
        assert_eq!(s.chronic_verdict(0, 5, 9), ChronicVerdict::TooEarly);
        assert_eq!(s.chronic_verdict(5, 50, 10), ChronicVerdict::Chronic);
        assert_eq!(s.chronic_verdict(4, 50, 10), ChronicVerdict::NotChronic);
        assert_eq!(ChronicVerdict::TooEarly.as_csv(), "too early to tell");
    }

    #[test]
    fn chronic_is_at_or_above_the_threshold() {
        let s = ReportSettings::default();
        assert!(s.is_chronic(3, 30));
        assert!(s.is_chronic(1, 10));
        assert!(!s.is_chronic(2, 21));
        assert!(!s.is_chronic(0, 0));
        assert!(!s.is_chronic(0, 5));
        let zero = ReportSettings {
            chronic_threshold: 0.0,
            ..s
        };
        assert!(zero.is_chronic(0, 5));
    }

    #[test]
    fn the_defaults_are_within_the_limits_and_each_limit_is_checked() {
        let ok = ReportSettings::default();
        assert_eq!(ok.check(), Ok(()));
        let edges = ReportSettings {
            chronic_threshold: 1.0,
            absences_per_day: 1,
            term_days: MAX_TERM_DAYS,
            chronic_min_days: MAX_TERM_DAYS,
            absent_days_in_row: MAX_ABSENT_DAYS_IN_ROW,
            lesson_cutoff: super::super::cutoff::LATEST_CUTOFF,
        };
        assert_eq!(edges.check(), Ok(()));
        let cases = [
            (
                ReportSettings {
                    chronic_threshold: 1.5,
                    ..ok
                },
                ThresholdProblem::ChronicThreshold(1.5),
            ),
            (
                ReportSettings {
                    chronic_threshold: -0.1,
                    ..ok
                },
                ThresholdProblem::ChronicThreshold(-0.1),
            ),
            (
                ReportSettings {
                    chronic_threshold: f64::NAN,
                    ..ok
                },
                ThresholdProblem::ChronicThreshold(f64::NAN),
            ),
            (
                ReportSettings {
                    absences_per_day: 0,
                    ..ok
                },
                ThresholdProblem::AbsencesPerDay(0),
            ),
            (
                ReportSettings { term_days: 0, ..ok },
                ThresholdProblem::TermDays(0),
            ),
            (
                ReportSettings {
                    term_days: 367,
                    ..ok
                },
                ThresholdProblem::TermDays(367),
            ),
            (
                ReportSettings {
                    chronic_min_days: 0,
                    ..ok
                },
                ThresholdProblem::ChronicMinDays(0),
            ),
            (
                ReportSettings {
                    absent_days_in_row: 1,
                    ..ok
                },
                ThresholdProblem::AbsentDaysInRow(1),
            ),
            (
                ReportSettings {
                    absent_days_in_row: MAX_ABSENT_DAYS_IN_ROW + 1,
                    ..ok
                },
                ThresholdProblem::AbsentDaysInRow(MAX_ABSENT_DAYS_IN_ROW + 1),
            ),
            (
                ReportSettings {
                    lesson_cutoff: LessonCutoff::at(4, 59).unwrap(),
                    ..ok
                },
                ThresholdProblem::LessonCutoff(LessonCutoff::at(4, 59).unwrap()),
            ),
        ];
        for (settings, expected) in cases {
            let problem = settings.check().unwrap_err();
            assert_eq!(problem.key(), expected.key(), "{settings:?}");
        }
    }

    #[test]
    fn thresholds_are_shares() {
        assert_eq!(ReportSettings::parse_threshold("0.15"), Ok(0.15));
        assert!(ReportSettings::parse_threshold("15").is_err());
        assert!(ReportSettings::parse_threshold("-0.1").is_err());
        assert!(ReportSettings::parse_threshold("ten").is_err());
    }
}

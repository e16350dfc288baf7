//! The limits of the report and alert thresholds, and what to say when a value is outside
//! them: to a person in the window, or about a line of `rollcall.toml`.
//!
//! The check itself is [`ReportSettings::check`](super::ReportSettings::check).

use super::cutoff::{LessonCutoff, EARLIEST_CUTOFF, LATEST_CUTOFF};

/// The longest "current term" that may be chosen: a school year, leap day included.
pub const MAX_TERM_DAYS: u32 = 366;

/// The longest run of absent school days an alert may wait for: six school weeks.
pub const MAX_ABSENT_DAYS_IN_ROW: u32 = 30;

/// A threshold outside what makes sense, with the value that was given. Shown in the words of
/// whoever gave it: [`sentence`](Self::sentence) for a person in the window, the setting's
/// name in `rollcall.toml` for the file (see [`crate::config`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdProblem {
    ChronicThreshold(f64),
    AbsencesPerDay(u32),
    TermDays(u32),
    ChronicMinDays(u32),
    AbsentDaysInRow(u32),
    LessonCutoff(LessonCutoff),
}

impl ThresholdProblem {
    /// The setting's name in `rollcall.toml`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::ChronicThreshold(_) => "chronic_threshold",
            Self::AbsencesPerDay(_) => "absences_per_day",
            Self::TermDays(_) => "term_days",
            Self::ChronicMinDays(_) => "chronic_min_days",
            Self::AbsentDaysInRow(_) => "absent_days_in_row",
            Self::LessonCutoff(_) => "lesson_cutoff",
        }
    }

    /// What is wrong and what to choose instead, for a person (shares written as percentages,
    /// as the window shows them).
    pub fn sentence(&self) -> String {
        match *self {
            Self::ChronicThreshold(t) => format!(
                "A chronic-absence threshold of {}% is not possible: choose between 0% and 100% \
                 of lessons missed (10% is the usual choice).",
                percent(t)
            ),
            Self::AbsencesPerDay(_) => "The number of absences in one day that raises an alert \
                 must be at least 1."
                .to_string(),
            Self::TermDays(days) => format!(
                "A term of {days} days is not possible: choose between 1 and {MAX_TERM_DAYS} days."
            ),
            Self::ChronicMinDays(days) => format!(
                "Judging chronic absence after {days} days of records is not possible: choose \
                 between 1 and {MAX_TERM_DAYS} days (10 is the usual choice)."
            ),
            Self::AbsentDaysInRow(days) => format!(
                "An alert after {days} absent school days in a row is not possible: choose \
                 between 2 and {MAX_ABSENT_DAYS_IN_ROW} days (3 is the usual choice)."
            ),
            Self::LessonCutoff(cutoff) => format!(
                "A cutoff at {cutoff} is not possible: choose a time between {EARLIEST_CUTOFF} \
                 and {LATEST_CUTOFF}, such as 09:30."
            ),
        }
    }

    /// What to write in `rollcall.toml` instead.
    pub fn file_hint(&self) -> String {
        match self {
            Self::ChronicThreshold(_) => "a share between 0 and 1, such as 0.1 for 10%".into(),
            Self::AbsencesPerDay(_) => "a whole number of 1 or more, such as 2".into(),
            Self::TermDays(_) => {
                format!("a whole number of days from 1 to {MAX_TERM_DAYS}, such as 90")
            }
            Self::ChronicMinDays(_) => {
                format!("a whole number of days from 1 to {MAX_TERM_DAYS}, such as 10")
            }
            Self::AbsentDaysInRow(_) => {
                format!("a whole number of days from 2 to {MAX_ABSENT_DAYS_IN_ROW}, such as 3")
            }
            Self::LessonCutoff(_) => format!(
                "a time between \"{EARLIEST_CUTOFF}\" and \"{LATEST_CUTOFF}\", such as \"09:30\""
            ),
        }
    }
}

/// A share as a percentage for a sentence: 0.125 → "12.5", without float noise.
fn percent(share: f64) -> String {
    let rounded = (share * 100.0 * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_sentences_in_percent_and_days() {
        assert_eq!(
            ThresholdProblem::ChronicThreshold(15.0).sentence(),
            "A chronic-absence threshold of 1500% is not possible: choose between 0% and 100% \
             of lessons missed (10% is the usual choice)."
        );
        assert!(ThresholdProblem::ChronicThreshold(1.125)
            .sentence()
            .contains("of 112.5%"));
        assert!(ThresholdProblem::TermDays(400)
            .sentence()
            .contains("between 1 and 366 days"));
        assert!(ThresholdProblem::AbsencesPerDay(0)
            .sentence()
            .contains("at least 1"));
        assert_eq!(
            ThresholdProblem::LessonCutoff(LessonCutoff::at(3, 0).unwrap()).sentence(),
            "A cutoff at 03:00 is not possible: choose a time between 05:00 and 20:00, such as \
             09:30."
        );
        assert!(ThresholdProblem::AbsentDaysInRow(1)
            .sentence()
            .contains("between 2 and 30 days"));
    }
}

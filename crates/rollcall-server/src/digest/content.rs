//! What one day's digest says: today's absences (each student with the lessons missed), the
//! alerts today's absences raised, and, when given, the lessons without attendance. Names are
//! resolved as the UI shows them ("Student #4", "Class 34" until DreamClass names them), and
//! the same content is written as plain text and as simple HTML.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{Local, NaiveDate, TimeZone};
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::StatusCategory;
use rollcall_core::reports::{Alert, ReportSettings};
use rollcall_core::scope::Scope;
use rollcall_core::store::{SharedStore, StoreError};

/// The most attendance records of one day read for the digest; a larger day says so.
pub const MAX_RECORDS: usize = 20_000;

/// One student absent today, with the lessons missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsentStudent {
    pub name: String,
    pub lessons: Vec<AbsentLesson>,
}

/// One lesson (or a whole day, for daily attendance) a student was absent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsentLesson {
    /// "Mathematics, 5A", or "the whole day, 5A".
    pub lesson: String,
    /// The status as DreamClass names it ("Absent", "Excused, doctor").
    pub status: String,
}

/// One lesson whose attendance was not taken by the cutoff, as the "lessons not taken"
/// report gives it. Names are already resolved by that report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonNotTaken {
    pub class: String,
    /// The course, or `None` when only the class's day is known.
    pub course: Option<String>,
    /// When it was due, as the office reads it ("by 09:30", "period 2, 08:50").
    pub due: String,
    /// Whether the lesson is inferred (DreamClass gave no timetable) rather than known.
    pub inferred: bool,
}

/// Everything one digest says.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestContent {
    pub school: String,
    pub date: NaiveDate,
    /// Students absent today (absent or excused), by name.
    pub absences: Vec<AbsentStudent>,
    /// More records than [`MAX_RECORDS`] were on the day: the list is incomplete.
    pub truncated: bool,
    /// The alerts today's absences raised, as sentences.
    pub alerts: Vec<String>,
    /// The "Lessons not taken" section: `None` leaves it out (not computed), `Some` shows it
    /// (an empty list says every lesson was taken).
    pub lessons_not_taken: Option<Vec<LessonNotTaken>>,
}

/// Reads today's absences and alerts from the store, with names.
pub async fn gather(
    store: &SharedStore,
    school: &str,
    date: NaiveDate,
    settings: &ReportSettings,
) -> Result<DigestContent, StoreError> {
    let scope = Scope::all();
    let filter = RecordFilter {
        date: Some(date.format("%Y-%m-%d").to_string()),
        ..Default::default()
    };
    let rows = store
        .attendance(&scope, &filter, false, MAX_RECORDS)
        .await?;
    let reference = store.reference(&scope).await?;
    let statuses: HashMap<i64, (&str, StatusCategory)> = reference
        .statuses
        .iter()
        .map(|s| (s.id, (s.name.as_str(), s.category)))
        .collect();
    let names = |list: &[rollcall_core::store::reference::ReferenceName]| -> HashMap<i64, String> {
        list.iter().map(|n| (n.id, n.name.clone())).collect()
    };
    let classes = names(&reference.classes);
    let courses = names(&reference.courses);
    let students: HashMap<i64, &str> = reference
        .students
        .iter()
        .map(|s| (s.student_period_id, s.name.as_str()))
        .collect();

    let mut by_student: BTreeMap<i64, Vec<AbsentLesson>> = BTreeMap::new();
    for row in &rows {
        let Some(&(status, category)) = statuses.get(&row.status_id) else {
            continue; // An unnamed status counts as "other", as in the reports.
        };
        if !matches!(category, StatusCategory::Absent | StatusCategory::Excused) {
            continue;
        }
        let class =
            known(classes.get(&row.class_id)).unwrap_or_else(|| format!("Class {}", row.class_id));
        let lesson = if row.kind.eq_ignore_ascii_case("daily") {
            format!("the whole day, {class}")
        } else {
            let course = known(courses.get(&row.course_id))
                .unwrap_or_else(|| format!("Course {}", row.course_id));
            format!("{course}, {class}")
        };
        by_student
            .entry(row.student_period_id)
            .or_default()
            .push(AbsentLesson {
                lesson,
                status: status.to_string(),
            });
    }
    let mut absences: Vec<AbsentStudent> = by_student
        .into_iter()
        .map(|(id, lessons)| AbsentStudent {
            name: known(students.get(&id).map(|s| s.to_string()).as_ref())
                .unwrap_or_else(|| format!("Student #{id}")),
            lessons,
        })
        .collect();
    absences.sort_by(|a, b| a.name.cmp(&b.name));

    let alerts = store
        .alerts(&scope, date, settings)
        .await?
        .into_iter()
        .filter(|alert| raised_on(alert, date))
        .map(|alert| alert.message)
        .collect();
    Ok(DigestContent {
        school: school.to_string(),
        date,
        absences,
        truncated: rows.len() >= MAX_RECORDS,
        alerts,
        lessons_not_taken: None,
    })
}

/// A stored name that is not blank.
fn known(name: Option<&String>) -> Option<String> {
    name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

/// Whether an alert is new today: its latest absence counted is of `date` (local time).
/// Today's-absences alerts always are; a chronic-absence alert is when today's absence
/// renewed it.
fn raised_on(alert: &Alert, date: NaiveDate) -> bool {
    Local
        .timestamp_millis_opt(alert.at)
        .single()
        .is_some_and(|at| at.date_naive() == date)
}

impl DigestContent {
    /// The hook of the "Lessons not taken" section: the rows the lessons-not-taken report gives
    /// for this day, shown in the digest as they are.
    pub fn with_lessons_not_taken(mut self, rows: Vec<LessonNotTaken>) -> Self {
        self.lessons_not_taken = Some(rows);
        self
    }

    /// "Thursday 3 December 2026".
    pub fn date_words(&self) -> String {
        self.date.format("%A %-d %B %Y").to_string()
    }

    pub fn subject(&self) -> String {
        format!("Rollcall digest for {}: {}", self.school, self.date_words())
    }

    /// The digest as plain text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.subject());
        let _ = writeln!(out, "{}", self.absences_heading());
        if self.absences.is_empty() {
            let _ = writeln!(out, "No student was absent today.");
        }
        for student in &self.absences {
            let lessons: Vec<String> = student.lessons.iter().map(lesson_words).collect();
            let _ = writeln!(out, "- {}: {}", student.name, lessons.join("; "));
        }
        if self.truncated {
            let _ = writeln!(out, "{}", truncated_sentence());
        }
        let _ = writeln!(out, "\n{}", self.alerts_heading());
        if self.alerts.is_empty() {
            let _ = writeln!(out, "No new alert today.");
        }
        for alert in &self.alerts {
            let _ = writeln!(out, "- {alert}");
        }
        if let Some(lessons) = &self.lessons_not_taken {
            let _ = writeln!(out, "\n{}", lessons_not_taken_heading(lessons));
            if lessons.is_empty() {
                let _ = writeln!(out, "Attendance was taken in every lesson.");
            }
            for lesson in lessons {
                let _ = writeln!(out, "- {}", not_taken_words(lesson));
            }
        }
        let _ = writeln!(
            out,
            "\nSent by Rollcall. Open Rollcall's Reports for the details."
        );
        out
    }

    /// The digest as simple HTML (the same content as [`Self::text`]).
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; color: #222;\">\n",
        );
        let _ = writeln!(
            out,
            "<h1 style=\"font-size: 1.3em;\">{}</h1>",
            esc(&self.subject())
        );
        let _ = writeln!(
            out,
            "<h2 style=\"font-size: 1.1em;\">{}</h2>",
            esc(&self.absences_heading())
        );
        if self.absences.is_empty() {
            out.push_str("<p>No student was absent today.</p>\n");
        } else {
            out.push_str("<ul>\n");
            for student in &self.absences {
                let lessons: Vec<String> = student
                    .lessons
                    .iter()
                    .map(|l| esc(&lesson_words(l)))
                    .collect();
                let _ = writeln!(
                    out,
                    "<li><strong>{}</strong>: {}</li>",
                    esc(&student.name),
                    lessons.join("; ")
                );
            }
            out.push_str("</ul>\n");
        }
        if self.truncated {
            let _ = writeln!(out, "<p>{}</p>", esc(truncated_sentence()));
        }
        let _ = writeln!(
            out,
            "<h2 style=\"font-size: 1.1em;\">{}</h2>",
            esc(&self.alerts_heading())
        );
        if self.alerts.is_empty() {
            out.push_str("<p>No new alert today.</p>\n");
        } else {
            out.push_str("<ul>\n");
            for alert in &self.alerts {
                let _ = writeln!(out, "<li>{}</li>", esc(alert));
            }
            out.push_str("</ul>\n");
        }
        if let Some(lessons) = &self.lessons_not_taken {
            let _ = writeln!(
                out,
                "<h2 style=\"font-size: 1.1em;\">{}</h2>",
                esc(&lessons_not_taken_heading(lessons))
            );
            if lessons.is_empty() {
                out.push_str("<p>Attendance was taken in every lesson.</p>\n");
            } else {
                out.push_str("<ul>\n");
                for lesson in lessons {
                    let _ = writeln!(out, "<li>{}</li>", esc(&not_taken_words(lesson)));
                }
                out.push_str("</ul>\n");
            }
        }
        out.push_str(
            "<p style=\"color: #555;\">Sent by Rollcall. Open Rollcall's Reports for the \
             details.</p>\n</body></html>\n",
        );
        out
    }

    fn absences_heading(&self) -> String {
        match self.absences.len() {
            1 => "Absent today (1 student)".into(),
            n => format!("Absent today ({n} students)"),
        }
    }

    fn alerts_heading(&self) -> String {
        match self.alerts.len() {
            0 => "New alerts".into(),
            n => format!("New alerts ({n})"),
        }
    }
}

fn lesson_words(lesson: &AbsentLesson) -> String {
    format!("{} ({})", lesson.lesson, lesson.status)
}

fn truncated_sentence() -> &'static str {
    "This day has more records than the digest reads; open Rollcall for the full list."
}

fn lessons_not_taken_heading(lessons: &[LessonNotTaken]) -> String {
    match lessons.len() {
        0 => "Lessons not taken".into(),
        n => format!("Lessons not taken ({n})"),
    }
}

fn not_taken_words(lesson: &LessonNotTaken) -> String {
    let what = match &lesson.course {
        Some(course) => format!("{course}, {}", lesson.class),
        None => lesson.class.clone(),
    };
    let inferred = if lesson.inferred {
        " (inferred: DreamClass gives no timetable)"
    } else {
        ""
    };
    format!("{what}: no attendance {}{inferred}", lesson.due)
}

/// Text made safe inside HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> DigestContent {
        DigestContent {
            school: "Hill <School>".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            absences: vec![AbsentStudent {
                name: "O'Brien, Seán".into(),
                lessons: vec![AbsentLesson {
                    lesson: "Mathematics, 5A".into(),
                    status: "Absent".into(),
                }],
            }],
            truncated: false,
            alerts: vec!["O'Brien, Seán has been absent in 2 lessons today.".into()],
            lessons_not_taken: None,
        }
    }

    #[test]
    fn text_and_html_say_the_same_and_html_is_escaped() {
        let c = content();
        assert_eq!(
            c.subject(),
            "Rollcall digest for Hill <School>: Monday 2 November 2026"
        );
        let text = c.text();
        assert!(
            text.contains("Absent today (1 student)\n- O'Brien, Seán: Mathematics, 5A (Absent)"),
            "{text}"
        );
        assert!(
            text.contains("- O'Brien, Seán has been absent in 2 lessons today."),
            "{text}"
        );
        assert!(
            !text.contains("Lessons not taken"),
            "no section without rows: {text}"
        );
        let html = c.html();
        assert!(html.contains("Hill &lt;School&gt;"), "{html}");
        assert!(html.contains("O&#39;Brien, Seán"), "{html}");
        assert!(!html.contains("<School>"), "{html}");
    }

    #[test]
    fn the_lessons_not_taken_section_shows_when_given() {
        let c = content().with_lessons_not_taken(vec![LessonNotTaken {
            class: "6B".into(),
            course: Some("Physics".into()),
            due: "by 09:30".into(),
            inferred: true,
        }]);
        let text = c.text();
        assert!(
            text.contains("Lessons not taken (1)\n- Physics, 6B: no attendance by 09:30 (inferred"),
            "{text}"
        );
        assert!(c.html().contains("Physics, 6B: no attendance by 09:30"));
        let none = content().with_lessons_not_taken(Vec::new());
        assert!(none
            .text()
            .contains("Attendance was taken in every lesson."));
    }
}

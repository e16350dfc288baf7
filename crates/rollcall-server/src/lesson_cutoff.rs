//! The cutoff notice: once the school's lesson cutoff (default 09:30) has passed on a school
//! day, the office is told once which lessons have no attendance yet (core's
//! `reports::not_taken` says how they are inferred). The notice goes to every live subscriber
//! as a `lessonsNotTaken` stream event (the window shows it, the desktop turns it into a
//! system notification), the same path as the other notices.
//!
//! A school with its own thresholds (Settings > Thresholds, for one school) is told about at
//! its own cutoff, in a notice of its own that names it; the other schools share the
//! installation's cutoff and one notice. What was told is remembered per school
//! ([`SchoolMemories`]), so regrouping the schools does not tell a day again.
//!
//! Once per cutoff per day: a day is told about at most once for each cutoff time, so moving
//! the cutoff later in the day (09:30 to 10:00) tells again at the new time, and the check of
//! a day that had nothing to tell is not repeated. A server started after the cutoff tells at
//! once (an office PC switched on at 09:45 should still hear of it); the memory is the
//! process's own, so a restart later that day tells again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use rollcall_core::reports::{LessonCutoff, NotTakenDay};
use rollcall_core::Scope;
use serde::Serialize;
use ts_rs::TS;

use crate::state::{AppState, Notice};

/// The office's local time, as the cutoff is compared with it. Tests give their own.
#[derive(Clone)]
pub struct LocalClock(Arc<dyn Fn() -> NaiveDateTime + Send + Sync>);

impl LocalClock {
    /// The computer's local time.
    pub fn system() -> Self {
        Self(Arc::new(|| chrono::Local::now().naive_local()))
    }

    /// A clock that reads `now` each time (tests move it on).
    pub fn shared(now: Arc<Mutex<NaiveDateTime>>) -> Self {
        Self(Arc::new(move || *now.lock().expect("clock lock")))
    }

    pub fn now(&self) -> NaiveDateTime {
        (self.0)()
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }
}

impl Default for LocalClock {
    fn default() -> Self {
        Self::system()
    }
}

/// How often the cutoff is looked at: often enough to tell within the minute.
pub const CHECK_EVERY: Duration = Duration::from_secs(20);

/// What the `lessonsNotTaken` stream event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LessonsNotTakenNotice {
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    /// The cutoff that passed (`HH:MM`).
    pub cutoff: String,
    /// Lessons expected (inferred) without attendance.
    pub count: u32,
    /// A sentence for the office.
    pub message: String,
    /// The schools the notice counts (every school, or one with its own cutoff).
    #[serde(skip)]
    #[ts(skip)]
    pub about: Scope,
}

/// The days (and cutoffs) already told about.
#[derive(Debug, Default)]
pub struct CutoffMemory {
    checked: Option<(NaiveDate, LessonCutoff)>,
}

impl CutoffMemory {
    /// The day to check now, if its cutoff has passed and it was not checked for this cutoff.
    pub fn due(&self, now: NaiveDateTime, cutoff: LessonCutoff) -> Option<NaiveDate> {
        let today = now.date();
        let passed = cutoff.has_passed(today, now);
        (passed && self.checked != Some((today, cutoff))).then_some(today)
    }

    /// `day` was checked for `cutoff`: not again today at this cutoff.
    pub fn checked(&mut self, day: NaiveDate, cutoff: LessonCutoff) {
        self.checked = Some((day, cutoff));
    }
}

/// What was told, per school (its tenant; `*` for every school, a Rollcall of one school): a
/// group of schools with the same cutoff is due when any of its schools is, and is then
/// checked for all of them. So a school moved into a group of its own keeps what it was
/// told (it is told again only if its cutoff is another one), and so does the group it left.
#[derive(Debug, Default)]
pub struct SchoolMemories(HashMap<String, CutoffMemory>);

impl SchoolMemories {
    /// The keys of `scope`'s schools.
    fn keys(scope: &Scope) -> Vec<String> {
        match scope.tenant_list() {
            Some(tenants) => tenants.to_vec(),
            None => vec!["*".to_string()],
        }
    }

    /// The day to check now for `scope`'s schools at `cutoff`, if any of them is due.
    pub fn due(
        &self,
        scope: &Scope,
        now: NaiveDateTime,
        cutoff: LessonCutoff,
    ) -> Option<NaiveDate> {
        Self::keys(scope)
            .iter()
            .find_map(|key| match self.0.get(key) {
                Some(memory) => memory.due(now, cutoff),
                None => CutoffMemory::default().due(now, cutoff),
            })
    }

    /// `day` was checked for `scope`'s schools at `cutoff`.
    pub fn checked(&mut self, scope: &Scope, day: NaiveDate, cutoff: LessonCutoff) {
        for key in Self::keys(scope) {
            self.0.entry(key).or_default().checked(day, cutoff);
        }
    }
}

/// The notice for `day` at `cutoff`, counting the schools of `about`, when there is
/// something to tell; `school` (a name) begins its sentence when it is one school's.
pub fn notice_of(
    day: &NotTakenDay,
    cutoff: LessonCutoff,
    about: &Scope,
    school: Option<&str>,
) -> Option<LessonsNotTakenNotice> {
    let cutoff = cutoff.to_string();
    let message = day.notice(&cutoff)?;
    Some(LessonsNotTakenNotice {
        date: day.date.clone(),
        cutoff,
        count: u32::try_from(day.lessons.len()).unwrap_or(u32::MAX),
        message: match school {
            Some(name) => format!("{name}: {message}"),
            None => message,
        },
        about: about.clone(),
    })
}

/// The notice as someone who sees only `scope` should get it: the same one for a person who
/// sees every school; otherwise counted again over their schools (`None` if theirs are all
/// taken), so a count never tells of another school's lessons.
pub async fn notice_within(
    state: &AppState,
    scope: &Scope,
    notice: &LessonsNotTakenNotice,
) -> Option<LessonsNotTakenNotice> {
    let theirs = scope.intersect(&notice.about);
    if theirs == notice.about {
        return Some(notice.clone());
    }
    if theirs.tenant_list().is_some_and(<[String]>::is_empty) {
        return None;
    }
    let day = NaiveDate::parse_from_str(&notice.date, "%Y-%m-%d").ok()?;
    let cutoff = LessonCutoff::parse(&notice.cutoff).ok()?;
    match state.store.lessons_not_taken(&theirs, day).await {
        // Only a notice of several schools is counted again (one school's is seen whole or
        // not at all, above).
        Ok(not_taken) => notice_of(&not_taken, cutoff, &theirs, None),
        Err(e) => {
            tracing::warn!(error = %e, "could not count the lessons not taken of some schools");
            None
        }
    }
}

/// Checks once, for each group of schools with the same thresholds: when its cutoff is due,
/// reads the day and sends the notice (if any). A failed read is tried again at the next
/// check.
async fn check(state: &AppState, memories: &mut SchoolMemories) {
    // Each group with its cutoff and, for a school with its own, its name for the notice.
    let groups: Vec<(Scope, LessonCutoff, Option<String>)> = state.settings.with(|s| {
        let groups = s.report_groups(&Scope::all());
        let several = groups.len() > 1;
        groups
            .into_iter()
            .map(|(scope, thresholds)| {
                let school = match (several, scope.tenant_list()) {
                    (true, Some([tenant])) => s
                        .schools
                        .iter()
                        .find(|school| &school.tenant == tenant && school.reports.is_some())
                        .map(|school| school.name.clone()),
                    _ => None,
                };
                (scope, thresholds.lesson_cutoff, school)
            })
            .collect()
    });
    for (scope, cutoff, school) in groups {
        check_group(state, memories, &scope, cutoff, school.as_deref()).await;
    }
}

async fn check_group(
    state: &AppState,
    memories: &mut SchoolMemories,
    scope: &Scope,
    cutoff: LessonCutoff,
    school: Option<&str>,
) {
    let Some(day) = memories.due(scope, state.clock.now(), cutoff) else {
        return;
    };
    match state.store.lessons_not_taken(scope, day).await {
        Ok(not_taken) => {
            memories.checked(scope, day, cutoff);
            if let Some(notice) = notice_of(&not_taken, cutoff, scope, school) {
                tracing::info!(date = %notice.date, lessons = notice.count, "lessons not taken by the cutoff");
                let _ = state.notices.send(Notice::LessonsNotTaken(notice));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check the lessons not taken; trying again"),
    }
}

/// Looks at the cutoff every `every` until the server stops.
pub fn spawn(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut memories = SchoolMemories::default();
        let mut stopping = state.stopping.clone();
        loop {
            check(&state, &mut memories).await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn each_day_is_checked_once_per_cutoff_after_it_passes() {
        let mut memory = CutoffMemory::default();
        let cutoff = LessonCutoff::default();
        assert_eq!(memory.due(at("2026-11-30 09:29"), cutoff), None);
        let day = memory.due(at("2026-11-30 09:30"), cutoff).unwrap();
        memory.checked(day, cutoff);
        assert_eq!(memory.due(at("2026-11-30 09:31"), cutoff), None);
        assert_eq!(memory.due(at("2026-11-30 15:00"), cutoff), None);
        // The cutoff moved later: told again once it passes.
        let later = LessonCutoff::at(10, 0).unwrap();
        assert_eq!(memory.due(at("2026-11-30 09:45"), later), None);
        assert!(memory.due(at("2026-11-30 10:00"), later).is_some());
        memory.checked(day, later);
        // The next day, before and after its cutoff.
        assert_eq!(memory.due(at("2026-12-01 09:59"), later), None);
        assert_eq!(
            memory.due(at("2026-12-01 10:00"), later),
            NaiveDate::from_ymd_opt(2026, 12, 1)
        );
    }

    #[test]
    fn a_school_given_its_own_thresholds_keeps_what_it_was_told() {
        let cutoff = LessonCutoff::default();
        let both = Scope::tenants(["north", "south"]);
        let mut memories = SchoolMemories::default();
        let day = memories.due(&both, at("2026-11-30 09:30"), cutoff).unwrap();
        memories.checked(&both, day, cutoff);
        // South gets thresholds of its own, with the same cutoff: neither group is due again.
        let (north, south) = (Scope::tenants(["north"]), Scope::tenants(["south"]));
        assert_eq!(memories.due(&north, at("2026-11-30 10:00"), cutoff), None);
        assert_eq!(memories.due(&south, at("2026-11-30 10:00"), cutoff), None);
        // With another cutoff, South is told at its own.
        let later = LessonCutoff::at(11, 0).unwrap();
        assert_eq!(memories.due(&south, at("2026-11-30 10:30"), later), None);
        assert!(memories
            .due(&south, at("2026-11-30 11:00"), later)
            .is_some());
        // A school new to a group makes the group due (it was told nothing).
        let with_east = Scope::tenants(["north", "east"]);
        assert!(memories
            .due(&with_east, at("2026-11-30 10:00"), cutoff)
            .is_some());
        // A Rollcall of one school is remembered as every school.
        let mut one = SchoolMemories::default();
        let all = Scope::all();
        let day = one.due(&all, at("2026-11-30 09:30"), cutoff).unwrap();
        one.checked(&all, day, cutoff);
        assert_eq!(one.due(&all, at("2026-11-30 12:00"), cutoff), None);
    }
}

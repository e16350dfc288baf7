//! The daily e-mail digest: today's absences, the alerts they raised and (when that report
//! gives them) the lessons not taken, sent to the office's chosen addresses.
//!
//! ## When it is sent
//! Once a day, at the send time (local time of this computer, default 16:00), **on days with
//! attendance**: a day on which DreamClass sent no attendance record at all (a weekend, a
//! holiday, the summer) sends nothing, so no empty digest lands on a day off. When the first
//! records of a day arrive after the send time, the digest goes out then.
//!
//! - **At most once a day**, also across restarts: the day sent is saved in `rollcall.toml`
//!   (`[digest] last_sent_day`) before the schedule looks again.
//! - **One server at a time** on a district: the server that sends holds the `digest` lease
//!   while it tries, and after a success until the next local midnight, so a second server
//!   (whose own settings file does not know the day was sent) does not send it again.
//! - **A failure** is logged, shown in Settings (the digest's status) and tried again after 1,
//!   5 and 15 minutes; after that the day is given up (the status says so). Changing the
//!   digest's settings starts the tries afresh. The schedule runs on its own task and never
//!   holds anything webhooks wait for.

pub mod content;
mod mailer;

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Days, Local, NaiveDate, TimeZone};
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::now_ms;
use rollcall_core::scope::Scope;
use serde::Serialize;
use ts_rs::TS;

pub use content::{AbsentLesson, AbsentStudent, DigestContent, LessonNotTaken};
pub use mailer::SendFailure;

use crate::settings::DigestSettings;
use crate::state::{AppState, Notice};

/// How often the schedule looks whether a digest is due.
const TICK: Duration = Duration::from_secs(30);
/// The waits before the second, third and fourth try of a day's digest.
pub const RETRY_WAITS: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
];
/// The lease job of the server that sends the digest.
const LEASE_JOB: &str = "digest";
/// How long a try holds the lease: longer than one SMTP conversation, shorter than a retry
/// wait on another server.
const SENDING_LEASE_MS: i64 = 10 * 60 * 1000;

/// The digest's state as the Settings card shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DigestStatus {
    /// The last day (`YYYY-MM-DD`) a scheduled digest was sent.
    pub last_sent_day: Option<String>,
    /// When this run last sent one (milliseconds).
    pub last_sent_at: Option<i64>,
    /// The latest failure of today's digest, a sentence saying what to do; cleared by a
    /// success.
    pub failure: Option<String>,
    pub failed_at: Option<i64>,
    /// When the next try is due after a failure (milliseconds).
    pub next_try_at: Option<i64>,
    /// Today's digest failed every try and is not tried again today.
    pub gave_up: bool,
}

/// What one look at the schedule did (the tests drive the schedule through it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    Off,
    /// Before the send time.
    NotYet,
    AlreadySent,
    /// No attendance at all today: no digest.
    NoAttendance,
    /// Another server sharing the database sends it.
    AnotherServer,
    /// Waiting for the next try after a failure.
    Waiting,
    /// Today's tries are used up.
    GaveUp,
    Sent,
    Failed(String),
}

/// The digest's schedule state for this run: today's failed tries.
#[derive(Default)]
pub struct DigestService {
    tries: Mutex<Tries>,
}

#[derive(Default)]
struct Tries {
    day: Option<NaiveDate>,
    failures: usize,
    next_try: Option<DateTime<Local>>,
    /// The settings the failures were made with: a change starts the tries afresh.
    failed_with: Option<DigestSettings>,
    failure: Option<(i64, String)>,
    last_sent_at: Option<i64>,
}

impl DigestService {
    /// The status for the Settings card, with the settings in force.
    pub fn status(&self, settings: &DigestSettings) -> DigestStatus {
        let tries = self.tries.lock().expect("digest tries");
        let gave_up = tries.failures > RETRY_WAITS.len();
        DigestStatus {
            last_sent_day: settings.last_sent_day.clone(),
            last_sent_at: tries.last_sent_at,
            failure: tries.failure.as_ref().map(|(_, s)| s.clone()),
            failed_at: tries.failure.as_ref().map(|(at, _)| *at),
            next_try_at: tries
                .next_try
                .filter(|_| !gave_up)
                .map(|t| t.timestamp_millis()),
            gave_up,
        }
    }
}

/// Starts the schedule; it ends when the server stops.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut stopping = state.stopping.clone();
        loop {
            let outcome = run_schedule_once(&state, Local::now()).await;
            tracing::trace!(?outcome, "looked at the digest's schedule");
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
    });
}

/// Looks once whether the digest is due at `now` and sends it if so.
pub async fn run_schedule_once(state: &AppState, now: DateTime<Local>) -> ScheduleOutcome {
    let settings = state.settings.with(|s| s.digest.clone());
    if !settings.enabled {
        return ScheduleOutcome::Off;
    }
    let today = now.date_naive();
    let day = today.format("%Y-%m-%d").to_string();
    if settings.last_sent_day.as_deref() == Some(day.as_str()) {
        return ScheduleOutcome::AlreadySent;
    }
    if settings.send_time().is_none_or(|at| now.time() < at) {
        return ScheduleOutcome::NotYet;
    }
    let filter = RecordFilter {
        date: Some(day.clone()),
        ..Default::default()
    };
    match state
        .store
        .attendance(&Scope::all(), &filter, false, 1)
        .await
    {
        Ok(rows) if rows.is_empty() => return ScheduleOutcome::NoAttendance,
        Ok(_) => {}
        Err(e) => return failed(state, &settings, now, store_failure(&e)),
    }
    {
        let mut tries = state.digest.tries.lock().expect("digest tries");
        let same_settings = tries
            .failed_with
            .as_ref()
            .is_none_or(|s| same_sending(s, &settings));
        if tries.day != Some(today) || !same_settings {
            let last_sent_at = tries.last_sent_at;
            *tries = Tries {
                day: Some(today),
                last_sent_at,
                ..Tries::default()
            };
        }
        if tries.failures > RETRY_WAITS.len() {
            return ScheduleOutcome::GaveUp;
        }
        if tries.next_try.is_some_and(|t| now < t) {
            return ScheduleOutcome::Waiting;
        }
    }
    match state.store.take_lease(LEASE_JOB, SENDING_LEASE_MS).await {
        Ok(true) => {}
        Ok(false) => return ScheduleOutcome::AnotherServer,
        Err(e) => return failed(state, &settings, now, store_failure(&e)),
    }
    if let Err(failure) = send_for(state, &settings, today).await {
        return failed(state, &settings, now, failure.sentence);
    }
    let saved = state
        .settings
        .update(|s| {
            s.digest.last_sent_day = Some(day.clone());
            Ok(())
        })
        .await;
    if let Err(e) = saved {
        // Sent, but the day could not be remembered: the lease below still keeps a second
        // digest away until midnight on a district; a restart today may send it again.
        tracing::error!(error = %e, "the digest was sent but the day could not be saved");
    }
    {
        let mut tries = state.digest.tries.lock().expect("digest tries");
        *tries = Tries {
            day: Some(today),
            last_sent_at: Some(now_ms()),
            ..Tries::default()
        };
    }
    if let Err(e) = state
        .store
        .take_lease(LEASE_JOB, until_next_midnight(now))
        .await
    {
        tracing::warn!(error = %e, "the digest's lease could not be kept until midnight");
    }
    tracing::info!(
        day,
        recipients = settings.recipients.len(),
        "the daily digest was sent"
    );
    let _ = state.notices.send(Notice::Status);
    ScheduleOutcome::Sent
}

/// Whether two settings send the same way (the day last sent aside).
fn same_sending(a: &DigestSettings, b: &DigestSettings) -> bool {
    a.recipients == b.recipients && a.smtp == b.smtp && a.send_at == b.send_at
}

fn store_failure(e: &rollcall_core::store::StoreError) -> String {
    format!(
        "The digest could not read today's attendance: {}",
        e.user_message()
    )
}

/// Records a failed try, logs it and schedules the next.
fn failed(
    state: &AppState,
    settings: &DigestSettings,
    now: DateTime<Local>,
    sentence: String,
) -> ScheduleOutcome {
    {
        let mut tries = state.digest.tries.lock().expect("digest tries");
        tries.failures += 1;
        tries.failed_with = Some(settings.clone());
        tries.failure = Some((now_ms(), sentence.clone()));
        tries.next_try = RETRY_WAITS
            .get(tries.failures - 1)
            .and_then(|wait| chrono::Duration::from_std(*wait).ok())
            .map(|wait| now + wait);
        if tries.next_try.is_none() {
            tracing::error!(reason = %sentence, "the daily digest failed every try; giving up for today");
        } else {
            tracing::warn!(reason = %sentence, tries = tries.failures, "the daily digest failed; trying again later");
        }
    }
    let _ = state.notices.send(Notice::Status);
    ScheduleOutcome::Failed(sentence)
}

/// Milliseconds from `now` to a few minutes past the next local midnight.
fn until_next_midnight(now: DateTime<Local>) -> i64 {
    let tomorrow = now.date_naive() + Days::new(1);
    let midnight = tomorrow
        .and_hms_opt(0, 5, 0)
        .and_then(|t| Local.from_local_datetime(&t).earliest());
    midnight
        .map(|m| (m - now).num_milliseconds())
        .unwrap_or(24 * 3600 * 1000)
        .max(SENDING_LEASE_MS)
}

/// Gathers `day`'s digest and sends it with `settings`.
async fn send_for(
    state: &AppState,
    settings: &DigestSettings,
    day: NaiveDate,
) -> Result<(), SendFailure> {
    let content = compose(state, settings, day).await?;
    mailer::send(settings, &content).await
}

/// `day`'s digest content. The "Lessons not taken" section is added here once that report
/// exists: `content.with_lessons_not_taken(rows)`.
pub async fn compose(
    state: &AppState,
    settings: &DigestSettings,
    day: NaiveDate,
) -> Result<DigestContent, SendFailure> {
    let report_settings = state.report_settings();
    let failure = |e: rollcall_core::store::StoreError| SendFailure {
        sentence: store_failure(&e),
    };
    let content = content::gather(&state.store, settings.school(), day, &report_settings)
        .await
        .map_err(failure)?;
    // Lessons not taken only mean something once the day's cutoff has passed; a digest sent
    // earlier (a test, or an early send time) leaves the section out rather than list
    // lessons that are still to be taken.
    let cutoff = report_settings.lesson_cutoff;
    if !cutoff.has_passed(day, state.clock.now()) {
        return Ok(content);
    }
    let not_taken = state
        .store
        .lessons_not_taken(&Scope::all(), day)
        .await
        .map_err(failure)?;
    Ok(content.with_lessons_not_taken(lessons_for_digest(not_taken, cutoff)))
}

/// The report's lessons not taken as the digest lists them: inferred from earlier weeks,
/// since DreamClass sends no timetable.
fn lessons_for_digest(
    day: rollcall_core::reports::NotTakenDay,
    cutoff: rollcall_core::reports::LessonCutoff,
) -> Vec<LessonNotTaken> {
    day.lessons
        .into_iter()
        .map(|lesson| LessonNotTaken {
            class: lesson
                .class_name
                .unwrap_or_else(|| format!("Class {}", lesson.class_id)),
            course: Some(
                lesson
                    .course_name
                    .unwrap_or_else(|| format!("Course {}", lesson.course_id)),
            ),
            due: format!("by {cutoff}"),
            inferred: true,
        })
        .collect()
}

/// "Send a test digest now": today's digest with `settings` (the form's, perhaps not saved
/// yet), to its recipients, whether the daily digest is on or not. It is not counted as the
/// day's digest. The answer is a sentence either way.
pub async fn send_test(state: &AppState, settings: &DigestSettings) -> Result<String, String> {
    settings.check_complete()?;
    let today = Local::now().date_naive();
    send_for(state, settings, today)
        .await
        .map_err(|f| f.sentence)?;
    let to = settings.recipients.join(", ");
    Ok(format!(
        "A test digest was sent to {to}. If it has not arrived in a few minutes, look in the \
         spam folder."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollcall_core::reports::{LessonCutoff, NotTakenDay};

    #[test]
    fn lessons_not_taken_are_listed_by_name_with_the_cutoff_and_marked_inferred() {
        let lesson = |class_name: Option<&str>, course_name: Option<&str>| {
            rollcall_core::reports::LessonNotTaken {
                date: "2026-12-03".into(),
                tenant: "school".into(),
                class_id: 7,
                class_name: class_name.map(Into::into),
                course_id: 40,
                course_name: course_name.map(Into::into),
                last_taken: "2026-11-26".into(),
            }
        };
        let day = NotTakenDay {
            date: "2026-12-03".into(),
            records: 12,
            lessons: vec![lesson(Some("6B"), Some("Physics")), lesson(None, None)],
        };
        let rows = lessons_for_digest(day, LessonCutoff::parse("09:45").unwrap());
        assert_eq!(
            rows,
            vec![
                LessonNotTaken {
                    class: "6B".into(),
                    course: Some("Physics".into()),
                    due: "by 09:45".into(),
                    inferred: true,
                },
                LessonNotTaken {
                    class: "Class 7".into(),
                    course: Some("Course 40".into()),
                    due: "by 09:45".into(),
                    inferred: true,
                },
            ]
        );
    }
}

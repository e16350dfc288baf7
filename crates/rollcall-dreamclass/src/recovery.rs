//! Gap recovery: asks DreamClass for the attendance of some days and reconciles it with what
//! Rollcall stored, so that changes sent while Rollcall was not listening are not lost.
//!
//! # Which timestamp a recovered version gets
//!
//! Stored state follows one rule: per record, the event with the newest DreamClass timestamp
//! wins (`rollcall_core::store::ingest`). A recovered version is given the time at which
//! DreamClass *produced the answer*, by DreamClass's own clock (the answer's `Date` header,
//! this computer's clock only if the header is missing), minus a settling margin
//! ([`RecoveryOptions::settle`], 2 minutes by default):
//!
//! - The answer shows the state as of that time, so any webhook stamped earlier is already
//!   included in it: a late or retried delivery of such a webhook is rightly superseded.
//! - A webhook stamped later than the answer beats the recovered version, so a teacher's next
//!   change applies normally.
//! - Within the margin the timestamps cannot tell which is newer, so the content decides
//!   (`rollcall_core::store::recovery`): a webhook received since Rollcall started listening
//!   again is kept (the API's answer may lag behind what DreamClass has just sent, and any
//!   later change comes by webhook too), counted as "kept". A version held from before the
//!   restart (a webhook received a second before Rollcall stopped) is replaced by the API's,
//!   because nothing received since explains the difference: a teacher may have corrected it
//!   while Rollcall was stopped. That decision is only as good as the API's answer, so the
//!   same days are checked again after [`RecoveryOptions::recheck_after`] (when the margin
//!   has passed and the timestamps decide), and a gap is marked done only by a check that
//!   needed no such decision.
//! - Both timestamps come from DreamClass's clock, so a wrong clock on the office PC cannot
//!   make a recovered version beat a later webhook.
//!
//! A record the API lists as it is stored is left alone, so recovering twice applies each
//! change once. Each recovered version also has a deterministic request id,
//! `recovered:<attendanceId>:<hash of its content>`, so the audit trail shows which versions
//! are the same.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;
use ts_rs::TS;

use rollcall_core::store::recovery::ReconcileDay;
use rollcall_core::store::Store;

use crate::client::{AttendanceList, DreamClassClient};
use crate::decode::ApiAttendance;
use crate::error::ApiError;

pub use crate::config::DEFAULT_LOOKBACK_DAYS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// How much older than DreamClass's answer a recovered version is dated (see the module
    /// documentation).
    pub settle: Duration,
    /// The most days one check asks for; a longer gap checks its last days.
    pub max_days: u32,
    /// Days before a gap also checked, for teachers who correct earlier days while Rollcall
    /// is not listening (`recovery_lookback_days` in `[dreamclass]`). Never widens a check
    /// beyond `max_days` days in all (see [`with_lookback`]).
    pub lookback_days: u32,
    /// Whether records the API no longer lists become deletions. Only ever concluded from
    /// complete lists.
    pub recover_deletions: bool,
    /// How long after a check that had to decide from content the same days are checked
    /// again: longer than `settle`, so that by then the timestamps decide.
    pub recheck_after: Duration,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(120),
            max_days: 62,
            lookback_days: DEFAULT_LOOKBACK_DAYS,
            recover_deletions: true,
            recheck_after: Duration::from_secs(135),
        }
    }
}

/// What a check for missed changes did, for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryReport {
    /// The days checked, `YYYY-MM-DD`.
    pub dates_checked: Vec<String>,
    /// Records DreamClass listed for those days.
    pub records_seen: usize,
    /// Changes applied and marked as recovered (created + updated + deleted).
    pub recovered: usize,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Records already stored as DreamClass lists them.
    pub unchanged: usize,
    /// Records where Rollcall keeps a newer version received by webhook since it started.
    pub kept_newer: usize,
    /// Of `recovered`: changes where DreamClass's list was taken over a version Rollcall
    /// received just before it stopped, because the times could not tell which is newer.
    pub decided_by_content: usize,
    /// Whether Rollcall will check these days again by itself (after a decision by content),
    /// so the gaps they cover stay pending until then.
    pub check_again: bool,
    /// What went wrong, in words for the user. Empty when the check was complete.
    pub errors: Vec<String>,
    /// Things worth knowing that are not errors (e.g. a long gap checked only in part).
    pub notes: Vec<String>,
    /// Whether trying again later may complete the check (DreamClass unreachable, busy, or
    /// refusing the token), as opposed to a check that is done as far as it can be.
    #[serde(skip)]
    pub retry_later: bool,
    /// One sentence summing it up.
    pub message: String,
}

impl RecoveryReport {
    /// One report of a check of the same days with each school's DreamClass (`(tenant,
    /// report)`): the counts added up, each error, note and sentence naming its school, and
    /// "try again" or "check again" if any school needs it. One school's report is its own.
    pub fn of_schools(mut reports: Vec<(String, RecoveryReport)>) -> RecoveryReport {
        if reports.len() == 1 {
            return reports.pop().expect("one report").1;
        }
        let mut all = RecoveryReport::default();
        let mut sentences = Vec::new();
        for (tenant, r) in reports {
            if all.dates_checked.len() < r.dates_checked.len() {
                all.dates_checked = r.dates_checked.clone();
            }
            all.records_seen += r.records_seen;
            all.recovered += r.recovered;
            all.created += r.created;
            all.updated += r.updated;
            all.deleted += r.deleted;
            all.unchanged += r.unchanged;
            all.kept_newer += r.kept_newer;
            all.decided_by_content += r.decided_by_content;
            all.check_again |= r.check_again;
            all.retry_later |= r.retry_later;
            let named = |m: &String| crate::service::school_says(true, &tenant, m.clone());
            all.errors.extend(r.errors.iter().map(named));
            all.notes.extend(r.notes.iter().map(named));
            sentences.push(named(&r.message));
        }
        all.message = sentences.join(" ");
        all
    }

    /// Whether every day was checked in full.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }

    fn finish(mut self, recheck_after: Duration) -> Self {
        self.check_again = self.decided_by_content > 0 && self.errors.is_empty();
        let days = match self.dates_checked.as_slice() {
            [] => "no day".to_string(),
            [one] => one.clone(),
            [first, .., last] => format!("{first} to {last}"),
        };
        let mut message = if self.recovered == 0 {
            format!(
                "Checked {days} with DreamClass: nothing was missed ({} record{}).",
                self.records_seen,
                if self.records_seen == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "Checked {days} with DreamClass: recovered {} missed change{} ({} new, {} \
                 changed, {} deleted), marked as recovered.",
                self.recovered,
                if self.recovered == 1 { "" } else { "s" },
                self.created,
                self.updated,
                self.deleted
            )
        };
        if self.decided_by_content > 0 {
            let one = self.decided_by_content == 1;
            message.push_str(&format!(
                " {} of them replaced {} received just before Rollcall stopped: DreamClass's \
                 list differs from {}, so DreamClass's version was taken.",
                self.decided_by_content,
                if one { "a change" } else { "changes" },
                if one { "it" } else { "them" },
            ));
            if self.check_again {
                message.push_str(&format!(
                    " Rollcall will check these days again in {} to be sure.",
                    in_words(recheck_after)
                ));
            }
        }
        if self.kept_newer > 0 {
            message.push_str(&format!(
                " {} record{} kept as received since Rollcall started, newer than DreamClass's \
                 list.",
                self.kept_newer,
                if self.kept_newer == 1 {
                    " was"
                } else {
                    "s were"
                }
            ));
        }
        for note in &self.notes {
            message.push(' ');
            message.push_str(note);
        }
        if !self.errors.is_empty() {
            message = format!(
                "The check for missed changes was not complete: {} {}",
                self.errors.join(" "),
                if self.recovered > 0 {
                    format!("({} changes were recovered before that.)", self.recovered)
                } else {
                    String::new()
                }
            )
            .trim_end()
            .to_string();
        }
        self.message = message;
        self
    }
}

/// A wait in words: "45 seconds", "about 2 minutes".
fn in_words(wait: Duration) -> String {
    let secs = wait.as_secs();
    match secs {
        0..=1 => "a moment".to_string(),
        2..=89 => format!("{secs} seconds"),
        _ => format!("about {} minutes", (secs + 30) / 60),
    }
}

pub use rollcall_core::store::recovery::recovered_request_id;

/// Asks DreamClass for the attendance of `from..=to` and reconciles it with what is stored.
/// `listening_since` is when this run began listening (this computer's clock): webhooks
/// received since are what DreamClass's list may lag behind. Never fails as a whole: what
/// went wrong is in the report's `errors`.
pub async fn recover_days(
    client: &DreamClassClient,
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    listening_since: i64,
    options: &RecoveryOptions,
) -> RecoveryReport {
    let recheck_after = options.recheck_after;
    let mut report = RecoveryReport::default();
    let (from, to) = (from.min(to), from.max(to));
    let max_days = i64::from(options.max_days.max(1));
    let from = if (to - from).num_days() + 1 > max_days {
        report.notes.push(format!(
            "Only the last {max_days} days were checked; ask your DreamClass administrator for \
             reports of earlier days."
        ));
        to - chrono::Duration::days(max_days - 1)
    } else {
        from
    };
    report.dates_checked = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let config = client.config();
    let tenant = config.tenant.trim().to_string();
    if !config.is_configured() {
        report.errors.push(ApiError::NotConfigured.to_string());
        report.retry_later = true;
        return report.finish(recheck_after);
    }
    if tenant.is_empty() {
        report.errors.push(ApiError::TenantNotSet.to_string());
        report.retry_later = true;
        return report.finish(recheck_after);
    }
    let fetched = match fetch(client, from, to).await {
        Ok(f) => f,
        Err(e) => {
            report.errors.push(e.to_string());
            report.retry_later = true;
            return report.finish(recheck_after);
        }
    };
    report.errors.extend(fetched.errors.iter().cloned());
    report.notes.extend(fetched.notes.iter().cloned());
    report.retry_later = fetched.retry_later;
    report.records_seen = fetched.records.len();
    let version_ts = (fetched.observed_at - options.settle.as_millis() as i64).max(1);
    let lesson_kind = config.paths.lesson_kind.clone();
    let listed_ids: HashSet<i64> = fetched
        .records
        .keys()
        .copied()
        .chain(fetched.unreadable_ids)
        .collect();
    let delete_lessons = options.recover_deletions && fetched.complete[&AttendanceList::Lesson];
    let delete_daily = options.recover_deletions && fetched.complete[&AttendanceList::Daily];
    let mut by_date: BTreeMap<String, Vec<ApiAttendance>> = report
        .dates_checked
        .iter()
        .map(|d| (d.clone(), Vec::new()))
        .collect();
    for record in fetched.records.into_values() {
        by_date.entry(record.date.clone()).or_default().push(record);
    }
    // One transaction per day: a long gap never holds the writer (and webhooks) for long.
    for (date, records) in by_date {
        let check_deletions = date.as_str() >= report.dates_checked[0].as_str()
            && date.as_str() <= report.dates_checked[report.dates_checked.len() - 1].as_str();
        let day = ReconcileDay {
            tenant: tenant.clone(),
            version_ts,
            lesson_kind: lesson_kind.clone(),
            listed_ids: listed_ids.clone(),
            delete_lessons,
            delete_daily,
            date,
            records,
            check_deletions,
            listening_since,
        };
        let result = store.reconcile_day(day).await;
        match result {
            Ok(counts) => {
                report.created += counts.created;
                report.updated += counts.updated;
                report.deleted += counts.deleted;
                report.unchanged += counts.unchanged;
                report.kept_newer += counts.kept_newer;
                report.decided_by_content += counts.decided_by_content;
            }
            Err(e) => {
                report.errors.push(e.user_message().to_string());
                report.retry_later = true;
                break;
            }
        }
    }
    report.recovered = report.created + report.updated + report.deleted;
    report.finish(recheck_after)
}

struct Fetched {
    records: HashMap<i64, ApiAttendance>,
    unreadable_ids: Vec<i64>,
    /// Per list: whether it was read in full (no error, no page, every item understood).
    complete: HashMap<AttendanceList, bool>,
    observed_at: i64,
    errors: Vec<String>,
    notes: Vec<String>,
    retry_later: bool,
}

async fn fetch(
    client: &DreamClassClient,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Fetched, ApiError> {
    let periods = client.periods_for(from, to).await?;
    let mut fetched = Fetched {
        records: HashMap::new(),
        unreadable_ids: Vec::new(),
        complete: HashMap::from([
            (AttendanceList::Lesson, true),
            (AttendanceList::Daily, true),
        ]),
        observed_at: i64::MAX,
        errors: Vec::new(),
        notes: Vec::new(),
        retry_later: false,
    };
    let mut any_read = false;
    for list in [AttendanceList::Lesson, AttendanceList::Daily] {
        for period in &periods {
            match client.attendance(list, period.id, from, to).await {
                Ok(answer) => {
                    any_read = true;
                    fetched.observed_at = fetched.observed_at.min(answer.observed_at);
                    if answer.partial || answer.unreadable > 0 {
                        fetched.complete.insert(list, false);
                    }
                    if answer.partial {
                        let note = "DreamClass may have sent only part of an attendance list (a \
                                    page), so no record was taken for deleted."
                            .to_string();
                        if !fetched.notes.contains(&note) {
                            fetched.notes.push(note);
                        }
                    }
                    if answer.unreadable > 0 || !answer.unreadable_ids.is_empty() {
                        fetched.errors.push(format!(
                            "{} attendance records from DreamClass could not be read.",
                            answer.unreadable + answer.unreadable_ids.len()
                        ));
                    }
                    fetched.unreadable_ids.extend(answer.unreadable_ids);
                    for record in answer.records {
                        fetched.records.insert(record.id, record);
                    }
                }
                Err(e) => {
                    fetched.complete.insert(list, false);
                    fetched.retry_later = true;
                    let message = e.to_string();
                    if !fetched.errors.contains(&message) {
                        fetched.errors.push(message);
                    }
                    if !e.is_transient() && !any_read {
                        return Err(e);
                    }
                }
            }
        }
    }
    if !any_read {
        return Err(ApiError::BadResponse {
            url: client.config().paths.lesson_attendance.clone(),
            detail: fetched.errors.join(" "),
        });
    }
    if periods.is_empty() {
        fetched.complete.insert(AttendanceList::Lesson, false);
        fetched.complete.insert(AttendanceList::Daily, false);
    }
    Ok(fetched)
}

/// The days a gap covers (local dates, as the school writes them), plus up to
/// `lookback_days` before them (see [`with_lookback`]).
pub fn gap_days(
    from_ms: i64,
    to_ms: i64,
    lookback_days: u32,
    max_days: u32,
) -> (NaiveDate, NaiveDate) {
    use chrono::TimeZone;
    let day = |ms: i64| {
        chrono::Local
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.date_naive())
            .unwrap_or_else(|| chrono::Local::now().date_naive())
    };
    let (from, to) = (day(from_ms), day(to_ms.max(from_ms)));
    (with_lookback(from, to, lookback_days, max_days), to)
}

/// The first day to check when `from..=to` must be checked and `lookback_days` before it as
/// well. The days before are only added while the check stays within `max_days` days in all:
/// a long gap keeps all of its own days rather than trading them for earlier ones, and
/// [`recover_days`] never has to drop days (and say so) because of the lookback alone.
pub fn with_lookback(
    from: NaiveDate,
    to: NaiveDate,
    lookback_days: u32,
    max_days: u32,
) -> NaiveDate {
    let span = (to - from).num_days() + 1;
    let room = (i64::from(max_days.max(1)) - span).max(0);
    from - chrono::Duration::days(i64::from(lookback_days).min(room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_of_several_schools_adds_up_and_names_each_school() {
        let north = RecoveryReport {
            dates_checked: vec!["2026-12-01".into()],
            records_seen: 3,
            recovered: 1,
            updated: 1,
            message: "Checked 2026-12-01 with DreamClass: recovered 1 missed change.".into(),
            ..Default::default()
        };
        let south = RecoveryReport {
            dates_checked: vec!["2026-12-01".into()],
            errors: vec!["The API token was refused (401).".into()],
            retry_later: true,
            message: "The check could not be finished.".into(),
            ..Default::default()
        };
        let both = RecoveryReport::of_schools(vec![
            ("north".into(), north.clone()),
            ("south".into(), south),
        ]);
        assert_eq!((both.records_seen, both.recovered, both.updated), (3, 1, 1));
        assert!(both.retry_later, "south must be asked again");
        assert_eq!(both.errors, ["south: The API token was refused (401)."]);
        assert_eq!(
            both.message,
            "north: Checked 2026-12-01 with DreamClass: recovered 1 missed change. south: The \
             check could not be finished."
        );
        assert_eq!(
            RecoveryReport::of_schools(vec![("north".into(), north.clone())]),
            north,
            "one school's report is its own"
        );
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Local noon of `day`, in milliseconds (noon: no time zone moves it to another day).
    fn noon_ms(day: &str) -> i64 {
        use chrono::TimeZone;
        chrono::Local
            .from_local_datetime(&date(day).and_hms_opt(12, 0, 0).unwrap())
            .single()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_gap_is_checked_with_the_week_before_it_by_default() {
        let options = RecoveryOptions::default();
        assert_eq!(options.lookback_days, 7);
        // Closed from Thursday to Friday: the Thursday before and the weekend are checked too.
        let (from, to) = gap_days(
            noon_ms("2025-06-19"),
            noon_ms("2025-06-20"),
            options.lookback_days,
            options.max_days,
        );
        assert_eq!((from, to), (date("2025-06-12"), date("2025-06-20")));
        // Without lookback, only the gap's own days.
        assert_eq!(
            gap_days(noon_ms("2025-06-19"), noon_ms("2025-06-20"), 0, 62),
            (date("2025-06-19"), date("2025-06-20"))
        );
        // A gap within one day, and an end before the start (a clock set back).
        assert_eq!(
            gap_days(noon_ms("2025-06-19"), noon_ms("2025-06-19") + 60_000, 3, 62),
            (date("2025-06-16"), date("2025-06-19"))
        );
        assert_eq!(
            gap_days(noon_ms("2025-06-19"), noon_ms("2025-06-18"), 3, 62),
            (date("2025-06-16"), date("2025-06-19"))
        );
    }

    #[test]
    fn lookback_never_takes_a_check_beyond_max_days() {
        let days = |(from, to): (NaiveDate, NaiveDate)| (to - from).num_days() + 1;
        // A 10-day gap with a cap of 14 days: only 4 days before it fit.
        let gap = (noon_ms("2025-06-11"), noon_ms("2025-06-20"));
        let range = gap_days(gap.0, gap.1, 7, 14);
        assert_eq!(range, (date("2025-06-07"), date("2025-06-20")));
        assert_eq!(days(range), 14);
        // Exactly filling the cap: the whole lookback fits.
        let range = gap_days(gap.0, gap.1, 7, 17);
        assert_eq!((days(range), range.0), (17, date("2025-06-04")));
        // A gap as long as the cap or longer: no days before it; its own days are all kept
        // (recover_days keeps the last max_days of them and says so).
        assert_eq!(gap_days(gap.0, gap.1, 7, 10).0, date("2025-06-11"));
        assert_eq!(gap_days(gap.0, gap.1, 7, 5).0, date("2025-06-11"));
        // A cap of 0 is read as 1, as recover_days does.
        let one_day = gap_days(noon_ms("2025-06-19"), noon_ms("2025-06-19"), 7, 0);
        assert_eq!(one_day, (date("2025-06-19"), date("2025-06-19")));
        // The default never exceeds the default cap, whatever the gap.
        let o = RecoveryOptions::default();
        for gap_len in 1..=80 {
            let from = date("2025-06-20") - chrono::Duration::days(gap_len - 1);
            let first = with_lookback(from, date("2025-06-20"), o.lookback_days, o.max_days);
            let span = (date("2025-06-20") - first).num_days() + 1;
            assert!(
                span <= i64::from(o.max_days).max(gap_len),
                "{gap_len}: {span}"
            );
            assert!(first <= from);
        }
    }

    #[test]
    fn reports_read_as_sentences() {
        let r = RecoveryReport {
            dates_checked: vec!["2025-06-18".into(), "2025-06-19".into()],
            records_seen: 10,
            created: 1,
            updated: 1,
            recovered: 2,
            ..Default::default()
        }
        .finish(Duration::from_secs(135));
        assert_eq!(
            r.message,
            "Checked 2025-06-18 to 2025-06-19 with DreamClass: recovered 2 missed changes \
             (1 new, 1 changed, 0 deleted), marked as recovered."
        );
        let unsure = RecoveryReport {
            dates_checked: vec!["2025-06-19".into()],
            records_seen: 3,
            updated: 2,
            recovered: 2,
            decided_by_content: 2,
            ..Default::default()
        }
        .finish(Duration::from_secs(135));
        assert!(unsure.check_again);
        assert_eq!(
            unsure.message,
            "Checked 2025-06-19 with DreamClass: recovered 2 missed changes (0 new, 2 changed, \
             0 deleted), marked as recovered. 2 of them replaced changes received just before \
             Rollcall stopped: DreamClass's list differs from them, so DreamClass's version was \
             taken. Rollcall will check these days again in about 2 minutes to be sure."
        );
        let one = RecoveryReport {
            dates_checked: vec!["2025-06-19".into()],
            records_seen: 1,
            ..Default::default()
        }
        .finish(Duration::from_secs(45));
        assert_eq!(
            one.message,
            "Checked 2025-06-19 with DreamClass: nothing was missed (1 record)."
        );
        assert_eq!(in_words(Duration::from_secs(45)), "45 seconds");
    }
}

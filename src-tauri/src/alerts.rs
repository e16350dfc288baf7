//! Threshold alerts as OS notifications: a student absent in several lessons today, or a
//! student crossing the chronic-absence threshold (the same alerts the Reports view lists).
//!
//! Each alert is notified once: today's absences once per student and day, chronic absence
//! once per crossing (a student who drops below and crosses again is notified again), absent
//! days in a row once per run. What
//! was already true when the app started is not notified; the Reports view lists it.
//!
//! The thresholds are the ones saved in Settings, read at every check. When they change, what
//! the new thresholds make true at once is treated like what was true at start: listed in
//! Reports, not notified, so lowering a threshold does not bring a burst of notifications.

use std::collections::BTreeSet;
use std::time::Duration;

use rollcall_core::reports::{Alert, AlertKind, ReportSettings};
use rollcall_core::Scope;
use rollcall_server::AppState;
use tauri::{AppHandle, Runtime};

use crate::notifications::{notify, NotificationPause};

/// How often the alerts are computed again.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);
/// At most this many lines in one notification; the rest are counted.
const MAX_LINES: usize = 4;

/// The alerts already notified (or already true at start, or when the thresholds changed),
/// by kind, school, student and day: student ids are DreamClass's within one school.
#[derive(Debug, Default)]
pub struct AlertMemory {
    seen: BTreeSet<(AlertKey, String, i64, String)>,
    started: bool,
    /// The thresholds `seen` was computed with.
    settings: Option<ReportSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AlertKey {
    AbsencesToday,
    AbsentDaysInRow,
    Chronic,
}

impl AlertMemory {
    /// The alerts of `current` (computed with `settings`) not notified before, remembering
    /// them. The first call, and the first after the thresholds changed, only remember.
    pub fn fresh(
        &mut self,
        current: Vec<Alert>,
        today: &str,
        settings: &ReportSettings,
    ) -> Vec<Alert> {
        if self.settings.as_ref() != Some(settings) {
            *self = Self {
                settings: Some(*settings),
                ..Self::default()
            };
        }
        let key = |a: &Alert| match a.kind {
            AlertKind::AbsencesToday => (
                AlertKey::AbsencesToday,
                a.tenant.clone(),
                a.student_period_id,
                today.to_string(),
            ),
            // A crossing is remembered while it lasts, whatever the day.
            AlertKind::Chronic => (
                AlertKey::Chronic,
                a.tenant.clone(),
                a.student_period_id,
                String::new(),
            ),
            // So is a run of absent days: told when it reaches the threshold, not each day.
            AlertKind::AbsentDaysInRow => (
                AlertKey::AbsentDaysInRow,
                a.tenant.clone(),
                a.student_period_id,
                String::new(),
            ),
        };
        let now: BTreeSet<_> = current.iter().map(key).collect();
        // Forget chronic students who dropped below the threshold, and runs that ended, so a
        // new crossing or a new run counts.
        self.seen
            .retain(|k| k.0 == AlertKey::AbsencesToday || now.contains(k));
        let fresh: Vec<Alert> = current
            .into_iter()
            .filter(|a| !self.seen.contains(&key(a)))
            .collect();
        self.seen.extend(fresh.iter().map(key));
        if !self.started {
            self.started = true;
            return Vec::new();
        }
        fresh
    }
}

/// The notification for new alerts: each one's own sentence, or a count when many.
pub fn message(fresh: &[Alert]) -> Option<(String, String)> {
    if fresh.is_empty() {
        return None;
    }
    let title = if fresh.len() == 1 {
        "Attendance alert".to_string()
    } else {
        format!("{} attendance alerts", fresh.len())
    };
    let mut lines: Vec<String> = fresh
        .iter()
        .take(MAX_LINES)
        .map(|a| a.message.clone())
        .collect();
    if fresh.len() > MAX_LINES {
        lines.push(format!(
            "and {} more: see Reports.",
            fresh.len() - MAX_LINES
        ));
    }
    Some((title, lines.join("\n")))
}

/// Computes the alerts every [`CHECK_EVERY`] and notifies the new ones.
pub async fn watch<R: Runtime>(app: AppHandle<R>, state: AppState, pause: NotificationPause) {
    let mut memory = AlertMemory::default();
    let mut stopping = state.stopping();
    // New thresholds are applied at once, not at the next check.
    let mut settings = state.settings().subscribe();
    loop {
        let today = chrono::Local::now().date_naive();
        let thresholds = settings.borrow_and_update().reports;
        match state
            .store()
            .alerts(&Scope::all(), today, &thresholds)
            .await
        {
            Ok(current) => {
                let fresh = memory.fresh(current, &today.to_string(), &thresholds);
                if let Some((title, body)) = message(&fresh).filter(|_| !pause.is_paused()) {
                    notify(&app, &title, &body);
                }
            }
            Err(e) => tracing::warn!(error = ?e, "could not compute attendance alerts"),
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = changed_thresholds(&mut settings, thresholds) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// Returns when the thresholds differ from `in_use` (other settings changes are ignored);
/// never, once the server is gone.
async fn changed_thresholds(
    settings: &mut tokio::sync::watch::Receiver<rollcall_server::Settings>,
    in_use: rollcall_core::reports::ReportSettings,
) {
    if settings.wait_for(|s| s.reports != in_use).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: AlertKind, student: i64) -> Alert {
        Alert {
            at: 0,
            kind,
            tenant: "school".into(),
            student_period_id: student,
            name: None,
            message: format!("student {student} {kind:?}"),
        }
    }

    #[test]
    fn each_alert_is_notified_once_and_what_was_true_at_start_never() {
        let mut memory = AlertMemory::default();
        let usual = ReportSettings::default();
        let at_start = vec![
            alert(AlertKind::Chronic, 1),
            alert(AlertKind::AbsencesToday, 2),
        ];
        assert!(memory
            .fresh(at_start.clone(), "2026-03-02", &usual)
            .is_empty());
        // Nothing new: nothing to say.
        assert!(memory
            .fresh(at_start.clone(), "2026-03-02", &usual)
            .is_empty());
        // A new student absent twice today.
        let mut now = at_start.clone();
        now.push(alert(AlertKind::AbsencesToday, 3));
        let fresh = memory.fresh(now.clone(), "2026-03-02", &usual);
        assert_eq!(
            fresh
                .iter()
                .map(|a| a.student_period_id)
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert!(memory.fresh(now, "2026-03-02", &usual).is_empty());
        // The next day, today's absences count again.
        let next_day = memory.fresh(
            vec![
                alert(AlertKind::AbsencesToday, 2),
                alert(AlertKind::Chronic, 1),
            ],
            "2026-03-03",
            &usual,
        );
        assert_eq!(next_day.len(), 1);
        assert_eq!(next_day[0].kind, AlertKind::AbsencesToday);
    }

    #[test]
    fn a_chronic_student_who_drops_below_and_crosses_again_is_notified_again() {
        let mut memory = AlertMemory::default();
        let usual = ReportSettings::default();
        memory.fresh(Vec::new(), "d", &usual);
        assert_eq!(
            memory
                .fresh(vec![alert(AlertKind::Chronic, 5)], "d", &usual)
                .len(),
            1
        );
        assert!(memory.fresh(Vec::new(), "d", &usual).is_empty());
        assert_eq!(
            memory
                .fresh(vec![alert(AlertKind::Chronic, 5)], "d", &usual)
                .len(),
            1
        );
    }

    #[test]
    fn what_new_thresholds_make_true_at_once_is_not_notified_but_later_crossings_are() {
        let mut memory = AlertMemory::default();
        let usual = ReportSettings::default();
        memory.fresh(vec![alert(AlertKind::Chronic, 1)], "d", &usual);
        // Lowered from 10% to 5%: three more students are chronic at once. Reports lists
        // them; a burst of notifications would only repeat it.
        let lower = ReportSettings {
            chronic_threshold: 0.05,
            ..usual
        };
        let now: Vec<Alert> = (1..=4).map(|s| alert(AlertKind::Chronic, s)).collect();
        assert!(memory.fresh(now.clone(), "d", &lower).is_empty());
        // Later, a student crossing the new threshold is notified as usual.
        let mut later = now;
        later.push(alert(AlertKind::Chronic, 5));
        let fresh = memory.fresh(later, "d", &lower);
        assert_eq!(
            fresh
                .iter()
                .map(|a| a.student_period_id)
                .collect::<Vec<_>>(),
            vec![5]
        );
    }

    #[test]
    fn many_alerts_make_one_notification() {
        let fresh: Vec<Alert> = (1..=6)
            .map(|s| alert(AlertKind::AbsencesToday, s))
            .collect();
        let (title, body) = message(&fresh).unwrap();
        assert_eq!(title, "6 attendance alerts");
        assert_eq!(body.lines().count(), 5);
        assert!(body.ends_with("and 2 more: see Reports."));
        assert_eq!(message(&[]), None);
    }
}

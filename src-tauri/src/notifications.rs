//! OS notifications for changes to the statuses the user chose (Settings: for example Absent),
//! grouped: the first matching change opens a window of [`GROUP_WINDOW`], and everything that
//! matches within it becomes one notification ("3 students marked Absent in Class 34"), so a
//! teacher saving a whole register does not raise thirty pop-ups.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::store::reference::NamedId;
use rollcall_core::{Change, Scope};
use rollcall_server::AppState;
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

/// How long matching changes are collected before one notification is shown.
pub const GROUP_WINDOW: Duration = Duration::from_secs(10);
/// At most this many lines in one notification; the rest are counted.
const MAX_LINES: usize = 4;

/// Whether notifications are paused from the tray menu.
#[derive(Clone, Default)]
pub struct NotificationPause(Arc<AtomicBool>);

impl NotificationPause {
    pub fn set(&self, paused: bool) {
        self.0.store(paused, Ordering::Relaxed);
    }

    pub fn is_paused(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether a change should be notified: it moved a record to one of the chosen statuses.
pub fn is_notable(change: &Change, notify_status_ids: &[i64]) -> bool {
    match change.status_after {
        Some(after) => change.status_before != Some(after) && notify_status_ids.contains(&after),
        None => false,
    }
}

/// Matching changes of one window, counted per (school, status, class): ids are per school.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Group {
    counts: BTreeMap<(String, i64, i64), usize>,
}

impl Group {
    pub fn add(&mut self, change: &Change) {
        if let Some(status) = change.status_after {
            *self
                .counts
                .entry((change.tenant.clone(), status, change.class_id))
                .or_default() += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The statuses and classes the message names, per school.
    pub fn names_needed(&self) -> BTreeMap<String, Vec<Name>> {
        let mut needed: BTreeMap<String, Vec<Name>> = BTreeMap::new();
        for (tenant, status, class) in self.counts.keys() {
            let school = needed.entry(tenant.clone()).or_default();
            for name in [Name::Status(*status), Name::Class(*class)] {
                if !school.contains(&name) {
                    school.push(name);
                }
            }
        }
        needed
    }

    /// The notification's title and body, with names from `names` (given the school; ids
    /// when unknown).
    pub fn message(&self, names: &dyn Fn(&str, Name) -> String) -> (String, String) {
        let total: usize = self.counts.values().sum();
        let mut lines: Vec<(usize, String)> = self
            .counts
            .iter()
            .map(|((tenant, status, class), &count)| {
                let who = if count == 1 {
                    "1 student".to_string()
                } else {
                    format!("{count} students")
                };
                let status = names(tenant, Name::Status(*status));
                let class = names(tenant, Name::Class(*class));
                (count, format!("{who} marked {status} in {class}"))
            })
            .collect();
        // The biggest groups first: those are what the office acts on.
        lines.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        if lines.len() == 1 {
            return ("Rollcall".to_string(), lines.remove(0).1);
        }
        let mut body: Vec<String> = lines.iter().take(MAX_LINES).map(|l| l.1.clone()).collect();
        if lines.len() > MAX_LINES {
            let rest: usize = lines[MAX_LINES..].iter().map(|l| l.0).sum();
            body.push(format!("and {rest} more"));
        }
        (
            format!("Rollcall: {total} attendance changes"),
            body.join("\n"),
        )
    }
}

/// An id to put a name to.
pub type Name = NamedId;

/// Names found, per school.
type SchoolNames = HashMap<String, HashMap<Name, String>>;

/// The name the reference tables (filled by the DreamClass resolver) have for `name` in
/// school `tenant`, else its id.
fn name_or_id(names: &SchoolNames, tenant: &str, name: Name) -> String {
    match (names.get(tenant).and_then(|n| n.get(&name)), name) {
        (Some(known), _) => known.clone(),
        (None, Name::Status(id)) => format!("status {id}"),
        (None, Name::Class(id)) => format!("Class {id}"),
    }
}

/// Watches committed changes and raises grouped notifications until the server stops.
pub async fn watch<R: Runtime>(app: AppHandle<R>, state: AppState, pause: NotificationPause) {
    let mut changes = state.subscribe_changes();
    let mut stopping = state.stopping();
    // The statuses chosen in Settings, as they are at each change.
    let settings = state.settings().subscribe();
    loop {
        // Wait for the first notable change, then collect for the rest of the window.
        let mut group = Group::default();
        let deadline = loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(change) => {
                        if !pause.is_paused() && is_notable(&change, &settings.borrow().notify_status_ids) {
                            group.add(&change);
                            break tokio::time::Instant::now() + GROUP_WINDOW;
                        }
                    }
                    // Missed changes only cost a notification line; the window reloads its own.
                    Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "notifications fell behind"),
                    Err(RecvError::Closed) => return,
                },
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        };
        loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(change) => {
                        if !pause.is_paused() && is_notable(&change, &settings.borrow().notify_status_ids) {
                            group.add(&change);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "notifications fell behind"),
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
        if pause.is_paused() || group.is_empty() {
            continue;
        }
        show(&app, &state, group).await;
    }
}

async fn show<R: Runtime>(app: &AppHandle<R>, state: &AppState, group: Group) {
    let mut names = SchoolNames::new();
    for (tenant, needed) in group.names_needed() {
        match state
            .store()
            .names_of(&Scope::all(), tenant.clone(), needed)
            .await
        {
            Ok(found) => {
                names.insert(tenant, found);
            }
            Err(e) => {
                tracing::warn!(error = ?e, "could not read names for a notification");
                return;
            }
        }
    }
    let (title, body) = group.message(&|tenant, name| name_or_id(&names, tenant, name));
    notify(app, &title, &body);
}

/// Shows one OS notification. Without a notification service (a bare X session, CI) it is
/// logged and skipped: the window still shows everything.
pub fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, %title, "could not show a notification");
    }
}

#[cfg(test)]
mod tests {
    use rollcall_core::ChangeSource;

    use super::*;

    fn change(class_id: i64, before: Option<i64>, after: Option<i64>) -> Change {
        Change {
            seq: 1,
            recorded_at: 0,
            source: ChangeSource::Webhook,
            request_id: "r".into(),
            event_type: "ATTENDANCE_UPDATED".into(),
            event_ts: 0,
            tenant: "t".into(),
            attendance_id: 1,
            date: "2026-11-30".into(),
            kind: "SESSION".into(),
            class_id,
            course_id: 1,
            student_period_id: 4,
            status_before: before,
            status_after: after,
            comment_before: None,
            comment_after: None,
        }
    }

    fn names(_tenant: &str, name: Name) -> String {
        match name {
            Name::Status(2) => "Absent".into(),
            Name::Status(id) => format!("status {id}"),
            Name::Class(id) => format!("Year {id}"),
        }
    }

    #[test]
    fn only_moves_to_a_chosen_status_are_notable() {
        assert!(is_notable(&change(7, Some(1), Some(2)), &[2]));
        assert!(is_notable(&change(7, None, Some(2)), &[2]));
        assert!(
            !is_notable(&change(7, Some(2), Some(2)), &[2]),
            "a comment edit"
        );
        assert!(!is_notable(&change(7, Some(2), None), &[2]), "a delete");
        assert!(!is_notable(&change(7, Some(1), Some(3)), &[2]));
        assert!(!is_notable(&change(7, Some(1), Some(2)), &[]));
    }

    #[test]
    fn a_burst_in_one_class_is_one_sentence() {
        let mut group = Group::default();
        for _ in 0..3 {
            group.add(&change(7, Some(1), Some(2)));
        }
        let (title, body) = group.message(&names);
        assert_eq!(title, "Rollcall");
        assert_eq!(body, "3 students marked Absent in Year 7");
    }

    #[test]
    fn several_groups_biggest_first_and_the_rest_counted() {
        let mut group = Group::default();
        group.add(&change(8, None, Some(2)));
        for class in [7, 7, 9, 10, 11, 12, 12] {
            group.add(&change(class, None, Some(2)));
        }
        let (title, body) = group.message(&names);
        assert_eq!(title, "Rollcall: 8 attendance changes");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "2 students marked Absent in Year 12");
        assert_eq!(lines[1], "2 students marked Absent in Year 7");
        assert_eq!(lines[2], "1 student marked Absent in Year 10");
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines[MAX_LINES], "and 2 more");
    }

    #[test]
    fn names_are_asked_for_once_and_fall_back_to_ids() {
        let mut group = Group::default();
        group.add(&change(7, None, Some(2)));
        group.add(&change(7, None, Some(2)));
        group.add(&change(8, None, Some(2)));
        let mut other_school = change(7, None, Some(2));
        other_school.tenant = "u".into();
        group.add(&other_school);
        assert_eq!(
            group.names_needed(),
            BTreeMap::from([
                (
                    "t".to_string(),
                    vec![Name::Status(2), Name::Class(7), Name::Class(8)]
                ),
                ("u".to_string(), vec![Name::Status(2), Name::Class(7)]),
            ])
        );
        let names = SchoolNames::from([(
            "t".to_string(),
            HashMap::from([(Name::Class(7), "Year 7 A".to_string())]),
        )]);
        assert_eq!(name_or_id(&names, "t", Name::Class(7)), "Year 7 A");
        assert_eq!(
            name_or_id(&names, "u", Name::Class(7)),
            "Class 7",
            "class 7 of another school is not named after this one's"
        );
        assert_eq!(name_or_id(&names, "t", Name::Class(8)), "Class 8");
        assert_eq!(name_or_id(&names, "t", Name::Status(2)), "status 2");
    }
}

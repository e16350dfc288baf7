//! A realistic school day of attendance webhooks for the demo school: lessons taken (created),
//! some corrected (updated), a few deleted, plus the awkward parts of real delivery: duplicates
//! and stale versions that arrive after newer ones.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rollcall_core::{AttendanceEventKind, AttendanceRecord};

use crate::school::{DemoSchool, StatusCategory};

/// Why a delivery is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryNote {
    /// A new event.
    Fresh,
    /// The same request again, as a retrying sender would.
    Duplicate,
    /// An older version of a record, arriving after a newer one: must change nothing.
    Stale,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub request_id: String,
    pub kind: AttendanceEventKind,
    pub timestamp: i64,
    pub record: AttendanceRecord,
    pub note: DeliveryNote,
}

#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Deliveries in all, duplicates and stale ones included.
    pub events: usize,
    pub seed: u64,
    /// The timestamp of the newest event (normally now): no event is dated after it.
    pub end_ts: i64,
    /// The first school day (today, normally); earlier days follow when one day is not enough.
    pub first_date: chrono::NaiveDate,
}

/// The deliveries to send, in sending order, and the state they must leave behind.
#[derive(Debug, Clone)]
pub struct TrafficPlan {
    pub deliveries: Vec<PlannedDelivery>,
    /// attendance id → the final record (`None` when deleted), by the newest-event-wins rule.
    pub expected: BTreeMap<i64, Option<AttendanceRecord>>,
}

impl TrafficPlan {
    pub fn count(&self, note: DeliveryNote) -> usize {
        self.deliveries.iter().filter(|d| d.note == note).count()
    }
}

/// Plans `options.events` deliveries for `school`.
pub fn plan(school: &DemoSchool, options: PlanOptions) -> TrafficPlan {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut fresh: Vec<(AttendanceEventKind, AttendanceRecord)> = Vec::new();
    // About one delivery in twenty is a duplicate or a stale version (added below).
    let budget = options.events - options.events / 20;
    let mut day_index = 0u32;
    let mut date = options.first_date;
    'days: while fresh.len() < budget {
        for class in &school.classes {
            for (lesson, course_id) in class.timetable.iter().enumerate() {
                let lesson_start = fresh.len();
                for student in school.students_in(class.id) {
                    if fresh.len() >= budget {
                        break 'days;
                    }
                    let status = pick_status(school, &mut rng);
                    fresh.push((
                        AttendanceEventKind::Created,
                        AttendanceRecord {
                            id: school.attendance_id(day_index, lesson, student.student_period_id),
                            date: date.format("%Y-%m-%d").to_string(),
                            kind: "SESSION".into(),
                            class_id: class.id,
                            course_id: *course_id,
                            status_id: status,
                            student_period_id: student.student_period_id,
                            comment: String::new(),
                        },
                    ));
                }
                // Corrections after the lesson: a late arrival, a wrong tick, a removed entry.
                let taken: Vec<AttendanceRecord> = fresh[lesson_start..]
                    .iter()
                    .map(|(_, r)| r.clone())
                    .collect();
                for record in taken {
                    if fresh.len() >= budget {
                        break 'days;
                    }
                    let roll: f64 = rng.random();
                    if roll < 0.08 {
                        let mut updated = record.clone();
                        updated.status_id = school.status_by_category(StatusCategory::Late).id;
                        updated.comment = CORRECTION_COMMENTS
                            [rng.random_range(0..CORRECTION_COMMENTS.len())]
                        .to_string();
                        fresh.push((AttendanceEventKind::Updated, updated));
                    } else if roll < 0.09 {
                        fresh.push((AttendanceEventKind::Deleted, record));
                    }
                }
            }
        }
        day_index += 1;
        date = previous_school_day(date);
    }

    // Timestamps increase in event order and end at `end_ts`, one second apart.
    let n = fresh.len() as i64;
    let mut deliveries: Vec<PlannedDelivery> = fresh
        .into_iter()
        .enumerate()
        .map(|(i, (kind, record))| PlannedDelivery {
            request_id: uuid_from(&mut rng),
            kind,
            timestamp: options.end_ts - (n - i as i64) * 1000,
            record,
            note: DeliveryNote::Fresh,
        })
        .collect();

    // Stale versions: an older update of a corrected or deleted record, sent after it.
    let mut extras: Vec<(usize, PlannedDelivery)> = Vec::new();
    for (i, d) in deliveries.iter().enumerate() {
        if d.kind != AttendanceEventKind::Created && rng.random::<f64>() < 0.25 {
            let mut record = d.record.clone();
            record.status_id = school.status_by_category(StatusCategory::Absent).id;
            record.comment = "entered before the correction".into();
            extras.push((
                i + 1,
                PlannedDelivery {
                    request_id: uuid_from(&mut rng),
                    kind: AttendanceEventKind::Updated,
                    timestamp: d.timestamp - 500,
                    record,
                    note: DeliveryNote::Stale,
                },
            ));
        }
    }
    // Duplicates: about 2% of deliveries are sent again a little later.
    for (i, d) in deliveries.iter().enumerate() {
        if rng.random::<f64>() < 0.02 {
            let later = (i + 1 + rng.random_range(0..20)).min(deliveries.len());
            extras.push((
                later,
                PlannedDelivery {
                    note: DeliveryNote::Duplicate,
                    ..d.clone()
                },
            ));
        }
    }
    // Keep within the asked total, then insert from the back so positions stay valid.
    extras.sort_by_key(|(pos, _)| *pos);
    extras.truncate(options.events - deliveries.len());
    for (pos, d) in extras.into_iter().rev() {
        deliveries.insert(pos, d);
    }
    // Top up with retries of early deliveries sent at the end, to send exactly the total asked.
    let mut i = 0;
    while deliveries.len() < options.events && !deliveries.is_empty() {
        let again = PlannedDelivery {
            note: DeliveryNote::Duplicate,
            ..deliveries[i].clone()
        };
        deliveries.push(again);
        i += 1;
    }
    let expected = expected_state(&deliveries);
    TrafficPlan {
        deliveries,
        expected,
    }
}

const CORRECTION_COMMENTS: &[&str] = &[
    "arrived after the bell",
    "bus was late",
    "dentist, note from parent",
    "came in during the lesson, \"without a note\"",
    "καθυστέρηση λεωφορείου",
];

fn pick_status(school: &DemoSchool, rng: &mut StdRng) -> i64 {
    let roll: f64 = rng.random();
    let category = if roll < 0.86 {
        StatusCategory::Present
    } else if roll < 0.93 {
        StatusCategory::Absent
    } else if roll < 0.97 {
        StatusCategory::Late
    } else {
        StatusCategory::Excused
    };
    school.status_by_category(category).id
}

fn uuid_from(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn previous_school_day(date: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    let mut d = date
        .pred_opt()
        .expect("dates before year 0 are not planned");
    while matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        d = d.pred_opt().expect("dates before year 0 are not planned");
    }
    d
}

/// The state a set of deliveries must leave, whatever order they arrive in: per record, the
/// event with the newest timestamp wins (request id breaks ties).
pub fn expected_state(deliveries: &[PlannedDelivery]) -> BTreeMap<i64, Option<AttendanceRecord>> {
    let mut newest: BTreeMap<i64, &PlannedDelivery> = BTreeMap::new();
    for d in deliveries {
        let entry = newest.entry(d.record.id).or_insert(d);
        if (d.timestamp, &d.request_id) > (entry.timestamp, &entry.request_id) {
            *entry = d;
        }
    }
    newest
        .into_iter()
        .map(|(id, d)| {
            let record = (d.kind != AttendanceEventKind::Deleted).then(|| d.record.clone());
            (id, record)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(events: usize) -> PlanOptions {
        PlanOptions {
            events,
            seed: 1,
            end_ts: 1_800_000_000_000,
            first_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        }
    }

    #[test]
    fn plan_has_the_asked_size_and_every_kind_of_delivery() {
        let school = DemoSchool::generate(1);
        let plan = plan(&school, options(3000));
        assert_eq!(plan.deliveries.len(), 3000);
        assert!(plan.count(DeliveryNote::Duplicate) > 0);
        assert!(plan.count(DeliveryNote::Stale) > 0);
        let kinds = |k| plan.deliveries.iter().filter(|d| d.kind == k).count();
        assert!(kinds(AttendanceEventKind::Updated) > 0);
        assert!(kinds(AttendanceEventKind::Deleted) > 0);
        assert!(plan
            .deliveries
            .iter()
            .all(|d| d.timestamp <= 1_800_000_000_000));
        // Stale deliveries come after the version they are older than.
        for (i, d) in plan.deliveries.iter().enumerate() {
            if d.note == DeliveryNote::Stale {
                let newer = plan.deliveries[..i]
                    .iter()
                    .any(|p| p.record.id == d.record.id && p.timestamp > d.timestamp);
                assert!(newer, "stale delivery {i} is not preceded by a newer one");
            }
        }
        assert!(
            plan.expected.values().any(Option::is_none),
            "some records end deleted"
        );
    }

    #[test]
    fn plan_spans_days_when_one_is_not_enough() {
        let school = DemoSchool::generate(1);
        let plan = plan(&school, options(1500));
        let dates: std::collections::BTreeSet<_> = plan
            .deliveries
            .iter()
            .map(|d| d.record.date.clone())
            .collect();
        assert_eq!(
            dates.into_iter().collect::<Vec<_>>(),
            vec!["2026-11-26".to_string(), "2026-11-27".to_string()]
        );
    }
}

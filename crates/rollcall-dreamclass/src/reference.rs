//! The names behind the ids, from the DreamClass side: which webhooks carry names, and what
//! their `data` says, read into a typed [`ReferenceUpdate`] the store applies. The tables and
//! their SQL are in `rollcall_core::store::reference`; its types are re-exported here.

use serde_json::Value;

use crate::decode;

pub use rollcall_core::store::reference::{
    FetchedReference, KnownIds, NamedId, Reference, ReferenceName, ReferenceStatus,
    ReferenceStudent, ReferenceUpdate, ReferenceWebhookEffect,
};

/// Whether Rollcall keeps anything from a webhook of this type (student enrolments, class
/// assignments, classes). The server stores them as "ignored" deliveries either way.
pub fn is_reference_event(event_type: &str) -> bool {
    event_type.starts_with("STUDENT_PERIOD_")
        || event_type.starts_with("STUDENT_CLASS_")
        || event_type.starts_with("CLASS_")
}

/// What a `STUDENT_PERIOD_*`, `STUDENT_CLASS_*` or `CLASS_*` webhook's `data` says about
/// names; `None` for other types and for data without the ids it needs.
pub fn reference_update(event_type: &str, data: &Value) -> Option<ReferenceUpdate> {
    let o = data.as_object()?;
    let deleted = event_type.ends_with("_DELETED");
    if event_type.starts_with("STUDENT_PERIOD_") {
        Some(ReferenceUpdate::StudentPeriod {
            id: decode::int(o, &["id", "studentPeriodId"])?,
            student_id: decode::int(o, &["studentId"]),
            name: decode::text(o, &["name", "fullName"]),
            active: !deleted && o.get("active").and_then(Value::as_bool).unwrap_or(true),
            deleted,
        })
    } else if event_type.starts_with("STUDENT_CLASS_") {
        Some(ReferenceUpdate::StudentClass {
            student_period_id: decode::int(o, &["studentPeriodId", "periodStudentId"])?,
            class_id: decode::int(o, &["classId"])?,
            deleted,
        })
    } else if event_type.starts_with("CLASS_") {
        Some(ReferenceUpdate::Class {
            id: decode::int(o, &["id", "classId"])?,
            name: decode::text(o, &["name", "title"]),
            school_period_id: decode::int(o, &["schoolPeriodId", "periodId"]),
            deleted,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_webhooks_are_read_into_updates() {
        assert_eq!(
            reference_update(
                "STUDENT_PERIOD_CREATED",
                &json!({"id": 12, "active": true, "studentId": 9, "addedAt": "2025-01-01"}),
            ),
            Some(ReferenceUpdate::StudentPeriod {
                id: 12,
                student_id: Some(9),
                name: None,
                active: true,
                deleted: false
            })
        );
        assert_eq!(
            reference_update("CLASS_UPDATED", &json!({"id": 3, "name": "Year 9 C"})),
            Some(ReferenceUpdate::Class {
                id: 3,
                name: Some("Year 9 C".into()),
                school_period_id: None,
                deleted: false
            })
        );
        assert_eq!(
            reference_update(
                "STUDENT_CLASS_CREATED",
                &json!({"classId": 3, "studentPeriodId": 12})
            ),
            Some(ReferenceUpdate::StudentClass {
                student_period_id: 12,
                class_id: 3,
                deleted: false
            })
        );
        assert_eq!(
            reference_update("CLASS_DELETED", &json!({"id": 3})),
            Some(ReferenceUpdate::Class {
                id: 3,
                name: None,
                school_period_id: None,
                deleted: true
            })
        );
        assert_eq!(
            reference_update("STUDENT_PERIOD_DELETED", &json!({"id": 12, "active": true})),
            Some(ReferenceUpdate::StudentPeriod {
                id: 12,
                student_id: None,
                name: None,
                active: false,
                deleted: true
            })
        );
        assert_eq!(
            reference_update("ATTENDANCE_CREATED", &json!({"id": 3})),
            None
        );
        assert_eq!(
            reference_update("CLASS_UPDATED", &json!({"name": "no id"})),
            None
        );
        assert!(
            is_reference_event("STUDENT_PERIOD_DELETED")
                && !is_reference_event("ATTENDANCE_CREATED")
        );
    }
}

//! Tolerant reading of DreamClass answers. The API's shapes are not published, so a list may
//! come bare or wrapped (`{"data": [...]}`, `{"items": [...]}`), fields may have one of a few
//! names, numbers may come as strings, and unknown fields are ignored.

use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Keys under which wrapped lists were seen or are likely.
const LIST_KEYS: &[&str] = &[
    "data", "items", "results", "records", "rows", "list", "content", "values", "response",
];

/// A list taken out of an answer, and whether the answer says it holds only part of the list
/// (a page): then nothing may be concluded from what is missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiList {
    pub items: Vec<Value>,
    pub partial: bool,
}

/// Common page sizes: a list of exactly this many items, from an answer that says nothing of
/// a total, may be a first page.
const PAGE_SIZES: &[usize] = &[10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000];

/// Finds the list in an answer: a bare array, or an object wrapping one.
pub fn extract_list(value: Value) -> Option<ApiList> {
    let says_total = value.as_object().is_some_and(|map| {
        [
            "total",
            "totalCount",
            "totalElements",
            "totalItems",
            "hasMore",
            "hasNext",
            "last",
        ]
        .iter()
        .any(|k| map.contains_key(*k))
    });
    let mut list = extract_wrapped(value)?;
    if !says_total && PAGE_SIZES.contains(&list.items.len()) {
        list.partial = true;
    }
    Some(list)
}

fn extract_wrapped(value: Value) -> Option<ApiList> {
    match value {
        Value::Array(items) => Some(ApiList {
            items,
            partial: false,
        }),
        Value::Object(mut map) => {
            let partial = says_partial(&map);
            for key in LIST_KEYS {
                match map.remove(*key) {
                    Some(Value::Array(items)) => {
                        let partial = partial || total_exceeds(&map, items.len());
                        return Some(ApiList { items, partial });
                    }
                    Some(inner @ Value::Object(_)) => {
                        if let Some(mut list) = extract_wrapped(inner) {
                            list.partial |= partial || total_exceeds(&map, list.items.len());
                            return Some(list);
                        }
                    }
                    _ => {}
                }
            }
            // Any one array field, e.g. {"statuses": [...]}.
            let mut arrays = map.into_iter().filter_map(|(_, v)| match v {
                Value::Array(items) => Some(items),
                _ => None,
            });
            match (arrays.next(), arrays.next()) {
                (Some(items), None) => Some(ApiList { items, partial }),
                _ => None,
            }
        }
        _ => None,
    }
}

fn says_partial(map: &Map<String, Value>) -> bool {
    map.get("hasMore").and_then(Value::as_bool) == Some(true)
        || map.get("last").and_then(Value::as_bool) == Some(false)
        || map.get("hasNext").and_then(Value::as_bool) == Some(true)
}

fn total_exceeds(map: &Map<String, Value>, len: usize) -> bool {
    ["total", "totalCount", "totalElements", "totalItems"]
        .iter()
        .filter_map(|k| map.get(*k).and_then(as_i64))
        .any(|total| total > len as i64)
}

/// A number, or a string holding one.
fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The first of `keys` that holds a whole number; `a.b` looks inside an object.
pub fn int(obj: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| lookup(obj, k).and_then(as_i64))
}

/// The first of `keys` that holds a non-empty string.
pub fn text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match lookup(obj, k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    })
}

fn boolean(obj: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| match lookup(obj, k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) => n.as_i64().map(|n| n != 0),
        _ => None,
    })
}

/// A date written `YYYY-MM-DD`, possibly followed by a time.
fn date(obj: &Map<String, Value>, keys: &[&str]) -> Option<NaiveDate> {
    keys.iter().find_map(|k| match lookup(obj, k) {
        Some(Value::String(s)) if s.len() >= 10 => {
            NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
        }
        _ => None,
    })
}

fn lookup<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    match key.split_once('.') {
        None => obj.get(key),
        Some((outer, inner)) => match obj.get(outer) {
            Some(Value::Object(o)) => lookup(o, inner),
            _ => None,
        },
    }
}

fn person_name(obj: &Map<String, Value>) -> Option<String> {
    if let Some(name) = text(obj, &["fullName", "displayName", "name"]) {
        return Some(name);
    }
    let first = text(obj, &["firstName", "firstname", "givenName"]);
    let last = text(obj, &["lastName", "lastname", "surname", "familyName"]);
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    }
}

/// An attendance status as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    pub id: i64,
    pub name: String,
    /// A category-like field, when the API has one (used to guess the category).
    pub category_hint: Option<String>,
}

/// One student's enrolment, and a class or a course, as the store keeps them.
pub use rollcall_core::store::reference::{FetchedName as ApiNamed, FetchedStudent as ApiStudent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSchoolPeriod {
    pub id: i64,
    pub name: Option<String>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub current: Option<bool>,
}

impl ApiSchoolPeriod {
    /// Whether the period may hold attendance of the days `from..=to`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.start.is_none_or(|s| s <= to) && self.end.is_none_or(|e| e >= from)
    }
}

fn object(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

pub fn status(v: &Value) -> Option<ApiStatus> {
    let o = object(v)?;
    Some(ApiStatus {
        id: int(o, &["id", "statusId", "attendanceStatusId"])?,
        name: text(o, &["name", "title", "label", "description", "code"])?,
        category_hint: text(o, &["category", "type", "kind"]),
    })
}

pub fn student(v: &Value) -> Option<ApiStudent> {
    let o = object(v)?;
    let nested = o.get("student").and_then(Value::as_object);
    Some(ApiStudent {
        student_period_id: int(
            o,
            &[
                "studentPeriodId",
                "periodStudentId",
                "studentPeriod.id",
                "id",
            ],
        )?,
        student_id: int(o, &["studentId", "student.id"]),
        name: person_name(o).or_else(|| nested.and_then(person_name)),
        class_id: int(o, &["classId", "class.id"]),
    })
}

pub fn named(v: &Value, id_keys: &[&str]) -> Option<ApiNamed> {
    let o = object(v)?;
    Some(ApiNamed {
        id: int(o, id_keys)?,
        name: text(o, &["name", "title", "label", "description", "code"])?,
    })
}

pub fn school_period(v: &Value) -> Option<ApiSchoolPeriod> {
    let o = object(v)?;
    Some(ApiSchoolPeriod {
        id: int(o, &["id", "schoolPeriodId", "periodId"])?,
        name: text(o, &["name", "title", "label"]),
        start: date(o, &["startDate", "fromDate", "start", "dateFrom"]),
        end: date(o, &["endDate", "toDate", "end", "dateTo"]),
        current: boolean(o, &["current", "isCurrent", "active", "isActive"]),
    })
}

/// The attendance record id of an answer item, even when the rest cannot be read (so that a
/// record half understood is never taken for a missing one).
pub fn attendance_id(v: &Value) -> Option<i64> {
    int(object(v)?, &["id", "attendanceId"])
}

/// An attendance record as a list gives it. Fields a list may leave out are `None`: they are
/// then taken from what Rollcall has stored, never guessed (see
/// [`ApiAttendance::to_record`]).
pub use rollcall_core::store::recovery::ListedAttendance as ApiAttendance;

/// An attendance record from a list; `None` without an id, a date, a status or a student.
pub fn attendance(v: &Value) -> Option<ApiAttendance> {
    let o = object(v)?;
    Some(ApiAttendance {
        id: int(o, &["id", "attendanceId"])?,
        date: date(o, &["date", "attendanceDate", "day"])?
            .format("%Y-%m-%d")
            .to_string(),
        kind: text(o, &["type", "kind", "attendanceType"]),
        class_id: int(o, &["classId", "class.id"]),
        course_id: int(o, &["courseId", "course.id"]),
        status_id: int(o, &["statusId", "status.id", "attendanceStatusId"])?,
        student_period_id: int(
            o,
            &["studentPeriodId", "periodStudentId", "studentPeriod.id"],
        )?,
        comment: match lookup(o, "comment") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) => Some(String::new()),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_bare_or_wrapped() {
        let bare = extract_list(json!([{"id": 1}])).unwrap();
        assert_eq!(bare.items.len(), 1);
        assert!(!bare.partial);
        let data = extract_list(json!({"data": [{"id": 1}, {"id": 2}], "meta": {}})).unwrap();
        assert_eq!(data.items.len(), 2);
        let items = extract_list(json!({"items": [], "total": 0})).unwrap();
        assert!(items.items.is_empty() && !items.partial);
        let nested = extract_list(json!({"data": {"items": [{"id": 1}]}})).unwrap();
        assert_eq!(nested.items.len(), 1);
        let named = extract_list(json!({"statuses": [{"id": 1}], "ok": true})).unwrap();
        assert_eq!(named.items.len(), 1);
        let page = extract_list(json!({"data": [{"id": 1}], "total": 40})).unwrap();
        assert!(page.partial);
        let hundred: Vec<Value> = (0..100).map(|i| json!({"id": i})).collect();
        assert!(extract_list(Value::Array(hundred.clone())).unwrap().partial);
        let told = extract_list(json!({"data": hundred, "total": 100})).unwrap();
        assert!(!told.partial);
        assert!(extract_list(json!({"message": "hello"})).is_none());
        assert!(extract_list(json!("text")).is_none());
    }

    #[test]
    fn records_with_other_names_and_extra_fields() {
        let s = student(
            &json!({"id": 9, "studentPeriodId": 4, "student": {"firstName": "Eleni",
            "lastName": "Georgiou"}, "photo": null}),
        )
        .unwrap();
        assert_eq!(s.student_period_id, 4);
        assert_eq!(s.name.as_deref(), Some("Eleni Georgiou"));
        let a = attendance(
            &json!({"id": "52", "date": "2025-06-19T00:00:00Z", "classId": 34,
            "courseId": 40, "status": {"id": 5, "name": "Late"}, "studentPeriodId": 4,
            "teacher": "x"}),
        )
        .unwrap()
        .to_record(None, "SESSION");
        assert_eq!(a.id, 52);
        assert_eq!(a.date, "2025-06-19");
        assert_eq!(a.kind, "SESSION");
        assert_eq!(a.status_id, 5);
        assert_eq!(a.comment, "");
        assert!(attendance(&json!({"id": 1, "date": "2025-06-19"})).is_none());
        assert_eq!(
            attendance_id(&json!({"id": 1, "date": "2025-06-19"})),
            Some(1)
        );
    }
}

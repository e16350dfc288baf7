//! The DreamClass webhook envelope: parsing and strict validation.
//!
//! Validation happens in stages that match the answers the listener gives: a body that is not
//! JSON at all (400), the request id needed to check the signature (422), then, once the
//! signature is known to be good, every other field (422, naming the field).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod credentials;

pub use credentials::{read_credentials, Credentials};

/// The attendance event types this app stores. Other DreamClass types are logged and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttendanceEventKind {
    Created,
    Updated,
    Deleted,
}

impl AttendanceEventKind {
    pub fn from_event_type(event_type: &str) -> Option<Self> {
        match event_type {
            "ATTENDANCE_CREATED" => Some(Self::Created),
            "ATTENDANCE_UPDATED" => Some(Self::Updated),
            "ATTENDANCE_DELETED" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn event_type(self) -> &'static str {
        match self {
            Self::Created => "ATTENDANCE_CREATED",
            Self::Updated => "ATTENDANCE_UPDATED",
            Self::Deleted => "ATTENDANCE_DELETED",
        }
    }
}

/// A request body rejected before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("The request body is not valid JSON ({0}).")]
    NotJson(String),
    #[error("The request body must be a JSON object.")]
    NotAnObject,
    #[error("The field `{field}` {problem}.")]
    Field { field: String, problem: String },
}

impl EnvelopeError {
    fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.to_string(),
            problem: problem.into(),
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            Self::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A parsed JSON object whose request id is known to be a UUID: enough to check the signature.
#[derive(Debug, Clone)]
pub struct ParsedBody {
    object: Map<String, Value>,
    request_id: String,
}

/// Stage one: the body is a JSON object with a UUID `id`.
pub fn parse_body(body: &[u8]) -> Result<ParsedBody, EnvelopeError> {
    let StrictValue(value) =
        serde_json::from_slice(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(EnvelopeError::NotAnObject);
    };
    let request_id = match object.get("id") {
        None => return Err(EnvelopeError::field("id", "is missing")),
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(EnvelopeError::field("id", "must be a string")),
    };
    check_request_id(&request_id)?;
    Ok(ParsedBody { object, request_id })
}

/// A request id must be a UUID written the usual way (36 characters).
fn check_request_id(request_id: &str) -> Result<(), EnvelopeError> {
    if uuid::Uuid::try_parse(request_id).is_err() || request_id.len() != 36 {
        return Err(EnvelopeError::field(
            "id",
            "must be a UUID such as dcba9199-0860-4324-8927-17df766a290e",
        ));
    }
    Ok(())
}

/// A JSON value whose objects must not repeat a key. serde_json keeps the last of repeated
/// keys, while other parsers (a proxy, a log viewer, the sender) may read the first: a body
/// such as `{"id":"A",…,"id":"B"}` would mean one thing to whoever checks it and another to us.
/// Refusing it removes the ambiguity.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json's recursion limit still applies: it is checked by the deserializer.
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            if map.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key `{key}` appears twice"
                )));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

impl ParsedBody {
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The `signature` field, if present as a string.
    pub fn signature(&self) -> Option<&str> {
        self.object.get("signature").and_then(Value::as_str)
    }

    /// A hash of the body's content, independent of key order and white space, so that a
    /// retry re-serialised by the sender still counts as the same request.
    pub fn content_sha256(&self) -> String {
        // serde_json's map is ordered by key, so this serialisation is canonical.
        let canonical = serde_json::to_vec(&self.object).expect("a JSON value serialises");
        hex::encode(Sha256::digest(canonical))
    }

    /// Stage two (after the signature check): every envelope field.
    pub fn into_envelope(self) -> Result<Envelope, EnvelopeError> {
        let obj = &self.object;
        let event_type = required_string(obj, "type", "type")?;
        if event_type.is_empty() {
            return Err(EnvelopeError::field("type", "must not be empty"));
        }
        let tenant = required_string(obj, "tenant", "tenant")?;
        if tenant.is_empty() || tenant.len() > 200 || tenant.chars().any(char::is_control) {
            return Err(EnvelopeError::field(
                "tenant",
                "must be the school's DreamClass domain, such as my-school",
            ));
        }
        let timestamp = required_integer(obj, "timestamp", "timestamp")?;
        if timestamp <= 0 {
            return Err(EnvelopeError::field(
                "timestamp",
                "must be milliseconds since 1970",
            ));
        }
        let data = match obj.get("data") {
            None => return Err(EnvelopeError::field("data", "is missing")),
            Some(Value::Object(data)) => data.clone(),
            Some(_) => return Err(EnvelopeError::field("data", "must be a JSON object")),
        };
        let (attendance, other_data) = match AttendanceEventKind::from_event_type(&event_type) {
            Some(kind) => {
                let record = AttendanceRecord::from_data(&data)?;
                (Some(AttendanceEvent { kind, record }), None)
            }
            None => (None, Some(data)),
        };
        Ok(Envelope {
            request_id: self.request_id,
            event_type,
            tenant,
            timestamp,
            attendance,
            other_data,
        })
    }
}

/// A fully validated envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub request_id: String,
    pub event_type: String,
    pub tenant: String,
    /// Milliseconds since the Unix epoch, as sent by DreamClass.
    pub timestamp: i64,
    /// Present for the attendance event types, `None` for every other type.
    pub attendance: Option<AttendanceEvent>,
    /// The `data` object of every other type (students, classes, enrolments), kept as sent so
    /// that the names can be updated from it without reading the body a second time.
    pub other_data: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceEvent {
    pub kind: AttendanceEventKind,
    pub record: AttendanceRecord,
}

/// The `data` of an attendance event: one attendance record as DreamClass describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceRecord {
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The kind of attendance: `SESSION` (per lesson) or a daily kind.
    #[serde(rename = "type")]
    pub kind: String,
    pub class_id: i64,
    pub course_id: i64,
    pub status_id: i64,
    pub student_period_id: i64,
    pub comment: String,
}

impl AttendanceRecord {
    pub fn from_data(data: &Map<String, Value>) -> Result<Self, EnvelopeError> {
        let date = required_string(data, "date", "data.date")?;
        if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() || date.len() != 10 {
            return Err(EnvelopeError::field(
                "data.date",
                "must be a real date written YYYY-MM-DD",
            ));
        }
        let kind = required_string(data, "type", "data.type")?;
        if kind.is_empty() || kind.len() > 64 {
            return Err(EnvelopeError::field(
                "data.type",
                "must name the kind of attendance, such as SESSION",
            ));
        }
        // The record's id is its key in Rollcall and in DreamClass, which numbers records from
        // 1. The other ids are stored as sent: a kind of attendance without a course (daily)
        // may well carry 0 there.
        let id = required_integer(data, "id", "data.id")?;
        if id < 1 {
            return Err(EnvelopeError::field(
                "data.id",
                "must be a positive whole number (DreamClass numbers its records from 1)",
            ));
        }
        Ok(Self {
            id,
            date,
            kind,
            class_id: required_integer(data, "classId", "data.classId")?,
            course_id: required_integer(data, "courseId", "data.courseId")?,
            status_id: required_integer(data, "statusId", "data.statusId")?,
            student_period_id: required_integer(data, "studentPeriodId", "data.studentPeriodId")?,
            comment: required_string(data, "comment", "data.comment")?,
        })
    }
}

fn required_string(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, EnvelopeError> {
    match obj.get(key) {
        None => Err(EnvelopeError::field(field, "is missing")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(EnvelopeError::field(field, "must be a string")),
    }
}

fn required_integer(
    obj: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<i64, EnvelopeError> {
    match obj.get(key) {
        None => Err(EnvelopeError::field(field, "is missing")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            EnvelopeError::field(field, "must be a whole number within ±9223372036854775807")
        }),
        Some(_) => Err(EnvelopeError::field(field, "must be a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const SAMPLE: &str = r#"{"id":"dcba9199-0860-4324-8927-17df766a290e",
 "data":{"id":52,"date":"2025-06-19","type":"SESSION","classId":34,"comment":"sample comment",
         "courseId":40,"statusId":5,"studentPeriodId":4},
 "type":"ATTENDANCE_CREATED","tenant":"my-school",
 "signature":"ssw0fpOJXiij/MRjaZfjSG8Toacmfr8UVKPa5JOKHDs=","timestamp":1727885988419}"#;

    #[test]
    fn published_sample_parses() {
        let parsed = parse_body(SAMPLE.as_bytes()).unwrap();
        assert_eq!(parsed.request_id(), "dcba9199-0860-4324-8927-17df766a290e");
        assert_eq!(
            parsed.signature(),
            Some("ssw0fpOJXiij/MRjaZfjSG8Toacmfr8UVKPa5JOKHDs=")
        );
        let envelope = parsed.into_envelope().unwrap();
        assert_eq!(envelope.tenant, "my-school");
        assert_eq!(envelope.timestamp, 1727885988419);
        assert_eq!(
            envelope.other_data, None,
            "attendance data is kept as the record only"
        );
        let event = envelope.attendance.unwrap();
        assert_eq!(event.kind, AttendanceEventKind::Created);
        assert_eq!(
            event.record,
            AttendanceRecord {
                id: 52,
                date: "2025-06-19".into(),
                kind: "SESSION".into(),
                class_id: 34,
                course_id: 40,
                status_id: 5,
                student_period_id: 4,
                comment: "sample comment".into(),
            }
        );
    }

    #[test]
    fn hash_ignores_key_order_and_spacing() {
        let a = parse_body(br#"{"id":"dcba9199-0860-4324-8927-17df766a290e","x":1,"y":[1,2]}"#)
            .unwrap();
        let b =
            parse_body(br#"{ "y": [1, 2], "x": 1, "id": "dcba9199-0860-4324-8927-17df766a290e" }"#)
                .unwrap();
        let c = parse_body(br#"{"id":"dcba9199-0860-4324-8927-17df766a290e","x":2,"y":[1,2]}"#)
            .unwrap();
        assert_eq!(a.content_sha256(), b.content_sha256());
        assert_ne!(a.content_sha256(), c.content_sha256());
    }

    fn field_error(body: &str) -> String {
        let parsed = parse_body(body.as_bytes());
        let err = match parsed {
            Err(e) => e,
            Ok(p) => p.into_envelope().unwrap_err(),
        };
        err.field_name().unwrap_or("<none>").to_string()
    }

    fn sample_with(path: &[&str], value: Option<Value>) -> String {
        let mut v: Value = serde_json::from_str(SAMPLE).unwrap();
        let mut target = &mut v;
        for key in &path[..path.len() - 1] {
            target = target.get_mut(*key).unwrap();
        }
        let obj = target.as_object_mut().unwrap();
        match value {
            Some(value) => obj.insert(path[path.len() - 1].to_string(), value),
            None => obj.remove(path[path.len() - 1]),
        };
        v.to_string()
    }

    #[test]
    fn each_field_is_named_when_missing_or_wrong() {
        use serde_json::json;
        let cases: Vec<(&[&str], Option<Value>, &str)> = vec![
            (&["id"], None, "id"),
            (&["id"], Some(json!(5)), "id"),
            (&["id"], Some(json!("not-a-uuid")), "id"),
            (&["type"], None, "type"),
            (&["type"], Some(json!(1)), "type"),
            (&["tenant"], Some(json!("")), "tenant"),
            (&["timestamp"], Some(json!("1727885988419")), "timestamp"),
            (&["timestamp"], Some(json!(1.5)), "timestamp"),
            (&["timestamp"], Some(json!(-3)), "timestamp"),
            (&["data"], Some(json!([])), "data"),
            (&["data", "id"], Some(json!("52")), "data.id"),
            (&["data", "id"], Some(json!(0)), "data.id"),
            (&["data", "id"], Some(json!(-52)), "data.id"),
            (&["data", "date"], Some(json!("2025-02-30")), "data.date"),
            (&["data", "date"], Some(json!("19/06/2025")), "data.date"),
            (&["data", "classId"], None, "data.classId"),
            (&["data", "courseId"], Some(json!(null)), "data.courseId"),
            (&["data", "statusId"], Some(json!(1e300)), "data.statusId"),
            (
                &["data", "studentPeriodId"],
                Some(json!(true)),
                "data.studentPeriodId",
            ),
            (&["data", "comment"], None, "data.comment"),
            (&["data", "type"], Some(json!("")), "data.type"),
        ];
        for (path, value, expected) in cases {
            let body = sample_with(path, value.clone());
            assert_eq!(field_error(&body), expected, "{path:?} = {value:?}");
        }
    }

    #[test]
    fn unknown_types_need_only_the_envelope() {
        let body = r#"{"id":"dcba9199-0860-4324-8927-17df766a290e","type":"STUDENT_PERIOD_CREATED",
            "tenant":"my-school","timestamp":1,"signature":"x",
            "data":{"id":1,"active":true,"studentId":9,"addedAt":"2025-01-01"}}"#;
        let envelope = parse_body(body.as_bytes())
            .unwrap()
            .into_envelope()
            .unwrap();
        assert_eq!(envelope.attendance, None);
        assert_eq!(envelope.event_type, "STUDENT_PERIOD_CREATED");
        let data = envelope
            .other_data
            .expect("the data of a names event is kept");
        assert_eq!(data.get("studentId"), Some(&Value::from(9)));
    }

    #[test]
    fn not_json_and_not_object_are_told_apart() {
        assert!(matches!(parse_body(b"{"), Err(EnvelopeError::NotJson(_))));
        assert!(matches!(
            parse_body(b"\xff\xfe"),
            Err(EnvelopeError::NotJson(_))
        ));
        assert_eq!(
            parse_body(b"[1,2]").unwrap_err(),
            EnvelopeError::NotAnObject
        );
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let id = "dcba9199-0860-4324-8927-17df766a290e";
        for body in [
            format!(r#"{{"id":"{id}","id":"00000000-0000-4000-8000-000000000000"}}"#),
            format!(r#"{{"id":"{id}","data":{{"id":1,"id":2}}}}"#),
            format!(r#"{{"id":"{id}","x":[{{"a":1,"a":1}}]}}"#),
        ] {
            match parse_body(body.as_bytes()) {
                Err(EnvelopeError::NotJson(message)) => {
                    assert!(message.contains("appears twice"), "{message}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        // The same key in sibling objects is fine.
        let body = format!(r#"{{"id":"{id}","a":{{"k":1}},"b":{{"k":1}}}}"#);
        assert!(parse_body(body.as_bytes()).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let depth = 100_000;
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(matches!(
            parse_body(body.as_bytes()),
            Err(EnvelopeError::NotJson(_))
        ));
        let body = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert!(matches!(
            parse_body(body.as_bytes()),
            Err(EnvelopeError::NotJson(_))
        ));
    }
}

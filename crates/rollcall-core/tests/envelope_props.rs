//! Property tests of envelope parsing and signature checks: no input makes them panic, every
//! well-formed signed envelope is accepted as sent, and no change to its id keeps a signature.
//!
//! `PROPTEST_CASES=100000 cargo test -p rollcall-core --test envelope_props` for a longer run.

use proptest::prelude::*;
use rollcall_core::envelope::{parse_body, EnvelopeError};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, KeyEncoding, SigningKey};
use serde_json::{json, Value};

fn key() -> SigningKey {
    SigningKey::new("property-secret", KeyEncoding::Text).unwrap()
}

/// Everything the parser and checker offer, on any input: none of it may panic.
fn exercise(body: &[u8]) {
    let key = key();
    if let Ok(parsed) = parse_body(body) {
        let _ = parsed.content_sha256();
        if let Some(signature) = parsed.signature() {
            let _ = key.verify(parsed.request_id(), signature);
        }
        let _ = parsed.into_envelope();
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        uuid().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly the envelope's own keys, so that objects look like envelopes.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "type",
            "tenant",
            "timestamp",
            "signature",
            "data",
            "date",
            "classId",
            "courseId",
            "statusId",
            "studentPeriodId",
            "comment",
        ])
        .prop_map(String::from),
        any::<String>(),
    ]
}

fn uuid() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect())
}

fn tenant() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("no control", |c| !c.is_control()),
        1..40,
    )
    .prop_map(|c| c.into_iter().collect())
    .prop_filter("at most 200 bytes", |s: &String| s.len() <= 200)
}

fn record() -> impl Strategy<Value = AttendanceRecord> {
    (
        1..=i64::MAX,
        0i64..100 * 366,
        text(20)
            .prop_map(|s| format!("K{s}"))
            .prop_filter("at most 64 bytes", |s| s.len() <= 64),
        any::<[i64; 4]>(),
        text(60),
    )
        .prop_map(|(id, day, kind, ids, comment)| AttendanceRecord {
            id,
            date: (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Days::new(day as u64))
            .format("%Y-%m-%d")
            .to_string(),
            kind,
            class_id: ids[0],
            course_id: ids[1],
            status_id: ids[2],
            student_period_id: ids[3],
            comment,
        })
}

fn kind() -> impl Strategy<Value = AttendanceEventKind> {
    prop::sample::select(vec![
        AttendanceEventKind::Created,
        AttendanceEventKind::Updated,
        AttendanceEventKind::Deleted,
    ])
}

#[derive(Debug, Clone)]
struct Signed {
    id: String,
    kind: AttendanceEventKind,
    tenant: String,
    timestamp: i64,
    record: AttendanceRecord,
}

impl Signed {
    fn body(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.event_type(),
            "tenant": self.tenant,
            "timestamp": self.timestamp,
            "signature": key().sign(&self.id),
            "data": serde_json::to_value(&self.record).unwrap(),
        })
    }
}

fn signed() -> impl Strategy<Value = Signed> {
    (uuid(), kind(), tenant(), 1..i64::MAX, record()).prop_map(
        |(id, kind, tenant, timestamp, record)| Signed {
            id,
            kind,
            tenant,
            timestamp,
            record,
        },
    )
}

/// A value of the wrong type for a field that takes a whole number or a string.
fn wrong_for(integer: bool) -> impl Strategy<Value = Option<Value>> {
    let common = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(json!(b))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
    ];
    if integer {
        prop_oneof![
            common,
            any::<String>().prop_map(|s| Some(json!(s))),
            (any::<i32>(), 1u32..1000).prop_map(|(i, f)| Some(json!(i as f64 + f as f64 / 1000.5))),
            Just(Some(json!(u64::MAX))),
        ]
        .boxed()
    } else {
        prop_oneof![common, any::<i64>().prop_map(|n| Some(json!(n)))].boxed()
    }
}

const FIELDS: [(&str, &str, bool); 11] = [
    ("", "type", false),
    ("", "tenant", false),
    ("", "timestamp", true),
    ("data", "id", true),
    ("data", "date", false),
    ("data", "type", false),
    ("data", "classId", true),
    ("data", "courseId", true),
    ("data", "statusId", true),
    ("data", "studentPeriodId", true),
    ("data", "comment", false),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        exercise(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn a_signed_envelope_with_bytes_flipped_never_panics(
        envelope in signed(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut body = serde_json::to_vec(&envelope.body()).unwrap();
        for (at, byte) in flips {
            let at = at.index(body.len());
            body[at] = byte;
        }
        exercise(&body);
    }

    #[test]
    fn a_valid_signed_envelope_verifies_and_round_trips(envelope in signed()) {
        let body = envelope.body();
        let parsed = parse_body(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(parsed.request_id(), envelope.id.as_str());
        prop_assert!(key().verify(parsed.request_id(), parsed.signature().unwrap()));
        // Re-serialised with other spacing, the content hash is the same.
        let pretty = parse_body(serde_json::to_string_pretty(&body).unwrap().as_bytes()).unwrap();
        prop_assert_eq!(parsed.content_sha256(), pretty.content_sha256());
        let parsed = parsed.into_envelope().unwrap();
        prop_assert_eq!(&parsed.request_id, &envelope.id);
        prop_assert_eq!(&parsed.tenant, &envelope.tenant);
        prop_assert_eq!(parsed.timestamp, envelope.timestamp);
        let event = parsed.attendance.unwrap();
        prop_assert_eq!(event.kind, envelope.kind);
        prop_assert_eq!(event.record, envelope.record);
    }

    #[test]
    fn any_change_to_the_id_breaks_the_signature(
        id in uuid(),
        at in any::<prop::sample::Index>(),
        replacement in prop::sample::select(b"0123456789abcdefABCDEF-".to_vec()),
    ) {
        let signature = key().sign(&id);
        let mut changed = id.clone().into_bytes();
        let at = at.index(changed.len());
        prop_assume!(changed[at] != replacement);
        changed[at] = replacement;
        let changed = String::from_utf8(changed).unwrap();
        prop_assert!(!key().verify(&changed, &signature));
        prop_assert!(key().verify(&id, &signature));
    }

    #[test]
    fn another_uuid_never_verifies(a in uuid(), b in uuid()) {
        prop_assume!(a != b);
        prop_assert!(!key().verify(&b, &key().sign(&a)));
    }

    #[test]
    fn a_wrong_field_is_named_in_the_error(
        envelope in signed(),
        (field, wrong) in (0..FIELDS.len())
            .prop_flat_map(|f| (Just(f), wrong_for(FIELDS[f].2))),
    ) {
        let (parent, name, _) = FIELDS[field];
        let mut body = envelope.body();
        let target = if parent.is_empty() { &mut body } else { &mut body[parent] };
        let object = target.as_object_mut().unwrap();
        match &wrong {
            None => { object.remove(name); }
            Some(value) => { object.insert(name.to_string(), value.clone()); }
        }
        let parsed = parse_body(&serde_json::to_vec(&body).unwrap()).unwrap();
        let error = parsed.into_envelope().unwrap_err();
        let expected = if parent.is_empty() { name.to_string() } else { format!("{parent}.{name}") };
        prop_assert_eq!(error.field_name(), Some(expected.as_str()), "{:?} = {:?}", name, wrong);
        let is_field_error = matches!(error, EnvelopeError::Field { .. });
        prop_assert!(is_field_error);
        let quoted = format!("`{expected}`");
        prop_assert!(error.to_string().contains(&quoted));
    }
}

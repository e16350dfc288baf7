//! Stage zero: the request id and signature, read without building the body.
//!
//! The signature covers the request id alone, so it can be checked before the body is turned
//! into values. A flood of forged deliveries then costs one pass over each body and no
//! allocation of its content. The pass still checks everything [`super::parse_body`] checks,
//! in the same order and with the same errors (JSON syntax, a key repeated in any object, a
//! body that is not an object, the `id`), so a forged delivery gets exactly the answer it
//! would get from the full parse.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{check_request_id, EnvelopeError};

/// What the signature check needs from a body whose request id is known to be a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    request_id: Cow<'a, str>,
    signature: Option<Cow<'a, str>>,
}

impl Credentials<'_> {
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The `signature` field, if present as a string.
    pub fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
}

/// The request id and signature of `body`, with the errors [`super::parse_body`] would give.
pub fn read_credentials(body: &[u8]) -> Result<Credentials<'_>, EnvelopeError> {
    let top: Top<'_> =
        serde_json::from_slice(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let Top::Object { id, signature } = top else {
        return Err(EnvelopeError::NotAnObject);
    };
    let request_id = match id {
        None => return Err(EnvelopeError::field("id", "is missing")),
        Some(Field::Str(id)) => id,
        Some(Field::Other) => return Err(EnvelopeError::field("id", "must be a string")),
    };
    check_request_id(&request_id)?;
    let signature = match signature {
        Some(Field::Str(s)) => Some(s),
        _ => None,
    };
    Ok(Credentials {
        request_id,
        signature,
    })
}

/// The body's top level: an object's two fields of interest, or anything else.
enum Top<'a> {
    Object {
        id: Option<Field<'a>>,
        signature: Option<Field<'a>>,
    },
    NotAnObject,
}

/// A top-level field's value: a string, or any other JSON value (checked, then dropped).
enum Field<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl<'de> de::Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Top::NotAnObject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StrictSkip.visit_seq(seq)?;
        Ok(Top::NotAnObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut signature) = (None, None);
        let mut seen = Keys::default();
        while let Some(Key(key)) = access.next_key()? {
            match key.as_ref() {
                "id" => id = Some(access.next_value()?),
                "signature" => signature = Some(access.next_value()?),
                _ => access.next_value_seed(StrictSkip)?,
            }
            seen.insert(key)?;
        }
        Ok(Top::Object { id, signature })
    }
}

impl<'de> de::Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StrictSkip.visit_seq(seq)?;
        Ok(Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        StrictSkip.visit_map(map)?;
        Ok(Field::Other)
    }
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

/// The keys of one object so far. A key seen twice is refused after its second value, where
/// [`super::StrictValue`] refuses it, so that the error names the same position.
#[derive(Default)]
struct Keys<'a>(BTreeSet<Cow<'a, str>>);

impl<'a> Keys<'a> {
    fn insert<E: de::Error>(&mut self, key: Cow<'a, str>) -> Result<(), E> {
        if self.0.contains(&key) {
            return Err(E::custom(format_args!("the key `{key}` appears twice")));
        }
        self.0.insert(key);
        Ok(())
    }
}

/// Any JSON value, checked as [`super::StrictValue`] checks it and then dropped. (serde's
/// `IgnoredAny` would skip as fast but lets repeated keys through.)
#[derive(Clone, Copy)]
struct StrictSkip;

impl<'de> DeserializeSeed<'de> for StrictSkip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSkip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(StrictSkip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = Keys::default();
        while let Some(Key(key)) = access.next_key()? {
            access.next_value_seed(StrictSkip)?;
            seen.insert(key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_body;
    use super::*;

    /// Every body gets the same error, request id and signature from both stages.
    fn same_as_full_parse(body: &str) {
        let full = parse_body(body.as_bytes());
        let quick = read_credentials(body.as_bytes());
        match (full, quick) {
            (Ok(full), Ok(quick)) => {
                assert_eq!(full.request_id(), quick.request_id(), "{body}");
                assert_eq!(full.signature(), quick.signature(), "{body}");
            }
            (Err(full), Err(quick)) => assert_eq!(full, quick, "{body}"),
            (full, quick) => panic!("{body}: full parse {full:?}, credentials {quick:?}"),
        }
    }

    const ID: &str = "dcba9199-0860-4324-8927-17df766a290e";

    #[test]
    fn credentials_agree_with_the_full_parse() {
        let bodies = [
            super::super::tests::SAMPLE.to_string(),
            format!(r#"{{"id":"{ID}","signature":"abc"}}"#),
            format!(r#"{{"signature":"a\u0062c","id":"{ID}"}}"#),
            format!(r#"{{"id":"{ID}","signature":5}}"#),
            format!(r#"{{"id":"{ID}","signature":null}}"#),
            format!(r#"{{"id":"{ID}"}}"#),
            format!(r#"{{"\u0069d":"{ID}"}}"#),
            format!(r#"{{"id":"{ID}","id":"{ID}"}}"#),
            format!(r#"{{"id":"{ID}","i\u0064":"{ID}"}}"#),
            format!(r#"{{"id":"{ID}","data":{{"a":1,"a":2}},"signature":"x"}}"#),
            format!(r#"{{"id":"{ID}","data":[{{"a":1}},{{"b":[{{"c":1,"c":1}}]}}]}}"#),
            format!(r#"{{"id":"{ID}","data":{{"a":{{"a":1}},"b":[1,2.5,-3,true,null,"s"]}}}}"#),
            format!(r#"{{"id":"{ID}","signature":"x"}} trailing"#),
            format!(r#"{{"id":"{ID}","signature":"x""#),
            format!(r#"[{{"id":"{ID}"}}]"#),
            r#"[{"a":1,"a":1}]"#.to_string(),
            r#""just a string""#.to_string(),
            "42".to_string(),
            "null".to_string(),
            "".to_string(),
            "{".to_string(),
            r#"{"id":52}"#.to_string(),
            r#"{"id":"not-a-uuid"}"#.to_string(),
            r#"{"id":"DCBA9199-0860-4324-8927-17DF766A290E"}"#.to_string(),
            r#"{"id":"dcba919908604324892717df766a290e"}"#.to_string(),
            r#"{"id":"{dcba9199-0860-4324-8927-17df766a290e}"}"#.to_string(),
            format!(r#"{{"id":"{ID}","x":"\ud800"}}"#),
            format!(r#"{{"id":"{ID}","x":1e999}}"#),
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
            format!(
                r#"{{"id":"{ID}","d":{}{}}}"#,
                "[".repeat(130),
                "]".repeat(130)
            ),
        ];
        for body in &bodies {
            same_as_full_parse(body);
        }
    }

    #[test]
    fn credentials_borrow_from_the_body() {
        let body = format!(r#"{{"id":"{ID}","signature":"abc"}}"#);
        let credentials = read_credentials(body.as_bytes()).unwrap();
        assert_eq!(credentials.request_id(), ID);
        assert_eq!(credentials.signature(), Some("abc"));
        assert!(matches!(credentials.request_id, Cow::Borrowed(_)));
    }
}

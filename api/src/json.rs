//! `ApiJson<T>`: the JSON body extractor. Unlike axum's `Json`, its errors
//! are problem+json and name the field (via serde_path_to_error): syntax
//! errors are 400, a body of the wrong shape is 422 with the path that
//! failed, a missing JSON content type is 415.

use crate::error::{ApiError, FieldError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

/// The configured body cap, put in request extensions by the router so the
/// 413 can say what the limit is.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit },
                _ => ApiError::MalformedJson(rejection.body_text()),
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a body: syntax errors → 400, shape errors → 422 naming the path,
/// a string holding a control character → 422 naming its path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_control_characters(bytes)?;
    if let Some(duplicate) = duplicate_key(bytes) {
        return Err(ApiError::MalformedJson(duplicate));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => {
            de.end()
                .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            Ok(value)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::MalformedJson(inner.to_string()))
            } else {
                let field = match path.as_str() {
                    "." => missing_field(&inner.to_string()).unwrap_or_else(|| "body".to_owned()),
                    p => missing_field(&inner.to_string())
                        .map(|f| format!("{p}.{f}"))
                        .unwrap_or_else(|| p.to_owned()),
                };
                Err(ApiError::Validation(vec![FieldError::new(
                    field,
                    strip_position(&inner.to_string()),
                )]))
            }
        }
    }
}

/// What a stored string may not hold: C0 controls other than tab, line feed
/// and carriage return. PostgreSQL refuses U+0000 in text and jsonb (a 500
/// if it got that far, issue 18), and the others have no business in a
/// name, an email or a description.
pub(crate) fn forbidden(c: char) -> bool {
    matches!(c, '\0'..='\x1f') && !matches!(c, '\t' | '\n' | '\r')
}

/// JSON can carry a control character only as a `\u0000`–`\u001F` escape
/// (raw ones are syntax errors), so bodies without one (nearly all, also
/// those whose encoder escapes `é` as `\u00e9`) cost one scan; the rest are
/// walked to name the first string or key that holds one.
fn refuse_control_characters(bytes: &[u8]) -> Result<(), ApiError> {
    let control_escape =
        |w: &[u8]| w[..4].eq_ignore_ascii_case(b"\\u00") && matches!(w[4], b'0' | b'1');
    if !bytes.windows(5).any(control_escape) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // a syntax error: the typed parse reports it
    };
    match control_character_path(&value, String::new()) {
        None => Ok(()),
        Some(path) => Err(ApiError::Validation(vec![FieldError::new(
            if path.is_empty() {
                "body".to_owned()
            } else {
                path
            },
            "must not contain control characters (U+0000 to U+001F other than tab and line breaks)",
        )])),
    }
}

/// The path (`a.b[2].c`, as serde_path_to_error writes it) of the first
/// string or key in `value` holding a forbidden character.
fn control_character_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| match path.is_empty() {
        true => key.to_owned(),
        false => format!("{path}.{key}"),
    };
    match value {
        Value::String(s) => s.chars().any(forbidden).then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_character_path(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.chars().any(forbidden) {
                Some(join(&key.escape_debug().to_string()))
            } else {
                control_character_path(item, join(key))
            }
        }),
        _ => None,
    }
}

/// Where `bytes` first names a key twice in one object, as "duplicate key
/// `k` at `path`"; None when no object does (or the JSON is malformed: the
/// typed parse reports that). serde_json keeps the last of two equal keys,
/// so `{"size": 4, "size": 400}` would pass for whichever a reader saw
/// first, and two bodies that differ only there would hash alike for
/// `Idempotency-Key` (issue 18); RFC 8259 leaves such objects to the
/// receiver, and the api refuses them (400).
pub fn duplicate_key(bytes: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Err(e) = serde_path_to_error::deserialize::<_, NoDuplicateKeys>(&mut de) else {
        return None;
    };
    let path = e.path().to_string();
    let message = e.into_inner().to_string();
    let key = message.strip_prefix(DUPLICATE)?;
    let key = strip_position(key);
    Some(match path.as_str() {
        "." => format!("duplicate key `{key}` in the body"),
        path => format!("duplicate key `{key}` in `{path}`"),
    })
}

/// The error `NoDuplicateKeys` raises, followed by the key.
const DUPLICATE: &str = "duplicate key: ";

/// Any JSON value, walked only to find an object with a key twice; keeps
/// nothing but each open object's keys.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
            seen.insert(key);
        }
        Ok(self)
    }
}

/// serde reports a missing field in its message, not its path (an unknown
/// field is in the path already).
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// "... at line 1 column 7" means nothing to a client that sent one line.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    /// The first field a refusal of `body` as a `T` names.
    fn refused_field<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> Option<String> {
        match parse::<T>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors.first().map(|e| e.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_key_named_twice_in_one_object_is_malformed() {
        // Issue 18: the last of two equal keys won, silently.
        let refused = |body: &str| match parse::<serde_json::Value>(body.as_bytes()) {
            Err(ApiError::MalformedJson(m)) => m,
            other => format!("not refused as malformed: {other:?}"),
        };
        assert_eq!(
            refused(r#"{"size": 4, "size": 400}"#),
            "duplicate key `size` in the body"
        );
        assert_eq!(
            refused(r#"{"lattice": {"size": 4, "wrap": true, "size": 5}}"#),
            "duplicate key `size` in `lattice`"
        );
        assert_eq!(
            refused(r#"{"jobs": [{"a": 1}, {"b": 1, "b": 2}]}"#),
            "duplicate key `b` in `jobs[1]`"
        );
        // Escapes spell the same key.
        assert_eq!(
            refused(r#"{"a": 1, "\u0061": 2}"#),
            "duplicate key `a` in the body"
        );
        // Equal keys in different objects, and equal values, are fine.
        assert!(
            parse::<serde_json::Value>(br#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 1}]}"#).is_ok()
        );
        // A syntax error is still reported as one.
        assert!(matches!(
            parse::<serde_json::Value>(br#"{"a": 1, "b""#),
            Err(ApiError::MalformedJson(m)) if !m.contains("duplicate")
        ));
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(
            parse::<Outer>(b"{\"inner\":"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<Outer>(br#"{"inner": {"n": 1}} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        tags: Vec<String>,
    }

    #[test]
    fn control_characters_in_strings_are_refused_naming_the_field() {
        // Issue 18: a NUL in the login email was a 500 (PostgreSQL refuses it).
        assert_eq!(
            refused_field::<Login>(r#"{"email": "a\u0000b@example.com", "tags": []}"#).as_deref(),
            Some("email")
        );
        assert_eq!(
            refused_field::<Login>(r#"{"email": "a@example.com", "tags": ["ok", "b\u001Fc"]}"#)
                .as_deref(),
            Some("tags[1]")
        );
        // Tab and line breaks stay allowed; an escaped backslash is not a control.
        assert!(parse::<Login>(br#"{"email": "a\tb\n", "tags": ["\\u0000"]}"#).is_ok());
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            refused_field::<Outer>(r#"{"inner": {"n": "x"}}"#).as_deref(),
            Some("inner.n")
        );
        assert_eq!(
            refused_field::<Outer>(r#"{"inner": {}}"#).as_deref(),
            Some("inner.n")
        );
        assert_eq!(refused_field::<Outer>(r#"{}"#).as_deref(), Some("inner"));
        assert_eq!(
            refused_field::<Outer>(r#"{"inner": {"n": 1}, "x": 1}"#).as_deref(),
            Some("x")
        );
    }
}

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

/// Parses a body: syntax errors → 400, shape errors → 422 naming the path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
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

    fn field_of(body: &str) -> Option<String> {
        match parse::<Outer>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors.first().map(|e| e.field.clone()),
            _ => None,
        }
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

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"inner": {"n": "x"}}"#).as_deref(),
            Some("inner.n")
        );
        assert_eq!(field_of(r#"{"inner": {}}"#).as_deref(), Some("inner.n"));
        assert_eq!(field_of(r#"{}"#).as_deref(), Some("inner"));
        assert_eq!(
            field_of(r#"{"inner": {"n": 1}, "x": 1}"#).as_deref(),
            Some("x")
        );
    }
}

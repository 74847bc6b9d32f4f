//! `ApiQuery<T>`: the query-string extractor. axum's `Query` answers a bad
//! parameter with a plain-text 400 and ignores one it does not know; this
//! one answers 422 problem+json naming the parameter, as `ApiJson` does for
//! bodies, and the query structs deny unknown parameters (issue 21: a
//! filter a route does not have, `?operation=` before it had one, was
//! silently ignored, so a client got every job and thought it got some).

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses a query string (without the `?`); 422 naming the parameter.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let field = match e.path().to_string().as_str() {
            // The struct itself: an unknown or repeated parameter, named in
            // serde's message ("unknown field `x`, expected …").
            "." | "" => named_in(&message).unwrap_or("query").to_owned(),
            path => path.to_owned(),
        };
        ApiError::field(field, message)
    })
}

fn named_in(message: &str) -> Option<&str> {
    message.split('`').nth(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filters {
        limit: Option<i64>,
        status: Option<String>,
    }

    fn refused(query: &str) -> String {
        match parse::<Filters>(query) {
            Err(e) => e.invalid_fields(),
            Ok(parsed) => format!("accepted: {parsed:?}"),
        }
    }

    #[test]
    fn parameters_parse_and_bad_or_unknown_ones_are_named() {
        let ok = parse::<Filters>("limit=5&status=queued");
        assert!(
            matches!(&ok, Ok(Filters { limit: Some(5), status: Some(s) }) if s == "queued"),
            "{ok:?}"
        );
        assert!(matches!(
            parse::<Filters>(""),
            Ok(Filters {
                limit: None,
                status: None
            })
        ));
        assert_eq!(refused("limit=ten"), "limit");
        assert_eq!(refused("operation=shortest_path"), "operation");
        assert_eq!(refused("status=a&status=b"), "status");
    }
}

//! The OpenAPI 3.1 document's frame: info, tags and the security scheme.
//! Paths and schemas are added by the routers that register them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Catalytic API",
        description = "Submit lattice compute jobs and read their results. Errors are RFC 9457 problem+json naming the field.",
    ),
    tags(
        (name = "jobs", description = "Submit and poll lattice jobs"),
        (name = "lattices", description = "Stored lattice definitions jobs can name by id"),
        (name = "auth", description = "Accounts and sessions: register, login, refresh, logout"),
        (name = "users", description = "The caller (/v1/me), the tenant's users, roles and invitations"),
        (name = "api-keys", description = "The tenant's API keys: scope, expiry, last use, revocation"),
        (name = "tenant", description = "The caller's tenant and its plan"),
        (name = "billing", description = "Usage rollups and invoices (drafts, finalised, adjustments)"),
        (name = "admin", description = "Platform operators (operator keys): the fleet"),
        (name = "webhooks", description = "Webhook endpoints (signed, Standard Webhooks 1.0), messages, attempts, replay"),
        (name = "health", description = "Probes, metrics and this document"),
    ),
    modifiers(&ApiKeyAuth),
)]
pub struct ApiDoc;

/// The whole document, as `/openapi.json` serves it (and
/// `catalytic-api openapi` prints it).
pub fn document() -> Result<Json, serde_json::Error> {
    served(&crate::routes::api_router().split_for_parts().1)
}

/// JSON whose objects keep their keys in document order: serde_json's
/// `Value` sorts them (its `preserve_order` feature would change every map
/// in the workspace, the idempotency fingerprints' included).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Json {
    Object(IndexMap<String, Json>),
    Array(Vec<Json>),
    Scalar(serde_json::Value),
}

/// utoipa's document as it is served. utoipa 6 leaves out an empty
/// response `description`, which OpenAPI 3.1 requires (utoipa 5 wrote
/// `"description": ""`; openapi-spec-validator refuses the document
/// without it), so each operation's responses get it back, first, where
/// utoipa 5 put it. Everything else is utoipa's output, in its order.
pub fn served(doc: &utoipa::openapi::OpenApi) -> Result<Json, serde_json::Error> {
    let mut json: Json = serde_json::from_str(&serde_json::to_string(doc)?)?;
    for response in responses(&mut json) {
        if !response.contains_key("description") && !response.contains_key("$ref") {
            let empty = Json::Scalar(serde_json::Value::String(String::new()));
            response.shift_insert(0, "description".to_owned(), empty);
        }
    }
    Ok(json)
}

/// Every response object of every operation (`paths.*.*.responses.*`).
fn responses(doc: &mut Json) -> impl Iterator<Item = &mut IndexMap<String, Json>> {
    fn object(json: &mut Json) -> Option<&mut IndexMap<String, Json>> {
        match json {
            Json::Object(map) => Some(map),
            _ => None,
        }
    }
    object(doc)
        .and_then(|doc| doc.get_mut("paths"))
        .and_then(object)
        .into_iter()
        .flat_map(|paths| paths.values_mut().filter_map(object))
        .flat_map(|item| item.values_mut().filter_map(object))
        .filter_map(|operation| operation.get_mut("responses").and_then(object))
        .flat_map(|responses| responses.values_mut().filter_map(object))
}

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An operator key, `clo_` + 64 hex characters (catalytic-api admin create-operator-key)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (`clc_` + 64 hex characters) or a JWT access token from `/v1/auth/login`"))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenAPI 3.1 requires a description on every response; the keys stay
    /// in utoipa's order (`openapi` first, not sorted).
    #[test]
    fn every_response_has_a_description_and_the_order_is_utoipas() -> anyhow::Result<()> {
        let mut doc = document()?;
        let mut count = 0;
        for response in responses(&mut doc) {
            assert!(response.contains_key("description") || response.contains_key("$ref"));
            count += 1;
        }
        assert!(count > 100, "{count} responses: the walk missed the paths");
        let Json::Object(top) = doc else {
            anyhow::bail!("the document is not an object")
        };
        assert_eq!(
            top.keys().collect::<Vec<_>>(),
            ["openapi", "info", "paths", "components", "tags"]
        );
        Ok(())
    }
}

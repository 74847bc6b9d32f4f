//! The OpenAPI 3.1 document's frame: info, tags and the security scheme.
//! Paths and schemas are added by the routers that register them.

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
        (name = "schedules", description = "Cron schedules: a job template submitted at each tick, in a time zone"),
        (name = "concurrency-keys", description = "Stored limits per concurrency key: they override each job's own max_concurrency, waiting jobs included"),
        (name = "auth", description = "Accounts and sessions: register, verify the email, login, refresh, logout, change or reset the password"),
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
pub fn document() -> utoipa::openapi::OpenApi {
    crate::routes::api_router().split_for_parts().1
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
    use utoipa::openapi::RefOr;

    /// OpenAPI 3.1 requires a description on every response (utoipa 6
    /// leaves the key out when it is empty), and client generators show it:
    /// every response of every operation has one.
    #[test]
    fn every_response_has_a_description() {
        let doc = document();
        let mut count = 0;
        let mut missing = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("get", &item.get),
                ("put", &item.put),
                ("post", &item.post),
                ("delete", &item.delete),
                ("options", &item.options),
                ("head", &item.head),
                ("patch", &item.patch),
                ("trace", &item.trace),
                ("query", &item.query),
            ];
            let operations = methods
                .into_iter()
                .filter_map(|(method, operation)| Some((method, operation.as_ref()?)))
                .chain(
                    item.additional_operations
                        .iter()
                        .map(|(method, operation)| (method.as_str(), operation)),
                );
            for (method, operation) in operations {
                for (status, response) in &operation.responses.responses {
                    count += 1;
                    // A `$ref` response takes the description of the one it names.
                    if let RefOr::T(response) = response
                        && response.description.trim().is_empty()
                    {
                        missing.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert!(count > 100, "{count} responses: the walk missed the paths");
        assert!(
            missing.is_empty(),
            "responses without a description:\n{}",
            missing.join("\n")
        );
    }
}

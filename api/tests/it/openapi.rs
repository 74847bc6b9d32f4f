use crate::harness::spawn_app;
use serde_json::{Value, json};

const EXPECTED: &[(&str, &str)] = &[
    ("/v1/jobs", "post"),
    ("/v1/jobs/batch", "post"),
    ("/v1/jobs/{id}", "get"),
    ("/v1/jobs", "get"),
    ("/v1/jobs/{id}/cancel", "post"),
    ("/v1/jobs/{id}/rerun", "post"),
    ("/v1/jobs/{id}", "delete"),
    ("/v1/jobs/cancel", "post"),
    ("/v1/jobs/delete", "post"),
    ("/v1/jobs/{id}/result/{part}", "get"),
    ("/v1/lattices", "post"),
    ("/v1/lattices", "get"),
    ("/v1/lattices/{id}", "get"),
    ("/v1/lattices/{id}", "patch"),
    ("/v1/lattices/{id}", "delete"),
    ("/v1/auth/register", "post"),
    ("/v1/auth/login", "post"),
    ("/v1/auth/refresh", "post"),
    ("/v1/auth/logout", "post"),
    ("/v1/auth/verify-email", "post"),
    ("/v1/auth/verify-email/resend", "post"),
    ("/v1/auth/password-reset", "post"),
    ("/v1/auth/password-reset/confirm", "post"),
    ("/v1/auth/password", "post"),
    ("/v1/audit-log", "get"),
    ("/v1/me", "get"),
    ("/v1/users", "get"),
    ("/v1/users/{id}", "get"),
    ("/v1/users/{id}", "patch"),
    ("/v1/users/{id}", "delete"),
    ("/v1/users/invitations", "post"),
    ("/v1/api-keys", "post"),
    ("/v1/api-keys", "get"),
    ("/v1/api-keys/{id}", "delete"),
    ("/v1/tenant/plan", "put"),
    ("/v1/tenant/export", "get"),
    ("/v1/tenant/deletion", "get"),
    ("/v1/tenant/deletion", "post"),
    ("/v1/tenant/deletion", "delete"),
    ("/v1/usage", "get"),
    ("/v1/invoices", "get"),
    ("/v1/invoices/{id}", "get"),
    ("/v1/admin/workers", "get"),
    ("/v1/admin/scaling", "get"),
    ("/v1/admin/tenants/{id}/plan", "put"),
    ("/v1/billing/checkout", "post"),
    ("/v1/billing/portal", "post"),
    ("/v1/webhooks/endpoints", "post"),
    ("/v1/webhooks/endpoints", "get"),
    ("/v1/webhooks/endpoints/{id}", "get"),
    ("/v1/webhooks/endpoints/{id}", "patch"),
    ("/v1/webhooks/endpoints/{id}", "delete"),
    ("/v1/webhooks/endpoints/{id}/rotate", "post"),
    ("/v1/webhooks/endpoints/{id}/test", "post"),
    ("/v1/webhooks/endpoints/{id}/recover", "post"),
    ("/v1/webhooks/messages", "get"),
    ("/v1/webhooks/messages/{id}/attempts", "get"),
    ("/v1/webhooks/messages/{id}/replay", "post"),
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/openapi.json", "get"),
    ("/docs", "get"),
    ("/docs/assets/{file}", "get"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let doc: Value = app.get("/openapi.json").await?.json().await?;
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for &(path, method) in EXPECTED {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from /openapi.json"
        );
    }
    assert!(doc["components"]["schemas"]["JobIn"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["schemas"]["BulkAccepted"].is_object());
    assert!(doc["components"]["schemas"]["BulkItem"].is_object());

    // Every documented route is really served: the router's own 404 for an
    // unmatched path has no problem+json body; ours do.
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for method in item
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let url = format!(
                "{}{}",
                app.base,
                path.replace("{id}", "01a21317-7c9d-71ac-a0d4-ab1ce41bfe66")
            );
            let request = match method.as_str() {
                "post" => app.http.post(&url).json(&serde_json::json!({})),
                "patch" => app
                    .http
                    .patch(&url)
                    .bearer_auth(&app.key)
                    .json(&serde_json::json!({})),
                "delete" => app.http.delete(&url).bearer_auth(&app.key),
                "put" => app
                    .http
                    .put(&url)
                    .bearer_auth(&app.key)
                    .json(&serde_json::json!({})),
                _ => app.http.get(&url).bearer_auth(&app.key),
            };
            let response = request.send().await?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(status != 405, "{method} {path}: 405");
            assert!(
                status != 404 || content_type == "application/problem+json",
                "{method} {path} is documented but not routed"
            );
        }
    }
    app.teardown().await
}

/// Routes are registered only through utoipa-axum's `OpenApiRouter::routes`,
/// which documents them as it registers them. A plain axum `.route(` call
/// would add an undocumented route: refuse it. The HTML dashboard
/// (`src/dashboard/`) is the one exception: pages, not API.
#[test]
fn no_route_bypasses_the_openapi_router() -> anyhow::Result<()> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if !path.ends_with("dashboard") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                for (n, line) in text.lines().enumerate() {
                    if line.contains(".route(")
                        || line.contains(".route_service(")
                        || line.contains(".nest(")
                    {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "undocumented route registrations:\n{}",
        offenders.join("\n")
    );
    Ok(())
}

/// Issue 18: `LatticeCreate` was `allOf[LatticeIn (additionalProperties:
/// false), {name}]`, which no body satisfies (the first part refuses
/// `name`), so generated clients and schemathesis could not build one.
#[tokio::test]
async fn the_lattice_create_schema_is_one_satisfiable_object() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let doc: Value = app.get("/openapi.json").await?.json().await?;
    let schema = &doc["components"]["schemas"]["LatticeCreate"];
    assert!(schema.get("allOf").is_none(), "{schema}");
    assert_eq!(schema["additionalProperties"], json!(false), "{schema}");
    for property in ["name", "dimensions", "size", "wrap", "blocked"] {
        assert!(
            schema["properties"].get(property).is_some(),
            "{property}: {schema}"
        );
    }
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["name", "size"], "{schema}");
    app.teardown().await
}

/// Issue 23: the document is reviewed in the repository (docs/openapi.json,
/// what clients are generated from); it must be the one the api serves.
#[test]
fn the_document_in_the_repository_is_the_one_served() -> anyhow::Result<()> {
    let committed: Value = serde_json::from_str(include_str!("../../../docs/openapi.json"))?;
    let served: Value = serde_json::from_str(&catalytic_api::openapi::document().to_json()?)?;
    assert!(
        committed == served,
        "docs/openapi.json differs from the served document: run scripts/openapi.sh and review the diff"
    );
    Ok(())
}

//! The OpenAPI docs page (`GET /docs`): Swagger UI rendering `/openapi.json`,
//! served from assets vendored in `api/assets/` and compiled into the
//! binary. Nothing is fetched at build or run time and the page names no
//! CDN; its CSP allows only this origin's scripts.

use crate::error::{ApiError, Problem};
use crate::responses::static_file;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(docs_page))
        .routes(routes!(docs_asset))
}

/// Swagger UI sets inline styles (React `style` attributes), hence
/// `'unsafe-inline'` for styles only; scripts come from this origin.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Catalytic API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-initializer.js"></script>
</body>
</html>
"#;

/// The vendored files, by the name the page uses.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "swagger-initializer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs/swagger-initializer.js"),
    ),
];

/// An HTML or asset response with this page's CSP (which the global
/// "allow nothing" CSP layer leaves alone, as it sets only absent headers).
pub fn with_csp(mut response: Response, csp: &'static str) -> Response {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    response
}

/// Interactive documentation of this API (Swagger UI over `/openapi.json`).
#[utoipa::path(get, path = "/docs", tag = "health", responses(
    (status = 200, description = "the docs page", content_type = "text/html"),
))]
async fn docs_page() -> Response {
    with_csp(axum::response::Html(PAGE).into_response(), DOCS_CSP)
}

/// The docs page's vendored scripts and styles.
#[utoipa::path(get, path = "/docs/assets/{file}", tag = "health",
    params(("file" = String, Path, description = "swagger-ui-bundle.js, swagger-ui.css or swagger-initializer.js")),
    responses(
        (status = 200, description = "the file", content_type = "text/javascript"),
        (status = 404, description = "no such asset", body = Problem, content_type = "application/problem+json"),
    ))]
async fn docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(ApiError::NotFound("asset"))?;
    Ok(static_file(content_type, bytes))
}

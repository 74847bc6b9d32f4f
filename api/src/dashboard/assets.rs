//! The dashboard's stylesheet and live-refresh script, compiled in from
//! `api/assets/dashboard/` (ours, small; no framework, no CDN).

use crate::responses::static_file;
use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "dashboard.css" => static_file(
            "text/css; charset=utf-8",
            include_bytes!("../../assets/dashboard/dashboard.css"),
        ),
        "dashboard.js" => static_file(
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/dashboard/dashboard.js"),
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

//! The operator's fleet page: per queue class the backlog (ready messages
//! and running jobs), the rate (jobs finished in the last minute), the
//! oldest queued job's age and the desired workers,
//! as the scheduler last computed them (`/v1/admin/scaling`); and the live
//! workers with device, in-flight jobs and last heartbeat
//! (`/v1/admin/workers`). Refreshed live.

use super::backend::Backend;
use super::layout::{Nav, operator_error, page, when};
use super::session::OperatorSession;
use crate::responses::{ScalingOut, WorkerOut};
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::Utc;
use maud::html;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/ops", get(show_fleet))
}

/// The fleet view refreshes this often (milliseconds).
const LIVE_MS: u32 = 3000;

async fn show_fleet(
    session: OperatorSession,
    Extension(backend): Extension<Backend>,
) -> Result<Response, Response> {
    let queues: Vec<ScalingOut> = backend
        .get("/v1/admin/scaling", &session.key)
        .await
        .into_result()
        .map_err(operator_error)?;
    let workers: Vec<WorkerOut> = backend
        .get("/v1/admin/workers", &session.key)
        .await
        .into_result()
        .map_err(operator_error)?;
    let now = Utc::now();
    let body = html! {
        section #fleet data-live=(LIVE_MS) {
            h2 { "Queues" }
            @if queues.is_empty() {
                p.empty { "No scaling signal yet: the scheduler writes one every autoscale interval." }
            } @else {
                table #queues {
                    thead { tr {
                        th { "Class" } th.num { "Ready (depth)" } th.num { "Running" }
                        th.num { "Finished / min" } th.num { "Oldest queued" } th.num { "Desired workers" } th { "Computed" }
                    } }
                    tbody {
                        @for q in &queues {
                            tr data-class=(q.class) data-finished=(q.finished_last_minute) {
                                td { (q.class) }
                                td.num { (q.ready_messages) }
                                td.num { (q.running_jobs) }
                                td.num { (q.finished_last_minute) }
                                td.num { (format!("{:.1} s", q.oldest_queued_secs)) }
                                td.num { (q.desired_workers) }
                                td { (when(&q.computed_at)) }
                            }
                        }
                    }
                }
            }
            h2 { "Workers" }
            @if workers.is_empty() {
                p.empty { "No live worker." }
            } @else {
                table #workers {
                    thead { tr {
                        th { "Worker" } th { "Host" } th { "Device" } th.num { "In flight" }
                        th.num { "Concurrency" } th { "Started" } th.num { "Heartbeat" }
                    } }
                    tbody {
                        @for w in &workers {
                            tr data-worker=(w.id) {
                                td { code { (w.id) } }
                                td { (w.host) }
                                td {
                                    (w.device)
                                    @if let Some(name) = &w.device_name {
                                        " · " (name)
                                    }
                                    @if let Some(bytes) = w.device_memory_bytes {
                                        " · " (bytes / (1 << 30)) " GiB"
                                    }
                                }
                                td.num { (w.in_flight) }
                                td.num { (w.concurrency) }
                                td { (when(&w.started_at)) }
                                td.num { ((now - w.last_heartbeat_at).num_seconds().max(0)) " s ago" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        "Fleet",
        Nav::Operator {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

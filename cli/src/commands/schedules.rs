//! `schedules create|list|get|pause|resume|trigger|runs|delete`.

use super::Context;
use crate::args::SchedulesCommand;
use crate::body;
use crate::failure::Failure;
use crate::output::{Table, emit};
use serde_json::{Value, json};

const LIST_HEADER: [&str; 6] = ["ID", "NAME", "CRON", "TIMEZONE", "PAUSED", "NEXT"];
const RUNS_HEADER: [&str; 5] = ["TICK", "MANUAL", "OUTCOME", "JOB", "DETAIL"];
const RUNS_KEYS: [&str; 5] = ["tick_at", "manual", "outcome", "job_id", "detail"];

fn one(v: &Value) -> Table {
    Table::fields(
        v,
        &[
            "id",
            "name",
            "cron",
            "timezone",
            "overlap",
            "catch_up",
            "paused",
            "next_fire_times",
            "last_job_id",
        ],
    )
}

/// The list, each schedule with its next tick only.
fn list_table(v: &Value) -> Table {
    let rows: Vec<Value> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut row = s.clone();
            row["next"] = s["next_fire_times"][0].clone();
            row
        })
        .collect();
    let keys = ["id", "name", "cron", "timezone", "paused", "next"];
    Table::of_items(&Value::Array(rows), &LIST_HEADER, &keys)
}

pub async fn run(ctx: &Context, command: SchedulesCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        SchedulesCommand::Create {
            name,
            cron,
            timezone,
            job_file,
            overlap,
            catch_up,
        } => {
            let job = Value::Object(body::read_object(&job_file)?);
            let mut request = json!({"name": name, "cron": cron, "job": job});
            for (field, value) in [
                ("timezone", timezone),
                ("overlap", overlap),
                ("catch_up", catch_up),
            ] {
                if let Some(value) = value {
                    request[field] = json!(value);
                }
            }
            let created = api
                .call(|c| {
                    let request = &request;
                    async move { c.create_schedule(request).await }
                })
                .await?;
            emit(ctx.format(), &created, one)
        }
        SchedulesCommand::List => {
            let listed = api
                .call(|c| async move { c.list_schedules().await })
                .await?;
            emit(ctx.format(), &listed, list_table)
        }
        SchedulesCommand::Get { id } => {
            let got = api
                .call(|c| async move { c.get_schedule(id).await })
                .await?;
            emit(ctx.format(), &got, one)
        }
        SchedulesCommand::Pause { id } | SchedulesCommand::Resume { id } => {
            let paused = matches!(command, SchedulesCommand::Pause { .. });
            let got = api
                .call(|c| async move { c.pause_schedule(id, paused).await })
                .await?;
            emit(ctx.format(), &got, one)
        }
        SchedulesCommand::Trigger { id } => {
            let submitted = api
                .call(|c| async move { c.trigger_schedule(id).await })
                .await?;
            emit(ctx.format(), &submitted, |v| {
                Table::fields(v, &["id", "status", "location"])
            })
        }
        SchedulesCommand::Runs { id, limit } => {
            let runs = api
                .call(|c| async move { c.schedule_runs(id, limit).await })
                .await?;
            emit(ctx.format(), &runs, |v| {
                Table::of_items(&v["items"], &RUNS_HEADER, &RUNS_KEYS)
            })
        }
        SchedulesCommand::Delete { id } => {
            api.call(|c| async move { c.delete_schedule(id).await })
                .await?;
            emit(ctx.format(), &json!({"deleted": id}), |v| {
                Table::fields(v, &["deleted"])
            })
        }
    }
}

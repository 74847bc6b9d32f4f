//! `jobs submit|list|get|result|cancel` (`watch` is in `watch.rs`).

use super::{Context, watch};
use crate::args::{JobsCommand, SubmitArgs};
use crate::body;
use crate::failure::Failure;
use crate::output::{Table, emit, next_page_hint};
use catalytic_client::{JobId, JobStatus};
use serde_json::{Value, json};

/// A job's fields worth a line in table mode (the request and result are
/// long: `jobs result` and `--output json` show them whole).
pub fn job_table(v: &Value) -> Table {
    Table::fields(
        v,
        &[
            "id",
            "status",
            "operation",
            "attempt",
            "max_attempts",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ],
    )
}

pub async fn run(ctx: &Context, command: JobsCommand) -> Result<(), Failure> {
    match command {
        JobsCommand::Submit(args) => submit(ctx, *args).await,
        JobsCommand::List { status, page } => {
            // clap admits only the five names, so this parse cannot fail on
            // them; a failure would name the value all the same.
            let status: Option<JobStatus> = status
                .map(|s| {
                    serde_json::from_value(json!(s))
                        .map_err(|_| Failure::Usage(format!("unknown status {s:?}")))
                })
                .transpose()?;
            let mut api = ctx.api()?;
            let listed = api
                .call(|c| async move { c.list_jobs(status, page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &listed, |v| {
                Table::of_items(
                    &v["items"],
                    &[
                        "ID",
                        "STATUS",
                        "OPERATION",
                        "ATTEMPT",
                        "CREATED",
                        "FINISHED",
                    ],
                    &[
                        "id",
                        "status",
                        "operation",
                        "attempt",
                        "created_at",
                        "finished_at",
                    ],
                )
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        JobsCommand::Get { id, wait } => {
            let mut api = ctx.api()?;
            let job = api
                .call(|c| async move { c.get_job(JobId(id), wait).await })
                .await?;
            emit(ctx.format(), &job, job_table)
        }
        JobsCommand::Watch(args) => {
            let mut api = ctx.api()?;
            watch::watch(ctx, &mut api, JobId(args.id), args.timeout).await
        }
        JobsCommand::Result { id, wait } => result(ctx, JobId(id), wait).await,
        JobsCommand::Cancel { id } => {
            let mut api = ctx.api()?;
            let job = api
                .call(|c| async move { c.cancel_job(JobId(id)).await })
                .await?;
            emit(ctx.format(), &job, job_table)
        }
    }
}

async fn submit(ctx: &Context, args: SubmitArgs) -> Result<(), Failure> {
    let request = body::job(&args)?;
    let mut api = ctx.api()?;
    let key = args.idempotency_key.clone();
    let submitted = api
        .call(|c| {
            let (request, key) = (&request, key.clone());
            async move { c.submit_job(request, key.as_deref()).await }
        })
        .await?;
    if args.watch {
        return watch::watch(ctx, &mut api, submitted.id, args.timeout).await;
    }
    emit(ctx.format(), &submitted, |v| {
        Table::fields(v, &["id", "status", "location", "replayed"])
    })
}

/// A succeeded job's result; any other state is a failure that says why.
async fn result(ctx: &Context, id: JobId, wait: Option<u32>) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    let job = api
        .call(|c| async move { c.get_job(id, wait).await })
        .await?;
    match (job.status, &job.result) {
        (JobStatus::Succeeded, Some(result)) => emit(ctx.format(), result, Table::all_fields),
        (JobStatus::Failed | JobStatus::Cancelled, _) => Err(watch::ended(&job)),
        (status, _) => Err(Failure::NotFinished(format!(
            "job {id} is {status} and has no result yet: wait with `catalytic jobs watch {id}` or --wait 60"
        ))),
    }
}

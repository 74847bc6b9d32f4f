//! `jobs submit|list|get|result|cancel` (`watch` is in `watch.rs`).

use super::{Context, watch};
use crate::args::{JobFilterArgs, JobsCommand, SubmitArgs};
use crate::body;
use crate::failure::Failure;
use crate::output::{OutputFormat, Table, emit, next_page_hint};
use crate::session::Api;
use catalytic_client::{BulkSubmitted, Client, Error as ApiError, JobFilter, JobId, JobStatus};
use serde_json::{Value, json};
use std::path::Path;

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
        JobsCommand::List { filter, page } => {
            let filter = job_filter(filter)?;
            let mut api = ctx.api()?;
            let listed = api
                .call(|c| {
                    let filter = &filter;
                    async move { c.list_jobs(filter, page.limit, page.cursor).await }
                })
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
        JobsCommand::Download { id, part, out } => {
            super::download::download(ctx, JobId(id), part, &out).await
        }
        JobsCommand::Cancel { id } => {
            let mut api = ctx.api()?;
            let job = api
                .call(|c| async move { c.cancel_job(JobId(id)).await })
                .await?;
            emit(ctx.format(), &job, job_table)
        }
        JobsCommand::CancelMany { filter, all } => {
            if filter.is_empty() && !all {
                return Err(Failure::Usage(
                    "give a filter (--status, --operation, --created-after, --created-before), or --all for every unfinished job".to_owned(),
                ));
            }
            let filter = job_filter(filter)?;
            let mut api = ctx.api()?;
            let total = until_done(&mut api, |c| {
                let filter = &filter;
                async move { c.cancel_jobs(filter).await.map(|d| (d.cancelled, d.more)) }
            })
            .await?;
            let answer = json!({"cancelled": total});
            emit(ctx.format(), &answer, |v| Table::fields(v, &["cancelled"]))
        }
        JobsCommand::Delete { id } => {
            let mut api = ctx.api()?;
            api.call(|c| async move { c.delete_job(JobId(id)).await })
                .await?;
            let answer = json!({"deleted": id});
            emit(ctx.format(), &answer, |v| Table::fields(v, &["deleted"]))
        }
        JobsCommand::DeleteMany { filter, all } => {
            if filter.is_empty() && !all {
                return Err(Failure::Usage(
                    "give a filter (--status, --operation, --created-after, --created-before), or --all for every finished job".to_owned(),
                ));
            }
            let filter = job_filter(filter)?;
            let mut api = ctx.api()?;
            let total = until_done(&mut api, |c| {
                let filter = &filter;
                async move { c.delete_jobs(filter).await.map(|d| (d.deleted, d.more)) }
            })
            .await?;
            let answer = json!({"deleted": total});
            emit(ctx.format(), &answer, |v| Table::fields(v, &["deleted"]))
        }
    }
}

/// Repeats a bulk call (`call` answers how many it changed and whether more
/// match: the API takes at most 10,000 per request) until nothing more
/// matches; answers the total.
async fn until_done<F, Fut>(api: &mut Api, call: F) -> Result<u64, Failure>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<(u64, bool), ApiError>>,
{
    let mut total = 0;
    loop {
        let (changed, more) = api.call(&call).await?;
        total += changed;
        if !more {
            return Ok(total);
        }
    }
}

/// The client's filter from the flags (clap admits only the state names,
/// so the parse cannot fail on them; a failure would name the value).
fn job_filter(args: JobFilterArgs) -> Result<JobFilter, Failure> {
    let statuses = args
        .status
        .iter()
        .map(|s| {
            serde_json::from_value::<JobStatus>(json!(s))
                .map_err(|_| Failure::Usage(format!("unknown status {s:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(JobFilter {
        statuses,
        operation: args.operation,
        created_after: args.created_after,
        created_before: args.created_before,
        concurrency_key: args.concurrency_key,
        schedule: args.schedule.map(|s| s.to_string()),
    })
}

async fn submit(ctx: &Context, args: SubmitArgs) -> Result<(), Failure> {
    if let Some(path) = &args.from_file {
        return submit_many(ctx, path, args.idempotency_key.as_deref()).await;
    }
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
        Table::fields(v, &["id", "status", "location", "existing", "replayed"])
    })
}

/// The most jobs the API takes in one bulk submit.
const BULK_MAX: usize = 1000;

/// `jobs submit --from-file`: the file's jobs in bulk submits of up to
/// 1,000, one output line per job (its file line, and its id or why it was
/// refused). Exits 1 when any job was refused.
async fn submit_many(ctx: &Context, path: &Path, key: Option<&str>) -> Result<(), Failure> {
    let jobs = body::read_lines(path)?;
    let mut api = ctx.api()?;
    let mut lines = Vec::with_capacity(jobs.len());
    for (n, chunk) in jobs.chunks(BULK_MAX).enumerate() {
        let bodies: Vec<Value> = chunk.iter().map(|(_, job)| job.clone()).collect();
        let key = key.map(|k| format!("{k}-{}", n + 1));
        let answered = api
            .call(|c| {
                let (bodies, key) = (&bodies, key.clone());
                async move {
                    match c.submit_batch(bodies, key.as_deref()).await {
                        Ok(submitted) => Ok(Ok(submitted)),
                        // None accepted: the refusal still holds each item's problem.
                        Err(e) => match BulkSubmitted::from_refusal(&e) {
                            Some(submitted) => Ok(Err(submitted)),
                            None => Err(e),
                        },
                    }
                }
            })
            .await?;
        let submitted = answered.unwrap_or_else(|refused| refused);
        for result in submitted.results {
            let line = chunk.get(result.index).map_or(0, |(line, _)| *line);
            let mut out = json!({"line": line});
            match (&result.id, &result.error) {
                (Some(id), _) => {
                    out["id"] = json!(id);
                    out["status"] = json!(result.status);
                    if result.existing {
                        out["existing"] = json!(true);
                    }
                }
                (None, error) => out["error"] = error.clone().unwrap_or(Value::Null),
            }
            lines.push(out);
        }
    }
    let refused = lines.iter().filter(|l| l.get("error").is_some()).count();
    match ctx.format() {
        OutputFormat::Json => println!("{:#}", Value::Array(lines.clone())),
        OutputFormat::Table => {
            for l in &lines {
                println!("{}", bulk_line(l));
            }
        }
    }
    match refused {
        0 => Ok(()),
        n => Err(Failure::Local(anyhow::anyhow!(
            "{n} of {} jobs were refused (their lines say why)",
            lines.len()
        ))),
    }
}

/// One job of `--from-file` in table mode: `line 3: <id> queued`, or
/// `line 4: refused 422: jobs[3].params.end[0]: must be …`.
fn bulk_line(l: &Value) -> String {
    let line = &l["line"];
    if let Some(id) = l["id"].as_str() {
        let existing = match l["existing"].as_bool() {
            Some(true) => " (existing job: its unique key is held)",
            _ => "",
        };
        return format!(
            "line {line}: {id} {}{existing}",
            l["status"].as_str().unwrap_or("queued")
        );
    }
    let error = &l["error"];
    let fields: Vec<String> = error["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["field"].as_str().unwrap_or("?"),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let why = match fields.is_empty() {
        true => error["detail"].as_str().unwrap_or("refused").to_owned(),
        false => fields.join("; "),
    };
    format!("line {line}: refused {}: {why}", error["status"])
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

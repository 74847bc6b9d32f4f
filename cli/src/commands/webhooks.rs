//! `webhooks create|list|test|messages|attempts`.

use super::Context;
use crate::args::WebhooksCommand;
use crate::failure::Failure;
use crate::output::{OutputFormat, Table, emit, next_page_hint};
use serde_json::{Value, json};

pub async fn run(ctx: &Context, command: WebhooksCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        WebhooksCommand::Create {
            url,
            event_types,
            description,
            rate_limit,
            disabled,
        } => {
            let mut request = json!({"url": url, "event_types": event_types, "enabled": !disabled});
            if let Some(description) = description {
                request["description"] = json!(description);
            }
            if let Some(rate) = rate_limit {
                request["rate_limit_per_second"] = json!(rate);
            }
            let created = api
                .call(|c| {
                    let request = &request;
                    async move { c.create_webhook_endpoint(request).await }
                })
                .await?;
            emit(ctx.format(), &created, |v| {
                Table::fields(v, &["id", "url", "event_types", "enabled", "secret"])
            })?;
            if ctx.format() == OutputFormat::Table {
                eprintln!("the secret is shown this once: store it to verify signatures");
            }
            Ok(())
        }
        WebhooksCommand::List(page) => {
            let listed = api
                .call(|c| async move { c.list_webhook_endpoints(page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &listed, |v| {
                Table::of_items(
                    &v["items"],
                    &[
                        "ID",
                        "URL",
                        "EVENTS",
                        "ENABLED",
                        "DISABLED BECAUSE",
                        "CREATED",
                    ],
                    &[
                        "id",
                        "url",
                        "event_types",
                        "enabled",
                        "disabled_reason",
                        "created_at",
                    ],
                )
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        WebhooksCommand::Test { endpoint_id } => {
            let sent = api
                .call(|c| async move { c.test_webhook_endpoint(endpoint_id).await })
                .await?;
            emit(ctx.format(), &sent, |v| Table::fields(v, &["message_id"]))?;
            if ctx.format() == OutputFormat::Table {
                eprintln!(
                    "see its delivery with `catalytic webhooks attempts {}`",
                    sent.message_id
                );
            }
            Ok(())
        }
        WebhooksCommand::Messages(page) => {
            let listed = api
                .call(|c| async move { c.list_webhook_messages(page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &listed, |v| {
                Table::of_items(
                    &v["items"],
                    &["ID", "EVENT", "JOB", "CREATED"],
                    &["id", "event_type", "job_id", "created_at"],
                )
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        WebhooksCommand::Attempts { message_id } => {
            let attempts = api
                .call(|c| async move { c.list_webhook_attempts(message_id).await })
                .await?;
            emit(ctx.format(), &attempts, attempts_table)
        }
    }
}

fn attempts_table(v: &Value) -> Table {
    Table::of_items(
        v,
        &[
            "ENDPOINT",
            "ATTEMPT",
            "STARTED",
            "STATUS",
            "LATENCY MS",
            "ERROR",
        ],
        &[
            "endpoint_id",
            "attempt",
            "started_at",
            "status_code",
            "latency_ms",
            "error",
        ],
    )
}

//! `concurrency-keys list|get|set|delete`.

use super::Context;
use crate::args::ConcurrencyKeysCommand;
use crate::failure::Failure;
use crate::output::{Table, emit, next_page_hint};
use serde_json::json;

const KEYS: [&str; 6] = [
    "key",
    "max_concurrency",
    "waiting_jobs",
    "active_jobs",
    "created_at",
    "updated_at",
];
const LIST_HEADER: [&str; 4] = ["KEY", "MAX", "WAITING", "ACTIVE"];

pub async fn run(ctx: &Context, command: ConcurrencyKeysCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        ConcurrencyKeysCommand::List { limit, cursor } => {
            let listed = api
                .call(|c| {
                    let cursor = cursor.as_deref();
                    async move { c.list_concurrency_keys(limit, cursor).await }
                })
                .await?;
            emit(ctx.format(), &listed, |v| {
                Table::of_items(&v["items"], &LIST_HEADER, &KEYS[..4])
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        ConcurrencyKeysCommand::Get { key } => {
            let got = api
                .call(|c| {
                    let key = &key;
                    async move { c.get_concurrency_key(key).await }
                })
                .await?;
            emit(ctx.format(), &got, |v| Table::fields(v, &KEYS))
        }
        ConcurrencyKeysCommand::Set { key, max } => {
            let set = api
                .call(|c| {
                    let key = &key;
                    async move { c.set_concurrency_key(key, max).await }
                })
                .await?;
            emit(ctx.format(), &set, |v| Table::fields(v, &KEYS))
        }
        ConcurrencyKeysCommand::Delete { key } => {
            api.call(|c| {
                let key = &key;
                async move { c.delete_concurrency_key(key).await }
            })
            .await?;
            emit(ctx.format(), &json!({"deleted": key}), |v| {
                Table::fields(v, &["deleted"])
            })
        }
    }
}

//! `audit-log`: the tenant's audit log, one page at a time, newest first.

use super::Context;
use crate::args::AuditLogArgs;
use crate::failure::Failure;
use crate::output::{Table, cell, emit, next_page_hint};
use catalytic_client::AuditFilter;
use serde_json::{Value, json};

pub async fn run(ctx: &Context, args: AuditLogArgs) -> Result<(), Failure> {
    let filter = AuditFilter {
        action: args.action,
        actor_user_id: args.actor,
        since: args.since,
        until: args.until,
    };
    let page = args.page;
    let mut api = ctx.api()?;
    let listed = api
        .call(|c| {
            let filter = &filter;
            async move { c.audit_log(filter, page.limit, page.cursor).await }
        })
        .await?;
    emit(ctx.format(), &listed, |v| {
        let mut table = Table::new(&["AT", "ACTION", "ACTOR", "IP", "TARGET"]);
        for event in v["items"].as_array().into_iter().flatten() {
            table.row(vec![
                cell(&event["at"]),
                cell(&event["action"]),
                actor(event),
                cell(&event["ip"]),
                cell(&event["target"]),
            ]);
        }
        table
    })?;
    next_page_hint(ctx.format(), &json!(listed.next_cursor));
    Ok(())
}

/// Who acted, as a person reads it: the user's email (as it was then), else
/// their id, else the API key, else `-` (a failed sign-in, the system).
fn actor(event: &Value) -> String {
    match (
        &event["actor_email"],
        &event["actor_user_id"],
        &event["actor_key_id"],
    ) {
        (Value::String(email), _, _) => email.clone(),
        (_, Value::String(user), _) => user.clone(),
        (_, _, Value::String(key)) => format!("key {key}"),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_an_email_a_user_a_key_or_nobody() {
        let user =
            json!({"actor_email": "ada@example.com", "actor_user_id": "u1", "actor_key_id": null});
        assert_eq!(actor(&user), "ada@example.com");
        let removed = json!({"actor_email": null, "actor_user_id": "u1", "actor_key_id": null});
        assert_eq!(actor(&removed), "u1");
        let key = json!({"actor_email": null, "actor_user_id": null, "actor_key_id": "k1"});
        assert_eq!(actor(&key), "key k1");
        let nobody = json!({"actor_email": null, "actor_user_id": null, "actor_key_id": null});
        assert_eq!(actor(&nobody), "-");
    }
}

//! `lattices create|list|get|delete`.

use super::Context;
use crate::args::LatticesCommand;
use crate::body;
use crate::failure::Failure;
use crate::output::{Table, emit, next_page_hint};
use serde_json::{Value, json};

const LIST_HEADER: [&str; 6] = ["ID", "NAME", "DIMENSIONS", "VERTICES", "EDGES", "CREATED"];
const LIST_KEYS: [&str; 6] = [
    "id",
    "name",
    "dimensions",
    "vertices",
    "edges",
    "created_at",
];

fn one(v: &Value) -> Table {
    Table::fields(
        v,
        &[
            "id",
            "name",
            "dimensions",
            "vertices",
            "edges",
            "definition",
            "created_at",
        ],
    )
}

pub async fn run(ctx: &Context, command: LatticesCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        LatticesCommand::Create {
            name,
            lattice,
            file,
        } => {
            let mut fields = match &file {
                Some(path) => body::read_object(path)?,
                None => body::lattice(&lattice).ok_or_else(|| {
                    Failure::Usage("give --size (and --dimensions, --wrap …) or --file".to_owned())
                })?,
            };
            if let Some(name) = name {
                fields.insert("name".into(), json!(name));
            }
            let request = Value::Object(fields);
            let created = api
                .call(|c| {
                    let request = &request;
                    async move { c.create_lattice(request).await }
                })
                .await?;
            emit(ctx.format(), &created, one)
        }
        LatticesCommand::List(page) => {
            let listed = api
                .call(|c| async move { c.list_lattices(page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &listed, |v| {
                Table::of_items(&v["items"], &LIST_HEADER, &LIST_KEYS)
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        LatticesCommand::Get { id } => {
            let lattice = api.call(|c| async move { c.get_lattice(id).await }).await?;
            emit(ctx.format(), &lattice, one)
        }
        LatticesCommand::Delete { id } => {
            api.call(|c| async move { c.delete_lattice(id).await })
                .await?;
            emit(ctx.format(), &json!({"deleted": id}), |v| {
                Table::fields(v, &["deleted"])
            })
        }
    }
}

//! What a command prints on stdout: the API's answer as JSON (`--output
//! json`, one document, always parseable), or an aligned plain-text table.
//! Messages and progress go to stderr, so stdout stays the data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Json,
    Table,
}

impl OutputFormat {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "json" => Some(OutputFormat::Json),
            "table" => Some(OutputFormat::Table),
            _ => None,
        }
    }
}

/// Rows under a header, columns padded to their widest cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    /// A row of these members of an object.
    pub fn object_row(&mut self, object: &Value, keys: &[&str]) -> &mut Self {
        self.row(keys.iter().map(|k| cell(&object[*k])).collect())
    }

    /// One row per element of the array `items`: these members, under `header`.
    pub fn of_items(items: &Value, header: &[&str], keys: &[&str]) -> Self {
        let mut table = Table::new(header);
        for item in items.as_array().into_iter().flatten() {
            table.object_row(item, keys);
        }
        table
    }

    /// A two-column table of an object's members, in the order given.
    pub fn fields(object: &Value, keys: &[&str]) -> Self {
        let mut table = Table::new(&["FIELD", "VALUE"]);
        for key in keys {
            table.row(vec![(*key).to_owned(), cell(&object[*key])]);
        }
        table
    }

    /// As `fields`, but string values whole: for a message meant to be
    /// read (what happens next), which a cut would lose the end of.
    pub fn message_fields(object: &Value, keys: &[&str]) -> Self {
        let mut table = Table::new(&["FIELD", "VALUE"]);
        for key in keys {
            let value = match &object[*key] {
                Value::String(s) => s.clone(),
                other => cell(other),
            };
            table.row(vec![(*key).to_owned(), value]);
        }
        table
    }

    /// Every member of an object, as `fields` does.
    pub fn all_fields(object: &Value) -> Self {
        let keys: Vec<&str> = object
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        Self::fields(object, &keys)
    }

    /// Another table under this one, its header as a row (columns shared).
    pub fn append(&mut self, other: Table) -> &mut Self {
        self.rows.push(other.header);
        self.rows.extend(other.rows);
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = line.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == columns {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$}  "));
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

/// Longest cell a table shows before cutting it short (JSON shows all).
const MAX_CELL: usize = 72;

/// A JSON value as a table cell: strings bare, null as `-`, arrays and
/// objects as compact JSON cut at `MAX_CELL` characters.
pub fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.chars().count() > MAX_CELL {
        true => format!("{}…", text.chars().take(MAX_CELL - 1).collect::<String>()),
        false => text,
    }
}

/// Prints `value` as JSON, or the table `table` makes of it.
pub fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    table: impl FnOnce(&Value) -> Table,
) -> Result<(), crate::failure::Failure> {
    let json = serde_json::to_value(value)
        .map_err(|e| crate::failure::Failure::Local(anyhow::anyhow!("encoding the answer: {e}")))?;
    match format {
        OutputFormat::Json => println!("{json:#}"),
        OutputFormat::Table => print!("{}", table(&json)),
    }
    Ok(())
}

/// After a page in table mode: how to ask for the next one (stderr).
pub fn next_page_hint(format: OutputFormat, next_cursor: &Value) {
    if format == OutputFormat::Table
        && let Some(cursor) = next_cursor.as_str()
    {
        eprintln!("more: pass --cursor {cursor}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut table = Table::new(&["ID", "STATUS"]);
        table.row(vec!["a".into(), "queued".into()]);
        table.row(vec!["long-id".into(), "ok".into()]);
        assert_eq!(
            table.to_string(),
            "ID       STATUS\na        queued\nlong-id  ok\n"
        );
    }

    #[test]
    fn cells_are_bare_strings_dashes_and_cut_json() {
        assert_eq!(cell(&json!("x")), "x");
        assert_eq!(cell(&Value::Null), "-");
        assert_eq!(cell(&json!([1, 2])), "[1,2]");
        let long = cell(&json!(vec![1; 100]));
        assert_eq!(long.chars().count(), MAX_CELL);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_message_is_never_cut() {
        let long = "word ".repeat(30);
        let table = Table::message_fields(&json!({"message": long, "n": 1}), &["message", "n"]);
        assert!(table.to_string().contains(long.trim_end()), "{table}");
        assert!(table.to_string().ends_with("n        1\n"), "{table}");
    }

    #[test]
    fn a_short_row_does_not_panic() {
        let mut table = Table::new(&["A", "B", "C"]);
        table.row(vec!["1".into()]);
        table.row(vec!["1".into(), "2".into(), "3".into(), "4".into()]);
        assert_eq!(table.to_string(), "A  B  C\n1\n1  2  3\n");
    }
}

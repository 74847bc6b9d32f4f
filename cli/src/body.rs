//! Request bodies built from flags, or read from a JSON file (or a JSON
//! Lines file of many jobs). Only the shape is checked here (a file must
//! hold a JSON object, a line one job object); whether a
//! lattice or a coordinate is valid is the API's to say, field by field.

use crate::args::{LatticeFlags, SubmitArgs};
use crate::failure::Failure;
use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::Path;

/// The JSON object in `path` (`-`: standard input).
pub fn read_object(path: &Path) -> Result<Map<String, Value>, Failure> {
    let (text, name) = read_text(path)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Failure::Usage(format!("{name} must hold a JSON object"))),
        Err(e) => Err(Failure::Usage(format!("{name} is not valid JSON: {e}"))),
    }
}

/// The text of `path` (`-`: standard input) and a name for it in messages.
fn read_text(path: &Path) -> Result<(String, String), Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Usage(format!("reading standard input: {e}")))?;
        return Ok((text, "standard input".to_owned()));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))?;
    Ok((text, path.display().to_string()))
}

/// The job bodies of a JSON Lines file (`-`: standard input), each with
/// its line number; blank lines are skipped. A line that is not a JSON
/// object is refused before anything is sent, naming its line.
pub fn read_lines(path: &Path) -> Result<Vec<(usize, Value)>, Failure> {
    let (text, name) = read_text(path)?;
    let mut jobs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(job @ Value::Object(_)) => jobs.push((i + 1, job)),
            Ok(_) => {
                return Err(Failure::Usage(format!(
                    "{name}, line {}: must be a JSON object (one job per line)",
                    i + 1
                )));
            }
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "{name}, line {}: not valid JSON: {e}",
                    i + 1
                )));
            }
        }
    }
    if jobs.is_empty() {
        return Err(Failure::Usage(format!("{name} holds no job")));
    }
    Ok(jobs)
}

/// The lattice fields the flags give (`size`, `dimensions`, `wrap`,
/// `blocked`), or `None` when no flag names a lattice.
pub fn lattice(flags: &LatticeFlags) -> Option<Map<String, Value>> {
    if flags.size.is_empty() && flags.dimensions.is_none() {
        return None;
    }
    let mut lattice = Map::new();
    match flags.size.as_slice() {
        [] => {}
        [one] if flags.dimensions.is_some() => {
            lattice.insert("size".into(), json!(one));
        }
        sizes => {
            lattice.insert("size".into(), json!(sizes));
        }
    }
    if let Some(dimensions) = flags.dimensions {
        lattice.insert("dimensions".into(), json!(dimensions));
    }
    if flags.wrap {
        lattice.insert("wrap".into(), json!(true));
    }
    if let (Some(fraction), Some(seed)) = (flags.blocked_fraction, flags.blocked_seed) {
        lattice.insert(
            "blocked".into(),
            json!({"fraction": fraction, "seed": seed}),
        );
    }
    Some(lattice)
}

/// The body of `POST /v1/jobs`: the file as it is, or one built from flags.
pub fn job(args: &SubmitArgs) -> Result<Value, Failure> {
    let mut body = match &args.file {
        Some(path) => Value::Object(read_object(path)?),
        None => from_flags(args)?,
    };
    // When to run it: the API checks the time (in the past, beyond the
    // plan's horizon) and names the field.
    if let Some(delay) = args.delay {
        body["delay_secs"] = json!(delay);
    }
    if let Some(at) = &args.run_at {
        body["run_at"] = json!(at);
    }
    // Dependencies: the API checks that the parents are yours.
    if let Some(parents) = &args.depends_on {
        body["depends_on"] = json!(parents);
    }
    if let Some(policy) = &args.on_parent_failure {
        body["on_parent_failure"] = json!(policy);
    }
    if let Some(key) = &args.concurrency_key {
        body["concurrency_key"] = json!(key);
    }
    if let Some(max) = args.max_concurrency {
        body["max_concurrency"] = json!(max);
    }
    // Unique jobs: the API checks the window and the key and names them.
    if let Some(secs) = args.unique_for {
        body["unique_for_secs"] = json!(secs);
    }
    if let Some(key) = &args.unique_key {
        body["unique_key"] = json!(key);
    }
    if let Some(secs) = args.result_ttl {
        body["result_ttl_secs"] = json!(secs);
    }
    Ok(body)
}

fn from_flags(args: &SubmitArgs) -> Result<Value, Failure> {
    let operation = args.operation.as_deref().ok_or_else(|| {
        Failure::Usage("give --operation (and its flags), or --file job.json".to_owned())
    })?;
    let mut params = match args.params.as_deref() {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(Failure::Usage("--params must be a JSON object".to_owned())),
            Err(e) => return Err(Failure::Usage(format!("--params is not valid JSON: {e}"))),
        },
    };
    let coordinates = [
        ("start", &args.start),
        ("end", &args.end),
        ("source", &args.source),
        ("center", &args.center),
    ];
    for (name, value) in coordinates {
        if let Some(value) = value {
            params.insert(name.into(), json!(value));
        }
    }
    if let Some(radius) = args.radius {
        params.insert("radius".into(), json!(radius));
    }
    let mut body = json!({"operation": operation, "params": params});
    if let Some(lattice) = lattice(&args.lattice) {
        body["lattice"] = Value::Object(lattice);
    }
    if let Some(id) = args.lattice_id {
        body["lattice_id"] = json!(id);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command, JobsCommand};
    use clap::Parser;

    fn submit(args: &[&str]) -> Result<Value, Failure> {
        let argv = ["catalytic", "jobs", "submit"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| Failure::Usage(e.to_string()))?;
        match cli.command {
            Command::Jobs(JobsCommand::Submit(args)) => job(&args),
            other => Err(Failure::Usage(format!("parsed as {other:?}"))),
        }
    }

    #[test]
    fn flags_make_a_shortest_path_body() -> Result<(), Failure> {
        let body = submit(&[
            "--operation",
            "shortest_path",
            "--size",
            "10,10",
            "--wrap",
            "--start",
            "0,0",
            "--end",
            "9,9",
        ])?;
        assert_eq!(
            body,
            json!({
                "operation": "shortest_path",
                "lattice": {"size": [10, 10], "wrap": true},
                "params": {"start": [0, 0], "end": [9, 9]}
            })
        );
        Ok(())
    }

    #[test]
    fn one_size_with_dimensions_and_params_merged_under_the_flags() -> Result<(), Failure> {
        let body = submit(&[
            "--operation",
            "neighbors",
            "--size",
            "5",
            "--dimensions",
            "3",
            "--params",
            r#"{"radius": 9, "extra": true}"#,
            "--radius",
            "2",
            "--center",
            "1,1,1",
        ])?;
        assert_eq!(body["lattice"], json!({"size": 5, "dimensions": 3}));
        assert_eq!(
            body["params"],
            json!({"radius": 2, "extra": true, "center": [1, 1, 1]})
        );
        Ok(())
    }

    #[test]
    fn missing_operation_and_bad_params_are_usage_errors() {
        assert!(
            matches!(submit(&["--size", "3"]), Err(Failure::Usage(m)) if m.contains("--operation"))
        );
        assert!(matches!(
            submit(&["--operation", "analyze", "--params", "[1]"]),
            Err(Failure::Usage(m)) if m.contains("JSON object")
        ));
        assert!(matches!(
            submit(&["--operation", "analyze", "--params", "{"]),
            Err(Failure::Usage(m)) if m.contains("not valid JSON")
        ));
    }

    #[test]
    fn a_file_must_hold_an_object() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let good = dir.path().join("job.json");
        std::fs::write(
            &good,
            r#"{"operation": "analyze", "lattice": {"size": [4]}}"#,
        )?;
        let body = submit(&["--file", &good.display().to_string()])?;
        assert_eq!(body["operation"], "analyze");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "[]")?;
        assert!(matches!(read_object(&bad), Err(Failure::Usage(m)) if m.contains("JSON object")));
        assert!(matches!(
            read_object(&dir.path().join("missing.json")),
            Err(Failure::Usage(m)) if m.contains("missing.json")
        ));
        Ok(())
    }
}

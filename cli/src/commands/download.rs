//! `jobs download`: a stored part of a succeeded job's result (issue 22),
//! streamed to a file (or standard output) with a byte progress bar on
//! stderr when it is a terminal. Without `--part`, the job's result names
//! the part: its only one.

use super::Context;
use crate::failure::Failure;
use crate::output::emit;
use catalytic_client::JobId;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::{IsTerminal, Write};

pub async fn download(
    ctx: &Context,
    id: JobId,
    part: Option<String>,
    out: &str,
) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    let part = match part {
        Some(part) => part,
        None => {
            let job = api
                .call(|c| async move { c.get_job(id, None).await })
                .await?;
            only_part(job.result.as_ref())?
        }
    };
    let mut download = api
        .call(|c| {
            let part = part.clone();
            async move { c.download_part(id, &part).await }
        })
        .await?;
    let mut sink: Box<dyn Write> = match out {
        "-" => Box::new(std::io::stdout().lock()),
        path => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Failure::Local(anyhow::anyhow!("creating {path}: {e}")))?,
        )),
    };
    let bar = bar(download.length);
    let mut written = 0u64;
    while let Some(bytes) = download.next_chunk().await? {
        sink.write_all(&bytes)
            .map_err(|e| Failure::Local(anyhow::anyhow!("writing {out}: {e}")))?;
        written += bytes.len() as u64;
        if let Some(bar) = &bar {
            bar.set_position(written);
        }
    }
    sink.flush()
        .map_err(|e| Failure::Local(anyhow::anyhow!("writing {out}: {e}")))?;
    if let Some(bar) = &bar {
        bar.finish();
    }
    if download.length.is_some_and(|l| l != written) {
        return Err(Failure::Local(anyhow::anyhow!(
            "the download stopped after {written} of {} bytes; run it again",
            download.length.unwrap_or_default()
        )));
    }
    if out == "-" {
        return Ok(());
    }
    let answer = json!({"job": id.to_string(), "part": part, "bytes": written, "file": out,
                        "etag": download.etag});
    emit(ctx.format(), &answer, |v| {
        crate::output::Table::fields(v, &["job", "part", "bytes", "file", "etag"])
    })
}

/// The name of the result's one stored part.
fn only_part(result: Option<&serde_json::Value>) -> Result<String, Failure> {
    let names: Vec<&str> = result
        .and_then(|r| r["parts"].as_array())
        .map(|parts| parts.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(Failure::Usage(
            "this job's result has no stored parts (only answers beyond the inline caps are stored)"
                .to_owned(),
        )),
        several => Err(Failure::Usage(format!(
            "the result has several parts ({}): name one with --part",
            several.join(", ")
        ))),
    }
}

/// A byte bar on stderr when it is a terminal.
fn bar(length: Option<u64>) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "[{elapsed_precise}] [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_part_is_taken_and_none_or_several_are_refused() {
        let one = json!({"parts": [{"name": "field"}]});
        assert_eq!(only_part(Some(&one)).ok(), Some("field".to_owned()));
        assert!(matches!(
            only_part(Some(&json!({}))),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(only_part(None), Err(Failure::Usage(_))));
        let two = json!({"parts": [{"name": "a"}, {"name": "b"}]});
        assert!(matches!(only_part(Some(&two)), Err(Failure::Usage(m)) if m.contains("a, b")));
    }
}

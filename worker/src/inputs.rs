//! Inputs read when a job runs (issue 21: a parent's result fed to its
//! child). A transform whose `data` is `{"from": "parent"}` takes the output
//! of its one parent: the parent's inline `result.data`, or its stored
//! `data` part (`catalytic_shared::result_parts`) for outputs beyond the
//! inline cap. The spec is rewritten with the values before the compute,
//! so the engine sees an ordinary transform.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::JobId;
use catalytic_shared::job::{DataSpec, JobSpec, Operation};
use catalytic_shared::result_parts::{npy_parts, unpack};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;

/// Why an input could not be read: the job fails with it (`invalid`).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Unusable(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn unusable(message: impl Into<String>) -> InputError {
    InputError::Unusable(message.into())
}

/// `spec` with a parent's output in place of `{"from": "parent"}`; the
/// spec as it is when it takes none.
pub async fn resolve(pool: &PgPool, job: JobId, spec: Value) -> Result<Value, InputError> {
    if !takes_parent_output(&spec) {
        return Ok(spec);
    }
    let Ok(mut parsed) = JobSpec::deserialize(&spec) else {
        return Ok(spec); // the compute reports an unreadable spec itself
    };
    let Ok(lattice) = parsed.lattice() else {
        return Ok(spec); // the compute reports an invalid lattice itself
    };
    let n = lattice.vertex_count() as usize;
    let Operation::Transform(t) = &mut parsed.operation else {
        return Ok(spec);
    };
    let parents = sqlx::query!(
        r#"SELECT p.id AS "id: JobId", p.status::text AS "status!", p.result
           FROM job_dependencies d JOIN jobs p ON p.id = d.parent_id
           WHERE d.child_id = $1"#,
        job as JobId
    )
    .fetch_all(pool)
    .await
    .map_err(DbError::from)?;
    let [parent] = &parents[..] else {
        return Err(unusable(format!(
            "data from the parent needs exactly one parent; this job has {}",
            parents.len()
        )));
    };
    if parent.status != "succeeded" {
        return Err(unusable(format!(
            "parent job {} is {}: it has no output to take",
            parent.id, parent.status
        )));
    }
    let result = parent.result.clone().unwrap_or(Value::Null);
    let want = match t.data {
        DataSpec::ParentU8 => "u8",
        _ => "f32",
    };
    let data = match result.get("data") {
        Some(inline) => inline_values(inline, want)?,
        None => stored_values(pool, parent.id, &result, want).await?,
    };
    let len = match &data {
        DataSpec::U8 { values } => values.len(),
        DataSpec::F32 { values } => values.len(),
        _ => 0,
    };
    if len != n {
        return Err(unusable(format!(
            "parent job {} gave {len} values; this lattice has {n} vertices",
            parent.id
        )));
    }
    t.data = data;
    serde_json::to_value(&parsed).map_err(|e| unusable(format!("spec: {e}")))
}

/// Whether `spec` takes its data from its parent's output. Every job passes
/// here: only a transform's data is looked at, in place, never copied.
pub fn takes_parent_output(spec: &Value) -> bool {
    spec.get("operation").and_then(Value::as_str) == Some("transform")
        && spec
            .pointer("/params/data")
            .and_then(|d| DataSpec::deserialize(d).ok())
            .is_some_and(|d| d.from_parent())
}

/// A parent's inline `data` (`{"type", "values"}`), of the type wanted.
fn inline_values(data: &Value, want: &str) -> Result<DataSpec, InputError> {
    let kind = data["type"].as_str().unwrap_or_default();
    if kind != want {
        return Err(unusable(format!(
            "the parent's output is {kind}, not {want}"
        )));
    }
    let values = data["values"]
        .as_array()
        .ok_or_else(|| unusable("the parent's output lists no values"))?;
    Ok(match want {
        "u8" => DataSpec::U8 {
            values: values
                .iter()
                .map(|v| v.as_u64().and_then(|x| u8::try_from(x).ok()).unwrap_or(0))
                .collect(),
        },
        _ => DataSpec::F32 {
            values: values
                .iter()
                .map(|v| v.as_f64().unwrap_or(0.0) as f32)
                .collect(),
        },
    })
}

/// A parent's output stored as its `data` part (beyond the inline cap).
async fn stored_values(
    pool: &PgPool,
    parent: JobId,
    result: &Value,
    want: &str,
) -> Result<DataSpec, InputError> {
    let listed = result["parts"]
        .as_array()
        .and_then(|parts| parts.iter().find(|p| p["name"] == "data"))
        .ok_or_else(|| {
            unusable(match result.get("pruned") {
                Some(_) => format!("parent job {parent}'s result was pruned by retention"),
                None => format!("parent job {parent} has no output data"),
            })
        })?;
    let dtype = listed["dtype"].as_str().unwrap_or_default();
    if (want, dtype) != ("u8", "|u1") && (want, dtype) != ("f32", "<f4") {
        return Err(unusable(format!(
            "the parent's output is {dtype}, not {want}"
        )));
    }
    let rows = sqlx::query!(
        r#"SELECT p.length, c.frame
           FROM job_result_parts p JOIN job_result_chunks c ON c.job_id = p.job_id AND c.name = p.name
           WHERE p.job_id = $1 AND p.name = 'data' ORDER BY c.seq"#,
        parent as JobId
    )
    .fetch_all(pool)
    .await
    .map_err(DbError::from)?;
    let mut file = Vec::new();
    for (seq, row) in rows.iter().enumerate() {
        let chunk = unpack(
            &row.frame,
            seq as u64,
            u64::try_from(row.length).unwrap_or(0),
        )
        .map_err(|e| unusable(format!("the parent's stored output: {e}")))?;
        file.extend(chunk);
    }
    let Some((_, body)) = npy_parts(&file) else {
        return Err(unusable(format!(
            "parent job {parent}'s output is not stored"
        )));
    };
    Ok(match want {
        "u8" => DataSpec::U8 {
            values: body.to_vec(),
        },
        _ => DataSpec::F32 {
            values: body
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        },
    })
}

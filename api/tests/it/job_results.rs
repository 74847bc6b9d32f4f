//! Issue 22: a succeeded job's stored result part is downloaded whole or
//! by byte range, with its length and ETag; unknown parts, other tenants'
//! jobs and unfinished jobs are refused; the plan's storage cap keeps
//! parts out; a delete takes them.

use crate::harness::{TestApp, problem, spawn_app};
use crate::jobs_lifecycle::{claim, transition};
use catalytic_shared::db::jobs::{Change, Transitioned};
use catalytic_shared::db::result_parts::{self, Stored};
use catalytic_shared::job::{JobState, Usage};
use catalytic_shared::result_parts::{CHUNK, Packed, Packer};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

async fn running_job(app: &TestApp) -> anyhow::Result<String> {
    let body = json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path",
                      "params": {"start": [0, 0], "end": [3, 3]}});
    let accepted: Value = app.submit(&body).await?.json().await?;
    let id = accepted["id"].as_str().unwrap_or_default().to_owned();
    let claimed = transition(app, &id, JobState::Queued, claim()).await?;
    anyhow::ensure!(matches!(claimed, Transitioned::Applied(_)));
    Ok(id)
}

pub(crate) async fn succeed(app: &TestApp, id: &str) -> anyhow::Result<()> {
    let done = Change::Succeed {
        result: json!({"reachable": true}),
        usage: Usage::default(),
    };
    let moved = transition(app, id, JobState::Running, done).await?;
    anyhow::ensure!(matches!(moved, Transitioned::Applied(_)));
    Ok(())
}

/// A field of `n` 32-bit values `i % 1000` (so it spans chunks when large).
pub(crate) fn field(n: usize) -> anyhow::Result<(Packed, Vec<u8>)> {
    let mut packer = Packer::npy("field", "<i4", &[n as u64], true);
    packer.write_i32s((0..n).map(|i| (i % 1000) as i32))?;
    let packed = packer.finish()?;
    let mut file = Vec::new();
    for (seq, frame) in packed.frames.iter().enumerate() {
        file.extend(catalytic_shared::result_parts::unpack(
            frame,
            seq as u64,
            packed.length,
        )?);
    }
    Ok((packed, file))
}

#[tokio::test]
async fn a_stored_part_is_downloaded_whole_by_range_and_revalidated() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = running_job(&app).await?;
    let job = id.parse()?;
    // Two full chunks and a bit: ranges that cross chunk boundaries.
    let (packed, file) = field(CHUNK / 4 * 2 + 5_000)?;
    let url = format!("{}/v1/jobs/{id}/result/field", app.base);
    let get = |headers: Vec<(&'static str, String)>| {
        let mut request = app.http.get(&url).bearer_auth(&app.key);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    assert_eq!(
        result_parts::store(&app.db.pool, job, 1, std::slice::from_ref(&packed)).await?,
        Stored::Kept
    );
    // Stored while running: not served until the job has succeeded.
    let (status, body) = problem(get(vec![]).await?).await?;
    assert_eq!(status, 409, "{body}");
    succeed(&app, &id).await?;

    let whole = get(vec![]).await?;
    assert_eq!(whole.status(), 200);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/x-npy");
    assert_eq!(headers["content-length"], file.len().to_string());
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str()?.to_owned();
    assert_eq!(etag, format!("\"{}\"", hex::encode(packed.sha256)));
    assert_eq!(whole.bytes().await?.as_ref(), &file[..]);

    let boundary = CHUNK as u64;
    for (range, from, to) in [
        (
            format!("bytes={}-{}", boundary - 10, boundary + 9),
            boundary - 10,
            boundary + 9,
        ),
        ("bytes=0-9".to_owned(), 0, 9),
        (
            "bytes=-16".to_owned(),
            file.len() as u64 - 16,
            file.len() as u64 - 1,
        ),
    ] {
        let part = get(vec![("range", range.clone())]).await?;
        assert_eq!(part.status(), 206, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {from}-{to}/{}", file.len()),
            "{range}"
        );
        assert_eq!(
            part.bytes().await?.as_ref(),
            &file[from as usize..=to as usize],
            "{range}"
        );
    }
    let (status, body) =
        problem(get(vec![("range", format!("bytes={}-", file.len()))]).await?).await?;
    assert_eq!(status, 416, "{body}");
    let cached = get(vec![("if-none-match", etag.clone())]).await?;
    assert_eq!(cached.status(), 304);

    // Unknown parts, bad names and other tenants' jobs are 404.
    for path in ["histogram", "FIELD", "../field"] {
        let response = app
            .http
            .get(format!("{}/v1/jobs/{id}/result/{path}", app.base))
            .bearer_auth(&app.key)
            .send()
            .await?;
        assert_eq!(response.status(), 404, "{path}");
    }
    let stranger = app.new_tenant_key(Plan::Enterprise).await?;
    let theirs = app.http.get(&url).bearer_auth(&stranger).send().await?;
    assert_eq!(theirs.status(), 404);

    // A delete takes the part with the job.
    let deleted = app
        .http
        .delete(format!("{}/v1/jobs/{id}", app.base))
        .bearer_auth(&app.key)
        .send()
        .await?;
    assert_eq!(deleted.status(), 204);
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM job_result_chunks")
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(chunks, 0);
    app.teardown().await
}

#[tokio::test]
async fn parts_are_kept_within_the_plans_storage_and_only_for_the_running_attempt()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = running_job(&app).await?;
    let job = id.parse()?;
    let (packed, _) = field(1_000)?;
    // Another attempt's parts are not stored (the job moved on).
    assert_eq!(
        result_parts::store(&app.db.pool, job, 2, std::slice::from_ref(&packed)).await?,
        Stored::Moved
    );
    // The free plan keeps 100 MiB: with that much stored, nothing more fits.
    let cap = Plan::Free.limits().result_storage_bytes;
    let other = running_job(&app).await?;
    let mut huge = packed.clone();
    huge.frames = vec![vec![0; 1]; 1];
    assert_eq!(
        result_parts::store(&app.db.pool, other.parse()?, 1, &[huge]).await?,
        Stored::Kept
    );
    sqlx::query("UPDATE job_result_parts SET stored_bytes = $1")
        .bind(i64::try_from(cap)?)
        .execute(&app.db.pool)
        .await?;
    let refused = result_parts::store(&app.db.pool, job, 1, std::slice::from_ref(&packed)).await?;
    assert_eq!(refused, Stored::OverCap { used: cap, cap });
    let tenant =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT tenant_id FROM jobs WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(
        result_parts::stored_bytes(
            &app.db.pool,
            catalytic_shared::ids::TenantId::from_uuid(tenant)
        )
        .await?,
        cap
    );
    // Usage shows them, with the plan's cap.
    let usage: Value = app
        .http
        .get(format!(
            "{}/v1/usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            app.base
        ))
        .bearer_auth(&app.key)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(usage["stored_result_bytes"], cap, "{usage}");
    assert_eq!(usage["stored_result_limit_bytes"], cap, "{usage}");
    app.teardown().await
}

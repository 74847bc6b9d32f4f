//! Issue 9 on a fleet without a GPU (CI, these machines): GPU-plan jobs
//! travel on the GPU class queue and a CPU worker drains it when no GPU
//! worker is registered; `--device auto` falls back to the CPU and the
//! registry (GET /v1/admin/workers) says so; `--device cuda` refuses to
//! start with a clear error.

use catalytic_e2e::{Binary, Client, Env, wait_ready, wait_until};
use catalytic_gpu::{Library, library_present};
use serde_json::{Value, json};
use std::time::Duration;

const FINISH: Duration = Duration::from_secs(60);

#[tokio::test]
async fn gpu_plan_jobs_run_on_cpu_workers_when_no_gpu_worker_is_registered() -> anyhow::Result<()> {
    if library_present(Library::Driver).is_some() {
        return Ok(()); // A GPU machine would take the GPU path; covered by `catalytic-gpu check`.
    }
    let env = Env::new().await?;
    let key = env.bootstrap("professional")?;
    let operator = env.operator_key()?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[("CATALYTIC_WORKER__DEVICE", "auto")])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), FINISH).await?;
    let client = Client::new(env.api_url(), key);

    let id = client
        .submit(
            &json!({"lattice": {"dimensions": 2, "size": 50}, "operation": "shortest_path",
                        "params": {"start": [0, 0], "end": [49, 49]}}),
        )
        .await?;
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["length"], 98);
    assert_eq!(job["result"]["engine"], "cpu");

    // It travelled on the GPU class queue (docs/adr/0002-lattices.md).
    let class: String = sqlx::query_scalar("SELECT queue_class FROM jobs WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&env.db.pool)
        .await?;
    assert_eq!(class, "gpu");

    // The registry shows a CPU worker: auto fell back.
    let http = reqwest::Client::new();
    let workers: Value = wait_until("the worker in the registry", FINISH, || {
        let request = http
            .get(format!("{}/v1/admin/workers", env.api_url()))
            .bearer_auth(&operator);
        async move {
            let body: Value = request.send().await?.error_for_status()?.json().await?;
            Ok(body
                .as_array()
                .is_some_and(|a| !a.is_empty())
                .then_some(body))
        }
    })
    .await?;
    assert_eq!(workers[0]["device"], "cpu", "{workers}");
    assert_eq!(workers[0]["device_name"], Value::Null, "{workers}");
    env.teardown().await
}

#[tokio::test]
async fn device_cuda_without_a_gpu_refuses_to_start() -> anyhow::Result<()> {
    if library_present(Library::Driver).is_some() {
        return Ok(());
    }
    let env = Env::new().await?;
    let mut worker = env.spawn(Binary::Worker, &[("CATALYTIC_WORKER__DEVICE", "cuda")])?;
    let status = worker.wait_exit(FINISH).await?;
    assert!(
        !status.success(),
        "a worker without a GPU started with --device cuda"
    );
    let log = worker.log_text();
    assert!(
        log.contains("--device cuda: no usable GPU") && log.contains("libcuda"),
        "{log}"
    );
    env.teardown().await
}

//! A worker of one test, and jobs for it: inserted as the api would (job +
//! outbox row, the row marked sent), their message published as the relay
//! would. Polls have deadlines (`wait_until`), never sleeps.

use catalytic_e2e::{Binary, Env, Process, wait_ready, wait_until};
use catalytic_shared::db::{self, jobs};
use catalytic_shared::ids::{JobId, MessageId, TenantId};
use catalytic_shared::queue::JobMessage;
use catalytic_shared::tenant::{Plan, QueueClass};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::Value;
use std::time::Duration;

/// How long a small job may take from publish to its terminal state.
pub const FINISH: Duration = Duration::from_secs(30);

pub struct Worker {
    pub env: Env,
    pub tenant: TenantId,
    pub process: Process,
}

impl Worker {
    /// A fresh database, queue prefix and tenant, and the worker running on them.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// `start`, with these environment variables set for the worker too.
    pub async fn start_with(vars: &[(&str, &str)]) -> anyhow::Result<Self> {
        let env = Env::new().await?;
        let tenant = TenantId::new();
        db::tenants::create(&env.db.pool, tenant, "worker-tests", Plan::Free).await?;
        let (conn, channel) = env.channel().await?;
        env.topology().declare(&channel).await?;
        conn.close(200, "declared".into()).await?;
        let mut vars = vars.to_vec();
        vars.push(("CATALYTIC_WORKER__DEVICE", "cpu"));
        let process = env.spawn(Binary::Worker, &vars)?;
        wait_ready(
            &format!("http://127.0.0.1:{}/readyz", env.worker_probe_port),
            FINISH,
        )
        .await?;
        Ok(Self {
            env,
            tenant,
            process,
        })
    }

    /// Inserts a queued job of `spec` (its outbox row already sent) and
    /// returns it with its first message, not yet published.
    pub async fn insert(
        &self,
        spec: Value,
        max_attempts: i32,
        time_limit: Duration,
    ) -> anyhow::Result<(JobId, JobMessage)> {
        let operation = match spec["operation"].as_str() {
            Some("shortest_path") => "shortest_path",
            Some("analyze") => "analyze",
            Some("distances") => "distances",
            Some("transform") => "transform",
            Some("neighbors") => "neighbors",
            Some("batch") => "batch",
            other => anyhow::bail!("no test jobs of operation {other:?}"),
        };
        let job = jobs::NewJob {
            id: JobId::new(),
            tenant_id: self.tenant,
            operation,
            spec,
            queue_class: QueueClass::Low,
            max_attempts,
            time_limit,
            lattice_id: None,
            run_at: None,
            unique: None,
            parents: None,
            concurrency: None,
            result_ttl: None,
            traceparent: None,
        };
        let mut tx = self.env.db.pool.begin().await?;
        jobs::insert_with_outbox(&mut tx, &job).await?;
        tx.commit().await?;
        // The relay would publish this row; the test does, so mark it sent.
        let (message_id,): (uuid::Uuid,) = sqlx::query_as(
            "UPDATE job_outbox SET sent_at = now() WHERE job_id = $1 RETURNING message_id",
        )
        .bind(job.id.as_uuid())
        .fetch_one(&self.env.db.pool)
        .await?;
        let message = JobMessage::new(MessageId::from_uuid(message_id), job.id, self.tenant, 1);
        Ok((job.id, message))
    }

    /// Inserts a job of `spec` with 3 attempts and publishes its message.
    pub async fn submit(
        &self,
        spec: Value,
        time_limit: Duration,
    ) -> anyhow::Result<(JobId, JobMessage)> {
        let (job, message) = self.insert(spec, 3, time_limit).await?;
        self.publish(&message).await?;
        Ok((job, message))
    }

    /// The job's usage events, billable or not.
    pub async fn usage_events(&self, job: JobId, billable: bool) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM usage_events WHERE job_id = $1 AND billable = $2",
        )
        .bind(job.as_uuid())
        .bind(billable)
        .fetch_one(&self.env.db.pool)
        .await?)
    }

    /// Publishes `message` on the low class, confirmed by the broker.
    pub async fn publish(&self, message: &JobMessage) -> anyhow::Result<()> {
        self.publish_all(std::slice::from_ref(message)).await
    }

    /// Publishes `messages` in order on one channel, back to back, then
    /// waits for the broker to confirm them all: a burst.
    pub async fn publish_all(&self, messages: &[JobMessage]) -> anyhow::Result<()> {
        let (conn, channel) = self.env.channel().await?;
        channel.confirm_select(Default::default()).await?;
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            confirms.push(
                channel
                    .basic_publish(
                        self.env.topology().jobs_exchange().into(),
                        QueueClass::Low.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        &message.to_bytes(),
                        BasicProperties::default()
                            .with_message_id(message.message_id.to_string().into())
                            .with_delivery_mode(2),
                    )
                    .await?,
            );
        }
        for confirm in confirms {
            confirm.await?;
        }
        conn.close(200, "published".into()).await?;
        Ok(())
    }

    /// Polls until the job is `succeeded` or `failed`; returns (status,
    /// attempt, result, error).
    pub async fn wait_terminal(&self, job: JobId) -> anyhow::Result<JobRow> {
        wait_until("the job to be terminal", FINISH, || async {
            let row = self.row(job).await?;
            Ok(matches!(row.0.as_str(), "succeeded" | "failed").then_some(row))
        })
        .await
    }

    pub async fn row(&self, job: JobId) -> anyhow::Result<JobRow> {
        Ok(
            sqlx::query_as("SELECT status::text, attempt, result, error FROM jobs WHERE id = $1")
                .bind(job.as_uuid())
                .fetch_one(&self.env.db.pool)
                .await?,
        )
    }

    /// A stored result part of `job` (issue 22), reassembled from its
    /// chunks: (its `.npy` header's dict, its data).
    pub async fn stored_part(&self, job: JobId, name: &str) -> anyhow::Result<(String, Vec<u8>)> {
        let length: i64 = sqlx::query_scalar(
            "SELECT length FROM job_result_parts WHERE job_id = $1 AND name = $2",
        )
        .bind(job.as_uuid())
        .bind(name)
        .fetch_one(&self.env.db.pool)
        .await?;
        let frames: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT frame FROM job_result_chunks WHERE job_id = $1 AND name = $2 ORDER BY seq",
        )
        .bind(job.as_uuid())
        .bind(name)
        .fetch_all(&self.env.db.pool)
        .await?;
        let mut file = Vec::new();
        for (seq, frame) in frames.iter().enumerate() {
            file.extend(catalytic_shared::result_parts::unpack(
                frame,
                seq as u64,
                length as u64,
            )?);
        }
        anyhow::ensure!(
            file.len() as i64 == length && file.len() > 10,
            "part {name}"
        );
        let (dict, data) = catalytic_shared::result_parts::npy_parts(&file)
            .ok_or_else(|| anyhow::anyhow!("part {name} is not a .npy file"))?;
        Ok((dict.to_owned(), data.to_vec()))
    }

    /// Rows of `sql` (one `$1` = the job) counted.
    pub async fn count(&self, sql: &'static str, job: JobId) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql)
            .bind(job.as_uuid())
            .fetch_one(&self.env.db.pool)
            .await?)
    }

    /// The value of a worker metric sample, 0 when not yet rendered.
    pub async fn metric(&self, sample: &str) -> anyhow::Result<f64> {
        Ok(catalytic_e2e::metric(self.env.worker_probe_port, sample)
            .await?
            .unwrap_or(0.0))
    }

    /// Stops the worker with SIGTERM (it must exit cleanly) and counts the
    /// messages left in the low queue: its channel is closed then, so an
    /// unacked delivery would be back there.
    pub async fn sigterm_and_count_left(&mut self) -> anyhow::Result<u32> {
        self.process.signal(nix::sys::signal::Signal::SIGTERM)?;
        let exit = self.process.wait_exit(FINISH).await?;
        anyhow::ensure!(exit.success(), "the worker exits cleanly: {exit:?}");
        let (conn, channel) = self.env.channel().await?;
        let topology = self.env.topology();
        let queue = topology.job_queue(QueueClass::Low);
        let left = topology.ready_messages(&channel, &queue).await?;
        conn.close(200, "checked".into()).await?;
        Ok(left)
    }

    /// Stops the worker, then drops the database and queues.
    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.process);
        self.env.teardown().await
    }
}

/// (status, attempt, result, error) of a job.
pub type JobRow = (String, i32, Option<Value>, Option<Value>);

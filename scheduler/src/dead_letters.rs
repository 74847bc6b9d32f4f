//! The dead-letter consumer (docs/adr/0001-processes.md: nothing vanishes). A job message
//! lands in `{prefix}.jobs.dead` when a worker rejected it (unreadable, a
//! newer schema) or the broker gave up after `amqp.delivery_limit`
//! deliveries. Its job would otherwise wait in `queued` forever, so this
//! fails it, with the reason, through the one transition function, not
//! billed (docs/adr/0003-plans.md: the platform failed it).
//!
//! Each message is acked only after the failure is committed; a database
//! error requeues it to try again. A message that names no job is logged
//! (size only: its bytes are not ours to print) and acked: there is nothing
//! to fail. The job is failed only when the message is for its current
//! attempt: a dead letter of an older attempt was superseded by a newer
//! message, which is still live.

use anyhow::Context;
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::ids::{JobId, TenantId};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::metrics as m;
use catalytic_shared::queue::{Broker, JobMessage, MessageError, QueueError, Topology};
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use serde::Deserialize;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct DeadLetters {
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub topology: Topology,
    /// Unacked dead letters held at once.
    pub prefetch: u16,
}

/// What became of one dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The job was failed with this reason.
    Failed { job: JobId, reason: String },
    /// The job had already moved on (finished, cancelled, a newer attempt,
    /// or gone): nothing to do.
    Ignored { job: JobId },
    /// The payload named no job.
    Unparsable,
}

impl DeadLetters {
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let Some(channel) = self.broker.channel_with_retry(&shutdown).await else {
                break;
            };
            if let Err(e) = self.consume(&channel, &shutdown).await {
                tracing::warn!(error = %e, "dead-letter consumer stopped; reconnecting");
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
        tracing::info!("dead-letter consumer stopped");
    }

    async fn consume(
        &self,
        channel: &lapin::Channel,
        shutdown: &CancellationToken,
    ) -> Result<(), QueueError> {
        self.topology.declare(channel).await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                self.topology.dead_letter_queue().into(),
                "catalytic-scheduler-dead-letters".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        loop {
            let delivery = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = deliveries.next() => match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(QueueError::Closed("dead-letter consumer")),
                },
            };
            match self
                .handle(&delivery.data, delivery.properties.headers().as_ref())
                .await
            {
                Ok(handled) => {
                    let outcome = match handled {
                        Handled::Failed { .. } => "failed",
                        Handled::Ignored { .. } => "ignored",
                        Handled::Unparsable => "unparsable",
                    };
                    metrics::counter!(m::DEAD_LETTERS, "outcome" => outcome).increment(1);
                    // A failed ack means the channel is gone: the message is
                    // redelivered and finds its job already failed (ignored).
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "could not handle a dead letter; requeued"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await?;
                }
            }
        }
    }

    /// Handles one dead letter: fails its job when it is still waiting for
    /// this message. An error means nothing was committed.
    pub async fn handle(
        &self,
        payload: &[u8],
        headers: Option<&FieldTable>,
    ) -> anyhow::Result<Handled> {
        let death = death_reason(headers);
        let (pointer, reason) = match JobMessage::from_bytes(payload) {
            Ok(m) => (
                Pointer {
                    job_id: m.job_id,
                    tenant_id: m.tenant_id,
                    attempt: m.attempt,
                },
                death,
            ),
            Err(MessageError::NewerSchema { found, supported }) => {
                // A newer message still names its job in the fields we know.
                match serde_json::from_slice::<Pointer>(payload) {
                    Ok(p) => (
                        p,
                        format!("{death}: message schema v{found} is newer than v{supported}"),
                    ),
                    Err(_) => return Ok(unparsable(payload, &death)),
                }
            }
            Err(MessageError::Malformed(_)) => return Ok(unparsable(payload, &death)),
        };
        let job = pointer.job_id;
        let row = jobs::get(&self.pool, pointer.tenant_id, job)
            .await
            .context("reading the dead letter's job")?;
        let Some(row) = row else {
            tracing::warn!(job_id = %job, reason, "dead letter for an unknown job; dropped");
            return Ok(Handled::Ignored { job });
        };
        let live = matches!(row.status, JobState::Queued | JobState::Running)
            && row.attempt == pointer.attempt;
        if !live {
            tracing::info!(job_id = %job, status = %row.status, attempt = row.attempt,
                message_attempt = pointer.attempt, reason, "dead letter superseded; dropped");
            return Ok(Handled::Ignored { job });
        }
        let guard = Guard {
            job,
            from: row.status,
            attempt: row.attempt,
        };
        let change = Change::Fail {
            error: Failure::DeadLetter {
                message: reason.clone(),
                attempt: row.attempt,
            },
            usage: Usage {
                billable: false,
                ..Usage::default()
            },
        };
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("acquiring a connection")?;
        match jobs::transition(&mut conn, guard, change)
            .await
            .context("failing the dead-lettered job")?
        {
            Transitioned::Applied(_) => {
                tracing::warn!(job_id = %job, reason, "dead-lettered job failed");
                Ok(Handled::Failed { job, reason })
            }
            // Someone moved it between our read and our write (a worker
            // finished it, a cancel): theirs stands.
            Transitioned::Stale => Ok(Handled::Ignored { job }),
        }
    }
}

/// The fields of a job message that name its job, in any schema version.
#[derive(Debug, Deserialize)]
struct Pointer {
    job_id: JobId,
    tenant_id: TenantId,
    attempt: i32,
}

fn unparsable(payload: &[u8], death: &str) -> Handled {
    tracing::error!(
        bytes = payload.len(),
        reason = death,
        "dead letter is not a job message; dropped"
    );
    Handled::Unparsable
}

/// Why the broker dead-lettered the message, from the first (latest) entry
/// of its `x-death` header: `rejected` (a worker refused it) or
/// `delivery_limit` (too many deliveries), with the count.
pub fn death_reason(headers: Option<&FieldTable>) -> String {
    let entry = headers
        .and_then(|h| h.inner().get("x-death"))
        .and_then(AMQPValue::as_array)
        .and_then(|a| a.as_slice().first())
        .and_then(AMQPValue::as_field_table);
    let Some(entry) = entry else {
        return "dead-lettered".to_owned();
    };
    let text = |key: &str| {
        entry.inner().get(key).and_then(|v| match v {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
            _ => None,
        })
    };
    let count = entry.inner().get("count").and_then(|v| match v {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        _ => None,
    });
    let reason = match text("reason").as_deref() {
        Some("rejected") => "rejected by a worker".to_owned(),
        Some("delivery_limit") => "delivery limit reached".to_owned(),
        Some(other) => other.to_owned(),
        None => "dead-lettered".to_owned(),
    };
    let queue = text("queue").map_or_else(String::new, |q| format!(" from {q}"));
    match count {
        Some(n) => format!("{reason}{queue} (count {n})"),
        None => format!("{reason}{queue}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    fn headers(reason: &str, count: i64) -> FieldTable {
        let mut entry = FieldTable::default();
        entry.insert(
            "reason".into(),
            AMQPValue::LongString(LongString::from(reason)),
        );
        entry.insert("count".into(), AMQPValue::LongLongInt(count));
        entry.insert(
            "queue".into(),
            AMQPValue::LongString(LongString::from("p.jobs.low")),
        );
        let mut h = FieldTable::default();
        h.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(entry)])),
        );
        h
    }

    #[test]
    fn reasons_come_from_the_x_death_header() {
        assert_eq!(
            death_reason(Some(&headers("delivery_limit", 5))),
            "delivery limit reached from p.jobs.low (count 5)"
        );
        assert_eq!(
            death_reason(Some(&headers("rejected", 1))),
            "rejected by a worker from p.jobs.low (count 1)"
        );
        assert_eq!(death_reason(None), "dead-lettered");
        assert_eq!(death_reason(Some(&FieldTable::default())), "dead-lettered");
    }
}

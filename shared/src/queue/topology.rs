//! Exchanges and queues, declared idempotently by whichever process starts
//! first (declaring an existing entity with the same arguments is a no-op).
//!
//! ```text
//! {p}.jobs (direct) ──low|standard|high──> {p}.jobs.{class}  quorum, x-delivery-limit
//!                                               │ dead-lettered (rejected, or over the limit)
//! {p}.dlx (direct) ──dead──> {p}.jobs.dead      quorum; the scheduler fails these jobs
//! {p}.control (fanout)                          cancel broadcasts; each worker binds its own queue
//! ```
//! Every name starts with the configured prefix, so tests get private queues.

use super::QueueError;
use crate::tenant::QueueClass;
use lapin::options::{
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

const DEAD_ROUTING_KEY: &str = "dead";

/// The names of one deployment's (or one test's) entities.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    delivery_limit: u32,
}

impl Topology {
    pub fn new(prefix: &str, delivery_limit: u32) -> Self {
        Self {
            prefix: prefix.to_owned(),
            delivery_limit,
        }
    }

    pub fn jobs_exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    pub fn control_exchange(&self) -> String {
        format!("{}.control", self.prefix)
    }

    pub fn job_queue(&self, class: QueueClass) -> String {
        format!("{}.jobs.{}", self.prefix, class.as_str())
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.jobs.dead", self.prefix)
    }

    /// Declares everything. Safe to run concurrently from several processes.
    pub async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.jobs_exchange().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.dead_letter_exchange().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.control_exchange().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;

        let mut dead_args = FieldTable::default();
        dead_args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        self.declare_queue(channel, &self.dead_letter_queue(), dead_args)
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue().into(),
                self.dead_letter_exchange().into(),
                DEAD_ROUTING_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        for class in QueueClass::ALL {
            let queue = self.job_queue(class);
            self.declare_queue(channel, &queue, self.job_queue_arguments())
                .await?;
            channel
                .queue_bind(
                    queue.into(),
                    self.jobs_exchange().into(),
                    class.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    fn job_queue_arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        // Poison messages: after this many deliveries the broker dead-letters
        // the message instead of redelivering it (docs/adr/0001-processes.md).
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(self.delivery_limit)),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange().into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(DEAD_ROUTING_KEY.into()),
        );
        args
    }

    async fn declare_queue(
        &self,
        channel: &Channel,
        name: &str,
        args: FieldTable,
    ) -> Result<(), QueueError> {
        channel
            .queue_declare(
                name.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await?;
        Ok(())
    }

    /// Ready messages in a queue (passive declare: no management plugin needed).
    pub async fn ready_messages(&self, channel: &Channel, queue: &str) -> Result<u32, QueueError> {
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(q.message_count())
    }

    /// Removes every queue and exchange of this prefix. Tests call it when done.
    pub async fn delete(&self, channel: &Channel) -> Result<(), QueueError> {
        let mut queues: Vec<String> = QueueClass::ALL.iter().map(|c| self.job_queue(*c)).collect();
        queues.push(self.dead_letter_queue());
        for queue in queues {
            channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await?;
        }
        for exchange in [
            self.jobs_exchange(),
            self.dead_letter_exchange(),
            self.control_exchange(),
        ] {
            channel
                .exchange_delete(
                    exchange.into(),
                    lapin::options::ExchangeDeleteOptions::default(),
                )
                .await?;
        }
        Ok(())
    }
}

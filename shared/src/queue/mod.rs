//! RabbitMQ: the topology every process declares, the job message, and a
//! broker handle that reconnects.

pub mod connection;
pub mod message;
pub mod server_version;
pub mod topology;
pub mod trace_headers;

pub use connection::Broker;
pub use message::{INLINE_SPEC_MAX_BYTES, InlineJob, JobMessage, MessageError, SCHEMA_VERSION};
pub use topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("broker: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker closed the {0}")]
    Closed(&'static str),
    #[error("broker refused message {message_id}: {reason}")]
    NotConfirmed { message_id: String, reason: String },
    #[error(
        "RabbitMQ at {server} presented a certificate this process does not trust ({reason}); check amqp.tls_ca_file"
    )]
    Untrusted { server: String, reason: String },
    #[error("RabbitMQ: {0}")]
    Protocol(String),
    #[error(
        "RabbitMQ {found} is older than the oldest this release supports (3.10); upgrade the broker"
    )]
    ServerTooOld { found: String },
}

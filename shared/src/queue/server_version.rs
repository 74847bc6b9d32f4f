//! Which RabbitMQ we talk to (issue 19: refuse at start a server older than
//! the tested one). The version is in the server properties of AMQP's
//! `connection.start`, the first frame the broker sends; lapin reads that
//! frame but keeps the properties to itself, so this opens a connection of
//! its own (same URL, same TLS), sends the protocol header, reads that one
//! frame with lapin's own parser and hangs up before authenticating.

use super::QueueError;
use futures::{AsyncReadExt, AsyncWriteExt};
use lapin::protocol::{AMQPClass, connection::AMQPMethod};
use lapin::tcp::{AMQPUriTcpExt, OwnedTLSConfig};
use lapin::types::AMQPValue;
use lapin::uri::AMQPUri;

/// The oldest RabbitMQ this release runs on: the one the tests and the
/// chaos suite run against (README.md, "Servers").
pub const MIN_RABBITMQ: (u32, u32) = (3, 10);

/// AMQP 0-9-1's protocol header.
const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";
/// A method frame: type 1, channel (2 bytes), payload size (4 bytes).
const FRAME_HEADER: usize = 7;
/// `connection.start` is a few hundred bytes; anything far larger is not it.
const MAX_START_FRAME: usize = 1 << 20;

/// The `version` the broker announces (e.g. "3.10.8").
pub async fn announced(url: &str, tls: &OwnedTLSConfig) -> Result<String, QueueError> {
    let uri: AMQPUri = url
        .parse()
        .map_err(|e: String| QueueError::Protocol(format!("amqp.url: {e}")))?;
    let runtime = lapin::runtime::default_runtime()?;
    let mut stream = uri
        .connect_with_config_async(tls.as_ref(), &runtime)
        .await
        .map_err(io)?;
    stream.write_all(PROTOCOL_HEADER).await.map_err(io)?;
    let mut header = [0u8; FRAME_HEADER];
    stream.read_exact(&mut header).await.map_err(io)?;
    let size = usize::try_from(u32::from_be_bytes([
        header[3], header[4], header[5], header[6],
    ]))
    .unwrap_or(usize::MAX);
    if header[0] != 1 || size > MAX_START_FRAME {
        return Err(QueueError::Protocol(
            "the broker did not answer with connection.start".to_owned(),
        ));
    }
    // The payload and the frame-end octet.
    let mut payload = vec![0u8; size + 1];
    stream.read_exact(&mut payload).await.map_err(io)?;
    let _ = stream.close().await;
    version_of(&payload[..size])
}

fn io(e: std::io::Error) -> QueueError {
    QueueError::Protocol(e.to_string())
}

/// The `version` server property of a `connection.start` payload.
fn version_of(payload: &[u8]) -> Result<String, QueueError> {
    let properties = match lapin::protocol::parse_class(payload) {
        Ok((_, AMQPClass::Connection(AMQPMethod::Start(start)))) => start.server_properties,
        _ => {
            return Err(QueueError::Protocol(
                "the broker's first frame is not connection.start".to_owned(),
            ));
        }
    };
    match properties.inner().get("version") {
        Some(AMQPValue::LongString(version)) => Ok(version.to_string()),
        _ => Err(QueueError::Protocol(
            "the broker announces no version".to_owned(),
        )),
    }
}

/// `Ok` for a RabbitMQ at least [`MIN_RABBITMQ`]; an unparsable version
/// (another broker) is refused too, naming what it said.
pub fn check(version: &str) -> Result<(), QueueError> {
    let mut parts = version.split(['.', '-', '+']).map(str::parse::<u32>);
    let found = match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => (0, 0),
    };
    match found >= MIN_RABBITMQ {
        true => Ok(()),
        false => Err(QueueError::ServerTooOld {
            found: version.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_older_than_the_minimum_are_refused_by_name() {
        assert!(check("3.10.8").is_ok());
        assert!(check("3.13.7").is_ok());
        assert!(check("4.0.2").is_ok());
        for old in ["3.9.29", "3.8.0", "2.8.19", "not-a-version"] {
            let refused = check(old).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                refused.contains(&format!("RabbitMQ {old}")) && refused.contains("3.10"),
                "{refused}"
            );
        }
    }
}

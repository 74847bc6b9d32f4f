//! The broker's version is read before connecting, and an old one refused
//! (issue 19): against the real RabbitMQ, and against a stand-in that
//! answers the protocol header with a `connection.start` announcing 3.9.

use catalytic_shared::queue::server_version;
use catalytic_shared::queue::{Broker, QueueError};
use catalytic_shared::{Secret, testkit};
use lapin::tcp::OwnedTLSConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn the_test_broker_announces_a_supported_version() -> anyhow::Result<()> {
    let version =
        server_version::announced(&testkit::amqp_url(), &OwnedTLSConfig::default()).await?;
    assert!(
        version.starts_with("3.") || version.starts_with("4."),
        "{version}"
    );
    server_version::check(&version)?;
    Ok(())
}

/// `connection.start` as AMQP 0-9-1 spells it (written out here, not by
/// lapin's generator, so the parser is checked against the spec).
fn connection_start(version: &str) -> Vec<u8> {
    let mut table = Vec::new();
    table.push(7u8);
    table.extend_from_slice(b"version");
    table.push(b'S');
    table.extend_from_slice(&u32::try_from(version.len()).unwrap_or(0).to_be_bytes());
    table.extend_from_slice(version.as_bytes());
    let mut payload = Vec::new();
    payload.extend_from_slice(&10u16.to_be_bytes()); // class connection
    payload.extend_from_slice(&10u16.to_be_bytes()); // method start
    payload.extend_from_slice(&[0, 9]); // AMQP 0-9
    payload.extend_from_slice(&u32::try_from(table.len()).unwrap_or(0).to_be_bytes());
    payload.extend_from_slice(&table);
    for long_string in [&b"PLAIN"[..], &b"en_US"[..]] {
        payload.extend_from_slice(&u32::try_from(long_string.len()).unwrap_or(0).to_be_bytes());
        payload.extend_from_slice(long_string);
    }
    let mut frame = vec![1u8, 0, 0];
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(0).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame.push(0xCE);
    frame
}

#[tokio::test]
async fn a_broker_older_than_the_minimum_is_refused_before_connecting() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut header = [0u8; 8];
            if socket.read_exact(&mut header).await.is_ok() && &header == b"AMQP\x00\x00\x09\x01" {
                let _ = socket.write_all(&connection_start("3.9.29")).await;
            }
        }
    });
    let broker = Broker::new(
        Secret::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f")),
        "version-test",
    );
    let refused = broker.channel().await.err();
    assert!(
        matches!(&refused, Some(QueueError::ServerTooOld { found }) if found == "3.9.29"),
        "{refused:?}"
    );
    let said = broker.last_error().unwrap_or_default();
    assert!(
        said.contains("RabbitMQ 3.9.29") && said.contains("3.10"),
        "{said}"
    );
    Ok(())
}

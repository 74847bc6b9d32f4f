//! TLS to the three servers (issue 19; docs/architecture.md, "TLS").
//!
//! Managed PostgreSQL, RabbitMQ and Redis usually accept only TLS. Each
//! client is built with rustls on ring and trusts Mozilla's roots compiled
//! in (webpki-roots), so a server with a public certificate needs nothing
//! but its URL; a server whose certificate comes from a private CA needs
//! that CA as a PEM file in the server's `tls_ca_file` setting:
//!
//! | server | TLS on | verification | private CA |
//! |---|---|---|---|
//! | PostgreSQL | `sslmode=require` (or stricter) in `database.url` | `sslmode=verify-full` checks chain and host name, `verify-ca` the chain only, `require` neither (libpq's meaning) | `database.tls_ca_file` (or `sslrootcert=` in the URL) |
//! | RabbitMQ | `amqps://` in `amqp.url` | always chain and host name | `amqp.tls_ca_file` |
//! | Redis | `rediss://` in `redis.url` | always chain and host name | `redis.tls_ca_file` (then only that CA is trusted) |
//!
//! A certificate the client does not trust is a configuration error, not an
//! outage: [`trust_failure`] finds it in an error so that the message names
//! the server and the setting to check instead of "connection refused".

use crate::config::RedisSettings;
use std::error::Error as StdError;
use std::path::Path;

/// A server's TLS certificate was not accepted (unknown issuer, wrong host
/// name, expired): `None` when `err` is anything else.
pub fn trust_failure(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(rustls_error) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                rustls_error,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
            )
            .then(|| rustls_error.to_string());
        }
        // io::Error hides the error it wraps from `source()`.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(found) = io.get_ref().and_then(|inner| trust_failure(inner))
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// Reads a CA file (PEM), for the clients that take the certificate's text
/// rather than its path.
pub fn read_ca_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let pem = std::fs::read(path)?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(pem)
}

/// The Redis client of `settings`: `rediss://` verifies against the
/// compiled-in roots, or against `redis.tls_ca_file` alone when it is set.
pub fn redis_client(settings: &RedisSettings) -> redis::RedisResult<redis::Client> {
    let url = settings.url.expose().as_str();
    match &settings.tls_ca_file {
        None => redis::Client::open(url),
        Some(path) => {
            let root_cert = read_ca_file(path).map_err(|e| {
                redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "redis.tls_ca_file",
                    e.to_string(),
                ))
            })?;
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root_cert),
                },
            )
        }
    }
}

/// `host:port` of a Redis URL, for messages (never the password).
pub fn redis_server(client: &redis::Client) -> String {
    client.get_connection_info().addr().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_failure_is_found_inside_io_errors() {
        let rustls_error =
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        let found = trust_failure(&io);
        assert!(
            found
                .as_deref()
                .is_some_and(|m| m.contains("UnknownIssuer")),
            "{found:?}"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(trust_failure(&refused), None);
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("catalytic-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("ca.pem");
        std::fs::write(&path, "not a certificate")?;
        let err = read_ca_file(&path).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|m| m.contains("no PEM certificate")),
            "{err:?}"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

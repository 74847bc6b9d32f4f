//! The CLI over https (issue 19): an API behind a TLS front (as behind an
//! Ingress) with a certificate from a CA made here, trusted through
//! `SSL_CERT_FILE` as curl would trust it; without that CA the CLI refuses
//! the server and says it was the certificate.

use crate::harness::{Cli, Fleet};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// A CA's PEM and a TLS acceptor whose certificate (for `localhost`) it signed.
fn localhost_certificate() -> anyhow::Result<(String, tokio_rustls::TlsAcceptor)> {
    let ca_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Catalytic CLI test CA");
    let ca = params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let server =
        CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca, &ca_key)?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(
        vec![server.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )?;
    Ok((ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

/// Terminates TLS on a free port and forwards each connection to `backend`;
/// returns the port.
async fn tls_front(acceptor: tokio_rustls::TlsAcceptor, backend: u16) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut api)) = (
                    acceptor.accept(client).await,
                    TcpStream::connect(("127.0.0.1", backend)).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut api).await;
            });
        }
    });
    Ok(port)
}

// Multi-threaded: the CLI runs are waited on synchronously while the front
// serves them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reaches_an_https_api_and_refuses_an_untrusted_one() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let (ca_pem, acceptor) = localhost_certificate()?;
    let dir = tempfile::tempdir()?;
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem)?;
    let port = tls_front(acceptor, cli.env.api_port).await?;
    let server = format!("https://localhost:{port}");
    let ca = ca_file.to_string_lossy().into_owned();
    let password = ("CATALYTIC_PASSWORD", "correct horse battery staple");

    let run = cli.run_with(
        &[
            "--server",
            &server,
            "register",
            "--email",
            "tls@example.com",
        ],
        &[password, ("SSL_CERT_FILE", &ca)],
        "",
    )?;
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = cli.run_with(
        &[
            "--server",
            &server,
            "login",
            "--email",
            "tls@example.com",
            "--password-stdin",
        ],
        &[("SSL_CERT_FILE", &ca)],
        &format!("{}\n", password.1),
    )?;
    assert_eq!(run.code, Some(0), "{run:?}");
    let me = cli.run_with(
        &["--server", &server, "whoami", "--output", "json"],
        &[("SSL_CERT_FILE", &ca)],
        "",
    )?;
    assert_eq!(me.json()?["user"]["email"], "tls@example.com", "{me:?}");

    // Without the CA (an empty trust store) the certificate is refused.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "")?;
    let refused = cli.run_with(
        &["--server", &server, "whoami"],
        &[("SSL_CERT_FILE", &empty.to_string_lossy())],
        "",
    )?;
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("certificate"), "{refused:?}");
    Ok(())
}

//! https endpoints end to end: a receiver behind TLS with a certificate made
//! at test time, signed by a test CA that the scheduler trusts only through
//! `webhooks.extra_root_ca_file`.

use crate::harness::tenant;
use crate::webhook_receiver::*;
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_shared::testkit::TestDatabase;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// A CA (its PEM in a file) and a server certificate for `receiver.test`.
struct TestTls {
    ca_file: tempfile::NamedTempFile,
    acceptor: tokio_rustls::TlsAcceptor,
}

fn test_tls() -> anyhow::Result<TestTls> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Catalytic test CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["receiver.test".to_owned()])?
        .signed_by(&leaf_key, &ca, &ca_key)?;
    let mut ca_file = tempfile::NamedTempFile::new()?;
    ca_file.write_all(ca.pem().as_bytes())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )?;
    Ok(TestTls {
        ca_file,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    })
}

#[tokio::test]
async fn https_endpoints_are_delivered_to_and_their_certificates_verified() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tls = test_tls()?;
    let untrusting = settings(0.001, true)?;
    let mut trusting = untrusting.clone();
    trusting.extra_root_ca_file = tls.ca_file.path().to_string_lossy().into_owned();
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start_tls("127.0.0.1:0".parse()?, tls.acceptor.clone()).await?;
    let url = format!("https://receiver.test:{}/hook", receiver.addr.port());
    let (_, secret) = endpoint(&db, &trusting, tenant, &url).await?;
    receiver.verify_with(&secret);
    finished_job(&db, tenant).await?;

    // Without the test CA the certificate is not trusted: a failed attempt.
    Webhooks::with_lookup(db.pool.clone(), &untrusting, fake_lookup())?
        .run_once()
        .await?
        .finished()
        .await;
    let error: Option<String> = sqlx::query_scalar("SELECT error FROM webhook_attempts")
        .fetch_one(&db.pool)
        .await?;
    assert!(
        error.as_deref().is_some_and(|e| e.contains("certificate")),
        "{error:?}"
    );
    assert!(receiver.received().is_empty());

    // With it, the retry is delivered over TLS and verifies.
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &trusting, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 1
    })
    .await?;
    assert!(receiver.received().iter().all(|r| r.verified));
    assert_eq!(delivery_states(&db).await?, vec!["succeeded"]);
    receiver.stop.cancel();
    db.drop_database().await
}

#[test]
fn a_missing_or_empty_root_file_is_an_error_at_start() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let empty = tempfile::NamedTempFile::new()?;
    for path in [
        "/nonexistent/ca.pem".to_owned(),
        empty.path().to_string_lossy().into_owned(),
    ] {
        let mut settings = settings(1.0, false)?;
        settings.extra_root_ca_file = path.clone();
        // A lazy pool: nothing connects.
        let pool = rt.block_on(async {
            sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1/none")
        })?;
        let made = rt.block_on(async { Webhooks::with_lookup(pool, &settings, fake_lookup()) });
        let error = made.err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(error.contains("extra_root_ca_file"), "{path}: {error:?}");
    }
    Ok(())
}

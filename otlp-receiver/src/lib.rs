//! A small OTLP/HTTP trace receiver for tests and development.
//!
//! The api, worker and scheduler export their traces over OTLP/HTTP
//! (protobuf). In production they point at a real OpenTelemetry Collector;
//! here no collector can be installed, so this receiver stands in for one:
//! it accepts `POST /v1/traces` (decoded with the official OTLP protobuf
//! messages of the `opentelemetry-proto` crate), keeps the spans in memory
//! (the newest [`DEFAULT_CAPACITY`]), optionally appends them to a file as
//! JSON lines, and answers queries: a trace's spans as JSON, or as an
//! indented text tree. The end-to-end harness (`catalytic_e2e::otlp`)
//! spawns the binary; see [`http`] for the routes.
//!
//! It is not a collector: no processing, no forwarding, no persistence
//! beyond the `--out` file, and no metrics or logs signals.

pub mod http;
pub mod span;
pub mod store;
pub mod tree;

pub use span::{EventRecord, LinkRecord, SpanRecord};
pub use store::{DEFAULT_CAPACITY, Store};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The default listen address: the standard OTLP/HTTP port on the loopback.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4318";

/// What can stop the receiver from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("opening the out file {path}: {source}")]
    OpenOut {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// How to run a receiver.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0: any free port; see [`Receiver::local_addr`]).
    pub listen: SocketAddr,
    /// A file to append each received span to, as one JSON line.
    pub out: Option<PathBuf>,
    /// How many spans to keep in memory (the oldest are dropped first).
    pub capacity: usize,
}

impl Config {
    /// Listens on `listen`, no out file, the default capacity.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            out: None,
            capacity: DEFAULT_CAPACITY,
        }
    }
}

/// A bound receiver, ready to serve.
pub struct Receiver {
    listener: TcpListener,
    addr: SocketAddr,
    store: Arc<Store>,
}

impl Receiver {
    /// Opens the out file (appending) and binds the listen address.
    pub async fn bind(config: &Config) -> Result<Self, Error> {
        let out = config
            .out
            .as_ref()
            .map(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| Error::OpenOut {
                        path: path.clone(),
                        source,
                    })
            })
            .transpose()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Self {
            listener,
            addr,
            store: Arc::new(Store::new(config.capacity, out)),
        })
    }

    /// The address actually bound (the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The received spans (shared with the server).
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.store)
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        axum::serve(self.listener, http::router(self.store))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}

//! Test isolation (feature `testkit`): a fresh, migrated database and a
//! fresh queue prefix per test, so tests run in parallel against the real
//! servers and never see each other's jobs.
//!
//! The servers are found through `TEST_POSTGRES_URL` (an admin connection,
//! default `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`), `TEST_AMQP_URL`
//! and `TEST_REDIS_URL`, and `TEST_TLS_CA_FILE` names the CA of servers
//! that speak TLS (scripts/tls-servers.sh prints all four). (Not
//! `CATALYTIC_*`: those configure the processes.)

use crate::db;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

pub fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned()
    })
}

pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The CA (PEM file) that signed the test servers' certificates, when they
/// speak TLS.
pub fn tls_ca_file() -> Option<String> {
    std::env::var("TEST_TLS_CA_FILE")
        .ok()
        .filter(|f| !f.is_empty())
}

/// A unique name fragment: `t` + 32 hex characters.
pub fn unique_name() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// A database of one test: created and migrated by `create`, dropped by
/// `drop_database`, or, when a test fails (panics) or returns early before
/// that call, by `Drop`: a failing test leaks no database.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    /// Set once `drop_database` has dropped it, so `Drop` has nothing left to do.
    dropped: bool,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let db = Self::create_empty().await?;
        db::migrate(&db.pool).await?;
        Ok(db)
    }

    /// A database with no schema at all (for the schema gate's tests).
    pub async fn create_empty() -> anyhow::Result<Self> {
        let admin = admin_url();
        let name = format!("catalytic_{}", unique_name());
        let mut conn = PgConnection::connect(&admin).await?;
        // The name is ours (a UUID), not input: safe to splice.
        conn.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await?;
        conn.close().await?;
        let url = with_database(&admin, &name);
        let pool = PgPool::connect(&url).await?;
        Ok(Self {
            name,
            url,
            pool,
            dropped: false,
        })
    }

    /// Drops the database, disconnecting whoever is still connected. Return
    /// (drop) any connection taken from `pool` first: closing waits for them.
    pub async fn drop_database(mut self) -> anyhow::Result<()> {
        // Bounded: a connection still held by the test would block close forever.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.pool.close()).await;
        drop_named(&self.name).await?;
        self.dropped = true;
        Ok(())
    }
}

impl Drop for TestDatabase {
    /// The guard: a test that panicked (or returned early) still drops its
    /// database. `Drop` cannot await, and the test's runtime may be the one
    /// unwinding, so the DROP runs on a thread of its own with a runtime of
    /// its own; `WITH (FORCE)` ends the pool's connections.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_named(&name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("testkit: could not drop a test database: {e:#}"),
            Err(_) => eprintln!("testkit: the thread dropping a test database panicked"),
        }
    }
}

/// `DROP DATABASE … WITH (FORCE)` over a fresh admin connection.
async fn drop_named(name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(&admin_url()).await?;
    conn.execute(AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .await?;
    conn.close().await?;
    Ok(())
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_part = match base.rsplit_once('/') {
        Some((h, _)) if h.contains("://") && h.len() > h.find("://").unwrap_or(0) + 3 => h,
        _ => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

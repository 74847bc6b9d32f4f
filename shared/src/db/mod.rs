//! PostgreSQL, the state of record: the pool, migrations, the schema check
//! every binary runs at start, and one error type. The SQL that more than
//! one process runs lives in the submodules, one per table family; SQL only
//! one process runs lives in that process's own `db` module. All of it is
//! checked at compile time by sqlx (offline data in `.sqlx/`, regenerated
//! by `scripts/sqlx-prepare.sh`).

pub mod billing;
pub mod concurrency_keys;
pub mod job_queries;
pub mod jobs;
pub mod mail;
pub mod outbox;
pub mod progress;
pub mod quotas;
pub mod result_parts;
pub mod scaling;
pub mod tenants;
pub mod webhooks;
pub mod workers;

use crate::config::DatabaseSettings;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

/// Every migration under `migrations/`, embedded in each binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlx(sqlx::Error),
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is older than this binary: migration {version} ({description}) is not applied; run `catalytic-api migrate`"
    )]
    SchemaBehind { version: i64, description: String },
    #[error("migration {version} was changed after it was applied (checksum differs)")]
    SchemaChanged { version: i64 },
    #[error(transparent)]
    IllegalTransition(#[from] crate::job::IllegalTransition),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(
        "PostgreSQL {found} is older than the oldest this release supports ({MIN_POSTGRES_NAME}); upgrade the server"
    )]
    ServerTooOld { found: String },
    #[error(
        "PostgreSQL at {server} presented a certificate this process does not trust ({reason}); check database.tls_ca_file and the URL's sslmode"
    )]
    Untrusted { server: String, reason: String },
}

/// The oldest PostgreSQL this release runs on (`server_version_num`): the
/// version the test suite and the chaos suite run against (README.md,
/// "Servers"). Nothing older is tested, so the processes refuse it at start
/// with a message naming both versions, rather than fail on some statement
/// later (issue 19).
pub const MIN_POSTGRES: i32 = 150_000;
const MIN_POSTGRES_NAME: &str = "15";

/// `Ok` when a server reporting `version_num` (`SHOW server_version_num`)
/// and `version` (`SHOW server_version`) is new enough.
pub fn check_postgres_version(version_num: i32, version: &str) -> Result<(), DbError> {
    match version_num >= MIN_POSTGRES {
        true => Ok(()),
        false => Err(DbError::ServerTooOld {
            found: version.to_owned(),
        }),
    }
}

/// Refuses a PostgreSQL older than [`MIN_POSTGRES`].
pub async fn ensure_server_supported(pool: &PgPool) -> Result<(), DbError> {
    let (num, version): (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version_num'), current_setting('server_version')",
    )
    .fetch_one(pool)
    .await?;
    let num: i32 = num
        .parse()
        .map_err(|_| DbError::Corrupt(format!("server_version_num {num:?}")))?;
    check_postgres_version(num, &version)
}

/// The one place sqlx errors are classified: a unique violation is a
/// `Conflict` the caller can answer, everything else is internal.
impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return DbError::Conflict {
                constraint: db.constraint().unwrap_or("unknown").to_owned(),
            };
        }
        DbError::Sqlx(e)
    }
}

/// How the server plans a pool's prepared statements (sqlx prepares every
/// statement once per connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planning {
    /// PostgreSQL's default: a custom plan for each execution's values
    /// until a generic plan looks as cheap. Right for statements whose best
    /// plan depends on their values (a cursor, a time range).
    PerExecution,
    /// One generic plan per statement and connection
    /// (`plan_cache_mode = force_generic_plan`). For the job path's batch
    /// statements, whose arrays make PostgreSQL keep planning them afresh:
    /// planning was ~23 % of the server's CPU in the closed loop, up to
    /// 2 ms per relay claim (docs/benchmarks.md, "Planned once"). Only for
    /// statements written so that one plan serves every value: literals
    /// where a partial index needs one, no value-dependent shapes.
    ///
    /// A generic plan is made at a statement's first execution on a
    /// connection and kept until PostgreSQL invalidates it, which only an
    /// ANALYZE of a table it reads does. A plan made while `jobs` was small
    /// (a fresh database, or autovacuum off) chose a sequential or a whole
    /// partial-index scan and kept it as the queue grew: under a backlog
    /// the relay's mark of sent rows took 1.6 s a round and the worker's claims
    /// 44 ms (docs/benchmarks.md, "Plans made on an empty database"). So
    /// such connections are replaced every `database.replan_after_secs`
    /// (the relay leader's, which it holds, runs `DISCARD PLANS` instead).
    ///
    /// And they plan with `enable_seqscan = off`: until the replacement, a
    /// plan made on small tables must still reach rows by their keys. With
    /// sequential scans allowed, the worker's outcome statement scanned
    /// `jobs` whole, twice per batch, from a fresh database's first batch
    /// until the replan (21 million rows read for 7,858 jobs in a 25 s
    /// load run: docs/benchmarks.md, "Outcomes planned on empty tables").
    /// It is not a ban: a table with no index for a statement is still
    /// scanned.
    Once,
}

impl Planning {
    /// The settings of a planned-once connection, as (name, value): what
    /// `pool_with` gives its connections, and what `ONCE_SQL` sets.
    pub const ONCE_SETTINGS: [(&'static str, &'static str); 2] = [
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
    ];
    /// `ONCE_SETTINGS` in one statement (for a connection that did not come
    /// from a pool of this kind).
    pub const ONCE_SQL: &'static str =
        "SELECT set_config('plan_cache_mode', 'force_generic_plan', false),
                set_config('enable_seqscan', 'off', false)";
    /// Drops a connection's cached plans (its prepared statements stay):
    /// the next execution of each plans again. For a planned-once
    /// connection held outside a pool, every `database.replan_after_secs`.
    pub const REPLAN_SQL: &'static str = "DISCARD PLANS";
}

/// A pool that connects on first use, so a process can start (and serve
/// `/healthz`) while PostgreSQL is still coming up.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    pool_with(settings, Planning::PerExecution)
}

/// [`pool`] with the given statement planning.
pub fn pool_with(settings: &DatabaseSettings, planning: Planning) -> Result<PgPool, DbError> {
    let mut options: PgConnectOptions = settings.url.expose().parse()?;
    if let Some(ca) = &settings.tls_ca_file {
        options = options.ssl_root_cert(ca);
    }
    let mut pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs));
    if planning == Planning::Once {
        options = options.options(Planning::ONCE_SETTINGS);
        pool = pool.max_lifetime(Duration::from_secs(settings.replan_after_secs));
    }
    Ok(pool.connect_lazy_with(options))
}

pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    ensure_server_supported(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Refuses to run against a schema older than the binary: every embedded
/// migration must be applied, with the same checksum. A newer schema is
/// fine (migrations are expand/contract).
pub async fn ensure_schema_current(pool: &PgPool) -> Result<(), DbError> {
    ensure_server_supported(pool).await?;
    let applied: Vec<(i64, Vec<u8>)> = match sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    {
        Ok(rows) => rows,
        // 42P01: no migrations table at all, i.e. nothing applied.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for migration in MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        match applied.iter().find(|(v, _)| *v == migration.version) {
            None => {
                return Err(DbError::SchemaBehind {
                    version: migration.version,
                    description: migration.description.to_string(),
                });
            }
            Some((_, checksum)) if checksum.as_slice() != &*migration.checksum => {
                return Err(DbError::SchemaChanged {
                    version: migration.version,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `host:port` of the pool's server, for messages (never the credentials).
pub fn server_of(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!("{}:{}", options.get_host(), options.get_port())
}

/// `ensure_schema_current`, retried while the database is unreachable (a
/// process may start before PostgreSQL), but failing at once when the
/// schema itself is behind.
pub async fn wait_for_schema(pool: &PgPool, deadline: Duration) -> Result<(), DbError> {
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        match ensure_schema_current(pool).await {
            // A certificate that is not trusted will not become trusted by
            // waiting: say so and which server, and stop.
            Err(DbError::Sqlx(e)) => {
                if let Some(reason) = crate::tls::trust_failure(&e) {
                    return Err(DbError::Untrusted {
                        server: server_of(pool),
                        reason,
                    });
                }
                if tokio::time::Instant::now() >= give_up {
                    return Err(DbError::Sqlx(e));
                }
                tracing::warn!(error = %e, "database unavailable; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_once_statement_sets_every_once_setting() {
        for (name, value) in Planning::ONCE_SETTINGS {
            assert!(
                Planning::ONCE_SQL.contains(&format!("set_config('{name}', '{value}', false)")),
                "{name} = {value} missing from {}",
                Planning::ONCE_SQL
            );
        }
    }

    #[test]
    fn servers_older_than_the_minimum_are_named_and_refused() {
        assert!(check_postgres_version(150_020, "15.20").is_ok());
        assert!(check_postgres_version(170_002, "17.2").is_ok());
        let refused = check_postgres_version(140_011, "14.11 (Debian 14.11-1)")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("PostgreSQL 14.11") && refused.contains("(15)"),
            "{refused}"
        );
    }
}

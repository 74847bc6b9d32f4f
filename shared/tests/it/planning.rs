//! Planned-once pools make their plans again (issue 17). A generic plan
//! made while `jobs` was small scanned it whole once it was large, and
//! PostgreSQL keeps a generic plan until an ANALYZE: connections of a
//! `Planning::Once` pool are replaced every `database.replan_after_secs`,
//! so each new one plans against the tables as they are.

use catalytic_shared::Secret;
use catalytic_shared::config::DatabaseSettings;
use catalytic_shared::db::{self, Planning};
use catalytic_shared::testkit::TestDatabase;
use std::time::{Duration, Instant};

fn settings(db: &TestDatabase) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(db.url.clone()),
        max_connections: 1,
        acquire_timeout_secs: 5,
        replan_after_secs: 1,
        tls_ca_file: None,
    }
}

/// The backend of the pool's one connection, and its plan cache mode.
async fn backend(pool: &sqlx::PgPool) -> anyhow::Result<(i32, String)> {
    Ok(
        sqlx::query_as("SELECT pg_backend_pid(), current_setting('plan_cache_mode')")
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test]
async fn planned_once_connections_are_replaced_and_others_kept() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let once = db::pool_with(&settings(&db), Planning::Once)?;
    let per_execution = db::pool_with(&settings(&db), Planning::PerExecution)?;
    let (first, mode) = backend(&once).await?;
    assert_eq!(mode, "force_generic_plan");
    let (kept, mode) = backend(&per_execution).await?;
    assert_eq!(mode, "auto");

    // Poll with a deadline: the replacement happens at a release after
    // the lifetime has passed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let replaced = loop {
        let (pid, _) = backend(&once).await?;
        if pid != first {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        replaced,
        "the planned-once connection outlived replan_after_secs"
    );
    assert_eq!(
        backend(&per_execution).await?.0,
        kept,
        "a per-execution pool keeps its connection"
    );
    once.close().await;
    per_execution.close().await;
    db.drop_database().await
}

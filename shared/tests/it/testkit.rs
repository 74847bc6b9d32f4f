//! The per-test database's guard: a test that fails still drops its database.

use catalytic_shared::testkit::{TestDatabase, admin_url};
use sqlx::{Connection, PgConnection};

async fn database_exists(name: &str) -> anyhow::Result<bool> {
    let mut conn = PgConnection::connect(&admin_url()).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    Ok(exists)
}

#[tokio::test]
async fn a_database_is_dropped_when_its_test_panics() -> anyhow::Result<()> {
    let (named, name) = tokio::sync::oneshot::channel();
    // The task plays a failing test: it makes its database, then panics
    // before any explicit drop.
    let failing = tokio::spawn(async move {
        let db = TestDatabase::create_empty().await?;
        let _ = named.send(db.name.clone());
        let _held = db.pool.acquire().await?;
        if db.name.starts_with("catalytic_") {
            panic!("the test fails while holding a connection");
        }
        anyhow::Ok(db)
    });
    let name = name.await?;
    assert!(failing.await.is_err_and(|e| e.is_panic()));
    assert!(!database_exists(&name).await?, "{name} outlived its test");
    Ok(())
}

#[tokio::test]
async fn an_explicit_drop_is_not_repeated_by_the_guard() -> anyhow::Result<()> {
    let db = TestDatabase::create_empty().await?;
    let name = db.name.clone();
    assert!(database_exists(&name).await?);
    db.drop_database().await?;
    assert!(!database_exists(&name).await?);
    Ok(())
}

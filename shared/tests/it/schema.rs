use catalytic_shared::db::{self, DbError};
use catalytic_shared::testkit::TestDatabase;

#[tokio::test]
async fn a_binary_refuses_a_schema_older_than_itself() -> anyhow::Result<()> {
    let db = TestDatabase::create_empty().await?;
    let err = db::ensure_schema_current(&db.pool).await;
    assert!(
        matches!(err, Err(DbError::SchemaBehind { version: 1, .. })),
        "{err:?}"
    );
    db::migrate(&db.pool).await?;
    db::ensure_schema_current(&db.pool).await?;
    // A tampered migration record is caught too.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1")
        .execute(&db.pool)
        .await?;
    assert!(matches!(
        db::ensure_schema_current(&db.pool).await,
        Err(DbError::SchemaChanged { version: 1 })
    ));
    db.drop_database().await
}

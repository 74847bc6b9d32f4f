//! The fleet registry: each worker inserts itself at start, heartbeats, and
//! marks itself stopped on a clean exit. The fleet view and autoscaling
//! read it; a worker that vanished shows a stale heartbeat.

use super::DbError;
use crate::ids::WorkerId;
use sqlx::PgPool;

pub async fn register(
    pool: &PgPool,
    id: WorkerId,
    host: &str,
    device: &str,
    concurrency: i32,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO workers (id, host, device, concurrency) VALUES ($1, $2, $3, $4)",
        id as WorkerId,
        host,
        device,
        concurrency,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn heartbeat(pool: &PgPool, id: WorkerId, in_flight: i32) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE workers SET last_heartbeat_at = now(), in_flight = $2 WHERE id = $1",
        id as WorkerId,
        in_flight,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn stopped(pool: &PgPool, id: WorkerId) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE workers SET stopped_at = now(), in_flight = 0 WHERE id = $1",
        id as WorkerId
    )
    .execute(pool)
    .await?;
    Ok(())
}

//! The fleet registry: each worker inserts itself at start, heartbeats, and
//! marks itself stopped on a clean exit. The fleet view and autoscaling
//! read it; a worker that vanished shows a stale heartbeat.

use super::DbError;
use crate::ids::WorkerId;
use sqlx::PgPool;

/// What a worker computes on, as it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// `cpu` or `cuda`.
    pub kind: &'static str,
    /// The card's name (`cuda` only).
    pub name: Option<String>,
    /// The card's memory in bytes (`cuda` only).
    pub memory_bytes: Option<i64>,
}

pub async fn register(
    pool: &PgPool,
    id: WorkerId,
    host: &str,
    device: &DeviceRecord,
    concurrency: i32,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO workers (id, host, device, device_name, device_memory_bytes, concurrency)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id as WorkerId,
        host,
        device.kind,
        device.name,
        device.memory_bytes,
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

/// A worker as the fleet view shows it.
#[derive(Debug, Clone)]
pub struct WorkerRow {
    pub id: WorkerId,
    pub host: String,
    pub device: String,
    pub device_name: Option<String>,
    pub device_memory_bytes: Option<i64>,
    pub concurrency: i32,
    pub in_flight: i32,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub last_heartbeat_at: chrono::DateTime<chrono::Utc>,
    pub stopped_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Workers not stopped, most recently started first.
pub async fn list_live(pool: &PgPool) -> Result<Vec<WorkerRow>, DbError> {
    Ok(sqlx::query_as!(
        WorkerRow,
        r#"SELECT id AS "id: WorkerId", host, device, device_name, device_memory_bytes, concurrency, in_flight, started_at, last_heartbeat_at, stopped_at
           FROM workers WHERE stopped_at IS NULL ORDER BY started_at DESC"#
    )
    .fetch_all(pool)
    .await?)
}

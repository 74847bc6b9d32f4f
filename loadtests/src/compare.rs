//! `--compare`: this machine's ceilings, measured in the same run as the
//! load, so the report states our throughput as a fraction of them
//! (docs/benchmarks.md quotes earlier figures; these are re-measured):
//!
//! - broker round trip: persistent 256-byte messages published with
//!   confirms (up to 1,000 in flight) to a private quorum queue and consumed
//!   with manual acks (prefetch 1,000), saturated;
//! - PostgreSQL job lifecycle: one statement per transition (insert,
//!   running, completed) on 8 connections, into a scratch table.
//!
//! Both clean up what they create.

use anyhow::Context;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The ceilings, in jobs (messages) per second.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ceilings {
    pub broker_round_trip_per_s: f64,
    pub postgres_lifecycle_per_s: f64,
}

/// Measures both ceilings for about `window` each.
pub async fn measure(
    amqp_url: &str,
    database_url: &str,
    window: Duration,
) -> anyhow::Result<Ceilings> {
    Ok(Ceilings {
        broker_round_trip_per_s: broker(amqp_url, window).await?,
        postgres_lifecycle_per_s: postgres(database_url, window).await?,
    })
}

async fn broker(url: &str, window: Duration) -> anyhow::Result<f64> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .context("connecting to RabbitMQ for --compare")?;
    let queue = format!("catalytic-load-compare-{}", std::process::id());
    let publisher = conn.create_channel().await?;
    let consumer_channel = conn.create_channel().await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    publisher
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    consumer_channel
        .basic_qos(1000, lapin::options::BasicQosOptions::default())
        .await?;
    let mut consumer = consumer_channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let start = Instant::now();
    let counting = tokio::spawn(async move {
        let mut received = 0u64;
        while let Some(Ok(delivery)) = consumer.next().await {
            received += 1;
            if delivery.ack(BasicAckOptions::default()).await.is_err() {
                break;
            }
            if start.elapsed() >= window {
                break;
            }
        }
        (received, start.elapsed())
    });
    let body = vec![b'x'; 256];
    let mut confirms = Vec::with_capacity(1000);
    while start.elapsed() < window && !counting.is_finished() {
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        confirms.push(confirm);
        if confirms.len() == 1000 {
            for c in confirms.drain(..) {
                c.await?;
            }
        }
    }
    for c in confirms.drain(..) {
        c.await?;
    }
    let (received, elapsed) = counting.await.context("the --compare consumer panicked")?;
    let _ = publisher
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    let _ = conn.close(200, "done".into()).await;
    Ok(received as f64 / elapsed.as_secs_f64().max(1e-9))
}

async fn postgres(url: &str, window: Duration) -> anyhow::Result<f64> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .context("connecting to PostgreSQL for --compare")?;
    // Our own name (a number), never input: safe to splice into the SQL.
    let table = format!("load_compare_{}", std::process::id());
    let sql = |text: String| sqlx::AssertSqlSafe(text);
    sqlx::query(sql(format!(
        "CREATE TABLE {table} (id bigserial PRIMARY KEY, status text NOT NULL, payload jsonb NOT NULL)"
    )))
    .execute(&pool)
    .await?;
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (pool, table) = (pool.clone(), table.clone());
        workers.spawn(async move {
            let mut done = 0u64;
            while start.elapsed() < window {
                let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (status, payload) VALUES ('queued', '{{\"op\":\"x\"}}') RETURNING id"
                )))
                .fetch_one(&pool)
                .await?;
                for status in ["running", "succeeded"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET status = $2 WHERE id = $1"
                    )))
                        .bind(id)
                        .bind(status)
                        .execute(&pool)
                        .await?;
                }
                done += 1;
            }
            anyhow::Ok(done)
        });
    }
    let mut total = 0u64;
    while let Some(done) = workers.join_next().await {
        total += done.context("a --compare task panicked")??;
    }
    let elapsed = start.elapsed();
    sqlx::query(sql(format!("DROP TABLE {table}")))
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(total as f64 / elapsed.as_secs_f64().max(1e-9))
}

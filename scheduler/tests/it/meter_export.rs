//! The Stripe Billing Meter export against a real HTTP receiver standing in
//! for Stripe (an axum server on 127.0.0.1:0 that parses the form body,
//! records the Authorization header and answers the statuses a test
//! queues): closed hours only, the bearer key, one accepted identifier per
//! increment, retries after a refusal, and a late event sending only the
//! difference.

use crate::billing::{Jobs, t, usage as billing_usage};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use catalytic_scheduler::billing::Billing;
use catalytic_scheduler::billing::meter::MeterExport;
use catalytic_shared::Secret;
use catalytic_shared::db;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::TestDatabase;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk_test_meter_key";

/// One meter event post as the receiver saw it.
#[derive(Debug, Clone)]
struct Post {
    authorization: String,
    idempotency_key: String,
    form: BTreeMap<String, String>,
    answered: u16,
}

#[derive(Default)]
struct Stripe {
    answers: Mutex<VecDeque<u16>>,
    posts: Mutex<Vec<Post>>,
}

async fn meter_events(
    State(stripe): State<Arc<Stripe>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let answered = stripe
        .answers
        .lock()
        .map(|mut a| a.pop_front().unwrap_or(200))
        .unwrap_or(500);
    let post = Post {
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
        answered,
    };
    if let Ok(mut posts) = stripe.posts.lock() {
        posts.push(post);
    }
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The stand-in for Stripe; its base URL.
async fn start_stripe() -> anyhow::Result<(Arc<Stripe>, String)> {
    let stripe = Arc::new(Stripe::default());
    let app = Router::new()
        .route(
            "/v1/billing/meter_events",
            axum::routing::post(meter_events),
        )
        .with_state(stripe.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((stripe, base))
}

fn posts(stripe: &Stripe) -> Vec<Post> {
    stripe.posts.lock().map(|p| p.clone()).unwrap_or_default()
}

fn billing(pool: &PgPool, base: &str) -> anyhow::Result<Billing> {
    Ok(Billing {
        pool: pool.clone(),
        interval: Duration::from_secs(300),
        finalize_after: Duration::from_secs(3600),
        usage_retention: Duration::from_secs(400 * 86_400),
        meter: Some(MeterExport {
            client: reqwest::Client::new(),
            base_url: base.to_owned(),
            api_key: Secret::new(KEY.to_owned()),
            event_prefix: "catalytic".to_owned(),
            batch: 100,
        }),
    })
}

/// A tenant since 2026-01-01, mapped to `customer` when given.
async fn tenant(pool: &PgPool, customer: Option<&str>) -> anyhow::Result<TenantId> {
    let id = TenantId::new();
    db::tenants::create(pool, id, "metered", Plan::Starter).await?;
    sqlx::query("UPDATE tenants SET created_at = '2026-01-01T00:00:00Z' WHERE id = $1")
        .bind(id.as_uuid())
        .execute(pool)
        .await?;
    if let Some(customer) = customer {
        sqlx::query("INSERT INTO stripe_customers (tenant_id, customer_id) VALUES ($1, $2)")
            .bind(id.as_uuid())
            .bind(customer)
            .execute(pool)
            .await?;
    }
    Ok(id)
}

/// `n` finished billable jobs at `at`, each with `visits` vertex-visits
/// and `ms` compute on `device`.
async fn usage(
    pool: &PgPool,
    tenant: TenantId,
    n: i64,
    at: &str,
    (visits, compute_ms, device): (i64, i64, &str),
) -> anyhow::Result<()> {
    let jobs = Jobs {
        n,
        at,
        billable: true,
        visits,
        compute_ms,
        device,
    };
    billing_usage(pool, tenant, jobs).await
}

/// (event_name, value) of the accepted posts, sorted.
fn accepted(posts: &[Post]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = posts
        .iter()
        .filter(|p| p.answered == 200)
        .map(|p| {
            (
                p.form["event_name"].clone(),
                p.form["payload[value]"].clone(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn closed_hours_are_posted_once_and_a_late_event_sends_the_difference() -> anyhow::Result<()>
{
    let db = TestDatabase::create().await?;
    let (stripe, base) = start_stripe().await?;
    let billing = billing(&db.pool, &base)?;
    let metered = tenant(&db.pool, Some("cus_meter_1")).await?;
    let unmapped = tenant(&db.pool, None).await?;
    usage(
        &db.pool,
        metered,
        3,
        "2026-04-10T10:15:00Z",
        (1_000, 20, "cpu"),
    )
    .await?;
    usage(
        &db.pool,
        metered,
        2,
        "2026-04-10T10:45:00Z",
        (0, 1_500, "gpu"),
    )
    .await?;
    usage(&db.pool, unmapped, 7, "2026-04-10T10:20:00Z", (5, 5, "cpu")).await?;
    // Still inside the rescan window at 12:00: not closed, not sent.
    usage(&db.pool, metered, 1, "2026-04-10T11:30:00Z", (9, 9, "cpu")).await?;

    let round = billing.run_once(t("2026-04-10T12:00:00Z")?).await?;
    assert_eq!(
        (round.meter.rows, round.meter.events, round.meter.failures),
        (1, 3, 0)
    );
    let first = posts(&stripe);
    assert_eq!(
        accepted(&first),
        [
            ("catalytic_cpu_vertex_visits".to_owned(), "3000".to_owned()),
            ("catalytic_gpu_ms".to_owned(), "3000".to_owned()),
            ("catalytic_jobs".to_owned(), "5".to_owned()),
        ]
    );
    let hour = t("2026-04-10T10:00:00Z")?.timestamp().to_string();
    for post in &first {
        assert_eq!(post.authorization, format!("Bearer {KEY}"));
        assert_eq!(post.form["payload[stripe_customer_id]"], "cus_meter_1");
        assert_eq!(post.form["timestamp"], hour);
        assert_eq!(post.idempotency_key, post.form["identifier"]);
    }

    // Nothing is due any more: a rerun posts nothing.
    let again = billing.run_once(t("2026-04-10T12:01:00Z")?).await?;
    assert_eq!(again.meter.events, 0);
    assert_eq!(posts(&stripe).len(), 3);

    // A late job of the exported hour: only the difference goes, under new
    // identifiers; the 11:00 hour is closed by now and goes whole.
    usage(
        &db.pool,
        metered,
        1,
        "2026-04-10T10:50:00Z",
        (500, 1, "cpu"),
    )
    .await?;
    let late = billing.run_once(t("2026-04-10T13:00:00Z")?).await?;
    assert_eq!((late.meter.rows, late.meter.events), (2, 4));
    let all = posts(&stripe);
    assert_eq!(
        accepted(&all[3..]),
        [
            ("catalytic_cpu_vertex_visits".to_owned(), "500".to_owned()),
            ("catalytic_cpu_vertex_visits".to_owned(), "9".to_owned()),
            ("catalytic_jobs".to_owned(), "1".to_owned()),
            ("catalytic_jobs".to_owned(), "1".to_owned()),
        ]
    );
    let mut identifiers: HashMap<String, usize> = HashMap::new();
    for post in &all {
        *identifiers
            .entry(post.form["identifier"].clone())
            .or_default() += 1;
    }
    assert!(identifiers.values().all(|&n| n == 1), "{identifiers:?}");
    // The unmapped tenant's usage never left.
    assert!(
        all.iter()
            .all(|p| p.form["payload[stripe_customer_id]"] == "cus_meter_1")
    );
    db.drop_database().await
}

#[tokio::test]
async fn a_refused_post_is_retried_next_round_under_the_same_identifier() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (stripe, base) = start_stripe().await?;
    let billing = billing(&db.pool, &base)?;
    let metered = tenant(&db.pool, Some("cus_meter_2")).await?;
    usage(&db.pool, metered, 4, "2026-04-10T10:15:00Z", (0, 10, "cpu")).await?;
    if let Ok(mut answers) = stripe.answers.lock() {
        answers.extend([500, 503]);
    }

    let failed = billing.run_once(t("2026-04-10T12:00:00Z")?).await?;
    assert_eq!((failed.meter.rows, failed.meter.failures), (0, 1));
    let exported: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT meter_exported_at FROM usage_hourly WHERE tenant_id = $1")
            .bind(metered.as_uuid())
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(exported, None, "a refused row stays due");

    let still = billing.run_once(t("2026-04-10T12:05:00Z")?).await?;
    assert_eq!(still.meter.failures, 1);
    let ok = billing.run_once(t("2026-04-10T12:10:00Z")?).await?;
    assert_eq!(
        (ok.meter.rows, ok.meter.events, ok.meter.failures),
        (1, 1, 0)
    );
    assert_eq!(
        billing
            .run_once(t("2026-04-10T12:15:00Z")?)
            .await?
            .meter
            .events,
        0
    );

    let all = posts(&stripe);
    let answered: Vec<u16> = all.iter().map(|p| p.answered).collect();
    assert_eq!(answered, [500, 503, 200]);
    // The same increment each time: one identifier, accepted once.
    assert!(
        all.iter()
            .all(|p| p.form["identifier"] == all[0].form["identifier"])
    );
    assert_eq!(
        accepted(&all),
        [("catalytic_jobs".to_owned(), "4".to_owned())]
    );
    db.drop_database().await
}

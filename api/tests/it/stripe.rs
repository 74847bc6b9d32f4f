//! `POST /v1/billing/stripe/webhook`: signature and tolerance, the tenant ↔
//! customer mapping, plan changes from subscriptions (recorded for
//! proration), suspension after 4 failed payments and its lifting, and
//! redeliveries having no second effect. Events are signed here exactly as
//! Stripe signs them.

use crate::harness::{TestApp, fields, problem, spawn_app, spawn_app_with};
use catalytic_api::stripe::sign;
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "whsec_test_secret_for_the_api_tests";
const CUSTOMER: &str = "cus_test_1";

async fn stripe_app() -> anyhow::Result<TestApp> {
    spawn_app_with(&[("CATALYTIC_BILLING__STRIPE_WEBHOOK_SECRET", SECRET)]).await
}

async fn tenant_a(app: &TestApp) -> anyhow::Result<Uuid> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'tenant-a'")
            .fetch_one(&app.db.pool)
            .await?,
    )
}

async fn plan_of(app: &TestApp, tenant: Uuid) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar("SELECT plan FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&app.db.pool)
        .await?)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `event` signed at `t` with `secret`.
async fn post_signed(
    app: &TestApp,
    event: &Value,
    t: i64,
    secret: &str,
) -> anyhow::Result<reqwest::Response> {
    let body = serde_json::to_vec(event)?;
    let header = format!("t={t},v1={}", sign(secret.as_bytes(), t, &body));
    Ok(app
        .http
        .post(format!("{}/v1/billing/stripe/webhook", app.base))
        .header("Stripe-Signature", header)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?)
}

/// Posts a correctly signed event and returns its receipt.
async fn deliver(app: &TestApp, event: &Value) -> anyhow::Result<Value> {
    let response = post_signed(app, event, now(), SECRET).await?;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    Ok(response.json().await?)
}

fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}})
}

fn checkout(id: &str, tenant: Uuid) -> Value {
    event(
        id,
        "checkout.session.completed",
        json!({"id": "cs_1", "object": "checkout.session", "client_reference_id": tenant,
               "customer": CUSTOMER, "subscription": "sub_1"}),
    )
}

fn invoice(id: &str, kind: &str) -> Value {
    event(
        id,
        kind,
        json!({"id": format!("in_{id}"), "object": "invoice", "customer": CUSTOMER}),
    )
}

fn job() -> Value {
    json!({"lattice": {"dimensions": 1, "size": 4}, "operation": "shortest_path",
           "params": {"start": [0], "end": [3]}})
}

#[tokio::test]
async fn the_endpoint_is_off_without_a_secret() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let response = post_signed(&app, &invoice("evt_1", "invoice.paid"), now(), SECRET).await?;
    assert_eq!(response.status(), 404);
    app.teardown().await
}

#[tokio::test]
async fn a_bad_signature_or_a_stale_timestamp_is_a_400_naming_the_header() -> anyhow::Result<()> {
    let app = stripe_app().await?;
    let paid = invoice("evt_1", "invoice.paid");

    let wrong_secret = post_signed(&app, &paid, now(), "whsec_someone_else").await?;
    let (status, body) = problem(wrong_secret).await?;
    assert_eq!(
        (status, fields(&body)),
        (400, vec!["Stripe-Signature".to_owned()])
    );

    let stale = post_signed(&app, &paid, now() - 301, SECRET).await?;
    let (status, body) = problem(stale).await?;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("300 s"),
        "{body}"
    );

    let unsigned = app
        .http
        .post(format!("{}/v1/billing/stripe/webhook", app.base))
        .body(serde_json::to_vec(&paid)?)
        .send()
        .await?;
    let (status, body) = problem(unsigned).await?;
    assert_eq!(
        (status, fields(&body)),
        (400, vec!["Stripe-Signature".to_owned()])
    );

    // A signed event missing what billing needs names the field.
    let no_customer = event("evt_2", "invoice.paid", json!({"id": "in_1"}));
    let (status, body) = problem(post_signed(&app, &no_customer, now(), SECRET).await?).await?;
    assert_eq!(
        (status, fields(&body)),
        (400, vec!["data.object.customer".to_owned()])
    );
    // Nothing refused was recorded as processed.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events")
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(recorded, 0);
    app.teardown().await
}

#[tokio::test]
async fn checkout_maps_the_customer_and_subscriptions_change_the_plan_once() -> anyhow::Result<()> {
    let app = stripe_app().await?;
    let tenant = tenant_a(&app).await?;
    assert_eq!(
        deliver(&app, &checkout("evt_c", tenant)).await?["outcome"],
        "linked"
    );
    let mapped: String =
        sqlx::query_scalar("SELECT customer_id FROM stripe_customers WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(mapped, CUSTOMER);

    let updated = event(
        "evt_s",
        "customer.subscription.updated",
        json!({"id": "sub_1", "object": "subscription", "customer": CUSTOMER, "status": "active",
               "items": {"data": [{"price": {"lookup_key": "professional"}}]}}),
    );
    assert_eq!(deliver(&app, &updated).await?["outcome"], "plan_changed");
    // A redelivery of the same event id changes nothing.
    let replay = deliver(&app, &updated).await?;
    assert_eq!(
        (replay["duplicate"].clone(), replay["outcome"].clone()),
        (json!(true), json!("duplicate"))
    );
    assert_eq!(plan_of(&app, tenant).await?, "professional");
    // Recorded once, through the plan-change path billing prorates by.
    let changes: Vec<(String, String)> = sqlx::query_as(
        "SELECT from_plan, to_plan FROM plan_changes WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(&app.db.pool)
    .await?;
    assert_eq!(changes, [("free".to_owned(), "professional".to_owned())]);

    let deleted = event(
        "evt_d",
        "customer.subscription.deleted",
        json!({"id": "sub_1", "object": "subscription", "customer": CUSTOMER, "status": "canceled"}),
    );
    assert_eq!(deliver(&app, &deleted).await?["outcome"], "plan_changed");
    assert_eq!(plan_of(&app, tenant).await?, "free");
    app.teardown().await
}

#[tokio::test]
async fn four_failed_payments_suspend_submits_and_a_paid_invoice_lifts_it() -> anyhow::Result<()> {
    let app = stripe_app().await?;
    let tenant = tenant_a(&app).await?;
    deliver(&app, &checkout("evt_c", tenant)).await?;
    for n in 1..=3 {
        let receipt = deliver(
            &app,
            &invoice(&format!("evt_f{n}"), "invoice.payment_failed"),
        )
        .await?;
        assert_eq!(receipt["outcome"], "payment_failed", "failure {n}");
        // A redelivered failure is not a second failure.
        assert_eq!(
            deliver(
                &app,
                &invoice(&format!("evt_f{n}"), "invoice.payment_failed")
            )
            .await?["duplicate"],
            true
        );
    }
    assert_eq!(
        app.submit(&job()).await?.status(),
        202,
        "3 failures do not suspend"
    );

    let fourth = deliver(&app, &invoice("evt_f4", "invoice.payment_failed")).await?;
    assert_eq!(fourth["outcome"], "suspended");
    let (status, body) = problem(app.submit(&job()).await?).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (402, json!("billing_suspended"))
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("suspended"),
        "{body}"
    );

    let paid = deliver(&app, &invoice("evt_p", "invoice.paid")).await?;
    assert_eq!(paid["outcome"], "unsuspended");
    assert_eq!(app.submit(&job()).await?.status(), 202);
    let failures: i32 = sqlx::query_scalar(
        "SELECT consecutive_payment_failures FROM stripe_customers WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!(failures, 0);
    app.teardown().await
}

#[tokio::test]
async fn events_of_unknown_customers_are_acknowledged_and_change_nothing() -> anyhow::Result<()> {
    let app = stripe_app().await?;
    for n in 1..=4 {
        let receipt = deliver(
            &app,
            &invoice(&format!("evt_{n}"), "invoice.payment_failed"),
        )
        .await?;
        assert_eq!(receipt["outcome"], "unknown_customer");
    }
    let other = deliver(
        &app,
        &event("evt_x", "charge.refunded", json!({"id": "ch_1"})),
    )
    .await?;
    assert_eq!(other["outcome"], "ignored");
    assert_eq!(app.submit(&job()).await?.status(), 202);
    // A checkout naming no tenant of ours links nothing.
    let stray = deliver(&app, &checkout("evt_c", Uuid::now_v7())).await?;
    assert_eq!(stray["outcome"], "unknown_tenant");
    app.teardown().await
}

//! Paying for a plan (issue 18): an owner cannot move up by asking
//! (`PUT /v1/tenant/plan` upgrades are 402), only downward; an upgrade is a
//! Stripe Checkout Session (`POST /v1/billing/checkout`, sent to a local
//! receiver standing in for Stripe's API) and happens when the signed
//! events arrive; an operator sets any plan.

use crate::harness::{TestApp, fields, problem, spawn_app, spawn_app_with};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use catalytic_api::stripe::sign;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const WEBHOOK_SECRET: &str = "whsec_checkout_tests";
const API_KEY: &str = "sk_test_checkout";

/// One request the stand-in for Stripe received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    authorization: String,
    form: HashMap<String, String>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Answers like Stripe: a session with an id and a URL, or, for the
/// enterprise price (which this "account" lacks), Stripe's error body.
async fn stripe_stand_in(
    State(log): State<Log>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let received = Received {
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        form,
    };
    let refused = received
        .form
        .get("line_items[0][price]")
        .map(String::as_str)
        == Some("price_e");
    let n = {
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        log.push(received.clone());
        log.len()
    };
    if refused {
        let body = json!({"error": {"type": "invalid_request_error", "message": "No such price: 'price_e'"}});
        return (StatusCode::BAD_REQUEST, axum::Json(body));
    }
    let (prefix, host) = match received.path.as_str() {
        "/v1/billing_portal/sessions" => ("bps", "billing.stripe.com/p/session"),
        _ => ("cs_test", "checkout.stripe.com/c/pay"),
    };
    let id = format!("{prefix}_{n}");
    (
        StatusCode::OK,
        axum::Json(
            json!({"id": id, "object": "checkout.session", "url": format!("https://{host}/{id}")}),
        ),
    )
}

/// Starts the stand-in on a free port; returns its base URL and its log.
async fn start_stripe() -> anyhow::Result<(String, Log)> {
    let log: Log = Arc::default();
    let app = Router::new()
        .fallback(axum::routing::post(stripe_stand_in))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base, log))
}

async fn checkout_app(stripe: &str) -> anyhow::Result<TestApp> {
    spawn_app_with(&[
        ("CATALYTIC_BILLING__STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("CATALYTIC_BILLING__CHECKOUT_API_KEY", API_KEY),
        ("CATALYTIC_BILLING__CHECKOUT_BASE_URL", stripe),
        ("CATALYTIC_BILLING__CHECKOUT_PRICES__STARTER", "price_s"),
        (
            "CATALYTIC_BILLING__CHECKOUT_PRICES__PROFESSIONAL",
            "price_p",
        ),
        ("CATALYTIC_BILLING__CHECKOUT_PRICES__ENTERPRISE", "price_e"),
        (
            "CATALYTIC_BILLING__CHECKOUT_SUCCESS_URL",
            "https://app.example.com/paid",
        ),
        (
            "CATALYTIC_BILLING__CHECKOUT_CANCEL_URL",
            "https://app.example.com/billing",
        ),
    ])
    .await
}

async fn put_plan(
    app: &TestApp,
    path: &str,
    token: &str,
    plan: &str,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .put(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&json!({"plan": plan}))
        .send()
        .await?)
}

async fn plan_of(app: &TestApp, token: &str) -> anyhow::Result<String> {
    let me: Value = app.get_as("/v1/me", token).await?.json().await?;
    Ok(me["plan"].as_str().unwrap_or_default().to_owned())
}

async fn tenant_of(app: &TestApp, token: &str) -> anyhow::Result<String> {
    let me: Value = app.get_as("/v1/me", token).await?.json().await?;
    Ok(me["tenant"]["id"].as_str().unwrap_or_default().to_owned())
}

/// Posts `event` signed as Stripe signs it; returns the receipt's outcome.
async fn deliver(app: &TestApp, event: &Value) -> anyhow::Result<String> {
    let body = serde_json::to_vec(event)?;
    let t = chrono::Utc::now().timestamp();
    let response = app
        .http
        .post(format!("{}/v1/billing/stripe/webhook", app.base))
        .header(
            "Stripe-Signature",
            format!("t={t},v1={}", sign(WEBHOOK_SECRET.as_bytes(), t, &body)),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    let receipt: Value = response.json().await?;
    Ok(receipt["outcome"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn an_owner_moves_down_freely_but_up_only_through_payment_or_an_operator()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let tenant = tenant_of(&app, &owner.access).await?;

    let (status, body) =
        problem(put_plan(&app, "/v1/tenant/plan", &owner.access, "enterprise").await?).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (402, json!("plan_upgrade")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("/v1/billing/checkout"),
        "{body}"
    );
    assert_eq!(plan_of(&app, &owner.access).await?, "free");
    // Checkout is off without a Stripe key.
    let response = app
        .post_as(
            "/v1/billing/checkout",
            Some(&owner.access),
            &json!({"plan": "starter"}),
        )
        .await?;
    assert_eq!(response.status(), 404);

    // An operator moves any tenant anywhere; the owner's token is not enough there.
    let operator = catalytic_api::bootstrap::create_operator_key(&app.settings, "ops").await?;
    let operator = operator.expose().clone();
    let path = format!("/v1/admin/tenants/{tenant}/plan");
    assert_eq!(
        put_plan(&app, &path, &owner.access, "enterprise")
            .await?
            .status(),
        401
    );
    let moved: Value = put_plan(&app, &path, &operator, "professional")
        .await?
        .json()
        .await?;
    assert_eq!(moved, json!({"previous": "free", "plan": "professional"}));
    assert_eq!(plan_of(&app, &owner.access).await?, "professional");
    let (status, body) = problem(put_plan(&app, &path, &operator, "gold").await?).await?;
    assert_eq!((status, fields(&body)), (422, vec!["plan".to_owned()]));
    let nobody = format!("/v1/admin/tenants/{}/plan", uuid::Uuid::new_v4());
    assert_eq!(
        put_plan(&app, &nobody, &operator, "free").await?.status(),
        404
    );

    // Down is the owner's own call, and so is staying; up again is not.
    let same: Value = put_plan(&app, "/v1/tenant/plan", &owner.access, "professional")
        .await?
        .json()
        .await?;
    assert_eq!(
        same,
        json!({"previous": "professional", "plan": "professional"})
    );
    let down: Value = put_plan(&app, "/v1/tenant/plan", &owner.access, "starter")
        .await?
        .json()
        .await?;
    assert_eq!(down, json!({"previous": "professional", "plan": "starter"}));
    let (status, _) =
        problem(put_plan(&app, "/v1/tenant/plan", &owner.access, "professional").await?).await?;
    assert_eq!(status, 402);
    // Every real change is recorded for proration.
    let changes: Vec<(String, String)> = sqlx::query_as(
        "SELECT from_plan, to_plan FROM plan_changes WHERE tenant_id = $1::uuid ORDER BY id",
    )
    .bind(&tenant)
    .fetch_all(&app.db.pool)
    .await?;
    let expected = [("free", "professional"), ("professional", "starter")];
    assert_eq!(changes, expected.map(|(a, b)| (a.to_owned(), b.to_owned())),);
    app.teardown().await
}

#[tokio::test]
async fn checkout_asks_stripe_for_a_session_and_the_signed_events_change_the_plan()
-> anyhow::Result<()> {
    let (stripe, log) = start_stripe().await?;
    let app = checkout_app(&stripe).await?;
    let owner = app.signup("payer@example.com").await?;
    let tenant = tenant_of(&app, &owner.access).await?;
    let checkout = |plan: &'static str| {
        let body = json!({"plan": plan});
        let (app, token) = (&app, owner.access.clone());
        async move {
            app.post_as("/v1/billing/checkout", Some(&token), &body)
                .await
        }
    };

    // Not a plan, or not above the current one: 422 naming `plan`, nothing sent.
    for plan in ["gold", "free"] {
        let (status, body) = problem(checkout(plan).await?).await?;
        assert_eq!(
            (status, fields(&body)),
            (422, vec!["plan".to_owned()]),
            "{plan}: {body}"
        );
    }
    assert!(log.lock().map(|l| l.is_empty()).unwrap_or(false));

    let response = checkout("professional").await?;
    assert_eq!(response.status(), 201);
    let session: Value = response.json().await?;
    assert_eq!(session["plan"], "professional");
    let url = session["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://checkout.stripe.com/"), "{session}");
    let sent = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    assert_eq!(sent.path, "/v1/checkout/sessions");
    assert_eq!(sent.authorization, format!("Bearer {API_KEY}"));
    let field = |name: &str| sent.form.get(name).cloned().unwrap_or_default();
    assert_eq!(field("mode"), "subscription");
    assert_eq!(field("line_items[0][price]"), "price_p");
    assert_eq!(field("client_reference_id"), tenant);
    assert_eq!(field("subscription_data[metadata][tenant_id]"), tenant);
    assert_eq!(field("subscription_data[metadata][plan]"), "professional");
    assert_eq!(field("success_url"), "https://app.example.com/paid");
    assert!(!sent.form.contains_key("customer"), "no customer yet");
    // Asking is not paying.
    assert_eq!(plan_of(&app, &owner.access).await?, "free");

    // Stripe's signed events: the checkout links the customer, the
    // subscription sets the plan.
    let customer = "cus_checkout_1";
    let completed = json!({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {
        "id": session["id"], "object": "checkout.session", "client_reference_id": tenant,
        "customer": customer, "subscription": "sub_1"}}});
    assert_eq!(deliver(&app, &completed).await?, "linked");
    let created = json!({"id": "evt_2", "type": "customer.subscription.created", "data": {"object": {
        "id": "sub_1", "object": "subscription", "customer": customer, "status": "active",
        "metadata": {"tenant_id": tenant, "plan": "professional"},
        "items": {"data": [{"price": {"id": "price_p", "lookup_key": "professional"}}]}}}});
    assert_eq!(deliver(&app, &created).await?, "plan_changed");
    assert_eq!(plan_of(&app, &owner.access).await?, "professional");

    // A subscriber changes plan in the portal, not through a second subscription.
    let (status, body) = problem(checkout("enterprise").await?).await?;
    assert_eq!(status, 409, "{body}");
    let portal = app
        .post_as("/v1/billing/portal", Some(&owner.access), &json!({}))
        .await?;
    assert_eq!(portal.status(), 201);
    let portal: Value = portal.json().await?;
    assert!(
        portal["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://billing.stripe.com/")
    );
    let sent = log.lock().map(|l| l.last().cloned()).ok().flatten();
    let sent = sent.ok_or_else(|| anyhow::anyhow!("the portal call reached Stripe"))?;
    assert_eq!(sent.path, "/v1/billing_portal/sessions");
    assert_eq!(
        sent.form.get("customer").map(String::as_str),
        Some(customer)
    );
    assert_eq!(
        sent.form.get("return_url").map(String::as_str),
        Some("https://app.example.com/billing")
    );

    // Cancelled: back to free; a new checkout reuses the customer, and a
    // refusal by Stripe is a 502 that says what Stripe said.
    let deleted = json!({"id": "evt_3", "type": "customer.subscription.deleted", "data": {"object": {
        "id": "sub_1", "object": "subscription", "customer": customer, "status": "canceled"}}});
    assert_eq!(deliver(&app, &deleted).await?, "plan_changed");
    assert_eq!(plan_of(&app, &owner.access).await?, "free");
    let (status, body) = problem(checkout("enterprise").await?).await?;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("No such price"),
        "{body}"
    );
    let sent = log.lock().map(|l| l.last().cloned()).ok().flatten();
    assert_eq!(
        sent.and_then(|s| s.form.get("customer").cloned())
            .as_deref(),
        Some(customer)
    );

    // Only the owner pays: a member's API key is refused.
    let key = app.api_key_named(&owner.access, "k").await?;
    let response = app
        .post_as(
            "/v1/billing/checkout",
            Some(&key),
            &json!({"plan": "starter"}),
        )
        .await?;
    assert_eq!(response.status(), 403);
    app.teardown().await
}

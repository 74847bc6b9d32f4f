//! Accounts a person can live with (issue 20), against the real PostgreSQL
//! and Redis: email verification and what it gates, password reset and
//! change (sessions ended, lockout lifted), password strength, no account
//! oracle, and the append-only audit log. Mail is read from the outbox the
//! api writes (the scheduler's tests send it over SMTP).

use crate::auth::PASSWORD;
use crate::harness::{TestApp, fields, problem, spawn_app};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "plum orchard kettle 1987 harbour";

impl TestApp {
    async fn templates_to(&self, email: &str) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT template FROM mail_messages WHERE to_address = $1 ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(&self.db.pool)
        .await?)
    }

    async fn audit(&self, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
        let response = self.get_as(&format!("/v1/audit-log{query}"), token).await?;
        anyhow::ensure!(response.status() == 200, "{}", response.text().await?);
        let page: Value = response.json().await?;
        Ok(page["items"].as_array().cloned().unwrap_or_default())
    }

    async fn login_with(&self, email: &str, password: &str) -> anyhow::Result<u16> {
        Ok(self
            .post_as(
                "/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await?
            .status()
            .as_u16())
    }
}

fn actions(items: &[Value]) -> Vec<&str> {
    items.iter().filter_map(|i| i["action"].as_str()).collect()
}

#[tokio::test]
async fn an_unverified_account_signs_in_but_may_not_invite_or_add_endpoints() -> anyhow::Result<()>
{
    let app = spawn_app().await?;
    app.register("una@example.com").await?;
    let session = app.login("una@example.com").await?;
    let endpoint = json!({"url": "https://hooks.example.com/x", "event_types": ["job.succeeded"]});
    let invite = json!({"email": "friend@example.com", "role": "member"});
    for (path, body) in [
        ("/v1/users/invitations", &invite),
        ("/v1/webhooks/endpoints", &endpoint),
    ] {
        let (status, refused) =
            problem(app.post_as(path, Some(&session.access), body).await?).await?;
        assert_eq!(status, 403, "{path}: {refused}");
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("verify your email")),
            "{refused}"
        );
    }
    // An API key of the tenant may not either while no owner is verified.
    let key = app.api_key_named(&session.access, "ci").await?;
    let (status, _) = problem(
        app.post_as("/v1/webhooks/endpoints", Some(&key), &endpoint)
            .await?,
    )
    .await?;
    assert_eq!(status, 403);

    // A verification link: only the latest one works, and only once.
    let first = app.mailed_token("una@example.com", "verify_email").await?;
    let resent = app
        .post_as(
            "/v1/auth/verify-email/resend",
            Some(&session.access),
            &json!({}),
        )
        .await?;
    assert_eq!(resent.status(), 202);
    let (status, body) = problem(
        app.post_as("/v1/auth/verify-email", None, &json!({"token": first}))
            .await?,
    )
    .await?;
    assert_eq!((status, fields(&body)), (422, vec!["token".to_owned()]));
    app.verify("una@example.com").await?;
    let latest = app.mailed_token("una@example.com", "verify_email").await?;
    let (status, _) = problem(
        app.post_as("/v1/auth/verify-email", None, &json!({"token": latest}))
            .await?,
    )
    .await?;
    assert_eq!(status, 422, "used once");
    let (status, _) = problem(
        app.post_as(
            "/v1/auth/verify-email/resend",
            Some(&session.access),
            &json!({}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 409, "verified already");

    let me: Value = app.get_as("/v1/me", &session.access).await?.json().await?;
    assert_eq!(me["user"]["email_verified"], true);
    for (path, body) in [
        ("/v1/users/invitations", &invite),
        ("/v1/webhooks/endpoints", &endpoint),
    ] {
        let response = app.post_as(path, Some(&session.access), body).await?;
        assert_eq!(response.status(), 201, "{path}: {}", response.text().await?);
    }
    assert_eq!(
        app.templates_to("una@example.com").await?,
        ["verify_email", "api_key_created", "verify_email", "welcome"]
    );
    assert_eq!(
        app.templates_to("friend@example.com").await?,
        ["invitation"]
    );
    app.teardown().await
}

#[tokio::test]
async fn a_reset_link_sets_the_password_ends_every_session_and_lifts_the_lockout()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let old = app.signup("rita@example.com").await?;
    // Someone guesses until the account is locked.
    let wrong = json!({"email": "rita@example.com", "password": "not the password at all"});
    for _ in 0..5 {
        app.post_as("/v1/auth/login", None, &wrong).await?;
    }
    assert_eq!(app.login_with("rita@example.com", PASSWORD).await?, 429);

    // The same answer for an address without an account.
    let mut answers = Vec::new();
    for email in ["rita@example.com", "nobody@example.com"] {
        let response = app
            .post_as("/v1/auth/password-reset", None, &json!({"email": email}))
            .await?;
        assert_eq!(response.status(), 202);
        answers.push(response.json::<Value>().await?);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(app.templates_to("nobody@example.com").await?.is_empty());
    let token = app
        .mailed_token("rita@example.com", "password_reset")
        .await?;
    assert!(token.starts_with("cpr_"));

    // A refused password names the field and leaves the link working.
    let (status, body) = problem(
        app.post_as(
            "/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "abcdefgh"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["new_password".to_owned()])
    );
    let confirmed = app
        .post_as(
            "/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await?;
    assert_eq!(confirmed.status(), 204, "{}", confirmed.text().await?);
    let (status, body) = problem(
        app.post_as(
            "/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["token".to_owned()]),
        "single use"
    );

    // Every earlier session ended; the lock is gone; only the new password works.
    assert_eq!(
        app.get_as("/v1/me", &old.access).await?.status(),
        401,
        "the old access token"
    );
    assert_eq!(app.refresh(&old.refresh).await?.status(), 401);
    assert_eq!(app.login_with("rita@example.com", PASSWORD).await?, 401);
    assert_eq!(app.login_with("rita@example.com", NEW_PASSWORD).await?, 200);
    assert_eq!(
        app.templates_to("rita@example.com").await?,
        [
            "verify_email",
            "welcome",
            "password_reset",
            "password_changed"
        ]
    );
    app.teardown().await
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() -> anyhow::Result<()>
{
    let app = spawn_app().await?;
    let here = app.signup("carl@example.com").await?;
    let elsewhere = app.login("carl@example.com").await?;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = problem(
        app.post_as(
            "/v1/auth/password",
            Some(&here.access),
            &change("wrong wrong wrong", NEW_PASSWORD),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["current_password".to_owned()])
    );
    let (status, body) = problem(
        app.post_as(
            "/v1/auth/password",
            Some(&here.access),
            &change(PASSWORD, "carl@example.com"),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["new_password".to_owned()])
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("is too easy to guess. ")),
        "says why: {body}"
    );
    let response = app
        .post_as(
            "/v1/auth/password",
            Some(&here.access),
            &change(PASSWORD, NEW_PASSWORD),
        )
        .await?;
    assert_eq!(response.status(), 204, "{}", response.text().await?);
    assert_eq!(
        app.get_as("/v1/me", &here.access).await?.status(),
        200,
        "this session goes on"
    );
    assert_eq!(
        app.get_as("/v1/me", &elsewhere.access).await?.status(),
        401,
        "the other one ended"
    );
    assert_eq!(app.login_with("carl@example.com", NEW_PASSWORD).await?, 200);
    // An API key has no password.
    let key = app.api_key_named(&here.access, "ci").await?;
    let (status, _) = problem(
        app.post_as(
            "/v1/auth/password",
            Some(&key),
            &change(NEW_PASSWORD, PASSWORD),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403);
    app.teardown().await
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_and_cannot_be_edited() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("olga@example.com").await?;
    assert_eq!(
        app.login_with("olga@example.com", "wrong wrong wrong")
            .await?,
        401
    );
    let (member_id, member) = app.join(&owner.access, "mo@example.com", "member").await?;
    let patched = app
        .http
        .patch(format!("{}/v1/users/{member_id}", app.base))
        .bearer_auth(&owner.access)
        .json(&json!({"role": "admin"}))
        .send()
        .await?;
    assert_eq!(patched.status(), 200);
    app.api_key_named(&owner.access, "ci").await?;

    let all = app.audit(&owner.access, "").await?;
    assert_eq!(
        actions(&all),
        [
            "api_key.created",
            "user.role_changed",
            "auth.sign_in",
            "user.joined",
            "user.invited",
            "auth.sign_in_failed",
            "auth.sign_in",
            "user.email_verified",
            "user.registered",
        ],
        "newest first"
    );
    let role_change = &all[1];
    assert_eq!(role_change["actor_email"], "olga@example.com");
    assert_eq!(role_change["target"], "mo@example.com");
    assert_eq!(role_change["details"]["to"], "admin");
    assert_eq!(role_change["ip"], "127.0.0.1");
    assert!(
        all[5]["actor_user_id"].is_null(),
        "a failed sign-in has no actor"
    );

    let users = app.audit(&owner.access, "?action=user.").await?;
    assert!(actions(&users).iter().all(|a| a.starts_with("user.")));
    assert_eq!(users.len(), 5);
    let page = app.audit(&owner.access, "?limit=2").await?;
    assert_eq!(page.len(), 2);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/audit-log?limit=4&cursor={c}"),
            None => "/v1/audit-log?limit=4".to_owned(),
        };
        let body: Value = app.get_as(&query, &owner.access).await?.json().await?;
        seen.extend(body["items"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, all, "cursor pages cover the log once");

    for (query, field) in [
        ("?action=nope", "action"),
        ("?limit=0", "limit"),
        (
            "?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "until",
        ),
        ("?colour=red", "colour"),
    ] {
        let (status, body) = problem(
            app.get_as(&format!("/v1/audit-log{query}"), &owner.access)
                .await?,
        )
        .await?;
        assert_eq!(
            (status, fields(&body)),
            (422, vec![field.to_owned()]),
            "{query}"
        );
    }
    // Admins read it (the promotion applies to the member's session at
    // once), viewers do not; nobody edits it, not even with SQL.
    assert_eq!(app.audit(&member.access, "?limit=1").await?.len(), 1);
    let (_, viewer) = app.join(&owner.access, "vic@example.com", "viewer").await?;
    let (status, _) = problem(app.get_as("/v1/audit-log", &viewer.access).await?).await?;
    assert_eq!(status, 403);
    for statement in [
        "UPDATE audit_events SET action = 'auth.sign_in'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let refused = sqlx::query(statement).execute(&app.db.pool).await;
        assert!(refused.is_err(), "{statement} was allowed");
    }
    app.teardown().await
}

/// A login attempt from `address` (through a trusted proxy's
/// `X-Forwarded-For`); the status and `Retry-After`.
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<(u16, Option<u64>)> {
    let response = app
        .http
        .post(format!("{}/v1/auth/login", app.base))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok((response.status().as_u16(), retry_after))
}

#[tokio::test]
async fn a_lockout_stops_the_guessing_address_not_the_owner_and_grows() -> anyhow::Result<()> {
    let app = crate::harness::spawn_app_with(&[
        ("CATALYTIC_API__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#),
        ("CATALYTIC_API__AUTH_RATE_PER_IP_PER_MINUTE", "1000"),
        ("CATALYTIC_AUTH__LOCKOUT_SECS", "1"),
        ("CATALYTIC_AUTH__LOCKOUT_FAILURES_PER_EMAIL", "12"),
    ])
    .await?;
    app.register("owen@example.com").await?;
    let (email, guess, attacker, owner) = (
        "owen@example.com",
        "not the password at all",
        "203.0.113.7",
        "198.51.100.2",
    );
    for lock in 1..=2u64 {
        // Five wrong guesses from one address lock it out, each lock twice
        // as long as the last (1 s, then 2 s).
        let mut wrong = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while wrong < 5 {
            match login_from(&app, attacker, email, guess).await? {
                (401, _) => wrong += 1,
                // The previous lock has not run out yet.
                (429, _) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                other => anyhow::bail!("guess from {attacker}: {other:?}"),
            }
        }
        let (status, retry_after) = login_from(&app, attacker, email, PASSWORD).await?;
        assert_eq!(
            status, 429,
            "lock {lock}: the guessing address is locked out"
        );
        let expected = 1 << (lock - 1);
        assert!(
            retry_after.is_some_and(|s| (1..=expected).contains(&s)),
            "lock {lock}: Retry-After {retry_after:?}, expected up to {expected}"
        );
        let (status, _) = login_from(&app, owner, email, PASSWORD).await?;
        assert_eq!(status, 200, "lock {lock}: the owner elsewhere is not");
    }
    let locks: i32 =
        sqlx::query_scalar("SELECT locks FROM login_failures WHERE email = $1 AND ip = $2::inet")
            .bind(email)
            .bind(attacker)
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(locks, 2);

    // Guessing from many addresses: 12 failures in all lock the account for
    // everyone (10 so far), until a reset link lifts it.
    for address in ["203.0.113.20", "203.0.113.21"] {
        assert_eq!(login_from(&app, address, email, guess).await?.0, 401);
    }
    let (status, retry_after) = login_from(&app, owner, email, PASSWORD).await?;
    assert_eq!(status, 429, "locked for everyone");
    assert!(retry_after.is_some_and(|s| s > 3_000), "{retry_after:?}");
    app.post_as("/v1/auth/password-reset", None, &json!({"email": email}))
        .await?;
    let token = app.mailed_token(email, "password_reset").await?;
    let response = app
        .http
        .post(format!("{}/v1/auth/password-reset/confirm", app.base))
        .header("x-forwarded-for", owner)
        .json(&json!({"token": token, "new_password": NEW_PASSWORD}))
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    assert_eq!(login_from(&app, owner, email, NEW_PASSWORD).await?.0, 200);
    app.teardown().await
}

#[tokio::test]
async fn the_export_holds_every_resource_and_every_job_and_says_it_is_complete()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("xena@example.com").await?;
    // Off the free plan's queue and request limits (600 jobs below).
    sqlx::query("UPDATE tenants SET plan = 'enterprise' WHERE id = $1::uuid")
        .bind(app.tenant_of("xena@example.com").await?)
        .execute(&app.db.pool)
        .await?;
    let key = app.api_key_named(&owner.access, "exporter").await?;
    let lattice = json!({"name": "grid", "dimensions": 2, "size": 3});
    assert_eq!(
        app.post_as("/v1/lattices", Some(&key), &lattice)
            .await?
            .status(),
        201
    );
    let limit = app
        .http
        .put(format!("{}/v1/concurrency-keys/exports", app.base))
        .bearer_auth(&key)
        .json(&json!({"max_concurrency": 2}))
        .send()
        .await?;
    assert_eq!(limit.status(), 201);
    let job = json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path",
                     "params": {"start": [0, 0], "end": [3, 3]}});
    // More jobs than one page of the export holds.
    let mut ids = Vec::new();
    for chunk in 0..2 {
        let jobs: Vec<Value> = (0..300).map(|_| job.clone()).collect();
        let response = app
            .post_as("/v1/jobs/batch", Some(&key), &json!({"jobs": jobs}))
            .await?;
        assert_eq!(response.status(), 202, "chunk {chunk}");
        let body: Value = response.json().await?;
        ids.extend(
            body["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["id"].as_str().map(str::to_owned)),
        );
    }
    assert_eq!(ids.len(), 600);
    // Another tenant's job is not in it.
    let other = app
        .new_tenant_key(catalytic_shared::tenant::Plan::Free)
        .await?;
    assert_eq!(app.submit_as(&other, &job).await?.status(), 202);

    let response = app.get_as("/v1/tenant/export", &owner.access).await?;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("attachment")),
    );
    let export: Value = response.json().await?;
    assert_eq!(export["format"], "catalytic-export/1");
    assert_eq!(export["complete"], true);
    assert_eq!(
        export["tenant"]["id"].as_str(),
        Some(app.tenant_of("xena@example.com").await?.as_str())
    );
    assert_eq!(export["users"][0]["email"], "xena@example.com");
    assert_eq!(export["api_keys"][0]["name"], "exporter");
    assert!(export["api_keys"][0].get("key").is_none(), "never a secret");
    assert_eq!(export["lattices"][0]["name"], "grid");
    assert_eq!(
        (
            &export["concurrency_keys"][0]["key"],
            &export["concurrency_keys"][0]["max_concurrency"]
        ),
        (&json!("exports"), &json!(2))
    );
    let mut exported: Vec<String> = export["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["id"].as_str().map(str::to_owned))
        .collect();
    exported.sort();
    ids.sort();
    assert_eq!(exported, ids, "every job of the tenant, once, and no other");
    for section in ["webhook_endpoints", "schedules", "invoices"] {
        assert!(export[section].is_array(), "{section}");
    }
    let audit = app.audit(&owner.access, "?action=tenant.exported").await?;
    assert_eq!(audit.len(), 1);

    // Viewers and members may not export.
    let (_, viewer) = app.join(&owner.access, "vee@example.com", "viewer").await?;
    let (status, _) = problem(app.get_as("/v1/tenant/export", &viewer.access).await?).await?;
    assert_eq!(status, 403);
    app.teardown().await
}

#[tokio::test]
async fn an_owner_schedules_the_tenants_deletion_with_a_password_and_may_cancel_it()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("dora@example.com").await?;
    let (status, _) = problem(app.get_as("/v1/tenant/deletion", &owner.access).await?).await?;
    assert_eq!(status, 404, "nothing scheduled");
    let (status, body) = problem(
        app.post_as(
            "/v1/tenant/deletion",
            Some(&owner.access),
            &json!({"password": "not it at all"}),
        )
        .await?,
    )
    .await?;
    assert_eq!((status, fields(&body)), (422, vec!["password".to_owned()]));
    let key = app.api_key_named(&owner.access, "ci").await?;
    let (status, _) = problem(
        app.post_as(
            "/v1/tenant/deletion",
            Some(&key),
            &json!({"password": PASSWORD}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403, "not with an API key");

    let response = app
        .post_as(
            "/v1/tenant/deletion",
            Some(&owner.access),
            &json!({"password": PASSWORD}),
        )
        .await?;
    assert_eq!(response.status(), 202);
    let scheduled: Value = response.json().await?;
    let at = |k: &str| {
        scheduled[k]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let (Some(requested), Some(erase)) = (at("requested_at"), at("erase_at")) else {
        anyhow::bail!("{scheduled}");
    };
    assert_eq!(erase - requested, chrono::Duration::days(7));
    let shown: Value = app
        .get_as("/v1/tenant/deletion", &owner.access)
        .await?
        .json()
        .await?;
    assert_eq!(shown, scheduled);
    let (status, _) = problem(
        app.post_as(
            "/v1/tenant/deletion",
            Some(&owner.access),
            &json!({"password": PASSWORD}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 409, "scheduled already");
    assert!(
        app.templates_to("dora@example.com")
            .await?
            .contains(&"deletion_scheduled".to_owned())
    );

    let cancelled = app
        .http
        .delete(format!("{}/v1/tenant/deletion", app.base))
        .bearer_auth(&owner.access)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 204);
    let (status, _) = problem(app.get_as("/v1/tenant/deletion", &owner.access).await?).await?;
    assert_eq!(status, 404, "cancelled");
    let actions: Vec<String> = app
        .audit(&owner.access, "?action=tenant.")
        .await?
        .iter()
        .filter_map(|r| r["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        actions,
        ["tenant.deletion_cancelled", "tenant.deletion_scheduled"]
    );
    app.teardown().await
}

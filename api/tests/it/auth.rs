//! Accounts and sessions against the real PostgreSQL and Redis: the whole
//! flow, refresh rotation and reuse, logout (with Redis up, down, or having
//! lost its copy), forged tokens, lockout and password rules.

use crate::harness::{TestApp, fields, problem, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";

/// A session's two tokens.
pub struct Session {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn post_as(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Ok(request.send().await?)
    }

    /// A new API key of `token`'s tenant, named `name` (keys act as members).
    pub async fn api_key_named(&self, token: &str, name: &str) -> anyhow::Result<String> {
        let key: Value = self
            .post_as("/v1/api-keys", Some(token), &json!({"name": name}))
            .await?
            .json()
            .await?;
        Ok(key["key"].as_str().unwrap_or_default().to_owned())
    }

    pub async fn get_as(&self, path: &str, token: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await?)
    }

    /// Registers a new tenant's owner (email unverified); the 202 body.
    pub async fn register(&self, email: &str) -> anyhow::Result<Value> {
        let response = self
            .post_as(
                "/v1/auth/register",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await?;
        anyhow::ensure!(
            response.status() == 202,
            "register {email}: {}",
            response.text().await?
        );
        Ok(response.json().await?)
    }

    /// The token of the latest `template` mail queued to `email` (what the
    /// link in it carries), read from the mail outbox.
    pub async fn mailed_token(&self, email: &str, template: &str) -> anyhow::Result<String> {
        let token: Option<String> = sqlx::query_scalar(
            "SELECT params ->> 'token' FROM mail_messages
             WHERE to_address = $1 AND template = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(email)
        .bind(template)
        .fetch_optional(&self.db.pool)
        .await?
        .flatten();
        token.ok_or_else(|| anyhow::anyhow!("no {template} mail to {email}"))
    }

    /// Follows the verification link mailed to `email`.
    pub async fn verify(&self, email: &str) -> anyhow::Result<()> {
        let token = self.mailed_token(email, "verify_email").await?;
        let response = self
            .post_as("/v1/auth/verify-email", None, &json!({"token": token}))
            .await?;
        anyhow::ensure!(
            response.status() == 204,
            "verify {email}: {}",
            response.text().await?
        );
        Ok(())
    }

    /// The tenant id of `email`'s account.
    pub async fn tenant_of(&self, email: &str) -> anyhow::Result<String> {
        let tenant: uuid::Uuid = sqlx::query_scalar("SELECT tenant_id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.db.pool)
            .await?;
        Ok(tenant.to_string())
    }

    pub async fn login(&self, email: &str) -> anyhow::Result<Session> {
        let response = self
            .post_as(
                "/v1/auth/login",
                None,
                &json!({"email": email, "password": PASSWORD}),
            )
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "login {email}: {}",
            response.text().await?
        );
        session(response.json().await?)
    }

    /// Registers, verifies the email and logs in.
    pub async fn signup(&self, email: &str) -> anyhow::Result<Session> {
        self.register(email).await?;
        self.verify(email).await?;
        self.login(email).await
    }

    pub async fn refresh(&self, refresh: &str) -> anyhow::Result<reqwest::Response> {
        self.post_as("/v1/auth/refresh", None, &json!({"refresh_token": refresh}))
            .await
    }
}

pub fn session(body: Value) -> anyhow::Result<Session> {
    let text = |k: &str| {
        body[k]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no {k} in {body}"))
    };
    anyhow::ensure!(
        body["token_type"] == "Bearer" && body["expires_in"] == 900,
        "{body}"
    );
    Ok(Session {
        access: text("access_token")?,
        refresh: text("refresh_token")?,
    })
}

async fn status_of(response: reqwest::Response) -> anyhow::Result<u16> {
    let status = response.status().as_u16();
    if status >= 400 {
        problem(response).await?;
    }
    Ok(status)
}

#[tokio::test]
async fn register_login_me_refresh_and_reuse_revokes_the_session() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let registered = app.register("Ada@Example.com").await?;
    assert_eq!(registered["email"], "ada@example.com");

    let first = app.login("ada@example.com").await?;
    assert!(first.refresh.starts_with("clr_"));
    let me: Value = app.get_as("/v1/me", &first.access).await?.json().await?;
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["user"]["email_verified"], false);
    assert_eq!(
        (me["role"].clone(), me["plan"].clone()),
        (json!("owner"), json!("free"))
    );
    assert_eq!(
        me["tenant"]["id"].as_str(),
        Some(app.tenant_of("ada@example.com").await?.as_str())
    );

    let response = app.refresh(&first.refresh).await?;
    assert_eq!(response.status(), 200);
    let second = session(response.json().await?)?;
    assert_ne!(second.refresh, first.refresh, "refresh tokens rotate");
    assert_eq!(app.get_as("/v1/me", &second.access).await?.status(), 200);

    // The rotated token comes back: someone holds a copy. The whole session ends.
    let (status, body) = problem(app.refresh(&first.refresh).await?).await?;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        status_of(app.refresh(&second.refresh).await?).await?,
        401,
        "the family is revoked"
    );
    for access in [&first.access, &second.access] {
        assert_eq!(
            status_of(app.get_as("/v1/me", access).await?).await?,
            401,
            "its access tokens too"
        );
    }

    // Another session of the same user is untouched.
    let other = app.login("ada@example.com").await?;
    assert_eq!(app.get_as("/v1/me", &other.access).await?.status(), 200);
    assert_eq!(status_of(app.refresh("clr_nonsense").await?).await?, 401);
    app.teardown().await
}

async fn logout_revokes(app: &TestApp) -> anyhow::Result<()> {
    let session = app.signup("grace@example.com").await?;
    assert_eq!(app.get_as("/v1/me", &session.access).await?.status(), 200);
    let response = app
        .post_as("/v1/auth/logout", Some(&session.access), &json!({}))
        .await?;
    assert_eq!(response.status(), 204);
    let (status, _) = problem(app.get_as("/v1/me", &session.access).await?).await?;
    assert_eq!(status, 401, "the access token is revoked at once");
    assert_eq!(
        status_of(app.refresh(&session.refresh).await?).await?,
        401,
        "and the refresh token"
    );
    assert_eq!(
        status_of(
            app.post_as("/v1/auth/logout", Some(&session.access), &json!({}))
                .await?
        )
        .await?,
        401
    );
    Ok(())
}

#[tokio::test]
async fn logout_really_revokes_the_access_token() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    logout_revokes(&app).await?;

    // Redis is a cache: drop its copy of a revocation, PostgreSQL still refuses.
    let session = app.login("grace@example.com").await?;
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&session.access)?;
    app.post_as("/v1/auth/logout", Some(&session.access), &json!({}))
        .await?;
    let client = redis::Client::open(app.settings.redis.url.expose().as_str())?;
    let mut redis = client.get_multiplexed_async_connection().await?;
    let deleted: u64 = redis::cmd("DEL")
        .arg(format!(
            "{}:revoked:jti:{}",
            app.settings.redis.prefix,
            claims["jti"].as_str().unwrap_or_default()
        ))
        .arg(format!(
            "{}:revoked:sid:{}",
            app.settings.redis.prefix,
            claims["sid"].as_str().unwrap_or_default()
        ))
        .query_async(&mut redis)
        .await?;
    assert_eq!(deleted, 2, "logout cached both keys");
    assert_eq!(
        status_of(app.get_as("/v1/me", &session.access).await?).await?,
        401
    );
    app.teardown().await
}

#[tokio::test]
async fn logout_revokes_and_lockout_holds_with_redis_unreachable() -> anyhow::Result<()> {
    let app = spawn_app_with(&[("CATALYTIC_REDIS__URL", "redis://127.0.0.1:1")]).await?;
    logout_revokes(&app).await?;
    lock_out(&app, "grace@example.com").await?;
    app.teardown().await
}

/// Five wrong passwords, then the right one is refused with 429.
async fn lock_out(app: &TestApp, email: &str) -> anyhow::Result<()> {
    let wrong = json!({"email": email, "password": "not the password at all"});
    for attempt in 1..=5 {
        let (status, _) = problem(app.post_as("/v1/auth/login", None, &wrong).await?).await?;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let right = json!({"email": email, "password": PASSWORD});
    let response = app.post_as("/v1/auth/login", None, &right).await?;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let (status, body) = problem(response).await?;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["limit"], "login_lockout");
    let first_lock = app.settings.auth.lockout_secs;
    assert!(
        (first_lock.saturating_sub(10)..=first_lock).contains(&retry_after),
        "Retry-After {retry_after}, the first lock being {first_lock} s"
    );
    Ok(())
}

#[tokio::test]
async fn five_failed_logins_lock_the_email_and_then_expire() -> anyhow::Result<()> {
    // The per-IP budget of the auth routes is not what this test is about.
    let app = spawn_app_with(&[
        ("CATALYTIC_AUTH__LOCKOUT_SECS", "900"),
        ("CATALYTIC_API__AUTH_RATE_PER_IP_PER_MINUTE", "1000"),
    ])
    .await?;
    app.register("eve@example.com").await?;
    lock_out(&app, "eve@example.com").await?;
    // An unknown email locks the same way: a lockout says nothing about accounts.
    let ghost = json!({"email": "ghost@example.com", "password": "whatever it is"});
    for _ in 0..5 {
        app.post_as("/v1/auth/login", None, &ghost).await?;
    }
    assert_eq!(
        status_of(app.post_as("/v1/auth/login", None, &ghost).await?).await?,
        429
    );
    // Four failures and a success start the count again.
    app.register("bob@example.com").await?;
    let wrong = json!({"email": "bob@example.com", "password": "not the password at all"});
    for _ in 0..4 {
        app.post_as("/v1/auth/login", None, &wrong).await?;
    }
    app.login("bob@example.com").await?;
    for _ in 0..4 {
        app.post_as("/v1/auth/login", None, &wrong).await?;
    }
    app.login("bob@example.com").await?;
    app.teardown().await?;

    let short = spawn_app_with(&[("CATALYTIC_AUTH__LOCKOUT_SECS", "1")]).await?;
    short.register("eve@example.com").await?;
    let wrong = json!({"email": "eve@example.com", "password": "not the password at all"});
    for _ in 0..5 {
        short.post_as("/v1/auth/login", None, &wrong).await?;
    }
    assert_eq!(
        status_of(
            short
                .post_as(
                    "/v1/auth/login",
                    None,
                    &json!({"email": "eve@example.com", "password": PASSWORD})
                )
                .await?
        )
        .await?,
        429
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    short.login("eve@example.com").await?;
    short.teardown().await
}

#[tokio::test]
async fn passwords_and_emails_are_checked_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let cases = [
        (
            json!({"email": "a@example.com", "password": "Sh0rt!x"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129)}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "Password123"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "qwertyuiop"}),
            "password",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (json!({"email": "a@example.com"}), "password"),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "tenant_name": ""}),
            "tenant_name",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "invitation_token": "nope"}),
            "invitation_token",
        ),
        // Issue 18: PostgreSQL refuses a NUL, which was a 500.
        (
            json!({"email": "a\u{0}b@example.com", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "tenant_name": "x\u{0}y"}),
            "tenant_name",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) =
            problem(app.post_as("/v1/auth/register", None, &body).await?).await?;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            fields(&problem).contains(&field.to_owned()),
            "{body}: {problem}"
        );
    }
    // The same before any credentials: the login's email.
    let nul_login = json!({"email": "a\u{0}b@example.com", "password": "x"});
    let (status, refused) =
        crate::harness::problem(app.post_as("/v1/auth/login", None, &nul_login).await?).await?;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(fields(&refused), vec!["email".to_owned()], "{refused}");
    // 128 characters (not bytes), strong enough for the estimator.
    let long_ok = format!("{}ñ7Qz#kéL", "Tr0ub4dor&3-horse-éè".repeat(6));
    assert_eq!(long_ok.chars().count(), 128);
    let response = app
        .post_as(
            "/v1/auth/register",
            None,
            &json!({"email": "b@example.com", "password": long_ok}),
        )
        .await?;
    assert_eq!(response.status(), 202, "128 characters are allowed");
    let first = app.register("c@example.com").await?;
    // No account oracle: the same answer for a taken email, whatever its
    // case; only the address's owner learns of it, by mail.
    let again = app
        .post_as(
            "/v1/auth/register",
            None,
            &json!({"email": "C@example.com", "password": PASSWORD}),
        )
        .await?;
    assert_eq!(again.status(), 202);
    assert_eq!(again.json::<Value>().await?, first);
    let templates: Vec<String> = sqlx::query_scalar(
        "SELECT template FROM mail_messages WHERE to_address = 'c@example.com' ORDER BY created_at, id",
    )
    .fetch_all(&app.db.pool)
    .await?;
    assert_eq!(templates, ["verify_email", "account_exists"]);
    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%'")
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(count, 2);
    app.teardown().await
}

fn sign(header: &Header, claims: &Value, key: &str) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        header,
        claims,
        &EncodingKey::from_secret(key.as_bytes())?,
    )?)
}

fn hs256(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    header
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_401() -> anyhow::Result<()> {
    let old_key = "the-previous-signing-key-still-trusted";
    let app = spawn_app_with(&[("CATALYTIC_AUTH__VERIFICATION_KEYS__OLD", old_key)]).await?;
    let session = app.signup("mallory@example.com").await?;
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&session.access)?;
    let key = app.settings.auth.signing_key.expose().clone();
    let kid = app.settings.auth.signing_key_id.clone();
    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let now = chrono::Utc::now().timestamp();

    // Controls: a token made here with the real key (or a rotated-out key
    // still configured for verification) is accepted, so each refusal below
    // is due to its one defect.
    assert_eq!(
        app.get_as("/v1/me", &sign(&hs256(&kid), &claims, &key)?)
            .await?
            .status(),
        200
    );
    assert_eq!(
        app.get_as("/v1/me", &sign(&hs256("old"), &claims, old_key)?)
            .await?
            .status(),
        200
    );

    let mut parts: Vec<String> = session.access.split('.').map(str::to_owned).collect();
    let last = parts[2].pop().unwrap_or('A');
    parts[2].push(if last == 'A' { 'B' } else { 'A' });
    let tampered = parts.join(".");
    let alg_none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoibG9jYWwtMSJ9.{}.",
        session.access.split('.').nth(1).unwrap_or_default()
    );
    let hs384 = {
        let mut h = Header::new(Algorithm::HS384);
        h.kid = Some(kid.clone());
        h
    };
    let cases = [
        (
            "expired",
            sign(&hs256(&kid), &with("exp", json!(now - 120)), &key)?,
        ),
        ("tampered signature", tampered),
        ("tampered claims", {
            let mut p: Vec<&str> = session.access.split('.').collect();
            let forged = sign(&hs256(&kid), &with("role", json!("viewer")), &key)?;
            let forged_payload = forged.split('.').nth(1).unwrap_or_default().to_owned();
            p[1] = &forged_payload;
            p.join(".")
        }),
        ("alg none", alg_none),
        ("another algorithm", sign(&hs384, &claims, &key)?),
        (
            "wrong audience",
            sign(&hs256(&kid), &with("aud", json!("someone-else")), &key)?,
        ),
        (
            "wrong issuer",
            sign(&hs256(&kid), &with("iss", json!("evil")), &key)?,
        ),
        ("unknown kid", sign(&hs256("nobody"), &claims, &key)?),
        (
            "no kid",
            sign(&Header::new(Algorithm::HS256), &claims, &key)?,
        ),
        (
            "other key, real kid",
            sign(
                &hs256(&kid),
                &claims,
                "an-attackers-key-of-thirty-two-chars!",
            )?,
        ),
        (
            "other tenant claimed",
            sign(
                &hs256(&kid),
                &with("tenant_id", json!(uuid::Uuid::now_v7())),
                &key,
            )?,
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (case, token) in cases {
        let (status, body) = problem(app.get_as("/v1/me", &token).await?).await?;
        assert_eq!(status, 401, "{case}: {body}");
    }
    app.teardown().await
}

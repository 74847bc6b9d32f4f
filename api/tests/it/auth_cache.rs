//! Issue 17: credentials resolved from each api process's cache, and the
//! `catalytic_auth` notifications that keep it current. Two `Application`s
//! on one database stand for two replicas; every change must be seen by
//! both within a second of its commit, and a cache hit must read nothing.
//! Waits poll with a deadline; nothing sleeps to synchronise.

use crate::harness::{TestApp, spawn_app_with};
use crate::limit_metrics::sample;
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How soon every replica must refuse (or see) a change after its commit.
const WITHIN: Duration = Duration::from_secs(1);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(10);

/// The tenant's rate limit must not be what a poll runs into, nor the IP's.
const LIMITS: [(&str, &str); 1] = [("CATALYTIC_API__RATE_PER_IP_PER_MINUTE", "10000000")];

fn counter(name: &str, credential: &str) -> anyhow::Result<f64> {
    Ok(sample(&format!("{name}{{credential=\"{credential}\"}}"))?.unwrap_or(0.0))
}

fn hits(credential: &str) -> anyhow::Result<f64> {
    counter("catalytic_auth_cache_hits_total", credential)
}

fn reads(credential: &str) -> anyhow::Result<f64> {
    counter("catalytic_auth_db_reads_total", credential)
}

struct Replicas {
    app: TestApp,
    bases: [String; 2],
    sibling: CancellationToken,
}

async fn two_replicas() -> anyhow::Result<Replicas> {
    let app = spawn_app_with(&LIMITS).await?;
    let (other, sibling) = app.spawn_sibling().await?;
    let bases = [app.base.clone(), other];
    Ok(Replicas {
        app,
        bases,
        sibling,
    })
}

impl Replicas {
    async fn get(&self, base: &str, path: &str, token: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .app
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await?)
    }

    /// Requests `/v1/me` on `base` until one is answered from the cache
    /// (the listener subscribes in the background after start).
    async fn cached(&self, base: &str, token: &str, credential: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let before = hits(credential)?;
            let response = self.get(base, "/v1/me", token).await?;
            anyhow::ensure!(response.status() == 200, "{base}: {}", response.status());
            if hits(credential)? > before {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{base} never cached the {credential}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls `/v1/me` on every replica until `seen` holds for its answer,
    /// failing when one takes longer than `WITHIN` from `since`.
    async fn all_see(
        &self,
        token: &str,
        since: Instant,
        what: &str,
        seen: impl Fn(u16, &reqwest::header::HeaderMap, &Value) -> bool,
    ) -> anyhow::Result<()> {
        for base in &self.bases {
            loop {
                let response = self.get(base, "/v1/me", token).await?;
                let (status, headers) = (response.status().as_u16(), response.headers().clone());
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if seen(status, &headers, &body) {
                    break;
                }
                anyhow::ensure!(
                    since.elapsed() < WITHIN,
                    "{base} still answers {status} {body} {:?} after the change ({what})",
                    since.elapsed()
                );
                tokio::time::sleep(POLL).await;
            }
        }
        Ok(())
    }

    async fn teardown(self) -> anyhow::Result<()> {
        self.sibling.cancel();
        self.app.teardown().await
    }
}

fn rate_limit(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get("ratelimit-limit")?.to_str().ok()?.parse().ok()
}

#[tokio::test]
async fn a_cached_key_reads_nothing_and_its_revocation_reaches_both_replicas() -> anyhow::Result<()>
{
    let replicas = two_replicas().await?;
    let key = replicas.app.new_tenant_key(Plan::Enterprise).await?;
    let prefix = &key[..16];
    for base in &replicas.bases {
        replicas.cached(base, &key, "api_key").await?;
    }

    // Hits read nothing: the read counter stands still, and a revocation
    // written without its notification (triggers off in this session) goes
    // unseen, which only a cache can do.
    let (hits_before, reads_before) = (hits("api_key")?, reads("api_key")?);
    let mut conn = replicas.app.db.pool.acquire().await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE prefix = $1")
        .bind(prefix)
        .execute(&mut *conn)
        .await?;
    sqlx::query("RESET session_replication_role")
        .execute(&mut *conn)
        .await?;
    for base in &replicas.bases {
        for _ in 0..5 {
            let response = replicas.get(base, "/v1/me", &key).await?;
            assert_eq!(response.status(), 200, "{base}: served from the cache");
        }
    }
    assert_eq!(reads("api_key")?, reads_before, "no database read on a hit");
    assert_eq!(hits("api_key")?, hits_before + 10.0);

    // The notification alone (what the trigger sends) ends it everywhere.
    let since = Instant::now();
    sqlx::query("SELECT pg_notify('catalytic_auth', 'key:' || $1)")
        .bind(prefix)
        .execute(&mut *conn)
        .await?;
    replicas
        .all_see(&key, since, "key notified", |status, _, _| status == 401)
        .await?;

    // And a revocation through the trigger, as any writer makes it.
    let key = replicas.app.new_tenant_key(Plan::Enterprise).await?;
    for base in &replicas.bases {
        replicas.cached(base, &key, "api_key").await?;
    }
    let since = Instant::now();
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE prefix = $1")
        .bind(&key[..16])
        .execute(&replicas.app.db.pool)
        .await?;
    replicas
        .all_see(&key, since, "key revoked", |status, _, _| status == 401)
        .await?;
    replicas.teardown().await
}

#[tokio::test]
async fn a_plan_change_reaches_cached_keys_on_both_replicas() -> anyhow::Result<()> {
    let replicas = two_replicas().await?;
    let key = replicas.app.new_tenant_key(Plan::Enterprise).await?;
    for base in &replicas.bases {
        replicas.cached(base, &key, "api_key").await?;
    }
    // The tenant's rate limit is its plan's: 6,000/min → 300/min.
    let since = Instant::now();
    sqlx::query(
        "UPDATE tenants SET plan = 'starter'
         WHERE id = (SELECT tenant_id FROM api_keys WHERE prefix = $1)",
    )
    .bind(&key[..16])
    .execute(&replicas.app.db.pool)
    .await?;
    replicas
        .all_see(&key, since, "plan changed", |status, headers, _| {
            status == 200 && rate_limit(headers) == Some(300)
        })
        .await?;
    replicas.teardown().await
}

#[tokio::test]
async fn role_changes_and_logout_reach_cached_sessions_on_both_replicas() -> anyhow::Result<()> {
    let replicas = two_replicas().await?;
    let app = &replicas.app;
    app.register("cache@example.com").await?;
    let tenant = app.tenant_of("cache@example.com").await?;
    // Off the free plan's 60 requests a minute, before anything is cached.
    sqlx::query("UPDATE tenants SET plan = 'enterprise' WHERE id = $1::uuid")
        .bind(&tenant)
        .execute(&app.db.pool)
        .await?;
    let session = app.login("cache@example.com").await?;
    for base in &replicas.bases {
        replicas.cached(base, &session.access, "session").await?;
    }
    let reads_before = reads("session")?;
    for base in &replicas.bases {
        let me: Value = replicas
            .get(base, "/v1/me", &session.access)
            .await?
            .json()
            .await?;
        assert_eq!(me["role"], "owner");
    }
    assert_eq!(reads("session")?, reads_before, "no database read on a hit");

    let since = Instant::now();
    sqlx::query("UPDATE users SET role = 'viewer' WHERE tenant_id = $1::uuid")
        .bind(&tenant)
        .execute(&app.db.pool)
        .await?;
    replicas
        .all_see(&session.access, since, "demoted", |status, _, me| {
            status == 200 && me["role"] == "viewer"
        })
        .await?;

    for base in &replicas.bases {
        replicas.cached(base, &session.access, "session").await?;
    }
    let since = Instant::now();
    let logout = app
        .post_as("/v1/auth/logout", Some(&session.access), &json!({}))
        .await?;
    assert_eq!(logout.status(), 204);
    replicas
        .all_see(&session.access, since, "logged out", |status, _, _| {
            status == 401
        })
        .await?;
    replicas.teardown().await
}

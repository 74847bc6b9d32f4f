//! Account lockout: `auth.lockout_failures` failed logins for one email
//! within `auth.lockout_window_secs` lock it for `auth.lockout_secs`.
//! Counted per email whether or not it has an account, so a lockout says
//! nothing about which emails exist. A locked email is answered 429 with
//! `Retry-After` (the seconds left), even with the right password; the
//! failure that reaches the threshold is itself still a 401.
//!
//! State of record: `login_lockouts` in PostgreSQL. Redis caches a lock (key
//! = SHA-256 of the email, so no address is copied there) with its TTL: a
//! hit refuses without a database query; a miss asks PostgreSQL, which is
//! cheap next to the Argon2 check every login pays anyway.

use super::revocation::AuthCache;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;
use sha2::{Digest, Sha256};

fn key(cache: &AuthCache, email: &str) -> String {
    cache.key(&format!(
        "lockout:{}",
        hex::encode(Sha256::digest(email.as_bytes()))
    ))
}

fn locked(retry_after: u64) -> ApiError {
    ApiError::TooManyRequests {
        message: format!(
            "too many failed logins for this email; locked for {retry_after} more seconds"
        ),
        limit: "login_lockout",
        retry_after: Some(retry_after),
    }
}

/// 429 while `email` is locked.
pub async fn ensure_unlocked(state: &AppState, email: &str) -> Result<(), ApiError> {
    let ttl = state
        .auth_cache
        .best_effort::<i64>(
            "lockout lookup",
            redis::cmd("TTL").arg(key(&state.auth_cache, email)),
        )
        .await;
    if let Some(secs) = ttl.filter(|s| *s > 0) {
        return Err(locked(secs as u64));
    }
    if let Some(secs) = db::accounts::locked_for(&state.db, email).await? {
        cache_lock(&state.auth_cache, email, secs).await;
        return Err(locked(secs));
    }
    Ok(())
}

/// Counts a failed login; locks the email when it reaches the threshold.
pub async fn record_failure(state: &AppState, email: &str) -> Result<(), ApiError> {
    let auth = &state.settings.auth;
    let lock = db::accounts::record_failure(
        &state.db,
        email,
        auth.lockout_failures,
        auth.lockout_window_secs,
        auth.lockout_secs,
    )
    .await?;
    if let Some(secs) = lock {
        tracing::warn!("login locked after repeated failures");
        cache_lock(&state.auth_cache, email, secs).await;
    }
    Ok(())
}

pub async fn record_success(state: &AppState, email: &str) -> Result<(), ApiError> {
    db::accounts::clear_failures(&state.db, email).await?;
    Ok(())
}

async fn cache_lock(cache: &AuthCache, email: &str, secs: u64) {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key(cache, email)).arg(1).arg("EX").arg(secs.max(1));
    cache.best_effort::<()>("caching a lockout", &cmd).await;
}

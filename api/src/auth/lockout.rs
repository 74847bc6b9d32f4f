//! Login lockout (issue 20), counted per account **and client address**:
//! `auth.lockout_failures` wrong passwords from one address at one email
//! within `auth.lockout_window_secs` lock that address out of that email for
//! `auth.lockout_secs`, and each next lock of the same pair lasts twice as
//! long (up to `auth.lockout_max_secs`). Someone guessing from elsewhere
//! cannot lock the owner out. Guessing from many addresses is bounded by a
//! second count per email (`auth.lockout_failures_per_email`, higher) that
//! locks the email for everyone; the owner still gets in through a password
//! reset link, which lifts every lock of the account. Counted whether or
//! not the email has an account, so a lockout says nothing about which
//! emails exist. A locked login is answered 429 with `Retry-After` (the
//! seconds left), even with the right password; the failure that reaches a
//! threshold is itself still a 401.
//!
//! State of record: `login_failures` and `login_lockouts` in PostgreSQL.
//! Redis caches a lock under the (email, address) pair (the email as its
//! SHA-256, so no address is copied there) with its TTL: a hit refuses
//! without a database query; a miss asks PostgreSQL, which is cheap next to
//! the Argon2 check every login pays anyway.

use super::revocation::AuthCache;
use crate::db::{self, accounts::LockoutRules};
use crate::error::ApiError;
use crate::limits::client_ip::ClientIp;
use crate::state::AppState;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr};

/// The address a login is counted under: the client's, or, where no
/// middleware resolved one, the unspecified address (one shared count).
fn address(ip: ClientIp) -> IpAddr {
    ip.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn key(cache: &AuthCache, email: &str, ip: IpAddr) -> String {
    cache.key(&format!(
        "lockout:{}:{ip}",
        hex::encode(Sha256::digest(email.as_bytes()))
    ))
}

fn rules(state: &AppState) -> LockoutRules {
    let auth = &state.settings.auth;
    LockoutRules {
        failures: auth.lockout_failures,
        window_secs: auth.lockout_window_secs,
        first_lock_secs: auth.lockout_secs,
        max_lock_secs: auth.lockout_max_secs,
        failures_per_email: auth.lockout_failures_per_email,
    }
}

fn locked(retry_after: u64) -> ApiError {
    ApiError::TooManyRequests {
        message: format!(
            "too many failed logins for this email; locked for {retry_after} more seconds (a password reset link lifts the lock)"
        ),
        limit: "login_lockout",
        retry_after: Some(retry_after),
    }
}

/// 429 while logins to `email` from `ip` are locked.
pub async fn ensure_unlocked(state: &AppState, email: &str, ip: ClientIp) -> Result<(), ApiError> {
    let ip = address(ip);
    let ttl = state
        .auth_cache
        .best_effort::<i64>(
            "lockout lookup",
            redis::cmd("TTL").arg(key(&state.auth_cache, email, ip)),
        )
        .await;
    if let Some(secs) = ttl.filter(|s| *s > 0) {
        return Err(locked(secs as u64));
    }
    if let Some(secs) = db::accounts::locked_for(&state.db, email, ip).await? {
        cache_lock(&state.auth_cache, email, ip, secs).await;
        return Err(locked(secs));
    }
    Ok(())
}

/// Counts a failed login; locks the pair (or the email) at a threshold.
pub async fn record_failure(state: &AppState, email: &str, ip: ClientIp) -> Result<(), ApiError> {
    let ip = address(ip);
    if let Some(secs) = db::accounts::record_failure(&state.db, email, ip, rules(state)).await? {
        tracing::warn!(lock_secs = secs, "login locked after repeated failures");
        cache_lock(&state.auth_cache, email, ip, secs).await;
    }
    Ok(())
}

pub async fn record_success(state: &AppState, email: &str, ip: ClientIp) -> Result<(), ApiError> {
    db::accounts::clear_failures(&state.db, email, address(ip)).await?;
    Ok(())
}

/// After a password reset (which proves the mailbox), the cached lock of
/// the address that reset goes too; the caller deletes the rows in its
/// transaction. Other addresses' cached locks run out by their TTL.
pub async fn forget_cached(state: &AppState, email: &str, ip: ClientIp) {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(key(&state.auth_cache, email, address(ip)));
    state
        .auth_cache
        .best_effort::<()>("forgetting a lockout", &cmd)
        .await;
}

async fn cache_lock(cache: &AuthCache, email: &str, ip: IpAddr, secs: u64) {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key(cache, email, ip))
        .arg(1)
        .arg("EX")
        .arg(secs.max(1));
    cache.best_effort::<()>("caching a lockout", &cmd).await;
}

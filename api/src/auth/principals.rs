//! Who a credential is, cached in this process (issue 17): an API key's
//! tenant, plan, scope and expiry by its lookup prefix, and an access
//! token's current role, plan and revocation by its `jti`. A hit answers
//! without a database read; PostgreSQL stays the state of record.
//!
//! Freshness comes from PostgreSQL, not from a short TTL: triggers
//! (migration 0016) notify `catalytic_auth` in the very transaction that
//! revokes a key or a session, changes a role or a plan, or removes a user
//! or key, and every api process drops the entries concerned when the
//! notification arrives (`invalidate`, fed by `crate::notifications`). So a
//! revocation reaches every replica within milliseconds of its commit.
//!
//! Three rules keep a stale principal out:
//! - **Nothing is cached or served without a LISTEN connection.** Until the
//!   listener is subscribed, and after it is lost, lookups miss; a
//!   reconnection clears everything (notifications sent meanwhile are gone).
//! - **A fill that raced an invalidation is dropped.** A request takes a
//!   `Ticket` (the epoch) before its database read and may store the answer
//!   only if no invalidation or reconnection happened since: otherwise the
//!   read may predate a change whose notification has already been applied.
//! - **Entries are bounded**: `ttl` (a second safety net, e.g. for a
//!   connection that dies silently before the kernel notices), a key's own
//!   expiry, and `capacity` entries per map.

use catalytic_shared::ids::{ApiKeyId, SessionId, TenantId, UserId};
use catalytic_shared::tenant::{Plan, Role};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// What an API key stands for, as the extractor needs it.
#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    /// The stored HMAC: a hit still verifies the presented key against it.
    pub key_hmac: Vec<u8>,
    pub plan: Plan,
    pub role: Role,
}

/// What an access token's session stands for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPrincipal {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub session: SessionId,
    pub role: Role,
    pub plan: Plan,
    /// Revoked (logout, refresh reuse): refused from the cache too.
    pub revoked: bool,
}

/// Permission to store what a database read returns: the epoch when the
/// read began. Only handed out while the listener is subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

struct Entry<T> {
    value: T,
    until: Instant,
}

struct Inner {
    /// Grows at every invalidation, connection and disconnection.
    epoch: u64,
    /// The LISTEN connection is subscribed: invalidations reach us.
    listening: bool,
    /// By the key's lookup prefix (unique in `api_keys`).
    keys: HashMap<String, Entry<KeyPrincipal>>,
    /// By the access token's `jti`.
    sessions: HashMap<uuid::Uuid, Entry<SessionPrincipal>>,
}

/// The per-process cache. `capacity` 0 turns it off (every request reads).
pub struct Principals {
    inner: RwLock<Inner>,
    capacity: usize,
    ttl: Duration,
}

/// What changed: what a `catalytic_auth` payload names, or what this
/// process changed itself (`Principals::changed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// By lookup prefix (the notification's name for a key).
    Key(String),
    /// By id (what the api's own revocation knows).
    KeyId(ApiKeyId),
    Tenant(TenantId),
    User(UserId),
    Session(SessionId),
    AccessToken(uuid::Uuid),
}

fn parse(payload: &str) -> Option<Changed> {
    let (kind, id) = payload.split_once(':')?;
    Some(match kind {
        "key" => Changed::Key(id.to_owned()),
        "tenant" => Changed::Tenant(id.parse().ok()?),
        "user" => Changed::User(id.parse().ok()?),
        "sid" => Changed::Session(id.parse().ok()?),
        "jti" => Changed::AccessToken(id.parse().ok()?),
        _ => return None,
    })
}

impl Principals {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            inner: RwLock::new(Inner {
                epoch: 0,
                listening: false,
                keys: HashMap::new(),
                sessions: HashMap::new(),
            }),
            capacity,
            ttl,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock leaves maps that are still valid.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Taken before a database read whose answer may be cached; None when
    /// it may not (cache off, or no listener).
    pub fn ticket(&self) -> Option<Ticket> {
        let inner = self.read();
        (self.capacity > 0 && inner.listening).then_some(Ticket(inner.epoch))
    }

    pub fn key(&self, prefix: &str) -> Option<KeyPrincipal> {
        let inner = self.read();
        let entry = inner.keys.get(prefix).filter(|_| inner.listening)?;
        (entry.until > Instant::now()).then(|| entry.value.clone())
    }

    pub fn session(&self, jti: uuid::Uuid) -> Option<SessionPrincipal> {
        let inner = self.read();
        let entry = inner.sessions.get(&jti).filter(|_| inner.listening)?;
        (entry.until > Instant::now()).then_some(entry.value)
    }

    /// Stores a key read under `ticket`, for `ttl` or until it expires.
    pub fn fill_key(
        &self,
        ticket: Ticket,
        prefix: &str,
        principal: KeyPrincipal,
        expires_in: Option<Duration>,
    ) {
        let now = Instant::now();
        let life = expires_in.map_or(self.ttl, |e| e.min(self.ttl));
        let mut inner = self.write();
        if !inner.listening || inner.epoch != ticket.0 {
            return;
        }
        let entry = Entry {
            value: principal,
            until: now + life,
        };
        insert_bounded(
            &mut inner.keys,
            prefix.to_owned(),
            entry,
            self.capacity,
            now,
        );
    }

    /// Stores a session's state read under `ticket`, for `ttl` (the token's
    /// own `exp` is checked on every request before the cache).
    pub fn fill_session(&self, ticket: Ticket, jti: uuid::Uuid, principal: SessionPrincipal) {
        let now = Instant::now();
        let mut inner = self.write();
        if !inner.listening || inner.epoch != ticket.0 {
            return;
        }
        let entry = Entry {
            value: principal,
            until: now + self.ttl,
        };
        insert_bounded(&mut inner.sessions, jti, entry, self.capacity, now);
    }

    /// Applies one `catalytic_auth` notification: drops every entry it may
    /// concern (everything, for a payload this version does not know).
    /// Returns how many entries went.
    pub fn invalidate(&self, payload: &str) -> usize {
        let change = parse(payload);
        if change.is_none() {
            tracing::warn!(
                payload,
                "unknown catalytic_auth notification; cache cleared"
            );
        }
        self.apply(change)
    }

    /// A change this process committed itself, applied as soon as it is
    /// committed: the next request to this process sees it even before the
    /// notification (which every process, this one included, still gets)
    /// comes back. Read-your-writes, as when every request read.
    pub fn changed(&self, change: Changed) {
        self.apply(Some(change));
    }

    fn apply(&self, change: Option<Changed>) -> usize {
        let mut inner = self.write();
        inner.epoch += 1;
        let before = inner.keys.len() + inner.sessions.len();
        match change {
            Some(Changed::Key(prefix)) => {
                inner.keys.remove(&prefix);
            }
            Some(Changed::KeyId(id)) => inner.keys.retain(|_, e| e.value.id != id),
            Some(Changed::Tenant(tenant)) => {
                inner.keys.retain(|_, e| e.value.tenant_id != tenant);
                inner.sessions.retain(|_, e| e.value.tenant_id != tenant);
            }
            Some(Changed::User(user)) => inner.sessions.retain(|_, e| e.value.user_id != user),
            Some(Changed::Session(session)) => {
                inner.sessions.retain(|_, e| e.value.session != session)
            }
            Some(Changed::AccessToken(jti)) => {
                inner.sessions.remove(&jti);
            }
            None => {
                inner.keys.clear();
                inner.sessions.clear();
            }
        }
        before - (inner.keys.len() + inner.sessions.len())
    }

    /// The listener is subscribed (first time, or again after a loss):
    /// whatever is cached may have missed notifications, so it goes.
    pub fn listening(&self) {
        self.reset(true);
    }

    /// The listener lost its connection: serve and store nothing until it is
    /// subscribed again.
    pub fn lost(&self) {
        self.reset(false);
    }

    fn reset(&self, listening: bool) {
        let mut inner = self.write();
        inner.epoch += 1;
        inner.listening = listening;
        inner.keys.clear();
        inner.sessions.clear();
    }

    /// (API keys, sessions) cached now.
    pub fn sizes(&self) -> (usize, usize) {
        let inner = self.read();
        (inner.keys.len(), inner.sessions.len())
    }
}

/// Inserts, keeping at most `capacity` entries: expired ones go first, then
/// an arbitrary one (a full cache of live entries is a flood of distinct
/// credentials; which one is read again does not matter).
fn insert_bounded<K: Eq + Hash + Clone, T>(
    map: &mut HashMap<K, Entry<T>>,
    key: K,
    entry: Entry<T>,
    capacity: usize,
    now: Instant,
) {
    if map.len() >= capacity && !map.contains_key(&key) {
        map.retain(|_, e| e.until > now);
        if map.len() >= capacity
            && let Some(victim) = map.keys().next().cloned()
        {
            map.remove(&victim);
        }
    }
    map.insert(key, entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: TenantId) -> KeyPrincipal {
        KeyPrincipal {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            key_hmac: vec![1, 2, 3],
            plan: Plan::Free,
            role: Role::Member,
        }
    }

    fn session(tenant: TenantId, user: UserId, sid: SessionId) -> SessionPrincipal {
        SessionPrincipal {
            tenant_id: tenant,
            user_id: user,
            session: sid,
            role: Role::Admin,
            plan: Plan::Starter,
            revoked: false,
        }
    }

    fn listening(capacity: usize) -> Principals {
        let cache = Principals::new(capacity, Duration::from_secs(60));
        cache.listening();
        cache
    }

    #[test]
    fn nothing_is_cached_or_served_without_a_listener() -> anyhow::Result<()> {
        let cache = Principals::new(10, Duration::from_secs(60));
        assert_eq!(cache.ticket(), None, "not subscribed yet");
        cache.listening();
        let ticket = cache
            .ticket()
            .ok_or_else(|| anyhow::anyhow!("subscribed"))?;
        cache.fill_key(ticket, "clc_a", key(TenantId::new()), None);
        assert!(cache.key("clc_a").is_some());
        cache.lost();
        assert!(cache.key("clc_a").is_none(), "a lost listener clears");
        assert_eq!(cache.ticket(), None);
        cache.fill_key(ticket, "clc_a", key(TenantId::new()), None);
        cache.listening();
        assert!(cache.key("clc_a").is_none(), "an old ticket stores nothing");
        Ok(())
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() -> anyhow::Result<()> {
        let cache = listening(10);
        let ticket = cache
            .ticket()
            .ok_or_else(|| anyhow::anyhow!("subscribed"))?;
        // The read began, then some change was committed and notified.
        cache.invalidate("key:clc_other");
        cache.fill_key(ticket, "clc_a", key(TenantId::new()), None);
        assert!(cache.key("clc_a").is_none());
        let fresh = cache
            .ticket()
            .ok_or_else(|| anyhow::anyhow!("subscribed"))?;
        cache.fill_key(fresh, "clc_a", key(TenantId::new()), None);
        assert!(cache.key("clc_a").is_some());
        Ok(())
    }

    #[test]
    fn each_notification_drops_what_it_names() -> anyhow::Result<()> {
        let cache = listening(10);
        let (t1, t2) = (TenantId::new(), TenantId::new());
        let (u1, u2) = (UserId::new(), UserId::new());
        let (s1, s2) = (SessionId::new(), SessionId::new());
        let (j1, j2, j3) = (
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
        );
        let fill = |cache: &Principals| {
            let t = cache
                .ticket()
                .ok_or_else(|| anyhow::anyhow!("subscribed"))?;
            cache.fill_key(t, "clc_1", key(t1), None);
            cache.fill_key(t, "clc_2", key(t2), None);
            cache.fill_session(t, j1, session(t1, u1, s1));
            cache.fill_session(t, j2, session(t1, u2, s2));
            cache.fill_session(t, j3, session(t2, u2, s2));
            anyhow::Ok(())
        };
        fill(&cache)?;
        assert_eq!(cache.sizes(), (2, 3));
        assert_eq!(cache.invalidate("key:clc_1"), 1);
        assert!(cache.key("clc_1").is_none() && cache.key("clc_2").is_some());
        fill(&cache)?;
        let id = cache
            .key("clc_2")
            .map(|k| k.id)
            .ok_or_else(|| anyhow::anyhow!("cached"))?;
        cache.changed(Changed::KeyId(id));
        assert!(cache.key("clc_1").is_some() && cache.key("clc_2").is_none());
        fill(&cache)?;
        assert_eq!(cache.invalidate(&format!("tenant:{t1}")), 3);
        assert!(cache.key("clc_2").is_some() && cache.session(j3).is_some());
        fill(&cache)?;
        assert_eq!(cache.invalidate(&format!("user:{u2}")), 2);
        assert!(cache.session(j1).is_some());
        fill(&cache)?;
        assert_eq!(cache.invalidate(&format!("sid:{s1}")), 1);
        assert!(cache.session(j1).is_none());
        fill(&cache)?;
        assert_eq!(cache.invalidate(&format!("jti:{j3}")), 1);
        fill(&cache)?;
        assert_eq!(cache.invalidate("something:new"), 5, "unknown: all go");
        Ok(())
    }

    #[test]
    fn entries_expire_and_the_size_is_bounded() -> anyhow::Result<()> {
        let cache = Principals::new(2, Duration::from_secs(60));
        cache.listening();
        let t = cache
            .ticket()
            .ok_or_else(|| anyhow::anyhow!("subscribed"))?;
        cache.fill_key(t, "clc_soon", key(TenantId::new()), Some(Duration::ZERO));
        assert!(
            cache.key("clc_soon").is_none(),
            "the key's own expiry binds"
        );
        for prefix in ["clc_1", "clc_2", "clc_3"] {
            cache.fill_key(t, prefix, key(TenantId::new()), None);
        }
        assert_eq!(cache.sizes().0, 2);
        assert!(cache.key("clc_3").is_some(), "the newest is kept");
        let off = Principals::new(0, Duration::from_secs(60));
        off.listening();
        assert_eq!(off.ticket(), None, "capacity 0 turns the cache off");
        Ok(())
    }
}

//! The SSRF guard (docs/adr/0005-scheduler.md): a tenant names the URL, so a webhook must
//! never reach an address that is not globally reachable (loopback,
//! private, link-local with the cloud metadata at 169.254.169.254,
//! unique-local, unspecified, and every other such range of the IANA
//! special-purpose registries, directly or through NAT64 or 6to4), unless
//! `webhooks.allow_private` lists the address or its range.
//!
//! The check runs where the address is chosen: [`GuardedResolver`] is the
//! HTTP client's DNS resolver, so the addresses it returns are the ones
//! connected to (no window for DNS rebinding), and a literal-IP URL, which
//! skips DNS, is checked by [`check_url`] before anything is sent. Name
//! lookup itself is behind [`Lookup`], so tests inject names that resolve to
//! private addresses and nothing leaves the machine. Redirects are never
//! followed (the client's policy), so a redirect cannot bypass the guard.

use catalytic_shared::address;
use catalytic_shared::metrics as m;
use futures::future::BoxFuture;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Addresses and ranges that may be reached although private
/// (`catalytic_shared::address`, with the refusals counted).
#[derive(Debug, Clone, Default)]
pub struct AllowList(address::AllowList);

#[derive(Debug, thiserror::Error)]
#[error("refused: {host} resolves to {ip}, a private or reserved address (webhooks.allow_private)")]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
}

impl AllowList {
    /// Entries are IPs or CIDRs (`webhooks.allow_private`).
    pub fn new(entries: &[String]) -> Self {
        Self(address::AllowList::new(entries))
    }

    /// Ok when `ip` is public or allow-listed.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        if self.0.allows(ip) {
            return Ok(());
        }
        metrics::counter!(m::WEBHOOK_SSRF_REFUSED).increment(1);
        Err(Refused {
            host: host.to_owned(),
            ip: address::canonical(ip),
        })
    }
}

/// A literal-IP URL never reaches the resolver: check it here.
pub fn check_url(url: &reqwest::Url, allow: &AllowList) -> Result<(), Refused> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => allow.check(&ip.to_string(), IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow.check(&ip.to_string(), IpAddr::V6(ip)),
        _ => Ok(()),
    }
}

type LookupResult = Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>>;

/// Name → addresses; the system resolver in production, a table in tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> BoxFuture<'static, LookupResult>;
}

/// The system resolver (getaddrinfo on tokio's blocking pool).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, LookupResult> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// The client's resolver: looks up, then refuses the whole name if any
/// address is private (a name with one public and one private address could
/// otherwise be steered to the private one).
pub struct GuardedResolver {
    pub lookup: Arc<dyn Lookup>,
    pub allow: AllowList,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.lookup.lookup(host.clone());
        let allow = self.allow.clone();
        Box::pin(async move {
            let ips = lookup.await?;
            for ip in &ips {
                allow.check(&host, *ip)?;
            }
            // The connector sets the URL's port on each address.
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn private_and_reserved_ranges_are_refused() {
        let allow = AllowList::default();
        for addr in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            // Issue 18: IANA special-purpose ranges the first guard missed.
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
            "255.255.255.255",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "2002:0a00:0001::",
            "fec0::1",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(allow.check("h", ip(addr)).is_err(), "{addr} was allowed");
        }
        for addr in [
            "93.184.216.34",
            "172.32.0.1",
            "2606:4700::1111",
            "1.1.1.1",
            "198.20.0.1",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(allow.check("h", ip(addr)).is_ok(), "{addr} was refused");
        }
    }

    #[test]
    fn the_allow_list_admits_listed_addresses_and_ranges_only() {
        let allow = AllowList::new(&["127.0.0.1".into(), "10.1.0.0/16".into()]);
        assert!(allow.check("h", ip("127.0.0.1")).is_ok());
        assert!(allow.check("h", ip("127.0.0.2")).is_err());
        assert!(allow.check("h", ip("10.1.2.3")).is_ok());
        assert!(allow.check("h", ip("10.2.0.1")).is_err());
    }
}

//! The SSRF guard (docs/adr/0005-scheduler.md): a tenant names the URL, so a webhook must
//! never reach the loopback, private, link-local (cloud metadata at
//! 169.254.169.254), unique-local or unspecified addresses of our network,
//! unless `webhooks.allow_private` lists the address or its range.
//!
//! The check runs where the address is chosen: [`GuardedResolver`] is the
//! HTTP client's DNS resolver, so the addresses it returns are the ones
//! connected to (no window for DNS rebinding), and a literal-IP URL, which
//! skips DNS, is checked by [`check_url`] before anything is sent. Name
//! lookup itself is behind [`Lookup`], so tests inject names that resolve to
//! private addresses and nothing leaves the machine. Redirects are never
//! followed (the client's policy), so a redirect cannot bypass the guard.

use catalytic_shared::metrics as m;
use futures::future::BoxFuture;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Addresses and ranges that may be reached although private.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("refused: {host} resolves to {ip}, a private or reserved address (webhooks.allow_private)")]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
}

impl AllowList {
    /// Entries are IPs or CIDRs; the settings were validated at load, and an
    /// entry that still does not parse allows nothing.
    pub fn new(entries: &[String]) -> Self {
        Self(
            entries
                .iter()
                .filter_map(|e| {
                    e.parse::<IpNet>()
                        .ok()
                        .or_else(|| e.parse::<IpAddr>().ok().map(IpNet::from))
                })
                .collect(),
        )
    }

    /// Ok when `ip` is public or allow-listed.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        if !is_private(ip) || self.0.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        metrics::counter!(m::WEBHOOK_SSRF_REFUSED).increment(1);
        Err(Refused {
            host: host.to_owned(),
            ip,
        })
    }
}

/// An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, often internal.
        || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
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
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
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
        ] {
            assert!(allow.check("h", ip(addr)).is_err(), "{addr} was allowed");
        }
        for addr in ["93.184.216.34", "172.32.0.1", "2606:4700::1111", "1.1.1.1"] {
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

//! The client's address for the per-IP limits. Behind an Ingress every
//! request's TCP peer is the proxy, so keyed by the peer all clients shared
//! one budget (20 logins a minute for everyone, issue 18). The forwarding
//! headers are believed only from peers in `api.trusted_proxies`: anyone
//! else could write any address there and pick a fresh budget per request.
//!
//! The address is read from the right: each trusted hop appended the address
//! it received the request from, so the first untrusted address from the
//! right is the client (the entries left of it are the client's to invent).
//! `Forwarded` (RFC 7239) is read when present, else `X-Forwarded-For`. An
//! entry that is not an address (`unknown`, an obfuscated name) ends the
//! walk at the last trusted hop: those clients share that hop's budget,
//! which is the safe side.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::IpAddr;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_chain(headers).iter().rev() {
            let Some(hop) = hop else {
                break;
            };
            client = *hop;
            if !self.trusts(*hop) {
                break;
            }
        }
        client
    }
}

/// The addresses the forwarding headers list, leftmost first; `None` for an
/// entry that is not an address. Several header lines count in order.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| address(value))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(address)
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn address(raw: &str) -> Option<IpAddr> {
    let value = raw.trim().trim_matches('"');
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, _port) = value.rsplit_once(':')?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client's address as the rate limiter resolved it (behind trusted
/// proxies, their forwarded address); None where no middleware saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap_or_else(|_| IpNet::default()),
            "fd00::/8".parse().unwrap_or_else(|_| IpNet::default()),
        ])
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(proxies().client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h),
            ip("10.0.0.1"),
            "no proxies configured: headers ignored"
        );
    }

    #[test]
    fn the_first_untrusted_address_from_the_right_is_the_client() {
        // The client forged the leftmost entry; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        // Two header lines read as one list.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.8"),
        ]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &h), ip("198.51.100.8"));
    }

    #[test]
    fn forwarded_is_read_first_with_ports_brackets_and_quotes() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            (
                "forwarded",
                r#"for=192.0.2.60;proto=https, for="[2001:db8::1]:4711";by=10.0.0.2"#,
            ),
        ]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &h), ip("2001:db8::1"));
        let h = headers(&[("forwarded", "for=192.0.2.61:8443")]);
        assert_eq!(proxies().client(ip("fd00::5"), &h), ip("192.0.2.61"));
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_at_the_last_trusted_hop() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7, unknown, 10.2.2.2")]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &h), ip("10.2.2.2"));
        let h = headers(&[("forwarded", "for=_hidden, for=10.3.3.3")]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &h), ip("10.3.3.3"));
    }
}

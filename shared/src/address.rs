//! Which IP addresses a tenant's webhook may not reach: every range that is
//! not globally reachable (loopback, private, link-local with the cloud
//! metadata at 169.254.169.254, unique-local, unspecified, and the rest of
//! the IANA special-purpose registries, directly or through NAT64 or 6to4),
//! unless the operator's `webhooks.allow_private` lists it. Shared by the
//! api, which refuses a literal such address when an endpoint is saved, and
//! the scheduler's SSRF guard, which checks every address it connects to
//! (scheduler/src/webhooks/ssrf.rs).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses and ranges that may be reached although special
/// (`webhooks.allow_private`).
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<IpNet>);

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

    /// Whether a webhook may reach `ip`: it is globally reachable, or listed.
    /// An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        !is_private(ip) || self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `ip` as judged: an IPv4-mapped IPv6 address is its IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
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

/// IPv4 ranges that are not globally reachable, from the IANA IPv4
/// Special-Purpose Address Registry (plus multicast and the reserved
/// 240.0.0.0/4, which holds the broadcast address): (network, prefix length).
const SPECIAL_V4: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (carrier-grade NAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link local (cloud metadata)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255
];

/// IPv6 ranges that are not globally reachable, from the IANA IPv6
/// Special-Purpose Address Registry and the deprecated site-local block.
/// The NAT64 well-known prefix and 6to4 are judged by the IPv4 address they
/// carry (`embedded_v4`), since they reach it.
const SPECIAL_V6: &[(u128, u32)] = &[
    (0, 96),                      // ::, ::1 and IPv4-compatible ::a.b.c.d
    (0x0064_ff9b_0001 << 80, 48), // local-use NAT64
    (0x0100 << 112, 64),          // discard-only
    (0x2001 << 112, 23),          // IETF protocol assignments (Teredo, …)
    (0x2001_0db8 << 96, 32),      // documentation
    (0x3fff << 112, 20),          // documentation
    (0x5f00 << 112, 16),          // segment routing SIDs
    (0xfc00 << 112, 7),           // unique local
    (0xfe80 << 112, 10),          // link local
    (0xfec0 << 112, 10),          // site local (deprecated)
    (0xff00 << 112, 8),           // multicast
];

fn in_v4(ip: Ipv4Addr, (net, len): ([u8; 4], u32)) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (u128, u32)) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == net & mask
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    SPECIAL_V4.iter().any(|&range| in_v4(ip, range))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    SPECIAL_V6.iter().any(|&range| in_v6(ip, range)) || embedded_v4(ip).is_some_and(is_private_v4)
}

/// The IPv4 address an IPv6 one reaches through a translator: NAT64's
/// well-known prefix 64:ff9b::/96 (its last 32 bits) and 6to4's 2002::/16
/// (bits 16–47).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    if in_v6(ip, (0x0064_ff9b << 96, 96)) {
        return Some(Ipv4Addr::from(bits as u32));
    }
    if in_v6(ip, (0x2002 << 112, 16)) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

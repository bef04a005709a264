//! Which addresses are on the public internet. Upline calls URLs partners give it (their
//! postback URLs); calling a private, loopback, link-local or otherwise special address
//! would let a partner probe the operator's own network or cloud metadata service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || a == 0
        // Carrier-grade NAT, 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (s[0] & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (s[0] & 0xffc0) == 0xfe80
        // Documentation, 2001:db8::/32.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // Documentation, 3fff::/20.
        || (s[0] == 0x3fff && s[1] < 0x1000)
        // Forms that carry an IPv4 address inside, and so could reach private IPv4
        // space through a relay or translator: NAT64 (64:ff9b::/96 and the local-use
        // 64:ff9b:1::/48), IPv4-compatible (::/96), IPv4-translated (::ffff:0:0/96),
        // 6to4 (2002::/16), and the IETF protocol block 2001::/23 with Teredo
        // (2001::/32) and benchmarking (2001:2::/48) in it.
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || s[..6].iter().all(|x| *x == 0)
        || (s[..4].iter().all(|x| *x == 0) && s[4] == 0xffff && s[5] == 0)
        || s[0] == 0x2002
        || (s[0] == 0x2001 && s[1] < 0x0200)
        // Discard-only, 100::/64.
        || (s[0] == 0x0100 && s[1..4].iter().all(|x| *x == 0)))
}

/// Whether `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

/// Whether a host name can only mean this machine or a private network: `localhost`,
/// single-label names and the special-use suffixes.
pub fn is_private_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    !h.contains('.')
        || [
            ".localhost",
            ".local",
            ".internal",
            ".lan",
            ".home.arpa",
            ".intranet",
        ]
        .iter()
        .any(|s| h.ends_with(s))
}

/// Why a URL's host may not be called, or `None` when it is a public name or address.
/// Names are only judged by their form here; callers resolve them and check the addresses
/// with [`is_public`] where the connection is made.
pub fn refusal(host: &url::Host<&str>) -> Option<String> {
    match host {
        url::Host::Domain(d) => is_private_name(d).then(|| format!("{d} is a local name")),
        url::Host::Ipv4(ip) => {
            (!is_public((*ip).into())).then(|| format!("{ip} is not a public address"))
        }
        url::Host::Ipv6(ip) => {
            (!is_public((*ip).into())).then(|| format!("{ip} is not a public address"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "ff02::1",
            // 6to4 of 127.0.0.1 and of 10.0.0.1.
            "2002:7f00:1::1",
            "2002:a00:1::",
            // Teredo, whose client address is 192.168.0.1 obfuscated.
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            // IPv4-translated 127.0.0.1 and 169.254.169.254.
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            // IPv4-compatible 10.0.0.1.
            "::a00:1",
            "100::1",
            "3fff::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }

    #[test]
    fn local_names_are_private() {
        for h in [
            "localhost",
            "LOCALHOST.",
            "db",
            "printer.local",
            "x.internal",
            "a.localhost",
        ] {
            assert!(is_private_name(h), "{h}");
        }
        assert!(!is_private_name("tracker.example.com"));
    }
}

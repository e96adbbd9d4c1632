//! The forwarded-headers parser (src/forwarded.rs): X-Forwarded-For / X-Forwarded-Proto
//! applied under fuzzer-chosen options from a fuzzer-chosen peer.
//!
//! Invariants: no panic; when nothing applies the headers are untouched; what applies is an
//! IP client address and a lowercase scheme; no more entries are consumed than
//! ForwardLimit allows (the entries left in X-Forwarded-For are at least the original
//! count minus the limit); the connection's own values are kept in X-Original-*; a
//! network parses to a prefix no longer than its family allows.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use falconet::fuzzing::{apply_forwarded, parse_network};
use falconet::{Address, ForwardedHeadersOptions};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// Entries as the server counts them: trimmed, quotes removed, empty ones dropped.
fn count(headers: &HeaderMap, name: &str) -> usize {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| e.trim_matches([' ', '\t']))
        .map(|e| {
            e.strip_prefix('"')
                .and_then(|e| e.strip_suffix('"'))
                .unwrap_or(e)
        })
        .filter(|e| !e.is_empty())
        .count()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (sel, rest) = (data[0], &data[2..]);
    let mut options = ForwardedHeadersOptions {
        forward_for: sel & 1 != 0,
        forward_proto: sel & 2 != 0,
        forward_limit: [Some(1), Some(2), None, Some(5)][usize::from(sel >> 2 & 3)],
        trust_unix_socket: sel & 16 != 0,
        ..ForwardedHeadersOptions::default()
    };
    if sel & 32 != 0 {
        options.known_proxies.clear();
        options.known_networks.clear();
    }
    let remote = match data[1] & 3 {
        0 => Address::Ip(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000)),
        1 => Address::Ip(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 40000)),
        2 => Address::Unix(None),
        _ => Address::Ip(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1)),
    };
    let https = data[1] & 4 != 0;
    let mut headers = HeaderMap::new();
    // Lines: "f VALUE" X-Forwarded-For, "p VALUE" X-Forwarded-Proto, "n NETWORK" a known
    // network (parsed with the configuration's parser), anything else another header.
    for line in rest.split(|&b| b == b'\n') {
        let (kind, value) = match line.split_first() {
            Some((&k, v)) => (k, v.strip_prefix(b" ").unwrap_or(v)),
            None => continue,
        };
        if kind == b'n' {
            if let Some((ip, prefix)) = std::str::from_utf8(value).ok().and_then(parse_network) {
                assert!(prefix <= if ip.is_ipv4() { 32 } else { 128 });
                options.known_networks.push((ip, prefix));
            }
            continue;
        }
        let Ok(v) = HeaderValue::from_bytes(value) else {
            continue;
        };
        let name = match kind {
            b'f' => "x-forwarded-for",
            b'p' => "x-forwarded-proto",
            _ => "x-other",
        };
        headers.append(name, v);
    }
    let before = headers.clone();
    let for_before = count(&headers, "x-forwarded-for");
    match apply_forwarded(&options, &remote, https, &mut headers) {
        None => assert_eq!(headers, before, "headers changed though nothing applied"),
        Some((client, scheme)) => {
            assert!(options.is_enabled());
            assert!(client.is_some() || scheme.is_some());
            if let Some(c) = &client {
                assert!(matches!(c, Address::Ip(_)), "client {c:?}");
                assert!(options.forward_for);
                if let Address::Ip(orig) = &remote {
                    let kept = headers.get("x-original-for").expect("X-Original-For");
                    assert_eq!(kept.to_str().unwrap(), orig.to_string());
                }
                if let Some(limit) = options.forward_limit {
                    let left = count(&headers, "x-forwarded-for");
                    assert!(
                        left + limit >= for_before,
                        "{left} left of {for_before}, limit {limit}"
                    );
                }
            }
            if let Some(s) = &scheme {
                assert!(options.forward_proto);
                assert!(!s.is_empty());
                assert!(s.bytes().all(|b| !b.is_ascii_uppercase()), "scheme {s:?}");
                let kept = headers.get("x-original-proto").expect("X-Original-Proto");
                assert_eq!(kept, if https { "https" } else { "http" });
            }
            assert_eq!(
                headers.get_all("x-other").iter().count(),
                before.get_all("x-other").iter().count()
            );
        }
    }
});

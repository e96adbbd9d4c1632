//! Trusted-proxy forwarded headers: ASP.NET Core's `ForwardedHeadersMiddleware` for
//! `X-Forwarded-For` and `X-Forwarded-Proto`, off by default. What is applied, and when, is
//! documented on [`ForwardedHeadersOptions`]; [`apply`] does it for one request.
//!
//! Sans-I/O (headers and addresses in, headers and a result out), unit-tested with literals
//! below.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::request::Address;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_ORIGINAL_FOR: HeaderName = HeaderName::from_static("x-original-for");
const X_ORIGINAL_PROTO: HeaderName = HeaderName::from_static("x-original-proto");

/// Which forwarded headers to apply and which peers to believe them from (ASP.NET Core's
/// `ForwardedHeadersOptions`). Configured in code as [`crate::ServerOptions::forwarded_headers`]
/// or in the `Falconet:ForwardedHeaders` section of the configuration file.
///
/// When falconet runs behind a reverse proxy (nginx, HAProxy, a load balancer), the
/// connection's peer is the proxy, not the client. The proxy says who the client was in
/// `X-Forwarded-For` (appending the address it saw to whatever the client sent) and which
/// scheme it was reached by in `X-Forwarded-Proto`. Those headers are only believable when
/// they come from a proxy we trust: anyone else can write them. So, per request and before
/// the handler (and [`crate::Handler::prepare`]) sees it:
///
/// 1. The immediate peer must be trusted: an IP address in
///    [`known_proxies`](Self::known_proxies) or [`known_networks`](Self::known_networks) (an
///    IPv4-mapped IPv6 address counts as its IPv4 address), or a Unix-socket peer when
///    [`trust_unix_socket`](Self::trust_unix_socket) is set.
/// 2. The headers' comma-separated entries (over all lines of a header) are walked from the
///    right, the entry the trusted proxy appended last, for at most
///    [`forward_limit`](Self::forward_limit) entries. The n-th `X-Forwarded-For` entry and
///    the n-th `X-Forwarded-Proto` entry (both counted from the right) form one set, as in
///    ASP.NET. After a set is applied its address is the "peer" for the next set, which is
///    applied only if that address is trusted too.
/// 3. A malformed entry (not an IP address with an optional port, not a URI scheme) stops
///    the walk at its set, logged at debug level; the sets to its right stay applied, as in
///    ASP.NET. A header value that is not visible ASCII stops everything: no change.
/// 4. What was applied becomes the request's [`client_addr`](crate::RequestExt::client_addr)
///    (with the entry's port, or port 0 when it gave none) and
///    [`scheme`](crate::RequestExt::scheme); the connection's
///    [`remote_addr`](crate::ConnectionInfo::remote_addr) stays the proxy's. As ASP.NET
///    does, the originals are kept in `X-Original-For` (the peer's `ip:port`; not added for
///    a Unix-socket peer, which has no IP address) and `X-Original-Proto`, and the applied
///    entries are removed from `X-Forwarded-For` / `X-Forwarded-Proto` (the header is
///    removed when none are left).
///
/// Differences from ASP.NET, deliberate: the immediate peer is checked even when only
/// `X-Forwarded-Proto` is enabled (ASP.NET checks known proxies only while walking
/// `X-Forwarded-For`, so with proto alone any peer could set the scheme); a malformed
/// `X-Forwarded-Proto` entry stops the walk like a malformed address (ASP.NET skips it);
/// forwarded schemes are lowercased; `X-Original-For` is only added when an address from
/// `X-Forwarded-For` was applied. `X-Forwarded-Host`, `X-Forwarded-Prefix`, custom header
/// names and `RequireHeaderSymmetry` are not supported.
///
/// The default applies nothing. To run behind nginx on the same machine (over a Unix socket
/// or loopback TCP), enabling the headers is enough:
///
/// ```
/// let mut options = falconet::ServerOptions::default();
/// options.forwarded_headers.forward_for = true;
/// options.forwarded_headers.forward_proto = true;
/// ```
///
/// Emptying both `known_proxies` and `known_networks` trusts every peer, as in ASP.NET; do
/// that only when the server cannot be reached except through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedHeadersOptions {
    /// Apply `X-Forwarded-For`: the request's [`client_addr`](crate::RequestExt::client_addr)
    /// becomes the forwarded client address. Default: `false` (ASP.NET's
    /// `ForwardedHeaders.None`).
    pub forward_for: bool,
    /// Apply `X-Forwarded-Proto`: the request's [`scheme`](crate::RequestExt::scheme)
    /// becomes the forwarded scheme. Default: `false` (ASP.NET's `ForwardedHeaders.None`).
    pub forward_proto: bool,
    /// Proxy addresses whose forwarded headers are believed. Default: `::1` (ASP.NET's
    /// `KnownProxies`; 127.0.0.1 is covered by the default
    /// [`known_networks`](Self::known_networks)).
    pub known_proxies: Vec<IpAddr>,
    /// Proxy networks whose forwarded headers are believed, as (network address, prefix
    /// length) pairs, e.g. `("10.0.0.0".parse()?, 8)`; host bits of the address are ignored.
    /// The prefix length must be at most 32 for IPv4 and 128 for IPv6.
    /// Default: `127.0.0.0/8` (ASP.NET's `KnownNetworks`).
    pub known_networks: Vec<(IpAddr, u8)>,
    /// How many entries (sets of `X-Forwarded-For` and `X-Forwarded-Proto` entries) are
    /// applied at most, counted from the right; `None` for no limit. With one trusted proxy
    /// in front, 1 is right: the proxy's own entry is the only one it vouches for, anything
    /// to its left came from the client. Raise it (and list every proxy in
    /// [`known_proxies`](Self::known_proxies) / [`known_networks`](Self::known_networks))
    /// for chains of proxies. Must not be `Some(0)`. Default: `Some(1)` (ASP.NET's
    /// `ForwardLimit`).
    pub forward_limit: Option<usize>,
    /// Trust a peer connected over a Unix domain socket. Such a peer has no IP address to
    /// check, and only processes allowed to open the socket file can connect, so the file's
    /// permissions (`EndpointOptions::unix_socket_mode`) are the trust boundary. nginx in
    /// front over a Unix socket is falconet's main deployment, hence the default. ASP.NET
    /// behaves the same way (a peer without an IP address passes the known-proxy check).
    /// Default: `true`.
    pub trust_unix_socket: bool,
}

impl Default for ForwardedHeadersOptions {
    fn default() -> Self {
        ForwardedHeadersOptions {
            forward_for: false,
            forward_proto: false,
            known_proxies: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
            known_networks: vec![(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)), 8)],
            forward_limit: Some(1),
            trust_unix_socket: true,
        }
    }
}

impl ForwardedHeadersOptions {
    /// Whether any forwarded header is applied.
    pub fn is_enabled(&self) -> bool {
        self.forward_for || self.forward_proto
    }

    /// Whether forwarded headers from `ip` are believed: `ip` (or, for an IPv4-mapped IPv6
    /// address, its IPv4 address) is in [`known_proxies`](Self::known_proxies) or in one of
    /// [`known_networks`](Self::known_networks), or both lists are empty.
    pub fn is_known_proxy(&self, ip: IpAddr) -> bool {
        if self.known_proxies.is_empty() && self.known_networks.is_empty() {
            return true;
        }
        let canonical = ip.to_canonical();
        self.known_proxies
            .iter()
            .any(|p| p.to_canonical() == canonical)
            || self
                .known_networks
                .iter()
                .any(|&net| in_network(ip, net) || in_network(canonical, net))
    }

    /// Checks the options; the message names what is wrong.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for &(addr, prefix) in &self.known_networks {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(format!(
                    "Falconet.ForwardedHeaders.KnownNetworks: prefix length {prefix} of {addr} \
                     is longer than {max}"
                ));
            }
        }
        if self.forward_limit == Some(0) {
            return Err(
                "Falconet.ForwardedHeaders.ForwardLimit must be at least 1 (or null for no limit)"
                    .to_string(),
            );
        }
        Ok(())
    }
}

/// Whether `ip` is inside `net` (an address of the other family never is).
fn in_network(ip: IpAddr, (net, prefix): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Parses `10.0.0.0/8` or `2001:db8::/32` (a bare address means a single host: /32 or
/// /128). `None` if malformed or the prefix is too long for the family.
#[cfg_attr(not(feature = "json-config"), allow(dead_code))]
pub(crate) fn parse_network(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok()?
        }
        Some(_) => return None,
        None => max,
    };
    (prefix <= max).then_some((addr, prefix))
}

/// What forwarding changed for one request; kept in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forwarded {
    /// The client address from `X-Forwarded-For` (always [`Address::Ip`]), when applied.
    pub(crate) client: Option<Address>,
    /// The lowercase scheme from `X-Forwarded-Proto`, when applied.
    pub(crate) scheme: Option<Cow<'static, str>>,
}

/// Applies the forwarded headers of one request that arrived from `remote` on a connection
/// of scheme `connection_scheme` (`"http"`, or `"https"` on TLS): rewrites `headers` as
/// described on [`ForwardedHeadersOptions`] and returns what changed, or `None` when
/// forwarding is disabled, the peer is not trusted, or nothing applied (then `headers` are
/// untouched).
pub(crate) fn apply(
    options: &ForwardedHeadersOptions,
    remote: &Address,
    connection_scheme: &'static str,
    headers: &mut HeaderMap,
) -> Option<Forwarded> {
    if !options.is_enabled() {
        return None;
    }
    let for_entries = if options.forward_for {
        entries(headers, &X_FORWARDED_FOR)?
    } else {
        Vec::new()
    };
    let proto_entries = if options.forward_proto {
        entries(headers, &X_FORWARDED_PROTO)?
    } else {
        Vec::new()
    };
    let mut count = for_entries.len().max(proto_entries.len());
    if let Some(limit) = options.forward_limit {
        count = count.min(limit);
    }
    if count == 0 {
        return None;
    }

    let remote_ip = match remote {
        Address::Ip(a) => Some(*a),
        Address::Unix(_) => None,
    };
    // The peer whose entries are being considered: first the connection's, then each
    // applied address in turn. `None` is a Unix-socket peer.
    let mut current = remote_ip.map(|a| a.ip());
    let mut client: Option<SocketAddr> = None;
    let mut scheme: Option<Cow<'static, str>> = None;
    let mut consumed = 0;
    while consumed < count {
        let trusted = match current {
            Some(ip) => options.is_known_proxy(ip),
            None => options.trust_unix_socket,
        };
        if !trusted {
            match current {
                Some(ip) => log::debug!("Forwarded headers: unknown proxy {ip}; stopping"),
                None => log::debug!(
                    "Forwarded headers: the peer is a Unix socket and trust_unix_socket is off; \
                     stopping"
                ),
            }
            break;
        }
        let addr = match from_right(&for_entries, consumed) {
            Some(text) => match parse_endpoint(text) {
                Some(a) => Some(a),
                None => {
                    log::debug!("Forwarded headers: unparsable X-Forwarded-For entry {text:?}");
                    break;
                }
            },
            None => None,
        };
        let proto = match from_right(&proto_entries, consumed) {
            Some(text) => match parse_scheme(text) {
                Some(s) => Some(s),
                None => {
                    log::debug!("Forwarded headers: invalid X-Forwarded-Proto entry {text:?}");
                    break;
                }
            },
            None => None,
        };
        if let Some(a) = addr {
            client = Some(a);
            current = Some(a.ip());
        }
        if proto.is_some() {
            scheme = proto;
        }
        consumed += 1;
    }
    if client.is_none() && scheme.is_none() {
        return None;
    }

    let rest_for = remaining(&for_entries, consumed);
    let rest_proto = remaining(&proto_entries, consumed);
    if client.is_some() {
        if let Some(orig) = remote_ip {
            set(headers, X_ORIGINAL_FOR, Some(orig.to_string()));
        }
        set(headers, X_FORWARDED_FOR, rest_for);
    }
    if scheme.is_some() {
        set(
            headers,
            X_ORIGINAL_PROTO,
            Some(connection_scheme.to_string()),
        );
        set(headers, X_FORWARDED_PROTO, rest_proto);
    }
    Some(Forwarded {
        client: client.map(Address::Ip),
        scheme,
    })
}

/// The comma-separated entries of every `name` header, in order, trimmed, as they were
/// written (quotes kept, so that the entries written back for the next hop read the same);
/// entries that are empty once unquoted are dropped. `None` (logged) if a value is not
/// visible ASCII.
fn entries<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Vec<&'h str>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let Ok(text) = value.to_str() else {
            log::debug!("Forwarded headers: {name} is not visible ASCII; not applied");
            return None;
        };
        for entry in text.split(',') {
            let entry = entry.trim_matches([' ', '\t']);
            if !unquote(entry).is_empty() {
                out.push(entry);
            }
        }
    }
    Some(out)
}

/// An entry without its surrounding double quotes, if it has both.
fn unquote(entry: &str) -> &str {
    entry
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(entry)
}

/// The `i`-th entry counted from the right (0 is the last one), unquoted.
fn from_right<'a>(entries: &[&'a str], i: usize) -> Option<&'a str> {
    entries
        .len()
        .checked_sub(i + 1)
        .map(|j| unquote(entries[j]))
}

/// The entries left of the `consumed` rightmost ones, joined for a header value.
fn remaining(entries: &[&str], consumed: usize) -> Option<String> {
    let left = entries.len().checked_sub(consumed).filter(|&n| n > 0)?;
    Some(entries[..left].join(", "))
}

/// Replaces header `name` with `value`, or removes it for `None`.
fn set(headers: &mut HeaderMap, name: HeaderName, value: Option<String>) {
    // The values come from visible ASCII header values or formatted addresses, so the
    // conversion cannot fail; were it to, dropping the header is the safe side.
    match value.and_then(|v| HeaderValue::try_from(v).ok()) {
        Some(v) => {
            headers.insert(name, v);
        }
        None => {
            headers.remove(name);
        }
    }
}

/// An IP address with an optional port, as .NET's `IPEndPoint.TryParse` reads it:
/// `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:8080`.
/// Port 0 when none is given.
fn parse_endpoint(text: &str) -> Option<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Some(a);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 0));
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let ip: Ipv6Addr = inner.parse().ok()?;
    Some(SocketAddr::new(IpAddr::V6(ip), 0))
}

/// A URI scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`), lowercased.
fn parse_scheme(text: &str) -> Option<Cow<'static, str>> {
    let mut bytes = text.bytes();
    let first = bytes.next()?;
    if !first.is_ascii_alphabetic()
        || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        return None;
    }
    Some(if text.eq_ignore_ascii_case("https") {
        Cow::Borrowed("https")
    } else if text.eq_ignore_ascii_case("http") {
        Cow::Borrowed("http")
    } else {
        Cow::Owned(text.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn enabled() -> ForwardedHeadersOptions {
        ForwardedHeadersOptions {
            forward_for: true,
            forward_proto: true,
            ..ForwardedHeadersOptions::default()
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> Address {
        Address::Ip(s.parse().unwrap())
    }

    fn unix() -> Address {
        Address::Unix(None)
    }

    fn get<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
        h.get(name).map(|v| v.to_str().unwrap())
    }

    /// Applies `options` and returns (client, scheme, headers after).
    fn run(
        options: &ForwardedHeadersOptions,
        remote: &Address,
        pairs: &[(&str, &str)],
    ) -> (Option<String>, Option<String>, HeaderMap) {
        let mut h = headers(pairs);
        let f = apply(options, remote, "http", &mut h);
        match f {
            Some(f) => (
                f.client.map(|c| c.to_string()),
                f.scheme.map(|s| s.into_owned()),
                h,
            ),
            None => {
                assert_eq!(h, headers(pairs), "headers changed though nothing applied");
                (None, None, h)
            }
        }
    }

    #[test]
    fn defaults_are_aspnet_core_s() {
        let o = ForwardedHeadersOptions::default();
        assert!(!o.forward_for && !o.forward_proto && !o.is_enabled());
        assert_eq!(o.forward_limit, Some(1));
        assert!(o.trust_unix_socket);
        assert!(o.is_known_proxy("127.0.0.1".parse().unwrap()));
        assert!(o.is_known_proxy("127.1.2.3".parse().unwrap()));
        assert!(o.is_known_proxy("::1".parse().unwrap()));
        assert!(o.is_known_proxy("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!o.is_known_proxy("10.0.0.1".parse().unwrap()));
        assert!(!o.is_known_proxy("::2".parse().unwrap()));
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn disabled_changes_nothing() {
        let o = ForwardedHeadersOptions::default();
        let (c, s, _) = run(
            &o,
            &ip("127.0.0.1:5000"),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!((c, s), (None, None));
    }

    #[test]
    fn applies_from_a_loopback_proxy_and_keeps_originals() {
        let (c, s, h) = run(
            &enabled(),
            &ip("127.0.0.1:4711"),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(s.as_deref(), Some("https"));
        assert_eq!(get(&h, "x-original-for"), Some("127.0.0.1:4711"));
        assert_eq!(get(&h, "x-original-proto"), Some("http"));
        assert_eq!(get(&h, "x-forwarded-for"), None);
        assert_eq!(get(&h, "x-forwarded-proto"), None);
    }

    #[test]
    fn ipv6_peer_original_for_is_bracketed() {
        let (c, _, h) = run(
            &enabled(),
            &ip("[::1]:4711"),
            &[("x-forwarded-for", "203.0.113.7")],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(get(&h, "x-original-for"), Some("[::1]:4711"));
        assert_eq!(get(&h, "x-original-proto"), None);
    }

    #[test]
    fn address_forms() {
        for (entry, want) in [
            ("203.0.113.7:1234", "203.0.113.7:1234"),
            ("2001:db8::1", "[2001:db8::1]:0"),
            ("[2001:db8::1]", "[2001:db8::1]:0"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("\"[2001:db8::1]:443\"", "[2001:db8::1]:443"),
            (" 203.0.113.7 ", "203.0.113.7:0"),
            ("::ffff:203.0.113.7", "[::ffff:203.0.113.7]:0"),
        ] {
            let (c, _, _) = run(
                &enabled(),
                &ip("127.0.0.1:1"),
                &[("x-forwarded-for", entry)],
            );
            assert_eq!(c.as_deref(), Some(want), "{entry}");
        }
    }

    /// Found by the `forwarded` fuzz target: the entries left for the next hop were written
    /// back unquoted, so an entry that was `""""` came back as `""`, which reads as empty,
    /// and the next reader saw fewer entries than were left.
    #[test]
    fn entries_left_keep_their_quotes() {
        let (c, _, h) = run(
            &enabled(),
            &ip("127.0.0.1:1"),
            &[("x-forwarded-for", "\"\"\"\", \"203.0.113.9\", \"10.0.0.1\"")],
        );
        assert_eq!(c.as_deref(), Some("10.0.0.1:0"));
        assert_eq!(
            get(&h, "x-forwarded-for"),
            Some("\"\"\"\", \"203.0.113.9\"")
        );
        let left = entries(&h, &X_FORWARDED_FOR).unwrap();
        assert_eq!(left.len(), 2);
    }

    #[test]
    fn untrusted_peer_changes_nothing() {
        for remote in ["10.0.0.5:1", "[::2]:1", "[::ffff:10.0.0.5]:1"] {
            let (c, s, _) = run(
                &enabled(),
                &ip(remote),
                &[
                    ("x-forwarded-for", "203.0.113.7"),
                    ("x-forwarded-proto", "https"),
                ],
            );
            assert_eq!((c, s), (None, None), "{remote}");
        }
    }

    #[test]
    fn ipv4_mapped_peers_are_normalised() {
        let o = ForwardedHeadersOptions {
            known_proxies: vec!["10.0.0.1".parse().unwrap()],
            known_networks: vec![],
            ..enabled()
        };
        let (c, _, h) = run(
            &o,
            &ip("[::ffff:10.0.0.1]:80"),
            &[("x-forwarded-for", "203.0.113.7")],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(get(&h, "x-original-for"), Some("[::ffff:10.0.0.1]:80"));
        // And the other way round: a mapped address in the list matches a plain peer.
        let o = ForwardedHeadersOptions {
            known_proxies: vec!["::ffff:10.0.0.1".parse().unwrap()],
            known_networks: vec![],
            ..enabled()
        };
        assert!(o.is_known_proxy("10.0.0.1".parse().unwrap()));
        let o = ForwardedHeadersOptions {
            known_proxies: vec![],
            known_networks: vec![parse_network("10.0.0.0/8").unwrap()],
            ..enabled()
        };
        assert!(o.is_known_proxy("::ffff:10.9.8.7".parse().unwrap()));
        assert!(!o.is_known_proxy("::ffff:11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn limit_one_takes_only_the_proxy_s_own_entry() {
        // The client sent "6.6.6.6"; nginx appended the address it saw.
        let (c, _, h) = run(
            &enabled(),
            &ip("127.0.0.1:1"),
            &[("x-forwarded-for", "6.6.6.6, 203.0.113.7")],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6"));
    }

    #[test]
    fn a_chain_stops_at_the_first_unknown_proxy() {
        let o = ForwardedHeadersOptions {
            forward_limit: Some(3),
            known_networks: vec![parse_network("10.0.0.0/8").unwrap()],
            ..enabled()
        };
        // 10.0.0.2 is trusted, so its entry (198.51.100.1) is believed; that one is not a
        // known proxy, so 6.6.6.6 (which it claims) is not.
        let (c, _, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.2")],
        );
        assert_eq!(c.as_deref(), Some("198.51.100.1:0"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6"));
        assert_eq!(get(&h, "x-original-for"), Some("10.0.0.1:1"));
        // All trusted: the limit stops it.
        let o = ForwardedHeadersOptions {
            forward_limit: Some(2),
            ..o
        };
        let (c, _, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[("x-forwarded-for", "6.6.6.6, 10.0.0.3, 10.0.0.2")],
        );
        assert_eq!(c.as_deref(), Some("10.0.0.3:0"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6"));
        // No limit.
        let o = ForwardedHeadersOptions {
            forward_limit: None,
            ..o
        };
        let (c, _, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[("x-forwarded-for", "6.6.6.6, 10.0.0.3, 10.0.0.2")],
        );
        assert_eq!(c.as_deref(), Some("6.6.6.6:0"));
        assert_eq!(get(&h, "x-forwarded-for"), None);
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let o = ForwardedHeadersOptions {
            forward_limit: Some(2),
            known_networks: vec![parse_network("10.0.0.0/8").unwrap()],
            ..enabled()
        };
        let (c, _, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[
                ("x-forwarded-for", "6.6.6.6, 7.7.7.7"),
                ("x-forwarded-for", "10.0.0.2"),
            ],
        );
        assert_eq!(c.as_deref(), Some("7.7.7.7:0"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6"));
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
    }

    #[test]
    fn malformed_entries_stop_the_walk() {
        // The rightmost entry is malformed: nothing applies.
        for bad in [
            "nonsense",
            "unknown",
            "_hidden",
            "1.2.3",
            "[::1",
            "1.2.3.4:99999",
        ] {
            let (c, s, _) = run(
                &enabled(),
                &ip("127.0.0.1:1"),
                &[("x-forwarded-for", bad), ("x-forwarded-proto", "https")],
            );
            assert_eq!((c, s), (None, None), "{bad}");
        }
        // A malformed entry further left: the sets to its right stay applied.
        let o = ForwardedHeadersOptions {
            forward_limit: Some(3),
            known_networks: vec![parse_network("10.0.0.0/8").unwrap()],
            ..enabled()
        };
        let (c, _, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[("x-forwarded-for", "6.6.6.6, garbage, 10.0.0.2")],
        );
        assert_eq!(c.as_deref(), Some("10.0.0.2:0"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6, garbage"));
        // A malformed scheme stops the walk too.
        for bad in ["ht tp", "https:", "1http", "h_ttp"] {
            let mut h = HeaderMap::new();
            h.insert(
                "x-forwarded-proto",
                HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
            );
            h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
            let before = h.clone();
            assert_eq!(apply(&enabled(), &ip("127.0.0.1:1"), "http", &mut h), None);
            assert_eq!(h, before);
        }
    }

    #[test]
    fn non_ascii_values_change_nothing() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"203.0.113.7, \xff").unwrap(),
        );
        let before = h.clone();
        assert_eq!(apply(&enabled(), &ip("127.0.0.1:1"), "http", &mut h), None);
        assert_eq!(h, before);
    }

    #[test]
    fn unix_socket_peer() {
        let (c, s, h) = run(
            &enabled(),
            &Address::Unix(Some(PathBuf::from("/run/app.sock"))),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(s.as_deref(), Some("https"));
        // No IP address to keep.
        assert_eq!(get(&h, "x-original-for"), None);
        assert_eq!(get(&h, "x-original-proto"), Some("http"));
        let o = ForwardedHeadersOptions {
            trust_unix_socket: false,
            ..enabled()
        };
        let (c, s, _) = run(
            &o,
            &unix(),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!((c, s), (None, None));
        // Even with every IP peer trusted.
        let o = ForwardedHeadersOptions {
            known_proxies: vec![],
            known_networks: vec![],
            ..o
        };
        assert_eq!(run(&o, &unix(), &[("x-forwarded-for", "1.2.3.4")]).0, None);
    }

    #[test]
    fn empty_lists_trust_every_peer() {
        let o = ForwardedHeadersOptions {
            known_proxies: vec![],
            known_networks: vec![],
            ..enabled()
        };
        let (c, _, _) = run(
            &o,
            &ip("198.51.100.9:1"),
            &[("x-forwarded-for", "203.0.113.7")],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
    }

    #[test]
    fn proto_entries_pair_with_for_entries() {
        let o = ForwardedHeadersOptions {
            forward_limit: Some(2),
            known_networks: vec![parse_network("10.0.0.0/8").unwrap()],
            ..enabled()
        };
        // Set 0: (10.0.0.2, http) from the proxy at 10.0.0.1; set 1: (198.51.100.1, https)
        // from 10.0.0.2.
        let (c, s, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[
                ("x-forwarded-for", "198.51.100.1, 10.0.0.2"),
                ("x-forwarded-proto", "https, http"),
            ],
        );
        assert_eq!(c.as_deref(), Some("198.51.100.1:0"));
        assert_eq!(s.as_deref(), Some("https"));
        assert_eq!(get(&h, "x-forwarded-proto"), None);
        // Set 1's address is not trusted to vouch for set 2: set 2's scheme is not applied.
        let o = ForwardedHeadersOptions {
            forward_limit: Some(3),
            ..o
        };
        let (c, s, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.2"),
                ("x-forwarded-proto", "gopher, https, http"),
            ],
        );
        assert_eq!(c.as_deref(), Some("198.51.100.1:0"));
        assert_eq!(s.as_deref(), Some("https"));
        assert_eq!(get(&h, "x-forwarded-proto"), Some("gopher"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("6.6.6.6"));
        // More proto entries than address entries: the extra set has only a scheme.
        let (c, s, h) = run(
            &o,
            &ip("10.0.0.1:1"),
            &[
                ("x-forwarded-for", "10.0.0.2"),
                ("x-forwarded-proto", "wss, HTTPS"),
            ],
        );
        assert_eq!(c.as_deref(), Some("10.0.0.2:0"));
        assert_eq!(s.as_deref(), Some("wss"));
        assert_eq!(get(&h, "x-forwarded-for"), None);
        assert_eq!(get(&h, "x-forwarded-proto"), None);
    }

    #[test]
    fn proto_only() {
        let o = ForwardedHeadersOptions {
            forward_for: false,
            ..enabled()
        };
        let (c, s, h) = run(
            &o,
            &ip("127.0.0.1:1"),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "HTTPS"),
            ],
        );
        assert_eq!(c, None);
        assert_eq!(s.as_deref(), Some("https"));
        assert_eq!(get(&h, "x-forwarded-for"), Some("203.0.113.7"));
        assert_eq!(get(&h, "x-original-for"), None);
        // Unlike ASP.NET, the peer is still checked.
        let (c, s, _) = run(&o, &ip("10.0.0.5:1"), &[("x-forwarded-proto", "https")]);
        assert_eq!((c, s), (None, None));
    }

    #[test]
    fn for_only_leaves_proto_alone() {
        let o = ForwardedHeadersOptions {
            forward_proto: false,
            ..enabled()
        };
        let (c, s, h) = run(
            &o,
            &ip("127.0.0.1:1"),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(c.as_deref(), Some("203.0.113.7:0"));
        assert_eq!(s, None);
        assert_eq!(get(&h, "x-forwarded-proto"), Some("https"));
        assert_eq!(get(&h, "x-original-proto"), None);
    }

    #[test]
    fn no_headers_no_change() {
        assert_eq!(run(&enabled(), &ip("127.0.0.1:1"), &[]).0, None);
        assert_eq!(
            run(
                &enabled(),
                &ip("127.0.0.1:1"),
                &[("x-forwarded-for", " , ")]
            )
            .0,
            None
        );
    }

    #[test]
    fn a_spoofed_original_for_is_replaced() {
        let (_, _, h) = run(
            &enabled(),
            &ip("127.0.0.1:9"),
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-original-for", "6.6.6.6"),
            ],
        );
        assert_eq!(get(&h, "x-original-for"), Some("127.0.0.1:9"));
        assert_eq!(h.get_all("x-original-for").iter().count(), 1);
    }

    #[test]
    fn networks() {
        assert_eq!(
            parse_network("10.0.0.0/8"),
            Some(("10.0.0.0".parse().unwrap(), 8))
        );
        assert_eq!(
            parse_network(" 2001:db8::/32 "),
            Some(("2001:db8::".parse().unwrap(), 32))
        );
        assert_eq!(
            parse_network("192.0.2.7"),
            Some(("192.0.2.7".parse().unwrap(), 32))
        );
        assert_eq!(parse_network("::1"), Some(("::1".parse().unwrap(), 128)));
        assert_eq!(
            parse_network("0.0.0.0/0"),
            Some(("0.0.0.0".parse().unwrap(), 0))
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/+8",
            "10.0.0/8",
            "host/8",
            "",
            "10.0.0.0/0008",
        ] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
        let n = |s| parse_network(s).unwrap();
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(a("10.255.0.1"), n("10.0.0.0/8")));
        assert!(!in_network(a("11.0.0.1"), n("10.0.0.0/8")));
        assert!(
            in_network(a("10.1.2.3"), n("10.9.9.9/8")),
            "host bits ignored"
        );
        assert!(in_network(a("8.8.8.8"), n("0.0.0.0/0")));
        assert!(in_network(a("192.0.2.7"), n("192.0.2.7")));
        assert!(!in_network(a("192.0.2.8"), n("192.0.2.7")));
        assert!(in_network(a("2001:db8:1::5"), n("2001:db8::/32")));
        assert!(!in_network(a("2001:db9::5"), n("2001:db8::/32")));
        assert!(in_network(a("::5"), n("::/0")));
        assert!(!in_network(a("10.0.0.1"), n("::/0")), "families differ");
        assert!(!in_network(a("::1"), n("0.0.0.0/0")), "families differ");
    }

    #[test]
    fn validation() {
        let o = ForwardedHeadersOptions {
            known_networks: vec![("10.0.0.0".parse().unwrap(), 33)],
            ..ForwardedHeadersOptions::default()
        };
        assert!(o.validate().unwrap_err().contains("KnownNetworks"));
        let o = ForwardedHeadersOptions {
            known_networks: vec![("::".parse().unwrap(), 128)],
            ..ForwardedHeadersOptions::default()
        };
        assert_eq!(o.validate(), Ok(()));
        let o = ForwardedHeadersOptions {
            forward_limit: Some(0),
            ..ForwardedHeadersOptions::default()
        };
        assert!(o.validate().unwrap_err().contains("ForwardLimit"));
        // An out-of-range prefix never matches, should validation be skipped.
        assert!(!in_network(
            "10.0.0.1".parse().unwrap(),
            ("10.0.0.0".parse().unwrap(), 33)
        ));
    }
}

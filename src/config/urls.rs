//! URL parsing for `--urls`, the URL variables (`FALCONET_URLS`, `ASPNETCORE_URLS`,
//! `DOTNET_URLS`), the top-level `Urls` key and
//! `Kestrel:Endpoints:<name>:Url`, following Kestrel's rules (`BindingAddress`):
//!
//! - `http://localhost:5000` → [`ListenAddress::Localhost`] (127.0.0.1 and ::1);
//! - `http://*:80`, `http://+:80` and any host name → [`ListenAddress::Any`] (Kestrel binds
//!   all interfaces, IPv6 and IPv4, for a host name that is not `localhost`);
//! - IPv4 and bracketed IPv6 literals → [`ListenAddress::Ip`]: `http://0.0.0.0:80` is every
//!   IPv4 interface and no IPv6 one (Kestrel's `IPAddress.Any`); `http://[::]:80` is every
//!   IPv6 interface, dual-mode so that IPv4 clients reach it too (Kestrel's
//!   `IPAddress.IPv6Any`); other literals bind that address only;
//! - `http://unix:/abs/path.sock` → [`ListenAddress::Unix`];
//! - `http://systemd` → [`ListenAddress::Systemd`]`(None)` (every socket passed by systemd
//!   socket activation that no named endpoint claims), `http://systemd:NAME` →
//!   `Systemd(Some(NAME))` (the sockets of `FileDescriptorName=NAME`; NAME is printable
//!   ASCII without `:`, `/`, `?`, `#`, at most 255 bytes). The host name `systemd` is
//!   reserved for this: `http://systemd:80` names a socket, it is not port 80;
//! - the port defaults to 80; port 0 picks a free port;
//! - the path part must be empty or `/` (path bases are not supported, as in Kestrel).
//!
//! `https://` takes the same forms, with port 443 by default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::PathBuf;

use crate::options::{EndpointOptions, ListenAddress};
use crate::Error;

/// Builds the error for `url` with the reason `what`.
fn invalid(url: &str, what: &str) -> Error {
    Error::config(format!("Invalid url: '{url}': {what}"))
}

/// Parses one URL into an endpoint whose settings other than the address are the defaults
/// ([`EndpointOptions::new`]). Surrounding whitespace is ignored.
pub(crate) fn parse_url(url: &str) -> Result<EndpointOptions, Error> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(invalid(url, "the URL is empty"));
    }
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(invalid(
            url,
            "expected a URL like 'http://localhost:5000' (scheme missing)",
        ));
    };
    if scheme.eq_ignore_ascii_case("https") {
        // Same rules as http://, with port 443 by default.
        let plain = format!("http://{rest}");
        let mut e = parse_url(&plain)
            .map_err(|e| Error::config(e.to_string().replacen(&plain, trimmed, 1)))?;
        e.scheme = crate::options::Scheme::Https;
        if let ListenAddress::Any(p) | ListenAddress::Localhost(p) = &mut e.address {
            if !has_explicit_port(rest) {
                *p = 443;
            }
        }
        if let ListenAddress::Ip(a) = &mut e.address {
            if !has_explicit_port(rest) {
                a.set_port(443);
            }
        }
        return Ok(e);
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(invalid(
            url,
            &format!("unsupported scheme '{scheme}'; use http:// or https://"),
        ));
    }

    // Unix domain socket: http://unix:/path[:/]
    if let Some(prefix) = rest.get(..5) {
        if prefix.eq_ignore_ascii_case("unix:") {
            return parse_unix(url, &rest[5..]);
        }
    }

    // Sockets passed by systemd: http://systemd[:NAME][/]
    if let Some(prefix) = rest.get(..7) {
        let after = &rest[7..];
        if prefix.eq_ignore_ascii_case("systemd")
            && (after.is_empty() || after.starts_with([':', '/', '?', '#']))
        {
            return parse_systemd(url, after);
        }
    }

    // Authority ends at the first '/', '?' or '#'; anything after must be empty or "/".
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if !(path.is_empty() || path == "/") {
        return Err(invalid(
            url,
            &format!("a path base ('{path}') is not supported; the path must be empty or '/'"),
        ));
    }
    if authority.contains('@') {
        return Err(invalid(url, "user information is not allowed"));
    }
    if authority.is_empty() {
        return Err(invalid(url, "the host is missing"));
    }

    let address = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err(invalid(url, "missing ']' after the IPv6 address"));
        };
        let port = parse_port(url, after)?;
        ListenAddress::Ip(SocketAddr::V6(parse_ipv6(url, inside, port)?))
    } else {
        let (host, port_part) = match authority.find(':') {
            Some(i) => authority.split_at(i),
            None => (authority, ""),
        };
        if port_part.len() > 1 && port_part[1..].contains(':') {
            return Err(invalid(
                url,
                "IPv6 addresses must be enclosed in brackets, e.g. 'http://[::1]:5000'",
            ));
        }
        let port = parse_port(url, port_part)?;
        host_address(url, host, port)?
    };
    Ok(EndpointOptions::new(address))
}

/// Whether the authority of `rest` (what follows `scheme://`) names a port.
fn has_explicit_port(rest: &str) -> bool {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.strip_prefix('[') {
        Some(b) => b
            .split_once(']')
            .is_some_and(|(_, after)| after.starts_with(':')),
        None => authority.contains(':'),
    }
}

/// A URL describing an endpoint, for messages.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) fn describe(ep: &EndpointOptions) -> String {
    let scheme = match ep.scheme {
        crate::options::Scheme::Https => "https",
        _ => "http",
    };
    match &ep.address {
        ListenAddress::Ip(a) => format!("{scheme}://{a}"),
        ListenAddress::Localhost(p) => format!("{scheme}://localhost:{p}"),
        ListenAddress::Any(p) => format!("{scheme}://*:{p}"),
        ListenAddress::Unix(path) => format!("{scheme}://unix:{}", path.display()),
        ListenAddress::Systemd(None) => format!("{scheme}://systemd"),
        ListenAddress::Systemd(Some(n)) => format!("{scheme}://systemd:{n}"),
    }
}

/// `after_unix` is what follows `unix:`: an absolute path, optionally followed by `:/` or
/// `:` (Kestrel's separator before a path base, which must be empty or `/`).
fn parse_unix(url: &str, after_unix: &str) -> Result<EndpointOptions, Error> {
    let (path, base) = match after_unix.find(':') {
        Some(i) => (&after_unix[..i], &after_unix[i + 1..]),
        None => (after_unix, ""),
    };
    if !(base.is_empty() || base == "/") {
        return Err(invalid(
            url,
            &format!("a path base ('{base}') is not supported; the path must be empty or '/'"),
        ));
    }
    if path.is_empty() {
        return Err(invalid(
            url,
            "the Unix socket path is missing, e.g. 'http://unix:/run/app.sock'",
        ));
    }
    if !path.starts_with('/') {
        return Err(invalid(
            url,
            "Unix socket path must be absolute, e.g. 'http://unix:/run/app.sock'",
        ));
    }
    Ok(EndpointOptions::new(ListenAddress::Unix(PathBuf::from(
        path,
    ))))
}

/// `after` is what follows `systemd`: nothing or `/` (every socket), or `:NAME` with an
/// optional `/`.
fn parse_systemd(url: &str, after: &str) -> Result<EndpointOptions, Error> {
    let Some(name) = after.strip_prefix(':') else {
        if after.is_empty() || after == "/" {
            return Ok(EndpointOptions::new(ListenAddress::Systemd(None)));
        }
        return Err(invalid(
            url,
            &format!("a path base ('{after}') is not supported; the path must be empty or '/'"),
        ));
    };
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() {
        return Err(invalid(
            url,
            "the socket name is missing after 'systemd:', e.g. 'http://systemd:http' \
             (FileDescriptorName= of the socket unit); 'http://systemd' takes every socket",
        ));
    }
    let valid = name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b':' | b'/' | b'?' | b'#'));
    if !valid {
        return Err(invalid(
            url,
            &format!(
                "'{name}' is not a valid systemd socket name (FileDescriptorName=): printable \
                 ASCII without ':', '/', '?' or '#', at most 255 characters"
            ),
        ));
    }
    Ok(EndpointOptions::new(ListenAddress::Systemd(Some(
        name.to_string(),
    ))))
}

/// `part` is empty (port 80) or `:` followed by the port.
fn parse_port(url: &str, part: &str) -> Result<u16, Error> {
    if part.is_empty() {
        return Ok(80);
    }
    let Some(digits) = part.strip_prefix(':') else {
        return Err(invalid(url, &format!("unexpected '{part}' after the host")));
    };
    if digits.is_empty() {
        return Err(invalid(url, "the port is missing after ':'"));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            url,
            &format!("invalid port '{digits}': expected a number from 0 to 65535"),
        ));
    }
    digits.parse::<u16>().map_err(|_| {
        invalid(
            url,
            &format!("invalid port '{digits}': expected a number from 0 to 65535"),
        )
    })
}

/// The IPv6 literal inside brackets, with an optional numeric zone index (`fe80::1%2`).
fn parse_ipv6(url: &str, inside: &str, port: u16) -> Result<SocketAddrV6, Error> {
    let (addr, scope) = match inside.split_once('%') {
        Some((addr, zone)) => {
            let scope = zone.parse::<u32>().map_err(|_| {
                invalid(
                    url,
                    &format!("invalid IPv6 zone '{zone}': only numeric zone indexes are supported"),
                )
            })?;
            (addr, scope)
        }
        None => (inside, 0),
    };
    let ip = addr
        .parse::<Ipv6Addr>()
        .map_err(|_| invalid(url, &format!("'{addr}' is not a valid IPv6 address")))?;
    Ok(SocketAddrV6::new(ip, port, 0, scope))
}

/// Maps an unbracketed host to an address: `localhost`, `*`/`+`/names, or IPv4 (with
/// `0.0.0.0`, IPv4 only).
fn host_address(url: &str, host: &str, port: u16) -> Result<ListenAddress, Error> {
    if host.is_empty() {
        return Err(invalid(url, "the host is missing"));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(ListenAddress::Localhost(port));
    }
    if host == "*" || host == "+" {
        return Ok(ListenAddress::Any(port));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let ip = host
            .parse::<Ipv4Addr>()
            .map_err(|_| invalid(url, &format!("'{host}' is not a valid IPv4 address")))?;
        // 0.0.0.0 included: it is IPv4's "any", not IPv6's (Kestrel's IPAddress.Any).
        return Ok(ListenAddress::Ip(SocketAddr::new(IpAddr::V4(ip), port)));
    }
    let valid_name = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !valid_name {
        return Err(invalid(url, &format!("'{host}' is not a valid host")));
    }
    // A host name other than localhost binds all interfaces, as in Kestrel.
    Ok(ListenAddress::Any(port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Protocols, Scheme};

    fn addr(url: &str) -> ListenAddress {
        parse_url(url)
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .address
    }

    fn err(url: &str) -> String {
        let e = parse_url(url).expect_err(url);
        assert!(e.is_config());
        e.to_string()
    }

    #[test]
    fn localhost_any_case() {
        assert_eq!(
            addr("http://localhost:5000"),
            ListenAddress::Localhost(5000)
        );
        assert_eq!(
            addr("http://LocalHost:5000/"),
            ListenAddress::Localhost(5000)
        );
        assert_eq!(addr("HTTP://localhost"), ListenAddress::Localhost(80));
    }

    #[test]
    fn wildcards_and_names_are_any() {
        assert_eq!(addr("http://*:80"), ListenAddress::Any(80));
        assert_eq!(addr("http://+:8080"), ListenAddress::Any(8080));
        assert_eq!(addr("http://example.org:80"), ListenAddress::Any(80));
        assert_eq!(addr("http://my_host-1.local"), ListenAddress::Any(80));
    }

    #[test]
    fn unspecified_v4_is_ipv4_only() {
        // Kestrel: http://0.0.0.0 is IPAddress.Any, an IPv4 socket; not the dual-stack "*".
        assert_eq!(
            addr("http://0.0.0.0:80"),
            ListenAddress::Ip("0.0.0.0:80".parse().unwrap())
        );
        assert_eq!(
            addr("https://0.0.0.0"),
            ListenAddress::Ip("0.0.0.0:443".parse().unwrap())
        );
    }

    #[test]
    fn ip_literals() {
        assert_eq!(
            addr("http://127.0.0.1:8080"),
            ListenAddress::Ip("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            addr("http://[::]:80"),
            ListenAddress::Ip("[::]:80".parse().unwrap())
        );
        assert_eq!(
            addr("http://[::1]:0"),
            ListenAddress::Ip("[::1]:0".parse().unwrap())
        );
        assert_eq!(
            addr("http://[::1]"),
            ListenAddress::Ip("[::1]:80".parse().unwrap())
        );
        assert_eq!(
            addr("http://[fe80::1%3]:81"),
            ListenAddress::Ip(SocketAddr::V6(SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                81,
                0,
                3
            )))
        );
    }

    #[test]
    fn ports() {
        assert_eq!(
            addr("http://127.0.0.1"),
            ListenAddress::Ip("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(addr("http://localhost:0"), ListenAddress::Localhost(0));
        assert_eq!(addr("http://*:65535"), ListenAddress::Any(65535));
        for bad in [
            "http://*:65536",
            "http://*:-1",
            "http://*:abc",
            "http://*:",
            "http://[::1]:",
            "http://[::1]x",
            "http://*:8+0",
        ] {
            let e = err(bad);
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
        assert!(err("http://*:99999").contains("port"));
    }

    #[test]
    fn defaults_other_fields() {
        let e = parse_url(" http://localhost:5000 ").unwrap();
        assert_eq!(e.name, None);
        assert_eq!(e.scheme, Scheme::Http);
        assert_eq!(e.protocols, Protocols::Http1AndHttp2);
        assert!(!e.connection_logging);
        assert_eq!(e.allow_synchronous_io, None);
        assert_eq!(e.unix_socket_mode, None);
        assert_eq!(e, EndpointOptions::new(ListenAddress::Localhost(5000)));
    }

    #[test]
    fn unix_sockets() {
        assert_eq!(
            addr("http://unix:/run/app.sock"),
            ListenAddress::Unix("/run/app.sock".into())
        );
        assert_eq!(
            addr("http://UNIX:/tmp/a b.sock:/"),
            ListenAddress::Unix("/tmp/a b.sock".into())
        );
        assert!(err("http://unix:app.sock").contains("Unix socket path must be absolute"));
        assert!(err("http://unix:").contains("missing"));
        assert!(err("http://unix:/a.sock:/base").contains("path base"));
    }

    #[test]
    fn https_urls_default_to_port_443() {
        use crate::options::Scheme;
        let e = parse_url("https://localhost:5001").unwrap();
        assert_eq!(e.scheme, Scheme::Https);
        assert_eq!(e.address, ListenAddress::Localhost(5001));
        let e = parse_url("HTTPS://*").unwrap();
        assert_eq!(
            (e.scheme, e.address),
            (Scheme::Https, ListenAddress::Any(443))
        );
        let e = parse_url("https://[::1]").unwrap();
        assert_eq!(e.address, ListenAddress::Ip("[::1]:443".parse().unwrap()));
        let e = parse_url("https://127.0.0.1:8443/").unwrap();
        assert_eq!(
            e.address,
            ListenAddress::Ip("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(describe(&e), "https://127.0.0.1:8443");
        let e = parse_url("https://unix:/run/x.sock").unwrap();
        assert_eq!(e.scheme, Scheme::Https);
        // Errors name the URL as given.
        let msg = err("https://[::1");
        assert!(msg.contains("'https://[::1'"), "{msg}");
        assert!(err("ftp://x").contains("use http:// or https://"));
    }

    #[test]
    fn systemd_sockets() {
        assert_eq!(addr("http://systemd"), ListenAddress::Systemd(None));
        assert_eq!(addr("HTTP://SystemD/"), ListenAddress::Systemd(None));
        assert_eq!(
            addr("http://systemd:http"),
            ListenAddress::Systemd(Some("http".into()))
        );
        // The name is case-sensitive, as systemd's; a trailing '/' is allowed.
        assert_eq!(
            addr("http://systemd:Web-1.sock/"),
            ListenAddress::Systemd(Some("Web-1.sock".into()))
        );
        // A number after 'systemd:' is a name, not a port.
        assert_eq!(
            addr("http://systemd:80"),
            ListenAddress::Systemd(Some("80".into()))
        );
        // Other hosts that merely start with "systemd" stay host names.
        assert_eq!(addr("http://systemd.local:80"), ListenAddress::Any(80));
        assert_eq!(addr("http://systemd-host"), ListenAddress::Any(80));
        assert!(err("http://systemd:").contains("socket name is missing"));
        assert!(err("http://systemd:/").contains("socket name is missing"));
        assert!(err("http://systemd/api").contains("path base"));
        assert!(err("http://systemd?x").contains("path base"));
        for bad in [
            "http://systemd:a:b",
            "http://systemd:a/b",
            "http://systemd:a b",
            "http://systemd:é",
            "http://systemd:a?b",
        ] {
            let e = err(bad);
            assert!(e.contains("not a valid systemd socket name"), "{bad}: {e}");
            assert!(e.starts_with(&format!("Invalid url: '{bad}'")), "{e}");
        }
        let long = format!("http://systemd:{}", "n".repeat(255));
        assert_eq!(addr(&long), ListenAddress::Systemd(Some("n".repeat(255))));
        let e = err(&format!("http://systemd:{}", "n".repeat(256)));
        assert!(e.contains("at most 255"), "{e}");
        let e = parse_url("http://systemd:web").unwrap();
        assert_eq!(e, EndpointOptions::systemd(Some("web")));
        assert!(!e.reuse_port);
    }

    #[test]
    fn other_errors_name_the_url() {
        for bad in [
            "",
            "xyz",
            "localhost:5000",
            "ftp://localhost:21",
            "http://",
            "http://:80",
            "http://localhost:5000/api",
            "http://localhost:5000/?x",
            "http://user@localhost:5000",
            "http://::1:80",
            "http://[::1:80",
            "http://[zz]:80",
            "http://256.0.0.1:80",
            "http://1.2.3:80",
            "http://exa mple:80",
            "http://é:80",
            "http://éé:80",
            "http://uni:80é",
            "http://systemd:",
            "http://systemdé",
        ] {
            let e = err(bad);
            assert!(e.starts_with(&format!("Invalid url: '{bad}'")), "{e}");
        }
        assert!(err("ftp://x").contains("ftp"));
        assert!(err("http://::1:80").contains("brackets"));
        assert!(err("http://localhost:5000/api").contains("path"));
    }

    #[test]
    fn never_panics_on_prefixes() {
        for url in [
            "http://[fe80::1%3]:81/",
            "http://unix:/tmp/a.sock:/",
            "HTTPS://localhost:5001",
            "http://éx.org:80/é",
            "http://systemd:nameé/",
        ] {
            for (i, _) in url.char_indices() {
                let _ = parse_url(&url[..i]);
                let _ = parse_url(&url[i..]);
            }
        }
    }

    #[test]
    fn endpoint_options_from_url_delegates() {
        assert_eq!(
            EndpointOptions::from_url("http://*:8080").unwrap().address,
            ListenAddress::Any(8080)
        );
    }
}

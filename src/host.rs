//! AllowedHosts matching, as in ASP.NET Core's HostFilteringMiddleware.
//!
//! Patterns are host names without ports, compared ASCII-case-insensitively:
//! - `*` allows any host (even an empty one);
//! - `*.example.org` allows any subdomain (`a.example.org`, `a.b.example.org`), not
//!   `example.org` itself;
//! - anything else must equal the host exactly.
//!
//! The host's port is stripped first (`example.org:8080` → `example.org`,
//! `[::1]:80` → `[::1]`). IPv6 literals match with or without brackets in the pattern
//! (`[::1]` and `::1` both match `[::1]:80`). An empty pattern list allows every host;
//! an empty host matches only `*`.

/// Whether `host` (a Host header value, possibly with a port) matches one of `patterns`.
pub(crate) fn host_allowed(host: &str, patterns: &[String]) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let name = unbracket(strip_port(host.trim()));
    patterns.iter().any(|p| pattern_matches(p.trim(), name))
}

/// The host part of `host[:port]`, keeping the brackets of an IPv6 literal. A value with
/// several colons and no brackets is taken to be a bare IPv6 address without port (as
/// ASP.NET Core's `HostString` does).
pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(close) => host.get(..=close).unwrap_or(host),
            None => host,
        };
    }
    match host.find(':') {
        Some(colon) if host.get(colon + 1..).is_some_and(|r| r.contains(':')) => host,
        Some(colon) => host.get(..colon).unwrap_or(host),
        None => host,
    }
}

/// `[::1]` → `::1`; other names unchanged.
fn unbracket(name: &str) -> &str {
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
}

/// Whether the port-less, unbracketed `name` matches one pattern.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if name.is_empty() || pattern.is_empty() {
        return false;
    }
    if let Some(suffix) = pattern.strip_prefix("*.") {
        // "*.example.org": at least one label before ".example.org".
        let dotted_len = suffix.len() + 1;
        if name.len() <= dotted_len {
            return false;
        }
        let split = name.len() - dotted_len;
        return match (name.get(..split), name.get(split..)) {
            (Some(label), Some(tail)) => {
                !label.is_empty()
                    && tail.starts_with('.')
                    && tail
                        .get(1..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
            }
            _ => false,
        };
    }
    unbracket(pattern).eq_ignore_ascii_case(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_list_allows_all() {
        assert!(host_allowed("example.org", &[]));
        assert!(host_allowed("", &[]));
    }

    #[test]
    fn star_allows_all() {
        let p = pats(&["*"]);
        assert!(host_allowed("example.org", &p));
        assert!(host_allowed("", &p));
        assert!(host_allowed("[::1]:80", &p));
    }

    #[test]
    fn exact_match_case_insensitive() {
        let p = pats(&["example.org", "localhost"]);
        assert!(host_allowed("example.org", &p));
        assert!(host_allowed("EXAMPLE.Org", &p));
        assert!(host_allowed("localhost", &p));
        assert!(!host_allowed("example.com", &p));
        assert!(!host_allowed("a.example.org", &p));
        assert!(!host_allowed("example.org.evil", &p));
        assert!(!host_allowed("", &p));
    }

    #[test]
    fn port_is_stripped() {
        let p = pats(&["example.org"]);
        assert!(host_allowed("example.org:8080", &p));
        assert!(host_allowed("example.org:", &p));
        assert!(!host_allowed("example.com:8080", &p));
        assert!(!host_allowed(":8080", &p));
    }

    #[test]
    fn wildcard_subdomains() {
        let p = pats(&["*.example.org"]);
        assert!(host_allowed("a.example.org", &p));
        assert!(host_allowed("a.b.example.org:443", &p));
        assert!(host_allowed("A.EXAMPLE.ORG", &p));
        assert!(!host_allowed("example.org", &p));
        assert!(!host_allowed(".example.org", &p));
        assert!(!host_allowed("aexample.org", &p));
        assert!(!host_allowed("a.example.org.evil", &p));
        assert!(!host_allowed("", &p));
    }

    #[test]
    fn ipv6_literals() {
        for pattern in ["[::1]", "::1"] {
            let p = pats(&[pattern]);
            assert!(host_allowed("[::1]:80", &p), "{pattern}");
            assert!(host_allowed("[::1]", &p), "{pattern}");
            assert!(!host_allowed("[::2]:80", &p), "{pattern}");
        }
        let p = pats(&["127.0.0.1"]);
        assert!(host_allowed("127.0.0.1:5000", &p));
        assert!(!host_allowed("127.0.0.2", &p));
    }

    #[test]
    fn multiple_patterns_and_whitespace() {
        let p = pats(&[" example.org ", "*.test", ""]);
        assert!(host_allowed("example.org", &p));
        assert!(host_allowed("x.test", &p));
        assert!(!host_allowed("test", &p));
        assert!(!host_allowed("", &p));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let p = pats(&["*.", "*.é", "[", "]", ":"]);
        for h in ["[", "]", ":", "[:", "é.é", "a:é", "[é]:1", "*"] {
            let _ = host_allowed(h, &p);
        }
        assert!(host_allowed("x.é", &p));
    }
}

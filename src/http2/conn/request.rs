//! Decoded request header blocks → `http::request::Parts` or trailers, with the request
//! rules of RFC 9113 §8.1-§8.3 and the header limits.
//!
//! [`BlockCollector`] takes the fields one by one as the HPACK decoder emits them and never
//! fails in the middle (a failing `emit` would leave the decoder's dynamic table out of
//! step with the peer's, RFC 9113 §4.3): it records the first rule broken and stops storing
//! fields once a limit is passed, but keeps counting so the decoder can finish the block.
//! [`BlockCollector::finish`] then says what the block was:
//!
//! * [`Outcome::Malformed`]: a malformed request or trailers (§8.1.1) → the connection
//!   resets the stream with PROTOCOL_ERROR;
//! * [`Outcome::TooLarge`]: over the header list size, count or field size limits → 431
//!   on the stream, no handler (the limit for a GOAWAY, twice the list size, is the
//!   decoder's, see `super`);
//! * [`Outcome::Request`] / [`Outcome::Trailers`].
//!
//! A block that is both malformed and too large is malformed: validation continues after a
//! limit is passed (it costs no memory), and a malformed request is the client's bug, not a
//! size the client could retry with a smaller value.

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri, Version};

use crate::http2::hpack::HeaderField;

/// The limits a header block is checked against.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeaderLimits {
    /// SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 per field, pseudo-headers included.
    pub(super) max_list_size: usize,
    /// Regular fields (not pseudo-headers); each cookie crumb counts.
    pub(super) max_count: usize,
    /// One field's name + value.
    pub(super) max_field_size: usize,
}

/// What a header block turned out to be.
#[derive(Debug)]
pub(super) enum Outcome {
    /// A valid request head.
    Request(Box<RequestHead>),
    /// Valid request trailers.
    Trailers(HeaderMap),
    /// Breaks a rule of RFC 9113 §8: reset the stream with PROTOCOL_ERROR.
    Malformed(&'static str),
    /// Over a size or count limit: answer 431.
    TooLarge(&'static str),
}

/// A validated request head.
#[derive(Debug)]
pub(super) struct RequestHead {
    pub(super) parts: http::request::Parts,
    /// The `content-length` the client declared, if any.
    pub(super) content_length: Option<u64>,
    /// `expect: 100-continue` was sent.
    pub(super) expect_continue: bool,
}

/// Collects the fields of one header block; see the module documentation.
#[derive(Debug)]
pub(super) struct BlockCollector {
    limits: HeaderLimits,
    trailers: bool,
    list_size: usize,
    count: usize,
    malformed: Option<&'static str>,
    too_large: Option<&'static str>,
    method: Option<Bytes>,
    scheme: Option<Bytes>,
    authority: Option<Bytes>,
    path: Option<Bytes>,
    regular_seen: bool,
    headers: HeaderMap,
    /// Cookie crumbs joined with "; " (RFC 9113 §8.2.3).
    cookie: Option<BytesMut>,
    content_length: Option<u64>,
    host_count: usize,
}

/// Names of connection-specific fields, which HTTP/2 forbids (RFC 9113 §8.2.2).
pub(super) const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

impl BlockCollector {
    /// A collector for a request head, or for trailers when `trailers`.
    pub(super) fn new(limits: HeaderLimits, trailers: bool) -> BlockCollector {
        BlockCollector {
            limits,
            trailers,
            list_size: 0,
            count: 0,
            malformed: None,
            too_large: None,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            regular_seen: false,
            headers: HeaderMap::new(),
            cookie: None,
            content_length: None,
            host_count: 0,
        }
    }

    fn malformed(&mut self, why: &'static str) {
        self.malformed.get_or_insert(why);
    }

    fn too_large(&mut self, why: &'static str) {
        if self.too_large.is_none() {
            self.too_large = Some(why);
            // Nothing stored is used any more: give the memory back at once.
            self.headers = HeaderMap::new();
            self.cookie = None;
        }
    }

    /// One decoded field. Never fails; see the module documentation.
    pub(super) fn field(&mut self, field: HeaderField) {
        self.list_size = self.list_size.saturating_add(field.size());
        if self.list_size > self.limits.max_list_size {
            self.too_large("header list larger than SETTINGS_MAX_HEADER_LIST_SIZE");
        }
        if self.malformed.is_some() {
            return;
        }
        let HeaderField { name, value, .. } = field;
        if let Err(why) = check_value(&value) {
            return self.malformed(why);
        }
        if name.first() == Some(&b':') {
            return self.pseudo(&name, value);
        }
        self.regular_seen = true;
        if let Err(why) = check_name(&name) {
            return self.malformed(why);
        }
        if CONNECTION_SPECIFIC
            .iter()
            .any(|c| c.as_bytes() == &name[..])
        {
            return self.malformed("connection-specific header field");
        }
        if &name[..] == b"te" && !value.eq_ignore_ascii_case(b"trailers") {
            return self.malformed("te other than \"trailers\"");
        }
        if &name[..] == b"content-length" {
            match parse_content_length(&value) {
                Some(n) if self.content_length.is_none_or(|m| m == n) => {
                    self.content_length = Some(n)
                }
                _ => return self.malformed("invalid content-length"),
            }
        }
        if &name[..] == b"host" {
            self.host_count += 1;
            if self.host_count > 1 {
                return self.malformed("more than one host field");
            }
        }
        self.count += 1;
        if self.count > self.limits.max_count {
            self.too_large("too many header fields");
        }
        if name.len() + value.len() > self.limits.max_field_size {
            self.too_large("header field larger than the limit");
        }
        if self.too_large.is_some() {
            return;
        }
        if &name[..] == b"cookie" {
            match &mut self.cookie {
                Some(joined) => {
                    joined.extend_from_slice(b"; ");
                    joined.extend_from_slice(&value);
                }
                None => self.cookie = Some(BytesMut::from(&value[..])),
            }
            return;
        }
        let Ok(name) = HeaderName::from_bytes(&name) else {
            return self.malformed("invalid field name");
        };
        let Ok(value) = HeaderValue::from_maybe_shared(value) else {
            return self.malformed("invalid field value");
        };
        self.headers.append(name, value);
    }

    fn pseudo(&mut self, name: &[u8], value: Bytes) {
        if self.trailers {
            return self.malformed("pseudo-header field in trailers");
        }
        if self.regular_seen {
            return self.malformed("pseudo-header field after a regular field");
        }
        let slot = match name {
            b":method" => &mut self.method,
            b":scheme" => &mut self.scheme,
            b":authority" => &mut self.authority,
            b":path" => &mut self.path,
            // :status, :protocol (we do not offer extended CONNECT), anything else.
            _ => return self.malformed("unknown or response pseudo-header field"),
        };
        if slot.is_some() {
            return self.malformed("duplicate pseudo-header field");
        }
        *slot = Some(value);
    }

    /// What the block was.
    pub(super) fn finish(mut self) -> Outcome {
        if let Some(why) = self.malformed {
            return Outcome::Malformed(why);
        }
        if self.trailers {
            if let Some(why) = self.too_large {
                return Outcome::TooLarge(why);
            }
            self.join_cookie();
            return Outcome::Trailers(self.headers);
        }
        let Some(method) = self.method.take() else {
            return Outcome::Malformed("missing :method");
        };
        let connect = &method[..] == b"CONNECT";
        if connect {
            // RFC 9113 §8.5: only :method and :authority.
            if self.scheme.is_some() || self.path.is_some() {
                return Outcome::Malformed("CONNECT with :scheme or :path");
            }
            if self.authority.is_none() {
                return Outcome::Malformed("CONNECT without :authority");
            }
        } else {
            let (Some(_), Some(path)) = (&self.scheme, &self.path) else {
                return Outcome::Malformed("missing :scheme or :path");
            };
            // §8.3.1: not empty; origin-form, or "*" for OPTIONS.
            let star = &path[..] == b"*";
            if !(path.starts_with(b"/") || star && &method[..] == b"OPTIONS") {
                return Outcome::Malformed("invalid :path");
            }
        }
        if let Some(authority) = &self.authority {
            // §8.3.1: no userinfo.
            if authority.contains(&b'@') {
                return Outcome::Malformed(":authority with userinfo");
            }
        }
        if let (Some(authority), Some(host)) = (&self.authority, self.headers.get(header::HOST)) {
            // §8.3.1: a server SHOULD treat a host that differs as malformed.
            if !host.as_bytes().eq_ignore_ascii_case(authority) {
                return Outcome::Malformed("host differs from :authority");
            }
        }
        if let Some(why) = self.too_large {
            return Outcome::TooLarge(why);
        }
        let Ok(method) = Method::from_bytes(&method) else {
            return Outcome::Malformed("invalid :method");
        };
        let Some(uri) = self.uri(connect) else {
            return Outcome::Malformed("invalid :scheme, :authority or :path");
        };
        if let Some(authority) = self.authority.take() {
            if !self.headers.contains_key(header::HOST) {
                let Ok(host) = HeaderValue::from_maybe_shared(authority) else {
                    return Outcome::Malformed("invalid :authority");
                };
                self.headers.insert(header::HOST, host);
            }
        }
        self.join_cookie();
        let expect_continue = self
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = method;
        parts.uri = uri;
        parts.version = Version::HTTP_2;
        parts.headers = self.headers;
        Outcome::Request(Box::new(RequestHead {
            parts,
            content_length: self.content_length,
            expect_continue,
        }))
    }

    /// The request target: scheme, authority (`:authority`, else `host`) and path; the
    /// authority alone for CONNECT; the path alone when there is no authority at all, or
    /// for `OPTIONS *`.
    fn uri(&self, connect: bool) -> Option<Uri> {
        let authority = self.authority.clone().or_else(|| {
            self.headers
                .get(header::HOST)
                .map(|h| h.as_bytes().to_vec().into())
        });
        if connect {
            return Uri::from_maybe_shared(authority?).ok();
        }
        let path = self.path.clone()?;
        match (&self.scheme, authority) {
            (Some(scheme), Some(authority)) if &path[..] != b"*" => Uri::builder()
                .scheme(&scheme[..])
                .authority(&authority[..])
                .path_and_query(&path[..])
                .build()
                .ok(),
            _ => Uri::from_maybe_shared(path).ok(),
        }
    }

    fn join_cookie(&mut self) {
        if let Some(cookie) = self.cookie.take() {
            if let Ok(value) = HeaderValue::from_maybe_shared(cookie.freeze()) {
                self.headers.append(header::COOKIE, value);
            } else {
                self.malformed("invalid cookie");
            }
        }
    }
}

/// RFC 9113 §8.2.1: a field name is not empty and holds only lowercase token characters
/// (RFC 9110 §5.6.2).
fn check_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty field name");
    }
    for &b in name {
        if b.is_ascii_uppercase() {
            return Err("uppercase field name");
        }
        let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if !tchar {
            return Err("invalid character in field name");
        }
    }
    Ok(())
}

/// RFC 9113 §8.2.1: no NUL, CR or LF, no leading or trailing space or tab.
fn check_value(value: &[u8]) -> Result<(), &'static str> {
    if value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err("NUL, CR or LF in a field value");
    }
    if value.first().is_some_and(|&b| b == b' ' || b == b'\t')
        || value.last().is_some_and(|&b| b == b' ' || b == b'\t')
    {
        return Err("whitespace around a field value");
    }
    Ok(())
}

/// A `content-length` value: digits only, fitting 64 bits.
fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

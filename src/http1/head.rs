//! Request head parsing (sans-I/O): httparse under our own byte caps, plus the RFC 9112
//! rules httparse leaves to us (line endings, Host, framing, smuggling vectors).
//!
//! The parse runs in two passes over the buffer:
//!
//! 1. [`scan_head`] walks the raw bytes line by line. It enforces the byte and count caps
//!    (also on partial input, so an attacker cannot make us buffer past a limit), the line
//!    ending rules (CRLF only, unless bare LF is explicitly allowed; never a bare CR), the
//!    control-byte rule and obs-fold rejection. It returns `None` until a whole head is
//!    present.
//! 2. Once the head is complete, httparse tokenizes it, and [`build_head`] applies the
//!    semantic rules: version, request-target form, Host, message framing, connection
//!    options.
//!
//! The scan restarts from the beginning of `buf` on every call; heads are bounded by the
//! limits, so the worst case is quadratic in a bounded size.
//!
//! Choices left open by the RFCs:
//! - Up to [`MAX_LEADING_EMPTY_LINES`] empty lines before the request line are skipped
//!   (RFC 9112 §2.2 "SHOULD ignore at least one"); more is a `BadRequestLine`.
//! - Repeated Content-Length values (in one list or across fields) that are all equal as
//!   numbers are collapsed into one (RFC 9110 §8.6 allows this); differing values are
//!   `BadFraming`.
//! - `Content-Length: 0` yields `Framing::Length(0)` (not `Framing::None`); the body
//!   decoder treats both as an empty, finished body.
//! - An empty Host value is accepted (RFC 9112 §3.2 requires clients to send one when the
//!   target URI has no authority); `head.host` is then `Some("")`.
//! - A port in Host must be 1 to 5 digits and at most 65535 (RFC 3986 allows an empty
//!   port; we do not).
//! - userinfo in an absolute-form target is `BadRequestLine` (RFC 9110 §4.2.4: treat as an
//!   error).
//! - For absolute-form and CONNECT authority-form targets, Host must equal the target's
//!   authority, compared ASCII-case-insensitively as written (Kestrel's rule).

use super::error::RequestError;
use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Fields parsed with a header array on the stack; more need one on the heap.
const STACK_FIELDS: usize = 32;

/// Byte and count caps for one request head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadLimits {
    pub max_request_line_size: usize,
    pub max_headers_total_size: usize,
    pub max_header_count: usize,
    pub allow_bare_lf: bool,
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A parsed and validated request head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub method: http::Method,
    pub target: http::Uri,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub framing: Framing,
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub upgrade: bool,
    /// The Host field (or the target's authority), valid UTF-8.
    pub host: Option<Bytes>,
}

/// How many empty lines before the request line we skip (RFC 9112 §2.2).
pub(crate) const MAX_LEADING_EMPTY_LINES: usize = 4;

/// Byte offsets of a complete head inside the caller's buffer, found by [`scan_head`].
#[derive(Debug, Clone, Copy)]
struct HeadLayout {
    /// Bytes of leading empty lines skipped before the request line.
    skip: usize,
    /// Offset just past the final empty line: the number of bytes consumed.
    end: usize,
    /// Number of header field lines.
    field_count: usize,
}

/// One line found by [`find_line`]: where its content ends (before CR LF / LF) and where
/// the next line starts.
#[derive(Debug, Clone, Copy)]
struct Line {
    content_end: usize,
    next: usize,
}

/// Parses one request head from the start of `buf`.
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, RequestError> {
    let layout = match scan_head(buf, limits)? {
        Some(layout) => layout,
        None => return Ok(None),
    };
    let head_bytes = buf
        .get(layout.skip..layout.end)
        .ok_or(RequestError::BadRequestLine)?;
    let head = build_head(head_bytes, layout.field_count)?;
    Ok(Some((head, layout.end)))
}

/// Whether `b` is a control byte forbidden in a head line (RFC 9110 §5.5: field values
/// are VCHAR / obs-text / SP / HTAB; RFC 9112 §3: the request line has no CTLs).
/// CR and LF are handled by the line scanner, HTAB by the grammar.
fn is_forbidden_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n') || b == 0x7f
}

/// Finds the end of the line starting at `start`, looking only at `buf[start..window_end]`.
///
/// RFC 9112 §2.2: lines end in CRLF; a bare CR is an error; a bare LF is an error unless
/// `allow_bare_lf`. Forbidden control bytes are reported as `ControlByte`.
/// Returns `None` if no line end lies inside the window (the line is incomplete, or longer
/// than the window: the caller tells which).
fn find_line(
    buf: &[u8],
    start: usize,
    window_end: usize,
    allow_bare_lf: bool,
) -> Result<Option<Line>, RequestError> {
    let window = buf.get(start..window_end).unwrap_or(&[]);
    // Eight bytes at a time past those that need no look: every byte but the controls
    // (below 0x20, which includes CR and LF) and DEL. The byte loop starts at the first
    // one of those.
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut from = 0;
    while let Some(word) = window.get(from..from + 8) {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        let del = x ^ (0x7f * ONES);
        // The high bit of each byte below 0x20, and of each zero byte of `del`. A borrow
        // may mark a byte above a marked one too, never one below it: the lowest mark is
        // the first byte that needs a look.
        let marks = (x.wrapping_sub(0x20 * ONES) & !x | del.wrapping_sub(ONES) & !del) & HIGH;
        if marks != 0 {
            from += marks.trailing_zeros() as usize / 8;
            break;
        }
        from += 8;
    }
    for (i, &b) in window.iter().enumerate().skip(from) {
        match b {
            b'\n' => {
                let preceded_by_cr = i > 0 && window.get(i - 1) == Some(&b'\r');
                let content_end = if preceded_by_cr {
                    start + i - 1
                } else if allow_bare_lf {
                    start + i
                } else {
                    return Err(RequestError::BadLineEnding);
                };
                return Ok(Some(Line {
                    content_end,
                    next: start + i + 1,
                }));
            }
            b'\r' => match window.get(i + 1) {
                Some(b'\n') => {}
                Some(_) => return Err(RequestError::BadLineEnding),
                // The LF may be outside the window: the caller decides.
                None => return Ok(None),
            },
            _ if is_forbidden_ctl(b) => return Err(RequestError::ControlByte),
            _ => {}
        }
    }
    Ok(None)
}

/// First pass: validates the raw line structure and the byte/count caps, and finds where
/// the head ends. `Ok(None)` means more bytes are needed (and no cap is exceeded yet).
fn scan_head(buf: &[u8], limits: &HeadLimits) -> Result<Option<HeadLayout>, RequestError> {
    // A TLS record starts with content type 22 (handshake) and major version 3: someone is
    // speaking TLS to a plaintext endpoint. Decide as soon as two bytes are here.
    match buf {
        [0x16] => return Ok(None),
        [0x16, 0x03, ..] => return Err(RequestError::TlsOnPlaintext),
        _ => {}
    }

    // RFC 9112 §2.2: ignore a few empty lines before the request line.
    let mut pos = 0usize;
    let mut empty_lines = 0usize;
    loop {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'\r') => match buf.get(pos + 1) {
                None => return Ok(None),
                Some(b'\n') => pos += 2,
                Some(_) => return Err(RequestError::BadLineEnding),
            },
            Some(b'\n') if limits.allow_bare_lf => pos += 1,
            Some(b'\n') => return Err(RequestError::BadLineEnding),
            Some(_) => break,
        }
        empty_lines += 1;
        if empty_lines > MAX_LEADING_EMPTY_LINES {
            return Err(RequestError::BadRequestLine);
        }
    }
    let skip = pos;

    // Request line, at most max_request_line_size bytes including its line end.
    let rl_budget_end = skip.saturating_add(limits.max_request_line_size);
    let rl_window_end = rl_budget_end.min(buf.len());
    let request_line = match find_line(buf, skip, rl_window_end, limits.allow_bare_lf)? {
        Some(line) => line,
        None if buf.len() >= rl_budget_end => return Err(RequestError::RequestLineTooLong),
        None => return Ok(None),
    };

    // Header section: field lines and the final empty line, at most
    // max_headers_total_size bytes in all.
    let section_start = request_line.next;
    let hs_budget_end = section_start.saturating_add(limits.max_headers_total_size);
    let hs_window_end = hs_budget_end.min(buf.len());
    let mut pos = section_start;
    let mut field_count = 0usize;
    loop {
        let line = match find_line(buf, pos, hs_window_end, limits.allow_bare_lf)? {
            Some(line) => line,
            None if buf.len() >= hs_budget_end => return Err(RequestError::HeadersTooLarge),
            None => return Ok(None),
        };
        if line.content_end == pos {
            return Ok(Some(HeadLayout {
                skip,
                end: line.next,
                field_count,
            }));
        }
        // RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB) is rejected. This also
        // covers whitespace before the first field name (RFC 9112 §2.2).
        if matches!(buf.get(pos), Some(b' ' | b'\t')) {
            return Err(RequestError::BadHeader);
        }
        field_count += 1;
        if field_count > limits.max_header_count {
            return Err(RequestError::TooManyHeaders);
        }
        pos = line.next;
    }
}

/// Whether `v` is a well-formed `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
fn is_http_version_syntax(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// The version token of the request line in `head` if the line has the shape
/// `method SP target SP version` (exactly two SPs), else an empty slice.
fn raw_version_token(head: &[u8]) -> &[u8] {
    let line_end = head
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(head.len());
    let line = head.get(..line_end).unwrap_or(&[]);
    let mut parts = line.split(|&b| b == b' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(version), None) => version,
        _ => &[],
    }
}

/// RFC 9110 §6.2 / §2.5: a recipient treats a request with a higher minor version of a
/// major version it implements as that version's highest minor it implements, so
/// `HTTP/1.2` to `HTTP/1.9` are parsed as HTTP/1.1 (Host required, chunked allowed,
/// persistent by default) and answered `HTTP/1.1`. Rewrites the minor digit in `head`
/// (a copy of the request head, whose version [`is_higher_minor`]) so that httparse, which
/// knows only 1.0 and 1.1, accepts it.
fn higher_minor_as_http11(head: &mut [u8]) {
    debug_assert!(is_higher_minor(head));
    let line_end = head
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(head.len());
    // The version token ends the request line (raw_version_token checked the shape).
    if let Some(minor) = line_end.checked_sub(1).and_then(|i| head.get_mut(i)) {
        *minor = b'1';
    }
}

/// Whether the request line's version is `HTTP/1.2` to `HTTP/1.9`.
fn is_higher_minor(head: &[u8]) -> bool {
    matches!(
        raw_version_token(head),
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9']
    )
}

/// Maps an httparse error on a head whose line structure we already validated.
fn map_httparse_error(err: httparse::Error, head: &[u8]) -> RequestError {
    match err {
        httparse::Error::HeaderName | httparse::Error::HeaderValue => RequestError::BadHeader,
        // Line endings were validated by the scan, so this is junk after the version.
        httparse::Error::NewLine => RequestError::BadRequestLine,
        httparse::Error::TooManyHeaders => RequestError::TooManyHeaders,
        // RFC 9110 §6.2 / RFC 9112 §2.3: a well-formed version we do not implement is 505;
        // anything else in the version slot is a malformed request line.
        httparse::Error::Version if is_http_version_syntax(raw_version_token(head)) => {
            RequestError::UnsupportedVersion
        }
        _ => RequestError::BadRequestLine,
    }
}

/// The request-target form (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetForm {
    Origin,
    Absolute,
    Authority,
    Asterisk,
}

/// Parses and classifies the request-target (RFC 9112 §3.2).
fn parse_target(
    method: &http::Method,
    raw: &str,
    shared: &Bytes,
) -> Result<(http::Uri, TargetForm), RequestError> {
    let form = if method == http::Method::CONNECT {
        // RFC 9112 §3.2.3: CONNECT uses authority-form only.
        TargetForm::Authority
    } else if raw.starts_with('/') {
        TargetForm::Origin
    } else if raw == "*" {
        // RFC 9112 §3.2.4: asterisk-form is only used with OPTIONS.
        if method != http::Method::OPTIONS {
            return Err(RequestError::AsteriskNotOptions);
        }
        TargetForm::Asterisk
    } else {
        TargetForm::Absolute
    };
    // No form of request-target has a fragment (RFC 9112 §3.2: origin-form is
    // absolute-path ["?" query], absolute-form is absolute-URI). The URI parser would drop
    // it silently, so `/p#f` would reach the handler as `/p` while an intermediary that
    // forwarded the raw target saw something else: refuse it instead.
    if raw.contains('#') {
        return Err(RequestError::BadRequestLine);
    }
    // `raw` lies inside `shared`: the URI shares the head's one allocation.
    let uri = http::Uri::from_maybe_shared(shared.slice_ref(raw.as_bytes()))
        .map_err(|_| RequestError::BadRequestLine)?;
    match form {
        TargetForm::Origin | TargetForm::Asterisk => {
            if uri.scheme().is_some() || uri.authority().is_some() {
                return Err(RequestError::BadRequestLine);
            }
        }
        TargetForm::Authority => {
            // authority-form = uri-host ":" port: no scheme, no path, no userinfo.
            let authority = uri.authority().ok_or(RequestError::BadRequestLine)?;
            if uri.scheme().is_some()
                || uri.path_and_query().is_some()
                || authority.port().is_none()
                || !is_valid_host_value(authority.as_str().as_bytes())
            {
                return Err(RequestError::BadRequestLine);
            }
        }
        TargetForm::Absolute => {
            // absolute-form = absolute-URI; we need an authority to serve it, and userinfo
            // is an error (RFC 9110 §4.2.4).
            let authority = uri.authority().ok_or(RequestError::BadRequestLine)?;
            if uri.scheme().is_none() || !is_valid_host_value(authority.as_str().as_bytes()) {
                return Err(RequestError::BadRequestLine);
            }
        }
    }
    Ok((uri, form))
}

/// The ASCII letters and digits plus the bytes of `extra`, one bit per byte value.
const fn ascii_set(extra: &[u8]) -> u128 {
    let mut set = 0u128;
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphanumeric() {
            set |= 1 << b;
        }
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set |= 1 << extra[i];
        i += 1;
    }
    set
}

/// Whether `b` is in a set made by [`ascii_set`].
fn in_set(set: u128, b: u8) -> bool {
    b < 128 && set >> b & 1 == 1
}

/// Whether `b` may appear in a reg-name (RFC 3986 §3.2.2: unreserved / pct-encoded /
/// sub-delims; the `%` is checked for two hex digits separately).
fn is_reg_name_byte(b: u8) -> bool {
    const REG_NAME: u128 = ascii_set(b"-._~!$&'()*+,;=%");
    in_set(REG_NAME, b)
}

/// Whether `v` is a valid Host field value: `uri-host [ ":" port ]` (RFC 9110 §7.2,
/// RFC 3986 §3.2.2), or empty. No userinfo, port of 1..=5 digits and <= 65535.
pub(crate) fn is_valid_host_value(v: &[u8]) -> bool {
    if v.is_empty() {
        return true;
    }
    let (host, port) = if v.first() == Some(&b'[') {
        // IP-literal: "[" IPv6address "]" (IPvFuture is not accepted).
        let close = match v.iter().position(|&b| b == b']') {
            Some(i) => i,
            None => return false,
        };
        let inner = v.get(1..close).unwrap_or(&[]);
        let ok = std::str::from_utf8(inner)
            .ok()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
            .is_some();
        if !ok {
            return false;
        }
        let rest = v.get(close + 1..).unwrap_or(&[]);
        match rest {
            [] => (v, None),
            [b':', port @ ..] => (v.get(..=close).unwrap_or(&[]), Some(port)),
            _ => return false,
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(i) => (
                v.get(..i).unwrap_or(&[]),
                Some(v.get(i + 1..).unwrap_or(&[])),
            ),
            None => (v, None),
        }
    };
    if host.is_empty() {
        return false;
    }
    if host.first() != Some(&b'[') {
        // reg-name or IPv4address (an IPv4address is a valid reg-name).
        for (i, &b) in host.iter().enumerate() {
            if !is_reg_name_byte(b) {
                return false;
            }
            if b == b'%' {
                let hex = host.get(i + 1..i + 3);
                if !matches!(hex, Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit()) {
                    return false;
                }
            }
        }
    }
    match port {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.len() <= 5
                && p.iter()
                    .try_fold(0u32, |n, &d| {
                        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
                    })
                    .is_some_and(|n| n <= u32::from(u16::MAX))
        }
    }
}

/// OWS trimming (RFC 9110 §5.6.3: SP / HTAB).
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The elements of a comma-separated list field value (RFC 9110 §5.6.1), OWS-trimmed,
/// with empty elements dropped.
fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Whether `b` is a tchar (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    const TCHAR: u128 = ascii_set(b"!#$%&'*+-.^_`|~");
    in_set(TCHAR, b)
}

/// Parses `Content-Length = 1*DIGIT` strictly (RFC 9110 §8.6): no sign, no inner
/// whitespace, no hex, must fit u64.
fn parse_content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Decides the body framing from all Content-Length and Transfer-Encoding values
/// (RFC 9112 §6.1-§6.3), rejecting every ambiguous combination as `BadFraming`.
fn decide_framing(
    version: http::Version,
    content_lengths: &[&[u8]],
    transfer_encodings: &[&[u8]],
) -> Result<Framing, RequestError> {
    if !transfer_encodings.is_empty() {
        // RFC 9112 §6.1: Transfer-Encoding with Content-Length is a smuggling vector; we
        // reject instead of letting TE override CL. TE in HTTP/1.0 is likewise rejected
        // (RFC 9112 §6.1: "ought to be handled as an error").
        if !content_lengths.is_empty() || version == http::Version::HTTP_10 {
            return Err(RequestError::BadFraming);
        }
        // transfer-coding = token *( OWS ";" OWS transfer-parameter ); the final coding
        // must be exactly `chunked` (RFC 9112 §6.3 rule 4: else 400) and chunked must not
        // be applied twice (RFC 9112 §7). Any other coding in the list is one we do not
        // decode: 501 (RFC 9112 §6.1), checked last so that a malformed list stays 400.
        let mut chunked_seen = false;
        let mut last_is_chunked = false;
        let mut other_coding = false;
        for value in transfer_encodings {
            for coding in list_elements(value) {
                let name_end = coding
                    .iter()
                    .position(|&b| b == b';')
                    .unwrap_or(coding.len());
                let name = trim_ows(coding.get(..name_end).unwrap_or(&[]));
                if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                    return Err(RequestError::BadFraming);
                }
                let is_chunked = name.eq_ignore_ascii_case(b"chunked");
                if is_chunked {
                    if chunked_seen || name_end != coding.len() {
                        // chunked twice, or chunked with parameters (it takes none).
                        return Err(RequestError::BadFraming);
                    }
                    chunked_seen = true;
                } else {
                    other_coding = true;
                }
                last_is_chunked = is_chunked;
            }
        }
        if !last_is_chunked {
            return Err(RequestError::BadFraming);
        }
        if other_coding {
            return Err(RequestError::UnknownTransferCoding);
        }
        return Ok(Framing::Chunked);
    }
    // RFC 9110 §8.6: several equal values may be collapsed into one; anything else is an
    // unrecoverable framing error (RFC 9112 §6.3 rule 5).
    let mut length: Option<u64> = None;
    for value in content_lengths {
        let mut any = false;
        for element in value.split(|&b| b == b',').map(trim_ows) {
            any = true;
            let n = parse_content_length(element).ok_or(RequestError::BadFraming)?;
            match length {
                Some(prev) if prev != n => return Err(RequestError::BadFraming),
                _ => length = Some(n),
            }
        }
        if !any {
            return Err(RequestError::BadFraming);
        }
    }
    Ok(match length {
        Some(n) => Framing::Length(n),
        None => Framing::None,
    })
}

/// Whether any element of the comma-separated values equals `token` case-insensitively.
fn has_token(values: &[&[u8]], token: &[u8]) -> bool {
    values
        .iter()
        .any(|v| list_elements(v).any(|e| e.eq_ignore_ascii_case(token)))
}

/// Heads of up to this many bytes are copied into the thread's head arena.
const ARENA_SIZE: usize = 4096;

thread_local! {
    /// This thread's buffer for request heads (see [`share_head`]).
    static HEAD_ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// A copy of a request head that the target and header values can share.
///
/// A head of up to 4 KiB (almost every request) goes into the free tail of this thread's
/// arena and is split off as `Bytes`. Once every slice of the earlier heads is gone (their
/// requests were answered and dropped, as on a keep-alive connection) the arena reclaims
/// its whole buffer, so such a request costs no allocation here. When a handler keeps a
/// slice (a header value it stored), the arena lets go of its buffer, which lives on as
/// long as that slice, and starts a new one at the next request.
///
/// The fallback, for longer heads or when the arena cannot be reused:
/// `Bytes::copy_from_slice` costs two allocations as soon as the copy is sliced (the bytes,
/// then the reference count when the first slice is taken). A head of up to 1 KiB or 4 KiB
/// goes instead into one block that holds the bytes and the count together
/// (`Bytes::from_owner`): one allocation.
fn share_head(head: &[u8]) -> Bytes {
    if head.len() <= ARENA_SIZE {
        let from_arena = HEAD_ARENA.try_with(|arena| {
            let mut arena = arena.try_borrow_mut().ok()?;
            if arena.capacity() < head.len() && !arena.try_reclaim(head.len()) {
                if arena.capacity() == 0 {
                    // First head on this thread, or the arena was let go: a new buffer.
                    *arena = BytesMut::with_capacity(ARENA_SIZE);
                } else {
                    // A slice of an earlier head is still alive: let go of the buffer.
                    *arena = BytesMut::new();
                    return None;
                }
            }
            arena.extend_from_slice(head);
            Some(arena.split().freeze())
        });
        if let Ok(Some(shared)) = from_arena {
            return shared;
        }
    }
    share_head_alone(head)
}

/// A copy of `head` in an allocation of its own (see [`share_head`]).
fn share_head_alone(head: &[u8]) -> Bytes {
    /// The first `len` bytes of `bytes` are the head.
    struct Block<const N: usize> {
        len: usize,
        bytes: [u8; N],
    }
    impl<const N: usize> AsRef<[u8]> for Block<N> {
        fn as_ref(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }
    fn block<const N: usize>(head: &[u8]) -> Bytes {
        let mut block = Block {
            len: head.len(),
            bytes: [0; N],
        };
        block.bytes[..head.len()].copy_from_slice(head);
        Bytes::from_owner(block)
    }
    match head.len() {
        0..=1024 => block::<1024>(head),
        1025..=4096 => block::<4096>(head),
        _ => Bytes::copy_from_slice(head),
    }
}

/// Second pass: tokenizes a complete head (without leading empty lines) with httparse and
/// applies the semantic rules.
fn build_head(head: &[u8], field_count: usize) -> Result<RequestHead, RequestError> {
    // One copy of the head: the target and every header value are slices of it, so a
    // request costs one allocation here however many fields it has.
    build_shared(share_head(head), field_count)
}

/// [`build_head`] on the head's shared copy.
fn build_shared(shared: Bytes, field_count: usize) -> Result<RequestHead, RequestError> {
    let head: &[u8] = &shared;
    let mut stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
    let mut heap;
    let fields: &mut [httparse::Header<'_>] = if field_count < STACK_FIELDS {
        &mut stack
    } else {
        heap = vec![httparse::EMPTY_HEADER; field_count.saturating_add(1)];
        &mut heap
    };
    let mut req = httparse::Request::new(fields);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        // The scan found the end of the head, so httparse must too.
        Ok(httparse::Status::Partial) => return Err(RequestError::BadRequestLine),
        // httparse knows only 1.0 and 1.1: HTTP/1.2 to 1.9 are parsed as 1.1.
        Err(httparse::Error::Version) if is_higher_minor(head) => {
            let mut owned = head.to_vec();
            higher_minor_as_http11(&mut owned);
            return build_shared(Bytes::from(owned), field_count);
        }
        Err(e) => return Err(map_httparse_error(e, head)),
    }

    let version = match req.version {
        Some(0) => http::Version::HTTP_10,
        Some(1) => http::Version::HTTP_11,
        _ => return Err(RequestError::UnsupportedVersion),
    };
    let method = http::Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| RequestError::BadRequestLine)?;
    let (target, form) = parse_target(&method, req.path.unwrap_or(""), &shared)?;

    let mut headers = HeaderMap::try_with_capacity(req.headers.len())
        .map_err(|_| RequestError::TooManyHeaders)?;
    let mut hosts: [&[u8]; 2] = [b""; 2];
    let mut host_count = 0usize;
    let mut content_lengths: Vec<&[u8]> = Vec::new();
    let mut transfer_encodings: Vec<&[u8]> = Vec::new();
    let mut connection: Vec<&[u8]> = Vec::new();
    let mut expect: Vec<&[u8]> = Vec::new();
    let mut has_upgrade = false;
    for field in req.headers.iter() {
        let name =
            HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| RequestError::BadHeader)?;
        // httparse already trimmed OWS around the value (RFC 9110 §5.5).
        let value = HeaderValue::from_maybe_shared(shared.slice_ref(field.value))
            .map_err(|_| RequestError::BadHeader)?;
        match name {
            http::header::HOST => {
                if let Some(slot) = hosts.get_mut(host_count) {
                    *slot = field.value;
                }
                host_count += 1;
            }
            http::header::CONTENT_LENGTH => content_lengths.push(field.value),
            http::header::TRANSFER_ENCODING => transfer_encodings.push(field.value),
            http::header::CONNECTION => connection.push(field.value),
            http::header::EXPECT => expect.push(field.value),
            http::header::UPGRADE => has_upgrade = true,
            _ => {}
        }
        headers
            .try_append(name, value)
            .map_err(|_| RequestError::TooManyHeaders)?;
    }

    // Host (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one in HTTP/1.0, valid
    // authority syntax, and equal to the target's authority for absolute-form and
    // authority-form targets.
    let host_field = match host_count {
        0 if version == http::Version::HTTP_11 => return Err(RequestError::BadHost),
        0 => None,
        1 => Some(hosts[0]),
        _ => return Err(RequestError::BadHost),
    };
    if let Some(h) = host_field {
        if !is_valid_host_value(h) {
            return Err(RequestError::BadHost);
        }
    }
    let target_authority = match form {
        TargetForm::Absolute | TargetForm::Authority => target
            .authority()
            .map(|a| Bytes::copy_from_slice(a.as_str().as_bytes())),
        TargetForm::Origin | TargetForm::Asterisk => None,
    };
    let host = match (host_field, target_authority) {
        (Some(h), Some(a)) => {
            if !h.eq_ignore_ascii_case(&a) {
                return Err(RequestError::BadHost);
            }
            Some(a)
        }
        // is_valid_host_value accepts ASCII only: the field is valid UTF-8.
        (Some(h), None) => Some(shared.slice_ref(h)),
        (None, a) => a,
    };

    let framing = decide_framing(version, &content_lengths, &transfer_encodings)?;

    // RFC 9112 §9.3: persistence defaults by version, overridden by Connection options.
    let close = has_token(&connection, b"close");
    let keep_alive = match version {
        http::Version::HTTP_11 => !close,
        _ => !close && has_token(&connection, b"keep-alive"),
    };
    let is_11 = version == http::Version::HTTP_11;
    // RFC 9110 §10.1.1: 100-continue is only meaningful from HTTP/1.1 clients.
    let expect_continue = is_11
        && expect
            .iter()
            .any(|v| trim_ows(v).eq_ignore_ascii_case(b"100-continue"));
    // RFC 9110 §7.8: an upgrade needs both the Upgrade field and the upgrade option.
    let upgrade = is_11 && has_upgrade && has_token(&connection, b"upgrade");

    Ok(RequestHead {
        method,
        target,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue,
        upgrade,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HeadLimits {
        HeadLimits {
            max_request_line_size: 8192,
            max_headers_total_size: 32 * 1024,
            max_header_count: 100,
            allow_bare_lf: false,
        }
    }

    fn parse(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, RequestError> {
        parse_head(buf, &limits())
    }

    #[test]
    fn heads_on_both_sides_of_the_shared_block_sizes_keep_their_bytes() {
        // share_head copies heads of up to 4 KiB into the thread's arena, longer ones into
        // a Vec: the target and a header value at the very end arrive intact in each.
        for len in [1023, 1024, 1025, 4095, 4096, 4097, 9000] {
            let start = "GET /t HTTP/1.1\r\nHost: a\r\nX: ";
            let pad = len - start.len() - "z\r\n\r\n".len();
            let buf = format!("{start}{}z\r\n\r\n", "y".repeat(pad));
            assert_eq!(buf.len(), len);
            let h = ok(buf.as_bytes());
            assert_eq!(h.target.path(), "/t", "{len}");
            let x = h.headers["x"].as_bytes();
            assert_eq!(x.len(), pad + 1, "{len}");
            assert!(x.ends_with(b"yz"), "{len}");
        }
    }

    #[test]
    fn a_header_value_a_handler_keeps_outlives_the_heads_after_it() {
        // The arena is reused once the earlier heads are gone; a value still held must keep
        // its bytes while later heads, of every size around the arena's, are parsed.
        let kept = ok(b"GET /first HTTP/1.1\r\nHost: a\r\nX: kept-value\r\n\r\n");
        let kept_x = kept.headers["x"].clone();
        let kept_target = kept.target.clone();
        drop(kept);
        for i in 0..3000usize {
            let pad = "p".repeat(i % 97 * 40);
            let buf = format!("GET /n{i} HTTP/1.1\r\nHost: b\r\nX: v{i}{pad}\r\n\r\n");
            let h = ok(buf.as_bytes());
            assert_eq!(h.target.path(), format!("/n{i}"));
            assert_eq!(h.headers["x"].as_bytes(), format!("v{i}{pad}").as_bytes());
        }
        assert_eq!(kept_x.as_bytes(), b"kept-value");
        assert_eq!(kept_target.path(), "/first");
        // Heads parsed while others are alive (as on HTTP/1 connections served by the
        // same worker one after another) keep their own bytes too.
        let a = ok(b"GET /a HTTP/1.1\r\nHost: a\r\nX: aaaa\r\n\r\n");
        let b = ok(b"GET /b HTTP/1.1\r\nHost: b\r\nX: bbbb\r\n\r\n");
        assert_eq!(
            (a.headers["x"].as_bytes(), a.target.path()),
            (&b"aaaa"[..], "/a")
        );
        assert_eq!(
            (b.headers["x"].as_bytes(), b.target.path()),
            (&b"bbbb"[..], "/b")
        );
    }

    #[test]
    fn heads_share_one_buffer_that_is_reused_once_they_are_dropped() {
        // What saves the allocation per keep-alive request. The target starts at the same
        // offset in every head ("GET /...") and is a slice of the head's copy, as the
        // header values are.
        let at = |h: &RequestHead| h.target.path().as_ptr() as usize;
        // Whatever earlier tests left on this thread: start from a new buffer.
        HEAD_ARENA.with(|arena| *arena.borrow_mut() = BytesMut::new());
        let one = b"GET /a HTTP/1.1\r\nHost: a\r\nX: first\r\n\r\n";
        let a = ok(one);
        let b = ok(b"GET /b HTTP/1.1\r\nHost: a\r\nX: second\r\n\r\n");
        let start = at(&a);
        // Copied one after the other into the same buffer, not each into a block of its own.
        assert_eq!(at(&b), start + one.len());
        drop((a, b));
        // Once they are gone the buffer comes back to its start; until then every head
        // lands in it.
        let mut reused = false;
        for i in 0..1000 {
            let h = ok(format!("GET /{i} HTTP/1.1\r\nHost: a\r\nX: {i:05}\r\n\r\n").as_bytes());
            if at(&h) == start {
                reused = true;
                break;
            }
            assert!(
                (start..start + ARENA_SIZE).contains(&at(&h)),
                "head {i} went elsewhere"
            );
        }
        assert!(reused, "the buffer never came back to its start");
    }

    fn ok(buf: &[u8]) -> RequestHead {
        match parse(buf) {
            Ok(Some((head, n))) => {
                assert_eq!(n, buf.len(), "consumed");
                head
            }
            other => panic!("expected a head, got {:?}", other.map(|o| o.map(|h| h.1))),
        }
    }

    fn err(buf: &[u8]) -> RequestError {
        match parse(buf) {
            Err(e) => e,
            Ok(o) => panic!("expected an error, got {:?}", o.map(|h| h.1)),
        }
    }

    fn err_with(buf: &[u8], l: &HeadLimits) -> RequestError {
        match parse_head(buf, l) {
            Err(e) => e,
            Ok(o) => panic!("expected an error, got {:?}", o.map(|h| h.1)),
        }
    }

    #[test]
    fn simple_get() {
        let h = ok(b"GET /a?b=c HTTP/1.1\r\nHost: example.org\r\nX-A: 1\r\nX-A: 2\r\n\r\n");
        assert_eq!(h.method, http::Method::GET);
        assert_eq!(h.target.path(), "/a");
        assert_eq!(h.target.query(), Some("b=c"));
        assert_eq!(h.version, http::Version::HTTP_11);
        assert_eq!(h.host.as_deref(), Some("example.org".as_bytes()));
        assert_eq!(h.framing, Framing::None);
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
        assert!(!h.upgrade);
        let xs: Vec<_> = h.headers.get_all("x-a").iter().collect();
        assert_eq!(xs, ["1", "2"]);
    }

    #[test]
    fn consumed_excludes_following_bytes() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n";
        let (_, n) = parse(buf).unwrap().unwrap();
        assert_eq!(n, 27);
    }

    #[test]
    fn incomplete_returns_none() {
        let full = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for i in 0..full.len() {
            assert!(
                matches!(parse(&full[..i]), Ok(None)),
                "prefix {i} should be incomplete"
            );
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn leading_empty_lines() {
        let h = parse(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.1, 31);
        let max = b"\r\n".repeat(MAX_LEADING_EMPTY_LINES);
        let mut buf = max.clone();
        buf.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(parse(&buf).unwrap().is_some());
        let mut buf = b"\r\n".repeat(MAX_LEADING_EMPTY_LINES + 1);
        buf.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(err(&buf), RequestError::BadRequestLine);
        assert!(matches!(parse(b"\r"), Ok(None)));
        assert!(matches!(parse(b"\r\n"), Ok(None)));
        assert_eq!(
            err(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadLineEnding
        );
        assert_eq!(err(b"\rGET / HTTP/1.1\r\n"), RequestError::BadLineEnding);
        let mut l = limits();
        l.allow_bare_lf = true;
        assert!(parse_head(b"\nGET / HTTP/1.1\nHost: a\n\n", &l)
            .unwrap()
            .is_some());
    }

    #[test]
    fn tls_client_hello() {
        assert!(matches!(parse(b"\x16"), Ok(None)));
        assert_eq!(err(b"\x16\x03"), RequestError::TlsOnPlaintext);
        assert_eq!(
            err(b"\x16\x03\x01\x02\x00\x01"),
            RequestError::TlsOnPlaintext
        );
        // 0x16 not followed by 0x03 is just a control byte.
        assert_eq!(err(b"\x16GET"), RequestError::ControlByte);
    }

    #[test]
    fn request_line_limit() {
        let mut l = limits();
        // "GET /aaaa HTTP/1.1\r\n" = 20 bytes.
        let line = b"GET /aaaa HTTP/1.1\r\nHost: a\r\n\r\n";
        l.max_request_line_size = 20;
        assert!(parse_head(line, &l).unwrap().is_some());
        l.max_request_line_size = 19;
        assert_eq!(err_with(line, &l), RequestError::RequestLineTooLong);
        // Decided on partial input: 19 bytes without a line end.
        assert_eq!(err_with(&line[..19], &l), RequestError::RequestLineTooLong);
        assert!(matches!(parse_head(&line[..18], &l), Ok(None)));
        // CR at the last allowed byte, LF beyond the limit.
        assert_eq!(err_with(&line[..19], &l), RequestError::RequestLineTooLong);
        l.max_request_line_size = 20;
        assert!(matches!(parse_head(&line[..19], &l), Ok(None)));
        // Bare LF line end counts one byte.
        l.allow_bare_lf = true;
        l.max_request_line_size = 19;
        assert!(parse_head(b"GET /aaaa HTTP/1.1\nHost: a\n\n", &l)
            .unwrap()
            .is_some());
        l.max_request_line_size = 18;
        assert_eq!(
            err_with(b"GET /aaaa HTTP/1.1\nHost: a\n\n", &l),
            RequestError::RequestLineTooLong
        );
    }

    #[test]
    fn header_section_limit() {
        let mut l = limits();
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\nX: yz\r\n\r\n";
        // "Host: a\r\n" (9) + "X: yz\r\n" (7) + "\r\n" (2) = 18.
        l.max_headers_total_size = 18;
        assert!(parse_head(buf, &l).unwrap().is_some());
        l.max_headers_total_size = 17;
        assert_eq!(err_with(buf, &l), RequestError::HeadersTooLarge);
        // Partial: 17 section bytes present without a complete head.
        assert_eq!(err_with(&buf[..16 + 17], &l), RequestError::HeadersTooLarge);
        assert!(matches!(parse_head(&buf[..16 + 16], &l), Ok(None)));
        // A never-ending header line is cut off at the limit.
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100));
        l.max_headers_total_size = 50;
        assert_eq!(err_with(&long, &l), RequestError::HeadersTooLarge);
    }

    #[test]
    fn header_count_limit() {
        let mut l = limits();
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
        l.max_header_count = 3;
        let (h, _) = parse_head(buf, &l).unwrap().unwrap();
        assert_eq!(h.headers.len(), 3);
        l.max_header_count = 2;
        assert_eq!(err_with(buf, &l), RequestError::TooManyHeaders);
        // Decided before the head is complete.
        assert_eq!(
            err_with(&buf[..buf.len() - 2], &l),
            RequestError::TooManyHeaders
        );
        l.max_header_count = 0;
        assert_eq!(
            err_with(b"GET / HTTP/1.0\r\nA: 1\r\n\r\n", &l),
            RequestError::TooManyHeaders
        );
        assert!(parse_head(b"GET / HTTP/1.0\r\n\r\n", &l).unwrap().is_some());
    }

    #[test]
    fn bare_lf() {
        assert_eq!(
            err(b"GET / HTTP/1.1\nHost: a\r\n\r\n"),
            RequestError::BadLineEnding
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
            RequestError::BadLineEnding
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
            RequestError::BadLineEnding
        );
        let mut l = limits();
        l.allow_bare_lf = true;
        let (h, n) = parse_head(b"GET / HTTP/1.1\nHost: a\nX: b\r\n\n", &l)
            .unwrap()
            .unwrap();
        assert_eq!(n, 30);
        assert_eq!(h.headers["x"], "b");
        assert_eq!(h.host.as_deref(), Some("a".as_bytes()));
    }

    #[test]
    fn bare_cr() {
        assert_eq!(
            err(b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
            RequestError::BadLineEnding
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
            RequestError::BadLineEnding
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n\rX"),
            RequestError::BadLineEnding
        );
        let mut l = limits();
        l.allow_bare_lf = true;
        assert_eq!(
            err_with(b"GET / HTTP/1.1\r\nX: a\rb\n\n", &l),
            RequestError::BadLineEnding
        );
        // A CR at the end of the buffer is just incomplete.
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost: a\r"), Ok(None)));
    }

    #[test]
    fn line_ends_and_control_bytes_are_found_at_every_offset() {
        // The line scanner looks at eight bytes at a time: put each byte that matters at
        // every position of a value (with obs-text and DEL's neighbours around it).
        for at in 0..20 {
            let value = |b: &[u8]| {
                // (Never a tab first: httparse trims it off the value.)
                let mut v = vec![b'v'; at + 1];
                v.iter_mut()
                    .skip(1)
                    .step_by(3)
                    .for_each(|x| *x = 0x80 + (at as u8));
                v.iter_mut().skip(2).step_by(5).for_each(|x| *x = 0x7e);
                v.extend_from_slice(b);
                v.extend_from_slice(b"tail\xff");
                v
            };
            let head = |b: &[u8]| {
                let mut h = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
                h.extend(value(b));
                h.extend_from_slice(b"\r\n\r\n");
                h
            };
            for b in (0u8..0x20).chain([0x7f]) {
                let want = match b {
                    b'\t' => None,
                    b'\r' | b'\n' => Some(RequestError::BadLineEnding),
                    _ => Some(RequestError::ControlByte),
                };
                match want {
                    Some(e) => assert_eq!(err(&head(&[b])), e, "byte {b:#x} at {at}"),
                    None => assert_eq!(ok(&head(&[b])).headers["x"].as_bytes(), &value(&[b])[..]),
                }
            }
            // A line that ends at this offset, and one that is just long.
            let mut h = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
            h.extend(value(b""));
            h.extend_from_slice(b"\r\nY: 1\r\n\r\n");
            let got = ok(&h);
            assert_eq!(got.headers["x"].as_bytes(), &value(b"")[..], "at {at}");
            assert_eq!(got.headers["y"], "1");
        }
    }

    #[test]
    fn tchar_and_reg_name_bytes_are_exactly_the_rfcs() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric();
            // RFC 9110 §5.6.2
            let tchar = alnum || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), tchar, "{b:#x}");
            // RFC 3986 §3.2.2: unreserved, sub-delims, and the % of pct-encoded.
            let reg = alnum || b"-._~".contains(&b) || b"!$&'()*+,;=".contains(&b) || b == b'%';
            assert_eq!(is_reg_name_byte(b), reg, "{b:#x}");
        }
    }

    #[test]
    fn control_bytes() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
            RequestError::ControlByte
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n"),
            RequestError::ControlByte
        );
        assert_eq!(err(b"GET /\x01 HTTP/1.1\r\n"), RequestError::ControlByte);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX\x0b: a\r\n"),
            RequestError::ControlByte
        );
        // HTAB inside a field value is fine.
        let h = ok(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n");
        assert_eq!(h.headers["x"], "a\tb");
        // HTAB in the request line is not.
        assert_eq!(
            err(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadRequestLine
        );
        // obs-text in a value is allowed (RFC 9110 §5.5).
        let h = ok(b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n");
        assert_eq!(h.headers["x"].as_bytes(), b"caf\xc3\xa9");
    }

    #[test]
    fn bad_headers() {
        // obs-fold
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
            RequestError::BadHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"),
            RequestError::BadHeader
        );
        // whitespace before the first field
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
            RequestError::BadHeader
        );
        // whitespace between name and colon
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            RequestError::BadHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
            RequestError::BadHeader
        );
        // empty name, invalid token chars, no colon
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"),
            RequestError::BadHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX(y): a\r\nHost: a\r\n\r\n"),
            RequestError::BadHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX\xc3: a\r\nHost: a\r\n\r\n"),
            RequestError::BadHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n"),
            RequestError::BadHeader
        );
        // OWS around the value is trimmed; empty values are fine.
        let h = ok(b"GET / HTTP/1.1\r\nHost: a\r\nX:  v w \t\r\nE:\r\n\r\n");
        assert_eq!(h.headers["x"], "v w");
        assert_eq!(h.headers["e"], "");
    }

    #[test]
    fn request_line_errors() {
        for bad in [
            &b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            b"GET /\r\nHost: a\r\n\r\n",
            b"GET\r\nHost: a\r\n\r\n",
            b" GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / http/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
            b"GET / HTTP/11\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.\r\nHost: a\r\n\r\n",
            b"GET / HTTP/2\r\nHost: a\r\n\r\n",
            b"GET / FOO\r\nHost: a\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(
                err(bad),
                RequestError::BadRequestLine,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn versions() {
        assert_eq!(
            ok(b"GET / HTTP/1.0\r\n\r\n").version,
            http::Version::HTTP_10
        );
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").version,
            http::Version::HTTP_11
        );
        for v in ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.9", "HTTP/2.1"] {
            let buf = format!("GET / {v}\r\nHost: a\r\n\r\n");
            assert_eq!(err(buf.as_bytes()), RequestError::UnsupportedVersion, "{v}");
        }
        // A higher minor version of HTTP/1 is HTTP/1.1 (RFC 9110 §6.2, §2.5).
        for v in ["HTTP/1.2", "HTTP/1.9"] {
            let buf = format!("GET /p {v}\r\nHost: a\r\n\r\n");
            let h = ok(buf.as_bytes());
            assert_eq!(h.version, http::Version::HTTP_11, "{v}");
            assert_eq!(h.target.path(), "/p");
            assert!(h.keep_alive, "{v}");
            // ...with HTTP/1.1's rules: Host is required, chunked is allowed.
            let no_host = format!("GET / {v}\r\n\r\n");
            assert_eq!(err(no_host.as_bytes()), RequestError::BadHost, "{v}");
            let te = format!("POST / {v}\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
            assert_eq!(ok(te.as_bytes()).framing, Framing::Chunked, "{v}");
        }
        // Not the version syntax (two digits, lower case): a malformed request line.
        for v in ["HTTP/1.10", "http/1.1", "HTTP/1", "HTTP/11"] {
            let buf = format!("GET / {v}\r\nHost: a\r\n\r\n");
            assert_eq!(err(buf.as_bytes()), RequestError::BadRequestLine, "{v}");
        }
        // Only the version slot is rewritten: "HTTP/1.2" elsewhere in the head stays.
        let h = ok(b"GET /HTTP/1.2 HTTP/1.2\r\nHost: a\r\nX: HTTP/1.2\r\n\r\n");
        assert_eq!(h.target.path(), "/HTTP/1.2");
        assert_eq!(h.headers["x"], "HTTP/1.2");
    }

    #[test]
    fn target_forms() {
        let h = ok(b"GET http://example.org:8080/p?q HTTP/1.1\r\nHost: example.org:8080\r\n\r\n");
        assert_eq!(h.target.scheme_str(), Some("http"));
        assert_eq!(h.target.path(), "/p");
        assert_eq!(h.host.as_deref(), Some("example.org:8080".as_bytes()));
        let h = ok(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
        assert_eq!(
            h.target.authority().map(|a| a.as_str()),
            Some("example.org:443")
        );
        let h = ok(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.target, "*");
        assert_eq!(
            err(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::AsteriskNotOptions
        );
        // A fragment is in no form of request-target (RFC 9112 §3.2).
        for t in ["/p#f", "/#", "http://a/p#f", "/p?q#f"] {
            let buf = format!("GET {t} HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(err(buf.as_bytes()), RequestError::BadRequestLine, "{t}");
        }
        // authority-form only with CONNECT, and CONNECT only with authority-form.
        assert_eq!(
            err(b"GET example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"GET example.org HTTP/1.1\r\nHost: example.org\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"CONNECT example.org HTTP/1.1\r\nHost: example.org\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"CONNECT http://example.org:80/ HTTP/1.1\r\nHost: example.org:80\r\n\r\n"),
            RequestError::BadRequestLine
        );
        // absolute-form needs an authority, no userinfo.
        assert_eq!(
            err(b"GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"GET http://u@a/p HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadRequestLine
        );
        assert_eq!(
            err(b"GET http://a:99999/ HTTP/1.1\r\nHost: a:99999\r\n\r\n"),
            RequestError::BadRequestLine
        );
        // http::Uri is lenient like Kestrel: `{` and UTF-8 in the path are kept as sent.
        assert_eq!(
            ok(b"GET /a{b HTTP/1.1\r\nHost: a\r\n\r\n").target.path(),
            "/a{b"
        );
        assert_eq!(
            ok(b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n")
                .target
                .path(),
            "/\u{e9}"
        );
        assert_eq!(
            err(b"OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadRequestLine
        );
    }

    #[test]
    fn host_rules() {
        // HTTP/1.1 needs exactly one Host.
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), RequestError::BadHost);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            RequestError::BadHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            RequestError::BadHost
        );
        // HTTP/1.0 may omit it.
        assert_eq!(ok(b"GET / HTTP/1.0\r\n\r\n").host, None);
        assert_eq!(
            ok(b"GET / HTTP/1.0\r\nHost: a\r\n\r\n").host.as_deref(),
            Some(&b"a"[..])
        );
        // Empty Host is allowed by RFC 9112 §3.2.
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nHost: \r\n\r\n").host.as_deref(),
            Some(&b""[..])
        );
        // Valid forms.
        for good in [
            "a.b-c_d~e",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "EXAMPLE.org:65535",
            "a%20b",
        ] {
            let buf = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert_eq!(ok(buf.as_bytes()).host.as_deref(), Some(good.as_bytes()));
        }
        // Invalid forms.
        for bad in [
            "a b", "a/b", "u@a", "a:", "a:x", "a:65536", "a:123456", ":80", "[::1", "[::g]",
            "[::1]x", "::1", "a:1:2", "a%2", "a\"b",
        ] {
            let buf = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(err(buf.as_bytes()), RequestError::BadHost, "{bad}");
        }
        // Absolute-form: Host must match the authority (case-insensitive).
        let h = ok(b"GET http://Example.org/ HTTP/1.1\r\nHost: example.ORG\r\n\r\n");
        assert_eq!(h.host.as_deref(), Some("Example.org".as_bytes()));
        assert_eq!(
            err(b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"),
            RequestError::BadHost
        );
        assert_eq!(
            err(b"GET http://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::BadHost
        );
        assert_eq!(
            err(b"CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n"),
            RequestError::BadHost
        );
        // Only ASCII is accepted (RequestHead::host is then valid UTF-8).
        for b in 0..=255u8 {
            for v in [vec![b'a', b], vec![b], [b"a:8".as_slice(), &[b]].concat()] {
                for v in [v.clone(), [b"[::1]".as_slice(), &v].concat()] {
                    assert!(!is_valid_host_value(&v) || v.is_ascii(), "{v:?}");
                }
            }
        }
        // HTTP/1.0 absolute-form without Host takes the target's authority.
        let h = ok(b"GET http://a:81/x HTTP/1.0\r\n\r\n");
        assert_eq!(h.host.as_deref(), Some("a:81".as_bytes()));
        assert_eq!(
            err(b"GET http://a/ HTTP/1.1\r\n\r\n"),
            RequestError::BadHost
        );
    }

    fn framing(fields: &str) -> Result<Framing, RequestError> {
        let buf = format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        parse(buf.as_bytes()).map(|o| o.expect("complete").0.framing)
    }

    #[test]
    fn content_length() {
        assert_eq!(framing(""), Ok(Framing::None));
        assert_eq!(framing("Content-Length: 0\r\n"), Ok(Framing::Length(0)));
        assert_eq!(framing("Content-Length: 42\r\n"), Ok(Framing::Length(42)));
        assert_eq!(framing("Content-Length: 007\r\n"), Ok(Framing::Length(7)));
        assert_eq!(
            framing("Content-Length: 18446744073709551615\r\n"),
            Ok(Framing::Length(u64::MAX))
        );
        // Identical repeats collapse.
        assert_eq!(
            framing("Content-Length: 5\r\nContent-Length: 5\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(framing("Content-Length: 5, 5\r\n"), Ok(Framing::Length(5)));
        for bad in [
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5, 6\r\n",
            "Content-Length: 5,\r\n",
            "Content-Length: ,5\r\n",
            "Content-Length: \r\n",
            "Content-Length: +5\r\n",
            "Content-Length: -5\r\n",
            "Content-Length: 5 5\r\n",
            "Content-Length: 0x5\r\n",
            "Content-Length: 5a\r\n",
            "Content-Length: 18446744073709551616\r\n",
            "Content-Length: 99999999999999999999999\r\n",
        ] {
            assert_eq!(framing(bad), Err(RequestError::BadFraming), "{bad}");
        }
    }

    #[test]
    fn transfer_encoding() {
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: CHUNKED\r\n"),
            Ok(Framing::Chunked)
        );
        // Empty list elements are ignored (RFC 9110 §5.6.1).
        assert_eq!(
            framing("Transfer-Encoding: chunked,\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: , chunked\r\n"),
            Ok(Framing::Chunked)
        );
        // A coding other than chunked before the final chunked: we decode chunked only,
        // so the body would reach the handler still encoded. 501 (RFC 9112 §6.1), which
        // closes the connection like every refusal.
        for unknown in [
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: identity, chunked\r\n",
            "Transfer-Encoding: Identity ,chunked\r\n",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: x;a=1, chunked\r\n",
        ] {
            assert_eq!(
                framing(unknown),
                Err(RequestError::UnknownTransferCoding),
                "{unknown}"
            );
        }
        assert_eq!(RequestError::UnknownTransferCoding.status(), 501);
        for bad in [
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
            "Transfer-Encoding: chunked, identity\r\n",
            "Transfer-Encoding: identity\r\n",
            "Transfer-Encoding: chunkedx\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked;q=1\r\n",
            "Transfer-Encoding: \r\n",
            "Transfer-Encoding: x y, chunked\r\n",
            "Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        ] {
            assert_eq!(framing(bad), Err(RequestError::BadFraming), "{bad}");
        }
        assert_eq!(
            err(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::BadFraming
        );
    }

    fn head_with(version: &str, fields: &str) -> RequestHead {
        let buf = format!("GET / {version}\r\nHost: a\r\n{fields}\r\n");
        ok(buf.as_bytes())
    }

    #[test]
    fn keep_alive() {
        assert!(head_with("HTTP/1.1", "").keep_alive);
        assert!(!head_with("HTTP/1.1", "Connection: close\r\n").keep_alive);
        assert!(!head_with("HTTP/1.1", "Connection: foo, CLOSE\r\n").keep_alive);
        assert!(!head_with("HTTP/1.1", "Connection: foo\r\nConnection: Close\r\n").keep_alive);
        assert!(head_with("HTTP/1.1", "Connection: closed\r\n").keep_alive);
        assert!(!head_with("HTTP/1.0", "").keep_alive);
        assert!(head_with("HTTP/1.0", "Connection: Keep-Alive\r\n").keep_alive);
        assert!(head_with("HTTP/1.0", "Connection: x,keep-alive\r\n").keep_alive);
        assert!(!head_with("HTTP/1.0", "Connection: keep-alive, close\r\n").keep_alive);
        assert!(!head_with("HTTP/1.0", "Connection: keep-alivex\r\n").keep_alive);
    }

    #[test]
    fn expect_continue() {
        assert!(head_with("HTTP/1.1", "Expect: 100-continue\r\n").expect_continue);
        assert!(head_with("HTTP/1.1", "Expect: 100-Continue\r\n").expect_continue);
        assert!(!head_with("HTTP/1.1", "Expect: 100-continuex\r\n").expect_continue);
        assert!(!head_with("HTTP/1.1", "").expect_continue);
        assert!(!head_with("HTTP/1.0", "Expect: 100-continue\r\n").expect_continue);
    }

    #[test]
    fn upgrade() {
        assert!(head_with("HTTP/1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\n").upgrade);
        assert!(
            head_with(
                "HTTP/1.1",
                "Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\n"
            )
            .upgrade
        );
        assert!(!head_with("HTTP/1.1", "Upgrade: websocket\r\n").upgrade);
        assert!(!head_with("HTTP/1.1", "Connection: upgrade\r\n").upgrade);
        assert!(!head_with("HTTP/1.0", "Connection: upgrade\r\nUpgrade: websocket\r\n").upgrade);
    }

    #[test]
    fn no_panic_on_prefixes_of_odd_inputs() {
        let inputs: [&[u8]; 6] = [
            b"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 1, 1\r\n\r\n",
            b"\r\n\r\nOPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"\x16\x03\x01",
            b"\xff\xfe\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n",
        ];
        for input in inputs {
            for i in 0..=input.len() {
                let _ = parse(&input[..i]);
                let mut l = limits();
                l.allow_bare_lf = true;
                l.max_request_line_size = 5;
                l.max_headers_total_size = 5;
                l.max_header_count = 1;
                let _ = parse_head(&input[..i], &l);
                l.max_request_line_size = 0;
                l.max_headers_total_size = 0;
                l.max_header_count = 0;
                let _ = parse_head(&input[..i], &l);
            }
        }
    }

    #[test]
    fn all_errors_are_4xx_or_5xx() {
        for e in [
            err(b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n"),
            err(b"GET / HTTP/1.1\nHost: a\r\n\r\n"),
            err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        ] {
            assert_eq!(e.status(), 400);
        }
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n")
                .status(),
            501
        );
        assert_eq!(err(b"GET / HTTP/2.0\r\n\r\n").status(), 505);
    }

    #[test]
    fn pseudo_random_inputs_do_not_panic() {
        // Deterministic LCG over an alphabet of head-significant bytes.
        let alphabet = b"GET /*:\r\n \t\x00\x7f\xff,;=\"[]HTP1.0chunked";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (x >> 58) as usize;
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                buf.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            let _ = parse(&buf);
            let _ = parse(&buf[16..]);
        }
    }
}

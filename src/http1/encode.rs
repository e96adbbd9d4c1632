//! Response head encoding (sans-I/O).

use http::header::{HeaderMap, CONNECTION, CONTENT_LENGTH, DATE, SERVER, TRANSFER_ENCODING};
use http::StatusCode;

/// How the response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body and no length header (1xx, 204, 304, 101).
    NoBody,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Delimited by closing the connection (HTTP/1.0 with unknown length).
    Close,
}

/// What the encoder needs besides the status and headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadOptions {
    pub framing: Framing,
    /// `Some(true)`: `Connection: keep-alive` (HTTP/1.0 keep-alive); `Some(false)`:
    /// `Connection: close`; `None`: no Connection header of ours.
    pub connection: Option<bool>,
    pub server_header: bool,
}

/// Appends the status line and headers of a response, with the server's own Date,
/// Server, framing and Connection headers, to `out`. The application's framing and
/// Connection headers are dropped: the server owns them.
pub(crate) fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    opts: HeadOptions,
) {
    // Few pieces, each copied whole: a copy costs about the same for 2 bytes as for 40.
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // One pass over the (few) names instead of a hashed lookup for each.
    let (mut has_date, mut has_server) = (false, false);
    for name in headers.keys() {
        has_date |= name == DATE;
        has_server |= name == SERVER;
    }
    if !has_date {
        crate::date::with_line(|line| out.extend_from_slice(line));
    }
    if opts.server_header && !has_server {
        out.extend_from_slice(crate::exchange::SERVER_LINE);
    }
    match opts.framing {
        Framing::Length(n) => {
            push_content_length(out, n);
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::NoBody | Framing::Close => {}
    }
    match opts.connection {
        Some(true) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        Some(false) => out.extend_from_slice(b"Connection: close\r\n"),
        None => {}
    }
    let upgrade = status == StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || (name == CONNECTION && !upgrade) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the line `Content-Length: n\r\n`, made on the stack.
fn push_content_length(out: &mut Vec<u8>, mut n: u64) {
    const NAME: &[u8] = b"Content-Length: ";
    // The name, at most 20 digits, CR LF.
    let mut line = [0u8; 38];
    let mut at = NAME.len() + 20;
    line[at..].copy_from_slice(b"\r\n");
    loop {
        at -= 1;
        line[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = at - NAME.len();
    line[start..at].copy_from_slice(NAME);
    out.extend_from_slice(&line[start..]);
}

/// An error response: no body unless `body` is given, `Connection: close`.
pub(crate) fn encode_error(out: &mut Vec<u8>, status: u16, body: &str, server_header: bool) {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut headers = HeaderMap::new();
    if !body.is_empty() {
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    encode_head(
        out,
        status,
        &headers,
        HeadOptions {
            framing: Framing::Length(body.len() as u64),
            connection: Some(false),
            server_header,
        },
    );
    out.extend_from_slice(body.as_bytes());
}

/// The chunk-size line of a chunk of `n` bytes (hex digits and CRLF), built on the stack:
/// returns the buffer and the line's length.
pub(crate) fn chunk_line(n: usize) -> ([u8; 18], usize) {
    let mut line = [0u8; 18];
    let (hex, digits) = crate::hex::lower_hex(n as u64);
    line[..digits].copy_from_slice(&hex[..digits]);
    line[digits] = b'\r';
    line[digits + 1] = b'\n';
    (line, digits + 2)
}

/// Whether the connection tokens of `headers` include `close`.
pub(crate) fn wants_close(headers: &HeaderMap) -> bool {
    headers.iter().any(|(name, v)| {
        name == CONNECTION
            && v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
                .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, h: &HeaderMap, framing: Framing, connection: Option<bool>) -> String {
        let mut out = Vec::new();
        encode_head(
            &mut out,
            StatusCode::from_u16(status).unwrap(),
            h,
            HeadOptions {
                framing,
                connection,
                server_header: true,
            },
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_status_date_server_and_length() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "text/plain".parse().unwrap());
        let s = head(200, &h, Framing::Length(13), None);
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{s}");
        assert!(
            s.contains(
                "\r\nServer: falconet\r\nContent-Length: 13\r\ncontent-type: text/plain\r\n\r\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn a_handlers_date_and_server_replace_the_servers_own() {
        let mut h = HeaderMap::new();
        h.insert("x-a", "1".parse().unwrap());
        h.insert("server", "mine".parse().unwrap());
        h.insert("date", "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap());
        let s = head(200, &h, Framing::Length(0), None);
        assert_eq!(s.matches("ate: ").count(), 1, "{s}");
        assert!(
            s.contains("\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            "{s}"
        );
        assert_eq!(s.matches("erver: ").count(), 1, "{s}");
        assert!(s.contains("\r\nserver: mine\r\n"), "{s}");
    }

    #[test]
    fn server_owns_framing_and_connection_headers() {
        let mut h = HeaderMap::new();
        h.insert("content-length", "99".parse().unwrap());
        h.insert("transfer-encoding", "gzip".parse().unwrap());
        h.insert("connection", "keep-alive".parse().unwrap());
        let s = head(200, &h, Framing::Chunked, Some(false));
        assert!(!s.contains("99"), "{s}");
        assert!(!s.contains("gzip"), "{s}");
        assert!(
            s.contains("Transfer-Encoding: chunked\r\nConnection: close\r\n"),
            "{s}"
        );
        assert_eq!(s.matches("onnection").count(), 1, "{s}");
    }

    #[test]
    fn error_response_has_zero_length_and_close() {
        let mut out = Vec::new();
        encode_error(&mut out, 431, "", false);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{s}"
        );
        assert!(
            s.contains("Content-Length: 0\r\nConnection: close\r\n"),
            "{s}"
        );
        assert!(!s.contains("Server:"), "{s}");
    }

    #[test]
    fn the_server_line_names_the_server() {
        let line = format!("Server: {}\r\n", crate::exchange::SERVER_NAME);
        let s = head(404, &HeaderMap::new(), Framing::Length(0), None);
        assert!(s.starts_with("HTTP/1.1 404 Not Found\r\nDate: "), "{s}");
        assert!(
            s.contains(&format!(" GMT\r\n{line}Content-Length: 0\r\n\r\n")),
            "{s}"
        );
    }

    #[test]
    fn content_lengths_are_decimal() {
        for n in [0, 7, 10, 13, 999, 1_048_576, u64::MAX] {
            let s = head(200, &HeaderMap::new(), Framing::Length(n), None);
            assert!(s.contains(&format!("\r\nContent-Length: {n}\r\n")), "{s}");
        }
    }

    #[test]
    fn chunk_lines_are_lowercase_hex() {
        for (n, want) in [
            (0, "0\r\n"),
            (9, "9\r\n"),
            (16, "10\r\n"),
            (16384, "4000\r\n"),
            (0xabc, "abc\r\n"),
        ] {
            let (line, len) = chunk_line(n);
            assert_eq!(&line[..len], want.as_bytes(), "{n}");
        }
        let (line, len) = chunk_line(usize::MAX);
        assert_eq!(len, usize::BITS as usize / 4 + 2);
        assert!(line[..len - 2].iter().all(|&b| b == b'f'));
    }

    #[test]
    fn connection_close_token_is_found_in_lists() {
        let mut h = HeaderMap::new();
        h.append("connection", "foo, Close".parse().unwrap());
        assert!(wants_close(&h));
        h.clear();
        h.append("connection", "keep-alive".parse().unwrap());
        assert!(!wants_close(&h));
        h.append("x-close", "close".parse().unwrap());
        assert!(!wants_close(&h));
        h.append("connection", "upgrade".parse().unwrap());
        h.append("connection", "close".parse().unwrap());
        assert!(wants_close(&h));
    }
}

//! End-to-end: malformed and hostile request bytes over raw TCP. Every bad request gets
//! the right status with `Content-Length: 0`, `Connection: close`, `Date` and `Server`,
//! the connection is then closed, nothing smuggled behind it runs, and the server keeps
//! serving new connections.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use falconet::{Body, Request, Response, ServerOptions};
use support::{
    assert_error_response, assert_error_shape, assert_serves, exchange, read_response, TestServer,
};

/// How long we wait for the server to answer and close after a bad request.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// A server whose handler echoes `METHOD path` and counts the requests it handled, in
/// total and for the path `/smuggled`.
struct Echo {
    server: TestServer,
    calls: Arc<AtomicUsize>,
    smuggled: Arc<AtomicUsize>,
}

fn echo_server(options: ServerOptions) -> Echo {
    let calls = Arc::new(AtomicUsize::new(0));
    let smuggled = Arc::new(AtomicUsize::new(0));
    let (c, s) = (calls.clone(), smuggled.clone());
    let server = support::start(options, move |req: Request| -> Response {
        c.fetch_add(1, Ordering::SeqCst);
        if req.uri().path() == "/smuggled" {
            s.fetch_add(1, Ordering::SeqCst);
        }
        let text = format!("{} {}", req.method(), req.uri());
        Response::new(Body::from(text))
    });
    Echo {
        server,
        calls,
        smuggled,
    }
}

fn echo() -> Echo {
    echo_server(support::options())
}

/// Sends `req` on a fresh connection and asserts exactly one error response with
/// `status` (empty body), then a close. Returns nothing; panics with the request shown.
fn expect_error(server: &TestServer, req: &[u8], status: u16) {
    let (responses, closed) = exchange(server, req, CLOSE_WITHIN);
    let shown = String::from_utf8_lossy(req);
    assert_eq!(
        responses.len(),
        1,
        "expected exactly one response to {shown:?}, got {responses:#?}"
    );
    assert_error_response(&responses[0], status);
    assert!(closed, "connection not closed after {status} for {shown:?}");
}

const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

/// Sends `first` immediately followed by a smuggled second request on one connection;
/// expects exactly one 400 and a close, and the second request never handled.
fn expect_smuggling_refused(e: &Echo, first: &[u8]) {
    let mut req = first.to_vec();
    req.extend_from_slice(SMUGGLED);
    expect_error(&e.server, &req, 400);
    assert_eq!(
        e.smuggled.load(Ordering::SeqCst),
        0,
        "smuggled request was executed after {:?}",
        String::from_utf8_lossy(first)
    );
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        0,
        "handler ran for {:?}",
        String::from_utf8_lossy(first)
    );
}

#[test]
fn good_request_baseline() {
    let e = echo();
    let (responses, _) = exchange(
        &e.server,
        b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        CLOSE_WITHIN,
    );
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].body_str(), "GET /x");
}

#[test]
fn malformed_request_lines_get_400() {
    let e = echo();
    for req in [
        &b"GET\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET /\r\nHost: a\r\n\r\n",
        b"hello world this is not http\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / http/1.1\r\nHost: a\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\x7f\x01garbage\r\n\r\n",
    ] {
        expect_error(&e.server, req, 400);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn malformed_header_fields_get_400() {
    let e = echo();
    for req in [
        // Bad header name.
        &b"GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        // Whitespace before the colon.
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A\t: 1\r\n\r\n",
        // obs-fold: a line starting with whitespace.
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n continued\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tcontinued\r\n\r\n",
        // Whitespace before the first field.
        b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        // Bare CR inside a field.
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n",
        // Bare CR as a line ending.
        b"GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n",
        // NUL and other control bytes in a value.
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7fb\r\n\r\n",
    ] {
        expect_error(&e.server, req, 400);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn bare_lf_rejected_by_default() {
    let e = echo();
    for req in [
        &b"GET / HTTP/1.1\nHost: a\n\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
    ] {
        expect_error(&e.server, req, 400);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn bare_lf_accepted_when_allowed() {
    let e = echo_server(ServerOptions {
        allow_bare_lf: true,
        ..support::options()
    });
    let (responses, _) = exchange(
        &e.server,
        b"GET /lf HTTP/1.1\nHost: a\nConnection: close\n\n",
        CLOSE_WITHIN,
    );
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].body_str(), "GET /lf");
    // A bare CR is still refused.
    expect_error(&e.server, b"GET / HTTP/1.1\nHost: a\rb\n\n", 400);
    assert_serves(&e.server);
}

#[test]
fn host_rules_get_400() {
    let e = echo();
    for req in [
        // Missing Host in HTTP/1.1.
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n",
        // Two Host fields (same or different values).
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        // Invalid Host values.
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        // Absolute-form target whose authority differs from Host.
        b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
        b"GET http://a.example:81/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
    ] {
        expect_error(&e.server, req, 400);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    // The matching absolute form is served.
    let (responses, _) = exchange(
        &e.server,
        b"GET http://a.example/p HTTP/1.1\r\nHost: A.example\r\nConnection: close\r\n\r\n",
        CLOSE_WITHIN,
    );
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 200);
    // HTTP/1.0 may omit Host.
    let (responses, _) = exchange(&e.server, b"GET /old HTTP/1.0\r\n\r\n", CLOSE_WITHIN);
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 200);
    assert_serves(&e.server);
}

fn get_with_host(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[test]
fn allowed_hosts_filter() {
    let e = echo_server(ServerOptions {
        allowed_hosts: vec!["example.org".into(), "*.example.net".into()],
        ..support::options()
    });
    for ok in [
        "example.org",
        "EXAMPLE.ORG",
        "example.org:8080",
        "a.example.net",
        "b.c.example.net",
    ] {
        let (responses, _) = exchange(&e.server, &get_with_host(ok), CLOSE_WITHIN);
        assert_eq!(responses.len(), 1, "{ok}: {responses:#?}");
        assert_eq!(responses[0].status, 200, "{ok} should be allowed");
    }
    let before = e.calls.load(Ordering::SeqCst);
    for bad in [
        "other.com",
        "example.org.evil.com",
        "example.net",
        "notexample.org",
    ] {
        expect_error(&e.server, &get_with_host(bad), 400);
    }
    // HTTP/1.0 without Host is not in the list either.
    expect_error(&e.server, b"GET / HTTP/1.0\r\n\r\n", 400);
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        before,
        "refused hosts reached the handler"
    );
    // Still serving allowed hosts.
    let (responses, _) = exchange(&e.server, &get_with_host("example.org"), CLOSE_WITHIN);
    assert_eq!(responses[0].status, 200);
}

#[test]
fn allowed_hosts_star_allows_all() {
    let e = echo_server(ServerOptions {
        allowed_hosts: vec!["*".into()],
        ..support::options()
    });
    for host in ["example.org", "other.com", "127.0.0.1:1234", "x"] {
        let (responses, _) = exchange(&e.server, &get_with_host(host), CLOSE_WITHIN);
        assert_eq!(responses.len(), 1, "{host}: {responses:#?}");
        assert_eq!(responses[0].status, 200, "{host} should be allowed with *");
    }
}

#[test]
fn smuggling_content_length_and_transfer_encoding() {
    let e = echo();
    for first in [
        &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        expect_smuggling_refused(&e, first);
    }
    assert_serves(&e.server);
}

#[test]
fn smuggling_bad_content_length() {
    let e = echo();
    for cl in [
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 5, 6",
        "Content-Length: +5",
        "Content-Length: -1",
        "Content-Length: 0x10",
        "Content-Length: 5 5",
        "Content-Length: 5a",
        "Content-Length: ",
        "Content-Length: 99999999999999999999999",
    ] {
        let first = format!("POST / HTTP/1.1\r\nHost: a\r\n{cl}\r\n\r\nhello");
        expect_smuggling_refused(&e, first.as_bytes());
    }
    assert_serves(&e.server);
}

#[test]
fn smuggling_bad_transfer_encoding() {
    let e = echo();
    for te in [
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunkedx",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
        "Transfer-Encoding: chunked, chunked",
        "Transfer-Encoding: ",
    ] {
        let first = format!("POST / HTTP/1.1\r\nHost: a\r\n{te}\r\n\r\n0\r\n\r\n");
        expect_smuggling_refused(&e, first.as_bytes());
    }
    // Transfer-Encoding in HTTP/1.0.
    expect_smuggling_refused(
        &e,
        b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_serves(&e.server);
}

/// RFC 9112 §6.1: a transfer coding the server does not implement (anything but
/// chunked; `identity` is not a registered coding any more) is 501, and like every
/// refusal closes the connection: the body, decoded as chunked alone, never reaches the
/// handler, and the request behind it is never read.
#[test]
fn unknown_transfer_coding_gets_501_and_close() {
    let e = echo();
    for te in [
        "Transfer-Encoding: identity, chunked",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: Identity ,Chunked",
        "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked",
    ] {
        let first = format!("POST / HTTP/1.1\r\nHost: a\r\n{te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        let mut req = first.into_bytes();
        req.extend_from_slice(SMUGGLED);
        expect_error(&e.server, &req, 501);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_eq!(e.smuggled.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn smuggling_bad_chunked_framing() {
    let e = echo();
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        // 17 hex digits (leading zeros count).
        "00000000000000005\r\nhello\r\n0\r\n\r\n",
        // 17 significant hex digits: overflows u64.
        "10000000000000000\r\nhello\r\n0\r\n\r\n",
        // Not hex.
        "zz\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        // Bare LF after the chunk size.
        "5\nhello\r\n0\r\n\r\n",
        // Bare LF inside a chunk extension (CVE-2025-55315 class).
        "5;a\nb\r\nhello\r\n0\r\n\r\n",
        "5;a=b\nc\r\nhello\r\n0\r\n\r\n",
        // Bare CR in the size line.
        "5\rhello\r\n0\r\n\r\n",
        // Chunk data not followed by CRLF.
        "5\r\nhelloXX\r\n0\r\n\r\n",
        "5\r\nhello0\r\n\r\n",
        "5\r\nhello\n0\r\n\r\n",
        // Bare LF after the last chunk.
        "0\n\r\n",
    ] {
        let first = format!("{head}{body}");
        expect_smuggling_refused(&e, first.as_bytes());
    }
    assert_serves(&e.server);
}

#[test]
fn unsupported_versions_get_505() {
    let e = echo();
    for req in [
        &b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/2.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/3.0\r\nHost: a\r\n\r\n",
        b"GET / HTTP/0.9\r\nHost: a\r\n\r\n",
    ] {
        expect_error(&e.server, req, 505);
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

/// RFC 9110 §6.2: a higher minor version of HTTP/1 is served as HTTP/1.1: persistent,
/// chunked allowed, Host required, and answered `HTTP/1.1`.
#[test]
fn higher_minor_versions_are_served_as_http_1_1() {
    let e = echo();
    let (responses, closed) = exchange(
        &e.server,
        b"POST /a HTTP/1.2\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n\
          GET /b HTTP/1.9\r\nHost: a\r\nConnection: close\r\n\r\n",
        CLOSE_WITHIN,
    );
    assert_eq!(responses.len(), 2, "{responses:#?}");
    for (r, body) in responses.iter().zip(["POST /a", "GET /b"]) {
        assert!(r.head.starts_with("HTTP/1.1 200 "), "{}", r.head);
        assert_eq!(r.body_str(), body);
    }
    assert!(closed);
    // HTTP/1.1's rules apply: no Host is 400.
    expect_error(&e.server, b"GET / HTTP/1.2\r\n\r\n", 400);
    // Not the version syntax: a malformed request line.
    expect_error(&e.server, b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    expect_error(&e.server, b"GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    assert_serves(&e.server);
}

/// No form of request-target carries a fragment (RFC 9112 §3.2): refused, not dropped.
#[test]
fn fragment_in_target_gets_400() {
    let e = echo();
    expect_error(&e.server, b"GET /p#f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error(
        &e.server,
        b"GET http://a/p#f HTTP/1.1\r\nHost: a\r\n\r\n",
        400,
    );
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn asterisk_target_only_with_options() {
    let e = echo();
    expect_error(&e.server, b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 405);
    expect_error(&e.server, b"POST * HTTP/1.1\r\nHost: a\r\n\r\n", 405);
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    let (responses, _) = exchange(
        &e.server,
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        CLOSE_WITHIN,
    );
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].body_str(), "OPTIONS *");
    assert_serves(&e.server);
}

/// The first bytes of a real TLS 1.2/1.3 ClientHello record (as curl sends it).
fn client_hello() -> Vec<u8> {
    let mut b = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, // record: handshake, TLS 1.0 compat, length 512
        0x01, 0x00, 0x01, 0xfc, // ClientHello, length 508
        0x03, 0x03, // client_version TLS 1.2
    ];
    b.extend((0..32u8).map(|i| i.wrapping_mul(37).wrapping_add(11))); // random
    b.push(0x20); // session id length
    b.extend((0..32u8).map(|i| i.wrapping_mul(13).wrapping_add(5)));
    b.extend_from_slice(&[0x00, 0x08, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0x00, 0xff]);
    b.extend_from_slice(&[0x01, 0x00]); // compression: null
    b.extend_from_slice(&[0x01, 0xab]); // extensions length
                                        // server_name extension for "localhost".
    b.extend_from_slice(&[0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09]);
    b.extend_from_slice(b"localhost");
    b.resize(517, 0); // padding extension bytes, as real clients pad to 512
    b
}

#[test]
fn tls_client_hello_on_plaintext_gets_400_mentioning_tls() {
    let e = echo();
    let (responses, closed) = exchange(&e.server, &client_hello(), CLOSE_WITHIN);
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_error_shape(&responses[0], 400);
    assert!(
        responses[0].body_str().contains("TLS"),
        "body should mention TLS: {:?}",
        responses[0].body_str()
    );
    assert!(closed);
    // Only the first bytes of the record: decided as soon as 0x16 0x03 arrives.
    let mut s = e.server.connect();
    s.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let resp = read_response(&mut s, false).expect("a response to a partial ClientHello");
    assert_error_shape(&resp, 400);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

/// Deterministic pseudo-random bytes with no CR or LF.
fn garbage(len: usize, mut x: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match (x >> 33) as u8 {
                b'\r' | b'\n' => b'x',
                b => b,
            }
        })
        .collect()
}

/// Writes `data` from a helper thread (ignoring errors: the server may stop reading)
/// while this thread reads the answer.
fn flood(server: &TestServer, data: Vec<u8>) -> (Vec<support::RawResponse>, bool, Duration) {
    let mut s = server.connect();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&data);
    });
    let t0 = Instant::now();
    let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(10));
    let elapsed = t0.elapsed();
    drop(s);
    writer.join().unwrap();
    (support::parse_responses(&bytes), closed.is_some(), elapsed)
}

#[test]
fn garbage_flood_without_line_end() {
    let e = echo();
    for seed in [1u64, 7, 42] {
        // Printable garbage: no control bytes, so only the size cap can stop it.
        let printable: Vec<u8> = garbage(100 * 1024, seed)
            .into_iter()
            .map(|b| b'!' + (b % 90))
            .collect();
        let (responses, closed, elapsed) = flood(&e.server, printable);
        assert_eq!(responses.len(), 1, "seed {seed}: {responses:#?}");
        assert_error_response(&responses[0], 414);
        assert!(closed);
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");

        // Fully random bytes: any 400 or 414 is right.
        let (responses, closed, elapsed) = flood(&e.server, garbage(100 * 1024, seed));
        assert_eq!(responses.len(), 1, "seed {seed}: {responses:#?}");
        assert!(
            responses[0].status == 400 || responses[0].status == 414,
            "{}",
            responses[0].head
        );
        assert_error_shape(&responses[0], responses[0].status);
        assert!(closed);
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn one_megabyte_request_line_gets_414() {
    let e = echo();
    let mut req = b"GET /".to_vec();
    req.resize(1024 * 1024, b'a');
    req.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    let (responses, closed, elapsed) = flood(&e.server, req);
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_error_response(&responses[0], 414);
    assert!(closed);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

#[test]
fn many_bad_connections_leave_the_server_healthy() {
    let e = echo();
    let bad: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
    ];
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addr = e.server.addr;
            let req = bad[t].to_vec();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let _ = s.write_all(&req);
                    let (bytes, closed) = support::read_until_close(&mut s, CLOSE_WITHIN);
                    let r = support::parse_responses(&bytes);
                    assert_eq!(r.len(), 1);
                    assert!(r[0].status >= 400);
                    assert!(closed.is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);
    assert_serves(&e.server);
}

//! End-to-end: every limit of `Limits` driven past its edge over raw TCP, with small
//! configured values so the tests are fast. Timing assertions are tight on the lower
//! bound (not before ~90% of the limit) and loose on the upper bound (+3 s or more).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use falconet::{
    Body, Handler, Limits, MinDataRate, Prepare, Request, RequestExt, Response, Server,
    ServerOptions,
};
use support::{
    assert_error_response, assert_serves, exchange, read_response, read_until_close, TestServer,
};

const CLOSE_WITHIN: Duration = Duration::from_secs(5);

fn with_limits(limits: Limits) -> ServerOptions {
    ServerOptions {
        limits,
        ..support::options()
    }
}

/// Echoes `METHOD path len=<body length>`.
fn echo_handler(req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let len = body.into_bytes().map(|b| b.len()).unwrap_or(usize::MAX);
    Response::new(Body::from(format!(
        "{} {} len={len}",
        parts.method,
        parts.uri.path()
    )))
}

fn echo_server(limits: Limits) -> TestServer {
    support::start(with_limits(limits), echo_handler)
}

/// Sends `req` and expects exactly one response with `status` and body-less error
/// shape, then a close.
fn expect_error(server: &TestServer, req: &[u8], status: u16) {
    let (responses, closed) = exchange(server, req, CLOSE_WITHIN);
    assert_eq!(
        responses.len(),
        1,
        "expected one response to a {}-byte request, got {responses:#?}",
        req.len()
    );
    assert_error_response(&responses[0], status);
    assert!(closed, "connection not closed after {status}");
}

/// Sends `req` (which must say `Connection: close`) and expects a 200.
fn expect_ok(server: &TestServer, req: &[u8]) -> support::RawResponse {
    let (responses, _) = exchange(server, req, CLOSE_WITHIN);
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_eq!(responses[0].status, 200, "{}", responses[0].head);
    responses[0].clone()
}

fn elapsed_in(d: Duration, lo: Duration, hi: Duration, what: &str) {
    assert!(d >= lo, "{what}: after {d:?}, expected not before {lo:?}");
    assert!(d <= hi, "{what}: after {d:?}, expected by {hi:?}");
}

// ---------------------------------------------------------------- head size limits

/// A request line of exactly `len` bytes including its CRLF.
fn request_line_of(len: usize) -> String {
    let fixed = "GET / HTTP/1.1\r\n".len();
    assert!(len >= fixed);
    format!("GET /{} HTTP/1.1\r\n", "a".repeat(len - fixed))
}

#[test]
fn max_request_line_size_edge() {
    let server = echo_server(Limits {
        max_request_line_size: 64,
        ..Limits::default()
    });
    let at = format!(
        "{}Host: a\r\nConnection: close\r\n\r\n",
        request_line_of(64)
    );
    assert_eq!(request_line_of(64).len(), 64);
    expect_ok(&server, at.as_bytes());
    let over = format!(
        "{}Host: a\r\nConnection: close\r\n\r\n",
        request_line_of(65)
    );
    expect_error(&server, over.as_bytes(), 414);
    // Over the limit with the line end not yet sent: decided from the size alone.
    let mut s = server.connect();
    s.write_all(request_line_of(200).as_bytes().split_at(100).0)
        .unwrap();
    let resp = read_response(&mut s, false).expect("414 before the line ends");
    assert_error_response(&resp, 414);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

/// A header section (fields plus the final CRLF) of exactly `len` bytes.
fn header_section_of(len: usize) -> String {
    let fixed = "Host: a\r\nConnection: close\r\nX-Fill: \r\n\r\n".len();
    assert!(len >= fixed);
    format!(
        "Host: a\r\nConnection: close\r\nX-Fill: {}\r\n\r\n",
        "f".repeat(len - fixed)
    )
}

#[test]
fn max_request_headers_total_size_edge() {
    let server = echo_server(Limits {
        max_request_headers_total_size: 128,
        ..Limits::default()
    });
    assert_eq!(header_section_of(128).len(), 128);
    let at = format!("GET / HTTP/1.1\r\n{}", header_section_of(128));
    expect_ok(&server, at.as_bytes());
    let over = format!("GET / HTTP/1.1\r\n{}", header_section_of(129));
    expect_error(&server, over.as_bytes(), 431);
    assert_serves(&server);
}

fn with_header_count(n: usize) -> String {
    // Host and Connection are two of the n fields.
    let mut req = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n".to_string();
    for i in 0..n - 2 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    req
}

#[test]
fn max_request_header_count_edge() {
    let server = echo_server(Limits {
        max_request_header_count: 5,
        ..Limits::default()
    });
    expect_ok(&server, with_header_count(5).as_bytes());
    expect_error(&server, with_header_count(6).as_bytes(), 431);
    assert_serves(&server);
}

#[test]
fn default_head_limits() {
    let server = echo_server(Limits::default());
    // 9 KB request line with the default 8 KiB MaxRequestLineSize.
    let req = format!("{}Host: a\r\n\r\n", request_line_of(9 * 1024));
    expect_error(&server, req.as_bytes(), 414);
    // Just under the default is fine.
    let req = format!(
        "{}Host: a\r\nConnection: close\r\n\r\n",
        request_line_of(8192)
    );
    expect_ok(&server, req.as_bytes());
    // 33 KB of headers with the default 32 KiB MaxRequestHeadersTotalSize (in few fields,
    // so the count limit is not what triggers).
    let mut req = "GET / HTTP/1.1\r\nHost: a\r\n".to_string();
    for i in 0..33 {
        req.push_str(&format!("X-Big-{i}: {}\r\n", "b".repeat(1000)));
    }
    req.push_str("\r\n");
    expect_error(&server, req.as_bytes(), 431);
    // 101 fields with the default MaxRequestHeaderCount of 100.
    expect_error(&server, with_header_count(101).as_bytes(), 431);
    expect_ok(&server, with_header_count(100).as_bytes());
    assert_serves(&server);
}

// ---------------------------------------------------------------- body size

/// Overrides MaxRequestBodySize per request by path.
struct BodyLimitByPath;

impl Handler for BodyLimitByPath {
    fn prepare(&self, req: &mut Prepare<'_>) {
        match req.uri().path() {
            "/max2000" => req.set_max_request_body_size(Some(2000)),
            "/unlimited" => req.set_max_request_body_size(None),
            _ => {}
        }
    }

    fn handle(&self, req: Request) -> Response {
        echo_handler(req)
    }
}

fn post(path: &str, body_len: usize) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    req.resize(req.len() + body_len, b'x');
    req
}

fn chunked_post(path: &str, chunks: &[usize]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for &c in chunks {
        req.extend_from_slice(format!("{c:x}\r\n").as_bytes());
        req.resize(req.len() + c, b'y');
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

#[test]
fn max_request_body_size_content_length() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = support::start(
        with_limits(Limits {
            max_request_body_size: Some(1000),
            ..Limits::default()
        }),
        move |req: Request| {
            c.fetch_add(1, Ordering::SeqCst);
            echo_handler(req)
        },
    );
    assert_eq!(
        expect_ok(&server, &post("/", 1000)).body_str(),
        "POST / len=1000"
    );
    // Over the limit: 413 from the head alone, before any body byte is sent.
    let mut s = server.connect();
    let t0 = Instant::now();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut s, false).expect("413 without the body");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_error_response(&resp, 413);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    // Huge declared lengths too.
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut s, false).expect("413");
    assert_error_response(&resp, 413);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "handler ran for a refused body"
    );
    assert_serves(&server);
}

#[test]
fn max_request_body_size_chunked() {
    let server = echo_server(Limits {
        max_request_body_size: Some(1000),
        ..Limits::default()
    });
    assert_eq!(
        expect_ok(&server, &chunked_post("/", &[500, 500])).body_str(),
        "POST / len=1000"
    );
    expect_error(&server, &chunked_post("/", &[500, 501]), 413);
    expect_error(&server, &chunked_post("/", &[1001]), 413);
    // The limit is hit mid-stream: the client has not finished sending and gets 413.
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut chunk = b"4b0\r\n".to_vec(); // 1200 bytes, no terminator sent
    chunk.resize(chunk.len() + 1200, b'z');
    s.write_all(&chunk).unwrap();
    let resp = read_response(&mut s, false).expect("413 while the body is still open");
    assert_error_response(&resp, 413);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

#[test]
fn max_request_body_size_overrides_and_none() {
    let server = support::start(
        with_limits(Limits {
            max_request_body_size: Some(1000),
            ..Limits::default()
        }),
        BodyLimitByPath,
    );
    expect_error(&server, &post("/", 1001), 413);
    assert_eq!(
        expect_ok(&server, &post("/max2000", 1001)).body_str(),
        "POST /max2000 len=1001"
    );
    assert_eq!(
        expect_ok(&server, &chunked_post("/max2000", &[1000, 1000])).body_str(),
        "POST /max2000 len=2000"
    );
    expect_error(&server, &post("/max2000", 2001), 413);
    expect_error(&server, &chunked_post("/max2000", &[1000, 1001]), 413);
    assert_eq!(
        expect_ok(&server, &post("/unlimited", 5000)).body_str(),
        "POST /unlimited len=5000"
    );

    // Configured None: no limit at all.
    let server = echo_server(Limits {
        max_request_body_size: None,
        ..Limits::default()
    });
    assert_eq!(
        expect_ok(&server, &post("/", 5000)).body_str(),
        "POST / len=5000"
    );
    assert_eq!(
        expect_ok(&server, &chunked_post("/", &[2500, 2500])).body_str(),
        "POST / len=5000"
    );
}

// ---------------------------------------------------------------- timeouts

fn timeouts(headers: u64, keep_alive: u64) -> Limits {
    Limits {
        request_headers_timeout: Duration::from_secs(headers),
        keep_alive_timeout: Duration::from_secs(keep_alive),
        ..Limits::default()
    }
}

/// Deadlines are kept to within milliseconds, not to the timer thread's sweep, which runs
/// at the next deadline it knows of and at least once a second: a connection that parks
/// with a deadline earlier than the next sweep wakes the timer thread to look again. Three
/// keep-alive connections in turn on an otherwise idle server, KeepAliveTimeout 300 ms:
/// each used to be closed about a second after its response.
#[test]
fn keep_alive_timeout_is_kept_to_the_millisecond_not_to_the_second() {
    let server = echo_server(Limits {
        keep_alive_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    // Under an emulator every step is slower.
    let late = if support::test_runner().is_empty() {
        Duration::from_millis(700)
    } else {
        Duration::from_secs(2)
    };
    for round in 0..3 {
        let mut s = server.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s, false).expect("response").status, 200);
        let t0 = Instant::now();
        assert!(
            support::closed_within(&mut s, CLOSE_WITHIN),
            "round {round}: not closed"
        );
        elapsed_in(
            t0.elapsed(),
            Duration::from_millis(250),
            late,
            &format!("round {round}: closed for keep-alive"),
        );
    }
}

#[test]
fn request_headers_timeout_half_head() {
    let server = echo_server(timeouts(1, 30));
    let mut s = server.connect();
    let t0 = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Half: ")
        .unwrap();
    let resp = read_response(&mut s, false).expect("408");
    elapsed_in(
        t0.elapsed(),
        Duration::from_millis(900),
        Duration::from_secs(4),
        "408 for a stalled head",
    );
    assert_error_response(&resp, 408);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

/// A client that stalls inside a prefix of the HTTP/2 client preface (while HTTP/1 and
/// HTTP/2 are still being told apart) is held to RequestHeadersTimeout like any head.
#[cfg(feature = "http2")]
#[test]
fn request_headers_timeout_partial_http2_preface() {
    let server = echo_server(timeouts(1, 30));
    let mut s = server.connect();
    let t0 = Instant::now();
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let resp = read_response(&mut s, false).expect("408");
    elapsed_in(
        t0.elapsed(),
        Duration::from_millis(900),
        Duration::from_secs(4),
        "408 for a stalled preface",
    );
    assert_error_response(&resp, 408);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

#[test]
fn request_headers_timeout_slowloris() {
    let server = echo_server(timeouts(1, 30));
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let t0 = Instant::now();
    s.write_all(b"G").unwrap();
    let mut got = Vec::new();
    let mut tmp = [0u8; 1024];
    let head = b"ET / HTTP/1.1\r\nHost: a\r\nX-Slow: abcdefghijklmnopqrstuvwxyzabcdefghij";
    let mut next = head.iter();
    // One byte every 200 ms; never finishes within the 8 s bound.
    let mut answered_at = None;
    while t0.elapsed() < Duration::from_secs(8) {
        match s.read(&mut tmp) {
            Ok(0) => {
                answered_at = Some(t0.elapsed());
                break;
            }
            Ok(n) => {
                if got.is_empty() {
                    answered_at = Some(t0.elapsed());
                }
                got.extend_from_slice(&tmp[..n]);
                continue;
            }
            Err(_) => {}
        }
        if let Some(b) = next.next() {
            if s.write_all(&[*b]).is_err() {
                break;
            }
        }
    }
    let first_byte_at = answered_at.expect("server answered within 8 s");
    elapsed_in(
        first_byte_at,
        Duration::from_millis(900),
        Duration::from_secs(4),
        "408 for a slowloris client",
    );
    let responses = support::parse_responses(&got);
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_error_response(&responses[0], 408);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

#[test]
fn silent_connection_uses_keep_alive_timeout_not_408() {
    // Headers timeout 1 s, keep-alive 2 s: a connection that sends nothing is closed
    // quietly after the keep-alive timeout.
    let server = echo_server(timeouts(1, 2));
    let mut s = server.connect();
    let t0 = Instant::now();
    let (bytes, closed) = read_until_close(&mut s, Duration::from_secs(8));
    let closed = closed.expect("idle connection closed");
    assert!(
        bytes.is_empty(),
        "no bytes expected: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    elapsed_in(
        closed - t0,
        Duration::from_millis(1800),
        Duration::from_secs(6),
        "close of a silent connection",
    );
    assert_serves(&server);
}

#[test]
fn keep_alive_timeout_closes_idle_connection() {
    let server = echo_server(timeouts(30, 1));
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let resp = read_response(&mut s, false).expect("a response");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("connection")
        .is_none_or(|c| !c.eq_ignore_ascii_case("close")));
    let t0 = Instant::now();
    let (bytes, closed) = read_until_close(&mut s, Duration::from_secs(6));
    let closed = closed.expect("idle keep-alive connection closed");
    assert!(
        bytes.is_empty(),
        "no bytes expected: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    elapsed_in(
        closed - t0,
        Duration::from_millis(900),
        Duration::from_secs(4),
        "keep-alive close",
    );
    // A second request right after a response resets the idle timer.
    let mut s = server.connect();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(600));
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s, false).expect("served").status, 200);
    }
    assert_serves(&server);
}

// ---------------------------------------------------------------- body data rate

fn body_rate_limits() -> Limits {
    Limits {
        min_request_body_data_rate: Some(MinDataRate::new(100, Duration::from_secs(2)).unwrap()),
        ..Limits::default()
    }
}

/// Disables the body rate for `/slow`.
struct SlowPathAllowed;

impl Handler for SlowPathAllowed {
    fn prepare(&self, req: &mut Prepare<'_>) {
        if req.uri().path() == "/slow" {
            req.set_min_request_body_data_rate(None);
        }
    }

    fn handle(&self, req: Request) -> Response {
        echo_handler(req)
    }
}

#[test]
fn min_request_body_data_rate_stalled_body() {
    let server = support::start(with_limits(body_rate_limits()), SlowPathAllowed);
    let mut s = server.connect();
    let t0 = Instant::now();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n0123456789")
        .unwrap();
    let resp = read_response(&mut s, false).expect("408");
    elapsed_in(
        t0.elapsed(),
        Duration::from_millis(1800),
        Duration::from_secs(6),
        "408 for a stalled body",
    );
    assert_error_response(&resp, 408);
    assert!(support::closed_within(&mut s, CLOSE_WITHIN));
    assert_serves(&server);
}

#[test]
fn min_request_body_data_rate_fast_enough_client_completes() {
    let server = support::start(with_limits(body_rate_limits()), SlowPathAllowed);
    let mut s = server.connect();
    // 1200 bytes at 400 B/s: 40 bytes every 100 ms for 3 s.
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 1200\r\n\r\n")
        .unwrap();
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(&[b'r'; 40]).unwrap();
    }
    let resp = read_response(&mut s, false).expect("a response");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "POST / len=1200");
}

#[test]
fn min_request_body_data_rate_disabled_per_request() {
    let server = support::start(with_limits(body_rate_limits()), SlowPathAllowed);
    let mut s = server.connect();
    s.write_all(
        b"POST /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 20\r\n\r\n01234",
    )
    .unwrap();
    // Stall well past the 2 s grace period.
    std::thread::sleep(Duration::from_millis(3500));
    s.write_all(b"56789abcdefghij").unwrap();
    let resp = read_response(&mut s, false).expect("a response");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "POST /slow len=20");
}

// ---------------------------------------------------------------- response data rate

/// A client socket with a small receive buffer, so the server cannot park megabytes of
/// the response in kernel buffers (which would earn it a long allowance).
fn connect_small_rcvbuf(server: &TestServer) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&server.addr.into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

const BIG: u64 = 64 << 20;

fn big_body() -> Body {
    Body::from_reader(std::io::repeat(b'x').take(BIG), Some(BIG))
}

/// Waits (at most `within`) until the server counts at most `n` open connections.
fn wait_connections_at_most(server: &TestServer, n: u64, within: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if server.handle.connections() <= n {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The stalled client never reads; the server must give up on it within grace + a few
/// seconds while another client is served meanwhile. Then reading the stalled socket
/// ends (EOF or reset) well short of the full body.
fn assert_stalled_reader_cut_off(server: &TestServer, path: &str) {
    let mut s = connect_small_rcvbuf(server);
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
        .unwrap();
    // Meanwhile another client is served.
    std::thread::sleep(Duration::from_millis(300));
    assert_serves(server);
    let cut = wait_connections_at_most(server, 0, Duration::from_secs(10));
    assert!(
        cut.is_some(),
        "server still holds the stalled connection after 10 s ({} open)",
        server.handle.connections()
    );
    // Drain what the kernel buffered: bounded, and it ends.
    let t0 = Instant::now();
    let mut total = 0u64;
    let mut tmp = vec![0u8; 64 * 1024];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ended = loop {
        if t0.elapsed() > Duration::from_secs(10) {
            break false;
        }
        match s.read(&mut tmp) {
            Ok(0) => break true,
            Ok(n) => total += n as u64,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break false
            }
            Err(_) => break true,
        }
    };
    assert!(ended, "stalled connection not closed (read {total} bytes)");
    assert!(total < BIG, "the whole body was delivered: {total}");
    assert_serves(server);
}

#[test]
fn min_response_data_rate_cuts_off_a_client_that_does_not_read() {
    let server = support::start(
        with_limits(Limits {
            min_response_data_rate: Some(MinDataRate::new(1000, Duration::from_secs(2)).unwrap()),
            ..Limits::default()
        }),
        |req: Request| match req.uri().path() {
            "/big" => Response::new(big_body()),
            _ => Response::new(Body::from("ok")),
        },
    );
    assert_stalled_reader_cut_off(&server, "/big");
}

/// The same with a rate high enough that what the kernel absorbs at once (a few MB of
/// socket buffers on loopback) earns less than the grace period: isolates the cut-off
/// mechanism from how buffered bytes are credited.
#[test]
fn min_response_data_rate_high_rate_cuts_off_quickly() {
    let server = support::start(
        with_limits(Limits {
            min_response_data_rate: Some(
                MinDataRate::new(10_000_000, Duration::from_secs(2)).unwrap(),
            ),
            ..Limits::default()
        }),
        |req: Request| match req.uri().path() {
            "/big" => Response::new(big_body()),
            _ => Response::new(Body::from("ok")),
        },
    );
    assert_stalled_reader_cut_off(&server, "/big");
}

#[test]
fn min_response_data_rate_set_by_request_control() {
    // No server-wide rate; the handler sets one for its own response (high, as above).
    let server = support::start(
        with_limits(Limits {
            min_response_data_rate: None,
            ..Limits::default()
        }),
        |req: Request| match req.uri().path() {
            "/big" => {
                req.control().set_min_response_data_rate(Some(
                    MinDataRate::new(10_000_000, Duration::from_secs(2)).unwrap(),
                ));
                Response::new(big_body())
            }
            _ => Response::new(Body::from("ok")),
        },
    );
    assert_stalled_reader_cut_off(&server, "/big");
}

// ---------------------------------------------------------------- connections and pool

fn request_ok(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    if s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    read_response(&mut s, false).is_some_and(|r| r.status == 200)
}

/// The process's descriptor table, in slots (`FDSize` in /proc/self/status).
fn fd_table_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("FDSize:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("FDSize in /proc/self/status")
}

/// The server grows the descriptor table at start to hold MaxConcurrentConnections (and a
/// few more; a power of two, as the kernel sizes it), within the soft RLIMIT_NOFILE: a
/// burst of connections then never waits while the kernel grows it (an RCU grace period in
/// which the accept thread can open nothing and the listen backlog overflows). Without it
/// the table of a fresh test process holds 64 or 256 slots.
#[test]
fn descriptor_table_holds_max_concurrent_connections() {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let _server = echo_server(Limits {
        max_concurrent_connections: Some(3000),
        ..Limits::default()
    });
    // 3,000 and the slack: 4,096 slots, or the largest power of two within the limit.
    let mut want = 4096;
    while want > soft {
        want /= 2;
    }
    let size = fd_table_size();
    assert!(
        size >= want,
        "descriptor table of {size} slots, want at least {want} (soft RLIMIT_NOFILE {soft})"
    );
}

#[test]
fn max_concurrent_connections() {
    let server = echo_server(Limits {
        max_concurrent_connections: Some(2),
        ..Limits::default()
    });
    // Two keep-alive connections, each proven accepted by a served request.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = server.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s, false).expect("served").status, 200);
        held.push(s);
    }
    // The third is closed at once, without any response.
    let mut third = server.connect();
    let _ = third.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let t0 = Instant::now();
    let (bytes, closed) = read_until_close(&mut third, Duration::from_secs(5));
    assert!(closed.is_some(), "third connection not closed");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(
        bytes.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&bytes)
    );
    // The held ones still work.
    held[0]
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut held[0], false).expect("served").status,
        200
    );
    // After one closes, a new connection works (bounded retry).
    drop(held.pop());
    let t0 = Instant::now();
    let mut ok = false;
    while t0.elapsed() < Duration::from_secs(2) {
        if request_ok(server.addr) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ok, "no new connection accepted after one closed");
}

#[test]
fn bounded_pool_applies_back_pressure() {
    let server = support::start(
        ServerOptions {
            workers: 1,
            queue_capacity: 1,
            ..support::options()
        },
        |req: Request| {
            if req.uri().path() == "/slow" {
                std::thread::sleep(Duration::from_secs(1));
            }
            Response::new(Body::from("done"))
        },
    );
    let t0 = Instant::now();
    let addr = server.addr;
    let clients: Vec<_> = (0..5)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .unwrap();
                read_response(&mut s, false).map(|r| r.status)
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), Some(200));
    }
    let elapsed = t0.elapsed();
    // One worker, 1 s each: at least ~5 s (serialized), at most 10 s.
    elapsed_in(
        elapsed,
        Duration::from_millis(4500),
        Duration::from_secs(10),
        "five slow requests on one worker",
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------- validation

fn start_err(limits: Limits) -> String {
    match Server::new(with_limits(limits), echo_handler).start() {
        Ok(h) => {
            h.shutdown(Duration::from_secs(1));
            panic!("server started with invalid limits");
        }
        Err(e) => {
            assert!(e.is_config(), "{e}");
            e.to_string()
        }
    }
}

#[test]
fn invalid_limits_fail_at_startup() {
    let msg = start_err(Limits {
        max_request_buffer_size: Some(1000),
        max_request_line_size: 2000,
        max_request_headers_total_size: 500,
        ..Limits::default()
    });
    assert!(msg.contains("MaxRequestBufferSize"), "{msg}");
    assert!(msg.contains("MaxRequestLineSize"), "{msg}");
    let msg = start_err(Limits {
        max_request_buffer_size: Some(1000),
        max_request_line_size: 500,
        max_request_headers_total_size: 2000,
        ..Limits::default()
    });
    assert!(msg.contains("MaxRequestHeadersTotalSize"), "{msg}");
    let msg = start_err(Limits {
        max_request_line_size: 0,
        ..Limits::default()
    });
    assert!(msg.contains("MaxRequestLineSize"), "{msg}");
    let msg = start_err(Limits {
        max_request_header_count: 0,
        ..Limits::default()
    });
    assert!(msg.contains("MaxRequestHeaderCount"), "{msg}");
    let msg = start_err(Limits {
        keep_alive_timeout: Duration::ZERO,
        ..Limits::default()
    });
    assert!(msg.contains("KeepAliveTimeout"), "{msg}");
    let msg = start_err(Limits {
        request_headers_timeout: Duration::ZERO,
        ..Limits::default()
    });
    assert!(msg.contains("RequestHeadersTimeout"), "{msg}");
    let msg = start_err(Limits {
        max_concurrent_connections: Some(0),
        ..Limits::default()
    });
    assert!(msg.contains("MaxConcurrentConnections"), "{msg}");
    let msg = start_err(Limits {
        min_request_body_data_rate: Some(MinDataRate {
            bytes_per_second: 100,
            grace_period: Duration::from_secs(1),
        }),
        ..Limits::default()
    });
    assert!(msg.contains("MinRequestBodyDataRate"), "{msg}");
    let msg = start_err(Limits {
        min_response_data_rate: Some(MinDataRate {
            bytes_per_second: 0,
            grace_period: Duration::from_secs(5),
        }),
        ..Limits::default()
    });
    assert!(msg.contains("MinResponseDataRate"), "{msg}");
}

/// A client that reads a large response slowly holds its connection, not a worker: with
/// one worker, another client is served at once, and the slow client still gets every
/// byte when it finally reads.
#[test]
fn slow_reader_does_not_hold_the_only_worker() {
    const SIZE: usize = 16 << 20;
    let mut options = support::options();
    options.workers = 1;
    options.limits.min_response_data_rate = Some(falconet::MinDataRate {
        bytes_per_second: 1,
        grace_period: Duration::from_secs(60),
    });
    let server = support::start(options, |req: falconet::Request| {
        if req.uri().path() == "/big" {
            falconet::Response::new(falconet::Body::from(vec![b'x'; SIZE]))
        } else {
            falconet::Response::new(falconet::Body::from("small"))
        }
    });
    let mut slow = server.connect();
    slow.write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Let the server fill the socket buffers and block on the slow reader.
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let r = support::roundtrip(
        &server,
        b"GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), "small");
    assert!(
        took < Duration::from_secs(2),
        "the second client waited {took:?}"
    );
    // Now read the whole big response: nothing was lost while it was parked.
    let resp = support::read_response(&mut slow, false).expect("the big response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), SIZE);
    assert!(resp.body.iter().all(|&b| b == b'x'));
}

/// Chunk extensions are capped at 4 KiB per chunk line: at the cap the body is accepted,
/// one byte over gets 400 and a closed connection.
#[test]
fn chunk_extension_size_edge() {
    let server = support::start(support::options(), echo_handler);
    let chunked = |ext_len: usize| {
        // ";" plus the name: `ext_len` bytes between the size digits and the CR.
        let ext = format!(";{}", "e".repeat(ext_len - 1));
        format!(
            "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5{ext}\r\nhello\r\n0\r\n\r\n"
        )
    };
    let ok = support::roundtrip(&server, chunked(4096).as_bytes());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body_str(), "POST /x len=5");
    let (responses, closed) = exchange(&server, chunked(4097).as_bytes(), CLOSE_WITHIN);
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_error_response(&responses[0], 400);
    assert!(closed);
    assert_serves(&server);
}

/// Trailer fields count against MaxRequestHeadersTotalSize and MaxRequestHeaderCount.
#[test]
fn trailer_limits_edge() {
    let limits = Limits {
        max_request_headers_total_size: 200,
        max_request_header_count: 3,
        ..Limits::default()
    };
    let server = support::start(with_limits(limits), echo_handler);
    let with_trailers = |trailers: &str| {
        format!(
            "POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n{trailers}\r\n"
        )
    };
    let three = "A: 1\r\nB: 2\r\nC: 3\r\n";
    let ok = support::roundtrip(&server, with_trailers(three).as_bytes());
    assert_eq!(ok.status, 200, "three trailers fit");
    let four = "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n";
    let (r, closed) = exchange(&server, with_trailers(four).as_bytes(), CLOSE_WITHIN);
    assert_error_response(&r[0], 400);
    assert!(closed);
    let big = format!("A: {}\r\n", "x".repeat(300));
    let (r, closed) = exchange(&server, with_trailers(&big).as_bytes(), CLOSE_WITHIN);
    assert_error_response(&r[0], 400);
    assert!(closed);
    assert_serves(&server);
}

/// After an error response the server reads and discards what the client still sends
/// for at most 2 s (LINGER), then closes even if the client keeps sending.
#[test]
fn lingering_after_an_error_ends() {
    let server = support::start(support::options(), echo_handler);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap(); // no Host: 400
    let resp = read_response(&mut s, false).expect("the 400");
    assert_error_response(&resp, 400);
    // The server has half-closed (we read EOF at once) but keeps reading what we send;
    // keep sending a little: once it closes for good, our writes fail.
    let at = support::writes_fail_within(&mut s, Duration::from_secs(8))
        .expect("the server closes a lingering connection");
    assert!(
        at >= Duration::from_millis(1500),
        "closed after {at:?}, before the linger time"
    );
    assert!(at < Duration::from_secs(6), "closed after {at:?}");
    assert_serves(&server);
}

/// A streaming response writer is flushed to the client in chunks of
/// MaxResponseBufferSize: small writes are gathered up to it, and no chunk exceeds it
/// by more than one write.
#[test]
fn response_buffer_size_sets_the_chunks_of_a_writer_body() {
    let run = |buffer: usize| -> Vec<usize> {
        let mut options = support::sync_io_options();
        options.limits.max_response_buffer_size = Some(buffer);
        let server = support::start(options, |_req: Request| {
            Response::new(Body::from_writer(|w| {
                for _ in 0..20 {
                    w.write_all(b"0123456789")?;
                }
                Ok(())
            }))
        });
        let mut s = server.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (bytes, _) = read_until_close(&mut s, CLOSE_WITHIN);
        let head_end = support::find(&bytes, b"\r\n\r\n").expect("a head") + 4;
        let mut rest = &bytes[head_end..];
        let mut sizes = Vec::new();
        loop {
            let line_end = support::find(rest, b"\r\n").expect("a chunk-size line");
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            if size == 0 {
                break;
            }
            sizes.push(size);
            rest = &rest[line_end + 2 + size + 2..];
        }
        sizes
    };
    assert_eq!(run(1 << 16), vec![200], "one chunk when everything fits");
    let small = run(50);
    assert_eq!(small, vec![50, 50, 50, 50], "flushed every 50 bytes");
}

//! HTTP/1.1 happy paths end to end over real sockets: framing of requests and responses,
//! HEAD, HTTP/1.0, keep-alive, pipelining, 100-continue, handler panics, the request
//! extensions, and an independent client (ureq) for GET/POST/PUT.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use falconet::http::Method;
use falconet::{Body, Request, RequestExt, Response, ServerOptions};
use support::{RawClient, TestServer};

fn start(options: ServerOptions, handler: impl falconet::Handler) -> TestServer {
    support::capture_logs();
    support::start(options, handler)
}

/// The test application: echoes POST/PUT bodies, otherwise names the path, with a few
/// special routes.
fn app(req: Request) -> Response {
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/reader-unknown" => {
            return Response::new(Body::from_reader(
                std::io::Cursor::new(b"streamed without a length".to_vec()),
                None,
            ))
        }
        "/reader-known" => {
            return Response::new(Body::from_reader(
                std::io::Cursor::new(b"streamed with a length".to_vec()),
                Some(22),
            ))
        }
        "/hundred" => return Response::new(Body::from(vec![b'x'; 100])),
        "/panic" => panic!("boom from the test handler"),
        "/addresses" => {
            let c = req.connection();
            return Response::new(Body::from(format!(
                "{}|{}",
                c.remote_addr(),
                c.local_addr()
            )));
        }
        "/abort" => {
            req.control().abort();
            return Response::new(Body::from("must not be sent"));
        }
        _ => {}
    }
    if req.method() == Method::POST || req.method() == Method::PUT {
        let data = req.into_body().into_bytes().unwrap();
        return Response::new(Body::from(data));
    }
    Response::new(Body::from(format!("path={path}")))
}

fn server() -> TestServer {
    start(support::options(), app)
}

/// Checks `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7 IMF-fixdate).
fn is_imf_fixdate(s: &str) -> bool {
    let b = s.as_bytes();
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 29
        && days.contains(&&s[0..3])
        && &s[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && months.contains(&&s[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &s[25..] == " GMT"
}

#[test]
fn get_has_date_and_server_headers() {
    let srv = server();
    let resp = support::roundtrip(&srv, b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert!(
        resp.head.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        resp.head
    );
    assert_eq!(resp.body_str(), "path=/hello");
    let date = resp.header("date").expect("a Date header");
    assert!(is_imf_fixdate(date), "Date is not an IMF-fixdate: {date:?}");
    assert_eq!(resp.header("server"), Some("falconet"));
    assert_eq!(resp.header("content-length"), Some("11"));
}

#[test]
fn add_server_header_false_removes_server() {
    let options = ServerOptions {
        add_server_header: false,
        ..support::options()
    };
    let srv = start(options, app);
    let resp = support::roundtrip(&srv, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("server"), None, "{}", resp.head);
    assert!(resp.header("date").is_some());
}

#[test]
fn post_body_by_content_length_is_echoed() {
    let srv = server();
    let resp = support::roundtrip(
        &srv,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world",
    );
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "hello world");
    assert_eq!(resp.header("content-length"), Some("11"));
}

#[test]
fn post_chunked_body_is_echoed() {
    let srv = server();
    let resp = support::roundtrip(
        &srv,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n",
    );
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "hello world");
    assert_eq!(resp.header("content-length"), Some("11"));
}

#[test]
fn reader_body_is_chunked_without_length_and_sized_with_one() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /reader-unknown HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None);
    assert_eq!(resp.body_str(), "streamed without a length");

    // Same connection: the chunked response was complete and the connection is reusable.
    c.send(b"GET /reader-known HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("22"));
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.body_str(), "streamed with a length");
}

#[test]
fn head_gets_headers_but_no_body() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /hundred HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let get = c.response(false).expect("GET response");
    assert_eq!(get.body.len(), 100);

    c.send(b"HEAD /hundred HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = c.response(true).expect("HEAD response");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("100"), "{}", head.head);
    // Nothing may follow the head of a HEAD response.
    let (stray, closed) = c.rest(Duration::from_millis(200));
    assert!(stray.is_empty(), "stray bytes after HEAD: {stray:?}");
    assert!(!closed, "the connection must stay open after HEAD");

    // A second request on the same connection parses cleanly.
    c.send(b"GET /after-head HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let next = c.response(false).expect("response after HEAD");
    assert_eq!(next.status, 200, "{}", next.head);
    assert_eq!(next.body_str(), "path=/after-head");
}

#[test]
fn http10_closes_unless_keep_alive() {
    let srv = server();
    // Plain HTTP/1.0: answered, then closed.
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /ten HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "path=/ten");
    let (rest, closed) = c.rest(Duration::from_secs(3));
    assert!(rest.is_empty());
    assert!(
        closed,
        "an HTTP/1.0 connection without keep-alive must close"
    );

    // HTTP/1.0 with Connection: keep-alive: announced and kept.
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /ten-ka HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive")),
        "{}",
        resp.head
    );
    assert_eq!(resp.body_str(), "path=/ten-ka");
    let (rest, closed) = c.rest(Duration::from_millis(300));
    assert!(rest.is_empty());
    assert!(!closed, "HTTP/1.0 keep-alive connection closed");
    c.send(b"GET /ten-ka2 HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    let resp = c.response(false).expect("a second response");
    assert_eq!(resp.body_str(), "path=/ten-ka2");
}

#[test]
fn http11_connection_close_is_honoured() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "{}",
        resp.head
    );
    let (rest, closed) = c.rest(Duration::from_secs(3));
    assert!(rest.is_empty(), "{rest:?}");
    assert!(closed, "the connection must close after Connection: close");
}

/// A client that said it would close (HTTP/1.1 `Connection: close`, or HTTP/1.0 without
/// keep-alive) and sent nothing more is closed as soon as its response is out, as nginx
/// and Kestrel do: the server does not hold the connection (lingering) until the
/// client's FIN, which a client that waits for the server to close never sends.
#[test]
fn a_client_that_said_close_is_closed_at_once_without_waiting_for_its_fin() {
    let srv = server();
    for req in [
        &b"GET /bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
        &b"GET /ten HTTP/1.0\r\nHost: localhost\r\n\r\n"[..],
    ] {
        let mut s = srv.connect();
        s.write_all(req).unwrap();
        let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(5));
        let responses = support::parse_responses(&bytes);
        assert_eq!(responses.len(), 1, "{:?}", String::from_utf8_lossy(&bytes));
        assert_eq!(responses[0].status, 200);
        assert!(closed.is_some(), "no end of stream");
        // We keep our side open: the server's socket is gone all the same (lingering
        // would keep it for 2 s, reading and discarding what we send).
        let gone = Instant::now();
        while srv.handle.connections() > 0 && gone.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            srv.handle.connections(),
            0,
            "the server still holds the connection"
        );
        assert!(
            support::writes_fail_within(&mut s, Duration::from_secs(1)).is_some(),
            "the server still reads the connection"
        );
    }
}

/// A request and the client's FIN that arrive while the connection is busy (here, in a
/// slow handler for the request before) are both seen: the server answers the request,
/// then meets the end of the stream and closes, instead of waiting for the keep-alive
/// timeout (130 s) on a client that has gone. With edge-triggered readiness the FIN's
/// only event comes while the connection is out; a read that stops short of the FIN
/// behind the request's bytes must not be taken to mean that the socket is empty.
#[test]
fn a_fin_that_arrives_with_a_request_while_the_connection_is_busy_is_seen() {
    // One event loop and four workers: while one runs the slow handler, others wait on
    // the loop's epoll set and take the events of the busy connection.
    let mut options = support::options();
    options.workers = 4;
    options.event_loops = Some(1);
    // A missed FIN would leave the short POST to the body data rate: far beyond the bound.
    options.limits.min_request_body_data_rate = Some(falconet::MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(60),
    });
    // Under an emulator every step is slower.
    let bound = if support::test_runner().is_empty() {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    };
    let srv = start(options, |req: Request| {
        if req.uri().path() == "/slow" {
            std::thread::sleep(Duration::from_millis(300));
        }
        Response::new(Body::from(format!("path={}", req.uri().path())))
    });
    for second in [
        &b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        // A body that stops short: nothing to answer, the connection just ends.
        &b"POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc"[..],
    ] {
        let mut s = srv.connect();
        s.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // The handler of /slow runs now: the rest and the FIN arrive meanwhile.
        s.write_all(second).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let start = Instant::now();
        let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(30));
        let paths: Vec<_> = support::parse_responses(&bytes)
            .iter()
            .map(|r| r.body_str())
            .collect();
        let want: &[&str] = if second.starts_with(b"GET") {
            &["path=/slow", "path=/after"]
        } else {
            &["path=/slow"]
        };
        assert_eq!(paths, want, "{:?}", String::from_utf8_lossy(&bytes));
        let closed = closed.expect("the server did not close the connection");
        assert!(
            closed - start < bound,
            "closed {:?} after the FIN",
            closed - start
        );
    }
}

/// A client that said `Connection: close` but sent another request behind it: the server
/// answers the first request only, and lingers (reading and discarding) instead of
/// closing a socket with unread bytes, which would reset the connection and could cost
/// the client its response.
#[test]
fn bytes_after_a_connection_close_request_are_discarded_without_a_reset() {
    let srv = server();
    let mut s = srv.connect();
    s.write_all(
        b"GET /first HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n\
          GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .unwrap();
    let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(5));
    let responses = support::parse_responses(&bytes);
    assert_eq!(
        responses.iter().map(|r| r.body_str()).collect::<Vec<_>>(),
        ["path=/first"],
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(closed.is_some(), "no end of stream");
    assert_eq!(
        support::writes_fail_within(&mut s, Duration::from_millis(500)),
        None,
        "the server closed with our bytes unread (a reset)"
    );
}

#[test]
fn keep_alive_serves_three_requests_on_one_connection() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    for i in 0..3 {
        c.send(format!("GET /ka/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let resp = c.response(false).expect("a response");
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("connection"), None, "{}", resp.head);
        assert_eq!(resp.body_str(), format!("path=/ka/{i}"));
    }
    c.send(b"POST /ka/post HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(c.response(false).unwrap().body_str(), "abc");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(
        b"GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\n\
          POST /p2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\nbody-p2\
          GET /p3 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    let bodies: Vec<String> = (0..3)
        .map(|_| c.response(false).expect("a pipelined response").body_str())
        .collect();
    assert_eq!(bodies, ["path=/p1", "body-p2", "path=/p3"]);
    let (rest, closed) = c.rest(Duration::from_millis(200));
    assert!(rest.is_empty() && !closed);
}

#[test]
fn expect_100_continue_is_sent_after_the_head_before_the_body() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let interim = c.response(false).expect("an interim response");
    assert_eq!(interim.status, 100, "{}", interim.head);
    assert_eq!(interim.head, "HTTP/1.1 100 Continue\r\n\r\n");
    // Nothing else before we send the body.
    let (early, closed) = c.rest(Duration::from_millis(200));
    assert!(
        early.is_empty(),
        "bytes before the body was sent: {early:?}"
    );
    assert!(!closed);
    c.send(b"12345");
    let resp = c.response(false).expect("the final response");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "12345");
}

#[test]
fn expect_100_continue_with_oversized_length_gets_413_and_no_100() {
    let mut options = support::options();
    options.limits.max_request_body_size = Some(1000);
    let srv = start(options, app);
    let mut c = RawClient::connect(&srv);
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 413, "{}", resp.head);
    let (rest, _) = c.rest(Duration::from_millis(300));
    assert!(
        support::find(&rest, b"100 Continue").is_none(),
        "a 100 Continue was sent: {rest:?}"
    );
}

#[test]
fn handler_panic_gives_500_and_the_server_lives_on() {
    let srv = server();
    let resp = support::roundtrip(&srv, b"GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 500, "{}", resp.head);
    assert!(
        support::logged(
            &["handler panicked", "boom from the test handler"],
            Duration::from_secs(2)
        )
        .is_some(),
        "the panic was not logged"
    );
    let resp = support::roundtrip(
        &srv,
        b"GET /after-panic HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "path=/after-panic");
}

#[test]
fn request_ext_reports_the_socket_addresses() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    let client_side: SocketAddr = c.stream.local_addr().unwrap();
    let server_side: SocketAddr = c.stream.peer_addr().unwrap();
    c.send(b"GET /addresses HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.body_str(), format!("{client_side}|{server_side}"));
}

#[test]
fn request_control_abort_closes_without_a_response() {
    let srv = server();
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /abort HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (bytes, closed) = c.rest(Duration::from_secs(3));
    assert!(closed, "an aborted request must close the connection");
    assert!(
        bytes.is_empty(),
        "an aborted request got bytes: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    // The server still serves.
    support::assert_serves(&srv);
}

#[test]
fn ureq_get_post_put_with_a_1_mib_body() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let srv = start(support::options(), move |req: Request| {
        counter.fetch_add(1, Ordering::Relaxed);
        app(req)
    });
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();

    let resp = agent.get(&srv.url("/ureq")).call().expect("GET");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("server"), Some("falconet"));
    assert_eq!(resp.into_string().unwrap(), "path=/ureq");

    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    for method in ["POST", "PUT"] {
        let started = Instant::now();
        let resp = agent
            .request(method, &srv.url("/echo"))
            .send_bytes(&big)
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.header("content-length"), Some("1048576"));
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert!(
            got == big,
            "{method}: echoed body differs ({} bytes)",
            got.len()
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert_eq!(calls.load(Ordering::Relaxed), 3);
}

#[test]
fn response_trailers_only_for_clients_that_accept_them() {
    let server = start(support::options(), |_req: Request| {
        let mut t = falconet::http::HeaderMap::new();
        t.insert("x-digest", "abc".parse().unwrap());
        Response::new(Body::from("payload").with_trailers(t))
    });
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (raw, _) = support::read_until_close(&mut s, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(
        text.contains("\r\nTransfer-Encoding: chunked\r\n")
            || text
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
        "{text}"
    );
    assert!(
        !text.to_ascii_lowercase().contains("content-length"),
        "{text}"
    );
    assert!(
        raw.ends_with(b"7\r\npayload\r\n0\r\nx-digest: abc\r\n\r\n"),
        "{text}"
    );
    // Without TE: trailers the trailers are dropped and the length is kept.
    let r = support::roundtrip(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.header("content-length"), Some("7"));
    assert_eq!(r.body_str(), "payload");
}

/// A client that sends its requests and then half-closes (shutdown of its write side:
/// `nc -N`, scripts, some HTTP/1.0 clients) still gets every response. The request and
/// the FIN arrive together on a connection already parked idle, so the event carries
/// both data and RDHUP: the data must be read, not dropped with a reset.
#[test]
fn requests_followed_by_a_half_close_are_answered() {
    let server = server();
    for i in 0..5 {
        let mut s = server.connect();
        // Let the server accept the connection and park it, empty, before anything comes.
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(30));
        let responses = support::parse_responses(&bytes);
        assert_eq!(
            responses.iter().map(|r| r.body_str()).collect::<Vec<_>>(),
            ["path=/a", "path=/b"],
            "attempt {i}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(closed.is_some(), "attempt {i}: not closed");
    }
}

#[test]
fn a_body_cut_short_by_the_clients_fin_ends_the_connection_at_once() {
    // The bytes and the FIN arrive together while the connection is parked: the one edge
    // that wakes it carries both, so the server must read on to the end of the stream
    // rather than wait for the rest of the body (MinRequestBodyDataRate's 5 s grace).
    let server = server();
    for i in 0..10 {
        let mut s = server.connect();
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
            .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let started = std::time::Instant::now();
        let (bytes, closed) = support::read_until_close(&mut s, Duration::from_secs(30));
        assert!(closed.is_some(), "attempt {i}: not closed");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "attempt {i}: closed only after {:?} ({:?})",
            started.elapsed(),
            String::from_utf8_lossy(&bytes)
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains("408"),
            "attempt {i}: answered as a slow body: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

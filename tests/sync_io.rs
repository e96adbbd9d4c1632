//! Synchronous I/O (Kestrel's AllowSynchronousIO) end to end: the opt-in at each level
//! (server, endpoint, request), streamed request bodies and their limits, handler-written
//! responses, and draining of unread bodies.

mod support;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use falconet::{Body, EndpointOptions, Handler, Prepare, Request, Response, ServerOptions};
use support::{RawClient, TestServer};

fn start(options: ServerOptions, handler: impl Handler) -> TestServer {
    support::capture_logs();
    support::start(options, handler)
}

/// Reports whether the body arrived buffered, then reads it and reports its length.
fn report_body(req: Request) -> Response {
    let mut body = req.into_body();
    let buffered = body.as_bytes().is_some();
    let mut data = Vec::new();
    match body.read_to_end(&mut data) {
        Ok(_) => Response::new(Body::from(format!(
            "buffered={buffered} len={} sum={}",
            data.len(),
            data.iter().map(|&b| b as u64).sum::<u64>()
        ))),
        // The server answers from the body error (e.g. 413); this response is not sent.
        Err(e) => Response::new(Body::from(format!("read error: {e}"))),
    }
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

fn chunked_post(path: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for c in body.chunks(chunk) {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

/// Sends `METHOD PATH` with `Content-Length: 5` and `Expect: 100-continue`, checks that
/// `100 Continue` comes first, then sends `hello` and returns the final response.
fn hello_after_100_continue(c: &mut RawClient, method_path: &str) -> support::RawResponse {
    c.send(
        format!(
            "{method_path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    let interim = c.response(false).expect("100 Continue");
    assert_eq!(interim.status, 100, "{}", interim.head);
    c.send(b"hello");
    c.response(false).expect("the final response")
}

#[test]
fn from_writer_without_opt_in_is_a_500_and_logged() {
    let conn_id = Arc::new(Mutex::new(None));
    let seen = conn_id.clone();
    let srv = start(support::options(), move |req: Request| {
        use falconet::RequestExt;
        *seen.lock().unwrap() = Some(req.connection().id());
        Response::new(Body::from_writer(|w| w.write_all(b"never")))
    });
    let resp = support::roundtrip(&srv, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 500, "{}", resp.head);
    assert!(resp.body.is_empty());
    let id = conn_id.lock().unwrap().expect("the handler ran");
    let line = support::logged(
        &[
            &format!("Connection id \"{id}\""),
            "Synchronous operations are disallowed",
        ],
        Duration::from_secs(2),
    );
    assert!(line.is_some(), "no log line explains the 500");
}

#[test]
fn without_opt_in_the_body_is_buffered() {
    let srv = start(support::options(), report_body);
    let resp = support::roundtrip(&srv, &post("/", b"abc"));
    assert_eq!(resp.body_str(), "buffered=true len=3 sum=294");
}

/// Checks that a server set up with `options`/`handler` streams the body to the handler
/// (unread when it gets it) and lets it answer with `Body::from_writer`.
fn assert_streams(srv: &TestServer) {
    let resp = support::roundtrip(srv, &post("/report", b"abc"));
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "buffered=false len=3 sum=294");

    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    let sum: u64 = body.iter().map(|&b| b as u64).sum();
    let resp = support::roundtrip(srv, &chunked_post("/report", &body, 4096));
    assert_eq!(
        resp.body_str(),
        format!("buffered=false len=100000 sum={sum}")
    );

    let resp = support::roundtrip(srv, b"GET /writer HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.body_str(), "written by the handler");
}

fn report_or_write(req: Request) -> Response {
    if req.uri().path() == "/writer" {
        return Response::new(Body::from_writer(|w| {
            w.write_all(b"written by ")?;
            w.flush()?;
            w.write_all(b"the handler")
        }));
    }
    report_body(req)
}

#[test]
fn server_wide_opt_in_streams_the_body() {
    let options = ServerOptions {
        allow_synchronous_io: true,
        ..support::options()
    };
    let srv = start(options, report_or_write);
    assert_streams(&srv);
}

#[test]
fn per_endpoint_opt_in_streams_the_body() {
    let mut ep = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    ep.allow_synchronous_io = Some(true);
    let options = ServerOptions {
        endpoints: vec![ep],
        ..support::options()
    };
    let srv = start(options, report_or_write);
    assert_streams(&srv);
}

#[test]
fn per_endpoint_opt_out_overrides_the_server() {
    let mut ep = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    ep.allow_synchronous_io = Some(false);
    let options = ServerOptions {
        endpoints: vec![ep],
        allow_synchronous_io: true,
        ..support::options()
    };
    let srv = start(options, report_or_write);
    let resp = support::roundtrip(&srv, &post("/report", b"abc"));
    assert_eq!(resp.body_str(), "buffered=true len=3 sum=294");
    let resp = support::roundtrip(&srv, b"GET /writer HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 500);
}

/// Opts into synchronous I/O per request, for paths under `/sync`, and applies the
/// per-request body size limit `/sync/limit` asks for.
struct PerRequest;

impl Handler for PerRequest {
    fn prepare(&self, p: &mut Prepare<'_>) {
        assert!(!p.allow_synchronous_io());
        if p.uri().path().starts_with("/sync") || p.uri().path() == "/writer" {
            p.set_allow_synchronous_io(true);
        }
        if p.uri().path().ends_with("/limit") {
            p.set_max_request_body_size(Some(1000));
        }
    }

    fn handle(&self, req: Request) -> Response {
        report_or_write(req)
    }
}

#[test]
fn per_request_opt_in_via_prepare_streams_the_body() {
    let srv = start(support::options(), PerRequest);
    // Other requests stay buffered.
    let resp = support::roundtrip(&srv, &post("/plain", b"abc"));
    assert_eq!(resp.body_str(), "buffered=true len=3 sum=294");
    let resp = support::roundtrip(&srv, &post("/sync/report", b"abc"));
    assert_eq!(resp.body_str(), "buffered=false len=3 sum=294");
    let resp = support::roundtrip(&srv, b"GET /writer HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "written by the handler");
}

#[test]
fn per_request_max_body_size_gives_413() {
    let srv = start(support::options(), PerRequest);
    let small = vec![b'a'; 1000];
    let big = vec![b'a'; 2000];
    // Buffered request: declared length over the per-request limit.
    let resp = support::roundtrip(&srv, &post("/plain/limit", &big));
    assert_eq!(resp.status, 413, "{}", resp.head);
    let resp = support::roundtrip(&srv, &post("/plain/limit", &small));
    assert_eq!(resp.status, 200, "{}", resp.head);
    // Streamed request, declared length.
    let resp = support::roundtrip(&srv, &post("/sync/limit", &big));
    assert_eq!(resp.status, 413, "{}", resp.head);
    // Streamed request, chunked: the limit is crossed while the handler reads.
    let resp = support::roundtrip(&srv, &chunked_post("/sync/limit", &big, 300));
    assert_eq!(resp.status, 413, "{}", resp.head);
    let resp = support::roundtrip(&srv, &chunked_post("/sync/limit", &small, 300));
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "buffered=false len=1000 sum=97000");
}

#[test]
fn body_set_max_size_applies_before_reading() {
    let mut options = support::sync_io_options();
    options.limits.max_request_body_size = Some(100);
    let srv = start(options, |req: Request| {
        let max: Option<u64> = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("max="))
            .and_then(|m| m.parse().ok());
        let mut body = req.into_body();
        if let Err(e) = body.set_max_size(max) {
            return Response::new(Body::from(format!("set_max_size failed: {e}")));
        }
        let mut data = Vec::new();
        body.read_to_end(&mut data).ok();
        // Once reading has started, the limit can no longer change.
        let late = body.set_max_size(None).is_err();
        Response::new(Body::from(format!(
            "len={} late_refused={late}",
            data.len()
        )))
    });
    // Raised above the server's 100 bytes.
    let resp = support::roundtrip(&srv, &post("/?max=1000", &[b'z'; 500]));
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "len=500 late_refused=true");
    let resp = support::roundtrip(&srv, &chunked_post("/?max=1000", &[b'z'; 500], 64));
    assert_eq!(resp.body_str(), "len=500 late_refused=true");
    // Lowered: a declared length over it and a chunked body crossing it get 413.
    let resp = support::roundtrip(&srv, &post("/?max=10", &[b'z'; 50]));
    assert_eq!(resp.status, 413, "{}", resp.head);
    let resp = support::roundtrip(&srv, &chunked_post("/?max=10", &[b'z'; 50], 8));
    assert_eq!(resp.status, 413, "{}", resp.head);
    // No change: the server's limit holds.
    let resp = support::roundtrip(&srv, &post("/?max=100", &[b'z'; 150]));
    assert_eq!(resp.status, 413, "{}", resp.head);
}

/// Echoes the request body as it arrives (synchronous I/O): the response head goes out
/// before the body is read.
struct StreamEcho;

impl Handler for StreamEcho {
    fn prepare(&self, p: &mut Prepare<'_>) {
        p.set_allow_synchronous_io(true);
    }
    fn handle(&self, req: Request) -> Response {
        let mut body = req.into_body();
        Response::new(Body::from_writer(move |w| {
            std::io::copy(&mut body, w)?;
            Ok(())
        }))
    }
}

#[test]
fn streaming_echo_of_a_2_mib_chunked_upload() {
    let srv = start(support::options(), StreamEcho);
    let data: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let req = chunked_post("/stream", &data, 16 * 1024);
    let mut c = RawClient::connect(&srv);
    // Write from another thread: the server echoes while it reads.
    let mut writer = c.stream.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = writer.write_all(&req);
        let _ = tx.send(r.is_ok());
    });
    let started = Instant::now();
    let resp = c.response(false).expect("the echoed response");
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        "upload failed"
    );
    t.join().unwrap();
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.body.len(), data.len());
    assert!(resp.body == data, "echoed bytes differ");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Keep-alive after a streamed exchange.
    c.send(&chunked_post("/stream", b"again", 2));
    assert_eq!(c.response(false).unwrap().body_str(), "again");
}

/// Streams bodies to a handler that never reads them.
fn ignore_body_server(drain_timeout: Duration) -> TestServer {
    let options = ServerOptions {
        allow_synchronous_io: true,
        request_body_drain_timeout: drain_timeout,
        ..support::options()
    };
    start(options, |req: Request| {
        Response::new(Body::from(format!("ignored {}", req.uri().path())))
    })
}

#[test]
fn unread_streamed_body_is_drained_and_the_connection_reused() {
    let srv = ignore_body_server(Duration::from_secs(1));
    let mut c = RawClient::connect(&srv);
    c.send(&post("/first", &vec![b'q'; 100_000]));
    let resp = c.response(false).expect("first response");
    assert_eq!(resp.body_str(), "ignored /first");
    assert_eq!(resp.header("connection"), None, "{}", resp.head);
    c.send(&chunked_post("/second", &vec![b'q'; 50_000], 1000));
    let resp = c.response(false).expect("second response");
    assert_eq!(resp.body_str(), "ignored /second");
    c.send(b"GET /third HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(c.response(false).unwrap().body_str(), "ignored /third");
}

#[test]
fn unread_body_that_cannot_be_drained_in_time_closes_the_connection() {
    let srv = ignore_body_server(Duration::from_secs(1));
    let mut c = RawClient::connect(&srv);
    // Declares 1 MB, sends 1000 bytes, then stops.
    let mut req =
        b"POST /stalled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    req.extend_from_slice(&[b'q'; 1000]);
    c.send(&req);
    let started = Instant::now();
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.body_str(), "ignored /stalled");
    let (rest, closed) = c.rest(Duration::from_secs(3));
    assert!(
        closed,
        "the connection must close when the body cannot be drained"
    );
    assert!(rest.is_empty(), "{rest:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "closed before the drain timeout: {took:?}"
    );
}

#[test]
fn streamed_body_and_expect_100_continue() {
    let mut options = support::sync_io_options();
    options.limits.max_request_body_size = Some(100);
    let srv = start(options, report_body);
    // The handler's first read sends 100 Continue.
    let mut c = RawClient::connect(&srv);
    c.send(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = c.response(false).expect("100 Continue");
    assert_eq!(interim.status, 100, "{}", interim.head);
    c.send(b"abc");
    let resp = c.response(false).expect("the final response");
    assert_eq!(resp.body_str(), "buffered=false len=3 sum=294");
    // A declared length over the limit: 413 and no 100 Continue.
    let mut c = RawClient::connect(&srv);
    c.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n");
    let resp = c.response(false).expect("a response");
    assert_eq!(resp.status, 413, "{}", resp.head);
    let (rest, _) = c.rest(Duration::from_millis(300));
    assert!(support::find(&rest, b"100 Continue").is_none(), "{rest:?}");
}

/// The head of a `Body::from_writer` response waits for the writer's first bytes, as
/// Kestrel starts a response at its first write or flush: a streamed echo reads the body
/// first, so a client that asked for `100 Continue` gets it, then the final status. curl
/// waits for the 100 before it sends its body (here up to 30 s); without it the upload
/// would stall for that long.
#[test]
fn streamed_echo_sends_100_continue_before_its_head() {
    let srv = start(support::options(), StreamEcho);
    let mut c = RawClient::connect(&srv);
    let resp = hello_after_100_continue(&mut c, "POST /stream");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "hello");
    let (rest, _) = c.rest(Duration::from_millis(200));
    assert!(support::find(&rest, b"100 Continue").is_none(), "{rest:?}");

    let dir = std::env::temp_dir().join(format!("falconet-expect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.bin");
    let output = dir.join("out.bin");
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&input, &data).unwrap();
    let url = format!("http://{}/stream", srv.addr);
    let started = Instant::now();
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "60",
            "--expect100-timeout",
            "30",
            "-H",
            "Expect: 100-continue",
            "-T",
        ])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg(&url)
        .output()
        .expect("curl runs");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let echoed = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "echoed bytes differ");
    assert!(
        took < Duration::from_secs(20),
        "curl waited for a 100 Continue that did not come: {took:?}"
    );
}

/// A writer that flushes before it reads the body sends its final status first; then no
/// `100 Continue` may follow (RFC 9110 §10.1.1: it would land inside the chunked body).
#[test]
fn no_100_continue_after_a_flushed_head() {
    let srv = start(support::sync_io_options(), |req: Request| {
        let mut body = req.into_body();
        Response::new(Body::from_writer(move |w| {
            w.flush()?;
            std::io::copy(&mut body, w)?;
            Ok(())
        }))
    });
    let mut c = RawClient::connect(&srv);
    c.send(
        b"POST /stream HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    std::thread::sleep(Duration::from_millis(200));
    c.send(b"hello");
    let resp = c.response(false).expect("the echoed response");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "hello");
    let (rest, _) = c.rest(Duration::from_millis(200));
    assert!(support::find(&rest, b"100 Continue").is_none(), "{rest:?}");
}

/// A writer that fails before it writes anything has sent nothing: the client gets a 500
/// (and the connection closes) rather than a success status cut short, and the failure is
/// logged as the application's. One that fails after writing can only end the connection.
#[test]
fn writer_failing_before_its_first_byte_is_a_500() {
    let srv = start(support::sync_io_options(), |req: Request| {
        match req.uri().path() {
            "/error" => Response::new(Body::from_writer(|_| {
                Err(std::io::Error::other("no data for the report"))
            })),
            "/panic" => Response::new(Body::from_writer(|_| {
                panic!("writer bug before its first byte")
            })),
            _ => Response::new(Body::from_writer(|w| {
                w.write_all(b"partial")?;
                w.flush()?;
                Err(std::io::Error::other("gave up midway"))
            })),
        }
    });
    let resp = support::roundtrip(&srv, b"GET /error HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 500, "{}", resp.head);
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.head);
    let line = support::logged(
        &[
            "ERROR",
            "the response writer failed",
            "no data for the report",
        ],
        Duration::from_secs(2),
    );
    assert!(line.is_some(), "no error line explains the 500");
    let resp = support::roundtrip(&srv, b"GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 500, "{}", resp.head);
    let line = support::logged(
        &[
            "ERROR",
            "Connection id",
            "response writer panicked",
            "writer bug before its first byte",
        ],
        Duration::from_secs(2),
    );
    assert!(line.is_some(), "no error line explains the 500");
    // After its head and some bytes: the 200 stands, the chunked body has no last chunk,
    // and the connection ends.
    let mut c = RawClient::connect(&srv);
    c.send(b"GET /late HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (all, closed) = c.rest(Duration::from_secs(2));
    assert!(closed, "the connection stayed open");
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\n7\r\npartial\r\n"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "{text}");
}

/// A writer that reads the request body and meets a limit (here MaxRequestBodySize, on a
/// chunked body) has sent nothing yet: the client gets the limit's status, 413, as a
/// buffered request would, not a 200 cut short.
#[test]
fn body_limit_met_inside_a_writer_is_a_413() {
    let mut options = support::sync_io_options();
    options.limits.max_request_body_size = Some(10);
    let srv = start(options, StreamEcho);
    let resp = support::roundtrip(&srv, &chunked_post("/stream", &[b'z'; 50], 8));
    assert_eq!(resp.status, 413, "{}", resp.head);
    // Within the limit, the echo answers.
    let resp = support::roundtrip(&srv, &chunked_post("/stream", b"small", 2));
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body_str(), "small");
}

/// A handler that answers with the request body itself (synchronous I/O) streams it back
/// as it is read: with the request's Content-Length when it declared one, chunked when it
/// came chunked, after `100 Continue` when the client asked for it; the connection stays
/// open for the next request.
#[test]
fn request_body_returned_as_the_response_is_echoed() {
    let srv = start(support::sync_io_options(), |req: Request| {
        Response::new(req.into_body())
    });
    let mut c = RawClient::connect(&srv);
    let resp = hello_after_100_continue(&mut c, "PUT /echo");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.header("content-length"), Some("5"), "{}", resp.head);
    assert_eq!(resp.header("transfer-encoding"), None, "{}", resp.head);
    assert_eq!(resp.body_str(), "hello");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    c.send(&chunked_post("/echo", &data, 7_000));
    let resp = c.response(false).expect("the chunked echo");
    assert_eq!(
        resp.header("transfer-encoding"),
        Some("chunked"),
        "{}",
        resp.head
    );
    assert!(resp.body == data, "echoed bytes differ");
    c.send(b"HEAD /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
    let resp = c.response(true).expect("the HEAD answer");
    assert_eq!(resp.header("content-length"), Some("3"), "{}", resp.head);
    assert!(resp.body.is_empty());
    c.send(&post("/echo", b"again"));
    assert_eq!(c.response(false).unwrap().body_str(), "again");
}

/// A writer's response with a status that has no body (204, 304) goes out without one and
/// without chunked framing, and the connection stays open.
#[test]
fn writer_response_with_a_bodiless_status() {
    let srv = start(support::sync_io_options(), |_req: Request| {
        let mut r = Response::new(Body::from_writer(|w| w.write_all(b"not sent")));
        *r.status_mut() = falconet::http::StatusCode::NO_CONTENT;
        r
    });
    let mut c = RawClient::connect(&srv);
    for _ in 0..2 {
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let resp = c.response(false).expect("a 204");
        assert_eq!(resp.status, 204, "{}", resp.head);
        assert_eq!(resp.header("transfer-encoding"), None, "{}", resp.head);
        assert_eq!(resp.header("connection"), None, "{}", resp.head);
    }
    c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (rest, _) = c.rest(Duration::from_millis(300));
    let text = String::from_utf8_lossy(&rest);
    assert!(text.starts_with("HTTP/1.1 204"), "{text}");
    assert!(!text.contains("not sent"), "{text}");
}

/// A writer's response to a client that stops reading is cut off by MinResponseDataRate
/// after its grace period (the worker it holds is freed), and counted as a response-rate
/// timeout as for any other response.
#[test]
fn writer_response_to_a_client_that_does_not_read_is_cut_off() {
    const SIZE: usize = 64 << 20;
    let mut options = support::sync_io_options();
    options.limits.min_response_data_rate = Some(falconet::MinDataRate {
        bytes_per_second: 1 << 20,
        grace_period: Duration::from_secs(2),
    });
    let srv = start(options, |_req: Request| {
        Response::new(Body::from_writer(|w| {
            let block = vec![b'x'; 64 * 1024];
            for _ in 0..SIZE / block.len() {
                w.write_all(&block)?;
            }
            Ok(())
        }))
    });
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&srv.addr.into()).unwrap();
    let mut slow: std::net::TcpStream = sock.into();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let counted = || {
        srv.handle
            .stats()
            .timeouts
            .iter()
            .any(|(k, n)| *k == "response_rate" && *n >= 1)
    };
    while !counted() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no response-rate timeout counted: {:?}",
            srv.handle.stats().timeouts
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the client reads now ends well before the whole body.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match slow.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still reading");
    }
    assert!(
        total < SIZE,
        "the whole body arrived: the rate was not enforced"
    );
}

//! HTTP/2 end to end: an independent client (the `h2` crate) over h2c with prior
//! knowledge, the same handler over HTTP/1.1 and HTTP/2, negotiation rules, the bounded
//! pool under many concurrent streams, idle connections that hold no worker, flow control
//! on large bodies, synchronous-I/O writers, and graceful shutdown. TLS with ALPN h2 is
//! tested with curl in tests/http2_cli.rs.
#![cfg(feature = "http2")]

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use falconet::http::{Request as HttpRequest, StatusCode};
use falconet::{Body, Protocols, Request, Response, ServerOptions};
use support::TestServer;

type SendRequest = h2::client::SendRequest<Bytes>;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> SendRequest {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// One request; returns status, headers and the whole body.
async fn send(
    client: &mut SendRequest,
    method: &str,
    path: &str,
    body: Option<Bytes>,
) -> Result<(StatusCode, falconet::http::HeaderMap, Vec<u8>), h2::Error> {
    let req = HttpRequest::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .body(())
        .unwrap();
    let c = client.clone();
    let mut c = c.ready().await?;
    let (resp, mut stream) = c.send_request(req, body.is_none())?;
    if let Some(b) = body {
        stream.send_data(b, true)?;
    }
    let resp = resp.await?;
    let (parts, mut body) = resp.into_parts();
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    Ok((parts.status, parts.headers, out))
}

fn echo(req: Request) -> Response {
    let version = format!("{:?}", req.version());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let body = req.into_body().into_bytes().unwrap();
    let mut r = Response::new(Body::from(format!(
        "{version} {method} {path} host={host} body={}",
        body.len()
    )));
    r.headers_mut()
        .insert("x-echo", falconet::http::HeaderValue::from_static("yes"));
    r
}

fn start(options: ServerOptions, handler: impl falconet::Handler) -> TestServer {
    support::capture_logs();
    support::start(options, handler)
}

#[test]
fn h2c_prior_knowledge_get_and_post() {
    let server = start(support::options(), echo);
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let (status, headers, body) = send(&mut c, "GET", "/hello", None).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(headers["x-echo"], "yes");
        assert!(headers.contains_key("date"));
        assert_eq!(headers["server"], "falconet");
        let body = String::from_utf8(body).unwrap();
        assert_eq!(body, "HTTP/2.0 GET /hello host=localhost body=0");
        let big = Bytes::from(vec![7u8; 300_000]);
        let (status, _, body) = send(&mut c, "POST", "/up", Some(big)).await.unwrap();
        assert_eq!(status, 200);
        assert!(String::from_utf8(body).unwrap().ends_with("body=300000"));
        // An upload larger than the connection window (1 MiB), as HTTP/1.1 allows.
        let big = Bytes::from(vec![7u8; 5_000_000]);
        let (status, _, body) = send(&mut c, "POST", "/up", Some(big)).await.unwrap();
        assert_eq!(status, 200);
        assert!(String::from_utf8(body).unwrap().ends_with("body=5000000"));
    });
}

/// AllowedHosts holds for HTTP/2 as for HTTP/1.1: a stream whose `:authority` is not in
/// the list gets 400 without reaching the handler, and the connection goes on serving
/// allowed hosts (ASP.NET Core's host filtering applies to every protocol).
#[test]
fn allowed_hosts_apply_to_http2_streams() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let server = start(
        ServerOptions {
            allowed_hosts: vec!["example.org".into(), "*.example.net".into()],
            ..support::options()
        },
        move |req: Request| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            echo(req)
        },
    );
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let get = |authority: &str| {
            HttpRequest::builder()
                .method("GET")
                .uri(format!("http://{authority}/x"))
                .body(())
                .unwrap()
        };
        for (authority, status) in [
            ("example.org", 200),
            ("a.example.net:8443", 200),
            ("other.com", 400),
            ("example.org.evil.com", 400),
            ("EXAMPLE.ORG", 200),
        ] {
            let mut ready = c.clone().ready().await.unwrap();
            let (resp, _) = ready.send_request(get(authority), true).unwrap();
            let resp = resp.await.unwrap();
            assert_eq!(resp.status(), status, "{authority}");
        }
        // The connection still serves.
        let (status, _, _) = send(&mut c, "GET", "/again", None).await.unwrap();
        assert_eq!(status, 400, "localhost is not in the list");
    });
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn the_same_handler_over_http1_and_http2() {
    let server = start(support::options(), echo);
    let r = support::roundtrip(&server, b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(r.body_str(), "HTTP/1.1 GET /x host=localhost body=0");
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let (_, _, body) = send(&mut c, "GET", "/x", None).await.unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "HTTP/2.0 GET /x host=localhost body=0"
        );
    });
}

#[test]
fn many_concurrent_streams_on_one_connection() {
    let server = start(support::options(), |req: Request| {
        std::thread::sleep(Duration::from_millis(20));
        Response::new(Body::from(req.uri().path().to_string()))
    });
    rt().block_on(async {
        let c = connect(server.addr).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let mut c = c.clone();
            tasks.push(tokio::spawn(async move {
                let (s, _, b) = send(&mut c, "GET", &format!("/{i}"), None).await.unwrap();
                assert_eq!(s, 200);
                assert_eq!(String::from_utf8(b).unwrap(), format!("/{i}"));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn large_response_under_flow_control() {
    const N: usize = 5 * 1024 * 1024 + 3;
    let server = start(support::options(), |_req: Request| {
        let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
        Response::new(Body::from(data))
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let (s, h, b) = send(&mut c, "GET", "/", None).await.unwrap();
        assert_eq!(s, 200);
        assert_eq!(h["content-length"], N.to_string().as_str());
        assert_eq!(b.len(), N);
        assert!(b.iter().enumerate().all(|(i, x)| *x == (i % 251) as u8));
    });
}

#[test]
fn reader_and_sync_writer_bodies() {
    let options = support::sync_io_options();
    let server = start(options, |req: Request| {
        if req.uri().path() == "/writer" {
            return Response::new(Body::from_writer(|w| {
                for i in 0..200 {
                    writeln!(w, "line {i:04} {}", "x".repeat(100))?;
                }
                Ok(())
            }));
        }
        let data = vec![b'r'; 200_000];
        Response::new(Body::from_reader(std::io::Cursor::new(data), Some(200_000)))
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let (_, _, b) = send(&mut c, "GET", "/reader", None).await.unwrap();
        assert_eq!(b, vec![b'r'; 200_000]);
        let (_, _, b) = send(&mut c, "GET", "/writer", None).await.unwrap();
        let text = String::from_utf8(b).unwrap();
        assert_eq!(text.lines().count(), 200);
        assert!(
            text.starts_with("line 0000 ") && text.contains("line 0199 "),
            "{text}"
        );
    });
}

/// A writer body that fails (an error or a panic) after its first bytes went out ends its
/// stream with RST_STREAM INTERNAL_ERROR, so the client sees the response cut short; HTTP/2
/// has no other way to say so once the body has no declared length. The connection serves
/// on.
#[test]
fn a_failing_sync_writer_resets_its_stream() {
    let options = support::sync_io_options();
    let server = start(options, |req: Request| {
        let path = req.uri().path().to_string();
        Response::new(Body::from_writer(move |w| {
            w.write_all(&[b'p'; 40_000])?;
            w.flush()?;
            match path.as_str() {
                "/error" => Err(std::io::Error::other("gave up midway")),
                "/panic" => panic!("writer bug"),
                _ => Ok(()),
            }
        }))
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        for path in ["/error", "/panic"] {
            match send(&mut c, "GET", path, None).await {
                Ok((s, _, b)) => panic!(
                    "{path}: the body cut short ended as complete ({s}, {} bytes)",
                    b.len()
                ),
                Err(e) => assert_eq!(e.reason(), Some(h2::Reason::INTERNAL_ERROR), "{path}: {e}"),
            }
        }
        let (s, _, b) = send(&mut c, "GET", "/ok", None).await.unwrap();
        assert_eq!(s, 200);
        assert_eq!(b.len(), 40_000);
    });
}

/// The HEADERS of a writer response wait for its first bytes, as HTTP/1's head does: a
/// writer that fails or panics before writing anything, or after writing less than a
/// piece without a flush, is answered with a 500 instead of the handler's status.
#[test]
fn a_sync_writer_failing_before_its_first_bytes_is_a_500() {
    let options = support::sync_io_options();
    let server = start(options, |req: Request| {
        let path = req.uri().path().to_string();
        let mut r = Response::new(Body::from_writer(move |w| {
            if path == "/unflushed" {
                w.write_all(b"not sent")?;
            }
            match path.as_str() {
                "/panic" => panic!("writer bug before its first byte"),
                _ => Err(std::io::Error::other("gave up before writing")),
            }
        }));
        r.headers_mut()
            .insert("x-handler", falconet::http::HeaderValue::from_static("1"));
        r
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        for path in ["/error", "/panic", "/unflushed"] {
            let (s, h, b) = send(&mut c, "GET", path, None).await.unwrap();
            assert_eq!(s, 500, "{path}");
            assert!(h.get("x-handler").is_none(), "{path}: {h:?}");
            assert!(b.is_empty(), "{path}: {b:?}");
        }
    });
    for needles in [
        [
            "ERROR",
            "stream 1:",
            "response writer failed",
            "gave up before writing",
        ],
        [
            "ERROR",
            "stream 3:",
            "response writer panicked",
            "writer bug before its first byte",
        ],
    ] {
        let line = support::logged(&needles, Duration::from_secs(2));
        assert!(
            line.is_some(),
            "no error line explains the 500: {needles:?}"
        );
    }
}

/// A writer's first piece is MaxResponseBufferSize bytes (64 KiB by default), as on
/// HTTP/1.1: one that returns before it went out sends its body whole, with a
/// Content-Length (none for HEAD, whose body is not sent); one that flushes, or writes
/// more, streams it without one. Either way the client gets every byte.
#[test]
fn a_sync_writer_that_never_flushes_gets_a_content_length() {
    let body = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 251) as u8).collect() };
    let options = support::sync_io_options();
    let server = start(options, move |req: Request| {
        let flush = req.uri().path() == "/flushed";
        let n: usize = req.uri().query().unwrap_or("0").parse().unwrap();
        Response::new(Body::from_writer(move |w| {
            let data = body(n);
            let (a, b) = data.split_at(n / 2);
            for piece in a.chunks(1000) {
                w.write_all(piece)?;
            }
            if flush {
                w.flush()?;
            }
            for piece in b.chunks(1000) {
                w.write_all(piece)?;
            }
            Ok(())
        }))
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        for n in [12, 40_000] {
            let (s, h, b) = send(&mut c, "GET", &format!("/whole?{n}"), None)
                .await
                .unwrap();
            assert_eq!(s, 200);
            assert_eq!(h["content-length"], n.to_string().as_str());
            assert_eq!(b, body(n));
            let (s, h, b) = send(&mut c, "HEAD", &format!("/whole?{n}"), None)
                .await
                .unwrap();
            assert_eq!(s, 200);
            assert!(h.get("content-length").is_none(), "{h:?}");
            assert!(b.is_empty());
        }
        for path in ["/flushed?12", "/whole?200000"] {
            let (s, h, b) = send(&mut c, "GET", path, None).await.unwrap();
            assert_eq!(s, 200);
            assert!(h.get("content-length").is_none(), "{path}: {h:?}");
            assert_eq!(
                b,
                body(path[path.find('?').unwrap() + 1..].parse().unwrap())
            );
        }
    });
}

/// With a smaller MaxResponseBufferSize the response starts sooner: a writer that fails
/// after 150 bytes has already sent its HEADERS (its stream is reset), one that fails
/// after 60 has not (500).
#[test]
fn a_sync_writer_starts_at_max_response_buffer_size() {
    let mut options = support::sync_io_options();
    options.limits.max_response_buffer_size = Some(100);
    let server = start(options, |req: Request| {
        let n: usize = req.uri().query().unwrap_or("0").parse().unwrap();
        Response::new(Body::from_writer(move |w| {
            for _ in 0..n / 10 {
                w.write_all(b"0123456789")?;
            }
            Err(std::io::Error::other("stopped"))
        }))
    });
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        let (s, _, b) = send(&mut c, "GET", "/?60", None).await.unwrap();
        assert_eq!(s, 500);
        assert!(b.is_empty());
        match send(&mut c, "GET", "/?150", None).await {
            Ok((s, _, b)) => panic!("a started response ended as complete ({s}, {b:?})"),
            Err(e) => assert_eq!(e.reason(), Some(h2::Reason::INTERNAL_ERROR), "{e}"),
        }
    });
}

/// A tiny MaxResponseBufferSize (0, 100 bytes) makes HTTP/2 queue and hand over response
/// bodies in small pieces; a reader body and a writer body of 300 KB still arrive whole.
/// The writer's pieces (a hundred hand-overs between two threads) used to be lost on the
/// way now and then: a piece sent while the connection was being parked woke nobody, and
/// the response never came.
#[test]
fn tiny_response_buffer_still_sends_whole_bodies() {
    fn body_of(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }
    // Far beyond a healthy answer (well under a second): a lost piece is a response that
    // never comes.
    let bound = Duration::from_secs(30);
    for limit in [0, 100] {
        let mut options = support::sync_io_options();
        options.limits.max_response_buffer_size = Some(limit);
        // One event loop, so that a worker always waits on it while the writer runs:
        // the client's frames are read at once, and the hand-overs come fast.
        options.workers = 4;
        options.event_loops = Some(1);
        let server = start(options, |req: Request| {
            let data = body_of(300_000);
            if req.uri().path() == "/writer" {
                Response::new(Body::from_writer(move |w| {
                    data.chunks(3000).try_for_each(|c| w.write_all(c))
                }))
            } else {
                Response::new(Body::from_reader(std::io::Cursor::new(data), None))
            }
        });
        rt().block_on(async {
            let mut c = connect(server.addr).await;
            for path in ["/reader", "/writer"] {
                let (s, _, b) = tokio::time::timeout(bound, send(&mut c, "GET", path, None))
                    .await
                    .unwrap_or_else(|_| panic!("{path} with limit {limit}: no answer in {bound:?}"))
                    .unwrap();
                assert_eq!(s, 200, "{path} with limit {limit}");
                assert!(
                    b == body_of(300_000),
                    "{path} with limit {limit}: {} bytes",
                    b.len()
                );
            }
        });
    }
}

/// A writer whose connection ended before its first bytes (the client went away while
/// the handler ran) gets an error from its writes instead of blocking its worker for ever.
#[test]
fn a_sync_writer_whose_connection_ended_gets_an_error() {
    let (tx, rx) = std::sync::mpsc::channel();
    let options = support::sync_io_options();
    let server = start(options, move |_req: Request| {
        let tx = tx.clone();
        Response::new(Body::from_writer(move |w| {
            std::thread::sleep(Duration::from_millis(300));
            let r = (0..1000).try_for_each(|_| {
                w.write_all(&[b'x'; 16 * 1024])?;
                w.flush()
            });
            let _ = tx.send(r.is_err());
            r
        }))
    });
    rt().block_on(async {
        let c = connect(server.addr).await;
        let req = HttpRequest::builder()
            .uri("http://localhost/")
            .body(())
            .unwrap();
        let mut c = c.ready().await.unwrap();
        let _response = c.send_request(req, true).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    // The runtime is gone, and with it the connection.
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
}

#[test]
fn http1_to_an_http2_only_endpoint_gets_a_plain_400() {
    let mut options = support::options();
    options.endpoints[0].protocols = Protocols::Http2;
    let server = start(options, echo);
    let r = support::roundtrip(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains("HTTP/2 only"), "{}", r.body_str());
    // HTTP/2 with prior knowledge works there.
    rt().block_on(async {
        let mut c = connect(server.addr).await;
        assert_eq!(send(&mut c, "GET", "/", None).await.unwrap().0, 200);
    });
}

#[test]
fn http1_only_endpoint_does_not_speak_http2() {
    let mut options = support::options();
    options.endpoints[0].protocols = Protocols::Http1;
    let server = start(options, echo);
    let mut s = server.connect();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        buf.starts_with(b"HTTP/1.1 505") || buf.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

#[test]
fn bad_preface_gets_goaway_protocol_error() {
    let mut options = support::options();
    options.endpoints[0].protocols = Protocols::Http2;
    let server = start(options, echo);
    let mut s = server.connect();
    // The preface, then garbage where the client's SETTINGS must be.
    s.write_all(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x01",
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    // Frames: our SETTINGS (type 4) ... and a GOAWAY (type 7) with PROTOCOL_ERROR (1).
    let mut off = 0;
    let mut goaway = None;
    while off + 9 <= buf.len() {
        let len =
            ((buf[off] as usize) << 16) | ((buf[off + 1] as usize) << 8) | buf[off + 2] as usize;
        let ty = buf[off + 3];
        if ty == 7 && off + 9 + 8 <= buf.len() {
            let p = &buf[off + 9..];
            goaway = Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        }
        off += 9 + len;
    }
    assert_eq!(goaway, Some(1), "GOAWAY PROTOCOL_ERROR in {buf:?}");
}

/// Every frame in `buf` as (type, stream, payload); a partial frame at the end is left
/// out.
fn frames(buf: &[u8]) -> Vec<(u8, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 9 <= buf.len() {
        let len =
            ((buf[off] as usize) << 16) | ((buf[off + 1] as usize) << 8) | buf[off + 2] as usize;
        if off + 9 + len > buf.len() {
            break;
        }
        let stream = u32::from_be_bytes([buf[off + 5], buf[off + 6], buf[off + 7], buf[off + 8]]);
        out.push((buf[off + 3], stream, buf[off + 9..off + 9 + len].to_vec()));
        off += 9 + len;
    }
    out
}

#[test]
fn invalid_preface_on_an_http2_only_endpoint_gets_goaway_protocol_error() {
    let mut options = support::options();
    options.endpoints[0].protocols = Protocols::Http2;
    let server = start(options, echo);
    for bad in [
        &b"PRI * HTTP/2.1\r\n\r\nSM\r\n\r\n"[..],
        // A TLS ClientHello's first bytes (a client that speaks TLS to a cleartext port).
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        // Frames without the preface.
        b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        // Not a request line after all.
        b"GET / FTP/1.1\r\n",
    ] {
        let mut s = server.connect();
        s.write_all(bad).unwrap();
        let mut buf = Vec::new();
        // The server closes after its GOAWAY (bounded by the socket's read timeout).
        let r = s.read_to_end(&mut buf);
        assert!(
            r.is_ok(),
            "{bad:?}: closed cleanly after the GOAWAY, not {r:?}"
        );
        let frames = frames(&buf);
        assert_eq!(
            frames.first().map(|f| (f.0, f.1)),
            Some((0x4, 0)),
            "{bad:?}: the server's preface (SETTINGS) first: {buf:?}"
        );
        let goaway = frames.iter().rev().find(|f| f.0 == 0x7);
        let (last, code) = goaway
            .map(|(_, _, p)| {
                (
                    u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                    u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                )
            })
            .unwrap_or_else(|| panic!("{bad:?}: no GOAWAY in {buf:?}"));
        assert_eq!((last, code), (0, 1), "{bad:?}: GOAWAY(0, PROTOCOL_ERROR)");
    }
    // An HTTP/1.x request line alone (no headers yet) still gets the readable 400.
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let r = support::read_response(&mut s, false).expect("a response");
    assert_eq!(r.status, 400);
    assert!(r.body_str().contains("HTTP/2 only"), "{}", r.body_str());
}

/// The acceptance test: 2 workers, 8 HTTP/2 connections × 20 concurrent streams of
/// 50 ms handlers, plus HTTP/1.1 clients at the same time: every request completes or is
/// cleanly refused (REFUSED_STREAM, retryable: retried here as clients do, until all 160
/// complete), and nothing hangs.
#[test]
fn saturated_pool_completes_or_refuses_and_never_hangs() {
    let mut options = support::options();
    options.workers = 2;
    options.queue_capacity = 32;
    let server = start(options, |req: Request| {
        std::thread::sleep(Duration::from_millis(50));
        Response::new(Body::from(req.uri().path().to_string()))
    });
    let addr = server.addr;
    let ok = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let http1_ok = Arc::new(AtomicUsize::new(0));
    let h1 = {
        let http1_ok = http1_ok.clone();
        std::thread::spawn(move || {
            for i in 0..10 {
                let r = support::get_at(addr, &format!("/h1/{i}"));
                assert_eq!(r.status, 200);
                http1_ok.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let start = Instant::now();
    rt().block_on(async {
        let mut tasks = Vec::new();
        for conn in 0..8 {
            let c = connect(addr).await;
            for s in 0..20 {
                let mut c = c.clone();
                let (ok, refused) = (ok.clone(), refused.clone());
                tasks.push(tokio::spawn(async move {
                    // A refused stream is retried, as clients do with REFUSED_STREAM.
                    for _attempt in 0..200 {
                        match tokio::time::timeout(
                            Duration::from_secs(60),
                            send(&mut c, "GET", &format!("/{conn}/{s}"), None),
                        )
                        .await
                        {
                            Ok(Ok((st, _, b))) => {
                                assert_eq!(st, 200);
                                assert_eq!(String::from_utf8(b).unwrap(), format!("/{conn}/{s}"));
                                ok.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            Ok(Err(e)) => {
                                assert_eq!(e.reason(), Some(h2::Reason::REFUSED_STREAM), "{e}");
                                refused.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            Err(_) => panic!("a stream hung"),
                        }
                    }
                    panic!("refused 200 times");
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    h1.join().unwrap();
    let (ok, refused) = (ok.load(Ordering::SeqCst), refused.load(Ordering::SeqCst));
    // Every request completed, some after being refused while the pool was saturated.
    assert_eq!(ok, 160, "refused {refused}");
    eprintln!("160 streams completed; {refused} refusals were retried");
    assert_eq!(http1_ok.load(Ordering::SeqCst), 10);
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn idle_http2_connections_hold_no_worker() {
    let mut options = support::options();
    options.workers = 2;
    let server = start(options, echo);
    let addr = server.addr;
    let rt = rt();
    let clients: Vec<SendRequest> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..50 {
            let mut c = connect(addr).await;
            assert_eq!(send(&mut c, "GET", "/", None).await.unwrap().0, 200);
            v.push(c);
        }
        v
    });
    // 50 idle HTTP/2 connections, 2 workers: both workers are free for new clients.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.handle.stats().workers_busy, 0);
    let t = Instant::now();
    let r = support::get_at(addr, "/fresh");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() < Duration::from_secs(2));
    // And the idle ones still answer.
    rt.block_on(async {
        for mut c in clients {
            assert_eq!(send(&mut c, "GET", "/", None).await.unwrap().0, 200);
        }
    });
}

#[test]
fn graceful_shutdown_finishes_streams_in_flight() {
    let server = start(support::options(), |_req: Request| {
        std::thread::sleep(Duration::from_millis(300));
        Response::new(Body::from("finished"))
    });
    let addr = server.addr;
    let handle = server.handle.clone();
    rt().block_on(async {
        let c = connect(addr).await;
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let mut c = c.clone();
            tasks.push(tokio::spawn(
                async move { send(&mut c, "GET", "/", None).await },
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let h = handle.clone();
        let stopper = std::thread::spawn(move || h.shutdown(Duration::from_secs(10)));
        for t in tasks {
            let (s, _, b) = t.await.unwrap().unwrap();
            assert_eq!(s, 200);
            assert_eq!(b, b"finished");
        }
        assert!(stopper.join().unwrap(), "shutdown was clean");
    });
}

#[test]
fn trailers_both_ways_and_handler_reset() {
    let server = start(support::options(), |req: Request| {
        if req.uri().path() == "/reset" {
            falconet::RequestExt::control(&req).reset(0x2); // INTERNAL_ERROR
            return Response::new(Body::from("never sent"));
        }
        let got = req
            .body()
            .trailers()
            .and_then(|t| t.get("x-checksum").cloned())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let mut t = falconet::http::HeaderMap::new();
        t.insert("x-result", "done".parse().unwrap());
        Response::new(Body::from(format!("request trailer {got}")).with_trailers(t))
    });
    rt().block_on(async {
        let c = connect(server.addr).await;
        let mut c = c.ready().await.unwrap();
        let req = HttpRequest::builder()
            .method("POST")
            .uri("http://localhost/t")
            .body(())
            .unwrap();
        let (resp, mut stream) = c.send_request(req, false).unwrap();
        stream.send_data(Bytes::from_static(b"abc"), false).unwrap();
        let mut t = falconet::http::HeaderMap::new();
        t.insert("x-checksum", "42".parse().unwrap());
        stream.send_trailers(t).unwrap();
        let resp = resp.await.unwrap();
        let mut body = resp.into_body();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            data.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(data, b"request trailer 42");
        let trailers = body.trailers().await.unwrap().unwrap();
        assert_eq!(trailers["x-result"], "done");

        // The handler resets its stream: RST_STREAM with its code, the connection lives.
        let mut c2 = c.clone();
        let err = send(&mut c2, "GET", "/reset", None).await.unwrap_err();
        assert_eq!(err.reason(), Some(h2::Reason::INTERNAL_ERROR), "{err}");
        let (s, _, _) = send(&mut c2, "GET", "/t", None).await.unwrap();
        assert_eq!(s, 200);
    });
}

/// Requests read together run as one batch on one worker; a handler that blocks must not
/// hold up the others (the poller thread spreads a batch stuck behind it).
#[test]
fn a_blocking_handler_does_not_hold_up_its_batch() {
    let mut options = support::options();
    options.workers = 3;
    let server = start(options, |req: Request| {
        if req.uri().path() == "/block" {
            std::thread::sleep(Duration::from_secs(3));
        }
        Response::new(Body::from(req.uri().path().to_string()))
    });
    rt().block_on(async {
        let c = connect(server.addr).await;
        let mut a = c.clone();
        let mut b = c.clone();
        // Both requests go out together, so the server reads them in one pass.
        let start = Instant::now();
        let slow = tokio::spawn(async move { send(&mut a, "GET", "/block", None).await });
        let fast = tokio::spawn(async move { send(&mut b, "GET", "/fast", None).await });
        let (_, _, body) = fast.await.unwrap().unwrap();
        assert_eq!(body, b"/fast");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the fast request waited {:?} behind the blocking one",
            start.elapsed()
        );
        let (_, _, body) = slow.await.unwrap().unwrap();
        assert_eq!(body, b"/block");
    });
}

#[test]
fn preface_split_across_reads_is_recognised() {
    let server = start(support::options(), echo);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // "PRI * HT" alone could still be HTTP/1.x: the server waits for the rest.
    s.write_all(b"PRI * HT").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(b"TP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    // The server's first frame is its SETTINGS (type 4 on stream 0).
    let mut head = [0u8; 9];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[3], 0x4, "{head:?}");
    assert_eq!(&head[5..9], &[0, 0, 0, 0]);
}

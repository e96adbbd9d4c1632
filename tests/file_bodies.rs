//! `Body::from_file`: a file region as a response body, sent with sendfile(2) on plain
//! TCP. The bytes arrive intact (whole file, a region, an empty region, keep-alive after
//! it), a file shorter than declared ends the connection instead of hanging it, and a
//! client that does not read is cut off by MinResponseDataRate as with any body.
mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use falconet::{Body, MinDataRate, Request, Response};
use support::TempDir;

/// A file of `len` bytes whose content is a function of the offset.
fn make_file(dir: &TempDir, len: usize) -> std::path::PathBuf {
    let path = dir.path().join("data.bin");
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

/// Serves `/{offset}/{len}` of `path` with Body::from_file.
fn file_server(path: std::path::PathBuf, options: falconet::ServerOptions) -> support::TestServer {
    support::start(options, move |req: Request| {
        let mut parts = req.uri().path().trim_start_matches('/').split('/');
        let offset: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let len: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let f = std::fs::File::open(&path).unwrap();
        Response::new(Body::from_file(f, offset, len))
    })
}

fn expected(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn file_regions_arrive_byte_identical_on_one_keep_alive_connection() {
    const SIZE: usize = 6 << 20;
    let dir = TempDir::new("file-bodies");
    let server = file_server(make_file(&dir, SIZE), support::options());
    let mut c = server.connect();
    for (offset, len) in [
        (0, SIZE),
        (1000, 3 << 20),
        (SIZE - 7, 7),
        (5, 0),
        (12345, 1),
    ] {
        write!(c, "GET /{offset}/{len} HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let start = Instant::now();
        let r = support::read_response(&mut c, false).expect("a response");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
        assert_eq!(r.body.len(), len, "region {offset}+{len}");
        assert!(
            r.body == expected(offset, len),
            "region {offset}+{len} differs"
        );
        // An empty or tiny region must not leave the head waiting for more (MSG_MORE's
        // 200 ms cork). Only those are timed: megabytes under qemu on a busy machine can
        // take seconds.
        if len < 4096 {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "region {offset}+{len} took {:?}",
                start.elapsed()
            );
        }
    }
    // HEAD: the head only, and the connection goes on.
    c.write_all(b"HEAD /0/100 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let r = support::read_response(&mut c, true).expect("a HEAD response");
    assert_eq!(r.header("content-length"), Some("100"));
    assert!(r.body.is_empty());
    c.write_all(b"GET /0/10 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let r = support::read_response(&mut c, false).expect("a response after HEAD");
    assert!(r.body == expected(0, 10));
}

#[test]
fn a_file_shorter_than_declared_closes_the_connection() {
    let dir = TempDir::new("file-bodies-short");
    let server = file_server(make_file(&dir, 1000), support::options());
    let mut c = server.connect();
    c.write_all(b"GET /900/500 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let (bytes, closed_at) = support::read_until_close(&mut c, Duration::from_secs(5));
    assert!(closed_at.is_some(), "the connection was not closed");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-length: 500\r\n"),
        "{text}"
    );
    let body = &bytes[support::find(&bytes, b"\r\n\r\n").unwrap() + 4..];
    assert!(
        body == expected(900, 100).as_slice(),
        "got {} body bytes",
        body.len()
    );
}

#[test]
fn a_client_that_does_not_read_a_file_is_cut_off_by_the_response_rate() {
    const SIZE: usize = 32 << 20;
    let dir = TempDir::new("file-bodies-slow");
    let mut options = support::options();
    options.workers = 1;
    options.limits.min_response_data_rate = Some(MinDataRate {
        bytes_per_second: 1 << 20,
        grace_period: Duration::from_secs(2),
    });
    let server = file_server(make_file(&dir, SIZE), options);
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&server.addr.into()).unwrap();
    let mut slow: std::net::TcpStream = sock.into();
    write!(slow, "GET /0/{SIZE} HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    // Meanwhile the only worker serves others.
    std::thread::sleep(Duration::from_millis(300));
    let r = support::roundtrip(
        &server,
        b"GET /0/5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    // The slow client is cut off after the grace period: reading now ends well before
    // the 32 MiB (the server closed the connection).
    std::thread::sleep(Duration::from_secs(4));
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let start = Instant::now();
    loop {
        match slow.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
        assert!(start.elapsed() < Duration::from_secs(20), "still reading");
    }
    assert!(
        total < SIZE,
        "the whole file arrived: the rate was not enforced"
    );
    assert!(
        server
            .handle
            .stats()
            .timeouts
            .iter()
            .any(|(k, n)| *k == "response_rate" && *n >= 1),
        "no response-rate timeout counted: {:?}",
        server.handle.stats().timeouts
    );
}

//! Graceful shutdown loses nothing: a request that reached the server before shutdown
//! began gets its whole response (with `Connection: close` where it was answered during
//! shutdown) and a clean close, never a reset — whether it arrived on an idle keep-alive
//! connection, on a connection the server had accepted but not yet read, or on one still
//! waiting in the listen backlog.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use falconet::{Body, Request, Response, ServerHandle};
use support::*;

const REQUEST: &[u8] = b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n";
const HOLD: &[u8] = b"GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// What became of one request sent before shutdown.
#[derive(Debug)]
enum Fate {
    /// A complete 200 response, then the end of the stream; whether it said
    /// `Connection: close`.
    Answered { close_header: bool },
    /// Anything else, described.
    Lost(String),
}

/// Reads until the server closes the connection (bounded by the socket's 10 s read
/// timeout per read) and judges what came: one complete 200 response, then a clean end.
fn fate(s: &mut TcpStream) -> Fate {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        if Instant::now() > deadline {
            break Some("still open after 20 s".to_string());
        }
        match s.read(&mut chunk) {
            Ok(0) => break None,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break Some("not closed after the response".to_string())
            }
            Err(e) => break Some(format!("{e}")),
        }
    };
    let text = String::from_utf8_lossy(&got).into_owned();
    if let Some(e) = error {
        return Fate::Lost(format!("{e} after {} bytes {text:?}", got.len()));
    }
    let expected_end = "\r\n\r\ndone";
    if !text.starts_with("HTTP/1.1 200 ") || !text.ends_with(expected_end) {
        return Fate::Lost(format!("not one complete response: {text:?}"));
    }
    let close_header = text
        .to_ascii_lowercase()
        .contains("\r\nconnection: close\r\n");
    Fate::Answered { close_header }
}

/// One run: 25 idle keep-alive connections and 25 fresh ones send a request each; then
/// shutdown begins; then 25 more idle keep-alive connections and 25 more fresh ones send
/// theirs (those may be refused in any way, but nothing may hang). With `hold`, the first
/// fresh connections' handlers keep every worker busy until shutdown has begun, so that
/// at the signal the other requests still wait: in sockets of parked connections, in the
/// pool's (tiny) queue, in the accept thread's hands and in the listen backlog.
fn run(hold: bool) -> Vec<(usize, Fate)> {
    const WORKERS: usize = 4;
    let handle: Arc<OnceLock<ServerHandle>> = Arc::default();
    let h = handle.clone();
    let mut o = options();
    o.workers = WORKERS;
    o.queue_capacity = 2;
    o.shutdown_timeout = Duration::from_secs(10);
    let server = start(o, move |req: Request| {
        if req.uri().path() == "/hold" {
            // Until shutdown has begun (bounded).
            let until = Instant::now() + Duration::from_secs(10);
            while !h.get().is_some_and(|h| h.is_shutting_down()) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Response::new(Body::from("done"))
    });
    let _ = handle.set(server.handle.clone());
    let addr = server.addr;

    // 50 keep-alive connections, each answered once and idle now.
    let mut idle: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut s = connect(addr);
            s.write_all(REQUEST).unwrap();
            let r = read_response(&mut s, false)
                .unwrap_or_else(|| panic!("warm-up request {i} answered"));
            assert_eq!(r.status, 200);
            s
        })
        .collect();
    let later_idle = idle.split_off(25);

    // Before the signal: 50 requests. With `hold`, the held ones first, until they
    // occupy every worker (bounded; the test holds without it).
    let mut before = Vec::new();
    let held = if hold { WORKERS } else { 0 };
    for i in 0..held {
        let mut s = connect(addr);
        s.write_all(HOLD).unwrap();
        before.push((25 + i, s));
    }
    let until = Instant::now() + Duration::from_secs(2);
    while server.handle.stats().workers_busy < held as u64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    for i in held..25 {
        let mut s = connect(addr);
        s.write_all(REQUEST).unwrap();
        before.push((25 + i, s));
    }
    // Last, in one burst: requests on the parked connections.
    for (i, mut s) in idle.into_iter().enumerate() {
        s.write_all(REQUEST).unwrap();
        before.push((i, s));
    }

    // The signal.
    let h = server.handle.clone();
    let stopper = std::thread::spawn(move || h.shutdown(Duration::from_secs(10)));

    // After the signal: 50 more, whose fate is not asserted beyond "bounded".
    let mut after = Vec::new();
    for mut s in later_idle {
        let _ = s.write_all(REQUEST);
        after.push(s);
    }
    for _ in 0..25 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(REQUEST);
            after.push(s);
        }
    }

    let fates: Vec<(usize, Fate)> = before
        .into_iter()
        .map(|(i, mut s)| (i, fate(&mut s)))
        .collect();
    for mut s in after {
        // Answered or closed, within the read timeout.
        let _ = read_response(&mut s, false);
    }
    assert!(
        stopper.join().unwrap(),
        "shutdown finished every connection in time"
    );
    fates
}

#[test]
fn requests_received_before_shutdown_are_all_answered() {
    let started = Instant::now();
    let mut failures = Vec::new();
    for round in 0..10 {
        let hold = round % 2 == 1;
        for (i, f) in run(hold) {
            match f {
                Fate::Answered { close_header } => {
                    // Held back until shutdown began, these were certainly answered
                    // during it.
                    if hold && !close_header {
                        failures.push(format!(
                            "run {round} (held), request {i}: no Connection: close"
                        ));
                    }
                }
                Fate::Lost(why) => failures.push(format!(
                    "run {round} ({}), request {i} ({}): {why}",
                    if hold { "held" } else { "free" },
                    if i < 25 { "keep-alive" } else { "fresh" }
                )),
            }
        }
    }
    eprintln!("10 runs took {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of 500 requests sent before shutdown were not answered:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

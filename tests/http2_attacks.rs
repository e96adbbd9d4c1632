//! Known HTTP/2 attacks run against a real server over a socket with a small frame
//! builder: each ends with the right GOAWAY (or a closed connection where a timeout is the
//! answer), handlers run a bounded number of times, and the server keeps serving others.
//! The core's unit tests (src/http2/conn/tests.rs) cover the same bounds frame by frame.
#![cfg(feature = "http2")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use falconet::{Body, MinDataRate, Request, Response};
use support::TestServer;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const ENHANCE_YOUR_CALM: u32 = 0xb;

fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in pairs {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(0x4, 0, 0, &p)
}

/// A GET / header block: static-table :method GET, :scheme http, :path /, and a literal
/// :authority.
fn get_block() -> Vec<u8> {
    let mut b = vec![0x82, 0x86, 0x84, 0x01, 9];
    b.extend_from_slice(b"localhost");
    b
}

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

fn open(server: &TestServer, client_settings: &[(u16, u32)]) -> TcpStream {
    let mut s = server.connect();
    hello(&mut s, client_settings);
    s
}

fn hello(s: &mut TcpStream, client_settings: &[(u16, u32)]) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(client_settings));
    s.write_all(&hello).unwrap();
}

/// A client socket with a tiny receive buffer: it "does not read" in the sense that
/// matters, the server's answers pile up on its side.
fn open_small_window(server: &TestServer) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&server.addr.into()).unwrap();
    let mut s: TcpStream = sock.into();
    hello(&mut s, &[]);
    s
}

/// Whether the tests run under an emulator (FALCONET_TEST_RUNNER, as CI's aarch64 run
/// under qemu). The two floods "from a client that does not read" must push more bytes
/// than the kernel's socket buffers hold (megabytes); under emulation the server works
/// through them too slowly for a bounded test, so they run natively only. The bound
/// itself is also covered by the core's unit tests (attack_ping_flood,
/// attack_settings_flood), which run everywhere.
fn emulated() -> bool {
    let e = !support::test_runner().is_empty();
    if e {
        eprintln!("not run under emulation: see `emulated`");
    }
    e
}

/// Floods from a thread (the server may stop reading), then waits for the server to
/// close the connection: `true` when it did within `within`.
fn flood_until_closed(mut s: TcpStream, burst: Vec<u8>, within: Duration) -> bool {
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&burst);
    });
    // Let the flood pile up before reading anything.
    std::thread::sleep(Duration::from_millis(500));
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 65536];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true, // reset by the server
        }
        if Instant::now() > deadline {
            break false;
        }
    };
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    closed
}

/// Reads until the server closes (bounded) and returns the GOAWAY error code, if any.
fn goaway_code(s: &mut TcpStream, within: Duration) -> Option<u32> {
    let deadline = Instant::now() + within;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
            Err(_) => break,
        }
    }
    let mut off = 0;
    let mut code = None;
    while off + 9 <= buf.len() {
        let len =
            ((buf[off] as usize) << 16) | ((buf[off + 1] as usize) << 8) | buf[off + 2] as usize;
        if buf[off + 3] == 0x7 && off + 9 + 8 <= buf.len() {
            let p = &buf[off + 9..];
            code = Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        }
        off += 9 + len;
    }
    code
}

fn counting_server() -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    support::capture_logs();
    let server = support::start(support::options(), move |_req: Request| {
        c.fetch_add(1, Ordering::SeqCst);
        Response::new(Body::from("ok"))
    });
    (server, calls)
}

/// After an attack the server still answers a well-behaved client.
fn still_serves(server: &TestServer) {
    let r = support::roundtrip(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200);
}

/// Writes as much as the server takes (it may close mid-flood: that is the answer).
fn flood(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

#[test]
fn rapid_reset_gets_enhance_your_calm() {
    let (server, calls) = counting_server();
    let mut s = open(&server, &[]);
    let mut burst = Vec::new();
    for i in 0..2000u32 {
        let id = 2 * i + 1;
        burst.extend(frame(0x1, END_STREAM | END_HEADERS, id, &get_block()));
        burst.extend(frame(0x3, 0, id, &8u32.to_be_bytes())); // RST_STREAM CANCEL
    }
    flood(&mut s, &burst);
    assert_eq!(
        goaway_code(&mut s, Duration::from_secs(10)),
        Some(ENHANCE_YOUR_CALM)
    );
    // Handlers ran for a bounded number of the 2000 streams, not for each.
    let n = calls.load(Ordering::SeqCst);
    assert!(n <= 400, "{n} handler calls");
    still_serves(&server);
}

#[test]
fn continuation_flood_gets_enhance_your_calm() {
    let (server, calls) = counting_server();
    let mut s = open(&server, &[]);
    // HEADERS without END_HEADERS, then CONTINUATION after CONTINUATION of junk fields.
    let mut junk = Vec::new();
    for _ in 0..1000 {
        junk.extend_from_slice(&[0x00, 1, b'x', 10]);
        junk.extend_from_slice(b"yyyyyyyyyy");
    }
    let mut burst = frame(0x1, 0, 1, &get_block());
    for _ in 0..200 {
        burst.extend(frame(0x9, 0, 1, &junk[..14_000]));
    }
    flood(&mut s, &burst);
    assert_eq!(
        goaway_code(&mut s, Duration::from_secs(10)),
        Some(ENHANCE_YOUR_CALM)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    still_serves(&server);
}

#[test]
fn ping_flood_from_a_client_that_does_not_read() {
    if emulated() {
        return;
    }
    let (server, _) = counting_server();
    let s = open_small_window(&server);
    let mut burst = Vec::new();
    // More PING ACKs (17 octets each) than the kernel's largest send buffer holds.
    for i in 0..400_000u64 {
        burst.extend(frame(0x6, 0, 0, &i.to_be_bytes()));
    }
    // The PING ACKs cannot leave; once 1,000 wait, the server gives up on the client.
    assert!(flood_until_closed(s, burst, Duration::from_secs(30)));
    assert!(support::logged(&["EnhanceYourCalm"], Duration::from_secs(2)).is_some());
    still_serves(&server);
}

/// A client that reads every ACK but pings without pause: cut off after 1,000 PINGs in a
/// second (each ACKed), not after all the bytes it can push.
#[test]
fn ping_flood_from_a_client_that_reads_gets_enhance_your_calm() {
    let (server, _) = counting_server();
    let mut s = open(&server, &[]);
    let mut burst = Vec::new();
    for i in 0..5000u64 {
        burst.extend(frame(0x6, 0, 0, &i.to_be_bytes()));
    }
    flood(&mut s, &burst);
    assert_eq!(
        goaway_code(&mut s, Duration::from_secs(10)),
        Some(ENHANCE_YOUR_CALM)
    );
    assert!(support::logged(&["PING or SETTINGS"], Duration::from_secs(2)).is_some());
    still_serves(&server);
}

#[test]
fn settings_flood_from_a_client_that_does_not_read() {
    if emulated() {
        return;
    }
    let (server, _) = counting_server();
    let s = open_small_window(&server);
    let one = settings(&[(0x4, 65_535)]);
    let mut burst = Vec::new();
    // More SETTINGS ACKs (9 octets each) than the kernel's largest send buffer holds.
    for _ in 0..600_000 {
        burst.extend_from_slice(&one);
    }
    assert!(flood_until_closed(s, burst, Duration::from_secs(30)));
    assert!(support::logged(&["EnhanceYourCalm"], Duration::from_secs(2)).is_some());
    still_serves(&server);
}

#[test]
fn empty_frames_flood_gets_enhance_your_calm() {
    let (server, _) = counting_server();
    let mut s = open(&server, &[]);
    // An open request stream, then empty DATA frames without END_STREAM.
    let mut burst = frame(0x1, END_HEADERS, 1, &{
        let mut b = vec![0x83, 0x86, 0x84, 0x01, 9]; // POST
        b.extend_from_slice(b"localhost");
        b
    });
    for _ in 0..1000 {
        burst.extend(frame(0x0, 0, 1, &[]));
    }
    flood(&mut s, &burst);
    assert_eq!(
        goaway_code(&mut s, Duration::from_secs(10)),
        Some(ENHANCE_YOUR_CALM)
    );
    still_serves(&server);
}

#[test]
fn zero_window_client_is_ended_by_the_response_data_rate() {
    let mut options = support::options();
    options.limits.min_response_data_rate = Some(MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(2),
    });
    support::capture_logs();
    let server = support::start(options, |_req: Request| {
        Response::new(Body::from(vec![b'z'; 1_000_000]))
    });
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: the response can never be sent.
    let mut s = open(&server, &[(0x4, 0)]);
    s.write_all(&frame(0x1, END_STREAM | END_HEADERS, 1, &get_block()))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(_) => break start.elapsed() >= Duration::from_secs(10),
        }
        if start.elapsed() > Duration::from_secs(15) {
            break false;
        }
    };
    assert!(closed, "the connection stayed open");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(support::logged(&["MinResponseDataRate"], Duration::from_secs(2)).is_some());
    still_serves(&server);
}

/// The same with a synchronous-I/O writer that keeps writing: once MinResponseDataRate has
/// ended the connection, the writer's next write fails, so the worker it holds is given
/// back instead of waiting for ever for a stream nobody reads.
#[test]
fn zero_window_client_frees_a_sync_writer() {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut options = support::sync_io_options();
    options.limits.min_response_data_rate = Some(MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(2),
    });
    let server = support::start(options, move |_req: Request| {
        let tx = tx.clone();
        Response::new(Body::from_writer(move |w| {
            let r = (0..10_000).try_for_each(|_| {
                w.write_all(&[b'z'; 16 * 1024])?;
                w.flush()
            });
            let _ = tx.send(r.is_err());
            r
        }))
    });
    let mut s = open(&server, &[(0x4, 0)]);
    s.write_all(&frame(0x1, END_STREAM | END_HEADERS, 1, &get_block()))
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(15)),
        Ok(true),
        "the writer was not stopped"
    );
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    still_serves(&server);
}

/// Waits until `count` is above 0 and has not moved for `quiet` (within 20 s); returns it.
fn settled(count: &AtomicUsize, quiet: Duration, what: &str) -> usize {
    let start = Instant::now();
    let mut last = (0, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = count.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() >= quiet {
            return now;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
    }
}

/// MaxResponseBufferSize bounds what a synchronous-I/O writer can hand over while its
/// client opens no window: with a limit of 4 KiB the writer blocks after a few of them (it
/// used to run about 150 KiB ahead whatever the limit), and once the client opens its
/// windows the whole body arrives, in order.
#[test]
fn sync_writer_runs_ahead_by_a_few_response_buffers_at_most() {
    const LIMIT: usize = 4096;
    const TOTAL: usize = 200 * 1024;
    let accepted = Arc::new(AtomicUsize::new(0));
    let mut options = support::sync_io_options();
    options.limits.max_response_buffer_size = Some(LIMIT);
    let seen = accepted.clone();
    let server = support::start(options, move |_req: Request| {
        let seen = seen.clone();
        Response::new(Body::from_writer(move |w| {
            for i in 0..TOTAL / 1024 {
                w.write_all(&[b'a' + (i % 26) as u8; 1024])?;
                seen.fetch_add(1024, Ordering::SeqCst);
            }
            Ok(())
        }))
    });
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: nothing can be sent until the client says so.
    let mut s = open(&server, &[(0x4, 0)]);
    s.write_all(&frame(0x1, END_STREAM | END_HEADERS, 1, &get_block()))
        .unwrap();
    // Wait until the writer has stopped taking bytes (blocked) for 500 ms.
    let ahead = settled(
        &accepted,
        Duration::from_millis(500),
        "the writer never settled",
    );
    assert!(
        ahead > LIMIT && ahead <= 4 * LIMIT,
        "the writer handed over {ahead} bytes with no window open (limit {LIMIT})"
    );
    // Open both windows: the rest must follow, whole and in order.
    let mut grant = frame(0x8, 0, 1, &(1u32 << 30).to_be_bytes());
    grant.extend(frame(0x8, 0, 0, &(1u32 << 30).to_be_bytes()));
    s.write_all(&grant).unwrap();
    let mut body = Vec::new();
    let mut headers = false;
    loop {
        let (ty, flags, stream, payload) = read_frame(&mut s).expect("the body stopped");
        match ty {
            0x1 if stream == 1 => headers = true,
            0x0 if stream == 1 => {
                body.extend_from_slice(&payload);
                if flags & END_STREAM != 0 {
                    break;
                }
            }
            0x3 | 0x7 => panic!("stream reset or connection ended: type {ty}"),
            _ => {}
        }
    }
    assert!(headers);
    assert_eq!(body.len(), TOTAL);
    for (i, piece) in body.chunks(1024).enumerate() {
        assert!(
            piece.iter().all(|&b| b == b'a' + (i % 26) as u8),
            "piece {i}"
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), TOTAL);
    still_serves(&server);
}

/// The process's resident memory in bytes (VmRSS).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

/// A response body that comes in small reads (a pipe, a generator of events).
struct SmallReads {
    left: usize,
    read: Arc<AtomicUsize>,
}

impl Read for SmallReads {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left).min(100);
        buf[..n].fill(b'x');
        self.left -= n;
        self.read.fetch_add(n, Ordering::SeqCst);
        Ok(n)
    }
}

/// A stream's queue of response data waits for a client that opens no window, bounded in
/// bytes (64 KiB by default); what it costs in memory must be about those bytes too, however
/// small the reads of the body: each piece used to keep the whole 16 KiB buffer it was
/// read into (100-byte reads: 160 times the data, about 10 MB per stream).
#[test]
fn response_data_queued_for_a_closed_window_costs_about_its_size() {
    const STREAMS: u32 = 20;
    let read = Arc::new(AtomicUsize::new(0));
    let counted = read.clone();
    let server = support::start(support::options(), move |_req: Request| {
        Response::new(Body::from_reader(
            SmallReads {
                left: 1 << 20,
                read: counted.clone(),
            },
            None,
        ))
    });
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: nothing can be sent until the client says so.
    let mut s = open(&server, &[(0x4, 0)]);
    // Let the connection settle before the baseline.
    s.write_all(&frame(0x6, 0, 0, &[0; 8])).unwrap();
    loop {
        let (ty, ..) = read_frame(&mut s).expect("the PING's answer");
        if ty == 0x6 {
            break;
        }
    }
    let before = rss();
    for i in 0..STREAMS {
        s.write_all(&frame(
            0x1,
            END_STREAM | END_HEADERS,
            2 * i + 1,
            &get_block(),
        ))
        .unwrap();
    }
    // Wait until the server has stopped pulling the bodies (each stream's queue full).
    let queued = settled(
        &read,
        Duration::from_millis(300),
        "the bodies were never held back",
    );
    let grown = rss().saturating_sub(before);
    assert!(
        queued >= STREAMS as usize * 32 * 1024,
        "only {queued} bytes were pulled"
    );
    assert!(
        grown < 16 << 20,
        "{queued} bytes queued for {STREAMS} streams took {grown} bytes of memory"
    );
    drop(s);
    still_serves(&server);
}

#[test]
fn request_body_that_stops_arriving_is_ended_by_the_body_data_rate() {
    let mut options = support::options();
    options.limits.min_request_body_data_rate = Some(MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(2),
    });
    support::capture_logs();
    let server = support::start(options, |_req: Request| Response::new(Body::from("ok")));
    let mut s = open(&server, &[]);
    // A POST whose body starts and then stops (no END_STREAM).
    let mut block = vec![0x83, 0x86, 0x84, 0x01, 9];
    block.extend_from_slice(b"localhost");
    s.write_all(&frame(0x1, END_HEADERS, 1, &block)).unwrap();
    s.write_all(&frame(0x0, 0, 1, b"0123456789")).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still open");
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(9),
        "{took:?}"
    );
    assert!(support::logged(&["MinRequestBodyDataRate"], Duration::from_secs(2)).is_some());
    let t: std::collections::HashMap<_, _> = server.handle.stats().timeouts.into_iter().collect();
    assert!(t["body_rate"] >= 1);
    still_serves(&server);
}

/// KeepAliveTimeout applies to an HTTP/2 connection with no stream: it is closed with a
/// GOAWAY NO_ERROR, and counted.
#[test]
fn idle_http2_connection_is_closed_after_the_keep_alive_timeout() {
    let mut options = support::options();
    options.limits.keep_alive_timeout = Duration::from_millis(500);
    support::capture_logs();
    let server = support::start(options, |_req: Request| Response::new(Body::from("ok")));
    let mut s = open(&server, &[]);
    let start = Instant::now();
    assert_eq!(goaway_code(&mut s, Duration::from_secs(10)), Some(0));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let t: std::collections::HashMap<_, _> = server.handle.stats().timeouts.into_iter().collect();
    assert!(t["keep_alive"] >= 1);
}

/// Reads one frame (type, flags, stream, payload) within the socket's read timeout.
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    s.read_exact(&mut head)?;
    let len = ((head[0] as usize) << 16) | ((head[1] as usize) << 8) | head[2] as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)?;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    Ok((head[3], head[4], stream, payload))
}

/// Graceful shutdown of an idle HTTP/2 connection after streams 1, 3 and 5 were
/// answered: one GOAWAY naming stream 5 (not 2^31-1, not 0), then a clean close. Both
/// with the connection parked in its event loop and with it perhaps still being driven
/// when shutdown begins.
#[test]
fn shutdown_goaway_names_the_last_stream_processed() {
    for parked in [true, false] {
        let server = support::start(support::options(), |_req: Request| {
            Response::new(Body::from("ok"))
        });
        let mut s = open(&server, &[]);
        for id in [1u32, 3, 5] {
            s.write_all(&frame(0x1, END_STREAM | END_HEADERS, id, &get_block()))
                .unwrap();
        }
        // Until every stream has ended (HEADERS or DATA with END_STREAM), bounded by
        // the socket's 10 s read timeout per frame and 50 frames.
        let mut ended = Vec::new();
        for _ in 0..50 {
            if ended.len() == 3 {
                break;
            }
            let (ty, flags, stream, _) = read_frame(&mut s).expect("a frame");
            if (ty == 0x0 || ty == 0x1) && flags & END_STREAM != 0 {
                ended.push(stream);
            }
        }
        ended.sort_unstable();
        assert_eq!(ended, [1, 3, 5], "every stream answered");
        if parked {
            // Let the connection park (it holds nothing), bounded.
            let until = Instant::now() + Duration::from_secs(5);
            while server.handle.stats().workers_busy > 0 && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let h = server.handle.clone();
        let stopper = std::thread::spawn(move || h.shutdown(Duration::from_secs(10)));
        let mut goaways = Vec::new();
        let end = loop {
            match read_frame(&mut s) {
                Ok((0x7, _, _, p)) => goaways.push((
                    u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                    u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                )),
                Ok(_) => {}
                Err(e) => break e,
            }
            if goaways.len() > 4 {
                panic!("GOAWAYs without end: {goaways:?}");
            }
        };
        assert_eq!(
            end.kind(),
            std::io::ErrorKind::UnexpectedEof,
            "closed cleanly after the GOAWAY (parked: {parked}): {end}"
        );
        // Nothing was in progress: no PING round trip (this client answers none), one
        // GOAWAY NO_ERROR naming stream 5.
        assert_eq!(
            goaways,
            [(5, 0)],
            "one GOAWAY NO_ERROR naming stream 5 (parked: {parked})"
        );
        drop(s);
        assert!(stopper.join().unwrap(), "shutdown was clean");
    }
}

/// A request that reached a parked HTTP/2 connection just before shutdown began is
/// answered, and the final GOAWAY names its stream.
#[test]
fn shutdown_answers_a_stream_that_arrived_before_the_signal() {
    let server = support::start(support::options(), |_req: Request| {
        Response::new(Body::from("ok"))
    });
    let mut s = open(&server, &[]);
    s.write_all(&frame(0x1, END_STREAM | END_HEADERS, 1, &get_block()))
        .unwrap();
    // Until stream 1 has ended (bounded: 50 frames, 10 s each), then let it park.
    let mut done = false;
    for _ in 0..50 {
        let (ty, flags, stream, _) = read_frame(&mut s).expect("a frame");
        if (ty == 0x0 || ty == 0x1) && flags & END_STREAM != 0 && stream == 1 {
            done = true;
            break;
        }
    }
    assert!(done, "stream 1 answered");
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(&frame(0x1, END_STREAM | END_HEADERS, 3, &get_block()))
        .unwrap();
    let h = server.handle.clone();
    let stopper = std::thread::spawn(move || h.shutdown(Duration::from_secs(10)));
    let mut goaways = Vec::new();
    let mut answered = false;
    let end = loop {
        match read_frame(&mut s) {
            Ok((0x7, _, _, p)) => goaways.push((
                u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            )),
            Ok((0x0 | 0x1, flags, 3, _)) if flags & END_STREAM != 0 => answered = true,
            Ok(_) => {}
            Err(e) => break e,
        }
        if goaways.len() > 4 {
            panic!("GOAWAYs without end: {goaways:?}");
        }
    };
    assert_eq!(end.kind(), std::io::ErrorKind::UnexpectedEof, "{end}");
    assert!(answered, "stream 3 answered; GOAWAYs {goaways:?}");
    assert_eq!(
        goaways.last(),
        Some(&(3, 0)),
        "the final GOAWAY names stream 3"
    );
    drop(s);
    assert!(stopper.join().unwrap(), "shutdown was clean");
}

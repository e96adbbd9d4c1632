//! Slow clients cost a worker only the time to process the bytes they send: clients that
//! drip their request heads one byte at a time do not stop a server with two workers from
//! serving everyone else, and the header timeout still ends them.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use falconet::{Body, Request, Response};

/// A request head long enough that dripping it takes far longer than the test.
fn long_head() -> Vec<u8> {
    let mut h = b"GET /drip HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
    h.extend(std::iter::repeat_n(b'p', 8000));
    h.extend_from_slice(b"\r\n\r\n");
    h
}

/// Writes the next byte of `head` to each client, one round every `every`, until `stop`
/// says so or `within` passes (bounded in count and time). Returns how many bytes went out.
fn drip(
    mut clients: Vec<TcpStream>,
    head: &[u8],
    every: Duration,
    within: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> usize {
    let until = Instant::now() + within;
    let mut sent = 0;
    for b in head.iter() {
        if Instant::now() >= until || stop.load(std::sync::atomic::Ordering::Acquire) {
            break;
        }
        for c in clients.iter_mut() {
            if c.write_all(std::slice::from_ref(b)).is_ok() {
                sent += 1;
            }
        }
        std::thread::sleep(every);
    }
    sent
}

/// Whether the tests run under an emulator (FALCONET_TEST_RUNNER, as CI's aarch64 run under
/// qemu), where every system call costs many times what it costs natively.
fn emulated() -> bool {
    !support::test_runner().is_empty()
}

/// Two workers, 50 clients each dripping a request head one byte every 5 ms (10,000
/// bytes a second in all), and a normal client on a keep-alive connection: all of its 100
/// requests are answered, none slower than 100 ms.
#[test]
fn dripping_clients_do_not_hold_the_workers() {
    let mut options = support::options();
    options.workers = 2;
    let server = support::start(options, |_req: Request| Response::new(Body::from("ok")));
    let drippers: Vec<TcpStream> = (0..50).map(|_| server.connect()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let head = long_head();
    let s2 = stop.clone();
    let dripper = std::thread::spawn(move || {
        drip(
            drippers,
            &head,
            Duration::from_millis(5),
            Duration::from_secs(20),
            &s2,
        )
    });
    // Let the drip get going: every dripper has a partial head on the server.
    std::thread::sleep(Duration::from_millis(300));

    let mut normal = server.connect();
    let mut slowest = Duration::ZERO;
    for i in 0..100 {
        let start = Instant::now();
        normal
            .write_all(b"GET /normal HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let resp = support::read_response(&mut normal, false)
            .unwrap_or_else(|| panic!("request {i} not answered"));
        let took = start.elapsed();
        assert_eq!(resp.status, 200, "request {i}");
        assert_eq!(resp.body_str(), "ok");
        slowest = slowest.max(took);
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let dripped = dripper.join().unwrap();
    assert!(
        dripped >= 50 * 20,
        "the drippers sent only {dripped} bytes: the test did not load the server"
    );
    // Natively the bound is 100 ms; under qemu every system call is emulated, and the
    // drippers' 10,000 reads a second cost the server many times more.
    let bound = if emulated() {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(100)
    };
    assert!(
        slowest < bound,
        "the slowest of 100 requests took {slowest:?} (bound {bound:?})"
    );
}

/// A client that keeps dripping its head is still cut off by RequestHeadersTimeout: 408,
/// then the connection closes, although a byte arrives every 20 ms.
#[test]
fn a_dripping_client_gets_408_at_the_header_timeout() {
    let mut options = support::options();
    options.limits.request_headers_timeout = Duration::from_millis(800);
    let server = support::start(options, |_req: Request| Response::new(Body::from("ok")));
    let client = server.connect();
    let mut reader = client.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let start = Instant::now();
    let dripper = std::thread::spawn(move || {
        drip(
            vec![client],
            &long_head(),
            Duration::from_millis(20),
            Duration::from_secs(10),
            &s2,
        )
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let took = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Release);
    dripper.join().unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "got {text:?}");
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
}

/// One worker, and a client that pipelines requests without end (reading its responses):
/// it is served, and so is everyone else. The worker gives it turns like any other
/// connection instead of staying with it while its bytes keep coming.
#[test]
fn a_client_that_pipelines_without_end_does_not_hold_the_worker() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let mut options = support::options();
    options.workers = 1;
    let server = support::start(options, |_req: Request| Response::new(Body::from("ok")));
    let batch = b"GET /flood HTTP/1.1\r\nHost: a\r\n\r\n".repeat(200);
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    let within = Duration::from_secs(20);
    let flooder = support::flood_while_reading(
        server.connect(),
        batch,
        within,
        stop.clone(),
        received.clone(),
    );
    std::thread::sleep(Duration::from_millis(300));
    support::assert_normal_client_is_served(&server);
    // The flooder is served too, at whatever pace this machine (or an emulator) allows:
    // it keeps flooding until it has had 100 KiB of responses (about 1,100 of them), within
    // the flood's 20 s.
    let want = 100 * 1024;
    let deadline = Instant::now() + within;
    while received.load(Ordering::Acquire) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Release);
    let sent = flooder.join().unwrap();
    let got = received.load(Ordering::Acquire);
    assert!(
        got >= want,
        "the pipelining client got only {got} bytes of responses (sent {sent})"
    );
}

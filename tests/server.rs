//! End-to-end tests of the server layer: idle connections wait in the poller (not on
//! workers), graceful shutdown, the shutdown timeout, handler panics, accept under fd
//! exhaustion, bounded threads. Only ever connects to 127.0.0.1.
//!
//! The tests of this file run one at a time (a process-wide lock): they count threads and
//! file descriptors of the whole test process.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use falconet::{Body, Request, Response};
use support::*;

// ---------------------------------------------------------------------------------------
// Harness: one test at a time, and a logger that keeps what the server logs.

static SERIAL: Mutex<()> = Mutex::new(());
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let line = format!("[{} {}] {}", r.level(), r.target(), r.args());
            if r.level() <= log::Level::Warn {
                eprintln!("{line}");
            }
            if let Ok(mut l) = LOGS.lock() {
                l.push(line);
            }
        }
    }

    fn flush(&self) {}
}

/// Takes the file's lock and installs this file's capturing logger (before
/// `support::start` tries its own, which then stays out).
fn serial() -> MutexGuard<'static, ()> {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if log::set_logger(&CaptureLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    });
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn logs_containing(needle: &str) -> Vec<String> {
    LOGS.lock()
        .map(|l| l.iter().filter(|x| x.contains(needle)).cloned().collect())
        .unwrap_or_default()
}

fn text(s: &str) -> Response {
    Response::new(Body::from(s.to_string()))
}

/// Raises this process's RLIMIT_NOFILE soft limit to the hard limit; returns the soft
/// limit now in force (`u64::MAX` for unlimited).
fn raise_nofile_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let want = Rlimit {
        current: lim.maximum,
        maximum: lim.maximum,
    };
    if lim.current != lim.maximum {
        if let Err(e) = setrlimit(Resource::Nofile, want) {
            eprintln!("cannot raise RLIMIT_NOFILE: {e}");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

fn connect(addr: SocketAddr, timeout: Duration) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, timeout)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    s
}

const KEEP_ALIVE_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// THE acceptance test: idle keep-alive connections do not hold workers.

#[test]
fn thousand_idle_keep_alive_connections_do_not_block_new_clients() {
    let _g = serial();
    let limit = raise_nofile_limit();
    // Client and server side of each connection live in this process.
    let count: usize = if limit >= 2_100 {
        1_000
    } else {
        let n = (limit.saturating_sub(100) / 2) as usize;
        eprintln!("RLIMIT_NOFILE hard limit is {limit}: using {n} idle connections");
        n
    };
    assert!(
        count >= 100,
        "RLIMIT_NOFILE too low ({limit}) for this test"
    );

    let mut o = options();
    o.workers = 2;
    let server = start(o, |_req: Request| text("ok"));
    let addr = server.addr;

    let t_open = Instant::now();
    let mut idle = Vec::with_capacity(count);
    for i in 0..count {
        let mut s = connect(addr, Duration::from_secs(5));
        s.write_all(KEEP_ALIVE_GET)
            .unwrap_or_else(|e| panic!("write on connection {i}: {e}"));
        let r = read_response(&mut s, false)
            .unwrap_or_else(|| panic!("no response on connection {i} of {count}"));
        assert_eq!(r.status, 200, "connection {i}: {}", r.head);
        assert_eq!(r.body_str(), "ok");
        assert_ne!(
            r.header("connection").map(|v| v.to_ascii_lowercase()),
            Some("close".into()),
            "connection {i} must stay open: {}",
            r.head
        );
        idle.push(s);
    }
    eprintln!(
        "opened {count} keep-alive connections in {:?}",
        t_open.elapsed()
    );

    // Every one of them is still open on the server side.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.handle.connections() < count as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.handle.connections(), count as u64);

    // A new client is served at once, although only 2 workers exist.
    let t = Instant::now();
    let mut fresh = connect(addr, Duration::from_secs(5));
    fresh.write_all(KEEP_ALIVE_GET).unwrap();
    let r = read_response(&mut fresh, false).expect("the new client gets a response");
    let took = t.elapsed();
    eprintln!("new client answered in {took:?} with {count} idle connections open");
    assert_eq!(r.status, 200);
    assert!(took < Duration::from_secs(2), "new client took {took:?}");

    // The idle connections still work: first, middle, last and 50 pseudo-random ones.
    let mut picks = vec![0, count / 2, count - 1];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..50 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        picks.push((x % count as u64) as usize);
    }
    let t = Instant::now();
    for &i in &picks {
        let s = &mut idle[i];
        s.write_all(KEEP_ALIVE_GET)
            .unwrap_or_else(|e| panic!("write on idle connection {i}: {e}"));
        let r =
            read_response(s, false).unwrap_or_else(|| panic!("no response on idle connection {i}"));
        assert_eq!(r.status, 200, "idle connection {i}: {}", r.head);
        assert_eq!(r.body_str(), "ok");
    }
    eprintln!(
        "{} requests on idle connections answered in {:?}",
        picks.len(),
        t.elapsed()
    );
    drop(idle);
    drop(fresh);
    assert!(server.handle.shutdown(Duration::from_secs(10)));
}

// ---------------------------------------------------------------------------------------
// Graceful shutdown.

#[test]
fn graceful_shutdown_completes_in_flight_requests() {
    let _g = serial();
    let started = Arc::new(AtomicUsize::new(0));
    let st = started.clone();
    // The handlers answer only once shutdown has begun (bounded), so that their
    // responses are certainly "answered during shutdown" however the threads are
    // scheduled on a loaded machine.
    let handle_cell: Arc<std::sync::OnceLock<falconet::ServerHandle>> = Arc::default();
    let hc = handle_cell.clone();
    let mut o = options();
    o.workers = 4;
    let server = start(o, move |req: Request| {
        if req.uri().path() == "/slow" {
            st.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(500));
            let until = Instant::now() + Duration::from_secs(5);
            while !hc.get().is_some_and(|h| h.is_shutting_down()) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            text("slow done")
        } else {
            text("fast")
        }
    });
    let addr = server.addr;
    let _ = handle_cell.set(server.handle.clone());

    // An idle keep-alive connection.
    let mut idle = connect(addr, Duration::from_secs(5));
    idle.write_all(b"GET /fast HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let r = read_response(&mut idle, false).unwrap();
    assert_eq!(r.status, 200);

    // Four requests in flight.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = connect(addr, Duration::from_secs(10));
                s.write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .unwrap();
                let r = read_response(&mut s, false);
                let closed = closed_within(&mut s, Duration::from_secs(2));
                (r, closed)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while started.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(started.load(Ordering::SeqCst), 4, "all four handlers run");

    let t0 = Instant::now();
    let h = server.handle.clone();
    let shutdown = std::thread::spawn(move || {
        let ok = h.shutdown(Duration::from_secs(5));
        (ok, t0.elapsed())
    });

    // The idle connection is closed promptly, while the slow ones still run.
    assert!(
        closed_within(&mut idle, Duration::from_secs(1)),
        "idle keep-alive connection not closed within 1 s of shutdown"
    );
    eprintln!(
        "idle connection closed {:?} after shutdown began",
        t0.elapsed()
    );

    for (i, c) in clients.into_iter().enumerate() {
        let (r, closed) = c.join().unwrap();
        let r = r.unwrap_or_else(|| panic!("in-flight request {i} lost"));
        assert_eq!(r.status, 200, "request {i}: {}", r.head);
        assert_eq!(r.body_str(), "slow done");
        assert_eq!(
            r.header("connection").map(|v| v.to_ascii_lowercase()),
            Some("close".into()),
            "request {i} answered during shutdown carries Connection: close: {}",
            r.head
        );
        assert!(closed, "request {i}: connection closed after the response");
    }
    let (ok, took) = shutdown.join().unwrap();
    eprintln!("graceful shutdown took {took:?}");
    assert!(ok, "shutdown finished every connection in time");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(server.handle.connections(), 0);

    // No longer accepting.
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
    assert!(
        refused.is_err(),
        "a new connection after shutdown must be refused"
    );
    // Later calls return at once.
    let t = Instant::now();
    assert!(server.handle.shutdown(Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn shutdown_timeout_aborts_and_returns_false() {
    let _g = serial();
    let started = Arc::new(AtomicBool::new(false));
    let st = started.clone();
    let mut o = options();
    o.workers = 2;
    let server = start(o, move |_req: Request| {
        st.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_secs(3));
        text("too late")
    });
    let mut s = connect(server.addr, Duration::from_secs(10));
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !started.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(started.load(Ordering::SeqCst), "the handler runs");

    let t0 = Instant::now();
    let ok = server.handle.shutdown(Duration::from_millis(300));
    let took = t0.elapsed();
    eprintln!("shutdown with a 300 ms timeout returned {ok} after {took:?}");
    assert!(!ok, "shutdown must report that a connection was cut off");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // The in-flight client's connection is aborted (as Kestrel does after the shutdown
    // timeout): closed without a response, long before the handler's 3 s are up. Read
    // for longer than that so a failure says what happened instead.
    let (bytes, closed) = read_until_close(&mut s, Duration::from_secs(4));
    let closed_after = closed.map(|c| c.duration_since(t0));
    eprintln!(
        "in-flight connection: closed {:?} after shutdown began, got {} bytes",
        closed_after,
        bytes.len()
    );
    assert!(
        closed_after.is_some_and(|c| c < took + Duration::from_millis(1_500)),
        "the in-flight connection must be closed by the shutdown timeout (shutdown \
         returned after {took:?}); it was closed {closed_after:?} after shutdown began, \
         having received {:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(
        find(&bytes, b"200 OK").is_none(),
        "an aborted connection gets no response: {:?}",
        String::from_utf8_lossy(&bytes)
    );
    // Let the abandoned handler end before the next test counts threads.
    std::thread::sleep(Duration::from_secs(3).saturating_sub(t0.elapsed()));
}

// ---------------------------------------------------------------------------------------
// Handler panics.

#[test]
fn handler_panic_is_500_and_the_worker_survives() {
    let _g = serial();
    let mut o = options();
    o.workers = 1;
    let server = start(o, |req: Request| {
        if req.uri().path() == "/panic" {
            panic!("deliberate test panic");
        }
        text("still alive")
    });
    for i in 0..3 {
        let r = roundtrip(
            &server,
            b"GET /panic HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(r.status, 500, "panic {i}: {}", r.head);
    }
    // On a keep-alive connection too, followed by a normal request on a new one.
    let mut s = server.connect();
    s.write_all(b"GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false).expect("a 500");
    assert_eq!(r.status, 500);
    drop(s);
    let r = roundtrip(
        &server,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body_str(), "still alive");
    let logged = logs_containing("deliberate test panic");
    assert!(
        logged.len() >= 4 && logged.iter().all(|l| l.starts_with("[ERROR")),
        "each panic is logged at error level: {logged:?}"
    );
}

// ---------------------------------------------------------------------------------------
// accept() survives fd exhaustion (child process under a low RLIMIT_NOFILE).

fn has_prlimit() -> bool {
    std::process::Command::new("prlimit")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn accept_survives_fd_exhaustion() {
    let _g = serial();
    let bin = example_binary("hello");
    let mut cmd = if has_prlimit() {
        let mut c = std::process::Command::new("prlimit");
        c.arg("--nofile=64:64")
            .args(support::test_runner())
            .arg(&bin);
        c
    } else {
        let mut c = std::process::Command::new("bash");
        c.args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\""]);
        let runner = support::test_runner();
        match runner.split_first() {
            Some((prog, rest)) => {
                c.arg(prog).args(rest).arg(&bin);
            }
            None => {
                c.arg(&bin);
            }
        }
        c
    };
    cmd.args(["--urls", "http://127.0.0.1:0"]);
    cmd.env("RUST_LOG", "info");
    cmd.env_remove("FALCONET_URLS");
    let mut child = ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));

    // More connections than the child has descriptors.
    let mut conns = Vec::new();
    for _ in 0..100 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => conns.push(s),
            Err(e) => {
                eprintln!("connect failed after {} connections: {e}", conns.len());
                break;
            }
        }
    }
    assert!(conns.len() >= 80, "only {} connections", conns.len());
    let saw_emfile = child
        .wait_for_line("Too many open files", Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "no accept error logged with {} connections open; stderr:\n{}",
                conns.len(),
                child.stderr()
            )
        });
    eprintln!("child logged: {saw_emfile}");
    assert!(saw_emfile.contains("accept"), "{saw_emfile}");
    assert!(saw_emfile.contains("ERROR"), "{saw_emfile}");
    drop(conns);

    // Recovery: a fresh request is answered within 3 s.
    let t = Instant::now();
    let mut s = connect(addr, Duration::from_secs(5));
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false);
    let took = t.elapsed();
    eprintln!("fresh request after fd exhaustion answered in {took:?}");
    let r = r.unwrap_or_else(|| {
        panic!(
            "no response after the connections were closed; stderr:\n{}",
            child.stderr()
        )
    });
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body_str(), "Hello, World!");
    assert!(took < Duration::from_secs(3), "recovery took {took:?}");
    // Still serving, still alive.
    let r = get_at(addr, "/");
    assert_eq!(r.status, 200);
    assert!(
        child.child.try_wait().unwrap().is_none(),
        "the server process must survive; stderr:\n{}",
        child.stderr()
    );
}

// ---------------------------------------------------------------------------------------
// Back-pressure: a bounded number of threads, whatever the load.

#[test]
fn many_concurrent_requests_use_a_bounded_number_of_threads() {
    let _g = serial();
    let mut o = options();
    o.workers = 2;
    let server = start(o, |_req: Request| {
        std::thread::sleep(Duration::from_millis(10));
        text("ok")
    });
    let addr = server.addr;
    let before = thread_count();

    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let running = running.clone();
        let peak = peak.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while running.load(Ordering::SeqCst) && Instant::now() < deadline {
                peak.fetch_max(thread_count(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let t = Instant::now();
    let clients: Vec<_> = (0..20)
        .map(|c| {
            std::thread::spawn(move || {
                let mut ok = 0;
                for i in 0..10 {
                    // Alternate new connections and keep-alive reuse.
                    let mut s = connect(addr, Duration::from_secs(30));
                    let req = if i % 2 == 0 {
                        &b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..]
                    } else {
                        KEEP_ALIVE_GET
                    };
                    s.write_all(req).unwrap();
                    let r = read_response(&mut s, false)
                        .unwrap_or_else(|| panic!("client {c} request {i}: no response"));
                    assert_eq!(r.status, 200, "client {c} request {i}");
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let total: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let took = t.elapsed();
    running.store(false, Ordering::SeqCst);
    monitor.join().unwrap();
    let peak = peak.load(Ordering::SeqCst);
    eprintln!(
        "200 requests in {took:?}; threads: {before} before, peak {peak} (20 clients + monitor)"
    );
    assert_eq!(total, 200);
    assert!(
        peak < 60,
        "thread count peaked at {peak} (2 workers, 20 client threads)"
    );
    // The server itself started no thread per connection or request.
    assert!(
        peak <= before + 21 + 4,
        "thread count grew from {before} to {peak} for 20 client threads and a monitor"
    );
}

#[test]
fn queued_connections_wait_for_a_worker_without_new_threads() {
    // A tiny pool and queue: the accept thread applies back-pressure instead of failing.
    let _g = serial();
    let mut o = options();
    o.workers = 1;
    o.queue_capacity = 1;
    let server = start(o, |_req: Request| {
        std::thread::sleep(Duration::from_millis(20));
        text("ok")
    });
    let addr = server.addr;
    let before = thread_count();
    let mut conns: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = connect(addr, Duration::from_secs(30));
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    let during = thread_count();
    for (i, s) in conns.iter_mut().enumerate() {
        let r = read_response(s, false).unwrap_or_else(|| panic!("connection {i}: no response"));
        assert_eq!(r.status, 200, "connection {i}");
    }
    // Slack of 2 for the test harness starting another test's thread meanwhile.
    assert!(
        during <= before + 2,
        "threads: {before} before, {during} during"
    );
}

/// Two event loops with one worker each; the handler answers `/slow` once the returned
/// sender releases it (a send per request; at most 60 s), anything else at once.
fn one_worker_per_loop() -> (TestServer, std::sync::mpsc::Sender<()>) {
    let mut options = support::options();
    options.workers = 2;
    options.event_loops = Some(2);
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = Mutex::new(held);
    let server = support::start(options, move |req: Request| {
        if req.uri().path() == "/slow" {
            let _ = held.lock().unwrap().recv_timeout(Duration::from_secs(60));
        }
        Response::new(Body::from("ok"))
    });
    (server, release)
}

/// The most that 4 requests handed over by the timer thread's rescues may wait in all:
/// a few rescue intervals each, where sleeping through its doze took half a second each on
/// average. Under an emulator every step is slower.
fn doze_bound() -> Duration {
    if support::test_runner().is_empty() {
        Duration::from_millis(400)
    } else {
        Duration::from_millis(1500)
    }
}

/// One worker per event loop, and one loop's worker held by a slow handler: the clients
/// of that loop are served by the other loop's worker at once, not when that worker's
/// wait on its own loop happens to time out (it used to take about a second per request:
/// the connections handed over to the pool's queue waited there unannounced).
#[test]
fn a_busy_event_loop_s_clients_are_served_by_another_loop_s_worker() {
    let _g = serial();
    let (server, release) = one_worker_per_loop();
    // Connections go to the loops in turn: c[0] and c[2] share a loop, c[1] has the other.
    let mut c: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for s in c.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(s, false).expect("first response").status, 200);
    }
    c[0].write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Under an emulator every step is slower.
    let bound = if support::test_runner().is_empty() {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(8)
    };
    let start = Instant::now();
    for round in 0..10 {
        for s in c[1..].iter_mut() {
            s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
            let r = read_response(s, false).unwrap_or_else(|| panic!("round {round}: no response"));
            assert_eq!(r.status, 200);
        }
    }
    let took = start.elapsed();
    release.send(()).unwrap();
    assert_eq!(
        read_response(&mut c[0], false)
            .expect("slow response")
            .status,
        200
    );
    assert!(
        took < bound,
        "20 keep-alive requests took {took:?} while one loop's worker was busy"
    );
}

/// As above, but when nothing else is parked: the timer thread, which hands a busy loop's
/// ready connections to the pool, sleeps until its next deadline (up to a second) while
/// no loop has parked connections without a waiting worker. A connection that then parks
/// on the busy loop wakes it, so its next request is answered within a few rescue
/// intervals, not whenever that sleep ends.
#[test]
fn a_connection_parking_on_a_busy_loop_while_nothing_else_is_parked_is_served_at_once() {
    let _g = serial();
    let (server, release) = one_worker_per_loop();
    let request = |s: &mut TcpStream, what: &str| {
        s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        let r = read_response(s, false).unwrap_or_else(|| panic!("{what}: no response"));
        assert_eq!(r.status, 200, "{what}");
    };
    // Connections go to the loops in turn: the first one, and every second one after it,
    // to loop 0, whose one worker the first connection's handler holds. Being driven, it
    // is not parked.
    let mut slow = server.connect();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut waited = Duration::ZERO;
    for round in 0..4 {
        // Long enough for the timer thread to doze off with nothing parked.
        std::thread::sleep(Duration::from_millis(1100));
        let other_loop = server.connect();
        let mut busy_loop = server.connect();
        busy_loop
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // Served through the pool's queue by the other loop's worker, then parked on
        // loop 0 (while the timer thread dozes).
        request(&mut busy_loop, &format!("round {round}, first request"));
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        request(&mut busy_loop, &format!("round {round}, second request"));
        waited += start.elapsed();
        // Nothing parked again for the next round.
        drop(other_loop);
        drop(busy_loop);
    }
    release.send(()).unwrap();
    assert_eq!(
        read_response(&mut slow, false)
            .expect("slow response")
            .status,
        200
    );
    // Sleeping through the timer's doze, each second request waited half a second on
    // average (up to one); woken by the park, a few milliseconds.
    let bound = doze_bound();
    assert!(
        waited < bound,
        "4 second requests on the busy loop waited {waited:?} in all"
    );
}

/// The other way a loop's workers all get busy while the timer thread dozes: every
/// connection is parked and every loop has a worker waiting, so there is nothing to
/// rescue and the timer thread sleeps until its next deadline; then a loop's one worker
/// leaves its wait for a slow handler. Leaving wakes the timer thread, so another parked
/// connection of that loop that speaks next is handed to the other loop's worker within a
/// few rescue intervals, not whenever that sleep ends.
#[test]
fn a_worker_leaving_its_loop_for_a_slow_handler_wakes_the_rescues() {
    let _g = serial();
    let (server, release) = one_worker_per_loop();
    let request = |s: &mut TcpStream, path: &str| {
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .unwrap();
    };
    let answered = |s: &mut TcpStream, what: &str| {
        let r = read_response(s, false).unwrap_or_else(|| panic!("{what}: no response"));
        assert_eq!(r.status, 200, "{what}");
    };
    // Loops in turn: c[0] and c[2] on loop 0, c[1] on loop 1. All parked after a request.
    let mut c: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for (i, s) in c.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        request(s, "/");
        answered(s, &format!("connection {i}, first request"));
    }
    let mut waited = Duration::ZERO;
    for round in 0..4 {
        // Long enough for the timer thread to doze off: every loop has a waiting worker.
        std::thread::sleep(Duration::from_millis(1100));
        request(&mut c[0], "/slow");
        std::thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        request(&mut c[2], "/");
        answered(&mut c[2], &format!("round {round}"));
        waited += start.elapsed();
        release.send(()).unwrap();
        answered(&mut c[0], &format!("round {round}, slow request"));
    }
    // Sleeping through the timer's doze, each request waited half a second on average (up
    // to one); woken by the leaving worker, a few milliseconds.
    let bound = doze_bound();
    assert!(
        waited < bound,
        "4 requests on the busy loop waited {waited:?} in all"
    );
}

/// Keep-alive connections are still served while the workers that wait on the epoll set
/// are busy in slow handlers: the other workers get the ready connections through the
/// queue (the poller thread hands them over).
#[test]
fn keep_alive_clients_are_served_while_slow_handlers_run() {
    let _g = serial();
    let mut options = support::options();
    options.workers = 6;
    let server = support::start(options, |req: Request| {
        if req.uri().path() == "/slow" {
            std::thread::sleep(Duration::from_secs(3));
        }
        Response::new(Body::from("ok"))
    });
    // Keep-alive clients, connected (and idle in the poller) before the slow requests.
    let mut clients: Vec<TcpStream> = (0..8).map(|_| server.connect()).collect();
    for c in clients.iter_mut() {
        c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(read_response(c, false).expect("first response").status, 200);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slow: Vec<_> = (0..cores.min(4))
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
                    .unwrap();
                read_response(&mut s, false).map(|r| r.status)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    for round in 0..5 {
        for c in clients.iter_mut() {
            c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
            let r = read_response(c, false).unwrap_or_else(|| panic!("round {round}: no response"));
            assert_eq!(r.status, 200);
        }
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(2000),
        "40 keep-alive requests took {took:?} while slow handlers ran"
    );
    for t in slow {
        assert_eq!(t.join().unwrap(), Some(200));
    }
}

//! Shared helpers for the end-to-end tests: start a server on 127.0.0.1 port 0, talk to
//! it over raw TCP with deadlines. Every helper is bounded in time.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use falconet::{EndpointOptions, Handler, Server, ServerHandle, ServerOptions};

/// Options with one endpoint on 127.0.0.1:0 and a small pool.
pub fn options() -> ServerOptions {
    ServerOptions {
        endpoints: vec![EndpointOptions::ip("127.0.0.1:0".parse().unwrap())],
        workers: 2,
        ..ServerOptions::default()
    }
}

/// [`options`] with synchronous I/O allowed (AllowSynchronousIO).
pub fn sync_io_options() -> ServerOptions {
    ServerOptions {
        allow_synchronous_io: true,
        ..options()
    }
}

/// A running server, shut down when dropped.
pub struct TestServer {
    pub handle: ServerHandle,
    pub addr: SocketAddr,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A raw TCP connection with a 10 s read/write timeout.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown(Duration::from_secs(2));
    }
}

pub fn start(options: ServerOptions, handler: impl Handler) -> TestServer {
    // Not env_logger: a test of the same file that reads the log ([`logged`]) needs the
    // capturing logger, whichever test starts first.
    capture_logs();
    let handle = Server::new(options, handler)
        .start()
        .expect("server starts");
    let addr = handle.local_addr().expect("a TCP address");
    TestServer { handle, addr }
}

/// A parsed HTTP/1.1 response read from a raw socket.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response (Content-Length, chunked, or until close for `no_body` = false and
/// neither). `head_request` = true for responses to HEAD (no body). Fails after 10 s.
pub fn read_response(s: &mut TcpStream, head_request: bool) -> Option<RawResponse> {
    read_response_from(s, head_request)
}

/// [`read_response`] over any stream (e.g. a `UnixStream`).
pub fn read_response_from<S: Read>(s: &mut S, head_request: bool) -> Option<RawResponse> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    // Head.
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if Instant::now() > deadline {
            return None;
        }
        match s.read(&mut tmp) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(_) => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut rest = buf[head_end..].to_vec();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let no_body = head_request || status < 200 || status == 204 || status == 304;
    let body = if no_body {
        Vec::new()
    } else if let Some(cl) = get("content-length") {
        let cl: usize = cl.parse().ok()?;
        while rest.len() < cl {
            if Instant::now() > deadline {
                return None;
            }
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => rest.extend_from_slice(&tmp[..n]),
            }
        }
        rest.truncate(cl);
        rest
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            // Need a full size line.
            let line_end = loop {
                if let Some(i) = find(&rest, b"\r\n") {
                    break i;
                }
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => rest.extend_from_slice(&tmp[..n]),
                }
            };
            let size_str = String::from_utf8_lossy(&rest[..line_end]).to_string();
            let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
            rest.drain(..line_end + 2);
            while rest.len() < size + 2 {
                if Instant::now() > deadline {
                    return None;
                }
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => rest.extend_from_slice(&tmp[..n]),
                }
            }
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
        body
    } else {
        // Until close.
        loop {
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => break,
                Ok(n) => rest.extend_from_slice(&tmp[..n]),
            }
        }
        rest
    };
    Some(RawResponse {
        status,
        head,
        headers,
        body,
    })
}

/// Sends `req` on a new connection and reads one response.
pub fn roundtrip(server: &TestServer, req: &[u8]) -> RawResponse {
    let mut s = server.connect();
    s.write_all(req).unwrap();
    read_response(&mut s, req.starts_with(b"HEAD ")).expect("a response")
}

/// Writes a byte every 50 ms for up to `within`; returns when a write first fails (the
/// server closed the socket for good: the first write after that is answered with a reset,
/// which the next one reports), or `None` when every write succeeded (the server still
/// reads, or discards, what we send).
pub fn writes_fail_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if s.write_all(b"x").is_err() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Whether the server closes the connection within `within` (EOF or reset).
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut tmp = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        match s.read(&mut tmp) {
            Ok(0) => return true,
            Ok(_) => {
                if Instant::now() > deadline {
                    return false;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---- Helpers added for the limits and malformed-input tests (http1_limits.rs,
// http1_malformed.rs). Additions only; the helpers above keep their signatures. ----

/// Asserts the shape of a server-generated error response: `status`, `Connection: close`,
/// `Date`, `Server`, and `Content-Length: 0` (an empty body).
pub fn assert_error_response(resp: &RawResponse, status: u16) {
    assert_error_shape(resp, status);
    assert_eq!(
        resp.header("content-length"),
        Some("0"),
        "error response must have Content-Length: 0: {}",
        resp.head
    );
    assert!(
        resp.body.is_empty(),
        "error response body: {:?}",
        resp.body_str()
    );
}

/// Like [`assert_error_response`] but allows a body (checked against Content-Length).
pub fn assert_error_shape(resp: &RawResponse, status: u16) {
    assert_eq!(resp.status, status, "unexpected status: {}", resp.head);
    let conn = resp.header("connection").unwrap_or("");
    assert!(
        conn.eq_ignore_ascii_case("close"),
        "error response must say Connection: close: {}",
        resp.head
    );
    assert!(resp.header("date").is_some(), "no Date: {}", resp.head);
    assert!(resp.header("server").is_some(), "no Server: {}", resp.head);
    let cl: usize = resp
        .header("content-length")
        .expect("error response has Content-Length")
        .parse()
        .expect("numeric Content-Length");
    assert_eq!(cl, resp.body.len());
}

/// Reads everything the server sends until it closes the connection (EOF or reset) or
/// `within` passes. Returns the bytes and whether (and when) the connection was closed.
pub fn read_until_close(s: &mut TcpStream, within: Duration) -> (Vec<u8>, Option<Instant>) {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut tmp = [0u8; 16 * 1024];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return (out, None);
        }
        s.set_read_timeout(Some(deadline - now)).unwrap();
        match s.read(&mut tmp) {
            Ok(0) => return (out, Some(Instant::now())),
            Ok(n) => out.extend_from_slice(&tmp[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return (out, None)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (out, Some(Instant::now())),
        }
    }
}

/// Parses every complete response in `bytes` (Content-Length or chunked framing; a
/// response without either ends the list). Responses to HEAD are not supported.
pub fn parse_responses(mut bytes: &[u8]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while let Some(i) = find(bytes, b"\r\n\r\n") {
        let head_end = i + 4;
        let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let Some(status) = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse::<u16>().ok())
        else {
            break;
        };
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut resp = RawResponse {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        let rest = &bytes[head_end..];
        let no_body = status < 200 || status == 204 || status == 304;
        if no_body {
            bytes = rest;
        } else if let Some(cl) = resp.header("content-length") {
            let Ok(cl) = cl.parse::<usize>() else { break };
            if rest.len() < cl {
                break;
            }
            resp.body = rest[..cl].to_vec();
            bytes = &rest[cl..];
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            let mut r = rest;
            let mut body = Vec::new();
            let mut complete = false;
            while let Some(le) = find(r, b"\r\n") {
                let line = String::from_utf8_lossy(&r[..le]).to_string();
                let Ok(size) =
                    usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                else {
                    break;
                };
                r = &r[le + 2..];
                if size == 0 {
                    if let Some(e) = find(r, b"\r\n") {
                        r = &r[e + 2..];
                        complete = true;
                    }
                    break;
                }
                if r.len() < size + 2 {
                    break;
                }
                body.extend_from_slice(&r[..size]);
                r = &r[size + 2..];
            }
            if !complete {
                break;
            }
            resp.body = body;
            bytes = r;
        } else {
            resp.body = rest.to_vec();
            out.push(resp);
            break;
        }
        out.push(resp);
    }
    out
}

/// Sends `req` on a new connection, then reads until the server closes it (at most
/// `within`). Returns every response received and whether the connection was closed.
/// A write error (the server closed first) is ignored: what was received still counts.
pub fn exchange(server: &TestServer, req: &[u8], within: Duration) -> (Vec<RawResponse>, bool) {
    let mut s = server.connect();
    let _ = s.write_all(req);
    let (bytes, closed) = read_until_close(&mut s, within);
    (parse_responses(&bytes), closed.is_some())
}

/// Whether a socket read or write ended at its timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`).
fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A client that never stops sending: writes `batch` over and over on `s` while a second
/// thread reads and discards what comes back, until `stop` is set or `within` passes.
/// `received` counts the bytes read so far, as they come; the handle gives the bytes
/// written when joined.
pub fn flood_while_reading(
    s: TcpStream,
    batch: Vec<u8>,
    within: Duration,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    received: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> std::thread::JoinHandle<usize> {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let until = Instant::now() + within;
        let mut r = s.try_clone().unwrap();
        r.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (rstop, rs) = (stop.clone(), until);
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while !rstop.load(Ordering::Acquire) && Instant::now() < rs {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        received.fetch_add(n, Ordering::AcqRel);
                    }
                    Err(e) if timed_out(&e) => {}
                    Err(_) => break,
                }
            }
        });
        let mut w = s;
        w.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut sent = 0;
        while !stop.load(Ordering::Acquire) && Instant::now() < until {
            match w.write(&batch) {
                Ok(n) => sent += n,
                Err(e) if timed_out(&e) => {}
                Err(_) => break,
            }
        }
        // Unblock the reader at once.
        let _ = w.shutdown(std::net::Shutdown::Both);
        reader.join().unwrap();
        sent
    })
}

/// 20 requests, each on a new connection and each answered within 40 ms (5 s under an
/// emulator), while something else loads the server. (A worker that stays with a client
/// for as long as its bytes keep coming makes them wait 70 ms and more here.)
pub fn assert_normal_client_is_served(server: &TestServer) {
    let bound = if !test_runner().is_empty() {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(40)
    };
    for i in 0..20 {
        let start = Instant::now();
        let mut c = server.connect();
        c.set_read_timeout(Some(bound)).unwrap();
        c.write_all(b"GET /normal HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut c, false)
            .unwrap_or_else(|| panic!("request {i} not answered within {bound:?}"));
        assert_eq!(resp.status, 200, "request {i}");
        assert!(
            start.elapsed() < bound,
            "request {i} took {:?}",
            start.elapsed()
        );
    }
}

/// Asserts that a fresh connection still gets `200` for `GET /` (with `Host`).
pub fn assert_serves(server: &TestServer) {
    let resp = roundtrip(
        server,
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.status, 200, "server no longer serves: {}", resp.head);
}

// ---------------------------------------------------------------------------------------
// Server-layer helpers (tests/server.rs, tests/endpoints.rs, tests/config_file.rs).

/// The path of a built example binary (`target/<profile>/examples/<name>`), found next to
/// the test binary. Panics with a clear message if it was not built.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "example binary {} is missing: build the examples first \
         (`cargo build --examples` with the same profile and CARGO_TARGET_DIR)",
        path.display()
    );
    path
}

/// A child process (an example server) killed and reaped when dropped; its stderr is
/// collected by a background thread.
pub struct ChildServer {
    pub child: std::process::Child,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ChildServer {
    /// Spawns `cmd` with stderr piped and collected.
    pub fn spawn(mut cmd: std::process::Command) -> ChildServer {
        use std::io::BufRead;
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn the child server");
        let pipe = child.stderr.take().expect("piped stderr");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(pipe);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Ok(mut s) = sink.lock() {
                            s.push_str(&line);
                        }
                    }
                }
            }
        });
        ChildServer { child, stderr }
    }

    /// Everything the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits (at most `within`) for a stderr line containing `needle`; returns that line.
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.stderr().lines().find(|l| l.contains(needle)) {
                return Some(l.to_string());
            }
            if Instant::now() > deadline {
                return None;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader thread a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return self
                    .stderr()
                    .lines()
                    .find(|l| l.contains(needle))
                    .map(String::from)
                    .or_else(|| {
                        eprintln!("child exited with {status}; stderr:\n{}", self.stderr());
                        None
                    });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for `Now listening on: http://127.0.0.1:PORT` and returns the address.
    pub fn wait_for_v4_port(&mut self, within: Duration) -> SocketAddr {
        let line = self
            .wait_for_line("Now listening on: http://127.0.0.1:", within)
            .unwrap_or_else(|| {
                panic!(
                    "the child did not log its address within {within:?}; stderr:\n{}",
                    self.stderr()
                )
            });
        let i = line.find("http://").unwrap() + "http://".len();
        line[i..].trim().parse().expect("an address after http://")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `req` over any stream and reads one response.
pub fn roundtrip_on<S: Read + Write>(s: &mut S, req: &[u8]) -> Option<RawResponse> {
    s.write_all(req).ok()?;
    read_response_from(s, req.starts_with(b"HEAD "))
}

/// A GET on a new TCP connection to `addr` (127.0.0.1 or ::1 only), 10 s timeouts.
pub fn get_at(addr: SocketAddr, path: &str) -> RawResponse {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    roundtrip_on(&mut s, req.as_bytes()).unwrap_or_else(|| panic!("a response from {addr}"))
}

/// Whether this machine has an IPv6 loopback interface.
pub fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// A fresh, empty temporary directory, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "fn-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// Happy-path helpers (tests/http1_basic.rs, tests/sync_io.rs, tests/websocket.rs).

/// A raw connection that keeps bytes read past one response for the next one (needed for
/// pipelining and for proving that no stray body bytes follow a response).
pub struct RawClient {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

impl RawClient {
    /// A new connection to `server` with 10 s read/write timeouts.
    pub fn connect(server: &TestServer) -> RawClient {
        RawClient {
            stream: server.connect(),
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write the request");
    }

    /// Reads exactly one response (HEAD: no body), keeping what follows it buffered.
    /// Fails after 10 s.
    pub fn response(&mut self, head_request: bool) -> Option<RawResponse> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill(deadline)?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        self.buf.drain(..head_end);
        let mut resp = RawResponse {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        let no_body = head_request || status < 200 || status == 204 || status == 304;
        if no_body {
            return Some(resp);
        }
        if let Some(cl) = resp.header("content-length") {
            let cl: usize = cl.parse().ok()?;
            while self.buf.len() < cl {
                self.fill(deadline)?;
            }
            resp.body = self.buf.drain(..cl).collect();
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill(deadline)?;
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
                let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
                self.buf.drain(..line_end + 2);
                if size == 0 {
                    // Trailer section: lines up to an empty one.
                    loop {
                        let e = loop {
                            if let Some(i) = find(&self.buf, b"\r\n") {
                                break i;
                            }
                            self.fill(deadline)?;
                        };
                        self.buf.drain(..e + 2);
                        if e == 0 {
                            break;
                        }
                    }
                    break;
                }
                while self.buf.len() < size + 2 {
                    self.fill(deadline)?;
                }
                resp.body.extend(self.buf.drain(..size));
                if self.buf.drain(..2).collect::<Vec<u8>>() != b"\r\n" {
                    return None;
                }
            }
        } else {
            // Delimited by close.
            while self.fill(deadline).is_some() {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Some(resp)
    }

    /// Reads once more into the buffer. `None` on EOF, error or deadline.
    fn fill(&mut self, deadline: Instant) -> Option<()> {
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        self.stream.set_read_timeout(Some(deadline - now)).ok()?;
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Some(())
            }
        }
    }

    /// Bytes buffered plus whatever arrives within `within`; also whether the connection
    /// was closed (EOF or reset) in that time.
    pub fn rest(&mut self, within: Duration) -> (Vec<u8>, bool) {
        let (more, closed) = read_until_close(&mut self.stream, within);
        let mut all = std::mem::take(&mut self.buf);
        all.extend_from_slice(&more);
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (all, closed.is_some())
    }
}

/// Log records captured by [`capture_logs`], newest last (bounded).
static CAPTURED_LOGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Debug
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = format!("{} {}: {}", r.level(), r.target(), r.args());
        if std::env::var_os("FALCONET_TEST_LOG").is_some() {
            eprintln!("{line}");
        }
        let mut logs = CAPTURED_LOGS.lock().unwrap_or_else(|e| e.into_inner());
        if logs.len() >= 20_000 {
            logs.drain(..10_000);
        }
        logs.push(line);
    }

    fn flush(&self) {}
}

/// Installs a process-wide logger that records every record at debug level and above, so
/// a test can check what the server logged ([`logged`]). [`start`] installs it; a test that
/// starts its server otherwise calls it first (the first logger installed wins, and the
/// tests of a file run in parallel). Set `FALCONET_TEST_LOG=1` to also print the records.
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&CaptureLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// Waits (at most `within`) for a captured log line containing every one of `needles`;
/// returns it.
pub fn logged(needles: &[&str], within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        {
            let logs = CAPTURED_LOGS.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(l) = logs.iter().find(|l| needles.iter().all(|n| l.contains(n))) {
                return Some(l.clone());
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The words of `FALCONET_TEST_RUNNER` (e.g. `qemu-aarch64-static -L /` when the tests of
/// a cross build run under emulation): a command to put before a target binary.
/// Without it, a `CARGO_TARGET_<TRIPLE>_RUNNER` for this architecture is used (as `cross`
/// sets in its images), so that child processes run the way cargo runs the tests.
pub fn test_runner() -> Vec<String> {
    let words = |r: String| r.split_whitespace().map(String::from).collect();
    if let Ok(r) = std::env::var("FALCONET_TEST_RUNNER") {
        return words(r);
    }
    let arch = std::env::consts::ARCH.to_ascii_uppercase();
    std::env::vars()
        .find(|(k, _)| {
            k.starts_with("CARGO_TARGET_") && k.ends_with("_RUNNER") && k.contains(&arch)
        })
        .map(|(_, v)| words(v))
        .unwrap_or_default()
}

/// A command that runs example `name`, through `FALCONET_TEST_RUNNER` when it is set.
pub fn example_command(name: &str) -> std::process::Command {
    let bin = example_binary(name);
    let runner = test_runner();
    match runner.split_first() {
        Some((prog, args)) => {
            let mut c = std::process::Command::new(prog);
            c.args(args).arg(bin);
            c
        }
        None => std::process::Command::new(bin),
    }
}

/// A command that runs the `falconet` binary (through [`test_runner`] when set), with
/// the URL and environment-name variables removed and `RUST_LOG=info`. Panics when the binary is not built
/// (it needs the `appliance` feature).
pub fn falconet_command() -> std::process::Command {
    let Some(bin) = option_env!("CARGO_BIN_EXE_falconet") else {
        panic!("the falconet binary is not built: it needs the appliance feature");
    };
    let runner = test_runner();
    let mut c = match runner.split_first() {
        Some((prog, args)) => {
            let mut c = std::process::Command::new(prog);
            c.args(args).arg(bin);
            c
        }
        None => std::process::Command::new(bin),
    };
    c.env("RUST_LOG", "info");
    // The environment of the test run must not configure the server under test.
    for v in [
        "FALCONET_URLS",
        "ASPNETCORE_URLS",
        "DOTNET_URLS",
        "ASPNETCORE_ENVIRONMENT",
        "DOTNET_ENVIRONMENT",
    ] {
        c.env_remove(v);
    }
    c
}

/// Fails the test with the Debian package to install when `name` is not on the PATH.
pub fn require_tool(name: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(
        found,
        "`{name}` is not installed (Debian: apt-get install {package})"
    );
}

/// A response head as curl's `-i` prints it: the status and the headers, names in lower
/// case, values trimmed.
pub fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Headless Chromium (with a fresh profile, and `extra` flags) opens `url` and prints the
/// DOM of the page it ends on, after its scripts ran. Bounded: 90 s.
pub fn chromium_dom(url: &str, extra: &[String]) -> String {
    use std::process::{Command, Stdio};
    require_tool("chromium", "chromium");
    let profile = TempDir::new("chromium-profile");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
        ])
        .args(extra)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        let _ = stdout.read_to_string(&mut dom);
        dom
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// An HTTPS endpoint on 127.0.0.1:0 with the certificate for `a.example.org`
/// (tests/data/tls, issued by tests/data/tls/ca.crt).
#[cfg(feature = "tls")]
pub fn https_endpoint_a_example_org() -> EndpointOptions {
    use falconet::tls::{Certificate, CertificateSource, HttpsOptions};
    let data = |name: &str| format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut https = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    https.scheme = falconet::Scheme::Https;
    let cert = Certificate::load(&CertificateSource::pem(
        data("a.example.org.crt"),
        data("a.example.org.key"),
    ))
    .unwrap();
    https.https = HttpsOptions::with_certificate(cert);
    https
}

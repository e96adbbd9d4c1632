//! Idle keep-alive probe for bench/run.sh.
//!
//! Usage: idle-probe HOST:PORT COUNT [HOLD_SECS] [SAMPLE]
//!
//! 1. Opens COUNT connections in a burst (connect timeout 5 s each, 15 s for all).
//! 2. Sends one `GET /` on each, then reads every response (one overall deadline of
//!    10 s for the whole burst, so a starving server cannot hang the probe) and counts
//!    how many got a complete `200` with a body.
//! 3. While all of them are held open and idle, opens a fresh connection and times one
//!    request on it (timeout 5 s → reported as "timeout").
//! 4. Sends a second request on SAMPLE of the idle connections, spread evenly (overall
//!    deadline 5 s): are idle keep-alive connections still served?
//! 5. Prints one JSON line on stdout, then keeps every connection open for HOLD_SECS
//!    (default 30) or until a line arrives on stdin (EOF is ignored), whichever comes first, so
//!    the caller can read the server's memory while they are held.
//!
//! std only; no dependencies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle-probe\r\n\r\n";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_DEADLINE: Duration = Duration::from_secs(15);
const BURST_DEADLINE: Duration = Duration::from_secs(10);
const FRESH_TIMEOUT: Duration = Duration::from_secs(5);
const SAMPLE_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug)]
enum Outcome {
    Ok,
    Timeout,
    Closed,
    Error(String),
}

/// Reads one response (head + Content-Length body, or chunked until the last chunk)
/// before `deadline`. Leftover bytes are dropped (one request in flight at a time).
fn read_response(s: &mut TcpStream, deadline: Instant) -> Outcome {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    let mut head_end: Option<usize> = None;
    let mut need: Option<usize> = None; // total bytes needed (head + body) once known
    let mut chunked = false;
    let mut status_ok = false;
    loop {
        if let Some(n) = need {
            if buf.len() >= n {
                return if status_ok {
                    Outcome::Ok
                } else {
                    Outcome::Error(status_line(&buf))
                };
            }
        }
        if chunked {
            if let Some(h) = head_end {
                if buf[h..].windows(5).any(|w| w == b"0\r\n\r\n") {
                    return if status_ok {
                        Outcome::Ok
                    } else {
                        Outcome::Error(status_line(&buf))
                    };
                }
            }
        }
        let now = Instant::now();
        // Past the deadline, still look at bytes already in the socket buffer.
        let left = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        if now >= deadline + Duration::from_millis(50) {
            return Outcome::Timeout;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut chunk) {
            Ok(0) => return Outcome::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if Instant::now() >= deadline {
                    return Outcome::Timeout;
                }
                continue;
            }
            Err(e) => return Outcome::Error(e.to_string()),
        }
        if head_end.is_none() {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let h = p + 4;
                head_end = Some(h);
                let head = String::from_utf8_lossy(&buf[..h]).to_ascii_lowercase();
                status_ok = head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200");
                let mut cl = None;
                for line in head.split("\r\n") {
                    if let Some(v) = line.strip_prefix("content-length:") {
                        cl = v.trim().parse::<usize>().ok();
                    }
                    if line.starts_with("transfer-encoding:") && line.contains("chunked") {
                        chunked = true;
                    }
                }
                if !chunked {
                    need = Some(h + cl.unwrap_or(0));
                }
            }
        }
    }
}

fn status_line(buf: &[u8]) -> String {
    let s = String::from_utf8_lossy(buf);
    s.lines().next().unwrap_or("").to_string()
}

fn request(s: &mut TcpStream, deadline: Instant) -> Outcome {
    let _ = s.set_write_timeout(Some(
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1)),
    ));
    if let Err(e) = s.write_all(REQUEST) {
        return Outcome::Error(format!("write: {e}"));
    }
    read_response(s, deadline)
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: idle-probe HOST:PORT COUNT [HOLD_SECS] [SAMPLE]");
        std::process::exit(2);
    }
    let addr: SocketAddr = args[0]
        .to_socket_addrs()
        .expect("address")
        .next()
        .expect("address");
    let count: usize = args[1].parse().expect("COUNT");
    let hold = Duration::from_secs(
        args.get(2)
            .map(|s| s.parse().expect("HOLD_SECS"))
            .unwrap_or(30),
    );
    let sample: usize = args
        .get(3)
        .map(|s| s.parse().expect("SAMPLE"))
        .unwrap_or(10);

    // 1. Burst of connects.
    let t0 = Instant::now();
    let mut conns: Vec<TcpStream> = Vec::with_capacity(count);
    let mut connect_errors = 0usize;
    let mut first_connect_error = String::new();
    let connect_deadline = t0 + CONNECT_DEADLINE;
    for _ in 0..count {
        let left = connect_deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            connect_errors += 1;
            if first_connect_error.is_empty() {
                first_connect_error = "overall connect deadline (15 s) passed".into();
            }
            continue;
        }
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(left)) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                conns.push(s);
            }
            Err(e) => {
                connect_errors += 1;
                if first_connect_error.is_empty() {
                    first_connect_error = e.to_string();
                }
            }
        }
    }
    let connect_ms = t0.elapsed();

    // 2. One request on each: write them all, then read them all under one deadline.
    let mut write_errors = 0usize;
    let mut written = vec![false; conns.len()];
    for (i, s) in conns.iter_mut().enumerate() {
        let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
        match s.write_all(REQUEST) {
            Ok(()) => written[i] = true,
            Err(_) => write_errors += 1,
        }
    }
    let deadline = Instant::now() + BURST_DEADLINE;
    let (mut answered, mut timeouts, mut closed, mut errors) = (0usize, 0usize, 0usize, 0usize);
    let mut first_error = String::new();
    let mut alive = vec![false; conns.len()];
    for (i, s) in conns.iter_mut().enumerate() {
        if !written[i] {
            continue;
        }
        match read_response(s, deadline) {
            Outcome::Ok => {
                answered += 1;
                alive[i] = true;
            }
            Outcome::Timeout => timeouts += 1,
            Outcome::Closed => closed += 1,
            Outcome::Error(e) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = e;
                }
            }
        }
    }
    let burst_ms = t0.elapsed();

    // 3. A fresh connection while the others are held idle.
    let t1 = Instant::now();
    let fresh_deadline = t1 + FRESH_TIMEOUT;
    let fresh = match TcpStream::connect_timeout(&addr, FRESH_TIMEOUT) {
        Ok(mut s) => {
            let _ = s.set_nodelay(true);
            let o = request(&mut s, fresh_deadline);
            (o, t1.elapsed())
        }
        Err(e) => (Outcome::Error(format!("connect: {e}")), t1.elapsed()),
    };
    let (fresh_status, fresh_ms) = match &fresh.0 {
        Outcome::Ok => ("ok".to_string(), Some(fresh.1)),
        Outcome::Timeout => ("timeout".to_string(), None),
        Outcome::Closed => ("closed".to_string(), None),
        Outcome::Error(e) => (format!("error: {e}"), None),
    };

    // 4. A second request on a sample of the idle connections.
    let alive_idx: Vec<usize> = (0..conns.len()).filter(|&i| alive[i]).collect();
    let n = sample.min(alive_idx.len());
    let picks: Vec<usize> = (0..n)
        .map(|k| alive_idx[k * alive_idx.len() / n.max(1)])
        .collect();
    let t2 = Instant::now();
    let sample_deadline = t2 + SAMPLE_DEADLINE;
    let mut sample_answered = 0usize;
    let mut sample_max = Duration::ZERO;
    for &i in &picks {
        let ts = Instant::now();
        if let Outcome::Ok = request(&mut conns[i], sample_deadline) {
            sample_answered += 1;
            sample_max = sample_max.max(ts.elapsed());
        }
    }

    let still_open = conns.len();
    println!(
        "{{\"target\":{},\"count\":{},\"connected\":{},\"connect_errors\":{},\"first_connect_error\":{},\
\"connect_ms\":{},\"write_errors\":{},\"answered\":{},\"timeouts\":{},\"closed\":{},\"errors\":{},\
\"first_error\":{},\"burst_ms\":{},\"all_answered\":{},\"fresh_status\":{},\"fresh_ms\":{},\
\"fresh_timeout_ms\":{},\"sample\":{},\"sample_answered\":{},\"sample_max_ms\":{},\"held\":{}}}",
        json_str(&args[0]),
        count,
        conns.len(),
        connect_errors,
        json_str(&first_connect_error),
        ms(connect_ms),
        write_errors,
        answered,
        timeouts,
        closed,
        errors,
        json_str(&first_error),
        ms(burst_ms),
        answered == count,
        json_str(&fresh_status),
        fresh_ms.map(ms).unwrap_or_else(|| "null".into()),
        FRESH_TIMEOUT.as_millis(),
        picks.len(),
        sample_answered,
        if sample_answered > 0 { ms(sample_max) } else { "null".into() },
        still_open,
    );
    let _ = std::io::stdout().flush();

    // 5. Hold everything open until told (a line or EOF on stdin) or HOLD_SECS pass.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            // EOF (e.g. stdin is /dev/null in a background job): hold for HOLD_SECS.
            Ok(0) | Err(_) => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            Ok(_) => {
                let _ = tx.send(());
            }
        }
    });
    let _ = rx.recv_timeout(hold);
    drop(conns);
}

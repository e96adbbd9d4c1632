//! Slow request-head holder for bench/run.sh's `slowhead` phase.
//!
//! Usage: slow-head HOST:PORT COUNT [HOLD_SECS] [BYTES]
//!
//! 1. Opens COUNT connections (connect timeout 5 s each, 20 s for all) and sends the first
//!    BYTES bytes (default 1: `G`) of a request head on each, then sends nothing more: every
//!    connection is a client stuck in the middle of its request head.
//! 2. Prints one JSON line on stdout (connected, connect errors, time taken), then holds
//!    every connection for HOLD_SECS (default 60, at most 600) or until a line arrives on
//!    stdin (EOF is ignored), whichever comes first.
//! 3. Before closing them, looks at each connection without blocking: still open (nothing
//!    to read), closed by the server (EOF or reset), or answered (the server sent bytes,
//!    e.g. a 408), and prints a second JSON line with those counts and the hold time.
//!
//! Bounded: COUNT at most 100,000, every wait has a timeout. std only; no dependencies.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_DEADLINE: Duration = Duration::from_secs(20);
const MAX_COUNT: usize = 100_000;
const MAX_HOLD_SECS: u64 = 600;

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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: slow-head HOST:PORT COUNT [HOLD_SECS] [BYTES]");
        std::process::exit(2);
    }
    let addr: SocketAddr = args[0]
        .to_socket_addrs()
        .expect("address")
        .next()
        .expect("address");
    let count: usize = args[1].parse().expect("COUNT");
    if count > MAX_COUNT {
        eprintln!("slow-head: COUNT {count} is above {MAX_COUNT}");
        std::process::exit(2);
    }
    let hold_secs: u64 = args
        .get(2)
        .map(|s| s.parse().expect("HOLD_SECS"))
        .unwrap_or(60);
    let hold = Duration::from_secs(hold_secs.min(MAX_HOLD_SECS));
    let nbytes: usize = args.get(3).map(|s| s.parse().expect("BYTES")).unwrap_or(1);
    let head = &HEAD[..nbytes.clamp(1, HEAD.len() - 1)];

    // 1. Connect and send the partial head.
    let t0 = Instant::now();
    let deadline = t0 + CONNECT_DEADLINE;
    let mut conns: Vec<TcpStream> = Vec::with_capacity(count);
    let (mut connect_errors, mut write_errors) = (0usize, 0usize);
    let mut first_error = String::new();
    for _ in 0..count {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            connect_errors += 1;
            if first_error.is_empty() {
                first_error = "overall connect deadline (20 s) passed".into();
            }
            continue;
        }
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(left)) {
            Ok(mut s) => {
                let _ = s.set_nodelay(true);
                let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                match s.write_all(head) {
                    Ok(()) => conns.push(s),
                    Err(e) => {
                        write_errors += 1;
                        if first_error.is_empty() {
                            first_error = format!("write: {e}");
                        }
                    }
                }
            }
            Err(e) => {
                connect_errors += 1;
                if first_error.is_empty() {
                    first_error = e.to_string();
                }
            }
        }
    }
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{{\"target\":{},\"count\":{},\"head_bytes\":{},\"connected\":{},\"connect_errors\":{},\
\"write_errors\":{},\"first_error\":{},\"connect_ms\":{:.3}}}",
        json_str(&args[0]),
        count,
        head.len(),
        conns.len(),
        connect_errors,
        write_errors,
        json_str(&first_error),
        connect_ms
    );
    let _ = std::io::stdout().flush();

    // 2. Hold until told (a line on stdin) or HOLD_SECS pass.
    let held_from = Instant::now();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            // EOF (stdin is /dev/null in a background job): hold for HOLD_SECS.
            Ok(0) | Err(_) => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            Ok(_) => {
                let _ = tx.send(());
            }
        }
    });
    let _ = rx.recv_timeout(hold);
    let held_ms = held_from.elapsed().as_secs_f64() * 1000.0;

    // 3. Which of them did the server close or answer meanwhile?
    let (mut open, mut closed, mut answered) = (0usize, 0usize, 0usize);
    let mut first_answer = String::new();
    let mut buf = [0u8; 256];
    for s in conns.iter_mut() {
        if s.set_nonblocking(true).is_err() {
            closed += 1;
            continue;
        }
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Ok(n) => {
                answered += 1;
                if first_answer.is_empty() {
                    let t = String::from_utf8_lossy(&buf[..n]);
                    first_answer = t.lines().next().unwrap_or("").to_string();
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => open += 1,
            Err(_) => closed += 1,
        }
    }
    println!(
        "{{\"held_ms\":{:.3},\"still_open\":{},\"closed_by_server\":{},\"answered\":{},\
\"first_answer\":{}}}",
        held_ms,
        open,
        closed,
        answered,
        json_str(&first_answer)
    );
    let _ = std::io::stdout().flush();
    drop(conns);
}

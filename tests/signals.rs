//! The binary under load: SIGTERM lets every in-flight request finish (slow downloads
//! included), answers the rest or closes idle connections, and exits cleanly.
#![cfg(all(feature = "appliance", feature = "static-files"))]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{ChildServer, TempDir};

const BIG: usize = 8 * 1024 * 1024;

fn binary(root: &std::path::Path) -> std::process::Command {
    let mut c = support::falconet_command();
    c.args(["--urls", "http://127.0.0.1:0", "--root"]).arg(root);
    c
}

/// Downloads `/big.bin` reading slowly; returns the body length.
fn slow_download(addr: SocketAddr, started: &AtomicU64) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut all = Vec::with_capacity(BIG + 1024);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut counted = false;
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        all.extend_from_slice(&buf[..n]);
        if !counted {
            started.fetch_add(1, Ordering::SeqCst);
            counted = true;
        }
        if let Some(end) = support::find(&all, b"\r\n\r\n") {
            if all.len() >= end + 4 + BIG {
                return all.len() - end - 4;
            }
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(4));
    }
    let end = support::find(&all, b"\r\n\r\n").map(|e| e + 4).unwrap_or(0);
    all.len() - end
}

#[test]
fn sigterm_under_load_loses_no_in_flight_request() {
    let dir = TempDir::new("signals");
    let data: Vec<u8> = (0..BIG).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    std::fs::write(dir.path().join("small.txt"), "small").unwrap();
    let mut child = ChildServer::spawn(binary(dir.path()));
    let addr = child.wait_for_v4_port(Duration::from_secs(30));

    // Four slow downloads in flight...
    let started = Arc::new(AtomicU64::new(0));
    let downloads: Vec<_> = (0..4)
        .map(|_| {
            let st = started.clone();
            std::thread::spawn(move || slow_download(addr, &st))
        })
        .collect();
    // ...and four clients sending small requests on keep-alive connections in a loop.
    let stop = Arc::new(AtomicBool::new(false));
    let loopers: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut ok, mut torn) = (0u32, 0u32);
                let deadline = Instant::now() + Duration::from_secs(20);
                'conns: while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let Ok(mut s) = TcpStream::connect(addr) else {
                        break; // the listener is closed: shutdown began
                    };
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    for _ in 0..50 {
                        if s.write_all(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
                            .is_err()
                        {
                            continue 'conns;
                        }
                        match support::read_response(&mut s, false) {
                            Some(r) => {
                                assert_eq!(r.status, 200);
                                assert_eq!(r.body, b"small", "a complete response");
                                ok += 1;
                                if r.header("connection") == Some("close") {
                                    continue 'conns;
                                }
                            }
                            // Closed between requests (the idle connection was shut):
                            // nothing of a response arrived, the client may retry.
                            None => {
                                torn += 1;
                                continue 'conns;
                            }
                        }
                    }
                }
                (ok, torn)
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(20);
    while started.load(Ordering::SeqCst) < 4 {
        assert!(Instant::now() < deadline, "downloads did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    let pid = rustix::process::Pid::from_raw(child.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();

    for d in downloads {
        assert_eq!(
            d.join().unwrap(),
            BIG,
            "an in-flight download was cut short"
        );
    }
    stop.store(true, Ordering::SeqCst);
    let mut total_ok = 0;
    for l in loopers {
        let (ok, _torn) = l.join().unwrap();
        total_ok += ok;
    }
    assert!(total_ok > 0);

    // The process exits by itself, successfully, and said why.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        child.stderr()
    );
    assert!(
        child
            .wait_for_line("Shutdown complete", Duration::from_secs(5))
            .is_some(),
        "{}",
        child.stderr()
    );
    assert!(child.stderr().contains("shutting down"));
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}

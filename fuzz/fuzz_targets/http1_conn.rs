//! The sans-I/O HTTP/1 connection core `http1::core::Connection` (src/http1/core.rs),
//! driven as the driver drives it: the client's bytes arrive in fuzzer-chosen pieces into
//! a read buffer of MaxRequestBufferSize, virtual time passes between them, heads are
//! accepted, bodies read, responses finished (pipelined requests stay buffered).
//!
//! Invariants: the buffer never has to grow past MaxRequestBufferSize waiting for a head
//! (the parser decides within the head limits); a body never yields more bytes than its
//! Content-Length nor more than MaxRequestBodySize (413 instead); `recv_body` never
//! consumes more than it was given or produces more than the limit asked for; a deadline
//! the connection reports while a head or a body is awaited lies after `now`; a head's
//! deadline never moves later while its bytes drip in; after a response the keep-alive
//! deadline is KeepAliveTimeout from then; no panic.
#![no_main]

use std::time::{Duration, Instant};

use falconet::fuzzing::{Framing, Http1Connection, Phase};
use falconet::{Limits, MinDataRate};
use libfuzzer_sys::fuzz_target;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let Some(sel) = input.byte() else { return };
    let mut limits = Limits::default();
    if sel & 1 != 0 {
        limits.max_request_line_size = 64;
        limits.max_request_headers_total_size = 160;
        limits.max_request_header_count = 4;
        limits.max_request_buffer_size = Some(256);
    }
    limits.max_request_body_size = match sel >> 1 & 3 {
        0 => Some(30_000_000),
        1 => Some(10),
        2 => None,
        _ => Some(0),
    };
    let rate = (sel & 8 != 0).then_some(MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(5),
    });
    limits.min_request_body_data_rate = rate;
    let bare_lf = sel & 16 != 0;
    let buffer_cap = limits.max_request_buffer_size.unwrap_or(usize::MAX);
    let head_bound = 8 + limits.max_request_line_size + limits.max_request_headers_total_size;
    assert!(head_bound <= buffer_cap.saturating_add(8));

    let t0 = Instant::now();
    let mut now = t0;
    let mut conn = Http1Connection::new(&limits, bare_lf, now);
    let mut buf: Vec<u8> = Vec::new();
    // What the current body may still yield (Content-Length), and has yielded.
    let mut declared: Option<u64> = None;
    let mut body_read: u64 = 0;
    let mut head_deadline: Option<Instant> = None;

    while let Some(op) = input.byte() {
        match op >> 6 {
            // The client sends 1..=64 bytes (as much as the buffer takes).
            0 | 1 => {
                let n = usize::from(op & 63) + 1;
                let room = buffer_cap - buf.len().min(buffer_cap);
                let bytes = input.take(n.min(room));
                if bytes.is_empty() && room == 0 {
                    // The buffer is full and the core still waits: that is the bug the
                    // head bound below rules out; a full buffer in a body phase drains.
                    assert!(
                        conn.phase() != Phase::Head,
                        "buffer full waiting for a head"
                    );
                }
                buf.extend_from_slice(bytes);
                conn.received(bytes.len());
            }
            // Time passes: 1 ms .. 64 s, in steps.
            2 => {
                let d = Duration::from_millis(1u64 << (op & 15).min(16));
                match conn.wait_deadline(now) {
                    Ok(deadline) if now + d >= deadline => return, // timed out: closed
                    Ok(_) => {}
                    Err(_) => return,
                }
                now += d;
                conn.waited(d);
            }
            // Nothing else arrives: the server processes what it has.
            _ => {}
        }

        // The driver's turn: parse heads, read bodies, finish responses.
        loop {
            match conn.phase() {
                Phase::Idle | Phase::Head => {
                    let res = conn.recv_head(&buf, now);
                    match res {
                        Ok(Some((head, n))) => {
                            assert!(n <= buf.len());
                            buf.drain(..n);
                            head_deadline = None;
                            if let Framing::Length(n) = head.framing {
                                if limits.max_request_body_size.is_some_and(|m| n > m) {
                                    return; // 413 from Content-Length
                                }
                            }
                            declared = match head.framing {
                                Framing::Length(n) => Some(n),
                                Framing::None => Some(0),
                                Framing::Chunked => None,
                            };
                            body_read = 0;
                            conn.begin_body(
                                head.framing,
                                limits.max_request_body_size,
                                rate,
                                head.expect_continue,
                            );
                            let _ = conn.take_continue(!buf.is_empty());
                        }
                        Ok(None) => {
                            assert!(
                                buf.len() <= head_bound,
                                "{} bytes buffered without a decision",
                                buf.len()
                            );
                            if !buf.is_empty() {
                                assert_eq!(conn.phase(), Phase::Head);
                                let d = match conn.wait_deadline(now) {
                                    Ok(d) => d,
                                    Err(_) => return, // 408
                                };
                                assert!(d > now, "head deadline not after now");
                                assert!(
                                    d <= now + limits.request_headers_timeout,
                                    "head deadline beyond RequestHeadersTimeout"
                                );
                                if let Some(prev) = head_deadline {
                                    assert!(d <= prev, "head deadline moved later");
                                }
                                head_deadline = Some(d);
                            }
                            break;
                        }
                        Err(status) => {
                            assert!((400..=505).contains(&status));
                            return; // error answer, connection closed
                        }
                    }
                }
                Phase::Body => {
                    let limit = [1usize, 7, 4096, usize::MAX][usize::from(op & 3)];
                    let mut produced = 0usize;
                    let res = conn.recv_body(&buf, &mut |p| produced += p.len(), limit);
                    match res {
                        Ok((used, total)) => {
                            assert!(used <= buf.len());
                            assert_eq!(total, produced);
                            assert!(total <= limit);
                            buf.drain(..used);
                            body_read += total as u64;
                            if let Some(n) = declared {
                                assert!(body_read <= n, "{body_read} body bytes of {n}");
                            }
                            if let Some(max) = limits.max_request_body_size {
                                assert!(body_read <= max, "{body_read} over MaxRequestBodySize");
                            }
                            if conn.body_done() {
                                if let Some(n) = declared {
                                    assert_eq!(body_read, n);
                                }
                                conn.writing();
                                conn.response_done(now);
                                let d = conn.wait_deadline(now).expect("idle has a deadline");
                                assert_eq!(d, now + limits.keep_alive_timeout);
                                continue;
                            }
                            match conn.wait_deadline(now) {
                                Ok(d) => assert!(d > now, "body deadline not after now"),
                                Err(status) => {
                                    assert_eq!(status, 408);
                                    return;
                                }
                            }
                            if used == 0 || buf.is_empty() {
                                break;
                            }
                        }
                        Err(status) => {
                            assert!((400..=505).contains(&status));
                            return;
                        }
                    }
                }
                Phase::Writing => unreachable!("responses finish at once here"),
            }
        }
    }
});

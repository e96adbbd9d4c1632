//! The sans-I/O HTTP/2 server connection (src/http2/conn.rs) against a fuzzer-driven
//! client: raw octets and well-formed frames (HEADERS, DATA, WINDOW_UPDATE, SETTINGS,
//! RST_STREAM, PING) in any order, virtual time, and a driver that answers the requests
//! the connection hands out (head, body pieces, trailers, resets, graceful shutdown).
//!
//! Invariants, checked on every octet the connection writes:
//! - DATA never exceeds the flow-control windows the client granted: per stream
//!   (SETTINGS_INITIAL_WINDOW_SIZE as last sent, plus the stream's WINDOW_UPDATEs) and on
//!   the connection (65,535 plus its WINDOW_UPDATEs), tracked by an independent reading of
//!   the client's octets;
//! - no frame is longer than the client's SETTINGS_MAX_FRAME_SIZE;
//! - a stream is answered once: at most one response head and one trailer block, nothing
//!   after END_STREAM or RST_STREAM, no DATA before a head;
//! - the buffers stay bounded: unparsed input under one frame, request bodies under
//!   max_request_body_buffer, a header block under max_header_block, the control queue
//!   under its frame cap; every request body within MaxRequestBodySize;
//! - after `handle_timeout(now)` no deadline is left at or before `now`; no panic.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use falconet::fuzzing::http2::{Connection, H2Event, Settings};
use falconet::Limits;
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frames parsed from a byte stream (9-octet headers, payloads), independent of falconet.
#[derive(Default)]
struct FrameReader {
    buf: Vec<u8>,
    skip: usize,
}

struct RawFrame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl FrameReader {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<RawFrame>) {
        let mut bytes = bytes;
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
        while self.buf.len() >= 9 {
            let len = (usize::from(self.buf[0]) << 16)
                | (usize::from(self.buf[1]) << 8)
                | usize::from(self.buf[2]);
            if self.buf.len() < 9 + len {
                break;
            }
            let f = RawFrame {
                kind: self.buf[3],
                flags: self.buf[4],
                stream: u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]])
                    & 0x7fff_ffff,
                payload: self.buf[9..9 + len].to_vec(),
            };
            self.buf.drain(..9 + len);
            out.push(f);
        }
    }
}

#[derive(Default)]
struct StreamOut {
    heads: u32,
    data: u64,
    ended: bool,
}

struct Harness {
    conn: Connection,
    now: Instant,
    settings: Settings,
    max_body: Option<u64>,
    /// The client's side.
    client: FrameReader,
    initial_window: i64,
    client_max_frame: usize,
    conn_granted: i64,
    stream_granted: HashMap<u32, i64>,
    /// The server's side.
    server: FrameReader,
    conn_sent: i64,
    streams: HashMap<u32, StreamOut>,
    /// Requests handed to the driver: id → 0 head not sent yet, 1 head sent.
    pending: Vec<(u32, u8)>,
    failed: bool,
}

impl Harness {
    fn send(&mut self, bytes: &[u8]) {
        let mut frames = Vec::new();
        self.client.push(bytes, &mut frames);
        for f in frames {
            match f.kind {
                // SETTINGS (not ACK) on stream 0, whole entries.
                4 if f.flags & 1 == 0 && f.stream == 0 && f.payload.len() % 6 == 0 => {
                    for e in f.payload.chunks(6) {
                        let id = u16::from_be_bytes([e[0], e[1]]);
                        let v = u32::from_be_bytes([e[2], e[3], e[4], e[5]]);
                        match id {
                            4 => self.initial_window = i64::from(v),
                            5 if (16_384..=16_777_215).contains(&v) => {
                                self.client_max_frame = v as usize
                            }
                            _ => {}
                        }
                    }
                }
                8 if f.payload.len() == 4 => {
                    let inc = i64::from(
                        u32::from_be_bytes([
                            f.payload[0],
                            f.payload[1],
                            f.payload[2],
                            f.payload[3],
                        ]) & 0x7fff_ffff,
                    );
                    if f.stream == 0 {
                        self.conn_granted += inc;
                    } else {
                        *self.stream_granted.entry(f.stream).or_default() += inc;
                    }
                }
                _ => {}
            }
        }
        if self.failed {
            return;
        }
        if self.conn.recv(bytes, self.now).is_err() {
            self.failed = true;
        }
        self.after();
    }

    /// Takes events and output, checks the invariants.
    fn after(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                H2Event::Request { id, body, .. } => {
                    if let Some(max) = self.max_body {
                        assert!(
                            body.len() as u64 <= max,
                            "body of {} over {max}",
                            body.len()
                        );
                    }
                    assert!(
                        !self.pending.iter().any(|p| p.0 == id),
                        "request {id} twice"
                    );
                    self.pending.push((id, 0));
                }
                H2Event::Reset { id, .. } => self.pending.retain(|p| p.0 != id),
                // Answered by the connection: never handed to the driver as a request.
                H2Event::Answered { id, status } => {
                    assert!(status == 413 || status == 431, "answered {id} with {status}");
                    assert!(
                        !self.pending.iter().any(|p| p.0 == id),
                        "stream {id} answered by the connection while its request is out"
                    );
                }
            }
        }
        let b = self.conn.buffered();
        assert!(
            b.read_buf <= 9 + self.settings.max_frame_size as usize + PREFACE.len(),
            "read buffer {} over one frame",
            b.read_buf
        );
        assert!(
            b.body <= self.settings.max_request_body_buffer,
            "request bodies {} over {}",
            b.body,
            self.settings.max_request_body_buffer
        );
        assert!(
            b.header_block <= self.conn.max_header_block(),
            "header block {}",
            b.header_block
        );
        assert!(b.control <= 1001 * 512, "control queue {}", b.control);
        let mut out = Vec::new();
        // The driver writes whenever the connection has output (the socket takes it all).
        while self.conn.poll_output(&mut out) {
            let mut frames = Vec::new();
            self.server.push(&out, &mut frames);
            out.clear();
            for f in frames {
                self.check_out(f);
            }
        }
    }

    fn check_out(&mut self, f: RawFrame) {
        assert!(
            f.payload.len() <= self.client_max_frame,
            "frame of {} over the client's max {}",
            f.payload.len(),
            self.client_max_frame
        );
        let end_stream = f.flags & 1 != 0;
        match f.kind {
            0 => {
                let s = self.streams.entry(f.stream).or_default();
                assert!(f.stream != 0);
                assert!(s.heads >= 1, "DATA before a head on {}", f.stream);
                assert!(!s.ended, "DATA after the end of {}", f.stream);
                let n = f.payload.len() as u64;
                s.data += n;
                self.conn_sent += n as i64;
                let granted =
                    self.initial_window + self.stream_granted.get(&f.stream).copied().unwrap_or(0);
                // An empty DATA frame (END_STREAM alone) takes no window: it may go out when a
                // smaller SETTINGS_INITIAL_WINDOW_SIZE left the window negative.
                assert!(
                    n == 0 || s.data as i64 <= granted,
                    "stream {}: {} DATA octets, window allows {granted}",
                    f.stream,
                    s.data
                );
                assert!(
                    n == 0 || self.conn_sent <= 65_535 + self.conn_granted,
                    "connection: {} DATA octets, window allows {}",
                    self.conn_sent,
                    65_535 + self.conn_granted
                );
                s.ended |= end_stream;
            }
            1 => {
                let s = self.streams.entry(f.stream).or_default();
                assert!(f.stream != 0);
                assert!(!s.ended, "HEADERS after the end of {}", f.stream);
                s.heads += 1;
                assert!(s.heads <= 2, "stream {} answered twice", f.stream);
                if s.heads == 2 {
                    assert!(end_stream, "trailers without END_STREAM on {}", f.stream);
                }
                s.ended |= end_stream;
            }
            3 => {
                let s = self.streams.entry(f.stream).or_default();
                s.ended = true;
            }
            5 => panic!("PUSH_PROMISE sent"),
            _ => {}
        }
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A request head from the static table only (no dynamic table use: valid whatever the
/// raw octets did to the decoder's table).
fn head_block(post: bool, content_length: Option<u8>) -> Vec<u8> {
    let mut b = vec![if post { 0x83 } else { 0x82 }, 0x84, 0x87, 0x01, 11];
    b.extend_from_slice(b"example.com");
    if let Some(n) = content_length {
        // content-length (static index 28), literal without indexing.
        let v = n.to_string();
        b.push(0x0f);
        b.push(28 - 15);
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let sel = input.byte();
    let mut limits = Limits::default();
    limits.max_request_body_size =
        [Some(30_000_000), Some(10), None, Some(100_000)][usize::from(sel & 3)];
    if sel & 4 != 0 {
        limits.http2.keep_alive_ping_delay = Some(Duration::from_secs(10));
    }
    let mut settings = Settings::from_limits(&limits);
    if sel & 8 != 0 {
        settings.initial_stream_window = 100;
        settings.initial_connection_window = 65_535;
        settings.max_request_body_buffer = 65_535;
        settings.max_concurrent_streams = 3;
        settings.max_header_list_size = 200;
    }
    if sel & 16 != 0 {
        settings.allow_response_header_compression = false;
        settings.header_table_size = 0;
    }
    let now = Instant::now();
    let mut h = Harness {
        conn: Connection::new(&settings, &limits, now),
        now,
        max_body: limits.max_request_body_size,
        settings,
        client: FrameReader {
            skip: PREFACE.len(),
            ..FrameReader::default()
        },
        initial_window: 65_535,
        client_max_frame: 16_384,
        conn_granted: 0,
        stream_granted: HashMap::new(),
        server: FrameReader::default(),
        conn_sent: 0,
        streams: HashMap::new(),
        pending: Vec::new(),
        failed: false,
    };
    h.after();
    if sel & 32 == 0 {
        let mut open = PREFACE.to_vec();
        open.extend(frame(4, 0, 0, &[]));
        h.send(&open);
    }

    let mut steps = 0;
    while !input.0.is_empty() && steps < 2000 {
        steps += 1;
        let op = input.byte();
        let stream = u32::from(op >> 4) * 2 + 1; // 1, 3, ..., 31
        match op & 15 {
            0 => {
                let n = usize::from(input.byte());
                let bytes = input.take(n).to_vec();
                h.send(&bytes);
            }
            1 | 2 => {
                let flags = input.byte();
                let cl = (flags & 2 != 0).then_some(flags >> 3);
                let block = head_block(op & 15 == 2, cl);
                h.send(&frame(1, 0x4 | (flags & 1), stream, &block));
            }
            3 => {
                let n = usize::from(input.byte()) * 64 + usize::from(input.byte() & 63);
                let flags = input.byte() & 1;
                h.send(&frame(0, flags, stream, &vec![b'x'; n.min(70_000)]));
            }
            4 => {
                let inc = input.u32() & 0x7fff_ffff;
                let sid = if op & 0x10 != 0 { 0 } else { stream };
                h.send(&frame(8, 0, sid, &inc.to_be_bytes()));
            }
            5 => {
                let id = [4u16, 5, 1, 3][usize::from(input.byte() & 3)];
                let v = input.u32() >> (input.byte() & 31);
                let mut p = id.to_be_bytes().to_vec();
                p.extend_from_slice(&v.to_be_bytes());
                h.send(&frame(4, 0, 0, &p));
            }
            6 => h.send(&frame(4, 1, 0, &[])),
            7 => h.send(&frame(3, 0, stream, &8u32.to_be_bytes())),
            8 => h.send(&frame(6, 0, 0, &[0; 8])),
            9 => {
                // Time passes; the driver acts on deadlines as its timer does.
                let d = Duration::from_millis(1u64 << (input.byte() % 26));
                h.now += d;
                if h.failed {
                    continue;
                }
                if h.conn.next_timeout().is_some_and(|t| t <= h.now) {
                    if h.conn.handle_timeout(h.now).is_err() {
                        h.failed = true;
                    } else if let Some(t) = h.conn.next_timeout() {
                        assert!(
                            t > h.now,
                            "a deadline at or before now after handle_timeout"
                        );
                    }
                }
                h.after();
            }
            10 | 11 | 12 => {
                // The driver answers the request it picks.
                if h.pending.is_empty() || h.failed {
                    continue;
                }
                let i = usize::from(input.byte()) % h.pending.len();
                let (id, state) = h.pending[i];
                let how = input.byte();
                if state == 0 {
                    let end = how & 1 != 0;
                    let mut headers = HeaderMap::new();
                    if how & 2 != 0 {
                        headers.insert("content-type", "text/plain".parse().unwrap());
                        headers.insert("connection", "close".parse().unwrap());
                    }
                    h.conn.send_headers(
                        id,
                        [200, 404, 500, 204][usize::from(how >> 2 & 3)],
                        &headers,
                        end,
                    );
                    if end {
                        h.pending.remove(i);
                    } else {
                        h.pending[i].1 = 1;
                    }
                } else {
                    match how & 3 {
                        0 | 1 => {
                            let n = usize::from(input.byte()) * 300;
                            let end = how & 1 != 0;
                            h.conn.send_data(id, Bytes::from(vec![b'y'; n]), end);
                            if end {
                                h.pending.remove(i);
                            }
                        }
                        2 => {
                            let mut t = HeaderMap::new();
                            t.insert("grpc-status", "0".parse().unwrap());
                            h.conn.send_trailers(id, &t);
                            h.pending.remove(i);
                        }
                        _ => {
                            h.conn.reset(id, 2);
                            h.pending.remove(i);
                        }
                    }
                }
                h.after();
            }
            13 => {
                if !h.failed {
                    h.conn.shutdown(h.now);
                    h.after();
                }
            }
            _ => {
                // A CONTINUATION or a HEADERS without END_HEADERS, raw fragment.
                let n = usize::from(input.byte() & 31);
                let frag = input.take(n).to_vec();
                let kind = if op & 1 == 0 { 9 } else { 1 };
                let flags = input.byte() & 0x5;
                h.send(&frame(kind, flags, stream, &frag));
            }
        }
    }
});

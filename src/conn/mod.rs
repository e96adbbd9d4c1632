//! One protocol-neutral connection: the [`Link`] every connection has (transport behind
//! deadline I/O, read buffer from a pool and none while idle, deadline, registration in
//! its event loop, admission guard) and its protocol as one enum — the TLS handshake,
//! the choice between HTTP/1 and HTTP/2 with prior knowledge on a cleartext connection,
//! HTTP/1, HTTP/2, and lingering after an error response.
//!
//! [`drive`] runs a connection on a worker until it must park or close, handing it from
//! protocol to protocol (handshake → HTTP/1 or HTTP/2); [`on_expired`] applies what a
//! passed deadline means. The protocol drivers ([`crate::http1::driver`],
//! `crate::http2::driver`) work on the link and their own state and see the server
//! only through a [`Context`]; they never import each other or the server.
//!
//! ```text
//!   accept ──► Handshake (TLS) ──► Http1 ◄──┐
//!         │                   └──► Http2    │ (h2 by ALPN)
//!         └──► Detect (cleartext, h2c offered) ──► Http1 / Http2 (client preface)
//!   Http1 / Http2 / Handshake ──(error response)──► Lingering ──► close
//! ```

pub(crate) mod context;
#[cfg(feature = "tls")]
mod handshake;
pub(crate) mod link;

use std::sync::Arc;
use std::time::Instant;

use crate::http1::core as h1core;
use crate::http1::driver::{self as h1, Drive};
use crate::http1::state::Http1;
use crate::io::DeadlineIo;
use crate::options::Protocols;
use crate::request::ConnectionInfo;
use crate::stats::ConnGuard;
use crate::upgrade::Upgraded;
pub(crate) use context::{Context, Task, Watched};
pub(crate) use link::{EndpointCtx, Link, Outcome, ReadBuf, Registration};

/// The HTTP/2 client preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol a connection speaks now, with its state.
// HTTP/1, the common case, is held inline (the whole connection is boxed); HTTP/2's larger
// state is boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Protocol {
    /// The TLS handshake is running, under the endpoint's HandshakeTimeout.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Handshake {
        /// Whether it waits for room to write (not for bytes).
        wants_write: bool,
    },
    /// A cleartext connection on an endpoint that offers HTTP/2 with prior knowledge:
    /// its first bytes decide between HTTP/1 and HTTP/2. `head_started`: when the first
    /// of them arrived (a prefix of the preface; the head timer runs from there).
    Detect {
        head_started: Option<Instant>,
    },
    Http1(Http1),
    #[cfg(feature = "http2")]
    Http2(Box<crate::http2::driver::H2>),
    /// An error response was sent; discarding input until the client closes, for at most
    /// [`h1core::LINGER`] and [`h1core::LINGER_BYTES`].
    Lingering {
        discarded: usize,
    },
}

/// What graceful shutdown does with an idle connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtShutdown {
    /// Close it: nothing is waiting in its socket (or the client has closed its side).
    Close,
    /// Drive it once more: bytes wait in its socket (a request that arrived before the
    /// signal, which is served with `Connection: close`; closing the socket with them
    /// unread would reset the connection), or it is an HTTP/2 connection, which sends
    /// GOAWAY with the last stream it processed before it closes.
    Drive,
}

/// One connection: its link and its protocol.
pub(crate) struct Conn {
    pub(crate) link: Link,
    pub(crate) proto: Protocol,
}

/// What the worker does with the connection next.
pub(crate) enum Next {
    /// Hand it to its event loop until bytes arrive or its deadline passes.
    Park(Box<Conn>),
    /// It has had its turn: put it at the back of its event loop's ready list.
    Yield(Box<Conn>),
    /// Drop it (closing the socket).
    Close,
}

impl Conn {
    /// A new connection on `endpoint`, in event loop `shard`: in the TLS handshake on an
    /// HTTPS endpoint (call [`begin_handshake`](Self::begin_handshake)), else waiting for
    /// its first request under KeepAliveTimeout.
    pub(crate) fn new(
        io: DeadlineIo,
        info: ConnectionInfo,
        endpoint: Arc<EndpointCtx>,
        guard: ConnGuard,
        shard: usize,
        cx: &dyn Context,
    ) -> Box<Conn> {
        let now = Instant::now();
        let limits = &cx.options().limits;
        let detect = cfg!(feature = "http2") && endpoint.protocols != Protocols::Http1;
        Box::new(Conn {
            link: Link {
                io,
                buf: ReadBuf::new(),
                wbuf: Vec::new(),
                deadline: h1core::keep_alive_deadline(now, limits),
                parked_at: now,
                shard,
                reg: None,
                info,
                endpoint,
                guard: Some(guard),
                cap: limits.read_buffer_cap(),
            },
            proto: if detect {
                Protocol::Detect { head_started: None }
            } else {
                Protocol::Http1(h1::new_state(cx, now, None))
            },
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.link.id()
    }

    /// Starts the connection in the TLS handshake, which must finish within `timeout`.
    #[cfg(feature = "tls")]
    pub(crate) fn begin_handshake(&mut self, timeout: std::time::Duration) {
        self.proto = Protocol::Handshake { wants_write: false };
        self.link.deadline = Instant::now() + timeout;
    }

    /// Whether its event loop should wait for the socket to become writable (not
    /// readable).
    pub(crate) fn wants_write(&self) -> bool {
        match &self.proto {
            Protocol::Handshake { wants_write } => *wants_write,
            Protocol::Http1(s) => s.wants_write(),
            #[cfg(feature = "http2")]
            Protocol::Http2(h2) => h2.write_blocked,
            Protocol::Detect { .. } | Protocol::Lingering { .. } => false,
        }
    }

    /// Whether idle with nothing buffered: at shutdown it is closed, or driven once more,
    /// as [`at_shutdown`](Self::at_shutdown) says.
    pub(crate) fn is_idle(&self) -> bool {
        let empty = self.link.buf.is_empty();
        match &self.proto {
            Protocol::Handshake { .. } | Protocol::Detect { .. } => empty,
            Protocol::Http1(s) => s.is_idle() && empty,
            #[cfg(feature = "http2")]
            Protocol::Http2(h2) => h2.is_idle(),
            Protocol::Lingering { .. } => false,
        }
    }

    /// What graceful shutdown does with this connection when it is idle.
    pub(crate) fn at_shutdown(&self) -> AtShutdown {
        if self.is_http2() || self.link.io.stream.has_unread() {
            AtShutdown::Drive
        } else {
            AtShutdown::Close
        }
    }

    /// Whether it speaks HTTP/2.
    pub(crate) fn is_http2(&self) -> bool {
        #[cfg(feature = "http2")]
        if let Protocol::Http2(_) = &self.proto {
            return true;
        }
        false
    }

    /// Whether it lingers after an error response.
    pub(crate) fn is_lingering(&self) -> bool {
        matches!(self.proto, Protocol::Lingering { .. })
    }

    /// Called by its event loop as it parks the connection under `token`: an HTTP/2
    /// connection's finished handlers find it by this token (see `http2::driver`).
    pub(crate) fn on_parked(&self, token: u64) {
        #[cfg(feature = "http2")]
        if let Protocol::Http2(h2) = &self.proto {
            h2.mailbox
                .parked
                .store(token, std::sync::atomic::Ordering::Release);
        }
        #[cfg(not(feature = "http2"))]
        let _ = token;
    }

    /// Taken from its event loop for a finished handler's response, not for bytes.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn on_woken(&mut self) {
        #[cfg(feature = "http2")]
        if let Protocol::Http2(h2) = &mut self.proto {
            h2.on_woken();
        }
    }

    /// The mailbox of an HTTP/2 connection (finished handlers' responses).
    #[cfg(feature = "http2")]
    pub(crate) fn h2_mailbox(&self) -> Option<Arc<crate::http2::driver::Mailbox>> {
        match &self.proto {
            Protocol::Http2(h2) => Some(h2.mailbox.clone()),
            _ => None,
        }
    }

    /// Closes the write side and lingers: reads and discards what the client still
    /// sends, so that it reads the response rather than a reset.
    fn begin_linger(&mut self) {
        self.link.io.stream.shutdown_write();
        self.proto = Protocol::Lingering { discarded: 0 };
        self.link.deadline = h1core::linger_deadline(Instant::now());
    }

    /// Reads and discards what a lingering client sends. `true`: keep lingering.
    pub(crate) fn linger_read(&mut self) -> bool {
        let Protocol::Lingering { discarded } = &mut self.proto else {
            return false;
        };
        let mut scratch = [0u8; 4096];
        loop {
            match self.link.io.try_read(&mut scratch) {
                Ok(Some(0)) | Err(_) => return false,
                Ok(Some(n)) => {
                    *discarded += n;
                    if !h1core::may_linger(*discarded) {
                        return false;
                    }
                }
                Ok(None) => return true,
            }
        }
    }

    /// Switches to HTTP/2 (after the client preface or ALPN `h2`).
    #[cfg(feature = "http2")]
    fn start_http2(&mut self, cx: &dyn Context) {
        self.proto = Protocol::Http2(crate::http2::driver::start(&self.link, cx));
    }

    /// What a protocol's outcome means for the connection. `None`: drive on.
    fn apply(mut self: Box<Self>, out: Outcome) -> Result<Next, Box<Conn>> {
        match out {
            Outcome::Continue => Err(self),
            Outcome::Park => Ok(Next::Park(self)),
            Outcome::Yield => Ok(Next::Yield(self)),
            Outcome::Close => Ok(Next::Close),
            Outcome::Linger => {
                self.begin_linger();
                Ok(Next::Park(self))
            }
            Outcome::Upgrade(p) => {
                start_upgraded(self, p);
                Ok(Next::Close)
            }
        }
    }
}

/// Runs a connection until it must park or close.
pub(crate) fn drive(mut conn: Box<Conn>, cx: &dyn Context) -> Next {
    loop {
        let Conn { link, proto } = &mut *conn;
        let out = match proto {
            #[cfg(feature = "tls")]
            Protocol::Handshake { wants_write } => match handshake::step(link, wants_write, cx) {
                handshake::Handshake::Park => Outcome::Park,
                handshake::Handshake::Close => Outcome::Close,
                handshake::Handshake::Done { h2 } => {
                    link.deadline =
                        h1core::keep_alive_deadline(Instant::now(), &cx.options().limits);
                    if h2 {
                        #[cfg(feature = "http2")]
                        conn.start_http2(cx);
                    } else {
                        conn.proto = Protocol::Http1(h1::new_state(cx, Instant::now(), None));
                    }
                    continue;
                }
            },
            #[cfg(not(feature = "tls"))]
            Protocol::Handshake { .. } => Outcome::Close,
            Protocol::Detect { head_started } => match detect(link, head_started, cx) {
                Detected::Http1 => {
                    let started = *head_started;
                    conn.proto = Protocol::Http1(h1::new_state(cx, Instant::now(), started));
                    continue;
                }
                #[cfg(feature = "http2")]
                Detected::Http2 => {
                    conn.start_http2(cx);
                    continue;
                }
                Detected::Then(out) => out,
            },
            Protocol::Http1(s) => match h1::drive(link, s, cx) {
                Drive::Then(out) => out,
                Drive::Streaming(p) => {
                    let Conn { link, proto } = *conn;
                    let Protocol::Http1(s) = proto else {
                        return Next::Close;
                    };
                    let Some((link, s, out)) = h1::serve_streaming(link, s, p, cx) else {
                        return Next::Close;
                    };
                    conn = Box::new(Conn {
                        link,
                        proto: Protocol::Http1(s),
                    });
                    out
                }
            },
            #[cfg(feature = "http2")]
            Protocol::Http2(h2) => crate::http2::driver::drive(link, h2, cx),
            // Discard what came while the connection was out (an edge-triggered event
            // will not announce it again), then wait for more.
            Protocol::Lingering { .. } => {
                return if conn.linger_read() {
                    Next::Park(conn)
                } else {
                    Next::Close
                };
            }
        };
        match conn.apply(out) {
            Ok(next) => return next,
            Err(c) => conn = c,
        }
    }
}

/// Called by its event loop when the deadline of a parked connection passed. Returns the
/// connection when it must stay parked (lingering after a 408, HTTP/2 timers).
pub(crate) fn on_expired(mut conn: Box<Conn>, cx: &dyn Context) -> Option<Box<Conn>> {
    let Conn { link, proto } = &mut *conn;
    let out = match proto {
        Protocol::Handshake { .. } => {
            log::debug!(
                "Connection id \"{}\" TLS handshake timed out; closing",
                link.id()
            );
            cx.counters()
                .timeouts
                .handshake
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Outcome::Close
        }
        // Before its first request: a keep-alive timeout, or a head that did not arrive.
        Protocol::Detect { head_started } => {
            let mut s = h1::new_state(cx, Instant::now(), *head_started);
            h1::on_expired(link, &mut s, cx)
        }
        Protocol::Http1(s) => h1::on_expired(link, s, cx),
        #[cfg(feature = "http2")]
        Protocol::Http2(h2) => crate::http2::driver::on_expired(link, h2, cx),
        Protocol::Lingering { .. } => Outcome::Close,
    };
    match out {
        Outcome::Park => Some(conn),
        Outcome::Linger => {
            conn.begin_linger();
            Some(conn)
        }
        _ => None,
    }
}

/// What the first bytes of a cleartext connection are.
enum Detected {
    /// HTTP/1.x.
    Http1,
    /// The HTTP/2 client preface.
    #[cfg(feature = "http2")]
    Http2,
    /// Not decided (park), or refused (HTTP/1.x on an HTTP/2-only endpoint), or gone.
    Then(Outcome),
}

/// Reads a cleartext connection's first bytes until they tell HTTP/2's client preface
/// from HTTP/1.x (the first byte usually does). On an HTTP/2-only endpoint, bytes that
/// are neither go to HTTP/2, which answers the invalid preface with GOAWAY. An idle
/// connection parks with no buffer; a prefix of the preface (or, on an HTTP/2-only
/// endpoint, of a request line) waits under RequestHeadersTimeout like any partial head.
fn detect(l: &mut Link, head_started: &mut Option<Instant>, cx: &dyn Context) -> Detected {
    loop {
        let b = l.buf.bytes();
        if !b.is_empty() {
            let n = b.len().min(PREFACE.len());
            if b[..n] != PREFACE[..n] {
                if l.endpoint.protocols != Protocols::Http2 {
                    return Detected::Http1;
                }
                // An HTTP/2-only endpoint: an HTTP/1.x client gets a 400 it can read;
                // anything else is an invalid preface (RFC 9113 §3.4), answered by
                // HTTP/2 itself with GOAWAY PROTOCOL_ERROR.
                let max_line = cx.options().limits.max_request_line_size;
                match http1_request_line(b, max_line) {
                    Some(true) => {
                        log::debug!(
                            "Connection id \"{}\" sent HTTP/1.x to an HTTP/2-only endpoint",
                            l.id()
                        );
                        return Detected::Then(h1::refuse(
                            l,
                            400,
                            "This endpoint speaks HTTP/2 only (Protocols: Http2); use \
                             HTTP/2 with prior knowledge",
                            cx,
                        ));
                    }
                    #[cfg(feature = "http2")]
                    Some(false) => {
                        log::debug!(
                            "Connection id \"{}\" sent an invalid HTTP/2 preface",
                            l.id()
                        );
                        return Detected::Http2;
                    }
                    #[cfg(not(feature = "http2"))]
                    Some(false) => return Detected::Then(Outcome::Close),
                    // Could still be a request line: the next bytes decide.
                    None => {}
                }
            } else if n == PREFACE.len() {
                #[cfg(feature = "http2")]
                return Detected::Http2;
                #[cfg(not(feature = "http2"))]
                return Detected::Http1;
            }
        }
        let cap = l.cap;
        let spare = l.buf.spare(cap);
        match l.io.try_read(spare) {
            Err(_) => return Detected::Then(Outcome::Close),
            Ok(Some(0)) => return Detected::Then(Outcome::Close),
            Ok(Some(n)) => {
                l.buf.advance(n);
                if head_started.is_none() {
                    *head_started = Some(Instant::now());
                }
            }
            Ok(None) => {
                let Some(started) = *head_started else {
                    // Idle: park at once, holding no buffer; at shutdown close, once a
                    // read has looked at the socket.
                    if cx.is_shutting_down() {
                        if l.io.forget_drained() {
                            continue;
                        }
                        return Detected::Then(Outcome::Close);
                    }
                    l.release_buffers();
                    return Detected::Then(Outcome::Park);
                };
                // A prefix of the preface: the next bytes decide.
                let hd = h1core::head_deadline(started, &cx.options().limits);
                return match h1core::head_wait(Instant::now(), hd) {
                    Ok(d) => {
                        l.deadline = d;
                        Detected::Then(Outcome::Park)
                    }
                    Err(_) => Detected::Http1,
                };
            }
        }
    }
}

/// Whether `b`, the first bytes of a connection, is an HTTP/1.x request line
/// (`method SP target SP HTTP/1.d`, then CRLF or LF): `Some(true)` when it starts with
/// one, `Some(false)` when it cannot (or its line would be longer than `max_line`),
/// `None` while the bytes so far could still begin one.
fn http1_request_line(b: &[u8], max_line: usize) -> Option<bool> {
    const VERSION: &[u8] = b"HTTP/1.";
    let line = match b.iter().position(|&c| c == b'\n') {
        Some(i) => &b[..i],
        None if b.len() > max_line => return Some(false),
        None => b,
    };
    let complete = line.len() < b.len();
    // The line's CR (or, before the LF came, perhaps the start of its CRLF).
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    let mut parts = line.splitn(3, |&c| c == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next();
    let version = parts.next();
    if !method.iter().all(|&c| crate::http1::head::is_tchar(c)) {
        return Some(false);
    }
    let Some(target) = target else {
        // No space yet: the method may go on.
        return if complete { Some(false) } else { None };
    };
    if method.is_empty() || !target.iter().all(|&c| c > b' ' && c != 0x7f) {
        return Some(false);
    }
    let Some(version) = version else {
        return if complete { Some(false) } else { None };
    };
    if target.is_empty() {
        return Some(false);
    }
    let expected = VERSION.len() + 1;
    let known = version.len().min(VERSION.len());
    if version[..known] != VERSION[..known]
        || version.len() > expected
        || (version.len() == expected && !version[expected - 1].is_ascii_digit())
    {
        return Some(false);
    }
    if complete {
        Some(version.len() == expected)
    } else {
        None
    }
}

/// Hands an upgraded connection to its callback on a thread outside the pool.
fn start_upgraded(mut conn: Box<Conn>, p: crate::upgrade::Pending) {
    let l = &mut conn.link;
    let prefix = l.buf.take_rest();
    let id = l.id();
    // The upgrade's thread does its own blocking I/O: no more events for this socket.
    if let Some(reg) = l.reg.take() {
        reg.deregister(l.io.fd());
    }
    let Link {
        io, info, guard, ..
    } = conn.link;
    // The connection leaves MaxConcurrentConnections and counts as upgraded instead.
    drop(guard);
    let upgraded = match Upgraded::new(io.stream, prefix, info, p.guard) {
        Ok(u) => u,
        Err(e) => {
            log::error!("Connection id \"{id}\": upgrade failed: {e}");
            return;
        }
    };
    let f = p.f;
    let spawned = std::thread::Builder::new()
        .name(format!("falconet-upgraded-{id}"))
        .spawn(move || f(upgraded));
    if let Err(e) = spawned {
        log::error!(
            "Connection id \"{id}\": cannot start a thread for the upgraded connection: {e}"
        );
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Box<Conn>>();
}

#[cfg(test)]
mod tests {
    use super::http1_request_line;

    #[test]
    fn http1_request_lines_are_told_from_other_bytes() {
        for line in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /a?b=c HTTP/1.0\n",
            b"PRI * HTTP/1.1\r\n",
        ] {
            assert_eq!(http1_request_line(line, 8192), Some(true), "{line:?}");
        }
        for bytes in [
            &b"PRI * HTTP/2.1\r\n\r\nSM\r\n\r\n"[..],
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"\x00\x00\x12\x04\x00\x00\x00\x00\x00",
            b"GET / HTTP/1.1 extra\r\n",
            b"GET  / HTTP/1.1\r\n",
            b"GET /\r\n",
            b"GET\r\n",
            b"GET / HTTP/1.x\r\n",
            b"GET / FTP/1.1",
            b"G\x01",
        ] {
            assert_eq!(http1_request_line(bytes, 8192), Some(false), "{bytes:?}");
        }
        // Undecided until more bytes come.
        for prefix in [
            &b"G"[..],
            b"GET",
            b"GET ",
            b"GET /index",
            b"GET / HTTP/1",
            b"GET / HTTP/1.1\r",
        ] {
            assert_eq!(http1_request_line(prefix, 8192), None, "{prefix:?}");
        }
        // A line longer than the limit is not waited for.
        assert_eq!(http1_request_line(&[b'G'; 100], 64), Some(false));
    }
}
#[cfg(test)]
mod size_tests {
    /// Every open connection holds its `Conn` for as long as it lives, idle ones too
    /// (10,000 idle keep-alive connections must cost at most 15 MB in all): the state of
    /// a request in progress lives out of line (`crate::pooled`), and a connection
    /// between requests holds a few hundred bytes. It was 1,192 bytes on x86-64 with the
    /// request and response state inline.
    #[test]
    fn an_idle_connection_is_small() {
        let size = std::mem::size_of::<super::Conn>();
        assert!(size <= 512, "Conn is {size} bytes");
    }
}

//! The HTTP/1.1 connection driver: request → handler → response → keep-alive or close,
//! run by a worker until the connection has nothing to read, then parked in its event loop.
//!
//! A connection moves through [`Phase`]s. Each call to [`drive`] runs it as far as the
//! bytes at hand allow and answers an [`Outcome`]: park (its event loop waits for bytes,
//! room to write, or the phase's deadline), linger, close, or hand over (an upgrade, a
//! synchronous-I/O request). A read or write that would block parks the connection at
//! once, with its partial buffer and its deadline, so a slow or dripping client costs a
//! worker only the time to process the bytes it sent. Only a handler that opted into
//! synchronous I/O makes a worker wait on a socket (see [`crate::io::deadline`]), and then
//! the minimum data rates cut a slow client off.
//!
//! The driver sees a [`Link`] (the protocol-neutral connection) and its own [`Http1`]
//! state, and the server only through a [`Context`]; what time it is, what the deadlines
//! are and which timeout ends a connection are decided by [`super::core`].

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::{Method, StatusCode, Version};

use super::core::{self, Expired};
use super::encode::{
    chunk_line, encode_error, encode_head, wants_close, Framing as OutFraming, HeadOptions,
};
use super::error::RequestError;
use super::head::{Framing, RequestHead};
use super::state::{
    body_done, decode_buffered, fill_blocking, fill_nowait, send_continue_if_pending, Cell, Http1,
    Lent, Meta, OutBody, Outgoing, Pending, READ_CHUNK,
};
use super::stream::{CellWriter, Incoming};
use crate::body::{Body, Kind};
use crate::conn::context::Context;
use crate::conn::link::{Link, Outcome, INITIAL_READ_BUFFER};
use crate::exchange;
use crate::handler::Response;
use crate::host::host_allowed;
use crate::io::{IoFail, RateTimer};
use crate::request::{RequestContext, RequestSettings};
use crate::stats::Refusal;
use crate::upgrade::Upgradable;

pub(crate) use super::core::Phase;

/// What one pass of a driver method decided.
enum Step {
    Continue,
    Park,
    Close,
    Linger,
    /// The exchange is complete and the client said it would close: close at once (the
    /// response is out; nothing of the client's is left unread).
    Finish,
    Streaming(Box<Pending>),
    Upgrade(crate::upgrade::Pending),
}

/// The driver's view of one connection while it runs: the link, the HTTP/1 state and
/// the server's context.
pub(crate) struct H1<'a> {
    pub(crate) l: &'a mut Link,
    pub(crate) s: &'a mut Http1,
    pub(crate) cx: &'a dyn Context,
}

impl H1<'_> {
    fn id(&self) -> u64 {
        self.l.info.id()
    }

    /// Called when the connection's deadline passed while it was parked: answers what
    /// the timeout means (408 for a head or body that did not arrive in time, written
    /// without waiting) and whether the connection lingers or closes.
    pub(crate) fn on_expired(&mut self) -> Outcome {
        let cx = self.cx;
        match self.s.core.expired() {
            Expired::KeepAlive => {
                log::debug!(
                    "Connection id \"{}\" keep-alive timeout; closing",
                    self.id()
                );
                cx.counters()
                    .timeouts
                    .keep_alive
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Outcome::Close
            }
            Expired::Request(e) => {
                log::debug!(
                    "Connection id \"{}\" bad request: {} ({})",
                    self.id(),
                    e.reason(),
                    e.status()
                );
                count_refusal(cx, e);
                cx.counters().response(e.status());
                self.l.fresh_wbuf();
                encode_error(
                    &mut self.l.wbuf,
                    e.status(),
                    "",
                    cx.options().add_server_header,
                );
                let mut off = 0;
                while off < self.l.wbuf.len() {
                    let n = {
                        let (io, wbuf) = (&mut self.l.io, &self.l.wbuf);
                        io.write_nowait(&wbuf[off..])
                    };
                    if n == 0 {
                        break;
                    }
                    off += n;
                }
                self.log_answer(e.status(), 0);
                self.clear();
                Outcome::Linger
            }
            Expired::ResponseRate => {
                self.log_slow_reader();
                if let Some(out) = self.s.out.take() {
                    self.log_written(&out, false);
                }
                Outcome::Close
            }
        }
    }

    /// Forgets the current request (the connection lingers or closes).
    fn clear(&mut self) {
        self.s.pending.clear();
        self.s.core.body.clear();
        self.s.out.clear();
    }

    /// Logs the answer the server gives itself (an error, a timeout): the current
    /// request's line, or one with `"-"` for a request not yet read.
    fn log_answer(&mut self, status: u16, bytes: u64) {
        let core = &self.s.core;
        let started = || core.head_started(Instant::now());
        exchange::log_end(
            self.cx,
            self.s.alog.take(),
            started,
            &self.l.info,
            None,
            status,
            bytes,
        );
    }

    /// Logs the current request's response (its status is in the entry) with `bytes` of
    /// body sent.
    fn log_done(&mut self, bytes: u64) {
        if let Some(e) = self.s.alog.take() {
            let status = e.status();
            exchange::log_end(
                self.cx,
                Some(e),
                Instant::now,
                &self.l.info,
                None,
                status,
                bytes,
            );
        }
    }

    /// Logs a buffered response that ended, `complete` or cut off.
    fn log_written(&mut self, out: &Outgoing, complete: bool) {
        if self.s.alog.is_some() {
            let bytes = if complete {
                out.declared.unwrap_or(out.taken)
            } else {
                // Chunk framing counts too when a chunked response is cut off.
                out.timer.bytes().saturating_sub(out.head)
            };
            self.log_done(bytes);
        }
    }

    fn fail(&mut self, e: RequestError) -> Step {
        count_refusal(self.cx, e);
        // What a client does wrong, a limit it runs into included, is debug (as Kestrel's
        // ConnectionBadRequest); the status endpoint counts each kind.
        log::debug!(
            "Connection id \"{}\" bad request: {} ({})",
            self.id(),
            e.reason(),
            e.status()
        );
        let body = if e == RequestError::TlsOnPlaintext {
            e.reason()
        } else {
            ""
        };
        self.error_response(e.status(), body)
    }

    /// Parses (and reads, if needed) the next request head.
    fn step_head(&mut self) -> Step {
        loop {
            if !self.l.buf.is_empty() {
                let now = Instant::now();
                let started = self.s.core.head_started(now);
                match self.s.core.recv_head(self.l.buf.bytes(), now) {
                    Err(e) => return self.fail(e),
                    Ok(Some((head, n))) => {
                        self.l.buf.consume(n);
                        return self.start_request(head, started);
                    }
                    Ok(None) => {}
                }
            }
            let cap = self.l.cap;
            let spare = self.l.buf.spare(cap);
            if spare.is_empty() {
                return self.fail(RequestError::HeadersTooLarge);
            }
            match self.l.io.try_read(spare) {
                Err(_) => return Step::Close,
                Ok(Some(0)) => {
                    if self.s.core.phase() == Phase::Head {
                        log::debug!(
                            "Connection id \"{}\" closed by the client with a partial request head",
                            self.id()
                        );
                    }
                    return Step::Close;
                }
                Ok(Some(n)) => self.l.buf.advance(n),
                Ok(None) => {
                    if self.s.core.phase() == Phase::Idle {
                        if self.cx.is_shutting_down() {
                            // Closed only when truly idle: a request that arrived since
                            // the last read is served (with Connection: close), and
                            // closing with it unread would reset the connection.
                            if self.l.io.forget_drained() {
                                continue;
                            }
                            return Step::Close;
                        }
                        // Park at once: the worker then waits on the whole epoll set,
                        // so whichever connection speaks next, this one included, is
                        // served without a hand-off to another thread.
                        // An idle connection holds no buffer: both go back to this
                        // thread's pool (a write buffer that held a reader body's chunk
                        // is freed instead).
                        self.l.release_buffers();
                        return Step::Park;
                    }
                    // Part of a head: park with it at once (the worker serves others
                    // meanwhile), under RequestHeadersTimeout.
                    match self.s.core.wait_deadline(Instant::now()) {
                        Ok(d) => self.l.deadline = d,
                        Err(e) => return self.fail(e),
                    }
                    return Step::Park;
                }
            }
        }
    }

    /// Validates the head against server policy, builds the request, lets the handler
    /// prepare it, and sets up the body. `started`: when the head's first byte arrived.
    fn start_request(&mut self, head: RequestHead, started: Instant) -> Step {
        self.s.response_started = false;
        self.cx.counters().request(head.version);
        let allowed = &self.cx.options().allowed_hosts;
        if !allowed.is_empty() {
            match &head.host {
                Some(h) if std::str::from_utf8(h).is_ok_and(|h| host_allowed(h, allowed)) => {}
                _ => return self.fail(RequestError::HostNotAllowed),
            }
        }
        let meta = Meta {
            version: head.version,
            is_head: head.method == Method::HEAD,
            keep_alive: head.keep_alive,
            upgrade: head.upgrade,
            te_trailers: head.headers.get_all(http::header::TE).iter().any(|v| {
                v.to_str().is_ok_and(|s| {
                    s.split(',')
                        .any(|t| t.trim().split(';').next() == Some("trailers"))
                })
            }),
        };
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = head.method;
        parts.uri = head.target;
        parts.version = head.version;
        parts.headers = head.headers;
        if head.upgrade {
            parts.extensions.insert(Upgradable {
                counters: self.cx.counters().clone(),
                limit: self.cx.options().limits.max_concurrent_upgraded_connections,
            });
        }
        self.s.control = self.s.control.next();
        let prepared = exchange::prepare(
            &mut parts,
            &self.l.info,
            self.s.control.clone(),
            self.l.endpoint.synchronous_io,
            head.upgrade,
            self.cx,
        );
        self.s.alog = exchange::log_begin(self.cx, started, &parts, &self.l.info, None);
        let settings = match prepared {
            Ok(s) => s,
            Err(_) => {
                log::error!(
                    "Connection id \"{}\": handler panicked in prepare; responding 500",
                    self.id()
                );
                return self.simple_error(500);
            }
        };
        let content_length = match head.framing {
            Framing::Length(n) => Some(n),
            Framing::None => Some(0),
            Framing::Chunked => None,
        };
        // With synchronous I/O the handler may still raise the limit (Body::set_max_size),
        // so the declared length is checked when it first reads (Incoming::read).
        if let (Some(n), Some(max), false) = (
            content_length,
            settings.max_body_size,
            settings.synchronous_io,
        ) {
            if n > max {
                // Decided from Content-Length before reading: no 100 Continue is sent.
                return self.fail(RequestError::BodyTooLarge);
            }
        }
        self.s.core.begin_body(core::BodySpec {
            framing: head.framing,
            max: settings.max_body_size,
            rate: settings.body_rate,
            response_rate: settings.response_rate,
            expect_continue: head.expect_continue,
        });
        let pending = Pending {
            parts,
            settings,
            meta,
            data: Vec::new(),
            content_length,
        };
        if settings.synchronous_io {
            return Step::Streaming(Box::new(pending));
        }
        if content_length == Some(0) {
            // No body to read (and no 100 Continue to send): straight to the handler,
            // without a round trip through the pending box.
            return self.respond_buffered(pending);
        }
        self.s.pending.set(pending);
        Step::Continue
    }

    /// Reads the body of the pending request in buffered mode, parking when the client
    /// is slow.
    fn step_body(&mut self) -> Step {
        loop {
            if let Err(e) = send_continue_if_pending(self.l, self.s) {
                log::debug!("Connection id \"{}\": write failed: {e:?}", self.id());
                return Step::Close;
            }
            let mut pending = match self.s.pending.take() {
                Some(p) => p,
                None => return Step::Close,
            };
            let r = decode_buffered(
                self.l,
                self.s,
                &mut |p| pending.data.extend_from_slice(p),
                usize::MAX,
            );
            if let Err(e) = r {
                return self.fail(e);
            }
            if body_done(self.s) {
                return self.respond_buffered(pending);
            }
            self.s.pending.set(pending);
            match fill_nowait(self.l, self.s) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(IoFail::Closed) => {
                    log::debug!(
                        "Connection id \"{}\" closed by the client during the request body",
                        self.id()
                    );
                    return Step::Close;
                }
                Err(_) => return Step::Close,
            }
            // Nothing more now: park at once, for as long as the data rate allows.
            let now = Instant::now();
            let Some(b) = self.s.core.body.as_ref() else {
                return Step::Close;
            };
            match core::body_wait(now, &b.rate) {
                Ok(d) => self.l.deadline = d,
                Err(e) => return self.fail(e),
            }
            self.l.parked_at = now;
            return Step::Park;
        }
    }

    /// Runs the handler on a fully read body and writes its response. (Called from two
    /// places: kept out of line so that the binary holds one copy.)
    #[inline(never)]
    fn respond_buffered(&mut self, pending: Pending) -> Step {
        let Pending {
            parts,
            settings,
            meta,
            data,
            ..
        } = pending;
        let control = parts
            .extensions
            .get::<RequestContext>()
            .map(|c| c.control.clone());
        let req = http::Request::from_parts(parts, Body::from(data));
        let resp = match catch_unwind(AssertUnwindSafe(|| self.cx.handler().handle(req))) {
            Ok(r) => r,
            Err(p) => {
                log::error!(
                    "Connection id \"{}\": handler panicked: {}; responding 500",
                    self.id(),
                    exchange::panic_message(&p)
                );
                return self.simple_error(500);
            }
        };
        if control.as_ref().is_some_and(|c| c.is_aborted()) {
            log::debug!("Connection id \"{}\" aborted by the application", self.id());
            return Step::Close;
        }
        let rate = control
            .and_then(|c| c.response_rate_override())
            .unwrap_or(settings.response_rate);
        let step = self.finish_response(resp, meta, &settings, rate);
        if let Step::Continue = step {
            if self.s.core.phase() != Phase::Writing {
                self.next_request();
            }
        }
        step
    }

    fn simple_error(&mut self, status: u16) -> Step {
        self.error_response(status, "")
    }

    /// Writes an error response (`Connection: close`) unless a response has started,
    /// then lingers; closes at once when the response cannot be sent.
    fn error_response(&mut self, status: u16, body: &str) -> Step {
        if self.s.response_started {
            return Step::Close;
        }
        self.cx.counters().response(status);
        self.log_answer(status, body.len() as u64);
        self.l.fresh_wbuf();
        encode_error(
            &mut self.l.wbuf,
            status,
            body,
            self.cx.options().add_server_header,
        );
        let mut timer = RateTimer::new(self.cx.options().limits.min_response_data_rate);
        let wbuf = std::mem::take(&mut self.l.wbuf);
        let r = self.l.io.write_all(&wbuf, &mut timer);
        self.l.wbuf = wbuf;
        match r {
            Ok(()) => Step::Linger,
            Err(_) => Step::Close,
        }
    }

    /// Writes the response and decides what comes next (keep-alive, close, upgrade).
    fn finish_response(
        &mut self,
        resp: Response,
        meta: Meta,
        settings: &RequestSettings,
        rate: Option<crate::MinDataRate>,
    ) -> Step {
        let (mut parts, mut body) = resp.into_parts();
        // Response trailers need chunked framing and a client that said `TE: trailers`;
        // otherwise they are dropped (RFC 9110 §6.5.1).
        let trailers = body
            .trailers
            .take()
            .filter(|_| meta.te_trailers && meta.version == Version::HTTP_11 && !meta.is_head);
        if trailers.is_some() {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            body = match body.kind {
                Kind::Bytes { data, pos } => {
                    let mut v = data.into_owned();
                    v.drain(..pos.min(v.len()));
                    Body::from_reader(std::io::Cursor::new(v), None)
                }
                Kind::Empty => Body::from_reader(std::io::empty(), None),
                Kind::Reader { reader, .. } => Body::from_reader(reader, None),
                Kind::File(f) => Body::from_reader(f, None),
                other => Body {
                    kind: other,
                    trailers: None,
                },
            };
        }
        if let Kind::Upgrade(p) = body.kind {
            if parts.status != StatusCode::SWITCHING_PROTOCOLS || !meta.upgrade {
                log::error!(
                    "Connection id \"{}\": an upgrade body needs status 101 on an upgrade request; responding 500",
                    self.id()
                );
                return self.simple_error(500);
            }
            self.cx.counters().response(parts.status.as_u16());
            self.l.fresh_wbuf();
            encode_head(
                &mut self.l.wbuf,
                parts.status,
                &parts.headers,
                HeadOptions {
                    framing: OutFraming::NoBody,
                    connection: None,
                    server_header: self.cx.options().add_server_header,
                },
            );
            let mut timer = RateTimer::new(rate);
            let wbuf = std::mem::take(&mut self.l.wbuf);
            let r = self.l.io.write_all(&wbuf, &mut timer);
            self.l.wbuf = wbuf;
            if r.is_err() {
                return Step::Close;
            }
            if let Some(e) = self.s.alog.as_mut() {
                e.set_status(101);
            }
            self.log_done(0);
            return Step::Upgrade(p);
        }
        if matches!(body.kind, Kind::Writer(_)) && !settings.synchronous_io {
            log::error!(
                "Connection id \"{}\": Synchronous operations are disallowed: Body::from_writer needs allow_synchronous_io (server, endpoint, or Prepare::set_allow_synchronous_io); responding 500",
                self.id()
            );
            return self.simple_error(500);
        }
        let mut keep_alive =
            meta.keep_alive && !self.cx.is_shutting_down() && !wants_close(&parts.headers);
        let no_body = !exchange::status_has_body(parts.status);
        let declared = exchange::declared_length(&body, &parts.headers);
        let framing = if no_body {
            OutFraming::NoBody
        } else {
            match declared {
                Some(n) => OutFraming::Length(n),
                None if meta.version == Version::HTTP_11 => OutFraming::Chunked,
                None => {
                    keep_alive = false;
                    OutFraming::Close
                }
            }
        };
        let connection = if !keep_alive {
            Some(false)
        } else if meta.version == Version::HTTP_10 {
            Some(true)
        } else {
            None
        };
        self.cx.counters().response(parts.status.as_u16());
        if let Some(e) = self.s.alog.as_mut() {
            e.set_status(parts.status.as_u16());
        }
        self.l.fresh_wbuf();
        encode_head(
            &mut self.l.wbuf,
            parts.status,
            &parts.headers,
            HeadOptions {
                framing,
                connection,
                server_header: self.cx.options().add_server_header,
            },
        );
        let head = self.l.wbuf.len() as u64;
        self.s.response_started = true;
        let timer = RateTimer::new(rate);
        let send_body = !(meta.is_head || no_body);
        let out_body = if !send_body {
            OutBody::None
        } else {
            match body.kind {
                Kind::Bytes { data, pos } => OutBody::Bytes(data, pos),
                Kind::Reader { reader, .. } => OutBody::Reader(reader),
                // The kernel copies a file to a plain socket; TLS (and connection
                // logging, which must see the bytes) copy it through user space.
                Kind::File(mut f) if self.l.io.stream.is_plain() && !self.l.io.logs_bytes() => {
                    // A small file joins its head in one write: a read and one send cost
                    // the kernel less than a send and a sendfile(2) of a few bytes. What
                    // a short read leaves goes by sendfile, which then finds the end.
                    if self.l.wbuf.len() as u64 + f.remaining <= INITIAL_READ_BUFFER as u64 {
                        append_region(&mut self.l.wbuf, &mut f);
                    }
                    OutBody::File(f)
                }
                Kind::File(f) => OutBody::Reader(Box::new(f)),
                // A handler's writer and the request body echoed back are written by
                // serve_streaming; an upgrade has returned above.
                Kind::Empty | Kind::Writer(_) | Kind::Incoming(_) | Kind::Upgrade(_) => {
                    OutBody::None
                }
            }
        };
        self.s.out.set(Outgoing {
            staged: 0,
            body: out_body,
            framing,
            timer,
            keep_alive,
            client_close: !meta.keep_alive,
            declared: match framing {
                OutFraming::Length(n) if send_body => Some(n),
                _ => None,
            },
            taken: 0,
            source_done: false,
            trailers,
            head,
        });
        self.s.core.writing();
        if settings.synchronous_io {
            // The handler opted into blocking I/O: the response is written on this worker.
            return self.step_write(false);
        }
        // Written by step_write from the drive loop, parking while the client is slow.
        Step::Continue
    }

    fn log_write_failure(&self, e: &IoFail) {
        match e {
            IoFail::TimedOut => self.log_slow_reader(),
            other => log::debug!(
                "Connection id \"{}\" response write failed: {other:?}",
                self.id()
            ),
        }
    }

    fn log_slow_reader(&self) {
        self.cx
            .counters()
            .timeouts
            .response_rate
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        log::debug!(
            "Connection id \"{}\" closed: the client read the response slower than MinResponseDataRate",
            self.id()
        );
    }

    /// Stages the next piece of a reader body (with chunk framing) in `wbuf`.
    fn stage_next(&mut self, out: &mut Outgoing) -> Result<(), ()> {
        self.l.wbuf.clear();
        out.staged = 0;
        let OutBody::Reader(reader) = &mut out.body else {
            out.source_done = true;
            return Ok(());
        };
        let want = match out.declared {
            Some(d) => (d - out.taken).min(READ_CHUNK as u64) as usize,
            None => READ_CHUNK,
        };
        let chunked = out.framing == OutFraming::Chunked;
        // Room before the data for the longest chunk-size line of a READ_CHUNK chunk.
        let prefix = if chunked { 10 } else { 0 };
        self.l.wbuf.resize(prefix + want, 0);
        let n = if want == 0 {
            0
        } else {
            loop {
                match reader.read(&mut self.l.wbuf[prefix..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::error!(
                            "Connection id \"{}\": response body reader failed: {e}",
                            self.id()
                        );
                        return Err(());
                    }
                }
            }
        };
        out.taken += n as u64;
        self.l.wbuf.truncate(prefix + n);
        if n == 0 {
            out.source_done = true;
            self.l.wbuf.clear();
            if chunked {
                self.l.wbuf.extend_from_slice(b"0\r\n");
                if let Some(t) = out.trailers.take() {
                    for (name, value) in t.iter() {
                        self.l.wbuf.extend_from_slice(name.as_str().as_bytes());
                        self.l.wbuf.extend_from_slice(b": ");
                        self.l.wbuf.extend_from_slice(value.as_bytes());
                        self.l.wbuf.extend_from_slice(b"\r\n");
                    }
                }
                self.l.wbuf.extend_from_slice(b"\r\n");
            }
            if let Some(d) = out.declared {
                if d != out.taken {
                    log::error!(
                        "Connection id \"{}\": response body ended after {} of {d} declared bytes; closing",
                        self.id(),
                        out.taken
                    );
                    return Err(());
                }
            }
            return Ok(());
        }
        if chunked {
            // The chunk-size line right-aligned in the prefix, then the data's CRLF.
            let (line, len) = chunk_line(n);
            let start = prefix - len;
            self.l.wbuf[start..prefix].copy_from_slice(&line[..len]);
            out.staged = start;
            self.l.wbuf.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    /// Writes the current response as far as the client takes it, parking the connection
    /// (not the worker) when the client reads slowly.
    fn step_write(&mut self, may_park: bool) -> Step {
        // The response's box is taken, not the response itself: no copy of it out and back.
        let mut held = std::mem::take(&mut self.s.out);
        let Some(out) = held.as_mut() else {
            return Step::Close;
        };
        let step = self.write_out(out, may_park);
        match step {
            Step::Park => self.s.out = held,
            Step::Close => self.log_written(out, false),
            _ => self.log_written(out, true),
        }
        step
    }

    /// [`step_write`](Self::step_write)'s loop over `out`.
    fn write_out(&mut self, out: &mut Outgoing, may_park: bool) -> Step {
        loop {
            let mut flush_only = false;
            if out.staged >= self.l.wbuf.len() {
                let body_left = match &out.body {
                    OutBody::Bytes(d, p) => *p < d.len(),
                    OutBody::File(f) => f.remaining > 0,
                    _ => false,
                };
                if !body_left {
                    let source_done = out.source_done
                        || matches!(
                            out.body,
                            OutBody::None | OutBody::Bytes(..) | OutBody::File(_)
                        );
                    if source_done && self.l.io.pending_output() {
                        // Everything is written, but TLS records wait above the socket.
                        flush_only = true;
                    } else if source_done {
                        self.l.wbuf.clear();
                        return if out.keep_alive {
                            // Synchronous I/O: the caller drains the request body first.
                            if may_park {
                                self.next_request();
                            }
                            Step::Continue
                        } else if out.client_close && self.client_done() {
                            // As nginx and Kestrel do: the client will send nothing more,
                            // so there is nothing to linger for (shutting down the write
                            // side, then waiting for its FIN on the event loop).
                            self.l.io.stream.close_notify();
                            Step::Finish
                        } else {
                            Step::Linger
                        };
                    } else {
                        if self.stage_next(out).is_err() {
                            return Step::Close;
                        }
                        continue;
                    }
                }
            }
            let first = &self.l.wbuf[out.staged.min(self.l.wbuf.len())..];
            let first_len = first.len();
            let r = if flush_only {
                self.l.io.try_flush().map(|done| done.then_some(0))
            } else if let OutBody::File(f) = &mut out.body {
                if f.remaining == 0 {
                    self.l.io.try_write_pair(first, &[])
                } else if first.is_empty() {
                    match self.l.io.try_sendfile(f) {
                        Ok(Some(0)) => {
                            log::error!(
                                "Connection id \"{}\": the response's file ended {} bytes short \
                                 of its declared length; closing",
                                self.l.info.id(),
                                f.remaining
                            );
                            return Step::Close;
                        }
                        r => r,
                    }
                } else {
                    // The head, held back until the file's first bytes join it.
                    self.l.io.try_write_more(first)
                }
            } else {
                let second: &[u8] = match &out.body {
                    OutBody::Bytes(d, p) => &d[*p..],
                    _ => &[],
                };
                self.l.io.try_write_pair(first, second)
            };
            match r {
                Ok(Some(n)) => {
                    out.timer.add_bytes(n);
                    let a = n.min(first_len);
                    out.staged += a;
                    // (A file region is advanced by try_sendfile itself.)
                    if let OutBody::Bytes(_, p) = &mut out.body {
                        *p += n - a;
                    }
                }
                Ok(None) => {
                    let queued = self.l.io.send_buffer_size();
                    let now = Instant::now();
                    let Some(until) = core::write_wait(now, &out.timer, queued) else {
                        self.log_slow_reader();
                        return Step::Close;
                    };
                    if may_park {
                        // The client reads slowly: park at once, for as long as the data
                        // rate allows.
                        self.l.deadline = until;
                        self.l.parked_at = now;
                        return Step::Park;
                    }
                    // Synchronous I/O (the handler opted in): wait on this worker.
                    let start = now;
                    let ready = self.l.io.wait(true, until);
                    out.timer.add_wait(start.elapsed());
                    match ready {
                        Ok(crate::io::deadline::Ready::Yes) => {}
                        Ok(_) => {
                            self.log_slow_reader();
                            return Step::Close;
                        }
                        Err(_) => return Step::Close,
                    }
                }
                Err(e) => {
                    self.log_write_failure(&e);
                    return Step::Close;
                }
            }
        }
    }

    /// Whether the client has nothing more to send after the request just answered: its
    /// body was read to the end, nothing of it is buffered, and the socket holds nothing
    /// either (a read is made only when the last one did not find it empty). A client
    /// that said `Connection: close` and sends more anyway gets lingering, so that it
    /// reads its response rather than a reset. (A read, not `Transport::has_unread`: it
    /// skips the system call when the last read found the socket empty, and over TLS it
    /// also sees plaintext rustls has decrypted but not handed out.)
    fn client_done(&mut self) -> bool {
        if !self.l.buf.is_empty() || !self.s.core.body_done() {
            return false;
        }
        let mut probe = [0u8; 1];
        !matches!(self.l.io.try_read(&mut probe), Ok(Some(1)))
    }

    /// Resets the connection for its next request.
    fn next_request(&mut self) {
        let now = Instant::now();
        self.s.core.response_done(now);
        self.s.pending.clear();
        self.s.out.clear();
        self.s.response_started = false;
        if let Ok(d) = self.s.core.wait_deadline(now) {
            self.l.deadline = d;
        }
    }

    /// After a streamed request: discards what the handler left unread, for up to
    /// `request_body_drain_timeout`. `false`: the connection must close.
    fn drain_body(&mut self) -> bool {
        if body_done(self.s) {
            return true;
        }
        if self.s.core.body.as_ref().is_some_and(|b| b.error.is_some()) {
            return false;
        }
        // A client still waiting for 100 Continue sends no body: nothing to drain, but
        // the connection's framing is unknown, so close.
        if self
            .s
            .core
            .body
            .as_ref()
            .is_some_and(|b| b.continue_pending)
        {
            return false;
        }
        let until =
            core::drain_deadline(Instant::now(), self.cx.options().request_body_drain_timeout);
        loop {
            let r = decode_buffered(self.l, self.s, &mut |_| {}, usize::MAX);
            if r.is_err() {
                return false;
            }
            if body_done(self.s) {
                return true;
            }
            if Instant::now() >= until || fill_blocking(self.l, self.s, until).is_err() {
                log::debug!(
                    "Connection id \"{}\": request body not drained in time; closing",
                    self.id()
                );
                return false;
            }
        }
    }
}

/// What one call to [`drive`] decided.
pub(crate) enum Drive {
    /// What the connection does next.
    Then(Outcome),
    /// A request whose handler opted into synchronous I/O: [`serve_streaming`] runs it
    /// with the connection lent to the handler.
    Streaming(Streaming),
}

/// A synchronous-I/O request, parsed and prepared, for [`serve_streaming`].
pub(crate) struct Streaming(Box<Pending>);

/// How many steps (a request head, a piece of body, a write) one drive makes before the
/// connection yields to the others of its event loop.
const TURN_BUDGET: u32 = 64;

/// Runs the HTTP/1 side of a connection until it must park, linger or close, or hands
/// over a synchronous-I/O request.
pub(crate) fn drive(l: &mut Link, s: &mut Http1, cx: &dyn Context) -> Drive {
    // The time parked counts against the data rates (the clock is read only then).
    match s.core.phase() {
        Phase::Body => s.core.waited(l.parked_at.elapsed()),
        Phase::Writing => {
            if let Some(o) = s.out.as_mut() {
                o.timer.add_wait(l.parked_at.elapsed());
            }
        }
        Phase::Idle | Phase::Head => {}
    }
    let mut h = H1 { l, s, cx };
    let mut turns = 0u32;
    loop {
        let step = match h.s.core.phase() {
            Phase::Idle | Phase::Head => h.step_head(),
            Phase::Body => h.step_body(),
            Phase::Writing => h.step_write(true),
        };
        match step {
            Step::Continue => {
                turns += 1;
                if turns >= TURN_BUDGET {
                    // A client that pipelines without end, or streams a body faster than
                    // it is read, gets its turn like the other connections of the event
                    // loop, not the worker. The time it waits for its next turn counts
                    // as waiting for the data rates, as time parked does.
                    let now = Instant::now();
                    h.l.parked_at = now;
                    h.l.deadline =
                        h.l.deadline
                            .max(now + cx.options().limits.keep_alive_timeout);
                    return Drive::Then(Outcome::Yield);
                }
                continue;
            }
            Step::Park => return Drive::Then(Outcome::Park),
            Step::Close => return Drive::Then(Outcome::Close),
            Step::Finish => {
                h.clear();
                return Drive::Then(Outcome::Close);
            }
            Step::Linger => {
                h.clear();
                return Drive::Then(Outcome::Linger);
            }
            Step::Streaming(p) => return Drive::Streaming(Streaming(p)),
            Step::Upgrade(p) => return Drive::Then(Outcome::Upgrade(p)),
        }
    }
}

/// Answers a request that cannot be served here with `status` and a short text body
/// (`Connection: close`); the connection then lingers, or closes when the answer could
/// not be written.
pub(crate) fn refuse(l: &mut Link, status: u16, body: &str, cx: &dyn Context) -> Outcome {
    let mut s = new_state(cx, Instant::now(), None);
    let mut h = H1 { l, s: &mut s, cx };
    match h.error_response(status, body) {
        Step::Linger => Outcome::Linger,
        _ => Outcome::Close,
    }
}

/// The HTTP/1 state of a new connection idle since `now` (`head_started`: the first bytes
/// of a head arrived then), under the server's limits.
pub(crate) fn new_state(cx: &dyn Context, now: Instant, head_started: Option<Instant>) -> Http1 {
    let options = cx.options();
    Http1::new(
        core::Config::new(&options.limits, options.allow_bare_lf),
        now,
        head_started,
    )
}

/// Runs the parked connection's deadline rules (see [`Http1`] and [`super::core`]).
pub(crate) fn on_expired(l: &mut Link, s: &mut Http1, cx: &dyn Context) -> Outcome {
    H1 { l, s, cx }.on_expired()
}

/// Serves a request whose handler opted into synchronous I/O: the body is streamed from
/// the connection as the handler reads it, and the response may be written by the
/// handler. Gives the connection back with what it does next (`Continue`: the next
/// request), or `None` when it is gone.
pub(crate) fn serve_streaming(
    l: Link,
    s: Http1,
    pending: Streaming,
    cx: &dyn Context,
) -> Option<(Link, Http1, Outcome)> {
    let Pending {
        parts,
        settings,
        meta,
        content_length,
        ..
    } = *pending.0;
    let control = parts
        .extensions
        .get::<RequestContext>()
        .map(|c| c.control.clone());
    let cell: Cell = Arc::new(Mutex::new(Some(Box::new(Lent { l, s }))));
    let body = Body {
        kind: Kind::Incoming(Box::new(Incoming::new(cell.clone(), content_length))),
        trailers: None,
    };
    let req = http::Request::from_parts(parts, body);
    let result = catch_unwind(AssertUnwindSafe(|| cx.handler().handle(req)));
    let take = |cell: &Cell| cell.lock().unwrap_or_else(|e| e.into_inner()).take();
    // What follows the handler, with the connection taken back from the cell; a
    // response written by the handler itself runs with the connection still there.
    let finish =
        |lent: Box<Lent>, f: &mut dyn FnMut(&mut H1<'_>) -> Outcome| finish_lent(lent, cx, f);
    let linger_or_close = |step: Step| match step {
        Step::Linger => Outcome::Linger,
        _ => Outcome::Close,
    };
    let resp = match result {
        Ok(r) => r,
        Err(p) => {
            let msg = exchange::panic_message(&p);
            return finish(take(&cell)?, &mut |h| {
                log::error!(
                    "Connection id \"{}\": handler panicked: {msg}; responding 500",
                    h.id()
                );
                linger_or_close(h.simple_error(500))
            });
        }
    };
    if control.as_ref().is_some_and(|c| c.is_aborted()) {
        return None;
    }
    let rate = control
        .and_then(|c| c.response_rate_override())
        .unwrap_or(settings.response_rate);
    // A request body error seen by the handler decides the response.
    let body_error = cell
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|c| c.s.core.body.as_ref().and_then(|b| b.error));
    if let Some(e) = body_error {
        return finish(take(&cell)?, &mut |h| linger_or_close(h.fail(e)));
    }
    if matches!(resp.body().kind, Kind::Writer(_) | Kind::Incoming(_)) {
        let (parts, body) = resp.into_parts();
        // The request body of this very connection echoed back is written as it is read,
        // with the length it declared, as a handler's writer would copy it.
        let (f, declared): (crate::body::WriteFn, _) = match body.kind {
            Kind::Writer(f) => (f, None),
            Kind::Incoming(mut i) => {
                let declared = i.content_length();
                let echo = move |w: &mut dyn std::io::Write| {
                    let mut buf = vec![0u8; READ_CHUNK];
                    loop {
                        let n = i.read(&mut buf)?;
                        if n == 0 {
                            return Ok(());
                        }
                        w.write_all(&buf[..n])?;
                    }
                };
                (Box::new(echo), declared)
            }
            _ => return None,
        };
        let (keep_alive, chunked, send) = {
            let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
            let lent = guard.as_mut()?;
            let Lent { l, s } = &mut **lent;
            H1 { l, s, cx }.begin_streamed(&parts, meta, declared)
        };
        let buffer = cx.options().limits.writer_buffer();
        let mut writer = CellWriter::new(cell.clone(), chunked, send, buffer, rate);
        let mut failure = None;
        let mut panicked = None;
        let ok = match catch_unwind(AssertUnwindSafe(|| f(&mut writer))) {
            Ok(Ok(())) => writer.finish().is_ok(),
            Ok(Err(e)) => {
                failure = Some(e);
                false
            }
            Err(p) => {
                panicked = Some(exchange::panic_message(&p));
                false
            }
        };
        let sent = writer.sent();
        let status = parts.status.as_u16();
        return finish(take(&cell)?, &mut |h| {
            let started = h.s.response_started;
            let body_error = h.s.core.body.as_ref().and_then(|b| b.error);
            if let Some(m) = &panicked {
                log::error!(
                    "Connection id \"{}\": the handler's response writer panicked: {m}",
                    h.id()
                );
            }
            if let Some(e) = &failure {
                if started && body_error.is_none() && e.kind() == std::io::ErrorKind::TimedOut {
                    // MinResponseDataRate: counted and logged as for any response.
                    h.log_slow_reader();
                } else {
                    // Before anything went out and not from the request body, the failure
                    // is the application's; else mostly a client gone or misbehaving.
                    let level = if started || body_error.is_some() {
                        log::Level::Debug
                    } else {
                        log::Level::Error
                    };
                    log::log!(
                        level,
                        "Connection id \"{}\": the response writer failed: {e}",
                        h.id()
                    );
                }
            }
            if !started {
                // Nothing went out: the request body's error or a 500 answers instead of
                // the handler's status (a panic was logged above).
                h.l.wbuf.clear();
                return linger_or_close(match body_error {
                    Some(e) => h.fail(e),
                    None => h.simple_error(500),
                });
            }
            h.cx.counters().response(status);
            if let Some(e) = h.s.alog.as_mut() {
                e.set_status(status);
            }
            h.log_done(sent);
            if ok && keep_alive && declared.is_none_or(|d| d == sent || !send) && h.drain_body() {
                h.next_request();
                return Outcome::Continue;
            }
            h.l.io.stream.shutdown_write();
            Outcome::Linger
        });
    }
    let mut resp = Some(resp);
    finish(take(&cell)?, &mut |h| {
        let Some(resp) = resp.take() else {
            return Outcome::Close;
        };
        match h.finish_response(resp, meta, &settings, rate) {
            Step::Continue => {
                if h.drain_body() {
                    h.next_request();
                    Outcome::Continue
                } else {
                    Outcome::Linger
                }
            }
            Step::Linger => Outcome::Linger,
            Step::Upgrade(p) => Outcome::Upgrade(p),
            _ => Outcome::Close,
        }
    })
}

/// Runs what follows a synchronous-I/O handler on the connection taken back from its cell,
/// and gives the connection back with the outcome.
fn finish_lent(
    mut lent: Box<Lent>,
    cx: &dyn Context,
    f: &mut dyn FnMut(&mut H1<'_>) -> Outcome,
) -> Option<(Link, Http1, Outcome)> {
    let Lent { l, s } = &mut *lent;
    let mut h = H1 { l, s, cx };
    let out = f(&mut h);
    if let Outcome::Linger = out {
        h.clear();
    }
    let Lent { l, s } = *lent;
    Some((l, s, out))
}

impl H1<'_> {
    /// Prepares the head of a response whose body the handler writes itself
    /// ([`crate::Body::from_writer`]) or echoes from the request (`declared`: its length):
    /// with that length, else chunked on HTTP/1.1 and closed by the end of the connection
    /// on HTTP/1.0. The head waits in the write buffer for the writer's first bytes (see
    /// [`CellWriter`]). Returns whether the connection stays open after it, whether the
    /// body is chunked, and whether it is sent at all (not for HEAD, 204 or 304).
    fn begin_streamed(
        &mut self,
        parts: &http::response::Parts,
        meta: Meta,
        declared: Option<u64>,
    ) -> (bool, bool, bool) {
        let has_body = exchange::status_has_body(parts.status);
        let framing = match declared {
            _ if !has_body => OutFraming::NoBody,
            Some(n) => OutFraming::Length(n),
            None if meta.is_head => OutFraming::NoBody,
            None if meta.version == Version::HTTP_11 => OutFraming::Chunked,
            None => OutFraming::Close,
        };
        let send = has_body && !meta.is_head;
        let keep_alive = framing != OutFraming::Close
            && meta.keep_alive
            && !self.cx.is_shutting_down()
            && !wants_close(&parts.headers);
        self.l.fresh_wbuf();
        encode_head(
            &mut self.l.wbuf,
            parts.status,
            &parts.headers,
            HeadOptions {
                framing,
                connection: if keep_alive {
                    (meta.version == Version::HTTP_10).then_some(true)
                } else {
                    Some(false)
                },
                server_header: self.cx.options().add_server_header,
            },
        );
        (keep_alive, framing == OutFraming::Chunked, send)
    }
}

/// The counter a refused request adds to, if any.
fn count_refusal(cx: &dyn Context, e: RequestError) {
    let r = match e {
        RequestError::HeadersTimeout => Refusal::HeadersTimeout,
        RequestError::BodyTimeout => Refusal::BodyTimeout,
        RequestError::BodyTooLarge => Refusal::BodyTooLarge,
        RequestError::RequestLineTooLong => Refusal::RequestLineTooLong,
        RequestError::HeadersTooLarge => Refusal::HeadersTooLarge,
        RequestError::TooManyHeaders => Refusal::TooManyHeaders,
        _ => return,
    };
    cx.counters().count_refusal(r);
}

/// Reads what is left of `f` onto the end of `buf` (as far as the file has bytes).
fn append_region(buf: &mut Vec<u8>, f: &mut crate::io::FileRegion) {
    let start = buf.len();
    buf.resize(start + f.remaining as usize, 0);
    let mut at = start;
    while at < buf.len() {
        match std::io::Read::read(f, &mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    buf.truncate(at);
}

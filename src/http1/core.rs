//! The HTTP/1.x connection core, without I/O: [`Connection`] takes the bytes a client
//! sent and the time (`now`, never read here), and answers with request heads, decoded
//! body bytes, refusals ([`RequestError`], whose status the driver answers), and the
//! deadline of whatever it waits for. It holds the phase of the connection (idle between
//! requests, a head arriving, a body arriving, a response being written), the
//! request-head timer, the body's framing, size limit and data rate, `100 Continue`, and
//! keep-alive across pipelined requests; every rule is unit-tested with byte literals on a
//! virtual clock. The driver ([`super::driver`]) reads the clock, moves the bytes and runs
//! the handler.
//!
//! | phase | waits for | deadline | when it passes |
//! |---|---|---|---|
//! | `Idle` | the next request | KeepAliveTimeout from the last response | close |
//! | `Head` | the rest of a head | RequestHeadersTimeout from its first byte (bytes do not extend it) | 408, linger |
//! | `Body` | body bytes (buffered) | what MinRequestBodyDataRate allows: the grace period, then time earned by bytes | 408, linger |
//! | `Writing` | room to write | what MinResponseDataRate allows, bytes still in the send buffer earning nothing | close |
//!
//! After an error response the connection lingers ([`LINGER`], at most [`LINGER_BYTES`]
//! read and discarded) so that the client reads the response rather than a reset; after a
//! streamed request the unread rest of the body is drained for up to
//! RequestBodyDrainTimeout.

use std::time::{Duration, Instant};

use super::body::{BodyDecoder, ChunkedLimits};
use super::error::RequestError;
use super::head::{parse_head, Framing, HeadLimits, RequestHead};
use crate::io::RateTimer;
use crate::limits::{Limits, MinDataRate};
use crate::pooled::{pooled, Pooled};

/// How long a connection closed after an error response keeps reading (and discarding)
/// what the client still sends, so that the client sees the response rather than a reset.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// The most bytes discarded while lingering.
pub(crate) const LINGER_BYTES: usize = 1024 * 1024;

/// Where an HTTP/1 connection is between and within requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between requests (or before the first): waits under KeepAliveTimeout.
    Idle,
    /// Part of a request head has arrived: waits under RequestHeadersTimeout.
    Head,
    /// The body of a request is being read (buffered mode): waits under the body rate.
    Body,
    /// A response is being written (buffered mode): waits for the client to read,
    /// under MinResponseDataRate.
    Writing,
}

/// What a passed deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Idle past KeepAliveTimeout: close quietly.
    KeepAlive,
    /// A request did not arrive in time: answer its status (408), then linger.
    Request(RequestError),
    /// The client read the response slower than MinResponseDataRate: close.
    ResponseRate,
}

/// What the deadline of a parked connection in `phase` means once it has passed.
pub(crate) fn expired(phase: Phase) -> Expired {
    match phase {
        Phase::Idle => Expired::KeepAlive,
        Phase::Head => Expired::Request(RequestError::HeadersTimeout),
        Phase::Body => Expired::Request(RequestError::BodyTimeout),
        Phase::Writing => Expired::ResponseRate,
    }
}

/// When an idle connection (after a response, or new) is closed.
pub(crate) fn keep_alive_deadline(now: Instant, limits: &Limits) -> Instant {
    now + limits.keep_alive_timeout
}

/// When a request head whose first byte arrived at `now` must be complete.
pub(crate) fn head_deadline(now: Instant, limits: &Limits) -> Instant {
    now + limits.request_headers_timeout
}

/// How long a connection with part of a head may wait for more: until the head's own
/// deadline, which bytes arriving one at a time do not move.
pub(crate) fn head_wait(now: Instant, head_deadline: Instant) -> Result<Instant, RequestError> {
    if now >= head_deadline {
        Err(RequestError::HeadersTimeout)
    } else {
        Ok(head_deadline)
    }
}

/// How long a buffered request body may wait for its next bytes: the time its data rate
/// allows (the grace period, then what the bytes so far have earned), or no limit.
pub(crate) fn body_wait(now: Instant, rate: &RateTimer) -> Result<Instant, RequestError> {
    match rate.allowance() {
        Some(a) if a.is_zero() => Err(RequestError::BodyTimeout),
        Some(a) => Ok(now + a),
        None => Ok(far(now)),
    }
}

/// How long a response may wait for the client to make room, with `queued` bytes still
/// in the socket's send buffer (written, not yet read: they earn no time). `None`: the
/// client is too slow, close.
pub(crate) fn write_wait(now: Instant, timer: &RateTimer, queued: u64) -> Option<Instant> {
    match timer.allowance_unconfirmed(queued) {
        Some(a) if a.is_zero() => None,
        Some(a) => Some(now + a),
        None => Some(far(now)),
    }
}

/// Until when the unread rest of a streamed request body is drained.
pub(crate) fn drain_deadline(now: Instant, drain_timeout: Duration) -> Instant {
    now + drain_timeout
}

/// When a connection that started lingering at `now` is closed.
pub(crate) fn linger_deadline(now: Instant) -> Instant {
    now + LINGER
}

/// Whether a lingering connection that has discarded `discarded` bytes may go on.
pub(crate) fn may_linger(discarded: usize) -> bool {
    discarded <= LINGER_BYTES
}

/// A deadline for a wait with no limit configured.
fn far(now: Instant) -> Instant {
    now + Duration::from_secs(365 * 24 * 3600)
}

/// Chunk extensions longer than this (per chunk) are refused.
const MAX_CHUNK_EXTENSION: usize = 4096;

/// What a connection's core needs of the server's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) head: HeadLimits,
    pub(crate) chunked: ChunkedLimits,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) request_headers_timeout: Duration,
}

impl Config {
    pub(crate) fn new(limits: &Limits, allow_bare_lf: bool) -> Config {
        Config {
            head: HeadLimits {
                max_request_line_size: limits.max_request_line_size,
                max_headers_total_size: limits.max_request_headers_total_size,
                max_header_count: limits.max_request_header_count,
                allow_bare_lf,
            },
            chunked: ChunkedLimits {
                max_chunk_extension_size: MAX_CHUNK_EXTENSION,
                max_trailers_size: limits.max_request_headers_total_size,
                max_trailer_count: limits.max_request_header_count,
            },
            keep_alive_timeout: limits.keep_alive_timeout,
            request_headers_timeout: limits.request_headers_timeout,
        }
    }
}

/// The body of the request being read.
#[derive(Debug)]
pub(crate) struct BodyIn {
    pub(crate) decoder: BodyDecoder,
    pub(crate) rate: RateTimer,
    /// MaxRequestBodySize of this request (the handler may change it before reading).
    pub(crate) max: Option<u64>,
    /// Payload bytes decoded so far.
    pub(crate) read: u64,
    /// A handler began reading it (synchronous I/O): its limits are fixed.
    pub(crate) started: bool,
    /// The client asked for `100 Continue` and has not had it.
    pub(crate) continue_pending: bool,
    /// MinResponseDataRate of this request, which the `100 Continue` is written under.
    pub(crate) response_rate: Option<MinDataRate>,
    pub(crate) trailers: Option<http::HeaderMap>,
    /// The error a streaming handler saw, which decides the response.
    pub(crate) error: Option<RequestError>,
}

pooled!(BodyIn);

/// How a request's body is to be read, decided once its head has been accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodySpec {
    pub(crate) framing: Framing,
    pub(crate) max: Option<u64>,
    pub(crate) rate: Option<MinDataRate>,
    pub(crate) response_rate: Option<MinDataRate>,
    pub(crate) expect_continue: bool,
}

/// The HTTP/1.x protocol state of one connection. Bytes in (`recv_head`, `recv_body`),
/// requests and body bytes out, time passed in; see the module docs.
#[derive(Debug)]
pub(crate) struct Connection {
    cfg: Config,
    phase: Phase,
    /// Idle: since when (KeepAliveTimeout counts from here).
    idle_since: Instant,
    /// Head: when the head that started arriving must be complete.
    head_deadline: Option<Instant>,
    /// The body of the current request, from its head's acceptance to the next request.
    /// Out of line (a recycled box): an idle connection holds none of it.
    pub(crate) body: Pooled<BodyIn>,
}

impl Connection {
    /// A connection waiting for its first request since `now`; `head_started` when the
    /// first bytes of a head already arrived then (the head timer runs from there).
    pub(crate) fn new(cfg: Config, now: Instant, head_started: Option<Instant>) -> Connection {
        Connection {
            cfg,
            phase: if head_started.is_some() {
                Phase::Head
            } else {
                Phase::Idle
            },
            idle_since: now,
            head_deadline: head_started.map(|t| t + cfg.request_headers_timeout),
            body: Pooled::none(),
        }
    }

    /// When the first byte of the head being read arrived (the access log's duration
    /// counts from there), derived from its deadline (no field of its own: the state of
    /// an idle connection stays as small); `now` when no head is being read, i.e. for a
    /// head that starts with the bytes at hand.
    pub(crate) fn head_started(&self, now: Instant) -> Instant {
        match (self.phase, self.head_deadline) {
            (Phase::Head, Some(d)) => d
                .checked_sub(self.cfg.request_headers_timeout)
                .unwrap_or(now),
            _ => now,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Parses the next request head from `input` (the bytes buffered so far). The first
    /// byte of a head starts RequestHeadersTimeout. `Ok(Some((head, n)))`: a head, `n`
    /// bytes consumed, and the connection now waits for the driver to accept it
    /// ([`begin_body`](Self::begin_body)); `Ok(None)`: more bytes are needed.
    pub(crate) fn recv_head(
        &mut self,
        input: &[u8],
        now: Instant,
    ) -> Result<Option<(RequestHead, usize)>, RequestError> {
        if input.is_empty() {
            return Ok(None);
        }
        if self.phase == Phase::Idle {
            self.phase = Phase::Head;
            self.head_deadline = Some(now + self.cfg.request_headers_timeout);
        }
        let parsed = parse_head(input, &self.cfg.head)?;
        if parsed.is_some() {
            self.head_deadline = None;
        }
        Ok(parsed)
    }

    /// Accepts a request's head: its body is read under `spec`.
    pub(crate) fn begin_body(&mut self, spec: BodySpec) {
        let content_length = match spec.framing {
            Framing::Length(n) => Some(n),
            Framing::None => Some(0),
            Framing::Chunked => None,
        };
        self.phase = Phase::Body;
        self.body.set(BodyIn {
            decoder: BodyDecoder::new(spec.framing, self.cfg.chunked),
            rate: RateTimer::new(spec.rate),
            max: spec.max,
            read: 0,
            started: false,
            continue_pending: spec.expect_continue && content_length != Some(0),
            response_rate: spec.response_rate,
            trailers: None,
            error: None,
        });
    }

    /// Whether a `100 Continue` is due now (once): the client asked for it and has sent
    /// no body byte yet (`body_buffered`: bytes past the head are already here, so it did
    /// not wait). Answers `Some(rate)` to write it under.
    pub(crate) fn take_continue(&mut self, body_buffered: bool) -> Option<Option<MinDataRate>> {
        let b = self.body.as_mut()?;
        if !b.continue_pending {
            return None;
        }
        b.continue_pending = false;
        (!body_buffered).then_some(b.response_rate)
    }

    /// Bytes that arrived for the body (they earn time under its data rate).
    pub(crate) fn received(&mut self, n: usize) {
        if let Some(b) = self.body.as_mut() {
            b.rate.add_bytes(n);
        }
    }

    /// Time spent waiting on the client: spends the body's data-rate allowance.
    pub(crate) fn waited(&mut self, d: Duration) {
        if let (Phase::Body, Some(b)) = (self.phase, self.body.as_mut()) {
            b.rate.add_wait(d);
        }
    }

    /// Decodes body bytes from `input` into `out`, at most `limit` payload bytes.
    /// Returns `(consumed, produced)`; the body's size limit answers 413.
    pub(crate) fn recv_body(
        &mut self,
        input: &[u8],
        out: &mut dyn FnMut(&[u8]),
        limit: usize,
    ) -> Result<(usize, usize), RequestError> {
        let Some(b) = self.body.as_mut() else {
            return Ok((0, 0));
        };
        let (mut used, mut total) = (0, 0);
        while !b.decoder.is_done() && total < limit && used < input.len() {
            let rest = &input[used..];
            let rest = &rest[..rest.len().min(limit - total).max(1)];
            let (consumed, payload) = b.decoder.decode(rest)?;
            if consumed == 0 {
                break;
            }
            let plen = payload.len();
            if plen > 0 {
                b.read += plen as u64;
                if b.max.is_some_and(|max| b.read > max) {
                    return Err(RequestError::BodyTooLarge);
                }
                out(payload);
                total += plen;
            }
            used += consumed;
        }
        if b.decoder.is_done() && b.trailers.is_none() {
            b.trailers = b.decoder.take_trailers();
        }
        Ok((used, total))
    }

    /// Whether the current request's body has been read to its end (or there is none).
    pub(crate) fn body_done(&self) -> bool {
        self.body.as_ref().is_none_or(|b| b.decoder.is_done())
    }

    /// The response is being written (buffered mode): waits are for the client to read.
    pub(crate) fn writing(&mut self) {
        self.phase = Phase::Writing;
    }

    /// The response is complete and the connection stays open: idle from `now` on,
    /// under KeepAliveTimeout (a pipelined request may already be buffered).
    pub(crate) fn response_done(&mut self, now: Instant) {
        self.phase = Phase::Idle;
        self.idle_since = now;
        self.head_deadline = None;
        self.body.clear();
    }

    /// Until when the connection may wait for the client in its phase (`Writing` is the
    /// response's own rate, which the driver keeps). `Err`: it has run out of time now.
    pub(crate) fn wait_deadline(&self, now: Instant) -> Result<Instant, RequestError> {
        match self.phase {
            Phase::Idle => Ok(self.idle_since + self.cfg.keep_alive_timeout),
            Phase::Head => head_wait(now, self.head_deadline.unwrap_or(now)),
            Phase::Body => match self.body.as_ref() {
                Some(b) => body_wait(now, &b.rate),
                None => Ok(far(now)),
            },
            Phase::Writing => Ok(far(now)),
        }
    }

    /// What a passed deadline means in the current phase.
    pub(crate) fn expired(&self) -> Expired {
        expired(self.phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MinDataRate;

    fn limits() -> Limits {
        Limits::default()
    }

    fn rate(bps: u64, grace_s: u64) -> Option<MinDataRate> {
        Some(MinDataRate {
            bytes_per_second: bps,
            grace_period: Duration::from_secs(grace_s),
        })
    }

    #[test]
    fn every_phase_has_its_timeout() {
        assert_eq!(expired(Phase::Idle), Expired::KeepAlive);
        assert_eq!(
            expired(Phase::Head),
            Expired::Request(RequestError::HeadersTimeout)
        );
        assert_eq!(
            expired(Phase::Body),
            Expired::Request(RequestError::BodyTimeout)
        );
        assert_eq!(expired(Phase::Writing), Expired::ResponseRate);
        assert_eq!(RequestError::HeadersTimeout.status(), 408);
        assert_eq!(RequestError::BodyTimeout.status(), 408);
    }

    #[test]
    fn keep_alive_timeout_counts_from_the_last_response() {
        let t0 = Instant::now();
        let l = limits();
        assert_eq!(l.keep_alive_timeout, Duration::from_secs(130));
        assert_eq!(keep_alive_deadline(t0, &l), t0 + Duration::from_secs(130));
        // A second response, a minute later, restarts it.
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(keep_alive_deadline(t1, &l), t1 + Duration::from_secs(130));
    }

    #[test]
    fn a_dripping_head_does_not_move_its_deadline() {
        let t0 = Instant::now();
        let l = limits();
        let hd = head_deadline(t0, &l);
        assert_eq!(hd, t0 + Duration::from_secs(30));
        // One byte every 5 ms: every wait ends at the same deadline.
        let mut now = t0;
        for _ in 0..1000 {
            now += Duration::from_millis(5);
            assert_eq!(head_wait(now, hd), Ok(hd));
        }
        // 30 s after the first byte the head has run out of time, drip or not.
        assert_eq!(
            head_wait(t0 + Duration::from_secs(30), hd),
            Err(RequestError::HeadersTimeout)
        );
        assert_eq!(
            head_wait(t0 + Duration::from_secs(31), hd),
            Err(RequestError::HeadersTimeout)
        );
    }

    #[test]
    fn body_rate_grace_then_earned_time() {
        let t0 = Instant::now();
        // Kestrel's default: 240 bytes/s after a 5 s grace period.
        let mut r = RateTimer::new(rate(240, 5));
        assert_eq!(body_wait(t0, &r), Ok(t0 + Duration::from_secs(5)));
        // 4 s pass with no byte: 1 s of grace is left.
        r.add_wait(Duration::from_secs(4));
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(1)));
        // 480 bytes earn 2 s of waiting in all: less than the grace period, no change.
        r.add_bytes(480);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(1)));
        // 2,400 bytes in all earn 10 s of waiting, 4 of them spent.
        r.add_bytes(1920);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(6)));
        // Waiting all of it ends the body with 408.
        r.add_wait(Duration::from_secs(6));
        assert_eq!(
            body_wait(t1 + Duration::from_secs(6), &r),
            Err(RequestError::BodyTimeout)
        );
    }

    #[test]
    fn no_body_rate_means_no_limit() {
        let t0 = Instant::now();
        let mut r = RateTimer::new(None);
        r.add_wait(Duration::from_secs(3600));
        let d = body_wait(t0, &r).expect("no limit");
        assert!(d > t0 + Duration::from_secs(300 * 24 * 3600));
    }

    #[test]
    fn response_rate_counts_only_bytes_the_client_took() {
        let t0 = Instant::now();
        let mut w = RateTimer::new(rate(240, 5));
        // 2,400 bytes written, all still in the send buffer: they earn nothing yet.
        w.add_bytes(2400);
        assert_eq!(write_wait(t0, &w, 2400), Some(t0 + Duration::from_secs(5)));
        // Once the client has taken them they earn 10 s of waiting in all.
        assert_eq!(write_wait(t0, &w, 0), Some(t0 + Duration::from_secs(10)));
        // A client that takes nothing for the whole allowance is cut off.
        w.add_wait(Duration::from_secs(5));
        assert_eq!(write_wait(t0 + Duration::from_secs(5), &w, 2400), None);
    }

    #[test]
    fn drain_and_linger_are_bounded() {
        let t0 = Instant::now();
        assert_eq!(
            drain_deadline(t0, Duration::from_secs(5)),
            t0 + Duration::from_secs(5)
        );
        assert_eq!(linger_deadline(t0), t0 + Duration::from_secs(2));
        assert!(may_linger(0));
        assert!(may_linger(LINGER_BYTES));
        assert!(!may_linger(LINGER_BYTES + 1));
    }

    fn cfg() -> Config {
        Config::new(&limits(), false)
    }

    fn collect(c: &mut Connection, input: &[u8]) -> (usize, Vec<u8>) {
        let mut v = Vec::new();
        let (n, _) = c
            .recv_body(input, &mut |p| v.extend_from_slice(p), usize::MAX)
            .expect("body");
        (n, v)
    }

    fn spec(framing: Framing) -> BodySpec {
        BodySpec {
            framing,
            max: Some(30_000_000),
            rate: rate(240, 5),
            response_rate: rate(240, 5),
            expect_continue: false,
        }
    }

    #[test]
    fn idle_connection_waits_under_keep_alive() {
        let t0 = Instant::now();
        let c = Connection::new(cfg(), t0, None);
        assert_eq!(c.phase(), Phase::Idle);
        let later = t0 + Duration::from_secs(100);
        assert_eq!(c.wait_deadline(later), Ok(t0 + Duration::from_secs(130)));
        assert_eq!(c.expired(), Expired::KeepAlive);
    }

    #[test]
    fn head_timer_starts_at_the_first_byte_and_drips_do_not_move_it() {
        let t0 = Instant::now();
        let mut c = Connection::new(cfg(), t0, None);
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let t1 = t0 + Duration::from_secs(50);
        // One byte at a time, 5 ms apart: never a head, always the same deadline.
        let mut now = t1;
        for n in 1..head.len() {
            assert!(c.recv_head(&head[..n], now).unwrap().is_none());
            assert_eq!(c.phase(), Phase::Head);
            assert_eq!(c.wait_deadline(now), Ok(t1 + Duration::from_secs(30)));
            now += Duration::from_millis(5);
        }
        assert_eq!(
            c.wait_deadline(t1 + Duration::from_secs(30)),
            Err(RequestError::HeadersTimeout)
        );
        assert_eq!(c.expired(), Expired::Request(RequestError::HeadersTimeout));
        // In time, the whole head parses.
        let (h, n) = c.recv_head(head, now).unwrap().expect("a head");
        assert_eq!(n, head.len());
        assert_eq!(h.method, http::Method::GET);
    }

    #[test]
    fn pipelined_requests_keep_alive_from_each_response() {
        let t0 = Instant::now();
        let mut c = Connection::new(cfg(), t0, None);
        let two = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
        let (h, n) = c.recv_head(two, t0).unwrap().unwrap();
        assert_eq!(h.target.path(), "/a");
        c.begin_body(spec(h.framing));
        assert!(c.body_done());
        let t1 = t0 + Duration::from_millis(3);
        c.response_done(t1);
        assert_eq!(c.wait_deadline(t1), Ok(t1 + Duration::from_secs(130)));
        let (h, m) = c.recv_head(&two[n..], t1).unwrap().unwrap();
        assert_eq!(h.target.path(), "/b");
        assert_eq!(n + m, two.len());
    }

    #[test]
    fn chunked_body_with_trailers_and_the_body_rate() {
        let t0 = Instant::now();
        let mut c = Connection::new(cfg(), t0, None);
        let head = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (h, _) = c.recv_head(head, t0).unwrap().unwrap();
        c.begin_body(spec(h.framing));
        assert_eq!(c.phase(), Phase::Body);
        // Grace period first.
        assert_eq!(c.wait_deadline(t0), Ok(t0 + Duration::from_secs(5)));
        let part = b"5\r\nhel";
        c.received(part.len());
        let (n, v) = collect(&mut c, part);
        assert_eq!((n, v.as_slice()), (part.len(), &b"hel"[..]));
        assert!(!c.body_done());
        // Parked 4 s waiting for more: 1 s of grace left.
        c.waited(Duration::from_secs(4));
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(c.wait_deadline(t1), Ok(t1 + Duration::from_secs(1)));
        let rest = b"lo\r\n0\r\nX-Sum: 1\r\n\r\n";
        let (n, v) = collect(&mut c, rest);
        assert_eq!((n, v.as_slice()), (rest.len(), &b"lo"[..]));
        assert!(c.body_done());
        let t = c.body.as_ref().and_then(|b| b.trailers.clone()).unwrap();
        assert_eq!(t.get("x-sum").unwrap(), "1");
        // Another second of silence would have ended it: 408.
        c.waited(Duration::from_secs(1));
        assert_eq!(
            c.wait_deadline(t1 + Duration::from_secs(1)),
            Err(RequestError::BodyTimeout)
        );
    }

    #[test]
    fn body_limit_answers_413() {
        let t0 = Instant::now();
        let mut c = Connection::new(cfg(), t0, None);
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (h, _) = c.recv_head(head, t0).unwrap().unwrap();
        c.begin_body(BodySpec {
            max: Some(4),
            ..spec(h.framing)
        });
        let r = c.recv_body(b"5\r\nhello\r\n", &mut |_| {}, usize::MAX);
        assert_eq!(r, Err(RequestError::BodyTooLarge));
        assert_eq!(RequestError::BodyTooLarge.status(), 413);
    }

    #[test]
    fn continue_only_when_the_client_waits() {
        let t0 = Instant::now();
        let head =
            b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        let mut c = Connection::new(cfg(), t0, None);
        let (h, _) = c.recv_head(head, t0).unwrap().unwrap();
        assert!(h.expect_continue);
        c.begin_body(BodySpec {
            expect_continue: h.expect_continue,
            ..spec(h.framing)
        });
        assert_eq!(c.take_continue(false), Some(rate(240, 5)));
        // Once only.
        assert_eq!(c.take_continue(false), None);
        // A client that sent its body at once did not wait: no 100.
        let mut c = Connection::new(cfg(), t0, None);
        let (h, _) = c.recv_head(head, t0).unwrap().unwrap();
        c.begin_body(BodySpec {
            expect_continue: h.expect_continue,
            ..spec(h.framing)
        });
        assert_eq!(c.take_continue(true), None);
    }

    #[test]
    fn a_connection_that_saw_part_of_a_head_before_keeps_its_timer() {
        // The first bytes arrived while HTTP/1 and HTTP/2 were still being told apart.
        let t0 = Instant::now();
        let c = Connection::new(cfg(), t0 + Duration::from_secs(1), Some(t0));
        assert_eq!(c.phase(), Phase::Head);
        assert_eq!(
            c.wait_deadline(t0 + Duration::from_secs(2)),
            Ok(t0 + Duration::from_secs(30))
        );
    }

    #[test]
    fn a_coding_besides_chunked_is_refused_with_501() {
        // RFC 9112 §6.1: we decode chunked only; `identity` is no longer a registered
        // coding either. The refusal (like every RequestError) closes the connection.
        let t0 = Instant::now();
        for head in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let mut c = Connection::new(cfg(), t0, None);
            let e = c.recv_head(head, t0).unwrap_err();
            assert_eq!(e, RequestError::UnknownTransferCoding);
            assert_eq!(e.status(), 501);
        }
        // chunked not final stays 400 (RFC 9112 §6.3 rule 4), as does chunked alone in
        // HTTP/1.0 or next to Content-Length.
        for head in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\nContent-Length: 1\r\n\r\n",
        ] {
            let mut c = Connection::new(cfg(), t0, None);
            assert_eq!(c.recv_head(head, t0).unwrap_err().status(), 400);
        }
    }

    #[test]
    fn http_1_2_is_served_as_http_1_1() {
        // RFC 9110 §6.2: a higher minor version is treated as the highest we implement.
        let t0 = Instant::now();
        let mut c = Connection::new(cfg(), t0, None);
        let two = b"POST /a HTTP/1.2\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                    1\r\nx\r\n0\r\n\r\nGET /b HTTP/1.9\r\nHost: a\r\n\r\n";
        let (h, n) = c.recv_head(two, t0).unwrap().unwrap();
        assert_eq!(h.version, http::Version::HTTP_11);
        assert!(h.keep_alive);
        assert_eq!(h.framing, Framing::Chunked);
        c.begin_body(spec(h.framing));
        let (m, body) = collect(&mut c, &two[n..]);
        assert_eq!(body, b"x");
        assert!(c.body_done());
        c.response_done(t0);
        let (h, k) = c.recv_head(&two[n + m..], t0).unwrap().unwrap();
        assert_eq!(h.target.path(), "/b");
        assert_eq!(h.version, http::Version::HTTP_11);
        assert_eq!(n + m + k, two.len());
        // HTTP/2.0 in an HTTP/1 request line stays 505.
        let mut c = Connection::new(cfg(), t0, None);
        let e = c
            .recv_head(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", t0)
            .unwrap_err();
        assert_eq!(e.status(), 505);
    }
}

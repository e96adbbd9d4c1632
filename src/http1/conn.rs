//! The HTTP/1.1 connection driver: request → handler → response → keep-alive or close,
//! run by a worker until the connection has nothing to read, then parked in the poller.
//!
//! A connection moves through [`Phase`]s. Each call to [`drive`] runs it as far as the
//! bytes at hand allow and answers [`Next`]: park (its event loop waits for bytes, room to
//! write, or the phase's deadline) or close. A read or write that would block parks the
//! connection at once, with its partial buffer and its deadline, so a slow or dripping
//! client costs a worker only the time to process the bytes it sent. Only a handler that
//! opted into synchronous I/O makes a worker wait on a socket (see
//! [`crate::io::deadline`]), and then the minimum data rates cut a slow client off.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, StatusCode, Version};

use super::body::{BodyDecoder, ChunkedLimits};
use super::encode::{
    chunk_line, encode_error, encode_head, wants_close, Framing as OutFraming, HeadOptions,
};
use super::error::RequestError;
use super::head::{parse_head, Framing, HeadLimits, RequestHead};
use super::host::host_allowed;
use super::stream::{CellWriter, Incoming};
use crate::body::{Body, Kind};
use crate::handler::Response;
use crate::io::{DeadlineIo, IoFail, RateTimer};
use crate::request::{
    Address, ConnectionInfo, Prepare, RequestContext, RequestControl, RequestSettings,
};
use crate::server::stats::ConnGuard;
use crate::server::Shared;
use crate::upgrade::{Upgradable, Upgraded};

/// How long a connection closed after an error response keeps reading (and discarding)
/// what the client still sends, so that the client sees the response rather than a reset.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// The most bytes discarded while lingering.
pub(crate) const LINGER_BYTES: usize = 1024 * 1024;
/// Size of the read buffer a connection starts with.
const INITIAL_READ_BUFFER: usize = 4096;
/// Chunk extensions longer than this (per chunk) are refused.
const MAX_CHUNK_EXTENSION: usize = 4096;
/// A far deadline for waits with no limit configured.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Per-endpoint settings a connection needs.
#[derive(Debug)]
pub(crate) struct EndpointCtx {
    pub(crate) name: Arc<str>,
    /// Connections open and accepted on this endpoint.
    pub(crate) counters: Arc<crate::server::stats::EndpointCounters>,
    /// The TLS setup of an HTTPS endpoint.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<crate::tls::endpoint::TlsEndpoint>>,
    /// The URL the endpoint listens on (`https://127.0.0.1:5001`).
    pub(crate) url: String,
    /// HTTP versions the endpoint speaks.
    pub(crate) protocols: crate::options::Protocols,
    pub(crate) synchronous_io: bool,
    pub(crate) connection_logging: bool,
}

/// Where a connection is in its life.
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
    /// The TLS handshake is running: waits under the endpoint's HandshakeTimeout.
    Handshake,
    /// The connection speaks HTTP/2 (`h2` below holds its state).
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    Http2,
    /// An error response was sent; discarding input until the client closes.
    Lingering,
}

/// What the worker does with the connection next.
pub(crate) enum Next {
    /// Hand it to the poller until bytes arrive or `conn.deadline` passes.
    Park(Box<Conn>),
    /// Drop it (closing the socket).
    Close,
}

/// What the first bytes of a cleartext connection are.
enum Preface {
    /// HTTP/1.x (or HTTP/2 is not offered here).
    No,
    /// A prefix of the HTTP/2 preface: more bytes decide.
    Partial,
    /// The HTTP/2 preface: the connection now speaks HTTP/2.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    Http2,
    /// HTTP/1.x on an HTTP/2-only endpoint.
    Refused,
}

enum Step {
    Continue,
    Park,
    Close,
    Linger,
    Streaming(Box<Pending>),
    Upgrade(crate::upgrade::Pending),
}

/// A growable read buffer with a consumed prefix, reused across requests.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// Buffers of idle connections, kept per thread for the next connection that has bytes
/// to read or a response to write: an idle keep-alive connection holds neither a read
/// nor a write buffer, and a busy one takes them without a heap allocation.
mod pool {
    use std::cell::RefCell;

    /// The most buffers of each kind kept per thread (128 KiB of read buffers).
    const KEEP: usize = 32;

    thread_local! {
        static READ: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
        static WRITE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A zeroed read buffer of `size` bytes.
    pub(super) fn take_read(size: usize) -> Vec<u8> {
        READ.with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| vec![0; size])
    }

    /// Gives back a read buffer (kept only if it has the initial size).
    pub(super) fn give_read(v: Vec<u8>, size: usize) {
        if v.len() == size {
            READ.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < KEEP {
                    p.push(v);
                }
            });
        }
    }

    /// An empty write buffer.
    pub(super) fn take_write() -> Vec<u8> {
        WRITE
            .with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(256))
    }

    /// Gives back a write buffer (kept only if it is small).
    pub(super) fn give_write(mut v: Vec<u8>, max: usize) {
        if v.capacity() > 0 && v.capacity() <= max {
            v.clear();
            WRITE.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < KEEP {
                    p.push(v);
                }
            });
        }
    }
}

impl ReadBuf {
    /// An empty buffer holding no memory until bytes arrive.
    fn new() -> Self {
        ReadBuf {
            data: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space to read into, growing the buffer up to `cap` bytes; empty when full.
    pub(crate) fn spare(&mut self, cap: usize) -> &mut [u8] {
        if self.data.is_empty() {
            self.data = pool::take_read(INITIAL_READ_BUFFER);
        }
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.data.len() && self.data.len() < cap {
            let new = (self.data.len() * 2).min(cap);
            self.data.resize(new, 0);
        }
        &mut self.data[self.end..]
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Gives the memory back while the connection is idle (to this thread's pool).
    fn release(&mut self) {
        if self.is_empty() {
            pool::give_read(std::mem::take(&mut self.data), INITIAL_READ_BUFFER);
        }
    }

    fn take_rest(&mut self) -> Vec<u8> {
        let v = self.bytes().to_vec();
        self.consume(v.len());
        v
    }
}

/// Reading state of the current request's body.
#[derive(Debug)]
pub(crate) struct BodyState {
    pub(crate) decoder: BodyDecoder,
    pub(crate) rate: RateTimer,
    pub(crate) max: Option<u64>,
    pub(crate) read: u64,
    pub(crate) started: bool,
    pub(crate) continue_pending: bool,
    /// MinResponseDataRate of this request, which the `100 Continue` is written under.
    pub(crate) response_rate: Option<crate::MinDataRate>,
    pub(crate) trailers: Option<http::HeaderMap>,
    pub(crate) error: Option<RequestError>,
}

/// What the driver remembers of a request while its body is read and its handler runs.
#[derive(Debug, Clone, Copy)]
struct Meta {
    version: Version,
    is_head: bool,
    keep_alive: bool,
    upgrade: bool,
    /// The client sent `TE: trailers`: response trailers may be sent (chunked).
    te_trailers: bool,
}

/// A request whose head is parsed and whose body is being read (buffered mode).
pub(crate) struct Pending {
    parts: http::request::Parts,
    settings: RequestSettings,
    meta: Meta,
    data: Vec<u8>,
    content_length: Option<u64>,
}

/// Where the bytes of a response body come from while it is written.
enum OutBody {
    None,
    Bytes(std::borrow::Cow<'static, [u8]>, usize),
    Reader(Box<dyn io::Read + Send>),
    /// A file region sent by the kernel (sendfile(2)) on a plain socket.
    File(crate::body::FileRegion),
}

/// A response being written without holding a worker: the head (and, for reader bodies,
/// the next chunk) staged in `wbuf`, the rest still in `body`.
struct Outgoing {
    staged: usize,
    body: OutBody,
    framing: OutFraming,
    timer: RateTimer,
    keep_alive: bool,
    declared: Option<u64>,
    taken: u64,
    source_done: bool,
    /// Trailer fields written after the last chunk.
    trailers: Option<Box<http::HeaderMap>>,
}

/// Reader bodies are staged this many bytes at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One HTTP/1.x connection.
pub(crate) struct Conn {
    pub(crate) io: DeadlineIo,
    pub(crate) buf: ReadBuf,
    wbuf: Vec<u8>,
    pub(crate) phase: Phase,
    /// When the poller gives up waiting on this connection.
    pub(crate) deadline: Instant,
    /// The event loop (shard) the connection belongs to for life.
    pub(crate) shard: usize,
    /// The socket's registration in its shard's epoll set, from its first park on.
    pub(crate) reg: Option<crate::server::event_loop::Registration>,
    parked_at: Instant,
    head_deadline: Option<Instant>,
    pub(crate) info: ConnectionInfo,
    endpoint: Arc<EndpointCtx>,
    guard: Option<ConnGuard>,
    pending: Option<Pending>,
    pub(crate) body: Option<BodyState>,
    pub(crate) lingered: usize,
    /// Whether the response head of the current request has been written.
    pub(crate) response_started: bool,
    pub(crate) cap: usize,
    /// The per-connection request control, advanced to a new generation per request.
    control: RequestControl,
    out: Option<Outgoing>,
    /// During the handshake: whether it waits for the socket to take our bytes.
    handshake_wants_write: bool,
    /// No request has been read on the connection yet (an HTTP/2 preface may come).
    first_request: bool,
    /// The HTTP/2 state, once the connection speaks HTTP/2.
    #[cfg(feature = "http2")]
    pub(crate) h2: Option<Box<crate::http2::driver::H2>>,
}

impl Conn {
    pub(crate) fn new(
        io: DeadlineIo,
        info: ConnectionInfo,
        endpoint: Arc<EndpointCtx>,
        guard: ConnGuard,
        shared: &Shared,
    ) -> Box<Conn> {
        let now = Instant::now();
        Box::new(Conn {
            io,
            buf: ReadBuf::new(),
            wbuf: Vec::new(),
            phase: Phase::Idle,
            deadline: now + shared.options.limits.keep_alive_timeout,
            shard: shared.poller.assign(),
            reg: None,
            parked_at: now,
            head_deadline: None,
            info,
            endpoint,
            guard: Some(guard),
            pending: None,
            body: None,
            lingered: 0,
            response_started: false,
            cap: shared.options.limits.read_buffer_cap(),
            control: RequestControl::default(),
            out: None,
            handshake_wants_write: false,
            first_request: true,
            #[cfg(feature = "http2")]
            h2: None,
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.info.id()
    }

    /// Empties the write buffer for a response head, taking one from the thread's pool
    /// when the connection (idle until now) holds none.
    fn fresh_wbuf(&mut self) {
        if self.wbuf.capacity() == 0 {
            self.wbuf = pool::take_write();
        } else {
            self.wbuf.clear();
        }
    }

    /// Called by the poller when `deadline` passed while the connection was parked.
    /// Returns the connection if it must stay parked (lingering after a 408).
    pub(crate) fn on_expired(mut self: Box<Self>, shared: &Shared) -> Option<Box<Conn>> {
        match self.phase {
            Phase::Idle => {
                log::debug!(
                    "Connection id \"{}\" keep-alive timeout; closing",
                    self.id()
                );
                shared
                    .counters
                    .timeouts
                    .keep_alive
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                None
            }
            Phase::Head | Phase::Body => {
                let e = if self.phase == Phase::Head {
                    RequestError::HeadersTimeout
                } else {
                    RequestError::BodyTimeout
                };
                log::info!(
                    "Connection id \"{}\" bad request: {} ({})",
                    self.id(),
                    e.reason(),
                    e.status()
                );
                shared.counters.count_error(e);
                shared.counters.response(e.status());
                self.fresh_wbuf();
                encode_error(
                    &mut self.wbuf,
                    e.status(),
                    "",
                    shared.options.add_server_header,
                );
                let mut off = 0;
                while off < self.wbuf.len() {
                    let n = {
                        let (io, wbuf) = (&mut self.io, &self.wbuf);
                        io.write_nowait(&wbuf[off..])
                    };
                    if n == 0 {
                        break;
                    }
                    off += n;
                }
                self.begin_linger();
                Some(self)
            }
            Phase::Writing => {
                self.log_slow_reader(shared);
                None
            }
            Phase::Lingering => None,
            #[cfg(feature = "http2")]
            Phase::Http2 => crate::http2::driver::on_expired(self, shared),
            #[cfg(not(feature = "http2"))]
            Phase::Http2 => None,
            Phase::Handshake => {
                log::info!(
                    "Connection id \"{}\" TLS handshake timed out; closing",
                    self.id()
                );
                shared
                    .counters
                    .timeouts
                    .handshake
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                None
            }
        }
    }

    /// Starts the connection in the TLS handshake, which must finish within `timeout`.
    #[cfg(feature = "tls")]
    pub(crate) fn begin_handshake(&mut self, timeout: Duration) {
        self.phase = Phase::Handshake;
        self.deadline = Instant::now() + timeout;
    }

    /// Runs the TLS handshake as far as the client's bytes allow.
    #[cfg(feature = "tls")]
    fn step_handshake(&mut self, shared: &Shared) -> Step {
        use crate::io::tls::Handshake;
        let Some(tls) = self.endpoint.tls.clone() else {
            return Step::Close;
        };
        #[allow(clippy::never_loop)] // every arm returns: one handshake step per drive
        loop {
            let crate::io::Transport::Tls(t) = &mut self.io.stream else {
                return Step::Close;
            };
            let r = t.handshake(&|acc: &rustls::server::Accepted| {
                let name = acc.client_hello().server_name().map(str::to_string);
                let cfg = tls
                    .select(name.as_deref())
                    .map(|c| c.pick(acc.client_hello().cipher_suites()));
                if cfg.is_none() {
                    log::info!(
                        "Connection id \"{}\" refused: no certificate is configured for server \
                         name {name:?}",
                        self.info.id()
                    );
                }
                cfg
            });
            match r {
                Ok(Handshake::Done) => return self.handshake_done(&tls, shared),
                Ok(want) => {
                    // The socket has nothing more (or no room): park at once, under the
                    // handshake deadline (past it, the timer thread expires it at once).
                    self.handshake_wants_write = want == Handshake::WantWrite;
                    return Step::Park;
                }
                Err(e) => {
                    log::debug!("Connection id \"{}\" TLS handshake failed: {e}", self.id());
                    shared
                        .counters
                        .handshake_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Step::Close;
                }
            }
        }
    }

    /// Records what the handshake negotiated, lets the endpoint's filter refuse it, and
    /// moves on to the first request.
    #[cfg(feature = "tls")]
    fn handshake_done(&mut self, tls: &crate::tls::endpoint::TlsEndpoint, shared: &Shared) -> Step {
        use crate::tls::{TlsInfo, TlsVersion};
        let crate::io::Transport::Tls(t) = &self.io.stream else {
            return Step::Close;
        };
        let Some(c) = t.connection() else {
            return Step::Close;
        };
        let info = TlsInfo {
            version: if c.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
                TlsVersion::Tls13
            } else {
                TlsVersion::Tls12
            },
            cipher_suite: c
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            alpn: c
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            server_name: c.server_name().map(str::to_string),
            client_certificates: c
                .peer_certificates()
                .map(|v| v.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        };
        log::debug!(
            "Connection id \"{}\" TLS handshake completed: {} {} ALPN {:?} SNI {:?} client \
             certificate {}",
            self.id(),
            info.version,
            info.cipher_suite,
            info.alpn,
            info.server_name,
            !info.client_certificates.is_empty()
        );
        if let Some(filter) = &tls.filter {
            if let Err(reason) = filter(&info, &self.info) {
                log::info!(
                    "Connection id \"{}\" refused by the TLS filter: {reason}",
                    self.id()
                );
                self.io.stream.shutdown_write();
                return Step::Close;
            }
        }
        let h2 = info.alpn.as_deref() == Some("h2");
        self.info.set_tls(info);
        self.phase = Phase::Idle;
        self.deadline = Instant::now() + shared.options.limits.keep_alive_timeout;
        if h2 {
            #[cfg(feature = "http2")]
            crate::http2::driver::start(self, shared);
        } else if self.endpoint.protocols == crate::options::Protocols::Http2 {
            log::error!(
                "Connection id \"{}\" refused: the endpoint speaks HTTP/2 only and the client \
                 did not negotiate h2 through ALPN",
                self.id()
            );
            self.io.stream.shutdown_write();
            return Step::Close;
        }
        Step::Continue
    }

    /// Whether the poller should wait for the socket to become writable (not readable).
    pub(crate) fn wants_write(&self) -> bool {
        #[cfg(feature = "http2")]
        if self.phase == Phase::Http2 {
            return self.h2.as_ref().is_some_and(|h| h.write_blocked);
        }
        self.phase == Phase::Writing
            || (self.phase == Phase::Handshake && self.handshake_wants_write)
    }

    /// The mailbox of an HTTP/2 connection (finished handlers' responses).
    #[cfg(feature = "http2")]
    pub(crate) fn h2_mailbox(&self) -> Option<Arc<crate::http2::driver::Mailbox>> {
        self.h2.as_ref().map(|h| h.mailbox.clone())
    }

    fn begin_linger(&mut self) {
        self.io.stream.shutdown_write();
        self.phase = Phase::Lingering;
        self.pending = None;
        self.body = None;
        self.out = None;
        self.deadline = Instant::now() + LINGER;
    }

    /// Whether an idle connection with nothing buffered (safe to close at shutdown).
    pub(crate) fn is_idle(&self) -> bool {
        #[cfg(feature = "http2")]
        if self.phase == Phase::Http2 {
            return self.h2.as_ref().is_none_or(|h| h.is_idle());
        }
        (self.phase == Phase::Idle || self.phase == Phase::Handshake) && self.buf.is_empty()
    }

    fn head_limits(shared: &Shared) -> HeadLimits {
        let l = &shared.options.limits;
        HeadLimits {
            max_request_line_size: l.max_request_line_size,
            max_headers_total_size: l.max_request_headers_total_size,
            max_header_count: l.max_request_header_count,
            allow_bare_lf: shared.options.allow_bare_lf,
        }
    }

    fn fail(&mut self, e: RequestError, shared: &Shared) -> Step {
        shared.counters.count_error(e);
        match e {
            RequestError::HeadersTimeout
            | RequestError::BodyTimeout
            | RequestError::BodyTooLarge
            | RequestError::RequestLineTooLong
            | RequestError::HeadersTooLarge
            | RequestError::TooManyHeaders
            | RequestError::HostNotAllowed => log::info!(
                "Connection id \"{}\" bad request: {} ({})",
                self.id(),
                e.reason(),
                e.status()
            ),
            _ => log::debug!(
                "Connection id \"{}\" bad request: {} ({})",
                self.id(),
                e.reason(),
                e.status()
            ),
        }
        let body = if e == RequestError::TlsOnPlaintext {
            e.reason()
        } else {
            ""
        };
        self.error_response(e.status(), body, shared)
    }

    /// Parses (and reads, if needed) the next request head.
    fn step_head(&mut self, shared: &Shared) -> Step {
        let limits = Self::head_limits(shared);
        loop {
            if !self.buf.is_empty() {
                if self.phase == Phase::Idle {
                    self.phase = Phase::Head;
                    self.head_deadline =
                        Some(Instant::now() + shared.options.limits.request_headers_timeout);
                }
                let parse = match self.check_preface(shared) {
                    Preface::No => true,
                    // A prefix of the HTTP/2 preface: the next bytes decide, read on.
                    Preface::Partial => false,
                    Preface::Http2 => return Step::Continue,
                    Preface::Refused => {
                        log::debug!(
                            "Connection id \"{}\" sent HTTP/1.x to an HTTP/2-only endpoint",
                            self.id()
                        );
                        return self.error_response(
                            400,
                            "This endpoint speaks HTTP/2 only (Protocols: Http2); use HTTP/2 \
                             with prior knowledge",
                            shared,
                        );
                    }
                };
                if parse {
                    match parse_head(self.buf.bytes(), &limits) {
                        Err(e) => return self.fail(e, shared),
                        Ok(Some((head, n))) => {
                            self.buf.consume(n);
                            return self.start_request(head, shared);
                        }
                        Ok(None) => {}
                    }
                }
            }
            let cap = self.cap;
            let spare = self.buf.spare(cap);
            if spare.is_empty() {
                return self.fail(RequestError::HeadersTooLarge, shared);
            }
            match self.io.try_read(spare) {
                Err(_) => return Step::Close,
                Ok(Some(0)) => {
                    if self.phase == Phase::Head {
                        log::debug!(
                            "Connection id \"{}\" closed by the client with a partial request head",
                            self.id()
                        );
                    }
                    return Step::Close;
                }
                Ok(Some(n)) => self.buf.advance(n),
                Ok(None) => {
                    let now = Instant::now();
                    if self.phase == Phase::Idle {
                        if shared.is_shutting_down() {
                            return Step::Close;
                        }
                        // Park at once: the worker then waits on the whole epoll set,
                        // so whichever connection speaks next, this one included, is
                        // served without a hand-off to another thread.
                        // An idle connection holds no buffer: both go back to this
                        // thread's pool (a write buffer that held a reader body's chunk
                        // is freed instead).
                        self.buf.release();
                        pool::give_write(std::mem::take(&mut self.wbuf), INITIAL_READ_BUFFER);
                        return Step::Park;
                    }
                    // Part of a head: park with it at once (the worker serves others
                    // meanwhile), under RequestHeadersTimeout.
                    let hd = self.head_deadline.unwrap_or(now);
                    if now >= hd {
                        return self.fail(RequestError::HeadersTimeout, shared);
                    }
                    self.deadline = hd;
                    return Step::Park;
                }
            }
        }
    }

    /// On a cleartext connection's first bytes: is this HTTP/2 with prior knowledge (the
    /// client preface), and may the endpoint speak it? Switches the connection when so.
    fn check_preface(&mut self, shared: &Shared) -> Preface {
        use crate::options::Protocols;
        const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        if !self.first_request || self.info.is_tls() {
            return Preface::No;
        }
        let protocols = self.endpoint.protocols;
        let b = self.buf.bytes();
        let n = b.len().min(PREFACE.len());
        let matches = b[..n] == PREFACE[..n];
        match (matches, protocols) {
            (_, Protocols::Http1) => Preface::No,
            (false, Protocols::Http2) => Preface::Refused,
            (false, _) => Preface::No,
            (true, _) if n < PREFACE.len() => Preface::Partial,
            (true, _) => {
                #[cfg(feature = "http2")]
                {
                    self.head_deadline = None;
                    crate::http2::driver::start(self, shared);
                    Preface::Http2
                }
                #[cfg(not(feature = "http2"))]
                {
                    let _ = shared;
                    Preface::No
                }
            }
        }
    }

    /// Validates the head against server policy, builds the request, lets the handler
    /// prepare it, and sets up the body.
    fn start_request(&mut self, head: RequestHead, shared: &Shared) -> Step {
        self.first_request = false;
        self.head_deadline = None;
        self.response_started = false;
        shared.counters.request(head.version);
        let allowed = &shared.options.allowed_hosts;
        if !allowed.is_empty() {
            match &head.host {
                Some(h) if std::str::from_utf8(h).is_ok_and(|h| host_allowed(h, allowed)) => {}
                _ => return self.fail(RequestError::HostNotAllowed, shared),
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
        self.control = self.control.next();
        parts.extensions.insert(RequestContext {
            info: self.info.clone(),
            control: self.control.clone(),
        });
        // Trusted-proxy X-Forwarded-* (off by default). "http": TLS connections pass "https".
        let fwd = &shared.options.forwarded_headers;
        if let Some(f) = crate::forwarded::apply(
            fwd,
            self.info.remote_addr(),
            if self.info.is_tls() { "https" } else { "http" },
            &mut parts.headers,
        ) {
            parts.extensions.insert(f);
        }
        if head.upgrade {
            parts.extensions.insert(Upgradable {
                counters: shared.counters.clone(),
                limit: shared.options.limits.max_concurrent_upgraded_connections,
            });
        }
        let limits = &shared.options.limits;
        let mut settings = RequestSettings {
            max_body_size: if head.upgrade {
                None
            } else {
                limits.max_request_body_size
            },
            body_rate: limits.min_request_body_data_rate,
            response_rate: limits.min_response_data_rate,
            synchronous_io: self.endpoint.synchronous_io,
        };
        let prepared = catch_unwind(AssertUnwindSafe(|| {
            shared.handler.prepare(&mut Prepare {
                parts: &parts,
                settings: &mut settings,
            })
        }));
        if prepared.is_err() {
            log::error!(
                "Connection id \"{}\": handler panicked in prepare; responding 500",
                self.id()
            );
            return self.simple_error(500, shared);
        }
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
                return self.fail(RequestError::BodyTooLarge, shared);
            }
        }
        self.body = Some(BodyState {
            decoder: BodyDecoder::new(
                head.framing,
                ChunkedLimits {
                    max_chunk_extension_size: MAX_CHUNK_EXTENSION,
                    max_trailers_size: limits.max_request_headers_total_size,
                    max_trailer_count: limits.max_request_header_count,
                },
            ),
            rate: RateTimer::new(settings.body_rate),
            max: settings.max_body_size,
            read: 0,
            started: false,
            continue_pending: head.expect_continue && content_length != Some(0),
            response_rate: settings.response_rate,
            trailers: None,
            error: None,
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
        self.pending = Some(pending);
        self.phase = Phase::Body;
        Step::Continue
    }

    /// Sends `100 Continue` if the client asked for it and the body has not started.
    pub(crate) fn send_continue_if_pending(&mut self) -> Result<(), IoFail> {
        let pending = match &mut self.body {
            Some(b) if b.continue_pending => {
                b.continue_pending = false;
                // A client that already sent body bytes did not wait for us.
                self.buf.is_empty().then_some(b.response_rate)
            }
            _ => None,
        };
        if let Some(rate) = pending {
            let mut t = RateTimer::new(rate);
            self.io
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n", &mut t)?;
        }
        Ok(())
    }

    /// Decodes buffered body bytes into `out` (at most `limit` payload bytes). Returns the
    /// number of payload bytes added; 0 with the body not done means more input is needed.
    pub(crate) fn decode_buffered(
        &mut self,
        out: &mut dyn FnMut(&[u8]),
        limit: usize,
    ) -> Result<usize, RequestError> {
        let Some(b) = self.body.as_mut() else {
            return Ok(0);
        };
        let mut total = 0;
        while !b.decoder.is_done() && total < limit && !self.buf.is_empty() {
            let input = self.buf.bytes();
            let input = &input[..input.len().min(limit - total).max(1)];
            let (consumed, payload) = b.decoder.decode(input)?;
            if consumed == 0 {
                break;
            }
            let plen = payload.len();
            if plen > 0 {
                b.read += plen as u64;
                if let Some(max) = b.max {
                    if b.read > max {
                        return Err(RequestError::BodyTooLarge);
                    }
                }
                out(payload);
                total += plen;
            }
            self.buf.consume(consumed);
        }
        if b.decoder.is_done() && b.trailers.is_none() {
            b.trailers = b.decoder.take_trailers();
        }
        Ok(total)
    }

    pub(crate) fn body_done(&self) -> bool {
        self.body.as_ref().is_none_or(|b| b.decoder.is_done())
    }

    /// Reads into the buffer once, without waiting. `Ok(false)`: nothing available.
    fn fill_nowait(&mut self) -> Result<bool, IoFail> {
        let cap = self.cap;
        let spare = self.buf.spare(cap);
        if spare.is_empty() {
            return Ok(true);
        }
        match self.io.try_read(spare)? {
            Some(0) => Err(IoFail::Closed),
            Some(n) => {
                self.buf.advance(n);
                if let Some(b) = &mut self.body {
                    b.rate.add_bytes(n);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads into the buffer, waiting under the body's data rate (and `until`).
    pub(crate) fn fill_blocking(&mut self, until: Instant) -> Result<(), IoFail> {
        let cap = self.cap;
        let spare = self.buf.spare(cap);
        if spare.is_empty() {
            return Ok(());
        }
        let rate = self.body.as_mut().map(|b| &mut b.rate);
        let n = self.io.read_until(spare, until, rate)?;
        if n == 0 {
            return Err(IoFail::Closed);
        }
        self.buf.advance(n);
        Ok(())
    }

    /// Reads the body of the pending request in buffered mode, parking when the client
    /// is slow.
    fn step_body(&mut self, shared: &Shared) -> Step {
        loop {
            if let Err(e) = self.send_continue_if_pending() {
                log::debug!("Connection id \"{}\": write failed: {e:?}", self.id());
                return Step::Close;
            }
            let mut pending = match self.pending.take() {
                Some(p) => p,
                None => return Step::Close,
            };
            let r = self.decode_buffered(&mut |p| pending.data.extend_from_slice(p), usize::MAX);
            if let Err(e) = r {
                return self.fail(e, shared);
            }
            if self.body_done() {
                return self.respond_buffered(pending, shared);
            }
            self.pending = Some(pending);
            match self.fill_nowait() {
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
            let allowance = self.body.as_ref().and_then(|b| b.rate.allowance());
            if allowance == Some(Duration::ZERO) {
                return self.fail(RequestError::BodyTimeout, shared);
            }
            // Nothing more now: park at once, for as long as the data rate allows.
            let now = Instant::now();
            self.deadline = match allowance {
                Some(a) => now + a,
                None => now + FOREVER,
            };
            self.parked_at = now;
            return Step::Park;
        }
    }

    /// Runs the handler on a fully read body and writes its response.
    fn respond_buffered(&mut self, pending: Pending, shared: &Shared) -> Step {
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
        let resp = match catch_unwind(AssertUnwindSafe(|| shared.handler.handle(req))) {
            Ok(r) => r,
            Err(p) => {
                log::error!(
                    "Connection id \"{}\": handler panicked: {}; responding 500",
                    self.id(),
                    panic_message(&p)
                );
                return self.simple_error(500, shared);
            }
        };
        if control.as_ref().is_some_and(|c| c.is_aborted()) {
            log::debug!("Connection id \"{}\" aborted by the application", self.id());
            return Step::Close;
        }
        let rate = control
            .and_then(|c| c.response_rate_override())
            .unwrap_or(settings.response_rate);
        let step = self.finish_response(resp, meta, &settings, rate, shared);
        if let Step::Continue = step {
            if self.phase != Phase::Writing {
                self.next_request(shared);
            }
        }
        step
    }

    fn simple_error(&mut self, status: u16, shared: &Shared) -> Step {
        self.error_response(status, "", shared)
    }

    /// Writes an error response (`Connection: close`) unless a response has started,
    /// then lingers; closes at once when the response cannot be sent.
    fn error_response(&mut self, status: u16, body: &str, shared: &Shared) -> Step {
        if self.response_started {
            return Step::Close;
        }
        shared.counters.response(status);
        self.fresh_wbuf();
        encode_error(
            &mut self.wbuf,
            status,
            body,
            shared.options.add_server_header,
        );
        let mut timer = RateTimer::new(shared.options.limits.min_response_data_rate);
        let wbuf = std::mem::take(&mut self.wbuf);
        let r = self.io.write_all(&wbuf, &mut timer);
        self.wbuf = wbuf;
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
        shared: &Shared,
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
                return self.simple_error(500, shared);
            }
            shared.counters.response(parts.status.as_u16());
            self.fresh_wbuf();
            encode_head(
                &mut self.wbuf,
                parts.status,
                &parts.headers,
                HeadOptions {
                    framing: OutFraming::NoBody,
                    connection: None,
                    server_header: shared.options.add_server_header,
                },
            );
            let mut timer = RateTimer::new(rate);
            let wbuf = std::mem::take(&mut self.wbuf);
            let r = self.io.write_all(&wbuf, &mut timer);
            self.wbuf = wbuf;
            if r.is_err() {
                return Step::Close;
            }
            return Step::Upgrade(p);
        }
        if matches!(body.kind, Kind::Writer(_)) && !settings.synchronous_io {
            log::error!(
                "Connection id \"{}\": Synchronous operations are disallowed: Body::from_writer needs allow_synchronous_io (server, endpoint, or Prepare::set_allow_synchronous_io); responding 500",
                self.id()
            );
            return self.simple_error(500, shared);
        }
        let mut keep_alive =
            meta.keep_alive && !shared.is_shutting_down() && !wants_close(&parts.headers);
        let status = parts.status.as_u16();
        let no_body = (100..200).contains(&status) || status == 204 || status == 304;
        let declared = body.len().or_else(|| {
            parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.parse::<u64>().ok())
        });
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
        shared.counters.response(parts.status.as_u16());
        self.fresh_wbuf();
        encode_head(
            &mut self.wbuf,
            parts.status,
            &parts.headers,
            HeadOptions {
                framing,
                connection,
                server_header: shared.options.add_server_header,
            },
        );
        self.response_started = true;
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
                Kind::File(f) if self.io.stream.is_plain() && !self.io.logs_bytes() => {
                    OutBody::File(f)
                }
                Kind::File(f) => OutBody::Reader(Box::new(f)),
                // The request body of this very connection echoed back (synchronous I/O).
                Kind::Incoming(_) => {
                    return self.echo_request_body(framing, keep_alive, timer, shared)
                }
                Kind::Empty | Kind::Writer(_) | Kind::Upgrade(_) => OutBody::None,
            }
        };
        self.out = Some(Outgoing {
            staged: 0,
            body: out_body,
            framing,
            timer,
            keep_alive,
            declared: match framing {
                OutFraming::Length(n) if send_body => Some(n),
                _ => None,
            },
            taken: 0,
            source_done: false,
            trailers,
        });
        self.phase = Phase::Writing;
        if settings.synchronous_io {
            // The handler opted into blocking I/O: the response is written on this worker.
            return self.step_write(shared, false);
        }
        // Written by step_write from the drive loop, parking while the client is slow.
        Step::Continue
    }

    /// Writes the response head, then the request body of this same connection as the
    /// response body, read as it arrives (a synchronous-I/O handler's echo).
    fn echo_request_body(
        &mut self,
        framing: OutFraming,
        keep_alive: bool,
        mut timer: RateTimer,
        shared: &Shared,
    ) -> Step {
        let head = std::mem::take(&mut self.wbuf);
        let r = self.io.write_all(&head, &mut timer);
        self.wbuf = head;
        if r.is_err() {
            return Step::Close;
        }
        let declared = match framing {
            OutFraming::Length(n) => Some(n),
            _ => None,
        };
        let mut scratch = vec![0u8; READ_CHUNK];
        let mut written: u64 = 0;
        loop {
            let n = match self.read_body_blocking(&mut scratch) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => return Step::Close,
            };
            written += n as u64;
            if let Err(e) = self.write_framed(&scratch[..n], framing, &mut timer) {
                self.log_write_failure(&e, shared);
                return Step::Close;
            }
        }
        if framing == OutFraming::Chunked {
            if let Err(e) = self.io.write_all(b"0\r\n\r\n", &mut timer) {
                self.log_write_failure(&e, shared);
                return Step::Close;
            }
        }
        if !keep_alive || declared.is_some_and(|d| d != written) {
            return Step::Linger;
        }
        Step::Continue
    }

    fn log_write_failure(&self, e: &IoFail, shared: &Shared) {
        match e {
            IoFail::TimedOut => self.log_slow_reader(shared),
            other => log::debug!(
                "Connection id \"{}\" response write failed: {other:?}",
                self.id()
            ),
        }
    }

    fn log_slow_reader(&self, shared: &Shared) {
        shared
            .counters
            .timeouts
            .response_rate
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        log::info!(
            "Connection id \"{}\" closed: the client read the response slower than MinResponseDataRate",
            self.id()
        );
    }

    /// Stages the next piece of a reader body (with chunk framing) in `wbuf`.
    fn stage_next(&mut self, out: &mut Outgoing) -> Result<(), ()> {
        self.wbuf.clear();
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
        self.wbuf.resize(prefix + want, 0);
        let n = if want == 0 {
            0
        } else {
            loop {
                match reader.read(&mut self.wbuf[prefix..]) {
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
        self.wbuf.truncate(prefix + n);
        if n == 0 {
            out.source_done = true;
            self.wbuf.clear();
            if chunked {
                self.wbuf.extend_from_slice(b"0\r\n");
                if let Some(t) = out.trailers.take() {
                    for (name, value) in t.iter() {
                        self.wbuf.extend_from_slice(name.as_str().as_bytes());
                        self.wbuf.extend_from_slice(b": ");
                        self.wbuf.extend_from_slice(value.as_bytes());
                        self.wbuf.extend_from_slice(b"\r\n");
                    }
                }
                self.wbuf.extend_from_slice(b"\r\n");
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
            self.wbuf[start..prefix].copy_from_slice(&line[..len]);
            out.staged = start;
            self.wbuf.extend_from_slice(b"\r\n");
        }
        Ok(())
    }

    /// Writes the current response as far as the client takes it, parking the connection
    /// (not the worker) when the client reads slowly.
    fn step_write(&mut self, shared: &Shared, may_park: bool) -> Step {
        let Some(mut out) = self.out.take() else {
            return Step::Close;
        };
        loop {
            let mut flush_only = false;
            if out.staged >= self.wbuf.len() {
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
                    if source_done && self.io.pending_output() {
                        // Everything is written, but TLS records wait above the socket.
                        flush_only = true;
                    } else if source_done {
                        self.wbuf.clear();
                        return if out.keep_alive {
                            if may_park {
                                self.next_request(shared);
                            } else {
                                // Synchronous I/O: the caller drains the request body first.
                                self.phase = Phase::Idle;
                            }
                            Step::Continue
                        } else {
                            Step::Linger
                        };
                    } else {
                        if self.stage_next(&mut out).is_err() {
                            return Step::Close;
                        }
                        continue;
                    }
                }
            }
            let first = &self.wbuf[out.staged.min(self.wbuf.len())..];
            let first_len = first.len();
            let r = if flush_only {
                self.io.try_flush().map(|done| done.then_some(0))
            } else if let OutBody::File(f) = &mut out.body {
                if f.remaining == 0 {
                    self.io.try_write_pair(first, &[])
                } else if first.is_empty() {
                    match self.io.try_sendfile(f) {
                        Ok(Some(0)) => {
                            log::error!(
                                "Connection id \"{}\": the response's file ended {} bytes short \
                                 of its declared length; closing",
                                self.info.id(),
                                f.remaining
                            );
                            return Step::Close;
                        }
                        r => r,
                    }
                } else {
                    // The head, held back until the file's first bytes join it.
                    self.io.try_write_more(first)
                }
            } else {
                let second: &[u8] = match &out.body {
                    OutBody::Bytes(d, p) => &d[*p..],
                    _ => &[],
                };
                self.io.try_write_pair(first, second)
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
                    let queued = self.io.send_buffer_size();
                    let allowance = out.timer.allowance_unconfirmed(queued).unwrap_or(FOREVER);
                    if allowance.is_zero() {
                        self.log_slow_reader(shared);
                        return Step::Close;
                    }
                    if may_park {
                        // The client reads slowly: park at once, for as long as the data
                        // rate allows.
                        let now = Instant::now();
                        self.deadline = now + allowance;
                        self.parked_at = now;
                        self.out = Some(out);
                        return Step::Park;
                    }
                    // Synchronous I/O (the handler opted in): wait on this worker.
                    let start = Instant::now();
                    let ready = self.io.wait(true, start + allowance);
                    out.timer.add_wait(start.elapsed());
                    match ready {
                        Ok(crate::io::deadline::Ready::Yes) => {}
                        Ok(_) => {
                            self.log_slow_reader(shared);
                            return Step::Close;
                        }
                        Err(_) => return Step::Close,
                    }
                }
                Err(e) => {
                    self.log_write_failure(&e, shared);
                    return Step::Close;
                }
            }
        }
    }

    /// Resets the connection for its next request.
    fn next_request(&mut self, shared: &Shared) {
        self.phase = Phase::Idle;
        self.body = None;
        self.pending = None;
        self.out = None;
        self.response_started = false;
        self.deadline = Instant::now() + shared.options.limits.keep_alive_timeout;
    }

    fn write_framed(
        &mut self,
        data: &[u8],
        framing: OutFraming,
        timer: &mut RateTimer,
    ) -> Result<(), IoFail> {
        if framing == OutFraming::Chunked {
            let (line, len) = chunk_line(data.len());
            self.io.write_all(&line[..len], timer)?;
            self.io.write_all(data, timer)?;
            self.io.write_all(b"\r\n", timer)
        } else {
            self.io.write_all(data, timer)
        }
    }

    /// Reads body bytes for a streaming handler, waiting under the body data rate.
    pub(crate) fn read_body_blocking(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if let Some(e) = self.body.as_ref().and_then(|b| b.error) {
            return Err(io::Error::other(e.reason()));
        }
        loop {
            if let Some(b) = &mut self.body {
                b.started = true;
            }
            self.send_continue_if_pending().map_err(io::Error::from)?;
            let mut got = 0usize;
            let limit = out.len();
            let r = {
                let mut sink = |p: &[u8]| {
                    out[got..got + p.len()].copy_from_slice(p);
                    got += p.len();
                };
                self.decode_buffered(&mut sink, limit)
            };
            if let Err(e) = r {
                if let Some(b) = &mut self.body {
                    b.error = Some(e);
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, e.reason()));
            }
            if got > 0 || self.body_done() {
                return Ok(got);
            }
            if let Err(f) = self.fill_blocking(Instant::now() + FOREVER) {
                let e = match f {
                    IoFail::TimedOut => RequestError::BodyTimeout,
                    _ => RequestError::UnexpectedEof,
                };
                if let Some(b) = &mut self.body {
                    b.error = Some(e);
                }
                return Err(io::Error::from(f));
            }
        }
    }

    /// After a streamed request: discards what the handler left unread, for up to
    /// `request_body_drain_timeout`. `false`: the connection must close.
    fn drain_body(&mut self, shared: &Shared) -> bool {
        if self.body_done() {
            return true;
        }
        if self.body.as_ref().is_some_and(|b| b.error.is_some()) {
            return false;
        }
        // A client still waiting for 100 Continue sends no body: nothing to drain, but
        // the connection's framing is unknown, so close.
        if self.body.as_ref().is_some_and(|b| b.continue_pending) {
            return false;
        }
        let until = Instant::now() + shared.options.request_body_drain_timeout;
        loop {
            let r = self.decode_buffered(&mut |_| {}, usize::MAX);
            if r.is_err() {
                return false;
            }
            if self.body_done() {
                return true;
            }
            if Instant::now() >= until || self.fill_blocking(until).is_err() {
                log::debug!(
                    "Connection id \"{}\": request body not drained in time; closing",
                    self.id()
                );
                return false;
            }
        }
    }
}

/// Runs a connection until it must park or close.
pub(crate) fn drive(mut conn: Box<Conn>, shared: &Shared) -> Next {
    if conn.phase == Phase::Body {
        let waited = conn.parked_at.elapsed();
        if let Some(b) = &mut conn.body {
            b.rate.add_wait(waited);
        }
    }
    if conn.phase == Phase::Writing {
        let waited = conn.parked_at.elapsed();
        if let Some(o) = &mut conn.out {
            o.timer.add_wait(waited);
        }
    }
    loop {
        let step = match conn.phase {
            Phase::Idle | Phase::Head => conn.step_head(shared),
            Phase::Body => conn.step_body(shared),
            Phase::Writing => conn.step_write(shared, true),
            // Discard what came while the connection was out (an edge-triggered event
            // will not announce it again), then wait for more.
            Phase::Lingering => {
                return if crate::server::event_loop::linger_read(&mut conn) {
                    Next::Park(conn)
                } else {
                    Next::Close
                };
            }
            #[cfg(feature = "http2")]
            Phase::Http2 => return crate::http2::driver::drive(conn, shared),
            #[cfg(not(feature = "http2"))]
            Phase::Http2 => Step::Close,
            #[cfg(feature = "tls")]
            Phase::Handshake => conn.step_handshake(shared),
            #[cfg(not(feature = "tls"))]
            Phase::Handshake => Step::Close,
        };
        match step {
            Step::Continue => continue,
            Step::Park => return Next::Park(conn),
            Step::Close => return Next::Close,
            Step::Linger => {
                conn.begin_linger();
                return Next::Park(conn);
            }
            Step::Streaming(pending) => match serve_streaming(conn, pending, shared) {
                Some(c) => conn = c,
                None => return Next::Close,
            },
            Step::Upgrade(p) => {
                start_upgraded(conn, p);
                return Next::Close;
            }
        }
    }
}

/// Hands an upgraded connection to its callback on a thread outside the pool.
fn start_upgraded(mut conn: Box<Conn>, p: crate::upgrade::Pending) {
    let prefix = conn.buf.take_rest();
    let id = conn.id();
    // The upgrade's thread does its own blocking I/O: no more events for this socket.
    if let Some(reg) = conn.reg.take() {
        reg.deregister(conn.io.fd());
    }
    let Conn {
        io, info, guard, ..
    } = *conn;
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

/// Serves a request whose handler opted into synchronous I/O: the body is streamed from
/// the connection as the handler reads it, and the response may be written by the
/// handler. Returns the connection when it stays open.
fn serve_streaming(conn: Box<Conn>, pending: Box<Pending>, shared: &Shared) -> Option<Box<Conn>> {
    let Pending {
        parts,
        settings,
        meta,
        content_length,
        ..
    } = *pending;
    let control = parts
        .extensions
        .get::<RequestContext>()
        .map(|c| c.control.clone());
    let cell: Arc<Mutex<Option<Box<Conn>>>> = Arc::new(Mutex::new(Some(conn)));
    let body = Body {
        kind: Kind::Incoming(Incoming::new(cell.clone(), content_length)),
        trailers: None,
    };
    let req = http::Request::from_parts(parts, body);
    let result = catch_unwind(AssertUnwindSafe(|| shared.handler.handle(req)));
    let take = |cell: &Arc<Mutex<Option<Box<Conn>>>>| {
        cell.lock().unwrap_or_else(|e| e.into_inner()).take()
    };
    let resp = match result {
        Ok(r) => r,
        Err(p) => {
            let mut conn = take(&cell)?;
            log::error!(
                "Connection id \"{}\": handler panicked: {}; responding 500",
                conn.id(),
                panic_message(&p)
            );
            if let Step::Linger = conn.simple_error(500, shared) {
                conn.begin_linger();
                shared.park(conn);
            }
            return None;
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
        .and_then(|c| c.body.as_ref().and_then(|b| b.error));
    if let Some(e) = body_error {
        let mut conn = take(&cell)?;
        if let Step::Linger = conn.fail(e, shared) {
            conn.begin_linger();
            shared.park(conn);
        }
        return None;
    }
    let step = if let Kind::Writer(_) = &resp.body().kind {
        let (parts, body) = resp.into_parts();
        let Kind::Writer(f) = body.kind else {
            return None;
        };
        let chunked = meta.version == Version::HTTP_11 && !meta.is_head;
        let keep_alive = chunked
            && meta.keep_alive
            && !shared.is_shutting_down()
            && !wants_close(&parts.headers);
        {
            let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
            let conn = guard.as_mut()?;
            conn.fresh_wbuf();
            let framing = if meta.is_head {
                OutFraming::NoBody
            } else if chunked {
                OutFraming::Chunked
            } else {
                OutFraming::Close
            };
            shared.counters.response(parts.status.as_u16());
            encode_head(
                &mut conn.wbuf,
                parts.status,
                &parts.headers,
                HeadOptions {
                    framing,
                    connection: if keep_alive {
                        (meta.version == Version::HTTP_10).then_some(true)
                    } else {
                        Some(false)
                    },
                    server_header: shared.options.add_server_header,
                },
            );
            conn.response_started = true;
            let mut timer = RateTimer::new(rate);
            let wbuf = std::mem::take(&mut conn.wbuf);
            let r = conn.io.write_all(&wbuf, &mut timer);
            conn.wbuf = wbuf;
            if r.is_err() {
                return None;
            }
        }
        let buffer = shared
            .options
            .limits
            .max_response_buffer_size
            .unwrap_or(64 * 1024)
            .max(1);
        let mut writer = CellWriter::new(
            cell.clone(),
            chunked && !meta.is_head,
            !meta.is_head,
            buffer,
            rate,
        );
        let ok = match catch_unwind(AssertUnwindSafe(|| f(&mut writer))) {
            Ok(Ok(())) => writer.finish().is_ok(),
            Ok(Err(e)) => {
                log::debug!("response writer failed: {e}");
                false
            }
            Err(p) => {
                log::error!(
                    "handler's response writer panicked: {}; closing the connection",
                    panic_message(&p)
                );
                false
            }
        };
        let mut conn = take(&cell)?;
        if ok && keep_alive && conn.drain_body(shared) {
            conn.next_request(shared);
            return Some(conn);
        }
        conn.io.stream.shutdown_write();
        conn.begin_linger();
        shared.park(conn);
        return None;
    } else {
        let mut conn = take(&cell)?;
        let step = conn.finish_response(resp, meta, &settings, rate, shared);
        (conn, step)
    };
    let (mut conn, step) = step;
    match step {
        Step::Continue => {
            if conn.drain_body(shared) {
                conn.next_request(shared);
                Some(conn)
            } else {
                conn.begin_linger();
                shared.park(conn);
                None
            }
        }
        Step::Linger => {
            conn.begin_linger();
            shared.park(conn);
            None
        }
        Step::Upgrade(p) => {
            start_upgraded(conn, p);
            None
        }
        _ => None,
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Box<Conn>>();
    let _ = Address::Unix(None);
}

//! The HTTP/1 state of one connection (between and within requests) and the reading of a
//! request body from it, shared by the driver's buffered path and by handlers that read
//! the body themselves (synchronous I/O, [`super::stream`]).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::Version;

use super::core::{Config, Connection, Phase};
use super::encode::Framing as OutFraming;
use super::error::RequestError;
use crate::conn::link::Link;
use crate::io::{IoFail, RateTimer};
use crate::pooled::{pooled, Pooled};
use crate::request::{RequestControl, RequestSettings};

/// A far deadline for waits with no limit configured.
const FOREVER: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// What the driver remembers of a request while its body is read and its handler runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) version: Version,
    pub(crate) is_head: bool,
    pub(crate) keep_alive: bool,
    pub(crate) upgrade: bool,
    /// The client sent `TE: trailers`: response trailers may be sent (chunked).
    pub(crate) te_trailers: bool,
}

/// A request whose head is parsed and whose body is being read (buffered mode).
pub(crate) struct Pending {
    pub(crate) parts: http::request::Parts,
    pub(crate) settings: RequestSettings,
    pub(crate) meta: Meta,
    pub(crate) data: Vec<u8>,
    pub(crate) content_length: Option<u64>,
}

/// Where the bytes of a response body come from while it is written.
pub(crate) enum OutBody {
    None,
    Bytes(std::borrow::Cow<'static, [u8]>, usize),
    Reader(Box<dyn io::Read + Send>),
    /// A file region sent by the kernel (sendfile(2)) on a plain socket.
    File(crate::io::FileRegion),
}

/// A response being written without holding a worker: the head (and, for reader bodies,
/// the next chunk) staged in `wbuf`, the rest still in `body`.
pub(crate) struct Outgoing {
    pub(crate) staged: usize,
    pub(crate) body: OutBody,
    pub(crate) framing: OutFraming,
    pub(crate) timer: RateTimer,
    pub(crate) keep_alive: bool,
    /// The client asked for the connection to close after this response.
    pub(crate) client_close: bool,
    pub(crate) declared: Option<u64>,
    pub(crate) taken: u64,
    pub(crate) source_done: bool,
    /// Trailer fields written after the last chunk.
    pub(crate) trailers: Option<Box<http::HeaderMap>>,
    /// The length of the response head (what of `timer`'s bytes is not body).
    pub(crate) head: u64,
}

pooled!(Pending);
pooled!(Outgoing);

/// Reader bodies are staged this many bytes at a time.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// The HTTP/1 state of one connection: its protocol core and what the driver keeps of
/// the request in progress.
pub(crate) struct Http1 {
    pub(crate) core: Connection,
    /// Out of line (recycled boxes): an idle connection holds none of it.
    pub(crate) pending: Pooled<Pending>,
    /// Whether the response head of the current request has been written.
    pub(crate) response_started: bool,
    /// The per-connection request control, advanced to a new generation per request.
    pub(crate) control: RequestControl,
    pub(crate) out: Pooled<Outgoing>,
    /// The current request's access-log line (`None` while the log is off).
    pub(crate) alog: Option<Box<crate::access_log::Entry>>,
}

impl Http1 {
    /// A connection's HTTP/1 state, before its first request, idle since `now`;
    /// `head_started` when the first bytes of a head arrived then (before HTTP/1 was
    /// chosen).
    pub(crate) fn new(cfg: Config, now: Instant, head_started: Option<Instant>) -> Http1 {
        Http1 {
            core: Connection::new(cfg, now, head_started),
            pending: Pooled::none(),
            response_started: false,
            control: RequestControl::default(),
            out: Pooled::none(),
            alog: None,
        }
    }

    /// Whether the event loop should wait for room to write (not for bytes).
    pub(crate) fn wants_write(&self) -> bool {
        self.core.phase() == Phase::Writing
    }

    /// Whether between requests (safe to close at shutdown when nothing is buffered).
    pub(crate) fn is_idle(&self) -> bool {
        self.core.phase() == Phase::Idle
    }
}

/// A connection lent to a synchronous-I/O handler: the request body reader and the
/// response writer borrow it for one call at a time.
pub(crate) struct Lent {
    pub(crate) l: Link,
    pub(crate) s: Http1,
}

pub(crate) type Cell = Arc<Mutex<Option<Box<Lent>>>>;

// Reading a request body: shared by the buffered and the streaming (synchronous I/O)
// paths.

/// Sends `100 Continue` if the client asked for it and the body has not started.
pub(crate) fn send_continue_if_pending(l: &mut Link, s: &mut Http1) -> Result<(), IoFail> {
    // A client that already sent body bytes did not wait for us.
    // Once a final status has gone out, no 100 may follow (RFC 9110 §10.1.1).
    if let Some(rate) = s
        .core
        .take_continue(!l.buf.is_empty() || s.response_started)
    {
        let mut t = RateTimer::new(rate);
        l.io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n", &mut t)?;
    }
    Ok(())
}

/// Decodes buffered body bytes into `out` (at most `limit` payload bytes). Returns the
/// number of payload bytes added; 0 with the body not done means more input is needed.
pub(crate) fn decode_buffered(
    l: &mut Link,
    s: &mut Http1,
    out: &mut dyn FnMut(&[u8]),
    limit: usize,
) -> Result<usize, RequestError> {
    let (used, produced) = s.core.recv_body(l.buf.bytes(), out, limit)?;
    l.buf.consume(used);
    Ok(produced)
}

pub(crate) fn body_done(s: &Http1) -> bool {
    s.core.body_done()
}

/// Reads into the buffer once, without waiting. `Ok(false)`: nothing available.
pub(crate) fn fill_nowait(l: &mut Link, s: &mut Http1) -> Result<bool, IoFail> {
    let cap = l.cap;
    let spare = l.buf.spare(cap);
    if spare.is_empty() {
        return Ok(true);
    }
    match l.io.try_read(spare)? {
        Some(0) => Err(IoFail::Closed),
        Some(n) => {
            l.buf.advance(n);
            s.core.received(n);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Reads into the buffer, waiting under the body's data rate (and `until`).
pub(crate) fn fill_blocking(l: &mut Link, s: &mut Http1, until: Instant) -> Result<(), IoFail> {
    let cap = l.cap;
    let spare = l.buf.spare(cap);
    if spare.is_empty() {
        return Ok(());
    }
    let rate = s.core.body.as_mut().map(|b| &mut b.rate);
    let n = l.io.read_until(spare, until, rate)?;
    if n == 0 {
        return Err(IoFail::Closed);
    }
    l.buf.advance(n);
    Ok(())
}

/// Reads body bytes for a streaming handler, waiting under the body data rate.
pub(crate) fn read_body_blocking(l: &mut Link, s: &mut Http1, out: &mut [u8]) -> io::Result<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    if let Some(e) = s.core.body.as_ref().and_then(|b| b.error) {
        return Err(io::Error::other(e.reason()));
    }
    loop {
        if let Some(b) = s.core.body.as_mut() {
            b.started = true;
        }
        send_continue_if_pending(l, s).map_err(io::Error::from)?;
        let mut got = 0usize;
        let limit = out.len();
        let r = {
            let mut sink = |p: &[u8]| {
                out[got..got + p.len()].copy_from_slice(p);
                got += p.len();
            };
            decode_buffered(l, s, &mut sink, limit)
        };
        if let Err(e) = r {
            if let Some(b) = s.core.body.as_mut() {
                b.error = Some(e);
            }
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.reason()));
        }
        if got > 0 || body_done(s) {
            return Ok(got);
        }
        if let Err(f) = fill_blocking(l, s, Instant::now() + FOREVER) {
            let e = match f {
                IoFail::TimedOut => RequestError::BodyTimeout,
                _ => RequestError::UnexpectedEof,
            };
            if let Some(b) = s.core.body.as_mut() {
                b.error = Some(e);
            }
            return Err(io::Error::from(f));
        }
    }
}

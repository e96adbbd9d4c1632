//! The HTTP/2 I/O driver: runs one connection's [`Connection`] core on the worker pool
//! with the same rules as HTTP/1.1.
//!
//! - **The frame loop never waits on a handler.** A complete request becomes a task on the
//!   pool's queue; when the queue is full the stream is refused with REFUSED_STREAM (the
//!   client may retry). The handler's response comes back through the connection's
//!   [`Mailbox`]; the worker that finishes a handler wakes a parked connection and drives
//!   it itself.
//! - **An idle connection holds no worker.** With nothing to read, write or hand over, the
//!   connection parks in the poller like an HTTP/1.1 keep-alive connection.
//! - **Back-pressure on response bodies.** A reader body is pulled only while less than
//!   [`MAX_QUEUED_PER_STREAM`] of its bytes (or MaxResponseBufferSize, if smaller) wait in
//!   the core (for the client's flow-control window or the socket), so a client that never
//!   reads costs a bounded buffer, and MinResponseDataRate's grace period ends a connection
//!   whose output does not move. A synchronous-I/O writer runs ahead of the connection by
//!   a few MaxResponseBufferSize at most ([`ChannelWriter`]).
//!
//! Wake-up protocol (no lost wake-ups, no double drives): parking stores the poller token
//! in [`Mailbox::parked`] under the poller's lock; a finished handler pushes its response,
//! then swaps the token out and takes the connection from the poller (the token's
//! generation makes a stale one harmless). After parking, the parking worker looks at the
//! mailbox once more and, if a response arrived meanwhile, takes the connection back. A
//! synchronous-I/O writer's pieces travel through a channel, not the mailbox: each piece
//! (and the writer's end) is first noted in the mailbox, then wakes, so a piece sent while
//! the connection was being parked is not missed either.

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, DATE, SERVER};

use super::conn::{ConnSettings, Connection, Event};
use super::frame::{ErrorCode, StreamId};
use crate::body::{Body, Kind};
use crate::conn::context::{Context, Task, Watched};
use crate::conn::link::{Link, Outcome};
use crate::exchange;
use crate::handler::Response;
use crate::request::RequestControl;

/// The most response-body bytes of one stream queued in the core before the driver stops
/// pulling from its reader (less when MaxResponseBufferSize is smaller): bounds a
/// connection's buffered output at streams × 64 KiB.
pub(crate) const MAX_QUEUED_PER_STREAM: usize = 64 * 1024;
/// Bytes read from a reader body at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Pieces a synchronous-I/O writer may run ahead of the connection (fewer when
/// MaxResponseBufferSize is under four of them: see [`writer_pieces`]).
const WRITER_CHUNKS: usize = 4;

/// The size of a synchronous-I/O writer's pieces after its first, and how many of them
/// its channel holds, for a writer buffer (MaxResponseBufferSize) of `first` bytes: 16 KiB
/// pieces, up to [`WRITER_CHUNKS`] of them within `first`, and one piece of `first` bytes
/// when `first` is smaller. What a writer has handed over and the connection has not sent
/// is then at most about three times `first` (its piece in the core, one in the channel,
/// and the one it is handing over).
fn writer_pieces(first: usize) -> (usize, usize) {
    let piece = READ_CHUNK.min(first).max(1);
    (piece, (first / piece).clamp(1, WRITER_CHUNKS))
}

/// A handler's finished response.
pub(crate) struct Done {
    id: StreamId,
    response: Response,
    head_request: bool,
    /// The stream's access-log line.
    log: Log,
}

/// A stream's access-log line (`None` while the log is off).
type Log = Option<Box<crate::access_log::Entry>>;

/// Where finished handlers leave their responses for the connection.
#[derive(Default)]
pub(crate) struct Mailbox {
    inbox: Mutex<Inbox>,
    /// The poller token while the connection is parked (0: not parked).
    pub(crate) parked: AtomicU64,
}

#[derive(Default)]
struct Inbox {
    /// Finished responses.
    done: VecDeque<Done>,
    /// Whether the connection has ended (then nothing is kept).
    closed: bool,
    /// Whether a writer's channel has had news (a piece, its end) since the connection
    /// last looked.
    news: bool,
}

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves a response for the connection; once it has ended, the response is dropped
    /// (with it a writer's channel, so that the writer's next send fails instead of
    /// waiting for a reader that will never come).
    fn push(&self, d: Done) {
        let mut g = self.lock();
        if g.closed {
            drop(g);
            drop(d);
        } else {
            g.done.push_back(d);
        }
    }

    /// Says that a writer's channel has something new for the connection.
    fn note_news(&self) {
        let mut g = self.lock();
        g.news = !g.closed;
    }

    /// The finished responses; the connection is about to look at its writers' channels.
    fn take_all(&self) -> VecDeque<Done> {
        let mut g = self.lock();
        g.news = false;
        std::mem::take(&mut g.done)
    }

    /// The connection has ended: drops what waits and what comes later.
    fn close(&self) {
        let left = {
            let mut g = self.lock();
            g.closed = true;
            g.news = false;
            std::mem::take(&mut g.done)
        };
        drop(left);
    }

    /// Whether a response or a writer's news arrived since the connection last looked.
    pub(crate) fn has_pending(&self) -> bool {
        let g = self.lock();
        !g.done.is_empty() || g.news
    }
}

/// Wakes the connection behind `mb` if it is parked, driving it on this worker.
fn wake(mb: &Mailbox, cx: &dyn Context) {
    let token = mb.parked.swap(0, Ordering::AcqRel);
    if token != 0 {
        cx.wake(token);
    }
}

/// A writer's channel has a new piece or has ended: noted in the mailbox first, so that a
/// connection that is being parked right now (its token not yet stored, `wake` finds
/// none) sees it when it looks at its mailbox after parking, then woken.
fn news(mb: &Mailbox, cx: &dyn Context) {
    mb.note_news();
    wake(mb, cx);
}

/// A response body still being pulled, with the trailers that follow it.
type PendingBody = (Box<dyn Read + Send>, Option<Box<http::HeaderMap>>, Log);

/// One HTTP/2 connection's driver state, kept in its connection's protocol.
pub(crate) struct H2 {
    core: Connection,
    pub(crate) mailbox: Arc<Mailbox>,
    out: Vec<u8>,
    out_pos: usize,
    bodies: HashMap<StreamId, PendingBody>,
    /// The buffer `pull_bodies` reads response bodies into, kept between its passes while
    /// bodies are pending (empty otherwise, or when its last read took it along).
    body_buf: Vec<u8>,
    controls: HashMap<StreamId, RequestControl>,
    /// Requests read in this pass, queued as one task at its end.
    batch: VecDeque<Job>,
    running: usize,
    shutdown_sent: bool,
    /// Last time the connection had anything to do (keep-alive timeout from here).
    last_active: Instant,
    /// Last time output moved, while some was waiting (MinResponseDataRate's grace).
    last_output: Instant,
    /// Last time bytes arrived (MinRequestBodyDataRate's grace while a body is arriving).
    last_input: Instant,
    /// Whether the last write found the socket full.
    pub(crate) write_blocked: bool,
    /// Whether the socket may have bytes: false after a read found it empty and when
    /// woken for a response. Saves a read system call per response. Set again whenever
    /// the connection goes back to its event loop (park or yield): the next drive may come
    /// from an event whose bytes nothing else will announce, so it must read.
    read_hint: bool,
}

impl Drop for H2 {
    fn drop(&mut self) {
        self.mailbox.close();
    }
}

impl H2 {
    fn new(settings: ConnSettings, now: Instant) -> H2 {
        H2 {
            core: Connection::new(settings, now),
            mailbox: Arc::new(Mailbox::default()),
            out: Vec::with_capacity(16 * 1024),
            out_pos: 0,
            bodies: HashMap::new(),
            body_buf: Vec::new(),
            controls: HashMap::new(),
            batch: VecDeque::new(),
            running: 0,
            shutdown_sent: false,
            last_active: now,
            last_output: now,
            last_input: now,
            write_blocked: false,
            read_hint: true,
        }
    }

    fn output_pending(&self) -> bool {
        self.out_pos < self.out.len()
    }

    /// Whether response bytes wait: for the socket, or for the client's flow-control
    /// windows (a client that never opens its window is ended by MinResponseDataRate).
    fn output_stalled(&self) -> bool {
        self.output_pending() || self.core.wants_write() || self.core.queued_data_total() > 0
    }

    /// Whether the connection may be closed at shutdown without losing anything.
    pub(crate) fn is_idle(&self) -> bool {
        !self.busy()
    }

    /// Taken from the event loop for a finished handler's response, not for bytes: the
    /// socket was just found empty.
    pub(crate) fn on_woken(&mut self) {
        self.read_hint = false;
    }

    /// Whether anything is in progress (streams, handlers, output).
    fn busy(&self) -> bool {
        self.running > 0
            || !self.bodies.is_empty()
            || self.core.active_streams() > 0
            || self.output_pending()
    }
}

/// The HTTP/2 state of a connection whose read buffer starts with the client preface (or
/// is empty after an ALPN `h2` handshake).
pub(crate) fn start(l: &Link, cx: &dyn Context) -> Box<H2> {
    let now = Instant::now();
    let options = cx.options();
    let mut settings = ConnSettings::from_limits(&options.limits);
    settings.allow_response_header_compression = options.allow_response_header_compression;
    log::debug!("Connection id \"{}\" speaks HTTP/2", l.id());
    Box::new(H2::new(settings, now))
}

/// How many rounds of reading, handling and writing one drive makes before the connection
/// yields to the others of its event loop. A round reads up to one buffer (16 KiB and a
/// frame header, or the configured frame size).
const TURN_BUDGET: u32 = 16;

/// What the core made of the bytes read.
enum Read2 {
    Progress,
    Nothing,
    Closed,
}

/// Runs an HTTP/2 connection until it has nothing to do (park) or ends (close).
pub(crate) fn drive(l: &mut Link, h2: &mut H2, cx: &dyn Context) -> Outcome {
    // At shutdown: whether a read has looked at the socket since the drive began.
    let mut shutdown_read = false;
    // Rounds that moved something; after TURN_BUDGET the connection yields.
    let mut turns = 0u32;
    loop {
        let now = Instant::now();
        let mut progressed = false;
        let id = l.id();

        // Responses of finished handlers.
        for d in h2.mailbox.take_all() {
            h2.running = h2.running.saturating_sub(1);
            progressed = true;
            respond(h2, d, cx);
        }
        pull_bodies(h2, id, cx);

        // Shutdown with streams in progress: GOAWAY in two phases, the accepted streams
        // finish. (An idle connection ends below, once a read has found nothing more.)
        if cx.is_shutting_down() && !h2.shutdown_sent && h2.busy() {
            h2.shutdown_sent = true;
            h2.core.shutdown(now);
            progressed = true;
        }
        if h2.core.next_timeout().is_some_and(|t| t <= now) {
            if let Err(e) = h2.core.handle_timeout(now) {
                log::debug!("Connection id \"{id}\" HTTP/2 connection error: {e:?}");
                flush_best_effort(h2, &mut l.io);
                return Outcome::Close;
            }
        }

        // Write what the core has.
        match flush(h2, &mut l.io) {
            Ok(moved) => {
                progressed |= moved;
                if moved || !h2.output_stalled() {
                    h2.last_output = now;
                }
            }
            Err(_) => return Outcome::Close,
        }

        // Read what the client sent (the preface may already be buffered).
        match read(l, h2, cx) {
            Read2::Progress => progressed = true,
            Read2::Nothing => {}
            Read2::Closed => {
                flush_best_effort(h2, &mut l.io);
                abort_all(h2);
                // After an invalid preface's GOAWAY the client may still be sending:
                // linger, so that it reads the GOAWAY rather than a reset.
                if h2.core.bad_preface() {
                    return Outcome::Linger;
                }
                return Outcome::Close;
            }
        }
        if h2.core.is_closed() && !h2.output_pending() && !h2.core.wants_write() {
            abort_all(h2);
            // Ended by shutdown's GOAWAY: linger, so that what the client sends meanwhile
            // (a SETTINGS or PING acknowledgement) does not turn the close into a reset.
            return if h2.shutdown_sent {
                Outcome::Linger
            } else {
                Outcome::Close
            };
        }
        if progressed {
            h2.last_active = now;
            turns += 1;
            if turns >= TURN_BUDGET {
                // A client that never stops sending (a PING flood, a fast upload) gets
                // its turn like every other connection of the event loop, not the worker.
                l.deadline = now + cx.options().limits.keep_alive_timeout;
                // The next drive comes from the ready list and must read: an event that
                // came while this one ran (bytes after a read that found the socket
                // empty) was folded into that one entry, and no other will come.
                h2.read_hint = true;
                return Outcome::Yield;
            }
            continue;
        }
        // Shutting down with nothing in progress: once a read has looked at the socket
        // (a request that arrived before the signal is served first), GOAWAY with the
        // last stream processed, then close.
        if cx.is_shutting_down() && !h2.busy() {
            if !shutdown_read {
                shutdown_read = true;
                h2.read_hint = true;
                l.io.forget_drained();
                continue;
            }
            if h2.core.close_idle() {
                h2.shutdown_sent = true;
                continue;
            }
        }
        // Nothing to do now: park until the socket is ready, a handler finishes, or a
        // deadline passes.
        let limits = &cx.options().limits;
        let grace = limits
            .min_response_data_rate
            .map(|r| r.grace_period)
            .unwrap_or(Duration::from_secs(3600));
        let mut deadline = if h2.output_stalled() {
            h2.last_output + grace
        } else if h2.busy() {
            now + Duration::from_secs(3600)
        } else {
            h2.last_active + limits.keep_alive_timeout
        };
        if let Some(t) = h2.core.next_timeout() {
            deadline = deadline.min(t);
        }
        if h2.core.receiving_streams() > 0 {
            if let Some(rate) = limits.min_request_body_data_rate {
                deadline = deadline.min(h2.last_input + rate.grace_period);
            }
        }
        // Parked: the next drive comes from a readiness event (read) or a wake-up
        // (which clears this again).
        h2.read_hint = true;
        l.deadline = deadline;
        return Outcome::Park;
    }
}

/// Called by the poller when a parked HTTP/2 connection's deadline passed. Returns it
/// when it must stay parked.
pub(crate) fn on_expired(l: &mut Link, h2: &mut H2, cx: &dyn Context) -> Outcome {
    let now = Instant::now();
    let id = l.id();
    if h2.core.next_timeout().is_some_and(|t| t <= now) {
        if h2.core.handle_timeout(now).is_err() {
            flush_best_effort(h2, &mut l.io);
            abort_all(h2);
            return Outcome::Close;
        }
        flush_best_effort(h2, &mut l.io);
        l.deadline = h2
            .core
            .next_timeout()
            .unwrap_or(now + cx.options().limits.keep_alive_timeout);
        return Outcome::Park;
    }
    let body_grace = cx
        .options()
        .limits
        .min_request_body_data_rate
        .map(|r| r.grace_period);
    if h2.core.receiving_streams() > 0 && body_grace.is_some_and(|g| h2.last_input + g <= now) {
        log::debug!(
            "Connection id \"{id}\" closed: a request body arrived slower than \
             MinRequestBodyDataRate"
        );
        cx.counters()
            .timeouts
            .request_body_rate
            .fetch_add(1, Ordering::Relaxed);
        abort_all(h2);
        return Outcome::Close;
    }
    if h2.output_stalled() {
        log::debug!(
            "Connection id \"{id}\" closed: the client read the response slower than \
             MinResponseDataRate"
        );
        cx.counters()
            .timeouts
            .response_rate
            .fetch_add(1, Ordering::Relaxed);
    } else if !h2.busy() {
        log::debug!("Connection id \"{id}\" HTTP/2 keep-alive timeout; closing");
        cx.counters()
            .timeouts
            .keep_alive
            .fetch_add(1, Ordering::Relaxed);
        // Nothing in progress: GOAWAY with the last stream processed.
        h2.core.close_idle();
        flush_best_effort(h2, &mut l.io);
    } else {
        // Busy (handlers running) and nothing stalled: keep waiting.
        l.deadline = now + Duration::from_secs(3600);
        return Outcome::Park;
    }
    abort_all(h2);
    Outcome::Close
}

/// Aborts the handlers still running (their controls) when the connection ends.
fn abort_all(h2: &mut H2) {
    for (_, c) in h2.controls.drain() {
        c.abort();
    }
    h2.bodies.clear();
}

/// Writes buffered output; `Ok(true)` when bytes moved.
fn flush(h2: &mut H2, io: &mut crate::io::DeadlineIo) -> Result<bool, ()> {
    let mut moved = false;
    h2.write_blocked = false;
    loop {
        if !h2.output_pending() {
            h2.out.clear();
            h2.out_pos = 0;
            if !h2.core.poll_output(&mut h2.out) {
                break;
            }
        }
        match io.try_write_pair(&h2.out[h2.out_pos..], &[]) {
            Ok(Some(n)) => {
                h2.out_pos += n;
                moved = true;
            }
            Ok(None) => {
                h2.write_blocked = true;
                return Ok(moved);
            }
            Err(_) => return Err(()),
        }
    }
    if io.pending_output() {
        match io.try_flush() {
            Ok(true) => {}
            Ok(false) => h2.write_blocked = true,
            Err(_) => return Err(()),
        }
    }
    Ok(moved)
}

/// Writes what can go out without waiting (before a close).
fn flush_best_effort(h2: &mut H2, io: &mut crate::io::DeadlineIo) {
    let _ = flush(h2, io);
}

/// Reads once and feeds the core; dispatches complete requests.
fn read(c: &mut Link, h2: &mut H2, cx: &dyn Context) -> Read2 {
    let mut progressed = false;
    // Bytes read before the switch (the preface and what followed it).
    if !c.buf.is_empty() {
        let r = h2.core.recv(c.buf.bytes(), Instant::now());
        let n = c.buf.bytes().len();
        c.buf.consume(n);
        if let Err(e) = r {
            log::debug!("Connection id \"{}\" HTTP/2 error: {e:?}", c.info.id());
            return Read2::Closed;
        }
        progressed = true;
    }
    let cap = c.cap;
    let spare = c.buf.spare(cap.max(16 * 1024 + 9));
    let r = if h2.read_hint {
        c.io.try_read(spare)
    } else {
        Ok(None)
    };
    match r {
        Ok(Some(0)) => {
            log::debug!("Connection id \"{}\" closed by the client", c.info.id());
            return Read2::Closed;
        }
        Ok(Some(n)) => {
            c.buf.advance(n);
            h2.read_hint = true;
            h2.last_input = Instant::now();
            let r = h2.core.recv(c.buf.bytes(), Instant::now());
            let len = c.buf.bytes().len();
            c.buf.consume(len);
            if let Err(e) = r {
                log::debug!("Connection id \"{}\" HTTP/2 error: {e:?}", c.info.id());
                return Read2::Closed;
            }
            progressed = true;
        }
        Ok(None) => {
            h2.read_hint = false;
        }
        Err(_) => return Read2::Closed,
    }
    let info = c.info.clone();
    while let Some(ev) = h2.core.poll_event() {
        progressed = true;
        match ev {
            Event::Request {
                id,
                head,
                body,
                trailers,
            } => dispatch(h2, &info, id, head, body, trailers, cx),
            Event::Reset { id, code } => {
                log::debug!(
                    "Connection id \"{}\" stream {} reset by the client ({code:?})",
                    info.id(),
                    id.value()
                );
                if let Some(ctl) = h2.controls.remove(&id) {
                    ctl.abort();
                }
                h2.bodies.remove(&id);
            }
            Event::Answered { id, status, head } => {
                // 431 or 413 from the core, no handler: logged like HTTP/1's own answers
                // (the request as "-" when its head was never decoded). The duration
                // starts here: the core does not say when the stream began.
                let now = Instant::now();
                let stream = Some(id.value());
                let entry = head
                    .as_deref()
                    .and_then(|p| exchange::log_begin(cx, now, p, &info, stream));
                exchange::log_end(cx, entry, || now, &info, stream, status.as_u16(), 0);
            }
        }
    }
    submit_batch(h2, cx, info.id());
    if progressed {
        Read2::Progress
    } else {
        Read2::Nothing
    }
}

/// Queues a stream's handler on the pool (or refuses the stream when the pool is full).
fn dispatch(
    h2: &mut H2,
    info: &crate::ConnectionInfo,
    id: StreamId,
    mut head: http::request::Parts,
    body: Bytes,
    trailers: Option<http::HeaderMap>,
    cx: &dyn Context,
) {
    cx.counters().request(http::Version::HTTP_2);
    let started = Instant::now();
    // AllowedHosts, as for HTTP/1 (the core filled `host` from `:authority`): 400.
    let allowed = &cx.options().allowed_hosts;
    if !allowed.is_empty() {
        let host = head.headers.get(http::header::HOST).map(|h| h.to_str());
        if !matches!(host, Some(Ok(h)) if crate::host::host_allowed(h, allowed)) {
            log::debug!(
                "Connection id \"{}\" stream {}: host {:?} is not allowed; responding 400",
                info.id(),
                id.value(),
                head.headers.get(http::header::HOST)
            );
            let log = exchange::log_begin(cx, started, &head, info, Some(id.value()));
            respond_status(h2, id, 400, log, cx);
            return;
        }
    }
    let control = RequestControl::default();
    let sync_io = cx.options().allow_synchronous_io;
    let prepared = exchange::prepare(&mut head, info, control.clone(), sync_io, false, cx);
    let log = exchange::log_begin(cx, started, &head, info, Some(id.value()));
    let Ok(settings) = prepared else {
        log::error!(
            "Connection id \"{}\" stream {}: handler panicked in prepare; responding 500",
            info.id(),
            id.value()
        );
        respond_status(h2, id, 500, log, cx);
        return;
    };
    // The core enforced the server-wide limit; a lower per-request one applies here.
    if settings
        .max_body_size
        .is_some_and(|max| body.len() as u64 > max)
    {
        cx.counters()
            .refused
            .max_request_body_size
            .fetch_add(1, Ordering::Relaxed);
        respond_status(h2, id, 413, log, cx);
        return;
    }
    let head_request = head.method == http::Method::HEAD;
    // Bytes -> Vec without a copy when the core holds the only reference.
    let mut body = Body::from(Vec::from(body));
    body.trailers = trailers.map(Box::new);
    let req = http::Request::from_parts(head, body);
    let job = Job {
        id,
        req,
        head_request,
        sync_io: settings.synchronous_io,
        conn_id: info.id(),
        log,
    };
    h2.controls.insert(id, control);
    h2.running += 1;
    if job.sync_io {
        // Its writer may block this worker: never in a batch.
        let mb = h2.mailbox.clone();
        let task: Task = Box::new(move |cx: &dyn Context| run_job(job, &mb, cx, true));
        if cx.submit(task).is_err() {
            refuse(h2, id, info.id());
        }
    } else {
        h2.batch.push_back(job);
    }
}

/// Refuses a stream the pool had no room for.
fn refuse(h2: &mut H2, id: StreamId, conn_id: u64) {
    log::debug!(
        "Connection id \"{conn_id}\" stream {} refused: the worker pool's queue is full",
        id.value()
    );
    h2.controls.remove(&id);
    h2.running = h2.running.saturating_sub(1);
    h2.core.reset(id, ErrorCode::RefusedStream);
}

/// Queues the requests read in one pass as one task: handlers that are quick run one
/// after another on one worker (one hand-off and one wake-up for the lot), and once the
/// batch has run for [`BATCH_SLICE`], the rest is spread over the pool one task each, so
/// slow handlers still run in parallel.
fn submit_batch(h2: &mut H2, cx: &dyn Context, conn_id: u64) {
    if h2.batch.is_empty() {
        return;
    }
    let jobs = std::mem::take(&mut h2.batch);
    let ids: Vec<StreamId> = jobs.iter().map(|j| j.id).collect();
    let batch = Arc::new(Batch {
        jobs: Mutex::new(jobs),
        started: Mutex::new(None),
        mb: h2.mailbox.clone(),
    });
    let b = batch.clone();
    let task: Task = Box::new(move |cx: &dyn Context| run_batch(&b, cx));
    if cx.submit(task).is_err() {
        for id in ids {
            refuse(h2, id, conn_id);
        }
        return;
    }
    // Watched by the timer thread: a batch stuck behind a slow handler is spread.
    let watched: Arc<dyn Watched> = batch;
    cx.watch(Arc::downgrade(&watched));
}

/// Requests of one read pass, run one after another by one worker.
pub(crate) struct Batch {
    jobs: Mutex<VecDeque<Job>>,
    /// When a worker started on it.
    started: Mutex<Option<Instant>>,
    mb: Arc<Mailbox>,
}

/// On each tick of the timer thread: a batch whose worker has been on it for
/// [`BATCH_SLICE`] or more is spread, so that a handler that blocks (a long poll, a slow
/// backend) delays the other requests of its batch by at most a tick.
impl Watched for Batch {
    fn tick(&self, cx: &dyn Context) {
        let stale = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() >= BATCH_SLICE);
        if stale {
            self.spread_without_losing(cx);
        }
    }
}

/// How long a batch of handlers runs on one worker before the rest is handed out.
const BATCH_SLICE: Duration = Duration::from_micros(500);

/// A stream's handler, ready to run.
struct Job {
    id: StreamId,
    req: http::Request<Body>,
    head_request: bool,
    sync_io: bool,
    conn_id: u64,
    log: Log,
}

fn run_job(job: Job, mb: &Arc<Mailbox>, cx: &dyn Context, wake_after: bool) {
    let Job {
        id,
        req,
        head_request,
        sync_io,
        conn_id,
        log,
    } = job;
    let resp = match catch_unwind(AssertUnwindSafe(|| cx.handler().handle(req))) {
        Ok(r) => r,
        Err(_) => {
            log::error!(
                "Connection id \"{conn_id}\" stream {}: handler panicked; responding 500",
                id.value()
            );
            status_response(500)
        }
    };
    let done = Done {
        id,
        response: resp,
        head_request,
        log,
    };
    finish(done, sync_io, mb, cx, conn_id, wake_after);
}

fn run_batch(batch: &Batch, cx: &dyn Context) {
    let start = Instant::now();
    *batch.started.lock().unwrap_or_else(|e| e.into_inner()) = Some(start);
    let mut woke = false;
    loop {
        let Some(job) = batch
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
        else {
            break;
        };
        run_job(job, &batch.mb, cx, false);
        if start.elapsed() >= BATCH_SLICE && !woke {
            // Slow handlers: send what is done, then spread the rest over the pool.
            woke = true;
            wake(&batch.mb, cx);
            batch.spread_without_losing(cx);
        }
    }
    wake(&batch.mb, cx);
}

impl Batch {
    /// [`spread`](Self::spread), keeping a job the full queue refused in the batch.
    ///
    /// The lock is held from taking a job until it is known where it went, so that a job
    /// the full queue refused is back before the batch's worker can find the batch empty
    /// and leave: put back after that (this runs on the timer thread too), no one would
    /// run it and its stream would wait for ever.
    fn spread_without_losing(&self, cx: &dyn Context) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(job) = jobs.pop_front() {
            let mb = self.mb.clone();
            let slot = Arc::new(Mutex::new(Some(job)));
            let s2 = slot.clone();
            let task: Task = Box::new(move |cx: &dyn Context| {
                if let Some(job) = s2.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    run_job(job, &mb, cx, true);
                }
            });
            if cx.submit(task).is_err() {
                // The queue is full: the job stays for the batch's worker.
                if let Some(job) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    jobs.push_front(job);
                }
                return;
            }
        }
    }
}

/// On the handler's worker: hands the response to the connection. A synchronous-I/O
/// writer body runs here, after the hand-over, feeding the connection through a bounded
/// channel.
#[allow(clippy::too_many_arguments)]
fn finish(
    done: Done,
    sync_io: bool,
    mb: &Arc<Mailbox>,
    cx: &dyn Context,
    conn_id: u64,
    wake_after: bool,
) {
    let Done {
        id,
        response: mut resp,
        head_request,
        log,
    } = done;
    let body = std::mem::take(resp.body_mut());
    let mut trailers = body.trailers;
    let writer = match body.kind {
        Kind::Writer(f) if sync_io => Some(f),
        Kind::Writer(_) => {
            log::error!(
                "Connection id \"{conn_id}\" stream {}: the handler returned Body::from_writer \
                 without opting into synchronous I/O (AllowSynchronousIO); responding 500",
                id.value()
            );
            resp = status_response(500);
            None
        }
        Kind::Incoming(_) | Kind::Upgrade(_) => {
            log::error!(
                "Connection id \"{conn_id}\" stream {}: this body kind cannot be sent over \
                 HTTP/2; responding 500",
                id.value()
            );
            resp = status_response(500);
            None
        }
        other => {
            *resp.body_mut() = Body {
                kind: other,
                trailers: trailers.take(),
            };
            None
        }
    };
    match writer {
        None => {
            mb.push(Done {
                id,
                response: resp,
                head_request,
                log,
            });
            if wake_after {
                wake(mb, cx);
            }
        }
        Some(f) => {
            let first = cx.options().limits.writer_buffer();
            let (piece, pieces) = writer_pieces(first);
            let (tx, rx) = crossbeam_channel::bounded(pieces);
            let mut reader = Body::from_reader(
                ChannelReader {
                    rx,
                    chunk: Vec::new(),
                    pos: 0,
                },
                None,
            );
            reader.trailers = trailers;
            let send = !head_request && exchange::status_has_body(resp.status());
            *resp.body_mut() = reader;
            let mut w = ChannelWriter {
                tx,
                mb: mb.clone(),
                buf: Vec::new(),
                first,
                piece,
                cx,
                head: Some(Done {
                    id,
                    response: resp,
                    head_request,
                    log,
                }),
                send,
            };
            let mut panicked = false;
            let r = match catch_unwind(AssertUnwindSafe(|| f(&mut w))) {
                Ok(r) => r.and_then(|_| w.finish()),
                Err(p) => {
                    panicked = true;
                    log::error!(
                        "Connection id \"{conn_id}\" stream {}: the handler's response writer \
                         panicked: {}",
                        id.value(),
                        exchange::panic_message(&p)
                    );
                    Err(io::Error::other("the handler's response writer panicked"))
                }
            };
            if let Err(e) = r {
                match w.head.take() {
                    Some(mut d) => {
                        // Nothing went out: the failure is the application's (the request
                        // body was read whole before the handler ran), and a 500 answers
                        // instead (a panic was logged above).
                        if !panicked {
                            log::error!(
                                "Connection id \"{conn_id}\" stream {}: the response writer \
                                 failed: {e}; responding 500",
                                id.value()
                            );
                        }
                        d.response = status_response(500);
                        mb.push(d);
                    }
                    None => {
                        log::debug!(
                            "Connection id \"{conn_id}\" stream {}: response writer failed: {e}",
                            id.value()
                        );
                        // An empty chunk tells the connection the body is cut short: it
                        // resets the stream rather than end it as if it were complete.
                        let _ = w.tx.send(Vec::new());
                    }
                }
            }
            drop(w);
            news(mb, cx);
        }
    }
}

fn status_response(code: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
    r
}

/// Answers a stream with a bodiless status without running the handler.
fn respond_status(h2: &mut H2, id: StreamId, code: u16, log: Log, cx: &dyn Context) {
    respond(
        h2,
        Done {
            id,
            response: status_response(code),
            head_request: false,
            log,
        },
        cx,
    );
}

/// Queues a finished response in the core.
fn respond(h2: &mut H2, d: Done, cx: &dyn Context) {
    let Done {
        id,
        response,
        head_request,
        mut log,
    } = d;
    let control = h2.controls.remove(&id);
    if let Some(c) = control.as_ref().filter(|c| c.is_aborted()) {
        // Reset by the client, or aborted or reset by the handler: reset the stream.
        let code = c
            .reset_code()
            .map_or(ErrorCode::Cancel, ErrorCode::from_u32);
        h2.core.reset(id, code);
        return;
    }
    let (mut parts, body) = response.into_parts();
    cx.counters().response(parts.status.as_u16());
    if let Some(e) = log.as_mut() {
        e.set_status(parts.status.as_u16());
    }
    if !parts.headers.contains_key(DATE) {
        if let Ok(v) = crate::date::with_now(HeaderValue::from_bytes) {
            parts.headers.insert(DATE, v);
        }
    }
    if cx.options().add_server_header && !parts.headers.contains_key(SERVER) {
        parts
            .headers
            .insert(SERVER, HeaderValue::from_static(exchange::SERVER_NAME));
    }
    let trailers = body.trailers;
    let no_body = head_request || !exchange::status_has_body(parts.status);
    let kind = match body.kind {
        // No sendfile here: DATA frames carry copies.
        Kind::File(f) => Kind::Reader {
            len: Some(f.remaining),
            reader: Box::new(f),
        },
        other => other,
    };
    match kind {
        Kind::Empty => {
            if !no_body && !parts.headers.contains_key(CONTENT_LENGTH) {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(0u32));
            }
            match trailers {
                Some(t) if !no_body => {
                    h2.core
                        .send_headers(id, parts.status, &parts.headers, false);
                    h2.core.send_trailers(id, &t);
                }
                _ => h2.core.send_headers(id, parts.status, &parts.headers, true),
            }
            log_stream(cx, log);
        }
        Kind::Bytes { data, pos } => {
            let bytes = match data {
                std::borrow::Cow::Borrowed(b) => Bytes::from_static(&b[pos.min(b.len())..]),
                std::borrow::Cow::Owned(mut v) => {
                    v.drain(..pos.min(v.len()));
                    Bytes::from(v)
                }
            };
            if !parts.headers.contains_key(CONTENT_LENGTH) && !parts.status.is_informational() {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len() as u64));
            }
            if let (Some(e), false) = (log.as_mut(), no_body) {
                e.add_bytes(bytes.len() as u64);
            }
            if no_body || (bytes.is_empty() && trailers.is_none()) {
                h2.core.send_headers(id, parts.status, &parts.headers, true);
            } else {
                h2.core
                    .send_headers(id, parts.status, &parts.headers, false);
                match trailers {
                    Some(t) => {
                        if !bytes.is_empty() {
                            h2.core.send_data(id, bytes, false);
                        }
                        h2.core.send_trailers(id, &t);
                    }
                    None => h2.core.send_data(id, bytes, true),
                }
            }
            log_stream(cx, log);
        }
        Kind::Reader { reader, len } => {
            if let Some(n) = len {
                if !parts.headers.contains_key(CONTENT_LENGTH) {
                    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
                }
            }
            if no_body {
                h2.core.send_headers(id, parts.status, &parts.headers, true);
                log_stream(cx, log);
            } else {
                h2.core
                    .send_headers(id, parts.status, &parts.headers, false);
                h2.bodies.insert(id, (reader, trailers, log));
            }
        }
        // Turned into a reader or a 500 by `finish`; files into readers above.
        Kind::Writer(_) | Kind::Incoming(_) | Kind::Upgrade(_) | Kind::File(_) => {
            h2.core.reset(id, ErrorCode::InternalError);
        }
    }
}

/// Logs a stream whose response is all queued: the bytes are the DATA queued for it (the
/// connection's core sends them as the client's flow-control windows open).
fn log_stream(cx: &dyn Context, log: Log) {
    if let (Some(e), Some(l)) = (log, cx.access_log()) {
        let (status, bytes) = (e.status(), e.bytes());
        l.finish(e, status, bytes);
    }
}

/// Pulls reader bodies into the core while their streams have room.
fn pull_bodies(h2: &mut H2, conn_id: u64, cx: &dyn Context) {
    if h2.bodies.is_empty() {
        // Bodies can also end elsewhere (a reset stream): the buffer goes with the last.
        h2.body_buf = Vec::new();
        return;
    }
    let mut finished = Vec::new();
    let most = MAX_QUEUED_PER_STREAM.min(cx.options().limits.writer_buffer());
    // One buffer for the reads, kept from pass to pass: a pass whose readers have nothing
    // (a writer between two pieces) allocates nothing. A read that fills at least half of
    // it takes it along whole (the next read gets a fresh one); a smaller one is copied out
    // at its size. Queued pieces thus cost at most twice their bytes: a queue bounded in
    // bytes stays bounded in memory however small the reads (a 16 KiB buffer kept per
    // 100-byte piece made a stream's 64 KiB queue cost 10 MB).
    let mut chunk = std::mem::take(&mut h2.body_buf);
    for (id, (reader, trailers, log)) in h2.bodies.iter_mut() {
        while h2.core.queued_data(*id) < most {
            if chunk.is_empty() {
                chunk = vec![0u8; READ_CHUNK];
            }
            match reader.read(&mut chunk) {
                Ok(0) => {
                    match trailers.take() {
                        Some(t) => h2.core.send_trailers(*id, &t),
                        None => h2.core.send_data(*id, Bytes::new(), true),
                    }
                    finished.push(*id);
                    break;
                }
                Ok(n) => {
                    // A reader that claims more than the buffer gave it is held to it.
                    let n = n.min(chunk.len());
                    if let Some(e) = log.as_mut() {
                        e.add_bytes(n as u64);
                    }
                    let data = if n >= READ_CHUNK / 2 {
                        let mut whole = std::mem::take(&mut chunk);
                        whole.truncate(n);
                        Bytes::from(whole)
                    } else {
                        Bytes::copy_from_slice(&chunk[..n])
                    };
                    h2.core.send_data(*id, data, false);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::error!(
                        "Connection id \"{conn_id}\" stream {}: reading the response body \
                         failed: {e}; resetting the stream",
                        id.value()
                    );
                    h2.core.reset(*id, ErrorCode::InternalError);
                    finished.push(*id);
                    break;
                }
            }
        }
    }
    for id in finished {
        if let Some((_, _, log)) = h2.bodies.remove(&id) {
            log_stream(cx, log);
        }
    }
    // A connection with no body left to read holds no buffer.
    if !h2.bodies.is_empty() {
        h2.body_buf = chunk;
    }
}

/// The connection's end of a synchronous-I/O writer: `WouldBlock` until the writer
/// sends the next chunk.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.chunk.len() {
            match self.rx.try_recv() {
                Ok(c) if c.is_empty() => {
                    return Err(io::Error::other("the response writer failed"));
                }
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(TryRecvError::Empty) => return Err(io::ErrorKind::WouldBlock.into()),
                Err(TryRecvError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The handler's end: blocks when the connection is its channel's pieces behind (the
/// client reads slowly), which is what synchronous I/O means.
///
/// The response waits here until the writer's first bytes go out (its first
/// MaxResponseBufferSize bytes or a flush), as HTTP/1's does: a writer that fails before
/// then is answered with a 500, and one that ends before then sends its whole body at
/// once, with a Content-Length. Later pieces are [`writer_pieces`]' size: 16 KiB, or
/// MaxResponseBufferSize when that is smaller.
struct ChannelWriter<'a> {
    tx: Sender<Vec<u8>>,
    mb: Arc<Mailbox>,
    buf: Vec<u8>,
    /// The size of the first piece (MaxResponseBufferSize).
    first: usize,
    /// The size of the later pieces ([`writer_pieces`]).
    piece: usize,
    cx: &'a dyn Context,
    /// The response (its body the connection's end of the channel) until it starts.
    head: Option<Done>,
    /// Whether the body is sent (not for HEAD, nor for a status without a body).
    send: bool,
}

impl ChannelWriter<'_> {
    /// The writer has returned: a response that has not started goes out whole.
    fn finish(&mut self) -> io::Result<()> {
        let Some(mut d) = self.head.take() else {
            return self.flush();
        };
        let trailers = d.response.body_mut().trailers.take();
        let mut body = if self.send {
            Body::from(std::mem::take(&mut self.buf))
        } else {
            Body::empty()
        };
        body.trailers = trailers;
        *d.response.body_mut() = body;
        self.mb.push(d);
        wake(&self.mb, self.cx);
        Ok(())
    }
}

impl Write for ChannelWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.send {
            self.buf.extend_from_slice(data);
            let piece = if self.head.is_some() {
                self.first
            } else {
                self.piece
            };
            if self.buf.len() >= piece {
                self.flush()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(d) = self.head.take() {
            // The response starts: HEADERS now, the body through the channel.
            self.mb.push(d);
            if self.buf.is_empty() {
                wake(&self.mb, self.cx);
            }
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(self.piece));
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "stream closed"))?;
        news(&self.mb, self.cx);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Weak};

    use crate::conn::context::{Context, Task, Watched};
    use crate::conn::{drive, Conn, EndpointCtx, Next};
    use crate::handler::{Handler, Response};
    use crate::io::{DeadlineIo, Transport};
    use crate::options::{Protocols, ServerOptions};
    use crate::request::{Address, ConnectionInfo};
    use crate::stats::{ConnGuard, Counters};

    /// The server as the driver sees it, with no pool (tasks are refused) and no event
    /// loop: the test plays the event loop.
    struct Cx {
        options: ServerOptions,
        counters: Arc<Counters>,
        handler: Box<dyn Handler>,
    }

    impl Context for Cx {
        fn options(&self) -> &ServerOptions {
            &self.options
        }
        fn handler(&self) -> &dyn Handler {
            &*self.handler
        }
        fn counters(&self) -> &Arc<Counters> {
            &self.counters
        }
        fn is_shutting_down(&self) -> bool {
            false
        }
        fn submit(&self, task: Task) -> Result<(), Task> {
            Err(task)
        }
        fn wake(&self, _token: u64) {}
        fn watch(&self, _w: Weak<dyn Watched>) {}
        fn access_log(&self) -> Option<&crate::access_log::AccessLog> {
            None
        }
    }

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// A cleartext connection whose client has sent the preface, a POST's HEADERS
    /// (stream 1, body to follow), `body` bytes of DATA in 4,000-byte frames and a PING
    /// (whose answer gives the drive output to write after the socket ran dry).
    fn upload(cx: &Cx, body: usize) -> (Box<Conn>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let local = Address::Ip(server.local_addr().unwrap());
        let remote = Address::Ip(server.peer_addr().unwrap());
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(0x4, 0, 0, &[]));
        // :method POST, :scheme http, :path /, :authority a; END_HEADERS only.
        bytes.extend(frame(0x1, 0x4, 1, &[0x83, 0x86, 0x84, 0x41, 0x01, b'a']));
        let mut left = body;
        while left > 0 {
            let n = left.min(4000);
            bytes.extend(frame(0x0, 0, 1, &vec![b'x'; n]));
            left -= n;
        }
        bytes.extend(frame(0x6, 0, 0, &[0; 8]));
        client.write_all(&bytes).unwrap();
        // Everything is in the server's socket before the first drive.
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut peek = vec![0u8; bytes.len()];
        while server.peek(&mut peek).unwrap() < bytes.len() {
            assert!(std::time::Instant::now() < give_up, "bytes never arrived");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let endpoint = Arc::new(EndpointCtx {
            name: "test".into(),
            counters: Default::default(),
            #[cfg(feature = "tls")]
            tls: None,
            url: "http://127.0.0.1".into(),
            protocols: Protocols::Http1AndHttp2,
            synchronous_io: false,
            connection_logging: false,
        });
        let abort = Arc::new(crate::server::event_loop::new_event().unwrap());
        let io = DeadlineIo::new(Transport::Tcp(Arc::new(server)), abort, None);
        let info = ConnectionInfo::new(1, local, remote, "test".into());
        let guard = ConnGuard::try_new(&cx.counters, None).unwrap();
        (Conn::new(io, info, endpoint, guard, 0, cx), client)
    }

    /// A writer's later pieces and its channel follow MaxResponseBufferSize: the default
    /// (64 KiB) keeps four 16 KiB pieces; a smaller limit gives fewer or smaller ones.
    #[test]
    fn writer_pieces_follow_the_response_buffer_size() {
        use super::writer_pieces;
        assert_eq!(writer_pieces(64 * 1024), (16 * 1024, 4));
        assert_eq!(writer_pieces(1024 * 1024), (16 * 1024, 4));
        assert_eq!(writer_pieces(40 * 1024), (16 * 1024, 2));
        assert_eq!(writer_pieces(16 * 1024), (16 * 1024, 1));
        assert_eq!(writer_pieces(4096), (4096, 1));
        assert_eq!(writer_pieces(1), (1, 1));
    }

    /// The second soak loss: a drive used up its turn in a round whose read found the
    /// socket empty (its progress was writing the PING's answer) and yielded. Bytes that
    /// came meanwhile raised an event while the connection was out, which the event loop
    /// folds into the one ready-list entry of the requeue. The drive from that entry must
    /// read them: before the fix it trusted the stale "socket empty" hint, parked, and the
    /// bytes waited for an event that had been spent, until MinRequestBodyDataRate closed
    /// the connection.
    #[test]
    fn the_drive_after_a_yield_reads_the_socket() {
        let cx = Cx {
            options: ServerOptions::default(),
            counters: Arc::default(),
            handler: Box::new(|_req: crate::Request| Response::new(crate::Body::empty())),
        };
        // The body length at which the turn ends in that round depends on the read
        // buffer's size: look for it.
        let mut tried = 0;
        let (mut conn, mut client) = (8_000..120_000)
            .step_by(500)
            .find_map(|body| {
                tried += 1;
                let (conn, client) = upload(&cx, body);
                match drive(conn, &cx) {
                    Next::Yield(c) if !c.link.io.stream.has_unread() => Some((c, client)),
                    _ => None,
                }
            })
            .unwrap_or_else(|| panic!("no drive ran dry at the end of its turn ({tried} tried)"));
        // More of the body arrives; the event loop requeues the connection (forgetting
        // that its socket was found empty) and drives it again.
        client.write_all(&frame(0x0, 0, 1, &[b'y'; 100])).unwrap();
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !conn.link.io.stream.has_unread() {
            assert!(std::time::Instant::now() < give_up, "bytes never arrived");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        conn.link.io.forget_drained();
        let conn = match drive(conn, &cx) {
            Next::Park(c) | Next::Yield(c) => c,
            Next::Close => panic!("connection closed"),
        };
        assert!(
            !conn.link.io.stream.has_unread(),
            "the client's bytes were left in the socket"
        );
    }
}

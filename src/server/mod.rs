//! The server: listeners with one blocking accept thread each, the bounded worker pool,
//! the poller, and graceful shutdown.
//!
//! Threads: one accept thread per bound socket, `workers` worker threads (explicit stack
//! size) fed by the event loops and by a bounded crossbeam channel of `queue_capacity`
//! connections and tasks, and one timer thread. Upgraded connections get a thread each,
//! outside the pool, bounded by MaxConcurrentUpgradedConnections.
//!
//! Worst-case memory: `workers × worker_stack_size` (virtual; touched pages only are
//! resident) + open connections × (read buffer, 4 KiB idle, up to MaxRequestBufferSize
//! while a head or pipelined requests are buffered) + buffered request bodies (up to
//! MaxRequestBodySize each, one per busy worker).

pub(crate) mod event_loop;
pub(crate) mod listener;
#[allow(unsafe_code)]
pub(crate) mod systemd;

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TryRecvError};
use rustix::event::{poll, PollFd, PollFlags};

use crate::conn::{drive, Conn, Context, EndpointCtx, Next, Task, Watched};
use crate::handler::Handler;
use crate::io::DeadlineIo;
use crate::options::ServerOptions;
use crate::request::{Address, ConnectionInfo};
use crate::stats::{ConnGuard, Counters};
use crate::Error;
use event_loop::{EventLoops, Parked, Waited};
use listener::Listener;

/// What the worker pool runs: a connection to drive, or a task (an HTTP/2 stream's
/// handler).
pub(crate) enum Work {
    Conn(Box<Conn>),
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    Task(Task),
}

/// State shared by every thread of one server.
pub(crate) struct Shared {
    pub(crate) options: ServerOptions,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) counters: Arc<Counters>,
    shutting_down: AtomicBool,
    aborting: AtomicBool,
    poller_exit: AtomicBool,
    /// Readable once connections must be aborted; every I/O wait watches it.
    pub(crate) abort: Arc<OwnedFd>,
    /// Readable once accept threads must stop.
    stop: OwnedFd,
    /// The event loops (shards) where connections wait.
    pub(crate) poller: EventLoops,
    next_id: AtomicU64,
    /// The pool's queue, for tasks submitted from workers (HTTP/2 streams); taken at the
    /// end of shutdown so that the workers see the queue closed.
    pool: Mutex<Option<Sender<Work>>>,
    /// Work the timer thread looks at on each tick (HTTP/2 request batches being run).
    pub(crate) watched: Mutex<Vec<std::sync::Weak<dyn Watched>>>,
    /// The access log's queue and writer, when configured.
    access_log: Option<crate::access_log::AccessLog>,
}

impl Shared {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn is_aborting(&self) -> bool {
        self.aborting.load(Ordering::Acquire)
    }

    pub(crate) fn poller_should_exit(&self) -> bool {
        self.poller_exit.load(Ordering::Acquire)
    }

    /// Queues a task for the pool without waiting; gives it back when the queue is full
    /// or closed.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn submit(&self, task: Task) -> Result<(), Task> {
        let guard = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Err(task);
        };
        match tx.try_send(Work::Task(task)) {
            Ok(()) => {
                drop(guard);
                self.poller.notify_work();
                Ok(())
            }
            Err(e) => match e.into_inner() {
                Work::Task(t) => Err(t),
                Work::Conn(_) => unreachable!("a task was sent"),
            },
        }
    }

    /// Hands a connection to its event loop (from a thread that will not look at the
    /// loop's ready list next: the timer thread, an accept thread).
    pub(crate) fn park(&self, conn: Box<Conn>) {
        let shard = conn.link.shard;
        if let Parked::Ready = self.poller.park(conn, self) {
            self.poller.shard(shard).notify();
        }
    }
}

impl Context for Shared {
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
        Shared::is_shutting_down(self)
    }

    fn submit(&self, task: Task) -> Result<(), Task> {
        Shared::submit(self, task)
    }

    fn wake(&self, token: u64) {
        if let Some(mut conn) = self.poller.take_parked(token) {
            conn.on_woken();
            // Had it yielded, it waits on its shard's ready list: nothing more to do here.
            let _ = run_conn(conn, self);
        }
    }

    fn access_log(&self) -> Option<&crate::access_log::AccessLog> {
        self.access_log.as_ref()
    }

    fn watch(&self, w: std::sync::Weak<dyn Watched>) {
        let mut all = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        let first = all.is_empty();
        all.push(w);
        drop(all);
        if first {
            // The timer thread may be asleep for up to a second: it must tick now.
            self.poller.wake();
        }
    }
}

/// An HTTP server: options plus a handler. [`start`](Server::start) it in the background
/// or [`run`](Server::run) it on the calling thread.
///
/// ```no_run
/// use falconet::{Body, Request, Response, Server, ServerOptions};
///
/// let mut options = ServerOptions::default();
/// options.urls = vec!["http://127.0.0.1:8080".into()];
/// Server::new(options, |_req: Request| Response::new(Body::from("Hello, World!")))
///     .run()
///     .unwrap();
/// ```
pub struct Server {
    options: ServerOptions,
    handler: Box<dyn Handler>,
}

impl Server {
    /// A server with these options and this handler.
    pub fn new(options: ServerOptions, handler: impl Handler) -> Self {
        Server {
            options,
            handler: Box::new(handler),
        }
    }

    /// Serves on the calling thread until SIGINT or SIGTERM, then shuts down gracefully
    /// within [`ServerOptions::shutdown_timeout`]. SIGHUP reloads the certificates of HTTPS
    /// endpoints from their files; SIGUSR1 reopens the access log's file
    /// ([`ServerHandle::reopen_access_log`]).
    ///
    /// Under systemd (`NOTIFY_SOCKET` set, `Type=notify`) it reports `READY=1` once every
    /// endpoint is listening and `STOPPING=1` when shutdown begins
    /// ([`notify_systemd`](crate::notify_systemd)); without `NOTIFY_SOCKET` nothing is sent.
    pub fn run(self) -> Result<(), Error> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
        let timeout = self.options.shutdown_timeout;
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
            .map_err(|e| Error::io("cannot install signal handlers", e))?;
        let handle = self.start()?;
        // Before the signal thread starts, so that STOPPING=1 (sent there) cannot overtake
        // READY=1; a signal that arrives meanwhile waits in `signals`.
        notify_systemd(&format!(
            "READY=1\nSTATUS=Listening on {}",
            handle.urls().join(" ")
        ));
        let h2 = handle.clone();
        let signals_handle = signals.handle();
        std::thread::Builder::new()
            .name("falconet-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if sig == SIGUSR1 {
                        log::info!("Received SIGUSR1; reopening the access log");
                        h2.reopen_access_log();
                        continue;
                    }
                    if sig == SIGHUP {
                        #[cfg(feature = "tls")]
                        {
                            let n = h2.reload_certificates();
                            log::info!("Received SIGHUP; reloaded {n} certificate(s)");
                        }
                        #[cfg(not(feature = "tls"))]
                        log::info!("Received SIGHUP; nothing to reload");
                        continue;
                    }
                    log::info!("Received signal {sig}; shutting down");
                    notify_systemd("STOPPING=1");
                    h2.shutdown(timeout);
                    break;
                }
            })
            .map_err(|e| Error::io("cannot start the signal thread", e))?;
        handle.wait();
        signals_handle.close();
        Ok(())
    }

    /// Binds every endpoint and starts serving in the background.
    pub fn start(self) -> Result<ServerHandle, Error> {
        let Server {
            mut options,
            mut handler,
        } = self;
        let started = Instant::now();
        let stats_source = Arc::new(std::sync::OnceLock::new());
        if options.status.path.is_some() {
            handler = Box::new(crate::status::StatusHandler {
                inner: handler,
                options: options.status.clone(),
                source: stats_source.clone(),
            });
        }
        options.validate()?;
        let mut https_policy = None;
        handler = match crate::https_policy::HttpsPolicy::wrap(
            handler,
            &options.https_redirection,
            &options.hsts,
        ) {
            Ok(p) => {
                let p = Arc::new(p);
                https_policy = Some(p.clone());
                Box::new(p)
            }
            Err(h) => h,
        };
        // Compression sees the response last, whatever produced it (application, status
        // endpoint, redirect).
        #[cfg(feature = "compression")]
        {
            handler = match crate::compression::middleware::ResponseCompression::wrap(
                handler,
                &options.response_compression,
            ) {
                Ok(c) => {
                    // Unoptimised builds of miniz_oxide build its deflate state (over
                    // 64 KiB) on the stack before boxing it, and overflow a 256 KiB
                    // worker; optimised builds need under 64 KiB for either encoder.
                    #[cfg(debug_assertions)]
                    if options.worker_stack_size < 1 << 20 {
                        log::debug!(
                            "debug build with response compression: worker stacks raised \
                             to 1 MiB (the unoptimised gzip encoder needs more than 256 KiB)"
                        );
                        options.worker_stack_size = 1 << 20;
                    }
                    Box::new(c)
                }
                Err(h) => h,
            };
        }
        let (endpoints, warnings) = crate::config::resolve_endpoints(&options)?;
        for w in warnings {
            log::warn!("{w}");
        }
        for ep in &endpoints {
            check_scheme(ep)?;
        }
        options.allowed_hosts.retain(|h| !h.trim().is_empty());
        if options.allowed_hosts.iter().any(|h| h.trim() == "*") {
            options.allowed_hosts.clear();
        }
        // Bind everything first: a bind failure stops startup before any thread starts.
        let mut inherited = listener::Inherited::new(&endpoints)?;
        let mut bound: Vec<(Listener, Arc<EndpointCtx>)> = Vec::new();
        #[cfg(feature = "tls")]
        let mut cert_slots = Vec::new();
        for ep in &endpoints {
            let ctx_name: Arc<str> = match &ep.name {
                Some(n) => Arc::from(n.as_str()),
                None => Arc::from(""),
            };
            let https = ep.scheme == crate::options::Scheme::Https;
            // TLS setup first: a certificate error is reported before anything is bound.
            #[cfg(feature = "tls")]
            let tls = if https {
                let label = match &ep.name {
                    Some(n) => n.clone(),
                    None => crate::config::urls::describe(ep),
                };
                let t = crate::tls::endpoint::TlsEndpoint::build(ep, &label, &options)?;
                cert_slots.extend(t.slots.iter().cloned());
                Some(Arc::new(t))
            } else {
                None
            };
            for l in listener::bind(ep, options.listen_backlog, &mut inherited)? {
                let url = if https {
                    l.url().replacen("http://", "https://", 1)
                } else {
                    l.url()
                };
                let name = if ctx_name.is_empty() {
                    Arc::from(url.as_str())
                } else {
                    ctx_name.clone()
                };
                let ctx = Arc::new(EndpointCtx {
                    counters: Default::default(),
                    #[cfg(feature = "tls")]
                    tls: tls.clone(),
                    url,
                    protocols: ep.protocols,
                    name,
                    synchronous_io: ep
                        .allow_synchronous_io
                        .unwrap_or(options.allow_synchronous_io),
                    connection_logging: ep.connection_logging,
                });
                bound.push((l, ctx));
            }
        }
        inherited.finish();
        for (_, ctx) in &bound {
            log::info!("Now listening on: {}", ctx.url);
        }
        if let Some(p) = https_policy.as_ref().filter(|p| p.redirects()) {
            p.set_https_ports(
                bound
                    .iter()
                    .filter(|(_, ctx)| ctx.url.starts_with("https://"))
                    .filter_map(|(l, _)| match l.address() {
                        Address::Ip(a) => Some(a.port()),
                        Address::Unix(_) => None,
                    })
                    .collect(),
            );
        }
        let addresses: Vec<Address> = bound.iter().map(|(l, _)| l.address()).collect();
        let urls: Vec<String> = bound.iter().map(|(_, ctx)| ctx.url.clone()).collect();

        let io_err = |what: &str, e: std::io::Error| Error::io(format!("cannot {what}: {e}"), e);
        let (pool_tx, pool_rx) = crossbeam_channel::bounded::<Work>(options.queue_capacity);
        let workers = options.workers;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Every shard needs a worker of its own.
        let shards = options.event_loops.unwrap_or(cores).min(workers);
        let poller =
            EventLoops::new(shards, cores).map_err(|e| io_err("create the event loops", e))?;
        log::debug!(
            "{workers} workers on {} event loop(s), {cores} core(s)",
            poller.len()
        );
        let abort = Arc::new(event_loop::new_event().map_err(|e| io_err("create an eventfd", e))?);
        let stop = event_loop::new_event().map_err(|e| io_err("create an eventfd", e))?;
        // Before the workers and accept threads start: a growth then holds up no one.
        presize_fd_table(&stop, options.limits.max_concurrent_connections);
        let stack = options.worker_stack_size;
        let counters = Arc::new(Counters::default());
        #[cfg(feature = "access-log")]
        let access_log = crate::access_log::AccessLog::start(&options.access_log, &counters)?;
        #[cfg(not(feature = "access-log"))]
        let access_log = None;
        let _ = stats_source.set(crate::status::StatsSource {
            counters: counters.clone(),
            endpoints: bound
                .iter()
                .map(|(_, c)| (c.name.to_string(), c.counters.clone()))
                .collect(),
            workers,
            queue: {
                let rx = pool_rx.clone();
                Box::new(move || rx.len())
            },
            started,
        });
        let shared = Arc::new(Shared {
            options,
            handler,
            counters,
            shutting_down: AtomicBool::new(false),
            aborting: AtomicBool::new(false),
            poller_exit: AtomicBool::new(false),
            abort,
            stop,
            poller,
            next_id: AtomicU64::new(1),
            pool: Mutex::new(Some(pool_tx.clone())),
            watched: Mutex::new(Vec::new()),
            access_log,
        });

        let mut worker_threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let rx = pool_rx.clone();
            let sh = shared.clone();
            let t = std::thread::Builder::new()
                .name(format!("falconet-worker-{i}"))
                .stack_size(stack)
                .spawn(move || worker_loop(rx, sh, i))
                .map_err(|e| io_err("start a worker thread", e))?;
            worker_threads.push(t);
        }
        drop(pool_rx);
        let mut threads = Vec::new();
        {
            let sh = shared.clone();
            let tx = pool_tx.clone();
            let t = std::thread::Builder::new()
                .name("falconet-timers".into())
                .spawn(move || event_loop::run(&sh, tx))
                .map_err(|e| io_err("start the timer thread", e))?;
            threads.push(t);
        }
        #[cfg(feature = "tls")]
        if !cert_slots.is_empty() {
            let sh = shared.clone();
            let slots = cert_slots.clone();
            let t = std::thread::Builder::new()
                .name("falconet-certs".into())
                .spawn(move || crate::tls::reload::watch(slots, &sh.stop))
                .map_err(|e| io_err("start the certificate watcher", e))?;
            threads.push(t);
        }
        for (l, ctx) in bound {
            let sh = shared.clone();
            let tx = pool_tx.clone();
            let t = std::thread::Builder::new()
                .name("falconet-accept".into())
                .spawn(move || accept_loop(l, ctx, sh, tx))
                .map_err(|e| io_err("start an accept thread", e))?;
            threads.push(t);
        }
        Ok(ServerHandle {
            inner: Arc::new(HandleInner {
                shared,
                addresses,
                urls,
                stats: stats_source,
                #[cfg(feature = "tls")]
                cert_slots,
                threads: Mutex::new(Some((threads, worker_threads))),
                queue_tx: Mutex::new(Some(pool_tx)),
                done: Mutex::new(false),
                done_cv: Condvar::new(),
            }),
        })
    }
}

/// An `https` endpoint needs TLS support; an `http` one must carry no HTTPS settings.
fn check_scheme(ep: &crate::options::EndpointOptions) -> Result<(), Error> {
    let https = ep.scheme == crate::options::Scheme::Https;
    #[cfg(feature = "tls")]
    if !https && ep.https.has_settings() {
        let name = match &ep.name {
            Some(n) => format!("'{n}'"),
            None => crate::config::urls::describe(ep),
        };
        return Err(Error::config(format!(
            "The endpoint {name} is http but has HTTPS settings (certificate, SNI, TLS versions \
             or client certificates); use an https:// URL or remove them"
        )));
    }
    #[cfg(not(feature = "tls"))]
    if https {
        return Err(Error::config(
            "HTTPS endpoints need falconet's `tls` feature, which this build leaves out; use \
             http:// or rebuild with --features tls",
        ));
    }
    #[cfg(not(feature = "http2"))]
    if ep.protocols == crate::options::Protocols::Http2 {
        return Err(Error::config(
            "Protocols Http2 needs falconet's `http2` feature, which this build leaves out; \
             use Http1 or Http1AndHttp2, or rebuild with --features http2",
        ));
    }
    Ok(())
}

/// Sends `state` to systemd if it asked for notifications; a failure is logged, never
/// fatal (the service manager then times the start out and says why).
fn notify_systemd(state: &str) {
    match systemd::notify(state) {
        Ok(true) => log::debug!("Notified systemd: {}", state.replace('\n', "; ")),
        Ok(false) => {}
        Err(e) => log::warn!("Cannot notify systemd ({state:?}): {e}"),
    }
}

/// Drives a connection on this worker until it parks or closes. A connection that got an
/// event while it was being driven is taken back from its shard's ready list at once, and
/// an HTTP/2 connection whose mailbox got a response while it was being parked likewise
/// (see `http2::driver` for the wake-up protocol).
///
/// Returns `true` when the connection had its turn and was put at the back of its
/// shard's ready list ([`Next::Yield`]): the worker then looks at the pool's queue before
/// it takes the next ready connection, so that new connections are not starved either.
#[must_use]
pub(crate) fn run_conn(mut conn: Box<Conn>, shared: &Shared) -> bool {
    loop {
        shared.counters.worker_busy(true);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drive(conn, shared)));
        shared.counters.worker_busy(false);
        match r {
            Ok(Next::Park(c)) => {
                #[cfg(feature = "http2")]
                let mailbox = c.h2_mailbox();
                let shard = c.link.shard;
                if let Parked::Ready = shared.poller.park(c, shared) {
                    if let Some(c) = shared.poller.shard(shard).pop_ready(shared) {
                        conn = c;
                        continue;
                    }
                }
                #[cfg(feature = "http2")]
                if let Some(mb) = mailbox {
                    if mb.has_pending() {
                        let token = mb.parked.swap(0, Ordering::AcqRel);
                        if token != 0 {
                            if let Some(c) = shared.poller.take_parked(token) {
                                conn = c;
                                continue;
                            }
                        }
                    }
                }
                return false;
            }
            Ok(Next::Yield(c)) => {
                // Its turn is over: the connections whose events are waiting go first.
                let shard = shared.poller.shard(c.link.shard).clone();
                shard.harvest();
                let queued = matches!(shared.poller.requeue(c, shared), Parked::Ready);
                // A worker waiting on that shard (this one may belong to another, as
                // when a finished HTTP/2 handler drove it) takes it from there; without
                // one the timer thread hands it to the pool.
                if queued && shard.has_waiters() {
                    shard.notify();
                }
                return queued;
            }
            Ok(Next::Close) => return false,
            Err(_) => {
                log::error!("worker: connection driver panicked; connection dropped");
                return false;
            }
        }
    }
}

/// A worker: belongs to shard `index % shards`. It works through its shard's ready list,
/// then the pool's queue, then waits on its shard's epoll set (or, when enough workers of
/// the shard wait there already, on the queue).
fn worker_loop(rx: Receiver<Work>, shared: Arc<Shared>, index: usize) {
    let shard = shared.poller.shard(index).clone();
    let run = |work: Work| match work {
        Work::Conn(c) => run_conn(c, &shared),
        Work::Task(t) => {
            shared.counters.worker_busy(true);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t(&*shared)));
            shared.counters.worker_busy(false);
            if r.is_err() {
                log::error!("worker: a task panicked");
            }
            false
        }
    };
    // After a connection yielded: the queue before the ready list, once.
    let mut queue_first = false;
    loop {
        if !std::mem::take(&mut queue_first) {
            if let Some(conn) = shard.pop_ready(&shared) {
                queue_first = run_conn(conn, &shared);
                continue;
            }
        }
        match rx.try_recv() {
            Ok(work) => {
                // The queue's eventfd was drained by whoever woke; pass the word on.
                if !rx.is_empty() {
                    shared.poller.notify_work();
                }
                queue_first = run(work);
                continue;
            }
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {}
        }
        // Nothing at hand: wait on the shard's epoll set, where a ready connection comes
        // straight to this worker; or, when enough workers wait there already, on the
        // queue (the timer thread queues the ready connections of a shard whose waiters
        // are all busy, say in slow handlers).
        if shard.try_become_waiter() {
            // A job queued just before this worker became a waiter may not have
            // signaled the eventfd (see EventLoops::notify_work): look once more.
            std::sync::atomic::fence(Ordering::SeqCst);
            if !rx.is_empty() || shard.should_not_wait() {
                shard.release_waiter();
                continue;
            }
            match shard.wait(&shared, Duration::from_secs(1)) {
                Waited::Conn(conn) => queue_first = run_conn(conn, &shared),
                Waited::Work | Waited::Nothing => {}
            }
        } else {
            match rx.recv() {
                Ok(work) => queue_first = run(work),
                Err(_) => return,
            }
        }
    }
}

/// Descriptors the table is sized for when MaxConcurrentConnections is not set (within
/// RLIMIT_NOFILE): 16,384 slots, 128 KiB of kernel memory (8 bytes a slot).
const FD_TABLE_DEFAULT: u64 = 16_384;

/// Descriptors beyond the connections themselves: listeners, event loops, eventfds, a
/// file being sent, log files.
const FD_TABLE_SLACK: u64 = 64;

/// How many descriptors [`presize_fd_table`] tries to make room for: MaxConcurrentConnections
/// and some slack when it is set, else [`FD_TABLE_DEFAULT`], rounded up to a power of two
/// (the kernel's table sizes are powers of two).
fn fd_table_target(max_connections: Option<u64>) -> u64 {
    max_connections
        .map_or(FD_TABLE_DEFAULT, |m| m.saturating_add(FD_TABLE_SLACK))
        .min(FD_TABLE_MAX)
        .next_power_of_two()
}

/// Linux allows at most 2^30 descriptors in a process (`fs.nr_open` cannot go higher).
const FD_TABLE_MAX: u64 = 1 << 30;

/// Grows the process's descriptor table once, at start, to hold as many descriptors as
/// the server expects to keep open ([`fd_table_target`]), within the soft RLIMIT_NOFILE.
///
/// Linux grows the table by doubling when a descriptor past its end is opened, and in a
/// process with more than one thread each growth waits for an RCU grace period (8–30 ms
/// measured here) during which no thread can open a descriptor: the accept thread stops,
/// and under a burst of connections the listen backlog overflows, so that some clients'
/// SYNs are dropped and retried a second later. Measured with bench/peers idle-probe
/// (10,000 connections in a burst, server on one core): 8 of 8 runs overflowed (1.4–3.5 s
/// to connect them all) before, 0 of 8 after (0.35–0.50 s; nginx, one thread, 0.42 s).
///
/// A descriptor duplicated into the table's last slot (`F_DUPFD_CLOEXEC`) and closed at
/// once makes the kernel grow it now; it never shrinks. Past the soft RLIMIT_NOFILE the
/// call fails (EINVAL) and half the size is tried, down to the 64 slots a table starts
/// with: the table ends at the largest power of two within the limit (all of it, for the
/// usual limits 1,024, 4,096, 65,536 ...). Should every try fail, the table grows when it
/// must, as it would have.
fn presize_fd_table(fd: &OwnedFd, max_connections: Option<u64>) {
    let mut slots = fd_table_target(max_connections) as i32;
    while slots > 64 {
        // Dropped at once: the slot is free again.
        if rustix::io::fcntl_dupfd_cloexec(fd, slots - 1).is_ok() {
            return;
        }
        slots /= 2;
    }
}

/// The most connections an accept thread takes from the listen backlog once shutdown has
/// begun, beyond the backlog's size (the kernel may queue a few more than it).
const DRAIN_SLACK: usize = 64;

/// One accept thread: waits for connections and parks each in its event loop when a worker
/// waits there (the worker drives it when its request arrives), else hands it to the
/// pool's bounded queue, which gives back-pressure when every worker is busy. When shutdown
/// begins, it accepts what already waits in the listen backlog (a client that connected
/// and sent its request before the signal is served, with `Connection: close`, rather
/// than reset when the listener closes), then closes the listener.
fn accept_loop(l: Listener, ep: Arc<EndpointCtx>, shared: Arc<Shared>, tx: Sender<Work>) {
    let mut last_error_log: Option<Instant> = None;
    let mut suppressed = 0u64;
    // Counts the connections taken from the backlog once shutdown began: `Some` then.
    let mut draining: Option<usize> = None;
    let drain_max = shared.options.listen_backlog as usize + DRAIN_SLACK;
    'outer: loop {
        if draining.is_none() {
            let mut fds = [
                PollFd::new(&l, PollFlags::IN),
                PollFd::new(&shared.stop, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) => {
                    if !fds[1].revents().is_empty() {
                        draining = Some(0);
                    }
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    log::error!("accept loop: poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        loop {
            if shared.is_aborting() {
                break 'outer;
            }
            if let Some(n) = draining.as_mut() {
                if *n >= drain_max {
                    break 'outer;
                }
                *n += 1;
            } else if shared.is_shutting_down() {
                draining = Some(0);
                continue;
            }
            match l.accept() {
                Ok((stream, remote, local)) => {
                    let limits = &shared.options.limits;
                    let Some(mut guard) =
                        ConnGuard::try_new(&shared.counters, limits.max_concurrent_connections)
                    else {
                        log::info!(
                            "Connection from {remote} refused: MaxConcurrentConnections ({}) reached",
                            limits.max_concurrent_connections.unwrap_or(0)
                        );
                        drop(stream);
                        continue;
                    };
                    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                    log::debug!(
                        "Connection id \"{id}\" accepted from {remote} on {}",
                        ep.name
                    );
                    guard.track(id, &stream);
                    guard.on_endpoint(&ep.counters);
                    let info = ConnectionInfo::new(id, local, remote, ep.name.clone());
                    #[cfg(feature = "tls")]
                    let stream = match &ep.tls {
                        Some(_) => crate::io::Transport::Tls(Box::new(
                            crate::io::tls::TlsStream::new(stream),
                        )),
                        None => stream,
                    };
                    let io = DeadlineIo::new(
                        stream,
                        shared.abort.clone(),
                        ep.connection_logging.then_some(id),
                    );
                    #[allow(unused_mut)]
                    let mut conn = Conn::new(
                        io,
                        info,
                        ep.clone(),
                        guard,
                        shared.poller.assign(),
                        &*shared,
                    );
                    // The handshake runs on a worker, never here.
                    #[cfg(feature = "tls")]
                    if let Some(t) = &ep.tls {
                        conn.begin_handshake(t.handshake_timeout);
                    }
                    // A worker waits on the connection's event loop: park the connection
                    // there, as a worker whose first read found nothing would, and that
                    // worker drives it when its request arrives (with it already there,
                    // at once). No worker is woken only to find the socket empty, and no
                    // second thread takes part.
                    let shard = shared.poller.shard(conn.link.shard);
                    if draining.is_none() && shard.has_waiters() {
                        shared.park(conn);
                        continue;
                    }
                    // Back-pressure: when every worker is busy and the queue is full, stop
                    // accepting; new connections wait in the kernel's listen backlog. At
                    // shutdown too: the workers finish what they have and take this one
                    // (dropping it would reset a client whose request may be in).
                    loop {
                        match tx.send_timeout(Work::Conn(conn), Duration::from_millis(100)) {
                            Ok(()) => {
                                shared.poller.notify_work();
                                break;
                            }
                            Err(SendTimeoutError::Timeout(w)) => {
                                if shared.is_aborting() {
                                    break 'outer;
                                }
                                let Work::Conn(c) = w else { break 'outer };
                                conn = c;
                            }
                            Err(SendTimeoutError::Disconnected(_)) => break 'outer,
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if draining.is_some() {
                        // The backlog is empty: close the listener.
                        break 'outer;
                    }
                    break;
                }
                Err(e) => {
                    let code = e.raw_os_error().unwrap_or(0);
                    let transient = [
                        rustix::io::Errno::CONNABORTED,
                        rustix::io::Errno::INTR,
                        rustix::io::Errno::PROTO,
                        rustix::io::Errno::PERM,
                    ]
                    .iter()
                    .any(|x| x.raw_os_error() == code);
                    if transient {
                        log::debug!("accept on {}: {e}; continuing", ep.name);
                        continue;
                    }
                    if draining.is_some() {
                        log::debug!("accept on {} at shutdown: {e}; closing", ep.name);
                        break 'outer;
                    }
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected: log (at most
                    // once a second) and back off briefly; never fatal.
                    let now = Instant::now();
                    if last_error_log
                        .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
                    {
                        log::error!(
                            "accept on {} failed: {e}; retrying in 50 ms{}",
                            ep.name,
                            if suppressed > 0 {
                                format!(" ({suppressed} similar errors suppressed)")
                            } else {
                                String::new()
                            }
                        );
                        last_error_log = Some(now);
                        suppressed = 0;
                    } else {
                        suppressed += 1;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    break;
                }
            }
        }
    }
    l.cleanup();
}

struct HandleInner {
    shared: Arc<Shared>,
    addresses: Vec<Address>,
    urls: Vec<String>,
    stats: Arc<std::sync::OnceLock<crate::status::StatsSource>>,
    #[cfg(feature = "tls")]
    cert_slots: Vec<Arc<crate::tls::reload::CertSlot>>,
    #[allow(clippy::type_complexity)]
    threads: Mutex<Option<(Vec<JoinHandle<()>>, Vec<JoinHandle<()>>)>>,
    /// Keeps the pool's queue open until shutdown has drained the connections: workers
    /// end when it closes.
    queue_tx: Mutex<Option<Sender<Work>>>,
    done: Mutex<bool>,
    done_cv: Condvar,
}

/// A running server: its bound addresses, and graceful shutdown. Clones refer to the
/// same server.
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<HandleInner>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("urls", &self.inner.urls)
            .finish()
    }
}

impl ServerHandle {
    /// The addresses actually bound, one per listening socket (with real ports when port
    /// 0 was configured).
    pub fn addresses(&self) -> &[Address] {
        &self.inner.addresses
    }

    /// The URLs of the bound sockets, e.g. `http://127.0.0.1:41234`.
    pub fn urls(&self) -> &[String] {
        &self.inner.urls
    }

    /// The first bound TCP address, if any.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.addresses.iter().find_map(|a| match a {
            Address::Ip(a) => Some(*a),
            _ => None,
        })
    }

    /// Whether [`shutdown`](Self::shutdown) has begun: from then on responses carry
    /// `Connection: close`.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shared.is_shutting_down()
    }

    /// Number of connections open now (excluding upgraded ones).
    pub fn connections(&self) -> u64 {
        self.inner
            .shared
            .counters
            .connections_open
            .load(Ordering::Acquire)
    }

    /// Stops accepting (after taking the connections already in the listen backlog),
    /// closes idle connections, lets in-flight requests finish (each answered with
    /// `Connection: close`; a request that had arrived on an idle connection counts as
    /// in flight), and after `timeout` aborts the rest. HTTP/2 connections get GOAWAY.
    /// Returns `true` when every connection finished in time. Later calls return at once.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let Some((threads, workers)) = self.inner.threads.lock().ok().and_then(|mut t| t.take())
        else {
            self.wait();
            return true;
        };
        let shared = &self.inner.shared;
        let start = Instant::now();
        log::info!("Application is shutting down...");
        shared.shutting_down.store(true, Ordering::Release);
        event_loop::signal(&shared.stop);
        shared.poller.wake();
        let deadline = start + timeout;
        let mut clean = true;
        while shared.counters.connections_open.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                clean = false;
                log::warn!(
                    "Shutdown timeout: aborting {} connection(s)",
                    shared.counters.connections_open.load(Ordering::Acquire)
                );
                shared.aborting.store(true, Ordering::Release);
                event_loop::signal(&shared.abort);
                shared.counters.abort_all();
                shared.poller.wake();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        shared.poller_exit.store(true, Ordering::Release);
        shared.poller.wake();
        for t in threads {
            let _ = t.join();
        }
        // Close the queue and wake every waiting worker so that they see it closed.
        if let Ok(mut q) = self.inner.queue_tx.lock() {
            q.take();
        }
        shared.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        shared.poller.notify_work_always();
        // Workers end when the queue's senders (accept threads, poller) are gone; a
        // handler that never returns is left behind rather than blocking shutdown.
        let join_by = Instant::now() + Duration::from_secs(1);
        for w in workers {
            while !w.is_finished() && Instant::now() < join_by {
                std::thread::sleep(Duration::from_millis(2));
            }
            if w.is_finished() {
                let _ = w.join();
            } else {
                log::warn!("a worker is still busy after shutdown; leaving it behind");
            }
        }
        // Every request has ended: the access log's writer writes what is queued.
        if let Some(log) = &shared.access_log {
            log.close();
        }
        // Logged before `wait()` returns: `run()` callers (the binary) exit right after.
        log::info!("Shutdown complete in {:?}", start.elapsed());
        if let Ok(mut d) = self.inner.done.lock() {
            *d = true;
        }
        self.inner.done_cv.notify_all();
        clean
    }

    /// Reloads every certificate loaded from files (the binary does on SIGHUP): new
    /// handshakes use the new certificates, open connections keep theirs. A file that
    /// fails to load is logged and its old certificate stays. Returns how many reloaded.
    #[cfg(feature = "tls")]
    pub fn reload_certificates(&self) -> usize {
        self.inner
            .cert_slots
            .iter()
            .filter(|s| s.refresh(true) == crate::tls::reload::Refreshed::Reloaded)
            .count()
    }

    /// Has the access log's writer reopen its file (for logrotate: rename the file, then
    /// call this; [`Server::run`] does on SIGUSR1). Lines logged from now on go to the
    /// new file, as do lines still queued; none is lost. A file that cannot be reopened
    /// is logged at warn and the old one stays in use. Without an access log, or with
    /// the log on stderr, nothing happens (a stderr log that failed is tried again).
    /// Returns at once; the writer reopens before it writes its next line.
    pub fn reopen_access_log(&self) {
        if let Some(log) = &self.inner.shared.access_log {
            log.reopen();
        }
    }

    /// A snapshot of the server's counters: connections, requests, responses, refusals,
    /// timeouts and the worker pool (what the status endpoint serves).
    pub fn stats(&self) -> crate::status::ServerStats {
        match self.inner.stats.get() {
            Some(s) => s.snapshot(),
            None => unreachable!("set before the handle exists"),
        }
    }

    /// Blocks until the server has shut down.
    pub fn wait(&self) {
        let mut d = match self.inner.done.lock() {
            Ok(d) => d,
            Err(_) => return,
        };
        while !*d {
            d = match self.inner.done_cv.wait(d) {
                Ok(d) => d,
                Err(_) => return,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_table_target_follows_max_connections() {
        assert_eq!(fd_table_target(None), FD_TABLE_DEFAULT);
        // The connections and the slack, as a power of two, past the default when asked.
        assert_eq!(fd_table_target(Some(100)), 256);
        assert_eq!(fd_table_target(Some(1984)), 2048);
        assert_eq!(fd_table_target(Some(1985)), 4096);
        assert_eq!(fd_table_target(Some(50_000)), 65_536);
        assert_eq!(fd_table_target(Some(u64::MAX)), FD_TABLE_MAX);
    }

    /// The table of this test process, in slots (`FDSize` in /proc/self/status).
    fn fd_table_size() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("FDSize:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    }

    /// The descriptor that grows the table is closed at once: the table's last slot is
    /// free afterwards. (How far it grows, within the soft limit, is driven end to end by
    /// tests/http1_limits.rs `descriptor_table_holds_max_concurrent_connections`.)
    #[test]
    fn presize_fd_table_leaves_no_descriptor_open() {
        let fd = event_loop::new_event().unwrap();
        presize_fd_table(&fd, Some(1984));
        let last = fd_table_size() - 1;
        let again = rustix::io::fcntl_dupfd_cloexec(&fd, last as i32).unwrap();
        assert_eq!(std::os::fd::AsRawFd::as_raw_fd(&again) as u64, last);
    }
}

//! The one readiness poller (epoll) where connections wait while they have nothing to
//! read (or, writing to a slow reader, no room to write): idle keep-alive connections,
//! slow clients mid-head or mid-body, and connections lingering after an error response.
//! None of them holds a worker.
//!
//! Sockets are registered `EPOLLONESHOT`: an event disarms the socket until the next park
//! re-arms it (`EPOLL_CTL_MOD`), so each readiness event goes to exactly one thread and a
//! connection is in exactly one place at a time.
//!
//! Idle workers are the epoll waiters: a worker with nothing queued blocks in
//! `epoll_wait` on the set and drives the connection whose socket became ready itself,
//! with no hand-off to another thread (the kernel wakes one waiter per event). New
//! connections still arrive through the pool's bounded queue; an eventfd in the set tells
//! waiting workers that the queue has work. The poller thread owns the deadlines
//! (keep-alive, header timeout, data rates, linger), kept in a min-heap, and shutdown.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};

use crate::http1::conn::{Conn, Phase, LINGER_BYTES};
use crate::server::Shared;

/// Token of the eventfd that says the pool's queue has work.
const WORK: u64 = u64::MAX;

/// Creates a non-blocking eventfd.
pub(crate) fn new_event() -> std::io::Result<OwnedFd> {
    Ok(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?)
}

/// Makes an eventfd readable (it stays readable until drained).
pub(crate) fn signal(fd: &OwnedFd) {
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

fn drain_event(fd: &OwnedFd) {
    let mut b = [0u8; 8];
    let _ = rustix::io::read(fd, &mut b);
}

struct Slot {
    conn: Option<Box<Conn>>,
    gen: u32,
}

/// What the threads share under one lock: the parked connections and their deadlines.
struct State {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// When the poller thread will next look at the timers.
    next_wake: Instant,
}

/// The epoll set, the parked connections, and the wake-up events.
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// Wakes the poller thread (an earlier deadline, shutdown); not in the epoll set.
    wake: OwnedFd,
    /// In the epoll set (level-triggered): the pool's queue has work.
    work: OwnedFd,
    /// Workers waiting in `epoll_wait` now, at most `max_waiters`.
    waiting: AtomicUsize,
    /// Set while `work` is signaled and not yet drained: saves a write per queued job.
    work_signaled: AtomicBool,
    max_waiters: usize,
    state: Mutex<State>,
}

/// What to do with a connection whose socket became ready.
enum Ready {
    /// Drive it (on this worker, or hand it to the pool).
    Drive(Box<Conn>),
    /// Handled here (lingering read, idle hang-up), nothing more to do.
    Done,
}

impl Poller {
    pub(crate) fn new() -> std::io::Result<Poller> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = new_event()?;
        let work = new_event()?;
        epoll::add(&ep, &work, EventData::new_u64(WORK), EventFlags::IN)?;
        Ok(Poller {
            epoll: ep,
            wake,
            work,
            waiting: AtomicUsize::new(0),
            work_signaled: AtomicBool::new(false),
            // As many event-driven workers as cores: more would only take turns on the
            // same cores and add scheduling delays to the requests they picked up.
            max_waiters: std::thread::available_parallelism().map_or(1, |n| n.get()),
            state: Mutex::new(State {
                slots: Vec::new(),
                free: Vec::new(),
                next_wake: Instant::now(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the poller thread (shutdown, abort, an earlier deadline).
    pub(crate) fn wake(&self) {
        signal(&self.wake);
    }

    /// Parks a connection until its socket is ready or its deadline passes.
    pub(crate) fn park(&self, mut conn: Box<Conn>, shared: &Shared) {
        if (shared.is_shutting_down() && conn.is_idle()) || shared.is_aborting() {
            return;
        }
        let mut st = self.lock();
        let idx = match st.free.pop() {
            Some(i) => i,
            None => {
                st.slots.push(Slot { conn: None, gen: 0 });
                st.slots.len() - 1
            }
        };
        let gen = st.slots[idx].gen.wrapping_add(1);
        st.slots[idx].gen = gen;
        let token = ((gen as u64) << 32) | idx as u64;
        // A connection writing to a slow reader waits for room in its send buffer;
        // every other one waits for bytes.
        let flags = if conn.wants_write() {
            EventFlags::OUT | EventFlags::ONESHOT
        } else {
            EventFlags::IN | EventFlags::RDHUP | EventFlags::ONESHOT
        };
        let data = EventData::new_u64(token);
        let fd = conn.io.fd();
        let r = if conn.registered {
            epoll::modify(&self.epoll, fd, data, flags)
        } else {
            match epoll::add(&self.epoll, fd, data, flags) {
                Err(rustix::io::Errno::EXIST) => epoll::modify(&self.epoll, fd, data, flags),
                r => r,
            }
        };
        if let Err(e) = r {
            log::error!("poller: cannot watch connection {}: {e}", conn.id());
            st.free.push(idx);
            return;
        }
        conn.registered = true;
        let deadline = conn.deadline;
        // An HTTP/2 connection's finished handlers find it here (see http2::driver).
        #[cfg(feature = "http2")]
        if let Some(h2) = conn.h2.as_ref() {
            h2.mailbox.parked.store(token, Ordering::Release);
        }
        st.slots[idx].conn = Some(conn);
        let earlier = deadline < st.next_wake;
        drop(st);
        if earlier {
            self.wake();
        }
    }

    /// Takes a parked connection by the token it was parked with (an HTTP/2 connection
    /// woken by a finished handler); `None` when it is no longer parked there.
    #[cfg(feature = "http2")]
    pub(crate) fn take_parked(&self, token: u64) -> Option<Box<Conn>> {
        let (idx, gen) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
        Self::take(&mut self.lock(), idx, gen)
    }

    fn take(st: &mut State, idx: usize, gen: u32) -> Option<Box<Conn>> {
        let slot = st.slots.get_mut(idx)?;
        if slot.gen != gen {
            return None;
        }
        let conn = slot.conn.take()?;
        st.free.push(idx);
        Some(conn)
    }

    /// Takes the connection behind an event and deals with what needs no worker.
    fn on_event(&self, token: u64, flags: EventFlags, shared: &Shared) -> Ready {
        let (idx, gen) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
        let Some(mut conn) = Self::take(&mut self.lock(), idx, gen) else {
            return Ready::Done;
        };
        if conn.phase == Phase::Lingering {
            if linger_read(&mut conn) {
                self.park(conn, shared);
            }
            return Ready::Done;
        }
        let hung_up = flags.intersects(EventFlags::RDHUP | EventFlags::HUP | EventFlags::ERR);
        if hung_up && conn.is_idle() {
            log::debug!(
                "Connection id \"{}\" closed by the client while idle",
                conn.id()
            );
            return Ready::Done;
        }
        Ready::Drive(conn)
    }

    /// Tells waiting workers that the pool's queue has work (or that they should look
    /// at it because the server is stopping).
    ///
    /// Only workers in `epoll_wait` need the eventfd (one blocked on the queue is woken by
    /// the channel), and a signaled eventfd needs no second write: both checks save a
    /// system call per queued job. A worker re-checks the queue after becoming a waiter
    /// (see [`has_queued_work_after_becoming_waiter`]), so skipping is safe.
    pub(crate) fn notify_work(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        if self.work_signaled.swap(true, Ordering::SeqCst) {
            return;
        }
        signal(&self.work);
    }

    /// Signals the queue's eventfd unconditionally (shutdown: every worker must look).
    pub(crate) fn notify_work_always(&self) {
        self.work_signaled.store(true, Ordering::SeqCst);
        signal(&self.work);
    }

    /// Gives back a waiter's place taken with [`try_become_waiter`](Self::try_become_waiter)
    /// without waiting.
    pub(crate) fn release_waiter(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Takes one of the places of workers waiting on the epoll set, if one is free.
    pub(crate) fn try_become_waiter(&self) -> bool {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_waiters).then_some(n + 1)
            })
            .is_ok()
    }

    /// For an idle worker holding a waiter's place (see
    /// [`try_become_waiter`](Self::try_become_waiter), released here): waits up to
    /// `timeout` for a parked connection to become ready (and takes it) or for work in the
    /// pool's queue.
    pub(crate) fn wait(&self, shared: &Shared, timeout: Duration) -> Waited {
        let w = self.wait_inner(shared, timeout);
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        w
    }

    fn wait_inner(&self, shared: &Shared, timeout: Duration) -> Waited {
        let empty = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        let mut events = [empty; 1];
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let n = match epoll::wait(&self.epoll, &mut events, Some(&ts)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => return Waited::Nothing,
            Err(e) => {
                log::error!("worker: epoll_wait failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                return Waited::Nothing;
            }
        };
        if n == 0 {
            return Waited::Nothing;
        }
        let ev = events[0];
        let token = ev.data.u64();
        if token == WORK {
            // At the very end of shutdown the event stays set, so that every worker wakes
            // and sees the queue closed.
            if !shared.poller_should_exit() {
                drain_event(&self.work);
                // After the drain: a job queued meanwhile found the flag still set and
                // did not signal, but this worker looks at the queue next.
                self.work_signaled.store(false, Ordering::SeqCst);
            }
            return Waited::Work;
        }
        match self.on_event(token, ev.flags, shared) {
            Ready::Drive(conn) => Waited::Conn(conn),
            Ready::Done => Waited::Nothing,
        }
    }
}

/// What an idle worker's wait produced.
pub(crate) enum Waited {
    /// A parked connection is ready: drive it.
    Conn(Box<Conn>),
    /// The pool's queue may have work.
    Work,
    /// Nothing (timeout, or an event handled on the way).
    Nothing,
}

/// Reads and discards what a lingering client sends. `true`: keep lingering.
fn linger_read(conn: &mut Conn) -> bool {
    let mut scratch = [0u8; 4096];
    loop {
        match conn.io.try_read(&mut scratch) {
            Ok(Some(0)) | Err(_) => return false,
            Ok(Some(n)) => {
                conn.lingered += n;
                if conn.lingered > LINGER_BYTES {
                    return false;
                }
            }
            Ok(None) => return true,
        }
    }
}

/// How often the poller thread checks for ready connections that no worker is waiting
/// for (all event-driven workers busy, say in slow handlers) and hands them to the pool.
const RESCUE_INTERVAL: Duration = Duration::from_millis(5);

/// The poller thread: enforces deadlines, hands ready connections to the pool when no
/// worker is waiting on the epoll set, and closes parked connections at shutdown.
/// Returns once the server has shut down.
pub(crate) fn run(shared: &Shared, pool: Sender<super::Work>) {
    let poller = &shared.poller;
    let mut closed_idle = false;
    let mut next_expire = Instant::now();
    let mut pending: VecDeque<Box<Conn>> = VecDeque::new();
    loop {
        let now = Instant::now();
        let parked = {
            let st = poller.lock();
            st.slots.len() - st.free.len()
        };
        let mut until = next_expire.max(now);
        #[cfg(feature = "http2")]
        let batches = !shared
            .batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        #[cfg(not(feature = "http2"))]
        let batches = false;
        if parked > 0 || !pending.is_empty() || batches {
            until = until.min(now + RESCUE_INTERVAL);
        }
        poller.lock().next_wake = until;
        let timeout = until.saturating_duration_since(now);
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&poller.wake, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(n) if n > 0 => drain_event(&poller.wake),
            _ => {}
        }
        if Instant::now() >= next_expire {
            next_expire = Instant::now() + expire(shared);
        }
        if poller.waiting.load(Ordering::Acquire) == 0 {
            poller.rescue(shared, &pool, &mut pending);
        }
        #[cfg(feature = "http2")]
        crate::http2::driver::spread_stale_batches(shared);
        flush_pending(&pool, &mut pending);
        if shared.is_shutting_down() && !closed_idle {
            closed_idle = true;
            close_idle(poller);
        }
        if shared.is_aborting() {
            close_all(poller);
            pending.clear();
        }
        if shared.poller_should_exit() {
            close_all(poller);
            return;
        }
    }
}

impl Poller {
    /// Takes connections that are ready while no worker waits on the epoll set and
    /// queues them for the pool.
    fn rescue(
        &self,
        shared: &Shared,
        pool: &Sender<super::Work>,
        pending: &mut VecDeque<Box<Conn>>,
    ) {
        let empty = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        let mut events = [empty; 16];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let n = match epoll::wait(&self.epoll, &mut events, Some(&zero)) {
            Ok(n) => n,
            Err(_) => return,
        };
        for ev in events.iter().take(n) {
            let token = ev.data.u64();
            if token == WORK {
                // The workers' business: they look at the queue when they wake.
                continue;
            }
            if let Ready::Drive(conn) = self.on_event(token, ev.flags, shared) {
                if pending.is_empty() {
                    match pool.try_send(super::Work::Conn(conn)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(super::Work::Conn(c))) => pending.push_back(c),
                        Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Disconnected(_)) => {}
                    }
                } else {
                    pending.push_back(conn);
                }
            }
        }
    }
}

fn flush_pending(pool: &Sender<super::Work>, pending: &mut VecDeque<Box<Conn>>) {
    while let Some(c) = pending.pop_front() {
        match pool.try_send(super::Work::Conn(c)) {
            Ok(()) => {}
            Err(TrySendError::Full(super::Work::Conn(c))) => {
                pending.push_front(c);
                return;
            }
            Err(TrySendError::Full(_)) => return,
            Err(TrySendError::Disconnected(_)) => {
                pending.clear();
                return;
            }
        }
    }
}

/// Takes every parked connection whose deadline has passed and returns them with the
/// earliest deadline still pending. A linear sweep under the lock, run when the poller
/// thread wakes (at the earliest deadline, at most once a second): cheaper than a timer
/// heap that would gain an entry at every park (one per keep-alive request).
// The connections stay boxed: they move on to on_expired and park, which take boxes.
#[allow(clippy::vec_box)]
fn sweep(st: &mut State, now: Instant) -> (Vec<Box<Conn>>, Option<Instant>) {
    let mut expired = Vec::new();
    let mut next: Option<Instant> = None;
    for i in 0..st.slots.len() {
        let Some(deadline) = st.slots[i].conn.as_ref().map(|c| c.deadline) else {
            continue;
        };
        if deadline <= now {
            if let Some(c) = st.slots[i].conn.take() {
                expired.push(c);
                st.free.push(i);
            }
        } else {
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
    }
    (expired, next)
}

/// Handles expired connections; returns how long until the next deadline (at most 1 s).
fn expire(shared: &Shared) -> Duration {
    let poller = &shared.poller;
    let now = Instant::now();
    let (expired, next) = sweep(&mut poller.lock(), now);
    for conn in expired {
        if let Some(conn) = conn.on_expired(shared) {
            poller.park(conn, shared);
        }
    }
    let max = Duration::from_secs(1);
    next.map_or(max, |n| {
        n.saturating_duration_since(Instant::now()).min(max)
    })
}

/// At shutdown: closes idle connections, and lingering ones after discarding what their
/// client has queued (their response and FIN are out; closing sends a FIN, not a reset).
fn close_idle(poller: &Poller) {
    let mut closing = Vec::new();
    {
        let mut st = poller.lock();
        for i in 0..st.slots.len() {
            let close = st.slots[i]
                .conn
                .as_ref()
                .is_some_and(|c| c.is_idle() || c.phase == Phase::Lingering);
            if close {
                if let Some(c) = st.slots[i].conn.take() {
                    closing.push(c);
                }
                st.free.push(i);
            }
        }
    }
    for mut c in closing {
        if c.phase == Phase::Lingering {
            linger_read(&mut c);
        }
    }
}

fn close_all(poller: &Poller) {
    let mut all = Vec::new();
    {
        let mut st = poller.lock();
        for i in 0..st.slots.len() {
            if let Some(c) = st.slots[i].conn.take() {
                all.push(c);
                st.free.push(i);
            }
        }
    }
    drop(all);
}

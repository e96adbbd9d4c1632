//! The event loops where connections wait while they have nothing to read (or, writing to
//! a slow reader, no room to write): idle keep-alive connections, slow clients mid-head or
//! mid-body, TLS handshakes waiting for the client, connections lingering after an error
//! response. None of them holds a worker.
//!
//! **Shards.** There are `Falconet:EventLoops` shards (default: one per core). Each has its
//! own epoll set, its own table of parked connections (slots) behind its own lock, its own
//! list of ready events and its own wake-up eventfd. A new connection is given a shard
//! round-robin and stays in it for life; a worker belongs to one shard and waits on that
//! shard's set, so no lock is shared between the workers of different shards on the
//! request path.
//!
//! **Registered once, edge-triggered.** A connection's socket enters its shard's epoll set
//! the first time it parks (`EPOLLIN | EPOLLRDHUP | EPOLLET`, plus `EPOLLOUT` from the
//! first time it waits to write) and stays there while the connection lives: no
//! `epoll_ctl` per request. Drivers park only after a read or write found the socket empty
//! or full (`EAGAIN`), which is what edge-triggered readiness needs. An event that arrives
//! while the connection is out being driven (or between its registration and its first
//! park) is remembered in its slot (`pending`, with its flags), and the park that follows
//! puts the connection straight on the shard's ready list instead of waiting for an edge
//! that will not come again: no wake-up is lost, and a FIN (`EPOLLRDHUP`) that came that
//! way is seen, so reads go on until they meet it.
//!
//! **Workers wait on their shard.** An idle worker blocks in `epoll_wait` on its shard's set
//! and takes a batch of events at a time: the first ready connection it drives itself, the
//! rest go on the shard's ready list, which the worker (or another worker of the shard)
//! works through before it waits again. At most `max_waiters` workers of a shard wait on
//! its set; the others wait on the pool's queue (new connections, HTTP/2 streams).
//!
//! **The timer thread** owns the deadlines (keep-alive, header timeout, data rates,
//! handshake, linger) of every shard, closes idle parked connections at shutdown (those
//! with bytes waiting, and HTTP/2 ones, are driven once more instead), and rescues
//! the ready connections of a shard whose workers are all busy (say, in slow handlers:
//! none waits on its set, and none has looked at its ready list since the previous pass):
//! it moves them to the pool's queue, where any idle worker takes them, and signals a
//! worker waiting on another shard's set (it would not look at the queue otherwise). It
//! looks every 5 ms while a shard with parked connections has no worker waiting on its
//! set (and for a quarter of a second after). Otherwise it dozes until the next deadline
//! (at most 1 s): a connection that parks, or a worker that leaves its wait to work, wakes
//! it. An idle server with idle keep-alive connections wakes once a second, not every
//! 5 ms.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};

use crate::conn::link::EventLoop;
use crate::conn::{AtShutdown, Conn, Registration};
use crate::server::Shared;

/// Token of a shard's eventfd that says the pool's queue has work (slot tokens are never
/// 0: generations start at 1).
const WORK: u64 = 0;
/// Events taken per `epoll_wait`.
const BATCH: usize = 32;
/// The most shards (the token has 8 bits for the shard).
pub(crate) const MAX_SHARDS: usize = 256;

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

/// A token names a slot: generation (32 bits), shard (8), slot index (24).
fn token(gen: u32, shard: usize, idx: usize) -> u64 {
    ((gen as u64) << 32) | ((shard as u64) << 24) | idx as u64
}

fn untoken(token: u64) -> (u32, usize, usize) {
    (
        (token >> 32) as u32,
        ((token >> 24) & 0xff) as usize,
        (token & 0xff_ffff) as usize,
    )
}

/// One registered connection's place in its shard.
#[derive(Default)]
struct Slot {
    /// The connection while it is parked; `None` while a worker drives it.
    conn: Option<Box<Conn>>,
    gen: u32,
    /// The events that arrived while the connection was out being driven (none: empty).
    /// Kept whole: a FIN among them (RDHUP) had that one edge only.
    pending: EventFlags,
}

/// What the threads of one shard share under its lock.
struct State {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Events taken from the epoll set and not yet handled (token, flags).
    ready: VecDeque<(u64, EventFlags)>,
    /// Connections parked now.
    parked: usize,
    /// When the timer thread will next look at this shard's deadlines: its earliest
    /// deadline at the last sweep, or a second after that sweep. A connection that parks
    /// with an earlier deadline wakes the timer thread.
    next_sweep: Instant,
    /// How many times a worker has looked at the ready list ([`Shard::pop_ready`]): the
    /// timer thread rescues a shard's ready connections only when this has not moved
    /// since its last look, so that it never takes them from a worker that is merely busy
    /// driving between two looks.
    looks: u64,
}

/// One event loop: an epoll set, its parked connections and its ready list.
pub(crate) struct Shard {
    index: usize,
    epoll: OwnedFd,
    /// In the epoll set (level-triggered): the pool's queue has work.
    work: OwnedFd,
    /// Set while `work` is signaled and not yet drained: saves a write per queued job.
    work_signaled: AtomicBool,
    /// Workers waiting in `epoll_wait` now, at most `max_waiters`.
    waiting: AtomicUsize,
    max_waiters: usize,
    state: Mutex<State>,
    /// The timer thread's wake-up (shared by every shard).
    timers: Arc<TimerWake>,
}

/// A connection's registration ([`Registration`]) gives its slot back through this when
/// the connection is dropped, and takes its socket out of the set before an upgrade.
impl EventLoop for Shard {
    fn release(&self, token: u64) {
        let (gen, _, idx) = untoken(token);
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(idx) {
            if slot.gen == gen {
                // Stale events for this token are ignored from now on.
                slot.gen = next_gen(gen);
                slot.pending = EventFlags::empty();
                if slot.conn.take().is_some() {
                    st.parked -= 1;
                }
                st.free.push(idx);
            }
        }
    }

    fn remove(&self, fd: std::os::fd::BorrowedFd<'_>) {
        let _ = epoll::delete(&self.epoll, fd);
    }

    fn index(&self) -> usize {
        self.index
    }
}

fn next_gen(gen: u32) -> u32 {
    match gen.wrapping_add(1) {
        0 => 1,
        g => g,
    }
}

/// What to do with a connection whose socket became ready.
enum Ready {
    /// Drive it.
    Drive(Box<Conn>),
    /// Handled here (lingering read, idle hang-up, an event for a connection being
    /// driven), nothing more to do.
    Done,
}

/// What an idle worker's wait produced.
pub(crate) enum Waited {
    /// A parked connection is ready: drive it.
    Conn(Box<Conn>),
    /// The pool's queue may have work.
    Work,
    /// Nothing (timeout, or events handled on the way).
    Nothing,
}

impl Shard {
    fn new(index: usize, max_waiters: usize, timers: Arc<TimerWake>) -> std::io::Result<Shard> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let work = new_event()?;
        epoll::add(&ep, &work, EventData::new_u64(WORK), EventFlags::IN)?;
        Ok(Shard {
            index,
            epoll: ep,
            work,
            work_signaled: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            max_waiters,
            state: Mutex::new(State {
                slots: Vec::new(),
                free: Vec::new(),
                ready: VecDeque::new(),
                parked: 0,
                next_sweep: Instant::now(),
                looks: 0,
            }),
            timers,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the connection behind an event (under the lock): `None` when the token is
    /// stale or the connection is out being driven (then the event is remembered).
    fn take_for_event(st: &mut State, token: u64, flags: EventFlags) -> Option<Box<Conn>> {
        let (gen, _, idx) = untoken(token);
        let slot = st.slots.get_mut(idx)?;
        if slot.gen != gen {
            return None;
        }
        match slot.conn.take() {
            Some(c) => {
                st.parked -= 1;
                Some(c)
            }
            None => {
                slot.pending |= flags | EventFlags::IN;
                None
            }
        }
    }

    /// Deals with what needs no worker: lingering reads, idle hang-ups.
    fn on_event(&self, mut conn: Box<Conn>, flags: EventFlags, shared: &Shared) -> Ready {
        if conn.is_lingering() {
            if conn.linger_read() {
                shared.park(conn);
            }
            return Ready::Done;
        }
        // Only a reset or a hang-up of both directions ends an idle connection here. RDHUP
        // alone is the client's FIN, which may come in the same event as a request it
        // sent just before half-closing: still in the socket, not in our (empty) buffer.
        // A worker reads it; the read then meets the end of input and closes as usual.
        let hung_up = flags.intersects(EventFlags::HUP | EventFlags::ERR);
        if flags.intersects(EventFlags::RDHUP | EventFlags::HUP) {
            // The FIN may have come with the last bytes: this was its only edge, so the
            // reads must go on until they meet the end of the stream.
            conn.link.io.saw_fin();
        }
        if hung_up && conn.is_idle() {
            log::debug!(
                "Connection id \"{}\" closed by the client while idle",
                conn.id()
            );
            return Ready::Done;
        }
        Ready::Drive(conn)
    }

    /// Takes the next ready connection from the shard's ready list.
    pub(crate) fn pop_ready(&self, shared: &Shared) -> Option<Box<Conn>> {
        loop {
            let (conn, flags) = {
                let mut st = self.lock();
                st.looks = st.looks.wrapping_add(1);
                let (token, flags) = st.ready.pop_front()?;
                match Self::take_for_event(&mut st, token, flags) {
                    Some(c) => (c, flags),
                    None => continue,
                }
            };
            if let Ready::Drive(c) = self.on_event(conn, flags, shared) {
                return Some(c);
            }
        }
    }

    /// Moves the events waiting in the shard's set onto its ready list without waiting
    /// (before a connection that has had its turn is requeued behind them; the timer
    /// thread's rescue). The work eventfd is left alone: it is level-triggered and stays
    /// signaled for a waiting worker, which looks at the queue when it wakes.
    pub(crate) fn harvest(&self) {
        let mut buf = [epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        }; BATCH];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let n = epoll::wait(&self.epoll, &mut buf, Some(&zero)).unwrap_or(0);
        if n == 0 {
            return;
        }
        let mut st = self.lock();
        for ev in &buf[..n] {
            let token = ev.data.u64();
            if token != WORK {
                st.ready.push_back((token, ev.flags));
            }
        }
    }

    /// Whether a worker waits on the shard's set now.
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Whether events wait on the ready list.
    fn has_ready(&self) -> bool {
        !self.lock().ready.is_empty()
    }

    /// Takes one of the places of workers waiting on the epoll set, if one is free.
    pub(crate) fn try_become_waiter(&self) -> bool {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_waiters).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a waiter's place taken with [`try_become_waiter`](Self::try_become_waiter)
    /// without waiting.
    pub(crate) fn release_waiter(&self) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.timers.wake_if_dozing();
    }

    /// Whether a worker holding a waiter's place should look elsewhere before it waits:
    /// events on the ready list.
    pub(crate) fn should_not_wait(&self) -> bool {
        self.has_ready()
    }

    /// For an idle worker holding a waiter's place (released here): waits up to `timeout`
    /// for events on the shard's set, puts them on the ready list and takes the first
    /// ready connection, or reports work in the pool's queue.
    pub(crate) fn wait(&self, shared: &Shared, timeout: Duration) -> Waited {
        let w = self.wait_inner(shared, timeout);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // Off to work: a dozing timer thread must watch this shard now. (A worker whose
        // wait timed out waits again at once.)
        if !matches!(w, Waited::Nothing) {
            self.timers.wake_if_dozing();
        }
        w
    }

    fn wait_inner(&self, shared: &Shared, timeout: Duration) -> Waited {
        let mut buf = [epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        }; BATCH];
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let n = match epoll::wait(&self.epoll, &mut buf, Some(&ts)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => return Waited::Nothing,
            Err(e) => {
                log::error!("worker: epoll_wait failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                return Waited::Nothing;
            }
        };
        let mut work = false;
        {
            let mut st = None;
            for ev in &buf[..n] {
                let token = ev.data.u64();
                if token == WORK {
                    work = true;
                    continue;
                }
                st.get_or_insert_with(|| self.lock())
                    .ready
                    .push_back((token, ev.flags));
            }
        }
        if work {
            // At the very end of shutdown the event stays set, so that every worker wakes
            // and sees the queue closed.
            if !shared.poller_should_exit() {
                drain_event(&self.work);
                // After the drain: a job queued meanwhile found the flag still set and
                // did not signal, but this worker looks at the queue next.
                self.work_signaled.store(false, Ordering::SeqCst);
            }
        }
        match self.pop_ready(shared) {
            Some(c) => Waited::Conn(c),
            None if work => Waited::Work,
            None => Waited::Nothing,
        }
    }

    /// Signals the shard's work eventfd unless it is signaled already: a waiting worker
    /// wakes and looks at the ready list and the pool's queue.
    pub(crate) fn notify(&self) {
        if self.work_signaled.swap(true, Ordering::SeqCst) {
            return;
        }
        signal(&self.work);
    }

    /// Parks a connection until its socket is ready or its deadline passes; with `ready`,
    /// straight onto the ready list (it must be driven again at once).
    ///
    /// Shutdown is looked at under the shard's lock, just before the connection goes into
    /// its slot: the timer thread's sweep of idle connections at shutdown ([`close_idle`])
    /// takes the same lock, so an idle connection parked as shutdown begins is either in
    /// its slot when the sweep looks or sees the flag here and is closed (or driven, with a
    /// request waiting) like one the sweep found.
    fn park(self: &Arc<Self>, mut conn: Box<Conn>, mut ready: bool, shared: &Shared) -> Parked {
        // The next drive comes from an event: read then.
        conn.link.io.forget_drained();
        let fd = conn.link.io.fd();
        let want_out = conn.wants_write();
        if conn.link.reg.is_none() {
            let mut st = self.lock();
            let idx = match st.free.pop() {
                Some(i) => i,
                None => {
                    if st.slots.len() > 0xff_ffff {
                        log::error!(
                            "event loop {}: too many connections; closing {}",
                            self.index,
                            conn.id()
                        );
                        return Parked::Dropped;
                    }
                    st.slots.push(Slot::default());
                    st.slots.len() - 1
                }
            };
            let gen = next_gen(st.slots[idx].gen);
            st.slots[idx].gen = gen;
            st.slots[idx].pending = EventFlags::empty();
            drop(st);
            let t = token(gen, self.index, idx);
            let mut flags = EventFlags::IN | EventFlags::RDHUP | EventFlags::ET;
            if want_out {
                flags |= EventFlags::OUT;
            }
            // The registration exists before the socket is in the set, so that dropping
            // the connection on failure gives the slot back.
            conn.link.reg = Some(Registration {
                owner: self.clone(),
                token: t,
                out: want_out,
            });
            if let Err(e) = epoll::add(&self.epoll, fd, EventData::new_u64(t), flags) {
                log::error!("event loop: cannot watch connection {}: {e}", conn.id());
                return Parked::Dropped;
            }
        } else if want_out && conn.link.reg.as_ref().is_some_and(|r| !r.out) {
            let Some(reg) = conn.link.reg.as_mut() else {
                return Parked::Dropped;
            };
            let flags = EventFlags::IN | EventFlags::RDHUP | EventFlags::OUT | EventFlags::ET;
            if let Err(e) = epoll::modify(&self.epoll, fd, EventData::new_u64(reg.token), flags) {
                log::error!("event loop: cannot watch connection {}: {e}", conn.id());
                return Parked::Dropped;
            }
            reg.out = true;
        }
        let Some(t) = conn.link.reg.as_ref().map(|r| r.token) else {
            return Parked::Dropped;
        };
        let (gen, _, idx) = untoken(t);
        let deadline = conn.link.deadline;
        let mut st = self.lock();
        if !ready && shared.is_shutting_down() && conn.is_idle() {
            match conn.at_shutdown() {
                AtShutdown::Close => {
                    // Dropping it gives its slot back, under the lock.
                    drop(st);
                    return Parked::Dropped;
                }
                AtShutdown::Drive => ready = true,
            }
        }
        // An HTTP/2 connection's finished handlers find it here (see http2::driver): the
        // token is published under the shard's lock, in the same critical section that
        // puts the connection in its slot, so a handler that takes the token either finds
        // the connection there or ran before the store (and the parking worker, which
        // looks at the mailbox after parking, takes it back).
        conn.on_parked(t);
        let slot = &mut st.slots[idx];
        debug_assert_eq!(slot.gen, gen);
        slot.conn = Some(conn);
        let came = std::mem::replace(&mut slot.pending, EventFlags::empty());
        let again = !came.is_empty() || ready;
        st.parked += 1;
        if again {
            // Bytes (or room) came while the connection was being driven: the edge that
            // announced them has been consumed, so it is ready now. With what came, so
            // that a FIN among it is seen (on_event).
            st.ready
                .push_back((t, came | EventFlags::IN | EventFlags::OUT));
        }
        let earlier = deadline < st.next_sweep;
        drop(st);
        // A deadline before the shard's next sweep wakes the timer thread, which sweeps
        // when woken; so does a park while it dozes (see `run`), so that its rescues go on
        // every RESCUE_INTERVAL from now on.
        if earlier {
            self.timers.wake_to_sweep();
        } else {
            self.timers.wake_if_dozing();
        }
        if again {
            Parked::Ready
        } else {
            Parked::Yes
        }
    }

    /// Takes a parked connection by its token; `None` when it is not parked now.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    fn take_parked(&self, token: u64) -> Option<Box<Conn>> {
        let (gen, _, idx) = untoken(token);
        let mut st = self.lock();
        let slot = st.slots.get_mut(idx)?;
        if slot.gen != gen {
            return None;
        }
        let c = slot.conn.take()?;
        st.parked -= 1;
        Some(c)
    }

    /// Takes every parked connection whose deadline has passed; returns them with the time
    /// of the next sweep: the earliest deadline still pending, at most [`MAX_SWEEP`] from
    /// `now`. A linear sweep under the shard's lock, run when the timer thread wakes (at
    /// the next sweep, or woken by a park with an earlier deadline): cheaper than a timer
    /// heap that would gain an entry at every park.
    // The connections stay boxed: they move on to on_expired and park, which take boxes.
    #[allow(clippy::vec_box)]
    fn sweep(&self, now: Instant) -> (Vec<Box<Conn>>, Instant) {
        let mut st = self.lock();
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        for i in 0..st.slots.len() {
            let Some(deadline) = st.slots[i].conn.as_ref().map(|c| c.link.deadline) else {
                continue;
            };
            if deadline <= now {
                if let Some(c) = st.slots[i].conn.take() {
                    expired.push(c);
                }
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        st.parked -= expired.len();
        // Published under the lock: a park after this sweep with an earlier deadline sees
        // it and wakes the timer thread.
        let at = next.map_or(now + MAX_SWEEP, |n| n.min(now + MAX_SWEEP));
        st.next_sweep = at;
        (expired, at)
    }

    /// Takes the parked connections that `pick` selects.
    #[allow(clippy::vec_box)]
    fn take_where(&self, pick: impl Fn(&Conn) -> bool) -> Vec<Box<Conn>> {
        let mut st = self.lock();
        let mut taken = Vec::new();
        for i in 0..st.slots.len() {
            if st.slots[i].conn.as_deref().is_some_and(&pick) {
                if let Some(c) = st.slots[i].conn.take() {
                    taken.push(c);
                }
            }
        }
        st.parked -= taken.len();
        taken
    }

    /// When no worker of this shard waits on its set and none has looked at its ready
    /// list since the timer thread's previous pass (`seen`: `looks` then; updated here),
    /// say all are busy in slow handlers: takes what is ready (on the ready list and in
    /// the set) for the pool's queue (see [`flush_pending`]). A worker that looked
    /// meanwhile is driving the shard's connections one after another, and keeps them.
    fn rescue(&self, shared: &Shared, pending: &mut VecDeque<Box<Conn>>, seen: &mut u64) {
        let looks = self.lock().looks;
        if looks != *seen || self.waiting.load(Ordering::Acquire) > 0 {
            *seen = looks;
            return;
        }
        self.harvest();
        while let Some(conn) = self.pop_ready(shared) {
            pending.push_back(conn);
        }
        *seen = self.lock().looks;
    }
}

/// The result of parking.
pub(crate) enum Parked {
    /// Parked until its socket is ready or its deadline passes.
    Yes,
    /// Parked, and already on its shard's ready list (an event came while it was out).
    Ready,
    /// Dropped (closing it): the server is shutting down and it was idle with nothing
    /// waiting in its socket, or it could not be watched.
    Dropped,
}

/// How the timer thread is woken before its time.
struct TimerWake {
    /// Wakes the timer thread (an earlier deadline, shutdown, a park or a leaving waiter
    /// while it dozes); not in any epoll set.
    fd: OwnedFd,
    /// Set while the timer thread sleeps past its rescue interval (for a while no shard
    /// had parked connections and no waiting worker): the next connection to park, or the
    /// next worker to leave its wait for work, wakes it, once.
    dozing: AtomicBool,
    /// Set by a park with a deadline before its shard's next sweep: sweep now.
    sweep: AtomicBool,
}

impl TimerWake {
    fn wake(&self) {
        signal(&self.fd);
    }

    /// Wakes the timer thread to sweep the deadlines now.
    fn wake_to_sweep(&self) {
        self.sweep.store(true, Ordering::SeqCst);
        signal(&self.fd);
    }

    /// Takes down the "sweep now" flag of [`wake_to_sweep`](Self::wake_to_sweep); whether
    /// it was up.
    fn sweep_asked(&self) -> bool {
        self.sweep.swap(false, Ordering::SeqCst)
    }

    /// Raises the doze flag. Done before the timer thread's last look at the shards, so
    /// that a park (ordered by the shard's lock) or a waiter's leaving (sequentially
    /// consistent) that the look misses sees the flag and wakes the thread.
    fn doze(&self) {
        self.dozing.store(true, Ordering::SeqCst);
    }

    /// Takes the doze flag down; whether it was still up (false: someone took it down and
    /// signaled).
    fn wake_up(&self) -> bool {
        self.dozing.swap(false, Ordering::SeqCst)
    }

    /// Wakes the timer thread if it dozes (one atomic load on the hot path otherwise).
    /// Sequentially consistent with the timer thread's raising of the flag before its last
    /// look at the waiters (see `run`).
    fn wake_if_dozing(&self) {
        if self.dozing.load(Ordering::SeqCst) && self.dozing.swap(false, Ordering::SeqCst) {
            signal(&self.fd);
        }
    }
}

/// Every shard, and the timer thread's wake-up.
pub(crate) struct EventLoops {
    shards: Box<[Arc<Shard>]>,
    timers: Arc<TimerWake>,
    /// Round-robin position for new connections.
    next: AtomicUsize,
    /// Round-robin position for work notifications.
    next_notify: AtomicUsize,
}

impl EventLoops {
    /// `shards` event loops for `workers` workers on `cores` cores.
    pub(crate) fn new(shards: usize, cores: usize) -> std::io::Result<EventLoops> {
        let shards = shards.clamp(1, MAX_SHARDS);
        // As many event-driven workers as cores, spread over the shards: more would only
        // take turns on the same cores and add scheduling delays.
        let max_waiters = cores.div_ceil(shards).max(1);
        let timers = Arc::new(TimerWake {
            fd: new_event()?,
            dozing: AtomicBool::new(false),
            sweep: AtomicBool::new(false),
        });
        let shards = (0..shards)
            .map(|i| Shard::new(i, max_waiters, timers.clone()).map(Arc::new))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(EventLoops {
            shards: shards.into_boxed_slice(),
            timers,
            next: AtomicUsize::new(0),
            next_notify: AtomicUsize::new(0),
        })
    }

    /// How many shards there are.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Shard `i` (modulo the number of shards).
    pub(crate) fn shard(&self, i: usize) -> &Arc<Shard> {
        &self.shards[i % self.shards.len()]
    }

    /// The shard for a new connection (round-robin).
    pub(crate) fn assign(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len()
    }

    /// Wakes the timer thread (shutdown, abort, an earlier deadline).
    pub(crate) fn wake(&self) {
        self.timers.wake();
    }

    /// Parks a connection in its shard until its socket is ready or its deadline passes.
    /// At shutdown an idle connection is closed instead, unless it has something to do
    /// (see [`Conn::at_shutdown`]): then it goes straight onto the ready list.
    pub(crate) fn park(&self, conn: Box<Conn>, shared: &Shared) -> Parked {
        if shared.is_aborting() {
            return Parked::Dropped;
        }
        self.shard(conn.link.shard)
            .clone()
            .park(conn, false, shared)
    }

    /// Puts a connection that has had its turn (see [`Outcome::Yield`]) at the back of
    /// its shard's ready list.
    ///
    /// [`Outcome::Yield`]: crate::conn::link::Outcome::Yield
    pub(crate) fn requeue(&self, conn: Box<Conn>, shared: &Shared) -> Parked {
        if shared.is_aborting() {
            return Parked::Dropped;
        }
        self.shard(conn.link.shard).clone().park(conn, true, shared)
    }

    /// Takes a parked connection by the token it was parked with (an HTTP/2 connection
    /// woken by a finished handler); `None` when it is not parked now.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn take_parked(&self, token: u64) -> Option<Box<Conn>> {
        let (_, shard, _) = untoken(token);
        self.shards.get(shard)?.take_parked(token)
    }

    /// Tells a waiting worker that the pool's queue has work.
    ///
    /// Only workers in `epoll_wait` need the eventfd (one blocked on the queue is woken by
    /// the channel), so one shard with a waiter is signaled, and a signaled eventfd needs
    /// no second write. A worker re-checks the queue after becoming a waiter, so skipping
    /// is safe.
    pub(crate) fn notify_work(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        let n = self.shards.len();
        let start = if n == 1 {
            0
        } else {
            self.next_notify.fetch_add(1, Ordering::Relaxed)
        };
        for k in 0..n {
            let s = &self.shards[(start + k) % n];
            if s.waiting.load(Ordering::SeqCst) > 0 {
                s.notify();
                return;
            }
        }
    }

    /// Signals every shard's work eventfd (shutdown: every worker must look).
    pub(crate) fn notify_work_always(&self) {
        for s in self.shards.iter() {
            s.work_signaled.store(true, Ordering::SeqCst);
            signal(&s.work);
        }
    }

    /// Whether a shard has parked connections and no worker waiting on its set: one that
    /// became ready would wait for a rescue. (Where a worker waits, it takes them; should
    /// it leave, it wakes a dozing timer thread.)
    fn unwatched(&self) -> bool {
        self.shards
            .iter()
            .any(|s| s.waiting.load(Ordering::SeqCst) == 0 && s.lock().parked > 0)
    }
}

/// How often the timer thread checks for ready connections that no worker is waiting
/// for (all event-driven workers of a shard busy, say in slow handlers) and hands them to
/// the pool.
const RESCUE_INTERVAL: Duration = Duration::from_millis(5);

/// The longest the timer thread goes without sweeping the deadlines.
const MAX_SWEEP: Duration = Duration::from_secs(1);

/// How long the timer thread keeps looking every [`RESCUE_INTERVAL`] after its last pass
/// that found a shard to watch (or after a park or a leaving waiter woke it): under load,
/// passes often find every connection out being driven or a worker waiting, and dozing
/// off between two of them would make the next park wake it each time.
const QUIET: Duration = Duration::from_millis(250);

/// The timer thread: enforces deadlines, hands ready connections to the pool when no
/// worker is waiting on their shard, and closes idle parked connections at shutdown.
/// Returns once the server has shut down.
pub(crate) fn run(shared: &Shared, pool: Sender<super::Work>) {
    let loops = &shared.poller;
    let mut closed_idle = false;
    let mut next_expire = Instant::now();
    let mut pending: VecDeque<Box<Conn>> = VecDeque::new();
    // When a pass last found something to watch (parked connections, ...).
    let mut busy_at = Instant::now();
    // Each shard's `looks` at the previous pass.
    let mut seen = vec![0u64; loops.shards.len()];
    loop {
        let now = Instant::now();
        let mut until = next_expire.max(now);
        let watched = !shared
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if !pending.is_empty() || watched || loops.unwatched() {
            busy_at = now;
        }
        let mut dozing = false;
        if now.duration_since(busy_at) < QUIET {
            until = until.min(now + RESCUE_INTERVAL);
        } else {
            // Nothing to rescue for a while: sleep until the next deadline (see
            // TimerWake::doze for why the flag goes up before this last look).
            loops.timers.doze();
            if loops.unwatched() {
                loops.timers.wake_up();
                busy_at = now;
                until = until.min(now + RESCUE_INTERVAL);
            } else {
                dozing = true;
            }
        }
        let timeout = until.saturating_duration_since(now);
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&loops.timers.fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(n) if n > 0 => drain_event(&loops.timers.fd),
            _ => {}
        }
        // A park took the flag down and woke this thread: rescues are due again.
        if dozing && !loops.timers.wake_up() {
            busy_at = Instant::now();
        }
        // A park with a deadline before the next sweep asks for one now.
        if loops.timers.sweep_asked() || Instant::now() >= next_expire {
            next_expire = expire(shared);
        }
        for (s, seen) in loops.shards.iter().zip(seen.iter_mut()) {
            s.rescue(shared, &mut pending, seen);
        }
        tick_watched(shared);
        if flush_pending(&pool, &mut pending) > 0 {
            // Workers waiting on another shard's epoll set do not see the pool's queue by
            // themselves: one of them must look (else the rescued connections would wait
            // for a worker to finish what it is doing, or for its wait to time out).
            loops.notify_work();
        }
        if shared.is_shutting_down() && !closed_idle {
            closed_idle = true;
            close_idle(loops, &mut pending);
            flush_pending(&pool, &mut pending);
            // Workers waiting on their shard's epoll set do not see the queue by
            // themselves.
            loops.notify_work();
        }
        if shared.is_aborting() {
            close_all(loops);
            pending.clear();
        }
        if shared.poller_should_exit() {
            close_all(loops);
            return;
        }
    }
}

/// Lets every watched piece of work (an HTTP/2 batch of handlers) look at the time.
fn tick_watched(shared: &Shared) {
    let live: Vec<_> = {
        let mut all = shared.watched.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(|w| w.upgrade()).collect()
    };
    for w in live {
        w.tick(shared);
    }
}

/// Queues the connections the pool's queue had no room for, while it has; returns how
/// many it queued.
fn flush_pending(pool: &Sender<super::Work>, pending: &mut VecDeque<Box<Conn>>) -> usize {
    let mut queued = 0;
    while let Some(c) = pending.pop_front() {
        match pool.try_send(super::Work::Conn(c)) {
            Ok(()) => queued += 1,
            Err(TrySendError::Full(super::Work::Conn(c))) => {
                pending.push_front(c);
                break;
            }
            Err(TrySendError::Full(_)) => break,
            Err(TrySendError::Disconnected(_)) => {
                pending.clear();
                break;
            }
        }
    }
    queued
}

/// Handles expired connections; returns when to sweep next: the earliest deadline still
/// pending, at most [`MAX_SWEEP`] from now.
fn expire(shared: &Shared) -> Instant {
    let now = Instant::now();
    let mut next = now + MAX_SWEEP;
    for s in shared.poller.shards.iter() {
        let (expired, at) = s.sweep(now);
        for conn in expired {
            if let Some(conn) = crate::conn::on_expired(conn, shared) {
                shared.park(conn);
            }
        }
        next = next.min(at);
    }
    next
}

/// At shutdown: closes the idle connections that have nothing to do, and lingering ones
/// after discarding what their client has queued (their response and FIN are out;
/// closing sends a FIN, not a reset). An idle connection with bytes waiting in its
/// socket (a request sent before the signal whose event no worker has handled yet) and
/// an HTTP/2 connection (it owes its client a GOAWAY) are queued to be driven instead.
fn close_idle(loops: &EventLoops, pending: &mut VecDeque<Box<Conn>>) {
    for s in loops.shards.iter() {
        for mut c in s.take_where(|c| c.is_idle() || c.is_lingering() || c.is_http2()) {
            if c.is_lingering() {
                c.linger_read();
            } else if !c.is_idle() || c.at_shutdown() == AtShutdown::Drive {
                pending.push_back(c);
            }
        }
    }
}

fn close_all(loops: &EventLoops) {
    for s in loops.shards.iter() {
        drop(s.take_where(|_| true));
    }
}

//! The one readiness poller (epoll) where connections wait while they have nothing to
//! read (or, writing to a slow reader, no room to write): idle keep-alive connections,
//! slow clients mid-head or mid-body, and connections lingering after an error response.
//! None of them holds a worker.
//!
//! Sockets are registered `EPOLLONESHOT`: an event disarms the socket until the next park
//! re-arms it (`EPOLL_CTL_MOD`), so each readiness event goes to exactly one thread and a
//! connection is in exactly one place at a time. Two kinds of thread take events:
//!
//! - a worker that has just parked a connection asks the epoll set, without blocking, for
//!   a connection that is ready now and drives it itself: under load a worker goes from
//!   connection to connection with no hand-off to another thread;
//! - the poller thread blocks in `epoll_wait` for the rest, hands ready connections to the
//!   pool's queue, and enforces deadlines (keep-alive, header timeout, data rates, linger)
//!   kept in a min-heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

use crate::http1::conn::{Conn, Phase, LINGER_BYTES};
use crate::server::Shared;

const WAKER: u64 = u64::MAX;

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
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// When the poller thread will next look at the timers.
    next_wake: Instant,
}

/// The epoll set, the parked connections, and the wake-up event of the poller thread.
pub(crate) struct Poller {
    epoll: OwnedFd,
    wake: OwnedFd,
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
        epoll::add(&ep, &wake, EventData::new_u64(WAKER), EventFlags::IN)?;
        Ok(Poller {
            epoll: ep,
            wake,
            state: Mutex::new(State {
                slots: Vec::new(),
                free: Vec::new(),
                timers: BinaryHeap::new(),
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
        st.timers.push(Reverse((deadline, idx, gen)));
        st.slots[idx].conn = Some(conn);
        let earlier = deadline < st.next_wake;
        drop(st);
        if earlier {
            self.wake();
        }
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

    /// For a worker that has just finished with a connection: a parked connection that is
    /// ready now, if any (never blocks).
    pub(crate) fn take_ready(&self, shared: &Shared) -> Option<Box<Conn>> {
        let empty = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        let mut events = [empty; 1];
        for _ in 0..4 {
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let n = epoll::wait(&self.epoll, &mut events, Some(&zero)).ok()?;
            if n == 0 {
                return None;
            }
            let ev = events[0];
            let token = ev.data.u64();
            if token == WAKER {
                // Not ours: the poller thread watches it (level-triggered, it stays set).
                return None;
            }
            if let Ready::Drive(conn) = self.on_event(token, ev.flags, shared) {
                return Some(conn);
            }
        }
        None
    }
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

/// The poller thread: hands ready connections to the pool, enforces deadlines, and
/// closes parked connections at shutdown. Returns once the server has shut down.
pub(crate) fn run(shared: &Shared, pool: Sender<Box<Conn>>) {
    let poller = &shared.poller;
    let mut pending: VecDeque<Box<Conn>> = VecDeque::new();
    let mut closed_idle = false;
    let mut events: Vec<epoll::Event> = Vec::with_capacity(256);
    loop {
        let timeout = {
            let mut st = poller.lock();
            let t = if pending.is_empty() {
                next_timeout(&mut st)
            } else {
                Duration::from_millis(2)
            };
            st.next_wake = Instant::now() + t;
            t
        };
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        events.clear();
        match epoll::wait(&poller.epoll, spare_capacity(&mut events), Some(&ts)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                log::error!("poller: epoll_wait failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        for ev in events.iter() {
            let token = ev.data.u64();
            if token == WAKER {
                drain_event(&poller.wake);
                continue;
            }
            if let Ready::Drive(conn) = poller.on_event(token, ev.flags, shared) {
                dispatch(&pool, &mut pending, conn);
            }
        }
        expire(shared, Instant::now());
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
            pending.clear();
            return;
        }
    }
}

fn next_timeout(st: &mut State) -> Duration {
    // Drop stale heap entries lazily on the way.
    while let Some(Reverse((at, idx, gen))) = st.timers.peek().copied() {
        if is_live(st, at, idx, gen) {
            return at
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
        }
        st.timers.pop();
    }
    Duration::from_secs(1)
}

fn is_live(st: &State, at: Instant, idx: usize, gen: u32) -> bool {
    st.slots
        .get(idx)
        .is_some_and(|s| s.gen == gen && s.conn.as_ref().is_some_and(|c| c.deadline == at))
}

fn dispatch(pool: &Sender<Box<Conn>>, pending: &mut VecDeque<Box<Conn>>, conn: Box<Conn>) {
    if !pending.is_empty() {
        pending.push_back(conn);
        return;
    }
    match pool.try_send(conn) {
        Ok(()) => {}
        Err(TrySendError::Full(c)) => pending.push_back(c),
        Err(TrySendError::Disconnected(_)) => {}
    }
}

fn flush_pending(pool: &Sender<Box<Conn>>, pending: &mut VecDeque<Box<Conn>>) {
    while let Some(c) = pending.pop_front() {
        match pool.try_send(c) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => {
                pending.push_front(c);
                return;
            }
            Err(TrySendError::Disconnected(_)) => {
                pending.clear();
                return;
            }
        }
    }
}

fn expire(shared: &Shared, now: Instant) {
    let poller = &shared.poller;
    loop {
        let conn = {
            let mut st = poller.lock();
            let Some(Reverse((at, idx, gen))) = st.timers.peek().copied() else {
                return;
            };
            if at > now {
                return;
            }
            st.timers.pop();
            if !is_live(&st, at, idx, gen) {
                continue;
            }
            Poller::take(&mut st, idx, gen)
        };
        if let Some(conn) = conn {
            if let Some(conn) = conn.on_expired(shared) {
                poller.park(conn, shared);
            }
        }
    }
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

//! The one readiness poller (epoll) where connections wait while they have nothing to
//! read: idle keep-alive connections, slow clients mid-head or mid-body, and connections
//! lingering after an error response. None of them holds a worker.
//!
//! Workers park connections through a channel and an eventfd wake-up. Sockets are
//! registered `EPOLLONESHOT`: an event disarms the socket until the next park re-arms it
//! (`EPOLL_CTL_MOD`), so a connection is in exactly one place at a time. Deadlines
//! (keep-alive, header timeout, body rate, linger) live in a min-heap here.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
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

/// The workers' side: hands a connection to the poller.
#[derive(Debug, Clone)]
pub(crate) struct Parker {
    tx: Sender<Box<Conn>>,
    wake: Arc<OwnedFd>,
}

impl Parker {
    pub(crate) fn park(&self, conn: Box<Conn>) {
        if self.tx.send(conn).is_ok() {
            signal(&self.wake);
        }
    }

    pub(crate) fn wake(&self) {
        signal(&self.wake);
    }
}

/// Creates the channel between workers and the poller.
pub(crate) fn channel() -> std::io::Result<(Parker, Receiver<Box<Conn>>, Arc<OwnedFd>)> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let wake = Arc::new(new_event()?);
    Ok((
        Parker {
            tx,
            wake: wake.clone(),
        },
        rx,
        wake,
    ))
}

struct Slot {
    conn: Option<Box<Conn>>,
    gen: u32,
}

struct Poller {
    epoll: OwnedFd,
    slots: Vec<Slot>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    pending: VecDeque<Box<Conn>>,
    pool: Sender<Box<Conn>>,
    shared: Arc<Shared>,
    closed_idle: bool,
    scratch: Vec<u8>,
}

/// Runs the poller until the server has shut down.
pub(crate) fn run(
    shared: Arc<Shared>,
    rx: Receiver<Box<Conn>>,
    wake: Arc<OwnedFd>,
    pool: Sender<Box<Conn>>,
) -> std::io::Result<()> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(&ep, &*wake, EventData::new_u64(WAKER), EventFlags::IN)?;
    let mut p = Poller {
        epoll: ep,
        slots: Vec::new(),
        free: Vec::new(),
        timers: BinaryHeap::new(),
        pending: VecDeque::new(),
        pool,
        shared,
        closed_idle: false,
        scratch: vec![0; 4096],
    };
    let mut events: Vec<epoll::Event> = Vec::with_capacity(256);
    loop {
        let timeout = p.next_timeout();
        let ts = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        events.clear();
        match epoll::wait(&p.epoll, spare_capacity(&mut events), Some(&ts)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                log::error!("poller: epoll_wait failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        let mut woken = false;
        for ev in events.iter() {
            let token = ev.data.u64();
            if token == WAKER {
                woken = true;
                continue;
            }
            let flags = ev.flags;
            p.on_event(token, flags);
        }
        if woken {
            drain_event(&wake);
        }
        while let Ok(conn) = rx.try_recv() {
            p.insert(conn);
        }
        p.expire(Instant::now());
        p.flush_pending();
        if p.shared.is_shutting_down() && !p.closed_idle {
            p.close_idle();
        }
        if p.shared.is_aborting() {
            p.close_all();
        }
        if p.shared.poller_should_exit() {
            p.close_all();
            return Ok(());
        }
    }
}

impl Poller {
    fn next_timeout(&mut self) -> Duration {
        if !self.pending.is_empty() {
            return Duration::from_millis(2);
        }
        // Drop stale heap entries lazily on the way.
        while let Some(Reverse((at, idx, gen))) = self.timers.peek().copied() {
            let live = self
                .slots
                .get(idx)
                .is_some_and(|s| s.gen == gen && s.conn.as_ref().is_some_and(|c| c.deadline == at));
            if live {
                return at
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_secs(1));
            }
            self.timers.pop();
        }
        Duration::from_secs(1)
    }

    fn insert(&mut self, mut conn: Box<Conn>) {
        if (self.shared.is_shutting_down() && conn.is_idle()) || self.shared.is_aborting() {
            return;
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot { conn: None, gen: 0 });
                self.slots.len() - 1
            }
        };
        let gen = self.slots[idx].gen.wrapping_add(1);
        self.slots[idx].gen = gen;
        let token = ((gen as u64) << 32) | idx as u64;
        // A connection writing a response to a slow reader waits for room in its send
        // buffer; every other one waits for bytes.
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
            self.free.push(idx);
            return;
        }
        conn.registered = true;
        self.timers.push(Reverse((conn.deadline, idx, gen)));
        self.slots[idx].conn = Some(conn);
    }

    fn take(&mut self, idx: usize, gen: u32) -> Option<Box<Conn>> {
        let slot = self.slots.get_mut(idx)?;
        if slot.gen != gen {
            return None;
        }
        let conn = slot.conn.take()?;
        self.free.push(idx);
        Some(conn)
    }

    fn on_event(&mut self, token: u64, flags: EventFlags) {
        let (idx, gen) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
        let Some(mut conn) = self.take(idx, gen) else {
            return;
        };
        if conn.phase == Phase::Lingering {
            if self.linger_read(&mut conn) {
                self.insert(conn);
            }
            return;
        }
        let hung_up = flags.intersects(EventFlags::RDHUP | EventFlags::HUP | EventFlags::ERR);
        if hung_up && conn.is_idle() {
            log::debug!(
                "Connection id \"{}\" closed by the client while idle",
                conn.id()
            );
            return;
        }
        self.dispatch(conn);
    }

    /// Reads and discards what a lingering client sends. `true`: keep lingering.
    fn linger_read(&mut self, conn: &mut Conn) -> bool {
        loop {
            match conn.io.try_read(&mut self.scratch) {
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

    fn dispatch(&mut self, conn: Box<Conn>) {
        if !self.pending.is_empty() {
            self.pending.push_back(conn);
            return;
        }
        match self.pool.try_send(conn) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => self.pending.push_back(c),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn flush_pending(&mut self) {
        while let Some(c) = self.pending.pop_front() {
            match self.pool.try_send(c) {
                Ok(()) => {}
                Err(TrySendError::Full(c)) => {
                    self.pending.push_front(c);
                    return;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.pending.clear();
                    return;
                }
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, idx, gen))) = self.timers.peek().copied() {
            if at > now {
                return;
            }
            self.timers.pop();
            let live = self
                .slots
                .get(idx)
                .is_some_and(|s| s.gen == gen && s.conn.as_ref().is_some_and(|c| c.deadline == at));
            if !live {
                continue;
            }
            if let Some(conn) = self.take(idx, gen) {
                if let Some(conn) = conn.on_expired(&self.shared) {
                    self.insert(conn);
                }
            }
        }
    }

    /// At shutdown: closes idle connections, and lingering ones whose client has nothing
    /// more queued (their response and FIN are out; closing cannot cause a reset that
    /// destroys the response).
    fn close_idle(&mut self) {
        self.closed_idle = true;
        for i in 0..self.slots.len() {
            let Some(mut conn) = self.slots[i].conn.take() else {
                continue;
            };
            let close = conn.is_idle() || conn.phase == Phase::Lingering;
            if conn.phase == Phase::Lingering {
                // Discard what is queued so that closing sends a FIN, not a reset.
                self.linger_read(&mut conn);
            }
            if close {
                self.free.push(i);
            } else {
                self.slots[i].conn = Some(conn);
            }
        }
    }

    fn close_all(&mut self) {
        for i in 0..self.slots.len() {
            if self.slots[i].conn.take().is_some() {
                self.free.push(i);
            }
        }
        self.pending.clear();
    }
}

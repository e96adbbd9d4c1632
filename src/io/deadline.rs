//! Deadline-driven reads and writes over a non-blocking [`Transport`].
//!
//! Every wait is a `ppoll` on the socket and the server's abort event, bounded by a
//! deadline; a missed deadline becomes [`IoFail::TimedOut`]. Minimum data rates
//! (Kestrel's `MinDataRate`) are tracked by [`RateTimer`], which counts only the time
//! spent waiting on the peer, as Kestrel counts only the time a read or write is pending.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::Transport;
use crate::limits::MinDataRate;

/// Why a deadline-bound operation failed.
#[derive(Debug)]
pub(crate) enum IoFail {
    /// The deadline or the data rate's allowance passed.
    TimedOut,
    /// The server is aborting connections (shutdown timeout elapsed).
    Aborted,
    /// The peer closed the connection.
    Closed,
    /// Any other socket error.
    Io(io::Error),
}

impl From<io::Error> for IoFail {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted => IoFail::Closed,
            io::ErrorKind::TimedOut => IoFail::TimedOut,
            _ => IoFail::Io(e),
        }
    }
}

impl From<IoFail> for io::Error {
    fn from(f: IoFail) -> io::Error {
        match f {
            IoFail::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                "minimum data rate or deadline not met",
            ),
            IoFail::Aborted => io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection aborted by server shutdown",
            ),
            IoFail::Closed => {
                io::Error::new(io::ErrorKind::ConnectionReset, "connection closed by peer")
            }
            IoFail::Io(e) => e,
        }
    }
}

/// Tracks a minimum data rate: after the grace period the peer must have moved
/// `bytes_per_second` bytes for every second spent waiting on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateTimer {
    rate: Option<MinDataRate>,
    waited: Duration,
    bytes: u64,
}

impl RateTimer {
    pub(crate) fn new(rate: Option<MinDataRate>) -> Self {
        RateTimer {
            rate,
            waited: Duration::ZERO,
            bytes: 0,
        }
    }

    pub(crate) fn set_rate(&mut self, rate: Option<MinDataRate>) {
        self.rate = rate;
    }

    /// Records bytes moved.
    pub(crate) fn add_bytes(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_add(n as u64);
    }

    /// Bytes moved so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records time spent waiting on the peer.
    pub(crate) fn add_wait(&mut self, d: Duration) {
        self.waited = self.waited.saturating_add(d);
    }

    /// How much longer the peer may keep us waiting before it is too slow; `None` when
    /// no rate is enforced.
    pub(crate) fn allowance(&self) -> Option<Duration> {
        self.allowance_unconfirmed(0)
    }

    /// Like [`allowance`](Self::allowance), but the last `unconfirmed` bytes earn nothing:
    /// bytes a socket's send buffer swallowed have not reached the peer yet, and a client
    /// that reads nothing must not earn hours of credit from a multi-megabyte kernel buffer.
    pub(crate) fn allowance_unconfirmed(&self, unconfirmed: u64) -> Option<Duration> {
        let rate = self.rate?;
        let confirmed = self.bytes.saturating_sub(unconfirmed);
        let earned = Duration::from_secs_f64(confirmed as f64 / rate.bytes_per_second as f64);
        let limit = rate.grace_period.max(earned);
        Some(limit.saturating_sub(self.waited))
    }
}

/// The socket of one connection plus what every wait needs: the abort event and the
/// connection-logging switch.
#[derive(Debug)]
pub(crate) struct DeadlineIo {
    pub(crate) stream: Transport,
    abort: Arc<OwnedFd>,
    log_id: Option<u64>,
    /// The last read returned fewer bytes than asked for and the socket was empty then
    /// (see [`Transport::drained_after`]): the next [`try_read`](Self::try_read) answers "would block" without
    /// a system call. Bytes that arrive later raise an edge-triggered event, and parking
    /// or a readiness wait clears this. Saves the read that finds the socket empty after
    /// each request, as nginx does.
    drained: bool,
    /// The client's FIN was signalled (EPOLLRDHUP or POLLRDHUP): from then on a short read
    /// does not mean the socket is empty, because the end of the stream waits behind the
    /// bytes and raises no further edge. Reads go on until they meet it.
    fin_seen: bool,
}

/// The result of waiting for readiness.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ready {
    Yes,
    TimedOut,
}

impl DeadlineIo {
    pub(crate) fn new(stream: Transport, abort: Arc<OwnedFd>, log_id: Option<u64>) -> Self {
        DeadlineIo {
            stream,
            abort,
            log_id,
            drained: false,
            fin_seen: false,
        }
    }

    /// Forgets that the socket was found empty (the connection parks: the next drive
    /// comes from a readiness event). Returns whether it had been: then the last
    /// "would block" from [`try_read`](Self::try_read) did not look at the socket.
    pub(crate) fn forget_drained(&mut self) -> bool {
        self.stream.forget_drained();
        std::mem::take(&mut self.drained)
    }

    /// Notes that the client's FIN was signalled (see `fin_seen`).
    pub(crate) fn saw_fin(&mut self) {
        self.fin_seen = true;
    }

    /// Waits until the socket is readable (or writable with `write`) or `until` passes.
    pub(crate) fn wait(&mut self, write: bool, until: Instant) -> Result<Ready, IoFail> {
        self.forget_drained();
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(Ready::TimedOut);
            }
            let left = until - now;
            let ts = Timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as _,
                tv_nsec: left.subsec_nanos() as _,
            };
            let flags = if write {
                PollFlags::OUT
            } else {
                PollFlags::IN | PollFlags::RDHUP
            };
            let mut fds = [
                PollFd::new(&self.stream, flags),
                PollFd::new(&*self.abort, PollFlags::IN),
            ];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => continue,
                Ok(_) => {
                    if !fds[1].revents().is_empty() {
                        return Err(IoFail::Aborted);
                    }
                    if fds[0].revents().contains(PollFlags::RDHUP) {
                        self.fin_seen = true;
                    }
                    return Ok(Ready::Yes);
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(IoFail::Io(e.into())),
            }
        }
    }

    /// One non-blocking read: `Ok(Some(0))` is end of stream, `Ok(None)` would block.
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> Result<Option<usize>, IoFail> {
        if self.drained {
            return Ok(None);
        }
        loop {
            match self.stream.read(buf) {
                Ok(n) => {
                    self.drained = !self.fin_seen && self.stream.drained_after(n, buf.len());
                    if let Some(id) = self.log_id {
                        log_bytes(id, "read", &buf[..n]);
                    }
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads at least one byte, waiting at most until `until` and, when a rate timer is
    /// given, no longer than its allowance. End of stream is `Ok(0)`.
    pub(crate) fn read_until(
        &mut self,
        buf: &mut [u8],
        until: Instant,
        mut rate: Option<&mut RateTimer>,
    ) -> Result<usize, IoFail> {
        loop {
            if let Some(n) = self.try_read(buf)? {
                if let Some(r) = rate.as_deref_mut() {
                    r.add_bytes(n);
                }
                return Ok(n);
            }
            let start = Instant::now();
            let mut limit = until;
            if let Some(allow) = rate.as_deref().and_then(|r| r.allowance()) {
                limit = limit.min(start + allow);
            }
            let ready = self.wait(false, limit)?;
            if let Some(r) = rate.as_deref_mut() {
                r.add_wait(start.elapsed());
            }
            if ready == Ready::TimedOut {
                return Err(IoFail::TimedOut);
            }
        }
    }

    /// Writes all of `data`, waiting for the peer to read under the rate timer.
    pub(crate) fn write_all(&mut self, data: &[u8], rate: &mut RateTimer) -> Result<(), IoFail> {
        self.write_all_parts(&mut [io::IoSlice::new(data)], rate)
    }

    /// Writes all of `parts` in order, waiting for the peer to read under the rate timer:
    /// vectored, so that parts that fit leave in one system call (over TLS in one record),
    /// not one each. Empty parts are skipped.
    pub(crate) fn write_all_parts(
        &mut self,
        mut parts: &mut [io::IoSlice<'_>],
        rate: &mut RateTimer,
    ) -> Result<(), IoFail> {
        io::IoSlice::advance_slices(&mut parts, 0);
        while !parts.is_empty() {
            let r = match &*parts {
                [one] => self.stream.write(one),
                _ => self.stream.write_vectored(parts),
            };
            match r {
                Ok(0) => return Err(IoFail::Closed),
                Ok(n) => {
                    if let Some(id) = self.log_id {
                        let mut left = n;
                        for p in parts.iter() {
                            let k = left.min(p.len());
                            log_bytes(id, "written", &p[..k]);
                            left -= k;
                            if left == 0 {
                                break;
                            }
                        }
                    }
                    rate.add_bytes(n);
                    io::IoSlice::advance_slices(&mut parts, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let start = Instant::now();
                    // The send buffer is full: up to its size in bytes may still be queued
                    // in the kernel, unread by the peer.
                    let queued = self.send_buffer_size();
                    let until = match rate.allowance_unconfirmed(queued) {
                        Some(a) => start + a,
                        None => start + Duration::from_secs(3600 * 24 * 365),
                    };
                    let ready = self.wait(true, until)?;
                    rate.add_wait(start.elapsed());
                    if ready == Ready::TimedOut {
                        return Err(IoFail::TimedOut);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        while self.stream.pending_output() {
            if self.try_flush()? {
                break;
            }
            let start = Instant::now();
            let until = match rate.allowance_unconfirmed(self.send_buffer_size()) {
                Some(a) => start + a,
                None => start + Duration::from_secs(3600 * 24 * 365),
            };
            let ready = self.wait(true, until)?;
            rate.add_wait(start.elapsed());
            if ready == Ready::TimedOut {
                return Err(IoFail::TimedOut);
            }
        }
        Ok(())
    }

    /// Whether bytes written are still buffered above the socket (in TLS).
    pub(crate) fn pending_output(&self) -> bool {
        self.stream.pending_output()
    }

    /// Pushes out bytes buffered above the socket without waiting: `Ok(true)` when all
    /// went out, `Ok(false)` when the socket is full.
    pub(crate) fn try_flush(&mut self) -> Result<bool, IoFail> {
        match self.stream.flush_output() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One non-blocking write of `first` then `second` (vectored when both are
    /// non-empty): `Ok(None)` would block.
    pub(crate) fn try_write_pair(
        &mut self,
        first: &[u8],
        second: &[u8],
    ) -> Result<Option<usize>, IoFail> {
        loop {
            let r = if second.is_empty() {
                self.stream.write(first)
            } else if first.is_empty() {
                self.stream.write(second)
            } else {
                self.stream
                    .write_vectored(&[io::IoSlice::new(first), io::IoSlice::new(second)])
            };
            match r {
                Ok(0) => return Err(IoFail::Closed),
                Ok(n) => {
                    if let Some(id) = self.log_id {
                        let a = n.min(first.len());
                        log_bytes(id, "written", &first[..a]);
                        if n > a {
                            log_bytes(id, "written", &second[..n - a]);
                        }
                    }
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether connection logging shows this connection's bytes.
    pub(crate) fn logs_bytes(&self) -> bool {
        self.log_id.is_some()
    }

    /// One non-blocking write that tells the kernel more follows at once (`MSG_MORE`):
    /// a response head then leaves in one segment with the start of a file sent by
    /// [`try_sendfile`](Self::try_sendfile). `Ok(None)` would block. Plain sockets only.
    pub(crate) fn try_write_more(&mut self, data: &[u8]) -> Result<Option<usize>, IoFail> {
        loop {
            match rustix::net::send(&self.stream, data, rustix::net::SendFlags::MORE) {
                Ok(0) => return Err(IoFail::Closed),
                Ok(n) => return Ok(Some(n)),
                Err(rustix::io::Errno::AGAIN) => return Ok(None),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }

    /// Sends the next part of a file region with sendfile(2), without waiting: the
    /// kernel copies from the page cache to the socket. Advances the region; `Ok(None)`
    /// would block, `Ok(Some(0))` means the file ended early. Plain sockets only.
    pub(crate) fn try_sendfile(
        &mut self,
        f: &mut super::FileRegion,
    ) -> Result<Option<usize>, IoFail> {
        // At most 1 MiB a call, so that a large file does not keep one call going long.
        let count = f.remaining.min(1 << 20) as usize;
        loop {
            let mut offset = f.offset;
            match rustix::fs::sendfile(&self.stream, &f.file, Some(&mut offset), count) {
                Ok(n) => {
                    f.advance(n as u64);
                    return Ok(Some(n));
                }
                Err(rustix::io::Errno::AGAIN) => return Ok(None),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }

    /// The size of the socket's send buffer: an upper bound on the bytes written that
    /// may not have reached the peer yet.
    pub(crate) fn send_buffer_size(&self) -> u64 {
        rustix::net::sockopt::socket_send_buffer_size(&self.stream)
            .map(|n| n as u64)
            .unwrap_or(0)
    }

    /// Best-effort non-blocking write used for short error responses from places that
    /// must not wait (returns how much was written).
    pub(crate) fn write_nowait(&mut self, data: &[u8]) -> usize {
        match self.stream.write(data) {
            Ok(n) => {
                if let Some(id) = self.log_id {
                    log_bytes(id, "written", &data[..n]);
                }
                n
            }
            Err(_) => 0,
        }
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

/// Connection logging (Kestrel's UseConnectionLogging): every byte, escaped, at debug.
fn log_bytes(id: u64, what: &str, bytes: &[u8]) {
    if log::log_enabled!(target: "falconet::connection", log::Level::Debug) {
        log::debug!(
            target: "falconet::connection",
            "[conn {id}] {what} {} bytes: {}",
            bytes.len(),
            bytes.escape_ascii()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(bps: u64, grace: u64) -> Option<MinDataRate> {
        Some(MinDataRate {
            bytes_per_second: bps,
            grace_period: Duration::from_secs(grace),
        })
    }

    #[test]
    fn no_rate_means_no_allowance() {
        assert_eq!(RateTimer::new(None).allowance(), None);
    }

    #[test]
    fn grace_period_is_the_first_allowance() {
        let t = RateTimer::new(rate(240, 5));
        assert_eq!(t.allowance(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn bytes_earn_time_and_waiting_spends_it() {
        let mut t = RateTimer::new(rate(100, 2));
        t.add_wait(Duration::from_secs(2));
        assert_eq!(
            t.allowance(),
            Some(Duration::ZERO),
            "grace used up with no bytes"
        );
        t.add_bytes(1000); // earns 10 s in total
        assert_eq!(t.allowance(), Some(Duration::from_secs(8)));
        t.add_wait(Duration::from_secs(9));
        assert_eq!(t.allowance(), Some(Duration::ZERO));
    }

    #[test]
    fn bytes_still_in_the_send_buffer_earn_nothing() {
        let mut t = RateTimer::new(rate(1000, 2));
        t.add_bytes(4_000_000); // swallowed by a 4 MB kernel buffer
        assert_eq!(t.allowance(), Some(Duration::from_secs(4000)));
        assert_eq!(
            t.allowance_unconfirmed(4_000_000),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            t.allowance_unconfirmed(3_990_000),
            Some(Duration::from_secs(10))
        );
        t.add_wait(Duration::from_secs(3));
        assert_eq!(t.allowance_unconfirmed(4_000_000), Some(Duration::ZERO));
    }

    /// Parts larger than the socket buffer, with empty ones among them, arrive whole and in
    /// order however the writes split them; every byte counts for the rate timer.
    #[test]
    fn write_all_parts_writes_every_part_in_order() {
        use std::os::unix::net::UnixStream;
        let (server, mut client) = UnixStream::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        let abort = Arc::new(crate::server::event_loop::new_event().unwrap());
        let mut io = DeadlineIo::new(Transport::Unix(Arc::new(server)), abort, None);
        let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).unwrap();
            got
        });
        let mut parts = [
            io::IoSlice::new(b""),
            io::IoSlice::new(b"head "),
            io::IoSlice::new(b""),
            io::IoSlice::new(&big),
            io::IoSlice::new(b"\r\n"),
            io::IoSlice::new(b""),
        ];
        let mut t = RateTimer::new(None);
        io.write_all_parts(&mut parts, &mut t).unwrap();
        drop(io);
        let mut want = b"head ".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n");
        assert_eq!(reader.join().unwrap(), want);
        assert_eq!(t.bytes(), want.len() as u64);
    }
}

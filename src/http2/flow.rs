//! HTTP/2 flow control (RFC 9113 §5.2, §6.9), sans-I/O: window arithmetic and the policy
//! that decides when to send WINDOW_UPDATE.
//!
//! Each stream and the connection have two windows:
//!
//! * a **send window** ([`Window`]): how many DATA octets we may still send. It starts at
//!   the peer's SETTINGS_INITIAL_WINDOW_SIZE (streams) or 65,535 (the connection), shrinks by
//!   what we send, grows with the peer's WINDOW_UPDATE ([`Window::increase`]) and moves by
//!   the difference when the peer changes SETTINGS_INITIAL_WINDOW_SIZE
//!   ([`Window::apply_initial_change`]; stream windows only, and they can go negative).
//! * a **receive window** ([`RecvWindow`]): how many DATA octets the peer may still send
//!   us. Received DATA consumes it ([`RecvWindow::recv`]); a peer that sends more is in
//!   error. The application's reads give space back ([`RecvWindow::release`]), and once
//!   more than half of the window has been given back, a WINDOW_UPDATE is due.
//!
//! What counts: the whole DATA payload, Pad Length octet and padding included (RFC 9113
//! §6.9.1). Padding never reaches the application, so the driver releases it at once.
//!
//! Errors are [`WindowError`]s; all are FLOW_CONTROL_ERROR. A window does not know whether
//! it belongs to a stream or to the connection, so the caller decides the scope: a stream
//! window's error is a stream error, the connection window's a connection error, and an
//! overflow caused by SETTINGS_INITIAL_WINDOW_SIZE is always a connection error (§6.9.2).

#[cfg(test)]
use super::frame::ErrorCode;
use super::frame::MAX_WINDOW_SIZE;

/// The initial size of every window until SETTINGS say otherwise, and of the connection
/// windows until WINDOW_UPDATE (RFC 9113 §6.9.2): 65,535 octets.
pub(crate) const DEFAULT_INITIAL_WINDOW_SIZE: u32 = 65_535;

/// The connection receive window we aim for. Default: 1 MiB, 1,048,576 octets (Kestrel's
/// `Http2Limits.InitialConnectionWindowSize`). The connection window always starts at
/// 65,535 octets; the driver raises it with a WINDOW_UPDATE on stream 0 right after its
/// SETTINGS ([`RecvWindow::new`] with this target makes that update due at once).
#[cfg(test)]
pub(crate) const DEFAULT_CONNECTION_WINDOW_SIZE: u32 = 1_048_576;

/// The stream receive window we advertise as our SETTINGS_INITIAL_WINDOW_SIZE. Default:
/// 768 KiB, 786,432 octets (Kestrel's `Http2Limits.InitialStreamWindowSize`).
///
/// Worst case memory: a peer may have this much in flight per stream, but never more than
/// the connection window in total; the driver's buffering is bounded by the connection
/// window (1 MiB by default), not by streams × stream window.
pub(crate) const DEFAULT_STREAM_WINDOW_SIZE: u32 = 786_432;

/// The largest window, 2^31-1, as a signed number.
const MAX: i64 = MAX_WINDOW_SIZE as i64;

/// The smallest window a legal exchange can produce is -(2^31-1) (a window emptied to 0,
/// then SETTINGS_INITIAL_WINDOW_SIZE lowered from 2^31-1 to 0); `i32::MIN` bounds it.
const MIN: i64 = i32::MIN as i64;

/// Why a window operation failed. Every one is a FLOW_CONTROL_ERROR; the scope is the
/// caller's (see the module documentation).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowError {
    /// More octets than the window holds: a peer's DATA beyond the window we advertised
    /// (RFC 9113 §6.9.1), or, on a send window, our own bug.
    Exceeded,
    /// The window would grow past 2^31-1: by a WINDOW_UPDATE (§6.9.1) or by a
    /// SETTINGS_INITIAL_WINDOW_SIZE change (§6.9.2).
    Overflow,
}

impl WindowError {
    /// The error code to send: always FLOW_CONTROL_ERROR.
    #[cfg(test)]
    pub(crate) const fn code(self) -> ErrorCode {
        ErrorCode::FlowControlError
    }
}

impl std::fmt::Display for WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WindowError::Exceeded => "flow-control window exceeded",
            WindowError::Overflow => "flow-control window above 2^31-1",
        })
    }
}

impl std::error::Error for WindowError {}

/// A flow-control window: a signed 32-bit count of octets, at most 2^31-1 (RFC 9113 §6.9).
///
/// It is negative only after a SETTINGS_INITIAL_WINDOW_SIZE decrease (§6.9.2); no DATA may
/// then be sent until WINDOW_UPDATEs bring it above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window(i32);

impl Window {
    /// A window of `size` octets. Sizes above 2^31-1 are cut to 2^31-1; SETTINGS loading
    /// already refuses such an initial window size (FLOW_CONTROL_ERROR), so a driver never
    /// passes one.
    pub(crate) const fn new(size: u32) -> Window {
        if size > MAX_WINDOW_SIZE {
            Window(MAX_WINDOW_SIZE as i32)
        } else {
            Window(size as i32)
        }
    }

    /// The window, negative after a SETTINGS_INITIAL_WINDOW_SIZE decrease.
    #[cfg(test)]
    pub(crate) const fn size(self) -> i32 {
        self.0
    }

    /// How many octets may be sent now: the window, or 0 when it is not positive.
    pub(crate) const fn available(self) -> u32 {
        if self.0 > 0 {
            self.0 as u32
        } else {
            0
        }
    }

    /// Takes `n` octets out of the window: received DATA (receive window) or DATA about to
    /// be sent (send window). Zero octets always fit, even in a window at or below zero: an
    /// empty DATA frame (with END_STREAM, say) is not flow-controlled in effect (§6.9.1).
    ///
    /// `Err(Exceeded)` when `n` is more than the window; the window is then unchanged.
    pub(crate) fn consume(&mut self, n: u32) -> Result<(), WindowError> {
        if n == 0 {
            return Ok(());
        }
        self.set(i64::from(self.0) - i64::from(n), n > self.available())
            .map_err(|_| WindowError::Exceeded)
    }

    /// Adds `n` octets: the increment of a WINDOW_UPDATE (send window), or the increment we
    /// announce in one (receive window). `Err(Overflow)` when the window would exceed
    /// 2^31-1 (§6.9.1); the window is then unchanged.
    pub(crate) fn increase(&mut self, n: u32) -> Result<(), WindowError> {
        self.set(i64::from(self.0) + i64::from(n), false)
    }

    /// Applies a change of SETTINGS_INITIAL_WINDOW_SIZE from `old` to `new`: the window
    /// moves by `new - old` and may become negative (§6.9.2). `Err(Overflow)` when it would
    /// exceed 2^31-1, a connection error whatever window it is; the window is then unchanged.
    pub(crate) fn apply_initial_change(&mut self, old: u32, new: u32) -> Result<(), WindowError> {
        let delta = i64::from(new) - i64::from(old);
        self.set(i64::from(self.0) + delta, false)
    }

    /// Stores `value` when it is a valid window and `refuse` is false.
    fn set(&mut self, value: i64, refuse: bool) -> Result<(), WindowError> {
        if refuse || !(MIN..=MAX).contains(&value) {
            return Err(WindowError::Overflow);
        }
        match i32::try_from(value) {
            Ok(v) => {
                self.0 = v;
                Ok(())
            }
            Err(_) => Err(WindowError::Overflow),
        }
    }
}

/// The receive side of one window (a stream's or the connection's) with the policy that
/// decides when to send WINDOW_UPDATE.
///
/// Octets move through three counts: the peer sends them ([`recv`](RecvWindow::recv):
/// the window shrinks, they are *unreleased*), the application reads them
/// ([`release`](RecvWindow::release): they are *pending*), and a WINDOW_UPDATE returns the
/// pending octets to the peer (the window grows back). An update is due when more than half
/// of the target window is pending, the rule of Kestrel's `InputFlowControl`
/// (`_minWindowSizeIncrement = initialWindowSize / 2`). Batching like this keeps the
/// number of WINDOW_UPDATE frames at about two per window's worth of data, while a
/// reading application never lets the peer's window fall below half before the update.
///
/// Because space comes back only when the application reads, a handler that stops reading
/// stops the peer: this is the back-pressure that bounds the driver's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecvWindow {
    /// What the peer may still send, as the peer sees it.
    window: Window,
    /// The window size we want the peer to have.
    target: u32,
    /// Received and not yet released by the application.
    unreleased: u32,
    /// Released and not yet announced in a WINDOW_UPDATE.
    pending: u32,
}

impl RecvWindow {
    /// A receive window that the peer currently believes to be `initial` octets and that we
    /// want to be `target` octets (both cut to 2^31-1).
    ///
    /// * A stream: `initial` = `target` = the SETTINGS_INITIAL_WINDOW_SIZE we advertised
    ///   ([`DEFAULT_STREAM_WINDOW_SIZE`]).
    /// * The connection: `initial` = [`DEFAULT_INITIAL_WINDOW_SIZE`] (fixed by the RFC),
    ///   `target` = [`DEFAULT_CONNECTION_WINDOW_SIZE`]. The difference starts out pending,
    ///   so [`poll_update`](RecvWindow::poll_update) returns it right away when it is more
    ///   than half the target, as it is with the defaults (983,041 octets).
    ///
    /// A target below `initial` is raised to `initial`: a window cannot be taken back
    /// except by SETTINGS.
    pub(crate) fn new(initial: u32, target: u32) -> RecvWindow {
        let initial = initial.min(MAX_WINDOW_SIZE);
        let target = target.clamp(initial, MAX_WINDOW_SIZE);
        RecvWindow {
            window: Window::new(initial),
            target,
            unreleased: 0,
            pending: target - initial,
        }
    }

    /// The window as the peer sees it: how much it may still send.
    #[cfg(test)]
    pub(crate) const fn window(&self) -> Window {
        self.window
    }

    /// The window size we aim for.
    pub(crate) const fn target(&self) -> u32 {
        self.target
    }

    /// Octets received and not yet released by the application.
    pub(crate) const fn unreleased(&self) -> u32 {
        self.unreleased
    }

    /// Octets released and not yet announced to the peer.
    #[cfg(test)]
    pub(crate) const fn pending(&self) -> u32 {
        self.pending
    }

    /// Accounts for a received DATA frame of `len` payload octets (padding included).
    /// `Err(Exceeded)` when the peer sent more than the window we advertised (RFC 9113
    /// §6.9.1): FLOW_CONTROL_ERROR, a stream error for a stream window and a connection
    /// error for the connection window. Nothing changes on error. An empty frame always
    /// fits.
    pub(crate) fn recv(&mut self, len: u32) -> Result<(), WindowError> {
        self.window.consume(len)?;
        // Cannot saturate: unreleased + pending + window stays at most the target.
        self.unreleased = self.unreleased.saturating_add(len);
        Ok(())
    }

    /// Gives `n` octets back: the application read them, or the driver dropped them
    /// (padding; the data of a reset stream). At most the unreleased octets are released;
    /// a larger `n` is cut. Returns the increment of a WINDOW_UPDATE to send now, if one is
    /// due (see [`poll_update`](RecvWindow::poll_update)).
    pub(crate) fn release(&mut self, n: u32) -> Option<u32> {
        let n = n.min(self.unreleased);
        self.unreleased -= n;
        self.pending = self.pending.saturating_add(n);
        self.poll_update()
    }

    /// The increment of a WINDOW_UPDATE to send, when more than half of the target window
    /// is pending; the window then counts it as announced. `None` otherwise, and when
    /// nothing is pending.
    pub(crate) fn poll_update(&mut self) -> Option<u32> {
        if self.pending == 0 || self.pending <= self.target / 2 {
            return None;
        }
        self.flush_update()
    }

    /// The increment of a WINDOW_UPDATE that announces everything pending, whatever the
    /// threshold (for a driver that wants to top up a window before it waits, say);
    /// `None` when nothing is pending.
    pub(crate) fn flush_update(&mut self) -> Option<u32> {
        if self.pending == 0 {
            return None;
        }
        let increment = self.pending;
        // Cannot fail: window + unreleased + pending never exceeds the target, at most
        // 2^31-1. Should it, the update is withheld rather than sent too large.
        self.window.increase(increment).ok()?;
        self.pending = 0;
        Some(increment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u32 = MAX_WINDOW_SIZE;

    #[test]
    fn defaults() {
        assert_eq!(DEFAULT_INITIAL_WINDOW_SIZE, 65_535);
        assert_eq!(DEFAULT_CONNECTION_WINDOW_SIZE, 1 << 20);
        assert_eq!(DEFAULT_STREAM_WINDOW_SIZE, 768 * 1024);
        assert_eq!(WindowError::Exceeded.code(), ErrorCode::FlowControlError);
        assert_eq!(WindowError::Overflow.code(), ErrorCode::FlowControlError);
        assert_eq!(
            WindowError::Overflow.to_string(),
            "flow-control window above 2^31-1"
        );
    }

    #[test]
    fn new_cuts_at_the_maximum() {
        assert_eq!(Window::new(0).size(), 0);
        assert_eq!(Window::new(M).size(), i32::MAX);
        assert_eq!(Window::new(M + 1).size(), i32::MAX);
        assert_eq!(Window::new(u32::MAX).size(), i32::MAX);
        assert_eq!(Window::new(M).available(), M);
    }

    #[test]
    fn consume_to_zero_and_beyond() {
        let mut w = Window::new(100);
        assert_eq!(w.consume(40), Ok(()));
        assert_eq!(w.size(), 60);
        assert_eq!(w.consume(61), Err(WindowError::Exceeded));
        assert_eq!(w.size(), 60, "unchanged on error");
        assert_eq!(w.consume(60), Ok(()));
        assert_eq!(w.size(), 0);
        assert_eq!(w.consume(1), Err(WindowError::Exceeded));
        assert_eq!(w.consume(u32::MAX), Err(WindowError::Exceeded));
        // Zero-length DATA always fits, also in an empty window.
        assert_eq!(w.consume(0), Ok(()));
        assert_eq!(w.size(), 0);
        // The whole maximum window in one go.
        let mut w = Window::new(M);
        assert_eq!(w.consume(M), Ok(()));
        assert_eq!(w.size(), 0);
    }

    #[test]
    fn increase_up_to_2_pow_31_minus_1() {
        let mut w = Window::new(0);
        assert_eq!(w.increase(M), Ok(()));
        assert_eq!(w.size(), i32::MAX);
        assert_eq!(w.increase(1), Err(WindowError::Overflow));
        assert_eq!(w.size(), i32::MAX, "unchanged on error");
        // An increment of 0 changes nothing here; the frame layer refuses it on the wire.
        assert_eq!(w.increase(0), Ok(()));

        let mut w = Window::new(DEFAULT_INITIAL_WINDOW_SIZE);
        assert_eq!(w.increase(M - DEFAULT_INITIAL_WINDOW_SIZE), Ok(()));
        assert_eq!(w.size(), i32::MAX);
        let mut w = Window::new(DEFAULT_INITIAL_WINDOW_SIZE);
        assert_eq!(
            w.increase(M - DEFAULT_INITIAL_WINDOW_SIZE + 1),
            Err(WindowError::Overflow)
        );
        // Increments above 2^31-1 (which a frame cannot carry) cannot panic.
        assert_eq!(
            Window::new(0).increase(u32::MAX),
            Err(WindowError::Overflow)
        );
    }

    #[test]
    fn initial_window_change_can_go_negative() {
        // RFC 9113 §6.9.2's example: 65,535 initial, 60,000 sent, initial lowered to 16,384.
        let mut w = Window::new(DEFAULT_INITIAL_WINDOW_SIZE);
        w.consume(60_000).unwrap();
        w.apply_initial_change(DEFAULT_INITIAL_WINDOW_SIZE, 16_384)
            .unwrap();
        assert_eq!(w.size(), 16_384 - 60_000);
        assert_eq!(w.available(), 0);
        // Nothing can be sent but an empty frame.
        assert_eq!(w.consume(1), Err(WindowError::Exceeded));
        assert_eq!(w.consume(0), Ok(()));
        // WINDOW_UPDATEs bring it back above zero.
        w.increase(43_616).unwrap();
        assert_eq!(w.size(), 0);
        w.increase(10).unwrap();
        assert_eq!(w.available(), 10);
        // Raising the initial size raises the window.
        w.apply_initial_change(16_384, 65_535).unwrap();
        assert_eq!(w.size(), 10 + 65_535 - 16_384);
    }

    #[test]
    fn initial_window_change_at_the_edges() {
        // Lowest legal point: an empty window, initial size from 2^31-1 to 0.
        let mut w = Window::new(M);
        w.consume(M).unwrap();
        w.apply_initial_change(M, 0).unwrap();
        assert_eq!(w.size(), -i32::MAX);
        assert_eq!(w.available(), 0);
        w.apply_initial_change(0, M).unwrap();
        assert_eq!(w.size(), 0);
        // Raising past 2^31-1 overflows (a connection error) and leaves the window alone.
        let mut w = Window::new(DEFAULT_INITIAL_WINDOW_SIZE);
        w.increase(1000).unwrap();
        assert_eq!(
            w.apply_initial_change(DEFAULT_INITIAL_WINDOW_SIZE, M),
            Err(WindowError::Overflow)
        );
        assert_eq!(w.size(), 66_535);
        assert_eq!(
            w.apply_initial_change(DEFAULT_INITIAL_WINDOW_SIZE, M - 1000),
            Ok(())
        );
        assert_eq!(w.size(), i32::MAX);
        // No change, no effect.
        w.apply_initial_change(7, 7).unwrap();
        assert_eq!(w.size(), i32::MAX);
        // Nonsense input (below i32::MIN) is refused, not wrapped.
        let mut w = Window::new(0);
        w.apply_initial_change(M, 0).unwrap();
        assert_eq!(
            w.apply_initial_change(u32::MAX, 0),
            Err(WindowError::Overflow)
        );
        assert_eq!(w.size(), -i32::MAX);
    }

    #[test]
    fn stream_receive_window_update_policy() {
        // A stream: the peer starts with the window we advertised in SETTINGS.
        let target = DEFAULT_STREAM_WINDOW_SIZE;
        let half = target / 2;
        let mut r = RecvWindow::new(target, target);
        assert_eq!(r.poll_update(), None, "nothing due at the start");
        assert_eq!(r.recv(target), Ok(()));
        assert_eq!(r.window().size(), 0);
        assert_eq!(r.recv(1), Err(WindowError::Exceeded));
        assert_eq!(r.recv(0), Ok(()), "empty DATA fits an empty window");
        assert_eq!(r.unreleased(), target);
        // Releasing exactly half is not enough (Kestrel: more than half).
        assert_eq!(r.release(half - 1), None);
        assert_eq!(r.release(1), None);
        assert_eq!(r.pending(), half);
        assert_eq!(r.window().size(), 0);
        // One more octet makes it due; everything pending goes out.
        assert_eq!(r.release(1), Some(half + 1));
        assert_eq!(r.pending(), 0);
        assert_eq!(r.window().size(), (half + 1) as i32);
        assert_eq!(r.unreleased(), target - half - 1);
        // Releasing more than was received is cut to what was received; the rest, just
        // under half, is not due yet...
        assert_eq!(r.release(u32::MAX), None);
        assert_eq!(r.unreleased(), 0);
        assert_eq!(r.pending(), target - half - 1);
        assert_eq!(r.release(5), None);
        assert_eq!(r.poll_update(), None);
        // ...but can be flushed, which restores the whole window.
        assert_eq!(r.flush_update(), Some(target - half - 1));
        assert_eq!(r.window().size(), target as i32);
        assert_eq!(r.flush_update(), None);
    }

    #[test]
    fn small_reads_are_batched() {
        let mut r = RecvWindow::new(100, 100);
        let mut updates = Vec::new();
        for _ in 0..10 {
            r.recv(10).unwrap();
            for _ in 0..10 {
                if let Some(n) = r.release(1) {
                    updates.push(n);
                }
            }
        }
        // One update, when the 51st octet was read; 49 are still pending.
        assert_eq!(updates, [51]);
        assert_eq!(r.pending(), 49);
        // Each update is more than half of the window; the total is all but the pending rest.
        assert!(updates.iter().all(|&n| n > 50));
        let sent: u32 = updates.iter().sum();
        assert_eq!(sent + r.pending(), 100);
        assert_eq!(r.window().size() as u32 + r.unreleased() + r.pending(), 100);
    }

    #[test]
    fn connection_window_is_raised_at_the_start() {
        let mut r = RecvWindow::new(DEFAULT_INITIAL_WINDOW_SIZE, DEFAULT_CONNECTION_WINDOW_SIZE);
        assert_eq!(r.window().size(), 65_535);
        assert_eq!(r.target(), 1_048_576);
        assert_eq!(r.poll_update(), Some(1_048_576 - 65_535));
        assert_eq!(r.window().size(), 1_048_576);
        assert_eq!(r.poll_update(), None);
        // Data beyond 1 MiB is refused.
        assert_eq!(r.recv(1_048_576), Ok(()));
        assert_eq!(r.recv(1), Err(WindowError::Exceeded));
        // A target near the initial size is not due at once, but can be flushed.
        let mut r = RecvWindow::new(65_535, 70_000);
        assert_eq!(r.poll_update(), None);
        assert_eq!(r.flush_update(), Some(70_000 - 65_535));
        assert_eq!(r.flush_update(), None);
        // A target below the initial window is raised to it.
        let r = RecvWindow::new(65_535, 1);
        assert_eq!((r.target(), r.pending()), (65_535, 0));
    }

    #[test]
    fn receive_window_at_the_maximum() {
        let mut r = RecvWindow::new(M, u32::MAX);
        assert_eq!(r.target(), M);
        assert_eq!(r.recv(M), Ok(()));
        assert_eq!(r.release(M / 2), None);
        assert_eq!(r.release(1), Some(M / 2 + 1));
        assert_eq!(r.flush_update(), None);
        assert_eq!(r.release(M), None);
        assert_eq!(r.flush_update(), Some(M - M / 2 - 1));
        assert_eq!(r.window().size(), i32::MAX);
        // Tiny windows: 1 octet, 0 octets.
        let mut r = RecvWindow::new(1, 1);
        r.recv(1).unwrap();
        assert_eq!(r.release(1), Some(1));
        let mut r = RecvWindow::new(0, 0);
        assert_eq!(r.recv(1), Err(WindowError::Exceeded));
        assert_eq!(r.release(1), None);
    }

    #[test]
    fn no_panics_on_arbitrary_sequences() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2_000 {
            let mut w = Window::new(next() as u32);
            let mut r = RecvWindow::new(next() as u32, next() as u32);
            for _ in 0..50 {
                let n = match next() % 3 {
                    0 => next() as u32,
                    1 => (next() % 70_000) as u32,
                    _ => M,
                };
                match next() % 6 {
                    0 => _ = w.consume(n),
                    1 => _ = w.increase(n),
                    2 => _ = w.apply_initial_change(next() as u32 & M, n & M),
                    3 => _ = r.recv(n),
                    4 => _ = r.release(n),
                    _ => _ = r.flush_update(),
                }
                assert!(i64::from(w.size()) <= MAX);
                // The receive side's invariant: nothing is lost or created.
                assert!(r.window().size() >= 0);
                assert_eq!(
                    i64::from(r.window().size())
                        + i64::from(r.unreleased())
                        + i64::from(r.pending()),
                    i64::from(r.target())
                );
            }
        }
    }
}

//! The time rules of an HTTP/1.x connection, without I/O: which deadline applies in each
//! [`Phase`], when a slow client has run out of time, and what a missed deadline means.
//! Time is always passed in (`now`), never read here, so every rule is unit-tested on a
//! virtual clock; the driver ([`super::driver`]) reads the clock and does the I/O.
//!
//! | phase | waits for | deadline | when it passes |
//! |---|---|---|---|
//! | `Idle` | the next request | KeepAliveTimeout from the last response | close |
//! | `Head` | the rest of a head | RequestHeadersTimeout from its first byte (bytes do not extend it) | 408, linger |
//! | `Body` | body bytes (buffered) | what MinRequestBodyDataRate allows: the grace period, then time earned by bytes | 408, linger |
//! | `Writing` | room to write | what MinResponseDataRate allows, bytes still in the send buffer earning nothing | close |
//!
//! After an error response the connection lingers ([`LINGER`], at most [`LINGER_BYTES`]
//! read and discarded) so that the client reads the response rather than a reset; after a
//! streamed request the unread rest of the body is drained for up to
//! RequestBodyDrainTimeout.

use std::time::{Duration, Instant};

use super::error::RequestError;
use crate::io::RateTimer;
use crate::limits::Limits;

/// How long a connection closed after an error response keeps reading (and discarding)
/// what the client still sends, so that the client sees the response rather than a reset.
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// The most bytes discarded while lingering.
pub(crate) const LINGER_BYTES: usize = 1024 * 1024;

/// Where an HTTP/1 connection is between and within requests.
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
}

/// What a passed deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Idle past KeepAliveTimeout: close quietly.
    KeepAlive,
    /// A request did not arrive in time: answer its status (408), then linger.
    Request(RequestError),
    /// The client read the response slower than MinResponseDataRate: close.
    ResponseRate,
}

/// What the deadline of a parked connection in `phase` means once it has passed.
pub(crate) fn expired(phase: Phase) -> Expired {
    match phase {
        Phase::Idle => Expired::KeepAlive,
        Phase::Head => Expired::Request(RequestError::HeadersTimeout),
        Phase::Body => Expired::Request(RequestError::BodyTimeout),
        Phase::Writing => Expired::ResponseRate,
    }
}

/// When an idle connection (after a response, or new) is closed.
pub(crate) fn keep_alive_deadline(now: Instant, limits: &Limits) -> Instant {
    now + limits.keep_alive_timeout
}

/// When a request head whose first byte arrived at `now` must be complete.
pub(crate) fn head_deadline(now: Instant, limits: &Limits) -> Instant {
    now + limits.request_headers_timeout
}

/// How long a connection with part of a head may wait for more: until the head's own
/// deadline, which bytes arriving one at a time do not move.
pub(crate) fn head_wait(now: Instant, head_deadline: Instant) -> Result<Instant, RequestError> {
    if now >= head_deadline {
        Err(RequestError::HeadersTimeout)
    } else {
        Ok(head_deadline)
    }
}

/// How long a buffered request body may wait for its next bytes: the time its data rate
/// allows (the grace period, then what the bytes so far have earned), or no limit.
pub(crate) fn body_wait(now: Instant, rate: &RateTimer) -> Result<Instant, RequestError> {
    match rate.allowance() {
        Some(a) if a.is_zero() => Err(RequestError::BodyTimeout),
        Some(a) => Ok(now + a),
        None => Ok(far(now)),
    }
}

/// How long a response may wait for the client to make room, with `queued` bytes still
/// in the socket's send buffer (written, not yet read: they earn no time). `None`: the
/// client is too slow, close.
pub(crate) fn write_wait(now: Instant, timer: &RateTimer, queued: u64) -> Option<Instant> {
    match timer.allowance_unconfirmed(queued) {
        Some(a) if a.is_zero() => None,
        Some(a) => Some(now + a),
        None => Some(far(now)),
    }
}

/// Until when the unread rest of a streamed request body is drained.
pub(crate) fn drain_deadline(now: Instant, drain_timeout: Duration) -> Instant {
    now + drain_timeout
}

/// When a connection that started lingering at `now` is closed.
pub(crate) fn linger_deadline(now: Instant) -> Instant {
    now + LINGER
}

/// Whether a lingering connection that has discarded `discarded` bytes may go on.
pub(crate) fn may_linger(discarded: usize) -> bool {
    discarded <= LINGER_BYTES
}

/// A deadline for a wait with no limit configured.
fn far(now: Instant) -> Instant {
    now + Duration::from_secs(365 * 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MinDataRate;

    fn limits() -> Limits {
        Limits::default()
    }

    fn rate(bps: u64, grace_s: u64) -> Option<MinDataRate> {
        Some(MinDataRate {
            bytes_per_second: bps,
            grace_period: Duration::from_secs(grace_s),
        })
    }

    #[test]
    fn every_phase_has_its_timeout() {
        assert_eq!(expired(Phase::Idle), Expired::KeepAlive);
        assert_eq!(
            expired(Phase::Head),
            Expired::Request(RequestError::HeadersTimeout)
        );
        assert_eq!(
            expired(Phase::Body),
            Expired::Request(RequestError::BodyTimeout)
        );
        assert_eq!(expired(Phase::Writing), Expired::ResponseRate);
        assert_eq!(RequestError::HeadersTimeout.status(), 408);
        assert_eq!(RequestError::BodyTimeout.status(), 408);
    }

    #[test]
    fn keep_alive_timeout_counts_from_the_last_response() {
        let t0 = Instant::now();
        let l = limits();
        assert_eq!(l.keep_alive_timeout, Duration::from_secs(130));
        assert_eq!(keep_alive_deadline(t0, &l), t0 + Duration::from_secs(130));
        // A second response, a minute later, restarts it.
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(keep_alive_deadline(t1, &l), t1 + Duration::from_secs(130));
    }

    #[test]
    fn a_dripping_head_does_not_move_its_deadline() {
        let t0 = Instant::now();
        let l = limits();
        let hd = head_deadline(t0, &l);
        assert_eq!(hd, t0 + Duration::from_secs(30));
        // One byte every 5 ms: every wait ends at the same deadline.
        let mut now = t0;
        for _ in 0..1000 {
            now += Duration::from_millis(5);
            assert_eq!(head_wait(now, hd), Ok(hd));
        }
        // 30 s after the first byte the head has run out of time, drip or not.
        assert_eq!(
            head_wait(t0 + Duration::from_secs(30), hd),
            Err(RequestError::HeadersTimeout)
        );
        assert_eq!(
            head_wait(t0 + Duration::from_secs(31), hd),
            Err(RequestError::HeadersTimeout)
        );
    }

    #[test]
    fn body_rate_grace_then_earned_time() {
        let t0 = Instant::now();
        // Kestrel's default: 240 bytes/s after a 5 s grace period.
        let mut r = RateTimer::new(rate(240, 5));
        assert_eq!(body_wait(t0, &r), Ok(t0 + Duration::from_secs(5)));
        // 4 s pass with no byte: 1 s of grace is left.
        r.add_wait(Duration::from_secs(4));
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(1)));
        // 480 bytes earn 2 s of waiting in all: less than the grace period, no change.
        r.add_bytes(480);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(1)));
        // 2,400 bytes in all earn 10 s of waiting, 4 of them spent.
        r.add_bytes(1920);
        assert_eq!(body_wait(t1, &r), Ok(t1 + Duration::from_secs(6)));
        // Waiting all of it ends the body with 408.
        r.add_wait(Duration::from_secs(6));
        assert_eq!(
            body_wait(t1 + Duration::from_secs(6), &r),
            Err(RequestError::BodyTimeout)
        );
    }

    #[test]
    fn no_body_rate_means_no_limit() {
        let t0 = Instant::now();
        let mut r = RateTimer::new(None);
        r.add_wait(Duration::from_secs(3600));
        let d = body_wait(t0, &r).expect("no limit");
        assert!(d > t0 + Duration::from_secs(300 * 24 * 3600));
    }

    #[test]
    fn response_rate_counts_only_bytes_the_client_took() {
        let t0 = Instant::now();
        let mut w = RateTimer::new(rate(240, 5));
        // 2,400 bytes written, all still in the send buffer: they earn nothing yet.
        w.add_bytes(2400);
        assert_eq!(write_wait(t0, &w, 2400), Some(t0 + Duration::from_secs(5)));
        // Once the client has taken them they earn 10 s of waiting in all.
        assert_eq!(write_wait(t0, &w, 0), Some(t0 + Duration::from_secs(10)));
        // A client that takes nothing for the whole allowance is cut off.
        w.add_wait(Duration::from_secs(5));
        assert_eq!(write_wait(t0 + Duration::from_secs(5), &w, 2400), None);
    }

    #[test]
    fn drain_and_linger_are_bounded() {
        let t0 = Instant::now();
        assert_eq!(
            drain_deadline(t0, Duration::from_secs(5)),
            t0 + Duration::from_secs(5)
        );
        assert_eq!(linger_deadline(t0), t0 + Duration::from_secs(2));
        assert!(may_linger(0));
        assert!(may_linger(LINGER_BYTES));
        assert!(!may_linger(LINGER_BYTES + 1));
    }
}

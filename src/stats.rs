//! Counters the server keeps, shared by all threads: connections (server-wide and per
//! endpoint), requests by protocol, responses by status class, refusals by limit,
//! timeouts by kind, and the worker pool's state. [`crate::ServerHandle::stats`] takes a
//! snapshot; the status endpoint serves it as JSON or Prometheus text.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::io::Transport;

/// Counters of one endpoint.
#[derive(Debug, Default)]
pub(crate) struct EndpointCounters {
    pub(crate) open: AtomicU64,
    pub(crate) total: AtomicU64,
}

/// Why a request or connection was refused: one counter per limit.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    pub(crate) max_concurrent_connections: AtomicU64,
    pub(crate) max_concurrent_upgraded_connections: AtomicU64,
    pub(crate) max_request_body_size: AtomicU64,
    pub(crate) max_request_line_size: AtomicU64,
    pub(crate) max_request_headers_total_size: AtomicU64,
    pub(crate) max_request_header_count: AtomicU64,
}

/// Connections ended by a timeout, one counter per kind.
#[derive(Debug, Default)]
pub(crate) struct Timeouts {
    pub(crate) request_headers: AtomicU64,
    pub(crate) keep_alive: AtomicU64,
    pub(crate) request_body_rate: AtomicU64,
    pub(crate) response_rate: AtomicU64,
    pub(crate) handshake: AtomicU64,
}

/// A request refused for a limit or a timeout: which counter it adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    HeadersTimeout,
    BodyTimeout,
    BodyTooLarge,
    RequestLineTooLong,
    HeadersTooLarge,
    TooManyHeaders,
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests by protocol, responses by status class and busy workers, striped per
    /// thread (see [`Hot`]).
    stripes: Box<[Hot; STRIPES]>,
    pub(crate) refused: Refusals,
    pub(crate) timeouts: Timeouts,
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) upgraded_open: AtomicU64,
    /// TLS handshakes that failed (protocol errors, refused names or certificates).
    pub(crate) handshake_failures: AtomicU64,
    /// Access-log lines dropped: the writer's queue was full, or its destination failed.
    pub(crate) access_log_dropped: AtomicU64,
    /// The sockets of open (not upgraded) connections, to abort them at shutdown.
    open: Mutex<HashMap<u64, Transport>>,
}

/// How many stripes the per-request counters have.
const STRIPES: usize = 16;

/// The counters every request touches, one set per stripe on a cache line of its own:
/// each thread adds to its own stripe, so workers on different cores do not fight over
/// one cache line per request. A snapshot sums the stripes.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Hot {
    /// Requests by protocol: HTTP/1.0, HTTP/1.1, HTTP/2.
    requests: [AtomicU64; 3],
    /// Responses by status class (1xx to 5xx).
    responses: [AtomicU64; 5],
    /// Workers busy, as a wrapping count: a thread adds and subtracts on its own stripe,
    /// and the wrapping sum over the stripes is exact.
    busy: AtomicU64,
}

thread_local! {
    /// This thread's stripe.
    static STRIPE: usize = {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        (NEXT.fetch_add(1, Ordering::Relaxed) as usize) % STRIPES
    };
}

impl Counters {
    fn hot(&self) -> &Hot {
        &self.stripes[STRIPE.with(|s| *s)]
    }

    fn sum(&self, f: impl Fn(&Hot) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |n, h| n.wrapping_add(f(h).load(Ordering::Relaxed)))
    }

    /// Counts a response with this status code.
    pub(crate) fn response(&self, status: u16) {
        if (100..600).contains(&status) {
            self.hot().responses[(status / 100 - 1) as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Responses of status class `class` (0: 1xx, ..., 4: 5xx).
    pub(crate) fn responses(&self, class: usize) -> u64 {
        self.sum(|h| &h.responses[class])
    }

    /// Requests of HTTP/1.0, HTTP/1.1 and HTTP/2.
    pub(crate) fn requests(&self) -> [u64; 3] {
        std::array::from_fn(|i| self.sum(|h| &h.requests[i]))
    }

    /// A worker starts (`true`) or stops (`false`) running a connection or a task.
    pub(crate) fn worker_busy(&self, busy: bool) {
        let h = self.hot();
        if busy {
            h.busy.fetch_add(1, Ordering::Relaxed);
        } else {
            h.busy.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Workers busy now.
    pub(crate) fn workers_busy(&self) -> u64 {
        (self.sum(|h| &h.busy) as i64).max(0) as u64
    }

    /// Counts a request refused for a limit or a timeout, by kind.
    pub(crate) fn count_refusal(&self, r: Refusal) {
        let c = match r {
            Refusal::HeadersTimeout => &self.timeouts.request_headers,
            Refusal::BodyTimeout => &self.timeouts.request_body_rate,
            Refusal::BodyTooLarge => &self.refused.max_request_body_size,
            Refusal::RequestLineTooLong => &self.refused.max_request_line_size,
            Refusal::HeadersTooLarge => &self.refused.max_request_headers_total_size,
            Refusal::TooManyHeaders => &self.refused.max_request_header_count,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request of this HTTP version.
    pub(crate) fn request(&self, version: http::Version) {
        let i = match version {
            http::Version::HTTP_10 | http::Version::HTTP_09 => 0,
            http::Version::HTTP_2 => 2,
            _ => 1,
        };
        self.hot().requests[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Shuts down the socket of every open connection: blocked reads and writes fail at
    /// once and clients see the connection close (the shutdown timeout ran out).
    pub(crate) fn abort_all(&self) {
        if let Ok(open) = self.open.lock() {
            for t in open.values() {
                let _ = t.shutdown(Shutdown::Both);
            }
        }
    }

    /// Takes one of `limit` slots in `counter`, or fails when all are taken.
    pub(crate) fn try_take(counter: &AtomicU64, limit: Option<u64>) -> bool {
        match limit {
            None => {
                counter.fetch_add(1, Ordering::AcqRel);
                true
            }
            Some(max) => counter
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok(),
        }
    }
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    counters: Arc<Counters>,
    id: Option<u64>,
    endpoint: Option<Arc<EndpointCounters>>,
}

impl ConnGuard {
    /// Counts a new connection if it fits under `limit`.
    pub(crate) fn try_new(counters: &Arc<Counters>, limit: Option<u64>) -> Option<Self> {
        if Counters::try_take(&counters.connections_open, limit) {
            counters.connections_total.fetch_add(1, Ordering::Relaxed);
            Some(ConnGuard {
                counters: counters.clone(),
                id: None,
                endpoint: None,
            })
        } else {
            counters.connections_refused.fetch_add(1, Ordering::Relaxed);
            counters
                .refused
                .max_concurrent_connections
                .fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl ConnGuard {
    /// Counts the connection on its endpoint too.
    pub(crate) fn on_endpoint(&mut self, ep: &Arc<EndpointCounters>) {
        ep.open.fetch_add(1, Ordering::AcqRel);
        ep.total.fetch_add(1, Ordering::Relaxed);
        self.endpoint = Some(ep.clone());
    }

    /// Registers the connection's socket so that shutdown can abort it.
    pub(crate) fn track(&mut self, id: u64, transport: &Transport) {
        if let Ok(mut open) = self.counters.open.lock() {
            open.insert(id, transport.socket());
            self.id = Some(id);
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            if let Ok(mut open) = self.counters.open.lock() {
                open.remove(&id);
            }
        }
        if let Some(ep) = &self.endpoint {
            ep.open.fetch_sub(1, Ordering::AcqRel);
        }
        self.counters
            .connections_open
            .fetch_sub(1, Ordering::AcqRel);
    }
}

/// One upgraded connection, counted until dropped.
#[derive(Debug)]
pub(crate) struct UpgradeGuard {
    counters: Arc<Counters>,
}

impl UpgradeGuard {
    pub(crate) fn try_new(counters: &Arc<Counters>, limit: Option<u64>) -> Option<Self> {
        let taken = Counters::try_take(&counters.upgraded_open, limit);
        if !taken {
            counters
                .refused
                .max_concurrent_upgraded_connections
                .fetch_add(1, Ordering::Relaxed);
        }
        taken.then(|| UpgradeGuard {
            counters: counters.clone(),
        })
    }
}

impl Drop for UpgradeGuard {
    fn drop(&mut self) {
        self.counters.upgraded_open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_and_release() {
        let c = Arc::new(Counters::default());
        let a = ConnGuard::try_new(&c, Some(2)).unwrap();
        let _b = ConnGuard::try_new(&c, Some(2)).unwrap();
        assert!(ConnGuard::try_new(&c, Some(2)).is_none());
        drop(a);
        assert!(ConnGuard::try_new(&c, Some(2)).is_some());
        assert_eq!(c.connections_refused.load(Ordering::Relaxed), 1);
        assert_eq!(c.connections_open.load(Ordering::Relaxed), 1);
    }
}

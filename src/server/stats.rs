//! Counters the server keeps (connections, upgrades), shared by all threads.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::io::Transport;

/// Server-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) upgraded_open: AtomicU64,
    pub(crate) requests_total: AtomicU64,
    /// TLS handshakes that did not finish within HandshakeTimeout.
    pub(crate) handshake_timeouts: AtomicU64,
    /// TLS handshakes that failed (protocol errors, refused names or certificates).
    pub(crate) handshake_failures: AtomicU64,
    /// The sockets of open (not upgraded) connections, to abort them at shutdown.
    open: Mutex<HashMap<u64, Transport>>,
}

impl Counters {
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
}

impl ConnGuard {
    /// Counts a new connection if it fits under `limit`.
    pub(crate) fn try_new(counters: &Arc<Counters>, limit: Option<u64>) -> Option<Self> {
        if Counters::try_take(&counters.connections_open, limit) {
            counters.connections_total.fetch_add(1, Ordering::Relaxed);
            Some(ConnGuard {
                counters: counters.clone(),
                id: None,
            })
        } else {
            counters.connections_refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl ConnGuard {
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
        Counters::try_take(&counters.upgraded_open, limit).then(|| UpgradeGuard {
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

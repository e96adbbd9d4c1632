//! Opaque upgrades (`Connection: Upgrade` + `Upgrade`, answered with 101): the handler
//! receives the raw bidirectional stream on a thread of its own, outside the worker pool.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use crate::body::{Body, Kind};
use crate::io::Transport;
use crate::request::ConnectionInfo;
use crate::stats::{Counters, UpgradeGuard};

/// Why an upgrade could not be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The request does not ask for an upgrade (`Connection: upgrade` and `Upgrade`
    /// headers on an HTTP/1.1 request).
    NotAnUpgradeRequest,
    /// MaxConcurrentUpgradedConnections upgraded connections are already open.
    LimitReached,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::NotAnUpgradeRequest => {
                f.write_str("the request is not an upgrade request")
            }
            UpgradeError::LimitReached => {
                f.write_str("MaxConcurrentUpgradedConnections reached: upgrade refused")
            }
        }
    }
}

impl std::error::Error for UpgradeError {}

/// Placed in the extensions of an upgradable request.
#[derive(Clone)]
pub(crate) struct Upgradable {
    pub(crate) counters: Arc<Counters>,
    pub(crate) limit: Option<u64>,
}

impl Upgradable {
    pub(crate) fn reserve(&self) -> Result<Upgrade, UpgradeError> {
        match UpgradeGuard::try_new(&self.counters, self.limit) {
            Some(guard) => Ok(Upgrade { guard }),
            None => {
                log::info!("Upgrade refused: MaxConcurrentUpgradedConnections reached");
                Err(UpgradeError::LimitReached)
            }
        }
    }
}

/// An accepted upgrade holding one upgraded-connection slot; turn it into the body of
/// the 101 response with [`into_body`](Self::into_body).
#[derive(Debug)]
pub struct Upgrade {
    guard: UpgradeGuard,
}

type UpgradeFn = Box<dyn FnOnce(Upgraded) + Send>;

pub(crate) struct Pending {
    pub(crate) guard: UpgradeGuard,
    pub(crate) f: UpgradeFn,
}

impl Upgrade {
    /// The body of the 101 response: once the response head is written, `f` runs on a
    /// new thread with the raw connection.
    pub fn into_body(self, f: impl FnOnce(Upgraded) + Send + 'static) -> Body {
        Body {
            kind: Kind::Upgrade(Pending {
                guard: self.guard,
                f: Box::new(f),
            }),
            trailers: None,
        }
    }
}

/// The raw connection after a 101 response, in blocking mode, with no server timeouts
/// (set your own with [`set_read_timeout`](Self::set_read_timeout)). Bytes the client sent
/// after the request head are read first.
pub struct Upgraded {
    stream: Transport,
    prefix: Vec<u8>,
    pos: usize,
    info: ConnectionInfo,
    _guard: UpgradeGuard,
}

impl Upgraded {
    pub(crate) fn new(
        stream: Transport,
        prefix: Vec<u8>,
        info: ConnectionInfo,
        guard: UpgradeGuard,
    ) -> io::Result<Self> {
        stream.set_nonblocking(false)?;
        Ok(Upgraded {
            stream,
            prefix,
            pos: 0,
            info,
            _guard: guard,
        })
    }

    /// The connection the upgrade happened on.
    pub fn connection(&self) -> &ConnectionInfo {
        &self.info
    }

    /// Sets a timeout for reads (`None` blocks indefinitely).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(t)
    }

    /// Sets a timeout for writes (`None` blocks indefinitely).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(t)
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("connection", &self.info.id())
            .finish()
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.stream.read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

//! The protocol-neutral part of a connection: its transport (behind deadline I/O), read
//! and write buffers (from a per-thread pool, none while idle), deadline, registration in
//! its event loop, admission guard and what it knows of its endpoint. Protocol drivers
//! work on a [`Link`] and their own state; they never see the server.

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Instant;

use crate::io::DeadlineIo;
use crate::request::ConnectionInfo;
use crate::stats::ConnGuard;

/// Size of the read buffer a connection starts with.
pub(crate) const INITIAL_READ_BUFFER: usize = 4096;

/// The event loop a connection is registered in, as its registration sees it.
pub(crate) trait EventLoop: Send + Sync {
    /// Gives the registration's slot back (the connection is gone).
    fn release(&self, token: u64);
    /// Takes the socket out of the loop's epoll set.
    fn remove(&self, fd: BorrowedFd<'_>);
    /// The loop's index (for logs).
    fn index(&self) -> usize;
}

/// A connection's registration in its event loop's epoll set: taken at its first park,
/// given back when the connection is dropped (or its socket handed to an upgrade).
pub(crate) struct Registration {
    pub(crate) owner: Arc<dyn EventLoop>,
    pub(crate) token: u64,
    /// Whether `EPOLLOUT` is in the registered events.
    pub(crate) out: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.owner.release(self.token);
    }
}

impl Registration {
    /// Takes the socket out of the epoll set (before it is handed to an upgrade's thread,
    /// which does its own blocking I/O on it).
    pub(crate) fn deregister(self, fd: BorrowedFd<'_>) {
        self.owner.remove(fd);
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("loop", &self.owner.index())
            .field("token", &self.token)
            .finish()
    }
}

/// What every connection has, whatever its protocol.
pub(crate) struct Link {
    pub(crate) io: DeadlineIo,
    pub(crate) buf: ReadBuf,
    /// Staging for response bytes (HTTP/1); empty while idle.
    pub(crate) wbuf: Vec<u8>,
    /// When its event loop gives up waiting on this connection.
    pub(crate) deadline: Instant,
    /// When it was last parked (data rates count the time spent waiting).
    pub(crate) parked_at: Instant,
    /// The event loop (shard) the connection belongs to for life.
    pub(crate) shard: usize,
    /// The socket's registration in its shard's epoll set, from its first park on.
    pub(crate) reg: Option<Registration>,
    pub(crate) info: ConnectionInfo,
    pub(crate) endpoint: Arc<EndpointCtx>,
    pub(crate) guard: Option<ConnGuard>,
    /// The most bytes the read buffer may hold (MaxRequestBufferSize).
    pub(crate) cap: usize,
}

impl Link {
    pub(crate) fn id(&self) -> u64 {
        self.info.id()
    }

    /// Empties the write buffer, taking one from the thread's pool when the connection
    /// (idle until now) holds none.
    pub(crate) fn fresh_wbuf(&mut self) {
        if self.wbuf.capacity() == 0 {
            self.wbuf = pool::take_write();
        } else {
            self.wbuf.clear();
        }
    }

    /// Gives both buffers back to this thread's pool (an idle connection holds neither; a
    /// write buffer that grew for a large chunk is freed instead).
    pub(crate) fn release_buffers(&mut self) {
        self.buf.release();
        pool::give_write(std::mem::take(&mut self.wbuf), INITIAL_READ_BUFFER);
    }
}

/// Per-endpoint settings a connection needs.
#[derive(Debug)]
pub(crate) struct EndpointCtx {
    pub(crate) name: Arc<str>,
    /// Connections open and accepted on this endpoint.
    pub(crate) counters: Arc<crate::stats::EndpointCounters>,
    /// The TLS setup of an HTTPS endpoint.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<crate::tls::endpoint::TlsEndpoint>>,
    /// The URL the endpoint listens on (`https://127.0.0.1:5001`).
    pub(crate) url: String,
    /// HTTP versions the endpoint speaks.
    pub(crate) protocols: crate::options::Protocols,
    pub(crate) synchronous_io: bool,
    pub(crate) connection_logging: bool,
}

/// A growable read buffer with a consumed prefix, reused across requests.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// Buffers of idle connections, kept per thread for the next connection that has bytes
/// to read or a response to write: an idle keep-alive connection holds neither a read
/// nor a write buffer, and a busy one takes them without a heap allocation.
pub(crate) mod pool {
    use std::cell::RefCell;

    /// The most buffers of each kind kept per thread (128 KiB of read buffers).
    const KEEP: usize = 32;

    thread_local! {
        static READ: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
        static WRITE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A zeroed read buffer of `size` bytes.
    pub(crate) fn take_read(size: usize) -> Vec<u8> {
        READ.with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| vec![0; size])
    }

    /// Gives back a read buffer (kept only if it has the initial size).
    pub(crate) fn give_read(v: Vec<u8>, size: usize) {
        if v.len() == size {
            READ.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < KEEP {
                    p.push(v);
                }
            });
        }
    }

    /// An empty write buffer.
    pub(crate) fn take_write() -> Vec<u8> {
        WRITE
            .with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(256))
    }

    /// Gives back a write buffer (kept only if it is small).
    pub(crate) fn give_write(mut v: Vec<u8>, max: usize) {
        if v.capacity() > 0 && v.capacity() <= max {
            v.clear();
            WRITE.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < KEEP {
                    p.push(v);
                }
            });
        }
    }
}

impl ReadBuf {
    /// An empty buffer holding no memory until bytes arrive.
    pub(crate) fn new() -> Self {
        ReadBuf {
            data: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space to read into, growing the buffer up to `cap` bytes; empty when full.
    pub(crate) fn spare(&mut self, cap: usize) -> &mut [u8] {
        if self.data.is_empty() {
            self.data = pool::take_read(INITIAL_READ_BUFFER);
        }
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.data.len() && self.data.len() < cap {
            let new = (self.data.len() * 2).min(cap);
            self.data.resize(new, 0);
        }
        &mut self.data[self.end..]
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Gives the memory back while the connection is idle (to this thread's pool).
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            pool::give_read(std::mem::take(&mut self.data), INITIAL_READ_BUFFER);
        }
    }

    pub(crate) fn take_rest(&mut self) -> Vec<u8> {
        let v = self.bytes().to_vec();
        self.consume(v.len());
        v
    }
}

/// What a protocol driver decided for its connection.
pub(crate) enum Outcome {
    /// Park it until its socket is ready or its deadline passes.
    Park,
    /// Drive it on (the next request).
    Continue,
    /// It has more to do but has had its turn (a client that never stops sending):
    /// requeue it behind the connections that are ready now.
    Yield,
    /// An error response was sent: discard what the client still sends, then close.
    Linger,
    /// Close it.
    Close,
    /// Hand its socket to an upgrade's callback.
    Upgrade(crate::upgrade::Pending),
}

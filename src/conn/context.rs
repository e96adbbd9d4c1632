//! What a protocol driver may use of the server: its options and limits, the handler, the
//! counters, the worker pool's queue and the wake-up of a parked connection. A narrow view,
//! so that drivers never depend on the server's own state.

use std::sync::{Arc, Weak};

use crate::handler::Handler;
use crate::options::ServerOptions;
use crate::stats::Counters;

/// A job for the worker pool (an HTTP/2 stream's handler).
pub(crate) type Task = Box<dyn FnOnce(&dyn Context) + Send>;

/// Work that the server's timer thread looks at on each tick (an HTTP/2 batch of
/// handlers that may have to be spread over the pool).
pub(crate) trait Watched: Send + Sync {
    fn tick(&self, cx: &dyn Context);
}

/// The server as a protocol driver sees it.
// Only HTTP/2 queues tasks, wakes parked connections and has work watched.
#[cfg_attr(not(feature = "http2"), allow(dead_code))]
pub(crate) trait Context: Sync {
    /// The server's options (limits included).
    fn options(&self) -> &ServerOptions;
    /// The application's handler.
    fn handler(&self) -> &dyn Handler;
    /// The server-wide counters.
    fn counters(&self) -> &Arc<Counters>;
    /// Whether graceful shutdown has begun (no new keep-alive, GOAWAY).
    fn is_shutting_down(&self) -> bool;
    /// Queues a task for the pool without waiting; gives it back when the queue is full
    /// or closed.
    fn submit(&self, task: Task) -> Result<(), Task>;
    /// Takes the connection parked with `token` out of its event loop, if it is parked
    /// now, and drives it on the calling thread.
    fn wake(&self, token: u64);
    /// Has the timer thread look at `w` on each tick while it lives.
    fn watch(&self, w: Weak<dyn Watched>);
    /// The access log, when one is configured.
    fn access_log(&self) -> Option<&crate::access_log::AccessLog>;
}

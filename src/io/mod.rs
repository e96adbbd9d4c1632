//! Deadline I/O: the one place where the crate reads from and writes to sockets.

pub(crate) mod deadline;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod transport;

pub(crate) use deadline::{DeadlineIo, IoFail, RateTimer};
pub(crate) use transport::Transport;

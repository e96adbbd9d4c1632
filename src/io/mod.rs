//! Deadline I/O: the one place where the crate reads from and writes to sockets.

pub(crate) mod deadline;
pub(crate) mod file;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod transport;

pub(crate) use deadline::{DeadlineIo, IoFail, RateTimer};
pub(crate) use file::FileRegion;
pub(crate) use transport::Transport;

//! HTTP/2 (RFC 9113), being built: HPACK, frames, stream states, flow control, and the
//! sans-I/O server connection over them (`conn`); the I/O driver that runs it comes next.
// Nothing uses this module yet; the HTTP/2 I/O driver will.
#![allow(dead_code)]

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod stream;

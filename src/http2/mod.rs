//! HTTP/2 (RFC 9113), being built: HPACK, frames, stream states and flow control so far;
//! the connection driver that uses them comes next.
// Nothing uses this module yet; the HTTP/2 connection driver will.
#![allow(dead_code)]

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod stream;

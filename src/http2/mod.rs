//! HTTP/2 (RFC 9113), being built: so far only its header compression, HPACK.
// Nothing uses this module yet; the HTTP/2 connection driver will.
#![allow(dead_code)]

pub(crate) mod frame;
pub(crate) mod hpack;

//! HTTP/1.1: the sans-I/O protocol core (head parsing, body framing, response encoding)
//! and the connection driver that runs it over deadline I/O.

pub(crate) mod body;
pub(crate) mod conn;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod head;
pub(crate) mod host;
pub(crate) mod stream;

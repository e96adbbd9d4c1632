//! HTTP/1.1: the sans-I/O protocol core — head parsing ([`head`]), body framing
//! ([`body`]), response encoding ([`encode`]) and the time rules of a connection
//! ([`core`]) — and the driver that runs it over deadline I/O ([`driver`]), with
//! synchronous I/O for handlers that opt in ([`stream`]).

pub(crate) mod body;
pub(crate) mod core;
pub(crate) mod driver;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod head;
pub(crate) mod state;
pub(crate) mod stream;

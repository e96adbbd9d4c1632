//! falconet: a Kestrel-class HTTP server for constrained and embedded Linux.
//!
//! Synchronous by design: one blocking accept thread per listening socket feeds a bounded
//! pool of worker threads; idle connections wait in per-core epoll event loops, not on a
//! worker; every socket read and write runs against a deadline, with Kestrel's limits and
//! defaults.
//!
//! ```no_run
//! use falconet::{Body, Request, Response, Server, ServerOptions};
//!
//! let handle = Server::new(ServerOptions::default(), |_req: Request| {
//!     Response::new(Body::from("Hello, World!"))
//! })
//! .start()
//! .unwrap();
//! println!("listening on {:?}", handle.urls());
//! handle.shutdown(std::time::Duration::from_secs(5));
//! ```
// The one exception is `server::systemd`, which adopts the file descriptors systemd
// passes (each `unsafe` block there says why it is sound).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod access_log;
mod body;
mod compression;
pub mod config;
mod conn;
mod date;
mod error;
mod exchange;
#[cfg(feature = "static-files")]
pub mod files;
mod forwarded;
/// Entry points for the fuzz targets in `fuzz/` (only with `--cfg fuzzing`; not API).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod hex;
mod host;
mod http1;
#[cfg(feature = "http2")]
mod http2;
mod https_policy;
mod io;
mod limits;
mod options;
mod pooled;
mod request;
pub mod response;
mod router;
mod server;
#[cfg(any(feature = "json-config", feature = "tls"))]
mod small_sort;
mod stats;
#[cfg(test)]
mod testing;

pub mod status;
#[cfg(feature = "tls")]
pub mod tls;
mod upgrade;

pub use access_log::{AccessLogDestination, AccessLogFormat, AccessLogOptions};
pub use body::Body;
pub use compression::{CompressionLevel, ResponseCompressionOptions, DEFAULT_MIME_TYPES};
pub use error::Error;
#[cfg(feature = "static-files")]
pub use files::{StaticFiles, StaticFilesOptions};
pub use forwarded::ForwardedHeadersOptions;
pub use handler::{Handler, Request, Response};
pub use https_policy::{HstsOptions, HttpsRedirectionOptions};
pub use limits::{Http2Limits, Limits, MinDataRate};
pub use options::{EndpointOptions, ListenAddress, Protocols, Scheme, ServerOptions};
pub use request::{Address, ConnectionInfo, Prepare, RequestControl, RequestExt};
pub use router::{Params, Query, Router};
pub use server::systemd::notify as notify_systemd;
pub use server::{Server, ServerHandle};
pub use status::{ServerStats, StatusOptions};
pub use upgrade::{Upgrade, UpgradeError, Upgraded};

/// Re-export of the `http` crate, whose types make up the request and response API.
pub use http;

/// The Rust code blocks of README.md, compiled as doctests (`cargo test --doc`), so the
/// README's example stays true to the API. Only built for doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! What HTTP/1 and HTTP/2 do alike for each request and response, written once below both
//! drivers: setting a request up for its handler (request context, trusted forwarded
//! headers, per-request settings from the limits, the handler's `prepare` under
//! `catch_unwind`), the response-head policy (which statuses have no body, which
//! length a body declares, the `Server` value) and the access log's begin and end of a
//! request.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use http::StatusCode;

use crate::access_log::Entry;
use crate::body::Body;
use crate::conn::context::Context;
use crate::request::{ConnectionInfo, Prepare, RequestContext, RequestControl, RequestSettings};

/// The server's name, as a literal that the constants below are made of.
macro_rules! server_name {
    () => {
        "falconet"
    };
}

/// The value of the `Server` header (AddServerHeader), as HTTP/2 sends it.
#[cfg_attr(not(feature = "http2"), allow(dead_code))]
pub(crate) const SERVER_NAME: &str = server_name!();
/// The HTTP/1 header line that names the server.
pub(crate) const SERVER_LINE: &[u8] = concat!("Server: ", server_name!(), "\r\n").as_bytes();

/// The handler panicked in `prepare`: the request is answered 500 without running it.
#[derive(Debug)]
pub(crate) struct PreparePanicked;

/// Sets a request up for its handler: inserts its [`RequestContext`] (connection and
/// `control`), applies trusted `X-Forwarded-*` headers, derives the per-request settings
/// from the server's limits (`synchronous_io` from the endpoint or server) and lets the
/// handler adjust them in `prepare`. A request that may be upgraded has no body limit.
pub(crate) fn prepare(
    parts: &mut http::request::Parts,
    info: &ConnectionInfo,
    control: RequestControl,
    synchronous_io: bool,
    upgrade: bool,
    cx: &dyn Context,
) -> Result<RequestSettings, PreparePanicked> {
    parts.extensions.insert(RequestContext {
        info: info.clone(),
        control,
    });
    let options = cx.options();
    // Trusted-proxy X-Forwarded-* (off by default). TLS connections pass "https".
    let scheme = if info.is_tls() { "https" } else { "http" };
    if let Some(f) = crate::forwarded::apply(
        &options.forwarded_headers,
        info.remote_addr(),
        scheme,
        &mut parts.headers,
    ) {
        parts.extensions.insert(f);
    }
    let limits = &options.limits;
    let mut settings = RequestSettings {
        max_body_size: if upgrade {
            None
        } else {
            limits.max_request_body_size
        },
        body_rate: limits.min_request_body_data_rate,
        response_rate: limits.min_response_data_rate,
        synchronous_io,
    };
    let prepared = catch_unwind(AssertUnwindSafe(|| {
        cx.handler().prepare(&mut Prepare {
            parts: &*parts,
            settings: &mut settings,
        })
    }));
    match prepared {
        Ok(()) => Ok(settings),
        Err(_) => Err(PreparePanicked),
    }
}

/// Starts the access-log line of a request that arrived at `started` (`stream`: its
/// HTTP/2 stream), after [`prepare`]: the client logged is the one trusted forwarded
/// headers left. `None` (one branch) while the log is off.
pub(crate) fn log_begin(
    cx: &dyn Context,
    started: Instant,
    parts: &http::request::Parts,
    info: &ConnectionInfo,
    stream: Option<u32>,
) -> Option<Box<Entry>> {
    cx.access_log()
        .map(|log| log.begin(started, Some(parts), info, stream))
}

/// Logs a response that ended with `bytes` of body sent: `entry`'s request, or, for an
/// answer the server gave before it had a request (a malformed head, a timeout), a line
/// with `"-"` for the request. Nothing while the log is off.
pub(crate) fn log_end(
    cx: &dyn Context,
    entry: Option<Box<Entry>>,
    started: impl FnOnce() -> Instant,
    info: &ConnectionInfo,
    stream: Option<u32>,
    status: u16,
    bytes: u64,
) {
    if let Some(log) = cx.access_log() {
        let e = entry.unwrap_or_else(|| log.begin(started(), None, info, stream));
        log.finish(e, status, bytes);
    }
}

/// Whether a response with this status carries a body (RFC 9110 §6.4.1: 1xx, 204 and
/// 304 never do).
pub(crate) fn status_has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The length a response body declares: the body's own when known, else the handler's
/// `Content-Length` header.
pub(crate) fn declared_length(body: &Body, headers: &http::HeaderMap) -> Option<u64> {
    body.len().or_else(|| {
        headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok())
    })
}

/// The message of a caught panic, for its log line.
pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_without_a_body() {
        for s in [100, 101, 103, 204, 304] {
            assert!(!status_has_body(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 201, 205, 301, 404, 500] {
            assert!(status_has_body(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn declared_length_prefers_the_body() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, "7".parse().unwrap());
        assert_eq!(declared_length(&Body::from("abc"), &h), Some(3));
        let reader = Body::from_reader(std::io::empty(), None);
        assert_eq!(declared_length(&reader, &h), Some(7));
        assert_eq!(declared_length(&reader, &http::HeaderMap::new()), None);
    }
}

//! One HTTP/2 connection, sans-I/O (RFC 9113): the server's side of the preface and
//! SETTINGS exchange, frame dispatch over [`super::stream::Streams`], HPACK decoding of
//! request header blocks into `http::request::Parts`, request bodies buffered per stream,
//! response HEADERS/DATA/trailers queued per stream and written out under the peer's
//! flow-control windows, PING, GOAWAY (graceful, in two phases) and every DoS bound the
//! issue lists, each documented where it is enforced.
//!
//! The I/O driver (`crate::server` / `http1::conn`'s sibling, written separately) owns the
//! socket: it feeds received bytes to [`Connection::recv`], takes complete requests from
//! [`Connection::poll_event`] and runs their handlers on the worker pool, hands responses
//! back with [`Connection::send_headers`] / [`Connection::send_data`] /
//! [`Connection::send_trailers`], and writes what [`Connection::poll_output`] produces.
//! Time enters as `now`, never read inside, so timeouts are tested with a virtual clock.
//!
//! INTERFACE FIXED BY THE LEAD; the bodies are the HTTP/2 core helper's.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::frame::{ErrorCode, StreamId};

/// The settings of one connection, from `Limits::http2` and the server's limits.
#[derive(Debug, Clone)]
pub(crate) struct ConnSettings {
    /// SETTINGS_MAX_CONCURRENT_STREAMS. Kestrel: MaxStreamsPerConnection, 100.
    pub(crate) max_concurrent_streams: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise (the decoder's table). Kestrel: 4096.
    pub(crate) header_table_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise. Kestrel: 16,384 (2^14 ..= 2^24-1).
    pub(crate) max_frame_size: u32,
    /// Largest single decoded header field (name + value). Kestrel:
    /// MaxRequestHeaderFieldSize, 32 KiB.
    pub(crate) max_header_field_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: Limits::max_request_headers_total_size (32 KiB).
    /// Exceeded: 431 on the stream; exceeded twice over: GOAWAY (Kestrel's rule).
    pub(crate) max_header_list_size: u32,
    /// Limits::max_request_header_count (100): more gets 431.
    pub(crate) max_header_count: u32,
    /// The connection receive window. Kestrel: InitialConnectionWindowSize, 1 MiB.
    pub(crate) initial_connection_window: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE. Kestrel: InitialStreamWindowSize, 768 KiB.
    pub(crate) initial_stream_window: u32,
    /// Limits::max_request_body_size (30,000,000); `None`: unlimited. A declared
    /// content-length over it gets 413; DATA beyond it resets the stream.
    pub(crate) max_request_body_size: Option<u64>,
    /// AllowResponseHeaderCompression (default true): responses use the HPACK dynamic table.
    pub(crate) allow_response_header_compression: bool,
}

/// What the driver must act on.
#[derive(Debug)]
pub(crate) enum Event {
    /// A complete request (END_STREAM seen, body and trailers buffered): run its handler.
    /// `head.version` is HTTP/2; `head.uri` carries scheme and authority from the
    /// pseudo-headers; `host`, when absent, is filled from `:authority`.
    Request {
        id: StreamId,
        head: http::request::Parts,
        body: Bytes,
        trailers: Option<HeaderMap>,
    },
    /// The client reset a stream whose handler may be running: abort it (its response, if
    /// any, is dropped by the connection).
    Reset { id: StreamId, code: ErrorCode },
}

/// Why the connection must end (after the driver wrote what `poll_output` still has,
/// which includes our GOAWAY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnError {
    /// A connection error: we sent GOAWAY with this code.
    Protocol(ErrorCode, &'static str),
    /// The client's preface was not `PRI * HTTP/2.0...`.
    BadPreface,
}

/// One server-side HTTP/2 connection.
pub(crate) struct Connection {
    _settings: ConnSettings,
}

impl Connection {
    /// A connection that has not seen the client preface yet; our SETTINGS (and the
    /// connection WINDOW_UPDATE raising the window to `initial_connection_window`) are
    /// queued for output at once.
    pub(crate) fn new(settings: ConnSettings, now: Instant) -> Connection {
        let _ = now;
        Connection {
            _settings: settings,
        }
    }

    /// Feeds bytes read from the socket (any split: partial frames are buffered, up to one
    /// frame of our max frame size). Starts with the 24-octet client preface.
    pub(crate) fn recv(&mut self, bytes: &[u8], now: Instant) -> Result<(), ConnError> {
        let _ = (bytes, now);
        todo!("http2 core helper")
    }

    /// The next event for the driver.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        todo!("http2 core helper")
    }

    /// Appends frames ready to send to `out` (control frames first, then DATA as the
    /// windows allow, round-robin over streams). Returns whether anything was appended.
    pub(crate) fn poll_output(&mut self, out: &mut Vec<u8>) -> bool {
        let _ = out;
        todo!("http2 core helper")
    }

    /// Whether `poll_output` would append anything now.
    pub(crate) fn wants_write(&self) -> bool {
        todo!("http2 core helper")
    }

    /// Queues the response head of stream `id` (a stream the client reset is ignored).
    pub(crate) fn send_headers(
        &mut self,
        id: StreamId,
        status: StatusCode,
        headers: &HeaderMap,
        end_stream: bool,
    ) {
        let _ = (id, status, headers, end_stream);
        todo!("http2 core helper")
    }

    /// Queues response body bytes of stream `id`; they go out as the windows allow.
    pub(crate) fn send_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) {
        let _ = (id, data, end_stream);
        todo!("http2 core helper")
    }

    /// Ends stream `id` with trailers (a HEADERS frame with END_STREAM).
    pub(crate) fn send_trailers(&mut self, id: StreamId, trailers: &HeaderMap) {
        let _ = (id, trailers);
        todo!("http2 core helper")
    }

    /// Resets stream `id` with `code` (the handler's reset, or a driver-side failure).
    pub(crate) fn reset(&mut self, id: StreamId, code: ErrorCode) {
        let _ = (id, code);
        todo!("http2 core helper")
    }

    /// Bytes of stream `id`'s response body queued and not yet sent: the driver pulls
    /// more from a reader body only while this is below a bound (back-pressure).
    pub(crate) fn queued_data(&self, id: StreamId) -> usize {
        let _ = id;
        todo!("http2 core helper")
    }

    /// Starts a graceful shutdown: GOAWAY with 2^31-1 now, then after one PING round
    /// trip (or at once when `now` passes the timeout) the real last stream id; streams
    /// already accepted finish.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        let _ = now;
        todo!("http2 core helper")
    }

    /// Streams open (request in progress or response being sent).
    pub(crate) fn active_streams(&self) -> usize {
        todo!("http2 core helper")
    }

    /// Whether the connection is done: GOAWAY exchanged and no stream left, or a
    /// connection error. The driver closes the socket after writing the last output.
    pub(crate) fn is_closed(&self) -> bool {
        todo!("http2 core helper")
    }

    /// The earliest deadline the connection has (request headers timeout while a header
    /// block is open, keep-alive PING delay and timeout, the second GOAWAY phase).
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        todo!("http2 core helper")
    }

    /// Acts on deadlines that passed by `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnError> {
        let _ = now;
        todo!("http2 core helper")
    }
}

//! One HTTP/2 connection, sans-I/O (RFC 9113): the server's side of the preface and
//! SETTINGS exchange, frame dispatch over [`super::stream::Streams`], HPACK decoding of
//! request header blocks into `http::request::Parts`, request bodies buffered per stream,
//! response HEADERS/DATA/trailers queued per stream and written out under the peer's
//! flow-control windows, PING, GOAWAY (graceful, in two phases) and every DoS bound the
//! issue lists, each documented where it is enforced.
//!
//! The I/O driver ([`super::driver`], the sibling of `http1::driver`, written separately)
//! owns the socket: it feeds received bytes to [`Connection::recv`], takes complete requests from
//! [`Connection::poll_event`] and runs their handlers on the worker pool, hands responses
//! back with [`Connection::send_headers`] / [`Connection::send_data`] /
//! [`Connection::send_trailers`], and writes what [`Connection::poll_output`] produces.
//! Time enters as `now`, never read inside, so timeouts are tested with a virtual clock.
//!
//! # What the driver must do
//!
//! * Call [`poll_output`](Connection::poll_output) whenever the socket can take bytes, and
//!   write everything it appended before calling it again. Control frames (SETTINGS ACK,
//!   PING ACK, RST_STREAM, WINDOW_UPDATE, GOAWAY) queue up inside while it does not; a peer
//!   that keeps sending without reading trips [`MAX_QUEUED_CONTROL_FRAMES`].
//! * Pull a response body into [`send_data`](Connection::send_data) only while
//!   [`queued_data`](Connection::queued_data) for that stream is under its own bound (say
//!   64 KiB, `Limits::max_response_buffer_size`): the connection buffers whatever it is
//!   given, and only the peer's windows drain it (CVE-2019-9517, internal data buffering).
//! * On [`Event::Reset`], stop the handler; anything it still sends is dropped.
//! * On `Err(ConnError)` from `recv` or `handle_timeout`: stop the handlers, write the
//!   remaining output (it ends with our GOAWAY) and close. Once
//!   [`is_closed`](Connection::is_closed): write the remaining output and close.
//!
//! # Request bodies
//!
//! A request is handed over whole ([`Event::Request`] at END_STREAM), so its body is
//! buffered here. Every DATA octet, padding included, counts against the connection and
//! stream receive windows (RFC 9113 §6.9). The stream window is given back as the bytes
//! are buffered. The connection window is given back only as far as the buffered bytes
//! stay within [`ConnSettings::max_request_body_buffer`] (by default MaxRequestBodySize,
//! so that an upload allowed over HTTP/1.1 is allowed here; set to the connection window,
//! a byte is returned to the client only when the driver takes its request with
//! `poll_event`). So all request bodies not yet taken by the driver never exceed that
//! bound, whatever the number of streams. A body that cannot fit (alone, or because the
//! streams still receiving fill the whole buffer, which would otherwise stall every one of
//! them) is answered 413 without a handler, like a body over `max_request_body_size`.
//!
//! # Errors
//!
//! Every error goes through one place: a connection error queues GOAWAY (with the highest
//! stream we may have processed and the reason as debug data) and returns
//! [`ConnError::Protocol`]; a stream error queues RST_STREAM and, if the request had been
//! handed to the driver, [`Event::Reset`]. The codes come from the frame layer
//! (`FrameError::code`), the stream layer (`StreamError::code`) and the choices below.
//!
//! * HPACK decoding errors: COMPRESSION_ERROR (RFC 9113 §4.3).
//! * A request header list over `max_header_list_size`, over `max_header_count` fields, or
//!   with a field over `max_header_field_size`: 431 on the stream. Over *twice*
//!   `max_header_list_size`: GOAWAY ENHANCE_YOUR_CALM (Kestrel's rule; Kestrel sends
//!   PROTOCOL_ERROR, we say why). The HPACK decoder stops materialising fields at that
//!   point, so a header block that references one large table entry over and over (the
//!   "HPACK bomb") costs no more than twice the limit.
//! * A declared `content-length` over `max_request_body_size`, or DATA going over it: 413
//!   on the stream, no handler, and RST_STREAM NO_ERROR when the client has not finished
//!   the request (RFC 9113 §8.1 lets a server answer early and ask the client to stop
//!   sending with NO_ERROR; Kestrel also answers 413 when the response has not started).
//! * A header block left open (CONTINUATION expected) for longer than
//!   `request_headers_timeout`, or a keep-alive PING not answered in time: GOAWAY
//!   INTERNAL_ERROR, as Kestrel aborts such connections.
//!
//! # DoS bounds
//!
//! | Attack | Bound | Answer |
//! |---|---|---|
//! | Rapid Reset (CVE-2023-44487) | [`MAX_CLIENT_RESETS_PER_WINDOW`] per [`RESET_WINDOW`] | GOAWAY ENHANCE_YOUR_CALM |
//! | Stream stacking | `max_concurrent_streams`, then [`MAX_LOCAL_RESETS_PER_WINDOW`] | REFUSED_STREAM, then GOAWAY ENHANCE_YOUR_CALM |
//! | CONTINUATION flood | header block ≤ [`Connection::max_header_block`]; [`MAX_CONSECUTIVE_EMPTY_FRAMES`]; `request_headers_timeout` | GOAWAY ENHANCE_YOUR_CALM (INTERNAL_ERROR on timeout) |
//! | HPACK bomb | decoded list ≤ 2 × `max_header_list_size` | 431, then GOAWAY ENHANCE_YOUR_CALM |
//! | 9511 data dribble | windows; one WINDOW_UPDATE per half window | (flow control) |
//! | 9512 ping flood | [`MAX_QUEUED_CONTROL_FRAMES`] | GOAWAY ENHANCE_YOUR_CALM |
//! | 9513 resource loop | PRIORITY ignored (no tree) | — |
//! | 9514 reset flood | [`MAX_QUEUED_CONTROL_FRAMES`], [`MAX_LOCAL_RESETS_PER_WINDOW`] | GOAWAY ENHANCE_YOUR_CALM |
//! | 9515 settings flood | [`MAX_QUEUED_CONTROL_FRAMES`] | GOAWAY ENHANCE_YOUR_CALM |
//! | 9516 0-length headers | 32 octets per field against the list size, `max_header_count` | 431 / RST_STREAM, then GOAWAY |
//! | 9517 internal data buffering | the driver's `queued_data` bound; control frames as 9512 | — |
//! | 9518 empty frames | [`MAX_CONSECUTIVE_EMPTY_FRAMES`] | GOAWAY ENHANCE_YOUR_CALM |
//!
//! Worst-case memory of one connection: the read buffer (one frame, `max_frame_size`,
//! plus what the driver passes at once), one open header block (twice
//! `max_header_list_size`), the HPACK tables (`header_table_size` each), request heads of
//! open streams (`max_concurrent_streams` × `max_header_list_size`, only if a client fills
//! every one), request bodies (`max_request_body_buffer`, about twice that in allocated
//! capacity), queued control frames (about 17 KiB), and responses queued by the driver
//! (its own bound per stream).

mod request;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use super::flow::{RecvWindow, Window, DEFAULT_INITIAL_WINDOW_SIZE};
use super::frame::{
    decode_frame_bytes, encode_data, encode_headers, Continuation, Data, ErrorCode, ErrorScope,
    Frame, FrameError, FrameErrorKind, GoAway, Headers, Ping, RstStream, Settings, StreamId,
    WindowUpdate, DEFAULT_MAX_FRAME_SIZE, MAX_WINDOW_SIZE,
};
use super::hpack::{Decoder, DecoderError, Encoder, DEFAULT_TABLE_SIZE};
use super::stream::{
    Handling, StreamError, StreamLimits, Streams, DEFAULT_CLOSED_STREAMS_REMEMBERED,
};
use crate::limits::Limits;
use request::{BlockCollector, HeaderLimits, Outcome, RequestHead, CONNECTION_SPECIFIC};

/// The client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// CVE-2019-9512 (ping flood), 9514 (reset flood), 9515 (settings flood), and 9517 for
/// control frames: how many frames we may have queued for the peer and not yet handed to
/// the driver by [`Connection::poll_output`]. Each PING, SETTINGS and many an invalid frame
/// make us queue an answer; a peer that sends them without reading our answers (the driver
/// stops calling `poll_output` while the socket does not take bytes) grows the queue.
/// Beyond 1,000 frames (about 17 KiB: a PING ACK is 17 octets, a RST_STREAM 13; the same
/// number nghttp2 uses for queued ACKs): GOAWAY ENHANCE_YOUR_CALM, the queue dropped. A peer
/// that reads never comes near it.
pub(crate) const MAX_QUEUED_CONTROL_FRAMES: usize = 1000;

/// Rapid Reset (CVE-2023-44487): how many streams the client may open and reset (a
/// RST_STREAM that closes an open stream) per [`RESET_WINDOW`] of time. More: GOAWAY
/// ENHANCE_YOUR_CALM. 200 a second lets a browser cancel a full page of streams at once
/// (100 concurrent) twice over; an attacker gets at most 200 requests a second started and
/// abandoned per connection, and a reset request not yet taken by the driver is withdrawn
/// from the event queue, so no handler runs for it at all.
pub(crate) const MAX_CLIENT_RESETS_PER_WINDOW: u32 = 200;

/// CVE-2019-9512 (ping flood) and 9515 (settings flood) from a client that reads our
/// answers, or whose answers the kernel's socket buffers absorb (megabytes on a fast link,
/// long before [`MAX_QUEUED_CONTROL_FRAMES`] sees them): how many PING and SETTINGS frames
/// that ask for an acknowledgement the client may send per [`RESET_WINDOW`]. More: GOAWAY
/// ENHANCE_YOUR_CALM. Browsers and gRPC clients send a few a second at most (gRPC servers
/// refuse more than one PING per 5 minutes without data by default); a flood costs us at
/// most 1,000 answers per connection and second instead of all the bytes it can push.
pub(crate) const MAX_PINGS_AND_SETTINGS_PER_WINDOW: u32 = 1000;

/// The window over which resets are counted (fixed windows of virtual time, as Kestrel's
/// tick windows).
pub(crate) const RESET_WINDOW: Duration = Duration::from_secs(1);

/// Stream stacking and floods of bad requests (9514, 9516): how many streams we may refuse,
/// reset or answer without a handler because of the client — REFUSED_STREAM beyond
/// SETTINGS_MAX_CONCURRENT_STREAMS, malformed requests, 431, 413, stream-level protocol
/// errors — per [`RESET_WINDOW`]. More: GOAWAY ENHANCE_YOUR_CALM. Each such stream cost us
/// a header block decode and an answer; a well-behaved client gets at most a handful
/// (refusals at the start of a connection, before it has seen our SETTINGS).
pub(crate) const MAX_LOCAL_RESETS_PER_WINDOW: u32 = 200;

/// CVE-2019-9518 (empty frames) and the empty half of the CONTINUATION flood: how many
/// frames in a row may carry nothing — DATA with no data and no END_STREAM, HEADERS or
/// CONTINUATION with an empty fragment and no END_HEADERS, frames of unknown types with no
/// payload. More: GOAWAY ENHANCE_YOUR_CALM. Any other frame resets the count. Each costs us
/// little (no allocation, no output), but nothing useful either; unknown types with a
/// payload are not counted, since their cost is proportional to the bytes read.
pub(crate) const MAX_CONSECUTIVE_EMPTY_FRAMES: u32 = 100;

/// How much [`Connection::poll_output`] appends in one call, beyond the control frames and
/// the response heads, before it returns (the driver writes it and calls again): it keeps
/// the driver's write buffer bounded when the peer's windows are large.
const OUTPUT_BATCH: usize = 64 * 1024;

/// How long [`Connection::shutdown`] waits for the PING round trip before the second
/// GOAWAY.
const SHUTDOWN_PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The payloads of our own PINGs, to recognise their ACKs.
const SHUTDOWN_PING: [u8; 8] = *b"shutdown";
const KEEP_ALIVE_PING: [u8; 8] = *b"keepaliv";

/// Fields the server never sends in a response (RFC 9113 §8.2.2): the connection-specific
/// ones, and `te`, which only requests carry.
fn is_connection_specific(name: &HeaderName) -> bool {
    CONNECTION_SPECIFIC.contains(&name.as_str()) || name == http::header::TE
}

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
    /// How long a header block may stay open (HEADERS without END_HEADERS, CONTINUATION
    /// expected): Limits::request_headers_timeout, 30 s (Kestrel's RequestHeadersTimeout,
    /// which Kestrel's HTTP/2 applies the same way). Then GOAWAY INTERNAL_ERROR.
    pub(crate) request_headers_timeout: Duration,
    /// The most request body octets the connection holds for requests not yet taken by the
    /// driver, all streams together (see the module documentation). At least the
    /// connection window; more lets the client send ahead of the handlers. A single body
    /// larger than this gets 413. Default: Limits::max_request_body_size (30,000,000;
    /// 32 MiB when that is unlimited), at least the connection window: the same worst case
    /// per connection as one HTTP/1.1 upload.
    pub(crate) max_request_body_buffer: usize,
    /// Send a PING after this long without a frame from the client; `None`: never.
    /// Kestrel: Http2.KeepAlivePingDelay, off.
    pub(crate) keep_alive_ping_delay: Option<Duration>,
    /// Close the connection (GOAWAY INTERNAL_ERROR) when no frame arrives this long after
    /// a keep-alive PING. Kestrel: Http2.KeepAlivePingTimeout, 20 s.
    pub(crate) keep_alive_ping_timeout: Duration,
}

impl ConnSettings {
    /// The settings `limits` call for (HTTP/2 limits, and the request limits HTTP/2 shares
    /// with HTTP/1.1). Response header compression is on, Kestrel's default.
    pub(crate) fn from_limits(limits: &Limits) -> ConnSettings {
        let h2 = &limits.http2;
        let sat = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        ConnSettings {
            max_concurrent_streams: h2.max_streams_per_connection,
            header_table_size: h2.header_table_size,
            max_frame_size: h2.max_frame_size,
            max_header_field_size: h2.max_request_header_field_size,
            max_header_list_size: sat(limits.max_request_headers_total_size),
            max_header_count: sat(limits.max_request_header_count),
            initial_connection_window: h2.initial_connection_window_size,
            initial_stream_window: h2.initial_stream_window_size,
            max_request_body_size: limits.max_request_body_size,
            allow_response_header_compression: true,
            request_headers_timeout: limits.request_headers_timeout,
            // As large as one HTTP/1.1 upload may be, so that a body allowed there is
            // allowed here (32 MiB when the limit is off); never below the window.
            max_request_body_buffer: limits
                .max_request_body_size
                .map_or(32 << 20, |m| usize::try_from(m).unwrap_or(usize::MAX))
                .min(1 << 30)
                .max(h2.initial_connection_window_size as usize),
            keep_alive_ping_delay: h2.keep_alive_ping_delay,
            keep_alive_ping_timeout: h2.keep_alive_ping_timeout,
        }
    }
}

impl Default for ConnSettings {
    fn default() -> ConnSettings {
        ConnSettings::from_limits(&Limits::default())
    }
}

/// What the driver must act on.
// `Request` is by far the most common variant, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
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
    /// any, is dropped by the connection). Also sent when we reset such a stream because
    /// of the client (a stream error on it, say a WINDOW_UPDATE overflowing its window).
    Reset { id: StreamId, code: ErrorCode },
    /// The connection answered a stream itself, without a handler: 431 for a header block
    /// over the limits, 413 for a body over `max_request_body_size` (see [`answer`]). For
    /// the access log; `head` is the request's head when it had been decoded.
    ///
    /// [`answer`]: Connection::answer
    Answered {
        id: StreamId,
        status: StatusCode,
        head: Option<Box<http::request::Parts>>,
    },
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

/// Where the connection is in its opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the 24 octets of the client preface.
    Preface,
    /// Waiting for the client's first frame, which must be SETTINGS (RFC 9113 §3.4).
    FirstSettings,
    Open,
}

/// Our side of GOAWAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    None,
    /// GOAWAY(2^31-1) and a PING sent; the real GOAWAY follows the PING's ACK or the
    /// deadline.
    Draining {
        deadline: Instant,
    },
    /// GOAWAY with `last` sent: streams above it are ignored.
    Final {
        last: StreamId,
    },
}

/// A header block being received: HEADERS without END_HEADERS, CONTINUATION to follow.
#[derive(Debug)]
struct OpenBlock {
    stream_id: StreamId,
    end_stream: bool,
    /// The HEADERS frame named its own stream as its dependency (a stream error, reported
    /// once the block is decoded).
    self_dependent: bool,
    fragment: Vec<u8>,
    deadline: Instant,
}

/// Counts events in fixed windows of (virtual) time.
#[derive(Debug, Clone, Copy)]
struct RateWindow {
    start: Option<Instant>,
    count: u32,
    max: u32,
}

impl RateWindow {
    const fn new(max: u32) -> RateWindow {
        RateWindow {
            start: None,
            count: 0,
            max,
        }
    }

    /// Counts one event at `now`; whether the window's maximum is now exceeded.
    fn hit(&mut self, now: Instant) -> bool {
        match self.start {
            Some(start) if now.saturating_duration_since(start) < RESET_WINDOW => {}
            _ => {
                self.start = Some(now);
                self.count = 0;
            }
        }
        self.count = self.count.saturating_add(1);
        self.count > self.max
    }
}

/// The request side of a stream we track.
#[derive(Debug)]
enum RecvState {
    /// Head accepted, body arriving.
    Body(Box<Receiving>),
    /// Complete; its [`Event::Request`] waits in the event queue.
    Queued,
    /// The driver took the request: a handler runs or ran.
    Dispatched,
}

#[derive(Debug)]
struct Receiving {
    head: http::request::Parts,
    content_length: Option<u64>,
    body: BytesMut,
}

/// A piece of response waiting to be written, in order.
#[derive(Debug)]
enum OutItem {
    /// A response head (1xx or final), HPACK-encoded when it is written, so that blocks
    /// reach the peer in the order they were encoded (RFC 9113 §4.3).
    Head {
        status: StatusCode,
        fields: Vec<(HeaderName, HeaderValue)>,
        end_stream: bool,
    },
    Data {
        data: Bytes,
        end_stream: bool,
    },
    Trailers {
        fields: Vec<(HeaderName, HeaderValue)>,
    },
}

/// A stream's request and response as far as this layer keeps them (its state and
/// windows are in [`Streams`]).
#[derive(Debug)]
struct StreamData {
    recv: RecvState,
    out: VecDeque<OutItem>,
    /// DATA octets in `out`.
    queued_data: usize,
    /// END_STREAM is queued: later sends are ignored.
    send_ended: bool,
    /// The stream is in `Connection::send_order`.
    scheduled: bool,
}

/// One server-side HTTP/2 connection.
pub(crate) struct Connection {
    settings: ConnSettings,
    phase: Phase,
    read_buf: BytesMut,
    decoder: Decoder,
    encoder: Encoder,
    /// The dynamic table size our encoder uses.
    encoder_table_size: usize,
    streams: Streams,
    data: HashMap<StreamId, StreamData>,
    /// Streams with response output queued, in round-robin order.
    send_order: VecDeque<StreamId>,
    events: VecDeque<Event>,
    block: Option<OpenBlock>,
    /// Encoded control frames (and the heads of answers given without a handler), sent
    /// before any stream's output.
    control: Vec<u8>,
    control_frames: usize,
    /// How much DATA we may send on the connection.
    conn_send: Window,
    conn_recv: RecvWindow,
    /// The peer's SETTINGS_MAX_FRAME_SIZE (capped by ours, as Kestrel does).
    peer_max_frame_size: u32,
    /// Request body octets held: bodies being received and bodies of queued requests.
    buffered_body: usize,
    /// The part of `buffered_body` in streams still receiving.
    incomplete_body: usize,
    settings_acked: bool,
    client_resets: RateWindow,
    local_resets: RateWindow,
    /// PING and SETTINGS frames to acknowledge; see [`MAX_PINGS_AND_SETTINGS_PER_WINDOW`].
    acks_asked: RateWindow,
    empty_frames: u32,
    shutdown: Shutdown,
    /// When the last frame arrived, for the keep-alive PING.
    last_frame_at: Instant,
    keep_alive_ping_sent: Option<Instant>,
    error: Option<ConnError>,
}

impl Connection {
    /// A connection that has not seen the client preface yet; our SETTINGS (and the
    /// connection WINDOW_UPDATE raising the window to `initial_connection_window`) are
    /// queued for output at once.
    pub(crate) fn new(settings: ConnSettings, now: Instant) -> Connection {
        let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
        let ours = settings.header_table_size as usize;
        if ours > DEFAULT_TABLE_SIZE {
            // A larger table may be used as soon as the client has our SETTINGS; a smaller
            // one only once it acknowledged them (see `on_settings`).
            decoder.set_max_table_size_limit(ours);
        }
        // A string longer than this puts the header list over twice its limit anyway; with
        // it the decoder's own cap (a COMPRESSION_ERROR) never comes before ours.
        let max_string = (settings.max_header_list_size as usize)
            .saturating_mul(2)
            .max(settings.max_header_field_size as usize);
        decoder.set_max_string_len(max_string);
        // The encoder's table: the client's SETTINGS_HEADER_TABLE_SIZE (4096 until it says
        // otherwise), within our own budget (`header_table_size`, as Kestrel), or none when
        // response header compression is off.
        let mut encoder = Encoder::new(DEFAULT_TABLE_SIZE);
        let encoder_table_size = if settings.allow_response_header_compression {
            ours.min(DEFAULT_TABLE_SIZE)
        } else {
            0
        };
        if encoder_table_size != DEFAULT_TABLE_SIZE {
            encoder.update_max_table_size(encoder_table_size);
        }
        let streams = Streams::new(StreamLimits {
            max_concurrent_streams: settings.max_concurrent_streams,
            closed_streams_remembered: DEFAULT_CLOSED_STREAMS_REMEMBERED
                .max(2 * settings.max_concurrent_streams as usize),
            initial_stream_window_size: settings.initial_stream_window,
        });
        let conn_recv = RecvWindow::new(
            DEFAULT_INITIAL_WINDOW_SIZE,
            settings.initial_connection_window,
        );
        let mut conn = Connection {
            phase: Phase::Preface,
            read_buf: BytesMut::new(),
            decoder,
            encoder,
            encoder_table_size,
            streams,
            data: HashMap::new(),
            send_order: VecDeque::new(),
            events: VecDeque::new(),
            block: None,
            control: Vec::new(),
            control_frames: 0,
            conn_send: Window::new(DEFAULT_INITIAL_WINDOW_SIZE),
            conn_recv,
            peer_max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            buffered_body: 0,
            incomplete_body: 0,
            settings_acked: false,
            client_resets: RateWindow::new(MAX_CLIENT_RESETS_PER_WINDOW),
            local_resets: RateWindow::new(MAX_LOCAL_RESETS_PER_WINDOW),
            acks_asked: RateWindow::new(MAX_PINGS_AND_SETTINGS_PER_WINDOW),
            empty_frames: 0,
            shutdown: Shutdown::None,
            last_frame_at: now,
            keep_alive_ping_sent: None,
            error: None,
            settings,
        };
        let ours = Settings {
            header_table_size: Some(conn.settings.header_table_size),
            enable_push: Some(false),
            max_concurrent_streams: Some(conn.settings.max_concurrent_streams),
            initial_window_size: Some(conn.settings.initial_stream_window.min(MAX_WINDOW_SIZE)),
            max_frame_size: Some(conn.settings.max_frame_size),
            max_header_list_size: Some(conn.settings.max_header_list_size),
            ..Settings::default()
        };
        ours.encode(&mut conn.control);
        if let Some(increment) = conn.conn_recv.flush_update() {
            WindowUpdate::new(StreamId::ZERO, increment).encode(&mut conn.control);
        }
        conn
    }

    /// Feeds bytes read from the socket (any split: partial frames are buffered, up to one
    /// frame of our max frame size). Starts with the 24-octet client preface.
    pub(crate) fn recv(&mut self, bytes: &[u8], now: Instant) -> Result<(), ConnError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        self.read_buf.extend_from_slice(bytes);
        if self.phase == Phase::Preface {
            let n = self.read_buf.len().min(PREFACE.len());
            if self.read_buf[..n] != PREFACE[..n] {
                // A connection error of type PROTOCOL_ERROR (RFC 9113 §3.4): after our
                // SETTINGS (the server's preface, queued or sent already), GOAWAY.
                log::debug!("HTTP/2: bad connection preface");
                GoAway::new(
                    StreamId::ZERO,
                    ErrorCode::ProtocolError,
                    Bytes::from_static(b"invalid connection preface"),
                )
                .encode(&mut self.control);
                self.error = Some(ConnError::BadPreface);
                return Err(ConnError::BadPreface);
            }
            if n < PREFACE.len() {
                return Ok(());
            }
            self.read_buf.advance(PREFACE.len());
            self.phase = Phase::FirstSettings;
        }
        loop {
            match decode_frame_bytes(&mut self.read_buf, self.settings.max_frame_size) {
                Ok(None) => break,
                Ok(Some(frame)) => {
                    self.last_frame_at = now;
                    self.keep_alive_ping_sent = None;
                    self.on_frame(frame, now)?;
                }
                Err(err) => self.on_frame_error(err, now)?,
            }
            self.sync_conn_window()?;
        }
        Ok(())
    }

    /// The next event for the driver.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        if self.error.is_some() {
            return None;
        }
        let event = self.events.pop_front()?;
        if let Event::Request { id, body, .. } = &event {
            self.buffered_body -= body.len();
            if let Some(data) = self.data.get_mut(id) {
                data.recv = RecvState::Dispatched;
            }
            // On error the connection is failed and says so at the next call.
            let _ = self.sync_conn_window();
        }
        Some(event)
    }

    /// Appends frames ready to send to `out` (control frames first, then DATA as the
    /// windows allow, round-robin over streams). Returns whether anything was appended.
    pub(crate) fn poll_output(&mut self, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.extend_from_slice(&self.control);
        self.control.clear();
        self.control_frames = 0;
        if self.error.is_none() {
            self.write_streams(out, start);
        }
        out.len() > start
    }

    /// Whether `poll_output` would append anything now.
    pub(crate) fn wants_write(&self) -> bool {
        !self.control.is_empty()
            || self.error.is_none() && self.send_order.iter().any(|&id| self.can_write(id))
    }

    /// Queues the response head of stream `id` (a stream the client reset is ignored).
    /// Connection-specific fields (`connection`, `keep-alive`, `proxy-connection`,
    /// `transfer-encoding`, `upgrade`, and `te`) are left out (RFC 9113 §8.2.2). A 1xx
    /// head never ends the stream.
    pub(crate) fn send_headers(
        &mut self,
        id: StreamId,
        status: StatusCode,
        headers: &HeaderMap,
        end_stream: bool,
    ) {
        let end_stream = end_stream && !status.is_informational();
        let fields = response_fields(headers);
        self.push_out(
            id,
            OutItem::Head {
                status,
                fields,
                end_stream,
            },
            end_stream,
        );
    }

    /// Queues response body bytes of stream `id`; they go out as the windows allow.
    pub(crate) fn send_data(&mut self, id: StreamId, data: Bytes, end_stream: bool) {
        if data.is_empty() && !end_stream {
            return;
        }
        self.push_out(id, OutItem::Data { data, end_stream }, end_stream);
    }

    /// Ends stream `id` with trailers (a HEADERS frame with END_STREAM).
    pub(crate) fn send_trailers(&mut self, id: StreamId, trailers: &HeaderMap) {
        let fields = response_fields(trailers);
        self.push_out(id, OutItem::Trailers { fields }, true);
    }

    /// Resets stream `id` with `code` (the handler's reset, or a driver-side failure).
    pub(crate) fn reset(&mut self, id: StreamId, code: ErrorCode) {
        if self.error.is_some() {
            return;
        }
        self.drop_stream(id, None);
        if self.streams.get(id).is_some() && self.streams.send_rst_stream(id, code).is_ok() {
            let _ = self.queue_control(|out| RstStream::new(id, code).encode(out));
        }
        let _ = self.sync_conn_window();
    }

    /// Bytes of stream `id`'s response body queued and not yet sent: the driver pulls
    /// more from a reader body only while this is below a bound (back-pressure).
    pub(crate) fn queued_data(&self, id: StreamId) -> usize {
        self.data.get(&id).map_or(0, |d| d.queued_data)
    }

    /// Response body bytes queued on all streams and not yet sent (waiting for the
    /// client's flow-control windows or the socket).
    pub(crate) fn queued_data_total(&self) -> usize {
        self.data.values().map(|d| d.queued_data).sum()
    }

    /// Starts a graceful shutdown: GOAWAY with 2^31-1 now, then after one PING round
    /// trip (or at once when `now` passes the timeout) the real last stream id; streams
    /// already accepted finish.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        if self.error.is_some() || self.shutdown != Shutdown::None {
            return;
        }
        let goaway = GoAway::new(StreamId::MAX, ErrorCode::NoError, Bytes::new());
        if self.queue_control(|out| goaway.encode(out)).is_err()
            || self
                .queue_control(|out| Ping::new(SHUTDOWN_PING).encode(out))
                .is_err()
        {
            return;
        }
        self.shutdown = Shutdown::Draining {
            deadline: now + SHUTDOWN_PING_TIMEOUT,
        };
    }

    /// Ends a connection with no stream in progress at shutdown: GOAWAY with the last
    /// stream id the client opened (every stream up to it was processed), whichever
    /// phase of [`shutdown`](Self::shutdown) it is in; the connection is then closed
    /// ([`is_closed`](Self::is_closed)). Returns whether the GOAWAY was queued (not when
    /// the final one went out already or the connection failed).
    pub(crate) fn close_idle(&mut self) -> bool {
        if self.error.is_some() || matches!(self.shutdown, Shutdown::Final { .. }) {
            return false;
        }
        self.final_goaway().is_ok()
    }

    /// Whether the connection failed on an invalid client preface.
    pub(crate) fn bad_preface(&self) -> bool {
        self.error == Some(ConnError::BadPreface)
    }

    /// Streams open (request in progress or response being sent).
    pub(crate) fn active_streams(&self) -> usize {
        self.streams.active_count()
    }

    /// Streams whose request body is still arriving (the driver holds them to
    /// MinRequestBodyDataRate's grace period).
    pub(crate) fn receiving_streams(&self) -> usize {
        self.data
            .values()
            .filter(|d| matches!(d.recv, RecvState::Body(_)))
            .count()
    }

    /// Whether the connection is done: GOAWAY exchanged and no stream left, or a
    /// connection error. The driver closes the socket after writing the last output.
    pub(crate) fn is_closed(&self) -> bool {
        self.error.is_some()
            || matches!(self.shutdown, Shutdown::Final { .. }) && self.streams.active_count() == 0
    }

    /// The earliest deadline the connection has (request headers timeout while a header
    /// block is open, keep-alive PING delay and timeout, the second GOAWAY phase).
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        let block = self.block.as_ref().map(|b| b.deadline);
        let shutdown = match self.shutdown {
            Shutdown::Draining { deadline } => Some(deadline),
            _ => None,
        };
        let keep_alive = self.keep_alive_deadline();
        [block, shutdown, keep_alive].into_iter().flatten().min()
    }

    /// Acts on deadlines that passed by `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if self.block.as_ref().is_some_and(|b| now >= b.deadline) {
            return Err(self.fail(
                ErrorCode::InternalError,
                "request headers timeout: header block not finished",
            ));
        }
        if let Shutdown::Draining { deadline } = self.shutdown {
            if now >= deadline {
                self.final_goaway()?;
            }
        }
        if self.keep_alive_deadline().is_some_and(|d| now >= d) {
            if self.keep_alive_ping_sent.is_some() {
                return Err(self.fail(ErrorCode::InternalError, "keep-alive PING timeout"));
            }
            self.queue_control(|out| Ping::new(KEEP_ALIVE_PING).encode(out))?;
            self.keep_alive_ping_sent = Some(now);
        }
        Ok(())
    }

    /// The most a header block (HEADERS and its CONTINUATIONs, still HPACK-encoded) may
    /// take: twice `max_header_list_size`, and at least one frame of the smallest maximum
    /// size. CONTINUATION flood bound (CVE-2024-27316's HTTP/2 sibling): beyond it, GOAWAY
    /// ENHANCE_YOUR_CALM; a block this large decodes to a list over the GOAWAY limit anyway,
    /// save for unusual Huffman codes.
    pub(crate) fn max_header_block(&self) -> usize {
        (self.settings.max_header_list_size as usize)
            .saturating_mul(2)
            .max(DEFAULT_MAX_FRAME_SIZE as usize)
    }

    /// Buffered octets, for the fuzz targets' bounds: the read buffer, request bodies held,
    /// queued control frames and an open header block.
    #[cfg(fuzzing)]
    pub(crate) fn fuzz_buffered(&self) -> (usize, usize, usize, usize) {
        (
            self.read_buf.len(),
            self.buffered_body,
            self.control.len(),
            self.block.as_ref().map_or(0, |b| b.fragment.len()),
        )
    }

    fn keep_alive_deadline(&self) -> Option<Instant> {
        if self.phase != Phase::Open {
            return None;
        }
        let delay = self.settings.keep_alive_ping_delay?;
        Some(match self.keep_alive_ping_sent {
            Some(sent) => sent + self.settings.keep_alive_ping_timeout,
            None => self.last_frame_at + delay,
        })
    }

    // ---- errors and output queues -------------------------------------------------------

    /// A connection error: queues GOAWAY with `code` and `reason` as debug data, drops
    /// every stream, and returns the error for `recv` to return.
    fn fail(&mut self, code: ErrorCode, reason: &'static str) -> ConnError {
        if let Some(err) = &self.error {
            return err.clone();
        }
        log::debug!("HTTP/2 connection error {code:?}: {reason}");
        let mut last = self.streams.highest_client_id();
        if let Shutdown::Final { last: sent } = self.shutdown {
            last = last.min(sent);
        }
        GoAway::new(last, code, Bytes::from_static(reason.as_bytes())).encode(&mut self.control);
        self.data.clear();
        self.send_order.clear();
        self.events.clear();
        self.block = None;
        let err = ConnError::Protocol(code, reason);
        self.error = Some(err.clone());
        err
    }

    /// Queues one control frame; see [`MAX_QUEUED_CONTROL_FRAMES`].
    fn queue_control(&mut self, frame: impl FnOnce(&mut Vec<u8>)) -> Result<(), ConnError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if self.control_frames >= MAX_QUEUED_CONTROL_FRAMES {
            self.control.clear();
            self.control_frames = 0;
            return Err(self.fail(
                ErrorCode::EnhanceYourCalm,
                "too many frames queued for a peer that does not read",
            ));
        }
        frame(&mut self.control);
        self.control_frames += 1;
        Ok(())
    }

    /// A stream error caused by the client: RST_STREAM with `code`, the stream's request
    /// and response dropped, [`Event::Reset`] if its handler runs. A stream that cannot be
    /// reset (idle) makes it a connection error.
    fn stream_error(
        &mut self,
        id: StreamId,
        code: ErrorCode,
        reason: &'static str,
        now: Instant,
    ) -> Result<(), ConnError> {
        log::debug!("HTTP/2 stream {id} error {code:?}: {reason}");
        if self.streams.send_rst_stream(id, code).is_err() {
            return Err(self.fail(ErrorCode::ProtocolError, reason));
        }
        self.drop_stream(id, Some(code));
        self.queue_control(|out| RstStream::new(id, code).encode(out))?;
        self.count_local_reset(now)
    }

    /// Counts a stream refused, reset or answered without a handler because of the client;
    /// see [`MAX_LOCAL_RESETS_PER_WINDOW`].
    fn count_local_reset(&mut self, now: Instant) -> Result<(), ConnError> {
        if self.local_resets.hit(now) {
            return Err(self.fail(
                ErrorCode::EnhanceYourCalm,
                "too many streams refused or reset because of the client",
            ));
        }
        Ok(())
    }

    /// Forgets stream `id`'s request and queued response. A request handed to the driver
    /// gets [`Event::Reset`] with `reset` when that is `Some`; one still in the event queue
    /// is withdrawn. Buffered body bytes are released (see `sync_conn_window`). Returns the
    /// head of a request that was still receiving its body.
    fn drop_stream(
        &mut self,
        id: StreamId,
        reset: Option<ErrorCode>,
    ) -> Option<http::request::Parts> {
        let data = self.data.remove(&id)?;
        match data.recv {
            RecvState::Body(receiving) => {
                self.buffered_body -= receiving.body.len();
                self.incomplete_body -= receiving.body.len();
                return Some(receiving.head);
            }
            RecvState::Queued => {
                let pos = self
                    .events
                    .iter()
                    .position(|e| matches!(e, Event::Request { id: i, .. } if *i == id));
                if let Some(Event::Request { body, .. }) = pos.and_then(|p| self.events.remove(p)) {
                    self.buffered_body -= body.len();
                }
            }
            RecvState::Dispatched => {
                if let Some(code) = reset {
                    self.events.push_back(Event::Reset { id, code });
                }
            }
        }
        None
    }

    /// Gives connection window back for every received DATA octet we do not hold, and for
    /// held ones beyond the allowance `max_request_body_buffer` leaves above the window
    /// (see the module documentation). A WINDOW_UPDATE is queued when the policy of
    /// `RecvWindow` says one is due.
    fn sync_conn_window(&mut self) -> Result<(), ConnError> {
        let target = self.conn_recv.target() as usize;
        let allowance = self.body_buffer_cap().saturating_sub(target);
        let want = self.buffered_body.saturating_sub(allowance);
        let have = self.conn_recv.unreleased() as usize;
        if have > want {
            let n = u32::try_from(have - want).unwrap_or(u32::MAX);
            if let Some(increment) = self.conn_recv.release(n) {
                self.queue_control(|out| WindowUpdate::new(StreamId::ZERO, increment).encode(out))?;
            }
        }
        Ok(())
    }

    /// [`ConnSettings::max_request_body_buffer`], at least the connection window.
    fn body_buffer_cap(&self) -> usize {
        self.settings
            .max_request_body_buffer
            .max(self.conn_recv.target() as usize)
    }

    // ---- frames in ----------------------------------------------------------------------

    fn on_frame_error(&mut self, err: FrameError, now: Instant) -> Result<(), ConnError> {
        log::debug!("HTTP/2 frame error: {err}");
        let reason = err.kind().reason();
        match err.scope() {
            ErrorScope::Connection => Err(self.fail(err.code(), reason)),
            // The first frame must be a valid SETTINGS; no frame may come between the
            // frames of a header block.
            _ if self.phase != Phase::Open => Err(self.fail(ErrorCode::ProtocolError, reason)),
            _ if self.block.is_some() => Err(self.fail(
                ErrorCode::ProtocolError,
                "frame interleaved in a header block",
            )),
            // A too-large frame is reported from its header and left in the buffer;
            // skipping its payload as it arrives is not worth it (RFC 9113 §4.2 allows the
            // connection error).
            _ if err.kind() == FrameErrorKind::TooLarge => Err(self.fail(err.code(), reason)),
            ErrorScope::Stream(id) => {
                if self.beyond_goaway(id) {
                    return Ok(());
                }
                self.stream_error(id, err.code(), reason, now)
            }
        }
    }

    fn on_frame(&mut self, frame: Frame, now: Instant) -> Result<(), ConnError> {
        if self.phase == Phase::FirstSettings {
            if !matches!(&frame, Frame::Settings(s) if !s.ack) {
                return Err(self.fail(ErrorCode::ProtocolError, "first frame is not SETTINGS"));
            }
            self.phase = Phase::Open;
        }
        if let Some(block) = &self.block {
            if !matches!(&frame, Frame::Continuation(c) if c.stream_id == block.stream_id) {
                return Err(self.fail(
                    ErrorCode::ProtocolError,
                    "frame interleaved in a header block",
                ));
            }
        }
        self.count_empty(&frame)?;
        match frame {
            Frame::Data(data) => self.on_data(data, now),
            Frame::Headers(headers) => self.on_headers(headers, now),
            Frame::Continuation(continuation) => self.on_continuation(continuation, now),
            Frame::Priority(priority) => {
                // Deprecated (RFC 9113 §5.3.2) and ignored: no priority tree, so nothing a
                // peer can make us walk (CVE-2019-9513). Errors were checked at load.
                let result = self.streams.recv_priority(priority.stream_id);
                self.stream_result(result, now).map(drop)
            }
            Frame::RstStream(rst) => self.on_rst_stream(rst, now),
            Frame::Settings(settings) => self.on_settings(settings, now),
            Frame::PushPromise(_) => {
                let err = self.streams.recv_push_promise(StreamId::ZERO);
                Err(self.fail(err.code(), "PUSH_PROMISE from a client"))
            }
            Frame::Ping(ping) => self.on_ping(ping, now),
            Frame::GoAway(goaway) => self.on_goaway(goaway),
            Frame::WindowUpdate(update) => self.on_window_update(update, now),
            // Unknown types are ignored (RFC 9113 §5.5).
            Frame::Unknown(_) => Ok(()),
        }
    }

    /// See [`MAX_CONSECUTIVE_EMPTY_FRAMES`].
    fn count_empty(&mut self, frame: &Frame) -> Result<(), ConnError> {
        let empty = match frame {
            Frame::Data(d) => d.data.is_empty() && !d.end_stream,
            Frame::Headers(h) => h.fragment.is_empty() && !h.end_headers,
            Frame::Continuation(c) => c.fragment.is_empty() && !c.end_headers,
            Frame::Unknown(u) => u.payload.is_empty(),
            _ => false,
        };
        if !empty {
            self.empty_frames = 0;
            return Ok(());
        }
        self.empty_frames += 1;
        if self.empty_frames > MAX_CONSECUTIVE_EMPTY_FRAMES {
            return Err(self.fail(ErrorCode::EnhanceYourCalm, "too many empty frames"));
        }
        Ok(())
    }

    /// Maps the stream layer's answer: `Some(handling)`, or `None` after a stream error
    /// was dealt with; a connection error fails the connection.
    fn stream_result(
        &mut self,
        result: Result<Handling, StreamError>,
        now: Instant,
    ) -> Result<Option<Handling>, ConnError> {
        match result {
            Ok(handling) => Ok(Some(handling)),
            Err(err) => {
                let reason = err.kind().reason();
                if err.is_connection_error() {
                    return Err(self.fail(err.code(), reason));
                }
                self.stream_error(err.stream_id(), err.code(), reason, now)?;
                Ok(None)
            }
        }
    }

    /// Whether frames on `id` are ignored because our final GOAWAY excluded the stream
    /// (RFC 9113 §6.8). Header blocks on them are still decoded.
    fn beyond_goaway(&self, id: StreamId) -> bool {
        matches!(self.shutdown, Shutdown::Final { last } if id > last)
            && id.is_client_initiated()
            && id > self.streams.highest_client_id()
    }

    fn on_headers(&mut self, headers: Headers, now: Instant) -> Result<(), ConnError> {
        let self_dependent = headers.check_dependency().is_err();
        if headers.end_headers {
            return self.on_header_block(
                headers.stream_id,
                headers.end_stream,
                self_dependent,
                &headers.fragment,
                now,
            );
        }
        if headers.fragment.len() > self.max_header_block() {
            return Err(self.fail(ErrorCode::EnhanceYourCalm, "header block too large"));
        }
        self.block = Some(OpenBlock {
            stream_id: headers.stream_id,
            end_stream: headers.end_stream,
            self_dependent,
            fragment: headers.fragment.to_vec(),
            deadline: now + self.settings.request_headers_timeout,
        });
        Ok(())
    }

    fn on_continuation(
        &mut self,
        continuation: Continuation,
        now: Instant,
    ) -> Result<(), ConnError> {
        let max = self.max_header_block();
        let Some(block) = &mut self.block else {
            return Err(self.fail(
                ErrorCode::ProtocolError,
                "CONTINUATION without a header block",
            ));
        };
        if block.fragment.len() + continuation.fragment.len() > max {
            return Err(self.fail(ErrorCode::EnhanceYourCalm, "header block too large"));
        }
        block.fragment.extend_from_slice(&continuation.fragment);
        if !continuation.end_headers {
            return Ok(());
        }
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        self.on_header_block(
            block.stream_id,
            block.end_stream,
            block.self_dependent,
            &block.fragment,
            now,
        )
    }

    /// A complete header block on `id`: decoded (always, to keep the HPACK tables in
    /// step), then a new request, trailers, or dropped.
    fn on_header_block(
        &mut self,
        id: StreamId,
        end_stream: bool,
        self_dependent: bool,
        block: &[u8],
        now: Instant,
    ) -> Result<(), ConnError> {
        let trailers = matches!(
            self.data.get(&id).map(|d| &d.recv),
            Some(RecvState::Body(_))
        );
        let limits = HeaderLimits {
            max_list_size: self.settings.max_header_list_size as usize,
            max_count: self.settings.max_header_count as usize,
            max_field_size: self.settings.max_header_field_size as usize,
        };
        let mut collector = BlockCollector::new(limits, trailers);
        let decoded = self
            .decoder
            .decode(block, limits.max_list_size.saturating_mul(2), |field| {
                collector.field(field);
                Ok(())
            });
        match decoded {
            Ok(()) => {}
            Err(DecoderError::HeaderListTooLarge) => {
                return Err(self.fail(
                    ErrorCode::EnhanceYourCalm,
                    "header list over twice SETTINGS_MAX_HEADER_LIST_SIZE",
                ))
            }
            Err(err) => {
                log::debug!("HTTP/2 HPACK error: {err}");
                return Err(self.fail(ErrorCode::CompressionError, "HPACK decoding failed"));
            }
        }
        if self.beyond_goaway(id) {
            return Ok(());
        }
        let result = self.streams.recv_headers(id, end_stream);
        if self.stream_result(result, now)? != Some(Handling::Process) {
            return Ok(());
        }
        if self_dependent {
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "stream depends on itself",
                now,
            );
        }
        match (collector.finish(), trailers) {
            (Outcome::Malformed(why), _) => {
                self.stream_error(id, ErrorCode::ProtocolError, why, now)
            }
            (Outcome::TooLarge(why), _) => {
                log::debug!("HTTP/2 stream {id}: 431, {why}");
                self.answer(id, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, None, now)
            }
            (Outcome::Request(head), false) => self.on_request_head(id, *head, end_stream, now),
            (Outcome::Trailers(fields), true) => self.end_request(id, Some(fields), now),
            // The collector was made for the one or the other.
            (Outcome::Request(_), true) | (Outcome::Trailers(_), false) => Ok(()),
        }
    }

    fn on_request_head(
        &mut self,
        id: StreamId,
        head: RequestHead,
        end_stream: bool,
        now: Instant,
    ) -> Result<(), ConnError> {
        let RequestHead {
            parts,
            content_length,
            expect_continue,
        } = head;
        if end_stream && content_length.is_some_and(|n| n != 0) {
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "content-length with no DATA",
                now,
            );
        }
        if content_length.is_some_and(|n| self.body_too_large(n)) {
            log::debug!("HTTP/2 stream {id}: 413, declared content-length over the limit");
            return self.answer(id, StatusCode::PAYLOAD_TOO_LARGE, Some(parts), now);
        }
        self.data.insert(
            id,
            StreamData {
                recv: RecvState::Body(Box::new(Receiving {
                    head: parts,
                    content_length,
                    body: BytesMut::new(),
                })),
                out: VecDeque::new(),
                queued_data: 0,
                send_ended: false,
                scheduled: false,
            },
        );
        if end_stream {
            self.complete_request(id, None);
        } else if expect_continue {
            // The body is read before the handler runs: tell the client to send it.
            self.push_out(
                id,
                OutItem::Head {
                    status: StatusCode::CONTINUE,
                    fields: Vec::new(),
                    end_stream: false,
                },
                false,
            );
        }
        Ok(())
    }

    /// The request of `id` ended (END_STREAM, with `trailers` or without): checks the
    /// declared content-length and hands the request to the event queue.
    fn end_request(
        &mut self,
        id: StreamId,
        trailers: Option<HeaderMap>,
        now: Instant,
    ) -> Result<(), ConnError> {
        if let Some(Receiving {
            content_length: Some(expected),
            body,
            ..
        }) = self.receiving(id)
        {
            if *expected != body.len() as u64 {
                return self.stream_error(
                    id,
                    ErrorCode::ProtocolError,
                    "DATA shorter than content-length",
                    now,
                );
            }
        }
        self.complete_request(id, trailers);
        Ok(())
    }

    fn receiving(&mut self, id: StreamId) -> Option<&mut Receiving> {
        match &mut self.data.get_mut(&id)?.recv {
            RecvState::Body(receiving) => Some(receiving),
            _ => None,
        }
    }

    /// Whether a body of `len` octets is over `max_request_body_size` or cannot be
    /// buffered at all.
    fn body_too_large(&self, len: u64) -> bool {
        self.settings
            .max_request_body_size
            .is_some_and(|max| len > max)
            || len > self.body_buffer_cap() as u64
    }

    /// The request of `id` is complete: hands it to the event queue.
    fn complete_request(&mut self, id: StreamId, trailers: Option<HeaderMap>) {
        let Some(data) = self.data.get_mut(&id) else {
            return;
        };
        let RecvState::Body(receiving) = std::mem::replace(&mut data.recv, RecvState::Queued)
        else {
            return;
        };
        let Receiving { head, body, .. } = *receiving;
        self.incomplete_body -= body.len();
        self.events.push_back(Event::Request {
            id,
            head,
            body: body.freeze(),
            trailers,
        });
    }

    /// Answers stream `id` with `status` and no body, without a handler (431, 413), then
    /// asks the client with RST_STREAM NO_ERROR to stop sending if it has not finished.
    /// `head`: the request's head, when decoded (else the body's receiver has it); it goes
    /// with [`Event::Answered`] to the access log.
    fn answer(
        &mut self,
        id: StreamId,
        status: StatusCode,
        head: Option<http::request::Parts>,
        now: Instant,
    ) -> Result<(), ConnError> {
        let receiving = self.drop_stream(id, None);
        let head = head.or(receiving);
        if self.streams.send_headers(id, true).is_err() {
            return Ok(());
        }
        self.events.push_back(Event::Answered {
            id,
            status,
            head: head.map(Box::new),
        });
        let mut block = Vec::new();
        self.encoder.encode(
            [(&b":status"[..], status.as_str().as_bytes(), false)],
            &mut block,
        );
        let mut frames = Vec::new();
        encode_headers(id, &block, true, self.peer_max_frame_size, &mut frames);
        self.queue_control(|out| out.extend_from_slice(&frames))?;
        if self.streams.get(id).is_some() {
            let _ = self.streams.send_rst_stream(id, ErrorCode::NoError);
            self.queue_control(|out| RstStream::new(id, ErrorCode::NoError).encode(out))?;
        }
        self.count_local_reset(now)
    }

    fn on_data(&mut self, data: Data, now: Instant) -> Result<(), ConnError> {
        let id = data.stream_id;
        let len = u32::try_from(data.flow_controlled_len()).unwrap_or(u32::MAX);
        // Every octet counts against the connection window, whatever becomes of the frame
        // (RFC 9113 §6.9); what we do not keep is given back by `sync_conn_window`.
        if self.conn_recv.recv(len).is_err() {
            return Err(self.fail(
                ErrorCode::FlowControlError,
                "DATA beyond the connection window",
            ));
        }
        if self.beyond_goaway(id) {
            return Ok(());
        }
        let result = self.streams.recv_data(id, len, data.end_stream);
        if self.stream_result(result, now)? != Some(Handling::Process) {
            return Ok(());
        }
        let Some(receiving) = self.receiving(id) else {
            return Ok(());
        };
        let n = data.data.len();
        let received = (receiving.body.len() + n) as u64;
        if receiving.content_length.is_some_and(|cl| received > cl) {
            return self.stream_error(
                id,
                ErrorCode::ProtocolError,
                "DATA longer than content-length",
                now,
            );
        }
        if self.body_too_large(received) {
            log::debug!("HTTP/2 stream {id}: 413, request body over the limit");
            return self.answer(id, StatusCode::PAYLOAD_TOO_LARGE, None, now);
        }
        if let Some(receiving) = self.receiving(id) {
            receiving.body.extend_from_slice(&data.data);
        }
        self.buffered_body += n;
        self.incomplete_body += n;
        // The stream window comes back as soon as the bytes are buffered (padding
        // included); the connection window is what bounds the buffering.
        if let Some(increment) = self.streams.release(id, len) {
            self.queue_control(|out| WindowUpdate::new(id, increment).encode(out))?;
        }
        if data.end_stream {
            return self.end_request(id, None, now);
        }
        if self.incomplete_body >= self.body_buffer_cap() {
            // Every buffered byte belongs to a request still receiving and the client has
            // no window left: none of them can finish. Answer the largest.
            let largest = self
                .data
                .iter()
                .filter_map(|(&id, d)| match &d.recv {
                    RecvState::Body(r) => Some((r.body.len(), id)),
                    _ => None,
                })
                .max();
            if let Some((_, id)) = largest {
                log::debug!("HTTP/2 stream {id}: 413, request bodies fill the buffer");
                return self.answer(id, StatusCode::PAYLOAD_TOO_LARGE, None, now);
            }
        }
        Ok(())
    }

    fn on_rst_stream(&mut self, rst: RstStream, now: Instant) -> Result<(), ConnError> {
        let id = rst.stream_id;
        if self.beyond_goaway(id) {
            return Ok(());
        }
        let result = self.streams.recv_rst_stream(id, rst.error_code);
        if self.stream_result(result, now)? != Some(Handling::Process) {
            return Ok(());
        }
        log::debug!(
            "HTTP/2 stream {id} reset by the client: {:?}",
            rst.error_code
        );
        self.drop_stream(id, Some(rst.error_code));
        if self.client_resets.hit(now) {
            return Err(self.fail(
                ErrorCode::EnhanceYourCalm,
                "too many streams reset by the client (rapid reset)",
            ));
        }
        Ok(())
    }

    /// Counts a PING or SETTINGS frame that asks for an acknowledgement; see
    /// [`MAX_PINGS_AND_SETTINGS_PER_WINDOW`].
    fn count_ack_asked(&mut self, now: Instant) -> Result<(), ConnError> {
        if self.acks_asked.hit(now) {
            return Err(self.fail(
                ErrorCode::EnhanceYourCalm,
                "too many PING or SETTINGS frames (flood)",
            ));
        }
        Ok(())
    }

    fn on_settings(&mut self, settings: Settings, now: Instant) -> Result<(), ConnError> {
        if !settings.ack {
            self.count_ack_asked(now)?;
        }
        if settings.ack {
            if !self.settings_acked {
                self.settings_acked = true;
                let ours = self.settings.header_table_size as usize;
                if ours < DEFAULT_TABLE_SIZE {
                    self.decoder.set_max_table_size_limit(ours);
                }
            }
            return Ok(());
        }
        if let Some(size) = settings.initial_window_size {
            if let Err(err) = self.streams.apply_peer_initial_window_size(size) {
                return Err(self.fail(err.code(), err.kind().reason()));
            }
        }
        if let Some(size) = settings.max_frame_size {
            // Not above ours: it sizes our frames and so our write bursts (Kestrel's rule).
            self.peer_max_frame_size = size.clamp(
                DEFAULT_MAX_FRAME_SIZE,
                self.settings.max_frame_size.max(DEFAULT_MAX_FRAME_SIZE),
            );
        }
        if let Some(size) = settings.header_table_size {
            if self.settings.allow_response_header_compression {
                // The peer's decoder limit, within our own memory budget.
                let size = (size as usize).min(self.settings.header_table_size as usize);
                if size != self.encoder_table_size {
                    self.encoder.update_max_table_size(size);
                    self.encoder_table_size = size;
                }
            }
        }
        // SETTINGS_ENABLE_PUSH was checked at load (0 or 1); we never push either way.
        // SETTINGS_MAX_CONCURRENT_STREAMS limits streams we would open: none.
        // SETTINGS_MAX_HEADER_LIST_SIZE is advisory; our response heads are the handlers'.
        self.queue_control(|out| Settings::ack().encode(out))
    }

    fn on_ping(&mut self, ping: Ping, now: Instant) -> Result<(), ConnError> {
        if !ping.ack {
            self.count_ack_asked(now)?;
            return self.queue_control(|out| Ping::pong(ping.payload).encode(out));
        }
        if ping.payload == SHUTDOWN_PING && matches!(self.shutdown, Shutdown::Draining { .. }) {
            self.final_goaway()?;
        }
        // A keep-alive PING's ACK needs nothing more: any frame resets the timer.
        Ok(())
    }

    fn on_goaway(&mut self, goaway: GoAway) -> Result<(), ConnError> {
        log::debug!(
            "HTTP/2 GOAWAY from the client: {:?}, last stream {}",
            goaway.error_code,
            goaway.last_stream_id
        );
        // We push nothing, so its last stream id concerns nothing of ours. Finish the
        // streams we have, say which ones they are, and ignore new ones (the client should
        // open none after going away).
        if !matches!(self.shutdown, Shutdown::Final { .. }) {
            self.final_goaway()?;
        }
        Ok(())
    }

    /// The second GOAWAY: the last stream we accepted; later ones are ignored.
    fn final_goaway(&mut self) -> Result<(), ConnError> {
        let last = self.streams.highest_client_id();
        self.queue_control(|out| GoAway::new(last, ErrorCode::NoError, Bytes::new()).encode(out))?;
        self.shutdown = Shutdown::Final { last };
        Ok(())
    }

    fn on_window_update(&mut self, update: WindowUpdate, now: Instant) -> Result<(), ConnError> {
        let id = update.stream_id;
        if id.is_zero() {
            if self.conn_send.increase(update.increment).is_err() {
                return Err(self.fail(
                    ErrorCode::FlowControlError,
                    "WINDOW_UPDATE takes the connection window above 2^31-1",
                ));
            }
            return Ok(());
        }
        if self.beyond_goaway(id) {
            return Ok(());
        }
        let result = self.streams.recv_window_update(id, update.increment);
        self.stream_result(result, now).map(drop)
    }

    // ---- frames out ---------------------------------------------------------------------

    /// Queues `item` on stream `id`'s response, unless the stream is gone or its response
    /// already ended.
    fn push_out(&mut self, id: StreamId, item: OutItem, end_stream: bool) {
        if self.error.is_some() || self.streams.get(id).is_none() {
            return;
        }
        let Some(data) = self.data.get_mut(&id) else {
            return;
        };
        if data.send_ended {
            return;
        }
        if let OutItem::Data { data: bytes, .. } = &item {
            data.queued_data += bytes.len();
        }
        data.out.push_back(item);
        data.send_ended = end_stream;
        if !data.scheduled {
            data.scheduled = true;
            self.send_order.push_back(id);
        }
    }

    /// Whether stream `id` can write something now.
    fn can_write(&self, id: StreamId) -> bool {
        let Some(front) = self.data.get(&id).and_then(|d| d.out.front()) else {
            return false;
        };
        match front {
            OutItem::Data { data, .. } if !data.is_empty() => {
                self.conn_send.available() > 0
                    && self
                        .streams
                        .get(id)
                        .is_some_and(|s| s.send_window().available() > 0)
            }
            _ => true,
        }
    }

    /// Writes the streams' output round-robin: on each turn a stream writes its heads and
    /// at most one DATA frame.
    fn write_streams(&mut self, out: &mut Vec<u8>, start: usize) {
        let mut idle_turns = 0;
        while let Some(id) = self.send_order.pop_front() {
            if out.len() - start >= OUTPUT_BATCH {
                self.send_order.push_front(id);
                break;
            }
            let progressed = self.write_turn(id, out);
            match self.data.get_mut(&id) {
                Some(data) if !data.out.is_empty() => self.send_order.push_back(id),
                Some(data) => data.scheduled = false,
                None => {}
            }
            self.forget_if_done(id);
            if progressed {
                idle_turns = 0;
            } else {
                idle_turns += 1;
                if idle_turns >= self.send_order.len() {
                    break;
                }
            }
        }
    }

    /// One turn of stream `id`; whether it wrote anything.
    fn write_turn(&mut self, id: StreamId, out: &mut Vec<u8>) -> bool {
        let Some(send_window) = self.streams.get(id).map(|s| s.send_window().available()) else {
            // Closed under us (a reset): its output goes.
            if let Some(data) = self.data.get_mut(&id) {
                data.out.clear();
                data.queued_data = 0;
            }
            return false;
        };
        let mut progressed = false;
        let mut ended = false;
        while let Some(data) = self.data.get_mut(&id) {
            let Some(item) = data.out.front_mut() else {
                break;
            };
            match item {
                OutItem::Data {
                    data: bytes,
                    end_stream,
                } => {
                    let end_stream = *end_stream;
                    let available = send_window
                        .min(self.conn_send.available())
                        .min(self.peer_max_frame_size) as usize;
                    if !bytes.is_empty() && available == 0 {
                        break;
                    }
                    let chunk = bytes.len().min(available);
                    let last = chunk == bytes.len();
                    let end = end_stream && last;
                    let piece = bytes.split_to(chunk);
                    data.queued_data -= chunk;
                    if last {
                        data.out.pop_front();
                    }
                    encode_data(id, &piece, end, self.peer_max_frame_size, out);
                    // Within both windows by construction.
                    let _ = self.streams.send_data(id, chunk as u32, end);
                    let _ = self.conn_send.consume(chunk as u32);
                    progressed = true;
                    ended = end;
                    // One DATA frame per turn.
                    break;
                }
                OutItem::Head { .. } | OutItem::Trailers { .. } => {
                    let Some(item) = data.out.pop_front() else {
                        break;
                    };
                    let (status, fields, end_stream) = match item {
                        OutItem::Head {
                            status,
                            fields,
                            end_stream,
                        } => (Some(status), fields, end_stream),
                        OutItem::Trailers { fields } => (None, fields, true),
                        OutItem::Data { .. } => break,
                    };
                    self.write_head(id, status, &fields, end_stream, out);
                    progressed = true;
                    if end_stream {
                        ended = true;
                        break;
                    }
                }
            }
        }
        if ended && self.streams.get(id).is_some_and(|s| !s.is_recv_closed()) {
            // The response is complete before the request: ask the client to stop sending
            // (RFC 9113 §8.1), and forget what it sent.
            let _ = self.streams.send_rst_stream(id, ErrorCode::NoError);
            RstStream::new(id, ErrorCode::NoError).encode(out);
            self.drop_stream(id, None);
        }
        progressed
    }

    /// Encodes and writes a response head (`status`) or trailers (no status).
    fn write_head(
        &mut self,
        id: StreamId,
        status: Option<StatusCode>,
        fields: &[(HeaderName, HeaderValue)],
        end_stream: bool,
        out: &mut Vec<u8>,
    ) {
        let status_field = status
            .as_ref()
            .map(|s| (&b":status"[..], s.as_str().as_bytes(), false));
        let regular = fields.iter().map(|(name, value)| {
            // Never indexed: what the handler marked sensitive, and set-cookie (the
            // encoder adds authorization and short cookies on its own).
            let sensitive = value.is_sensitive() || name == http::header::SET_COOKIE;
            (name.as_str().as_bytes(), value.as_bytes(), sensitive)
        });
        let mut block = Vec::new();
        self.encoder
            .encode(status_field.into_iter().chain(regular), &mut block);
        encode_headers(id, &block, end_stream, self.peer_max_frame_size, out);
        if self.streams.send_headers(id, end_stream).is_err() {
            log::error!("HTTP/2 stream {id}: response head in a state that forbids it");
        }
    }

    /// Forgets the data of stream `id` once the stream is closed and nothing is left to
    /// write or hand over.
    fn forget_if_done(&mut self, id: StreamId) {
        let done = self.data.get(&id).is_some_and(|d| {
            d.out.is_empty() && !matches!(d.recv, RecvState::Queued | RecvState::Body(_))
        });
        if done && self.streams.get(id).is_none() {
            self.data.remove(&id);
        }
    }
}

/// The fields of a response head or trailers, without connection-specific ones.
fn response_fields(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !is_connection_specific(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

//! HTTP/2 stream states (RFC 9113 §5.1) for a server, sans-I/O.
//!
//! * [`State`] (private) is the RFC's state machine: one method, `on`, takes an [`Event`]
//!   (a frame sent or received on the stream) and gives the next state or the error the RFC
//!   calls for. It knows nothing of stream identifiers or windows.
//! * [`Streams`] is one connection's registry: it applies the stream identifier rules of
//!   §5.1.1 (client streams are odd and increasing; lower identifiers that are not open are
//!   closed), the SETTINGS_MAX_CONCURRENT_STREAMS limit (§5.1.2), per-stream flow-control
//!   windows (`super::flow`), and a bounded memory of recently closed streams so that late
//!   frames on them get the closed state's answer rather than a guess.
//!
//! Errors are [`StreamError`]s: a kind, the stream, and from the kind the error code and
//! whether it is a connection error (GOAWAY) or a stream error (RST_STREAM), like the frame
//! layer's `FrameError`. Frames that a stream merely ignores come back as
//! `Ok(`[`Handling::Ignore`]`)`.
//!
//! What this layer does not do: decode header blocks. A HEADERS frame that is refused or
//! ignored here must still go through the HPACK decoder, or the connection's compression
//! state breaks (RFC 9113 §4.3). Nor does it count the connection window: the driver
//! consumes the connection's receive window for every DATA frame, ignored or not, before it
//! calls [`Streams::recv_data`] (§6.9).
//!
//! Server push is not offered (neither does Kestrel): [`Streams`] only ever has
//! client-initiated streams, so the reserved states are unreachable through it. [`State`]
//! still has them, so that it is the whole diagram of the RFC and tested as such.

use std::collections::{HashMap, VecDeque};

use super::flow::{RecvWindow, Window, WindowError};
use super::flow::{DEFAULT_INITIAL_WINDOW_SIZE, DEFAULT_STREAM_WINDOW_SIZE};
use super::frame::{ErrorCode, ErrorScope, StreamId, MAX_WINDOW_SIZE};

/// How many streams a client may have open at once, advertised as
/// SETTINGS_MAX_CONCURRENT_STREAMS. Default: 100 (Kestrel's
/// `Http2Limits.MaxStreamsPerConnection`). A HEADERS frame beyond it is refused with
/// REFUSED_STREAM (RFC 9113 §5.1.2), which tells the client it may retry the request.
pub(crate) const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;

/// How many closed streams a connection remembers. Default: 200, twice
/// [`DEFAULT_MAX_CONCURRENT_STREAMS`], so that all the streams of a full connection can be
/// reset at once and still be recognised while the next hundred run.
///
/// Why remember: after we reset a stream, the peer may still have frames for it in flight,
/// which the RFC says to ignore (§5.1, "closed"); after a stream ended normally, more DATA
/// from the peer is a connection error. Telling the two apart needs the stream's history.
/// Why bound: a peer can open and close streams without end. Each entry is 16 octets, so
/// the default costs about 3 KiB per connection. A stream pushed out of the memory is
/// "forgotten" and handled like an identifier that was never used (see [`Streams`]).
pub(crate) const DEFAULT_CLOSED_STREAMS_REMEMBERED: usize = 200;

/// The stream limits of one connection. Defaults are Kestrel's, where Kestrel has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamLimits {
    /// Default: 100 (Kestrel's `Http2Limits.MaxStreamsPerConnection`); see
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`].
    pub(crate) max_concurrent_streams: u32,
    /// Default: 200; see [`DEFAULT_CLOSED_STREAMS_REMEMBERED`].
    pub(crate) closed_streams_remembered: usize,
    /// The SETTINGS_INITIAL_WINDOW_SIZE we advertise: each stream's receive window.
    /// Default: 786,432 octets (Kestrel's `Http2Limits.InitialStreamWindowSize`).
    pub(crate) initial_stream_window_size: u32,
}

impl Default for StreamLimits {
    fn default() -> StreamLimits {
        StreamLimits {
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            closed_streams_remembered: DEFAULT_CLOSED_STREAMS_REMEMBERED,
            initial_stream_window_size: DEFAULT_STREAM_WINDOW_SIZE,
        }
    }
}

/// How a stream came to be closed; it decides how late frames are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Both sides sent END_STREAM. More DATA or HEADERS from the peer is a connection error
    /// STREAM_CLOSED; WINDOW_UPDATE and RST_STREAM sent before the peer saw our END_STREAM
    /// are ignored.
    EndStream,
    /// The peer sent RST_STREAM with this code. Anything but PRIORITY (and another
    /// RST_STREAM, which must not be answered) is a stream error STREAM_CLOSED.
    PeerReset(ErrorCode),
    /// We sent RST_STREAM with this code (or refused the stream). Frames the peer sent
    /// before it saw the reset are ignored.
    LocalReset(ErrorCode),
}

/// The state of a stream, RFC 9113 §5.1, Figure 2:
///
/// ```text
///                              +--------+
///                      send PP |        | recv PP
///                     ,--------+  idle  +--------.
///                    /         |        |         \
///                   v          +--------+          v
///            +----------+          |           +----------+
///            |          |          | send H /  |          |
///     ,------+ reserved |          | recv H    | reserved +------.
///     |      | (local)  |          |           | (remote) |      |
///     |      +---+------+          v           +------+---+      |
///     |          |             +--------+             |          |
///     |          |     recv ES |        | send ES     |          |
///     |   send H |     ,-------+  open  +-------.     | recv H   |
///     |          |    /        |        |        \    |          |
///     |          v   v         +---+----+         v   v          |
///     |      +----------+          |           +----------+      |
///     |      |   half-  |          |           |   half-  |      |
///     |      |  closed  |          | send R /  |  closed  |      |
///     |      | (remote) |          | recv R    | (local)  |      |
///     |      +----+-----+          |           +-----+----+      |
///     |           |                |                 |           |
///     |           | send ES /      |       recv ES / |           |
///     |           | send R /       v        send R / |           |
///     |           | recv R     +--------+   recv R   |           |
///     | send R /  `----------->|        |<-----------'  send R / |
///     | recv R                 | closed |               recv R   |
///     `----------------------->|        |<-----------------------'
///                              +--------+
///
///    send:  endpoint sends this frame
///    recv:  endpoint receives this frame
///
///    H:  HEADERS frame (with implied CONTINUATION frames)
///    ES:  END_STREAM flag
///    R:  RST_STREAM frame
///    PP:  PUSH_PROMISE frame (with implied CONTINUATION frames); state
///         transitions are for the promised stream
/// ```
///
/// Not in the figure, from the text of §5.1 and §8.1, for a server:
///
/// * PRIORITY may be sent and received in every state and changes nothing.
/// * idle: receiving anything but HEADERS, PRIORITY (or PUSH_PROMISE for the promised
///   stream) is a connection error PROTOCOL_ERROR.
/// * reserved (local): receiving anything but RST_STREAM, PRIORITY, WINDOW_UPDATE is a
///   connection error PROTOCOL_ERROR. reserved (remote): the same, with HEADERS allowed and
///   WINDOW_UPDATE not.
/// * open, half-closed (local): a second HEADERS (trailers) must carry END_STREAM, else the
///   request is malformed: stream error PROTOCOL_ERROR (§8.1).
/// * half-closed (remote): receiving anything but WINDOW_UPDATE, PRIORITY, RST_STREAM is a
///   stream error STREAM_CLOSED.
/// * closed: by [`CloseReason`]. RST_STREAM is always ignored (never answered, §5.4.2).
/// * PUSH_PROMISE promising a stream that is not idle: connection error PROTOCOL_ERROR (§6.6).
/// * Sending a frame the state does not allow is our own bug ([`StreamErrorKind::InvalidSend`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    ReservedLocal,
    ReservedRemote,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    Closed { reason: CloseReason },
}

/// A frame sent or received on a stream, as far as its state is concerned. HEADERS stands
/// for the whole header block, CONTINUATION frames included; PUSH_PROMISE events are for the
/// promised stream.
// The table is RFC 9113 §5.1's whole, and its tests walk all of it; the server itself never
// pushes, and sends neither PRIORITY nor a stream's WINDOW_UPDATE through it.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "RecvPushPromise, SendPriority, SendWindowUpdate and SendPushPromise \
                  complete the state table for its tests; the server never produces them"
    )
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    RecvHeaders { end_stream: bool },
    RecvData { end_stream: bool },
    RecvPriority,
    RecvRstStream(ErrorCode),
    RecvWindowUpdate,
    RecvPushPromise,
    SendHeaders { end_stream: bool },
    SendData { end_stream: bool },
    SendPriority,
    SendRstStream(ErrorCode),
    SendWindowUpdate,
    SendPushPromise,
}

/// What to do with a frame that is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    /// Act on it: deliver headers or data, apply the window update.
    Process,
    /// Drop it: a late frame on a stream we reset, or a WINDOW_UPDATE or RST_STREAM after the
    /// stream ended (RFC 9113 §5.1, "closed"). A dropped DATA frame still counts against the
    /// connection window, and a dropped header block still goes through HPACK.
    Ignore,
}

impl State {
    /// The state after `event`, and whether to act on the frame; or what is wrong. On error
    /// the state is unchanged.
    fn on(self, event: Event) -> Result<(State, Handling), StreamErrorKind> {
        use CloseReason::{EndStream, LocalReset, PeerReset};
        use Event::*;
        use Handling::{Ignore, Process};
        use State::*;
        use StreamErrorKind as E;

        let closed = |reason| Closed { reason };
        let end = |end_stream: bool, then: State, otherwise: State| {
            if end_stream {
                then
            } else {
                otherwise
            }
        };
        let next = match (self, event) {
            // PRIORITY: any state, no change (§5.1, §5.3.2).
            (_, RecvPriority | SendPriority) => self,

            // RST_STREAM closes any stream that is not idle (§6.4); one more on a closed
            // stream is ignored, and may be sent to answer a late frame.
            (Idle, RecvRstStream(_)) => return Err(E::FrameOnIdle),
            (Idle, SendRstStream(_)) => return Err(E::InvalidSend),
            (Closed { .. }, RecvRstStream(_)) => return Ok((self, Ignore)),
            (Closed { .. }, SendRstStream(_)) => self,
            (_, RecvRstStream(code)) => closed(PeerReset(code)),
            (_, SendRstStream(code)) => closed(LocalReset(code)),

            // PUSH_PROMISE reserves an idle stream, and only an idle one.
            (Idle, RecvPushPromise) => ReservedRemote,
            (Idle, SendPushPromise) => ReservedLocal,
            (_, RecvPushPromise) => return Err(E::PushPromise),
            (_, SendPushPromise) => return Err(E::InvalidSend),

            // idle
            (Idle, RecvHeaders { end_stream }) => end(end_stream, HalfClosedRemote, Open),
            (Idle, SendHeaders { end_stream }) => end(end_stream, HalfClosedLocal, Open),
            (Idle, RecvData { .. } | RecvWindowUpdate) => return Err(E::FrameOnIdle),
            (Idle, SendData { .. } | SendWindowUpdate) => return Err(E::InvalidSend),

            // reserved (local)
            (ReservedLocal, SendHeaders { end_stream }) => {
                end(end_stream, closed(EndStream), HalfClosedRemote)
            }
            (ReservedLocal, RecvWindowUpdate) => self,
            (ReservedLocal, RecvHeaders { .. } | RecvData { .. }) => {
                return Err(E::FrameOnReserved)
            }
            (ReservedLocal, SendData { .. } | SendWindowUpdate) => return Err(E::InvalidSend),

            // reserved (remote)
            (ReservedRemote, RecvHeaders { end_stream }) => {
                end(end_stream, closed(EndStream), HalfClosedLocal)
            }
            (ReservedRemote, SendWindowUpdate) => self,
            (ReservedRemote, RecvData { .. } | RecvWindowUpdate) => return Err(E::FrameOnReserved),
            (ReservedRemote, SendHeaders { .. } | SendData { .. }) => return Err(E::InvalidSend),

            // open
            (Open, RecvHeaders { end_stream: false }) => return Err(E::TrailersWithoutEndStream),
            (Open, RecvHeaders { end_stream } | RecvData { end_stream }) => {
                end(end_stream, HalfClosedRemote, Open)
            }
            (Open, SendHeaders { end_stream } | SendData { end_stream }) => {
                end(end_stream, HalfClosedLocal, Open)
            }
            (Open, RecvWindowUpdate | SendWindowUpdate) => self,

            // half-closed (local): we sent END_STREAM, the peer may send anything.
            (HalfClosedLocal, RecvHeaders { end_stream: false }) => {
                return Err(E::TrailersWithoutEndStream)
            }
            (HalfClosedLocal, RecvHeaders { end_stream } | RecvData { end_stream }) => {
                end(end_stream, closed(EndStream), HalfClosedLocal)
            }
            (HalfClosedLocal, RecvWindowUpdate | SendWindowUpdate) => self,
            (HalfClosedLocal, SendHeaders { .. } | SendData { .. }) => return Err(E::InvalidSend),

            // half-closed (remote): the peer sent END_STREAM, we may send anything.
            (HalfClosedRemote, RecvHeaders { .. } | RecvData { .. }) => return Err(E::HalfClosed),
            (HalfClosedRemote, RecvWindowUpdate | SendWindowUpdate) => self,
            (HalfClosedRemote, SendHeaders { end_stream } | SendData { end_stream }) => {
                end(end_stream, closed(EndStream), HalfClosedRemote)
            }

            // closed
            (Closed { reason }, RecvHeaders { .. } | RecvData { .. }) => {
                return match reason {
                    EndStream => Err(E::ClosedAfterEndStream),
                    PeerReset(_) => Err(E::ClosedAfterReset),
                    LocalReset(_) => Ok((self, Ignore)),
                }
            }
            (Closed { reason }, RecvWindowUpdate) => {
                return match reason {
                    PeerReset(_) => Err(E::ClosedAfterReset),
                    EndStream | LocalReset(_) => Ok((self, Ignore)),
                }
            }
            (Closed { .. }, SendHeaders { .. } | SendData { .. } | SendWindowUpdate) => {
                return Err(E::InvalidSend)
            }
        };
        Ok((next, Process))
    }

    /// Whether the peer may still send DATA (open or half-closed (local)).
    const fn can_recv_data(self) -> bool {
        matches!(self, State::Open | State::HalfClosedLocal)
    }

    /// Whether we may still send DATA (open or half-closed (remote)).
    #[cfg(test)]
    const fn can_send_data(self) -> bool {
        matches!(self, State::Open | State::HalfClosedRemote)
    }
}

/// What is wrong. [`StreamError::code`] and [`StreamError::scope`] give the answer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamErrorKind {
    /// DATA, RST_STREAM or WINDOW_UPDATE on an idle stream (§5.1). Connection error
    /// PROTOCOL_ERROR.
    FrameOnIdle,
    /// A frame the reserved states do not allow (§5.1). Connection error PROTOCOL_ERROR.
    FrameOnReserved,
    /// A PUSH_PROMISE sent to a server (§8.4), or one promising a stream that is not idle
    /// (§6.6). Connection error PROTOCOL_ERROR.
    PushPromise,
    /// HEADERS from the client on an even (server) stream identifier (§5.1.1). Connection
    /// error PROTOCOL_ERROR.
    NotClientStreamId,
    /// HEADERS opening a stream whose identifier is not above every identifier the client
    /// used before (§5.1.1; the stream was implicitly closed, or closed and forgotten).
    /// Connection error PROTOCOL_ERROR.
    StreamIdNotIncreasing,
    /// A second HEADERS (trailers) without END_STREAM: a malformed request (§8.1). Stream
    /// error PROTOCOL_ERROR.
    TrailersWithoutEndStream,
    /// DATA or HEADERS after the peer's END_STREAM, on a half-closed (remote) stream (§5.1).
    /// Stream error STREAM_CLOSED.
    HalfClosed,
    /// DATA or HEADERS on a stream closed by END_STREAM both ways (§5.1, "closed").
    /// Connection error STREAM_CLOSED.
    ClosedAfterEndStream,
    /// A frame other than PRIORITY or RST_STREAM after the peer reset the stream (§5.1,
    /// "closed"). Stream error STREAM_CLOSED.
    ClosedAfterReset,
    /// DATA on a closed stream that is not remembered: implicitly closed (§5.1.1) or pushed
    /// out of the memory of closed streams. Stream error STREAM_CLOSED (the answer h2
    /// gives); the stream is then remembered as reset, so its further frames are ignored.
    ClosedStream,
    /// A new stream beyond SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2). Stream error
    /// REFUSED_STREAM: nothing was processed, the client may retry.
    Refused,
    /// DATA beyond the stream's receive window (§6.9.1). Stream error FLOW_CONTROL_ERROR
    /// (as h2; Kestrel makes it a connection error, which the RFC also allows). The
    /// connection window is the driver's, and exceeding it is a connection error.
    WindowExceeded,
    /// A WINDOW_UPDATE that takes the stream's send window past 2^31-1 (§6.9.1). Stream
    /// error FLOW_CONTROL_ERROR.
    WindowOverflow,
    /// A SETTINGS_INITIAL_WINDOW_SIZE change that takes a stream's send window past 2^31-1
    /// (§6.9.2). Connection error FLOW_CONTROL_ERROR.
    InitialWindowOverflow,
    /// We were about to send a frame the stream's state does not allow, or DATA beyond the
    /// send window: a bug of the caller, who must not send it. Nothing changed. Stream error
    /// INTERNAL_ERROR, should the caller reset the stream.
    InvalidSend,
}

impl StreamErrorKind {
    /// The error code to send.
    const fn code(self) -> ErrorCode {
        use StreamErrorKind as E;
        match self {
            E::FrameOnIdle
            | E::FrameOnReserved
            | E::PushPromise
            | E::NotClientStreamId
            | E::StreamIdNotIncreasing
            | E::TrailersWithoutEndStream => ErrorCode::ProtocolError,
            E::HalfClosed | E::ClosedAfterEndStream | E::ClosedAfterReset | E::ClosedStream => {
                ErrorCode::StreamClosed
            }
            E::Refused => ErrorCode::RefusedStream,
            E::WindowExceeded | E::WindowOverflow | E::InitialWindowOverflow => {
                ErrorCode::FlowControlError
            }
            E::InvalidSend => ErrorCode::InternalError,
        }
    }

    /// Whether the error ends the connection.
    const fn is_connection_error(self) -> bool {
        use StreamErrorKind as E;
        matches!(
            self,
            E::FrameOnIdle
                | E::FrameOnReserved
                | E::PushPromise
                | E::NotClientStreamId
                | E::StreamIdNotIncreasing
                | E::ClosedAfterEndStream
                | E::InitialWindowOverflow
        )
    }
}

/// A frame that the stream states do not allow: what is wrong, and on which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamError {
    kind: StreamErrorKind,
    stream_id: StreamId,
}

impl StreamError {
    pub(crate) const fn new(kind: StreamErrorKind, stream_id: StreamId) -> StreamError {
        StreamError { kind, stream_id }
    }

    /// What is wrong.
    pub(crate) const fn kind(&self) -> StreamErrorKind {
        self.kind
    }

    /// The stream of the offending frame.
    pub(crate) const fn stream_id(&self) -> StreamId {
        self.stream_id
    }

    /// The error code to send in GOAWAY or RST_STREAM.
    pub(crate) const fn code(&self) -> ErrorCode {
        self.kind.code()
    }

    /// A connection error (GOAWAY), or a stream error (RST_STREAM on this stream). Stream 0
    /// cannot be reset, so an error on it is always a connection error.
    pub(crate) const fn scope(&self) -> ErrorScope {
        if self.kind.is_connection_error() || self.stream_id.is_zero() {
            ErrorScope::Connection
        } else {
            ErrorScope::Stream(self.stream_id)
        }
    }

    /// Whether this is a connection error.
    pub(crate) const fn is_connection_error(&self) -> bool {
        matches!(self.scope(), ErrorScope::Connection)
    }
}

impl StreamErrorKind {
    /// A fixed text saying what is wrong (GOAWAY's debug data, logs).
    pub(crate) fn reason(self) -> &'static str {
        use StreamErrorKind as E;
        match self {
            E::FrameOnIdle => "frame other than HEADERS or PRIORITY on an idle stream",
            E::FrameOnReserved => "frame not allowed on a reserved stream",
            E::PushPromise => "unexpected PUSH_PROMISE",
            E::NotClientStreamId => "client opened a stream with an even identifier",
            E::StreamIdNotIncreasing => "new stream identifier not above the previous ones",
            E::TrailersWithoutEndStream => "trailers without END_STREAM",
            E::HalfClosed => "frame after END_STREAM",
            E::ClosedAfterEndStream => "frame on a stream closed by END_STREAM",
            E::ClosedAfterReset => "frame on a stream after RST_STREAM",
            E::ClosedStream => "frame on a closed stream",
            E::Refused => "too many concurrent streams",
            E::WindowExceeded => "DATA beyond the stream's flow-control window",
            E::WindowOverflow => "WINDOW_UPDATE takes the window above 2^31-1",
            E::InitialWindowOverflow => "SETTINGS_INITIAL_WINDOW_SIZE takes a window above 2^31-1",
            E::InvalidSend => "frame not allowed to be sent in the stream's state",
        }
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (stream {})", self.kind.reason(), self.stream_id)
    }
}

impl std::error::Error for StreamError {}

/// One stream that is open or half-closed: its state and windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stream {
    state: State,
    /// How much DATA we may send; starts at the peer's SETTINGS_INITIAL_WINDOW_SIZE.
    send_window: Window,
    /// How much DATA the peer may send; starts at ours.
    recv_window: RecvWindow,
}

impl Stream {
    /// How much DATA we may send on this stream (the connection window limits it too).
    pub(crate) const fn send_window(&self) -> Window {
        self.send_window
    }

    /// The stream's receive window.
    #[cfg(test)]
    pub(crate) const fn recv_window(&self) -> &RecvWindow {
        &self.recv_window
    }

    /// Whether the peer has ended its side (END_STREAM): the request body is complete.
    pub(crate) const fn is_recv_closed(&self) -> bool {
        !self.state.can_recv_data()
    }

    /// Whether we have ended our side: the response is complete.
    #[cfg(test)]
    pub(crate) const fn is_send_closed(&self) -> bool {
        !self.state.can_send_data()
    }
}

/// Where a stream identifier stands.
enum Lookup {
    /// Open or half-closed.
    Active,
    /// Closed and remembered.
    Closed(CloseReason),
    /// A client identifier at or below the highest used one that is neither: closed
    /// implicitly (§5.1.1) or closed and forgotten.
    Forgotten,
    /// Never used: a client identifier above the highest, or any server identifier (we do
    /// not push, so every even stream is idle).
    Idle,
}

/// The streams of one server connection.
///
/// Stream identifiers (RFC 9113 §5.1.1): the client opens streams with HEADERS on odd,
/// increasing identifiers. Identifiers at or below the highest one used are never idle
/// again: the ones that are not open are closed, either remembered (answered by their
/// [`CloseReason`]) or forgotten. For a forgotten one, HEADERS is a connection error
/// PROTOCOL_ERROR (a reused identifier), DATA a stream error STREAM_CLOSED, and
/// WINDOW_UPDATE, RST_STREAM, PRIORITY are ignored (they may be late after our END_STREAM).
///
/// Error handling: when a `recv_*` method returns a stream error, the stream is already
/// closed here as reset by us with that code, and the caller sends RST_STREAM. On a
/// connection error the caller sends GOAWAY (with [`highest_client_id`]) and closes; this
/// table no longer matters. `send_*` errors are the caller's bugs and change nothing.
///
/// [`highest_client_id`]: Streams::highest_client_id
#[derive(Debug, Clone)]
pub(crate) struct Streams {
    limits: StreamLimits,
    /// Open and half-closed streams; all count against the concurrency limit (§5.1.2).
    active: HashMap<StreamId, Stream>,
    /// Recently closed streams, oldest first, at most `limits.closed_streams_remembered`.
    closed: VecDeque<(StreamId, CloseReason)>,
    /// The highest stream identifier the client has opened (0 before the first).
    highest_client_id: StreamId,
    /// The peer's SETTINGS_INITIAL_WINDOW_SIZE: the send window of new streams.
    peer_initial_window_size: u32,
}

impl Streams {
    /// No streams yet; the peer's initial window size is the RFC's 65,535 until its
    /// SETTINGS say otherwise.
    pub(crate) fn new(limits: StreamLimits) -> Streams {
        Streams {
            limits,
            active: HashMap::new(),
            closed: VecDeque::new(),
            highest_client_id: StreamId::ZERO,
            peer_initial_window_size: DEFAULT_INITIAL_WINDOW_SIZE,
        }
    }

    /// The highest stream identifier the client has used, for GOAWAY's Last-Stream-ID.
    pub(crate) const fn highest_client_id(&self) -> StreamId {
        self.highest_client_id
    }

    /// How many streams are open or half-closed.
    pub(crate) fn active_count(&self) -> usize {
        self.active.len()
    }

    /// An open or half-closed stream.
    pub(crate) fn get(&self, id: StreamId) -> Option<&Stream> {
        self.active.get(&id)
    }

    /// Why a remembered closed stream closed.
    pub(crate) fn close_reason(&self, id: StreamId) -> Option<CloseReason> {
        self.closed
            .iter()
            .rev()
            .find(|(closed, _)| *closed == id)
            .map(|&(_, reason)| reason)
    }

    /// Changes the concurrency limit, once the client has acknowledged our SETTINGS with
    /// the new SETTINGS_MAX_CONCURRENT_STREAMS. Streams already open stay open.
    #[cfg(test)]
    pub(crate) fn set_max_concurrent_streams(&mut self, max: u32) {
        self.limits.max_concurrent_streams = max;
    }

    fn lookup(&self, id: StreamId) -> Lookup {
        if self.active.contains_key(&id) {
            Lookup::Active
        } else if id.is_client_initiated() && id <= self.highest_client_id {
            match self.close_reason(id) {
                Some(reason) => Lookup::Closed(reason),
                None => Lookup::Forgotten,
            }
        } else {
            Lookup::Idle
        }
    }

    /// Records a closed stream, forgetting the oldest one when the memory is full.
    fn remember(&mut self, id: StreamId, reason: CloseReason) {
        if self.limits.closed_streams_remembered == 0 {
            return;
        }
        while self.closed.len() >= self.limits.closed_streams_remembered {
            self.closed.pop_front();
        }
        self.closed.push_back((id, reason));
    }

    /// Applies `event` to an active stream, then `window` (a flow-control step that may
    /// fail) to it; commits both, or neither. Closes the stream (and remembers it) when the
    /// new state is closed, or, on a stream error, as reset by us.
    fn step(
        &mut self,
        id: StreamId,
        event: Event,
        window: impl FnOnce(&mut Stream) -> Result<(), StreamErrorKind>,
    ) -> Result<Handling, StreamError> {
        let Some(stream) = self.active.get_mut(&id) else {
            return Err(StreamError::new(StreamErrorKind::InvalidSend, id));
        };
        let result = stream.state.on(event).and_then(|(next, handling)| {
            window(stream)?;
            stream.state = next;
            Ok((next, handling))
        });
        match result {
            Ok((State::Closed { reason }, handling)) => {
                self.active.remove(&id);
                self.remember(id, reason);
                Ok(handling)
            }
            Ok((_, handling)) => Ok(handling),
            Err(kind) => Err(self.fail(id, kind)),
        }
    }

    /// The error for `kind` on `id`; a stream error on a received frame closes an active
    /// stream as reset by us (the caller sends the RST_STREAM).
    fn fail(&mut self, id: StreamId, kind: StreamErrorKind) -> StreamError {
        let err = StreamError::new(kind, id);
        if !err.is_connection_error()
            && kind != StreamErrorKind::InvalidSend
            && self.active.remove(&id).is_some()
        {
            self.remember(id, CloseReason::LocalReset(err.code()));
        }
        err
    }

    /// The answer for a frame on a remembered closed stream.
    fn on_closed(id: StreamId, reason: CloseReason, event: Event) -> Result<Handling, StreamError> {
        State::Closed { reason }
            .on(event)
            .map(|(_, handling)| handling)
            .map_err(|kind| StreamError::new(kind, id))
    }

    /// A HEADERS frame (its whole header block) received on `id`: opens a stream, or is the
    /// request's trailers.
    ///
    /// A new stream beyond the concurrency limit is refused: stream error REFUSED_STREAM;
    /// the identifier counts as used and the stream as reset by us, so its DATA in flight
    /// is ignored.
    pub(crate) fn recv_headers(
        &mut self,
        id: StreamId,
        end_stream: bool,
    ) -> Result<Handling, StreamError> {
        let event = Event::RecvHeaders { end_stream };
        match self.lookup(id) {
            Lookup::Active => self.step(id, event, |_| Ok(())),
            Lookup::Closed(reason) => Self::on_closed(id, reason, event),
            Lookup::Forgotten => Err(StreamError::new(StreamErrorKind::StreamIdNotIncreasing, id)),
            Lookup::Idle if !id.is_client_initiated() => {
                Err(StreamError::new(StreamErrorKind::NotClientStreamId, id))
            }
            Lookup::Idle => {
                self.highest_client_id = id;
                let max = usize::try_from(self.limits.max_concurrent_streams).unwrap_or(usize::MAX);
                if self.active.len() >= max {
                    let err = StreamError::new(StreamErrorKind::Refused, id);
                    self.remember(id, CloseReason::LocalReset(err.code()));
                    return Err(err);
                }
                let (state, handling) = State::Idle
                    .on(event)
                    .map_err(|kind| StreamError::new(kind, id))?;
                let initial = self.limits.initial_stream_window_size;
                self.active.insert(
                    id,
                    Stream {
                        state,
                        send_window: Window::new(self.peer_initial_window_size),
                        recv_window: RecvWindow::new(initial, initial),
                    },
                );
                Ok(handling)
            }
        }
    }

    /// A DATA frame of `len` payload octets (padding included) received on `id`. Takes
    /// `len` out of the stream's receive window; the driver has already taken it out of the
    /// connection's.
    pub(crate) fn recv_data(
        &mut self,
        id: StreamId,
        len: u32,
        end_stream: bool,
    ) -> Result<Handling, StreamError> {
        let event = Event::RecvData { end_stream };
        match self.lookup(id) {
            Lookup::Active => self.step(id, event, |stream| {
                stream
                    .recv_window
                    .recv(len)
                    .map_err(|_| StreamErrorKind::WindowExceeded)
            }),
            Lookup::Closed(reason) => Self::on_closed(id, reason, event),
            Lookup::Forgotten => {
                let err = StreamError::new(StreamErrorKind::ClosedStream, id);
                self.remember(id, CloseReason::LocalReset(err.code()));
                Err(err)
            }
            Lookup::Idle => Err(StreamError::new(StreamErrorKind::FrameOnIdle, id)),
        }
    }

    /// A PRIORITY frame on `id`: allowed on every stream, idle ones included, and it opens
    /// none (RFC 9113 deprecates the priority scheme; the driver may drop it).
    pub(crate) fn recv_priority(&mut self, id: StreamId) -> Result<Handling, StreamError> {
        match self.lookup(id) {
            Lookup::Active => self.step(id, Event::RecvPriority, |_| Ok(())),
            _ => Ok(Handling::Process),
        }
    }

    /// A RST_STREAM frame on `id`: closes the stream. On a closed stream it is ignored.
    pub(crate) fn recv_rst_stream(
        &mut self,
        id: StreamId,
        code: ErrorCode,
    ) -> Result<Handling, StreamError> {
        let event = Event::RecvRstStream(code);
        match self.lookup(id) {
            Lookup::Active => self.step(id, event, |_| Ok(())),
            Lookup::Closed(reason) => Self::on_closed(id, reason, event),
            Lookup::Forgotten => Ok(Handling::Ignore),
            Lookup::Idle => Err(StreamError::new(StreamErrorKind::FrameOnIdle, id)),
        }
    }

    /// A WINDOW_UPDATE frame on `id` (not 0: the connection window is the driver's):
    /// grows the stream's send window by `increment`.
    pub(crate) fn recv_window_update(
        &mut self,
        id: StreamId,
        increment: u32,
    ) -> Result<Handling, StreamError> {
        let event = Event::RecvWindowUpdate;
        match self.lookup(id) {
            Lookup::Active => self.step(id, event, |stream| {
                stream
                    .send_window
                    .increase(increment)
                    .map_err(|_| StreamErrorKind::WindowOverflow)
            }),
            Lookup::Closed(reason) => Self::on_closed(id, reason, event),
            Lookup::Forgotten => Ok(Handling::Ignore),
            Lookup::Idle => Err(StreamError::new(StreamErrorKind::FrameOnIdle, id)),
        }
    }

    /// A PUSH_PROMISE frame promising `promised`: a client must not push, so always a
    /// connection error PROTOCOL_ERROR (RFC 9113 §8.4).
    pub(crate) fn recv_push_promise(&mut self, promised: StreamId) -> StreamError {
        StreamError::new(StreamErrorKind::PushPromise, promised)
    }

    /// The peer's SETTINGS changed SETTINGS_INITIAL_WINDOW_SIZE to `new`: every stream's
    /// send window moves by the difference and may become negative (§6.9.2). A window that
    /// would exceed 2^31-1 is a connection error FLOW_CONTROL_ERROR; then nothing changes.
    pub(crate) fn apply_peer_initial_window_size(&mut self, new: u32) -> Result<(), StreamError> {
        let old = self.peer_initial_window_size;
        let overflow = |id| StreamError::new(StreamErrorKind::InitialWindowOverflow, id);
        if new > MAX_WINDOW_SIZE {
            return Err(overflow(StreamId::ZERO));
        }
        // Check every window before changing any.
        for (&id, stream) in &self.active {
            let mut window = stream.send_window;
            window
                .apply_initial_change(old, new)
                .map_err(|_: WindowError| overflow(id))?;
        }
        for stream in self.active.values_mut() {
            // Checked above; an error here is impossible and changes nothing.
            let _ = stream.send_window.apply_initial_change(old, new);
        }
        self.peer_initial_window_size = new;
        Ok(())
    }

    /// The application has consumed (or the driver dropped) `n` DATA octets of stream
    /// `id`. Returns the increment of a stream WINDOW_UPDATE to send now, when one is due
    /// (see `RecvWindow`). None once the peer has ended the stream: more window would be of
    /// no use (Kestrel stops stream window updates then as well). The connection window is
    /// released separately, by the driver, for every octet.
    pub(crate) fn release(&mut self, id: StreamId, n: u32) -> Option<u32> {
        let stream = self.active.get_mut(&id)?;
        if stream.is_recv_closed() {
            return None;
        }
        stream.recv_window.release(n)
    }

    /// We send a HEADERS frame (the response head, 1xx heads, or trailers) on `id`.
    pub(crate) fn send_headers(
        &mut self,
        id: StreamId,
        end_stream: bool,
    ) -> Result<(), StreamError> {
        self.step(id, Event::SendHeaders { end_stream }, |_| Ok(()))
            .map(drop)
    }

    /// We send a DATA frame of `len` octets on `id`: takes them out of the stream's send
    /// window. More than [`Stream::send_window`] allows is refused (`InvalidSend`).
    pub(crate) fn send_data(
        &mut self,
        id: StreamId,
        len: u32,
        end_stream: bool,
    ) -> Result<(), StreamError> {
        self.step(id, Event::SendData { end_stream }, |stream| {
            stream
                .send_window
                .consume(len)
                .map_err(|_| StreamErrorKind::InvalidSend)
        })
        .map(drop)
    }

    /// We send RST_STREAM with `code` on `id`: closes the stream as reset by us. Also
    /// allowed on a closed stream, to answer a late frame; its close reason stays.
    pub(crate) fn send_rst_stream(
        &mut self,
        id: StreamId,
        code: ErrorCode,
    ) -> Result<(), StreamError> {
        match self.lookup(id) {
            Lookup::Active => self
                .step(id, Event::SendRstStream(code), |_| Ok(()))
                .map(drop),
            Lookup::Closed(_) => Ok(()),
            Lookup::Forgotten => {
                self.remember(id, CloseReason::LocalReset(code));
                Ok(())
            }
            Lookup::Idle => Err(StreamError::new(StreamErrorKind::InvalidSend, id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CloseReason::{EndStream, LocalReset, PeerReset};
    use Handling::{Ignore, Process};
    use StreamErrorKind as E;

    const CANCEL: ErrorCode = ErrorCode::Cancel;

    fn id(n: u32) -> StreamId {
        StreamId::new(n)
    }

    // Short names for the tables.
    const RH: Event = Event::RecvHeaders { end_stream: false };
    const RH_ES: Event = Event::RecvHeaders { end_stream: true };
    const RD: Event = Event::RecvData { end_stream: false };
    const RD_ES: Event = Event::RecvData { end_stream: true };
    const RP: Event = Event::RecvPriority;
    const RR: Event = Event::RecvRstStream(CANCEL);
    const RW: Event = Event::RecvWindowUpdate;
    const RPP: Event = Event::RecvPushPromise;
    const SH: Event = Event::SendHeaders { end_stream: false };
    const SH_ES: Event = Event::SendHeaders { end_stream: true };
    const SD: Event = Event::SendData { end_stream: false };
    const SD_ES: Event = Event::SendData { end_stream: true };
    const SP: Event = Event::SendPriority;
    const SR: Event = Event::SendRstStream(CANCEL);
    const SW: Event = Event::SendWindowUpdate;
    const SPP: Event = Event::SendPushPromise;

    const EVENTS: [Event; 16] = [
        RH, RH_ES, RD, RD_ES, RP, RR, RW, RPP, SH, SH_ES, SD, SD_ES, SP, SR, SW, SPP,
    ];

    const IDLE: State = State::Idle;
    const RES_L: State = State::ReservedLocal;
    const RES_R: State = State::ReservedRemote;
    const OPEN: State = State::Open;
    const HC_L: State = State::HalfClosedLocal;
    const HC_R: State = State::HalfClosedRemote;
    const CL_ES: State = State::Closed { reason: EndStream };
    const CL_PEER: State = State::Closed {
        reason: PeerReset(CANCEL),
    };
    const CL_LOCAL: State = State::Closed {
        reason: LocalReset(CANCEL),
    };

    const STATES: [State; 9] = [
        IDLE, RES_L, RES_R, OPEN, HC_L, HC_R, CL_ES, CL_PEER, CL_LOCAL,
    ];

    /// Every allowed (state, event) pair: the next state and what to do with the frame.
    /// The arrows of the RFC's figure first, then the frames that keep a state.
    const LEGAL: &[(State, Event, State, Handling)] = &[
        // Figure 2's arrows.
        (IDLE, SPP, RES_L, Process),
        (IDLE, RPP, RES_R, Process),
        (IDLE, SH, OPEN, Process),
        (IDLE, RH, OPEN, Process),
        (IDLE, SH_ES, HC_L, Process), // send H + ES in one frame
        (IDLE, RH_ES, HC_R, Process), // recv H + ES in one frame
        (RES_L, SH, HC_R, Process),
        (RES_L, SH_ES, CL_ES, Process),
        (RES_L, SR, CL_LOCAL, Process),
        (RES_L, RR, CL_PEER, Process),
        (RES_R, RH, HC_L, Process),
        (RES_R, RH_ES, CL_ES, Process),
        (RES_R, SR, CL_LOCAL, Process),
        (RES_R, RR, CL_PEER, Process),
        (OPEN, RH_ES, HC_R, Process),
        (OPEN, RD_ES, HC_R, Process),
        (OPEN, SH_ES, HC_L, Process),
        (OPEN, SD_ES, HC_L, Process),
        (OPEN, SR, CL_LOCAL, Process),
        (OPEN, RR, CL_PEER, Process),
        (HC_R, SH_ES, CL_ES, Process),
        (HC_R, SD_ES, CL_ES, Process),
        (HC_R, SR, CL_LOCAL, Process),
        (HC_R, RR, CL_PEER, Process),
        (HC_L, RH_ES, CL_ES, Process),
        (HC_L, RD_ES, CL_ES, Process),
        (HC_L, SR, CL_LOCAL, Process),
        (HC_L, RR, CL_PEER, Process),
        // PRIORITY, everywhere.
        (IDLE, RP, IDLE, Process),
        (IDLE, SP, IDLE, Process),
        (RES_L, RP, RES_L, Process),
        (RES_L, SP, RES_L, Process),
        (RES_R, RP, RES_R, Process),
        (RES_R, SP, RES_R, Process),
        (OPEN, RP, OPEN, Process),
        (OPEN, SP, OPEN, Process),
        (HC_L, RP, HC_L, Process),
        (HC_L, SP, HC_L, Process),
        (HC_R, RP, HC_R, Process),
        (HC_R, SP, HC_R, Process),
        (CL_ES, RP, CL_ES, Process),
        (CL_ES, SP, CL_ES, Process),
        (CL_PEER, RP, CL_PEER, Process),
        (CL_PEER, SP, CL_PEER, Process),
        (CL_LOCAL, RP, CL_LOCAL, Process),
        (CL_LOCAL, SP, CL_LOCAL, Process),
        // Frames that keep the state.
        (RES_L, RW, RES_L, Process),
        (RES_R, SW, RES_R, Process),
        (OPEN, RD, OPEN, Process),
        (OPEN, SH, OPEN, Process), // 1xx heads
        (OPEN, SD, OPEN, Process),
        (OPEN, RW, OPEN, Process),
        (OPEN, SW, OPEN, Process),
        (HC_L, RD, HC_L, Process),
        (HC_L, RW, HC_L, Process),
        (HC_L, SW, HC_L, Process),
        (HC_R, SH, HC_R, Process),
        (HC_R, SD, HC_R, Process),
        (HC_R, RW, HC_R, Process),
        (HC_R, SW, HC_R, Process),
        // Closed: late frames that are ignored, and RST_STREAM answering a late frame.
        (CL_ES, RR, CL_ES, Ignore),
        (CL_ES, RW, CL_ES, Ignore),
        (CL_ES, SR, CL_ES, Process),
        (CL_PEER, RR, CL_PEER, Ignore),
        (CL_PEER, SR, CL_PEER, Process),
        (CL_LOCAL, RH, CL_LOCAL, Ignore),
        (CL_LOCAL, RH_ES, CL_LOCAL, Ignore),
        (CL_LOCAL, RD, CL_LOCAL, Ignore),
        (CL_LOCAL, RD_ES, CL_LOCAL, Ignore),
        (CL_LOCAL, RR, CL_LOCAL, Ignore),
        (CL_LOCAL, RW, CL_LOCAL, Ignore),
        (CL_LOCAL, SR, CL_LOCAL, Process),
    ];

    /// The scope of an error in the tables.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Scope {
        Conn,
        Stream,
    }
    use Scope::{Conn, Stream as Strm};

    const PROTOCOL: ErrorCode = ErrorCode::ProtocolError;
    const CLOSED: ErrorCode = ErrorCode::StreamClosed;
    const INTERNAL: ErrorCode = ErrorCode::InternalError;

    /// Every refused (state, event) pair, with its error code and scope.
    const ILLEGAL: &[(State, Event, StreamErrorKind, ErrorCode, Scope)] = &[
        // idle: only HEADERS, PRIORITY, PUSH_PROMISE (§5.1).
        (IDLE, RD, E::FrameOnIdle, PROTOCOL, Conn),
        (IDLE, RD_ES, E::FrameOnIdle, PROTOCOL, Conn),
        (IDLE, RR, E::FrameOnIdle, PROTOCOL, Conn),
        (IDLE, RW, E::FrameOnIdle, PROTOCOL, Conn),
        (IDLE, SD, E::InvalidSend, INTERNAL, Strm),
        (IDLE, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (IDLE, SR, E::InvalidSend, INTERNAL, Strm),
        (IDLE, SW, E::InvalidSend, INTERNAL, Strm),
        // reserved (local): receive only RST_STREAM, PRIORITY, WINDOW_UPDATE.
        (RES_L, RH, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_L, RH_ES, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_L, RD, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_L, RD_ES, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_L, RPP, E::PushPromise, PROTOCOL, Conn),
        (RES_L, SD, E::InvalidSend, INTERNAL, Strm),
        (RES_L, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (RES_L, SW, E::InvalidSend, INTERNAL, Strm),
        (RES_L, SPP, E::InvalidSend, INTERNAL, Strm),
        // reserved (remote): receive only HEADERS, RST_STREAM, PRIORITY.
        (RES_R, RD, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_R, RD_ES, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_R, RW, E::FrameOnReserved, PROTOCOL, Conn),
        (RES_R, RPP, E::PushPromise, PROTOCOL, Conn),
        (RES_R, SH, E::InvalidSend, INTERNAL, Strm),
        (RES_R, SH_ES, E::InvalidSend, INTERNAL, Strm),
        (RES_R, SD, E::InvalidSend, INTERNAL, Strm),
        (RES_R, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (RES_R, SPP, E::InvalidSend, INTERNAL, Strm),
        // open: trailers must end the stream (§8.1).
        (OPEN, RH, E::TrailersWithoutEndStream, PROTOCOL, Strm),
        (OPEN, RPP, E::PushPromise, PROTOCOL, Conn),
        (OPEN, SPP, E::InvalidSend, INTERNAL, Strm),
        // half-closed (local): we are done sending.
        (HC_L, RH, E::TrailersWithoutEndStream, PROTOCOL, Strm),
        (HC_L, RPP, E::PushPromise, PROTOCOL, Conn),
        (HC_L, SH, E::InvalidSend, INTERNAL, Strm),
        (HC_L, SH_ES, E::InvalidSend, INTERNAL, Strm),
        (HC_L, SD, E::InvalidSend, INTERNAL, Strm),
        (HC_L, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (HC_L, SPP, E::InvalidSend, INTERNAL, Strm),
        // half-closed (remote): the peer is done sending.
        (HC_R, RH, E::HalfClosed, CLOSED, Strm),
        (HC_R, RH_ES, E::HalfClosed, CLOSED, Strm),
        (HC_R, RD, E::HalfClosed, CLOSED, Strm),
        (HC_R, RD_ES, E::HalfClosed, CLOSED, Strm),
        (HC_R, RPP, E::PushPromise, PROTOCOL, Conn),
        (HC_R, SPP, E::InvalidSend, INTERNAL, Strm),
        // closed after END_STREAM both ways.
        (CL_ES, RH, E::ClosedAfterEndStream, CLOSED, Conn),
        (CL_ES, RH_ES, E::ClosedAfterEndStream, CLOSED, Conn),
        (CL_ES, RD, E::ClosedAfterEndStream, CLOSED, Conn),
        (CL_ES, RD_ES, E::ClosedAfterEndStream, CLOSED, Conn),
        (CL_ES, RPP, E::PushPromise, PROTOCOL, Conn),
        (CL_ES, SH, E::InvalidSend, INTERNAL, Strm),
        (CL_ES, SH_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_ES, SD, E::InvalidSend, INTERNAL, Strm),
        (CL_ES, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_ES, SW, E::InvalidSend, INTERNAL, Strm),
        (CL_ES, SPP, E::InvalidSend, INTERNAL, Strm),
        // closed by the peer's RST_STREAM.
        (CL_PEER, RH, E::ClosedAfterReset, CLOSED, Strm),
        (CL_PEER, RH_ES, E::ClosedAfterReset, CLOSED, Strm),
        (CL_PEER, RD, E::ClosedAfterReset, CLOSED, Strm),
        (CL_PEER, RD_ES, E::ClosedAfterReset, CLOSED, Strm),
        (CL_PEER, RW, E::ClosedAfterReset, CLOSED, Strm),
        (CL_PEER, RPP, E::PushPromise, PROTOCOL, Conn),
        (CL_PEER, SH, E::InvalidSend, INTERNAL, Strm),
        (CL_PEER, SH_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_PEER, SD, E::InvalidSend, INTERNAL, Strm),
        (CL_PEER, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_PEER, SW, E::InvalidSend, INTERNAL, Strm),
        (CL_PEER, SPP, E::InvalidSend, INTERNAL, Strm),
        // closed by our RST_STREAM: late frames are ignored, but we send nothing.
        (CL_LOCAL, RPP, E::PushPromise, PROTOCOL, Conn),
        (CL_LOCAL, SH, E::InvalidSend, INTERNAL, Strm),
        (CL_LOCAL, SH_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_LOCAL, SD, E::InvalidSend, INTERNAL, Strm),
        (CL_LOCAL, SD_ES, E::InvalidSend, INTERNAL, Strm),
        (CL_LOCAL, SW, E::InvalidSend, INTERNAL, Strm),
        (CL_LOCAL, SPP, E::InvalidSend, INTERNAL, Strm),
    ];

    fn scope_of(err: &StreamError) -> Scope {
        match err.scope() {
            ErrorScope::Connection => Conn,
            ErrorScope::Stream(s) => {
                assert_eq!(s, err.stream_id());
                Strm
            }
        }
    }

    #[test]
    fn every_legal_transition() {
        for &(from, event, to, handling) in LEGAL {
            assert_eq!(from.on(event), Ok((to, handling)), "{from:?} on {event:?}");
        }
    }

    #[test]
    fn every_illegal_transition_with_code_and_scope() {
        for &(from, event, kind, code, scope) in ILLEGAL {
            assert_eq!(from.on(event), Err(kind), "{from:?} on {event:?}");
            let err = StreamError::new(kind, id(3));
            assert_eq!(err.code(), code, "{from:?} on {event:?}");
            assert_eq!(scope_of(&err), scope, "{from:?} on {event:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn the_tables_cover_every_pair_once() {
        for state in STATES {
            for event in EVENTS {
                let legal = LEGAL
                    .iter()
                    .filter(|(s, e, ..)| (*s, *e) == (state, event))
                    .count();
                let illegal = ILLEGAL
                    .iter()
                    .filter(|(s, e, ..)| (*s, *e) == (state, event))
                    .count();
                assert_eq!(legal + illegal, 1, "{state:?} on {event:?}");
            }
        }
        assert_eq!(LEGAL.len() + ILLEGAL.len(), STATES.len() * EVENTS.len());
    }

    #[test]
    fn reset_codes_are_kept() {
        let code = ErrorCode::Unknown(0x99);
        assert_eq!(
            OPEN.on(Event::RecvRstStream(code)),
            Ok((
                State::Closed {
                    reason: PeerReset(code)
                },
                Process
            ))
        );
        assert_eq!(
            HC_R.on(Event::SendRstStream(ErrorCode::RefusedStream)),
            Ok((
                State::Closed {
                    reason: LocalReset(ErrorCode::RefusedStream)
                },
                Process
            ))
        );
    }

    #[test]
    fn stream_zero_errors_are_connection_errors() {
        let err = StreamError::new(E::HalfClosed, StreamId::ZERO);
        assert_eq!(err.scope(), ErrorScope::Connection);
        assert!(err.is_connection_error());
    }

    fn streams() -> Streams {
        Streams::new(StreamLimits::default())
    }

    fn err_of(result: Result<impl std::fmt::Debug, StreamError>) -> (ErrorCode, ErrorScope) {
        let err = result.unwrap_err();
        (err.code(), err.scope())
    }

    #[test]
    fn a_request_and_its_response() {
        let mut s = streams();
        assert_eq!(s.recv_headers(id(1), false), Ok(Process));
        assert_eq!(s.highest_client_id(), id(1));
        assert_eq!(s.active_count(), 1);
        let stream = s.get(id(1)).unwrap();
        assert!(!stream.is_recv_closed() && !stream.is_send_closed());
        assert_eq!(stream.send_window().size(), 65_535);
        assert_eq!(stream.recv_window().window().size(), 786_432);
        assert_eq!(s.recv_data(id(1), 10, false), Ok(Process));
        assert_eq!(s.recv_data(id(1), 0, true), Ok(Process));
        assert!(s.get(id(1)).unwrap().is_recv_closed());
        assert_eq!(s.send_headers(id(1), false), Ok(()));
        assert_eq!(s.send_data(id(1), 5, false), Ok(()));
        assert_eq!(s.get(id(1)).unwrap().send_window().size(), 65_530);
        assert_eq!(s.send_data(id(1), 0, true), Ok(()));
        assert_eq!(s.active_count(), 0);
        assert_eq!(s.close_reason(id(1)), Some(EndStream));
        // Late WINDOW_UPDATE and RST_STREAM are ignored; DATA is a connection error.
        assert_eq!(s.recv_window_update(id(1), 100), Ok(Ignore));
        assert_eq!(s.recv_rst_stream(id(1), CANCEL), Ok(Ignore));
        assert_eq!(s.recv_priority(id(1)), Ok(Process));
        assert_eq!(
            err_of(s.recv_data(id(1), 1, false)),
            (CLOSED, ErrorScope::Connection)
        );
        // Reusing the closed identifier for a new request: the same.
        assert_eq!(
            err_of(s.recv_headers(id(1), true)),
            (CLOSED, ErrorScope::Connection)
        );
    }

    #[test]
    fn get_request_with_end_stream_on_headers() {
        let mut s = streams();
        assert_eq!(s.recv_headers(id(1), true), Ok(Process));
        assert!(s.get(id(1)).unwrap().is_recv_closed());
        // The client is done: DATA now is a stream error STREAM_CLOSED, and the stream is
        // then reset by us, so the next late frame is ignored.
        let err = s.recv_data(id(1), 4, false).unwrap_err();
        assert_eq!(err.kind(), E::HalfClosed);
        assert_eq!(
            (err.code(), err.scope()),
            (CLOSED, ErrorScope::Stream(id(1)))
        );
        assert_eq!(s.get(id(1)), None);
        assert_eq!(s.close_reason(id(1)), Some(LocalReset(CLOSED)));
        assert_eq!(s.recv_data(id(1), 4, true), Ok(Ignore));
        // We may not respond on it any more.
        assert_eq!(
            s.send_headers(id(1), true).unwrap_err().kind(),
            E::InvalidSend
        );
    }

    #[test]
    fn trailers() {
        let mut s = streams();
        s.recv_headers(id(1), false).unwrap();
        s.recv_data(id(1), 3, false).unwrap();
        assert_eq!(s.recv_headers(id(1), true), Ok(Process));
        assert!(s.get(id(1)).unwrap().is_recv_closed());
        // Trailers without END_STREAM: stream error PROTOCOL_ERROR.
        s.recv_headers(id(3), false).unwrap();
        assert_eq!(
            err_of(s.recv_headers(id(3), false)),
            (PROTOCOL, ErrorScope::Stream(id(3)))
        );
        assert_eq!(s.close_reason(id(3)), Some(LocalReset(PROTOCOL)));
    }

    #[test]
    fn client_stream_ids_are_odd_and_increasing() {
        let mut s = streams();
        // Even identifier: connection error PROTOCOL_ERROR.
        let err = s.recv_headers(id(2), false).unwrap_err();
        assert_eq!(err.kind(), E::NotClientStreamId);
        assert_eq!(
            (err.code(), err.scope()),
            (PROTOCOL, ErrorScope::Connection)
        );
        // Stream 0 (the frame layer refuses it first) is no client stream either.
        assert_eq!(
            s.recv_headers(StreamId::ZERO, false).unwrap_err().kind(),
            E::NotClientStreamId
        );
        // Skipping identifiers is fine; the skipped ones are closed implicitly.
        s.recv_headers(id(7), false).unwrap();
        assert_eq!(s.highest_client_id(), id(7));
        let err = s.recv_headers(id(5), false).unwrap_err();
        assert_eq!(err.kind(), E::StreamIdNotIncreasing);
        assert_eq!(
            (err.code(), err.scope()),
            (PROTOCOL, ErrorScope::Connection)
        );
        // DATA on an implicitly closed stream: stream error STREAM_CLOSED, once.
        let err = s.recv_data(id(3), 1, false).unwrap_err();
        assert_eq!(err.kind(), E::ClosedStream);
        assert_eq!(
            (err.code(), err.scope()),
            (CLOSED, ErrorScope::Stream(id(3)))
        );
        assert_eq!(s.recv_data(id(3), 1, false), Ok(Ignore));
        // WINDOW_UPDATE, RST_STREAM, PRIORITY on it are ignored.
        assert_eq!(s.recv_window_update(id(5), 1), Ok(Ignore));
        assert_eq!(s.recv_rst_stream(id(5), CANCEL), Ok(Ignore));
        assert_eq!(s.recv_priority(id(5)), Ok(Process));
        // The highest stream stays open.
        assert_eq!(s.active_count(), 1);
        assert_eq!(s.recv_headers(id(9), true), Ok(Process));
        // The largest identifier.
        assert_eq!(s.recv_headers(StreamId::MAX, true), Ok(Process));
        assert_eq!(
            s.recv_headers(id(11), true).unwrap_err().kind(),
            E::StreamIdNotIncreasing
        );
    }

    #[test]
    fn frames_on_idle_streams() {
        let mut s = streams();
        for result in [
            s.recv_data(id(1), 0, false),
            s.recv_data(id(2), 0, true),
            s.recv_window_update(id(3), 1),
            s.recv_rst_stream(id(5), CANCEL),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), E::FrameOnIdle);
            assert_eq!(
                (err.code(), err.scope()),
                (PROTOCOL, ErrorScope::Connection)
            );
        }
        // PRIORITY on an idle stream is allowed and opens nothing.
        assert_eq!(s.recv_priority(id(9)), Ok(Process));
        assert_eq!(s.highest_client_id(), StreamId::ZERO);
        assert_eq!(s.recv_headers(id(3), false), Ok(Process));
        // A server never pushes: every even stream stays idle.
        assert_eq!(
            s.recv_data(id(2), 1, false).unwrap_err().kind(),
            E::FrameOnIdle
        );
        // Nor does it open streams.
        assert_eq!(
            s.send_headers(id(2), false).unwrap_err().kind(),
            E::InvalidSend
        );
        assert_eq!(
            s.send_rst_stream(id(4), CANCEL).unwrap_err().kind(),
            E::InvalidSend
        );
    }

    #[test]
    fn push_promise_from_a_client() {
        let mut s = streams();
        let err = s.recv_push_promise(id(2));
        assert_eq!(
            (err.code(), err.scope()),
            (PROTOCOL, ErrorScope::Connection)
        );
    }

    #[test]
    fn reset_by_the_peer() {
        let mut s = streams();
        s.recv_headers(id(1), false).unwrap();
        assert_eq!(s.recv_rst_stream(id(1), CANCEL), Ok(Process));
        assert_eq!(s.active_count(), 0);
        assert_eq!(s.close_reason(id(1)), Some(PeerReset(CANCEL)));
        // A frame after it: stream error STREAM_CLOSED (not a connection error).
        assert_eq!(
            err_of(s.recv_data(id(1), 1, false)),
            (CLOSED, ErrorScope::Stream(id(1)))
        );
        assert_eq!(
            err_of(s.recv_window_update(id(1), 1)),
            (CLOSED, ErrorScope::Stream(id(1)))
        );
        // Its reason stays: we answered with RST_STREAM, but it is still the peer's reset.
        assert_eq!(s.send_rst_stream(id(1), CLOSED), Ok(()));
        assert_eq!(s.close_reason(id(1)), Some(PeerReset(CANCEL)));
        // Another RST_STREAM is ignored, never answered.
        assert_eq!(s.recv_rst_stream(id(1), CANCEL), Ok(Ignore));
    }

    #[test]
    fn reset_by_us_ignores_frames_in_flight() {
        let mut s = streams();
        s.recv_headers(id(1), false).unwrap();
        s.send_headers(id(1), false).unwrap();
        assert_eq!(s.send_rst_stream(id(1), CANCEL), Ok(()));
        assert_eq!(s.active_count(), 0);
        assert_eq!(s.recv_data(id(1), 100, false), Ok(Ignore));
        assert_eq!(s.recv_headers(id(1), true), Ok(Ignore));
        assert_eq!(s.recv_window_update(id(1), 100), Ok(Ignore));
        assert_eq!(s.recv_rst_stream(id(1), CANCEL), Ok(Ignore));
        assert_eq!(
            s.send_data(id(1), 1, false).unwrap_err().kind(),
            E::InvalidSend
        );
        // Resetting a forgotten stream (to answer a late frame) remembers it.
        s.recv_headers(id(5), true).unwrap();
        assert_eq!(s.send_rst_stream(id(3), CANCEL), Ok(()));
        assert_eq!(s.close_reason(id(3)), Some(LocalReset(CANCEL)));
    }

    #[test]
    fn concurrency_limit_refuses_streams() {
        let mut s = Streams::new(StreamLimits {
            max_concurrent_streams: 2,
            ..StreamLimits::default()
        });
        s.recv_headers(id(1), false).unwrap();
        s.recv_headers(id(3), true).unwrap(); // half-closed (remote) counts too
        assert_eq!(s.active_count(), 2);
        let err = s.recv_headers(id(5), false).unwrap_err();
        assert_eq!(err.kind(), E::Refused);
        assert_eq!(
            (err.code(), err.scope()),
            (ErrorCode::RefusedStream, ErrorScope::Stream(id(5)))
        );
        // The identifier is used; the stream's DATA in flight is ignored.
        assert_eq!(s.highest_client_id(), id(5));
        assert_eq!(
            s.close_reason(id(5)),
            Some(LocalReset(ErrorCode::RefusedStream))
        );
        assert_eq!(s.recv_data(id(5), 10, true), Ok(Ignore));
        assert_eq!(s.active_count(), 2);
        // A stream that closes makes room.
        s.send_headers(id(3), true).unwrap();
        assert_eq!(s.active_count(), 1);
        assert_eq!(s.recv_headers(id(7), false), Ok(Process));
        // A reset stream makes room as well.
        s.recv_rst_stream(id(1), CANCEL).unwrap();
        assert_eq!(s.recv_headers(id(9), false), Ok(Process));
        assert_eq!(
            s.recv_headers(id(11), false).unwrap_err().kind(),
            E::Refused
        );
        // A lower limit (once acknowledged) refuses more; open streams stay.
        s.set_max_concurrent_streams(0);
        assert_eq!(s.recv_headers(id(13), true).unwrap_err().kind(), E::Refused);
        assert_eq!(s.active_count(), 2);
    }

    #[test]
    fn default_limit_is_100() {
        let mut s = streams();
        for n in 0..100 {
            assert_eq!(s.recv_headers(id(2 * n + 1), false), Ok(Process));
        }
        assert_eq!(s.active_count(), 100);
        assert_eq!(
            err_of(s.recv_headers(id(201), false)),
            (ErrorCode::RefusedStream, ErrorScope::Stream(id(201)))
        );
    }

    #[test]
    fn closed_memory_is_bounded() {
        // The documented cost: 16 octets per remembered stream.
        assert!(std::mem::size_of::<(StreamId, CloseReason)>() <= 16);
        let mut s = Streams::new(StreamLimits {
            closed_streams_remembered: 3,
            ..StreamLimits::default()
        });
        for n in [1, 3, 5, 7] {
            s.recv_headers(id(n), false).unwrap();
            s.send_rst_stream(id(n), CANCEL).unwrap();
        }
        assert_eq!(s.closed.len(), 3);
        // Stream 1 is forgotten: its late DATA is a stream error, not ignored.
        assert_eq!(s.close_reason(id(1)), None);
        assert_eq!(
            s.recv_data(id(1), 1, false).unwrap_err().kind(),
            E::ClosedStream
        );
        // ...and then remembered, pushing out stream 3.
        assert_eq!(s.close_reason(id(3)), None);
        assert_eq!(s.recv_data(id(1), 1, false), Ok(Ignore));
        assert_eq!(s.recv_data(id(7), 1, false), Ok(Ignore));
        assert_eq!(s.closed.len(), 3);
        // Without memory, every closed stream is forgotten at once.
        let mut s = Streams::new(StreamLimits {
            closed_streams_remembered: 0,
            ..StreamLimits::default()
        });
        s.recv_headers(id(1), true).unwrap();
        s.send_headers(id(1), true).unwrap();
        assert!(s.closed.is_empty());
        assert_eq!(
            s.recv_data(id(1), 1, false).unwrap_err().kind(),
            E::ClosedStream
        );
        assert_eq!(
            s.recv_headers(id(1), false).unwrap_err().kind(),
            E::StreamIdNotIncreasing
        );
    }

    #[test]
    fn data_beyond_the_stream_window() {
        let mut s = Streams::new(StreamLimits {
            initial_stream_window_size: 100,
            ..StreamLimits::default()
        });
        s.recv_headers(id(1), false).unwrap();
        assert_eq!(s.recv_data(id(1), 60, false), Ok(Process));
        let err = s.recv_data(id(1), 41, false).unwrap_err();
        assert_eq!(err.kind(), E::WindowExceeded);
        assert_eq!(
            (err.code(), err.scope()),
            (ErrorCode::FlowControlError, ErrorScope::Stream(id(1)))
        );
        assert_eq!(
            s.close_reason(id(1)),
            Some(LocalReset(ErrorCode::FlowControlError))
        );
        // Exactly the window, with END_STREAM, is fine; and an empty frame always is.
        s.recv_headers(id(3), false).unwrap();
        s.recv_data(id(3), 100, false).unwrap();
        assert_eq!(s.recv_data(id(3), 0, true), Ok(Process));
        // A window error does not change the state: END_STREAM on the refused frame is not
        // taken (the stream is reset instead).
        s.recv_headers(id(5), false).unwrap();
        assert!(s.recv_data(id(5), 101, true).is_err());
        assert_eq!(s.get(id(5)), None);
    }

    #[test]
    fn stream_window_updates() {
        let mut s = Streams::new(StreamLimits {
            initial_stream_window_size: 100,
            ..StreamLimits::default()
        });
        s.recv_headers(id(1), false).unwrap();
        s.recv_data(id(1), 100, false).unwrap();
        assert_eq!(s.release(id(1), 50), None);
        assert_eq!(s.release(id(1), 1), Some(51));
        assert_eq!(s.get(id(1)).unwrap().recv_window().window().size(), 51);
        // Once the client has ended the stream, no more stream WINDOW_UPDATE.
        s.recv_data(id(1), 0, true).unwrap();
        assert_eq!(s.release(id(1), 49), None);
        // Unknown streams: nothing.
        assert_eq!(s.release(id(99), 1), None);
    }

    #[test]
    fn send_window_and_window_update_overflow() {
        let mut s = streams();
        s.recv_headers(id(1), true).unwrap();
        // DATA beyond the send window is our bug; nothing changes.
        assert_eq!(
            s.send_data(id(1), 65_536, false).unwrap_err().kind(),
            E::InvalidSend
        );
        s.send_data(id(1), 65_535, false).unwrap();
        assert_eq!(s.get(id(1)).unwrap().send_window().available(), 0);
        // A WINDOW_UPDATE up to 2^31-1 is fine; one octet more overflows: stream error
        // FLOW_CONTROL_ERROR.
        assert_eq!(s.recv_window_update(id(1), MAX_WINDOW_SIZE), Ok(Process));
        assert_eq!(s.get(id(1)).unwrap().send_window().size(), i32::MAX);
        let err = s.recv_window_update(id(1), 1).unwrap_err();
        assert_eq!(err.kind(), E::WindowOverflow);
        assert_eq!(
            (err.code(), err.scope()),
            (ErrorCode::FlowControlError, ErrorScope::Stream(id(1)))
        );
        assert_eq!(
            s.close_reason(id(1)),
            Some(LocalReset(ErrorCode::FlowControlError))
        );
        // An empty final DATA frame in an empty window.
        s.recv_headers(id(3), true).unwrap();
        s.send_data(id(3), 65_535, false).unwrap();
        assert_eq!(s.send_data(id(3), 0, true), Ok(()));
        assert_eq!(s.close_reason(id(3)), Some(EndStream));
    }

    #[test]
    fn peer_initial_window_size_changes() {
        let mut s = streams();
        s.recv_headers(id(1), true).unwrap();
        s.recv_headers(id(3), true).unwrap();
        s.send_data(id(1), 60_000, false).unwrap();
        // Lowered: stream 1's window goes negative (§6.9.2).
        s.apply_peer_initial_window_size(16_384).unwrap();
        assert_eq!(s.get(id(1)).unwrap().send_window().size(), 16_384 - 60_000);
        assert_eq!(s.get(id(1)).unwrap().send_window().available(), 0);
        assert_eq!(s.get(id(3)).unwrap().send_window().size(), 16_384);
        // New streams start at the new size.
        s.recv_headers(id(5), true).unwrap();
        assert_eq!(s.get(id(5)).unwrap().send_window().size(), 16_384);
        // Raised to the maximum: stream 3 and 5 are at 2^31-1, stream 1 below.
        s.apply_peer_initial_window_size(MAX_WINDOW_SIZE).unwrap();
        assert_eq!(s.get(id(3)).unwrap().send_window().size(), i32::MAX);
        assert_eq!(
            s.get(id(1)).unwrap().send_window().size(),
            i32::MAX - 60_000
        );
        // A WINDOW_UPDATE that would overflow stream 3 is a stream error.
        assert_eq!(
            s.recv_window_update(id(3), 1).unwrap_err().kind(),
            E::WindowOverflow
        );
        // A SETTINGS change that would overflow any stream is a connection error, and
        // changes nothing.
        s.recv_headers(id(7), true).unwrap();
        s.apply_peer_initial_window_size(16_384).unwrap();
        s.recv_window_update(id(7), 10).unwrap();
        let err = s
            .apply_peer_initial_window_size(MAX_WINDOW_SIZE)
            .unwrap_err();
        assert_eq!(err.kind(), E::InitialWindowOverflow);
        assert_eq!(
            (err.code(), err.scope()),
            (ErrorCode::FlowControlError, ErrorScope::Connection)
        );
        assert_eq!(err.stream_id(), id(7));
        assert_eq!(s.get(id(7)).unwrap().send_window().size(), 16_394);
        assert_eq!(s.get(id(5)).unwrap().send_window().size(), 16_384);
        // Above 2^31-1 (refused by the frame layer already): a connection error too.
        assert!(s
            .apply_peer_initial_window_size(MAX_WINDOW_SIZE + 1)
            .unwrap_err()
            .is_connection_error());
        // With no streams, any legal value is taken.
        let mut s = streams();
        s.apply_peer_initial_window_size(0).unwrap();
        s.recv_headers(id(1), true).unwrap();
        assert_eq!(s.get(id(1)).unwrap().send_window().size(), 0);
        assert_eq!(s.send_data(id(1), 0, true), Ok(()));
    }

    #[test]
    fn no_panics_on_arbitrary_frames() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let codes = [CANCEL, ErrorCode::NoError, ErrorCode::Unknown(77)];
        for round in 0..200 {
            let mut s = Streams::new(StreamLimits {
                max_concurrent_streams: (round % 5) as u32,
                closed_streams_remembered: (round % 7) as usize,
                initial_stream_window_size: (next() % 200) as u32,
            });
            for _ in 0..300 {
                let id = StreamId::new((next() % 24) as u32);
                let n = if next() % 10 == 0 {
                    next() as u32
                } else {
                    (next() % 120) as u32
                };
                let es = next() % 2 == 0;
                let code = codes[(next() % 3) as usize];
                let _ = match next() % 11 {
                    0 => s.recv_headers(id, es).map(drop),
                    1 => s.recv_data(id, n, es).map(drop),
                    2 => s.recv_priority(id).map(drop),
                    3 => s.recv_rst_stream(id, code).map(drop),
                    4 => s.recv_window_update(id, n).map(drop),
                    5 => s.send_headers(id, es),
                    6 => s.send_data(id, n, es),
                    7 => s.send_rst_stream(id, code),
                    8 => s.apply_peer_initial_window_size(n),
                    9 => Err(s.recv_push_promise(id)),
                    _ => {
                        s.release(id, n);
                        Ok(())
                    }
                };
                assert!(s.active_count() <= s.limits.max_concurrent_streams as usize);
                assert!(s.closed.len() <= s.limits.closed_streams_remembered);
                assert!(s
                    .active
                    .values()
                    .all(|st| !matches!(st.state, State::Idle | State::Closed { .. })));
            }
        }
    }
}

//! HTTP/2 frames (RFC 9113 §4 and §6), sans-I/O.
//!
//! Every frame starts with a 9-octet header ([`FrameHeader`]): a 24-bit payload length, the
//! type, the flags, one reserved bit and a 31-bit stream identifier ([`StreamId`]). One file
//! per frame type holds its struct with `load` (validated: a frame that loads is well formed
//! per RFC 9113 §6) and `encode`; [`Frame`] is the enum over all of them.
//!
//! * [`decode_frame`] works on partial input: it returns `Ok(None)` until a whole frame is
//!   buffered, so the connection driver can feed bytes as they arrive. A frame longer than
//!   the limit is refused as soon as its header is in, before its payload is buffered.
//! * [`decode_frame_bytes`] does the same on a `BytesMut` without copying the payload.
//! * [`encode_headers`] and [`encode_data`] split a header block (HEADERS + CONTINUATION)
//!   or a body (DATA) by the peer's SETTINGS_MAX_FRAME_SIZE; the other frames a server sends
//!   are built with their type's constructor and [`Frame::encode`] or the type's `encode`.
//!
//! What this layer does not know: stream states (a DATA frame on an idle stream, a
//! CONTINUATION that follows nothing, a PUSH_PROMISE sent to a server, flow-control windows).
//! Those are the connection driver's checks. Errors ([`FrameError`]) say which error code to
//! send and whether it is a connection error (GOAWAY) or a stream error (RST_STREAM); the
//! driver maps them in one place.
//!
//! Unknown frame types load as [`Frame::Unknown`] and must be ignored (RFC 9113 §4.1, §5.5);
//! unknown flags are dropped. DoS note: ignoring costs little, but a peer can still send an
//! endless run of unknown or empty frames; counting them is the driver's job.

mod continuation;
mod data;
mod goaway;
mod headers;
mod ping;
mod priority;
mod push_promise;
mod rst_stream;
mod settings;
mod window_update;

use bytes::{Bytes, BytesMut};

// The connection driver (to come) is the user of these re-exports.
#[allow(unused_imports)]
pub(crate) use continuation::Continuation;
#[allow(unused_imports)]
pub(crate) use data::{encode_data, Data};
#[allow(unused_imports)]
pub(crate) use goaway::GoAway;
#[allow(unused_imports)]
pub(crate) use headers::{encode_headers, Headers};
#[allow(unused_imports)]
pub(crate) use ping::Ping;
#[allow(unused_imports)]
pub(crate) use priority::{Priority, StreamDependency};
#[allow(unused_imports)]
pub(crate) use push_promise::PushPromise;
#[allow(unused_imports)]
pub(crate) use rst_stream::RstStream;
#[allow(unused_imports)]
pub(crate) use settings::Settings;
#[allow(unused_imports)]
pub(crate) use window_update::WindowUpdate;

/// The size of a frame header.
pub(crate) const HEADER_LEN: usize = 9;

/// SETTINGS_MAX_FRAME_SIZE's initial value and smallest legal value (RFC 9113 §6.5.2).
pub(crate) const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;

/// SETTINGS_MAX_FRAME_SIZE's largest legal value, the most a 24-bit length can say.
pub(crate) const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// The largest flow-control window and window increment, 2^31-1 (RFC 9113 §6.9).
pub(crate) const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;

/// Frame flags (RFC 9113 §6). The same bit means different things on different types.
pub(crate) mod flags {
    /// DATA, HEADERS: the last frame the sender sends on this stream.
    pub(crate) const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub(crate) const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the header block ends in this frame.
    pub(crate) const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length octet and padding are present.
    pub(crate) const PADDED: u8 = 0x8;
    /// HEADERS: the stream dependency fields are present.
    pub(crate) const PRIORITY: u8 = 0x20;
}

/// A stream identifier: 31 bits; zero is the connection itself, odd identifiers are opened
/// by the client, even ones by the server (RFC 9113 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct StreamId(u32);

impl StreamId {
    /// Stream 0, the connection as a whole.
    pub(crate) const ZERO: StreamId = StreamId(0);
    /// The largest stream identifier, 2^31-1.
    pub(crate) const MAX: StreamId = StreamId(MAX_WINDOW_SIZE);

    /// The stream identifier in `value`'s low 31 bits; the reserved high bit is dropped, as
    /// a receiver must ignore it (RFC 9113 §4.1).
    pub(crate) const fn new(value: u32) -> StreamId {
        StreamId(value & MAX_WINDOW_SIZE)
    }

    /// The identifier as a number.
    pub(crate) const fn value(self) -> u32 {
        self.0
    }

    /// Whether this is stream 0, the connection.
    pub(crate) const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether a client opens this stream (odd identifiers).
    pub(crate) const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }

    /// Whether a server opens this stream (even identifiers other than 0).
    #[cfg(test)]
    pub(crate) const fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0.is_multiple_of(2)
    }

    /// The next identifier the same side may open (this one + 2), or `None` when the
    /// identifiers are used up: the endpoint then has to open a new connection
    /// (RFC 9113 §5.1.1).
    #[cfg(test)]
    pub(crate) const fn next(self) -> Option<StreamId> {
        match self.0.checked_add(2) {
            Some(n) if n <= MAX_WINDOW_SIZE => Some(StreamId(n)),
            _ => None,
        }
    }

    fn from_be_bytes(bytes: [u8; 4]) -> StreamId {
        StreamId::new(u32::from_be_bytes(bytes))
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A frame type (RFC 9113 §6, IANA "HTTP/2 Frame Type" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FrameType {
    /// 0x0
    Data,
    /// 0x1
    Headers,
    /// 0x2
    Priority,
    /// 0x3
    RstStream,
    /// 0x4
    Settings,
    /// 0x5
    PushPromise,
    /// 0x6
    Ping,
    /// 0x7
    GoAway,
    /// 0x8
    WindowUpdate,
    /// 0x9
    Continuation,
    /// A type this layer does not know; such frames are ignored.
    Unknown(u8),
}

impl FrameType {
    /// The type of the octet `value`.
    pub(crate) const fn from_u8(value: u8) -> FrameType {
        match value {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The type's octet on the wire.
    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(other) => other,
        }
    }
}

/// The 9-octet frame header (RFC 9113 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// The payload's length (24 bits), not counting these 9 octets.
    pub(crate) length: u32,
    pub(crate) kind: FrameType,
    /// All flag bits as received, unknown ones included; the frame types keep only theirs.
    pub(crate) flags: u8,
    pub(crate) stream_id: StreamId,
}

impl FrameHeader {
    /// A header; `length` is cut to 24 bits when encoded.
    pub(crate) const fn new(kind: FrameType, flags: u8, stream_id: StreamId, length: u32) -> Self {
        FrameHeader {
            length,
            kind,
            flags,
            stream_id,
        }
    }

    /// Reads a header. Never fails: any type, flags and length are syntactically valid, and
    /// the reserved bit is ignored (RFC 9113 §4.1).
    pub(crate) fn load(bytes: &[u8; HEADER_LEN]) -> FrameHeader {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        FrameHeader {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_u8(kind),
            flags,
            stream_id: StreamId::from_be_bytes([s0, s1, s2, s3]),
        }
    }

    /// Appends the header, with the reserved bit unset. The caller keeps `length` within
    /// the peer's SETTINGS_MAX_FRAME_SIZE (at most 2^24-1).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.length <= MAX_MAX_FRAME_SIZE,
            "frame length over 24 bits"
        );
        let [_, l0, l1, l2] = self.length.to_be_bytes();
        out.extend_from_slice(&[l0, l1, l2, self.kind.to_u8(), self.flags]);
        out.extend_from_slice(&self.stream_id.value().to_be_bytes());
    }

    /// Whether every bit of `flag` is set.
    pub(crate) const fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// An error code of RST_STREAM and GOAWAY frames (RFC 9113 §7). Codes this layer does not
/// know are kept as [`Unknown`](ErrorCode::Unknown): a receiver must not give them special
/// meaning and may treat them as INTERNAL_ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ErrorCode {
    /// 0x0: graceful shutdown, or a stream no longer needed.
    NoError,
    /// 0x1: an unspecific protocol error.
    ProtocolError,
    /// 0x2: an unexpected internal error.
    InternalError,
    /// 0x3: the peer violated the flow-control protocol.
    FlowControlError,
    /// 0x4: a SETTINGS frame was not acknowledged in time.
    SettingsTimeout,
    /// 0x5: a frame arrived after the stream was half-closed.
    StreamClosed,
    /// 0x6: a frame with an invalid size.
    FrameSizeError,
    /// 0x7: the stream was refused before any application processing.
    RefusedStream,
    /// 0x8: the stream is no longer needed.
    Cancel,
    /// 0x9: the header compression context cannot be maintained.
    CompressionError,
    /// 0xa: the connection of a CONNECT request was reset or closed abnormally.
    ConnectError,
    /// 0xb: the peer behaves in a way that might be generating excessive load.
    EnhanceYourCalm,
    /// 0xc: the transport's security does not meet the minimum requirements.
    InadequateSecurity,
    /// 0xd: the request must be retried over HTTP/1.1.
    Http11Required,
    /// A code this layer does not know, as received.
    Unknown(u32),
}

impl ErrorCode {
    /// The code of the 32-bit `value`.
    pub(crate) const fn from_u32(value: u32) -> ErrorCode {
        match value {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The code's value on the wire.
    pub(crate) const fn to_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(other) => other,
        }
    }
}

/// What is wrong with a frame. See [`FrameError::code`] and [`FrameError::scope`] for the
/// answer each one calls for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameErrorKind {
    /// The length is above the `max_frame_size` passed in (our SETTINGS_MAX_FRAME_SIZE).
    /// FRAME_SIZE_ERROR; see [`FrameError::scope`] for connection versus stream.
    TooLarge,
    /// [`Frame::load`] got a payload whose length differs from the header's: a bug of the
    /// caller, answered as a connection error FRAME_SIZE_ERROR.
    LengthMismatch,
    /// DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE or CONTINUATION on stream 0.
    /// Connection error PROTOCOL_ERROR.
    StreamIdZero,
    /// SETTINGS, PING or GOAWAY on a stream other than 0. Connection error PROTOCOL_ERROR.
    StreamIdNonZero,
    /// The padding is as long as the payload or longer (RFC 9113 §6.1, §6.2, §6.6).
    /// Connection error PROTOCOL_ERROR.
    BadPadding,
    /// The payload is too short for the fields its flags announce: the Pad Length octet, the
    /// HEADERS priority fields, the PUSH_PROMISE promised stream identifier (RFC 9113 §4.2).
    /// Connection error FRAME_SIZE_ERROR.
    TooShort,
    /// A length the type does not allow: PRIORITY ≠ 5 (a stream error), RST_STREAM ≠ 4,
    /// PING ≠ 8, WINDOW_UPDATE ≠ 4, GOAWAY < 8, SETTINGS not a multiple of 6 (connection
    /// errors). FRAME_SIZE_ERROR.
    BadLength,
    /// A SETTINGS acknowledgement with a payload. Connection error FRAME_SIZE_ERROR.
    SettingsAckWithPayload,
    /// SETTINGS_ENABLE_PUSH (or SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441, or
    /// SETTINGS_NO_RFC7540_PRIORITIES, RFC 9218) other than 0 or 1. Connection error
    /// PROTOCOL_ERROR.
    InvalidSettingValue,
    /// SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1. Connection error FLOW_CONTROL_ERROR.
    InitialWindowSizeTooLarge,
    /// SETTINGS_MAX_FRAME_SIZE outside 16384..=16777215. Connection error PROTOCOL_ERROR.
    InvalidMaxFrameSize,
    /// A PRIORITY frame, or a HEADERS frame's priority fields, naming the frame's own stream
    /// as its dependency (RFC 9113 §5.3.1). Stream error PROTOCOL_ERROR. For HEADERS this is
    /// reported by [`Headers::check_dependency`], not at load: see there.
    DependsOnItself,
    /// A WINDOW_UPDATE with an increment of 0. PROTOCOL_ERROR: a stream error on a stream, a
    /// connection error on stream 0 (RFC 9113 §6.9).
    ZeroWindowIncrement,
}

/// Whether an error ends the connection or only one stream (RFC 9113 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorScope {
    /// A connection error: send GOAWAY with the code and close.
    Connection,
    /// A stream error: send RST_STREAM with the code on this stream and go on. An endpoint
    /// may always escalate it to a connection error (RFC 9113 §5.4.1).
    Stream(StreamId),
}

/// A frame that breaks RFC 9113 §4 or §6: what is wrong and the header of the frame.
///
/// The frame occupies [`frame_len`](FrameError::frame_len) octets on the wire. After a
/// stream error the driver skips that many and reads on; nothing was consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameError {
    kind: FrameErrorKind,
    header: FrameHeader,
}

impl FrameError {
    pub(crate) const fn new(kind: FrameErrorKind, header: &FrameHeader) -> FrameError {
        FrameError {
            kind,
            header: *header,
        }
    }

    /// What is wrong.
    pub(crate) const fn kind(&self) -> FrameErrorKind {
        self.kind
    }

    /// The header of the offending frame.
    #[cfg(test)]
    pub(crate) const fn header(&self) -> &FrameHeader {
        &self.header
    }

    /// The offending frame's size on the wire, header included.
    #[cfg(any(test, fuzzing))]
    pub(crate) const fn frame_len(&self) -> usize {
        HEADER_LEN + self.header.length as usize
    }

    /// The error code to send in GOAWAY or RST_STREAM.
    pub(crate) const fn code(&self) -> ErrorCode {
        match self.kind {
            FrameErrorKind::TooLarge
            | FrameErrorKind::LengthMismatch
            | FrameErrorKind::TooShort
            | FrameErrorKind::BadLength
            | FrameErrorKind::SettingsAckWithPayload => ErrorCode::FrameSizeError,
            FrameErrorKind::InitialWindowSizeTooLarge => ErrorCode::FlowControlError,
            FrameErrorKind::StreamIdZero
            | FrameErrorKind::StreamIdNonZero
            | FrameErrorKind::BadPadding
            | FrameErrorKind::InvalidSettingValue
            | FrameErrorKind::InvalidMaxFrameSize
            | FrameErrorKind::DependsOnItself
            | FrameErrorKind::ZeroWindowIncrement => ErrorCode::ProtocolError,
        }
    }

    /// Whether this is a connection error or a stream error.
    ///
    /// For [`TooLarge`](FrameErrorKind::TooLarge) the caller decides, within RFC 9113 §4.2:
    /// a frame that could change the whole connection's state (one carrying a header block
    /// — HEADERS, PUSH_PROMISE, CONTINUATION —, SETTINGS, or any frame on stream 0) must be
    /// a connection error, and this returns `Connection` for those; for the rest (DATA,
    /// PRIORITY, RST_STREAM, WINDOW_UPDATE and unknown types on a stream) it returns the
    /// stream error the RFC permits. The payload of a too-large frame has not been read:
    /// answering with a stream error means discarding [`frame_len`](FrameError::frame_len)
    /// octets (up to 16 MiB) as they arrive; escalating to a connection error is always
    /// allowed and simpler.
    pub(crate) const fn scope(&self) -> ErrorScope {
        let stream = self.header.stream_id;
        let stream_error = match self.kind {
            FrameErrorKind::TooLarge => !matches!(
                self.header.kind,
                FrameType::Headers
                    | FrameType::PushPromise
                    | FrameType::Continuation
                    | FrameType::Settings
            ),
            FrameErrorKind::BadLength => matches!(self.header.kind, FrameType::Priority),
            FrameErrorKind::DependsOnItself | FrameErrorKind::ZeroWindowIncrement => true,
            _ => false,
        };
        if stream_error && !stream.is_zero() {
            ErrorScope::Stream(stream)
        } else {
            ErrorScope::Connection
        }
    }

    /// Whether this is a connection error.
    #[cfg(test)]
    pub(crate) const fn is_connection_error(&self) -> bool {
        matches!(self.scope(), ErrorScope::Connection)
    }
}

impl FrameErrorKind {
    /// A fixed text saying what is wrong (GOAWAY's debug data, logs).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            FrameErrorKind::TooLarge => "frame larger than SETTINGS_MAX_FRAME_SIZE",
            FrameErrorKind::LengthMismatch => "payload length differs from the frame header",
            FrameErrorKind::StreamIdZero => "frame on stream 0",
            FrameErrorKind::StreamIdNonZero => "connection frame on a stream",
            FrameErrorKind::BadPadding => "padding as long as the payload",
            FrameErrorKind::TooShort => "frame too short for its fields",
            FrameErrorKind::BadLength => "invalid frame length",
            FrameErrorKind::SettingsAckWithPayload => "SETTINGS ACK with a payload",
            FrameErrorKind::InvalidSettingValue => "boolean setting other than 0 or 1",
            FrameErrorKind::InitialWindowSizeTooLarge => "SETTINGS_INITIAL_WINDOW_SIZE too large",
            FrameErrorKind::InvalidMaxFrameSize => "SETTINGS_MAX_FRAME_SIZE out of range",
            FrameErrorKind::DependsOnItself => "stream depends on itself",
            FrameErrorKind::ZeroWindowIncrement => "WINDOW_UPDATE increment of 0",
        }
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?} frame, stream {}, length {})",
            self.kind.reason(),
            self.header.kind,
            self.header.stream_id,
            self.header.length
        )
    }
}

impl std::error::Error for FrameError {}

/// A frame of a type this layer does not know; to be ignored (RFC 9113 §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unknown {
    /// The header as received (its length is the payload's).
    pub(crate) header: FrameHeader,
    pub(crate) payload: Bytes,
}

/// One HTTP/2 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Data(Data),
    Headers(Headers),
    Priority(Priority),
    RstStream(RstStream),
    Settings(Settings),
    PushPromise(PushPromise),
    Ping(Ping),
    GoAway(GoAway),
    WindowUpdate(WindowUpdate),
    Continuation(Continuation),
    /// A frame of an unknown type, to be ignored.
    Unknown(Unknown),
}

impl Frame {
    /// Validates and loads the frame of `header` whose payload is `payload` (of
    /// `header.length` octets; DATA payloads and header block fragments are slices of it,
    /// not copies). `max_frame_size` is the SETTINGS_MAX_FRAME_SIZE we advertised.
    ///
    /// Every rule of RFC 9113 §4 and §6 that one frame can break on its own is checked here,
    /// save one: a HEADERS frame that depends on its own stream loads, so that its header
    /// block still reaches the HPACK decoder; see [`Headers::check_dependency`].
    pub(crate) fn load(
        header: FrameHeader,
        payload: Bytes,
        max_frame_size: u32,
    ) -> Result<Frame, FrameError> {
        if header.length > max_frame_size {
            return Err(FrameError::new(FrameErrorKind::TooLarge, &header));
        }
        if payload.len() != header.length as usize {
            return Err(FrameError::new(FrameErrorKind::LengthMismatch, &header));
        }
        Ok(match header.kind {
            FrameType::Data => Frame::Data(Data::load(&header, payload)?),
            FrameType::Headers => Frame::Headers(Headers::load(&header, payload)?),
            FrameType::Priority => Frame::Priority(Priority::load(&header, &payload)?),
            FrameType::RstStream => Frame::RstStream(RstStream::load(&header, &payload)?),
            FrameType::Settings => Frame::Settings(Settings::load(&header, &payload)?),
            FrameType::PushPromise => Frame::PushPromise(PushPromise::load(&header, payload)?),
            FrameType::Ping => Frame::Ping(Ping::load(&header, &payload)?),
            FrameType::GoAway => Frame::GoAway(GoAway::load(&header, payload)?),
            FrameType::WindowUpdate => Frame::WindowUpdate(WindowUpdate::load(&header, &payload)?),
            FrameType::Continuation => Frame::Continuation(Continuation::load(&header, payload)?),
            FrameType::Unknown(_) => Frame::Unknown(Unknown { header, payload }),
        })
    }

    /// Appends the frame, header and payload. Unknown flags are not sent (RFC 9113 §4.1),
    /// except on [`Frame::Unknown`], which is written back as it came.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Data(f) => f.encode(out),
            Frame::Headers(f) => f.encode(out),
            Frame::Priority(f) => f.encode(out),
            Frame::RstStream(f) => f.encode(out),
            Frame::Settings(f) => f.encode(out),
            Frame::PushPromise(f) => f.encode(out),
            Frame::Ping(f) => f.encode(out),
            Frame::GoAway(f) => f.encode(out),
            Frame::WindowUpdate(f) => f.encode(out),
            Frame::Continuation(f) => f.encode(out),
            Frame::Unknown(f) => {
                FrameHeader {
                    length: f.payload.len() as u32,
                    ..f.header
                }
                .encode(out);
                out.extend_from_slice(&f.payload);
            }
        }
    }

    /// The stream the frame is on (0 for connection frames).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn stream_id(&self) -> StreamId {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown(f) => f.header.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => StreamId::ZERO,
        }
    }
}

/// Decodes the first frame of `buf`.
///
/// `Ok(None)`: `buf` does not hold a whole frame yet; call again with more bytes (nothing
/// was consumed). `Ok(Some((frame, n)))`: the frame and the `n` octets it took. `Err`: the
/// first frame is invalid, see [`FrameError`]; nothing was consumed, and the frame is
/// [`FrameError::frame_len`] octets long. A frame longer than `max_frame_size` is refused
/// as soon as its 9-octet header is in, without waiting for its payload.
///
/// The payload is copied once into a [`Bytes`] that the frame's fields slice;
/// [`decode_frame_bytes`] avoids even that copy.
#[cfg(test)]
pub(crate) fn decode_frame(
    buf: &[u8],
    max_frame_size: u32,
) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(header) = peek_header(buf, max_frame_size)? else {
        return Ok(None);
    };
    let end = HEADER_LEN + header.length as usize;
    let Some(payload) = buf.get(HEADER_LEN..end) else {
        return Ok(None);
    };
    let frame = Frame::load(header, Bytes::copy_from_slice(payload), max_frame_size)?;
    Ok(Some((frame, end)))
}

/// [`decode_frame`] on a `BytesMut`, without copying: the frame's octets are split off the
/// front of `buf` and its payload fields share them.
///
/// `Ok(None)`: incomplete, `buf` untouched. On `Err`, a complete invalid frame has been
/// removed from `buf` too, so after a stream error the driver simply calls again; the one
/// exception is [`TooLarge`](FrameErrorKind::TooLarge), which is reported from the header
/// alone and leaves `buf` untouched (to answer it with a stream error, the driver discards
/// [`FrameError::frame_len`] octets as they arrive). Putting an invalid frame back would
/// cost a copy of the whole buffer per bad frame, which a peer could repeat at will.
pub(crate) fn decode_frame_bytes(
    buf: &mut BytesMut,
    max_frame_size: u32,
) -> Result<Option<Frame>, FrameError> {
    let Some(header) = peek_header(buf, max_frame_size)? else {
        return Ok(None);
    };
    let end = HEADER_LEN + header.length as usize;
    if buf.len() < end {
        return Ok(None);
    }
    let whole = buf.split_to(end).freeze();
    Frame::load(header, whole.slice(HEADER_LEN..), max_frame_size).map(Some)
}

/// The header at the start of `buf` if all 9 octets are there, refusing one whose length
/// is above `max_frame_size`.
fn peek_header(buf: &[u8], max_frame_size: u32) -> Result<Option<FrameHeader>, FrameError> {
    let Some(bytes) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = FrameHeader::load(bytes);
    if header.length > max_frame_size {
        return Err(FrameError::new(FrameErrorKind::TooLarge, &header));
    }
    Ok(Some(header))
}

/// Splits the Pad Length octet and the padding off a PADDED frame's payload (RFC 9113
/// §6.1): returns the padding length (`None` without the flag) and what lies between.
fn strip_padding(header: &FrameHeader, payload: Bytes) -> Result<(Option<u8>, Bytes), FrameError> {
    if !header.has_flag(flags::PADDED) {
        return Ok((None, payload));
    }
    let Some(&pad_len) = payload.first() else {
        return Err(FrameError::new(FrameErrorKind::TooShort, header));
    };
    if usize::from(pad_len) >= payload.len() {
        return Err(FrameError::new(FrameErrorKind::BadPadding, header));
    }
    let end = payload.len() - usize::from(pad_len);
    Ok((Some(pad_len), payload.slice(1..end)))
}

/// Appends a frame whose payload is `fields` then `body`, with `pad_len` octets of zero
/// padding (and the PADDED flag and Pad Length octet) when `pad_len` is `Some`.
fn encode_padded(
    kind: FrameType,
    mut flag_bits: u8,
    stream_id: StreamId,
    pad_len: Option<u8>,
    fields: &[u8],
    body: &[u8],
    out: &mut Vec<u8>,
) {
    let mut length = fields.len() + body.len();
    if let Some(pad) = pad_len {
        flag_bits |= flags::PADDED;
        length += 1 + usize::from(pad);
    }
    FrameHeader::new(kind, flag_bits, stream_id, length as u32).encode(out);
    if let Some(pad) = pad_len {
        out.push(pad);
    }
    out.extend_from_slice(fields);
    out.extend_from_slice(body);
    if let Some(pad) = pad_len {
        out.resize(out.len() + usize::from(pad), 0);
    }
}

/// The `flag` bit if `on`.
const fn flag_if(on: bool, flag: u8) -> u8 {
    if on {
        flag
    } else {
        0
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Loads one whole frame from `bytes` with the default SETTINGS_MAX_FRAME_SIZE,
    /// checking that it takes exactly all of them.
    pub(super) fn load(bytes: &[u8]) -> Result<Frame, FrameError> {
        match decode_frame(bytes, DEFAULT_MAX_FRAME_SIZE)? {
            Some((frame, used)) => {
                assert_eq!(used, bytes.len(), "frame did not take the whole input");
                Ok(frame)
            }
            None => panic!("incomplete frame: {bytes:02x?}"),
        }
    }

    /// The frame's encoding.
    pub(super) fn encoded(frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        frame.encode(&mut out);
        out
    }

    /// Asserts that `bytes` load as `frame` and that `frame` encodes as `bytes`.
    pub(super) fn assert_round_trip(bytes: &[u8], frame: Frame) {
        assert_eq!(load(bytes).unwrap(), frame);
        assert_eq!(encoded(&frame), bytes);
    }

    /// Asserts that `bytes` fail to load with `kind`, `code` and `scope`.
    pub(super) fn assert_error(
        bytes: &[u8],
        kind: FrameErrorKind,
        code: ErrorCode,
        scope: ErrorScope,
    ) {
        let err = load(bytes).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(err.scope(), scope, "{err}");
        assert_eq!(err.frame_len(), bytes.len());
    }

    use crate::http2::testing::Rng;

    #[test]
    fn header_load_and_encode() {
        let bytes = [0x01, 0x02, 0x03, 0x01, 0x25, 0x80, 0x00, 0x00, 0x05];
        let header = FrameHeader::load(&bytes);
        assert_eq!(header.length, 0x010203);
        assert_eq!(header.kind, FrameType::Headers);
        assert_eq!(header.flags, 0x25);
        // The reserved bit is ignored on load and not sent.
        assert_eq!(header.stream_id, StreamId::new(5));
        assert!(header.has_flag(flags::END_STREAM | flags::END_HEADERS));
        assert!(!header.has_flag(flags::PADDED));
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out, [0x01, 0x02, 0x03, 0x01, 0x25, 0x00, 0x00, 0x00, 0x05]);

        let max = FrameHeader::load(&[0xff; 9]);
        assert_eq!(max.length, MAX_MAX_FRAME_SIZE);
        assert_eq!(max.kind, FrameType::Unknown(0xff));
        assert_eq!(max.stream_id, StreamId::MAX);
    }

    #[test]
    fn stream_ids() {
        assert!(StreamId::ZERO.is_zero());
        assert!(!StreamId::ZERO.is_client_initiated());
        assert!(!StreamId::ZERO.is_server_initiated());
        assert!(StreamId::new(1).is_client_initiated());
        assert!(StreamId::new(2).is_server_initiated());
        assert!(!StreamId::new(2).is_client_initiated());
        assert_eq!(StreamId::new(1).next(), Some(StreamId::new(3)));
        assert_eq!(StreamId::ZERO.next(), Some(StreamId::new(2)));
        assert_eq!(StreamId::new(0x7fff_fffd).next(), Some(StreamId::MAX));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(0x7fff_fffe).next(), None);
        assert_eq!(StreamId::new(0x8000_0007), StreamId::new(7));
        assert_eq!(StreamId::MAX.value(), 0x7fff_ffff);
        assert_eq!(StreamId::new(9).to_string(), "9");
    }

    #[test]
    fn frame_types_and_error_codes_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(FrameType::from_u8(v).to_u8(), v);
        }
        assert_eq!(FrameType::from_u8(0xa), FrameType::Unknown(0xa));
        for v in (0..=0x20u32).chain([0xffff_ffff]) {
            assert_eq!(ErrorCode::from_u32(v).to_u32(), v);
        }
        assert_eq!(ErrorCode::from_u32(0xd), ErrorCode::Http11Required);
        assert_eq!(ErrorCode::from_u32(0xe), ErrorCode::Unknown(0xe));
        assert_eq!(ErrorCode::from_u32(0xb), ErrorCode::EnhanceYourCalm);
    }

    #[test]
    fn unknown_frame_types_are_kept_to_be_ignored() {
        // Type 0xfa, flags 0xff, stream 0, even on stream 0 and with odd flags.
        let bytes = [0, 0, 3, 0xfa, 0xff, 0, 0, 0, 0, 1, 2, 3];
        let frame = load(&bytes).unwrap();
        let Frame::Unknown(ref unknown) = frame else {
            panic!("{frame:?}");
        };
        assert_eq!(unknown.header.kind, FrameType::Unknown(0xfa));
        assert_eq!(&unknown.payload[..], [1, 2, 3]);
        assert_eq!(frame.stream_id(), StreamId::ZERO);
        assert_eq!(encoded(&frame), bytes);
        // On a stream, empty.
        let frame = load(&[0, 0, 0, 0x10, 0, 0, 0, 0, 3]).unwrap();
        assert!(matches!(frame, Frame::Unknown(_)));
        assert_eq!(frame.stream_id(), StreamId::new(3));
    }

    #[test]
    fn too_large_is_refused_from_the_header_alone() {
        // A DATA header announcing 16385 octets, no payload yet.
        let header = [0x00, 0x40, 0x01, 0x0, 0x0, 0, 0, 0, 1];
        let err = decode_frame(&header, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::TooLarge);
        assert_eq!(err.code(), ErrorCode::FrameSizeError);
        assert_eq!(err.scope(), ErrorScope::Stream(StreamId::new(1)));
        assert_eq!(err.frame_len(), 9 + 16385);
        // Exactly the limit is fine (and incomplete here).
        let header = [0x00, 0x40, 0x00, 0x0, 0x0, 0, 0, 0, 1];
        assert_eq!(decode_frame(&header, DEFAULT_MAX_FRAME_SIZE), Ok(None));
        // A larger limit lets it through.
        let mut whole = vec![0x00, 0x40, 0x01, 0x0, 0x0, 0, 0, 0, 1];
        whole.resize(9 + 16385, 7);
        let (frame, used) = decode_frame(&whole, 20_000).unwrap().unwrap();
        assert_eq!(used, whole.len());
        assert!(matches!(frame, Frame::Data(ref d) if d.data.len() == 16385));
    }

    #[test]
    fn too_large_scope_follows_rfc_9113_section_4_2() {
        let max = 10;
        let cases: [(u8, u32, ErrorScope); 11] = [
            (0x0, 1, ErrorScope::Stream(StreamId::new(1))), // DATA
            (0x1, 1, ErrorScope::Connection),               // HEADERS
            (0x2, 3, ErrorScope::Stream(StreamId::new(3))), // PRIORITY
            (0x3, 3, ErrorScope::Stream(StreamId::new(3))), // RST_STREAM
            (0x4, 0, ErrorScope::Connection),               // SETTINGS
            (0x5, 1, ErrorScope::Connection),               // PUSH_PROMISE
            (0x6, 0, ErrorScope::Connection),               // PING
            (0x7, 0, ErrorScope::Connection),               // GOAWAY
            (0x8, 0, ErrorScope::Connection),               // WINDOW_UPDATE, stream 0
            (0x9, 1, ErrorScope::Connection),               // CONTINUATION
            (0x8, 5, ErrorScope::Stream(StreamId::new(5))), // WINDOW_UPDATE, stream 5
        ];
        for (kind, stream, scope) in cases {
            let mut bytes = vec![0, 0, 11, kind, 0];
            bytes.extend_from_slice(&stream.to_be_bytes());
            let err = decode_frame(&bytes, max).unwrap_err();
            assert_eq!(err.kind(), FrameErrorKind::TooLarge);
            assert_eq!(err.code(), ErrorCode::FrameSizeError);
            assert_eq!(err.scope(), scope, "type {kind}");
            // Frame::load applies the same limit.
            let payload = Bytes::from(vec![0; 11]);
            let header = FrameHeader::load(bytes[..9].try_into().unwrap());
            assert_eq!(Frame::load(header, payload, max), Err(err));
        }
    }

    #[test]
    fn load_rejects_a_payload_of_another_length() {
        let header = FrameHeader::new(FrameType::Data, 0, StreamId::new(1), 4);
        let err =
            Frame::load(header, Bytes::from_static(b"abc"), DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::LengthMismatch);
        assert_eq!(err.code(), ErrorCode::FrameSizeError);
        assert!(err.is_connection_error());
    }

    /// Several frames of different types back to back.
    fn multi_frame_buffer() -> (Vec<u8>, Vec<Frame>) {
        let frames = vec![
            Frame::Settings(Settings {
                max_concurrent_streams: Some(100),
                initial_window_size: Some(65_535),
                ..Settings::default()
            }),
            Frame::Settings(Settings::ack()),
            Frame::Headers(Headers {
                end_stream: false,
                pad_len: Some(2),
                priority: Some(StreamDependency {
                    dependency: StreamId::new(0),
                    exclusive: true,
                    weight: 15,
                }),
                ..Headers::new(StreamId::new(1), Bytes::from_static(b"\x82\x86\x84"))
            }),
            Frame::Continuation(Continuation {
                stream_id: StreamId::new(1),
                end_headers: true,
                fragment: Bytes::from_static(b"\x41\x8a"),
            }),
            Frame::Data(Data {
                end_stream: true,
                pad_len: Some(0),
                ..Data::new(StreamId::new(1), Bytes::from_static(b"hello"))
            }),
            Frame::Ping(Ping::new(*b"12345678")),
            Frame::Unknown(Unknown {
                header: FrameHeader::new(FrameType::Unknown(0x42), 0x3, StreamId::new(7), 2),
                payload: Bytes::from_static(b"xy"),
            }),
            Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, 1 << 20)),
            Frame::Priority(Priority::new(
                StreamId::new(3),
                StreamDependency {
                    dependency: StreamId::new(1),
                    exclusive: false,
                    weight: 200,
                },
            )),
            Frame::RstStream(RstStream::new(StreamId::new(3), ErrorCode::Cancel)),
            Frame::PushPromise(PushPromise {
                pad_len: Some(1),
                ..PushPromise::new(
                    StreamId::new(1),
                    StreamId::new(2),
                    Bytes::from_static(b"\x82"),
                )
            }),
            Frame::GoAway(GoAway::new(
                StreamId::new(3),
                ErrorCode::NoError,
                Bytes::from_static(b"bye"),
            )),
            Frame::Data(Data::new(StreamId::new(5), Bytes::new())),
        ];
        let mut bytes = Vec::new();
        for frame in &frames {
            frame.encode(&mut bytes);
        }
        (bytes, frames)
    }

    /// Decodes all frames of `buf` with `decode_frame`, returning them and the rest.
    fn decode_all(mut buf: &[u8]) -> (Vec<Frame>, usize) {
        let mut frames = Vec::new();
        while let Some((frame, used)) = decode_frame(buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
            assert!(used >= HEADER_LEN && used <= buf.len());
            frames.push(frame);
            buf = &buf[used..];
        }
        (frames, buf.len())
    }

    #[test]
    fn partial_input_at_every_split_point() {
        let (bytes, frames) = multi_frame_buffer();
        assert_eq!(decode_all(&bytes), (frames.clone(), 0));
        for split in 0..=bytes.len() {
            // The first part: whole frames only, the rest kept.
            let (mut got, rest) = decode_all(&bytes[..split]);
            // Feed the second part, as a driver would append to its buffer.
            let mut buf = bytes[split - rest..split].to_vec();
            buf.extend_from_slice(&bytes[split..]);
            let (more, rest) = decode_all(&buf);
            assert_eq!(rest, 0, "split {split}");
            got.extend(more);
            assert_eq!(got, frames, "split {split}");
        }
        // Every strict prefix of a single frame is incomplete.
        let mut first = Vec::new();
        frames[2].encode(&mut first);
        for len in 0..first.len() {
            assert_eq!(
                decode_frame(&first[..len], DEFAULT_MAX_FRAME_SIZE),
                Ok(None)
            );
        }
    }

    #[test]
    fn partial_input_byte_by_byte_with_bytes_mut() {
        let (bytes, frames) = multi_frame_buffer();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in &bytes {
            buf.extend_from_slice(&[b]);
            while let Some(frame) = decode_frame_bytes(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
                got.push(frame);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got, frames);
    }

    #[test]
    fn decode_frame_bytes_consumes_an_invalid_frame() {
        // PRIORITY of 4 octets on stream 3 (a stream error), then a PING.
        let mut bytes = vec![0, 0, 4, 0x2, 0, 0, 0, 0, 3, 0, 0, 0, 1];
        Frame::Ping(Ping::new([9; 8])).encode(&mut bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        let err = decode_frame_bytes(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert_eq!(err.scope(), ErrorScope::Stream(StreamId::new(3)));
        assert_eq!(&buf[..], &bytes[13..]);
        // The driver reads on.
        let frame = decode_frame_bytes(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap();
        assert_eq!(frame, Some(Frame::Ping(Ping::new([9; 8]))));
        assert!(buf.is_empty());
        // A too-large frame is refused from its header and left in place.
        let header = [0x00, 0x40, 0x01, 0x0, 0x0, 0, 0, 0, 1];
        let mut buf = BytesMut::from(&header[..]);
        let err = decode_frame_bytes(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::TooLarge);
        assert_eq!(&buf[..], &header[..]);
    }

    #[test]
    fn payload_is_shared_not_copied_with_bytes_mut() {
        let mut bytes = Vec::new();
        Data::new(StreamId::new(1), Bytes::from_static(b"payload")).encode(&mut bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        let base = buf.as_ptr() as usize;
        let Some(Frame::Data(data)) = decode_frame_bytes(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap()
        else {
            panic!("not DATA");
        };
        assert_eq!(data.data.as_ptr() as usize, base + HEADER_LEN);
    }

    #[test]
    fn fuzz_no_panics_and_reencoding_is_stable() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let (valid, _) = multi_frame_buffer();
        let (mut loaded, mut failed) = (0, 0);
        for round in 0..20_000 {
            // Half the inputs are mutated valid frames, half random octets with a small
            // length so that they get past the header.
            let buf = if round % 2 == 0 {
                let mut buf = valid.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(buf.len());
                    buf[i] = rng.next() as u8;
                }
                let cut = rng.below(buf.len() + 1);
                buf.truncate(cut.max(buf.len() / 2));
                buf
            } else {
                let len = rng.below(64);
                let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if buf.len() >= 9 {
                    buf[0] = 0;
                    buf[1] = 0;
                    buf[2] = (rng.below(buf.len() - 8)) as u8;
                    buf[3] = rng.below(12) as u8;
                }
                buf
            };
            let max = if rng.below(4) == 0 {
                20
            } else {
                DEFAULT_MAX_FRAME_SIZE
            };
            let mut rest = &buf[..];
            while let Ok(Some((frame, used))) = decode_frame(rest, max) {
                // What loads re-encodes to something that loads as the same frame.
                let again = encoded(&frame);
                let (reloaded, n) = decode_frame(&again, MAX_MAX_FRAME_SIZE).unwrap().unwrap();
                assert_eq!(n, again.len());
                assert_eq!(reloaded, frame);
                let _ = frame.stream_id();
                rest = &rest[used..];
                loaded += 1;
            }
            if let Err(err) = decode_frame(rest, max) {
                let _ = (err.code(), err.scope(), err.to_string());
                assert!(err.frame_len() <= rest.len() || err.kind() == FrameErrorKind::TooLarge);
                failed += 1;
            }
            let mut bm = BytesMut::from(&buf[..]);
            while let Ok(Some(_)) = decode_frame_bytes(&mut bm, max) {}
        }
        // Both paths were exercised.
        assert!(
            loaded > 20_000 && failed > 5_000,
            "{loaded} loaded, {failed} failed"
        );
    }
}

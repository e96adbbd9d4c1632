//! Why a request was refused, and the one mapping from that to a status code.

/// A request the server refuses before (or while) reading it. Every variant maps to one
/// status code in [`RequestError::status`]; the connection is always closed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// Malformed request line (method, target or syntax).
    BadRequestLine,
    /// Malformed header field (name, value, whitespace before the colon, obs-fold).
    BadHeader,
    /// A bare LF line ending in the head while `allow_bare_lf` is off, or a bare CR.
    BadLineEnding,
    /// NUL or another forbidden control byte in the head.
    ControlByte,
    /// Missing, repeated or malformed Host in HTTP/1.1, or an absolute-form target whose
    /// authority differs from Host.
    BadHost,
    /// Host not in AllowedHosts.
    HostNotAllowed,
    /// Ambiguous or malformed framing: Content-Length with Transfer-Encoding, differing
    /// or malformed Content-Length, a final coding other than chunked, Transfer-Encoding
    /// in HTTP/1.0.
    BadFraming,
    /// A Transfer-Encoding list (ending in chunked) with a coding other than chunked: the
    /// server decodes chunked only (RFC 9112 §6.1: 501 for a coding it does not
    /// understand).
    UnknownTransferCoding,
    /// Malformed chunked framing: invalid or over-long chunk size, bare LF or CR, bad
    /// chunk extension, bad trailer.
    BadChunk,
    /// The request line exceeds MaxRequestLineSize.
    RequestLineTooLong,
    /// The header fields exceed MaxRequestHeadersTotalSize.
    HeadersTooLarge,
    /// More header fields than MaxRequestHeaderCount.
    TooManyHeaders,
    /// The body exceeds MaxRequestBodySize.
    BodyTooLarge,
    /// An HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// `*` target with a method other than OPTIONS.
    AsteriskNotOptions,
    /// RequestHeadersTimeout elapsed before the head was complete.
    HeadersTimeout,
    /// The body arrived slower than MinRequestBodyDataRate, or stalled.
    BodyTimeout,
    /// A TLS ClientHello arrived on a plaintext endpoint.
    TlsOnPlaintext,
    /// The peer closed the connection in the middle of a body.
    UnexpectedEof,
}

impl RequestError {
    /// The status code of the response to this error (always sent with
    /// `Connection: close`).
    pub(crate) fn status(self) -> u16 {
        use RequestError::*;
        match self {
            BadRequestLine | BadHeader | BadLineEnding | ControlByte | BadHost | HostNotAllowed
            | BadFraming | BadChunk | TlsOnPlaintext | UnexpectedEof => 400,
            RequestLineTooLong => 414,
            HeadersTooLarge | TooManyHeaders => 431,
            BodyTooLarge => 413,
            UnknownTransferCoding => 501,
            UnsupportedVersion => 505,
            AsteriskNotOptions => 405,
            HeadersTimeout | BodyTimeout => 408,
        }
    }

    /// A short human-readable reason, logged at debug level and, for a TLS handshake on a
    /// plaintext endpoint, sent as the body.
    pub(crate) fn reason(self) -> &'static str {
        use RequestError::*;
        match self {
            BadRequestLine => "malformed request line",
            BadHeader => "malformed header field",
            BadLineEnding => "invalid line ending in request head",
            ControlByte => "control character in request head",
            BadHost => "missing, repeated or invalid Host header",
            HostNotAllowed => "host not allowed",
            BadFraming => "ambiguous or invalid message framing",
            UnknownTransferCoding => "transfer coding not implemented (only chunked is)",
            BadChunk => "invalid chunked encoding",
            RequestLineTooLong => "request line too long",
            HeadersTooLarge => "request headers too large",
            TooManyHeaders => "too many request headers",
            BodyTooLarge => "request body too large",
            UnsupportedVersion => "unsupported HTTP version",
            AsteriskNotOptions => "'*' target is only allowed with OPTIONS",
            HeadersTimeout => "request headers timeout",
            BodyTimeout => "request body data rate too low",
            TlsOnPlaintext => "TLS handshake received on a plaintext HTTP endpoint; use http:// or configure HTTPS on this endpoint",
            UnexpectedEof => "unexpected end of request body",
        }
    }
}

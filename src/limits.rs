//! Server-wide limits, named and defaulted after Kestrel's `KestrelServerLimits`.
//!
//! Every limit is enforced either by the HTTP/1.1 parser (sizes and counts) or by the
//! deadline I/O layer (timeouts and minimum data rates); the HTTP/2 ones
//! ([`Http2Limits`], Kestrel's `KestrelServerLimits.Http2`) by the HTTP/2 connection.
//! [`Limits::validate`] runs at startup and rejects inconsistent values with a message
//! naming the limit.

use std::time::Duration;

/// A minimum data rate: after `grace_period`, a transfer slower than `bytes_per_second`
/// on average is cut off (Kestrel's `MinDataRate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinDataRate {
    /// Bytes per second the peer must sustain on average.
    pub bytes_per_second: u64,
    /// How long the peer may be slower than the rate before it is cut off. Must exceed 1 s.
    pub grace_period: Duration,
}

impl MinDataRate {
    /// Kestrel's default for both directions: 240 B/s after a 5 s grace period.
    pub const DEFAULT: MinDataRate = MinDataRate {
        bytes_per_second: 240,
        grace_period: Duration::from_secs(5),
    };

    /// Creates a rate, checking Kestrel's rules (positive rate, grace period above 1 s).
    pub fn new(bytes_per_second: u64, grace_period: Duration) -> Result<Self, String> {
        let rate = MinDataRate {
            bytes_per_second,
            grace_period,
        };
        rate.check()?;
        Ok(rate)
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.bytes_per_second == 0 {
            return Err(
                "BytesPerSecond must be greater than 0 (use null to disable the rate)".into(),
            );
        }
        if self.grace_period <= Duration::from_secs(1) {
            return Err(format!(
                "GracePeriod must be greater than 1 second, got {:?}",
                self.grace_period
            ));
        }
        Ok(())
    }
}

/// Limits applied to every connection and request. Each field documents its default,
/// which is Kestrel's.
///
/// Worst-case memory per connection is bounded by `max_request_buffer_size` (read side)
/// plus `max_response_buffer_size` (write side) plus the parsed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of open connections per server; `None` for no limit. A connection
    /// over the limit is closed at once and logged.
    /// Default: `None` (Kestrel's MaxConcurrentConnections).
    pub max_concurrent_connections: Option<u64>,
    /// Maximum number of connections upgraded (e.g. to WebSocket); `None` for no limit.
    /// An upgrade over the limit is refused with [`crate::UpgradeError::LimitReached`].
    /// Default: `None` (Kestrel's MaxConcurrentUpgradedConnections).
    pub max_concurrent_upgraded_connections: Option<u64>,
    /// Maximum request body size in bytes; `None` for no limit. A larger declared
    /// `Content-Length` gets 413 before any body byte is read; a chunked body gets 413 when
    /// it crosses the limit. Can be overridden per request until the body is first read.
    /// Default: 30,000,000 bytes (Kestrel's MaxRequestBodySize).
    pub max_request_body_size: Option<u64>,
    /// Maximum size of the request line, including its CRLF. Exceeding it gets 414.
    /// Default: 8,192 bytes (Kestrel's MaxRequestLineSize).
    pub max_request_line_size: usize,
    /// Maximum total size of the request header fields (excluding the request line).
    /// Exceeding it gets 431. Default: 32,768 bytes (Kestrel's MaxRequestHeadersTotalSize).
    pub max_request_headers_total_size: usize,
    /// Maximum number of request header fields. Exceeding it gets 431.
    /// Default: 100 (Kestrel's MaxRequestHeaderCount).
    pub max_request_header_count: usize,
    /// Maximum number of bytes read from a connection ahead of the parser (pipelined
    /// requests and body bytes). Must be at least the request line size plus the
    /// headers total size. Default: 1 MiB (Kestrel's MaxRequestBufferSize).
    pub max_request_buffer_size: Option<usize>,
    /// Maximum number of response bytes buffered before they are written to the socket.
    /// Default: 64 KiB (Kestrel's MaxResponseBufferSize).
    pub max_response_buffer_size: Option<usize>,
    /// How long an idle keep-alive connection stays open between requests.
    /// Default: 130 s (Kestrel's KeepAliveTimeout).
    pub keep_alive_timeout: Duration,
    /// How long a client may take to send the request head, counted from its first byte.
    /// Exceeding it gets 408. Default: 30 s (Kestrel's RequestHeadersTimeout).
    pub request_headers_timeout: Duration,
    /// Minimum request body data rate; `None` to disable. A slower client gets 408.
    /// Overridable per request. Default: 240 B/s after 5 s (Kestrel's MinRequestBodyDataRate).
    pub min_request_body_data_rate: Option<MinDataRate>,
    /// Minimum response data rate the client must read at; `None` to disable. A slower
    /// client's connection is closed. Overridable per request.
    /// Default: 240 B/s after 5 s (Kestrel's MinResponseDataRate).
    pub min_response_data_rate: Option<MinDataRate>,
    /// The HTTP/2 limits (Kestrel's `Limits.Http2`). They apply to HTTP/2 connections only,
    /// alongside the limits above that HTTP/2 shares with HTTP/1.1 (header count and total
    /// size, request body size, request headers timeout).
    pub http2: Http2Limits,
}

/// HTTP/2 limits, named and defaulted after Kestrel's `Http2Limits`.
///
/// Worst-case memory of one HTTP/2 connection, with the defaults: the connection receive
/// window of request body bytes waiting for their handlers (1 MiB), the open streams'
/// request heads (`max_streams_per_connection` × `Limits::max_request_headers_total_size`,
/// 100 × 32 KiB, only if a client fills every one), one header block being received
/// (twice the header total size, 64 KiB), two HPACK tables (`header_table_size` each) and
/// one frame of `max_frame_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http2Limits {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: how many streams (requests) a client may have open
    /// at once on one connection; more are refused with REFUSED_STREAM. Must be above 0.
    /// Default: 100 (Kestrel's Http2.MaxStreamsPerConnection).
    pub max_streams_per_connection: u32,
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the client may use for request
    /// headers, in octets; also the most our response encoder uses.
    /// Default: 4,096 (Kestrel's Http2.HeaderTableSize).
    pub header_table_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload the client may send, in octets,
    /// 16,384 ..= 16,777,215 (2^14 ..= 2^24-1). Default: 16,384 (Kestrel's
    /// Http2.MaxFrameSize).
    pub max_frame_size: u32,
    /// The largest request header field (name and value, decoded); a larger one gets 431.
    /// Must be above 0. Default: 32,768 (Kestrel's Http2.MaxRequestHeaderFieldSize).
    pub max_request_header_field_size: u32,
    /// How many request body octets a client may send on one connection, all streams
    /// together, before handlers take them (the connection flow-control window), 65,535 ..=
    /// 2^31-1. It also bounds the request body bytes one connection buffers.
    /// Default: 1 MiB, 1,048,576 (Kestrel's Http2.InitialConnectionWindowSize).
    pub initial_connection_window_size: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: how many request body octets a client may send on one
    /// stream ahead of its handler, 65,535 ..= 2^31-1. Default: 768 KiB, 786,432 (Kestrel's
    /// Http2.InitialStreamWindowSize).
    pub initial_stream_window_size: u32,
    /// When no frame has arrived for this long, send a PING to check the client is still
    /// there; `None`: never (at least 1 s when set).
    /// Default: `None`, off (Kestrel's Http2.KeepAlivePingDelay, TimeSpan.MaxValue).
    pub keep_alive_ping_delay: Option<Duration>,
    /// After a keep-alive PING, how long to wait for any frame before closing the
    /// connection (at least 1 s). Default: 20 s (Kestrel's Http2.KeepAlivePingTimeout).
    pub keep_alive_ping_timeout: Duration,
}

impl Default for Http2Limits {
    fn default() -> Self {
        Http2Limits {
            max_streams_per_connection: 100,
            header_table_size: 4096,
            max_frame_size: 16_384,
            max_request_header_field_size: 32_768,
            initial_connection_window_size: 1024 * 1024,
            initial_stream_window_size: 768 * 1024,
            keep_alive_ping_delay: None,
            keep_alive_ping_timeout: Duration::from_secs(20),
        }
    }
}

impl Http2Limits {
    /// The smallest window size Kestrel accepts, the protocol's initial 65,535.
    const MIN_WINDOW: u32 = 65_535;
    /// The largest flow-control window, 2^31-1 (RFC 9113 §6.9.1).
    const MAX_WINDOW: u32 = (1 << 31) - 1;

    /// Checks the limits, naming the offending one (Kestrel's property name).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_streams_per_connection == 0 {
            return Err("Limits.Http2.MaxStreamsPerConnection must be greater than 0".into());
        }
        if !(16_384..=16_777_215).contains(&self.max_frame_size) {
            return Err(format!(
                "Limits.Http2.MaxFrameSize must be between 16384 (2^14) and 16777215 (2^24-1), \
                 got {}",
                self.max_frame_size
            ));
        }
        if self.max_request_header_field_size == 0 {
            return Err("Limits.Http2.MaxRequestHeaderFieldSize must be greater than 0".into());
        }
        let windows = [
            (
                "InitialConnectionWindowSize",
                self.initial_connection_window_size,
            ),
            ("InitialStreamWindowSize", self.initial_stream_window_size),
        ];
        for (name, size) in windows {
            if !(Self::MIN_WINDOW..=Self::MAX_WINDOW).contains(&size) {
                return Err(format!(
                    "Limits.Http2.{name} must be between 65535 and 2147483647 (2^31-1), got \
                     {size}"
                ));
            }
        }
        if self
            .keep_alive_ping_delay
            .is_some_and(|d| d < Duration::from_secs(1))
        {
            return Err(
                "Limits.Http2.KeepAlivePingDelay must be at least 1 second (or null for off)"
                    .into(),
            );
        }
        if self.keep_alive_ping_timeout < Duration::from_secs(1) {
            return Err("Limits.Http2.KeepAlivePingTimeout must be at least 1 second".into());
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_connections: None,
            max_concurrent_upgraded_connections: None,
            max_request_body_size: Some(30_000_000),
            max_request_line_size: 8 * 1024,
            max_request_headers_total_size: 32 * 1024,
            max_request_header_count: 100,
            max_request_buffer_size: Some(1024 * 1024),
            max_response_buffer_size: Some(64 * 1024),
            keep_alive_timeout: Duration::from_secs(130),
            request_headers_timeout: Duration::from_secs(30),
            min_request_body_data_rate: Some(MinDataRate::DEFAULT),
            min_response_data_rate: Some(MinDataRate::DEFAULT),
            http2: Http2Limits::default(),
        }
    }
}

impl Limits {
    /// How many bytes a synchronous-I/O response writer gathers before it writes them:
    /// MaxResponseBufferSize, 64 KiB when unlimited, at least 1.
    pub(crate) fn writer_buffer(&self) -> usize {
        self.max_response_buffer_size.unwrap_or(64 * 1024).max(1)
    }

    /// Checks the limits for consistency, returning a message that names the offending
    /// limit (Kestrel's property name) and its value.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_request_line_size == 0 {
            return Err("Limits.MaxRequestLineSize must be greater than 0".into());
        }
        if self.max_request_headers_total_size == 0 {
            return Err("Limits.MaxRequestHeadersTotalSize must be greater than 0".into());
        }
        if self.max_request_header_count == 0 {
            return Err("Limits.MaxRequestHeaderCount must be greater than 0".into());
        }
        if let Some(buf) = self.max_request_buffer_size {
            if buf < self.max_request_line_size {
                return Err(format!(
                    "Limits.MaxRequestBufferSize ({buf}) must be at least Limits.MaxRequestLineSize ({})",
                    self.max_request_line_size
                ));
            }
            if buf < self.max_request_headers_total_size {
                return Err(format!(
                    "Limits.MaxRequestBufferSize ({buf}) must be at least Limits.MaxRequestHeadersTotalSize ({})",
                    self.max_request_headers_total_size
                ));
            }
        }
        if self.keep_alive_timeout.is_zero() {
            return Err("Limits.KeepAliveTimeout must be greater than 0".into());
        }
        if self.request_headers_timeout.is_zero() {
            return Err("Limits.RequestHeadersTimeout must be greater than 0".into());
        }
        if let Some(r) = &self.min_request_body_data_rate {
            r.check()
                .map_err(|e| format!("Limits.MinRequestBodyDataRate: {e}"))?;
        }
        if let Some(r) = &self.min_response_data_rate {
            r.check()
                .map_err(|e| format!("Limits.MinResponseDataRate: {e}"))?;
        }
        if self.max_concurrent_connections == Some(0) {
            return Err("Limits.MaxConcurrentConnections must be greater than 0 or null".into());
        }
        self.http2.validate()
    }

    /// The most bytes buffered ahead of the parser: the configured request buffer size, or
    /// the head limits when it is unlimited.
    pub(crate) fn read_buffer_cap(&self) -> usize {
        self.max_request_buffer_size
            .unwrap_or(usize::MAX)
            .max(self.max_request_line_size + self.max_request_headers_total_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kestrels() {
        let l = Limits::default();
        assert_eq!(l.max_request_body_size, Some(30_000_000));
        assert_eq!(l.max_request_line_size, 8192);
        assert_eq!(l.max_request_headers_total_size, 32768);
        assert_eq!(l.max_request_header_count, 100);
        assert_eq!(l.max_request_buffer_size, Some(1_048_576));
        assert_eq!(l.max_response_buffer_size, Some(65_536));
        assert_eq!(l.keep_alive_timeout, Duration::from_secs(130));
        assert_eq!(l.request_headers_timeout, Duration::from_secs(30));
        assert_eq!(l.min_request_body_data_rate, Some(MinDataRate::DEFAULT));
        assert!(l.validate().is_ok());
    }

    #[test]
    fn validation_names_the_limit() {
        let l = Limits {
            max_request_buffer_size: Some(100),
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("MaxRequestBufferSize"));
        let l = Limits {
            min_request_body_data_rate: Some(MinDataRate {
                bytes_per_second: 10,
                grace_period: Duration::from_secs(1),
            }),
            ..Limits::default()
        };
        assert!(l.validate().unwrap_err().contains("GracePeriod"));
    }

    #[test]
    fn http2_defaults_are_kestrels() {
        let h = Limits::default().http2;
        assert_eq!(h.max_streams_per_connection, 100);
        assert_eq!(h.header_table_size, 4096);
        assert_eq!(h.max_frame_size, 16_384);
        assert_eq!(h.max_request_header_field_size, 32_768);
        assert_eq!(h.initial_connection_window_size, 1_048_576);
        assert_eq!(h.initial_stream_window_size, 786_432);
        assert_eq!(h.keep_alive_ping_delay, None);
        assert_eq!(h.keep_alive_ping_timeout, Duration::from_secs(20));
        assert!(h.validate().is_ok());
    }

    #[test]
    fn http2_validation_names_the_limit() {
        let bad = |f: fn(&mut Http2Limits)| {
            let mut l = Limits::default();
            f(&mut l.http2);
            l.validate().unwrap_err()
        };
        let e = bad(|h| h.max_streams_per_connection = 0);
        assert!(e.contains("Http2.MaxStreamsPerConnection"), "{e}");
        let e = bad(|h| h.max_frame_size = 16_383);
        assert!(e.contains("Http2.MaxFrameSize"), "{e}");
        let e = bad(|h| h.max_frame_size = 1 << 24);
        assert!(e.contains("Http2.MaxFrameSize"), "{e}");
        let e = bad(|h| h.max_request_header_field_size = 0);
        assert!(e.contains("Http2.MaxRequestHeaderFieldSize"), "{e}");
        let e = bad(|h| h.initial_connection_window_size = 65_534);
        assert!(e.contains("Http2.InitialConnectionWindowSize"), "{e}");
        let e = bad(|h| h.initial_stream_window_size = 1 << 31);
        assert!(e.contains("Http2.InitialStreamWindowSize"), "{e}");
        let e = bad(|h| h.keep_alive_ping_delay = Some(Duration::from_millis(500)));
        assert!(e.contains("Http2.KeepAlivePingDelay"), "{e}");
        let e = bad(|h| h.keep_alive_ping_timeout = Duration::ZERO);
        assert!(e.contains("Http2.KeepAlivePingTimeout"), "{e}");
        // The edges are accepted.
        let mut l = Limits::default();
        l.http2.max_frame_size = 16_777_215;
        l.http2.initial_connection_window_size = 65_535;
        l.http2.initial_stream_window_size = (1 << 31) - 1;
        l.http2.keep_alive_ping_delay = Some(Duration::from_secs(1));
        assert!(l.validate().is_ok());
    }
}

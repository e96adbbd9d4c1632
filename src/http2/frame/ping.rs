//! PING frames (RFC 9113 §6.7): round-trip measurement and liveness.
//!
//! ```text
//! +---------------------------------------------------------------+
//! |                      Opaque Data (64)                         |
//! +---------------------------------------------------------------+
//! ```
//!
//! A PING without ACK must be answered with a PING with ACK and the same data, ahead of
//! other frames where possible. A flood of PINGs is the driver's to limit.

use super::{flag_if, flags, FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId};

/// A PING frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ping {
    /// ACK: this is the answer to a PING.
    pub(crate) ack: bool,
    pub(crate) payload: [u8; 8],
}

impl Ping {
    /// A PING (not an ACK).
    pub(crate) fn new(payload: [u8; 8]) -> Ping {
        Ping {
            ack: false,
            payload,
        }
    }

    /// The answer to a PING carrying `payload`: ACK with the same data.
    pub(crate) fn pong(payload: [u8; 8]) -> Ping {
        Ping { ack: true, payload }
    }

    /// Loads a PING frame: on stream 0, exactly 8 octets (connection errors).
    pub(crate) fn load(header: &FrameHeader, payload: &[u8]) -> Result<Ping, FrameError> {
        if !header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdNonZero, header));
        }
        let Ok(payload) = <[u8; 8]>::try_from(payload) else {
            return Err(FrameError::new(FrameErrorKind::BadLength, header));
        };
        Ok(Ping {
            ack: header.has_flag(flags::ACK),
            payload,
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        FrameHeader::new(
            FrameType::Ping,
            flag_if(self.ack, flags::ACK),
            StreamId::ZERO,
            8,
        )
        .encode(out);
        out.extend_from_slice(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip, load};
    use super::super::{ErrorCode, ErrorScope, Frame};
    use super::*;

    #[test]
    fn round_trips() {
        assert_round_trip(
            b"\x00\x00\x08\x06\x00\x00\x00\x00\x00abcdefgh",
            Frame::Ping(Ping::new(*b"abcdefgh")),
        );
        assert_round_trip(
            b"\x00\x00\x08\x06\x01\x00\x00\x00\x00abcdefgh",
            Frame::Ping(Ping::pong(*b"abcdefgh")),
        );
    }

    #[test]
    fn answering_a_ping() {
        let Frame::Ping(ping) =
            load(b"\x00\x00\x08\x06\xfe\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08").unwrap()
        else {
            panic!()
        };
        assert!(!ping.ack);
        let mut out = Vec::new();
        Ping::pong(ping.payload).encode(&mut out);
        assert_eq!(
            out,
            b"\x00\x00\x08\x06\x01\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08"
        );
    }

    #[test]
    fn on_a_stream() {
        assert_error(
            b"\x00\x00\x08\x06\x00\x00\x00\x00\x01abcdefgh",
            FrameErrorKind::StreamIdNonZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn wrong_length() {
        assert_error(
            b"\x00\x00\x07\x06\x00\x00\x00\x00\x00abcdefg",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x09\x06\x01\x00\x00\x00\x00abcdefghi",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x00\x06\x00\x00\x00\x00\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }
}

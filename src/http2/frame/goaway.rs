//! GOAWAY frames (RFC 9113 §6.8): start the shutdown of a connection, or report a
//! connection error.
//!
//! ```text
//! +-+-------------------------------------------------------------+
//! |R|                  Last-Stream-ID (31)                        |
//! +-+-------------------------------------------------------------+
//! |                      Error Code (32)                          |
//! +---------------------------------------------------------------+
//! |                  Additional Debug Data (*)                    |
//! +---------------------------------------------------------------+
//! ```

use bytes::Bytes;

use super::{ErrorCode, FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId};

/// A GOAWAY frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoAway {
    /// The highest-numbered stream the sender may have acted on.
    pub(crate) last_stream_id: StreamId,
    pub(crate) error_code: ErrorCode,
    /// Diagnostic data, opaque; never logged as if it were trusted text.
    pub(crate) debug_data: Bytes,
}

impl GoAway {
    /// A GOAWAY frame. Keep `debug_data` short: the frame must fit the peer's
    /// SETTINGS_MAX_FRAME_SIZE (16384 octets at least, 8 of them for the fixed fields).
    pub(crate) fn new(last_stream_id: StreamId, error_code: ErrorCode, debug_data: Bytes) -> Self {
        GoAway {
            last_stream_id,
            error_code,
            debug_data,
        }
    }

    /// Loads a GOAWAY frame: on stream 0, at least 8 octets (connection errors). The
    /// reserved bit is ignored.
    pub(crate) fn load(header: &FrameHeader, payload: Bytes) -> Result<GoAway, FrameError> {
        if !header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdNonZero, header));
        }
        let Some(&[s0, s1, s2, s3, c0, c1, c2, c3]) = payload.first_chunk::<8>() else {
            return Err(FrameError::new(FrameErrorKind::BadLength, header));
        };
        Ok(GoAway {
            last_stream_id: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3])),
            error_code: ErrorCode::from_u32(u32::from_be_bytes([c0, c1, c2, c3])),
            debug_data: payload.slice(8..),
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let length = 8 + self.debug_data.len();
        FrameHeader::new(FrameType::GoAway, 0, StreamId::ZERO, length as u32).encode(out);
        out.extend_from_slice(&self.last_stream_id.value().to_be_bytes());
        out.extend_from_slice(&self.error_code.to_u32().to_be_bytes());
        out.extend_from_slice(&self.debug_data);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip, load};
    use super::super::{ErrorScope, Frame};
    use super::*;

    #[test]
    fn round_trips() {
        assert_round_trip(
            b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00",
            Frame::GoAway(GoAway::new(
                StreamId::new(7),
                ErrorCode::NoError,
                Bytes::new(),
            )),
        );
        assert_round_trip(
            b"\x00\x00\x0d\x07\x00\x00\x00\x00\x00\x7f\xff\xff\xff\x00\x00\x00\x0bcalm!",
            Frame::GoAway(GoAway::new(
                StreamId::MAX,
                ErrorCode::EnhanceYourCalm,
                Bytes::from_static(b"calm!"),
            )),
        );
        // An unknown code is kept.
        assert_round_trip(
            b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x01\x00",
            Frame::GoAway(GoAway::new(
                StreamId::new(1),
                ErrorCode::Unknown(0x100),
                Bytes::new(),
            )),
        );
    }

    #[test]
    fn reserved_bit_is_ignored() {
        let frame =
            load(b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x80\x00\x00\x03\x00\x00\x00\x02").unwrap();
        assert_eq!(
            frame,
            Frame::GoAway(GoAway::new(
                StreamId::new(3),
                ErrorCode::InternalError,
                Bytes::new()
            ))
        );
    }

    #[test]
    fn on_a_stream() {
        assert_error(
            b"\x00\x00\x08\x07\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
            FrameErrorKind::StreamIdNonZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn too_short() {
        assert_error(
            b"\x00\x00\x07\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x00\x07\x00\x00\x00\x00\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }
}

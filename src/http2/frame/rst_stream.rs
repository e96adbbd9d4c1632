//! RST_STREAM frames (RFC 9113 §6.4): end a stream at once, with an error code.
//!
//! ```text
//! +---------------------------------------------------------------+
//! |                        Error Code (32)                        |
//! +---------------------------------------------------------------+
//! ```

use super::{ErrorCode, FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId};

/// A RST_STREAM frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RstStream {
    pub(crate) stream_id: StreamId,
    pub(crate) error_code: ErrorCode,
}

impl RstStream {
    /// A RST_STREAM frame, for a stream error.
    pub(crate) fn new(stream_id: StreamId, error_code: ErrorCode) -> RstStream {
        RstStream {
            stream_id,
            error_code,
        }
    }

    /// Loads a RST_STREAM frame: not on stream 0, exactly 4 octets (connection errors).
    pub(crate) fn load(header: &FrameHeader, payload: &[u8]) -> Result<RstStream, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        let Ok(code) = <[u8; 4]>::try_from(payload) else {
            return Err(FrameError::new(FrameErrorKind::BadLength, header));
        };
        Ok(RstStream {
            stream_id: header.stream_id,
            error_code: ErrorCode::from_u32(u32::from_be_bytes(code)),
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        FrameHeader::new(FrameType::RstStream, 0, self.stream_id, 4).encode(out);
        out.extend_from_slice(&self.error_code.to_u32().to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip};
    use super::super::{ErrorScope, Frame};
    use super::*;

    #[test]
    fn round_trips() {
        assert_round_trip(
            b"\x00\x00\x04\x03\x00\x00\x00\x00\x01\x00\x00\x00\x08",
            Frame::RstStream(RstStream::new(StreamId::new(1), ErrorCode::Cancel)),
        );
        assert_round_trip(
            b"\x00\x00\x04\x03\x00\x00\x00\x00\x02\x00\x00\x00\x07",
            Frame::RstStream(RstStream::new(StreamId::new(2), ErrorCode::RefusedStream)),
        );
        // An unknown code is kept.
        assert_round_trip(
            b"\x00\x00\x04\x03\x00\x00\x00\x00\x05\xde\xad\xbe\xef",
            Frame::RstStream(RstStream::new(
                StreamId::new(5),
                ErrorCode::Unknown(0xdead_beef),
            )),
        );
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x04\x03\x00\x00\x00\x00\x00\x00\x00\x00\x08",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn wrong_length() {
        assert_error(
            b"\x00\x00\x03\x03\x00\x00\x00\x00\x01\x00\x00\x08",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x05\x03\x00\x00\x00\x00\x01\x00\x00\x00\x08\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }
}

//! WINDOW_UPDATE frames (RFC 9113 §6.9): flow-control credit for a stream or, on stream 0,
//! for the whole connection.
//!
//! ```text
//! +-+-------------------------------------------------------------+
//! |R|              Window Size Increment (31)                     |
//! +-+-------------------------------------------------------------+
//! ```
//!
//! That the increment does not take a window above 2^31-1 (FLOW_CONTROL_ERROR) is the
//! flow-control layer's check.

use super::{FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId, MAX_WINDOW_SIZE};

/// A WINDOW_UPDATE frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowUpdate {
    /// The stream whose window grows; 0 for the connection's.
    pub(crate) stream_id: StreamId,
    /// 1..=2^31-1 once loaded.
    pub(crate) increment: u32,
}

impl WindowUpdate {
    /// A WINDOW_UPDATE frame; `increment` must be 1..=2^31-1 (it is cut to 31 bits).
    pub(crate) fn new(stream_id: StreamId, increment: u32) -> WindowUpdate {
        debug_assert!((1..=MAX_WINDOW_SIZE).contains(&increment));
        WindowUpdate {
            stream_id,
            increment,
        }
    }

    /// Loads a WINDOW_UPDATE frame: exactly 4 octets (a connection error); an increment of
    /// 0 is a stream error on a stream and a connection error on stream 0. The reserved bit
    /// is ignored.
    pub(crate) fn load(header: &FrameHeader, payload: &[u8]) -> Result<WindowUpdate, FrameError> {
        let Ok(bytes) = <[u8; 4]>::try_from(payload) else {
            return Err(FrameError::new(FrameErrorKind::BadLength, header));
        };
        let increment = u32::from_be_bytes(bytes) & MAX_WINDOW_SIZE;
        if increment == 0 {
            return Err(FrameError::new(FrameErrorKind::ZeroWindowIncrement, header));
        }
        Ok(WindowUpdate {
            stream_id: header.stream_id,
            increment,
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        FrameHeader::new(FrameType::WindowUpdate, 0, self.stream_id, 4).encode(out);
        out.extend_from_slice(&(self.increment & MAX_WINDOW_SIZE).to_be_bytes());
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
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\xff\xff",
            Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, 65_535)),
        );
        assert_round_trip(
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x03\x7f\xff\xff\xff",
            Frame::WindowUpdate(WindowUpdate::new(StreamId::new(3), MAX_WINDOW_SIZE)),
        );
        assert_round_trip(
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x00\x01",
            Frame::WindowUpdate(WindowUpdate::new(StreamId::new(1), 1)),
        );
    }

    #[test]
    fn reserved_bit_is_ignored() {
        let frame = load(b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x80\x00\x00\x0a").unwrap();
        assert_eq!(
            frame,
            Frame::WindowUpdate(WindowUpdate::new(StreamId::new(1), 10))
        );
    }

    #[test]
    fn zero_increment_on_a_stream_is_a_stream_error() {
        assert_error(
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x05\x00\x00\x00\x00",
            FrameErrorKind::ZeroWindowIncrement,
            ErrorCode::ProtocolError,
            ErrorScope::Stream(StreamId::new(5)),
        );
        // Only the reserved bit set is still 0.
        assert_error(
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x05\x80\x00\x00\x00",
            FrameErrorKind::ZeroWindowIncrement,
            ErrorCode::ProtocolError,
            ErrorScope::Stream(StreamId::new(5)),
        );
    }

    #[test]
    fn zero_increment_on_the_connection_is_a_connection_error() {
        assert_error(
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            FrameErrorKind::ZeroWindowIncrement,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn wrong_length_is_a_connection_error() {
        assert_error(
            b"\x00\x00\x03\x08\x00\x00\x00\x00\x01\x00\x00\x01",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x05\x08\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }
}

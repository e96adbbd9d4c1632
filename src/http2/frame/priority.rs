//! PRIORITY frames (RFC 9113 §6.3) and the stream dependency fields they share with HEADERS.
//!
//! RFC 9113 deprecates the RFC 7540 priority scheme (§5.3.2): a server may ignore these
//! signals, but the frames must still be well formed.
//!
//! ```text
//! +-+-------------------------------------------------------------+
//! |E|                 Stream Dependency (31)                      |
//! +-+-------------+-----------------------------------------------+
//! |  Weight (8)   |
//! +---------------+
//! ```

#[cfg(any(test, fuzzing))]
use super::FrameType;
use super::{FrameError, FrameErrorKind, FrameHeader, StreamId};

/// The stream dependency fields of PRIORITY and of HEADERS with the PRIORITY flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamDependency {
    /// The stream this one depends on (0: none).
    pub(crate) dependency: StreamId,
    /// E: the dependency is exclusive.
    pub(crate) exclusive: bool,
    /// The weight as on the wire: the priority weight minus one (0..=255 for 1..=256).
    pub(crate) weight: u8,
}

impl StreamDependency {
    /// The encoded size.
    pub(crate) const LEN: usize = 5;

    /// Reads the 5 octets.
    pub(crate) fn load(bytes: [u8; 5]) -> StreamDependency {
        let [d0, d1, d2, d3, weight] = bytes;
        StreamDependency {
            dependency: StreamId::new(u32::from_be_bytes([d0, d1, d2, d3])),
            exclusive: d0 & 0x80 != 0,
            weight,
        }
    }

    /// The 5 octets.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self) -> [u8; 5] {
        let [d0, d1, d2, d3] = self.dependency.value().to_be_bytes();
        let e = if self.exclusive { 0x80 } else { 0 };
        [d0 | e, d1, d2, d3, self.weight]
    }
}

/// A PRIORITY frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Priority {
    pub(crate) stream_id: StreamId,
    pub(crate) dependency: StreamDependency,
}

impl Priority {
    /// A PRIORITY frame.
    #[cfg(test)]
    pub(crate) fn new(stream_id: StreamId, dependency: StreamDependency) -> Priority {
        Priority {
            stream_id,
            dependency,
        }
    }

    /// Loads a PRIORITY frame: not on stream 0 (connection error), exactly 5 octets and not
    /// depending on its own stream (stream errors). PRIORITY may arrive on a stream in any
    /// state, idle and closed included.
    pub(crate) fn load(header: &FrameHeader, payload: &[u8]) -> Result<Priority, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        let Ok(bytes) = <[u8; 5]>::try_from(payload) else {
            return Err(FrameError::new(FrameErrorKind::BadLength, header));
        };
        let dependency = StreamDependency::load(bytes);
        if dependency.dependency == header.stream_id {
            return Err(FrameError::new(FrameErrorKind::DependsOnItself, header));
        }
        Ok(Priority {
            stream_id: header.stream_id,
            dependency,
        })
    }

    /// Appends the frame.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        FrameHeader::new(FrameType::Priority, 0, self.stream_id, 5).encode(out);
        out.extend_from_slice(&self.dependency.encode());
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip};
    use super::super::{ErrorCode, ErrorScope, Frame};
    use super::*;

    #[test]
    fn round_trips() {
        assert_round_trip(
            b"\x00\x00\x05\x02\x00\x00\x00\x00\x03\x80\x00\x00\x01\xff",
            Frame::Priority(Priority::new(
                StreamId::new(3),
                StreamDependency {
                    dependency: StreamId::new(1),
                    exclusive: true,
                    weight: 255,
                },
            )),
        );
        assert_round_trip(
            b"\x00\x00\x05\x02\x00\x00\x00\x00\x05\x00\x00\x00\x00\x0f",
            Frame::Priority(Priority::new(
                StreamId::new(5),
                StreamDependency {
                    dependency: StreamId::ZERO,
                    exclusive: false,
                    weight: 15,
                },
            )),
        );
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x05\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x0f",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn wrong_length_is_a_stream_error() {
        assert_error(
            b"\x00\x00\x04\x02\x00\x00\x00\x00\x03\x00\x00\x00\x01",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Stream(StreamId::new(3)),
        );
        assert_error(
            b"\x00\x00\x06\x02\x00\x00\x00\x00\x03\x00\x00\x00\x01\x0f\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Stream(StreamId::new(3)),
        );
    }

    #[test]
    fn depending_on_itself_is_a_stream_error() {
        // Exclusive or not, the E bit is not part of the identifier.
        for e in [0x00u8, 0x80] {
            let bytes = [0, 0, 5, 0x2, 0, 0, 0, 0, 7, e, 0, 0, 7, 0x10];
            assert_error(
                &bytes,
                FrameErrorKind::DependsOnItself,
                ErrorCode::ProtocolError,
                ErrorScope::Stream(StreamId::new(7)),
            );
        }
    }
}

//! CONTINUATION frames (RFC 9113 §6.10): the rest of a header block begun by HEADERS or
//! PUSH_PROMISE.
//!
//! ```text
//! +---------------------------------------------------------------+
//! |                   Field Block Fragment (*)                    |
//! +---------------------------------------------------------------+
//! ```
//!
//! That a CONTINUATION follows a HEADERS, PUSH_PROMISE or CONTINUATION without END_HEADERS
//! on the same stream, with no other frame between, is the driver's check (a connection
//! error PROTOCOL_ERROR otherwise). So is a cap on the joined block: a peer can send
//! CONTINUATION frames without end, each one small.

use bytes::Bytes;

use super::{flag_if, flags, FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId};

/// A CONTINUATION frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Continuation {
    pub(crate) stream_id: StreamId,
    /// The field block fragment, HPACK-encoded (a slice of the received payload).
    pub(crate) fragment: Bytes,
    /// END_HEADERS: the block ends here.
    pub(crate) end_headers: bool,
}

impl Continuation {
    /// Loads a CONTINUATION frame: not on stream 0.
    pub(crate) fn load(header: &FrameHeader, payload: Bytes) -> Result<Continuation, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        Ok(Continuation {
            stream_id: header.stream_id,
            fragment: payload,
            end_headers: header.has_flag(flags::END_HEADERS),
        })
    }

    /// Appends the frame.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        Continuation::encode_fragment(self.stream_id, &self.fragment, self.end_headers, out);
    }

    /// Appends a CONTINUATION frame carrying `fragment`.
    pub(crate) fn encode_fragment(
        stream_id: StreamId,
        fragment: &[u8],
        end_headers: bool,
        out: &mut Vec<u8>,
    ) {
        FrameHeader::new(
            FrameType::Continuation,
            flag_if(end_headers, flags::END_HEADERS),
            stream_id,
            fragment.len() as u32,
        )
        .encode(out);
        out.extend_from_slice(fragment);
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
            b"\x00\x00\x02\x09\x04\x00\x00\x00\x01\x86\x84",
            Frame::Continuation(Continuation {
                stream_id: StreamId::new(1),
                fragment: Bytes::from_static(b"\x86\x84"),
                end_headers: true,
            }),
        );
        assert_round_trip(
            b"\x00\x00\x00\x09\x00\x00\x00\x00\x03",
            Frame::Continuation(Continuation {
                stream_id: StreamId::new(3),
                fragment: Bytes::new(),
                end_headers: false,
            }),
        );
    }

    #[test]
    fn unknown_flags_are_dropped() {
        // END_STREAM and PADDED mean nothing on CONTINUATION.
        let frame = load(b"\x00\x00\x01\x09\x09\x00\x00\x00\x01\x82").unwrap();
        let Frame::Continuation(c) = frame else {
            panic!()
        };
        assert!(!c.end_headers);
        assert_eq!(&c.fragment[..], b"\x82");
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x01\x09\x04\x00\x00\x00\x00\x82",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }
}

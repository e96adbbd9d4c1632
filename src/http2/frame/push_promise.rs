//! PUSH_PROMISE frames (RFC 9113 §6.6): a server announcing a stream it will push.
//!
//! A client never sends one: a server that receives it answers with a connection error
//! PROTOCOL_ERROR (§8.4), which is the driver's check. This layer loads and encodes it all
//! the same, so that the frame is recognised (and its header block fragment reaches the
//! HPACK decoder if the driver wants to keep the tables in sync before closing).
//!
//! ```text
//! +---------------+-----------------------------------------------+
//! |Pad Length? (8)|R|          Promised Stream ID (31)            |
//! +---------------+-----------------------------------------------+
//! |                   Field Block Fragment (*)                    |
//! +---------------------------------------------------------------+
//! |                           Padding (*)                         |
//! +---------------------------------------------------------------+
//! ```

use bytes::Bytes;

#[cfg(any(test, fuzzing))]
use super::{encode_padded, flag_if, FrameType};
use super::{flags, strip_padding, FrameError, FrameErrorKind, FrameHeader, StreamId};

/// A PUSH_PROMISE frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushPromise {
    /// The stream of the request the push belongs to.
    pub(crate) stream_id: StreamId,
    /// The stream the server will push on.
    pub(crate) promised_id: StreamId,
    /// The field block fragment, HPACK-encoded (a slice of the received payload).
    pub(crate) fragment: Bytes,
    /// END_HEADERS: the block ends here; otherwise CONTINUATION frames follow.
    pub(crate) end_headers: bool,
    /// The padding length when PADDED was set; on encode, that many zero octets.
    pub(crate) pad_len: Option<u8>,
}

impl PushPromise {
    /// A PUSH_PROMISE frame with END_HEADERS, unpadded.
    #[cfg(test)]
    pub(crate) fn new(stream_id: StreamId, promised_id: StreamId, fragment: Bytes) -> Self {
        PushPromise {
            stream_id,
            promised_id,
            fragment,
            end_headers: true,
            pad_len: None,
        }
    }

    /// Loads a PUSH_PROMISE frame: not on stream 0, padding shorter than the payload, room
    /// for the promised stream identifier (connection errors). The reserved bit is ignored.
    pub(crate) fn load(header: &FrameHeader, payload: Bytes) -> Result<PushPromise, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        let (pad_len, rest) = strip_padding(header, payload)?;
        let Some(&promised) = rest.first_chunk::<4>() else {
            return Err(FrameError::new(FrameErrorKind::TooShort, header));
        };
        Ok(PushPromise {
            stream_id: header.stream_id,
            promised_id: StreamId::new(u32::from_be_bytes(promised)),
            fragment: rest.slice(4..),
            end_headers: header.has_flag(flags::END_HEADERS),
            pad_len,
        })
    }

    /// Appends the frame.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        encode_padded(
            FrameType::PushPromise,
            flag_if(self.end_headers, flags::END_HEADERS),
            self.stream_id,
            self.pad_len,
            &self.promised_id.value().to_be_bytes(),
            &self.fragment,
            out,
        );
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
            b"\x00\x00\x06\x05\x04\x00\x00\x00\x01\x00\x00\x00\x02\x82\x87",
            Frame::PushPromise(PushPromise::new(
                StreamId::new(1),
                StreamId::new(2),
                Bytes::from_static(b"\x82\x87"),
            )),
        );
        // PADDED, no END_HEADERS, empty fragment.
        assert_round_trip(
            b"\x00\x00\x07\x05\x08\x00\x00\x00\x03\x02\x00\x00\x00\x04\x00\x00",
            Frame::PushPromise(PushPromise {
                end_headers: false,
                pad_len: Some(2),
                ..PushPromise::new(StreamId::new(3), StreamId::new(4), Bytes::new())
            }),
        );
    }

    #[test]
    fn reserved_bit_is_ignored() {
        let Frame::PushPromise(p) =
            load(b"\x00\x00\x04\x05\x04\x00\x00\x00\x01\x80\x00\x00\x02").unwrap()
        else {
            panic!()
        };
        assert_eq!(p.promised_id, StreamId::new(2));
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x04\x05\x04\x00\x00\x00\x00\x00\x00\x00\x02",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn padding_as_long_as_the_payload() {
        assert_error(
            b"\x00\x00\x05\x05\x0c\x00\x00\x00\x01\x05\x00\x00\x00\x02",
            FrameErrorKind::BadPadding,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn too_short_for_the_promised_stream() {
        assert_error(
            b"\x00\x00\x03\x05\x04\x00\x00\x00\x01\x00\x00\x02",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        // Padding leaving 3 octets.
        assert_error(
            b"\x00\x00\x05\x05\x0c\x00\x00\x00\x01\x01\x00\x00\x02\x00",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }
}

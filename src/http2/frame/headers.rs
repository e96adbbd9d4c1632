//! HEADERS frames (RFC 9113 §6.2): open a stream and carry (the start of) a header block.
//!
//! ```text
//! +---------------+-----------------------------------------------+
//! |Pad Length? (8)| [E (1), Stream Dependency (31), Weight (8)]?  |
//! +---------------+-----------------------------------------------+
//! |                   Field Block Fragment (*)                    |
//! +---------------------------------------------------------------+
//! |                           Padding (*)                         |
//! +---------------------------------------------------------------+
//! ```
//!
//! The fragment stays HPACK-encoded here; the driver joins it with any CONTINUATION
//! fragments and hands the block to the HPACK decoder.

use bytes::Bytes;

use super::continuation::Continuation;
use super::priority::StreamDependency;
use super::{
    encode_padded, flag_if, flags, strip_padding, FrameError, FrameErrorKind, FrameHeader,
    FrameType, StreamId, MAX_MAX_FRAME_SIZE,
};

/// A HEADERS frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Headers {
    pub(crate) stream_id: StreamId,
    /// The field block fragment, HPACK-encoded (a slice of the received payload).
    pub(crate) fragment: Bytes,
    /// END_STREAM: no DATA follows (trailers, or a request or response without a body).
    pub(crate) end_stream: bool,
    /// END_HEADERS: the block ends here; otherwise CONTINUATION frames follow.
    pub(crate) end_headers: bool,
    /// The padding length when PADDED was set; on encode, that many zero octets.
    pub(crate) pad_len: Option<u8>,
    /// The stream dependency fields when the PRIORITY flag was set.
    pub(crate) priority: Option<StreamDependency>,
}

impl Headers {
    /// A HEADERS frame with END_HEADERS, without END_STREAM, padding or priority.
    #[cfg(test)]
    pub(crate) fn new(stream_id: StreamId, fragment: Bytes) -> Headers {
        Headers {
            stream_id,
            fragment,
            end_stream: false,
            end_headers: true,
            pad_len: None,
            priority: None,
        }
    }

    /// Loads a HEADERS frame: not on stream 0, padding shorter than the payload, room for
    /// the priority fields when flagged (all connection errors).
    ///
    /// A HEADERS frame whose priority fields name its own stream is *not* refused here,
    /// although that is a stream error (RFC 9113 §5.3.1): its field block must still go
    /// through the HPACK decoder, or the peer's and our dynamic tables part ways and the
    /// connection is lost (§4.3). The driver decodes the block (with its CONTINUATION
    /// frames), then calls [`check_dependency`](Headers::check_dependency) and resets the
    /// stream if it fails.
    pub(crate) fn load(header: &FrameHeader, payload: Bytes) -> Result<Headers, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        let (pad_len, mut fragment) = strip_padding(header, payload)?;
        let mut priority = None;
        if header.has_flag(flags::PRIORITY) {
            let Some(&fields) = fragment.first_chunk::<{ StreamDependency::LEN }>() else {
                return Err(FrameError::new(FrameErrorKind::TooShort, header));
            };
            priority = Some(StreamDependency::load(fields));
            fragment = fragment.slice(StreamDependency::LEN..);
        }
        Ok(Headers {
            stream_id: header.stream_id,
            fragment,
            end_stream: header.has_flag(flags::END_STREAM),
            end_headers: header.has_flag(flags::END_HEADERS),
            pad_len,
            priority,
        })
    }

    /// The stream error for a HEADERS frame that depends on its own stream (RFC 9113
    /// §5.3.1): [`DependsOnItself`](FrameErrorKind::DependsOnItself), PROTOCOL_ERROR on
    /// this stream. To be checked after the field block was decoded; see
    /// [`load`](Headers::load).
    pub(crate) fn check_dependency(&self) -> Result<(), FrameError> {
        match self.priority {
            Some(p) if p.dependency == self.stream_id => Err(FrameError::new(
                FrameErrorKind::DependsOnItself,
                &self.frame_header(),
            )),
            _ => Ok(()),
        }
    }

    fn flags(&self) -> u8 {
        flag_if(self.end_stream, flags::END_STREAM)
            | flag_if(self.end_headers, flags::END_HEADERS)
            | flag_if(self.priority.is_some(), flags::PRIORITY)
            | flag_if(self.pad_len.is_some(), flags::PADDED)
    }

    /// The header this frame is encoded with.
    fn frame_header(&self) -> FrameHeader {
        let mut length = self.fragment.len();
        if self.priority.is_some() {
            length += StreamDependency::LEN;
        }
        if let Some(pad) = self.pad_len {
            length += 1 + usize::from(pad);
        }
        FrameHeader::new(
            FrameType::Headers,
            self.flags(),
            self.stream_id,
            length as u32,
        )
    }

    /// Appends the frame. The caller keeps it within the peer's SETTINGS_MAX_FRAME_SIZE;
    /// [`encode_headers`] splits.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let fields = self.priority.map(|p| p.encode());
        encode_padded(
            FrameType::Headers,
            self.flags(),
            self.stream_id,
            self.pad_len,
            fields.as_ref().map_or(&[][..], |f| &f[..]),
            &self.fragment,
            out,
        );
    }
}

/// Appends the HPACK-encoded header `block` on `stream_id`: a HEADERS frame, followed by
/// CONTINUATION frames if the block is longer than `max_frame_size` (the peer's
/// SETTINGS_MAX_FRAME_SIZE), END_HEADERS on the last frame, END_STREAM on the HEADERS frame
/// if `end_stream`. Unpadded, without priority. The frames must go out back to back: no
/// other frame may come between them on the connection (RFC 9113 §6.10).
pub(crate) fn encode_headers(
    stream_id: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
    out: &mut Vec<u8>,
) {
    let max = max_frame_size.clamp(1, MAX_MAX_FRAME_SIZE) as usize;
    let (first, mut rest) = block.split_at(block.len().min(max));
    encode_padded(
        FrameType::Headers,
        flag_if(end_stream, flags::END_STREAM) | flag_if(rest.is_empty(), flags::END_HEADERS),
        stream_id,
        None,
        &[],
        first,
        out,
    );
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rest.len().min(max));
        rest = tail;
        Continuation::encode_fragment(stream_id, chunk, rest.is_empty(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip, load};
    use super::super::{decode_frame, ErrorCode, ErrorScope, Frame};
    use super::*;

    fn headers(stream: u32, fragment: &'static [u8]) -> Headers {
        Headers::new(StreamId::new(stream), Bytes::from_static(fragment))
    }

    #[test]
    fn round_trips() {
        // END_STREAM | END_HEADERS, a GET of RFC 7541 C.3.1.
        assert_round_trip(
            b"\x00\x00\x04\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41",
            Frame::Headers(Headers {
                end_stream: true,
                ..headers(1, b"\x82\x86\x84\x41")
            }),
        );
        // No END_HEADERS: CONTINUATION follows.
        assert_round_trip(
            b"\x00\x00\x01\x01\x00\x00\x00\x00\x03\x82",
            Frame::Headers(Headers {
                end_headers: false,
                ..headers(3, b"\x82")
            }),
        );
        // PRIORITY | END_HEADERS: exclusive on stream 1, weight 16.
        assert_round_trip(
            b"\x00\x00\x06\x01\x24\x00\x00\x00\x03\x80\x00\x00\x01\x0f\x82",
            Frame::Headers(Headers {
                priority: Some(StreamDependency {
                    dependency: StreamId::new(1),
                    exclusive: true,
                    weight: 15,
                }),
                ..headers(3, b"\x82")
            }),
        );
        // PADDED | PRIORITY | END_HEADERS | END_STREAM.
        assert_round_trip(
            b"\x00\x00\x0a\x01\x2d\x00\x00\x00\x05\x02\x00\x00\x00\x03\xff\x82\x86\x00\x00",
            Frame::Headers(Headers {
                end_stream: true,
                pad_len: Some(2),
                priority: Some(StreamDependency {
                    dependency: StreamId::new(3),
                    exclusive: false,
                    weight: 255,
                }),
                ..headers(5, b"\x82\x86")
            }),
        );
        // An empty fragment is fine at this layer.
        assert_round_trip(
            b"\x00\x00\x00\x01\x04\x00\x00\x00\x01",
            Frame::Headers(headers(1, b"")),
        );
    }

    #[test]
    fn unknown_flags_are_dropped() {
        // 0xd4: END_HEADERS and the unknown bits 0x10, 0x40, 0x80.
        let frame = load(b"\x00\x00\x01\x01\xd4\x00\x00\x00\x01\x82").unwrap();
        assert_eq!(frame, Frame::Headers(headers(1, b"\x82")));
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x01\x01\x04\x00\x00\x00\x00\x82",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn padding_edge_cases() {
        // Padding filling the payload but for the Pad Length octet.
        let Frame::Headers(h) = load(b"\x00\x00\x03\x01\x0c\x00\x00\x00\x01\x02\x00\x00").unwrap()
        else {
            panic!()
        };
        assert_eq!((h.pad_len, h.fragment.len()), (Some(2), 0));
        // Padding as long as the payload.
        assert_error(
            b"\x00\x00\x03\x01\x0c\x00\x00\x00\x01\x03\x00\x00",
            FrameErrorKind::BadPadding,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
        // PADDED without the octet.
        assert_error(
            b"\x00\x00\x00\x01\x0c\x00\x00\x00\x01",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        // Padding that leaves no room for the priority fields: padding 3 of a 7-octet
        // payload leaves 3 octets for 5.
        assert_error(
            b"\x00\x00\x07\x01\x2c\x00\x00\x00\x01\x03\x00\x00\x00\x00\x00\x00",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn priority_flag_without_the_fields() {
        assert_error(
            b"\x00\x00\x04\x01\x24\x00\x00\x00\x01\x00\x00\x00\x00",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn depending_on_itself_is_a_stream_error_after_the_block() {
        let bytes = b"\x00\x00\x06\x01\x25\x00\x00\x00\x03\x80\x00\x00\x03\x0f\x82";
        // Loads, so that the block reaches the HPACK decoder...
        let Frame::Headers(h) = load(bytes).unwrap() else {
            panic!()
        };
        assert_eq!(&h.fragment[..], b"\x82");
        // ...and then fails the check.
        let err = h.check_dependency().unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::DependsOnItself);
        assert_eq!(err.code(), ErrorCode::ProtocolError);
        assert_eq!(err.scope(), ErrorScope::Stream(StreamId::new(3)));
        assert_eq!(err.frame_len(), bytes.len());
        assert_eq!(
            err.header(),
            &FrameHeader::load(bytes[..9].try_into().unwrap())
        );
        // Other dependencies, and none, pass.
        assert_eq!(headers(3, b"").check_dependency(), Ok(()));
        let Frame::Headers(h) =
            load(b"\x00\x00\x06\x01\x24\x00\x00\x00\x03\x00\x00\x00\x01\x0f\x82").unwrap()
        else {
            panic!()
        };
        assert_eq!(h.check_dependency(), Ok(()));
    }

    /// Decodes the frames of `bytes`.
    fn all_frames(mut bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let (frame, used) = decode_frame(bytes, 16_384).unwrap().unwrap();
            frames.push(frame);
            bytes = &bytes[used..];
        }
        frames
    }

    #[test]
    fn encode_headers_fits_in_one_frame() {
        let mut out = Vec::new();
        encode_headers(StreamId::new(1), b"\x88", true, 16_384, &mut out);
        assert_eq!(out, b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x88");
        let mut out = Vec::new();
        encode_headers(StreamId::new(1), b"\x88\x89", false, 2, &mut out);
        assert_eq!(out, b"\x00\x00\x02\x01\x04\x00\x00\x00\x01\x88\x89");
    }

    #[test]
    fn encode_headers_splits_into_continuation() {
        let mut out = Vec::new();
        encode_headers(StreamId::new(3), b"abcdefg", true, 3, &mut out);
        assert_eq!(
            out,
            [
                &b"\x00\x00\x03\x01\x01\x00\x00\x00\x03abc"[..],
                b"\x00\x00\x03\x09\x00\x00\x00\x00\x03def",
                b"\x00\x00\x01\x09\x04\x00\x00\x00\x03g",
            ]
            .concat()
        );
        // At the real minimum size.
        let block: Vec<u8> = (0..40_000u32).map(|i| (i * 7) as u8).collect();
        let mut out = Vec::new();
        encode_headers(StreamId::new(9), &block, false, 16_384, &mut out);
        let frames = all_frames(&out);
        assert_eq!(frames.len(), 3);
        let Frame::Headers(h) = &frames[0] else {
            panic!()
        };
        assert!(!h.end_headers && !h.end_stream && h.fragment.len() == 16_384);
        let mut joined = h.fragment.to_vec();
        for (i, frame) in frames[1..].iter().enumerate() {
            let Frame::Continuation(c) = frame else {
                panic!()
            };
            assert_eq!(c.stream_id, StreamId::new(9));
            assert_eq!(c.end_headers, i == 1);
            joined.extend_from_slice(&c.fragment);
        }
        assert_eq!(joined, block);
    }

    #[test]
    fn encode_headers_empty_block() {
        let mut out = Vec::new();
        encode_headers(StreamId::new(1), b"", false, 16_384, &mut out);
        assert_eq!(out, b"\x00\x00\x00\x01\x04\x00\x00\x00\x01");
    }
}

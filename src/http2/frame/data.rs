//! DATA frames (RFC 9113 §6.1): a piece of a request or response body.
//!
//! ```text
//! +---------------+-----------------------------------------------+
//! |Pad Length? (8)| Data (*) | Padding (*)                        |
//! +---------------+-----------------------------------------------+
//! ```

use bytes::Bytes;

use super::{
    encode_padded, flag_if, flags, strip_padding, FrameError, FrameErrorKind, FrameHeader,
    FrameType, StreamId, MAX_MAX_FRAME_SIZE,
};

/// A DATA frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Data {
    pub(crate) stream_id: StreamId,
    /// The data, without the padding (a slice of the received payload).
    pub(crate) data: Bytes,
    /// END_STREAM: the sender's last frame on the stream.
    pub(crate) end_stream: bool,
    /// The padding length when PADDED was set; on encode, that many zero octets.
    pub(crate) pad_len: Option<u8>,
}

impl Data {
    /// An unpadded DATA frame without END_STREAM.
    #[cfg(test)]
    pub(crate) fn new(stream_id: StreamId, data: Bytes) -> Data {
        Data {
            stream_id,
            data,
            end_stream: false,
            pad_len: None,
        }
    }

    /// Loads a DATA frame: not on stream 0, padding shorter than the payload.
    pub(crate) fn load(header: &FrameHeader, payload: Bytes) -> Result<Data, FrameError> {
        if header.stream_id.is_zero() {
            return Err(FrameError::new(FrameErrorKind::StreamIdZero, header));
        }
        let (pad_len, data) = strip_padding(header, payload)?;
        Ok(Data {
            stream_id: header.stream_id,
            data,
            end_stream: header.has_flag(flags::END_STREAM),
            pad_len,
        })
    }

    /// What the frame counts against the flow-control windows: the whole payload, Pad
    /// Length octet and padding included (RFC 9113 §6.1).
    pub(crate) fn flow_controlled_len(&self) -> usize {
        match self.pad_len {
            Some(pad) => 1 + self.data.len() + usize::from(pad),
            None => self.data.len(),
        }
    }

    /// Appends the frame. The caller keeps it within the peer's SETTINGS_MAX_FRAME_SIZE;
    /// [`encode_data`] splits.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        encode_padded(
            FrameType::Data,
            flag_if(self.end_stream, flags::END_STREAM),
            self.stream_id,
            self.pad_len,
            &[],
            &self.data,
            out,
        );
    }
}

/// Appends `data` as DATA frames on `stream_id` of at most `max_frame_size` octets each (the
/// peer's SETTINGS_MAX_FRAME_SIZE), unpadded, END_STREAM on the last if `end_stream`.
/// Always writes at least one frame, so empty `data` with `end_stream` ends the stream.
/// Flow control is the caller's: `data` must fit the stream's and the connection's windows.
pub(crate) fn encode_data(
    stream_id: StreamId,
    data: &[u8],
    end_stream: bool,
    max_frame_size: u32,
    out: &mut Vec<u8>,
) {
    let max = max_frame_size.clamp(1, MAX_MAX_FRAME_SIZE) as usize;
    let mut chunks = data.chunks(max).peekable();
    if chunks.peek().is_none() {
        encode_padded(
            FrameType::Data,
            flag_if(end_stream, flags::END_STREAM),
            stream_id,
            None,
            &[],
            &[],
            out,
        );
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        encode_padded(
            FrameType::Data,
            flag_if(last && end_stream, flags::END_STREAM),
            stream_id,
            None,
            &[],
            chunk,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_error, assert_round_trip, load};
    use super::super::{decode_frame, ErrorCode, ErrorScope, Frame};
    use super::*;

    fn data(stream: u32, bytes: &'static [u8]) -> Data {
        Data::new(StreamId::new(stream), Bytes::from_static(bytes))
    }

    #[test]
    fn round_trips() {
        assert_round_trip(
            b"\x00\x00\x05\x00\x00\x00\x00\x00\x01hello",
            Frame::Data(data(1, b"hello")),
        );
        assert_round_trip(
            b"\x00\x00\x00\x00\x01\x00\x00\x00\x03",
            Frame::Data(Data {
                end_stream: true,
                ..data(3, b"")
            }),
        );
        // PADDED: Pad Length 3, "hi", three zero octets.
        assert_round_trip(
            b"\x00\x00\x06\x00\x09\x00\x00\x00\x01\x03hi\x00\x00\x00",
            Frame::Data(Data {
                end_stream: true,
                pad_len: Some(3),
                ..data(1, b"hi")
            }),
        );
    }

    #[test]
    fn unknown_flags_are_dropped() {
        // Flags 0xf6: END_STREAM and PADDED clear, all others set.
        let frame = load(b"\x00\x00\x01\x00\xf6\x00\x00\x00\x01x").unwrap();
        assert_eq!(frame, Frame::Data(data(1, b"x")));
    }

    #[test]
    fn padding_edge_cases() {
        // Pad Length 0: just the octet.
        let frame = load(b"\x00\x00\x01\x00\x08\x00\x00\x00\x01\x00").unwrap();
        let Frame::Data(d) = frame else { panic!() };
        assert_eq!((d.pad_len, &d.data[..]), (Some(0), &b""[..]));
        assert_eq!(d.flow_controlled_len(), 1);
        // Padding filling the payload but for the Pad Length octet: no data.
        let frame = load(b"\x00\x00\x04\x00\x08\x00\x00\x00\x01\x03\x00\x00\x00").unwrap();
        let Frame::Data(d) = frame else { panic!() };
        assert_eq!((d.pad_len, d.data.len()), (Some(3), 0));
        assert_eq!(d.flow_controlled_len(), 4);
        // Non-zero padding octets are accepted (rejecting them is a MAY).
        let frame = load(b"\x00\x00\x03\x00\x08\x00\x00\x00\x01\x01a\xff").unwrap();
        let Frame::Data(d) = frame else { panic!() };
        assert_eq!(&d.data[..], b"a");
        // The most padding: 255.
        let mut bytes = b"\x00\x01\x01\x00\x08\x00\x00\x00\x01\xff".to_vec();
        bytes.resize(9 + 257, 0);
        bytes[10] = b'z';
        let Frame::Data(d) = load(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!((&d.data[..], d.pad_len), (&b"z"[..], Some(255)));
        assert_eq!(d.flow_controlled_len(), 257);
    }

    #[test]
    fn padding_as_long_as_the_payload() {
        // Pad Length 4 in a payload of 4 octets.
        assert_error(
            b"\x00\x00\x04\x00\x08\x00\x00\x00\x01\x04\x00\x00\x00",
            FrameErrorKind::BadPadding,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
        // Pad Length 1 in a payload of 1 octet.
        assert_error(
            b"\x00\x00\x01\x00\x08\x00\x00\x00\x01\x01",
            FrameErrorKind::BadPadding,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
        // Pad Length 255 in a short payload.
        assert_error(
            b"\x00\x00\x02\x00\x08\x00\x00\x00\x01\xffa",
            FrameErrorKind::BadPadding,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn padded_without_the_pad_length_octet() {
        assert_error(
            b"\x00\x00\x00\x00\x08\x00\x00\x00\x01",
            FrameErrorKind::TooShort,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn stream_zero() {
        assert_error(
            b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x",
            FrameErrorKind::StreamIdZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    /// Decodes every frame of `bytes` as DATA.
    fn all_data(mut bytes: &[u8], max: u32) -> Vec<Data> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let (frame, used) = decode_frame(bytes, max).unwrap().unwrap();
            let Frame::Data(d) = frame else {
                panic!("{frame:?}")
            };
            frames.push(d);
            bytes = &bytes[used..];
        }
        frames
    }

    #[test]
    fn encode_data_splits_by_max_frame_size() {
        let body: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        encode_data(StreamId::new(5), &body, true, 16_384, &mut out);
        let frames = all_data(&out, 16_384);
        let lens: Vec<usize> = frames.iter().map(|d| d.data.len()).collect();
        assert_eq!(lens, [16_384, 16_384, 7_232]);
        let ends: Vec<bool> = frames.iter().map(|d| d.end_stream).collect();
        assert_eq!(ends, [false, false, true]);
        assert!(frames
            .iter()
            .all(|d| d.stream_id == StreamId::new(5) && d.pad_len.is_none()));
        let joined: Vec<u8> = frames.iter().flat_map(|d| d.data.to_vec()).collect();
        assert_eq!(joined, body);

        // An exact multiple: no empty trailing frame.
        let mut out = Vec::new();
        encode_data(StreamId::new(1), b"abcdef", false, 3, &mut out);
        assert_eq!(
            out,
            b"\x00\x00\x03\x00\x00\x00\x00\x00\x01abc\x00\x00\x03\x00\x00\x00\x00\x00\x01def"
        );
    }

    #[test]
    fn encode_data_empty() {
        let mut out = Vec::new();
        encode_data(StreamId::new(1), b"", true, 16_384, &mut out);
        assert_eq!(out, b"\x00\x00\x00\x00\x01\x00\x00\x00\x01");
        let mut out = Vec::new();
        encode_data(StreamId::new(1), b"", false, 16_384, &mut out);
        assert_eq!(out, b"\x00\x00\x00\x00\x00\x00\x00\x00\x01");
        // A zero limit is taken as 1 rather than looping.
        let mut out = Vec::new();
        encode_data(StreamId::new(1), b"ab", true, 0, &mut out);
        assert_eq!(all_data(&out, 16_384).len(), 2);
    }
}

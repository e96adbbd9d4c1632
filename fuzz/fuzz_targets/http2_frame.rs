//! HTTP/2 frame decoder (src/http2/frame).
//!
//! Invariants: a frame is decoded only when all 9 + length octets are there, and exactly
//! those are taken; an incomplete frame takes nothing; an invalid one is removed whole
//! (except TooLarge, reported from the header alone, which takes nothing); a frame longer
//! than max_frame_size is never decoded; a decoded frame re-encodes to octets that decode
//! to the same frame (padding aside), no longer than the original; no panic.
#![no_main]

use bytes::BytesMut;
use falconet::fuzzing::http2::decode_frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let max_frame_size = [16_384, (1 << 24) - 1, 16_385, 100_000][usize::from(sel & 3)];
    let mut buf = BytesMut::from(input);
    loop {
        let before = buf.len();
        let declared = (before >= 9).then(|| {
            (usize::from(buf[0]) << 16) | (usize::from(buf[1]) << 8) | usize::from(buf[2])
        });
        match decode_frame(&mut buf, max_frame_size) {
            Ok(None) => {
                assert_eq!(buf.len(), before, "an incomplete frame took octets");
                match declared {
                    None => {}
                    Some(len) => assert!(before < 9 + len),
                }
                break;
            }
            Ok(Some(frame)) => {
                let len = declared.expect("a frame from fewer than 9 octets");
                assert!(len <= max_frame_size as usize);
                assert_eq!(
                    before - buf.len(),
                    9 + len,
                    "took the wrong number of octets"
                );
                assert!(frame.encoded.len() <= 9 + len);
                let mut again = BytesMut::from(&frame.encoded[..]);
                match decode_frame(&mut again, max_frame_size) {
                    Ok(Some(f2)) => {
                        assert_eq!(f2.debug, frame.debug, "round trip changed the frame");
                        assert_eq!(f2.encoded, frame.encoded);
                        assert_eq!(f2.stream_id, frame.stream_id);
                        assert!(again.is_empty());
                    }
                    other => panic!("re-encoded {frame:?} does not decode: {other:?}"),
                }
            }
            Err((kind, frame_len)) => {
                let len = declared.expect("an error from fewer than 9 octets");
                assert_eq!(frame_len, 9 + len);
                if kind.contains("kind: TooLarge,") {
                    assert!(len > max_frame_size as usize);
                    assert_eq!(buf.len(), before, "TooLarge took octets");
                    break;
                }
                assert_eq!(
                    before - buf.len(),
                    frame_len,
                    "an invalid frame was not removed whole"
                );
            }
        }
    }
});

//! SETTINGS frames (RFC 9113 §6.5): the sender's configuration, and its acknowledgement.
//!
//! ```text
//! +-------------------------------+
//! |       Identifier (16)         |
//! +-------------------------------+-------------------------------+
//! |                        Value (32)                             |
//! +---------------------------------------------------------------+
//! ```
//! (repeated)
//!
//! Parameters are validated at load (§6.5.2); unknown identifiers are ignored (§6.5.2). A
//! parameter that appears more than once keeps its last value, which is what processing
//! them in order yields (§6.5.3). Limiting how often a peer may send SETTINGS is the
//! driver's job.

use super::{
    flag_if, flags, FrameError, FrameErrorKind, FrameHeader, FrameType, StreamId,
    DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE,
};

/// SETTINGS_HEADER_TABLE_SIZE.
const HEADER_TABLE_SIZE: u16 = 0x1;
/// SETTINGS_ENABLE_PUSH.
const ENABLE_PUSH: u16 = 0x2;
/// SETTINGS_MAX_CONCURRENT_STREAMS.
const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_INITIAL_WINDOW_SIZE.
const INITIAL_WINDOW_SIZE: u16 = 0x4;
/// SETTINGS_MAX_FRAME_SIZE.
const MAX_FRAME_SIZE: u16 = 0x5;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
const MAX_HEADER_LIST_SIZE: u16 = 0x6;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
/// SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218 §2.1).
const NO_RFC7540_PRIORITIES: u16 = 0x9;

/// A SETTINGS frame: the parameters it carries (`None`: not sent, the previous value holds)
/// or, with `ack`, an acknowledgement, which carries none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Settings {
    /// ACK: acknowledges the peer's last SETTINGS.
    pub(crate) ack: bool,
    /// SETTINGS_HEADER_TABLE_SIZE: the most the sender's HPACK decoder keeps (initial 4096).
    pub(crate) header_table_size: Option<u32>,
    /// SETTINGS_ENABLE_PUSH (initial: enabled). A server sends it as 0 or not at all; that
    /// a client receiving 1 from a server fails the connection is a client's check.
    pub(crate) enable_push: Option<bool>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (initial: unlimited).
    pub(crate) max_concurrent_streams: Option<u32>,
    /// SETTINGS_INITIAL_WINDOW_SIZE: 0..=2^31-1 (initial 65535).
    pub(crate) initial_window_size: Option<u32>,
    /// SETTINGS_MAX_FRAME_SIZE: 16384..=16777215 (initial 16384).
    pub(crate) max_frame_size: Option<u32>,
    /// SETTINGS_MAX_HEADER_LIST_SIZE, advisory (initial: unlimited).
    pub(crate) max_header_list_size: Option<u32>,
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): extended CONNECT, for WebSockets.
    pub(crate) enable_connect_protocol: Option<bool>,
    /// SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218).
    pub(crate) no_rfc7540_priorities: Option<bool>,
}

impl Settings {
    /// The acknowledgement of the peer's SETTINGS.
    pub(crate) fn ack() -> Settings {
        Settings {
            ack: true,
            ..Settings::default()
        }
    }

    /// Loads a SETTINGS frame: on stream 0 (PROTOCOL_ERROR), an ACK without payload and a
    /// length that is a multiple of 6 (FRAME_SIZE_ERROR), every known parameter in range
    /// (PROTOCOL_ERROR; FLOW_CONTROL_ERROR for SETTINGS_INITIAL_WINDOW_SIZE). All of them
    /// connection errors.
    pub(crate) fn load(header: &FrameHeader, payload: &[u8]) -> Result<Settings, FrameError> {
        let error = |kind| Err(FrameError::new(kind, header));
        if !header.stream_id.is_zero() {
            return error(FrameErrorKind::StreamIdNonZero);
        }
        if header.has_flag(flags::ACK) {
            if !payload.is_empty() {
                return error(FrameErrorKind::SettingsAckWithPayload);
            }
            return Ok(Settings::ack());
        }
        if !payload.len().is_multiple_of(6) {
            return error(FrameErrorKind::BadLength);
        }
        let mut settings = Settings::default();
        for param in payload.chunks_exact(6) {
            let &[i0, i1, v0, v1, v2, v3] = param else {
                continue;
            };
            let value = u32::from_be_bytes([v0, v1, v2, v3]);
            let boolean = |value| match value {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(FrameError::new(FrameErrorKind::InvalidSettingValue, header)),
            };
            match u16::from_be_bytes([i0, i1]) {
                HEADER_TABLE_SIZE => settings.header_table_size = Some(value),
                ENABLE_PUSH => settings.enable_push = Some(boolean(value)?),
                MAX_CONCURRENT_STREAMS => settings.max_concurrent_streams = Some(value),
                INITIAL_WINDOW_SIZE => {
                    if value > MAX_WINDOW_SIZE {
                        return error(FrameErrorKind::InitialWindowSizeTooLarge);
                    }
                    settings.initial_window_size = Some(value);
                }
                MAX_FRAME_SIZE => {
                    if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) {
                        return error(FrameErrorKind::InvalidMaxFrameSize);
                    }
                    settings.max_frame_size = Some(value);
                }
                MAX_HEADER_LIST_SIZE => settings.max_header_list_size = Some(value),
                ENABLE_CONNECT_PROTOCOL => {
                    settings.enable_connect_protocol = Some(boolean(value)?);
                }
                NO_RFC7540_PRIORITIES => settings.no_rfc7540_priorities = Some(boolean(value)?),
                _ => {} // Unknown: ignored (RFC 9113 §6.5.2).
            }
        }
        Ok(settings)
    }

    /// The parameters to send, in identifier order.
    fn params(&self) -> impl Iterator<Item = (u16, u32)> {
        [
            (HEADER_TABLE_SIZE, self.header_table_size),
            (ENABLE_PUSH, self.enable_push.map(u32::from)),
            (MAX_CONCURRENT_STREAMS, self.max_concurrent_streams),
            (INITIAL_WINDOW_SIZE, self.initial_window_size),
            (MAX_FRAME_SIZE, self.max_frame_size),
            (MAX_HEADER_LIST_SIZE, self.max_header_list_size),
            (
                ENABLE_CONNECT_PROTOCOL,
                self.enable_connect_protocol.map(u32::from),
            ),
            (
                NO_RFC7540_PRIORITIES,
                self.no_rfc7540_priorities.map(u32::from),
            ),
        ]
        .into_iter()
        .filter_map(|(id, value)| Some((id, value?)))
    }

    /// Appends the frame: the parameters that are `Some`, or, with `ack`, an empty
    /// acknowledgement (parameters are then not sent).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let count = if self.ack { 0 } else { self.params().count() };
        FrameHeader::new(
            FrameType::Settings,
            flag_if(self.ack, flags::ACK),
            StreamId::ZERO,
            (count * 6) as u32,
        )
        .encode(out);
        if !self.ack {
            for (id, value) in self.params() {
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&value.to_be_bytes());
            }
        }
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
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
            Frame::Settings(Settings::default()),
        );
        assert_round_trip(
            b"\x00\x00\x00\x04\x01\x00\x00\x00\x00",
            Frame::Settings(Settings::ack()),
        );
        assert_round_trip(
            b"\x00\x00\x12\x04\x00\x00\x00\x00\x00\
              \x00\x03\x00\x00\x00\x64\
              \x00\x04\x00\x00\xff\xff\
              \x00\x06\x00\x00\x40\x00",
            Frame::Settings(Settings {
                max_concurrent_streams: Some(100),
                initial_window_size: Some(65_535),
                max_header_list_size: Some(16_384),
                ..Settings::default()
            }),
        );
        // Every parameter, at the edges of its range.
        assert_round_trip(
            b"\x00\x00\x30\x04\x00\x00\x00\x00\x00\
              \x00\x01\xff\xff\xff\xff\
              \x00\x02\x00\x00\x00\x00\
              \x00\x03\x00\x00\x00\x00\
              \x00\x04\x7f\xff\xff\xff\
              \x00\x05\x00\xff\xff\xff\
              \x00\x06\x00\x00\x00\x00\
              \x00\x08\x00\x00\x00\x01\
              \x00\x09\x00\x00\x00\x01",
            Frame::Settings(Settings {
                ack: false,
                header_table_size: Some(u32::MAX),
                enable_push: Some(false),
                max_concurrent_streams: Some(0),
                initial_window_size: Some(MAX_WINDOW_SIZE),
                max_frame_size: Some(MAX_MAX_FRAME_SIZE),
                max_header_list_size: Some(0),
                enable_connect_protocol: Some(true),
                no_rfc7540_priorities: Some(true),
            }),
        );
        assert_round_trip(
            b"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\
              \x00\x02\x00\x00\x00\x01\
              \x00\x05\x00\x00\x40\x00",
            Frame::Settings(Settings {
                enable_push: Some(true),
                max_frame_size: Some(DEFAULT_MAX_FRAME_SIZE),
                ..Settings::default()
            }),
        );
    }

    #[test]
    fn unknown_ids_are_ignored() {
        // Ids 0x0, 0x7, 0xa and 0xffff around MAX_CONCURRENT_STREAMS = 10.
        let frame = load(
            b"\x00\x00\x1e\x04\x00\x00\x00\x00\x00\
              \x00\x00\x00\x00\x00\x05\
              \x00\x07\xff\xff\xff\xff\
              \x00\x03\x00\x00\x00\x0a\
              \x00\x0a\x00\x00\x00\x02\
              \xff\xff\x12\x34\x56\x78",
        )
        .unwrap();
        assert_eq!(
            frame,
            Frame::Settings(Settings {
                max_concurrent_streams: Some(10),
                ..Settings::default()
            })
        );
    }

    #[test]
    fn last_value_wins() {
        let frame = load(
            b"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\
              \x00\x01\x00\x00\x00\x00\
              \x00\x01\x00\x00\x10\x00",
        )
        .unwrap();
        let Frame::Settings(s) = frame else { panic!() };
        assert_eq!(s.header_table_size, Some(4096));
    }

    #[test]
    fn unknown_flags_are_dropped() {
        let frame = load(b"\x00\x00\x00\x04\xfe\x00\x00\x00\x00").unwrap();
        assert_eq!(frame, Frame::Settings(Settings::default()));
    }

    #[test]
    fn encoding_an_ack_sends_no_parameters() {
        let mut out = Vec::new();
        Settings {
            max_concurrent_streams: Some(1),
            ..Settings::ack()
        }
        .encode(&mut out);
        assert_eq!(out, b"\x00\x00\x00\x04\x01\x00\x00\x00\x00");
    }

    #[test]
    fn on_a_stream() {
        assert_error(
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x01",
            FrameErrorKind::StreamIdNonZero,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn ack_with_payload() {
        assert_error(
            b"\x00\x00\x06\x04\x01\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64",
            FrameErrorKind::SettingsAckWithPayload,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn length_not_a_multiple_of_6() {
        assert_error(
            b"\x00\x00\x05\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
        assert_error(
            b"\x00\x00\x07\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64\x00",
            FrameErrorKind::BadLength,
            ErrorCode::FrameSizeError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn enable_push_other_than_0_or_1() {
        assert_error(
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02",
            FrameErrorKind::InvalidSettingValue,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn other_booleans_other_than_0_or_1() {
        for id in [0x08u8, 0x09] {
            let bytes = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, id, 0x80, 0, 0, 0];
            assert_error(
                &bytes,
                FrameErrorKind::InvalidSettingValue,
                ErrorCode::ProtocolError,
                ErrorScope::Connection,
            );
        }
    }

    #[test]
    fn initial_window_size_above_2_31_minus_1() {
        assert_error(
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x04\x80\x00\x00\x00",
            FrameErrorKind::InitialWindowSizeTooLarge,
            ErrorCode::FlowControlError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn max_frame_size_out_of_range() {
        // 16383, one below the minimum.
        assert_error(
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x00\x00\x3f\xff",
            FrameErrorKind::InvalidMaxFrameSize,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
        // 2^24, one above the maximum.
        assert_error(
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x01\x00\x00\x00",
            FrameErrorKind::InvalidMaxFrameSize,
            ErrorCode::ProtocolError,
            ErrorScope::Connection,
        );
    }

    #[test]
    fn an_invalid_value_after_valid_ones_fails_the_frame() {
        let err = load(
            b"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\
              \x00\x03\x00\x00\x00\x64\
              \x00\x05\x00\x00\x00\x00",
        )
        .unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::InvalidMaxFrameSize);
    }
}

//! `Connection` against a scripted client: frames built with the frame layer's types,
//! request heads with the HPACK encoder, responses read back with the HPACK decoder, and
//! a virtual clock (`Instant::now()` once, then `+ Duration`).

use super::*;
use crate::http2::frame::{
    decode_frame, Priority, PushPromise, StreamDependency, MAX_MAX_FRAME_SIZE,
};

fn sid(n: u32) -> StreamId {
    StreamId::new(n)
}

/// A frame the connection sent, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Settings(Settings),
    SettingsAck,
    WindowUpdate(u32, u32),
    Ping([u8; 8]),
    Pong([u8; 8]),
    GoAway(u32, ErrorCode, String),
    Rst(u32, ErrorCode),
    /// A header block (HEADERS and its CONTINUATIONs), decoded.
    Headers {
        stream: u32,
        fields: Vec<(String, String)>,
        end_stream: bool,
    },
    Data {
        stream: u32,
        data: Bytes,
        end_stream: bool,
    },
}

impl Out {
    fn rst(stream: u32, code: ErrorCode) -> Out {
        Out::Rst(stream, code)
    }

    fn head(stream: u32, fields: &[(&str, &str)], end_stream: bool) -> Out {
        Out::Headers {
            stream,
            fields: strings(fields),
            end_stream,
        }
    }
}

fn strings(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

const GET: [(&str, &str); 4] = [
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/"),
];

const POST: [(&str, &str); 4] = [
    (":method", "POST"),
    (":scheme", "https"),
    (":authority", "example.com"),
    (":path", "/upload"),
];

/// A client talking to one `Connection`.
struct Peer {
    conn: Connection,
    now: Instant,
    /// The client's HPACK encoder (request heads) and decoder (response heads).
    enc: Encoder,
    dec: Decoder,
    /// The raw header blocks of the responses read so far.
    blocks: Vec<Vec<u8>>,
}

impl Peer {
    /// A connection past the preface and an empty client SETTINGS, its output read. Its
    /// request body buffer is the connection window (the tightest setting), so that the
    /// tests see the window accounting at work.
    fn new() -> Peer {
        Peer::with(ConnSettings {
            max_request_body_buffer: 1 << 20,
            ..ConnSettings::default()
        })
    }

    fn with(settings: ConnSettings) -> Peer {
        let mut peer = Peer::fresh(settings);
        peer.bytes(PREFACE).unwrap();
        peer.frame(Frame::Settings(Settings::default())).unwrap();
        let out = peer.read();
        assert!(matches!(out[0], Out::Settings(_)), "{out:?}");
        assert_eq!(out.last(), Some(&Out::SettingsAck));
        peer
    }

    /// A connection that has seen nothing yet.
    fn fresh(settings: ConnSettings) -> Peer {
        let now = Instant::now();
        let mut dec = Decoder::new(DEFAULT_TABLE_SIZE);
        dec.set_max_string_len(usize::MAX);
        Peer {
            conn: Connection::new(settings, now),
            now,
            enc: Encoder::new(DEFAULT_TABLE_SIZE),
            dec,
            blocks: Vec::new(),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.conn.recv(bytes, self.now)
    }

    fn frame(&mut self, frame: Frame) -> Result<(), ConnError> {
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        self.bytes(&bytes)
    }

    fn frames(&mut self, frames: impl IntoIterator<Item = Frame>) -> Result<(), ConnError> {
        let mut bytes = Vec::new();
        for frame in frames {
            frame.encode(&mut bytes);
        }
        self.bytes(&bytes)
    }

    /// An HPACK block of `fields`, with the client's encoder.
    fn block(&mut self, fields: &[(&str, &str)]) -> Bytes {
        let mut out = Vec::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes(), false)),
            &mut out,
        );
        out.into()
    }

    /// A request head (or trailers): HEADERS, and CONTINUATION beyond 16 KiB.
    fn headers(
        &mut self,
        stream: u32,
        fields: &[(&str, &str)],
        end_stream: bool,
    ) -> Result<(), ConnError> {
        let block = self.block(fields);
        let mut bytes = Vec::new();
        encode_headers(
            sid(stream),
            &block,
            end_stream,
            DEFAULT_MAX_FRAME_SIZE,
            &mut bytes,
        );
        self.bytes(&bytes)
    }

    fn get(&mut self, stream: u32) -> Result<(), ConnError> {
        self.headers(stream, &GET, true)
    }

    fn data(&mut self, stream: u32, data: &[u8], end_stream: bool) -> Result<(), ConnError> {
        self.frame(Frame::Data(Data {
            end_stream,
            ..Data::new(sid(stream), Bytes::copy_from_slice(data))
        }))
    }

    fn rst(&mut self, stream: u32, code: ErrorCode) -> Result<(), ConnError> {
        self.frame(Frame::RstStream(RstStream::new(sid(stream), code)))
    }

    fn window_update(&mut self, stream: u32, increment: u32) -> Result<(), ConnError> {
        self.frame(Frame::WindowUpdate(WindowUpdate::new(
            sid(stream),
            increment,
        )))
    }

    fn settings(&mut self, settings: Settings) -> Result<(), ConnError> {
        self.frame(Frame::Settings(settings))
    }

    /// Everything the connection has to send, decoded.
    fn read(&mut self) -> Vec<Out> {
        let mut bytes = Vec::new();
        while self.conn.poll_output(&mut bytes) {}
        assert!(!self.conn.wants_write());
        self.decode(&bytes)
    }

    fn decode(&mut self, mut bytes: &[u8]) -> Vec<Out> {
        let mut out = Vec::new();
        let mut open: Option<(u32, bool, Vec<u8>)> = None;
        while !bytes.is_empty() {
            let (frame, used) = decode_frame(bytes, MAX_MAX_FRAME_SIZE)
                .unwrap()
                .expect("whole frames only");
            bytes = &bytes[used..];
            let (stream, end_stream, mut block, end_headers) = match frame {
                Frame::Headers(h) => {
                    assert!(open.is_none(), "HEADERS inside a header block");
                    let end_headers = h.end_headers;
                    (
                        h.stream_id.value(),
                        h.end_stream,
                        h.fragment.to_vec(),
                        end_headers,
                    )
                }
                Frame::Continuation(c) => {
                    let (stream, end_stream, mut block) = open.take().expect("CONTINUATION alone");
                    assert_eq!(stream, c.stream_id.value());
                    block.extend_from_slice(&c.fragment);
                    (stream, end_stream, block, c.end_headers)
                }
                other => {
                    assert!(open.is_none(), "{other:?} inside a header block");
                    out.push(match other {
                        Frame::Settings(s) if s.ack => Out::SettingsAck,
                        Frame::Settings(s) => Out::Settings(s),
                        Frame::WindowUpdate(w) => {
                            Out::WindowUpdate(w.stream_id.value(), w.increment)
                        }
                        Frame::Ping(p) if p.ack => Out::Pong(p.payload),
                        Frame::Ping(p) => Out::Ping(p.payload),
                        Frame::GoAway(g) => Out::GoAway(
                            g.last_stream_id.value(),
                            g.error_code,
                            String::from_utf8(g.debug_data.to_vec()).unwrap(),
                        ),
                        Frame::RstStream(r) => Out::Rst(r.stream_id.value(), r.error_code),
                        Frame::Data(d) => Out::Data {
                            stream: d.stream_id.value(),
                            data: d.data,
                            end_stream: d.end_stream,
                        },
                        other => panic!("unexpected frame {other:?}"),
                    });
                    continue;
                }
            };
            if !end_headers {
                open = Some((stream, end_stream, std::mem::take(&mut block)));
                continue;
            }
            let mut fields = Vec::new();
            self.dec
                .decode(&block, usize::MAX, |f| {
                    fields.push((
                        String::from_utf8(f.name.to_vec()).unwrap(),
                        String::from_utf8(f.value.to_vec()).unwrap(),
                    ));
                    Ok(())
                })
                .unwrap();
            self.blocks.push(block);
            out.push(Out::Headers {
                stream,
                fields,
                end_stream,
            });
        }
        assert!(open.is_none(), "header block cut");
        out
    }

    /// The next event, which must be a request.
    fn request(&mut self) -> (StreamId, http::request::Parts, Bytes, Option<HeaderMap>) {
        match self.conn.poll_event() {
            Some(Event::Request {
                id,
                head,
                body,
                trailers,
            }) => (id, head, body, trailers),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// The next event, which must be the connection's own answer (413, 431) to stream `id`
    /// with `status`; the request head it carries, if the head had been decoded.
    fn answered(&mut self, id: u32, status: u16) -> Option<http::request::Parts> {
        match self.conn.poll_event() {
            Some(Event::Answered {
                id: i,
                status: s,
                head,
            }) if i == sid(id) && s.as_u16() == status => head.map(|h| *h),
            other => panic!("expected the connection's {status} to stream {id}, got {other:?}"),
        }
    }

    /// Answers stream `id` with 200 and `body`.
    fn respond(&mut self, id: u32, body: &[u8]) {
        self.conn
            .send_headers(sid(id), StatusCode::OK, &HeaderMap::new(), false);
        self.conn
            .send_data(sid(id), Bytes::copy_from_slice(body), true);
    }
}

/// The connection failed with GOAWAY `code`, and that GOAWAY is its last output.
fn assert_goaway(peer: &mut Peer, result: Result<(), ConnError>, code: ErrorCode) {
    match result {
        Err(ConnError::Protocol(c, _)) => assert_eq!(c, code),
        other => panic!("expected GOAWAY {code:?}, got {other:?}"),
    }
    assert!(peer.conn.is_closed());
    let out = peer.read();
    assert!(
        matches!(out.last(), Some(Out::GoAway(_, c, _)) if *c == code),
        "{out:?}"
    );
    // Further input is refused with the same error.
    assert_eq!(peer.bytes(&[0; 9]), result);
    assert!(peer.conn.poll_event().is_none());
}

// ---- preface, SETTINGS --------------------------------------------------------------

#[test]
fn preface_and_settings_exchange_bytes() {
    let mut peer = Peer::fresh(ConnSettings::default());
    let mut out = Vec::new();
    assert!(peer.conn.wants_write());
    assert!(peer.conn.poll_output(&mut out));
    #[rustfmt::skip]
    let expected: &[u8] = &[
        // SETTINGS, 6 parameters.
        0, 0, 36, 0x4, 0, 0, 0, 0, 0,
        0, 1, 0, 0, 0x10, 0x00, // HEADER_TABLE_SIZE 4096
        0, 2, 0, 0, 0, 0, // ENABLE_PUSH 0
        0, 3, 0, 0, 0, 100, // MAX_CONCURRENT_STREAMS 100
        0, 4, 0, 0x0c, 0, 0, // INITIAL_WINDOW_SIZE 786,432
        0, 5, 0, 0, 0x40, 0, // MAX_FRAME_SIZE 16,384
        0, 6, 0, 0, 0x80, 0, // MAX_HEADER_LIST_SIZE 32,768
        // WINDOW_UPDATE on stream 0: 1,048,576 - 65,535.
        0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0x0f, 0, 1,
    ];
    assert_eq!(out, expected);
    assert!(!peer.conn.poll_output(&mut out));

    // The preface byte by byte, then the client's SETTINGS: an ACK.
    for &b in PREFACE {
        peer.bytes(&[b]).unwrap();
    }
    peer.bytes(&[0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0])
        .unwrap();
    let mut out = Vec::new();
    peer.conn.poll_output(&mut out);
    assert_eq!(out, [0, 0, 0, 0x4, 0x1, 0, 0, 0, 0]);
    // The client's ACK of ours is accepted silently.
    peer.bytes(&[0, 0, 0, 0x4, 0x1, 0, 0, 0, 0]).unwrap();
    assert!(peer.read().is_empty());
    assert!(!peer.conn.is_closed());
}

#[test]
fn bad_preface_gets_settings_then_goaway_protocol_error() {
    let mut peer = Peer::fresh(ConnSettings::default());
    assert_eq!(peer.bytes(b"PRI * HTTP/2.0\r\n"), Ok(()));
    assert_eq!(peer.bytes(b"\r\nXX"), Err(ConnError::BadPreface));
    assert!(peer.conn.is_closed());
    assert!(peer.conn.bad_preface());
    let out = peer.read();
    assert!(matches!(out.first(), Some(Out::Settings(_))), "{out:?}");
    assert_eq!(
        out.last(),
        Some(&Out::GoAway(
            0,
            ErrorCode::ProtocolError,
            "invalid connection preface".into()
        ))
    );
    // Nothing more, whatever follows.
    assert_eq!(peer.bytes(b"more"), Err(ConnError::BadPreface));
    assert!(peer.read().is_empty());
    // An HTTP/1.1 request is refused at its first octet.
    let mut peer = Peer::fresh(ConnSettings::default());
    assert_eq!(
        peer.bytes(b"GET / HTTP/1.1\r\n"),
        Err(ConnError::BadPreface)
    );
}

#[test]
fn first_frame_must_be_settings() {
    for first in [
        Frame::Ping(Ping::new([0; 8])),
        Frame::Settings(Settings::ack()),
        Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, 1)),
    ] {
        let mut peer = Peer::fresh(ConnSettings::default());
        peer.read();
        peer.bytes(PREFACE).unwrap();
        let result = peer.frame(first);
        assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    }
    // A frame error in the first frame is a connection error too.
    let mut peer = Peer::fresh(ConnSettings::default());
    peer.bytes(PREFACE).unwrap();
    let result = peer.bytes(&[0, 0, 4, 0x2, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn client_settings_are_validated_and_applied() {
    // ENABLE_PUSH 2 is refused at load (PROTOCOL_ERROR); 1 and 0 are fine for a server.
    let mut peer = Peer::new();
    peer.settings(Settings {
        enable_push: Some(true),
        max_concurrent_streams: Some(0),
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(peer.read(), [Out::SettingsAck]);
    let result = peer.bytes(&[0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);

    // INITIAL_WINDOW_SIZE above 2^31-1: FLOW_CONTROL_ERROR.
    let mut peer = Peer::new();
    let result = peer.bytes(&[0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 4, 0x80, 0, 0, 0]);
    assert_goaway(&mut peer, result, ErrorCode::FlowControlError);

    // MAX_CONCURRENT_STREAMS 0 from the client does not stop us answering (we never push).
    let mut peer = Peer::new();
    peer.settings(Settings {
        max_concurrent_streams: Some(0),
        ..Settings::default()
    })
    .unwrap();
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, b"ok");
    let out = peer.read();
    assert_eq!(out.len(), 3, "{out:?}");
}

// ---- requests and responses ----------------------------------------------------------

#[test]
fn get_round_trip() {
    let mut peer = Peer::new();
    peer.headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com:8443"),
            (":path", "/index.html?q=1"),
            ("accept", "text/html"),
        ],
        true,
    )
    .unwrap();
    assert_eq!(peer.conn.active_streams(), 1);
    let (id, head, body, trailers) = peer.request();
    assert_eq!(id, sid(1));
    assert_eq!(head.method, http::Method::GET);
    assert_eq!(head.version, http::Version::HTTP_2);
    assert_eq!(head.uri, "https://example.com:8443/index.html?q=1");
    assert_eq!(head.headers["host"], "example.com:8443");
    assert_eq!(head.headers["accept"], "text/html");
    assert_eq!(head.headers.len(), 2);
    assert!(body.is_empty());
    assert!(trailers.is_none());
    assert!(peer.conn.poll_event().is_none());

    let mut headers = HeaderMap::new();
    headers.insert("content-type", "text/plain".parse().unwrap());
    // Connection-specific fields from the handler are not sent.
    headers.insert("connection", "close".parse().unwrap());
    headers.insert("transfer-encoding", "chunked".parse().unwrap());
    headers.insert("keep-alive", "5".parse().unwrap());
    peer.conn
        .send_headers(sid(1), StatusCode::OK, &headers, false);
    peer.conn
        .send_data(sid(1), Bytes::from_static(b"hello"), true);
    assert_eq!(peer.conn.queued_data(sid(1)), 5);
    assert_eq!(
        peer.read(),
        [
            Out::head(
                1,
                &[(":status", "200"), ("content-type", "text/plain")],
                false
            ),
            Out::Data {
                stream: 1,
                data: Bytes::from_static(b"hello"),
                end_stream: true
            },
        ]
    );
    assert_eq!(peer.conn.queued_data(sid(1)), 0);
    assert_eq!(peer.conn.active_streams(), 0);
    assert!(peer.conn.data.is_empty());
    // Sends on the finished stream are ignored.
    peer.respond(1, b"again");
    assert!(peer.read().is_empty());
}

#[test]
fn head_only_response_and_empty_end() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.get(3).unwrap();
    peer.request();
    peer.request();
    peer.conn
        .send_headers(sid(1), StatusCode::NO_CONTENT, &HeaderMap::new(), true);
    peer.conn
        .send_headers(sid(3), StatusCode::OK, &HeaderMap::new(), false);
    peer.conn.send_data(sid(3), Bytes::new(), true);
    assert_eq!(
        peer.read(),
        [
            Out::head(1, &[(":status", "204")], true),
            Out::head(3, &[(":status", "200")], false),
            Out::Data {
                stream: 3,
                data: Bytes::new(),
                end_stream: true
            },
        ]
    );
    assert_eq!(peer.conn.active_streams(), 0);
}

#[test]
fn post_body_over_frames_and_windows_released() {
    let mut peer = Peer::new();
    peer.headers(1, &POST, false).unwrap();
    let chunk = vec![7u8; 16_384];
    // 600 KiB in 16 KiB frames.
    for _ in 0..37 {
        peer.data(1, &chunk, false).unwrap();
    }
    peer.data(1, &chunk[..8_192], true).unwrap();
    let total = 37 * 16_384 + 8_192;
    // The stream window comes back as the bytes are buffered, once more than half of
    // it (384 KiB) is pending; the connection window only when the request is taken.
    let out = peer.read();
    assert_eq!(out, [Out::WindowUpdate(1, 25 * 16_384)], "{out:?}");
    assert_eq!(peer.conn.buffered_body, total);
    let (_, head, body, _) = peer.request();
    assert_eq!(head.method, http::Method::POST);
    assert_eq!(body.len(), total);
    assert!(body.iter().all(|&b| b == 7));
    assert_eq!(peer.conn.buffered_body, 0);
    assert_eq!(peer.read(), [Out::WindowUpdate(0, total as u32)]);
}

#[test]
fn content_length_matching_data_is_accepted() {
    let mut peer = Peer::new();
    let mut fields = POST.to_vec();
    fields.push(("content-length", "10"));
    peer.headers(1, &fields, false).unwrap();
    peer.data(1, b"01234", false).unwrap();
    peer.data(1, b"56789", true).unwrap();
    let (_, head, body, _) = peer.request();
    assert_eq!(head.headers["content-length"], "10");
    assert_eq!(&body[..], b"0123456789");
    // A padded frame: the padding counts against the windows, not the content-length.
    let mut fields = POST.to_vec();
    fields.push(("content-length", "3"));
    peer.headers(3, &fields, false).unwrap();
    peer.frame(Frame::Data(Data {
        end_stream: true,
        pad_len: Some(200),
        ..Data::new(sid(3), Bytes::from_static(b"abc"))
    }))
    .unwrap();
    let (_, _, body, _) = peer.request();
    assert_eq!(&body[..], b"abc");
}

#[test]
fn trailers_both_ways() {
    let mut peer = Peer::new();
    let mut fields = POST.to_vec();
    fields.push(("te", "trailers"));
    peer.headers(1, &fields, false).unwrap();
    peer.data(1, b"body", false).unwrap();
    peer.headers(1, &[("x-checksum", "abc"), ("x-more", "1")], true)
        .unwrap();
    let (_, head, body, trailers) = peer.request();
    assert_eq!(head.headers["te"], "trailers");
    assert_eq!(&body[..], b"body");
    let trailers = trailers.unwrap();
    assert_eq!(trailers["x-checksum"], "abc");
    assert_eq!(trailers["x-more"], "1");

    peer.conn
        .send_headers(sid(1), StatusCode::OK, &HeaderMap::new(), false);
    peer.conn
        .send_data(sid(1), Bytes::from_static(b"data"), false);
    let mut response_trailers = HeaderMap::new();
    response_trailers.insert("grpc-status", "0".parse().unwrap());
    response_trailers.insert("connection", "close".parse().unwrap());
    peer.conn.send_trailers(sid(1), &response_trailers);
    assert_eq!(
        peer.read(),
        [
            Out::head(1, &[(":status", "200")], false),
            Out::Data {
                stream: 1,
                data: Bytes::from_static(b"data"),
                end_stream: false
            },
            Out::head(1, &[("grpc-status", "0")], true),
        ]
    );
    assert_eq!(peer.conn.active_streams(), 0);
}

#[test]
fn trailers_wait_for_data_held_by_the_window() {
    let mut peer = Peer::new();
    peer.settings(Settings {
        initial_window_size: Some(2),
        ..Settings::default()
    })
    .unwrap();
    peer.read();
    peer.get(3).unwrap();
    peer.request();
    peer.conn
        .send_headers(sid(3), StatusCode::OK, &HeaderMap::new(), false);
    peer.conn
        .send_data(sid(3), Bytes::from_static(b"abcd"), false);
    peer.conn.send_trailers(sid(3), &HeaderMap::new());
    let out = peer.read();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(matches!(&out[1], Out::Data { data, end_stream: false, .. } if &data[..] == b"ab"));
    peer.window_update(3, 2).unwrap();
    let out = peer.read();
    assert_eq!(
        out,
        [
            Out::Data {
                stream: 3,
                data: Bytes::from_static(b"cd"),
                end_stream: false
            },
            Out::head(3, &[], true),
        ]
    );
}

#[test]
fn request_forms() {
    let mut peer = Peer::new();
    // Cookie crumbs are joined (RFC 9113 §8.2.3); host from :authority.
    peer.headers(
        1,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "a.example"),
            (":path", "/"),
            ("cookie", "a=1"),
            ("accept", "*/*"),
            ("cookie", "b=2"),
            ("cookie", "c=3"),
        ],
        true,
    )
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.headers["cookie"], "a=1; b=2; c=3");
    assert_eq!(head.headers.get_all("cookie").iter().count(), 1);
    assert_eq!(head.uri, "http://a.example/");

    // No :authority: the host header gives the URI its authority.
    peer.headers(
        3,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/x"),
            ("host", "b.example"),
        ],
        true,
    )
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.uri, "https://b.example/x");
    assert_eq!(head.headers["host"], "b.example");

    // Neither: the path alone.
    peer.headers(
        5,
        &[(":method", "GET"), (":scheme", "https"), (":path", "/y")],
        true,
    )
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.uri, "/y");
    assert!(head.headers.get("host").is_none());

    // A host equal to :authority, whatever the case.
    peer.headers(
        7,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "c.example"),
            (":path", "/"),
            ("host", "C.Example"),
        ],
        true,
    )
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.headers["host"], "C.Example");

    // OPTIONS *.
    peer.headers(
        9,
        &[
            (":method", "OPTIONS"),
            (":scheme", "https"),
            (":authority", "d.example"),
            (":path", "*"),
        ],
        true,
    )
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.method, http::Method::OPTIONS);
    assert_eq!(head.uri, "*");

    // CONNECT: :method and :authority only.
    peer.headers(
        11,
        &[(":method", "CONNECT"), (":authority", "proxy.example:443")],
        false,
    )
    .unwrap();
    peer.data(11, b"tunnel", true).unwrap();
    let (_, head, body, _) = peer.request();
    assert_eq!(head.method, http::Method::CONNECT);
    assert_eq!(head.uri.authority().unwrap(), "proxy.example:443");
    assert_eq!(&body[..], b"tunnel");
    assert!(peer.read().is_empty());
}

#[test]
fn malformed_requests_are_reset_with_protocol_error() {
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut f = GET.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("missing :method", GET[1..].to_vec()),
        ("missing :scheme", vec![GET[0], GET[2], GET[3]]),
        ("missing :path", GET[..3].to_vec()),
        ("empty :path", vec![GET[0], GET[1], GET[2], (":path", "")]),
        (
            "relative :path",
            vec![GET[0], GET[1], GET[2], (":path", "x")],
        ),
        ("* for GET", vec![GET[0], GET[1], GET[2], (":path", "*")]),
        (
            "duplicate :path",
            base(&[]).into_iter().chain([(":path", "/")]).collect(),
        ),
        (
            "pseudo after regular",
            vec![GET[0], GET[1], ("accept", "*/*"), GET[2], GET[3]],
        ),
        (
            "response pseudo",
            base(&[])
                .into_iter()
                .rev()
                .chain([(":status", "200")])
                .rev()
                .collect(),
        ),
        (
            "unknown pseudo",
            vec![(":foo", "x"), GET[0], GET[1], GET[2], GET[3]],
        ),
        (
            "extended CONNECT",
            vec![
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                GET[1],
                GET[2],
                GET[3],
            ],
        ),
        ("uppercase name", base(&[("Accept", "*/*")])),
        ("empty name", base(&[("", "x")])),
        ("space in name", base(&[("x y", "z")])),
        ("colon in name", base(&[("x:y", "z")])),
        ("connection", base(&[("connection", "keep-alive")])),
        ("keep-alive", base(&[("keep-alive", "5")])),
        ("proxy-connection", base(&[("proxy-connection", "x")])),
        (
            "transfer-encoding",
            base(&[("transfer-encoding", "chunked")]),
        ),
        ("upgrade", base(&[("upgrade", "h2c")])),
        ("te gzip", base(&[("te", "gzip")])),
        ("te list", base(&[("te", "trailers, deflate")])),
        ("value with CR", base(&[("x", "a\rb")])),
        ("value with LF", base(&[("x", "a\nb")])),
        ("value with NUL", base(&[("x", "a\0b")])),
        ("value with CTL", base(&[("x", "a\x01b")])),
        ("leading space", base(&[("x", " a")])),
        ("trailing tab", base(&[("x", "a\t")])),
        (
            "content-length with END_STREAM",
            base(&[("content-length", "5")]),
        ),
        ("bad content-length", base(&[("content-length", "5x")])),
        (
            "two content-lengths",
            base(&[("content-length", "0"), ("content-length", "1")]),
        ),
        (
            "userinfo",
            vec![GET[0], GET[1], (":authority", "u@example.com"), GET[3]],
        ),
        ("host differs", base(&[("host", "other.example")])),
        (
            "two hosts",
            vec![GET[0], GET[1], GET[3], ("host", "a"), ("host", "a")],
        ),
        (
            "bad method",
            vec![(":method", "G T"), GET[1], GET[2], GET[3]],
        ),
        ("bad path", vec![GET[0], GET[1], GET[2], (":path", "/a b")]),
        (
            "CONNECT with :path",
            vec![(":method", "CONNECT"), GET[2], GET[3]],
        ),
        (
            "CONNECT with :scheme",
            vec![(":method", "CONNECT"), GET[1], GET[2]],
        ),
        ("CONNECT without :authority", vec![(":method", "CONNECT")]),
        ("empty block", vec![]),
    ];
    let mut peer = Peer::new();
    let mut id = 1;
    for (what, fields) in cases {
        peer.headers(id, &fields, true).unwrap();
        assert_eq!(
            peer.read(),
            [Out::rst(id, ErrorCode::ProtocolError)],
            "{what}"
        );
        assert!(peer.conn.poll_event().is_none(), "{what}");
        assert_eq!(peer.conn.active_streams(), 0, "{what}");
        id += 2;
        // A time step so the reset budget does not interfere.
        peer.advance(RESET_WINDOW);
    }
    // The connection is fine: the HPACK tables stayed in step throughout.
    peer.get(id).unwrap();
    peer.request();
    assert!(peer.conn.data.len() <= 1);
}

#[test]
fn malformed_bodies_and_trailers_are_reset() {
    let mut peer = Peer::new();
    let with_length = |n: &'static str| {
        let mut f = POST.to_vec();
        f.push(("content-length", n));
        f
    };
    // More DATA than content-length.
    peer.headers(1, &with_length("3"), false).unwrap();
    peer.data(1, b"abcd", false).unwrap();
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::ProtocolError)]);
    // Less.
    peer.headers(3, &with_length("3"), false).unwrap();
    peer.data(3, b"ab", true).unwrap();
    assert_eq!(peer.read(), [Out::rst(3, ErrorCode::ProtocolError)]);
    // Less, ended by trailers.
    peer.headers(5, &with_length("3"), false).unwrap();
    peer.data(5, b"ab", false).unwrap();
    peer.headers(5, &[("x", "y")], true).unwrap();
    assert_eq!(peer.read(), [Out::rst(5, ErrorCode::ProtocolError)]);
    // Trailers with a pseudo-header.
    peer.headers(7, &POST, false).unwrap();
    peer.headers(7, &[(":path", "/")], true).unwrap();
    assert_eq!(peer.read(), [Out::rst(7, ErrorCode::ProtocolError)]);
    // Trailers with a connection-specific field.
    peer.headers(9, &POST, false).unwrap();
    peer.headers(9, &[("connection", "close")], true).unwrap();
    assert_eq!(peer.read(), [Out::rst(9, ErrorCode::ProtocolError)]);
    // Trailers without END_STREAM.
    peer.headers(11, &POST, false).unwrap();
    peer.headers(11, &[("x", "y")], false).unwrap();
    assert_eq!(peer.read(), [Out::rst(11, ErrorCode::ProtocolError)]);
    // DATA after the request ended: STREAM_CLOSED.
    peer.headers(13, &POST, true).unwrap();
    peer.data(13, b"late", false).unwrap();
    assert_eq!(peer.read(), [Out::rst(13, ErrorCode::StreamClosed)]);
    // The request of stream 13 had been queued: it is withdrawn (no handler ran).
    assert!(peer.conn.poll_event().is_none());
    assert!(peer.conn.data.is_empty());
    assert_eq!(peer.conn.buffered_body, 0);
    assert_eq!(peer.conn.incomplete_body, 0);
}

#[test]
fn dispatched_request_reset_by_our_stream_error_reaches_the_driver() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    // A WINDOW_UPDATE that overflows the stream's send window: a stream error.
    peer.window_update(1, MAX_WINDOW_SIZE).unwrap();
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::FlowControlError)]);
    assert!(matches!(
        peer.conn.poll_event(),
        Some(Event::Reset { id, code: ErrorCode::FlowControlError }) if id == sid(1)
    ));
    peer.respond(1, b"dropped");
    assert!(peer.read().is_empty());
}

// ---- limits: 431, 413 ------------------------------------------------------------------

#[test]
fn header_list_over_the_limit_gets_431() {
    let mut peer = Peer::new();
    let big = "v".repeat(20_000);
    let mut fields = GET.to_vec();
    fields.push(("x-a", &big));
    fields.push(("x-b", &big));
    peer.headers(1, &fields, true).unwrap();
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "431")], true)]);
    assert!(peer.answered(1, 431).is_none());
    assert!(peer.conn.poll_event().is_none());
    assert_eq!(peer.conn.active_streams(), 0);
    // Without END_STREAM the client is asked to stop sending, and its DATA is dropped.
    let mut fields = POST.to_vec();
    fields.push(("x-a", &big));
    fields.push(("x-b", &big));
    peer.headers(3, &fields, false).unwrap();
    peer.data(3, b"ignored", true).unwrap();
    assert_eq!(
        peer.read(),
        [
            Out::head(3, &[(":status", "431")], true),
            Out::rst(3, ErrorCode::NoError)
        ]
    );
    assert!(peer.answered(3, 431).is_none());
    assert!(peer.conn.poll_event().is_none());
    assert!(peer.conn.data.is_empty());
    // The connection goes on.
    peer.get(5).unwrap();
    peer.request();
}

#[test]
fn too_many_fields_or_one_too_large_gets_431() {
    let settings = ConnSettings {
        max_header_field_size: 1000,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    let names: Vec<String> = (0..101).map(|i| format!("x-{i}")).collect();
    let mut fields = GET.to_vec();
    fields.extend(names.iter().map(|n| (n.as_str(), "v")));
    peer.headers(1, &fields, true).unwrap();
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "431")], true)]);
    assert!(peer.answered(1, 431).is_none());
    // 100 regular fields are fine.
    fields.pop();
    peer.headers(3, &fields, true).unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.headers.len(), 101); // and host
                                         // One field of name + value > 1000.
    let long = "v".repeat(998);
    let mut fields = GET.to_vec();
    fields.push(("x-l", &long));
    peer.headers(5, &fields, true).unwrap();
    assert_eq!(peer.read(), [Out::head(5, &[(":status", "431")], true)]);
    assert!(peer.answered(5, 431).is_none());
    let long = "v".repeat(997);
    let mut fields = GET.to_vec();
    fields.push(("x-l", &long));
    peer.headers(7, &fields, true).unwrap();
    peer.request();
}

#[test]
fn request_trailers_over_the_limit_get_431() {
    let mut peer = Peer::new();
    peer.headers(1, &POST, false).unwrap();
    peer.data(1, b"x", false).unwrap();
    let big = "t".repeat(33_000);
    peer.headers(1, &[("x-t", &big)], true).unwrap();
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "431")], true)]);
    assert!(
        peer.answered(1, 431).is_some(),
        "the head goes to the access log"
    );
    assert!(peer.conn.poll_event().is_none());
    assert_eq!(peer.conn.buffered_body, 0);
}

#[test]
fn declared_or_sent_body_over_the_limit_gets_413() {
    let settings = ConnSettings {
        max_request_body_size: Some(100),
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    let mut fields = POST.to_vec();
    fields.push(("content-length", "101"));
    peer.headers(1, &fields, false).unwrap();
    assert_eq!(
        peer.read(),
        [
            Out::head(1, &[(":status", "413")], true),
            Out::rst(1, ErrorCode::NoError)
        ]
    );
    assert!(
        peer.answered(1, 413).is_some(),
        "the head goes to the access log"
    );
    // DATA the client had in flight is dropped (and its window given back).
    peer.data(1, &[0; 101], true).unwrap();
    assert!(peer.read().is_empty());
    assert!(peer.conn.poll_event().is_none());

    // Without content-length: at the first DATA beyond the limit.
    peer.headers(3, &POST, false).unwrap();
    peer.data(3, &[0; 60], false).unwrap();
    peer.data(3, &[0; 40], false).unwrap();
    assert!(peer.read().is_empty());
    peer.data(3, &[0; 1], false).unwrap();
    assert_eq!(
        peer.read(),
        [
            Out::head(3, &[(":status", "413")], true),
            Out::rst(3, ErrorCode::NoError)
        ]
    );
    assert!(
        peer.answered(3, 413).is_some(),
        "the head goes to the access log"
    );
    assert_eq!(peer.conn.buffered_body, 0);
    assert!(peer.conn.data.is_empty());
    // Exactly the limit is fine.
    let mut fields = POST.to_vec();
    fields.push(("content-length", "100"));
    peer.headers(5, &fields, false).unwrap();
    peer.data(5, &[1; 100], true).unwrap();
    let (_, _, body, _) = peer.request();
    assert_eq!(body.len(), 100);
}

#[test]
fn bodies_that_cannot_be_buffered_get_413() {
    let settings = ConnSettings {
        initial_connection_window: 100_000,
        max_request_body_buffer: 100_000,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    // One body larger than the buffer: 413 as soon as it is declared.
    let mut fields = POST.to_vec();
    fields.push(("content-length", "100001"));
    peer.headers(1, &fields, false).unwrap();
    assert_eq!(peer.read()[0], Out::head(1, &[(":status", "413")], true));
    assert!(
        peer.answered(1, 413).is_some(),
        "the head goes to the access log"
    );

    // Two bodies that together fill the buffer, neither complete: the client has no
    // window left, so the larger one is answered and its bytes are given back.
    peer.headers(3, &POST, false).unwrap();
    peer.headers(5, &POST, false).unwrap();
    peer.data(3, &[3; 16_000], false).unwrap();
    peer.data(3, &[3; 16_000], false).unwrap();
    peer.data(3, &[3; 8_000], false).unwrap();
    peer.data(5, &[5; 16_384], false).unwrap();
    peer.data(5, &[5; 16_384], false).unwrap();
    peer.data(5, &[5; 16_384], false).unwrap();
    assert!(peer.read().is_empty());
    peer.data(5, &[5; 10_848], false).unwrap();
    assert_eq!(peer.conn.incomplete_body, 40_000);
    assert_eq!(
        peer.read(),
        [
            Out::head(5, &[(":status", "413")], true),
            Out::rst(5, ErrorCode::NoError),
            Out::WindowUpdate(0, 60_000),
        ]
    );
    assert!(
        peer.answered(5, 413).is_some(),
        "the head goes to the access log"
    );
    // Stream 3 completes.
    peer.data(3, &[3; 10_000], true).unwrap();
    let (id, _, body, _) = peer.request();
    assert_eq!((id, body.len()), (sid(3), 50_000));
}

#[test]
fn a_larger_buffer_lets_the_client_send_ahead() {
    let settings = ConnSettings {
        initial_connection_window: 65_535,
        max_request_body_buffer: 200_000,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    peer.headers(1, &POST, false).unwrap();
    // Three times the connection window: given back early as long as the buffer allows
    // (the connection checks the client keeps within the window it announced).
    let mut announced = 0;
    for _ in 0..12 {
        peer.data(1, &[1; 16_383], false).unwrap();
        for out in peer.read() {
            let Out::WindowUpdate(0, n) = out else {
                panic!("{out:?}");
            };
            announced += n as usize;
        }
    }
    let held = 12 * 16_383;
    assert_eq!(peer.conn.buffered_body, held);
    assert!(held > 65_535 + 65_535 && held <= 65_535 + announced);
    // Beyond 200,000 - 65,535 held octets the window is no longer given back early.
    assert_eq!(
        peer.conn.conn_recv.unreleased() as usize,
        held - (200_000 - 65_535)
    );
    peer.data(1, &[], true).unwrap();
    peer.request();
    assert_eq!(peer.conn.conn_recv.unreleased(), 0);
    assert!(matches!(peer.read()[..], [Out::WindowUpdate(0, _)]));
}

// ---- flow control ---------------------------------------------------------------------

#[test]
fn response_larger_than_the_window_waits_for_window_update() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, &[9; 100_000]);
    let out = peer.read();
    let sizes: Vec<usize> = out
        .iter()
        .filter_map(|o| match o {
            Out::Data { data, .. } => Some(data.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [16_384, 16_384, 16_384, 16_383]);
    assert_eq!(peer.conn.queued_data(sid(1)), 100_000 - 65_535);
    assert!(!peer.conn.wants_write());
    // The connection window alone is not enough: the stream's is empty too.
    peer.window_update(0, 100_000).unwrap();
    assert!(!peer.conn.wants_write());
    assert!(peer.read().is_empty());
    peer.window_update(1, 100_000).unwrap();
    assert!(peer.conn.wants_write());
    let out = peer.read();
    let sizes: Vec<(usize, bool)> = out
        .iter()
        .filter_map(|o| match o {
            Out::Data {
                data, end_stream, ..
            } => Some((data.len(), *end_stream)),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [(16_384, false), (16_384, false), (1_697, true)]);
    assert_eq!(peer.conn.active_streams(), 0);
}

#[test]
fn streams_share_the_connection_window_round_robin() {
    let mut peer = Peer::new();
    peer.settings(Settings {
        initial_window_size: Some(1 << 20),
        ..Settings::default()
    })
    .unwrap();
    peer.read();
    for id in [1, 3, 5] {
        peer.get(id).unwrap();
        peer.request();
        peer.respond(id, &[0; 40_000]);
    }
    let out = peer.read();
    let order: Vec<(u32, usize)> = out
        .iter()
        .filter_map(|o| match o {
            Out::Data { stream, data, .. } => Some((*stream, data.len())),
            _ => None,
        })
        .collect();
    // One frame per stream per turn, until the 65,535-octet connection window is gone.
    assert_eq!(order, [(1, 16_384), (3, 16_384), (5, 16_384), (1, 16_383),]);
}

#[test]
fn peer_max_frame_size_is_honoured() {
    let settings = ConnSettings {
        max_frame_size: 1 << 20,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    peer.settings(Settings {
        max_frame_size: Some(20_000),
        initial_window_size: Some(1 << 20),
        ..Settings::default()
    })
    .unwrap();
    peer.window_update(0, 1 << 20).unwrap();
    peer.read();
    peer.get(1).unwrap();
    peer.request();
    // A response head larger than a frame goes out as HEADERS + CONTINUATION.
    let mut headers = HeaderMap::new();
    headers.insert("x-big", "b".repeat(30_000).parse().unwrap());
    peer.conn
        .send_headers(sid(1), StatusCode::OK, &headers, false);
    peer.conn
        .send_data(sid(1), Bytes::from(vec![0; 50_000]), true);
    let mut bytes = Vec::new();
    while peer.conn.poll_output(&mut bytes) {}
    // Every frame within 20,000 octets.
    let mut rest = &bytes[..];
    let mut kinds = Vec::new();
    while !rest.is_empty() {
        let header = crate::http2::frame::FrameHeader::load(rest[..9].try_into().unwrap());
        assert!(header.length <= 20_000);
        kinds.push((header.kind, header.length));
        rest = &rest[9 + header.length as usize..];
    }
    use crate::http2::frame::FrameType as T;
    assert_eq!(kinds[0], (T::Headers, 20_000));
    assert_eq!(kinds[1].0, T::Continuation);
    assert_eq!(
        &kinds[2..],
        [(T::Data, 20_000), (T::Data, 20_000), (T::Data, 10_000)]
    );
    let out = peer.decode(&bytes);
    assert!(matches!(&out[0], Out::Headers { fields, .. } if fields[1].1.len() == 30_000));

    // A client's MAX_FRAME_SIZE above ours is capped at ours (Kestrel's rule).
    let mut peer = Peer::new();
    peer.settings(Settings {
        max_frame_size: Some(1 << 20),
        ..Settings::default()
    })
    .unwrap();
    peer.read();
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, &[0; 20_000]);
    let out = peer.read();
    assert!(matches!(&out[1], Out::Data { data, .. } if data.len() == 16_384));
}

#[test]
fn initial_window_size_change_mid_stream() {
    let mut peer = Peer::new();
    peer.settings(Settings {
        initial_window_size: Some(100),
        ..Settings::default()
    })
    .unwrap();
    peer.read();
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, &[1; 1000]);
    let out = peer.read();
    assert!(matches!(&out[1], Out::Data { data, .. } if data.len() == 100));
    // Raised by 200: 200 more may go.
    peer.settings(Settings {
        initial_window_size: Some(300),
        ..Settings::default()
    })
    .unwrap();
    let out = peer.read();
    assert_eq!(out[0], Out::SettingsAck);
    assert!(matches!(&out[1], Out::Data { data, .. } if data.len() == 200));
    // Lowered to 0: the window is now -300.
    peer.settings(Settings {
        initial_window_size: Some(0),
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(peer.read(), [Out::SettingsAck]);
    peer.window_update(1, 300).unwrap();
    assert!(peer.read().is_empty());
    peer.window_update(1, 50).unwrap();
    let out = peer.read();
    assert!(matches!(&out[0], Out::Data { data, .. } if data.len() == 50));
    // New streams start at the new initial size.
    peer.get(3).unwrap();
    peer.request();
    peer.respond(3, b"x");
    assert_eq!(peer.read(), [Out::head(3, &[(":status", "200")], false)]);
    // Taking a window above 2^31-1: FLOW_CONTROL_ERROR on the connection.
    peer.window_update(3, MAX_WINDOW_SIZE).unwrap();
    let result = peer.settings(Settings {
        initial_window_size: Some(1),
        ..Settings::default()
    });
    assert_goaway(&mut peer, result, ErrorCode::FlowControlError);
}

#[test]
fn window_update_errors_at_their_scope() {
    // Zero increment on a stream: RST_STREAM PROTOCOL_ERROR.
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    peer.bytes(&[0, 0, 4, 0x8, 0, 0, 0, 0, 1, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::ProtocolError)]);
    // On an idle stream the reset is impossible: connection error.
    let result = peer.bytes(&[0, 0, 4, 0x8, 0, 0, 0, 0, 9, 0, 0, 0, 0]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // Zero increment on the connection: GOAWAY PROTOCOL_ERROR.
    let mut peer = Peer::new();
    let result = peer.bytes(&[0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // Connection window overflow: GOAWAY FLOW_CONTROL_ERROR.
    let mut peer = Peer::new();
    let result = peer.window_update(0, MAX_WINDOW_SIZE);
    assert_goaway(&mut peer, result, ErrorCode::FlowControlError);
    // Client DATA beyond the connection window: GOAWAY FLOW_CONTROL_ERROR.
    let settings = ConnSettings {
        initial_connection_window: 65_535,
        max_request_body_buffer: 65_535,
        initial_stream_window: 1 << 20,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    // A complete request the driver has not taken holds the whole window.
    peer.headers(1, &POST, false).unwrap();
    peer.headers(3, &POST, false).unwrap();
    for _ in 0..3 {
        peer.data(1, &[0; 16_384], false).unwrap();
    }
    peer.data(1, &[0; 16_383], true).unwrap();
    let result = peer.data(3, &[0], false);
    assert_goaway(&mut peer, result, ErrorCode::FlowControlError);
}

// ---- RST_STREAM, PRIORITY, PING, unknown frames -----------------------------------------

#[test]
fn client_reset_withdraws_or_aborts_the_request() {
    let mut peer = Peer::new();
    // Not taken yet: withdrawn, no handler ever sees it.
    peer.get(1).unwrap();
    peer.rst(1, ErrorCode::Cancel).unwrap();
    assert!(peer.conn.poll_event().is_none());
    // Taken: the driver hears of it, and the response is dropped.
    peer.get(3).unwrap();
    peer.request();
    peer.conn
        .send_headers(sid(3), StatusCode::OK, &HeaderMap::new(), false);
    peer.conn
        .send_data(sid(3), Bytes::from_static(b"partial"), false);
    peer.rst(3, ErrorCode::Cancel).unwrap();
    assert!(matches!(
        peer.conn.poll_event(),
        Some(Event::Reset { id, code: ErrorCode::Cancel }) if id == sid(3)
    ));
    assert_eq!(peer.conn.queued_data(sid(3)), 0);
    peer.conn
        .send_data(sid(3), Bytes::from_static(b"more"), true);
    assert!(peer.read().is_empty());
    // A second RST_STREAM is ignored, and never answered.
    peer.rst(3, ErrorCode::Cancel).unwrap();
    assert!(peer.read().is_empty());
    // Body bytes held for a reset stream are given back.
    peer.headers(5, &POST, false).unwrap();
    peer.data(5, &[0; 1000], false).unwrap();
    assert_eq!(peer.conn.buffered_body, 1000);
    peer.rst(5, ErrorCode::Cancel).unwrap();
    assert_eq!(peer.conn.buffered_body, 0);
    assert_eq!(peer.conn.conn_recv.unreleased(), 0);
    assert!(peer.conn.data.is_empty());
    // RST_STREAM on an idle stream: connection error.
    let result = peer.rst(7, ErrorCode::Cancel);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn driver_reset() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    peer.conn.reset(sid(1), ErrorCode::InternalError);
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::InternalError)]);
    assert!(peer.conn.poll_event().is_none());
    // Twice, or on a stream long gone: nothing more.
    peer.conn.reset(sid(1), ErrorCode::InternalError);
    assert!(peer.read().is_empty());
    // A request still queued is withdrawn.
    peer.get(3).unwrap();
    peer.conn.reset(sid(3), ErrorCode::RefusedStream);
    assert_eq!(peer.read(), [Out::rst(3, ErrorCode::RefusedStream)]);
    assert!(peer.conn.poll_event().is_none());
}

#[test]
fn priority_is_ignored_but_checked() {
    let mut peer = Peer::new();
    let dep = |on: u32| StreamDependency {
        dependency: sid(on),
        exclusive: false,
        weight: 15,
    };
    // On idle and open streams alike, and it opens nothing.
    peer.frame(Frame::Priority(Priority::new(sid(9), dep(0))))
        .unwrap();
    peer.get(1).unwrap();
    peer.frame(Frame::Priority(Priority::new(sid(1), dep(9))))
        .unwrap();
    assert!(peer.read().is_empty());
    peer.request();
    // Depending on itself: a stream error on a known stream.
    peer.frame(Frame::Priority(Priority::new(sid(1), dep(0))))
        .unwrap();
    peer.bytes(&[0, 0, 5, 0x2, 0, 0, 0, 0, 1, 0, 0, 0, 1, 7])
        .unwrap();
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::ProtocolError)]);
    // Its handler hears of it.
    assert!(matches!(peer.conn.poll_event(), Some(Event::Reset { .. })));
    // HEADERS depending on its own stream: decoded, then reset.
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_stream: true,
        priority: Some(dep(3)),
        ..Headers::new(sid(3), block)
    }))
    .unwrap();
    assert_eq!(peer.read(), [Out::rst(3, ErrorCode::ProtocolError)]);
    peer.get(5).unwrap();
    peer.request();
    // PRIORITY of the wrong length: FRAME_SIZE_ERROR on the stream.
    peer.bytes(&[0, 0, 4, 0x2, 0, 0, 0, 0, 5, 0, 0, 0, 1])
        .unwrap();
    assert_eq!(peer.read(), [Out::rst(5, ErrorCode::FrameSizeError)]);
    // Depending on itself on an idle stream: we cannot reset an idle stream.
    let result = peer.bytes(&[0, 0, 5, 0x2, 0, 0, 0, 0, 11, 0, 0, 0, 11, 7]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn ping_is_answered_with_the_same_payload() {
    let mut peer = Peer::new();
    peer.frame(Frame::Ping(Ping::new(*b"12345678"))).unwrap();
    assert_eq!(peer.read(), [Out::Pong(*b"12345678")]);
    // An ACK we did not ask for is ignored.
    peer.frame(Frame::Ping(Ping::pong(*b"whatever"))).unwrap();
    assert!(peer.read().is_empty());
    // Control frames go before DATA.
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, b"body");
    peer.frame(Frame::Ping(Ping::new(*b"abcdefgh"))).unwrap();
    let out = peer.read();
    assert_eq!(out[0], Out::Pong(*b"abcdefgh"));
    // Wrong length, wrong stream: connection errors.
    let result = peer.bytes(&[0, 0, 7, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert_goaway(&mut peer, result, ErrorCode::FrameSizeError);
    let mut peer = Peer::new();
    let result = peer.bytes(&[0, 0, 8, 0x6, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn unknown_frames_are_ignored_except_inside_a_header_block() {
    let mut peer = Peer::new();
    peer.bytes(&[0, 0, 3, 0xfa, 0xff, 0, 0, 0, 1, 1, 2, 3])
        .unwrap();
    peer.bytes(&[0, 0, 0, 0x20, 0, 0, 0, 0, 0]).unwrap();
    assert!(peer.read().is_empty());
    peer.get(1).unwrap();
    peer.request();
    // Between HEADERS and CONTINUATION: connection error.
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(3), block)
    }))
    .unwrap();
    let result = peer.bytes(&[0, 0, 1, 0xfa, 0, 0, 0, 0, 0, 1]);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn header_blocks_are_not_interleaved() {
    // Another stream's HEADERS inside a block.
    let mut peer = Peer::new();
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(1), block.clone())
    }))
    .unwrap();
    let result = peer.frame(Frame::Headers(Headers::new(sid(3), block)));
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // CONTINUATION on another stream.
    let mut peer = Peer::new();
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(1), block)
    }))
    .unwrap();
    let result = peer.frame(Frame::Continuation(Continuation {
        stream_id: sid(3),
        fragment: Bytes::new(),
        end_headers: true,
    }));
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // CONTINUATION with no block.
    let mut peer = Peer::new();
    let result = peer.frame(Frame::Continuation(Continuation {
        stream_id: sid(1),
        fragment: Bytes::new(),
        end_headers: true,
    }));
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // A block split over CONTINUATIONs at any point works.
    let mut peer = Peer::new();
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        end_stream: true,
        ..Headers::new(sid(1), block.slice(..3))
    }))
    .unwrap();
    peer.frame(Frame::Continuation(Continuation {
        stream_id: sid(1),
        fragment: block.slice(3..5),
        end_headers: false,
    }))
    .unwrap();
    peer.frame(Frame::Continuation(Continuation {
        stream_id: sid(1),
        fragment: block.slice(5..),
        end_headers: true,
    }))
    .unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.uri, "https://example.com/");
}

#[test]
fn push_promise_from_a_client_is_a_connection_error() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    let result = peer.frame(Frame::PushPromise(PushPromise::new(
        sid(1),
        sid(2),
        Bytes::new(),
    )));
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
}

#[test]
fn stream_id_rules() {
    // Even stream id: connection error.
    let mut peer = Peer::new();
    let result = peer.headers(2, &GET, true);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // Going back: connection error.
    let mut peer = Peer::new();
    peer.get(5).unwrap();
    let result = peer.get(3);
    assert_goaway(&mut peer, result, ErrorCode::ProtocolError);
    // The GOAWAY names the highest stream seen.
    let mut peer = Peer::new();
    peer.get(5).unwrap();
    let result = peer.data(7, b"x", false);
    assert!(result.is_err());
    assert!(matches!(
        peer.read().last(),
        Some(Out::GoAway(5, ErrorCode::ProtocolError, _))
    ));
}

#[test]
fn hpack_state_survives_refused_and_reset_streams() {
    let settings = ConnSettings {
        max_concurrent_streams: 1,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    peer.headers(1, &POST, false).unwrap();
    // Refused (over the limit), but its block adds entries to the dynamic table.
    let custom = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/refused"),
        ("x-custom", "value-one"),
    ];
    peer.headers(3, &custom, true).unwrap();
    assert_eq!(peer.read(), [Out::rst(3, ErrorCode::RefusedStream)]);
    // The client reuses those entries for the next request.
    peer.rst(1, ErrorCode::Cancel).unwrap();
    peer.headers(5, &custom, true).unwrap();
    let (_, head, _, _) = peer.request();
    assert_eq!(head.uri.path(), "/refused");
    assert_eq!(head.headers["x-custom"], "value-one");
}

#[test]
fn expect_100_continue_is_answered() {
    let mut peer = Peer::new();
    let mut fields = POST.to_vec();
    fields.push(("expect", "100-continue"));
    peer.headers(1, &fields, false).unwrap();
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "100")], false)]);
    peer.data(1, b"body", true).unwrap();
    let (_, _, body, _) = peer.request();
    assert_eq!(&body[..], b"body");
    peer.respond(1, b"ok");
    let out = peer.read();
    assert_eq!(out[0], Out::head(1, &[(":status", "200")], false));
}

#[test]
fn response_header_compression() {
    // On: the second identical head is a few octets of indexes.
    let mut peer = Peer::new();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-response",
        "a-fairly-long-value-0123456789".parse().unwrap(),
    );
    let mut cookie: HeaderValue = "session=secret-token-value-0123456789".parse().unwrap();
    cookie.set_sensitive(false);
    headers.insert("set-cookie", cookie);
    for id in [1, 3] {
        peer.get(id).unwrap();
        peer.request();
        peer.conn
            .send_headers(sid(id), StatusCode::OK, &headers, true);
    }
    peer.read();
    // x-response went from a 30-octet literal to one index octet.
    assert!(
        peer.blocks[1].len() + 25 < peer.blocks[0].len(),
        "{:?}",
        peer.blocks
    );
    // set-cookie is never indexed: 0x1f 0x28 is "never indexed, name index 55".
    assert!(peer.blocks[1].windows(2).any(|w| w == [0x1f, 0x28]));

    // Off: a size update to 0 first, then nothing is indexed.
    let settings = ConnSettings {
        allow_response_header_compression: false,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    for id in [1, 3] {
        peer.get(id).unwrap();
        peer.request();
        peer.conn
            .send_headers(sid(id), StatusCode::OK, &headers, true);
    }
    let out = peer.read();
    assert_eq!(out.len(), 2);
    assert_eq!(peer.blocks[0][0], 0x20);
    assert_eq!(peer.blocks[0].len() - 1, peer.blocks[1].len());
    assert_eq!(peer.dec.max_table_size(), 0);

    // The client's smaller HEADER_TABLE_SIZE is followed.
    let mut peer = Peer::new();
    peer.settings(Settings {
        header_table_size: Some(256),
        ..Settings::default()
    })
    .unwrap();
    peer.read();
    peer.get(1).unwrap();
    peer.request();
    peer.conn
        .send_headers(sid(1), StatusCode::OK, &headers, true);
    peer.read();
    assert_eq!(peer.dec.max_table_size(), 256);

    // Our own budget holds, whatever the client allows.
    let settings = ConnSettings {
        header_table_size: 100,
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    peer.get(1).unwrap();
    peer.request();
    peer.conn
        .send_headers(sid(1), StatusCode::OK, &headers, true);
    peer.read();
    assert_eq!(peer.dec.max_table_size(), 100);
    peer.settings(Settings {
        header_table_size: Some(65_536),
        ..Settings::default()
    })
    .unwrap();
    peer.get(3).unwrap();
    peer.request();
    peer.conn
        .send_headers(sid(3), StatusCode::OK, &headers, true);
    peer.read();
    assert_eq!(peer.dec.max_table_size(), 100);
}

// ---- GOAWAY, shutdown, timeouts --------------------------------------------------------

#[test]
fn idle_close_at_shutdown_names_the_last_stream() {
    // Streams 1 and 3 processed, then shutdown with nothing in progress: one GOAWAY with
    // the real last stream id, and the connection is done.
    let mut peer = Peer::new();
    for id in [1, 3] {
        peer.get(id).unwrap();
        peer.request();
        peer.respond(id, b"ok");
        peer.read();
    }
    assert!(peer.conn.close_idle());
    assert_eq!(
        peer.read(),
        [Out::GoAway(3, ErrorCode::NoError, String::new())]
    );
    assert!(peer.conn.is_closed());
    assert!(!peer.conn.close_idle(), "one final GOAWAY");
    // After the first phase of a graceful shutdown as well.
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    peer.respond(1, b"ok");
    peer.conn.shutdown(peer.now);
    peer.read();
    assert!(peer.conn.close_idle());
    assert_eq!(
        peer.read(),
        [Out::GoAway(1, ErrorCode::NoError, String::new())]
    );
    assert!(peer.conn.is_closed());
}

#[test]
fn graceful_shutdown_in_two_phases() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.request();
    peer.conn.shutdown(peer.now);
    assert_eq!(
        peer.read(),
        [
            Out::GoAway(MAX_WINDOW_SIZE, ErrorCode::NoError, String::new()),
            Out::Ping(SHUTDOWN_PING)
        ]
    );
    assert_eq!(
        peer.conn.next_timeout(),
        Some(peer.now + SHUTDOWN_PING_TIMEOUT)
    );
    // A stream the client opened before it saw the GOAWAY is still served.
    peer.get(3).unwrap();
    peer.request();
    peer.frame(Frame::Ping(Ping::pong(SHUTDOWN_PING))).unwrap();
    assert_eq!(
        peer.read(),
        [Out::GoAway(3, ErrorCode::NoError, String::new())]
    );
    assert_eq!(peer.conn.next_timeout(), None);
    // Streams above the last one are ignored, DATA on them too (windows given back).
    peer.get(5).unwrap();
    peer.headers(7, &POST, false).unwrap();
    peer.data(7, &[0; 1000], true).unwrap();
    assert!(peer.conn.poll_event().is_none());
    assert!(peer.read().is_empty());
    assert_eq!(peer.conn.conn_recv.unreleased(), 0);
    // The accepted ones finish, then the connection is done.
    assert!(!peer.conn.is_closed());
    peer.respond(1, b"one");
    peer.read();
    assert!(!peer.conn.is_closed());
    assert_eq!(peer.conn.active_streams(), 1);
    peer.respond(3, b"three");
    peer.read();
    assert!(peer.conn.is_closed());
    // A second shutdown changes nothing.
    peer.conn.shutdown(peer.now);
    assert!(peer.read().is_empty());
}

#[test]
fn shutdown_goes_on_without_the_ping_ack() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.conn.shutdown(peer.now);
    peer.read();
    peer.advance(Duration::from_millis(999));
    peer.conn.handle_timeout(peer.now).unwrap();
    assert!(peer.read().is_empty());
    peer.advance(Duration::from_millis(1));
    peer.conn.handle_timeout(peer.now).unwrap();
    assert_eq!(
        peer.read(),
        [Out::GoAway(1, ErrorCode::NoError, String::new())]
    );
    peer.request();
    peer.respond(1, b"");
    peer.read();
    assert!(peer.conn.is_closed());
    // Idle: closed as soon as the second GOAWAY is out.
    let mut peer = Peer::new();
    peer.conn.shutdown(peer.now);
    peer.frame(Frame::Ping(Ping::pong(SHUTDOWN_PING))).unwrap();
    assert!(peer.conn.is_closed());
    assert_eq!(
        peer.read()[2..],
        [Out::GoAway(0, ErrorCode::NoError, String::new())]
    );
}

#[test]
fn client_goaway_finishes_open_streams() {
    let mut peer = Peer::new();
    peer.get(1).unwrap();
    peer.frame(Frame::GoAway(GoAway::new(
        StreamId::ZERO,
        ErrorCode::NoError,
        Bytes::new(),
    )))
    .unwrap();
    assert_eq!(
        peer.read(),
        [Out::GoAway(1, ErrorCode::NoError, String::new())]
    );
    assert!(!peer.conn.is_closed());
    // A new stream after that is ignored.
    peer.get(3).unwrap();
    assert!(peer.read().is_empty());
    peer.request();
    assert!(peer.conn.poll_event().is_none());
    peer.respond(1, b"bye");
    peer.read();
    assert!(peer.conn.is_closed());
}

#[test]
fn header_block_left_open_times_out() {
    let mut peer = Peer::new();
    assert_eq!(peer.conn.next_timeout(), None);
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(1), block)
    }))
    .unwrap();
    let deadline = peer.now + Duration::from_secs(30);
    assert_eq!(peer.conn.next_timeout(), Some(deadline));
    peer.conn
        .handle_timeout(deadline - Duration::from_millis(1))
        .unwrap();
    let result = peer.conn.handle_timeout(deadline);
    assert_goaway(&mut peer, result, ErrorCode::InternalError);
}

#[test]
fn keep_alive_ping() {
    let settings = ConnSettings {
        keep_alive_ping_delay: Some(Duration::from_secs(10)),
        ..ConnSettings::default()
    };
    let mut peer = Peer::with(settings);
    let start = peer.now;
    assert_eq!(
        peer.conn.next_timeout(),
        Some(start + Duration::from_secs(10))
    );
    // Frames push it back.
    peer.advance(Duration::from_secs(5));
    peer.frame(Frame::Ping(Ping::new([1; 8]))).unwrap();
    peer.read();
    assert_eq!(
        peer.conn.next_timeout(),
        Some(start + Duration::from_secs(15))
    );
    peer.advance(Duration::from_secs(10));
    peer.conn.handle_timeout(peer.now).unwrap();
    assert_eq!(peer.read(), [Out::Ping(KEEP_ALIVE_PING)]);
    assert_eq!(
        peer.conn.next_timeout(),
        Some(peer.now + Duration::from_secs(20))
    );
    // The ACK (any frame) resets it.
    peer.advance(Duration::from_secs(1));
    peer.frame(Frame::Ping(Ping::pong(KEEP_ALIVE_PING)))
        .unwrap();
    assert_eq!(
        peer.conn.next_timeout(),
        Some(peer.now + Duration::from_secs(10))
    );
    // No answer: the connection is closed.
    peer.advance(Duration::from_secs(10));
    peer.conn.handle_timeout(peer.now).unwrap();
    peer.read();
    peer.advance(Duration::from_secs(20));
    let result = peer.conn.handle_timeout(peer.now);
    assert_goaway(&mut peer, result, ErrorCode::InternalError);
}

#[test]
fn settings_from_limits() {
    let mut limits = Limits::default();
    limits.http2.max_streams_per_connection = 7;
    limits.http2.max_frame_size = 32_768;
    limits.http2.initial_connection_window_size = 200_000;
    limits.max_request_headers_total_size = 8192;
    limits.max_request_body_size = None;
    let s = ConnSettings::from_limits(&limits);
    assert_eq!(s.max_concurrent_streams, 7);
    assert_eq!(s.max_frame_size, 32_768);
    assert_eq!(s.max_header_list_size, 8192);
    assert_eq!(s.max_header_field_size, 32_768);
    assert_eq!(s.max_header_count, 100);
    assert_eq!(s.initial_connection_window, 200_000);
    // No body size limit: the buffer is capped at 32 MiB.
    assert_eq!(s.max_request_body_buffer, 32 << 20);
    limits.max_request_body_size = Some(100_000);
    // Never below the connection window.
    assert_eq!(
        ConnSettings::from_limits(&limits).max_request_body_buffer,
        200_000
    );
    limits.max_request_body_size = Some(5_000_000);
    assert_eq!(
        ConnSettings::from_limits(&limits).max_request_body_buffer,
        5_000_000
    );
    assert_eq!(s.initial_stream_window, 786_432);
    assert_eq!(s.max_request_body_size, None);
    assert_eq!(s.request_headers_timeout, Duration::from_secs(30));
    assert!(s.allow_response_header_compression);
    assert_eq!(s.keep_alive_ping_delay, None);
    assert_eq!(s.keep_alive_ping_timeout, Duration::from_secs(20));
}

// ---- attacks ---------------------------------------------------------------------------

/// CVE-2023-44487: HEADERS then RST_STREAM, as fast as possible.
#[test]
fn attack_rapid_reset() {
    let mut peer = Peer::new();
    let mut result = Ok(());
    let mut id = 1;
    for _ in 0..1000 {
        peer.get(id).unwrap();
        result = peer.rst(id, ErrorCode::Cancel);
        if result.is_err() {
            break;
        }
        // Bounded work: no request survives to reach a handler, nothing is kept.
        assert!(peer.conn.events.is_empty());
        assert!(peer.conn.data.is_empty());
        assert_eq!(peer.conn.active_streams(), 0);
        id += 2;
    }
    assert_eq!((id - 1) / 2, MAX_CLIENT_RESETS_PER_WINDOW);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// The same at a rate a browser could reach is fine.
#[test]
fn resets_at_a_sustainable_rate_are_fine() {
    let mut peer = Peer::new();
    let mut id = 1;
    for _ in 0..2000 {
        peer.get(id).unwrap();
        peer.rst(id, ErrorCode::Cancel).unwrap();
        peer.advance(Duration::from_millis(6));
        id += 2;
    }
    assert!(peer.read().is_empty());
    assert!(peer.conn.poll_event().is_none());
}

/// Streams beyond SETTINGS_MAX_CONCURRENT_STREAMS, over and over.
#[test]
fn attack_stream_stacking() {
    let mut peer = Peer::new();
    for i in 0..100 {
        peer.headers(2 * i + 1, &POST, false).unwrap();
    }
    assert_eq!(peer.conn.active_streams(), 100);
    let mut result = Ok(());
    let mut refused = 0;
    for i in 100..1000 {
        result = peer.headers(2 * i + 1, &POST, false);
        if result.is_err() {
            break;
        }
        refused += 1;
        assert_eq!(peer.read(), [Out::rst(2 * i + 1, ErrorCode::RefusedStream)]);
        assert_eq!(peer.conn.active_streams(), 100);
        assert_eq!(peer.conn.data.len(), 100);
    }
    assert_eq!(refused, MAX_LOCAL_RESETS_PER_WINDOW);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CONTINUATION frames without END_HEADERS, without end.
#[test]
fn attack_continuation_flood() {
    let mut peer = Peer::new();
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(1), block)
    }))
    .unwrap();
    let max = peer.conn.max_header_block();
    assert_eq!(max, 65_536);
    let mut result = Ok(());
    for _ in 0..100 {
        result = peer.frame(Frame::Continuation(Continuation {
            stream_id: sid(1),
            fragment: Bytes::from(vec![0x82; 4096]),
            end_headers: false,
        }));
        if result.is_err() {
            break;
        }
        assert!(peer.conn.block.as_ref().unwrap().fragment.len() <= max);
    }
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
    assert!(peer.conn.block.is_none());
}

/// Empty CONTINUATION frames, without end.
#[test]
fn attack_empty_continuation_flood() {
    let mut peer = Peer::new();
    let block = peer.block(&GET);
    peer.frame(Frame::Headers(Headers {
        end_headers: false,
        ..Headers::new(sid(1), block)
    }))
    .unwrap();
    let empty = Frame::Continuation(Continuation {
        stream_id: sid(1),
        fragment: Bytes::new(),
        end_headers: false,
    });
    for _ in 0..MAX_CONSECUTIVE_EMPTY_FRAMES {
        peer.frame(empty.clone()).unwrap();
    }
    let result = peer.frame(empty);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// One large dynamic table entry referenced many times in a tiny block.
#[test]
fn attack_hpack_bomb() {
    let mut peer = Peer::new();
    let big = "b".repeat(4000);
    let mut fields = GET.to_vec();
    fields.push(("x-bomb", &big));
    peer.headers(1, &fields, true).unwrap();
    peer.request();
    peer.respond(1, b"");
    peer.read();
    // 10 references, 40 KB decoded: over the list size (32 KiB), under twice: 431.
    let mut fields = GET.to_vec();
    fields.extend(std::iter::repeat_n(("x-bomb", big.as_str()), 10));
    let block = peer.block(&fields);
    assert!(block.len() < 30, "{}", block.len());
    peer.frame(Frame::Headers(Headers {
        end_stream: true,
        ..Headers::new(sid(3), block)
    }))
    .unwrap();
    assert_eq!(peer.read(), [Out::head(3, &[(":status", "431")], true)]);
    assert!(peer.answered(3, 431).is_none());
    assert!(peer.conn.data.is_empty());
    // 20 references, 80 KB: GOAWAY, without having materialised more than twice the limit.
    let mut fields = GET.to_vec();
    fields.extend(std::iter::repeat_n(("x-bomb", big.as_str()), 20));
    let result = peer.headers(5, &fields, true);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CVE-2019-9511: a body in one-octet DATA frames, some padded.
#[test]
fn attack_data_dribble() {
    let mut peer = Peer::new();
    peer.headers(1, &POST, false).unwrap();
    let mut out = Vec::new();
    for i in 0..5000 {
        let frame = Frame::Data(Data {
            pad_len: (i % 2 == 0).then_some(255),
            ..Data::new(sid(1), Bytes::from_static(b"x"))
        });
        peer.frame(frame).unwrap();
        out.extend(peer.read());
    }
    // 5,000 octets held; the padding (640 KB of window) given back at once, in a couple of
    // WINDOW_UPDATEs, not one per frame.
    assert_eq!(peer.conn.buffered_body, 5000);
    assert!(out.len() <= 4, "{out:?}");
    assert!(out.iter().all(|o| matches!(o, Out::WindowUpdate(..))));
    peer.data(1, b"", true).unwrap();
    let (_, _, body, _) = peer.request();
    assert_eq!(body.len(), 5000);
}

/// CVE-2019-9512: PINGs from a client that does not read the answers.
#[test]
fn attack_ping_flood() {
    let mut peer = Peer::new();
    let ping = Frame::Ping(Ping::new([7; 8]));
    // A client that reads may ping up to the rate bound, second after second (its
    // SETTINGS counted in the first).
    for _ in 0..5 {
        peer.advance(RESET_WINDOW);
        peer.frames(std::iter::repeat_n(
            ping.clone(),
            MAX_PINGS_AND_SETTINGS_PER_WINDOW as usize,
        ))
        .unwrap();
        assert_eq!(
            peer.read().len(),
            MAX_PINGS_AND_SETTINGS_PER_WINDOW as usize
        );
    }
    peer.advance(RESET_WINDOW);
    // One more in a second trips it, even from a client that reads.
    let result = peer.frames(std::iter::repeat_n(
        ping.clone(),
        MAX_PINGS_AND_SETTINGS_PER_WINDOW as usize + 1,
    ));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);

    // Within the rate but never reading: the bound on queued answers, and the queued
    // answers are dropped.
    let mut peer = Peer::new();
    let mut result = Ok(());
    for _ in 0..3 {
        result = peer.frames(std::iter::repeat_n(ping.clone(), 500));
        if result.is_err() {
            break;
        }
        peer.advance(RESET_WINDOW);
    }
    assert!(peer.conn.control.len() < 100);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CVE-2019-9514: frames we answer with RST_STREAM, from a client that does not read.
#[test]
fn attack_reset_flood() {
    // As fast as possible: the reset budget.
    let mut peer = Peer::new();
    let mut result = Ok(());
    for i in 0..1000 {
        result = peer.headers(2 * i + 1, &[("Bad", "x")], true);
        if result.is_err() {
            assert_eq!(i, MAX_LOCAL_RESETS_PER_WINDOW);
            break;
        }
    }
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
    // Slowly enough for the budget, but never reading: the output bound.
    let mut peer = Peer::new();
    let mut result = Ok(());
    for i in 0..2000 {
        result = peer.headers(2 * i + 1, &[("Bad", "x")], true);
        if result.is_err() {
            assert_eq!(i as usize, MAX_QUEUED_CONTROL_FRAMES);
            break;
        }
        peer.advance(Duration::from_millis(10));
    }
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CVE-2019-9515: SETTINGS from a client that does not read the ACKs.
#[test]
fn attack_settings_flood() {
    let mut peer = Peer::new();
    let settings = Frame::Settings(Settings {
        initial_window_size: Some(65_535),
        ..Settings::default()
    });
    // Above the rate, from a client that reads.
    let result = peer.frames(std::iter::repeat_n(
        settings.clone(),
        MAX_PINGS_AND_SETTINGS_PER_WINDOW as usize + 1,
    ));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
    // Within the rate, never reading: the bound on queued answers.
    let mut peer = Peer::new();
    let mut result = Ok(());
    for _ in 0..3 {
        result = peer.frames(std::iter::repeat_n(settings.clone(), 500));
        if result.is_err() {
            break;
        }
        peer.advance(RESET_WINDOW);
    }
    assert!(peer.conn.control.len() < 100);
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CVE-2019-9516: header blocks of empty names and values.
#[test]
fn attack_zero_length_headers() {
    let mut peer = Peer::new();
    // Literal without indexing, new name: 0x00, name length 0, value length 0.
    let empty_field = [0x00, 0x00, 0x00];
    let mut block = peer.block(&GET).to_vec();
    block.extend(empty_field.repeat(100));
    peer.frame(Frame::Headers(Headers {
        end_stream: true,
        ..Headers::new(sid(1), Bytes::from(block))
    }))
    .unwrap();
    assert_eq!(peer.read(), [Out::rst(1, ErrorCode::ProtocolError)]);
    // Each costs 32 octets of the list: 2,100 of them pass twice the limit.
    let mut block = peer.block(&GET).to_vec();
    block.extend(empty_field.repeat(2100));
    let result = peer.frame(Frame::Headers(Headers {
        end_stream: true,
        ..Headers::new(sid(3), Bytes::from(block))
    }));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
    // Valid names with empty values: the count (431).
    let mut peer = Peer::new();
    let mut block = peer.block(&GET).to_vec();
    // Literal without indexing, new name "a", empty value.
    block.extend([0x00, 0x01, b'a', 0x00].repeat(150));
    peer.frame(Frame::Headers(Headers {
        end_stream: true,
        ..Headers::new(sid(1), Bytes::from(block))
    }))
    .unwrap();
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "431")], true)]);
    assert!(peer.answered(1, 431).is_none());
}

/// CVE-2019-9517: a client that opens windows for nothing and reads nothing.
#[test]
fn attack_internal_data_buffering() {
    let mut peer = Peer::new();
    peer.settings(Settings {
        initial_window_size: Some(0),
        ..Settings::default()
    })
    .unwrap();
    peer.get(1).unwrap();
    peer.request();
    peer.read();
    // The handler's data stays queued and says so: the driver pulls no more.
    peer.conn
        .send_headers(sid(1), StatusCode::OK, &HeaderMap::new(), false);
    peer.conn
        .send_data(sid(1), Bytes::from(vec![0; 64 * 1024]), false);
    assert_eq!(peer.read(), [Out::head(1, &[(":status", "200")], false)]);
    assert_eq!(peer.conn.queued_data(sid(1)), 64 * 1024);
    assert!(!peer.conn.wants_write());
    // Poking the windows by one octet at a time moves one octet each, never more.
    for _ in 0..10 {
        peer.window_update(1, 1).unwrap();
        let out = peer.read();
        assert!(matches!(&out[..], [Out::Data { data, .. }] if data.len() == 1));
    }
    assert_eq!(peer.conn.queued_data(sid(1)), 64 * 1024 - 10);
    // Control frames are bounded as in the ping flood.
    let result = peer.frames(std::iter::repeat_n(
        Frame::Ping(Ping::new([0; 8])),
        MAX_QUEUED_CONTROL_FRAMES + 1,
    ));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// CVE-2019-9518: empty DATA frames and empty unknown frames.
#[test]
fn attack_empty_frames() {
    let mut peer = Peer::new();
    peer.headers(1, &POST, false).unwrap();
    let empty = Frame::Data(Data::new(sid(1), Bytes::new()));
    // Runs of 100 broken by a real frame are fine.
    for _ in 0..3 {
        peer.frames(std::iter::repeat_n(empty.clone(), 100))
            .unwrap();
        peer.data(1, b"x", false).unwrap();
    }
    let result = peer.frames(std::iter::repeat_n(empty, 101));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);

    let mut peer = Peer::new();
    let result = peer.bytes(&[0, 0, 0, 0xfa, 0, 0, 0, 0, 0].repeat(101));
    assert_goaway(&mut peer, result, ErrorCode::EnhanceYourCalm);
}

/// Input in any split gives the same result as whole frames.
#[test]
fn any_input_split() {
    let mut whole = Peer::new();
    let mut bytes = Vec::new();
    let block = whole.block(&POST);
    Frame::Headers(Headers::new(sid(1), block)).encode(&mut bytes);
    Frame::Data(Data {
        pad_len: Some(3),
        ..Data::new(sid(1), Bytes::from_static(b"hello"))
    })
    .encode(&mut bytes);
    Frame::Ping(Ping::new([1; 8])).encode(&mut bytes);
    Frame::Data(Data {
        end_stream: true,
        ..Data::new(sid(1), Bytes::from_static(b" world"))
    })
    .encode(&mut bytes);
    for step in [1, 2, 7, 9, 10, 64] {
        let mut peer = Peer::new();
        for chunk in bytes.chunks(step) {
            peer.bytes(chunk).unwrap();
        }
        let (_, _, body, _) = peer.request();
        assert_eq!(&body[..], b"hello world", "step {step}");
        assert_eq!(peer.read(), [Out::Pong([1; 8])]);
    }
}

//! WebSocket over an HTTP/1.1 upgrade, with the handler of `examples/websocket_echo.rs`
//! and `tungstenite` as the client: echo of text and binary messages, a clean close, and
//! MaxConcurrentUpgradedConnections.

mod support;

#[path = "../examples/websocket_echo.rs"]
#[allow(dead_code)]
mod websocket_echo;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

type Client = WebSocket<TcpStream>;

fn stream(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Connects and upgrades; `Err(status)` when the server answered without upgrading.
fn connect(addr: SocketAddr) -> Result<Client, u16> {
    let url = format!("ws://{addr}/");
    match tungstenite::client::client(url.as_str(), stream(addr)) {
        Ok((ws, resp)) => {
            assert_eq!(resp.status(), 101);
            Ok(ws)
        }
        Err(HandshakeError::Failure(tungstenite::Error::Http(resp))) => Err(resp.status().as_u16()),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// Closes cleanly: sends Close and reads until the server's Close reply ends the session.
fn close(mut ws: Client) {
    ws.close(None).expect("send Close");
    for _ in 0..100 {
        match ws.read() {
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => return,
            Err(e) => panic!("unclean close: {e}"),
        }
    }
    panic!("the server never completed the closing handshake");
}

#[test]
fn echoes_text_and_binary_and_closes_cleanly() {
    let srv = support::start(support::options(), websocket_echo::handler);
    let mut ws = connect(srv.addr).expect("upgrade");
    ws.send(Message::Text("hello, falconet".into())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("hello, falconet".into()));
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    ws.send(Message::Binary(binary.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(binary));
    ws.send(Message::Ping(b"p".to_vec())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"p".to_vec()));
    close(ws);
    // The HTTP side is unaffected.
    support::assert_serves(&srv);
}

#[test]
fn the_handshake_response_is_a_proper_101() {
    let srv = support::start(support::options(), websocket_echo::handler);
    let resp = support::roundtrip(
        &srv,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert_eq!(resp.status, 101, "{}", resp.head);
    assert!(resp
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
    assert!(resp
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("upgrade")));
    // RFC 6455 §1.3's example key and accept value.
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(resp.header("content-length"), None);
    assert_eq!(resp.header("transfer-encoding"), None);
}

#[test]
fn a_plain_request_gets_the_page() {
    let srv = support::start(support::options(), websocket_echo::handler);
    let resp = support::roundtrip(&srv, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.body_str().contains("WebSocket"));
}

#[test]
fn max_concurrent_upgraded_connections_refuses_then_recovers() {
    let mut options = support::options();
    options.limits.max_concurrent_upgraded_connections = Some(1);
    let srv = support::start(options, websocket_echo::handler);

    let mut first = connect(srv.addr).expect("the first upgrade");
    first.send(Message::Text("one".into())).unwrap();
    assert_eq!(first.read().unwrap(), Message::Text("one".into()));

    // While the first is open, a second upgrade is refused with 503.
    assert_eq!(connect(srv.addr).err(), Some(503));
    let raw = support::roundtrip(
        &srv,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert_eq!(raw.status, 503);
    assert!(
        raw.body_str().contains("MaxConcurrentUpgradedConnections"),
        "{}",
        raw.body_str()
    );

    // The first still works; once it closes, its slot is free again.
    first.send(Message::Text("still here".into())).unwrap();
    assert_eq!(first.read().unwrap(), Message::Text("still here".into()));
    close(first);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut second = loop {
        match connect(srv.addr) {
            Ok(ws) => break ws,
            Err(503) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(status) => panic!("the slot was not released in time (last status {status})"),
        }
    };
    second.send(Message::Text("two".into())).unwrap();
    assert_eq!(second.read().unwrap(), Message::Text("two".into()));
    close(second);
}

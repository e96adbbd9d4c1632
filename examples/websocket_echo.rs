//! WebSocket echo server: an HTTP/1.1 upgrade handed to `tungstenite`.
//!
//! A `GET` with `Connection: Upgrade`, `Upgrade: websocket` and `Sec-WebSocket-Key` is
//! answered `101 Switching Protocols`; the raw connection then runs on a thread of its
//! own (outside the worker pool), where every text or binary message is sent back until
//! the client closes. Other requests get a small HTML page with a browser client. With
//! `Limits.MaxConcurrentUpgradedConnections` reached, an upgrade is refused with 503.
//!
//! ```text
//! cargo run --example websocket_echo -- --urls http://127.0.0.1:8080
//! # then open http://127.0.0.1:8080/ in a browser, or: websocat ws://127.0.0.1:8080/
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use std::time::Duration;

use falconet::http::header::{
    CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use falconet::http::{Method, StatusCode};
use falconet::{Body, Request, RequestExt, Response, Server, UpgradeError, Upgraded};
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

/// How long an upgraded connection may stay silent before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

const PAGE: &str = r#"<!doctype html>
<title>falconet WebSocket echo</title>
<input id="m" value="hello"><button onclick="ws.send(m.value)">send</button>
<pre id="log"></pre>
<script>
const ws = new WebSocket(location.href.replace(/^http/, "ws"));
ws.onmessage = (e) => { log.textContent += e.data + "\n"; };
</script>
"#;

fn plain(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, content_type.parse().unwrap());
    resp
}

/// Answers WebSocket upgrades with an echo session and anything else with a page.
pub fn handler(req: Request) -> Response {
    let upgrade = match req.upgrade() {
        Ok(u) => u,
        Err(UpgradeError::LimitReached) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                UpgradeError::LimitReached.to_string(),
            )
        }
        Err(_) if req.method() == Method::GET || req.method() == Method::HEAD => {
            return plain(StatusCode::OK, "text/html; charset=utf-8", PAGE)
        }
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                e.to_string(),
            )
        }
    };
    let is_websocket = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let key = req.headers().get(SEC_WEBSOCKET_KEY);
    let (Some(key), true, &Method::GET) = (key, is_websocket, req.method()) else {
        // Dropping `upgrade` gives its slot back.
        return plain(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "expected a WebSocket upgrade: GET with Upgrade: websocket and Sec-WebSocket-Key",
        );
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut resp = Response::new(upgrade.into_body(echo_session));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    headers.insert(UPGRADE, "websocket".parse().unwrap());
    headers.insert(CONNECTION, "Upgrade".parse().unwrap());
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept.parse().unwrap());
    resp
}

/// Runs one WebSocket session on the upgraded connection: echoes text and binary
/// messages until the client closes or the connection fails.
fn echo_session(io: Upgraded) {
    let id = io.connection().id();
    if let Err(e) = io.set_read_timeout(Some(IDLE_TIMEOUT)) {
        log::warn!("WebSocket {id}: cannot set a read timeout: {e}");
        return;
    }
    let mut ws = WebSocket::from_raw_socket(io, Role::Server, None);
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(msg) {
                    log::debug!("WebSocket {id}: send failed: {e}");
                    break;
                }
            }
            Ok(Message::Close(_)) => {
                // tungstenite queued the closing handshake's reply: send it.
                let _ = ws.flush();
                log::debug!("WebSocket {id}: closed by the client");
                break;
            }
            // Pings are answered by tungstenite itself.
            Ok(_) => {}
            Err(e) => {
                log::debug!("WebSocket {id}: {e}");
                break;
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    Server::new(options, handler).run()?;
    Ok(())
}

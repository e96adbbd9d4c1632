//! A sensor gateway on [`falconet::Router`]: JSON state, a setting, live values over a
//! WebSocket, and the UI's static files.
//!
//! - `GET /api/state` → `{"reading": N, "interval_ms": N}`.
//! - `POST /api/settings` with `{"interval_ms": 50..=60000}` → 204; else 400.
//! - `GET /api/live` (WebSocket) → a text message `{"reading": N}` every interval.
//! - anything else → the files of `--root DIR` (default `.`), e.g. `index.html`.
//!
//! ```text
//! cargo run --example sensor_gateway -- --urls http://127.0.0.1:8080 --root ./ui
//! curl -d '{"interval_ms":500}' http://127.0.0.1:8080/api/settings
//! ```
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use falconet::config::CommandLine;
use falconet::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use falconet::http::StatusCode;
use falconet::response::{json, status, text};
use falconet::{Request, RequestExt, Response, Router, Server, StaticFiles, Upgraded};
use serde_json::{json, Value};
use tungstenite::{protocol::Role, Message, WebSocket};

/// The gateway's one setting: how often live values are pushed.
static INTERVAL_MS: AtomicU64 = AtomicU64::new(1000);

/// The sensor: a made-up reading that changes with time.
fn reading() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    200 + (ms / 100 % 50) as u64
}

fn settings(req: Request) -> Response {
    let body: Value =
        serde_json::from_slice(req.body().as_bytes().unwrap_or(&[])).unwrap_or_default();
    match body.get("interval_ms").and_then(Value::as_u64) {
        Some(ms @ 50..=60_000) => {
            INTERVAL_MS.store(ms, Relaxed);
            status(StatusCode::NO_CONTENT)
        }
        _ => text(
            StatusCode::BAD_REQUEST,
            "expected {\"interval_ms\": 50..=60000}\n",
        ),
    }
}

fn live(req: Request) -> Response {
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        return text(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade\n");
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let upgrade = match req.upgrade() {
        Ok(u) => u,
        Err(e) => return text(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let mut resp = Response::new(upgrade.into_body(push));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, "websocket".parse().unwrap());
    h.insert(CONNECTION, "Upgrade".parse().unwrap());
    h.insert(SEC_WEBSOCKET_ACCEPT, accept.parse().unwrap());
    resp
}

/// Sends a reading every interval until the client goes away (a failed send).
fn push(io: Upgraded) {
    let _ = io.set_write_timeout(Some(Duration::from_secs(10)));
    let mut ws = WebSocket::from_raw_socket(io, Role::Server, None);
    loop {
        let msg = json!({ "reading": reading() }).to_string();
        if ws.send(Message::Text(msg)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(INTERVAL_MS.load(Relaxed)));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut cl = CommandLine::parse(std::env::args().skip(1))?;
    let files = StaticFiles::new(cl.root.take().unwrap_or_else(|| ".".into()))?;
    let api = Router::new()
        .get("/api/state", |_req: Request| {
            let state = json!({ "reading": reading(), "interval_ms": INTERVAL_MS.load(Relaxed) });
            json(StatusCode::OK, &state)
        })
        .post("/api/settings", settings)
        .get("/api/live", live)
        .fallback(files);
    Server::new(cl.options()?, api).run()?;
    Ok(())
}

//! The server of `bench/soak.sh`: one process serving everything the soak test sends.
//!
//! - `GET /ws` with a WebSocket upgrade → the echo session of `examples/websocket_echo.rs`
//!   (text and binary messages sent back, pings answered, clean close).
//! - everything else → `examples/echo.rs`: `GET` → 200 `Hello, World!`; `POST` / `PUT` →
//!   the buffered request body echoed; any method on `/stream` → the body streamed back
//!   (synchronous I/O, chunked).
//!
//! Endpoints, certificates, limits and the status endpoint come from `--urls` / `--config`
//! (Kestrel's layout), as for the other examples; `bench/soak.sh` writes the configuration.
//!
//! ```text
//! cargo run --release --example soak_server -- --urls 'http://127.0.0.1:8080'
//! curl http://127.0.0.1:8080/                       # Hello, World!
//! curl --http2-prior-knowledge -d hi http://127.0.0.1:8080/upload   # hi
//! ```

#[path = "echo.rs"]
#[allow(dead_code)]
mod echo;
#[path = "websocket_echo.rs"]
#[allow(dead_code)]
mod websocket_echo;

use falconet::{Handler, Prepare, Request, Response, Server};

/// The WebSocket echo on `/ws`, the echo server everywhere else.
struct Soak;

impl Handler for Soak {
    fn prepare(&self, p: &mut Prepare<'_>) {
        echo::Echo.prepare(p);
    }

    fn handle(&self, req: Request) -> Response {
        if req.uri().path() == "/ws" {
            websocket_echo::handler(req)
        } else {
            echo::Echo.handle(req)
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    Server::new(options, Soak).run()?;
    Ok(())
}

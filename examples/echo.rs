//! Echo server: buffered and streamed request bodies.
//!
//! - `GET` (any path but `/stream`) → 200 `Hello, World!`.
//! - `POST` or `PUT` → 200 with the request body echoed back. The server reads the whole
//!   body (under MaxRequestBodySize) before the handler runs: the default, buffered mode.
//! - any method on `/stream` → the body streamed back as it arrives. The handler opts this
//!   one route into synchronous I/O in [`Handler::prepare`], so it receives the request
//!   body unread and writes the response with [`Body::from_writer`] (chunked).
//!
//! ```text
//! cargo run --example echo -- --urls http://127.0.0.1:8080
//! curl -d 'hello' http://127.0.0.1:8080/
//! curl -T big.iso http://127.0.0.1:8080/stream -o copy.iso
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use falconet::http::header::CONTENT_TYPE;
use falconet::http::{Method, StatusCode};
use falconet::{Body, Handler, Prepare, Request, Response, Server};

/// The echo handler (`pub`: `examples/soak_server.rs` serves it too).
pub struct Echo;

impl Handler for Echo {
    fn prepare(&self, p: &mut Prepare<'_>) {
        if p.uri().path() == "/stream" {
            p.set_allow_synchronous_io(true);
        }
    }

    fn handle(&self, req: Request) -> Response {
        if req.uri().path() == "/stream" {
            // The body is streamed from the connection while the response is written.
            let mut body = req.into_body();
            return Response::new(Body::from_writer(move |w| {
                std::io::copy(&mut body, w)?;
                Ok(())
            }));
        }
        match *req.method() {
            Method::GET | Method::HEAD => text(StatusCode::OK, "Hello, World!"),
            Method::POST | Method::PUT => {
                let content_type = req.headers().get(CONTENT_TYPE).cloned();
                // A buffered body: already in memory, `into_bytes` does not block.
                match req.into_body().into_bytes() {
                    Ok(bytes) => {
                        let mut resp = Response::new(Body::from(bytes));
                        if let Some(ct) = content_type {
                            resp.headers_mut().insert(CONTENT_TYPE, ct);
                        }
                        resp
                    }
                    Err(e) => text(StatusCode::BAD_REQUEST, &format!("{e}\n")),
                }
            }
            _ => {
                let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                resp.headers_mut().insert(
                    falconet::http::header::ALLOW,
                    "GET, HEAD, POST, PUT".parse().unwrap(),
                );
                resp
            }
        }
    }
}

fn text(status: StatusCode, s: &str) -> Response {
    let mut resp = Response::new(Body::from(s));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    resp
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    Server::new(options, Echo).run()?;
    Ok(())
}

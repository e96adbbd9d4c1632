//! Embedding the server in a blocking program: start it in the background, use it, stop
//! it.
//!
//! `main` starts a server on `127.0.0.1:0` (a free port; or `--urls`), makes three
//! requests to it with a plain `std::net::TcpStream`, prints the responses, then shuts
//! the server down gracefully and exits 0. No async runtime and no HTTP client crate.
//!
//! ```text
//! cargo run --example embedded
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use falconet::http::header::CONTENT_TYPE;
use falconet::http::Method;
use falconet::{Body, EndpointOptions, Request, Response, Server};

fn handler(req: Request) -> Response {
    let body = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => "Hello from an embedded falconet!\n".to_string(),
        (&Method::GET, "/time") => format!(
            "{} seconds since the epoch\n",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ),
        (&Method::POST, "/upper") => {
            let text = String::from_utf8_lossy(req.body().as_bytes().unwrap_or(&[]));
            text.to_uppercase()
        }
        _ => {
            let mut resp = Response::new(Body::from("not found\n"));
            *resp.status_mut() = falconet::http::StatusCode::NOT_FOUND;
            return resp;
        }
    };
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    resp
}

/// Sends one request with `Connection: close` and returns the whole response.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    Ok(response)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut options = falconet::config::options_from_args(std::env::args().skip(1))?;
    if options.urls.is_empty() && options.endpoints.is_empty() {
        options
            .endpoints
            .push(EndpointOptions::ip(SocketAddr::from(([127, 0, 0, 1], 0))));
    }
    let handle = Server::new(options, handler).start()?;
    let addr = handle
        .local_addr()
        .ok_or("this example needs a TCP endpoint (e.g. --urls http://127.0.0.1:0)")?;
    println!("server listening on {}", handle.urls().join(", "));

    for (method, path, body) in [
        ("GET", "/", ""),
        ("GET", "/time", ""),
        ("POST", "/upper", "make me loud"),
    ] {
        let response = request(addr, method, path, body)?;
        println!("--- {method} {path}\n{response}");
    }

    let clean = handle.shutdown(Duration::from_secs(5));
    println!(
        "server stopped ({})",
        if clean { "clean" } else { "timed out" }
    );
    Ok(())
}

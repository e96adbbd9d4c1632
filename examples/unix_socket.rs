//! Serving on a Unix domain socket, with the socket file's permissions set in code.
//!
//! Listens on `http://unix:/tmp/falconet-example.sock` unless `--urls` (or the config
//! file) says otherwise. Every Unix socket endpoint gets mode `0o660` (owner and group may
//! connect), the way a reverse proxy in the same group would reach it. A stale socket
//! file left by a crashed process is removed at startup; the file is removed again on
//! graceful shutdown (Ctrl-C or SIGTERM).
//!
//! ```text
//! cargo run --example unix_socket
//! curl --unix-socket /tmp/falconet-example.sock http://localhost/
//! ```
//!
//! `--config FILE` loads a JSON configuration file (Kestrel's layout) as well.

use falconet::http::header::CONTENT_TYPE;
use falconet::{Body, EndpointOptions, ListenAddress, Request, RequestExt, Response, Server};

const DEFAULT_URL: &str = "http://unix:/tmp/falconet-example.sock";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut options = falconet::config::options_from_args(std::env::args().skip(1))?;
    if options.endpoints.is_empty() {
        // Turn the URLs into endpoints so that per-endpoint settings can be set in code.
        let urls = std::mem::take(&mut options.urls);
        let urls = if urls.is_empty() {
            vec![DEFAULT_URL.to_string()]
        } else {
            urls
        };
        for url in &urls {
            options.endpoints.push(EndpointOptions::from_url(url)?);
        }
    }
    for ep in &mut options.endpoints {
        if matches!(ep.address, ListenAddress::Unix(_)) {
            ep.unix_socket_mode = Some(0o660);
        }
    }
    Server::new(options, |req: Request| {
        let text = format!(
            "Hello over {} (connection {})\n",
            req.connection().local_addr(),
            req.connection().id()
        );
        let mut resp = Response::new(Body::from(text));
        resp.headers_mut()
            .insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
        resp
    })
    .run()?;
    Ok(())
}

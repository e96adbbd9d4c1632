//! Every request → 200 `text/plain` `Hello, World!`.
//!
//! `cargo run --release --example hello -- --urls http://127.0.0.1:8080`

use falconet::http::header::CONTENT_TYPE;
use falconet::{Body, Request, Response, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = falconet::config::options_from_args(std::env::args().skip(1))?;
    Server::new(options, |_req: Request| {
        let mut resp = Response::new(Body::from("Hello, World!"));
        resp.headers_mut()
            .insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        resp
    })
    .run()?;
    Ok(())
}

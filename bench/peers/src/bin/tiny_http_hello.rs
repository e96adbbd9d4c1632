//! tiny_http 0.12 peer: `GET /` → 200 `Hello, World!` (text/plain).
//! A pool of 2 threads, each calling `server.recv()` in a loop.
//!
//! Usage: tiny-http-hello 127.0.0.1:PORT [THREADS]

use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let threads: usize = args
        .next()
        .map(|s| s.parse().expect("THREADS"))
        .unwrap_or(2);
    let server = Arc::new(tiny_http::Server::http(&addr).expect("bind"));
    let ct = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/plain"[..]).unwrap();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let server = Arc::clone(&server);
            let ct = ct.clone();
            std::thread::spawn(move || loop {
                let req = match server.recv() {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("recv: {e}");
                        continue;
                    }
                };
                let resp =
                    tiny_http::Response::from_string("Hello, World!").with_header(ct.clone());
                let _ = req.respond(resp);
            })
        })
        .collect();
    eprintln!("tiny_http listening on {addr} with {threads} threads");
    for h in handles {
        let _ = h.join();
    }
}

//! hyper 1.x HTTP/2 peer on tokio: h2c with prior knowledge (cleartext, no Upgrade, no TLS),
//! `GET /` → 200 `Hello, World!` (text/plain), the same answer as `hyper-hello`.
//! Multi-thread runtime with 2 worker threads, hyper-util's TokioIo and TokioExecutor,
//! `server::conn::http2` with its defaults (max concurrent streams 200).
//!
//! Usage: hyper-h2-hello 127.0.0.1:PORT [WORKER_THREADS]

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::builder()
        .header("Content-Type", "text/plain")
        .body(Full::new(Bytes::from_static(b"Hello, World!")))
        .unwrap())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let threads: usize = args
        .next()
        .map(|s| s.parse().expect("WORKER_THREADS"))
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        eprintln!(
            "hyper http2 (h2c prior knowledge) listening on {addr} with {threads} worker threads"
        );
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    });
}

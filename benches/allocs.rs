//! Heap allocations per keep-alive request, outside the handler.
//!
//! `cargo bench --bench allocs` starts a server in this process with a counting global
//! allocator, sends keep-alive requests on one connection from a client that allocates
//! nothing per request, and prints allocations per request: in total, in the handler (the
//! same handler called directly), and the difference — what the server itself costs.
//! Buffers are reused across the requests of a connection, so the figure is a small
//! constant independent of the number of requests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use falconet::http::header::CONTENT_TYPE;
use falconet::http::HeaderValue;
use falconet::{Body, EndpointOptions, Request, Response, Server, ServerOptions};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn handler(_req: Request) -> Response {
    let mut resp = Response::new(Body::from_static(b"Hello, World!"));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// Reads one `Hello, World!` response (fixed length) into `buf`, allocating nothing.
fn read_response(s: &mut TcpStream, buf: &mut [u8]) {
    let mut have = 0;
    loop {
        let n = s.read(&mut buf[have..]).expect("read");
        assert!(n > 0, "server closed the connection");
        have += n;
        if buf[..have].ends_with(b"Hello, World!") {
            return;
        }
    }
}

fn main() {
    const N: u64 = 20_000;
    let options = ServerOptions {
        endpoints: vec![EndpointOptions::ip("127.0.0.1:0".parse().unwrap())],
        workers: 1,
        ..ServerOptions::default()
    };
    let handle = Server::new(options, handler).start().expect("start");
    let addr = handle.local_addr().expect("address");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: allocs\r\nAccept: */*\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    // Warm up: connection buffers, thread-locals, the date cache.
    for _ in 0..100 {
        s.write_all(req).unwrap();
        read_response(&mut s, &mut buf);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..N {
        s.write_all(req).unwrap();
        read_response(&mut s, &mut buf);
    }
    let total = ALLOCS.load(Ordering::Relaxed) - before;

    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..N {
        let r = handler(Request::new(Body::empty()));
        drop(r);
    }
    let in_handler = ALLOCS.load(Ordering::Relaxed) - before;
    drop(s);
    handle.shutdown(Duration::from_secs(2));

    let per = |n: u64| n as f64 / N as f64;
    println!("| measure | allocations per request |");
    println!("|---|---|");
    println!("| total (server + handler) | {:.2} |", per(total));
    println!("| handler alone | {:.2} |", per(in_handler));
    println!(
        "| **server, outside the handler** | **{:.2}** |",
        per(total.saturating_sub(in_handler))
    );
}

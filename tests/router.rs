//! `Router` end to end over real sockets: 404, 405 + Allow, HEAD through GET, decoded
//! parameters and queries, StaticFiles under a catch-all, `prepare` forwarded to the
//! route (synchronous I/O per route), and a WebSocket upgrade through the router.

mod support;

#[path = "../examples/websocket_echo.rs"]
#[allow(dead_code)]
mod websocket_echo;

use std::io::Read;

use falconet::http::StatusCode;
use falconet::response::{redirect, status, text};
use falconet::{Handler, Params, Prepare, Query, Request, Response, Router};

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn api() -> Router {
    Router::new()
        .get("/items", |_req: Request| text(StatusCode::OK, "list"))
        .post("/items", |_req: Request| status(StatusCode::CREATED))
        .get("/items/{id}", |req: Request| {
            let id = Params::of(&req).get("id").unwrap_or("?").to_owned();
            let q = Query::of(&req);
            text(StatusCode::OK, format!("item {id} q={:?}", q.get("q")))
        })
        .get("/old", |_req: Request| redirect("/items"))
}

#[test]
fn routes_params_404_405_and_head() {
    let srv = support::start(support::options(), api());
    let resp = support::roundtrip(&srv, &get("/items"));
    assert_eq!((resp.status, resp.body_str().as_str()), (200, "list"));
    let resp = support::roundtrip(&srv, &get("/items/caf%C3%A9%20au%20lait?q=a+b%21"));
    assert_eq!(resp.body_str(), "item café au lait q=Some(\"a b!\")");
    let resp = support::roundtrip(&srv, &post("/items", b"x"));
    assert_eq!(resp.status, 201, "{}", resp.head);

    let resp = support::roundtrip(&srv, &get("/nope"));
    assert_eq!(
        (resp.status, resp.body_str().as_str()),
        (404, "Not Found\n")
    );
    let resp = support::roundtrip(&srv, &get("/items/"));
    assert_eq!(resp.status, 404, "a trailing slash is another path");
    let resp = support::roundtrip(&srv, b"DELETE /items HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 405, "{}", resp.head);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, POST"));
    let resp = support::roundtrip(&srv, &post("/items/3", b""));
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));

    // HEAD is answered by the GET route, without the body but with its length.
    let resp = support::roundtrip(&srv, b"HEAD /items HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.header("content-length"), Some("4"));
    assert!(resp.body.is_empty());

    let resp = support::roundtrip(&srv, &get("/old"));
    assert_eq!(
        (resp.status, resp.header("location")),
        (302, Some("/items"))
    );
}

#[cfg(feature = "static-files")]
#[test]
fn static_files_under_a_catch_all_and_as_fallback() {
    let dir = support::TempDir::new("router-static");
    std::fs::create_dir_all(dir.path().join("ui/sub")).unwrap();
    std::fs::write(dir.path().join("ui/index.html"), "<h1>ui</h1>").unwrap();
    std::fs::write(dir.path().join("ui/app.js"), "let x = 1;").unwrap();
    std::fs::write(dir.path().join("top.txt"), "top").unwrap();
    let files = std::sync::Arc::new(falconet::StaticFiles::new(dir.path()).unwrap());
    let router = Router::new()
        .get("/ui/{*path}", files.clone())
        .get("/api", |_req: Request| text(StatusCode::OK, "api"))
        .fallback(files);
    let srv = support::start(support::options(), router);
    let resp = support::roundtrip(&srv, &get("/ui/app.js"));
    assert_eq!((resp.status, resp.body_str().as_str()), (200, "let x = 1;"));
    let resp = support::roundtrip(&srv, &get("/ui/"));
    assert_eq!(resp.body_str(), "<h1>ui</h1>");
    // StaticFiles sees the full path, so its directory redirect is right.
    let resp = support::roundtrip(&srv, &get("/ui/sub"));
    assert_eq!(
        (resp.status, resp.header("location")),
        (301, Some("/ui/sub/"))
    );
    let resp = support::roundtrip(&srv, &get("/top.txt"));
    assert_eq!((resp.status, resp.body_str().as_str()), (200, "top"));
    let resp = support::roundtrip(&srv, &get("/api"));
    assert_eq!(resp.body_str(), "api");
    // A POST to the catch-all is the router's 405; to the fallback, StaticFiles' own.
    let resp = support::roundtrip(&srv, &post("/ui/app.js", b""));
    assert_eq!(
        (resp.status, resp.header("allow")),
        (405, Some("GET, HEAD"))
    );
    let resp = support::roundtrip(&srv, &post("/top.txt", b""));
    assert_eq!(resp.status, 405);
}

/// Opts its requests into synchronous I/O and reports whether the body arrived buffered.
struct Streaming;

impl Handler for Streaming {
    fn prepare(&self, p: &mut Prepare<'_>) {
        p.set_allow_synchronous_io(true);
        p.set_max_request_body_size(Some(100));
    }

    fn handle(&self, mut req: Request) -> Response {
        let buffered = req.body().as_bytes().is_some();
        let mut got = Vec::new();
        if let Err(e) = req.body_mut().read_to_end(&mut got) {
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
        text(
            StatusCode::OK,
            format!("buffered={buffered} len={}", got.len()),
        )
    }
}

#[test]
fn prepare_is_forwarded_to_the_matched_route() {
    let router = Router::new()
        .post("/stream", Streaming)
        .post("/plain", |req: Request| Streaming.handle(req));
    let srv = support::start(support::options(), router);
    let resp = support::roundtrip(&srv, &post("/stream", b"abc"));
    assert_eq!(resp.body_str(), "buffered=false len=3");
    // The route's per-request limit applies: 413 before the handler runs.
    let resp = support::roundtrip(&srv, &post("/stream", &[b'a'; 200]));
    assert_eq!(resp.status, 413, "{}", resp.head);
    let resp = support::roundtrip(&srv, &post("/plain", &[b'a'; 200]));
    assert_eq!(resp.body_str(), "buffered=true len=200");
}

#[test]
fn an_upgrade_goes_through_the_router_unchanged() {
    use tungstenite::Message;
    let router = Router::new()
        .get("/ws", websocket_echo::handler)
        .get("/", |_req: Request| text(StatusCode::OK, "home"));
    let srv = support::start(support::options(), router);
    let url = format!("ws://{}/ws", srv.addr);
    let (mut ws, resp) = tungstenite::client::client(url.as_str(), srv.connect()).expect("upgrade");
    assert_eq!(resp.status(), 101);
    ws.send(Message::Text("through the router".into())).unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Text("through the router".into())
    );
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
    let resp = support::roundtrip(&srv, &get("/"));
    assert_eq!(resp.body_str(), "home");
}

//! The examples, run as the programs they are: started on a free port, used over real
//! sockets, stopped with SIGTERM. The binaries must be built beforehand with the same
//! profile and target directory (`cargo build --examples`; `cargo test` builds them too);
//! a missing binary fails the test with a message saying so.

mod support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::ChildServer;

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// Starts example `name` with `--urls urls` and `RUST_LOG=info`.
fn spawn(name: &str, urls: &str) -> ChildServer {
    let mut cmd = support::example_command(name);
    cmd.args(["--urls", urls]).env("RUST_LOG", "info");
    cmd.env_remove("FALCONET_URLS");
    ChildServer::spawn(cmd)
}

/// Sends SIGTERM and waits (at most 5 s) for a clean exit.
fn terminate(server: &mut ChildServer) {
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -TERM {pid} failed");
    let status = wait_exit(&mut server.child, Duration::from_secs(5)).unwrap_or_else(|| {
        panic!(
            "the example did not exit within 5 s of SIGTERM; stderr:\n{}",
            server.stderr()
        )
    });
    assert!(
        status.success(),
        "exit status {status} after SIGTERM; stderr:\n{}",
        server.stderr()
    );
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hello_serves_and_exits_cleanly_on_sigterm() {
    let mut srv = spawn("hello", "http://127.0.0.1:0");
    let addr = srv.wait_for_v4_port(Duration::from_secs(10));
    let resp = agent()
        .get(&format!("http://{addr}/"))
        .call()
        .expect("GET /");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_string().unwrap(), "Hello, World!");
    terminate(&mut srv);
    assert!(
        srv.stderr().contains("shutting down"),
        "no shutdown log line; stderr:\n{}",
        srv.stderr()
    );
}

#[test]
fn echo_echoes_buffered_and_streamed_bodies() {
    let mut srv = spawn("echo", "http://127.0.0.1:0");
    let addr = srv.wait_for_v4_port(Duration::from_secs(10));
    let agent = agent();
    let resp = agent.get(&format!("http://{addr}/")).call().expect("GET");
    assert_eq!(resp.into_string().unwrap(), "Hello, World!");
    let resp = agent
        .post(&format!("http://{addr}/"))
        .send_string("echo me")
        .expect("POST");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_string().unwrap(), "echo me");
    let resp = agent
        .put(&format!("http://{addr}/put"))
        .send_string("put me")
        .expect("PUT");
    assert_eq!(resp.into_string().unwrap(), "put me");
    // The streaming route: echoed chunked, as the body arrives.
    let resp = support::get_at(addr, "/stream");
    assert_eq!(resp.status, 200, "{}", resp.head);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let resp = agent
        .post(&format!("http://{addr}/stream"))
        .send_bytes(&body)
        .expect("POST /stream");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    let mut got = Vec::new();
    resp.into_reader().read_to_end(&mut got).unwrap();
    assert!(got == body, "streamed echo differs ({} bytes)", got.len());
    terminate(&mut srv);
}

#[test]
fn soak_server_serves_hello_upload_and_websocket() {
    use tungstenite::Message;
    let mut srv = spawn("soak_server", "http://127.0.0.1:0");
    let addr = srv.wait_for_v4_port(Duration::from_secs(10));
    let agent = agent();
    let resp = agent.get(&format!("http://{addr}/")).call().expect("GET");
    assert_eq!(resp.into_string().unwrap(), "Hello, World!");
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let resp = agent
        .post(&format!("http://{addr}/upload"))
        .send_bytes(&body)
        .expect("POST /upload");
    assert_eq!(resp.status(), 200);
    let mut got = Vec::new();
    resp.into_reader().read_to_end(&mut got).unwrap();
    assert!(got == body, "echoed upload differs ({} bytes)", got.len());
    // The WebSocket echo on /ws.
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (mut ws, resp) =
        tungstenite::client::client(format!("ws://{addr}/ws").as_str(), stream).expect("upgrade");
    assert_eq!(resp.status(), 101);
    ws.send(Message::Text("soak".into())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("soak".into()));
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
    terminate(&mut srv);
}

#[test]
fn json_api_creates_and_lists_items() {
    let mut srv = spawn("json_api", "http://127.0.0.1:0");
    let addr = srv.wait_for_v4_port(Duration::from_secs(10));
    let agent = agent();
    let url = format!("http://{addr}/items");
    let resp = agent.get(&url).call().expect("GET /items");
    assert_eq!(resp.content_type(), "application/json");
    assert_eq!(resp.into_string().unwrap(), "[]");
    let resp = agent
        .post(&url)
        .set("Content-Type", "application/json")
        .send_string(r#"{"name":"apple"}"#)
        .expect("POST /items");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.header("location"), Some("/items/1"));
    assert_eq!(resp.into_string().unwrap(), r#"{"id":1,"name":"apple"}"#);
    let resp = agent.get(&url).call().expect("GET /items");
    assert_eq!(resp.into_string().unwrap(), r#"[{"id":1,"name":"apple"}]"#);
    match agent.post(&url).send_string("{not json") {
        Err(ureq::Error::Status(400, resp)) => {
            assert_eq!(resp.content_type(), "application/json");
            assert!(resp.into_string().unwrap().starts_with(r#"{"error":"#));
        }
        other => panic!("bad JSON: expected 400, got {other:?}"),
    }
    match agent.get(&format!("http://{addr}/nope")).call() {
        Err(ureq::Error::Status(404, resp)) => {
            assert_eq!(resp.content_type(), "application/json")
        }
        other => panic!("unknown path: expected 404, got {other:?}"),
    }
    terminate(&mut srv);
}

#[test]
fn unix_socket_serves_with_mode_0660_and_removes_its_file() {
    let dir = support::TempDir::new("unix-example");
    let path = dir.path().join("example.sock");
    let mut srv = spawn("unix_socket", &format!("http://unix:{}", path.display()));
    srv.wait_for_line("Now listening on: http://unix:", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("not listening; stderr:\n{}", srv.stderr()));
    let mode = std::fs::metadata(&path)
        .expect("the socket file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "socket mode {:o}", mode & 0o777);
    let mut s = std::os::unix::net::UnixStream::connect(&path).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let resp = support::roundtrip_on(
        &mut s,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("a response");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert!(
        resp.body_str().starts_with("Hello over unix:"),
        "{}",
        resp.body_str()
    );
    // Close our side, so the server need not linger on the connection at shutdown.
    drop(s);
    terminate(&mut srv);
    assert!(
        !path.exists(),
        "the socket file was not removed at shutdown"
    );
}

/// Kills and reaps a child on drop (when the test fails before it exits).
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn embedded_runs_to_completion() {
    let child = support::example_command("embedded")
        .env("RUST_LOG", "info")
        .env_remove("FALCONET_URLS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn embedded");
    let mut child = Reap(child);
    let mut stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait_exit(&mut child.0, Duration::from_secs(10));
    let Some(status) = status else {
        let _ = child.0.kill();
        panic!("embedded did not finish within 10 s");
    };
    let out = out.join().unwrap();
    let err = err.join().unwrap();
    assert!(
        status.success(),
        "exit {status}; stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("HTTP/1.1 200 OK"), "{out}");
    assert!(out.contains("Hello from an embedded falconet!"), "{out}");
    assert!(out.contains("MAKE ME LOUD"), "{out}");
    assert!(out.contains("server stopped (clean)"), "{out}");
}

#[test]
fn sensor_gateway_serves_state_settings_live_values_and_files() {
    let dir = support::TempDir::new("sensor-ui");
    std::fs::write(dir.path().join("index.html"), "<h1>gateway</h1>").unwrap();
    let mut cmd = support::example_command("sensor_gateway");
    cmd.args(["--urls", "http://127.0.0.1:0", "--root"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("FALCONET_URLS");
    let mut srv = ChildServer::spawn(cmd);
    let addr = srv.wait_for_v4_port(Duration::from_secs(10));
    let agent = agent();
    let resp = agent
        .get(&format!("http://{addr}/api/state"))
        .call()
        .expect("GET /api/state");
    assert_eq!(resp.content_type(), "application/json");
    let state: serde_json::Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_eq!(state["interval_ms"], 1000);
    assert!(state["reading"].is_u64(), "{state}");
    let resp = agent
        .post(&format!("http://{addr}/api/settings"))
        .send_string(r#"{"interval_ms":50}"#)
        .expect("POST /api/settings");
    assert_eq!(resp.status(), 204);
    match agent
        .post(&format!("http://{addr}/api/settings"))
        .send_string(r#"{"interval_ms":1}"#)
    {
        Err(ureq::Error::Status(400, _)) => {}
        other => panic!("bad setting: expected 400, got {other:?}"),
    }
    let resp = agent.get(&format!("http://{addr}/")).call().expect("GET /");
    assert_eq!(resp.into_string().unwrap(), "<h1>gateway</h1>");
    // Live values: two messages, 50 ms apart now.
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let url = format!("ws://{addr}/api/live");
    let (mut ws, _) = tungstenite::client::client(url.as_str(), stream).expect("upgrade");
    for _ in 0..2 {
        let msg = ws.read().expect("a live value").into_text().unwrap();
        assert!(msg.starts_with(r#"{"reading":"#), "{msg}");
    }
    drop(ws);
    terminate(&mut srv);
}

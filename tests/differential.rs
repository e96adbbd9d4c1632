//! Differential check of HTTP/1 request parsing: `tests/differential/h1_diff.py` sends
//! every request of its generator (the ambiguous shapes of request-smuggling research)
//! over raw TCP to a falconet server whose handler echoes what it received as JSON, feeds
//! the same bytes to an independent strict parser (Python's h11), and compares the two
//! verdicts. Any difference not in the allow-list (`tests/differential/allowed.json`,
//! each entry with the RFC clause that makes falconet's answer the right one) fails the
//! test. A missing python3 or h11 fails it with a message saying what to install.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use falconet::{Body, Request, Response};

/// Lower-case hex of `bytes` (header values and bodies may hold any byte).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Echoes the request as JSON: method, target, version, every header field (name, value
/// in hex) and the body (hex).
fn echo(req: Request) -> Response {
    // falconet opens no tunnel: CONNECT gets 405 (a 2xx would mean tunnel mode, RFC 9110
    // §9.3.6), with the same echo.
    let status = if req.method() == falconet::http::Method::CONNECT {
        falconet::http::StatusCode::METHOD_NOT_ALLOWED
    } else {
        falconet::http::StatusCode::OK
    };
    let method = req.method().to_string();
    let target = req.uri().to_string();
    let version = format!("{:?}", req.version());
    let headers: Vec<serde_json::Value> = req
        .headers()
        .iter()
        .map(|(n, v)| serde_json::json!([n.as_str(), hex(v.as_bytes())]))
        .collect();
    let (body, body_error) = match req.into_body().into_bytes() {
        Ok(b) => (hex(&b), None),
        Err(e) => (String::new(), Some(e.to_string())),
    };
    let json = serde_json::json!({
        "method": method,
        "target": target,
        "version": version,
        "headers": headers,
        "body": body,
        "body_error": body_error,
    });
    let mut resp = Response::new(Body::from(json.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        falconet::http::header::CONTENT_TYPE,
        falconet::http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Runs `cmd`, killing it after `limit`; returns (exit success, stdout, stderr).
fn run_bounded(mut cmd: Command, limit: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "python3 is not installed ({e}); this test compares falconet with Python's h11 \
                 (Debian: apt-get install python3 python3-h11)"
            )
        });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    (status, out, err)
}

#[test]
fn http1_parsing_agrees_with_h11_or_the_allow_list() {
    support::capture_logs();
    let server = support::start(support::options(), echo);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential");
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{dir}/h1_diff.py"))
        .arg("--addr")
        .arg(server.addr.to_string())
        .arg("--allowed")
        .arg(format!("{dir}/allowed.json"));
    // For a person updating the allow-list: FALCONET_DIFF_SHOW=1 prints every case's two
    // verdicts, FALCONET_DIFF_EMIT=1 the entries the differences need (reasons left to
    // fill in).
    if std::env::var_os("FALCONET_DIFF_SHOW").is_some() {
        cmd.arg("--show");
    }
    if std::env::var_os("FALCONET_DIFF_EMIT").is_some() {
        cmd.arg("--emit-allowed");
    }
    // Generous for qemu: natively the run takes about a second.
    let (code, out, err) = run_bounded(cmd, Duration::from_secs(240));
    assert_ne!(
        code,
        Some(3),
        "python3 cannot import h11; this test compares falconet with it (Debian: apt-get \
         install python3-h11, or python3 -m pip install h11)\n{out}{err}"
    );
    assert_eq!(
        code,
        Some(0),
        "differences between falconet and h11 outside tests/differential/allowed.json \
         (or the harness failed; None = killed after the time limit):\n{out}\n{err}"
    );
    assert!(
        out.contains("cases:"),
        "no summary from the harness:\n{out}\n{err}"
    );
    // The summary (and with FALCONET_DIFF_SHOW every verdict), shown with --nocapture.
    println!("{out}");
    // Every case is a client's mistake or a well-formed request: nothing above debug.
    for level in ["WARN", "ERROR"] {
        let line = support::logged(&[&format!("{level} falconet")], Duration::ZERO);
        assert!(
            line.is_none(),
            "logged at {level} for a client's request: {line:?}"
        );
    }
    support::assert_serves(&server);
}

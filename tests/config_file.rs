#![cfg(feature = "json-config")]
//! End-to-end tests of the JSON configuration file (Kestrel's `appsettings.json` schema):
//! a file written to disk, loaded with `falconet::config::load_file`, then a real server.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use falconet::{Body, Request, RequestExt, Response, Server, ServerHandle, ServerOptions};
use support::*;

fn write_config(dir: &TempDir, json: &str) -> std::path::PathBuf {
    let path = dir.path().join("appsettings.json");
    std::fs::write(&path, json).unwrap();
    path
}

fn endpoint_name(req: Request) -> Response {
    Response::new(Body::from(req.connection().endpoint().to_string()))
}

fn start_handle(options: ServerOptions) -> ServerHandle {
    let _ = env_logger::builder().is_test(true).try_init();
    Server::new(options, endpoint_name)
        .start()
        .expect("server starts")
}

fn request(addr: SocketAddr, host: &str, extra_headers: usize) -> RawResponse {
    let mut req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    // Connection is the second header; add the rest as X-N.
    for i in 0..extra_headers {
        req.push_str(&format!("X-{i}: v\r\n"));
    }
    req.push_str("\r\n");
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    roundtrip_on(&mut s, req.as_bytes()).expect("a response")
}

const CONFIG: &str = r#"{
  // Comments and trailing commas are accepted, as in .NET.
  "AllowedHosts": "example.org;*.example.net",
  "Kestrel": {
    "Endpoints": {
      "Http": { "Url": "http://127.0.0.1:0" },
    },
    "Limits": {
      "MaxRequestHeaderCount": 5,
      "MaxFrobnication": 3
    },
    "Bogus": true
  },
  "Falconet": { "Workers": 2, "Sprockets": 1 },
  "Logging": { "LogLevel": { "Default": "Information" } }
}"#;

#[test]
fn config_file_limits_hosts_and_endpoints_are_enforced() {
    let dir = TempDir::new("cfg");
    let path = write_config(&dir, CONFIG);
    let mut options = ServerOptions {
        // Endpoints from the file override URLs: this one would fail to bind.
        urls: vec!["http://unix:/nonexistent-falconet-dir/never.sock".into()],
        ..ServerOptions::default()
    };
    let warnings = falconet::config::load_file(&mut options, &path).expect("valid config");
    eprintln!("warnings: {warnings:?}");
    for key in [
        "Kestrel:Bogus",
        "Kestrel:Limits:MaxFrobnication",
        "Falconet:Sprockets",
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("'{key}'")) && w.contains("Unknown")),
            "no warning naming {key}: {warnings:?}"
        );
    }
    // `Logging` is another component's section: no warning.
    assert!(
        !warnings.iter().any(|w| w.contains("Logging")),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(options.limits.max_request_header_count, 5);
    assert_eq!(options.workers, 2);
    assert_eq!(options.endpoints.len(), 1);
    assert_eq!(options.endpoints[0].name.as_deref(), Some("Http"));

    let h = start_handle(options);
    // Only the endpoint from the file is bound, not the URL.
    assert_eq!(h.addresses().len(), 1, "{:?}", h.addresses());
    let addr = h.local_addr().expect("the file's TCP endpoint");
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);

    // MaxRequestHeaderCount = 5: Host + Connection + 3 more is fine, one more is 431.
    let r = request(addr, "example.org", 3);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body_str(), "Http", "the endpoint's configured name");
    let r = request(addr, "example.org", 4);
    assert_eq!(r.status, 431, "6 headers: {}", r.head);

    // AllowedHosts.
    let r = request(addr, "api.example.net", 0);
    assert_eq!(r.status, 200, "{}", r.head);
    let r = request(addr, "EXAMPLE.ORG", 0);
    assert_eq!(r.status, 200, "host matching ignores case: {}", r.head);
    let r = request(addr, "evil.example.com", 0);
    assert_eq!(r.status, 400, "{}", r.head);
    let r = request(addr, "example.net", 0);
    assert_eq!(
        r.status, 400,
        "*.example.net does not match the apex: {}",
        r.head
    );

    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn invalid_value_names_key_and_value_and_leaves_options_unchanged() {
    let dir = TempDir::new("bad");
    let path = write_config(
        &dir,
        r#"{ "Kestrel": { "Limits": { "MaxRequestHeaderCount": "lots" } } }"#,
    );
    let mut options = ServerOptions::default();
    options.limits.max_request_header_count = 42;
    let before = options.clone();
    let e = falconet::config::load_file(&mut options, &path).unwrap_err();
    assert!(e.is_config(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("Kestrel:Limits:MaxRequestHeaderCount"),
        "{msg}"
    );
    assert!(msg.contains("'lots'"), "{msg}");
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert_eq!(options, before, "options unchanged on error");

    // An invalid endpoint URL names the URL.
    std::fs::write(
        &path,
        r#"{ "Kestrel": { "Endpoints": { "Web": { "Url": "ftp://127.0.0.1:0" } } } }"#,
    )
    .unwrap();
    let e = falconet::config::load_file(&mut options, &path).unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("ftp://127.0.0.1:0"), "{e}");
    assert_eq!(options, before);

    // An https endpoint in the file is refused, at load or at start.
    std::fs::write(
        &path,
        r#"{ "Kestrel": { "Endpoints": { "Tls": { "Url": "https://127.0.0.1:0" } } } }"#,
    )
    .unwrap();
    match falconet::config::load_file(&mut options, &path) {
        Err(e) => {
            assert!(e.is_config(), "{e}");
            assert!(e.to_string().contains("HTTPS"), "{e}");
        }
        Ok(_) => {
            let e = Server::new(options.clone(), endpoint_name)
                .start()
                .unwrap_err();
            assert!(e.is_config(), "{e}");
            assert!(e.to_string().contains("HTTPS"), "{e}");
        }
    }
}

#[test]
fn malformed_json_is_an_error_naming_the_file() {
    let dir = TempDir::new("json");
    let path = write_config(&dir, r#"{ "Kestrel": { "Limits": { "#);
    let mut options = ServerOptions::default();
    let e = falconet::config::load_file(&mut options, &path).unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(
        e.to_string().starts_with(&path.display().to_string()),
        "{e}"
    );
    assert_eq!(options, ServerOptions::default());

    let missing = dir.path().join("missing.json");
    let e = falconet::config::load_file(&mut options, &missing).unwrap_err();
    assert!(e.is_io(), "{e}");
    assert!(e.to_string().contains("missing.json"), "{e}");
}

#[test]
fn urls_from_the_file_are_used_without_endpoints() {
    let dir = TempDir::new("urls");
    let sock = dir.path().join("cfg.sock");
    let path = write_config(
        &dir,
        &format!(
            r#"{{ "Urls": "http://127.0.0.1:0;http://unix:{}", "AllowedHosts": "*" }}"#,
            sock.display()
        ),
    );
    let mut options = ServerOptions {
        urls: vec!["http://[::1]:1".into()],
        ..ServerOptions::default()
    };
    let warnings = falconet::config::load_file(&mut options, &path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        options.urls.len(),
        2,
        "the file's Urls replace earlier ones"
    );
    assert!(options.allowed_hosts.is_empty(), "\"*\" allows any host");
    options.workers = 2;
    let h = start_handle(options);
    assert_eq!(h.addresses().len(), 2, "{:?}", h.addresses());
    let addr = h.local_addr().unwrap();
    let r = request(addr, "anything.invalid", 0);
    assert_eq!(r.status, 200, "{}", r.head);
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = roundtrip_on(
        &mut s,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("a response over the Unix socket");
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), format!("http://unix:{}", sock.display()));
    // Close our side: the server lingers up to 2 s on a connection it closed until the
    // client closes too, and graceful shutdown waits for that.
    drop(s);
    assert!(h.shutdown(Duration::from_secs(5)));
}

// ---------------------------------------------------------------------------------------
// The binary: configuration files, environment variables and logging as ASP.NET Core
// reads them. Variables are set on the child process only.

/// Runs the binary in `dir` with `args` and `env`; returns it with its IPv4 address.
#[cfg(feature = "appliance")]
fn binary(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (ChildServer, SocketAddr) {
    let mut cmd = falconet_command();
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    (child, addr)
}

/// Stops the child with SIGTERM and returns everything it logged.
#[cfg(feature = "appliance")]
fn stop(mut child: ChildServer) -> String {
    let pid = rustix::process::Pid::from_raw(child.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(
        child
            .wait_for_line("Shutdown complete", Duration::from_secs(10))
            .is_some(),
        "{}",
        child.stderr()
    );
    child.stderr()
}

/// `appsettings.json`, then `appsettings.{ASPNETCORE_ENVIRONMENT}.json` from the working
/// directory, then `Kestrel__...` variables; `--config` (repeatable) replaces the default
/// files; `FALCONET_`-prefixed keys win over unprefixed ones.
#[cfg(feature = "appliance")]
#[test]
fn binary_layers_files_and_environment_keys() {
    let dir = TempDir::new("layers");
    std::fs::write(
        dir.path().join("appsettings.json"),
        r#"{"Kestrel": {"Endpoints": {"Http": {"Url": "http://unix:/nonexistent-falconet-dir/a.sock"}},
             "Limits": {"MaxRequestHeaderCount": 50}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("appsettings.Staging.json"),
        r#"{"Kestrel": {"Limits": {"MaxRequestHeaderCount": 5}}}"#,
    )
    .unwrap();
    let (child, addr) = binary(
        dir.path(),
        &[],
        &[
            ("ASPNETCORE_ENVIRONMENT", "Staging"),
            ("Kestrel__Endpoints__Http__Url", "http://127.0.0.1:0"),
        ],
    );
    assert_eq!(request(addr, "localhost", 3).status, 200);
    assert_eq!(request(addr, "localhost", 4).status, 431, "Staging's limit");
    let log = child.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("Loading configuration from"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(
        line.contains("appsettings.json and appsettings.Staging.json")
            && line.contains("environment Staging"),
        "{line}"
    );
    assert!(
        log.contains(
            "Configuration keys from environment variables: Kestrel__Endpoints__Http__Url"
        ),
        "{log}"
    );
    drop(child);

    // --config twice: the later file wins; the working directory's files are not read
    // (one that is not JSON proves it).
    let other = TempDir::new("layers-cwd");
    std::fs::write(other.path().join("appsettings.json"), "not json").unwrap();
    let a = dir.path().join("appsettings.json");
    let b = dir.path().join("b.json");
    std::fs::write(
        &b,
        r#"{"kestrel": {"endpoints": {"HTTP": {"url": "http://127.0.0.1:0"}}}}"#,
    )
    .unwrap();
    let (child, addr) = binary(
        other.path(),
        &[
            "--config",
            a.to_str().unwrap(),
            "--config",
            b.to_str().unwrap(),
        ],
        &[
            ("Kestrel__Limits__MaxRequestHeaderCount", "50"),
            ("FALCONET_Kestrel__Limits__MaxRequestHeaderCount", "5"),
        ],
    );
    assert_eq!(request(addr, "localhost", 3).status, 200);
    assert_eq!(request(addr, "localhost", 4).status, 431, "FALCONET_ wins");
    assert!(!child.stderr().contains("Loading configuration from"));
}

/// `FALCONET_URLS`, then `ASPNETCORE_URLS`, then `DOTNET_URLS`: the first one set is used.
#[cfg(feature = "appliance")]
#[test]
fn binary_reads_aspnetcore_and_dotnet_urls() {
    let dir = TempDir::new("urls-env");
    let bad = "http://unix:/nonexistent-falconet-dir/u.sock";
    let good = "http://127.0.0.1:0";
    for env in [
        vec![("ASPNETCORE_URLS", good), ("DOTNET_URLS", bad)],
        vec![("DOTNET_URLS", good)],
        vec![("FALCONET_URLS", good), ("ASPNETCORE_URLS", bad)],
    ] {
        let (child, addr) = binary(dir.path(), &[], &env);
        assert_eq!(request(addr, "localhost", 0).status, 200, "{env:?}");
        drop(child);
    }
}

/// `Logging:LogLevel` sets the levels when RUST_LOG is not set: the template's
/// `"Microsoft.AspNetCore": "Warning"` quiets the server's lines (a 431's "bad request",
/// at debug as in Kestrel) even under a `Default` of `Debug`, and keeps `Now listening
/// on`; RUST_LOG wins over it.
#[cfg(feature = "appliance")]
#[test]
fn binary_logging_follows_logging_loglevel_unless_rust_log_is_set() {
    let dir = TempDir::new("loglevel");
    std::fs::write(
        dir.path().join("appsettings.json"),
        r#"{"Logging": {"LogLevel": {"Default": "Debug", "Microsoft.AspNetCore": "Warning"}},
            "Kestrel": {"Limits": {"MaxRequestHeaderCount": 5},
                        "Endpoints": {"Http": {"Url": "http://127.0.0.1:0"}}}}"#,
    )
    .unwrap();
    let mut cmd = falconet_command();
    cmd.current_dir(dir.path()).env_remove("RUST_LOG");
    let mut child = ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    assert_eq!(request(addr, "localhost", 4).status, 431);
    let log = stop(child);
    assert!(
        log.contains("Loading configuration from appsettings.json"),
        "{log}"
    );
    assert!(
        !log.contains("bad request"),
        "quieted by Microsoft.AspNetCore: {log}"
    );

    let (child, addr) = binary(dir.path(), &[], &[("RUST_LOG", "debug")]);
    assert_eq!(request(addr, "localhost", 4).status, 431);
    let log = stop(child);
    assert!(log.contains("bad request"), "RUST_LOG wins: {log}");
    // At the default level a client's mistakes (here a limit) stay out of the log.
    let (child, addr) = binary(dir.path(), &[], &[("RUST_LOG", "info")]);
    assert_eq!(request(addr, "localhost", 4).status, 431);
    let log = stop(child);
    assert!(log.contains("Now listening on"), "{log}");
    assert!(
        !log.contains("bad request"),
        "a client's mistake at info: {log}"
    );

    // From an environment variable too, as ASP.NET reads it.
    let mut cmd = falconet_command();
    cmd.current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("Logging__LogLevel__Microsoft.AspNetCore", "Debug");
    let mut child = ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    assert_eq!(request(addr, "localhost", 4).status, 431);
    let log = stop(child);
    assert!(log.contains("bad request"), "{log}");
}

/// Sections of the application (`Jwt`, `Serilog`, `ConnectionStrings`) stay silent, in
/// the file and in the environment; unknown keys inside `Kestrel` and `Falconet` warn.
#[cfg(feature = "appliance")]
#[test]
fn binary_ignores_application_sections_and_warns_about_unknown_server_keys() {
    let dir = TempDir::new("sections");
    std::fs::write(
        dir.path().join("appsettings.json"),
        r#"{
          "ConnectionStrings": { "Default": "Server=db;Database=app" },
          "Jwt": { "Issuer": "me", "Key": "k" },
          "Serilog": { "MinimumLevel": "Information", "WriteTo": [ { "Name": "Console" } ] },
          "Logging": { "LogLevel": { "Default": "Information" } },
          "Kestrel": { "Bogus": 1, "Endpoints": { "Http": { "Url": "http://127.0.0.1:0" } } },
          "Falconet": { "Sprockets": 2 }
        }"#,
    )
    .unwrap();
    let (child, _addr) = binary(
        dir.path(),
        &[],
        &[("Jwt__Key", "secret"), ("Kestrel__Widgets", "1")],
    );
    let log = child.stderr();
    for key in ["Kestrel:Bogus", "Falconet:Sprockets", "Kestrel:Widgets"] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("Unknown configuration key '{key}'")))
            .unwrap_or_else(|| panic!("no warning for {key}: {log}"));
        assert!(line.contains("WARN"), "{line}");
    }
    for section in ["Jwt", "Serilog", "ConnectionStrings", "secret"] {
        assert!(!log.contains(section), "{section} mentioned: {log}");
    }
    assert_eq!(log.matches("WARN").count(), 3, "{log}");
}

//! The `falconet` binary over HTTPS, checked with the tools users have: `curl` and
//! `openssl s_client` (SNI, ALPN, TLS versions, client certificates), a config file in
//! Kestrel's schema, SIGHUP certificate reloads and `falconet dev-certs`.
//!
//! curl and openssl must be installed (`.ci/run` installs them); a missing tool fails
//! the test with a message saying so.
#![cfg(all(feature = "tls", feature = "appliance", feature = "json-config"))]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use support::{ChildServer, TempDir};

fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed; these tests need it (Debian: apt-get install {name})"
    );
    Command::new(name)
}

/// Runs a command with a time limit (the tools get their own timeouts too).
fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        Pki {
            dir: TempDir::new(tag),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self, name: &str) -> CertifiedIssuer<'static, KeyPair> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(self.path(&format!("{name}.pem")), ca.pem()).unwrap();
        ca
    }

    /// Writes `name.crt` and `name.key` signed by `ca`.
    fn leaf(
        &self,
        ca: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        sans: &[&str],
        eku: ExtendedKeyUsagePurpose,
    ) {
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![eku];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, ca).unwrap();
        std::fs::write(self.path(&format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

fn falconet() -> Command {
    support::falconet_command()
}

/// Starts the binary and returns it with the address of each `https://127.0.0.1:PORT` it
/// logs, in order.
fn start(mut cmd: Command, count: usize) -> (ChildServer, Vec<SocketAddr>) {
    cmd.env("XDG_DATA_HOME", "/nonexistent-falconet-test");
    let mut child = ChildServer::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let addrs: Vec<SocketAddr> = child
            .stderr()
            .lines()
            .filter_map(|l| l.split("Now listening on: https://").nth(1))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        if addrs.len() >= count {
            return (child, addrs);
        }
        assert!(
            Instant::now() < deadline && child.child.try_wait().unwrap().is_none(),
            "the server did not start; stderr:\n{}",
            child.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn curl(addr: SocketAddr, host: &str, ca: &Path, extra: &[&str]) -> Output {
    let mut c = tool("curl");
    c.args(["-sS", "--http1.1", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("{host}:{}:127.0.0.1", addr.port()))
        .args(["-w", "\\n%{http_code} %{http_version}"])
        .args(extra)
        .arg(format!("https://{host}:{}/", addr.port()));
    run(c, b"")
}

fn ok_body(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success() && out.trim_end().ends_with("200 1.1"),
        "curl failed: {}\nstdout: {out}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn s_client(addr: SocketAddr, args: &[&str]) -> String {
    let mut c = tool("openssl");
    c.arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .args(args);
    let o = run(c, b"Q\n");
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_config(pki: &Pki, json: &str) -> PathBuf {
    let p = pki.path("appsettings.json");
    std::fs::write(
        &p,
        json.replace("$DIR", &pki.dir.path().display().to_string()),
    )
    .unwrap();
    p
}

#[test]
fn curl_and_openssl_against_the_binary() {
    let pki = Pki::new("tls-cli");
    let ca = pki.ca("ca");
    let clients = pki.ca("clients");
    let other = pki.ca("other");
    pki.leaf(
        &ca,
        "localhost",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    pki.leaf(
        &ca,
        "a.example.org",
        &["a.example.org"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    pki.leaf(
        &ca,
        "wild",
        &["*.example.org"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    pki.leaf(
        &clients,
        "alice",
        &["alice"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    pki.leaf(
        &other,
        "mallory",
        &["mallory"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let config = write_config(
        &pki,
        r#"{
          "Kestrel": {
            "Certificates": { "Default": { "Path": "$DIR/localhost.crt", "KeyPath": "$DIR/localhost.key" } },
            "Endpoints": {
              "A_Web": {
                "Url": "https://127.0.0.1:0",
                "Sni": {
                  "a.example.org": {
                    "Certificate": { "Path": "$DIR/a.example.org.crt", "KeyPath": "$DIR/a.example.org.key" },
                    "SslProtocols": ["Tls13"]
                  },
                  "*.example.org": {
                    "Certificate": { "Path": "$DIR/wild.crt", "KeyPath": "$DIR/wild.key" },
                    "SslProtocols": ["Tls12"]
                  },
                  "localhost": {}
                }
              },
              "B_Mtls": {
                "Url": "https://127.0.0.1:0",
                "ClientCertificateMode": "RequireCertificate",
                "ClientCertificateCA": "$DIR/clients.pem"
              }
            }
          }
        }"#,
    );
    let mut cmd = falconet();
    cmd.arg("--config").arg(&config);
    let (_server, addrs) = start(cmd, 2);
    let (web, mtls) = (addrs[0], addrs[1]);
    let ca_pem = pki.path("ca.pem");

    // curl: the default certificate for localhost, HTTP/1.1 negotiated.
    let body = ok_body(&curl(web, "localhost", &ca_pem, &[]));
    assert!(body.contains("falconet"), "{body}");
    // SNI routes to the exact name (TLS 1.3 only there) and the wildcard (TLS 1.2 only).
    ok_body(&curl(web, "a.example.org", &ca_pem, &["--tlsv1.3"]));
    let refused = curl(web, "a.example.org", &ca_pem, &["--tls-max", "1.2"]);
    assert!(
        !refused.status.success(),
        "TLS 1.2 must be refused for a.example.org"
    );
    ok_body(&curl(web, "b.example.org", &ca_pem, &["--tls-max", "1.2"]));
    let refused = curl(web, "b.example.org", &ca_pem, &["--tlsv1.3"]);
    assert!(
        !refused.status.success(),
        "TLS 1.3 must be refused for *.example.org"
    );
    // A name with no SNI entry (and no "*") is refused.
    let refused = curl(web, "nothing.test", &ca_pem, &["-k"]);
    assert!(!refused.status.success());

    // openssl s_client: SNI, ALPN and protocol version as the server negotiated them.
    let out = s_client(
        web,
        &[
            "-servername",
            "a.example.org",
            "-alpn",
            "http/1.1",
            "-tls1_3",
        ],
    );
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
    assert!(out.contains("TLSv1.3"), "{out}");
    assert!(
        out.contains("CN = a.example.org") || out.contains("CN=a.example.org"),
        "{out}"
    );
    let out = s_client(web, &["-servername", "b.example.org", "-tls1_2"]);
    assert!(out.contains("Protocol  : TLSv1.2"), "{out}");
    assert!(
        out.contains("CN = wild"),
        "the wildcard's certificate: {out}"
    );
    let out = s_client(web, &["-servername", "b.example.org", "-tls1_3"]);
    assert!(
        !out.contains("ALPN protocol") && !out.contains("Cipher is TLS_AES"),
        "{out}"
    );

    // Client certificates: required, from the configured CA.
    let alice = ["--cert", "alice.crt", "--key", "alice.key"];
    let with = |args: [&str; 4]| -> Vec<String> {
        vec![
            args[0].to_string(),
            pki.path(args[1]).display().to_string(),
            args[2].to_string(),
            pki.path(args[3]).display().to_string(),
        ]
    };
    let a: Vec<String> = with(alice);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    ok_body(&curl(mtls, "localhost", &ca_pem, &a));
    let none = curl(mtls, "localhost", &ca_pem, &[]);
    assert!(!none.status.success() || !String::from_utf8_lossy(&none.stdout).contains("200 1.1"));
    let m: Vec<String> = with(["--cert", "mallory.crt", "--key", "mallory.key"]);
    let m: Vec<&str> = m.iter().map(String::as_str).collect();
    let wrong = curl(mtls, "localhost", &ca_pem, &m);
    assert!(!wrong.status.success() || !String::from_utf8_lossy(&wrong.stdout).contains("200 1.1"));
    let out = s_client(
        mtls,
        &[
            "-servername",
            "localhost",
            "-cert",
            &pki.path("alice.crt").display().to_string(),
            "-key",
            &pki.path("alice.key").display().to_string(),
        ],
    );
    assert!(
        out.contains("Acceptable client certificate CA names"),
        "{out}"
    );
    assert!(out.contains("clients"), "{out}");
}

#[test]
fn sighup_reloads_certificates() {
    let pki = Pki::new("tls-hup");
    let ca = pki.ca("ca");
    pki.leaf(
        &ca,
        "first",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let config = write_config(
        &pki,
        r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "https://127.0.0.1:0",
            "Certificate": {"Path": "$DIR/site.crt", "KeyPath": "$DIR/site.key"}}}}}"#,
    );
    std::fs::copy(pki.path("first.crt"), pki.path("site.crt")).unwrap();
    std::fs::copy(pki.path("first.key"), pki.path("site.key")).unwrap();
    let mut cmd = falconet();
    cmd.arg("--config").arg(&config);
    let (mut server, addrs) = start(cmd, 1);
    let ca_pem = pki.path("ca.pem");
    let subject = |addr| {
        let out = s_client(addr, &["-servername", "localhost"]);
        out.lines()
            .find(|l| l.contains("subject=") || l.starts_with(" 0 s:"))
            .unwrap_or("")
            .to_string()
    };
    assert!(subject(addrs[0]).contains("first"), "{}", subject(addrs[0]));
    ok_body(&curl(addrs[0], "localhost", &ca_pem, &[]));
    // New files; SIGHUP makes the reload immediate (the watcher would also see it).
    pki.leaf(
        &ca,
        "second",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::copy(pki.path("second.key"), pki.path("site.key")).unwrap();
    std::fs::copy(pki.path("second.crt"), pki.path("site.crt")).unwrap();
    let pid = rustix::process::Pid::from_raw(server.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::HUP).unwrap();
    assert!(server
        .wait_for_line("Reloaded the certificate", Duration::from_secs(10))
        .is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !subject(addrs[0]).contains("second") {
        assert!(Instant::now() < deadline, "still the old certificate");
        std::thread::sleep(Duration::from_millis(100));
    }
    ok_body(&curl(addrs[0], "localhost", &ca_pem, &[]));
}

/// Kestrel's most common certificate form, a PFX file and its password, works with the
/// default build: OpenSSL 3's default file and a legacy (3DES/RC2) one.
#[cfg(feature = "default")]
#[test]
fn the_default_binary_serves_a_pfx_certificate() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    for pfx in ["localhost.pfx", "localhost-legacy.pfx"] {
        let pki = Pki::new("tls-pfx");
        let config = write_config(
            &pki,
            &format!(
                r#"{{"Kestrel": {{"Endpoints": {{"Https": {{"Url": "https://127.0.0.1:0",
                    "Certificate": {{"Path": "{}", "Password": "falconet"}}}}}}}}}}"#,
                data.join(pfx).display()
            ),
        );
        let mut cmd = falconet();
        cmd.arg("--config").arg(&config);
        let (_server, addrs) = start(cmd, 1);
        ok_body(&curl(addrs[0], "localhost", &data.join("ca.crt"), &[]));
    }
}

/// The binary serving both schemes redirects plain HTTP to its HTTPS endpoint and sends
/// HSTS over HTTPS (on by default there, as ASP.NET's templates do); the configuration
/// turns either off.
#[test]
fn the_binary_redirects_to_https_and_sends_hsts_when_it_serves_both() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    for (extra, redirects) in [
        ("", true),
        (
            r#", "Falconet": {"HttpsRedirection": {"Enabled": false}, "Hsts": {"Enabled": false}}"#,
            false,
        ),
    ] {
        let pki = Pki::new("tls-redirect");
        let config = write_config(
            &pki,
            &format!(
                r#"{{"Kestrel": {{"Endpoints": {{
                    "Http": {{"Url": "http://127.0.0.1:0"}},
                    "Https": {{"Url": "https://127.0.0.1:0",
                              "Certificate": {{"Path": "{}", "KeyPath": "{}"}}}}}}}}{extra}}}"#,
                data.join("a.example.org.crt").display(),
                data.join("a.example.org.key").display()
            ),
        );
        let mut cmd = falconet();
        cmd.arg("--config").arg(&config);
        let (server, addrs) = start(cmd, 1);
        let tls = addrs[0];
        let plain: SocketAddr = server
            .stderr()
            .lines()
            .filter_map(|l| l.split("Now listening on: http://").nth(1))
            .find_map(|a| a.trim().parse().ok())
            .expect("the plain endpoint is logged");
        let mut c = tool("curl");
        c.args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "--max-time",
            "10",
        ])
        .arg("--resolve")
        .arg(format!("a.example.org:{}:127.0.0.1", plain.port()))
        .arg(format!("http://a.example.org:{}/page?q=1", plain.port()));
        let o = run(c, b"");
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let https = curl(tls, "a.example.org", &data.join("ca.crt"), &["-D", "-"]);
        let https_out = ok_body(&https).to_ascii_lowercase();
        if redirects {
            assert_eq!(
                out,
                format!("307 https://a.example.org:{}/page?q=1", tls.port()),
                "stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(
                https_out.contains("strict-transport-security: max-age=2592000\r\n"),
                "{https_out}"
            );
        } else {
            assert_eq!(out, "200 ");
            assert!(
                !https_out.contains("strict-transport-security"),
                "{https_out}"
            );
        }
    }
}

/// A client asking a TLS 1.2 connection to renegotiate (refused: rustls never
/// renegotiates) is the client's doing: rustls' "Sending warning alert NoRenegotiation"
/// is logged at debug, not warn, and not at all at the default level.
#[test]
fn a_client_renegotiating_is_logged_at_debug() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let pki = Pki::new("tls-reneg");
    let config = write_config(
        &pki,
        &format!(
            r#"{{"Kestrel": {{"Endpoints": {{"Https": {{"Url": "https://127.0.0.1:0",
                "Certificate": {{"Path": "{0}/localhost.crt", "KeyPath": "{0}/localhost.key"}}}}}}}}}}"#,
            data.display()
        ),
    );
    let renegotiate = |addr: SocketAddr| {
        let mut c = tool("openssl");
        c.arg("s_client")
            .arg("-connect")
            .arg(addr.to_string())
            .args(["-tls1_2", "-servername", "localhost"]);
        let o = run(c, b"R\n");
        let out =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            out.contains("RENEGOTIATING"),
            "s_client did not renegotiate: {out}"
        );
    };

    // RUST_LOG=debug: the line is there, at debug.
    let mut cmd = falconet();
    cmd.arg("--config").arg(&config).env("RUST_LOG", "debug");
    let (mut server, addrs) = start(cmd, 1);
    renegotiate(addrs[0]);
    let line = server
        .wait_for_line("NoRenegotiation", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no NoRenegotiation line: {}", server.stderr()));
    assert!(
        line.contains("DEBUG") && !line.contains("WARN"),
        "a client's renegotiation attempt is logged as: {line}"
    );
    drop(server);

    // The default level (info), with RUST_LOG unset and set: nothing about it.
    for rust_log in [None, Some("info")] {
        let mut cmd = falconet();
        cmd.arg("--config").arg(&config);
        match rust_log {
            Some(level) => cmd.env("RUST_LOG", level),
            None => cmd.env_remove("RUST_LOG"),
        };
        let (server, addrs) = start(cmd, 1);
        renegotiate(addrs[0]);
        std::thread::sleep(Duration::from_millis(500));
        let stderr = server.stderr();
        assert!(
            !stderr.contains("NoRenegotiation") && !stderr.contains("WARN"),
            "RUST_LOG={rust_log:?}: {stderr}"
        );
    }
}

#[test]
fn dev_certs_command_and_default_certificate() {
    let data = TempDir::new("dev-certs");
    let dev = |args: &[&str]| {
        let mut c = falconet();
        c.arg("dev-certs")
            .args(args)
            .env("XDG_DATA_HOME", data.path());
        run(c, b"")
    };
    assert_eq!(
        dev(&["--check"]).status.code(),
        Some(1),
        "no certificate yet"
    );
    // Nothing to trust yet: said so, without instructions for a file that does not exist.
    let o = dev(&["--trust"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("there is no development certificate to trust")
            && err.contains("run `falconet dev-certs` to create one"),
        "{err}"
    );
    assert!(!out.contains("curl --cacert"), "{out}");
    let o = dev(&[]);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("curl --cacert"), "trust instructions: {out}");
    let dir = data.path().join("falconet").join("dev-certs");
    let crt = dir.join("localhost.crt");
    assert!(
        crt.is_file() && dir.join("localhost.key").is_file(),
        "{out}"
    );
    assert_eq!(dev(&["--check"]).status.code(), Some(0));
    let o = dev(&["--trust"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("curl --cacert"));

    // An https endpoint with no certificate configured uses the development certificate.
    let mut c = falconet();
    c.args(["--urls", "https://127.0.0.1:0"]);
    let mut c_env = c;
    c_env.env("XDG_DATA_HOME", data.path());
    let mut child = ChildServer::spawn(c_env);
    let line = child
        .wait_for_line(
            "Now listening on: https://127.0.0.1:",
            Duration::from_secs(30),
        )
        .unwrap_or_else(|| panic!("not started: {}", child.stderr()));
    let addr: SocketAddr = line
        .split("https://")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    ok_body(&curl(addr, "localhost", &crt, &[]));
    drop(child);

    assert!(dev(&["--clean"]).status.success());
    assert_eq!(dev(&["--check"]).status.code(), Some(1));
    assert_eq!(dev(&["--bogus"]).status.code(), Some(2));
}

/// Every certificate problem stops the binary at startup with a message naming the
/// endpoint, the file and what is wrong (fixtures in tests/data/tls, see its README).
#[test]
fn certificate_errors_stop_the_binary_at_startup() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let d = |f: &str| data.join(f).display().to_string();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!(
                r#""Certificate": {{"Path": "{}", "KeyPath": "{}"}}"#,
                d("missing.crt"),
                d("localhost.key")
            ),
            vec!["Secure", "missing.crt"],
        ),
        (
            format!(
                r#""Certificate": {{"Path": "{}", "KeyPath": "{}", "Password": "wrong"}}"#,
                d("localhost.crt"),
                d("localhost-encrypted.key")
            ),
            vec!["Secure", "localhost-encrypted.key", "password is wrong"],
        ),
        (
            format!(
                r#""Certificate": {{"Path": "{}", "KeyPath": "{}"}}"#,
                d("localhost.crt"),
                d("localhost-encrypted.key")
            ),
            vec!["Secure", "localhost-encrypted.key", "Password"],
        ),
        (
            format!(
                r#""Certificate": {{"Path": "{}", "KeyPath": "{}"}}"#,
                d("localhost.crt"),
                d("other.key")
            ),
            vec!["Secure", "other.key", "does not match"],
        ),
        (
            format!(
                r#""Certificate": {{"Path": "{}", "KeyPath": "{}"}}"#,
                d("clientauth-only.crt"),
                d("clientauth-only.key")
            ),
            vec!["Secure", "clientauth-only.crt", "serverAuth"],
        ),
    ];
    for (cert, needles) in cases {
        let dir = TempDir::new("tls-errors");
        let cfg = dir.path().join("appsettings.json");
        std::fs::write(
            &cfg,
            format!(r#"{{"Kestrel": {{"Endpoints": {{"Secure": {{"Url": "https://127.0.0.1:0", {cert}}}}}}}}}"#),
        )
        .unwrap();
        let mut c = falconet();
        c.arg("--config").arg(&cfg).env("XDG_DATA_HOME", dir.path());
        let o = run(c, b"");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(1), "{cert}: {err}");
        for n in needles {
            assert!(err.contains(n), "'{n}' missing for {cert}: {err}");
        }
        assert!(!err.contains("Now listening"), "{err}");
    }
    // An encrypted key with the right password works (the same file as above).
    let dir = TempDir::new("tls-ok");
    let cfg = dir.path().join("appsettings.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"Kestrel": {{"Endpoints": {{"Secure": {{"Url": "https://127.0.0.1:0",
                "Certificate": {{"Path": "{}", "KeyPath": "{}", "Password": "falconet"}}}}}}}}}}"#,
            d("localhost.crt"),
            d("localhost-encrypted.key")
        ),
    )
    .unwrap();
    let mut cmd = falconet();
    cmd.arg("--config").arg(&cfg);
    let (_server, addrs) = start(cmd, 1);
    ok_body(&curl(addrs[0], "localhost", &data.join("ca.crt"), &[]));
}

/// Microsoft's SNI sample lists `"SslProtocols": ["Tls11", "Tls12"]`: the binary starts,
/// says once per key that TLS 1.1 is dropped, and offers what remains.
#[test]
fn sni_sample_with_tls11_starts_and_drops_it_with_a_warning() {
    let pki = Pki::new("tls-sample");
    let ca = pki.ca("ca");
    pki.leaf(
        &ca,
        "localhost",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    pki.leaf(
        &ca,
        "a.example.org",
        &["a.example.org"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let config = write_config(
        &pki,
        r#"{
          "Kestrel": {
            "Endpoints": {
              "MySniEndpoint": {
                "Url": "https://127.0.0.1:0",
                "SslProtocols": ["Tls11", "Tls12"],
                "Sni": {
                  "a.example.org": {
                    "Protocols": "Http1AndHttp2",
                    "SslProtocols": ["Tls11", "Tls12", "Tls13"],
                    "Certificate": { "Path": "$DIR/a.example.org.crt", "KeyPath": "$DIR/a.example.org.key" },
                    "ClientCertificateMode": "NoCertificate"
                  },
                  "*": { "Protocols": "Http1" }
                }
              }
            },
            "Certificates": {
              "Default": { "Path": "$DIR/localhost.crt", "KeyPath": "$DIR/localhost.key" }
            }
          }
        }"#,
    );
    let mut cmd = falconet();
    cmd.arg("--config").arg(&config);
    let (server, addrs) = start(cmd, 1);
    let ca_pem = pki.path("ca.pem");
    // The endpoint's list keeps TLS 1.2 only; the SNI entry's 1.2 and 1.3.
    ok_body(&curl(addrs[0], "localhost", &ca_pem, &["--tls-max", "1.2"]));
    let refused = curl(addrs[0], "localhost", &ca_pem, &["--tlsv1.3"]);
    assert!(
        !refused.status.success(),
        "TLS 1.3 is not in the endpoint's list"
    );
    ok_body(&curl(addrs[0], "a.example.org", &ca_pem, &["--tlsv1.3"]));
    ok_body(&curl(
        addrs[0],
        "a.example.org",
        &ca_pem,
        &["--tls-max", "1.2"],
    ));
    let stderr = server.stderr();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("Tls11"))
        .collect();
    assert_eq!(warnings.len(), 2, "one per SslProtocols key: {stderr}");
    for key in [
        "Kestrel:Endpoints:MySniEndpoint:SslProtocols: Tls11 ignored",
        "Kestrel:Endpoints:MySniEndpoint:Sni:a.example.org:SslProtocols: Tls11 ignored",
    ] {
        assert!(warnings.iter().any(|w| w.contains(key)), "{key}: {stderr}");
    }

    // Only unsupported versions: refused at startup, naming them.
    let config = write_config(
        &pki,
        r#"{"Kestrel": {"Endpoints": {"Old": {"Url": "https://127.0.0.1:0",
            "SslProtocols": ["Tls", "Tls11"],
            "Certificate": {"Path": "$DIR/localhost.crt", "KeyPath": "$DIR/localhost.key"}}}}}"#,
    );
    let mut c = falconet();
    c.arg("--config")
        .arg(&config)
        .env("XDG_DATA_HOME", "/nonexistent-falconet-test");
    let o = run(c, b"");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Kestrel:Endpoints:Old:SslProtocols") && err.contains("Tls, Tls11"),
        "{err}"
    );
}

/// `ClientCertificateMode` without `ClientCertificateCA`: client certificates are checked
/// against the system trust store (here `SSL_CERT_FILE`, as OpenSSL reads it), which the
/// log names; an `Sni` entry may have a CA bundle of its own.
#[test]
fn client_certificates_without_a_ca_use_the_system_trust_store() {
    let pki = Pki::new("tls-system-ca");
    let ca = pki.ca("ca");
    let clients = pki.ca("clients");
    let partners = pki.ca("partners");
    pki.leaf(
        &ca,
        "localhost",
        &["localhost", "partner.example.org"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    pki.leaf(
        &clients,
        "alice",
        &["alice"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    pki.leaf(
        &partners,
        "bob",
        &["bob"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let config = write_config(
        &pki,
        r#"{
          "Kestrel": {
            "Certificates": { "Default": { "Path": "$DIR/localhost.crt", "KeyPath": "$DIR/localhost.key" } },
            "Endpoints": {
              "A_Required": {
                "Url": "https://127.0.0.1:0",
                "ClientCertificateMode": "RequireCertificate"
              },
              "B_Sni": {
                "Url": "https://127.0.0.1:0",
                "Sni": {
                  "partner.example.org": {
                    "ClientCertificateMode": "RequireCertificate",
                    "ClientCertificateCA": "$DIR/partners.pem"
                  },
                  "*": { "ClientCertificateMode": "AllowCertificate" }
                }
              }
            }
          }
        }"#,
    );
    let mut cmd = falconet();
    cmd.arg("--config")
        .arg(&config)
        .env("SSL_CERT_FILE", pki.path("clients.pem"))
        .env_remove("SSL_CERT_DIR");
    let (server, addrs) = start(cmd, 2);
    let (required, sni) = (addrs[0], addrs[1]);
    let stderr = server.stderr();
    let line = stderr
        .lines()
        .find(|l| l.contains("against the system trust store"))
        .unwrap_or_else(|| panic!("no line naming the store: {stderr}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("'A_Required'"), "{line}");
    assert!(
        line.contains(&format!(
            "SSL_CERT_FILE={}",
            pki.path("clients.pem").display()
        )),
        "{line}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");

    let ca_pem = pki.path("ca.pem");
    let cert = |name: &str| -> Vec<String> {
        vec![
            "--cert".into(),
            pki.path(&format!("{name}.crt")).display().to_string(),
            "--key".into(),
            pki.path(&format!("{name}.key")).display().to_string(),
        ]
    };
    let served =
        |o: &Output| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("200 1.1");
    let alice = cert("alice");
    let alice: Vec<&str> = alice.iter().map(String::as_str).collect();
    let bob = cert("bob");
    let bob: Vec<&str> = bob.iter().map(String::as_str).collect();
    // Required, from the system store: alice yes, bob (another CA) and nobody no.
    ok_body(&curl(required, "localhost", &ca_pem, &alice));
    assert!(!served(&curl(required, "localhost", &ca_pem, &bob)));
    assert!(!served(&curl(required, "localhost", &ca_pem, &[])));
    // The SNI entry's own bundle: bob yes, alice no.
    ok_body(&curl(sni, "partner.example.org", &ca_pem, &bob));
    assert!(!served(&curl(sni, "partner.example.org", &ca_pem, &alice)));
    assert!(!served(&curl(sni, "partner.example.org", &ca_pem, &[])));
    // "*" allows a certificate, checked against the system store: none or alice, not bob.
    ok_body(&curl(sni, "localhost", &ca_pem, &[]));
    ok_body(&curl(sni, "localhost", &ca_pem, &alice));
    assert!(!served(&curl(sni, "localhost", &ca_pem, &bob)));
}

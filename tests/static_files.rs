#![cfg(feature = "static-files")]
//! End-to-end tests of `StaticFiles` over real sockets: paths and traversal, types,
//! validators and conditional requests, ranges, precompressed variants, HEAD, streaming,
//! hidden files, symlinks, errors, and the binary's `--root`.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use falconet::{StaticFiles, StaticFilesOptions};
use support::{RawClient, RawResponse, TempDir, TestServer};

const SECRET: &str = "TOP SECRET outside the root";

/// A temp tree: `<tmp>/root` (served) and `<tmp>/outside/secret.txt` (must never leak).
struct Tree {
    tmp: TempDir,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let tmp = TempDir::new(&format!("static-{tag}"));
        fs::create_dir(tmp.path().join("root")).unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/secret.txt"), SECRET).unwrap();
        Tree { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// Writes `data` to `rel` under the root, creating parent directories.
    fn file(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, data).unwrap();
        p
    }

    fn dir(&self, rel: &str) {
        fs::create_dir_all(self.root().join(rel)).unwrap();
    }

    fn serve(&self) -> TestServer {
        self.serve_with(StaticFilesOptions::default())
    }

    fn serve_with(&self, options: StaticFilesOptions) -> TestServer {
        let files = StaticFiles::with_options(self.root(), options).expect("a valid root");
        support::start(support::options(), files)
    }
}

/// `METHOD path` with `Host`, `Connection: close` and `headers` (each `Name: value`).
fn request(server: &TestServer, method: &str, path: &str, headers: &[&str]) -> RawResponse {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    support::roundtrip(server, req.as_bytes())
}

fn get(server: &TestServer, path: &str, headers: &[&str]) -> RawResponse {
    request(server, "GET", path, headers)
}

fn assert_no_leak(resp: &RawResponse, what: &str) {
    assert!(
        resp.status == 400 || resp.status == 404,
        "{what}: expected 400 or 404, got {}",
        resp.head
    );
    let body = resp.body_str();
    assert!(!body.contains(SECRET), "{what}: leaked the secret");
    assert!(!body.contains("root:"), "{what}: leaked /etc/passwd");
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// ---- Basics -------------------------------------------------------------------------

#[test]
fn serves_a_file_with_its_headers() {
    let t = Tree::new("basic");
    t.file("hello.txt", "Hello, files!\n");
    let s = t.serve();
    let r = get(&s, "/hello.txt", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"Hello, files!\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("14"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let etag = r.header("etag").expect("an ETag");
    assert!(
        etag.starts_with("\"e-") && etag.ends_with('"'),
        "ETag is \"<len hex>-<mtime hex>\": {etag}"
    );
    let lm = r.header("last-modified").expect("Last-Modified");
    assert!(lm.ends_with(" GMT") && lm.len() == 29, "{lm}");
    assert_eq!(r.header("cache-control"), None);
    assert_eq!(r.header("vary"), None);
    assert_eq!(r.header("content-encoding"), None);
}

#[test]
fn query_string_is_ignored() {
    let t = Tree::new("query");
    t.file("hello.txt", "hi");
    let s = t.serve();
    let r = get(&s, "/hello.txt?v=123&x=%2e%2e", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"hi");
}

#[test]
fn percent_encoded_and_utf8_names() {
    let t = Tree::new("names");
    t.file("a b.txt", "space");
    t.file("caf\u{e9}.txt", "utf8");
    let s = t.serve();
    assert_eq!(get(&s, "/a%20b.txt", &[]).body, b"space");
    assert_eq!(get(&s, "/caf%C3%A9.txt", &[]).body, b"utf8");
    assert_eq!(get(&s, "/caf%c3%a9.txt", &[]).body, b"utf8");
    let r = get(&s, "/caf%E9.txt", &[]);
    assert_eq!(r.status, 400, "invalid UTF-8 is 400: {}", r.head);
    let r = get(&s, "/%FF%FE", &[]);
    assert_eq!(r.status, 400, "{}", r.head);
    let r = get(&s, "/bad%zzescape", &[]);
    assert_eq!(r.status, 400, "{}", r.head);
}

#[test]
fn content_types_by_extension() {
    let t = Tree::new("types");
    let cases = [
        ("a.html", "text/html; charset=utf-8"),
        ("a.htm", "text/html; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.mjs", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.svg", "image/svg+xml"),
        ("a.PNG", "image/png"),
        ("a.jpeg", "image/jpeg"),
        ("a.wasm", "application/wasm"),
        ("a.woff2", "font/woff2"),
        ("a.csv", "text/csv; charset=utf-8"),
        ("a.md", "text/markdown; charset=utf-8"),
        ("a.map", "application/json"),
        ("a.unknownext", "application/octet-stream"),
        ("Makefile", "application/octet-stream"),
    ];
    for (name, _) in cases {
        t.file(name, "x");
    }
    let s = t.serve();
    for (name, ct) in cases {
        let r = get(&s, &format!("/{name}"), &[]);
        assert_eq!(r.status, 200, "{name}: {}", r.head);
        assert_eq!(r.header("content-type"), Some(ct), "{name}");
    }
}

#[test]
fn missing_file_is_404_with_a_short_text_body() {
    let t = Tree::new("missing");
    let s = t.serve();
    let r = get(&s, "/nope.txt", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.body_str(), "Not Found\n");
    let r = get(&s, "/no/such/dir/file", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
}

#[test]
fn empty_file() {
    let t = Tree::new("empty");
    t.file("empty.txt", "");
    let s = t.serve();
    let r = get(&s, "/empty.txt", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
    let r = get(&s, "/empty.txt", &["Range: bytes=0-"]);
    assert_eq!(r.status, 416, "{}", r.head);
    assert_eq!(r.header("content-range"), Some("bytes */0"));
}

#[test]
fn post_put_delete_options_are_405_with_allow() {
    let t = Tree::new("methods");
    t.file("hello.txt", "hi");
    let s = t.serve();
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let r = request(&s, method, "/hello.txt", &["Content-Length: 0"]);
        assert_eq!(r.status, 405, "{method}: {}", r.head);
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    let r = support::roundtrip(
        &s,
        b"POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert_eq!(r.status, 405, "{}", r.head);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

// ---- HEAD ---------------------------------------------------------------------------

#[test]
fn head_has_the_headers_and_no_body() {
    let t = Tree::new("head");
    t.file("page.html", "<p>hello</p>");
    let s = t.serve();
    let g = get(&s, "/page.html", &[]);
    let h = request(&s, "HEAD", "/page.html", &[]);
    assert_eq!(h.status, 200, "{}", h.head);
    assert_eq!(h.header("content-length"), Some("12"));
    assert_eq!(h.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(h.header("etag"), g.header("etag"));
    assert_eq!(h.header("last-modified"), g.header("last-modified"));
    assert!(h.body.is_empty());

    // On one keep-alive connection: no body bytes follow the HEAD response.
    let mut c = RawClient::connect(&s);
    c.send(b"HEAD /page.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let h = c.response(true).expect("HEAD response");
    assert_eq!(h.status, 200);
    c.send(b"GET /page.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let g = c.response(false).expect("GET response after HEAD");
    assert_eq!(g.status, 200, "stray bytes after HEAD? {}", g.head);
    assert_eq!(g.body, b"<p>hello</p>");
}

#[test]
fn head_ignores_range() {
    let t = Tree::new("headrange");
    t.file("ten.bin", "0123456789");
    let s = t.serve();
    let h = request(&s, "HEAD", "/ten.bin", &["Range: bytes=0-1"]);
    assert_eq!(h.status, 200, "{}", h.head);
    assert_eq!(h.header("content-length"), Some("10"));
}

// ---- Directories --------------------------------------------------------------------

#[test]
fn directories_redirect_and_serve_their_index() {
    let t = Tree::new("dirs");
    t.file("index.html", "root index");
    t.file("sub/index.html", "sub index");
    t.dir("noindex");
    t.file("noindex/file.txt", "x");
    let s = t.serve();

    let r = get(&s, "/", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"root index");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));

    let r = get(&s, "/sub", &[]);
    assert_eq!(r.status, 301, "{}", r.head);
    assert_eq!(r.header("location"), Some("/sub/"));
    let r = get(&s, "/sub?a=1", &[]);
    assert_eq!(r.status, 301, "{}", r.head);
    assert_eq!(r.header("location"), Some("/sub/?a=1"));

    let r = get(&s, "/sub/", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"sub index");
    let r = get(&s, "/sub/index.html", &[]);
    assert_eq!(r.body, b"sub index");

    // No listings.
    let r = get(&s, "/noindex/", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
    assert!(!r.body_str().contains("file.txt"));

    // A file addressed as a directory.
    let r = get(&s, "/noindex/file.txt/", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
}

#[test]
fn redirect_never_points_off_site() {
    let t = Tree::new("openredirect");
    t.file("evil.com/index.html", "x");
    let s = t.serve();
    let r = get(&s, "//evil.com", &[]);
    if r.status == 301 {
        assert_eq!(r.header("location"), Some("/evil.com/"), "{}", r.head);
    } else {
        assert!(r.status == 400 || r.status == 404, "{}", r.head);
    }
}

#[test]
fn custom_index_name() {
    let t = Tree::new("index");
    t.file("default.htm", "custom");
    t.file("index.html", "standard");
    let s = t.serve_with(StaticFilesOptions {
        index: "default.htm".into(),
        ..StaticFilesOptions::default()
    });
    let r = get(&s, "/", &[]);
    assert_eq!(r.body, b"custom");
}

// ---- Traversal ----------------------------------------------------------------------

#[test]
fn no_way_out_of_the_root() {
    let t = Tree::new("traversal");
    t.file("index.html", "index");
    t.file("sub/a.txt", "a");
    let s = t.serve();
    // The secret is at <root>/../outside/secret.txt.
    let vectors = [
        "/../outside/secret.txt",
        "/sub/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E/outside/secret.txt",
        "/%2e%2E/outside/secret.txt",
        "/.%2e/outside/secret.txt",
        "/%2e./outside/secret.txt",
        "/sub/%2E%2E/%2E%2E/outside/secret.txt",
        "/..%2foutside%2fsecret.txt",
        "/..%2Foutside/secret.txt",
        "/sub/..%2f..%2foutside/secret.txt",
        "/sub%2f..%2f..%2foutside%2fsecret.txt",
        "/%2e%2e%2foutside%2fsecret.txt",
        "/..%5coutside%5csecret.txt",
        "/sub%5c..%5c..%5coutside%5csecret.txt",
        "/..\\outside\\secret.txt",
        "/sub\\..\\..\\outside\\secret.txt",
        "//etc/passwd",
        "///etc/passwd",
        "/etc/passwd",
        "/%2fetc/passwd",
        "/%2Fetc%2Fpasswd",
        "/..%00/outside/secret.txt",
        "/sub/a.txt%00",
        "/sub/a.txt%00.html",
        "/%00",
        "/%2e%2e%00/outside/secret.txt",
        "/%252e%252e/outside/secret.txt",
    ];
    for v in vectors {
        let r = get(&s, v, &[]);
        assert_no_leak(&r, v);
    }
    // Encoded NUL and separators are refused outright rather than looked up.
    for v in ["/sub/a.txt%00", "/sub%2fa.txt", "/sub%5ca.txt", "/%2e%2e/x"] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 400, "{v}: {}", r.head);
    }
    // Absolute-form request targets are confined the same way.
    let r = get(&s, "http://localhost/../outside/secret.txt", &[]);
    assert_no_leak(&r, "absolute-form ..");
    let r = get(&s, "http://localhost//etc/passwd", &[]);
    assert_no_leak(&r, "absolute-form //etc/passwd");
    // And the server still serves.
    assert_eq!(get(&s, "/sub/a.txt", &[]).body, b"a");
}

#[test]
fn symlink_out_of_the_root_is_404() {
    let t = Tree::new("symout");
    symlink(
        t.outside().join("secret.txt"),
        t.root().join("abs-link.txt"),
    )
    .unwrap();
    symlink("../outside/secret.txt", t.root().join("rel-link.txt")).unwrap();
    symlink(t.outside(), t.root().join("dir-link")).unwrap();
    symlink("/etc/passwd", t.root().join("passwd")).unwrap();
    symlink("/etc", t.root().join("etc")).unwrap();
    let s = t.serve();
    for v in [
        "/abs-link.txt",
        "/rel-link.txt",
        "/dir-link/secret.txt",
        "/dir-link/",
        "/passwd",
        "/etc/passwd",
    ] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 404, "{v}: {}", r.head);
        assert_no_leak(&r, v);
    }
}

#[test]
fn symlink_inside_the_root_is_served() {
    let t = Tree::new("symin");
    t.file("real/data.txt", "real data");
    t.file("real/index.html", "real index");
    symlink("real/data.txt", t.root().join("alias.txt")).unwrap();
    symlink(t.root().join("real"), t.root().join("aliasdir")).unwrap();
    let s = t.serve();
    let r = get(&s, "/alias.txt", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"real data");
    let r = get(&s, "/aliasdir/data.txt", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"real data");
    let r = get(&s, "/aliasdir/", &[]);
    assert_eq!(r.body, b"real index");
}

#[test]
fn symlink_loop_and_dangling_link_are_404() {
    let t = Tree::new("symloop");
    symlink("loop-b", t.root().join("loop-a")).unwrap();
    symlink("loop-a", t.root().join("loop-b")).unwrap();
    symlink("does-not-exist", t.root().join("dangling")).unwrap();
    let s = t.serve();
    assert_eq!(get(&s, "/loop-a", &[]).status, 404);
    assert_eq!(get(&s, "/dangling", &[]).status, 404);
}

#[test]
fn index_symlinked_out_of_the_root_is_404() {
    let t = Tree::new("symindex");
    t.dir("sub");
    symlink(
        t.outside().join("secret.txt"),
        t.root().join("sub/index.html"),
    )
    .unwrap();
    let s = t.serve();
    let r = get(&s, "/sub/", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
    assert_no_leak(&r, "index symlink");
}

#[test]
fn precompressed_sibling_symlinked_out_is_not_served() {
    let t = Tree::new("symvariant");
    t.file("app.js", "identity");
    symlink(t.outside().join("secret.txt"), t.root().join("app.js.br")).unwrap();
    let s = t.serve();
    let r = get(&s, "/app.js", &["Accept-Encoding: br"]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"identity");
    assert_eq!(r.header("content-encoding"), None);
}

#[test]
fn symlinks_that_resolve_inside_the_root_are_served() {
    let t = Tree::new("symin2");
    t.file("real/data.txt", "real data");
    t.file("real/index.html", "real index");
    t.dir("sub");
    // Relative links, with `..` that stays inside, and a chain of two.
    symlink("../real/data.txt", t.root().join("sub/up.txt")).unwrap();
    symlink("up.txt", t.root().join("sub/chain.txt")).unwrap();
    symlink("real", t.root().join("reldir")).unwrap();
    // An absolute link to a file inside the root.
    symlink(t.root().join("real/data.txt"), t.root().join("abs.txt")).unwrap();
    // A link that leaves the root and comes back into it.
    symlink("../root/real/data.txt", t.root().join("roundtrip.txt")).unwrap();
    symlink("..", t.root().join("parent")).unwrap();
    // The Content-Type is the URL name's, not the target's.
    symlink("real/data.txt", t.root().join("alias.html")).unwrap();
    let s = t.serve();
    for v in [
        "/sub/up.txt",
        "/sub/chain.txt",
        "/reldir/data.txt",
        "/abs.txt",
        "/roundtrip.txt",
        "/parent/root/real/data.txt",
    ] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 200, "{v}: {}", r.head);
        assert_eq!(r.body, b"real data", "{v}");
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{v}"
        );
    }
    let r = get(&s, "/reldir/", &[]);
    assert_eq!((r.status, r.body_str().as_str()), (200, "real index"));
    let r = get(&s, "/reldir", &[]);
    assert_eq!(r.status, 301, "{}", r.head);
    assert_eq!(r.header("location"), Some("/reldir/"));
    let r = get(&s, "/alias.html", &[]);
    assert_eq!(r.body, b"real data");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    // A range through a link.
    let r = get(&s, "/sub/chain.txt", &["Range: bytes=5-"]);
    assert_eq!(r.status, 206, "{}", r.head);
    assert_eq!(r.body, b"data");
}

#[test]
fn relative_and_chained_symlinks_out_of_the_root_are_404() {
    let t = Tree::new("symout2");
    t.file("app.js", "identity");
    t.dir("sub");
    t.dir("sub2");
    symlink("../../outside/secret.txt", t.root().join("sub/up-out.txt")).unwrap();
    // A link inside the root to a link that leaves it.
    symlink("sub/up-out.txt", t.root().join("hop.txt")).unwrap();
    // A relative directory link out of the root, and one through /proc.
    symlink("../../outside", t.root().join("sub/escape")).unwrap();
    symlink("/proc/self/root", t.root().join("procroot")).unwrap();
    symlink("../../outside/secret.txt", t.root().join("sub2/index.html")).unwrap();
    symlink("../outside/secret.txt", t.root().join("app.js.gz")).unwrap();
    let s = t.serve();
    for v in [
        "/sub/up-out.txt",
        "/hop.txt",
        "/sub/escape/secret.txt",
        "/sub/escape/",
        "/sub/escape",
        "/procroot/etc/passwd",
        "/procroot/",
        "/procroot",
        "/sub2/",
        "/sub2/index.html",
    ] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 404, "{v}: {}", r.head);
        assert_no_leak(&r, v);
    }
    // A precompressed sibling that leaves the root is not a variant.
    let r = get(&s, "/app.js", &["Accept-Encoding: gzip"]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"identity");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), None);
}

#[test]
fn dot_segments_are_400_even_when_they_would_stay_inside() {
    let t = Tree::new("dots");
    t.file("a.txt", "a");
    t.file("sub/b.txt", "b");
    let s = t.serve();
    for v in [
        "/sub/../a.txt",
        "/./a.txt",
        "/sub/./b.txt",
        "/sub/%2e%2e/a.txt",
        "/sub/%2E/b.txt",
        "/..",
        "/../",
        "/sub/..",
    ] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 400, "{v}: {}", r.head);
    }
    assert_eq!(get(&s, "/sub//b.txt", &[]).body, b"b");
}

#[test]
fn unix_socket_in_the_root_is_404() {
    let t = Tree::new("sock");
    let _listener = std::os::unix::net::UnixListener::bind(t.root().join("s.sock")).unwrap();
    let s = t.serve();
    let r = get(&s, "/s.sock", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
    let r = get(&s, "/s.sock/", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
}

#[test]
fn unreadable_directory_still_redirects_and_serves_its_index() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new("dirperm");
    t.file("d/index.html", "index");
    fs::set_permissions(t.root().join("d"), fs::Permissions::from_mode(0o311)).unwrap();
    if fs::read_dir(t.root().join("d")).is_ok() {
        eprintln!("skipping unreadable_directory_still_redirects: permissions are not enforced");
        return;
    }
    let s = t.serve();
    let r = get(&s, "/d", &[]);
    assert_eq!(r.status, 301, "{}", r.head);
    let r = get(&s, "/d/", &[]);
    assert_eq!((r.status, r.body_str().as_str()), (200, "index"));
}

// ---- Hidden files -------------------------------------------------------------------

#[test]
fn hidden_files_are_404_by_default() {
    let t = Tree::new("hidden");
    t.file(".env", "SECRET=1");
    t.file(".git/config", "[core]");
    t.file("sub/.htpasswd", "user:hash");
    t.file(".well-known/index.html", "wk");
    let s = t.serve();
    for v in [
        "/.env",
        "/.git/config",
        "/.git/",
        "/.git",
        "/sub/.htpasswd",
        "/%2eenv",
        "/%2Egit/config",
        "/.well-known/",
    ] {
        let r = get(&s, v, &[]);
        assert_eq!(r.status, 404, "{v}: {}", r.head);
    }
}

#[test]
fn hidden_files_are_served_when_enabled() {
    let t = Tree::new("hiddenon");
    t.file(".env", "SECRET=1");
    t.file(".well-known/security.txt", "contact");
    let s = t.serve_with(StaticFilesOptions {
        serve_hidden: true,
        ..StaticFilesOptions::default()
    });
    assert_eq!(get(&s, "/.env", &[]).body, b"SECRET=1");
    assert_eq!(get(&s, "/.well-known/security.txt", &[]).body, b"contact");
    // Dot segments are still refused.
    assert_no_leak(&get(&s, "/../outside/secret.txt", &[]), "serve_hidden ..");
    assert_no_leak(
        &get(&s, "/%2e%2e/outside/secret.txt", &[]),
        "serve_hidden %2e%2e",
    );
}

// ---- Conditional requests ------------------------------------------------------------

#[test]
fn if_none_match_gives_304() {
    let t = Tree::new("inm");
    t.file("a.txt", "content");
    let s = t.serve();
    let r = get(&s, "/a.txt", &[]);
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();

    let r = get(&s, "/a.txt", &[&format!("If-None-Match: {etag}")]);
    assert_eq!(r.status, 304, "{}", r.head);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("last-modified"), Some(lm.as_str()));
    assert_eq!(r.header("content-length"), None, "{}", r.head);
    assert!(r.body.is_empty());

    let weak = format!("If-None-Match: W/{etag}");
    assert_eq!(get(&s, "/a.txt", &[&weak]).status, 304, "weak comparison");
    let list = format!("If-None-Match: \"nope\", {etag}");
    assert_eq!(get(&s, "/a.txt", &[&list]).status, 304, "list");
    let split = [
        "If-None-Match: \"nope\"".to_string(),
        format!("If-None-Match: {etag}"),
    ];
    let split: Vec<&str> = split.iter().map(String::as_str).collect();
    assert_eq!(get(&s, "/a.txt", &split).status, 304, "repeated field");
    assert_eq!(get(&s, "/a.txt", &["If-None-Match: *"]).status, 304, "*");
    let r = get(&s, "/a.txt", &["If-None-Match: \"other\""]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"content");
    // HEAD too.
    let r = request(&s, "HEAD", "/a.txt", &[&format!("If-None-Match: {etag}")]);
    assert_eq!(r.status, 304, "{}", r.head);
}

#[test]
fn not_modified_leaves_the_connection_clean() {
    let t = Tree::new("inmkeep");
    t.file("a.txt", "content");
    let s = t.serve();
    let etag = get(&s, "/a.txt", &[]).header("etag").unwrap().to_string();
    let mut c = RawClient::connect(&s);
    c.send(format!("GET /a.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
    assert_eq!(c.response(false).unwrap().status, 304);
    c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"content");
}

#[test]
fn if_modified_since_gives_304_when_not_modified() {
    let t = Tree::new("ims");
    t.file("a.txt", "content");
    let s = t.serve();
    let lm = get(&s, "/a.txt", &[])
        .header("last-modified")
        .unwrap()
        .to_string();
    let r = get(&s, "/a.txt", &[&format!("If-Modified-Since: {lm}")]);
    assert_eq!(r.status, 304, "{}", r.head);
    assert!(r.body.is_empty());
    let r = get(
        &s,
        "/a.txt",
        &["If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"],
    );
    assert_eq!(r.status, 304, "a later date: {}", r.head);
    let r = get(
        &s,
        "/a.txt",
        &["If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT"],
    );
    assert_eq!(r.status, 200, "modified since 1994: {}", r.head);
    assert_eq!(r.body, b"content");
    let r = get(&s, "/a.txt", &["If-Modified-Since: not a date"]);
    assert_eq!(r.status, 200, "invalid date is ignored: {}", r.head);
}

#[test]
fn if_none_match_takes_precedence_over_if_modified_since() {
    let t = Tree::new("inmims");
    t.file("a.txt", "content");
    let s = t.serve();
    let r = get(&s, "/a.txt", &[]);
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();
    // A non-matching ETag wins over a date that says "not modified".
    let r = get(
        &s,
        "/a.txt",
        &[
            "If-None-Match: \"stale\"",
            &format!("If-Modified-Since: {lm}"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.head);
    // A matching ETag wins over a date that says "modified".
    let r = get(
        &s,
        "/a.txt",
        &[
            &format!("If-None-Match: {etag}"),
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
        ],
    );
    assert_eq!(r.status, 304, "{}", r.head);
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let t = Tree::new("ifmatch");
    t.file("a.txt", "content");
    let s = t.serve();
    let etag = get(&s, "/a.txt", &[]).header("etag").unwrap().to_string();
    let r = get(&s, "/a.txt", &["If-Match: \"other\""]);
    assert_eq!(r.status, 412, "{}", r.head);
    let r = get(&s, "/a.txt", &[&format!("If-Match: W/{etag}")]);
    assert_eq!(
        r.status, 412,
        "If-Match uses the strong comparison: {}",
        r.head
    );
    let r = get(&s, "/a.txt", &[&format!("If-Match: {etag}")]);
    assert_eq!(r.status, 200, "{}", r.head);
    let r = get(&s, "/a.txt", &["If-Match: *"]);
    assert_eq!(r.status, 200, "{}", r.head);
    let r = get(
        &s,
        "/a.txt",
        &["If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"],
    );
    assert_eq!(r.status, 412, "{}", r.head);
    let r = get(
        &s,
        "/a.txt",
        &["If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT"],
    );
    assert_eq!(r.status, 200, "{}", r.head);
}

#[test]
fn etag_changes_when_the_file_changes() {
    let t = Tree::new("etagchange");
    let p = t.file("a.txt", "one");
    let s = t.serve();
    let e1 = get(&s, "/a.txt", &[]).header("etag").unwrap().to_string();
    fs::write(&p, "three").unwrap();
    let r = get(&s, "/a.txt", &[&format!("If-None-Match: {e1}")]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"three");
    assert_ne!(r.header("etag"), Some(e1.as_str()));
}

// ---- Ranges ---------------------------------------------------------------------------

fn range(s: &TestServer, spec: &str) -> RawResponse {
    get(s, "/ten.bin", &[&format!("Range: {spec}")])
}

#[test]
fn single_ranges_give_206() {
    let t = Tree::new("range");
    t.file("ten.bin", "0123456789");
    let s = t.serve();
    for (spec, body, cr) in [
        ("bytes=0-0", "0", "bytes 0-0/10"),
        ("bytes=9-9", "9", "bytes 9-9/10"),
        ("bytes=0-9", "0123456789", "bytes 0-9/10"),
        ("bytes=2-5", "2345", "bytes 2-5/10"),
        ("bytes=3-", "3456789", "bytes 3-9/10"),
        ("bytes=9-", "9", "bytes 9-9/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=-1", "9", "bytes 9-9/10"),
        ("bytes=-100", "0123456789", "bytes 0-9/10"),
        ("bytes=5-100", "56789", "bytes 5-9/10"),
    ] {
        let r = range(&s, spec);
        assert_eq!(r.status, 206, "{spec}: {}", r.head);
        assert_eq!(r.body_str(), body, "{spec}");
        assert_eq!(r.header("content-range"), Some(cr), "{spec}");
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str()),
            "{spec}"
        );
        assert!(r.header("etag").is_some(), "{spec}");
    }
}

#[test]
fn unsatisfiable_ranges_give_416() {
    let t = Tree::new("range416");
    t.file("ten.bin", "0123456789");
    let s = t.serve();
    for spec in ["bytes=10-", "bytes=10-20", "bytes=100-200", "bytes=-0"] {
        let r = range(&s, spec);
        assert_eq!(r.status, 416, "{spec}: {}", r.head);
        assert_eq!(r.header("content-range"), Some("bytes */10"), "{spec}");
        assert!(!r.body_str().contains("0123"), "{spec}");
    }
}

#[test]
fn invalid_multiple_and_foreign_ranges_give_200() {
    let t = Tree::new("range200");
    t.file("ten.bin", "0123456789");
    let s = t.serve();
    for spec in [
        "bytes=5-2",
        "bytes=0-1,3-4",
        "bytes=0-1, 5-",
        "items=0-1",
        "bytes=abc",
        "bytes=",
        "bytes=--1",
    ] {
        let r = range(&s, spec);
        assert_eq!(r.status, 200, "{spec}: {}", r.head);
        assert_eq!(r.body, b"0123456789", "{spec}");
        assert_eq!(r.header("content-range"), None, "{spec}");
    }
}

#[test]
fn if_range_decides_between_206_and_200() {
    let t = Tree::new("ifrange");
    t.file("ten.bin", "0123456789");
    let s = t.serve();
    let r = get(&s, "/ten.bin", &[]);
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();

    let r = get(
        &s,
        "/ten.bin",
        &["Range: bytes=0-1", &format!("If-Range: {etag}")],
    );
    assert_eq!(r.status, 206, "matching ETag: {}", r.head);
    assert_eq!(r.body, b"01");
    let r = get(&s, "/ten.bin", &["Range: bytes=0-1", "If-Range: \"stale\""]);
    assert_eq!(r.status, 200, "other ETag: {}", r.head);
    assert_eq!(r.body, b"0123456789");
    let r = get(
        &s,
        "/ten.bin",
        &["Range: bytes=0-1", &format!("If-Range: W/{etag}")],
    );
    assert_eq!(r.status, 200, "weak ETag never matches: {}", r.head);
    let r = get(
        &s,
        "/ten.bin",
        &["Range: bytes=0-1", &format!("If-Range: {lm}")],
    );
    assert_eq!(r.status, 206, "matching date: {}", r.head);
    let r = get(
        &s,
        "/ten.bin",
        &[
            "Range: bytes=0-1",
            "If-Range: Sun, 06 Nov 1994 08:49:37 GMT",
        ],
    );
    assert_eq!(r.status, 200, "other date: {}", r.head);
}

// ---- Large files ----------------------------------------------------------------------

#[test]
fn five_mib_file_is_streamed_intact() {
    let t = Tree::new("large");
    let data = noise(5 * 1024 * 1024);
    t.file("big.bin", &data);
    let s = t.serve();
    let r = get(&s, "/big.bin", &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-length"), Some("5242880"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body.len(), data.len());
    assert!(r.body == data, "5 MiB body differs");

    let r = get(&s, "/big.bin", &["Range: bytes=1000000-2999999"]);
    assert_eq!(r.status, 206, "{}", r.head);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1000000-2999999/5242880")
    );
    assert!(r.body == data[1_000_000..3_000_000], "range slice differs");

    let r = get(&s, "/big.bin", &["Range: bytes=-70000"]);
    assert_eq!(r.status, 206, "{}", r.head);
    assert!(r.body == data[data.len() - 70_000..], "suffix differs");
}

// ---- Precompressed variants ---------------------------------------------------------

fn precompressed_tree(tag: &str) -> Tree {
    let t = Tree::new(tag);
    t.file("app.js", "identity bytes");
    t.file("app.js.br", "BR!");
    t.file("app.js.gz", "GZIP!");
    t.file("style.css", "css identity");
    t.file("style.css.gz", "CSS GZ");
    t.file("plain.txt", "no variants");
    t
}

/// A name found without variants is remembered for a second (its requests then skip one
/// failed open per coding): a variant added next to it is served once that second has
/// passed, and until then the identity file is.
#[test]
fn a_variant_added_later_is_served_within_a_second() {
    let t = precompressed_tree("later");
    let s = t.serve();
    let r = get(&s, "/plain.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.body, b"no variants");
    assert_eq!(r.header("vary"), None);
    t.file("plain.txt.gz", "PLAIN GZ");
    let added = std::time::Instant::now();
    let r = get(&s, "/plain.txt", &["Accept-Encoding: gzip"]);
    if added.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(r.body, b"no variants", "remembered for a second");
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = get(&s, "/plain.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.body, b"PLAIN GZ");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // And without Accept-Encoding the identity answer now says it varies.
    let r = get(&s, "/plain.txt", &[]);
    assert_eq!(r.body, b"no variants");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
}

#[test]
fn brotli_is_preferred() {
    let t = precompressed_tree("br");
    let s = t.serve();
    let identity = get(&s, "/app.js", &[]);
    let r = get(&s, "/app.js", &["Accept-Encoding: gzip, deflate, br"]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"BR!");
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("content-length"), Some("3"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_ne!(r.header("etag"), identity.header("etag"));
}

#[test]
fn gzip_when_brotli_is_not_accepted() {
    let t = precompressed_tree("gz");
    let s = t.serve();
    for ae in ["gzip", "br;q=0, gzip", "gzip;q=0.5, br;q=0", "x-gzip"] {
        let r = get(&s, "/app.js", &[&format!("Accept-Encoding: {ae}")]);
        assert_eq!(r.status, 200, "{ae}: {}", r.head);
        assert_eq!(r.body, b"GZIP!", "{ae}");
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{ae}");
        assert_eq!(
            r.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{ae}");
    }
    // A higher q for gzip wins.
    let r = get(&s, "/app.js", &["Accept-Encoding: br;q=0.2, gzip;q=0.8"]);
    assert_eq!(r.body, b"GZIP!");
    // Only a .gz sibling exists.
    let r = get(&s, "/style.css", &["Accept-Encoding: br, gzip"]);
    assert_eq!(r.body, b"CSS GZ");
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
}

#[test]
fn identity_when_nothing_acceptable_but_vary_is_sent() {
    let t = precompressed_tree("identity");
    let s = t.serve();
    for headers in [
        &[][..],
        &["Accept-Encoding: identity"][..],
        &["Accept-Encoding: br;q=0, gzip;q=0"][..],
        &["Accept-Encoding: *;q=0"][..],
        &["Accept-Encoding: deflate"][..],
    ] {
        let r = get(&s, "/app.js", headers);
        assert_eq!(r.status, 200, "{headers:?}: {}", r.head);
        assert_eq!(r.body, b"identity bytes", "{headers:?}");
        assert_eq!(r.header("content-encoding"), None, "{headers:?}");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{headers:?}");
    }
    // Only a .gz sibling exists and the client takes br only: identity, with Vary.
    let r = get(&s, "/style.css", &["Accept-Encoding: br"]);
    assert_eq!(r.body, b"css identity");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // No sibling: no Vary.
    let r = get(&s, "/plain.txt", &["Accept-Encoding: br, gzip"]);
    assert_eq!(r.body, b"no variants");
    assert_eq!(r.header("vary"), None);
    assert_eq!(r.header("content-encoding"), None);
}

#[test]
fn precompressed_can_be_turned_off() {
    let t = precompressed_tree("off");
    let s = t.serve_with(StaticFilesOptions {
        precompressed: false,
        ..StaticFilesOptions::default()
    });
    let r = get(&s, "/app.js", &["Accept-Encoding: br, gzip"]);
    assert_eq!(r.body, b"identity bytes");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), None);
}

#[test]
fn precompressed_variants_have_their_own_validators() {
    let t = precompressed_tree("variant304");
    let s = t.serve();
    let br = get(&s, "/app.js", &["Accept-Encoding: br"]);
    let etag = br.header("etag").unwrap().to_string();
    let r = get(
        &s,
        "/app.js",
        &["Accept-Encoding: br", &format!("If-None-Match: {etag}")],
    );
    assert_eq!(r.status, 304, "{}", r.head);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // The br ETag does not validate the identity representation.
    let r = get(&s, "/app.js", &[&format!("If-None-Match: {etag}")]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"identity bytes");
    // A range applies to the variant's bytes.
    let r = get(&s, "/app.js", &["Accept-Encoding: br", "Range: bytes=1-"]);
    assert_eq!(r.status, 206, "{}", r.head);
    assert_eq!(r.body, b"R!");
    assert_eq!(r.header("content-range"), Some("bytes 1-2/3"));
    assert_eq!(r.header("content-encoding"), Some("br"));
}

// ---- Cache-Control ------------------------------------------------------------------

#[test]
fn cache_control_is_configurable() {
    let t = Tree::new("cache");
    t.file("ten.bin", "0123456789");
    let s = t.serve_with(StaticFilesOptions {
        cache_control: Some("public, max-age=3600".into()),
        ..StaticFilesOptions::default()
    });
    let r = get(&s, "/ten.bin", &[]);
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let etag = r.header("etag").unwrap().to_string();
    let r = get(&s, "/ten.bin", &[&format!("If-None-Match: {etag}")]);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let r = range(&s, "bytes=0-1");
    assert_eq!(r.status, 206);
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    // Not on errors.
    let r = get(&s, "/missing", &[]);
    assert_eq!(r.header("cache-control"), None);
}

// ---- Errors and construction ---------------------------------------------------------

#[test]
fn unreadable_file_is_403() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new("perm");
    let p = t.file("locked.txt", "locked");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&p).is_ok() {
        // Running as root (CAP_DAC_OVERRIDE): permissions cannot be denied here; the
        // mapping is covered by the unit test `io_errors_map_to_statuses`.
        eprintln!("skipping unreadable_file_is_403: permissions are not enforced");
        return;
    }
    let s = t.serve();
    let r = get(&s, "/locked.txt", &[]);
    assert_eq!(r.status, 403, "{}", r.head);
    assert!(!r.body_str().contains("locked"));
}

#[test]
fn special_files_are_404_and_do_not_block() {
    let t = Tree::new("fifo");
    let fifo = t.root().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !made {
        eprintln!("skipping special_files_are_404_and_do_not_block: no mkfifo");
        return;
    }
    let s = t.serve();
    let r = get(&s, "/pipe", &[]);
    assert_eq!(r.status, 404, "{}", r.head);
}

#[test]
fn construction_errors() {
    let t = Tree::new("construct");
    let file = t.file("file.txt", "x");
    assert!(StaticFiles::new(t.root().join("missing")).is_err());
    assert!(StaticFiles::new(&file).is_err(), "a file is not a root");
    let files = StaticFiles::new(t.root().join("../root")).unwrap();
    assert_eq!(files.root(), fs::canonicalize(t.root()).unwrap());
    for index in ["", "..", ".", "a/b", "a\0b"] {
        let options = StaticFilesOptions {
            index: index.into(),
            ..StaticFilesOptions::default()
        };
        assert!(
            StaticFiles::with_options(t.root(), options).is_err(),
            "index {index:?}"
        );
    }
    let options = StaticFilesOptions {
        cache_control: Some("bad\nvalue".into()),
        ..StaticFilesOptions::default()
    };
    assert!(StaticFiles::with_options(t.root(), options).is_err());
}

#[test]
fn root_given_through_a_symlink_works() {
    let t = Tree::new("rootlink");
    t.file("a.txt", "via link");
    let link = t.tmp.path().join("root-link");
    symlink(t.root(), &link).unwrap();
    let files = StaticFiles::new(&link).unwrap();
    let s = support::start(support::options(), files);
    assert_eq!(get(&s, "/a.txt", &[]).body, b"via link");
}

// ---- The appliance binary -------------------------------------------------------------

#[test]
fn binary_serves_root() {
    let Some(bin) = option_env!("CARGO_BIN_EXE_falconet") else {
        eprintln!("skipping binary_serves_root: the binary is not built (feature appliance)");
        return;
    };
    let t = Tree::new("binary");
    t.file("index.html", "<h1>from --root</h1>");
    t.file(".well-known/x.txt", "hidden");
    let runner = support::test_runner();
    let mut cmd = match runner.split_first() {
        Some((prog, args)) => {
            let mut c = std::process::Command::new(prog);
            c.args(args).arg(bin);
            c
        }
        None => std::process::Command::new(bin),
    };
    cmd.arg("--urls")
        .arg("http://127.0.0.1:0")
        .arg("--root")
        .arg(t.root())
        .env_remove("FALCONET_URLS")
        .env("RUST_LOG", "info");
    let mut child = support::ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    let r = support::get_at(addr, "/");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body, b"<h1>from --root</h1>");
    assert!(r.header("etag").is_some());
    let r = support::get_at(addr, "/../outside/secret.txt");
    assert_no_leak(&r, "binary ..");
    assert_eq!(r.header("cache-control"), None);
    assert_eq!(support::get_at(addr, "/.well-known/x.txt").status, 404);
    drop(child);

    // --cache-control and --serve-hidden.
    let mut cmd = support::falconet_command();
    cmd.args(["--urls", "http://127.0.0.1:0", "--root"])
        .arg(t.root())
        .args(["--cache-control", "public, max-age=600", "--serve-hidden"]);
    let mut child = support::ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    let r = support::get_at(addr, "/");
    assert_eq!(r.header("cache-control"), Some("public, max-age=600"));
    let r = support::get_at(addr, "/.well-known/x.txt");
    assert_eq!((r.status, r.body_str().as_str()), (200, "hidden"));

    // A root that is not a directory fails fast with exit code 2.
    let missing: &Path = &t.root().join("missing");
    if runner.is_empty() {
        let out = std::process::Command::new(bin)
            .arg("--root")
            .arg(missing)
            .output()
            .expect("run the binary");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--root"));
    }
}

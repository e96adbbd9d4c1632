//! [`Router`]: method + path patterns in front of handlers, with [`Params`] and [`Query`].

use std::sync::Arc;

use http::header::{HeaderValue, ALLOW};
use http::{Method, StatusCode};

use crate::handler::{Handler, Request, Response};
use crate::request::Prepare;
use crate::response;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Static(Box<str>),
    Param(Arc<str>),
    Rest(Arc<str>),
}

impl Seg {
    fn rank(&self) -> u8 {
        match self {
            Seg::Static(_) => 0,
            Seg::Param(_) => 1,
            Seg::Rest(_) => 2,
        }
    }

    fn same_shape(&self, other: &Seg) -> bool {
        match (self, other) {
            (Seg::Static(a), Seg::Static(b)) => a == b,
            _ => self.rank() == other.rank(),
        }
    }
}

struct Route {
    method: Method,
    pattern: Box<str>,
    segs: Vec<Seg>,
    handler: Box<dyn Handler>,
}

/// Routes requests by method and path pattern to handlers; itself a [`Handler`].
///
/// Patterns are `/`-separated segments, each one of:
///
/// - a **static** segment (`items`), compared byte for byte with the raw request path
///   (write it as it appears on the wire);
/// - a **parameter** `{name}`, matching one whole non-empty segment;
/// - a **catch-all** `{*name}`, last only, matching the rest of the path: one segment or
///   more, the last of which may be empty. `/files/{*rest}` matches `/files/` (rest `""`)
///   and `/files/a/b` (rest `"a/b"`) but not `/files`; `/{*path}` matches every path.
///
/// Captured values are percent-decoded and must be UTF-8 (else the answer is 400); in a
/// catch-all `%2F` decodes to `/` like any other byte, so use the request path itself
/// where that matters. The handler sees the request unchanged (the full path: there is no
/// prefix stripping, so `StaticFiles` under `/ui/{*path}` serves
/// `ROOT/ui/...`), with a [`Params`] in its extensions.
///
/// **Matching.** Routes are ordered by specificity, whatever the order they were added
/// in: segment by segment, static beats parameter beats catch-all. A request goes to the
/// first route in that order whose pattern matches its path and whose method is the
/// request's; a GET route also answers HEAD (the server leaves the body out) unless a
/// HEAD route matches first. When routes match the path but none the method, the answer
/// is `405 Method Not Allowed` with `Allow` listing their methods (HEAD included where
/// GET is); when none match the path, the [`fallback`](Router::fallback) handler runs,
/// or the answer is `404 Not Found`. Both error bodies are short plain text.
///
/// **Trailing slashes** are significant: `/items/` does not match `/items`, and nothing
/// is redirected. **OPTIONS** is not answered for you: add a route for it (without one,
/// it gets 405 with the `Allow` list). Adding a route whose method and shape (segments,
/// parameter names aside) are the same as an earlier one's, or a malformed pattern,
/// panics: both are programming errors, found the first time the router is built.
///
/// [`Handler::prepare`] is forwarded to the handler the request will go to (the path is
/// matched there and again in `handle`: `prepare` cannot carry the match), so per-route
/// limits and synchronous I/O work as they do without a router; so do upgrades, which
/// reach the route's handler untouched.
///
/// ```
/// use falconet::response::{status, text};
/// use falconet::http::StatusCode;
/// use falconet::{Params, Query, Request, Router};
///
/// let router = Router::new()
///     .get("/items/{id}", |req: Request| {
///         let id = Params::of(&req).get("id").unwrap_or_default().to_owned();
///         text(StatusCode::OK, format!("item {id}\n"))
///     })
///     .get("/search", |req: Request| {
///         let q = Query::of(&req);
///         text(StatusCode::OK, format!("{:?}\n", q.get("q")))
///     })
///     .delete("/items/{id}", |_req: Request| status(StatusCode::NO_CONTENT));
/// // Server::new(options, router).run()
/// # let _ = router;
/// ```
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    fallback: Option<Box<dyn Handler>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for r in &self.routes {
            l.entry(&format_args!("{} {}", r.method, r.pattern));
        }
        l.finish()
    }
}

/// The outcome of matching a method and path.
enum Match<'r, 'p> {
    Route(&'r Route, Vec<&'p str>),
    NotAllowed(String),
    NotFound,
}

impl Router {
    /// A router without routes (everything is 404).
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route for `method` and `pattern`. Panics when the pattern is malformed (not
    /// starting with `/`, a `{` that is not a whole `{name}` or `{*name}` segment, a
    /// catch-all before the last segment, an empty name) or when a route with the same
    /// method and shape exists.
    pub fn route(mut self, method: Method, pattern: &str, handler: impl Handler) -> Router {
        let segs = parse(pattern);
        if let Some(old) = self.routes.iter().find(|r| {
            r.method == method
                && r.segs.len() == segs.len()
                && r.segs.iter().zip(&segs).all(|(a, b)| a.same_shape(b))
        }) {
            panic!(
                "Router: route {method} {pattern} conflicts with {} {}",
                old.method, old.pattern
            );
        }
        // Keep the routes in specificity order; equal ranks keep their insertion order.
        let key = |s: &[Seg]| s.iter().map(Seg::rank).collect::<Vec<_>>();
        let k = key(&segs);
        let at = self.routes.partition_point(|r| key(&r.segs) <= k);
        self.routes.insert(
            at,
            Route {
                method,
                pattern: pattern.into(),
                segs,
                handler: Box::new(handler),
            },
        );
        self
    }

    /// Adds a GET route (it answers HEAD too).
    pub fn get(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(Method::GET, pattern, handler)
    }

    /// Adds a POST route.
    pub fn post(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(Method::POST, pattern, handler)
    }

    /// Adds a PUT route.
    pub fn put(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(Method::PUT, pattern, handler)
    }

    /// Adds a PATCH route.
    pub fn patch(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(Method::PATCH, pattern, handler)
    }

    /// Adds a DELETE route.
    pub fn delete(self, pattern: &str, handler: impl Handler) -> Router {
        self.route(Method::DELETE, pattern, handler)
    }

    /// The handler for requests whose path no route matches (any method), instead of
    /// the 404 answer; e.g. a `StaticFiles`. Replaces an earlier
    /// fallback. It sees the request unchanged, with no [`Params`].
    pub fn fallback(mut self, handler: impl Handler) -> Router {
        self.fallback = Some(Box::new(handler));
        self
    }

    fn find<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Match<'r, 'p> {
        let mut caps = Vec::new();
        let mut path_matched = false;
        for r in &self.routes {
            caps.clear();
            if !match_path(&r.segs, path, &mut caps) {
                continue;
            }
            if r.method == method || (method == Method::HEAD && r.method == Method::GET) {
                return Match::Route(r, caps);
            }
            path_matched = true;
        }
        if !path_matched {
            return Match::NotFound;
        }
        let mut allow: Vec<&str> = Vec::new();
        for r in &self.routes {
            if match_path(&r.segs, path, &mut caps) {
                allow.push(r.method.as_str());
                if r.method == Method::GET {
                    allow.push("HEAD");
                }
            }
        }
        allow.sort_unstable();
        allow.dedup();
        Match::NotAllowed(allow.join(", "))
    }
}

/// Parses a pattern into segments; panics (with the pattern) when it is malformed.
fn parse(pattern: &str) -> Vec<Seg> {
    let bad = |why: &str| -> ! { panic!("Router: bad pattern {pattern:?}: {why}") };
    let Some(rest) = pattern.strip_prefix('/') else {
        bad("it must start with '/'")
    };
    let mut segs = Vec::new();
    for s in rest.split('/') {
        if matches!(segs.last(), Some(Seg::Rest(_))) {
            bad("a catch-all {*name} must be the last segment");
        }
        let seg = match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match name.strip_prefix('*') {
                Some(n) => Seg::Rest(n.into()),
                None => Seg::Param(name.into()),
            },
            None => Seg::Static(s.into()),
        };
        match &seg {
            Seg::Static(s) if s.contains(['{', '}']) => {
                bad("'{' and '}' may only enclose a whole segment")
            }
            Seg::Param(n) | Seg::Rest(n) if n.is_empty() || n.contains(['{', '}', '*']) => {
                bad("a parameter needs a plain name")
            }
            _ => {}
        }
        segs.push(seg);
    }
    segs
}

/// Whether `path` matches `segs`; the raw captured values go to `caps`.
fn match_path<'p>(segs: &[Seg], path: &'p str, caps: &mut Vec<&'p str>) -> bool {
    let Some(mut rest) = path.strip_prefix('/') else {
        return false;
    };
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix('/') {
                Some(r) => rest = r,
                None => return false,
            }
        }
        if let Seg::Rest(_) = seg {
            caps.push(rest);
            return true;
        }
        let end = rest.find('/').unwrap_or(rest.len());
        let (s, r) = rest.split_at(end);
        match seg {
            Seg::Static(t) if **t == *s => {}
            Seg::Param(_) if !s.is_empty() => caps.push(s),
            _ => return false,
        }
        rest = r;
    }
    rest.is_empty()
}

/// Percent-decodes `s`, `+` as a space when `plus`. A `%` not followed by two hex digits
/// stays as it is.
fn decode(s: &str, plus: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|&c| (c as char).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus && c == b'+' { b' ' } else { c });
        i += 1;
    }
    out
}

impl Handler for Router {
    fn prepare(&self, req: &mut Prepare<'_>) {
        match self.find(req.method(), req.uri().path()) {
            Match::Route(r, _) => r.handler.prepare(req),
            Match::NotFound => {
                if let Some(f) = &self.fallback {
                    f.prepare(req)
                }
            }
            Match::NotAllowed(_) => {}
        }
    }

    fn handle(&self, mut req: Request) -> Response {
        let path = req.uri().path().to_owned();
        match self.find(req.method(), &path) {
            Match::Route(r, caps) => {
                let mut list = Vec::with_capacity(caps.len());
                let names = r.segs.iter().filter_map(|s| match s {
                    Seg::Param(n) | Seg::Rest(n) => Some(n),
                    Seg::Static(_) => None,
                });
                for (name, raw) in names.zip(caps) {
                    match String::from_utf8(decode(raw, false)) {
                        Ok(v) => list.push((name.clone(), v)),
                        Err(_) => return response::text(StatusCode::BAD_REQUEST, "Bad Request\n"),
                    }
                }
                req.extensions_mut().insert(Params { list });
                r.handler.handle(req)
            }
            Match::NotAllowed(allow) => {
                let mut resp =
                    response::text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                if let Ok(v) = HeaderValue::try_from(allow) {
                    resp.headers_mut().insert(ALLOW, v);
                }
                resp
            }
            Match::NotFound => match &self.fallback {
                Some(f) => f.handle(req),
                None => response::text(StatusCode::NOT_FOUND, "Not Found\n"),
            },
        }
    }
}

/// The path parameters a [`Router`] captured for a request (`{id}`, `{*rest}`),
/// percent-decoded; in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Params {
    list: Vec<(Arc<str>, String)>,
}

static NO_PARAMS: Params = Params { list: Vec::new() };

impl Params {
    /// The parameters of `req`; empty when no router put any there.
    pub fn of<B>(req: &http::Request<B>) -> &Params {
        req.extensions().get::<Params>().unwrap_or(&NO_PARAMS)
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|(n, _)| **n == *name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters as (name, value), in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().map(|(n, v)| (&**n, v.as_str()))
    }
}

/// A parsed query string (`a=1&b=x%20y`): pairs percent-decoded with `+` as a space,
/// invalid UTF-8 replaced (U+FFFD); a key without `=` has the value `""`; empty pieces
/// (`a=1&&b`) are skipped.
///
/// ```
/// let q = falconet::Query::parse("name=J%C3%BCrgen+K&flag&n=1&n=2");
/// assert_eq!(q.get("name"), Some("Jürgen K"));
/// assert_eq!(q.get("flag"), Some(""));
/// assert_eq!(q.get("n"), Some("1"));
/// assert_eq!(q.iter().filter(|(k, _)| *k == "n").count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a query string (without the `?`).
    pub fn parse(query: &str) -> Query {
        let dec = |s: &str| match String::from_utf8(decode(s, true)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (dec(k), dec(v))
            })
            .collect();
        Query { pairs }
    }

    /// The query of `req`'s URI, parsed (empty when there is none).
    pub fn of<B>(req: &http::Request<B>) -> Query {
        Query::parse(req.uri().query().unwrap_or(""))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;

    fn tag(t: &'static str) -> impl Handler {
        move |req: Request| {
            let p: Vec<String> = Params::of(&req)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            response::text(StatusCode::OK, format!("{t} {}", p.join(",")))
        }
    }

    fn call(r: &Router, method: Method, path: &str) -> (u16, String, Option<String>) {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let mut resp = r.handle(req);
        let allow = resp
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.body_mut().as_bytes().unwrap_or(&[]).to_vec();
        (
            resp.status().as_u16(),
            String::from_utf8(body).unwrap(),
            allow,
        )
    }

    fn get(r: &Router, path: &str) -> String {
        let (s, b, _) = call(r, Method::GET, path);
        format!("{s} {b}")
    }

    #[test]
    fn static_beats_param_beats_catch_all_in_any_order() {
        let r = Router::new()
            .get("/{*rest}", tag("all"))
            .get("/items/{id}", tag("item"))
            .get("/items/new", tag("new"))
            .get("/items", tag("list"))
            .get("/", tag("root"))
            .get("/{a}/x", tag("ax"))
            .get("/items/{id}/parts/{part}", tag("part"));
        assert_eq!(get(&r, "/"), "200 root ");
        assert_eq!(get(&r, "/items"), "200 list ");
        assert_eq!(get(&r, "/items/new"), "200 new ");
        assert_eq!(get(&r, "/items/42"), "200 item id=42");
        assert_eq!(get(&r, "/items/x"), "200 item id=x");
        assert_eq!(get(&r, "/q/x"), "200 ax a=q");
        assert_eq!(get(&r, "/items/7/parts/b%20c"), "200 part id=7,part=b c");
        assert_eq!(get(&r, "/items/"), "200 all rest=items/");
        assert_eq!(get(&r, "/a/b/c"), "200 all rest=a/b/c");
        assert_eq!(get(&r, "/items?x=1"), "200 list ");
    }

    #[test]
    fn trailing_slash_and_catch_all_edges() {
        let r = Router::new()
            .get("/files/{*rest}", tag("files"))
            .get("/items", tag("list"));
        assert_eq!(get(&r, "/items/"), "404 Not Found\n");
        assert_eq!(get(&r, "/files"), "404 Not Found\n");
        assert_eq!(get(&r, "/files/"), "200 files rest=");
        assert_eq!(get(&r, "/files/a%2Fb/c"), "200 files rest=a/b/c");
        assert_eq!(get(&r, "//items"), "404 Not Found\n");
        // An empty segment does not match a parameter.
        let r = Router::new().get("/a/{id}", tag("a"));
        assert_eq!(get(&r, "/a/"), "404 Not Found\n");
        assert_eq!(get(&r, "/a/%FF"), "400 Bad Request\n");
    }

    #[test]
    fn methods_head_and_405_allow() {
        let r = Router::new()
            .get("/items", tag("get"))
            .post("/items", tag("post"))
            .delete("/items/{id}", tag("del"))
            .route(Method::HEAD, "/h", tag("head"))
            .get("/h", tag("get-h"));
        assert_eq!(call(&r, Method::HEAD, "/items").1, "get ");
        assert_eq!(call(&r, Method::HEAD, "/h").1, "head ");
        assert_eq!(call(&r, Method::POST, "/items").1, "post ");
        let (s, _, allow) = call(&r, Method::PUT, "/items");
        assert_eq!((s, allow.as_deref()), (405, Some("GET, HEAD, POST")));
        let (s, _, allow) = call(&r, Method::OPTIONS, "/items/3");
        assert_eq!((s, allow.as_deref()), (405, Some("DELETE")));
        // A less specific route with the method still serves.
        let r = Router::new()
            .post("/items/new", tag("new"))
            .get("/items/{id}", tag("item"));
        assert_eq!(get(&r, "/items/new"), "200 item id=new");
        let (s, _, allow) = call(&r, Method::PUT, "/items/new");
        assert_eq!((s, allow.as_deref()), (405, Some("GET, HEAD, POST")));
    }

    #[test]
    fn fallback_takes_what_no_route_matches() {
        let r = Router::new()
            .get("/api", tag("api"))
            .fallback(tag("fallback"));
        assert_eq!(get(&r, "/other"), "200 fallback ");
        assert_eq!(call(&r, Method::POST, "/api").0, 405);
    }

    #[test]
    #[should_panic(expected = "conflicts with GET /items/{id}")]
    fn same_shape_twice_panics() {
        let _ = Router::new()
            .get("/items/{id}", tag("a"))
            .post("/items/{id}", tag("b"))
            .get("/items/{name}", tag("c"));
    }

    #[test]
    fn malformed_patterns_panic() {
        for p in ["items", "/a/{*r}/b", "/a{id}", "/{}", "/{*}", "/x}"] {
            let r = std::panic::catch_unwind(|| Router::new().get(p, tag("x")));
            assert!(r.is_err(), "{p} was accepted");
        }
    }

    #[test]
    fn query_parsing() {
        let q = Query::parse("a=1&b=x%20y+z&&c&d=%zz&e=%C3%A9&f=%FF");
        let pairs: Vec<_> = q.iter().collect();
        assert_eq!(
            pairs,
            [
                ("a", "1"),
                ("b", "x y z"),
                ("c", ""),
                ("d", "%zz"),
                ("e", "\u{e9}"),
                ("f", "\u{fffd}")
            ]
        );
        assert_eq!(q.get("b"), Some("x y z"));
        assert_eq!(q.get("zz"), None);
        assert_eq!(Query::parse("").iter().count(), 0);
    }
}

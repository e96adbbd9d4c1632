//! The handler the server puts in front of the application's when compression is on.

use http::header::{
    HeaderName, ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, ETAG, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::encode::{compress, CompressReader, CompressWriter};
use super::negotiate::{compressible, media_type, negotiate, Negotiated};
use super::{CompressionLevel, ResponseCompressionOptions, DEFAULT_MIME_TYPES};
use crate::body::{Body, Kind};
use crate::handler::Handler;
use crate::request::{Prepare, RequestExt};
use crate::{Request, Response};

/// `Content-MD5` (obsolete, but ASP.NET removes it: it describes the uncompressed bytes).
const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// The handler in front of the application's when compression is enabled.
pub(crate) struct ResponseCompression {
    inner: Box<dyn Handler>,
    enable_for_https: bool,
    mime_types: Vec<String>,
    excluded: Vec<String>,
    minimum_size: u64,
    level: CompressionLevel,
}

impl ResponseCompression {
    /// `inner` behind compression when the options enable it; `Err(inner)` otherwise.
    pub(crate) fn wrap(
        inner: Box<dyn Handler>,
        o: &ResponseCompressionOptions,
    ) -> Result<ResponseCompression, Box<dyn Handler>> {
        if !o.enabled {
            return Err(inner);
        }
        let lower = |l: &[String]| -> Vec<String> {
            l.iter().map(|m| m.trim().to_ascii_lowercase()).collect()
        };
        let mime_types = if o.mime_types.is_empty() {
            DEFAULT_MIME_TYPES.iter().map(|s| s.to_string()).collect()
        } else {
            lower(&o.mime_types)
        };
        Ok(ResponseCompression {
            inner,
            enable_for_https: o.enable_for_https,
            mime_types,
            excluded: lower(&o.excluded_mime_types),
            minimum_size: o.minimum_size,
            level: o.level,
        })
    }

    /// Whether the response is one the middleware considers (it then varies by
    /// `Accept-Encoding`): a compressible type, a status with a body, no range, no
    /// coding yet, transformation allowed, a body that is not empty or an upgrade.
    fn considers(&self, resp: &Response) -> bool {
        let status = resp.status();
        let h = resp.headers();
        if !crate::exchange::status_has_body(status)
            || status == StatusCode::PARTIAL_CONTENT
            || h.contains_key(CONTENT_RANGE)
            || h.contains_key(CONTENT_ENCODING)
            || no_transform(h)
            || matches!(resp.body().kind, Kind::Empty | Kind::Upgrade(_))
            || resp.body().len() == Some(0)
        {
            return false;
        }
        let Some(ct) = h.get(CONTENT_TYPE) else {
            return false;
        };
        compressible(media_type(ct.as_bytes()), &self.mime_types, &self.excluded)
    }

    fn transform(&self, mut resp: Response, negotiated: Negotiated, head: bool) -> Response {
        if !self.considers(&resp) {
            return resp;
        }
        add_vary(resp.headers_mut());
        let Some(coding) = negotiated.coding else {
            return resp;
        };
        if head {
            return resp;
        }
        let known = resp.body().len();
        if known.is_some_and(|n| n < self.minimum_size) && !negotiated.identity_refused {
            return resp;
        }
        let body = std::mem::take(resp.body_mut());
        let trailers = body.trailers;
        let level = self.level;
        let new = match body.kind {
            Kind::Bytes { data, pos } => {
                let data = &data[pos.min(data.len())..];
                match compress(data, coding, level) {
                    Ok(c) if c.len() < data.len() || negotiated.identity_refused => Body::from(c),
                    Ok(_) => {
                        // Not smaller: send the bytes as they are (still varying).
                        *resp.body_mut() = Body::from(data.to_vec());
                        resp.body_mut().trailers = trailers;
                        return resp;
                    }
                    Err(e) => {
                        log::error!("response compression failed: {e}; sending the body as it is");
                        *resp.body_mut() = Body::from(data.to_vec());
                        resp.body_mut().trailers = trailers;
                        return resp;
                    }
                }
            }
            Kind::Reader { reader, .. } => {
                Body::from_reader(CompressReader::new(reader, coding, level), None)
            }
            Kind::File(f) => Body::from_reader(CompressReader::new(f, coding, level), None),
            Kind::Writer(f) => Body::from_writer(move |w| {
                let mut cw = CompressWriter::new(w, coding, level);
                f(&mut cw)?;
                cw.finish()
            }),
            other => {
                // A streamed request body passed through: left as it is.
                *resp.body_mut() = Body {
                    kind: other,
                    trailers,
                };
                return resp;
            }
        };
        *resp.body_mut() = new;
        resp.body_mut().trailers = trailers;
        let h = resp.headers_mut();
        h.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
        h.remove(CONTENT_LENGTH);
        h.remove(CONTENT_MD5);
        h.remove(ACCEPT_RANGES);
        weaken_etag(h);
        log::debug!(
            "response compressed with {} ({})",
            coding.token(),
            h.get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        );
        resp
    }
}

/// `Cache-Control: no-transform` (RFC 9111 §5.2.2.6) on the response.
fn no_transform(h: &HeaderMap) -> bool {
    h.get_all(CACHE_CONTROL).iter().any(|v| {
        v.as_bytes().split(|&b| b == b',').any(|d| {
            let d = d.trim_ascii();
            d.eq_ignore_ascii_case(b"no-transform")
        })
    })
}

/// Appends `Accept-Encoding` to `Vary` unless it (or `*`) is already there.
fn add_vary(h: &mut HeaderMap) {
    let present = h.get_all(VARY).iter().any(|v| {
        v.as_bytes().split(|&b| b == b',').any(|t| {
            let t = t.trim_ascii();
            t == b"*" || t.eq_ignore_ascii_case(b"accept-encoding")
        })
    });
    if !present {
        h.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// A strong `ETag` becomes weak: the compressed bytes are not the bytes it validated, so a
/// range request validated against it (`If-Range`) must not be honoured, while
/// `If-None-Match` (weak comparison) still matches it. (ASP.NET leaves the ETag as it is;
/// nginx and Varnish weaken it, and falconet's own static files serve ranges.)
fn weaken_etag(h: &mut HeaderMap) {
    let Some(v) = h.get(ETAG) else { return };
    if v.as_bytes().starts_with(b"W/") {
        return;
    }
    let mut weak = Vec::with_capacity(v.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(v.as_bytes());
    if let Ok(w) = HeaderValue::from_bytes(&weak) {
        h.insert(ETAG, w);
    }
}

impl Handler for ResponseCompression {
    fn prepare(&self, p: &mut Prepare<'_>) {
        self.inner.prepare(p);
    }

    fn handle(&self, req: Request) -> Response {
        if req.scheme() == "https" && !self.enable_for_https {
            return self.inner.handle(req);
        }
        let head = req.method() == Method::HEAD;
        let negotiated = if req.headers().contains_key(ACCEPT_ENCODING) {
            negotiate(
                req.headers()
                    .get_all(ACCEPT_ENCODING)
                    .iter()
                    .map(|v| v.as_bytes()),
            )
        } else {
            Negotiated::IDENTITY
        };
        let resp = self.inner.handle(req);
        self.transform(resp, negotiated, head)
    }
}

#[cfg(test)]
mod tests {
    use super::super::negotiate::Coding;
    use super::*;

    fn mw(o: ResponseCompressionOptions) -> ResponseCompression {
        let inner: Box<dyn Handler> = Box::new(|_req: Request| Response::new(Body::empty()));
        match ResponseCompression::wrap(inner, &ResponseCompressionOptions { enabled: true, ..o }) {
            Ok(m) => m,
            Err(_) => panic!("enabled"),
        }
    }

    fn resp(ct: &str, body: Body) -> Response {
        let mut r = Response::new(body);
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        r
    }

    const BR: Negotiated = Negotiated {
        coding: Some(Coding::Br),
        identity_refused: false,
    };

    fn text(n: usize) -> Vec<u8> {
        "compress me please ".repeat(n / 19 + 1).into_bytes()[..n].to_vec()
    }

    #[test]
    fn off_unless_enabled() {
        let inner: Box<dyn Handler> = Box::new(|_req: Request| Response::new(Body::empty()));
        assert!(ResponseCompression::wrap(inner, &ResponseCompressionOptions::default()).is_err());
    }

    #[test]
    fn bytes_are_compressed_with_headers_adjusted() {
        let m = mw(Default::default());
        let mut r = resp("text/html; charset=utf-8", Body::from(text(5000)));
        let h = r.headers_mut();
        h.insert(CONTENT_LENGTH, HeaderValue::from(5000u32));
        h.insert(ETAG, HeaderValue::from_static("\"abc\""));
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(VARY, HeaderValue::from_static("Origin"));
        let r = m.transform(r, BR, false);
        let h = r.headers();
        assert_eq!(h["content-encoding"], "br");
        assert_eq!(h["etag"], "W/\"abc\"");
        assert!(!h.contains_key(CONTENT_LENGTH) && !h.contains_key(ACCEPT_RANGES));
        let vary: Vec<_> = h.get_all(VARY).iter().collect();
        assert_eq!(vary, ["Origin", "Accept-Encoding"]);
        assert!(r.body().len().unwrap() < 200);
    }

    #[test]
    fn left_alone() {
        let m = mw(Default::default());
        let check = |r: Response, neg: Negotiated, head: bool, vary: bool| {
            let r = m.transform(r, neg, head);
            assert!(
                !r.headers().contains_key(CONTENT_ENCODING)
                    || r.headers()[CONTENT_ENCODING] == "gzip-already"
            );
            assert_eq!(r.headers().contains_key(VARY), vary, "{:?}", r.headers());
        };
        // Not a compressible type, no type, too small, no coding accepted, HEAD.
        check(resp("image/png", Body::from(text(5000))), BR, false, false);
        check(Response::new(Body::from(text(5000))), BR, false, false);
        check(resp("text/plain", Body::from(text(859))), BR, false, true);
        check(
            resp("text/plain", Body::from(text(5000))),
            Negotiated::IDENTITY,
            false,
            true,
        );
        check(resp("text/plain", Body::from(text(5000))), BR, true, true);
        // Statuses and headers that rule it out.
        for status in [204, 304, 206, 101] {
            let mut r = resp("text/plain", Body::from(text(5000)));
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            check(r, BR, false, false);
        }
        for (name, value) in [
            ("content-range", "bytes 0-4999/9999"),
            ("content-encoding", "gzip-already"),
            ("cache-control", "public, No-Transform"),
        ] {
            let mut r = resp("text/plain", Body::from(text(5000)));
            r.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            check(r, BR, false, false);
        }
        check(resp("text/plain", Body::empty()), BR, false, false);
    }

    #[test]
    fn identity_refused_compresses_small_bodies() {
        let m = mw(Default::default());
        let neg = Negotiated {
            coding: Some(Coding::Gzip),
            identity_refused: true,
        };
        let r = m.transform(resp("text/plain", Body::from("tiny")), neg, false);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    }

    #[test]
    fn bodies_that_do_not_shrink_are_sent_as_they_are() {
        let m = mw(ResponseCompressionOptions {
            minimum_size: 0,
            ..Default::default()
        });
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let r = m.transform(resp("text/plain", Body::from(noise.clone())), BR, false);
        assert!(!r.headers().contains_key(CONTENT_ENCODING));
        assert_eq!(r.body().as_bytes(), Some(&noise[..]));
        assert_eq!(r.headers()[VARY], "Accept-Encoding");
    }

    #[test]
    fn vary_is_not_duplicated_and_streams_lose_their_length() {
        let m = mw(Default::default());
        let mut r = resp(
            "application/json",
            Body::from_reader(std::io::Cursor::new(text(100)), Some(100)),
        );
        r.headers_mut()
            .insert(VARY, HeaderValue::from_static("origin, accept-encoding"));
        let neg = Negotiated {
            coding: Some(Coding::Gzip),
            identity_refused: false,
        };
        // Known length below the minimum: untouched.
        let r = m.transform(r, neg, false);
        assert_eq!(r.headers().get_all(VARY).iter().count(), 1);
        assert_eq!(r.body().len(), Some(100));
        let r = resp(
            "application/json",
            Body::from_reader(std::io::Cursor::new(text(100)), None),
        );
        let r = m.transform(r, neg, false);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(r.body().len(), None);
    }
}

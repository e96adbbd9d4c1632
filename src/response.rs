//! Responses a handler returns directly: text, JSON (feature `json`), a bare status, and
//! redirects.
//!
//! ```
//! use falconet::http::StatusCode;
//! use falconet::response::{redirect_permanent, status, text};
//!
//! let ok = text(StatusCode::OK, "hello\n");
//! assert_eq!(ok.headers()["content-type"], "text/plain; charset=utf-8");
//! assert_eq!(status(StatusCode::NO_CONTENT).status(), 204);
//! assert_eq!(redirect_permanent("/new").headers()["location"], "/new");
//! ```

use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::StatusCode;

use crate::body::Body;
use crate::handler::Response;

/// `status` with an empty body.
pub fn status(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

fn with_type(code: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = code;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `status` with a `text/plain; charset=utf-8` body.
pub fn text(status: StatusCode, body: impl Into<Body>) -> Response {
    with_type(status, "text/plain; charset=utf-8", body.into())
}

/// `status` with `value` as an `application/json` body.
#[cfg(feature = "json")]
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    with_type(status, "application/json", Body::from(value.to_string()))
}

fn redirect_with(code: StatusCode, location: &str) -> Response {
    match HeaderValue::try_from(location) {
        Ok(v) => {
            let mut resp = status(code);
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => {
            log::error!("redirect: {location:?} is not a valid Location value");
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// `302 Found` to `location` (a client may turn a POST into a GET). A location that is
/// not a valid header value (control characters) gives 500, logged at error level; the
/// same holds for the other redirects.
pub fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::FOUND, location)
}

/// `303 See Other` to `location`: the answer to a POST whose result is read with a GET.
pub fn see_other(location: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, location)
}

/// `307 Temporary Redirect` to `location` (the method and body are kept).
pub fn redirect_temporary(location: &str) -> Response {
    redirect_with(StatusCode::TEMPORARY_REDIRECT, location)
}

/// `308 Permanent Redirect` to `location` (the method and body are kept).
pub fn redirect_permanent(location: &str) -> Response {
    redirect_with(StatusCode::PERMANENT_REDIRECT, location)
}

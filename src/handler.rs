//! The application's side: [`Handler`].

use crate::body::Body;
use crate::request::Prepare;

/// A request as handlers see it.
pub type Request = http::Request<Body>;
/// A response as handlers produce it.
pub type Response = http::Response<Body>;

/// Turns requests into responses. Shared by all workers, so it is `Send + Sync`; any
/// `Fn(Request) -> Response` closure is one.
///
/// A panic in [`handle`](Handler::handle) becomes a 500 response (or a closed connection
/// if the response had started), logged at error level; the worker lives on.
pub trait Handler: Send + Sync + 'static {
    /// Called with the request head before any body byte is read: change the request's
    /// limits or opt into synchronous I/O here. The default does nothing.
    fn prepare(&self, _req: &mut Prepare<'_>) {}

    /// Answers one request.
    fn handle(&self, req: Request) -> Response;
}

impl<F> Handler for F
where
    F: Fn(Request) -> Response + Send + Sync + 'static,
{
    fn handle(&self, req: Request) -> Response {
        self(req)
    }
}

impl<H: Handler + ?Sized> Handler for std::sync::Arc<H> {
    fn prepare(&self, req: &mut Prepare<'_>) {
        (**self).prepare(req)
    }

    fn handle(&self, req: Request) -> Response {
        (**self).handle(req)
    }
}

//! Response compression with ASP.NET Core's `ResponseCompression` semantics: gzip and
//! brotli, chosen by the request's `Accept-Encoding`, for compressible content types.
//!
//! The options ([`ResponseCompressionOptions`], `Falconet:ResponseCompression`) exist in
//! every build; the encoders need the cargo feature `compression`, which is **not** in the
//! default features (the encoders do not fit the size budget of the default aarch64
//! binary). Enabling compression in a build without the feature is a startup error.
//!
//! With the feature and [`ResponseCompressionOptions::enabled`], the server puts a handler
//! in front of the application's (router, static files and user handlers alike, over
//! HTTP/1.1 and HTTP/2) that, for each response:
//!
//! - leaves it alone for `HEAD` (beyond `Vary`), for statuses without a body (1xx, 204,
//!   304) and 206, and when it has `Content-Range`, `Content-Encoding` (precompressed
//!   static siblings keep winning), `Cache-Control: no-transform`, an empty body, or an
//!   upgrade; over HTTPS it does nothing unless
//!   [`enable_for_https`](ResponseCompressionOptions::enable_for_https) (BREACH);
//! - otherwise, when the `Content-Type` (parameters ignored) is compressible, adds
//!   `Vary: Accept-Encoding` (once, appended to an existing `Vary`) and, when the client
//!   accepts `br` or `gzip` and the body is not known to be smaller than
//!   [`minimum_size`](ResponseCompressionOptions::minimum_size), compresses it: bytes at
//!   once (with the new `Content-Length`, or sent as they were when compressing did not
//!   make them smaller), readers, files and writers as a stream, chunk by chunk, never
//!   buffered whole. `Content-Encoding` is set, `Content-Length`, `Content-MD5` and
//!   `Accept-Ranges` are removed and a strong `ETag` is made weak.

#[cfg(feature = "compression")]
mod encode;
#[cfg(feature = "compression")]
pub(crate) mod middleware;
#[cfg(any(feature = "compression", test))]
pub(crate) mod negotiate;

/// How hard the encoders work (ASP.NET's `CompressionLevel`; `Falconet:ResponseCompression:Level`).
///
/// | level | gzip | brotli quality, window |
/// |---|---|---|
/// | `Fastest` (default) | 1 | 1, 256 KiB |
/// | `Optimal` | 6 | 4, 1 MiB |
/// | `SmallestSize` | 9 | 9, 4 MiB |
///
/// Brotli's qualities 10 and 11 are left out on purpose: they are one to two orders of
/// magnitude slower than 9 for a few per cent, too slow for responses compressed while
/// they are sent on a small board (precompress static files with them instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CompressionLevel {
    /// As fast as possible, still a good ratio for text (the default, as ASP.NET's).
    #[default]
    Fastest,
    /// A balance of speed and size (gzip's default level, brotli's default quality 4 as
    /// in .NET).
    Optimal,
    /// The smallest output falconet will spend CPU on while sending.
    SmallestSize,
}

/// The content types compressed by default: ASP.NET Core's
/// `ResponseCompressionDefaults.MimeTypes` plus `image/svg+xml`.
pub const DEFAULT_MIME_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "application/javascript",
    "text/javascript",
    "text/html",
    "application/xml",
    "text/xml",
    "application/json",
    "text/json",
    "application/wasm",
    "image/svg+xml",
];

/// Response compression (ASP.NET Core's `ResponseCompressionOptions`; configuration section
/// `Falconet:ResponseCompression`). Needs the `compression` cargo feature to be enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCompressionOptions {
    /// Whether responses are compressed (`Enabled`). Default: `false`, in the library and
    /// the binary. `true` in a build without the `compression` feature is a startup error.
    pub enabled: bool,
    /// Compress responses to HTTPS requests too (`EnableForHttps`). Default: `false`, as in
    /// ASP.NET: compressing secrets next to attacker-controlled text over TLS exposes
    /// them to BREACH-style attacks. The scheme is [`crate::RequestExt::scheme`]'s
    /// (a trusted proxy's `X-Forwarded-Proto` counts).
    pub enable_for_https: bool,
    /// Compressible media types (`MimeTypes`), `type/subtype` or `type/*`, matched without
    /// parameters and case. Default: [`DEFAULT_MIME_TYPES`]. A list replaces the default;
    /// an empty list means the default, as in ASP.NET.
    pub mime_types: Vec<String>,
    /// Media types never compressed (`ExcludedMimeTypes`), same forms; an exact entry of
    /// either list beats a `type/*` entry, and at the same precision exclusion wins.
    /// Default: empty.
    pub excluded_mime_types: Vec<String>,
    /// Bodies whose length is known and smaller than this many bytes are sent as they are
    /// (`MinimumSize`; falconet's, ASP.NET has none). Default: 860 bytes: below it the
    /// response fits one TCP segment with its head either way, so compressing saves no
    /// packet and costs an encoder (gzip's framing alone is 18 bytes). Bodies of unknown
    /// length (streams) are always compressed.
    pub minimum_size: u64,
    /// Encoder effort (`Level`). Default: [`CompressionLevel::Fastest`].
    pub level: CompressionLevel,
}

impl Default for ResponseCompressionOptions {
    fn default() -> Self {
        ResponseCompressionOptions {
            enabled: false,
            enable_for_https: false,
            mime_types: DEFAULT_MIME_TYPES.iter().map(|s| s.to_string()).collect(),
            excluded_mime_types: Vec::new(),
            minimum_size: 860,
            level: CompressionLevel::Fastest,
        }
    }
}

impl ResponseCompressionOptions {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.enabled && !cfg!(feature = "compression") {
            return Err(
                "Falconet.ResponseCompression.Enabled is true, but this falconet was \
                        built without response compression: build it with the `compression` \
                        cargo feature (cargo build --features compression), or set Enabled \
                        to false"
                    .into(),
            );
        }
        for (list, name) in [
            (&self.mime_types, "MimeTypes"),
            (&self.excluded_mime_types, "ExcludedMimeTypes"),
        ] {
            for m in list {
                valid_media_type(m).map_err(|why| {
                    format!(
                        "Falconet.ResponseCompression.{name}: '{m}' is not a media type ({why})"
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// Checks one `MimeTypes` entry: `type/subtype` or `type/*`, no parameters.
pub(crate) fn valid_media_type(m: &str) -> Result<(), &'static str> {
    let m = m.trim();
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    match m.split_once('/') {
        _ if m.contains(';') => Err("expected no parameters, e.g. text/html"),
        Some((t, s)) if !t.is_empty() && !s.is_empty() && t != "*" => {
            if t.chars().all(tchar) && s.chars().all(tchar) && (s == "*" || !s.contains('*')) {
                Ok(())
            } else {
                Err("expected type/subtype or type/*, e.g. text/html")
            }
        }
        _ => Err("expected type/subtype or type/*, e.g. text/html"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = ResponseCompressionOptions::default();
        assert!(!o.enabled && !o.enable_for_https);
        assert_eq!(o.minimum_size, 860);
        assert_eq!(o.level, CompressionLevel::Fastest);
        assert!(o.mime_types.iter().any(|m| m == "image/svg+xml"));
        assert!(o.validate().is_ok());
    }

    #[test]
    fn media_type_entries_are_checked() {
        for ok in [
            "text/html",
            "text/*",
            "image/svg+xml",
            " application/vnd.api+json ",
        ] {
            assert!(valid_media_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "text",
            "*/*",
            "/html",
            "text/",
            "text/html; charset=utf-8",
            "te xt/html",
            "text/h*",
        ] {
            assert!(valid_media_type(bad).is_err(), "{bad}");
        }
        let o = ResponseCompressionOptions {
            excluded_mime_types: vec!["nonsense".into()],
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .contains("ExcludedMimeTypes: 'nonsense'"));
    }

    #[test]
    fn enabling_without_the_feature_is_an_error() {
        let o = ResponseCompressionOptions {
            enabled: true,
            ..Default::default()
        };
        let r = o.validate();
        assert_eq!(r.is_ok(), cfg!(feature = "compression"), "{r:?}");
        if let Err(e) = r {
            assert!(e.contains("`compression` cargo feature"), "{e}");
        }
    }
}

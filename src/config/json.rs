//! The JSON configuration loader; the schema and its rules are documented on
//! [`crate::config`].

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::forwarded::{parse_network, ForwardedHeadersOptions};
use crate::limits::{Limits, MinDataRate};
use crate::options::{ListenAddress, Protocols, Scheme, ServerOptions};
use crate::Error;

type Object = Map<String, Value>;

/// Applies a JSON configuration document (Kestrel's `appsettings.json` schema, see the
/// [module documentation](crate::config)) on top of `options` and returns warnings for keys that are
/// unknown or have no effect in this build; the caller logs them.
///
/// Endpoints from `Kestrel:Endpoints` are appended to [`ServerOptions::endpoints`] (or update
/// a same-named one); the top-level `Urls` replaces [`ServerOptions::urls`]. On error
/// `options` is left unchanged. After applying, the options are checked with
/// [`ServerOptions::validate`].
///
/// # Errors
///
/// A configuration error ([`Error::is_config`]) for malformed JSON (with line and column),
/// a value of the wrong type or out of range (naming the key path, e.g.
/// `Kestrel:Limits:KeepAliveTimeout`, and the value), an invalid endpoint URL, an endpoint
/// without `Url`, certificate settings on an `http` endpoint, keys repeated with different
/// casing, or options that fail validation.
pub fn apply_json(options: &mut ServerOptions, json: &str) -> Result<Vec<String>, Error> {
    apply_document(options, &parse_document(json)?)
}

/// Parses a configuration document (comments and trailing commas allowed) into its
/// top-level object.
pub(crate) fn parse_document(json: &str) -> Result<Object, Error> {
    let cleaned = strip_comments_and_trailing_commas(json)?;
    let doc: Value = serde_json::from_str(&cleaned)
        .map_err(|e| Error::config(format!("Invalid JSON configuration: {e}")))?;
    let Value::Object(root) = doc else {
        return Err(Error::config(
            "Invalid JSON configuration: the document must be a JSON object ({ ... })",
        ));
    };
    Ok(root)
}

/// [`apply_json`] on a parsed document.
pub(crate) fn apply_document(
    options: &mut ServerOptions,
    root: &Object,
) -> Result<Vec<String>, Error> {
    // Keys repeated with different casing are refused anywhere in the server's sections,
    // in keys this loader does not know too, as .NET's JSON configuration provider refuses
    // them anywhere in the file (and as the layers do for the files they merge).
    check_duplicates_deep(root)?;
    let mut new = options.clone();
    let mut warnings = Vec::new();
    apply_root(&mut new, root, &mut warnings)?;
    new.validate()?;
    *options = new;
    Ok(warnings)
}

/// The top-level sections this loader reads (lowercase); others belong to the application
/// and are ignored silently.
pub(crate) const SECTIONS: [&str; 4] = ["kestrel", "falconet", "allowedhosts", "urls"];

/// Refuses keys given twice with different casing in one object anywhere inside the
/// sections this loader reads (as [`apply_json`] does, for documents that are merged
/// before they are applied).
pub(crate) fn check_duplicates_deep(root: &Object) -> Result<(), Error> {
    fn walk(v: &Value, path: &str) -> Result<(), Error> {
        match v {
            Value::Object(m) => {
                check_duplicates(m, path)?;
                for (k, c) in m {
                    walk(c, &format!("{path}:{k}"))?;
                }
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate() {
                    walk(c, &format!("{path}:{i}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
    let relevant = server_sections(root)?;
    for (k, v) in &relevant {
        walk(v, k)?;
    }
    Ok(())
}

/// The sections of `root` that configure the server (the application's own are left
/// alone), with duplicate keys refused.
fn server_sections(root: &Object) -> Result<Object, Error> {
    // Inserted one by one: collecting would sort (a stable sort instantiated for this).
    let mut relevant = Object::new();
    for (k, v) in root {
        if SECTIONS.contains(&k.to_ascii_lowercase().as_str()) {
            relevant.insert(k.clone(), v.clone());
        }
    }
    check_duplicates(&relevant, "")?;
    Ok(relevant)
}

fn apply_root(
    options: &mut ServerOptions,
    root: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    let relevant = server_sections(root)?;
    for (key, v) in &relevant {
        match key.to_ascii_lowercase().as_str() {
            "kestrel" => {
                if let Some(m) = object(v, "Kestrel")? {
                    apply_kestrel(options, m, w)?;
                }
            }
            "falconet" => {
                if let Some(m) = object(v, "Falconet")? {
                    apply_falconet(options, m, w)?;
                }
            }
            "allowedhosts" => {
                if let Some(hosts) = string_list(v, "AllowedHosts")? {
                    // "*" anywhere allows any host, as ASP.NET's host filtering does.
                    options.allowed_hosts = if hosts.iter().any(|h| h == "*") {
                        Vec::new()
                    } else {
                        hosts
                    };
                }
            }
            "urls" => {
                if let Some(urls) = string_list(v, "Urls")? {
                    options.urls = urls;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn apply_kestrel(
    options: &mut ServerOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    check_duplicates(map, "Kestrel")?;
    let mut endpoints = None;
    let mut defaults: Option<Protocols> = None;
    for (key, v) in map {
        match key.to_ascii_lowercase().as_str() {
            "addserverheader" => {
                if let Some(b) = boolean(v, "Kestrel:AddServerHeader")? {
                    options.add_server_header = b;
                }
            }
            "allowsynchronousio" => {
                if let Some(b) = boolean(v, "Kestrel:AllowSynchronousIO")? {
                    options.allow_synchronous_io = b;
                }
            }
            "limits" => {
                if let Some(m) = object(v, "Kestrel:Limits")? {
                    apply_limits(&mut options.limits, m, w)?;
                }
            }
            "endpoints" => endpoints = object(v, "Kestrel:Endpoints")?,
            "endpointdefaults" => {
                if let Some(m) = object(v, "Kestrel:EndpointDefaults")? {
                    defaults = endpoint_defaults(options, m, w)?;
                }
            }
            #[cfg(feature = "tls")]
            "certificates" => {
                if let Some(m) = object(v, "Kestrel:Certificates")? {
                    super::https_json::certificates(m, &mut options.default_certificate, w)?;
                }
            }
            #[cfg(not(feature = "tls"))]
            "certificates" => no_effect(
                v,
                "Kestrel:Certificates",
                "has no effect: this build has no TLS support",
                w,
            ),
            "allowalternateschemes" => no_effect(
                v,
                "Kestrel:AllowAlternateSchemes",
                "has no effect in this build",
                w,
            ),
            "disablestringreuse" => no_effect(
                v,
                "Kestrel:DisableStringReuse",
                "has no effect in this build",
                w,
            ),
            "allowresponseheadercompression" => {
                if let Some(b) = boolean(v, "Kestrel:AllowResponseHeaderCompression")? {
                    options.allow_response_header_compression = b;
                }
            }
            "allowhostheaderoverride" => no_effect(
                v,
                "Kestrel:AllowHostHeaderOverride",
                "has no effect in this build",
                w,
            ),
            _ => w.push(unknown("Kestrel", key)),
        }
    }
    let mut applied = 0;
    if let Some(eps) = endpoints {
        check_duplicates(eps, "Kestrel:Endpoints")?;
        for (name, v) in eps {
            apply_endpoint(options, name, v, defaults, w)?;
            applied += 1;
        }
    }
    if applied == 0 && defaults.is_some() {
        w.push(
            "Kestrel:EndpointDefaults:Protocols applies only to endpoints defined in the same \
             file's Kestrel:Endpoints in this build; other endpoints and URLs keep their own \
             protocols"
                .to_string(),
        );
    }
    Ok(())
}

fn apply_limits(limits: &mut Limits, map: &Object, w: &mut Vec<String>) -> Result<(), Error> {
    const P: &str = "Kestrel:Limits";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "maxconcurrentconnections" => {
                limits.max_concurrent_connections =
                    nullable_whole(v, &path("MaxConcurrentConnections"))?;
            }
            "maxconcurrentupgradedconnections" => {
                limits.max_concurrent_upgraded_connections =
                    nullable_whole(v, &path("MaxConcurrentUpgradedConnections"))?;
            }
            "maxrequestbodysize" => {
                limits.max_request_body_size = nullable_whole(v, &path("MaxRequestBodySize"))?;
            }
            "maxrequestbuffersize" => {
                let p = path("MaxRequestBufferSize");
                limits.max_request_buffer_size = nullable_whole(v, &p)?
                    .map(|n| to_usize(n, v, &p))
                    .transpose()?;
            }
            "maxresponsebuffersize" => {
                let p = path("MaxResponseBufferSize");
                limits.max_response_buffer_size = nullable_whole(v, &p)?
                    .map(|n| to_usize(n, v, &p))
                    .transpose()?;
            }
            "maxrequestlinesize" => {
                if let Some(n) = size(v, &path("MaxRequestLineSize"))? {
                    limits.max_request_line_size = n;
                }
            }
            "maxrequestheaderstotalsize" => {
                if let Some(n) = size(v, &path("MaxRequestHeadersTotalSize"))? {
                    limits.max_request_headers_total_size = n;
                }
            }
            "maxrequestheadercount" => {
                if let Some(n) = size(v, &path("MaxRequestHeaderCount"))? {
                    limits.max_request_header_count = n;
                }
            }
            "keepalivetimeout" => {
                if let Some(d) = duration(v, &path("KeepAliveTimeout"))? {
                    limits.keep_alive_timeout = d;
                }
            }
            "requestheaderstimeout" => {
                if let Some(d) = duration(v, &path("RequestHeadersTimeout"))? {
                    limits.request_headers_timeout = d;
                }
            }
            "minrequestbodydatarate" => {
                limits.min_request_body_data_rate = data_rate(
                    v,
                    &path("MinRequestBodyDataRate"),
                    limits.min_request_body_data_rate,
                    w,
                )?;
            }
            "minresponsedatarate" => {
                limits.min_response_data_rate = data_rate(
                    v,
                    &path("MinResponseDataRate"),
                    limits.min_response_data_rate,
                    w,
                )?;
            }
            "http2" => {
                if let Some(m) = object(v, &path("Http2"))? {
                    apply_http2_limits(&mut limits.http2, m, w)?;
                    #[cfg(not(feature = "http2"))]
                    no_effect_children(
                        v,
                        &path("Http2"),
                        "has no effect in this build (built without the http2 feature)",
                        w,
                    );
                }
            }
            "http3" => no_effect_children(
                v,
                &path("Http3"),
                "has no effect in this build (HTTP/3 is not supported)",
                w,
            ),
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Kestrel:Limits:Http2`, Kestrel's `Http2Limits`. Ranges are checked by
/// `Limits::validate` afterwards, with Kestrel's messages; here only the types (and that a
/// number fits the 32-bit setting).
fn apply_http2_limits(
    h2: &mut crate::limits::Http2Limits,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Kestrel:Limits:Http2";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        let setting = |canonical: &str| -> Result<Option<u32>, Error> {
            let p = path(canonical);
            whole(v, &p, false)?
                .map(|n| u32::try_from(n).map_err(|_| bad(v, &p, "the number is too large")))
                .transpose()
        };
        match key.to_ascii_lowercase().as_str() {
            "maxstreamsperconnection" => {
                if let Some(n) = setting("MaxStreamsPerConnection")? {
                    h2.max_streams_per_connection = n;
                }
            }
            "headertablesize" => {
                if let Some(n) = setting("HeaderTableSize")? {
                    h2.header_table_size = n;
                }
            }
            "maxframesize" => {
                if let Some(n) = setting("MaxFrameSize")? {
                    h2.max_frame_size = n;
                }
            }
            "maxrequestheaderfieldsize" => {
                if let Some(n) = setting("MaxRequestHeaderFieldSize")? {
                    h2.max_request_header_field_size = n;
                }
            }
            "initialconnectionwindowsize" => {
                if let Some(n) = setting("InitialConnectionWindowSize")? {
                    h2.initial_connection_window_size = n;
                }
            }
            "initialstreamwindowsize" => {
                if let Some(n) = setting("InitialStreamWindowSize")? {
                    h2.initial_stream_window_size = n;
                }
            }
            // null (or "") turns the keep-alive PING off, as TimeSpan.MaxValue does in
            // Kestrel; so does a span of 10,000 days or more (.NET's MaxValue, 10675199
            // days, written out).
            "keepalivepingdelay" => {
                h2.keep_alive_ping_delay = duration(v, &path("KeepAlivePingDelay"))?
                    .filter(|d| *d < Duration::from_secs(10_000 * 86_400));
            }
            "keepalivepingtimeout" => {
                if let Some(d) = duration(v, &path("KeepAlivePingTimeout"))? {
                    h2.keep_alive_ping_timeout = d;
                }
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `null` (or `""`) disables the rate; an object sets the fields it names, the others keep
/// the current value (or Kestrel's default, 240 B/s after 5 s).
fn data_rate(
    v: &Value,
    path: &str,
    current: Option<MinDataRate>,
    w: &mut Vec<String>,
) -> Result<Option<MinDataRate>, Error> {
    let map = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::Object(m) => m,
        _ => {
            return Err(bad(
                v,
                path,
                r#"expected an object like {"BytesPerSecond": 240, "GracePeriod": "00:00:05"}, or null"#,
            ))
        }
    };
    check_duplicates(map, path)?;
    let mut rate = current.unwrap_or(MinDataRate::DEFAULT);
    for (key, v) in map {
        match key.to_ascii_lowercase().as_str() {
            "bytespersecond" => {
                if let Some(n) = whole(v, &format!("{path}:BytesPerSecond"), false)? {
                    rate.bytes_per_second = n;
                }
            }
            "graceperiod" => {
                if let Some(d) = duration(v, &format!("{path}:GracePeriod"))? {
                    rate.grace_period = d;
                }
            }
            _ => w.push(unknown(path, key)),
        }
    }
    Ok(Some(rate))
}

/// `Kestrel:EndpointDefaults`: `Protocols` (returned: it applies to this file's endpoints)
/// and the HTTPS keys, which go to [`ServerOptions::https_defaults`] and so apply to every
/// HTTPS endpoint.
fn endpoint_defaults(
    options: &mut ServerOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<Option<Protocols>, Error> {
    const P: &str = "Kestrel:EndpointDefaults";
    check_duplicates(map, P)?;
    let _ = &options;
    let mut protocols_value = None;
    for (key, v) in map {
        match key.to_ascii_lowercase().as_str() {
            "protocols" => protocols_value = protocols(v, &format!("{P}:Protocols"), w)?,
            #[cfg(feature = "tls")]
            "sslprotocols"
            | "clientcertificatemode"
            | "clientcertificateca"
            | "handshaketimeout" => {
                super::https_json::endpoint_key(&mut options.https_defaults, key, v, P, w)?;
            }
            #[cfg(not(feature = "tls"))]
            "sslprotocols" | "clientcertificatemode" => no_effect(
                v,
                &format!("{P}:{key}"),
                "has no effect: this build has no TLS support",
                w,
            ),
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(protocols_value)
}

fn apply_endpoint(
    options: &mut ServerOptions,
    name: &str,
    v: &Value,
    default_protocols: Option<Protocols>,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    let p = format!("Kestrel:Endpoints:{name}");
    let empty = Object::new();
    let map = match v {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => {
            return Err(bad(
                v,
                &p,
                r#"expected an object like {"Url": "http://localhost:5000"}"#,
            ))
        }
    };
    check_duplicates(map, &p)?;

    let mut url = None;
    let mut protocols_value = None;
    let mut connection_logging = None;
    let mut allow_synchronous_io = None;
    let mut unix_socket_mode = None;
    let mut reuse_port = None;
    let mut has_certificate = false;
    #[cfg(feature = "tls")]
    let mut https = crate::tls::HttpsOptions::default();
    #[cfg(feature = "tls")]
    let mut https_keys = false;
    for (key, v) in map {
        #[cfg(feature = "tls")]
        if super::https_json::endpoint_key(&mut https, key, v, &p, w)? {
            https_keys = true;
            has_certificate |= !is_empty_value(v);
            continue;
        }
        match key.to_ascii_lowercase().as_str() {
            "url" => url = string(v, &format!("{p}:Url"))?,
            "protocols" => protocols_value = protocols(v, &format!("{p}:Protocols"), w)?,
            "connectionlogging" => {
                connection_logging = boolean(v, &format!("{p}:ConnectionLogging"))?
            }
            "allowsynchronousio" => {
                allow_synchronous_io = boolean(v, &format!("{p}:AllowSynchronousIO"))?;
            }
            "unixsocketmode" => unix_socket_mode = file_mode(v, &format!("{p}:UnixSocketMode"))?,
            "reuseport" => reuse_port = boolean(v, &format!("{p}:ReusePort"))?,
            "certificate" | "sni" | "sslprotocols" | "clientcertificatemode" => {
                has_certificate |= !is_empty_value(v)
            }
            _ => w.push(unknown(&p, key)),
        }
    }

    let parsed = match url {
        Some(u) => {
            Some(super::urls::parse_url(u).map_err(|e| Error::config(format!("{p}:Url: {e}")))?)
        }
        None => None,
    };
    let existing = options.endpoints.iter().position(|e| {
        e.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    let endpoint = match (existing, parsed) {
        (Some(i), parsed) => {
            let e = &mut options.endpoints[i];
            if let Some(parsed) = parsed {
                e.address = parsed.address;
                e.scheme = parsed.scheme;
            }
            if let Some(pr) = protocols_value {
                e.protocols = pr;
            }
            e
        }
        (None, Some(mut e)) => {
            e.name = Some(name.to_string());
            if let Some(pr) = protocols_value.or(default_protocols) {
                e.protocols = pr;
            }
            options.endpoints.push(e);
            let last = options.endpoints.len() - 1;
            &mut options.endpoints[last]
        }
        (None, None) => {
            return Err(Error::config(format!(
                "The endpoint '{name}' is missing the required 'Url' setting ({p}:Url), e.g. \
                 \"Url\": \"http://localhost:5000\""
            )))
        }
    };
    if let Some(b) = connection_logging {
        endpoint.connection_logging = b;
    }
    if let Some(b) = allow_synchronous_io {
        endpoint.allow_synchronous_io = Some(b);
    }
    if let Some(mode) = unix_socket_mode {
        endpoint.unix_socket_mode = Some(mode);
        if matches!(endpoint.address, ListenAddress::Systemd(_)) {
            w.push(format!(
                "Configuration key '{p}:UnixSocketMode' has no effect: systemd creates the \
                 endpoint's socket (set SocketMode= in the socket unit)"
            ));
        } else if !matches!(endpoint.address, ListenAddress::Unix(_)) {
            w.push(format!(
                "Configuration key '{p}:UnixSocketMode' has no effect: the endpoint is not a Unix \
                 socket"
            ));
        }
    }
    if let Some(b) = reuse_port {
        endpoint.reuse_port = b;
        if b {
            match endpoint.address {
                ListenAddress::Unix(_) => w.push(format!(
                    "Configuration key '{p}:ReusePort' has no effect: the endpoint is a Unix socket"
                )),
                ListenAddress::Systemd(_) => w.push(format!(
                    "Configuration key '{p}:ReusePort' has no effect: systemd creates the \
                     endpoint's socket (set ReusePort= in the socket unit)"
                )),
                _ => {}
            }
        }
    }
    if has_certificate && endpoint.scheme == Scheme::Http {
        return Err(Error::config(format!(
            "The endpoint '{name}' is http but has HTTPS settings ({p}:Certificate, Sni, \
             SslProtocols or ClientCertificateMode); remove them or use an https:// Url"
        )));
    }
    #[cfg(feature = "tls")]
    if https_keys {
        endpoint.https = https;
    }
    Ok(())
}

fn apply_falconet(
    options: &mut ServerOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Falconet";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "workers" => {
                if let Some(n) = size(v, &path("Workers"))? {
                    options.workers = n;
                }
            }
            "eventloops" => {
                if let Some(n) = size(v, &path("EventLoops"))? {
                    options.event_loops = Some(n);
                }
            }
            "queuecapacity" => {
                if let Some(n) = size(v, &path("QueueCapacity"))? {
                    options.queue_capacity = n;
                }
            }
            "workerstacksize" => {
                if let Some(n) = size(v, &path("WorkerStackSize"))? {
                    options.worker_stack_size = n;
                }
            }
            "listenbacklog" => {
                let p = path("ListenBacklog");
                if let Some(n) = whole(v, &p, false)? {
                    options.listen_backlog = i32::try_from(n)
                        .ok()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            bad(
                                v,
                                &p,
                                &format!("expected a whole number up to {}", i32::MAX),
                            )
                        })?;
                }
            }
            "allowbarelinefeed" => {
                if let Some(b) = boolean(v, &path("AllowBareLineFeed"))? {
                    options.allow_bare_lf = b;
                }
            }
            "requestbodydraintimeout" => {
                if let Some(d) = duration(v, &path("RequestBodyDrainTimeout"))? {
                    options.request_body_drain_timeout = d;
                }
            }
            "shutdowntimeout" => {
                if let Some(d) = duration(v, &path("ShutdownTimeout"))? {
                    options.shutdown_timeout = d;
                }
            }
            "forwardedheaders" => {
                if let Some(m) = object(v, &path("ForwardedHeaders"))? {
                    apply_forwarded_headers(&mut options.forwarded_headers, m, w)?;
                }
            }
            "status" => {
                if let Some(m) = object(v, &path("Status"))? {
                    apply_status(&mut options.status, m, w)?;
                }
            }
            "httpsredirection" => {
                if let Some(m) = object(v, &path("HttpsRedirection"))? {
                    apply_https_redirection(&mut options.https_redirection, m, w)?;
                }
            }
            "hsts" => {
                if let Some(m) = object(v, &path("Hsts"))? {
                    apply_hsts(&mut options.hsts, m, w)?;
                }
            }
            "accesslog" => {
                if let Some(m) = object(v, &path("AccessLog"))? {
                    apply_access_log(&mut options.access_log, m, w)?;
                }
            }
            "responsecompression" => {
                if let Some(m) = object(v, &path("ResponseCompression"))? {
                    apply_response_compression(&mut options.response_compression, m, w)?;
                }
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Falconet:ResponseCompression`: `Enabled`, `EnableForHttps`, `MimeTypes` and
/// `ExcludedMimeTypes` (arrays or `;`-separated strings of `type/subtype` or `type/*`;
/// a list replaces the default), `MinimumSize` (bytes), `Level` (`Fastest`, `Optimal`,
/// `SmallestSize`). `Enabled: true` without the `compression` feature fails at startup
/// (`ServerOptions::validate`).
fn apply_response_compression(
    c: &mut crate::ResponseCompressionOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Falconet:ResponseCompression";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "enabled" => {
                if let Some(b) = boolean(v, &path("Enabled"))? {
                    c.enabled = b;
                }
            }
            "enableforhttps" => {
                if let Some(b) = boolean(v, &path("EnableForHttps"))? {
                    c.enable_for_https = b;
                }
            }
            "mimetypes" | "excludedmimetypes" => {
                let (p, list) = if key.eq_ignore_ascii_case("mimetypes") {
                    (path("MimeTypes"), &mut c.mime_types)
                } else {
                    (path("ExcludedMimeTypes"), &mut c.excluded_mime_types)
                };
                let expected = r#"expected media types like ["text/html", "image/*"]"#;
                if let Some(items) = item_list(v, &p, expected)? {
                    let mut out = Vec::with_capacity(items.len());
                    for (item, t) in items {
                        if let Err(why) = crate::compression::valid_media_type(t) {
                            return Err(bad(item, &p, why));
                        }
                        out.push(t.to_string());
                    }
                    *list = out;
                }
            }
            "minimumsize" => {
                if let Some(n) = whole(v, &path("MinimumSize"), false)? {
                    c.minimum_size = n;
                }
            }
            "level" => {
                let p = path("Level");
                if let Some(s) = string(v, &p)? {
                    c.level = match s.trim().to_ascii_lowercase().as_str() {
                        "fastest" => crate::CompressionLevel::Fastest,
                        "optimal" => crate::CompressionLevel::Optimal,
                        "smallestsize" => crate::CompressionLevel::SmallestSize,
                        _ => return Err(bad(v, &p, "expected Fastest, Optimal or SmallestSize")),
                    };
                }
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Falconet:HttpsRedirection`: `Enabled`, `RedirectStatusCode` (301, 302, 307, 308),
/// `HttpsPort` (null: the HTTPS endpoint's).
fn apply_https_redirection(
    r: &mut crate::HttpsRedirectionOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Falconet:HttpsRedirection";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "enabled" => r.enabled = boolean(v, &path("Enabled"))?.or(r.enabled),
            "redirectstatuscode" => {
                let p = path("RedirectStatusCode");
                if let Some(n) = whole(v, &p, false)? {
                    r.redirect_status_code = match n {
                        301 | 302 | 307 | 308 => n as u16,
                        _ => return Err(bad(v, &p, "expected 301, 302, 307 or 308")),
                    };
                }
            }
            "httpsport" => {
                let p = path("HttpsPort");
                r.https_port = match whole(v, &p, true)? {
                    None => None,
                    Some(n) => Some(
                        u16::try_from(n)
                            .ok()
                            .filter(|&n| n > 0)
                            .ok_or_else(|| bad(v, &p, "expected a port from 1 to 65535"))?,
                    ),
                };
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Falconet:Hsts`: `Enabled`, `MaxAge` (TimeSpan or seconds), `IncludeSubDomains`,
/// `Preload`, `ExcludedHosts` (replaces the default list; an empty one clears it).
fn apply_hsts(h: &mut crate::HstsOptions, map: &Object, w: &mut Vec<String>) -> Result<(), Error> {
    const P: &str = "Falconet:Hsts";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "enabled" => h.enabled = boolean(v, &path("Enabled"))?.or(h.enabled),
            "maxage" => {
                if let Some(d) = duration(v, &path("MaxAge"))? {
                    h.max_age = d;
                }
            }
            "includesubdomains" => {
                if let Some(b) = boolean(v, &path("IncludeSubDomains"))? {
                    h.include_subdomains = b;
                }
            }
            "preload" => {
                if let Some(b) = boolean(v, &path("Preload"))? {
                    h.preload = b;
                }
            }
            "excludedhosts" => {
                let p = path("ExcludedHosts");
                if let Some(items) = item_list(v, &p, r#"expected host names like ["localhost"]"#)?
                {
                    h.excluded_hosts = items
                        .into_iter()
                        .map(|(_, t)| t.trim().to_string())
                        .collect();
                }
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Falconet:AccessLog`: `Destination` (`Off`, `Stderr`, `File`), `Path` (the file;
/// alone it means `File`), `Format` (`Common`, `Combined`, `Json`), `QueueSize`.
fn apply_access_log(
    a: &mut crate::AccessLogOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    use crate::{AccessLogDestination as D, AccessLogFormat as F};
    const P: &str = "Falconet:AccessLog";
    check_duplicates(map, P)?;
    let mut kind: Option<&str> = None;
    let mut file = match &a.destination {
        D::File(p) => Some(p.clone()),
        _ => None,
    };
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "destination" => {
                let p = path("Destination");
                if let Some(s) = string(v, &p)? {
                    kind = Some(match s.trim().to_ascii_lowercase().as_str() {
                        "off" | "none" => "off",
                        "stderr" => "stderr",
                        "file" => "file",
                        _ => return Err(bad(v, &p, "expected Off, Stderr or File")),
                    });
                }
            }
            "path" => {
                file = string(v, &path("Path"))?
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(std::path::PathBuf::from);
            }
            "format" => {
                let p = path("Format");
                if let Some(s) = string(v, &p)? {
                    a.format = match s.trim().to_ascii_lowercase().as_str() {
                        "common" => F::Common,
                        "combined" => F::Combined,
                        "json" => F::Json,
                        _ => return Err(bad(v, &p, "expected Common, Combined or Json")),
                    };
                }
            }
            "queuesize" => {
                let p = path("QueueSize");
                if let Some(n) = size(v, &p)? {
                    if n == 0 {
                        return Err(bad(v, &p, "expected at least 1"));
                    }
                    a.queue_capacity = n;
                }
            }
            _ => w.push(unknown(P, key)),
        }
    }
    let path_given = map.iter().any(|(k, _)| k.eq_ignore_ascii_case("path"));
    a.destination = match (kind, file) {
        (Some("off"), _) => D::Off,
        (Some("stderr"), _) => D::Stderr,
        (Some(_), Some(f)) => D::File(f),
        (Some(_), None) => {
            return Err(Error::config(format!(
                "{P}:Destination is File but {P}:Path names no file"
            )))
        }
        (None, Some(f)) if path_given => D::File(f),
        (None, _) => a.destination.clone(),
    };
    Ok(())
}

/// `Falconet:Status`: `Path` (e.g. "/status"; empty or absent: off) and `Endpoint` (the
/// endpoint name or URL it is served on; absent: every endpoint).
fn apply_status(
    status: &mut crate::status::StatusOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Falconet:Status";
    check_duplicates(map, P)?;
    for (key, v) in map {
        match key.to_ascii_lowercase().as_str() {
            "path" => {
                let p = format!("{P}:Path");
                status.path = match string(v, &p)?.map(str::trim) {
                    None | Some("") => None,
                    Some(s) if s.starts_with('/') => Some(s.to_string()),
                    Some(_) => return Err(bad(v, &p, "expected a path starting with '/'")),
                };
            }
            "endpoint" => {
                status.endpoint = string(v, &format!("{P}:Endpoint"))?
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            }
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// `Falconet:ForwardedHeaders`: ASP.NET Core's ForwardedHeadersOptions property names.
/// `KnownProxies` and `KnownNetworks` replace the defaults (an empty array clears them);
/// `ForwardLimit: null` means no limit.
fn apply_forwarded_headers(
    fwd: &mut ForwardedHeadersOptions,
    map: &Object,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    const P: &str = "Falconet:ForwardedHeaders";
    check_duplicates(map, P)?;
    for (key, v) in map {
        let path = |canonical: &str| format!("{P}:{canonical}");
        match key.to_ascii_lowercase().as_str() {
            "forwardedheaders" => {
                if let Some((for_, proto)) =
                    forwarded_header_flags(v, &path("ForwardedHeaders"), w)?
                {
                    fwd.forward_for = for_;
                    fwd.forward_proto = proto;
                }
            }
            "knownproxies" => {
                let p = path("KnownProxies");
                if let Some(items) = item_list(v, &p, r#"expected IP addresses like ["10.0.0.1"]"#)?
                {
                    fwd.known_proxies = items
                        .into_iter()
                        .map(|(item, text)| {
                            text.trim().parse::<IpAddr>().map_err(|_| {
                                bad(item, &p, r#"expected an IP address like "10.0.0.1""#)
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
            }
            "knownnetworks" => {
                let p = path("KnownNetworks");
                if let Some(items) = item_list(v, &p, r#"expected networks like ["10.0.0.0/8"]"#)? {
                    fwd.known_networks = items
                        .into_iter()
                        .map(|(item, text)| {
                            parse_network(text).ok_or_else(|| {
                                bad(
                                    item,
                                    &p,
                                    r#"expected a network like "10.0.0.0/8" or "fd00::/8" (prefix at most 32 for IPv4, 128 for IPv6)"#,
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
            }
            "forwardlimit" => {
                let p = path("ForwardLimit");
                fwd.forward_limit = nullable_whole(v, &p)?
                    .map(|n| to_usize(n, v, &p))
                    .transpose()?;
                if fwd.forward_limit == Some(0) {
                    return Err(bad(
                        v,
                        &p,
                        "expected a whole number of at least 1, or null for no limit",
                    ));
                }
            }
            "trustunixsocket" => {
                if let Some(b) = boolean(v, &path("TrustUnixSocket"))? {
                    fwd.trust_unix_socket = b;
                }
            }
            "requireheadersymmetry" => {
                if boolean(v, &path("RequireHeaderSymmetry"))? == Some(true) {
                    w.push(format!(
                        "Configuration key '{P}:RequireHeaderSymmetry' is not supported in this                          build; ignored"
                    ));
                }
            }
            "allowedhosts"
            | "forwardedforheadername"
            | "forwardedprotoheadername"
            | "forwardedhostheadername"
            | "forwardedprefixheadername"
            | "originalforheadername"
            | "originalprotoheadername"
            | "originalhostheadername"
            | "originalprefixheadername" => no_effect(
                v,
                &format!("{P}:{key}"),
                "is not supported in this build (X-Forwarded-For and X-Forwarded-Proto only, \
                 under their standard names); ignored",
                w,
            ),
            _ => w.push(unknown(P, key)),
        }
    }
    Ok(())
}

/// ASP.NET's `ForwardedHeaders` flags: `XForwardedFor`, `XForwardedHost`,
/// `XForwardedProto`, `XForwardedPrefix`, `All`, `None`, as an array of names, a
/// comma-separated string, or the enum's number. Returns (for, proto); Host and Prefix are
/// not supported and only warned about.
fn forwarded_header_flags(
    v: &Value,
    path: &str,
    w: &mut Vec<String>,
) -> Result<Option<(bool, bool)>, Error> {
    const EXPECTED: &str = r#"expected names from XForwardedFor, XForwardedProto, None, All, like ["XForwardedFor", "XForwardedProto"]"#;
    let mut names: Vec<String> = Vec::new();
    match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => names.extend(s.split(',').map(|p| p.trim().to_string())),
        Value::Number(n) if n.is_u64() => names.push(n.to_string()),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => names.extend(s.split(',').map(|p| p.trim().to_string())),
                    Value::Number(n) if n.is_u64() => names.push(n.to_string()),
                    _ => return Err(bad(item, path, EXPECTED)),
                }
            }
        }
        _ => return Err(bad(v, path, EXPECTED)),
    }
    let mut bits = 0u64;
    for name in &names {
        bits |= match name.to_ascii_lowercase().as_str() {
            "none" => 0,
            "xforwardedfor" => 1,
            "xforwardedhost" => 2,
            "xforwardedproto" => 4,
            "xforwardedprefix" => 8,
            "all" => 15,
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                match digits.parse::<u64>() {
                    Ok(n) if n <= 15 => n,
                    _ => return Err(bad(v, path, EXPECTED)),
                }
            }
            _ => return Err(bad(v, path, EXPECTED)),
        };
    }
    if bits & (2 | 8) != 0 {
        w.push(format!(
            "{path}: XForwardedHost and XForwardedPrefix are not supported in this build; only \
             XForwardedFor and XForwardedProto are applied"
        ));
    }
    Ok(Some((bits & 1 != 0, bits & 4 != 0)))
}

/// A list of strings: a JSON array of strings, or one `;`- or `,`-separated string; `null`
/// or `""` for no change (`None`), `[]` for an empty list. Each item comes with the JSON
/// value to show in an error.
fn item_list<'a>(
    v: &'a Value,
    path: &str,
    expected: &str,
) -> Result<Option<Vec<(&'a Value, &'a str)>>, Error> {
    let split = |item: &'a Value, s: &'a str| {
        s.split([';', ','])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(move |t| (item, t))
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(split(v, s).collect())),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.extend(split(item, s)),
                    _ => return Err(bad(item, path, expected)),
                }
            }
            Ok(Some(out))
        }
        _ => Err(bad(v, path, expected)),
    }
}

// ---------------------------------------------------------------------------------------
// Value conversion. Each returns `None` for `null` (and `""`, which .NET treats alike).

/// Shows a value in an error message: a string as is, anything else as JSON; shortened.
fn show(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(77).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

pub(super) fn bad(v: &Value, path: &str, expected: &str) -> Error {
    Error::config(format!(
        "Invalid value '{}' for {path}: {expected}",
        show(v)
    ))
}

pub(super) fn unknown(parent: &str, key: &str) -> String {
    format!("Unknown configuration key '{parent}:{key}' ignored")
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.values().all(is_empty_value),
        Value::Array(a) => a.iter().all(is_empty_value),
        _ => false,
    }
}

/// Warns that `path` has no effect, unless its value is empty.
fn no_effect(v: &Value, path: &str, reason: &str, w: &mut Vec<String>) {
    if !is_empty_value(v) {
        w.push(format!("Configuration key '{path}' {reason}"));
    }
}

/// Warns for each non-empty child key of `path` (or for `path` itself if it is a scalar).
fn no_effect_children(v: &Value, path: &str, reason: &str, w: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                no_effect(c, &format!("{path}:{k}"), reason, w);
            }
        }
        other => no_effect(other, path, reason, w),
    }
}

fn check_duplicates(map: &Object, path: &str) -> Result<(), Error> {
    // Pairwise: a configuration object has a handful of keys, and this keeps a hash map
    // instantiation out of the binary.
    let keys: Vec<&String> = map.keys().collect();
    for (i, key) in keys.iter().enumerate() {
        if let Some(first) = keys[..i].iter().find(|k| k.eq_ignore_ascii_case(key)) {
            let full = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}:{key}")
            };
            return Err(Error::config(format!(
                "Configuration key '{full}' is given twice, as '{first}' and '{key}'; keys are \
                 case-insensitive, so give it once"
            )));
        }
    }
    Ok(())
}

pub(super) fn object<'a>(v: &'a Value, path: &str) -> Result<Option<&'a Object>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(bad(v, path, "expected an object ({ ... })")),
    }
}

pub(super) fn string<'a>(v: &'a Value, path: &str) -> Result<Option<&'a str>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(bad(v, path, "expected a string")),
    }
}

/// A `;`-separated string (or, as an extension, an array of strings), trimmed, empty
/// entries dropped.
fn string_list(v: &Value, path: &str) -> Result<Option<Vec<String>>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(super::split_urls(s))),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.extend(super::split_urls(s)),
                    _ => return Err(bad(v, path, "expected a ';'-separated string")),
                }
            }
            Ok(Some(out))
        }
        _ => Err(bad(v, path, "expected a ';'-separated string")),
    }
}

fn boolean(v: &Value, path: &str) -> Result<Option<bool>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(bad(v, path, "expected true or false")),
    }
}

/// A non-negative integer, as a JSON number or a string of digits.
fn whole(v: &Value, path: &str, nullable: bool) -> Result<Option<u64>, Error> {
    let expected = if nullable {
        "expected a non-negative whole number, or null for no limit"
    } else {
        "expected a non-negative whole number"
    };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| bad(v, path, expected)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(None)
            } else if t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u64>()
                    .map(Some)
                    .map_err(|_| bad(v, path, "the number is too large"))
            } else {
                Err(bad(v, path, expected))
            }
        }
        _ => Err(bad(v, path, expected)),
    }
}

fn nullable_whole(v: &Value, path: &str) -> Result<Option<u64>, Error> {
    whole(v, path, true)
}

fn to_usize(n: u64, v: &Value, path: &str) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| bad(v, path, "the number is too large"))
}

fn size(v: &Value, path: &str) -> Result<Option<usize>, Error> {
    whole(v, path, false)?
        .map(|n| to_usize(n, v, path))
        .transpose()
}

/// Unix permission bits as octal digits: `"0660"`, `"660"` (a JSON number's digits are read
/// as octal too, so `660` means `0o660`).
fn file_mode(v: &Value, path: &str) -> Result<Option<u32>, Error> {
    const EXPECTED: &str = r#"expected octal permission bits like "0660""#;
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(bad(v, path, EXPECTED)),
    };
    if text.is_empty() {
        return Ok(None);
    }
    let digits = text
        .strip_prefix("0o")
        .or_else(|| text.strip_prefix("0O"))
        .unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad(v, path, EXPECTED));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 => Ok(Some(mode)),
        _ => Err(bad(v, path, "permission bits must be at most 7777 (octal)")),
    }
}

/// A .NET TimeSpan string, or a JSON number of seconds.
pub(super) fn duration(v: &Value, path: &str) -> Result<Option<Duration>, Error> {
    const EXPECTED: &str = r#"expected a TimeSpan like "00:02:10""#;
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let secs = n.as_f64().unwrap_or(-1.0);
            if secs.is_finite() && secs >= 0.0 {
                Duration::try_from_secs_f64(secs)
                    .map(Some)
                    .map_err(|_| bad(v, path, EXPECTED))
            } else {
                Err(bad(
                    v,
                    path,
                    r#"expected a TimeSpan like "00:02:10" or a non-negative number of seconds"#,
                ))
            }
        }
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(None);
            }
            if t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    v,
                    path,
                    &format!(
                        "expected a TimeSpan like \"00:02:10\" (.NET would read \"{t}\" as {t} \
                         days; write \"{t}.00:00:00\" for days, or the JSON number {t} for \
                         seconds)"
                    ),
                ));
            }
            parse_timespan(t)
                .map(Some)
                .ok_or_else(|| bad(v, path, EXPECTED))
        }
        _ => Err(bad(v, path, EXPECTED)),
    }
}

/// Parses .NET's `[d.]hh:mm[:ss[.fffffff]]` (and `d:hh:mm:ss[.fffffff]`). Negative spans
/// are refused.
fn parse_timespan(s: &str) -> Option<Duration> {
    fn num(s: &str, max_digits: usize) -> Option<u64> {
        if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (days, hours, minutes, seconds) = match parts.as_slice() {
        [d, h, m, sec] => (Some(*d), *h, *m, Some(*sec)),
        [dh, m, sec] => {
            let (d, h) = split_days(dh);
            (d, h, *m, Some(*sec))
        }
        [dh, m] => {
            let (d, h) = split_days(dh);
            (d, h, *m, None)
        }
        _ => return None,
    };
    let days = match days {
        Some(d) => num(d, 8)?,
        None => 0,
    };
    let hours = num(hours, 2)?;
    let minutes = num(minutes, 2)?;
    let (secs, nanos) = match seconds {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let nanos = match frac {
                Some(f) => {
                    let n = num(f, 7)?;
                    let scale = 10u64.pow(9 - f.len() as u32);
                    u32::try_from(n * scale).ok()?
                }
                None => 0,
            };
            (num(whole, 2)?, nanos)
        }
    };
    if hours > 23 || minutes > 59 || secs > 59 {
        return None;
    }
    let total = days
        .checked_mul(86_400)?
        .checked_add(hours * 3600 + minutes * 60 + secs)?;
    Some(Duration::new(total, nanos))
}

/// Splits `d.hh` into days and hours; `hh` alone has no days.
fn split_days(s: &str) -> (Option<&str>, &str) {
    match s.split_once('.') {
        Some((d, h)) => (Some(d), h),
        None => (None, s),
    }
}

/// Kestrel's `HttpProtocols`: `Http1`, `Http2`, `Http1AndHttp2`, `Http3`,
/// `Http1AndHttp2AndHttp3`, comma-separated combinations or the enum's numbers.
pub(super) fn protocols(
    v: &Value,
    path: &str,
    w: &mut Vec<String>,
) -> Result<Option<Protocols>, Error> {
    const EXPECTED: &str = "expected Http1, Http2 or Http1AndHttp2";
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(bad(v, path, EXPECTED)),
    };
    if text.is_empty() {
        return Ok(None);
    }
    let mut bits = 0u64;
    for part in text.split(',') {
        let part = part.trim();
        bits |= match part.to_ascii_lowercase().as_str() {
            "none" => 0,
            "http1" => 1,
            "http2" => 2,
            "http1andhttp2" => 3,
            "http3" => 4,
            "http1andhttp2andhttp3" => 7,
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                match digits.parse::<u64>() {
                    Ok(n) if n <= 7 => n,
                    _ => return Err(bad(v, path, EXPECTED)),
                }
            }
            _ => return Err(bad(v, path, EXPECTED)),
        };
    }
    let without_h3 = match bits & 3 {
        1 => Protocols::Http1,
        2 => Protocols::Http2,
        3 => Protocols::Http1AndHttp2,
        _ if bits & 4 != 0 => {
            return Err(bad(
                v,
                path,
                "HTTP/3 is not supported in this build; use Http1, Http2 or Http1AndHttp2",
            ))
        }
        _ => return Err(bad(v, path, EXPECTED)),
    };
    if bits & 4 != 0 {
        w.push(format!(
            "{path}: HTTP/3 is not supported in this build; '{text}' is treated as '{without_h3:?}'"
        ));
    }
    Ok(Some(without_h3))
}

/// Replaces `//` and `/* */` comments and trailing commas (before `}` or `]`) outside
/// strings with spaces, keeping line and column numbers, as .NET's JSON provider accepts
/// them (`JsonCommentHandling.Skip`, `AllowTrailingCommas`).
fn strip_comments_and_trailing_commas(json: &str) -> Result<String, Error> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Normal,
        Str,
        StrEscape,
        LineComment,
        BlockComment,
    }
    let src = json.as_bytes();
    let mut out = src.to_vec();
    let mut state = State::Normal;
    let mut pending_comma: Option<usize> = None;
    // The last significant byte outside strings and comments: a comma right after `{`, `[`
    // or another comma is not a trailing comma and is left for the parser to reject.
    let mut last = b'{';
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        match state {
            State::Normal => match b {
                b'"' => {
                    pending_comma = None;
                    last = b'"';
                    state = State::Str;
                }
                b'/' if src.get(i + 1) == Some(&b'/') => {
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                    state = State::LineComment;
                }
                b'/' if src.get(i + 1) == Some(&b'*') => {
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                    state = State::BlockComment;
                }
                b',' => {
                    pending_comma = (!matches!(last, b'{' | b'[' | b',')).then_some(i);
                    last = b',';
                }
                b'}' | b']' => {
                    if let Some(c) = pending_comma.take() {
                        out[c] = b' ';
                    }
                    last = b;
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => {
                    pending_comma = None;
                    last = b;
                }
            },
            State::Str => match b {
                b'\\' => state = State::StrEscape,
                b'"' => state = State::Normal,
                _ => {}
            },
            State::StrEscape => state = State::Str,
            State::LineComment => {
                if b == b'\n' {
                    state = State::Normal;
                } else {
                    out[i] = b' ';
                }
            }
            State::BlockComment => {
                if b == b'*' && src.get(i + 1) == Some(&b'/') {
                    out[i] = b' ';
                    out[i + 1] = b' ';
                    i += 1;
                    state = State::Normal;
                } else if b != b'\n' {
                    out[i] = b' ';
                }
            }
        }
        i += 1;
    }
    if state == State::BlockComment {
        return Err(Error::config(
            "Invalid JSON configuration: a /* comment is not closed",
        ));
    }
    String::from_utf8(out)
        .map_err(|_| Error::config("Invalid JSON configuration: the file is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(json: &str) -> (ServerOptions, Vec<String>) {
        let mut o = ServerOptions::default();
        let w = apply_json(&mut o, json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        (o, w)
    }

    fn apply_err(json: &str) -> String {
        let mut o = ServerOptions::default();
        let before = o.clone();
        let e = apply_json(&mut o, json).expect_err(json);
        assert!(e.is_config());
        assert_eq!(o, before, "options must be unchanged on error");
        e.to_string()
    }

    fn limits(json_limits: &str) -> Limits {
        apply(&format!(r#"{{"Kestrel":{{"Limits":{json_limits}}}}}"#))
            .0
            .limits
    }

    fn limit_err(json_limits: &str) -> String {
        apply_err(&format!(r#"{{"Kestrel":{{"Limits":{json_limits}}}}}"#))
    }

    /// `dotnet new webapi`'s appsettings.json plus a Kestrel section with every limit.
    const WEBAPI: &str = r#"{
  "Logging": {
    "LogLevel": {
      "Default": "Information",
      "Microsoft.AspNetCore": "Warning"
    }
  },
  "AllowedHosts": "*",
  "Kestrel": {
    "AddServerHeader": false,
    "AllowSynchronousIO": true,
    "EndpointDefaults": { "Protocols": "Http1" },
    "Endpoints": {
      "Http": { "Url": "http://localhost:5000" },
      "Public": { "Url": "http://*:8080", "Protocols": "Http1AndHttp2" },
      "Socket": { "Url": "http://unix:/run/app.sock", "UnixSocketMode": "0660",
                  "ConnectionLogging": true, "AllowSynchronousIO": false }
    },
    "Limits": {
      "MaxConcurrentConnections": 1000,
      "MaxConcurrentUpgradedConnections": null,
      "MaxRequestBodySize": 10485760,
      "MaxRequestLineSize": 4096,
      "MaxRequestHeadersTotalSize": 16384,
      "MaxRequestHeaderCount": 50,
      "MaxRequestBufferSize": 524288,
      "MaxResponseBufferSize": 32768,
      "KeepAliveTimeout": "00:01:00",
      "RequestHeadersTimeout": "00:00:15",
      "MinRequestBodyDataRate": { "BytesPerSecond": 100, "GracePeriod": "00:00:10" },
      "MinResponseDataRate": null
    }
  },
  "Falconet": {
    "Workers": 8, "EventLoops": 2, "QueueCapacity": 64, "WorkerStackSize": 131072, "ListenBacklog": 128,
    "AllowBareLineFeed": true, "RequestBodyDrainTimeout": "00:00:02",
    "ShutdownTimeout": "00:01:00"
  }
}"#;

    #[test]
    fn full_appsettings_loads_without_warnings() {
        let (o, w) = apply(WEBAPI);
        assert!(w.is_empty(), "{w:?}");
        assert!(!o.add_server_header);
        assert!(o.allow_synchronous_io);
        assert!(o.allowed_hosts.is_empty());
        let l = &o.limits;
        assert_eq!(l.max_concurrent_connections, Some(1000));
        assert_eq!(l.max_concurrent_upgraded_connections, None);
        assert_eq!(l.max_request_body_size, Some(10_485_760));
        assert_eq!(l.max_request_line_size, 4096);
        assert_eq!(l.max_request_headers_total_size, 16384);
        assert_eq!(l.max_request_header_count, 50);
        assert_eq!(l.max_request_buffer_size, Some(524_288));
        assert_eq!(l.max_response_buffer_size, Some(32768));
        assert_eq!(l.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!(l.request_headers_timeout, Duration::from_secs(15));
        assert_eq!(
            l.min_request_body_data_rate,
            Some(MinDataRate {
                bytes_per_second: 100,
                grace_period: Duration::from_secs(10)
            })
        );
        assert_eq!(l.min_response_data_rate, None);
        assert_eq!(o.workers, 8);
        assert_eq!(o.event_loops, Some(2));
        assert_eq!(o.queue_capacity, 64);
        assert_eq!(o.worker_stack_size, 131_072);
        assert_eq!(o.listen_backlog, 128);
        assert!(o.allow_bare_lf);
        assert_eq!(o.request_body_drain_timeout, Duration::from_secs(2));
        assert_eq!(o.shutdown_timeout, Duration::from_secs(60));

        assert_eq!(o.endpoints.len(), 3);
        let by_name = |n: &str| {
            o.endpoints
                .iter()
                .find(|e| e.name.as_deref() == Some(n))
                .unwrap()
        };
        let http = by_name("Http");
        assert_eq!(http.address, ListenAddress::Localhost(5000));
        assert_eq!(http.protocols, Protocols::Http1, "EndpointDefaults applies");
        let public = by_name("Public");
        assert_eq!(public.address, ListenAddress::Any(8080));
        assert_eq!(public.protocols, Protocols::Http1AndHttp2);
        let socket = by_name("Socket");
        assert_eq!(socket.address, ListenAddress::Unix("/run/app.sock".into()));
        assert_eq!(socket.unix_socket_mode, Some(0o660));
        assert!(socket.connection_logging);
        assert_eq!(socket.allow_synchronous_io, Some(false));
        assert!(!http.connection_logging);
        assert_eq!(http.allow_synchronous_io, None);
    }

    #[test]
    fn plain_webapi_template_changes_nothing() {
        let (o, w) = apply(
            r#"{
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning" } },
  "AllowedHosts": "*"
}"#,
        );
        assert!(w.is_empty());
        assert_eq!(o, ServerOptions::default());
        let (o, w) = apply("{}");
        assert!(w.is_empty());
        assert_eq!(o, ServerOptions::default());
    }

    #[test]
    fn keys_are_case_insensitive() {
        let (o, w) = apply(
            r#"{"kestrel": {"addserverheader": "False", "LIMITS": {"maxrequestlinesize": "1024",
               "keepALIVEtimeout": "00:00:10", "minrequestbodydatarate": {"bytespersecond": 1,
               "graceperiod": 3}}, "endpoints": {"a": {"url": "HTTP://LOCALHOST:1",
               "PROTOCOLS": "http2"}}}, "FALCONET": {"workers": "3"}, "allowedhosts": "x.org",
               "urls": "http://*:1"}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(!o.add_server_header);
        assert_eq!(o.limits.max_request_line_size, 1024);
        assert_eq!(o.limits.keep_alive_timeout, Duration::from_secs(10));
        assert_eq!(
            o.limits.min_request_body_data_rate,
            Some(MinDataRate {
                bytes_per_second: 1,
                grace_period: Duration::from_secs(3)
            })
        );
        assert_eq!(o.endpoints[0].address, ListenAddress::Localhost(1));
        assert_eq!(o.endpoints[0].protocols, Protocols::Http2);
        assert_eq!(o.workers, 3);
        assert_eq!(o.allowed_hosts, vec!["x.org"]);
        assert_eq!(o.urls, vec!["http://*:1"]);
    }

    #[test]
    fn https_redirection_and_hsts() {
        let (o, w) = apply(
            r#"{"Falconet": {
                "HttpsRedirection": {"Enabled": true, "RedirectStatusCode": 308, "HttpsPort": 8443},
                "Hsts": {"Enabled": "true", "MaxAge": "365.00:00:00", "IncludeSubDomains": true,
                         "Preload": true, "ExcludedHosts": ["dev.local", "LOCALHOST"]}
            }}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.https_redirection.enabled, Some(true));
        assert_eq!(o.https_redirection.redirect_status_code, 308);
        assert_eq!(o.https_redirection.https_port, Some(8443));
        assert_eq!(o.hsts.enabled, Some(true));
        assert_eq!(o.hsts.max_age, Duration::from_secs(365 * 24 * 3600));
        assert!(o.hsts.include_subdomains && o.hsts.preload);
        assert_eq!(o.hsts.excluded_hosts, vec!["dev.local", "LOCALHOST"]);
        // Off explicitly; seconds for MaxAge; an empty list clears the exclusions.
        let (o, _) = apply(
            r#"{"Falconet": {"HttpsRedirection": {"Enabled": false, "HttpsPort": null},
                             "Hsts": {"Enabled": false, "MaxAge": 60, "ExcludedHosts": []}}}"#,
        );
        assert_eq!(o.https_redirection.enabled, Some(false));
        assert_eq!(o.hsts.enabled, Some(false));
        assert_eq!(o.hsts.max_age, Duration::from_secs(60));
        assert!(o.hsts.excluded_hosts.is_empty());
        // Untouched: the library's defaults (off).
        let (o, _) = apply("{}");
        assert_eq!(
            o.https_redirection,
            crate::HttpsRedirectionOptions::default()
        );
        assert_eq!(o.hsts, crate::HstsOptions::default());
        for (bad, path) in [
            (
                r#"{"RedirectStatusCode": 303}"#,
                "Falconet:HttpsRedirection:RedirectStatusCode",
            ),
            (r#"{"HttpsPort": 0}"#, "Falconet:HttpsRedirection:HttpsPort"),
            (
                r#"{"HttpsPort": 70000}"#,
                "Falconet:HttpsRedirection:HttpsPort",
            ),
            (r#"{"Enabled": "yes"}"#, "Falconet:HttpsRedirection:Enabled"),
        ] {
            let e = apply_err(&format!(r#"{{"Falconet": {{"HttpsRedirection": {bad}}}}}"#));
            assert!(e.contains(path), "{bad}: {e}");
        }
        let e = apply_err(r#"{"Falconet": {"Hsts": {"MaxAge": "soon"}}}"#);
        assert!(e.contains("Falconet:Hsts:MaxAge"), "{e}");
    }

    #[test]
    #[cfg(not(feature = "access-log"))]
    fn access_log_needs_the_feature() {
        // Without the feature, a destination is a configuration error that says so; Off
        // is accepted.
        let e = apply_err(r#"{"Falconet": {"AccessLog": {"Destination": "Stderr"}}}"#);
        assert!(e.contains("cargo feature access-log"), "{e}");
        let (o, _) = apply(r#"{"Falconet": {"AccessLog": {"Destination": "Off"}}}"#);
        assert_eq!(o.access_log, crate::AccessLogOptions::default());
    }

    #[test]
    #[cfg(feature = "access-log")]
    fn access_log() {
        use crate::{AccessLogDestination as D, AccessLogFormat as F};
        let (o, w) = apply(
            r#"{"Falconet": {"AccessLog": {"Destination": "File", "Path": "/var/log/a.log",
                "Format": "json", "QueueSize": 64}}}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.access_log.destination, D::File("/var/log/a.log".into()));
        assert_eq!(o.access_log.format, F::Json);
        assert_eq!(o.access_log.queue_capacity, 64);
        let (o, _) = apply(r#"{"Falconet": {"AccessLog": {"Destination": "stderr"}}}"#);
        assert_eq!(o.access_log.destination, D::Stderr);
        assert_eq!(o.access_log.format, F::Combined);
        // A path alone means a file.
        let (o, _) = apply(r#"{"Falconet": {"AccessLog": {"Path": "x.log", "Format": "Common"}}}"#);
        assert_eq!(o.access_log.destination, D::File("x.log".into()));
        assert_eq!(o.access_log.format, F::Common);
        let (o, _) = apply("{}");
        assert_eq!(o.access_log, crate::AccessLogOptions::default());
        for (bad, path) in [
            (
                r#"{"Destination": "syslog"}"#,
                "Falconet:AccessLog:Destination",
            ),
            (r#"{"Format": "apache"}"#, "Falconet:AccessLog:Format"),
            (r#"{"QueueSize": 0}"#, "Falconet:AccessLog:QueueSize"),
            (r#"{"QueueSize": "many"}"#, "Falconet:AccessLog:QueueSize"),
            (r#"{"Destination": "File"}"#, "Falconet:AccessLog:Path"),
        ] {
            let e = apply_err(&format!(r#"{{"Falconet": {{"AccessLog": {bad}}}}}"#));
            assert!(e.contains(path), "{bad}: {e}");
        }
    }

    #[test]
    #[cfg(not(feature = "compression"))]
    fn response_compression_needs_the_feature() {
        // Without the feature, turning it on is a configuration error that says how.
        let e = apply_err(r#"{"Falconet": {"ResponseCompression": {"Enabled": true}}}"#);
        assert!(e.contains("`compression` cargo feature"), "{e}");
        let (o, _) = apply(r#"{"Falconet": {"ResponseCompression": {"Enabled": false}}}"#);
        assert!(!o.response_compression.enabled);
    }

    #[test]
    #[cfg(feature = "compression")]
    fn response_compression() {
        let (o, w) = apply(
            r#"{"Falconet": {"ResponseCompression": {
                "Enabled": true, "EnableForHttps": "true",
                "MimeTypes": ["text/html", "Image/*"], "ExcludedMimeTypes": "text/csv; text/x-log",
                "MinimumSize": 0, "Level": "smallestsize"
            }}}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        let c = &o.response_compression;
        assert!(c.enabled && c.enable_for_https);
        assert_eq!(c.mime_types, vec!["text/html", "Image/*"]);
        assert_eq!(c.excluded_mime_types, vec!["text/csv", "text/x-log"]);
        assert_eq!(c.minimum_size, 0);
        assert_eq!(c.level, crate::CompressionLevel::SmallestSize);
        let (o, _) = apply(r#"{"Falconet": {"ResponseCompression": {"Level": "Optimal"}}}"#);
        assert_eq!(
            o.response_compression.level,
            crate::CompressionLevel::Optimal
        );
        assert!(!o.response_compression.enabled);
        let (o, _) = apply("{}");
        assert_eq!(
            o.response_compression,
            crate::ResponseCompressionOptions::default()
        );
        for (bad, path) in [
            (r#"{"Level": "Max"}"#, "Falconet:ResponseCompression:Level"),
            (r#"{"Level": 9}"#, "Falconet:ResponseCompression:Level"),
            (
                r#"{"MinimumSize": -1}"#,
                "Falconet:ResponseCompression:MinimumSize",
            ),
            (
                r#"{"Enabled": "on"}"#,
                "Falconet:ResponseCompression:Enabled",
            ),
            (
                r#"{"MimeTypes": ["text"]}"#,
                "Falconet:ResponseCompression:MimeTypes",
            ),
            (
                r#"{"MimeTypes": [1]}"#,
                "Falconet:ResponseCompression:MimeTypes",
            ),
            (
                r#"{"ExcludedMimeTypes": ["*/*"]}"#,
                "Falconet:ResponseCompression:ExcludedMimeTypes",
            ),
        ] {
            let e = apply_err(&format!(
                r#"{{"Falconet": {{"ResponseCompression": {bad}}}}}"#
            ));
            assert!(e.contains(path), "{bad}: {e}");
        }
    }

    #[test]
    fn duplicate_keys_differing_in_case_are_refused() {
        let e = limit_err(r#"{"MaxRequestLineSize": 1, "maxrequestlinesize": 2}"#);
        assert!(e.contains("Kestrel:Limits:"), "{e}");
        assert!(e.contains("case-insensitive"), "{e}");
        let e = apply_err(r#"{"Kestrel": {}, "kestrel": {}}"#);
        assert!(e.contains("Kestrel"), "{e}");
        let e = apply_err(
            r#"{"Kestrel":{"Endpoints":{"Http":{"Url":"http://*:1"},"HTTP":{"Url":"http://*:2"}}}}"#,
        );
        assert!(e.contains("Kestrel:Endpoints:"), "{e}");
        // Also inside a key this loader does not know (found by the `config` fuzz target:
        // apply_json warned and went on while the layers refused the same file).
        let e = apply_err(r#"{"Kestrel": {"Bogus": {"A": 1, "a": 2}}}"#);
        assert!(e.contains("Kestrel:Bogus:"), "{e}");
        // Ignored sections are not checked.
        apply(r#"{"Logging": {}, "logging": {}}"#);
    }

    #[test]
    fn allowed_hosts() {
        let (o, _) = apply(r#"{"AllowedHosts": "example.org; *.example.org;;"}"#);
        assert_eq!(o.allowed_hosts, vec!["example.org", "*.example.org"]);
        let (o, _) = apply(r#"{"AllowedHosts": "example.org;*"}"#);
        assert!(o.allowed_hosts.is_empty());
        let (o, _) = apply(r#"{"AllowedHosts": ["a.org", "b.org"]}"#);
        assert_eq!(o.allowed_hosts, vec!["a.org", "b.org"]);
        assert!(apply_err(r#"{"AllowedHosts": 5}"#).contains("AllowedHosts"));
    }

    #[test]
    fn top_level_urls() {
        let (o, w) = apply(r#"{"Urls": "http://localhost:5000; http://*:8080"}"#);
        assert!(w.is_empty());
        assert_eq!(o.urls, vec!["http://localhost:5000", "http://*:8080"]);
        assert!(apply_err(r#"{"urls": true}"#).contains("Urls"));
    }

    #[test]
    fn unknown_keys_warn_with_full_path() {
        let (_, w) = apply(
            r#"{"Kestrel": {"Foo": 1, "Limits": {"MaxFoo": 2,
               "MinResponseDataRate": {"Bar": 1}},
               "EndpointDefaults": {"Baz": 1},
               "Endpoints": {"E": {"Url": "http://*:1", "Qux": 1}}},
               "Falconet": {"Workerz": 1}, "Logging": {"X": 1}, "Other": 1}"#,
        );
        for key in [
            "Kestrel:Foo",
            "Kestrel:Limits:MaxFoo",
            "Kestrel:Limits:MinResponseDataRate:Bar",
            "Kestrel:EndpointDefaults:Baz",
            "Kestrel:Endpoints:E:Qux",
            "Falconet:Workerz",
        ] {
            let msg = format!("Unknown configuration key '{key}' ignored");
            assert!(w.contains(&msg), "{msg} not in {w:?}");
        }
        assert_eq!(w.len(), 6, "{w:?}");
    }

    #[test]
    fn allow_response_header_compression() {
        let (o, w) = apply(r#"{"Kestrel": {"AllowResponseHeaderCompression": false}}"#);
        assert!(w.is_empty(), "{w:?}");
        assert!(!o.allow_response_header_compression);
        assert!(ServerOptions::default().allow_response_header_compression);
    }

    #[test]
    fn unsupported_keys_warn() {
        let (_, w) = apply(
            r#"{"Kestrel": {
                "AllowAlternateSchemes": true, "DisableStringReuse": true,
                "AllowHostHeaderOverride": true,
                "Limits": {"Http3": {"MaxRequestHeaderFieldSize": 16384}},
                "Endpoints": {"E": {"Url": "http://*:1"}}}}"#,
        );
        for key in [
            "Kestrel:AllowAlternateSchemes",
            "Kestrel:DisableStringReuse",
            "Kestrel:AllowHostHeaderOverride",
            "Kestrel:Limits:Http3:MaxRequestHeaderFieldSize",
        ] {
            assert!(
                w.iter().any(|m| m.contains(&format!("'{key}'"))),
                "{key} not in {w:?}"
            );
        }
        // Empty Http2 section: nothing to warn about.
        let (_, w) = apply(r#"{"Kestrel":{"Limits":{"Http2":{}, "Http3": null}}}"#);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn http2_limits_apply() {
        let (o, w) = apply(
            r#"{"Kestrel": {"Limits": {"Http2": {
                "MaxStreamsPerConnection": 10, "headerTableSize": "8192",
                "MaxFrameSize": 32768, "MaxRequestHeaderFieldSize": 16384,
                "InitialConnectionWindowSize": 131072, "InitialStreamWindowSize": 98304,
                "KeepAlivePingDelay": "00:00:30", "KeepAlivePingTimeout": 5}}}}"#,
        );
        let h = &o.limits.http2;
        assert_eq!(h.max_streams_per_connection, 10);
        assert_eq!(h.header_table_size, 8192);
        assert_eq!(h.max_frame_size, 32_768);
        assert_eq!(h.max_request_header_field_size, 16_384);
        assert_eq!(h.initial_connection_window_size, 131_072);
        assert_eq!(h.initial_stream_window_size, 98_304);
        assert_eq!(h.keep_alive_ping_delay, Some(Duration::from_secs(30)));
        assert_eq!(h.keep_alive_ping_timeout, Duration::from_secs(5));
        #[cfg(feature = "http2")]
        assert!(w.is_empty(), "{w:?}");
        #[cfg(not(feature = "http2"))]
        assert_eq!(w.len(), 8, "{w:?}");
        // The rest of Limits is untouched.
        assert_eq!(
            Limits {
                http2: Default::default(),
                ..o.limits.clone()
            },
            Limits::default()
        );
    }

    #[test]
    fn http2_limits_null_empty_and_unknown() {
        // Null keeps the default, except KeepAlivePingDelay, where it means off.
        let (o, _) = apply(
            r#"{"Kestrel": {"Limits": {"Http2": {"MaxFrameSize": null,
                "KeepAlivePingDelay": null, "KeepAlivePingTimeout": ""}}}}"#,
        );
        assert_eq!(o.limits.http2, crate::limits::Http2Limits::default());
        // TimeSpan.MaxValue (Kestrel's "off") written out.
        let (o, _) = apply(
            r#"{"Kestrel": {"Limits": {"Http2": {"KeepAlivePingDelay": "10675199.02:48:05.4775807"}}}}"#,
        );
        assert_eq!(o.limits.http2.keep_alive_ping_delay, None);
        let (_, w) = apply(r#"{"Kestrel": {"Limits": {"Http2": {"MaxPings": 3}}}}"#);
        assert!(
            w.contains(&"Unknown configuration key 'Kestrel:Limits:Http2:MaxPings' ignored".into()),
            "{w:?}"
        );
        // An empty section changes nothing and warns about nothing.
        let (o, w) = apply(r#"{"Kestrel":{"Limits":{"Http2":{}, "Http3": null}}}"#);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.limits, Limits::default());
    }

    #[test]
    fn http2_limits_errors_name_the_key() {
        for (json, needle) in [
            (
                r#"{"MaxStreamsPerConnection": 0}"#,
                "Http2.MaxStreamsPerConnection",
            ),
            (r#"{"MaxFrameSize": 1024}"#, "Http2.MaxFrameSize"),
            (r#"{"MaxFrameSize": 16777216}"#, "Http2.MaxFrameSize"),
            (
                r#"{"MaxRequestHeaderFieldSize": 0}"#,
                "Http2.MaxRequestHeaderFieldSize",
            ),
            (
                r#"{"InitialConnectionWindowSize": 1000}"#,
                "Http2.InitialConnectionWindowSize",
            ),
            (
                r#"{"InitialStreamWindowSize": 2147483648}"#,
                "Http2.InitialStreamWindowSize",
            ),
            (
                r#"{"KeepAlivePingDelay": "00:00:00.5"}"#,
                "Http2.KeepAlivePingDelay",
            ),
            (
                r#"{"KeepAlivePingTimeout": 0}"#,
                "Http2.KeepAlivePingTimeout",
            ),
            (
                r#"{"HeaderTableSize": -1}"#,
                "Kestrel:Limits:Http2:HeaderTableSize",
            ),
            (
                r#"{"HeaderTableSize": 4294967296}"#,
                "Kestrel:Limits:Http2:HeaderTableSize",
            ),
            (
                r#"{"MaxFrameSize": "big"}"#,
                "Kestrel:Limits:Http2:MaxFrameSize",
            ),
            (
                r#"{"KeepAlivePingTimeout": "soon"}"#,
                "Kestrel:Limits:Http2:KeepAlivePingTimeout",
            ),
        ] {
            let e = limit_err(&format!(r#"{{"Http2": {json}}}"#));
            assert!(e.contains(needle), "{json}: {e}");
        }
        let e = limit_err(r#"{"Http2": 5}"#);
        assert!(e.contains("Kestrel:Limits:Http2"), "{e}");
    }

    #[test]
    fn nullable_limits_accept_null_and_empty_string() {
        let l = limits(
            r#"{"MaxConcurrentConnections": null, "MaxConcurrentUpgradedConnections": "",
               "MaxRequestBodySize": null, "MaxRequestBufferSize": null,
               "MaxResponseBufferSize": null, "MinRequestBodyDataRate": null,
               "MinResponseDataRate": ""}"#,
        );
        assert_eq!(l.max_concurrent_connections, None);
        assert_eq!(l.max_concurrent_upgraded_connections, None);
        assert_eq!(l.max_request_body_size, None);
        assert_eq!(l.max_request_buffer_size, None);
        assert_eq!(l.max_response_buffer_size, None);
        assert_eq!(l.min_request_body_data_rate, None);
        assert_eq!(l.min_response_data_rate, None);
    }

    #[test]
    fn null_on_non_nullable_keeps_the_default() {
        let l = limits(r#"{"MaxRequestLineSize": null, "KeepAliveTimeout": null}"#);
        assert_eq!(l, Limits::default());
        let (o, _) =
            apply(r#"{"Kestrel": {"AddServerHeader": null}, "Falconet": {"Workers": null}}"#);
        assert_eq!(o, ServerOptions::default());
    }

    #[test]
    fn numbers_as_strings() {
        let l = limits(
            r#"{"MaxConcurrentConnections": "10", "MaxRequestBodySize": " 5 ",
               "MaxRequestHeaderCount": "7", "MaxConcurrentUpgradedConnections": 3}"#,
        );
        assert_eq!(l.max_concurrent_connections, Some(10));
        assert_eq!(l.max_request_body_size, Some(5));
        assert_eq!(l.max_request_header_count, 7);
        assert_eq!(l.max_concurrent_upgraded_connections, Some(3));
    }

    #[test]
    fn invalid_numbers_name_key_and_value() {
        for (json, key, value) in [
            (
                r#"{"MaxRequestLineSize": -1}"#,
                "Kestrel:Limits:MaxRequestLineSize",
                "-1",
            ),
            (
                r#"{"MaxRequestLineSize": 1.5}"#,
                "Kestrel:Limits:MaxRequestLineSize",
                "1.5",
            ),
            (
                r#"{"MaxRequestLineSize": "big"}"#,
                "Kestrel:Limits:MaxRequestLineSize",
                "big",
            ),
            (
                r#"{"MaxRequestLineSize": true}"#,
                "Kestrel:Limits:MaxRequestLineSize",
                "true",
            ),
            (
                r#"{"MaxRequestLineSize": [1]}"#,
                "Kestrel:Limits:MaxRequestLineSize",
                "[1]",
            ),
            (
                r#"{"MaxRequestBodySize": -5}"#,
                "Kestrel:Limits:MaxRequestBodySize",
                "-5",
            ),
            (
                r#"{"MaxRequestBodySize": "-5"}"#,
                "Kestrel:Limits:MaxRequestBodySize",
                "-5",
            ),
            (
                r#"{"MaxConcurrentConnections": 2.0}"#,
                "Kestrel:Limits:MaxConcurrentConnections",
                "2.0",
            ),
            (
                r#"{"MaxConcurrentUpgradedConnections": {}}"#,
                "Kestrel:Limits:MaxConcurrentUpgradedConnections",
                "{}",
            ),
            (
                r#"{"MaxRequestHeadersTotalSize": "1e3"}"#,
                "Kestrel:Limits:MaxRequestHeadersTotalSize",
                "1e3",
            ),
            (
                r#"{"MaxRequestHeaderCount": "99999999999999999999999"}"#,
                "Kestrel:Limits:MaxRequestHeaderCount",
                "99999999999999999999999",
            ),
            (
                r#"{"MaxRequestBufferSize": -1}"#,
                "Kestrel:Limits:MaxRequestBufferSize",
                "-1",
            ),
            (
                r#"{"MaxResponseBufferSize": "x"}"#,
                "Kestrel:Limits:MaxResponseBufferSize",
                "x",
            ),
            (
                r#"{"MinRequestBodyDataRate": {"BytesPerSecond": -1}}"#,
                "Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond",
                "-1",
            ),
            (
                r#"{"MinResponseDataRate": 5}"#,
                "Kestrel:Limits:MinResponseDataRate",
                "5",
            ),
        ] {
            let e = limit_err(json);
            assert!(
                e.starts_with(&format!("Invalid value '{value}' for {key}: ")),
                "{json}: {e}"
            );
        }
    }

    #[test]
    fn timespans() {
        let t = |s: &str| parse_timespan(s);
        assert_eq!(t("00:00:30"), Some(Duration::from_secs(30)));
        assert_eq!(t("00:02:10"), Some(Duration::from_secs(130)));
        assert_eq!(t("1.00:00:00"), Some(Duration::from_secs(86_400)));
        assert_eq!(t("1:02:03:04"), Some(Duration::from_secs(93_784)));
        assert_eq!(t("00:00:00.5"), Some(Duration::from_millis(500)));
        assert_eq!(t("00:00:01.0000001"), Some(Duration::new(1, 100)));
        assert_eq!(
            t("2.03:04:05.25"),
            Some(Duration::new(183_845, 250_000_000))
        );
        assert_eq!(t("01:30"), Some(Duration::from_secs(5400)));
        assert_eq!(t("1.01:30"), Some(Duration::from_secs(86_400 + 5400)));
        assert_eq!(t("0:0:5"), Some(Duration::from_secs(5)));
        assert_eq!(t("00:00"), Some(Duration::ZERO));
        for bad in [
            "",
            "abc",
            "24:00:00",
            "00:60:00",
            "00:00:60",
            "-00:00:05",
            "00:00:00.12345678",
            "1.2.3:00",
            "00:00:00:00:00",
            "::",
            "00:00:",
            "+1:00:00",
            "00:00:5.",
            "99999999999.00:00:00",
            "1.",
            "00:00:0x",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_from_json() {
        let l = limits(r#"{"KeepAliveTimeout": 90, "RequestHeadersTimeout": 2.5}"#);
        assert_eq!(l.keep_alive_timeout, Duration::from_secs(90));
        assert_eq!(l.request_headers_timeout, Duration::from_millis(2500));
        let e = limit_err(r#"{"KeepAliveTimeout": "abc"}"#);
        assert_eq!(
            e,
            r#"Invalid value 'abc' for Kestrel:Limits:KeepAliveTimeout: expected a TimeSpan like "00:02:10""#
        );
        let e = limit_err(r#"{"KeepAliveTimeout": "30"}"#);
        assert!(e.contains("30 days"), "{e}");
        let e = limit_err(r#"{"RequestHeadersTimeout": -1}"#);
        assert!(
            e.starts_with("Invalid value '-1' for Kestrel:Limits:RequestHeadersTimeout"),
            "{e}"
        );
        let e = limit_err(r#"{"RequestHeadersTimeout": 1e300}"#);
        assert!(e.contains("Kestrel:Limits:RequestHeadersTimeout"), "{e}");
        let e = limit_err(r#"{"KeepAliveTimeout": true}"#);
        assert!(e.contains("Kestrel:Limits:KeepAliveTimeout"), "{e}");
        let e = limit_err(r#"{"MinRequestBodyDataRate": {"GracePeriod": "soon"}}"#);
        assert!(
            e.starts_with(
                "Invalid value 'soon' for Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"
            ),
            "{e}"
        );
        let e = apply_err(r#"{"Falconet": {"ShutdownTimeout": "1:2:3:4:5"}}"#);
        assert!(e.contains("Falconet:ShutdownTimeout"), "{e}");
        let e = apply_err(r#"{"Falconet": {"RequestBodyDrainTimeout": "x"}}"#);
        assert!(e.contains("Falconet:RequestBodyDrainTimeout"), "{e}");
    }

    #[test]
    fn data_rate_partial_objects_keep_other_fields() {
        let l = limits(r#"{"MinResponseDataRate": {"BytesPerSecond": 50}}"#);
        assert_eq!(
            l.min_response_data_rate,
            Some(MinDataRate {
                bytes_per_second: 50,
                grace_period: Duration::from_secs(5)
            })
        );
        let l = limits(r#"{"MinResponseDataRate": null}"#);
        assert_eq!(l.min_response_data_rate, None);
        let l = limits(r#"{"MinResponseDataRate": {"GracePeriod": "00:00:09"}}"#);
        assert_eq!(
            l.min_response_data_rate.unwrap().grace_period,
            Duration::from_secs(9)
        );
    }

    #[test]
    fn limits_are_validated() {
        let e = limit_err(r#"{"MinRequestBodyDataRate": {"BytesPerSecond": 0}}"#);
        assert!(e.contains("MinRequestBodyDataRate"), "{e}");
        let e = limit_err(r#"{"MinResponseDataRate": {"GracePeriod": "00:00:01"}}"#);
        assert!(e.contains("GracePeriod"), "{e}");
        let e = limit_err(r#"{"MaxRequestBufferSize": 100}"#);
        assert!(e.contains("MaxRequestBufferSize"), "{e}");
        let e = limit_err(r#"{"KeepAliveTimeout": "00:00:00"}"#);
        assert!(e.contains("KeepAliveTimeout"), "{e}");
        let e = limit_err(r#"{"MaxRequestLineSize": 0}"#);
        assert!(e.contains("MaxRequestLineSize"), "{e}");
        let e = apply_err(r#"{"Falconet": {"Workers": 0}}"#);
        assert!(e.contains("Workers"), "{e}");
    }

    #[test]
    fn booleans() {
        let (o, _) =
            apply(r#"{"Kestrel": {"AddServerHeader": "FALSE", "AllowSynchronousIO": " true "}}"#);
        assert!(!o.add_server_header);
        assert!(o.allow_synchronous_io);
        for json in [
            r#"{"Kestrel": {"AddServerHeader": 1}}"#,
            r#"{"Kestrel": {"AddServerHeader": "yes"}}"#,
        ] {
            let e = apply_err(json);
            assert!(
                e.contains("for Kestrel:AddServerHeader: expected true or false"),
                "{e}"
            );
        }
        let e = apply_err(r#"{"Kestrel": {"AllowSynchronousIO": 0}}"#);
        assert!(e.contains("Kestrel:AllowSynchronousIO"), "{e}");
        let e = apply_err(r#"{"Falconet": {"AllowBareLineFeed": "no"}}"#);
        assert!(e.contains("Falconet:AllowBareLineFeed"), "{e}");
    }

    #[test]
    fn falconet_section_errors_name_keys() {
        for (json, key) in [
            (r#"{"Workers": -1}"#, "Falconet:Workers"),
            (r#"{"QueueCapacity": 1.5}"#, "Falconet:QueueCapacity"),
            (r#"{"WorkerStackSize": "x"}"#, "Falconet:WorkerStackSize"),
            (r#"{"ListenBacklog": 4294967296}"#, "Falconet:ListenBacklog"),
            (r#"{"ListenBacklog": 2147483648}"#, "Falconet:ListenBacklog"),
        ] {
            let e = apply_err(&format!(r#"{{"Falconet": {json}}}"#));
            assert!(e.contains(&format!(" for {key}: ")), "{e}");
        }
        let e = apply_err(r#"{"Falconet": {"WorkerStackSize": 1024}}"#);
        assert!(e.contains("WorkerStackSize"), "{e}");
    }

    #[test]
    fn sections_of_the_wrong_type() {
        assert!(apply_err(r#"{"Kestrel": 5}"#).contains("for Kestrel: expected an object"));
        assert!(apply_err(r#"{"Kestrel": {"Limits": []}}"#).contains("Kestrel:Limits"));
        assert!(apply_err(r#"{"Kestrel": {"Endpoints": "x"}}"#).contains("Kestrel:Endpoints"));
        assert!(apply_err(r#"{"Kestrel": {"EndpointDefaults": 1}}"#)
            .contains("Kestrel:EndpointDefaults"));
        assert!(apply_err(r#"{"Falconet": true}"#).contains("Falconet"));
        assert!(
            apply_err(r#"{"Kestrel": {"Endpoints": {"E": 1}}}"#).contains("Kestrel:Endpoints:E")
        );
        let (o, w) = apply(r#"{"Kestrel": null, "Falconet": null, "Urls": null}"#);
        assert!(w.is_empty());
        assert_eq!(o, ServerOptions::default());
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let e = apply_err("{\n  \"Kestrel\": {\n    \"Limits\": {,}\n  }\n}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("column"), "{e}");
        assert!(apply_err("[1, 2]").contains("JSON object"));
        assert!(apply_err("").contains("Invalid JSON"));
        assert!(apply_err("{} {}").contains("Invalid JSON"));
        assert!(apply_err("{/* open").contains("not closed"));
        assert!(apply_err(r#"{"Urls": [,]}"#).contains("Invalid JSON"));
        assert!(apply_err(r#"{"Urls": ["a",,]}"#).contains("Invalid JSON"));
        assert!(apply_err(r#"{"Urls": "a",,}"#).contains("Invalid JSON"));
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let (o, w) = apply(
            "{\n  // line comment\n  \"Kestrel\": { /* block\n comment */ \"Limits\": {\n \
             \"MaxRequestHeaderCount\": 7, // trailing\n },\n },\n \"Urls\": \"http://a//b;/*x*/\",\n}",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.limits.max_request_header_count, 7);
        assert_eq!(o.urls, vec!["http://a//b", "/*x*/"]);
        // Escaped quotes inside strings do not confuse the scanner.
        let (o, _) = apply(r#"{"Urls": "a\"//,]b", "AllowedHosts": "x",}"#);
        assert_eq!(o.urls, vec!["a\"//,]b"]);
        // Line numbers survive comment removal.
        let e = apply_err("{ /* a\nb\nc */\n \"Kestrel\": x }");
        assert!(e.contains("line 4"), "{e}");
    }

    #[test]
    fn endpoints() {
        let (o, w) = apply(
            r#"{"Kestrel": {"Endpoints": {
                "Local": {"Url": "http://127.0.0.1:0"},
                "V6": {"Url": "http://[::]:8080", "Protocols": "Http1", "ConnectionLogging": "true"}
            }}}"#,
        );
        assert!(w.is_empty());
        let local = &o.endpoints[0];
        assert_eq!(local.name.as_deref(), Some("Local"));
        assert_eq!(
            local.address,
            ListenAddress::Ip("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(local.protocols, Protocols::Http1AndHttp2);
        assert_eq!(local.scheme, Scheme::Http);
        let v6 = &o.endpoints[1];
        assert_eq!(v6.address, ListenAddress::Ip("[::]:8080".parse().unwrap()));
        assert_eq!(v6.protocols, Protocols::Http1);
        assert!(v6.connection_logging);
    }

    #[test]
    fn endpoint_errors() {
        let e = apply_err(r#"{"Kestrel": {"Endpoints": {"Web": {"Protocols": "Http1"}}}}"#);
        assert!(e.contains("'Web'") && e.contains("Url"), "{e}");
        let e = apply_err(r#"{"Kestrel": {"Endpoints": {"Web": null}}}"#);
        assert!(e.contains("'Web'") && e.contains("Url"), "{e}");
        let e = apply_err(r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "http://*:99999"}}}}"#);
        assert!(
            e.contains("Kestrel:Endpoints:Web:Url") && e.contains("Invalid url: 'http://*:99999'"),
            "{e}"
        );
        let e = apply_err(r#"{"Kestrel": {"Endpoints": {"Web": {"Url": 80}}}}"#);
        assert!(e.contains("Kestrel:Endpoints:Web:Url"), "{e}");
        let e = apply_err(
            r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "http://*:80",
                "Certificate": {"Path": "c.pfx", "Password": "x"}}}}}"#,
        );
        assert!(
            e.contains("endpoint 'Web' is http but has HTTPS settings"),
            "{e}"
        );
        // An empty Certificate section is not certificate settings.
        apply(r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "http://*:80", "Certificate": {}}}}}"#);
        let e = apply_err(
            r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "http://*:80", "ConnectionLogging": 2}}}}"#,
        );
        assert!(e.contains("Kestrel:Endpoints:Web:ConnectionLogging"), "{e}");
        let e = apply_err(
            r#"{"Kestrel": {"Endpoints": {"Web": {"Url": "http://*:80", "AllowSynchronousIO": "x"}}}}"#,
        );
        assert!(
            e.contains("Kestrel:Endpoints:Web:AllowSynchronousIO"),
            "{e}"
        );
    }

    #[test]
    fn protocols_values() {
        let proto = |v: &str| -> Result<(Protocols, Vec<String>), String> {
            let mut o = ServerOptions::default();
            let json = format!(
                r#"{{"Kestrel":{{"Endpoints":{{"E":{{"Url":"http://*:1","Protocols":{v}}}}}}}}}"#
            );
            apply_json(&mut o, &json)
                .map(|w| (o.endpoints[0].protocols, w))
                .map_err(|e| e.to_string())
        };
        assert_eq!(proto(r#""Http1""#).unwrap().0, Protocols::Http1);
        assert_eq!(proto(r#""http2""#).unwrap().0, Protocols::Http2);
        assert_eq!(
            proto(r#""HTTP1ANDHTTP2""#).unwrap().0,
            Protocols::Http1AndHttp2
        );
        assert_eq!(
            proto(r#""Http1, Http2""#).unwrap().0,
            Protocols::Http1AndHttp2
        );
        assert_eq!(proto(r#""3""#).unwrap().0, Protocols::Http1AndHttp2);
        assert_eq!(proto("1").unwrap().0, Protocols::Http1);
        let (p, w) = proto(r#""Http1AndHttp2AndHttp3""#).unwrap();
        assert_eq!(p, Protocols::Http1AndHttp2);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("HTTP/3 is not supported"), "{w:?}");
        assert!(w[0].contains("Kestrel:Endpoints:E:Protocols"), "{w:?}");
        let e = proto(r#""Http3""#).unwrap_err();
        assert!(
            e.contains("Kestrel:Endpoints:E:Protocols") && e.contains("HTTP/3"),
            "{e}"
        );
        for bad in [
            r#""Http4""#,
            r#""None""#,
            r#""8""#,
            "true",
            "-1",
            r#""Http1,""#,
        ] {
            let e = proto(bad).unwrap_err();
            assert!(
                e.contains("for Kestrel:Endpoints:E:Protocols: "),
                "{bad}: {e}"
            );
        }
        let (o, w) = apply(
            r#"{"Kestrel":{"EndpointDefaults":{"Protocols":"Http1AndHttp2AndHttp3"},
            "Endpoints":{"E":{"Url":"http://*:1"}}}}"#,
        );
        assert_eq!(o.endpoints[0].protocols, Protocols::Http1AndHttp2);
        assert!(w[0].contains("Kestrel:EndpointDefaults:Protocols"), "{w:?}");
        let e = apply_err(r#"{"Kestrel":{"EndpointDefaults":{"Protocols":"x"}}}"#);
        assert!(e.contains("Kestrel:EndpointDefaults:Protocols"), "{e}");
    }

    #[test]
    fn endpoint_defaults_without_endpoints_warns() {
        let (o, w) = apply(r#"{"Kestrel":{"EndpointDefaults":{"Protocols":"Http1"}}}"#);
        assert!(o.endpoints.is_empty());
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("EndpointDefaults"), "{w:?}");
    }

    #[test]
    fn unix_socket_mode() {
        let mode = |v: &str| {
            let mut o = ServerOptions::default();
            let json = format!(
                r#"{{"Kestrel":{{"Endpoints":{{"S":{{"Url":"http://unix:/s.sock","UnixSocketMode":{v}}}}}}}}}"#
            );
            apply_json(&mut o, &json)
                .map(|_| o.endpoints[0].unix_socket_mode)
                .map_err(|e| e.to_string())
        };
        assert_eq!(mode(r#""0660""#), Ok(Some(0o660)));
        assert_eq!(mode(r#""660""#), Ok(Some(0o660)));
        assert_eq!(mode(r#""0o600""#), Ok(Some(0o600)));
        assert_eq!(mode("660"), Ok(Some(0o660)));
        assert_eq!(mode(r#""7777""#), Ok(Some(0o7777)));
        assert_eq!(mode("null"), Ok(None));
        for bad in [
            r#""0680""#,
            r#""rw""#,
            r#""17777""#,
            "-1",
            "6.5",
            "true",
            r#""0o""#,
        ] {
            let e = mode(bad).unwrap_err();
            assert!(
                e.contains("for Kestrel:Endpoints:S:UnixSocketMode: "),
                "{bad}: {e}"
            );
        }
        let (_, w) =
            apply(r#"{"Kestrel":{"Endpoints":{"T":{"Url":"http://*:1","UnixSocketMode":"600"}}}}"#);
        assert!(
            w[0].contains("UnixSocketMode") && w[0].contains("not a Unix"),
            "{w:?}"
        );
    }

    #[test]
    fn reuse_port() {
        let reuse = |url: &str, v: &str| {
            let mut o = ServerOptions::default();
            let json = format!(
                r#"{{"Kestrel":{{"Endpoints":{{"E":{{"Url":"{url}","ReusePort":{v}}}}}}}}}"#
            );
            apply_json(&mut o, &json)
                .map(|w| (o.endpoints[0].reuse_port, w))
                .map_err(|e| e.to_string())
        };
        assert_eq!(reuse("http://*:80", "true"), Ok((true, vec![])));
        assert_eq!(
            reuse("http://127.0.0.1:80", r#""True""#),
            Ok((true, vec![]))
        );
        assert_eq!(reuse("http://localhost:80", "false"), Ok((false, vec![])));
        assert_eq!(reuse("http://*:80", "null"), Ok((false, vec![])));
        for bad in ["1", r#""yes""#, "{}"] {
            let e = reuse("http://*:80", bad).unwrap_err();
            assert!(
                e.contains("for Kestrel:Endpoints:E:ReusePort: "),
                "{bad}: {e}"
            );
        }
        let (on, w) = reuse("http://unix:/s.sock", "true").unwrap();
        assert!(on);
        assert!(
            w.len() == 1 && w[0].contains("ReusePort") && w[0].contains("Unix socket"),
            "{w:?}"
        );
        let (_, w) = reuse("http://systemd:web", "true").unwrap();
        assert!(
            w.len() == 1 && w[0].contains("ReusePort=") && w[0].contains("socket unit"),
            "{w:?}"
        );
        // The key is not unknown: no warning for it.
        let (o, w) =
            apply(r#"{"Kestrel":{"Endpoints":{"E":{"Url":"http://*:1","reuseport":true}}}}"#);
        assert!(w.is_empty(), "{w:?}");
        assert!(o.endpoints[0].reuse_port);
    }

    #[test]
    fn systemd_endpoints() {
        let (o, w) = apply(
            r#"{"Kestrel":{"Endpoints":{
                "All":{"Url":"http://systemd"},
                "Web":{"Url":"http://systemd:web", "UnixSocketMode":"0660"}
            }}}"#,
        );
        assert_eq!(o.endpoints[0].address, ListenAddress::Systemd(None));
        assert_eq!(
            o.endpoints[1].address,
            ListenAddress::Systemd(Some("web".into()))
        );
        assert!(
            w.len() == 1 && w[0].contains("UnixSocketMode") && w[0].contains("SocketMode="),
            "{w:?}"
        );
    }

    #[test]
    fn layered_files_update_endpoints_by_name() {
        let mut o = ServerOptions::default();
        apply_json(
            &mut o,
            r#"{"Kestrel":{"Endpoints":{"Http":{"Url":"http://localhost:5000","Protocols":"Http1"}}}}"#,
        )
        .unwrap();
        let w = apply_json(
            &mut o,
            r#"{"Kestrel":{"Endpoints":{"http":{"Url":"http://*:80"},"Other":{"Url":"http://*:81"}}}}"#,
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(o.endpoints.len(), 2);
        assert_eq!(o.endpoints[0].name.as_deref(), Some("Http"));
        assert_eq!(o.endpoints[0].address, ListenAddress::Any(80));
        assert_eq!(o.endpoints[0].protocols, Protocols::Http1);
        // Url is optional when updating.
        apply_json(
            &mut o,
            r#"{"Kestrel":{"Endpoints":{"HTTP":{"ConnectionLogging":true}}}}"#,
        )
        .unwrap();
        assert!(o.endpoints[0].connection_logging);
        assert_eq!(o.endpoints[0].address, ListenAddress::Any(80));
    }

    #[test]
    fn never_panics_on_truncated_or_mangled_input() {
        for end in 0..WEBAPI.len() {
            let _ = apply_json(&mut ServerOptions::default(), &WEBAPI[..end]);
        }
        let bytes = WEBAPI.as_bytes();
        for (i, replacement) in (0..bytes.len()).zip(
            [b'"', b',', b'}', b'/', b'*', b'\\', b'0', b':']
                .iter()
                .cycle(),
        ) {
            let mut mangled = bytes.to_vec();
            mangled[i] = *replacement;
            if let Ok(text) = std::str::from_utf8(&mangled) {
                let _ = apply_json(&mut ServerOptions::default(), text);
            }
        }
    }

    #[test]
    fn error_values_are_shortened() {
        let long = "x".repeat(500);
        let e = limit_err(&format!(r#"{{"KeepAliveTimeout": "{long}"}}"#));
        assert!(e.len() < 200, "{e}");
        let e = limit_err(
            r#"{"KeepAliveTimeout": "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"}"#,
        );
        assert!(e.contains("..."), "{e}");
    }

    fn forwarded(section: &str) -> (ForwardedHeadersOptions, Vec<String>) {
        let (o, w) = apply(&format!(
            r#"{{"Falconet":{{"ForwardedHeaders":{section}}}}}"#
        ));
        (o.forwarded_headers, w)
    }

    fn forwarded_err(section: &str) -> String {
        apply_err(&format!(
            r#"{{"Falconet":{{"ForwardedHeaders":{section}}}}}"#
        ))
    }

    #[test]
    fn forwarded_headers_section() {
        let (f, w) = forwarded(
            r#"{"ForwardedHeaders": ["XForwardedFor", "XForwardedProto"],
                "KnownProxies": ["10.0.0.1", "fd00::1"],
                "KnownNetworks": ["10.0.0.0/8", "fd00::/8"],
                "ForwardLimit": 2,
                "TrustUnixSocket": false}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(f.forward_for && f.forward_proto);
        assert_eq!(
            f.known_proxies,
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "fd00::1".parse().unwrap()
            ]
        );
        assert_eq!(
            f.known_networks,
            vec![
                ("10.0.0.0".parse().unwrap(), 8),
                ("fd00::".parse().unwrap(), 8)
            ]
        );
        assert_eq!(f.forward_limit, Some(2));
        assert!(!f.trust_unix_socket);

        // An empty section, or null values, change nothing.
        let (f, w) = forwarded("{}");
        assert!(w.is_empty());
        assert_eq!(f, ForwardedHeadersOptions::default());
        let (f, _) = forwarded(
            r#"{"ForwardedHeaders": null, "KnownProxies": null, "KnownNetworks": "",
                "TrustUnixSocket": null}"#,
        );
        assert_eq!(f, ForwardedHeadersOptions::default());
        let (f, _) = forwarded("null");
        assert_eq!(f, ForwardedHeadersOptions::default());
    }

    #[test]
    fn forwarded_headers_flag_forms() {
        let flags = |v: &str| {
            let (f, w) = forwarded(&format!(r#"{{"ForwardedHeaders": {v}}}"#));
            (f.forward_for, f.forward_proto, w.len())
        };
        assert_eq!(
            flags(r#""XForwardedFor, XForwardedProto""#),
            (true, true, 0)
        );
        assert_eq!(flags(r#""xforwardedfor""#), (true, false, 0));
        assert_eq!(flags(r#"["XForwardedProto"]"#), (false, true, 0));
        assert_eq!(flags("5"), (true, true, 0));
        assert_eq!(flags(r#""4""#), (false, true, 0));
        assert_eq!(flags(r#""None""#), (false, false, 0));
        assert_eq!(flags("[]"), (false, false, 0));
        // Host and Prefix are not supported: a warning.
        assert_eq!(flags(r#""All""#), (true, true, 1));
        assert_eq!(
            flags(r#"["XForwardedFor", "XForwardedHost"]"#),
            (true, false, 1)
        );
        let (_, w) = forwarded(r#"{"ForwardedHeaders": "XForwardedPrefix"}"#);
        assert!(
            w[0].contains("Falconet:ForwardedHeaders:ForwardedHeaders")
                && w[0].contains("XForwardedHost and XForwardedPrefix"),
            "{w:?}"
        );
        // Setting it replaces both flags.
        let (o, _) = apply(
            r#"{"Falconet":{"ForwardedHeaders":{"ForwardedHeaders":"XForwardedFor,XForwardedProto"}}}"#,
        );
        let mut o2 = o.clone();
        apply_json(
            &mut o2,
            r#"{"Falconet":{"ForwardedHeaders":{"ForwardedHeaders":"XForwardedProto"}}}"#,
        )
        .unwrap();
        assert!(!o2.forwarded_headers.forward_for && o2.forwarded_headers.forward_proto);
    }

    #[test]
    fn forwarded_headers_lists_replace_the_defaults() {
        let (f, _) = forwarded(r#"{"KnownProxies": [], "KnownNetworks": []}"#);
        assert!(f.known_proxies.is_empty() && f.known_networks.is_empty());
        let (f, _) = forwarded(r#"{"KnownProxies": "10.0.0.1; 10.0.0.2,10.0.0.3"}"#);
        assert_eq!(f.known_proxies.len(), 3);
        assert_eq!(
            f.known_networks,
            ForwardedHeadersOptions::default().known_networks
        );
        let (f, _) = forwarded(r#"{"KnownNetworks": ["192.0.2.7"]}"#);
        assert_eq!(f.known_networks, vec![("192.0.2.7".parse().unwrap(), 32)]);
        let (f, _) = forwarded(r#"{"ForwardLimit": null}"#);
        assert_eq!(f.forward_limit, None);
        let (f, _) = forwarded(r#"{"ForwardLimit": "3"}"#);
        assert_eq!(f.forward_limit, Some(3));
    }

    #[test]
    fn forwarded_headers_errors_name_keys() {
        for (section, key, value) in [
            (
                r#"{"ForwardedHeaders": "XForwardedBogus"}"#,
                "ForwardedHeaders",
                "XForwardedBogus",
            ),
            (r#"{"ForwardedHeaders": 16}"#, "ForwardedHeaders", "16"),
            (r#"{"ForwardedHeaders": true}"#, "ForwardedHeaders", "true"),
            (r#"{"ForwardedHeaders": [1.5]}"#, "ForwardedHeaders", "1.5"),
            (
                r#"{"KnownProxies": ["10.0.0.1", "10.0.0.256"]}"#,
                "KnownProxies",
                "10.0.0.256",
            ),
            (
                r#"{"KnownProxies": ["proxy.example"]}"#,
                "KnownProxies",
                "proxy.example",
            ),
            (r#"{"KnownProxies": [10]}"#, "KnownProxies", "10"),
            (r#"{"KnownProxies": 10}"#, "KnownProxies", "10"),
            (
                r#"{"KnownNetworks": ["10.0.0.0/33"]}"#,
                "KnownNetworks",
                "10.0.0.0/33",
            ),
            (
                r#"{"KnownNetworks": ["fd00::/129"]}"#,
                "KnownNetworks",
                "fd00::/129",
            ),
            (
                r#"{"KnownNetworks": ["10.0.0.0/x"]}"#,
                "KnownNetworks",
                "10.0.0.0/x",
            ),
            (
                r#"{"KnownNetworks": {"a": 1}}"#,
                "KnownNetworks",
                "{\"a\":1}",
            ),
            (r#"{"ForwardLimit": 0}"#, "ForwardLimit", "0"),
            (r#"{"ForwardLimit": -1}"#, "ForwardLimit", "-1"),
            (r#"{"ForwardLimit": "one"}"#, "ForwardLimit", "one"),
            (r#"{"TrustUnixSocket": "yes"}"#, "TrustUnixSocket", "yes"),
        ] {
            let e = forwarded_err(section);
            assert!(
                e.contains(&format!(
                    "Invalid value '{value}' for Falconet:ForwardedHeaders:{key}: "
                )),
                "{section}: {e}"
            );
        }
        let e = apply_err(r#"{"Falconet":{"ForwardedHeaders": 1}}"#);
        assert!(
            e.contains("for Falconet:ForwardedHeaders: expected an object"),
            "{e}"
        );
    }

    #[test]
    fn forwarded_headers_unsupported_and_unknown_keys_warn() {
        let (f, w) = forwarded(
            r#"{"ForwardedHostHeaderName": "X-Host", "RequireHeaderSymmetry": true,
                "AllowedHosts": ["a"], "OriginalForHeaderName": "", "Bogus": 1}"#,
        );
        assert_eq!(f, ForwardedHeadersOptions::default());
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(w.iter().any(|w| w.contains("ForwardedHostHeaderName")));
        assert!(w.iter().any(|w| w.contains("RequireHeaderSymmetry")));
        assert!(w.iter().any(|w| w.contains("AllowedHosts")));
        assert!(w
            .iter()
            .any(|w| w == "Unknown configuration key 'Falconet:ForwardedHeaders:Bogus' ignored"));
        let (_, w) = forwarded(r#"{"RequireHeaderSymmetry": false}"#);
        assert!(w.is_empty());
        let e = forwarded_err(r#"{"knownproxies": [], "KnownProxies": []}"#);
        assert!(e.contains("given twice"), "{e}");
    }
}

//! The TLS handshake of an HTTPS connection, run on a worker as far as the client's
//! bytes allow: picks the certificate by SNI (and the cipher suite order), records what was
//! negotiated, lets the endpoint's filter refuse it, and says which protocol follows.

use crate::conn::context::Context;
use crate::conn::link::Link;
use crate::io::tls::Handshake as Step;
use crate::tls::endpoint::TlsEndpoint;

/// Where a handshake step left the connection.
pub(crate) enum Handshake {
    /// Waiting for the client (or for room to write).
    Park,
    /// Failed or refused: close.
    Close,
    /// Done; `h2` when ALPN chose HTTP/2.
    Done { h2: bool },
}

/// Runs the TLS handshake as far as the client's bytes allow.
pub(crate) fn step(l: &mut Link, wants_write: &mut bool, cx: &dyn Context) -> Handshake {
    let Some(tls) = l.endpoint.tls.clone() else {
        return Handshake::Close;
    };
    #[allow(clippy::never_loop)] // every arm returns: one handshake step per drive
    loop {
        let crate::io::Transport::Tls(t) = &mut l.io.stream else {
            return Handshake::Close;
        };
        let r = t.handshake(&|acc: &rustls::server::Accepted| {
            let name = acc.client_hello().server_name().map(str::to_string);
            let cfg = tls
                .select(name.as_deref())
                .map(|c| c.pick(acc.client_hello().cipher_suites()));
            if cfg.is_none() {
                log::debug!(
                    "Connection id \"{}\" refused: no certificate is configured for server \
                     name {name:?}",
                    l.info.id()
                );
            }
            cfg
        });
        match r {
            Ok(Step::Done) => return done(l, &tls),
            Ok(want) => {
                // The socket has nothing more (or no room): park at once, under the
                // handshake deadline (past it, the timer thread expires it at once).
                *wants_write = want == Step::WantWrite;
                return Handshake::Park;
            }
            Err(e) => {
                log::debug!("Connection id \"{}\" TLS handshake failed: {e}", l.id());
                cx.counters()
                    .handshake_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Handshake::Close;
            }
        }
    }
}

/// Records what the handshake negotiated, lets the endpoint's filter refuse it, and
/// says which protocol follows.
fn done(l: &mut Link, tls: &TlsEndpoint) -> Handshake {
    use crate::tls::{TlsInfo, TlsVersion};
    let crate::io::Transport::Tls(t) = &l.io.stream else {
        return Handshake::Close;
    };
    let Some(c) = t.connection() else {
        return Handshake::Close;
    };
    let info = TlsInfo {
        version: if c.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3) {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        },
        cipher_suite: c
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        alpn: c
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server_name: c.server_name().map(str::to_string),
        client_certificates: c
            .peer_certificates()
            .map(|v| v.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default(),
    };
    log::debug!(
        "Connection id \"{}\" TLS handshake completed: {} {} ALPN {:?} SNI {:?} client \
         certificate {}",
        l.id(),
        info.version,
        info.cipher_suite,
        info.alpn,
        info.server_name,
        !info.client_certificates.is_empty()
    );
    if let Some(filter) = &tls.filter {
        if let Err(reason) = filter(&info, &l.info) {
            log::info!(
                "Connection id \"{}\" refused by the TLS filter: {reason}",
                l.id()
            );
            l.io.stream.shutdown_write();
            return Handshake::Close;
        }
    }
    let h2 = info.alpn.as_deref() == Some("h2");
    l.info.set_tls(info);
    if !h2 && l.endpoint.protocols == crate::options::Protocols::Http2 {
        log::error!(
            "Connection id \"{}\" refused: the endpoint speaks HTTP/2 only and the client \
             did not negotiate h2 through ALPN",
            l.id()
        );
        l.io.stream.shutdown_write();
        return Handshake::Close;
    }
    Handshake::Done { h2 }
}

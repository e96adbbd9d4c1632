//! TLS over a non-blocking socket: rustls's sans-I/O connection driven with the same
//! non-blocking `read`/`write` calls as a plain socket, so [`super::DeadlineIo`]'s waits,
//! deadlines and data rates apply unchanged.
//!
//! Invariants the drivers rely on:
//! - `read` returns `WouldBlock` only when no decrypted byte is buffered and the socket
//!   has nothing more to read, so parking on socket readability never strands data.
//! - `write` accepts plaintext only after earlier TLS records went out, so at most one
//!   write's worth of ciphertext is buffered; [`TlsStream::pending_output`] says whether any
//!   is, and [`TlsStream::flush_output`] pushes it out (drivers do before they park or
//!   consider a response written).

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::server::{Accepted, Acceptor};
use rustls::{ServerConfig, ServerConnection};

use super::Transport;

/// The most plaintext taken in one `write`: a few full TLS records.
const MAX_PLAINTEXT_PER_WRITE: usize = 64 * 1024;

/// A fatal `unrecognized_name` alert (TLS 1.2 record framing, which TLS 1.3 clients also
/// accept before the handshake), sent when no SNI entry matches.
const ALERT_UNRECOGNIZED_NAME: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 112];

enum State {
    /// Reading the ClientHello.
    Hello(Box<Acceptor>),
    /// Handshaking or established.
    Conn(Box<ServerConnection>),
    /// The handshake failed.
    Failed,
}

/// Progress of a handshake step.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Handshake {
    Done,
    /// Waiting for the client's bytes.
    WantRead,
    /// Waiting for the socket to take ours.
    WantWrite,
}

/// A server-side TLS stream.
pub(crate) struct TlsStream {
    pub(crate) sock: Transport,
    state: State,
    /// The last socket read returned fewer bytes than rustls asked for: the socket was
    /// empty then (see [`TlsStream::socket_drained`]). Forgotten when the connection
    /// parks or waits ([`TlsStream::forget_short`]).
    sock_short: bool,
}

/// The socket as rustls reads it, noting whether a read came back short.
struct NoteShort<'a> {
    sock: &'a mut Transport,
    short: &'a mut bool,
}

impl Read for NoteShort<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf)?;
        *self.short = n < buf.len();
        Ok(n)
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match &self.state {
            State::Hello(_) => "hello",
            State::Conn(c) if c.is_handshaking() => "handshaking",
            State::Conn(_) => "established",
            State::Failed => "failed",
        };
        f.debug_struct("TlsStream")
            .field("sock", &self.sock)
            .field("state", &s)
            .finish()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// What a socket read during the handshake means: `Ok(None)` go on (bytes arrived, or a
/// signal interrupted), `Ok(Some(WantRead))` wait for the client, an error ends it.
fn handshake_read(r: io::Result<usize>) -> io::Result<Option<Handshake>> {
    match r {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "client closed the connection during the TLS handshake",
        )),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Some(Handshake::WantRead)),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(e),
    }
}

impl TlsStream {
    pub(crate) fn new(sock: Transport) -> TlsStream {
        TlsStream {
            sock,
            state: State::Hello(Box::default()),
            sock_short: false,
        }
    }

    /// The established (or handshaking) connection.
    pub(crate) fn connection(&self) -> Option<&ServerConnection> {
        match &self.state {
            State::Conn(c) => Some(c),
            _ => None,
        }
    }

    /// Advances the handshake as far as the socket allows without blocking. `select`
    /// picks the config from the ClientHello (`None` refuses the client).
    pub(crate) fn handshake(
        &mut self,
        select: &dyn Fn(&Accepted) -> Option<Arc<ServerConfig>>,
    ) -> io::Result<Handshake> {
        loop {
            match &mut self.state {
                State::Failed => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS handshake failed",
                    ))
                }
                State::Hello(acc) => {
                    match handshake_read(acc.read_tls(&mut self.sock)) {
                        Ok(Some(wait)) => return Ok(wait),
                        Ok(None) => {}
                        Err(e) => {
                            self.state = State::Failed;
                            return Err(e);
                        }
                    }
                    match acc.accept() {
                        Ok(None) => continue,
                        Ok(Some(accepted)) => {
                            let Some(cfg) = select(&accepted) else {
                                let _ = self.sock.write(&ALERT_UNRECOGNIZED_NAME);
                                self.state = State::Failed;
                                return Err(io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    "no certificate for the requested server name",
                                ));
                            };
                            match accepted.into_connection(cfg) {
                                Ok(c) => self.state = State::Conn(Box::new(c)),
                                Err((e, mut alert)) => {
                                    let _ = alert.write_all(&mut self.sock);
                                    self.state = State::Failed;
                                    return Err(tls_error(e));
                                }
                            }
                        }
                        Err((e, mut alert)) => {
                            let _ = alert.write_all(&mut self.sock);
                            self.state = State::Failed;
                            return Err(tls_error(e));
                        }
                    }
                }
                State::Conn(c) => {
                    if c.wants_write() {
                        match c.write_tls(&mut self.sock) {
                            Ok(_) => continue,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                return Ok(Handshake::WantWrite)
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    if !c.is_handshaking() {
                        return Ok(Handshake::Done);
                    }
                    if let Some(wait) = handshake_read(c.read_tls(&mut self.sock))? {
                        return Ok(wait);
                    }
                    if let Err(e) = c.process_new_packets() {
                        // Tell the client why (the alert rustls queued), best effort.
                        let _ = c.write_tls(&mut self.sock);
                        return Err(tls_error(e));
                    }
                }
            }
        }
    }

    /// After a read that returned fewer plaintext bytes than asked for: whether the
    /// socket was empty too (its last read came back short), so that nothing is left to
    /// read until the socket becomes readable again. Records rustls has only partly
    /// received wait for bytes that have not arrived.
    pub(crate) fn socket_drained(&self) -> bool {
        self.sock_short
    }

    /// Forgets that the last socket read came back short. Needed whenever the next read
    /// may follow an edge-triggered readiness event: bytes that arrived after that read
    /// raised the event, and a read served from plaintext buffered before them must not
    /// report the socket empty (the event is spent, none would come for those bytes).
    pub(crate) fn forget_short(&mut self) {
        self.sock_short = false;
    }

    /// Whether encrypted bytes wait to be written.
    pub(crate) fn pending_output(&self) -> bool {
        matches!(&self.state, State::Conn(c) if c.wants_write())
    }

    /// Writes buffered TLS records; `WouldBlock` when the socket is full.
    pub(crate) fn flush_output(&mut self) -> io::Result<()> {
        let State::Conn(c) = &mut self.state else {
            return Ok(());
        };
        while c.wants_write() {
            match c.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Queues a close_notify alert and tries to send it.
    pub(crate) fn close_notify(&mut self) {
        if let State::Conn(c) = &mut self.state {
            c.send_close_notify();
            let _ = self.flush_output();
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let State::Conn(c) = &mut self.state else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS handshake not complete",
            ));
        };
        loop {
            match c.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: a truncation, but for HTTP/1.1
                // framing decides whether anything was lost; report end of stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Key updates and alerts rustls owes the peer; the socket being full is not
            // a reason to stop reading.
            while c.wants_write() {
                match c.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let mut probe = NoteShort {
                sock: &mut self.sock,
                short: &mut self.sock_short,
            };
            match c.read_tls(&mut probe) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if let Err(e) = c.process_new_packets() {
                let _ = c.write_tls(&mut self.sock);
                return Err(tls_error(e));
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.flush_output()?;
        let State::Conn(c) = &mut self.state else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS handshake not complete",
            ));
        };
        let n = c
            .writer()
            .write(&buf[..buf.len().min(MAX_PLAINTEXT_PER_WRITE)])?;
        match self.flush_output() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    /// Every slice in one TLS record where they fit (a response head and its body leave
    /// in one record and one socket write, not one each).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.flush_output()?;
        let State::Conn(c) = &mut self.state else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS handshake not complete",
            ));
        };
        // At most MAX_PLAINTEXT_PER_WRITE bytes, as `write` takes: all slices when they
        // fit (no copy, no allocation), else the start of the first non-empty one.
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let n = if total <= MAX_PLAINTEXT_PER_WRITE {
            c.writer().write_vectored(bufs)?
        } else {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            c.writer()
                .write(&first[..first.len().min(MAX_PLAINTEXT_PER_WRITE)])?
        };
        match self.flush_output() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_output()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rustls::pki_types::{CertificateDer, ServerName};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned};
    use rustls_pki_types::pem::PemObject;

    use super::{Handshake, TlsStream};
    use crate::io::{DeadlineIo, Transport};
    use crate::tls::{Certificate, CertificateSource};

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/");

    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl ResolvesServerCert for Fixed {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    /// A server `DeadlineIo` over TLS on a loopback TCP connection, and the rustls client
    /// at the other end (blocking), both past the handshake.
    fn tls_pair() -> (DeadlineIo, StreamOwned<ClientConnection, TcpStream>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert = Certificate::load(&CertificateSource::pem(
            format!("{DATA}localhost.crt"),
            format!("{DATA}localhost.key"),
        ))
        .unwrap();
        let server_config = Arc::new(
            ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Fixed(cert.key.clone()))),
        );
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(format!("{DATA}ca.crt")).unwrap())
            .unwrap();
        let client_config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client_sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_sock, _) = listener.accept().unwrap();
        server_sock.set_nonblocking(true).unwrap();
        let client_thread = std::thread::spawn(move || {
            let name = ServerName::try_from("localhost").unwrap();
            let conn = ClientConnection::new(Arc::new(client_config), name).unwrap();
            let mut client = StreamOwned::new(conn, client_sock);
            while client.conn.is_handshaking() {
                client.conn.complete_io(&mut client.sock).unwrap();
            }
            client
        });
        let mut tls = TlsStream::new(Transport::Tcp(Arc::new(server_sock)));
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            match tls.handshake(&|_| Some(server_config.clone())).unwrap() {
                Handshake::Done => break,
                Handshake::WantRead | Handshake::WantWrite => {
                    assert!(Instant::now() < give_up, "the handshake did not finish");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let client = client_thread.join().unwrap();
        let abort = Arc::new(crate::server::event_loop::new_event().unwrap());
        (
            DeadlineIo::new(Transport::Tls(Box::new(tls)), abort, None),
            client,
        )
    }

    /// Waits until the server's socket holds unread bytes.
    fn arrived(io: &DeadlineIo) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !io.stream.has_unread() {
            assert!(Instant::now() < give_up, "the client's bytes never arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
        // The rest of what was written in one go.
        std::thread::sleep(Duration::from_millis(20));
    }

    /// The soak's lost upload: a drive reads plaintext decrypted before the bytes that
    /// woke it arrived, with the socket read that decrypted it having come back short.
    /// After parking (an edge-triggered event spent on those bytes), a read that ends the
    /// buffered plaintext must not report the socket empty: the bytes are read, not left
    /// for an event that never comes.
    #[test]
    fn a_read_after_parking_looks_at_the_socket() {
        let (mut io, mut client) = tls_pair();
        // Two records, as an HTTP/2 client sends a 16,393-byte DATA frame.
        client.write_all(&[1u8; 16384]).unwrap();
        client.write_all(&[2u8; 9]).unwrap();
        client.flush().unwrap();
        arrived(&io);
        // The first drive: reads in 4 KiB steps; the socket read that completes the
        // records comes back short (nothing more has been sent yet).
        let mut buf = [0u8; 4096];
        assert_eq!(io.try_read(&mut buf).unwrap(), Some(4096));
        // More bytes arrive (their edge wakes the connection), and it parks.
        client.write_all(&[3u8; 100]).unwrap();
        client.flush().unwrap();
        arrived(&io);
        io.forget_drained();
        // The drive the edge started: every byte the client sent is read.
        let mut got = 4096;
        loop {
            match io.try_read(&mut buf).unwrap() {
                Some(0) => panic!("end of stream"),
                Some(n) => got += n,
                None => break,
            }
        }
        assert_eq!(got, 16384 + 9 + 100, "bytes left in the socket unread");
        assert!(!io.stream.has_unread());
    }
}

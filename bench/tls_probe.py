#!/usr/bin/env python3
"""What an HTTPS server of bench/run.sh does about TLS session resumption by default.

    tls_probe.py HOST PORT CA_CERT > resumption.json

For TLS 1.3 and for TLS 1.2 (each alone): one connection with `GET /` (Connection: close),
read to the end (so that TLS 1.3 tickets sent after the handshake are taken in), then a
second connection that offers the first one's session. Prints one JSON object:

    {"tls1_3": {"ok": true, "version": "TLSv1.3", "cipher": "...", "has_ticket": true,
                "ticket_lifetime_hint": 300, "resumed": true}, "tls1_2": {...}}

`has_ticket`: the server sent a session ticket (TLS 1.2: RFC 5077, stateless on the server;
TLS 1.3: every resumption goes through a ticket, stateless or not). `resumed`: the second
connection was resumed (TLS 1.2 without a ticket: from the server's session-ID cache). Every
step has a timeout (5 s); errors are reported per version, never raised.
"""

import json
import socket
import ssl
import sys

TIMEOUT = 5.0


def one(host, port, ctx, session=None):
    raw = socket.create_connection((host, port), timeout=TIMEOUT)
    s = ctx.wrap_socket(raw, server_hostname=host, session=session)
    try:
        s.settimeout(TIMEOUT)
        s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
        data = b""
        while len(data) < 1 << 16:
            try:
                chunk = s.recv(4096)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
        return s.version(), s.cipher(), s.session, s.session_reused, data[:12]
    finally:
        try:
            s.close()
        except OSError:
            pass


def probe(host, port, ca, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.minimum_version = version
    ctx.maximum_version = version
    r = {"ok": False}
    try:
        ver, cipher, sess, _, head = one(host, port, ctx)
        r.update(version=ver, cipher=cipher[0] if cipher else None,
                 status=head.decode("latin-1", "replace"),
                 has_ticket=bool(sess and sess.has_ticket),
                 ticket_lifetime_hint=sess.ticket_lifetime_hint if sess else None,
                 session_id_len=len(sess.id) if sess else None)
        _, _, _, reused, _ = one(host, port, ctx, session=sess)
        r.update(resumed=bool(reused), ok=True)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        r["error"] = "%s: %s" % (type(e).__name__, e)
    return r


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    out = {"tls1_3": probe(host, port, ca, ssl.TLSVersion.TLSv1_3),
           "tls1_2": probe(host, port, ca, ssl.TLSVersion.TLSv1_2)}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Differential check of falconet's HTTP/1 request parsing against Python's h11.

Run by tests/differential.rs, which starts a falconet server whose handler answers every
request with 200 and a JSON echo of it (method, target, version, header fields and body,
the bytes in hex). For each generated case this script

- sends the case's bytes, then a sentinel request (`GET /__end`, `Connection: close`),
  then half-closes, over a real TCP connection to falconet, and reads every response until
  the server closes: falconet's verdict is the list of requests it handed to the handler
  and how the connection ended (clean close after the sentinel, or an error status and a
  close);
- feeds the same bytes (and EOF) to an h11 server connection, answering each complete
  request with an empty 200 as falconet's handler does: h11's verdict has the same shape.

The sentinel makes framing disagreements visible: a body one side reads as the next
request shows up as an extra (or missing) request in the list.

Verdicts are compared after one normalisation both sides get alike: header names are
lower-cased, Content-Length values that are lists of equal numbers become one number
(RFC 9110 §8.6), Transfer-Encoding values are lower-cased (codings are case-insensitive,
RFC 9112 §7). A difference passes only when `allowed.json` lists the case with exactly the
two verdict summaries observed and an RFC clause saying why falconet's answer is right;
an allow-list entry that no longer matches a difference fails as well, so the list stays
exact.

Exit status: 0 no unexplained difference, 1 differences, 2 harness error, 3 h11 missing.
"""

import argparse
import json
import socket
import sys
import time

try:
    import h11
except ImportError as e:  # pragma: no cover - depends on the machine
    print("MISSING h11: %s" % e)
    sys.exit(3)

CRLF = b"\r\n"
SENTINEL = b"GET /__end HTTP/1.1\r\nHost: end\r\nConnection: close\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


def request(method=b"POST", target=b"/", version=b"HTTP/1.1", fields=((b"Host", b"a"),),
            body=b"", eol=CRLF):
    """A request from parts; `fields` are (name, value) byte pairs written as `n: v`."""
    out = method + b" " + target + b" " + version + eol
    for name, value in fields:
        out += name + b": " + value + eol
    return out + eol + body


def raw_fields(lines, method=b"POST", body=b""):
    """A request whose header lines (after Host) are given raw, CRLF-terminated."""
    return method + b" / HTTP/1.1\r\nHost: a\r\n" + b"".join(l + CRLF for l in lines) + CRLF + body


def chunked(body_bytes):
    return raw_fields([b"Transfer-Encoding: chunked"], body=body_bytes)


def cases():
    """Yields (name, bytes). Names are stable: the allow-list refers to them."""
    # Baselines.
    yield "get", request(b"GET")
    yield "post-content-length", request(fields=[(b"Host", b"a"), (b"Content-Length", b"5")], body=b"hello")
    yield "post-chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n")
    yield "http10-get", b"GET / HTTP/1.0\r\n\r\n"
    yield "http10-keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    yield "pipelined-two", request(b"GET") + request(b"GET", b"/second")
    yield "connection-close-then-more", request(b"GET", fields=[(b"Host", b"a"), (b"Connection", b"close")]) + request(b"GET", b"/after")
    yield "lowercase-method", request(b"get")
    yield "invalid-method-token", request(b"G(T")
    yield "leading-empty-line", CRLF + request(b"GET")

    # Content-Length forms, each followed by a request that a misread length would expose.
    for name, value, body in [
        ("cl-list-equal", b"1, 1", b"a"),
        ("cl-list-equal-nospace", b"1,1", b"a"),
        ("cl-list-differ", b"1, 2", b"ab"),
        ("cl-list-empty-element", b"1,,1", b"a"),
        ("cl-plus", b"+1", b"a"),
        ("cl-leading-zero", b"01", b"a"),
        ("cl-ows", b" 1 ", b"a"),
        ("cl-tab", b"\t1", b"a"),
        ("cl-inner-space", b"1 1", b"a"),
        ("cl-negative", b"-1", b"a"),
        ("cl-hex", b"0x1", b"a"),
        ("cl-hex-letter", b"a", b"a"),
        ("cl-decimal-point", b"1.0", b"a"),
        ("cl-exponent", b"1e0", b"a"),
        ("cl-empty", b"", b""),
        ("cl-huge-u64-overflow", b"99999999999999999999", b"a"),
        ("cl-huge-21-digits", b"999999999999999999999", b"a"),
        ("cl-u64-max", b"18446744073709551615", b"a"),
        ("cl-larger-than-body", b"100", b"a"),
        ("cl-zero-with-request-as-body", b"0", SMUGGLED),
    ]:
        yield name, request(fields=[(b"Host", b"a"), (b"Content-Length", value)], body=body) + SMUGGLED
    yield "cl-two-fields-equal", raw_fields([b"Content-Length: 1", b"Content-Length: 1"], body=b"a")
    yield "cl-two-fields-differ", raw_fields([b"Content-Length: 1", b"Content-Length: 2"], body=b"ab")
    yield "cl-two-fields-zero-then-five", raw_fields([b"Content-Length: 0", b"Content-Length: 5"], body=b"hello")
    yield "cl-name-uppercase", raw_fields([b"CONTENT-LENGTH: 1"], body=b"a")
    yield "cl-on-get", raw_fields([b"Content-Length: 5"], method=b"GET", body=b"hello")

    # Transfer-Encoding lists and casing.
    te_body = b"5\r\nhello\r\n0\r\n\r\n"
    for name, value in [
        ("te-chunked-capitalised", b"Chunked"),
        ("te-chunked-upper", b"CHUNKED"),
        ("te-identity-chunked", b"identity, chunked"),
        ("te-chunked-identity", b"chunked, identity"),
        ("te-gzip-chunked", b"gzip, chunked"),
        ("te-chunked-gzip", b"chunked, gzip"),
        ("te-gzip", b"gzip"),
        ("te-identity", b"identity"),
        ("te-chunked-chunked", b"chunked, chunked"),
        ("te-chunked-trailing-comma", b"chunked,"),
        ("te-leading-comma-chunked", b", chunked"),
        ("te-ows", b" chunked "),
        ("te-empty", b""),
        ("te-chunked-param", b"chunked;q=1"),
        ("te-xchunked", b"xchunked"),
        ("te-chunked-vtab", b"chunked\x0b"),
        ("te-quoted", b"\"chunked\""),
    ]:
        yield name, raw_fields([b"Transfer-Encoding: " + value], body=te_body) + SMUGGLED
    yield "te-two-fields-chunked", raw_fields([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], body=te_body)
    yield "te-two-fields-gzip-chunked", raw_fields([b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"], body=te_body)
    yield "te-two-fields-chunked-identity", raw_fields([b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"], body=te_body)
    yield "te-then-cl", raw_fields([b"Transfer-Encoding: chunked", b"Content-Length: 3"], body=b"0\r\n\r\n" + SMUGGLED)
    yield "cl-then-te", raw_fields([b"Content-Length: 3", b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n" + SMUGGLED)
    yield "cl-zero-then-te", raw_fields([b"Content-Length: 0", b"Transfer-Encoding: chunked"], body=te_body)
    yield "te-http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + te_body
    yield "te-name-lowercase", raw_fields([b"transfer-encoding: chunked"], body=te_body)
    yield "te-space-before-colon", raw_fields([b"Transfer-Encoding : chunked"], body=te_body)
    yield "te-obs-fold", raw_fields([b"Transfer-Encoding:", b" chunked"], body=te_body)
    yield "te-on-get", raw_fields([b"Transfer-Encoding: chunked"], method=b"GET", body=te_body)

    # Whitespace and control bytes in field names and values.
    yield "space-before-colon", raw_fields([b"X-A : 1"], method=b"GET")
    yield "tab-before-colon", raw_fields([b"X-A\t: 1"], method=b"GET")
    yield "cl-space-before-colon", raw_fields([b"Content-Length : 1"], body=b"a") + SMUGGLED
    yield "space-in-name", raw_fields([b"X A: 1"], method=b"GET")
    yield "empty-name", raw_fields([b": 1"], method=b"GET")
    yield "no-colon", raw_fields([b"X-A 1"], method=b"GET")
    yield "tab-in-value", raw_fields([b"X-A: a\tb"], method=b"GET")
    yield "tab-leading-value", raw_fields([b"X-A:\ta"], method=b"GET")
    yield "trailing-ows-value", raw_fields([b"X-A: a \t "], method=b"GET")
    yield "empty-value", raw_fields([b"X-A:"], method=b"GET")
    yield "nul-in-value", raw_fields([b"X-A: a\x00b"], method=b"GET")
    yield "nul-in-name", raw_fields([b"X-\x00A: 1"], method=b"GET")
    yield "cr-in-value", raw_fields([b"X-A: a\rb"], method=b"GET")
    yield "vtab-in-value", raw_fields([b"X-A: a\x0bb"], method=b"GET")
    yield "formfeed-in-value", raw_fields([b"X-A: a\x0cb"], method=b"GET")
    yield "del-in-value", raw_fields([b"X-A: a\x7fb"], method=b"GET")
    yield "esc-in-value", raw_fields([b"X-A: a\x1bb"], method=b"GET")
    yield "obs-text-in-value", raw_fields([b"X-A: caf\xe9"], method=b"GET")
    yield "non-token-name", raw_fields([b"X-A(b): 1"], method=b"GET")
    yield "obs-fold", raw_fields([b"X-A: a", b" b"], method=b"GET")
    yield "obs-fold-tab", raw_fields([b"X-A: a", b"\tb"], method=b"GET")
    yield "whitespace-before-first-field", b"GET / HTTP/1.1\r\n X-A: 1\r\nHost: a\r\n\r\n"

    # Chunk-size forms.
    for name, body in [
        ("chunk-leading-zeros", b"005\r\nhello\r\n0\r\n\r\n"),
        ("chunk-many-leading-zeros", b"00000000000000000005\r\nhello\r\n0\r\n\r\n"),
        ("chunk-0x-prefix", b"0x5\r\nhello\r\n0\r\n\r\n"),
        ("chunk-uppercase-hex", b"A\r\n0123456789\r\n0\r\n\r\n"),
        ("chunk-extension", b"5;ext=1\r\nhello\r\n0\r\n\r\n"),
        ("chunk-extension-quoted", b"5;ext=\"a;b\"\r\nhello\r\n0\r\n\r\n"),
        ("chunk-extension-no-name", b"5;\r\nhello\r\n0\r\n\r\n"),
        ("chunk-extension-bws", b"5 ;ext=1\r\nhello\r\n0\r\n\r\n"),
        ("chunk-last-extension", b"5\r\nhello\r\n0;ext\r\n\r\n"),
        ("chunk-size-trailing-space", b"5 \r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-leading-space", b" 5\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-tab", b"5\t\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-negative", b"-5\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-empty", b"\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-huge-20-hex", b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-overflow-17-hex", b"10000000000000005\r\nhello\r\n0\r\n\r\n"),
        ("chunk-size-bare-lf", b"5\nhello\r\n0\r\n\r\n"),
        ("chunk-data-bare-lf", b"5\r\nhello\n0\r\n\r\n"),
        ("chunk-data-missing-crlf", b"5\r\nhello0\r\n\r\n"),
        ("chunk-data-too-long", b"3\r\nhello\r\n0\r\n\r\n"),
        ("chunk-trailer", b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
        ("chunk-trailer-bad", b"5\r\nhello\r\n0\r\nX T: 1\r\n\r\n"),
        ("chunk-last-bare-lf", b"5\r\nhello\r\n0\n\n"),
        ("chunk-no-last-chunk", b"5\r\nhello\r\n"),
    ]:
        yield name, chunked(body) + SMUGGLED

    # Line endings.
    yield "bare-lf-everywhere", b"GET / HTTP/1.1\nHost: a\n\n"
    yield "bare-lf-request-line", b"GET / HTTP/1.1\nHost: a\r\n\r\n"
    yield "bare-lf-field", b"GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n"
    yield "bare-lf-end-of-head", b"GET / HTTP/1.1\r\nHost: a\r\n\n"
    yield "bare-cr-request-line", b"GET / HTTP/1.1\rHost: a\r\n\r\n"
    yield "bare-cr-field", b"GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n"
    yield "bare-cr-end-of-head", b"GET / HTTP/1.1\r\nHost: a\r\n\r"

    # Request targets.
    yield "absolute-form", request(b"GET", b"http://a/p?q")
    yield "absolute-form-https", request(b"GET", b"https://a/p")
    yield "absolute-form-no-path", request(b"GET", b"http://a")
    yield "absolute-form-host-mismatch", request(b"GET", b"http://a/", fields=[(b"Host", b"b")])
    yield "absolute-form-no-host", request(b"GET", b"http://a/", fields=[])
    yield "absolute-form-userinfo", request(b"GET", b"http://u@a/")
    yield "absolute-form-port", request(b"GET", b"http://a:8080/", fields=[(b"Host", b"a:8080")])
    yield "asterisk-options", request(b"OPTIONS", b"*")
    yield "asterisk-get", request(b"GET", b"*")
    yield "authority-form-connect", request(b"CONNECT", b"a:443", fields=[(b"Host", b"a:443")])
    yield "authority-form-get", request(b"GET", b"a:443")
    yield "target-fragment", request(b"GET", b"/p#f")
    yield "target-with-space", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"
    yield "target-obs-text", request(b"GET", b"/caf\xe9")
    yield "target-del", request(b"GET", b"/a\x7fb")
    yield "double-space-after-method", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"
    yield "trailing-space-after-version", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n"
    yield "tab-separator", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"

    # Host variants.
    yield "host-missing", b"GET / HTTP/1.1\r\n\r\n"
    yield "host-missing-http10", b"GET / HTTP/1.0\r\n\r\n"
    yield "host-duplicate-same", raw_fields([b"Host: a"], method=b"GET")
    yield "host-duplicate-differ", raw_fields([b"Host: b"], method=b"GET")
    yield "host-duplicate-http10", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"
    yield "host-empty", request(b"GET", fields=[(b"Host", b"")])
    yield "host-userinfo", request(b"GET", fields=[(b"Host", b"u@a")])
    yield "host-port", request(b"GET", fields=[(b"Host", b"a:8080")])
    yield "host-port-empty", request(b"GET", fields=[(b"Host", b"a:")])
    yield "host-port-letters", request(b"GET", fields=[(b"Host", b"a:x")])
    yield "host-port-too-big", request(b"GET", fields=[(b"Host", b"a:99999")])
    yield "host-ipv6", request(b"GET", fields=[(b"Host", b"[::1]:80")])
    yield "host-space", request(b"GET", fields=[(b"Host", b"a b")])
    yield "host-comma", request(b"GET", fields=[(b"Host", b"a, b")])
    yield "host-slash", request(b"GET", fields=[(b"Host", b"a/b")])

    # HTTP versions.
    for name, version in [
        ("version-1.2", b"HTTP/1.2"),
        ("version-1.9", b"HTTP/1.9"),
        ("version-2.0", b"HTTP/2.0"),
        ("version-3.0", b"HTTP/3.0"),
        ("version-0.9", b"HTTP/0.9"),
        ("version-1.10", b"HTTP/1.10"),
        ("version-lowercase", b"http/1.1"),
        ("version-no-minor", b"HTTP/1"),
        ("version-11", b"HTTP/11"),
        ("version-letters", b"HTTP/x.y"),
    ]:
        yield name, request(b"GET", version=version)
    yield "version-1.2-keeps-alive", request(b"GET", version=b"HTTP/1.2") + request(b"GET", b"/second")
    yield "version-1.2-missing-host", b"GET / HTTP/1.2\r\n\r\n"
    yield "version-1.2-chunked", b"POST / HTTP/1.2\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + te_body
    yield "version-missing", b"GET /\r\nHost: a\r\n\r\n"


# ---- Verdicts ----------------------------------------------------------------------


def normalise_headers(headers):
    """Sorted (lower-case name, value) pairs, with the shared normalisation."""
    out = []
    for name, value in headers:
        name = name.lower()
        if name == b"content-length":
            values = {v.strip() for v in value.split(b",")}
            if len(values) == 1:
                value = values.pop()
            if (name, value) in out:
                continue  # several equal Content-Length fields are one (RFC 9110 §8.6)
        elif name == b"transfer-encoding":
            value = value.lower()
        out.append((name, value))
    return sorted(out)


def h11_verdict(data):
    """What h11, as a server, makes of `data` followed by EOF."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    requests = []
    current = None
    current_method = None
    for _ in range(1000):
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            return {"requests": requests, "end": "%d+close" % e.error_status_hint}
        if isinstance(event, h11.Request):
            current_method = event.method
            current = {
                "method": event.method,
                "target": event.target,
                "version": event.http_version,
                "headers": normalise_headers(list(event.headers)),
                "body": b"",
            }
        elif isinstance(event, h11.Data):
            current["body"] += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            requests.append(current)
            current = None
            # As the echo handler: 405 to CONNECT (no tunnel), else 200.
            status = 405 if current_method == b"CONNECT" else 200
            conn.send(h11.Response(status_code=status, headers=[(b"Content-Length", b"0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
            else:
                return {"requests": requests, "end": "close"}
        elif isinstance(event, h11.ConnectionClosed):
            return {"requests": requests, "end": "close"}
        elif event is h11.NEED_DATA:
            # Only after EOF in a state h11 does not treat as an error.
            return {"requests": requests, "end": "close"}
        elif event is h11.PAUSED:
            return {"requests": requests, "end": "paused"}
    raise RuntimeError("h11 produced too many events")


def parse_responses(data):
    """[(status, headers dict, body)] of the complete responses in `data` (falconet's
    responses carry Content-Length; interim 1xx responses are skipped)."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        head = data[:end].split(b"\r\n")
        status = int(head[0].split(b" ")[1])
        headers = {}
        for line in head[1:]:
            n, _, v = line.partition(b":")
            headers[n.strip().lower()] = v.strip()
        rest = data[end + 4:]
        if 100 <= status < 200:
            data = rest
            continue
        length = int(headers.get(b"content-length", b"0"))
        if len(rest) < length:
            return out, data
        out.append((status, headers, rest[:length]))
        data = rest[length:]


def falconet_verdict(addr, data, timeout):
    """What falconet makes of `data`: sent over TCP, then a half-close; every response
    read until the server closes the connection."""
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    received = b""
    closed = False
    deadline = time.monotonic() + timeout
    try:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server closed first: what it sent still counts
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        sock.close()
    responses, leftover = parse_responses(received)
    requests = []
    end = None
    for status, headers, body in responses:
        if status in (200, 405) and headers.get(b"content-type") == b"application/json":
            echo = json.loads(body)
            requests.append({
                "method": echo["method"].encode(),
                "target": echo["target"].encode("latin-1"),
                "version": echo["version"].replace("HTTP/", "").encode(),
                "headers": normalise_headers(
                    [(n.encode(), bytes.fromhex(v)) for n, v in echo["headers"]]),
                "body": bytes.fromhex(echo["body"]),
            })
            if echo.get("body_error"):
                end = "body-error(%s)" % echo["body_error"]
                break
        else:
            end = "%d%s" % (status, "+close" if closed else "+open")
            break
    if end is None:
        end = "close" if closed else "open(timeout)"
    if leftover.strip():
        end += "+junk(%r)" % leftover[:40]
    return {"requests": requests, "end": end}


def summary(verdict):
    """A one-line form of a verdict, as the allow-list records it."""
    parts = []
    for r in verdict["requests"]:
        parts.append("%s %s %s b%d" % (
            r["method"].decode("latin-1"),
            r["target"].decode("latin-1"),
            r["version"].decode("latin-1"),
            len(r["body"])))
    parts.append(verdict["end"])
    return " | ".join(parts)


def differences(ours, theirs):
    """Human-readable differences between two verdicts (empty if they agree)."""
    out = []
    if ours["end"] != theirs["end"]:
        out.append("end: falconet %s, h11 %s" % (ours["end"], theirs["end"]))
    if len(ours["requests"]) != len(theirs["requests"]):
        out.append("requests: falconet %d, h11 %d" % (len(ours["requests"]), len(theirs["requests"])))
    for i, (a, b) in enumerate(zip(ours["requests"], theirs["requests"])):
        for key in ("method", "target", "version", "headers", "body"):
            if a[key] != b[key]:
                out.append("request %d %s: falconet %r, h11 %r" % (i, key, a[key], b[key]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True, help="falconet's host:port")
    parser.add_argument("--allowed", required=True, help="allow-list (JSON)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--show", action="store_true", help="print every verdict")
    parser.add_argument("--emit-allowed", action="store_true",
                        help="print allow-list entries (without reasons) for the differences")
    args = parser.parse_args()

    with open(args.allowed) as f:
        allowed = {e["case"]: e for e in json.load(f)["allowed"]}
    for name, entry in allowed.items():
        for key in ("falconet", "h11", "rfc", "why"):
            if not entry.get(key):
                print("allow-list entry %s lacks %r" % (name, key))
                return 2

    all_cases = list(cases())
    names = [n for n, _ in all_cases]
    if len(set(names)) != len(names):
        print("duplicate case names")
        return 2
    unknown = set(allowed) - set(names)
    if unknown:
        print("allow-list entries for cases that do not exist: %s" % sorted(unknown))
        return 1

    failures = []
    emitted = []
    agreeing = 0
    allowed_hits = 0
    started = time.monotonic()
    for name, data in all_cases:
        payload = data + SENTINEL
        theirs = h11_verdict(payload)
        ours = falconet_verdict(args.addr, payload, args.timeout)
        diff = differences(ours, theirs)
        ours_s, theirs_s = summary(ours), summary(theirs)
        if args.show:
            print("%-34s falconet: %s\n%-34s h11:      %s" % (name, ours_s, "", theirs_s))
        entry = allowed.get(name)
        if not diff:
            agreeing += 1
            if entry:
                failures.append("%s: listed in the allow-list but falconet and h11 agree "
                                "(%s); remove the entry" % (name, ours_s))
            continue
        if entry and entry["falconet"] == ours_s and entry["h11"] == theirs_s:
            allowed_hits += 1
            continue
        emitted.append({"case": name, "falconet": ours_s, "h11": theirs_s,
                        "rfc": entry["rfc"] if entry else "",
                        "why": entry["why"] if entry else ""})
        msg = ["%s: %r" % (name, payload)]
        msg += ["    " + d for d in diff]
        msg.append("    falconet: %s" % ours_s)
        msg.append("    h11:      %s" % theirs_s)
        if entry:
            msg.append("    (the allow-list expects falconet: %s / h11: %s)" % (entry["falconet"], entry["h11"]))
        failures.append("\n".join(msg))
    elapsed = time.monotonic() - started
    print("cases: %d, agreeing: %d, documented differences: %d, unexplained: %d (%.2f s)" % (
        len(all_cases), agreeing, allowed_hits,
        len(failures), elapsed))
    for f in failures:
        print(f)
    if args.emit_allowed:
        print(json.dumps(emitted, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Clients, monitor and report of bench/soak.sh (python3 standard library only).

Every client runs until the epoch time given by --until, checks every answer it gets and
keeps its counters in a JSON file (rewritten at most once a second and at the end):
    {"name", "sent", "ok", "failed", "failures": [first few], "extra": {...}, "done"}
sent = ok + failed for every client; "done" is true once it stopped cleanly.

    soak.py wrk      NAME URL --conns C --delay-ms D --chunk S    (wrk bursts, Lua body check)
    soak.py h2load   NAME URL --requests N --conns C --streams M --pause S
    soak.py upload   NAME --http HOST:PORT --https HOST:PORT --ca CERT   (http.client)
    soak.py curlup   NAME --http HOST:PORT --https HOST:PORT --ca CERT --dir D   (curl h1/h2c/h2)
    soak.py ws       NAME --http HOST:PORT --https HOST:PORT --ca CERT --persistent N
    soak.py churn    NAME --http HOST:PORT --https HOST:PORT --ca CERT --rate R
    soak.py attack   NAME --http HOST:PORT --https HOST:PORT --peers DIR ...
    soak.py monitor  --pid PID --status URL --counters DIR --out FILE --start T --until T
    soak.py quiesce  --pid PID --status URL --out FILE [--baseline FILE]
    soak.py report   --dir SCRATCH                                   (verdict; exit 1 on failure)

Common options of the clients: --until EPOCH, --out FILE (the counters).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HELLO = b"Hello, World!"
MAX_FAILURES_KEPT = 10


# ------------------------------------------------------------------------------ counters
class Counters:
    """Thread-safe counters of one client, written to a JSON file."""

    def __init__(self, name, out):
        self.name, self.out = name, out
        self.sent = self.ok = self.failed = 0
        self.failures = []
        self.extra = {}
        self.lock = threading.Lock()
        self.last_write = 0.0
        self.done = False
        self.write(force=True)

    def add_ok(self, n=1):
        with self.lock:
            self.sent += n
            self.ok += n
        self.write()

    def add_fail(self, what, n=1):
        with self.lock:
            self.sent += n
            self.failed += n
            if len(self.failures) < MAX_FAILURES_KEPT:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {what}"[:400])
        print(f"[{self.name}] FAILED ({n}): {what}"[:600], file=sys.stderr, flush=True)
        self.write()

    def bump(self, key, n=1):
        with self.lock:
            self.extra[key] = self.extra.get(key, 0) + n
        self.write()

    def note(self, key, value):
        with self.lock:
            self.extra[key] = value
        self.write()

    def write(self, force=False):
        now = time.time()
        with self.lock:
            if not force and now - self.last_write < 1.0:
                return
            self.last_write = now
            data = {
                "name": self.name,
                "sent": self.sent,
                "ok": self.ok,
                "failed": self.failed,
                "failures": list(self.failures),
                "extra": dict(self.extra),
                "done": self.done,
            }
            tmp = f"{self.out}.tmp"
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.out)

    def finish(self):
        self.done = True
        self.write(force=True)


def left(until):
    return until - time.time()


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the certificate names localhost and 127.0.0.1; we use the IP
    return ctx


def run_client(fn, args):
    c = Counters(args.name, args.out)
    try:
        fn(args, c)
    except Exception as e:  # a client that crashes is a failure of the soak, not silence
        c.note("crashed", repr(e))
        c.add_fail(f"client crashed: {e!r}")
        c.write(force=True)
        raise
    c.finish()


# ------------------------------------------------------------------------------ wrk
WRK_LUA = r"""
-- written by bench/soak.py: a fixed delay per request (a modest rate without wrk -R), and
-- every response checked: status 200 and the body exactly "Hello, World!".
local delay_ms = %(delay)d
bad = 0
first_bad = ""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function delay() return delay_ms end
function response(status, headers, body)
  if status ~= 200 or body ~= "Hello, World!" then
    bad = bad + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. string.sub(tostring(body), 1, 60) end
  end
end
function done(summary, latency, requests)
  local b, first = 0, ""
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    local f = t:get("first_bad")
    if first == "" and f then first = f end
  end
  local e = summary.errors
  io.write(string.format("SOAK requests=%%d bad=%%d connect=%%d read=%%d write=%%d status=%%d timeout=%%d p99_us=%%d first=%%s\n",
    summary.requests, b, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(99), first))
end
"""


def cmd_wrk(args, c):
    script = f"{args.out}.lua"
    with open(script, "w") as f:
        f.write(WRK_LUA % {"delay": args.delay_ms})
    while left(args.until) >= 2:
        secs = int(min(args.chunk, left(args.until) - 1))
        if secs < 1:
            break
        cmd = ["wrk", "-t1", f"-c{args.conns}", f"-d{secs}s", "--timeout", "5s", "-s", script, args.url]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 30)
            out = p.stdout
        except subprocess.TimeoutExpired:
            c.add_fail(f"wrk did not finish within {secs + 30} s")
            continue
        m = re.search(r"SOAK requests=(\d+) bad=(\d+) connect=(\d+) read=(\d+) write=(\d+) status=(\d+) timeout=(\d+) p99_us=(\d+) first=(.*)", out)
        if not m:
            c.add_fail(f"wrk exited {p.returncode} without its summary: {(p.stderr or out)[-300:]!r}")
            time.sleep(1)
            continue
        req, bad, conn, rd, wr, _status, tmo, p99 = (int(x) for x in m.groups()[:8])
        first = m.group(9).strip()
        errors = conn + rd + wr + tmo
        good = req - bad
        if good:
            c.add_ok(good)
        if bad:
            c.add_fail(f"{bad} answers not 200 'Hello, World!' (first: {first!r})", bad)
        if errors:
            c.add_fail(f"socket errors: connect {conn}, read {rd}, write {wr}, timeout {tmo}", errors)
        c.bump("runs")
        c.note("last_p99_us", p99)
        c.note("max_p99_us", max(p99, c.extra.get("max_p99_us", 0)))
        time.sleep(min(1.0, max(0.0, left(args.until))))


# ------------------------------------------------------------------------------ h2load
def cmd_h2load(args, c):
    want_proto = "h2" if args.url.startswith("https:") else "h2c"
    while left(args.until) >= 2:
        cmd = ["h2load", "-n", str(args.requests), "-c", str(args.conns), "-m", str(args.streams), args.url]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            out = p.stdout
        except subprocess.TimeoutExpired:
            c.add_fail("h2load did not finish within 60 s", args.requests)
            continue
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
        s = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
        d = re.search(r"\((\d+)\) data", out)
        proto = re.search(r"Application protocol: (\S+)", out)
        if not (m and s and d):
            c.add_fail(f"h2load exited {p.returncode} without its summary: {(p.stderr or out)[-300:]!r}", args.requests)
            time.sleep(1)
            continue
        total, succeeded, ok2xx, data = int(m.group(1)), int(m.group(4)), int(s.group(1)), int(d.group(1))
        good = min(succeeded, ok2xx)
        if not proto or proto.group(1) != want_proto:
            c.add_fail(f"h2load negotiated {proto.group(1) if proto else 'nothing'}, not {want_proto}", total)
            continue
        if data != good * len(HELLO):
            # h2load does not look at bodies; the DATA byte count must be 13 per 2xx answer.
            short = max(1, (good * len(HELLO) - data + len(HELLO) - 1) // len(HELLO))
            short = min(short, good)
            c.add_fail(f"DATA bytes {data} != 13 x {good} answers", short)
            good -= short
        if good:
            c.add_ok(good)
        if total > good:
            c.add_fail(f"h2load: {total} requests, {succeeded} succeeded, {ok2xx} 2xx "
                       f"({m.group(5)} failed, {m.group(6)} errored, {m.group(7)} timeout)", total - good)
        c.bump("runs")
        time.sleep(min(args.pause, max(0.0, left(args.until))))


# ------------------------------------------------------------------------------ uploads
UPLOAD_SIZES = [0, 1, 1000, 16384, 65543, 1 << 20, (4 << 20) + 3]


def payloads(seed):
    rnd = random.Random(seed)
    return {n: rnd.randbytes(n) for n in UPLOAD_SIZES}


def cmd_upload(args, c):
    """HTTP/1.1 keep-alive uploads with http.client, plain and TLS: POST /upload with
    Content-Length, PUT /upload chunked, POST /stream (streamed echo); every body compared."""
    data = payloads(1)
    ctx = tls_context(args.ca)
    conns = {}

    def conn(kind):
        if kind not in conns:
            host, port = hostport(args.http if kind == "http" else args.https)
            if kind == "http":
                conns[kind] = http.client.HTTPConnection(host, port, timeout=30)
            else:
                conns[kind] = http.client.HTTPSConnection(host, port, timeout=30, context=ctx)
        return conns[kind]

    def chunks(b):
        for i in range(0, len(b), 100_000):
            yield b[i:i + 100_000]

    round_no = 0
    while left(args.until) > 1:
        round_no += 1
        kind = "https" if round_no % 3 == 0 else "http"
        for n, body in data.items():
            for variant in ("length", "chunked", "stream"):
                if left(args.until) <= 0:
                    break
                what = f"{kind} {variant} {n} B"
                h = conn(kind)
                try:
                    if variant == "length":
                        h.request("POST", "/upload", body=body, headers={"Content-Type": "application/octet-stream"})
                    elif variant == "chunked":
                        h.request("PUT", "/upload", body=chunks(body), encode_chunked=True)
                    else:
                        h.request("POST", "/stream", body=body)
                    r = h.getresponse()
                    got = r.read()
                    if r.status != 200:
                        c.add_fail(f"{what}: status {r.status}")
                    elif got != body:
                        c.add_fail(f"{what}: echoed {len(got)} B, not the {n} B sent")
                    elif variant != "stream" and r.getheader("Content-Length") != str(n):
                        c.add_fail(f"{what}: Content-Length {r.getheader('Content-Length')}")
                    else:
                        c.add_ok()
                        c.bump(f"bytes_{kind}", n)
                    if r.will_close:
                        h.close()
                        conns.pop(kind, None)
                        c.bump("server_closed_keepalive")
                except Exception as e:
                    c.add_fail(f"{what}: {e!r}")
                    h.close()
                    conns.pop(kind, None)
        time.sleep(min(args.pause, max(0.0, left(args.until))))
    for h in conns.values():
        h.close()


def cmd_curlup(args, c):
    """Uploads with curl: HTTP/1.1 (curl sends Expect: 100-continue above 1 MiB), h2c with
    prior knowledge, and h2 over TLS (ALPN); the echoed file compared with the one sent.
    Rounds alternate between /upload (a buffered echo) and /stream (a synchronous-I/O
    writer, which over HTTP/2 sends its HEADERS with its first bytes)."""
    data = payloads(2)
    os.makedirs(args.dir, exist_ok=True)
    files = {}
    for n, body in data.items():
        path = os.path.join(args.dir, f"up-{n}.bin")
        with open(path, "wb") as f:
            f.write(body)
        files[n] = path
    got_path = os.path.join(args.dir, "got.bin")
    variants = [
        ("h1", ["--http1.1"], f"http://{args.http}", "1.1"),
        ("h2c", ["--http2-prior-knowledge"], f"http://{args.http}", "2"),
        ("h2tls", ["--http2", "--cacert", args.ca], f"https://{args.https}", "2"),
    ]
    rounds = 0
    while left(args.until) > 1:
        route = "/stream" if rounds % 2 else "/upload"
        rounds += 1
        for name, flags, base, version in variants:
            for n, path in files.items():
                if left(args.until) <= 0:
                    break
                what = f"curl {name} POST {route} {n} B"
                try:
                    os.unlink(got_path)
                except FileNotFoundError:
                    pass
                cmd = ["curl", "-sS", "--max-time", "30", *flags, "--data-binary", f"@{path}",
                       "-H", "Content-Type: application/octet-stream",
                       "-o", got_path, "-w", "%{http_code} %{http_version}", f"{base}{route}"]
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=40)
                except subprocess.TimeoutExpired:
                    c.add_fail(f"{what}: curl hung")
                    continue
                code_ver = p.stdout.split()
                if p.returncode != 0:
                    c.add_fail(f"{what}: curl exit {p.returncode}: {p.stderr.strip()[-200:]}")
                elif code_ver != ["200", version]:
                    c.add_fail(f"{what}: got {p.stdout!r}, want 200 HTTP/{version}")
                else:
                    got = b""
                    if os.path.exists(got_path):  # curl writes no file for an empty body
                        with open(got_path, "rb") as f:
                            got = f.read()
                    if got != data[n]:
                        c.add_fail(f"{what}: echoed {len(got)} B differ from the {n} B sent")
                    else:
                        c.add_ok()
        time.sleep(min(args.pause, max(0.0, left(args.until))))


# ------------------------------------------------------------------------------ WebSocket
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 70000]


class WsError(Exception):
    pass


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise WsError(f"connection closed after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)


def ws_open(addr, tls_ctx):
    host, port = hostport(addr)
    s = socket.create_connection((host, port), timeout=10)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname=None)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: " + addr.encode() + b"\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)  # byte by byte: nothing of the WebSocket stream is read past the head
        if not b:
            raise WsError(f"closed during the handshake after {head[:80]!r}")
        head += b
        if len(head) > 8192:
            raise WsError("handshake answer too long")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        raise WsError(f"handshake answered {lines[0]!r}")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    want = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
    if hdrs.get("sec-websocket-accept") != want or hdrs.get("upgrade", "").lower() != "websocket":
        raise WsError(f"bad handshake headers {hdrs}")
    return s


def ws_send(s, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    # XOR with the mask over the whole payload at once (int arithmetic, fast enough).
    m = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big") if n else b""
    s.sendall(head + mask + masked)


def ws_recv(s):
    """One message: (opcode, payload); continuation frames are joined."""
    opcode, parts = None, []
    while True:
        b0, b1 = recv_exact(s, 2)
        if b1 & 0x80:
            raise WsError("the server masked a frame")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", recv_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", recv_exact(s, 8))[0]
        payload = recv_exact(s, n) if n else b""
        op = b0 & 0x0F
        if op >= 0x8:  # control frames are never fragmented and may come in between
            return op, payload
        if opcode is None:
            opcode = op
        parts.append(payload)
        if b0 & 0x80:
            return opcode, b"".join(parts)


def ws_close(s, c):
    """Clean close: our Close, the server's Close back, then EOF."""
    try:
        ws_send(s, 0x8, struct.pack("!H", 1000))
        while True:
            op, payload = ws_recv(s)
            if op == 0x8:
                break
        # after its Close the server closes the TCP connection
        s.settimeout(10)
        while True:
            try:
                if not s.recv(4096):
                    break
            except ssl.SSLError:
                break
        c.add_ok()
        c.bump("closed_cleanly")
    except Exception as e:
        c.add_fail(f"close handshake: {e!r}")
    finally:
        s.close()


def ws_exchange(s, rnd, c, i):
    """One echo (or, every 10th, a ping); True while the session is usable."""
    try:
        if i % 10 == 9:
            payload = os.urandom(rnd.randint(0, 125))
            ws_send(s, 0x9, payload)
            op, got = ws_recv(s)
            if op != 0xA or got != payload:
                c.add_fail(f"ping: got opcode {op} with {len(got)} B, want a pong with the {len(payload)} B")
                return False
            c.add_ok()
            c.bump("pongs")
            return True
        n = rnd.choice(WS_SIZES)
        if rnd.random() < 0.5:
            op_send, payload = 0x1, "".join(rnd.choice("abcdefghij klmnopqrstuvwxyz") for _ in range(min(n, 2000))).encode()
        else:
            op_send, payload = 0x2, os.urandom(n)
        ws_send(s, op_send, payload)
        op, got = ws_recv(s)
        if op != op_send or got != payload:
            c.add_fail(f"echo: sent opcode {op_send} {len(payload)} B, got opcode {op} {len(got)} B")
            return False
        c.add_ok()
        c.bump("bytes", len(payload))
        return True
    except Exception as e:
        c.add_fail(f"echo: {e!r}")
        return False


def cmd_ws(args, c):
    """WebSocket echo: --persistent sessions that stay open (reconnected every
    --session-secs), and one thread of short sessions (open, a few messages, close)."""
    ctx = tls_context(args.ca)

    def session_loop(idx, short):
        rnd = random.Random(idx)
        n_sessions = 0
        while left(args.until) > 1:
            n_sessions += 1
            tls = (n_sessions + idx) % 3 == 0
            addr = args.https if tls else args.http
            try:
                s = ws_open(addr, ctx if tls else None)
                c.add_ok()
                c.bump("handshakes_tls" if tls else "handshakes")
            except Exception as e:
                c.add_fail(f"{'wss' if tls else 'ws'} handshake: {e!r}")
                time.sleep(1)
                continue
            started, i, alive = time.time(), 0, True
            while alive and left(args.until) > 1:
                if short and i >= 5:
                    break
                if not short and time.time() - started > args.session_secs:
                    break
                alive = ws_exchange(s, rnd, c, i)
                i += 1
                time.sleep(0.02 if short else args.interval)
            if alive:
                ws_close(s, c)
            else:
                s.close()
            time.sleep(0.2 if short else 0.1)

    threads = [threading.Thread(target=session_loop, args=(i, False), daemon=True) for i in range(args.persistent)]
    threads.append(threading.Thread(target=session_loop, args=(100, True), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, left(args.until) + 60))


# ------------------------------------------------------------------------------ churn
def read_to_eof(s, limit=1 << 20):
    buf = b""
    while len(buf) < limit:
        b = s.recv(65536)
        if not b:
            return buf, True
        buf += b
    return buf, False


def cmd_churn(args, c):
    """A new connection per request: HTTP/1.1 with Connection: close, HTTP/1.0, and (every
    5th) HTTP/1.1 over TLS; the response must be 200 'Hello, World!' and the server must
    close. Every 10th iteration one rude client too (not counted: half a head, then RST)."""
    ctx = tls_context(args.ca)
    i = 0
    period = 1.0 / args.rate
    next_t = time.time()
    while left(args.until) > 0.5:
        i += 1
        tls = i % 5 == 0
        http10 = (not tls) and i % 5 == 1
        addr = args.https if tls else args.http
        host, port = hostport(addr)
        what = f"{'https' if tls else 'http'} {'1.0' if http10 else '1.1 close'}"
        try:
            s = socket.create_connection((host, port), timeout=10)
            if tls:
                s = ctx.wrap_socket(s, server_hostname=None)
            if http10:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            else:
                s.sendall(b"GET / HTTP/1.1\r\nHost: " + addr.encode() + b"\r\nConnection: close\r\n\r\n")
            buf, eof = read_to_eof(s)
            s.close()
            head, _, body = buf.partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if not eof:
                c.add_fail(f"{what}: no end of stream")
            elif not re.match(rb"HTTP/1\.[01] 200 ", status):
                c.add_fail(f"{what}: status line {status[:80]!r}")
            elif body != HELLO:
                c.add_fail(f"{what}: body {body[:80]!r}")
            else:
                c.add_ok()
        except Exception as e:
            c.add_fail(f"{what}: {e!r}")
        if i % 10 == 0:
            try:  # rude: half a request head, then a reset (SO_LINGER 0)
                s = socket.create_connection(hostport(args.http), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHo")
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                c.bump("rude_resets")
            except Exception:
                c.bump("rude_errors")
        next_t += period
        time.sleep(max(0.0, min(next_t - time.time(), left(args.until))))
        if next_t < time.time() - 5:  # fell behind (slow machine): do not burst to catch up
            next_t = time.time()


# ------------------------------------------------------------------------------ attackers
def cmd_attack(args, c):
    """Runs bench/peers' slow-head (plain and TLS port) and idle-probe in rounds. slow-head
    is an attack: its checks are that every holder connected and that the server had closed
    or answered (408) every one of them by the end of a hold longer than its timeout.
    idle-probe's requests are well-behaved: each must get a 200."""
    peers = args.peers

    def slow_loop(addr, count, full_hold, bytes_list, tag):
        k = 0
        while left(args.until) >= 10:
            # The last round is cut short so that holders stay until the end; the timeout
            # check needs a full round (a hold longer than the server's timeout).
            hold = int(min(full_hold, left(args.until) - 5))
            nbytes = bytes_list[k % len(bytes_list)]
            k += 1
            cmd = [os.path.join(peers, "slow-head"), addr, str(count), str(hold), str(nbytes)]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=hold + 60, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                c.add_fail(f"{tag}: slow-head did not finish")
                continue
            lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
            if len(lines) < 2:
                c.add_fail(f"{tag}: slow-head exited {p.returncode}: {p.stderr[-200:]!r}")
                time.sleep(2)
                continue
            a, b = json.loads(lines[0]), json.loads(lines[1])
            c.bump(f"{tag}_rounds")
            c.bump(f"{tag}_held", a["connected"])
            c.bump(f"{tag}_answered", b["answered"])
            c.bump(f"{tag}_closed", b["closed_by_server"])
            if a["connected"] != count:
                c.bump("check_failures")
                c.add_fail(f"{tag}: only {a['connected']} of {count} holders connected ({a['first_error']})", 0)
            if b["still_open"] and hold == full_hold:
                c.bump("check_failures")
                c.add_fail(f"{tag}: {b['still_open']} holders still open after {b['held_ms']:.0f} ms "
                           f"(the server should have timed them out)", 0)

    def tls_hello_loop(count, full_hold, tag):
        """Connections that send the first bytes of a TLS ClientHello (a record header
        announcing 512 bytes, then the handshake type) and stall: only the server's
        HandshakeTimeout (10 s) ends them. After a full hold every one must be closed."""
        host, port = hostport(args.https)
        while left(args.until) >= 10:
            hold = min(full_hold, left(args.until) - 5)
            socks, errors = [], 0
            for _ in range(count):
                try:
                    s = socket.create_connection((host, port), timeout=5)
                    s.sendall(b"\x16\x03\x01\x02\x00\x01")
                    socks.append(s)
                except OSError:
                    errors += 1
            time.sleep(max(0.0, hold))
            still_open = 0
            for s in socks:
                s.setblocking(False)
                try:
                    s.recv(4096)  # EOF, an alert, or a reset: the server ended it
                except BlockingIOError:
                    still_open += 1
                except OSError:
                    pass
                s.close()
            c.bump(f"{tag}_rounds")
            c.bump(f"{tag}_held", len(socks))
            if errors:
                c.bump("check_failures")
                c.add_fail(f"{tag}: {errors} of {count} connections failed", 0)
            if still_open and hold == full_hold:
                c.bump("check_failures")
                c.add_fail(f"{tag}: {still_open} stalled TLS handshakes still open after {hold} s", 0)

    def probe_loop():
        while left(args.until) >= args.probe_hold + 15:
            cmd = [os.path.join(peers, "idle-probe"), args.http, str(args.probe_count), str(args.probe_hold), "10"]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.probe_hold + 60, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                c.add_fail("idle-probe did not finish")
                continue
            lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
            if not lines:
                c.add_fail(f"idle-probe exited {p.returncode}: {p.stderr[-200:]!r}", args.probe_count)
                continue
            r = json.loads(lines[0])
            c.bump("probe_rounds")
            got = r["answered"] + (1 if r["fresh_status"] == "ok" else 0) + r["sample_answered"]
            want = r["count"] + 1 + r["sample"]
            if got:
                c.add_ok(got)
            if got < want:
                c.add_fail(f"idle-probe: {r['answered']}/{r['count']} answered, fresh {r['fresh_status']}, "
                           f"sample {r['sample_answered']}/{r['sample']} ({r['first_error']})", want - got)
            time.sleep(min(args.probe_pause, max(0.0, left(args.until))))

    threads = [
        threading.Thread(target=slow_loop, args=(args.http, args.slow_count, args.slow_hold, [1, 20], "slowhead"), daemon=True),
        # plain-text heads sent to the TLS port
        threading.Thread(target=slow_loop, args=(args.https, args.slow_tls_count, args.slow_tls_hold, [1, 3], "plain_on_tls"), daemon=True),
        threading.Thread(target=tls_hello_loop, args=(args.slow_tls_count, args.slow_tls_hold, "tls_hello_stall"), daemon=True),
        threading.Thread(target=probe_loop, daemon=True),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, left(args.until) + 120))


# ------------------------------------------------------------------------------ monitor
def proc_sample(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return {
        "rss_kb": int(st["VmRSS"].split()[0]),
        "threads": int(st["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def status_sample(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            s = json.load(r)
        return {
            "conns_open": s["connections"]["open"],
            "ws_open": s["connections"].get("upgraded_open", 0),
            "requests_total": s["requests"]["total"],
            "timeouts": s.get("timeouts", {}),
        }
    except Exception as e:
        return {"status_error": repr(e)}


def read_counters(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".json"):
            try:
                with open(os.path.join(d, f)) as fh:
                    j = json.load(fh)
                out[j["name"]] = j
            except (OSError, ValueError, KeyError):
                pass
    return out


def counters_line(cs):
    parts = []
    for name, j in cs.items():
        parts.append(f"{name} {j['ok']}/{j['sent']}" + (f" FAIL {j['failed']}" if j["failed"] else ""))
    return "  ".join(parts)


TICK_EARLY = 3.0


def cmd_monitor(args):
    """Samples every --every s; a row each minute, taken TICK_EARLY s before the minute ends
    so that the last row (and the last samples) still see the load, not the clients
    winding down. Stops after the last row."""
    samples, minutes = [], []
    next_minute = args.start + 60 - TICK_EARLY
    end = args.until - TICK_EARLY
    minute = 0
    while True:
        now = time.time()
        try:
            p = proc_sample(args.pid)
        except (OSError, KeyError, ValueError) as e:
            print(f"[soak] the server (pid {args.pid}) is gone: {e}", flush=True)
            samples.append({"t": round(now - args.start, 1), "server_gone": True})
            break
        p["t"] = round(now - args.start, 1)
        p.update(status_sample(args.status))
        samples.append(p)
        if now >= next_minute - 0.5 or now >= end - 0.5:
            minute += 1
            cs = read_counters(args.counters)
            win = [s for s in samples if "rss_kb" in s and s["t"] > (minute - 1) * 60 - 0.5]
            row = {
                "minute": minute,
                "t": p["t"],
                "rss_kb": p["rss_kb"],
                "fds": p["fds"],
                "threads": p["threads"],
                "conns_open": p.get("conns_open"),
                "ws_open": p.get("ws_open"),
                "requests_total": p.get("requests_total"),
                "rss_kb_max": max(s["rss_kb"] for s in win),
                "fds_min": min(s["fds"] for s in win),
                "fds_max": max(s["fds"] for s in win),
                "threads_min": min(s["threads"] for s in win),
                "threads_max": max(s["threads"] for s in win),
                "sent": sum(j["sent"] for j in cs.values()),
                "ok": sum(j["ok"] for j in cs.values()),
                "failed": sum(j["failed"] for j in cs.values()),
                "clients": {n: [j["ok"], j["sent"], j["failed"]] for n, j in cs.items()},
            }
            minutes.append(row)
            print(f"[soak] minute {minute:3d}  rss {row['rss_kb']:7d} kB  fds {row['fds']:5d}  "
                  f"threads {row['threads']:3d}  conns {row['conns_open']}  ws {row['ws_open']}  "
                  f"| sent {row['sent']} ok {row['ok']} failed {row['failed']} | {counters_line(cs)}", flush=True)
            next_minute += 60
        with open(args.out + ".tmp", "w") as f:
            json.dump({"start": args.start, "until": args.until, "pid": args.pid,
                       "minutes": minutes, "samples": samples}, f)
        os.replace(args.out + ".tmp", args.out)
        if now >= end - 0.5:
            break
        time.sleep(max(0.1, min(args.every, end - time.time(), next_minute - time.time())))


def cmd_quiesce(args):
    """Waits (at most --wait s) until the server is quiet: at most one connection open (the
    status request's own), no WebSocket, and fds/threads back to the baseline when one is
    given; then records the sample."""
    base = None
    if args.baseline:
        with open(args.baseline) as f:
            base = json.load(f)
    deadline = time.time() + args.wait
    while True:
        p = proc_sample(args.pid)
        p.update(status_sample(args.status))
        quiet = p.get("conns_open", 99) <= 1 and p.get("ws_open", 99) == 0
        if base:
            quiet = quiet and p["fds"] <= base["fds"] and p["threads"] <= base["threads"]
        if quiet or time.time() >= deadline:
            break
        time.sleep(0.5)
    p["waited_s"] = round(args.wait - max(0.0, deadline - time.time()), 1)
    p["quiet"] = quiet
    with open(args.out, "w") as f:
        json.dump(p, f)
    print(f"[soak] quiet sample: {json.dumps(p)}", flush=True)


# ------------------------------------------------------------------------------ report
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_LEVEL = re.compile(r"^\[(?:\S+ )?(ERROR|WARN|INFO|DEBUG|TRACE)\s")


def env_num(name, default):
    return float(os.environ.get(name, default))


def cmd_report(args):
    d = args.dir
    with open(os.path.join(d, "series.json")) as f:
        series = json.load(f)
    meta = json.load(open(os.path.join(d, "meta.json")))
    base = json.load(open(os.path.join(d, "quiet-start.json")))
    end = json.load(open(os.path.join(d, "quiet-end.json"))) if os.path.exists(os.path.join(d, "quiet-end.json")) else None
    counters = read_counters(os.path.join(d, "counters"))
    checks = []  # (name, ok, detail)

    def check(name, ok, detail):
        checks.append((name, bool(ok), detail))

    # Flat: samples after the warm-up, first third vs last third.
    samples = [s for s in series["samples"] if "rss_kb" in s]
    dur = series["until"] - series["start"]
    warm = min(env_num("SOAK_WARMUP_SECS", 60), dur / 4)
    post = [s for s in samples if s["t"] >= warm]
    span = dur - warm
    first = [s for s in post if s["t"] < warm + span / 3]
    last = [s for s in post if s["t"] >= warm + 2 * span / 3]
    rss_pct, rss_kb = env_num("SOAK_RSS_SLACK_PCT", 15), env_num("SOAK_RSS_SLACK_KB", 8192)
    fd_slack, th_slack = env_num("SOAK_FD_SLACK", 16), env_num("SOAK_THREAD_SLACK", 4)
    flat = {}
    if len(first) >= 2 and len(last) >= 2:
        f_rss, l_rss = max(s["rss_kb"] for s in first), max(s["rss_kb"] for s in last)
        lim = f_rss * (1 + rss_pct / 100) + rss_kb
        check("RSS flat", l_rss <= lim, f"last-third max {l_rss} kB <= first-third max {f_rss} kB x {1 + rss_pct / 100:.2f} + {rss_kb:.0f} kB = {lim:.0f} kB")
        for key, slack in (("fds", fd_slack), ("threads", th_slack)):
            f_min, l_min = min(s[key] for s in first), min(s[key] for s in last)
            f_max, l_max = max(s[key] for s in first), max(s[key] for s in last)
            check(f"{key} flat", l_min <= f_min + slack,
                  f"last-third floor (min) {l_min} <= first-third floor {f_min} + {slack:.0f} (max: first {f_max}, last {l_max})")
        flat = {"warmup_s": warm, "first_n": len(first), "last_n": len(last)}
        # RSS slope over the post-warm-up samples (least squares), for information.
        if len(post) >= 3:
            xs = [s["t"] / 60 for s in post]
            ys = [s["rss_kb"] for s in post]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            den = sum((x - mx) ** 2 for x in xs)
            flat["rss_slope_kb_per_min"] = round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 1) if den else 0
    else:
        check("flat (series)", True, f"skipped: too few samples after the {warm:.0f} s warm-up ({len(first)} / {len(last)})")
    # Quiet server at the end, against the quiet baseline after the warm-up round.
    if end:
        check("quiet at the end: fds", end["fds"] <= base["fds"] + fd_slack / 4,
              f"{end['fds']} fds after the load vs {base['fds']} before it (slack {fd_slack / 4:.0f})")
        check("quiet at the end: threads", end["threads"] <= base["threads"],
              f"{end['threads']} threads after vs {base['threads']} before")
        check("quiet at the end: connections", end.get("conns_open", 99) <= 1 and end.get("ws_open", 99) == 0,
              f"{end.get('conns_open')} connections open (the status request's own counts), {end.get('ws_open')} WebSockets")
    else:
        check("quiet at the end", False, "no end sample (the server died?)")
    # Log: error-level lines and panics.
    errors, warns, panics, first_errors = 0, 0, 0, []
    with open(os.path.join(d, "server.log"), errors="replace") as f:
        for line in f:
            line = ANSI.sub("", line)
            m = LOG_LEVEL.match(line)
            if m and m.group(1) == "ERROR":
                errors += 1
                if len(first_errors) < 5:
                    first_errors.append(line.strip()[:300])
            elif m and m.group(1) == "WARN":
                warns += 1
            if "panicked" in line:
                panics += 1
                if len(first_errors) < 5:
                    first_errors.append(line.strip()[:300])
    check("no ERROR lines in the server log", errors == 0, f"{errors} ERROR, {warns} WARN, {panics} panic lines" + (f"; first: {first_errors}" if first_errors else ""))
    check("no panics", panics == 0, f"{panics}")
    # Clients.
    sent = sum(j["sent"] for j in counters.values())
    ok = sum(j["ok"] for j in counters.values())
    failed = sum(j["failed"] for j in counters.values())
    check("lost well-behaved requests = 0", failed == 0 and sent == ok, f"sent {sent}, ok {ok}, failed {failed}")
    for name in meta["clients"]:
        j = counters.get(name)
        if not j:
            check(f"client {name}", False, "no counters file")
            continue
        probs = []
        if not j["done"]:
            probs.append("did not finish cleanly" + (f" ({j['extra'].get('crashed')})" if j["extra"].get("crashed") else ""))
        if j["sent"] == 0 and name not in meta.get("may_be_idle", []):
            probs.append("sent nothing")
        if j["failed"]:
            probs.append(f"{j['failed']} failed; first: {j['failures'][:3]}")
        if j["extra"].get("check_failures"):
            probs.append(f"{j['extra']['check_failures']} attack checks failed: {j['failures'][:3]}")
        check(f"client {name}", not probs, "; ".join(probs) or f"{j['ok']}/{j['sent']} ok")
    # Server lifetime.
    check("server alive to the end", not any(s.get("server_gone") for s in series["samples"]), "")
    st = meta.get("server_exit")
    if st is not None:
        check("server exits 0 on SIGTERM", str(st) == "0", f"exit status {st}")

    passed = all(ok for _, ok, _ in checks)
    result = {"passed": passed, "checks": [{"name": n, "ok": o, "detail": t} for n, o, t in checks],
              "flat": flat, "baseline": base, "end": end, "counters": counters, "meta": meta,
              "log": {"error": errors, "warn": warns, "panic": panics, "first": first_errors}}
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    md = [f"# falconet soak: {'PASS' if passed else 'FAIL'}", "",
          f"{meta['minutes']} minute(s) from {meta['started']}, one `{meta['server']}` process "
          f"(pid {meta['pid']}), {meta['pinning']}; http {meta['http']}, https {meta['https']}.", "",
          "| minute | RSS kB | fds | threads | conns | ws | sent | ok | failed |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in series["minutes"]:
        md.append(f"| {r['minute']} | {r['rss_kb']} | {r['fds']} | {r['threads']} | {r['conns_open']} | "
                  f"{r['ws_open']} | {r['sent']} | {r['ok']} | {r['failed']} |")
    if end:
        md.append(f"| end (quiet) | {end['rss_kb']} | {end['fds']} | {end['threads']} | {end.get('conns_open')} | "
                  f"{end.get('ws_open')} | {sent} | {ok} | {failed} |")
    md += ["", "The minute rows are taken 3 s before each minute ends; wrk's counters move at the end "
           "of each of its bursts. The end row: the server once the load stopped, and the final counters.",
           "", f"Quiet before the load: {base['rss_kb']} kB, {base['fds']} fds, {base['threads']} threads; "
           + (f"after: {end['rss_kb']} kB, {end['fds']} fds, {end['threads']} threads (waited {end['waited_s']} s)." if end else "after: none."),
           ""]
    if flat.get("rss_slope_kb_per_min") is not None:
        md += [f"RSS slope after the warm-up: {flat['rss_slope_kb_per_min']} kB/min (information only).", ""]
    md += ["| client | sent | ok | failed | notes |", "|---|---:|---:|---:|---|"]
    for name, j in counters.items():
        extra = ", ".join(f"{k} {v}" for k, v in sorted(j["extra"].items()))
        md.append(f"| {name} | {j['sent']} | {j['ok']} | {j['failed']} | {extra} |")
    md += ["", "| check | result | detail |", "|---|---|---|"]
    for n, o, t in checks:
        md.append(f"| {n} | {'ok' if o else '**FAIL**'} | {t.replace('|', '/')} |")
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    return 0 if passed else 1


# ------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def client(name, **extra):
        p = sub.add_parser(name)
        p.add_argument("name")
        p.add_argument("--until", type=float, required=True)
        p.add_argument("--out", required=True)
        for k, v in extra.items():
            p.add_argument(f"--{k.replace('_', '-')}", **v)
        return p

    p = client("wrk", conns={"type": int, "default": 4}, delay_ms={"type": int, "default": 2}, chunk={"type": int, "default": 15})
    p.add_argument("url")
    p = client("h2load", requests={"type": int, "default": 1000}, conns={"type": int, "default": 4},
               streams={"type": int, "default": 8}, pause={"type": float, "default": 2.0})
    p.add_argument("url")
    common = {"http": {"required": True}, "https": {"required": True}, "ca": {"required": True}}
    client("upload", pause={"type": float, "default": 1.0}, **common)
    client("curlup", pause={"type": float, "default": 1.0}, dir={"required": True}, **common)
    client("ws", persistent={"type": int, "default": 4}, interval={"type": float, "default": 0.1},
           session_secs={"type": float, "default": 120.0}, **common)
    client("churn", rate={"type": float, "default": 20.0}, **common)
    client("attack", http={"required": True}, https={"required": True}, peers={"required": True},
           slow_count={"type": int, "default": 200}, slow_hold={"type": int, "default": 40},
           slow_tls_count={"type": int, "default": 50}, slow_tls_hold={"type": int, "default": 20},
           probe_count={"type": int, "default": 100}, probe_hold={"type": int, "default": 20},
           probe_pause={"type": float, "default": 20.0})
    p = sub.add_parser("monitor")
    for k in ("pid",):
        p.add_argument(f"--{k}", type=int, required=True)
    p.add_argument("--status", required=True)
    p.add_argument("--counters", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--until", type=float, required=True)
    p.add_argument("--every", type=float, default=5.0)
    p = sub.add_parser("quiesce")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--status", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--baseline")
    p.add_argument("--wait", type=float, default=20.0)
    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    args = ap.parse_args()

    fns = {"wrk": cmd_wrk, "h2load": cmd_h2load, "upload": cmd_upload, "curlup": cmd_curlup,
           "ws": cmd_ws, "churn": cmd_churn, "attack": cmd_attack}
    if args.cmd in fns:
        run_client(fns[args.cmd], args)
    elif args.cmd == "monitor":
        cmd_monitor(args)
    elif args.cmd == "quiesce":
        cmd_quiesce(args)
    elif args.cmd == "report":
        sys.exit(cmd_report(args))


if __name__ == "__main__":
    main()

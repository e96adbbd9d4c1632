#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/TARGET/ from the tests' byte literals and the
test vectors in tests/data (HPACK stories: MIT, see LICENSE.hpack-test-case; TLS fixtures:
generated for this repository). Run from anywhere: python3 fuzz/seeds.py"""
import base64, hashlib, json, os, re, struct, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
DATA = ROOT / "tests" / "data"


def put(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def literals(path, pattern):
    """Rust byte-string literals in `path` that match `pattern`, unescaped."""
    text = (ROOT / path).read_text()
    out = []
    for m in re.finditer(r'b"((?:[^"\\]|\\.)*)"', text):
        s = m.group(1)
        if not re.search(pattern, s):
            continue
        s = re.sub(r"\\\n\s*", "", s)
        try:
            b = s.encode("latin-1").decode("unicode_escape").encode("latin-1")
        except Exception:
            continue
        out.append(b)
    return out


# --- HTTP/1 heads
heads = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"\r\nGET /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0, 0\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
]
seen = set()
for h in heads + literals("src/http1/head.rs", r"HTTP/1")[:40]:
    if h in seen:
        continue
    seen.add(h)
    put("http1_head", b"\x00" + h)
put("http1_head", b"\x15" + heads[0])

# --- HTTP/1 bodies: 4-byte selector (framing, limits, split) then the body
bodies = [
    (0, b"5\r\nhello\r\n0\r\n\r\n"),
    (0, b"5;ext=\"q\\\"x\";a\r\nhello\r\n6 ; b = c\r\n world\r\n0\r\nTrailer-A: 1\r\nB: two\r\n\r\n"),
    (0, b"000000000000000a\r\n0123456789\r\n0\r\n\r\n"),
    (4, b"1\r\nx\r\n0;e\r\nT: v\r\n\r\n"),
    (2, b"hello world, and more"),
    (3, b"anything"),
]
for sel, b in bodies:
    put("http1_body", bytes([sel, 11, 0, 3]) + b)
for b in literals("src/http1/body.rs", r"\\r\\n0\\r\\n")[:20]:
    put("http1_body", bytes([0, 5, 0, 1]) + b)


def h1_ops(*chunks):
    out = bytearray()
    for c in chunks:
        if isinstance(c, int):
            out.append(c)
            continue
        for i in range(0, len(c), 64):
            part = c[i:i + 64]
            out.append(len(part) - 1)
            out += part
    return bytes(out)


put("http1_conn", b"\x00" + h1_ops(heads[0], heads[1] + b"hello", 0xc0, heads[0]))
put("http1_conn", b"\x08" + h1_ops(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                                   0x83, b"5\r\nhello\r\n", 0x8c, b"0\r\n\r\n", 0xc3))
put("http1_conn", b"\x01" + h1_ops(b"GET / HTTP/1.1\r\nHost: a\r\n", 0x8e, b"X: y\r\n\r\n"))
put("http1_conn", b"\x02" + h1_ops(heads[1] + b"0123456789abc"))


# --- HTTP/2 frames
def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


GET_BLOCK = bytes([0x82, 0x84, 0x87, 0x01, 11]) + b"example.com"
frames = [
    frame(4, 0, 0, struct.pack(">HI", 4, 100) + struct.pack(">HI", 5, 20000)),
    frame(4, 1, 0, b""),
    frame(1, 0x5, 1, GET_BLOCK),
    frame(1, 0x2d, 3, bytes([2]) + struct.pack(">IB", 0x80000001, 15) + GET_BLOCK + b"\0\0"),
    frame(1, 0x0, 5, GET_BLOCK[:4]) + frame(9, 0x4, 5, GET_BLOCK[4:]),
    frame(0, 0x9, 1, bytes([3]) + b"body" + b"\0\0\0"),
    frame(0, 0x1, 1, b""),
    frame(8, 0, 0, struct.pack(">I", 1000)),
    frame(8, 0, 1, struct.pack(">I", 0)),
    frame(6, 0, 0, b"12345678"),
    frame(6, 1, 0, b"12345678"),
    frame(7, 0, 0, struct.pack(">II", 3, 2) + b"debug"),
    frame(3, 0, 1, struct.pack(">I", 8)),
    frame(2, 0, 1, struct.pack(">IB", 3, 200)),
    frame(5, 0x4, 1, struct.pack(">I", 2) + GET_BLOCK),
    frame(0xfa, 0xff, 7, b"unknown"),
]
for f in frames:
    put("http2_frame", b"\x00" + f)
put("http2_frame", b"\x01" + b"".join(frames))

# --- HPACK: stories' wires (decode mode), raw header sets (round trip mode)
for story in ["nghttp2/story_00.json", "go-hpack/story_01.json", "python-hpack/story_02.json",
              "nghttp2-change-table-size/story_03.json", "swift-nio-hpack-huffman/story_04.json",
              "haskell-http2-linear-huffman/story_05.json"]:
    d = json.loads((DATA / "hpack" / story).read_text())
    out = bytearray([0, 0])
    for c in d["cases"][:6]:
        w = bytes.fromhex(c["wire"])
        if len(w) > 255:
            continue
        out.append(len(w))
        out += w
    put("hpack", bytes(out))
d = json.loads((DATA / "hpack" / "raw-data" / "story_00.json").read_text())
out = bytearray([1])
for c in d["cases"][:4]:
    for h in c["headers"]:
        (n, v), = h.items()
        n, v = n.encode()[:23], v.encode()[:255]
        out += bytes([3 | (8 if n == b"cookie" else 0), len(n), len(v)]) + n + v
    out.append(0)
out += bytes([1, 0, 1, 2])  # a table size update to 256
put("hpack", bytes(out))
put("hpack", bytes([1, 3, 4, 3, 0]) + b"abcdxyz" + bytes([0, 10, 3, 4, 3]) + b"abcdxyz")

# --- HTTP/2 connection: selector, then ops (see the target)
put("http2_conn", bytes([0, 0x01, 0x01, 0x0a, 0, 0x00, 0x0b, 0, 0x01, 5]))
put("http2_conn", bytes([8, 0x02, 0x02 | (5 << 3), 0x03, 0, 5, 1, 0x0a, 0, 0x00, 0x0b, 0, 0x01, 200,
                         0x04, 0, 0, 1, 0, 0x0b, 0, 0x01, 200, 0x09, 12]))
put("http2_conn", bytes([0, 0x21, 0x00, 0x3f, 0, 0x11, 0, 0x12, 0, 0x10, 0x0d, 0x09, 20, 0x09, 25]))
put("http2_conn", bytes([4, 0x01, 0x00, 0x09, 15, 0x09, 14, 0x09, 14, 0x08]))
put("http2_conn", bytes([0x20, 0x00, 24]) + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0x00, 9]) + frame(4, 0, 0, b""))
put("http2_conn", bytes([0, 0x0e, 4]) + GET_BLOCK[:4] + bytes([0, 0x0f, 11]) + GET_BLOCK[4:] + bytes([4]))

# --- configuration
readme = (ROOT / "README.md").read_text()
for m in re.finditer(r"```json\n(.*?)```", readme, re.S):
    put("config", b"\x00" + m.group(1).encode())
for s in re.findall(r'r#"(\{.*?\})"#', (ROOT / "tests" / "config_file.rs").read_text(), re.S)[:12]:
    put("config", b"\x00" + s.encode())
put("config", b"\x00" + b'{ // comment\n "Kestrel": { "Limits": { "KeepAliveTimeout": "1.00:02:10.5", },\n'
                        b' "Endpoints": { "A": { "Url": "https://*:0", "Certificate": { "Path": "x.pfx", "Password": "p" } } } },\n'
                        b' "Falconet": { "Workers": 4, "ForwardedHeaders": { "ForwardLimit": 2 } } }')
put("config", b"\x01" + b'{"Kestrel":{"Limits":{"MaxRequestBodySize":1}}}\0{"kestrel":{"limits":{"maxrequestbodysize":null}}}')
put("config", b"\x02" + b"Kestrel__Limits__MaxRequestBodySize=1000000\nFALCONET_Kestrel__Endpoints__Http__Url=http://*:8080\n"
                        b"Logging__LogLevel__Default=Debug\nASPNETCORE_URLS=http://localhost:5000;https://[::1]:0\nASPNETCORE_ENVIRONMENT=Dev")
put("config", b"\x03" + b"http://*:8080;https://+:443;http://unix:/run/f.sock;http://[::1]:0;http://localhost:5000/;http://0.0.0.0:65535")

# --- forwarded headers
put("forwarded", b"\x07\x00" + b"f 203.0.113.7, 10.0.0.1\np HTTPS, http\nn 10.0.0.0/8")
put("forwarded", b"\x2b\x01" + b"f [2001:db8::1]:4711\nf \"1.2.3.4:80\"\np wss")
put("forwarded", b"\x1d\x02" + b"f unknown, 192.0.2.60\nn 2001:db8::/32\nx other")

# --- TLS
tls = DATA / "tls"
def pem_der(name):
    text = (tls / name).read_text()
    b64 = "".join(l for l in text.splitlines() if l and not l.startswith("-----"))
    return base64.b64decode(b64)

put("tls", b"\x00" + (tls / "localhost-combined.pem").read_bytes())
put("tls", b"\x10" + (tls / "localhost-nopass.pfx").read_bytes())
for pfx in ["localhost.pfx", "localhost-legacy.pfx", "localhost-unencrypted.pfx", "localhost-3des-nomac.pfx"]:
    put("tls", b"\x03" + (tls / pfx).read_bytes())
put("tls", b"\x01" + (tls / "localhost.crt").read_bytes() + b"\0" + (tls / "localhost.key").read_bytes())
put("tls", b"\x01" + (tls / "ec.crt").read_bytes() + b"\0" + (tls / "ec-sec1.key").read_bytes())
put("tls", b"\x41" + (tls / "rsa.crt").read_bytes() + b"\0" + (tls / "rsa-pkcs1-encrypted-legacy.key").read_bytes())
for k in ["localhost-encrypted.key", "localhost-encrypted-sha1.key"]:
    put("tls", b"\x02" + pem_der(k))
    put("tls", b"\x06" + pem_der(k))
put("tls", b"\x04" + (tls / "localhost.key").read_bytes())
put("tls", b"\x05" + pem_der("localhost.crt"))
put("tls", b"\x05" + pem_der("clientauth-only.crt"))

#!/usr/bin/env bash
# falconet soak test: ONE server process (examples/soak_server.rs: hello, upload echo,
# streamed echo, WebSocket echo, status endpoint) under mixed, modest, bounded traffic for
# MINUTES minutes on 127.0.0.1, watching for leaks (RSS, fds, threads), error log lines and
# lost requests.
#
#   bench/soak.sh [MINUTES]      # default 30; `bench/soak.sh 2` is a smoke run
#   bench/soak.sh --help
#
# Endpoints (ports picked by the kernel: port 0): http://127.0.0.1 (HTTP/1.1 and h2c,
# Http1AndHttp2 recognises the h2c preface) and https://127.0.0.1 (TLS 1.2/1.3, ALPN h2 and
# http/1.1) with a self-signed EC P-256 certificate made by openssl in the scratch dir.
# Traffic (all clients on CPU 1, the server on CPU 0, with taskset when there are 2+ cores):
#   wrk-h1    wrk keep-alive GET / over HTTP/1.1, Lua check of status and body, a fixed delay
#             per request (Debian's wrk has no -R): SOAK_WRK_CONNS x 1/SOAK_WRK_DELAY_MS
#   wrk-tls   the same over HTTPS
#   h2c       h2load bursts over h2c (SOAK_H2_REQUESTS per burst, a pause between); the DATA
#             byte count must be 13 per 2xx answer
#   h2tls     h2load bursts over TLS (ALPN h2)
#   upload    python http.client keep-alive, plain and TLS: POST /upload (Content-Length),
#             PUT /upload (chunked), POST /stream (streamed echo), 0 B .. 4 MiB; every echo
#             compared byte for byte
#   curlup    curl uploads to /upload and to /stream (a writer) over HTTP/1.1 (Expect:
#             100-continue above 1 MiB), h2c and h2 over TLS, compared byte for byte
#   ws        WebSocket echo (raw python client, masked frames, 0 B .. 70,000 B, text and
#             binary, pings): SOAK_WS_PERSISTENT long sessions + one thread of short sessions;
#             a third of the sessions over TLS; clean close handshakes
#   churn     a new connection per request (HTTP/1.1 Connection: close, HTTP/1.0, TLS) at
#             SOAK_CHURN_RATE/s, plus a rude client (half a head, then RST) every 10th
#   attack    bench/peers slow-head (SOAK_SLOWHEAD holders of a partial head, 40 s rounds:
#             the server must time every one out, RequestHeadersTimeout 30 s), slow-head on
#             the TLS port (50 plain-text heads, 20 s rounds), 50 stalled TLS ClientHellos
#             (20 s rounds: HandshakeTimeout 10 s must end them all) and idle-probe (100 idle
#             keep-alive connections, their requests must all be answered); the last round
#             of each is cut short so that holders stay to the end (no timeout check then)
# Every well-behaved request is checked and counted (sent / ok / failed, the first failures
# kept). Once a minute a line: RSS, fds, threads, open connections, WebSockets, counters.
#
# Checks (exit 1 if any fails; the thresholds are env knobs):
#   - lost well-behaved requests = 0 (every client: sent == ok), every client finished cleanly
#     and sent something; the attack checks above held
#   - no ERROR (and no panic) line in the server's log (RUST_LOG=info,rustls=error)
#   - flat after a warm-up of min(SOAK_WARMUP_SECS=60, a quarter of the run), samples every
#     5 s, first third vs last third: RSS max(last) <= max(first) x (1 + SOAK_RSS_SLACK_PCT=15
#     %) + SOAK_RSS_SLACK_KB=8192; fds and threads floor (min) of the last third <= floor of
#     the first + SOAK_FD_SLACK=16 / SOAK_THREAD_SLACK=4 (the floor, as slow-head rounds and
#     WebSocket sessions come and go between samples)
#   - quiet at the end: once the load stops, fds <= the quiet baseline (taken after a short
#     warm-up round, before the run) + SOAK_FD_SLACK/4, threads <= baseline, no connection
#     left open (only the status request's own), no WebSocket
#   - the server stayed up and exits 0 on SIGTERM
# Writes bench/scratch/soak-YYYYmmdd-HHMMSS/: series.json (per-minute rows and 5 s samples),
# result.json (checks, counters), summary.md, server.log, clients/*.log, counters/*.json.
# Knobs: SOAK_WRK_CONNS [4] SOAK_WRK_DELAY_MS [2] SOAK_TLS_CONNS [2] SOAK_TLS_DELAY_MS [5]
#   SOAK_H2_REQUESTS [1000] SOAK_WS_PERSISTENT [4] SOAK_CHURN_RATE [20] SOAK_SLOWHEAD [200]
#   SOAK_WORKERS [4] SOAK_RUST_LOG [info,rustls=error] NO_BUILD [0] NO_PIN [0]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
unset OUT_DIR # cargo's build-script variable: keep it out of the builds (see run.sh)
export PATH="$PATH:/usr/sbin:/sbin"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
MINUTES=30
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "MINUTES must be a whole number of minutes, not '$1'" >&2; exit 2; }
   MINUTES=$1 ;;
esac

SCRATCH="$BENCH_DIR/scratch/soak-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$SCRATCH/counters" "$SCRATCH/clients" "$SCRATCH/warmup"
exec > >(tee -a "$SCRATCH/soak.log") 2>&1
log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
log "soak test of $MINUTES minute(s); scratch dir $SCRATCH"

for tool in wrk h2load curl openssl python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian: wrk, nghttp2-client, curl, openssl, python3)"
done

# ---------------------------------------------------------------- cleanup: kill what we start
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- limits and pinning
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
SRV=() CLI=() PINNING="no pinning"
if [[ "${NO_PIN:-0}" != 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SRV=(taskset -c 0) CLI=(taskset -c 1)
    PINNING="server on CPU 0, clients on CPU 1"
fi
log "RLIMIT_NOFILE $(ulimit -n); $PINNING"

# ---------------------------------------------------------------- build (as run.sh does)
SERVER_BIN="$BENCH_DIR/target/falconet/release/examples/soak_server"
PEERS_BIN="$BENCH_DIR/target/peers/release"
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    log "building examples/soak_server (release, bench/target/falconet) ..."
    (cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet" cargo build --release --example soak_server) \
        >"$SCRATCH/build-falconet.log" 2>&1 || { tail -30 "$SCRATCH/build-falconet.log"; die "falconet build failed"; }
    log "building bench/peers slow-head and idle-probe (bench/target/peers) ..."
    CARGO_TARGET_DIR="$BENCH_DIR/target/peers" cargo build --release --locked \
        --manifest-path "$BENCH_DIR/peers/Cargo.toml" --bin slow-head --bin idle-probe \
        >"$SCRATCH/build-peers.log" 2>&1 || { tail -30 "$SCRATCH/build-peers.log"; die "peers build failed"; }
fi
for b in "$SERVER_BIN" "$PEERS_BIN/slow-head" "$PEERS_BIN/idle-probe"; do
    [[ -x "$b" ]] || die "missing $b (run without NO_BUILD=1)"
done

# ---------------------------------------------------------------- certificate and configuration
TLS_CERT="$SCRATCH/tls/cert.pem" TLS_KEY="$SCRATCH/tls/key.pem"
mkdir -p "$SCRATCH/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$TLS_KEY" -out "$TLS_CERT" -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "extendedKeyUsage=serverAuth" \
    >"$SCRATCH/tls/openssl.log" 2>&1 || { cat "$SCRATCH/tls/openssl.log"; die "openssl could not make the certificate"; }
chmod 600 "$TLS_KEY"
cat >"$SCRATCH/appsettings.json" <<EOF
{
  "Kestrel": {
    "Endpoints": {
      "Http": { "Url": "http://127.0.0.1:0", "Protocols": "Http1AndHttp2" },
      "Https": {
        "Url": "https://127.0.0.1:0",
        "Protocols": "Http1AndHttp2",
        "Certificate": { "Path": "$TLS_CERT", "KeyPath": "$TLS_KEY" }
      }
    }
  },
  "Falconet": { "Workers": ${SOAK_WORKERS:-4}, "Status": { "Path": "/status" } }
}
EOF

# ---------------------------------------------------------------- the server
unset FALCONET_URLS ASPNETCORE_URLS DOTNET_URLS
RUST_LOG=${SOAK_RUST_LOG:-info,rustls=error} "${SRV[@]}" "$SERVER_BIN" --config "$SCRATCH/appsettings.json" \
    >"$SCRATCH/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
HTTP="" HTTPS=""
for _ in $(seq 150); do
    HTTP=$(grep -o 'Now listening on: http://127\.0\.0\.1:[0-9]*' "$SCRATCH/server.log" | head -1 | sed 's/.*http:\/\///' || true)
    HTTPS=$(grep -o 'Now listening on: https://127\.0\.0\.1:[0-9]*' "$SCRATCH/server.log" | head -1 | sed 's/.*https:\/\///' || true)
    [[ -n "$HTTP" && -n "$HTTPS" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SCRATCH/server.log"; die "the server exited at start"; }
    sleep 0.1
done
[[ -n "$HTTP" && -n "$HTTPS" ]] || { cat "$SCRATCH/server.log"; die "the server did not log both endpoints within 15 s"; }
STATUS_URL="http://$HTTP/status"
log "server pid $SERVER_PID: http://$HTTP (HTTP/1.1 + h2c), https://$HTTPS; status $STATUS_URL"

SOAK_PY=("${CLI[@]}" python3 -u "$BENCH_DIR/soak.py")
CLIENTS=(wrk-h1 wrk-tls h2c h2tls upload curlup ws churn attack)
start_clients() { # counters-dir logs-dir until [attack: 1|0]
    local cdir=$1 ldir=$2 until=$3 with_attack=$4
    local common=(--until "$until")
    local tls=(--http "$HTTP" --https "$HTTPS" --ca "$TLS_CERT")
    CLIENT_PIDS=()
    run() { # name args...
        local name=$1
        shift
        "${SOAK_PY[@]}" "$@" --out "$cdir/$name.json" >"$ldir/$name.log" 2>&1 &
        CLIENT_PIDS+=($!)
        PIDS+=($!)
    }
    run wrk-h1 wrk wrk-h1 "${common[@]}" --conns "${SOAK_WRK_CONNS:-4}" --delay-ms "${SOAK_WRK_DELAY_MS:-2}" "http://$HTTP/"
    run wrk-tls wrk wrk-tls "${common[@]}" --conns "${SOAK_TLS_CONNS:-2}" --delay-ms "${SOAK_TLS_DELAY_MS:-5}" "https://$HTTPS/"
    run h2c h2load h2c "${common[@]}" --requests "${SOAK_H2_REQUESTS:-1000}" --conns 4 --streams 8 --pause 2 "http://$HTTP/"
    run h2tls h2load h2tls "${common[@]}" --requests 400 --conns 2 --streams 4 --pause 3 "https://$HTTPS/"
    run upload upload upload "${common[@]}" "${tls[@]}"
    run curlup curlup curlup "${common[@]}" "${tls[@]}" --dir "$ldir/curl"
    run ws ws ws "${common[@]}" "${tls[@]}" --persistent "${SOAK_WS_PERSISTENT:-4}"
    run churn churn churn "${common[@]}" "${tls[@]}" --rate "${SOAK_CHURN_RATE:-20}"
    if [[ "$with_attack" == 1 ]]; then
        run attack attack attack "${common[@]}" --http "$HTTP" --https "$HTTPS" --peers "$PEERS_BIN" \
            --slow-count "${SOAK_SLOWHEAD:-200}"
    fi
}
wait_clients() { # seconds: wait that long at most, then kill what is left
    local deadline=$((SECONDS + $1)) pid
    for pid in "${CLIENT_PIDS[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            log "client pid $pid still running past its end; killing it"
            kill -TERM "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# ---------------------------------------------------------------- warm-up round, quiet baseline
log "warm-up: every client but the attackers for 10 s"
start_clients "$SCRATCH/warmup" "$SCRATCH/warmup" "$(($(date +%s) + 10))" 0
wait_clients 60
python3 - "$SCRATCH/warmup" <<'EOF' || die "the warm-up round failed (see $SCRATCH/warmup/*.log)"
import json, os, sys
d, bad = sys.argv[1], 0
for f in sorted(os.listdir(d)):
    if f.endswith(".json"):
        j = json.load(open(os.path.join(d, f)))
        print(f"  warm-up {j['name']}: {j['ok']}/{j['sent']} ok" + (f", FAILED {j['failed']}: {j['failures'][:3]}" if j["failed"] else ""))
        bad += j["failed"] + (j["sent"] == 0) + (not j["done"])
sys.exit(1 if bad else 0)
EOF
"${CLI[@]}" python3 "$BENCH_DIR/soak.py" quiesce --pid "$SERVER_PID" --status "$STATUS_URL" \
    --out "$SCRATCH/quiet-start.json" --wait 20

# ---------------------------------------------------------------- the soak
START=$(date +%s)
UNTIL=$((START + MINUTES * 60))
log "soak: $MINUTES minute(s), until $(date -u -d "@$UNTIL" +%H:%M:%S) UTC"
start_clients "$SCRATCH/counters" "$SCRATCH/clients" "$UNTIL" 1
"${SOAK_PY[@]}" monitor --pid "$SERVER_PID" --status "$STATUS_URL" --counters "$SCRATCH/counters" \
    --out "$SCRATCH/series.json" --start "$START" --until "$UNTIL"
log "load stopped; waiting for the clients to finish"
wait_clients 120

SERVER_EXIT=null
if kill -0 "$SERVER_PID" 2>/dev/null; then
    "${CLI[@]}" python3 "$BENCH_DIR/soak.py" quiesce --pid "$SERVER_PID" --status "$STATUS_URL" \
        --out "$SCRATCH/quiet-end.json" --baseline "$SCRATCH/quiet-start.json" --wait 30 || true
    log "SIGTERM to the server"
    kill -TERM "$SERVER_PID"
    for _ in $(seq 400); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "the server did not exit within 40 s of SIGTERM"
        SERVER_EXIT='"still running 40 s after SIGTERM"'
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    else
        SERVER_EXIT=0
        wait "$SERVER_PID" || SERVER_EXIT=$?
    fi
else
    log "the server is gone"
fi

clients_json=$(printf '"%s",' "${CLIENTS[@]}")
cat >"$SCRATCH/meta.json" <<EOF
{"minutes": $MINUTES, "started": "$(date -u -d "@$START" +%Y-%m-%dT%H:%M:%SZ)", "server": "examples/soak_server",
 "pid": $SERVER_PID, "pinning": "$PINNING", "http": "$HTTP", "https": "$HTTPS",
 "clients": [${clients_json%,}], "server_exit": $SERVER_EXIT, "rust_log": "${SOAK_RUST_LOG:-info,rustls=error}"}
EOF

log "report ($SCRATCH/summary.md)"
if python3 "$BENCH_DIR/soak.py" report --dir "$SCRATCH"; then
    log "PASS"
else
    log "FAIL (details: $SCRATCH/summary.md, $SCRATCH/result.json, $SCRATCH/clients/)"
    exit 1
fi

#!/usr/bin/env bash
# falconet side-by-side benchmark: falconet's `hello` example vs tiny_http, hyper, nginx and
# lighttpd, all serving `GET /` -> 200 `Hello, World!` (text/plain), on 127.0.0.1 only.
# Plus one static-file scenario: the `falconet` binary with `--root`, nginx and lighttpd serving
# the same 1 MiB file (`GET /file.bin`, 16 keep-alive connections); tiny_http and hyper have no
# file server and are reported as n/a.
# Plus one HTTP/2 scenario: h2load -c16 -m10 over cleartext h2c with prior knowledge against
# falconet's `hello` (built with --features http2), hyper's HTTP/2 server (bench/peers
# hyper-h2-hello), nginx (`listen ... http2`) and lighttpd (server.h2c); tiny_http has no HTTP/2.
# A server that does not answer HTTP/2 (e.g. falconet before its HTTP/2 support lands) is
# reported as failed, with the reason, and the run goes on.
#
#   bench/run.sh                  # full run: 5 s per load run, 3 repetitions (about 12 minutes,
#                                 #   of which the HTTP/2 phase is about 1.5)
#   QUICK=1 bench/run.sh          # smoke run: 2 s, 1 repetition
#   bench/run.sh --only http2     # only the HTTP/2 scenario (report goes to the scratch dir)
#   bench/run.sh --help           # this text
#
# Phases (--only PHASE[,PHASE...] or PHASES="..."; default: all four, in this order):
#   idle     memory idle and with IDLE_COUNT idle keep-alive connections
#   http1    wrk: keep-alive 1 / 16 / 256 conns, Connection: close 16 (+ one h2load --h1 run)
#   static   the 1 MiB static file (wrk, 16 conns)
#   http2    h2load -c16 -m10, h2c prior knowledge (HTTP/2 over cleartext)
# A run of only some phases (--only / PHASES) writes results.json, RESULTS.md and chart.svg to
# its scratch dir (bench/scratch/latest/), not to bench/, so that the committed full report is
# not overwritten; OUT_DIR=DIR puts them elsewhere. STATIC=0 / H2=0 still write to bench/.
#
# Environment knobs (defaults in brackets):
#   DURATION [5]       seconds per wrk / h2load run   REPS [3]   repetitions (median reported)
#   WARMUP [1]         seconds of warm-up after each server start (h2load: --warm-up-time)
#   SERVERS ["falconet tiny_http hyper nginx lighttpd"]
#   IDLE_COUNT [1000]  idle keep-alive connections held by bench/peers idle-probe
#   FALCONET_WORKERS [4] falconet's Falconet:Workers (4 is also its default on this machine)
#   PEER_THREADS [2]   tiny_http pool threads / tokio worker threads / nginx worker_processes
#   H2LOAD [1]         one `h2load --h1` cross-check run per server (16 keep-alive connections)
#   NO_INSTALL [0]     skip apt-get / pip         NO_PIN [0]  do not pin with taskset
#   PORT_BASE [18080]  first port tried
#   PHASES ["idle http1 static http2"]  phases to run (see above; --only sets it)
#   STATIC [1]         run the 1 MiB static-file scenario (falconet --root, nginx, lighttpd)
#   STATIC_SERVERS ["falconet nginx lighttpd"]  servers with a file server (intersected with SERVERS)
#   H2 [1]             run the HTTP/2 scenario
#   H2_SERVERS ["falconet hyper nginx lighttpd"]  servers run with HTTP/2 (intersected with SERVERS;
#                      `hyper` is bench/peers hyper-h2-hello there)
#   H2_CONNS [16] H2_STREAMS [10]  h2load -c / -m (connections, concurrent streams per connection)
#   H2_DURATION [DURATION]  seconds per h2load run (-D), after WARMUP s of --warm-up-time
#   FALCONET_H2_FEATURES ["http2"]  cargo features of the falconet `hello` built for HTTP/2 (in
#                      bench/target/falconet-h2; if they are all default features, or empty:
#                      the HTTP/1.1 binary)
#   OUT_DIR [bench, or the scratch dir for a partial run]  where results.json / RESULTS.md go
#
# Writes bench/results.json, then bench/report.py renders bench/RESULTS.md and bench/chart.svg.
# Scratch files (raw wrk output, configs, logs) go to bench/scratch/ (git-ignored).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
export PATH="$PATH:/usr/sbin:/sbin"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
ALL_PHASES="idle http1 static http2"
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; PHASES=${2//,/ }; shift 2 ;;
    --only=*) PHASES=${1#--only=}; PHASES=${PHASES//,/ }; shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
PHASES=${PHASES:-$ALL_PHASES}
PARTIAL=0 # phases left out by --only / PHASES (not by STATIC=0 or H2=0): report not in bench/
for p in $PHASES; do
    [[ " $ALL_PHASES " == *" $p "* ]] || { echo "unknown phase '$p' (phases: $ALL_PHASES)" >&2; exit 2; }
done
for p in $ALL_PHASES; do
    [[ " $PHASES " == *" $p "* ]] || PARTIAL=1
done
[[ "${STATIC:-1}" == 1 ]] || PHASES=$(sed 's/\<static\>//' <<<"$PHASES")
[[ "${H2:-1}" == 1 ]] || PHASES=$(sed 's/\<http2\>//' <<<"$PHASES")
PHASES=$(echo $PHASES) # normalize spaces
[[ -n "$PHASES" ]] || { echo "no phase left to run (PHASES, STATIC=0, H2=0)" >&2; exit 2; }
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

if [[ "${QUICK:-0}" == 1 ]]; then
    DURATION=${DURATION:-2}
    REPS=${REPS:-1}
else
    DURATION=${DURATION:-5}
    REPS=${REPS:-3}
fi
WARMUP=${WARMUP:-1}
SERVERS=${SERVERS:-"falconet tiny_http hyper nginx lighttpd"}
IDLE_COUNT=${IDLE_COUNT:-1000}
FALCONET_WORKERS=${FALCONET_WORKERS:-4}
PEER_THREADS=${PEER_THREADS:-2}
H2LOAD=${H2LOAD:-1}
NEXT_PORT=${PORT_BASE:-18080}
STATIC_BYTES=1048576
STATIC_CONNS=16
STATIC_DIR="$BENCH_DIR/scratch/static"
STATIC_PATH=/file.bin
STATIC_RUN=""
if has_phase static; then
    for s in ${STATIC_SERVERS:-falconet nginx lighttpd}; do
        [[ " $SERVERS " == *" $s "* ]] && STATIC_RUN+="${STATIC_RUN:+ }$s"
    done
fi
# name connections wrk-threads extra-header
SCENARIOS=(
    "ka1 1 1 -"
    "ka16 16 1 -"
    "ka256 256 1 -"
    "close16 16 1 Connection:_close"
)
has_phase http1 || SCENARIOS=()
# The HTTP/2 scenario: h2load, cleartext h2c with prior knowledge, one h2load thread.
H2_CONNS=${H2_CONNS:-16}
H2_STREAMS=${H2_STREAMS:-10}
H2_DURATION=${H2_DURATION:-$DURATION}
H2_NAME="h2c${H2_CONNS}x${H2_STREAMS}"
FALCONET_H2_FEATURES=${FALCONET_H2_FEATURES-http2}
H2_RUN=""
if has_phase http2; then
    for s in ${H2_SERVERS:-falconet hyper nginx lighttpd}; do
        [[ " $SERVERS " == *" $s "* ]] && H2_RUN+="${H2_RUN:+ }$s"
    done
fi

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SCRATCH="$BENCH_DIR/scratch/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$SCRATCH"
ln -sfn "$SCRATCH" "$BENCH_DIR/scratch/latest"
log "scratch dir: $SCRATCH"

# ---------------------------------------------------------------- cleanup: kill what we start
PIDS_TO_KILL=()
cleanup() {
    local pid
    for pid in "${PIDS_TO_KILL[@]:-}"; do
        [[ -n "$pid" ]] || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill_tree "$pid" TERM
        fi
    done
    sleep 0.3
    for pid in "${PIDS_TO_KILL[@]:-}"; do
        [[ -n "$pid" ]] || continue
        kill_tree "$pid" KILL 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

children_of() { # direct children of $1 (nginx workers)
    local f ppid
    for f in /proc/[0-9]*/status; do
        ppid=$(awk '/^PPid:/ {print $2}' "$f" 2>/dev/null) || continue
        if [[ "$ppid" == "$1" ]]; then
            f=${f#/proc/}
            echo "${f%/status}"
        fi
    done
}
kill_tree() { # pid signal
    local c
    for c in $(children_of "$1"); do kill "-$2" "$c" 2>/dev/null || true; done
    kill "-$2" "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- install what is missing
install_deps() {
    [[ "${NO_INSTALL:-0}" == 1 ]] && return 0
    local apt=() sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    command -v wrk >/dev/null || apt+=(wrk)
    command -v h2load >/dev/null || apt+=(nghttp2-client)
    command -v nginx >/dev/null || apt+=(nginx)
    command -v lighttpd >/dev/null || apt+=(lighttpd)
    command -v taskset >/dev/null || apt+=(util-linux)
    command -v ss >/dev/null || apt+=(iproute2)
    command -v curl >/dev/null || apt+=(curl)
    if ((${#apt[@]})); then
        log "apt-get install ${apt[*]}"
        "${sudo[@]}" apt-get update -qq
        # policy-rc.d keeps Debian from starting nginx/lighttpd as system services on install
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt[@]}" >&2
    fi
    if ! python3 -c 'import matplotlib' 2>/dev/null; then
        log "pip install matplotlib"
        python3 -m pip install --quiet matplotlib >&2 || python3 -m pip install --quiet --user matplotlib >&2
    fi
}
install_deps
for tool in wrk nginx lighttpd ss python3 cargo curl; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -z "$H2_RUN" ]] || command -v h2load >/dev/null || die "h2load not found (Debian: nghttp2-client)"

# ---------------------------------------------------------------- limits and pinning
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
log "RLIMIT_NOFILE soft limit: $(ulimit -n)"
NCPU=$(nproc)
SRV=() CLI=() PINNING="none"
if [[ "${NO_PIN:-0}" != 1 ]] && command -v taskset >/dev/null && ((NCPU >= 2)); then
    SRV=(taskset -c 0)
    CLI=(taskset -c 1)
    PINNING="server on CPU 0, load generator / probe on CPU 1 (taskset)"
fi
log "pinning: $PINNING"

# ---------------------------------------------------------------- build
log "building peers (bench/peers, its own workspace) ..."
CARGO_TARGET_DIR="$BENCH_DIR/target/peers" cargo build --release --locked \
    --manifest-path "$BENCH_DIR/peers/Cargo.toml" >"$SCRATCH/build-peers.log" 2>&1 \
    || { tail -30 "$SCRATCH/build-peers.log" >&2; die "peers build failed"; }
PEERS_BIN="$BENCH_DIR/target/peers/release"
HELLO_BIN="$BENCH_DIR/target/falconet/release/examples/hello"
FALCONET_BIN="$BENCH_DIR/target/falconet/release/falconet"
# For HTTP/2: `hello` with FALCONET_H2_FEATURES. While these are not all among falconet's
# default features, it is built in a target dir of its own (bench/target/falconet-h2), so that
# the two builds do not invalidate each other run after run (the first run compiles the
# dependencies there once); once they are defaults, it is the HTTP/1.1 binary.
HELLO_H2_BIN="" FALCONET_H2_BUILD="" FALCONET_H2_BUILD_FAIL="" need_default_build=0
if [[ " $SERVERS " == *" falconet "* ]] && { has_phase idle || has_phase http1 || [[ -n "$STATIC_RUN" ]]; }; then
    need_default_build=1
fi
if [[ " $H2_RUN " == *" falconet "* ]]; then
    h2_extra=$(cd "$ROOT" && cargo metadata --no-deps --format-version 1 2>/dev/null | python3 -c '
import json, sys
want = sys.argv[1].replace(",", " ").split()
feats = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "falconet")["features"]
on, todo = set(), ["default"]
while todo:  # the default features and every feature they enable
    f = todo.pop()
    if f in feats and f not in on:
        on.add(f)
        todo += feats[f]
print(" ".join(f for f in want if f not in on))' "$FALCONET_H2_FEATURES") || h2_extra=$FALCONET_H2_FEATURES
    if [[ -n "$h2_extra" ]]; then
        log "building falconet's hello example with --features $FALCONET_H2_FEATURES for HTTP/2 (bench/target/falconet-h2) ..."
        FALCONET_H2_BUILD="--features $FALCONET_H2_FEATURES"
        # Not fatal: while HTTP/2 is being written the feature may not build; falconet's HTTP/2
        # row then says so and the other servers are measured.
        if (cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet-h2" cargo build --release --example hello \
            --features "$FALCONET_H2_FEATURES") >"$SCRATCH/build-falconet-h2.log" 2>&1; then
            HELLO_H2_BIN="$BENCH_DIR/target/falconet-h2/release/examples/hello"
        else
            tail -30 "$SCRATCH/build-falconet-h2.log" >&2
            FALCONET_H2_BUILD_FAIL="cargo build --release --example hello --features $FALCONET_H2_FEATURES failed: $(grep -m1 '^error' "$SCRATCH/build-falconet-h2.log" || echo 'see build-falconet-h2.log')"
            log "falconet (HTTP/2): $FALCONET_H2_BUILD_FAIL"
        fi
    else
        HELLO_H2_BIN=$HELLO_BIN
        FALCONET_H2_BUILD="default features${FALCONET_H2_FEATURES:+ (they include $FALCONET_H2_FEATURES)}"
        need_default_build=1
    fi
fi
if ((need_default_build)); then
    log "building falconet's hello example and the falconet binary (release, LTO) ..."
    (cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet" cargo build --release --example hello \
        --bin falconet) >"$SCRATCH/build-falconet.log" 2>&1 \
        || { tail -30 "$SCRATCH/build-falconet.log" >&2; die "falconet build failed"; }
    [[ -x "$HELLO_BIN" ]] || die "missing $HELLO_BIN"
    [[ -x "$FALCONET_BIN" ]] || die "missing $FALCONET_BIN"
fi

# ---------------------------------------------------------------- the static file
# 1 MiB of deterministic pseudo-random bytes (seeded, so every run and every server serves the
# same, incompressible content); written once, rewritten only if missing or different.
STATIC_SHA256=""
if [[ -n "$STATIC_RUN" ]]; then
    mkdir -p "$STATIC_DIR"
    STATIC_SHA256=$(python3 - "$STATIC_DIR/file.bin" "$STATIC_BYTES" <<'EOF'
import hashlib, os, random, sys
path, n = sys.argv[1], int(sys.argv[2])
data = random.Random(20261121).randbytes(n)
if not os.path.exists(path) or open(path, "rb").read() != data:
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
print(hashlib.sha256(data).hexdigest())
EOF
) || die "could not write $STATIC_DIR/file.bin"
    log "static file: $STATIC_DIR/file.bin ($STATIC_BYTES bytes, sha256 ${STATIC_SHA256:0:16}...); servers: $STATIC_RUN"
fi

# ---------------------------------------------------------------- helpers
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }
pick_port() {
    local tries=0
    while port_in_use "$NEXT_PORT"; do
        NEXT_PORT=$((NEXT_PORT + 1))
        tries=$((tries + 1))
        ((tries < 1000)) || die "no free port"
    done
    PORT=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
}

rss_kb() { # sum of VmRSS over the given pids
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
threads_of() {
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
server_pids() { # the server's processes: nginx master + workers, else the one process
    echo "$SERVER_PID"
    [[ "$SERVER_NAME" == nginx ]] && children_of "$SERVER_PID"
    return 0
}

# TcpExt ListenOverflows of this network namespace (accept queue full: SYNs dropped).
listen_overflows() {
    awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
        else { for (i = 1; i <= NF; i++) if (n[i] == "ListenOverflows") print $i } }' /proc/net/netstat
}

# One request with Connection: close over bash's /dev/tcp, bounded by `timeout`.
http_get_close() {
    timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' &&
        printf "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3 && cat <&3' 2>/dev/null
}

# Checks a static-mode server: GET /file.bin must be 200 with Content-Length: $STATIC_BYTES and
# the body must be the file, byte for byte.
check_static() {
    local dir="$SCRATCH/$SERVER_NAME" out code_size
    out="$dir/static-body-$PORT.tmp"
    code_size=$(curl -s --max-time 10 -D "$dir/static-response.txt" -o "$out" \
        -w '%{http_code} %{size_download}' "http://127.0.0.1:$PORT$STATIC_PATH") || true
    echo "$code_size" >"$dir/static-check.txt"
    if [[ "$code_size" != "200 $STATIC_BYTES" ]] \
        || ! tr -d '\r' <"$dir/static-response.txt" | grep -qi "^content-length: $STATIC_BYTES\$" \
        || ! cmp -s "$out" "$STATIC_DIR/file.bin"; then
        rm -f "$out"
        cat "$dir/static-response.txt" >&2 || true
        die "$SERVER_NAME: GET $STATIC_PATH gave '$code_size', expected '200 $STATIC_BYTES' with Content-Length $STATIC_BYTES and the file's bytes"
    fi
    rm -f "$out"
}

# Checks that the server speaks HTTP/2 with prior knowledge on cleartext (h2c): curl
# --http2-prior-knowledge must get HTTP/2 200, Content-Type: text/plain and `Hello, World!`, and a
# short h2load run (the scenario's client) must see every request succeed with a 2xx. h2load
# prints "Application protocol: h2c" for any cleartext server, even one that only answers
# HTTP/1.1 (then no request succeeds), so its success counts are what tells. Returns 1 with
# H2_CHECK_REASON set otherwise; what the server said is in $SCRATCH/$SERVER_NAME/h2-check-*.
H2_CHECK_REASON=""
check_h2() {
    local dir="$SCRATCH/$SERVER_NAME" body res rc=0 first out
    H2_CHECK_REASON=""
    body="$dir/h2-body-$PORT.tmp"
    rm -f "$body"
    if [[ "$(curl -V 2>/dev/null)" == *HTTP2* ]]; then # (not `| grep -q`: SIGPIPE + pipefail)
        res=$(curl -s --max-time 5 --http2-prior-knowledge -D "$dir/h2-check-response.txt" -o "$body" \
            -w '%{http_version} %{http_code}' "http://127.0.0.1:$PORT/" 2>/dev/null) || rc=$?
        if [[ "$res" != "2 200" ]]; then
            H2_CHECK_REASON="curl --http2-prior-knowledge got HTTP version/status '$res' (curl exit $rc), expected '2 200'"
        elif ! tr -d '\r' <"$dir/h2-check-response.txt" | grep -qi '^content-type: text/plain'; then
            H2_CHECK_REASON="HTTP/2 answer without Content-Type: text/plain"
        elif [[ "$(cat "$body")" != "Hello, World!" ]]; then
            H2_CHECK_REASON="HTTP/2 answer body '$(head -c 60 "$body")', expected 'Hello, World!'"
        fi
    fi
    rm -f "$body"
    if [[ -z "$H2_CHECK_REASON" ]]; then
        out="$dir/h2-check-h2load-$PORT.txt"
        timeout 15 h2load -n 20 -c 1 -m 10 "http://127.0.0.1:$PORT/" >"$out" 2>&1 || true
        if ! grep -q '^Application protocol: h2c' "$out"; then
            H2_CHECK_REASON="h2load did not use h2c: $(grep -m1 -E 'Application protocol|No protocol' "$out" || tail -n1 "$out")"
        elif ! grep -q 'requests: 20 total, 20 started, 20 done, 20 succeeded, 0 failed, 0 errored' "$out" \
            || ! grep -q 'status codes: 20 2xx' "$out"; then
            H2_CHECK_REASON="h2load -n20: $(grep -m1 '^requests:' "$out" || echo 'no result'); $(grep -m1 '^status codes:' "$out" || true)"
        fi
    fi
    if [[ -z "$H2_CHECK_REASON" ]]; then
        echo ok >"$dir/h2-check.txt"
        # The server's SETTINGS (report.py shows SETTINGS_MAX_CONCURRENT_STREAMS: below -m,
        # h2load has fewer requests in flight per connection than asked for).
        if command -v nghttp >/dev/null; then
            timeout 5 nghttp -nv "http://127.0.0.1:$PORT/" >"$dir/h2-nghttp.txt" 2>&1 || true
        fi
        return 0
    fi
    # What did it answer to the connection preface? A first line "HTTP/1.1 400 ..." says
    # HTTP/1.1 only; binary bytes (a SETTINGS frame) say HTTP/2 with another problem.
    first=$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$PORT"' &&
        printf "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" >&3 && head -c 200 <&3' 2>/dev/null | head -n1 | tr -d '\r' | tr -c '[:print:]' '.' ) || true
    if [[ "$first" == HTTP/* ]]; then
        H2_CHECK_REASON+="; it answered the HTTP/2 connection preface with '$first' (HTTP/1.x only)"
    elif [[ -z "$first" ]]; then
        H2_CHECK_REASON+="; no answer to the HTTP/2 connection preface within 3 s (or connection closed)"
    fi
    echo "$H2_CHECK_REASON" >"$dir/h2-check.txt"
    return 1
}

SERVER_PID="" SERVER_NAME="" PORT="" START_FAIL=""
# In mode h2 a server that does not start or does not speak HTTP/2 is not fatal: start_server
# returns 1 with the reason in START_FAIL (the caller records it and goes on). Elsewhere: die.
start_fail() { # mode message
    if [[ "$1" == h2 ]]; then
        START_FAIL=$2
        log "$SERVER_NAME (HTTP/2): $2"
        return 0
    fi
    die "$2"
}

# nginx >= 1.25.1 switches HTTP/2 on with `http2 on;` (and deprecates `listen ... http2`);
# older ones only have the listen parameter. Both give h2c with prior knowledge on cleartext.
nginx_h2_new_syntax() {
    local v
    v=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    [[ -n "$v" && "$(printf '%s\n' 1.25.1 "$v" | sort -V | head -1)" == 1.25.1 ]]
}

start_server() { # name [mode: hello (GET / -> Hello, World!) | static (files under $STATIC_DIR)
                 #             | h2 (GET / -> Hello, World! over h2c with prior knowledge)]
    SERVER_NAME=$1
    START_FAIL=""
    local mode=${2:-hello}
    pick_port
    local dir="$SCRATCH/$SERVER_NAME"
    mkdir -p "$dir"
    local logf="$dir/server-$PORT.log"
    case "$SERVER_NAME:$mode" in
    tiny_http:static | hyper:static) die "$SERVER_NAME has no file server" ;;
    tiny_http:h2) die "tiny_http has no HTTP/2" ;;
    falconet:h2)
        if [[ -n "$FALCONET_H2_BUILD_FAIL" || ! -x "$HELLO_H2_BIN" ]]; then
            start_fail h2 "${FALCONET_H2_BUILD_FAIL:-missing $HELLO_H2_BIN}"
            return 1
        fi
        printf '{"Falconet": {"Workers": %d}}\n' "$FALCONET_WORKERS" >"$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$HELLO_H2_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    hyper:h2)
        "${SRV[@]}" "$PEERS_BIN/hyper-h2-hello" "127.0.0.1:$PORT" "$PEER_THREADS" >"$logf" 2>&1 &
        ;;
    falconet:hello)
        printf '{"Falconet": {"Workers": %d}}\n' "$FALCONET_WORKERS" >"$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$HELLO_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    falconet:static)
        printf '{"Falconet": {"Workers": %d}}\n' "$FALCONET_WORKERS" >"$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$FALCONET_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" --root "$STATIC_DIR" >"$logf" 2>&1 &
        ;;
    tiny_http:hello)
        "${SRV[@]}" "$PEERS_BIN/tiny-http-hello" "127.0.0.1:$PORT" "$PEER_THREADS" >"$logf" 2>&1 &
        ;;
    hyper:hello)
        "${SRV[@]}" "$PEERS_BIN/hyper-hello" "127.0.0.1:$PORT" "$PEER_THREADS" >"$logf" 2>&1 &
        ;;
    nginx:*)
        mkdir -p "$dir/nginx-$PORT/tmp"
        local p="$dir/nginx-$PORT" location listen="listen 127.0.0.1:$PORT;"
        if [[ "$mode" == h2 ]]; then
            # Cleartext HTTP/2 in nginx is h2c with prior knowledge only (no Upgrade).
            if nginx_h2_new_syntax; then
                listen="listen 127.0.0.1:$PORT;
        http2 on;"
            else
                listen="listen 127.0.0.1:$PORT http2;"
            fi
        fi
        if [[ "$mode" == static ]]; then
            # sendfile and tcp_nopush as in Debian's /etc/nginx/nginx.conf (nginx's compiled-in
            # default is sendfile off); no gzip (wrk sends no Accept-Encoding anyway).
            location="sendfile on;
        tcp_nopush on;
        location / {
            root $STATIC_DIR;
            default_type application/octet-stream;
        }"
        else
            location="location / {
            default_type text/plain;
            return 200 'Hello, World!';
        }"
        fi
        {
            [[ $(id -u) == 0 ]] && echo "user root;"
            cat <<EOF
worker_processes $PEER_THREADS;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    server {
        $listen
        $location
    }
}
EOF
        } >"$p/nginx.conf"
        "${SRV[@]}" nginx -c "$p/nginx.conf" -p "$p" -g 'daemon off;' >"$logf" 2>&1 &
        ;;
    lighttpd:*)
        local p="$dir/lighttpd-$PORT" docroot
        mkdir -p "$p/www"
        printf 'Hello, World!' >"$p/www/index.txt"
        docroot="$p/www"
        [[ "$mode" == static ]] && docroot=$STATIC_DIR
        cat >"$p/lighttpd.conf" <<EOF
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$p/error.log"
server.max-fds = 16384
server.max-connections = 8192
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 130
index-file.names = ( "index.txt" )
mimetype.assign = ( ".txt" => "text/plain", ".bin" => "application/octet-stream" )
EOF
        if [[ "$mode" == h2 ]]; then
            # HTTP/2 (lighttpd >= 1.4.56; on by default since 1.4.59) and h2c, which in lighttpd
            # includes prior knowledge; set explicitly so that an older default cannot hide.
            echo 'server.feature-flags = ( "server.h2proto" => "enable", "server.h2c" => "enable" )' \
                >>"$p/lighttpd.conf"
        fi
        "${SRV[@]}" lighttpd -D -f "$p/lighttpd.conf" >"$logf" 2>&1 &
        ;;
    *) die "unknown server $SERVER_NAME (mode $mode)" ;;
    esac
    SERVER_PID=$!
    PIDS_TO_KILL+=("$SERVER_PID")
    local i
    for ((i = 0; i < 150; i++)); do # 15 s
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$logf" >&2
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            start_fail "$mode" "$SERVER_NAME exited at start: $(tail -n 3 "$logf" | tr '\n' ' ')"
            return 1
        fi
        port_in_use "$PORT" && break
        sleep 0.1
    done
    if ! port_in_use "$PORT"; then
        cat "$logf" >&2
        start_fail "$mode" "$SERVER_NAME did not listen on $PORT within 15 s"
        return 1
    fi
    if [[ "$mode" == h2 ]]; then
        if ! check_h2; then
            start_fail h2 "$H2_CHECK_REASON"
            return 1
        fi
        sleep 0.3
        return 0
    fi
    if [[ "$mode" == static ]]; then
        check_static
        sleep 0.3
        return 0
    fi
    local resp
    resp=$(http_get_close "$PORT" | tr -d '\r')
    if ! grep -q '^HTTP/1.[01] 200' <<<"$resp" || ! grep -qi '^content-type: text/plain' <<<"$resp" \
        || [[ "$(tail -n1 <<<"$resp")" != "Hello, World!" ]]; then
        printf '%s\n' "$resp" >&2
        die "$SERVER_NAME: unexpected answer to GET /"
    fi
    printf '%s\n' "$resp" >"$SCRATCH/$SERVER_NAME/response.txt"
    sleep 0.3 # let worker processes settle before reading their memory
}

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill_tree "$SERVER_PID" TERM
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$SERVER_PID" 2>/dev/null && kill_tree "$SERVER_PID" KILL
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# CPU time (clock ticks, utime + stime, includes exited threads) and context switches
# (voluntary + involuntary, summed over live threads) of the server's processes.
proc_counters() {
    local ticks=0 cs=0 pid t v
    for pid in "$@"; do
        v=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
        ticks=$((ticks + ${v:-0}))
        for t in /proc/"$pid"/task/*/status; do
            v=$(awk '/ctxt_switches:/ {s += $2} END {print s + 0}' "$t" 2>/dev/null) || v=0
            cs=$((cs + ${v:-0}))
        done
    done
    echo "$ticks $cs"
}

# Per-core jiffies (user nice system idle iowait irq softirq steal) of CPU 0 and CPU 1.
core_stat() { awk '$1 == "cpu0" || $1 == "cpu1" {print $1, $2, $3, $4, $5, $6, $7, $8, $9}' /proc/stat; }

run_wrk() { # out-file connections threads header duration [path, default /]
    local hdr=() pids before after t0 t1 path=${6:-/}
    [[ "$4" != "-" ]] && hdr=(-H "${4//_/ }")
    mapfile -t pids < <(server_pids)
    {
        echo "# loadavg-before: $(cat /proc/loadavg)"
        core_stat | sed 's/^/# core-stat-before: /'
        before=$(proc_counters "${pids[@]}")
        t0=$(date +%s.%N)
        # In a subshell of its own, so that `times` (children's user and system time: wrk's,
        # through timeout) counts this wrk run only.
        (
            timeout $(($5 + 30)) "${CLI[@]}" wrk -t"$3" -c"$2" -d"$5s" --timeout 5s --latency "${hdr[@]}" \
                "http://127.0.0.1:$PORT$path" 2>&1 || echo "# wrk exit status $?"
            echo "# client-times (shell, then children: user system):"
            times
        )
        t1=$(date +%s.%N)
        mapfile -t pids < <(server_pids)
        after=$(proc_counters "${pids[@]}")
        core_stat | sed 's/^/# core-stat-after: /'
        echo "# server-counters: before $before after $after wall $t0 $t1 clk_tck $(getconf CLK_TCK)"
        echo "# loadavg-after: $(cat /proc/loadavg)"
    } >"$1"
}

# h2load over h2c with prior knowledge, one thread, for warm-up + duration seconds. The server
# counters and core stats bracket the measured part only: they are read when the warm-up
# (h2load --warm-up-time, on the same connections) is over and when h2load is done. Same
# "# ..." lines as run_wrk, so report.py parses both alike.
run_h2load() { # out-file connections streams duration warmup
    local pids before after t0 t1 lp rc=0 warm=() cs_before cs_after
    awk -v w="$5" 'BEGIN { exit !(w > 0) }' && warm=(--warm-up-time "$5")
    local raw="$1.raw"
    local la_before
    la_before=$(cat /proc/loadavg)
    local t_launch t_end
    t_launch=$(date +%s.%N)
    # In a subshell, so that `times` (children's user and system time) is h2load's, over the
    # whole run including the warm-up: report.py divides it by the whole run's wall time.
    (
        timeout $(($4 + ${5%.*} + 31)) "${CLI[@]}" h2load -c"$2" -m"$3" -t1 -D "$4" "${warm[@]}" \
            "http://127.0.0.1:$PORT/" 2>&1 || echo "# h2load exit status $?"
        echo "# h2load-times (shell, then children: user system):"
        times
    ) >"$raw" 2>&1 &
    lp=$!
    PIDS_TO_KILL+=("$lp")
    ((${#warm[@]})) && sleep "$5"
    mapfile -t pids < <(server_pids)
    cs_before=$(core_stat)
    before=$(proc_counters "${pids[@]}")
    t0=$(date +%s.%N)
    wait "$lp" || rc=$?
    t1=$(date +%s.%N)
    t_end=$t1
    mapfile -t pids < <(server_pids)
    after=$(proc_counters "${pids[@]}")
    cs_after=$(core_stat)
    {
        echo "# loadavg-before: $la_before"
        sed 's/^/# core-stat-before: /' <<<"$cs_before"
        echo "# h2load -c$2 -m$3 -t1 -D $4 ${warm[*]} http://127.0.0.1:$PORT/"
        grep -v '^progress: ' "$raw" || true
        ((rc == 0)) || echo "# h2load subshell exit status $rc"
        echo "# h2load-wall: $t_launch $t_end"
        sed 's/^/# core-stat-after: /' <<<"$cs_after"
        echo "# server-counters: before $before after $after wall $t0 $t1 clk_tck $(getconf CLK_TCK)"
        echo "# loadavg-after: $(cat /proc/loadavg)"
    } >"$1"
    rm -f "$raw"
}

# ---------------------------------------------------------------- metadata
git_commit=$(cd "$ROOT" && git rev-parse HEAD 2>/dev/null || echo unknown)
git_dirty=$(cd "$ROOT" && git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null | wc -l)
M_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
M_CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) \
M_KERNEL=$(uname -r) \
M_MEM=$(awk '/^MemTotal:/ {print $2" "$3}' /proc/meminfo) \
M_RUSTC=$(rustc -V) M_CARGO=$(cargo -V) \
M_WRK=$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//') \
M_H2LOAD=$(h2load --version 2>&1 | head -1 || true) \
M_NGINX=$(nginx -v 2>&1 | head -1) \
M_LIGHTTPD=$(lighttpd -v 2>&1 | head -1) \
M_PYTHON=$(python3 -V 2>&1) \
M_COMMIT=$git_commit M_DIRTY=$git_dirty M_NCPU=$NCPU \
M_DURATION=$DURATION M_REPS=$REPS M_WARMUP=$WARMUP M_QUICK=${QUICK:-0} \
M_IDLE_COUNT=$IDLE_COUNT M_FW=$FALCONET_WORKERS M_PT=$PEER_THREADS \
M_PINNING=$PINNING M_NOFILE=$(ulimit -n) M_SERVERS=$SERVERS \
M_SCENARIOS="${SCENARIOS[*]}" M_LOAD=$(cat /proc/loadavg) \
M_STATIC_RUN=$STATIC_RUN M_STATIC_BYTES=$STATIC_BYTES M_STATIC_CONNS=$STATIC_CONNS \
M_STATIC_PATH=$STATIC_PATH M_STATIC_DIR=$STATIC_DIR M_STATIC_SHA=$STATIC_SHA256 \
M_PHASES=$PHASES M_H2_RUN=$H2_RUN M_H2_NAME=$H2_NAME M_H2_CONNS=$H2_CONNS M_H2_STREAMS=$H2_STREAMS \
M_H2_DURATION=$H2_DURATION M_H2_BUILD=$FALCONET_H2_BUILD \
M_NGINX_H2=$(nginx_h2_new_syntax && echo "http2 on;" || echo "listen ... http2;") \
python3 - "$SCRATCH/meta.json" <<'EOF'
import json, os, sys
e = os.environ
try:
    import matplotlib
    mpl = matplotlib.__version__
except Exception:
    mpl = "missing"
sc = e["M_SCENARIOS"].split()
json.dump({
    "date_utc": e["M_DATE"], "cores": int(e["M_NCPU"]), "cpu_model": e["M_CPU"],
    "kernel": e["M_KERNEL"], "mem_total": e["M_MEM"],
    "rustc": e["M_RUSTC"], "cargo": e["M_CARGO"], "wrk": e["M_WRK"], "h2load": e["M_H2LOAD"],
    "nginx": e["M_NGINX"], "lighttpd": e["M_LIGHTTPD"], "python": e["M_PYTHON"], "matplotlib": mpl,
    "falconet_commit": e["M_COMMIT"], "falconet_dirty_files": int(e["M_DIRTY"]),
    "duration_s": int(e["M_DURATION"]), "reps": int(e["M_REPS"]), "warmup_s": int(e["M_WARMUP"]),
    "quick": e["M_QUICK"] == "1", "idle_count": int(e["M_IDLE_COUNT"]),
    "falconet_workers": int(e["M_FW"]), "peer_threads": int(e["M_PT"]),
    "pinning": e["M_PINNING"], "nofile": e["M_NOFILE"], "servers": e["M_SERVERS"].split(),
    "scenarios": [{"name": sc[i], "connections": int(sc[i + 1]), "wrk_threads": int(sc[i + 2]),
                   "header": None if sc[i + 3] == "-" else sc[i + 3].replace("_", " ")}
                  for i in range(0, len(sc), 4)],
    "loadavg_start": e["M_LOAD"],
    "static": {"name": "static16", "servers": e["M_STATIC_RUN"].split(),
               "connections": int(e["M_STATIC_CONNS"]), "wrk_threads": 1,
               "path": e["M_STATIC_PATH"], "file_bytes": int(e["M_STATIC_BYTES"]),
               "sha256": e["M_STATIC_SHA"], "dir": e["M_STATIC_DIR"]} if e["M_STATIC_RUN"] else None,
    "phases": e["M_PHASES"].split(),
    # A list, so that more HTTP/2 scenarios (h2 over TLS with ALPN, other -c/-m) can be added.
    "h2_scenarios": [{
        "name": e["M_H2_NAME"], "client": "h2load", "transport": "h2c-prior-knowledge",
        "servers": e["M_H2_RUN"].split(), "connections": int(e["M_H2_CONNS"]),
        "streams": int(e["M_H2_STREAMS"]), "h2load_threads": 1,
        "duration_s": float(e["M_H2_DURATION"]), "warmup_s": float(e["M_WARMUP"]),
        "path": "/", "falconet_build": e["M_H2_BUILD"] or None, "nginx_h2": e["M_NGINX_H2"],
    }] if e["M_H2_RUN"] else [],
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------------- phase 1: memory and idle connections
# A fresh server per phase, so the idle figures are not inflated by earlier load.
IDLE_RUN=$SERVERS
has_phase idle || IDLE_RUN=""
for s in $IDLE_RUN; do
    log "$s: idle memory and $IDLE_COUNT idle keep-alive connections"
    start_server "$s"
    mapfile -t pids < <(server_pids)
    rss_idle=$(rss_kb "${pids[@]}")
    thr_idle=$(threads_of "${pids[@]}")
    out="$SCRATCH/$s/idle-probe.json"
    : >"$out"
    lo_before=$(listen_overflows)
    "${CLI[@]}" "$PEERS_BIN/idle-probe" "127.0.0.1:$PORT" "$IDLE_COUNT" 120 10 >"$out" 2>"$SCRATCH/$s/idle-probe.err" &
    probe_pid=$!
    PIDS_TO_KILL+=("$probe_pid")
    for ((i = 0; i < 600; i++)); do # 60 s
        [[ -s "$out" ]] && break
        kill -0 "$probe_pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ -s "$out" ]] || log "$s: idle-probe gave no answer within 60 s"
    sleep 0.5
    mapfile -t pids < <(server_pids)
    rss_held=$(rss_kb "${pids[@]}")
    thr_held=$(threads_of "${pids[@]}")
    alive=true
    kill -0 "$SERVER_PID" 2>/dev/null || alive=false
    lo_after=$(listen_overflows)
    kill "$probe_pid" 2>/dev/null || true
    wait "$probe_pid" 2>/dev/null || true
    python3 - "$SCRATCH/$s/idle.json" "$out" <<EOF
import json, sys
try:
    probe = json.loads(open(sys.argv[2]).read().strip().splitlines()[0])
except Exception as e:
    probe = {"error": "no probe output: %s" % e}
json.dump({"rss_idle_kb": $rss_idle, "threads_idle": $thr_idle,
           "rss_held_kb": $rss_held, "threads_held": $thr_held,
           "server_alive_after": "$alive" == "true",
           "listen_overflows": $lo_after - $lo_before, "probe": probe},
          open(sys.argv[1], "w"), indent=1)
EOF
    log "$s: rss idle ${rss_idle} kB, with $IDLE_COUNT held ${rss_held} kB; probe: $(head -c 400 "$out")"
    stop_server
done

# ---------------------------------------------------------------- phase 2: throughput and latency
# Repetitions are interleaved (rep 1 of every server, then rep 2, ...) so that slow drifts in
# the machine's background load spread over all servers instead of hitting one.
HTTP1_RUN=$SERVERS
has_phase http1 || HTTP1_RUN=""
for ((rep = 1; rep <= REPS; rep++)); do
    for s in $HTTP1_RUN; do
        start_server "$s"
        log "$s: rep $rep/$REPS on port $PORT"
        run_wrk "$SCRATCH/$s/warmup-$rep.txt" 16 1 - "$WARMUP"
        for sc in "${SCENARIOS[@]}"; do
            read -r name conns threads hdr <<<"$sc"
            run_wrk "$SCRATCH/$s/wrk-$name-$rep.txt" "$conns" "$threads" "$hdr" "$DURATION"
            log "$s $name rep $rep: $(grep -E 'Requests/sec' "$SCRATCH/$s/wrk-$name-$rep.txt" | tr -s ' ')"
        done
        if [[ "$H2LOAD" == 1 && $rep == 1 ]] && command -v h2load >/dev/null; then
            timeout $((DURATION + 30)) "${CLI[@]}" h2load --h1 -c16 -t1 -D "$DURATION" \
                "http://127.0.0.1:$PORT/" >"$SCRATCH/$s/h2load-h1-ka16.txt" 2>&1 || true
        fi
        mapfile -t pids < <(server_pids)
        echo "$(rss_kb "${pids[@]}") $(threads_of "${pids[@]}")" >"$SCRATCH/$s/rss-after-load-$rep.txt"
        stop_server
    done
    # The 1 MiB static file: falconet --root, nginx and lighttpd serving $STATIC_DIR, each started
    # fresh in static mode, warmed up on the file, then one wrk run.
    for s in $STATIC_RUN; do
        start_server "$s" static
        log "$s: static file, rep $rep/$REPS on port $PORT"
        run_wrk "$SCRATCH/$s/warmup-static-$rep.txt" "$STATIC_CONNS" 1 - "$WARMUP" "$STATIC_PATH"
        out="$SCRATCH/$s/wrk-static16-$rep.txt"
        run_wrk "$out" "$STATIC_CONNS" 1 - "$DURATION" "$STATIC_PATH"
        log "$s static16 rep $rep: $(grep -E 'Requests/sec|Transfer/sec' "$out" | tr -s ' ' | tr '\n' ' ')"
        mapfile -t pids < <(server_pids)
        echo "$(rss_kb "${pids[@]}") $(threads_of "${pids[@]}")" >"$SCRATCH/$s/rss-after-static-$rep.txt"
        stop_server
    done
    # HTTP/2: h2load -c$H2_CONNS -m$H2_STREAMS over h2c with prior knowledge, each server started
    # fresh in h2 mode and checked (check_h2). One that fails to start or to answer HTTP/2 gets
    # a h2-$H2_NAME-$rep.failed file with the reason instead of a measurement, and the run goes
    # on; so does one whose h2load run shows failures (report.py marks that repetition).
    for s in $H2_RUN; do
        mkdir -p "$SCRATCH/$s"
        out="$SCRATCH/$s/h2load-$H2_NAME-$rep.txt"
        rm -f "$SCRATCH/$s/h2-$H2_NAME-$rep.failed"
        if ! start_server "$s" h2; then
            echo "$START_FAIL" >"$SCRATCH/$s/h2-$H2_NAME-$rep.failed"
            stop_server
            continue
        fi
        log "$s: HTTP/2 $H2_NAME, rep $rep/$REPS on port $PORT"
        run_h2load "$out" "$H2_CONNS" "$H2_STREAMS" "$H2_DURATION" "$WARMUP"
        log "$s $H2_NAME rep $rep: $(grep -E '^finished in|^requests:' "$out" | tr '\n' ' ')"
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            mapfile -t pids < <(server_pids)
            echo "$(rss_kb "${pids[@]}") $(threads_of "${pids[@]}")" >"$SCRATCH/$s/rss-after-h2-$rep.txt"
        else
            echo "# server no longer running after the h2load run" >>"$out"
            log "$s: no longer running after the HTTP/2 run"
        fi
        stop_server
    done
done

echo "$(cat /proc/loadavg)" >"$SCRATCH/loadavg-end.txt"

# ---------------------------------------------------------------- collect and render
# A partial run (not every phase) does not overwrite the committed full report in bench/.
if [[ -z "${OUT_DIR:-}" ]]; then
    OUT_DIR=$BENCH_DIR
    [[ "$PARTIAL" == 0 ]] || OUT_DIR=$SCRATCH
fi
mkdir -p "$OUT_DIR"
python3 "$BENCH_DIR/report.py" collect "$SCRATCH" "$BENCH_DIR/peers/Cargo.lock" >"$OUT_DIR/results.json"
python3 "$BENCH_DIR/report.py" render "$OUT_DIR/results.json" "$OUT_DIR"
log "done: $OUT_DIR/RESULTS.md, chart.svg, results.json (raw output in $SCRATCH)"

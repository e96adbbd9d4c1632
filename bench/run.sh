#!/usr/bin/env bash
# falconet side-by-side benchmark: falconet's `hello` example vs tiny_http, hyper, nginx and
# lighttpd, all serving `GET /` -> 200 `Hello, World!` (text/plain), on 127.0.0.1 only.
# Plus static files: the `falconet` binary with `--root`, nginx and lighttpd serving the same
# 1 MiB file (`GET /file.bin`) and the same 13-byte file (`GET /hello.txt`), 16 keep-alive
# connections each; tiny_http and hyper have no file server and are reported as n/a.
# Plus one HTTP/2 scenario: h2load -c16 -m10 over cleartext h2c with prior knowledge against
# falconet's `hello` (built with --features http2), hyper's HTTP/2 server (bench/peers
# hyper-h2-hello), nginx (`listen ... http2`) and lighttpd (server.h2c); tiny_http has no HTTP/2.
# A server that does not answer HTTP/2 (e.g. falconet before its HTTP/2 support lands) is
# reported as failed, with the reason, and the run goes on.
# Plus HTTPS (falconet, nginx, lighttpd, one self-signed EC P-256 certificate made with openssl
# in the scratch dir): wrk keep-alive at 16 and 256 connections and with `Connection: close` at
# 64 (a TLS handshake per request), each server's session-resumption defaults left as they are.
# Plus slow request heads (2,000 connections that send `G` and hold), a core sweep (server on
# N cores with N workers) and system calls / CPU time per request (strace -c, /proc).
#
#   bench/run.sh                  # full run: 5 s per load run, 3 repetitions (about 25 minutes
#                                 #   on 2 cores; the HTTP/2 phase is about 1.5 of them)
#   QUICK=1 bench/run.sh          # smoke run: 2 s, 1 repetition
#   bench/run.sh --only http2     # only the HTTP/2 scenario (report goes to the scratch dir)
#   bench/run.sh --only cores --cores 1,2,4,8   # only the core sweep, with these N
#   bench/run.sh --help           # this text
#
# Phases (--only PHASE[,PHASE...] or PHASES="..."; default: all eight, in this order):
#   idle     memory idle and with IDLE_COUNTS idle keep-alive connections (1,000 and 10,000)
#   http1    wrk: keep-alive 1 / 16 / 256 / 1024 conns, Connection: close 16 (+ one h2load --h1)
#   static   static files, 16 conns: the 1 MiB file and the 13-byte hello.txt (wrk)
#   http2    h2load -c16 -m10, h2c prior knowledge (HTTP/2 over cleartext)
#   https    wrk over TLS: keep-alive 16 / 256 conns, Connection: close 64 (handshakes/s)
#   slowhead SLOWHEAD_COUNT connections hold 1 byte of a request head; wrk keep-alive 16 and
#            Connection: close 16 with and without them (ratio)
#   cores    core sweep (--cores): server on cores 0..N-1 with N workers, wrk on the other cores;
#            an N runs only where the machine has at least 2N cores
#   syscalls falconet and nginx at keep-alive 16: CPU time per request from /proc (no tracer),
#            then a short wrk run under `strace -c -f` (system calls per request, top calls)
# The first four run per repetition (interleaved across servers), then https and slowhead
# (also per repetition), then cores and syscalls.
# A run of only some phases (--only / PHASES) writes results.json, RESULTS.md and chart.svg to
# its scratch dir (bench/scratch/latest/), not to bench/, so that the committed full report is
# not overwritten; OUT_DIR=DIR puts them elsewhere. STATIC=0 / H2=0 still write to bench/.
#
# Environment knobs (defaults in brackets):
#   DURATION [5]       seconds per wrk / h2load run   REPS [3]   repetitions (median reported)
#   WARMUP [1]         seconds of warm-up after each server start (h2load: --warm-up-time)
#   SERVERS ["falconet tiny_http hyper nginx lighttpd"]
#   IDLE_COUNTS ["1000 10000"]  idle keep-alive connections held by bench/peers idle-probe, one
#                      fresh server per count (IDLE_COUNT=N is the same as IDLE_COUNTS=N). Each
#                      count needs COUNT + 200 file descriptors on both sides (RLIMIT_NOFILE is
#                      raised to the hard limit; a count that does not fit is skipped, said so)
#   FALCONET_WORKERS [4] falconet's Falconet:Workers (4 is also its default on this machine)
#   PEER_THREADS [2]   tiny_http pool threads / tokio worker threads / nginx worker_processes
#   H2LOAD [1]         one `h2load --h1` cross-check run per server (16 keep-alive connections)
#   NO_INSTALL [0]     skip apt-get / pip         NO_PIN [0]  do not pin with taskset
#   PORT_BASE [18080]  first port tried
#   PHASES ["idle http1 static http2 https slowhead cores syscalls"]  phases to run (see
#                      above; --only sets it)
#   STATIC [1]         run the static-file scenarios (falconet --root, nginx, lighttpd)
#   STATIC_SERVERS ["falconet nginx lighttpd"]  servers with a file server (intersected with SERVERS)
#   H2 [1]             run the HTTP/2 scenario
#   H2_SERVERS ["falconet hyper nginx lighttpd"]  servers run with HTTP/2 (intersected with SERVERS;
#                      `hyper` is bench/peers hyper-h2-hello there)
#   H2_CONNS [16] H2_STREAMS [10]  h2load -c / -m (connections, concurrent streams per connection)
#   H2_DURATION [DURATION]  seconds per h2load run (-D), after WARMUP s of --warm-up-time
#   FALCONET_H2_FEATURES ["http2"]  cargo features of the falconet `hello` built for HTTP/2 (in
#                      bench/target/falconet-h2; if they are all default features, or empty:
#                      the HTTP/1.1 binary)
#   HTTPS_SERVERS ["falconet nginx lighttpd"]  servers run over TLS (intersected with SERVERS)
#   HTTPS_CLOSE_CONNS [64]  connections of the HTTPS `Connection: close` scenario
#   SLOWHEAD_SERVERS ["falconet nginx lighttpd"]  servers of the slowhead phase (with SERVERS)
#   SLOWHEAD_COUNT [2000]  connections that hold a partial request head
#   SLOWHEAD_BYTES [1]     bytes of the head each one sends (1: `G`)
#   CORES ["1 2 4 8"]  N of the core sweep (--cores 1,2,4,8 sets it; commas or spaces)
#   CORES_SCENARIOS ["ka16 ka256"]  http1 scenarios run at each N (names from the http1 list)
#   CORES_SERVERS [SERVERS]  servers of the core sweep (intersected with SERVERS)
#   SYSCALL_SERVERS ["falconet nginx"]  servers of the syscalls phase (intersected with SERVERS)
#   STRACE_DURATION [2]  seconds of the wrk run under strace
#   OUT_DIR [bench, or the scratch dir for a partial run]  where results.json / RESULTS.md go
#
# Writes bench/results.json, then bench/report.py renders bench/RESULTS.md and bench/chart.svg.
# Scratch files (raw wrk output, configs, certificate, logs) go to bench/scratch/ (git-ignored).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# OUT_DIR is also the variable cargo gives build scripts: exported to the cargo builds below it
# makes rustc's environment tracking rebuild crates such as ring whenever it is set or changes.
REPORT_DIR=${OUT_DIR:-}
unset OUT_DIR
ROOT=$(dirname "$BENCH_DIR")
export PATH="$PATH:/usr/sbin:/sbin"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
ALL_PHASES="idle http1 static http2 https slowhead cores syscalls"
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; PHASES=${2//,/ }; shift 2 ;;
    --only=*) PHASES=${1#--only=}; PHASES=${PHASES//,/ }; shift ;;
    --cores) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; CORES=${2//,/ }; shift 2 ;;
    --cores=*) CORES=${1#--cores=}; CORES=${CORES//,/ }; shift ;;
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
in_servers() { # the words of $1 that are in SERVERS, in $1's order
    local out="" x
    for x in $1; do
        [[ " $SERVERS " == *" $x "* ]] && out+="${out:+ }$x"
    done
    echo "$out"
}
IDLE_COUNTS=${IDLE_COUNTS:-${IDLE_COUNT:-1000 10000}}
read -ra words <<<"${IDLE_COUNTS//,/ }" # commas or spaces; one space between
IDLE_COUNTS="${words[*]}"
for c in $IDLE_COUNTS; do
    [[ "$c" =~ ^[1-9][0-9]*$ ]] || { echo "IDLE_COUNTS: '$c' is not a count" >&2; exit 2; }
done
IDLE_COUNT=${IDLE_COUNTS%% *} # the first count: the one in the headline and the chart
FALCONET_WORKERS=${FALCONET_WORKERS:-4}
PEER_THREADS=${PEER_THREADS:-2}
H2LOAD=${H2LOAD:-1}
NEXT_PORT=${PORT_BASE:-18080}
STATIC_BYTES=1048576
STATIC_CONNS=16
STATIC_DIR="$BENCH_DIR/scratch/static"
STATIC_PATH=/file.bin
# The small static file: the same 13 bytes as the hello answer, from the file system.
STATIC_SMALL_PATH=/hello.txt
STATIC_SMALL_BODY="Hello, World!"
STATIC_RUN=""
has_phase static && STATIC_RUN=$(in_servers "${STATIC_SERVERS:-falconet nginx lighttpd}")
# name connections wrk-threads extra-header
ALL_SCENARIOS=(
    "ka1 1 1 -"
    "ka16 16 1 -"
    "ka256 256 1 -"
    "ka1024 1024 1 -"
    "close16 16 1 Connection:_close"
)
SCENARIOS=("${ALL_SCENARIOS[@]}")
has_phase http1 || SCENARIOS=()
# The HTTP/2 scenario: h2load, cleartext h2c with prior knowledge, one h2load thread.
H2_CONNS=${H2_CONNS:-16}
H2_STREAMS=${H2_STREAMS:-10}
H2_DURATION=${H2_DURATION:-$DURATION}
H2_NAME="h2c${H2_CONNS}x${H2_STREAMS}"
FALCONET_H2_FEATURES=${FALCONET_H2_FEATURES-http2}
H2_RUN=""
has_phase http2 && H2_RUN=$(in_servers "${H2_SERVERS:-falconet hyper nginx lighttpd}")
# HTTPS: wrk over TLS (HTTP/1.1; wrk offers no ALPN), same names as the http1 scenarios.
HTTPS_CLOSE_CONNS=${HTTPS_CLOSE_CONNS:-64}
HTTPS_SCENARIOS=(
    "tls_ka16 16 1 -"
    "tls_ka256 256 1 -"
    "tls_close$HTTPS_CLOSE_CONNS $HTTPS_CLOSE_CONNS 1 Connection:_close"
)
HTTPS_RUN=""
has_phase https && HTTPS_RUN=$(in_servers "${HTTPS_SERVERS:-falconet nginx lighttpd}")
# slowhead: holders of a partial request head, and wrk with and without them.
SLOWHEAD_COUNT=${SLOWHEAD_COUNT:-2000}
SLOWHEAD_BYTES=${SLOWHEAD_BYTES:-1}
SLOWHEAD_RUN=""
has_phase slowhead && SLOWHEAD_RUN=$(in_servers "${SLOWHEAD_SERVERS:-falconet nginx lighttpd}")
# The core sweep.
CORES=${CORES:-1 2 4 8}
read -ra words <<<"${CORES//,/ }"
CORES="${words[*]}"
for c in $CORES; do
    [[ "$c" =~ ^[1-9][0-9]*$ ]] || { echo "--cores / CORES: '$c' is not a core count" >&2; exit 2; }
done
CORES_SCENARIOS=${CORES_SCENARIOS:-ka16 ka256}
for c in $CORES_SCENARIOS; do
    printf '%s\n' "${ALL_SCENARIOS[@]}" | grep -q "^$c " \
        || { echo "CORES_SCENARIOS: no http1 scenario '$c'" >&2; exit 2; }
done
CORES_RUN=""
has_phase cores && CORES_RUN=$(in_servers "${CORES_SERVERS:-$SERVERS}")
# syscalls: strace -c and /proc CPU time at keep-alive 16.
STRACE_DURATION=${STRACE_DURATION:-2}
SYSCALL_RUN=""
has_phase syscalls && SYSCALL_RUN=$(in_servers "${SYSCALL_SERVERS:-falconet nginx}")

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
LIGHTTPD_MODDIR=${LIGHTTPD_MODDIR:-/usr/lib/lighttpd}
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
    command -v openssl >/dev/null || apt+=(openssl)
    command -v strace >/dev/null || apt+=(strace)
    # lighttpd's TLS module is a package of its own on Debian.
    [[ -e "$LIGHTTPD_MODDIR/mod_openssl.so" ]] || apt+=(lighttpd-mod-openssl)
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
[[ -z "$HTTPS_RUN" ]] || command -v openssl >/dev/null || die "openssl not found (needed for the https phase)"
[[ -z "$SYSCALL_RUN" ]] || command -v strace >/dev/null || die "strace not found (needed for the syscalls phase)"

# ---------------------------------------------------------------- limits and pinning
# Every server and client started below inherits this: the idle phase needs IDLE_COUNTS + a
# margin on both sides (idle-probe and server), slowhead SLOWHEAD_COUNT, ka1024 1024. Without
# CAP_SYS_RESOURCE the soft limit can only go up to the hard one.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
NOFILE=$(ulimit -n)
NOFILE_HARD=$(ulimit -Hn)
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
[[ "$NOFILE_HARD" == unlimited ]] && NOFILE_HARD=1048576
log "RLIMIT_NOFILE soft limit: $NOFILE (hard $NOFILE_HARD)"
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
if [[ " $SERVERS " == *" falconet "* ]] && { has_phase idle || has_phase http1 \
    || [[ " $STATIC_RUN $HTTPS_RUN $SLOWHEAD_RUN $CORES_RUN $SYSCALL_RUN " == *" falconet "* ]]; }; then
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
    if [[ "$(cat "$STATIC_DIR${STATIC_SMALL_PATH}" 2>/dev/null)" != "$STATIC_SMALL_BODY" ]]; then
        printf '%s' "$STATIC_SMALL_BODY" >"$STATIC_DIR${STATIC_SMALL_PATH}.tmp"
        mv "$STATIC_DIR${STATIC_SMALL_PATH}.tmp" "$STATIC_DIR${STATIC_SMALL_PATH}"
    fi
fi

# ---------------------------------------------------------------- the TLS certificate
# One self-signed EC P-256 certificate for every HTTPS server, made fresh for each run in the
# scratch dir: CN and SAN localhost / 127.0.0.1, Extended Key Usage serverAuth (falconet
# refuses a certificate whose EKU excludes it), key in PKCS#8 PEM (all three servers read it).
TLS_DIR="$SCRATCH/tls"
TLS_CERT="$TLS_DIR/cert.pem"
TLS_KEY="$TLS_DIR/key.pem"
if [[ -n "$HTTPS_RUN" ]]; then
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -keyout "$TLS_KEY" -out "$TLS_CERT" -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "extendedKeyUsage=serverAuth" \
        >"$TLS_DIR/openssl.log" 2>&1 || { cat "$TLS_DIR/openssl.log" >&2; die "openssl could not make the certificate"; }
    chmod 600 "$TLS_KEY"
    log "certificate: $TLS_CERT ($(openssl x509 -in "$TLS_CERT" -noout -text | grep -m1 -o 'ASN1 OID: [a-z0-9]*'))"
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
server_pids() { # the server's processes: nginx master + workers, lighttpd with max-worker
    echo "$SERVER_PID"    # (core sweep) its workers, else the one process
    [[ "$SERVER_NAME" == nginx || "$SERVER_NAME" == lighttpd ]] && children_of "$SERVER_PID"
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
# the body must be the file, byte for byte; GET /hello.txt must be 200 with the 13 bytes.
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
    code_size=$(curl -s --max-time 10 -D "$dir/static-small-response.txt" -o "$out" \
        -w '%{http_code} %{size_download}' "http://127.0.0.1:$PORT$STATIC_SMALL_PATH") || true
    echo "$code_size" >"$dir/static-small-check.txt"
    if [[ "$code_size" != "200 ${#STATIC_SMALL_BODY}" || "$(cat "$out")" != "$STATIC_SMALL_BODY" ]]; then
        rm -f "$out"
        cat "$dir/static-small-response.txt" >&2 || true
        die "$SERVER_NAME: GET $STATIC_SMALL_PATH gave '$code_size', expected '200 ${#STATIC_SMALL_BODY}' and '$STATIC_SMALL_BODY'"
    fi
    rm -f "$out"
}

# Checks an HTTPS server: curl, verifying the certificate against our self-signed one, must get
# 200, text/plain and the body. Then records what was negotiated (openssl s_client -brief) and
# what the server does about session resumption by default (bench/tls_probe.py: TLS 1.3 and
# 1.2, a second connection offering the first one's session). Returns 1 with
# HTTPS_CHECK_REASON set when the answer is wrong; the rest is information only.
HTTPS_CHECK_REASON=""
check_https() {
    local dir="$SCRATCH/$SERVER_NAME" body res rc=0
    HTTPS_CHECK_REASON=""
    body="$dir/https-body-$PORT.tmp"
    res=$(curl -s --max-time 5 --cacert "$TLS_CERT" -D "$dir/https-check-response.txt" -o "$body" \
        -w '%{http_code}' "https://127.0.0.1:$PORT/" 2>"$dir/https-check-curl.err") || rc=$?
    if [[ "$res" != 200 ]]; then
        HTTPS_CHECK_REASON="curl https://127.0.0.1:$PORT/ (--cacert the run's certificate) got status '$res' (curl exit $rc: $(head -c 200 "$dir/https-check-curl.err"))"
    elif ! tr -d '\r' <"$dir/https-check-response.txt" | grep -qi '^content-type: text/plain'; then
        HTTPS_CHECK_REASON="HTTPS answer without Content-Type: text/plain"
    elif [[ "$(cat "$body")" != "Hello, World!" ]]; then
        HTTPS_CHECK_REASON="HTTPS answer body '$(head -c 60 "$body")', expected 'Hello, World!'"
    fi
    rm -f "$body"
    if [[ -n "$HTTPS_CHECK_REASON" ]]; then
        echo "$HTTPS_CHECK_REASON" >"$dir/https-check.txt"
        return 1
    fi
    echo ok >"$dir/https-check.txt"
    # What wrk's OpenSSL gets by default (wrk sends no ALPN, no SNI for an IP literal).
    timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -brief </dev/null \
        >"$dir/https-s_client.txt" 2>&1 || true
    timeout 20 python3 "$BENCH_DIR/tls_probe.py" 127.0.0.1 "$PORT" "$TLS_CERT" \
        >"$dir/https-resumption.json" 2>"$dir/https-resumption.err" || true
    return 0
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
# In modes h2 and https a server that does not start or does not speak HTTP/2 / TLS is not
# fatal: start_server returns 1 with the reason in START_FAIL (the caller records it and goes
# on). Elsewhere: die.
start_fail() { # mode message
    if [[ "$1" == h2 || "$1" == https ]]; then
        START_FAIL=$2
        log "$SERVER_NAME ($1): $2"
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

# Set by phases around start_server: CONN_HINT, connections the phase will hold open at once
# (idle, slowhead: nginx's worker_connections and lighttpd's max-connections are raised to fit;
# 0: the defaults below); LIGHTTPD_WORKERS, lighttpd's server.max-worker (core sweep; 0: one
# process); FALCONET_WORKERS empty: no Falconet:Workers (falconet's default, core sweep).
CONN_HINT=0 LIGHTTPD_WORKERS=0
# Set by start_server: the most connections the server's configuration lets it hold at once
# (None: no configured cap; a Python literal), for the idle and slowhead records.
CONN_LIMIT=None

# falconet's appsettings.json: Falconet:Workers (unless FALCONET_WORKERS is empty) and, for
# HTTPS, the certificate as Kestrel:Certificates:Default (served by every https:// URL).
falconet_settings() { # file [https]
    local parts=()
    [[ -n "$FALCONET_WORKERS" ]] && parts+=("\"Falconet\": {\"Workers\": $FALCONET_WORKERS}")
    [[ "${2:-}" == https ]] && parts+=("\"Kestrel\": {\"Certificates\": {\"Default\": {\"Path\": \"$TLS_CERT\", \"KeyPath\": \"$TLS_KEY\"}}}")
    local IFS=,
    printf '{%s}\n' "${parts[*]}" >"$1"
}

start_server() { # name [mode: hello (GET / -> Hello, World!) | static (files under $STATIC_DIR)
                 #             | h2 (GET / -> Hello, World! over h2c with prior knowledge)
                 #             | https (GET / -> Hello, World! over TLS)]
    SERVER_NAME=$1
    START_FAIL=""
    local mode=${2:-hello}
    pick_port
    local dir="$SCRATCH/$SERVER_NAME"
    mkdir -p "$dir"
    local logf="$dir/server-$PORT.log"
    CONN_LIMIT=None
    case "$SERVER_NAME:$mode" in
    tiny_http:static | hyper:static) die "$SERVER_NAME has no file server" ;;
    tiny_http:h2) die "tiny_http has no HTTP/2" ;;
    tiny_http:https | hyper:https) die "$SERVER_NAME has no HTTPS server here" ;;
    falconet:h2)
        if [[ -n "$FALCONET_H2_BUILD_FAIL" || ! -x "$HELLO_H2_BIN" ]]; then
            start_fail h2 "${FALCONET_H2_BUILD_FAIL:-missing $HELLO_H2_BIN}"
            return 1
        fi
        falconet_settings "$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$HELLO_H2_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    hyper:h2)
        "${SRV[@]}" "$PEERS_BIN/hyper-h2-hello" "127.0.0.1:$PORT" "$PEER_THREADS" >"$logf" 2>&1 &
        ;;
    falconet:hello)
        falconet_settings "$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$HELLO_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    falconet:https)
        # rustls logs a warning for every ClientHello whose SNI is an IP address, and wrk sends
        # the URL's host (127.0.0.1) as SNI: a log line per handshake, which the other servers
        # do not write. rustls at error level; falconet's own warnings stay on.
        falconet_settings "$dir/appsettings-https.json" https
        RUST_LOG=warn,rustls=error "${SRV[@]}" "$HELLO_BIN" --urls "https://127.0.0.1:$PORT" \
            --config "$dir/appsettings-https.json" >"$logf" 2>&1 &
        ;;
    falconet:static)
        falconet_settings "$dir/appsettings.json"
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
        local p="$dir/nginx-$PORT" location listen="listen 127.0.0.1:$PORT;" wc=4096
        # Held connections (idle, slowhead) may all land on one worker: room for all of them.
        ((CONN_HINT + 1100 > wc)) && wc=$((CONN_HINT + 1100))
        CONN_LIMIT=$((wc * PEER_THREADS)) # per worker; the listening socket takes one of each
        if [[ "$mode" == https ]]; then
            # nginx's TLS defaults otherwise: ssl_session_tickets on (keys made at start,
            # shared by the workers), ssl_session_cache none, ssl_session_timeout 5m.
            listen="listen 127.0.0.1:$PORT ssl;
        ssl_certificate $TLS_CERT;
        ssl_certificate_key $TLS_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;"
        fi
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
        types { text/plain txt; application/octet-stream bin; }
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
events { worker_connections $wc; }
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
        local p="$dir/lighttpd-$PORT" docroot fds=16384 conns=8192
        # lighttpd caps max-connections at max-fds / 2, and max-fds at RLIMIT_NOFILE's hard limit.
        if ((CONN_HINT + 200 > conns)); then
            fds=$((2 * (CONN_HINT + 200)))
            ((fds > NOFILE_HARD)) && fds=$NOFILE_HARD
            conns=$((fds / 2))
        fi
        CONN_LIMIT=$conns
        mkdir -p "$p/www"
        printf 'Hello, World!' >"$p/www/index.txt"
        docroot="$p/www"
        [[ "$mode" == static ]] && docroot=$STATIC_DIR
        cat >"$p/lighttpd.conf" <<EOF
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$p/error.log"
server.max-fds = $fds
server.max-connections = $conns
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
        if [[ "$mode" == https ]]; then
            # mod_openssl's defaults otherwise (TLS 1.2 and 1.3, session tickets on with
            # keys lighttpd makes and rotates itself).
            cat >>"$p/lighttpd.conf" <<EOF
server.modules += ( "mod_openssl" )
ssl.engine = "enable"
ssl.pemfile = "$TLS_CERT"
ssl.privkey = "$TLS_KEY"
EOF
        fi
        ((LIGHTTPD_WORKERS > 1)) && echo "server.max-worker = $LIGHTTPD_WORKERS" >>"$p/lighttpd.conf"
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
    if [[ "$mode" == https ]]; then
        if ! check_https; then
            start_fail https "$HTTPS_CHECK_REASON"
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

WRK_SCHEME=http # https in the https phase
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
                "$WRK_SCHEME://127.0.0.1:$PORT$path" 2>&1 || echo "# wrk exit status $?"
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

# ---------------------------------------------------------------- the core sweep's plan
# N runs where the machine has at least 2N cores: the server on cores 0..N-1, the load
# generator on cores N..NCPU-1 (one wrk thread per core, at most one per connection).
CORES_PLAN="" CORES_SKIPPED=""
if [[ -n "$CORES_RUN" ]]; then
    for n in $CORES; do
        if [[ "${NO_PIN:-0}" == 1 ]] || ! command -v taskset >/dev/null; then
            CORES_SKIPPED+="$n|needs taskset pinning (NO_PIN=1 or no taskset);"
        elif ((NCPU < 2 * n)); then
            CORES_SKIPPED+="$n|needs at least $((2 * n)) cores, this machine has $NCPU;"
        else
            CORES_PLAN+="${CORES_PLAN:+ }$n"
        fi
    done
    for n in $CORES; do
        [[ " $CORES_PLAN " == *" $n "* ]] || log "core sweep: N=$n skipped: $(tr ';' '\n' <<<"$CORES_SKIPPED" | sed -n "s/^$n|//p" | head -1)"
    done
fi

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
M_IDLE_COUNTS=$IDLE_COUNTS M_NOFILE_HARD=$NOFILE_HARD \
M_STATIC_SMALL_PATH=$STATIC_SMALL_PATH M_STATIC_SMALL_BYTES=${#STATIC_SMALL_BODY} \
M_HTTPS_RUN=$HTTPS_RUN M_HTTPS_SCENARIOS="${HTTPS_SCENARIOS[*]}" M_TLS_CERT=$TLS_CERT \
M_OPENSSL=$(openssl version 2>&1 | head -1) \
M_TLS_CERT_TEXT=$( [[ -n "$HTTPS_RUN" ]] && openssl x509 -in "$TLS_CERT" -noout -subject -ext subjectAltName,extendedKeyUsage 2>/dev/null | tr -s ' ' | tr '\n' ' ') \
M_SLOWHEAD_RUN=$SLOWHEAD_RUN M_SLOWHEAD_COUNT=$SLOWHEAD_COUNT M_SLOWHEAD_BYTES=$SLOWHEAD_BYTES \
M_CORES_RUN=$CORES_RUN M_CORES=$CORES M_CORES_PLAN=$CORES_PLAN M_CORES_SKIPPED=$CORES_SKIPPED \
M_CORES_SCENARIOS="$(for c in $CORES_SCENARIOS; do printf '%s\n' "${ALL_SCENARIOS[@]}" | grep "^$c "; done | tr '\n' ' ')" \
M_SYSCALL_RUN=$SYSCALL_RUN M_STRACE_DURATION=$STRACE_DURATION \
M_STRACE=$(strace -V 2>/dev/null | head -1 || true) \
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
    "idle_counts": [int(c) for c in e["M_IDLE_COUNTS"].split()] if "idle" in e["M_PHASES"].split() else [],
    "nofile_hard": e["M_NOFILE_HARD"], "openssl": e["M_OPENSSL"], "strace": e["M_STRACE"],
    "static_small": {"name": "static_small16", "servers": e["M_STATIC_RUN"].split(),
                     "connections": int(e["M_STATIC_CONNS"]), "wrk_threads": 1,
                     "path": e["M_STATIC_SMALL_PATH"], "file_bytes": int(e["M_STATIC_SMALL_BYTES"])}
                    if e["M_STATIC_RUN"] else None,
    "https": {"servers": e["M_HTTPS_RUN"].split(),
              "scenarios": [{"name": hs[i], "connections": int(hs[i + 1]), "wrk_threads": int(hs[i + 2]),
                             "header": None if hs[i + 3] == "-" else hs[i + 3].replace("_", " ")}
                            for hs in [e["M_HTTPS_SCENARIOS"].split()] for i in range(0, len(hs), 4)],
              "certificate": "self-signed, EC P-256 (prime256v1) key, ECDSA-SHA256 signature, "
                             "CN and SAN localhost / 127.0.0.1, EKU serverAuth, made with "
                             "`openssl req -x509 -newkey ec` in the scratch dir for this run",
              "certificate_text": e["M_TLS_CERT_TEXT"].strip(), "protocols": "TLS 1.2 and 1.3"}
             if e["M_HTTPS_RUN"] else None,
    "slowhead": {"servers": e["M_SLOWHEAD_RUN"].split(), "count": int(e["M_SLOWHEAD_COUNT"]),
                 "head_bytes": int(e["M_SLOWHEAD_BYTES"]),
                 "scenarios": [{"name": "ka16", "connections": 16, "header": None},
                               {"name": "close16", "connections": 16, "header": "Connection: close"}]}
                if e["M_SLOWHEAD_RUN"] else None,
    "core_sweep": {"servers": e["M_CORES_RUN"].split(), "requested": [int(c) for c in e["M_CORES"].split()],
                   "run": [int(c) for c in e["M_CORES_PLAN"].split()],
                   "skipped": [{"n": int(x.split("|", 1)[0]), "reason": x.split("|", 1)[1]}
                               for x in e["M_CORES_SKIPPED"].split(";") if x],
                   "scenarios": [{"name": cs[i], "connections": int(cs[i + 1]),
                                  "header": None if cs[i + 3] == "-" else cs[i + 3].replace("_", " ")}
                                 for cs in [e["M_CORES_SCENARIOS"].split()] for i in range(0, len(cs), 4)]}
                  if e["M_CORES_RUN"] else None,
    "syscalls": {"servers": e["M_SYSCALL_RUN"].split(), "connections": 16, "scenario": "ka16",
                 "strace_duration_s": float(e["M_STRACE_DURATION"])} if e["M_SYSCALL_RUN"] else None,
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
# A fresh server per count, so the idle figures are not inflated by earlier load. For each
# count C in IDLE_COUNTS: RSS after start, then idle-probe opens C keep-alive connections (one
# request each) and holds them; RSS and threads while they are held. nginx's worker_connections
# and lighttpd's max-connections are raised to fit C (CONN_HINT); every process here inherits
# RLIMIT_NOFILE $NOFILE. Files: $s/idle-C.json (the first count also as $s/idle.json).
IDLE_RUN=$SERVERS
has_phase idle || IDLE_RUN=""
[[ -n "$IDLE_RUN" ]] || IDLE_COUNTS=""
for count in $IDLE_COUNTS; do
    for s in $IDLE_RUN; do
        mkdir -p "$SCRATCH/$s"
        if ((count + 200 > NOFILE)); then
            why="$count connections need about $((count + 200)) file descriptors per process; RLIMIT_NOFILE is $NOFILE (hard limit $NOFILE_HARD)"
            log "$s: idle $count skipped: $why"
            printf '{"skipped": "%s"}\n' "$why" >"$SCRATCH/$s/idle-$count.json"
            continue
        fi
        log "$s: idle memory and $count idle keep-alive connections"
        CONN_HINT=$count
        start_server "$s"
        CONN_HINT=0
        mapfile -t pids < <(server_pids)
        rss_idle=$(rss_kb "${pids[@]}")
        thr_idle=$(threads_of "${pids[@]}")
        out="$SCRATCH/$s/idle-probe-$count.json"
        : >"$out"
        lo_before=$(listen_overflows)
        t_probe=$(date +%s.%N)
        "${CLI[@]}" "$PEERS_BIN/idle-probe" "127.0.0.1:$PORT" "$count" 120 10 >"$out" 2>"$SCRATCH/$s/idle-probe-$count.err" &
        probe_pid=$!
        PIDS_TO_KILL+=("$probe_pid")
        for ((i = 0; i < 600; i++)); do # 60 s (the probe gives up on its own after 35 s)
            [[ -s "$out" ]] && break
            kill -0 "$probe_pid" 2>/dev/null || break
            sleep 0.1
        done
        [[ -s "$out" ]] || log "$s: idle-probe gave no answer within 60 s"
        sleep 0.5
        mapfile -t pids < <(server_pids)
        rss_held=$(rss_kb "${pids[@]}")
        thr_held=$(threads_of "${pids[@]}")
        t_held=$(date +%s.%N)
        alive=true
        kill -0 "$SERVER_PID" 2>/dev/null || alive=false
        lo_after=$(listen_overflows)
        kill "$probe_pid" 2>/dev/null || true
        wait "$probe_pid" 2>/dev/null || true
        python3 - "$SCRATCH/$s/idle-$count.json" "$out" <<EOF
import json, sys
try:
    probe = json.loads(open(sys.argv[2]).read().strip().splitlines()[0])
except Exception as e:
    probe = {"error": "no probe output: %s" % e}
json.dump({"count": $count, "rss_idle_kb": $rss_idle, "threads_idle": $thr_idle,
           "rss_held_kb": $rss_held, "threads_held": $thr_held,
           "server_alive_after": "$alive" == "true", "held_read_after_s": $t_held - $t_probe,
           "server_conn_limit": $CONN_LIMIT,
           "listen_overflows": $lo_after - $lo_before, "probe": probe},
          open(sys.argv[1], "w"), indent=1)
EOF
        [[ "$count" == "$IDLE_COUNT" ]] && cp "$SCRATCH/$s/idle-$count.json" "$SCRATCH/$s/idle.json"
        log "$s: rss idle ${rss_idle} kB, with $count held ${rss_held} kB; probe: $(head -c 400 "$out")"
        stop_server
    done
done

# ---------------------------------------------------------------- phase 2: throughput and latency
# Repetitions are interleaved (rep 1 of every server, then rep 2, ...) so that slow drifts in
# the machine's background load spread over all servers instead of hitting one.
HTTP1_RUN=$SERVERS
has_phase http1 || HTTP1_RUN=""
if [[ -n "$SLOWHEAD_RUN" ]] && ((2 * DURATION + 2 > 28)); then
    log "slowhead: with DURATION=$DURATION the runs with holders end about $((2 * DURATION + 2)) s after they connect: near or past falconet's 30 s RequestHeadersTimeout (the report shows the figure and what the holders saw)"
fi
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
    # The static files: falconet --root, nginx and lighttpd serving $STATIC_DIR, each started
    # fresh in static mode; warmed up on the 1 MiB file, one wrk run on it, then warmed up on the
    # 13-byte hello.txt and one wrk run on that (same server process).
    for s in $STATIC_RUN; do
        start_server "$s" static
        log "$s: static files, rep $rep/$REPS on port $PORT"
        run_wrk "$SCRATCH/$s/warmup-static-$rep.txt" "$STATIC_CONNS" 1 - "$WARMUP" "$STATIC_PATH"
        out="$SCRATCH/$s/wrk-static16-$rep.txt"
        run_wrk "$out" "$STATIC_CONNS" 1 - "$DURATION" "$STATIC_PATH"
        log "$s static16 rep $rep: $(grep -E 'Requests/sec|Transfer/sec' "$out" | tr -s ' ' | tr '\n' ' ')"
        run_wrk "$SCRATCH/$s/warmup-static-small-$rep.txt" "$STATIC_CONNS" 1 - "$WARMUP" "$STATIC_SMALL_PATH"
        out="$SCRATCH/$s/wrk-static_small16-$rep.txt"
        run_wrk "$out" "$STATIC_CONNS" 1 - "$DURATION" "$STATIC_SMALL_PATH"
        log "$s static_small16 rep $rep: $(grep -E 'Requests/sec' "$out" | tr -s ' ')"
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
    # HTTPS: wrk over TLS against falconet, nginx and lighttpd with the run's certificate, each
    # started fresh in https mode and checked (check_https); warm-up with 16 keep-alive
    # connections, then each HTTPS scenario. One that fails to start or to answer gets
    # https-$rep.failed with the reason and the run goes on.
    for s in $HTTPS_RUN; do
        mkdir -p "$SCRATCH/$s"
        rm -f "$SCRATCH/$s/https-$rep.failed"
        if ! start_server "$s" https; then
            echo "$START_FAIL" >"$SCRATCH/$s/https-$rep.failed"
            stop_server
            continue
        fi
        log "$s: HTTPS, rep $rep/$REPS on port $PORT"
        WRK_SCHEME=https
        run_wrk "$SCRATCH/$s/warmup-https-$rep.txt" 16 1 - "$WARMUP"
        for sc in "${HTTPS_SCENARIOS[@]}"; do
            read -r name conns threads hdr <<<"$sc"
            run_wrk "$SCRATCH/$s/wrk-$name-$rep.txt" "$conns" "$threads" "$hdr" "$DURATION"
            log "$s $name rep $rep: $(grep -E 'Requests/sec' "$SCRATCH/$s/wrk-$name-$rep.txt" | tr -s ' ')"
        done
        WRK_SCHEME=http
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            mapfile -t pids < <(server_pids)
            echo "$(rss_kb "${pids[@]}") $(threads_of "${pids[@]}")" >"$SCRATCH/$s/rss-after-https-$rep.txt"
        else
            echo "server no longer running after the HTTPS runs" >"$SCRATCH/$s/https-$rep.failed"
            log "$s: no longer running after the HTTPS runs"
        fi
        stop_server
    done
    # slowhead: each server started fresh with room for the holders (CONN_HINT), warmed up, then
    # wrk keep-alive 16 and Connection: close 16 without holders (base); then bench/peers
    # slow-head opens SLOWHEAD_COUNT connections that each send SLOWHEAD_BYTES of a request head
    # (`G`) and hold; the same two wrk runs while they hold (held); then the holders say how many
    # of them the server closed or answered meanwhile. The measured runs end about
    # 2 x DURATION + 2 s after the first holder connected: inside falconet's 30 s
    # RequestHeadersTimeout for DURATION up to 13 (the report gives the figure).
    for s in $SLOWHEAD_RUN; do
        dir="$SCRATCH/$s"
        mkdir -p "$dir"
        CONN_HINT=$SLOWHEAD_COUNT
        start_server "$s"
        CONN_HINT=0
        log "$s: slowhead ($SLOWHEAD_COUNT holders), rep $rep/$REPS on port $PORT"
        run_wrk "$dir/warmup-slowhead-$rep.txt" 16 1 - "$WARMUP"
        run_wrk "$dir/wrk-slowhead_base_ka16-$rep.txt" 16 1 - "$DURATION"
        run_wrk "$dir/wrk-slowhead_base_close16-$rep.txt" 16 1 Connection:_close "$DURATION"
        mapfile -t pids < <(server_pids)
        rss_before=$(rss_kb "${pids[@]}") thr_before=$(threads_of "${pids[@]}")
        fifo="$dir/slowhead-$rep.fifo"
        rm -f "$fifo"
        mkfifo "$fifo"
        exec {hfd}<>"$fifo" # read-write: opening does not block; the holder reads its stop line here
        hout="$dir/slowhead-holder-$rep.txt"
        : >"$hout"
        lo_before=$(listen_overflows)
        t_launch=$(date +%s.%N)
        "${CLI[@]}" "$PEERS_BIN/slow-head" "127.0.0.1:$PORT" "$SLOWHEAD_COUNT" $((2 * DURATION + 60)) \
            "$SLOWHEAD_BYTES" <&"$hfd" >"$hout" 2>"$dir/slowhead-holder-$rep.err" &
        hpid=$!
        PIDS_TO_KILL+=("$hpid")
        for ((i = 0; i < 300; i++)); do # 30 s (slow-head stops connecting after 20 s)
            [[ -s "$hout" ]] && break
            kill -0 "$hpid" 2>/dev/null || break
            sleep 0.1
        done
        t_held=$(date +%s.%N)
        [[ -s "$hout" ]] || log "$s: slow-head did not report its connections within 30 s"
        sleep 0.5 # the server sees the bytes and parks the connections
        mapfile -t pids < <(server_pids)
        rss_held=$(rss_kb "${pids[@]}") thr_held=$(threads_of "${pids[@]}")
        run_wrk "$dir/wrk-slowhead_held_ka16-$rep.txt" 16 1 - "$DURATION"
        run_wrk "$dir/wrk-slowhead_held_close16-$rep.txt" 16 1 Connection:_close "$DURATION"
        t_end=$(date +%s.%N)
        lo_after=$(listen_overflows)
        alive=true
        kill -0 "$SERVER_PID" 2>/dev/null || alive=false
        echo stop >&"$hfd" || true
        for ((i = 0; i < 100; i++)); do # 10 s
            kill -0 "$hpid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$hpid" 2>/dev/null || true
        wait "$hpid" 2>/dev/null || true
        exec {hfd}>&-
        rm -f "$fifo"
        python3 - "$dir/slowhead-$rep.json" "$hout" <<EOF
import json, sys
lines = [l for l in open(sys.argv[2]).read().splitlines() if l.strip()]
def js(i):
    try:
        return json.loads(lines[i])
    except Exception as e:
        return {"error": "no holder output: %s" % e}
json.dump({"count": $SLOWHEAD_COUNT, "head_bytes": $SLOWHEAD_BYTES,
           "connect_s": $t_held - $t_launch, "held_to_end_s": $t_end - $t_held,
           "first_connect_to_end_s": $t_end - $t_launch,
           "rss_before_kb": $rss_before, "threads_before": $thr_before,
           "rss_held_kb": $rss_held, "threads_held": $thr_held,
           "server_alive_after": "$alive" == "true", "listen_overflows": $lo_after - $lo_before,
           "server_conn_limit": $CONN_LIMIT,
           "holders": js(0), "holders_end": js(1)}, open(sys.argv[1], "w"), indent=1)
EOF
        log "$s slowhead rep $rep: ka16 $(grep -h 'Requests/sec' "$dir/wrk-slowhead_base_ka16-$rep.txt" "$dir/wrk-slowhead_held_ka16-$rep.txt" | awk '{print $2}' | paste -sd/), close16 $(grep -h 'Requests/sec' "$dir/wrk-slowhead_base_close16-$rep.txt" "$dir/wrk-slowhead_held_close16-$rep.txt" | awk '{print $2}' | paste -sd/) (without/with); holders: $(tr '\n' ' ' <"$hout" | head -c 300)"
        stop_server
    done
done

# ---------------------------------------------------------------- phase: core sweep
# For each N of CORES_PLAN: the server pinned to cores 0..N-1 with N workers (nginx
# worker_processes N, hyper N tokio workers, tiny_http N threads, lighttpd server.max-worker N
# (one process for N = 1), falconet with its default settings: no Falconet:Workers), wrk on
# cores N..NCPU-1 with one thread per core (at most one per connection). Repetitions are
# interleaved across servers as above. Files: $s/wrk-coresN-SCENARIO-REP.txt.
if [[ -n "$CORES_PLAN" ]]; then
    saved_srv=("${SRV[@]}") saved_cli=("${CLI[@]}") saved_pt=$PEER_THREADS saved_fw=$FALCONET_WORKERS
    for n in $CORES_PLAN; do
        SRV=(taskset -c "0-$((n - 1))")
        CLI=(taskset -c "$n-$((NCPU - 1))")
        PEER_THREADS=$n FALCONET_WORKERS="" LIGHTTPD_WORKERS=$n
        ccores=$((NCPU - n))
        echo "server: ${SRV[*]}; load generator: ${CLI[*]} ($ccores cores)" >"$SCRATCH/cores-$n.txt"
        for ((rep = 1; rep <= REPS; rep++)); do
            for s in $CORES_RUN; do
                start_server "$s"
                log "$s: core sweep N=$n, rep $rep/$REPS on port $PORT"
                mapfile -t pids < <(server_pids)
                echo "${#pids[@]} $(threads_of "${pids[@]}")" >"$SCRATCH/$s/cores$n-procs-threads-$rep.txt"
                t=$ccores
                ((t > 16)) && t=16
                run_wrk "$SCRATCH/$s/warmup-cores$n-$rep.txt" 16 "$t" - "$WARMUP"
                for c in $CORES_SCENARIOS; do
                    read -r name conns _ hdr < <(printf '%s\n' "${ALL_SCENARIOS[@]}" | grep "^$c ")
                    t=$ccores
                    ((t > conns)) && t=$conns
                    out="$SCRATCH/$s/wrk-cores$n-$name-$rep.txt"
                    run_wrk "$out" "$conns" "$t" "$hdr" "$DURATION"
                    log "$s cores=$n $name rep $rep: $(grep -E 'Requests/sec' "$out" | tr -s ' ')"
                done
                stop_server
            done
        done
    done
    SRV=("${saved_srv[@]}") CLI=("${saved_cli[@]}") PEER_THREADS=$saved_pt FALCONET_WORKERS=$saved_fw
    LIGHTTPD_WORKERS=0
fi

# ---------------------------------------------------------------- phase: syscalls
# Per server and repetition, fresh start and warm-up, then: (1) wrk keep-alive 16 for DURATION
# with no tracer: server CPU time per request from /proc/PID/stat (utime + stime of every
# process of the server, exited threads included) over wrk's completed requests, as run_wrk
# records for every run; (2) `strace -c -f` attached to every process of the server (-p each),
# wrk keep-alive 16 for STRACE_DURATION, then strace is stopped with SIGTERM and writes its
# summary: system calls per request = calls / wrk's completed requests. strace runs on the
# server's core. Files: $s/wrk-sys_cpu_ka16-REP.txt, wrk-sys_strace_ka16-REP.txt, strace-REP.txt.
for ((rep = 1; rep <= REPS; rep++)); do
    for s in $SYSCALL_RUN; do
        dir="$SCRATCH/$s"
        start_server "$s"
        log "$s: syscalls, rep $rep/$REPS on port $PORT"
        run_wrk "$dir/warmup-sys-$rep.txt" 16 1 - "$WARMUP"
        run_wrk "$dir/wrk-sys_cpu_ka16-$rep.txt" 16 1 - "$DURATION"
        mapfile -t pids < <(server_pids)
        sargs=()
        for p in "${pids[@]}"; do sargs+=(-p "$p"); done
        sout="$dir/strace-$rep.txt" serr="$dir/strace-$rep.err"
        : >"$serr"
        timeout $((STRACE_DURATION + 60)) "${SRV[@]}" strace -c -f -o "$sout" "${sargs[@]}" 2>"$serr" &
        spid=$!
        PIDS_TO_KILL+=("$spid")
        for ((i = 0; i < 50; i++)); do # 5 s for strace to attach to every process
            (($(grep -c 'attached' "$serr" || true) >= ${#pids[@]})) && break
            kill -0 "$spid" 2>/dev/null || break
            sleep 0.1
        done
        sleep 0.3
        run_wrk "$dir/wrk-sys_strace_ka16-$rep.txt" 16 1 - "$STRACE_DURATION"
        # SIGTERM, not SIGINT: a background job of a non-interactive shell ignores SIGINT.
        # timeout passes it on to strace, which detaches and writes its summary.
        kill -TERM "$spid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do # 15 s
            kill -0 "$spid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        kill -0 "$SERVER_PID" 2>/dev/null || echo "# server no longer running after strace" >>"$serr"
        log "$s syscalls rep $rep: $(grep -E 'Requests/sec' "$dir/wrk-sys_cpu_ka16-$rep.txt" | tr -s ' ') (no tracer); under strace $(grep -E 'requests in' "$dir/wrk-sys_strace_ka16-$rep.txt" | tr -s ' '), $(grep -E ' total$' "$sout" | tr -s ' ' || echo 'no strace summary')"
        stop_server
    done
done

echo "$(cat /proc/loadavg)" >"$SCRATCH/loadavg-end.txt"

# ---------------------------------------------------------------- collect and render
# A partial run (not every phase) does not overwrite the committed full report in bench/.
if [[ -z "$REPORT_DIR" ]]; then
    REPORT_DIR=$BENCH_DIR
    [[ "$PARTIAL" == 0 ]] || REPORT_DIR=$SCRATCH
fi
mkdir -p "$REPORT_DIR"
python3 "$BENCH_DIR/report.py" collect "$SCRATCH" "$BENCH_DIR/peers/Cargo.lock" >"$REPORT_DIR/results.json"
python3 "$BENCH_DIR/report.py" render "$REPORT_DIR/results.json" "$REPORT_DIR"
log "done: $REPORT_DIR/RESULTS.md, chart.svg, results.json (raw output in $SCRATCH)"

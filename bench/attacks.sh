#!/usr/bin/env bash
# falconet attack suite: falconet side by side with nginx under slow-client, connection-flood
# and HTTP/2 flood attacks, on 127.0.0.1. For each scenario and server: the normal clients'
# requests/s and p99 (wrk -t1 -c16 --latency, HTTP/1.1 keep-alive GET) without the attack
# (baseline) and while it runs, the server's RSS, threads and open descriptors sampled during
# the attack (/proc; nginx: master + workers), and when and how the attackers were cut off.
#
#   bench/attacks.sh                        # full run: 10 s per wrk run (about 10 minutes)
#   QUICK=1 bench/attacks.sh                # smoke run: 2 s per wrk run (about 3 minutes)
#   SCENARIOS="drip h2_ping" bench/attacks.sh   # some scenarios (or --only drip,h2_ping)
#   bench/attacks.sh --help                 # this text
#
# Scenarios (SCENARIOS / --only; default: all, in this order):
#   slowloris        slowhttptest -H: SLOW_CONNS connections sending a header line every 10 s
#   slowbody         slowhttptest -B: SLOW_CONNS POSTs (Content-Length 8192) sending their body
#                    a few bytes every 10 s, to an endpoint that reads the body (falconet: the
#                    `echo` example, POST /; nginx: POST /upload proxied to a local server block,
#                    so that nginx reads the whole body first, proxy_request_buffering on)
#   slowread         slowhttptest -X: SLOW_CONNS connections asking for a 1 MiB file 3 times
#                    (pipelined) and reading 32 bytes every 5 s with a 512-1024 byte window
#                    (falconet: the `falconet` binary with --root; nginx: root); wrk asks for the
#                    13-byte /hello.txt from the same file server
#   drip             bench/peers attack drip: DRIP_CONNS (4 x Workers) connections sending valid
#                    GET heads one byte every 10 ms, request after request
#   flood_idle       bench/peers attack flood --mode idle: FLOOD_CONNS connections, nothing sent
#   flood_byte       ... --mode byte: FLOOD_CONNS connections that send `G` and stop
#   flood_request    ... --mode request: FLOOD_CONNS connections, one GET each, then idle
#   h2_rapid_reset   attack h2-rapid-reset: H2_ATTACK_CONNS h2c connections of HEADERS +
#                    RST_STREAM(CANCEL) pairs as fast as possible, reconnecting when cut off
#   h2_continuation  attack h2-continuation: HEADERS without END_HEADERS, then endless 16 KiB
#                    CONTINUATION frames, reconnecting when cut off
#   h2_ping          attack h2-ping: PING frames as fast as possible, never reading the ACKs
#
# Per scenario and server: a fresh server (falconet's settings as bench/run.sh: Workers only;
# nginx as run.sh, worker_connections raised for held connections), wrk warm-up WARMUP s,
# baseline wrk DURATION s, then the attacker starts (pinned to CPU 1 with wrk, at nice
# ATTACK_NICE so that it takes the CPU time wrk leaves rather than wrk's share); once it is established
# (attack tool: its "ready" line; slowhttptest: 2 x SLOW_CONNS / SLOW_RATE + 1 s), wrk DURATION s
# again, ATTACK_EXTRA s more, then the attacker is stopped (slowhttptest: its -l ends it).
# nginx's HTTP/2 (h2c) listener cannot speak HTTP/1.1, so in the h2 scenarios nginx has a second
# plain listener for wrk; falconet answers both on one port.
#
# Environment knobs (defaults in brackets):
#   DURATION [10; QUICK=1: 2]  seconds per wrk run       WARMUP [1]  wrk warm-up seconds
#   SERVERS ["falconet nginx"]  SCENARIOS [all]           QUICK [0]  smoke run
#   FALCONET_WORKERS [4]  falconet's Falconet:Workers (as run.sh)
#   PEER_THREADS [2]   nginx worker_processes (as run.sh)
#   SLOW_CONNS [2000] SLOW_RATE [1000]  slowhttptest -c / -r (connections, per second)
#   DRIP_CONNS [4 x FALCONET_WORKERS]  DRIP_INTERVAL_MS [10]
#   FLOOD_CONNS [10000]  connections of the flood scenarios (need FLOOD_CONNS + 200 descriptors)
#   H2_ATTACK_CONNS [4]  attacker connections of the HTTP/2 scenarios (one thread or two each)
#   ATTACK_NICE [19]   nice level of the attackers and the sampler (0: same as wrk). CFS weighs
#                      each thread: at nice 10 eight attacker threads together outweigh wrk
#   ATTACK_EXTRA [0]   seconds the attack goes on after the attacked wrk run (to see later
#                      cut-offs, e.g. falconet's 30 s RequestHeadersTimeout: ATTACK_EXTRA=30)
#   READY_TIMEOUT [30] seconds to wait for the attack tool's "ready" line
#   GOAL_RATIO [0.90] GOAL_P99_MS [50] GOAL_RSS_GROWTH_MB [100]  the goal printed per row
#   NO_INSTALL [0]     skip apt-get            NO_PIN [0]  do not pin with taskset
#   PORT_BASE [19080]  first port tried        OUT_DIR  where ATTACKS.md / attacks.json go
#
# Writes bench/ATTACKS.md (a full run: every scenario, both servers, not QUICK) or, for a
# partial or QUICK run, ATTACKS.md in the scratch dir; the raw output, the collected
# attacks.json and the configs stay in bench/scratch/attacks-*/ (git-ignored).
# bench/attacks_report.py renders the report (collect SCRATCH > attacks.json; render).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# OUT_DIR is also the variable cargo gives build scripts (see run.sh): not passed on to cargo.
REPORT_DIR=${OUT_DIR:-}
unset OUT_DIR
ROOT=$(dirname "$BENCH_DIR")
export PATH="$PATH:/usr/sbin:/sbin"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
ALL_SCENARIOS="slowloris slowbody slowread drip flood_idle flood_byte flood_request h2_rapid_reset h2_continuation h2_ping"
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; SCENARIOS=${2//,/ }; shift 2 ;;
    --only=*) SCENARIOS=${1#--only=}; SCENARIOS=${SCENARIOS//,/ }; shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}
SCENARIOS=$(echo ${SCENARIOS//,/ })
for sc in $SCENARIOS; do
    [[ " $ALL_SCENARIOS " == *" $sc "* ]] || { echo "unknown scenario '$sc' (scenarios: $ALL_SCENARIOS)" >&2; exit 2; }
done
SERVERS=${SERVERS:-"falconet nginx"}
SERVERS=$(echo ${SERVERS//,/ })
for s in $SERVERS; do
    [[ "$s" == falconet || "$s" == nginx ]] || { echo "unknown server '$s' (servers: falconet nginx)" >&2; exit 2; }
done
PARTIAL=0
[[ "$SCENARIOS" == "$ALL_SCENARIOS" && "$SERVERS" == "falconet nginx" && "${QUICK:-0}" != 1 ]] || PARTIAL=1
if [[ "${QUICK:-0}" == 1 ]]; then
    DURATION=${DURATION:-2}
else
    DURATION=${DURATION:-10}
fi
WARMUP=${WARMUP:-1}
FALCONET_WORKERS=${FALCONET_WORKERS:-4}
PEER_THREADS=${PEER_THREADS:-2}
SLOW_CONNS=${SLOW_CONNS:-2000}
SLOW_RATE=${SLOW_RATE:-1000}
DRIP_CONNS=${DRIP_CONNS:-$((4 * ${FALCONET_WORKERS:-4}))}
DRIP_INTERVAL_MS=${DRIP_INTERVAL_MS:-10}
FLOOD_CONNS=${FLOOD_CONNS:-10000}
H2_ATTACK_CONNS=${H2_ATTACK_CONNS:-4}
ATTACK_NICE=${ATTACK_NICE:-19}
ATTACK_EXTRA=${ATTACK_EXTRA:-0}
READY_TIMEOUT=${READY_TIMEOUT:-30}
GOAL_RATIO=${GOAL_RATIO:-0.90}
GOAL_P99_MS=${GOAL_P99_MS:-50}
GOAL_RSS_GROWTH_MB=${GOAL_RSS_GROWTH_MB:-100}
WRK_CONNS=16
NEXT_PORT=${PORT_BASE:-19080}
STATIC_DIR="$BENCH_DIR/scratch/static"
STATIC_BYTES=1048576
for v in DURATION WARMUP FALCONET_WORKERS PEER_THREADS SLOW_CONNS SLOW_RATE DRIP_CONNS DRIP_INTERVAL_MS \
    FLOOD_CONNS H2_ATTACK_CONNS ATTACK_EXTRA READY_TIMEOUT GOAL_P99_MS GOAL_RSS_GROWTH_MB; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v: '${!v}' is not a whole number" >&2; exit 2; }
done
[[ "$ATTACK_NICE" =~ ^-?[0-9]+$ ]] || { echo "ATTACK_NICE: '$ATTACK_NICE' is not a number" >&2; exit 2; }
((FLOOD_CONNS <= 20000 && DRIP_CONNS <= 20000 && H2_ATTACK_CONNS <= 2000)) \
    || { echo "FLOOD_CONNS / DRIP_CONNS at most 20000, H2_ATTACK_CONNS at most 2000" >&2; exit 2; }

log() { printf '[attacks %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$BENCH_DIR/scratch"
SCRATCH="$BENCH_DIR/scratch/attacks-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$SCRATCH"
ln -sfn "$SCRATCH" "$BENCH_DIR/scratch/attacks-latest"
log "scratch dir: $SCRATCH"

# ---------------------------------------------------------------- cleanup: kill what we start
# Background processes still to end on exit; a pid leaves the list once it has been waited for,
# so that a reused pid is never signalled.
PIDS_TO_KILL=()
forget_pid() {
    local p out=()
    for p in "${PIDS_TO_KILL[@]}"; do [[ "$p" == "$1" ]] || out+=("$p"); done
    PIDS_TO_KILL=("${out[@]}")
}
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
cleanup() {
    local pid
    for pid in "${PIDS_TO_KILL[@]:-}"; do
        [[ -n "$pid" ]] || continue
        kill -0 "$pid" 2>/dev/null && kill_tree "$pid" TERM
    done
    sleep 0.3
    for pid in "${PIDS_TO_KILL[@]:-}"; do
        [[ -n "$pid" ]] || continue
        kill_tree "$pid" KILL 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- install what is missing
need_slowhttptest=0
for sc in $SCENARIOS; do [[ "$sc" == slow* ]] && need_slowhttptest=1; done
install_deps() {
    [[ "${NO_INSTALL:-0}" == 1 ]] && return 0
    local apt=() sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    command -v wrk >/dev/null || apt+=(wrk)
    command -v nginx >/dev/null || apt+=(nginx)
    command -v taskset >/dev/null || apt+=(util-linux)
    command -v ss >/dev/null || apt+=(iproute2)
    command -v curl >/dev/null || apt+=(curl)
    ((need_slowhttptest)) && ! command -v slowhttptest >/dev/null && apt+=(slowhttptest)
    if ((${#apt[@]})); then
        log "apt-get install ${apt[*]}"
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt[@]}" >&2
    fi
}
install_deps
for tool in wrk ss python3 cargo curl; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ " $SERVERS " != *" nginx "* ]] || command -v nginx >/dev/null || die "nginx not found"
((need_slowhttptest == 0)) || command -v slowhttptest >/dev/null || die "slowhttptest not found (Debian: slowhttptest)"

# ---------------------------------------------------------------- limits and pinning
# The floods hold FLOOD_CONNS connections: the server and the attacker each need that many
# descriptors (+ a margin); RLIMIT_NOFILE is raised to the hard limit, as in run.sh.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
NOFILE=$(ulimit -n)
NOFILE_HARD=$(ulimit -Hn)
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
[[ "$NOFILE_HARD" == unlimited ]] && NOFILE_HARD=1048576
log "RLIMIT_NOFILE soft limit: $NOFILE (hard $NOFILE_HARD)"
if ((FLOOD_CONNS + 200 > NOFILE)) && [[ " $SCENARIOS " == *" flood_"* ]]; then
    log "FLOOD_CONNS=$FLOOD_CONNS needs about $((FLOOD_CONNS + 200)) descriptors per process, RLIMIT_NOFILE is $NOFILE: lowered to $((NOFILE - 200))"
    FLOOD_CONNS=$((NOFILE - 200))
fi
NCPU=$(nproc)
SRV=() CLI=() PINNING="none"
if [[ "${NO_PIN:-0}" != 1 ]] && command -v taskset >/dev/null && ((NCPU >= 2)); then
    SRV=(taskset -c 0)
    CLI=(taskset -c 1)
    PINNING="server on CPU 0; wrk, the attackers and the sampler on CPU 1 (taskset)"
fi
ATK=("${CLI[@]}")
((ATTACK_NICE != 0)) && ATK+=(nice -n "$ATTACK_NICE")
log "pinning: $PINNING; attackers at nice $ATTACK_NICE"

# ---------------------------------------------------------------- build
# The attack tool is in bench/peers (its own workspace and target dir, as run.sh builds it; only
# this binary, the peer servers are not needed here); falconet's
# `hello` (HTTP/1.1 + h2c), `echo` (reads request bodies) and the `falconet` binary (--root)
# in bench/target/falconet, run.sh's target dir (http2 is a default feature: the same build).
log "building the attack tool (bench/peers, --bin attack) ..."
CARGO_TARGET_DIR="$BENCH_DIR/target/peers" cargo build --release --locked --bin attack \
    --manifest-path "$BENCH_DIR/peers/Cargo.toml" >"$SCRATCH/build-peers.log" 2>&1 \
    || { tail -30 "$SCRATCH/build-peers.log" >&2; die "peers build failed"; }
ATTACK_BIN="$BENCH_DIR/target/peers/release/attack"
[[ -x "$ATTACK_BIN" ]] || die "missing $ATTACK_BIN"
HELLO_BIN="$BENCH_DIR/target/falconet/release/examples/hello"
ECHO_BIN="$BENCH_DIR/target/falconet/release/examples/echo"
FALCONET_BIN="$BENCH_DIR/target/falconet/release/falconet"
if [[ " $SERVERS " == *" falconet "* ]]; then
    log "building falconet's hello and echo examples and the falconet binary (release, --features http2) ..."
    (cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet" cargo build --release --features http2 \
        --example hello --example echo --bin falconet) >"$SCRATCH/build-falconet.log" 2>&1 \
        || { tail -30 "$SCRATCH/build-falconet.log" >&2; die "falconet build failed"; }
    for b in "$HELLO_BIN" "$ECHO_BIN" "$FALCONET_BIN"; do [[ -x "$b" ]] || die "missing $b"; done
fi

# ---------------------------------------------------------------- the static files (slowread)
# The same files as run.sh's static scenario: 1 MiB of seeded pseudo-random bytes and the
# 13-byte hello.txt, in bench/scratch/static (written only if missing or different).
if [[ " $SCENARIOS " == *" slowread "* ]]; then
    mkdir -p "$STATIC_DIR"
    python3 - "$STATIC_DIR/file.bin" "$STATIC_BYTES" <<'EOF' || die "could not write $STATIC_DIR/file.bin"
import os, random, sys
path, n = sys.argv[1], int(sys.argv[2])
data = random.Random(20261121).randbytes(n)
if not os.path.exists(path) or open(path, "rb").read() != data:
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
EOF
    if [[ "$(cat "$STATIC_DIR/hello.txt" 2>/dev/null)" != "Hello, World!" ]]; then
        printf 'Hello, World!' >"$STATIC_DIR/hello.txt.tmp"
        mv "$STATIC_DIR/hello.txt.tmp" "$STATIC_DIR/hello.txt"
    fi
fi

# ---------------------------------------------------------------- helpers
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }
pick_port() { # sets PORT
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
fds_of() {
    local total=0 pid f
    for pid in "$@"; do
        f=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l) || f=0
        total=$((total + f))
    done
    echo "$total"
}
server_pids() { # nginx: master + workers
    echo "$SERVER_PID"
    [[ "$SERVER_NAME" == nginx ]] && children_of "$SERVER_PID"
    return 0
}

# Samples RSS (kB), threads and open descriptors of the given processes (summed) every
# 0.5 s until killed: "epoch-seconds rss_kb threads fds" lines. Builtins only in the loop
# (bar sleep), so that it costs little on the attackers' core.
sampler() { # out pid...
    local out=$1 pid k v rest rss thr fds
    shift
    shopt -s nullglob
    while :; do
        rss=0 thr=0 fds=0
        for pid in "$@"; do
            [[ -r "/proc/$pid/status" ]] || continue
            while read -r k v rest; do
                case $k in
                VmRSS:) rss=$((rss + v)) ;;
                Threads:) thr=$((thr + v)) ;;
                esac
            done <"/proc/$pid/status" || true
            local f=("/proc/$pid/fd/"*)
            fds=$((fds + ${#f[@]}))
        done
        echo "$EPOCHREALTIME $rss $thr $fds"
        sleep 0.5
    done >>"$out" 2>/dev/null
}

# TcpExt ListenOverflows of this network namespace (accept queue full: SYNs dropped).
listen_overflows() {
    awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 }
        else { for (i = 1; i <= NF; i++) if (n[i] == "ListenOverflows") print $i } }' /proc/net/netstat
}

# Per-core jiffies (user nice system idle iowait irq softirq steal) of CPU 0 and CPU 1.
core_stat() { awk '$1 == "cpu0" || $1 == "cpu1" {print $1, $2, $3, $4, $5, $6, $7, $8, $9}' /proc/stat; }

# CPU time (clock ticks, utime + stime) and context switches of the server's processes.
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

# While wrk (a child of `timeout` PID $1) runs: the last /proc schedstat of its threads, summed:
# time on a CPU and time spent runnable but waiting for one (the attacker took its core).
wrk_schedstat() {
    local wp="" t a b rest run delay i
    WRK_SCHED=""
    for ((i = 0; i < 50; i++)); do # 1 s
        wp=$(pgrep -P "$1" 2>/dev/null | head -n1) || true
        [[ -n "$wp" ]] && break
        sleep 0.02
    done
    [[ -n "$wp" ]] || return 0
    while kill -0 "$wp" 2>/dev/null; do
        run=0 delay=0
        for t in /proc/"$wp"/task/*/schedstat; do
            read -r a b rest <"$t" 2>/dev/null || continue
            run=$((run + a)) delay=$((delay + b))
        done
        ((run > 0)) && WRK_SCHED="$run $delay"
        sleep 0.2
    done
}

# wrk as run.sh runs it (-t1, --timeout 5s, --latency), with the same "# ..." lines around it.
run_wrk() { # out-file duration path
    local pids before after t0 t1
    mapfile -t pids < <(server_pids)
    {
        echo "# loadavg-before: $(cat /proc/loadavg)"
        core_stat | sed 's/^/# core-stat-before: /'
        before=$(proc_counters "${pids[@]}")
        t0=$(date +%s.%N)
        (
            timeout $(($2 + 30)) "${CLI[@]}" wrk -t1 -c"$WRK_CONNS" -d"$2s" --timeout 5s --latency \
                "http://127.0.0.1:$WRK_PORT$3" 2>&1 &
            tp=$!
            wrk_schedstat "$tp"
            wait "$tp" || echo "# wrk exit status $?"
            echo "# wrk-schedstat (ns on CPU, ns runnable but waiting for it; its threads): $WRK_SCHED"
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

# ---------------------------------------------------------------- servers
# Modes: hello (GET / -> Hello, World!), body (also a POST endpoint that reads the body),
# static (files under STATIC_DIR), h2 (hello over h2c with prior knowledge as well).
# Sets SERVER_PID, PORT (what the attacker hits), WRK_PORT (what wrk hits: the same, or
# nginx's plain listener in h2 mode), ATTACK_PATH (slowbody / slowread target).
SERVER_PID="" SERVER_NAME="" PORT="" WRK_PORT="" ATTACK_PATH="/" START_FAIL="" CONN_HINT=0
falconet_settings() { # file: Falconet:Workers, as run.sh writes it (FALCONET_WORKERS empty: none)
    if [[ -n "$FALCONET_WORKERS" ]]; then
        printf '{"Falconet": {"Workers": %s}}\n' "$FALCONET_WORKERS" >"$1"
    else
        echo '{}' >"$1"
    fi
}
nginx_h2_listen() { # port: h2c with prior knowledge (`http2 on;` from nginx 1.25.1)
    local v
    v=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    if [[ -n "$v" && "$(printf '%s\n' 1.25.1 "$v" | sort -V | head -1)" == 1.25.1 ]]; then
        printf 'listen 127.0.0.1:%s;\n        http2 on;' "$1"
    else
        printf 'listen 127.0.0.1:%s http2;' "$1"
    fi
}

start_server() { # name mode dir
    SERVER_NAME=$1
    local mode=$2 dir=$3 logf
    START_FAIL=""
    pick_port
    WRK_PORT=$PORT
    ATTACK_PATH=/
    logf="$dir/server.log"
    case "$SERVER_NAME:$mode" in
    falconet:hello | falconet:h2)
        falconet_settings "$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$HELLO_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    falconet:body)
        falconet_settings "$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$ECHO_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" >"$logf" 2>&1 &
        ;;
    falconet:static)
        ATTACK_PATH=/file.bin
        falconet_settings "$dir/appsettings.json"
        RUST_LOG=warn "${SRV[@]}" "$FALCONET_BIN" --urls "http://127.0.0.1:$PORT" \
            --config "$dir/appsettings.json" --root "$STATIC_DIR" >"$logf" 2>&1 &
        ;;
    nginx:*)
        local p="$dir/nginx" wc=4096 servers hello up_port
        mkdir -p "$p/tmp"
        # Held connections may all land on one worker: room for all of them (as run.sh).
        ((CONN_HINT + 1100 > wc)) && wc=$((CONN_HINT + 1100))
        hello="location / {
            default_type text/plain;
            return 200 'Hello, World!';
        }"
        case "$mode" in
        hello)
            servers="server {
        listen 127.0.0.1:$PORT;
        keepalive_requests 1000000;
        $hello
    }" ;;
        body)
            # proxy_request_buffering on (the default): nginx reads the whole request body
            # (client_body_buffer_size in memory, then a temp file) before it connects to the
            # upstream, a server block of the same nginx. `return` alone would not read the
            # body before answering (nginx discards it after the response).
            local main_port=$PORT
            pick_port
            up_port=$PORT
            PORT=$main_port
            ATTACK_PATH=/upload
            servers="server {
        listen 127.0.0.1:$PORT;
        keepalive_requests 1000000;
        $hello
        location = /upload {
            proxy_pass http://127.0.0.1:$up_port;
        }
    }
    server {
        listen 127.0.0.1:$up_port;
        $hello
    }" ;;
        static)
            ATTACK_PATH=/file.bin
            servers="server {
        listen 127.0.0.1:$PORT;
        keepalive_requests 1000000;
        sendfile on;
        tcp_nopush on;
        types { text/plain txt; application/octet-stream bin; }
        location / {
            root $STATIC_DIR;
            default_type application/octet-stream;
        }
    }" ;;
        h2)
            # The h2c listener keeps nginx's HTTP/2 defaults (keepalive_requests 1000 also
            # bounds the streams of one HTTP/2 connection); wrk gets a plain listener with
            # run.sh's keepalive_requests 1000000.
            local h2_port=$PORT
            pick_port
            WRK_PORT=$PORT
            PORT=$h2_port
            servers="server {
        $(nginx_h2_listen "$PORT")
        $hello
    }
    server {
        listen 127.0.0.1:$WRK_PORT;
        keepalive_requests 1000000;
        $hello
    }" ;;
        esac
        {
            [[ $(id -u) == 0 ]] && echo "user root;"
            cat <<EOF
worker_processes $PEER_THREADS;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections $wc; }
http {
    access_log off;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    $servers
}
EOF
        } >"$p/nginx.conf"
        "${SRV[@]}" nginx -c "$p/nginx.conf" -p "$p" -g 'daemon off;' >"$logf" 2>&1 &
        ;;
    *) die "unknown server $SERVER_NAME (mode $mode)" ;;
    esac
    SERVER_PID=$!
    PIDS_TO_KILL+=("$SERVER_PID")
    local i
    for ((i = 0; i < 150; i++)); do # 15 s
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            forget_pid "$SERVER_PID"
            SERVER_PID=""
            START_FAIL="$SERVER_NAME exited at start: $(tail -n 3 "$logf" | tr '\n' ' ')"
            return 1
        fi
        port_in_use "$PORT" && port_in_use "$WRK_PORT" && break
        sleep 0.1
    done
    if ! port_in_use "$PORT" || ! port_in_use "$WRK_PORT"; then
        START_FAIL="$SERVER_NAME did not listen on $PORT / $WRK_PORT within 15 s"
        return 1
    fi
    check_server "$mode" "$dir" || return 1
    sleep 0.3 # let worker processes settle before reading their memory
}

# The answers the scenario relies on: wrk's GET, and the attacked endpoint where it differs.
check_server() { # mode dir
    local mode=$1 dir=$2 res body path=/
    [[ "$mode" == static ]] && path=/hello.txt
    WRK_PATH=$path
    res=$(curl -s --max-time 5 -o "$dir/check-body.txt" -w '%{http_code}' "http://127.0.0.1:$WRK_PORT$path") || true
    body=$(cat "$dir/check-body.txt" 2>/dev/null || true)
    if [[ "$res" != 200 || "$body" != "Hello, World!" ]]; then
        START_FAIL="GET $path on port $WRK_PORT: status '$res', body '${body:0:60}' (expected 200 'Hello, World!')"
        return 1
    fi
    case "$mode" in
    h2)
        res=$(curl -s --max-time 5 --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' \
            "http://127.0.0.1:$PORT/") || true
        [[ "$res" == "2 200" ]] || { START_FAIL="curl --http2-prior-knowledge on port $PORT: '$res', expected '2 200'"; return 1; }
        ;;
    body)
        res=$(curl -s --max-time 5 -d 'ping' -o "$dir/check-post.txt" -w '%{http_code}' \
            "http://127.0.0.1:$PORT$ATTACK_PATH") || true
        [[ "$res" == 200 ]] || { START_FAIL="POST $ATTACK_PATH: status '$res', expected 200"; return 1; }
        ;;
    static)
        res=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{size_download}' \
            "http://127.0.0.1:$PORT$ATTACK_PATH") || true
        [[ "$res" == "200 $STATIC_BYTES" ]] || { START_FAIL="GET $ATTACK_PATH: '$res', expected '200 $STATIC_BYTES'"; return 1; }
        ;;
    esac
    echo ok >"$dir/check.txt"
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
    forget_pid "$SERVER_PID"
    SERVER_PID=""
}

# ---------------------------------------------------------------- scenarios
scenario_mode() {
    case "$1" in
    slowbody) echo body ;;
    slowread) echo static ;;
    h2_*) echo h2 ;;
    *) echo hello ;;
    esac
}
scenario_conns() { # connections the attack holds at once (nginx worker_connections)
    case "$1" in
    slow*) echo "$SLOW_CONNS" ;;
    flood_*) echo "$FLOOD_CONNS" ;;
    drip) echo "$DRIP_CONNS" ;;
    *) echo 0 ;;
    esac
}
# slowhttptest connects more slowly than -r asks (2,000 at -r 1000 took 3-4 s here) and prints its
# status only every 5 s: twice the nominal time, plus 1 s.
SLOW_RAMP=$((2 * ((SLOW_CONNS + SLOW_RATE - 1) / SLOW_RATE) + 1))
# seconds the tool may run: it is stopped with a line on stdin once the measurement is over
ATTACK_SECS=$((READY_TIMEOUT + DURATION + ATTACK_EXTRA + 15))
((ATTACK_SECS > 600)) && ATTACK_SECS=600

# Starts the attacker of scenario $1 in the background: APID, ATTACK_KIND (tool / slowhttptest),
# ATTACK_CMD (for the record). The tool reads its stop line from fd AFD.
start_attack() { # scenario dir
    local sc=$1 dir=$2 cmd=() url="http://127.0.0.1:$PORT$ATTACK_PATH" len
    len=$((SLOW_RAMP + DURATION + ATTACK_EXTRA + 1))
    case "$sc" in
    slowloris) cmd=(slowhttptest -H -c "$SLOW_CONNS" -r "$SLOW_RATE" -i 10 -l "$len" -p 5 -u "$url") ;;
    slowbody) cmd=(slowhttptest -B -c "$SLOW_CONNS" -r "$SLOW_RATE" -i 10 -s 8192 -l "$len" -p 5 -u "$url") ;;
    slowread) cmd=(slowhttptest -X -c "$SLOW_CONNS" -r "$SLOW_RATE" -w 512 -y 1024 -n 5 -z 32 -k 3 -l "$len" -p 5 -u "$url") ;;
    drip) cmd=("$ATTACK_BIN" drip "127.0.0.1:$PORT" --conns "$DRIP_CONNS" --interval-ms "$DRIP_INTERVAL_MS" --secs "$ATTACK_SECS") ;;
    flood_*) cmd=("$ATTACK_BIN" flood "127.0.0.1:$PORT" --conns "$FLOOD_CONNS" --mode "${sc#flood_}" --secs "$ATTACK_SECS") ;;
    h2_rapid_reset) cmd=("$ATTACK_BIN" h2-rapid-reset "127.0.0.1:$PORT" --conns "$H2_ATTACK_CONNS" --secs "$ATTACK_SECS") ;;
    h2_continuation) cmd=("$ATTACK_BIN" h2-continuation "127.0.0.1:$PORT" --conns "$H2_ATTACK_CONNS" --secs "$ATTACK_SECS") ;;
    h2_ping) cmd=("$ATTACK_BIN" h2-ping "127.0.0.1:$PORT" --conns "$H2_ATTACK_CONNS" --secs "$ATTACK_SECS") ;;
    esac
    ATTACK_CMD="${cmd[*]}"
    ATTACK_CMD=${ATTACK_CMD//$ATTACK_BIN/attack}
    if [[ "${cmd[0]}" == slowhttptest ]]; then
        ATTACK_KIND=slowhttptest
        # -g -o: the CSV (connections closed / pending / connected per second) and HTML report
        (cd "$dir" && exec "${ATK[@]}" "${cmd[@]}" -g -o "$dir/slowhttptest" </dev/null \
            >"$dir/slowhttptest.out" 2>&1) &
    else
        ATTACK_KIND=tool
        "${ATK[@]}" "${cmd[@]}" <&"$AFD" >"$dir/attack.json" 2>"$dir/attack.err" &
    fi
    APID=$!
    PIDS_TO_KILL+=("$APID")
}

# Waits until the attack is established; sets READY_LINE.
wait_ready() { # dir
    local i
    READY_LINE=""
    if [[ "$ATTACK_KIND" == slowhttptest ]]; then
        sleep "$SLOW_RAMP"
        READY_LINE="slowhttptest: waited ${SLOW_RAMP} s ($SLOW_CONNS connections at $SLOW_RATE/s)"
        return 0
    fi
    for ((i = 0; i < READY_TIMEOUT * 20; i++)); do
        READY_LINE=$(grep -m1 '^attack: ready' "$1/attack.err" 2>/dev/null || true)
        [[ -n "$READY_LINE" ]] && return 0
        kill -0 "$APID" 2>/dev/null || { READY_LINE="attack tool exited before it was ready"; return 0; }
        sleep 0.05
    done
    READY_LINE="no ready line within $READY_TIMEOUT s"
}

stop_attack() { # dir
    local i limit=150 # 15 s for the tool (HTTP/2 ping: up to 1 s drain per connection)
    if [[ "$ATTACK_KIND" == tool ]]; then
        echo stop >&"$AFD" || true
    else
        limit=$(((SLOW_RAMP + DURATION + ATTACK_EXTRA + 30) * 10)) # -l ends it
    fi
    for ((i = 0; i < limit; i++)); do
        kill -0 "$APID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$APID" 2>/dev/null; then
        log "attacker still running: SIGINT, then SIGKILL"
        kill_tree "$APID" INT
        sleep 2
        kill_tree "$APID" KILL
    fi
    wait "$APID" 2>/dev/null || true
    forget_pid "$APID"
}

kv() { printf '%s=%s\n' "$1" "${2//$'\n'/ }"; } # one key=value line of case.env

run_case() { # scenario server
    local sc=$1 s=$2 dir mode pids rss0 thr0 fd0 spid t_start t_ready t_w0 t_w1 t_end alive lo0 lo1 fifo
    dir="$SCRATCH/cases/$sc-$s"
    mkdir -p "$dir"
    mode=$(scenario_mode "$sc")
    CONN_HINT=$(scenario_conns "$sc")
    {
        kv scenario "$sc"
        kv server "$s"
        kv mode "$mode"
        kv duration "$DURATION"
    } >"$dir/case.env"
    if ! start_server "$s" "$mode" "$dir"; then
        log "$sc / $s: $START_FAIL"
        kv fail "$START_FAIL" >>"$dir/case.env"
        stop_server
        return 0
    fi
    log "$sc / $s: port $PORT (wrk: $WRK_PORT$WRK_PATH, attacked path $ATTACK_PATH)"
    run_wrk "$dir/wrk-warmup.txt" "$WARMUP" "$WRK_PATH"
    run_wrk "$dir/wrk-base.txt" "$DURATION" "$WRK_PATH"
    mapfile -t pids < <(server_pids)
    rss0=$(rss_kb "${pids[@]}") thr0=$(threads_of "${pids[@]}") fd0=$(fds_of "${pids[@]}")
    : >"$dir/samples.txt"
    sampler "$dir/samples.txt" "${pids[@]}" &
    spid=$!
    PIDS_TO_KILL+=("$spid")
    if ((${#CLI[@]})); then taskset -pc 1 "$spid" >/dev/null 2>&1 || true; fi
    renice -n "$ATTACK_NICE" -p "$spid" >/dev/null 2>&1 || true
    fifo="$dir/stop.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    exec {AFD}<>"$fifo" # read-write: opening does not block; the tool reads its stop line here
    lo0=$(listen_overflows)
    t_start=$(date +%s.%N)
    start_attack "$sc" "$dir"
    wait_ready "$dir"
    t_ready=$(date +%s.%N)
    t_w0=$t_ready
    run_wrk "$dir/wrk-attack.txt" "$DURATION" "$WRK_PATH"
    t_w1=$(date +%s.%N)
    ((ATTACK_EXTRA > 0)) && sleep "$ATTACK_EXTRA"
    stop_attack "$dir"
    t_end=$(date +%s.%N)
    lo1=$(listen_overflows)
    exec {AFD}>&-
    rm -f "$fifo"
    alive=1
    kill -0 "$SERVER_PID" 2>/dev/null || alive=0
    sleep 0.5 # one more sample after the attack
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    forget_pid "$spid"
    {
        kv port "$PORT"
        kv wrk_port "$WRK_PORT"
        kv wrk_path "$WRK_PATH"
        kv attack_path "$ATTACK_PATH"
        kv attack_kind "$ATTACK_KIND"
        kv attack_cmd "$ATTACK_CMD"
        kv ready_line "$READY_LINE"
        kv t_attack_start "$t_start"
        kv t_ready "$t_ready"
        kv t_wrk_attack_start "$t_w0"
        kv t_wrk_attack_end "$t_w1"
        kv t_attack_end "$t_end"
        kv rss_before_kb "$rss0"
        kv threads_before "$thr0"
        kv fds_before "$fd0"
        kv server_pids "${pids[*]}"
        kv alive_after "$alive"
        kv listen_overflows "$((lo1 - lo0))"
        kv conn_hint "$CONN_HINT"
    } >>"$dir/case.env"
    log "$sc / $s: req/s $(grep -h 'Requests/sec' "$dir/wrk-base.txt" "$dir/wrk-attack.txt" | awk '{print $2}' | paste -sd/) (base/attacked), p99 $(grep -h '^ *99%' "$dir/wrk-base.txt" "$dir/wrk-attack.txt" | awk '{print $2}' | paste -sd/)$( ((alive)) || echo ', SERVER DIED')"
    stop_server
}

# ---------------------------------------------------------------- metadata
git_commit=$(cd "$ROOT" && git rev-parse HEAD 2>/dev/null || echo unknown)
git_dirty=$(cd "$ROOT" && git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null | wc -l)
{
    kv date_utc "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    kv cpu_model "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    kv cores "$NCPU"
    kv kernel "$(uname -r)"
    kv mem_total "$(awk '/^MemTotal:/ {print $2" "$3}' /proc/meminfo)"
    kv rustc "$(rustc -V)"
    kv wrk "$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
    kv nginx "$(nginx -v 2>&1 | head -1)"
    kv slowhttptest "$(slowhttptest -h 2>&1 | grep -m1 -i version || true)"
    kv falconet_commit "$git_commit"
    kv falconet_dirty_files "$git_dirty"
    kv quick "${QUICK:-0}"
    kv partial "$PARTIAL"
    kv duration "$DURATION"
    kv warmup "$WARMUP"
    kv servers "$SERVERS"
    kv scenarios "$SCENARIOS"
    kv falconet_workers "$FALCONET_WORKERS"
    kv peer_threads "$PEER_THREADS"
    kv wrk_conns "$WRK_CONNS"
    kv slow_conns "$SLOW_CONNS"
    kv slow_rate "$SLOW_RATE"
    kv slow_ramp "$SLOW_RAMP"
    kv drip_conns "$DRIP_CONNS"
    kv drip_interval_ms "$DRIP_INTERVAL_MS"
    kv flood_conns "$FLOOD_CONNS"
    kv h2_attack_conns "$H2_ATTACK_CONNS"
    kv attack_nice "$ATTACK_NICE"
    kv attack_extra "$ATTACK_EXTRA"
    kv goal_ratio "$GOAL_RATIO"
    kv goal_p99_ms "$GOAL_P99_MS"
    kv goal_rss_growth_mb "$GOAL_RSS_GROWTH_MB"
    kv pinning "$PINNING"
    kv nofile "$NOFILE"
    kv loadavg_start "$(cat /proc/loadavg)"
} >"$SCRATCH/meta.env"

# ---------------------------------------------------------------- run
for sc in $SCENARIOS; do
    for s in $SERVERS; do
        run_case "$sc" "$s"
    done
done
kv loadavg_end "$(cat /proc/loadavg)" >>"$SCRATCH/meta.env"

# ---------------------------------------------------------------- collect and render
if [[ -z "$REPORT_DIR" ]]; then
    REPORT_DIR=$BENCH_DIR
    [[ "$PARTIAL" == 0 ]] || REPORT_DIR=$SCRATCH
fi
mkdir -p "$REPORT_DIR"
python3 "$BENCH_DIR/attacks_report.py" collect "$SCRATCH" >"$SCRATCH/attacks.json"
python3 "$BENCH_DIR/attacks_report.py" render "$SCRATCH/attacks.json" "$REPORT_DIR/ATTACKS.md"
log "done: $REPORT_DIR/ATTACKS.md (collected results: $SCRATCH/attacks.json, raw output in $SCRATCH)"

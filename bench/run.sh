#!/usr/bin/env bash
# falconet side-by-side benchmark: falconet's `hello` example vs tiny_http, hyper, nginx and
# lighttpd, all serving `GET /` -> 200 `Hello, World!` (text/plain), on 127.0.0.1 only.
# Plus one static-file scenario: the `falconet` binary with `--root`, nginx and lighttpd serving
# the same 1 MiB file (`GET /file.bin`, 16 keep-alive connections); tiny_http and hyper have no
# file server and are reported as n/a.
#
#   bench/run.sh            # full run: 5 s per wrk run, 3 repetitions (about 12 minutes)
#   QUICK=1 bench/run.sh    # smoke run: 2 s, 1 repetition
#
# Environment knobs (defaults in brackets):
#   DURATION [5]       seconds per wrk run          REPS [3]   repetitions (median reported)
#   WARMUP [1]         seconds of wrk warm-up after each server start
#   SERVERS ["falconet tiny_http hyper nginx lighttpd"]
#   IDLE_COUNT [1000]  idle keep-alive connections held by bench/peers idle-probe
#   FALCONET_WORKERS [4] falconet's Falconet:Workers (4 is also its default on this machine)
#   PEER_THREADS [2]   tiny_http pool threads / tokio worker threads / nginx worker_processes
#   H2LOAD [1]         one `h2load --h1` cross-check run per server (16 keep-alive connections)
#   NO_INSTALL [0]     skip apt-get / pip         NO_PIN [0]  do not pin with taskset
#   PORT_BASE [18080]  first port tried
#   STATIC [1]         run the 1 MiB static-file scenario (falconet --root, nginx, lighttpd)
#   STATIC_SERVERS ["falconet nginx lighttpd"]  servers with a file server (intersected with SERVERS)
#
# Writes bench/results.json, then bench/report.py renders bench/RESULTS.md and bench/chart.svg.
# Scratch files (raw wrk output, configs, logs) go to bench/scratch/ (git-ignored).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
export PATH="$PATH:/usr/sbin:/sbin"

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
STATIC=${STATIC:-1}
STATIC_BYTES=1048576
STATIC_CONNS=16
STATIC_DIR="$BENCH_DIR/scratch/static"
STATIC_PATH=/file.bin
STATIC_RUN=""
if [[ "$STATIC" == 1 ]]; then
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
log "building falconet's hello example and the falconet binary (release, LTO) ..."
(cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet" cargo build --release --example hello \
    --bin falconet) >"$SCRATCH/build-falconet.log" 2>&1 \
    || { tail -30 "$SCRATCH/build-falconet.log" >&2; die "falconet build failed"; }
HELLO_BIN="$BENCH_DIR/target/falconet/release/examples/hello"
FALCONET_BIN="$BENCH_DIR/target/falconet/release/falconet"
[[ -x "$HELLO_BIN" ]] || die "missing $HELLO_BIN"
[[ -x "$FALCONET_BIN" ]] || die "missing $FALCONET_BIN"

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

SERVER_PID="" SERVER_NAME="" PORT=""
start_server() { # name [mode: hello (GET / -> Hello, World!) | static (files under $STATIC_DIR)]
    SERVER_NAME=$1
    local mode=${2:-hello}
    pick_port
    local dir="$SCRATCH/$SERVER_NAME"
    mkdir -p "$dir"
    local logf="$dir/server-$PORT.log"
    case "$SERVER_NAME:$mode" in
    tiny_http:static | hyper:static) die "$SERVER_NAME has no file server" ;;
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
        local p="$dir/nginx-$PORT" location
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
        listen 127.0.0.1:$PORT;
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
        "${SRV[@]}" lighttpd -D -f "$p/lighttpd.conf" >"$logf" 2>&1 &
        ;;
    *) die "unknown server $SERVER_NAME (mode $mode)" ;;
    esac
    SERVER_PID=$!
    PIDS_TO_KILL+=("$SERVER_PID")
    local i
    for ((i = 0; i < 150; i++)); do # 15 s
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; die "$SERVER_NAME exited at start"; }
        port_in_use "$PORT" && break
        sleep 0.1
    done
    port_in_use "$PORT" || { cat "$logf" >&2; die "$SERVER_NAME did not listen on $PORT within 15 s"; }
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
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------------- phase 1: memory and idle connections
# A fresh server per phase, so the idle figures are not inflated by earlier load.
for s in $SERVERS; do
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
for ((rep = 1; rep <= REPS; rep++)); do
    for s in $SERVERS; do
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
done

echo "$(cat /proc/loadavg)" >"$SCRATCH/loadavg-end.txt"

# ---------------------------------------------------------------- collect and render
python3 "$BENCH_DIR/report.py" collect "$SCRATCH" "$BENCH_DIR/peers/Cargo.lock" >"$BENCH_DIR/results.json"
python3 "$BENCH_DIR/report.py" render "$BENCH_DIR/results.json" "$BENCH_DIR"
log "done: bench/RESULTS.md, bench/chart.svg, bench/results.json (raw output in $SCRATCH)"

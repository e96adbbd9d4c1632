#!/usr/bin/env bash
# User-space instructions per request: falconet beside nginx and hyper, counted by valgrind
# (cachegrind, no cache simulation), not timed. On a shared, noisy machine a timing moves by
# ±20 % within minutes; an instruction count moves by a few tenths of a percent, so this is
# the figure to compare two builds by, or falconet with a peer, for the work done in the
# server's own code and libraries. What it leaves out: the kernel (system calls, TCP on
# loopback: about two thirds of a keep-alive request here), cache misses and stalls.
#
#   bench/instructions.sh          # table on stdout and in bench/INSTRUCTIONS.md
#
# Per server and scenario, two runs of the same server (started fresh) serve N1 and N2
# requests (h2load --h1, 16 keep-alive connections, one thread); the difference of their
# total instruction counts over N2 - N1 is the count per request, with start-up, warm-up
# and shutdown cancelled out. Scenarios: `GET /` -> `Hello, World!` over plain HTTP/1.1
# (falconet's `hello` example, nginx `return 200`, hyper from bench/peers) and over TLS 1.3
# (falconet and nginx, one self-signed P-256 certificate made here). falconet twice: built
# with its own release profile (opt-level "s", as bench/run.sh measures it) and with Cargo's
# default opt-level 3 (as a program using falconet as a library builds it).
#
# Then the same two-run difference with cachegrind's cache simulation, at CACHE_CONNS keep-alive
# connections: first-level instruction-cache misses per request, and data lines per request
# that miss a last-level cache too small (128 KiB) to hold what hundreds of connections keep
# between their requests: how many cold lines of per-connection state (and of the request's
# own fresh memory) a request touches. The machine's real caches are bigger and shared with
# the kernel; this counts lines, not what a miss costs.
#
# Environment: N1 [4000], N2 [24000], CONNS [16], CACHE_CONNS [256], NO_INSTALL=1 (do not
# apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=$PWD/bench
N1=${N1:-4000}
N2=${N2:-24000}
CONNS=${CONNS:-16}
CACHE_CONNS=${CACHE_CONNS:-256}
((N1 >= CONNS && N1 >= CACHE_CONNS && N2 > N1)) || {
    echo "instructions.sh: need N2 > N1 >= CONNS and CACHE_CONNS (h2load sends at least one request per connection)" >&2
    exit 2
}
SCRATCH=$BENCH_DIR/scratch/instructions
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"

log() { printf '[instructions %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ "${NO_INSTALL:-0}" != 1 ]]; then
    missing=()
    for t in valgrind:valgrind h2load:nghttp2-client nginx:nginx curl:curl openssl:openssl; do
        command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
for t in valgrind h2load nginx curl openssl; do command -v $t >/dev/null || die "$t is missing"; done

log "building falconet's hello example and the peers (release)"
CARGO_TARGET_DIR=$BENCH_DIR/target/falconet cargo build -q --release --example hello
(cd "$BENCH_DIR/peers" && CARGO_TARGET_DIR=$BENCH_DIR/target/peers cargo build -q --release)
# The same example as a library user's own program would build it: Cargo's default release
# profile (opt-level 3) instead of falconet's (opt-level "s", chosen for the binary's size).
CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_TARGET_DIR=$BENCH_DIR/target/falconet-o3 \
    cargo build -q --release --example hello
HELLO_BIN=$BENCH_DIR/target/falconet/release/examples/hello
HELLO_O3_BIN=$BENCH_DIR/target/falconet-o3/release/examples/hello
PEERS_BIN=$BENCH_DIR/target/peers/release

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$SCRATCH/key.pem" -out "$SCRATCH/cert.pem" 2>"$SCRATCH/openssl.log"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One run: start `server` in `mode` under cachegrind, serve n requests over `conns`
# connections, stop it; prints the totals of all its processes: instructions, and with `sim`
# (cache simulation) I1 misses and last-level data misses too.
run_once() { # server mode n conns sim(0|1)
    local server=$1 mode=$2 n=$3 conns=$4 sim=$5 port dir scheme=http
    port=$(free_port)
    dir=$SCRATCH/$server-$mode-$n-$conns-$sim
    mkdir -p "$dir/tmp"
    [[ $mode == https ]] && scheme=https
    local vg=(valgrind --tool=cachegrind --trace-children=yes "--cachegrind-out-file=$dir/cg.%p.out")
    if ((sim)); then
        vg+=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=131072,8,64)
    else
        vg+=(--cache-sim=no)
    fi
    local bin=$HELLO_BIN
    [[ $server == falconet-o3 ]] && bin=$HELLO_O3_BIN
    case $server in
    falconet | falconet-o3)
        local tls=""
        [[ $mode == https ]] && tls=",\"Kestrel\": {\"Certificates\": {\"Default\": {\"Path\": \"$SCRATCH/cert.pem\", \"KeyPath\": \"$SCRATCH/key.pem\"}}}"
        echo "{\"Falconet\": {\"Workers\": 4}$tls}" >"$dir/appsettings.json"
        RUST_LOG=warn,rustls=error "${vg[@]}" "$bin" --urls "$scheme://127.0.0.1:$port" \
            --config "$dir/appsettings.json" >"$dir/server.log" 2>&1 &
        ;;
    hyper)
        "${vg[@]}" "$PEERS_BIN/hyper-hello" "127.0.0.1:$port" 2 >"$dir/server.log" 2>&1 &
        ;;
    nginx)
        local listen="listen 127.0.0.1:$port;"
        [[ $mode == https ]] && listen="listen 127.0.0.1:$port ssl; ssl_certificate $SCRATCH/cert.pem; ssl_certificate_key $SCRATCH/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
        {
            [[ $(id -u) == 0 ]] && echo "user root;"
            cat <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        $listen
        location / { default_type text/plain; return 200 'Hello, World!'; }
    }
}
EOF
        } >"$dir/nginx.conf"
        "${vg[@]}" nginx -c "$dir/nginx.conf" >"$dir/server.log" 2>&1 &
        ;;
    esac
    local pid=$! up=0
    for _ in $(seq 150); do
        if curl -skf -o /dev/null "$scheme://127.0.0.1:$port/"; then up=1; break; fi
        sleep 0.2
    done
    ((up)) || die "$server ($mode) did not answer; see $dir/server.log"
    h2load --h1 -n "$n" -c "$conns" -t1 "$scheme://127.0.0.1:$port/" >"$dir/h2load.txt" 2>&1 || true
    grep -q "requests: $n total, $n started, $n done, $n succeeded" "$dir/h2load.txt" ||
        die "$server ($mode): not every request succeeded: $(grep 'requests:' "$dir/h2load.txt")"
    # nginx (master_process off) stops gracefully on QUIT, the others on TERM.
    if [[ $server == nginx ]]; then kill -QUIT $pid; else kill -TERM $pid; fi
    wait $pid 2>/dev/null || true
    # summary: Ir [I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw]
    cat "$dir"/cg.*.out | awk '/^summary:/ {ir += $2; i1 += $3; dl += $7 + $10}
        END {printf "%d %d %d\n", ir, i1, dl}'
}

declare -A IR
measure() { # server mode
    local a b out
    # Through a variable, not `< <(...)`: a run that dies must stop the script (set -e).
    out=$(run_once "$1" "$2" "$N1" "$CONNS" 0)
    read -r a _ _ <<<"$out"
    out=$(run_once "$1" "$2" "$N2" "$CONNS" 0)
    read -r b _ _ <<<"$out"
    IR[$1:$2]=$(((b - a) / (N2 - N1)))
    log "$1 $2: ${IR[$1:$2]} instructions per request"
}
declare -A CIR CI1 CDL
measure_cache() { # server
    local a1 a2 a3 b1 b2 b3 out n=$((N2 - N1))
    out=$(run_once "$1" http "$N1" "$CACHE_CONNS" 1)
    read -r a1 a2 a3 <<<"$out"
    out=$(run_once "$1" http "$N2" "$CACHE_CONNS" 1)
    read -r b1 b2 b3 <<<"$out"
    CIR[$1]=$(((b1 - a1) / n))
    CI1[$1]=$(awk -v a="$a2" -v b="$b2" -v n=$n 'BEGIN {printf "%.0f", (b - a) / n}')
    CDL[$1]=$(awk -v a="$a3" -v b="$b3" -v n=$n 'BEGIN {printf "%.1f", (b - a) / n}')
    log "$1 at $CACHE_CONNS conns: ${CIR[$1]} instructions, ${CI1[$1]} I1 misses, ${CDL[$1]} cold data lines per request"
}
for s in falconet falconet-o3 nginx hyper; do measure $s http; done
for s in falconet falconet-o3 nginx; do measure $s https; done
for s in falconet falconet-o3 nginx hyper; do measure_cache $s; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a / b}'; }
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n "$(git status --porcelain -- src examples Cargo.toml 2>/dev/null)" ]] && dirty=" (with uncommitted changes)"
{
    cat <<EOF
# User-space instructions per request

Generated by \`bench/instructions.sh\` on $(date -u +%Y-%m-%dT%H:%M:%SZ) (overwritten on every run;
do not edit by hand). falconet commit \`$commit\`$dirty, release profile.

Instructions executed in user space per \`GET /\` → \`Hello, World!\`, counted by valgrind
(\`cachegrind --cache-sim=no --trace-children=yes\`, every thread and process of the server):
two runs of a fresh server, $N1 and $N2 requests from \`h2load --h1 -c$CONNS -t1\` (keep-alive), the
difference over $((N2 - N1)) requests. Counts, not times: they do not move with the machine's load,
so two builds or two servers compare to a fraction of a percent. They leave out the kernel
(system calls and loopback TCP, most of a keep-alive request's cost) and what an instruction
costs (cache misses, stalls). Servers: falconet's \`hello\` example (4 workers), nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')
(one worker process, \`master_process off\`, \`return 200\`), hyper (bench/peers \`hyper-hello\`, 2 tokio workers).
TLS: TLS 1.3 (h2load's OpenSSL picks it), one self-signed P-256 certificate; valgrind runs the
same CPU features for every server.

| scenario | falconet | nginx | hyper | falconet / nginx | falconet / hyper | falconet, opt-level 3 | its / nginx | its / hyper |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
| HTTP/1.1 keep-alive, $CONNS conns | ${IR[falconet:http]} | ${IR[nginx:http]} | ${IR[hyper:http]} | $(ratio "${IR[falconet:http]}" "${IR[nginx:http]}") | $(ratio "${IR[falconet:http]}" "${IR[hyper:http]}") | ${IR[falconet-o3:http]} | $(ratio "${IR[falconet-o3:http]}" "${IR[nginx:http]}") | $(ratio "${IR[falconet-o3:http]}" "${IR[hyper:http]}") |
| HTTPS keep-alive, $CONNS conns | ${IR[falconet:https]} | ${IR[nginx:https]} | n/a | $(ratio "${IR[falconet:https]}" "${IR[nginx:https]}") | n/a | ${IR[falconet-o3:https]} | $(ratio "${IR[falconet-o3:https]}" "${IR[nginx:https]}") | n/a |

*falconet* is the \`hello\` example built with falconet's release profile (\`opt-level = "s"\`, LTO, one
codegen unit: what \`bench/run.sh\` measures, and the profile the \`falconet\` binary ships with, chosen
for its size). *falconet, opt-level 3* is the same example built with Cargo's default release
optimisation, as a program that uses falconet as a library builds it (a dependency's profile
settings do not apply to the program that depends on it), and as bench/peers builds hyper.

Below 1.00× falconet executes fewer instructions per request than the peer.

## Cache footprint at $CACHE_CONNS keep-alive connections

The same two-run difference ($N1 and $N2 requests, \`h2load --h1 -c$CACHE_CONNS -t1\`), with
cachegrind's cache simulation: a 32 KiB first-level instruction cache and data cache and a
128 KiB last level (\`--I1=32768,8,64 --D1=32768,8,64 --LL=131072,8,64\`). *Cold data lines* are
the data reads and writes per request that miss that small last level: with $CACHE_CONNS connections
taking turns, what one connection keeps between its requests is gone from it by its next turn,
so this counts the lines of per-connection state a request touches, plus fresh memory. The
machine's caches are larger and shared with the kernel (whose socket state is left out); these
are counts of lines, not the cost of a miss.

| server | instructions / request | I1 misses / request | cold data lines / request |
|---|---:|---:|---:|
| falconet | ${CIR[falconet]} | ${CI1[falconet]} | ${CDL[falconet]} |
| falconet, opt-level 3 | ${CIR[falconet-o3]} | ${CI1[falconet-o3]} | ${CDL[falconet-o3]} |
| nginx | ${CIR[nginx]} | ${CI1[nginx]} | ${CDL[nginx]} |
| hyper | ${CIR[hyper]} | ${CI1[hyper]} | ${CDL[hyper]} |
EOF
} | tee "$BENCH_DIR/INSTRUCTIONS.md"

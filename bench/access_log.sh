#!/usr/bin/env bash
# The access log's cost on the hello benchmark: wrk against falconet's `hello` example with
# the log off and with the log to a file in the Combined format (the default format),
# interleaved, REPS repetitions each; prints a table with the median requests/s, min–max,
# the ratio (file / off), and for the file runs the lines written and dropped (the status
# endpoint's access_log.dropped). Issue 12's goal: the log costs under 10 % of requests/s.
#
#   bench/access_log.sh                   # 5 s per run, 3 repetitions of each mode
#   DURATION=1 REPS=1 bench/access_log.sh # smoke run
#
# Environment knobs (defaults in brackets):
#   DURATION [5]   seconds per wrk run        REPS [3]   repetitions per mode
#   WARMUP [1]     seconds of warm-up wrk after each server start (not counted)
#   CONNS [16]     wrk connections            THREADS [1] wrk threads
#   FALCONET_WORKERS [4]  Falconet:Workers    NO_PIN [0]  do not pin with taskset
#   PORT [18180]   port (the next free one is taken if busy)
# The server runs on CPU 0 and wrk on CPU 1 (taskset), as in bench/run.sh. The hello
# example is built as bench/run.sh builds it (release, LTO), with the `access-log` feature
# (not a default feature), in bench/target/falconet-alog; both modes run that one binary.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${DURATION:-5}
REPS=${REPS:-3}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
WORKERS=${FALCONET_WORKERS:-4}
PORT=${PORT:-18180}
SCRATCH="$BENCH_DIR/scratch/access_log"
HELLO_BIN="$BENCH_DIR/target/falconet-alog/release/examples/hello"

log() { printf '[access_log.sh] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

command -v wrk >/dev/null || die "wrk is not installed (Debian: apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed (Debian: apt-get install curl)"
SRV=()
CLI=()
if [[ "${NO_PIN:-0}" != 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SRV=(taskset -c 0)
    CLI=(taskset -c 1)
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
log "building falconet's hello example (release, LTO, --features access-log, bench/target/falconet-alog) ..."
(cd "$ROOT" && CARGO_TARGET_DIR="$BENCH_DIR/target/falconet-alog" cargo build --release \
    --features access-log --example hello) \
    >"$SCRATCH/build.log" 2>&1 || {
    tail -30 "$SCRATCH/build.log" >&2
    die "build failed"
}
[[ -x "$HELLO_BIN" ]] || die "missing $HELLO_BIN"

while (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
cat >"$SCRATCH/appsettings.json" <<EOF
{ "Falconet": { "Workers": $WORKERS, "Status": { "Path": "/_status" } } }
EOF

SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT

start_server() { # mode: off | file
    local args=(--urls "http://127.0.0.1:$PORT" --config "$SCRATCH/appsettings.json")
    [[ "$1" == file ]] && args+=(--access-log "$SCRATCH/access.log")
    RUST_LOG=warn "${SRV[@]}" "$HELLO_BIN" "${args[@]}" >"$SCRATCH/server-$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && return 0
        sleep 0.05
    done
    die "the server ($1) did not answer; see $SCRATCH/server-$1.log"
}

# One wrk run; prints requests/s.
run_wrk() { # seconds out-file
    "${CLI[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$1s" --timeout 5s "http://127.0.0.1:$PORT/" >"$2" 2>&1 ||
        die "wrk failed: $(tail -3 "$2")"
    awk '/^Requests\/sec:/ {print $2}' "$2"
}

declare -A RPS=([off]="" [file]="")
LINES_INFO=""
for rep in $(seq 1 "$REPS"); do
    for mode in off file; do
        rm -f "$SCRATCH/access.log"
        start_server "$mode"
        ((WARMUP > 0)) && run_wrk "$WARMUP" "$SCRATCH/warmup-$mode-$rep.txt" >/dev/null
        rps=$(run_wrk "$DURATION" "$SCRATCH/wrk-$mode-$rep.txt")
        [[ -n "$rps" ]] || die "no Requests/sec in $SCRATCH/wrk-$mode-$rep.txt"
        RPS[$mode]+="$rps "
        if [[ "$mode" == file ]]; then
            dropped=$(curl -fsS "http://127.0.0.1:$PORT/_status" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["access_log"]["dropped"])')
            stop_server # drains the queue into the file
            lines=$(wc -l <"$SCRATCH/access.log")
            LINES_INFO+="rep $rep: $lines lines written, $dropped dropped; "
        else
            stop_server
        fi
        log "rep $rep $mode: $rps requests/s"
    done
done

python3 - "${RPS[off]}" "${RPS[file]}" "$DURATION" "$REPS" "$CONNS" <<'EOF'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
print(f"hello, wrk -c{sys.argv[5]} -d{sys.argv[3]}s, {sys.argv[4]} repetition(s) each")
print(f"{'access log':<22} {'median req/s':>14} {'min–max':>24} {'ratio':>7}")
base = statistics.median(off)
for name, v in (("off", off), ("file, Combined", on)):
    m = statistics.median(v)
    print(f"{name:<22} {m:>14,.0f} {min(v):>11,.0f}–{max(v):<12,.0f} {m / base:>7.3f}")
EOF
echo "file runs: ${LINES_INFO%; }"

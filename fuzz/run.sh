#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS on its seed corpus.
#   bash fuzz/run.sh SECONDS [TARGET...]    (no TARGET: all of fuzz_targets/*.rs)
#   bash fuzz/run.sh build                  (build only)
# Fails when a target crashes (libFuzzer exits non-zero and leaves the input in
# fuzz/artifacts/TARGET/). Needs a C++ compiler (libfuzzer-sys builds libFuzzer) and
# stable Rust: the flags are the ones `cargo fuzz build -s none` passes (see README.md).
set -euo pipefail
cd "$(dirname "$0")"

# cargo-fuzz's instrumentation for `-s none` (no sanitizer: works on stable Rust), plus
# debug assertions and overflow checks, as `cargo fuzz build -a` adds them.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks ${FUZZ_EXTRA_RUSTFLAGS:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# One target triple named explicitly, as cargo-fuzz does: RUSTFLAGS then do not reach
# build scripts and proc macros (which must not be instrumented).
triple="$(rustc -vV | sed -n 's/^host: //p')"

all_targets() {
    for f in fuzz_targets/*.rs; do basename "$f" .rs; done
}

cargo build --release --target "$triple" --bins
[ "${1:-}" = build ] && exit 0

secs="${1:?usage: run.sh SECONDS [TARGET...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(all_targets)

failed=()
for t in "${targets[@]}"; do
    bin="$CARGO_TARGET_DIR/$triple/release/$t"
    corpus="corpus/$t"
    work="$CARGO_TARGET_DIR/corpus/$t" # new inputs found go here, not into the repo
    mkdir -p "$work" "artifacts/$t"
    echo "== fuzz $t for ${secs}s"
    args=(-max_total_time="$secs" -print_final_stats=1
        -artifact_prefix="artifacts/$t/" -rss_limit_mb=2048 -timeout=10)
    [ -f "dict/$t.dict" ] && args+=(-dict="dict/$t.dict")
    if ! "$bin" "${args[@]}" "$work" "$corpus"; then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi

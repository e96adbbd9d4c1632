#!/usr/bin/env bash
# Cross-builds falconet for aarch64-unknown-linux-gnu without Docker, runs the whole test
# suite for that target under qemu-aarch64-static, and prints the stripped binary sizes.
# The linker's 16 KiB maximum page size for aarch64 comes from .cargo/config.toml.
#
# Uses Debian's Rust toolchain (rustc-web, with the arm64 standard library from
# libstd-rust-web-dev:arm64), because rustup cannot always download targets; installs it
# with apt-get when missing (needs root).
#
# Environment:
#   TARGET_DIR   where to build (default: target-aarch64, separate from the host's target/)
#   SKIP_TESTS=1 build only (the release binary and the examples; with the tests, the
#                examples are built by the test suite instead)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
TARGET_DIR=${TARGET_DIR:-target-aarch64}

need_install=0
[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || need_install=1
[ -d /usr/lib/rustlib/$TARGET/lib ] || need_install=1
command -v aarch64-linux-gnu-gcc >/dev/null || need_install=1
command -v qemu-aarch64-static >/dev/null || need_install=1
if [ "$need_install" = 1 ]; then
    echo "== installing Debian's aarch64 cross toolchain"
    dpkg --add-architecture arm64
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        rustc-web cargo-web libstd-rust-web-dev:arm64 \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
fi

export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# `-L /` (not /usr/aarch64-linux-gnu): with the multiarch arm64 libc installed, the cross
# loader meeting the multiarch libc hangs threaded programs.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /"
# Tests that start example binaries as child processes run them through the same runner
# (no binfmt_misc registration is assumed).
export FALCONET_TEST_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CARGO_TARGET_DIR=$TARGET_DIR
CARGO=/usr/bin/cargo

echo "== $($RUSTC --version) for $TARGET"
if [ "${SKIP_TESTS:-0}" = 1 ]; then
    echo "== release binary and examples"
    $CARGO build --release --target $TARGET --bin falconet --examples
else
    # The test suite below builds every example for this target and runs them; linking each
    # again with the release profile's LTO would add minutes and check nothing more.
    echo "== release binary"
    $CARGO build --release --target $TARGET --bin falconet
fi

if [ "${SKIP_TESTS:-0}" != 1 ]; then
    echo "== test suite under qemu-aarch64-static"
    # Example binaries used by the tests are built by `cargo test` itself (debug profile).
    $CARGO test --target $TARGET
fi

echo "== sizes of the stripped aarch64 binary"
size_of() { # name, profile, cargo feature arguments...
    local name=$1 profile=$2
    shift 2
    $CARGO build -q --profile "$profile" --target $TARGET --bin falconet "$@"
    local dir=$profile
    [ "$profile" = dev ] && dir=debug
    local bin=$TARGET_DIR/$TARGET/$dir/falconet
    aarch64-linux-gnu-strip -o "$bin.stripped" "$bin"
    size=$(stat -c %s "$bin.stripped")
    printf '| %-44s | %-8s | %9s |\n' "$name" "$profile" "$size"
}
printf '| %-44s | %-8s | %9s |\n' "build" "profile" "bytes"
printf '|%s|%s|%s|\n' "----------------------------------------------" "----------" "-----------"
size_of "minimal HTTP/1.1 (appliance only)" minsize --no-default-features --features appliance
size_of "minimal HTTP/1.1 (appliance only)" release --no-default-features --features appliance
size_of "default without PKCS#12" release --no-default-features \
    --features appliance,json-config,static-files,tls,dev-certs,http2
size_of "default (PKCS#12 and dev-certs included)" release
default_size=$size
size_of "default + access log" release --features access-log
size_of "default + response compression" release --features compression
# The budget of issue 12 (README, "Binary size"): the default build's stripped binary.
BUDGET=2000000
if [ "$default_size" -gt "$BUDGET" ]; then
    echo "FAIL: the default aarch64 binary is $default_size bytes, over its budget of $BUDGET" >&2
    exit 1
fi
echo "the default aarch64 binary: $default_size bytes, within its budget of $BUDGET"


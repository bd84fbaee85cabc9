#!/usr/bin/env bash
# Builds the libFuzzer target over the Wire module (frame parser, message codec, session MAC, handshake state
# machine, NIO pipeline; see fuzz/WireFuzz/WireFuzzer.swift) and runs it from the seed corpus.
#
#   scripts/fuzz-wire.sh                 # 1,000,000 executions
#   scripts/fuzz-wire.sh 5000000         # more
#   scripts/fuzz-wire.sh 0 -max_total_time=3600   # run for an hour (extra arguments go to libFuzzer)
#
# Environment: SWIFT (swift binary), WIRE_FUZZ_SCRATCH (build dir, default .build-fuzz),
# WIRE_FUZZ_SANITIZERS (default fuzzer,address).
# New interesting inputs go to fuzz/out/wire (not committed); crashes, leaks, timeouts and out-of-memory
# inputs to fuzz/artifacts/wire/. Reproduce one without the fuzzer: swift build --product WireFuzz &&
# .build/debug/WireFuzz fuzz/artifacts/wire/crash-…
set -euo pipefail

cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
if ! command -v "$SWIFT" >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then SWIFT=/opt/swift/usr/bin/swift; fi
SCRATCH=${WIRE_FUZZ_SCRATCH:-.build-fuzz}
SANITIZERS=${WIRE_FUZZ_SANITIZERS:-fuzzer,address}
RUNS=${1:-1000000}
shift || true

# -DWIRE_FUZZING makes the entry point hand over to libFuzzer's driver. lld links it: gold fails on the
# sanitized objects ("internal error in format_file_lineno").
"$SWIFT" build -c release --scratch-path "$SCRATCH" --product WireFuzz \
    -Xswiftc "-sanitize=$SANITIZERS" \
    -Xswiftc -DWIRE_FUZZING \
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

mkdir -p fuzz/out/wire fuzz/artifacts/wire
# Memory is bounded: no single allocation over 64 MB (frames are capped at 64 KiB in the harness, inputs at
# 4 KiB), no process growth past 2 GB, no input running over 10 s.
exec "$SCRATCH/release/WireFuzz" fuzz/out/wire fuzz/corpus/wire \
    -runs="$RUNS" \
    -max_len=4096 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -malloc_limit_mb=64 \
    -artifact_prefix=fuzz/artifacts/wire/ \
    -print_final_stats=1 \
    "$@"

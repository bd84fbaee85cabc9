#!/usr/bin/env bash
# `make fuzz`: every libFuzzer target, each for RUNS executions (default 1,000,000), then one summary line per
# target: executions done, crashes found. Targets: wire (frames, codec, session, handshake, pipeline:
# fuzz/WireFuzz), control (control payloads), guest (guest messages), spec (the VSE spec parser; all three in
# fuzz/PayloadFuzz). Exits non-zero if any target crashed or stopped short.
#
#   scripts/fuzz.sh                  # 1,000,000 executions each
#   scripts/fuzz.sh 10000 control    # fewer, one target
#
# Environment: SWIFT, FUZZ_SCRATCH (build dir, default .build-fuzz), FUZZ_SANITIZERS (default fuzzer,address),
# ASAN_OPTIONS (default malloc_context_size=0: AddressSanitizer still detects every bad access, but does not
# record each allocation's call stack, which only its reports use — it was a third of the spec target's CPU;
# replay a crash with a plain build, or rerun the input with ASAN_OPTIONS= for the allocation stacks).
# Crashes go to fuzz/artifacts/<target>/ (reproduce with a plain build: PAYLOAD_FUZZ_TARGET=<target>
# .build/debug/PayloadFuzz fuzz/artifacts/<target>/crash-…, or .build/debug/WireFuzz …).
set -uo pipefail

cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
if ! command -v "$SWIFT" >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then SWIFT=/opt/swift/usr/bin/swift; fi
SCRATCH=${FUZZ_SCRATCH:-${WIRE_FUZZ_SCRATCH:-.build-fuzz}}
SANITIZERS=${FUZZ_SANITIZERS:-${WIRE_FUZZ_SANITIZERS:-fuzzer,address}}
RUNS=${1:-1000000}
shift || true
TARGETS=${*:-wire control guest spec}
export ASAN_OPTIONS=${ASAN_OPTIONS-malloc_context_size=0}

build() {
  # -D…FUZZING makes the entry point hand over to libFuzzer's driver; lld links (gold fails on the sanitized
  # objects).
  "$SWIFT" build -c release --scratch-path "$SCRATCH" --product "$1" \
      -Xswiftc "-sanitize=$SANITIZERS" -Xswiftc "-D$2" \
      -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld || exit 1
}
case " $TARGETS " in *" wire "*) build WireFuzz WIRE_FUZZING ;; esac
case " $TARGETS " in *" control "*|*" guest "*|*" spec "*) build PayloadFuzz PAYLOAD_FUZZING ;; esac

summary=()
status=0
for target in $TARGETS; do
  mkdir -p "fuzz/out/$target" "fuzz/artifacts/$target"
  log="fuzz/out/$target.log"
  if [ "$target" = wire ]; then binary="$SCRATCH/release/WireFuzz"; else binary="$SCRATCH/release/PayloadFuzz"; fi
  # Bounded memory and time per input: inputs of at most 4 KiB (specs: 2 KiB, over four times the largest
  # example, examples/debian.yaml's 462 bytes; the alias bomb, duplicate keys and control characters the
  # issues found all fit in under 500), no allocation over 64 MB, no process past 2 GB, no input over 60 s of
  # wall-clock time (libFuzzer's -timeout; the unbounded alias bomb took over 300 s, and at 10 s a `nice -n 10`
  # run starved of CPU on a shared machine stopped on an ordinary 315-byte input: "ALARM: working on the last
  # Unit for 17 seconds", replayed in 0.05 s).
  max_len=4096
  if [ "$target" = spec ]; then max_len=2048; fi
  PAYLOAD_FUZZ_TARGET=$target "$binary" "fuzz/out/$target" "fuzz/corpus/$target" \
      -runs="$RUNS" -max_len=$max_len -timeout=60 -rss_limit_mb=2048 -malloc_limit_mb=64 \
      -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1
  code=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  # One per input libFuzzer kept as an artifact (crash, timeout, leak, out of memory), not one per report line.
  crashes=$(grep -c 'Test unit written to' "$log")
  summary+=("fuzz $target: ${runs:-0} executions, $crashes crashes (exit $code; log $log)")
  if [ "$code" -ne 0 ] || [ "${runs:-0}" -lt "$RUNS" ]; then status=1; fi
done
printf '%s\n' "${summary[@]}"
exit $status

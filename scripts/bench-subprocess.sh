#!/usr/bin/env bash
# The evaluation behind HostProcess's own spawner (docs/DESIGN.md, "Why not swift-subprocess"): starts
# /bin/true COUNT times through HostProcess's ProcessSpawner and through swift-subprocess 1.0.2, alternating
# round by round, and prints the medians per spawn (wall, and the caller's CPU), once with the process as it is
# and once after touching BALLAST MiB (a big front-end or agent process). bench/subprocess is a package of its
# own (release build in bench/subprocess/.build), so the dependency stays out of vhpc.
#
#   scripts/bench-subprocess.sh                # 200 spawns x 7 rounds, ballast 0 and 1024 MiB
#   COUNT=100 ROUNDS=5 BALLAST=2048 scripts/bench-subprocess.sh
set -euo pipefail

cd "$(dirname "$0")/../bench/subprocess"
SWIFT=${SWIFT:-swift}
if ! command -v "$SWIFT" >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then SWIFT=/opt/swift/usr/bin/swift; fi
"$SWIFT" build -c release --product spawn-bench >&2
for ballast in 0 "${BALLAST:-1024}"; do
    .build/release/spawn-bench --count "${COUNT:-200}" --rounds "${ROUNDS:-7}" --ballast "$ballast"
done

#!/usr/bin/env bash
# Before/after benchmarks of two mecrl binaries on the same machine, blocks alternating:
# each round runs every `bench` below with OLD, then with NEW. Usage:
#   tools/bench_ab.sh OLD_BIN NEW_BIN OUT_DIR [ROUNDS]
# Output: OUT_DIR/<bench>.<old|new>.txt (every round appended). Needs numpy for the references
# (tools/test.sh's .venv has it: PATH=.venv/bin:$PATH).
set -euo pipefail
OLD=$1 NEW=$2 OUT=$3 ROUNDS=${4:-3}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
BENCHES=("mec --backend cpu" "crowd --backends cpu" "coop --backends cpu" "endedge --backend cpu")
for r in $(seq "$ROUNDS"); do
  for which in old new; do
    BIN=$OLD; [ "$which" = new ] && BIN=$NEW
    for b in "${BENCHES[@]}"; do
      name=${b%% *}
      echo "=== $which round $r: bench $b" >> "$OUT/$name.$which.txt"
      # shellcheck disable=SC2086
      "$BIN" bench $b >> "$OUT/$name.$which.txt" 2>&1
    done
  done
done

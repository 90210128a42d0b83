#!/usr/bin/env bash
# The long fuzz runs of docs/reliability.md: every cargo-fuzz target of fuzz/ for RUNS executions
# (default 1,000,000), starting from a scratch copy of its committed seeds (fuzz/corpus/<t>/,
# which stays small), with libFuzzer's memory limits: a single allocation over 512 MB or an RSS
# over 2 GB is a failure, as is a panic. Prints one line per target: executions, seconds, result.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: tools/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS=${1:-1000000}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | grep -v '^mecrl-fuzz$')
fi
# No sanitizer: the targets are safe Rust; panics and the memory limits are what is checked.
cargo +nightly fuzz build -s none -O >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
printf '%-18s %10s %8s %s\n' target executions seconds result
for t in "${TARGETS[@]}"; do
  mkdir -p "$WORK/$t"
  cp corpus/"$t"/* "$WORK/$t"/
  start=$(date +%s)
  if cargo +nightly fuzz run -s none -O "$t" "$WORK/$t" -- -runs="$RUNS" -rss_limit_mb=2048 \
      -malloc_limit_mb=512 -max_len=65536 -print_final_stats=1 > "$WORK/$t.log" 2>&1; then
    result=ok
  else
    result="FAILED (see fuzz/artifacts/$t/)"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log" | tail -1)
  printf '%-18s %10s %8s %s\n' "$t" "${execs:-?}" "$(( $(date +%s) - start ))" "$result"
  [ "$result" = ok ] || tail -30 "$WORK/$t.log" >&2
done

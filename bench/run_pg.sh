#!/usr/bin/env bash
# pg and pub/sub benchmarks, nodus vs BEAM in the same run (bench/README.md).
#
#   bench/run_pg.sh BUILD_DIR [RUNS]     # RUNS: median of (default 3)
#
# BUILD_DIR is a Release build with bin/bench_pg.
set -euo pipefail
BUILD_DIR=${1:?usage: run_pg.sh BUILD_DIR [RUNS]}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/bench_pg
[ -x "$CBIN" ] || { echo "run_pg.sh: $CBIN not built" >&2; exit 1; }
source "$HERE/bench_lib.sh" "$HERE/bench_pg.erl"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq "$RUNS"); do
  for n in b c; do
    erl -sname "pg${n}$r" -setcookie nodusbench -noshell -pa "$TMP" >/dev/null 2>&1 &
    PIDS+=($!)
  done
  sleep 1
  erl -sname "pga$r" -setcookie nodusbench -noshell -pa "$TMP" \
    -run bench_pg main "pgb$r@$HOST" "pgc$r@$HOST" 10000 >>"$TMP/beam.out" 2>&1 || { cat "$TMP/beam.out" >&2; exit 1; }
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$CBIN" joins 10000 >>"$TMP/c.out"
  "$CBIN" broadcast 200000 >>"$TMP/c.out"
done
fig() { grep "^$1 " "$TMP/$2.out" | awk '{print $2}' | median; }
printf '| scenario | nodus | BEAM | nodus/BEAM |\n|---|---|---|---|\n'
for k in joins_per_s visible_ms publishes_per_s; do
  c=$(fig "$k" c) b=$(fig "$k" beam)
  if [ "$k" = visible_ms ]; then ratio=$(awk -v c="$c" -v b="$b" 'BEGIN{printf "%.2f× faster", b/c}')
  else ratio=$(awk -v c="$c" -v b="$b" 'BEGIN{printf "%.2f", c/b}'); fi
  printf '| %s | %s | %s | %s |\n' "$k" "$c" "$b" "$ratio"
done

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
EPMD_PORT=$((20000 + RANDOM % 20000))
export ERL_EPMD_PORT=$EPMD_PORT ERL_CRASH_DUMP_SECONDS=0
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
erlc -o "$TMP" "$HERE/bench_pg.erl"
epmd -port "$EPMD_PORT" -daemon
for _ in $(seq 50); do epmd -port "$EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.1; done
HOST=$(hostname -s)

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

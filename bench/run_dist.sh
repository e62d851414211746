#!/usr/bin/env bash
# Distribution benchmarks: two C nodes, two BEAM nodes and a controller on
# loopback, with a private epmd. Prints one table (bench/README.md).
#
#   bench/run_dist.sh BUILD_DIR [full|quick] [SECTIONS]
#
# BUILD_DIR is a Release build (cmake -DCMAKE_BUILD_TYPE=Release) that has
# bin/bench_node. "quick" runs each figure once with short runs (smoke
# test). SECTIONS: comma-separated subset of seq,bin100,bin4k,rt,start
# (default all).
set -euo pipefail

BUILD_DIR=${1:?usage: run_dist.sh BUILD_DIR [quick]}
MODE=${2:-full}
SECTIONS=${3:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/bench_node
[ -x "$CBIN" ] || { echo "run_dist.sh: $CBIN not built" >&2; exit 1; }

source "$HERE/bench_lib.sh" "$HERE/bench_dist.erl"

# C_NODE_ARGS: extra options for the two C nodes, e.g. "--spin-us -1".
for n in c1 c2; do
  # shellcheck disable=SC2086
  "$CBIN" --name "$n" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" ${C_NODE_ARGS:-} >"$TMP/$n.log" 2>&1 &
  PIDS+=($!)
done
for n in b1 b2; do
  erl -sname "$n" -setcookie "$COOKIE" -noshell -noinput -pa "$TMP" \
      -eval 'bench_dist:serve()' >"$TMP/$n.log" 2>&1 &
  PIDS+=($!)
done

# The controller starts (and kills) the nodes of the start-up scenario
# itself; it halts when done, and `timeout` bounds a stuck run.
# (The start-up scenario kills nodes on purpose: global needs not react.)
timeout 1800 erl -sname "ctl$$" -setcookie "$COOKIE" -noshell -noinput -pa "$TMP" \
  -kernel prevent_overlapping_partitions false \
  -eval "bench_dist:main([\"$CBIN\", \"$COOKIE\", \"$EPMD_PORT\", \"$MODE\", \"$SECTIONS\"])"

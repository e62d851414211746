#!/usr/bin/env bash
# :global benchmarks, nodus vs BEAM in the same run (bench/README.md).
#
#   bench/run_global.sh BUILD_DIR [RUNS] [NS NP T NK]
#
# RUNS: median of (default 3). NS registrations one after another, NP from
# T threads / processes at once (defaults 1000, 2000, 8), NK names of the
# killed node (default 5000). BUILD_DIR is a Release build with
# bin/bench_global. Everything is on loopback with a private epmd.
set -euo pipefail
BUILD_DIR=${1:?usage: run_global.sh BUILD_DIR [RUNS] [NS NP T NK]}
RUNS=${2:-3}
NS=${3:-1000} NP=${4:-2000} T=${5:-8} NK=${6:-5000}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/bench_global
[ -x "$CBIN" ] || { echo "run_global.sh: $CBIN not built" >&2; exit 1; }
source "$HERE/bench_lib.sh" "$HERE/bench_global.erl"

# erl_node NAME: a BEAM node with bench_global loaded, up in epmd.
erl_node() {
  erl -sname "$1" -setcookie "$COOKIE" -noshell -pa "$TMP" >/dev/null 2>&1 &
  PIDS+=($!)
  disown $! # the bench kills some with -9: no "Killed" lines from bash
}
wait_up() {
  for _ in $(seq 100); do
    local all=1
    for n in "$@"; do epmd -port "$EPMD_PORT" -names | grep -q "name $n " || all=0; done
    [ $all = 1 ] && return 0
    sleep 0.1
  done
  echo "run_global.sh: $* did not start" >&2; exit 1
}
stop_pids() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; PIDS=(); }

for r in $(seq "$RUNS"); do
  # BEAM only: gla registers, glb polls and owns the looked-up name, glc is killed
  erl_node "glb$r"; erl_node "glc$r"; wait_up "glb$r" "glc$r"
  timeout 300 erl -sname "gla$r" -setcookie "$COOKIE" -noshell -pa "$TMP" \
    -run bench_global main "glb$r@$HOST" "glc$r@$HOST" "$NS" "$NP" "$T" "$NK" \
    >>"$TMP/beam.out" 2>&1 || { cat "$TMP/beam.out" >&2; exit 1; }
  stop_pids
  # C only
  timeout 300 "$CBIN" cluster "$NS" "$NP" "$T" >>"$TMP/c.out"
  timeout 300 "$CBIN" cleanup "$NK" "$T" >>"$TMP/c.out"
  # mixed: the C node gmc among BEAM nodes gmb and gmz (gmz is killed)
  erl_node "gmb$r"; erl_node "gmz$r"; wait_up "gmb$r" "gmz$r"
  timeout 300 "$CBIN" mixed "gmb$r@$HOST" "gmz$r@$HOST" "$NS" "$NP" "$T" "$NK" >>"$TMP/mixed.out"
  stop_pids
done
[ -n "${BENCH_GLOBAL_RAW:-}" ] && cat "$TMP"/*.out >&2

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fig() { grep "^$1 " "$TMP/$2.out" | awk '{print $2}' | median; }
# row LABEL C_VALUE BEAM_VALUE rate|time
row() {
  local ratio
  if [ "$4" = time ]; then ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (c > 0) printf "%.2f× faster", b/c; else print "-" }')
  else ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (b <= 0) print "-"; else if (c/b < 0.1) printf "%.4f", c/b; else printf "%.2f", c/b }'); fi
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$ratio"
}
echo "3 nodes, $RUNS run(s), median; NS=$NS sequential, NP=$NP from T=$T threads/processes, NK=$NK"
printf '| scenario | nodus | BEAM | nodus/BEAM |\n|---|---|---|---|\n'
row "C-only: register_name/s, 1 thread / 1 process, sequential" "$(fig reg_seq_per_s c)" "$(fig reg_seq_per_s beam)" rate
row "C-only: register_name/s, $T threads / $T processes" "$(fig reg_par_per_s c)" "$(fig reg_par_per_s beam)" rate
row "C-only: $NS sequential names all visible on another node, ms" "$(fig reg_seq_visible_ms c)" "$(fig reg_seq_visible_ms beam)" time
row "C-only: $NP names ($T threads) all visible on another node, ms" "$(fig reg_par_visible_ms c)" "$(fig reg_par_visible_ms beam)" time
row "C-only: whereis of a remote-owned name, lookups/s" "$(fig lookup_per_s c)" "$(fig lookup_per_s beam)" rate
row "(local table: nodus_whereis vs erlang:whereis, lookups/s)" "$(fig local_lookup_per_s c)" "$(fig local_lookup_per_s beam)" rate
row "C-only: $NK names of a kill -9'd node gone on an observer, ms" "$(fig cleanup_ms c)" "$(fig cleanup_ms beam)" time
row "(the same on the second observer, ms)" "$(fig cleanup_other_ms c)" "$(fig cleanup_other_ms beam)" time
row "mixed: register_name/s, sequential (C node vs BEAM node)" "$(fig c_reg_seq_per_s mixed)" "$(fig beam_reg_seq_per_s mixed)" rate
row "mixed: register_name/s, $T threads / $T processes" "$(fig c_reg_par_per_s mixed)" "$(fig beam_reg_par_per_s mixed)" rate
row "mixed: whereis of a BEAM-owned name, lookups/s" "$(fig c_lookup_per_s mixed)" "$(fig beam_lookup_per_s mixed)" rate
row "mixed: $NK names of a kill -9'd BEAM node gone, ms (C vs BEAM observer)" "$(fig c_cleanup_ms mixed)" "$(fig beam_cleanup_ms mixed)" time

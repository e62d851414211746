#!/usr/bin/env bash
# gen_server call rate and rpc round trip, C vs BEAM in the same run, with
# a private epmd on loopback. Prints one table (bench/README.md).
#
#   bench/run_gen_server.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is a Release build with bin/bench_gen_server. Each figure is
# one run of SECONDS (default 3) per caller count.
set -euo pipefail

BUILD_DIR=${1:?usage: run_gen_server.sh BUILD_DIR [SECONDS]}
SECS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/bench_gen_server
[ -x "$CBIN" ] || { echo "run_gen_server.sh: $CBIN not built" >&2; exit 1; }

source "$HERE/bench_lib.sh" "$HERE/bench_gen_server.erl"

# The BEAM server node (its gen_server is started by the client over rpc).
SRV=gsb_beam_srv_$$
erl -sname "$SRV" -setcookie "$COOKIE" -noshell -pa "$TMP" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do epmd -port "$EPMD_PORT" -names | grep -q "name $SRV " && break; sleep 0.1; done

# BEAM -> BEAM
erl -sname "gsb_beam_cli_$$" -setcookie "$COOKIE" -noshell -pa "$TMP" \
  -run bench_gen_server main "$SRV@$HOST" "$SECS.0" >"$TMP/beam.out" 2>&1 || { cat "$TMP/beam.out" >&2; exit 1; }
# C -> C, and C -> BEAM rpc
"$CBIN" --epmd-port "$EPMD_PORT" --cookie "$COOKIE" --seconds "$SECS" \
  --beam "$SRV@$HOST" >"$TMP/c.out"

get() { awk -v k="$2" -v n="${3:-}" '$1 == k && (n == "" || $2 == n) {print $NF}' "$1"; }
b1=$(get "$TMP/beam.out" beam_calls 1); b16=$(get "$TMP/beam.out" beam_calls 16)
c1=$(get "$TMP/c.out" c_calls 1); c16=$(get "$TMP/c.out" c_calls 16)
t1=$(get "$TMP/c.out" c_thread_calls 1); t16=$(get "$TMP/c.out" c_thread_calls 16)
brpc=$(get "$TMP/beam.out" beam_rpc_us); crpc=$(get "$TMP/c.out" c_rpc_us)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "| scenario | nodus (C→C) | BEAM (BEAM→BEAM) | ratio |"
echo "|---|---:|---:|---:|"
echo "| gen_server:call, 1 caller (calls/s) | $c1 | $b1 | $(ratio "$c1" "$b1") |"
echo "| gen_server:call, 16 callers (calls/s) | $c16 | $b16 | $(ratio "$c16" "$b16") |"
echo "| the same from 1 / 16 C threads (nodus_call) | $t1 / $t16 | $b1 / $b16 | $(ratio "$t1" "$b1") / $(ratio "$t16" "$b16") |"
echo "| rpc:call round trip, median µs (C→BEAM vs BEAM→BEAM) | $crpc | $brpc | $(ratio "$brpc" "$crpc") |"

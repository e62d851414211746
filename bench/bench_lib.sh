# Shared by the bench/run_*.sh scripts (sourced): a private epmd on a random
# port, a temp dir, and a cleanup that stops every process in PIDS, that
# epmd, and removes the temp dir.
#
#   source bench_lib.sh ERL_SOURCE     # compiles it into $TMP
COOKIE=nodusbench
EPMD_PORT=$((20000 + RANDOM % 20000))
export ERL_EPMD_PORT=$EPMD_PORT
export ERL_CRASH_DUMP_SECONDS=0 # a failed run leaves no erl_crash.dump
TMP=$(mktemp -d)
PIDS=()
HOST=$(hostname -s)

bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
# ^C or a kill stops the run (the EXIT trap then cleans up), instead of
# cleaning up and carrying on without its nodes.
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

erlc -o "$TMP" "$1"
epmd -port "$EPMD_PORT" -daemon
for _ in $(seq 50); do epmd -port "$EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.1; done

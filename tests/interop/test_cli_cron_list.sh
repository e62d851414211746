#!/usr/bin/env bash
# nodus cron list NODE: a cron_node (one scheduler, availability mode,
# alone, job "tick" on "@every 200ms") in a private `nodus epmd` is asked
# over rpc from the CLI's hidden node: exit 0, a header line for the
# scheduler and the job's line (schedule, zone, next and last tick as
# YYYY-MM-DDTHH:MM:SS(.mmm)+00:00, the node itself as owner, a numeric
# epoch); `nodus rpc NODE nodus cron_jobs '[]'` gives the map, and so does
# rpc:call(C, nodus, cron_jobs, []) from a real erl node; a node
# that runs no scheduler and a node that is not there exit 1 with a
# message; the cron_node leaves on SIGTERM with 0.
# Usage: bash test_cli_cron_list.sh BUILD_DIR
set -u
BUILD=${1:?usage: test_cli_cron_list.sh BUILD_DIR}
NODUS=$BUILD/bin/nodus
CRON_NODE=$BUILD/bin/cron_node
source "$(dirname "$0")/../skip_lib.sh"
[ -x "$CRON_NODE" ] || skip "no $CRON_NODE (build the interop helpers)"
passed=0
failed=0
PIDS=()
TMP=$(mktemp -d)
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }
# wait_for PID FILE REGEX: until FILE matches, PID ends, or 30 s pass.
wait_for() {
  local _
  for _ in $(seq 600); do
    grep -Eq "$3" "$2" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  grep -Eq "$3" "$2" 2>/dev/null
}

# Our own epmd on a private port; a random port may be taken (epmd
# exits): another one, up to five times.
for _ in 1 2 3 4 5; do
  port=$((10000 + RANDOM % 20000))
  "$NODUS" epmd --port "$port" --address 127.0.0.1 >"$TMP/epmd.log" 2>&1 &
  epmd_pid=$!
  PIDS+=($epmd_pid)
  wait_for "$epmd_pid" "$TMP/epmd.log" listening && break
done
check "epmd up" 'grep -q listening "$TMP/epmd.log"'

NODE=cronl$$@127.0.0.1
PEER=(--cookie cronc --epmd-port "$port")
"$CRON_NODE" --name "$NODE" "${PEER[@]}" >"$TMP/node.out" 2>"$TMP/node.err" &
node_pid=$!
PIDS+=($node_pid)
wait_for "$node_pid" "$TMP/node.out" '^ready '
check "cron_node ready (its job ran)" 'grep -qx "ready $NODE" "$TMP/node.out"'
grep -q '^ready ' "$TMP/node.out" || sed 's/^/    /' "$TMP/node.err" >&2

out=$("$NODUS" cron list "$NODE" "${PEER[@]}" --timeout 5000 2>"$TMP/err"); rc=$?
check "list exit 0" '[ $rc -eq 0 ]'
check "list: the scheduler's header" 'grep -qx "cron  mode=availability  jobs=1" <<<"$out"'
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?\+00:00'
job_re="^  tick  @every 200ms  UTC  next=$TIME  last=($TIME|-)  owner=${NODE//./\\.}  epoch=[0-9]+\$"
check "list: the job's line" 'grep -Eq "$job_re" <<<"$out"'
check "list: the job has run (last tick)" 'grep -Eq "  last=$TIME  " <<<"$out"'
[ $failed -eq 0 ] || { echo "  list said:"; sed 's/^/    /' <<<"$out"; sed 's/^/    /' "$TMP/err"; } >&2

out=$("$NODUS" rpc "$NODE" nodus cron_jobs '[]' "${PEER[@]}" 2>"$TMP/err"); rc=$?
check "rpc cron_jobs exit 0" '[ $rc -eq 0 ]'
check "rpc: a list of one map" '[[ $out == "[#{"*"}]" ]]'
check "rpc: the scheduler" 'grep -q "mode => availability" <<<"$out" &&
  grep -q "name => <<\"cron\">>" <<<"$out"'
owner="owner => '$NODE'"
check "rpc: the job's map" 'grep -q "name => <<\"tick\">>" <<<"$out" &&
  grep -q "schedule => <<\"@every 200ms\">>" <<<"$out" &&
  grep -q "tz => <<\"UTC\">>" <<<"$out" && grep -qF "$owner" <<<"$out" &&
  grep -Eq "next => [0-9]+" <<<"$out" && grep -Eq "epoch => [0-9]+" <<<"$out"'

# The same from a real erl node: rpc:call(C, nodus, cron_jobs, []).
if command -v erl >/dev/null 2>&1; then
  out=$(ERL_EPMD_PORT=$port timeout 30 erl -noshell -name "cronerl$$@127.0.0.1" -setcookie cronc \
    -eval "R = rpc:call('$NODE', nodus, cron_jobs, []),
           Ok = case R of
                  [#{mode := availability, name := <<\"cron\">>,
                     jobs := [#{name := <<\"tick\">>, owner := O, epoch := E}]}]
                    when O =:= '$NODE', is_integer(E) -> yes;
                  _ -> R
                end,
           io:format(\"~p~n\", [Ok]), halt()." 2>&1)
  check "erl: rpc:call(C, nodus, cron_jobs, []) gives the scheduler and its job" '[ "$out" = yes ]'
  [ "$out" = yes ] || echo "    erl said: $out" >&2
elif [ "${NODUS_REQUIRE_ALL:-0}" = 1 ]; then
  bad "erl not installed (NODUS_REQUIRE_ALL=1)"
fi

# A node without a scheduler: exit 1, said so.
NONE=cronn$$@127.0.0.1
"$CRON_NODE" --name "$NONE" "${PEER[@]}" --none >"$TMP/none.out" 2>&1 &
none_pid=$!
PIDS+=($none_pid)
wait_for "$none_pid" "$TMP/none.out" '^ready '
check "schedulerless cron_node ready" 'grep -qx "ready $NONE" "$TMP/none.out"'
"$NODUS" cron list "$NONE" "${PEER[@]}" --timeout 5000 >"$TMP/out" 2>"$TMP/err"; rc=$?
check "no scheduler: exit 1" '[ $rc -eq 1 ]'
check "no scheduler: the message" 'grep -q "$NONE runs no cron scheduler" "$TMP/err"'
check "no scheduler: nothing on stdout" '[ ! -s "$TMP/out" ]'

# A node that is not there: exit 1 with the reason.
"$NODUS" cron list "nosuch$$@127.0.0.1" "${PEER[@]}" --timeout 2000 >/dev/null 2>"$TMP/err"; rc=$?
check "absent node: exit 1" '[ $rc -eq 1 ]'
check "absent node: a message" 'grep -q "^nodus cron list: " "$TMP/err"'

# SIGTERM: the scheduler closes (the loop still running), then the node; 0.
kill -TERM "$node_pid"
for _ in $(seq 600); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$node_pid" 2>/dev/null; then
  bad "cron_node leaves within 30 s of SIGTERM"
else
  wait "$node_pid"; rc=$?
  check "cron_node leaves on SIGTERM with 0" '[ $rc -eq 0 ]'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

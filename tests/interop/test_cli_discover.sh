#!/usr/bin/env bash
# nodus discover: --once prints what static, dir and epmd find (epmd: a
# private `nodus epmd` with an echo_node registered in it), exits 1 when
# nothing is found, refuses a bad spec with its position (exit 2); the
# running form prints as nodes appear and never dials them (the echo_node
# sees no nodeup); a dry-run dir leaves no file of its own.
# Usage: bash test_cli_discover.sh BUILD_DIR
set -u
BUILD=${1:?usage: test_cli_discover.sh BUILD_DIR}
NODUS=$BUILD/bin/nodus
ECHO=$BUILD/bin/echo_node
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

out=$("$NODUS" discover --once 'static:a@h1,b@h2' 2>"$TMP/err"); rc=$?
check "static --once exit 0" '[ $rc -eq 0 ]'
check "static found a" 'grep -qx "found a@h1 via static" <<<"$out"'
check "static found b" 'grep -qx "found b@h2 via static" <<<"$out"'

"$NODUS" discover --once 'static:a@h,colour=red' >/dev/null 2>"$TMP/err"; rc=$?
check "bad key exit 2" '[ $rc -eq 2 ]'
check "bad key position" 'grep -q "position 12: .colour. is not an option of static" "$TMP/err"'
"$NODUS" discover 'nosuch:x' >/dev/null 2>"$TMP/err"; rc=$?
check "unknown strategy exit 2" '[ $rc -eq 2 ]'
check "unknown strategy named" 'grep -q "unknown strategy .nosuch." "$TMP/err"'

mkdir -p "$TMP/shared"
touch "$TMP/shared/n1@h1" "$TMP/shared/n2@h2"
out=$("$NODUS" discover --once "dir:$TMP/shared" 2>/dev/null); rc=$?
check "dir --once exit 0" '[ $rc -eq 0 ]'
check "dir found n1" 'grep -qx "found n1@h1 via dir" <<<"$out"'
check "dir found n2" 'grep -qx "found n2@h2 via dir" <<<"$out"'
check "dry-run dir wrote nothing" '[ "$(ls "$TMP/shared" | wc -l)" -eq 2 ]'
mkdir -p "$TMP/empty"
"$NODUS" discover --once --timeout 500 "dir:$TMP/empty" >/dev/null 2>&1; rc=$?
check "nothing found exit 1" '[ $rc -eq 1 ]'

# epmd: our own epmd on a private port, an echo_node in it
# Wait by condition (the sanitizer build starts slowly): epmd listening,
# then the echo_node registered in it. A random port may be taken (epmd
# exits): another one, up to five times.
for _ in 1 2 3 4 5; do
  port=$((10000 + RANDOM % 20000))
  "$NODUS" epmd --port "$port" --address 127.0.0.1 >"$TMP/epmd.log" 2>&1 &
  epmd_pid=$!
  PIDS+=($epmd_pid)
  for _ in $(seq 400); do
    grep -q listening "$TMP/epmd.log" && break
    kill -0 "$epmd_pid" 2>/dev/null || break
    sleep 0.05
  done
  grep -q listening "$TMP/epmd.log" && break
done
check "epmd up" 'grep -q listening "$TMP/epmd.log"'
"$ECHO" --name disc_echo@127.0.0.1 --cookie c --epmd-port "$port" >"$TMP/echo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 400); do
  "$NODUS" names 127.0.0.1 --port "$port" 2>/dev/null | grep -q disc_echo && break
  sleep 0.05
done
check "echo_node registered" '"$NODUS" names 127.0.0.1 --port "$port" 2>/dev/null | grep -q disc_echo'
out=$("$NODUS" discover --once --epmd-port "$port" "epmd:127.0.0.1,port=$port" 2>"$TMP/err"); rc=$?
check "epmd --once exit 0" '[ $rc -eq 0 ]'
check "epmd found echo" 'grep -qx "found disc_echo@127.0.0.1 via epmd" <<<"$out"'

# the running form: prints as it goes, dials nobody
"$NODUS" discover --epmd-port "$port" "epmd:127.0.0.1,port=$port,interval_ms=100" >"$TMP/run.out" 2>&1 &
run=$!
PIDS+=($run)
for _ in $(seq 400); do grep -q "found disc_echo" "$TMP/run.out" && break; sleep 0.05; done
check "running form found echo" 'grep -q "found disc_echo@127.0.0.1 via epmd" "$TMP/run.out"'
sleep 0.5
check "never dialled" '! grep -q "#nodeup" "$TMP/echo.log"'
kill -INT "$run"; wait "$run"; rc=$?
check "running form ends on SIGINT with 0" '[ $rc -eq 0 ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

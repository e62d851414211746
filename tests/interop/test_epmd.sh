#!/usr/bin/env bash
# EPMD interop, both directions, on ports of our own (never 4369):
#  (a) `nodus epmd` serves real erl nodes: they register, net_adm:names/0
#      and `epmd -names` read our NAMES reply, erl finds erl through our
#      PORT_PLEASE2 (net_adm:ping), a killed node disappears.
#  (b) our epmd_client against OTP's real epmd: register (epmd -names lists
#      it), port_please finds an erl node, unregister on close.
#  (c) hostile clients (random bytes, a giant length, half a request, an
#      ALIVE2 whose lengths lie, a zero length) are each closed, with a log
#      line saying why, and don't stop `nodus epmd` from serving the next
#      one meanwhile.
#  (d) `nodus names` with no epmd: exit 1 and a clear message.
# Usage: bash test_epmd.sh BUILD_DIR
set -u
BUILD=${1:?usage: test_epmd.sh BUILD_DIR}
NODUS=$BUILD/bin/nodus
HELPER=$BUILD/bin/epmd_helper
passed=0
failed=0
PIDS=()
REAL_EPMD_PORT=
TMP=$(mktemp -d)

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$REAL_EPMD_PORT" ]; then
    epmd -port "$REAL_EPMD_PORT" -kill >/dev/null 2>&1
  fi
  exec 5>&- 6>&- 7>&- 8>&- 9>&- 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { # check "description" command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# eventually SECONDS command...: retries the command until it succeeds or
# the deadline passes.
eventually() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}
not() { ! "$@"; }
# closed_by_peer FD [SECONDS]: the server closes that connection (EOF, or
# a reset, within SECONDS, default 5; timeout's 124 means still open).
closed_by_peer() {
  timeout "${2:-5}" cat <&"$1" >/dev/null 2>&1
  [ $? -ne 124 ]
}
# still_open FD: no EOF on that connection for half a second.
still_open() { timeout 0.5 cat <&"$1" >/dev/null; [ $? -eq 124 ]; }

# Missing tools skip the test (exit 77), or fail it under NODUS_REQUIRE_ALL=1.
source "$(dirname "$0")/../skip_lib.sh"
need erl epmd timeout
for f in "$NODUS" "$HELPER"; do
  [ -x "$f" ] || { echo "missing $f (build first)"; exit 1; }
done

free_port() { "$HELPER" free_port; }
HOST=$(hostname -s)
SUFFIX=$$

names_has() { # names_has PORT NAME [NODE_PORT]
  "$NODUS" names --port "$1" 2>/dev/null | grep -q "^name $2 at port ${3:-}"
}
real_names_has() {
  epmd -port "$1" -names 2>/dev/null | grep -q "^name $2 at port ${3:-}"
}
# start_erl EPMD_PORT SNAME: a BEAM node that registers with that epmd and
# never starts one of its own.
start_erl() {
  ERL_EPMD_PORT=$1 erl -sname "$2" -setcookie nodus_epmd_test -noshell \
    -start_epmd false >"$TMP/$2.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
}
# erl_eval EPMD_PORT EXPR: runs EXPR in a throwaway node, prints its value.
erl_eval() {
  ERL_EPMD_PORT=$1 timeout 60 erl -sname "q$SUFFIX$RANDOM" \
    -setcookie nodus_epmd_test -noshell -start_epmd false \
    -eval "io:format(\"~p~n\", [$2]), halt()." 2>&1
}

# ---- (a) nodus epmd serving real erl nodes --------------------------------
P=$(free_port)
"$NODUS" epmd --port "$P" 2>"$TMP/nodus_epmd.log" &
NODUS_EPMD_PID=$!
PIDS+=($NODUS_EPMD_PID)
check "nodus epmd answers NAMES on $P" eventually 10 "$NODUS" names --port "$P"

A=a$SUFFIX
start_erl "$P" "$A"
ERL_A=$LAST_PID
check "erl node $A registered with nodus epmd" eventually 30 names_has "$P" "$A"
check "real 'epmd -names' reads nodus epmd's reply" \
  eventually 5 real_names_has "$P" "$A"
out=$(erl_eval "$P" "net_adm:names()")
check "net_adm:names() lists $A (got: $out)" grep -q "\"$A\"" <<<"$out"
out=$(erl_eval "$P" "net_adm:ping('$A@$HOST')")
check "erl pings erl through nodus epmd's PORT_PLEASE2 (got: $out)" \
  grep -qx pong <<<"$out"
check "nodus epmd logged the registration" \
  grep -q "registered $A at port" "$TMP/nodus_epmd.log"
kill -9 "$ERL_A"
check "killed node $A disappears" eventually 10 not names_has "$P" "$A"
check "nodus epmd logged the unregistration" \
  eventually 5 grep -q "unregistered $A at port" "$TMP/nodus_epmd.log"

# ---- (b) epmd_client against OTP's real epmd -------------------------------
P2=$(free_port)
epmd -port "$P2" -daemon
REAL_EPMD_PORT=$P2
real_epmd_up() { epmd -port "$1" -names >/dev/null 2>&1; }
check "real epmd up on $P2" eventually 10 real_epmd_up "$P2"

HB=hb$SUFFIX
"$HELPER" register "$HB" 5678 "$P2" >"$TMP/helper.out" 2>&1 &
HELPER_PID=$!
PIDS+=($HELPER_PID)
check "epmd_client registers: 'epmd -names' lists $HB" \
  eventually 10 real_names_has "$P2" "$HB" 5678
check "epmd_client got a creation from ALIVE2_X_RESP" \
  eventually 5 grep -Eq '^registered [1-9][0-9]*$' "$TMP/helper.out"
out=$("$HELPER" port_please "$HB" "$P2")
check "real epmd read our ALIVE2 fields back (got: $out)" \
  test "$out" = "port 5678 type 77 high 6 low 5"

EB=eb$SUFFIX
start_erl "$P2" "$EB"
ERL_B=$LAST_PID
check "erl node $EB registered with real epmd" \
  eventually 30 real_names_has "$P2" "$EB"
erl_port=$(epmd -port "$P2" -names | sed -n "s/^name $EB at port //p")
out=$("$HELPER" port_please "$EB" "$P2")
check "port_please finds $EB at $erl_port (got: $out)" \
  test "$out" = "port $erl_port type 77 high 6 low 5"
out=$("$HELPER" port_please "nosuch$SUFFIX" "$P2")
rc=$?
check "port_please of an unknown name says notfound" \
  test "$out/$rc" = "notfound/3"
out=$("$NODUS" names --port "$P2")
check "nodus names lists both nodes of the real epmd" \
  grep -q "^name $EB at port $erl_port\$" <<<"$out"
check "... and the helper's registration" grep -q "^name $HB at port 5678\$" <<<"$out"
kill -TERM "$HELPER_PID"
check "closing the registration unregisters from real epmd" \
  eventually 10 not real_names_has "$P2" "$HB"
kill -9 "$ERL_B"
eventually 10 not real_names_has "$P2" "$EB"

# ---- (c) hostile clients against nodus epmd --------------------------------
# Five at once. Three are refused as soon as their bytes arrive; half a
# request is closed at the server's idle timeout (10 s), and so are random
# bytes that happen to announce a length longer than they are (others are
# refused at once). Meanwhile the server serves everyone else.
hostile_start=$SECONDS
exec 5<>"/dev/tcp/127.0.0.1/$P"
head -c 512 /dev/urandom >&5 2>/dev/null
exec 6<>"/dev/tcp/127.0.0.1/$P"
printf '\xff\xff%0100d' 0 >&6 # a giant length
exec 7<>"/dev/tcp/127.0.0.1/$P"
printf '\x00\x20x\x00' >&7 # half a request, then silence
exec 8<>"/dev/tcp/127.0.0.1/$P"
printf '\x00\x0fx\x13\x88M\x00\x00\x06\x00\x06\xff\xffab\x00\x00' >&8 # Nlen lies
exec 9<>"/dev/tcp/127.0.0.1/$P"
printf '\x00\x00' >&9 # zero length
check "a giant length gets the client closed" closed_by_peer 6
check "a lying ALIVE2 gets the client closed" closed_by_peer 8
check "a zero length gets the client closed" closed_by_peer 9
check "nodus epmd still serves NAMES" "$NODUS" names --port "$P"
HC=hc$SUFFIX
"$HELPER" register "$HC" 4321 "$P" >"$TMP/helper2.out" 2>&1 &
PIDS+=($!)
check "nodus epmd still takes registrations (half request still open)" \
  eventually 10 names_has "$P" "$HC" 4321
check "the half request is still open meanwhile ($((SECONDS - hostile_start)) s after it)" \
  still_open 7
check "nodus epmd process is alive" kill -0 "$NODUS_EPMD_PID"
check "random bytes get the client closed (at the idle timeout at the latest)" \
  closed_by_peer 5 25
check "half a request gets the client closed at the idle timeout" \
  closed_by_peer 7 25
exec 5>&- 6>&- 7>&- 8>&- 9>&-
log_has() { grep -qF -- "$1" "$TMP/nodus_epmd.log"; }
check "log: the giant length refused as too large" \
  log_has "closing client: bad request length: term too large"
check "log: the zero length refused as a protocol error" \
  log_has "closing client: bad request length: peer broke the protocol"
check "log: the lying ALIVE2 refused" \
  log_has "closing client: bad request (op 120): peer broke the protocol"
check "log: the half request timed out" \
  log_has "closing client: no complete request in time"
serves_names() { "$NODUS" names --port "$1" >/dev/null; }
check "nodus epmd still serves NAMES after them" serves_names "$P"

# ---- (d) no epmd -------------------------------------------------------------
P3=$(free_port)
"$NODUS" names --port "$P3" >/dev/null 2>"$TMP/noepmd.err"
rc=$?
check "nodus names with no epmd exits 1" test "$rc" = 1
check "... saying so on stderr" grep -q "no epmd answers" "$TMP/noepmd.err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

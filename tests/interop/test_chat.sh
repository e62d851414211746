#!/usr/bin/env bash
# The chat example (examples/chat.c) in a scripted conversation among two
# C nodes (alice, moebi) and the lesson's Elixir chat (bob,
# tests/interop/chat.exs): messages C -> Elixir, Elixir -> C, C -> C, and
# moebi's "chicken?" answer to a C and to an Elixir sender.
# Usage: bash test_chat.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
CHAT=$BUILD_DIR/bin/chat
FIXTURE=$(cd "$(dirname "$0")" && pwd)/chat.exs

need elixir

# chat_start ID CMD...: stdin on a FIFO we hold open (fd in FD_ID).
chat_start() {
  local id=$1 fd
  shift
  mkfifo "$WORK/$id.in"
  "$@" <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
  PIDS+=($!)
  printf -v "PID_$id" %s $!
  exec {fd}>"$WORK/$id.in"
  printf -v "FD_$id" %s "$fd"
  eventually 20 grep_file "$WORK/$id.err" '^ready '
}
say() { local v=FD_$1; echo "$2" >&"${!v}"; }
count() { grep -c -x -F "$2" "$WORK/$1.out" 2>/dev/null; }

chat_start alice "$CHAT" "alice@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" ||
  { ko "C chat alice starts"; finish; }
chat_start moebi "$CHAT" "moebi@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" ||
  { ko "C chat moebi starts"; finish; }
chat_start bob elixir --sname bob --cookie "$COOKIE" "$FIXTURE" ||
  { ko "Elixir chat bob starts"; cat "$WORK/bob.err"; finish; }

say alice "send bob@$HOST hello bob, from C"
check_file "C -> Elixir: bob prints it" "$WORK/bob.out" '^hello bob, from C$' 15
check_file "the C sender's Task.await returned" "$WORK/alice.err" "^sent bob@$HOST$"

say bob "send alice@$HOST hi alice, from Elixir"
check_file "Elixir -> C: alice prints it" "$WORK/alice.out" '^hi alice, from Elixir$' 15
check_file "the Elixir sender's Task.await returned" "$WORK/bob.err" "^sent alice@$HOST$"

say alice "send moebi hey moebi"
check_file "C -> C: moebi prints it" "$WORK/moebi.out" '^hey moebi$' 15
check_file "moebi answers the C sender: chicken?" "$WORK/alice.out" '^chicken\?$' 15
check_file "alice's send to moebi returned" "$WORK/alice.err" "^sent moebi@$HOST$"

say bob "send moebi@$HOST yo moebi, Elixir here"
check_file "Elixir -> C moebi: moebi prints it" "$WORK/moebi.out" '^yo moebi, Elixir here$' 15
check_file "moebi answers the Elixir sender: chicken?" "$WORK/bob.out" '^chicken\?$' 15
check_file "bob's send to moebi returned" "$WORK/bob.err" "^sent moebi@$HOST$"

say moebi "send alice from moebi to alice"
check_file "moebi -> alice: a plain message, no chicken" "$WORK/alice.out" '^from moebi to alice$' 15
say moebi "send bob@$HOST from moebi to bob"
check_file "moebi -> bob" "$WORK/bob.out" '^from moebi to bob$' 15

say alice "send nobody@$HOST anyone?"
check_file "a send to a node that is not there fails" "$WORK/alice.err" "^error nobody@$HOST NODUS_ENOCONN" 15

check "alice got exactly one chicken?" [ "$(count alice 'chicken?')" = 1 ]
check "bob got exactly one chicken?" [ "$(count bob 'chicken?')" = 1 ]
check "moebi got no chicken?" [ "$(count moebi 'chicken?')" = 0 ]

# The C nodes end on end of input, cleanly. Each node inherited the FIFO
# ends opened before it started, so the last started goes first.
kill_now "$PID_bob"
for id in moebi alice; do
  fdv=FD_$id
  pidv=PID_$id
  eval "exec ${!fdv}>&-"
  if eventually 20 not_running "${!pidv}"; then
    wait "${!pidv}"
    rc=$?
    if [ $rc -eq 0 ] && ! grep -q Sanitizer "$WORK/$id.err"; then
      ok "$id exits cleanly on end of input"
    else
      ko "$id exits cleanly: rc $rc"
      grep -A 20 Sanitizer "$WORK/$id.err" | head -40 | sed 's/^/    /'
    fi
  else
    ko "$id exits on end of input"
  fi
done
finish

#!/usr/bin/env bash
# The command line against real nodes: `nodus rpc` and `nodus call` on a
# BEAM node and on a C node (otp_node), with their results in Erlang
# syntax and exit 1 on badrpc or a failed call; `nodus ping` and
# `nodus names` on the same cluster. Failures are checked for their exit
# code and what they say on stderr; the C node must exit 0 with nothing
# from the sanitizers.
source "$(dirname "$0")/dist_lib.sh" "$1"
NODUS=$BUILD_DIR/bin/nodus
OTP_NODE=$BUILD_DIR/bin/otp_node
ERL=clierl$$
CN=clic$$

# A BEAM node with a registered process that answers gen_server calls.
erl -sname "$ERL" -setcookie "$COOKIE" -noshell -eval '
  Loop = fun L() -> receive {'"'"'$gen_call'"'"', From, Req} ->
                       gen:reply(From, {pong, Req}), L() end end,
  register(demo, spawn(Loop)), io:format("ready~n").' >"$WORK/erl.out" 2>&1 &
PIDS+=($!)
eventually 15 grep_file "$WORK/erl.out" '^ready' || ko "erl node started"

# A C node with gen_servers and rpc functions; finish checks its exit.
DIST_NODE=$OTP_NODE
cnode_start c "$CN" || ko "C node starts"
eventually 10 sh -c "epmd -port $EPMD_PORT -names | grep -q 'name $CN '" \
  || ko "C node registered"

run() { "$NODUS" "$@" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --timeout 5000; }
# expect DESC WANT_EXIT WANT_OUTPUT_REGEX [WANT_STDERR_REGEX] -- ARGS...
expect() {
  local what=$1 want_rc=$2 want=$3 want_err=
  shift 3
  [ "$1" != -- ] && { want_err=$1; shift; }
  shift
  local out rc
  out=$(run "$@" 2>"$WORK/cli.err")
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -Eq "$want" &&
     { [ -z "$want_err" ] || grep -Eq "$want_err" "$WORK/cli.err"; }; then
    ok "$what"
  else
    ko "$what (exit $rc, output: $out $(cat "$WORK/cli.err"))"
  fi
}

expect "rpc BEAM erlang:node()" 0 "^$ERL@$HOST\$" -- rpc "$ERL@$HOST" erlang node '[]'
expect "rpc BEAM lists:reverse" 0 '^\[3,2,1\]$' -- rpc "$ERL@$HOST" lists reverse '[[1,2,3]]'
expect "rpc BEAM prints a map and a string" 0 '^#\{a => "xy"\}$' -- rpc "$ERL@$HOST" maps from_list '[[{a, "xy"}]]'
expect "rpc BEAM undef is badrpc, exit 1" 1 "^\{badrpc,\{'EXIT',\{undef,\[\{no_such_mod,f,\[\]," \
  -- rpc "$ERL@$HOST" no_such_mod f '[]'
expect "rpc C nodus_test:add" 0 '^5$' -- rpc "$CN@$HOST" nodus_test add '[2, 3]'
expect "rpc C unknown function is badrpc" 1 "^\{badrpc,\{'EXIT',\{undef,\[\{nodus_test,nope,\[\]," \
  -- rpc "$CN@$HOST" nodus_test nope '[]'
expect "rpc C nodus:registered lists echo" 0 'echo' -- rpc "$CN@$HOST" nodus registered '[]'
expect "call BEAM demo" 0 '^\{pong,hello\}$' -- call "$ERL@$HOST" demo hello
expect "call C echo" 0 '^\{echo,\{1,<<"two">>\}\}$' -- call "$CN@$HOST" echo '{1, <<"two">>}'
expect "call of no such process fails: noproc" 1 '^$' '^nodus call: noproc' \
  -- call "$ERL@$HOST" nobody x
expect "call to a node that is down fails: nodedown" 1 '^$' '^nodus call: nodedown' \
  -- call "nosuchnode@$HOST" demo x
expect "ping BEAM" 0 '^pong$' -- ping "$ERL@$HOST"
expect "ping C" 0 '^pong$' -- ping "$CN@$HOST"
# pang says why: a rejected cookie is not a dead node
for target in "$ERL@$HOST" "$CN@$HOST"; do
  out=$("$NODUS" ping "$target" --cookie "wrong$COOKIE" --epmd-port "$EPMD_PORT" \
        --timeout 5000 2>"$WORK/ping.err")
  rc=$?
  if [ "$rc" -eq 1 ] && [ "$out" = pang ] && grep -q "rejected our cookie (NODUS_EAUTH)" "$WORK/ping.err"; then
    ok "ping $target with a wrong cookie: pang, NODUS_EAUTH"
  else
    ko "ping $target with a wrong cookie: exit $rc, '$out', $(cat "$WORK/ping.err")"
  fi
done
out=$("$NODUS" ping "nosuch$$@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
      --timeout 3000 2>"$WORK/ping.err")
rc=$?
if [ "$rc" -eq 1 ] && [ "$out" = pang ] && grep -q "NODUS_ENOCONN" "$WORK/ping.err"; then
  ok "ping of a node that is not there: pang, NODUS_ENOCONN"
else
  ko "ping of a node that is not there: exit $rc, '$out', $(cat "$WORK/ping.err")"
fi
out=$("$NODUS" rpc "$ERL@$HOST" erlang node '[]' --cookie "wrong$COOKIE" \
      --epmd-port "$EPMD_PORT" --timeout 3000 2>"$WORK/rpc.err")
rc=$?
if [ "$rc" -eq 1 ] && [ "$out" = "{badrpc,nodedown}" ] && grep -q "wrong cookie" "$WORK/rpc.err"; then
  ok "a wrong cookie fails (exit 1, badrpc nodedown, the log says wrong cookie)"
else
  ko "a wrong cookie fails: exit $rc, '$out', $(cat "$WORK/rpc.err")"
fi
out=$("$NODUS" rpc "$ERL@$HOST" erlang node 'not a list' --cookie "$COOKIE" 2>"$WORK/rpc.err")
rc=$?
if [ "$rc" -eq 2 ] && [ -z "$out" ] &&
   grep -q "^nodus rpc: cannot parse 'not a list' at byte 0: syntax error" "$WORK/rpc.err"; then
  ok "bad ARGS is a usage error (exit 2) saying what does not parse"
else
  ko "bad ARGS: exit $rc, '$out', $(cat "$WORK/rpc.err")"
fi
"$NODUS" names --port "$EPMD_PORT" | grep -q "name $CN at port" \
  && ok "names lists the C node" || ko "names lists the C node"
"$NODUS" rpc --help | grep -q "usage: nodus rpc" && ok "rpc --help" || ko "rpc --help"

finish

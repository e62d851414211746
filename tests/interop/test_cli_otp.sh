#!/usr/bin/env bash
# The command line against real nodes: `nodus rpc` and `nodus call` on a
# BEAM node and on a C node (otp_node), with their results in Erlang
# syntax and exit 1 on badrpc or a failed call; `nodus ping` and
# `nodus names` on the same cluster.
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

# A C node with gen_servers and rpc functions.
mkfifo "$WORK/c.in"
"$OTP_NODE" --name "$CN@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  <"$WORK/c.in" >"$WORK/c.out" 2>"$WORK/c.err" &
PIDS+=($!)
exec {CFD}>"$WORK/c.in"
eventually 10 sh -c "epmd -port $EPMD_PORT -names | grep -q 'name $CN '" \
  || ko "C node registered"

run() { "$NODUS" "$@" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --timeout 5000; }
# expect DESC WANT_EXIT WANT_OUTPUT_REGEX -- ARGS...
expect() {
  local what=$1 want_rc=$2 want=$3
  shift 4
  local out rc
  out=$(run "$@" 2>"$WORK/cli.err")
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -Eq "$want"; then
    ok "$what"
  else
    ko "$what (exit $rc, output: $out $(cat "$WORK/cli.err"))"
  fi
}

expect "rpc BEAM erlang:node()" 0 "^$ERL@$HOST\$" -- rpc "$ERL@$HOST" erlang node '[]'
expect "rpc BEAM lists:reverse" 0 '^\[3,2,1\]$' -- rpc "$ERL@$HOST" lists reverse '[[1,2,3]]'
expect "rpc BEAM prints a map and a string" 0 '^#\{a => "xy"\}$' -- rpc "$ERL@$HOST" maps from_list '[[{a, "xy"}]]'
expect "rpc BEAM undef is badrpc, exit 1" 1 'badrpc' -- rpc "$ERL@$HOST" no_such_mod f '[]'
expect "rpc C nodus_test:add" 0 '^5$' -- rpc "$CN@$HOST" nodus_test add '[2, 3]'
expect "rpc C unknown function is badrpc" 1 'badrpc.*undef' -- rpc "$CN@$HOST" nodus_test nope '[]'
expect "rpc C nodus:registered lists echo" 0 'echo' -- rpc "$CN@$HOST" nodus registered '[]'
expect "call BEAM demo" 0 '^\{pong,hello\}$' -- call "$ERL@$HOST" demo hello
expect "call C echo" 0 '^\{echo,\{1,<<"two">>\}\}$' -- call "$CN@$HOST" echo '{1, <<"two">>}'
expect "call of no such process fails" 1 '' -- call "$ERL@$HOST" nobody x
expect "call to a node that is down fails" 1 '' -- call "nosuchnode@$HOST" demo x
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
      --epmd-port "$EPMD_PORT" --timeout 3000 2>&1)
[ $? -eq 1 ] && ok "a wrong cookie fails (exit 1)" || ko "a wrong cookie fails: $out"
out=$("$NODUS" rpc "$ERL@$HOST" erlang node 'not a list' --cookie "$COOKIE" 2>&1)
rc=$?
[ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qi "syntax\|list" \
  && ok "bad ARGS is a usage error with a message" || ko "bad ARGS: exit $rc: $out"
"$NODUS" names --port "$EPMD_PORT" | grep -q "name $CN at port" \
  && ok "names lists the C node" || ko "names lists the C node"
"$NODUS" rpc --help | grep -q "usage: nodus rpc" && ok "rpc --help" || ko "rpc --help"

echo quit >&"$CFD"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

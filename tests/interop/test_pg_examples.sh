#!/usr/bin/env bash
# The pg examples, end to end:
#   user_cache: writes made on two nodes before they meet are merged on
#   nodeup; a write on node 1 is seen on node 2 and back; both end equal.
#   echo_node --join SCOPE:GROUP: BEAM's pg:get_members finds the echo
#   process, and it answers there.
# Usage: bash test_pg_examples.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/user_cache
[ -x "$DIST_NODE" ] || { ko "no $DIST_NODE"; finish; }
# user_cache prints events as they happen; answers are the other lines.
C_EVENTS="^(update|merged|nodeup|nodedown) "
U1=uc1_$$ U2=uc2_$$
cnode_start u1 "$U1" || { ko "user_cache 1 starts"; finish; }
cnode_start u2 "$U2" || { ko "user_cache 2 starts"; finish; }

# Written apart, then merged when they meet (what a healed partition does).
c_check u1 "put on node 1 alone" "put 1 alice" '^ok$'
c_check u2 "put on node 2 alone" "put 2 bob" '^ok$'
c_check u2 "node 2 writes id 1 too, later" "put 1 alicia" '^ok$'
c_check u1 "connect" "connect $U2@$HOST" '^ok$'
check_file "node 1 merges node 2's cache on nodeup" "$WORK/u1.out" "^merged 2 from $U2@"
check_file "node 2 merges node 1's cache on nodeup" "$WORK/u2.out" "^merged 0 from $U1@"
# Live replication through the pg group.
c_check u1 "put on node 1" "put 3 carol" '^ok$'
check_file "node 2 gets node 1's write" "$WORK/u2.out" "^update 3 carol from $U1@"
c_check u2 "put on node 2" "put 4 dave" '^ok$'
check_file "node 1 gets node 2's write" "$WORK/u1.out" "^update 4 dave from $U2@"
c_check u2 "node 2 reads node 1's write" "get 3" '^3 carol$'
WANT='^dump 4 1=alicia,2=bob,3=carol,4=dave$'
c_check u1 "node 1 converged" "dump" "$WANT"
c_check u2 "node 2 converged" "dump" "$WANT"

# echo_node --join, seen from BEAM.
DIST_NODE=$BUILD_DIR/bin/echo_node
E=echo_$$
"$DIST_NODE" --name "$E@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  --join demo:echoers --join demo:all >"$WORK/echo.out" 2>&1 &
PIDS+=($!)
eventually 10 grep_file "$WORK/echo.out" 'ready' || ko "echo_node starts"
export ENODE=$E@$HOST
erl_start e "erl_$$" "$ERL_PRELUDE"'
E = list_to_atom(os:getenv("ENODE")),
{ok, _} = pg:start(demo),
T("ping echo_node", net_adm:ping(E) =:= pong),
Until = erlang:monotonic_time(millisecond) + 5000,
Wait = fun W() -> case pg:get_members(demo, echoers) of
  [P] -> P; [] -> case erlang:monotonic_time(millisecond) > Until of true -> none; false -> timer:sleep(10), W() end end end,
P = Wait(),
T("pg:get_members(demo, echoers) finds the echo process", is_pid(P) andalso node(P) =:= E),
T("it is in demo:all too", pg:get_members(demo, all) =:= [P]),
P ! {self(), hello},
T("the member answers", Recv(5000) =:= {echo, hello}),
io:format("DONE~n"), halt().'
erl_wait e 30
erl_results e
finish

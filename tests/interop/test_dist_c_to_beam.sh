#!/usr/bin/env bash
# C -> BEAM: a dist_node drives a real erl node, which runs a small
# service registered as `sink`.
#   connect (ping, nodes() on both sides), send to a registered Erlang
#   process and get terms back unchanged (and judged by BEAM against the
#   same terms built in Erlang); monitor and link Erlang pids and
#   get DOWN/EXIT when they die (exit/2 and unlink too); an Erlang link
#   kills a C process and a C exit reaches Erlang links and monitors;
#   nodedown, DOWN and EXIT noconnection when the BEAM node is killed.
# Usage: bash test_dist_c_to_beam.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

ENAME=ecb$$
E="'$ENAME@$HOST'"
SINK="{sink,$E}"

# The Erlang side: requests to `sink` from the C node.
SERVICE=$(cat <<'EOF'
register(sink, self()),
io:format("READY~n"),
Watch = fun(From, Pid) ->
    process_flag(trap_exit, true),
    link(Pid),
    monitor(process, Pid),
    From ! {watching, Pid},
    (fun Fwd() -> receive M -> From ! {watch_event, M}, Fwd() end end)()
  end,
(fun Loop() ->
  receive
    {From, echo, X} -> From ! {echo, X};
    {From, judge, X} -> % X is C's Terms (below), Want the same built here
      Want = {0, -1, 2147483648, -9223372036854775808, 18446744073709551616,
              -123456789012345678901234567890, 1.5, -0.25, 1.0e300, ok, '',
              'with space', list_to_atom([252, 110, 239]),
              list_to_atom([26085, 26412, 35486]), <<>>, <<1,2,3>>, <<5:3>>,
              <<1,2,3:4>>, {}, {a, {b}}, [], [1,2,3], "str", [a|b], [1,2|3],
              #{}, #{a => 1, {k} => [v], <<"b">> => #{}}, From},
      Diff = fun() when is_tuple(X), tuple_size(X) =:= tuple_size(Want) ->
                   [{I, element(I, X), element(I, Want)} || I <- lists:seq(1, tuple_size(Want)),
                                                            element(I, X) =/= element(I, Want)];
                ()  -> X end,
      From ! {judged, X =:= Want orelse Diff()};
    {From, spawn_target} ->
      T = spawn(fun() -> receive {die, R} -> exit(R) end end),
      From ! {target, T};
    {From, watch, Pid} -> spawn(fun() -> Watch(From, Pid) end);
    {From, link_and_die, Pid} -> spawn(fun() -> link(Pid), exit(crash) end);
    {From, nodes} -> From ! {nodes, nodes(), nodes(hidden)};
    Other -> io:format("UNEXPECTED ~p~n", [Other])
  end,
  Loop()
end)().
EOF
)
erl_start e "$ENAME" "$SERVICE"
eventually 20 grep_file "$WORK/e.out" '^READY' && eventually 10 erl_registered "$ENAME" ||
  ko "erl node starts"
cnode_start c "cc$$" || { ko "dist_node starts"; finish; }

c_check c "ping the BEAM node: pong" "ping $ENAME@$HOST" "^pong "
c_check c "BEAM node in our nodes()" "nodes" "$ENAME@$HOST"
c_run c "send $SINK {Self, nodes}"
c_check c "we are in the BEAM node's nodes(), not nodes(hidden)" \
  "expect 5000 {nodes, _, []}" "^got \{nodes,\[.*cc$$@$HOST.*\],\[\]\}"

# Terms built in C reach Erlang and come back unchanged.
c_run c "set Terms {0, -1, 2147483648, -9223372036854775808, 18446744073709551616, -123456789012345678901234567890, 1.5, -0.25, 1.0e300, ok, '', 'with space', 'ünï', '日本語', <<>>, <<1,2,3>>, <<5:3>>, <<1,2,3:4>>, {}, {a, {b}}, [], [1,2,3], \"str\", [a|b], [1,2|3], #{}, #{a => 1, {k} => [v], <<\"b\">> => #{}}, Self}"
c_run c "send $SINK {Self, echo, Terms}"
c_check c "terms of every kind go to Erlang and back unchanged" "expect 5000 {echo, Terms}" '^got \{echo,'
# The echo passes even when our encoder and decoder share a bug (e.g. both
# swap a float's halves, tests/mutation M3): BEAM judges what it got.
c_run c "send $SINK {Self, judge, Terms}"
c_check c "BEAM finds the terms C built equal to the same terms built in Erlang" \
  "expect 5000 {judged, _}" '^got \{judged,true\}$'
c_run c "monitor Ref Self"
c_run c "send $SINK {Self, echo, Ref}"
c_check c "a reference goes to Erlang and back" "expect 5000 {echo, Ref}" '^got \{echo,#Ref'

# Monitor and link an Erlang pid; it dies.
c_run c "send $SINK {Self, spawn_target}"
c_run c "expect 5000 {target, T1}"
c_run c "monitor R1 T1"
c_run c "link T1"
c_run c "send T1 {die, boom}"
c_check c "monitor on an Erlang pid: DOWN with its reason" "expect 5000 {'DOWN', R1, process, T1, boom}" '^got '
c_check c "link to an Erlang pid: EXIT with its reason" "expect 5000 {'EXIT', T1, boom}" '^got '

c_run c "send $SINK {Self, spawn_target}"
c_run c "expect 5000 {target, T2}"
c_run c "monitor R2 T2"
c_run c "exit T2 kill"
c_check c "exit(ErlPid, kill) from C: DOWN killed" "expect 5000 {'DOWN', R2, process, T2, killed}" '^got '

c_run c "send $SINK {Self, spawn_target}"
c_run c "expect 5000 {target, T3}"
c_run c "link T3"
c_run c "unlink T3"
c_run c "monitor R3 T3"
c_run c "send T3 {die, quietly}"
c_check c "unlink: the DOWN comes" "expect 5000 {'DOWN', R3, process, T3, quietly}" '^got '
c_check c "unlink: no EXIT" "expect 500 {'EXIT', T3, _}" '^timeout$'

c_run c "send $SINK {Self, spawn_target}"
c_run c "expect 5000 {target, T6}"
c_run c "monitor R6 T6"
c_run c "demonitor R6"
c_run c "monitor R6b T6"
c_run c "send T6 {die, watched_once}"
c_check c "demonitor: only the other monitor's DOWN comes" "expect 5000 {'DOWN', R6b, process, T6, watched_once}" '^got '
c_check c "demonitor: no DOWN for the removed monitor" "expect 500 {'DOWN', R6, _, _, _}" '^timeout$'

c_run c "monitor R4 {nobody, $E}"
c_check c "monitor of an unregistered Erlang name: DOWN noproc" \
  "expect 5000 {'DOWN', R4, process, {nobody, $E}, noproc}" '^got '

# C processes seen from Erlang.
c_run c "spawn_echo P1"
c_run c "send $SINK {Self, watch, P1}"
c_run c "expect 5000 {watching, P1}"
c_run c "send P1 {exit, bye}"
c_check c "a C exit reaches an Erlang link" "expect 5000 {watch_event, {'EXIT', P1, bye}}" '^got '
c_check c "a C exit reaches an Erlang monitor" "expect 5000 {watch_event, {'DOWN', _, process, P1, bye}}" '^got '
c_run c "spawn_echo P2"
c_run c "monitor RP2 P2"
c_run c "send $SINK {Self, link_and_die, P2}"
c_check c "an Erlang process linked to a C process kills it as it dies" \
  "expect 5000 {'DOWN', RP2, process, P2, crash}" '^got '

# The BEAM node dies.
c_run c "monitor RS {sink, $E}"
c_run c "send $SINK {Self, spawn_target}"
c_run c "expect 5000 {target, T5}"
c_run c "link T5"
c_run c "monitor R5 T5"
c_run c "monitor_node $E"
kill_now "$(erl_pid e)"
c_check c "nodedown when the BEAM node is killed" "expect 10000 {nodedown, $E}" '^got '
c_check c "name monitor: DOWN noconnection" "expect 5000 {'DOWN', RS, process, {sink, $E}, noconnection}" '^got '
c_check c "pid monitor: DOWN noconnection" "expect 5000 {'DOWN', R5, process, T5, noconnection}" '^got '
c_check c "link: EXIT noconnection" "expect 5000 {'EXIT', T5, noconnection}" '^got '
c_check c "nodes() is empty again" "nodes" '^nodes \[\]$'

# The BEAM node comes back under the same name: we reconnect to it.
erl_start e2 "$ENAME" "$SERVICE"
eventually 20 grep_file "$WORK/e2.out" '^READY' && eventually 10 erl_registered "$ENAME" ||
  ko "erl node restarts"
c_check c "ping the restarted BEAM node: pong" "ping $ENAME@$HOST" "^pong "
c_run c "send $SINK {Self, echo, again}"
c_check c "messages reach the restarted node" "expect 5000 {echo, again}" '^got '
if grep -q '^UNEXPECTED' "$WORK/e.out"; then ko "the Erlang service got only what it expects"; grep '^UNEXPECTED' "$WORK/e.out"; fi
finish

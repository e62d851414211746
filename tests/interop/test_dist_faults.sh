#!/usr/bin/env bash
# Faults between a real erl node and dist_nodes:
#   wrong cookie both ways (BEAM: pang; C: pang and a log line that says
#   so); a peer that stops talking (SIGSTOP) is dropped after net_ticktime
#   (4 s here) on both sides; SIGKILL of the C node gives BEAM's monitors
#   and links noconnection; a 16 MiB binary crosses both ways, ours in
#   fragments.
# Usage: bash test_dist_faults.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

ENAME=ef$$
E="'$ENAME@$HOST'"
SINK="{sink,$E}"
TICK_BOUND_MS=12000 # ticktime 4 s: dropped after 4-5 s; slack for a busy VM

# The Erlang side: `sink` answers the C nodes; `{watch, Node}` makes it
# report nodedown with the time since the request.
SERVICE=$(cat <<'EOF'
register(sink, self()),
io:format("READY~n"),
InCount = fun(N) -> proplists:get_value(in, element(2, net_kernel:node_info(N))) end,
(fun Loop() ->
  receive
    {From, make_big, N} -> B = rand:bytes(N), From ! {big, B, erlang:crc32(B)};
    {From, make_bigs, K, N} -> % K senders at once: their fragments interleave
      [spawn(fun() -> B = rand:bytes(N), From ! {bigs, I, B, erlang:crc32(B)} end)
       || I <- lists:seq(1, K)];
    {big, From, B} -> From ! {big_crc, byte_size(B), erlang:crc32(B)};
    {From, echo, X} -> From ! {echo, X};
    {From, in_count} -> From ! {in_count, InCount(node(From))};
    {From, watch_node} ->
      N = node(From), Me = self(),
      spawn(fun() ->
        monitor_node(N, true), T0 = erlang:monotonic_time(millisecond),
        Me ! {watching, N},
        receive {nodedown, N} ->
          io:format("NODEDOWN ~p after ~p ms~n", [N, erlang:monotonic_time(millisecond) - T0])
        end end),
      receive {watching, N} -> From ! {watching, node()} end;
    Other -> io:format("UNEXPECTED ~P~n", [Other, 20])
  end,
  Loop()
end)().
EOF
)
erl_start e "$ENAME" "$SERVICE" -kernel net_ticktime 4
eventually 20 grep_file "$WORK/e.out" '^READY' && eventually 10 erl_registered "$ENAME" ||
  ko "erl node starts"

# ---- wrong cookie ------------------------------------------------------------
cnode_start w "cw$$" --cookie not-the-cookie || ko "dist_node w starts"
c_check w "C with a wrong cookie: ping gives pang, NODUS_EAUTH" "ping $ENAME@$HOST 5000" '^pang .* NODUS_EAUTH$'
check_file "C with a wrong cookie: the C log says the cookie is wrong" "$WORK/w.err" \
  "cannot connect to $ENAME@$HOST: .*(cookie)"
check_file "C with a wrong cookie: BEAM logs a refused connection" "$WORK/e.out" \
  "cw$$@$HOST.*rejected|rejected.*cw$$@$HOST|Invalid challenge reply"
COOKIE_SCRIPT="$ERL_PRELUDE"'
T("BEAM with a wrong cookie: ping gives pang", net_adm:ping(list_to_atom(os:getenv("CNODE"))) =:= pang),
T("BEAM with a wrong cookie: no connection", nodes() =:= []),
io:format("DONE~n"), halt().'
CNODE="cw$$@$HOST" erl_start k "ek$$" "$COOKIE_SCRIPT" -setcookie other-cookie
erl_wait k 30
erl_results k
check_file "BEAM with a wrong cookie: the C log says the cookie is wrong" "$WORK/w.err" \
  "ek$$@$HOST.*(refused|rejected).*cookie"
c_check w "the C node still works after refusing" "nodes" '^nodes \[\]$'
cnode_quit w
cnode_forget w

# ---- 16 MiB both ways ---------------------------------------------------------
cnode_start c "cf$$" --ticktime-ms 4000 || { ko "dist_node c starts"; finish; }
c_check c "connect to BEAM" "ping $ENAME@$HOST" '^pong '
c_run c "bigbin Big 16777216"
c_run c "crc Crc Big"
c_run c "send $SINK {Self, in_count}"
c_run c "expect 5000 {in_count, In0}"
in0=$(sed -E 's/.*,([0-9]+)\}$/\1/' <<<"$C_LAST")
c_run c "send $SINK {big, Self, Big}"
c_check c "16 MiB C -> BEAM arrive intact (BEAM's crc32)" "expect 20000 {big_crc, 16777216, Crc}" '^got ' 25
c_run c "send $SINK {Self, in_count}"
c_run c "expect 5000 {in_count, In1}"
in1=$(sed -E 's/.*,([0-9]+)\}$/\1/' <<<"$C_LAST")
if [ -n "$in0" ] && [ -n "$in1" ] && [ $((in1 - in0)) -ge 256 ]; then
  ok "16 MiB C -> BEAM went as fragments ($((in1 - in0)) frames)"
else
  ko "16 MiB C -> BEAM went as fragments (frames: '$in0' -> '$in1')"
fi
c_run c "send $SINK {Self, make_big, 16777216}"
c_run c "expect 20000 {big, Big2, Crc2}" 25
c_check c "16 MiB BEAM -> C arrive intact (our crc32)" "crc Crc2 Big2" '^crc [0-9]+$'
c_run c "send $SINK {Self, make_bigs, 4, 4194304}"
for i in 1 2 3 4; do
  c_run c "expect 20000 {bigs, $i, B$i, C$i}" 25
  c_check c "4 MiB from concurrent sender $i of 4 arrives intact" "crc C$i B$i" '^crc [0-9]+$'
done
c_run c "send $SINK {Self, echo, Big}"
c_check c "16 MiB round trip C -> BEAM -> C" "expect 20000 {echo, Big}" '^got ' 25

# ---- SIGSTOP: dropped after net_ticktime --------------------------------------
# The C node stops talking; BEAM (ticktime 4) must drop it.
c_run c "send $SINK {Self, watch_node}"
c_run c "expect 5000 {watching, _}"
kill -STOP "$(cnode_pid c)"
check_file "BEAM drops a stopped C node (nodedown)" "$WORK/e.out" "^NODEDOWN '?cf$$@$HOST'? after" 20
ms=$(sed -nE "s/^NODEDOWN '?cf$$@$HOST'? after ([0-9]+) ms/\1/p" "$WORK/e.out")
if [ -n "$ms" ] && [ "$ms" -le "$TICK_BOUND_MS" ]; then ok "... within ${TICK_BOUND_MS} ms ($ms ms)"
else ko "... within ${TICK_BOUND_MS} ms (took '${ms}' ms)"; fi
kill -CONT "$(cnode_pid c)"
if eventually 15 c_do c nodes '^nodes \[\]$'; then ok "the C node, woken up, sees the connection gone"
else ko "the C node, woken up, sees the connection gone (nodes: '$C_LAST')"; fi

# BEAM stops talking; the C node (ticktime 4 s) must drop it.
c_check c "reconnect to BEAM" "ping $ENAME@$HOST" '^pong '
c_run c "monitor_node $E"
kill -STOP "$(erl_pid e)"
t0=$(date +%s%N)
c_check c "the C node drops a stopped BEAM node (nodedown)" "expect 20000 {nodedown, $E}" '^got ' 25
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -le "$TICK_BOUND_MS" ]; then ok "... within ${TICK_BOUND_MS} ms ($ms ms)"
else ko "... within ${TICK_BOUND_MS} ms (took $ms ms)"; fi
kill -CONT "$(erl_pid e)"

# ---- SIGKILL of the C node: noconnection ------------------------------------
cnode_start k "ck$$" || { ko "dist_node k starts"; finish; }
KILL_SCRIPT=$ERL_PRELUDE$(cat <<'EOF'
C = list_to_atom(os:getenv("CNODE")),
pong = net_adm:ping(C),
process_flag(trap_exit, true),
R = erlang:spawn_request(C, nodus_test, echo_proc, [], [monitor, link]),
P = receive {spawn_reply, R, ok, P_} -> P_ after 5000 -> timeout end,
MN = monitor(process, {echo, C}),
monitor_node(C, true),
io:format("WATCHING~n"),
Got = [Recv(10000) || _ <- [1, 2, 3, 4]],
T("SIGKILL: pid monitor DOWN noconnection", lists:member({'DOWN', R, process, P, noconnection}, Got) orelse Got),
T("SIGKILL: name monitor DOWN noconnection", lists:member({'DOWN', MN, process, {echo, C}, noconnection}, Got) orelse Got),
T("SIGKILL: link EXIT noconnection", lists:member({'EXIT', P, noconnection}, Got) orelse Got),
T("SIGKILL: nodedown", lists:member({nodedown, C}, Got) orelse Got),
T("SIGKILL: the node is gone from nodes()", not lists:member(C, nodes())),
io:format("DONE~n"), halt().
EOF
)
CNODE="ck$$@$HOST" erl_start s "es$$" "$KILL_SCRIPT"
if eventually 20 grep_file "$WORK/s.out" '^WATCHING'; then
  kill_now "$(cnode_pid k)"
  cnode_forget k
else
  ko "erl watches the C node"
fi
erl_wait s 30
erl_results s
if grep -q '^UNEXPECTED' "$WORK/e.out"; then ko "the Erlang service got only what it expects"; grep '^UNEXPECTED' "$WORK/e.out"; fi
finish

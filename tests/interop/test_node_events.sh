#!/usr/bin/env bash
# Node events against BEAM: a C node (echo_node, which prints what its
# nodus_node_events subscription reports) and an erl watcher running
# net_kernel:monitor_nodes(true, [nodedown_reason]) see the same peers come
# and go, with the same reasons: a paused erl node (SIGSTOP) is
# net_tick_timeout for both, an erl node that halts is connection_closed.
# Usage: bash test_node_events.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

E=ev$$; W=w$$; V=v$$; X=x$$
export C_E="$E@$HOST"
TICK=(-kernel net_ticktime 2)
# The erl nodes first: started later, they would hold echo's fds open.
erl_start w "$W" "$ERL_PRELUDE"'
ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
L = fun L() -> receive M -> io:format("EV ~p~n", [M]), L() end end,
io:format("READY~n"), L().' "${TICK[@]}"
eventually 10 grep_file "$WORK/w.out" '^READY' || ko "watcher erl starts"
"$BUILD_DIR/bin/echo_node" --name "$C_E" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  --ticktime 2 >"$WORK/e.out" 2>"$WORK/e.err" &
EPID=$!
PIDS+=($EPID)
eventually 10 grep_file "$WORK/e.out" 'ready on port' || ko "echo_node starts"

# join NAME ID: an erl node that connects to echo and the watcher, then idles
# (halt on "halt." in its input).
join() {
  local fifo=$WORK/$2.in
  mkfifo "$fifo"
  erl -sname "$1" -setcookie "$COOKIE" -noshell "${TICK[@]}" -eval '
    pong = net_adm:ping(list_to_atom(os:getenv("C_E"))),
    pong = net_adm:ping(list_to_atom(os:getenv("C_W"))),
    io:format("JOINED~n"),
    {ok, T} = io:read(""), erlang:T().' <"$fifo" >"$WORK/$2.out" 2>&1 &
  PIDS+=($!)
  printf -v "JPID_$2" %s $!
  exec {fd}>"$fifo"
  printf -v "JFD_$2" %s "$fd"
  eventually 15 grep_file "$WORK/$2.out" '^JOINED' || ko "$1 joins"
}
export C_W="$W@$HOST"
join "$V" v
check_file "C sees nodeup of $V" "$WORK/e.out" "^#nodeup $V@$HOST\$"
check_file "erl sees nodeup of $V" "$WORK/w.out" "^EV \{nodeup,'?$V@$HOST'?,\[\]\}"

kill -STOP "$JPID_v"
check_file "C: $V paused is net_tick_timeout" "$WORK/e.out" "^#nodedown $V@$HOST net_tick_timeout\$" 20
check_file "erl: $V paused is net_tick_timeout" "$WORK/w.out" \
  "^EV \{nodedown,'?$V@$HOST'?,\[\{nodedown_reason,net_tick_timeout\}\]\}" 20
kill -CONT "$JPID_v"

join "$X" x
check_file "C sees nodeup of $X" "$WORK/e.out" "^#nodeup $X@$HOST\$"
echo "halt." >&"$JFD_x"
check_file "C: $X halted is connection_closed" "$WORK/e.out" "^#nodedown $X@$HOST connection_closed\$"
check_file "erl: $X halted is connection_closed" "$WORK/w.out" \
  "^EV \{nodedown,'?$X@$HOST'?,\[\{nodedown_reason,connection_closed\}\]\}"

stop_by_signal echo_node "$EPID" "$WORK/e.err"
finish

#!/usr/bin/env bash
# Every node a full node: a program that calls nothing but
# nodus_node_init/start, linked with the static library, and every
# example, answer what a BEAM node answers over rpc and erpc, judged by a
# real erl against its own answers to the same calls:
#   ping; rpc:call(C, nodus, nodes, []) lists the erl node;
#   erpc:call and rpc:call of no_such_module:f() fail exactly as on BEAM;
#   rpc:call(C, nodus, pg_get_members, [Scope, Group]) gives the members
#   erl's own pg sees (a C member and an erl one), which_groups too, and
#   a scope that does not run is badarg as pg:get_members/2 is on BEAM.
# Usage: bash test_full_node.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
BIN=$BUILD_DIR/bin

# node_start ID READY_FILE READY_REGEX BINARY ARGS...: a program with its
# stdin on a FIFO we hold open; ready when READY_FILE (out or err) matches.
# It ends on "quit" or end of input (finish checks its exit), or, for the
# ones in BY_SIGNAL, on SIGTERM.
BY_SIGNAL=(echo counter listener)
node_start() {
  local id=$1 ready=$2 regex=$3 bin=$4 fd
  shift 4
  mkfifo "$WORK/$id.in"
  "$bin" "$@" <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
  PIDS+=($!)
  printf -v "CPID_$id" %s $!
  exec {fd}>"$WORK/$id.in"
  printf -v "CFD_$id" %s "$fd"
  [[ " ${BY_SIGNAL[*]} " == *" $id "* ]] || CNODES+=("$id")
  eventually 10 grep_file "$WORK/$id.$ready" "$regex" ||
    { ko "$id starts"; cat "$WORK/$id.err" | sed 's/^/    /'; }
}

# A second erl node: what BEAM answers a remote erpc/rpc is the reference.
# Started first: it would hold the nodes' input FIFOs open otherwise.
erl_start ref "ref$$" 'receive stop -> ok end.'
eventually 10 erl_registered "ref$$" || ko "reference erl node starts"
export C_REF="ref$$@$HOST"
MIN=min$$; ECHO=echo$$; CACHE=cache$$; CHAT=chat$$; CNT=cnt$$; LIS=lis$$
node_start min out '^ready ' "$BIN/minimal_node" --name "$MIN@$HOST" \
  --cookie "$COOKIE" --epmd-port "$EPMD_PORT"
node_start echo out ' ready ' "$BIN/echo_node" --name "$ECHO@$HOST" \
  --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --join pg:g1
node_start cache out '^ready ' "$BIN/user_cache" --name "$CACHE@$HOST" \
  --cookie "$COOKIE" --epmd-port "$EPMD_PORT"
node_start chat err '^ready ' "$BIN/chat" "$CHAT@$HOST" --cookie "$COOKIE" \
  --epmd-port "$EPMD_PORT"
node_start counter out ' ready' "$BIN/counter" --name "$CNT@$HOST" \
  --cookie "$COOKIE" --epmd-port "$EPMD_PORT"
node_start listener out ' joined ' "$BIN/pg_listener" --name "$LIS@$HOST" \
  --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --scope pg --group listeners

export C_ALL="$MIN@$HOST $ECHO@$HOST $CACHE@$HOST $CHAT@$HOST $CNT@$HOST $LIS@$HOST"
export C_ECHO="$ECHO@$HOST" C_CACHE="$CACHE@$HOST" C_LIS="$LIS@$HOST"
erl_start e "e$$" "$ERL_PRELUDE"'
Cs = [list_to_atom(N) || N <- string:lexemes(os:getenv("C_ALL"), " ")],
Echo = list_to_atom(os:getenv("C_ECHO")),
Cache = list_to_atom(os:getenv("C_CACHE")),
%% What BEAM itself answers, to judge the C nodes by.
Caught = fun(F) -> try F() of V -> {value, V} catch C:R:S -> {C, R, S} end end,
Badrpc = fun({badrpc, {'EXIT', {R, [{M, F, A, _} | _]}}}) -> {R, {M, F, A}};
            (O) -> O end,
Ref = list_to_atom(os:getenv("C_REF")),
ExcTop = fun({error, {exception, R, [{M, F, A, _} | _]}, _}) -> {error, exception, R, {M, F, A}};
            (O) -> O end,
BeamErpc = ExcTop(Caught(fun() -> erpc:call(Ref, no_such_module, f, []) end)),
BeamRpc = Badrpc(rpc:call(Ref, no_such_module, f, [])),
T("BEAM raises {exception, undef, ...}", BeamErpc =:= {error, exception, undef, {no_such_module, f, []}}),
T("BEAM rpc gives badrpc undef", BeamRpc =:= {undef, {no_such_module, f, []}}),
lists:foreach(fun(C) ->
    N = atom_to_list(C),
    T(N ++ " pong", net_adm:ping(C) =:= pong),
    Nodes = rpc:call(C, nodus, nodes, []),
    T(N ++ " nodus:nodes() lists us", is_list(Nodes) andalso lists:member(node(), Nodes)),
    T(N ++ " erpc undef as BEAM", ExcTop(Caught(fun() -> erpc:call(C, no_such_module, f, []) end)) =:= BeamErpc),
    T(N ++ " rpc undef as BEAM", Badrpc(rpc:call(C, no_such_module, f, [])) =:= BeamRpc),
    T(N ++ " erpc ok", lists:member(node(), erpc:call(C, nodus, nodes, [])))
  end, Cs),
%% pg: our scope and group beside the C member.
{ok, _} = pg:start_link(pg),
ok = pg:join(pg, g1, self()),
WaitFor = fun W(F, 0) -> F(); W(F, K) -> case F() of true -> true; _ -> timer:sleep(50), W(F, K - 1) end end,
T("erl sees the C member of g1", WaitFor(fun() -> length(pg:get_members(pg, g1)) =:= 2 end, 200)),
Members = lists:sort(pg:get_members(pg, g1)),
CMembers = WaitFor(fun() -> lists:sort(rpc:call(Echo, nodus, pg_get_members, [pg, g1])) =:= Members end, 200),
T("nodus:pg_get_members(pg, g1) = erl pg:get_members", CMembers),
T("members are one C pid and ours", lists:member(self(), Members) andalso
   length([P || P <- Members, node(P) =:= Echo]) =:= 1),
T("nodus:pg_which_groups(pg) has g1", lists:member(g1, rpc:call(Echo, nodus, pg_which_groups, [pg]))),
T("an empty group is []", rpc:call(Echo, nodus, pg_get_members, [pg, no_group]) =:= pg:get_members(pg, no_group)),
T("no scope: get_members [] as BEAM", rpc:call(Echo, nodus, pg_get_members, [no_scope, g1]) =:= rpc:call(Ref, pg, get_members, [no_scope, g1])),
BeamNoScope = Badrpc(rpc:call(Ref, pg, which_groups, [no_scope])),
T("no scope: which_groups badarg on BEAM", element(1, BeamNoScope) =:= badarg),
T("no scope: which_groups badarg on C", element(1, Badrpc(rpc:call(Echo, nodus, pg_which_groups, [no_scope]))) =:= badarg),
%% pg_listener is the one member of listeners, in scope pg.
Lis = list_to_atom(os:getenv("C_LIS")),
T("pg_listener: erl sees its member", WaitFor(fun() -> length(pg:get_members(pg, listeners)) =:= 1 end, 200)),
T("pg_listener: nodus:pg_get_members = erl pg:get_members",
  rpc:call(Lis, nodus, pg_get_members, [pg, listeners]) =:= pg:get_members(pg, listeners)),
%% user_cache runs scope users, group caches.
CacheMembers = rpc:call(Cache, nodus, pg_get_members, [users, caches]),
T("user_cache: its own cache in users/caches", is_list(CacheMembers) andalso
   [P || P <- CacheMembers, node(P) =:= Cache] =/= []),
io:format("DONE~n"),
halt().'
erl_wait e 60
erl_results e
# These run until SIGTERM, as services do.
for id in "${BY_SIGNAL[@]}"; do
  stop_by_signal "$id" "$(cnode_pid "$id")" "$WORK/$id.err"
done
finish

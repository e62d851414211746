#!/usr/bin/env bash
# pg in a mixed cluster: 2 C nodes (pg_node) + 2 BEAM nodes, one scope.
#   joins and leaves on every node are visible on all four within 2 s;
#   monitor_scope notes cross both ways; 1,000 random join/leave/kill
#   operations on all nodes end with pg:get_members on the BEAM nodes and
#   nodus_pg_get_members on the C nodes equal to the model, group by
#   group; members of a killed C node and of a killed BEAM node disappear
#   everywhere. The BEAM node `d` drives it all with messages to each C
#   node's `agent` and rpc to the other BEAM node.
# Usage: bash test_pg_mixed.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/pg_node
[ -x "$DIST_NODE" ] || { ko "no $DIST_NODE"; finish; }

C1=pgc1_$$ C2=pgc2_$$ B1=pgb1_$$ D=pgd_$$
cnode_start c1 "$C1" --scope test_scope || { ko "pg_node c1 starts"; finish; }
cnode_start c2 "$C2" --scope test_scope || { ko "pg_node c2 starts"; finish; }
erl_start b1 "$B1" '{ok, _} = pg:start(test_scope), io:format("ready~n").'
eventually 15 grep_file "$WORK/b1.out" '^ready' || { ko "erl b1 starts"; finish; }

DRIVER=$ERL_PRELUDE$(cat <<'EOF'
Scope = test_scope,
Host = "@" ++ os:getenv("HOST"),
[C1, C2, B1] = [list_to_atom(os:getenv(V) ++ Host) || V <- ["C1", "C2", "B1"]],
Cs = [C1, C2],
{ok, _} = pg:start(Scope),
Now = fun() -> erlang:monotonic_time(millisecond) end,
Eventually = fun Ev(F, Until) ->
  case F() of true -> true;
    Other -> case Now() > Until of true -> Other; false -> timer:sleep(5), Ev(F, Until) end
  end end,
Call = fun(C, Cmd) -> Ref = make_ref(), {agent, C} ! {self(), Ref, Cmd},
  receive {Ref, R} -> R after 5000 -> {timeout, C, Cmd} end end,
IsC = fun(N) -> lists:member(N, Cs) end,
Do = fun(N, CCmd, M, F, A) -> case IsC(N) of true -> Call(N, CCmd); false -> rpc:call(N, M, F, A) end end,
Members = fun(N, G) -> Do(N, {get_members, G}, pg, get_members, [Scope, G]) end,
Groups = fun(N) -> Do(N, which_groups, pg, which_groups, [Scope]) end,
Join = fun(N, G, P) -> Do(N, {join, G, P}, pg, join, [Scope, G, P]) end,
Leave = fun(N, G, P) -> Do(N, {leave, G, P}, pg, leave, [Scope, G, P]) end,
Spawn = fun(N) -> case IsC(N) of true -> Call(N, spawn); false -> spawn(N, timer, sleep, [infinity]) end end,
Kill = fun(N, P) -> case IsC(N) of true -> Call(N, {kill, P}); false -> exit(P, kill), ok end end,

%% A full mesh: d pings everyone, b1 pings the C nodes, c1 connects to c2.
T("d reaches every node", [pong, pong, pong] =:= [net_adm:ping(N) || N <- [B1 | Cs]]),
T("b1 reaches the C nodes", [pong, pong] =:= rpc:call(B1, lists, map, [fun net_adm:ping/1, Cs])),
Call(C1, {connect, C2}),
T("c1 and c2 connect", Eventually(fun() -> lists:member(C2, Call(C1, nodes)) end, Now() + 5000)),
All = [node(), B1, C1, C2],
Same = fun(Nodes, G, Want) -> fun() ->
  Got = [{N, lists:sort(Members(N, G))} || N <- Nodes],
  case [X || {_, L} = X <- Got, L =/= lists:sort(Want)] of [] -> true; Bad -> {differ, G, Bad} end end end,

%% 1. Visibility bound, from every node; monitor_scope both ways.
{SRef, _} = pg:monitor_scope(Scope),
{CRef, _} = Call(C1, {monitor_scope}),
Worst = lists:foldl(fun(N, W) ->
    P = Spawn(N), G = {vis, N},
    T0 = Now(), ok = Join(N, G, P),
    T(io_lib:format("join on ~s visible on all 4", [N]), Eventually(Same(All, G, [P]), T0 + 2000)),
    T1 = Now(),
    ok = Leave(N, G, P),
    T(io_lib:format("leave on ~s visible on all 4", [N]), Eventually(Same(All, G, []), T1 + 2000)),
    T2 = Now(),
    T(io_lib:format("group {vis, ~s} is gone everywhere", [N]),
      lists:all(fun(X) -> not lists:member(G, Groups(X)) end, All)),
    Kill(N, P),
    max(W, max(T1 - T0, T2 - T1))
  end, 0, All),
io:format("worst visibility: ~b ms~n", [Worst]),
Notes = fun Notes(Acc) -> receive {SRef, A, G, Ps} -> Notes([{A, G, Ps} | Acc]) after 300 -> lists:reverse(Acc) end end,
Seen = Notes([]),
T("BEAM monitor_scope sees joins and leaves made on C nodes",
  [G || {join, {vis, N} = G, [_]} <- Seen, IsC(N)] =:= [{vis, C1}, {vis, C2}] andalso
  [G || {leave, {vis, N} = G, [_]} <- Seen, IsC(N)] =:= [{vis, C1}, {vis, C2}]),
CSeen = Call(C1, received),
T("C monitor_scope sees joins made on BEAM nodes",
  [N || {R, join, {vis, N}, [_]} <- CSeen, R =:= CRef, not IsC(N)] =:= [node(), B1]),

%% 2. 1,000 random operations against a model.
Seed = erlang:phash2(os:getpid()),
rand:seed(exsss, {Seed, 7, 11}),
io:format("seed ~p~n", [Seed]),
Gs = [{g, I} || I <- lists:seq(1, 8)],
Pick = fun(L) -> lists:nth(rand:uniform(length(L)), L) end,
Del1 = fun(X, L) -> L -- [X] end,
NotOk = fun(ok) -> 0; (_) -> 1 end,
Op = fun(_, {Live, Model, Bad}) ->
  case rand:uniform(10) of
    R when R =< 5, Live =/= [] ->
      P = Pick(Live), G = Pick(Gs),
      Ps = case rand:uniform(4) of 1 -> [Q || Q <- Live, node(Q) =:= node(P)]; _ -> P end,
      Res = Join(node(P), G, Ps),
      {Live, Model#{G => lists:flatten([Ps]) ++ maps:get(G, Model, [])}, Bad + NotOk(Res)};
    R when R =< 8 ->
      case [{G, P} || {G, L} <- maps:to_list(Model), P <- L] of
        [] -> {Live, Model, Bad};
        Pairs -> {G, P} = Pick(Pairs), Res = Leave(node(P), G, P),
                 {Live, Model#{G => Del1(P, maps:get(G, Model))}, Bad + NotOk(Res)}
      end;
    9 when Live =/= [] ->
      P = Pick(Live), Kill(node(P), P),
      {Del1(P, Live), maps:map(fun(_, L) -> [Q || Q <- L, Q =/= P] end, Model), Bad};
    _ -> {[Spawn(Pick(All)) | Live], Model, Bad}
  end end,
Start = [Spawn(N) || N <- All, _ <- [1, 2, 3]],
{Live, Model, BadOps} = lists:foldl(Op, {Start, #{}, 0}, lists:seq(1, 1000)),
T("1,000 operations all answered ok", BadOps =:= 0),
Deadline = Now() + 10000,
[T(io_lib:format("after 1,000 ops: ~p equal on all 4 nodes", [G]),
   Eventually(Same(All, G, maps:get(G, Model, [])), Deadline)) || G <- Gs],
WantGroups = lists:sort([G || {G, [_ | _]} <- maps:to_list(Model)]),
T("which_groups equal on all 4 nodes (no empty groups)",
  lists:all(fun(N) -> lists:sort(Groups(N)) =:= WantGroups end, All)),
[Kill(node(P), P) || P <- Live],
T("every member gone after killing them all",
  Eventually(fun() -> lists:all(fun(N) -> Groups(N) =:= [] end, All) end, Now() + 10000)),

%% 3. Killed nodes: their members disappear everywhere.
KG = killed,
KPs = [begin P = Spawn(N), ok = Join(N, KG, P), P end || N <- All],
T("a member on every node", Eventually(Same(All, KG, KPs), Now() + 3000)),
io:format("KILL c2~n"),
T("c2 goes down", Eventually(fun() -> not lists:member(C2, nodes()) end, Now() + 10000)),
Left1 = [P || P <- KPs, node(P) =/= C2],
T("c2's member disappears on d, b1 and c1", Eventually(Same([node(), B1, C1], KG, Left1), Now() + 5000)),
io:format("KILL b1~n"),
T("b1 goes down", Eventually(fun() -> not lists:member(B1, nodes()) end, Now() + 10000)),
Left2 = [P || P <- Left1, node(P) =/= B1],
T("b1's member disappears on d and c1", Eventually(Same([node(), C1], KG, Left2), Now() + 5000)),
io:format("DONE~n"),
halt().
EOF
)
export C1 C2 B1 HOST
erl_start d "$D" "$DRIVER"
if eventually 60 grep_file "$WORK/d.out" '^(KILL c2|DONE)'; then
  kill_now "$(cnode_pid c2)"; cnode_forget c2
fi
if eventually 30 grep_file "$WORK/d.out" '^(KILL b1|DONE)'; then
  kill_now "$(erl_pid b1)"
fi
erl_wait d 30
grep -E '^(worst|seed)' "$WORK/d.out" | sed 's/^/    /'
erl_results d
finish

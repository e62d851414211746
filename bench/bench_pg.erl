%% The BEAM side of bench_pg (run_pg.sh): the same scenarios as
%% bench_pg.c, on three erl nodes.
-module(bench_pg).
-export([main/1, idle/0]).

now_us() -> erlang:monotonic_time(microsecond).
idle() -> receive stop -> ok end.

main([B0, C0, N0]) ->
    [B, C] = [list_to_atom(X) || X <- [B0, C0]],
    N = list_to_integer(N0),
    pong = net_adm:ping(B), pong = net_adm:ping(C),
    [{ok, _} = rpc:call(X, pg, start, [S]) || X <- [B, C], S <- [bench, bench_ps]],
    {ok, _} = pg:start(bench), {ok, _} = pg:start(bench_ps),
    timer:sleep(300),
    joins(B, N),
    broadcast([B, C], 200000),
    halt().

%% N joins here (one process per join, 100 groups); ms until B sees them.
joins(B, N) ->
    Me = self(),
    spawn(B, fun() -> poll(Me, N) end),
    Pids = [spawn(fun idle/0) || _ <- lists:seq(1, N)],
    T0 = now_us(),
    lists:foldl(fun(P, I) -> ok = pg:join(bench, {g, I rem 100}, P), I + 1 end, 0, Pids),
    T1 = now_us(),
    receive seen -> ok after 30000 -> exit(not_seen) end,
    T2 = now_us(),
    io:format("joins_per_s ~b~nvisible_ms ~.1f~n", [N * 1000000 div (T1 - T0), (T2 - T0) / 1000]).

poll(To, N) ->
    case lists:sum([length(pg:get_members(bench, {g, I})) || I <- lists:seq(0, 99)]) of
        N -> To ! seen;
        _ -> poll(To, N)
    end.

%% PG2's broadcast: one message to each member on another node.
broadcast(Nodes, N) ->
    Me = self(),
    [spawn(X, fun() -> ok = pg:join(bench_ps, bps, self()), Me ! joined, count(Me, N) end) || X <- Nodes],
    [receive joined -> ok end || _ <- Nodes],
    timer:sleep(200),
    T0 = now_us(),
    publish(N, 0),
    [receive counted -> ok after 60000 -> exit(lost) end || _ <- Nodes],
    T1 = now_us(),
    io:format("publishes_per_s ~b~n", [N * 1000000 div (T1 - T0)]).

publish(N, N) -> ok;
publish(N, I) ->
    Msg = {I},
    [P ! Msg || P <- pg:get_members(bench_ps, bps), node(P) =/= node()],
    publish(N, I + 1).

count(To, 0) -> To ! counted;
count(To, N) -> receive {_} -> count(To, N - 1) end.

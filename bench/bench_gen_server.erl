%% gen_server call rate BEAM -> BEAM (1 and 16 callers, server on another
%% node) and the rpc:call round trip, for bench/run_gen_server.sh.
%% Prints: beam_calls N RATE, beam_rpc_us MEDIAN_US.
-module(bench_gen_server).
-behaviour(gen_server).
-export([main/1, start_server/0, init/1, handle_call/3, handle_cast/2]).

init(X) -> {ok, X}.
handle_call(R, _From, S) -> {reply, R, S}.
handle_cast(_, S) -> {noreply, S}.

start_server() ->
    {ok, P} = gen_server:start({local, bench_echo}, ?MODULE, nil, []),
    unlink(P),
    ok.

main([ServerNode, SecondsStr]) ->
    Server = list_to_atom(ServerNode),
    Seconds = list_to_float(SecondsStr),
    pong = net_adm:ping(Server),
    ok = rpc:call(Server, ?MODULE, start_server, []),
    To = {bench_echo, Server},
    [I = gen_server:call(To, I) || I <- lists:seq(1, 100)],
    [io:format("beam_calls ~b ~b~n", [N, round(rate(To, N, Seconds))]) || N <- [1, 16]],
    io:format("beam_rpc_us ~w~n", [rpc_median(Server, Seconds)]),
    halt().

rate(To, N, Seconds) ->
    Me = self(),
    Until = erlang:monotonic_time(microsecond) + round(Seconds * 1.0e6),
    T0 = erlang:monotonic_time(microsecond),
    [spawn_link(fun() -> Me ! {done, loop(To, Until, 0, 0)} end) || _ <- lists:seq(1, N)],
    Calls = lists:sum([receive {done, C} -> C end || _ <- lists:seq(1, N)]),
    Calls / ((erlang:monotonic_time(microsecond) - T0) / 1.0e6).

loop(To, Until, I, Calls) ->
    case erlang:monotonic_time(microsecond) < Until of
        false -> Calls;
        true ->
            [J = gen_server:call(To, J) || J <- lists:seq(I, I + 31)],
            loop(To, Until, I + 32, Calls + 32)
    end.

rpc_median(Server, Seconds) ->
    Until = erlang:monotonic_time(microsecond) + round(Seconds * 1.0e6),
    Ts = rpc_loop(Server, Until, 0, []),
    lists:nth(length(Ts) div 2 + 1, lists:sort(Ts)).

rpc_loop(_Server, _Until, 2000, Acc) -> Acc;
rpc_loop(Server, Until, K, Acc) ->
    case erlang:monotonic_time(microsecond) < Until of
        false when Acc =/= [] -> Acc;
        _ ->
            T0 = erlang:monotonic_time(microsecond),
            Server = rpc:call(Server, erlang, node, []),
            T = erlang:monotonic_time(microsecond) - T0,
            rpc_loop(Server, Until, K + 1, if K >= 10 -> [T | Acc]; true -> Acc end)
    end.

%% The BEAM side of bench_global (run_global.sh): the same scenarios as
%% bench_global.c on three erl nodes (main/1 on gla, with glb and glc;
%% glc sorts last, the lock's boss, and is the one killed), and the
%% functions bench_global.c calls over rpc in the mixed cluster.
-module(bench_global).
-export([main/1, idle/0, reg_rate/3, own_one/1, own/2, os_pid/0,
         lookup_rate/2, gone_at/2]).

now_us() -> erlang:system_time(microsecond). % comparable across nodes
idle() -> receive stop -> ok end.

main([B0, C0 | Ns]) ->
    [B, C] = [list_to_atom(X) || X <- [B0, C0]],
    [NS, NP, T, NK] = [list_to_integer(X) || X <- Ns],
    pong = net_adm:ping(B), pong = net_adm:ping(C),
    ok = global:sync(),
    ok = rpc:call(B, global, sync, []),
    ok = rpc:call(C, global, sync, []),
    timer:sleep(200),
    reg_phase(B, s, NS, 1, reg_seq),
    reg_phase(B, p, NP, T, reg_par),
    %% lookups of a name B owns; erlang:whereis/1 of a local name
    1 = rpc:call(B, ?MODULE, own_one, [remote_owned]),
    wait_table([remote_owned], true, 5000),
    io:format("lookup_per_s ~b~n", [lookup_rate(remote_owned, 1000)]),
    register(bench_local, spawn(fun idle/0)),
    io:format("local_lookup_per_s ~b~n", [local_lookup_rate(bench_local, 1000)]),
    %% NK names on C, kill -9 of C
    NK = rpc:call(C, ?MODULE, own, [NK, T]),
    Names = names(k, NK),
    wait_table(Names, true, 30000),
    OsPid = rpc:call(C, ?MODULE, os_pid, []),
    Me = self(),
    spawn(B, fun() -> Me ! {other_gone, gone_at(NK, 30000)} end),
    timer:sleep(300),
    T0 = now_us(),
    Port = open_port({spawn_executable, "/bin/kill"},
                     [{args, ["-9", integer_to_list(OsPid)]}, exit_status]),
    T1 = wait_table(Names, false, 30000),
    receive {Port, {exit_status, 0}} -> ok after 5000 -> exit(kill_failed) end,
    receive {other_gone, T2} -> ok after 35000 -> T2 = T0 - 1000 end,
    io:format("cleanup_ms ~.1f~ncleanup_other_ms ~.1f~n",
              [(T1 - T0) / 1000, (T2 - T0) / 1000]),
    halt().

names(Tag, N) -> [{Tag, I} || I <- lists:seq(0, N - 1)].

%% N fresh names {Tag, I} registered here from T processes at once (each
%% its slice; T = 1: one after another), B polling meanwhile.
reg_phase(B, Tag, N, T, Key) ->
    Names = names(Tag, N),
    Me = self(),
    spawn(B, fun() -> Me ! {seen, wait_table(Names, true, 60000)} end),
    {T0, Secs} = register_all(Names, T),
    Seen = receive {seen, S} -> S after 65000 -> exit(not_seen) end,
    io:format("~s_per_s ~b~n~s_visible_ms ~.1f~n",
              [Key, round(N / Secs), Key, (Seen - T0) / 1000]).

register_all(Names, T) ->
    Pids = [spawn(fun idle/0) || _ <- Names],
    Pairs = lists:zip(Names, Pids),
    N = length(Pairs),
    Slices = [lists:sublist(Pairs, N * I div T + 1, N * (I + 1) div T - N * I div T)
              || I <- lists:seq(0, T - 1)],
    Me = self(),
    T0 = now_us(),
    Ws = [spawn(fun() ->
                    [yes = global:register_name(Nm, P) || {Nm, P} <- Slice],
                    Me ! {done, self()}
                end) || Slice <- Slices],
    [receive {done, W} -> ok after 120000 -> exit(reg_timeout) end || W <- Ws],
    {T0, (now_us() - T0) / 1000000}.

%% rpc from bench_global.c (mixed): the registration rate here.
reg_rate(Tag, N, T) ->
    {_, Secs} = register_all(names(Tag, N), T),
    round(N / Secs).

%% A process of this node that keeps Name.
own_one(Name) ->
    yes = global:register_name(Name, spawn(fun idle/0)),
    1.

%% N names {k, I} of this node's processes, from T processes.
own(N, T) ->
    register_all(names(k, N), T),
    N.

os_pid() -> list_to_integer(os:getpid()).

%% Polls until every name is (Present) or is not registered, in turn, 1
%% ms apart when not; the time it saw the last one.
wait_table(Names, Present, Ms) -> wait_table(Names, Present, now_us() + Ms * 1000, x).
wait_table([], _, _, x) -> now_us();
wait_table([N | Rest] = All, Present, Until, x) ->
    case (global:whereis_name(N) =/= undefined) =:= Present of
        true -> wait_table(Rest, Present, Until, x);
        false ->
            now_us() > Until andalso exit({timeout, N}),
            timer:sleep(1),
            wait_table(All, Present, Until, x)
    end.

%% rpc from bench_global.c (mixed): when this node saw the N names {k, I}
%% all gone (os:system_time(microsecond)).
gone_at(N, Ms) -> wait_table(names(k, N), false, Ms).

lookup_rate(Name, Ms) ->
    T0 = now_us(),
    Until = T0 + Ms * 1000,
    Count = lookups(Name, Until, 0),
    round(Count * 1000000 / (now_us() - T0)).

lookups(Name, Until, Count) ->
    lookup_k(Name, 1000),
    case now_us() < Until of
        true -> lookups(Name, Until, Count + 1000);
        false -> Count + 1000
    end.

lookup_k(_, 0) -> ok;
lookup_k(Name, K) -> true = is_pid(global:whereis_name(Name)), lookup_k(Name, K - 1).

local_lookup_rate(Name, Ms) ->
    T0 = now_us(),
    Until = T0 + Ms * 1000,
    Count = local_lookups(Name, Until, 0),
    round(Count * 1000000 / (now_us() - T0)).

local_lookups(Name, Until, Count) ->
    local_k(Name, 1000),
    case now_us() < Until of
        true -> local_lookups(Name, Until, Count + 1000);
        false -> Count + 1000
    end.

local_k(_, 0) -> ok;
local_k(Name, K) -> true = is_pid(whereis(Name)), local_k(Name, K - 1).

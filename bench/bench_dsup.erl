%% The BEAM side of run_dsup.sh: the usual :global singleton starter, one
%% per node, with the same output lines as examples/singleton_worker so
%% the script reads both alike:
%%
%%   erl -sname N -kernel net_ticktime 4 -run bench_dsup main Peer1 Peer2
%%
%% Every node: connects to its peers (net_adm:ping until pong), then runs a
%% starter that spawns a worker and tries global:register_name(
%% background_work, Worker). Yes: the worker starts working. No: the
%% starter kills its worker and monitors the owner; the owner's 'DOWN'
%% (its node's nodedown, noconnection) makes it try again. If the name
%% still points at a pid on a node that is already gone (global has not
%% cleaned up yet), it retries 1 ms later. Like singleton_worker's --peers,
%% a process dials every peer that is not connected, every 100 ms. Lines (t in unix ms, µs
%% precision, os:system_time):
%%
%%   #ospid OSPID
%%   #nodeup NODE t=T
%%   #nodedown NODE REASON t=T
%%   singleton started epoch=0 node=NODE t=T
%%   singleton stopped reason=R epoch=0 node=NODE t=T
%%   work T node=NODE epoch=0                    (every 100 ms)
%%
%% With a first argument tick_ms=P (bench/run_cron_failover.sh) the
%% worker is instead the usual BEAM cron job: a timer at each multiple of P
%% of the wall clock (erlang:start_timer with {abs, true}), printing
%%   tick S ran=T node=NODE epoch=0              (S the multiple, T now)
-module(bench_dsup).
-export([main/1]).

-define(NAME, background_work).
-define(PERIOD_MS, 100).

t() -> erlang:system_time(microsecond) / 1000.

main(["tick_ms=" ++ P | PeerStrs]) ->
    persistent_term:put(bench_tick_ms, list_to_integer(P)),
    main(PeerStrs);
main(PeerStrs) ->
    Peers = [list_to_atom(P) || P <- PeerStrs],
    io:format("#ospid ~s~n", [os:getpid()]),
    Me = self(),
    spawn_link(fun() -> watch_nodes(Me) end),
    receive watching -> ok end,
    connect(Peers, erlang:monotonic_time(millisecond) + 30000),
    global:sync(),
    spawn_link(fun() -> redial(Peers) end),
    starter().

watch_nodes(Parent) ->
    ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
    %% peers may have dialled this node before -run got here
    [io:format("#nodeup ~s t=~.3f~n", [N, t()]) || N <- nodes()],
    Parent ! watching,
    watch_loop().

watch_loop() ->
    receive
        {nodeup, N, _} -> io:format("#nodeup ~s t=~.3f~n", [N, t()]);
        {nodedown, N, Info} ->
            R = proplists:get_value(nodedown_reason, Info, unknown),
            io:format("#nodedown ~s ~0p t=~.3f~n", [N, R, t()])
    end,
    watch_loop().

connect([], _) -> ok;
connect([P | Ps], Deadline) ->
    case net_adm:ping(P) of
        pong -> connect(Ps, Deadline);
        pang ->
            erlang:monotonic_time(millisecond) < Deadline orelse exit(no_peers),
            timer:sleep(50),
            connect([P | Ps], Deadline)
    end.

%% As singleton_worker's --peers: dial the peers that are not connected
%% (a killed or paused node's, after a resume), every 100 ms.
redial(Peers) ->
    [net_adm:ping(P) || P <- Peers, not lists:member(P, nodes())],
    timer:sleep(100),
    redial(Peers).

starter() ->
    Worker = spawn(fun worker/0),
    case global:register_name(?NAME, Worker) of
        yes ->
            Ref = monitor(process, Worker),
            Worker ! go,
            receive
                {'DOWN', Ref, process, _, Why} ->
                    io:format("singleton stopped reason=~0p epoch=0 node=~s t=~.3f~n",
                              [Why, node(), t()])
            end,
            starter();
        no ->
            exit(Worker, kill),
            case global:whereis_name(?NAME) of
                undefined -> starter();
                Owner ->
                    case lists:member(node(Owner), [node() | nodes()]) of
                        true ->
                            Ref = monitor(process, Owner),
                            receive {'DOWN', Ref, process, _, _} -> ok end;
                        false ->
                            timer:sleep(1) % a gone node's name global still has
                    end,
                    starter()
            end
    end.

worker() ->
    receive go -> ok end,
    io:format("singleton started epoch=0 node=~s t=~.3f~n", [node(), t()]),
    case persistent_term:get(bench_tick_ms, undefined) of
        undefined -> work();
        P -> tick(P)
    end.

tick(P) ->
    Now = erlang:system_time(millisecond),
    Next = (Now div P + 1) * P,
    erlang:start_timer(Next - erlang:time_offset(millisecond), self(), tick, [{abs, true}]),
    receive {timeout, _, tick} -> ok end,
    io:format("tick ~b ran=~b node=~s epoch=0~n", [Next, erlang:system_time(millisecond), node()]),
    tick(P).

work() ->
    io:format("work ~b node=~s epoch=0~n", [erlang:system_time(millisecond), node()]),
    receive after ?PERIOD_MS -> work() end.

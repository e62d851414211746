%% The BEAM side of run_discovery.sh: one erl node that finds the others
%% by the means the C nodes' --discover SPEC uses, and prints the lines
%% bench_discovery's launcher reads, as echo_node does:
%%
%%   #nodeup NODE / #nodedown NODE    net_kernel:monitor_nodes(true)
%%   #ready NODE                      once it started looking (gossip:
%%                                    right after its first heartbeat)
%%   #lat NODE US CONNECTED           gossip: heartbeat heard -> connect_node
%%                                    returned, for a node not yet connected
%%
%%   -run bench_discovery main static NODE...       dial each until connected
%%   -run bench_discovery main epmd HOST INTERVAL_MS  net_adm:names every interval
%%   -run bench_discovery main gossip SECRET|nil INTERVAL_MS true|false
%%
%% There is no libcluster here: gossip is libcluster 3.5's Gossip format
%% written from its documentation (tests/cluster/test_cluster_gossip.c's
%% gossip_beam): heartbeats to 233.252.1.32:45892, the first at start,
%% then each after rand:uniform(Interval) ms; a heard node is connected
%% from the receive loop, one at a time, as libcluster does.
-module(bench_discovery).
-export([main/1]).

main(["static" | Peers]) ->
    run(fun() -> [spawn(fun() -> dial(list_to_atom(P)) end)
                  || P <- Peers, list_to_atom(P) =/= node()],
                 ready() end);
main(["epmd", Host, Interval]) ->
    run(fun() -> spawn(fun() -> epmd_poll(Host, list_to_integer(Interval)) end),
                 ready() end);
main(["gossip", Secret, Interval, Connect]) ->
    S = case Secret of "nil" -> nil; _ -> list_to_binary(Secret) end,
    run(fun() -> ok = gossip_start(S, list_to_integer(Interval),
                                   list_to_atom(Connect)) end).

ready() -> io:format("#ready ~s~n", [node()]).

%% Node events first, then the strategy. Distribution is up from boot,
%% before -run runs this: peers may have connected already, so the nodes
%% connected once subscribed are printed too (the launcher ignores a
%% second nodeup of a node).
run(Start) ->
    Self = self(),
    spawn(fun() ->
              ok = net_kernel:monitor_nodes(true),
              [io:format("#nodeup ~s~n", [N]) || N <- nodes()],
              Self ! subscribed,
              watch()
          end),
    receive subscribed -> ok end,
    Start().

watch() ->
    receive
        {nodeup, N} -> io:format("#nodeup ~s~n", [N]);
        {nodedown, N} -> io:format("#nodedown ~s~n", [N])
    end,
    watch().

%% static: as nodus redials a listed node, but every 100 ms (nodus: 100 ms
%% doubling up to 5 s); each peer in a process of its own, so the dials
%% run in parallel as nodus's do.
dial(P) ->
    case net_kernel:connect_node(P) of
        true -> ok;
        _ -> timer:sleep(100), dial(P)
    end.

%% epmd: the names registered on Host (ERL_EPMD_PORT's epmd), the missing
%% ones dialled in parallel, every Interval ms.
epmd_poll(Host, Interval) ->
    case net_adm:names(Host) of
        {ok, Names} ->
            Missing = [N || {Name, _Port} <- Names,
                            N <- [list_to_atom(Name ++ "@" ++ Host)],
                            N =/= node(), not lists:member(N, nodes())],
            Dials = [spawn_monitor(fun() -> net_kernel:connect_node(N) end)
                     || N <- Missing],
            [receive {'DOWN', R, process, _, _} -> ok end || {_, R} <- Dials];
        _ -> ok
    end,
    timer:sleep(Interval),
    epmd_poll(Host, Interval).

%% ---- gossip ------------------------------------------------------------

-define(GROUP, {233,252,1,32}).
-define(PORT, 45892).

gossip_start(Secret, Interval, Connect) ->
    Parent = self(),
    Pid = spawn(fun() -> gossip_init(Parent, Secret, Interval, Connect) end),
    receive {Pid, R} -> R after 5000 -> timeout end.

gossip_init(Parent, Secret, Interval, Connect) ->
    case gen_udp:open(?PORT, [binary, {active, true}, {ip, {0,0,0,0}},
                              {reuseaddr, true}, {broadcast, true},
                              {multicast_ttl, 1}, {multicast_loop, true},
                              {add_membership, {?GROUP, {0,0,0,0}}}]) of
        {ok, S} ->
            %% the first heartbeat before any packet is read, as nodus
            %% sends its own in start
            ok = gen_udp:send(S, ?GROUP, ?PORT, packet(Secret)),
            ready(),
            erlang:send_after(rand:uniform(Interval), self(), heartbeat),
            Parent ! {self(), ok},
            gossip_loop(S, Secret, Interval, Connect);
        Error ->
            Parent ! {self(), Error}
    end.

gossip_loop(S, Secret, Interval, Connect) ->
    receive
        heartbeat ->
            ok = gen_udp:send(S, ?GROUP, ?PORT, packet(Secret)),
            erlang:send_after(rand:uniform(Interval), self(), heartbeat);
        {udp, S, _Ip, _Port, Pkt} ->
            T0 = erlang:monotonic_time(microsecond), % heard: the packet is in
            Self = node(),
            case decode(Secret, Pkt) of
                {ok, Self} -> ok;
                {ok, N} when Connect ->
                    case lists:member(N, nodes()) of
                        true -> ok;
                        false ->
                            R = net_kernel:connect_node(N),
                            T1 = erlang:monotonic_time(microsecond),
                            io:format("#lat ~s ~b ~s~n", [N, T1 - T0, R])
                    end;
                _ -> ok
            end
    end,
    gossip_loop(S, Secret, Interval, Connect).

plain() -> <<"heartbeat::", (term_to_binary(#{node => node()}))/binary>>.

packet(nil) -> plain();
packet(Secret) ->
    P = plain(),
    Iv = crypto:strong_rand_bytes(16),
    Pad = 16 - byte_size(P) rem 16,
    C = crypto:crypto_one_time(aes_256_cbc, crypto:hash(sha256, Secret), Iv,
                               <<P/binary, (binary:copy(<<Pad>>, Pad))/binary>>,
                               true),
    <<Iv/binary, C/binary>>.

decode(nil, <<"heartbeat::", T/binary>>) ->
    try binary_to_term(T) of
        #{node := N} when is_atom(N) -> {ok, N};
        _ -> error
    catch _:_ -> error
    end;
decode(nil, _) -> error;
decode(Secret, <<Iv:16/binary, C/binary>>)
  when C =/= <<>>, byte_size(C) rem 16 =:= 0 ->
    P = crypto:crypto_one_time(aes_256_cbc, crypto:hash(sha256, Secret), Iv, C,
                               false),
    Pad = binary:last(P),
    case Pad >= 1 andalso Pad =< 16 andalso
         binary:part(P, byte_size(P), -Pad) =:= binary:copy(<<Pad>>, Pad) of
        true -> decode(nil, binary:part(P, 0, byte_size(P) - Pad));
        false -> error
    end;
decode(_, _) -> error.

%% Distribution benchmarks: nodus nodes against BEAM nodes, same run.
%%
%% serve/0 starts, on a BEAM node, the four processes bench_node.c has on a
%% C node (sink, sender, echo, pinger; same protocol, see bench_node.c).
%% main/1 runs on a controller node, drives every scenario against two C
%% nodes (c1, c2) and two BEAM nodes (b1, b2) and prints one table.
%% bench/run_dist.sh starts all of them; see bench/README.md.
-module(bench_dist).
-export([serve/0, main/1]).

%% ---- the benchmark processes (BEAM side) --------------------------------

serve() ->
    register(sink, spawn(fun sink_idle/0)),
    register(sender, spawn(fun sender/0)),
    register(echo, spawn(fun echo/0)),
    register(pinger, spawn(fun pinger/0)),
    ok.

sink_idle() ->
    receive
        {start, From, N, AckTo, Every} when N > 0 ->
            From ! {armed, self()},
            sink_count(From, N, AckTo, Every, 0);
        {hello, From} ->
            From ! {hello, self()},
            sink_idle();
        _ ->
            sink_idle()
    end.

sink_count(From, N, AckTo, Every, Got) ->
    receive
        _ ->
            G = Got + 1,
            if Every > 0, G rem Every =:= 0 -> AckTo ! {ack, G};
               true -> ok
            end,
            if G =:= N -> From ! {done, N}, sink_idle();
               true -> sink_count(From, N, AckTo, Every, G)
            end
    end.

sender() ->
    receive
        {send, To, N, Kind, Window} ->
            drain_acks(),
            send_loop(To, 0, N, Kind, payload(Kind), 0, Window),
            sender();
        {hello, From} ->
            From ! {hello, self()},
            sender();
        _ ->
            sender()
    end.

drain_acks() ->
    receive {ack, _} -> drain_acks() after 0 -> ok end.

payload(seq) -> none;
payload(bin100) -> list_to_binary([I rem 256 || I <- lists:seq(0, 99)]);
payload(bin4k) -> list_to_binary([I rem 256 || I <- lists:seq(0, 4095)]).

send_loop(_To, N, N, _Kind, _Bin, _Acked, _W) ->
    ok;
send_loop(To, I, N, Kind, Bin, Acked, W) when I - Acked < W ->
    To ! case Kind of seq -> {seq, I}; _ -> Bin end,
    send_loop(To, I + 1, N, Kind, Bin, Acked, W);
send_loop(To, I, N, Kind, Bin, Acked, W) ->
    receive
        {ack, K} -> send_loop(To, I, N, Kind, Bin, max(K, Acked), W)
    end.

echo() ->
    receive
        {hello, From} -> From ! {hello, self()};
        {os_pid, From} -> From ! {os_pid, list_to_integer(os:getpid())};
        {From, Msg} when is_pid(From) -> From ! {echo, Msg};
        _ -> ok
    end,
    echo().

pinger() ->
    receive
        {rt, To, N, From} when N > 0 ->
            Sorted = lists:sort(rt_loop(To, 0, N, [])),
            From ! {rt_result, lists:nth(N div 2 + 1, Sorted),
                    lists:nth(N * 99 div 100 + 1, Sorted)};
        {hello, From} ->
            From ! {hello, self()};
        _ ->
            ok
    end,
    pinger().

rt_loop(_To, N, N, Acc) ->
    Acc;
rt_loop(To, I, N, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    To ! {self(), I},
    receive
        {echo, I} ->
            T1 = erlang:monotonic_time(nanosecond),
            rt_loop(To, I + 1, N, [T1 - T0 | Acc])
    end.

%% ---- the controller ------------------------------------------------------

-define(RUNS, 5).          % measurements per figure; the median is shown
-define(MIN_SECONDS, 1.2). % each measurement runs at least about this long

%% Args: [CBin, Cookie, EpmdPort, Mode, Sections]: Mode "quick" for a smoke
%% run (one short run per figure); Sections a comma-separated subset of
%% seq,bin100,bin4k,rt,start, or "all".
main([CBin, Cookie, EpmdPort, Mode, Sections]) ->
    Q = Mode =:= "quick",
    Want = case Sections of
               "all" -> ["seq", "bin100", "bin4k", "rt", "start"];
               _ -> string:split(Sections, ",", all)
           end,
    Host = lists:last(string:split(atom_to_list(node()), "@")),
    N = fun(Name) -> list_to_atom(Name ++ "@" ++ Host) end,
    [C1, C2, B1, B2] = [N(X) || X <- ["c1", "c2", "b1", "b2"]],
    [wait_pong(X, 20000) || X <- [C1, C2, B1, B2]],
    io:format("nodus distribution benchmarks (OTP ~s), ~p run(s) per figure, "
              "median~n", [erlang:system_info(otp_release), runs(Q)]),
    Section = fun("rt") -> round_trip_rows(C1, C2, B1, B2, Q);
                 ("start") -> startup_rows(CBin, Cookie, EpmdPort, Host, Q);
                 (Kind) -> throughput_rows(list_to_atom(Kind), C1, C2, B1, B2, Q)
              end,
    print_table(lists:append([Section(S) || S <- Want])),
    halt(0);
main(_) ->
    io:format(standard_error, "usage: bench_dist:main([CBin, Cookie, EpmdPort,"
              " Mode, Sections])~n", []),
    halt(2).

runs(true) -> 1;
runs(false) -> ?RUNS.

wait_pong(Node, Left) when Left =< 0 ->
    io:format(standard_error, "no pong from ~p~n", [Node]),
    halt(1);
wait_pong(Node, Left) ->
    case net_adm:ping(Node) of
        pong -> ok;
        pang -> timer:sleep(50), wait_pong(Node, Left - 50)
    end.

%% Asks again for a while: a node answers pings before its -eval has
%% registered the benchmark processes.
pid_of(Name, Node) -> pid_of(Name, Node, 50).

pid_of(Name, Node, 0) -> error({no_answer, Name, Node});
pid_of(Name, Node, Tries) ->
    {Name, Node} ! {hello, self()},
    receive {hello, Pid} when node(Pid) =:= Node -> Pid
    after 200 -> pid_of(Name, Node, Tries - 1)
    end.

median(Xs) -> lists:nth((length(Xs) + 1) div 2, lists:sort(Xs)).

%% ---- async throughput ----

bytes(seq) -> 0;
bytes(bin100) -> 100;
bytes(bin4k) -> 4096.

%% At most Window messages in flight; the sink acks every Window/4. The
%% window only bounds memory: at full speed the sender never waits for it.
window(bin4k) -> 8192;   % 32 MiB
window(_) -> 200000.

%% Messages per second from Sender's node to Sink's node.
throughput(From, To, Kind, N) ->
    Sink = pid_of(sink, To),
    Sender = pid_of(sender, From),
    W = window(Kind),
    Sink ! {start, self(), N, Sender, W div 4},
    receive {armed, Sink} -> ok after 10000 -> error(sink_not_armed) end,
    T0 = erlang:monotonic_time(),
    Sender ! {send, Sink, N, Kind, W},
    receive {done, N} -> ok
    after 300000 -> error({throughput_timeout, From, To, Kind})
    end,
    T1 = erlang:monotonic_time(),
    N / (erlang:convert_time_unit(T1 - T0, native, nanosecond) / 1.0e9).

%% A calibration run sizes N for about MIN_SECONDS per pair; then the pairs
%% take turns, run after run, so a noisy neighbour hurts all of them alike.
throughput_rows(Kind, C1, C2, B1, B2, Q) ->
    Pairs = [{B1, B2}, {C1, C2}, {C1, B2}, {B1, C2}],
    N0 = case Kind of bin4k -> 20000; _ -> 100000 end,
    Secs = case Q of true -> 0.3; false -> ?MIN_SECONDS end,
    Ns = [max(N0, round(throughput(F, T, Kind, N0) * Secs)) || {F, T} <- Pairs],
    Runs = [[throughput(F, T, Kind, N) || {{F, T}, N} <- lists:zip(Pairs, Ns)]
            || _ <- lists:seq(1, runs(Q))],
    [BB, CC, CB, BC] = [median([lists:nth(I, R) || R <- Runs])
                        || I <- lists:seq(1, 4)],
    What = case Kind of seq -> "{seq, I}"; bin100 -> "100 B binary";
                        bin4k -> "4 KiB binary" end,
    Fmt = fun(R) -> rate(R, bytes(Kind)) end,
    [{"async " ++ What ++ ", C->C vs B->B", Fmt(CC), Fmt(BB), ratio(CC, BB),
      case Kind of seq -> ">= 5x"; _ -> "" end},
     {"async " ++ What ++ ", C->B vs B->B", Fmt(CB), Fmt(BB), ratio(CB, BB), ">= 1x"},
     {"async " ++ What ++ ", B->C vs B->B", Fmt(BC), Fmt(BB), ratio(BC, BB), ">= 1x"}].

rate(R, 0) -> io_lib:format("~s msg/s", [si(R)]);
rate(R, B) -> io_lib:format("~s msg/s ~w MB/s", [si(R), round(R * B / 1.0e6)]).

si(X) when X >= 1.0e6 -> io_lib:format("~.2fM", [X / 1.0e6]);
si(X) when X >= 1.0e3 -> io_lib:format("~wk", [round(X / 1.0e3)]);
si(X) -> io_lib:format("~w", [round(X)]).

ratio(A, B) -> io_lib:format("~.2fx", [A / B]).

%% ---- round trip ----

round_trip(PingNode, EchoNode, N) ->
    Pinger = pid_of(pinger, PingNode),
    Echo = pid_of(echo, EchoNode),
    Pinger ! {rt, Echo, N, self()},
    receive {rt_result, Med, P99} -> {Med, P99}
    after 300000 -> error({round_trip_timeout, PingNode, EchoNode})
    end.

os_pid(Node) ->
    {echo, Node} ! {os_pid, self()},
    receive {os_pid, P} -> P after 10000 -> error({no_os_pid, Node}) end.

%% CPU time (user + system, all threads) of an OS process, in clock ticks.
cpu_ticks(OsPid) ->
    {ok, Bin} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/stat"),
    [_, AfterComm] = string:split(binary_to_list(Bin), ") "),
    Fields = string:split(AfterComm, " ", all),
    %% utime and stime are fields 14 and 15 of stat, 12 and 13 after comm
    list_to_integer(lists:nth(12, Fields)) + list_to_integer(lists:nth(13, Fields)).

clock_tick_us() ->
    1.0e6 / list_to_integer(string:trim(os:cmd("getconf CLK_TCK"))).

round_trip_rows(C1, C2, B1, B2, Q) ->
    Pairs = [{B1, B2}, {C1, C2}, {C1, B2}, {B1, C2}],
    [round_trip(P, E, 1000) || {P, E} <- Pairs], % warm up
    OsPids = [{os_pid(P), os_pid(E)} || {P, E} <- Pairs],
    N = case Q of true -> 2000; false -> 20000 end,
    %% Each pair's runs, with the CPU its two nodes used meanwhile.
    Timed = fun({P, E}, {OP, OE}) ->
                    C0 = cpu_ticks(OP) + cpu_ticks(OE),
                    R = round_trip(P, E, N),
                    {R, cpu_ticks(OP) + cpu_ticks(OE) - C0}
            end,
    Runs = [[Timed(Pair, Os) || {Pair, Os} <- lists:zip(Pairs, OsPids)]
            || _ <- lists:seq(1, runs(Q))],
    Med = fun(I) ->
                  Rs = [lists:nth(I, R) || R <- Runs],
                  Cpu = lists:sum([C || {_, C} <- Rs]) * clock_tick_us()
                        / (N * length(Rs)),
                  {median([M || {{M, _}, _} <- Rs]),
                   median([P || {{_, P}, _} <- Rs]), Cpu}
          end,
    [{BBm, BBp, BBc}, {CCm, CCp, CCc}, {CBm, CBp, _}, {BCm, BCp, _}] =
        [Med(I) || I <- lists:seq(1, 4)],
    Us = fun(Ns) -> io_lib:format("~.1f us", [Ns / 1000]) end,
    [{"round trip median, C->C vs B->B", Us(CCm), Us(BBm), ratio(CCm, BBm), "<= 0.5x"},
     {"round trip p99, C->C vs B->B", Us(CCp), Us(BBp), ratio(CCp, BBp), ""},
     {"CPU per round trip (2 nodes), C->C", Us(CCc * 1000), Us(BBc * 1000),
      ratio(CCc, BBc), ""},
     {"round trip median, C->B vs B->B", Us(CBm), Us(BBm), ratio(CBm, BBm), "<= 1x"},
     {"round trip p99, C->B vs B->B", Us(CBp), Us(BBp), ratio(CBp, BBp), ""},
     {"round trip median, B->C vs B->B", Us(BCm), Us(BBm), ratio(BCm, BBm), "<= 1x"},
     {"round trip p99, B->C vs B->B", Us(BCp), Us(BBp), ratio(BCp, BBp), ""}].

%% ---- idle RSS and start-up time ----

%% Starts a node, pings it in a tight loop until pong (start -> first pong),
%% lets it settle, reads its VmRSS, kills it.
start_node(c, CBin, Cookie, EpmdPort, Name) ->
    open_port({spawn_executable, CBin},
              [{args, ["--name", Name, "--cookie", Cookie,
                       "--epmd-port", EpmdPort]}, exit_status]);
start_node(beam, _CBin, Cookie, _EpmdPort, Name) ->
    open_port({spawn_executable, os:find_executable("erl")},
              [{args, ["-sname", Name, "-setcookie", Cookie, "-noshell",
                       "-noinput"]}, exit_status]).

startup(Kind, CBin, Cookie, EpmdPort, Host, I) ->
    Name = atom_to_list(Kind) ++ "start" ++ integer_to_list(I),
    Node = list_to_atom(Name ++ "@" ++ Host),
    T0 = erlang:monotonic_time(),
    Port = start_node(Kind, CBin, Cookie, EpmdPort, Name),
    ping_until_pong(Node, T0),
    T1 = erlang:monotonic_time(),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    timer:sleep(1000),
    Rss = vm_rss(OsPid),
    os:cmd("kill " ++ integer_to_list(OsPid)),
    receive {Port, {exit_status, _}} -> ok after 10000 -> ok end,
    {erlang:convert_time_unit(T1 - T0, native, microsecond) / 1000, Rss}.

ping_until_pong(Node, T0) ->
    case net_adm:ping(Node) of
        pong -> ok;
        pang ->
            Elapsed = erlang:convert_time_unit(erlang:monotonic_time() - T0,
                                               native, millisecond),
            Elapsed < 20000 orelse error({no_pong, Node}),
            ping_until_pong(Node, T0)
    end.

vm_rss(OsPid) ->
    {ok, Bin} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/status"),
    [Line] = [L || L <- string:split(binary_to_list(Bin), "\n", all),
                   lists:prefix("VmRSS:", L)],
    {Kb, _} = string:to_integer(string:trim(lists:nthtail(6, Line))),
    Kb.

startup_rows(CBin, Cookie, EpmdPort, Host, Q) ->
    Run = fun(Kind) ->
                  Rs = [startup(Kind, CBin, Cookie, EpmdPort, Host, I)
                        || I <- lists:seq(1, runs(Q))],
                  {median([T || {T, _} <- Rs]), median([R || {_, R} <- Rs])}
          end,
    {Bt, Br} = Run(beam),
    {Ct, Cr} = Run(c),
    Mib = fun(Kb) -> io_lib:format("~.1f MiB", [Kb / 1024]) end,
    Ms = fun(T) -> io_lib:format("~.1f ms", [T]) end,
    [{"idle node RSS", Mib(Cr), Mib(Br), ratio(Cr, Br), "<= 0.1x"},
     {"start -> first pong", Ms(Ct), Ms(Bt), ratio(Ct, Bt), ""}].

%% ---- output ----

print_table(Rows) ->
    Line = fun(A, B, C, D, E) ->
                   io:format("~-34s ~-26s ~-26s ~-9s ~s~n", [A, B, C, D, E])
           end,
    Line("scenario", "nodus", "BEAM", "ratio", "goal"),
    Line(lists:duplicate(34, $-), lists:duplicate(26, $-),
         lists:duplicate(26, $-), lists:duplicate(9, $-), "-------"),
    [Line(A, lists:flatten(B), lists:flatten(C), lists:flatten(D), E)
     || {A, B, C, D, E} <- Rows],
    ok.

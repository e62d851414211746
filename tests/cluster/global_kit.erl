%% global_kit: the BEAM side of the :global cluster tests. The same
%% commands as tests/cluster/global_kit_node.c, so a test asks a BEAM node
%% and a C node alike: the kit's eval loop runs
%%   global_kit:cmd("@ID reg NAME exit")
%% which returns at once; a process of its own answers "@ID ANSWER" on
%% stdout (the node's log), so blocking commands (trans, sync) never hold
%% up the eval loop. Pids print as "node/id/serial/creation" (PIDSTR).
-module(global_kit).
-export([cmd/1, pidstr/1, now_ns/0]).

cmd(Line) ->
    spawn(fun() ->
                  [Id, Op | Args] = string:lexemes(Line, " "),
                  Answer = try run(Op, Args)
                           catch C:E -> io_lib:format("error ~w:~w", [C, E])
                           end,
                  io:format("~s ~s~n", [Id, Answer])
          end),
    ok.

term(Text) ->
    {ok, Ts, _} = erl_scan:string(Text ++ "."),
    {ok, T} = erl_parse:parse_term(Ts),
    T.

run("reg", [NameT, Method]) ->
    Name = term(NameT),
    Resolve = case Method of
                  "notify" -> fun global:random_notify_name/3;
                  _ -> fun global:random_exit_name/3
              end,
    Pid = spawn(fun holder/0),
    spawn(fun() ->
                  Ref = monitor(process, Pid),
                  receive {'DOWN', Ref, process, _, R} ->
                          io:format("#down ~s ~w~n", [pidstr(Pid), R])
                  end
          end),
    Yes = global:register_name(Name, Pid, Resolve),
    io_lib:format("~s ~s", [Yes, pidstr(Pid)]);
run("whereis", [NameT]) ->
    case global:whereis_name(term(NameT)) of
        undefined -> "undefined";
        Pid -> pidstr(Pid)
    end;
run("table", []) ->
    Es = lists:sort([lists:flatten(io_lib:format("~w=~s", [N, pidstr(P)]))
                     || N <- global:registered_names(),
                        P <- [global:whereis_name(N)], is_pid(P)]),
    ["table ", lists:join(",", Es)];
run("sync", [Ms]) ->
    Self = self(),
    W = spawn(fun() -> global:sync(), Self ! {synced, self()} end),
    receive {synced, W} -> "ok"
    after list_to_integer(Ms) -> exit(W, kill), "timeout"
    end;
run("trans", [ResT, Hold, N, Hist, Proc]) ->
    Res = term(ResT),
    Rec = fun(Type, F) ->
                  ok = file:write_file(
                         Hist,
                         io_lib:format("{\"time\":~w,\"process\":~s,\"type\":\"~s\","
                                       "\"f\":\"~s\",\"key\":\"~s\"}~n",
                                       [now_ns(), Proc, Type, F, ResT]),
                         [append])
          end,
    {Oks, Aborts} =
        lists:foldl(
          fun(_, {O, A}) ->
                  Rec("invoke", "acquire"),
                  case global:trans({Res, self()},
                                    fun() ->
                                            Rec("ok", "acquire"),
                                            timer:sleep(list_to_integer(Hold)),
                                            Rec("invoke", "release"),
                                            Rec("ok", "release"),
                                            done
                                    end, [node() | nodes()], infinity) of
                      done -> {O + 1, A};
                      _ -> Rec("fail", "acquire"), {O, A + 1}
                  end
          end, {0, 0}, lists:seq(1, list_to_integer(N))),
    io_lib:format("trans ~w ~w", [Oks, Aborts]).

holder() ->
    receive M -> io:format("#msg ~s ~w~n", [pidstr(self()), M]) end,
    holder().

%% CLOCK_MONOTONIC in ns, the clock of nodus_kit_now_ns.
now_ns() ->
    {time, T} = lists:keyfind(time, 1,
                              erlang:system_info(os_monotonic_time_source)),
    T.

%% NEW_PID_EXT: node atom, id, serial, creation.
pidstr(Pid) ->
    <<131, 88, Rest/binary>> = term_to_binary(Pid, [{minor_version, 2}]),
    {Node, <<Id:32, Serial:32, Creation:32>>} =
        case Rest of
            <<119, L:8, A:L/binary, T/binary>> -> {A, T};
            <<118, L:16, A:L/binary, T/binary>> -> {A, T};
            <<100, L:16, A:L/binary, T/binary>> -> {A, T}
        end,
    io_lib:format("~s/~w/~w/~w", [Node, Id, Serial, Creation]).

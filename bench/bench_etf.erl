%% BEAM's side of the ETF benchmark (bench/run_etf.sh).
%%
%%   erl -noshell -pa DIR -run bench_etf main DIR MIN_MS ROW...
%%
%% For each row, reads DIR/<row>.etf (nodus's encoding, from bench_etf.c),
%% decodes it and writes BEAM's own encoding of that term to
%% DIR/<row>.beam.etf, which both sides then decode. The two encodings must
%% be identical except for maps of more than 32 keys, which BEAM writes in
%% its hash order and nodus in key order (then they must have the same
%% size). Times term_to_binary/1 on the term and binary_to_term/1 on BEAM's
%% bytes: each timed run at least MIN_MS ms, best of 5. Prints one line per
%% row: name, bytes, encode ns/op, decode ns/op.
-module(bench_etf).
-export([main/1]).

-define(RUNS, 5).

main([Dir, MinMs | Rows]) ->
    MinUs = list_to_integer(MinMs) * 1000,
    Rc = try
             lists:foreach(fun(Row) -> row(Dir, Row, MinUs) end, Rows),
             0
         catch C:R:St ->
             io:format(standard_error, "bench_etf: ~p:~p~n~p~n", [C, R, St]),
             1
         end,
    halt(Rc).

row(Dir, Row, MinUs) ->
    {ok, Ours} = file:read_file(filename:join(Dir, Row ++ ".etf")),
    T = binary_to_term(Ours),
    Bin = term_to_binary(T),
    case Bin =:= Ours orelse (has_large_map(T) andalso byte_size(Bin) =:= byte_size(Ours)) of
        true -> ok;
        false -> erlang:error({encoding_differs, Row, Ours, Bin})
    end,
    ok = file:write_file(filename:join(Dir, Row ++ ".beam.etf"), Bin),
    Enc = bench(fun(N) -> encode_loop(N, T, <<>>) end, MinUs),
    Dec = bench(fun(N) -> decode_loop(N, Bin, ok) end, MinUs),
    io:format("~s ~b ~.1f ~.1f~n", [Row, byte_size(Bin), Enc, Dec]).

has_large_map(M) when is_map(M) ->
    map_size(M) > 32 orelse lists:any(fun has_large_map/1, maps:keys(M) ++ maps:values(M));
has_large_map(T) when is_tuple(T) -> has_large_map(tuple_to_list(T));
has_large_map([H | T]) -> has_large_map(H) orelse has_large_map(T);
has_large_map(_) -> false.

%% The loops keep the last result so that the calls are not dead code.
encode_loop(0, _T, Last) -> Last;
encode_loop(N, T, _) -> encode_loop(N - 1, T, term_to_binary(T)).

decode_loop(0, _B, Last) -> Last;
decode_loop(N, B, _) -> decode_loop(N - 1, B, binary_to_term(B)).

%% Best ns/op of ?RUNS runs, each at least MinUs long (iterations grown
%% until one run reaches it), as bench_etf.c does.
bench(Loop, MinUs) ->
    N = calibrate(Loop, 1, MinUs),
    Best = lists:min([begin {Us, _} = timer:tc(fun() -> Loop(N) end), Us end
                      || _ <- lists:seq(1, ?RUNS)]),
    Best * 1000 / N.

calibrate(Loop, N, MinUs) ->
    {Us, _} = timer:tc(fun() -> Loop(N) end),
    if
        Us >= MinUs -> N;
        Us =:= 0 -> calibrate(Loop, N * 10, MinUs);
        true -> calibrate(Loop, max(N * 2, min(N * 10, round(N * 1.2 * MinUs / Us))), MinUs)
    end.

%% Term corpus for nodus's ETF conformance test; BEAM is the oracle.
%%
%%   gen(File, Count, Seed)  BEAM -> C: writes Count random terms with their
%%                           encodings and their ~p text for etf_conformance.
%%   check(File)             C -> BEAM: reads terms nodus built, encoded and
%%                           printed, and checks them against BEAM.
%%
%% Run by tests/interop/test_etf_conformance.sh (compiled with erlc into a
%% temp dir). File formats are described above write_corpus/3 and check/1.
-module(etf_corpus).
-export([gen/3, check/1, text/1, main/1]).

%% Remote nodes of the hand-made pids, ports and refs. 'élan@host' is a
%% node name that needs a UTF-8 atom.
-define(REMOTE_NODES, ["foo@bar", "n2@host.example", "Caps@h", [233 | "lan@host"]]).

main([Mode | Args]) ->
    %% Reports hold UTF-8 text: let stdout write it as such.
    ok = io:setopts(standard_io, [{encoding, unicode}]),
    Rc = try
             case Mode of
                 "gen" ->
                     [File, Count, Seed] = Args,
                     gen(File, list_to_integer(Count), list_to_integer(Seed));
                 "check" ->
                     [File] = Args,
                     check(File)
             end
         catch C:R:St ->
             io:format(standard_error, "etf_corpus crashed: ~p:~p~n~p~n", [C, R, St]),
             2
         end,
    halt(Rc).

%% ---- text ------------------------------------------------------------------

%% ~p without line wrapping: exactly the options io_lib_format passes to
%% io_lib_pretty for "~p" (column 1, latin1, strings on, no depth or chars
%% limit), with a line length no term reaches. gen/3 checks on every term
%% that this equals plain io_lib:format("~p") whenever that fits on a line.
text(T) ->
    Chars = io_lib_pretty:print(T, [{chars_limit, -1}, {column, 1},
                                    {line_length, 1 bsl 40}, {depth, -1},
                                    {encoding, latin1}, {strings, true}]),
    unicode:characters_to_binary(Chars).

plain_p(T) ->
    unicode:characters_to_binary(io_lib:format("~p", [T])).

%% ---- BEAM -> C -----------------------------------------------------------

%% File: "NODUSCORPUS1", node table, count, then per term
%%   Flags:8, Text, E_default, E_minor1, E_minor2, E_compressed
%% where each field is Len:32/big then bytes. The node table maps each
%% remote node name (UTF-8) to the number BEAM prints in <N.X.Y>:
%%   NNodes:32, then per node NameLen:16, Name, Index:32.
gen(File, Count, Seed) ->
    rand:seed(exsss, {Seed, Seed bxor 16#5DEECE66D, 17}),
    Fixed = fixed_terms(),
    Random = [random_term(4) || _ <- lists:seq(1, max(0, Count - length(Fixed)))],
    Terms = Fixed ++ Random,
    {ok, F} = file:open(File, [write, raw, binary, delayed_write]),
    ok = file:write(F, <<"NODUSCORPUS1">>),
    Nodes = [{unicode:characters_to_binary(atom_to_list(N)), node_index(N)}
             || N <- remote_nodes()],
    ok = file:write(F, [<<(length(Nodes)):32>>,
                        [[<<(byte_size(Name)):16>>, Name, <<Ix:32>>] || {Name, Ix} <- Nodes],
                        <<(length(Terms)):32>>]),
    Checked = lists:foldl(fun(T, Acc) -> write_term(F, T) + Acc end, 0, Terms),
    ok = file:close(F),
    io:format("etf_corpus: wrote ~b terms (seed ~b), ~b texts cross-checked "
              "against plain ~~p~n", [length(Terms), Seed, Checked]),
    0.

write_term(F, T) ->
    Text = text(T),
    %% Every single-line ~p output must equal our unwrapped text, else the
    %% expectation itself would be wrong.
    Plain = plain_p(T),
    Checked = case binary:match(Plain, <<"\n">>) of
                  nomatch when Plain =:= Text -> 1;
                  nomatch -> erlang:error({text_differs_from_plain_p, T, Plain, Text});
                  _ -> 0
              end,
    Fields = [Text,
              term_to_binary(T),
              term_to_binary(T, [{minor_version, 1}]),
              term_to_binary(T, [{minor_version, 2}]),
              term_to_binary(T, [compressed])],
    ok = file:write(F, [<<0:8>> | [[<<(byte_size(B)):32>>, B] || B <- Fields]]),
    Checked.

remote_nodes() -> [list_to_atom(N) || N <- ?REMOTE_NODES].

%% BEAM prints a pid of a node it isn't connected to as <N.X.Y>, N being
%% the slot of that node in its own table: read it off a printed pid.
node_index(Node) ->
    Text = binary_to_list(text(remote_pid(Node, 1, 2, 3))),
    [N | _] = string:split(tl(Text), "."),
    list_to_integer(N).

%% ---- hand-made remote identifiers ----------------------------------------

atom_ext(A) ->
    B = unicode:characters_to_binary(atom_to_list(A)),
    <<118, (byte_size(B)):16, B/binary>>.

remote_pid(Node, Id, Serial, Creation) ->
    binary_to_term(<<131, 88, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>).

remote_port(Node, Id, Creation) when Id < 1 bsl 32 ->
    binary_to_term(<<131, 89, (atom_ext(Node))/binary, Id:32, Creation:32>>);
remote_port(Node, Id, Creation) ->
    binary_to_term(<<131, 120, (atom_ext(Node))/binary, Id:64, Creation:32>>).

remote_ref(Node, Creation, Words) ->
    binary_to_term(<<131, 90, (length(Words)):16, (atom_ext(Node))/binary, Creation:32,
                     << <<W:32>> || W <- Words >>/binary>>).

%% ---- fixed corner cases --------------------------------------------------

fixed_terms() ->
    Y = 42,
    Port = open_port({spawn_executable, "/bin/true"}, []),
    [0, 1, 255, 256, -1, -256, 2147483647, -2147483648, 2147483648, -2147483649,
     1 bsl 63 - 1, -(1 bsl 63), 1 bsl 63, -(1 bsl 63) - 1, 1 bsl 64 - 1, 1 bsl 64,
     1 bsl 2039 - 1, -(1 bsl 2040), 1 bsl 2040, 1 bsl 4000 + 12345, -(1 bsl 9999),
     0.0, -0.0, 1.0, -1.0, 0.1, 1/3, 123.0, 1.0e15, 1.0e16, 1.0e17, 1.0e22, 1.0e23,
     123456789012345680.0, 5.0e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
     1.7976931348623157e308, -1.7976931348623157e308, 9007199254740992.0,
     9007199254740993.0, 1.0e-5, 0.0001, 0.001, 1.0e21, 3.14159, 100.0, 1.5e300,
     '', a, ok, 'Hello', 'hello world', 'it\'s', 'back\\slash', 'new\nline', 'tab\t',
     'a.b', '_x', 'x_Y1@z', '[]', '{}', 'and', 'case', 'maybe', 'else', 'when', 'end',
     'fun', 'true', false, nonode@nohost, 'foo@bar', '9lives', 'é', 'école', 'Ärger',
     'ß', 'ÿ', '÷', '×', list_to_atom([16#43F, 16#440, 16#438]), list_to_atom([26085, 26412]),
     list_to_atom([16#1F600]), list_to_atom(lists:duplicate(255, $a)),
     list_to_atom(lists:duplicate(255, 233)), list_to_atom(lists:duplicate(255, 16#1F600)),
     list_to_atom(lists:duplicate(200, 16#43F)), list_to_atom([0, 1, 127, 128, 159]),
     <<>>, <<"abc">>, <<0>>, <<"a\nb\"c\\">>, <<255, 128, 159, 160>>, <<"é"/utf8>>,
     <<1:1>>, <<0:7>>, <<1, 2, 3:5>>, list_to_binary(lists:seq(0, 255)),
     {}, {a}, {{}}, list_to_tuple(lists:seq(1, 255)), list_to_tuple(lists:seq(1, 256)),
     list_to_tuple(lists:duplicate(300, ok)),
     [], [[]], [a | b], [1, 2 | 3], [a | <<"b">>], [[] | []], [1 | 2.0],
     "a", "hello", "a\"b", "tab\there", "\n\r\t\v\b\f\e", "héllo", "ÿ", [160], [127],
     [31], [8364], [255, 256], lists:seq(1, 300), lists:duplicate(70000, $x),
     lists:seq(0, 255), [-1], [1 bsl 70], "\\",
     #{}, #{a => 1}, #{1 => a, 1.0 => b, -1 => c, 0.5 => d}, #{[] => {}, {} => []},
     #{#{} => #{a => #{}}}, maps:from_list([{I, I * I} || I <- lists:seq(1, 32)]),
     maps:from_list([{I, I} || I <- lists:seq(1, 33)]),
     maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), <<I>>} || I <- lists:seq(1, 100)]),
     self(), list_to_pid("<0.0.0>"), list_to_pid("<0.32767.8191>"), make_ref(),
     erlang:alias(), Port, list_to_port("#Port<0.0>"), list_to_port("#Port<0.268435455>"),
     remote_pid('foo@bar', 1, 2, 3), remote_pid('foo@bar', 16#FFFFFFFF, 16#FFFFFFFF, 16#FFFFFFFF),
     remote_port('foo@bar', 77, 9), remote_port('n2@host.example', 1 bsl 40 + 7, 1),
     remote_ref('foo@bar', 9, [1]), remote_ref('foo@bar', 9, [1, 2, 3, 4, 5]),
     remote_ref(list_to_atom([233 | "lan@host"]), 5, [7, 8, 9]),
     fun lists:map/2, fun erlang:self/0, erlang:make_fun('Elixir.Enum', map, 2),
     erlang:make_fun('a b', 'c d', 255), erlang:make_fun(m, 'é', 0),
     fun(X) -> X + Y end, fun() -> ok end, fun(A, B) -> {A, B, Y, Port} end,
     {ok, [1, 2, 3], <<"x">>, #{a => 1}, "str", 1.5, -7}].

%% ---- random terms --------------------------------------------------------

pick(L) when is_list(L) -> lists:nth(rand:uniform(length(L)), L);
pick(T) when is_tuple(T) -> element(rand:uniform(tuple_size(T)), T).
between(Lo, Hi) -> Lo + rand:uniform(Hi - Lo + 1) - 1.

random_term(Depth) when Depth =< 0 -> random_leaf();
random_term(Depth) ->
    case rand:uniform(20) of
        N when N =< 9 -> random_leaf();
        10 -> random_tuple(Depth);
        11 -> random_tuple(Depth);
        12 -> random_list(Depth);
        13 -> random_list(Depth);
        14 -> random_improper(Depth);
        15 -> random_map(Depth);
        16 -> random_map(Depth);
        17 -> random_closure(Depth);
        18 -> [random_string() | random_term(Depth - 1)];
        19 -> {random_atom(), random_term(Depth - 1)};
        20 -> random_ident()
    end.

random_leaf() ->
    case rand:uniform(14) of
        1 -> random_small_int();
        2 -> random_int32();
        3 -> random_int64();
        4 -> random_bigint();
        5 -> random_float();
        6 -> random_float();
        7 -> random_atom();
        8 -> random_atom();
        9 -> random_binary();
        10 -> random_bitstring();
        11 -> random_string();
        12 -> random_ident();
        13 -> random_export_fun();
        14 -> pick([[], {}, #{}, <<>>, "", 0, 0.0, -0.0])
    end.

random_bits(Bits) ->
    Chunks = (Bits + 55) div 56,
    V = lists:foldl(fun(_, A) -> (A bsl 56) bor (rand:uniform(1 bsl 56) - 1) end, 0,
                    lists:seq(1, Chunks)),
    V bsr (Chunks * 56 - Bits).

signed(V) -> case rand:uniform(2) of 1 -> V; 2 -> -V end.

random_small_int() -> between(-300, 300).
random_int32() -> signed(random_bits(between(8, 31))).
random_int64() -> signed(random_bits(between(32, 64))).
random_bigint() ->
    Bits = case rand:uniform(20) of
               1 -> between(2048, 8000);
               _ -> pick([between(60, 70), between(64, 256), between(256, 2048),
                          between(2030, 2060)])
           end,
    %% Force the top bit so the size class is the one asked for.
    signed(random_bits(Bits) bor (1 bsl (Bits - 1))).

random_float() ->
    case rand:uniform(6) of
        1 -> float(between(-100000, 100000));
        2 -> (rand:uniform() - 0.5) * math:pow(10, between(-30, 30));
        3 -> rand:uniform() * math:pow(10, between(-307, 307));
        4 -> pick([0.0, -0.0, 5.0e-324, 1.0e-320, 2.2250738585072014e-308,
                   1.7976931348623157e308, 0.1, 0.5, 1.0e15, 1.0e16, 1.0e22, 1.0e-7]);
        _ -> random_float_bits()
    end.

%% Any 64-bit pattern except NaN and infinities, which Erlang has no term for.
random_float_bits() ->
    case <<(random_bits(64)):64>> of
        <<_:1, 2047:11, _:52>> -> 0.0;
        <<F:64/float>> -> F
    end.

%% Characters that exercise atom quoting: letters, digits, _ @ and things
%% that force quotes (space, quote, backslash, control, latin-1, beyond).
atom_chars() ->
    "abcxyzABCXYZ0129_@. '\\\n\t\"" ++ [233, 223, 255, 247, 192, 160, 127, 16#43F, 26085, 16#1F600].

random_atom() ->
    case rand:uniform(6) of
        1 -> pick([ok, error, undefined, true, false, nil, 'EXIT', 'Elixir.Foo', foo@bar,
                   'and', 'or', 'maybe', 'else', 'receive', 'catch', '']);
        _ ->
            Cs = atom_chars(),
            First = case rand:uniform(2) of 1 -> [pick("abcdefghijklmnop")]; 2 -> [] end,
            Len = pick([between(1, 8), between(1, 8), between(9, 60), between(250, 255)]),
            list_to_atom(lists:sublist(First ++ [pick(Cs) || _ <- lists:seq(1, Len)], 255))
    end.

random_bytes(N) -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, N) >>.
random_size() ->
    case rand:uniform(50) of
        1 -> between(300, 3000);
        _ -> pick([0, between(1, 10), between(1, 40), between(1, 100)])
    end.

random_binary() ->
    N = random_size(),
    case rand:uniform(3) of
        1 -> random_bytes(N);
        2 -> Cs = printable_chars(), list_to_binary([pick(Cs) || _ <- lists:seq(1, N)]);
        3 -> unicode:characters_to_binary([pick("abé日\n" ++ [16#1F600]) || _ <- lists:seq(1, N)])
    end.

random_bitstring() ->
    B = random_bytes(between(0, 20)),
    Extra = between(1, 7),
    <<B/binary, (rand:uniform(1 bsl Extra) - 1):Extra>>.

%% What io_lib considers printable in a latin-1 list or binary (a tuple,
%% for cheap picks).
printable_chars() ->
    list_to_tuple(lists:seq(32, 126) ++ lists:seq(160, 255) ++ "\n\r\t\v\b\f\e").

random_string() ->
    N = pick([between(1, 5), between(1, 30), between(1, 30), between(1, 200)]),
    case rand:uniform(4) of
        1 -> [pick(lists:seq(0, 300)) || _ <- lists:seq(1, N)]; % mostly not printable
        2 -> [pick("hello world\"\\" ++ [233, 8364]) || _ <- lists:seq(1, N)];
        _ -> Cs = printable_chars(), [pick(Cs) || _ <- lists:seq(1, N)]
    end.

random_ident() ->
    case rand:uniform(10) of
        1 -> list_to_pid("<0." ++ integer_to_list(between(0, 32767)) ++ "."
                         ++ integer_to_list(between(0, 8191)) ++ ">");
        2 -> self();
        3 -> make_ref();
        4 -> erlang:alias();
        5 -> list_to_port("#Port<0." ++ integer_to_list(between(0, 268435455)) ++ ">");
        6 -> remote_pid(pick(remote_nodes()), random_bits(32), random_bits(pick([1, 13, 32])),
                        random_bits(32));
        7 -> remote_port(pick(remote_nodes()), random_bits(pick([8, 28, 32, 40, 64])),
                         random_bits(32));
        8 -> remote_ref(pick(remote_nodes()), random_bits(32),
                        [random_bits(32) || _ <- lists:seq(1, between(1, 5))]);
        _ -> remote_pid(pick(remote_nodes()), random_bits(15), random_bits(13), random_bits(2))
    end.

random_export_fun() ->
    case rand:uniform(3) of
        1 -> fun lists:map/2;
        2 -> erlang:make_fun(random_atom(), random_atom(), between(0, 255));
        3 -> fun erlang:node/0
    end.

%% Closures made here, with free variables of any type.
random_closure(Depth) ->
    V = random_term(Depth - 1),
    W = random_leaf(),
    case rand:uniform(4) of
        1 -> fun() -> V end;
        2 -> fun(X) -> {X, V, W} end;
        3 -> fun(A, B, C) -> [A, B, C, V] end;
        4 -> fun(X) -> X end
    end.

random_tuple(Depth) ->
    N = case rand:uniform(30) of 1 -> between(256, 300); _ -> between(0, 6) end,
    %% Wide tuples hold leaves only, which keeps every term small.
    D = case N > 20 of true -> 0; false -> Depth - 1 end,
    list_to_tuple([random_term(D) || _ <- lists:seq(1, N)]).

random_list(Depth) ->
    [random_term(Depth - 1) || _ <- lists:seq(1, between(1, 6))].

random_improper(Depth) ->
    Tail = pick([random_leaf(), random_atom(), {}, <<"t">>, 1.5]),
    case Tail of
        [] -> [random_term(Depth - 1) | ok];
        _ -> lists:foldl(fun(E, Acc) -> [E | Acc] end, Tail,
                         [random_term(Depth - 1) || _ <- lists:seq(1, between(1, 4))])
    end.

random_map(Depth) ->
    {N, D} = case rand:uniform(15) of
                 1 -> {between(33, 80), 0}; % wide maps: leaves only
                 _ -> {between(0, 6), Depth - 1}
             end,
    maps:from_list([{random_key(D), random_term(D)} || _ <- lists:seq(1, N)]).

random_key(D) ->
    case rand:uniform(4) of
        1 -> between(-5, 50);
        2 -> pick([0.5, 1.0, 2.0, -0.0, 0.0]);
        _ -> random_term(D)
    end.

%% ---- C -> BEAM -----------------------------------------------------------

%% File written by etf_conformance: "NODUSCTOB1", Count:32, then per term
%%   Flags:8, Text, E_minor1, E_minor2 (each Len:32/big, bytes).
%% Flags bit 0: the term holds a map of more than 32 keys (see below).
check(File) ->
    {ok, <<"NODUSCTOB1", Count:32, Rest/binary>>} = file:read_file(File),
    Recs = read_recs(Rest, []),
    Count = length(Recs),
    Subst = node_substitutions(),
    {Fails, _} = lists:foldl(fun(Rec, {Fs, Ix}) -> {check_one(Rec, Ix, Subst) ++ Fs, Ix + 1} end,
                             {[], 0}, Recs),
    Failed = lists:usort([Ix || {Ix, _} <- Fails]),
    lists:foreach(fun({Ix, Msg}) -> io:format("C->BEAM #~b: ~ts~n", [Ix, Msg]) end,
                  lists:sublist(lists:reverse(Fails), max_report())),
    io:format("C->BEAM: ~b passed, ~b failed~n", [Count - length(Failed), length(Failed)]),
    case Failed of [] -> 0; _ -> 1 end.

%% Failures shown in detail: 20, or NODUS_CONF_MAX_REPORT.
max_report() ->
    case os:getenv("NODUS_CONF_MAX_REPORT") of
        false -> 20;
        "" -> 20;
        N -> list_to_integer(N)
    end.

read_recs(<<>>, Acc) -> lists:reverse(Acc);
read_recs(<<Flags:8, TL:32, Text:TL/binary, L1:32, E1:L1/binary, L2:32, E2:L2/binary,
            Rest/binary>>, Acc) ->
    read_recs(Rest, [{Flags, Text, E1, E2} | Acc]).

%% nodus prints a remote pid as <'node@host'.X.Y>; BEAM as <N.X.Y> with N
%% its own slot for that node. Map one to the other before comparing.
node_substitutions() ->
    lists:append([begin
                      Ix = integer_to_binary(node_index(N)),
                      Quoted = unicode:characters_to_binary(
                                 io_lib:write_atom_as_latin1(N)),
                      Raw = unicode:characters_to_binary(atom_to_list(N)),
                      [{<<"<", Quoted/binary, ".">>, <<"<", Ix/binary, ".">>},
                       {<<"<'", Raw/binary, "'.">>, <<"<", Ix/binary, ".">>}]
                  end || N <- remote_nodes()]).

substitute(Text, Subst) ->
    lists:foldl(fun({From, To}, T) -> binary:replace(T, From, To, [global]) end, Text, Subst).

check_one({Flags, CText, E1, E2}, Ix, Subst) ->
    try binary_to_term(E1) of
        T ->
            Text = text(T),
            Want1 = term_to_binary(T),
            Want2 = term_to_binary(T, [{minor_version, 2}]),
            Got = substitute(CText, Subst),
            LargeMap = Flags band 1 =/= 0,
            Errs =
                [{Ix, fmt("minor_version 1 bytes differ~n  term: ~ts~n~ts", [clip(Text), bytes_diff(Want1, E1)])}
                 || Want1 =/= E1, not LargeMap] ++
                [{Ix, fmt("minor_version 2 bytes differ~n  term: ~ts~n~ts", [clip(Text), bytes_diff(Want2, E2)])}
                 || Want2 =/= E2, not LargeMap] ++
                [{Ix, fmt("minor_version 2 decodes to another term~n  term: ~ts", [clip(Text)])}
                 || not same_decode(E2, T)] ++
                [{Ix, fmt("text differs~n~ts", [text_diff(Text, Got)])}
                 || Got =/= Text, not LargeMap] ++
                large_map_checks(LargeMap, Ix, T, Text, CText, E1, Want1),
            Errs
    catch C:R ->
        [{Ix, fmt("binary_to_term failed (~p:~p)~n  nodus text: ~ts~n  bytes: ~w",
                  [C, R, CText, E1])}]
    end.

%% Reports show a window from a little before the first difference.
prefix_len(<<C, A/binary>>, <<C, B/binary>>, N) -> prefix_len(A, B, N + 1);
prefix_len(_, _, N) -> N.

bytes_diff(Want, Got) ->
    At = prefix_len(Want, Got, 0),
    From = max(0, At - 16),
    Win = fun(B) -> binary:part(B, From, min(64, byte_size(B) - From)) end,
    fmt("  first difference at byte ~b (sizes: beam ~b, nodus ~b), bytes from ~b:~n"
        "  beam:  ~w~n  nodus: ~w", [At, byte_size(Want), byte_size(Got), From, Win(Want), Win(Got)]).

text_diff(Want, Got) ->
    At = prefix_len(Want, Got, 0),
    %% Back up to a UTF-8 character boundary.
    From = back_to_char(Want, max(0, At - 60)),
    Win = fun(B) -> clip(binary:part(B, From, byte_size(B) - From)) end,
    Dots = case From of 0 -> ""; _ -> "..." end,
    fmt("  first difference at byte ~b~n  beam:  ~ts~ts~n  nodus: ~ts~ts",
        [At, Dots, Win(Want), Dots, Win(Got)]).

back_to_char(_, 0) -> 0;
back_to_char(B, N) ->
    case binary:at(B, N) band 16#C0 of 16#80 -> back_to_char(B, N - 1); _ -> N end.

clip(B) when byte_size(B) > 300 -> <<(binary:part(B, 0, back_to_char(B, 300)))/binary, " ...">>;
clip(B) -> B.

same_decode(Bin, T) ->
    try binary_to_term(Bin) =:= T catch _:_ -> false end.

%% Documented exception: BEAM writes (and ~p prints) a map of more than 32
%% keys in the order of its internal hash trie, which depends on BEAM's
%% private hash function; nodus writes and prints C-built maps in key
%% order. Both are valid ETF. For these terms (built by C without pids,
%% ports, refs or funs so that the text is Erlang syntax) check instead that
%% the bytes have BEAM's size and that nodus's text, parsed and evaluated by
%% Erlang, is exactly the decoded term.
large_map_checks(false, _, _, _, _, _, _) -> [];
large_map_checks(true, Ix, T, Text, CText, E1, Want1) ->
    [{Ix, fmt("size differs from BEAM's (~b vs ~b)~n  term: ~ts",
              [byte_size(E1), byte_size(Want1), Text])}
     || byte_size(E1) =/= byte_size(Want1)] ++
    case parse_text(CText) of
        {ok, T} -> [];
        {ok, Other} -> [{Ix, fmt("nodus text reads back as another term~n  nodus: ~ts~n  read: ~p",
                                 [CText, Other])}];
        {error, E} -> [{Ix, fmt("nodus text does not parse as Erlang (~p)~n  nodus: ~ts", [E, CText])}]
    end.

parse_text(Bin) ->
    try
        {ok, Toks, _} = erl_scan:string(unicode:characters_to_list(Bin) ++ "."),
        {ok, [Expr]} = erl_parse:parse_exprs(Toks),
        {value, V, _} = erl_eval:expr(Expr, erl_eval:new_bindings()),
        {ok, V}
    catch C:R -> {error, {C, R}}
    end.

fmt(F, A) -> unicode:characters_to_binary(io_lib:format(F, A)).

#!/usr/bin/env bash
# Term order against BEAM. erl makes random pairs of terms, biased toward
# the hard cases (integers against floats near 2^53/2^63/2^64, big
# integers against huge floats, -0.0, unicode atoms, pids/ports/refs of
# other nodes and creations built from hand-made ETF, closures and export
# funs, maps in wire order, improper lists, bitstrings), and writes its own
# results for <, ==, =:= and map key order. compare_check replays them
# through nodus_compare, nodus_compare_exact, nodus_equal and nodus_hash.
#
# Usage: test_compare.sh BUILD_DIR
# NODUS_COMPARE_SEED=N reruns one seed; NODUS_COMPARE_PAIRS=N sets the count.
set -u

build=${1:?usage: test_compare.sh BUILD_DIR}
checker="$build/bin/compare_check"
pairs=${NODUS_COMPARE_PAIRS:-3000}
seed=${NODUS_COMPARE_SEED:-$(( ($(date +%s) + $$) % 1000000 ))}

fail() {
  echo "test_compare: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

source "$(dirname "$0")/../skip_lib.sh"
need erl erlc
[ -x "$checker" ] || fail "$checker not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nodus_compare.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/nodus_cmp_gen.erl" <<'ERLANG'
%% Writes pairs of terms with BEAM's own verdicts on them, for
%% compare_check: each record is <<Len:32, term_to_binary(Rec)>> with
%% Rec = {A, B, Cmp, Exact, XCmp}: Cmp is -1/0/1 from A < B and A == B,
%% Exact is A =:= B, XCmp is exact (map key) order from maps:keys/1.
-module(nodus_cmp_gen).
-export([main/1]).

main([File, NStr, SeedStr]) ->
    N = list_to_integer(NStr),
    Seed = list_to_integer(SeedStr),
    _ = rand:seed(exsss, {Seed, Seed * 7 + 1, Seed * 13 + 2}),
    Pool = pool(),
    Pairs = fixed() ++ [pair(Pool) || _ <- lists:seq(1, N)],
    {ok, F} = file:open(File, [write, raw, binary]),
    lists:foreach(fun({A, B}) -> write_rec(F, A, B) end, Pairs),
    ok = file:close(F),
    io:format("wrote ~b pairs (seed ~b)~n", [length(Pairs), Seed]),
    halt(0).

write_rec(F, A, B) ->
    Bin = term_to_binary({A, B, cmp(A, B), A =:= B, xcmp(A, B)}),
    ok = file:write(F, [<<(byte_size(Bin)):32>>, Bin]).

cmp(A, B) when A < B -> -1;
cmp(A, B) when A == B -> 0;
cmp(_, _) -> 1.

%% A map of at most 32 keys keeps its keys in exact term order.
xcmp(A, B) ->
    case maps:keys(#{A => 1, B => 2}) of
        [_] -> 0;
        [K | _] when K =:= A -> -1;
        _ -> 1
    end.

pick(L) -> lists:nth(rand:uniform(length(L)), L).

%% ---- building blocks ----------------------------------------------------

neg_zero() -> <<F/float>> = <<16#8000000000000000:64>>, F.

ints() ->
    P = [0, 1, 2, 255, 256, 1 bsl 27, 1 bsl 31, 1 bsl 32, (1 bsl 53) - 1,
         1 bsl 53, (1 bsl 53) + 1, (1 bsl 53) + 2, (1 bsl 63) - 1, 1 bsl 63,
         (1 bsl 63) + 1, (1 bsl 64) - 1, 1 bsl 64, (1 bsl 64) + 1,
         1 bsl 100, 1 bsl 1000, (1 bsl 1023) - 1, 1 bsl 1023,
         (1 bsl 1023) + 1, 1 bsl 1024, 1 bsl 1100,
         1000000000000000000000, 10000000000000000000000,
         trunc(math:pow(10, 300)) * 7],
    P ++ [-X || X <- P].

floats() ->
    P = [0.5, 1.0, 1.5, 2.0, 2.5, 255.0, 9007199254740992.0,
         9007199254740994.0, 9223372036854775808.0,
         18446744073709551616.0, 1.0e21, 1.0e22, 1.0e300,
         1.7976931348623157e308, 8.98846567431158e307, 5.0e-324,
         2.2250738585072014e-308, 0.1, 1.0e-10],
    [0.0, neg_zero()] ++ P ++ [-X || X <- P].

to_float(X) -> try float(X) catch error:badarg -> X end.

num() ->
    case rand:uniform(6) of
        1 -> pick(ints());
        2 -> pick(floats());
        3 -> to_float(pick(ints()));
        4 -> rand_int();
        5 -> to_float(rand_int()) * pick([1, 1, -1]);
        6 -> (rand:uniform() - 0.5) * math:pow(10, rand:uniform(40) - 20)
    end.

rand_int() ->
    Bits = pick([4, 16, 31, 32, 52, 53, 54, 62, 63, 64, 65, 80, 128, 500]),
    V = rand:uniform(1 bsl Bits),
    pick([V, -V]).

near_num(X) when is_integer(X) ->
    pick([X + 1, X - 1, to_float(X), -X, X, to_float(X + 1), X * 2]);
near_num(X) ->
    F = pick([fun() -> -X end, fun() -> X * 2 end, fun() -> trunc(X) end,
              fun() -> trunc(X) + 1 end, fun() -> trunc(X) - 1 end,
              fun() -> X + 1.0 end, fun() -> X / 3 end]),
    try F() catch error:badarith -> X end.

utf8_atom(CodePoints) -> binary_to_atom(unicode:characters_to_binary(CodePoints), utf8).

atoms() ->
    [a, b, ab, ba, z, 'Z', '', 'a b', nonode@nohost, true, false, ok,
     utf8_atom([16#e9]), utf8_atom([16#ff]), utf8_atom([16#20ac]),
     utf8_atom([16#ffff]), utf8_atom([16#10000]), utf8_atom([16#1d11e]),
     utf8_atom([$a, 16#e9]), utf8_atom([$a, 16#20ac]), utf8_atom([$a, $z]),
     utf8_atom([16#10ffff]), list_to_atom(lists:duplicate(255, $x)),
     utf8_atom(lists:duplicate(255, 16#3b1))].

node_names() ->
    [a@h, b@g, 'a@hh', zz@h, nonode@nohost, utf8_atom([16#e9, $@, $h])].

creations() -> [0, 1, 2, 3, 16#7fffffff, 16#80000000, 16#ffffffff].

atom_ext(A) ->
    B = atom_to_binary(A, utf8),
    <<119, (byte_size(B)), B/binary>>.

mk_pid(N, Id, Ser, Cr) ->
    binary_to_term(<<131, 88, (atom_ext(N))/binary, Id:32, Ser:32, Cr:32>>).
mk_port(N, Id, Cr) when Id < 1 bsl 32, Id rem 2 =:= 0 ->
    binary_to_term(<<131, 89, (atom_ext(N))/binary, Id:32, Cr:32>>);
mk_port(N, Id, Cr) ->
    binary_to_term(<<131, 120, (atom_ext(N))/binary, Id:64, Cr:32>>).
mk_ref(N, Cr, Ws) ->
    binary_to_term(<<131, 90, (length(Ws)):16, (atom_ext(N))/binary, Cr:32,
                     (<< <<W:32>> || W <- Ws >>)/binary>>).

word() -> pick([0, 0, 1, 2, 3, 16#7fffffff, 16#80000000, 16#ffffffff,
                rand:uniform(1 bsl 32) - 1]).

pid_params() ->
    {pid, pick(node_names()), pick([0, 1, 2, 100, 16#7fff, 16#ffffffff]),
     pick([0, 1, 2, 16#1fff]), pick(creations())}.
port_params() ->
    {port, pick(node_names()), pick([0, 1, 2, 7, 1 bsl 32, 1 bsl 40,
                                     (1 bsl 63) + 1]), pick(creations())}.
ref_params() ->
    {ref, pick(node_names()), [word() || _ <- lists:seq(1, rand:uniform(5))],
     pick(creations())}.

%% A pid, port or ref of this node (nonode@nohost, creation 0) becomes a
%% local one, which BEAM only accepts in local shapes: fall back to
%% creation 1 then.
from_params(P) ->
    try make_ident(P)
    catch error:badarg -> make_ident(setelement(size(P), P, 1))
    end.

make_ident({pid, N, I, S, C}) -> mk_pid(N, I, S, C);
make_ident({port, N, I, C}) -> mk_port(N, I, C);
make_ident({ref, N, Ws, C}) -> mk_ref(N, C, Ws).

%% Change one field.
near_params({pid, N, I, S, C}) ->
    pick([{pid, pick(node_names()), I, S, C}, {pid, N, pick([0, 1, I + 1]), S, C},
          {pid, N, I, pick([0, 1, 2]), C}, {pid, N, I, S, pick(creations())}]);
near_params({port, N, I, C}) ->
    pick([{port, pick(node_names()), I, C}, {port, N, I + 1, C},
          {port, N, I, pick(creations())}]);
near_params({ref, N, Ws, C}) ->
    Ws2 = case rand:uniform(4) of
              1 -> Ws ++ [0];
              2 when length(Ws) > 1 -> lists:droplast(Ws);
              3 -> [word() | tl(Ws)];
              _ -> lists:droplast(Ws) ++ [word()]
          end,
    pick([{ref, N, lists:sublist(Ws2, 5), C}, {ref, pick(node_names()), Ws, C},
          {ref, N, Ws, pick(creations())}]).

ident() -> from_params(pick([pid_params(), port_params(), ref_params()])).

%% Hand-made closures of modules that don't exist. The md5 Uniq follows
%% the other fields, so BEAM keeps one fun entry per field combination.
fun_params() ->
    {fn, pick([<<"nomod">>, <<"aaa">>, <<"zzz">>]), pick([0, 1, 2]),
     pick([-1, 0, 99, 100, 101]), pick([0, 1, 2]),
     [small() || _ <- lists:seq(1, rand:uniform(3) - 1)], pick([1, 2])}.

mk_closure({fn, Mod, Index, OldUniq, Arity, Free, PidN}) ->
    Uniq = erlang:md5(term_to_binary({Mod, Index, OldUniq, Arity})),
    Pid = <<88, (atom_ext(pick([a@h, b@g])))/binary, PidN:32, 0:32, 1:32>>,
    Body = <<Arity, Uniq/binary, Index:32, (length(Free)):32,
             119, (byte_size(Mod)), Mod/binary, 98, Index:32,
             98, OldUniq:32/signed, Pid/binary,
             (<< <<(ext(F))/binary>> || F <- Free >>)/binary>>,
    binary_to_term(<<131, 112, (byte_size(Body) + 4):32, Body/binary>>).

near_fun({fn, Mod, Index, OldUniq, Arity, Free, PidN}) ->
    pick([{fn, Mod, Index, OldUniq, Arity, Free, PidN + 1},
          {fn, Mod, Index, OldUniq, Arity, [near(F) || F <- Free], PidN},
          {fn, Mod, pick([0, 1, 2]), OldUniq, Arity, Free, PidN},
          {fn, Mod, Index, pick([-1, 0, 99, 100, 101]), Arity, Free, PidN},
          {fn, Mod, Index, OldUniq, Arity, Free ++ [small()], PidN}]).

ext(T) -> <<131, R/binary>> = term_to_binary(T), R.

small() ->
    case rand:uniform(5) of
        1 -> num();
        2 -> pick(atoms());
        3 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(3))]);
        4 -> {pick([1, 1.0, a])};
        5 -> [pick([1, 2.0])]
    end.

bits() ->
    Bytes = list_to_binary([pick([0, 1, 2, 127, 128, 255, rand:uniform(256) - 1])
                            || _ <- lists:seq(1, rand:uniform(6) - 1)]),
    case rand:uniform(3) of
        1 -> Bytes;
        _ -> Extra = rand:uniform(7), <<Bytes/binary, (rand:uniform(1 bsl Extra) - 1):Extra>>
    end.

near_bits(B) ->
    Size = bit_size(B),
    case rand:uniform(5) of
        1 -> <<B/bits, 0:1>>;
        2 -> <<B/bits, 1:1>>;
        3 when Size > 0 -> <<H:(Size - 1)/bits, L:1>> = B, <<H/bits, (1 - L):1>>;
        4 when Size > 0 -> <<H:(Size - 1)/bits, _:1>> = B, H;
        _ -> <<B/bits, 0:8>>
    end.

%% Compiled closures: their free variables are compared as terms, and the
%% creator pid doesn't count.
closures() ->
    Self = self(),
    Make = fun(N) -> fun(X) -> X + N end end,
    spawn(fun() -> Self ! {made, Make(1), fun() -> Self end} end),
    Other = receive {made, F1, F2} -> [F1, F2] after 5000 -> [] end,
    [Make(1), Make(1.0), Make(2), Make(a), Make(1 bsl 70),
     fun() -> ok end, fun(X, Y) -> {X, Y, Self} end | Other].

funs() ->
    [fun lists:map/2, fun lists:map/3, fun lists:sort/1, fun erlang:'+'/2,
     erlang:make_fun(a, b, 0), erlang:make_fun(utf8_atom([16#e9]), b, 1),
     erlang:make_fun(aaa, zzz, 255)].

pool() ->
    Port = case erlang:ports() of [P | _] -> [P]; [] -> [] end,
    #{funs => funs() ++ closures(),
      locals => [self(), make_ref(), make_ref(), spawn(fun() -> ok end)] ++ Port}.

%% ---- random terms ---------------------------------------------------------

leaf() ->
    case rand:uniform(8) of
        1 -> num();
        2 -> num();
        3 -> pick(atoms());
        4 -> bits();
        5 -> ident();
        6 -> mk_closure(fun_params());
        7 -> [];
        8 -> pick(pick([ints(), floats(), atoms()]))
    end.

term(Pool) -> term(Pool, rand:uniform(3)).

term(Pool, 0) ->
    case rand:uniform(10) of
        1 -> pick(maps:get(funs, Pool));
        2 -> pick(maps:get(locals, Pool));
        _ -> leaf()
    end;
term(Pool, D) ->
    Sub = fun() -> term(Pool, D - 1) end,
    case rand:uniform(7) of
        1 -> list_to_tuple([Sub() || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        2 -> [Sub() || _ <- lists:seq(1, rand:uniform(4))];
        3 -> improper([Sub() || _ <- lists:seq(1, rand:uniform(3))], Sub());
        4 -> maps:from_list([{Sub(), Sub()} || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        5 -> big_map(Pool);
        _ -> term(Pool, 0)
    end.

improper(L, Tail) -> lists:foldr(fun(E, Acc) -> [E | Acc] end, Tail, L).

%% More than 32 keys: a hash map, sent in hash order, not key order.
big_map(_Pool) ->
    Keys = lists:seq(1, 30 + rand:uniform(15)),
    maps:from_list([{pick([K, to_float(K), K, {K}]), pick([K, a, 1.0])} || K <- Keys]).

%% ---- near terms -----------------------------------------------------------

near(X) when is_number(X) -> near_num(X);
near(X) when is_atom(X) ->
    Longer = <<(atom_to_binary(X, utf8))/binary, "a">>,
    try pick([pick(atoms()), binary_to_atom(Longer, utf8)])
    catch error:system_limit -> pick(atoms())
    end;
near(X) when is_bitstring(X) -> near_bits(X);
near(X) when is_tuple(X), tuple_size(X) > 0 ->
    I = rand:uniform(tuple_size(X)),
    pick([setelement(I, X, near(element(I, X))),
          erlang:append_element(X, a), list_to_tuple(tl(tuple_to_list(X)))]);
near(X) when is_tuple(X) -> {pick([0, 0.0])};
near([]) -> pick([[a], [[]], {}, <<>>]);
near(X) when is_list(X) -> near_list(X);
near(X) when is_map(X) -> near_map(X);
near(X) when is_pid(X); is_port(X); is_reference(X) ->
    pick([ident(), X]);
near(X) when is_function(X) -> pick([mk_closure(fun_params()), X]);
near(X) -> X.

near_list(L) ->
    {Cells, Tail} = cells(L, []),
    N = length(Cells),
    I = rand:uniform(N),
    case rand:uniform(6) of
        1 -> improper(setnth(I, Cells, near(lists:nth(I, Cells))), Tail);
        2 -> improper(Cells, near(Tail));
        3 -> improper(Cells ++ [a], Tail);
        4 -> improper(lists:droplast(Cells), Tail);
        5 -> improper(lists:droplast(Cells), [lists:last(Cells) | Tail]);
        6 -> improper(lists:droplast(Cells), lists:last(Cells))
    end.

cells([H | T], Acc) -> cells(T, [H | Acc]);
cells(Tail, Acc) -> {lists:reverse(Acc), Tail}.

setnth(I, L, V) -> lists:sublist(L, I - 1) ++ [V] ++ lists:nthtail(I, L).

near_map(M) when map_size(M) =:= 0 -> #{pick([1, 1.0, a]) => 1};
near_map(M) ->
    {K, V} = pick(maps:to_list(M)),
    case rand:uniform(5) of
        1 -> M#{K => near(V)};
        2 -> maps:put(near(K), V, maps:remove(K, M));
        3 -> maps:remove(K, M);
        4 -> M#{near(K) => V};
        5 -> maps:put(to_float(K), V, maps:remove(K, M))
    end.

pair(Pool) ->
    case rand:uniform(20) of
        N when N =< 4 -> {term(Pool), term(Pool)};
        N when N =< 11 -> T = term(Pool), {T, near(T)};
        N when N =< 14 -> X = num(), pick([{X, near_num(X)}, {X, num()}]);
        15 -> P = pick([pid_params(), port_params(), ref_params()]),
              {from_params(P), from_params(near_params(P))};
        16 -> F = fun_params(), {mk_closure(F), mk_closure(near_fun(F))};
        17 -> Fs = maps:get(funs, Pool), {pick(Fs), pick(Fs)};
        18 -> T = term(Pool), {T, binary_to_term(term_to_binary(T))};
        19 -> M = big_map(Pool), {M, near_map(M)};
        20 -> {bits(), bits()}
    end.

%% ---- cases checked by hand -------------------------------------------------

fixed() ->
    Z = neg_zero(),
    [{9007199254740993, 9007199254740992.0}, {9007199254740992, 9007199254740992.0},
     {1 bsl 63, 9223372036854775808.0}, {(1 bsl 63) - 1, 9223372036854775808.0},
     {-(1 bsl 63), -9223372036854775808.0}, {-(1 bsl 63) - 1, -9223372036854775808.0},
     {1 bsl 64, 18446744073709551616.0}, {(1 bsl 64) + 1, 18446744073709551616.0},
     {1 bsl 1000, 1.0e300}, {1 bsl 996, 1.0e300}, {-(1 bsl 70), -1.0e21},
     {-(1 bsl 70), -1.0e22}, {1.7976931348623157e308, 1 bsl 1100},
     {Z, 0.0}, {Z, 0}, {0, 0.0}, {1, 1.0}, {2, 1.0}, {#{1.0 => a}, #{2 => a}},
     {#{1 => a}, #{1.0 => a}}, {#{a => 1}, #{a => 1.0}}, {[1 | 2], [1, 2]},
     {[1 | a], [1]}, {[1 | <<>>], [1, 2]}, {<<1:1>>, <<1>>}, {<<0:1>>, <<0>>},
     {<<1, 2:3>>, <<1, 2:4>>}, {{z}, {a, a}},
     {mk_ref(a@h, 1, [1, 2, 3, 0]), mk_ref(a@h, 1, [1, 2, 3])},
     {mk_ref(a@h, 1, [3, 2, 1]), mk_ref(a@h, 1, [2, 1, 3])},
     {mk_pid(a@h, 16#ffffffff, 0, 1), mk_pid(a@h, 0, 1, 1)},
     {mk_port(zz@h, 1, 1), mk_port(a@h, 2, 2)},
     {utf8_atom([16#ffff]), utf8_atom([16#10000])}].
ERLANG

erlc -o "$tmp" "$tmp/nodus_cmp_gen.erl" || fail "erlc failed"
echo "test_compare: seed $seed (rerun with NODUS_COMPARE_SEED=$seed)"
# erl exits when the file is written; the timeout only guards a hang.
(cd "$tmp" && timeout 300 erl -noshell -pa "$tmp" \
  -run nodus_cmp_gen main "$tmp/pairs.bin" "$pairs" "$seed") ||
  fail "the erl generator failed"
[ -s "$tmp/pairs.bin" ] || fail "the erl generator wrote nothing"

# compare_check prints the mismatches and the closing "N passed, N failed".
timeout 300 "$checker" "$tmp/pairs.bin"
rc=$?
[ $rc -eq 0 ] || echo "test_compare: FAILED (seed $seed)" >&2
exit $rc

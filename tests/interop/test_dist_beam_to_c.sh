#!/usr/bin/env bash
# BEAM -> C: a real erl node uses a dist_node as it would any Erlang node.
#   ping and nodes(); {echo, CNode} ! {self(), X} for every term type;
#   erlang:spawn_request of nodus_test:echo_proc (ok, badarg, undef);
#   links and exit signals both ways (link/1, spawn_request link, exit/2,
#   unlink); monitors by pid and by name (noproc, normal, named exit);
#   terms BEAM built, judged in C against the same terms built in C.
# Usage: bash test_dist_beam_to_c.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

CNAME=cb$$
cnode_start c "$CNAME" || { ko "dist_node starts"; finish; }

SCRIPT=$ERL_PRELUDE$(cat <<'EOF'
C = list_to_atom(os:getenv("CNODE")),
T("ping gives pong", net_adm:ping(C) =:= pong),
T("C node is in nodes()", lists:member(C, nodes())),
T("C node is not hidden", not lists:member(C, nodes(hidden))),

Echo = fun(X) -> {echo, C} ! {self(), X}, receive {echo, Y} -> Y after 5000 -> timeout end end,
Y0 = 7,
Terms = [
  {small_ints, [0, 1, -1, 255, 256, -256, 134217727, -134217728]},
  {int32_edges, [2147483647, -2147483648, 2147483648, 4294967295]},
  {int64_edges, [9223372036854775807, -9223372036854775808]},
  {bigints, [1 bsl 64, -(1 bsl 64), 1 bsl 1000, 1 - (1 bsl 2040),
             123456789012345678901234567890]},
  {floats, [0.0, 1.5, -2.25, 3.141592653589793, 1.0e300, -1.0e-300, 5.0e-324]},
  {atoms, [ok, true, (list_to_atom("")), (list_to_atom("hello world")),
           (list_to_atom([220, 110, 239, 99, 246, 100, 233])),
           (list_to_atom([26085, 26412, 35486])),
           (list_to_atom(lists:duplicate(255, $a))),
           (list_to_atom(lists:duplicate(255, 16#1F600)))]},
  {binaries, [<<>>, <<1,2,3>>, <<"text">>, binary:copy(<<"x">>, 100000)]},
  {bitstrings, [<<1:1>>, <<5:3>>, <<255, 1:7>>, <<1,2,3,4:4>>]},
  {tuples, [{}, {a}, {1, {2, {3, {}}}}, list_to_tuple(lists:seq(1, 300))]},
  {lists, [[], [1,2,3], "string", [[]], lists:seq(1, 10000), [256, 1000, 16#10FFFF]]},
  {improper_lists, [[a | b], [1, 2 | 3], [x | <<1>>], [[] | []]]},
  {maps, [#{}, #{a => 1}, #{1 => 1.0, 1.0 => 1}, #{{k} => [v], <<"b">> => #{}},
          maps:from_list([{I, I * I} || I <- lists:seq(1, 100)])]},
  {pids, [self(), spawn(fun() -> ok end), whereis(init)]},
  {refs, [make_ref(), make_ref(), alias()]},
  {ports, [hd(erlang:ports()), lists:last(erlang:ports())]},
  {funs, [fun() -> ok end, fun lists:map/2, fun(X) -> X + Y0 end, fun erlang:self/0]},
  {nested, [{ok, [#{k => {<<1:1>>, self(), make_ref()}}], -1.5, [a | tail]}]}],
lists:foreach(fun({Kind, Xs}) ->
    Bad = [{X, Got} || X <- Xs, (Got = Echo(X)) =/= X],
    T("echo of " ++ atom_to_list(Kind), Bad =:= [] orelse {mismatch, Bad})
  end, Terms),

[{echo, C} ! {self(), {seq, I}} || I <- lists:seq(1, 2000)],
InOrder = [receive {echo, {seq, J}} -> J after 5000 -> timeout end || _ <- lists:seq(1, 2000)],
T("2000 messages come back in order", InOrder =:= lists:seq(1, 2000)),

%% spawn_request of a registered C function
R1 = erlang:spawn_request(C, nodus_test, echo_proc, [], [monitor]),
P1 = receive {spawn_reply, R1, ok, P1_} -> P1_ after 5000 -> timeout end,
T("spawn_request gives a pid of the C node", is_pid(P1) andalso node(P1) =:= C),
P1 ! {self(), hi},
T("the spawned C process echoes", Recv(5000) =:= {echo, hi}),
P1 ! stop,
T("spawn_request monitor: DOWN normal", Recv(5000) =:= {'DOWN', R1, process, P1, normal}),
R2 = erlang:spawn_request(C, nodus_test, echo_proc, [unexpected], []),
T("spawn_request with bad arguments: error reply",
  case Recv(5000) of {spawn_reply, R2, error, _} -> true; O2 -> O2 end),
R3 = erlang:spawn_request(C, nodus_test, no_such_fun, [], [monitor]),
T("spawn_request of an unknown function: DOWN undef",
  case Recv(5000) of
    {spawn_reply, R3, ok, P3} -> case Recv(5000) of {'DOWN', R3, process, P3, {undef, _}} -> true; O3 -> O3 end;
    O3 -> O3 end),
P3b = spawn(C, nodus_test, echo_proc, []),
P3b ! {self(), via_spawn4},
T("spawn/4 of a C function", node(P3b) =:= C andalso Recv(5000) =:= {echo, via_spawn4}),

%% links: C -> Erlang
process_flag(trap_exit, true),
R4 = erlang:spawn_request(C, nodus_test, echo_proc, [], [link]),
P4 = receive {spawn_reply, R4, ok, P4_} -> P4_ after 5000 -> timeout end,
Boom = {boom, [1, 2.5, "three"], <<"four">>, #{five => self()}},
P4 ! {exit, Boom},
T("spawn_request link: C exit reaches Erlang as EXIT, with a structured reason", Recv(5000) =:= {'EXIT', P4, Boom}),
P5 = spawn(C, nodus_test, echo_proc, []),
P5 ! {link, self()},
P5 ! {exit, bye},
T("link made by the C process: EXIT", Recv(5000) =:= {'EXIT', P5, bye}),
P5b = spawn(C, nodus_test, echo_proc, []),
link(P5b),
P5b ! {exit, normal_but_not},
T("link/1 to a C pid: EXIT", Recv(5000) =:= {'EXIT', P5b, normal_but_not}),

%% links: Erlang -> C
Me = self(),
P6 = spawn(C, nodus_test, echo_proc, []),
M6 = monitor(process, P6),
H6 = spawn(fun() -> link(P6), Me ! linked, receive die -> exit(crash) end end),
receive linked -> ok end,
H6 ! die,
T("Erlang exit kills the linked C process", Recv(5000) =:= {'DOWN', M6, process, P6, crash}),
P7 = spawn(C, nodus_test, echo_proc, []),
M7 = monitor(process, P7),
exit(P7, kill),
T("exit(CPid, kill): DOWN killed", Recv(5000) =:= {'DOWN', M7, process, P7, killed}),
P8 = spawn(C, nodus_test, echo_proc, []),
M8 = monitor(process, P8),
exit(P8, normal),
P8 ! {self(), still_alive},
T("exit(CPid, normal) is ignored", Recv(5000) =:= {echo, still_alive}),
exit(P8, shutdown),
T("exit(CPid, shutdown): DOWN shutdown", Recv(5000) =:= {'DOWN', M8, process, P8, shutdown}),
P9 = spawn(C, nodus_test, echo_proc, []),
link(P9), unlink(P9),
M9 = monitor(process, P9),
P9 ! {exit, after_unlink},
T("unlink: DOWN but no EXIT", {Recv(5000), Recv(0)} =:= {{'DOWN', M9, process, P9, after_unlink}, timeout}),

%% monitors
M10 = monitor(process, P9),
T("monitor of a dead C pid: DOWN noproc", Recv(5000) =:= {'DOWN', M10, process, P9, noproc}),
link(P9),
T("link/1 to a dead C pid: EXIT noproc", Recv(5000) =:= {'EXIT', P9, noproc}),
M11 = monitor(process, {nobody, C}),
T("monitor of an unregistered name: DOWN noproc", Recv(5000) =:= {'DOWN', M11, process, {nobody, C}, noproc}),
M12 = monitor(process, {echo, C}),
T("demonitor of a name monitor", demonitor(M12, [flush, info])),
{nobody, C} ! dropped,
{echo, C} ! {self(), after_drop},
T("a send to an unregistered name is dropped, the node goes on", Recv(5000) =:= {echo, after_drop}),
M13 = monitor(process, {echo, C}),
{echo, C} ! {exit, bye_echo},
T("monitor by name: DOWN names {echo, Node}", Recv(5000) =:= {'DOWN', M13, process, {echo, C}, bye_echo}),
T("the connection is still up", lists:member(C, nodes())),
%% Terms BEAM built, for the C side to judge against the same values it
%% builds itself (below): an echo cannot see a bug our decoder and encoder
%% share, e.g. both swapping the halves of a float (tests/mutation, M3).
{agent, C} ! {beam_built, {[0.0, 1.5, -2.25, 3.141592653589793, 1.0e300, -1.0e-300, 5.0e-324],
  [255, 256, -1, 2147483647, -2147483648, 2147483648, 9223372036854775807,
   -9223372036854775808, 18446744073709551616, -123456789012345678901234567890],
  [ok, '', 'with space', list_to_atom([252, 110, 239]), list_to_atom([26085, 26412, 35486])],
  [<<>>, <<1,2,3>>, <<5:3>>, <<1,2,3:4>>], {}, {a, {b, {c}}, 1, 2}, "str", [a | b], [1, 2 | 3],
  #{a => 1, {k} => [v], <<"b">> => #{}}, #{1 => 1.0, 1.0 => 1}}},
io:format("DONE~n"),
halt().
EOF
)
CNODE="$CNAME@$HOST" erl_start e "eb$$" "$SCRIPT"
erl_wait e 45
erl_results e
# The same terms as the erl script's beam_built, parsed here by
# nodus_parse (not decoded from ETF): C judges what BEAM sent.
c_run c "set Want {[0.0, 1.5, -2.25, 3.141592653589793, 1.0e300, -1.0e-300, 5.0e-324], [255, 256, -1, 2147483647, -2147483648, 2147483648, 9223372036854775807, -9223372036854775808, 18446744073709551616, -123456789012345678901234567890], [ok, '', 'with space', 'ünï', '日本語'], [<<>>, <<1,2,3>>, <<5:3>>, <<1,2,3:4>>], {}, {a, {b, {c}}, 1, 2}, \"str\", [a | b], [1, 2 | 3], #{a => 1, {k} => [v], <<\"b\">> => #{}}, #{1 => 1.0, 1.0 => 1}}"
if c_do c "expect 5000 {beam_built, Want}" '^got '; then
  ok "terms BEAM built equal the same terms built in C"
else
  c_do c "expect 1000 {beam_built, _}" '.'
  ko "terms BEAM built equal the same terms built in C: BEAM's arrived as '$C_LAST'"
fi
c_check c "C node still answers after all that" "nodes" '^nodes \[' 
finish

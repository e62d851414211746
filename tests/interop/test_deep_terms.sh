#!/usr/bin/env bash
# Accept what BEAM accepts (issue 16): terms a real erl node sends and
# takes without complaint reach the C node whole, and the connection stays
# up (no nodedown), both ways:
#   - a list nested 100,000 deep (lists:foldl(fun(_, A) -> [A] end, [],
#     lists:seq(1, 100000))), a tuple nest and a map nest as deep, from
#     erl to a C process, which measures their depth without recursion;
#   - a message with 10,000 fresh atoms (more than the old cap of 4,096
#     new atoms per message), counted in C;
#   - the C echo sends the deep list and tuple back: erl gets =:= terms;
#   - C builds a 100,000-deep list and tuple itself and sends them to erl,
#     which checks them against its own.
# Usage: bash test_deep_terms.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

CNAME=cdeep$$
ENAME=edeep$$
cnode_start c "$CNAME" || { ko "dist_node starts"; finish; }

SCRIPT=$ERL_PRELUDE$(cat <<'EOF'
C = list_to_atom(os:getenv("CNODE")),
register(probe, self()),
T("ping gives pong", net_adm:ping(C) =:= pong),
monitor_node(C, true),
D = 100000,
L = lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, D)),
Tu = lists:foldl(fun(_, A) -> {A} end, {}, lists:seq(1, D)),
M = lists:foldl(fun(_, A) -> #{a => A} end, #{}, lists:seq(1, D)),
Fresh = [list_to_atom("deep" ++ os:getenv("TAG") ++ "_" ++ integer_to_list(I)) || I <- lists:seq(1, 10000)],
{agent, C} ! {deep_list, L},
{agent, C} ! {deep_tuple, Tu},
{agent, C} ! {deep_map, M},
{agent, C} ! {fresh_atoms, Fresh},
Echo = fun(X) -> {echo, C} ! {self(), X}, receive {echo, Y} -> Y after 60000 -> timeout end end,
T("the C echo gives back the 100,000-deep list", Echo(L) =:= L),
T("the C echo gives back the 100,000-deep tuple", Echo(Tu) =:= Tu),
T("the C echo gives back the 10,000 fresh atoms", Echo(Fresh) =:= Fresh),
T("a 100,000-deep list from C =:= ours",
  receive {from_c, list, X1} -> X1 =:= L after 60000 -> timeout end),
T("a 100,000-deep tuple from C =:= ours",
  receive {from_c, tuple, X2} -> X2 =:= Tu after 60000 -> timeout end),
T("no nodedown", receive {nodedown, C} -> nodedown after 0 -> true end),
T("still connected", lists:member(C, nodes())),
io:format("DONE~n"),
halt().
EOF
)
CNODE="$CNAME@$HOST" TAG=$$ erl_start e "$ENAME" "$SCRIPT"

c_check c "a 100,000-deep list arrives" "expect 60000 {deep_list, L}" '^got \{deep_list,\[\[\[' 70
c_check c "... whole: 100,001 levels" "shape L" '^shape depth=100001 terms=200001 atoms=0$'
c_check c "a 100,000-deep tuple arrives" "expect 60000 {deep_tuple, Tu}" '^got \{deep_tuple,\{\{\{' 70
c_check c "... whole: 100,001 levels" "shape Tu" '^shape depth=100001 terms=100001 atoms=0$'
c_check c "a 100,000-deep map arrives" "expect 60000 {deep_map, M}" '^got \{deep_map,#\{a => #\{a' 70
c_check c "... whole: 100,001 levels" "shape M" '^shape depth=100001 terms=200001 atoms=100000$'
c_check c "10,000 fresh atoms in one message arrive" "expect 60000 {fresh_atoms, A}" '^got \{fresh_atoms,\[' 70
c_check c "... all of them" "shape A" '^shape depth=2 terms=10002 atoms=10000$'
c_run c "nest CL list 100000"
c_run c "nest CT tuple 100000"
c_check c "C sends a 100,000-deep list to erl" "send {probe, '$ENAME@$HOST'} {from_c, list, CL}" '^ok'
c_check c "C sends a 100,000-deep tuple to erl" "send {probe, '$ENAME@$HOST'} {from_c, tuple, CT}" '^ok'
erl_wait e 120
erl_results e
check "the C node closed no connection" bash -c "! grep -q 'closing the connection' '$WORK/c.err'"
check "the C node dropped no message" bash -c "! grep -q 'dropped a message' '$WORK/c.err'"
finish

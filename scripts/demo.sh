#!/usr/bin/env bash
# The demo, in three parts:
#   1. C and a real Erlang node exchange terms in the external term format:
#      nodus encodes a term; erl decodes it, prints it and answers with a
#      term of its own; nodus decodes and prints the answer.
#   2. A C node (echo_node) in an Erlang cluster.
#   3. A live cluster: examples/user_cache on 3 C nodes (+ the same cache in
#      Elixir on a 4th node when elixir is installed), each node on its own
#      network namespace: writes replicate, a node is cut off, both sides
#      write, the partition heals and every cache converges.
# NODUS_BUILD_DIR=DIR uses an existing build there and skips the set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${NODUS_BUILD_DIR:-}" ]; then
  bin=$(cd "$NODUS_BUILD_DIR" && pwd)/bin
else
  bash scripts/setup.sh >/dev/null
  bin=$PWD/build/bin
fi

nodus=$bin/nodus
work=$(mktemp -d)
echo_pid=
# One cleanup for every part, whatever ends the script: the echo node, the
# cluster (nodes, namespaces, nft tables), the scratch dir.
# (No `a && b` here: under set -e a failing b would end the trap with 1.)
cleanup() {
  if [ -n "$echo_pid" ]; then kill "$echo_pid" 2>/dev/null || true; fi
  if [ -f "$work/cluster/cluster" ]; then
    "$nodus" cluster down --dir "$work/cluster" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

term='{greeting, "hello from C", [1, 2.5, -12345678901234567890], #{lang => <<"C">>, pid => <0.42.0>}}'
echo "C builds:        $term"
"$nodus" term encode "$term" > "$work/from_c.etf"
echo "C sends $(stat -c %s "$work/from_c.etf") bytes of ETF: $(od -An -tu1 -w1000 "$work/from_c.etf" | head -c 72)..."

erl -noshell -eval '
  [In, Out] = init:get_plain_arguments(),
  {ok, Bin} = file:read_file(In),
  T = binary_to_term(Bin),
  io:format("erl decodes:     ~p~n", [T]),
  {greeting, _, [_, _, Big], #{lang := Lang}} = T,
  Reply = {reply, Lang, Big * 2, erlang:system_info(otp_release),
           lists:seq(1, 5), self()},
  io:format("erl answers:     ~p~n", [Reply]),
  ok = file:write_file(Out, term_to_binary(Reply)),
  halt().' -extra "$work/from_c.etf" "$work/from_erl.etf"

echo "C decodes:       $("$nodus" term decode "$work/from_erl.etf")"

echo
echo "== A C node in an Erlang cluster"
cookie="demo$$"
epmd_port=$((20000 + $$ % 20000))
export ERL_EPMD_PORT=$epmd_port
host=$(hostname -s)
"$bin/echo_node" --name "echo_demo@$host" --cookie "$cookie" \
  --epmd-port "$epmd_port" > "$work/echo.out" 2> "$work/echo.err" &
echo_pid=$!
disown "$echo_pid"
for _ in $(seq 100); do grep -q ready "$work/echo.out" && break; sleep 0.05; done
echo "C node:          $(cat "$work/echo.out")  (it started an embedded epmd on port $epmd_port)"
ECHO_PID=$echo_pid erl -sname "erl_demo$$" -setcookie "$cookie" -noshell -eval '
  [Host] = init:get_plain_arguments(),
  C = list_to_atom("echo_demo@" ++ Host),
  io:format("erl pings C:     ~p~n", [net_adm:ping(C)]),
  io:format("erl nodes():     ~p~n", [nodes()]),
  Ask = fun(X) -> {echo, C} ! {self(), X},
                  receive {echo, Y} -> Y after 2000 -> timeout end end,
  [io:format("erl -> C -> erl: ~p~n", [Ask(X)])
   || X <- [hello, {1, 2.5, <<"bin">>}, #{key => [a, b]}, self(), make_ref()]],
  io:format("erl rpc to C:    nodus:nodes() = ~p~n", [rpc:call(C, nodus, nodes, [])]),
  io:format("erl erpc to C:   ~p~n",
            [try erpc:call(C, no_such_module, f, []) catch error:{exception, R, _} -> {error, R} end]),
  Ref = erlang:monitor(process, {echo, C}),
  os:cmd("kill -9 " ++ os:getenv("ECHO_PID")),
  receive {_, Ref, process, _, Why} -> io:format("C node killed:   DOWN ~p~n", [Why])
  after 5000 -> io:format("C node killed:   no DOWN~n") end,
  halt().' -extra "$host" 2>/dev/null

echo
echo "== A replicated user cache on a live cluster"
# examples/user_cache.c under the test kit (`nodus cluster`): every node's
# stdin is a FIFO and its output a log in the state dir, so the demo types
# commands into nI.in and reads the answers from nI.log.
export NODUS_CLUSTER_DIR=$work/cluster
cdir=$NODUS_CLUSTER_DIR
say() { printf '%-17s%s\n' "$1" "$2"; }
t0=$(date +%s%N)
elapsed() { printf '%.1f s' "$(( ($(date +%s%N) - $1) / 1000000 ))e-3"; }

elixir=false
command -v elixir >/dev/null && elixir=true
up_args=(--nodes 4 --beam 1 --ticktime 2)
$elixir && up_args+=(--elixir)
if ! "$nodus" cluster up "${up_args[@]}" --exec "$bin/user_cache" \
       -- --ticktime 2 > "$work/up.out" 2>&1; then
  say "cluster up:" "failed, skipping this part:"
  sed 's/^/                 /' "$work/up.out"
  exit 0
fi
netns=true
grep -q "mode netns" "$work/up.out" || netns=false
name() { "$nodus" cluster status | awk -v i="$1" '$1 == i { print $3 }'; }
n1=$(name 1) n2=$(name 2) n3=$(name 3) n4=$(name 4)

# ask N COMMAND: user_cache on C node N answers every command with one line.
ask() {
  local log=$cdir/n$1.log mark line
  mark=$(stat -c %s "$log")
  echo "$2" > "$cdir/n$1.in"
  for _ in $(seq 150); do
    line=$(tail -c +$((mark + 1)) "$log" | grep -m1 -E '^(ok|dump |error)' || true)
    if [ -n "$line" ]; then echo "$line"; return; fi
    sleep 0.02
  done
  echo "(no answer)"
}
# erl N EXPR: an Erlang expression on BEAM node 4, its value printed.
erl4() { "$nodus" cluster eval 4 "$1" | sed -E 's/^\{ok,(.*)\}$/\1/'; }
# Node N's cache as "1=alice,2=bob"; node 4 is the Elixir cache (if any).
cache() {
  if [ "$1" = 4 ]; then
    erl4 "'Elixir.UserCache':dump()." | sed -E 's/^<<"dump [0-9]+ ?(.*)">>$/\1/'
  else
    ask "$1" dump | sed -E 's/^dump [0-9]+ ?//'
  fi
}
caches=(1 2 3)
$elixir && caches+=(4)
# Every cache holds $1; waits up to $2 seconds.
all_hold() {
  local deadline=$(( $(date +%s) + $2 )) i ok
  while :; do
    ok=true
    for i in "${caches[@]}"; do [ "$(cache "$i")" = "$1" ] || { ok=false; break; }; done
    $ok && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
show() { local i out=(); for i in "${caches[@]}"; do out+=("n$i: $(cache "$i")"); done; printf '%s  ' "${out[@]}" | sed 's/  $//'; echo; }

if $elixir; then
  erl4 "{ok, _} = application:ensure_all_started(elixir), _ = 'Elixir.Code':require_file(<<\"$PWD/examples/user_cache.exs\">>), is_pid('Elixir.UserCache':start())." >/dev/null
  say "cluster up:" "n1-n3 run user_cache (C), n4 is erl running examples/user_cache.exs (Elixir), net_ticktime 2 s"
else
  erl4 "{ok, _} = pg:start(users), ok." >/dev/null
  say "cluster up:" "n1-n3 run user_cache (C), n4 is a plain erl that only watches (no elixir here), net_ticktime 2 s"
fi
if $netns; then
  say "" "each node on its own host (network namespace), e.g. n1 = $n1"
else
  say "" "no network namespaces here (they need root): every node on 127.0.0.1"
fi

for pair in "1 $n2" "1 $n3" "1 $n4" "2 $n3" "2 $n4" "3 $n4"; do ask "${pair%% *}" "connect ${pair#* }" >/dev/null; done
want=3; $elixir && want=4
for _ in $(seq 100); do [ "$(erl4 'length(pg:get_members(users, caches)).')" = "$want" ] && break; sleep 0.05; done
say "connected:" "n4's pg:get_members(users, caches) = $(erl4 'lists:sort(pg:get_members(users, caches)).')"

ask 1 "put 1 alice" >/dev/null
all_hold "1=alice" 5 || true
say "n1 put 1 alice:" "$(show)"

if ! $netns; then
  say "partition:" "skipped: on 127.0.0.1 there is no link to cut (run as root for this part)"
  "$nodus" cluster down >/dev/null
  say "cluster down:" "nodes stopped"
  exit 0
fi

mark=$(stat -c %s "$cdir/n1.log")
start=$(date +%s%N)
"$nodus" cluster partition 1/2,3,4 >/dev/null
for _ in $(seq 200); do
  [ "$(tail -c +$((mark + 1)) "$cdir/n1.log" | grep -c '^nodedown')" -ge 3 ] && break
  sleep 0.05
done
say "partition:" "n1 | n2 n3 n4 (nftables drops every packet between them); n1 saw nodedown of all 3 after $(elapsed "$start")"

ask 1 "put 2 bob" >/dev/null
ask 2 "put 2 robert" >/dev/null
if $elixir; then erl4 "'Elixir.UserCache':put(<<\"3\">>, <<\"carol\">>)." >/dev/null; w=n4
else ask 3 "put 3 carol" >/dev/null; w=n3; fi
sleep 0.3
say "split writes:" "n1 put 2 bob; n2 put 2 robert; $w put 3 carol"
say "" "$(show)"

start=$(date +%s%N)
"$nodus" cluster heal >/dev/null
if all_hold "1=alice,2=robert,3=carol" 10; then
  say "heal:" "converged in $(elapsed "$start") (the C caches' discovery redials lost peers; pg re-syncs; caches merge)"
else
  say "heal:" "NOT converged within 10 s"
fi
say "" "$(show)"
say "" "id 2: bob and robert both have version 2, so the greater node name (n2) wins everywhere"
"$nodus" cluster down >/dev/null
say "cluster down:" "nodes stopped, namespaces and nft tables removed ($(elapsed "$t0") for this part)"

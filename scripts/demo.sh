#!/usr/bin/env bash
# The demo: C and a real Erlang node exchange terms in the external term
# format. nodus encodes a term; erl decodes it, prints it and answers with a
# term of its own; nodus decodes and prints the answer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null

nodus=build/bin/nodus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
build/bin/echo_node --name "echo_demo@$host" --cookie "$cookie" \
  --epmd-port "$epmd_port" > "$work/echo.out" 2> "$work/echo.err" &
echo_pid=$!
disown "$echo_pid"
trap 'kill $echo_pid 2>/dev/null; rm -rf "$work"' EXIT
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
  Ref = erlang:monitor(process, {echo, C}),
  os:cmd("kill -9 " ++ os:getenv("ECHO_PID")),
  receive {_, Ref, process, _, Why} -> io:format("C node killed:   DOWN ~p~n", [Why])
  after 5000 -> io:format("C node killed:   no DOWN~n") end,
  halt().' -extra "$host" 2>/dev/null

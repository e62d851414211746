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

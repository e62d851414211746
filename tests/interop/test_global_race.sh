#!/usr/bin/env bash
# Concurrent registrations of one :global name from a C node and a BEAM
# node, ROUNDS times (GLOBAL_RACE_ROUNDS, default 1000), in a cluster of 2
# BEAM and 2 C nodes: each round a fresh name, both sides fire at once
# (the BEAM racer registers as soon as C's go arrives, while C registers),
# exactly one says yes, and all four nodes agree on the winner's pid
# (tests/interop/global_race.c drives the rounds and judges them).
# Usage: bash test_global_race.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
ROUNDS=${GLOBAL_RACE_ROUNDS:-1000}
RACE=$BUILD_DIR/bin/global_race
[ -x "$RACE" ] || { ko "no $RACE"; finish; }
start_epmd || { ko "a private epmd starts"; finish; }

E1=gre1_$$ E2=gre2_$$
erl_start e2 "$E2" 'io:format("UP~n"), receive after infinity -> ok end.'
# e1 pings e2 first: e2 must be in epmd by then (a slow start, e.g. under
# the sanitizer pass's load, would make that ping pang).
check_file "e2 is up" "$WORK/e2.out" '^UP' 30
erl_start e1 "$E1" "
E2 = list_to_atom(\"$E2@$HOST\"),
pong = net_adm:ping(E2),
Loop = fun Loop(Kids) ->
  receive
    {go, I, From} ->
      P = spawn(fun() -> R = global:register_name({race, I}, self()),
                         From ! {res, I, R, self()},
                         receive stop -> ok end end),
      Loop(Kids#{I => P});
    {check, I, From} ->
      From ! {where, I, global:whereis_name({race, I}),
              rpc:call(E2, global, whereis_name, [{race, I}])},
      Loop(Kids);
    {done, I} ->
      case maps:take(I, Kids) of
        {P, K2} -> P ! stop, Loop(K2);
        error -> Loop(Kids)
      end
  end
end,
register(racer, spawn(fun() -> Loop(#{}) end)),
io:format(\"UP~n\"),
receive after infinity -> ok end."
check_file "e1 is up, with its racer" "$WORK/e1.out" '^UP' 30

t0=$SECONDS
"$RACE" --epmd-port "$EPMD_PORT" --cookie "$COOKIE" --host "$HOST" \
  --beam "$E1@$HOST" --beam2 "$E2@$HOST" --rounds "$ROUNDS" >"$WORK/race.out" 2>&1
rc=$?
sed 's/^/    /' "$WORK/race.out" | tail -n 12
if [ $rc = 0 ] && grep -Eq "^$ROUNDS rounds: C won [0-9]+, BEAM won [0-9]+, bad 0$" "$WORK/race.out"; then
  ok "$ROUNDS races of C and BEAM: one winner each, the same pid on all four nodes ($((SECONDS - t0)) s)"
else
  ko "$ROUNDS races of C and BEAM (rc $rc)"
fi
# Both sides must really race: each wins some (a side that never wins
# would mean the rounds were not concurrent).
if grep -Eq "C won [1-9][0-9]*, BEAM won [1-9]" "$WORK/race.out"; then
  ok "both sides won rounds"
else
  ko "both sides won rounds"
fi
finish

#!/usr/bin/env bash
# Story 004's cleaner as an Elixir function driven by the C scheduler: an
# elixir node defines Cleaner.run/1; two examples/cron_cleaner C nodes
# (availability mode, the second started once the first runs, --peers
# each other, --every 1s) call it by rpc with --mfa Elixir.Cleaner:run
# --rpc-node <the elixir node>.
#   - Cleaner.run gets #{job, scheduled, epoch, attempt} for each tick:
#     scheduled times are whole seconds, each arrives once, in order;
#   - the integer it returns is what the C side prints as deleted=;
#   - kill -9 of the scheduling C node: the other one goes on calling it,
#     with a higher epoch, and still no tick twice;
#   - the C nodes answer Elixir's :rpc (nodus:cron_jobs/0) and :erpc.
# Usage: bash test_cron_elixir.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
if ! command -v elixir >/dev/null 2>&1; then
  if declare -F skip >/dev/null; then skip "elixir not installed"; fi
  if [ "${NODUS_REQUIRE_ALL:-0}" = 1 ]; then
    echo "FAIL: required but missing: elixir not installed (NODUS_REQUIRE_ALL=1)"
    exit 1
  fi
  echo "SKIP: elixir not installed"
  exit 77
fi
CLEANER=$BUILD_DIR/bin/cron_cleaner
[ -x "$CLEANER" ] || { ko "no $CLEANER"; finish; }

EX=ex_cron_$$ A=cc_a_$$ B=cc_b_$$
export CC_A=$A@$HOST CC_B=$B@$HOST
elixir --sname "$EX" --cookie "$COOKIE" -e '
t = fn
  d, true -> IO.puts("PASS #{d}")
  d, other -> IO.puts("FAIL #{d}: #{inspect(other, limit: 20)}")
end
defmodule Cleaner do
  # What a user writes: the cleanup keyed on the tick; here it reports
  # each call to the test process and says how many rows it deleted.
  def run(%{job: job, scheduled: s, epoch: e, attempt: a}) do
    send(:cron_test, {:ran, job, s, e, a, node()})
    rem(div(s, 1000), 100)
  end
end
Process.register(self(), :cron_test)
IO.puts("ready")
collect = fn collect, acc, until ->
  left = until - System.monotonic_time(:millisecond)
  receive do
    {:ran, job, s, e, a, _} -> collect.(collect, [{job, s, e, a} | acc], until)
  after max(left, 0) -> Enum.reverse(acc)
  end
end
one = receive do {:ran, job, s, e, a, _} -> [{job, s, e, a}] after 30000 -> [] end
first = collect.(collect, one, System.monotonic_time(:millisecond) + 5000)
t.("Cleaner.run was called by the C scheduler", length(first) >= 3)
t.("with the job and attempt 1", Enum.all?(first, fn {j, _, _, a} -> j == "cleanup" and a == 1 end))
t.("scheduled times are whole seconds, once each, in order",
   Enum.all?(first, fn {_, s, _, _} -> rem(s, 1000) == 0 end) and
   Enum.map(first, &elem(&1, 1)) == Enum.uniq(Enum.sort(Enum.map(first, &elem(&1, 1)))))
# cron_cleaner (static libnodus) answers rpc and erpc like any node.
a = String.to_atom(System.get_env("CC_A"))
t.("rpc to a cron_cleaner: nodus:cron_jobs/0 shows the job",
   match?([%{name: "cron_cleaner", jobs: [%{name: "cleanup"}]}], :rpc.call(a, :nodus, :cron_jobs, [])))
t.("erpc to a cron_cleaner: nodus:nodes/0", is_list(:erpc.call(a, :nodus, :nodes, [])))
IO.puts("epoch #{elem(List.last(first), 2)}")
receive do :killed -> :ok after 20000 -> :ok end
later = collect.(collect, [], System.monotonic_time(:millisecond) + 6000)
e1 = elem(List.last(first), 2)
t.("after kill -9 of the scheduling node, the calls go on", length(later) >= 2)
t.("with a higher epoch", Enum.all?(Enum.take(later, -2), fn {_, _, e, _} -> e > e1 end))
all = Enum.map(first ++ later, &elem(&1, 1))
t.("no tick twice, ever", all == Enum.uniq(all))
IO.puts("DONE")
' >"$WORK/ex.out" 2>&1 &
PIDS+=($!)
printf -v EPID_ex %s $!
check_file "elixir node ready" "$WORK/ex.out" "ready"
start_cleaner() { # NAME PEER OUT
  "$CLEANER" --name "$1@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
    --peers "$2@$HOST" --every 1s --mode availability \
    --mfa Elixir.Cleaner:run --rpc-node "$EX@$HOST" >"$WORK/$3.out" 2>"$WORK/$3.err" &
  PIDS+=($!)
  printf -v "CPID_$3" %s $!
}
start_cleaner "$A" "$B" A
check_file "cron_cleaner A runs ticks" "$WORK/A.out" "^tick "
start_cleaner "$B" "$A" B
check_file "cron_cleaner B joins A" "$WORK/B.out" "^#nodeup $A@"
check_file "the first calls are done" "$WORK/ex.out" "^epoch "
# The owner is the one that printed the latest tick; its deleted= is the
# function's answer (seconds mod 100).
last_tick() { grep '^tick ' "$WORK/$1.out" | tail -1 | cut -d' ' -f2; }
ta=$(last_tick A) tb=$(last_tick B)
owner=A
[ -n "$tb" ] && [ "${tb:-0}" -gt "${ta:-0}" ] && owner=B
line=$(grep '^tick ' "$WORK/$owner.out" | tail -1)
s=$(cut -d' ' -f2 <<<"$line") d=$(sed 's/.* deleted=\([0-9-]*\).*/\1/' <<<"$line")
if [ -n "$s" ] && [ "$d" = $(( (s / 1000) % 100 )) ]; then ok "deleted= is what Cleaner.run returned"
else ko "deleted= is what Cleaner.run returned ($line)"; fi
pid_var=CPID_$owner
kill -9 "${!pid_var}"
# Tell the elixir side (its :cron_test process) the kill happened.
elixir --sname "ex_kick_$$" --cookie "$COOKIE" -e "
send({:cron_test, :\"$EX@$HOST\"}, :killed)" >/dev/null 2>&1
erl_wait ex 60
erl_results ex
for me in A B; do
  grep -q Sanitizer "$WORK/$me.err" && ko "cron_cleaner $me: sanitizer report"
done
finish

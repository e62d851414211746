#!/usr/bin/env bash
# The OTP examples driven by the Elixir lines in their header comments,
# run by a real elixir node:
#   counter: GenServer.call/cast to {:counter, node} (incr, get, add); a
#   requested crash exits the caller with the reason, logs a crash report,
#   and the supervisor restarts the server at 0 (which_children shows the
#   new pid); four crashes within 5 s make counter_sup give up and the
#   program exit 1; SIGTERM ends a counter with 0.
#   pg_listener: :pg.start_link(); :pg.get_members(:pg, :listeners) |>
#   Enum.each(&send(&1, :hello)) prints "got hello" on the C side; after
#   SIGTERM (exit 0) the member is gone from Elixir's view.
# Usage: bash test_examples_otp.sh BUILD_DIR
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
COUNTER=$BUILD_DIR/bin/counter
LISTENER=$BUILD_DIR/bin/pg_listener
for b in "$COUNTER" "$LISTENER"; do
  [ -x "$b" ] || { ko "no $b"; finish; }
done

# ex_start ID NAME SCRIPT: elixir --sname NAME running SCRIPT, output in
# $WORK/ID.out; the script prints PASS/FAIL lines and DONE (erl_results).
EX_PRELUDE='
t = fn
  d, true -> IO.puts("PASS #{d}")
  d, other -> IO.puts("FAIL #{d}: #{inspect(other, limit: 20)}")
end
# eventually: f.() until it is truthy (that value), for up to ms
eventually = fn f, ms ->
  until = System.monotonic_time(:millisecond) + ms
  loop = fn loop ->
    v = f.()
    cond do
      v -> v
      System.monotonic_time(:millisecond) > until -> v
      true -> Process.sleep(20); loop.(loop)
    end
  end
  loop.(loop)
end
# catch_exit: the exit reason of f.(), or its value
catch_exit = fn f ->
  try do
    f.()
  catch
    :exit, reason -> reason
  end
end
'
ex_start() {
  local id=$1 name=$2 script=$3
  elixir --sname "$name" --cookie "$COOKIE" -e "$EX_PRELUDE$script" \
    >"$WORK/$id.out" 2>&1 &
  PIDS+=($!)
  printf -v "EPID_$id" %s $!
}
# wait_exit PID SECONDS: WAIT_RC = the exit status of PID (a child of
# this shell) once it ended, or 124 if it still runs.
wait_exit() {
  WAIT_RC=124
  eventually "$2" not_running "$1" || return 0
  wait "$1"
  WAIT_RC=$?
}

# ---- counter -----------------------------------------------------------------
CN=counter_$$
"$COUNTER" --name "$CN" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  >"$WORK/counter.out" 2>"$WORK/counter.err" &
CPID=$!
PIDS+=($CPID)
check_file "counter starts" "$WORK/counter.out" "^counter $CN@$HOST ready$"
export CNODE=$CN@$HOST
ex_start c "ex_c_$$" '
c = {:counter, String.to_atom(System.get_env("CNODE"))}
sup = {:counter_sup, elem(c, 1)}
t.("GenServer.call :incr -> 1", GenServer.call(c, :incr) == 1)
t.("GenServer.call :incr -> 2", GenServer.call(c, :incr) == 2)
t.("GenServer.cast {:add, 40}", GenServer.cast(c, {:add, 40}) == :ok)
t.("GenServer.call :get -> 42", GenServer.call(c, :get) == 42)
t.("an unknown call is answered", GenServer.call(c, :nope) == {:error, :unknown_call})
[{:counter, old, :worker, []}] = Supervisor.which_children(sup)
t.("a crash exits the caller with the reason",
   match?({:crash_requested, {GenServer, :call, _}}, catch_exit.(fn -> GenServer.call(c, :crash) end)))
new = eventually.(fn ->
  case Supervisor.which_children(sup) do
    [{:counter, p, :worker, []}] when is_pid(p) and p != old -> p
    _ -> nil
  end
end, 5000)
t.("the supervisor restarted it (a new pid)", is_pid(new) and new != old)
t.("restarted at 0", GenServer.call(c, :get) == 0)
t.("count_children", Supervisor.count_children(sup)[:active] == 1)
IO.puts("DONE")
'
erl_wait c 60
erl_results c
check_file "the crash is logged as a GenServer crash report" "$WORK/counter.err" \
  "GenServer counter terminating; reason: crash_requested; last message: \{'\\\$gen_call'"
if grep -q "GenServer counter terminating; reason: \(normal\|shutdown\)" "$WORK/counter.err"; then
  ko "no crash report for normal ends"
fi

# Too many crashes: counter_sup gives up and the program ends with 1.
ex_start g "ex_g_$$" '
c = {:counter, String.to_atom(System.get_env("CNODE"))}
crash = fn ->
  eventually.(fn -> is_integer(catch_exit.(fn -> GenServer.call(c, :get) end)) end, 3000)
  catch_exit.(fn -> GenServer.call(c, :crash) end)
end
# whatever the crash above counts for, four more within 5 s are too many
for _ <- 1..4, do: crash.()
IO.puts("DONE")
'
erl_wait g 60
wait_exit "$CPID" 15
rc=$WAIT_RC
[ "$rc" = 1 ] && ok "counter_sup gave up: counter exits 1" ||
  ko "counter_sup gave up: counter exit status $rc (wanted 1)"
check_file "the program says why" "$WORK/counter.err" "counter_sup gave up"
check_file "the supervisor logs reached_max_restart_intensity" "$WORK/counter.err" \
  "supervisor counter_sup: reached_max_restart_intensity"
grep -q Sanitizer "$WORK/counter.err" && ko "counter: sanitizer report"

# SIGTERM: a clean exit 0.
"$COUNTER" --name "c2_$$" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  >"$WORK/c2.out" 2>"$WORK/c2.err" &
C2=$!
PIDS+=($C2)
check_file "a second counter starts" "$WORK/c2.out" "ready$"
kill -TERM "$C2"
wait_exit "$C2" 15
rc=$WAIT_RC
[ "$rc" = 0 ] && ok "SIGTERM: counter exits 0" || ko "SIGTERM: counter exit status $rc"
grep -q Sanitizer "$WORK/c2.err" && ko "counter (SIGTERM): sanitizer report"

# ---- pg_listener ---------------------------------------------------------------
LN=listener_$$
"$LISTENER" --name "$LN" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
  >"$WORK/listener.out" 2>"$WORK/listener.err" &
LPID=$!
PIDS+=($LPID)
check_file "pg_listener starts" "$WORK/listener.out" "^pg_listener $LN@$HOST joined pg:listeners$"
export LNODE=$LN@$HOST
mkfifo "$WORK/l.in"
# The Elixir node stays up until told (a line on its stdin), to see the
# member leave after the C node ends.
elixir --sname "ex_l_$$" --cookie "$COOKIE" -e "$EX_PRELUDE"'
l = String.to_atom(System.get_env("LNODE"))
t.("Node.connect", Node.connect(l) == true)
{:ok, _} = :pg.start_link()
members = eventually.(fn -> :pg.get_members(:pg, :listeners) |> then(&(&1 != [] && &1)) end, 5000)
t.("pg:get_members(:pg, :listeners) finds the C listener",
   is_list(members) and length(members) == 1 and node(hd(members)) == l)
:pg.get_members(:pg, :listeners) |> Enum.each(&send(&1, :hello))
IO.puts("SENT")
IO.gets("")
t.("the member is gone once the C node ended",
   eventually.(fn -> :pg.get_members(:pg, :listeners) == [] end, 5000) == true)
IO.puts("DONE")
' <"$WORK/l.in" >"$WORK/l.out" 2>&1 &
PIDS+=($!)
printf -v EPID_l %s $!
exec {LFD}>"$WORK/l.in"
check_file "Elixir sent :hello to the group" "$WORK/l.out" "^SENT$" 30
check_file "pg_listener got it" "$WORK/listener.out" "^got hello$"
kill -TERM "$LPID"
wait_exit "$LPID" 15
rc=$WAIT_RC
[ "$rc" = 0 ] && ok "SIGTERM: pg_listener exits 0" || ko "SIGTERM: pg_listener exit status $rc"
grep -q Sanitizer "$WORK/listener.err" && ko "pg_listener: sanitizer report"
echo go >&"$LFD"
erl_wait l 30
erl_results l
finish

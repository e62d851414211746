#!/usr/bin/env bash
# Remote tasks across C and BEAM nodes, both ways, as Elixir's
# Task.Supervisor.async(...) |> Task.await does them:
#   Elixir -> C: a value, a crash (async_nolink + yield), undef,
#     Task.Supervisor.start_child, count_children of the C task supervisor,
#     and the C node dying mid-task (Task.await exits with nodedown);
#   C -> Elixir: a value, a crash, undef, an await timeout, and the
#     Elixir node dying mid-task (noconnection);
#   C -> C: a value, a crash, and the node dying mid-task.
# Usage: bash test_task.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/task_node

need elixir

C1=tk1_$$
C2=tk2_$$
C3=tk3_$$
EX=tkex_$$
cnode_start c1 "$C1" || { ko "task_node c1 starts"; finish; }
cnode_start c2 "$C2" || { ko "task_node c2 starts"; finish; }
cnode_start c3 "$C3" || { ko "task_node c3 starts"; finish; }

cat >"$WORK/task.exs" <<'EOF'
defmodule T do
  def add(a, b), do: a + b
  def crash(r), do: :erlang.error(r)
  def sleep(ms) do
    IO.puts("SLEEPING")
    Process.sleep(ms)
    :ok
  end
  def t(desc, true), do: IO.puts("PASS #{desc}")
  def t(desc, other), do: IO.puts("FAIL #{desc}: #{inspect(other, limit: 40)}")
end

{:ok, _} = Task.Supervisor.start_link(name: T.TaskSup)
c = String.to_atom(System.get_env("C1"))
c2 = String.to_atom(System.get_env("C2"))
T.t("ping the C node", Node.ping(c) == :pong)
sup = {T.TaskSup, c}

T.t("async/await on the C node", Task.Supervisor.async(sup, T, :add, [1, 2]) |> Task.await() == 3)
T.t("many tasks", Enum.map(1..20, fn i -> Task.Supervisor.async(sup, T, :add, [i, i]) end) |> Enum.map(&Task.await/1) == Enum.map(1..20, &(&1 * 2)))
crashed = Task.Supervisor.async_nolink(sup, T, :crash, [:oops]) |> Task.yield(5000)
T.t("a crashing C task: {:exit, {reason, stack}}", crashed == {:exit, {:oops, [{T, :crash, 1, []}]}})
undef = Task.Supervisor.async_nolink(sup, T, :nope, [1]) |> Task.yield(5000)
T.t("an unknown function: undef", undef == {:exit, {:undef, [{T, :nope, [1], []}]}})
Process.flag(:trap_exit, true)
linked = Task.Supervisor.async(sup, T, :crash, [:linked])
T.t("async links: the crash reaches the owner", (receive do {:EXIT, p, r} -> p == linked.pid and r == {:linked, [{T, :crash, 1, []}]} after 5000 -> :timeout end))
T.t("... and Task.await exits with it", (try do Task.await(linked, 1000); :no_exit catch :exit, {r, {Task, :await, _}} -> r == {:linked, [{T, :crash, 1, []}]} end))
Process.flag(:trap_exit, false)
{:ok, pid} = Task.Supervisor.start_child(sup, T, :add, [3, 4])
T.t("Task.Supervisor.start_child on the C node", is_pid(pid) and node(pid) == c)
T.t("no task left under the C supervisor", Enum.any?(1..100, fn _ -> Process.sleep(20); Supervisor.count_children(sup).active == 0 end))
T.t("Task.Supervisor.children", Task.Supervisor.children(sup) == [])

# the C node dies mid-task
T.t("ping c2", Node.ping(c2) == :pong)
me = self()
spawn(fn ->
  Process.flag(:trap_exit, true)
  t = Task.Supervisor.async({T.TaskSup, c2}, T, :sleep, [10000])
  send(me, {:mid, (try do Task.await(t, 20000) catch :exit, e -> e end)})
end)
# The shell kills c2 once the task says it runs there.
IO.puts("KILL_C2")
T.t("C node dies mid-task: Task.await exits with nodedown",
    (receive do {:mid, {{:nodedown, ^c2}, {Task, :await, [_, 20000]}}} -> true; {:mid, o} -> o after 10000 -> :timeout end))
IO.puts("DONE")
IO.puts("SERVING")
Process.sleep(:infinity)
EOF

C1="$C1@$HOST" C2="$C2@$HOST" elixir --sname "$EX" --cookie "$COOKIE" \
  "$WORK/task.exs" >"$WORK/e.out" 2>&1 &
PIDS+=($!)
EPID_e=$!
if eventually 40 grep_file "$WORK/e.out" '^(KILL_C2|FAIL ping)'; then
  eventually 10 grep_file "$WORK/c2.err" '^sleeping' ||
    ko "C node dies mid-task: the task never started on c2"
  kill_now "$(cnode_pid c2)"
  cnode_forget c2
fi
eventually 30 grep_file "$WORK/e.out" '^SERVING'
erl_results e

EXN=$EX@$HOST
SUP=Elixir.T.TaskSup
c_check c1 "C -> Elixir: a value" "task $SUP $EXN Elixir.T add [1,2]" '^ok 3$'
c_check c1 "C -> Elixir: a crash gives the exit reason" "task $SUP $EXN Elixir.T crash [oops]" "^exit \{oops,\[\{'Elixir.T',crash,1,"
c_check c1 "C -> Elixir: undef" "task $SUP $EXN Elixir.T nope [1]" "^exit \{undef,\[\{'Elixir.T',nope,\[1\]"
c_check c1 "C -> Elixir: await timeout" "task $SUP $EXN Elixir.T sleep [2000] 300" '^error NODUS_ETIMEDOUT$'
c_check c1 "C -> Elixir: no such supervisor" "task Elixir.Nope $EXN Elixir.T add [1,2]" '^error NODUS_ENOPROC$'
c_check c1 "C -> C: a value" "task $SUP $C3@$HOST Elixir.T add [40,2]" '^ok 42$'
c_check c1 "C -> C: a crash" "task $SUP $C3@$HOST Elixir.T crash [oops]" "^exit \{oops,\[\{'Elixir.T',crash,1,\[\]\}\]\}$"
c_check c1 "C -> own node" "task $SUP $C1@$HOST Elixir.T add [1,1]" '^ok 2$'

# mid-task deaths seen from C: send the command, kill the remote node once
# its task runs (its log gets one more "sleeping" line), read the answer.
count_in() { grep -c "$2" "$1" 2>/dev/null; }
more_in() { [ "$(count_in "$1" "$2")" -gt "$3" ]; }
mid_task() { # DESC PEER KILLPID LOGFILE PATTERN
  local before seen
  before=$(lines "$WORK/c1.out")
  seen=$(count_in "$4" "$5")
  echo "task $SUP $2 Elixir.T sleep [10000] 20000" >&"$CFD_c1"
  if eventually 10 more_in "$4" "$5" "$seen"; then
    kill_now "$3"
  else
    ko "$1: the task never started (no new /$5/ in $4)"
    return
  fi
  if eventually 15 more_lines "$WORK/c1.out" "$before" &&
    [[ $(sed -n "$((before + 1))p" "$WORK/c1.out") == "error NODUS_ENOCONN" ]]; then
    ok "$1"
  else
    ko "$1: got '$(sed -n "$((before + 1))p" "$WORK/c1.out")'"
  fi
}
mid_task "C -> C: the node dies mid-task: NODUS_ENOCONN" "$C3@$HOST" "$(cnode_pid c3)" "$WORK/c3.err" '^sleeping'
cnode_forget c3
mid_task "C -> Elixir: the node dies mid-task: NODUS_ENOCONN" "$EXN" "$EPID_e" "$WORK/e.out" '^SLEEPING'
c_check c1 "C node still works" "task $SUP $C1@$HOST Elixir.T add [2,2]" '^ok 4$'
finish

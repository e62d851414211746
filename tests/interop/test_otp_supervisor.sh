#!/usr/bin/env bash
# A C supervisor seen from Elixir: the Supervisor functions work on it
# (which_children, count_children, terminate/restart/delete_child), its
# one_for_all strategy restarts every child when one crashes, and past
# its restart intensity it stops its children, last started first, and
# exits with reason shutdown, which an Elixir monitor sees.
# (Strategies, restart types, shutdown timeouts and dynamic children in
# detail: tests/unit/test_supervisor.c.)
# Usage: bash test_otp_supervisor.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/task_node

need elixir

C1=sv1_$$
cnode_start c1 "$C1" || { ko "task_node c1 starts"; finish; }
c_check c1 "the C supervisor lists its children" "kids workers" '^ok \[\{a,<[0-9.]+>,worker,\[\]\},\{b,<.*\{c,<'

cat >"$WORK/sup.exs" <<'EOF'
defmodule T do
  def t(desc, true), do: IO.puts("PASS #{desc}")
  def t(desc, other), do: IO.puts("FAIL #{desc}: #{inspect(other, limit: 40)}")
  def pids(sup), do: Map.new(Supervisor.which_children(sup), fn {id, p, _, _} -> {id, p} end)
  def until(f, n \\ 200) do
    cond do
      f.() -> true
      n == 0 -> false
      true -> Process.sleep(20); until(f, n - 1)
    end
  end
end

c = String.to_atom(System.get_env("C1"))
sup = {:workers, c}
T.t("ping the C node", Node.ping(c) == :pong)
kids = Supervisor.which_children(sup)
T.t("which_children", Enum.sort(Enum.map(kids, fn {id, p, type, mods} -> {id, is_pid(p) and node(p) == c, type, mods} end)) ==
      [{:a, true, :worker, []}, {:b, true, :worker, []}, {:c, true, :worker, []}])
T.t("count_children", Supervisor.count_children(sup) == %{specs: 3, active: 3, supervisors: 0, workers: 3})

# one_for_all: b crashes, all three restart
before = T.pids(sup)
send(before[:b], {:crash, :boom})
T.t("one_for_all restarts every child", T.until(fn ->
  now = T.pids(sup)
  Enum.all?([:a, :b, :c], fn id -> is_pid(now[id]) and now[id] != before[id] end)
end))

# terminate / restart / delete over the wire
T.t("terminate_child", Supervisor.terminate_child(sup, :c) == :ok)
T.t("the terminated child is undefined", T.pids(sup)[:c] == :undefined)
T.t("count_children after terminate", Supervisor.count_children(sup).active == 2)
T.t("terminate_child of an unknown id", Supervisor.terminate_child(sup, :zz) == {:error, :not_found})
{:ok, cpid} = Supervisor.restart_child(sup, :c)
T.t("restart_child", is_pid(cpid) and T.pids(sup)[:c] == cpid)
T.t("delete_child of a running child", Supervisor.delete_child(sup, :c) == {:error, :running})

# intensity 2 in 10 s: one restart so far; two more crashes exceed it
smon = Process.monitor(sup)
p1 = T.pids(sup)
send(p1[:a], {:crash, :boom})
T.t("second restart", T.until(fn -> p = T.pids(sup); is_pid(p[:a]) and p[:a] != p1[:a] end))
p2 = T.pids(sup)
mons = Map.new(p2, fn {id, p} -> {Process.monitor(p), id} end)
send(p2[:a], {:crash, :boom})
T.t("past the intensity the supervisor exits with shutdown",
    (receive do {:DOWN, ^smon, :process, _, r} -> r == :shutdown after 5000 -> :timeout end))
downs = for _ <- 1..3, do: (receive do {:DOWN, ref, :process, _, r} -> {mons[ref], r} after 5000 -> :timeout end)
T.t("children stopped last first, with shutdown", downs == [a: :boom, c: :shutdown, b: :shutdown])
IO.puts("DONE")
EOF

C1="$C1@$HOST" elixir --sname "svex$$" --cookie "$COOKIE" "$WORK/sup.exs" >"$WORK/e.out" 2>&1 &
PIDS+=($!)
EPID_e=$!
erl_wait e 40
erl_results e
c_check c1 "the supervisor is gone on the C side" "kids workers" '^error NODUS_ENOPROC$'
finish

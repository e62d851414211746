#!/usr/bin/env bash
# Story 004's background job seen from Elixir: two examples/singleton_worker
# C nodes (availability mode, --peers each other) and a real elixir node.
#   - :global.whereis_name(:background_work) is the one instance, on a C
#     node, and GenServer.call({:global, :background_work}, :whoami)
#     reaches it ({:ok, node, epoch}, that very node);
#   - kill -9 of its node (from Elixir, System.cmd): the name comes back
#     on the other C node, and the call answers from there with a higher
#     epoch.
# Usage: bash test_singleton_elixir.sh BUILD_DIR
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
WORKER=$BUILD_DIR/bin/singleton_worker
[ -x "$WORKER" ] || { ko "no $WORKER"; finish; }

A=sw_a_$$ B=sw_b_$$
for me in A B; do
  name=${!me}
  [ $me = A ] && peer=$B || peer=$A
  "$WORKER" --name "$name@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" \
    --mode availability --peers "$peer@$HOST" --period-ms 200 \
    >"$WORK/$me.out" 2>"$WORK/$me.err" &
  PIDS+=($!)
  printf -v "WPID_$me" %s $!
done
check_file "singleton_worker A starts" "$WORK/A.out" "ready"
check_file "singleton_worker B starts" "$WORK/B.out" "ready"
export SW_A=$A@$HOST SW_B=$B@$HOST SW_PID_A=$WPID_A SW_PID_B=$WPID_B

elixir --sname "ex_sw_$$" --cookie "$COOKIE" -e '
t = fn
  d, true -> IO.puts("PASS #{d}")
  d, other -> IO.puts("FAIL #{d}: #{inspect(other, limit: 20)}")
end
eventually = fn f, ms ->
  until = System.monotonic_time(:millisecond) + ms
  loop = fn loop ->
    v = try do f.() catch _, _ -> false end
    cond do
      v -> v
      System.monotonic_time(:millisecond) > until -> v
      true -> Process.sleep(20); loop.(loop)
    end
  end
  loop.(loop)
end
a = String.to_atom(System.get_env("SW_A"))
b = String.to_atom(System.get_env("SW_B"))
pids = %{a => System.get_env("SW_PID_A"), b => System.get_env("SW_PID_B")}
t.("Node.connect to both C nodes", Node.connect(a) and Node.connect(b))
pid = eventually.(fn -> p = :global.whereis_name(:background_work); is_pid(p) && p end, 10000)
t.(":global.whereis_name(:background_work) is a pid on a C node",
   is_pid(pid) and node(pid) in [a, b])
owner = node(pid)
{:ok, who, e1} = GenServer.call({:global, :background_work}, :whoami)
t.("GenServer.call({:global, :background_work}, :whoami) answers from that node",
   who == owner)
other = if owner == a, do: b, else: a
{_, 0} = System.cmd("kill", ["-9", pids[owner]])
pid2 = eventually.(fn ->
  p = :global.whereis_name(:background_work)
  is_pid(p) and node(p) == other and p
end, 10000)
t.("after kill -9 of its node the name is on the other C node", is_pid(pid2))
r = eventually.(fn ->
  case GenServer.call({:global, :background_work}, :whoami, 1000) do
    {:ok, ^other, e2} when e2 > e1 -> {:ok, e2}
    _ -> false
  end
end, 10000)
t.("the call answers from there, with a higher epoch", match?({:ok, _}, r))
IO.puts("DONE")
' >"$WORK/ex.out" 2>&1 &
PIDS+=($!)
printf -v EPID_ex %s $!
erl_wait ex 60
erl_results ex
for me in A B; do
  grep -q Sanitizer "$WORK/$me.err" && ko "singleton_worker $me: sanitizer report"
done
finish

#!/usr/bin/env bash
# BEAM -> C, OTP layer: an Elixir node uses C gen_servers and C functions
# as it would Elixir ones.
#   GenServer.call/cast to C servers (alias-tagged calls), a deferred reply,
#   the timeout exit (compared with an Elixir server's), noproc, a server
#   that stops (with and without a reply), node down mid-call;
#   :rpc.call and :erpc.call into C: ok, undef, error/exit/throw, timeout;
#   the nodus introspection module.
# Usage: bash test_otp_beam_to_c.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/otp_node

need elixir

C1=oc1_$$
C2=oc2_$$
cnode_start c1 "$C1" || { ko "otp_node c1 starts"; finish; }
cnode_start c2 "$C2" || { ko "otp_node c2 starts"; finish; }

cat >"$WORK/beam_to_c.exs" <<'EOF'
defmodule Slow do
  use GenServer
  def init(x), do: {:ok, x}
  def handle_call(_req, _from, s) do
    Process.sleep(2000)
    {:reply, :late, s}
  end
end

defmodule T do
  def t(desc, true), do: IO.puts("PASS #{desc}")
  def t(desc, other), do: IO.puts("FAIL #{desc}: #{inspect(other, limit: 40)}")
  def exit_of(f) do
    try do
      f.()
      :no_exit
    catch
      :exit, r -> r
    end
  end
  def raised(f) do
    try do
      {:value, f.()}
    catch
      c, r -> {c, r}
    end
  end
end

c = String.to_atom(System.get_env("C1"))
c2 = String.to_atom(System.get_env("C2"))
T.t("ping the C node", Node.ping(c) == :pong)
T.t("C node is visible", c in Node.list())

# gen_server calls and casts
T.t("GenServer.call gets the C reply", GenServer.call({:echo, c}, {:hi, [1, 2]}) == {:echo, {:hi, [1, 2]}})
T.t("many calls in a row", Enum.all?(1..200, fn i -> GenServer.call({:echo, c}, i) == {:echo, i} end))

T.t("a deferred reply (nodus_gen_reply)", GenServer.call({:deferred, c}, :x) == {:later, :x})
GenServer.cast({:echo, c}, {:note, self(), :casted})
T.t("GenServer.cast reaches the C server", (receive do {:noted, :casted} -> true after 5000 -> :timeout end))
old_tag = make_ref()
send({:echo, c}, {:"$gen_call", {self(), old_tag}, :old_style})
T.t("an old-style (ref) tag is answered to the pid", (receive do {^old_tag, r} -> r == {:echo, :old_style} after 5000 -> :timeout end))

# the timeout exit is the one an Elixir server gives
{:ok, _} = GenServer.start(Slow, nil, name: :ex_slow)
ex_exit = T.exit_of(fn -> GenServer.call(:ex_slow, :x, 200) end)
c_exit = T.exit_of(fn -> GenServer.call({:slow, c}, :x, 200) end)
T.t("Elixir server timeout shape", ex_exit == {:timeout, {GenServer, :call, [:ex_slow, :x, 200]}})
T.t("C server timeout: same exit", c_exit == {:timeout, {GenServer, :call, [{:slow, c}, :x, 200]}})
Process.sleep(2200)
T.t("the late reply was dropped", (receive do m -> {:unexpected, m} after 100 -> true end))

T.t("noproc for an unknown name", T.exit_of(fn -> GenServer.call({:nobody, c}, :x, 1000) end) == {:noproc, {GenServer, :call, [{:nobody, c}, :x, 1000]}})
T.t("stop without reply: the caller exits with the reason",
    T.exit_of(fn -> GenServer.call({:stopper, c}, {:stop, :boom}) end) == {:boom, {GenServer, :call, [{:stopper, c}, {:stop, :boom}, 5000]}})
T.t("the stopped server is gone", :rpc.call(c, :nodus, :process_info, [:stopper]) == :undefined)

# rpc and erpc into C
T.t("rpc ok", :rpc.call(c, :nodus_test, :add, [1, 2]) == 3)
T.t("rpc undef", :rpc.call(c, :nodus_test, :nope, [1]) == {:badrpc, {:EXIT, {:undef, [{:nodus_test, :nope, [1], []}]}}})
T.t("rpc error", :rpc.call(c, :nodus_test, :raise, [:error]) == {:badrpc, {:EXIT, {:oops, [{:nodus_test, :raise, 1, []}]}}})
T.t("rpc exit", :rpc.call(c, :nodus_test, :raise, [:exit]) == {:badrpc, {:EXIT, :oops}})
T.t("rpc throw", :rpc.call(c, :nodus_test, :raise, [:throw]) == :oops)
T.t("rpc timeout", :rpc.call(c, :nodus_test, :sleep, [1500], 200) == {:badrpc, :timeout})
T.t("erpc ok", :erpc.call(c, :nodus_test, :add, [20, 22]) == 42)
T.t("erpc undef", T.raised(fn -> :erpc.call(c, :nodus_test, :nope, [1]) end) == {:error, {:exception, :undef, [{:nodus_test, :nope, [1], []}]}})
T.t("erpc error", T.raised(fn -> :erpc.call(c, :nodus_test, :raise, [:error]) end) == {:error, {:exception, :oops, [{:nodus_test, :raise, 1, []}]}})
T.t("erpc exit", T.raised(fn -> :erpc.call(c, :nodus_test, :raise, [:exit]) end) == {:exit, {:exception, :oops}})
T.t("erpc throw", T.raised(fn -> :erpc.call(c, :nodus_test, :raise, [:throw]) end) == {:throw, :oops})
T.t("erpc timeout", T.raised(fn -> :erpc.call(c, :nodus_test, :sleep, [1500], 200) end) == {:error, {:erpc, :timeout}})
T.t("erpc bad arguments (badarg)", elem(T.raised(fn -> :erpc.call(c, :nodus_test, :add, [:a, 1]) end), 1) |> elem(1) == :badarg)
:erpc.cast(c, :nodus_test, :add, [1, 1])
T.t("rpc after all that", :rpc.call(c, :nodus_test, :add, [2, 2]) == 4)

# introspection
regs = :rpc.call(c, :nodus, :registered, [])
T.t("nodus:registered lists the servers", is_list(regs) and :echo in regs and :rex in regs)
T.t("nodus:nodes lists us", node() in :rpc.call(c, :nodus, :nodes, []))
info = :rpc.call(c, :nodus, :process_info, [:echo])
T.t("nodus:process_info", is_list(info) and info[:registered_name] == :echo and info[:message_queue_len] == 0 and info[:status] in [:waiting, :running, :runnable])
# No pg scope runs there: badarg, as pg:which_groups/1 is on BEAM.
T.t("nodus:pg_which_groups without the scope", match?({:badrpc, {:EXIT, {:badarg, _}}}, :rpc.call(c, :nodus, :pg_which_groups, [:pg])))
T.t("nodus:pg_get_members without the scope", :rpc.call(c, :nodus, :pg_get_members, [:pg, :g]) == [])
T.t("nodus:global_names", :rpc.call(c, :nodus, :global_names, []) == [])

# node down mid-call: the second C node is killed while we wait on it
T.t("ping c2", Node.ping(c2) == :pong)
me = self()
spawn(fn -> send(me, {:down_exit, T.exit_of(fn -> GenServer.call({:slow, c2}, :x, :infinity) end)}) end)
# The shell kills c2 once its slow server says the call arrived (it replies
# after 2 s).
IO.puts("KILL_C2")
T.t("node down mid-call: {:nodedown, node}", (receive do {:down_exit, e} -> e == {{:nodedown, c2}, {GenServer, :call, [{:slow, c2}, :x, :infinity]}} after 10000 -> :timeout end))
T.t("rpc to the dead node: nodedown", :rpc.call(c2, :nodus_test, :add, [1, 2]) == {:badrpc, :nodedown})
T.t("C node still up", :rpc.call(c, :nodus_test, :add, [1, 2]) == 3)
IO.puts("DONE")
EOF

C1="$C1@$HOST" C2="$C2@$HOST" elixir --sname "ex$$" --cookie "$COOKIE" \
  "$WORK/beam_to_c.exs" >"$WORK/e.out" 2>&1 &
PIDS+=($!)
EPID_e=$!
if eventually 40 grep_file "$WORK/e.out" '^(KILL_C2|DONE)'; then
  # Killed mid-call: only once the call is in the server, never by a guess.
  if eventually 10 grep_file "$WORK/c2.err" '^slow: call$'; then
    kill_now "$(cnode_pid c2)"
  else
    ko "node down mid-call: the call never reached c2's slow server"
    kill_now "$(cnode_pid c2)"
  fi
  cnode_forget c2
fi
erl_wait e 30
erl_results e
finish

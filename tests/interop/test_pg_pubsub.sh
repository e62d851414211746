#!/usr/bin/env bash
# Pub/sub with Phoenix.PubSub's PG2 wire format: a C node (pg_node
# --pubsub) and an Elixir node running tests/interop/
# phoenix_pubsub_fixture.exs share the PubSub MyApp.PubSub.
#   the C worker joins 'Elixir.MyApp.PubSub.Adapter' in scope
#   'Elixir.Phoenix.PubSub'; Elixir broadcasts reach a C subscriber; C
#   broadcasts reach Elixir subscribers exactly once; local_broadcast stays
#   local; broadcast_from skips the sender; unsubscribe stops delivery.
# Usage: bash test_pg_pubsub.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/pg_node
FIXTURE=$(cd "$(dirname "$0")" && pwd)/phoenix_pubsub_fixture.exs
need elixir
[ -x "$DIST_NODE" ] || { ko "no $DIST_NODE"; finish; }

CNAME=psc_$$
cnode_start c "$CNAME" --pubsub Elixir.MyApp.PubSub || { ko "pg_node starts"; finish; }

cat >"$WORK/test.exs" <<'EOF'
c = String.to_atom(System.get_env("CNODE"))
t = fn desc, res ->
  if res == true, do: IO.puts("PASS #{desc}"), else: IO.puts("FAIL #{desc}: #{inspect(res)}")
end
call = fn cmd ->
  ref = make_ref()
  send({:agent, c}, {self(), ref, cmd})
  receive do {^ref, r} -> r after 5000 -> {:timeout, cmd} end
end
eventually = fn f ->
  until = System.monotonic_time(:millisecond) + 5000
  Stream.repeatedly(fn -> f.() end)
  |> Enum.find(fn r -> r == true or (Process.sleep(10) && System.monotonic_time(:millisecond) > until) end)
  |> Kernel.==(true)
end
# Everything the C agent received so far (it forgets what it hands out).
seen = fn ->
  all = (Process.get(:seen) || []) ++ call.(:received)
  Process.put(:seen, all)
  all
end
quiet = fn msg -> receive do ^msg -> {:unexpected, msg} after 300 -> true end end

{:ok, _} = :pg.start_link(Phoenix.PubSub)
{:ok, _} = Phoenix.PubSub.start_link(name: MyApp.PubSub)
t.("ping the C node", Node.ping(c) == :pong)
group = :"Elixir.MyApp.PubSub.Adapter"
t.("the C worker joins #{group}",
  eventually.(fn -> Enum.any?(:pg.get_members(Phoenix.PubSub, group), &(node(&1) == c)) end))

# Elixir -> C
t.("C subscribes to room:c", call.({:subscribe, "room:c"}) == :ok)
Phoenix.PubSub.broadcast(MyApp.PubSub, "room:c", {:hello, :from_elixir})
t.("a C subscriber gets an Elixir broadcast",
  eventually.(fn -> {:hello, :from_elixir} in seen.() end))
Phoenix.PubSub.broadcast_from(MyApp.PubSub, self(), "room:c", :from_elixir_from)
t.("... and an Elixir broadcast_from", eventually.(fn -> :from_elixir_from in seen.() end))
send({group, c}, {:forward_to_local, "room:c", :direct, Phoenix.PubSub})
t.("the C worker is registered under the group name (direct_broadcast)",
  eventually.(fn -> :direct in seen.() end))

# C -> Elixir
:ok = Phoenix.PubSub.subscribe(MyApp.PubSub, "room:e")
t.("C broadcast", call.({:broadcast, "room:e", {:hi, :from_c}}) == :ok)
t.("an Elixir subscriber gets a C broadcast",
  receive do {:hi, :from_c} -> true after 3000 -> :timeout end)
t.("... exactly once (one forward_to_local per node)", quiet.({:hi, :from_c}))
call.({:local_broadcast, "room:e", :local_only})
t.("a C local_broadcast stays on the C node", quiet.(:local_only))

# Both sides subscribed to room:e.
t.("C subscribes to room:e", call.({:subscribe, "room:e"}) == :ok)
call.({:broadcast, "room:e", :to_all})
t.("C broadcast reaches Elixir", receive do :to_all -> true after 3000 -> :timeout end)
t.("C broadcast reaches the C subscriber", eventually.(fn -> :to_all in seen.() end))
call.({:broadcast_from, "room:e", :not_to_me})
t.("C broadcast_from reaches Elixir", receive do :not_to_me -> true after 3000 -> :timeout end)
call.({:broadcast, "room:e", :marker1})
t.("C broadcast_from skips the sender",
  eventually.(fn -> :marker1 in seen.() end) and :not_to_me not in seen.())

# Unsubscribe on the C side.
t.("C unsubscribes from room:c", call.({:unsubscribe, "room:c"}) == :ok)
Phoenix.PubSub.broadcast(MyApp.PubSub, "room:c", :after_unsubscribe)
Phoenix.PubSub.broadcast(MyApp.PubSub, "room:e", :marker2)
t.("no delivery after unsubscribe",
  eventually.(fn -> :marker2 in seen.() end) and :after_unsubscribe not in seen.())
IO.puts("DONE")
EOF
export CNODE=$CNAME@$HOST
elixir --sname "psx_$$" --cookie "$COOKIE" -r "$FIXTURE" "$WORK/test.exs" >"$WORK/ex.out" 2>&1 &
PIDS+=($!)
EPID_ex=$!
erl_wait ex 60
erl_results ex
finish

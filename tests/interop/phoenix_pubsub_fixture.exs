# Phoenix.PubSub with its PG2 adapter, written again for the tests from
# the format phoenix_pubsub's lib/phoenix/pubsub.ex and pg2.ex define
# (Phoenix is not installable here). What must match the real thing:
#   - pg scope Phoenix.PubSub ('Elixir.Phoenix.PubSub');
#   - groups :"#{name}.Adapter", then :"#{name}.Adapter_2" ... per pool;
#   - one worker per group, registered under the group's name and joined
#     to it; it answers {:forward_to_local, topic, msg, dispatcher} with a
#     local dispatch;
#   - a broadcast sends that tuple to every member of one pool group that
#     is on another node, then dispatches locally;
#   - local subscribers live in a duplicate-key Registry named after the
#     PubSub; the default dispatcher sends msg to every entry but `from`.
defmodule Phoenix.PubSub do
  def child_spec(opts) do
    %{id: Keyword.fetch!(opts, :name), start: {__MODULE__, :start_link, [opts]}, type: :supervisor}
  end

  def start_link(opts) do
    name = Keyword.fetch!(opts, :name)
    adapter_name = Module.concat(name, "Adapter")
    children = [
      {Registry, keys: :duplicate, name: name, meta: [pubsub: {Phoenix.PubSub.PG2, adapter_name}]},
      {Phoenix.PubSub.PG2,
       name: name, adapter_name: adapter_name, pool_size: Keyword.get(opts, :pool_size, 1)}
    ]
    Supervisor.start_link(children, strategy: :rest_for_one, name: Module.concat(name, "Supervisor"))
  end

  def subscribe(pubsub, topic) when is_binary(topic) do
    {:ok, _} = Registry.register(pubsub, topic, nil)
    :ok
  end

  def unsubscribe(pubsub, topic), do: Registry.unregister(pubsub, topic)

  def broadcast(pubsub, topic, message, dispatcher \\ __MODULE__),
    do: broadcast_from_pid(pubsub, :none, topic, message, dispatcher)

  def broadcast_from(pubsub, from, topic, message, dispatcher \\ __MODULE__),
    do: broadcast_from_pid(pubsub, from, topic, message, dispatcher)

  def local_broadcast(pubsub, topic, message, dispatcher \\ __MODULE__),
    do: dispatch(pubsub, :none, topic, message, dispatcher)

  # What the adapter's worker calls for a forwarded broadcast.
  def local_dispatch(pubsub, topic, message, dispatcher),
    do: dispatch(pubsub, :none, topic, message, dispatcher)

  # The default dispatcher.
  def dispatch(entries, from, message) do
    Enum.each(entries, fn {pid, _} -> if pid != from, do: send(pid, message) end)
    :ok
  end

  defp broadcast_from_pid(pubsub, from, topic, message, dispatcher) do
    {:ok, {adapter, adapter_name}} = Registry.meta(pubsub, :pubsub)
    with :ok <- adapter.broadcast(adapter_name, topic, message, dispatcher) do
      dispatch(pubsub, from, topic, message, dispatcher)
    end
  end

  defp dispatch(pubsub, from, topic, message, dispatcher) do
    Registry.dispatch(pubsub, topic, {dispatcher, :dispatch, [from, message]})
    :ok
  end
end

defmodule Phoenix.PubSub.PG2 do
  use Supervisor

  def start_link(opts) do
    Supervisor.start_link(__MODULE__, opts, name: :"#{opts[:adapter_name]}_supervisor")
  end

  @impl true
  def init(opts) do
    adapter_name = opts[:adapter_name]
    groups =
      for n <- 1..opts[:pool_size] do
        if n == 1, do: adapter_name, else: :"#{adapter_name}_#{n}"
      end
    :persistent_term.put(adapter_name, List.to_tuple(groups))
    children =
      for g <- groups do
        Supervisor.child_spec({Phoenix.PubSub.PG2Worker, {opts[:name], g}}, id: g)
      end
    Supervisor.init(children, strategy: :one_for_one)
  end

  def broadcast(adapter_name, topic, message, dispatcher) do
    groups = :persistent_term.get(adapter_name)
    group = elem(groups, :erlang.phash2(self(), tuple_size(groups)))
    forward = {:forward_to_local, topic, message, dispatcher}
    for pid <- :pg.get_members(Phoenix.PubSub, group), node(pid) != node(), do: send(pid, forward)
    :ok
  end
end

defmodule Phoenix.PubSub.PG2Worker do
  use GenServer

  def start_link({name, group}), do: GenServer.start_link(__MODULE__, {name, group}, name: group)

  @impl true
  def init({name, group}) do
    :ok = :pg.join(Phoenix.PubSub, group, self())
    {:ok, name}
  end

  @impl true
  def handle_info({:forward_to_local, topic, message, dispatcher}, pubsub) do
    Phoenix.PubSub.local_dispatch(pubsub, topic, message, dispatcher)
    {:noreply, pubsub}
  end

  def handle_info(_, pubsub), do: {:noreply, pubsub}
end

# The user cache of examples/user_cache.c, in Elixir, on the same wire:
# one process per node in pg group :caches of scope :users, writes sent as
# {:user_put, {Id, Name, Version, Origin}} to every other member, whole
# caches as {:user_sync, Node, Entries} to a member whose join we see
# (pg:monitor, OTP 25.1+). Ids and names are binaries, versions a Lamport
# clock, ties broken by the greater node name, as in C. So an Elixir node
# is just one more cache in a cluster of C nodes (scripts/demo.sh).
#
#   Code.require_file("examples/user_cache.exs")
#   UserCache.start()          # once per node
#   UserCache.put("1", "alice")
#   UserCache.dump()           # "dump 1 1=alice", as user_cache's dump
#
# Events print as in C: "update ID NAME from NODE", "merged N from NODE".
# Unlike the C cache it does not redial after a nodedown: the C caches
# dial it.
defmodule UserCache do
  @scope :users
  @group :caches

  def start do
    case :pg.start(@scope) do
      {:ok, _} -> :ok
      {:error, {:already_started, _}} -> :ok
    end

    pid = spawn(fn -> init() end)
    Process.register(pid, :user_cache)
    pid
  end

  def put(id, name), do: call({:put, id, name})
  def dump, do: call(:dump)

  defp call(request) do
    ref = make_ref()
    send(:user_cache, {request, self(), ref})

    receive do
      {^ref, reply} -> reply
    after
      5000 -> :timeout
    end
  end

  # Monitor before joining, so no cache that joins meanwhile is missed.
  defp init do
    {_ref, _already} = :pg.monitor(@scope, @group)
    :ok = :pg.join(@scope, @group, self())
    loop(%{}, 0)
  end

  defp loop(cache, clock) do
    receive do
      {:user_put, entry} ->
        {cache, clock, applied} = merge(cache, clock, entry)
        {id, name, _, origin} = entry
        if applied, do: IO.puts("update #{id} #{name} from #{origin}")
        loop(cache, clock)

      {:user_sync, peer, entries} ->
        {cache, clock, n} =
          Enum.reduce(entries, {cache, clock, 0}, fn e, {c, k, n} ->
            {c, k, applied} = merge(c, k, e)
            {c, k, if(applied, do: n + 1, else: n)}
          end)

        IO.puts("merged #{n} from #{peer}")
        loop(cache, clock)

      {_ref, :join, @group, pids} ->
        sync = {:user_sync, node(), Map.values(cache)}
        for pid <- pids, pid != self(), do: send(pid, sync)
        loop(cache, clock)

      {{:put, id, name}, from, ref} ->
        entry = {id, name, clock + 1, node()}
        {cache, clock, _} = merge(cache, clock, entry)

        for pid <- :pg.get_members(@scope, @group), pid != self(),
            do: send(pid, {:user_put, entry})

        send(from, {ref, :ok})
        loop(cache, clock)

      {:dump, from, ref} ->
        items =
          cache
          |> Map.values()
          |> Enum.sort()
          |> Enum.map(fn {id, name, _, _} -> "#{id}=#{name}" end)

        send(from, {ref, "dump #{length(items)} " <> Enum.join(items, ",")})
        loop(cache, clock)

      _ ->
        loop(cache, clock)
    end
  end

  # The newest {version, origin} wins; the clock moves past every version seen.
  defp merge(cache, clock, {id, _, version, origin} = entry) do
    clock = max(clock, version)

    case cache do
      %{^id => {_, _, v, o}} when {v, o} >= {version, origin} -> {cache, clock, false}
      _ -> {Map.put(cache, id, entry), clock, true}
    end
  end
end

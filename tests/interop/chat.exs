# The chat of the OTP distribution lesson, in Elixir, as the C example
# (examples/chat.c) must interoperate with it. Run it as
#   elixir --sname NAME --cookie C chat.exs
# stdin: "send NODE TEXT"; stdout: each received message; stderr: "ready
# NODE", then "sent NODE" or "error NODE REASON" per send.
defmodule Chat do
  def receive_message(message) do
    IO.puts(message)
  end

  # The lesson matches :moebi@localhost; here any node named moebi.
  def send_message(recipient, message) do
    if String.starts_with?(Atom.to_string(recipient), "moebi@") do
      spawn_task(__MODULE__, :receive_message_for_moebi, recipient, [message, Node.self()])
    else
      spawn_task(__MODULE__, :receive_message, recipient, [message])
    end
  end

  def spawn_task(module, fun, recipient, args) do
    recipient
    |> remote_supervisor()
    |> Task.Supervisor.async(module, fun, args)
    |> Task.await()
  end

  defp remote_supervisor(recipient) do
    {Chat.TaskSupervisor, recipient}
  end

  def receive_message_for_moebi(message, from) do
    IO.puts(message)
    send_message(from, "chicken?")
  end
end

defmodule Chat.Script do
  def loop do
    case IO.gets("") do
      :eof -> :ok
      {:error, _} -> :ok
      line ->
        case String.split(String.trim_trailing(line, "\n"), " ", parts: 3) do
          ["send", node, text] ->
            node = if String.contains?(node, "@"), do: node,
                   else: node <> "@" <> (Node.self() |> Atom.to_string() |> String.split("@") |> List.last())
            node = String.to_atom(node)
            try do
              Chat.send_message(node, text)
              IO.puts(:stderr, "sent #{node}")
            catch
              kind, reason -> IO.puts(:stderr, "error #{node} #{inspect({kind, reason})}")
            end
          _ -> :ok
        end
        loop()
    end
  end
end

{:ok, _} = Task.Supervisor.start_link(name: Chat.TaskSupervisor)
IO.puts(:stderr, "ready #{Node.self()}")
Chat.Script.loop()

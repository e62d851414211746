#!/usr/bin/env bash
# C -> BEAM (and C -> C), OTP layer: a C node calls Elixir GenServers and
# runs rpc/erpc on an Elixir node.
#   nodus_call: reply, noproc, timeout (late reply dropped), the server's
#   exit reason, node that does not exist, node killed mid-call; nodus_cast;
#   nodus_rpc / nodus_erpc: ok, undef, error/exit/throw, timeout, nodedown;
#   the same calls and rpc between two C nodes.
# Usage: bash test_otp_c_to_beam.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
DIST_NODE=$BUILD_DIR/bin/otp_node

need elixir

C1=occ1_$$
C2=occ2_$$
EX=oex_$$
EXN=$EX@$HOST
cnode_start c1 "$C1" || { ko "otp_node c1 starts"; finish; }
cnode_start c2 "$C2" || { ko "otp_node c2 starts"; finish; }

cat >"$WORK/fixture.exs" <<'EOF'
defmodule Counter do
  use GenServer
  def init(n), do: {:ok, n}
  def handle_call(:get, _from, n), do: {:reply, n, n}
  def handle_call({:add, k}, _from, n), do: {:reply, n + k, n + k}
  def handle_call({:sleep, ms}, _from, n) do
    IO.puts("SLEEPING #{ms}")
    Process.sleep(ms)
    {:reply, :slept, n}
  end
  def handle_call({:stop, r}, _from, n), do: {:stop, r, n}
  def handle_cast({:set, k}, _n), do: {:noreply, k}
end
{:ok, _} = GenServer.start(Counter, 0, name: :ex_counter)
{:ok, _} = GenServer.start(Counter, 0, name: :ex_stopper)
IO.puts("READY")
Process.sleep(:infinity)
EOF
elixir --sname "$EX" --cookie "$COOKIE" "$WORK/fixture.exs" >"$WORK/ex.out" 2>&1 &
EXPID=$!
PIDS+=($EXPID)
eventually 30 grep_file "$WORK/ex.out" '^READY' || ko "the Elixir fixture starts"

T=$'\t'
# C -> Elixir GenServer
c_check c1 "call an Elixir GenServer" "call${T}{ex_counter, '$EXN'}${T}get${T}5000" '^reply 0$'
c_check c1 "cast to an Elixir GenServer" "cast${T}{ex_counter, '$EXN'}${T}{set, 7}" '^ok$'
c_check c1 "call after the cast sees it" "call${T}{ex_counter, '$EXN'}${T}{add, 1}${T}5000" '^reply 8$'
c_check c1 "noproc for an unknown Elixir name" "call${T}{nobody, '$EXN'}${T}get${T}5000" '^error NODUS_ENOPROC'
c_check c1 "timeout" "call${T}{ex_counter, '$EXN'}${T}{sleep, 600}${T}200" '^error NODUS_ETIMEDOUT'
c_check c1 "the late reply does not reach the next call" "call${T}{ex_counter, '$EXN'}${T}{add, 1}${T}5000" '^reply 9$' 
c_check c1 "the server's exit reason" "call${T}{ex_stopper, '$EXN'}${T}{stop, boom}${T}5000" '^error NODUS_EEXIT boom$'
c_check c1 "a node that does not exist: noconnection" "call${T}{ex_counter, 'nowhere_$$@$HOST'}${T}get${T}5000" '^error NODUS_ENOCONN'

# C -> Elixir rpc / erpc
c_check c1 "rpc ok" "rpc${T}$EXN${T}erlang${T}node${T}[]${T}5000" "^ok '?$EX@"
c_check c1 "rpc with arguments" "rpc${T}$EXN${T}lists${T}seq${T}[1, 3]${T}5000" '^ok \[1,2,3\]$'
c_check c1 "rpc undef" "rpc${T}$EXN${T}lists${T}nope${T}[1]${T}5000" "^badrpc \{badrpc,\{'EXIT',\{undef,\[\{lists,nope,\[1\],\[\]\}"
c_check c1 "rpc error" "rpc${T}$EXN${T}erlang${T}error${T}[oops]${T}5000" "^badrpc \{badrpc,\{'EXIT',\{oops,"
c_check c1 "rpc exit" "rpc${T}$EXN${T}erlang${T}exit${T}[bye]${T}5000" "^badrpc \{badrpc,\{'EXIT',bye\}\}$"
c_check c1 "rpc throw" "rpc${T}$EXN${T}erlang${T}throw${T}[up]${T}5000" '^ok up$'
c_check c1 "rpc timeout" "rpc${T}$EXN${T}timer${T}sleep${T}[1000]${T}200" '^badrpc \{badrpc,timeout\}$'
c_check c1 "erpc ok" "erpc${T}$EXN${T}erlang${T}abs${T}[-3]${T}5000" '^ok 3$'
c_check c1 "erpc undef" "erpc${T}$EXN${T}lists${T}nope${T}[1]${T}5000" '^raise \{error,\{exception,undef,\[\{lists,nope,\[1\],\[\]\}\]\}\}$'
c_check c1 "erpc error" "erpc${T}$EXN${T}erlang${T}error${T}[oops]${T}5000" '^raise \{error,\{exception,oops,'
c_check c1 "erpc exit" "erpc${T}$EXN${T}erlang${T}exit${T}[bye]${T}5000" '^raise \{exit,\{exception,bye\}\}$'
c_check c1 "erpc throw" "erpc${T}$EXN${T}erlang${T}throw${T}[up]${T}5000" '^raise \{throw,up\}$'
c_check c1 "erpc timeout" "erpc${T}$EXN${T}timer${T}sleep${T}[1000]${T}200" '^raise \{error,\{erpc,timeout\}\}$'
c_check c1 "rpc to a node that does not exist" "rpc${T}nowhere_$$@$HOST${T}erlang${T}node${T}[]${T}5000" '^badrpc \{badrpc,nodedown\}$'
c_check c1 "erpc to a node that does not exist" "erpc${T}nowhere_$$@$HOST${T}erlang${T}node${T}[]${T}5000" '^raise \{error,\{erpc,noconnection\}\}$'

# C -> C
C2N=$C2@$HOST
c_check c1 "C calls a C server" "call${T}{echo, '$C2N'}${T}{hi, 1}${T}5000" '^reply \{echo,\{hi,1\}\}$'
c_check c1 "C -> C noproc" "call${T}{nobody, '$C2N'}${T}x${T}5000" '^error NODUS_ENOPROC'
c_check c1 "C -> C timeout" "call${T}{slow, '$C2N'}${T}x${T}200" '^error NODUS_ETIMEDOUT'
c_check c1 "C -> C server stops" "call${T}{stopper, '$C2N'}${T}{stop, bad}${T}5000" '^error NODUS_EEXIT bad$'
c_check c1 "C -> C rpc" "rpc${T}$C2N${T}nodus_test${T}add${T}[1, 2]${T}5000" '^ok 3$'
c_check c1 "C -> C erpc error" "erpc${T}$C2N${T}nodus_test${T}raise${T}[error]${T}5000" '^raise \{error,\{exception,oops,\[\{nodus_test,raise,1,\[\]\}\]\}\}$'
c_check c1 "C -> C rpc undef" "rpc${T}$C2N${T}nodus_test${T}nope${T}[]${T}5000" "^badrpc \{badrpc,\{'EXIT',\{undef,"
c_check c1 "C -> C introspection" "rpc${T}$C2N${T}nodus${T}process_info${T}[echo]${T}5000" '^ok \[\{registered_name,echo\}'

# node down mid-call: the Elixir node is killed while C waits on it
c1fd=$CFD_c1
before=$(lines "$WORK/c1.out")
echo "call${T}{ex_counter, '$EXN'}${T}{sleep, 20000}${T}30000" >&"$c1fd"
# Killed only once the server says it has the call.
if ! eventually 10 grep_file "$WORK/ex.out" '^SLEEPING 20000$'; then
  ko "node killed mid-call: the call never reached the Elixir server"
fi
kill -9 "$EXPID"
if eventually 10 more_lines "$WORK/c1.out" "$before" &&
   sed -n "$((before + 1))p" "$WORK/c1.out" | grep -q '^error NODUS_ENOCONN'; then
  ok "node killed mid-call: NODUS_ENOCONN"
else
  ko "node killed mid-call: got '$(sed -n "$((before + 1))p" "$WORK/c1.out")'"
fi
c_check c1 "rpc to the dead node: nodedown" "rpc${T}$EXN${T}erlang${T}node${T}[]${T}5000" '^badrpc \{badrpc,nodedown\}$'
finish

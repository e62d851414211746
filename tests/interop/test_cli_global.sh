#!/usr/bin/env bash
# `nodus global names NODE` and `nodus global whereis NODE NAME` against a
# BEAM node and a C node (dist_node) of one cluster, and echo_node
# --global NAME: the names are the same on both nodes, whereis prints the
# pid (exit 0) or says undefined on stderr (exit 1), a node that is down
# is exit 1 with the badrpc on stderr, bad usage exit 2. The echo_node
# registered under --global answers global:send and gen_server:call.
source "$(dirname "$0")/dist_lib.sh" "$1"
source "$(dirname "$0")/global_lib.sh"
NODUS=$BUILD_DIR/bin/nodus
ECHO_NODE=$BUILD_DIR/bin/echo_node
E=clige$$ C=cligc$$ X=cligx$$ G=gecho$$

cnode_start c "$C" || { ko "dist_node starts"; finish; }
erl_ctl_start e "$E" || { ko "erl starts"; finish; }
"$ECHO_NODE" --name "$X" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --global "$G" \
  >"$WORK/x.out" 2>"$WORK/x.err" &
PIDS+=($!)
XPID=$!
eventually 10 grep_file "$WORK/x.out" 'ready on port' || ko "echo_node --global starts"

e_run e 'Now = fun() -> erlang:monotonic_time(millisecond) end.'
e_run e 'Eventually = fun Ev(F, U) -> case F() of true -> true; O -> case Now() > U of true -> O; false -> timer:sleep(5), Ev(F, U) end end end.'
e_check e "erl connects to the C node" "net_adm:ping('$C@$HOST')." '^pong$'
e_check e "erl connects to echo_node" "net_adm:ping('$X@$HOST')." '^pong$'
e_check e "echo_node's global name reaches erl" \
  "Eventually(fun() -> is_pid(global:whereis_name('$G')) end, Now() + 5000)." '^true$'
e_check e "gen_server:call({global, '$G'}) from erl: {echo, hi}" \
  "gen_server:call({global, '$G'}, hi, 5000)." '^\{echo,hi\}$'
e_check e "global:send to '$G' from erl is echoed" \
  "global:send('$G', {self(), there}), receive M -> M after 3000 -> timeout end." '^\{echo,there\}$'
e_check e "erl registers cli_b" "global:register_name(cli_b, spawn(timer, sleep, [infinity]))." '^yes$'
g_run c "spawn_echo P" '^ok <0\.'
g_check c "C node registers cli_c" 'global_register cli_c P' '^yes$'
g_run c "spawn_echo J" '^ok <0\.'
g_check c "C node registers {job, 7}" 'global_register {job, 7} J' '^yes$'
e_check e "erl sees cli_c" "Eventually(fun() -> is_pid(global:whereis_name(cli_c)) end, Now() + 5000)." '^true$'

run() { "$NODUS" "$@" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" --timeout 5000; }
# expect DESC WANT_EXIT WANT_OUTPUT_REGEX [WANT_STDERR_REGEX] -- ARGS...
expect() {
  local what=$1 want_rc=$2 want=$3 want_err=
  shift 3
  [ "$1" != -- ] && { want_err=$1; shift; }
  shift
  local out rc
  out=$(run "$@" 2>"$WORK/cli.err")
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && printf '%s\n' "$out" | grep -Eq "$want" &&
     { [ -z "$want_err" ] || grep -Eq "$want_err" "$WORK/cli.err"; }; then
    ok "$what"
  else
    ko "$what (exit $rc, output: $out $(cat "$WORK/cli.err"))"
  fi
}
# names_have NODE NAME...: nodus global names NODE lists every NAME.
names_have() {
  local node=$1 out n
  shift
  out=$(run global names "$node" 2>"$WORK/cli.err") || return 1
  [[ $out =~ ^\[.*\]$ ]] || return 1
  for n in "$@"; do [[ $out =~ [[,]$n[],] ]] || return 1; done
}
for node in "$E@$HOST" "$C@$HOST"; do
  if names_have "$node" cli_b cli_c "'?$G'?" '\{job,7\}'; then
    ok "global names $node lists cli_b, cli_c, $G, {job,7}"
  else
    ko "global names $node: $(run global names "$node" 2>&1)"
  fi
done
expect "global whereis on BEAM of a C name: C's pid" 0 "^<'$C@$HOST'\.[0-9]+\.[0-9]+>$" \
  -- global whereis "$E@$HOST" cli_c
expect "global whereis on C of a BEAM name: erl's pid" 0 "^<'$E@$HOST'\.[0-9]+\.[0-9]+>$" \
  -- global whereis "$C@$HOST" cli_b
expect "global whereis on C of its own name: its pid" 0 "^<'$C@$HOST'\.[0-9]+\.[0-9]+>$" \
  -- global whereis "$C@$HOST" cli_c
expect "global whereis of a tuple name" 0 "^<'$C@$HOST'\.[0-9]+\.[0-9]+>$" \
  -- global whereis "$E@$HOST" '{job, 7}'
expect "global whereis on BEAM of echo_node's --global name" 0 "^<'$X@$HOST'\.[0-9]+\.[0-9]+>$" \
  -- global whereis "$E@$HOST" "$G"
expect "global whereis on BEAM of no name: exit 1, undefined on stderr" 1 '^$' '^undefined$' \
  -- global whereis "$E@$HOST" no_such_name
expect "global whereis on C of no name: exit 1, undefined on stderr" 1 '^$' '^undefined$' \
  -- global whereis "$C@$HOST" no_such_name
expect "global names of a node that is down: exit 1, badrpc" 1 '^$' 'badrpc,nodedown' \
  -- global names "nosuch$$@$HOST"
expect "global whereis without NAME: usage, exit 2" 2 '^$' 'usage: nodus global' \
  -- global whereis "$E@$HOST"
expect "global of an unknown command: exit 2" 2 '^$' "unknown command 'nope'" -- global nope x
expect "global whereis of a NAME that does not parse: exit 2" 2 '^$' 'cannot parse NAME' \
  -- global whereis "$E@$HOST" '{a,'
"$NODUS" global --help | grep -q "usage: nodus global names" && ok "global --help" || ko "global --help"

# The C node and echo_node were asked by hidden nodes, and stay healthy.
g_check c "C node still answers" 'global_whereis cli_b' "^pid <'$E@$HOST'"
stop_by_signal "echo_node --global" "$XPID" "$WORK/x.err"
e_check e "echo_node's name is gone once it stopped" \
  "Eventually(fun() -> global:whereis_name('$G') =:= undefined end, Now() + 3000)." '^true$'
erl_ctl_quit e
finish

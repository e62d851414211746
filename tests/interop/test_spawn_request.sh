#!/usr/bin/env bash
# spawn_request from C (nodus_spawn_request), judged by BEAM: a dist_node
# `c` spawns on a real erl node E, on another C node c2 and on itself,
# with and without link and monitor, and an erl node J (the judge) makes
# the very same spawn_request itself (J to E, J to c2, J to J, ...). J
# compares the messages c got with its own, in order, with pids and refs
# replaced by their role: the reply {spawn_reply, ReqId, ok, Pid} or
# {spawn_reply, ReqId, error, Reason}, then EXIT (link) and DOWN (monitor,
# ReqId as the reference) with BEAM's reasons: killed, normal, bye, and
# {undef, [{M, F, Args, []}]} for an unknown module (the reply is ok, as
# BEAM's). Also: the process lives on E (is_process_alive); io:format in
# it returns (the group leader answers); noconnection for a node that does
# not exist, with no DOWN or EXIT; badarg: improper Args is NODUS_EINVAL
# in C where BEAM raises badarg.
# Usage: bash test_spawn_request.sh BUILD_DIR
if ! command -v erl >/dev/null 2>&1 || ! command -v epmd >/dev/null 2>&1; then
  if [ "${NODUS_REQUIRE_ALL:-0}" = 1 ]; then
    echo "FAIL: required but missing: erl/epmd not installed (NODUS_REQUIRE_ALL=1)"
    exit 1
  fi
  echo "SKIP: erl/epmd not installed"
  exit 77
fi
source "$(dirname "$0")/dist_lib.sh" "$1"

ENAME=spe$$
JNAME=spj$$
E="'$ENAME@$HOST'"
J="'$JNAME@$HOST'"
JUDGE="{judge,$J}"
C="'spc$$@$HOST'"
C2="'spc2_$$@$HOST'"

erl_start e "$ENAME" 'io:format("READY~n"), receive stop -> ok end.'

# The judge. {From, step, Step, Msg}: Msg is a spawn reply; does Step to
# its pid (kill: exit(P, kill); stop: P ! stop; alive: is_process_alive
# on P's node) and answers {stepped, Result}. {From, verdict, Name, Spec,
# ReqId, Msgs}: makes the request of Spec itself, in a new process that
# traps exits, and answers {verdict, Name, true} when c's messages are
# the same as its own (else {verdict, Name, {differ, Ours, Theirs}}).
JUDGE_SCRIPT=$ERL_PRELUDE$(cat <<'EOF'
Norm = fun(Msgs, Req) ->
  erase(),
  N = fun N(T) when T =:= Req -> req;
          N(T) when is_pid(T) ->
            Where = case node(T) =:= node(Req) of true -> self; false -> node(T) end,
            case get({pid, T}) of
              undefined -> put({pid, T}, length(get()) + 1);
              _ -> ok
            end,
            {pid, get({pid, T}), Where};
          N(T) when is_reference(T) -> ref;
          N(T) when is_tuple(T) -> list_to_tuple(N(tuple_to_list(T)));
          N([H | T]) -> [N(H) | N(T)];
          N(T) -> T
        end,
  R = N(Msgs), erase(), R
end,
Step = fun(none, _) -> none;
          (kill, P) -> exit(P, kill), true;
          (stop, P) -> P ! stop, true;
          (alive, P) -> rpc:call(node(P), erlang, is_process_alive, [P])
       end,
StepMsg = fun(S, {spawn_reply, _, ok, P}) when is_pid(P) -> Step(S, P);
             (_, _) -> no_pid
          end,
%% Spec: {Target, M, F, A, Opts, Steps, Count}; Target self = own node.
Reference = fun({Target0, M, F, A, Opts, Steps, Count}) ->
  process_flag(trap_exit, true),
  Target = case Target0 of self -> node(); _ -> Target0 end,
  Req = erlang:spawn_request(Target, M, F, A, Opts),
  First = receive X -> X after 5000 -> timeout end,
  [StepMsg(S, First) || S <- Steps],
  Rest = [receive Y -> Y after 5000 -> timeout end || _ <- lists:seq(2, Count)],
  Extra = receive Z -> [Z] after 300 -> [] end,
  Norm([First | Rest] ++ Extra, Req)
end,
register(judge, self()),
T("BEAM raises badarg for improper Args",
  case catch erlang:spawn_request(list_to_atom("spe" ++ os:getpid()), m, f, [a | b], []) of
    {'EXIT', {badarg, _}} -> true; NotBadarg -> NotBadarg end),
io:format("READY~n"),
(fun Loop() ->
  receive
    {From, step, S, Msg} -> From ! {stepped, StepMsg(S, Msg)};
    {From, verdict, Name, Spec, Req, Msgs} ->
      Self = self(),
      spawn(fun() -> Self ! {ours, Name, Reference(Spec)} end),
      Ours = receive {ours, Name, O} -> O after 20000 -> timeout end,
      Theirs = Norm(Msgs, Req),
      case Ours =:= Theirs of
        true -> From ! {verdict, Name, true};
        false ->
          io:format("DIFFER ~p~n  BEAM: ~p~n  C:    ~p~n", [Name, Ours, Theirs]),
          From ! {verdict, Name, {differ, Ours, Theirs}}
      end;
    done -> io:format("DONE~n"), halt();
    Other -> io:format("UNEXPECTED ~p~n", [Other])
  end,
  Loop()
end)().
EOF
)
erl_start j "$JNAME" "$JUDGE_SCRIPT"
eventually 20 grep_file "$WORK/e.out" '^READY' && eventually 20 grep_file "$WORK/j.out" '^READY' ||
  { ko "erl nodes start"; cat "$WORK/e.out" "$WORK/j.out"; finish; }
cnode_start c "spc$$" || { ko "dist_node c starts"; finish; }
cnode_start c2 "spc2_$$" || { ko "dist_node c2 starts"; finish; }
c_run c "ping $ENAME@$HOST"
c_run c "ping $JNAME@$HOST"
c_run c "ping spc2_$$@$HOST"

# spawn_case NAME COUNT STEPS TARGET MOD FUN ARGS OPTS
#   c: spawn_request to TARGET (self: c itself) with OPTS (link, monitor);
#   takes the first COUNT messages as they come, doing STEPS (a list, as
#   [alive, kill]) to the new pid after the first; checks nothing else
#   comes; then J judges them against its own run of the same request.
n=0
spawn_case() {
  local name=$1 count=$2 steps=$3 target=$4 mod=$5 fun=$6 args=$7 opts=$8
  local ctarget=$target flags i list s
  n=$((n + 1))
  [ "$target" = self ] && ctarget=$C
  flags=$(echo "$opts" | tr -d '[],' )
  c_run c "spawn_request R$n $ctarget $mod $fun $args $flags"
  c_run c "expect 5000 M${n}_1"
  for s in $(echo "$steps" | tr -d '[]' | tr ',' ' '); do
    c_run c "send $JUDGE {Self, step, $s, M${n}_1}"
    c_do c "expect 5000 {stepped, _}" '^got \{stepped,(true|none)\}' ||
      ko "$name: step $s on the new pid answered '$C_LAST'"
  done
  list=M${n}_1
  for ((i = 2; i <= count; i++)); do
    c_run c "expect 5000 M${n}_$i"
    list="$list, M${n}_$i"
  done
  c_check c "$name: nothing more comes" "expect 300 _" '^timeout$'
  c_run c "send $JUDGE {Self, verdict, $name, {$target, $mod, $fun, $args, $opts, $steps, $count}, R$n, [$list]}"
  c_check c "$name: as BEAM gets it" "expect 25000 {verdict, $name, _}" "^got \{verdict,$name,true\}"
}

# Into BEAM.
spawn_case beam_plain 1 '[alive]' "$E" timer sleep '[100000]' '[]'
spawn_case beam_link_monitor_kill 3 '[alive, kill]' "$E" timer sleep '[100000]' '[link, monitor]'
spawn_case beam_monitor_exit 2 '[]' "$E" erlang exit '[bye]' '[monitor]'
spawn_case beam_link_normal 2 '[]' "$E" timer sleep '[10]' '[link]'
spawn_case beam_unknown_module 3 '[]' "$E" nomod nofun '[1, x]' '[link, monitor]'
spawn_case beam_io_format 2 '[]' "$E" io format '["hello from a C spawn\n"]' '[monitor]'
# Into another C node: a registered function, and one it does not know.
spawn_case cnode_registered 3 '[stop]' "$C2" nodus_test echo_proc '[]' '[link, monitor]'
spawn_case cnode_unknown 3 '[]' "$C2" nomod nofun '[]' '[link, monitor]'
spawn_case cnode_bad_args 1 '[]' "$C2" nodus_test echo_proc '[1]' '[monitor]' # spawn fn refuses: badarg
# Into the requester's own node (c itself; J itself for BEAM).
spawn_case self_unknown 3 '[]' self nomod nofun '[]' '[link, monitor]'
# A node that does not exist: noconnection, no EXIT, no DOWN.
spawn_case noconnection_monitor 1 '[]' "nobody$$" m f '[]' '[monitor]'
spawn_case noconnection_link 1 '[]' "'nobody$$@$HOST'" m f '[]' '[link]'

# This node's registered function, as from c2 (BEAM has no such function).
c_run c "spawn_request RL $C nodus_test echo_proc [] monitor"
c_run c "expect 5000 {spawn_reply, RL, ok, PL}"
c_run c "send PL {Self, hi}"
c_check c "self: a registered C function runs" "expect 5000 {echo, hi}" '^got \{echo,hi\}$'
c_run c "send PL stop"
c_check c "self: DOWN normal with ReqId" "expect 5000 {'DOWN', RL, process, PL, normal}" '^got '

# badarg: improper Args, nothing sent.
c_check c "improper Args: NODUS_EINVAL (BEAM: badarg)" \
  "spawn_request RB $E m f [a|b] monitor" '^error spawn_request: invalid argument$'
c_check c "badarg: no reply comes" "expect 300 _" '^timeout$'

c_run c "send $JUDGE done"
erl_wait j 10
erl_results j
if grep -q '^UNEXPECTED' "$WORK/j.out"; then ko "the judge got only what it expects"; grep '^UNEXPECTED' "$WORK/j.out"; fi
if grep -q '^DIFFER' "$WORK/j.out"; then grep -A2 '^DIFFER' "$WORK/j.out" | sed 's/^/    /'; fi
finish

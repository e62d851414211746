#!/usr/bin/env bash
# :global in a mixed cluster: 2 BEAM nodes (d, b1) + 2 C nodes (dist_node
# c1, c2) on loopback, one name table (a third C node, c3, joins late).
#   - a name registered on any of the four nodes is seen by whereis on all
#     four within 1 s of the register returning yes (global registers
#     synchronously, so in practice at once), and by the C nodes' own
#     global_whereis and global_names; re_register moves a name;
#   - global:send and gen_server:call({global, Name}) from BEAM reach a C
#     process (an echo answering {echo, X}); C reaches a BEAM-registered
#     name with global_send; global_send of an unknown name is badarg;
#   - unregister (from C of a BEAM name, from BEAM of a C name) is seen on
#     all four within 1 s;
#   - trans excludes across C and BEAM holders, both ways;
#   - ROUNDS (GLOBAL_ROUNDS, default 50; test_global_race runs 1000 in C) races: each round a fresh name,
#     registered at the same moment from a C node and a BEAM node (c1/d,
#     then c2/b1): exactly one says yes, and all four whereis give that
#     side's pid;
#   - SIGKILL of c2: its name is gone on d, b1 and c1 within 1 s (timed by
#     d, which sends the signal); a C node c3 joining then gets the table;
#     SIGKILL of b1: its name is gone on d, c1 and c3 within 1 s;
#   - global:sync() on the BEAM nodes returns within 10 s (at the start,
#     and on d at the end), global_sync on the C nodes too.
# The BEAM nodes run a line-by-line evaluator (global_lib.sh); d checks
# the four views at once: global:whereis_name/1 on BEAM nodes,
# nodus:global_whereis/1 over rpc on C nodes.
# Usage: bash test_global_mixed.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
source "$(dirname "$0")/global_lib.sh"
ROUNDS=${GLOBAL_ROUNDS:-50}

C1=gmc1_$$ C2=gmc2_$$ C3=gmc3_$$ B1=gmb1_$$ D=gmd_$$
export C1 C2 C3 B1 HOST
cnode_start c1 "$C1" || { ko "dist_node c1 starts"; finish; }
cnode_start c2 "$C2" || { ko "dist_node c2 starts"; finish; }
erl_ctl_start d "$D" || { ko "erl d starts"; finish; }
erl_ctl_start b1 "$B1" || { ko "erl b1 starts"; finish; }

# ---- helpers on the BEAM nodes (one line each) ----------------------------
BOTH=(
'Now = fun() -> erlang:monotonic_time(millisecond) end.'
'Echo = fun E() -> receive {From, Z} when is_pid(From) -> From ! {echo, Z}, E(); {'"'"'$gen_call'"'"', From, Z} -> gen:reply(From, {echo, Z}), E(); _ -> E() end end.'
'Race = fun(N) -> global:register_name(N, spawn(Echo)) end.'
'Recv = fun(Ms) -> receive M -> M after Ms -> timeout end end.'
'Sync = fun() -> {P, R} = spawn_monitor(fun() -> exit({done, timer:tc(global, sync, [])}) end), receive {'"'"'DOWN'"'"', R, _, _, {done, {T, ok}}} -> {ok, T div 1000}; {'"'"'DOWN'"'"', R, _, _, Other} -> Other after 10000 -> exit(P, kill), hang end end.'
)
DONLY=(
'Host = "@" ++ os:getenv("HOST"), [C1, C2, C3, B1] = [list_to_atom(os:getenv(V) ++ Host) || V <- ["C1", "C2", "C3", "B1"]], Cs = [C1, C2, C3], All = [node(), B1, C1, C2], ok.'
'View = fun(N, Name) -> case N =:= node() of true -> global:whereis_name(Name); false -> case lists:member(N, Cs) of true -> rpc:call(N, nodus, global_whereis, [Name], 2000); false -> rpc:call(N, global, whereis_name, [Name], 2000) end end end.'
'Views = fun(Nodes, Name) -> [{N, View(N, Name)} || N <- Nodes] end.'
'Eventually = fun Ev(F, Until) -> case F() of true -> true; Other -> case Now() > Until of true -> Other; false -> timer:sleep(5), Ev(F, Until) end end end.'
'Timed = fun(F, Ms) -> T0 = Now(), case Eventually(F, T0 + Ms) of true -> {ok, Now() - T0}; Bad -> Bad end end.'
'OnePid = fun(Nodes, Name, Owner) -> fun() -> Vs = Views(Nodes, Name), case lists:usort([P || {_, P} <- Vs]) of [P] when is_pid(P), node(P) =:= Owner -> true; _ -> {differ, Vs} end end end.'
'NoPid = fun(Nodes, Name) -> fun() -> Vs = Views(Nodes, Name), case [X || {_, P} = X <- Vs, P =/= undefined] of [] -> true; Bad -> {still, Bad} end end end.'
'Seen = fun(Nodes, Name, Owner, Ms) -> Timed(OnePid(Nodes, Name, Owner), Ms) end.'
'Gone = fun(Nodes, Name, Ms) -> Timed(NoPid(Nodes, Name), Ms) end.'
'KillWait = fun(OsPid, Name, Nodes, Ms) -> T0 = Now(), os:cmd("kill -9 " ++ OsPid), case Eventually(NoPid(Nodes, Name), T0 + Ms) of true -> {ok, Now() - T0}; Bad -> Bad end end.'
)
for line in "${BOTH[@]}"; do e_run d "$line"; e_run b1 "$line"; done
for line in "${DONLY[@]}"; do e_run d "$line"; done

# ---- a full mesh, synced -------------------------------------------------------
for pair in "c1 $D" "c1 $B1" "c1 $C2" "c2 $D" "c2 $B1"; do
  set -- $pair
  g_check "$1" "$1 connects to $2" "ping $2@$HOST" '^pong'
done
e_check d "d connects to b1" "net_adm:ping('$B1@$HOST')." '^pong$'
e_check d "d sees the other three" \
  "Eventually(fun() -> lists:sort(nodes()) =:= lists:sort([B1, C1, C2]) end, Now() + 5000)." '^true$'
e_check b1 "b1 sees the other three" \
  "Eventually = fun Ev(F, U) -> case F() of true -> true; O -> case Now() > U of true -> O; false -> timer:sleep(5), Ev(F, U) end end end, Eventually(fun() -> length(nodes()) =:= 3 end, Now() + 5000)." '^true$'
has_nodes() { # ID NAME...: the C node's `nodes` lists every NAME@HOST
  local id=$1 n
  shift
  g_do "$id" nodes '^nodes \[' || return 1
  for n in "$@"; do [[ $C_LAST == *"$n@$HOST"* ]] || return 1; done
}
g_until 5000 has_nodes c1 "$D" "$B1" "$C2"; check "c1 sees the other three" [ $? -eq 0 ]
g_until 5000 has_nodes c2 "$D" "$B1" "$C1"; check "c2 sees the other three" [ $? -eq 0 ]
e_check d "global:sync() on d returns within 10 s" 'Sync().' '^\{ok,[0-9]+\}$' 12000
echo "    global:sync() on d: $E_LAST (ms)"
e_check b1 "global:sync() on b1 returns within 10 s" 'Sync().' '^\{ok,[0-9]+\}$' 12000
g_check c1 "global_sync on c1" 'global_sync 10000' '^ok$' 12000
g_check c2 "global_sync on c2" 'global_sync 10000' '^ok$' 12000

# ---- visibility: a name registered on each node, seen on all four ------------
worst=0
note_took() { [[ $E_LAST =~ ^\{ok,([0-9]+)\}$ ]] && ((BASH_REMATCH[1] > worst)) && worst=${BASH_REMATCH[1]}; }
for c in c1 c2; do
  g_run "$c" "spawn_echo P" '^ok <0\.'
  g_check "$c" "register vis_$c on $c: yes" "global_register vis_$c P" '^yes$'
  nv=${c^^}; e_check d "vis_$c seen on all four within 1 s" "Seen(All, vis_$c, ${nv}, 1000)." '^\{ok,[0-9]+\}$' 5000
  note_took
  g_check "$c" "register vis_$c again: no" "global_register vis_$c P" '^no$'
  g_check "$c" "the same pid under a second name: no" "global_register vis2_$c P" '^no$'
done
e_check d "register vis_d on d: yes" "global:register_name(vis_d, PD = spawn(Echo))." '^yes$'
e_check d "vis_d seen on all four within 1 s" "Seen(All, vis_d, node(), 1000)." '^\{ok,[0-9]+\}$' 5000
note_took
e_check b1 "register vis_b1 on b1: yes" "global:register_name(vis_b1, PB = spawn(Echo))." '^yes$'
e_check d "vis_b1 seen on all four within 1 s" "Seen(All, vis_b1, B1, 1000)." '^\{ok,[0-9]+\}$' 5000
note_took
echo "    worst visibility after register: $worst ms"
for c in c1 c2; do
  g_check "$c" "$c: global_whereis vis_d is d's pid" "global_whereis vis_d" "^pid <'$D@$HOST'\.[0-9]+\.[0-9]+>$"
  g_check "$c" "$c: global_whereis vis_b1 is b1's pid" "global_whereis vis_b1" "^pid <'$B1@$HOST'\.[0-9]+\.[0-9]+>$"
  g_check "$c" "$c: global_whereis of its own name is a local pid" "global_whereis vis_$c" '^pid <0\.[0-9]+\.[0-9]+>$'
  g_check "$c" "$c: global_whereis of no name: undefined" "global_whereis no_such_name" '^undefined$'
  if g_do "$c" global_names '^names \['; then
    missing=
    for n in vis_c1 vis_c2 vis_d vis_b1; do [[ $C_LAST =~ [[,]$n[],] ]] || missing+=" $n"; done
    check "$c: global_names has all four names${missing:+ (missing:$missing, got $C_LAST)}" [ -z "$missing" ]
  else
    ko "$c: global_names answered '$C_LAST'"
  fi
done
e_check d "d: global:registered_names() has all four" \
  "lists:sort(global:registered_names()) -- [vis_b1, vis_c1, vis_c2, vis_d]." '^\[\]$'
e_check d "c1 over rpc: nodus:global_names() has all four" \
  "lists:sort(rpc:call(C1, nodus, global_names, [])) -- [vis_b1, vis_c1, vis_c2, vis_d]." '^\[\]$'

# re_register: a BEAM name taken over from C
e_run d "global:register_name(rereg, spawn(Echo))." '^yes$'
g_run c2 "spawn_echo Q" '^ok <0\.'
g_check c2 "re_register of d's name on c2: yes" "global_re_register rereg Q" '^yes$'
e_check d "rereg is c2's pid on all four within 1 s" "Seen(All, rereg, C2, 1000)." '^\{ok,[0-9]+\}$' 5000

# ---- sends -----------------------------------------------------------------
e_check d "global:send from d reaches c1's echo" \
  "global:send(vis_c1, {self(), hi}), Recv(3000)." '^\{echo,hi\}$'
e_check d "gen_server:call({global, vis_c2}) from d: {echo, x}" \
  "gen_server:call({global, vis_c2}, x, 5000)." '^\{echo,x\}$'
e_check b1 "gen_server:call({global, vis_c1}) from b1: {echo, y}" \
  "gen_server:call({global, vis_c1}, y, 5000)." '^\{echo,y\}$'
e_check b1 "global:send from b1 reaches c2's echo" \
  "global:send(vis_c2, {self(), there}), Recv(3000)." '^\{echo,there\}$'
g_check c1 "global_send from c1 to d's name: ok" 'global_send vis_d {Self, ping}' '^ok$'
g_check c1 "c1 gets d's echo" 'expect 3000 {echo, ping}' '^got \{echo,ping\}$'
g_check c2 "global_send from c2 to b1's name: ok" 'global_send vis_b1 {Self, pong}' '^ok$'
g_check c2 "c2 gets b1's echo" 'expect 3000 {echo, pong}' '^got \{echo,pong\}$'
g_check c1 "global_send from c1 to c2's name: ok" 'global_send vis_c2 {Self, cc}' '^ok$'
g_check c1 "c1 gets c2's echo" 'expect 3000 {echo, cc}' '^got \{echo,cc\}$'
g_check c1 "global_send of an unknown name: badarg" 'global_send no_such_name x' '^badarg$'

# ---- unregister, seen everywhere --------------------------------------------
g_check c1 "c1 unregisters d's name vis_d" 'global_unregister vis_d' '^ok$'
e_check d "vis_d gone on all four within 1 s" "Gone(All, vis_d, 1000)." '^\{ok,[0-9]+\}$' 5000
e_check d "d unregisters c1's name vis_c1" "global:unregister_name(vis_c1)." '^ok$'
e_check d "vis_c1 gone on all four within 1 s" "Gone(All, vis_c1, 1000)." '^\{ok,[0-9]+\}$' 5000
g_check c2 "c2 unregisters its own vis_c2" 'global_unregister vis_c2' '^ok$'
e_check d "vis_c2 gone on all four within 1 s" "Gone(All, vis_c2, 1000)." '^\{ok,[0-9]+\}$' 5000
e_check b1 "b1 unregisters its own vis_b1" "global:unregister_name(vis_b1)." '^ok$'
e_check d "vis_b1 gone on all four within 1 s" "Gone(All, vis_b1, 1000)." '^\{ok,[0-9]+\}$' 5000
g_check c2 "unregister of a name nobody has: ok" 'global_unregister vis_b1' '^ok$'
for c in c1 c2; do
  g_check "$c" "$c: vis_d undefined after unregister" 'global_whereis vis_d' '^undefined$'
done

# ---- trans excludes across C and BEAM ---------------------------------------
# c1 holds {res_a, c1's agent} for 1.5 s; d's trans on res_a can only run
# after c1 printed trans_end.
g_send c1 'trans res_a 1500'
if g_wait c1 10000 && [[ $C_LAST =~ ^trans_begin ]]; then
  e_send d "global:trans({res_a, self()}, fun() -> Now() end)."
  if e_wait d 20000 && [[ $E_LAST =~ ^[0-9-]+$ ]]; then
    check "trans on d runs only after c1's trans ended" grep_file "$WORK/c1.out" '^trans_end'
  else
    ko "trans on d: '$E_LAST'"
  fi
else
  ko "trans on c1: '$C_LAST'"
fi
eventually 10 grep_file "$WORK/c1.out" '^trans_end' || ko "c1's trans ends"
# d holds {res_b, d's process} for 1.5 s; c1's trans begins only after.
e_run d "spawn(fun() -> global:trans({res_b, self()}, fun() -> io:format(\"btrans_begin~n\"), timer:sleep(1500), io:format(\"btrans_end~n\") end) end), ok."
if eventually 10 grep_file "$WORK/d.out" '^btrans_begin'; then
  g_send c1 'trans res_b 0'
  if g_wait c1 20000 && [[ $C_LAST =~ ^trans_begin ]]; then
    check "trans on c1 runs only after d's trans ended" grep_file "$WORK/d.out" '^btrans_end'
  else
    ko "trans on c1 while d holds res_b: '$C_LAST'"
  fi
  eventually 10 sh -c "[ \$(grep -c '^trans_end' '$WORK/c1.out') -ge 2 ]" || ko "c1's second trans ends"
else
  ko "d's trans on res_b begins"
fi

# ---- concurrent registers: one winner, everywhere the same -----------------
cwins=0 bwins=0 bad=0
report_bad() { bad=$((bad + 1)); [ "$bad" -le 5 ] && echo "    round $i: $1"; }
ms_now; race_start=$NOW
for ((i = 1; i <= ROUNDS; i++)); do
  if ((i % 2)); then c=c1 e=d cn=$C1 en=$D; else c=c2 e=b1 cn=$C2 en=$B1; fi
  if ! g_do "$c" "spawn_echo R" '^ok <'; then report_bad "spawn_echo: '$C_LAST'"; continue; fi
  # both commands go out back to back, C first in rounds 1, 2, 5, 6...,
  # BEAM first in 3, 4, 7, 8...
  printf -v "G_BEFORE_$c" %s "$(lines "$WORK/$c.out")"
  printf -v "E_BEFORE_$e" %s "$(lines "$WORK/$e.out")"
  cfd=CFD_$c efd=EFD_$e
  if (((i - 1) / 2 % 2 == 0)); then
    echo "global_register race_$i R" >&"${!cfd}"; echo "Race(race_$i)." >&"${!efd}"
  else
    echo "Race(race_$i)." >&"${!efd}"; echo "global_register race_$i R" >&"${!cfd}"
  fi
  g_wait "$c" 15000
  e_wait "$e" 15000
  case "$C_LAST/$E_LAST" in
    yes/no) winner=$cn cwins=$((cwins + 1)) ;;
    no/yes) winner=$en bwins=$((bwins + 1)) ;;
    *) report_bad "C said '$C_LAST', BEAM said '$E_LAST'"; continue ;;
  esac
  e_do d "Seen(All, race_$i, '$winner@$HOST', 1000)." '^\{ok,' 5000 ||
    report_bad "winner on $winner, but the views: $E_LAST"
done
ms_now
echo "    $ROUNDS rounds in $((NOW - race_start)) ms: C won $cwins, BEAM won $bwins"
check "$ROUNDS concurrent C/BEAM registers: exactly one yes each, all four agree ($bad bad)" [ "$bad" -eq 0 ]

# ---- SIGKILL of a C node, then of a BEAM node ------------------------------
g_run c2 "spawn_echo K" '^ok <0\.'
g_check c2 "c2 registers kill_c2" 'global_register kill_c2 K' '^yes$'
e_check d "kill_c2 seen on all four" "Seen(All, kill_c2, C2, 1000)." '^\{ok,' 5000
disown "$(cnode_pid c2)" # d kills it: no "Killed" line from this shell
e_check d "SIGKILL of c2: kill_c2 gone on d, b1, c1 within 1 s" \
  "KillWait(\"$(cnode_pid c2)\", kill_c2, [node(), B1, C1], 1000)." '^\{ok,[0-9]+\}$' 5000
echo "    $E_LAST"
kill_now "$(cnode_pid c2)"
cnode_forget c2
g_check c1 "c1: global_whereis kill_c2 is undefined" 'global_whereis kill_c2' '^undefined$'
# c3 joins late (after the races and c2's death): it gets the table on
# sync, then witnesses b1's death with c1.
cnode_start c3 "$C3" || ko "dist_node c3 starts"
for peer in "$D" "$B1" "$C1"; do g_check c3 "c3 connects to $peer" "ping $peer@$HOST" '^pong'; done
g_check c3 "global_sync on c3" 'global_sync 10000' '^ok$' 12000
e_check d "race_1 (a c1 or d pid) is the same on d, b1, c1 and the late c3" \
  "case global:whereis_name(race_1) of P when is_pid(P) -> Seen([node(), B1, C1, C3], race_1, node(P), 1000); U -> U end." '^\{ok,' 5000
e_check b1 "b1 registers kill_b1" "global:register_name(kill_b1, spawn(Echo))." '^yes$'
e_check d "kill_b1 seen on d, b1, c1, c3" "Seen([node(), B1, C1, C3], kill_b1, B1, 1000)." '^\{ok,' 5000
disown "$(erl_pid b1)"
e_check d "SIGKILL of b1: kill_b1 gone on d, c1 and c3 within 1 s" \
  "KillWait(\"$(erl_pid b1)\", kill_b1, [node(), C1, C3], 1000)." '^\{ok,[0-9]+\}$' 5000
echo "    $E_LAST"
kill_now "$(erl_pid b1)"
for c in c1 c3; do
  g_check "$c" "$c: global_whereis kill_b1 is undefined" 'global_whereis kill_b1' '^undefined$'
done
e_check d "c1's nodus:global_names() has neither killed node's name" \
  "[N || N <- rpc:call(C1, nodus, global_names, []), N =:= kill_c2 orelse N =:= kill_b1]." '^\[\]$'

# ---- the end: global:sync still answers ------------------------------------
e_check d "global:sync() on d returns within 10 s at the end" 'Sync().' '^\{ok,[0-9]+\}$' 12000
g_check c1 "global_sync on c1 at the end" 'global_sync 10000' '^ok$' 12000
g_check c3 "global_sync on c3 at the end" 'global_sync 10000' '^ok$' 12000
grep -iE 'crash|error' "$WORK/d.out" | head -5 | sed 's/^/    d.out: /'
erl_ctl_quit d
finish

#!/usr/bin/env bash
# :global in a C-only cluster: 3 dist_node C nodes on loopback, no BEAM
# node anywhere (erl is needed only for the private epmd).
#   - a name registered on each node is seen by global_whereis on all
#     three within 1 s of the register returning yes (the same pid
#     everywhere), and listed by global_names; a taken name and a pid with
#     a name already are `no`; re_register moves a name;
#   - global_send reaches the registered echo; an unknown name is badarg;
#   - unregister (by the owner and by another node) is seen on all three
#     within 1 s;
#   - trans excludes: c2's and c3's trans on a resource c1 holds begin
#     after c1's ended (monotonic ms, one clock for all), and not together;
#   - ROUNDS (GLOBAL_ROUNDS, default 100) races of c1 and c2 registering a
#     fresh name at the same moment: exactly one yes, the same pid on all
#     three;
#   - SIGKILL of c3: its names are gone on c1 and c2 within 1 s;
#   - global_sync answers on every node, at the start and at the end.
# Usage: bash test_global_c_only.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
source "$(dirname "$0")/global_lib.sh"
ROUNDS=${GLOBAL_ROUNDS:-100}

N1=gcc1_$$ N2=gcc2_$$ N3=gcc3_$$
declare -A NAME=([c1]=$N1 [c2]=$N2 [c3]=$N3)
for c in c1 c2 c3; do
  cnode_start "$c" "${NAME[$c]}" || { ko "dist_node $c starts"; finish; }
done
g_check c1 "c1 connects to c2" "ping $N2@$HOST" '^pong'
g_check c1 "c1 connects to c3" "ping $N3@$HOST" '^pong'
g_check c2 "c2 connects to c3" "ping $N3@$HOST" '^pong'
for c in c1 c2 c3; do g_check "$c" "global_sync on $c" 'global_sync 10000' '^ok$' 12000; done

ALL=(c1 c2 c3)
# same_pid NAME WANT [NODES...]: global_whereis NAME gives the pid WANT
# (in g_pid spelling; `undefined` for none) on every node.
same_pid() {
  local name=$1 want=$2 c got
  shift 2
  for c in "${@:-${ALL[@]}}"; do
    g_do "$c" "global_whereis $name" '^(pid|undefined)' 5000 || return 1
    if [ "$want" = undefined ]; then
      [ "$C_LAST" = undefined ] || return 1
    else
      got=$(g_pid "${NAME[$c]}" "$C_LAST")
      [ "$got" = "$want" ] || return 1
    fi
  done
}
# seen DESC NAME WANT MS [NODES...]: same_pid within MS, as one result.
worst=0
seen() {
  local what=$1 name=$2 want=$3 ms=$4
  shift 4
  if g_until "$ms" same_pid "$name" "$want" "$@"; then
    ok "$what (${G_TOOK} ms)"
    ((G_TOOK > worst)) && worst=$G_TOOK
  else
    ko "$what: after ${G_TOOK} ms $(for c in "${@:-${ALL[@]}}"; do g_do "$c" "global_whereis $name" . ; printf '%s: %s; ' "$c" "$C_LAST"; done) wanted $want"
  fi
}

# ---- visibility ---------------------------------------------------------------
declare -A VPID
for c in "${ALL[@]}"; do
  g_run "$c" "spawn_echo P" '^ok <0\.'
  VPID[$c]=$(g_pid "${NAME[$c]}" "$C_LAST")
  g_check "$c" "register vis_$c on $c: yes" "global_register vis_$c P" '^yes$'
  seen "vis_$c: the same pid on all three within 1 s" "vis_$c" "${VPID[$c]}" 1000
  g_check "$c" "register vis_$c again on $c: no" "global_register vis_$c P" '^no$'
  g_check "$c" "$c: the same pid under a second name: no" "global_register vis2_$c P" '^no$'
done
echo "    worst visibility after register: $worst ms (polling included)"
g_run c2 "spawn_echo P" '^ok <0\.'
g_check c2 "register of c1's name from c2: no" 'global_register vis_c1 P' '^no$'
for c in "${ALL[@]}"; do
  if g_do "$c" global_names '^names \['; then
    missing=
    for n in vis_c1 vis_c2 vis_c3; do [[ $C_LAST =~ [[,]$n[],] ]] || missing+=" $n"; done
    check "$c: global_names has the three names${missing:+ (missing:$missing, got $C_LAST)}" [ -z "$missing" ]
  else
    ko "$c: global_names answered '$C_LAST'"
  fi
done
g_check c1 "global_whereis of no name: undefined" 'global_whereis no_such_name' '^undefined$'
g_check c1 "a pid that has a name already, under a tuple name: no" 'global_register {job, 7} P' '^no$'
g_run c1 "spawn_echo J" '^ok <0\.'
jpid=$(g_pid "$N1" "$C_LAST")
g_check c1 "register {job, 7} on c1: yes" 'global_register {job, 7} J' '^yes$'
seen "{job, 7} on all three within 1 s" '{job,7}' "$jpid" 1000

# re_register: c3 takes c2's name
g_run c3 "spawn_echo Q" '^ok <0\.'
qpid=$(g_pid "$N3" "$C_LAST")
g_check c3 "re_register of c2's name on c3: yes" 'global_re_register vis_c2 Q' '^yes$'
seen "vis_c2 moved to c3's pid on all three within 1 s" vis_c2 "$qpid" 1000

# ---- sends ---------------------------------------------------------------------
g_check c2 "global_send from c2 to c1's name: ok" 'global_send vis_c1 {Self, hi}' '^ok$'
g_check c2 "c2 gets c1's echo" 'expect 3000 {echo, hi}' '^got \{echo,hi\}$'
g_check c1 "global_send from c1 to vis_c2 (now c3's): ok" 'global_send vis_c2 {Self, moved}' '^ok$'
g_check c1 "c1 gets c3's echo" 'expect 3000 {echo, moved}' '^got \{echo,moved\}$'
g_check c3 "global_send to its own name: ok" 'global_send vis_c3 {Self, me}' '^ok$'
g_check c3 "c3 gets its own echo" 'expect 3000 {echo, me}' '^got \{echo,me\}$'
g_check c1 "global_send of an unknown name: badarg" 'global_send no_such_name x' '^badarg$'

# ---- unregister ------------------------------------------------------------------
g_check c1 "c1 unregisters its own vis_c1" 'global_unregister vis_c1' '^ok$'
seen "vis_c1 gone on all three within 1 s" vis_c1 undefined 1000
g_check c1 "c1 unregisters c3's vis_c3" 'global_unregister vis_c3' '^ok$'
seen "vis_c3 gone on all three within 1 s" vis_c3 undefined 1000
g_check c2 "unregister of a name nobody has: ok" 'global_unregister vis_c1' '^ok$'

# ---- trans -------------------------------------------------------------------------
# c1 holds {res, c1's agent} for 1 s; then c2 and c3 each ask for it.
g_send c1 'trans res 1000'
if g_wait c1 10000 && [[ $C_LAST =~ ^trans_begin ]]; then
  g_send c2 'trans res 300'
  g_send c3 'trans res 300'
  ends() { [ "$(grep -c '^trans_end' "$WORK/$1.out")" -ge 1 ]; }
  g_until 30000 ends c2; g_until 30000 ends c3
  # every [begin, end] interval from the three outputs, sorted by begin
  ivs=$(for c in c1 c2 c3; do
          b=$(grep -m1 '^trans_begin' "$WORK/$c.out" | cut -d' ' -f2)
          e=$(grep -m1 '^trans_end' "$WORK/$c.out" | cut -d' ' -f2)
          echo "$b $e $c"
        done | sort -n)
  echo "$ivs" | sed 's/^/    trans /'
  overlap=$(echo "$ivs" | awk 'NF < 3 {print "missing " $0; next}
                               prev != "" && $1 < prev {print "overlap " $3} {prev = $2}')
  check "trans: c1, c2, c3 hold res one at a time (c1 first)${overlap:+: $overlap}" \
    [ -z "$overlap" -a "$(echo "$ivs" | head -1 | cut -d' ' -f3)" = c1 ]
else
  ko "trans on c1: '$C_LAST'"
fi
g_check c2 "trans with 0 retries on a free resource" 'trans free 0 0' '^trans_begin'
g_until 5000 sh -c "[ \$(grep -c '^trans_end' '$WORK/c2.out') -ge 2 ]" || ko "c2's second trans ends"

# ---- races ---------------------------------------------------------------------------
bad=0 w1=0 w2=0
report_bad() { bad=$((bad + 1)); [ "$bad" -le 5 ] && echo "    round $i: $1"; }
ms_now; race_start=$NOW
for ((i = 1; i <= ROUNDS; i++)); do
  g_run c1 "spawn_echo R" '^ok <0\.'; p1=$(g_pid "$N1" "$C_LAST")
  g_run c2 "spawn_echo R" '^ok <0\.'; p2=$(g_pid "$N2" "$C_LAST")
  printf -v G_BEFORE_c1 %s "$(lines "$WORK/c1.out")"
  printf -v G_BEFORE_c2 %s "$(lines "$WORK/c2.out")"
  if ((i % 2)); then
    echo "global_register race_$i R" >&"$CFD_c1"; echo "global_register race_$i R" >&"$CFD_c2"
  else
    echo "global_register race_$i R" >&"$CFD_c2"; echo "global_register race_$i R" >&"$CFD_c1"
  fi
  g_wait c1 15000; a1=$C_LAST
  g_wait c2 15000; a2=$C_LAST
  case "$a1/$a2" in
    yes/no) want=$p1 w1=$((w1 + 1)) ;;
    no/yes) want=$p2 w2=$((w2 + 1)) ;;
    *) report_bad "c1 said '$a1', c2 said '$a2'"; continue ;;
  esac
  same_pid "race_$i" "$want" || report_bad "the views differ from the winner's $want: $C_LAST"
done
ms_now
echo "    $ROUNDS rounds in $((NOW - race_start)) ms: c1 won $w1, c2 won $w2"
check "$ROUNDS concurrent registers: exactly one yes each, all three agree ($bad bad)" [ "$bad" -eq 0 ]

# ---- SIGKILL of c3 --------------------------------------------------------------------
g_run c3 "spawn_echo K" '^ok <0\.'
kpid=$(g_pid "$N3" "$C_LAST")
g_check c3 "c3 registers kill_c3" 'global_register kill_c3 K' '^yes$'
seen "kill_c3 on all three" kill_c3 "$kpid" 1000
kill_now "$(cnode_pid c3)"
cnode_forget c3
seen "SIGKILL of c3: kill_c3 gone on c1 and c2 within 1 s" kill_c3 undefined 1000 c1 c2
seen "SIGKILL of c3: vis_c2 (c3's pid by re_register) gone too" vis_c2 undefined 1000 c1 c2
ALL=(c1 c2)
for c in c1 c2; do g_check "$c" "global_sync on $c at the end" 'global_sync 10000' '^ok$' 12000; done
finish

#!/usr/bin/env bash
# Distributed supervisor, partition heal → one instance: nodus vs BEAM in
# the same run, on real network partitions (bench/README.md, "Distributed
# supervisor failover", "Partition heal").
#
#   sudo bench/run_dsup_heal.sh BUILD_DIR [RUNS]     # default 5; e.g. bench/run_dsup_heal.sh build
#   BENCH_DSUP_RAW=1 BENCH_DSUP_LOG=/tmp/heal.log bench/run_dsup_heal.sh build   # every figure on stderr, every node's output kept
#
# Needs root: each run is a fresh 3-node cluster of the test kit (`nodus
# cluster up`, every node in its own network namespace 10.77.S.I, its own
# state dir in a temp dir), taken down at the end of the run and at exit.
# Knobs: BENCH_DSUP_TICKTIME (s, every node, default 4), BENCH_DSUP_LEASE_MS
# (c_quorum's --lease-ms, default 1000), BENCH_DSUP_SIDES (default "c_avail
# c_quorum beam"), BENCH_DSUP_HOLD_S (the partition's length once split,
# default 2), BENCH_DSUP_LOG (keep every node's output there).
#
# Sides: c_avail, three build/bin/singleton_worker --mode availability;
# c_quorum, --mode quorum --cluster-size 3 --lease-ms L; both --peers the
# other two, --ticktime T, --period-ms 100. beam: three erl nodes (the
# kit's, -kernel net_ticktime T) running bench_dsup.erl (the usual
# :global singleton starter), started through `nodus cluster eval`.
#
# A run: once exactly one instance runs and every node sees the other two
# (nothing started or stopped for 0.5 s), the owner is cut off (`nodus
# cluster partition --isolate OWNER`: nft drops in every namespace). Then
# the split is awaited: availability and BEAM, an instance on each side
# (the majority started one, the owner's runs on); quorum, the majority
# started one and the cut-off owner stopped its own (lost_lease). After
# BENCH_DSUP_HOLD_S more, `nodus cluster heal`: the figure is from just
# before it (bash's $EPOCHREALTIME) to the last start/stop line after it
# (the nodes' own t=; the heal itself if there is none), once the mesh is
# full again, exactly one node's last start/stop line is a start and no
# start/stop line came for 2 s (deadline 30 s). Secondary figures: the
# isolation to the majority's start, to its nodedown of the owner; the
# heal to the first nodeup across the cut and to the nodeup between the
# owner and the node of the majority's instance (availability and BEAM:
# the two instances meet), and from that nodeup to one instance. Sides
# take turns run after run; medians are printed.
set -euo pipefail
BUILD_DIR=${1:?usage: run_dsup_heal.sh BUILD_DIR [RUNS]}
RUNS=${2:-5}
TICK=${BENCH_DSUP_TICKTIME:-4}
LEASE=${BENCH_DSUP_LEASE_MS:-1000}
SIDES=${BENCH_DSUP_SIDES:-c_avail c_quorum beam}
HOLD=${BENCH_DSUP_HOLD_S:-2}
LOG=${BENCH_DSUP_LOG:-}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BUILD_DIR" && pwd)/bin
NODUS=$BIN/nodus
CBIN=$BIN/singleton_worker
for b in "$NODUS" "$CBIN" "$BIN/nodus_kit_connect"; do
  [ -x "$b" ] || { echo "run_dsup_heal.sh: $b not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run_dsup_heal.sh: needs root (network namespaces)" >&2; exit 1; }
source "$HERE/dsup_lib.sh"
COOKIE=nodusbench
export NODUS_BIN_DIR=$BIN
export ERL_CRASH_DUMP_SECONDS=0
TMP=$(mktemp -d /tmp/nodus-dsup-heal-XXXXXX)
DIRS=()   # every run's state dir
PREFIXES=() # and its kit prefix, once known

# Every cluster this script made goes, whatever happens: `down` on its
# state dir, then any namespace of its prefix that is still there. (Not
# `down --all`: that would also take other kit runs' clusters on this
# machine.)
heal_cleanup() {
  local d p ns pid
  for d in "${DIRS[@]}"; do
    [ -e "$d/cluster" ] && { "$NODUS" cluster down --dir "$d" >/dev/null 2>&1 || true; }
  done
  for p in "${PREFIXES[@]}"; do
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$p-" || true); do
      for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    done
  done
  rm -rf "$TMP"
}
trap heal_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/ebin"
erlc -o "$TMP/ebin" "$HERE/bench_dsup.erl"
: >"$TMP/figures"

# The C nodes' --exec: the kit starts every node with the same ARGS and
# picks the names (prefix, subnet) only at `up`, but writes them to its
# state file before it starts a node, so --peers comes from there.
WRAP=$TMP/singleton_peers.sh
cat >"$WRAP" <<EOF
#!/usr/bin/env bash
# --name N --cookie C --kit-dir D ARGS...: singleton_worker --peers the others
args=() name="" dir=""
while [ \$# -gt 0 ]; do
  case \$1 in
    --name) name=\$2; args+=("\$1" "\$2"); shift 2 ;;
    --kit-dir) dir=\$2; shift 2 ;;
    *) args+=("\$1"); shift ;;
  esac
done
peers=\$(awk -v me="\$name" '\$1 == "node" && \$7 != me {print \$7}' "\$dir/cluster" | paste -sd, -)
exec "$CBIN" "\${args[@]}" --peers "\$peers"
EOF
chmod +x "$WRAP"

now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); } # integer
fig() { echo "$1 $2 $3" >>"$TMP/figures"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a - b}'; }
minof() { printf '%s\n' "$@" | grep . | sort -g | head -1 || true; }
# first_after FILE ERE AFTER_MS: the t= of FILE's first line matching ERE
# after AFTER_MS.
first_after() {
  grep -E "$2" "$1" | sed 's/.* t=//' | awk -v a="$3" '$1 > a {print; exit}' || true
}
re() { printf '%s' "${1//./\\.}"; } # a node name as an ERE
# overlap AFTER_MS FILE...: after AFTER_MS, from every node's start/stop
# lines, "D Z S": ms with two or more instances running, ms with none, and
# how often two ran again after one had been reached (for longer than the
# same ms: a node's stop and its restart, or two nodes' in one ms, are not).
overlap() {
  local after=$1 i=0 f
  shift
  for f in "$@"; do
    i=$((i + 1))
    awk -v n=$i '/^singleton (started|stopped) / {t = $NF; sub(/^t=/, "", t); print t, n, $2}' "$f"
  done | sort -k1,1g -k3,3r | awk -v h="$after" '
    function count(  c, k) { c = 0; for (k in st) c += st[k] == "started"; return c }
    $1 <= h { st[$2] = $3; next }
    !on { on = 1; prev = h; c = count(); one = c == 1 }
    { if (c >= 2) d += $1 - prev; if (c == 0) z += $1 - prev
      if (pend && $1 > pend) again++
      pend = 0
      st[$2] = $3; nc = count()
      if (one && nc >= 2) pend = $1
      if (nc == 1) one = 1
      c = nc; prev = $1 }
    END { if (pend) again++; printf "%.3f %.3f %d\n", d, z, again }'
}
# log_tail DIR: what a failed run's nodes said (singleton, nodes, kit).
log_tail() {
  local i
  for i in 1 2 3; do
    echo "--- node $i (singleton, #node, kit lines; last 40)"
    grep -E '^singleton|^#node|^#kit|^#ready|ready' "$1/n$i.log" | tail -40 || true
  done
}

FAILED=0
# one SIDE R: a fresh cluster, one partition and heal, its figures.
one() {
  local side=$1 r=$2 tag="$1.$2" d="$TMP/$1.$2" i j
  DIRS+=("$d")
  local up=(cluster up --nodes 3 --cookie "$COOKIE" --ticktime "$TICK" --dir "$d")
  case $side in
    beam) up+=(--beam 3) ;;
    c_avail) up+=(--exec "$WRAP" -- --kit-dir "$d" --ticktime "$TICK" --mode availability
                  --period-ms 100) ;;
    c_quorum) up+=(--exec "$WRAP" -- --kit-dir "$d" --ticktime "$TICK" --mode quorum
                   --cluster-size 3 --lease-ms "$LEASE" --period-ms 100) ;;
  esac
  if ! "$NODUS" "${up[@]}" >"$TMP/$tag.up" 2>&1; then
    echo "run_dsup_heal.sh: $tag: cluster up failed:" >&2
    cat "$TMP/$tag.up" >&2
    FAILED=1
    fig "$side" failed_up 1
    "$NODUS" cluster down --dir "$d" >/dev/null 2>&1 || true
    return 0
  fi
  local status
  status=$("$NODUS" cluster status --json --dir "$d")
  PREFIXES+=("$(jq -r .cluster <<<"$status")")
  [ "$(jq -r .netns <<<"$status")" = true ] || {
    echo "run_dsup_heal.sh: $tag: no network namespaces (loopback kit)" >&2
    exit 1
  }
  local names=()
  mapfile -t names < <(jq -r '.nodes[].name' <<<"$status")
  local files=("$d/n1.log" "$d/n2.log" "$d/n3.log")
  if [ "$side" = beam ]; then
    local peers expr reply
    for i in 1 2 3; do
      peers=$(printf '"%s",' "${names[@]}" | sed "s/\"${names[$((i - 1))]}\",//; s/,\$//")
      expr="code:add_patha(\"$TMP/ebin\"), spawn(fun() -> bench_dsup:main([$peers]) end)."
      reply=$("$NODUS" cluster eval "$i" "$expr" --dir "$d" 2>&1 || true)
      case $reply in
        "{ok,<"*) ;;
        *) echo "run_dsup_heal.sh: $tag: eval on node $i: $reply" >&2 ;;
      esac
    done
  fi

  # steady: one owner, full mesh, nothing started or stopped for 0.5 s
  local owner="" prev="" n0 end=$((SECONDS + 40))
  while [ $SECONDS -le $end ]; do
    owner=$(dsup_state "${files[@]}")
    n0=$(dsup_events "${files[@]}")
    if [ -n "$owner" ] && [ "$owner:$n0" = "$prev" ]; then break; fi
    prev=${owner:+$owner:$n0}
    owner=""
    sleep 0.5
  done
  if [ -z "$owner" ]; then
    echo "run_dsup_heal.sh: $tag: no steady single instance with a full mesh in 40 s" >&2
    log_tail "$d" >&2
    FAILED=1
    fig "$side" failed_steady 1
    finish "$side" "$tag" "$d"
    return 0
  fi
  local oname=${names[$((owner - 1))]} maj=() mfiles=() mre=""
  for j in 1 2 3; do
    [ "$j" = "$owner" ] && continue
    maj+=("$j")
    mfiles+=("$d/n$j.log")
    mre+="${mre:+|}$(re "${names[$((j - 1))]}")"
  done

  # the partition: the owner alone
  local t_iso
  t_iso=$(ms_now)
  "$NODUS" cluster partition --isolate "$owner" --dir "$d" >/dev/null
  local split_s=$((TICK * 2 + LEASE / 1000 + 10)) ms="" reached=0 mr orun
  end=$((SECONDS + split_s))
  while [ $SECONDS -le $end ]; do
    ms=$(minof "$(first_after "${mfiles[0]}" '^singleton started ' "$t_iso")" \
               "$(first_after "${mfiles[1]}" '^singleton started ' "$t_iso")")
    if [ -n "$ms" ]; then
      mr=$(dsup_running "${mfiles[@]}")
      orun=0
      if dsup_is_running "${files[$((owner - 1))]}"; then orun=1; fi
      if [ "$mr" = 1 ] && { { [ "$side" = c_quorum ] && [ $orun = 0 ]; } ||
                            { [ "$side" != c_quorum ] && [ $orun = 1 ]; }; }; then
        reached=1
        break
      fi
    fi
    sleep 0.05
  done
  local dn ostop
  dn=$(minof "$(first_after "${mfiles[0]}" "^#nodedown $(re "$oname") .* t=" "$t_iso")" \
             "$(first_after "${mfiles[1]}" "^#nodedown $(re "$oname") .* t=" "$t_iso")")
  ostop=$(first_after "${files[$((owner - 1))]}" '^singleton stopped ' "$t_iso")
  [ -n "$ms" ] && fig "$side" isolate_to_start_ms "$(sub "$ms" "$t_iso")"
  [ -n "$dn" ] && fig "$side" isolate_to_nodedown_ms "$(sub "$dn" "$t_iso")"
  [ -n "$ostop" ] && fig "$side" isolate_to_owner_stop_ms "$(sub "$ostop" "$t_iso")"
  fig "$side" split_reached $reached
  # quorum: the majority's start must come after the owner's stop
  if [ "$side" = c_quorum ] && [ -n "$ms" ] && [ -n "$ostop" ] &&
     awk -v a="$ms" -v b="$ostop" 'BEGIN{exit !(a < b)}'; then
    fig "$side" split_overlap_ms "$(sub "$ostop" "$ms")"
  fi
  if [ $reached = 0 ]; then
    echo "run_dsup_heal.sh: $tag: split state not reached in $split_s s (majority start: ${ms:-none}; running: $(dsup_running "${files[@]}"))" >&2
    log_tail "$d" >&2
  fi

  # hold the partition, then heal
  sleep "$HOLD"
  local mi="" # the majority's node that runs an instance now
  for j in "${maj[@]}"; do
    if dsup_is_running "$d/n$j.log"; then mi=$j; fi
  done
  local t_heal t_healed
  t_heal=$(ms_now)
  "$NODUS" cluster heal --dir "$d" >/dev/null
  t_healed=$(ms_now)
  fig "$side" heal_cmd_ms "$(sub "$t_healed" "$t_heal")"
  local last="" changed cur st ev now settled=0
  changed=$(now_ms)
  end=$((SECONDS + 30))
  while [ $SECONDS -le $end ]; do
    st=$(dsup_state "${files[@]}")
    ev=$(dsup_events "${files[@]}")
    cur="$st:$ev"
    now=$(now_ms)
    if [ "$cur" != "$last" ]; then
      last=$cur
      changed=$now
    elif [ -n "$st" ] && [ $((now - changed)) -ge 2000 ]; then
      settled=1
      break
    fi
    sleep 0.1
  done
  local up_at meet="" reasons
  up_at=$(minof "$(first_after "${mfiles[0]}" "^#nodeup $(re "$oname") t=" "$t_heal")" \
                "$(first_after "${mfiles[1]}" "^#nodeup $(re "$oname") t=" "$t_heal")" \
                "$(first_after "${files[$((owner - 1))]}" "^#nodeup ($mre) t=" "$t_heal")")
  # the owner and the majority's instance's node connected again
  [ -n "$mi" ] &&
    meet=$(minof "$(first_after "$d/n$mi.log" "^#nodeup $(re "$oname") t=" "$t_heal")" \
                 "$(first_after "${files[$((owner - 1))]}" "^#nodeup $(re "${names[$((mi - 1))]}") t=" "$t_heal")")
  reasons=$(cat "${files[@]}" | grep '^singleton stopped ' | sed 's/ t=/ /' |
            awk -v a="$t_heal" '$NF > a {print $3}' | sort | uniq -c | awk '{printf "%s%s×%s", s, $2, $1; s=", "}' || true)
  if [ $settled = 1 ]; then
    local le working=0 key=heal_to_one_ms
    le=$(dsup_last_event "$t_heal" "${files[@]}")
    [ $reached = 1 ] || key=heal_to_one_nosplit_ms
    fig "$side" "$key" "$(sub "${le:-$t_heal}" "$t_heal")"
    [ -n "$up_at" ] && fig "$side" heal_to_nodeup_ms "$(sub "$up_at" "$t_heal")"
    [ -n "$meet" ] && fig "$side" heal_to_meet_ms "$(sub "$meet" "$t_heal")"
    # (BEAM: the clash may be resolved through the third node before the
    # two meet; those runs count apart)
    if [ -n "$meet" ] && [ -n "$le" ]; then
      if awk -v a="$le" -v b="$meet" 'BEGIN{exit !(a >= b)}'; then
        fig "$side" meet_to_one_ms "$(sub "$le" "$meet")"
      else
        fig "$side" one_before_meet 1
      fi
    fi
    local ov
    ov=$(overlap "$t_heal" "${files[@]}")
    fig "$side" heal_two_ms "${ov%% *}"
    ov=${ov#* }
    fig "$side" heal_none_ms "${ov%% *}"
    fig "$side" heal_two_again "${ov#* }"
    fig "$side" survivor_is_owner "$([ "$st" = "$owner" ] && echo 1 || echo 0)"
    # who did work in the last second: the one instance only
    for i in 1 2 3; do
      if awk -v a="$((now - 1000))" '$1 == "work" && $2 > a {f = 1} END {exit !f}' "${files[$((i - 1))]}"; then
        working=$((working + 1))
      fi
    done
    fig "$side" working_nodes "$working"
    echo "run_dsup_heal.sh: $tag: owner n$owner; majority started $([ -n "$ms" ] && sub "$ms" "$t_iso" || echo never) ms after the isolation; heal → one $(sub "${le:-$t_heal}" "$t_heal") ms (first nodeup across the cut $([ -n "$up_at" ] && sub "$up_at" "$t_heal" || echo -) ms, owner and n${mi:-?} $([ -n "$meet" ] && sub "$meet" "$t_heal" || echo -) ms), survivor n$st, stopped after the heal: ${reasons:-none}, $working working" >&2
  else
    local nrun
    nrun=$(dsup_running "${files[@]}")
    fig "$side" not_one_after_heal 1
    fig "$side" not_one_running "$nrun"
    FAILED=1
    echo "run_dsup_heal.sh: $tag: not one instance 30 s after the heal ($nrun running, state '$st'; stopped after the heal: ${reasons:-none})" >&2
    log_tail "$d" >&2
  fi
  finish "$side" "$tag" "$d"
}

# finish SIDE TAG DIR: the cluster down, its logs kept if asked.
finish() {
  "$NODUS" cluster down --dir "$3" >/dev/null 2>&1 || true
  if [ -n "$LOG" ]; then
    local i
    for i in 1 2 3; do echo "== $2 node $i" >>"$LOG"; cat "$3/n$i.log" >>"$LOG" 2>/dev/null || true; done
  fi
  rm -rf "$3"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$RUNS"); do
  for side in $SIDES; do one "$side" "$r"; done
done
[ -n "${BENCH_DSUP_RAW:-}" ] && cat "$TMP/figures" >&2

figm() { grep "^$1 $2 " "$TMP/figures" | awk '{print $3}' | median; }
count() { grep -c "^$1 $2 " "$TMP/figures" || true; }
total() { grep "^$1 $2 " "$TMP/figures" | awk '{n += $3} END {print n + 0}'; }
# not_one SIDE: "R" runs not at one instance after the heal, by how many ran
not_one() {
  local two none
  two=$(awk -v s="$1" '$1 == s && $2 == "not_one_running" && $3 >= 2' "$TMP/figures" | wc -l)
  none=$(awk -v s="$1" '$1 == s && $2 == "not_one_running" && $3 == 0' "$TMP/figures" | wc -l)
  echo "$(total "$1" not_one_after_heal) not at one instance ($two with two or more running, $none with none)"
}
echo "nodus dsup vs a :global singleton, partition heal → one instance (OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')), 3 nodes in network namespaces (test kit; the owner isolated by nft, healed after the split + $HOLD s), net_ticktime $TICK s, quorum lease_ms $LEASE; $RUNS run(s) per side, median; $(nproc) CPUs, load $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
printf '| scenario | nodus | BEAM | BEAM/nodus | goal |\n|---|---|---|---|---|\n'
for m in avail quorum; do
  case $SIDES in *c_$m*) ;; *) continue ;; esac
  label=$([ $m = avail ] && echo availability || echo "quorum (lease $LEASE ms)")
  row "heal → one instance, ms ($label, n=$(count c_$m heal_to_one_ms); BEAM n=$(count beam heal_to_one_ms))" \
    "$(figm c_$m heal_to_one_ms)" "$(figm beam heal_to_one_ms)"
  row "heal → first nodeup across the cut, ms ($label)" \
    "$(figm c_$m heal_to_nodeup_ms)" "$(figm beam heal_to_nodeup_ms)"
  row "heal → the owner and the majority's instance's node connected, ms ($label)" \
    "$(figm c_$m heal_to_meet_ms)" "$(figm beam heal_to_meet_ms)"
  row "that connection → one instance, ms ($label)" \
    "$(figm c_$m meet_to_one_ms)" "$(figm beam meet_to_one_ms)"
  row "after the heal: two instances running, ms in all ($label)" \
    "$(figm c_$m heal_two_ms)" "$(figm beam heal_two_ms)"
  row "after the heal: no instance running, ms in all ($label)" \
    "$(figm c_$m heal_none_ms)" "$(figm beam heal_none_ms)"
  row "isolation of the owner → started on the majority side, ms ($label, n=$(count c_$m isolate_to_start_ms))" \
    "$(figm c_$m isolate_to_start_ms)" "$(figm beam isolate_to_start_ms)"
  row "(isolation → the majority's nodedown of the owner, ms: $label)" \
    "$(figm c_$m isolate_to_nodedown_ms)" "$(figm beam isolate_to_nodedown_ms)"
done
case $SIDES in *c_quorum*)
  row "(quorum: isolation → the isolated owner stopped its instance, ms; BEAM: never)" \
    "$(figm c_quorum isolate_to_owner_stop_ms)" "-" ;;
esac
for side in $SIDES; do
  echo "- $side: $(count "$side" split_reached) run(s), $(total "$side" split_reached) reached the split state; after the heal $(not_one "$side"); the isolated owner's node kept the instance in $(total "$side" survivor_is_owner) of $(count "$side" survivor_is_owner); one instance before the two instances' nodes met (resolved through the third) in $(total "$side" one_before_meet) run(s); two instances again after one (a new split while reconnecting) in $(awk -v s="$side" '$1 == s && $2 == "heal_two_again" && $3 > 0' "$TMP/figures" | wc -l) run(s); nodes working in the last second: $(grep "^$side working_nodes " "$TMP/figures" | awk '{print $3}' | sort | uniq -c | awk '{printf "%s%s in %s run(s)", s, $2, $1; s=", "}')$( [ "$(total "$side" failed_up)$(total "$side" failed_steady)" = 00 ] || echo "; failed: $(total "$side" failed_up) up, $(total "$side" failed_steady) no steady state")"
done
echo "(nodus's t= have 1 ms resolution; BEAM's µs. The heal command itself, nft in 3 namespaces: $(awk '$2 == "heal_cmd_ms" {print $3}' "$TMP/figures" | median) ms median)"
exit $FAILED

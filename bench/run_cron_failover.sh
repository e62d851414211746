#!/usr/bin/env bash
# The gap in a cluster-wide cron job's ticks after kill -9 of the node
# that runs it, nodus vs BEAM in the same run (bench/README.md, "Cluster
# cron: ticks across a kill -9").
#
#   bench/run_cron_failover.sh BUILD_DIR [RUNS]     # default 5
#
# Each run starts a fresh 3-node cluster on loopback (private epmd, the
# same net_ticktime 4 s on both sides): three build/bin/cron_cleaner
# --every 1s --peers the other two, in availability mode (side c) or in
# quorum mode with a 1 s lease and --missed run_once (c_quorum), or three erl
# nodes running bench_dsup.erl tick_ms=1000 (the usual BEAM recipe: a
# :global singleton whose worker arms erlang:start_timer at each whole
# second). Once one node runs the ticks and every node sees the other
# two, the owner gets kill -9 400 ms after a tick; the figures are the
# ticks lost (whole seconds between the last tick before the kill and the
# first one after, on a survivor) and how late that first tick started
# after its time. Sides take turns; medians are printed.
set -euo pipefail
BUILD_DIR=${1:?usage: run_cron_failover.sh BUILD_DIR [RUNS]}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/cron_cleaner
[ -x "$CBIN" ] || { echo "run_cron_failover.sh: $CBIN not built" >&2; exit 1; }
source "$HERE/bench_lib.sh" "$HERE/bench_dsup.erl"
: >"$TMP/figures"
KILL=()
failover_cleanup() {
  for p in "${KILL[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  bench_cleanup
}
trap failover_cleanup EXIT
ms_now() { awk -v t="$EPOCHREALTIME" 'BEGIN{printf "%.0f", t * 1000}'; }

# ticks TAG: every "tick S ran=R node=N" line of the run, as "S R N".
ticks() { cat "$TMP/$1".[123].out 2>/dev/null | awk '/^tick /{sub("ran=", "", $3); sub("node=", "", $4); print $2, $3, $4}' | sort -n; }
# meshed TAG: every node has seen the other two up.
meshed() {
  local i n
  for i in 1 2 3; do
    n=$(grep -c '^#nodeup ' "$TMP/$1.$i.out" || true)
    [ "$n" -ge 2 ] || return 1
  done
}

one() {
  local side=$1 r=$2 tag="$1_$2" i names=() pids=() peers
  local pre="cf${side//_/}${r}n"
  for i in 1 2 3; do names+=("$pre$i@$HOST"); done
  for i in 1 2 3; do
    peers=$(printf '%s\n' "${names[@]}" | grep -vx "${names[$((i - 1))]}" | paste -sd,)
    if [ "$side" = beam ]; then
      erl -sname "$pre$i" -setcookie "$COOKIE" -noshell -pa "$TMP" -kernel net_ticktime 4 \
        -run bench_dsup main tick_ms=1000 ${peers//,/ } </dev/null >"$TMP/$tag.$i.out" 2>&1 &
    else
      local mode=(--mode availability)
      [ "$side" = c_quorum ] && mode=(--mode quorum --cluster-size 3 --lease-ms 1000 --missed run_once)
      "$CBIN" --name "${names[$((i - 1))]}" --cookie "$COOKIE" --peers "$peers" --every 1s \
        "${mode[@]}" --ticktime 4 --epmd-port "$EPMD_PORT" </dev/null \
        >"$TMP/$tag.$i.out" 2>&1 &
    fi
    pids+=($!) KILL+=($!)
    disown $!
  done
  # steady: a mesh and the last 3 ticks on one node
  local end=$((SECONDS + 40)) owner_name=""
  while [ $SECONDS -le $end ]; do
    if meshed "$tag"; then
      owner_name=$(ticks "$tag" | tail -3 | awk '{print $3}' | sort -u)
      [ -n "$owner_name" ] && [ "$(wc -l <<<"$owner_name")" = 1 ] && break
    fi
    owner_name=""
    sleep 0.2
  done
  if [ -z "$owner_name" ]; then
    echo "run_cron_failover.sh: $tag: no steady owner in 40 s" >&2
    FAILED=1
  else
    local owner=0 victim last now wait_ms
    for i in 1 2 3; do [ "${names[$((i - 1))]}" = "$owner_name" ] && owner=$i; done
    victim=${pids[$((owner - 1))]}
    [ "$side" = beam ] && victim=$(grep -m1 '^#ospid ' "$TMP/$tag.$owner.out" | cut -d' ' -f2)
    # 400 ms after the owner's latest tick (the next one due in 600 ms)
    last=$(ticks "$tag" | tail -1 | cut -d' ' -f1)
    now=$(ms_now)
    wait_ms=$(( (last + 1400 - now) % 1000 ))
    [ $wait_ms -lt 0 ] && wait_ms=$((wait_ms + 1000))
    sleep "$(awk -v m="$wait_ms" 'BEGIN{printf "%.3f", m / 1000}')"
    local t_kill
    t_kill=$(ms_now)
    kill -9 "$victim"
    local before after="" end2=$((SECONDS + 12))
    before=$(ticks "$tag" | awk -v k="$t_kill" '$1 <= k' | tail -1 | cut -d' ' -f1)
    while [ $SECONDS -le $end2 ] && [ -z "$after" ]; do
      after=$(ticks "$tag" | awk -v k="$t_kill" -v o="$owner_name" '$1 > k && $3 != o' | head -1)
      [ -n "$after" ] || sleep 0.05
    done
    if [ -z "$after" ] || [ -z "$before" ]; then
      echo "run_cron_failover.sh: $tag: no tick on a survivor within 12 s of the kill" >&2
      FAILED=1
    else
      local s ran
      read -r s ran _ <<<"$after"
      echo "$side lost $(( (s - before) / 1000 - 1 ))" >>"$TMP/figures"
      echo "$side late $((ran - s))" >>"$TMP/figures"
    fi
  fi
  local all=("${pids[@]}")
  [ "$side" = beam ] && all+=($(grep -h -m1 '^#ospid ' "$TMP/$tag".[123].out | cut -d' ' -f2))
  kill -9 "${all[@]}" 2>/dev/null || true
}

FAILED=0
for r in $(seq "$RUNS"); do
  for side in c c_quorum beam; do one "$side" "$r"; done
done
median() { sort -g | awk '{a[NR]=$1} END { if (NR) printf "%.1f\n", a[int((NR+1)/2)]; else print "-" }'; }
figm() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k {print $3}' "$TMP/figures" | median; }
count() { awk -v s="$1" '$1 == s && $2 == "lost"' "$TMP/figures" | wc -l; }
echo "cluster cron across kill -9 of the owner, nodus vs a :global singleton with a timer (OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')), 3 nodes on loopback, a tick every 1 s, the kill 400 ms after a tick, net_ticktime 4 s; $RUNS run(s), median (n = $(count c) / $(count c_quorum) / $(count beam)); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| scenario | nodus availability | nodus quorum, run_once | BEAM | goal |\n|---|---|---|---|---|\n'
printf '| ticks lost | %s | %s | %s | 0 (failover faster than the period) |\n' \
  "$(figm c lost)" "$(figm c_quorum lost)" "$(figm beam lost)"
printf '| first tick after the kill: started after its time, ms | %s | %s | %s | on time |\n' \
  "$(figm c late)" "$(figm c_quorum late)" "$(figm beam late)"
exit $FAILED

#!/usr/bin/env bash
# Distributed supervisor failover, nodus vs BEAM in the same run
# (bench/README.md, "Distributed supervisor failover").
#
#   bench/run_dsup.sh BUILD_DIR [RUNS]          # default 5; e.g. bench/run_dsup.sh build-bench
#   BENCH_DSUP_RAW=1 bench/run_dsup.sh build-bench   # also every figure, on stderr
#
# Knobs: BENCH_DSUP_TICKTIME (s, both sides, default 4), BENCH_DSUP_LEASE_MS
# (the quorum rows' --lease-ms, default 1000), BENCH_DSUP_FAULTS (default
# "kill stop"), BENCH_DSUP_SIDES (default "c_avail c_detect c_quorum
# beam"; c_detect is availability with --detector-ms BENCH_DSUP_DETECTOR_MS,
# default 1000), BENCH_DSUP_LOG (keep every node's output there).
#
# Each run starts a fresh 3-node cluster on loopback (private epmd): three
# build/bin/singleton_worker (--peers the other two, --mode availability,
# or --mode quorum --cluster-size 3 --lease-ms L), or three erl nodes
# running bench_dsup.erl (the usual :global singleton starter), all with
# the same net_ticktime. Once exactly one instance runs and every node sees
# the other two, the owner gets kill -9 (fault "kill") or SIGSTOP ("stop");
# the figures are the times, on CLOCK_REALTIME (bash's $EPOCHREALTIME just
# before kill(2); the nodes' own timestamps), from the fault and from the
# new owner's nodedown of the old one to the first "singleton started" on
# a survivor. After a SIGSTOP the old owner gets SIGCONT: the time from it
# to one instance again (the last start/stop line, then none for 2 s).
# Sides take turns run after run; medians are printed.
set -euo pipefail
BUILD_DIR=${1:?usage: run_dsup.sh BUILD_DIR [RUNS]}
RUNS=${2:-5}
TICK=${BENCH_DSUP_TICKTIME:-4}
LEASE=${BENCH_DSUP_LEASE_MS:-1000}
FAULTS=${BENCH_DSUP_FAULTS:-kill stop}
SIDES=${BENCH_DSUP_SIDES:-c_avail c_detect c_quorum beam}
DETECT=${BENCH_DSUP_DETECTOR_MS:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/singleton_worker
[ -x "$CBIN" ] || { echo "run_dsup.sh: $CBIN not built" >&2; exit 1; }
source "$HERE/bench_lib.sh" "$HERE/bench_dsup.erl"
source "$HERE/dsup_lib.sh"
LOG=${BENCH_DSUP_LOG:-}
: >"$TMP/figures"

# A paused node ignores SIGTERM: every node gets SIGKILL (and SIGCONT).
dsup_cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  bench_cleanup
}
trap dsup_cleanup EXIT

# The readers of dsup_lib.sh, on one run's three output files.
# state TAG: "OWNER" when exactly one node's last start/stop line is a
# start and every node sees the other two up; else nothing.
state() { dsup_state "$TMP/$1".{1,2,3}.out; }
events() { dsup_events "$TMP/$1".{1,2,3}.out; }
# running TAG: how many nodes' last start/stop line is a start.
running() { dsup_running "$TMP/$1".{1,2,3}.out; }

# first_start TAG I AFTER_MS: the first start on node I after AFTER_MS
# (unix ms, float): singleton_worker's history (ns), bench_dsup's t=.
first_start() {
  local tag=$1 i=$2 after=$3
  if [ -e "$TMP/$tag.$i.hist" ]; then
    grep '"f":"start"' "$TMP/$tag.$i.hist" | sed 's/.*"time":\([0-9]*\),.*/\1/' |
      awk -v a="$after" '$1 / 1e6 > a {printf "%.3f\n", $1 / 1e6; exit}' || true
  else
    grep '^singleton started ' "$TMP/$tag.$i.out" | sed 's/.* t=//' |
      awk -v a="$after" '$1 > a {print; exit}' || true
  fi
}
# nodedown_at TAG I NODE AFTER_MS: node I's first nodedown of NODE after.
nodedown_at() {
  grep "^#nodedown $3 " "$TMP/$1.$2.out" | sed 's/.* t=//' |
    awk -v a="$4" '$1 + 1 > a {print; exit}' || true
}
# last_event TAG AFTER_MS: the last start/stop line's t= after AFTER_MS.
last_event() { dsup_last_event "$2" "$TMP/$1".{1,2,3}.out; }

fig() { echo "$1 $2 $3" >>"$TMP/figures"; }

# one SIDE FAULT R: a fresh cluster, one fault, its figures.
one() {
  local side=$1 fault=$2 r=$3 tag="$1_$2_$3" i names=() pids=() peers cmd
  local pre="${side//_/}${fault:0:1}${r}n"
  for i in 1 2 3; do names+=("$pre$i@$HOST"); done
  for i in 1 2 3; do
    peers=$(printf '%s\n' "${names[@]}" | grep -vx "${names[$((i - 1))]}" | paste -sd,)
    case $side in
      beam) cmd=(erl -sname "$pre$i" -setcookie "$COOKIE" -noshell -pa "$TMP"
                 -kernel net_ticktime "$TICK" -run bench_dsup main ${peers//,/ }) ;;
      c_avail) cmd=("$CBIN" --name "${names[$((i - 1))]}" --cookie "$COOKIE" --peers "$peers"
                    --mode availability --ticktime "$TICK" --epmd-port "$EPMD_PORT"
                    --period-ms 100 --history "$TMP/$tag.$i.hist") ;;
      c_detect) cmd=("$CBIN" --name "${names[$((i - 1))]}" --cookie "$COOKIE" --peers "$peers"
                     --mode availability --detector-ms "$DETECT" --ticktime "$TICK"
                     --epmd-port "$EPMD_PORT" --period-ms 100 --history "$TMP/$tag.$i.hist") ;;
      c_quorum) cmd=("$CBIN" --name "${names[$((i - 1))]}" --cookie "$COOKIE" --peers "$peers"
                     --mode quorum --cluster-size 3 --lease-ms "$LEASE" --ticktime "$TICK"
                     --epmd-port "$EPMD_PORT" --period-ms 100 --history "$TMP/$tag.$i.hist") ;;
    esac
    "${cmd[@]}" </dev/null >"$TMP/$tag.$i.out" 2>>"$TMP/$tag.err" &
    pids+=($!)
    PIDS+=($!)
    disown $! # no "Killed" lines from bash
  done
  # steady: one owner, full mesh, nothing started or stopped for 0.5 s
  local owner="" prev="" n0 end=$((SECONDS + 40))
  while [ $SECONDS -le $end ]; do
    owner=$(state "$tag")
    n0=$(events "$tag")
    if [ -n "$owner" ] && [ "$owner:$n0" = "$prev" ]; then break; fi
    prev=${owner:+$owner:$n0}
    owner=""
    sleep 0.5
  done
  if [ -z "$owner" ]; then
    echo "run_dsup.sh: $tag: no steady single instance in 40 s" >&2
    FAILED=1
  else
    local victim=${pids[$((owner - 1))]} vname=${names[$((owner - 1))]} t0 s="" j best="" bi=""
    [ "$side" = beam ] && victim=$(grep -m1 '^#ospid ' "$TMP/$tag.$owner.out" | cut -d' ' -f2)
    local wait_s=$([ "$fault" = kill ] && echo 10 || echo $((TICK * 2 + LEASE / 1000 + 5)))
    t0=$(ms_now)
    if [ "$fault" = kill ]; then kill -9 "$victim"; else kill -STOP "$victim"; fi
    end=$((SECONDS + wait_s))
    while [ $SECONDS -le $end ] && [ -z "$best" ]; do
      for j in 1 2 3; do
        [ "$j" = "$owner" ] && continue
        s=$(first_start "$tag" "$j" "$t0")
        if [ -n "$s" ] && { [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a < b)}'; }; then
          best=$s bi=$j
        fi
      done
      [ -n "$best" ] || sleep 0.01
    done
    if [ -z "$best" ]; then
      echo "run_dsup.sh: $tag: no start on a survivor in ${wait_s} s" >&2
      FAILED=1
    else
      local d
      d=$(nodedown_at "$tag" "$bi" "$vname" "$t0")
      fig "$side:$fault" fault_to_start_ms "$(awk -v a="$best" -v b="$t0" 'BEGIN{printf "%.3f", a - b}')"
      if [ -n "$d" ]; then
        fig "$side:$fault" nodedown_to_start_ms "$(awk -v a="$best" -v b="$d" 'BEGIN{printf "%.3f", a - b}')"
        fig "$side:$fault" fault_to_nodedown_ms "$(awk -v a="$d" -v b="$t0" 'BEGIN{printf "%.3f", a - b}')"
      fi
    fi
    if [ "$fault" = stop ] && [ -n "$best" ]; then
      # resume: two instances now (the paused one's, if it still runs,
      # and the new one); time to one again
      sleep 0.3
      local tc
      tc=$(ms_now)
      kill -CONT "$victim"
      end=$((SECONDS + 20))
      local last="" quiet=0 cur
      while [ $SECONDS -le $end ]; do
        cur=$(running "$tag"):$(events "$tag")
        if [ "${cur%%:*}" = 1 ] && [ "$cur" = "$last" ]; then
          quiet=$((quiet + 1))
          [ $quiet -ge 20 ] && break # 2 s without a change
        else
          quiet=0
        fi
        last=$cur
        sleep 0.1
      done
      if [ $quiet -ge 20 ]; then
        local le
        le=$(last_event "$tag" "$tc")
        fig "$side:$fault" resume_to_one_ms "$(awk -v a="${le:-$tc}" -v b="$tc" 'BEGIN{printf "%.3f", a - b}')"
      else
        echo "run_dsup.sh: $tag: not one instance 20 s after SIGCONT ($cur running:events)" >&2
        FAILED=1
      fi
    fi
  fi
  # all at once, so that no node outlives the others long enough to start
  # an instance of its own (that would only clutter BENCH_DSUP_LOG)
  local all=("${pids[@]}")
  [ "$side" = beam ] && all+=($(grep -h -m1 '^#ospid ' "$TMP/$tag".[123].out | cut -d' ' -f2))
  kill -9 "${all[@]}" 2>/dev/null || true
  for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
  if [ -n "$LOG" ]; then
    for i in 1 2 3; do echo "== $tag node $i" >>"$LOG"; cat "$TMP/$tag.$i.out" >>"$LOG"; done
    cat "$TMP/$tag.err" >>"$LOG" 2>/dev/null || true
  fi
}

FAILED=0
for r in $(seq "$RUNS"); do
  for fault in $FAULTS; do
    for side in $SIDES; do one "$side" "$fault" "$r"; done
  done
done
[ -n "${BENCH_DSUP_RAW:-}" ] && cat "$TMP/figures" >&2

figm() { grep "^$1 $2 " "$TMP/figures" | awk '{print $3}' | median; }
count() { grep -c "^$1 $2 " "$TMP/figures" || true; }
echo "nodus dsup failover vs a :global singleton (OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')), 3 nodes on loopback, net_ticktime $TICK s, quorum lease_ms $LEASE; $RUNS run(s), median; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| scenario | nodus | BEAM | BEAM/nodus | goal |\n|---|---|---|---|---|\n'
for fault in $FAULTS; do
  what=$([ "$fault" = kill ] && echo "kill -9" || echo "SIGSTOP")
  for m in avail detect quorum; do
    case $SIDES in *c_$m*) ;; *) continue ;; esac
    case $m in
      avail) label=availability ;;
      detect) label="availability, failure detector $DETECT ms" ;;
      *) label="quorum (lease $LEASE ms)" ;;
    esac
    row "$what of the owner → started on a survivor, ms ($label, n=$(count c_$m:$fault fault_to_start_ms))" \
      "$(figm c_$m:$fault fault_to_start_ms)" "$(figm beam:$fault fault_to_start_ms)" \
      "$([ $fault$m = stopdetect ] && echo "≤ 1500 ms")"
    row "$what: new owner's nodedown → started, ms ($label)" \
      "$(figm c_$m:$fault nodedown_to_start_ms)" "$(figm beam:$fault nodedown_to_start_ms)" \
      "$([ $fault$m = killavail ] && echo "≤ 5 ms")"
    [ "$fault" = stop ] && row "SIGCONT of the old owner → one instance, ms ($label)" \
      "$(figm c_$m:$fault resume_to_one_ms)" "$(figm beam:$fault resume_to_one_ms)"
  done
  row "($what → the new owner's nodedown, ms: availability vs BEAM)" \
    "$(figm c_avail:$fault fault_to_nodedown_ms)" "$(figm beam:$fault fault_to_nodedown_ms)"
done
echo "(BEAM runs: $(count beam:kill fault_to_start_ms) kill, $(count beam:stop fault_to_start_ms) stop; C nodedown times have 1 ms resolution)"
exit $FAILED

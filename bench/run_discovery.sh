#!/usr/bin/env bash
# Discovery benchmarks, nodus vs BEAM in the same run (bench/README.md).
#
#   bench/run_discovery.sh BUILD_DIR [RUNS] [K]     # defaults: 3, 10
#   BENCH_DISCOVERY_RAW=1 bench/run_discovery.sh build-bench   # every figure, on stderr
#
# Parts (for a quick look): BENCH_DISCOVERY_STRATEGIES (default "static
# epmd gossip1000 gossip100"), BENCH_DISCOVERY_SIZES ("3 20"),
# BENCH_DISCOVERY_LATENCY=0 skips heartbeat -> connected. The nodes' stderr
# and timestamped stdout go to BENCH_DISCOVERY_LOG if set (else a temp file
# removed at exit).
#
# RUNS: median of (mesh rows). K: heartbeat -> connected samples per side
# and secret. BUILD_DIR has bin/echo_node and bin/bench_discovery.
#
# Everything runs inside a network namespace made here (lo only, with a
# multicast route on lo, so gossip heartbeats never leave the machine) and
# deleted at exit with every process in it; epmd on a private port there.
# Needs root (ip netns).
set -euo pipefail
BUILD_DIR=${1:?usage: run_discovery.sh BUILD_DIR [RUNS] [K]}
RUNS=${2:-3}
K=${3:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BUILD_DIR" && pwd)/bin
for b in echo_node bench_discovery; do
  [ -x "$BIN/$b" ] || { echo "run_discovery.sh: $BIN/$b not built" >&2; exit 1; }
done

# ---- outside: make the namespace, run this script again inside it --------
if [ "${NODUS_BENCH_NETNS:-}" = "" ]; then
  [ "$(id -u)" = 0 ] || { echo "run_discovery.sh: needs root (ip netns)" >&2; exit 1; }
  NS=nodus-bench-$$
  ns_cleanup() {
    # the inner script kills its own; this is for whatever a kill left
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  }
  trap ns_cleanup EXIT
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" link set lo multicast on
  ip -n "$NS" route add 224.0.0.0/4 dev lo
  # The whole run is bounded (each wait inside has its own deadline too).
  # In the background so a signal here is handled at once: timeout passes
  # it on to its process group, the inner script and its launchers.
  NODUS_BENCH_NETNS=$NS timeout 600 ip netns exec "$NS" "$0" "$@" &
  inner=$!
  trap 'kill -TERM $inner 2>/dev/null; wait $inner; exit 130' INT TERM
  rc=0
  wait $inner || rc=$?
  exit $rc
fi

# ---- inside the namespace --------------------------------------------------
source "$HERE/bench_lib.sh" "$HERE/bench_discovery.erl"
H=127.0.0.1 # every node is NAME@127.0.0.1 (erl -name)
DEADLINE_MS=30000
STRATEGIES=${BENCH_DISCOVERY_STRATEGIES:-static epmd gossip1000 gossip100}
SIZES=${BENCH_DISCOVERY_SIZES:-3 20}
LOG=${BENCH_DISCOVERY_LOG:-$TMP/nodes.log} # every node's stderr and timestamped stdout
: >"$TMP/figures"

# mesh SIDE STRATEGY N RUN: N nodes of SIDE (c: echo_node --discover,
# beam: erl running bench_discovery.erl) from start to full mesh; the
# launcher's figures go to $TMP/figures as "SIDE:STRATEGY:N KEY VALUE".
mesh() {
  local side=$1 strat=$2 n=$3 r=$4
  local prefix="${side:0:1}_${strat}_${n}_${r}_" peers=() i cmd spec
  for i in $(seq "$n"); do peers+=("$prefix$i@$H"); done
  if [ "$side" = c ]; then
    case $strat in
      static) spec="static:$(IFS=,; echo "${peers[*]}")" ;;
      epmd) spec="epmd:$H,interval_ms=100,port=$EPMD_PORT" ;;
      gossip*) spec="gossip:interval_ms=${strat#gossip}" ;;
    esac
    cmd=("$BIN/echo_node" --name "$prefix%i@$H" --cookie "$COOKIE" --discover "$spec")
  else
    case $strat in
      static) spec=(static "${peers[@]}") ;;
      epmd) spec=(epmd "$H" 100) ;;
      gossip*) spec=(gossip nil "${strat#gossip}" true) ;;
    esac
    cmd=(erl -name "$prefix%i@$H" -setcookie "$COOKIE" -noshell -pa "$TMP"
         -run bench_discovery main "${spec[@]}")
  fi
  echo "== $side $strat $n nodes, run $r" >>"$LOG"
  if "$BIN/bench_discovery" mesh "$n" "$DEADLINE_MS" "$prefix%i@$H" "$LOG" -- "${cmd[@]}" \
       </dev/null >"$TMP/mesh.out"; then
    sed "s/^/$side:$strat:$n /" "$TMP/mesh.out" >>"$TMP/figures"
  else
    echo "run_discovery.sh: $side $strat, $n nodes, run $r: no full mesh (log: $LOG)" >&2
    FAILED=1
  fi
}

# wait_line FILE TEXT SECONDS: until FILE has a line with TEXT.
wait_line() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -le "$end" ]; do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  return 1
}

# beam_latency SECRET|nil TAG: node blTAGx listens (and connects), K fresh
# nodes blTAGyI, one at a time, send their first heartbeat at start and
# connect to nobody; blTAGx prints "#lat NODE US true" for each.
beam_latency() {
  local secret=$1 tag=$2 out=$TMP/lat_$2.out i y ypid xpid
  erl -name "bl${tag}x@$H" -setcookie "$COOKIE" -noshell -pa "$TMP" \
    -run bench_discovery main gossip "$secret" 600000 true </dev/null >"$out" 2>>"$LOG" &
  xpid=$!
  PIDS+=($xpid)
  wait_line "$out" "#ready" 30 || { echo "run_discovery.sh: BEAM listener did not start" >&2; FAILED=1; return; }
  for i in $(seq "$K"); do
    y="bl${tag}y$i@$H"
    erl -name "$y" -setcookie "$COOKIE" -noshell -pa "$TMP" \
      -run bench_discovery main gossip "$secret" 600000 false </dev/null >/dev/null 2>>"$LOG" &
    ypid=$!
    PIDS+=($ypid)
    wait_line "$out" "#lat $y " 30 || { echo "run_discovery.sh: BEAM sample $i: no connection" >&2; FAILED=1; }
    kill "$ypid" 2>/dev/null || true
    wait "$ypid" 2>/dev/null || true
  done
  kill "$xpid" 2>/dev/null || true
  wait "$xpid" 2>/dev/null || true
  { grep "^#lat .* true$" "$out" || true; } |
    awk -v k="beam:lat:$tag" '{printf "%s heard_to_up_ms %.3f\n", k, $3 / 1000}' >>"$TMP/figures"
}

FAILED=0
for r in $(seq "$RUNS"); do
  for strat in $STRATEGIES; do
    for n in $SIZES; do
      mesh c "$strat" "$n" "$r"
      mesh beam "$strat" "$n" "$r"
    done
  done
done
for s in $([ "${BENCH_DISCOVERY_LATENCY:-1}" = 0 ] || echo plain secret); do
  secret=$([ $s = secret ] && echo s3cret || echo -)
  if "$BIN/bench_discovery" latency "$K" "$secret" >"$TMP/lat_c_$s.out" 2>>"$LOG"; then :; else
    echo "run_discovery.sh: C heartbeat -> connected ($s): some samples failed" >&2; FAILED=1
  fi
  { grep '^lat ' "$TMP/lat_c_$s.out" || true; } | awk -v k="c:lat:$s" \
    '{printf "%s heard_to_up_ms %.3f\n%s sent_to_up_ms %.3f\n", k, $3 / 1000, k, $4 / 1000}' >>"$TMP/figures"
  beam_latency "$([ $s = secret ] && echo s3cret || echo nil)" "$s"
done
[ -n "${BENCH_DISCOVERY_RAW:-}" ] && cat "$TMP/figures" >&2

median() { sort -g | awk '{a[NR]=$1} END { if (NR) print a[int((NR+1)/2)]; else print "-" }'; }
fig() { grep "^$1 $2 " "$TMP/figures" | awk '{print $3}' | median; }
# row LABEL C_VALUE BEAM_VALUE time|size
row() {
  local ratio
  if [ "$4" = time ]; then
    ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (c == "-" || b == "-" || c <= 0 || b <= 0) print "-";
      else if (b >= c) printf "%.2f× faster", b/c; else printf "%.2f× slower", c/b }')
  else
    ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (c == "-" || b == "-" || b <= 0) print "-"; else printf "%.3f", c/b }')
  fi
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$ratio"
}
mib() { awk -v k="$1" 'BEGIN{ if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }
label() { case $1 in static) echo static ;; epmd) echo "epmd (poll 100 ms)" ;; gossip*) echo "gossip ${1#gossip} ms" ;; esac; }

echo "nodus discovery (OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')), $RUNS run(s), median; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| scenario | nodus | BEAM | nodus/BEAM |\n|---|---|---|---|\n'
for strat in $STRATEGIES; do
  for n in $SIZES; do
    row "$(label $strat), $n nodes: start → full mesh, ms" \
      "$(fig c:$strat:$n start_to_mesh_ms)" "$(fig beam:$strat:$n start_to_mesh_ms)" time
    # only gossip: a BEAM node is dialled by static/epmd peers before its
    # -run code prints ready, so there the figure means nothing
    case $strat in gossip*)
      row "$(label $strat), $n nodes: last node's first heartbeat → full mesh, ms" \
        "$(fig c:$strat:$n ready_to_mesh_ms)" "$(fig beam:$strat:$n ready_to_mesh_ms)" time ;;
    esac
  done
done
s1=${STRATEGIES%% *}
for n in $SIZES; do
  row "($n nodes: start → last node up (discovery started), $(label $s1), ms)" \
    "$(fig c:$s1:$n last_ready_ms)" "$(fig beam:$s1:$n last_ready_ms)" time
done
for strat in static gossip100; do
  row "$(label $strat), 20 nodes meshed: Pss of all, MiB" \
    "$(mib "$(fig c:$strat:20 pss_kib)")" "$(mib "$(fig beam:$strat:20 pss_kib)")" size
  row "$(label $strat), 20 nodes meshed: RSS of all, MiB" \
    "$(mib "$(fig c:$strat:20 rss_kib)")" "$(mib "$(fig beam:$strat:20 rss_kib)")" size
done
row "gossip: heartbeat heard → connected, ms (median of $K)" \
  "$(fig c:lat:plain heard_to_up_ms)" "$(fig beam:lat:plain heard_to_up_ms)" time
row "gossip, secret: heartbeat heard → connected, ms (median of $K)" \
  "$(fig c:lat:secret heard_to_up_ms)" "$(fig beam:lat:secret heard_to_up_ms)" time
row "(gossip: first heartbeat sent → connected, ms)" "$(fig c:lat:plain sent_to_up_ms)" - time
row "(gossip, secret: first heartbeat sent → connected, ms)" "$(fig c:lat:secret sent_to_up_ms)" - time
exit $FAILED

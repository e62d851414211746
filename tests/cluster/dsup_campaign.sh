#!/usr/bin/env bash
# The distributed supervisor's campaign by hand (not in CI: test_cluster_dsup
# runs seeds 1-3 there): for every seed, the quorum and the availability
# schedules on 3 and on 5 nodes (examples/singleton_worker, real faults),
# each judged by test_cluster_dsup (see its header for the checks).
#   tests/cluster/dsup_campaign.sh SEED|FIRST-LAST ...   (as root)
# BUILD (default build) is the build dir; MODES ("quorum
# availability-sched"), NODES ("3 5"), DSUP_STEPS, DSUP_HOLD_MS, DSUP_GAP_MS
# tune the runs; LOGS (a new /tmp/nodus-dsup-campaign-XXXXXX) keeps every
# run's output. Prints one line per run, then the pass/fail counts and
# the failing runs with the line that replays each. Exit 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
[ $# -ge 1 ] || { echo "usage: $0 SEED|FIRST-LAST ..." >&2; exit 2; }
bin=$build/bin/test_cluster_dsup
[ -x "$bin" ] || { echo "$0: no $bin (build it first)" >&2; exit 2; }
export NODUS_BIN_DIR=$build/bin
modes=${MODES:-quorum availability-sched}
nodes_list=${NODES:-3 5}
logs=${LOGS:-$(mktemp -d /tmp/nodus-dsup-campaign-XXXXXX)}
mkdir -p "$logs"

seeds=()
for arg in "$@"; do
  if [[ $arg =~ ^([0-9]+)-([0-9]+)$ ]]; then
    for ((s = BASH_REMATCH[1]; s <= BASH_REMATCH[2]; s++)); do seeds+=("$s"); done
  elif [[ $arg =~ ^[0-9]+$ ]]; then
    seeds+=("$arg")
  else
    echo "$0: not a seed or range: $arg" >&2
    exit 2
  fi
done

pass=0 fail=0
declare -A pass_by fail_by
failed=()
start=$(date +%s)
for seed in "${seeds[@]}"; do
  for mode in $modes; do
    for n in $nodes_list; do
      log=$logs/$mode-$seed-$n.log
      DSUP_MODE=$mode DSUP_SEED=$seed DSUP_NODES=$n timeout 300 "$bin" >"$log" 2>&1
      rc=$?
      line=$(grep '^DSUP RESULT' "$log" | tail -n 1)
      key="$mode/$n"
      if [ $rc -eq 0 ] && [[ $line == *" PASS "* ]]; then
        pass=$((pass + 1)) pass_by[$key]=$((${pass_by[$key]:-0} + 1))
        echo "pass  $mode seed=$seed nodes=$n ${line#*PASS }"
      else
        fail=$((fail + 1)) fail_by[$key]=$((${fail_by[$key]:-0} + 1))
        failed+=("$mode seed=$seed nodes=$n (rc $rc, log $log)")
        echo "FAIL  $mode seed=$seed nodes=$n rc=$rc ${line:-no result line}"
      fi
    done
  done
done

echo
echo "== dsup campaign: ${#seeds[@]} seeds, $((pass + fail)) runs in $(( $(date +%s) - start )) s: $pass passed, $fail failed"
for mode in $modes; do
  for n in $nodes_list; do
    key="$mode/$n"
    echo "   $key: ${pass_by[$key]:-0} passed, ${fail_by[$key]:-0} failed"
  done
done
stale=$(grep -l 'final_epoch_is_max=NO' "$logs"/*.log 2>/dev/null | wc -l)
echo "   runs whose surviving instance had not the highest epoch (a fenced resource would refuse it): $stale"
if [ $fail -gt 0 ]; then
  echo "failing runs (replay: DSUP_MODE=MODE DSUP_SEED=SEED DSUP_NODES=N $bin):"
  printf '   %s\n' "${failed[@]}"
fi
echo "logs: $logs"
[ $fail -eq 0 ]

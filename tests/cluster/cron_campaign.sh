#!/usr/bin/env bash
# The cluster scheduler's campaign by hand (not in CI: test_cluster_cron
# runs seed 1 there): for every seed, test_cluster_cron's failover part
# (3 nodes, quorum mode, a job every second with run_once, kill -9 of the
# owner every ~10 s and one isolation of it), judged by the tick checker.
#   tests/cluster/cron_campaign.sh SEED|FIRST-LAST ...   (as root)
# BUILD (default build) is the build dir; CRON_SECONDS (60) each run's
# length; LOGS (a new /tmp/nodus-cron-campaign-XXXXXX) keeps every run's
# output. Prints one line per run, then the counts and the failing runs
# with the line that replays each. Exit 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
[ $# -ge 1 ] || { echo "usage: $0 SEED|FIRST-LAST ..." >&2; exit 2; }
bin=$build/bin/test_cluster_cron
[ -x "$bin" ] || { echo "$0: no $bin (build it first)" >&2; exit 2; }
export NODUS_BIN_DIR=$build/bin
logs=${LOGS:-$(mktemp -d /tmp/nodus-cron-campaign-XXXXXX)}
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
pass=0 fail=0 failed=()
start=$(date +%s)
for seed in "${seeds[@]}"; do
  log=$logs/failover-$seed.log
  CRON_MODE=failover CRON_SEED=$seed timeout 300 "$bin" >"$log" 2>&1
  rc=$?
  line=$(grep -m1 'ticks, .* kills' "$log" | sed 's/^ *//')
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); echo "pass  seed=$seed $line"
  else
    fail=$((fail + 1)); failed+=("seed=$seed (rc $rc, log $log)")
    echo "FAIL  seed=$seed rc=$rc ${line:-no result line}"
  fi
done
echo
echo "== cron campaign: ${#seeds[@]} seeds in $(( $(date +%s) - start )) s: $pass passed, $fail failed"
if [ $fail -gt 0 ]; then
  echo "failing runs (replay: CRON_MODE=failover CRON_SEED=SEED $bin):"
  printf '   %s\n' "${failed[@]}"
fi
echo "logs: $logs"
[ $fail -eq 0 ]

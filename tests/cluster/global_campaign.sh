#!/usr/bin/env bash
# The :global campaign by hand (not in CI; test_cluster_global runs seeds
# with GLOBAL_SEEDS): seeded random partitions/kills/pauses on 3 C + 2 BEAM nodes, names
# from every node; see tests/cluster/global_campaign.h for the checks.
#   tests/cluster/global_campaign.sh SEED|FIRST-LAST ...   (as root)
# BUILD (default build) is the build dir; STEPS, HOLD_MS, GAP_MS tune the
# schedule. A failing seed prints FAIL and its replay line.
# GLOBAL_CAMPAIGN_COMPARE=1 runs each seed on 5 BEAM nodes too and compares
# the failure counts (OTP's own :global misses some heals).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
[ $# -ge 1 ] || { echo "usage: $0 SEED|FIRST-LAST ..." >&2; exit 2; }
export NODUS_BIN_DIR=$build/bin
exec "$build/bin/global_campaign" "$@"

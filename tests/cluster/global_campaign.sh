#!/usr/bin/env bash
# The :global campaign by hand (not in CI; test_cluster_global runs three
# seeds): seeded random partitions/kills/pauses on 3 C + 2 BEAM nodes, names
# from every node; see tests/cluster/global_campaign.h for the checks.
#   tests/cluster/global_campaign.sh SEED|FIRST-LAST ...   (as root)
# BUILD (default build) is the build dir; STEPS, HOLD_MS, GAP_MS tune the
# schedule. A failing seed prints FAIL and its replay line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
[ $# -ge 1 ] || { echo "usage: $0 SEED|FIRST-LAST ..." >&2; exit 2; }
export NODUS_BIN_DIR=$build/bin
exec "$build/bin/global_campaign" "$@"

#!/usr/bin/env bash
# ETF encode/decode: nodus against BEAM on the same terms, in one run.
#
#   bench/run_etf.sh [BUILD_DIR] [MIN_MS]
#
# BUILD_DIR (default /work/main/build) must hold bin/bench_etf; use a
# Release build (cmake -DCMAKE_BUILD_TYPE=Release). This script builds
# nothing. MIN_MS (default 200) is the length of each timed run; each
# figure is the best of 5 runs. Prints a table; ratio = BEAM ns / nodus ns,
# so > 1 means nodus is faster.
set -euo pipefail

BUILD_DIR=${1:-/work/main/build}
MIN_MS=${2:-200}
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN="$BUILD_DIR/bin/bench_etf"
[ -x "$CBIN" ] || { echo "run_etf.sh: $CBIN not built" >&2; exit 1; }
command -v erl >/dev/null || { echo "run_etf.sh: erl not found" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ROWS="small_tuple binary_1k map_100 list_1000 records_50"

# nodus writes the rows' encodings; BEAM checks them, writes its own (which
# both sides decode) and times its side; then nodus times its side.
"$CBIN" write "$TMP"
erlc -o "$TMP" "$HERE/bench_etf.erl"
# shellcheck disable=SC2086
timeout 600 erl -noshell -pa "$TMP" -run bench_etf main "$TMP" "$MIN_MS" $ROWS >"$TMP/beam.txt"
timeout 600 "$CBIN" run "$TMP" "$MIN_MS" >"$TMP/nodus.txt"

echo "ETF encode/decode, ns/op (best of 5 runs of >= ${MIN_MS} ms); ratio = BEAM/nodus, > 1: nodus faster"
echo "$(uname -n), $(nproc) CPU, $(date -u +%Y-%m-%d), $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().')"
echo
awk '
  NR == FNR { nb[$1] = $2; ne[$1] = $3; nd[$1] = $4; order[++n] = $1; next }
  { be[$1] = $3; bd[$1] = $4; if ($2 != nb[$1]) { print "size mismatch for " $1 > "/dev/stderr"; bad = 1 } }
  END {
    printf "| %-12s | %6s | %12s | %12s | %6s | %12s | %12s | %6s |\n", "term", "bytes",
           "nodus enc", "BEAM enc", "ratio", "nodus dec", "BEAM dec", "ratio"
    printf "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|\n", "--------------", "-------", "-------------",
           "-------------", "-------", "-------------", "-------------", "-------"
    for (i = 1; i <= n; i++) {
      r = order[i]
      printf "| %-12s | %6d | %12.1f | %12.1f | %6.2f | %12.1f | %12.1f | %6.2f |\n", r, nb[r],
             ne[r], be[r], be[r] / ne[r], nd[r], bd[r], bd[r] / nd[r]
    }
    exit bad
  }' "$TMP/nodus.txt" "$TMP/beam.txt"

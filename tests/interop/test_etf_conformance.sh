#!/usr/bin/env bash
# ETF conformance of nodus's term layer against the real BEAM (OTP 25).
#
#   bash tests/interop/test_etf_conformance.sh BUILD_DIR
#
# a. BEAM -> C: etf_corpus.erl writes >= 10,000 random terms with BEAM's
#    encodings and ~p text; etf_conformance checks nodus decodes, re-encodes
#    and prints each exactly like BEAM.
# b. C -> BEAM: etf_conformance builds 2,000 random terms; etf_corpus:check
#    checks BEAM decodes them, re-encodes to the same bytes and prints the
#    same text.
# The seed comes from NODUS_SEED, else is random; it is printed first so a
# failure replays with NODUS_SEED=<seed>.
set -uo pipefail

BUILD=${1:-/work/main/build}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN="$BUILD/bin/etf_conformance"
BEAM_TERMS=${NODUS_CONF_BEAM_TERMS:-10000}
C_TERMS=${NODUS_CONF_C_TERMS:-2000}
SEED=${NODUS_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
echo "etf_conformance: seed $SEED (replay: NODUS_SEED=$SEED bash $0 $BUILD)"

if [ ! -x "$BIN" ]; then
  echo "etf_conformance: $BIN not built" >&2
  exit 1
fi
source "$HERE/../skip_lib.sh"
need erl erlc timeout

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Every step has a deadline; the whole test is meant to take < 60 s.
erlc -o "$TMP" "$HERE/etf_corpus.erl" || exit 1

status=0
if ! timeout 90 erl -noshell -pa "$TMP" -run etf_corpus main gen "$TMP/corpus.bin" \
     "$BEAM_TERMS" "$SEED"; then
  echo "etf_conformance: corpus generation failed" >&2
  exit 1
fi
timeout 90 "$BIN" beam2c "$TMP/corpus.bin" || status=1

timeout 60 "$BIN" c2beam "$TMP/ctob.bin" "$C_TERMS" "$SEED" || status=1
if [ -s "$TMP/ctob.bin" ]; then
  timeout 90 erl -noshell -pa "$TMP" -run etf_corpus main check "$TMP/ctob.bin" || status=1
else
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "etf_conformance: FAILED (seed $SEED)"
else
  echo "etf_conformance: OK (seed $SEED)"
fi
exit "$status"

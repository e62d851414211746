#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: the normal build, the
# AddressSanitizer+UBSan build, and short libFuzzer runs of every target.
#
# This is the whole suite: setup.sh installs everything it needs, so no
# test may skip. NODUS_REQUIRE_ALL=1 turns every skip (exit 77: a missing
# tool, not root) into a failure; see tests/skip_lib.sh. (A bare `ctest`
# in a build directory shows such tests as skipped instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
export NODUS_REQUIRE_ALL=1

bash scripts/setup.sh

echo "== tests (build/)"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== tests under AddressSanitizer + UBSan (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNODUS_WERROR=ON \
  -DNODUS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== fuzz smoke runs (build-fuzz/, clang + libFuzzer)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNODUS_SANITIZE=ON -DNODUS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
seconds=${NODUS_FUZZ_SECONDS:-20}
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/"
  echo "-- $name for ${seconds}s"
  "build-fuzz/bin/$name" -max_total_time="$seconds" -print_final_stats=0 \
    "$work" > "build-fuzz/$name.log" 2>&1 || {
      tail -50 "build-fuzz/$name.log"; rm -rf "$work"; exit 1; }
  grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "build-fuzz/$name.log" | tail -1 || true
  rm -rf "$work"
done
echo "== all suites passed"

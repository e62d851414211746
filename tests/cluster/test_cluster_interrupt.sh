#!/usr/bin/env bash
# Teardown when a test is interrupted: SIGINT/SIGTERM run the kit's
# handlers (nothing left); SIGKILL cannot be caught, nodes die with their
# parent (PDEATHSIG) and `nodus cluster down --all` removes the rest.
set -u
source "$(dirname "$0")/../skip_lib.sh"
need_root "network namespaces"
need ip nft erl epmd
build=${1:-build}
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
live_procs() { # live processes of run $1
  for f in $(grep -las "NODUS_KIT_RUN=$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=$(echo "$f" | cut -d/ -f3)
    [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] || echo "$p"
  done
}
for sig in INT TERM KILL; do
  for kind in c beam; do
    out=$(mktemp)
    "$build/bin/kit_hold" $kind >"$out" 2>/dev/null &
    pid=$!
    for _ in $(seq 200); do grep -q '^up ' "$out" && break; sleep 0.05; done
    prefix=$(awk '/^up/{print $2}' "$out")
    check "$sig/$kind: came up" '[ -n "$prefix" ]'
    check "$sig/$kind: namespaces exist" '[ "$(ip netns list | grep -c "^$prefix-")" -ge 3 ]'
    kill -$sig $pid; wait $pid 2>/dev/null
    if [ $sig = KILL ]; then
      # The nodes die with their parent (PDEATHSIG); give them the chance
      # (what is left, e.g. BEAM's helpers, is down --all's to remove).
      for _ in $(seq 30); do [ -z "$(live_procs "$prefix")" ] && break; sleep 0.1; done
      "$build/bin/nodus" cluster down --all --dir /tmp/nodus-no-such-dir >/dev/null
    fi
    for _ in $(seq 50); do [ -z "$(live_procs "$prefix")" ] && break; sleep 0.1; done
    check "$sig/$kind: no namespaces left" '[ "$(ip netns list | grep -c "^$prefix-")" = 0 ]'
    check "$sig/$kind: no processes left" '[ -z "$(live_procs "$prefix")" ]'
    check "$sig/$kind: no state dir left" '[ ! -d /tmp/nodus-kit-$prefix ]'
    rm -f "$out"
  done
done
check "no blackhole route left" '[ -z "$(ip route show proto 177)" ]'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

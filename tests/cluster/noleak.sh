#!/usr/bin/env bash
# After the cluster suite: no namespace, blackhole route, process or temp
# dir of any test kit run remains. Prints "N passed, N failed".
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
ns=$(ip netns list | awk '{print $1}' | grep '^nk' || true)
check "no kit namespaces (found: $ns)" '[ -z "$ns" ]'
routes=$(ip route show proto 177)
check "no kit blackhole routes (found: $routes)" '[ -z "$routes" ]'
procs=$(grep -las 'NODUS_KIT_RUN=' /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
# Zombies wait for their reaper and run nothing; count only live ones.
live=""
for p in $procs; do
  st=$(awk '{print $3}' /proc/$p/stat 2>/dev/null) || continue
  [ "$st" = Z ] || live="$live $p($(cat /proc/$p/comm 2>/dev/null))"
done
check "no kit processes (found:$live)" '[ -z "$live" ]'
dirs=$(ls -d /tmp/nodus-kit-nk* 2>/dev/null || true)
check "no kit temp dirs (found: $dirs)" '[ -z "$dirs" ]'
check "no nft tables in the root namespace from the kit" '! nft list tables 2>/dev/null | grep -q kit_'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

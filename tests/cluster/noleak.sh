#!/usr/bin/env bash
# After the cluster suite: no namespace, blackhole route, process or temp
# dir of any test kit run remains. Prints "N passed, N failed". A listing
# that fails (ip or nft erroring out) is a failure, not "nothing found".
source "$(dirname "$0")/../skip_lib.sh"
need_root "namespaces and nftables"
need ip nft
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
# listing VAR DESC CMD...: runs CMD into VAR; a failure of CMD is one.
listing() {
  local var=$1 what=$2 out rc err
  shift 2
  err=$(mktemp)
  out=$("$@" 2>"$err")
  rc=$?
  printf -v "$var" %s "$out"
  if [ $rc -ne 0 ]; then
    fail=$((fail + 1))
    echo "FAIL: $what: '$*' exited $rc: $(cat "$err")" >&2
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  pass=$((pass + 1))
}
if listing netns "list namespaces" ip netns list; then
  ns=$(awk '{print $1}' <<<"$netns" | grep '^nk' || true)
  check "no kit namespaces (found: $ns)" '[ -z "$ns" ]'
fi
if listing routes "list kit routes" ip route show proto 177; then
  check "no kit blackhole routes (found: $routes)" '[ -z "$routes" ]'
fi
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
if listing tables "list nft tables" nft list tables; then
  kit_tables=$(grep kit_ <<<"$tables" || true)
  check "no nft tables in the root namespace from the kit (found: $kit_tables)" \
    '[ -z "$kit_tables" ]'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

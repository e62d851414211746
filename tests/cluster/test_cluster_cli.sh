#!/usr/bin/env bash
# `nodus cluster` by hand: every command as a separate process sharing the
# state dir. Prints "N passed, N failed". Commands that must fail are
# checked for their exit code (1 failed, 2 usage) and their message.
set -u
source "$(dirname "$0")/../skip_lib.sh"
need_root "network namespaces"
need ip nft erl epmd
build=${1:-build}
N="$build/bin/nodus"
export NODUS_CLUSTER_DIR=$(mktemp -d /tmp/nodus-cli-test-XXXXXX)
pass=0 fail=0
ok() { if "$@" >/tmp/cli.$$ 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $*" >&2; cat /tmp/cli.$$ >&2; fi; }
# no RC TEXT COMMAND...: COMMAND exits RC and says TEXT (a fixed string).
no() {
  local want_rc=$1 want=$2 rc
  shift 2
  "$@" >/tmp/cli.$$ 2>&1
  rc=$?
  if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want" /tmp/cli.$$; then
    pass=$((pass+1))
  else
    fail=$((fail+1))
    echo "FAIL (should fail with exit $want_rc, saying '$want'; exit $rc): $*" >&2
    cat /tmp/cli.$$ >&2
  fi
}
has() { if grep -q -- "$1" /tmp/cli.$$; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: no '$1' in:" >&2; cat /tmp/cli.$$ >&2; fi; }
cleanup() { "$N" cluster down >/dev/null 2>&1; rm -rf "$NODUS_CLUSTER_DIR" /tmp/cli.$$; }
trap cleanup EXIT

ok "$N" cluster up --nodes 3 --beam 1 --ticktime 2; has "running"
no 1 "a cluster is up ($NODUS_CLUSTER_DIR)" "$N" cluster up --nodes 2 # one at a time
ok "$N" cluster status; has "beam"
ok "$N" cluster status --json; has "\"kind\":\"beam\""
ok "$N" cluster ping 1 2; has pong
ok "$N" cluster ping 3 1; has pong
ok "$N" cluster partition 1/2,3; has "partitioned 1/2,3"
no 1 pang "$N" cluster ping 2 1
ok "$N" cluster ping 2 3
ok "$N" cluster heal
ok "$N" cluster ping 2 1
ok "$N" cluster partition --bridge; has "cut 1-3"
ok "$N" cluster heal
ok "$N" cluster pause 2
ok "$N" cluster status; has "paused"
ok "$N" cluster resume 2
ok "$N" cluster kill 1
ok "$N" cluster status; has "dead"
ok "$N" cluster restart 1
ok "$N" cluster ping 1 3; has pong
ok "$N" cluster eval 3 "1 + 2."; has "{ok,3}"
no 2 "no node '9' (1..3)" "$N" cluster kill 9
no 2 "bad spec '1/x'" "$N" cluster partition 1/x
ok "$N" cluster log; has '"fault":"partition"'
ns=$(ip netns list | grep -c "^$(awk '/^prefix/{print $2}' "$NODUS_CLUSTER_DIR/cluster")-" || true)
[ "$ns" = 4 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: $ns namespaces, wanted 4" >&2; }
prefix=$(awk '/^prefix/{print $2}' "$NODUS_CLUSTER_DIR/cluster")
ok "$N" cluster down
no 1 "no cluster in $NODUS_CLUSTER_DIR" "$N" cluster status
left=$(ip netns list | grep -c "^$prefix-" || true)
[ "$left" = 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: $left namespaces left" >&2; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

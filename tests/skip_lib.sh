# The one skip policy of the test suite (sourced, not run).
#
#   source tests/skip_lib.sh
#   need erl epmd            # skip unless every tool is on PATH
#   need_root "namespaces"   # skip unless running as root
#   skip "reason"            # skip now
#
# A test that cannot run prints "SKIP: reason" and exits 77, which ctest
# (SKIP_RETURN_CODE 77) reports as skipped, never as passed. With
# NODUS_REQUIRE_ALL=1 (scripts/test.sh, CI) nothing may be skipped: it
# prints "FAIL: required but missing: reason" and exits 1.
# The C tests have the same in tests/check.h (check_skip).

skip() {
  if [ "${NODUS_REQUIRE_ALL:-0}" = 1 ]; then
    echo "FAIL: required but missing: $1 (NODUS_REQUIRE_ALL=1)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}
# need TOOL...: every TOOL is a command on PATH, or the test is skipped.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
  done
}
# need_root WHAT: root (namespaces, nftables), or the test is skipped.
need_root() {
  [ "$(id -u)" -eq 0 ] || skip "not root: $1 need root"
}

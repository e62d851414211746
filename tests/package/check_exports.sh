#!/usr/bin/env bash
# libnodus.so exports the public API and nothing else.
#   bash check_exports.sh LIBNODUS_SO CC INCLUDE_DIR...
# Fails when a defined dynamic symbol is not nodus_*, or when a function
# the public headers declare is not exported (a user would fail to link).
# Lists, without failing, the exported nodus_* symbols the headers never
# name: internal functions that the version script lets out.
set -euo pipefail
lib=${1:?usage: check_exports.sh LIB CC INCLUDE_DIR...}
cc=${2:?}
shift 2
for tool in nm "$cc"; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found"; exit 1; }
done
[ -f "$lib" ] || { echo "FAIL: no $lib"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
incs=()
for d in "$@"; do incs+=(-I "$d"); done

# Every identifier the public headers name, after the preprocessor (no
# comments); and the functions they declare but do not define inline.
echo '#include <nodus.h>' | "$cc" -E -P "${incs[@]}" - >"$work/api.i"
grep -oE '\bnodus_[A-Za-z0-9_]+' "$work/api.i" | sort -u >"$work/named"
tr '\n' ' ' <"$work/api.i" | grep -oE '\bnodus_[A-Za-z0-9_]+ *\(' |
  sed 's/ *($//' | sort -u >"$work/called"
tr '\n' ' ' <"$work/api.i" |
  grep -oE 'static +inline[^;{]*\bnodus_[A-Za-z0-9_]+ *\(' |
  grep -oE 'nodus_[A-Za-z0-9_]+ *\($' | sed 's/ *($//' | sort -u >"$work/inline"
comm -23 "$work/called" "$work/inline" >"$work/declared"

# nm -D prints versioned names as name@VER; the library has no versions,
# but strip them anyway so a future version node does not break this.
nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
  sort -u >"$work/exported"

status=0
if grep -v '^nodus_' "$work/exported" >"$work/foreign"; then
  echo "FAIL: libnodus.so exports symbols outside the nodus_ namespace:"
  sed 's/^/    /' "$work/foreign"
  status=1
fi
if comm -23 "$work/declared" "$work/exported" | grep . >"$work/missing"; then
  echo "FAIL: functions declared in the public headers but not exported:"
  sed 's/^/    /' "$work/missing"
  status=1
fi
if comm -23 "$work/exported" "$work/named" | grep '^nodus_' >"$work/internal"; then
  echo "NOTE: exported nodus_* symbols no public header names (internal):"
  sed 's/^/    /' "$work/internal"
fi
echo "$(wc -l <"$work/exported") exported, $(wc -l <"$work/declared") declared in headers"
[ "$status" -eq 0 ] && echo "PASS: libnodus.so exports only nodus_* and all of the public API"
exit "$status"

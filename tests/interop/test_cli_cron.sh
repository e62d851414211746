#!/usr/bin/env bash
# nodus cron next: the next ticks of a schedule in its zone, one per line
# as YYYY-MM-DDTHH:MM:SS+HH:MM (a Berlin spring-forward night, a New York
# fall-back night, an interval, a FROM without offset read in the zone);
# a bad schedule exits 2 naming its column and reason with a caret under
# it; an unknown zone or a bad --from exits 2.
# Usage: bash test_cli_cron.sh BUILD_DIR
set -u
BUILD=${1:?usage: test_cli_cron.sh BUILD_DIR}
NODUS=$BUILD/bin/nodus
source "$(dirname "$0")/../skip_lib.sh"
[ -e /usr/share/zoneinfo/Europe/Berlin ] || skip "no tz database (tzdata)"
passed=0
failed=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }

out=$("$NODUS" cron next '30 2 * * *' --tz Europe/Berlin --from 2024-03-30T12:00:00+01:00 --count 3); rc=$?
check "berlin gap exit 0" '[ $rc -eq 0 ]'
check "berlin gap: 02:30 runs at 03:00 CEST, then 02:30" \
  '[ "$out" = "2024-03-31T03:00:00+02:00
2024-04-01T02:30:00+02:00
2024-04-02T02:30:00+02:00" ]'

out=$("$NODUS" cron next '*/30 * * * *' --tz America/New_York --from 2024-11-03T00:45:00-04:00 --count 4)
check "new york fold: the repeated 01:00 and 01:30 run once" \
  '[ "$out" = "2024-11-03T01:00:00-04:00
2024-11-03T01:30:00-04:00
2024-11-03T02:00:00-05:00
2024-11-03T02:30:00-05:00" ]'

out=$("$NODUS" cron next '@every 90m' --tz Asia/Kolkata --from 0 --count 2)
check "@every on epoch multiples, printed in the zone" \
  '[ "$out" = "1970-01-01T07:00:00+05:30
1970-01-01T08:30:00+05:30" ]'

out=$("$NODUS" cron next '0 9 * * mon' --tz Europe/Berlin --from '2024-12-02 09:00' --count 1)
check "--from without offset is local time in the zone" '[ "$out" = "2024-12-09T09:00:00+01:00" ]'

out=$("$NODUS" cron next '* * * * *' | wc -l)
check "default: 5 times after now" '[ "$out" -eq 5 ]'

"$NODUS" cron next '0 0 1,2,x * *' >/dev/null 2>"$TMP/err"; rc=$?
check "bad schedule exit 2" '[ $rc -eq 2 ]'
check "bad schedule: column and reason" 'grep -q "at column 9: day of month: expected a number" "$TMP/err"'
check "bad schedule: a caret under column 9" 'grep -qx "          ^" "$TMP/err"'
"$NODUS" cron next '0 0 30 2 *' >/dev/null 2>"$TMP/err"; rc=$?
check "never-matching schedule exit 2" '[ $rc -eq 2 ] && grep -q "column 5: .*never runs" "$TMP/err"'
"$NODUS" cron next '0 9 * * *' --tz Nowhere/City >/dev/null 2>"$TMP/err"; rc=$?
check "unknown zone exit 2" '[ $rc -eq 2 ] && grep -q "Nowhere/City" "$TMP/err"'
"$NODUS" cron next '0 9 * * *' --from yesterday >/dev/null 2>"$TMP/err"; rc=$?
check "bad --from exit 2" '[ $rc -eq 2 ]'

echo "test_cli_cron: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

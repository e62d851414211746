#!/usr/bin/env bash
# Cluster cron: delay from a tick's scheduled time to its start on a quiet
# node, nodus vs BEAM in the same run (bench/README.md, "Cluster cron:
# tick delay").
#
#   bench/run_cron.sh BUILD_DIR [TICKS] [ROUNDS]   # defaults 200, 3; e.g. bench/run_cron.sh build-bench
#   BENCH_CRON_RAW=1 bench/run_cron.sh build-bench  # also every round's figures and every delay, on stderr
#
# Knobs: BENCH_CRON_PERIOD_MS (default 100: the job's schedule is
# "@every 100ms"), BENCH_CRON_SIDES (default "nodus abs send_after
# send_interval").
#
# Each round runs, one after another (never two at once), on loopback with
# a private epmd: BUILD_DIR/bin/bench_cron (a nodus node, a scheduler
# alone in availability mode, one C job) and bench_cron.erl on a fresh
# `erl -sname` node three ways: an absolute erlang:start_timer on each
# next multiple of the period (the same ticks), and the common recipes,
# erlang:send_after re-armed in the handler and timer:send_interval, both
# measured against the ideal multiples. Every program takes TICKS ticks
# after one warm-up tick; each figure is the median over the rounds of
# that round's p50 / p99 / max; the sides' order rotates round by round.
set -euo pipefail
BUILD_DIR=${1:?usage: run_cron.sh BUILD_DIR [TICKS] [ROUNDS]}
TICKS=${2:-200}
ROUNDS=${3:-3}
P=${BENCH_CRON_PERIOD_MS:-100}
SIDES=(${BENCH_CRON_SIDES:-nodus abs send_after send_interval})
HERE=$(cd "$(dirname "$0")" && pwd)
CBIN=$(cd "$BUILD_DIR" && pwd)/bin/bench_cron
[ -x "$CBIN" ] || { echo "run_cron.sh: $CBIN not built" >&2; exit 1; }
source "$HERE/bench_lib.sh" "$HERE/bench_cron.erl"
LIMIT=$((TICKS * P / 1000 + 60)) # s, each program

# one SIDE R: one program's figures into $TMP/SIDE.out, "key value" lines.
one() {
  local side=$1 r=$2 rc=0
  if [ "$side" = nodus ]; then
    timeout "$LIMIT" "$CBIN" "cron$r" "@every ${P}ms" "$TICKS" >"$TMP/cur" 2>>"$TMP/err" || rc=$?
  else
    timeout "$LIMIT" erl -sname "cron_${side}_$r" -setcookie "$COOKIE" -noshell -pa "$TMP" \
      -run bench_cron main "$side" "$P" "$TICKS" >"$TMP/cur" 2>>"$TMP/err" || rc=$?
  fi
  if [ $rc != 0 ] || ! grep -q '^count ' "$TMP/cur"; then
    echo "run_cron.sh: $side round $r failed (rc $rc)" >&2
    cat "$TMP/cur" "$TMP/err" >&2
    exit 1
  fi
  [ -n "${BENCH_CRON_RAW:-}" ] && sed "s/^/$side round $r: /" "$TMP/cur" >&2
  cat "$TMP/cur" >>"$TMP/$side.out"
}

START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
n=${#SIDES[@]}
for r in $(seq "$ROUNDS"); do
  for i in $(seq 0 $((n - 1))); do one "${SIDES[$(((i + r - 1) % n))]}" "$r"; done
done
[ -n "${BENCH_CRON_RAW:-}" ] && cat "$TMP/err" >&2

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
fig() { [ -e "$TMP/$1.out" ] && grep "^$2 " "$TMP/$1.out" | awk '{print $2}' | median || echo "-"; }
worst() { [ -e "$TMP/$1.out" ] && grep "^$2 " "$TMP/$1.out" | awk '{print $2}' | sort -g | tail -1 || echo "-"; }
sum() { [ -e "$TMP/$1.out" ] && grep "^$2 " "$TMP/$1.out" | awk '{s += $2} END {print s + 0}' || echo 0; }
# row LABEL NODUS BEAM GOAL: ratio BEAM / nodus, > 1: nodus is closer to the tick
row() {
  local ratio
  ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (c == "-" || b == "-" || c <= 0) print "-"; else printf "%.2f", b/c }')
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$ratio" "$4"
}
echo "nodus cron vs BEAM timers (OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')), one node on loopback, @every ${P}ms, $TICKS ticks (+1 warm-up) x $ROUNDS round(s), median of the rounds; $(nproc) CPUs, load $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $START"
printf '| scenario | nodus | BEAM | BEAM/nodus | goal |\n|---|---|---|---|---|\n'
label() {
  case $1 in
    abs) echo "abs start_timer on each multiple" ;;
    send_after) echo "send_after re-armed in the handler" ;;
    send_interval) echo "timer:send_interval" ;;
  esac
}
for b in abs send_after send_interval; do
  case " ${SIDES[*]} " in *" $b "*) ;; *) continue ;; esac
  l=$(label $b)
  row "tick delay p50, µs (BEAM: $l)" "$(fig nodus p50_us)" "$(fig $b p50_us)" ""
  row "tick delay p99, µs (BEAM: $l)" "$(fig nodus p99_us)" "$(fig $b p99_us)" \
    "$([ $b = abs ] && echo "≤ 2000 µs")"
  row "tick delay max, µs (BEAM: $l)" "$(fig nodus max_us)" "$(fig $b max_us)" ""
done
echo "(worst max of any round, µs: nodus $(worst nodus max_us)$(for b in abs send_after send_interval; do [ -e "$TMP/$b.out" ] && printf ', %s %s' "$b" "$(worst $b max_us)"; done); min delay, median: nodus $(fig nodus min_us)$(for b in abs send_after send_interval; do [ -e "$TMP/$b.out" ] && printf ', %s %s' "$b" "$(fig $b min_us)"; done); ticks counted: nodus $(sum nodus count), missed $(sum nodus missed); BEAM skew os − erlang system time, median µs: $(fig abs skew_us))"

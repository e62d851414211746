# shellcheck shell=bash
# Shared by bench/run_dsup.sh and bench/run_dsup_heal.sh (sourced): reading
# the nodes' output (examples/singleton_worker's and bench_dsup.erl's lines
# are alike: "#nodeup NODE t=", "#nodedown NODE REASON t=", "singleton
# started|stopped ... t=<unix_ms>") and printing the markdown table. Every
# reader takes the nodes' output files, node 1 first.

# ms_now: CLOCK_REALTIME in unix ms (float), from bash's $EPOCHREALTIME.
ms_now() { awk -v t="$EPOCHREALTIME" 'BEGIN{printf "%.3f", t * 1000}'; }

# dsup_peers_up FILE: how many peers FILE's #nodeup/#nodedown lines leave
# connected (only the lines with a t=, the node's own: a test kit BEAM
# node's control loop prints bare "#nodeup NODE" lines too).
dsup_peers_up() {
  awk '/^#nodeup / && / t=/ {s[$2]=1} /^#nodedown / && / t=/ {s[$2]=0}
       END{n=0; for (k in s) n+=s[k]; print n}' "$1"
}

# dsup_is_running FILE: true when FILE's last start/stop line is a start.
dsup_is_running() {
  grep -E '^singleton (started|stopped)' "$1" | tail -1 | grep -q '^singleton started'
}

# dsup_state FILE...: the position (1-based) of the one node whose last
# start/stop line is a start, when every node sees all the others; else
# nothing.
dsup_state() {
  local n=$# i=0 f owners=()
  for f in "$@"; do
    i=$((i + 1))
    [ "$(dsup_peers_up "$f")" = $((n - 1)) ] || return 0
    if dsup_is_running "$f"; then owners+=("$i"); fi
  done
  [ ${#owners[@]} = 1 ] && echo "${owners[0]}"
  return 0
}

# dsup_running FILE...: how many nodes' last start/stop line is a start.
dsup_running() {
  local n=0 f
  for f in "$@"; do
    if dsup_is_running "$f"; then n=$((n + 1)); fi
  done
  echo $n
}

# dsup_events FILE...: how many start/stop lines there are.
dsup_events() { cat "$@" | grep -cE '^singleton (started|stopped)' || true; }

# dsup_last_event AFTER_MS FILE...: the last start/stop line's t= after
# AFTER_MS (unix ms, float), or nothing.
dsup_last_event() {
  local after=$1
  shift
  cat "$@" | grep -E '^singleton (started|stopped)' | sed 's/.* t=//' |
    awk -v a="$after" '$1 > a && $1 > m {m = $1} END {if (m) printf "%.3f\n", m}' || true
}

# median: of the numbers on stdin, one a line ("-" when none).
median() { sort -g | awk '{a[NR]=$1} END { if (NR) printf "%.1f\n", a[int((NR+1)/2)]; else print "-" }'; }

# row LABEL NODUS BEAM [GOAL]: ratio BEAM/nodus, > 1 means nodus is faster
row() {
  local ratio
  ratio=$(awk -v c="$2" -v b="$3" 'BEGIN{ if (c == "-" || b == "-" || c <= 0 || b <= 0) print "-";
    else if (b / c < 0.1) printf "%.3f", b / c; else printf "%.2f", b / c }')
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$ratio" "${4:-}"
}

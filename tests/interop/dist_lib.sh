# Shared by the test_dist_*.sh interop tests (sourced, not run):
# a private epmd, dist_node processes driven through FIFOs, erl nodes,
# checks that count, and a cleanup that leaves nothing behind.
#
#   source dist_lib.sh BUILD_DIR
#
# Every wait polls a condition with a deadline. Everything started here is
# stopped by the EXIT trap; the epmd we start is on a port of our own and
# is the only one we ever kill.
set -u
BUILD_DIR=${1:?usage: bash TEST.sh BUILD_DIR}
DIST_NODE=$BUILD_DIR/bin/dist_node
HOST=$(hostname -s)
WORK=$(mktemp -d)
COOKIE=c$$cookie
EPMD_PORT=
PIDS=()   # every process started here
CNODES=() # dist_node ids that should still quit cleanly
passed=0
failed=0
trap '' PIPE # a dead dist_node makes our writes fail, not kill us

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
ko() { echo "FAIL: $1"; failed=$((failed + 1)); }
# eventually SECONDS COMMAND...: retries COMMAND until it succeeds.
eventually() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.05
  done
}
# check DESC COMMAND...: one result.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else ko "$what"; fi
}
grep_file() { grep -Eq "$2" "$1" 2>/dev/null; }
# check_file DESC FILE REGEX [SECONDS]: FILE gets a line matching REGEX.
check_file() {
  if eventually "${4:-10}" grep_file "$2" "$3"; then
    ok "$1"
  else
    ko "$1 (no /$3/ in $2)"
    tail -n 20 "$2" | sed 's/^/    /'
  fi
}

dl_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$EPMD_PORT" ] && epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap dl_cleanup EXIT
trap 'exit 130' INT TERM

# Missing tools skip the test (exit 77), or fail it under NODUS_REQUIRE_ALL=1.
source "$(dirname "${BASH_SOURCE[0]}")/../skip_lib.sh"
need erl epmd
if [ ! -x "$DIST_NODE" ]; then
  echo "no $DIST_NODE"
  echo "0 passed, 1 failed"
  exit 1
fi

# Our own epmd on a free port; erl (ERL_EPMD_PORT) and dist_node use it.
start_epmd() {
  local p tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + ($$ * 7 + tries * 131) % 30000))
    epmd -port "$p" -names >/dev/null 2>&1 && continue # taken
    epmd -port "$p" -daemon -relaxed_command_check >/dev/null 2>&1
    if eventually 3 epmd -port "$p" -names >/dev/null 2>&1; then
      EPMD_PORT=$p
      export ERL_EPMD_PORT=$p
      return 0
    fi
  done
  return 1
}
export ERL_CRASH_DUMP_SECONDS=0 # no erl_crash.dump files left around
start_epmd || { echo "cannot start a private epmd"; echo "0 passed, 1 failed"; exit 1; }

# ---- C nodes ------------------------------------------------------------

# cnode_start ID NAME [dist_node options]: starts NAME@HOST with its stdin
# on a FIFO we hold open (fd in CFD_ID), output in $WORK/ID.out and .err.
cnode_start() {
  local id=$1 name=$2 fd
  shift 2
  mkfifo "$WORK/$id.in"
  "$DIST_NODE" --name "$name@$HOST" --cookie "$COOKIE" --epmd-port "$EPMD_PORT" "$@" \
    <"$WORK/$id.in" >"$WORK/$id.out" 2>"$WORK/$id.err" &
  PIDS+=($!)
  printf -v "CPID_$id" %s $!
  exec {fd}>"$WORK/$id.in"
  printf -v "CFD_$id" %s "$fd"
  CNODES+=("$id")
  eventually 10 grep_file "$WORK/$id.out" '^ready '
}
cnode_pid() { local v=CPID_$1; echo "${!v}"; }
lines() { wc -l <"$1"; }
more_lines() { [ "$(lines "$1")" -gt "$2" ]; }

# c_do ID COMMAND REGEX [SECONDS]: sends a command and waits for its one
# answer line (in C_LAST); true when it matches REGEX. Lines matching
# C_EVENTS (a regex, empty by default) are events the node prints on its
# own, never answers, and are skipped.
C_EVENTS=
answer_after() { # FILE LINE: the first non-event line after LINE, if any
  tail -n "+$(($2 + 1))" "$1" |
    if [ -n "$C_EVENTS" ]; then grep -Ev "$C_EVENTS" || true; else cat; fi |
    head -n 1
}
has_answer() { [ -n "$(answer_after "$1" "$2")" ]; }
c_do() {
  local id=$1 out=$WORK/$1.out fdv=CFD_$1 before
  before=$(lines "$out")
  echo "$2" >&"${!fdv}" 2>/dev/null
  C_LAST=
  eventually "${4:-15}" has_answer "$out" "$before" || return 1
  C_LAST=$(answer_after "$out" "$before")
  [[ $C_LAST =~ $3 ]]
}
# c_check ID DESC COMMAND REGEX [SECONDS]: c_do as one result.
c_check() {
  if c_do "$1" "$3" "$4" "${5:-}"; then
    ok "$2"
  else
    ko "$2: '$3' answered '${C_LAST}', wanted /$4/"
  fi
}
# c_run ID COMMAND: a setup step that must answer ok-ish; counted only on
# failure.
c_run() {
  c_do "$1" "$2" '^(ok|got|crc|pong)' "${3:-}" || ko "$1: '$2' answered '${C_LAST}'"
}

# cnode_quit ID: ends a C node through its input and checks it exits 0
# with nothing from the sanitizers (leaks are bugs).
cnode_quit() {
  local id=$1 pid rc fdv=CFD_$1
  pid=$(cnode_pid "$id")
  echo quit >&"${!fdv}" 2>/dev/null
  eval "exec {CFD_$id}>&-" 2>/dev/null
  if ! eventually 20 not_running "$pid"; then
    ko "$id quits on end of input"
    return
  fi
  wait "$pid"
  rc=$?
  if [ $rc -eq 0 ] && ! grep -q 'Sanitizer' "$WORK/$id.err"; then
    ok "$id exits cleanly (rc 0, no sanitizer report)"
  else
    ko "$id exits cleanly: rc $rc"
    grep -A 30 'Sanitizer' "$WORK/$id.err" | head -60 | sed 's/^/    /'
  fi
}
# kill_now PID: SIGKILL, reaped without the shell's "Killed" line.
kill_now() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
not_running() { ! kill -0 "$1" 2>/dev/null; }
# stop_by_signal DESC PID ERRFILE: SIGTERM, as a service is stopped; it
# must exit 0 with nothing from the sanitizers in ERRFILE.
stop_by_signal() {
  local rc
  kill -TERM "$2"
  if eventually 20 not_running "$2"; then
    wait "$2"
    rc=$?
    if [ $rc -eq 0 ] && ! grep -q Sanitizer "$3"; then
      ok "$1 exits cleanly on SIGTERM (rc 0, no sanitizer report)"
    else
      ko "$1 exits cleanly on SIGTERM: rc $rc"
      grep -A 30 Sanitizer "$3" | head -60 | sed 's/^/    /'
    fi
  else
    ko "$1 stops on SIGTERM"
  fi
}
# cnode_forget ID: the node was killed on purpose; no clean exit to check.
cnode_forget() {
  local keep=() c
  for c in "${CNODES[@]}"; do [ "$c" != "$1" ] && keep+=("$c"); done
  CNODES=("${keep[@]}")
}

# ---- erl nodes ------------------------------------------------------------

# erl_start ID NAME SCRIPT [erl options]: erl -sname NAME running SCRIPT
# (Erlang expressions) in the background, output in $WORK/ID.out.
erl_start() {
  local id=$1 name=$2 script=$3
  shift 3
  erl -sname "$name" -setcookie "$COOKIE" -noshell "$@" -eval "$script" \
    >"$WORK/$id.out" 2>&1 &
  PIDS+=($!)
  printf -v "EPID_$id" %s $!
}
# erl_wait ID SECONDS: waits for the script to print DONE or die.
erl_done() { grep_file "$WORK/$1.out" '^DONE' || not_running "$(erl_pid "$1")"; }
erl_wait() { eventually "$2" erl_done "$1"; }
erl_pid() { local v=EPID_$1; echo "${!v}"; }
erl_registered() { epmd -port "$EPMD_PORT" -names 2>/dev/null | grep -q "^name $1 at"; }

# erl_results ID: counts the PASS/FAIL lines an erl script printed, and
# that it got to DONE.
erl_results() {
  local f=$WORK/$1.out n
  n=$(grep -c '^PASS ' "$f")
  passed=$((passed + n))
  grep '^PASS ' "$f" | sed 's/^PASS /PASS: (erl) /'
  n=$(grep -c '^FAIL ' "$f")
  failed=$((failed + n))
  grep '^FAIL ' "$f" | sed 's/^FAIL /FAIL: (erl) /'
  if ! grep -q '^DONE' "$f"; then
    ko "$1: erl script did not finish"
    tail -n 30 "$f" | sed 's/^/    /'
  fi
}

# Erlang helpers for scripts: T(Desc, true | Other) prints PASS or FAIL;
# Recv(Timeout) is the next message or timeout.
ERL_PRELUDE='
T = fun(D, true) -> io:format("PASS ~s~n", [D]);
       (D, Other) -> io:format("FAIL ~s: ~P~n", [D, Other, 40]) end,
Recv = fun(Ms) -> receive M -> M after Ms -> timeout end end,
'

# finish: quits the C nodes still up, prints the totals, exits.
finish() {
  local c
  for c in "${CNODES[@]}"; do cnode_quit "$c"; done
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

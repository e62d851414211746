# Shared by the test_global_*.sh interop tests (sourced after dist_lib.sh):
# millisecond deadlines, fast waits for dist_node answers, C pids in one
# spelling, and erl nodes driven line by line over a FIFO.
#
# Every wait polls a condition with a deadline in milliseconds (dist_lib's
# `eventually` counts whole seconds, too coarse for the bounds stated here).

ms_now() { NOW=${EPOCHREALTIME/./}; NOW=$((NOW / 1000)); } # NOW := ms

# g_send ID COMMAND: writes a command to C node ID; G_BEFORE_ID := the
# number of output lines before it, for g_wait.
g_send() {
  local fdv=CFD_$1
  printf -v "G_BEFORE_$1" %s "$(lines "$WORK/$1.out")"
  echo "$2" >&"${!fdv}" 2>/dev/null
}
# g_wait ID [MS]: C_LAST := the answer to the last g_send to ID.
g_wait() {
  local bv=G_BEFORE_$1 end
  ms_now
  end=$((NOW + ${2:-15000}))
  C_LAST=
  while :; do
    C_LAST=$(answer_after "$WORK/$1.out" "${!bv}")
    [ -n "$C_LAST" ] && return 0
    ms_now
    [ "$NOW" -ge "$end" ] && return 1
    sleep 0.01
  done
}
# g_do ID COMMAND REGEX [MS]: c_do with millisecond polling.
g_do() {
  g_send "$1" "$2"
  g_wait "$1" "${4:-15000}" || return 1
  [[ $C_LAST =~ $3 ]]
}
# g_check ID DESC COMMAND REGEX [MS]: g_do as one result.
g_check() {
  if g_do "$1" "$3" "$4" "${5:-}"; then
    ok "$2"
  else
    ko "$2: $1 '$3' answered '${C_LAST}', wanted /$4/"
  fi
}
# g_run ID COMMAND REGEX: a setup step, counted only when it fails.
g_run() { g_do "$1" "$2" "$3" || ko "$1: '$2' answered '${C_LAST}', wanted /$3/"; }

# g_pid NODE_NAME LINE: the pid in a `pid <...>` or `ok <...>` line as
# every node prints it for a pid of NODE_NAME@HOST: <'N@H'.A.B> (a node
# prints its own pids <0.A.B>, as erl does).
g_pid() {
  local p=${2#* }
  if [[ $p =~ ^\<0\.([0-9]+)\.([0-9]+)\>$ ]]; then
    echo "<'$1@$HOST'.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}>"
  else
    echo "$p"
  fi
}

# g_until MS COMMAND...: retries COMMAND every 10 ms until it succeeds or
# MS have passed; G_TOOK := the milliseconds it took.
g_until() {
  local start end
  ms_now
  start=$NOW
  end=$((NOW + $1))
  shift
  until "$@"; do
    ms_now
    if [ "$NOW" -ge "$end" ]; then
      G_TOOK=$((NOW - start))
      return 1
    fi
    sleep 0.01
  done
  ms_now
  G_TOOK=$((NOW - start))
}

# ---- erl nodes driven line by line ----------------------------------------

# Each line on stdin is Erlang expressions ending in '.', evaluated with
# the bindings of the lines before; the value is printed as `=> ~w` on one
# line ({caught, Class, Reason} when it raised). End of input halts.
ERL_LOOP='
Loop = fun L(B) ->
  case io:get_line("") of
    eof -> halt();
    {error, _} -> halt();
    Line ->
      {V, B2} = try
          {ok, Ts, _} = erl_scan:string(Line),
          {ok, Es} = erl_parse:parse_exprs(Ts),
          {value, V0, B1} = erl_eval:exprs(Es, B),
          {V0, B1}
        catch C:E -> {{caught, C, E}, B} end,
      io:format("=> ~w~n", [V]),
      L(B2)
  end end,
io:format("ready~n"),
Loop(erl_eval:new_bindings()).'

# erl_ctl_start ID NAME [erl options]: erl -sname NAME running ERL_LOOP on
# a FIFO we hold open (fd in EFD_ID), output in $WORK/ID.out.
erl_ctl_start() {
  local id=$1 name=$2 fd
  shift 2
  mkfifo "$WORK/$id.in"
  erl -sname "$name" -setcookie "$COOKIE" -noshell "$@" -eval "$ERL_LOOP" \
    <"$WORK/$id.in" >"$WORK/$id.out" 2>&1 &
  PIDS+=($!)
  printf -v "EPID_$id" %s $!
  exec {fd}>"$WORK/$id.in"
  printf -v "EFD_$id" %s "$fd"
  eventually 20 grep_file "$WORK/$id.out" '^ready'
}
# e_send ID EXPRS: E_BEFORE_ID := lines before; e_wait ID [MS]: E_LAST :=
# the value printed for it (without "=> ").
e_send() {
  local fdv=EFD_$1
  printf -v "E_BEFORE_$1" %s "$(lines "$WORK/$1.out")"
  echo "$2" >&"${!fdv}" 2>/dev/null
}
e_answer() { tail -n "+$(($2 + 1))" "$1" | grep -m 1 '^=> ' || true; }
e_wait() {
  local bv=E_BEFORE_$1 end line
  ms_now
  end=$((NOW + ${2:-15000}))
  E_LAST=
  while :; do
    line=$(e_answer "$WORK/$1.out" "${!bv}")
    if [ -n "$line" ]; then
      E_LAST=${line#=> }
      return 0
    fi
    ms_now
    [ "$NOW" -ge "$end" ] && return 1
    sleep 0.01
  done
}
# e_do ID EXPRS REGEX [MS]; e_check ID DESC EXPRS REGEX [MS]; e_run ID
# EXPRS [REGEX] (a setup step, counted only when it fails).
e_do() {
  e_send "$1" "$2"
  e_wait "$1" "${4:-15000}" || return 1
  [[ $E_LAST =~ $3 ]]
}
e_check() {
  if e_do "$1" "$3" "$4" "${5:-}"; then
    ok "$2"
  else
    ko "$2: $1 '$3' answered '${E_LAST}', wanted /$4/"
  fi
}
e_run() {
  if ! e_do "$1" "$2" "${3:-}" || [[ $E_LAST =~ ^\{caught, ]]; then
    ko "$1: '$2' answered '${E_LAST}'"
  fi
}
# erl_ctl_quit ID: end of input; the node halts.
erl_ctl_quit() { local fdv=EFD_$1; eval "exec ${!fdv}>&-" 2>/dev/null; }

#!/usr/bin/env bash
# Handshake and framing against a real BEAM node, before the rest of nodus
# exists: BUILD_DIR/bin/hs_probe drives src/distribution/handshake.c and frame.c
# over a blocking socket.
#   bash test_handshake.sh BUILD_DIR
# Needs erl and epmd (erlang-base). Every wait polls with a deadline; every
# process started here is killed on exit, nothing else.
set -u
BUILD_DIR=${1:?usage: test_handshake.sh BUILD_DIR}
PROBE=$BUILD_DIR/bin/hs_probe
HOST=$(hostname -s)
TAG=hs$$
WORK=$(mktemp -d)
PIDS=()
passed=0
failed=0

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

source "$(dirname "$0")/../skip_lib.sh"
need erl epmd
[ -x "$PROBE" ] || { echo "no $PROBE"; echo "0 passed, 1 failed"; exit 1; }

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
ko() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { # check NAME FILE REGEX
  if grep -Eq "$3" "$2" 2>/dev/null; then ok "$1"; else ko "$1 (no /$3/ in $2)"; sed 's/^/    /' "$2"; fi
}
# eventually SECONDS COMMAND...: polls until COMMAND succeeds.
eventually() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.1
  done
}

# Our own epmd if none runs (foreground, so we know its pid); erl then
# registers with it instead of starting a daemon we could not stop.
if ! epmd -names >/dev/null 2>&1; then
  epmd >"$WORK/epmd.log" 2>&1 &
  PIDS+=($!)
  eventually 10 epmd -names >/dev/null 2>&1 || { ko "epmd start"; exit 1; }
fi

port_of() { epmd -names 2>/dev/null | awk -v n="$1" '$2 == n {print $5}'; }
has_port() { [ -n "$(port_of "$1")" ]; }

# An erl node that registers `hsink`, prints nodeup/nodedown and what
# hsink gets, and on nodeup sends a 200000-byte binary to {sink, Node}
# (fragmented when FRAGMENTS is negotiated). Ticks every second.
start_sink_node() { # NAME COOKIE OUT
  erl -sname "$1" -setcookie "$2" -noshell -kernel net_ticktime 4 -eval '
    register(hsink, self()), net_kernel:monitor_nodes(true),
    io:format("READY~n"),
    L = fun Loop() ->
      receive
        {nodeup, N} -> io:format("NODEUP ~p~n", [N]),
                       {sink, N} ! binary:copy(<<7>>, 200000), Loop();
        {nodedown, N} -> io:format("NODEDOWN ~p~n", [N]), Loop();
        {probe, T, B} -> io:format("GOT ~p ~p~n", [T, byte_size(B)]), Loop();
        _ -> Loop()
      after 30000 -> halt()
      end
    end, L().' >"$3" 2>&1 &
  PIDS+=($!)
  # epmd knows the node before -eval runs: wait for READY too, or the
  # probe can connect before the nodeup subscription.
  eventually 20 grep -q '^READY' "$3" 2>/dev/null && eventually 20 has_port "$1"
}

# ---- (a) probe connects to BEAM ------------------------------------------
if start_sink_node "${TAG}a" cookieA "$WORK/erl_a.out"; then
  PORT=$(port_of "${TAG}a")
  HS_PROBE_SEND=hsink "$PROBE" connect 127.0.0.1 "$PORT" "probe_${TAG}a@$HOST" \
    "${TAG}a@$HOST" cookieA 3 >"$WORK/probe_a.out" 2>&1
  check "initiator: handshake completes" "$WORK/probe_a.out" '^HANDSHAKE OK peer='"${TAG}a@$HOST"
  check "initiator: FRAGMENTS negotiated" "$WORK/probe_a.out" 'HANDSHAKE OK .*flags=0x[0-9a-f]*[89a-f][0-9a-f]{5} '
  eventually 5 grep -q "NODEUP" "$WORK/erl_a.out" 2>/dev/null
  check "initiator: BEAM sees nodeup" "$WORK/erl_a.out" "^NODEUP 'probe_${TAG}a@$HOST'|^NODEUP probe_${TAG}a@$HOST"
  check "initiator: BEAM's first messages arrive (131,68,0 header)" "$WORK/probe_a.out" '^FRAME 1 len=[0-9]+ head=131,68,0,'
  check "initiator: ticks answered" "$WORK/probe_a.out" '^TICK 2'
  check "initiator: BEAM's 200000-byte message reassembled from 4 fragments" \
    "$WORK/probe_a.out" '^MSG [0-9]+ len=2000[0-9]{2} versioned=0 frames=4'
  check "initiator: fragment header 131,69,Seq,FragId=4,0 atom refs" "$WORK/probe_a.out" \
    'head=131,69,([0-9]+,){8}0,0,0,0,0,0,0,4,0,'
  eventually 5 grep -q "GOT big" "$WORK/erl_a.out" 2>/dev/null
  check "initiator: BEAM gets our 131,68 message" "$WORK/erl_a.out" '^GOT plain 10'
  check "initiator: BEAM gets our fragmented message" "$WORK/erl_a.out" '^GOT big 150000'
else
  ko "erl node ${TAG}a did not register"
fi

# ---- (a2) same without FRAGMENTS: 112 pass-through both ways --------------
if start_sink_node "${TAG}p" cookieP "$WORK/erl_p.out"; then
  PORT=$(port_of "${TAG}p")
  HS_PROBE_CLEAR_FLAGS=0x800000 HS_PROBE_SEND=hsink "$PROBE" connect 127.0.0.1 "$PORT" \
    "probe_${TAG}p@$HOST" "${TAG}p@$HOST" cookieP 2 >"$WORK/probe_p.out" 2>&1
  check "no fragments: handshake completes" "$WORK/probe_p.out" '^HANDSHAKE OK'
  check "no fragments: BEAM sends 112 pass-through" "$WORK/probe_p.out" '^FRAME 1 len=[0-9]+ head=112,131,'
  check "no fragments: big message in one frame" "$WORK/probe_p.out" '^MSG [0-9]+ len=2000[0-9]{2} versioned=1 frames=1'
  eventually 5 grep -q "GOT big" "$WORK/erl_p.out" 2>/dev/null
  check "no fragments: BEAM gets our 112 messages" "$WORK/erl_p.out" '^GOT big 150000'
else
  ko "erl node ${TAG}p did not register"
fi

# ---- (b) wrong cookie, probe initiating ------------------------------------
if start_sink_node "${TAG}b" cookieB "$WORK/erl_b.out"; then
  PORT=$(port_of "${TAG}b")
  "$PROBE" connect 127.0.0.1 "$PORT" "probe_${TAG}b@$HOST" "${TAG}b@$HOST" \
    notTheCookie 2 >"$WORK/probe_b.out" 2>&1
  rc=$?
  check "initiator, wrong cookie: fails with a cookie reason" "$WORK/probe_b.out" '^HANDSHAKE FAILED .*wrong cookie'
  [ $rc -ne 0 ] && ok "initiator, wrong cookie: probe exits non-zero" || ko "initiator, wrong cookie: probe exit 0"
else
  ko "erl node ${TAG}b did not register"
fi

# ---- (c) BEAM connects to the probe (probe registers with epmd) ----------
accept_case() { # LETTER PROBE_COOKIE ERL_COOKIE
  local pname="probe_${TAG}$1"
  "$PROBE" accept "$pname@$HOST" "$2" 15 >"$WORK/probe_$1.out" 2>&1 &
  local ppid=$!
  PIDS+=($ppid)
  if ! eventually 10 grep -q '^LISTENING' "$WORK/probe_$1.out" 2>/dev/null; then
    ko "acceptor $1: probe did not register"; return
  fi
  erl -sname "${TAG}$1" -setcookie "$3" -noshell -eval "
    R = net_kernel:connect_node('$pname@$HOST'),
    io:format(\"CONNECT ~p ~p~n\", [R, nodes()]), timer:sleep(500), halt()." \
    >"$WORK/erl_$1.out" 2>&1 &
  PIDS+=($!)
  eventually 20 grep -q '^CONNECT' "$WORK/erl_$1.out" 2>/dev/null
  eventually 20 grep -Eq '^(END|HANDSHAKE FAILED)' "$WORK/probe_$1.out"
}

accept_case c cookieC cookieC
check "acceptor: handshake completes" "$WORK/probe_c.out" "^HANDSHAKE OK peer=${TAG}c@$HOST"
check "acceptor: BEAM connect_node returns true, lists us" "$WORK/erl_c.out" "^CONNECT true \[.*probe_${TAG}c@$HOST"
check "acceptor: BEAM's first messages arrive" "$WORK/probe_c.out" '^MSG 1 len='

accept_case d cookieD otherCookie
check "acceptor, wrong cookie: probe fails with wrong cookie" "$WORK/probe_d.out" '^HANDSHAKE FAILED wrong cookie'
check "acceptor, wrong cookie: BEAM connect_node returns false" "$WORK/erl_d.out" '^CONNECT false'

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# Over a limit, only the offending message goes (issue 16): a C node with
# small limits (max_message 100,000 bytes, 4 messages in fragments at
# once, 300 ms for a message's next fragment, 1,000 new atoms a message)
# keeps the connection and drops the one message, with a logged reason,
# when:
#   - a hostile peer sends a frame over max_message (skipped by its
#     length), more messages in fragments at once than allowed (the extra
#     ones dropped, the others delivered), a message whose next fragment
#     comes too late, fragments that add up past max_message: after each,
#     net_kernel still answers on the same connection, exactly as often
#     as it should;
#   - a real erl node sends a 200 KB binary (BEAM fragments it), or a
#     message with 2,000 fresh atoms: dropped, the next message arrives
#     (one with 500 fresh atoms too), no nodedown;
# and the drop lines are rate-limited (a flood of drops is a few lines).
# Usage: bash test_limits.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"
HOSTILE=$BUILD_DIR/bin/hostile_peer

CNAME=climits$$
cnode_start c "$CNAME" --max-message 100000 --max-fragmented 4 \
  --fragment-timeout-ms 300 --max-new-atoms 1000 --ticktime-ms 2000 ||
  { ko "dist_node starts"; finish; }
port=$(sed -n 's/^ready [^ ]* \([0-9]*\)$/\1/p' "$WORK/c.out")

for attack in oversize fragflood fragstall fragbig; do
  if out=$("$HOSTILE" 127.0.0.1 "$port" "$CNAME@$HOST" "$COOKIE" "$attack" 2>&1); then
    ok "$attack: dropped alone, the connection answers ($out)"
  else
    ko "$attack: $out"
  fi
done
check_file "log: a frame over max_message" "$WORK/c.err" \
  'dropped a message from hostile@127.0.0.1: a frame of 200000 bytes, over 100000 \(max_message\); the connection stays'
check_file "log: too many messages in fragments" "$WORK/c.err" \
  'more than 4 messages in fragments at once on this connection \(max_fragmented\)'
check_file "log: a fragment too late" "$WORK/c.err" \
  '1 message in fragments waited more than 300 ms for a fragment \(fragment_timeout_ms\)'
check_file "log: fragments past max_message" "$WORK/c.err" \
  'a message in fragments over 100000 bytes \(max_message\)'

SCRIPT=$ERL_PRELUDE$(cat <<'EOF'
C = list_to_atom(os:getenv("CNODE")),
T("ping gives pong", net_adm:ping(C) =:= pong),
monitor_node(C, true),
Big = binary:copy(<<"z">>, 200000),
{echo, C} ! {self(), Big},
{echo, C} ! {self(), {ok, 1}},
T("the message after a dropped one arrives",
  receive {echo, {ok, 1}} -> true; {echo, Other} -> {unexpected, byte_size(Other)}
  after 10000 -> timeout end),
Fresh = fun(N, Tag) -> [list_to_atom(Tag ++ integer_to_list(I)) || I <- lists:seq(1, N)] end,
{echo, C} ! {self(), Fresh(2000, "many" ++ os:getenv("TAG"))},
{echo, C} ! {self(), {ok, 3}},
T("2,000 new atoms in one message: dropped, the next arrives",
  receive {echo, {ok, 3}} -> true; {echo, O3} -> {unexpected, length(O3)} after 10000 -> timeout end),
A500 = Fresh(500, "some" ++ os:getenv("TAG")),
{echo, C} ! {self(), A500},
T("500 new atoms in one message arrive",
  receive {echo, A500} -> true after 10000 -> timeout end),
%% Fifty more over the limit: each dropped, the lines rate-limited.
[{echo, C} ! {self(), Big} || _ <- lists:seq(1, 50)],
{echo, C} ! {self(), {ok, 2}},
T("and after fifty more",
  receive {echo, {ok, 2}} -> true after 10000 -> timeout end),
T("no nodedown", receive {nodedown, C} -> nodedown after 0 -> true end),
T("still connected", lists:member(C, nodes())),
io:format("DONE~n"),
halt().
EOF
)
CNODE="$CNAME@$HOST" TAG=$$ erl_start e "elimits$$" "$SCRIPT"
erl_wait e 60
erl_results e
check_file "log: erl's big message dropped" "$WORK/c.err" \
  "dropped a message from elimits$$@$HOST: a message in fragments over 100000 bytes"
check_file "log: too many new atoms" "$WORK/c.err" \
  "dropped a message from elimits$$@$HOST: REG_SEND: the payload does not decode \(too many new atoms in one term\); the connection stays"
n=$(grep -c "dropped a message from elimits$$" "$WORK/c.err")
check "52 drops from erl in at most 20 lines ($n)" test "$n" -ge 1 -a "$n" -le 20
check "the C node closed no connection" bash -c "! grep -q 'closing the connection\|closing a connection' '$WORK/c.err'"
finish

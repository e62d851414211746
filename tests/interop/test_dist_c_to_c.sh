#!/usr/bin/env bash
# C <-> C: two dist_nodes, no BEAM in the picture.
#   ping/pang and nodes() on both sides; echo of terms; monitors, links and
#   exit signals both ways (exit/2, unlink, a link between two C echo
#   processes); a 16 MiB binary each way (fragmented), also as the first
#   message to a node not yet connected; a stopped node (SIGSTOP) dropped
#   after net_ticktime (4 s); nodedown, DOWN and EXIT noconnection when one
#   node is killed.
# Usage: bash test_dist_c_to_c.sh BUILD_DIR
source "$(dirname "$0")/dist_lib.sh" "$1"

A="'ca$$@$HOST'"
B="'cb$$@$HOST'"
cnode_start a "ca$$" --ticktime-ms 4000 || { ko "dist_node a starts"; finish; }
cnode_start b "cb$$" --ticktime-ms 4000 || { ko "dist_node b starts"; finish; }

c_check a "ping: pong" "ping cb$$@$HOST" "^pong "
c_check a "ping of a node that does not exist: pang, NODUS_ENOCONN (not EAUTH)" "ping nosuch$$@$HOST 3000" "^pang .* NODUS_ENOCONN$"
c_check a "b in a's nodes()" "nodes" "cb$$@$HOST"
c_check b "a in b's nodes()" "nodes" "ca$$@$HOST"

c_run a "set Terms {0, -1, 18446744073709551616, 1.5, ok, '', 'ünï', <<>>, <<1,2,3>>, <<5:3>>, {}, {a, {b}}, [], \"str\", [a|b], #{a => 1, {k} => [v]}, Self}"
c_run a "send {echo, $B} {Self, Terms}"
c_check a "terms go to the other node's echo and back" "expect 5000 {echo, Terms}" '^got '

# Each agent learns the other's pid.
c_run a "send {agent, $B} {hello, Self}"
c_run b "expect 5000 {hello, PA}"
c_run b "send PA {hello_back, Self}"
c_check a "a reply to a remote pid arrives" "expect 5000 {hello_back, PB}" '^got '

# a watches an echo process of b that dies.
c_run b "spawn_echo E1"
c_run b "send PA {pid, E1}"
c_run a "expect 5000 {pid, E1}"
c_run a "monitor R1 E1"
c_run a "link E1"
c_run a "send E1 {exit, boom}"
c_check a "remote monitor: DOWN with the reason" "expect 5000 {'DOWN', R1, process, E1, boom}" '^got '
c_check a "remote link: EXIT with the reason" "expect 5000 {'EXIT', E1, boom}" '^got '

# b watches an echo process of a that dies.
c_run a "spawn_echo E2"
c_run a "send PB {pid, E2}"
c_run b "expect 5000 {pid, E2}"
c_run b "monitor R2 E2"
c_run b "link E2"
c_run a "send E2 {exit, bye}"
c_check b "the other way: EXIT" "expect 5000 {'EXIT', E2, bye}" '^got '
c_check b "the other way: DOWN" "expect 5000 {'DOWN', R2, process, E2, bye}" '^got '

# exit/2 across nodes.
c_run b "spawn_echo E3"
c_run b "send PA {pid, E3}"
c_run a "expect 5000 {pid, E3}"
c_run a "monitor R3 E3"
c_run a "exit E3 kill"
c_check a "exit(Pid, kill) across nodes: DOWN killed" "expect 5000 {'DOWN', R3, process, E3, killed}" '^got '

# An exit propagates over a link between two echo processes.
c_run b "spawn_echo E5"
c_run b "monitor R5 E5"
c_run b "send PA {pid, E5}"
c_run a "expect 5000 {pid, E5}"
c_run a "spawn_echo E6"
c_run a "send E6 {link, E5}"
c_run a "send E6 {exit, crash}"
c_check b "a linked process on the other node dies with the same reason" \
  "expect 5000 {'DOWN', R5, process, E5, crash}" '^got '

# unlink
c_run b "spawn_echo E7"
c_run b "send PA {pid, E7}"
c_run a "expect 5000 {pid, E7}"
c_run a "link E7"
c_run a "unlink E7"
c_run a "monitor R7 E7"
c_run a "send E7 {exit, quietly}"
c_check a "unlink: the DOWN comes" "expect 5000 {'DOWN', R7, process, E7, quietly}" '^got '
c_check a "unlink: no EXIT" "expect 500 {'EXIT', E7, _}" '^timeout$'

c_run a "monitor RN {nobody, $B}"
c_check a "monitor of an unregistered remote name: DOWN noproc" \
  "expect 5000 {'DOWN', RN, process, {nobody, $B}, noproc}" '^got '

# 16 MiB each way.
c_run a "bigbin BigA 16777216"
c_run a "crc CrcA BigA"
c_run a "send PB {big, BigA, CrcA}"
c_run b "expect 20000 {big, BigA, CrcA}" 25
c_check b "16 MiB from a arrive intact" "crc CrcA BigA" '^crc [0-9]+$'
c_run b "bigbin BigB 16777216"
c_run b "crc CrcB BigB"
c_run b "send PA {big, BigB, CrcB}"
c_run a "expect 20000 {big, BigB, CrcB}" 25
c_check a "16 MiB from b arrive intact" "crc CrcB BigB" '^crc [0-9]+$'

# A node that was never connected: its first message is 16 MiB, queued
# until the handshake is done, then fragmented.
cnode_start z "cz$$" || ko "dist_node z starts"
c_run z "bigbin BigZ 16777216"
c_run z "crc CrcZ BigZ"
c_run z "send {agent,$B} {bigz, BigZ, CrcZ}"
c_run b "expect 20000 {bigz, BigZ, CrcZ}" 25
c_check b "16 MiB sent before the connection was up arrive intact" "crc CrcZ BigZ" '^crc [0-9]+$'
cnode_quit z
cnode_forget z

# b stops talking: a (ticktime 4 s) drops it; b, woken up, drops a.
c_run a "monitor_node $B"
kill -STOP "$(cnode_pid b)"
t0=$(date +%s%N)
c_check a "a stopped C node is dropped (nodedown)" "expect 20000 {nodedown, $B}" '^got ' 25
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -le 12000 ]; then ok "... within 12000 ms ($ms ms)"; else ko "... within 12000 ms (took $ms ms)"; fi
kill -CONT "$(cnode_pid b)"
if eventually 15 c_do b nodes '^nodes \[\]$'; then ok "b, woken up, sees the connection gone"
else ko "b, woken up, sees the connection gone (nodes: '$C_LAST')"; fi
c_check a "reconnect after the drop" "ping cb$$@$HOST" "^pong "

# Simultaneous connects: two new nodes send to each other at once; both
# messages arrive whichever connection wins.
for i in 1 2 3; do
  cnode_start x$i "cx$i$$" || ko "dist_node x$i starts"
  cnode_start y$i "cy$i$$" || ko "dist_node y$i starts"
  fx=CFD_x$i fy=CFD_y$i bx=$(lines "$WORK/x$i.out") by=$(lines "$WORK/y$i.out")
  echo "send {agent,'cy$i$$@$HOST'} {from_x, Self}" >&"${!fx}"
  echo "send {agent,'cx$i$$@$HOST'} {from_y, Self}" >&"${!fy}"
  eventually 10 more_lines "$WORK/x$i.out" "$bx" # both sends answered
  eventually 10 more_lines "$WORK/y$i.out" "$by"
  c_check x$i "simultaneous connect $i: x gets y's message" "expect 10000 {from_y, _}" '^got ' 15
  c_check y$i "simultaneous connect $i: y gets x's message" "expect 10000 {from_x, _}" '^got ' 15
  c_check x$i "simultaneous connect $i: one connection, visible" "nodes" "cy$i$$@$HOST"
  cnode_quit x$i; cnode_forget x$i
  cnode_quit y$i; cnode_forget y$i
done

# b dies.
c_run a "monitor RB {agent, $B}"
c_run a "monitor RPB PB"
c_run a "link PB"
c_run a "monitor_node $B"
kill_now "$(cnode_pid b)"
cnode_forget b
c_check a "nodedown when the other node is killed" "expect 10000 {nodedown, $B}" '^got '
c_check a "name monitor: DOWN noconnection" "expect 5000 {'DOWN', RB, process, {agent, $B}, noconnection}" '^got '
c_check a "pid monitor: DOWN noconnection" "expect 5000 {'DOWN', RPB, process, PB, noconnection}" '^got '
c_check a "link: EXIT noconnection" "expect 5000 {'EXIT', PB, noconnection}" '^got '
c_check a "nodes() is empty again" "nodes" '^nodes \[\]$'
finish

/* Three C echo nodes (build/bin/echo_node), each on its own host. They
 * print nodeup/nodedown with the reason from the node-events API; the kit makes them dial each
 * other (C nodes connect on send). Partition {1}|{2,3}, heal and
 * reconnect, a bridge partition, kill and pause seen by the others.
 * The nodes run with :global's prevent_overlapping_partitions off, so the
 * bridge stays a bridge: with it on (the default, as OTP 25's), node 2
 * drops 3 when 1 reports losing it, as a BEAM node does (that is the
 * global tests' business). */
#include <stdlib.h>

#include "cluster_util.h"

static void mesh(nodus_kit *kit) {
  for (int a = 1; a <= 3; a++)
    for (int b = a + 1; b <= 3; b++)
      CHECK(NODUS_EVENTUALLY(nodus_kit_ping(kit, a, b, 2000) == 0 &&
                                 nodus_kit_connected(kit, a, b) &&
                                 nodus_kit_connected(kit, b, a),
                             10000));
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS);
  if (need) return need;
  nodus_kit *kit;
  setenv("NODUS_PREVENT_OVERLAPPING_PARTITIONS", "false", 1); /* inherited */
  if (nodus_kit_fixture(&kit, 3, 0, NULL)) return 1;
  CHECK(nodus_kit_netns(kit));
  long mark[4];

  STEP("mesh");
  marks(kit, mark);
  mesh(kit);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodeup", 2) &&
                             saw(kit, 1, mark[1], "nodeup", 3) &&
                             saw(kit, 2, mark[2], "nodeup", 3),
                         5000));

  STEP("partition 1 | 2,3");
  marks(kit, mark);
  nodus_kit_grudge g;
  CHECK_RC(nodus_kit_grudge_parse(&g, 3, "1/2,3"), 0);
  CHECK_RC(nodus_kit_partition(kit, &g), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                             saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 2, mark[2], "nodedown", 1) &&
                             saw(kit, 3, mark[3], "nodedown", 1),
                         15000));
  CHECK(!saw(kit, 2, mark[2], "nodedown", 3));
  CHECK(!saw(kit, 3, mark[3], "nodedown", 2));
  /* Nothing came back from the other side: the tick said so. */
  CHECK(down_reason(kit, 1, mark[1], 2, "net_tick_timeout"));
  CHECK(down_reason(kit, 2, mark[2], 1, "net_tick_timeout"));
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 1000), NODUS_ENOCONN);
  CHECK_RC(nodus_kit_ping(kit, 3, 1, 1000), NODUS_ENOCONN);
  CHECK_RC(nodus_kit_ping(kit, 2, 3, 2000), 0);

  STEP("heal: the next send reconnects");
  marks(kit, mark);
  CHECK_RC(nodus_kit_heal(kit), 0);
  mesh(kit);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodeup", 2) &&
                             saw(kit, 1, mark[1], "nodeup", 3) &&
                             saw(kit, 2, mark[2], "nodeup", 1) &&
                             saw(kit, 3, mark[3], "nodeup", 1),
                         5000));

  STEP("bridge: 1 and 3 cut, 2 talks to both");
  marks(kit, mark);
  nodus_kit_grudge_bridge(&g, 3);
  char text[64];
  nodus_kit_grudge_format(&g, text, sizeof text);
  CHECK_STR(text, "cut 1-3");
  CHECK_RC(nodus_kit_partition(kit, &g), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 3, mark[3], "nodedown", 1),
                         15000));
  CHECK(!saw(kit, 2, mark[2], "nodedown", 1));
  CHECK(!saw(kit, 2, mark[2], "nodedown", 3));
  CHECK(!saw(kit, 1, mark[1], "nodedown", 2));
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 2000), 0);
  CHECK_RC(nodus_kit_ping(kit, 3, 2, 2000), 0);
  CHECK_RC(nodus_kit_ping(kit, 1, 3, 1000), NODUS_ENOCONN);
  CHECK_RC(nodus_kit_heal(kit), 0);
  mesh(kit);

  STEP("kill -9 node 3");
  marks(kit, mark);
  CHECK_RC(nodus_kit_kill(kit, 3), 0);
  CHECK(!nodus_kit_node_pid(kit, 3));
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 2, mark[2], "nodedown", 3),
                         3000));
  /* The kernel closed the dead node's sockets. */
  CHECK(down_reason(kit, 1, mark[1], 3, "connection_closed"));
  CHECK_RC(nodus_kit_restart(kit, 3), 0);
  mesh(kit);

  STEP("pause node 2");
  marks(kit, mark);
  CHECK_RC(nodus_kit_pause(kit, 2), 0);
  CHECK(nodus_kit_node_paused(kit, 2));
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                             saw(kit, 3, mark[3], "nodedown", 2),
                         15000));
  CHECK_RC(nodus_kit_resume(kit, 2), 0);
  mesh(kit);

  nodus_kit_down(kit);
  return check_report();
}

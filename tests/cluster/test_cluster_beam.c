/* Three BEAM nodes, each on its own host: partition {1}|{2,3} is seen as
 * nodedown on the right sides, pings reconnect after heal (OTP 25 does not
 * reconnect by itself), kill and pause are seen by the others. */
#include <stdlib.h>

#include "cluster_util.h"

static char want[512];

static const char *others(nodus_kit *kit, int a, int b) {
  snprintf(want, sizeof want, "{ok,['%s','%s']}", nodus_kit_node_name(kit, a),
           nodus_kit_node_name(kit, b));
  return want;
}

int main(void) {
  int need = cluster_require(CLUSTER_NETNS | CLUSTER_BEAM);
  if (need) return need;
  nodus_kit *kit;
  if (nodus_kit_fixture(&kit, 3, 3, NULL)) return 1;
  CHECK(nodus_kit_netns(kit));
  long mark[4];

  STEP("mesh: 1 pings 2 and 3, 2 pings 3");
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 3000), 0);
  CHECK_RC(nodus_kit_ping(kit, 1, 3, 3000), 0);
  CHECK_RC(nodus_kit_ping(kit, 2, 3, 3000), 0);
  CHECK(NODUS_EVENTUALLY(beam_nodes_are(kit, 1, others(kit, 2, 3)), 5000));

  STEP("partition 1 | 2,3");
  marks(kit, mark);
  nodus_kit_grudge g;
  nodus_kit_grudge_isolate(&g, 3, 1);
  CHECK_RC(nodus_kit_partition(kit, &g), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                             saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 2, mark[2], "nodedown", 1) &&
                             saw(kit, 3, mark[3], "nodedown", 1),
                         15000));
  /* The majority side stays together. */
  CHECK(!saw(kit, 2, mark[2], "nodedown", 3));
  CHECK(!saw(kit, 3, mark[3], "nodedown", 2));
  CHECK_RC(nodus_kit_ping(kit, 2, 3, 3000), 0);
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 1000), NODUS_ENOCONN);
  CHECK(beam_nodes_are(kit, 1, "{ok,[]}"));

  STEP("heal; 1 pings to reconnect");
  CHECK_RC(nodus_kit_heal(kit), 0);
  CHECK(NODUS_EVENTUALLY(nodus_kit_ping(kit, 1, 2, 2000) == 0 &&
                             nodus_kit_ping(kit, 1, 3, 2000) == 0,
                         15000));
  CHECK(NODUS_EVENTUALLY(beam_nodes_are(kit, 1, others(kit, 2, 3)) &&
                             beam_nodes_are(kit, 2, others(kit, 1, 3)) &&
                             beam_nodes_are(kit, 3, others(kit, 1, 2)),
                         10000));

  STEP("kill -9 node 3: 1 and 2 see it at once");
  marks(kit, mark);
  int64_t t0 = nodus_kit_now_ns();
  CHECK_RC(nodus_kit_kill(kit, 3), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 3) &&
                             saw(kit, 2, mark[2], "nodedown", 3),
                         3000));
  STEP("nodedown after %.0f ms", (double)(nodus_kit_now_ns() - t0) / 1e6);
  CHECK_RC(nodus_kit_restart(kit, 3), 0);
  CHECK_RC(nodus_kit_ping(kit, 3, 1, 3000), 0);
  CHECK_RC(nodus_kit_ping(kit, 3, 2, 3000), 0);

  STEP("pause node 2: the others see nodedown after the tick time");
  marks(kit, mark);
  t0 = nodus_kit_now_ns();
  CHECK_RC(nodus_kit_pause(kit, 2), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 1, mark[1], "nodedown", 2) &&
                             saw(kit, 3, mark[3], "nodedown", 2),
                         15000));
  STEP("nodedown after %.0f ms", (double)(nodus_kit_now_ns() - t0) / 1e6);
  CHECK_RC(nodus_kit_resume(kit, 2), 0);
  CHECK(NODUS_EVENTUALLY(nodus_kit_ping(kit, 2, 1, 2000) == 0, 10000));

  nodus_kit_down(kit);
  return check_report();
}

/* Loopback mode, for machines without namespaces: nodes on 127.0.0.1 with
 * a private epmd; network faults say they are unsupported, process faults
 * work. */
#include <stdlib.h>

#include "cluster_util.h"

int main(void) {
  /* No namespaces: this one runs as any user. */
  int need = cluster_require(CLUSTER_BEAM | CLUSTER_ELIXIR);
  if (need) return need;
  nodus_kit_opts o = {.nodes = 2, .beam = 1, .net = NODUS_KIT_NET_LOOPBACK,
                      .elixir = true, .log = stderr};
  nodus_kit *kit;
  int rc = nodus_kit_up(&kit, &o);
  CHECK_RC(rc, 0);
  if (rc) return check_report();
  CHECK(!nodus_kit_netns(kit));
  CHECK(nodus_kit_node_netns(kit, 1) == NULL);
  CHECK_STR(nodus_kit_node_ip(kit, 1), "127.0.0.1");
  CHECK_RC(nodus_kit_ping(kit, 2, 1, 3000), 0);
  CHECK_RC(nodus_kit_ping(kit, 1, 2, 3000), 0);
  nodus_kit_grudge g;
  nodus_kit_grudge_halves(&g, 2);
  CHECK_RC(nodus_kit_partition(kit, &g), NODUS_EUNSUPPORTED);
  CHECK_RC(nodus_kit_loss(kit, 1, 10), NODUS_EUNSUPPORTED);
  CHECK_RC(nodus_kit_delay(kit, 1, 10), NODUS_EUNSUPPORTED);
  long mark = nodus_kit_log_mark(kit, 2);
  CHECK_RC(nodus_kit_kill(kit, 1), 0);
  CHECK(NODUS_EVENTUALLY(saw(kit, 2, mark, "nodedown", 1), 3000));
  CHECK_RC(nodus_kit_restart(kit, 1), 0);
  CHECK(NODUS_EVENTUALLY(nodus_kit_ping(kit, 2, 1, 2000) == 0, 5000));
  CHECK_RC(nodus_kit_pause(kit, 2), 0);
  CHECK_RC(nodus_kit_eval(kit, 2, "1.", 300, NULL), NODUS_ETIMEDOUT);
  CHECK_RC(nodus_kit_resume(kit, 2), 0);
  char *reply = NULL;
  CHECK_RC(nodus_kit_eval(kit, 2, "1 + 1.", 5000, &reply), 0);
  CHECK_STR(reply, "{ok,2}");
  free(reply);
  reply = NULL; /* Elixir's code paths are there */
  CHECK_RC(nodus_kit_eval(kit, 2, "'Elixir.String':upcase(<<\"ok\">>).", 10000,
                          &reply), 0);
  CHECK_STR(reply, "{ok,<<\"OK\">>}");
  free(reply);
  nodus_kit_down(kit);
  return check_report();
}

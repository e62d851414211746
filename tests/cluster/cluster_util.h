/* Shared helpers of the cluster tests: log waits on top of the kit. */
#ifndef NODUS_CLUSTER_UTIL_H
#define NODUS_CLUSTER_UTIL_H

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "nodus_testkit.h"

/* Node i's log has a line with "nodedown <name of j>" (or nodeup) after
 * mark. C nodes log "dist: nodedown NAME: why", BEAM nodes "#nodedown NAME". */
static inline bool saw(nodus_kit *kit, int i, long mark, const char *what,
                       int j) {
  char needle[200];
  snprintf(needle, sizeof needle, "%s %s", what, nodus_kit_node_name(kit, j));
  return nodus_kit_log_count(kit, i, mark, needle) > 0;
}

static inline void marks(nodus_kit *kit, long *mark) {
  for (int i = 1; i <= nodus_kit_size(kit); i++)
    mark[i] = nodus_kit_log_mark(kit, i);
}

/* BEAM node i's sorted nodes() as text, e.g. "['a@x','b@y']". */
static inline bool beam_nodes_are(nodus_kit *kit, int i, const char *want) {
  char *reply = NULL;
  bool ok = nodus_kit_eval(kit, i, "lists:sort(nodes()).", 5000, &reply) == 0 &&
            reply && !strcmp(reply, want);
  free(reply);
  return ok;
}

#define STEP(...)                                                        \
  do {                                                                   \
    fprintf(stderr, "-- %.3f ", (double)nodus_kit_now_ns() / 1e9);       \
    fprintf(stderr, __VA_ARGS__);                                        \
    fputc('\n', stderr);                                                 \
  } while (0)

#endif

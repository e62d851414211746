/* Shared helpers of the cluster tests: log waits on top of the kit. */
#ifndef NODUS_CLUSTER_UTIL_H
#define NODUS_CLUSTER_UTIL_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodus_testkit.h"

/* What a cluster test needs, checked before any kit comes up: root and
 * the namespace tools (CLUSTER_NETNS), erl (CLUSTER_BEAM), elixir
 * (CLUSTER_ELIXIR), iptables-nft for NFQUEUE delay (CLUSTER_DELAY),
 * libfaketime for clock skew (CLUSTER_SKEW). 0 when all are there, else
 * check_skip()'s code (77, or 1 under NODUS_REQUIRE_ALL=1): use as
 * `int rc = cluster_require(...); if (rc) return rc;`. */
enum {
  CLUSTER_NETNS = 1,
  CLUSTER_BEAM = 2,
  CLUSTER_ELIXIR = 4,
  CLUSTER_DELAY = 8,
  CLUSTER_SKEW = 16,
};
#define CLUSTER_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
static inline int cluster_require(int needs) {
  char why[200];
  const char *tool = NULL;
  if ((needs & CLUSTER_NETNS) && geteuid() != 0)
    return check_skip("not root: network namespaces and nftables need root");
  if ((needs & CLUSTER_NETNS) && !check_have("ip")) tool = "ip (iproute2)";
  else if ((needs & CLUSTER_NETNS) && !check_have("nft")) tool = "nft (nftables)";
  else if ((needs & CLUSTER_BEAM) && !check_have("erl")) tool = "erl (erlang-base)";
  else if ((needs & CLUSTER_BEAM) && !check_have("epmd")) tool = "epmd (erlang-base)";
  else if ((needs & CLUSTER_ELIXIR) && !check_have("elixir")) tool = "elixir";
  else if ((needs & CLUSTER_DELAY) && !check_have("iptables-nft"))
    tool = "iptables-nft (iptables)";
  else if ((needs & CLUSTER_SKEW) && access(CLUSTER_FAKETIME_LIB, R_OK) != 0)
    tool = "libfaketime (faketime)";
  if (!tool) return 0;
  snprintf(why, sizeof why, "%s not installed", tool);
  return check_skip(why);
}

/* Node i's log has a line with "nodedown <name of j>" (or nodeup) after
 * mark. C nodes print "#nodedown NAME REASON" from their node-events
 * subscription, BEAM nodes "#nodedown NAME". */
static inline bool saw(nodus_kit *kit, int i, long mark, const char *what,
                       int j) {
  char needle[200];
  snprintf(needle, sizeof needle, "%s %s", what, nodus_kit_node_name(kit, j));
  return nodus_kit_log_count(kit, i, mark, needle) > 0;
}

/* C node i printed "#nodedown <name of j> REASON" after mark. */
static inline bool down_reason(nodus_kit *kit, int i, long mark, int j,
                               const char *reason) {
  char needle[300];
  snprintf(needle, sizeof needle, "#nodedown %s %s", nodus_kit_node_name(kit, j),
           reason);
  return nodus_kit_log_count(kit, i, mark, needle) > 0;
}

/* The lines of node i's log after mark that hold needle, to stderr. */
static inline void log_lines(nodus_kit *kit, int i, long mark, const char *needle) {
  char path[600];
  snprintf(path, sizeof path, "%s/n%d.log", nodus_kit_state_dir(kit), i);
  FILE *f = fopen(path, "r");
  if (!f) return;
  fseek(f, mark, SEEK_SET);
  char line[1024];
  while (fgets(line, sizeof line, f))
    if (strstr(line, needle)) fprintf(stderr, "  n%d: %s", i, line);
  fclose(f);
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

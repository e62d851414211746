/* static: a fixed list of node names (static:a@h1,b@h2). Reported once at
 * start; the core keeps them connected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/discovery/discovery_internal.h"

static int static_start(disc_topology *t, char *err, size_t err_size) {
  size_t n = disc_items(t);
  if (n == 0) {
    snprintf(err, err_size, "no node names (static:a@h1,b@h2)");
    return NODUS_EINVAL;
  }
  nodus_atom *nodes = calloc(n, sizeof *nodes);
  if (!nodes) return NODUS_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *name = disc_item(t, i);
    if (disc_node_atom(name, strlen(name), &nodes[i])) {
      snprintf(err, err_size, "'%s' is not a node name (name@host)", name);
      free(nodes);
      return NODUS_EINVAL;
    }
  }
  disc_report_all(t, nodes, n);
  free(nodes);
  return 0;
}

static void static_stop(disc_topology *t) { (void)t; }

static const char *const static_keys[] = {"", NULL};

const disc_strategy disc_static = {"static", static_start, static_stop,
                                   static_keys};

/* Discovery inside: the core (core.c: topologies, the connect manager
 * with backoff, events, the spec grammar in spec.c) and one file per
 * strategy behind disc_strategy. A strategy finds nodes and reports them;
 * it never connects: the core does, for every strategy alike.
 * Everything runs on the node's loop. */
#ifndef NODUS_CLUSTER_DISCOVERY_INTERNAL_H
#define NODUS_CLUSTER_DISCOVERY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "nodus/discovery.h"

typedef struct disc_topology disc_topology;

/* One strategy. start parses the topology's options (disc_opt_*), sets up
 * its sockets, files, timers on the loop, and may report at once; a bad
 * option or a resource that can't be set up returns NODUS_EINVAL or
 * NODUS_ENET with a message in err. stop releases everything (also after
 * a start that failed half-way); its state is disc_state(t). */
typedef struct disc_strategy {
  const char *name;
  int (*start)(disc_topology *t, char *err, size_t err_size);
  void (*stop)(disc_topology *t);
  /* Option keys it takes ("" for list items), NULL-terminated: the core
   * refuses any other before start. */
  const char *const *keys;
} disc_strategy;

extern const disc_strategy disc_static, disc_epmd, disc_hosts_file,
    disc_gossip, disc_dns, disc_postgres, disc_dir;

/* The strategies this build has, NULL-terminated (strategies.c: one line
 * per strategy that exists). */
extern const disc_strategy *const disc_strategies[];

/* ---- what a strategy may call ------------------------------------------ */

nodus_node *disc_node(disc_topology *t);
uv_loop_t *disc_loop(disc_topology *t);
void *disc_state(disc_topology *t);
void disc_set_state(disc_topology *t, void *state);
/* The discovery only finds (nodus discover): a strategy then announces
 * nothing of its own (no file in dir, no row, no heartbeat). */
bool disc_dry_run(disc_topology *t);

/* Options: the value of key (NULL: absent), the n-th list item, and typed
 * getters that fill *out with def when absent and fail with a message for
 * a value that does not parse. */
const char *disc_opt(disc_topology *t, const char *key);
size_t disc_items(disc_topology *t);
const char *disc_item(disc_topology *t, size_t i);
int disc_opt_uint(disc_topology *t, const char *key, unsigned def,
                  unsigned *out, char *err, size_t err_size);
int disc_opt_bool(disc_topology *t, const char *key, bool def, bool *out,
                  char *err, size_t err_size);

/* A whole round's answer: the topology lists exactly these nodes now
 * (names checked as node names; ourselves ignored). Nodes it listed
 * before and not now are LOST (disconnected with disconnect_missing).
 * Call only for a successful, non-empty poll. */
void disc_report_all(disc_topology *t, const nodus_atom *nodes, size_t n);
/* One node heard of (gossip, NOTIFY): listed from now on; with ttl_ms > 0
 * it is LOST when not heard of again within ttl_ms. */
void disc_report_one(disc_topology *t, nodus_atom node, unsigned ttl_ms);
/* A failed poll: logged (rate-limited) and reported as an ERROR event;
 * what the topology lists is kept as it was. */
void disc_report_error(disc_topology *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Rate-limited log line for dropped input (bad packets, rows). */
void disc_log_dropped(disc_topology *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A node name from untrusted text: checked (name@host, length, bytes)
 * before any atom is made; NODUS_EBADNAME otherwise. */
int disc_node_atom(const char *text, size_t len, nodus_atom *out);

#endif

/* The epmd poller the epmd and hosts_file strategies share: every
 * interval, a NAMES request to the epmd of each host, at once and without
 * blocking; the nodes are name@host for every name registered there. A
 * host that does not answer keeps what it listed last (and is an ERROR);
 * a round in which nobody answered reports nothing. */
#ifndef NODUS_CLUSTER_DISCOVERY_EPMD_POLL_H
#define NODUS_CLUSTER_DISCOVERY_EPMD_POLL_H

#include "cluster/discovery/discovery_internal.h"

typedef struct disc_epmd_poll disc_epmd_poll;

/* Called before each round: fills the host list (hosts_file re-reads its
 * file); 0, or a negative code for a failed round (reported already). */
typedef int (*disc_epmd_hosts_fn)(disc_epmd_poll *p, void *arg);

/* Options interval_ms, port, timeout_ms are read from t. */
int disc_epmd_poll_start(disc_topology *t, disc_epmd_hosts_fn hosts, void *arg,
                         char *err, size_t err_size, disc_epmd_poll **out);
/* Replaces the host list (copies). */
int disc_epmd_poll_set_hosts(disc_epmd_poll *p, const char *const *hosts,
                             size_t n);
void disc_epmd_poll_stop(disc_epmd_poll *p);

#endif

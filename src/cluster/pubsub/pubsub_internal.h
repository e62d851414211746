/* pub/sub inside: the local subscription registry (Phoenix uses an
 * Elixir Registry with duplicate keys) and the PG2 adapter's workers. */
#ifndef NODUS_CLUSTER_PUBSUB_INTERNAL_H
#define NODUS_CLUSTER_PUBSUB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "cluster/common/termmap.h"
#include "nodus/pg.h"
#include "nodus/pubsub.h"

struct nodus_pubsub {
  nodus_node *node;
  nodus_pg *scope; /* 'Elixir.Phoenix.PubSub' */
  nodus_atom name, node_name;
  unsigned pool, bpool;
  nodus_term *groups;  /* pool group atoms; the first bpool broadcast */
  nodus_term *workers; /* their pids */
  nodus_term dispatcher; /* 'Elixir.Phoenix.PubSub' */
  atomic_uint next_group;
  atomic_uint live_workers; /* workers whose process has not ended */

  /* Subscriptions: topic (binary) -> termvec of pids. Any thread. */
  pthread_mutex_t lock;
  termmap topics;

  /* Loop only: subscribers we monitor (pid -> monitor ref), by worker 0. */
  termmap watched;
  bool logged_dispatcher;
};

/* registry.c */
int ps_registry_add(nodus_pubsub *ps, const nodus_term *topic,
                    const nodus_term *pid);
int ps_registry_remove(nodus_pubsub *ps, const nodus_term *topic,
                       const nodus_term *pid);
/* Drops every subscription of a pid that exited. */
void ps_registry_drop_pid(nodus_pubsub *ps, const nodus_term *pid);
/* Sends a copy of msg (borrowed) to each subscriber of topic but `from`
 * (NULL: none), as Phoenix.PubSub.dispatch/3. */
void ps_dispatch_local(nodus_pubsub *ps, const nodus_term *topic,
                       const nodus_term *from, const nodus_term *msg);
void ps_registry_free(nodus_pubsub *ps);

#endif

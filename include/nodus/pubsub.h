/* nodus — pub/sub, wire-compatible with Phoenix.PubSub's PG2 adapter.
 *
 * A C node runs a PubSub of the same name as an Elixir application's
 * (`{Phoenix.PubSub, name: MyApp.PubSub}` is "Elixir.MyApp.PubSub") and
 * then shares its topics: processes here subscribe to topics and get what
 * Elixir code broadcasts; broadcasts from here reach Elixir subscribers.
 *
 * On the wire, as phoenix_pubsub's lib/phoenix/pubsub/pg2.ex: pg scope
 * 'Elixir.Phoenix.PubSub'; per node, one worker per pool group
 * ('<Name>.Adapter', then '<Name>.Adapter_2' ... '_<pool_size>'), joined
 * to its group and registered under the group's name; a broadcast sends
 * one {forward_to_local, Topic, Message, Dispatcher} to each member of one
 * pool group on every other node, whose worker delivers Message to its
 * node's subscribers of Topic (a binary).
 *
 * Every call is thread-safe and may be made from a handler. Broadcasts
 * never block: from another thread they are queued to the loop. */
#ifndef NODUS_PUBSUB_H
#define NODUS_PUBSUB_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_pubsub nodus_pubsub;

typedef struct nodus_pubsub_opts {
  const char *name;             /* the PubSub's atom, e.g. "Elixir.MyApp.PubSub" */
  unsigned pool_size;           /* 0: 1, as Phoenix */
  unsigned broadcast_pool_size; /* 0: pool_size */
} nodus_pubsub_opts;

/* Starts (or joins) the 'Elixir.Phoenix.PubSub' pg scope and the pool's
 * workers. NODUS_EEXIST if this node already runs a PubSub of that name. */
int nodus_pubsub_start(nodus_node *node, const nodus_pubsub_opts *opts,
                       nodus_pubsub **ps);
/* Stops the workers (they leave their pg groups) and frees ps. Before or
 * after nodus_node_close, as nodus_pg_close: after it the workers have
 * ended with the node and close only frees; not while nodus_node_close
 * runs on another thread. Every other call needs the node: not after
 * nodus_node_close. NULL: nothing. */
void nodus_pubsub_close(nodus_pubsub *ps);

/* `pid` (of this node) gets every message broadcast to topic until it
 * unsubscribes or exits. Subscribing twice delivers twice; unsubscribe
 * drops all of pid's subscriptions to topic (Registry semantics). */
int nodus_pubsub_subscribe(nodus_pubsub *ps, const char *topic,
                           const nodus_term *pid);
int nodus_pubsub_unsubscribe(nodus_pubsub *ps, const char *topic,
                             const nodus_term *pid);

/* msg is taken (also on failure). broadcast: to every subscriber on every
 * node; _from: except `from` (a pid, borrowed); local_: this node only;
 * direct_: the subscribers of one node. */
int nodus_pubsub_broadcast(nodus_pubsub *ps, const char *topic,
                           nodus_term msg);
int nodus_pubsub_broadcast_from(nodus_pubsub *ps, const nodus_term *from,
                                const char *topic, nodus_term msg);
int nodus_pubsub_local_broadcast(nodus_pubsub *ps, const char *topic,
                                 nodus_term msg);
int nodus_pubsub_local_broadcast_from(nodus_pubsub *ps,
                                      const nodus_term *from,
                                      const char *topic, nodus_term msg);
int nodus_pubsub_direct_broadcast(nodus_pubsub *ps, nodus_atom node,
                                  const char *topic, nodus_term msg);

#ifdef __cplusplus
}
#endif
#endif

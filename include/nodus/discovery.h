/* nodus — nodes that find each other: automatic clustering, as libcluster
 * gives Elixir teams, and reconnection after a heal.
 *
 * A discovery runs one or more topologies at once, each a strategy with
 * its options. Every node a topology lists is connected to, and kept
 * connected: one that is still listed but not connected (after a heal, a
 * dropped connection, a restart) is dialled again with capped exponential
 * backoff and jitter. Strategies:
 *   static      a list of node names
 *   epmd        the names registered in epmd on a list of hosts
 *               (libcluster's Epmd / LocalEpmd)
 *   hosts_file  the hosts of a .hosts.erlang file, asked as epmd does
 *               (net_adm:world/0)
 *   gossip      UDP heartbeats in libcluster 3.5's Gossip format
 *               (multicast 233.252.1.32:45892, optional AES-256-CBC secret)
 *   dns         A/AAAA records of a name (basename@address) or SRV records
 *               (libcluster's DNSPoll), with c-ares on the node's loop
 *   postgres    libcluster_postgres' LISTEN/NOTIFY heartbeats and/or a
 *               members table (the Phoenix-cluster story's `clusters`)
 *   dir         a shared folder of one fresh file per node
 *
 * The spec string (--discover on the examples, NODUS_DISCOVER):
 *
 *   SPEC     := TOPOLOGY (';' TOPOLOGY)*
 *   TOPOLOGY := STRATEGY [':' ITEM (',' ITEM)*]
 *   ITEM     := KEY '=' VALUE | VALUE
 *
 * A bare VALUE is a list item of the strategy (node names for static,
 * hosts for epmd, a path for hosts_file and dir, the name for dns); KEY=VALUE
 * sets an option. Spaces around items are ignored; a value cannot hold
 * ',' or ';'. Examples:
 *   static:a@h1,b@h2
 *   gossip:secret=s3cret,interval_ms=200
 *   epmd:h1,h2;dns:app.svc.local,basename=app,interval_ms=1000
 * Options common to every topology: disconnect_missing=true|false (off
 * by default: disconnect nodes the topology no longer lists, never on a
 * failed or empty poll). Each strategy's options are listed at
 * nodus_discovery_strategies (docs/discovery.md has the table).
 *
 * Nothing here blocks the loop; events come on the loop thread. */
#ifndef NODUS_DISCOVERY_H
#define NODUS_DISCOVERY_H

#include <stddef.h>

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_discovery nodus_discovery;

typedef enum nodus_discovery_event_kind {
  NODUS_DISCOVERY_FOUND,          /* a topology lists a node it did not */
  NODUS_DISCOVERY_LOST,           /* a topology no longer lists it */
  NODUS_DISCOVERY_CONNECT_FAILED, /* dialling it failed (reason says why) */
  NODUS_DISCOVERY_ERROR,          /* a poll or a socket failed (reason) */
} nodus_discovery_event_kind;

typedef struct nodus_discovery_event {
  nodus_discovery_event_kind kind;
  nodus_atom node;      /* NODUS_ATOM_EMPTY for ERROR */
  const char *strategy; /* "gossip", ... */
  int topology;         /* its index in the spec, from 0 */
  const char *reason;   /* CONNECT_FAILED, ERROR; else NULL */
} nodus_discovery_event;

/* Runs on the loop thread: must not block. */
typedef void (*nodus_discovery_fn)(nodus_node *node,
                                   const nodus_discovery_event *event,
                                   void *arg);

/* One option of a topology: key NULL (or "") for a list item. */
typedef struct nodus_discovery_option {
  const char *key, *value;
} nodus_discovery_option;

typedef struct nodus_topology {
  const char *strategy;
  const nodus_discovery_option *options;
  size_t n_options;
} nodus_topology;

typedef struct nodus_discovery_opts {
  /* The topologies as structs, as a spec string, or both (the string's
   * come after). */
  const nodus_topology *topologies;
  size_t n_topologies;
  const char *spec;
  /* Reconnection backoff; 0: 100 ms doubling up to 5000 ms, ±25%. */
  unsigned backoff_min_ms, backoff_max_ms;
  /* Optional: every event (also logged: one line per change, not per
   * poll). */
  nodus_discovery_fn on_event;
  void *arg;
  /* Only find and report: never connect (nodus discover's mode). */
  bool dry_run;
} nodus_discovery_opts;

/* Checks opts (grammar, strategies, option names and values) and starts
 * every topology; a socket or file that can't be set up (no multicast
 * route, a bad interface, an unreadable hosts file) fails here with
 * NODUS_EINVAL or NODUS_ENET and a message in err (may be NULL) instead of
 * silence. Thread-safe. */
int nodus_discovery_start(nodus_node *node, const nodus_discovery_opts *opts,
                          char *err, size_t err_size, nodus_discovery **out);
/* Stops the topologies (a dir or postgres node removes its own entry);
 * connections stay. Thread-safe; not from an event callback. Stopping or
 * closing the node ends (and frees) a discovery still running; stop after
 * that does nothing, so the end of a main may call it either way. */
void nodus_discovery_stop(nodus_discovery *d);

/* Checks a spec string without starting anything: 0, or NODUS_EINVAL with
 * the position and reason in err. */
int nodus_discovery_check(const char *spec, char *err, size_t err_size);

/* The nodes each topology lists now, as [{Strategy, [Node]}] (owned);
 * NODUS_ESTATE once it ended. */
int nodus_discovery_found(nodus_discovery *d, nodus_term *out);

/* The discovery service (nodus_service_discovery in service.h) starts the
 * spec of NODUS_DISCOVER, when it is set, on every node; nodus:discovery/0
 * over rpc returns each topology with its last result and error. */

#ifdef __cplusplus
}
#endif
#endif

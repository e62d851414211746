/* nodus — node services: what a node runs besides the user's processes.
 *
 * A node starts the services of its table in order at the end of
 * nodus_node_init (on the loop, before it runs) and stops them in reverse
 * order in nodus_node_close, after its processes are gone. Nothing is
 * started by linking: a program that calls only nodus_node_init and
 * nodus_node_start runs every default service, with the static library as
 * with the shared one.
 *
 * nodus_node_opts.services chooses the table (NULL-terminated); NULL means
 * nodus_default_services. A service of your own is a nodus_service with a
 * start and a stop, written against the public API (nodus_node_call,
 * nodus_spawn, nodus_register_function_on_loop, ...).
 */
#ifndef NODUS_SERVICE_H
#define NODUS_SERVICE_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_service {
  const char *name; /* for logs */
  /* Runs on the loop thread; *state is what nodus_node_service returns.
   * A negative code fails nodus_node_init (the services started before
   * it are stopped). */
  int (*start)(nodus_node *node, void **state);
  /* Optional; runs once the node's processes are gone, with the state
   * start gave (also when start failed half-way: state may be NULL). */
  void (*stop)(nodus_node *node, void *state);
} nodus_service;

/* net_kernel: answers peers' net_adm:ping (is_auth); without it a
 * node connects but pings of it fail. rpc: the table of functions callable over rpc/erpc
 * (nodus_register_function) and the rex server of rpc:call; erpc: serves
 * erpc:call/cast (needs rpc); introspect: the nodus module (nodus:nodes/0,
 * registered/0, process_info/1; needs rpc); pg: nodus:pg_which_groups/1
 * and pg_get_members/2 over the scopes nodus_pg_start runs (as pg does for a scope that is not running: badarg and []). */
extern const nodus_service nodus_service_net_kernel;
extern const nodus_service nodus_service_rpc;
extern const nodus_service nodus_service_erpc;
extern const nodus_service nodus_service_introspect;
extern const nodus_service nodus_service_pg;
/* global: global_name_server, :global's registry and locks with BEAM and
 * C peers (nodus/global.h); serves global:resolve_it/4 and
 * nodus:global_names/0, global_whereis/1 (needs rpc for those). */
extern const nodus_service nodus_service_global;
/* discovery: starts the spec of NODUS_DISCOVER when it is set (not on
 * hidden nodes) and serves nodus:discovery/0 (needs rpc; nodus/discovery.h). */
extern const nodus_service nodus_service_discovery;
/* dsup: knows the distributed supervisors running on the node
 * (nodus/dsup.h) and serves nodus:dsup_children/0 (needs rpc). */
extern const nodus_service nodus_service_dsup;
/* cron: knows the cron schedulers running on the node (nodus/cron.h) and
 * serves nodus:cron_jobs/0 (needs rpc). */
extern const nodus_service nodus_service_cron;

/* Every service above, in that order, NULL-terminated. */
extern const nodus_service *const nodus_default_services[];

/* The state a running service of this node gave at start, or NULL when
 * the node does not run it (or its state is NULL). Thread-safe: the table is fixed once the node is made. */
void *nodus_node_service(nodus_node *node, const nodus_service *service);

#ifdef __cplusplus
}
#endif
#endif

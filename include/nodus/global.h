/* nodus — cluster-wide names and locks: OTP's :global, in C.
 *
 * Every node that runs nodus_service_global (a default service) has a
 * global_name_server speaking the protocol of OTP 25's global.erl
 * (version 8), so BEAM and C nodes hold one name table: a name
 * registered here is in :global.whereis_name/1 of every BEAM node of the
 * cluster and the other way round, registrations of one name from C and
 * BEAM exclude each other (the same cluster-wide lock), locks set here
 * exclude BEAM holders, and after a heal clashing names are resolved as
 * BEAM resolves them.
 *
 * Names are any term (an atom, {job, 7}, ...), as in Erlang. A name goes
 * away everywhere when its process dies or its node goes down.
 *
 * prevent_overlapping_partitions is on, as OTP 25's kernel default: when
 * a node loses its connection to another, every node that knew both
 * drops its connection to the lost one too, so no two nodes keep a name
 * space that only overlaps; BEAM nodes and C nodes tell each other
 * ({lost_connection, ...}). Set NODUS_PREVENT_OVERLAPPING_PARTITIONS=false
 * in the environment before nodus_node_init to turn it off (the kernel
 * parameter's false). Like global, nobody reconnects after a heal: connect
 * the nodes again (nodus_node_connect) and the tables sync.
 * NODUS_GLOBAL_TRACE=1 logs every global message a node handles.
 *
 * All functions are thread-safe and, except nodus_global_whereis and
 * nodus_global_names (which read the local table), block the calling
 * thread while the cluster agrees, as their Erlang counterparts block the
 * calling process: call them from threads, never from a handler. */
#ifndef NODUS_GLOBAL_H
#define NODUS_GLOBAL_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happens to a name registered on both sides of a partition when the
 * sides meet again (global:register_name/3's Resolve). Both registrations
 * are seen by the node whose name sorts first, which picks the winner, as
 * global does:
 *   RANDOM_EXIT    global:random_exit_name/3 (the default): the pid on
 *                  the node whose name sorts first keeps the name, the
 *                  other is killed (exit(Pid, kill));
 *   RANDOM_NOTIFY  global:random_notify_name/3: the same winner; the
 *                  loser gets {global_name_conflict, Name} and lives;
 *   NOTIFY_ALL     global:notify_all_name/3: nobody keeps the name; each
 *                  gets {global_name_conflict, Name, OtherPid};
 *   CALLBACK       nodus_global_opts.resolve decides, on the node of the
 *                  registered pid (BEAM nodes see the method as the
 *                  export fun nodus_global:resolve/3). */
typedef enum nodus_global_method {
  NODUS_GLOBAL_RANDOM_EXIT = 0,
  NODUS_GLOBAL_RANDOM_NOTIFY,
  NODUS_GLOBAL_NOTIFY_ALL,
  NODUS_GLOBAL_CALLBACK,
} nodus_global_method;

/* Returns 0 and sets *winner to a copy of pid1 or pid2, or returns
 * NODUS_ENOTFOUND for "none" (the name is dropped). Runs on the loop
 * thread: it must not block. */
typedef int (*nodus_global_resolve_fn)(nodus_node *node,
                                       const nodus_term *name,
                                       const nodus_term *pid1,
                                       const nodus_term *pid2,
                                       nodus_term *winner, void *arg);

typedef struct nodus_global_opts {
  nodus_global_method method;
  nodus_global_resolve_fn resolve; /* CALLBACK only */
  void *resolve_arg;
} nodus_global_opts;

/* global:register_name(Name, Pid[, Resolve]): 0 (yes), or NODUS_EEXIST
 * (no: the name is taken, or pid already has another global name), or
 * NODUS_ESTATE (no global service on this node), NODUS_EINVAL (pid is
 * not a pid). opts may be NULL (random_exit). */
int nodus_global_register(nodus_node *node, const nodus_term *name,
                          const nodus_term *pid,
                          const nodus_global_opts *opts);
/* global:re_register_name/2,3: takes the name whoever has it. */
int nodus_global_re_register(nodus_node *node, const nodus_term *name,
                             const nodus_term *pid,
                             const nodus_global_opts *opts);
/* global:unregister_name/1: 0 whether or not the name existed. */
int nodus_global_unregister(nodus_node *node, const nodus_term *name);

/* global:whereis_name/1 from this node's table (no messages): 0 and
 * *pid (owned), or NODUS_ENOTFOUND. */
int nodus_global_whereis(nodus_node *node, const nodus_term *name,
                         nodus_term *pid);
/* global:registered_names/0: a list of the names (owned). */
int nodus_global_names(nodus_node *node, nodus_term *names);
/* global:send/2: msg (taken) to the pid of name; NODUS_ENOTFOUND when no
 * process has it (global:send exits badarg then). The same as nodus_send
 * to {global, Name}. */
int nodus_global_send(nodus_node *node, const nodus_term *name,
                      nodus_term msg);

/* global:sync/0: waits until this node has synced its name table with
 * every node it is connected to (or they went down); 0, or
 * NODUS_ETIMEDOUT after timeout_ms (-1: infinity). */
int nodus_global_sync(nodus_node *node, int timeout_ms);

/* ---- Locks ----------------------------------------------------------- */

/* A cluster-wide lock, global:set_lock/3's {ResourceId, LockRequesterId}
 * on a set of nodes. The lock is held by a process the call starts (its
 * pid is what other nodes see, so the lock goes away with this node); it
 * is released by nodus_global_del_lock. */
typedef struct nodus_global_lock nodus_global_lock;

/* global:set_lock({ResourceId, RequesterId}, Nodes, Retries): nodes NULL
 * means this node and every connected one; retries -1 is infinity (with
 * global's random back-off between tries). 0 and *lock; NODUS_EBUSY when
 * another requester holds it on some node after the retries. id is
 * {ResourceId, LockRequesterId}; several holders with the same
 * LockRequesterId share the lock, as in Erlang. */
int nodus_global_set_lock(nodus_node *node, const nodus_term *id,
                          const nodus_term *nodes, int retries,
                          nodus_global_lock **lock);
/* global:del_lock/2 on the nodes it was set on; frees lock. */
int nodus_global_del_lock(nodus_global_lock *lock);
/* The pid holding the lock (borrowed, valid until del_lock). */
const nodus_term *nodus_global_lock_pid(const nodus_global_lock *lock);

/* global:trans/4: runs fn(arg) on the calling thread with the lock set,
 * then deletes it. 0 with *fn_result (optional) what fn returned, or
 * NODUS_EBUSY (aborted: the lock could not be set), fn not run. */
int nodus_global_trans(nodus_node *node, const nodus_term *id,
                       const nodus_term *nodes, int retries,
                       int (*fn)(void *arg), void *arg, int *fn_result);

#ifdef __cplusplus
}
#endif
#endif

/* pg scopes inside: the shared table readers lock, and the loop-only
 * state the scope process keeps (pg.erl's #state{}). */
#ifndef NODUS_CLUSTER_PG_INTERNAL_H
#define NODUS_CLUSTER_PG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "cluster/common/termmap.h"
#include "nodus/pg.h"

/* One group: pg.erl's ETS row {Group, AllPids, LocalPids}. */
typedef struct pg_row {
  termvec all, local;
} pg_row;

/* A local member: the monitor on it and the groups it joined (a group
 * once per join). */
typedef struct pg_local {
  nodus_term mref;
  termvec groups;
} pg_local;

/* A remote scope process: our monitor on it and what it told us, group ->
 * termvec of pids, so a sync or its DOWN can undo exactly that. */
typedef struct pg_peer {
  nodus_term mref;
  termmap groups;
} pg_peer;

/* A monitor_scope (whole scope) or monitor (one group) subscription. */
typedef struct pg_watch {
  struct pg_watch *next;
  nodus_term ref, pid, group; /* group is NONE for the whole scope */
} pg_watch;

struct nodus_pg {
  atomic_int refs; /* handles + 1 while the scope process lives */
  nodus_node *node;
  nodus_atom name, node_name;
  uint32_t creation;
  nodus_term pid; /* set before the handle is given out, then constant */
  struct nodus_pg *next_running; /* the registry of running scopes */

  /* Read by any thread under the read lock; written on the loop under the
   * write lock. */
  pthread_rwlock_t lock;
  termmap rows; /* group -> pg_row */
  bool dead;

  /* Loop thread only. */
  nodus_proc *proc;
  termmap locals; /* local pid -> pg_local */
  termmap peers;  /* remote scope pid -> pg_peer */
  pg_watch *watches;
  bool logged_unknown;
};

/* rows.c: the table. Adding and removing take arrays of pids (one
 * occurrence each), update the rows under the write lock, drop empty
 * groups, and notify the watchers. */
void pg_rows_add(nodus_pg *pg, const nodus_term *group,
                 const nodus_term *pids, size_t n, bool local);
void pg_rows_remove(nodus_pg *pg, const nodus_term *group,
                    const nodus_term *pids, size_t n, bool local);
void pg_rows_clear(nodus_pg *pg);
/* {Group, LocalPids} for every group with local members (for sync). */
int pg_rows_local_groups(nodus_pg *pg, nodus_term *out);

/* Runs fn for every member of group under the read lock (pub/sub's
 * broadcast reads members this way without copying them). fn must not
 * call back into the scope. */
void pg_foreach_member(nodus_pg *pg, const nodus_term *group,
                       void (*fn)(const nodus_term *pid, void *arg),
                       void *arg);

/* scope.c: the scope process. */
int pg_scope_spawn(nodus_pg *pg, const char *name);
/* Sends msg (taken) to every remote scope we know, as pg's broadcast/2. */
void pg_broadcast_peers(nodus_pg *pg, nodus_term msg);
void pg_send(nodus_pg *pg, const nodus_term *to, nodus_term msg);
bool pg_is_local_pid(const nodus_pg *pg, const nodus_term *t);
/* A pid, or a proper list of pids; local ones only when `local`. */
bool pg_valid_pids(const nodus_pg *pg, const nodus_term *t, bool local);
/* The pids of a pid-or-list term as an array. */
const nodus_term *pg_pids_array(const nodus_term *pid_or_list, size_t *n);
void pg_watch_drop(nodus_pg *pg, const nodus_term *ref);

/* api.c */
void pg_unref(nodus_pg *pg);
void pg_registry_remove(nodus_pg *pg);
/* The running scope of that name on node, with a reference the caller
 * drops with pg_unref; NULL when none runs. */
nodus_pg *pg_registry_get(nodus_node *node, nodus_atom name);

#endif

/* :global inside: one gl_server per node holds what global.erl keeps in
 * its #state{}, its process dictionary and its ETS tables; four kinds of
 * process act on it, as in global.erl:
 *   server.c    global_name_server: calls, casts and infos from peers, the
 *               per-node sync sessions (init_connect ... resolved);
 *   locker.c    the locker: sets the cluster lock {global, [L1, L2]} that
 *               a sync between two nodes runs under;
 *   resolver.c  one per sync: compares the name lists, resolves clashes;
 *   registrar.c register/unregister from C under {global, Registrar},
 *               and the processes that hold C's set_lock locks.
 * Everything here runs on the loop thread except the reads of `names`
 * under `lock` (whereis and names from any thread). */
#ifndef NODUS_CLUSTER_GLOBAL_INTERNAL_H
#define NODUS_CLUSTER_GLOBAL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/common/termmap.h"
#include "nodus/global.h"
#include "nodus/otp.h"
#include "nodus/service.h"

#define GL_VSN 8            /* global.erl's ?vsn */

/* Term helpers for building messages: an atom; a copy of t, or the atom
 * undefined where global.erl's get/1 would give it (t absent). */
static inline nodus_term gl_atom(const char *s) {
  nodus_term t = {0};
  (void)nodus_mk_atom(&t, s);
  return t;
}
static inline nodus_term gl_copy(const nodus_term *t) {
  nodus_term c = {0};
  if (t && t->type != NODUS_T_NONE) (void)nodus_copy(&c, t);
  else c = gl_atom("undefined");
  return c;
}
#define GL_POP_VSN 7        /* ?pop_vsn, ?pgpv_vsn */
#define GL_SERVER "global_name_server"

/* One registration: an ETS row of global_names, {Name, Pid, Method, Ref}. */
typedef struct gl_name {
  nodus_term name, pid, method, mref;
  /* CALLBACK: the C resolve function, on the node that registered it. */
  nodus_global_resolve_fn resolve;
  void *resolve_arg;
} gl_name;

/* A lock: global_locks' {ResourceId, LockRequesterId, [{Pid, Ref}]}. */
typedef struct gl_lock {
  nodus_term resource, requester;
  termvec pids, mrefs; /* holders, same index */
} gl_lock;

/* What global.erl keeps per remote node: the #state.known entries
 * (Node => Vsn, {pending, Node} => Vsn, {removing, Node}) and the sync
 * session in the process dictionary (sync_tag_my, sync_tag_his,
 * prot_vsn, wait_lock, save_ops, pre_connect, lock_id), and the resolver
 * of #state.resolvers. Terms are NONE when the key is absent. */
typedef enum { GL_WAIT_NONE, GL_WAIT_LOCK_IS_SET, GL_WAIT_EXCHANGE } gl_wait;

typedef struct gl_node {
  nodus_atom name;
  bool up;      /* connected (nodeup seen, no nodedown since) */
  bool known;   /* synced into the cluster's name space */
  int known_vsn;
  bool pending;
  int pending_vsn;
  bool removing;
  bool synced;
  nodus_term my_tag, his_tag; /* integers, or NONE */
  int prot_vsn;
  gl_wait wait_lock;
  nodus_term wait_names; /* GL_WAIT_EXCHANGE: the peer's name list */
  /* save_ops: our Ops (a list) or the peer's {resolved, HisKnown,
   * Names_ext, HisResolved} that came first. */
  nodus_term save_ops;
  nodus_term pre_connect; /* {Vsn, InitMsg, HisTag} */
  nodus_term lock_id;
  nodus_term resolver; /* pid, with resolver_tag, or NONE */
  nodus_term resolver_tag;
} gl_node;

typedef struct gl_server {
  nodus_node *node;
  nodus_atom self_node;
  nodus_proc *proc; /* global_name_server */
  nodus_term pid, locker, registrar;
  bool prevent_overlapping_partitions;
  bool trace; /* NODUS_GLOBAL_TRACE=1: every message logged at info */
  bool trace_names; /* NODUS_GLOBAL_TRACE=names: only table changes */

  /* Read from any thread under the read lock; written on the loop. */
  pthread_rwlock_t lock;
  termmap names; /* name -> gl_name */

  termmap names_by_mref; /* monitor ref -> gl_name */
  termmap names_by_pid;  /* pid -> how many names it has */
  termmap locks;         /* resource id -> gl_lock */
  termmap locks_by_mref; /* monitor ref -> gl_lock */
  nodus_term global_rid; /* the atom global, the cluster lock's resource */
  bool global_lock_down;

  gl_node **nodes;
  size_t n_nodes, cap_nodes;

  struct gl_sync *syncs; /* nodus_global_sync waiters (api.c) */
  termmap lost;    /* {NodeA, NodeB} -> {XCreation, OpId} */
  nodus_term creation_x; /* our lost_connection creation */
  int64_t next_tag;
  unsigned logged; /* bits: what was logged once */
} gl_server;

/* ---- server.c ----------------------------------------------------------- */
int gl_server_start(gl_server *g);
gl_node *gl_node_get(gl_server *g, nodus_atom name, bool create);
/* [node() | known] sorted as lists:max wants it: the boss is the last. */
nodus_atom gl_boss(gl_server *g);
size_t gl_known_count(gl_server *g);
/* The known nodes as a list of atoms (get_known). */
nodus_term gl_known_list(gl_server *g);
bool gl_is_known(gl_server *g, nodus_atom n);
/* gen_server:cast({global_name_server, Node}, Msg) from p; msg taken. */
void gl_cast(nodus_proc *p, nodus_atom node, nodus_term msg);
/* A message to {global_name_server, Node} only if we are connected. */
void gl_volatile_send(gl_server *g, nodus_proc *p, nodus_atom node,
                      nodus_term msg);
nodus_term gl_unique(gl_server *g);
void gl_trace(gl_server *g, const char *who, const nodus_term *msg);

/* ---- names.c: the table and the locks (ETS in global.erl) -------------- */
void gl_tables_init(gl_server *g);
void gl_tables_free(gl_server *g);
gl_name *gl_name_find(gl_server *g, const nodus_term *name);
/* ins_name: replaces whatever had the name; from is the caller's pid or
 * the node atom of a sync, extra its ExtraInfo (lock_still_set). */
void gl_name_insert(gl_server *g, const nodus_term *name,
                    const nodus_term *pid, const nodus_term *method,
                    const nodus_term *from, const nodus_term *extra);
void gl_name_delete(gl_server *g, const nodus_term *name);
void gl_name_down(gl_server *g, const nodus_term *mref);
/* where/1: the pid or NONE (a dead local pid is NONE). */
nodus_term gl_where(gl_server *g, const nodus_term *name);
/* get_names(): [{Name, Pid, Method}] */
nodus_term gl_name_list(gl_server *g);
bool gl_pid_has_name(gl_server *g, const nodus_term *pid);
/* Locks. can_set: the holders' requester matches or there is none. */
bool gl_lock_can_set(gl_server *g, const nodus_term *id);
/* The cluster lock {global, _} (global's ?GLOBAL_RID) is set here. */
bool gl_global_lock_set(gl_server *g);
bool gl_lock_set(gl_server *g, const nodus_term *id, const nodus_term *pid);
void gl_lock_del(gl_server *g, const nodus_term *id, const nodus_term *pid);
void gl_lock_down(gl_server *g, const nodus_term *mref);

/* ---- mcall.c: gen_server:multi_call from a process ---------------------- */
/* The call's monitor on one node's global_name_server. */
typedef struct gl_watch {
  nodus_atom node;
  nodus_term mref;
} gl_watch;

typedef struct gl_mcall {
  nodus_term tag; /* a ref; replies come as {{Tag, Node}, Reply} */
  size_t n, left;
  nodus_atom *nodes;
  bool *waiting;
  nodus_term *replies; /* reply NONE: bad node */
  gl_watch *watches;
  size_t n_watches, cap_watches;
} gl_mcall;
/* Sends request (borrowed) to global_name_server on every node of the
 * atom list `nodes`. With no node it is complete at once (returns 1). */
int gl_mcall_start(gl_mcall *mc, nodus_proc *self, const nodus_term *nodes,
                   const nodus_term *request);
/* A message for the call: returns 1 when the call is complete, 0 when it
 * was the call's but more are due, -1 when
 * it is not the call's. */
int gl_mcall_feed(gl_mcall *mc, nodus_proc *self, const nodus_term *msg);
bool gl_mcall_active(const gl_mcall *mc);
/* All replies true (set_lock's check_replies); the nodes that said true
 * as a list (for the del_lock that undoes a half-set lock). */
bool gl_mcall_all_true(const gl_mcall *mc, nodus_term *true_nodes);
/* Ends the call and its monitors (self NULL: the process is ending and
 * its monitors go with it). */
void gl_mcall_free(gl_mcall *mc, nodus_proc *self);

/* ---- locker.c ------------------------------------------------------------ */
int gl_locker_spawn(gl_server *g);

/* ---- resolver.c ---------------------------------------------------------- */
int gl_resolver_spawn(gl_server *g, nodus_atom node, const nodus_term *tag,
                      nodus_term *pid);
/* global:resolve_it(Method, Name, Pid1, Pid2) on this node: the winner
 * pid, or the atom none; *result owned. */
void gl_resolve_it(gl_server *g, nodus_proc *self, const nodus_term *method,
                   const nodus_term *name, const nodus_term *pid1,
                   const nodus_term *pid2, nodus_term *result);
/* The method term for a resolve choice: global:random_exit_name/3, ... */
int gl_method_term(nodus_global_method m, nodus_term *out);

/* ---- registrar.c --------------------------------------------------------- */
int gl_registrar_spawn(gl_server *g);

/* ---- api.c --------------------------------------------------------------- */
gl_server *gl_of(nodus_node *node);
/* node synced or went down: the sync waiters it completes are told. */
void gl_sync_note(gl_server *g, nodus_atom node);

#endif

/* The distributed supervisor inside: one process per member node
 * (registered nodus_dsup_<name>), loop-only state, and the few fields
 * other threads read under `lock`.
 *
 * Messages between members (all tuples, first element the tag):
 *   {dsup_hello, Pid, StartedMs, Specs, Owners, Reply, HbPort}  on start
 *                              and nodeup; Reply true asks for a hello
 *                              back; HbPort the detector's (0: none)
 *   {dsup_specs, Specs}        a change of specs (start/terminate_child)
 *   {dsup_running, Node, Load, [{Id, Epoch}]}  what a member runs now
 *   {dsup_bye, Node}           a member leaves (nodus_dsup_close)
 *   {dsup_lease, Node, Seq, [{Id, Epoch}]}     quorum: asks for votes
 *   {dsup_vote, Node, Seq, [{Id, Granted, MaxEpoch}]}
 *   {dsup_release, Node, [Id]} quorum: gives leases back
 *   {dsup_handoff_state, Id, State}  handoff.c
 * A spec travels as {Id, Kind, Args, Restart, GlobalName, Version,
 * Deleted}; the higher {Version, Node-of-writer} wins (last writer wins,
 * deletions as tombstones), so members converge whatever the order. */
#ifndef NODUS_CLUSTER_DSUP_INTERNAL_H
#define NODUS_CLUSTER_DSUP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nodus/dsup.h"

#define DSUP_MAX_MEMBERS 256

/* worker.c: a thread running jobs in order. */
typedef struct dsup_worker {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct dsup_job *queue;
  unsigned queued;
  bool quit, running;
} dsup_worker;
int dsup_worker_start(dsup_worker *w);
/* Queues run(arg); drop(arg) instead when it can't or never runs. */
int dsup_worker_post(dsup_worker *w, void (*run)(void *), void (*drop)(void *),
                     void *arg);
void dsup_worker_quit(dsup_worker *w); /* from the loop too */
void dsup_worker_stop(dsup_worker *w); /* joins: not from the loop */

typedef struct dsup_member {
  nodus_atom node;
  nodus_term pid;     /* its dsup process */
  int64_t started_ms; /* unix ms of its dsup start */
  unsigned load;
  int hb_port;          /* its detector's UDP port; 0: none */
  int64_t hb_heard_ns;  /* its last heartbeat; 0: never */
  char hb_ip[64];       /* its host's address, once looked up */
  bool hb_lookup;       /* a lookup is under way */
  int64_t hb_retry_ns;  /* a failed lookup: not again before */
} dsup_member;

/* A member's vote for one child's lease (quorum mode, as the granter). */
typedef struct dsup_grant {
  nodus_atom holder; /* NODUS_ATOM_EMPTY: nobody */
  int64_t expires_ns;
} dsup_grant;

/* One lease round of one child (quorum mode). */
#define DSUP_ROUNDS 8
typedef struct dsup_round {
  int64_t seq, sent_ns;
  uint64_t epoch; /* running epoch, or the proposal for a start */
  unsigned votes;
  bool stale; /* a voter knew a newer epoch */
} dsup_round;

typedef struct dsup_child {
  /* The replicated spec. */
  char *id, *kind, *global_name;
  nodus_term args;
  int restart;
  int64_t version;
  nodus_atom writer;
  bool deleted;

  /* Where it runs, as far as this node knows. */
  nodus_atom owner_seen; /* a member that said it runs it, or EMPTY */
  int64_t owner_hint_ns; /* owner_seen is a third member's hint since
                            then; 0: the owner's own word */
  uint64_t max_epoch;    /* the highest epoch heard of anywhere */

  /* This node's instance (pid/epoch also read by other threads). */
  nodus_term pid;     /* NONE: not running here */
  uint64_t epoch;     /* of the running instance */
  bool stopping;      /* an exit signal went out; its EXIT is awaited */
  int64_t restarts_ns[16]; /* recent local restarts, a ring */
  unsigned n_restarts;
  int64_t banned_until_ns; /* too many restarts: not here until then */
  int64_t register_asked_ns; /* when the registrar was last asked */
  /* Handoff: as the old owner (asked the instance, for `handoff_to`), and
   * as the new one (what the old instance handed over, NONE if nothing). */
  nodus_term handoff_ref;
  nodus_atom handoff_to;
  nodus_term handoff_state;

  /* Quorum mode, as requester: the last rounds (votes may come back
   * after the next round went out), the proposal for a start, the lease. */
  dsup_round rounds[DSUP_ROUNDS]; /* by seq % DSUP_ROUNDS */
  uint64_t proposal; /* the epoch asked for while not running; 0: none */
  int64_t lease_until_ns; /* valid while now < this */
  uint64_t lease_epoch;   /* the epoch the lease was granted for */
  /* As granter. */
  dsup_grant grant;
  /* Lease mode: a query about this child is on its way. */
  bool db_pending;
} dsup_child;

struct nodus_dsup {
  nodus_node *node;
  nodus_dsup_opts opts; /* kinds copied; name owned */
  char *name, *db_string;
  char reg_name[128]; /* nodus_dsup_<name> */
  nodus_atom reg_atom, self_node;
  int64_t started_ms, started_ns;
  unsigned epoch_tag; /* 0..999, from the node's name: see dsup_next_epoch */
  nodus_term pid;

  pthread_mutex_t lock; /* children's pid/epoch/lease for other threads */

  /* Loop thread only. */
  nodus_proc *proc;
  dsup_member members[DSUP_MAX_MEMBERS]; /* other nodes, sorted by name */
  size_t n_members;
  dsup_child **children;
  size_t n_children, cap_children;
  int64_t next_seq, lamport;
  unsigned lease_ms;
  bool closing;
  pthread_cond_t ended; /* signalled when the process has ended */
  bool proc_ended;
  unsigned logged;
  struct nodus_dsup *next_on_node; /* the service's list */
  struct dsup_detector *detector;   /* detector.c, loop only */
  int hb_port;
  struct dsup_service *svc;

  /* Global names: registration blocks, so a thread of ours does it. */
  dsup_worker registrar; /* :global registrations block */
  /* Lease mode: a worker with one connection (its thread only). */
  dsup_worker db;
  struct pg_conn *db_conn;
  char *db_last_error;
  char db_holder[320];
};

/* clock.c */
int64_t dsup_now_ns(void);
int64_t dsup_unix_ms(void);

/* specs.c: the replicated table. */
dsup_child *dsup_child_find(nodus_dsup *d, const char *id);
int dsup_child_from_spec(nodus_dsup *d, const nodus_dsup_child_spec *spec,
                         dsup_child **out);
nodus_term dsup_specs_term(nodus_dsup *d);
/* Merges what a member sent; true when anything changed. */
bool dsup_specs_merge(nodus_dsup *d, const nodus_term *specs);
void dsup_child_free(dsup_child *c);

/* members.c */
void dsup_member_up(nodus_dsup *d, nodus_atom node, const nodus_term *pid,
                    int64_t started_ms, int hb_port);
void dsup_member_down(nodus_dsup *d, nodus_atom node);
dsup_member *dsup_member_get(nodus_dsup *d, nodus_atom node);
size_t dsup_view_size(const nodus_dsup *d); /* members + self */
void dsup_send_to(nodus_dsup *d, const nodus_term *pid, nodus_term msg);
void dsup_broadcast(nodus_dsup *d, nodus_term msg);
void dsup_send_hello(nodus_dsup *d, nodus_atom node, bool reply);
nodus_term dsup_members_term(const nodus_dsup *d); /* self first */

/* placement.c: the node that should run c in this node's view. */
nodus_atom dsup_place(nodus_dsup *d, const dsup_child *c);

/* lease.c (quorum mode) */
void dsup_lease_round(nodus_dsup *d);
void dsup_on_lease(nodus_dsup *d, const nodus_term *msg);
void dsup_on_vote(nodus_dsup *d, const nodus_term *msg);
void dsup_on_release(nodus_dsup *d, const nodus_term *msg);
void dsup_lease_release(nodus_dsup *d, dsup_child *c);
bool dsup_lease_valid(const dsup_child *c, int64_t now_ns);
unsigned dsup_quorum(const nodus_dsup *d);

/* lease_db.c (lease mode) */
int dsup_db_start(nodus_dsup *d);
void dsup_db_stop(nodus_dsup *d);
void dsup_db_round(nodus_dsup *d);
void dsup_db_release(nodus_dsup *d, dsup_child *c);
void dsup_on_db(nodus_dsup *d, const nodus_term *msg);

/* instances.c: starting, stopping, restarting this node's instances. */
void dsup_instance_start(nodus_dsup *d, dsup_child *c, uint64_t epoch);
void dsup_instance_stop(nodus_dsup *d, dsup_child *c, nodus_term reason);
const nodus_dsup_kind *dsup_kind_of(nodus_dsup *d, const char *name);
/* An 'EXIT' from a pid: true when it was one of ours. */
bool dsup_instance_exited(nodus_dsup *d, const nodus_term *pid,
                          const nodus_term *reason);
uint64_t dsup_next_epoch(const nodus_dsup *d, const dsup_child *c);
void dsup_broadcast_running(nodus_dsup *d);
nodus_term dsup_running_term(const nodus_dsup *d); /* [{Id, Epoch}] */
nodus_term dsup_owners_term(const nodus_dsup *d); /* [{Id, Epoch, Node}] */
/* [{Id, Node | undefined, Epoch, Pid | undefined}] */
nodus_term dsup_children_term(const nodus_dsup *d);
unsigned dsup_local_load(const nodus_dsup *d);

/* detector.c: UDP heartbeats between members (opts.detector_ms). */
typedef struct dsup_detector dsup_detector;
int dsup_detector_start(nodus_dsup *d); /* on the loop */
void dsup_detector_stop(nodus_dsup *d);

/* handoff.c: moving an instance with its state. */
bool dsup_handoff_begin(nodus_dsup *d, dsup_child *c, nodus_atom to);
void dsup_on_handoff_reply(nodus_dsup *d, const nodus_term *msg);
void dsup_on_handoff_timeout(nodus_dsup *d, const nodus_term *msg);
void dsup_on_handoff_state(nodus_dsup *d, const nodus_term *msg);
dsup_child *dsup_child_by_idbin(nodus_dsup *d, const nodus_term *idbin);

/* registrar.c: :global names of the running instances. */
int dsup_registrar_start(nodus_dsup *d);
void dsup_registrar_check(nodus_dsup *d);

/* service.c: the node's dsups, for nodus:dsup_children/0. */
void dsup_service_add(nodus_dsup *d);
void dsup_service_remove(nodus_dsup *d);

/* server.c */
void dsup_evaluate(nodus_dsup *d);
void dsup_give_back(nodus_dsup *d, dsup_child *c);
/* Closing, once no instance is left: bye to the members, the process ends. */
void dsup_close_finish(nodus_dsup *d);
extern const nodus_proc_spec dsup_proc_spec;

#endif

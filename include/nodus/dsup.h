/* nodus — a distributed supervisor: children that run on one node of the
 * cluster at a time, moved when their node dies or leaves.
 *
 * Members are the nodes that run a dsup of the same name. Child specs are
 * replicated to every member (nodus_dsup_start_child on any member adds
 * one everywhere); each child runs on one member, chosen by a placement
 * over the members this node sees; it restarts on its node as a local
 * supervisor would (restart type, intensity), and elsewhere when its node
 * goes. A singleton is the one-child case, usually with a :global name.
 *
 * Every start of a child anywhere gets a fencing epoch, a number greater
 * than every epoch that child had before: a side effect tagged with it
 * can be refused when a newer one exists (UPDATE ... WHERE epoch <= $1).
 *
 * Modes, per supervisor (the guarantee in one sentence each):
 *
 *   availability  each connected group of members runs every child once:
 *                 during a partition each side may run its own instance;
 *                 after the heal all but the placement's choice stop, told
 *                 why ({shutdown, {dsup_conflict, Winner}}), and the
 *                 choice restarts with an epoch above every side's
 *                 ({shutdown, stale_epoch}), so fencing keeps working.
 *   quorum        never two instances at once, under partitions, kills and
 *                 pauses: an instance runs only while its node holds a
 *                 lease granted by a majority (`quorum`) of the members,
 *                 and a member grants a child's lease to one node at a
 *                 time; a minority side runs nothing.
 *
 * The quorum guarantee's assumptions: clocks (CLOCK_MONOTONIC) of the
 * members run at the same rate within 1%; a child makes its side effects
 * only after nodus_dsup_valid() said yes, and is not paused between that
 * check and the effect for longer than the margin (lease_ms / 10); a
 * restarted member grants nothing for lease_ms after it starts (it has
 * forgotten its promises). Nothing depends on net_ticktime: a lost or
 * paused owner's lease runs out on its own clock, and the other members'
 * promises to it run out on theirs, later. Failover in quorum and lease
 * modes takes up to lease_ms after the owner is lost; in availability mode
 * it starts as soon as the nodedown arrives. Lease mode's local check
 * (nodus_dsup_valid) rests on the same clock assumptions; its fencing
 * does not: the database orders the epochs.
 *
 * Gating (story 000: "only when the node is part of a cluster"): nothing
 * starts while this node sees fewer than min_nodes members (itself
 * included), and in quorum mode nothing runs without a quorum.
 *
 * Threads: every call is thread-safe; nodus_dsup_valid,
 * nodus_dsup_epoch, nodus_dsup_members and nodus_dsup_which_children may
 * be called from a handler (the child's own), the others must not be
 * (they wait for the supervisor's process).
 */
#ifndef NODUS_DSUP_H
#define NODUS_DSUP_H

#include <stdint.h>

#include "nodus/node.h"
#include "nodus/supervisor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_dsup nodus_dsup;

enum nodus_dsup_mode {
  NODUS_DSUP_AVAILABILITY = 0,
  NODUS_DSUP_QUORUM,
  NODUS_DSUP_LEASE,
};

enum nodus_dsup_placement {
  NODUS_DSUP_HASH = 0,     /* rendezvous hash of (child id, node) */
  NODUS_DSUP_OLDEST,       /* the member that started first */
  NODUS_DSUP_LEAST_LOADED, /* the member running fewest children */
  NODUS_DSUP_CALLBACK,     /* opts.place */
};

/* What a child's start is handed. */
typedef struct nodus_dsup_start_info {
  nodus_dsup *dsup;        /* for nodus_dsup_valid from the child */
  const char *id;
  uint64_t epoch;          /* this start's fencing epoch */
  const nodus_term *args;  /* the spec's args (borrowed) */
  /* The state the previous instance handed over (a kind with handoff),
   * borrowed for the call; NULL after a crash, a loss or a first start. */
  const nodus_term *handoff;
} nodus_dsup_start_info;

/* Starts one instance: spawn a process linked to `dsup` and give its pid
 * (nodus_spawn_from(dsup, &spec, true, pid), nodus_gen_server_start_link,
 * ...). Runs on the loop as the supervisor's process. 0 with *pid set, or
 * a negative code (a failed start counts as a restart). */
typedef int (*nodus_dsup_start_fn)(nodus_proc *dsup,
                                   const nodus_dsup_start_info *info,
                                   void *arg, nodus_term *pid);

/* A kind of child this node can start. Every member should know the same
 * kinds: a member asked to run a child of a kind it lacks counts a failed
 * start, and after `intensity` of them the child moves on. */
typedef struct nodus_dsup_kind {
  const char *name;
  nodus_dsup_start_fn start;
  void *arg;
  /* Handoff, as Swarm's: when an instance moves because the members
   * changed (a node joined, this one leaves with nodus_dsup_close), never
   * after a crash or a loss, it first gets {dsup_begin_handoff, From,
   * Ref} and may answer From with {dsup_handoff, Ref, State}; the new
   * instance gets State in its start info. Without an answer within
   * handoff_ms it is stopped all the same. */
  bool handoff;
} nodus_dsup_kind;

typedef struct nodus_dsup_child_spec {
  const char *id;          /* unique in the supervisor */
  const char *kind;        /* one of the members' kinds */
  const nodus_term *args;  /* copied; NULL: [] */
  int restart;             /* enum nodus_restart (supervisor.h) */
  /* Optional: a :global name the running instance is registered under
   * (nodus/global.h), so Elixir can GenServer.call({:global, Name}, ...).
   * It follows the instance; during an availability-mode partition each
   * side's instance holds it on its side. */
  const char *global_name;
} nodus_dsup_child_spec;

/* A member as placement sees it. */
typedef struct nodus_dsup_member {
  nodus_atom node;
  int64_t started_ms; /* when its dsup started (unix ms) */
  unsigned load;      /* children it runs */
} nodus_dsup_member;

/* The C callback placement: returns the index in members[0..n) of the
 * node that should run child `id`. Must give the same answer on every
 * member for the same inputs (members come sorted by node name). */
typedef size_t (*nodus_dsup_place_fn)(const char *id,
                                      const nodus_dsup_member *members,
                                      size_t n, void *arg);

typedef struct nodus_dsup_opts {
  const char *name;  /* the supervisor's name, the same on every member */
  int mode;          /* enum nodus_dsup_mode */
  int placement;     /* enum nodus_dsup_placement */
  nodus_dsup_place_fn place;
  void *place_arg;
  const nodus_dsup_kind *kinds;
  size_t n_kinds;
  /* Start children only while this node sees at least min_nodes members,
   * itself included (0 or 1: alone is enough). */
  unsigned min_nodes;
  /* Quorum mode: the votes a lease needs, itself included. 0: a majority
   * of cluster_size. */
  unsigned quorum;
  unsigned cluster_size; /* quorum mode, with quorum 0: required */
  unsigned lease_ms;     /* quorum and lease modes: 0 = 2000 */
  /* Lease mode: a libpq connection string (key=value or URI). */
  const char *db;
  /* Local restarts: more than `intensity` in `period_ms` and the child
   * leaves this node for period_ms (it moves to another member). Both 0:
   * 3 in 5000 ms. */
  int intensity;
  int period_ms;
  unsigned handoff_ms; /* 0: 1000 */
  /* The failure detector, opt-in: members send each other a UDP
   * heartbeat every detector_ms / 10, and one silent for detector_ms (a
   * paused or unreachable node) is declared down: this node disconnects
   * it (nodedown, reason disconnect) and moves its children, long before
   * net_ticktime would. Members' names give their addresses (a host name
   * is looked up). 0: off (losses are what the distribution's tick says,
   * as on BEAM); else >= 100. */
  unsigned detector_ms;
} nodus_dsup_opts;

/* Starts this node's member of the supervisor `opts->name` (its process
 * is registered locally as nodus_dsup_<name>) and finds the other members
 * among the connected nodes, now and on every nodeup. */
int nodus_dsup_start(nodus_node *node, const nodus_dsup_opts *opts,
                     nodus_dsup **dsup);
/* Leaves: this node's instances move to the other members (handing
 * their state over when their kind does handoff) and stop, its leases are
 * given back so the moves happen at once, and the handle is freed. It
 * needs the node's loop running: call it before nodus_node_stop and
 * nodus_node_close, so not after nodus_node_run_until_signal (which stops
 * the loop before it returns: await the signal yourself, as
 * examples/singleton_worker.c does). On a stopped or closed node it only
 * frees, and the other members wait out this node's leases. */
void nodus_dsup_close(nodus_dsup *dsup);

/* Adds a child on every member (replicated); the same spec again is a
 * no-op, another spec under a used id NODUS_EEXIST. */
int nodus_dsup_start_child(nodus_dsup *dsup,
                           const nodus_dsup_child_spec *spec);
/* Removes a child everywhere (its instance stops). NODUS_ENOTFOUND. */
int nodus_dsup_terminate_child(nodus_dsup *dsup, const char *id);

/* True when this node runs child `id` with this epoch and, in quorum
 * mode, still holds its lease: what a child asks before a side effect. */
bool nodus_dsup_valid(nodus_dsup *dsup, const char *id, uint64_t epoch);
/* The epoch of the instance of `id` this node runs: 0 and *epoch, or
 * NODUS_ENOTFOUND when it runs none. */
int nodus_dsup_epoch(nodus_dsup *dsup, const char *id, uint64_t *epoch);

/* The children as a list of {Id, Node | undefined, Epoch, Pid | undefined}
 * (Node: where this node believes it runs; Pid: only for local ones),
 * owned by the caller. */
int nodus_dsup_which_children(nodus_dsup *dsup, nodus_term *out);
/* The members this node sees, itself included: a list of node atoms. */
int nodus_dsup_members(nodus_dsup *dsup, nodus_term *out);

#ifdef __cplusplus
}
#endif
#endif

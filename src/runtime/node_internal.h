/* The runtime's shared structures: the node, processes, links, monitors.
 * Everything here is touched on the loop thread only, except what the
 * inbox lock guards. */
#ifndef NODUS_RT_NODE_INTERNAL_H
#define NODUS_RT_NODE_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <uv.h>

#include "distribution/control.h"
#include "distribution/dist_flags.h"
#include "distribution/peers.h"
#include "nodus/node.h"
#include "term/idmap.h"

typedef struct msg_item {
  struct msg_item *next;
  nodus_term msg;
} msg_item;

typedef struct msg_queue {
  msg_item *head, *tail;
  size_t len;
} msg_queue;

void msgq_push(msg_queue *q, msg_item *m);
msg_item *msgq_pop(msg_queue *q);
void msgq_clear(msg_queue *q);

/* A link to another process. Links are symmetric; the unlink id is the
 * OTP 26 protocol's (0 = active, else we sent UNLINK_ID(id) and wait for
 * its ack, ignoring exit signals meanwhile). */
typedef struct rt_link {
  struct rt_link *next;
  nodus_term pid;
  uint64_t unlinking;
} rt_link;

/* A monitor, from the watcher's side (out) or the target's side (in). */
typedef struct rt_monitor {
  struct rt_monitor *next;
  nodus_term ref;
  nodus_term other;   /* out: the target pid or name; in: the watcher pid */
  nodus_atom node;    /* node of `other` */
  bool by_name;       /* out: target was a name ({Name, Node} in DOWN) */
  nodus_atom name;    /* the name when by_name */
} rt_monitor;

typedef struct rt_node_watch {
  struct rt_node_watch *next;
  nodus_atom node; /* NODUS_ATOM_EMPTY = all nodes */
} rt_node_watch;

typedef struct rt_timer rt_timer;

struct nodus_proc {
  nodus_node *node;
  uint32_t id;
  nodus_term pid;
  nodus_proc_spec spec;
  msg_queue queue;
  struct nodus_proc *run_next; /* in the node's run queue */
  bool queued, running, exiting, dead;
  bool start_pending; /* spec.on_start has not run yet */
  nodus_term exit_reason;
  rt_link *links;
  rt_monitor *mons_out, *mons_in;
  rt_node_watch *node_watches;
  rt_timer *timers;
  nodus_atom reg_name; /* NODUS_ATOM_EMPTY: none */
  struct rt_alias *aliases; /* refs that deliver to this process */
  nodus_mailbox *mailbox; /* set for mailbox processes */
  struct rt_spawn_req *spawns_pending; /* spawn.c: awaiting SPAWN_REPLY */
};

/* The runtime's part of a peer node: the user area of its entry in the
 * peer table (distribution/peers.h), zeroed when the entry is made, set
 * up when the runtime first meets it (peer.c) and let go when it leaves. */
typedef struct rt_peer {
  nodus_atom name;
  struct nodus_node *node;
  dist_peer *dist;
  uint64_t next_unlink_id;
  /* ctlcache.c: the last SEND_SENDER control sent, decoded and encoded,
   * and the last send control received, as its bytes and decoded (both
   * messages without payload, owning their controls). */
  dist_ctl_msg tx_msg;
  uint8_t *tx_bytes;
  size_t tx_len;
  dist_ctl_msg rx_msg;
  bool rx_versioned;
  size_t rx_len; /* 0: nothing cached */
  uint8_t rx_bytes[160];
  /* spawn.c: requests of processes that ended before the reply */
  struct rt_spawn_req *spawn_orphans;
} rt_peer;

/* service.c: one entry of the node's service table. */
typedef struct rt_service_slot {
  const struct nodus_service *service;
  void *state;
  bool started;
} rt_service_slot;

typedef struct rt_spawn_entry {
  struct rt_spawn_entry *next;
  nodus_atom module, function;
  nodus_spawn_fn fn;
} rt_spawn_entry;

/* Work posted from other threads: run fn(node, arg) on the loop. */
typedef struct rt_call {
  struct rt_call *next;
  void (*fn)(nodus_node *node, void *arg);
  void *arg;
  bool sync, done;
} rt_call;

struct nodus_node {
  uv_loop_t loop;
  nodus_atom name;
  char name_text[256];
  char alive[256]; /* the part before '@' */
  char host[256];
  char cookie[256];
  uint32_t creation;
  nodus_node_opts opts;
  uint64_t dflags;

  dist_peers *peers; /* peer.c: connections to other nodes */
  int port;
  struct epmd_op *epmd_reg;
  struct epmd_server *epmd_srv;
  struct reg_wait *epmd_wait; /* freed at close */

  idmap procs;    /* pid id -> nodus_proc */
  idmap names;    /* atom -> nodus_proc */
  idmap aliases;  /* rt_alias_key(ref) -> rt_alias */
  uint32_t next_pid_id;
  uint64_t ref_counter;
  pthread_mutex_t ref_lock;
  nodus_proc *run_head, *run_tail;
  uv_idle_t runner;
  uv_idle_t spinner;   /* polls on for spin_ns after the run queue ran */
  uint64_t spin_ns;    /* 0: never spin */
  uint64_t last_run_ns;
  rt_spawn_entry *spawns;
  rt_service_slot *services; /* service.c: fixed at init */
  nodus_node_events *node_events; /* node_events.c */
  bool node_events_emitting;
  size_t n_services;
  nodus_proc *sys; /* sender of REG_SEND/ALIAS_SEND made outside processes */

  /* Cross-thread inbox. */
  pthread_mutex_t inbox_lock;
  pthread_cond_t inbox_cond;
  rt_call *inbox_head, *inbox_tail;
  uv_async_t wakeup;

  pthread_t thread, loop_thread;
  bool has_thread, running, stopping, closing;
  unsigned logged_unknown; /* bitmask of unknown-traffic kinds logged */
  bool atoms_warned;       /* atom_watch.c logged "near full" */
};

/* node.c: ends every process and connection and closes the handles, so
 * uv_run returns (on the loop, or at close). */
void rt_node_shutdown(nodus_node *node);

/* inbox.c: calls from other threads. */
int rt_inbox_post(nodus_node *node, rt_call *c);
void rt_inbox_on_wakeup(uv_async_t *h);
void rt_inbox_release(nodus_node *node);
bool rt_on_loop(const nodus_node *node);
/* Loop-only code says so; checked in builds without NDEBUG (the
 * sanitizer build). */
#define RT_ASSERT_LOOP(node) assert(rt_on_loop(node))
/* Runs fn on the loop thread: directly when already there, else posts it
 * and waits for it to finish. */
void rt_call_sync(nodus_node *node, void (*fn)(nodus_node *, void *),
                  void *arg);
/* Posts fn to the loop without waiting; fn owns arg. */
int rt_call_async(nodus_node *node, void (*fn)(nodus_node *, void *),
                  void *arg);
/* log.c */
void rt_vlog(nodus_node *node, int level, const char *component,
             const char *fmt, va_list ap);
/* The one log entry: nodus_log (node.h), by its runtime name. */
#define rt_log nodus_log
/* term_helpers.c (with rt_atom, rt_tuple, rt_copy below) */
bool rt_is_local_pid(const nodus_node *node, const nodus_term *pid);
bool rt_is_local_ref(const nodus_node *node, const nodus_term *ref);
nodus_atom rt_node_of(const nodus_term *pid_or_ref);

/* proc.c */
nodus_proc *rt_proc_by_pid(nodus_node *node, const nodus_term *pid);
nodus_proc *rt_proc_by_name(nodus_node *node, nodus_atom name);
int rt_spawn(nodus_node *node, const nodus_proc_spec *spec, nodus_proc **out);
/* Queues msg (taken) for p and schedules it. */
void rt_deliver(nodus_proc *p, nodus_term msg);
/* Ends p with reason (copied); handled now or when its handler returns. */
void rt_proc_exit(nodus_proc *p, const nodus_term *reason);
void rt_run_queue(nodus_node *node);
void rt_procs_close_all(nodus_node *node);

/* send.c: routing. `from` may be NULL (no sender). msg is taken. */
int rt_send(nodus_node *node, nodus_proc *from, const nodus_term *to,
            nodus_term msg);

/* signal.c: links, monitors, exit signals. */
void rt_exit_signal_local(nodus_proc *to, const nodus_term *from,
                          const nodus_term *reason, bool from_link);
void rt_link_add(nodus_proc *p, const nodus_term *pid);
bool rt_link_remove(nodus_proc *p, const nodus_term *pid);
rt_link *rt_link_find(nodus_proc *p, const nodus_term *pid);
void rt_proc_signal_exit(nodus_proc *p); /* links + monitors on exit */
void rt_down_message(nodus_proc *watcher, const nodus_term *ref,
                     const nodus_term *what, const nodus_term *reason);
/* A peer went down (was_up: it had been up; reason as BEAM's
 * nodedown_reason) or came up; hidden: the peer is a hidden node. */
void rt_node_down_signals(nodus_node *node, nodus_atom peer, bool was_up,
                          bool hidden, nodus_atom reason);
void rt_node_up_signals(nodus_node *node, nodus_atom peer, bool hidden);
rt_monitor *rt_monitor_take(rt_monitor **list, const nodus_term *ref);
void rt_monitor_free(rt_monitor *m);
/* The exit signal of a broken link from a local pid to a remote one. */
void rt_link_exit_remote(nodus_node *node, const nodus_term *from,
                         const nodus_term *to, const nodus_term *reason);

/* ctlcache.c: fast paths for message streams (see there). send: 1 when
 * it sent msg (taken), 0 when the caller must (msg untouched), <0 error
 * (msg taken). receive: true when it dispatched the message. learn:
 * remember a fully decoded message's control for the next ones. */
int rt_ctlcache_send(rt_peer *p, const nodus_term *from, const nodus_term *to,
                     nodus_term *msg);
bool rt_ctlcache_receive(nodus_node *node, rt_peer *p, const uint8_t *data,
                         size_t len, bool versioned);
void rt_ctlcache_learn(rt_peer *p, const dist_ctl_msg *msg,
                       const uint8_t *data, size_t len, bool versioned);
void rt_ctlcache_free(rt_peer *p);

/* peer.c: the runtime's side of the peer table (distribution/peers.h).
 * start makes the table and listens; get is dist_peers_get with the
 * runtime's part; send and flags are dist_peers_send and _flags. */
int rt_peers_start(nodus_node *node, const char *addr, int port);
rt_peer *rt_peer_get(nodus_node *node, nodus_atom name, bool connect);
/* Sends a control tuple (taken) and optional payload (taken; NONE for
 * none) to a node, connecting if needed. */
int rt_peer_send(nodus_node *node, nodus_atom peer, nodus_term control,
                 nodus_term payload);
uint64_t rt_peer_flags(nodus_node *node, nodus_atom peer);

/* node_epmd.c */
int rt_epmd_start(nodus_node *node);
void rt_epmd_close(nodus_node *node);

/* inbound.c: a control message from a peer. */
void rt_dispatch(nodus_node *node, rt_peer *peer, dist_ctl_msg *msg);

/* spawn.c: spawn_request, served (SPAWN_REQUEST) and asked (SPAWN_REPLY).
 * reqs_exit: p ends, its requests become the peers' orphans; node_down:
 * p's requests to peer answer noconnection; orphans_free: the peer goes. */
typedef struct rt_spawn_req rt_spawn_req;
void rt_spawn_request(nodus_node *node, rt_peer *peer, dist_ctl_msg *m);
void rt_spawn_reply(nodus_node *node, rt_peer *peer, dist_ctl_msg *m);
void rt_spawn_reqs_exit(nodus_proc *p);
void rt_spawn_reqs_node_down(nodus_proc *p, nodus_atom peer);
void rt_spawn_orphans_free(rt_peer *peer);

/* alias.c: process aliases (OTP 24), local references that deliver to a
 * process until it drops them or exits. */
typedef struct rt_alias {
  struct rt_alias *next; /* in the owner's list */
  nodus_term ref;
  nodus_proc *owner;
} rt_alias;
nodus_proc *rt_alias_owner(nodus_node *node, const nodus_term *ref);
void rt_aliases_drop_all(nodus_proc *p);

/* node_events.c */
void rt_node_events_emit(nodus_node *node, const nodus_node_event *ev);
/* To the subscribers with NODUS_NODES_DISCOVERY: callbacks get ev,
 * processes a copy of msg (taken). */
void rt_node_events_emit_discovery(nodus_node *node, const nodus_node_event *ev,
                                   nodus_term msg);
void rt_node_events_proc_exit(nodus_proc *p);
void rt_node_events_close(nodus_node *node);

/* timer.c */
void rt_timers_cancel_all(nodus_proc *p);

/* service.c: the node's service table (nodus/service.h). set copies the
 * NULL-terminated table; start runs each start on the loop at the end of
 * init; stop runs the stops in reverse at close, after the processes are
 * gone, and frees the table. */
int rt_services_set(nodus_node *node, const struct nodus_service *const *table);
int rt_services_start(nodus_node *node);
void rt_services_stop(nodus_node *node);

/* node.c: makes the node with this service table
 * (nodus_node_init picks it: services/node_init.c). */
int rt_node_init(nodus_node **node, const nodus_node_opts *opts,
                 const struct nodus_service *const *services);

/* sysproc.c */
int rt_sysprocs_start(nodus_node *node);
bool rt_log_once(nodus_node *node, unsigned kind);
/* atom_watch.c: logs once when the atom table nears the part peers'
 * terms may use. Cheap: call it per message. */
void rt_atom_watch(nodus_node *node);
/* known_atoms.c: makes the atoms BEAM's services send a node, before any
 * peer can fill the table. */
int rt_known_atoms_make(void);

/* mailbox.c */
void rt_mailbox_proc_exit(nodus_mailbox *mb);

/* Small term helpers. */
nodus_term rt_atom(const char *s);
nodus_term rt_tuple(size_t n, ...); /* takes the terms */
nodus_term rt_copy(const nodus_term *t);

#endif

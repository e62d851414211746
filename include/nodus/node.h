/* nodus — a node of an Erlang cluster, and its processes.
 *
 * A node owns one libuv event loop on one thread. Processes are
 * run-to-completion message handlers on that loop: a handler never blocks.
 * Sending is thread-safe (nodus_send from any thread); a thread that wants
 * straight-line code opens a nodus_mailbox and blocks on it.
 *
 * Calls taking a `nodus_proc *self` must be made from that process's
 * handler (on the loop thread). Calls taking a `nodus_node *` are
 * thread-safe unless said otherwise.
 */
#ifndef NODUS_NODE_H
#define NODUS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "nodus/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nodus_node nodus_node;
typedef struct nodus_proc nodus_proc;
typedef struct nodus_mailbox nodus_mailbox;

/* ---- Logging ----------------------------------------------------------- */

enum { NODUS_LOG_ERROR, NODUS_LOG_WARN, NODUS_LOG_INFO, NODUS_LOG_DEBUG };

/* One line per event. The default hook prints WARN and worse to stderr
 * (more with NODUS_LOG=info|debug in the environment). */
typedef void (*nodus_log_fn)(void *arg, int level, const char *node,
                             const char *component, const char *msg);
/* Logs one line through the node's hook (services layered on the
 * runtime use it, so their lines go where the node's go). */
void nodus_log(nodus_node *node, int level, const char *component,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- The node ---------------------------------------------------------- */

#define NODUS_SPIN_DEFAULT_US 50

enum nodus_epmd_mode {
  NODUS_EPMD_AUTO = 0, /* use the epmd on epmd_port; start an embedded one
                          there if none answers */
  NODUS_EPMD_SYSTEM,   /* use the epmd on epmd_port; fail if none */
  NODUS_EPMD_EMBEDDED, /* run our own epmd server on epmd_port */
  NODUS_EPMD_NONE,     /* register nowhere; peers connect to host:port */
};

typedef struct nodus_node_opts {
  const char *name;   /* "name@host" or "name" (short: this host's name) */
  const char *cookie; /* NULL: read ~/.erlang.cookie as erl does */
  const char *listen_address; /* default "0.0.0.0" */
  int port;                   /* 0: any free port */
  int epmd_mode;              /* enum nodus_epmd_mode */
  int epmd_port;              /* 0: $ERL_EPMD_PORT or 4369 */
  unsigned net_ticktime_ms;   /* 0: 60000, as BEAM */
  bool hidden;                /* not in the peers' nodes() */
  /* After the processes have run, keep polling this long (µs) for more
   * work before the loop sleeps: a sleeping loop thread costs each hop a
   * kernel wake-up (tens of µs), a spinning one burns CPU meanwhile, as
   * BEAM's schedulers do. 0: NODUS_SPIN_DEFAULT_US; negative: never. */
  int spin_us;
  /* What peers may send (README, "Limits"); 0: the default. A message
   * over one of them is dropped with a logged reason (rate-limited), and
   * its connection stays up. */
  size_t max_message;   /* bytes of one message: 256 MiB */
  size_t max_new_atoms; /* atoms one message may create: 131,072 */
  unsigned max_fragmented;       /* messages arriving in fragments at
                                    once, per connection: 64 */
  unsigned max_fragmented_total; /* the same over all connections: 1,024 */
  size_t max_fragment_bytes;     /* bytes those hold, over all
                                    connections: 1 GiB */
  unsigned fragment_timeout_ms;  /* longest wait for a message's next
                                    fragment (checked at each frame and
                                    tick): 60,000 */
  nodus_log_fn log;           /* NULL: the default hook */
  void *log_arg;
  /* The services the node runs, NULL-terminated (nodus/service.h);
   * NULL: nodus_default_services (net_kernel, rpc, erpc, introspect,
   * pg). */
  const struct nodus_service *const *services;
} nodus_node_opts;

/* Creates a node: resolves the name, reads the cookie, listens, registers
 * with epmd, starts its services. The loop is not running yet. */
int nodus_node_init(const nodus_node_opts *opts, nodus_node **node);
/* Runs the loop on the calling thread until nodus_node_stop(). */
int nodus_node_run(nodus_node *node);
/* Runs the loop on a thread of its own. */
int nodus_node_start(nodus_node *node);
/* Asks the loop to stop (any thread); joins the thread nodus_node_start
 * made when called from another thread. */
void nodus_node_stop(nodus_node *node);
/* Frees the node; stops it first if it runs. Not from a handler. */
void nodus_node_close(nodus_node *node);

nodus_atom nodus_node_name(const nodus_node *node);
/* The cookie the node authenticates with (erlang:get_cookie/0). */
const char *nodus_node_cookie(const nodus_node *node);
uint32_t nodus_node_creation(const nodus_node *node);
int nodus_node_port(const nodus_node *node); /* listen port */
/* Connected node names as a list of atoms (owned by the caller). */
int nodus_node_list(nodus_node *node, nodus_term *out);
/* Connects to a node if not connected; completes asynchronously (use
 * nodus_node_ping or nodus_node_events_subscribe to learn the outcome).
 * NODUS_EBADNAME for a name that is not name@host, NODUS_ENOCONN when the
 * attempt could not start, NODUS_ESTATE once the node is closing; 0 for
 * this node itself. Thread-safe. */
int nodus_node_connect(nodus_node *node, nodus_atom peer);
/* Dial `peer` at this port instead of asking epmd (port 0: ask epmd
 * again). What a node without epmd (NODUS_EPMD_NONE) uses to reach
 * others. Thread-safe. */
int nodus_node_set_peer_port(nodus_node *node, nodus_atom peer, int port);
/* erlang:disconnect_node/1: drops the connection to peer (its nodedown
 * reason is disconnect). 0 also when it was not connected. Thread-safe. */
int nodus_node_disconnect(nodus_node *node, nodus_atom peer);
/* net_adm:ping from C: 0 for pong; for pang, NODUS_EAUTH when the node
 * answered but the handshake failed on the cookie (ours differs from
 * its), else NODUS_ENOCONN (down, unreachable, or it refused us for
 * another reason). Blocks the calling thread (not the loop thread) up to
 * timeout_ms. */
int nodus_node_ping(nodus_node *node, nodus_atom peer, int timeout_ms);

/* Work on the loop thread, for services built on the runtime (pg, pub/sub)
 * whose state is touched only there. Both run fn(node, arg) at once when
 * called on the loop thread (from a handler). nodus_node_call otherwise
 * posts it and waits until it ran; nodus_node_post posts it and returns
 * (fn owns arg). NODUS_ESTATE when the node is closing: fn did not run. */
typedef void (*nodus_loop_fn)(nodus_node *node, void *arg);
int nodus_node_call(nodus_node *node, nodus_loop_fn fn, void *arg);
int nodus_node_post(nodus_node *node, nodus_loop_fn fn, void *arg);

/* ---- Processes --------------------------------------------------------- */

/* A message handler. `msg` is borrowed for the call; nodus_copy() what you
 * keep. Exit signals arrive as {'EXIT', From, Reason} when trapping exits,
 * monitors as {'DOWN', Ref, process, Pid, Reason}. */
typedef void (*nodus_handler)(nodus_proc *self, const nodus_term *msg);

typedef struct nodus_proc_spec {
  nodus_handler on_message;
  /* Called once as the process ends, with the exit reason (borrowed). */
  void (*on_exit)(nodus_proc *self, const nodus_term *reason);
  void *state;               /* user data, nodus_proc_state() */
  const char *register_name; /* optional local name */
  bool trap_exit;
  /* Optional: runs once on the loop before the first message, after the
   * spawner is done with the new process (a remote spawner has its
   * SPAWN_REPLY), so it may exit or send at once. */
  void (*on_start)(nodus_proc *self);
} nodus_proc_spec;

/* Spawns a process; *pid (if not NULL) gets its pid (owned). Thread-safe. */
int nodus_spawn(nodus_node *node, const nodus_proc_spec *spec,
                nodus_term *pid);
/* The same, linked to self (spawn_link) when link is true. */
int nodus_spawn_from(nodus_proc *self, const nodus_proc_spec *spec,
                     bool link, nodus_term *pid);

/* erlang:registered/0: the locally registered names as a list of atoms
 * (owned). Thread-safe. */
int nodus_registered(nodus_node *node, nodus_term *names);
/* erlang:process_info/1 for what a C process has, as a list (owned):
 * [{registered_name, Name | []}, {message_queue_len, N}, {links, Pids},
 * {monitors, [{process, Pid | {Name, Node}}]}, {status, running |
 * runnable | waiting}, {trap_exit, Bool}]. pid_or_name: a pid of this
 * node or a registered name (atom). NODUS_ENOPROC when no live process
 * has it; NODUS_EINVAL for another node's pid. Thread-safe. */
int nodus_process_info(nodus_node *node, const nodus_term *pid_or_name,
                       nodus_term *info);

/* The live process behind a pid of this node, or NULL. Loop thread only
 * (a handler or a nodus_node_call fn); valid until the process exits. */
nodus_proc *nodus_proc_lookup(nodus_node *node, const nodus_term *pid);
const nodus_term *nodus_self(const nodus_proc *self);
nodus_node *nodus_proc_node(const nodus_proc *self);
void *nodus_proc_state(const nodus_proc *self);
void nodus_proc_set_state(nodus_proc *self, void *state);
void nodus_trap_exit(nodus_proc *self, bool on);

/* Sends msg (ownership taken, also on failure) to `to`: a pid, a locally
 * registered name (atom), {Name, Node}, an alias (reference), or
 * {global, Name} (nodus/global.h: NODUS_ENOPROC when nobody has it). The same
 * result on every thread: 0 once the message is on its way (sends to
 * pids, remote names and aliases that don't exist are dropped, as in
 * Erlang, and a node that is not connected is connected to first; one
 * that can't be reached, or a term too big to encode, drops the message
 * with a logged warning);
 * NODUS_ENOPROC for a local name nobody has (erlang:send/2's badarg);
 * NODUS_EBADTYPE when `to` is none of these; NODUS_ESTATE once the node
 * is closing. Thread-safe. */
int nodus_send(nodus_node *node, const nodus_term *to, nodus_term msg);
/* The same from a process, so the peer sees the sender (SEND_SENDER). */
int nodus_send_from(nodus_proc *self, const nodus_term *to, nodus_term msg);

int nodus_register(nodus_node *node, const char *name, const nodus_term *pid);
int nodus_unregister(nodus_node *node, const char *name);
/* nodus_unregister and nodus_whereis: NODUS_ENOTFOUND when no process
 * has that name. */
int nodus_whereis(nodus_node *node, const char *name, nodus_term *pid);

int nodus_link(nodus_proc *self, const nodus_term *pid);
int nodus_unlink(nodus_proc *self, const nodus_term *pid);
/* Monitors a pid, a local name (atom), {Name, Node}, or {global, Name}
 * (the pid it names now; DOWN noproc at once when nobody has it); *ref
 * gets the monitor reference (owned). */
int nodus_monitor(nodus_proc *self, const nodus_term *target, nodus_term *ref);
int nodus_demonitor(nodus_proc *self, const nodus_term *ref);
/* {nodeup, Node} / {nodedown, Node} messages for one node, or for every
 * node when node is NODUS_ATOM_EMPTY (net_kernel:monitor_nodes). */
int nodus_monitor_node(nodus_proc *self, nodus_atom node, bool on);

/* Ends self after the current handler returns, with reason (borrowed). */
void nodus_exit(nodus_proc *self, const nodus_term *reason);
/* exit(Pid, Reason): an exit signal to another process (local or remote). */
int nodus_exit_signal(nodus_proc *self, const nodus_term *pid,
                      const nodus_term *reason);

/* erlang:send_after: msg (taken) to `to` after ms; *tref (optional) gets a
 * reference for nodus_cancel_timer. */
int nodus_send_after(nodus_proc *self, unsigned ms, const nodus_term *to,
                     nodus_term msg, nodus_term *tref);
int nodus_cancel_timer(nodus_proc *self, const nodus_term *tref);
/* A new unique reference of this node. Thread-safe. */
int nodus_make_ref(nodus_node *node, nodus_term *ref);

/* An alias of self (erlang:alias/0): a reference that delivers messages
 * sent to it to self until nodus_unalias or exit. *alias is owned. */
int nodus_alias(nodus_proc *self, nodus_term *alias);
int nodus_unalias(nodus_proc *self, const nodus_term *alias);

/* ---- Node events -------------------------------------------------------- */

/* What net_kernel:monitor_nodes(true, Opts) gives: with NODUS_NODES_REASON
 * (Opts [nodedown_reason]) nodedowns say why, with NODUS_NODES_ALL
 * ({node_type, all}) hidden nodes are reported too, with their type. */
enum { NODUS_NODES_REASON = 1, NODUS_NODES_ALL = 2, NODUS_NODES_DISCOVERY = 4 };

/* net_kernel:monitor_nodes(on, Opts) for self: {nodeup, Node, Info} and
 * {nodedown, Node, Info} for every visible node (all nodes with
 * NODUS_NODES_ALL), Info as BEAM builds it: [] on nodeup,
 * [{nodedown_reason, R}] on nodedown with NODUS_NODES_REASON,
 * {node_type, visible | hidden} last with NODUS_NODES_ALL. Each call with
 * on subscribes once more; off removes one subscription with the same
 * flags. Reasons: connection_closed, net_tick_timeout, disconnect.
 * NODUS_NODES_DISCOVERY (ours) adds the events of the node's discoveries
 * (nodus/discovery.h): {nodus_discovery, Kind, Node, Info}, Kind found,
 * lost, connect_failed or error (Node '' for error), Info
 * [{strategy, S}, {topology, I}] and {reason, Binary} last when there is
 * one. */
int nodus_monitor_nodes(nodus_proc *self, unsigned flags, bool on);

struct nodus_discovery_event;
typedef struct nodus_node_event {
  nodus_atom node;
  bool up;
  bool hidden;       /* the peer is a hidden node */
  nodus_atom reason; /* nodedown: as BEAM's nodedown_reason; else EMPTY */
  /* Subscribed with NODUS_NODES_DISCOVERY: a discovery's event instead of
   * a nodeup/nodedown (node is its node, up is false); else NULL. */
  const struct nodus_discovery_event *discovery;
} nodus_node_event;
typedef struct nodus_node_events nodus_node_events;
/* Runs on the loop thread, so it must not block; it may unsubscribe. */
typedef void (*nodus_node_event_fn)(nodus_node *node,
                                    const nodus_node_event *event, void *arg);
/* The same events as a callback (flags: 0, NODUS_NODES_ALL,
 * NODUS_NODES_DISCOVERY; the reason is always given). Thread-safe; *sub is freed by unsubscribe or when the
 * node closes. */
int nodus_node_events_subscribe(nodus_node *node, unsigned flags,
                                nodus_node_event_fn fn, void *arg,
                                nodus_node_events **sub);
void nodus_node_events_unsubscribe(nodus_node *node, nodus_node_events *sub);

/* ---- Remote spawn ------------------------------------------------------ */

/* A C function peers can spawn with erlang:spawn_request(Node, Mod, Fun,
 * Args, Opts) or spawn/4: it fills spec for the new process from Args. */
typedef int (*nodus_spawn_fn)(nodus_node *node, const nodus_term *args,
                              nodus_proc_spec *spec);
int nodus_register_spawn(nodus_node *node, const char *module,
                         const char *function, nodus_spawn_fn fn);

/* erlang:spawn_request(Node, Module, Function, Args, Opts) from self, Opts
 * being link and monitor as the flags say (reply yes, the default). Node
 * may be a BEAM node, another C node or this node (a function registered
 * with nodus_register_spawn). *req_id (optional) gets the request id, an
 * owned reference. Self then gets, as from BEAM:
 *   {spawn_reply, ReqId, ok, Pid}      the process started; with
 *       NODUS_SPAWN_LINK it is linked to self, with NODUS_SPAWN_MONITOR
 *       monitored, ReqId being the monitor reference; no exit signal nor
 *       DOWN of it comes before this message;
 *   {spawn_reply, ReqId, error, Reason} it did not: noconnection (node
 *       unreachable, or lost before the reply), notsup, badopt,
 *       system_limit (badarg from a C spawn function that refused Args);
 *       no link, no DOWN then.
 * A function the node does not know still starts, and exits at once with
 * {undef, [{Module, Function, Args, []}]}. If self ends before the reply,
 * the new process is unlinked with self's exit reason and demonitored.
 * NODUS_EINVAL (BEAM's badarg) when Args is not a proper list (NULL: [])
 * or flags has other bits; nothing is sent then. */
enum { NODUS_SPAWN_LINK = 1, NODUS_SPAWN_MONITOR = 2 };
int nodus_spawn_request(nodus_proc *self, nodus_atom node, const char *module,
                        const char *function, const nodus_term *args,
                        unsigned flags, nodus_term *req_id);

/* ---- Mailboxes for straight-line code on other threads ------------------ */

/* A process whose messages queue up for a thread to receive. */
int nodus_mailbox_open(nodus_node *node, nodus_mailbox **mb);
const nodus_term *nodus_mailbox_pid(const nodus_mailbox *mb);
/* Waits up to timeout_ms (-1: forever) for the next message; NODUS_ETIMEDOUT
 * when none came. *msg is owned by the caller. */
int nodus_mailbox_recv(nodus_mailbox *mb, nodus_term *msg, int timeout_ms);
int nodus_mailbox_send(nodus_mailbox *mb, const nodus_term *to,
                       nodus_term msg); /* with the mailbox as sender */
int nodus_mailbox_monitor(nodus_mailbox *mb, const nodus_term *target,
                          nodus_term *ref);
int nodus_mailbox_link(nodus_mailbox *mb, const nodus_term *pid);
/* nodus_spawn_request from the mailbox, waiting up to timeout_ms (-1:
 * forever) for its reply; other messages stay queued, in order. 0 and
 * *result = the new pid; NODUS_ENOCONN (noconnection) or NODUS_EEXIT
 * (another error) with *result = the reason atom; NODUS_ETIMEDOUT: no
 * reply yet (it will still come to the mailbox, tagged with *req_id).
 * result and req_id are optional; what they get is owned. */
int nodus_mailbox_spawn_request(nodus_mailbox *mb, nodus_atom node,
                                const char *module, const char *function,
                                const nodus_term *args, unsigned flags,
                                int timeout_ms, nodus_term *result,
                                nodus_term *req_id);
void nodus_mailbox_close(nodus_mailbox *mb);

/* ---- Running until a signal --------------------------------------------- */

/* The end of a node's main: starts the node's loop thread unless it runs
 * already, waits for SIGINT or SIGTERM, then stops the node
 * (nodus_node_stop; nodus_node_close is still the caller's). Returns the
 * signal's number; 0 when the node stopped from within instead
 * (nodus_node_stop from a handler, e.g. a top-level supervisor's
 * on_give_up), noticed within 100 ms; or a negative code (NODUS_ESTATE:
 * another thread is waiting already). SIGINT and SIGTERM are blocked in
 * the calling thread meanwhile, so the loop thread started here inherits
 * that; a handler catches them on threads started earlier. The previous
 * handlers and mask are restored before it returns.
 *
 *   nodus_node_init(&opts, &node);  ... spawn, start services ...
 *   int sig = nodus_node_run_until_signal(node);
 *   nodus_node_close(node);
 *   return sig > 0 ? 0 : 1;
 */
int nodus_node_run_until_signal(nodus_node *node);

#ifdef __cplusplus
}
#endif
#endif

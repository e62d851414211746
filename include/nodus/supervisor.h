/* nodus — supervisors in C, with OTP's semantics (supervisor.erl).
 *
 * A supervisor is a process that traps exits and keeps an ordered list of
 * children, each started by a C function that spawns a process linked to
 * the supervisor. When a child ends, the strategy decides what restarts:
 *
 *   one_for_one   the child alone;
 *   one_for_all   every child (the others are shut down first);
 *   rest_for_one  the child and those started after it;
 *   simple_one_for_one  dynamic children, all from one template, started
 *                 on demand with extra arguments (DynamicSupervisor).
 *
 * Whether a child restarts depends on its restart type: permanent always,
 * transient unless it ended with normal, shutdown or {shutdown, _},
 * temporary never. More than `intensity` restarts within `period_ms`
 * makes the supervisor shut all children down and exit with `shutdown`,
 * as OTP's does, so the failure escalates to its own supervisor; a
 * top-level one tells the program through its spec's on_give_up.
 *
 * Shutting down (the supervisor's own exit, terminate_child, a restart of
 * several children) stops children in reverse start order, each with an
 * exit signal `shutdown` and, after its shutdown time, `kill`; the next
 * child is stopped only when the previous one is gone.
 *
 * The supervisor answers supervisor.erl's calls, so Erlang and Elixir see
 * an ordinary supervisor: which_children, count_children,
 * {terminate_child, Id}, {restart_child, Id}, {delete_child, Id},
 * {get_childspec, Id}, and for dynamic supervisors {terminate_child, Pid}.
 * Child ids are atoms. */
#ifndef NODUS_SUPERVISOR_H
#define NODUS_SUPERVISOR_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

enum nodus_sup_strategy {
  NODUS_ONE_FOR_ONE = 0,
  NODUS_ONE_FOR_ALL,
  NODUS_REST_FOR_ONE,
  NODUS_SIMPLE_ONE_FOR_ONE, /* dynamic: one template, any number of children */
};

enum nodus_restart { NODUS_PERMANENT = 0, NODUS_TRANSIENT, NODUS_TEMPORARY };
enum nodus_child_type { NODUS_WORKER = 0, NODUS_SUPERVISOR };

#define NODUS_SHUTDOWN_DEFAULT 0   /* 5000 ms for workers, infinity else */
#define NODUS_SHUTDOWN_INFINITY (-1)
#define NODUS_SHUTDOWN_BRUTAL (-2) /* brutal_kill: exit(Pid, kill) at once */

/* A start function returns this to say `ignore`: no process, the child
 * stays in the list (static strategies) with pid undefined. */
#define NODUS_CHILD_IGNORE 1

/* Starts one child: spawn a process linked to `sup` and give its pid,
 * e.g. `return nodus_spawn_from(sup, &spec, true, pid);`,
 * `return nodus_gen_server_start_link(sup, ..., pid);` or, for a child
 * supervisor, `return nodus_supervisor_start_link(sup, &spec, pid,
 * reason);`. Runs on the loop as the supervisor. args (borrowed) is the
 * spec's args, for dynamic children with the extra arguments appended.
 * *pid and *reason come in empty. Return 0 with *pid set,
 * NODUS_CHILD_IGNORE, or a negative code: the start failed, with *reason
 * (taken; optional: empty means {nodus_error, 'NODUS_E...'}) as the
 * Erlang reason. */
typedef int (*nodus_child_start_fn)(nodus_proc *sup, const nodus_term *args,
                                    void *arg, nodus_term *pid,
                                    nodus_term *reason);

typedef struct nodus_child_spec {
  const char *id;             /* unique per supervisor; NULL for templates */
  nodus_child_start_fn start;
  void *arg;                  /* for start, kept as is */
  const nodus_term *args;     /* for start (copied); NULL: [] */
  int restart;                /* enum nodus_restart */
  int shutdown_ms;            /* > 0, or NODUS_SHUTDOWN_* */
  int type;                   /* enum nodus_child_type */
} nodus_child_spec;

typedef struct nodus_sup_spec {
  int strategy;  /* enum nodus_sup_strategy */
  /* At most `intensity` restarts in any `period_ms`. Both 0: OTP's
   * default, 1 restart in 5 s. */
  int intensity;
  int period_ms;
  const nodus_child_spec *children; /* started in order; for
                                       simple_one_for_one exactly one, the
                                       template (not started) */
  size_t n_children;
  const char *name;  /* optional local name */
  int max_children;  /* simple_one_for_one: 0 = no limit */
  /* Optional: the supervisor gave up. Runs once on the loop, as the
   * supervisor (a handler: it must not block), when more than
   * `intensity` restarts in `period_ms` made it shut its children down,
   * just before it exits with `shutdown`. OTP stops the application at
   * that point; a program whose top-level supervisor this is usually
   * ends too: call nodus_node_stop(node) here, and
   * nodus_node_run_until_signal() in main returns 0. Not called when the
   * supervisor is stopped (nodus_supervisor_stop, its parent's exit, a
   * kill, the node closing) or fails to start. */
  void (*on_give_up)(nodus_node *node, void *arg);
  void *give_up_arg;
} nodus_sup_spec;

/* Out-parameters of the calls that start something: *pid and *reason
 * (each optional, owned by the caller) are emptied first; on 0, *pid
 * gets the pid (or the atom undefined for a child that said ignore); on
 * NODUS_EEXIT, *reason gets the Erlang reason and *pid stays empty; on
 * any other code both stay empty. */

/* Starts a supervisor and its children, in order (thread-safe, also from
 * a handler). Returns once all started; if one fails to start, those
 * already up are shut down, the supervisor is gone and the call returns
 * NODUS_EEXIT with *reason = {shutdown, {failed_to_start_child, Id,
 * Reason}}. The spec is copied. */
int nodus_supervisor_start(nodus_node *node, const nodus_sup_spec *spec,
                           nodus_term *pid, nodus_term *reason);
/* The same, linked to self: a child supervisor's start function. */
int nodus_supervisor_start_link(nodus_proc *self, const nodus_sup_spec *spec,
                                nodus_term *pid, nodus_term *reason);

/* The calls below are supervisor.erl's requests sent with nodus_call, so
 * they block and are for threads, not handlers (a handler sends the
 * request itself with nodus_call_async). They take a pid, a local name
 * (atom) or {Name, Node}, and work on Erlang/Elixir supervisors too,
 * except start_child with a C spec, which needs a C supervisor of this
 * node. */

/* Stops the supervisor as its parent would: its children in reverse
 * order, then it exits with reason (borrowed; NULL: shutdown). Returns
 * when it is gone. C supervisors only. */
int nodus_supervisor_stop(nodus_node *node, const nodus_term *sup,
                          const nodus_term *reason);

/* supervisor:start_child(Sup, ChildSpec) for static strategies: appends
 * and starts the child. NODUS_EEXIST if the id is taken; NODUS_EEXIT with
 * *reason when its start failed. */
int nodus_supervisor_start_child(nodus_node *node, const nodus_term *sup,
                                 const nodus_child_spec *spec,
                                 nodus_term *pid, nodus_term *reason);
/* supervisor:start_child(Sup, ExtraArgs) for simple_one_for_one: the
 * template's args ++ extra_args (a list, or NULL). NODUS_ERANGE when
 * max_children are running. */
int nodus_supervisor_start_dynamic(nodus_node *node, const nodus_term *sup,
                                   const nodus_term *extra_args,
                                   nodus_term *pid, nodus_term *reason);
/* terminate_child: by id (static) or by pid (dynamic). The child is shut
 * down as in a supervisor shutdown; static ones stay in the list.
 * NODUS_ENOTFOUND for an unknown child. Thread only. */
int nodus_supervisor_terminate_child(nodus_node *node, const nodus_term *sup,
                                     const nodus_term *id_or_pid);
/* restart_child of a terminated static child. NODUS_ESTATE if running,
 * NODUS_ENOTFOUND if unknown. */
int nodus_supervisor_restart_child(nodus_node *node, const nodus_term *sup,
                                   const char *id, nodus_term *pid,
                                   nodus_term *reason);
/* delete_child of a terminated static child. NODUS_ESTATE if running. */
int nodus_supervisor_delete_child(nodus_node *node, const nodus_term *sup,
                                  const char *id);
/* which_children: [{Id, Pid | undefined | restarting, worker |
 * supervisor, Modules}] in start order, as supervisor:which_children/1
 * (Modules is [] for C children). */
int nodus_supervisor_which_children(nodus_node *node, const nodus_term *sup,
                                    nodus_term *children);
/* count_children: each may be NULL. */
int nodus_supervisor_count_children(nodus_node *node, const nodus_term *sup,
                                    int *specs, int *active, int *supervisors,
                                    int *workers);

#ifdef __cplusplus
}
#endif
#endif

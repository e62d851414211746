/* nodus — OTP behaviours in C, wire-compatible with Erlang and Elixir:
 * gen_server servers and calls, supervisors, rpc/erpc, remote tasks.
 *
 * Handlers run on the node's loop and never block, so a C server answers
 * a call either at once (NODUS_GS_REPLY) or later with nodus_gen_reply().
 * Blocking calls (nodus_call, nodus_rpc) are for other threads. */
#ifndef NODUS_OTP_H
#define NODUS_OTP_H

#include "nodus/node.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- gen_server -------------------------------------------------------- */

/* What a callback returns: one of these (no two are equal, and none is 0
 * or negative), or a negative NODUS_E* code.
 *
 *                   handle_call   handle_cast, handle_info
 *   NODUS_GS_REPLY      yes           -
 *   NODUS_GS_NOREPLY    yes           -
 *   NODUS_GS_OK          -           yes
 *   NODUS_GS_STOP       yes          yes
 *
 * Any other value (0, a code from the other column, NODUS_CHILD_IGNORE...)
 * stops the server with {bad_return_value, {Callback, Code}}, e.g.
 * {bad_return_value, {handle_call, 'NODUS_GS_OK'}}, as gen_server stops
 * on a return it does not know: a handle_call copied from a handle_cast
 * fails at its first call instead of leaving the caller waiting. A
 * negative NODUS_E* code stops it with {nodus_error, 'NODUS_E...'}, as an
 * Erlang callback that crashes stops it. */
enum nodus_gs_result {
  NODUS_GS_REPLY = 1,   /* handle_call: send *reply now ({reply, R, S}) */
  NODUS_GS_NOREPLY = 2, /* handle_call: the reply comes later, from
                           nodus_gen_reply ({noreply, S}) */
  NODUS_GS_OK = 3,      /* handle_cast/handle_info: carry on ({noreply, S}) */
  NODUS_GS_STOP = 4,    /* any handle_*: stop with *stop_reason ({stop, ...}) */
};

/* Ownership: a callback gets *reply and *stop_reason empty (type
 * NODUS_T_NONE). Whatever it puts there belongs to the server once it
 * returns, whatever it returns: never free them yourself. The server
 *   REPLY    sends *reply (empty: the atom ok) to the caller; frees
 *            *stop_reason if set;
 *   NOREPLY  frees *reply and *stop_reason if set (copy `from` to answer
 *            later with nodus_gen_reply);
 *   OK       frees *stop_reason if set;
 *   STOP     sends *reply first if set (handle_call: {stop, R, Reply, S}),
 *            then runs terminate and exits with *stop_reason (empty:
 *            normal);
 *   anything else (an error or an invalid code): frees both, terminate,
 *            exit with the reason above.
 * An abnormal end (any reason other than normal, shutdown or {shutdown,
 * _}) logs a crash report at NODUS_LOG_ERROR, component "gen_server", as
 * OTP's "GenServer terminating": the name or pid, the reason, the last
 * message (the state is C data, not shown). */
typedef struct nodus_gen_server_ops {
  /* May be NULL: the state is NULL. args is borrowed. Return 0, or a
   * negative code to fail the start: the starter gets that code and the
   * process ends without terminate, so a failing init frees what it
   * allocated. Any positive return fails the start with NODUS_EINVAL
   * (and logs {bad_return_value, {init, Code}}). */
  int (*init)(nodus_proc *self, const nodus_term *args, void **state);
  /* May be NULL: then every call stops the server with {undef,
   * handle_call}, as a missing callback does in Erlang. request and from
   * are borrowed; from is {Pid, Tag}: copy it to reply later. */
  int (*handle_call)(nodus_proc *self, void *state, const nodus_term *request,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop_reason);
  /* May be NULL: casts are dropped. request is borrowed. */
  int (*handle_cast)(nodus_proc *self, void *state, const nodus_term *request,
                     nodus_term *stop_reason);
  /* May be NULL: other messages are dropped. msg is borrowed. */
  int (*handle_info)(nodus_proc *self, void *state, const nodus_term *msg,
                     nodus_term *stop_reason);
  /* May be NULL. Runs exactly once whenever the process ends after a
   * successful init: a STOP, an error or invalid return, an exit signal,
   * a kill or the node closing (unlike OTP, which skips it for untrapped
   * signals: C state must always be released, so free it here). reason
   * is borrowed. */
  void (*terminate)(nodus_proc *self, void *state, const nodus_term *reason);
} nodus_gen_server_ops;

/* Starts a server (name optional: registered locally). Thread-safe, and
 * also from a handler. init runs before this returns; when it fails its
 * code is returned and the process is gone (NODUS_EEXIST: name taken). */
int nodus_gen_server_start(nodus_node *node, const nodus_gen_server_ops *ops,
                           const nodus_term *args, const char *name,
                           nodus_term *pid);
/* gen_server:start_link from a process (a supervisor): the same, linked
 * to self. */
int nodus_gen_server_start_link(nodus_proc *self,
                                const nodus_gen_server_ops *ops,
                                const nodus_term *args, const char *name,
                                nodus_term *pid);
/* The state pointer init gave, from a callback; and replacing it. */
void *nodus_gen_server_state(nodus_proc *self);
void nodus_gen_server_set_state(nodus_proc *self, void *state);
/* gen_server:reply/2 from a handler: reply (taken) to a call's From. Works
 * for Erlang callers using aliases (OTP 24+) and older ones alike. */
int nodus_gen_reply(nodus_proc *self, const nodus_term *from,
                    nodus_term reply);

/* gen_server:call from a thread: server is a pid, a local name (atom),
 * {Name, Node} or {global, Name}. Blocks up to timeout_ms (-1: infinity).
 * Returns 0 and *reply, or NODUS_ETIMEDOUT, NODUS_ENOPROC (no such
 * process), NODUS_ENOCONN (node down), or NODUS_EEXIT with *reply holding
 * the server's exit reason. request is taken. */
int nodus_call(nodus_node *node, const nodus_term *server, nodus_term request,
               int timeout_ms, nodus_term *reply);
/* gen_server:call from a process: sends the request and returns; the
 * outcome arrives later as exactly one message {nodus_call, Ref, Result}
 * where Result is {ok, Reply} | {error, timeout | noproc | noconnection |
 * {exit, Reason}}. *ref (owned) identifies it. request is taken. A
 * helper process owns the call (monitor, alias, timer); it ends with the
 * call or when self ends. Awaiting with a timeout of one's own (a task's
 * await) = a receive on Ref, then nodus_call_cancel. */
int nodus_call_async(nodus_proc *self, const nodus_term *server,
                     nodus_term request, int timeout_ms, nodus_term *ref);
/* Gives up an async call: no message comes after this one's handler
 * returns, unless it was already sent (flush {nodus_call, Ref, _}). */
int nodus_call_cancel(nodus_proc *self, const nodus_term *ref);
/* gen_server:cast. Thread-safe. request is taken. */
int nodus_cast(nodus_node *node, const nodus_term *server, nodus_term request);
/* gen_server:multi_call(Nodes, Name, Request, Timeout) from a thread:
 * *replies gets [{Node, Reply}], *bad_nodes the nodes that did not answer. */
int nodus_multi_call(nodus_node *node, const nodus_term *nodes,
                     const char *name, const nodus_term *request,
                     int timeout_ms, nodus_term *replies,
                     nodus_term *bad_nodes);

/* ---- rpc and erpc ------------------------------------------------------ */

/* A C function callable as Module:Function(Args...) from other nodes
 * (rpc:call, erpc:call, erpc:cast, rex's protocol). args is the argument
 * list (borrowed). Fill *result and return 0; or raise, with *result the
 * reason: NODUS_EEXIT (error:Reason), NODUS_RPC_EXIT (exit(Reason)),
 * NODUS_RPC_THROW (throw(Value)). Any other negative code raises an error
 * (badarg for NODUS_EINVAL/EBADTYPE, function_clause for ENOMATCH, else
 * {nodus, enoconn}...). The stack callers see is [{M, F, Arity, []}]. */
typedef int (*nodus_rpc_fn)(nodus_node *node, const nodus_term *args,
                            nodus_term *result, void *arg);
#define NODUS_RPC_EXIT 1
#define NODUS_RPC_THROW 2
/* Registers (or replaces) Module:Function. It runs on a worker thread
 * (libuv's pool), so it may block and may use nodus_call/nodus_rpc; a
 * caller's timeout does not stop it. */
int nodus_register_function(nodus_node *node, const char *module,
                            const char *function, nodus_rpc_fn fn, void *arg);
/* The same, run on the loop thread: for quick functions that read the
 * node's state. It must not block. */
int nodus_register_function_on_loop(nodus_node *node, const char *module,
                                    const char *function, nodus_rpc_fn fn,
                                    void *arg);

/* rpc:call(Node, M, F, Args) from a thread. 0 and *result, or NODUS_EEXIT
 * with *result = {badrpc, Reason} as rpc:call would return it ({badrpc,
 * timeout}, {badrpc, nodedown}, {badrpc, {'EXIT', ...}}). args taken.
 * Works with BEAM and nodus nodes (through the peer's rex). */
int nodus_rpc(nodus_node *node, nodus_atom peer, const char *module,
              const char *function, nodus_term args, int timeout_ms,
              nodus_term *result);
/* erpc:call(Node, M, F, Args) from a thread: 0 and *result = the value,
 * or NODUS_EEXIT with *result = {Class, Reason}, what erpc:call raises:
 * {error, {exception, Reason, Stack}}, {exit, {exception, Reason}},
 * {throw, Value}, {error, {erpc, timeout | noconnection}}, {exit,
 * {signal, Reason}}. args taken. */
int nodus_erpc(nodus_node *node, nodus_atom peer, const char *module,
               const char *function, nodus_term args, int timeout_ms,
               nodus_term *result);

#ifdef __cplusplus
}
#endif
#endif

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

/* What a callback asks for. */
enum nodus_gs_result {
  NODUS_GS_REPLY = 0, /* handle_call: send *reply now */
  NODUS_GS_NOREPLY,   /* handle_call: reply later with nodus_gen_reply */
  NODUS_GS_OK = NODUS_GS_NOREPLY, /* handle_cast/handle_info: carry on */
  NODUS_GS_STOP,      /* stop with *stop_reason (or normal if NONE) */
};

typedef struct nodus_gen_server_ops {
  /* args is borrowed. Return 0, or a negative code to fail the start
   * ({error, Reason} to the starter). */
  int (*init)(nodus_proc *self, const nodus_term *args, void **state);
  /* from is {Pid, Tag}; copy it to reply later. Fill *reply for REPLY;
   * for STOP, *reply (if set) is sent before stopping. */
  int (*handle_call)(nodus_proc *self, void *state, const nodus_term *request,
                     const nodus_term *from, nodus_term *reply,
                     nodus_term *stop_reason);
  int (*handle_cast)(nodus_proc *self, void *state, const nodus_term *request,
                     nodus_term *stop_reason);
  int (*handle_info)(nodus_proc *self, void *state, const nodus_term *msg,
                     nodus_term *stop_reason);
  void (*terminate)(nodus_proc *self, void *state, const nodus_term *reason);
} nodus_gen_server_ops;

/* Starts a server (name optional: registered locally). Thread-safe. */
int nodus_gen_server_start(nodus_node *node, const nodus_gen_server_ops *ops,
                           const nodus_term *args, const char *name,
                           nodus_term *pid);
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
 * outcome arrives later as a message {nodus_call, Ref, Result} where Result
 * is {ok, Reply} | {error, timeout | noproc | noconnection | {exit,
 * Reason}}. *ref (owned) identifies it. request is taken. */
int nodus_call_async(nodus_proc *self, const nodus_term *server,
                     nodus_term request, int timeout_ms, nodus_term *ref);
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
 * (rpc:call, erpc:call, spawn). Fill *result and return 0; or return
 * NODUS_EEXIT with *result the error reason (raised as error:Reason). */
typedef int (*nodus_rpc_fn)(nodus_node *node, const nodus_term *args,
                            nodus_term *result, void *arg);
int nodus_register_function(nodus_node *node, const char *module,
                            const char *function, nodus_rpc_fn fn, void *arg);

/* rpc:call(Node, M, F, Args) from a thread. 0 and *result, or NODUS_EEXIT
 * with *result = {badrpc, Reason} as rpc:call would return it. args taken. */
int nodus_rpc(nodus_node *node, nodus_atom peer, const char *module,
              const char *function, nodus_term args, int timeout_ms,
              nodus_term *result);

#ifdef __cplusplus
}
#endif
#endif

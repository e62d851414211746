/* The otp layer's shared pieces: per-node state (the rpc function table),
 * running registered functions, and small term helpers. */
#ifndef NODUS_OTP_INTERNAL_H
#define NODUS_OTP_INTERNAL_H

#include "nodus/otp.h"
#include "runtime/node_internal.h"

/* A function callable over rpc/erpc. on_loop ones run on the loop thread
 * (introspection: fast, touch runtime state); others on libuv's worker
 * pool, so they may block and may make blocking calls themselves. */
typedef struct otp_fn {
  struct otp_fn *next;
  nodus_atom module, function;
  nodus_rpc_fn fn;
  void *arg;
  bool on_loop;
} otp_fn;

typedef struct otp_node {
  nodus_node *node;
  otp_fn *fns; /* loop thread only */
  nodus_term rex_pid;
} otp_node;

/* otp_node.c: the layer's per-node state; NULL before the node started. */
otp_node *otp_node_of(nodus_node *node);
int otp_register(nodus_node *node, const char *module, const char *function,
                 nodus_rpc_fn fn, void *arg, bool on_loop);
otp_fn *otp_find_fn(otp_node *on, nodus_atom module, nodus_atom function);

/* rpc_exec.c: runs module:function(args) and calls done on the loop with
 * the outcome. */
typedef enum {
  OTP_RETURN, /* value */
  OTP_THROW,  /* thrown value */
  OTP_EXIT,   /* exit reason */
  OTP_ERROR,  /* error reason; stack in otp_job.stack */
} otp_class;

typedef struct otp_job otp_job;
typedef void (*otp_done_fn)(otp_job *job);
struct otp_job {
  uv_work_t work;
  nodus_node *node;
  nodus_atom module, function;
  nodus_term args;  /* owned: the argument list */
  nodus_rpc_fn fn;
  void *fn_arg;
  int rc;
  nodus_term value; /* the outcome: a value or a reason */
  otp_class cls;
  nodus_term stack; /* for OTP_ERROR */
  otp_done_fn done; /* frees the job with otp_job_free */
  nodus_term ctx1, ctx2; /* the done callback's own data */
};
/* Takes args. done runs on the loop, maybe before this returns. */
int otp_exec(nodus_node *node, nodus_atom module, nodus_atom function,
             nodus_term args, otp_done_fn done, nodus_term ctx1,
             nodus_term ctx2);
void otp_job_free(otp_job *job);
/* rpc:call's view of an outcome: the value, a thrown value, or
 * {badrpc, {'EXIT', ...}} (rpc.erl execute_call/3). */
nodus_term otp_rpc_result(const otp_job *job);
/* The erpc:execute_call/4 exit reason {Ref, Class, ...}. */
nodus_term otp_erpc_reason(const otp_job *job, const nodus_term *ref);

/* erpc.c: serves spawn_request of erpc:execute_call/4 and execute_cast/3. */
int otp_erpc_start(nodus_node *node);
/* rex.c: the rex server (rpc's old protocol, features_request). */
int otp_rex_start(nodus_node *node, otp_node *on);

/* gen:reply/2 with no sending process (thread-safe). reply taken. */
int otp_gen_reply(nodus_node *node, const nodus_term *from, nodus_term reply);

/* Term helpers beside the runtime's rt_atom, rt_tuple, rt_copy. */
nodus_term otp_list1(nodus_term a); /* [a], a taken */

#endif

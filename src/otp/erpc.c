/* erpc into a C node. erpc:call(Node, M, F, A) (and rpc:call, which uses
 * it since OTP 23 when the node's rex says [erpc]) spawns
 * erpc:execute_call(Ref, M, F, A) on the target with a monitor; the
 * process runs the function and exits with {Ref, return, Value},
 * {Ref, throw, V}, {Ref, exit, R} or {Ref, error, R, Stack}, which the
 * caller reads from its DOWN message. erpc:cast spawns
 * erpc:execute_cast(M, F, A). We serve both as spawnable functions. */
#include <stdlib.h>

#include "otp/otp_internal.h"

typedef struct erpc_start {
  nodus_term ref; /* NONE for a cast */
  nodus_atom module, function;
  nodus_term args;
} erpc_start;

static void erpc_msg(nodus_proc *self, const nodus_term *msg) {
  /* Nothing talks to these processes; they only wait for their job. */
}

/* The job finished: end the process with the outcome, if it still lives
 * (the caller may have killed it meanwhile). */
static void erpc_done(otp_job *job) {
  nodus_proc *p = nodus_proc_lookup(job->node, &job->ctx1);
  if (p) {
    nodus_term reason;
    if (job->ctx2.type == NODUS_T_REF) {
      reason = otp_erpc_reason(job, &job->ctx2);
    } else if (job->cls == OTP_RETURN || job->cls == OTP_THROW) {
      reason = rt_atom("normal");
    } else {
      /* erpc:execute_cast: error({exception, {Reason, Stack}}) */
      reason = rt_tuple(2, rt_atom("exception"),
                        rt_tuple(2, rt_copy(&job->value), rt_copy(&job->stack)));
    }
    nodus_exit(p, &reason);
    nodus_term_free(&reason);
  }
  otp_job_free(job);
}

static void erpc_start_free(erpc_start *s) {
  nodus_term_free(&s->ref);
  nodus_term_free(&s->args);
  free(s);
}

/* Killed before it started: the job never took the start data. */
static void erpc_on_exit(nodus_proc *self, const nodus_term *reason) {
  erpc_start *s = nodus_proc_state(self);
  if (s) erpc_start_free(s);
}

static void erpc_on_start(nodus_proc *self) {
  erpc_start *s = nodus_proc_state(self);
  nodus_proc_set_state(self, NULL);
  if (!s) return;
  otp_exec(nodus_proc_node(self), s->module, s->function, s->args, erpc_done,
           rt_copy(nodus_self(self)), s->ref);
  free(s);
}

static int erpc_spawn(const nodus_term *ref, const nodus_term *m,
                      const nodus_term *f, const nodus_term *a,
                      nodus_proc_spec *spec) {
  if (m->type != NODUS_T_ATOM || f->type != NODUS_T_ATOM)
    return NODUS_EBADTYPE;
  erpc_start *s = calloc(1, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  s->ref = ref ? rt_copy(ref) : (nodus_term){0};
  s->module = m->v.atom;
  s->function = f->v.atom;
  s->args = rt_copy(a);
  spec->on_message = erpc_msg;
  spec->on_start = erpc_on_start;
  spec->on_exit = erpc_on_exit;
  spec->state = s;
  return 0;
}

/* erpc:execute_call(Ref, M, F, A) */
static int spawn_execute_call(nodus_node *node, const nodus_term *args,
                              nodus_proc_spec *spec) {
  if (args->type != NODUS_T_LIST || args->n != 4) return NODUS_EINVAL;
  const nodus_term *a = args->v.items;
  return erpc_spawn(&a[0], &a[1], &a[2], &a[3], spec);
}

/* erpc:execute_cast(M, F, A) */
static int spawn_execute_cast(nodus_node *node, const nodus_term *args,
                              nodus_proc_spec *spec) {
  if (args->type != NODUS_T_LIST || args->n != 3) return NODUS_EINVAL;
  const nodus_term *a = args->v.items;
  return erpc_spawn(NULL, &a[0], &a[1], &a[2], spec);
}

int otp_erpc_start(nodus_node *node) {
  int rc = nodus_register_spawn(node, "erpc", "execute_call",
                                spawn_execute_call);
  if (!rc)
    rc = nodus_register_spawn(node, "erpc", "execute_cast", spawn_execute_cast);
  return rc;
}

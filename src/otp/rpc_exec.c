/* Running a registered function for rpc, erpc and rex, and describing its
 * outcome the way erpc.erl and rpc.erl do, so callers on BEAM get the
 * same terms from a C node as from an Erlang one. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "otp/otp_internal.h"

void otp_job_free(otp_job *job) {
  nodus_term_free(&job->args);
  nodus_term_free(&job->value);
  nodus_term_free(&job->stack);
  nodus_term_free(&job->ctx1);
  nodus_term_free(&job->ctx2);
  free(job);
}

static size_t arity_of(const nodus_term *args) {
  return args->type == NODUS_T_LIST ? args->n : 0;
}

/* [{M, F, ArityOrArgs, []}]: the stack BEAM reports, trimmed by erpc to the
 * called function (C frames have no file or line). */
static nodus_term stack_of(const otp_job *job, bool with_args) {
  nodus_term a = with_args ? rt_copy(&job->args)
                           : nodus_int((int64_t)arity_of(&job->args));
  return otp_list1(rt_tuple(4, nodus_atom_term(job->module),
                            nodus_atom_term(job->function), a, nodus_nil()));
}

/* A negative code the function returned, as the error an Erlang function
 * would raise for it. */
static nodus_term error_for_code(int rc) {
  switch (rc) {
    case NODUS_EINVAL:
    case NODUS_EBADTYPE: return rt_atom("badarg");
    case NODUS_ENOMATCH: return rt_atom("function_clause");
    case NODUS_ENOMEM: return rt_atom("system_limit");
    default: break;
  }
  char name[64];
  const char *n = nodus_err_name(rc);
  size_t i = 0;
  if (!strncmp(n, "NODUS_", 6)) n += 6;
  for (; n[i] && i < sizeof name - 1; i++) name[i] = (char)tolower(n[i]);
  name[i] = 0;
  return rt_tuple(2, rt_atom("nodus"), rt_atom(name));
}

/* Sorts the function's return into an Erlang outcome. */
static void classify(otp_job *job) {
  switch (job->rc) {
    case 0: job->cls = OTP_RETURN; break;
    case NODUS_RPC_THROW: job->cls = OTP_THROW; break;
    case NODUS_RPC_EXIT: job->cls = OTP_EXIT; break;
    case NODUS_EEXIT: job->cls = OTP_ERROR; break;
    default:
      job->cls = OTP_ERROR;
      nodus_term_free(&job->value);
      job->value = error_for_code(job->rc);
      break;
  }
  if (job->value.type == NODUS_T_NONE)
    job->value = job->cls == OTP_RETURN ? rt_atom("ok") : rt_atom("undefined");
  if (job->cls == OTP_ERROR) job->stack = stack_of(job, false);
}

static void work_cb(uv_work_t *w) {
  otp_job *job = w->data;
  job->rc = job->fn(job->node, &job->args, &job->value, job->fn_arg);
}

static void after_work_cb(uv_work_t *w, int status) {
  otp_job *job = w->data;
  if (status) { /* cancelled: the node is closing */
    job->rc = NODUS_ESTATE;
    nodus_term_free(&job->value);
  }
  classify(job);
  job->done(job);
}

int otp_exec(nodus_node *node, nodus_atom module, nodus_atom function,
             nodus_term args, otp_done_fn done, nodus_term ctx1,
             nodus_term ctx2) {
  otp_job *job = calloc(1, sizeof *job);
  if (!job) {
    nodus_term_free(&args);
    nodus_term_free(&ctx1);
    nodus_term_free(&ctx2);
    return NODUS_ENOMEM;
  }
  job->node = node;
  job->module = module;
  job->function = function;
  job->args = args;
  job->done = done;
  job->ctx1 = ctx1;
  job->ctx2 = ctx2;
  job->work.data = job;
  otp_fn *f = otp_find_fn(otp_node_of(node), module, function);
  if (!f || !nodus_is_proper_list(&args)) {
    /* error:undef with the arguments in the stack, as BEAM reports an
     * unknown function (a bad argument list is badarg in apply/3). */
    job->cls = OTP_ERROR;
    job->value = rt_atom(f ? "badarg" : "undef");
    job->stack = stack_of(job, true);
    done(job);
    return 0;
  }
  job->fn = f->fn;
  job->fn_arg = f->arg;
  if (f->on_loop) {
    work_cb(&job->work);
    after_work_cb(&job->work, 0);
    return 0;
  }
  int rc = uv_queue_work(&node->loop, &job->work, work_cb, after_work_cb);
  if (rc) {
    job->rc = NODUS_ENOMEM;
    classify(job);
    done(job);
  }
  return 0;
}

/* rpc.erl execute_call/3: return and throw give the value itself; exit
 * gives {badrpc, {'EXIT', Reason}}, error {badrpc, {'EXIT', {Reason,
 * Stack}}}. */
nodus_term otp_rpc_result(const otp_job *job) {
  nodus_term inner;
  switch (job->cls) {
    case OTP_RETURN:
    case OTP_THROW: return rt_copy(&job->value);
    case OTP_EXIT: inner = rt_copy(&job->value); break;
    default:
      inner = rt_tuple(2, rt_copy(&job->value), rt_copy(&job->stack));
      break;
  }
  return rt_tuple(2, rt_atom("badrpc"), rt_tuple(2, rt_atom("EXIT"), inner));
}

/* erpc.erl execute_call/4 ends its process with this reason. */
nodus_term otp_erpc_reason(const otp_job *job, const nodus_term *ref) {
  static const char *const names[] = {"return", "throw", "exit", "error"};
  if (job->cls == OTP_ERROR)
    return rt_tuple(4, rt_copy(ref), rt_atom("error"), rt_copy(&job->value),
                    rt_copy(&job->stack));
  return rt_tuple(3, rt_copy(ref), rt_atom(names[job->cls]),
                  rt_copy(&job->value));
}

/* The task supervisor's side of Elixir's Task.Supervisor: a dynamic
 * supervisor that answers {start_task, Args, Restart, Shutdown} and whose
 * children behave as Task.Supervised processes:
 *
 *   Args = [Owner, monitor | nomonitor]   (async: wait for the owner's
 *       {OwnerPid, Ref, ReplyTo, Callers, {M, F, A}}, 5 s at most while
 *       monitoring it; run; send {Ref, Result} to ReplyTo)
 *   Args = [Owner, Callers, {M, F, A}]    (start_child: just run)
 *
 * Owner is {Node, NameOrPid, Pid}. The function is a registered C
 * function; it runs on the worker pool while the task process waits, and
 * a crash ends the task with the reason BEAM would give it. */
#include <stdlib.h>
#include <string.h>

#include "nodus/task.h"
#include "otp/sup_internal.h"

#define OWNER_WAIT_MS 5000 /* Task.Supervised.reply/2 with monitor */

typedef struct task_proc {
  nodus_term owner_pid;
  nodus_term owner_mref;
  nodus_term mfa; /* noreply mode: run this at once */
  bool monitor;
  bool started;   /* the function is running */
} task_proc;

static void task_free(task_proc *t) {
  nodus_term_free(&t->owner_pid);
  nodus_term_free(&t->owner_mref);
  nodus_term_free(&t->mfa);
  free(t);
}

/* The job is over: reply and end normally, or crash like the BEAM task
 * would (invoke_mfa re-raises, so the exit reason is the raised one). */
static void task_done(otp_job *job) {
  nodus_proc *self = nodus_proc_lookup(job->node, &job->ctx1);
  if (self) {
    nodus_term reason;
    switch (job->cls) {
      case OTP_RETURN:
        if (job->ctx2.type == NODUS_T_TUPLE) /* {Ref, ReplyTo} */
          nodus_send_from(self, &job->ctx2.v.items[1],
                          rt_tuple(2, rt_copy(&job->ctx2.v.items[0]),
                                   rt_copy(&job->value)));
        reason = rt_atom("normal");
        break;
      case OTP_EXIT: reason = rt_copy(&job->value); break;
      case OTP_THROW:
        reason = rt_tuple(2, rt_tuple(2, rt_atom("nocatch"),
                                      rt_copy(&job->value)),
                          otp_list1(rt_tuple(4, nodus_atom_term(job->module),
                                             nodus_atom_term(job->function),
                                             nodus_int((int64_t)nodus_size(&job->args)),
                                             nodus_nil())));
        break;
      default:
        reason = rt_tuple(2, rt_copy(&job->value), rt_copy(&job->stack));
        break;
    }
    if (job->cls != OTP_RETURN)
      nodus_log(job->node, NODUS_LOG_INFO, "task", "a task crashed");
    nodus_exit(self, &reason);
    nodus_term_free(&reason);
  }
  otp_job_free(job);
}

/* Runs {M, F, A}; ctx is {Ref, ReplyTo} for async tasks, NONE else. */
static void task_run(nodus_proc *self, task_proc *t, const nodus_term *mfa,
                     nodus_term ctx) {
  if (mfa->type != NODUS_T_TUPLE || mfa->n != 3 ||
      mfa->v.items[0].type != NODUS_T_ATOM ||
      mfa->v.items[1].type != NODUS_T_ATOM ||
      !nodus_is_proper_list(&mfa->v.items[2])) {
    nodus_term_free(&ctx);
    nodus_term badarg = rt_atom("badarg");
    nodus_exit(self, &badarg);
    return;
  }
  t->started = true;
  otp_exec(nodus_proc_node(self), mfa->v.items[0].v.atom,
           mfa->v.items[1].v.atom, rt_copy(&mfa->v.items[2]), task_done,
           rt_copy(nodus_self(self)), ctx);
}

static void task_start(nodus_proc *self) {
  task_proc *t = nodus_proc_state(self);
  if (t->mfa.type) {
    task_run(self, t, &t->mfa, (nodus_term){0});
    return;
  }
  if (t->monitor && nodus_monitor(self, &t->owner_pid, &t->owner_mref) == 0)
    nodus_send_after(self, OWNER_WAIT_MS, nodus_self(self),
                     rt_atom("$nodus_task_timeout"), NULL);
}

static void task_msg(nodus_proc *self, const nodus_term *msg) {
  task_proc *t = nodus_proc_state(self);
  if (!t || t->started) return;
  if (msg->type == NODUS_T_TUPLE && msg->n == 5 &&
      nodus_equal(&msg->v.items[0], &t->owner_pid)) {
    /* {OwnerPid, Ref, ReplyTo, Callers, MFA} */
    if (t->owner_mref.type) nodus_demonitor(self, &t->owner_mref);
    task_run(self, t, &msg->v.items[4],
             rt_tuple(2, rt_copy(&msg->v.items[1]), rt_copy(&msg->v.items[2])));
    return;
  }
  if (msg->type == NODUS_T_TUPLE && msg->n == 5 &&
      nodus_is_atom(&msg->v.items[0], "DOWN") &&
      nodus_equal(&msg->v.items[1], &t->owner_mref)) {
    nodus_term r = rt_tuple(2, rt_atom("shutdown"), rt_copy(&msg->v.items[4]));
    nodus_exit(self, &r);
    nodus_term_free(&r);
    return;
  }
  if (nodus_is_atom(msg, "$nodus_task_timeout")) {
    nodus_term r = rt_atom("timeout");
    nodus_exit(self, &r);
  }
}

static void task_exit(nodus_proc *self, const nodus_term *reason) {
  task_proc *t = nodus_proc_state(self);
  nodus_proc_set_state(self, NULL);
  if (t) task_free(t);
}

/* The template's start function: Args as the caller sent them. */
static int task_child_start(nodus_proc *sup, const nodus_term *args,
                            void *arg, nodus_term *pid, nodus_term *reason) {
  size_t n = args->type == NODUS_T_LIST ? args->n : 0;
  const nodus_term *owner = n ? &args->v.items[0] : NULL;
  if (!owner || owner->type != NODUS_T_TUPLE || owner->n != 3 ||
      owner->v.items[2].type != NODUS_T_PID || (n != 2 && n != 3)) {
    *reason = rt_atom("badarg");
    return NODUS_EINVAL;
  }
  task_proc *t = calloc(1, sizeof *t);
  if (!t) return NODUS_ENOMEM;
  t->owner_pid = rt_copy(&owner->v.items[2]);
  if (n == 3) t->mfa = rt_copy(&args->v.items[2]);
  else t->monitor = nodus_is_atom(&args->v.items[1], "monitor");
  nodus_proc_spec spec = {.on_message = task_msg,
                          .on_exit = task_exit,
                          .on_start = task_start,
                          .state = t};
  int rc = nodus_spawn_from(sup, &spec, true, pid);
  if (rc) task_free(t);
  return rc;
}

int nodus_task_supervisor_start(nodus_node *node, const char *name,
                                nodus_term *pid) {
  nodus_child_spec tmpl = {.start = task_child_start,
                           .restart = NODUS_TEMPORARY,
                           .shutdown_ms = 5000};
  nodus_sup_spec spec = {.strategy = NODUS_SIMPLE_ONE_FOR_ONE,
                         .intensity = 3,
                         .period_ms = 5000,
                         .children = &tmpl,
                         .n_children = 1,
                         .name = name};
  return otp_sup_start(node, NULL, &spec, true, pid, NULL);
}

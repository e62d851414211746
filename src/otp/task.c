/* The caller's side of Task.Supervisor.async / Task.await. A small
 * helper process is the task's owner, as the Elixir process calling
 * async would be: it asks the supervisor for a task, links to and
 * monitors it, sends it the function, and waits for {Ref, Result} or the
 * DOWN. It traps exits so a crashing task reaches it as a DOWN reason
 * rather than killing it; when the caller gives up, the helper exits with
 * `shutdown`, which takes the linked task with it. */
#include <stdlib.h>

#include "nodus/task.h"
#include "otp/otp_internal.h"
#include "runtime/waiter.h"

struct nodus_task {
  nodus_node *node;
  bool threaded;
  rt_handoff hand; /* threaded: the waiting thread's and the helper's */
  bool done;
  /* loop-side */
  nodus_term sup, mfa, helper, call_ref, task_pid, mref;
  nodus_term notify, notify_mref, id; /* process callers */
  int timeout_ms;
};

static void task_free(nodus_task *t) {
  nodus_term *terms[] = {&t->sup, &t->mfa, &t->helper,
                         &t->call_ref, &t->task_pid, &t->mref, &t->notify,
                         &t->notify_mref, &t->id};
  for (size_t i = 0; i < sizeof terms / sizeof *terms; i++)
    nodus_term_free(terms[i]);
  if (t->threaded) rt_handoff_destroy(&t->hand);
  free(t);
}

static void task_release(nodus_task *t) {
  if (!t->threaded) {
    task_free(t);
    return;
  }
  if (rt_handoff_release(&t->hand)) task_free(t);
}

static nodus_term outcome_message(const nodus_task *t, int rc,
                                  nodus_term result) {
  const char *why = rc == NODUS_ETIMEDOUT ? "timeout"
                    : rc == NODUS_ENOPROC ? "noproc"
                    : rc == NODUS_ENOCONN ? "noconnection"
                                          : NULL;
  nodus_term o;
  if (rc == 0) {
    o = rt_tuple(2, rt_atom("ok"), result);
  } else if (rc == NODUS_EEXIT) {
    o = rt_tuple(2, rt_atom("error"), rt_tuple(2, rt_atom("exit"), result));
  } else {
    nodus_term_free(&result);
    o = rt_tuple(2, rt_atom("error"),
                 rt_atom(why ? why : nodus_err_name(rc)));
  }
  return rt_tuple(3, rt_atom("nodus_task"), rt_copy(&t->id), o);
}

/* The outcome is known (result taken): hand it over, end the helper.
 * A helper that ends without success takes the linked task along. */
static void task_finish(nodus_proc *self, nodus_task *t, int rc,
                        nodus_term result) {
  if (t->done) {
    nodus_term_free(&result);
    return;
  }
  t->done = true;
  if (t->threaded) {
    rt_handoff_put(&t->hand, rc, result);
  } else {
    if (self && t->notify.type)
      nodus_send_from(self, &t->notify, outcome_message(t, rc, result));
    else
      nodus_term_free(&result);
  }
  if (self) {
    nodus_term why = rt_atom(rc == 0 || rc == NODUS_EEXIT ? "normal"
                                                          : "shutdown");
    nodus_exit(self, &why);
  }
}

static void on_started(nodus_proc *self, nodus_task *t, const nodus_term *r) {
  /* r: {ok, {ok, Pid}} | {ok, Other} | {error, Why} from the call */
  const nodus_term *v = nodus_tuple_elem(r, 1);
  if (!v || r->n != 2) return;
  if (nodus_is_atom(&r->v.items[0], "error")) {
    int rc = nodus_is_atom(v, "noproc")         ? NODUS_ENOPROC
             : nodus_is_atom(v, "noconnection") ? NODUS_ENOCONN
             : nodus_is_atom(v, "timeout")      ? NODUS_ETIMEDOUT
                                                : NODUS_EEXIT;
    nodus_term reason = rc != NODUS_EEXIT ? (nodus_term){0}
                        : v->type == NODUS_T_TUPLE && v->n == 2
                            ? rt_copy(&v->v.items[1]) /* {exit, R} */
                            : rt_copy(v);
    task_finish(self, t, rc, reason);
    return;
  }
  const nodus_term *pid = nodus_tuple_elem(v, 1);
  if (v->type != NODUS_T_TUPLE || v->n != 2 || !nodus_is_atom(&v->v.items[0], "ok") ||
      pid->type != NODUS_T_PID) {
    task_finish(self, t, NODUS_EEXIT, rt_copy(v)); /* {error, max_children} */
    return;
  }
  t->task_pid = rt_copy(pid);
  nodus_link(self, pid);
  int rc = nodus_monitor(self, pid, &t->mref);
  if (rc) {
    task_finish(self, t, rc, (nodus_term){0});
    return;
  }
  nodus_term callers = otp_list1(rt_copy(nodus_self(self)));
  nodus_send_from(self, pid,
                  rt_tuple(5, rt_copy(nodus_self(self)), rt_copy(&t->mref),
                           rt_copy(nodus_self(self)), callers,
                           rt_copy(&t->mfa)));
}

static void helper_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_task *t = nodus_proc_state(self);
  if (!t || t->done || msg->type != NODUS_T_TUPLE) {
    if (t && !t->done && nodus_is_atom(msg, "$nodus_task_timeout"))
      task_finish(self, t, NODUS_ETIMEDOUT, (nodus_term){0});
    else if (t && !t->done && nodus_is_atom(msg, "$nodus_task_abandon"))
      task_finish(self, t, NODUS_ETIMEDOUT, (nodus_term){0});
    return;
  }
  const nodus_term *a = msg->v.items;
  if (msg->n == 3 && nodus_is_atom(&a[0], "nodus_call") &&
      nodus_equal(&a[1], &t->call_ref)) {
    on_started(self, t, &a[2]);
  } else if (msg->n == 2 && t->mref.type && nodus_equal(&a[0], &t->mref)) {
    nodus_demonitor(self, &t->mref);
    task_finish(self, t, 0, rt_copy(&a[1]));
  } else if (msg->n == 5 && nodus_is_atom(&a[0], "DOWN")) {
    if (t->mref.type && nodus_equal(&a[1], &t->mref)) {
      bool lost = nodus_is_atom(&a[4], "noconnection");
      task_finish(self, t, lost ? NODUS_ENOCONN : NODUS_EEXIT,
                  lost ? (nodus_term){0} : rt_copy(&a[4]));
    } else if (t->notify_mref.type && nodus_equal(&a[1], &t->notify_mref)) {
      nodus_term_free(&t->notify); /* nobody to tell any more */
      task_finish(self, t, NODUS_ESTATE, (nodus_term){0});
    }
  }
  /* {'EXIT', Task, _} from the link: the DOWN says the same. */
}

static void helper_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_task *t = nodus_proc_state(self);
  if (!t) return;
  nodus_proc_set_state(self, NULL);
  task_finish(NULL, t, NODUS_ESTATE, (nodus_term){0}); /* killed/closing */
  task_release(t);
}

/* On the loop: the helper, and the start_task call. */
static int task_begin(nodus_node *node, nodus_task *t) {
  nodus_proc_spec spec = {.on_message = helper_msg,
                          .on_exit = helper_exit,
                          .state = t,
                          .trap_exit = true};
  nodus_proc *self;
  int rc = rt_spawn(node, &spec, &self);
  if (rc) {
    task_finish(NULL, t, rc, (nodus_term){0});
    task_release(t);
    return rc;
  }
  t->helper = rt_copy(&self->pid);
  if (t->notify.type) nodus_monitor(self, &t->notify, &t->notify_mref);
  if (t->timeout_ms >= 0 && !t->threaded)
    nodus_send_after(self, (unsigned)t->timeout_ms, &self->pid,
                     rt_atom("$nodus_task_timeout"), NULL);
  /* Task.Supervisor: {start_task, [Owner, monitor], temporary, nil} with
   * Owner = {Node, NameOrPid, Pid}. */
  nodus_term owner = rt_tuple(3, nodus_atom_term(node->name),
                              rt_copy(&self->pid), rt_copy(&self->pid));
  nodus_term args;
  if ((rc = nodus_mk_list(&args, 2))) {
    nodus_term_free(&owner);
    task_finish(self, t, rc, (nodus_term){0});
    return 0;
  }
  nodus_list_set(&args, 0, owner);
  nodus_list_set(&args, 1, rt_atom("monitor"));
  rc = nodus_call_async(self, &t->sup,
                        rt_tuple(4, rt_atom("start_task"), args,
                                 rt_atom("temporary"), rt_atom("nil")),
                        -1, &t->call_ref);
  if (rc) task_finish(self, t, rc, (nodus_term){0});
  return 0;
}

static void begin_on_loop(nodus_node *node, void *arg) {
  (void)task_begin(node, arg);
}

static nodus_task *task_new(nodus_node *node, const nodus_term *sup,
                            const char *module, const char *function,
                            nodus_term args, bool threaded, int *rc) {
  nodus_task *t = calloc(1, sizeof *t);
  *rc = t ? 0 : NODUS_ENOMEM;
  if (t) {
    t->node = node;
    t->threaded = threaded;
    t->timeout_ms = -1;
    *rc = nodus_copy(&t->sup, sup);
  }
  if (!*rc && !nodus_is_proper_list(&args)) *rc = NODUS_EINVAL;
  if (!*rc)
    *rc = nodus_build(&t->mfa, "{~a, ~a, ~t}", module, function, args);
  else
    nodus_term_free(&args);
  if (*rc) {
    if (t) task_free(t);
    return NULL;
  }
  if (threaded) rt_handoff_init(&t->hand);
  return t;
}

int nodus_task_async(nodus_node *node, const nodus_term *supervisor,
                     const char *module, const char *function,
                     nodus_term args, nodus_task **task) {
  if (!node || !supervisor || !module || !function || !task ||
      (node->running && rt_on_loop(node))) {
    nodus_term_free(&args);
    return node && rt_on_loop(node) ? NODUS_ESTATE : NODUS_EINVAL;
  }
  int rc;
  nodus_task *t = task_new(node, supervisor, module, function, args, true, &rc);
  if (!t) return rc;
  if ((rc = nodus_node_post(node, begin_on_loop, t))) {
    task_free(t);
    return rc;
  }
  *task = t;
  return 0;
}

static void abandon_on_loop(nodus_node *node, void *arg) {
  nodus_task *t = arg;
  nodus_proc *self = t->helper.type ? nodus_proc_lookup(node, &t->helper) : NULL;
  if (self && !t->done) task_finish(self, t, NODUS_ETIMEDOUT, (nodus_term){0});
  task_release(t); /* the thread's reference, handed to us */
}

int nodus_task_await(nodus_task *t, int timeout_ms, nodus_term *result) {
  if (!t) return NODUS_EINVAL;
  if (result) *result = (nodus_term){0};
  rt_deadline until = rt_deadline_in(timeout_ms);
  int rc = NODUS_ETIMEDOUT;
  bool done = rt_handoff_take(&t->hand, &until, &rc, result);
  if (!done) rc = NODUS_ETIMEDOUT;
  if (done || nodus_node_post(t->node, abandon_on_loop, t)) task_release(t);
  return rc;
}

void nodus_task_shutdown(nodus_task *t) {
  if (!t) return;
  if (nodus_node_post(t->node, abandon_on_loop, t)) task_release(t);
}

int nodus_task_async_from(nodus_proc *self, const nodus_term *supervisor,
                          const char *module, const char *function,
                          nodus_term args, int timeout_ms, nodus_term *ref) {
  if (!self || !supervisor || !module || !function) {
    nodus_term_free(&args);
    return NODUS_EINVAL;
  }
  nodus_node *node = nodus_proc_node(self);
  int rc;
  nodus_task *t = task_new(node, supervisor, module, function, args, false, &rc);
  if (!t) return rc;
  t->timeout_ms = timeout_ms;
  if ((rc = nodus_copy(&t->notify, nodus_self(self))) ||
      (rc = nodus_make_ref(node, &t->id)) ||
      (ref && (rc = nodus_copy(ref, &t->id)))) {
    task_free(t);
    return rc;
  }
  return task_begin(node, t);
}

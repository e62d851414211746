/* The supervisor process: children, restarts, ordered shutdown.
 *
 * OTP's supervisor blocks while it shuts a child down (monitor, exit
 * signal, wait for DOWN or the shutdown time, then kill). Handlers here
 * never block, so a shutdown is an operation in progress: the process
 * stops one child at a time and, until the operation is over, keeps every
 * other message aside (deferred) and replays them afterwards in order.
 * Callers thus see the same order of effects as with OTP's supervisor. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otp/sup_internal.h"

#define DEFAULT_WORKER_SHUTDOWN_MS 5000

typedef struct sup_child {
  struct sup_child *prev, *next;
  uint64_t key;       /* names the child in our own timer messages */
  nodus_atom id;      /* NODUS_ATOM_EMPTY for dynamic children */
  nodus_child_start_fn start;
  void *arg;
  nodus_term args;    /* owned */
  int restart, shutdown_ms, type;
  nodus_term pid;     /* NONE while not running */
  bool restarting;    /* failed to restart; trying again */
  bool in_group;      /* stopped by a group restart: start it again */
} sup_child;

typedef struct deferred {
  struct deferred *next;
  nodus_term msg;
} deferred;

/* A start_child request from a thread whose C spec can't travel in a
 * message: the message carries the token, the spec waits here. */
typedef struct pending_start {
  struct pending_start *next;
  nodus_term token;
  sup_child *child;
} pending_start;

typedef enum { OP_NONE, OP_TERMINATE, OP_RESTART, OP_EXIT } op_kind;

typedef struct sup_state {
  int strategy, intensity, period_ms, max_children;
  bool tasks;
  sup_child *head, *tail, *tmpl;
  size_t n_children;
  uint64_t next_key;
  uint64_t *stamps; /* restart times (ms), ring of intensity + 1 */
  size_t n_stamps, stamp_head;
  nodus_term parent;
  pending_start *pending;
  deferred *dq_head, *dq_tail;
  bool replaying;
  /* the operation in progress */
  op_kind op;
  sup_child **stop_list;
  size_t stop_n, stop_i;
  nodus_term stop_mref, stop_tref;
  nodus_term op_from;    /* OP_TERMINATE: who gets ok */
  bool op_remove;        /* OP_TERMINATE: drop the child afterwards */
  nodus_term op_reason;  /* OP_EXIT */
  sup_child *restart_from;
  bool gave_up; /* OP_EXIT: the restart intensity was reached */
  void (*on_give_up)(nodus_node *node, void *arg);
  void *give_up_arg;
} sup_state;

static void sup_msg(nodus_proc *self, const nodus_term *msg);

/* ---- small helpers ----------------------------------------------------- */

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static bool is_dynamic(const sup_state *s) {
  return s->strategy == NODUS_SIMPLE_ONE_FOR_ONE;
}

static int effective_shutdown(const sup_child *c) {
  if (c->shutdown_ms != NODUS_SHUTDOWN_DEFAULT) return c->shutdown_ms;
  return c->type == NODUS_SUPERVISOR ? NODUS_SHUTDOWN_INFINITY
                                     : DEFAULT_WORKER_SHUTDOWN_MS;
}

static nodus_term error_reason(int rc) {
  return rt_tuple(2, rt_atom("nodus_error"), rt_atom(nodus_err_name(rc)));
}

static nodus_term ok_tuple(nodus_term v) {
  return rt_tuple(2, rt_atom("ok"), v);
}
static nodus_term error_tuple(nodus_term v) {
  return rt_tuple(2, rt_atom("error"), v);
}

static void child_free(sup_child *c) {
  if (!c) return;
  nodus_term_free(&c->args);
  nodus_term_free(&c->pid);
  free(c);
}

static sup_child *child_from_spec(sup_state *s, const nodus_child_spec *cs,
                                  int *rc) {
  sup_child *c = calloc(1, sizeof *c);
  *rc = c ? 0 : NODUS_ENOMEM;
  if (!c) return NULL;
  c->key = ++s->next_key;
  c->start = cs->start;
  c->arg = cs->arg;
  c->restart = cs->restart;
  c->shutdown_ms = cs->shutdown_ms;
  c->type = cs->type;
  c->id = NODUS_ATOM_EMPTY;
  if (cs->id && (*rc = nodus_atom_intern(cs->id, strlen(cs->id), &c->id))) {
    free(c);
    return NULL;
  }
  if (cs->args) *rc = nodus_copy(&c->args, cs->args);
  else c->args = nodus_nil();
  if (*rc || !cs->start || c->restart < NODUS_PERMANENT ||
      c->restart > NODUS_TEMPORARY ||
      (c->shutdown_ms < 0 && c->shutdown_ms != NODUS_SHUTDOWN_INFINITY &&
       c->shutdown_ms != NODUS_SHUTDOWN_BRUTAL)) {
    if (!*rc) *rc = NODUS_EINVAL;
    child_free(c);
    return NULL;
  }
  return c;
}

static void list_append(sup_state *s, sup_child *c) {
  c->next = NULL;
  c->prev = s->tail;
  if (s->tail) s->tail->next = c;
  else s->head = c;
  s->tail = c;
  s->n_children++;
}

static void list_remove(sup_state *s, sup_child *c) {
  if (c->prev) c->prev->next = c->next;
  else s->head = c->next;
  if (c->next) c->next->prev = c->prev;
  else s->tail = c->prev;
  s->n_children--;
  child_free(c);
}

static sup_child *find_by_id(sup_state *s, nodus_atom id) {
  for (sup_child *c = s->head; c; c = c->next)
    if (c->id == id && id != NODUS_ATOM_EMPTY) return c;
  return NULL;
}

static sup_child *find_by_pid(sup_state *s, const nodus_term *pid) {
  for (sup_child *c = s->head; c; c = c->next)
    if (c->pid.type == NODUS_T_PID && nodus_equal(&c->pid, pid)) return c;
  return NULL;
}

static sup_child *find_by_key(sup_state *s, uint64_t key) {
  for (sup_child *c = s->head; c; c = c->next)
    if (c->key == key) return c;
  return NULL;
}

static size_t running_count(const sup_state *s) {
  size_t n = 0;
  for (const sup_child *c = s->head; c; c = c->next)
    n += c->pid.type == NODUS_T_PID;
  return n;
}

/* ---- starting children --------------------------------------------------- */

/* Runs the child's start function as the supervisor. 0: running (or
 * ignored: pid stays NONE); else the code, *reason the Erlang reason. */
static int child_start(nodus_proc *self, sup_child *c, nodus_term *reason) {
  nodus_term pid = {0}, why = {0};
  int rc = c->start(self, &c->args, c->arg, &pid, &why);
  if (rc == NODUS_CHILD_IGNORE) {
    nodus_term_free(&pid);
    nodus_term_free(&why);
    return 0;
  }
  if (rc == 0 && pid.type != NODUS_T_PID) rc = NODUS_EBADTYPE;
  if (rc) {
    if (rc > 0) rc = NODUS_EINVAL; /* neither 0, ignore nor an error */
    nodus_term_free(&pid);
    if (reason)
      *reason = why.type != NODUS_T_NONE ? why /* the start function's */
                                         : error_reason(rc);
    else
      nodus_term_free(&why);
    return rc;
  }
  nodus_term_free(&why);
  nodus_term_free(&c->pid);
  c->pid = pid;
  c->restarting = false;
  return 0;
}

/* ---- restart intensity --------------------------------------------------- */

/* Records a restart; false when that makes more than intensity restarts
 * within the period (supervisor.erl add_restart/1). */
static bool add_restart(sup_state *s) {
  uint64_t now = now_ms();
  if (s->intensity <= 0) return false;
  s->stamps[s->stamp_head] = now;
  s->stamp_head = (s->stamp_head + 1) % s->n_stamps;
  size_t recent = 0;
  for (size_t i = 0; i < s->n_stamps; i++)
    if (s->stamps[i] && now - s->stamps[i] <= (uint64_t)s->period_ms) recent++;
  return recent <= (size_t)s->intensity;
}

/* ---- the operation in progress ------------------------------------------ */

static void begin_stop(nodus_proc *self, sup_state *s, op_kind op);
static void op_done(nodus_proc *self, sup_state *s);
static void restart_group(nodus_proc *self, sup_state *s, sup_child *from);
static void handle(nodus_proc *self, sup_state *s, const nodus_term *msg);

/* Stops stop_list[stop_i] if it runs, or moves on; when the list is done
 * the operation completes. */
static void stop_next(nodus_proc *self, sup_state *s) {
  while (s->stop_i < s->stop_n) {
    sup_child *c = s->stop_list[s->stop_i];
    if (c->pid.type != NODUS_T_PID) {
      s->stop_i++;
      continue;
    }
    /* Monitor, then unlink: the DOWN tells when it is gone and with what
     * reason, and its link's EXIT no longer reaches us as a crash. */
    if (nodus_monitor(self, &c->pid, &s->stop_mref)) {
      nodus_term_free(&c->pid);
      s->stop_i++;
      continue;
    }
    nodus_unlink(self, &c->pid);
    int sd = effective_shutdown(c);
    nodus_term why = rt_atom(sd == NODUS_SHUTDOWN_BRUTAL ? "kill" : "shutdown");
    nodus_exit_signal(self, &c->pid, &why);
    nodus_term_free(&why);
    if (sd > 0)
      nodus_send_after(self, (unsigned)sd, nodus_self(self),
                       rt_tuple(2, rt_atom("$nodus_sup_kill"),
                                rt_copy(&s->stop_mref)),
                       &s->stop_tref);
    return;
  }
  op_done(self, s);
}

/* The child being stopped is gone. */
static void stopped_one(nodus_proc *self, sup_state *s) {
  sup_child *c = s->stop_list[s->stop_i];
  nodus_term_free(&c->pid);
  nodus_term_free(&s->stop_mref);
  if (s->stop_tref.type) nodus_cancel_timer(self, &s->stop_tref);
  nodus_term_free(&s->stop_tref);
  s->stop_i++;
  stop_next(self, s);
}

/* Stops `list` (taken, in stopping order), then finishes op. */
static void begin_stop_list(nodus_proc *self, sup_state *s, op_kind op,
                            sup_child **list, size_t n) {
  s->op = op;
  free(s->stop_list);
  s->stop_list = list;
  s->stop_n = n;
  s->stop_i = 0;
  stop_next(self, s);
}

/* Stops every running child from `from` to the tail, last started first. */
static void begin_stop_from(nodus_proc *self, sup_state *s, op_kind op,
                            sup_child *from) {
  size_t n = 0;
  for (sup_child *c = from; c; c = c->next) n++;
  sup_child **list = calloc(n ? n : 1, sizeof *list);
  if (!list) { /* no memory: kill through the links instead of in order */
    n = 0;
  }
  size_t i = 0;
  for (sup_child *c = s->tail; list && c; c = c->prev) {
    list[i++] = c;
    if (c == from) break;
  }
  begin_stop_list(self, s, op, list, list ? i : 0);
}

static void begin_stop(nodus_proc *self, sup_state *s, op_kind op) {
  begin_stop_from(self, s, op, s->head);
}

/* Ends the supervisor with reason (taken) after its children. */
static void begin_exit(nodus_proc *self, sup_state *s, nodus_term reason) {
  nodus_term_free(&s->op_reason);
  s->op_reason = reason;
  begin_stop(self, s, OP_EXIT);
}

static void replay_deferred(nodus_proc *self, sup_state *s) {
  if (s->replaying) return;
  s->replaying = true;
  while (s->op == OP_NONE && s->dq_head && !self->exiting) {
    deferred *d = s->dq_head;
    s->dq_head = d->next;
    if (!s->dq_head) s->dq_tail = NULL;
    handle(self, s, &d->msg);
    nodus_term_free(&d->msg);
    free(d);
  }
  s->replaying = false;
}

static void op_done(nodus_proc *self, sup_state *s) {
  op_kind op = s->op;
  sup_child *first = s->stop_n ? s->stop_list[0] : NULL;
  s->op = OP_NONE;
  free(s->stop_list);
  s->stop_list = NULL;
  s->stop_n = s->stop_i = 0;
  if (op == OP_EXIT) {
    /* nodus_supervisor_stop: the caller learns it is over from the
     * reply, sent just before the exit so nothing can follow it. */
    if (s->op_from.type) nodus_gen_reply(self, &s->op_from, rt_atom("ok"));
    if (s->gave_up && s->on_give_up && !self->node->closing)
      s->on_give_up(nodus_proc_node(self), s->give_up_arg);
    nodus_exit(self, &s->op_reason);
    return;
  }
  if (op == OP_TERMINATE) {
    if (s->op_remove && first) list_remove(s, first);
    if (s->op_from.type)
      nodus_gen_reply(self, &s->op_from, rt_atom("ok"));
    nodus_term_free(&s->op_from);
  } else if (op == OP_RESTART) {
    restart_group(self, s, s->restart_from);
  }
  replay_deferred(self, s);
}

/* ---- children that ended ------------------------------------------------- */

static bool is_shutdown_reason(const nodus_term *r) {
  return nodus_is_atom(r, "normal") || nodus_is_atom(r, "shutdown") ||
         (r->type == NODUS_T_TUPLE && r->n == 2 &&
          nodus_is_atom(&r->v.items[0], "shutdown"));
}

static void try_again_later(nodus_proc *self, sup_child *c) {
  c->restarting = true;
  nodus_send(nodus_proc_node(self), nodus_self(self),
             rt_tuple(2, rt_atom("$nodus_sup_try_again"),
                      nodus_int((int64_t)c->key)));
}

/* Starts the children of a group restart (or one child) in order from
 * `from`; a start that fails is retried by a message to ourselves, each
 * try counting against the intensity, as OTP's try_again_restart. */
static void restart_group(nodus_proc *self, sup_state *s, sup_child *from) {
  for (sup_child *c = from, *next; c; c = next) {
    next = c->next;
    if (!c->in_group && !c->restarting) continue;
    c->in_group = false;
    if (c->restart == NODUS_TEMPORARY) {
      list_remove(s, c);
      continue;
    }
    nodus_term reason = {0};
    if (child_start(self, c, &reason)) {
      nodus_log(nodus_proc_node(self), NODUS_LOG_WARN, "supervisor",
                "child failed to restart; trying again");
      nodus_term_free(&reason);
      /* The rest wait for this one: mark them and retry from here. */
      for (sup_child *r = c->next; r; r = r->next)
        if (r->in_group) {
          r->in_group = false;
          r->restarting = true;
        }
      try_again_later(self, c);
      return;
    }
  }
}

/* More than intensity restarts in the period: as supervisor.erl, report
 * reached_max_restart_intensity, stop every child, exit with shutdown. */
static void give_up(nodus_proc *self, sup_state *s, const sup_child *c,
                    const nodus_term *reason) {
  nodus_node *node = nodus_proc_node(self);
  nodus_print_opts po = {.local_node = nodus_node_name(node)};
  char *who = NULL, *why = NULL;
  if (self->reg_name == NODUS_ATOM_EMPTY) nodus_print(nodus_self(self), &po, &who, NULL);
  if (reason) nodus_print(reason, &po, &why, NULL);
  nodus_log(node, NODUS_LOG_ERROR, "supervisor",
            "supervisor %s: reached_max_restart_intensity (more than %d "
            "restarts in %d ms; last: child %s %s %.200s); shutting down",
            who ? who : nodus_atom_text(self->reg_name, NULL), s->intensity,
            s->period_ms,
            c->id != NODUS_ATOM_EMPTY ? nodus_atom_text(c->id, NULL)
                                      : "(dynamic)",
            reason ? "exited with" : "failed to restart", why ? why : "");
  free(who);
  free(why);
  s->gave_up = true;
  begin_exit(self, s, rt_atom("shutdown"));
}

static void child_died(nodus_proc *self, sup_state *s, sup_child *c,
                       const nodus_term *reason) {
  nodus_term_free(&c->pid);
  if (c->restart == NODUS_TEMPORARY ||
      (c->restart == NODUS_TRANSIENT && is_shutdown_reason(reason))) {
    /* Not restarted. Static transient children keep their spec. */
    if (c->restart == NODUS_TEMPORARY || is_dynamic(s)) list_remove(s, c);
    return;
  }
  if (!add_restart(s)) {
    give_up(self, s, c, reason);
    return;
  }
  switch (s->strategy) {
    case NODUS_ONE_FOR_ALL:
    case NODUS_REST_FOR_ONE: {
      sup_child *from = s->strategy == NODUS_ONE_FOR_ALL ? s->head : c;
      for (sup_child *r = from; r; r = r->next)
        r->in_group = r == c || r->pid.type == NODUS_T_PID;
      s->restart_from = from;
      begin_stop_from(self, s, OP_RESTART, from);
      return;
    }
    default:
      c->in_group = true;
      restart_group(self, s, c);
      return;
  }
}

static void try_again(nodus_proc *self, sup_state *s, uint64_t key) {
  sup_child *c = find_by_key(s, key);
  if (!c || !c->restarting || c->pid.type == NODUS_T_PID) return;
  if (!add_restart(s)) {
    give_up(self, s, c, NULL);
    return;
  }
  restart_group(self, s, c);
}

/* ---- requests (supervisor.erl's call protocol) -------------------------- */

static nodus_term atom_or_undefined(nodus_atom a) {
  return a == NODUS_ATOM_EMPTY ? nodus_atom_term(NODUS_ATOM_UNDEFINED)
                               : nodus_atom_term(a);
}

static nodus_term which_children(sup_state *s) {
  nodus_term l = nodus_nil();
  if (!s->n_children || nodus_mk_list(&l, s->n_children)) return nodus_nil();
  size_t i = 0;
  for (sup_child *c = s->head; c; c = c->next, i++) {
    nodus_term who = c->pid.type == NODUS_T_PID ? rt_copy(&c->pid)
                     : c->restarting ? rt_atom("restarting")
                                     : rt_atom("undefined");
    nodus_list_set(&l, i,
                   rt_tuple(4, atom_or_undefined(c->id), who,
                            rt_atom(c->type == NODUS_SUPERVISOR ? "supervisor"
                                                                : "worker"),
                            nodus_nil()));
  }
  return l;
}

static nodus_term count_children(sup_state *s) {
  int64_t sups = 0, workers = 0;
  for (sup_child *c = s->head; c; c = c->next)
    if (c->type == NODUS_SUPERVISOR) sups++;
    else workers++;
  nodus_term l;
  if (nodus_build(&l, "[{specs, ~i}, {active, ~i}, {supervisors, ~i}, "
                      "{workers, ~i}]",
                  (int64_t)s->n_children, (int64_t)running_count(s), sups,
                  workers))
    return nodus_nil();
  return l;
}

static nodus_term shutdown_term(int sd) {
  if (sd == NODUS_SHUTDOWN_BRUTAL) return rt_atom("brutal_kill");
  if (sd == NODUS_SHUTDOWN_INFINITY) return rt_atom("infinity");
  return nodus_int(sd);
}

static nodus_term childspec_map(sup_child *c) {
  static const char *const restarts[] = {"permanent", "transient",
                                         "temporary"};
  nodus_term m;
  if (nodus_build(&m, "#{id => ~t, start => {nodus, start_child, ~t}, "
                      "restart => ~a, shutdown => ~t, type => ~a, "
                      "modules => []}",
                  atom_or_undefined(c->id), rt_copy(&c->args),
                  restarts[c->restart], shutdown_term(effective_shutdown(c)),
                  c->type == NODUS_SUPERVISOR ? "supervisor" : "worker"))
    return rt_atom("undefined");
  return m;
}

/* Appends and starts a static child; the reply as supervisor.erl gives
 * it. Takes c. */
static nodus_term add_static(nodus_proc *self, sup_state *s, sup_child *c) {
  if (is_dynamic(s)) {
    child_free(c);
    return error_tuple(rt_atom("simple_one_for_one"));
  }
  if (c->id == NODUS_ATOM_EMPTY || find_by_id(s, c->id)) {
    sup_child *old = find_by_id(s, c->id);
    nodus_term r = old && old->pid.type == NODUS_T_PID
                       ? error_tuple(rt_tuple(2, rt_atom("already_started"),
                                              rt_copy(&old->pid)))
                       : error_tuple(rt_atom("already_present"));
    child_free(c);
    return r;
  }
  nodus_term reason = {0};
  if (child_start(self, c, &reason)) {
    child_free(c);
    return error_tuple(reason);
  }
  list_append(s, c);
  return ok_tuple(c->pid.type == NODUS_T_PID ? rt_copy(&c->pid)
                                              : rt_atom("undefined"));
}

/* Starts a dynamic child: the template with args ++ extra. restart and
 * shutdown override the template's when >= 0 / not DEFAULT. */
static nodus_term add_dynamic(nodus_proc *self, sup_state *s,
                              const nodus_term *extra, int restart,
                              int shutdown_ms) {
  if (!is_dynamic(s)) return error_tuple(rt_atom("badarg"));
  if (!nodus_is_proper_list(extra)) return error_tuple(rt_atom("badarg"));
  if (s->max_children > 0 && s->n_children >= (size_t)s->max_children)
    return error_tuple(rt_atom("max_children"));
  sup_child *c = calloc(1, sizeof *c);
  if (!c) return error_tuple(error_reason(NODUS_ENOMEM));
  *c = *s->tmpl;
  c->prev = c->next = NULL;
  c->key = ++s->next_key;
  c->pid = (nodus_term){0};
  if (restart >= 0) c->restart = restart;
  if (shutdown_ms != NODUS_SHUTDOWN_DEFAULT) c->shutdown_ms = shutdown_ms;
  /* args = template args ++ extra */
  size_t a = s->tmpl->args.type == NODUS_T_LIST ? s->tmpl->args.n : 0;
  size_t b = extra->type == NODUS_T_LIST ? extra->n : 0;
  c->args = nodus_nil();
  if (a + b && nodus_mk_list(&c->args, a + b)) {
    free(c);
    return error_tuple(error_reason(NODUS_ENOMEM));
  }
  for (size_t i = 0; i < a; i++)
    nodus_list_set(&c->args, i, rt_copy(&s->tmpl->args.v.items[i]));
  for (size_t i = 0; i < b; i++)
    nodus_list_set(&c->args, a + i, rt_copy(&extra->v.items[i]));
  nodus_term reason = {0};
  if (child_start(self, c, &reason)) {
    child_free(c);
    return error_tuple(reason);
  }
  if (c->pid.type != NODUS_T_PID) { /* ignore: nothing to keep */
    child_free(c);
    return ok_tuple(rt_atom("undefined"));
  }
  list_append(s, c);
  return ok_tuple(rt_copy(&c->pid));
}

static int restart_of(const nodus_term *t) {
  if (nodus_is_atom(t, "permanent")) return NODUS_PERMANENT;
  if (nodus_is_atom(t, "transient")) return NODUS_TRANSIENT;
  if (nodus_is_atom(t, "temporary")) return NODUS_TEMPORARY;
  return -1;
}

static int shutdown_of(const nodus_term *t) {
  int64_t v;
  if (nodus_is_atom(t, "brutal_kill")) return NODUS_SHUTDOWN_BRUTAL;
  if (nodus_is_atom(t, "infinity")) return NODUS_SHUTDOWN_INFINITY;
  if (!nodus_get_int64(t, &v) && v > 0 && v < 0x7fffffff) return (int)v;
  return NODUS_SHUTDOWN_DEFAULT;
}

/* terminate_child: starts the stop; the reply comes when it is done. */
static void terminate_child(nodus_proc *self, sup_state *s,
                            const nodus_term *from, const nodus_term *what) {
  sup_child *c = NULL;
  if (is_dynamic(s)) {
    if (what->type != NODUS_T_PID) {
      nodus_gen_reply(self, from, error_tuple(rt_atom("simple_one_for_one")));
      return;
    }
    c = find_by_pid(s, what);
  } else if (what->type == NODUS_T_ATOM) {
    c = find_by_id(s, what->v.atom);
  } else if (what->type == NODUS_T_PID) {
    c = find_by_pid(s, what);
  }
  if (!c) {
    nodus_gen_reply(self, from, error_tuple(rt_atom("not_found")));
    return;
  }
  sup_child **list = malloc(sizeof *list);
  if (!list) {
    nodus_gen_reply(self, from, error_tuple(error_reason(NODUS_ENOMEM)));
    return;
  }
  list[0] = c;
  nodus_term_free(&s->op_from);
  s->op_from = rt_copy(from);
  /* Dynamic and temporary children are forgotten once stopped. */
  s->op_remove = is_dynamic(s) || c->restart == NODUS_TEMPORARY;
  begin_stop_list(self, s, OP_TERMINATE, list, 1);
}

static void handle_call(nodus_proc *self, sup_state *s,
                        const nodus_term *from, const nodus_term *req) {
  const nodus_term *a0 = req->type == NODUS_T_TUPLE && req->n >= 1
                             ? &req->v.items[0] : NULL;
  const nodus_term *a1 = a0 && req->n >= 2 ? &req->v.items[1] : NULL;
  nodus_term reply = {0};
  if (nodus_is_atom(req, "which_children")) {
    reply = which_children(s);
  } else if (nodus_is_atom(req, "count_children")) {
    reply = count_children(s);
  } else if (a1 && req->n == 2 && nodus_is_atom(a0, "terminate_child")) {
    terminate_child(self, s, from, a1);
    return;
  } else if (a1 && req->n == 2 && nodus_is_atom(a0, "start_child")) {
    reply = is_dynamic(s) && nodus_is_proper_list(a1)
                ? add_dynamic(self, s, a1, -1, NODUS_SHUTDOWN_DEFAULT)
                : error_tuple(rt_atom("badarg")); /* no C spec in a term */
  } else if (a1 && req->n == 2 && nodus_is_atom(a0, "$nodus_start_child")) {
    pending_start **pp = &s->pending, *p = NULL;
    for (; *pp; pp = &(*pp)->next)
      if (nodus_equal(&(*pp)->token, a1)) {
        p = *pp;
        *pp = p->next;
        break;
      }
    if (p) {
      reply = add_static(self, s, p->child);
      nodus_term_free(&p->token);
      free(p);
    } else {
      reply = error_tuple(rt_atom("badarg"));
    }
  } else if (a1 && req->n == 2 && nodus_is_atom(a0, "$nodus_stop")) {
    nodus_term_free(&s->op_from);
    s->op_from = rt_copy(from);
    begin_exit(self, s, rt_copy(a1));
    return;
  } else if (s->tasks && req->n == 4 && nodus_is_atom(a0, "start_task")) {
    reply = add_dynamic(self, s, a1, restart_of(&req->v.items[2]),
                        shutdown_of(&req->v.items[3]));
  } else if (a1 && req->n == 2 && a1->type == NODUS_T_ATOM &&
             (nodus_is_atom(a0, "restart_child") ||
              nodus_is_atom(a0, "delete_child") ||
              nodus_is_atom(a0, "get_childspec"))) {
    sup_child *c = find_by_id(s, a1->v.atom);
    if (is_dynamic(s)) {
      reply = error_tuple(rt_atom("simple_one_for_one"));
    } else if (!c) {
      reply = error_tuple(rt_atom("not_found"));
    } else if (nodus_is_atom(a0, "get_childspec")) {
      reply = ok_tuple(childspec_map(c));
    } else if (c->pid.type == NODUS_T_PID || c->restarting) {
      reply = error_tuple(rt_atom(c->restarting ? "restarting" : "running"));
    } else if (nodus_is_atom(a0, "delete_child")) {
      list_remove(s, c);
      reply = rt_atom("ok");
    } else {
      nodus_term reason = {0};
      reply = child_start(self, c, &reason)
                  ? error_tuple(reason)
                  : ok_tuple(c->pid.type == NODUS_T_PID ? rt_copy(&c->pid)
                                                        : rt_atom("undefined"));
    }
  } else if (a1 && req->n == 2 && nodus_is_atom(a0, "get_childspec") &&
             a1->type == NODUS_T_PID) {
    sup_child *c = find_by_pid(s, a1);
    reply = c ? ok_tuple(childspec_map(c)) : error_tuple(rt_atom("not_found"));
  } else {
    reply = error_tuple(rt_tuple(2, rt_atom("unknown_call"), rt_copy(req)));
  }
  nodus_gen_reply(self, from, reply);
}

/* ---- messages ------------------------------------------------------------ */

/* A message that belongs to the operation in progress. */
static bool op_message(nodus_proc *self, sup_state *s, const nodus_term *msg) {
  if (s->op == OP_NONE || !s->stop_mref.type) return false;
  if (msg->type != NODUS_T_TUPLE) return false;
  if (msg->n == 5 && nodus_is_atom(&msg->v.items[0], "DOWN") &&
      nodus_equal(&msg->v.items[1], &s->stop_mref)) {
    stopped_one(self, s);
    return true;
  }
  if (msg->n == 2 && nodus_is_atom(&msg->v.items[0], "$nodus_sup_kill")) {
    if (nodus_equal(&msg->v.items[1], &s->stop_mref)) {
      /* The shutdown time passed: kill, and wait on for the DOWN. */
      nodus_term_free(&s->stop_tref);
      sup_child *c = s->stop_list[s->stop_i];
      nodus_term kill = rt_atom("kill");
      nodus_exit_signal(self, &c->pid, &kill);
    }
    return true; /* stale timers are dropped */
  }
  return false;
}

static void handle(nodus_proc *self, sup_state *s, const nodus_term *msg) {
  if (msg->type != NODUS_T_TUPLE || msg->n < 2) return;
  const nodus_term *tag = &msg->v.items[0];
  if (msg->n == 3 && nodus_is_atom(tag, "EXIT")) {
    const nodus_term *from = &msg->v.items[1], *reason = &msg->v.items[2];
    if (s->parent.type && nodus_equal(from, &s->parent)) {
      begin_exit(self, s, rt_copy(reason));
      return;
    }
    sup_child *c = find_by_pid(s, from);
    if (c) child_died(self, s, c, reason);
    return; /* an EXIT of a child we already let go: nothing to do */
  }
  if (msg->n == 3 && nodus_is_atom(tag, "$gen_call") &&
      msg->v.items[1].type == NODUS_T_TUPLE && msg->v.items[1].n == 2) {
    handle_call(self, s, &msg->v.items[1], &msg->v.items[2]);
    return;
  }
  int64_t key;
  if (msg->n == 2 && nodus_is_atom(tag, "$nodus_sup_try_again") &&
      !nodus_get_int64(&msg->v.items[1], &key))
    try_again(self, s, (uint64_t)key);
  /* Anything else (late timers, stray messages) is dropped, as
   * supervisor.erl logs and drops unexpected messages. */
}

static void sup_msg(nodus_proc *self, const nodus_term *msg) {
  sup_state *s = nodus_proc_state(self);
  if (!s || op_message(self, s, msg)) return;
  if (s->op != OP_NONE) {
    /* Busy stopping children: keep it for later, in order. */
    deferred *d = malloc(sizeof *d);
    if (!d || nodus_copy(&d->msg, msg)) {
      free(d);
      nodus_log(nodus_proc_node(self), NODUS_LOG_ERROR, "supervisor",
                "out of memory: message lost");
      return;
    }
    d->next = NULL;
    if (s->dq_tail) s->dq_tail->next = d;
    else s->dq_head = d;
    s->dq_tail = d;
    return;
  }
  handle(self, s, msg);
}

static void sup_free(sup_state *s) {
  while (s->head) list_remove(s, s->head);
  child_free(s->tmpl);
  while (s->pending) {
    pending_start *p = s->pending;
    s->pending = p->next;
    child_free(p->child);
    nodus_term_free(&p->token);
    free(p);
  }
  while (s->dq_head) {
    deferred *d = s->dq_head;
    s->dq_head = d->next;
    nodus_term_free(&d->msg);
    free(d);
  }
  free(s->stop_list);
  free(s->stamps);
  nodus_term_free(&s->parent);
  nodus_term_free(&s->stop_mref);
  nodus_term_free(&s->stop_tref);
  nodus_term_free(&s->op_from);
  nodus_term_free(&s->op_reason);
  free(s);
}

/* However the supervisor ends, its state goes; children still linked get
 * its exit signal from the runtime. */
static void sup_exit(nodus_proc *self, const nodus_term *reason) {
  sup_state *s = nodus_proc_state(self);
  if (!s) return;
  nodus_proc_set_state(self, NULL);
  sup_free(s);
}

/* ---- starting a supervisor ----------------------------------------------- */

static sup_state *state_new(const nodus_sup_spec *spec, bool tasks, int *rc) {
  sup_state *s = calloc(1, sizeof *s);
  *rc = s ? 0 : NODUS_ENOMEM;
  if (!s) return NULL;
  s->strategy = spec->strategy;
  s->intensity = spec->intensity;
  s->period_ms = spec->period_ms;
  if (!s->intensity && !s->period_ms) {
    s->intensity = 1;
    s->period_ms = 5000;
  }
  s->max_children = spec->max_children;
  s->tasks = tasks;
  s->on_give_up = spec->on_give_up;
  s->give_up_arg = spec->give_up_arg;
  s->n_stamps = (size_t)(s->intensity > 0 ? s->intensity : 0) + 1;
  s->stamps = calloc(s->n_stamps, sizeof *s->stamps);
  if (!s->stamps || spec->strategy < NODUS_ONE_FOR_ONE ||
      spec->strategy > NODUS_SIMPLE_ONE_FOR_ONE || s->intensity < 0 ||
      s->period_ms <= 0 || (spec->n_children && !spec->children) ||
      (spec->strategy == NODUS_SIMPLE_ONE_FOR_ONE && spec->n_children != 1)) {
    *rc = s->stamps ? NODUS_EINVAL : NODUS_ENOMEM;
    sup_free(s);
    return NULL;
  }
  if (spec->strategy == NODUS_SIMPLE_ONE_FOR_ONE) {
    s->tmpl = child_from_spec(s, &spec->children[0], rc);
    if (!s->tmpl) {
      sup_free(s);
      return NULL;
    }
    s->tmpl->id = NODUS_ATOM_EMPTY;
  }
  return s;
}

struct sup_start {
  nodus_proc *parent;
  const nodus_sup_spec *spec;
  bool tasks;
  nodus_term *pid, *reason;
  int rc;
};

/* On the loop: spawn, then start the children as the new process. */
static void start_on_loop(nodus_node *node, void *arg) {
  struct sup_start *st = arg;
  const nodus_sup_spec *spec = st->spec;
  sup_state *s = state_new(spec, st->tasks, &st->rc);
  if (!s) return;
  nodus_proc_spec ps = {.on_message = sup_msg,
                        .on_exit = sup_exit,
                        .state = s,
                        .register_name = spec->name,
                        .trap_exit = true};
  nodus_term pid;
  st->rc = st->parent ? nodus_spawn_from(st->parent, &ps, true, &pid)
                      : nodus_spawn(node, &ps, &pid);
  if (st->rc) {
    sup_free(s);
    return;
  }
  if (st->parent) s->parent = rt_copy(nodus_self(st->parent));
  nodus_proc *self = nodus_proc_lookup(node, &pid);
  nodus_term failure = {0};
  self->running = true; /* the children's start functions run as us */
  for (size_t i = 0; !is_dynamic(s) && i < spec->n_children; i++) {
    int rc;
    sup_child *c = child_from_spec(s, &spec->children[i], &rc);
    nodus_term reason = {0};
    if (c && (!c->id || find_by_id(s, c->id))) {
      rc = NODUS_EINVAL; /* ids must be given and unique */
      child_free(c);
      c = NULL;
    }
    if (c && child_start(self, c, &reason)) {
      failure = rt_tuple(2, rt_atom("shutdown"),
                         rt_tuple(3, rt_atom("failed_to_start_child"),
                                  nodus_atom_term(c->id), reason));
      child_free(c);
      break;
    }
    if (!c) {
      failure = rt_tuple(2, rt_atom("shutdown"),
                         rt_tuple(3, rt_atom("start_error"),
                                  nodus_int((int64_t)i), error_reason(rc)));
      break;
    }
    list_append(s, c);
  }
  self->running = false;
  if (failure.type == NODUS_T_NONE && !self->exiting) {
    if (st->pid) *st->pid = pid;
    else nodus_term_free(&pid);
    return;
  }
  /* A child failed: the ones started go, last first. Their shutdown is
   * not waited for (the caller can't be kept waiting on the loop); the
   * signal is `shutdown`, or kill for brutal_kill children. */
  for (sup_child *c = s->tail; c; c = c->prev) {
    if (c->pid.type != NODUS_T_PID) continue;
    nodus_unlink(self, &c->pid);
    nodus_term why = rt_atom(effective_shutdown(c) == NODUS_SHUTDOWN_BRUTAL
                                 ? "kill" : "shutdown");
    nodus_exit_signal(self, &c->pid, &why);
  }
  if (failure.type == NODUS_T_NONE) failure = rt_copy(&self->exit_reason);
  self->exiting = false;
  rt_proc_exit(self, &failure); /* sup_exit frees s */
  nodus_term_free(&pid);
  if (st->reason) *st->reason = failure;
  else nodus_term_free(&failure);
  st->rc = NODUS_EEXIT;
}

int otp_sup_start(nodus_node *node, nodus_proc *parent,
                  const nodus_sup_spec *spec, bool tasks, nodus_term *pid,
                  nodus_term *reason) {
  if (pid) *pid = (nodus_term){0};
  if (reason) *reason = (nodus_term){0};
  if (!node || !spec) return NODUS_EINVAL;
  struct sup_start st = {parent, spec, tasks, pid, reason, 0};
  if (parent) {
    start_on_loop(node, &st);
    return st.rc;
  }
  int rc = nodus_node_call(node, start_on_loop, &st);
  return rc ? rc : st.rc;
}

int nodus_supervisor_start(nodus_node *node, const nodus_sup_spec *spec,
                           nodus_term *pid, nodus_term *reason) {
  return otp_sup_start(node, NULL, spec, false, pid, reason);
}

int nodus_supervisor_start_link(nodus_proc *self, const nodus_sup_spec *spec,
                                nodus_term *pid, nodus_term *reason) {
  if (!self) {
    if (pid) *pid = (nodus_term){0};
    if (reason) *reason = (nodus_term){0};
    return NODUS_EINVAL;
  }
  return otp_sup_start(nodus_proc_node(self), self, spec, false, pid, reason);
}

/* ---- for sup_api.c: a start_child whose spec stays on this node --------- */

/* On the loop: parks a copy of spec on the supervisor behind a fresh
 * token, which the start_child request then names. */
int otp_sup_park_child(nodus_node *node, const nodus_term *sup,
                       const nodus_child_spec *spec, nodus_term *token) {
  nodus_proc *p = sup->type == NODUS_T_ATOM
                      ? rt_proc_by_name(node, sup->v.atom)
                      : nodus_proc_lookup(node, sup);
  if (!p || p->spec.on_message != sup_msg || !p->spec.state)
    return NODUS_ENOPROC;
  sup_state *s = p->spec.state;
  int rc;
  pending_start *ps = calloc(1, sizeof *ps);
  if (!ps) return NODUS_ENOMEM;
  ps->child = child_from_spec(s, spec, &rc);
  if (!rc) rc = nodus_make_ref(node, &ps->token);
  if (!rc) rc = nodus_copy(token, &ps->token);
  if (rc) {
    child_free(ps->child);
    nodus_term_free(&ps->token);
    free(ps);
    return rc;
  }
  ps->next = s->pending;
  s->pending = ps;
  return 0;
}

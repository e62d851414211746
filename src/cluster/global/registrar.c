/* Registrations and locks asked for by C code.
 *
 * The registrar (global.erl's the_registrar) runs each register,
 * re-register and unregister under the cluster lock {global, Registrar}
 * set as trans_all_known/1 sets it: on the boss first, then on this node
 * and every known node, checking that no node became known meanwhile;
 * a refusal anywhere backs off (global's random_sleep) and tries again.
 * With the lock set it checks the name and multi_calls {register, ...}
 * (or {unregister, Name}) to every node, so a registration is atomic
 * against BEAM's and against syncs. Requests queued while it waits for
 * the lock are done under the same lock, in order, one multi_call each.
 *
 * A set_lock from C gets a process of its own that holds the lock (its
 * pid is the holder other nodes monitor) until del_lock. */
#include <stdlib.h>
#include <string.h>

#include "cluster/global/global_internal.h"
#include "cluster/global/requests.h"


static nodus_term nodes_with_self(gl_server *g, const nodus_term *known) {
  nodus_term me = nodus_atom_term(g->self_node), l;
  size_t n = known->type == NODUS_T_LIST ? known->n : 0;
  if (nodus_mk_list(&l, n + 1)) return nodus_nil();
  nodus_list_set(&l, 0, me);
  for (size_t i = 0; i < n; i++) nodus_list_set(&l, i + 1, gl_copy(&known->v.items[i]));
  return l;
}

static nodus_atom max_node(const nodus_term *nodes) {
  nodus_atom best = 0;
  const nodus_term *bt = NULL;
  for (size_t i = 0; nodes->type == NODUS_T_LIST && i < nodes->n; i++) {
    const nodus_term *e = &nodes->v.items[i];
    if (e->type != NODUS_T_ATOM) continue;
    if (!bt || nodus_compare(e, bt) > 0) {
      bt = e;
      best = e->v.atom;
    }
  }
  return best;
}

static nodus_term without(const nodus_term *nodes, nodus_atom a) {
  termvec v = {0};
  for (size_t i = 0; nodes->type == NODUS_T_LIST && i < nodes->n; i++)
    if (!(nodes->v.items[i].type == NODUS_T_ATOM &&
          nodes->v.items[i].v.atom == a))
      termvec_push(&v, &nodes->v.items[i]);
  nodus_term l = nodus_nil();
  termvec_to_list(&v, &l);
  termvec_free(&v);
  return l;
}

/* random_sleep/1's back-off: up to 125 ms, doubling, at most 8 s. */
static unsigned backoff_ms(unsigned times) {
  unsigned tmax = times > 5 ? 8000 : ((1u << times) * 1000) / 8;
  return 1 + (unsigned)rand() % tmax;
}

/* ---- the lock steps both kinds of process share ------------------------------ */

/* A set_lock_on_nodes/2 in flight: the multi_call and what it is for. */
typedef enum {
  S_NONE,
  S_SET_BOSS,  /* registrar: the boss */
  S_SET_ALL,   /* registrar: every node; holder: its nodes */
  S_UNDO,      /* del_lock where it was set, after a refusal */
  S_WORK,      /* registrar: the request's multi_call */
  S_DEL_REST,  /* holder: del_lock on its nodes */
  S_SLEEP,     /* backing off */
} step;

static nodus_term lock_req(const char *op, const nodus_term *id) {
  nodus_term r = {0};
  nodus_build(&r, "{~a, ~t}", op, gl_copy(id));
  return r;
}

/* ---- the registrar ----------------------------------------------------------- */

typedef struct registrar {
  gl_server *g;
  nodus_proc *self;
  gl_req *queue, *queue_tail;
  gl_req *batch; /* the requests under the current lock */
  gl_req *doing;
  step st;
  unsigned times;
  nodus_term id, known, nodes, undo_nodes;
  nodus_atom boss;
  gl_mcall mc;
} registrar;

static void reg_next(registrar *r);
static void reg_work(registrar *r);

static void call(registrar *r, step st, const nodus_term *nodes,
                 nodus_term req) {
  r->st = st;
  /* With nobody to ask it is complete at once: callers check. */
  gl_mcall_start(&r->mc, r->self, nodes, &req);
  nodus_term_free(&req);
}

static bool mcall_done_now(registrar *r) { return !gl_mcall_active(&r->mc); }

/* Locks: try the boss. */
static void reg_lock_boss(registrar *r) {
  gl_server *g = r->g;
  nodus_term_free(&r->known);
  nodus_term_free(&r->nodes);
  r->known = gl_known_list(g);
  r->nodes = nodes_with_self(g, &r->known);
  r->boss = max_node(&r->nodes);
  nodus_term boss = nodus_atom_term(r->boss), l;
  if (nodus_mk_list(&l, 1)) return;
  nodus_list_set(&l, 0, boss);
  call(r, S_SET_BOSS, &l, lock_req("set_lock", &r->id));
  nodus_term_free(&l);
}

static void reg_sleep(registrar *r) {
  r->st = S_SLEEP;
  nodus_term msg;
  if (nodus_build(&msg, "'$gl_registrar_retry'") == 0)
    nodus_send_after(r->self, backoff_ms(r->times++), nodus_self(r->self), msg,
                     NULL);
}

static void finish_req(gl_req *q, int rc) { gl_req_finish(q, rc); }

/* {'$gen_call', {Self, {nodus_nowait, Node}}, {del_lock, Id}} to every
 * node: a multi_call whose replies nobody waits for (they match no
 * call's tag and are dropped). */
static void del_nowait(registrar *r, const nodus_term *nodes) {
  for (size_t i = 0; nodes->type == NODUS_T_LIST && i < nodes->n; i++) {
    const nodus_term *a = &nodes->v.items[i];
    nodus_term to, msg;
    if (a->type != NODUS_T_ATOM ||
        nodus_build(&to, "{~a, ~A}", GL_SERVER, a->v.atom))
      continue;
    if (nodus_build(&msg, "{'$gen_call', {~t, {nodus_nowait, ~A}}, ~t}",
                    gl_copy(nodus_self(r->self)), a->v.atom,
                    lock_req("del_lock", &r->id)) == 0)
      nodus_send_from(r->self, &to, msg);
    nodus_term_free(&to);
  }
}

/* Takes up to 64 queued requests for one lock. */
static void reg_next(registrar *r) {
  if (r->batch || !r->queue) {
    r->st = S_NONE;
    return;
  }
  size_t n = 0;
  gl_req *last = NULL;
  for (gl_req *q = r->queue; q && n < 64; q = q->next, n++) last = q;
  r->batch = r->queue;
  r->queue = last->next;
  if (!r->queue) r->queue_tail = NULL;
  last->next = NULL;
  r->times = 0;
  reg_lock_boss(r);
  if (mcall_done_now(r)) reg_work(r);
}

static int check_request(registrar *r, gl_req *q) {
  gl_server *g = r->g;
  if (q->op == GL_REQ_REGISTER) {
    nodus_term p = gl_where(g, &q->name);
    bool free_name = p.type == NODUS_T_NONE;
    nodus_term_free(&p);
    if (!free_name) return NODUS_EEXIST;
    if (gl_pid_has_name(g, &q->pid)) {
      char *a = NULL;
      nodus_print(&q->pid, NULL, &a, NULL);
      nodus_log(g->node, NODUS_LOG_ERROR, "global",
                "global: %s registered under several names", a ? a : "?");
      free(a);
      return NODUS_EEXIST;
    }
  }
  return 0;
}

/* With the lock: one request after another. */
static void reg_work(registrar *r) {
  gl_server *g = r->g;
  while ((r->doing = r->batch)) {
    gl_req *q = r->doing;
    int rc = check_request(r, q);
    if (rc) {
      r->batch = q->next;
      finish_req(q, rc);
      continue;
    }
    nodus_term req;
    if (q->op == GL_REQ_UNREGISTER)
      rc = nodus_build(&req, "{unregister, ~t}", gl_copy(&q->name));
    else
      rc = nodus_build(&req, "{register, ~t, ~t, ~t}", gl_copy(&q->name),
                       gl_copy(&q->pid), gl_copy(&q->method));
    if (rc) {
      r->batch = q->next;
      finish_req(q, rc);
      continue;
    }
    call(r, S_WORK, &r->nodes, req);
    if (!mcall_done_now(r)) return;
    gl_mcall_free(&r->mc, r->self);
    r->batch = q->next;
    finish_req(q, 0);
  }
  /* delete_global_lock/2 without waiting for the answers: the callers
   * have theirs, and our next set_lock to any node travels behind these
   * del_locks on the same connection, so it cannot overtake them. */
  nodus_term rest = without(&r->nodes, r->boss);
  del_nowait(r, &rest);
  nodus_term_free(&rest);
  nodus_term l;
  if (nodus_mk_list(&l, 1) == 0) {
    nodus_list_set(&l, 0, nodus_atom_term(r->boss));
    del_nowait(r, &l);
    nodus_term_free(&l);
  }
  (void)g;
  r->st = S_NONE;
  reg_next(r);
}

/* The step's multi_call is complete. */
static void reg_step_done(registrar *r) {
  gl_server *g = r->g;
  step st = r->st;
  nodus_term trues = {0};
  bool all = gl_mcall_all_true(&r->mc, &trues);
  gl_mcall_free(&r->mc, r->self);
  switch (st) {
    case S_SET_BOSS:
      nodus_term_free(&trues);
      if (!all) {
        reg_sleep(r);
        return;
      }
      /* lock_on_known_nodes/3 (local_lock_check first) */
      if (!gl_lock_can_set(g, &r->id)) {
        r->undo_nodes = nodus_nil();
        goto refused;
      }
      call(r, S_SET_ALL, &r->nodes, lock_req("set_lock", &r->id));
      if (mcall_done_now(r)) reg_step_done(r);
      return;
    case S_SET_ALL: {
      nodus_term now = gl_known_list(g);
      bool same = nodus_equal(&now, &r->known) ||
                  (now.type == NODUS_T_NIL && r->known.type == NODUS_T_NIL);
      if (!same) { /* known grew? global.erl checks get_known() -- Known */
        same = true;
        for (size_t i = 0; now.type == NODUS_T_LIST && i < now.n; i++) {
          bool found = false;
          for (size_t j = 0; r->known.type == NODUS_T_LIST && j < r->known.n;
               j++)
            found |= nodus_equal(&now.v.items[i], &r->known.v.items[j]);
          if (!found) same = false;
        }
      }
      nodus_term_free(&now);
      if (all && same) {
        nodus_term_free(&trues);
        reg_work(r);
        return;
      }
      r->undo_nodes = all ? gl_copy(&r->nodes) : trues;
      if (all) nodus_term_free(&trues);
      goto refused;
    }
    case S_UNDO:
      nodus_term_free(&trues);
      reg_sleep(r);
      return;
    case S_WORK: {
      nodus_term_free(&trues);
      gl_req *q = r->batch;
      gl_name *n = gl_name_find(g, &q->name);
      if (n && q->resolve && nodus_equal(&n->pid, &q->pid)) {
        n->resolve = q->resolve; /* CALLBACK: only this node can run it */
        n->resolve_arg = q->resolve_arg;
      }
      r->batch = q->next;
      finish_req(q, 0);
      reg_work(r);
      return;
    }
    default:
      nodus_term_free(&trues);
      return;
  }
refused: {
  /* The yes-sayers of this round and the boss give the lock back. */
  nodus_term b = nodus_atom_term(r->boss), l;
  if (nodus_mk_list(&l, 1) == 0) {
    nodus_list_set(&l, 0, b);
    nodus_term both;
    size_t n = r->undo_nodes.type == NODUS_T_LIST ? r->undo_nodes.n : 0;
    if (nodus_mk_list(&both, n + 1) == 0) {
      for (size_t i = 0; i < n; i++)
        nodus_list_set(&both, i, gl_copy(&r->undo_nodes.v.items[i]));
      nodus_list_set(&both, n, nodus_atom_term(r->boss));
      call(r, S_UNDO, &both, lock_req("del_lock", &r->id));
      nodus_term_free(&both);
    }
    nodus_term_free(&l);
  }
  nodus_term_free(&r->undo_nodes);
  if (mcall_done_now(r)) reg_sleep(r);
}
}

void gl_registrar_enqueue(gl_server *g, gl_req *q) {
  nodus_proc *p = nodus_proc_lookup(g->node, &g->registrar);
  registrar *r = p ? nodus_proc_state(p) : NULL;
  if (!r) {
    gl_req_finish(q, NODUS_ESTATE);
    return;
  }
  q->next = NULL;
  if (r->queue_tail) r->queue_tail->next = q;
  else r->queue = q;
  r->queue_tail = q;
  if (r->st == S_NONE && !r->batch) reg_next(r);
}

static void registrar_msg(nodus_proc *self, const nodus_term *m) {
  registrar *r = nodus_proc_state(self);
  if (!r) return;
  if (nodus_is_atom(m, "$gl_registrar_retry")) {
    if (r->st == S_SLEEP) {
      reg_lock_boss(r);
      if (mcall_done_now(r)) reg_step_done(r);
    }
    return;
  }
  if (gl_mcall_feed(&r->mc, self, m) == 1) reg_step_done(r);
}

static void fail_all(gl_req *q) {
  while (q) {
    gl_req *next = q->next;
    finish_req(q, NODUS_ESTATE);
    q = next;
  }
}

static void registrar_exit(nodus_proc *self, const nodus_term *reason) {
  registrar *r = nodus_proc_state(self);
  if (!r) return;
  fail_all(r->batch);
  fail_all(r->queue);
  gl_mcall_free(&r->mc, NULL);
  nodus_term_free(&r->id);
  nodus_term_free(&r->known);
  nodus_term_free(&r->nodes);
  nodus_term_free(&r->undo_nodes);
  free(r);
  nodus_proc_set_state(self, NULL);
}

static void registrar_started(nodus_proc *self) {
  registrar *r = nodus_proc_state(self);
  r->self = self;
}

int gl_registrar_spawn(gl_server *g) {
  registrar *r = calloc(1, sizeof *r);
  if (!r) return NODUS_ENOMEM;
  r->g = g;
  nodus_proc_spec spec = {.on_message = registrar_msg,
                          .on_exit = registrar_exit,
                          .on_start = registrar_started,
                          .state = r};
  int rc = nodus_spawn(g->node, &spec, &g->registrar);
  if (rc) {
    free(r);
    return rc;
  }
  r->self = nodus_proc_lookup(g->node, &g->registrar);
  /* {global, self()} */
  nodus_term me = gl_copy(&g->registrar);
  nodus_build(&r->id, "{global, ~t}", me);
  return 0;
}

/* ---- lock holders -------------------------------------------------------------- */

typedef struct holder {
  gl_server *g;
  nodus_proc *self;
  gl_req *q; /* the lock's request, owned by the API's lock object */
  step st;
  unsigned times;
  gl_mcall mc;
} holder;

static void holder_end(holder *h, int rc) {
  gl_req *q = h->q;
  h->q = NULL;
  gl_req_detach(q, rc); /* q may be freed from here on */
  nodus_term normal;
  if (nodus_mk_atom(&normal, "normal") == 0) nodus_exit(h->self, &normal);
  nodus_term_free(&normal);
}

/* A refusal: back off, or give up when the retries are spent. */
static void holder_refused(holder *h) {
  gl_req *q = h->q;
  if (q->retries == 0) {
    holder_end(h, NODUS_EBUSY);
    return;
  }
  if (q->retries > 0) q->retries--;
  h->st = S_SLEEP;
  nodus_term msg;
  if (nodus_build(&msg, "'$gl_holder_retry'") == 0)
    nodus_send_after(h->self, backoff_ms(h->times++), nodus_self(h->self), msg,
                     NULL);
}

static void holder_call(holder *h, step st, const nodus_term *nodes,
                        const char *op) {
  h->st = st;
  nodus_term req = lock_req(op, &h->q->name);
  gl_mcall_start(&h->mc, h->self, nodes, &req);
  nodus_term_free(&req);
}

static void holder_done(holder *h);

/* set_lock_on_nodes/2, local_lock_check/2 first. */
static void holder_try(holder *h) {
  gl_req *q = h->q;
  bool multi = q->nodes.type == NODUS_T_LIST && q->nodes.n > 1;
  bool has_me = false;
  for (size_t i = 0; q->nodes.type == NODUS_T_LIST && i < q->nodes.n; i++)
    has_me |= q->nodes.v.items[i].type == NODUS_T_ATOM &&
              q->nodes.v.items[i].v.atom == h->g->self_node;
  if (multi && has_me && !gl_lock_can_set(h->g, &q->name)) {
    holder_refused(h);
    return;
  }
  holder_call(h, S_SET_ALL, &q->nodes, "set_lock");
  if (!gl_mcall_active(&h->mc)) holder_done(h);
}

static void holder_done(holder *h) {
  gl_req *q = h->q;
  nodus_term trues = {0};
  bool all = gl_mcall_all_true(&h->mc, &trues);
  gl_mcall_free(&h->mc, h->self);
  step st = h->st;
  h->st = S_NONE;
  if (st == S_DEL_REST) { /* del_lock done: the holder's work is over */
    nodus_term_free(&trues);
    holder_end(h, 0);
  } else if (st == S_SET_ALL && all) {
    nodus_term_free(&trues);
    gl_req_finish(q, 0); /* held: the holder lives on until del_lock */
  } else if (st == S_SET_ALL) { /* check_replies: the yes-sayers give back */
    holder_call(h, S_UNDO, &trues, "del_lock");
    nodus_term_free(&trues);
    if (!gl_mcall_active(&h->mc)) holder_done(h);
  } else { /* S_UNDO */
    nodus_term_free(&trues);
    holder_refused(h);
  }
}

static void holder_msg(nodus_proc *self, const nodus_term *m) {
  holder *h = nodus_proc_state(self);
  if (!h || !h->q) return;
  if (nodus_is_atom(m, "$gl_holder_retry")) {
    if (h->st == S_SLEEP) holder_try(h);
  } else if (nodus_is_atom(m, "$gl_holder_release")) {
    holder_call(h, S_DEL_REST, &h->q->nodes, "del_lock");
    if (!gl_mcall_active(&h->mc)) holder_done(h);
  } else if (gl_mcall_feed(&h->mc, self, m) == 1) {
    holder_done(h);
  }
}

static void holder_exit(nodus_proc *self, const nodus_term *reason) {
  holder *h = nodus_proc_state(self);
  if (!h) return;
  if (h->q) gl_req_detach(h->q, NODUS_ESTATE);
  gl_mcall_free(&h->mc, NULL);
  free(h);
  nodus_proc_set_state(self, NULL);
}

static void holder_started(nodus_proc *self) {
  holder *h = nodus_proc_state(self);
  h->self = self;
  holder_try(h);
}

int gl_holder_spawn(gl_server *g, gl_req *q, nodus_term *pid) {
  holder *h = calloc(1, sizeof *h);
  if (!h) return NODUS_ENOMEM;
  h->g = g;
  h->q = q;
  nodus_proc_spec spec = {.on_message = holder_msg,
                          .on_exit = holder_exit,
                          .on_start = holder_started,
                          .state = h};
  int rc = nodus_spawn(g->node, &spec, pid);
  if (rc) free(h);
  return rc;
}

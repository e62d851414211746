/* The locker: global.erl's the_locker, as a state machine on the loop.
 *
 * Before two nodes exchange names they set the cluster lock {global,
 * lists:sort([TheirLocker, OurLocker])} on the boss (the greatest node
 * name we know), on both of them and on every node we know, so no
 * registration and no other sync runs meanwhile. Either locker may set it
 * (the same requester id, so both hold it); the one that did tells the
 * other ({lock_set, Self, true, Known, HisTag}), which sets it too and
 * answers. Then both servers exchange names; when the sync is done the
 * server sends {cancel, Node, Tag, Fun}: the locker runs Fun and deletes
 * the lock, boss last.
 *
 * global.erl's locker blocks in multi_calls and selective receives; this
 * one runs the same steps as messages arrive, and keeps the messages a
 * busy state does not take for when it is idle again, in order. */
#include <stdlib.h>
#include <string.h>

#include "cluster/global/global_internal.h"

typedef struct him {
  nodus_atom node;
  nodus_term locker, my_tag, his_tag;
  int vsn;
  bool local;
} him;

typedef enum { L_IDLE, L_LOCKING, L_WAIT_SET, L_WAIT_CANCEL, L_UNLOCKING } lstate;
typedef enum { P_SELECT, P_SPONTANEOUS } purpose;

typedef struct locker {
  gl_server *g;
  nodus_proc *self;
  him *hims;
  size_t n_hims;
  bool just_synced;
  lstate st;
  termvec deferred;
  uint64_t gen;
  nodus_term timer;

  /* The operation under way. */
  gl_mcall mc;
  int phase;            /* LOCKING: 1..3, or 4 = releasing after a failure */
  nodus_term lock_id;
  nodus_term set_so_far; /* nodes of the phases that succeeded */
  nodus_term extra;      /* lock_nodes_safely's Extra */
  purpose why;
  him cur;                /* the node we sync with */
  nodus_term spont_pid;   /* P_SPONTANEOUS: the locker that asked */
  nodus_term known_at;    /* the nodes the lock is on, to delete it from */
  nodus_term unlock_boss; /* UNLOCKING: the boss, done last */
  bool unlock_then_remove; /* UNLOCKING: then remove cur from the hims */
} locker;


static void him_free(him *h) {
  nodus_term_free(&h->locker);
  nodus_term_free(&h->my_tag);
  nodus_term_free(&h->his_tag);
}

static void him_copy(him *dst, const him *src) {
  *dst = *src;
  dst->locker = gl_copy(&src->locker);
  dst->my_tag = gl_copy(&src->my_tag);
  dst->his_tag = gl_copy(&src->his_tag);
}

/* ---- node lists ------------------------------------------------------------ */

static nodus_term list_of(const nodus_atom *a, size_t n) {
  nodus_term l;
  if (nodus_mk_list(&l, n)) return nodus_nil();
  for (size_t i = 0; i < n; i++) nodus_list_set(&l, i, nodus_atom_term(a[i]));
  return l;
}

static bool in_list(const nodus_term *l, nodus_atom a) {
  for (size_t i = 0; l->type == NODUS_T_LIST && i < l->n; i++)
    if (l->v.items[i].type == NODUS_T_ATOM && l->v.items[i].v.atom == a)
      return true;
  return false;
}

/* a ++ b without the atoms of `minus`, and without nonode@nohost. */
static nodus_term list_join(const nodus_term *a, const nodus_term *b,
                            const nodus_term *minus) {
  termvec v = {0};
  const nodus_term *ls[2] = {a, b};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; ls[k] && ls[k]->type == NODUS_T_LIST && i < ls[k]->n;
         i++) {
      const nodus_term *e = &ls[k]->v.items[i];
      if (e->type != NODUS_T_ATOM || nodus_is_atom(e, "nonode@nohost")) continue;
      if (minus && in_list(minus, e->v.atom)) continue;
      termvec_push(&v, e);
    }
  nodus_term l = nodus_nil();
  termvec_to_list(&v, &l);
  termvec_free(&v);
  return l;
}

static bool host_is_ours(gl_server *g, nodus_atom node) {
  size_t la, lb;
  const char *a = nodus_atom_text(node, &la);
  const char *b = nodus_atom_text(g->self_node, &lb);
  const char *ha = memchr(a, '@', la), *hb = memchr(b, '@', lb);
  if (!ha || !hb) return false;
  return (size_t)(a + la - ha) == (size_t)(b + lb - hb) &&
         memcmp(ha, hb, (size_t)(a + la - ha)) == 0;
}

/* ---- sending ------------------------------------------------------------------ */

/* send_lock_set/5 */
static void send_lock_set(locker *L, bool set, const nodus_term *his_locker,
                          int vsn, const nodus_term *his_tag) {
  nodus_term msg, me = gl_copy(nodus_self(L->self));
  nodus_term known = gl_known_list(L->g);
  int rc = vsn < 8 ? nodus_build(&msg, "{lock_set, ~t, ~t, ~t}", me,
                                 nodus_bool(set), known)
                   : nodus_build(&msg, "{lock_set, ~t, ~t, ~t, ~t}", me,
                                 nodus_bool(set), known, gl_copy(his_tag));
  if (rc || his_locker->type != NODUS_T_PID) {
    if (!rc) nodus_term_free(&msg);
    return;
  }
  if (vsn < 6) nodus_send_from(L->self, his_locker, msg);
  else gl_cast(L->self, his_locker->v.id->node, msg);
}

static nodus_term lock_id_with(locker *L, const nodus_term *his_locker) {
  nodus_term id;
  const nodus_term *me = nodus_self(L->self);
  bool me_first = nodus_compare(me, his_locker) <= 0;
  if (nodus_build(&id, "{global, [~t, ~t]}", gl_copy(me_first ? me : his_locker),
                  gl_copy(me_first ? his_locker : me)))
    return (nodus_term){0};
  return id;
}

/* ---- the hims ------------------------------------------------------------------ */

static him *find_him(locker *L, nodus_atom node) {
  /* find_node_tag/2: the local list first, then the remote one. */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < L->n_hims; i++)
      if (L->hims[i].node == node && L->hims[i].local == (pass == 0))
        return &L->hims[i];
  return NULL;
}

static void remove_him_at(locker *L, size_t i) {
  him_free(&L->hims[i]);
  memmove(&L->hims[i], &L->hims[i + 1], (L->n_hims - i - 1) * sizeof *L->hims);
  L->n_hims--;
}

/* remove_node/3: the entries for node with that tag. */
static void remove_node(locker *L, nodus_atom node, const nodus_term *tag) {
  for (size_t i = 0; i < L->n_hims;)
    if (L->hims[i].node == node && nodus_equal(&L->hims[i].my_tag, tag))
      remove_him_at(L, i);
    else
      i++;
}

/* ---- the steps --------------------------------------------------------------- */

static void go_idle(locker *L);
static void locking_done(locker *L, bool ok);
static void unlocking_done(locker *L);

static void call(locker *L, const nodus_term *nodes, const char *op) {
  nodus_term req;
  if (nodus_build(&req, "{~a, ~t}", op, gl_copy(&L->lock_id))) {
    gl_mcall_free(&L->mc, L->self); /* not active: seen as done */
    return;
  }
  gl_mcall_start(&L->mc, L->self, nodes, &req);
  nodus_term_free(&req);
}

/* set_lock(LockId, Nodes, 0) for the phase; local_lock_check first. */
static nodus_term phase_nodes(locker *L) {
  nodus_term first = list_of((nodus_atom[]){gl_boss(L->g)}, 1);
  nodus_term f = list_join(&first, NULL, NULL);
  nodus_term_free(&first);
  if (L->phase == 1) return f;
  nodus_term r;
  if (L->phase == 2) {
    nodus_term me = list_of(&L->g->self_node, 1);
    r = list_join(&me, &L->extra, &f);
    nodus_term_free(&me);
  } else {
    nodus_term known = gl_known_list(L->g);
    r = list_join(&known, NULL, &f);
    nodus_term_free(&known);
  }
  nodus_term_free(&f);
  return r;
}

static void phase_start(locker *L) {
  for (;;) {
    if (L->phase > 3) {
      locking_done(L, true);
      return;
    }
    nodus_term nodes = phase_nodes(L);
    if (L->phase == 1 && !(nodes.type == NODUS_T_LIST && nodes.n == 1 &&
                           nodes.v.items[0].v.atom == L->g->self_node) &&
        !gl_lock_can_set(L->g, &L->lock_id)) {
      nodus_term_free(&nodes);
      locking_done(L, false);
      return;
    }
    bool local_ok = !(nodes.type == NODUS_T_LIST && nodes.n > 1 &&
                      in_list(&nodes, L->g->self_node)) ||
                    gl_lock_can_set(L->g, &L->lock_id);
    if (!local_ok) {
      nodus_term_free(&nodes);
      L->phase = 4; /* release what the earlier phases set */
      call(L, &L->set_so_far, "del_lock");
      if (!gl_mcall_active(&L->mc)) locking_done(L, false);
      return;
    }
    nodus_term so_far = list_join(&L->set_so_far, &nodes, NULL);
    nodus_term_free(&L->set_so_far);
    L->set_so_far = so_far;
    call(L, &nodes, "set_lock");
    nodus_term_free(&nodes);
    if (gl_mcall_active(&L->mc)) return;
    gl_mcall_free(&L->mc, L->self);
    L->phase++; /* no node to ask: set */
  }
}

static void phase_reply_done(locker *L) {
  if (L->phase == 4) {
    gl_mcall_free(&L->mc, L->self);
    locking_done(L, false);
    return;
  }
  nodus_term trues;
  bool all = gl_mcall_all_true(&L->mc, &trues);
  gl_mcall_free(&L->mc, L->self);
  if (all) {
    nodus_term_free(&trues);
    L->phase++;
    phase_start(L);
    return;
  }
  /* Undo: this phase's yes-sayers and the earlier phases' nodes (set_so_far
   * has this phase's nodes too; deleting where we hold nothing is a no-op). */
  nodus_term_free(&trues);
  L->phase = 4;
  call(L, &L->set_so_far, "del_lock");
  if (!gl_mcall_active(&L->mc)) locking_done(L, false);
}

/* lock_nodes_safely/3 */
static void lock_nodes_safely(locker *L, nodus_term lock_id, nodus_term extra,
                              purpose why) {
  L->st = L_LOCKING;
  nodus_term_free(&L->lock_id);
  nodus_term_free(&L->extra);
  nodus_term_free(&L->set_so_far);
  L->lock_id = lock_id;
  L->extra = extra;
  L->set_so_far = nodus_nil();
  L->why = why;
  L->phase = 1;
  phase_start(L);
}

/* delete_global_lock/2: everywhere but the boss, then the boss. */
static void unlock(locker *L, bool then_remove) {
  L->st = L_UNLOCKING;
  L->unlock_then_remove = then_remove;
  nodus_atom boss_a = L->g->self_node;
  const nodus_term *k = &L->known_at;
  for (size_t i = 0; k->type == NODUS_T_LIST && i < k->n; i++) {
    nodus_term b = nodus_atom_term(boss_a);
    if (nodus_compare(&k->v.items[i], &b) > 0) boss_a = k->v.items[i].v.atom;
  }
  nodus_term_free(&L->unlock_boss);
  L->unlock_boss = list_of(&boss_a, 1);
  nodus_term rest = list_join(k, NULL, &L->unlock_boss);
  call(L, &rest, "del_lock");
  nodus_term_free(&rest);
  if (!gl_mcall_active(&L->mc)) {
    gl_mcall_free(&L->mc, L->self);
    call(L, &L->unlock_boss, "del_lock");
    nodus_term_free(&L->unlock_boss);
    if (!gl_mcall_active(&L->mc)) unlocking_done(L);
  }
}

static void unlock_reply_done(locker *L) {
  gl_mcall_free(&L->mc, L->self);
  if (L->unlock_boss.type != NODUS_T_NONE) {
    call(L, &L->unlock_boss, "del_lock");
    nodus_term_free(&L->unlock_boss);
    if (gl_mcall_active(&L->mc)) return;
    gl_mcall_free(&L->mc, L->self);
  }
  unlocking_done(L);
}

static void unlocking_done(locker *L) {
  if (L->unlock_then_remove) remove_node(L, L->cur.node, &L->cur.my_tag);
  L->unlock_then_remove = false;
  nodus_term_free(&L->known_at);
  go_idle(L);
}

static void lock_is_set_to_server(locker *L) {
  nodus_term msg;
  if (nodus_build(&msg, "{lock_is_set, ~A, ~t, ~t}", L->cur.node,
                  gl_copy(&L->cur.my_tag), gl_copy(&L->lock_id)) == 0)
    gl_cast(L->self, L->g->self_node, msg);
  L->st = L_WAIT_CANCEL;
}

static void locking_done(locker *L, bool ok) {
  gl_server *g = L->g;
  nodus_term me = list_of(&g->self_node, 1), known = gl_known_list(g);
  if (L->why == P_SELECT) {
    if (!ok) {
      nodus_term_free(&me);
      nodus_term_free(&known);
      go_idle(L);
      return;
    }
    /* Known1 = [node(), HisNode] ++ known */
    nodus_term his = list_of(&L->cur.node, 1), us = list_join(&me, &his, NULL);
    nodus_term_free(&L->known_at);
    L->known_at = list_join(&us, &known, NULL);
    nodus_term_free(&his);
    nodus_term_free(&us);
    send_lock_set(L, true, &L->cur.locker, L->cur.vsn, &L->cur.his_tag);
    L->st = L_WAIT_SET;
  } else {
    send_lock_set(L, ok, &L->spont_pid, L->cur.vsn, &L->cur.his_tag);
    if (ok) {
      nodus_term_free(&L->known_at);
      L->known_at = list_join(&me, &known, NULL);
      lock_is_set_to_server(L);
    } else {
      L->just_synced = false;
      go_idle(L);
    }
  }
  nodus_term_free(&me);
  nodus_term_free(&known);
}

/* ---- idle ------------------------------------------------------------------- */

static void arm(locker *L) {
  if (L->timer.type != NODUS_T_NONE) {
    nodus_cancel_timer(L->self, &L->timer);
    nodus_term_free(&L->timer);
  }
  if (L->n_hims == 0) return;
  unsigned ms;
  size_t known = gl_known_count(L->g);
  if (L->just_synced) ms = 0;
  else if (known == 0) ms = 200; /* just to get started */
  else ms = 1000 + 100 * known < 3000 ? (unsigned)(1000 + 100 * known) : 3000;
  L->just_synced = false;
  nodus_term msg;
  if (nodus_build(&msg, "{'$gl_locker_tick', ~u}", (uint64_t)++L->gen) == 0)
    nodus_send_after(L->self, ms, nodus_self(L->self), msg, &L->timer);
}

/* select_node/1 */
static void select_node(locker *L) {
  bool any_local = false;
  for (size_t i = 0; i < L->n_hims; i++) any_local |= L->hims[i].local;
  /* exclude_known/2 drops the chosen list's entries for known nodes. */
  for (size_t i = 0; i < L->n_hims;)
    if (L->hims[i].local == any_local && gl_is_known(L->g, L->hims[i].node))
      remove_him_at(L, i);
    else
      i++;
  size_t cand = 0;
  for (size_t i = 0; i < L->n_hims; i++) cand += L->hims[i].local == any_local;
  if (cand == 0) {
    arm(L);
    return;
  }
  size_t pick = (size_t)rand() % cand;
  him *h = NULL;
  for (size_t i = 0; i < L->n_hims; i++)
    if (L->hims[i].local == any_local && pick-- == 0) {
      h = &L->hims[i];
      break;
    }
  him_free(&L->cur);
  him_copy(&L->cur, h);
  lock_nodes_safely(L, lock_id_with(L, &h->locker), list_of(&h->node, 1),
                    P_SELECT);
}

static void run_fun(locker *L, const nodus_term *fun) {
  const nodus_term *nodes, *msg;
  if (nodus_match(fun, "{send_new_nodes, ~t, ~t}", &nodes, &msg)) return;
  for (size_t i = 0; nodes->type == NODUS_T_LIST && i < nodes->n; i++)
    if (nodes->v.items[i].type == NODUS_T_ATOM)
      gl_cast(L->self, nodes->v.items[i].v.atom, gl_copy(msg));
}

/* A message while idle; it may start an operation. */
static void idle_msg(locker *L, const nodus_term *m) {
  const nodus_term *pid, *tag, *his_tag, *set, *vsn_known;
  nodus_atom node;
  int64_t gen;
  if (nodus_match(m, "{'$gl_locker_tick', ~i}", &gen) == 0) {
    if ((uint64_t)gen != L->gen) return;
    nodus_term_free(&L->timer);
    if (gl_global_lock_set(L->g)) arm(L);
    else select_node(L);
    return;
  }
  if (nodus_match(m, "{his_the_locker, ~t, ~t, ~t, ~t}", &pid, &vsn_known,
                  &his_tag, &tag) == 0) {
    int64_t vsn;
    if (pid->type != NODUS_T_PID ||
        nodus_match(vsn_known, "{~i, _}", &vsn) || vsn <= 4)
      return;
    him *v = realloc(L->hims, (L->n_hims + 1) * sizeof *v);
    if (!v) return;
    L->hims = v;
    him *h = &L->hims[L->n_hims++];
    *h = (him){.node = pid->v.id->node, .vsn = (int)vsn};
    h->locker = gl_copy(pid);
    h->my_tag = gl_copy(tag);
    h->his_tag = gl_copy(his_tag);
    h->local = host_is_ours(L->g, h->node);
  } else if (nodus_match(m, "{cancel, ~a, ~t, no_fun}", &node, &tag) == 0) {
    if (!nodus_is_atom(tag, "undefined")) remove_node(L, node, tag);
  } else if (nodus_match(m, "{lock_set, ~t, ~t, _, ~t}", &pid, &set, &tag) ==
                 0 ||
             nodus_match(m, "{lock_set, ~t, ~t, _}", &pid, &set) == 0) {
    if (!nodus_is_atom(set, "true") || pid->type != NODUS_T_PID) return;
    bool five = m->n == 5;
    him *h = find_him(L, pid->v.id->node);
    if (!h || (five && !nodus_equal(&h->my_tag, tag))) {
      send_lock_set(L, false, pid, 5, NULL);
      arm(L);
      return;
    }
    him_free(&L->cur);
    him_copy(&L->cur, h);
    nodus_term_free(&L->spont_pid);
    L->spont_pid = gl_copy(pid);
    lock_nodes_safely(L, lock_id_with(L, pid), nodus_nil(), P_SPONTANEOUS);
    return;
  }
  /* add_to_known/remove_from_known: we read the server's known directly;
   * anything else: nothing to do. */
  if (L->st == L_IDLE) arm(L);
}

static bool offer(locker *L, const nodus_term *m);

/* The selective receives of global.erl's locker: a state takes the
 * messages it waits for, wherever they are in the queue, oldest first;
 * the others stay, in order, for a later state. Runs after every change
 * of state, since a message deferred by one state may be what the next
 * one waits for (a cancel that came while the lock was being set). */
static void drain(locker *L) {
  size_t i = 0;
  while (i < L->deferred.len) {
    nodus_term m = L->deferred.items[i];
    memmove(&L->deferred.items[i], &L->deferred.items[i + 1],
            (L->deferred.len - i - 1) * sizeof m);
    L->deferred.len--;
    if (offer(L, &m)) {
      nodus_term_free(&m);
      i = 0; /* the state may have changed: look again from the oldest */
      continue;
    }
    /* back where it was */
    termvec_push(&L->deferred, &m);
    nodus_term_free(&m);
    nodus_term last = L->deferred.items[L->deferred.len - 1];
    memmove(&L->deferred.items[i + 1], &L->deferred.items[i],
            (L->deferred.len - 1 - i) * sizeof last);
    L->deferred.items[i] = last;
    i++;
  }
}

static void go_idle(locker *L) {
  L->st = L_IDLE;
  drain(L);
  if (L->st == L_IDLE) arm(L);
}

/* ---- waiting ------------------------------------------------------------------ */

/* lock_is_set/5: waiting for the other locker's lock_set. Returns false
 * when m is not for this state. */
static bool wait_set_msg(locker *L, const nodus_term *m) {
  const nodus_term *pid, *set, *tag;
  nodus_atom node;
  const nodus_term *fun;
  if (nodus_match(m, "{lock_set, ~t, ~t, _, ~t}", &pid, &set, &tag) == 0 ||
      nodus_match(m, "{lock_set, ~t, ~t, _}", &pid, &set) == 0) {
    if (pid->type != NODUS_T_PID || pid->v.id->node != L->cur.node)
      return false;
    if (m->n == 5 && !nodus_equal(tag, &L->cur.my_tag)) return true; /* old */
    if (nodus_is_atom(set, "true")) {
      lock_is_set_to_server(L);
      L->just_synced = true;
      L->unlock_then_remove = true; /* lock_is_set_true_received */
    } else {
      unlock(L, false);
    }
    return true;
  }
  if (nodus_match(m, "{cancel, ~a, ~t, ~t}", &node, &tag, &fun) == 0 &&
      node == L->cur.node && nodus_equal(tag, &L->cur.my_tag)) {
    run_fun(L, fun);
    unlock(L, true);
    return true;
  }
  return false;
}

/* wait_cancel_lock/6 */
static bool wait_cancel_msg(locker *L, const nodus_term *m) {
  const nodus_term *tag, *fun;
  nodus_atom node;
  if (nodus_match(m, "{cancel, ~a, ~t, ~t}", &node, &tag, &fun) ||
      node != L->cur.node || !nodus_equal(tag, &L->cur.my_tag))
    return false;
  run_fun(L, fun);
  /* Spontaneous or not, the entry goes (remove_node / lists:delete). */
  L->just_synced = true;
  unlock(L, true);
  return true;
}

static void locker_msg(nodus_proc *self, const nodus_term *m) {
  locker *L = nodus_proc_state(self);
  if (!L) return;
  if (L->g->trace) gl_trace(L->g, "locker", m);
  /* Every state: a DOWN of a kept server monitor must reach the call. */
  int r = gl_mcall_feed(&L->mc, self, m);
  if (r == 1 && (L->st == L_LOCKING || L->st == L_UNLOCKING)) {
    if (L->st == L_LOCKING) phase_reply_done(L);
    else unlock_reply_done(L);
    drain(L);
    return;
  }
  if (r >= 0) return;
  if (!offer(L, m)) {
    termvec_push(&L->deferred, m);
    return;
  }
  drain(L);
}

/* m to the current state: true when it took it. */
static bool offer(locker *L, const nodus_term *m) {
  switch (L->st) {
    case L_IDLE: idle_msg(L, m); return true;
    case L_WAIT_SET: return wait_set_msg(L, m);
    case L_WAIT_CANCEL: return wait_cancel_msg(L, m);
    default: return false; /* setting or deleting a lock: only replies */
  }
}

static void locker_exit(nodus_proc *self, const nodus_term *reason) {
  locker *L = nodus_proc_state(self);
  if (!L) return;
  for (size_t i = 0; i < L->n_hims; i++) him_free(&L->hims[i]);
  free(L->hims);
  him_free(&L->cur);
  termvec_free(&L->deferred);
  gl_mcall_free(&L->mc, NULL);
  nodus_term *ts[] = {&L->timer,    &L->lock_id,   &L->set_so_far,
                      &L->extra,    &L->spont_pid, &L->known_at,
                      &L->unlock_boss};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) nodus_term_free(ts[i]);
  free(L);
  nodus_proc_set_state(self, NULL);
}

static void locker_started(nodus_proc *self) {
  locker *L = nodus_proc_state(self);
  L->self = self;
}

int gl_locker_spawn(gl_server *g) {
  locker *L = calloc(1, sizeof *L);
  if (!L) return NODUS_ENOMEM;
  L->g = g;
  nodus_proc_spec spec = {.on_message = locker_msg,
                          .on_exit = locker_exit,
                          .on_start = locker_started,
                          .state = L,
                          .trap_exit = true};
  int rc = nodus_spawn(g->node, &spec, &g->locker);
  if (rc) {
    free(L);
    return rc;
  }
  L->self = nodus_proc_lookup(g->node, &g->locker);
  return 0;
}

/* The scope process: what pg.erl's gen_server does with messages from
 * other nodes' scopes ({discover, Peer}, {'$gen_cast', {sync, Peer,
 * Groups}}, {join, Peer, Group, PidOrPids}, {leave, Peer, PidOrPids,
 * Groups}), with DOWNs of local members and remote scopes, and nodeups.
 *
 * Everything from the network is checked before use. BEAM's scope raises
 * badarg on a message it doesn't know; ours logs it once and carries on,
 * and we only ever send what pg.erl sends. */
#include <stdlib.h>

#include "cluster/pg/pg_internal.h"

/* ---- small helpers ----------------------------------------------------- */

bool pg_is_local_pid(const nodus_pg *pg, const nodus_term *t) {
  return t->type == NODUS_T_PID && t->v.id->node == pg->node_name;
}

bool pg_valid_pids(const nodus_pg *pg, const nodus_term *t, bool local) {
  if (t->type == NODUS_T_PID) return !local || pg_is_local_pid(pg, t);
  if (!nodus_is_proper_list(t)) return false;
  for (size_t i = 0; t->type == NODUS_T_LIST && i < t->n; i++) {
    const nodus_term *p = &t->v.items[i];
    if (p->type != NODUS_T_PID || (local && !pg_is_local_pid(pg, p)))
      return false;
  }
  return true;
}

const nodus_term *pg_pids_array(const nodus_term *t, size_t *n) {
  if (t->type == NODUS_T_PID) {
    *n = 1;
    return t;
  }
  *n = t->type == NODUS_T_LIST ? t->n : 0;
  return *n ? t->v.items : NULL;
}

void pg_send(nodus_pg *pg, const nodus_term *to, nodus_term msg) {
  if (pg->proc) nodus_send_from(pg->proc, to, msg);
  else nodus_term_free(&msg);
}

void pg_broadcast_peers(nodus_pg *pg, nodus_term msg) {
  TERMMAP_FOREACH(&pg->peers, s) {
    nodus_term copy;
    if (nodus_copy(&copy, &msg) == 0) pg_send(pg, &s->key, copy);
  }
  nodus_term_free(&msg);
}

static void log_unknown_once(nodus_pg *pg) {
  if (pg->logged_unknown) return;
  pg->logged_unknown = true;
  nodus_log(pg->node, NODUS_LOG_INFO, "pg",
            "scope %s: ignoring a message pg does not send (logged once)",
            nodus_atom_text(pg->name, NULL));
}

/* {discover, self()} to the scope of the same name on `node`. */
static void discover(nodus_pg *pg, nodus_atom node) {
  nodus_term to, msg, self;
  if (nodus_copy(&self, &pg->pid)) return;
  if (nodus_build(&msg, "{discover, ~t}", self)) return;
  if (nodus_build(&to, "{~A, ~A}", pg->name, node)) {
    nodus_term_free(&msg);
    return;
  }
  pg_send(pg, &to, msg);
  nodus_term_free(&to);
}

/* ---- peers ------------------------------------------------------------- */

static void peer_free(pg_peer *p) {
  TERMMAP_FOREACH(&p->groups, s) {
    termvec_free(s->value);
    free(s->value);
  }
  termmap_free(&p->groups);
  nodus_term_free(&p->mref);
  free(p);
}

/* The peer entry for a remote scope, monitoring it when new. */
static pg_peer *peer_get_or_add(nodus_pg *pg, const nodus_term *scope_pid,
                                bool *added) {
  pg_peer *p = termmap_get(&pg->peers, scope_pid);
  *added = false;
  if (p) return p;
  p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (nodus_monitor(pg->proc, scope_pid, &p->mref) ||
      termmap_put(&pg->peers, scope_pid, p)) {
    peer_free(p);
    return NULL;
  }
  *added = true;
  return p;
}

/* Everything a peer told us leaves the table. */
static void peer_forget_all(nodus_pg *pg, pg_peer *p) {
  TERMMAP_FOREACH(&p->groups, s) {
    termvec *v = s->value;
    pg_rows_remove(pg, &s->key, v->items, v->len, false);
  }
}

/* ---- messages from other scopes ----------------------------------------- */

static void on_discover(nodus_pg *pg, const nodus_term *peer) {
  if (peer->type != NODUS_T_PID || pg_is_local_pid(pg, peer)) return;
  nodus_term groups, self, msg;
  if (pg_rows_local_groups(pg, &groups)) return;
  if (nodus_copy(&self, &pg->pid)) {
    nodus_term_free(&groups);
    return;
  }
  /* gen_server:cast(Peer, {sync, self(), Groups}) */
  if (nodus_build(&msg, "{'$gen_cast', {sync, ~t, ~t}}", self, groups) == 0)
    pg_send(pg, peer, msg);
  bool added;
  if (peer_get_or_add(pg, peer, &added) && added) {
    if (nodus_copy(&self, &pg->pid) == 0 &&
        nodus_build(&msg, "{discover, ~t}", self) == 0)
      pg_send(pg, peer, msg);
  }
}

static bool valid_sync_groups(const nodus_pg *pg, const nodus_term *groups) {
  if (!nodus_is_proper_list(groups)) return false;
  for (size_t i = 0; groups->type == NODUS_T_LIST && i < groups->n; i++) {
    const nodus_term *e = &groups->v.items[i];
    if (e->type != NODUS_T_TUPLE || e->n != 2 ||
        !pg_valid_pids(pg, &e->v.items[1], false) ||
        e->v.items[1].type == NODUS_T_PID)
      return false;
  }
  return true;
}

/* Applies the difference between what a peer had in a group and what it
 * has now: join what is new, leave what is gone (multisets). */
static void apply_group_diff(nodus_pg *pg, const nodus_term *group,
                             const termvec *old, const termvec *now) {
  termvec added = {0}, removed = {0};
  for (size_t i = 0; i < now->len; i++) termvec_push(&added, &now->items[i]);
  for (size_t i = 0; old && i < old->len; i++)
    if (!termvec_remove_one(&added, &old->items[i]))
      termvec_push(&removed, &old->items[i]);
  /* Join before leave, so a group that only changes never disappears. */
  pg_rows_add(pg, group, added.items, added.len, false);
  pg_rows_remove(pg, group, removed.items, removed.len, false);
  termvec_free(&added);
  termvec_free(&removed);
}

/* sync replaces everything known from that peer (handle_sync/6). */
static void on_sync(nodus_pg *pg, const nodus_term *peer,
                    const nodus_term *groups) {
  if (peer->type != NODUS_T_PID || pg_is_local_pid(pg, peer) ||
      !valid_sync_groups(pg, groups))
    return;
  bool added;
  pg_peer *p = peer_get_or_add(pg, peer, &added);
  if (!p) return;
  termmap now;
  termmap_init(&now);
  for (size_t i = 0; groups->type == NODUS_T_LIST && i < groups->n; i++) {
    const nodus_term *g = &groups->v.items[i].v.items[0];
    const nodus_term *pids = &groups->v.items[i].v.items[1];
    termvec *v = calloc(1, sizeof *v);
    if (!v) continue;
    termvec_push_all(v, pids);
    termvec *prev = termmap_get(&now, g); /* maps:from_list: last wins */
    if (!v->len || termmap_put(&now, g, v)) {
      termvec_free(v);
      free(v);
      continue;
    }
    if (prev) {
      termvec_free(prev);
      free(prev);
    }
  }
  TERMMAP_FOREACH(&now, s)
    apply_group_diff(pg, &s->key, termmap_get(&p->groups, &s->key), s->value);
  TERMMAP_FOREACH(&p->groups, s) {
    if (termmap_get(&now, &s->key)) continue;
    termvec *v = s->value;
    pg_rows_remove(pg, &s->key, v->items, v->len, false);
  }
  TERMMAP_FOREACH(&p->groups, s) {
    termvec_free(s->value);
    free(s->value);
  }
  termmap_free(&p->groups);
  p->groups = now;
}

static void on_join(nodus_pg *pg, const nodus_term *peer,
                    const nodus_term *group, const nodus_term *pids) {
  pg_peer *p = termmap_get(&pg->peers, peer);
  /* Unknown peer: a join racing its DOWN, or a node outside the overlay
   * network; pg ignores both. */
  if (!p || !pg_valid_pids(pg, pids, false)) return;
  size_t n;
  const nodus_term *arr = pg_pids_array(pids, &n);
  if (!n) return;
  termvec *v = termmap_get(&p->groups, group);
  if (!v) {
    if (!(v = calloc(1, sizeof *v))) return;
    if (termmap_put(&p->groups, group, v)) {
      free(v);
      return;
    }
  }
  termvec_push_all(v, pids);
  pg_rows_add(pg, group, arr, n, false);
}

static void on_leave(nodus_pg *pg, const nodus_term *peer,
                     const nodus_term *pids, const nodus_term *groups) {
  pg_peer *p = termmap_get(&pg->peers, peer);
  if (!p || !pg_valid_pids(pg, pids, false) || !nodus_is_proper_list(groups))
    return;
  size_t n;
  const nodus_term *arr = pg_pids_array(pids, &n);
  for (size_t g = 0; groups->type == NODUS_T_LIST && g < groups->n; g++) {
    const nodus_term *group = &groups->v.items[g];
    termvec *v = termmap_get(&p->groups, group);
    if (!v) continue;
    /* Remove only what this peer added, so a confused peer can't take
     * other nodes' members out. */
    termvec gone = {0};
    for (size_t i = 0; i < n; i++)
      if (termvec_remove_one(v, &arr[i])) termvec_push(&gone, &arr[i]);
    if (!v->len) {
      termmap_del(&p->groups, group);
      termvec_free(v);
      free(v);
    }
    pg_rows_remove(pg, group, gone.items, gone.len, false);
    termvec_free(&gone);
  }
}

/* ---- DOWN: a local member, a remote scope, or a watcher ----------------- */

static void local_member_down(nodus_pg *pg, const nodus_term *pid,
                              pg_local *l) {
  termmap_del(&pg->locals, pid);
  for (size_t i = 0; i < l->groups.len; i++)
    pg_rows_remove(pg, &l->groups.items[i], pid, 1, true);
  nodus_term p, groups, self, msg;
  if (l->groups.len && nodus_copy(&p, pid) == 0) {
    if (termvec_to_list(&l->groups, &groups)) {
      nodus_term_free(&p);
    } else if (nodus_copy(&self, &pg->pid)) {
      nodus_term_free(&p);
      nodus_term_free(&groups);
    } else if (nodus_build(&msg, "{leave, ~t, ~t, ~t}", self, p, groups) == 0) {
      pg_broadcast_peers(pg, msg);
    }
  }
  termvec_free(&l->groups);
  nodus_term_free(&l->mref);
  free(l);
}

static void on_down(nodus_pg *pg, const nodus_term *mref,
                    const nodus_term *pid) {
  if (pg_is_local_pid(pg, pid)) {
    pg_local *l = termmap_get(&pg->locals, pid);
    if (l && nodus_equal(&l->mref, mref)) {
      local_member_down(pg, pid, l);
      return;
    }
  } else {
    pg_peer *p = termmap_get(&pg->peers, pid);
    if (p && nodus_equal(&p->mref, mref)) {
      termmap_del(&pg->peers, pid);
      peer_forget_all(pg, p);
      peer_free(p);
      return;
    }
  }
  pg_watch_drop(pg, mref);
}

void pg_watch_drop(nodus_pg *pg, const nodus_term *ref) {
  for (pg_watch **wp = &pg->watches; *wp; wp = &(*wp)->next) {
    if (nodus_equal(&(*wp)->ref, ref)) {
      pg_watch *w = *wp;
      *wp = w->next;
      nodus_term_free(&w->ref);
      nodus_term_free(&w->pid);
      nodus_term_free(&w->group);
      free(w);
      return;
    }
  }
}

/* ---- the process ------------------------------------------------------- */

static void scope_msg(nodus_proc *self, const nodus_term *msg) {
  nodus_pg *pg = nodus_proc_state(self);
  const nodus_term *a, *b, *c, *d;
  nodus_atom node;
  if (nodus_match(msg, "{join, ~t, ~t, ~t}", &a, &b, &c) == 0) {
    on_join(pg, a, b, c);
  } else if (nodus_match(msg, "{leave, ~t, ~t, ~t}", &a, &b, &c) == 0) {
    on_leave(pg, a, b, c);
  } else if (nodus_match(msg, "{'$gen_cast', {sync, ~t, ~t}}", &a, &b) == 0) {
    on_sync(pg, a, b);
  } else if (nodus_match(msg, "{discover, ~t}", &a) == 0) {
    on_discover(pg, a);
  } else if (nodus_match(msg, "{'DOWN', ~t, process, ~t, ~t}", &a, &b, &d) ==
             0) {
    on_down(pg, a, b);
  } else if (nodus_match(msg, "{nodeup, ~a}", &node) == 0) {
    if (node != pg->node_name) discover(pg, node);
  } else if (nodus_match(msg, "{nodedown, ~a}", &node) == 0) {
    /* The DOWNs of the scopes there do the cleanup. */
  } else {
    log_unknown_once(pg);
  }
}

static void scope_exit(nodus_proc *self, const nodus_term *reason) {
  nodus_pg *pg = nodus_proc_state(self);
  pg_rows_clear(pg);
  TERMMAP_FOREACH(&pg->locals, s) {
    pg_local *l = s->value;
    termvec_free(&l->groups);
    nodus_term_free(&l->mref);
    free(l);
  }
  termmap_free(&pg->locals);
  TERMMAP_FOREACH(&pg->peers, s) peer_free(s->value);
  termmap_free(&pg->peers);
  while (pg->watches) {
    nodus_term ref = pg->watches->ref;
    pg->watches->ref = (nodus_term){0};
    pg_watch_drop(pg, &ref);
    nodus_term_free(&ref);
  }
  pg->proc = NULL;
  pg_registry_remove(pg);
  pg_unref(pg); /* the process's reference */
}

int pg_scope_spawn(nodus_pg *pg, const char *name) {
  nodus_proc_spec spec = {.on_message = scope_msg,
                          .on_exit = scope_exit,
                          .state = pg,
                          .register_name = name};
  int rc = nodus_spawn(pg->node, &spec, &pg->pid);
  if (rc) return rc;
  pg->proc = nodus_proc_lookup(pg->node, &pg->pid);
  if (!pg->proc) return NODUS_ESTATE;
  atomic_fetch_add(&pg->refs, 1);
  /* init/1: watch nodes, and discover the scopes of the nodes we know. */
  nodus_monitor_node(pg->proc, NODUS_ATOM_EMPTY, true);
  nodus_term nodes;
  if (nodus_node_list(pg->node, &nodes) == 0) {
    for (size_t i = 0; nodes.type == NODUS_T_LIST && i < nodes.n; i++)
      if (nodes.v.items[i].type == NODUS_T_ATOM)
        discover(pg, nodes.v.items[i].v.atom);
    nodus_term_free(&nodes);
  }
  return 0;
}

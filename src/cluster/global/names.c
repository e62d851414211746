/* The name table and the lock table: global.erl's global_names,
 * global_pid_names and global_locks, with the monitors that clean them
 * when a holder dies (a remote holder's DOWN comes with noconnection
 * when its node goes). */
#include <stdint.h>
#include <stdlib.h>

#include "cluster/global/global_internal.h"

void gl_tables_init(gl_server *g) {
  pthread_rwlock_init(&g->lock, NULL);
  termmap_init(&g->names);
  termmap_init(&g->names_by_mref);
  termmap_init(&g->names_by_pid);
  termmap_init(&g->locks);
  termmap_init(&g->locks_by_mref);
  (void)nodus_mk_atom(&g->global_rid, "global");
}

static void name_free(gl_name *n) {
  nodus_term_free(&n->name);
  nodus_term_free(&n->pid);
  nodus_term_free(&n->method);
  nodus_term_free(&n->mref);
  free(n);
}

static void lock_free(gl_lock *l) {
  nodus_term_free(&l->resource);
  nodus_term_free(&l->requester);
  termvec_free(&l->pids);
  termvec_free(&l->mrefs);
  free(l);
}

void gl_tables_free(gl_server *g) {
  TERMMAP_FOREACH(&g->names, s) name_free(s->value);
  TERMMAP_FOREACH(&g->locks, s) lock_free(s->value);
  termmap_free(&g->names);
  termmap_free(&g->names_by_mref);
  termmap_free(&g->names_by_pid);
  termmap_free(&g->locks);
  termmap_free(&g->locks_by_mref);
  pthread_rwlock_destroy(&g->lock);
}

/* ---- names -------------------------------------------------------------- */

gl_name *gl_name_find(gl_server *g, const nodus_term *name) {
  return termmap_get(&g->names, name);
}

bool gl_pid_has_name(gl_server *g, const nodus_term *pid) {
  return termmap_get(&g->names_by_pid, pid) != NULL;
}

/* global_pid_names: how many names each pid has (a count in the value). */
static void pid_count(gl_server *g, const nodus_term *pid, int delta) {
  uintptr_t n = (uintptr_t)termmap_get(&g->names_by_pid, pid);
  n = delta > 0 ? n + 1 : n - 1;
  if (n) termmap_put(&g->names_by_pid, pid, (void *)n);
  else termmap_del(&g->names_by_pid, pid);
}

static void trace_name(gl_server *g, const char *what, const nodus_term *name,
                       const nodus_term *pid, const nodus_term *from) {
  if (!g->trace_names) return;
  char *a = NULL, *b = NULL, *c = NULL;
  nodus_print(name, NULL, &a, NULL);
  nodus_print(pid, NULL, &b, NULL);
  if (from) nodus_print(from, NULL, &c, NULL);
  nodus_log(g->node, NODUS_LOG_WARN, "global", "names: %s %s %s from %s", what,
            a ? a : "?", b ? b : "?", c ? c : "-");
  free(a), free(b), free(c);
}

static void name_remove(gl_server *g, gl_name *n) {
  trace_name(g, "remove", &n->name, &n->pid, NULL);
  pid_count(g, &n->pid, -1);
  if (n->mref.type != NODUS_T_NONE) {
    nodus_demonitor(g->proc, &n->mref);
    termmap_del(&g->names_by_mref, &n->mref);
  }
  pthread_rwlock_wrlock(&g->lock);
  termmap_del(&g->names, &n->name);
  pthread_rwlock_unlock(&g->lock);
  name_free(n);
}

void gl_name_delete(gl_server *g, const nodus_term *name) {
  gl_name *n = gl_name_find(g, name);
  if (n) name_remove(g, n);
}

void gl_name_down(gl_server *g, const nodus_term *mref) {
  gl_name *n = termmap_get(&g->names_by_mref, mref);
  if (!n) return;
  trace_name(g, "down", &n->name, &n->pid, NULL);
  nodus_term_free(&n->mref); /* the monitor fired: nothing to demonitor */
  termmap_del(&g->names_by_mref, mref);
  name_remove(g, n);
}

/* lock_still_set/3: a name goes in only while the one who asked still
 * holds the cluster lock {global, _} here, so a registration racing a
 * sync (or a holder's death) cannot slip in unseen. */
static bool lock_still_set(gl_server *g, const nodus_term *from,
                           const nodus_term *extra) {
  gl_lock *l = termmap_get(&g->locks, &g->global_rid);
  if (!l) return !g->global_lock_down;
  if (from->type == NODUS_T_PID) {
    for (size_t i = 0; i < l->pids.len; i++)
      if (nodus_equal(&l->pids.items[i], from)) return true;
    return false;
  }
  /* A sync's insert: ExtraInfo's {lock, {global, LockReqId}}. */
  for (size_t i = 0; extra && extra->type == NODUS_T_LIST && i < extra->n;
       i++) {
    const nodus_term *lockid;
    if (nodus_match(&extra->v.items[i], "{lock, {global, ~t}}", &lockid) == 0)
      return nodus_equal(lockid, &l->requester);
  }
  return false;
}

void gl_name_insert(gl_server *g, const nodus_term *name,
                    const nodus_term *pid, const nodus_term *method,
                    const nodus_term *from, const nodus_term *extra) {
  if (pid->type != NODUS_T_PID) return;
  gl_name_delete(g, name);
  gl_name *n = calloc(1, sizeof *n);
  if (!n) return;
  if (nodus_copy(&n->name, name) || nodus_copy(&n->pid, pid) ||
      nodus_copy(&n->method, method) ||
      nodus_monitor(g->proc, pid, &n->mref)) {
    if (n->mref.type != NODUS_T_NONE) nodus_demonitor(g->proc, &n->mref);
    name_free(n);
    return;
  }
  pthread_rwlock_wrlock(&g->lock);
  int rc = termmap_put(&g->names, name, n);
  pthread_rwlock_unlock(&g->lock);
  if (rc || termmap_put(&g->names_by_mref, &n->mref, n)) {
    if (!rc) {
      pthread_rwlock_wrlock(&g->lock);
      termmap_del(&g->names, name);
      pthread_rwlock_unlock(&g->lock);
    }
    nodus_demonitor(g->proc, &n->mref);
    name_free(n);
    return;
  }
  pid_count(g, pid, +1);
  trace_name(g, "insert", name, pid, from);
  if (!lock_still_set(g, from, extra)) {
    trace_name(g, "lock_not_set", name, pid, from);
    gl_name_delete(g, name);
  }
}

nodus_term gl_where(gl_server *g, const nodus_term *name) {
  nodus_term pid = {0};
  gl_name *n = gl_name_find(g, name);
  if (n && (n->pid.v.id->node != g->self_node ||
            nodus_proc_lookup(g->node, &n->pid)))
    (void)nodus_copy(&pid, &n->pid);
  return pid;
}

nodus_term gl_name_list(gl_server *g) {
  nodus_term list;
  if (nodus_mk_list(&list, g->names.count)) return nodus_nil();
  size_t i = 0;
  TERMMAP_FOREACH(&g->names, s) {
    gl_name *n = s->value;
    nodus_term a = {0}, b = {0}, c = {0}, row = {0};
    if (nodus_copy(&a, &n->name) || nodus_copy(&b, &n->pid) ||
        nodus_copy(&c, &n->method) ||
        nodus_build(&row, "{~t, ~t, ~t}", a, b, c)) {
      nodus_term_free(&a);
      nodus_term_free(&b);
      nodus_term_free(&c);
      nodus_term_free(&list);
      return nodus_nil();
    }
    nodus_list_set(&list, i++, row);
  }
  return list;
}

/* ---- locks -------------------------------------------------------------- */

static const nodus_term *id_part(const nodus_term *id, size_t i) {
  return id->type == NODUS_T_TUPLE && id->n == 2 ? &id->v.items[i] : NULL;
}

bool gl_lock_can_set(gl_server *g, const nodus_term *id) {
  const nodus_term *res = id_part(id, 0), *req = id_part(id, 1);
  if (!res) return false;
  gl_lock *l = termmap_get(&g->locks, res);
  return !l || nodus_equal(&l->requester, req);
}

bool gl_global_lock_set(gl_server *g) {
  return termmap_get(&g->locks, &g->global_rid) != NULL;
}

static ssize_t holder_index(const gl_lock *l, const nodus_term *pid) {
  for (size_t i = 0; i < l->pids.len; i++)
    if (nodus_equal(&l->pids.items[i], pid)) return (ssize_t)i;
  return -1;
}

bool gl_lock_set(gl_server *g, const nodus_term *id, const nodus_term *pid) {
  const nodus_term *res = id_part(id, 0), *req = id_part(id, 1);
  if (!res || pid->type != NODUS_T_PID) return false;
  gl_lock *l = termmap_get(&g->locks, res);
  if (l && !nodus_equal(&l->requester, req)) return false;
  if (l && holder_index(l, pid) >= 0) return true;
  bool fresh = !l;
  if (fresh) {
    if (!(l = calloc(1, sizeof *l))) return false;
    if (nodus_copy(&l->resource, res) || nodus_copy(&l->requester, req) ||
        termmap_put(&g->locks, res, l)) {
      lock_free(l);
      return false;
    }
  }
  nodus_term mref;
  if (nodus_monitor(g->proc, pid, &mref)) {
    if (fresh) {
      termmap_del(&g->locks, res);
      lock_free(l);
    }
    return false;
  }
  termvec_push(&l->pids, pid);
  termvec_push(&l->mrefs, &mref);
  termmap_put(&g->locks_by_mref, &mref, l);
  nodus_term_free(&mref);
  return true;
}

/* remove_lock/6: drop one holder; the lock goes with its last one. down:
 * because the holder died (global_lock_down for the {global, _} lock). */
static void holder_remove(gl_server *g, gl_lock *l, size_t i, bool down,
                          bool demonitor) {
  if (demonitor) nodus_demonitor(g->proc, &l->mrefs.items[i]);
  termmap_del(&g->locks_by_mref, &l->mrefs.items[i]);
  nodus_term_free(&l->pids.items[i]);
  nodus_term_free(&l->mrefs.items[i]);
  size_t last = --l->pids.len;
  l->mrefs.len--;
  if (i != last) {
    l->pids.items[i] = l->pids.items[last];
    l->mrefs.items[i] = l->mrefs.items[last];
  }
  if (l->pids.len) return;
  if (nodus_equal(&l->resource, &g->global_rid)) g->global_lock_down = down;
  termmap_del(&g->locks, &l->resource);
  lock_free(l);
}

void gl_lock_del(gl_server *g, const nodus_term *id, const nodus_term *pid) {
  const nodus_term *res = id_part(id, 0), *req = id_part(id, 1);
  if (!res) return;
  gl_lock *l = termmap_get(&g->locks, res);
  if (!l || !nodus_equal(&l->requester, req)) return;
  ssize_t i = holder_index(l, pid);
  if (i >= 0) holder_remove(g, l, (size_t)i, false, true);
}

void gl_lock_down(gl_server *g, const nodus_term *mref) {
  gl_lock *l = termmap_get(&g->locks_by_mref, mref);
  if (!l) return;
  for (size_t i = 0; i < l->mrefs.len; i++)
    if (nodus_equal(&l->mrefs.items[i], mref)) {
      holder_remove(g, l, i, true, false);
      return;
    }
}

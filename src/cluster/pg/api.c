/* The public pg API. Reads lock the table and copy; everything that
 * changes a scope runs on the node's loop through nodus_node_call (at once
 * when the caller is a handler), as pg.erl serialises its changes through
 * the scope's gen_server. */
#include <stdlib.h>
#include <string.h>

#include "cluster/pg/pg_internal.h"

/* ---- the running scopes, so a second start finds the first ------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static nodus_pg *registry;

static nodus_pg *registry_find(nodus_node *node, nodus_atom name) {
  for (nodus_pg *pg = registry; pg; pg = pg->next_running)
    if (pg->node == node && pg->name == name) return pg;
  return NULL;
}

nodus_pg *pg_registry_get(nodus_node *node, nodus_atom name) {
  pthread_mutex_lock(&registry_lock);
  nodus_pg *pg = registry_find(node, name);
  if (pg) atomic_fetch_add(&pg->refs, 1);
  pthread_mutex_unlock(&registry_lock);
  return pg;
}

void pg_registry_remove(nodus_pg *pg) {
  pthread_mutex_lock(&registry_lock);
  for (nodus_pg **pp = &registry; *pp; pp = &(*pp)->next_running) {
    if (*pp == pg) {
      *pp = pg->next_running;
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
}

void pg_unref(nodus_pg *pg) {
  if (atomic_fetch_sub(&pg->refs, 1) != 1) return;
  nodus_term_free(&pg->pid);
  pthread_rwlock_destroy(&pg->lock);
  free(pg);
}

/* ---- start, stop, release ---------------------------------------------- */

struct start_call {
  const char *name;
  nodus_pg *pg;
  int rc;
};

static void start_on_loop(nodus_node *node, void *arg) {
  struct start_call *c = arg;
  nodus_atom name;
  if ((c->rc = nodus_atom_intern(c->name, strlen(c->name), &name))) return;
  pthread_mutex_lock(&registry_lock);
  nodus_pg *pg = registry_find(node, name);
  if (pg) atomic_fetch_add(&pg->refs, 1);
  pthread_mutex_unlock(&registry_lock);
  if (pg) {
    c->pg = pg;
    return;
  }
  if (!(pg = calloc(1, sizeof *pg))) {
    c->rc = NODUS_ENOMEM;
    return;
  }
  atomic_init(&pg->refs, 1); /* the caller's handle */
  pg->node = node;
  pg->name = name;
  pg->node_name = nodus_node_name(node);
  pg->creation = nodus_node_creation(node);
  pthread_rwlock_init(&pg->lock, NULL);
  termmap_init(&pg->rows);
  termmap_init(&pg->locals);
  termmap_init(&pg->peers);
  pthread_mutex_lock(&registry_lock);
  pg->next_running = registry;
  registry = pg;
  pthread_mutex_unlock(&registry_lock);
  if ((c->rc = pg_scope_spawn(pg, c->name))) {
    pg_registry_remove(pg);
    if (!pg->proc) pg_unref(pg); /* never ran: only our reference */
    return;
  }
  c->pg = pg;
}

int nodus_pg_start(nodus_node *node, const char *scope, nodus_pg **out) {
  if (!node || !scope || !*scope || !out) return NODUS_EINVAL;
  struct start_call c = {scope, NULL, 0};
  int rc = nodus_node_call(node, start_on_loop, &c);
  if (rc) return rc;
  if (c.rc) return c.rc;
  *out = c.pg;
  return 0;
}

static void stop_on_loop(nodus_node *node, void *arg) {
  nodus_pg *pg = arg;
  if (!pg->proc) return;
  nodus_term reason = nodus_atom_term(NODUS_ATOM_EMPTY);
  (void)nodus_mk_atom(&reason, "shutdown");
  nodus_exit(pg->proc, &reason); /* scope_exit cleans up */
}

static bool registry_has(nodus_pg *pg) {
  pthread_mutex_lock(&registry_lock);
  nodus_pg *p = registry;
  while (p && p != pg) p = p->next_running;
  pthread_mutex_unlock(&registry_lock);
  return p != NULL;
}

void nodus_pg_close(nodus_pg *pg) {
  if (!pg) return;
  /* A scope leaves the registry when its process ends, as every process
   * does when the node closes: one still there runs on a live node. */
  if (registry_has(pg)) nodus_node_call(pg->node, stop_on_loop, pg);
  pg_unref(pg);
}

void nodus_pg_release(nodus_pg *pg) {
  if (pg) pg_unref(pg);
}

nodus_atom nodus_pg_scope_name(const nodus_pg *pg) { return pg->name; }

/* ---- join and leave ------------------------------------------------------ */

struct change_call {
  nodus_pg *pg;
  const nodus_term *group, *pids, *watcher, *ref;
  nodus_term *out_ref, *out_value;
  int rc;
};

static nodus_term copy_of(const nodus_term *t) {
  nodus_term c;
  return nodus_copy(&c, t) ? (nodus_term){0} : c;
}

/* join_local/3, then the table, then {join, self(), Group, PidOrPids} to
 * every remote scope. */
static void join_on_loop(nodus_node *node, void *arg) {
  struct change_call *c = arg;
  nodus_pg *pg = c->pg;
  if (!pg->proc) {
    c->rc = NODUS_ESTATE;
    return;
  }
  size_t n;
  const nodus_term *pids = pg_pids_array(c->pids, &n);
  if (!n) return;
  for (size_t i = 0; i < n; i++) {
    pg_local *l = termmap_get(&pg->locals, &pids[i]);
    if (!l) {
      if (!(l = calloc(1, sizeof *l))) {
        c->rc = NODUS_ENOMEM;
        return;
      }
      /* A dead pid gets its DOWN (noproc) at once and leaves again. */
      if ((c->rc = nodus_monitor(pg->proc, &pids[i], &l->mref)) ||
          (c->rc = termmap_put(&pg->locals, &pids[i], l))) {
        nodus_term_free(&l->mref);
        free(l);
        return;
      }
    }
    termvec_push(&l->groups, c->group);
  }
  pg_rows_add(pg, c->group, pids, n, true);
  nodus_term msg;
  if (nodus_build(&msg, "{join, ~t, ~t, ~t}", copy_of(&pg->pid), copy_of(c->group),
                  copy_of(c->pids)) == 0)
    pg_broadcast_peers(pg, msg);
}

int nodus_pg_join(nodus_pg *pg, const nodus_term *group,
                  const nodus_term *pid_or_pids) {
  if (!pg || !group || !pid_or_pids || !pg_valid_pids(pg, pid_or_pids, true))
    return NODUS_EINVAL;
  struct change_call c = {.pg = pg, .group = group, .pids = pid_or_pids};
  int rc = nodus_node_call(pg->node, join_on_loop, &c);
  return rc ? rc : c.rc;
}

/* leave_local/3: only the pids that were in the group leave; the rest of
 * the cluster hears about exactly those. */
static void leave_on_loop(nodus_node *node, void *arg) {
  struct change_call *c = arg;
  nodus_pg *pg = c->pg;
  if (!pg->proc) {
    c->rc = NODUS_ESTATE;
    return;
  }
  size_t n;
  const nodus_term *pids = pg_pids_array(c->pids, &n);
  termvec left = {0};
  for (size_t i = 0; i < n; i++) {
    pg_local *l = termmap_get(&pg->locals, &pids[i]);
    if (!l || !termvec_remove_one(&l->groups, c->group)) continue;
    termvec_push(&left, &pids[i]);
    if (!l->groups.len) {
      nodus_demonitor(pg->proc, &l->mref);
      termmap_del(&pg->locals, &pids[i]);
      nodus_term_free(&l->mref);
      termvec_free(&l->groups);
      free(l);
    }
  }
  if (!left.len) {
    c->rc = NODUS_ENOMATCH; /* not_joined */
    return;
  }
  pg_rows_remove(pg, c->group, left.items, left.len, true);
  nodus_term who, groups, msg;
  if (c->pids->type == NODUS_T_PID) who = copy_of(c->pids);
  else if (termvec_to_list(&left, &who)) who = nodus_nil();
  if (nodus_build(&groups, "[~t]", copy_of(c->group)) == 0 &&
      nodus_build(&msg, "{leave, ~t, ~t, ~t}", copy_of(&pg->pid), who, groups) ==
          0)
    pg_broadcast_peers(pg, msg);
  termvec_free(&left);
}

int nodus_pg_leave(nodus_pg *pg, const nodus_term *group,
                   const nodus_term *pid_or_pids) {
  if (!pg || !group || !pid_or_pids || !pg_valid_pids(pg, pid_or_pids, true))
    return NODUS_EINVAL;
  struct change_call c = {.pg = pg, .group = group, .pids = pid_or_pids};
  int rc = nodus_node_call(pg->node, leave_on_loop, &c);
  return rc ? rc : c.rc;
}

/* ---- reads --------------------------------------------------------------- */

static int read_members(nodus_pg *pg, const nodus_term *group, bool local,
                        nodus_term *out) {
  if (!pg || !group || !out) return NODUS_EINVAL;
  pthread_rwlock_rdlock(&pg->lock);
  pg_row *r = termmap_get(&pg->rows, group);
  int rc = 0;
  if (r) rc = termvec_to_list(local ? &r->local : &r->all, out);
  else *out = nodus_nil();
  pthread_rwlock_unlock(&pg->lock);
  return rc;
}

int nodus_pg_get_members(nodus_pg *pg, const nodus_term *group,
                         nodus_term *pids) {
  return read_members(pg, group, false, pids);
}

int nodus_pg_get_local_members(nodus_pg *pg, const nodus_term *group,
                               nodus_term *pids) {
  return read_members(pg, group, true, pids);
}

static int read_groups(nodus_pg *pg, bool local, nodus_term *out) {
  if (!pg || !out) return NODUS_EINVAL;
  termvec v = {0};
  int rc = 0;
  pthread_rwlock_rdlock(&pg->lock);
  TERMMAP_FOREACH(&pg->rows, s) {
    if (local && !((pg_row *)s->value)->local.len) continue;
    if ((rc = termvec_push(&v, &s->key))) break;
  }
  pthread_rwlock_unlock(&pg->lock);
  if (!rc) rc = termvec_to_list(&v, out);
  termvec_free(&v);
  return rc;
}

int nodus_pg_which_groups(nodus_pg *pg, nodus_term *groups) {
  return read_groups(pg, false, groups);
}

int nodus_pg_which_local_groups(nodus_pg *pg, nodus_term *groups) {
  return read_groups(pg, true, groups);
}

/* ---- monitors ------------------------------------------------------------ */

/* #{Group => AllPids} for monitor_scope's reply. */
static int scope_map(nodus_pg *pg, nodus_term *out) {
  int rc = nodus_mk_map(out);
  TERMMAP_FOREACH(&pg->rows, s) {
    if (rc) break;
    nodus_term pids;
    if ((rc = termvec_to_list(&((pg_row *)s->value)->all, &pids))) break;
    rc = nodus_map_put(out, copy_of(&s->key), pids);
  }
  if (rc) nodus_term_free(out);
  return rc;
}

static void monitor_on_loop(nodus_node *node, void *arg) {
  struct change_call *c = arg;
  nodus_pg *pg = c->pg;
  if (!pg->proc) {
    c->rc = NODUS_ESTATE;
    return;
  }
  pg_watch *w = calloc(1, sizeof *w);
  if (!w) {
    c->rc = NODUS_ENOMEM;
    return;
  }
  /* Monitor the watcher: its DOWN drops the watch, and the monitor's
   * reference is the one notifications carry (as pg does). */
  if ((c->rc = c->group ? read_members(pg, c->group, false, c->out_value)
                        : scope_map(pg, c->out_value))) {
    free(w);
    return;
  }
  if ((c->rc = nodus_monitor(pg->proc, c->watcher, &w->ref)) ||
      (c->rc = nodus_copy(&w->pid, c->watcher)) ||
      (c->group && (c->rc = nodus_copy(&w->group, c->group))) ||
      (c->rc = nodus_copy(c->out_ref, &w->ref))) {
    nodus_term_free(c->out_value);
    nodus_term_free(&w->ref);
    nodus_term_free(&w->pid);
    nodus_term_free(&w->group);
    free(w);
    return;
  }
  w->next = pg->watches;
  pg->watches = w;
}

int nodus_pg_monitor_scope(nodus_pg *pg, const nodus_term *watcher,
                           nodus_term *ref, nodus_term *groups) {
  if (!pg || !watcher || !ref || !groups) return NODUS_EINVAL;
  struct change_call c = {
      .pg = pg, .watcher = watcher, .out_ref = ref, .out_value = groups};
  int rc = nodus_node_call(pg->node, monitor_on_loop, &c);
  return rc ? rc : c.rc;
}

int nodus_pg_monitor(nodus_pg *pg, const nodus_term *group,
                     const nodus_term *watcher, nodus_term *ref,
                     nodus_term *members) {
  if (!pg || !group || !watcher || !ref || !members) return NODUS_EINVAL;
  struct change_call c = {.pg = pg,
                          .group = group,
                          .watcher = watcher,
                          .out_ref = ref,
                          .out_value = members};
  int rc = nodus_node_call(pg->node, monitor_on_loop, &c);
  return rc ? rc : c.rc;
}

static void demonitor_on_loop(nodus_node *node, void *arg) {
  struct change_call *c = arg;
  nodus_pg *pg = c->pg;
  c->rc = NODUS_ENOMATCH;
  if (!pg->proc) return;
  for (pg_watch *w = pg->watches; w; w = w->next) {
    if (!nodus_equal(&w->ref, c->ref)) continue;
    nodus_demonitor(pg->proc, c->ref);
    pg_watch_drop(pg, c->ref);
    c->rc = 0;
    return;
  }
}

int nodus_pg_demonitor(nodus_pg *pg, const nodus_term *ref) {
  if (!pg || !ref) return NODUS_EINVAL;
  struct change_call c = {.pg = pg, .ref = ref};
  int rc = nodus_node_call(pg->node, demonitor_on_loop, &c);
  return rc ? rc : c.rc;
}

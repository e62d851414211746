/* The membership table of a scope (pg.erl keeps it in an ETS table named
 * after the scope): group -> {all pids, local pids}. Only the loop writes
 * it, under the write lock; readers on any thread take the read lock.
 * Every change is also told to the scope's watchers, as notify_group/5. */
#include <stdlib.h>

#include "cluster/pg/pg_internal.h"

static void row_free(pg_row *r) {
  termvec_free(&r->all);
  termvec_free(&r->local);
  free(r);
}

/* {Ref, Action, Group, Pids} to every watcher of the scope or the group. */
static void notify(nodus_pg *pg, const char *action, const nodus_term *group,
                   const nodus_term *pids, size_t n) {
  if (!pg->watches || !n) return;
  termvec v = {0};
  for (size_t i = 0; i < n; i++) termvec_push(&v, &pids[i]);
  for (pg_watch *w = pg->watches; w; w = w->next) {
    if (w->group.type != NODUS_T_NONE && !nodus_equal(&w->group, group))
      continue;
    nodus_term ref, g, list, msg;
    if (nodus_copy(&ref, &w->ref)) continue;
    if (nodus_copy(&g, group)) {
      nodus_term_free(&ref);
      continue;
    }
    if (termvec_to_list(&v, &list)) {
      nodus_term_free(&ref);
      nodus_term_free(&g);
      continue;
    }
    if (nodus_build(&msg, "{~t, ~a, ~t, ~t}", ref, action, g, list) == 0)
      pg_send(pg, &w->pid, msg);
  }
  termvec_free(&v);
}

void pg_rows_add(nodus_pg *pg, const nodus_term *group, const nodus_term *pids,
                 size_t n, bool local) {
  if (!n) return;
  pthread_rwlock_wrlock(&pg->lock);
  pg_row *r = termmap_get(&pg->rows, group);
  if (!r && (r = calloc(1, sizeof *r)) && termmap_put(&pg->rows, group, r)) {
    free(r);
    r = NULL;
  }
  for (size_t i = 0; r && i < n; i++) {
    termvec_push(&r->all, &pids[i]);
    if (local) termvec_push(&r->local, &pids[i]);
  }
  pthread_rwlock_unlock(&pg->lock);
  notify(pg, "join", group, pids, n);
}

void pg_rows_remove(nodus_pg *pg, const nodus_term *group,
                    const nodus_term *pids, size_t n, bool local) {
  if (!n) return;
  pthread_rwlock_wrlock(&pg->lock);
  pg_row *r = termmap_get(&pg->rows, group);
  bool had = r != NULL;
  for (size_t i = 0; r && i < n; i++) {
    termvec_remove_one(&r->all, &pids[i]);
    if (local) termvec_remove_one(&r->local, &pids[i]);
  }
  if (r && r->all.len == 0) { /* no empty groups */
    termmap_del(&pg->rows, group);
    row_free(r);
  }
  pthread_rwlock_unlock(&pg->lock);
  if (had) notify(pg, "leave", group, pids, n);
}

void pg_rows_clear(nodus_pg *pg) {
  pthread_rwlock_wrlock(&pg->lock);
  TERMMAP_FOREACH(&pg->rows, s) row_free(s->value);
  termmap_free(&pg->rows);
  pg->dead = true;
  pthread_rwlock_unlock(&pg->lock);
}

int pg_rows_local_groups(nodus_pg *pg, nodus_term *out) {
  /* Loop thread: the only writer, so no lock is needed to read. */
  size_t n = 0;
  TERMMAP_FOREACH(&pg->rows, s) n += ((pg_row *)s->value)->local.len > 0;
  if (!n) {
    *out = nodus_nil();
    return 0;
  }
  int rc = nodus_mk_list(out, n);
  if (rc) return rc;
  size_t i = 0;
  TERMMAP_FOREACH(&pg->rows, s) {
    pg_row *r = s->value;
    if (!r->local.len) continue;
    nodus_term g, pids, pair;
    if ((rc = nodus_copy(&g, &s->key))) break;
    if ((rc = termvec_to_list(&r->local, &pids))) {
      nodus_term_free(&g);
      break;
    }
    if ((rc = nodus_build(&pair, "{~t, ~t}", g, pids))) break;
    nodus_list_set(out, i++, pair);
  }
  if (rc) nodus_term_free(out);
  return rc;
}

void pg_foreach_member(nodus_pg *pg, const nodus_term *group,
                       void (*fn)(const nodus_term *pid, void *arg),
                       void *arg) {
  pthread_rwlock_rdlock(&pg->lock);
  pg_row *r = termmap_get(&pg->rows, group);
  for (size_t i = 0; r && i < r->all.len; i++) fn(&r->all.items[i], arg);
  pthread_rwlock_unlock(&pg->lock);
}

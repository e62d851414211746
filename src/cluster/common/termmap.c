/* Term-keyed hash map and term arrays; see termmap.h. */
#include "cluster/common/termmap.h"

#include <stdlib.h>
#include <string.h>

void termmap_init(termmap *m) {
  idmap_init(&m->by_hash);
  m->first = NULL;
  m->count = 0;
}

void termmap_free(termmap *m) {
  for (termmap_entry *e = m->first, *next; e; e = next) {
    next = e->next;
    nodus_term_free(&e->key);
    free(e);
  }
  idmap_free(&m->by_hash);
  termmap_init(m);
}

static termmap_entry *find(const termmap *m, const nodus_term *key,
                           uint64_t h) {
  termmap_entry *e = idmap_get(&m->by_hash, h);
  while (e && !nodus_equal(&e->key, key)) e = e->next_same;
  return e;
}

void *termmap_get(const termmap *m, const nodus_term *key) {
  if (!m->count) return NULL;
  termmap_entry *e = find(m, key, nodus_hash(key));
  return e ? e->value : NULL;
}

int termmap_put(termmap *m, const nodus_term *key, void *value) {
  if (!value) return NODUS_EINVAL;
  uint64_t h = nodus_hash(key);
  termmap_entry *e = find(m, key, h);
  if (e) {
    e->value = value;
    return 0;
  }
  if (!(e = calloc(1, sizeof *e))) return NODUS_ENOMEM;
  int rc = nodus_copy(&e->key, key);
  termmap_entry *same = idmap_get(&m->by_hash, h);
  if (!rc) rc = idmap_put(&m->by_hash, h, e);
  if (rc) {
    nodus_term_free(&e->key);
    free(e);
    return rc;
  }
  e->hash = h;
  e->value = value;
  e->next_same = same;
  e->next = m->first;
  if (m->first) m->first->prev = e;
  m->first = e;
  m->count++;
  return 0;
}

void *termmap_del(termmap *m, const nodus_term *key) {
  if (!m->count) return NULL;
  uint64_t h = nodus_hash(key);
  termmap_entry *head = idmap_get(&m->by_hash, h), **pp = &head;
  while (*pp && !nodus_equal(&(*pp)->key, key)) pp = &(*pp)->next_same;
  termmap_entry *e = *pp;
  if (!e) return NULL;
  *pp = e->next_same;
  if (head) (void)idmap_put(&m->by_hash, h, head); /* replaces: no growth */
  else idmap_del(&m->by_hash, h);
  if (e->prev) e->prev->next = e->next;
  else m->first = e->next;
  if (e->next) e->next->prev = e->prev;
  void *value = e->value;
  nodus_term_free(&e->key);
  free(e);
  m->count--;
  return value;
}

/* ---- termvec ----------------------------------------------------------- */

void termvec_free(termvec *v) {
  for (size_t i = 0; i < v->len; i++) nodus_term_free(&v->items[i]);
  free(v->items);
  memset(v, 0, sizeof *v);
}

int termvec_push(termvec *v, const nodus_term *t) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 4;
    nodus_term *items = realloc(v->items, cap * sizeof *items);
    if (!items) return NODUS_ENOMEM;
    v->items = items;
    v->cap = cap;
  }
  int rc = nodus_copy(&v->items[v->len], t);
  if (!rc) v->len++;
  return rc;
}

int termvec_push_all(termvec *v, const nodus_term *pid_or_list) {
  if (pid_or_list->type != NODUS_T_LIST) return termvec_push(v, pid_or_list);
  for (size_t i = 0; i < pid_or_list->n; i++) {
    int rc = termvec_push(v, &pid_or_list->v.items[i]);
    if (rc) return rc;
  }
  return 0;
}

bool termvec_remove_one(termvec *v, const nodus_term *t) {
  for (size_t i = 0; i < v->len; i++) {
    if (nodus_equal(&v->items[i], t)) {
      nodus_term_free(&v->items[i]);
      v->items[i] = v->items[--v->len];
      return true;
    }
  }
  return false;
}

size_t termvec_count(const termvec *v, const nodus_term *t) {
  size_t n = 0;
  for (size_t i = 0; i < v->len; i++) n += nodus_equal(&v->items[i], t);
  return n;
}

int termvec_to_list(const termvec *v, nodus_term *out) {
  if (!v->len) {
    *out = nodus_nil();
    return 0;
  }
  int rc = nodus_mk_list(out, v->len);
  if (rc) return rc;
  for (size_t i = 0; i < v->len; i++) {
    nodus_term c;
    if ((rc = nodus_copy(&c, &v->items[i]))) {
      nodus_term_free(out);
      return rc;
    }
    nodus_list_set(out, i, c);
  }
  return 0;
}

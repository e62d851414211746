/* Term-keyed hash map and term arrays; see termmap.h. */
#include "cluster/common/termmap.h"

#include <stdlib.h>
#include <string.h>

void termmap_init(termmap *m) { memset(m, 0, sizeof *m); }

void termmap_free(termmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].value) nodus_term_free(&m->slots[i].key);
  free(m->slots);
  memset(m, 0, sizeof *m);
}

static size_t find(const termmap *m, const nodus_term *key, uint64_t h,
                   bool *found) {
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  for (;;) {
    const termmap_slot *s = &m->slots[i];
    if (!s->value) {
      *found = false;
      return i;
    }
    if (s->hash == h && nodus_equal(&s->key, key)) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

void *termmap_get(const termmap *m, const nodus_term *key) {
  if (!m->count) return NULL;
  bool found;
  size_t i = find(m, key, nodus_hash(key), &found);
  return found ? m->slots[i].value : NULL;
}

static int grow(termmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  termmap_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return NODUS_ENOMEM;
  termmap old = *m;
  m->slots = slots;
  m->cap = cap;
  for (size_t i = 0; i < old.cap; i++) {
    if (!old.slots[i].value) continue;
    bool found;
    size_t j = find(m, &old.slots[i].key, old.slots[i].hash, &found);
    m->slots[j] = old.slots[i]; /* moves the key */
  }
  free(old.slots);
  return 0;
}

int termmap_put(termmap *m, const nodus_term *key, void *value) {
  if (!value) return NODUS_EINVAL;
  /* Keep the load under 3/4 so probes stay short. */
  if ((m->count + 1) * 4 > m->cap * 3) {
    int rc = grow(m);
    if (rc) return rc;
  }
  uint64_t h = nodus_hash(key);
  bool found;
  size_t i = find(m, key, h, &found);
  if (found) {
    m->slots[i].value = value;
    return 0;
  }
  int rc = nodus_copy(&m->slots[i].key, key);
  if (rc) return rc;
  m->slots[i].hash = h;
  m->slots[i].value = value;
  m->count++;
  return 0;
}

void *termmap_del(termmap *m, const nodus_term *key) {
  if (!m->count) return NULL;
  bool found;
  size_t i = find(m, key, nodus_hash(key), &found);
  if (!found) return NULL;
  void *value = m->slots[i].value;
  nodus_term_free(&m->slots[i].key);
  m->slots[i].value = NULL;
  m->count--;
  /* Backward shift: pull later entries of the probe run into the hole. */
  size_t mask = m->cap - 1, hole = i, j = i;
  for (;;) {
    j = (j + 1) & mask;
    termmap_slot *s = &m->slots[j];
    if (!s->value) break;
    size_t home = (size_t)s->hash & mask;
    /* s may move to the hole if its home is not in (hole, j]. */
    bool stays = hole <= j ? (home > hole && home <= j)
                           : (home > hole || home <= j);
    if (stays) continue;
    m->slots[hole] = *s;
    s->value = NULL;
    s->key = (nodus_term){0};
    hole = j;
  }
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

/* The one hash map: 64-bit keys to pointers; see idmap.h. */
#include "term/idmap.h"

#include <stdlib.h>

#include "nodus/error.h"

static size_t slot_of(uint64_t key, size_t cap) {
  key ^= key >> 33; /* murmur3 finalizer: ids are sequential */
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return (size_t)key & (cap - 1);
}

void idmap_init(idmap *m) {
  m->slots = NULL;
  m->cap = m->count = 0;
}

void idmap_free(idmap *m) {
  free(m->slots);
  idmap_init(m);
}

void *idmap_get(const idmap *m, uint64_t key) {
  if (!m->cap) return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (!m->slots[i].value) return NULL;
    if (m->slots[i].key == key) return m->slots[i].value;
  }
}

static int grow(idmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  idmap_slot *s = calloc(cap, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].value) continue;
    size_t j = slot_of(m->slots[i].key, cap);
    while (s[j].value) j = (j + 1) & (cap - 1);
    s[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = s;
  m->cap = cap;
  return 0;
}

int idmap_put(idmap *m, uint64_t key, void *value) {
  /* Replacing never grows, so it cannot fail. */
  for (size_t i = m->cap ? slot_of(key, m->cap) : 0; m->cap && m->slots[i].value;
       i = (i + 1) & (m->cap - 1)) {
    if (m->slots[i].key == key) {
      m->slots[i].value = value;
      return 0;
    }
  }
  if ((m->count + 1) * 4 > m->cap * 3) {
    int rc = grow(m);
    if (rc) return rc;
  }
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].value && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].value) m->count++;
  m->slots[i].key = key;
  m->slots[i].value = value;
  return 0;
}

void *idmap_del(idmap *m, uint64_t key) {
  if (!m->cap) return NULL;
  size_t i = slot_of(key, m->cap);
  while (m->slots[i].value && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
  void *old = m->slots[i].value;
  if (!old) return NULL;
  /* Backward-shift: move later entries of the probe run into the hole. */
  size_t hole = i;
  for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].value;
       j = (j + 1) & (m->cap - 1)) {
    size_t home = slot_of(m->slots[j].key, m->cap);
    if (((j - home) & (m->cap - 1)) >= ((j - hole) & (m->cap - 1))) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole].value = NULL;
  m->count--;
  return old;
}

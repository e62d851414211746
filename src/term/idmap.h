/* A map from 64-bit keys to pointers (open addressing, linear probing,
 * backward-shift deletion): the one hash map, here at the bottom so every
 * layer may use it. The runtime keys it by pid ids and names,
 * distribution/peers.c by node atoms, cluster/common/termmap by term
 * hashes. */
#ifndef NODUS_IDMAP_H
#define NODUS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap_slot {
  uint64_t key;
  void *value; /* NULL = empty */
} idmap_slot;

typedef struct idmap {
  idmap_slot *slots;
  size_t cap, count; /* cap is 0 or a power of two */
} idmap;

void idmap_init(idmap *m);
void idmap_free(idmap *m);
void *idmap_get(const idmap *m, uint64_t key);
/* Inserts or replaces (replacing never fails); value must not be NULL. */
int idmap_put(idmap *m, uint64_t key, void *value);
void *idmap_del(idmap *m, uint64_t key);
/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].value) ... */

#endif

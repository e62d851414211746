/* Maps keyed by Erlang terms (=:=), and growable arrays of terms: the two
 * containers the cluster services keep their state in (pg groups, peers,
 * pub/sub topics). Single-threaded; callers add their own locking. */
#ifndef NODUS_CLUSTER_TERMMAP_H
#define NODUS_CLUSTER_TERMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus/term.h"

typedef struct termmap_slot {
  uint64_t hash;
  nodus_term key; /* owned */
  void *value;    /* NULL = empty slot */
} termmap_slot;

/* Open addressing with linear probing and backward-shift deletion, so
 * lookups never walk tombstones. */
typedef struct termmap {
  termmap_slot *slots;
  size_t cap, count; /* cap is 0 or a power of two */
} termmap;

void termmap_init(termmap *m);
/* Frees the keys and the table; values are the caller's (free them first,
 * e.g. with TERMMAP_FOREACH). */
void termmap_free(termmap *m);
void *termmap_get(const termmap *m, const nodus_term *key);
/* Inserts (copying the key) or replaces the value; value is not NULL. */
int termmap_put(termmap *m, const nodus_term *key, void *value);
/* Removes the key; returns its value or NULL. */
void *termmap_del(termmap *m, const nodus_term *key);

/* Iterates the live slots: `slot` is a termmap_slot *. Don't insert or
 * delete while iterating. */
#define TERMMAP_FOREACH(m, slot)                                              \
  for (termmap_slot *slot = (m)->slots; slot && slot < (m)->slots + (m)->cap; \
       slot++)                                                                \
    if (slot->value)

/* A growable array of owned terms; duplicates allowed (pg members may
 * join a group more than once). Order is not kept by removal. */
typedef struct termvec {
  nodus_term *items;
  size_t len, cap;
} termvec;

void termvec_free(termvec *v);
/* Appends a copy of t. */
int termvec_push(termvec *v, const nodus_term *t);
/* Appends a pid, or every element of a list. */
int termvec_push_all(termvec *v, const nodus_term *pid_or_list);
/* Removes one occurrence of t; false when there was none. */
bool termvec_remove_one(termvec *v, const nodus_term *t);
size_t termvec_count(const termvec *v, const nodus_term *t);
/* A list term with copies of the items. */
int termvec_to_list(const termvec *v, nodus_term *out);

#endif

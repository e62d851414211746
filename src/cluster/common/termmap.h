/* Maps keyed by Erlang terms (=:=), and growable arrays of terms: the two
 * containers the cluster services keep their state in (pg groups, peers,
 * pub/sub topics). Single-threaded; callers add their own locking. */
#ifndef NODUS_CLUSTER_TERMMAP_H
#define NODUS_CLUSTER_TERMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodus/term.h"
#include "term/idmap.h"

/* The one hash map (term/idmap.h) keyed by the term's hash, each slot
 * a chain of the entries whose keys share that hash; every entry is also
 * on one list, for iteration. */
typedef struct termmap_entry {
  struct termmap_entry *next_same; /* same hash, other key */
  struct termmap_entry *prev, *next; /* every entry */
  uint64_t hash;
  nodus_term key; /* owned */
  void *value;
} termmap_entry;

typedef struct termmap {
  idmap by_hash; /* hash -> first termmap_entry */
  termmap_entry *first;
  size_t count;
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

/* Iterates the entries: `slot` is a termmap_entry * with key and value.
 * Don't insert or delete while iterating; break works. */
#define TERMMAP_FOREACH(m, slot) \
  for (termmap_entry *slot = (m)->first; slot; slot = slot->next)

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

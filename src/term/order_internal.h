/* What term order (compare.c), hashing (hash.c) and fun parsing
 * (fun_view.c) share: the small facts both order and hash rely on, so
 * that terms that are =:= hash alike. */
#ifndef NODUS_TERM_ORDER_INTERNAL_H
#define NODUS_TERM_ORDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "term_internal.h"

#define CMP3(x, y) (((x) > (y)) - ((x) < (y)))

enum { RANK_NONE = 0, RANK_NUMBER = 1 };

/* Position of a type in Erlang's order; every number type shares a rank.
 * The other nodus_type values are declared in term order. */
static inline int type_rank(uint8_t type) {
  switch (type) {
    case NODUS_T_NONE: return RANK_NONE;
    case NODUS_T_INT:
    case NODUS_T_BIGINT:
    case NODUS_T_FLOAT: return RANK_NUMBER;
    default: return type;
  }
}

static inline uint64_t port_id(const nodus_ident *id) {
  return (uint64_t)id->w[1] << 32 | id->w[0];
}

/* Words that count: BEAM ignores high zero words. */
static inline uint32_t ref_words(const nodus_ident *id) {
  uint32_t n = id->len < 5 ? id->len : 5;
  while (n > 0 && id->w[n - 1] == 0) n--;
  return n;
}

static inline size_t bit_size(const nodus_term *t) {
  unsigned tail = t->flags & NODUS_TF_BITS_MASK;
  if (t->n == 0) return 0;
  return tail ? ((size_t)t->n - 1) * 8 + tail : (size_t)t->n * 8;
}

/* A position in a chain of cells. A list's tail may itself be a list (a
 * user can set one), so cells continue there; only the final non-list tail
 * is compared as a term. Walking the chain is a loop, not recursion. */
typedef struct cell_walk {
  const nodus_term *list;
  uint32_t i;
} cell_walk;

/* Steps to the next cell. Returns NULL while cells remain, else the final
 * tail (nil for a proper list). */
static inline const nodus_term *cell_next(cell_walk *w) {
  if (++w->i < w->list->n) return NULL;
  const nodus_term *tail = &w->list->v.items[w->list->n];
  while (tail->type == NODUS_T_LIST && tail->n == 0) /* malformed, be safe */
    tail = &tail->v.items[0];
  if (tail->type != NODUS_T_LIST) return tail;
  w->list = tail;
  w->i = 0;
  return NULL;
}

static inline const nodus_term *cell_at(const cell_walk *w) {
  return &w->list->v.items[w->i];
}

/* ---- funs (fun_view.c) ---------------------------------------------------
 *
 * Funs are kept as their ETF bytes: EXPORT_EXT (113) Module Function Arity,
 * or NEW_FUN_EXT (112) Size Arity Uniq[16] Index NumFree Module OldIndex
 * OldUniq Pid FreeVars. A fun_view reads the fields that order them. Bytes
 * that don't parse give a fun that sorts after all others, by raw bytes. */

typedef struct fun_atom {
  const uint8_t *text;
  size_t len;
  bool latin1;
} fun_atom;

typedef struct fun_view {
  int kind; /* 0 closure, 1 export, 2 unparsed: the order between kinds */
  fun_atom module, function;
  int64_t arity;             /* export */
  int64_t index, old_uniq;   /* closure, as BEAM's signed int fields */
  uint32_t num_free;
  const uint8_t *free_vars;  /* closure: the bytes after the creator pid */
  size_t free_len;
  const uint8_t *raw;
  size_t raw_len;
} fun_view;

void term_fun_view(fun_view *v, const nodus_term *t);
/* Next code point of an atom's text, from latin-1 or UTF-8 bytes. */
uint32_t term_fun_atom_cp(const fun_atom *a, size_t *i);
int term_cmp_fun_atoms(const fun_atom *a, const fun_atom *b);
int term_cmp_raw(const uint8_t *a, size_t la, const uint8_t *b, size_t lb);

/* Reads a closure's free variables one at a time with nodus_etf_decode
 * (itself without recursion, so a fun inside a fun's variables is just a
 * fun term until it is read in turn). */
typedef struct free_reader {
  const fun_view *fun;
  uint8_t *buf; /* 131 + free_vars */
  size_t pos;   /* offset in free_vars of the next term */
} free_reader;

bool term_free_reader_init(free_reader *fr, const fun_view *v);
bool term_free_reader_next(free_reader *fr, nodus_term *out);

#endif

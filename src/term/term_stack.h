/* A stack of frames for walking terms without recursion.
 *
 * BEAM sends terms nested as deep as its memory allows (a list nested
 * 100,000 deep is ordinary), so nothing in the term layer may recurse per
 * nesting level: the decoder, encoder, printer, comparison, hash, copy
 * keep their own stack of frames instead. The first frames live in the
 * caller's struct (on its C stack), so shallow terms never allocate;
 * deeper ones move to the heap, which costs memory, not C stack.
 *
 * A push may move every frame: take pointers to frames again after it. */
#ifndef NODUS_TERM_STACK_H
#define NODUS_TERM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nodus/term.h"

#define TERM_STACK_LOCAL 32 /* frames before the first allocation */

typedef struct term_stack {
  unsigned char *f;   /* the frames: `local`, or the heap once deeper */
  unsigned char *top; /* the top frame, NULL when empty */
  size_t n, cap, elem;
  bool heap;
} term_stack;

/* local: room for cap frames of elem bytes, owned by the caller. */
static inline void term_stack_init(term_stack *s, void *local, size_t cap,
                                   size_t elem) {
  s->f = local;
  s->top = NULL;
  s->n = 0;
  s->cap = cap;
  s->elem = elem;
  s->heap = false;
}

static inline bool term_stack_grow(term_stack *s) {
  if (s->cap > ((size_t)-1 / 2) / s->elem) return false;
  size_t cap = s->cap * 2;
  unsigned char *f = s->heap ? realloc(s->f, cap * s->elem)
                             : malloc(cap * s->elem);
  if (!f) return false;
  if (!s->heap) memcpy(f, s->f, s->n * s->elem);
  s->f = f;
  s->top = s->n ? f + (s->n - 1) * s->elem : NULL;
  s->cap = cap;
  s->heap = true;
  return true;
}

/* A new top frame (uninitialised), or NULL when out of memory. */
static inline void *term_stack_push(term_stack *s) {
  if (s->n == s->cap && !term_stack_grow(s)) return NULL;
  s->top = s->n++ ? s->top + s->elem : s->f;
  return s->top;
}

static inline void *term_stack_top(const term_stack *s) { return s->top; }

/* The frame under the top one, or NULL. */
static inline void *term_stack_below(const term_stack *s) {
  return s->n > 1 ? s->top - s->elem : NULL;
}

static inline void term_stack_pop(term_stack *s) {
  s->top = --s->n ? s->top - s->elem : NULL;
}

static inline void term_stack_free(term_stack *s) {
  if (s->heap) free(s->f);
  s->heap = false;
  s->n = 0;
  s->top = NULL;
}

/* The next child of a container being walked, as the encoder, printer
 * and hash see it: tuple elements, map keys and values in stored order,
 * list cells and then the final tail. A list whose tail is itself a list
 * (a caller's nodus_list_set_tail) is one list: its cells go on in the
 * same frame. Hot loops read items[i..end) of the current segment
 * themselves (in locals, which writes through a byte pointer can't
 * alias) and call term_walk_segment_end when they reach its end. */
typedef struct term_walk {
  const nodus_term *t; /* the container; for lists, the current segment */
  size_t i, end;       /* next slot, end of the segment's slots */
  bool tail_done;      /* list: the final tail was handed out */
} term_walk;

static inline void term_walk_init(term_walk *w, const nodus_term *t) {
  w->t = t;
  w->i = 0;
  w->tail_done = false;
  w->end = t->type == NODUS_T_MAP ? 2 * (size_t)t->n : t->n;
}

enum { TERM_WALK_DONE, TERM_WALK_SEGMENT, TERM_WALK_TAIL };

/* At the end of a segment's slots: TERM_WALK_DONE (no more children),
 * TERM_WALK_SEGMENT (a list goes on in its tail: the next segment is
 * set up), or TERM_WALK_TAIL (*tail is the list's final tail, its last
 * child). */
static inline int term_walk_segment_end(term_walk *w, const nodus_term **tail) {
  if (w->t->type != NODUS_T_LIST || w->tail_done) return TERM_WALK_DONE;
  const nodus_term *t = &w->t->v.items[w->t->n];
  while (t->type == NODUS_T_LIST && t->n == 0) /* malformed: skip */
    t = &t->v.items[0];
  if (t->type == NODUS_T_LIST) {
    w->t = t;
    w->i = 0;
    w->end = t->n;
    return TERM_WALK_SEGMENT;
  }
  w->tail_done = true;
  *tail = t;
  return TERM_WALK_TAIL;
}

/* The next child, or NULL when the container has no more. */
static inline const nodus_term *term_walk_next(term_walk *w) {
  for (;;) {
    if (w->i < w->end) return &w->t->v.items[w->i++];
    const nodus_term *tail;
    int r = term_walk_segment_end(w, &tail);
    if (r == TERM_WALK_TAIL) return tail;
    if (r == TERM_WALK_DONE) return NULL;
  }
}

/* Whether the walk is at a list's final tail (the last child given). */
static inline bool term_walk_at_tail(const term_walk *w) {
  return w->t->type == NODUS_T_LIST && w->tail_done;
}

/* On a stack of term_walks: the next child of the innermost container
 * that has one, popping those that are done; NULL when all are. */
static inline const nodus_term *term_walks_next(term_stack *st) {
  term_walk *w;
  while ((w = term_stack_top(st))) {
    const nodus_term *c = term_walk_next(w);
    if (c) return c;
    term_stack_pop(st);
  }
  return NULL;
}

#endif

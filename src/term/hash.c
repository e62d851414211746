/* nodus_hash: a hash that agrees with =:= (compare.c's exact order), so
 * equal terms hash alike whatever their stored map order, and that walks
 * terms without recursion (term_stack.h), however deep. */
#include <stdlib.h>
#include <string.h>

#include "order_internal.h"
#include "term_stack.h"

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

/* Order-dependent combination of h with the next value. */
static uint64_t hadd(uint64_t h, uint64_t v) {
  return mix64(h ^ (v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2)));
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = hadd(h, w);
  }
  uint64_t w = 0;
  for (; i < n; i++) w = w << 8 | p[i];
  return hadd(h, w ^ (uint64_t)n << 56);
}

static uint64_t hash_float(double f) {
  if (f == 0.0) f = 0.0; /* -0.0 =:= 0.0 */
  if (f != f) return UINT64_C(0x7ff8000000000000); /* one NaN */
  uint64_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

/* Atoms by index: the table holds each text once, so it's exact (and only
 * stable within one process, like the hash itself). */
static uint64_t hash_node(uint64_t h, const nodus_ident *id) {
  return hadd(hadd(h, id->node), id->creation);
}

static uint64_t hash_fun_atom(uint64_t h, const fun_atom *a) {
  size_t i = 0;
  while (i < a->len) h = hadd(h, term_fun_atom_cp(a, &i));
  return hadd(h, UINT64_C(0xa70));
}

/* A fun's hash up to its free variables; *vars: a closure has some. */
static uint64_t hash_fun_head(uint64_t h, const fun_view *v, bool *vars) {
  *vars = false;
  h = hadd(h, (uint64_t)v->kind);
  if (v->kind == 2) return hash_bytes(h, v->raw, v->raw_len);
  h = hash_fun_atom(h, &v->module);
  if (v->kind == 1)
    return hadd(hash_fun_atom(h, &v->function), (uint64_t)v->arity);
  *vars = v->num_free > 0;
  return hadd(hadd(hadd(h, (uint64_t)v->index), (uint64_t)v->old_uniq),
              v->num_free);
}

/* A closure's free variables being hashed: decoded one at a time; if one
 * can't be, the rest goes in as bytes (as compare.c compares them). */
typedef struct fun_vars {
  fun_view v;
  free_reader fr;
  bool ok, stop;
  uint32_t i;
  nodus_term var;
} fun_vars;

/* The next variable to hash into the fun's hash, or NULL when done (the
 * undecodable rest, if any, hashed into *h). */
static const nodus_term *fun_vars_next(fun_vars *fv, uint64_t *h) {
  nodus_term_free(&fv->var);
  if (!fv->stop && fv->ok && fv->i < fv->v.num_free) {
    if (term_free_reader_next(&fv->fr, &fv->var)) {
      fv->i++;
      return &fv->var;
    }
    fv->stop = true;
  }
  if (fv->i < fv->v.num_free) {
    size_t pos = fv->ok ? fv->fr.pos : 0;
    *h = hash_bytes(*h, fv->v.free_vars + pos, fv->v.free_len - pos);
    fv->i = fv->v.num_free;
  }
  return NULL;
}

static void fun_vars_free(fun_vars *fv) {
  nodus_term_free(&fv->var);
  if (fv->ok) free(fv->fr.buf);
  free(fv);
}

static uint64_t hash_term(const nodus_term *t);

/* A scalar's hash, whole; a container's start (*open: its children are
 * hashed in, then hash_close). */
TERM_HOT uint64_t hash_head(const nodus_term *t, bool *open) {
  uint64_t h = mix64(UINT64_C(0x6e6f647573) + t->type);
  *open = false;
  switch (t->type) {
    case NODUS_T_INT: return hadd(h, (uint64_t)t->v.i);
    case NODUS_T_BIGINT:
      return hash_bytes(hadd(h, t->v.big->negative), t->v.big->mag,
                        t->v.big->len);
    case NODUS_T_FLOAT: return hadd(h, hash_float(t->v.f));
    case NODUS_T_ATOM: return hadd(h, t->v.atom);
    case NODUS_T_REF: {
      uint32_t n = ref_words(t->v.id);
      h = hash_node(h, t->v.id);
      for (uint32_t i = 0; i < n; i++) h = hadd(h, t->v.id->w[i]);
      return hadd(h, n);
    }
    case NODUS_T_PORT:
      return hadd(hash_node(h, t->v.id), port_id(t->v.id));
    case NODUS_T_PID:
      return hadd(hadd(hash_node(h, t->v.id), t->v.id->w[0]), t->v.id->w[1]);
    case NODUS_T_TUPLE:
      *open = t->n > 0;
      return hadd(h, t->n);
    case NODUS_T_MAP:
      *open = t->n > 0;
      return t->n ? h : hadd(hadd(h, 0), 0);
    case NODUS_T_LIST: *open = true; return h;
    case NODUS_T_BINARY: {
      size_t bits = bit_size(t), full = bits / 8;
      const uint8_t *p = t->v.bin->data;
      h = hash_bytes(hadd(h, bits), p, full);
      if (bits % 8)
        h = hadd(h, p[full] & (uint8_t)(0xFF << (8 - bits % 8)));
      return h;
    }
    default: return h; /* NONE, NIL; funs: hash_term */
  }
}

/* A container being hashed. Tuples and lists add each child's hash in
 * order; maps add up pair hashes, so the stored order doesn't matter. */
typedef struct hframe {
  const nodus_term *t;
  term_walk w;      /* tuples, lists, maps */
  fun_vars *fun;    /* closures: their variables instead */
  uint64_t h, sum, key; /* maps: sum of pair hashes, the key's hash */
  bool map, at_value;
} hframe;

static inline const nodus_term *hframe_next(hframe *f) {
  if (f->w.i < f->w.end) { /* the common case, without the walk's loop */
    f->at_value = f->map && (f->w.i & 1);
    return &f->w.t->v.items[f->w.i++];
  }
  if (f->fun) return fun_vars_next(f->fun, &f->h);
  f->at_value = false;
  return term_walk_next(&f->w);
}

static inline void hframe_add(hframe *f, uint64_t child) {
  if (!f->map) f->h = hadd(f->h, child);
  else if (!f->at_value) f->key = child;
  else f->sum += hadd(f->key, child);
}

static uint64_t hframe_close(hframe *f) {
  if (f->fun) {
    fun_vars_free(f->fun);
    return f->h;
  }
  if (f->t->type == NODUS_T_MAP) return hadd(hadd(f->h, f->t->n), f->sum);
  return f->h;
}

/* Nested calls (each with a stack of its own) only when memory for a
 * frame runs out, so a hash can't fail. */
static uint64_t hash_nested(const nodus_term *t, uint64_t h, fun_vars *fv) {
  hframe f = {.t = t, .fun = fv, .h = h, .map = t->type == NODUS_T_MAP};
  if (!fv) term_walk_init(&f.w, t);
  for (const nodus_term *c; (c = hframe_next(&f));)
    hframe_add(&f, hash_term(c));
  return hframe_close(&f);
}

static uint64_t hash_term(const nodus_term *t) {
  hframe local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  uint64_t h;
  for (;;) {
    bool open;
    fun_vars *fv = NULL;
    h = hash_head(t, &open);
    if (t->type == NODUS_T_FUN) {
      fun_view v;
      term_fun_view(&v, t);
      h = hash_fun_head(h, &v, &open);
      if (open && (fv = calloc(1, sizeof *fv))) {
        fv->v = v;
        fv->ok = term_free_reader_init(&fv->fr, &fv->v);
      } else if (open) { /* no memory to read the variables: their bytes */
        h = hash_bytes(h, v.free_vars, v.free_len);
        open = false;
      }
    }
    if (open) {
      hframe *f = term_stack_push(&st);
      if (f) {
        *f = (hframe){.t = t, .fun = fv, .h = h,
                      .map = t->type == NODUS_T_MAP};
        if (!fv) term_walk_init(&f->w, t);
        t = NULL;
      } else {
        h = hash_nested(t, h, fv);
      }
    }
    /* h is a finished term's hash: into its parent, up as far as done. */
    hframe *f;
    for (; (f = term_stack_top(&st)); term_stack_pop(&st)) {
      if (t) hframe_add(f, h); /* t == NULL: f was just opened */
      /* Scalars in a tight loop, until a container or the end. */
      while ((t = hframe_next(f)) && t->type != NODUS_T_FUN) {
        bool sub;
        uint64_t x = hash_head(t, &sub);
        if (sub) break;
        hframe_add(f, x);
      }
      if (t) break;
      h = hframe_close(f);
      t = f->t; /* closed: its hash goes into the frame below */
    }
    if (!f) break;
  }
  term_stack_free(&st);
  return h;
}

uint64_t nodus_hash(const nodus_term *t) { return hash_term(t); }

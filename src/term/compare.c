/* Erlang term order, exact equality, hashing, and map key order.
 *
 * The rules follow OTP 25's behaviour, checked with erl (see
 * tests/interop/test_compare.sh, which replays thousands of BEAM-made pairs):
 *
 *  - number < atom < reference < fun < port < pid < tuple < map < nil
 *    < list < bitstring.
 *  - Numbers by exact mathematical value (compare_num.c), so 1 == 1.0.
 *    Exact order (=:= and map key order) is different: every integer sorts
 *    before every float, as OTP documents for map keys ("integer types are
 *    considered less than floats types"): #{1.0 => a} > #{2 => a}.
 *    -0.0 =:= 0.0 in OTP 25 (a map can't hold both), so they are equal
 *    here in both orders.
 *  - Atoms by text; UTF-8 byte order is code point order.
 *  - Pids: serial, then id, then node name, then creation.
 *    Ports: node name, creation, then the 64-bit id.
 *    Refs: node name, creation, then the id words from the last (most
 *    significant) down; high zero words don't count, so a ref with words
 *    {1,2,3,0} is =:= to one with {1,2,3}. Creations compare unsigned.
 *  - Funs: every closure sorts before every export fun. Export funs by
 *    module, function, arity. Closures by module, Index, OldUniq, number of
 *    free variables, then the free variables; the creator pid, Uniq (md5),
 *    OldIndex and Arity don't count, not even for =:=.
 *  - Tuples by size, then elements. Maps by size, then keys in exact order
 *    (always compared exactly, so #{1 => a} < #{1.0 => a}), then values in
 *    key order (compared as the caller asked). Lists cell by cell, the
 *    final tails compared as terms, so [1|2] < [1,2] (2 is a number, [2] a
 *    list). Bitstrings bit by bit over the common length, then the shorter
 *    first.
 *
 * Nothing recurses per nesting level: the pairs being compared are frames
 * on a stack of our own (term_stack.h), so terms nested 100,000 deep
 * compare; hashing (hash.c) walks the same way.
 */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "order_internal.h"
#include "term_stack.h"

/* Defined in compare_num.c: both terms are numbers. */
int term_number_compare(const nodus_term *a, const nodus_term *b);

static int cmp_term(const nodus_term *a, const nodus_term *b, bool exact);

/* ---- atoms ------------------------------------------------------------- */

static int cmp_atom(nodus_atom a, nodus_atom b) {
  if (a == b) return 0;
  size_t la, lb;
  const char *sa = nodus_atom_text(a, &la), *sb = nodus_atom_text(b, &lb);
  if (!sa || !sb) return CMP3(a, b); /* bad index: stay total */
  int c = memcmp(sa, sb, la < lb ? la : lb);
  if (c) return c < 0 ? -1 : 1;
  return CMP3(la, lb);
}

/* ---- pids, ports, refs ------------------------------------------------- */

static int cmp_node(const nodus_ident *a, const nodus_ident *b) {
  int c = cmp_atom(a->node, b->node);
  return c ? c : CMP3(a->creation, b->creation);
}

static int cmp_pid(const nodus_ident *a, const nodus_ident *b) {
  int c = CMP3(a->w[1], b->w[1]); /* serial */
  if (!c) c = CMP3(a->w[0], b->w[0]);
  return c ? c : cmp_node(a, b);
}


static int cmp_port(const nodus_ident *a, const nodus_ident *b) {
  int c = cmp_node(a, b);
  return c ? c : CMP3(port_id(a), port_id(b));
}


static int cmp_ref(const nodus_ident *a, const nodus_ident *b) {
  int c = cmp_node(a, b);
  if (c) return c;
  uint32_t na = ref_words(a), nb = ref_words(b);
  if (na != nb) return CMP3(na, nb); /* the longer has a non-zero top word */
  for (uint32_t i = na; i-- > 0;)
    if (a->w[i] != b->w[i]) return CMP3(a->w[i], b->w[i]);
  return 0;
}

/* ---- bitstrings -------------------------------------------------------- */


static int cmp_bits(const nodus_term *a, const nodus_term *b) {
  size_t ba = bit_size(a), bb = bit_size(b);
  size_t common = ba < bb ? ba : bb;
  const uint8_t *pa = a->v.bin->data, *pb = b->v.bin->data;
  if (common / 8) {
    int c = memcmp(pa, pb, common / 8);
    if (c) return c < 0 ? -1 : 1;
  }
  unsigned rest = common % 8;
  if (rest) {
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    int c = CMP3(pa[common / 8] & mask, pb[common / 8] & mask);
    if (c) return c;
  }
  return CMP3(ba, bb);
}

/* ---- maps -------------------------------------------------------------- */

static int cmp_keys(const nodus_term *items, uint32_t x, uint32_t y) {
  return cmp_term(&items[2 * x], &items[2 * y], true);
}

static void merge_runs(const nodus_term *items, const uint32_t *src,
                       uint32_t *dst, size_t lo, size_t mid, size_t hi) {
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi)
    dst[k++] = cmp_keys(items, src[j], src[i]) < 0 ? src[j++] : src[i++];
  while (i < mid) dst[k++] = src[i++];
  while (j < hi) dst[k++] = src[j++];
}

/* Stable bottom-up merge sort of pair indices by exact key order; tmp has
 * room for n indices. */
static void sort_pair_index(const nodus_term *map, uint32_t *idx,
                            uint32_t *tmp) {
  uint32_t n = map->n;
  for (uint32_t i = 0; i < n; i++) idx[i] = i;
  uint32_t *src = idx, *dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      merge_runs(map->v.items, src, dst, lo, mid, hi);
    }
    uint32_t *swap = src;
    src = dst;
    dst = swap;
  }
  if (src != idx) memcpy(idx, src, n * sizeof *idx);
}

uint32_t *term_map_sorted_index(const nodus_term *map) {
  assert(map->type == NODUS_T_MAP);
  uint32_t n = map->n;
  uint32_t *idx = malloc(((size_t)n ? n : 1) * sizeof *idx);
  if (!idx) return NULL;
  if (map->flags & NODUS_TF_MAP_SORTED) {
    for (uint32_t i = 0; i < n; i++) idx[i] = i;
    return idx;
  }
  uint32_t *tmp = malloc(((size_t)n ? n : 1) * sizeof *tmp);
  if (!tmp) {
    free(idx);
    return NULL;
  }
  sort_pair_index(map, idx, tmp);
  free(tmp);
  return idx;
}

/* On NODUS_EDUPKEY or NODUS_ENOMEM the map is left exactly as it was: still
 * valid, still in its stored order and without NODUS_TF_MAP_SORTED. */
int term_map_sort(nodus_term *map) {
  if (map->type != NODUS_T_MAP) return NODUS_EBADTYPE;
  if (map->flags & NODUS_TF_MAP_SORTED) return 0;
  uint32_t n = map->n;
  uint32_t *idx = term_map_sorted_index(map);
  if (!idx) return NODUS_ENOMEM;
  for (uint32_t i = 1; i < n; i++) {
    if (cmp_keys(map->v.items, idx[i - 1], idx[i]) == 0) {
      free(idx);
      return NODUS_EDUPKEY;
    }
  }
  nodus_term *items = term_items_alloc((size_t)n * 2);
  if (!items) {
    free(idx);
    return NODUS_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    items[2 * i] = map->v.items[2 * idx[i]];
    items[2 * i + 1] = map->v.items[2 * idx[i] + 1];
  }
  free(idx);
  free(map->v.items);
  map->v.items = items;
  map->flags |= NODUS_TF_MAP_SORTED;
  return 0;
}

/* Visits a map's pairs in exact key order without changing the map: in
 * stored order when it is sorted, through a sorted index otherwise (on the
 * stack for small maps). If the index can't be allocated, each step scans
 * for the next larger key instead: slower, but a comparison can't fail. */
#define MAP_WALK_STACK 8

typedef struct map_walk {
  const nodus_term *map;
  uint32_t *idx;  /* NULL: stored order, or scanning */
  bool scan;      /* no memory for idx: find successors by scanning */
  bool heap;      /* idx was malloc'd */
  uint32_t pos;   /* steps taken */
  uint32_t last;  /* scan: pair index of the previous step */
  uint32_t stack[2 * MAP_WALK_STACK];
} map_walk;

static void map_walk_init(map_walk *w, const nodus_term *map) {
  memset(w, 0, offsetof(map_walk, stack));
  w->map = map;
  if (map->flags & NODUS_TF_MAP_SORTED) return;
  if (map->n <= MAP_WALK_STACK) {
    w->idx = w->stack;
    sort_pair_index(map, w->stack, w->stack + MAP_WALK_STACK);
    return;
  }
  w->idx = term_map_sorted_index(map);
  w->heap = w->idx != NULL;
  w->scan = w->idx == NULL;
}

static void map_walk_free(map_walk *w) {
  if (w->heap) free(w->idx);
}

static void map_walk_restart(map_walk *w) { w->pos = 0; }

/* Pair index of the next key in exact order; call at most map->n times
 * between restarts. */
static uint32_t map_walk_next(map_walk *w) {
  uint32_t step = w->pos++;
  if (!w->scan) return w->idx ? w->idx[step] : step;
  const nodus_term *items = w->map->v.items;
  uint32_t best = UINT32_MAX;
  for (uint32_t i = 0; i < w->map->n; i++) {
    if (step > 0 && cmp_keys(items, i, w->last) <= 0) continue;
    if (best == UINT32_MAX || cmp_keys(items, i, best) < 0) best = i;
  }
  if (best == UINT32_MAX) best = w->last; /* duplicate keys: malformed */
  w->last = best;
  return best;
}

/* ---- the order --------------------------------------------------------- */

static int cmp_term(const nodus_term *a, const nodus_term *b, bool exact);

static int cmp_numbers(const nodus_term *a, const nodus_term *b, bool exact) {
  /* In exact order (map key order) every integer comes before every float,
   * whatever their values: maps:keys(#{1.0 => a, 2 => b}) is [2, 1.0]. */
  bool fa = a->type == NODUS_T_FLOAT, fb = b->type == NODUS_T_FLOAT;
  if (exact && fa != fb) return CMP3(fa, fb);
  return term_number_compare(a, b);
}

/* A pair of containers being compared, element by element. */
enum { C_TUPLE, C_LIST, C_MAP, C_FUN };

/* Maps: keys first, always exactly; then values in key order. */
typedef struct map_pair {
  map_walk wa, wb;
  uint32_t i, n;
  bool values;
} map_pair;

/* Closures equal up to their free variables: those term by term. If
 * either can't be decoded, the remaining bytes are compared instead. */
typedef struct fun_pair {
  fun_view va, vb;
  free_reader ra, rb;
  bool oka, okb, stop;
  uint32_t i;
  nodus_term ta, tb; /* the variables being compared */
} fun_pair;

typedef struct cframe {
  uint8_t kind;
  bool exact;
  bool started; /* lists: the first cells were handed out */
  bool tails;   /* lists: the final tails were handed out */
  union {
    struct {
      const nodus_term *a, *b;
      uint32_t i, n;
    } tup;
    struct {
      cell_walk wa, wb;
    } list;
    map_pair *map;
    fun_pair *fun;
  } u;
} cframe;

static void fun_pair_free(fun_pair *fp) {
  nodus_term_free(&fp->ta);
  nodus_term_free(&fp->tb);
  if (fp->oka) free(fp->ra.buf);
  if (fp->okb) free(fp->rb.buf);
  free(fp);
}

static void cframe_free(cframe *f) {
  if (f->kind == C_MAP) {
    map_walk_free(&f->u.map->wa);
    map_walk_free(&f->u.map->wb);
    free(f->u.map);
  } else if (f->kind == C_FUN) {
    fun_pair_free(f->u.fun);
  }
}

enum { NEXT_DONE, NEXT_PAIR, NEXT_RESULT };

/* The next pair of f to compare (NEXT_PAIR), the end with all equal
 * (NEXT_DONE), or an order found without another pair (NEXT_RESULT, *c). */
static int cframe_next(cframe *f, const nodus_term **a, const nodus_term **b,
                       bool *exact, int *c) {
  *exact = f->exact;
  switch (f->kind) {
    case C_TUPLE:
      if (f->u.tup.i == f->u.tup.n) return NEXT_DONE;
      *a = &f->u.tup.a->v.items[f->u.tup.i];
      *b = &f->u.tup.b->v.items[f->u.tup.i++];
      return NEXT_PAIR;
    case C_LIST: {
      cell_walk *wa = &f->u.list.wa, *wb = &f->u.list.wb;
      if (f->tails) return NEXT_DONE;
      if (f->started) {
        const nodus_term *ta = cell_next(wa), *tb = cell_next(wb);
        if (ta && tb) { /* both ran out of cells: the tails decide */
          f->tails = true;
          *a = ta;
          *b = tb;
          return NEXT_PAIR;
        }
        if (ta || tb) { /* a tail (not a list) meets remaining cells */
          *c = ta ? CMP3(type_rank(ta->type), type_rank(NODUS_T_LIST))
                  : CMP3(type_rank(NODUS_T_LIST), type_rank(tb->type));
          return NEXT_RESULT;
        }
      }
      f->started = true;
      *a = cell_at(wa);
      *b = cell_at(wb);
      return NEXT_PAIR;
    }
    case C_MAP: {
      map_pair *m = f->u.map;
      if (m->i == m->n) {
        if (m->values) return NEXT_DONE;
        m->values = true;
        m->i = 0;
        map_walk_restart(&m->wa);
        map_walk_restart(&m->wb);
      }
      m->i++;
      uint32_t x = map_walk_next(&m->wa), y = map_walk_next(&m->wb);
      *a = &m->wa.map->v.items[2 * x + m->values];
      *b = &m->wb.map->v.items[2 * y + m->values];
      if (!m->values) *exact = true;
      return NEXT_PAIR;
    }
    default: { /* C_FUN */
      fun_pair *fp = f->u.fun;
      nodus_term_free(&fp->ta);
      nodus_term_free(&fp->tb);
      if (!fp->stop && fp->oka && fp->okb && fp->i < fp->va.num_free) {
        if (!term_free_reader_next(&fp->ra, &fp->ta)) {
          fp->stop = true;
        } else if (!term_free_reader_next(&fp->rb, &fp->tb)) {
          nodus_term_free(&fp->ta);
          fp->stop = true;
        } else {
          fp->i++;
          *a = &fp->ta;
          *b = &fp->tb;
          return NEXT_PAIR;
        }
      }
      if (fp->i >= fp->va.num_free) return NEXT_DONE;
      size_t pa = fp->oka ? fp->ra.pos : 0, pb = fp->okb ? fp->rb.pos : 0;
      *c = term_cmp_raw(fp->va.free_vars + pa, fp->va.free_len - pa,
                        fp->vb.free_vars + pb, fp->vb.free_len - pb);
      return *c ? NEXT_RESULT : NEXT_DONE;
    }
  }
}

/* Funs up to their free variables; *open: they are closures with equal
 * fields and variables to compare (va, vb filled). */
static int cmp_fun_heads(const nodus_term *ta, const nodus_term *tb,
                         fun_view *a, fun_view *b, bool *open) {
  *open = false;
  term_fun_view(a, ta);
  term_fun_view(b, tb);
  if (a->kind != b->kind) return CMP3(a->kind, b->kind);
  if (a->kind == 2) return term_cmp_raw(a->raw, a->raw_len, b->raw, b->raw_len);
  int c = term_cmp_fun_atoms(&a->module, &b->module);
  if (c) return c;
  if (a->kind == 1) {
    c = term_cmp_fun_atoms(&a->function, &b->function);
    return c ? c : CMP3(a->arity, b->arity);
  }
  /* BEAM subtracts these int fields; the sign of the difference is the
   * order. That wraps (and isn't transitive) for values 2^31 or more apart,
   * which compiled code never produces; signed order is the same below. */
  if ((c = CMP3(a->index, b->index))) return c;
  if ((c = CMP3(a->old_uniq, b->old_uniq))) return c;
  if ((c = CMP3(a->num_free, b->num_free))) return c;
  *open = a->num_free > 0;
  return 0;
}

/* Compares what can be without looking inside: scalars whole, containers
 * by kind and size. *open: a frame kind whose elements decide, or -1. */
static int cmp_head(const nodus_term *a, const nodus_term *b, bool exact,
                    int *open) {
  *open = -1;
  int ra = type_rank(a->type), rb = type_rank(b->type);
  if (ra != rb) return CMP3(ra, rb);
  if (ra == RANK_NUMBER) return cmp_numbers(a, b, exact);
  switch (a->type) {
    case NODUS_T_ATOM: return cmp_atom(a->v.atom, b->v.atom);
    case NODUS_T_REF: return cmp_ref(a->v.id, b->v.id);
    case NODUS_T_FUN: *open = C_FUN; return 0; /* cmp_fun_heads */
    case NODUS_T_PORT: return cmp_port(a->v.id, b->v.id);
    case NODUS_T_PID: return cmp_pid(a->v.id, b->v.id);
    case NODUS_T_TUPLE:
      if (a->n != b->n) return CMP3(a->n, b->n);
      if (a->n) *open = C_TUPLE;
      return 0;
    case NODUS_T_MAP:
      if (a->n != b->n) return CMP3(a->n, b->n);
      if (a->n) *open = C_MAP;
      return 0;
    case NODUS_T_LIST:
      assert(a->n > 0 && b->n > 0);
      *open = C_LIST;
      return 0;
    case NODUS_T_BINARY: return cmp_bits(a, b);
    default: return 0; /* NONE, NIL */
  }
}

/* Should memory for a frame's state run out, that pair is compared by a
 * nested call, whose own stack starts on the C stack: slower and deeper,
 * but a comparison can't fail. */
static int cmp_maps_nested(const nodus_term *a, const nodus_term *b,
                           bool exact) {
  map_walk wa, wb;
  map_walk_init(&wa, a);
  map_walk_init(&wb, b);
  int c = 0;
  for (uint32_t i = 0; i < a->n && !c; i++)
    c = cmp_term(&a->v.items[2 * map_walk_next(&wa)],
                 &b->v.items[2 * map_walk_next(&wb)], true);
  map_walk_restart(&wa);
  map_walk_restart(&wb);
  for (uint32_t i = 0; i < a->n && !c; i++)
    c = cmp_term(&a->v.items[2 * map_walk_next(&wa) + 1],
                 &b->v.items[2 * map_walk_next(&wb) + 1], exact);
  map_walk_free(&wa);
  map_walk_free(&wb);
  return c;
}

/* Pushes the frame for a pair cmp_head opened: 0, or the pair's order
 * when it was decided here (funs) or by a nested call (no memory). */
static int open_pair(term_stack *st, const nodus_term *a, const nodus_term *b,
                     bool exact, int kind) {
  fun_pair *fp = NULL;
  if (kind == C_FUN) {
    fun_view va, vb;
    bool more;
    int c = cmp_fun_heads(a, b, &va, &vb, &more);
    if (c || !more) return c;
    if (!(fp = calloc(1, sizeof *fp))) {
      /* No memory to hold the variables: their bytes decide. */
      return term_cmp_raw(va.free_vars, va.free_len, vb.free_vars,
                          vb.free_len);
    }
    fp->va = va;
    fp->vb = vb;
    fp->oka = term_free_reader_init(&fp->ra, &fp->va);
    fp->okb = term_free_reader_init(&fp->rb, &fp->vb);
  }
  map_pair *mp = NULL;
  if (kind == C_MAP && !(mp = malloc(sizeof *mp)))
    return cmp_maps_nested(a, b, exact);
  cframe *f = term_stack_push(st);
  if (!f) {
    if (fp) fun_pair_free(fp);
    free(mp);
    return cmp_term(a, b, exact); /* a stack of its own, on the C stack */
  }
  f->kind = (uint8_t)kind;
  f->exact = exact;
  f->started = f->tails = false;
  switch (kind) {
    case C_TUPLE: f->u.tup.a = a, f->u.tup.b = b, f->u.tup.i = 0,
                  f->u.tup.n = a->n;
                  break;
    case C_LIST: f->u.list.wa = (cell_walk){a, 0};
                 f->u.list.wb = (cell_walk){b, 0};
                 break;
    case C_MAP:
      map_walk_init(&mp->wa, a);
      map_walk_init(&mp->wb, b);
      mp->i = 0;
      mp->n = a->n;
      mp->values = false;
      f->u.map = mp;
      break;
    default: f->u.fun = fp; break;
  }
  return 0;
}

static int cmp_term(const nodus_term *a, const nodus_term *b, bool exact) {
  cframe local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  int c;
  for (;;) {
    int kind;
    c = cmp_head(a, b, exact, &kind);
    if (!c && kind >= 0) c = open_pair(&st, a, b, exact, kind);
    if (c) break;
    /* Equal so far: the next pair of the innermost open frame. */
    cframe *f;
    int r = NEXT_DONE;
    while ((f = term_stack_top(&st)) &&
           (r = cframe_next(f, &a, &b, &exact, &c)) == NEXT_DONE) {
      cframe_free(f);
      term_stack_pop(&st);
    }
    if (!f || r == NEXT_RESULT) break;
  }
  for (cframe *f; (f = term_stack_top(&st)); term_stack_pop(&st))
    cframe_free(f);
  term_stack_free(&st);
  return c;
}

int nodus_compare(const nodus_term *a, const nodus_term *b) {
  return cmp_term(a, b, false);
}

int nodus_compare_exact(const nodus_term *a, const nodus_term *b) {
  return cmp_term(a, b, true);
}

bool nodus_equal(const nodus_term *a, const nodus_term *b) {
  /* Different types are never =:=: an integer is INT or BIGINT by range,
   * and an integer is never =:= a float. */
  if (a->type != b->type) return false;
  return cmp_term(a, b, true) == 0;
}

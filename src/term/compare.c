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
 */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "term_internal.h"

/* Defined in compare_num.c: both terms are numbers. */
int term_number_compare(const nodus_term *a, const nodus_term *b);

#define CMP3(x, y) (((x) > (y)) - ((x) < (y)))

static int cmp_term(const nodus_term *a, const nodus_term *b, bool exact);
static uint64_t hash_term(const nodus_term *t);

enum { RANK_NONE = 0, RANK_NUMBER = 1 };

/* Position of a type in Erlang's order; every number type shares a rank.
 * The other nodus_type values are declared in term order. */
static int type_rank(uint8_t type) {
  switch (type) {
    case NODUS_T_NONE: return RANK_NONE;
    case NODUS_T_INT:
    case NODUS_T_BIGINT:
    case NODUS_T_FLOAT: return RANK_NUMBER;
    default: return type;
  }
}

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

static uint64_t port_id(const nodus_ident *id) {
  return (uint64_t)id->w[1] << 32 | id->w[0];
}

static int cmp_port(const nodus_ident *a, const nodus_ident *b) {
  int c = cmp_node(a, b);
  return c ? c : CMP3(port_id(a), port_id(b));
}

/* Words that count: BEAM ignores high zero words. */
static uint32_t ref_words(const nodus_ident *id) {
  uint32_t n = id->len < 5 ? id->len : 5;
  while (n > 0 && id->w[n - 1] == 0) n--;
  return n;
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

static size_t bit_size(const nodus_term *t) {
  unsigned tail = t->flags & NODUS_TF_BITS_MASK;
  if (t->n == 0) return 0;
  return tail ? ((size_t)t->n - 1) * 8 + tail : (size_t)t->n * 8;
}

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

/* ---- lists ------------------------------------------------------------- */

/* A position in a chain of cells. A list's tail may itself be a list (a
 * user can set one), so cells continue there; only the final non-list tail
 * is compared as a term. Walking the chain is a loop, not recursion. */
typedef struct cell_walk {
  const nodus_term *list;
  uint32_t i;
} cell_walk;

/* Steps to the next cell. Returns NULL while cells remain, else the final
 * tail (nil for a proper list). */
static const nodus_term *cell_next(cell_walk *w) {
  if (++w->i < w->list->n) return NULL;
  const nodus_term *tail = &w->list->v.items[w->list->n];
  while (tail->type == NODUS_T_LIST && tail->n == 0) /* malformed, be safe */
    tail = &tail->v.items[0];
  if (tail->type != NODUS_T_LIST) return tail;
  w->list = tail;
  w->i = 0;
  return NULL;
}

static int cmp_lists(const nodus_term *a, const nodus_term *b, bool exact) {
  assert(a->n > 0 && b->n > 0);
  cell_walk wa = {a, 0}, wb = {b, 0};
  for (;;) {
    int c = cmp_term(&wa.list->v.items[wa.i], &wb.list->v.items[wb.i], exact);
    if (c) return c;
    const nodus_term *ta = cell_next(&wa), *tb = cell_next(&wb);
    if (!ta && !tb) continue;
    if (ta && tb) return cmp_term(ta, tb, exact);
    /* One side's tail (not a list) meets the other's remaining cells. */
    return ta ? CMP3(type_rank(ta->type), type_rank(NODUS_T_LIST))
              : CMP3(type_rank(NODUS_T_LIST), type_rank(tb->type));
  }
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

static int cmp_maps(const nodus_term *a, const nodus_term *b, bool exact) {
  if (a->n != b->n) return CMP3(a->n, b->n);
  map_walk wa, wb;
  map_walk_init(&wa, a);
  map_walk_init(&wb, b);
  int c = 0;
  /* Keys first, always exactly; then values in key order. */
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

/* ---- funs -------------------------------------------------------------- */

/* Funs are kept as their ETF bytes: EXPORT_EXT (113) Module Function Arity,
 * or NEW_FUN_EXT (112) Size Arity Uniq[16] Index NumFree Module OldIndex
 * OldUniq Pid FreeVars. A fun_view reads the fields that order them. Bytes
 * that don't parse give a fun that sorts after all others, by raw bytes. */

enum { ETF_SMALL_INT = 97, ETF_INT = 98, ETF_ATOM = 100, ETF_PID = 103,
       ETF_SMALL_ATOM = 115, ETF_ATOM_UTF8 = 118, ETF_SMALL_ATOM_UTF8 = 119,
       ETF_NEW_PID = 88, ETF_NEW_FUN = 112, ETF_EXPORT = 113 };

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

typedef struct byte_reader {
  const uint8_t *p;
  size_t len, off;
  bool bad;
} byte_reader;

static const uint8_t *rd_take(byte_reader *r, size_t n) {
  if (r->bad || r->len - r->off < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}

static uint32_t rd_u(byte_reader *r, size_t n) {
  const uint8_t *p = rd_take(r, n);
  uint32_t v = 0;
  for (size_t i = 0; p && i < n; i++) v = v << 8 | p[i];
  return v;
}

static void rd_atom(byte_reader *r, fun_atom *a) {
  uint8_t tag = (uint8_t)rd_u(r, 1);
  size_t n;
  switch (tag) {
    case ETF_ATOM: n = rd_u(r, 2); a->latin1 = true; break;
    case ETF_SMALL_ATOM: n = rd_u(r, 1); a->latin1 = true; break;
    case ETF_ATOM_UTF8: n = rd_u(r, 2); a->latin1 = false; break;
    case ETF_SMALL_ATOM_UTF8: n = rd_u(r, 1); a->latin1 = false; break;
    default: r->bad = true; return;
  }
  a->len = n;
  a->text = rd_take(r, n);
}

static int64_t rd_int(byte_reader *r) {
  uint8_t tag = (uint8_t)rd_u(r, 1);
  if (tag == ETF_SMALL_INT) return rd_u(r, 1);
  if (tag == ETF_INT) return (int32_t)rd_u(r, 4);
  r->bad = true;
  return 0;
}

static void rd_skip_pid(byte_reader *r) {
  uint8_t tag = (uint8_t)rd_u(r, 1);
  fun_atom node = {0};
  rd_atom(r, &node);
  if (tag == ETF_NEW_PID) rd_take(r, 12);
  else if (tag == ETF_PID) rd_take(r, 9);
  else r->bad = true;
}

static void fun_view_init(fun_view *v, const nodus_term *t) {
  memset(v, 0, sizeof *v);
  v->raw = t->v.bin->data;
  v->raw_len = t->n < t->v.bin->size ? t->n : t->v.bin->size;
  byte_reader r = {v->raw, v->raw_len, 0, false};
  uint8_t tag = (uint8_t)rd_u(&r, 1);
  if (tag == ETF_EXPORT) {
    v->kind = 1;
    rd_atom(&r, &v->module);
    rd_atom(&r, &v->function);
    v->arity = rd_int(&r);
  } else if (tag == ETF_NEW_FUN) {
    v->kind = 0;
    rd_take(&r, 4 + 1 + 16); /* Size, Arity, Uniq */
    v->index = (int32_t)rd_u(&r, 4);
    v->num_free = rd_u(&r, 4);
    rd_atom(&r, &v->module);
    (void)rd_int(&r); /* OldIndex */
    v->old_uniq = rd_int(&r);
    rd_skip_pid(&r);
    v->free_vars = r.p + r.off;
    v->free_len = r.bad ? 0 : r.len - r.off;
  } else {
    r.bad = true;
  }
  if (r.bad) v->kind = 2;
}

/* Next code point of an atom's text, from latin-1 or UTF-8 bytes. */
static uint32_t atom_cp(const fun_atom *a, size_t *i) {
  if (a->latin1) return a->text[(*i)++];
  uint32_t cp;
  int n = term_utf8_decode(a->text + *i, a->len - *i, &cp);
  if (n <= 0) return a->text[(*i)++]; /* invalid: byte by byte, still total */
  *i += (size_t)n;
  return cp;
}

static int cmp_fun_atoms(const fun_atom *a, const fun_atom *b) {
  size_t i = 0, j = 0;
  while (i < a->len && j < b->len) {
    uint32_t ca = atom_cp(a, &i), cb = atom_cp(b, &j);
    if (ca != cb) return CMP3(ca, cb);
  }
  return CMP3(a->len - i, b->len - j);
}

static int cmp_raw(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  if (c) return c < 0 ? -1 : 1;
  return CMP3(la, lb);
}

/* Reads a closure's free variables one at a time with nodus_etf_decode.
 * They are concatenated terms without version bytes, so they are copied
 * once behind a version byte, and after each term the byte before the next
 * one (the last byte of the term just read) is overwritten with 131. */
typedef struct free_reader {
  const fun_view *fun;
  uint8_t *buf; /* 131 + free_vars */
  size_t pos;   /* offset in free_vars of the next term */
} free_reader;

static bool free_reader_init(free_reader *fr, const fun_view *v) {
  fr->fun = v;
  fr->pos = 0;
  fr->buf = malloc(v->free_len + 1);
  if (!fr->buf) return false;
  fr->buf[0] = NODUS_ETF_VERSION;
  if (v->free_len) memcpy(fr->buf + 1, v->free_vars, v->free_len);
  return true;
}

static bool free_reader_next(free_reader *fr, nodus_term *out) {
  size_t used;
  const fun_view *v = fr->fun;
  if (nodus_etf_decode(fr->buf + fr->pos, v->free_len - fr->pos + 1, NULL,
                       out, &used) != 0)
    return false;
  fr->pos += used - 1;
  fr->buf[fr->pos] = NODUS_ETF_VERSION;
  return true;
}

/* Free variables (same count on both sides) term by term. If either can't
 * be decoded, the remaining bytes are compared instead. */
static int cmp_free_vars(const fun_view *a, const fun_view *b, bool exact) {
  free_reader ra, rb;
  bool oka = free_reader_init(&ra, a), okb = free_reader_init(&rb, b);
  int c = 0;
  uint32_t i = 0;
  for (; oka && okb && i < a->num_free && !c; i++) {
    nodus_term ta, tb;
    if (!free_reader_next(&ra, &ta)) break;
    if (!free_reader_next(&rb, &tb)) {
      nodus_term_free(&ta);
      break;
    }
    c = cmp_term(&ta, &tb, exact);
    nodus_term_free(&ta);
    nodus_term_free(&tb);
  }
  if (!c && i < a->num_free) {
    size_t pa = oka ? ra.pos : 0, pb = okb ? rb.pos : 0;
    c = cmp_raw(a->free_vars + pa, a->free_len - pa, b->free_vars + pb,
                b->free_len - pb);
  }
  if (oka) free(ra.buf);
  if (okb) free(rb.buf);
  return c;
}

static int cmp_funs(const nodus_term *ta, const nodus_term *tb, bool exact) {
  fun_view a, b;
  fun_view_init(&a, ta);
  fun_view_init(&b, tb);
  if (a.kind != b.kind) return CMP3(a.kind, b.kind);
  if (a.kind == 2) return cmp_raw(a.raw, a.raw_len, b.raw, b.raw_len);
  int c = cmp_fun_atoms(&a.module, &b.module);
  if (c) return c;
  if (a.kind == 1) {
    c = cmp_fun_atoms(&a.function, &b.function);
    return c ? c : CMP3(a.arity, b.arity);
  }
  /* BEAM subtracts these int fields; the sign of the difference is the
   * order. That wraps (and isn't transitive) for values 2^31 or more apart,
   * which compiled code never produces; signed order is the same below. */
  if ((c = CMP3(a.index, b.index))) return c;
  if ((c = CMP3(a.old_uniq, b.old_uniq))) return c;
  if ((c = CMP3(a.num_free, b.num_free))) return c;
  return cmp_free_vars(&a, &b, exact);
}

/* ---- the order --------------------------------------------------------- */

static int cmp_numbers(const nodus_term *a, const nodus_term *b, bool exact) {
  /* In exact order (map key order) every integer comes before every float,
   * whatever their values: maps:keys(#{1.0 => a, 2 => b}) is [2, 1.0]. */
  bool fa = a->type == NODUS_T_FLOAT, fb = b->type == NODUS_T_FLOAT;
  if (exact && fa != fb) return CMP3(fa, fb);
  return term_number_compare(a, b);
}

static int cmp_term(const nodus_term *a, const nodus_term *b, bool exact) {
  int ra = type_rank(a->type), rb = type_rank(b->type);
  if (ra != rb) return CMP3(ra, rb);
  if (ra == RANK_NUMBER) return cmp_numbers(a, b, exact);
  switch (a->type) {
    case NODUS_T_ATOM: return cmp_atom(a->v.atom, b->v.atom);
    case NODUS_T_REF: return cmp_ref(a->v.id, b->v.id);
    case NODUS_T_FUN: return cmp_funs(a, b, exact);
    case NODUS_T_PORT: return cmp_port(a->v.id, b->v.id);
    case NODUS_T_PID: return cmp_pid(a->v.id, b->v.id);
    case NODUS_T_TUPLE:
      if (a->n != b->n) return CMP3(a->n, b->n);
      for (uint32_t i = 0; i < a->n; i++) {
        int c = cmp_term(&a->v.items[i], &b->v.items[i], exact);
        if (c) return c;
      }
      return 0;
    case NODUS_T_MAP: return cmp_maps(a, b, exact);
    case NODUS_T_LIST: return cmp_lists(a, b, exact);
    case NODUS_T_BINARY: return cmp_bits(a, b);
    default: return 0; /* NONE, NIL */
  }
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

/* ---- hashing ----------------------------------------------------------- */

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
  while (i < a->len) h = hadd(h, atom_cp(a, &i));
  return hadd(h, UINT64_C(0xa70));
}

static uint64_t hash_free_vars(uint64_t h, const fun_view *v) {
  free_reader fr;
  bool ok = free_reader_init(&fr, v);
  uint32_t i = 0;
  for (; ok && i < v->num_free; i++) {
    nodus_term t;
    if (!free_reader_next(&fr, &t)) break;
    h = hadd(h, hash_term(&t));
    nodus_term_free(&t);
  }
  if (i < v->num_free) { /* as cmp_free_vars: the rest as bytes */
    size_t pos = ok ? fr.pos : 0;
    h = hash_bytes(h, v->free_vars + pos, v->free_len - pos);
  }
  if (ok) free(fr.buf);
  return h;
}

static uint64_t hash_fun(uint64_t h, const nodus_term *t) {
  fun_view v;
  fun_view_init(&v, t);
  h = hadd(h, (uint64_t)v.kind);
  if (v.kind == 2) return hash_bytes(h, v.raw, v.raw_len);
  h = hash_fun_atom(h, &v.module);
  if (v.kind == 1)
    return hadd(hash_fun_atom(h, &v.function), (uint64_t)v.arity);
  h = hadd(hadd(hadd(h, (uint64_t)v.index), (uint64_t)v.old_uniq),
           v.num_free);
  return hash_free_vars(h, &v);
}

static uint64_t hash_list(uint64_t h, const nodus_term *t) {
  cell_walk w = {t, 0};
  const nodus_term *tail;
  do {
    h = hadd(h, hash_term(&w.list->v.items[w.i]));
  } while (!(tail = cell_next(&w)));
  return hadd(h, hash_term(tail));
}

static uint64_t hash_term(const nodus_term *t) {
  uint64_t h = mix64(UINT64_C(0x6e6f647573) + t->type);
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
    case NODUS_T_FUN: return hash_fun(h, t);
    case NODUS_T_PORT:
      return hadd(hash_node(h, t->v.id), port_id(t->v.id));
    case NODUS_T_PID:
      return hadd(hadd(hash_node(h, t->v.id), t->v.id->w[0]), t->v.id->w[1]);
    case NODUS_T_TUPLE:
      h = hadd(h, t->n);
      for (uint32_t i = 0; i < t->n; i++)
        h = hadd(h, hash_term(&t->v.items[i]));
      return h;
    case NODUS_T_MAP: {
      /* A sum of pair hashes doesn't depend on the stored order, so a
       * sorted map and the same map in wire order hash alike. */
      uint64_t sum = 0;
      for (uint32_t i = 0; i < t->n; i++)
        sum += hadd(hash_term(&t->v.items[2 * i]),
                    hash_term(&t->v.items[2 * i + 1]));
      return hadd(hadd(h, t->n), sum);
    }
    case NODUS_T_LIST: return hash_list(h, t);
    case NODUS_T_BINARY: {
      size_t bits = bit_size(t), full = bits / 8;
      const uint8_t *p = t->v.bin->data;
      h = hash_bytes(hadd(h, bits), p, full);
      if (bits % 8)
        h = hadd(h, p[full] & (uint8_t)(0xFF << (8 - bits % 8)));
      return h;
    }
    default: return h; /* NONE, NIL */
  }
}

uint64_t nodus_hash(const nodus_term *t) { return hash_term(t); }

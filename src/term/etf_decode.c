/* External term format decoder.
 *
 * Everything here may come from a hostile peer, so every length field is
 * checked against the bytes actually present before anything is allocated:
 * each element of a tuple, list or map takes at least one input byte, so a
 * claimed count larger than the rest of the input is refused up front and
 * memory stays proportional to the input. Nothing recurses: containers
 * are frames on a heap stack of our own, so a term nested as deep as
 * BEAM sends it decodes (max_depth bounds it only when a caller asks).
 * Atoms a term may create are bounded by max_new_atoms, and input plus
 * decompressed bytes by max_size. On any error everything built so far
 * is freed.
 *
 * Checked against OTP 25's binary_to_term: it accepts non-normalised bigs,
 * any non-zero big sign byte as negative, BIT_BINARY only with 1..8 bits
 * (or 0 bits and no bytes), EXPORT arities as SMALL_INTEGER or INTEGER,
 * trailing bytes inside a compressed payload; it rejects NaN/inf floats,
 * duplicate map keys, atoms over 255 characters and nested COMPRESSED. */
#include <stdlib.h>
#include <string.h>

#include "etf_decode.h"
#include "etf_tags.h"
#include "term_internal.h"
#include "term_stack.h"

#define DEFAULT_MAX_DEPTH SIZE_MAX /* as BEAM: what memory allows */
#define DEFAULT_MAX_SIZE ((size_t)256 << 20)
#define DEFAULT_MAX_NEW_ATOMS 4096

/* ---- containers -------------------------------------------------------- */

/* Containers are decoded with a stack of frames of our own
 * (term_stack.h), not by recursion, so a term nested as deep as BEAM
 * sends it costs heap, not C stack: a frame is a container whose slots
 * are being filled. The slot a frame handed out last is valid or zeroed
 * at all times, so on error every frame frees what it holds. */

enum { K_TUPLE, K_MAP, K_LIST, K_LIST_TAIL, K_FUN };

/* A NEW_FUN_EXT being walked: the fun is kept as its bytes, its free
 * variables are decoded one at a time into var (so they are validated
 * and their atoms counted) and dropped. */
typedef struct fun_ctx {
  const uint8_t *start, *body;
  uint32_t size;
  nodus_term var;
} fun_ctx;

typedef struct dframe {
  nodus_term *items; /* K_FUN: &fun->var */
  fun_ctx *fun;
  size_t cap;   /* K_LIST: slots allocated */
  uint32_t len; /* slots handed out (lists: elements) */
  uint32_t end; /* slots to fill (lists: elements announced so far) */
  uint8_t kind; /* K_LIST_TAIL: the list's tail slot, items[len], is in
                   use (being decoded, or set) */
} dframe;

static inline int decode_one(dec *d, term_stack *st, nodus_term *slot);

/* A new frame, if the depth allows one. */
static int push(dec *d, term_stack *st, dframe **f) {
  if (st->n >= d->max_depth) return NODUS_ETOODEEP;
  if (!(*f = term_stack_push(st))) return NODUS_ENOMEM;
  return 0;
}

/* A container whose items come next: frame pushed, slot cleared until it
 * is done; 1 (descend), or the error with owned freed. */
static int open_frame(dec *d, term_stack *st, nodus_term *slot, dframe frame,
                      void *owned) {
  dframe *f;
  int rc = push(d, st, &f);
  if (rc) {
    free(owned);
    return rc;
  }
  *f = frame;
  memset(slot, 0, sizeof *slot);
  return 1;
}

/* Empty containers push nothing, but count as a level, as they did. */
static int depth_ok(const dec *d, const term_stack *st) {
  return st->n >= d->max_depth ? NODUS_ETOODEEP : 0;
}

static void frame_free(dframe *f) {
  if (f->kind == K_FUN) {
    nodus_term_free(&f->fun->var);
    free(f->fun);
    return;
  }
  free_items(f->items, (size_t)f->len + (f->kind == K_LIST_TAIL));
}

/* Where the child f is waiting for goes. */
static nodus_term *frame_slot(dframe *f) {
  if (f->kind == K_FUN) return f->items;
  if (f->kind == K_LIST_TAIL) return &f->items[f->len];
  return &f->items[f->len - 1];
}

static void set_container(nodus_term *out, nodus_type type, uint32_t n,
                          nodus_term *items) {
  memset(out, 0, sizeof *out);
  out->type = (uint8_t)type;
  out->n = n;
  out->v.items = items;
}

static int open_tuple(dec *d, term_stack *st, uint64_t n, nodus_term *slot) {
  NEED(d, n);
  int rc = depth_ok(d, st);
  if (rc) return rc;
  nodus_term *items = items_alloc(n);
  if (!items) return NODUS_ENOMEM;
  if (n == 0) {
    set_container(slot, NODUS_T_TUPLE, 0, items);
    return 0;
  }
  return open_frame(d, st, slot,
                    (dframe){.items = items, .end = (uint32_t)n, .kind = K_TUPLE},
                    items);
}

/* Grows a list's item array to hold `want` slots. The first LIST_EXT gets
 * exactly its size; only chained tails (rare) grow geometrically. */
static int list_reserve(nodus_term **items, size_t *cap, uint64_t want) {
  if (want <= *cap) return 0;
  uint64_t c = *cap ? *cap + *cap / 2 : 0;
  if (c < want) c = want;
  if (c >= SIZE_MAX / sizeof(nodus_term)) return NODUS_ETOOBIG;
  nodus_term *n = realloc(*items, (size_t)c * sizeof(nodus_term));
  if (!n) return NODUS_ENOMEM;
  *items = n;
  *cap = (size_t)c;
  return 0;
}

/* Lists. A LIST_EXT (or STRING_EXT) in tail position continues the same
 * list -- [1|[2,3]] is the term [1,2,3] -- so it is merged into one array
 * (list_next), keeping the representation canonical. `n` is the count
 * from the first LIST_EXT header, already read. */
static int open_list(dec *d, term_stack *st, uint64_t n, nodus_term *slot) {
  int rc = depth_ok(d, st);
  if (rc) return rc;
  /* n elements and a tail follow: at least n + 1 bytes. */
  if ((uint64_t)left(d) < n + 1) return short_input(d, n + 1);
  if (n > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_term *items = NULL;
  size_t cap = 0;
  if ((rc = list_reserve(&items, &cap, n + 1))) return rc;
  return open_frame(d, st, slot,
                    (dframe){.items = items, .cap = cap, .end = (uint32_t)n, .kind = K_LIST},
                    items);
}

/* The next element of a list, or its tail: 1 with *slot to fill, 0 when
 * the tail is set (the list is complete), or an error. */
static int list_next(dec *d, dframe *f, nodus_term **slot) {
  for (;;) {
    if (f->len < f->end) {
      *slot = &f->items[f->len++];
      return 1;
    }
    if (left(d) < 1) return short_input(d, 1);
    uint8_t tag = *d->p;
    if (tag == ETF_NIL) {
      d->p++;
      f->items[f->len] = nodus_nil();
      f->kind = K_LIST_TAIL;
      return 0;
    }
    if (tag == ETF_LIST) {
      if (left(d) < 5) return short_input(d, 5);
      uint64_t n = rd32(d->p + 1);
      d->p += 5;
      if ((uint64_t)left(d) < n + 1) return short_input(d, n + 1);
      if (f->len + n > UINT32_MAX) return NODUS_ETOOBIG;
      int rc = list_reserve(&f->items, &f->cap, f->len + n + 1);
      if (rc) return rc;
      f->end = (uint32_t)(f->len + n);
      continue;
    }
    if (tag == ETF_STRING) { /* a proper list: ends the chain */
      if (left(d) < 3) return short_input(d, 3);
      size_t m = rd16(d->p + 1);
      if (left(d) < 3 + m) return short_input(d, 3 + m);
      if (f->len + m > UINT32_MAX) return NODUS_ETOOBIG;
      int rc = list_reserve(&f->items, &f->cap, f->len + m + 1);
      if (rc) return rc;
      const uint8_t *s = d->p + 3;
      for (size_t i = 0; i < m; i++) f->items[f->len++] = nodus_int(s[i]);
      f->items[f->len] = nodus_nil();
      d->p += 3 + m;
      f->kind = K_LIST_TAIL;
      return 0;
    }
    f->kind = K_LIST_TAIL; /* an improper tail: any term */
    *slot = &f->items[f->len];
    return 1;
  }
}


/* Maps keep their wire order (so large, hash-ordered maps re-encode to
 * BEAM's bytes) and are flagged sorted only when that order is verified.
 * Duplicate keys are refused, as binary_to_term does. */
static int map_check(nodus_term *map) {
  const nodus_term *it = map->v.items;
  uint32_t n = map->n;
  uint32_t i = 1;
  for (; i < n; i++) {
    int c = nodus_compare_exact(&it[2 * (i - 1)], &it[2 * i]);
    if (c == 0) return NODUS_EDUPKEY;
    if (c > 0) break;
  }
  if (i >= n) {
    map->flags |= NODUS_TF_MAP_SORTED;
    return 0;
  }
  uint32_t *idx = term_map_sorted_index(map);
  if (!idx) return NODUS_ENOMEM;
  int rc = 0;
  for (i = 1; i < n && rc == 0; i++)
    if (nodus_compare_exact(&it[2 * idx[i - 1]], &it[2 * idx[i]]) == 0)
      rc = NODUS_EDUPKEY;
  free(idx);
  return rc;
}

static int open_map(dec *d, term_stack *st, uint64_t n, nodus_term *slot) {
  NEED(d, 2 * n);
  if (n > UINT32_MAX / 2) return NODUS_ETOOBIG;
  nodus_term *items = items_alloc(2 * n);
  if (!items) return NODUS_ENOMEM;
  int rc = depth_ok(d, st);
  if (rc) {
    free(items);
    return rc;
  }
  if (n == 0) {
    set_container(slot, NODUS_T_MAP, 0, items);
    return map_check(slot);
  }
  return open_frame(d, st, slot,
                    (dframe){.items = items, .end = (uint32_t)(2 * n), .kind = K_MAP},
                    items);
}

/* ---- funs -------------------------------------------------------------- */

/* Decodes a part of a fun that must be a scalar (an integer, a pid),
 * checks its type and drops it unless kept: funs are kept as their bytes,
 * but their parts are still validated (and their atoms counted). */
static int check_part(dec *d, nodus_type want, nodus_term *keep) {
  nodus_term t;
  int rc = decode_one(d, NULL, &t);
  if (rc) return rc;
  if (t.type != want) rc = NODUS_EBADETF;
  if (rc == 0 && keep) *keep = t;
  else nodus_term_free(&t);
  return rc;
}

static int fun_from_bytes(const uint8_t *start, size_t len, uint8_t flags,
                          nodus_term *out) {
  if (len > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_bin *b = term_bin_alloc(len);
  if (!b) return NODUS_ENOMEM;
  memcpy(b->data, start, len);
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_FUN;
  out->flags = flags;
  out->n = (uint32_t)len;
  out->v.bin = b;
  return 0;
}

/* EXPORT_EXT: Module atom, Function atom, Arity integer. */
static int decode_export(dec *d, const uint8_t *start, nodus_term *out) {
  nodus_atom a;
  int rc = etf_read_atom(d, &a);
  if (rc == 0) rc = etf_read_atom(d, &a);
  const uint8_t *arity_at = d->p;
  nodus_term arity = {0};
  if (rc == 0) rc = check_part(d, NODUS_T_INT, &arity);
  if (rc) return rc;
  if (arity.v.i < 0 || arity.v.i > 255) return NODUS_EBADETF;
  if (*arity_at == ETF_SMALL_INTEGER)
    return fun_from_bytes(start, (size_t)(d->p - start), NODUS_TF_FUN_EXPORT,
                          out);
  /* BEAM takes any integer encoding for the arity; keep the canonical
   * SMALL_INTEGER_EXT form, so equal funs have equal bytes. */
  size_t head = (size_t)(arity_at - start);
  uint8_t small[2 * (4 * NODUS_ATOM_MAX_CHARS + 3) + 3];
  if (head + 2 > sizeof small) return NODUS_EBADETF;
  memcpy(small, start, head);
  small[head] = ETF_SMALL_INTEGER;
  small[head + 1] = (uint8_t)arity.v.i;
  return fun_from_bytes(small, head + 2, NODUS_TF_FUN_EXPORT, out);
}

/* NEW_FUN_EXT: Size(4) Arity(1) Uniq(16) Index(4) NumFree(4) Module
 * OldIndex OldUniq Pid FreeVars...; Size counts itself and everything after
 * the tag. The fields are walked and the walk must end where Size says
 * (checked when the last free variable is done, frame_finish). */
static int fun_end(dec *d, const uint8_t *start, const uint8_t *body,
                   uint32_t size, bool dropped, nodus_term *out) {
  if ((size_t)(d->p - body) != size) return NODUS_EBADETF;
  /* A fun in another's free variables is only checked: its bytes are in
   * the outer fun's already, and copying them at every level of a nest
   * would cost the square of its size. */
  if (dropped) {
    *out = nodus_nil();
    return 0;
  }
  return fun_from_bytes(start, (size_t)(d->p - start), 0, out);
}

/* Whether what the top frame of st decodes is dropped (a free variable). */
static bool in_fun(const term_stack *st) {
  const dframe *f = term_stack_top(st);
  return f && f->kind == K_FUN;
}

static int open_fun(dec *d, term_stack *st, const uint8_t *start,
                    nodus_term *slot) {
  NEED(d, 29);
  uint32_t size = rd32(d->p);
  uint32_t nfree = rd32(d->p + 25);
  if (size < 29) return NODUS_EBADETF;
  NEED(d, size);
  const uint8_t *body = d->p;
  d->p += 29;
  nodus_atom module;
  int rc = etf_read_atom(d, &module);
  if (rc == 0) rc = check_part(d, NODUS_T_INT, NULL); /* OldIndex */
  if (rc == 0) rc = check_part(d, NODUS_T_INT, NULL); /* OldUniq */
  if (rc == 0) rc = check_part(d, NODUS_T_PID, NULL);
  if (rc == 0 && nfree > left(d)) rc = NODUS_EBADETF;
  if (rc == 0) rc = depth_ok(d, st);
  if (rc) return rc;
  if (nfree == 0) return fun_end(d, start, body, size, in_fun(st), slot);
  fun_ctx *c = calloc(1, sizeof *c);
  if (!c) return NODUS_ENOMEM;
  *c = (fun_ctx){.start = start, .body = body, .size = size};
  return open_frame(d, st, slot,
                    (dframe){.items = &c->var, .fun = c, .end = nfree, .kind = K_FUN},
                    c);
}

/* ---- dispatch ---------------------------------------------------------- */

/* One term's head: a scalar is decoded into *slot (0); a container opens
 * a frame on st (1: *slot, zeroed, gets the container once its frame is
 * done). st is NULL where only scalars may come (parts of funs): a
 * container there is malformed. On error *slot is undefined. */
TERM_HOT int decode_one(dec *d, term_stack *st, nodus_term *slot) {
  NEED(d, 1);
  const uint8_t *start = d->p;
  if (left(d) >= 2 && start[0] == ETF_SMALL_INTEGER) { /* most elements */
    *slot = nodus_int(start[1]);
    d->p = start + 2;
    return 0;
  }
  uint8_t tag = *d->p++;
  const uint8_t *p = d->p;
  size_t len;
  switch (tag) {
    case ETF_SMALL_INTEGER:
      NEED(d, 1);
      *slot = nodus_int(p[0]);
      d->p += 1;
      return 0;
    case ETF_INTEGER:
      NEED(d, 4);
      *slot = nodus_int((int32_t)rd32(p));
      d->p += 4;
      return 0;
    case ETF_NEW_FLOAT: return etf_new_float(d, slot);
    case ETF_FLOAT: return etf_old_float(d, slot);
    case ETF_ATOM:
    case ETF_SMALL_ATOM:
    case ETF_ATOM_UTF8:
    case ETF_SMALL_ATOM_UTF8: {
      d->p = start;
      nodus_atom a;
      int rc = etf_read_atom(d, &a);
      if (rc) return rc;
      *slot = nodus_atom_term(a);
      return 0;
    }
    case ETF_NIL: *slot = nodus_nil(); return 0;
    case ETF_STRING: return etf_string(d, slot);
    case ETF_BINARY:
      NEED(d, 4);
      d->p += 4;
      return etf_binary(d, rd32(p), 0, slot);
    case ETF_BIT_BINARY: {
      NEED(d, 5);
      len = rd32(p);
      unsigned bits = p[4];
      if (len == 0 ? bits != 0 : bits < 1 || bits > 8) return NODUS_EBADETF;
      d->p += 5;
      return etf_binary(d, len, bits & 7, slot);
    }
    case ETF_SMALL_BIG:
      NEED(d, 2);
      d->p += 2;
      return etf_big(d, p[0], p[1] != 0, slot);
    case ETF_LARGE_BIG:
      NEED(d, 5);
      d->p += 5;
      return etf_big(d, rd32(p), p[4] != 0, slot);
    case ETF_NEW_PID:
    case ETF_PID:
    case ETF_NEW_PORT:
    case ETF_V4_PORT:
    case ETF_PORT:
    case ETF_NEWER_REFERENCE:
    case ETF_NEW_REFERENCE:
    case ETF_REFERENCE: return etf_ident(d, tag, slot);
    case ETF_EXPORT: return decode_export(d, start, slot);
    case ETF_ATOM_CACHE_REF:
    case ETF_LOCAL:
    case ETF_FUN: return NODUS_EUNSUPPORTED;
    /* Containers; not where a scalar must be (st NULL). */
    case ETF_SMALL_TUPLE:
      if (!st) return NODUS_EBADETF;
      NEED(d, 1);
      d->p += 1;
      return open_tuple(d, st, p[0], slot);
    case ETF_LARGE_TUPLE:
      if (!st) return NODUS_EBADETF;
      NEED(d, 4);
      d->p += 4;
      return open_tuple(d, st, rd32(p), slot);
    case ETF_LIST:
      if (!st) return NODUS_EBADETF;
      NEED(d, 4);
      d->p += 4;
      return open_list(d, st, rd32(p), slot);
    case ETF_MAP:
      if (!st) return NODUS_EBADETF;
      NEED(d, 4);
      d->p += 4;
      return open_map(d, st, rd32(p), slot);
    case ETF_NEW_FUN:
      if (!st) return NODUS_EBADETF;
      return open_fun(d, st, start, slot);
    default: return NODUS_EBADETF; /* includes COMPRESSED below the top */
  }
}

/* The next slot f hands out: 1 with *slot, 0 when f is complete. */
static inline int next_slot(dec *d, dframe *f, nodus_term **slot) {
  switch (f->kind) {
    case K_TUPLE:
    case K_MAP:
      if (f->len == f->end) return 0;
      *slot = &f->items[f->len++];
      return 1;
    case K_FUN:
      nodus_term_free(f->items); /* the variable just checked */
      if (f->len == f->end) return 0;
      f->len++;
      *slot = f->items;
      return 1;
    case K_LIST: return list_next(d, f, slot);
    default: return 0; /* K_LIST_TAIL: the tail is in */
  }
}

/* The container of a complete frame, into out; on error the frame's
 * parts are freed and out is left as it was. dropped: its parent is a
 * fun that drops it. */
static int frame_finish(dec *d, dframe *f, bool dropped, nodus_term *out) {
  switch (f->kind) {
    case K_TUPLE: set_container(out, NODUS_T_TUPLE, f->end, f->items); return 0;
    case K_MAP: {
      set_container(out, NODUS_T_MAP, f->end / 2, f->items);
      int rc = map_check(out);
      if (rc) {
        free_items(f->items, f->len);
        memset(out, 0, sizeof *out);
      }
      return rc;
    }
    case K_FUN: {
      fun_ctx *c = f->fun;
      int rc = fun_end(d, c->start, c->body, c->size, dropped, out);
      free(c);
      return rc;
    }
    default: /* K_LIST_TAIL */
      if (f->len == 0) { /* LIST_EXT with no elements is just its tail */
        *out = f->items[0];
        free(f->items);
        return 0;
      }
      set_container(out, NODUS_T_LIST, f->len, f->items);
      return 0;
  }
}

/* One whole term, depth first: decode a head; fill the top frame's slots
 * until one opens a frame (the new top) or it is complete; close a
 * complete frame straight into its parent's slot (zeroed when it was
 * opened, and left so on error). */
static int decode(dec *d, nodus_term *out) {
  dframe local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  int rc = decode_one(d, &st, out);
  if (rc < 0) memset(out, 0, sizeof *out);
  while (rc >= 0) {
    dframe *f = term_stack_top(&st);
    if (!f) { /* the term is whole */
      term_stack_free(&st);
      return 0;
    }
    nodus_term *slot;
    int next;
    while ((next = next_slot(d, f, &slot)) == 1) {
      const uint8_t *p = d->p;
      if (left(d) >= 2 && p[0] == ETF_SMALL_INTEGER) { /* most elements */
        *slot = nodus_int(p[1]);
        d->p = p + 2;
        continue;
      }
      if ((rc = decode_one(d, &st, slot))) break;
    }
    if (next == 1) {
      if (rc == 1) continue; /* a child opened: it is the top now */
      memset(slot, 0, sizeof *slot);
      break;
    }
    if ((rc = next) < 0) break;
    dframe *parent = term_stack_below(&st);
    rc = frame_finish(d, f, parent && parent->kind == K_FUN,
                      parent ? frame_slot(parent) : out);
    term_stack_pop(&st);
  }
  for (dframe *f; (f = term_stack_top(&st)); term_stack_pop(&st))
    frame_free(f);
  term_stack_free(&st);
  return rc;
}

/* ---- compressed terms -------------------------------------------------- */

/* COMPRESSED: UncompressedSize(4) then a zlib stream holding one term
 * (without version byte). Only valid right after the version byte. */
static int decode_compressed(dec *d, nodus_term *out) {
  NEED(d, 4);
  size_t declared = rd32(d->p);
  d->p += 4;
  size_t off = (size_t)(d->p - d->base);
  if (declared > d->max_size - off) return NODUS_ETOOBIG;
  uint8_t *buf;
  size_t consumed;
  int rc = etf_inflate(d, declared, &buf, &consumed);
  if (rc) return rc;
  const uint8_t *resume = d->p + consumed, *end = d->end, *base = d->base;
  size_t max_size = d->max_size;
  d->p = d->base = buf;
  d->end = buf + declared;
  d->max_size = declared;
  d->inner = 1;
  rc = decode(d, out); /* BEAM ignores bytes left after the term */
  d->cache_used = 0;   /* entries point into buf */
  free(buf);
  d->p = resume;
  d->end = end;
  d->base = base;
  d->max_size = max_size;
  d->inner = 0;
  return rc;
}

static int decode_top(dec *d, nodus_term *out) {
  NEED(d, 1);
  if (*d->p != NODUS_ETF_VERSION) return NODUS_EBADETF;
  d->p++;
  NEED(d, 1);
  if (*d->p == ETF_COMPRESSED) {
    d->p++;
    return decode_compressed(d, out);
  }
  return decode(d, out);
}

static int decode_with(const uint8_t *buf, size_t len,
                       const nodus_decode_opts *opts, nodus_term *out,
                       size_t *used, bool versioned) {
  if (!out) return NODUS_EINVAL;
  memset(out, 0, sizeof *out);
  if (!buf && len) return NODUS_EINVAL;
  dec d;
  /* Zero fields mean "default", so callers can set just one limit. */
  d.max_depth = opts && opts->max_depth ? opts->max_depth : DEFAULT_MAX_DEPTH;
  d.max_size = opts && opts->max_size ? opts->max_size : DEFAULT_MAX_SIZE;
  d.max_new_atoms = opts && opts->max_new_atoms ? opts->max_new_atoms
                                                : DEFAULT_MAX_NEW_ATOMS;
  d.base = d.p = buf;
  d.end = buf + (len < d.max_size ? len : d.max_size);
  d.inner = 0;
  d.new_atoms = 0;
  d.cache_used = 0;
  int rc = versioned ? decode_top(&d, out) : decode(&d, out);
  if (rc) {
    memset(out, 0, sizeof *out);
    return rc;
  }
  if (used) *used = (size_t)(d.p - buf);
  return 0;
}

int nodus_etf_decode(const uint8_t *buf, size_t len,
                     const nodus_decode_opts *opts, nodus_term *out,
                     size_t *used) {
  return decode_with(buf, len, opts, out, used, true);
}

int term_etf_decode_body(const uint8_t *buf, size_t len,
                         const nodus_decode_opts *opts, nodus_term *out,
                         size_t *used) {
  return decode_with(buf, len, opts, out, used, false);
}

/* External term format encoder.
 *
 * Two passes: etf_size() walks the term once to validate it and add up the
 * exact size, etf_write() then writes into a buffer of that size without
 * any further checks or reallocation. The output matches OTP 25's
 * term_to_binary/1,2 byte for byte (checked against erl):
 *
 *  - integers 0..255 SMALL_INTEGER, other int32 INTEGER, the rest SMALL_BIG
 *    (up to 255 magnitude bytes) or LARGE_BIG, minimal magnitude;
 *  - floats NEW_FLOAT;
 *  - atoms, minor_version 1: ATOM_EXT (100, 2-byte length, latin-1 bytes)
 *    whenever every character is <= 255 -- OTP 25 never emits SMALL_ATOM
 *    (115) -- otherwise SMALL_ATOM_UTF8 (119) up to 255 bytes, else
 *    ATOM_UTF8 (118). minor_version 2: always 119/118 (OTP 26's default);
 *  - proper lists of 0..255 integers with at most 65535 elements STRING,
 *    other lists LIST; a list whose tail is another list is one list;
 *  - tuples SMALL_TUPLE up to arity 255, else LARGE_TUPLE; maps MAP in
 *    stored order; binaries BINARY, bitstrings BIT_BINARY;
 *  - pids NEW_PID, ports NEW_PORT (V4_PORT when the id needs more than 32
 *    bits), references NEWER_REFERENCE; funs their stored bytes verbatim;
 *  - compressed N: zlib level N over the encoding without version byte,
 *    kept only when the zlib stream is at most 5 bytes shorter than the
 *    uncompressed body, i.e. when 131,80,Size(4),Zlib is no longer than the
 *    plain encoding -- the threshold OTP 25 shows. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "etf_tags.h"
#include "term_internal.h"
#include "term_stack.h"

/* ---- options ----------------------------------------------------------- */

static int opts_minor(const nodus_encode_opts *opts, int *minor) {
  int m = opts ? opts->minor_version : 1;
  if (m == 0) m = 1; /* zeroed options mean the default */
  if (m != 1 && m != 2) return NODUS_EINVAL;
  *minor = m;
  return 0;
}

/* ---- atoms ------------------------------------------------------------- */

typedef struct atom_form {
  const uint8_t *text; /* UTF-8 from the table */
  size_t len;          /* its bytes */
  size_t wire_len;     /* bytes on the wire */
  uint8_t tag;
  uint8_t to_latin1; /* text has code points 128..255 to narrow */
} atom_form;

static int atom_form_of(nodus_atom a, int minor, atom_form *f) {
  size_t len;
  int32_t latin1_len;
  const char *text = term_atom_info(a, &len, &latin1_len);
  if (!text) return NODUS_EINVAL;
  f->text = (const uint8_t *)text;
  f->len = len;
  f->wire_len = len;
  f->to_latin1 = 0;
  f->tag = len <= 255 ? ETF_SMALL_ATOM_UTF8 : ETF_ATOM_UTF8;
  if (minor == 2 || latin1_len < 0) return 0;
  /* Every code point fits latin-1: ATOM_EXT, narrowed if not ASCII. */
  f->tag = ETF_ATOM;
  f->wire_len = (size_t)latin1_len;
  f->to_latin1 = (size_t)latin1_len != len;
  return 0;
}

/* Encoder state: the options and a small cache of atom forms, since terms
 * repeat the same atoms and both passes need each one. */
#define ATOM_CACHE_SLOTS 64

typedef struct enc {
  int minor;
  uint64_t cache_used;
  nodus_atom cache_atom[ATOM_CACHE_SLOTS];
  atom_form cache[ATOM_CACHE_SLOTS];
} enc;

static void enc_init(enc *e, int minor) {
  e->minor = minor;
  e->cache_used = 0;
}

static int atom_form_cached(enc *e, nodus_atom a, const atom_form **f) {
  unsigned slot = a & (ATOM_CACHE_SLOTS - 1);
  if (!(e->cache_used >> slot & 1) || e->cache_atom[slot] != a) {
    int rc = atom_form_of(a, e->minor, &e->cache[slot]);
    if (rc) return rc;
    e->cache_atom[slot] = a;
    e->cache_used |= (uint64_t)1 << slot;
  }
  *f = &e->cache[slot];
  return 0;
}

/* OTP 25 writes a port id above 28 bits as V4_PORT_EXT (64-bit id). */
static bool port_needs_v4(const nodus_ident *id) {
  return id->w[1] != 0 || id->w[0] > 0x0FFFFFFFu;
}

/* An export fun's module, function and arity, from its stored bytes, so it
 * is written with this encoder's atom forms as BEAM would (a stored
 * ATOM_EXT must become SMALL_ATOM_UTF8 under minor_version 2). */
typedef struct export_parts {
  nodus_atom module, function;
  uint8_t arity;
} export_parts;

static bool export_parts_of(const nodus_term *t, export_parts *x) {
  if (!(t->flags & NODUS_TF_FUN_EXPORT) || t->n < 2 ||
      t->v.bin->data[0] != ETF_EXPORT)
    return false;
  /* Decode the three parts in turn, each from a copy where a version byte
   * goes over the byte before it (the tag, then the part just read). */
  uint8_t *buf = malloc(t->n);
  if (!buf) return false;
  memcpy(buf, t->v.bin->data, t->n);
  nodus_term part[3] = {{0}};
  size_t off = 0, used = 0;
  int rc = 0;
  for (int i = 0; i < 3 && !rc; i++) {
    buf[off] = NODUS_ETF_VERSION;
    rc = nodus_etf_decode(buf + off, t->n - off, NULL, &part[i], &used);
    off += used - 1;
  }
  bool ok = !rc && part[0].type == NODUS_T_ATOM &&
            part[1].type == NODUS_T_ATOM && part[2].type == NODUS_T_INT &&
            part[2].v.i >= 0 && part[2].v.i <= 255;
  if (ok) {
    x->module = part[0].v.atom;
    x->function = part[1].v.atom;
    x->arity = (uint8_t)part[2].v.i;
  }
  for (int i = 0; i < 3; i++) nodus_term_free(&part[i]);
  free(buf);
  return ok;
}

static size_t atom_size(const atom_form *f) {
  return (f->tag == ETF_SMALL_ATOM_UTF8 ? 2 : 3) + f->wire_len;
}

static inline uint8_t *put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}
static inline uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

static uint8_t *write_atom(uint8_t *p, const atom_form *f) {
  *p++ = f->tag;
  if (f->tag == ETF_SMALL_ATOM_UTF8) *p++ = (uint8_t)f->wire_len;
  else p = put16(p, (uint32_t)f->wire_len);
  if (!f->to_latin1) {
    memcpy(p, f->text, f->len);
    return p + f->len;
  }
  for (size_t i = 0; i < f->len; i++) {
    uint8_t c = f->text[i];
    if (c < 0x80) *p++ = c;
    else if (c >= 0xC0) *p++ = (uint8_t)((c & 0x03) << 6 | (f->text[++i] & 0x3F));
  }
  return p;
}

/* ---- lists ------------------------------------------------------------- */

/* A list and the lists chained through its tails, as BEAM sees them: the
 * element count and the final (non-list) tail. */
static const nodus_term *list_end(const nodus_term *t, uint64_t *count) {
  uint64_t n = 0;
  while (t->type == NODUS_T_LIST) {
    n += t->n;
    t = &t->v.items[t->n];
  }
  *count = n;
  return t;
}

static int list_is_string(const nodus_term *t, uint64_t count,
                          const nodus_term *tail) {
  if (tail->type != NODUS_T_NIL || count > 65535) return 0;
  for (; t->type == NODUS_T_LIST; t = &t->v.items[t->n])
    for (uint32_t i = 0; i < t->n; i++) {
      const nodus_term *e = &t->v.items[i];
      if (e->type != NODUS_T_INT || (uint64_t)e->v.i > 255) return 0;
    }
  return 1;
}

/* ---- size pass --------------------------------------------------------- */

static size_t int_mag_bytes(uint64_t m) {
  size_t k = 0;
  while (m) {
    k++;
    m >>= 8;
  }
  return k;
}

static int ident_valid(const nodus_term *t) {
  const nodus_ident *id = t->v.id;
  return id && (t->type != NODUS_T_REF ||
                (id->len >= 1 && id->len <= ETF_MAX_REF_WORDS));
}

static inline size_t int_size(int64_t v) {
  if (v >= 0 && v <= 255) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 5;
  return 3 + int_mag_bytes(v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

/* A term's own bytes, without its children: *walk says whether it has
 * children to size (non-empty tuples and maps, lists that are not
 * strings). */
TERM_HOT int size_head(enc *e, const nodus_term *t, size_t *acc, bool *walk) {
  const atom_form *f;
  int rc;
  *walk = false;
  switch (t->type) {
    case NODUS_T_INT: *acc += int_size(t->v.i); return 0;
    case NODUS_T_BIGINT:
      if (!t->v.big) return NODUS_EINVAL;
      *acc += (t->v.big->len <= 255 ? 3 : 6) + (size_t)t->v.big->len;
      return 0;
    case NODUS_T_FLOAT:
      if (!isfinite(t->v.f)) return NODUS_EINVAL; /* no NaN/inf in Erlang */
      *acc += 9;
      return 0;
    case NODUS_T_ATOM:
      if ((rc = atom_form_cached(e, t->v.atom, &f))) return rc;
      *acc += atom_size(f);
      return 0;
    case NODUS_T_NIL: *acc += 1; return 0;
    case NODUS_T_LIST: {
      uint64_t count;
      const nodus_term *tail = list_end(t, &count);
      assert(count > 0); /* skip_empty_lists */
      if (count > UINT32_MAX) return NODUS_ETOOBIG;
      if (list_is_string(t, count, tail)) {
        *acc += 3 + (size_t)count;
        return 0;
      }
      *acc += 5;
      *walk = true;
      return 0;
    }
    case NODUS_T_TUPLE:
      *acc += t->n <= 255 ? 2 : 5;
      *walk = t->n > 0;
      return 0;
    case NODUS_T_MAP:
      *acc += 5;
      *walk = t->n > 0;
      return 0;
    case NODUS_T_BINARY:
      if (t->n == 0 && (t->flags & NODUS_TF_BITS_MASK)) return NODUS_EINVAL;
      *acc += (t->flags & NODUS_TF_BITS_MASK ? 6 : 5) + (size_t)t->n;
      return 0;
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF:
      if (!ident_valid(t)) return NODUS_EINVAL;
      if ((rc = atom_form_cached(e, t->v.id->node, &f))) return rc;
      *acc += 1 + atom_size(f);
      if (t->type == NODUS_T_PID) *acc += 12;
      else if (t->type == NODUS_T_PORT) *acc += port_needs_v4(t->v.id) ? 12 : 8;
      else *acc += 2 + 4 + 4 * (size_t)t->v.id->len;
      return 0;
    case NODUS_T_FUN: {
      if (!t->v.bin || t->n == 0) return NODUS_EINVAL;
      export_parts x;
      if (!export_parts_of(t, &x)) { /* closures go as they came */
        *acc += t->n;
        return 0;
      }
      /* One at a time: the second lookup may reuse the first's slot. */
      if ((rc = atom_form_cached(e, x.module, &f))) return rc;
      *acc += 1 + atom_size(f) + 2;
      if ((rc = atom_form_cached(e, x.function, &f))) return rc;
      *acc += atom_size(f);
      return 0;
    }
    default: return NODUS_EINVAL; /* NODUS_T_NONE or garbage */
  }
}

/* A list cell of no elements (which only a hand-made term has) is just
 * its tail. */
static const nodus_term *skip_empty_lists(const nodus_term *t) {
  while (t->type == NODUS_T_LIST && t->n == 0) t = &t->v.items[0];
  return t;
}

/* Depth first with a stack of walks of our own (term_stack.h): no
 * recursion per level, whatever the depth. Should the stack find no
 * memory, that one container is walked by a nested call (with a stack of
 * its own, on the C stack), so this can't fail for lack of it. */
static int etf_size(enc *e, const nodus_term *t, size_t *acc) {
  term_walk local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  int rc = 0;
  for (;;) {
    bool walk;
    t = skip_empty_lists(t);
    if ((rc = size_head(e, t, acc, &walk))) break;
    if (walk) {
      term_walk *w = term_stack_push(&st);
      if (w) {
        term_walk_init(w, t);
      } else {
        term_walk here;
        term_walk_init(&here, t);
        for (const nodus_term *c; !rc && (c = term_walk_next(&here));)
          rc = etf_size(e, c, acc);
        if (rc) break;
      }
    }
    /* The innermost container's children, scalars in a tight loop. */
    term_walk *w;
    t = NULL;
    size_t sum = *acc;
    while (!rc && !t && (w = term_stack_top(&st))) {
      const nodus_term *items = w->t->v.items;
      size_t i = w->i, end = w->end;
      while (i < end) {
        const nodus_term *c = &items[i++];
        bool leaf;
        if (c->type == NODUS_T_INT) {
          sum += int_size(c->v.i);
        } else if (c->type == NODUS_T_ATOM || c->type == NODUS_T_NIL ||
                   c->type == NODUS_T_BINARY) {
          if ((rc = size_head(e, c, &sum, &leaf))) break;
        } else {
          t = c;
          break;
        }
      }
      w->i = i;
      if (rc || t) break;
      int r = term_walk_segment_end(w, &t);
      if (r == TERM_WALK_DONE) term_stack_pop(&st);
    }
    *acc = sum;
    if (rc || !t) break;
  }
  term_stack_free(&st);
  return rc;
}

/* ---- write pass (the term was validated by etf_size) ------------------- */

static uint8_t *write_u64_le(uint8_t *p, uint64_t m, size_t k) {
  for (size_t i = 0; i < k; i++) *p++ = (uint8_t)(m >> (8 * i));
  return p;
}

/* A term's own bytes, without its children (as size_head says). */
TERM_HOT uint8_t *write_head(enc *e, const nodus_term *t, uint8_t *p,
                           bool *walk) {
  *walk = false;
  const atom_form *f;
  switch (t->type) {
    case NODUS_T_INT: {
      int64_t v = t->v.i;
      if (v >= 0 && v <= 255) {
        *p++ = ETF_SMALL_INTEGER;
        *p++ = (uint8_t)v;
      } else if (v >= INT32_MIN && v <= INT32_MAX) {
        *p++ = ETF_INTEGER;
        p = put32(p, (uint32_t)(int32_t)v);
      } else {
        uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        size_t k = int_mag_bytes(m);
        *p++ = ETF_SMALL_BIG;
        *p++ = (uint8_t)k;
        *p++ = v < 0;
        p = write_u64_le(p, m, k);
      }
      return p;
    }
    case NODUS_T_BIGINT: {
      const nodus_big *b = t->v.big;
      if (b->len <= 255) {
        *p++ = ETF_SMALL_BIG;
        *p++ = (uint8_t)b->len;
      } else {
        *p++ = ETF_LARGE_BIG;
        p = put32(p, b->len);
      }
      *p++ = b->negative ? 1 : 0;
      memcpy(p, b->mag, b->len);
      return p + b->len;
    }
    case NODUS_T_FLOAT: {
      uint64_t u;
      memcpy(&u, &t->v.f, sizeof u);
      *p++ = ETF_NEW_FLOAT;
      p = put32(p, (uint32_t)(u >> 32));
      return put32(p, (uint32_t)u);
    }
    case NODUS_T_ATOM:
      atom_form_cached(e, t->v.atom, &f);
      return write_atom(p, f);
    case NODUS_T_NIL: *p++ = ETF_NIL; return p;
    case NODUS_T_LIST: {
      uint64_t count;
      const nodus_term *tail = list_end(t, &count);
      assert(count > 0); /* skip_empty_lists */
      if (list_is_string(t, count, tail)) {
        *p++ = ETF_STRING;
        p = put16(p, (uint32_t)count);
        for (; t->type == NODUS_T_LIST; t = &t->v.items[t->n])
          for (uint32_t i = 0; i < t->n; i++) *p++ = (uint8_t)t->v.items[i].v.i;
        return p;
      }
      *p++ = ETF_LIST;
      *walk = true; /* the cells, then the tail */
      return put32(p, (uint32_t)count);
    }
    case NODUS_T_TUPLE:
      if (t->n <= 255) {
        *p++ = ETF_SMALL_TUPLE;
        *p++ = (uint8_t)t->n;
      } else {
        *p++ = ETF_LARGE_TUPLE;
        p = put32(p, t->n);
      }
      *walk = t->n > 0;
      return p;
    case NODUS_T_MAP:
      *p++ = ETF_MAP;
      *walk = t->n > 0;
      return put32(p, t->n);
    case NODUS_T_BINARY: {
      unsigned bits = t->flags & NODUS_TF_BITS_MASK;
      *p++ = bits ? ETF_BIT_BINARY : ETF_BINARY;
      p = put32(p, t->n);
      if (bits) *p++ = (uint8_t)bits;
      memcpy(p, t->v.bin->data, t->n);
      return p + t->n;
    }
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF: {
      const nodus_ident *id = t->v.id;
      atom_form_cached(e, id->node, &f);
      if (t->type == NODUS_T_PID) {
        *p++ = ETF_NEW_PID;
        p = write_atom(p, f);
        p = put32(p, id->w[0]);
        p = put32(p, id->w[1]);
      } else if (t->type == NODUS_T_PORT && port_needs_v4(id)) {
        *p++ = ETF_V4_PORT;
        p = write_atom(p, f);
        p = put32(p, id->w[1]);
        p = put32(p, id->w[0]);
      } else if (t->type == NODUS_T_PORT) {
        *p++ = ETF_NEW_PORT;
        p = write_atom(p, f);
        p = put32(p, id->w[0]);
      } else {
        *p++ = ETF_NEWER_REFERENCE;
        p = put16(p, id->len);
        p = write_atom(p, f);
        p = put32(p, id->creation);
        for (uint32_t i = 0; i < id->len; i++) p = put32(p, id->w[i]);
        return p;
      }
      return put32(p, id->creation);
    }
    case NODUS_T_FUN: {
      export_parts x;
      if (!export_parts_of(t, &x)) {
        memcpy(p, t->v.bin->data, t->n);
        return p + t->n;
      }
      *p++ = ETF_EXPORT;
      atom_form_cached(e, x.module, &f);
      p = write_atom(p, f);
      atom_form_cached(e, x.function, &f);
      p = write_atom(p, f);
      *p++ = ETF_SMALL_INTEGER;
      *p++ = x.arity;
      return p;
    }
    default: return p; /* unreachable after etf_size */
  }
}

/* As etf_size: depth first, a stack of walks, a nested call only when
 * the stack finds no memory. The children of the innermost container go
 * in a tight loop until one of them is a container to walk in turn. */
static uint8_t *etf_write(enc *e, const nodus_term *t, uint8_t *p) {
  term_walk local[TERM_STACK_LOCAL];
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  for (;;) {
    bool walk;
    p = write_head(e, skip_empty_lists(t), p, &walk);
    if (walk) {
      term_walk *w = term_stack_push(&st);
      if (w) {
        term_walk_init(w, skip_empty_lists(t));
      } else {
        term_walk here;
        term_walk_init(&here, skip_empty_lists(t));
        for (const nodus_term *c; (c = term_walk_next(&here));)
          p = etf_write(e, c, p);
      }
    }
    term_walk *w;
    t = NULL;
    while (!t && (w = term_stack_top(&st))) {
      const nodus_term *items = w->t->v.items;
      size_t i = w->i, end = w->end;
      while (i < end) {
        const nodus_term *c = &items[i++];
        bool leaf;
        if (c->type == NODUS_T_INT && (uint64_t)c->v.i <= 255) {
          *p++ = ETF_SMALL_INTEGER; /* the common element, inline */
          *p++ = (uint8_t)c->v.i;
        } else if (c->type == NODUS_T_ATOM || c->type == NODUS_T_NIL ||
                   c->type == NODUS_T_BINARY) {
          p = write_head(e, c, p, &leaf);
        } else {
          t = c;
          break;
        }
      }
      w->i = i;
      if (t) break;
      int r = term_walk_segment_end(w, &t);
      if (r == TERM_WALK_DONE) term_stack_pop(&st);
    }
    if (!t) break;
  }
  term_stack_free(&st);
  return p;
}

/* ---- public ------------------------------------------------------------ */

/* Size pass with the version byte. */
static int size_with(enc *e, const nodus_term *t, size_t *size) {
  size_t acc = 1;
  int rc = etf_size(e, t, &acc);
  if (rc == 0) *size = acc;
  return rc;
}

static size_t write_with(enc *e, const nodus_term *t, uint8_t *dst) {
  dst[0] = NODUS_ETF_VERSION;
  return (size_t)(etf_write(e, t, dst + 1) - dst);
}

int nodus_etf_size(const nodus_term *t, const nodus_encode_opts *opts,
                   size_t *size) {
  int minor, rc;
  if (!t || !size) return NODUS_EINVAL;
  if ((rc = opts_minor(opts, &minor))) return rc;
  enc e;
  enc_init(&e, minor);
  return size_with(&e, t, size);
}

size_t nodus_etf_encode_into(const nodus_term *t,
                             const nodus_encode_opts *opts, uint8_t *dst) {
  int minor;
  if (opts_minor(opts, &minor)) return 0;
  enc e;
  enc_init(&e, minor);
  return write_with(&e, t, dst);
}

/* Replaces *buf (the plain encoding, *len bytes) with its compressed form
 * when OTP would: zlib output of at most body - 5 bytes, where body is the
 * encoding without version byte. Otherwise leaves it alone. */
static int maybe_compress(uint8_t **buf, size_t *len, int level) {
  size_t body = *len - 1;
  if (body <= 5 || body > UINT32_MAX) return 0;
  uLongf zlen = (uLongf)(body - 5);
  uint8_t *out = malloc(6 + (size_t)zlen);
  if (!out) return NODUS_ENOMEM;
  int zr = compress2(out + 6, &zlen, *buf + 1, (uLong)body, level);
  if (zr == Z_BUF_ERROR) { /* does not save enough: keep it plain */
    free(out);
    return 0;
  }
  if (zr != Z_OK) {
    free(out);
    return zr == Z_MEM_ERROR ? NODUS_ENOMEM : NODUS_EZLIB;
  }
  out[0] = NODUS_ETF_VERSION;
  out[1] = ETF_COMPRESSED;
  put32(out + 2, (uint32_t)body);
  free(*buf);
  *buf = out;
  *len = 6 + (size_t)zlen;
  return 0;
}

int nodus_etf_encode(const nodus_term *t, const nodus_encode_opts *opts,
                     uint8_t **out, size_t *len) {
  if (!out || !len) return NODUS_EINVAL;
  int level = opts ? opts->compressed : 0;
  if (level < -1 || level > 9) return NODUS_EINVAL;
  int minor, rc;
  if (!t || (rc = opts_minor(opts, &minor))) return t ? rc : NODUS_EINVAL;
  enc e; /* one state for both passes: atoms are looked at once */
  enc_init(&e, minor);
  size_t size;
  if ((rc = size_with(&e, t, &size))) return rc;
  uint8_t *buf = malloc(size);
  if (!buf) return NODUS_ENOMEM;
  size_t n = write_with(&e, t, buf);
  if (level > 0 && (rc = maybe_compress(&buf, &n, level))) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = n;
  return 0;
}

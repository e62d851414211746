/* Term construction, inspection, copy and free. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "term_internal.h"
#include "term_stack.h"

/* ---- refcounted payloads ----------------------------------------------- */

nodus_bin *term_bin_alloc(size_t size) {
  nodus_bin *b = malloc(sizeof *b + size);
  if (!b) return NULL;
  b->refs = 1;
  b->reserved = 0;
  b->size = size;
  return b;
}

void term_bin_retain(nodus_bin *b) {
  atomic_fetch_add_explicit((_Atomic uint32_t *)&b->refs, 1,
                            memory_order_relaxed);
}

void term_bin_release(nodus_bin *b) {
  if (atomic_fetch_sub_explicit((_Atomic uint32_t *)&b->refs, 1,
                                memory_order_acq_rel) == 1)
    free(b);
}

nodus_big *term_big_alloc(size_t len) {
  if (len > UINT32_MAX) return NULL;
  nodus_big *b = calloc(1, sizeof *b + len);
  if (!b) return NULL;
  b->refs = 1;
  b->len = (uint32_t)len;
  return b;
}

void term_big_retain(nodus_big *b) {
  atomic_fetch_add_explicit((_Atomic uint32_t *)&b->refs, 1,
                            memory_order_relaxed);
}

void term_big_release(nodus_big *b) {
  if (atomic_fetch_sub_explicit((_Atomic uint32_t *)&b->refs, 1,
                                memory_order_acq_rel) == 1)
    free(b);
}

nodus_term *term_items_alloc(size_t n) {
  if (n > UINT32_MAX) return NULL;
  return calloc(n ? n : 1, sizeof(nodus_term));
}

int term_big_normalize(nodus_big *big, nodus_term *out) {
  while (big->len > 0 && big->mag[big->len - 1] == 0) big->len--;
  if (big->len <= 8) {
    uint64_t m = 0;
    for (uint32_t i = big->len; i-- > 0;) m = (m << 8) | big->mag[i];
    bool fits = big->negative ? m <= (uint64_t)INT64_MAX + 1
                              : m <= (uint64_t)INT64_MAX;
    if (fits) {
      int64_t v = big->negative ? (int64_t)(0 - m) : (int64_t)m;
      term_big_release(big);
      *out = nodus_int(v);
      return 0;
    }
  }
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_BIGINT;
  out->v.big = big;
  return 0;
}

/* ---- construction ------------------------------------------------------ */

int nodus_mk_atom(nodus_term *out, const char *utf8) {
  nodus_atom a;
  int rc = nodus_atom_intern(utf8, utf8 ? strlen(utf8) : 0, &a);
  if (rc) return rc;
  *out = nodus_atom_term(a);
  return 0;
}

int nodus_mk_integer(nodus_term *out, bool negative, const uint8_t *le_mag,
                     size_t len) {
  nodus_big *big = term_big_alloc(len);
  if (!big) return NODUS_ENOMEM;
  if (len) memcpy(big->mag, le_mag, len);
  big->negative = negative;
  return term_big_normalize(big, out);
}

int nodus_mk_uint64(nodus_term *out, uint64_t v) {
  uint8_t mag[8];
  for (int i = 0; i < 8; i++) mag[i] = (uint8_t)(v >> (8 * i));
  return nodus_mk_integer(out, false, mag, 8);
}

int nodus_mk_binary(nodus_term *out, const void *data, size_t len) {
  return nodus_mk_bitstring(out, data, len * 8);
}

int nodus_mk_bitstring(nodus_term *out, const void *data, size_t nbits) {
  size_t bytes = (nbits + 7) / 8;
  if (bytes > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_bin *b = term_bin_alloc(bytes);
  if (!b) return NODUS_ENOMEM;
  if (bytes) memcpy(b->data, data, bytes);
  unsigned tail = (unsigned)(nbits % 8);
  if (tail) b->data[bytes - 1] &= (uint8_t)(0xFF << (8 - tail));
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_BINARY;
  out->flags = (uint8_t)tail;
  out->n = (uint32_t)bytes;
  out->v.bin = b;
  return 0;
}

int nodus_mk_string(nodus_term *out, const char *utf8, size_t len) {
  long count = term_utf8_count((const uint8_t *)utf8, len);
  if (count < 0) return NODUS_EINVAL;
  if (count == 0) {
    *out = nodus_nil();
    return 0;
  }
  int rc = nodus_mk_list(out, (size_t)count);
  if (rc) return rc;
  size_t i = 0;
  for (long k = 0; k < count; k++) {
    uint32_t cp;
    i += (size_t)term_utf8_decode((const uint8_t *)utf8 + i, len - i, &cp);
    out->v.items[k] = nodus_int(cp);
  }
  return 0;
}

static int mk_items(nodus_term *out, nodus_type type, size_t n, size_t slots) {
  if (n > UINT32_MAX) return NODUS_ETOOBIG;
  nodus_term *items = term_items_alloc(slots);
  if (!items) return NODUS_ENOMEM;
  memset(out, 0, sizeof *out);
  out->type = (uint8_t)type;
  out->n = (uint32_t)n;
  out->v.items = items;
  return 0;
}

int nodus_mk_tuple(nodus_term *out, size_t arity) {
  return mk_items(out, NODUS_T_TUPLE, arity, arity);
}

int nodus_mk_list(nodus_term *out, size_t len) {
  if (len == 0) {
    *out = nodus_nil();
    return 0;
  }
  int rc = mk_items(out, NODUS_T_LIST, len, len + 1);
  if (rc == 0) out->v.items[len] = nodus_nil();
  return rc;
}

int nodus_mk_map(nodus_term *out) {
  int rc = mk_items(out, NODUS_T_MAP, 0, 0);
  if (rc == 0) out->flags = NODUS_TF_MAP_SORTED;
  return rc;
}

static int mk_ident(nodus_term *out, nodus_type type, nodus_atom node,
                    uint32_t creation) {
  nodus_ident *id = calloc(1, sizeof *id);
  if (!id) return NODUS_ENOMEM;
  id->node = node;
  id->creation = creation;
  memset(out, 0, sizeof *out);
  out->type = (uint8_t)type;
  out->v.id = id;
  return 0;
}

int nodus_mk_pid(nodus_term *out, nodus_atom node, uint32_t id,
                 uint32_t serial, uint32_t creation) {
  int rc = mk_ident(out, NODUS_T_PID, node, creation);
  if (rc) return rc;
  out->v.id->len = 2;
  out->v.id->w[0] = id;
  out->v.id->w[1] = serial;
  return 0;
}

int nodus_mk_port(nodus_term *out, nodus_atom node, uint64_t id,
                  uint32_t creation) {
  int rc = mk_ident(out, NODUS_T_PORT, node, creation);
  if (rc) return rc;
  out->v.id->len = 2;
  out->v.id->w[0] = (uint32_t)id;
  out->v.id->w[1] = (uint32_t)(id >> 32);
  if (id > 0x0FFFFFFFu) out->flags = NODUS_TF_ID_V4; /* as OTP 25 encodes */
  return 0;
}

int nodus_mk_ref(nodus_term *out, nodus_atom node, uint32_t creation,
                 const uint32_t *words, size_t nwords) {
  if (nwords < 1 || nwords > 5) return NODUS_EINVAL;
  int rc = mk_ident(out, NODUS_T_REF, node, creation);
  if (rc) return rc;
  out->v.id->len = (uint32_t)nwords;
  memcpy(out->v.id->w, words, nwords * sizeof *words);
  return 0;
}

int nodus_mk_export_fun(nodus_term *out, nodus_atom module, nodus_atom fun,
                        uint8_t arity) {
  /* Kept as its own EXPORT_EXT bytes, like every fun. */
  nodus_term parts[2] = {nodus_atom_term(module), nodus_atom_term(fun)};
  size_t sizes[2];
  for (int i = 0; i < 2; i++) {
    int rc = nodus_etf_size(&parts[i], NULL, &sizes[i]);
    if (rc) return rc;
    sizes[i] -= 1; /* no version byte */
  }
  nodus_bin *b = term_bin_alloc(1 + sizes[0] + sizes[1] + 2);
  if (!b) return NODUS_ENOMEM;
  uint8_t tmp[1 + 4 * NODUS_ATOM_MAX_CHARS + 8];
  size_t off = 0;
  b->data[off++] = 113; /* EXPORT_EXT */
  for (int i = 0; i < 2; i++) {
    nodus_etf_encode_into(&parts[i], NULL, tmp);
    memcpy(b->data + off, tmp + 1, sizes[i]);
    off += sizes[i];
  }
  b->data[off++] = 97; /* SMALL_INTEGER_EXT */
  b->data[off++] = arity;
  memset(out, 0, sizeof *out);
  out->type = NODUS_T_FUN;
  out->flags = NODUS_TF_FUN_EXPORT;
  out->n = (uint32_t)off;
  out->v.bin = b;
  return 0;
}

/* ---- setters ----------------------------------------------------------- */

void nodus_tuple_set(nodus_term *tuple, size_t i, nodus_term elem) {
  if (tuple->type != NODUS_T_TUPLE || i >= tuple->n) {
    nodus_term_free(&elem);
    return;
  }
  nodus_term_free(&tuple->v.items[i]);
  tuple->v.items[i] = elem;
}

void nodus_list_set(nodus_term *list, size_t i, nodus_term elem) {
  if (list->type != NODUS_T_LIST || i >= list->n) {
    nodus_term_free(&elem);
    return;
  }
  nodus_term_free(&list->v.items[i]);
  list->v.items[i] = elem;
}

void nodus_list_set_tail(nodus_term *list, nodus_term tail) {
  if (list->type != NODUS_T_LIST) {
    nodus_term_free(&tail);
    return;
  }
  nodus_term_free(&list->v.items[list->n]);
  list->v.items[list->n] = tail;
}

/* Binary search in a sorted map; returns the pair index or the insertion
 * point with *found false. */
static size_t map_search(const nodus_term *map, const nodus_term *key,
                         bool *found) {
  size_t lo = 0, hi = map->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = nodus_compare_exact(&map->v.items[2 * mid], key);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

int nodus_map_put(nodus_term *map, nodus_term key, nodus_term value) {
  int rc = 0;
  if (map->type != NODUS_T_MAP) {
    rc = NODUS_EBADTYPE;
    goto fail;
  }
  if (!(map->flags & NODUS_TF_MAP_SORTED) && (rc = term_map_sort(map)))
    goto fail;
  bool found;
  size_t at = map_search(map, &key, &found);
  if (found) {
    nodus_term_free(&key);
    nodus_term_free(&map->v.items[2 * at + 1]);
    map->v.items[2 * at + 1] = value;
    return 0;
  }
  if (map->n >= UINT32_MAX / 2) {
    rc = NODUS_ETOOBIG;
    goto fail;
  }
  nodus_term *items =
      realloc(map->v.items, (size_t)(map->n + 1) * 2 * sizeof(nodus_term));
  if (!items) {
    rc = NODUS_ENOMEM;
    goto fail;
  }
  memmove(items + 2 * at + 2, items + 2 * at,
          (size_t)(map->n - at) * 2 * sizeof(nodus_term));
  items[2 * at] = key;
  items[2 * at + 1] = value;
  map->v.items = items;
  map->n++;
  return 0;
fail:
  nodus_term_free(&key);
  nodus_term_free(&value);
  return rc;
}

/* ---- inspection -------------------------------------------------------- */

bool nodus_is_atom(const nodus_term *t, const char *name) {
  if (t->type != NODUS_T_ATOM) return false;
  size_t len;
  const char *s = nodus_atom_text(t->v.atom, &len);
  return s && strlen(name) == len && memcmp(s, name, len) == 0;
}

bool nodus_is_proper_list(const nodus_term *t) {
  if (t->type == NODUS_T_NIL) return true;
  return t->type == NODUS_T_LIST && t->v.items[t->n].type == NODUS_T_NIL;
}

int nodus_get_int64(const nodus_term *t, int64_t *out) {
  if (t->type == NODUS_T_INT) {
    *out = t->v.i;
    return 0;
  }
  return t->type == NODUS_T_BIGINT ? NODUS_ERANGE : NODUS_EBADTYPE;
}

int nodus_get_double(const nodus_term *t, double *out) {
  if (t->type != NODUS_T_FLOAT) return NODUS_EBADTYPE;
  *out = t->v.f;
  return 0;
}

const nodus_term *nodus_tuple_elem(const nodus_term *t, size_t i) {
  return t->type == NODUS_T_TUPLE && i < t->n ? &t->v.items[i] : NULL;
}

const nodus_term *nodus_list_item(const nodus_term *t, size_t i) {
  return t->type == NODUS_T_LIST && i < t->n ? &t->v.items[i] : NULL;
}

const nodus_term *nodus_list_tail(const nodus_term *t) {
  return t->type == NODUS_T_LIST ? &t->v.items[t->n] : NULL;
}

size_t nodus_size(const nodus_term *t) {
  switch (t->type) {
    case NODUS_T_TUPLE:
    case NODUS_T_LIST:
    case NODUS_T_MAP:
    case NODUS_T_BINARY: return t->n;
    default: return 0;
  }
}

const nodus_term *nodus_map_get(const nodus_term *map, const nodus_term *key) {
  if (map->type != NODUS_T_MAP) return NULL;
  if (map->flags & NODUS_TF_MAP_SORTED) {
    bool found;
    size_t at = map_search(map, key, &found);
    return found ? &map->v.items[2 * at + 1] : NULL;
  }
  for (uint32_t i = 0; i < map->n; i++)
    if (nodus_compare_exact(&map->v.items[2 * i], key) == 0)
      return &map->v.items[2 * i + 1];
  return NULL;
}

const nodus_term *nodus_map_key(const nodus_term *map, size_t i) {
  return map->type == NODUS_T_MAP && i < map->n ? &map->v.items[2 * i] : NULL;
}

const nodus_term *nodus_map_value(const nodus_term *map, size_t i) {
  return map->type == NODUS_T_MAP && i < map->n ? &map->v.items[2 * i + 1]
                                                : NULL;
}

const uint8_t *nodus_bin_data(const nodus_term *t, size_t *nbytes,
                              size_t *nbits) {
  if (t->type != NODUS_T_BINARY) return NULL;
  unsigned tail = t->flags & NODUS_TF_BITS_MASK;
  if (nbytes) *nbytes = t->n;
  if (nbits) *nbits = tail ? ((size_t)t->n - 1) * 8 + tail : (size_t)t->n * 8;
  return t->v.bin->data;
}

/* ---- copy and free ----------------------------------------------------- */

static size_t item_slots(const nodus_term *t) {
  switch (t->type) {
    case NODUS_T_TUPLE: return t->n;
    case NODUS_T_LIST: return (size_t)t->n + 1;
    case NODUS_T_MAP: return (size_t)t->n * 2;
    default: return 0;
  }
}

/* Whether a term of this type owns heap parts. */
static inline bool owns_heap(uint8_t type) {
  return !(type == NODUS_T_NONE || type == NODUS_T_INT ||
           type == NODUS_T_FLOAT || type == NODUS_T_ATOM ||
           type == NODUS_T_NIL);
}

static inline bool has_items(uint8_t type) {
  return type == NODUS_T_TUPLE || type == NODUS_T_LIST || type == NODUS_T_MAP;
}

static void free_leaf(nodus_term *t) {
  switch (t->type) {
    case NODUS_T_BIGINT: term_big_release(t->v.big); break;
    case NODUS_T_BINARY:
    case NODUS_T_FUN: term_bin_release(t->v.bin); break;
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF: free(t->v.id); break;
    default: break;
  }
}

/* The containers still to free wait in the item arrays being freed, so
 * freeing takes no memory and no recursion, however deep the term: each
 * array's containers are packed behind its slot 0, which links to the
 * array that waited before it. A count of up to 48 bits fits n and
 * reserved. */
static void chain_set(nodus_term *slot0, nodus_term *next, size_t count) {
  slot0->v.items = next;
  slot0->n = (uint32_t)count;
  slot0->reserved = (uint16_t)((uint64_t)count >> 32);
}

static size_t chain_count(const nodus_term *slot0) {
  return (size_t)((uint64_t)slot0->reserved << 32 | slot0->n);
}

void nodus_term_free(nodus_term *t) {
  if (!t) return;
  if (!has_items(t->type)) {
    free_leaf(t);
    memset(t, 0, sizeof *t);
    return;
  }
  nodus_term cur = *t, *waiting = NULL;
  memset(t, 0, sizeof *t);
  for (;;) {
    nodus_term *a = cur.v.items;
    size_t n = item_slots(&cur), w = n;
    /* Leaves go now (a list of 1,000 integers is one free()); the
     * containers move to the end, a[w..n). */
    for (size_t i = n; i-- > 0;) {
      uint8_t type = a[i].type;
      if (type < NODUS_T_BIGINT || !owns_heap(type)) continue; /* scalars */
      if (has_items(type)) a[--w] = a[i];
      else free_leaf(&a[i]);
    }
    if (w < n) { /* the first goes next, the rest wait behind slot 0 */
      cur = a[w++];
      memmove(a + 1, a + w, (n - w) * sizeof *a);
      chain_set(&a[0], waiting, n - w);
      waiting = a;
      continue;
    }
    free(a);
    for (;;) {
      if (!waiting) return;
      size_t count = chain_count(&waiting[0]);
      if (count) {
        cur = waiting[count];
        chain_set(&waiting[0], waiting[0].v.items, count - 1);
        break;
      }
      nodus_term *next = waiting[0].v.items;
      free(waiting);
      waiting = next;
    }
  }
}

TERM_HOT int copy_leaf(nodus_term *dst, const nodus_term *src) {
  *dst = *src;
  switch (src->type) {
    case NODUS_T_BIGINT: term_big_retain(src->v.big); return 0;
    case NODUS_T_BINARY:
    case NODUS_T_FUN: term_bin_retain(src->v.bin); return 0;
    case NODUS_T_PID:
    case NODUS_T_PORT:
    case NODUS_T_REF:
      dst->v.id = malloc(sizeof *dst->v.id);
      if (!dst->v.id) {
        memset(dst, 0, sizeof *dst);
        return NODUS_ENOMEM;
      }
      *dst->v.id = *src->v.id;
      return 0;
    default: return 0;
  }
}

/* dst gets src's shape and a zeroed item array of its own. */
static int copy_shell(nodus_term *dst, const nodus_term *src) {
  *dst = *src;
  dst->v.items = term_items_alloc(item_slots(src));
  if (!dst->v.items) {
    memset(dst, 0, sizeof *dst);
    return NODUS_ENOMEM;
  }
  return 0;
}

typedef struct copy_frame {
  const nodus_term *src;
  nodus_term *dst;
  size_t i, n;
} copy_frame;

/* Depth first with a stack of our own (term_stack.h). The copy's arrays
 * are zeroed, so on failure what was built so far frees cleanly. */
int nodus_copy(nodus_term *dst, const nodus_term *src) {
  if (!has_items(src->type)) return copy_leaf(dst, src);
  int rc = copy_shell(dst, src);
  if (rc) return rc;
  copy_frame local[TERM_STACK_LOCAL], *f;
  term_stack st;
  term_stack_init(&st, local, TERM_STACK_LOCAL, sizeof *local);
  f = term_stack_push(&st);
  *f = (copy_frame){src, dst, 0, item_slots(src)};
  while ((f = term_stack_top(&st))) {
    if (f->i == f->n) {
      term_stack_pop(&st);
      continue;
    }
    const nodus_term *s = &f->src->v.items[f->i];
    nodus_term *d = &f->dst->v.items[f->i++];
    if (!has_items(s->type)) {
      if ((rc = copy_leaf(d, s))) break;
      continue;
    }
    if ((rc = copy_shell(d, s))) break;
    if (!(f = term_stack_push(&st))) {
      rc = NODUS_ENOMEM;
      break;
    }
    *f = (copy_frame){s, d, 0, item_slots(s)};
  }
  term_stack_free(&st);
  if (rc) nodus_term_free(dst);
  return rc;
}

/* The process-wide atom table.
 *
 * Entries live in fixed chunks that never move, so reading an atom's text
 * needs no lock: an index below the published count always points at a
 * finished entry. Looking an atom up needs no lock either: the hash of
 * indices is a table published with release order and, when it grows,
 * replaced but never freed (atoms are never freed either), so a reader
 * holding an old table still reads valid memory. A reader that misses in
 * a stale table retries under the mutex, which interning always takes.
 *
 * Atoms made from a peer's bytes (the ETF decoder) stop short of the
 * limit by a reserve, so a peer that fills the table with fresh atoms
 * cannot keep the node from naming a new node or making its own atoms. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "term_internal.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS 4096 /* 16,777,216 atoms at most */

typedef struct atom_entry {
  uint32_t len;
  uint32_t hash;
  char *text;
  int32_t latin1_len; /* characters if all are <= 255, else -1 */
} atom_entry;

/* An open-addressing hash of atom indices (index + 1; 0 = empty). */
typedef struct slot_table {
  struct slot_table *retired; /* the table this one replaced */
  size_t n;                   /* a power of two */
  _Atomic uint32_t s[];
} slot_table;

static atom_entry *chunks[MAX_CHUNKS];
static _Atomic uint32_t published; /* entries readable without the lock */
static _Atomic size_t limit = NODUS_ATOM_TABLE_DEFAULT_LIMIT;
/* Atoms only the node itself may create (node names after a handshake,
 * its own atoms): wire data stops at limit - reserve. 0 until set: then
 * limit / 16. */
static _Atomic size_t reserve_set;
static slot_table *_Atomic table;
static _Atomic uint64_t wire_refused; /* new atoms refused to wire data */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t hash_text(const char *s, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

/* How many latin-1 characters the UTF-8 text is, or -1 when a code point
 * is above 255 (lead bytes 0xC4 and up). The encoder's ATOM_EXT choice. */
static int32_t latin1_length(const char *s, size_t len) {
  int32_t chars = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    if (c >= 0xC4) return -1;
    if ((c & 0xC0) != 0x80) chars++;
  }
  return chars;
}

static atom_entry *entry_at(uint32_t i) {
  return &chunks[i >> CHUNK_BITS][i & (CHUNK_SIZE - 1)];
}

/* Under the lock: a table twice the size with every atom, published. */
static int grow_table(void) {
  slot_table *old = atomic_load_explicit(&table, memory_order_relaxed);
  size_t n = old ? old->n * 2 : 8192;
  slot_table *t = calloc(1, sizeof *t + n * sizeof t->s[0]);
  if (!t) return NODUS_ENOMEM;
  t->n = n;
  t->retired = old;
  uint32_t count = atomic_load_explicit(&published, memory_order_relaxed);
  for (uint32_t i = 0; i < count; i++) {
    size_t j = entry_at(i)->hash & (n - 1);
    while (atomic_load_explicit(&t->s[j], memory_order_relaxed))
      j = (j + 1) & (n - 1);
    atomic_store_explicit(&t->s[j], i + 1, memory_order_relaxed);
  }
  atomic_store_explicit(&table, t, memory_order_release);
  return 0;
}

/* Probes t for text: the slot holding it, or the empty slot ending the
 * run. Safe without the lock. */
static size_t probe(const slot_table *t, const char *s, size_t len,
                    uint32_t h, uint32_t *found) {
  size_t j = h & (t->n - 1);
  for (;;) {
    uint32_t v = atomic_load_explicit(&t->s[j], memory_order_acquire);
    if (!v) break;
    atom_entry *e = entry_at(v - 1);
    if (e->hash == h && e->len == len && memcmp(e->text, s, len) == 0) {
      *found = v;
      return j;
    }
    j = (j + 1) & (t->n - 1);
  }
  *found = 0;
  return j;
}

static bool lookup_fast(const char *s, size_t len, uint32_t h,
                        nodus_atom *out) {
  slot_table *t = atomic_load_explicit(&table, memory_order_acquire);
  uint32_t v;
  if (!t) return false;
  probe(t, s, len, h, &v);
  if (v) *out = v - 1;
  return v != 0;
}

static size_t reserve_of(size_t lim) {
  size_t r = atomic_load_explicit(&reserve_set, memory_order_relaxed);
  return r ? (r < lim ? r : lim) : lim / 16;
}

/* max: how many atoms the table may hold after this one is added. */
static int insert_locked(const char *s, size_t len, size_t max,
                         nodus_atom *out) {
  uint32_t h = hash_text(s, len), v;
  slot_table *t = atomic_load_explicit(&table, memory_order_relaxed);
  size_t j = probe(t, s, len, h, &v);
  if (v) {
    *out = v - 1;
    return 0;
  }
  uint32_t count = atomic_load_explicit(&published, memory_order_relaxed);
  if (count >= max) return NODUS_EATOMTABLE;
  if ((size_t)(count + 1) * 2 > t->n) {
    int rc = grow_table();
    if (rc) return rc;
    t = atomic_load_explicit(&table, memory_order_relaxed);
    j = probe(t, s, len, h, &v);
  }
  atom_entry *chunk = chunks[count >> CHUNK_BITS];
  if (!chunk) {
    chunk = calloc(CHUNK_SIZE, sizeof *chunk);
    if (!chunk) return NODUS_ENOMEM;
    chunks[count >> CHUNK_BITS] = chunk;
  }
  char *text = malloc(len + 1);
  if (!text) return NODUS_ENOMEM;
  memcpy(text, s, len);
  text[len] = 0;
  atom_entry *e = entry_at(count);
  e->len = (uint32_t)len;
  e->hash = h;
  e->text = text;
  e->latin1_len = latin1_length(text, len);
  /* The entry first, then the count and the slot that make it visible. */
  atomic_store_explicit(&published, count + 1, memory_order_release);
  atomic_store_explicit(&t->s[j], count + 1, memory_order_release);
  *out = count;
  return 0;
}

static void table_init(void) {
  static const char *const well_known[NODUS_ATOM_WELL_KNOWN_COUNT] = {
      "", "true", "false", "ok", "error", "undefined", "nonode@nohost"};
  nodus_atom a;
  pthread_mutex_lock(&lock);
  if (grow_table() == 0) /* else every call says ENOMEM */
    for (int i = 0; i < NODUS_ATOM_WELL_KNOWN_COUNT; i++)
      (void)insert_locked(well_known[i], strlen(well_known[i]), SIZE_MAX, &a);
  pthread_mutex_unlock(&lock);
}

static int check_text(const char *s, size_t len) {
  if (!s && len) return NODUS_EINVAL;
  if (len > NODUS_ATOM_MAX_CHARS * 4) return NODUS_EBADATOM;
  long n = term_utf8_count((const uint8_t *)s, len);
  if (n < 0 || n > NODUS_ATOM_MAX_CHARS) return NODUS_EBADATOM;
  return 0;
}

static int intern_upto(const char *utf8, size_t len, bool wire,
                       nodus_atom *out) {
  pthread_once(&once, table_init);
  if (utf8 && lookup_fast(utf8, len, hash_text(utf8, len), out)) return 0;
  int rc = check_text(utf8, len);
  if (rc) return rc;
  pthread_mutex_lock(&lock);
  size_t lim = atomic_load_explicit(&limit, memory_order_relaxed);
  size_t max = wire ? lim - reserve_of(lim) : lim;
  rc = atomic_load_explicit(&table, memory_order_relaxed)
           ? insert_locked(utf8, len, max, out)
           : NODUS_ENOMEM;
  pthread_mutex_unlock(&lock);
  if (rc == NODUS_EATOMTABLE && wire)
    atomic_fetch_add_explicit(&wire_refused, 1, memory_order_relaxed);
  return rc;
}

int nodus_atom_intern(const char *utf8, size_t len, nodus_atom *out) {
  return intern_upto(utf8, len, false, out);
}

int term_atom_intern_wire(const char *utf8, size_t len, nodus_atom *out) {
  return intern_upto(utf8, len, true, out);
}

int nodus_atom_lookup(const char *utf8, size_t len, nodus_atom *out) {
  pthread_once(&once, table_init);
  if (!utf8 && len) return NODUS_EINVAL;
  uint32_t h = hash_text(utf8, len);
  if (lookup_fast(utf8, len, h, out)) return 0;
  /* A miss may come from a table replaced meanwhile: ask again under the
   * lock, which sees the latest table. */
  pthread_mutex_lock(&lock);
  bool hit = lookup_fast(utf8, len, h, out);
  pthread_mutex_unlock(&lock);
  if (hit) return 0;
  return atomic_load_explicit(&table, memory_order_relaxed) ? NODUS_ENOMATCH
                                                            : NODUS_ENOMEM;
}

const char *nodus_atom_text(nodus_atom a, size_t *len) {
  pthread_once(&once, table_init);
  if (a >= atomic_load_explicit(&published, memory_order_acquire)) {
    if (len) *len = 0;
    return NULL;
  }
  atom_entry *e = entry_at(a);
  if (len) *len = e->len;
  return e->text;
}

const char *term_atom_info(nodus_atom a, size_t *len, int32_t *latin1_len) {
  pthread_once(&once, table_init);
  if (a >= atomic_load_explicit(&published, memory_order_acquire)) return NULL;
  atom_entry *e = entry_at(a);
  *len = e->len;
  *latin1_len = e->latin1_len;
  return e->text;
}

size_t nodus_atom_count(void) {
  pthread_once(&once, table_init);
  return atomic_load_explicit(&published, memory_order_acquire);
}

int nodus_atom_set_limit(size_t new_limit) {
  pthread_once(&once, table_init);
  if (new_limit > (size_t)MAX_CHUNKS * CHUNK_SIZE) return NODUS_ERANGE;
  int rc = 0;
  pthread_mutex_lock(&lock);
  if (new_limit < atomic_load_explicit(&published, memory_order_relaxed))
    rc = NODUS_EINVAL;
  else
    atomic_store_explicit(&limit, new_limit, memory_order_relaxed);
  pthread_mutex_unlock(&lock);
  return rc;
}

int nodus_atom_set_reserve(size_t reserve) {
  pthread_once(&once, table_init);
  pthread_mutex_lock(&lock);
  atomic_store_explicit(&reserve_set, reserve, memory_order_relaxed);
  pthread_mutex_unlock(&lock);
  return 0;
}

void nodus_atom_stats(nodus_atom_table_stats *st) {
  pthread_once(&once, table_init);
  size_t lim = atomic_load_explicit(&limit, memory_order_relaxed);
  st->count = atomic_load_explicit(&published, memory_order_acquire);
  st->limit = lim;
  st->reserve = reserve_of(lim);
  st->wire_refused =
      atomic_load_explicit(&wire_refused, memory_order_relaxed);
}

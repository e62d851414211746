/* The process-wide atom table.
 *
 * Entries live in fixed chunks that never move, so reading an atom's text
 * needs no lock: an index below the published count always points at a
 * finished entry. Interning takes a mutex and looks the text up in an
 * open-addressing hash of indices. */
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
} atom_entry;

static atom_entry *chunks[MAX_CHUNKS];
static _Atomic uint32_t published; /* entries readable without the lock */
static size_t limit = NODUS_ATOM_TABLE_DEFAULT_LIMIT;
static uint32_t *slots; /* index + 1; 0 = empty */
static size_t nslots;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t hash_text(const char *s, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static atom_entry *entry_at(uint32_t i) {
  return &chunks[i >> CHUNK_BITS][i & (CHUNK_SIZE - 1)];
}

static int grow_slots(void) {
  size_t n = nslots ? nslots * 2 : 8192;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return NODUS_ENOMEM;
  uint32_t count = atomic_load_explicit(&published, memory_order_relaxed);
  for (uint32_t i = 0; i < count; i++) {
    size_t j = entry_at(i)->hash & (n - 1);
    while (s[j]) j = (j + 1) & (n - 1);
    s[j] = i + 1;
  }
  free(slots);
  slots = s;
  nslots = n;
  return 0;
}

/* Finds text; returns its slot position (empty slot when absent). */
static size_t find_slot(const char *s, size_t len, uint32_t h) {
  size_t j = h & (nslots - 1);
  while (slots[j]) {
    atom_entry *e = entry_at(slots[j] - 1);
    if (e->hash == h && e->len == len && memcmp(e->text, s, len) == 0) break;
    j = (j + 1) & (nslots - 1);
  }
  return j;
}

static int insert_locked(const char *s, size_t len, nodus_atom *out) {
  uint32_t h = hash_text(s, len);
  size_t j = find_slot(s, len, h);
  if (slots[j]) {
    *out = slots[j] - 1;
    return 0;
  }
  uint32_t count = atomic_load_explicit(&published, memory_order_relaxed);
  if (count >= limit) return NODUS_EATOMTABLE;
  if ((size_t)(count + 1) * 2 > nslots) {
    int rc = grow_slots();
    if (rc) return rc;
    j = find_slot(s, len, h);
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
  slots[j] = count + 1;
  atomic_store_explicit(&published, count + 1, memory_order_release);
  *out = count;
  return 0;
}

static void table_init(void) {
  static const char *const well_known[NODUS_ATOM_WELL_KNOWN_COUNT] = {
      "", "true", "false", "ok", "error", "undefined", "nonode@nohost"};
  nodus_atom a;
  pthread_mutex_lock(&lock);
  if (grow_slots()) { /* every call will say ENOMEM */
    pthread_mutex_unlock(&lock);
    return;
  }
  for (int i = 0; i < NODUS_ATOM_WELL_KNOWN_COUNT; i++)
    (void)insert_locked(well_known[i], strlen(well_known[i]), &a);
  pthread_mutex_unlock(&lock);
}

static int check_text(const char *s, size_t len) {
  if (!s && len) return NODUS_EINVAL;
  if (len > NODUS_ATOM_MAX_CHARS * 4) return NODUS_EBADATOM;
  long n = term_utf8_count((const uint8_t *)s, len);
  if (n < 0 || n > NODUS_ATOM_MAX_CHARS) return NODUS_EBADATOM;
  return 0;
}

int nodus_atom_intern(const char *utf8, size_t len, nodus_atom *out) {
  pthread_once(&once, table_init);
  int rc = check_text(utf8, len);
  if (rc) return rc;
  pthread_mutex_lock(&lock);
  rc = slots ? insert_locked(utf8, len, out) : NODUS_ENOMEM;
  pthread_mutex_unlock(&lock);
  return rc;
}

int nodus_atom_lookup(const char *utf8, size_t len, nodus_atom *out) {
  pthread_once(&once, table_init);
  if (!utf8 && len) return NODUS_EINVAL;
  int rc = NODUS_ENOMATCH;
  pthread_mutex_lock(&lock);
  if (!slots) {
    pthread_mutex_unlock(&lock);
    return NODUS_ENOMEM;
  }
  size_t j = find_slot(utf8, len, hash_text(utf8, len));
  if (slots[j]) {
    *out = slots[j] - 1;
    rc = 0;
  }
  pthread_mutex_unlock(&lock);
  return rc;
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
    limit = new_limit;
  pthread_mutex_unlock(&lock);
  return rc;
}

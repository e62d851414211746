/* The ETF decoder's state and what its two halves share: etf_decode.c
 * (containers, funs, the walk, compression, the public calls) and
 * etf_leaves.c (atoms, numbers, binaries, strings, pids, ports, refs, the
 * zlib stream). Internal to the term layer. */
#ifndef NODUS_TERM_ETF_DECODE_H
#define NODUS_TERM_ETF_DECODE_H

#include <stdint.h>
#include <stdlib.h>

#include "term_internal.h"

#define ATOM_CACHE_SLOTS 64 /* power of two; one bit each in cache_used */

/* Recently decoded atoms, keyed by their wire bytes: terms repeat the same
 * few atoms (record tags, keys, node names) and this skips the table lock. */
typedef struct atom_cache_entry {
  const uint8_t *src;
  uint32_t len;
  uint8_t latin1;
  nodus_atom atom;
} atom_cache_entry;

typedef struct dec {
  const uint8_t *p, *end;
  const uint8_t *base; /* start of the outer input, for max_size */
  size_t max_size;
  int inner; /* decoding decompressed bytes: running out is corruption */
  size_t max_depth; /* frames on the stack at most */
  size_t new_atoms, max_new_atoms;
  uint64_t cache_used;
  atom_cache_entry cache[ATOM_CACHE_SLOTS];
} dec;

static inline uint16_t rd16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static inline uint64_t rd64(const uint8_t *p) {
  return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static inline size_t left(const dec *d) { return (size_t)(d->end - d->p); }

/* The error for "n more bytes are needed than we have". A streaming caller
 * may wait for more input on ETRUNC, so it is only returned when more input
 * could actually help. */
static inline int short_input(const dec *d, uint64_t n) {
  if (d->inner) return NODUS_EBADETF;
  size_t off = (size_t)(d->p - d->base);
  if (n > (uint64_t)(d->max_size - off)) return NODUS_ETOOBIG;
  return NODUS_ETRUNC;
}

#define NEED(d, n)                                                       \
  do {                                                                   \
    if ((uint64_t)left(d) < (uint64_t)(n)) return short_input((d), (n)); \
  } while (0)

static inline void free_items(nodus_term *items, size_t n) {
  for (size_t i = 0; i < n; i++) nodus_term_free(&items[i]);
  free(items);
}

/* malloc'd, uninitialised array of n terms (at least one slot so that an
 * empty tuple still has a valid pointer, as term.c does). */
static inline nodus_term *items_alloc(uint64_t n) {
  if (n >= SIZE_MAX / sizeof(nodus_term)) return NULL;
  return malloc((size_t)(n ? n : 1) * sizeof(nodus_term));
}

/* ---- etf_leaves.c: each reads what follows its tag (the tag is read)
 * into *out, or returns an error with *out undefined. ---------------- */

/* One atom in any of its encodings, tag included (node names, fun
 * modules); counts a new atom against max_new_atoms. */
int etf_read_atom(dec *d, nodus_atom *out);
/* FLOAT_EXT, NEW_FLOAT_EXT. */
int etf_old_float(dec *d, nodus_term *out);
int etf_new_float(dec *d, nodus_term *out);
/* SMALL_BIG / LARGE_BIG: n little-endian magnitude bytes. */
int etf_big(dec *d, uint64_t n, int negative, nodus_term *out);
/* BINARY / BIT_BINARY: bits used in the last byte, 0 = 8. */
int etf_binary(dec *d, uint64_t n, unsigned bits, nodus_term *out);
/* STRING_EXT. */
int etf_string(dec *d, nodus_term *out);
/* The pid, port and reference tags. */
int etf_ident(dec *d, uint8_t tag, nodus_term *out);
/* COMPRESSED's zlib stream of `declared` bytes into a malloc'd *out;
 * *consumed: the input bytes it took. */
int etf_inflate(dec *d, size_t declared, uint8_t **out, size_t *consumed);

#endif

/* Internal helpers of the term layer, shared by its files. */
#ifndef NODUS_TERM_INTERNAL_H
#define NODUS_TERM_INTERNAL_H

#include "nodus/term.h"

/* For the hot heads of the term walkers: one function per term type
 * switch, merged into the walking loop (a call per term costs them ~5%). */
#define TERM_HOT static inline __attribute__((always_inline))

/* Reference-counted payloads. */
nodus_bin *term_bin_alloc(size_t size);
void term_bin_retain(nodus_bin *b);
void term_bin_release(nodus_bin *b);
nodus_big *term_big_alloc(size_t len);
void term_big_retain(nodus_big *b);
void term_big_release(nodus_big *b);

/* Array of n zeroed terms (n may be 0: returns a valid non-NULL pointer). */
nodus_term *term_items_alloc(size_t n);

/* Trims leading zero magnitude bytes and turns an int64-sized value into
 * NODUS_T_INT. Takes ownership of big. */
int term_big_normalize(nodus_big *big, nodus_term *out);

/* Sorts a map's pairs into exact key order; NODUS_EDUPKEY on duplicates. */
int term_map_sort(nodus_term *map);
/* Index array of map pairs in exact key order (malloc'd), for maps whose
 * stored order is the wire order. NULL on ENOMEM. */
uint32_t *term_map_sorted_index(const nodus_term *map);

/* An atom's text and byte length, and how many latin-1 characters it is
 * (-1 when it has a code point above 255). NULL for a bad atom. */
const char *term_atom_info(nodus_atom a, size_t *len, int32_t *latin1_len);

/* nodus_atom_intern for atoms that come from outside (the decoder): it
 * leaves the table's reserve alone (nodus_atom_set_reserve). */
int term_atom_intern_wire(const char *utf8, size_t len, nodus_atom *out);

/* Decodes a term that has no version byte (the terms after a
 * distribution header); otherwise as nodus_etf_decode. */
int term_etf_decode_body(const uint8_t *buf, size_t len,
                         const nodus_decode_opts *opts, nodus_term *out,
                         size_t *used);

/* UTF-8 helpers. Decode one code point; returns bytes used or -1. */
int term_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);
size_t term_utf8_encode(uint32_t cp, uint8_t out[4]);
/* Counts code points of valid UTF-8, or -1 when invalid. */
long term_utf8_count(const uint8_t *s, size_t len);

/* Pre-sized growable byte buffer used by the printer and the encoder. */
typedef struct term_buf {
  char *data;
  size_t len, cap;
  int err; /* sticky: first error */
} term_buf;

void term_buf_init(term_buf *b);
void term_buf_free(term_buf *b);
void term_buf_put(term_buf *b, const void *p, size_t n);
void term_buf_putc(term_buf *b, char c);
void term_buf_puts(term_buf *b, const char *s);
void term_buf_printf(term_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

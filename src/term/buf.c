/* A growable byte buffer with a sticky error, so callers check once. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term_internal.h"

void term_buf_init(term_buf *b) { memset(b, 0, sizeof *b); }

void term_buf_free(term_buf *b) {
  free(b->data);
  term_buf_init(b);
}

static int reserve(term_buf *b, size_t extra) {
  if (b->err) return b->err;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d) return b->err = NODUS_ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

void term_buf_put(term_buf *b, const void *p, size_t n) {
  if (reserve(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

void term_buf_putc(term_buf *b, char c) { term_buf_put(b, &c, 1); }

void term_buf_puts(term_buf *b, const char *s) { term_buf_put(b, s, strlen(s)); }

void term_buf_printf(term_buf *b, const char *fmt, ...) {
  char small[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->err = NODUS_EINVAL;
    return;
  }
  if ((size_t)n < sizeof small) {
    term_buf_put(b, small, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

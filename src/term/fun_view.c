/* Funs as their fields, for order and hash (see order_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "order_internal.h"

enum { ETF_SMALL_INT = 97, ETF_INT = 98, ETF_ATOM = 100, ETF_PID = 103,
       ETF_SMALL_ATOM = 115, ETF_ATOM_UTF8 = 118, ETF_SMALL_ATOM_UTF8 = 119,
       ETF_NEW_PID = 88, ETF_NEW_FUN = 112, ETF_EXPORT = 113 };

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

void term_fun_view(fun_view *v, const nodus_term *t) {
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

uint32_t term_fun_atom_cp(const fun_atom *a, size_t *i) {
  if (a->latin1) return a->text[(*i)++];
  uint32_t cp;
  int n = term_utf8_decode(a->text + *i, a->len - *i, &cp);
  if (n <= 0) return a->text[(*i)++]; /* invalid: byte by byte, still total */
  *i += (size_t)n;
  return cp;
}

int term_cmp_fun_atoms(const fun_atom *a, const fun_atom *b) {
  size_t i = 0, j = 0;
  while (i < a->len && j < b->len) {
    uint32_t ca = term_fun_atom_cp(a, &i), cb = term_fun_atom_cp(b, &j);
    if (ca != cb) return CMP3(ca, cb);
  }
  return CMP3(a->len - i, b->len - j);
}

int term_cmp_raw(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  if (c) return c < 0 ? -1 : 1;
  return CMP3(la, lb);
}

/* The variables are concatenated terms without version bytes, so they
 * are copied once behind a version byte, and after each term the byte
 * before the next one (the last byte of the term just read) is
 * overwritten with 131. */

bool term_free_reader_init(free_reader *fr, const fun_view *v) {
  fr->fun = v;
  fr->pos = 0;
  fr->buf = malloc(v->free_len + 1);
  if (!fr->buf) return false;
  fr->buf[0] = NODUS_ETF_VERSION;
  if (v->free_len) memcpy(fr->buf + 1, v->free_vars, v->free_len);
  return true;
}

bool term_free_reader_next(free_reader *fr, nodus_term *out) {
  size_t used;
  const fun_view *v = fr->fun;
  if (nodus_etf_decode(fr->buf + fr->pos, v->free_len - fr->pos + 1, NULL,
                       out, &used) != 0)
    return false;
  fr->pos += used - 1;
  fr->buf[fr->pos] = NODUS_ETF_VERSION;
  return true;
}


/* Random Erlang terms built with nodus's constructors, for the property
 * test (tests/unit/test_term_property.c) and the C -> BEAM half of the
 * conformance test (tests/interop/etf_conformance.c).
 *
 * Deterministic for a given seed (splitmix64), so a printed seed replays a
 * failure. Header-only (static functions): each test is one executable. */
#ifndef NODUS_TEST_TERM_RANDOM_H
#define NODUS_TEST_TERM_RANDOM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodus/term.h"

typedef struct trand {
  uint64_t s;
} trand;

static inline uint64_t trand_next(trand *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The tiny modulo bias doesn't matter here. */
static inline uint64_t trand_below(trand *r, uint64_t n) {
  return trand_next(r) % n;
}

static inline int64_t trand_between(trand *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)trand_below(r, (uint64_t)(hi - lo) + 1);
}

/* Random value of exactly `bits` significant bits or fewer (bits <= 64). */
static inline uint64_t trand_bits(trand *r, unsigned bits) {
  if (bits == 0) return 0;
  uint64_t v = trand_next(r);
  return bits >= 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* What a generated term contains, so callers can skip checks that don't
 * apply (see the TG_HAS_* bits). */
enum {
  TG_HAS_LARGE_MAP = 1, /* a map of more than 32 keys */
  TG_HAS_REMOTE_ID = 2, /* a pid/port/ref of another node */
  TG_HAS_IDENT = 4,     /* any pid/port/ref */
  TG_HAS_FUN = 8,       /* an export fun */
  TG_HAS_FLOAT_KEY = 16 /* a map with a float key */
};

typedef struct tgen {
  trand rand;
  bool plain;        /* no pids, ports, refs or funs: text is Erlang syntax */
  bool large_maps;   /* allow maps of more than 32 keys */
  unsigned has;      /* TG_HAS_* of the last term, accumulated */
} tgen;

/* The remote nodes the C -> BEAM check knows (etf_corpus.erl, same list). */
static const char *const tg_remote_nodes[] = {"foo@bar", "n2@host.example",
                                              "Caps@h", "\xC3\xA9lan@host"};

static void tg_put_utf8(char **p, uint32_t cp) {
  uint8_t *o = (uint8_t *)*p;
  if (cp < 0x80) {
    *o++ = (uint8_t)cp;
  } else if (cp < 0x800) {
    *o++ = (uint8_t)(0xC0 | (cp >> 6));
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (uint8_t)(0xE0 | (cp >> 12));
    *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (uint8_t)(0xF0 | (cp >> 18));
    *o++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  }
  *p = (char *)o;
}

/* Atoms that exercise the printer's quoting and the encoder's atom tags. */
static const char *const tg_atom_pool[] = {
    "ok", "error", "undefined", "true", "false", "", "Hello", "hello world",
    "it's", "back\\slash", "new\nline", "a.b", "_x", "x_Y1@z", "[]", "{}",
    "and", "case", "maybe", "else", "when", "end", "fun", "foo@bar", "9lives",
    "nonode@nohost", "\xC3\xA9", ("\xC3\xA9" "cole"), "\xC3\x84rger", "\xC3\x9F",
    "\xC3\xBF", "\xC3\xB7", "\xD0\xBF\xD1\x80\xD0\xB8", "\xE6\x97\xA5",
    "\xF0\x9F\x98\x80", "Elixir.Foo", "EXIT", "a\"b", "tab\t", "\x01\x7F"};

/* Code points random atoms are made of: letters, digits, _ @ and ones that
 * force quoting, latin-1 and beyond. */
static const uint32_t tg_atom_cps[] = {
    'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B', 'Z', '0', '1', '9', '_', '@',
    '.', ' ', '\'', '\\', '\n', '\t', '"', 233, 223, 255, 247, 192, 160, 127,
    0x43F, 26085, 0x1F600};

static nodus_term tg_atom(tgen *g) {
  nodus_term t = {0};
  if (trand_below(&g->rand, 3) == 0) {
    size_t n = sizeof tg_atom_pool / sizeof *tg_atom_pool;
    nodus_mk_atom(&t, tg_atom_pool[trand_below(&g->rand, n)]);
    return t;
  }
  size_t len;
  switch (trand_below(&g->rand, 6)) {
    case 0: len = (size_t)trand_between(&g->rand, 250, 255); break;
    case 1: len = (size_t)trand_between(&g->rand, 9, 60); break;
    default: len = (size_t)trand_between(&g->rand, 1, 8); break;
  }
  char buf[4 * 256 + 1], *p = buf;
  if (trand_below(&g->rand, 2)) *p++ = (char)('a' + trand_below(&g->rand, 26)), len--;
  size_t ncp = sizeof tg_atom_cps / sizeof *tg_atom_cps;
  for (size_t i = 0; i < len; i++)
    tg_put_utf8(&p, tg_atom_cps[trand_below(&g->rand, ncp)]);
  *p = 0;
  nodus_atom a;
  if (nodus_atom_intern(buf, (size_t)(p - buf), &a) != 0) a = NODUS_ATOM_OK;
  return nodus_atom_term(a);
}

static nodus_term tg_int(tgen *g) {
  switch (trand_below(&g->rand, 4)) {
    case 0: return nodus_int(trand_between(&g->rand, -300, 300));
    case 1: {
      int64_t v = (int64_t)trand_bits(&g->rand, (unsigned)trand_between(&g->rand, 8, 31));
      return nodus_int(trand_below(&g->rand, 2) ? v : -v);
    }
    case 2: {
      unsigned bits = (unsigned)trand_between(&g->rand, 32, 64);
      uint64_t m = trand_bits(&g->rand, bits);
      /* int64 limits and their neighbours, sometimes. */
      if (trand_below(&g->rand, 8) == 0) m = (UINT64_C(1) << 63) - trand_below(&g->rand, 2);
      int64_t v = (int64_t)(m & INT64_MAX);
      return nodus_int(trand_below(&g->rand, 2) ? v : -v - (int64_t)trand_below(&g->rand, 2));
    }
    default: {
      /* Big: magnitudes of 8..1000 bytes, crossing 255 (SMALL/LARGE_BIG). */
      size_t len;
      switch (trand_below(&g->rand, 4)) {
        case 0: len = (size_t)trand_between(&g->rand, 8, 9); break;
        case 1: len = (size_t)trand_between(&g->rand, 250, 260); break;
        case 2: len = (size_t)trand_between(&g->rand, 10, 1000); break;
        default: len = (size_t)trand_between(&g->rand, 8, 40); break;
      }
      uint8_t mag[1000];
      for (size_t i = 0; i < len; i++) mag[i] = (uint8_t)trand_next(&g->rand);
      if (mag[len - 1] == 0) mag[len - 1] = 1;
      nodus_term t = {0};
      if (len == 8) mag[7] |= 0x80; /* beyond int64 */
      nodus_mk_integer(&t, trand_below(&g->rand, 2), mag, len);
      return t;
    }
  }
}

static double tg_double(tgen *g) {
  static const double special[] = {0.0, -0.0, 5e-324, 1e-320, 2.2250738585072014e-308,
                                   1.7976931348623157e308, 0.1, 0.5, 1e15, 1e16,
                                   1e22, 1e-7, 123.0, 9007199254740993.0, 1e21};
  switch (trand_below(&g->rand, 4)) {
    case 0: return (double)trand_between(&g->rand, -100000, 100000);
    case 1: return special[trand_below(&g->rand, sizeof special / sizeof *special)];
    default: {
      for (;;) { /* any bit pattern except NaN and infinities */
        uint64_t b = trand_next(&g->rand);
        if (((b >> 52) & 0x7FF) == 0x7FF) continue;
        double d;
        memcpy(&d, &b, sizeof d);
        return d;
      }
    }
  }
}

static size_t tg_size(tgen *g) {
  if (trand_below(&g->rand, 50) == 0) return (size_t)trand_between(&g->rand, 300, 3000);
  switch (trand_below(&g->rand, 4)) {
    case 0: return 0;
    case 1: return (size_t)trand_between(&g->rand, 1, 10);
    case 2: return (size_t)trand_between(&g->rand, 1, 40);
    default: return (size_t)trand_between(&g->rand, 1, 100);
  }
}

/* Printable latin-1 as io_lib sees it, to make strings and text binaries. */
static uint32_t tg_printable(tgen *g) {
  static const char ctl[] = "\n\r\t\v\b\f\x1b";
  uint64_t k = trand_below(&g->rand, 95 + 96 + 7);
  if (k < 95) return (uint32_t)(32 + k);
  if (k < 95 + 96) return (uint32_t)(160 + k - 95);
  return (uint32_t)(uint8_t)ctl[k - 95 - 96];
}

static nodus_term tg_binary(tgen *g) {
  size_t n = tg_size(g);
  uint8_t *d = malloc(n + 1); /* +1: a bitstring's trailing bits */
  bool text = trand_below(&g->rand, 2);
  for (size_t i = 0; i <= n; i++)
    d[i] = text ? (uint8_t)tg_printable(g) : (uint8_t)trand_next(&g->rand);
  nodus_term t = {0};
  if (trand_below(&g->rand, 4) == 0) {
    nodus_mk_bitstring(&t, d, n * 8 + (size_t)trand_between(&g->rand, 1, 7));
  } else {
    nodus_mk_binary(&t, d, n);
  }
  free(d);
  return t;
}

static nodus_term tg_string(tgen *g) {
  size_t n = (size_t)trand_between(&g->rand, 1, trand_below(&g->rand, 4) ? 30 : 200);
  nodus_term t = {0};
  nodus_mk_list(&t, n);
  unsigned kind = (unsigned)trand_below(&g->rand, 4);
  for (size_t i = 0; i < n; i++) {
    uint32_t c;
    if (kind == 0) c = (uint32_t)trand_below(&g->rand, 301); /* mostly not printable */
    else if (kind == 1) c = "hello world\"\\"[trand_below(&g->rand, 13)];
    else c = tg_printable(g);
    if (kind == 1 && trand_below(&g->rand, 10) == 0) c = trand_below(&g->rand, 2) ? 233 : 8364;
    nodus_list_set(&t, i, nodus_int(c));
  }
  return t;
}

static nodus_atom tg_remote_node(tgen *g) {
  nodus_atom a = 0;
  const char *n = tg_remote_nodes[trand_below(&g->rand, 4)];
  nodus_atom_intern(n, strlen(n), &a);
  return a;
}

/* Identifiers in the ranges a non-distributed BEAM accepts as its own
 * (pid number < 2^15, serial < 2^13, port < 2^28, first ref word < 2^18,
 * creation 0), or of another node with any 32-bit values. */
static nodus_term tg_ident(tgen *g) {
  nodus_term t = {0};
  bool remote = trand_below(&g->rand, 2);
  nodus_atom node = remote ? tg_remote_node(g) : NODUS_ATOM_NONODE;
  uint32_t creation = remote ? (uint32_t)trand_next(&g->rand) : 0;
  g->has |= TG_HAS_IDENT | (remote ? TG_HAS_REMOTE_ID : 0);
  switch (trand_below(&g->rand, 3)) {
    case 0:
      if (remote)
        nodus_mk_pid(&t, node, (uint32_t)trand_next(&g->rand),
                     (uint32_t)trand_bits(&g->rand, trand_below(&g->rand, 2) ? 32 : 13),
                     creation);
      else
        nodus_mk_pid(&t, node, (uint32_t)trand_bits(&g->rand, 15),
                     (uint32_t)trand_bits(&g->rand, 13), 0);
      break;
    case 1: {
      uint64_t id = remote ? trand_bits(&g->rand, trand_below(&g->rand, 2) ? 32 : 64)
                           : trand_bits(&g->rand, 28);
      nodus_mk_port(&t, node, id, creation);
      break;
    }
    default: {
      uint32_t w[5];
      size_t n = remote ? (size_t)trand_between(&g->rand, 1, 5) : 3;
      for (size_t i = 0; i < n; i++) w[i] = (uint32_t)trand_next(&g->rand);
      if (!remote) w[0] &= (1u << 18) - 1;
      nodus_mk_ref(&t, node, creation, w, n);
      break;
    }
  }
  return t;
}

static nodus_term tg_export_fun(tgen *g) {
  nodus_term t = {0}, m = tg_atom(g), f = tg_atom(g);
  g->has |= TG_HAS_FUN;
  nodus_mk_export_fun(&t, m.v.atom, f.v.atom, (uint8_t)trand_below(&g->rand, 256));
  return t;
}

static nodus_term tg_leaf(tgen *g) {
  switch (trand_below(&g->rand, g->plain ? 11 : 13)) {
    case 0:
    case 1: return tg_int(g);
    case 2:
    case 3: return nodus_float(tg_double(g));
    case 4:
    case 5: return tg_atom(g);
    case 6:
    case 7: return tg_binary(g);
    case 8: return tg_string(g);
    case 9: return nodus_nil();
    case 10: {
      nodus_term t = {0};
      switch (trand_below(&g->rand, 3)) {
        case 0: nodus_mk_tuple(&t, 0); break;
        case 1: nodus_mk_map(&t); break;
        default: nodus_mk_binary(&t, "", 0); break;
      }
      return t;
    }
    case 11: return tg_ident(g);
    default: return tg_export_fun(g);
  }
}

static nodus_term tg_term(tgen *g, int depth);

static nodus_term tg_map_key(tgen *g, int depth) {
  switch (trand_below(&g->rand, 4)) {
    case 0: return nodus_int(trand_between(&g->rand, -5, 50));
    case 1: {
      static const double keys[] = {0.5, 1.0, 2.0, -0.0, 0.0};
      g->has |= TG_HAS_FLOAT_KEY;
      return nodus_float(keys[trand_below(&g->rand, 5)]);
    }
    default: return depth > 0 ? tg_term(g, depth) : tg_leaf(g);
  }
}

static nodus_term tg_term(tgen *g, int depth) {
  nodus_term t = {0};
  if (depth <= 0) return tg_leaf(g);
  switch (trand_below(&g->rand, 20)) {
    case 10:
    case 11: { /* tuple; sometimes wider than 255 (LARGE_TUPLE_EXT) of leaves */
      bool wide = trand_below(&g->rand, 30) == 0;
      size_t n = wide ? (size_t)trand_between(&g->rand, 256, 300)
                      : (size_t)trand_below(&g->rand, 7);
      nodus_mk_tuple(&t, n);
      for (size_t i = 0; i < n; i++)
        nodus_tuple_set(&t, i, wide ? tg_leaf(g) : tg_term(g, depth - 1));
      return t;
    }
    case 12:
    case 13:
    case 14: { /* list, proper or (1 in 3) improper */
      size_t n = (size_t)trand_between(&g->rand, 1, 6);
      nodus_mk_list(&t, n);
      for (size_t i = 0; i < n; i++) nodus_list_set(&t, i, tg_term(g, depth - 1));
      if (trand_below(&g->rand, 3) == 0) {
        nodus_term tail = tg_leaf(g);
        /* A list or nil tail would just make a longer (proper) list. */
        if (tail.type == NODUS_T_LIST || tail.type == NODUS_T_NIL) {
          nodus_term_free(&tail);
          tail = nodus_atom_term(NODUS_ATOM_OK);
        }
        nodus_list_set_tail(&t, tail);
      }
      return t;
    }
    case 15:
    case 16: {
      /* Plain terms are where the C -> BEAM test wants its wide maps. */
      bool wide = g->large_maps && trand_below(&g->rand, g->plain ? 2 : 15) == 0;
      size_t n = wide ? (size_t)trand_between(&g->rand, 33, 80)
                      : (size_t)trand_below(&g->rand, 7);
      nodus_mk_map(&t);
      for (size_t i = 0; i < n; i++)
        nodus_map_put(&t, tg_map_key(g, wide ? 0 : depth - 1),
                      wide ? tg_leaf(g) : tg_term(g, depth - 1));
      if (t.n > 32) g->has |= TG_HAS_LARGE_MAP;
      return t;
    }
    case 17: { /* {tag, Term} */
      nodus_mk_tuple(&t, 2);
      nodus_tuple_set(&t, 0, tg_atom(g));
      nodus_tuple_set(&t, 1, tg_term(g, depth - 1));
      return t;
    }
    default: return tg_leaf(g);
  }
}

/* A fresh random term; g->has tells what it contains. */
static nodus_term tgen_term(tgen *g, int depth) {
  g->has = 0;
  return tg_term(g, depth);
}

#endif

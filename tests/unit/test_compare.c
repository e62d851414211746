/* Term order, exact equality, hashing and map sorting. The expected results
 * were checked with erl (OTP 25); tests/interop/test_compare.sh replays
 * thousands more against BEAM itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus.h"
#include "term/term_internal.h"

/* ---- building terms ---------------------------------------------------- */

static nodus_term atom(const char *s) {
  nodus_term t;
  if (nodus_mk_atom(&t, s)) abort();
  return t;
}

static nodus_atom atom_id(const char *s) { return atom(s).v.atom; }

static nodus_term u64(uint64_t v) {
  nodus_term t;
  if (nodus_mk_uint64(&t, v)) abort();
  return t;
}

/* +-(2^k + adj), adj in -1..1. */
static nodus_term pow2(bool negative, unsigned k, int adj) {
  uint8_t mag[400] = {0}; /* up to 2^3199 */
  size_t len = k / 8 + 1;
  if (adj < 0) {
    for (unsigned b = 0; b < k; b++) mag[b / 8] |= (uint8_t)(1u << (b % 8));
  } else {
    mag[k / 8] = (uint8_t)(1u << (k % 8));
    if (adj > 0) mag[0] |= 1;
  }
  nodus_term t;
  if (nodus_mk_integer(&t, negative, mag, len)) abort();
  return t;
}

static nodus_term tuple(size_t n, const nodus_term *elems) {
  nodus_term t;
  if (nodus_mk_tuple(&t, n)) abort();
  for (size_t i = 0; i < n; i++) nodus_tuple_set(&t, i, elems[i]);
  return t;
}

static nodus_term list(size_t n, const nodus_term *elems, nodus_term tail) {
  if (n == 0) return tail;
  nodus_term t;
  if (nodus_mk_list(&t, n)) abort();
  for (size_t i = 0; i < n; i++) nodus_list_set(&t, i, elems[i]);
  nodus_list_set_tail(&t, tail);
  return t;
}

/* A map kept in the given pair order, as the decoder leaves wire order. */
static nodus_term map_raw(size_t n, const nodus_term *pairs) {
  nodus_term t = {0};
  t.type = NODUS_T_MAP;
  t.n = (uint32_t)n;
  t.v.items = term_items_alloc(2 * n);
  memcpy(t.v.items, pairs, 2 * n * sizeof *pairs);
  return t;
}

static nodus_term map_sorted(size_t n, const nodus_term *pairs) {
  nodus_term t;
  if (nodus_mk_map(&t)) abort();
  for (size_t i = 0; i < n; i++)
    if (nodus_map_put(&t, pairs[2 * i], pairs[2 * i + 1])) abort();
  return t;
}

static nodus_term bits(const char *bytes, size_t nbits) {
  nodus_term t;
  if (nodus_mk_bitstring(&t, bytes, nbits)) abort();
  return t;
}

static nodus_term pid(const char *node, uint32_t id, uint32_t serial,
                      uint32_t creation) {
  nodus_term t;
  if (nodus_mk_pid(&t, atom_id(node), id, serial, creation)) abort();
  return t;
}

static nodus_term port(const char *node, uint64_t id, uint32_t creation) {
  nodus_term t;
  if (nodus_mk_port(&t, atom_id(node), id, creation)) abort();
  return t;
}

static nodus_term ref(const char *node, uint32_t creation, size_t n,
                      const uint32_t *w) {
  nodus_term t;
  if (nodus_mk_ref(&t, atom_id(node), creation, w, n)) abort();
  return t;
}

static nodus_term fun_bytes(const uint8_t *p, size_t n, bool export) {
  nodus_bin *b = term_bin_alloc(n);
  memcpy(b->data, p, n);
  nodus_term t = {0};
  t.type = NODUS_T_FUN;
  t.flags = export ? NODUS_TF_FUN_EXPORT : 0;
  t.n = (uint32_t)n;
  t.v.bin = b;
  return t;
}

static size_t put_atom(uint8_t *p, const char *s, bool latin1) {
  size_t n = strlen(s);
  p[0] = latin1 ? 115 : 119; /* SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT */
  p[1] = (uint8_t)n;
  memcpy(p + 2, s, n);
  return n + 2;
}

static size_t put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return 4;
}

static nodus_term export_fun(const char *mod, const char *fn, int arity) {
  uint8_t b[600];
  size_t n = 0;
  b[n++] = 113;
  n += put_atom(b + n, mod, false);
  n += put_atom(b + n, fn, false);
  b[n++] = 97;
  b[n++] = (uint8_t)arity;
  return fun_bytes(b, n, true);
}

typedef struct closure_spec {
  const char *module;
  bool latin1;
  uint8_t arity, uniq;
  uint32_t index, old_index;
  int32_t old_uniq;
  uint32_t pid_id;
  uint32_t num_free;
  const uint8_t *free; /* ETF of the free variables, no version bytes */
  size_t free_len;
} closure_spec;

static nodus_term closure(closure_spec s) {
  uint8_t b[1000];
  size_t n = 0;
  b[n++] = 112;
  n += 4; /* Size, filled in below */
  b[n++] = s.arity;
  memset(b + n, s.uniq, 16);
  n += 16;
  n += put_u32(b + n, s.index);
  n += put_u32(b + n, s.num_free);
  n += put_atom(b + n, s.module, s.latin1);
  b[n++] = 98;
  n += put_u32(b + n, s.old_index);
  b[n++] = 98;
  n += put_u32(b + n, (uint32_t)s.old_uniq);
  b[n++] = 88; /* NEW_PID_EXT */
  n += put_atom(b + n, "a@h", false);
  n += put_u32(b + n, s.pid_id);
  n += put_u32(b + n, 0);
  n += put_u32(b + n, 1);
  memcpy(b + n, s.free, s.free_len);
  n += s.free_len;
  put_u32(b + 1, (uint32_t)(n - 1));
  return fun_bytes(b, n, false);
}

/* ---- checking ---------------------------------------------------------- */

static int sgn(int c) { return (c > 0) - (c < 0); }

static void want_exact(const nodus_term *a, const nodus_term *b, int want,
                       int line) {
  int x = sgn(nodus_compare_exact(a, b)), r = sgn(nodus_compare_exact(b, a));
  if (x == want && r == -want) {
    check_passed++;
  } else {
    check_failed++;
    fprintf(stderr, "line %d: exact order gave %d / %d, wanted %d\n", line, x,
            r, want);
  }
}

static bool is_float(const nodus_term *t) { return t->type == NODUS_T_FLOAT; }
static bool is_integer(const nodus_term *t) {
  return t->type == NODUS_T_INT || t->type == NODUS_T_BIGINT;
}

/* Checks compare(a, b) == want both ways round, that exact order agrees
 * (except integer against float, where it doesn't look at values), and
 * frees both. */
#define ORDER(a_, b_, want_) order_check(a_, b_, want_, __LINE__)
static void order_check(nodus_term a, nodus_term b, int want, int line) {
  bool mixed = (is_float(&a) && is_integer(&b)) ||
               (is_integer(&a) && is_float(&b));
  if (mixed) want_exact(&a, &b, is_float(&a) ? 1 : -1, line);
  int c = sgn(nodus_compare(&a, &b)), r = sgn(nodus_compare(&b, &a));
  if (c == want && r == -want) {
    check_passed++;
  } else {
    check_failed++;
    fprintf(stderr, "line %d: compare gave %d / %d, wanted %d\n", line, c, r,
            want);
  }
  if (want != 0 && !mixed) want_exact(&a, &b, want, line);
  if (want != 0) CHECK(!nodus_equal(&a, &b));
  nodus_term_free(&a);
  nodus_term_free(&b);
}

/* a == b in term order, with the given exact order (0: =:=). */
#define SAME(a_, b_, exact_) same_check(a_, b_, exact_, __LINE__)
static void same_check(nodus_term a, nodus_term b, int exact, int line) {
  int c = nodus_compare(&a, &b), x = sgn(nodus_compare_exact(&a, &b));
  int rx = sgn(nodus_compare_exact(&b, &a));
  bool eq = nodus_equal(&a, &b);
  bool ok = c == 0 && x == exact && rx == -exact && eq == (exact == 0);
  if (exact == 0) ok = ok && nodus_hash(&a) == nodus_hash(&b);
  if (ok) {
    check_passed++;
  } else {
    check_failed++;
    fprintf(stderr,
            "line %d: compare %d exact %d/%d equal %d (want exact %d)\n",
            line, c, x, rx, eq, exact);
  }
  nodus_term_free(&a);
  nodus_term_free(&b);
}

/* ---- numbers ----------------------------------------------------------- */

static void test_numbers(void) {
  SAME(nodus_int(1), nodus_float(1.0), -1);
  SAME(nodus_float(-0.0), nodus_float(0.0), 0);
  SAME(nodus_int(0), nodus_float(-0.0), -1);
  ORDER(nodus_int(1), nodus_int(2), -1);
  ORDER(nodus_int(INT64_MIN), nodus_int(INT64_MAX), -1);
  ORDER(nodus_float(2.5), nodus_int(2), 1);
  ORDER(nodus_float(-2.5), nodus_int(-2), -1);
  ORDER(nodus_float(-2.5), nodus_int(-3), 1);
  ORDER(nodus_float(0.5), nodus_int(0), 1);
  ORDER(nodus_float(-0.5), nodus_int(0), -1);
  ORDER(nodus_float(5e-324), nodus_int(0), 1);
  /* Around 2^53, where doubles stop holding every integer. */
  ORDER(u64(9007199254740993u), nodus_float(9007199254740992.0), 1);
  ORDER(u64(9007199254740993u), nodus_float(9007199254740994.0), -1);
  SAME(u64(9007199254740992u), nodus_float(9007199254740992.0), -1);
  ORDER(nodus_int(-9007199254740993), nodus_float(-9007199254740992.0), -1);
  /* Around 2^63 (INT/BIGINT border) and 2^64. */
  SAME(pow2(false, 63, 0), nodus_float(0x1p63), -1);
  ORDER(nodus_int(INT64_MAX), nodus_float(0x1p63), -1);
  ORDER(pow2(false, 63, 1), nodus_float(0x1p63), 1);
  SAME(nodus_int(INT64_MIN), nodus_float(-0x1p63), -1);
  ORDER(pow2(true, 63, 1), nodus_float(-0x1p63), -1);
  SAME(pow2(false, 64, 0), nodus_float(0x1p64), -1);
  ORDER(pow2(false, 64, 1), nodus_float(0x1p64), 1);
  ORDER(pow2(false, 64, -1), nodus_float(0x1p64), -1);
  ORDER(u64(UINT64_MAX), nodus_float(0x1p64), -1);
  /* Big integers against big floats. */
  ORDER(pow2(false, 1000, 0), nodus_float(1.0e300), 1);
  ORDER(pow2(false, 996, 0), nodus_float(1.0e300), -1);
  ORDER(pow2(true, 70, 0), nodus_float(-1.0e21), -1);
  ORDER(pow2(true, 70, 0), nodus_float(-1.0e22), 1);
  ORDER(pow2(false, 1100, 0), nodus_float(1.7976931348623157e308), 1);
  ORDER(pow2(false, 1023, 0), nodus_float(1.7976931348623157e308), -1);
  SAME(pow2(false, 1023, 0), nodus_float(0x1p1023), -1);
  ORDER(pow2(false, 1023, 1), nodus_float(0x1p1023), 1);
  ORDER(pow2(false, 1023, -1), nodus_float(0x1p1023), -1);
  ORDER(pow2(false, 100, 0), nodus_float(-1.0), 1);
  ORDER(pow2(true, 100, 0), nodus_float(1.0), -1);
  ORDER(pow2(true, 100, 0), nodus_float(0.0), -1);
  /* Integers among themselves. */
  ORDER(pow2(true, 70, 0), pow2(true, 65, 0), -1);
  ORDER(pow2(true, 65, 0), nodus_int(INT64_MIN), -1);
  ORDER(nodus_int(INT64_MAX), pow2(false, 63, 0), -1);
  ORDER(pow2(false, 65, 0), pow2(false, 70, 0), -1);
  ORDER(pow2(false, 65, 0), pow2(false, 65, 1), -1);
  SAME(pow2(false, 200, 1), pow2(false, 200, 1), 0);
  /* Not Erlang values, but C can make them: still a total order. */
  ORDER(nodus_float(INFINITY), pow2(false, 2000, 0), 1);
  ORDER(nodus_float(-INFINITY), pow2(true, 2000, 0), -1);
  ORDER(nodus_float(NAN), nodus_float(INFINITY), 1);
  ORDER(nodus_float(NAN), nodus_int(5), 1);
  SAME(nodus_float(NAN), nodus_float(NAN), 0);
  /* Exact order: integers before floats whatever the values, nested too. */
  nodus_term two = nodus_int(2), onef = nodus_float(1.0);
  nodus_term big = pow2(false, 70, 0), half = nodus_float(0.5);
  CHECK(nodus_compare_exact(&two, &onef) < 0);
  CHECK(nodus_compare_exact(&big, &half) < 0);
  CHECK(nodus_compare_exact(&onef, &half) > 0);
  CHECK(nodus_compare(&two, &onef) > 0);
  nodus_term_free(&big);
  nodus_term t2 = tuple(1, &two), t1f = tuple(1, &onef);
  CHECK(nodus_compare_exact(&t2, &t1f) < 0 && nodus_compare(&t2, &t1f) > 0);
  nodus_term_free(&t2);
  nodus_term_free(&t1f);
}

/* ---- the order between types ------------------------------------------- */

static void test_type_order(void) {
  uint32_t w = 1;
  nodus_term one = nodus_int(1);
  nodus_term sorted[] = {
      nodus_int(5),       atom("a"),           ref("a@h", 1, 1, &w),
      export_fun("m", "f", 0), port("a@h", 1, 1), pid("a@h", 1, 1, 1),
      tuple(0, NULL),     map_sorted(0, NULL), nodus_nil(),
      list(1, &one, nodus_nil()), bits("", 0)};
  size_t n = sizeof sorted / sizeof *sorted;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      int want = (i > j) - (i < j);
      CHECK(sgn(nodus_compare(&sorted[i], &sorted[j])) == want);
      CHECK(nodus_equal(&sorted[i], &sorted[j]) == (i == j));
    }
  for (size_t i = 0; i < n; i++) nodus_term_free(&sorted[i]);
  ORDER(pow2(false, 3000, 0), atom(""), -1);
  ORDER(nodus_float(1e300), atom(""), -1);
}

/* ---- atoms ------------------------------------------------------------- */

static void test_atoms(void) {
  SAME(atom("abc"), atom("abc"), 0);
  ORDER(atom("a"), atom("ab"), -1);
  ORDER(atom("ab"), atom("b"), -1);
  ORDER(atom(""), atom("a"), -1);
  /* Created in reverse order: the text decides, not the table index. */
  ORDER(atom("zz_new_first"), atom("aa_new_second"), 1);
  ORDER(atom("z"), atom("\xc3\xa9"), -1);              /* z < é */
  ORDER(atom("\xc3\xa9"), atom("\xe2\x82\xac"), -1);   /* é < € */
  ORDER(atom("\xef\xbf\xbf"), atom("\xf0\x90\x80\x80"), -1); /* FFFF < 10000 */
  ORDER(atom("az"), atom("a\xc3\xa9"), -1);
}

/* ---- pids, ports, refs ------------------------------------------------- */

static void test_idents(void) {
  /* Pids: serial, id, node, creation. */
  ORDER(pid("a@h", 1, 1, 1), pid("a@h", 1, 1, 2), -1);
  ORDER(pid("b@g", 1, 1, 1), pid("a@h", 1, 1, 2), 1);
  ORDER(pid("b@g", 1, 1, 1), pid("a@h", 2, 1, 1), -1);
  ORDER(pid("z@h", 2, 1, 9), pid("a@h", 1, 2, 1), -1);
  ORDER(pid("a@h", 0xffffffffu, 0, 1), pid("a@h", 0, 1, 1), -1);
  ORDER(pid("a@h", 0x80000000u, 1, 1), pid("a@h", 0x7fffffffu, 1, 1), 1);
  ORDER(pid("a@h", 1, 1, 0x80000000u), pid("a@h", 1, 1, 1), 1);
  SAME(pid("a@h", 7, 3, 2), pid("a@h", 7, 3, 2), 0);
  /* Ports: node, creation, id. */
  ORDER(port("a@h", 5, 1), port("a@h", 1, 2), -1);
  ORDER(port("a@h", 5, 2), port("b@g", 1, 1), -1);
  ORDER(port("a@h", UINT64_C(1) << 40, 1), port("a@h", 2, 1), 1);
  ORDER(port("a@h", UINT64_C(1) << 63, 1),
        port("a@h", (UINT64_C(1) << 63) - 1, 1), 1);
  SAME(port("a@h", UINT64_C(1) << 40, 3), port("a@h", UINT64_C(1) << 40, 3), 0);
  /* Refs: node, creation, words from the last down; high zeros ignored. */
  uint32_t w5[] = {5}, w11[] = {1, 1}, w12[] = {1, 2}, w321[] = {3, 2, 1},
           w213[] = {2, 1, 3}, w1230[] = {1, 2, 3, 0}, w123[] = {1, 2, 3},
           w500[] = {5, 0, 0};
  ORDER(ref("a@h", 1, 1, w5), ref("a@h", 1, 2, w11), -1);
  ORDER(ref("a@h", 1, 2, w11), ref("a@h", 1, 2, w12), -1);
  ORDER(ref("a@h", 1, 3, w321), ref("a@h", 1, 3, w213), -1);
  ORDER(ref("a@h", 1, 3, w213), ref("a@h", 1, 4, w1230), -1);
  SAME(ref("a@h", 1, 4, w1230), ref("a@h", 1, 3, w123), 0);
  SAME(ref("a@h", 1, 3, w500), ref("a@h", 1, 1, w5), 0);
  ORDER(ref("a@h", 2, 1, w5), ref("b@g", 1, 1, w5), -1);
  ORDER(ref("a@h", 2, 1, w5), ref("a@h", 1, 3, w321), 1);
  ORDER(ref("a@h", 1, 1, w5), ref("a@hh", 1, 1, w5), -1);
}

/* ---- funs -------------------------------------------------------------- */

static bool decoder_works(void) {
  const uint8_t probe[] = {131, 97, 1};
  nodus_term t;
  if (nodus_etf_decode(probe, sizeof probe, NULL, &t, NULL)) return false;
  nodus_term_free(&t);
  return true;
}

static void test_funs(void) {
  /* Export funs: module, function, arity; all after every closure. */
  ORDER(export_fun("zzz", "a", 0), export_fun("aaa", "z", 0), 1);
  ORDER(export_fun("m", "b", 0), export_fun("m", "a", 9), 1);
  ORDER(export_fun("m", "a", 2), export_fun("m", "a", 1), 1);
  SAME(export_fun("lists", "map", 2), export_fun("lists", "map", 2), 0);
  const uint8_t one[] = {97, 1}, two[] = {97, 2}, one_two[] = {97, 1, 97, 2},
                zero_zero[] = {97, 0, 97, 0}, five[] = {97, 5},
                one_float[] = {70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  closure_spec base = {"zzz", false, 1, 5, 1, 1, 100, 0, 1, one, 2};
  closure_spec s = base;
  ORDER(closure(base), export_fun("aaa", "a", 0), -1);
  /* The creator pid, Uniq, OldIndex and Arity don't count. */
  s.pid_id = 77;
  s.uniq = 9;
  s.old_index = 40;
  s.arity = 3;
  SAME(closure(base), closure(s), 0);
  s = base;
  s.latin1 = true; /* same module text in another atom encoding */
  SAME(closure(base), closure(s), 0);
  /* Module, then Index, then OldUniq (signed), then free var count. */
  s = base;
  s.module = "aaa";
  s.index = 9;
  ORDER(closure(s), closure(base), -1);
  s = base;
  s.index = 2;
  s.old_uniq = 50;
  ORDER(closure(s), closure(base), 1);
  s = base;
  s.old_uniq = 99;
  s.uniq = 200;
  ORDER(closure(s), closure(base), -1);
  s = base;
  s.old_uniq = -1;
  ORDER(closure(s), closure(base), -1);
  s = base;
  s.num_free = 2;
  s.free = zero_zero;
  s.free_len = 4;
  closure_spec t = base;
  t.free = five;
  ORDER(closure(s), closure(t), 1);
  s.free = one_two;
  ORDER(closure(s), closure(base), 1);
  s = base;
  s.free = two;
  ORDER(closure(base), closure(s), -1);
  if (decoder_works()) { /* free variables compare as terms */
    s = base;
    s.free = one_float;
    s.free_len = sizeof one_float;
    SAME(closure(base), closure(s), -1);
  }
  /* Bytes that aren't a fun still give a total order. */
  const uint8_t junk1[] = {1, 2, 3}, junk2[] = {1, 2, 4};
  ORDER(fun_bytes(junk1, 3, false), export_fun("z", "z", 9), 1);
  ORDER(fun_bytes(junk1, 3, false), fun_bytes(junk2, 3, false), -1);
  SAME(fun_bytes(junk1, 3, false), fun_bytes(junk1, 3, false), 0);
}

/* ---- tuples and lists -------------------------------------------------- */

static void test_tuples_lists(void) {
  nodus_term z = atom("z"), aa[] = {atom("a"), atom("a")};
  ORDER(tuple(1, &z), tuple(2, aa), -1);
  nodus_term x[] = {nodus_int(1), nodus_int(2)}, y[] = {nodus_int(1),
                                                        nodus_float(2.0)};
  SAME(tuple(2, x), tuple(2, y), -1);
  nodus_term e1[] = {nodus_int(1), nodus_int(3)}, e2[] = {nodus_int(2),
                                                          nodus_int(0)};
  ORDER(tuple(2, e1), tuple(2, e2), -1);

  nodus_term l1[] = {nodus_int(1)}, l12[] = {nodus_int(1), nodus_int(2)};
  /* [1|2] < [1,2]: 2 meets [2]; [1|a] < [1]: a meets []. */
  ORDER(list(1, l1, nodus_int(2)), list(2, l12, nodus_nil()), -1);
  l1[0] = nodus_int(1);
  l12[0] = nodus_int(1), l12[1] = nodus_int(2);
  ORDER(list(1, l1, atom("a")), list(1, l12, nodus_nil()), -1);
  l1[0] = nodus_int(1);
  ORDER(list(1, l1, bits("", 0)), list(2, l12, nodus_nil()), 1);
  l1[0] = nodus_int(1);
  l12[0] = nodus_int(1), l12[1] = nodus_int(2);
  nodus_term lf[] = {nodus_float(1.0), nodus_float(2.0)};
  SAME(list(2, l12, nodus_nil()), list(2, lf, nodus_nil()), -1);
  l1[0] = nodus_int(1);
  nodus_term l1b = nodus_int(1);
  SAME(list(1, l1, nodus_int(2)), list(1, &l1b, nodus_float(2.0)), -1);
  l12[0] = nodus_int(1), l12[1] = nodus_int(2);
  l1[0] = nodus_int(1);
  ORDER(list(2, l12, nodus_nil()), list(1, l1, nodus_nil()), 1);
  /* A tail that is itself a list continues the cells: [1|[2,3]] =:= [1,2,3]. */
  nodus_term t23[] = {nodus_int(2), nodus_int(3)};
  nodus_term t123[] = {nodus_int(1), nodus_int(2), nodus_int(3)};
  l1[0] = nodus_int(1);
  SAME(list(1, l1, list(2, t23, nodus_nil())), list(3, t123, nodus_nil()), 0);

  /* A long chain of one-cell lists (tails) compares without recursion. */
  nodus_term ca = nodus_nil(), cb = nodus_nil();
  for (int i = 0; i < 20000; i++) {
    nodus_term ea = nodus_int(i), eb = nodus_int(i);
    ca = list(1, &ea, ca);
    cb = list(1, &eb, cb);
  }
  CHECK(nodus_compare(&ca, &cb) == 0);
  CHECK(nodus_hash(&ca) == nodus_hash(&cb));
  nodus_term_free(&ca);
  nodus_term_free(&cb);
  /* Deep nesting (the decoder allows 1000 levels). */
  nodus_term da = nodus_int(1), db = nodus_int(2);
  for (int i = 0; i < 1000; i++) {
    da = tuple(1, &da);
    db = list(1, &db, nodus_nil());
    db = tuple(1, &db);
  }
  CHECK(nodus_compare(&da, &db) != 0);
  CHECK(nodus_compare(&da, &da) == 0);
  nodus_term_free(&da);
  nodus_term_free(&db);
}

/* ---- maps -------------------------------------------------------------- */

static void test_maps(void) {
  nodus_term p1[] = {nodus_int(1), atom("a")}, p1f[] = {nodus_float(1.0),
                                                        atom("a")};
  /* Keys compare exactly even in ==: #{1 => a} < #{1.0 => a}. */
  ORDER(map_sorted(1, p1), map_sorted(1, p1f), -1);
  nodus_term v1[] = {atom("a"), nodus_int(1)}, v1f[] = {atom("a"),
                                                        nodus_float(1.0)};
  SAME(map_sorted(1, v1), map_sorted(1, v1f), -1);
  nodus_term k1z[] = {nodus_int(1), atom("z")}, k2a[] = {nodus_int(2),
                                                         atom("a")};
  ORDER(map_sorted(1, k1z), map_sorted(1, k2a), -1);
  nodus_term small[] = {nodus_int(9), nodus_int(9)};
  nodus_term big[] = {nodus_int(1), nodus_int(1), nodus_int(2), nodus_int(2)};
  ORDER(map_sorted(1, small), map_sorted(2, big), -1);
  nodus_term kf[] = {nodus_float(1.0), atom("a")}, k2[] = {nodus_int(2),
                                                           atom("a")};
  ORDER(map_sorted(1, kf), map_sorted(1, k2), 1); /* key 1.0 after key 2 */
  nodus_term kt[] = {nodus_float(1.0), atom("a")}, kt2[] = {nodus_int(2),
                                                            atom("a")};
  nodus_term tk = tuple(1, &kt[0]), tk2 = tuple(1, &kt2[0]);
  kt[0] = tk;
  kt2[0] = tk2;
  ORDER(map_sorted(1, kt), map_sorted(1, kt2), 1); /* {1.0} after {2} */
  /* Sorting puts every integer key before every float key. */
  nodus_term mixed[] = {nodus_float(0.5), atom("a"), nodus_int(2), atom("b"),
                        nodus_float(-3.0), atom("c"), pow2(false, 70, 0),
                        atom("d"), nodus_int(-1), atom("e")};
  nodus_term mm = map_raw(5, mixed);
  CHECK_RC(term_map_sort(&mm), 0);
  CHECK(mm.v.items[0].v.i == -1 && mm.v.items[2].v.i == 2 &&
        mm.v.items[4].type == NODUS_T_BIGINT &&
        mm.v.items[6].v.f == -3.0 && mm.v.items[8].v.f == 0.5);
  nodus_term_free(&mm);
  /* #{1.0 => a, 1 => b} in either stored order. */
  nodus_term w1[] = {nodus_float(1.0), atom("a"), nodus_int(1), atom("b")};
  nodus_term w2[] = {nodus_int(1), atom("b"), nodus_float(1.0), atom("a")};
  SAME(map_raw(2, w1), map_raw(2, w2), 0);
  nodus_term w3[] = {nodus_float(1.0), atom("a"), nodus_int(1), atom("b")};
  nodus_term w4[] = {nodus_int(1), atom("a"), nodus_float(1.0), atom("b")};
  /* Values in key order: 1 => b vs 1 => a. */
  ORDER(map_raw(2, w3), map_raw(2, w4), 1);

  /* Wire order against sorted, small (stack index) and large (heap). */
  for (int n = 3; n <= 60; n += 57) {
    nodus_term *wire = calloc((size_t)n * 2, sizeof *wire);
    nodus_term *pairs = calloc((size_t)n * 2, sizeof *pairs);
    for (int i = 0; i < n; i++) {
      int k = (i * 37) % n; /* a permutation */
      wire[2 * i] = nodus_int(k);
      wire[2 * i + 1] = nodus_int(-k);
      pairs[2 * i] = nodus_int(k);
      pairs[2 * i + 1] = nodus_int(-k);
    }
    nodus_term a = map_raw((size_t)n, wire), b = map_sorted((size_t)n, pairs);
    CHECK(nodus_equal(&a, &b));
    CHECK(nodus_hash(&a) == nodus_hash(&b));
    uint32_t *idx = term_map_sorted_index(&a);
    CHECK(idx != NULL);
    bool in_order = true;
    for (int i = 0; idx && i < n; i++)
      in_order = in_order && a.v.items[2 * idx[i]].v.i == i;
    CHECK(in_order);
    free(idx);
    /* One value changed: order follows that value. */
    nodus_term_free(&b.v.items[2 * (n - 1) + 1]);
    b.v.items[2 * (n - 1) + 1] = nodus_int(1000);
    CHECK(nodus_compare(&a, &b) < 0 && nodus_compare(&b, &a) > 0);
    CHECK(term_map_sort(&a) == 0);
    CHECK(a.flags & NODUS_TF_MAP_SORTED);
    for (int i = 0; i < n; i++) CHECK(a.v.items[2 * i].v.i == i);
    CHECK(nodus_compare(&a, &b) < 0);
    nodus_term_free(&a);
    nodus_term_free(&b);
    free(wire);
    free(pairs);
  }

  /* Duplicate keys: NODUS_EDUPKEY, map unchanged. */
  nodus_term d[] = {nodus_int(2), atom("x"), nodus_int(1), atom("y"),
                    nodus_int(2), atom("z")};
  nodus_term dm = map_raw(3, d);
  CHECK_RC(term_map_sort(&dm), NODUS_EDUPKEY);
  CHECK(!(dm.flags & NODUS_TF_MAP_SORTED));
  CHECK(dm.v.items[0].v.i == 2 && dm.v.items[2].v.i == 1 &&
        dm.v.items[4].v.i == 2);
  nodus_term_free(&dm);
  /* 1 and 1.0 are different keys. */
  nodus_term nd[] = {nodus_float(1.0), atom("x"), nodus_int(1), atom("y")};
  nodus_term ndm = map_raw(2, nd);
  CHECK_RC(term_map_sort(&ndm), 0);
  CHECK(ndm.v.items[0].type == NODUS_T_INT);
  nodus_term_free(&ndm);
  /* -0.0 and 0.0 are the same key in OTP 25. */
  nodus_term zk[] = {nodus_float(-0.0), atom("x"), nodus_float(0.0), atom("y")};
  nodus_term zm = map_raw(2, zk);
  CHECK_RC(term_map_sort(&zm), NODUS_EDUPKEY);
  nodus_term_free(&zm);
  nodus_term nt = nodus_int(1);
  CHECK_RC(term_map_sort(&nt), NODUS_EBADTYPE);
}

/* ---- bitstrings -------------------------------------------------------- */

static void test_bits(void) {
  ORDER(bits("\x80", 1), bits("\x01", 8), 1);   /* <<1:1>> > <<1>> */
  ORDER(bits("\x00", 1), bits("\x00", 8), -1);  /* <<0:1>> < <<0>> */
  /* <<1,2:3>> > <<1,2:4>> */
  ORDER(bits("\x01\x40", 11), bits("\x01\x20", 12), 1);
  ORDER(bits("\x01\x00", 11), bits("\x01", 8), 1);
  ORDER(bits("abc", 24), bits("abd", 24), -1);
  ORDER(bits("abc", 24), bits("ab", 16), 1);
  ORDER(bits("", 0), bits("\x00", 1), -1);
  SAME(bits("ab\xff", 17), bits("ab\x80", 17), 0); /* unused bits ignored */
  /* Unused bits set by hand (a careless producer) still don't count. */
  nodus_term a = bits("ab\x80", 17), b = bits("ab\x80", 17);
  b.v.bin->data[2] = 0xBF;
  SAME(a, b, 0);
}

/* ---- hashing ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static size_t duplicates(uint64_t *h, size_t n) {
  qsort(h, n, sizeof *h, cmp_u64);
  size_t d = 0;
  for (size_t i = 1; i < n; i++) d += h[i] == h[i - 1];
  return d;
}

static void test_hash(void) {
  enum { N = 20000 };
  uint64_t *h = malloc(N * sizeof *h);
  /* Small ints, floats of the same values, pairs and short lists. */
  for (int i = 0; i < N / 2; i++) {
    nodus_term a = nodus_int(i), f = nodus_float(i);
    h[2 * i] = nodus_hash(&a);
    h[2 * i + 1] = nodus_hash(&f);
  }
  CHECK(duplicates(h, N) == 0);
  for (int i = 0; i < N; i++) {
    nodus_term e[] = {nodus_int(i % 100), nodus_int(i / 100)};
    nodus_term t = tuple(2, e);
    h[i] = nodus_hash(&t);
    nodus_term_free(&t);
  }
  CHECK(duplicates(h, N) == 0);
  for (int i = 0; i < N; i++) {
    nodus_term e[] = {nodus_int(i % 100), nodus_int(i / 100)};
    nodus_term t = list(2, e, nodus_nil());
    h[i] = nodus_hash(&t);
    nodus_term_free(&t);
  }
  CHECK(duplicates(h, N) == 0);
  /* Maps {k => v} and {v => k} differ. */
  for (int i = 0; i < N; i++) {
    nodus_term p[] = {nodus_int(i % 100), nodus_int(i / 100)};
    nodus_term t = map_sorted(1, p);
    h[i] = nodus_hash(&t);
    nodus_term_free(&t);
  }
  CHECK(duplicates(h, N) == 0);
  free(h);
  nodus_term a = nodus_float(-0.0), b = nodus_float(0.0);
  CHECK(nodus_hash(&a) == nodus_hash(&b));
  nodus_term i1 = nodus_int(1), f1 = nodus_float(1.0);
  CHECK(nodus_hash(&i1) != nodus_hash(&f1));
  nodus_term bin = bits("abc", 24), bs = bits("abc", 23);
  CHECK(nodus_hash(&bin) != nodus_hash(&bs));
  nodus_term_free(&bin);
  nodus_term_free(&bs);
}

int main(void) {
  test_numbers();
  test_type_order();
  test_atoms();
  test_idents();
  test_funs();
  test_tuples_lists();
  test_maps();
  test_bits();
  test_hash();
  return check_report();
}

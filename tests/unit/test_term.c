/* Constructors, accessors, maps and ownership of nodus terms. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus/term.h"

static void test_scalars(void) {
  nodus_term t = nodus_int(-42);
  int64_t i = 0;
  CHECK(nodus_type_of(&t) == NODUS_T_INT);
  CHECK_RC(nodus_get_int64(&t, &i), 0);
  CHECK(i == -42);
  double d = 0;
  CHECK_RC(nodus_get_double(&t, &d), NODUS_EBADTYPE);

  t = nodus_float(-0.0);
  CHECK_RC(nodus_get_double(&t, &d), 0);
  CHECK(d == 0.0 && 1 / d < 0); /* the sign of -0.0 survives */
  CHECK_RC(nodus_get_int64(&t, &i), NODUS_EBADTYPE);

  t = nodus_nil();
  CHECK(nodus_type_of(&t) == NODUS_T_NIL);
  CHECK(nodus_is_proper_list(&t));
  CHECK(nodus_size(&t) == 0);

  t = nodus_bool(true);
  CHECK(nodus_is_atom(&t, "true"));
  CHECK(!nodus_is_atom(&t, "false"));
  t = nodus_bool(false);
  CHECK(nodus_is_atom(&t, "false"));

  /* A zeroed term is "no term"; freeing it is a no-op. */
  nodus_term none = {0};
  CHECK(nodus_type_of(&none) == NODUS_T_NONE);
  nodus_term_free(&none);
  nodus_term_free(NULL);
}

static void test_atoms(void) {
  nodus_atom a, b;
  CHECK_RC(nodus_atom_intern("hello", 5, &a), 0);
  CHECK_RC(nodus_atom_intern("hello", 5, &b), 0);
  CHECK(a == b); /* interned once */
  size_t len = 0;
  const char *s = nodus_atom_text(a, &len);
  CHECK(s && len == 5 && strcmp(s, "hello") == 0);
  CHECK_RC(nodus_atom_lookup("hello", 5, &b), 0);
  CHECK(a == b);
  CHECK_RC(nodus_atom_lookup("surely_not_interned_yet_x9", 26, &b), NODUS_ENOMATCH);

  /* Well-known atoms. */
  CHECK_STR(nodus_atom_text(NODUS_ATOM_TRUE, NULL), "true");
  CHECK_STR(nodus_atom_text(NODUS_ATOM_NONODE, NULL), "nonode@nohost");
  CHECK_STR(nodus_atom_text(NODUS_ATOM_EMPTY, NULL), "");

  /* 255 code points is the limit, in characters, not bytes. */
  char buf[2 * 256 + 1];
  for (int k = 0; k < 255; k++) memcpy(buf + 2 * k, "\xC3\xA9", 2);
  CHECK_RC(nodus_atom_intern(buf, 2 * 255, &a), 0);
  memcpy(buf + 2 * 255, "\xC3\xA9", 2);
  CHECK_RC(nodus_atom_intern(buf, 2 * 256, &a), NODUS_EBADATOM);
  CHECK_RC(nodus_atom_intern("\xC3", 1, &a), NODUS_EBADATOM); /* bad UTF-8 */

  nodus_term t;
  CHECK_RC(nodus_mk_atom(&t, "\xD0\xBF"), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_ATOM);
  CHECK(nodus_is_atom(&t, "\xD0\xBF"));
}

static void test_integers(void) {
  nodus_term t;
  int64_t v = 0;
  /* Small magnitudes normalise to NODUS_T_INT. */
  uint8_t one[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_RC(nodus_mk_integer(&t, true, one, sizeof one), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_INT);
  CHECK_RC(nodus_get_int64(&t, &v), 0);
  CHECK(v == -1);

  /* -2^63 fits in int64; 2^63 does not. */
  uint8_t m63[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
  CHECK_RC(nodus_mk_integer(&t, true, m63, 8), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_INT && t.v.i == INT64_MIN);
  CHECK_RC(nodus_mk_integer(&t, false, m63, 8), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_BIGINT);
  CHECK_RC(nodus_get_int64(&t, &v), NODUS_ERANGE);
  nodus_term_free(&t);

  CHECK_RC(nodus_mk_uint64(&t, UINT64_MAX), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_BIGINT);
  CHECK(t.v.big->len == 8 && !t.v.big->negative && t.v.big->mag[7] == 0xFF);
  nodus_term_free(&t);
  CHECK_RC(nodus_mk_uint64(&t, 7), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_INT && t.v.i == 7);

  /* Zero-length magnitude is 0. */
  CHECK_RC(nodus_mk_integer(&t, true, NULL, 0), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_INT && t.v.i == 0);
}

static void test_binaries(void) {
  nodus_term t;
  size_t nbytes = 0, nbits = 0;
  CHECK_RC(nodus_mk_binary(&t, "abc", 3), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_BINARY);
  const uint8_t *d = nodus_bin_data(&t, &nbytes, &nbits);
  CHECK(d && nbytes == 3 && nbits == 24 && memcmp(d, "abc", 3) == 0);
  CHECK(nodus_size(&t) == 3);
  nodus_term_free(&t);

  /* A bitstring keeps its bit length and clears the unused low bits. */
  uint8_t raw[2] = {0xAB, 0xFF};
  CHECK_RC(nodus_mk_bitstring(&t, raw, 11), 0);
  d = nodus_bin_data(&t, &nbytes, &nbits);
  CHECK(d && nbytes == 2 && nbits == 11 && d[0] == 0xAB && d[1] == 0xE0);
  nodus_term_free(&t);

  CHECK_RC(nodus_mk_binary(&t, NULL, 0), 0);
  d = nodus_bin_data(&t, &nbytes, &nbits);
  CHECK(nbytes == 0 && nbits == 0);
  nodus_term_free(&t);

  nodus_term n = nodus_int(1);
  CHECK(nodus_bin_data(&n, &nbytes, &nbits) == NULL);
}

static void test_strings_and_lists(void) {
  nodus_term s;
  CHECK_RC(nodus_mk_string(&s, "h\xC3\xA9\xE2\x82\xAC", 6), 0); /* "hé€" */
  CHECK(nodus_type_of(&s) == NODUS_T_LIST && nodus_size(&s) == 3);
  CHECK(nodus_list_item(&s, 0)->v.i == 'h');
  CHECK(nodus_list_item(&s, 1)->v.i == 0xE9);
  CHECK(nodus_list_item(&s, 2)->v.i == 0x20AC);
  CHECK(nodus_list_item(&s, 3) == NULL);
  CHECK(nodus_type_of(nodus_list_tail(&s)) == NODUS_T_NIL);
  CHECK(nodus_is_proper_list(&s));
  nodus_term_free(&s);

  CHECK_RC(nodus_mk_string(&s, "", 0), 0);
  CHECK(nodus_type_of(&s) == NODUS_T_NIL);
  CHECK(nodus_mk_string(&s, "\xFF", 1) < 0); /* invalid UTF-8 */

  nodus_term l;
  CHECK_RC(nodus_mk_list(&l, 2), 0);
  nodus_list_set(&l, 0, nodus_int(1));
  nodus_term b;
  CHECK_RC(nodus_mk_binary(&b, "x", 1), 0);
  nodus_list_set(&l, 1, b);
  nodus_list_set(&l, 1, nodus_int(2)); /* replacing frees the binary */
  nodus_list_set_tail(&l, nodus_atom_term(NODUS_ATOM_OK));
  CHECK(!nodus_is_proper_list(&l));
  CHECK(nodus_is_atom(nodus_list_tail(&l), "ok"));
  CHECK(nodus_list_item(&l, 1)->v.i == 2);
  /* Out of range: the element is freed, the list unchanged. */
  CHECK_RC(nodus_mk_binary(&b, "y", 1), 0);
  nodus_list_set(&l, 5, b);
  CHECK(nodus_size(&l) == 2);
  nodus_term_free(&l);
  CHECK(nodus_type_of(&l) == NODUS_T_NONE);

  CHECK_RC(nodus_mk_list(&l, 0), 0);
  CHECK(nodus_type_of(&l) == NODUS_T_NIL);
}

static void test_tuples(void) {
  nodus_term t;
  CHECK_RC(nodus_mk_tuple(&t, 3), 0);
  CHECK(nodus_type_of(&t) == NODUS_T_TUPLE && nodus_size(&t) == 3);
  CHECK(nodus_type_of(nodus_tuple_elem(&t, 2)) == NODUS_T_NONE); /* unset */
  nodus_tuple_set(&t, 0, nodus_atom_term(NODUS_ATOM_OK));
  nodus_tuple_set(&t, 1, nodus_float(1.5));
  nodus_term inner;
  CHECK_RC(nodus_mk_tuple(&inner, 0), 0);
  nodus_tuple_set(&t, 2, inner);
  CHECK(nodus_is_atom(nodus_tuple_elem(&t, 0), "ok"));
  CHECK(nodus_tuple_elem(&t, 1)->v.f == 1.5);
  CHECK(nodus_size(nodus_tuple_elem(&t, 2)) == 0);
  CHECK(nodus_tuple_elem(&t, 3) == NULL);
  nodus_term not_tuple = nodus_int(3);
  CHECK(nodus_tuple_elem(&not_tuple, 0) == NULL);
  nodus_term_free(&t);
}

static void test_maps(void) {
  nodus_term m;
  CHECK_RC(nodus_mk_map(&m), 0);
  CHECK(nodus_type_of(&m) == NODUS_T_MAP && nodus_size(&m) == 0);
  nodus_term k = nodus_int(1);
  CHECK(nodus_map_get(&m, &k) == NULL);

  /* Insert out of order, with keys of several types. */
  nodus_term key, val;
  CHECK_RC(nodus_mk_binary(&key, "b", 1), 0);
  CHECK_RC(nodus_map_put(&m, key, nodus_int(10)), 0);
  CHECK_RC(nodus_map_put(&m, nodus_atom_term(NODUS_ATOM_OK), nodus_int(20)), 0);
  CHECK_RC(nodus_map_put(&m, nodus_int(1), nodus_int(30)), 0);
  CHECK_RC(nodus_map_put(&m, nodus_float(1.0), nodus_int(40)), 0);
  CHECK(nodus_size(&m) == 4);

  /* =:= lookup: 1 and 1.0 are different keys. */
  k = nodus_int(1);
  const nodus_term *v = nodus_map_get(&m, &k);
  CHECK(v && v->v.i == 30);
  k = nodus_float(1.0);
  v = nodus_map_get(&m, &k);
  CHECK(v && v->v.i == 40);
  k = nodus_atom_term(NODUS_ATOM_OK);
  v = nodus_map_get(&m, &k);
  CHECK(v && v->v.i == 20);
  CHECK_RC(nodus_mk_binary(&key, "b", 1), 0);
  v = nodus_map_get(&m, &key);
  CHECK(v && v->v.i == 10);
  nodus_term_free(&key);

  /* Keys are kept in term order: number < atom < binary. */
  CHECK(nodus_type_of(nodus_map_key(&m, 2)) == NODUS_T_ATOM);
  CHECK(nodus_type_of(nodus_map_key(&m, 3)) == NODUS_T_BINARY);
  CHECK(nodus_map_value(&m, 4) == NULL && nodus_map_key(&m, 4) == NULL);

  /* Replacing keeps the size; the replaced value and the new key are
   * freed (ASan/valgrind would tell). */
  CHECK_RC(nodus_mk_binary(&key, "b", 1), 0);
  CHECK_RC(nodus_mk_binary(&val, "new", 3), 0);
  CHECK_RC(nodus_map_put(&m, key, val), 0);
  CHECK(nodus_size(&m) == 4);
  CHECK_RC(nodus_mk_binary(&key, "b", 1), 0);
  v = nodus_map_get(&m, &key);
  CHECK(v && nodus_type_of(v) == NODUS_T_BINARY && nodus_size(v) == 3);
  nodus_term_free(&key);

  /* Many keys: all found. */
  for (int64_t i = 100; i < 300; i++) CHECK_RC(nodus_map_put(&m, nodus_int(i), nodus_int(-i)), 0);
  CHECK(nodus_size(&m) == 204);
  int found = 0;
  for (int64_t i = 100; i < 300; i++) {
    k = nodus_int(i);
    v = nodus_map_get(&m, &k);
    found += v && v->v.i == -i;
  }
  CHECK(found == 200);

  /* Putting into something that is not a map fails and frees both. */
  nodus_term notmap = nodus_int(0);
  CHECK_RC(nodus_mk_binary(&key, "k", 1), 0);
  CHECK_RC(nodus_map_put(&notmap, key, nodus_int(1)), NODUS_EBADTYPE);
  nodus_term_free(&m);
}

static void test_idents_and_funs(void) {
  nodus_atom node;
  CHECK_RC(nodus_atom_intern("n@h", 3, &node), 0);
  nodus_term p;
  CHECK_RC(nodus_mk_pid(&p, node, 12, 3, 7), 0);
  CHECK(nodus_type_of(&p) == NODUS_T_PID);
  CHECK(p.v.id->node == node && p.v.id->w[0] == 12 && p.v.id->w[1] == 3 &&
        p.v.id->creation == 7);

  nodus_term port;
  CHECK_RC(nodus_mk_port(&port, node, (UINT64_C(5) << 32) | 9, 1), 0);
  CHECK(nodus_type_of(&port) == NODUS_T_PORT);
  CHECK(port.v.id->w[0] == 9 && port.v.id->w[1] == 5);

  uint32_t words[3] = {1, 2, 3};
  nodus_term r;
  CHECK_RC(nodus_mk_ref(&r, node, 4, words, 3), 0);
  CHECK(nodus_type_of(&r) == NODUS_T_REF && r.v.id->len == 3 && r.v.id->w[2] == 3);
  nodus_term bad;
  CHECK_RC(nodus_mk_ref(&bad, node, 4, words, 0), NODUS_EINVAL);
  uint32_t six[6] = {0};
  CHECK_RC(nodus_mk_ref(&bad, node, 4, six, 6), NODUS_EINVAL);

  /* Copies of identifiers are independent. */
  nodus_term c;
  CHECK_RC(nodus_copy(&c, &p), 0);
  CHECK(c.v.id != p.v.id && c.v.id->w[0] == 12);
  nodus_term_free(&p);
  CHECK(c.v.id->w[0] == 12);
  nodus_term_free(&c);
  nodus_term_free(&port);
  nodus_term_free(&r);

  nodus_atom mod, fun;
  CHECK_RC(nodus_atom_intern("lists", 5, &mod), 0);
  CHECK_RC(nodus_atom_intern("map", 3, &fun), 0);
  nodus_term f;
  CHECK_RC(nodus_mk_export_fun(&f, mod, fun, 2), 0);
  CHECK(nodus_type_of(&f) == NODUS_T_FUN);
  /* fun lists:map/2 as EXPORT_EXT bytes. */
  static const uint8_t want[] = {113, 100, 0, 5, 'l', 'i', 's', 't', 's',
                                 100, 0,   3, 'm', 'a', 'p', 97,  2};
  CHECK(f.n == sizeof want && memcmp(f.v.bin->data, want, sizeof want) == 0);
  nodus_term_free(&f);
}

/* Copies share refcounted payloads; freeing the original leaves the copy
 * whole (checked under ASan/valgrind by the suite). */
static void test_copy_ownership(void) {
  nodus_term t;
  CHECK_RC(nodus_mk_tuple(&t, 3), 0);
  nodus_term b, big, l;
  CHECK_RC(nodus_mk_binary(&b, "payload", 7), 0);
  uint8_t mag[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  CHECK_RC(nodus_mk_integer(&big, false, mag, 12), 0);
  CHECK_RC(nodus_mk_string(&l, "abc", 3), 0);
  nodus_tuple_set(&t, 0, b);
  nodus_tuple_set(&t, 1, big);
  nodus_tuple_set(&t, 2, l);
  nodus_term c;
  CHECK_RC(nodus_copy(&c, &t), 0);
  CHECK(c.v.items != t.v.items);
  CHECK(c.v.items[0].v.bin == t.v.items[0].v.bin); /* shared payload */
  CHECK(c.v.items[0].v.bin->refs == 2);
  nodus_term_free(&t);
  CHECK(c.v.items[0].v.bin->refs == 1);
  CHECK(memcmp(c.v.items[0].v.bin->data, "payload", 7) == 0);
  CHECK(c.v.items[1].v.big->len == 12 && c.v.items[1].v.big->mag[11] == 12);
  CHECK(nodus_size(&c.v.items[2]) == 3);
  nodus_term_free(&c);
}

static void test_build(void) {
  nodus_term extra, t;
  CHECK_RC(nodus_mk_binary(&extra, "zz", 2), 0);
  int rc = nodus_build(&t, "{~a, ~i, ~s, ~b, ~t}", "ok", (int64_t)42, "text", "bin", (size_t)3,
                       extra);
  CHECK_RC(rc, 0);
  if (rc) return;
  CHECK(nodus_type_of(&t) == NODUS_T_TUPLE && nodus_size(&t) == 5);
  CHECK(nodus_is_atom(nodus_tuple_elem(&t, 0), "ok"));
  CHECK(nodus_tuple_elem(&t, 1)->v.i == 42);
  CHECK(nodus_size(nodus_tuple_elem(&t, 2)) == 4);
  CHECK(nodus_size(nodus_tuple_elem(&t, 3)) == 3);
  CHECK(nodus_size(nodus_tuple_elem(&t, 4)) == 2);
  nodus_term_free(&t);
}

int main(void) {
  test_scalars();
  test_atoms();
  test_integers();
  test_binaries();
  test_strings_and_lists();
  test_tuples();
  test_maps();
  test_idents_and_funs();
  test_copy_ownership();
  test_build();
  return check_report();
}

/* nodus_print against OTP 25's io_lib:format("~p", [T]).
 *
 * Every expected string below was first printed by erl 25 (the exact,
 * non-wrapping form given at the top of src/term/print.c), then converted
 * to UTF-8 with unicode:characters_to_binary/1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus/term.h"

static void expect_print(const nodus_term *t, const char *want, int line) {
  char *s = NULL;
  size_t len = 0;
  int rc = nodus_print(t, NULL, &s, &len);
  if (rc != 0 || !s || strcmp(s, want) != 0 || strlen(s) != len) {
    check_failed++;
    fprintf(stderr, "test_print.c:%d: got \"%s\" (rc %d), wanted \"%s\"\n",
            line, s ? s : "(null)", rc, want);
  } else {
    check_passed++;
  }
  free(s);
}
#define EXPECT(t, want) expect_print((t), (want), __LINE__)

/* Prints and frees t. */
static void expect_own(nodus_term t, const char *want, int line) {
  expect_print(&t, want, line);
  nodus_term_free(&t);
}
#define EXPECT_OWN(t, want) expect_own((t), (want), __LINE__)

static nodus_term atom(const char *s) {
  nodus_term t;
  if (nodus_mk_atom(&t, s)) memset(&t, 0, sizeof t);
  return t;
}

static nodus_term ints(const int64_t *v, size_t n) {
  nodus_term l;
  nodus_mk_list(&l, n);
  for (size_t i = 0; i < n; i++) nodus_list_set(&l, i, nodus_int(v[i]));
  return l;
}
#define INTS(...)                                                  \
  ints((const int64_t[]){__VA_ARGS__},                             \
       sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static nodus_term bin(const void *d, size_t n) {
  nodus_term t;
  nodus_mk_binary(&t, d, n);
  return t;
}

static nodus_term tuple2(nodus_term a, nodus_term b) {
  nodus_term t;
  nodus_mk_tuple(&t, 2);
  nodus_tuple_set(&t, 0, a);
  nodus_tuple_set(&t, 1, b);
  return t;
}

static void test_integers(void) {
  EXPECT_OWN(nodus_int(0), "0");
  EXPECT_OWN(nodus_int(-5), "-5");
  EXPECT_OWN(nodus_int(INT64_MAX), "9223372036854775807");
  EXPECT_OWN(nodus_int(INT64_MIN), "-9223372036854775808");
  nodus_term t;
  /* 2^64 */
  uint8_t mag[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK_RC(nodus_mk_integer(&t, false, mag, 9), 0);
  EXPECT_OWN(t, "18446744073709551616");
  /* -(2^63 + 1) */
  uint8_t m2[8] = {1, 0, 0, 0, 0, 0, 0, 0x80};
  CHECK_RC(nodus_mk_integer(&t, true, m2, 8), 0);
  EXPECT_OWN(t, "-9223372036854775809");
  /* 123456789012345678901234567890 = 0x18EE90FF6C373E0EE4E3F0AD2 */
  uint8_t m3[] = {0xD2, 0x0A, 0x3F, 0x4E, 0xEE, 0xE0, 0x73,
                  0xC3, 0xF6, 0x0F, 0xE9, 0x8E, 0x01};
  CHECK_RC(nodus_mk_integer(&t, true, m3, sizeof m3), 0);
  EXPECT_OWN(t, "-123456789012345678901234567890");
}

static void test_floats(void) {
  static const struct {
    double f;
    const char *want;
  } cases[] = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {0.5, "0.5"},
      {100.0, "100.0"},
      {1000.0, "1.0e3"},
      {12.5, "12.5"},
      {0.001, "0.001"},
      {0.0001, "0.0001"},
      {0.00001, "1.0e-5"},
      {2.5e-3, "0.0025"},
      {2.0e-7, "2.0e-7"},
      {1.0e-10, "1.0e-10"},
      {1.0e20, "1.0e20"},
      {123456789.0, "123456789.0"},
      {1.0e9, "1.0e9"},
      {1.5e9, "1.5e9"},
      {1234567890.0, "1234567890.0"},
      {12345678900.0, "12345678900.0"},
      {5.0e-324, "5.0e-324"},
      {1.7976931348623157e308, "1.7976931348623157e308"},
      {1.0e15, "1.0e15"},
      {1.0e16, "1.0e16"},
      {123456789012345.0, "123456789012345.0"},
      {1234567890123456.0, "1234567890123456.0"},
      {12345678901234567.0, "1.2345678901234568e16"},
      {9007199254740992.0, "9.007199254740992e15"},
      {4503599627370500.0, "4503599627370500.0"},
      {1.5e300, "1.5e300"},
      {-1.0e-300, "-1.0e-300"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    EXPECT_OWN(nodus_float(cases[i].f), cases[i].want);
}

static void test_atoms(void) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"a", "a"},
      {"A", "'A'"},
      {"hello world", "'hello world'"},
      {"if", "'if'"},
      {"end", "'end'"},
      {"fun", "'fun'"},
      {"maybe", "maybe"}, /* not reserved in OTP 25 by default */
      {"else", "else"},
      {"a@b", "a@b"},
      {"a.b", "'a.b'"},
      {"", "''"},
      {"_", "'_'"},
      {"B@", "'B@'"},
      {"aB", "aB"},
      {"a-b", "'a-b'"},
      {"a1", "a1"},
      {"1a", "'1a'"},
      {"a_", "a_"},
      {"\xc3\x9f", "\xc3\x9f"},           /* ß */
      {"\xc3\xbf", "\xc3\xbf"},           /* ÿ */
      {"\xc3\xa9", "\xc3\xa9"},           /* é */
      {"\xc3\xa9@", "\xc3\xa9@"},         /* é@ */
      {"\xce\xa9", "'\\x{3A9}'"},         /* Ω */
      {"\xc4\x84", "'\\x{104}'"},         /* Ą */
      {"a\xf0\x90\x80\x80", "'a\\x{10000}'"},
      {"\xf0\x9f\x99\x82", "'\\x{1F642}'"}, /* 🙂 */
      {"hello\nworld", "'hello\\nworld'"},
      {"it's", "'it\\'s'"},
      {"\\", "'\\\\'"},
      {"a\x01" "b", "'a\\001b'"},
      {"a\xc2\x80", "'a\\200'"},
      {"a\x7f", "'a\\d'"},
      {"a\"b", "'a\"b'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    EXPECT_OWN(atom(cases[i].text), cases[i].want);
}

static void test_lists_and_strings(void) {
  EXPECT_OWN(nodus_nil(), "[]");
  nodus_term t;
  CHECK_RC(nodus_mk_string(&t, "", 0), 0);
  EXPECT_OWN(t, "[]");
  CHECK_RC(nodus_mk_string(&t, "abc", 3), 0);
  EXPECT_OWN(t, "\"abc\"");
  CHECK_RC(nodus_mk_string(&t, "a\nb\"\\", 5), 0);
  EXPECT_OWN(t, "\"a\\nb\\\"\\\\\"");
  EXPECT_OWN(INTS('a', 27, 11, 8, 12, 13, 9), "\"a\\e\\v\\b\\f\\r\\t\"");
  EXPECT_OWN(INTS(1, 2, 3), "[1,2,3]");
  EXPECT_OWN(INTS(960), "[960]");
  EXPECT_OWN(INTS(233), "\"\xc3\xa9\"");
  EXPECT_OWN(INTS(255), "\"\xc3\xbf\"");
  EXPECT_OWN(INTS(160), "\"\xc2\xa0\"");
  EXPECT_OWN(INTS(256), "[256]");
  EXPECT_OWN(INTS('a', 127), "[97,127]");
  EXPECT_OWN(INTS(7, 8, 9, 10, 11, 12, 13, 27, 127),
             "[7,8,9,10,11,12,13,27,127]");
  EXPECT_OWN(INTS(0), "[0]");
  EXPECT_OWN(INTS(-1), "[-1]");
  EXPECT_OWN(INTS('a', 'b', 'c', 1), "[97,98,99,1]");
  EXPECT_OWN(INTS(128578), "[128578]");

  /* [a|b], [1,2|3], [[]], [{}] */
  CHECK_RC(nodus_mk_list(&t, 1), 0);
  nodus_list_set(&t, 0, atom("a"));
  nodus_list_set_tail(&t, atom("b"));
  EXPECT_OWN(t, "[a|b]");
  t = INTS(1, 2);
  nodus_list_set_tail(&t, nodus_int(3));
  EXPECT_OWN(t, "[1,2|3]");
  CHECK_RC(nodus_mk_list(&t, 1), 0);
  nodus_list_set(&t, 0, nodus_nil());
  EXPECT_OWN(t, "[[]]");
  nodus_term e;
  CHECK_RC(nodus_mk_tuple(&e, 0), 0);
  CHECK_RC(nodus_mk_list(&t, 1), 0);
  nodus_list_set(&t, 0, e);
  EXPECT_OWN(t, "[{}]");
  /* [<<"a">>|<<"b">>] */
  CHECK_RC(nodus_mk_list(&t, 1), 0);
  nodus_list_set(&t, 0, bin("a", 1));
  nodus_list_set_tail(&t, bin("b", 1));
  EXPECT_OWN(t, "[<<\"a\">>|<<\"b\">>]");
  /* A list holding a string is not a string. */
  CHECK_RC(nodus_mk_list(&t, 1), 0);
  nodus_list_set(&t, 0, INTS('a'));
  EXPECT_OWN(t, "[\"a\"]");
}

static void test_binaries(void) {
  EXPECT_OWN(bin("", 0), "<<>>");
  EXPECT_OWN(bin("abc", 3), "<<\"abc\">>");
  EXPECT_OWN(bin("\x01\x02\x03", 3), "<<1,2,3>>");
  EXPECT_OWN(bin("a\"b\\c\n", 6), "<<\"a\\\"b\\\\c\\n\">>");
  EXPECT_OWN(bin("\xc3\xa9", 2), "<<\"\xc3\x83\xc2\xa9\">>");
  EXPECT_OWN(bin("\xff", 1), "<<\"\xc3\xbf\">>");
  EXPECT_OWN(bin("\xff\xff", 2), "<<\"\xc3\xbf\xc3\xbf\">>");
  EXPECT_OWN(bin("\x7f", 1), "<<127>>");
  EXPECT_OWN(bin("\x07", 1), "<<7>>");
  EXPECT_OWN(bin("\x1b", 1), "<<\"\\e\">>");
  EXPECT_OWN(bin("\xa0", 1), "<<\"\xc2\xa0\">>");
  EXPECT_OWN(bin("abcdefghijklmnopqrstuvwxyz", 26),
             "<<\"abcdefghijklmnopqrstuvwxyz\">>");
  EXPECT_OWN(bin("abcdefghijklmnopqrstuvwxyz\x01", 27),
             "<<97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,"
             "112,113,114,115,116,117,118,119,120,121,122,1>>");
  nodus_term t;
  /* <<1,2:3>> is 0x01 then 010 */
  CHECK_RC(nodus_mk_bitstring(&t, "\x01\x40", 11), 0);
  EXPECT_OWN(t, "<<1,2:3>>");
  CHECK_RC(nodus_mk_bitstring(&t, "\xa0", 3), 0);
  EXPECT_OWN(t, "<<5:3>>");
  CHECK_RC(nodus_mk_bitstring(&t, "\x80", 1), 0);
  EXPECT_OWN(t, "<<1:1>>");
  CHECK_RC(nodus_mk_bitstring(&t, "\x00", 7), 0);
  EXPECT_OWN(t, "<<0:7>>");
  CHECK_RC(nodus_mk_bitstring(&t, "ab\xff", 20), 0); /* <<"ab",15:4>> */
  EXPECT_OWN(t, "<<97,98,15:4>>");
}

static void test_tuples_and_maps(void) {
  nodus_term t;
  CHECK_RC(nodus_mk_tuple(&t, 0), 0);
  EXPECT_OWN(t, "{}");
  EXPECT_OWN(tuple2(atom("a"), atom("b")), "{a,b}");
  CHECK_RC(nodus_mk_map(&t), 0);
  EXPECT_OWN(t, "#{}");
  /* Maps print in stored order; build the pairs by hand so this test does
   * not depend on nodus_compare_exact. */
  t.type = NODUS_T_MAP;
  t.flags = NODUS_TF_MAP_SORTED;
  t.n = 2;
  t.v.items = calloc(4, sizeof(nodus_term));
  t.v.items[0] = atom("a");
  t.v.items[1] = nodus_int(1);
  t.v.items[2] = atom("b");
  t.v.items[3] = nodus_int(2);
  EXPECT(&t, "#{a => 1,b => 2}");
  nodus_term_free(&t);
  /* #{1 => a,a => 1,"x" => []} */
  t.type = NODUS_T_MAP;
  t.n = 3;
  t.v.items = calloc(6, sizeof(nodus_term));
  t.v.items[0] = nodus_int(1);
  t.v.items[1] = atom("a");
  t.v.items[2] = atom("a");
  t.v.items[3] = nodus_int(1);
  nodus_mk_string(&t.v.items[4], "x", 1);
  t.v.items[5] = nodus_nil();
  EXPECT(&t, "#{1 => a,a => 1,\"x\" => []}");
  nodus_term_free(&t);
  /* #{#{} => []} inside a tuple: {#{#{} => []}} */
  nodus_term m;
  m.type = NODUS_T_MAP;
  m.flags = NODUS_TF_MAP_SORTED;
  m.reserved = 0;
  m.n = 1;
  m.v.items = calloc(2, sizeof(nodus_term));
  nodus_mk_map(&m.v.items[0]);
  m.v.items[1] = nodus_nil();
  CHECK_RC(nodus_mk_tuple(&t, 1), 0);
  nodus_tuple_set(&t, 0, m);
  EXPECT_OWN(t, "{#{#{} => []}}");
  /* records are tuples */
  EXPECT_OWN(tuple2(atom("rec"), INTS('h', 'i')), "{rec,\"hi\"}");
}

static void test_idents(void) {
  nodus_atom other;
  CHECK_RC(nodus_atom_intern("foo@bar", 7, &other), 0);
  nodus_term t;
  CHECK_RC(nodus_mk_pid(&t, NODUS_ATOM_NONODE, 5, 6, 0), 0);
  EXPECT_OWN(t, "<0.5.6>");
  CHECK_RC(nodus_mk_pid(&t, other, 80, 0, 3), 0);
  EXPECT_OWN(t, "<'foo@bar'.80.0>");
  /* With opts naming the local node. */
  CHECK_RC(nodus_mk_pid(&t, other, 80, 1, 3), 0);
  nodus_print_opts po = {other};
  char *s = NULL;
  CHECK_RC(nodus_print(&t, &po, &s, NULL), 0);
  CHECK_STR(s, "<0.80.1>");
  free(s);
  nodus_term_free(&t);

  CHECK_RC(nodus_mk_port(&t, NODUS_ATOM_NONODE, 1, 0), 0);
  EXPECT_OWN(t, "#Port<0.1>");
  CHECK_RC(nodus_mk_port(&t, other, 4294967301ull, 0), 0);
  EXPECT_OWN(t, "#Port<'foo@bar'.4294967301>");

  /* Words 1,2,3 as in NEWER_REFERENCE_EXT print last first:
   * binary_to_term(<<131,90,0,3,119,13,"nonode@nohost",0:32,1:32,2:32,
   * 3:32>>) gives #Ref<0.3.2.1>; local refs show at least 3 words. */
  uint32_t w[5] = {1, 2, 3, 4, 5};
  CHECK_RC(nodus_mk_ref(&t, NODUS_ATOM_NONODE, 0, w, 3), 0);
  EXPECT_OWN(t, "#Ref<0.3.2.1>");
  CHECK_RC(nodus_mk_ref(&t, NODUS_ATOM_NONODE, 0, w, 2), 0);
  EXPECT_OWN(t, "#Ref<0.0.2.1>");
  CHECK_RC(nodus_mk_ref(&t, NODUS_ATOM_NONODE, 0, w, 1), 0);
  EXPECT_OWN(t, "#Ref<0.0.0.1>");
  /* Remote: erl shows #Ref<8906.5.4.3.2.1>, #Ref<8615.1>. */
  CHECK_RC(nodus_mk_ref(&t, other, 0, w, 5), 0);
  EXPECT_OWN(t, "#Ref<'foo@bar'.5.4.3.2.1>");
  CHECK_RC(nodus_mk_ref(&t, other, 0, w, 1), 0);
  EXPECT_OWN(t, "#Ref<'foo@bar'.1>");
}

/* Funs hold ETF bytes; build them by hand (EXPORT_EXT / NEW_FUN_EXT). */
static nodus_term fun_bytes(const uint8_t *b, size_t n, bool export_fun) {
  nodus_term t;
  nodus_mk_binary(&t, b, n);
  t.type = NODUS_T_FUN;
  t.flags = export_fun ? NODUS_TF_FUN_EXPORT : 0;
  return t;
}

static void test_funs(void) {
  /* fun lists:map/2 with ATOM_EXT and SMALL_ATOM_UTF8_EXT atoms */
  static const uint8_t f1[] = {113, 100, 0, 5, 'l', 'i', 's', 't', 's',
                               119, 3, 'm', 'a', 'p', 97, 2};
  EXPECT_OWN(fun_bytes(f1, sizeof f1, true), "fun lists:map/2");
  /* fun 'Elixir.Foo':bar/1 */
  static const uint8_t f2[] = {113, 119, 10, 'E', 'l', 'i', 'x', 'i', 'r',
                               '.', 'F', 'o', 'o', 115, 3, 'b', 'a', 'r',
                               97, 1};
  EXPECT_OWN(fun_bytes(f2, sizeof f2, true), "fun 'Elixir.Foo':bar/1");
  /* The VM's quoting: fun if:end/0, fun 'a@b':c/0, fun '_x':y/0,
   * fun x:'A'/0, fun '\001':f/0, fun '\200':f/0; non-ASCII atoms come
   * out as their UTF-8 bytes, one character each, as erl shows them:
   * fun 'Ω':é/0 prints as fun 'Î©':Ã©/0 (checked with erl). */
  static const uint8_t f3[] = {113, 119, 2, 'i', 'f', 119, 3, 'e', 'n', 'd',
                               97, 0};
  EXPECT_OWN(fun_bytes(f3, sizeof f3, true), "fun if:end/0");
  static const uint8_t f4[] = {113, 119, 3, 'a', '@', 'b', 119, 1, 'c', 97, 0};
  EXPECT_OWN(fun_bytes(f4, sizeof f4, true), "fun 'a@b':c/0");
  static const uint8_t f5[] = {113, 119, 2, '_', 'x', 119, 1, 'A', 97, 0};
  EXPECT_OWN(fun_bytes(f5, sizeof f5, true), "fun '_x':'A'/0");
  static const uint8_t f6[] = {113, 119, 1, 1, 119, 3, 0xc2, 0x80, 'a', 97, 0};
  EXPECT_OWN(fun_bytes(f6, sizeof f6, true), "fun '\\001':'\\200a'/0");
  static const uint8_t f7[] = {113, 118, 0, 2, 0xce, 0xa9, 100, 0, 1, 0xe9,
                               97, 0};
  EXPECT_OWN(fun_bytes(f7, sizeof f7, true),
             "fun '\xc3\x8e\xc2\xa9':\xc3\x83\xc2\xa9/0");
  /* An erl_eval closure: erl prints #Fun<erl_eval.42.3316493>. Only the
   * module, OldIndex and OldUniq matter to the printer. */
  uint8_t f8[128];
  size_t n = 0;
  f8[n++] = 112;
  memset(f8 + n, 0, 4 + 1 + 16 + 4 + 4);
  n += 29;
  f8[n++] = 119;
  f8[n++] = 8;
  memcpy(f8 + n, "erl_eval", 8);
  n += 8;
  f8[n++] = 97, f8[n++] = 42;
  f8[n++] = 98, f8[n++] = 0x00, f8[n++] = 0x32, f8[n++] = 0x9b,
  f8[n++] = 0x0d; /* 3316493 */
  EXPECT_OWN(fun_bytes(f8, n, false), "#Fun<erl_eval.42.3316493>");
  /* Truncated fun bytes are an error, not a crash. */
  nodus_term bad = fun_bytes(f1, 5, true);
  char *s = NULL;
  CHECK(nodus_print(&bad, NULL, &s, NULL) == NODUS_EBADETF);
  CHECK(s == NULL);
  nodus_term_free(&bad);
}

static void test_nesting(void) {
  /* {[],[[]],<<>>} */
  nodus_term t, l;
  CHECK_RC(nodus_mk_tuple(&t, 3), 0);
  nodus_tuple_set(&t, 0, nodus_nil());
  nodus_mk_list(&l, 1);
  nodus_list_set(&l, 0, nodus_nil());
  nodus_tuple_set(&t, 1, l);
  nodus_tuple_set(&t, 2, bin("", 0));
  EXPECT_OWN(t, "{[],[[]],<<>>}");
  /* NONE is not a term. */
  nodus_term none = {0};
  char *s = NULL;
  CHECK_RC(nodus_print(&none, NULL, &s, NULL), NODUS_EINVAL);
}

int main(void) {
  test_integers();
  test_floats();
  test_atoms();
  test_lists_and_strings();
  test_binaries();
  test_tuples_and_maps();
  test_idents();
  test_funs();
  test_nesting();
  return check_report();
}

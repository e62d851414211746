/* nodus_build and nodus_match: every hole type, failures, ownership. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus/term.h"

static void expect_term(const nodus_term *t, const char *want, int line) {
  char *s = NULL;
  int rc = nodus_print(t, NULL, &s, NULL);
  if (rc || strcmp(s, want) != 0) {
    check_failed++;
    fprintf(stderr, "test_pattern.c:%d: got \"%s\" (rc %d), wanted \"%s\"\n",
            line, s ? s : "(null)", rc, want);
  } else {
    check_passed++;
  }
  free(s);
}
#define EXPECT_TERM(t, want) expect_term((t), (want), __LINE__)

static nodus_term parse(const char *text) {
  nodus_term t;
  if (nodus_parse(text, strlen(text), NULL, &t, NULL)) memset(&t, 0, sizeof t);
  return t;
}

static void test_build(void) {
  nodus_term t, other = parse("[x]");
  CHECK_RC(nodus_build(&t, "{~a, ~i, ~s, ~b, ~t}", "ok", (int64_t)42, "text",
                       "da\0ta", (size_t)5, other),
           0);
  EXPECT_TERM(&t, "{ok,42,\"text\",<<100,97,0,116,97>>,[x]}");
  nodus_term_free(&t);

  CHECK_RC(nodus_build(&t, "[~u, ~u, ~f, ~A, ~s, ~b]", (uint64_t)7,
                       UINT64_MAX, 1.5, (nodus_atom)NODUS_ATOM_TRUE, "",
                       NULL, (size_t)0),
           0);
  EXPECT_TERM(&t, "[7,18446744073709551615,1.5,true,[],<<>>]");
  nodus_term_free(&t);

  CHECK_RC(nodus_build(&t, "~i", (int64_t)-3), 0);
  EXPECT_TERM(&t, "-3");
  CHECK_RC(nodus_build(&t, "~s", "\xce\xa9"), 0);
  EXPECT_TERM(&t, "[937]");
  nodus_term_free(&t);
  CHECK_RC(nodus_build(&t, "~a", "hello world"), 0);
  EXPECT_TERM(&t, "'hello world'");

  /* Literals of every kind around holes; maps with holes as keys. */
  CHECK_RC(nodus_build(&t, "#{~a => ~i, b => [~f | ~t], 1 => <<1,2:3>>}",
                       "a", (int64_t)1, 0.5, nodus_nil()),
           0);
  EXPECT_TERM(&t, "#{1 => <<1,2:3>>,a => 1,b => [0.5]}");
  nodus_term_free(&t);
  /* Later duplicate keys win, like a map literal. */
  CHECK_RC(nodus_build(&t, "#{~a => 1, k => ~i}", "k", (int64_t)2), 0);
  EXPECT_TERM(&t, "#{k => 2}");
  nodus_term_free(&t);
  CHECK_RC(nodus_build(&t, "{<0.1.2>, fun m:f/1, \"s\", 'Q', 2.5}"), 0);
  EXPECT_TERM(&t, "{<0.1.2>,fun m:f/1,\"s\",'Q',2.5}");
  nodus_term_free(&t);
}

static void test_build_errors(void) {
  nodus_term t;
  /* ~t terms are consumed even when the call fails (ASan checks the
   * frees): a syntax error after the hole, a bad hole, bad arguments. */
  CHECK_RC(nodus_build(&t, "{~t, ", parse("{a,<<1>>}")), NODUS_ESYNTAX);
  CHECK(t.type == NODUS_T_NONE);
  CHECK_RC(nodus_build(&t, "{~t, ~t, ~q}", parse("[1]"), parse("<<2>>")),
           NODUS_EINVAL);
  CHECK_RC(nodus_build(&t, "{~a, ~t}", (const char *)NULL, parse("\"x\"")),
           NODUS_EINVAL);
  CHECK_RC(nodus_build(&t, "{'unterminated, ~t}", parse("[2]")),
           NODUS_ESYNTAX);
  CHECK_RC(nodus_build(&t, "{_, ~i}", (int64_t)1), NODUS_EINVAL);
  CHECK_RC(nodus_build(&t, "~s", "\xff"), NODUS_EINVAL);
  CHECK_RC(nodus_build(&t, "~b", (const void *)NULL, (size_t)3),
           NODUS_EINVAL);
  nodus_term none = {0};
  CHECK_RC(nodus_build(&t, "~t", none), NODUS_EINVAL);
  CHECK_RC(nodus_build(NULL, "{~t}", parse("x")), NODUS_EINVAL);
  CHECK_RC(nodus_build(&t, NULL), NODUS_EINVAL);
  /* A hole inside a string or a quoted atom is text, not a hole. */
  CHECK_RC(nodus_build(&t, "{\"~i\", '~t', $~}"), 0);
  EXPECT_TERM(&t, "{\"~i\",'~t',126}");
  nodus_term_free(&t);
}

static void test_match(void) {
  nodus_term t = parse(
      "{ok, 42, 2.5, hello, <<\"bin\">>, [1,2,3], #{a => 1, b => {x}}}");
  int64_t i = 0;
  double f = 0;
  nodus_atom a = 0;
  const uint8_t *data = NULL;
  size_t len = 0;
  const nodus_term *sub = NULL;
  CHECK_RC(nodus_match(&t, "{ok, ~i, ~f, ~a, ~b, ~t, _}", &i, &f, &a, &data,
                       &len, &sub),
           0);
  CHECK(i == 42 && f == 2.5 && len == 3 && memcmp(data, "bin", 3) == 0);
  CHECK(a == parse("hello").v.atom);
  EXPECT_TERM(sub, "[1,2,3]");
  CHECK(sub == nodus_tuple_elem(&t, 5)); /* borrowed from t */

  /* Lists match cons by cons. */
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [~i | _], _}", &i), 0);
  CHECK(i == 1);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [_, _, ~i], _}", &i), 0);
  CHECK(i == 3);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [1, 2, 3 | ~t], _}", &sub), 0);
  EXPECT_TERM(sub, "[]");
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [_, _], _}"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [_, _, _, _], _}"),
           NODUS_ENOMATCH);
  /* A capture of a list suffix would need a term that does not exist. */
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, [_ | ~t], _}", &sub),
           NODUS_EUNSUPPORTED);

  /* Maps: the pattern's keys must be present; extra keys are fine. */
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, _, #{b => {~a}}}", &a), 0);
  CHECK(a == parse("x").v.atom);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, _, #{}}"), 0);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, _, #{c => _}}"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, _, #{~a => _}}", &a),
           NODUS_EINVAL);

  /* Type mismatches do not match and leave the outputs alone. */
  i = 99;
  CHECK_RC(nodus_match(&t, "{~i, _, _, _, _, _, _}", &i), NODUS_ENOMATCH);
  CHECK(i == 99);
  CHECK_RC(nodus_match(&t, "{_, ~f, _, _, _, _, _}", &f), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, ~a, _, _}", &a), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, _, _, _, _, ~b, _}", &data, &len),
           NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{error, _, _, _, _, _, _}"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, _}"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "[_]"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, 42.0, _, _, _, _, _}"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, 42, 2.5, hello, <<\"bin\">>, _, _}"), 0);
  /* _Named wildcards are wildcards too. */
  CHECK_RC(nodus_match(&t, "{_Tag, _, _, _, _, _, _Map}"), 0);
  nodus_term_free(&t);

  /* Bitstrings are not ~b binaries; bignums are not ~i. */
  t = parse("{<<1:3>>, 123456789012345678901234567890}");
  CHECK_RC(nodus_match(&t, "{~b, _}", &data, &len), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{_, ~i}", &i), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "{<<1:3>>, 123456789012345678901234567890}"), 0);
  nodus_term_free(&t);

  /* Improper lists. */
  t = parse("[a, b | c]");
  CHECK_RC(nodus_match(&t, "[a | ~t]", &sub), NODUS_EUNSUPPORTED);
  CHECK_RC(nodus_match(&t, "[a, b | ~a]", &a), 0);
  CHECK(a == parse("c").v.atom);
  CHECK_RC(nodus_match(&t, "[a, b]"), NODUS_ENOMATCH);
  CHECK_RC(nodus_match(&t, "[_, _, _]"), NODUS_ENOMATCH);
  nodus_term_free(&t);

  /* Bad patterns and arguments. */
  nodus_term ok = parse("ok");
  CHECK_RC(nodus_match(&ok, "{"), NODUS_ESYNTAX);
  CHECK_RC(nodus_match(&ok, "~s", (void *)NULL), NODUS_EINVAL);
  CHECK_RC(nodus_match(&ok, "~u", &i), NODUS_EINVAL);
  CHECK_RC(nodus_match(&ok, "~i", (int64_t *)NULL), NODUS_EINVAL);
  CHECK_RC(nodus_match(&ok, NULL), NODUS_EINVAL);
  CHECK_RC(nodus_match(NULL, "_"), NODUS_EINVAL);
  CHECK_RC(nodus_match(&ok, "ok"), 0);
  CHECK_RC(nodus_match(&ok, "'ok'."), 0);
  CHECK_RC(nodus_match(&ok, "~t", &sub), 0);
  CHECK(sub == &ok);
}

/* build then match gives the values back. */
static void test_round_trip(void) {
  nodus_term t;
  CHECK_RC(nodus_build(&t, "{req, ~i, ~a, ~b, [~f]}", (int64_t)-7, "get",
                       "xyz", (size_t)3, -0.25),
           0);
  int64_t i;
  nodus_atom a;
  const uint8_t *d;
  size_t n;
  double f;
  CHECK_RC(nodus_match(&t, "{req, ~i, ~a, ~b, [~f]}", &i, &a, &d, &n, &f),
           0);
  CHECK(i == -7 && n == 3 && memcmp(d, "xyz", 3) == 0 && f == -0.25);
  CHECK(nodus_is_atom(&(nodus_term){.type = NODUS_T_ATOM, .v.atom = a},
                      "get"));
  nodus_term_free(&t);
}

int main(void) {
  test_build();
  test_build_errors();
  test_match();
  test_round_trip();
  return check_report();
}

/* nodus_parse: Erlang term literals, checked by printing the result.
 * Expected prints were confirmed with erl 25 (io_lib:format("~p", [T]) of
 * the same literal). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nodus/term.h"

/* Parses text and checks the printed result. */
static void expect_parse(const char *text, const char *want, int line) {
  nodus_term t;
  size_t pos = 0;
  int rc = nodus_parse(text, strlen(text), NULL, &t, &pos);
  char *s = NULL;
  if (rc == 0) rc = nodus_print(&t, NULL, &s, NULL);
  if (rc != 0 || strcmp(s, want) != 0) {
    check_failed++;
    fprintf(stderr, "test_parse.c:%d: %s -> \"%s\" (rc %d at %zu), wanted \"%s\"\n",
            line, text, s ? s : "(null)", rc, pos, want);
  } else {
    check_passed++;
  }
  free(s);
  if (rc == 0) nodus_term_free(&t);
}
#define EXPECT(text, want) expect_parse((text), (want), __LINE__)

/* Checks that text fails with rc (and, for syntax errors, at pos). */
static void expect_error(const char *text, int want_rc, size_t want_pos,
                         int line) {
  nodus_term t;
  size_t pos = 12345;
  int rc = nodus_parse(text, strlen(text), NULL, &t, &pos);
  if (rc != want_rc || (want_rc == NODUS_ESYNTAX && pos != want_pos) ||
      t.type != NODUS_T_NONE) {
    check_failed++;
    fprintf(stderr, "test_parse.c:%d: %s gave %d at %zu, wanted %d at %zu\n",
            line, text, rc, pos, want_rc, want_pos);
    if (rc == 0) nodus_term_free(&t);
  } else {
    check_passed++;
  }
}
#define EXPECT_ERROR(text, rc, pos) expect_error((text), (rc), (pos), __LINE__)

static void test_numbers(void) {
  EXPECT("0", "0");
  EXPECT("42", "42");
  EXPECT("-42", "-42");
  EXPECT("- 42", "-42");
  EXPECT("+7", "7");
  EXPECT("1_000_000", "1000000");
  EXPECT("16#FF", "255");
  EXPECT("16#ff", "255");
  EXPECT("-16#ff", "-255");
  EXPECT("2#1010", "10");
  EXPECT("36#Zz", "1295");
  EXPECT("9223372036854775807", "9223372036854775807");
  EXPECT("-9223372036854775808", "-9223372036854775808");
  EXPECT("9223372036854775808", "9223372036854775808");
  EXPECT("-9223372036854775809", "-9223372036854775809");
  EXPECT("123456789012345678901234567890", "123456789012345678901234567890");
  EXPECT("-123456789012345678901234567890",
         "-123456789012345678901234567890");
  EXPECT("16#1000000000000000000000000", "79228162514264337593543950336");
  EXPECT("$a", "97");
  EXPECT("$\\n", "10");
  EXPECT("$\\s", "32");
  EXPECT("$\\e", "27");
  EXPECT("$\\d", "127");
  EXPECT("$\\^a", "1");
  EXPECT("$\\101", "65");
  EXPECT("$\\x41", "65");
  EXPECT("$\\x{3A9}", "937");
  EXPECT("$\xce\xa9", "937");
  EXPECT("$\\\\", "92");
  EXPECT("$ ", "32");
  EXPECT("-$a", "-97");
  EXPECT("1.0", "1.0");
  EXPECT("1.0e10", "1.0e10");
  EXPECT("1.0E10", "1.0e10");
  EXPECT("-2.5e-3", "-0.0025");
  EXPECT("2.5e+3", "2.5e3");
  EXPECT("0.1", "0.1");
  EXPECT("-0.0", "-0.0");
  EXPECT("1_0.5", "10.5");
  EXPECT("5.0e-324", "5.0e-324");
  EXPECT("1.7976931348623157e308", "1.7976931348623157e308");
  EXPECT("1.0e-400", "0.0");
  EXPECT("123456789.0", "123456789.0");
  /* A 2000-digit integer reads and prints back. */
  char big[2002];
  big[0] = '1';
  memset(big + 1, '0', 2000);
  big[2001] = 0;
  EXPECT(big, big);
}

static void test_atoms_and_strings(void) {
  EXPECT("ok", "ok");
  EXPECT("x@y", "x@y");
  EXPECT("aB_1", "aB_1");
  EXPECT("'ok'", "ok");
  EXPECT("'hello world'", "'hello world'");
  EXPECT("'if'", "'if'");
  EXPECT("''", "''");
  EXPECT("'it\\'s'", "'it\\'s'");
  EXPECT("'a\\nb'", "'a\\nb'");
  EXPECT("'\\x{3A9}'", "'\\x{3A9}'");
  EXPECT("'\xce\xa9'", "'\\x{3A9}'");
  EXPECT("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");
  EXPECT("'\\101BC'", "'ABC'");
  EXPECT("\"\"", "[]");
  EXPECT("\"abc\"", "\"abc\"");
  EXPECT("\"abc\" \"def\"", "\"abcdef\"");
  EXPECT("\"a\\nb\\tc\\\"d\\\\\"", "\"a\\nb\\tc\\\"d\\\\\"");
  EXPECT("\"\\x{3A9}\"", "[937]");
  EXPECT("\"\xc3\xa9\"", "\"\xc3\xa9\"");
  EXPECT("\"\\e\\d\"", "[27,127]");
  EXPECT("\"\\^z\"", "[26]");
  EXPECT("\"\\s\"", "\" \"");
  EXPECT("'\\''", "'\\''");
}

static void test_containers(void) {
  EXPECT("{}", "{}");
  EXPECT("{ ok , 1 }", "{ok,1}");
  EXPECT("[]", "[]");
  EXPECT("[ ]", "[]");
  EXPECT("[1,2,3]", "[1,2,3]");
  EXPECT("[a|b]", "[a|b]");
  EXPECT("[1,2|3]", "[1,2|3]");
  EXPECT("[1|[2,3]]", "[1,2,3]");
  EXPECT("[1|[2|[3|x]]]", "[1,2,3|x]");
  EXPECT("[$a|\"bc\"]", "\"abc\"");
  EXPECT("[1|[]]", "[1]");
  EXPECT("#{}", "#{}");
  EXPECT("# { }", "#{}");
  EXPECT("{ok, [1,2,3], <<\"x\">>, #{a => 1}}",
         "{ok,[1,2,3],<<\"x\">>,#{a => 1}}");
  EXPECT("#{b => 2, a => 1}", "#{a => 1,b => 2}");
  EXPECT("#{a => 1, a => 2}", "#{a => 2}");
  EXPECT("#{1 => a, a => 1, \"x\" => []}", "#{1 => a,a => 1,\"x\" => []}");
  EXPECT("#{1.0 => a, 1 => b}", "#{1 => b,1.0 => a}");
  EXPECT("#{#{} => []}", "#{#{} => []}");
  EXPECT("{a, b}.", "{a,b}");
  EXPECT("  {a, b} . ", "{a,b}");
  EXPECT("% a comment\n{a, % another\n b}", "{a,b}");
}

static void test_binaries(void) {
  EXPECT("<<>>", "<<>>");
  EXPECT("<<\"x\">>", "<<\"x\">>");
  EXPECT("<<1,2,3>>", "<<1,2,3>>");
  EXPECT("<< 1 , 2 >>", "<<1,2>>");
  EXPECT("<<1:4>>", "<<1:4>>");
  EXPECT("<<1,2:3>>", "<<1,2:3>>");
  EXPECT("<<\"ab\", 1>>", "<<97,98,1>>");
  EXPECT("<<\"\xc3\xa9\">>", "<<\"\xc3\xa9\">>");
  EXPECT("<<256>>", "<<0>>");
  EXPECT("<<-1>>", "<<\"\xc3\xbf\">>");
  EXPECT("<<-1:16>>", "<<\"\xc3\xbf\xc3\xbf\">>");
  EXPECT("<<256:16, \"ab\">>", "<<1,0,97,98>>");
  EXPECT("<<$a, $b>>", "<<\"ab\">>");
  EXPECT("<<1:0>>", "<<>>");
  EXPECT("<<16#FF:4>>", "<<15:4>>");
  /* erl: <<123456789012345678901234567890:100>> */
  EXPECT("<<123456789012345678901234567890:100>>",
         "<<24,238,144,255,108,55,62,14,228,227,240,173,2:4>>");
  EXPECT("<<-123456789012345678901234567890:104>>",
         "<<254,113,22,240,9,60,140,31,17,177,192,245,46>>");
  EXPECT("<<1:64>>", "<<0,0,0,0,0,0,0,1>>");
  EXPECT("<<-2:72>>", "<<\"\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbe\">>");
  EXPECT("<<-2:16,1>>", "<<255,254,1>>");
}

static void test_idents(void) {
  EXPECT("<0.5.6>", "<0.5.6>");
  EXPECT("< 0 . 5 . 6 >", "<0.5.6>");
  EXPECT("<'foo@bar'.1.2>", "<'foo@bar'.1.2>");
  EXPECT("<foo@bar.1.2>", "<'foo@bar'.1.2>");
  EXPECT("#Ref<0.3.2.1>", "#Ref<0.3.2.1>");
  EXPECT("#Ref<0.1>", "#Ref<0.0.0.1>");
  EXPECT("#Ref<'a@b'.5.4.3.2.1>", "#Ref<'a@b'.5.4.3.2.1>");
  EXPECT("#Port<0.7>", "#Port<0.7>");
  EXPECT("#Port<0.4294967301>", "#Port<0.4294967301>");
  EXPECT("fun lists:map/2", "fun lists:map/2");
  EXPECT("fun 'Elixir.Foo':bar/1", "fun 'Elixir.Foo':bar/1");
  EXPECT("fun if:end/0", "fun if:end/0");
  EXPECT("fun 'a@b':'A'/255", "fun 'a@b':'A'/255");
  EXPECT("{<0.1.2>, [#Port<0.3>]}", "{<0.1.2>,[#Port<0.3>]}");

  /* <0.X.Y> is the local node of the options, with its creation. */
  nodus_atom me;
  CHECK_RC(nodus_atom_intern("me@host", 7, &me), 0);
  nodus_parse_opts po = {me, 77, 0};
  nodus_term t;
  CHECK_RC(nodus_parse("<0.9.1>", 7, &po, &t, NULL), 0);
  CHECK(t.type == NODUS_T_PID && t.v.id->node == me &&
        t.v.id->creation == 77 && t.v.id->w[0] == 9 && t.v.id->w[1] == 1);
  char *s = NULL;
  CHECK_RC(nodus_print(&t, NULL, &s, NULL), 0);
  CHECK_STR(s, "<'me@host'.9.1>");
  free(s);
  nodus_print_opts pr = {me};
  CHECK_RC(nodus_print(&t, &pr, &s, NULL), 0);
  CHECK_STR(s, "<0.9.1>");
  free(s);
  nodus_term_free(&t);
  /* Closures cannot be rebuilt from their printed form. */
  EXPECT_ERROR("#Fun<erl_eval.42.3316493>", NODUS_EUNSUPPORTED, 0);
}

static void test_errors(void) {
  EXPECT_ERROR("", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("   ", NODUS_ESYNTAX, 3);
  EXPECT_ERROR("{a, b", NODUS_ESYNTAX, 5);
  EXPECT_ERROR("{a,}", NODUS_ESYNTAX, 3);
  EXPECT_ERROR("[,]", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("[1|]", NODUS_ESYNTAX, 3);
  EXPECT_ERROR("[1|2,3]", NODUS_ESYNTAX, 4);
  EXPECT_ERROR("[|a]", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("{a, b} c", NODUS_ESYNTAX, 7);
  EXPECT_ERROR("{a, b}..", NODUS_ESYNTAX, 7);
  EXPECT_ERROR("#{a}", NODUS_ESYNTAX, 3);
  EXPECT_ERROR("#{a => }", NODUS_ESYNTAX, 7);
  EXPECT_ERROR("#x", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("if", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("Var", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("_", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("~i", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("'abc", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("\"abc", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("'\\x{110000}'", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("\"\\x{}\"", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("1.0e999", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("37#1", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("2#2", NODUS_ESYNTAX, 0);
  EXPECT("1.", "1");
  EXPECT_ERROR("1. 2", NODUS_ESYNTAX, 3);
  EXPECT_ERROR("- a", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("<1.2.3>", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("<0.1>", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("<0.1.2", NODUS_ESYNTAX, 6);
  EXPECT_ERROR("<0.1.99999999999>", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("#Ref<0.1.2.3.4.5.6>", NODUS_ESYNTAX, 17);
  EXPECT_ERROR("#Port<0.1.2>", NODUS_ESYNTAX, 10);
  EXPECT_ERROR("#Pid<0.1.2>", NODUS_ESYNTAX, 1);
  EXPECT_ERROR("<<1.5>>", NODUS_ESYNTAX, 2);
  EXPECT_ERROR("<<a>>", NODUS_ESYNTAX, 2);
  EXPECT_ERROR("<<1,>>", NODUS_ESYNTAX, 4);
  EXPECT_ERROR("<<1:a>>", NODUS_ESYNTAX, 4);
  EXPECT_ERROR("<<1:999999999999>>", NODUS_ETOOBIG, 0);
  EXPECT_ERROR("fun lists:map/256", NODUS_ESYNTAX, 14);
  EXPECT_ERROR("fun lists/2", NODUS_ESYNTAX, 9);
  EXPECT_ERROR("{a} = {a}", NODUS_ESYNTAX, 4);
  EXPECT_ERROR("\xff", NODUS_ESYNTAX, 0);
  EXPECT_ERROR("'\xc3'", NODUS_ESYNTAX, 1);
  /* 256 characters is one too many for an atom. */
  char longatom[300];
  memset(longatom, 'a', 256);
  longatom[256] = 0;
  EXPECT_ERROR(longatom, NODUS_ESYNTAX, 0);
  longatom[255] = 0;
  EXPECT(longatom, longatom);
  /* NUL bytes are not whitespace. */
  nodus_term t;
  size_t pos = 0;
  CHECK_RC(nodus_parse("ok\0", 3, NULL, &t, &pos), NODUS_ESYNTAX);
  CHECK(pos == 2);
  CHECK_RC(nodus_parse(NULL, 0, NULL, &t, &pos), NODUS_ESYNTAX);
  CHECK_RC(nodus_parse("ok", 2, NULL, NULL, NULL), NODUS_EINVAL);
}

static char *nested(const char *open, const char *close, size_t n) {
  size_t lo = strlen(open), lc = strlen(close);
  char *s = malloc(n * (lo + lc) + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) memcpy(s + o, open, lo), o += lo;
  for (size_t i = 0; i < n; i++) memcpy(s + o, close, lc), o += lc;
  s[o] = 0;
  return s;
}

static void test_depth(void) {
  nodus_term t;
  char *s = nested("[", "]", 1000);
  CHECK_RC(nodus_parse(s, strlen(s), NULL, &t, NULL), 0);
  nodus_term_free(&t);
  free(s);
  s = nested("[", "]", 1001);
  CHECK_RC(nodus_parse(s, strlen(s), NULL, &t, NULL), NODUS_ETOODEEP);
  free(s);
  s = nested("{", "}", 100000);
  CHECK_RC(nodus_parse(s, strlen(s), NULL, &t, NULL), NODUS_ETOODEEP);
  free(s);
  s = nested("#{a=>", "}", 1001);
  CHECK_RC(nodus_parse(s, strlen(s), NULL, &t, NULL), NODUS_ETOODEEP);
  free(s);
  nodus_parse_opts po = {0, 0, 3};
  CHECK_RC(nodus_parse("{{{}}}", 6, &po, &t, NULL), 0);
  nodus_term_free(&t);
  CHECK_RC(nodus_parse("{{{{}}}}", 8, &po, &t, NULL), NODUS_ETOODEEP);
  CHECK_RC(nodus_parse("[[[<<1>>]]]", 11, &po, &t, NULL), NODUS_ETOODEEP);
}

/* Whatever prints must parse back to a term that prints the same. */
static void test_round_trip(void) {
  static const char *const texts[] = {
      "{ok,[1,2,3],<<\"x\">>,#{a => 1,b => 2}}",
      "['A','if',[],'\\x{3A9}',<<1,2:3>>,-0.0,1.0e-10]",
      "#{fun m:f/0 => 1.5,[1|x] => {<0.1.2>,#Ref<0.3.2.1>,#Port<0.5>}}",
      "[\"a\\e\\v\\b\\f\\r\\t\",<<\"\\\"\\\\\">>,'\\200',[255,256]]",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
    EXPECT(texts[i], texts[i]);
}

int main(void) {
  test_numbers();
  test_atoms_and_strings();
  test_containers();
  test_binaries();
  test_idents();
  test_errors();
  test_depth();
  test_round_trip();
  return check_report();
}

/* The core every layer shares: the error codes of include/nodus/error.h.
 * Every code is negative and distinct, nodus_err_name() gives its symbol
 * and nodus_strerror() its own message; 0 and codes that don't exist get
 * the documented fallbacks, never NULL. */
#include <limits.h>

#include "check.h"
#include "nodus.h"

struct code {
  int value;
  const char *name, *msg;
};

static const struct code codes[] = {
#define CODE(name, val, msg) {val, "NODUS_" #name, msg},
    NODUS_ERRNO_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof codes / sizeof codes[0])

static void test_each_code(void) {
  CHECK(NCODES >= 28); /* NODUS_ENOMEM .. NODUS_EEXIT at least */
  for (size_t i = 0; i < NCODES; i++) {
    const struct code *c = &codes[i];
    CHECK(c->value < 0);
    CHECK_STR(nodus_err_name(c->value), c->name);
    CHECK_STR(nodus_strerror(c->value), c->msg);
    CHECK(strcmp(nodus_strerror(c->value), "unknown error") != 0);
    CHECK(strcmp(nodus_strerror(c->value), "success") != 0);
    for (size_t j = 0; j < i; j++) {
      if (codes[j].value == c->value)
        fprintf(stderr, "%s and %s share %d\n", codes[j].name, c->name, c->value);
      CHECK(codes[j].value != c->value);
      CHECK(strcmp(codes[j].name, c->name) != 0);
      CHECK(strcmp(codes[j].msg, c->msg) != 0);
    }
  }
  /* The enum carries the same values the table does. */
  CHECK(NODUS_ENOMEM == -1);
  CHECK(NODUS_ETRUNC == -4);
  CHECK(NODUS_ENOTFOUND == -27);
  CHECK(NODUS_EEXIT == -28);
  CHECK_STR(nodus_err_name(NODUS_ETIMEDOUT), "NODUS_ETIMEDOUT");
  CHECK_STR(nodus_strerror(NODUS_ETIMEDOUT), "timed out");
}

static bool is_code(int v) {
  for (size_t i = 0; i < NCODES; i++)
    if (codes[i].value == v) return true;
  return false;
}

static void test_fallbacks(void) {
  CHECK_STR(nodus_strerror(0), "success");
  CHECK_STR(nodus_err_name(0), "NODUS_OK");
  const int unknown[] = {1, 77, INT_MAX, INT_MIN, -1000, -(int)NCODES - 1};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    CHECK(!is_code(unknown[i]));
    CHECK_STR(nodus_strerror(unknown[i]), "unknown error");
    CHECK_STR(nodus_err_name(unknown[i]), "NODUS_EUNKNOWN");
  }
  /* Every value from -200 up to 0: a name and a
   * message, never NULL, and a real code never gets the fallback. */
  for (int v = -200; v <= 0; v++) {
    const char *n = nodus_err_name(v), *m = nodus_strerror(v);
    CHECK(n != NULL && m != NULL);
    if (v < 0 && is_code(v)) CHECK(strcmp(n, "NODUS_EUNKNOWN") != 0);
    if (v < 0 && !is_code(v)) CHECK_STR(n, "NODUS_EUNKNOWN");
  }
}

int main(void) {
  test_each_code();
  test_fallbacks();
  return check_report();
}

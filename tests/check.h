/* Minimal assertions for nodus's C tests: count, report, keep going. */
#ifndef NODUS_TEST_CHECK_H
#define NODUS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (cond) {                                                          \
      check_passed++;                                                    \
    } else {                                                             \
      check_failed++;                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
              #cond);                                                    \
    }                                                                    \
  } while (0)

#define CHECK_RC(expr, want)                                             \
  do {                                                                   \
    int check_rc_ = (expr);                                              \
    if (check_rc_ == (want)) {                                           \
      check_passed++;                                                    \
    } else {                                                             \
      check_failed++;                                                    \
      fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d\n",         \
              __FILE__, __LINE__, #expr, check_rc_,                      \
              nodus_err_name(check_rc_), (int)(want));                   \
    }                                                                    \
  } while (0)

#define CHECK_STR(got, want)                                             \
  do {                                                                   \
    const char *check_g_ = (got), *check_w_ = (want);                    \
    if (check_g_ && strcmp(check_g_, check_w_) == 0) {                   \
      check_passed++;                                                    \
    } else {                                                             \
      check_failed++;                                                    \
      fprintf(stderr, "%s:%d: got \"%s\", wanted \"%s\"\n", __FILE__,    \
              __LINE__, check_g_ ? check_g_ : "(null)", check_w_);       \
    }                                                                    \
  } while (0)

/* Prints the closing line test runners read, returns the exit code. */
static inline int check_report(void) {
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}

#endif

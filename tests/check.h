/* Minimal assertions for nodus's C tests: count, report, keep going. */
#ifndef NODUS_TEST_CHECK_H
#define NODUS_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The suite's one skip policy (tests/skip_lib.sh for the scripts): a test
 * that cannot run does `return check_skip("why");`, which prints
 * "SKIP: why" and gives 77, what ctest (SKIP_RETURN_CODE 77) reports as
 * skipped. With NODUS_REQUIRE_ALL=1 (scripts/test.sh, CI) nothing may be
 * skipped: it prints "FAIL: required but missing: why" and gives 1. */
static inline int check_skip(const char *why) {
  const char *all = getenv("NODUS_REQUIRE_ALL");
  fflush(stdout);
  if (all && !strcmp(all, "1")) {
    printf("FAIL: required but missing: %s (NODUS_REQUIRE_ALL=1)\n", why);
    fflush(stdout);
    return 1;
  }
  printf("SKIP: %s\n", why);
  fflush(stdout);
  return 77;
}

/* Whether `tool` is an executable in one of $PATH's directories (what the
 * shell's `command -v` finds). */
static inline bool check_have(const char *tool) {
  const char *path = getenv("PATH");
  char dir[4096];
  while (path && *path) {
    size_t n = strcspn(path, ":");
    if (n > 0 && n + strlen(tool) + 2 <= sizeof dir) {
      snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, tool);
      if (access(dir, X_OK) == 0) return true;
    }
    path += n;
    if (*path == ':') path++;
  }
  return false;
}

/* Prints the closing line test runners read, returns the exit code. */
static inline int check_report(void) {
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}

#endif

/* Fuzz target: schedules (src/cluster/cron/expr.c, next.c) and the times
 * of nodus_cron_parse_time. A refused schedule names a column inside the
 * text (or just past it) and a reason; an accepted one gives ticks that
 * move strictly forward. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_assert.h"
#include "nodus/cron.h"
#include "nodus/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256) return 0;
  char text[257];
  memcpy(text, data, size), text[size] = 0;
  size_t len = strlen(text);
  int64_t t;
  (void)nodus_cron_parse_time(NULL, text, &t);
  nodus_cron_expr *e;
  nodus_cron_error err;
  int rc = nodus_cron_parse(text, &e, &err);
  if (rc) {
    FUZZ_ASSERT(rc == NODUS_ESYNTAX);
    FUZZ_ASSERT(err.position >= 1 && err.position <= len + 2 && err.reason[0]);
    return 0;
  }
  static const int64_t starts[] = {0, 1709251199999, -86400000, 253402300000000};
  for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
    int64_t at = starts[i], next;
    for (int n = 0; n < 4 && nodus_cron_next_after(e, NULL, at, &next) == 0; n++) {
      FUZZ_ASSERT(next > at);
      char buf[40];
      FUZZ_ASSERT(nodus_cron_format_time(NULL, next, buf, sizeof buf) > 0);
      at = next;
    }
  }
  nodus_cron_expr_free(e);
  return 0;
}

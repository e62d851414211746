/* Fuzz target: TZif files (src/cluster/cron/tz.c). Any bytes load or are
 * refused as a syntax error; a zone that loads gives offsets within
 * (-25 h, 26 h) anywhere, and its changes come in strictly increasing
 * order, each one a real change, the offset constant between two. */
#include <stdint.h>

#include "cluster/cron/tz.h"
#include "fuzz_assert.h"
#include "nodus/error.h"

static void offset_sane(const nodus_tz *tz, int64_t t) {
  int32_t o = nodus_tz_offset(tz, t);
  FUZZ_ASSERT(o > -25 * 3600 && o < 26 * 3600);
}

/* Up to `steps` changes after `from`. */
static void walk(const nodus_tz *tz, int64_t from, int steps) {
  int64_t t = from;
  for (int i = 0; i < steps; i++) {
    int64_t c = cron_tz_next_change(tz, t);
    if (c == INT64_MAX) return;
    FUZZ_ASSERT(c > t);
    FUZZ_ASSERT(nodus_tz_offset(tz, c) != nodus_tz_offset(tz, c - 1));
    offset_sane(tz, c);
    /* Between this change and the last one nothing changed. */
    if (i > 0) {
      FUZZ_ASSERT(nodus_tz_offset(tz, t) == nodus_tz_offset(tz, c - 1));
      int64_t mid = t + (int64_t)(((uint64_t)c - (uint64_t)t) / 2);
      FUZZ_ASSERT(nodus_tz_offset(tz, mid) == nodus_tz_offset(tz, t));
    }
    t = c;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nodus_tz *tz = NULL;
  int rc = cron_tz_from_tzif(data, size, "fuzz", &tz);
  FUZZ_ASSERT(rc == 0 || rc == NODUS_ESYNTAX || rc == NODUS_ENOMEM);
  if (rc) {
    FUZZ_ASSERT(tz == NULL);
    return 0;
  }
  static const int64_t at[] = {INT64_MIN, INT64_MIN + 1, -(INT64_C(1) << 59),
                               INT32_MIN, -1, 0, 1, 1720000000, INT32_MAX,
                               INT64_C(253402300799), INT64_MAX - 1, INT64_MAX};
  for (size_t i = 0; i < sizeof at / sizeof *at; i++) offset_sane(tz, at[i]);
  walk(tz, INT64_MIN, 50);
  walk(tz, 0, 50); /* 1970 on: the footer rule past the transitions */
  walk(tz, INT64_C(253370764800), 4); /* 9999 */
  walk(tz, INT64_MAX - INT64_C(86400) * 366 * 2, 8);
  nodus_tz_close(tz);
  return 0;
}

/* Local civil time in a zone: to and from instants. Internal. */
#ifndef NODUS_CRON_LOCALTIME_H
#define NODUS_CRON_LOCALTIME_H

#include <stdint.h>

#include "nodus/cron.h"

typedef struct cron_civil {
  int64_t y;
  int mon, d, h, mi, s;
} cron_civil;

/* Offset east of UTC at unix_s (tz NULL: UTC, 0). */
int32_t cron_offset_at(const nodus_tz *tz, int64_t unix_s);

/* Local seconds (as if the zone were UTC) <-> broken-down civil time. */
int64_t cron_civil_seconds(const cron_civil *c);
void cron_civil_of(int64_t local_s, cron_civil *c);

/* The instant local time local_s first occurs at in tz or, when a change
 * of offset skips it, the instant the gap ends (nodus/cron.h's rules). */
int64_t cron_resolve_local(const nodus_tz *tz, int64_t local_s);

#endif

/* Time zones from TZif files (RFC 8536), for cron. Internal. */
#ifndef NODUS_CRON_TZ_H
#define NODUS_CRON_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "nodus/cron.h"

/* Builds a zone from the bytes of a TZif file (version 1, 2, 3 or 4; for
 * 2+ the 64-bit block and the POSIX TZ footer, which gives the offsets
 * after the last transition). `name` is copied. 0, NODUS_ESYNTAX for
 * bytes that are not a valid TZif file (never reads past len), or
 * NODUS_ENOMEM. */
int cron_tz_from_tzif(const uint8_t *buf, size_t len, const char *name,
                       nodus_tz **tz);

/* The first instant (unix s) > after_s at which the offset changes, or
 * INT64_MAX when it never does again (UTC, a fixed zone). */
int64_t cron_tz_next_change(const nodus_tz *tz, int64_t after_s);

#endif

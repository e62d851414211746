/* A parsed schedule: one bit per allowed value of each field. Internal. */
#ifndef NODUS_CRON_EXPR_H
#define NODUS_CRON_EXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "nodus/cron.h"

struct nodus_cron_expr {
  int64_t every_ms; /* > 0: an "@every" interval, the fields are unused */
  uint64_t second;  /* bit n: n is allowed (0..59); 5 fields: second 0 */
  uint64_t minute;  /* 0..59 */
  uint32_t hour;    /* 0..23 */
  uint32_t dom;     /* 1..31 */
  uint32_t month;   /* 1..12 */
  uint32_t dow;     /* 0..6, Sunday 0 */
  /* Vixie cron's rule: a field whose text starts with '*' is
   * "unrestricted", and the day matches on dom AND dow when either is;
   * on dom OR dow when both are restricted. */
  bool dom_star, dow_star;
};

/* Latest instant a schedule can give: 9999-12-31T23:59:59.999Z. */
#define NODUS_CRON_MAX_MS INT64_C(253402300799999)

#endif

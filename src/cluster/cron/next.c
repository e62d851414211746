/* The next tick of a schedule: a search over the zone's local civil time
 * (what the fields describe), then each candidate resolved to an instant
 * by the zone's offsets, with the DST rules of nodus/cron.h: a skipped
 * local time runs at the end of its gap, a repeated one at its first
 * occurrence only. */
#include "cluster/cron/civil.h"
#include "cluster/cron/expr.h"
#include "cluster/cron/localtime.h"
#include "nodus/error.h"

#define MAX_S (NODUS_CRON_MAX_MS / 1000)
#define MIN_S INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */

/* The lowest allowed value >= from, or -1. */
static int next_bit(uint64_t bits, int from, int hi) {
  if (from > hi) return -1;
  uint64_t rest = bits >> from << from;
  if (!rest) return -1;
  int v = __builtin_ctzll(rest);
  return v <= hi ? v : -1;
}

static bool day_matches(const nodus_cron_expr *e, const cron_civil *c) {
  bool by_dom = e->dom >> c->d & 1;
  bool by_dow = e->dow >> cron_weekday(cron_days_from_civil(c->y, c->mon, c->d)) & 1;
  return e->dom_star || e->dow_star ? by_dom && by_dow : by_dom || by_dow;
}

static void start_of_day(cron_civil *c) { c->h = c->mi = c->s = 0; }

/* Moves *c to the first local time >= *c that the fields allow; false
 * past the year 9999. Each turn of the loop moves forward by a unit the
 * fields rule out, so it ends. */
static bool next_civil(const nodus_cron_expr *e, cron_civil *c) {
  while (c->y <= 9999) {
    if (c->s > 59) c->s = 0, c->mi++;
    if (c->mi > 59) c->mi = 0, c->h++;
    if (c->h > 23) c->h = 0, c->d++;
    if (c->mon > 12) c->mon = 1, c->y++;
    if (!(e->month >> c->mon & 1)) {
      int m = next_bit(e->month, c->mon + 1, 12);
      if (m < 0) c->y++, m = next_bit(e->month, 1, 12);
      c->mon = m, c->d = 1, start_of_day(c);
      continue;
    }
    if (c->d > cron_days_in_month(c->y, c->mon)) {
      c->mon++, c->d = 1, start_of_day(c);
      continue;
    }
    if (!day_matches(e, c)) {
      c->d++, start_of_day(c);
      continue;
    }
    int h = next_bit(e->hour, c->h, 23);
    if (h < 0) {
      c->d++, start_of_day(c);
      continue;
    }
    if (h != c->h) c->h = h, c->mi = c->s = 0;
    int mi = next_bit(e->minute, c->mi, 59);
    if (mi < 0) {
      c->h++, c->mi = c->s = 0;
      continue;
    }
    if (mi != c->mi) c->mi = mi, c->s = 0;
    int s = next_bit(e->second, c->s, 59);
    if (s < 0) {
      c->mi++, c->s = 0;
      continue;
    }
    c->s = s;
    return true;
  }
  return false;
}

int nodus_cron_next_after(const nodus_cron_expr *e, const nodus_tz *tz, int64_t after_ms,
                          int64_t *next_ms) {
  if (!e || !next_ms) return NODUS_EINVAL;
  if (e->every_ms > 0) {
    int64_t q = cron_floor_div(after_ms, e->every_ms);
    if (q >= NODUS_CRON_MAX_MS / e->every_ms) return NODUS_ERANGE;
    *next_ms = (q + 1) * e->every_ms;
    return 0;
  }
  if (after_ms >= NODUS_CRON_MAX_MS) return NODUS_ERANGE;
  int64_t from_s = cron_floor_div(after_ms, 1000) + 1; /* strictly after */
  if (from_s < MIN_S) from_s = MIN_S;
  /* Search from the local time just after from_s - 1's: from_s's own
   * local time may lie past a gap whose ticks resolve to from_s. */
  cron_civil c;
  cron_civil_of(from_s - 1 + cron_offset_at(tz, from_s - 1), &c);
  c.s++;
  /* A candidate before from_s is a repeated local time whose first
   * occurrence was earlier: step past it. A fold lasts hours at most. */
  for (int turns = 0; turns < 100000; turns++) {
    if (!next_civil(e, &c)) return NODUS_ERANGE;
    int64_t u = cron_resolve_local(tz, cron_civil_seconds(&c));
    if (u >= from_s) {
      if (u > MAX_S) return NODUS_ERANGE;
      *next_ms = u * 1000;
      return 0;
    }
    c.s++;
  }
  return NODUS_ERANGE;
}

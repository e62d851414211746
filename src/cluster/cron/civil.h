/* Proleptic Gregorian calendar arithmetic on day numbers (days since
 * 1970-01-01), for schedules and zone rules. Internal. */
#ifndef NODUS_CRON_CIVIL_H
#define NODUS_CRON_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* Rounds toward minus infinity, as a calendar needs before 1970. */
static inline int64_t cron_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static inline bool cron_is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int cron_days_in_month(int64_t y, int m) {
  static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && cron_is_leap(y) ? 29 : days[m];
}

/* Day number of y-m-d (m 1..12, d 1..31). Counts from March, so the leap
 * day ends a year of 400-year eras. */
static inline int64_t cron_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = cron_floor_div(y, 400);
  int64_t yoe = y - era * 400;                                 /* 0..399 */
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
  return era * 146097 + doe - 719468;
}

static inline void cron_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = cron_floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static inline int cron_weekday(int64_t days) { return (int)(((days % 7) + 11) % 7); }

#endif

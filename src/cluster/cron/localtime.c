/* Local civil time in a zone, to and from instants, with the rules of
 * nodus/cron.h for the local times a change of offset skips or repeats;
 * and the text form of times the CLI and the tests read and print. */
#include <stdio.h>
#include <string.h>

#include "cluster/cron/civil.h"
#include "cluster/cron/localtime.h"
#include "cluster/cron/tz.h"
#include "nodus/error.h"

int32_t cron_offset_at(const nodus_tz *tz, int64_t unix_s) {
  return tz ? nodus_tz_offset(tz, unix_s) : 0;
}

int64_t cron_civil_seconds(const cron_civil *c) {
  return cron_days_from_civil(c->y, c->mon, c->d) * 86400 + c->h * 3600 + c->mi * 60 + c->s;
}

void cron_civil_of(int64_t local_s, cron_civil *c) {
  int64_t days = cron_floor_div(local_s, 86400), sod = local_s - days * 86400;
  cron_civil_from_days(days, &c->y, &c->mon, &c->d);
  c->h = (int)(sod / 3600), c->mi = (int)(sod / 60 % 60), c->s = (int)(sod % 60);
}

/* The offsets a local time can have are those in effect a day around it
 * (no zone changes twice within a day). */
int64_t cron_resolve_local(const nodus_tz *tz, int64_t local_s) {
  if (!tz) return local_s;
  int32_t o[4];
  o[0] = cron_offset_at(tz, local_s - 86400);
  o[1] = cron_offset_at(tz, local_s + 86400);
  o[2] = cron_offset_at(tz, local_s - o[0]);
  o[3] = cron_offset_at(tz, local_s - o[1]);
  int64_t first = INT64_MAX;
  int32_t lo = o[0], hi = o[0];
  for (int i = 0; i < 4; i++) {
    int64_t u = local_s - o[i];
    if (cron_offset_at(tz, u) == o[i] && u < first) first = u;
    if (o[i] < lo) lo = o[i];
    if (o[i] > hi) hi = o[i];
  }
  if (first != INT64_MAX) return first;
  /* Skipped: local times [g + lo, g + hi) don't exist, g the change. */
  int64_t gap_end = cron_tz_next_change(tz, local_s - hi - 1);
  return gap_end <= local_s - lo ? gap_end : local_s - lo;
}

int nodus_cron_format_time(const nodus_tz *tz, int64_t unix_ms, char *buf, size_t len) {
  if (!buf) return NODUS_EINVAL;
  int64_t s = cron_floor_div(unix_ms, 1000);
  int ms = (int)(unix_ms - s * 1000);
  int32_t off = cron_offset_at(tz, s);
  cron_civil c;
  cron_civil_of(s + off, &c);
  if (c.y < 0 || c.y > 9999) return NODUS_ERANGE;
  char frac[8] = "", secs[8] = "";
  if (ms) snprintf(frac, sizeof frac, ".%03d", ms);
  int32_t a = off < 0 ? -off : off;
  if (a % 60) snprintf(secs, sizeof secs, ":%02d", (int)(a % 60));
  int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d%s", (int)c.y, c.mon,
                   c.d, c.h, c.mi, c.s, frac, off < 0 ? '-' : '+', (int)(a / 3600),
                   (int)(a / 60 % 60), secs);
  return n < 0 || (size_t)n >= len ? NODUS_ERANGE : n;
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (**p < '0' || **p > '9') return -1;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return 0;
}

int nodus_cron_parse_time(const nodus_tz *tz, const char *text, int64_t *unix_ms) {
  if (!text || !unix_ms) return NODUS_EINVAL;
  int y, mo, d, h, mi, sec = 0, ms = 0;
  const char *p = text;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
      digits(&p, 2, &d) || (*p != 'T' && *p != ' ') || (p++, digits(&p, 2, &h)) ||
      *p++ != ':' || digits(&p, 2, &mi))
    return NODUS_ESYNTAX;
  if (*p == ':' && (p++, digits(&p, 2, &sec))) return NODUS_ESYNTAX;
  if (*p == '.' && (p++, digits(&p, 3, &ms))) return NODUS_ESYNTAX;
  if (mo < 1 || mo > 12 || d < 1 || d > cron_days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 59)
    return NODUS_ESYNTAX;
  cron_civil c = {y, mo, d, h, mi, sec};
  int64_t local = cron_civil_seconds(&c), utc;
  if (*p == 'Z' && !p[1]) {
    utc = local;
  } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
    int oh, om, sign = *p == '-' ? -1 : 1;
    p++;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 25 || om > 59)
      return NODUS_ESYNTAX;
    utc = local - sign * (oh * 3600 + om * 60);
  } else if (!*p) {
    utc = cron_resolve_local(tz, local);
  } else {
    return NODUS_ESYNTAX;
  }
  *unix_ms = utc * 1000 + ms;
  return 0;
}

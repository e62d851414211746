/* Schedules: the text of a cron expression, a nickname or an "@every"
 * interval, parsed into one bitset per field (expr.h). Every fault is
 * reported with the column of the list element that holds it, so a user
 * sees which part of "0 0 1,2,x * *" is wrong. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster/cron/expr.h"
#include "nodus/error.h"

enum { F_SECOND, F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW };

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field {
  const char *what;
  int lo, hi; /* day of week: 0..7, both ends Sunday */
  const char *const *names;
  int name_base; /* the value of names[0] */
  int n_names;
} fields[] = {
    [F_SECOND] = {"second", 0, 59, NULL, 0, 0},
    [F_MINUTE] = {"minute", 0, 59, NULL, 0, 0},
    [F_HOUR] = {"hour", 0, 23, NULL, 0, 0},
    [F_DOM] = {"day of month", 1, 31, NULL, 0, 0},
    [F_MONTH] = {"month", 1, 12, month_names, 1, 12},
    [F_DOW] = {"day of week", 0, 7, day_names, 0, 7},
};

static const struct nickname {
  const char *name, *expr;
} nicknames[] = {
    {"@yearly", "0 0 1 1 *"},   {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},   {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* The parse in progress: the text and where the fault was. */
typedef struct parser {
  const char *text;
  nodus_cron_error *err;
  unsigned shift; /* added to positions: "@every" with nothing after */
} parser;

static int fail(parser *ps, const char *at, const char *fmt, ...) {
  if (ps->err) {
    va_list ap;
    ps->err->position = (unsigned)(at - ps->text) + 1 + ps->shift;
    va_start(ap, fmt);
    vsnprintf(ps->err->reason, sizeof ps->err->reason, fmt, ap);
    va_end(ap);
  }
  return NODUS_ESYNTAX;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* A value of field f at *p: decimal (at most 4 digits, so no overflow)
 * or, for months and days, a three-letter name. -1 when there is none. */
static int read_value(const struct field *f, const char **p, const char *end) {
  const char *s = *p;
  if (s < end && isdigit((unsigned char)*s)) {
    int v = 0, digits = 0;
    while (s < end && isdigit((unsigned char)*s) && digits < 5) v = v * 10 + (*s++ - '0'), digits++;
    if (digits > 4) return -1;
    *p = s;
    return v;
  }
  for (int i = 0; f->names && i < f->n_names; i++)
    if (end - s >= 3 && !strncasecmp(s, f->names[i], 3) &&
        (end - s == 3 || !isalpha((unsigned char)s[3]))) {
      *p = s + 3;
      return f->name_base + i;
    }
  return -1;
}

/* One list element, [el, end): "*", "a", "a-b", each with an optional
 * "/step" ("a/step" runs to the field's end). Sets its bits in *bits. */
static int parse_element(parser *ps, const struct field *f, const char *el,
                         const char *end, uint64_t *bits, bool *star) {
  const char *p = el;
  int lo, hi, step = 1;
  if (p == end) return fail(ps, el, "%s: empty list element", f->what);
  if (*p == '*') {
    lo = f->lo, hi = f->hi, p++;
    *star = true;
  } else {
    if ((lo = read_value(f, &p, end)) < 0)
      return fail(ps, el, "%s: expected a number%s", f->what, f->names ? " or a name" : "");
    hi = lo;
    if (p < end && *p == '-') {
      p++;
      if ((hi = read_value(f, &p, end)) < 0)
        return fail(ps, el, "%s: expected the end of the range", f->what);
    }
    if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi)
      return fail(ps, el, "%s: %d is out of %d-%d", f->what, lo < f->lo || lo > f->hi ? lo : hi,
                  f->lo, f->hi);
    if (hi < lo) return fail(ps, el, "%s: range %d-%d goes backwards", f->what, lo, hi);
  }
  if (p < end && *p == '/') {
    p++;
    const char *s = p;
    step = 0;
    while (p < end && isdigit((unsigned char)*p) && p - s < 5) step = step * 10 + (*p++ - '0');
    if (p == s || p - s > 4 || step == 0)
      return fail(ps, el, "%s: a step is a number from 1", f->what);
    if (*el != '*' && hi == lo) hi = f->hi; /* "a/n": from a to the end */
  }
  if (p != end) return fail(ps, el, "%s: unexpected '%c'", f->what, *p);
  for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << v;
  return 0;
}

/* A field, [start, end): a comma-separated list of elements. */
static int parse_field(parser *ps, int which, const char *start, const char *end,
                       uint64_t *bits, bool *star) {
  const struct field *f = &fields[which];
  const char *el = start;
  *bits = 0, *star = false;
  for (;;) {
    const char *comma = memchr(el, ',', (size_t)(end - el));
    const char *el_end = comma ? comma : end;
    bool el_star = false;
    int rc = parse_element(ps, f, el, el_end, bits, &el_star);
    if (rc) return rc;
    /* Vixie looks at the field's first character only. */
    if (el == start) *star = el_star;
    if (!comma) break;
    el = comma + 1;
  }
  if (which == F_DOW && (*bits >> 7 & 1)) *bits = (*bits | 1) & ~(UINT64_C(1) << 7);
  return 0;
}

/* Feb 29 counts: a schedule that matches only on a leap day is valid. */
static bool dom_can_match(uint32_t dom, uint32_t months) {
  static const int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; m++)
    if ((months >> m & 1) && (dom & ((UINT64_C(1) << (longest[m] + 1)) - 2))) return true;
  return false;
}

static int parse_fields(parser *ps, const char *text, nodus_cron_expr *e) {
  const char *start[7], *end[7];
  int n = 0;
  const char *p = text;
  for (;;) {
    while (is_blank(*p)) p++;
    if (!*p) break;
    if (n == 7) break;
    start[n] = p;
    while (*p && !is_blank(*p)) p++;
    end[n++] = p;
  }
  if (n > 6) return fail(ps, start[6], "too many fields: a schedule has 5 or 6");
  if (n < 5)
    return fail(ps, ps->text + strlen(ps->text),
                "%d field%s: a schedule has 5 (minute hour day month weekday) or 6 (seconds first)",
                n, n == 1 ? "" : "s");
  int first = n == 6 ? F_SECOND : F_MINUTE, rc;
  uint64_t bits[6] = {1, 0, 0, 0, 0, 0}; /* 5 fields: at second 0 */
  bool star[6] = {false};
  for (int i = 0; i < n; i++)
    if ((rc = parse_field(ps, first + i, start[i], end[i], &bits[first + i], &star[first + i])))
      return rc;
  e->second = bits[F_SECOND], e->minute = bits[F_MINUTE];
  e->hour = (uint32_t)bits[F_HOUR], e->dom = (uint32_t)bits[F_DOM];
  e->month = (uint32_t)bits[F_MONTH], e->dow = (uint32_t)bits[F_DOW];
  e->dom_star = star[F_DOM], e->dow_star = star[F_DOW];
  /* With the days ORed the weekday always matches some day; otherwise
   * the day of month must exist in one of the months. */
  if ((e->dom_star || e->dow_star) && !dom_can_match(e->dom, e->month))
    return fail(ps, start[F_DOM - first], "no month given has such a day: the schedule never runs");
  return 0;
}

/* "@every 1m30s": a sum of <number><unit>, units ms, s, m, h. */
static int parse_every(parser *ps, const char *s, nodus_cron_expr *e) {
  const char *at = s;
  int64_t total = 0;
  while (is_blank(*s)) s++;
  if (!*s) return fail(ps, at, "@every needs a duration, such as 5s or 1m30s");
  while (*s && !is_blank(*s)) {
    if (!isdigit((unsigned char)*s)) return fail(ps, at, "@every: expected a number, such as 5s");
    int64_t n = 0;
    while (isdigit((unsigned char)*s)) {
      n = n * 10 + (*s++ - '0');
      if (n > NODUS_CRON_MAX_MS) return fail(ps, at, "@every: the duration is too long");
    }
    int64_t unit;
    if (!strncmp(s, "ms", 2)) unit = 1, s += 2;
    else if (*s == 's') unit = 1000, s++;
    else if (*s == 'm') unit = 60000, s++;
    else if (*s == 'h') unit = 3600000, s++;
    else return fail(ps, at, "@every: a unit is ms, s, m or h");
    if (n > (NODUS_CRON_MAX_MS - total) / unit)
      return fail(ps, at, "@every: the duration is too long");
    total += n * unit;
  }
  while (is_blank(*s)) s++;
  if (*s) return fail(ps, s, "too many fields after @every's duration");
  if (total < 10) return fail(ps, at, "@every: the interval is at least 10ms");
  e->every_ms = total;
  return 0;
}

static int parse_nickname(parser *ps, const char *s, nodus_cron_expr *e) {
  size_t len = 1;
  while (s[len] && !is_blank(s[len])) len++;
  if (len == 6 && !strncmp(s, "@every", 6)) {
    if (!s[6]) ps->shift = 1; /* the duration's column, past the end */
    return parse_every(ps, s[6] ? s + 7 : s + 6, e);
  }
  for (size_t i = 0; i < sizeof nicknames / sizeof *nicknames; i++) {
    if (strlen(nicknames[i].name) != len || strncasecmp(s, nicknames[i].name, len)) continue;
    const char *rest = s + len;
    while (is_blank(*rest)) rest++;
    if (*rest) return fail(ps, rest, "too many fields after %s", nicknames[i].name);
    parser inner = {nicknames[i].expr, NULL, 0};
    return parse_fields(&inner, nicknames[i].expr, e);
  }
  return fail(ps, s, "unknown nickname '%.*s' (@yearly @annually @monthly @weekly @daily "
                     "@midnight @hourly @every)",
              (int)(len > 20 ? 20 : len), s);
}

int nodus_cron_parse(const char *text, nodus_cron_expr **out, nodus_cron_error *err) {
  if (!text || !out) return NODUS_EINVAL;
  *out = NULL;
  if (err) err->position = 0, err->reason[0] = 0;
  parser ps = {text, err, 0};
  nodus_cron_expr *e = calloc(1, sizeof *e);
  if (!e) return NODUS_ENOMEM;
  const char *s = text;
  while (is_blank(*s)) s++;
  int rc = !*s ? fail(&ps, text, "the schedule is empty")
           : *s == '@' ? parse_nickname(&ps, s, e)
                       : parse_fields(&ps, text, e);
  if (rc) {
    free(e);
    return rc;
  }
  *out = e;
  return 0;
}

void nodus_cron_expr_free(nodus_cron_expr *expr) { free(expr); }

bool nodus_cron_is_interval(const nodus_cron_expr *expr) { return expr && expr->every_ms > 0; }

/* Time zones from TZif files (RFC 8536) and their POSIX TZ footer rule.
 *
 * A zone is reduced to what cron needs: the UTC offset in effect at an
 * instant. Explicit transitions are kept as (time, offset) pairs and
 * searched by bisection; after the last one the footer rule (when there
 * is one) gives the offset, computed for the instant's year directly.
 *
 * Where the format leaves a choice, glibc's localtime_r is followed (it is
 * the oracle of tests/unit/test_tz.c):
 *   - before the first transition: the first type that is not DST, or
 *     type 0 when all are DST;
 *   - from the last transition on: the footer rule, when not empty;
 *   - the rule's two changes are those of the instant's UTC year.
 * Two exceptions: a v2+ file with no transitions at all follows its
 * footer (RFC 8536 section 3.2; glibc ignores the footer then), and a rule
 * applies to years before 1971 as to any other (glibc computes those as
 * 1970). Leap-second records are checked but not applied. */
#include "cluster/cron/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cron/civil.h"
#include "nodus/error.h"

#define TZ_MAX_FILE (1u << 20)
#define TZ_MAX_NAME 255
#define DAY_S 86400
/* RFC 8536: utoff SHOULD be more than -25 h and less than 26 h. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* The Gregorian calendar repeats every 400 years, weekdays included. */
#define CYCLE_DAYS 146097
#define CYCLE_S ((int64_t)CYCLE_DAYS * DAY_S)
/* 2000-01-01T00:00:00Z: rule times are computed in [EPOCH2000,
 * EPOCH2000 + CYCLE_S), small numbers whatever the instant. */
#define EPOCH2000 INT64_C(946684800)

enum rule_kind { RULE_J1, RULE_J0, RULE_M };

/* One change of a POSIX rule: a day of the year and a local time. */
typedef struct tz_rule {
  uint8_t kind; /* enum rule_kind */
  uint8_t mon, week, wday;
  uint16_t day;  /* J1: 1..365, J0: 0..365 */
  int32_t secs;  /* local time of day, -167h..167h (RFC 8536 v3) */
} tz_rule;

struct nodus_tz {
  char *name;
  size_t n;         /* transitions */
  int64_t *at;      /* strictly increasing */
  int32_t *off;     /* offset from at[i] on */
  int32_t before;   /* before at[0] (always, when n == 0 and no rule) */
  bool has_rule;    /* a non-empty footer: from at[n - 1] on */
  bool has_dst;
  int32_t std_off, dst_off;
  tz_rule start, end; /* into DST (in standard time), out (in DST) */
};

/* ---- calendar (civil.h) ---- */

static int64_t jan1(int64_t y) { return cron_days_from_civil(y, 1, 1); }

static int64_t year_of_day(int64_t days) {
  int64_t y;
  int m, d;
  cron_civil_from_days(days, &y, &m, &d);
  return y;
}

/* The instant (in the reduced range) of rule r in year y, whose local
 * time is `off` seconds east of UTC until then. */
static int64_t rule_time(const tz_rule *r, int64_t y, int32_t off) {
  int64_t day = jan1(y);
  if (r->kind == RULE_J1) {
    /* Jn never counts February 29th. */
    day += r->day - 1 + (r->day >= 60 && cron_is_leap(y));
  } else if (r->kind == RULE_J0) {
    day += r->day;
  } else {
    day = cron_days_from_civil(y, r->mon, 1);
    int first = (r->wday - cron_weekday(day) + 7) % 7; /* 0-based day of month */
    int d = first + 7 * (r->week - 1);
    while (d >= cron_days_in_month(y, r->mon)) d -= 7; /* week 5: the last one */
    day += d;
  }
  return day * DAY_S + r->secs - off;
}

/* t moved by whole 400-year cycles into [EPOCH2000, EPOCH2000 + CYCLE_S),
 * where the rule gives the same offset. */
static int64_t reduce(int64_t t) {
  int64_t r = t % CYCLE_S;
  if (r < 0) r += CYCLE_S;
  r -= EPOCH2000 % CYCLE_S;
  if (r < 0) r += CYCLE_S;
  return EPOCH2000 + r;
}

/* The rule's offset at a reduced instant. */
static int32_t rule_offset_reduced(const nodus_tz *tz, int64_t t) {
  if (!tz->has_dst) return tz->std_off;
  int64_t y = year_of_day(t / DAY_S);
  int64_t s = rule_time(&tz->start, y, tz->std_off);
  int64_t e = rule_time(&tz->end, y, tz->dst_off);
  /* DST may span the new year (the southern hemisphere). */
  bool dst = s > e ? (t < e || t >= s) : (t >= s && t < e);
  return dst ? tz->dst_off : tz->std_off;
}

static int32_t rule_offset(const nodus_tz *tz, int64_t t) {
  return rule_offset_reduced(tz, reduce(t));
}

int32_t nodus_tz_offset(const nodus_tz *tz, int64_t unix_s) {
  if (!tz) return 0;
  if (tz->n == 0) return tz->has_rule ? rule_offset(tz, unix_s) : tz->before;
  if (unix_s < tz->at[0]) return tz->before;
  if (unix_s >= tz->at[tz->n - 1])
    return tz->has_rule ? rule_offset(tz, unix_s) : tz->off[tz->n - 1];
  size_t lo = 0, hi = tz->n - 1; /* at[lo] <= unix_s < at[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->at[mid] <= unix_s) lo = mid;
    else hi = mid;
  }
  return tz->off[lo];
}

/* The first change of the rule's offset after a (itself in the rule's
 * range). Within a UTC year the offset can only change at that year's
 * two rule times, and between years at January 1st (glibc takes the
 * rule of the instant's UTC year); the cycle repeats after 400 years, so
 * a change, if any, comes within 401. */
static int64_t rule_next(const nodus_tz *tz, int64_t a) {
  if (!tz->has_dst || tz->std_off == tz->dst_off) return INT64_MAX;
  int64_t r = reduce(a);
  int64_t y0 = year_of_day(r / DAY_S);
  for (int64_t y = y0; y <= y0 + 401; y++) {
    int64_t lo = jan1(y) * DAY_S, hi = jan1(y + 1) * DAY_S;
    int64_t c[3] = {lo, rule_time(&tz->start, y, tz->std_off),
                    rule_time(&tz->end, y, tz->dst_off)};
    if (c[1] > c[2]) {
      int64_t x = c[1];
      c[1] = c[2], c[2] = x;
    }
    for (int i = 0; i < 3; i++) {
      if (c[i] <= r || c[i] < lo || c[i] >= hi) continue;
      int64_t delta = c[i] - r; /* > 0, a few hundred years at most */
      if (a > INT64_MAX - delta) return INT64_MAX;
      int64_t t = a + delta;
      if (rule_offset(tz, t) != rule_offset(tz, t - 1)) return t;
    }
  }
  return INT64_MAX;
}

int64_t cron_tz_next_change(const nodus_tz *tz, int64_t after_s) {
  if (!tz) return INT64_MAX;
  int64_t a = after_s;
  if (tz->n > 0) {
    size_t lo = 0, hi = tz->n; /* the first at[i] > after_s */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (tz->at[mid] <= after_s) lo = mid + 1;
      else hi = mid;
    }
    for (size_t i = lo; i < tz->n; i++) {
      int32_t prev = i == 0 ? tz->before : tz->off[i - 1];
      int32_t cur = i == tz->n - 1 && tz->has_rule
                        ? rule_offset(tz, tz->at[i]) : tz->off[i];
      if (cur != prev) return tz->at[i];
    }
    if (tz->at[tz->n - 1] > a) a = tz->at[tz->n - 1];
  }
  return tz->has_rule ? rule_next(tz, a) : INT64_MAX;
}

const char *nodus_tz_name(const nodus_tz *tz) { return tz ? tz->name : "UTC"; }

void nodus_tz_close(nodus_tz *tz) {
  if (!tz) return;
  free(tz->name);
  free(tz->at);
  free(tz->off);
  free(tz);
}

static nodus_tz *tz_new(const char *name) {
  nodus_tz *tz = calloc(1, sizeof *tz);
  if (!tz) return NULL;
  tz->name = strdup(name ? name : "");
  if (!tz->name) {
    free(tz);
    return NULL;
  }
  return tz;
}

/* ---- the POSIX TZ footer ---------------------------------------------- */

typedef struct cursor {
  const char *p, *end;
} cursor;

static int peek(const cursor *c) { return c->p < c->end ? (unsigned char)*c->p : -1; }

static bool is_alpha(int ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }

/* A zone abbreviation: letters, or <...> of letters, digits, + and -. Its
 * text is not kept (offsets are all cron needs). */
static bool parse_abbr(cursor *c) {
  const char *start = c->p;
  if (peek(c) == '<') {
    c->p++;
    start = c->p;
    while (is_alpha(peek(c)) || is_digit(peek(c)) || peek(c) == '+' ||
           peek(c) == '-')
      c->p++;
    if (c->p == start || peek(c) != '>') return false;
    c->p++;
    return true;
  }
  while (is_alpha(peek(c))) c->p++;
  return c->p != start;
}

static bool parse_uint(cursor *c, int max, int *v) {
  if (!is_digit(peek(c))) return false;
  int n = 0;
  while (is_digit(peek(c))) {
    n = n * 10 + (peek(c) - '0');
    if (n > max) return false;
    c->p++;
  }
  *v = n;
  return true;
}

/* [+-]hh[:mm[:ss]], hh up to max_h, in seconds. */
static bool parse_hms(cursor *c, int max_h, int32_t *secs) {
  int sign = 1, h, m = 0, s = 0;
  if (peek(c) == '+' || peek(c) == '-') sign = *c->p++ == '-' ? -1 : 1;
  if (!parse_uint(c, max_h, &h)) return false;
  if (peek(c) == ':') {
    c->p++;
    if (!parse_uint(c, 59, &m)) return false;
    if (peek(c) == ':') {
      c->p++;
      if (!parse_uint(c, 59, &s)) return false;
    }
  }
  *secs = sign * (h * 3600 + m * 60 + s);
  return true;
}

/* A POSIX offset is west of UTC; ours are east. */
static bool parse_offset(cursor *c, int32_t *east) {
  int32_t west;
  if (!parse_hms(c, 24, &west)) return false;
  *east = -west;
  return *east >= UTOFF_MIN && *east <= UTOFF_MAX;
}

static bool parse_rule(cursor *c, tz_rule *r) {
  int a, b, d;
  memset(r, 0, sizeof *r);
  if (peek(c) == 'J') {
    c->p++;
    if (!parse_uint(c, 365, &a) || a < 1) return false;
    r->kind = RULE_J1, r->day = (uint16_t)a;
  } else if (peek(c) == 'M') {
    c->p++;
    if (!parse_uint(c, 12, &a) || a < 1 || peek(c) != '.') return false;
    c->p++;
    if (!parse_uint(c, 5, &b) || b < 1 || peek(c) != '.') return false;
    c->p++;
    if (!parse_uint(c, 6, &d)) return false;
    r->kind = RULE_M, r->mon = (uint8_t)a, r->week = (uint8_t)b;
    r->wday = (uint8_t)d;
  } else {
    if (!parse_uint(c, 365, &a)) return false;
    r->kind = RULE_J0, r->day = (uint16_t)a;
  }
  r->secs = 2 * 3600;
  if (peek(c) == '/') {
    c->p++;
    /* RFC 8536 v3: hours -167..167. */
    if (!parse_hms(c, 167, &r->secs)) return false;
  }
  return true;
}

/* std offset [dst [offset] ,rule,rule]; an empty footer is no rule. */
static int parse_footer(const char *s, size_t len, nodus_tz *tz) {
  cursor c = {s, s + len};
  if (len == 0) return 0;
  if (!parse_abbr(&c) || !parse_offset(&c, &tz->std_off)) return NODUS_ESYNTAX;
  tz->has_rule = true;
  if (c.p == c.end) return 0;
  if (!parse_abbr(&c)) return NODUS_ESYNTAX;
  tz->has_dst = true;
  tz->dst_off = tz->std_off + 3600;
  if (peek(&c) != ',' && !parse_offset(&c, &tz->dst_off)) return NODUS_ESYNTAX;
  /* POSIX leaves a DST without rules to the implementation: refused. */
  if (peek(&c) != ',') return NODUS_ESYNTAX;
  c.p++;
  if (!parse_rule(&c, &tz->start) || peek(&c) != ',') return NODUS_ESYNTAX;
  c.p++;
  if (!parse_rule(&c, &tz->end) || c.p != c.end) return NODUS_ESYNTAX;
  return tz->dst_off >= UTOFF_MIN && tz->dst_off <= UTOFF_MAX ? 0 : NODUS_ESYNTAX;
}

/* ---- TZif ------------------------------------------------------------- */

#define HEADER_LEN 44

typedef struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Two's complement without implementation-defined conversions. */
static int64_t s32(uint32_t u) {
  return u < 0x80000000u ? (int64_t)u : (int64_t)u - INT64_C(0x100000000);
}

static int64_t s64(const uint8_t *p) {
  uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
  return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* Reads a header at buf[*pos]; its version byte into *version. */
static int read_header(const uint8_t *buf, size_t len, size_t *pos,
                       tzif_counts *k, int *version) {
  if (len - *pos < HEADER_LEN) return NODUS_ESYNTAX;
  const uint8_t *h = buf + *pos;
  if (memcmp(h, "TZif", 4) != 0) return NODUS_ESYNTAX;
  if (h[4] == 0) *version = 1;
  else if (h[4] >= '2' && h[4] <= '4') *version = h[4] - '0';
  else return NODUS_ESYNTAX;
  k->isut = be32(h + 20), k->isstd = be32(h + 24), k->leap = be32(h + 28);
  k->time = be32(h + 32), k->type = be32(h + 36), k->chars = be32(h + 40);
  *pos += HEADER_LEN;
  return 0;
}

/* The data block's size (64-bit arithmetic: counts are 32-bit). */
static uint64_t block_len(const tzif_counts *k, unsigned tsize) {
  return (uint64_t)k->time * (tsize + 1) + (uint64_t)k->type * 6 + k->chars +
         (uint64_t)k->leap * (tsize + 4) + k->isstd + k->isut;
}

/* Validates the data block at b (block_len bytes, checked) and keeps its
 * transitions and offsets. */
static int read_block(const uint8_t *b, const tzif_counts *k, unsigned tsize,
                      nodus_tz *tz) {
  if (k->type == 0 || k->type > 256 || k->chars == 0) return NODUS_ESYNTAX;
  if ((k->isstd && k->isstd != k->type) || (k->isut && k->isut != k->type))
    return NODUS_ESYNTAX;
  const uint8_t *times = b, *idx = times + (size_t)k->time * tsize;
  const uint8_t *types = idx + k->time, *chars = types + (size_t)k->type * 6;
  const uint8_t *leaps = chars + k->chars;
  const uint8_t *isstd = leaps + (size_t)k->leap * (tsize + 4);
  const uint8_t *isut = isstd + k->isstd;

  int32_t utoff[256];
  bool isdst[256];
  for (uint32_t i = 0; i < k->type; i++) {
    const uint8_t *t = types + 6 * i;
    int64_t off = s32(be32(t));
    if (off < UTOFF_MIN || off > UTOFF_MAX || t[4] > 1 || t[5] >= k->chars)
      return NODUS_ESYNTAX;
    utoff[i] = (int32_t)off, isdst[i] = t[4];
  }
  /* Designations are NUL-terminated strings. */
  if (chars[k->chars - 1] != 0) return NODUS_ESYNTAX;
  for (uint32_t i = 0; i < k->isstd; i++)
    if (isstd[i] > 1) return NODUS_ESYNTAX;
  for (uint32_t i = 0; i < k->isut; i++)
    if (isut[i] > 1 || (isut[i] && !(k->isstd && isstd[i]))) return NODUS_ESYNTAX;
  /* Leap seconds are not applied (unix time has none); their occurrences
   * must still ascend. */
  for (uint32_t i = 1; i < k->leap; i++) {
    const uint8_t *p = leaps + (size_t)i * (tsize + 4), *q = p - (tsize + 4);
    int64_t a = tsize == 8 ? s64(q) : s32(be32(q));
    int64_t c = tsize == 8 ? s64(p) : s32(be32(p));
    if (c <= a) return NODUS_ESYNTAX;
  }

  tz->n = k->time;
  if (tz->n) {
    tz->at = malloc(tz->n * sizeof *tz->at);
    tz->off = malloc(tz->n * sizeof *tz->off);
    if (!tz->at || !tz->off) return NODUS_ENOMEM;
  }
  for (size_t i = 0; i < tz->n; i++) {
    const uint8_t *p = times + i * tsize;
    tz->at[i] = tsize == 8 ? s64(p) : s32(be32(p));
    if (i > 0 && tz->at[i] <= tz->at[i - 1]) return NODUS_ESYNTAX;
    if (idx[i] >= k->type) return NODUS_ESYNTAX;
    tz->off[i] = utoff[idx[i]];
  }
  /* glibc's choice before the first transition (see the top). */
  uint32_t first = 0;
  while (first < k->type && isdst[first]) first++;
  tz->before = utoff[first < k->type ? first : 0];
  return 0;
}

static int from_tzif(const uint8_t *buf, size_t len, nodus_tz *tz) {
  size_t pos = 0;
  tzif_counts k;
  int version, rc = read_header(buf, len, &pos, &k, &version);
  if (rc) return rc;
  uint64_t blen = block_len(&k, 4);
  if (blen > len - pos) return NODUS_ESYNTAX;
  if (version == 1) return read_block(buf + pos, &k, 4, tz);

  /* v2+: the v1 block is only skipped; the 64-bit one is used. */
  pos += (size_t)blen;
  int version2;
  if ((rc = read_header(buf, len, &pos, &k, &version2))) return rc;
  if (version2 != version) return NODUS_ESYNTAX;
  blen = block_len(&k, 8);
  if (blen > len - pos) return NODUS_ESYNTAX;
  if ((rc = read_block(buf + pos, &k, 8, tz))) return rc;
  pos += (size_t)blen;

  /* The footer: "\n" TZ string "\n". */
  if (pos >= len || buf[pos] != '\n') return NODUS_ESYNTAX;
  pos++;
  const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
  if (!nl) return NODUS_ESYNTAX;
  return parse_footer((const char *)buf + pos, (size_t)(nl - (buf + pos)), tz);
}

int cron_tz_from_tzif(const uint8_t *buf, size_t len, const char *name,
                       nodus_tz **out) {
  if (!out || (!buf && len)) return NODUS_EINVAL;
  *out = NULL;
  nodus_tz *tz = tz_new(name);
  if (!tz) return NODUS_ENOMEM;
  int rc = buf ? from_tzif(buf, len, tz) : NODUS_ESYNTAX;
  if (rc) {
    nodus_tz_close(tz);
    return rc;
  }
  *out = tz;
  return 0;
}

/* ---- opening by name -------------------------------------------------- */

static bool is_utc_name(const char *name) {
  return !name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC");
}

/* A relative path of components of [A-Za-z0-9_+-.], none empty, "." or
 * "..": nothing outside the zone directory. */
static bool valid_zone_name(const char *name) {
  size_t len = strlen(name);
  if (len > TZ_MAX_NAME || name[0] == '/') return false;
  for (const char *p = name; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    for (size_t i = 0; i < n; i++) {
      int ch = (unsigned char)p[i];
      if (!is_alpha(ch) && !is_digit(ch) && !strchr("_+-.", ch)) return false;
    }
    p += n;
    if (*p == '/' && !*++p) return false; /* a trailing '/' */
  }
  return true;
}

static int read_fd(int fd, size_t size_hint, uint8_t **data, size_t *len) {
  size_t cap = size_hint + 1, n = 0; /* + 1: room to see it grew */
  uint8_t *buf = malloc(cap);
  if (!buf) return NODUS_ENOMEM;
  for (;;) {
    if (n == cap) {
      if (n > TZ_MAX_FILE) break; /* no zone is that big */
      size_t more = cap * 2 > TZ_MAX_FILE + 1 ? TZ_MAX_FILE + 1 : cap * 2;
      uint8_t *b = realloc(buf, more);
      if (!b) {
        free(buf);
        return NODUS_ENOMEM;
      }
      buf = b, cap = more;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      free(buf);
      return NODUS_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n > TZ_MAX_FILE) {
    free(buf);
    return NODUS_ESYNTAX;
  }
  *data = buf, *len = n;
  return 0;
}

/* The whole file, up to TZ_MAX_FILE bytes. */
static int read_file(const char *path, uint8_t **data, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NODUS_ENOTFOUND;
  struct stat st;
  int rc;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    rc = NODUS_ENOTFOUND; /* "Europe" is a directory, not a zone */
  else if (st.st_size > (off_t)TZ_MAX_FILE)
    rc = NODUS_ESYNTAX;
  else
    rc = read_fd(fd, (size_t)st.st_size, data, len);
  close(fd);
  return rc;
}

static int open_utc(nodus_tz **out) {
  nodus_tz *tz = tz_new("UTC");
  if (!tz) return NODUS_ENOMEM;
  *out = tz; /* no transitions, no rule: 0 always */
  return 0;
}

int nodus_tz_open(const char *name, nodus_tz **out) {
  if (!out) return NODUS_EINVAL;
  *out = NULL;
  if (is_utc_name(name)) return open_utc(out);
  if (!valid_zone_name(name)) return NODUS_EINVAL;
  const char *dir = getenv("TZDIR");
  if (!dir || !*dir) dir = "/usr/share/zoneinfo";
  size_t dlen = strlen(dir), nlen = strlen(name);
  char *path = malloc(dlen + nlen + 2);
  if (!path) return NODUS_ENOMEM;
  memcpy(path, dir, dlen);
  path[dlen] = '/';
  memcpy(path + dlen + 1, name, nlen + 1);
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = read_file(path, &data, &len);
  free(path);
  if (rc) return rc;
  rc = cron_tz_from_tzif(data, len, name, out);
  free(data);
  return rc;
}

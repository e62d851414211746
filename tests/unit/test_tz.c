/* Time zones (src/cluster/cron/tz.c) against glibc's localtime_r: offsets
 * of 13 zones sampled every 3h07m over 1900..2040 and around every change
 * cron_tz_next_change finds up to 2100 (past the files' explicit
 * transitions, where the POSIX footer rule takes over); footers of every
 * form in hand-made files against glibc reading the same POSIX TZ string;
 * zone names, TZDIR, truncated and corrupted files. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cluster/cron/tz.h"
#include "nodus.h"
#include "nodus/cron.h"

#define BERLIN "/usr/share/zoneinfo/Europe/Berlin"
#define Y1970 INT64_C(0)
#define Y1900 INT64_C(-2208988800)
#define Y1971 INT64_C(31536000)
#define Y2040 INT64_C(2208988800)
#define Y2100 INT64_C(4102444800)

static long compared; /* instants compared with glibc, all tests */

static long glibc_off(int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!localtime_r(&tt, &tm)) return LONG_MIN;
  return tm.tm_gmtoff;
}

static void set_tz(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += r;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

/* ---- nodus against glibc (TZ already set) ------------------------------ */

typedef struct zone_stats {
  long samples, changes, bad;
} zone_stats;

static void same(const nodus_tz *tz, int64_t t, zone_stats *st) {
  long want = glibc_off(t);
  int32_t got = nodus_tz_offset(tz, t);
  compared++;
  if (got != want && st->bad++ < 5)
    fprintf(stderr, "  %s at %lld: nodus %d, glibc %ld\n", nodus_tz_name(tz),
            (long long)t, got, want);
}

/* Every change from `from` to `to`: a real change for glibc too, the same
 * offsets either side, and glibc constant until the next one. */
static void walk_changes(const nodus_tz *tz, int64_t from, int64_t to,
                         zone_stats *st) {
  int64_t prev = from;
  for (;;) {
    int64_t c = cron_tz_next_change(tz, prev);
    if (c <= prev) {
      st->bad++;
      fprintf(stderr, "  %s: next_change(%lld) = %lld\n", nodus_tz_name(tz),
              (long long)prev, (long long)c);
      return;
    }
    int64_t end = c < to ? c : to;
    /* Inside (prev, end): constant for glibc, as for nodus. */
    int64_t pts[4] = {prev + 1, prev + (end - prev) / 3,
                      prev + (end - prev) / 2, end - 1};
    for (int i = 0; i < 4; i++)
      if (pts[i] > prev && pts[i] < end) same(tz, pts[i], st);
    if (c >= to) return;
    same(tz, c - 1, st), same(tz, c, st), same(tz, c + 1, st);
    if (glibc_off(c - 1) == glibc_off(c) && st->bad++ < 5)
      fprintf(stderr, "  %s: no change at %lld for glibc\n", nodus_tz_name(tz),
              (long long)c);
    st->changes++;
    prev = c;
  }
}

/* Sampled every 3h07m: the same offset, and a change glibc shows between
 * two samples is one next_change finds. */
static void sample(const nodus_tz *tz, int64_t from, int64_t to, int64_t step,
                   zone_stats *st) {
  long prev_off = glibc_off(from);
  for (int64_t t = from; t < to; t += step) {
    same(tz, t, st);
    st->samples++;
    long off = glibc_off(t + step);
    if (off != prev_off && cron_tz_next_change(tz, t) > t + step && st->bad++ < 5)
      fprintf(stderr, "  %s: glibc changes in (%lld, %lld], nodus not\n",
              nodus_tz_name(tz), (long long)t, (long long)(t + step));
    prev_off = off;
  }
}

static void test_zones(void) {
  static const char *zones[] = {
      "Europe/Berlin",   "America/New_York",    "Europe/London",
      "Australia/Sydney", "Asia/Kolkata",       "Asia/Kathmandu",
      "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Chatham",
      "Africa/Casablanca", "America/St_Johns",  "Pacific/Apia",
      "Asia/Tehran"};
  for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
    nodus_tz *tz = NULL;
    CHECK_RC(nodus_tz_open(zones[i], &tz), 0);
    if (!tz) continue;
    CHECK_STR(nodus_tz_name(tz), zones[i]);
    set_tz(zones[i]);
    zone_stats st = {0};
    sample(tz, Y1900, Y2040, 3 * 3600 + 7 * 60, &st);
    walk_changes(tz, -(INT64_C(1) << 40), Y2100, &st);
    /* Far out: local mean time before the first transition, the footer
     * rule after the last. */
    static const int64_t far[] = {-(INT64_C(1) << 40), -INT64_C(5000000000),
                                  INT64_C(1) << 40, INT64_C(67767976233316800)};
    for (size_t j = 0; j < sizeof far / sizeof *far; j++) same(tz, far[j], &st);
    printf("  %-20s %6ld samples 1900..2040, %4ld changes to 2100, %ld wrong\n",
           zones[i], st.samples, st.changes, st.bad);
    CHECK(st.bad == 0);
    CHECK(st.changes > 0 || !strcmp(zones[i], "Asia/Kolkata"));
    nodus_tz_close(tz);
  }
}

/* ---- hand-made TZif files ---------------------------------------------- */

typedef struct spec {
  size_t n, types;
  int64_t at[8];
  uint8_t idx[8];
  int32_t utoff[4];
  uint8_t isdst[4];
} spec;

static uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
  return p + 4;
}

static uint8_t *header(uint8_t *p, int version, uint32_t timecnt,
                       uint32_t typecnt, uint32_t charcnt) {
  memcpy(p, "TZif", 4);
  p[4] = version == 1 ? 0 : (uint8_t)('0' + version);
  memset(p + 5, 0, 15);
  p += 20;
  p = put32(p, 0), p = put32(p, 0), p = put32(p, 0); /* isut, isstd, leap */
  p = put32(p, timecnt), p = put32(p, typecnt);
  return put32(p, charcnt);
}

static uint8_t *block(uint8_t *p, const spec *s, int tsize) {
  for (size_t i = 0; i < s->n; i++) {
    uint64_t u = (uint64_t)s->at[i];
    if (tsize == 8) p = put32(p, (uint32_t)(u >> 32));
    p = put32(p, (uint32_t)u);
  }
  for (size_t i = 0; i < s->n; i++) *p++ = s->idx[i];
  for (size_t i = 0; i < s->types; i++) {
    p = put32(p, (uint32_t)s->utoff[i]);
    *p++ = s->isdst[i];
    *p++ = 0;
  }
  memcpy(p, "ABC", 4);
  return p + 4;
}

/* A file of `version`; for 2+ a minimal v1 block and `footer`. */
static size_t build(uint8_t *out, int version, const spec *s, const char *footer) {
  uint8_t *p = out;
  if (version == 1) {
    p = header(p, 1, (uint32_t)s->n, (uint32_t)s->types, 4);
    return (size_t)(block(p, s, 4) - out);
  }
  p = header(p, version, 0, 1, 1);
  memset(p, 0, 7); /* one type (UT) and one NUL */
  p = header(p + 7, version, (uint32_t)s->n, (uint32_t)s->types, 4);
  p = block(p, s, 8);
  *p++ = '\n';
  memcpy(p, footer, strlen(footer));
  p += strlen(footer);
  *p++ = '\n';
  return (size_t)(p - out);
}

static int load(const uint8_t *buf, size_t len, nodus_tz **tz) {
  return cron_tz_from_tzif(buf, len, "test", tz);
}

/* A footer alone decides (one transition long before, to its standard
 * offset): nodus against glibc given the same string, from 1971 on
 * (glibc computes a TZ string's rule for years up to 1970 as for 1970). */
static void test_footers(void) {
  static const struct {
    const char *tz;
    int32_t std;
  } f[] = {
      {"CET-1CEST,M3.5.0,M10.5.0/3", 3600},
      {"EST5EDT,M3.2.0,M11.1.0", -18000},
      {"<+0330>-3:30", 12600},
      {"<-03>3", -10800},
      {"XXX3YYY,M3.2.0/-1,M11.1.0/26", -10800},
      {"XXX3YYY,M3.2.0/100,M11.1.0", -10800},
      {"XXX3YYY,J60/2,300", -10800},
      {"XXX3YYY,J1/0,J365/25", -10800},
      {"XXX3YYY2,59/-167,0/167", -10800},
      {"AAA-10BBB,M10.1.0,M4.1.0/3", 36000},
      {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 37800},
      {"<+1345>-13:45<+1445>,M9.5.0/2:45,M4.1.0/3:45", 49500},
      {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", -10800},
      {"IST-1GMT0,M10.5.0,M3.5.0/1", 3600},
      {"AAA-13BBB-14,J1/0,J365/23", 46800},
      {"AAA-13BBB-14,M12.5.6/23:59:59,M1.1.0/0:0:1", 46800},
      {"NST3:30NDT,M3.2.0,M11.1.0", -12600},
      {"AAA+12BBB+11:30:30,M2.5.0/24,M11.5.6/12", -43200},
  };
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    spec s = {.n = 1, .types = 1, .at = {INT64_C(-9000000000)}, .idx = {0},
              .utoff = {f[i].std}};
    uint8_t buf[512];
    size_t len = build(buf, 2 + (int)(i % 3), &s, f[i].tz);
    nodus_tz *tz = NULL;
    CHECK_RC(load(buf, len, &tz), 0);
    if (!tz) {
      fprintf(stderr, "  footer %s refused\n", f[i].tz);
      continue;
    }
    set_tz(f[i].tz);
    zone_stats st = {0};
    sample(tz, Y1971, Y2100, 3 * 3600 + 7 * 60, &st);
    walk_changes(tz, Y1971, INT64_C(32503680000) /* 3000 */, &st);
    if (st.bad) fprintf(stderr, "  footer %s: %ld wrong\n", f[i].tz, st.bad);
    CHECK(st.bad == 0);
    nodus_tz_close(tz);
  }
}

/* Footers that are not POSIX TZ strings, or are out of range. */
static void test_bad_footers(void) {
  static const char *bad[] = {
      "EST",          "EST5EDT",      "5",          "EST5EDT,M3.2.0",
      "EST25",        "EST5EDT,M13.2.0,M11.1.0",    "EST5EDT,M3.6.0,M11.1.0",
      "EST5EDT,M3.2.7,M11.1.0",       "EST5EDT,J0,J365",
      "EST5EDT,J1,J366",              "EST5EDT,366,1",
      "EST5EDT,M3.2.0/168,M11.1.0",   "EST5EDT,M3.2.0,M11.1.0x",
      "EST5:60",      "<>5",          "<EST5",       "EST5EDT,M3.2.0,M11.1.0,",
      "EST5 EDT",     "EST+",         "EST5EDT25,M3.2.0,M11.1.0",
      "EST5EDT,M3.2.0/,M11.1.0",      "EST5EDT,M3..0,M11.1.0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    spec s = {.n = 0, .types = 1};
    uint8_t buf[512];
    size_t len = build(buf, 2, &s, bad[i]);
    nodus_tz *tz = NULL;
    int rc = load(buf, len, &tz);
    if (rc != NODUS_ESYNTAX) fprintf(stderr, "  footer \"%s\": %d\n", bad[i], rc);
    CHECK_RC(rc, NODUS_ESYNTAX);
    nodus_tz_close(tz);
  }
}

static void test_hand_made(void) {
  /* v1: type 0 is DST +3; then +1, +2 (DST), +1. */
  spec s = {.n = 3, .types = 3,
            .at = {-100000, 1000000, 2000000}, .idx = {1, 2, 1},
            .utoff = {3600 + 7200, 3600, 7200}, .isdst = {1, 0, 1}};
  uint8_t buf[512];
  size_t len = build(buf, 1, &s, NULL);
  nodus_tz *tz = NULL;
  CHECK_RC(load(buf, len, &tz), 0);
  if (tz) {
    /* Type 0 is DST: before the first transition glibc (and nodus) take
     * the first standard type. */
    CHECK(nodus_tz_offset(tz, INT64_MIN) == 3600);
    CHECK(nodus_tz_offset(tz, -100001) == 3600);
    CHECK(nodus_tz_offset(tz, -100000) == 3600);
    CHECK(nodus_tz_offset(tz, 999999) == 3600);
    CHECK(nodus_tz_offset(tz, 1000000) == 7200);
    CHECK(nodus_tz_offset(tz, 2000000) == 3600);
    CHECK(nodus_tz_offset(tz, INT64_MAX) == 3600);
    /* -100000 changes nothing: skipped. */
    CHECK(cron_tz_next_change(tz, INT64_MIN) == 1000000);
    CHECK(cron_tz_next_change(tz, 999999) == 1000000);
    CHECK(cron_tz_next_change(tz, 1000000) == 2000000);
    CHECK(cron_tz_next_change(tz, 2000000) == INT64_MAX);
    CHECK_STR(nodus_tz_name(tz), "test");
    nodus_tz_close(tz);
  }
  /* v1 times are 32-bit and signed. */
  spec neg = {.n = 2, .types = 2, .at = {INT32_MIN, INT32_MAX}, .idx = {1, 0},
              .utoff = {0, -3600}};
  len = build(buf, 1, &neg, NULL);
  CHECK_RC(load(buf, len, &tz), 0);
  if (tz) {
    CHECK(nodus_tz_offset(tz, (int64_t)INT32_MIN - 1) == 0);
    CHECK(nodus_tz_offset(tz, INT32_MIN) == -3600);
    CHECK(nodus_tz_offset(tz, INT32_MAX) == 0);
    CHECK(cron_tz_next_change(tz, INT64_MIN) == INT32_MIN);
    nodus_tz_close(tz);
  }

  /* v2+ with an empty footer: the last type stays. */
  spec v2 = {.n = 2, .types = 2, .at = {0, 100}, .idx = {1, 0},
             .utoff = {-3600, 19800}};
  len = build(buf, 3, &v2, "");
  CHECK_RC(load(buf, len, &tz), 0);
  if (tz) {
    CHECK(nodus_tz_offset(tz, -1) == -3600);
    CHECK(nodus_tz_offset(tz, 0) == 19800);
    CHECK(nodus_tz_offset(tz, INT64_MAX) == -3600);
    CHECK(cron_tz_next_change(tz, 100) == INT64_MAX);
    nodus_tz_close(tz);
  }
  /* No transitions: the footer throughout (RFC 8536 3.2), even in 1900
   * and at the ends of time. */
  spec none = {.n = 0, .types = 1, .utoff = {0}};
  len = build(buf, 4, &none, "CET-1CEST,M3.5.0,M10.5.0/3");
  CHECK_RC(load(buf, len, &tz), 0);
  if (tz) {
    CHECK(nodus_tz_offset(tz, INT64_C(-2208988800)) == 3600); /* 1900-01-01 */
    CHECK(nodus_tz_offset(tz, INT64_C(-2201814001)) == 3600); /* 03-25 00:59:59Z */
    CHECK(nodus_tz_offset(tz, INT64_C(-2201814000)) == 7200);
    CHECK(cron_tz_next_change(tz, INT64_C(-2208988800)) == INT64_C(-2201814000));
    CHECK(nodus_tz_offset(tz, INT64_C(-2181513600)) == 3600); /* 1900-11-15 */
    int32_t o = nodus_tz_offset(tz, INT64_MIN);
    CHECK(o == 3600 || o == 7200);
    o = nodus_tz_offset(tz, INT64_MAX);
    CHECK(o == 3600 || o == 7200);
    /* 2024-03-31T01:00Z and 2024-10-27T01:00Z. */
    CHECK(cron_tz_next_change(tz, 1704067200) == 1711846800);
    CHECK(cron_tz_next_change(tz, 1711846800) == 1729990800);
    /* Year 9999 still changes; near the end of time it cannot overflow. */
    CHECK(cron_tz_next_change(tz, INT64_C(253370764800)) < INT64_C(253402300800));
    int64_t c = cron_tz_next_change(tz, INT64_MAX - 86400 * 400);
    CHECK(c > INT64_MAX - 86400 * 400);
    CHECK(cron_tz_next_change(tz, INT64_MAX - 1) == INT64_MAX);
    CHECK(cron_tz_next_change(tz, INT64_MIN) > INT64_MIN);
    nodus_tz_close(tz);
  }
  /* A rule whose DST is no change: none ever. */
  len = build(buf, 2, &none, "AAA0BBB0,M3.5.0,M10.5.0");
  CHECK_RC(load(buf, len, &tz), 0);
  if (tz) {
    CHECK(cron_tz_next_change(tz, 0) == INT64_MAX);
    CHECK(nodus_tz_offset(tz, 1720000000) == 0);
    nodus_tz_close(tz);
  }
}

/* glibc reading the same hand-made file (TZ=":path"): before the first
 * transition, after the last with an empty footer, v1 times. */
static void test_hand_made_glibc(void) {
  spec dst0 = {.n = 3, .types = 3,
               .at = {-100000, 1000000, 2000000}, .idx = {1, 2, 1},
               .utoff = {3600 + 7200, 3600, 7200}, .isdst = {1, 0, 1}};
  spec alldst = {.n = 2, .types = 2, .at = {0, 100}, .idx = {1, 0},
                 .utoff = {-3600, 19800}, .isdst = {1, 1}};
  spec v1neg = {.n = 2, .types = 2, .at = {INT32_MIN, INT32_MAX},
                .idx = {1, 0}, .utoff = {0, -3600}};
  struct {
    const spec *s;
    int version;
    const char *footer;
  } f[] = {{&dst0, 1, NULL}, {&dst0, 2, ""}, {&dst0, 3, "<+03>-3"},
           {&alldst, 2, ""}, {&alldst, 1, NULL}, {&v1neg, 1, NULL}};
  /* A file of its own for each, all kept until the end: glibc keeps the
   * zone it read while the inode and mtime stay the same. */
  char paths[6][32];
  size_t made = 0;
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
    uint8_t buf[512];
    size_t len = build(buf, f[i].version, f[i].s, f[i].footer);
    char *path = paths[made], tzvar[64];
    strcpy(path, "/tmp/test_tz_file.XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) break;
    made++;
    CHECK(write(fd, buf, len) == (ssize_t)len);
    close(fd);
    snprintf(tzvar, sizeof tzvar, ":%s", path);
    nodus_tz *tz = NULL;
    CHECK_RC(load(buf, len, &tz), 0);
    if (!tz) continue;
    set_tz(tzvar);
    zone_stats st = {0};
    static const int64_t pts[] = {-(INT64_C(1) << 40), INT32_MIN - INT64_C(1),
                                  INT32_MIN, -100001, -100000, -1, 0, 99, 100,
                                  999999, 1000000, 2000000, INT32_MAX,
                                  INT64_C(1) << 40};
    for (size_t j = 0; j < sizeof pts / sizeof *pts; j++) same(tz, pts[j], &st);
    walk_changes(tz, -(INT64_C(1) << 40), INT64_C(1) << 40, &st);
    if (st.bad) fprintf(stderr, "  hand-made file %zu: %ld wrong\n", i, st.bad);
    CHECK(st.bad == 0);
    nodus_tz_close(tz);
  }
  for (size_t i = 0; i < made; i++) unlink(paths[i]);
}

/* Files that break a rule of RFC 8536. */
static void test_bad_files(void) {
  uint8_t buf[512];
  nodus_tz *tz = NULL;
  spec ok = {.n = 2, .types = 2, .at = {0, 100}, .idx = {1, 0},
             .utoff = {0, 3600}};
  size_t len = build(buf, 2, &ok, "UTC0");
  CHECK_RC(load(buf, len, &tz), 0);
  nodus_tz_close(tz);

  spec s = ok;
  s.at[1] = 0; /* not strictly increasing */
  len = build(buf, 2, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.idx[1] = 2; /* no such type */
  len = build(buf, 2, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.utoff[1] = 26 * 3600; /* out of (-25h, 26h) */
  len = build(buf, 1, &s, NULL);
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.utoff[0] = -25 * 3600;
  len = build(buf, 3, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.utoff[0] = INT32_MIN;
  len = build(buf, 3, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.isdst[0] = 2;
  len = build(buf, 2, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);
  s = ok, s.n = 0, s.types = 0; /* typecnt 0 */
  len = build(buf, 2, &s, "UTC0");
  CHECK_RC(load(buf, len, &tz), NODUS_ESYNTAX);

  len = build(buf, 2, &ok, "UTC0");
  uint8_t bad[512];
  memcpy(bad, buf, len);
  bad[4] = '5'; /* version 5 */
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[0] = 'X';
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[51 + 4] = '3'; /* the second header's version differs */
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[51 + 43] = 0; /* charcnt 0 in the 64-bit header */
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[51 + 39] = 200; /* typecnt far more than the bytes there are */
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[len - 7] = 'D'; /* the designations' last NUL */
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  /* The footer: a newline each side. */
  CHECK_RC(load(buf, len - 1, &tz), NODUS_ESYNTAX);
  memcpy(bad, buf, len);
  bad[len - 6] = 'x';
  CHECK_RC(load(bad, len, &tz), NODUS_ESYNTAX);
  /* Bytes after the footer are not read. */
  memcpy(bad, buf, len);
  memcpy(bad + len, "junk", 4);
  CHECK_RC(load(bad, len + 4, &tz), 0);
  nodus_tz_close(tz);
  CHECK_RC(load(NULL, 0, &tz), NODUS_ESYNTAX);
  CHECK_RC(load(buf, 0, &tz), NODUS_ESYNTAX);
  CHECK_RC(load(NULL, 5, &tz), NODUS_EINVAL);
  CHECK_RC(load(buf, len, NULL), NODUS_EINVAL);
}

/* Every prefix of a real file is refused, the whole accepted; random
 * corruption never crashes and what loads behaves. */
static void test_truncated(const uint8_t *file, size_t len) {
  long refused = 0;
  for (size_t n = 0; n < len; n++) {
    nodus_tz *tz = NULL;
    int rc = load(file, n, &tz);
    CHECK(rc == NODUS_ESYNTAX || rc == 0);
    refused += rc == NODUS_ESYNTAX;
    nodus_tz_close(tz);
  }
  CHECK(refused == (long)len); /* the file ends at the footer's newline */
  nodus_tz *tz = NULL;
  CHECK_RC(load(file, len, &tz), 0);
  nodus_tz_close(tz);

  uint8_t *copy = malloc(len);
  uint64_t x = 88172645463325252u;
  long loaded = 0;
  for (int round = 0; round < 3000 && copy; round++) {
    memcpy(copy, file, len);
    int flips = 1 + round % 4;
    for (int i = 0; i < flips; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      copy[(x >> 8) % len] = (uint8_t)x;
    }
    int rc = load(copy, len, &tz);
    CHECK(rc == 0 || rc == NODUS_ESYNTAX);
    if (rc) continue;
    loaded++;
    int64_t t = INT64_MIN / 2;
    for (int i = 0; i < 20; i++) {
      int64_t c = cron_tz_next_change(tz, t);
      if (c == INT64_MAX) break;
      if (c <= t || nodus_tz_offset(tz, c) == nodus_tz_offset(tz, c - 1)) {
        CHECK(!"next_change is a change after t");
        break;
      }
      t = c;
    }
    nodus_tz_close(tz);
  }
  free(copy);
  printf("  %zu prefixes refused, %ld of 3000 corrupted copies still load\n",
         len, loaded);
}

/* ---- names ------------------------------------------------------------- */

static void test_names(void) {
  const char *utc[] = {NULL, "", "UTC", "Etc/UTC"};
  for (size_t i = 0; i < 4; i++) {
    nodus_tz *tz = NULL;
    CHECK_RC(nodus_tz_open(utc[i], &tz), 0);
    if (!tz) continue;
    CHECK_STR(nodus_tz_name(tz), "UTC");
    CHECK(nodus_tz_offset(tz, 0) == 0 && nodus_tz_offset(tz, INT64_MIN) == 0 &&
          nodus_tz_offset(tz, INT64_MAX) == 0 &&
          nodus_tz_offset(tz, 1720000000) == 0);
    CHECK(cron_tz_next_change(tz, INT64_MIN) == INT64_MAX);
    nodus_tz_close(tz);
  }
  CHECK(nodus_tz_offset(NULL, 1720000000) == 0);
  CHECK(cron_tz_next_change(NULL, 0) == INT64_MAX);
  CHECK_STR(nodus_tz_name(NULL), "UTC");
  nodus_tz_close(NULL);

  nodus_tz *tz = (nodus_tz *)&tz;
  CHECK_RC(nodus_tz_open("Nowhere/City", &tz), NODUS_ENOTFOUND);
  CHECK(tz == NULL);
  CHECK_RC(nodus_tz_open("Europe", &tz), NODUS_ENOTFOUND); /* a directory */
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  const char *invalid[] = {"/etc/passwd", "../x", "Europe/../Berlin", "..",
                           "Europe//Berlin", "Europe/Berlin/", "./UTC",
                           "Europe/Ber lin", "Europe\\Berlin", "Europe/B\xc3\xa9rlin",
                           "Europe/Berlin\n", longname};
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
    CHECK_RC(nodus_tz_open(invalid[i], &tz), NODUS_EINVAL);
  CHECK_RC(nodus_tz_open("Europe/Berlin", NULL), NODUS_EINVAL);
  /* Names with + - _ . are zone names. */
  CHECK_RC(nodus_tz_open("Etc/GMT+5", &tz), 0);
  if (tz) CHECK(nodus_tz_offset(tz, 0) == -18000);
  nodus_tz_close(tz);
  CHECK_RC(nodus_tz_open("America/Port-au-Prince", &tz), 0);
  nodus_tz_close(tz);
}

/* TZDIR: zones are read there; a file that is not TZif, an empty one or
 * one over 1 MiB is a syntax error. */
static void test_tzdir(const uint8_t *berlin, size_t len) {
  char dir[] = "/tmp/test_tz.XXXXXX", path[256];
  if (!mkdtemp(dir)) {
    CHECK(!"mkdtemp");
    return;
  }
  const char *old = getenv("TZDIR");
  char *saved = old ? strdup(old) : NULL;
  setenv("TZDIR", dir, 1);

  struct {
    const char *name;
    const void *data;
    size_t len;
    int want;
  } files[] = {{"Garbage", "this is not a zone\n", 19, NODUS_ESYNTAX},
               {"Empty", "", 0, NODUS_ESYNTAX},
               {"Here", berlin, len, 0},
               {"Big", NULL, (1u << 20) + 1, NODUS_ESYNTAX}};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) continue;
    if (files[i].data) {
      fwrite(files[i].data, 1, files[i].len, f);
    } else {
      fwrite(berlin, 1, len, f); /* a real zone, then 1 MiB of padding */
      for (size_t n = len; n < files[i].len; n++) fputc(0, f);
    }
    fclose(f);
    nodus_tz *tz = NULL;
    CHECK_RC(nodus_tz_open(files[i].name, &tz), files[i].want);
    if (tz) CHECK(nodus_tz_offset(tz, 1720000000) == 7200);
    nodus_tz_close(tz);
    unlink(path);
  }
  nodus_tz *tz = NULL;
  CHECK_RC(nodus_tz_open("Europe/Berlin", &tz), NODUS_ENOTFOUND); /* not here */
  CHECK_RC(nodus_tz_open("UTC", &tz), 0); /* needs no file */
  nodus_tz_close(tz);
  rmdir(dir);

  if (saved) setenv("TZDIR", saved, 1);
  else unsetenv("TZDIR");
  free(saved);
  CHECK_RC(nodus_tz_open("Europe/Berlin", &tz), 0);
  nodus_tz_close(tz);
}

/* The cron search asks for offsets a lot: a rough figure. */
static void bench(void) {
  nodus_tz *tz = NULL;
  if (nodus_tz_open("Europe/Berlin", &tz)) return;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int64_t sum = 0;
  const long n = 1000000;
  for (long i = 0; i < n; i++) sum += nodus_tz_offset(tz, (int64_t)i * 7919 * 37);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
  printf("  nodus_tz_offset: %.0f ns a call (checksum %lld)\n", ns, (long long)sum);
  nodus_tz_close(tz);
}

int main(void) {
  size_t len = 0;
  uint8_t *berlin = slurp(BERLIN, &len);
  if (!berlin || len == 0) {
    free(berlin);
    return check_skip(BERLIN " is missing (no tz database)");
  }
  unsetenv("TZDIR"); /* glibc and nodus read the same files */
  test_names();
  test_tzdir(berlin, len);
  test_zones();
  test_footers();
  test_bad_footers();
  test_hand_made();
  test_hand_made_glibc();
  test_bad_files();
  test_truncated(berlin, len);
  bench();
  free(berlin);
  printf("  %ld instants compared with glibc's localtime_r\n", compared);
  printf("test_tz: %d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}

/* nodus_cron_parse / nodus_cron_next_after / nodus_cron_format_time,
 * driven by the table tests/unit/cron_next_cases.txt (its header says the
 * format). The table is the spec: it was written from include/nodus/cron.h,
 * Vixie cron's crontab(5) and POSIX crontab, and checked against GNU date
 * and the tz database, not against this implementation. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nodus/cron.h"
#include "nodus/error.h"

#define MIN_CASES 200

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]+HH:MM" -> unix ms. */
static bool parse_iso(const char *s, int64_t *ms) {
  int y, mo, d, h, mi, se, frac = 0, oh, om;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
      s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
      s[16] != ':' || !digits(s + 17, 2, &se))
    return false;
  s += 19;
  if (*s == '.') {
    if (!digits(s + 1, 3, &frac)) return false;
    s += 4;
  }
  if ((*s != '+' && *s != '-') || !digits(s + 1, 2, &oh) || s[3] != ':' ||
      !digits(s + 4, 2, &om) || s[6] != '\0')
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
    return false;
  int64_t off = (int64_t)oh * 3600 + om * 60;
  if (*s == '-') off = -off;
  int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                 h * 3600 + mi * 60 + se - off;
  *ms = secs * 1000 + frac;
  return true;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                   s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

static void fail(int line, const char *expr, const char *zone, const char *from,
                 const char *want, const char *got) {
  check_failed++;
  fprintf(stderr,
          "cron_next_cases.txt:%d: \"%s\" in %s from %s\n  want %s\n  got  %s\n",
          line, expr, zone, from, want, got);
}

/* Appends s to the got-so-far string. */
static void add(char *got, size_t len, const char *s) {
  size_t n = strlen(got);
  snprintf(got + n, len - n, "%s%s", n ? ", " : "", s);
}

static void run_case(int line, char *expr, char *zone, char *from, char *want) {
  char got[1024] = "";
  /* ERROR <pos>: the parser must refuse it, at that column. */
  if (strncmp(want, "ERROR ", 6) == 0) {
    unsigned pos = (unsigned)strtoul(want + 6, NULL, 10);
    nodus_cron_expr *e = NULL;
    nodus_cron_error err;
    memset(&err, 0, sizeof err);
    int rc = nodus_cron_parse(expr, &e, &err);
    if (rc == 0) {
      nodus_cron_expr_free(e);
      fail(line, expr, zone, from, want, "parsed");
    } else if (rc != NODUS_ESYNTAX || err.position != pos || !err.reason[0]) {
      snprintf(got, sizeof got, "%s position %u reason \"%.96s\"",
               nodus_err_name(rc), err.position, err.reason);
      fail(line, expr, zone, from, want, got);
    } else {
      check_passed++;
    }
    return;
  }
  int64_t t;
  if (!parse_iso(from, &t)) {
    fail(line, expr, zone, from, want, "(bad FROM in the table)");
    return;
  }
  nodus_tz *tz = NULL;
  int rc = nodus_tz_open(zone, &tz);
  if (rc != 0) {
    snprintf(got, sizeof got, "nodus_tz_open: %s", nodus_err_name(rc));
    fail(line, expr, zone, from, want, got);
    return;
  }
  nodus_cron_expr *e = NULL;
  nodus_cron_error err;
  memset(&err, 0, sizeof err);
  rc = nodus_cron_parse(expr, &e, &err);
  if (rc != 0) {
    snprintf(got, sizeof got, "parse %s at %u: %.96s", nodus_err_name(rc),
             err.position, err.reason);
    fail(line, expr, zone, from, want, got);
    nodus_tz_close(tz);
    return;
  }
  bool ok = true;
  char wbuf[1024];
  snprintf(wbuf, sizeof wbuf, "%s", want);
  char *save = NULL;
  for (char *w = strtok_r(wbuf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    w = trim(w);
    int64_t next = 0;
    rc = nodus_cron_next_after(e, tz, t, &next);
    if (rc == NODUS_ERANGE) {
      add(got, sizeof got, "RANGE");
      if (strcmp(w, "RANGE") != 0) ok = false;
      break;
    }
    if (rc != 0) {
      add(got, sizeof got, nodus_err_name(rc));
      ok = false;
      break;
    }
    char buf[64];
    int n = nodus_cron_format_time(tz, next, buf, sizeof buf);
    if (n < 0) snprintf(buf, sizeof buf, "(format %s)", nodus_err_name(n));
    add(got, sizeof got, buf);
    if (strcmp(w, buf) != 0) {
      ok = false;
      break;
    }
    if (next <= t) { /* not strictly after: would loop */
      add(got, sizeof got, "(not after FROM)");
      ok = false;
      break;
    }
    t = next;
  }
  if (ok)
    check_passed++;
  else
    fail(line, expr, zone, from, want, got);
  nodus_cron_expr_free(e);
  nodus_tz_close(tz);
}

int main(void) {
  if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
    return check_skip("no tz database (/usr/share/zoneinfo/Europe/Berlin)");

  char path[4096];
  const char *file = __FILE__;
  const char *slash = strrchr(file, '/');
  if (slash)
    snprintf(path, sizeof path, "%.*s/cron_next_cases.txt",
             (int)(slash - file), file);
  else
    snprintf(path, sizeof path, "cron_next_cases.txt");
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return 1;
  }

  char raw[2048];
  int line = 0, cases = 0;
  while (fgets(raw, sizeof raw, f)) {
    line++;
    char *s = trim(raw);
    if (!*s || *s == '#') continue;
    /* EXPR | ZONE | FROM | WANT */
    char *fields[4];
    int nf = 0;
    char *p = s;
    while (nf < 3) {
      char *bar = strstr(p, " | ");
      if (!bar) break;
      *bar = '\0';
      fields[nf++] = p;
      p = bar + 3;
    }
    if (nf != 3) {
      check_failed++;
      fprintf(stderr, "cron_next_cases.txt:%d: not EXPR | ZONE | FROM | WANT\n",
              line);
      continue;
    }
    fields[3] = p;
    for (int i = 0; i < 4; i++) fields[i] = trim(fields[i]);
    char *expr = fields[0];
    size_t el = strlen(expr);
    if (el >= 2 && expr[0] == '"' && expr[el - 1] == '"') {
      expr[el - 1] = '\0';
      expr++;
    }
    cases++;
    run_case(line, expr, fields[1], fields[2], fields[3]);
  }
  fclose(f);

  printf("%d cases\n", cases);
  if (cases < MIN_CASES) {
    check_failed++;
    fprintf(stderr, "only %d cases in %s, wanted at least %d\n", cases, path,
            MIN_CASES);
  }
  return check_report();
}

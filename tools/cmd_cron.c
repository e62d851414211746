/* nodus cron next EXPR: the next times a schedule gives, in its zone, as
 * crontab.guru shows them; a bad schedule is pointed at, column and
 * reason, exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nodus.h"

static const char usage[] =
    "usage: nodus cron next EXPR [--tz ZONE] [--from TIME] [--count N]\n"
    "\n"
    "Prints the next N (default 5, at most 1000) times of schedule EXPR\n"
    "strictly after TIME (default now), one per line, as local time in ZONE\n"
    "(default UTC): YYYY-MM-DDTHH:MM:SS+HH:MM. EXPR is a cron expression of\n"
    "5 or 6 fields, a nickname (@daily) or an interval (@every 5s); see\n"
    "nodus/cron.h. TIME is unix milliseconds or YYYY-MM-DDTHH:MM[:SS[.mmm]]\n"
    "with Z or +HH:MM, or without, as local time in ZONE.\n"
    "Exit 2 when EXPR, ZONE or TIME is wrong (with the column and reason).\n";

/* TIME: unix ms or a time nodus_cron_parse_time reads. */
static int parse_time(const char *s, const nodus_tz *tz, long long *ms) {
  char *end;
  long long n = strtoll(s, &end, 10);
  if (*s && !*end) return *ms = n, 0;
  int64_t t;
  if (nodus_cron_parse_time(tz, s, &t)) return -1;
  *ms = t;
  return 0;
}

static int cron_next(int argc, char **argv) {
  const char *text = NULL, *zone = NULL, *from = NULL;
  long count = 5;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--tz") && i + 1 < argc) zone = argv[++i];
    else if (!strcmp(argv[i], "--from") && i + 1 < argc) from = argv[++i];
    else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = strtol(argv[++i], NULL, 10);
    else if (!text && (argv[i][0] != '-' || !argv[i][1] || argv[i][1] != '-')) text = argv[i];
    else return fprintf(stderr, "nodus cron next: unexpected '%s'\n%s", argv[i], usage), CLI_USAGE;
  }
  if (!text) return fputs(usage, stderr), CLI_USAGE;
  if (count < 1 || count > 1000) {
    fprintf(stderr, "nodus cron next: --count is 1..1000\n");
    return CLI_USAGE;
  }
  nodus_cron_error err;
  nodus_cron_expr *expr;
  int rc = nodus_cron_parse(text, &expr, &err);
  if (rc == NODUS_ESYNTAX) {
    fprintf(stderr, "nodus cron next: bad schedule at column %u: %s\n  %s\n  %*s^\n",
            err.position, err.reason, text, (int)err.position - 1, "");
    return CLI_USAGE;
  }
  if (rc) return fprintf(stderr, "nodus cron next: %s\n", nodus_strerror(rc)), CLI_FAIL;
  nodus_tz *tz = NULL;
  if ((rc = nodus_tz_open(zone, &tz))) {
    fprintf(stderr, "nodus cron next: zone '%s': %s\n", zone,
            rc == NODUS_ENOTFOUND ? "no such zone in the tz database" : nodus_strerror(rc));
    nodus_cron_expr_free(expr);
    return CLI_USAGE;
  }
  long long t;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  t = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  if (from && parse_time(from, tz, &t)) {
    fprintf(stderr, "nodus cron next: --from '%s': expected unix ms or "
                    "YYYY-MM-DDTHH:MM[:SS[.mmm]][Z|+HH:MM]\n", from);
    rc = CLI_USAGE;
  }
  for (long i = 0; !rc && i < count; i++) {
    int64_t next;
    char buf[40];
    if (nodus_cron_next_after(expr, tz, t, &next)) {
      if (i == 0) fprintf(stderr, "nodus cron next: no time before the year 10000\n"), rc = CLI_FAIL;
      break;
    }
    nodus_cron_format_time(tz, next, buf, sizeof buf);
    puts(buf);
    t = next;
  }
  nodus_tz_close(tz);
  nodus_cron_expr_free(expr);
  return rc;
}

int cmd_cron(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  if (!strcmp(argv[0], "next")) return cron_next(argc - 1, argv + 1);
  fprintf(stderr, "nodus cron: unknown subcommand '%s'\n%s", argv[0], usage);
  return CLI_USAGE;
}

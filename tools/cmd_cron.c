/* nodus cron next EXPR: the next times a schedule gives, in its zone, as
 * crontab.guru shows them; a bad schedule is pointed at, column and
 * reason, exit 2. nodus cron list NODE: the schedulers a C node runs and
 * their jobs, asked over rpc (nodus:cron_jobs/0) from a hidden node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nodus.h"

static const char usage[] =
    "usage: nodus cron next EXPR [--tz ZONE] [--from TIME] [--count N]\n"
    "       nodus cron list NODE [--cookie C] [--timeout MS] [--epmd-port PORT]\n"
    "\n"
    "Prints the next N (default 5, at most 1000) times of schedule EXPR\n"
    "strictly after TIME (default now), one per line, as local time in ZONE\n"
    "(default UTC): YYYY-MM-DDTHH:MM:SS+HH:MM. EXPR is a cron expression of\n"
    "5 or 6 fields, a nickname (@daily) or an interval (@every 5s); see\n"
    "nodus/cron.h. TIME is unix milliseconds or YYYY-MM-DDTHH:MM[:SS[.mmm]]\n"
    "with Z or +HH:MM, or without, as local time in ZONE.\n"
    "Exit 2 when EXPR, ZONE or TIME is wrong (with the column and reason).\n"
    "\n"
    "list: prints, for every scheduler NODE runs (nodus_cron_start), its\n"
    "name and mode, then one line per job: name, schedule, zone, the next\n"
    "tick and the last tick done as local time in the job's zone (- when\n"
    "none), the node that owns it as NODE sees it (or none), its epoch.\n"
    "Exit 1 when NODE cannot be asked or runs no scheduler.\n";

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

/* ---- list ------------------------------------------------------------- */

static void print_term(const nodus_term *t) {
  char *text = NULL;
  fputs(nodus_print(t, NULL, &text, NULL) == 0 ? text : "?", stdout);
  free(text);
}

static const nodus_term *field(const nodus_term *map, const char *key) {
  nodus_term k;
  if (nodus_mk_atom(&k, key)) return NULL;
  return map ? nodus_map_get(map, &k) : NULL;
}

/* A binary field as text in buf ("?" when missing). */
static const char *text_field(const nodus_term *map, const char *key, char *buf, size_t n) {
  const nodus_term *t = field(map, key);
  size_t len, bits;
  const uint8_t *p = t ? nodus_bin_data(t, &len, &bits) : NULL;
  snprintf(buf, n, "%.*s", p ? (int)len : 1, p ? (const char *)p : "?");
  return buf;
}

static const char *atom_field(const nodus_term *map, const char *key) {
  const nodus_term *t = field(map, key);
  return t && t->type == NODUS_T_ATOM ? nodus_atom_text(t->v.atom, NULL) : NULL;
}

/* A tick (unix ms or undefined) as local time in tz. */
static void print_tick(const char *label, const nodus_term *t, const nodus_tz *tz) {
  char buf[40];
  if (t && t->type == NODUS_T_INT && nodus_cron_format_time(tz, t->v.i, buf, sizeof buf) > 0)
    printf("  %s=%s", label, buf);
  else
    printf("  %s=-", label);
}

static void print_job(const nodus_term *j) {
  char name[256], schedule[256], zone[256];
  text_field(j, "name", name, sizeof name);
  text_field(j, "schedule", schedule, sizeof schedule);
  text_field(j, "tz", zone, sizeof zone);
  nodus_tz *tz = NULL;
  /* The zone is the node's; this host may not have it: UTC then, said so. */
  bool here = nodus_tz_open(zone, &tz) == 0;
  printf("  %s  %s  %s%s", name, schedule, zone, here ? "" : " (unknown here: times in UTC)");
  print_tick("next", field(j, "next"), tz);
  print_tick("last", field(j, "last"), tz);
  const char *owner = atom_field(j, "owner");
  printf("  owner=%s  epoch=", !owner || !strcmp(owner, "undefined") ? "none" : owner);
  const nodus_term *epoch = field(j, "epoch");
  epoch ? print_term(epoch) : (void)fputs("?", stdout);
  printf("\n");
  nodus_tz_close(tz);
}

static void print_scheduler(const nodus_term *m) {
  char name[256];
  const char *mode = atom_field(m, "mode");
  const nodus_term *jobs = field(m, "jobs");
  printf("%s  mode=%s  jobs=%zu\n", text_field(m, "name", name, sizeof name),
         mode ? mode : "?", jobs ? nodus_size(jobs) : 0);
  for (size_t i = 0; jobs && i < nodus_size(jobs); i++) print_job(nodus_list_item(jobs, i));
}

static int cron_list(int argc, char **argv) {
  cli_peer_opts o = {0};
  int rc = cli_peer_args(argc, argv, 1, &o, usage, "cron");
  if (rc) return rc;
  char peer_name[512];
  cli_full_name(o.pos[0], peer_name, sizeof peer_name);
  nodus_node *node;
  nodus_atom peer;
  if (cli_peer_node(&o, peer_name, "cron", &node)) return CLI_FAIL;
  if ((rc = nodus_atom_intern(peer_name, strlen(peer_name), &peer))) {
    fprintf(stderr, "nodus cron list: %s\n", nodus_strerror(rc));
    nodus_node_close(node);
    return CLI_FAIL;
  }
  nodus_term result = {0};
  rc = nodus_rpc(node, peer, "nodus", "cron_jobs", nodus_nil(), o.timeout_ms, &result);
  int out = CLI_OK;
  if (rc) {
    fprintf(stderr, "nodus cron list: ");
    if (rc == NODUS_EEXIT) {
      char *text = NULL;
      fprintf(stderr, "%s\n", nodus_print(&result, NULL, &text, NULL) == 0 ? text : "?");
      free(text);
    } else {
      fprintf(stderr, "%s\n", nodus_strerror(rc));
    }
    out = CLI_FAIL;
  } else if (result.type != NODUS_T_LIST && result.type != NODUS_T_NIL) {
    fprintf(stderr, "nodus cron list: %s answered something else than a list\n", peer_name);
    out = CLI_FAIL;
  } else if (nodus_size(&result) == 0) {
    fprintf(stderr, "nodus cron list: %s runs no cron scheduler\n", peer_name);
    out = CLI_FAIL;
  } else {
    for (size_t i = 0; i < nodus_size(&result); i++)
      print_scheduler(nodus_list_item(&result, i));
  }
  nodus_term_free(&result);
  nodus_node_close(node);
  return out;
}

int cmd_cron(int argc, char **argv) {
  if (argc < 1 || cli_wants_help(argc, argv)) {
    fputs(usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  if (!strcmp(argv[0], "next")) return cron_next(argc - 1, argv + 1);
  if (!strcmp(argv[0], "list")) return cron_list(argc - 1, argv + 1);
  fprintf(stderr, "nodus cron: unknown subcommand '%s'\n%s", argv[0], usage);
  return CLI_USAGE;
}

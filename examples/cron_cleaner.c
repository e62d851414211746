/* cron_cleaner: story 004's database cleaner, run once per tick on the
 * whole cluster (nodus/cron.h).
 *
 * Every member node runs the same command line:
 *
 *   cron_cleaner --name NAME --cookie C [--discover SPEC] [--peers a@h,b@h]
 *                (--every 5s | --cron EXPR [--tz ZONE])
 *                [--db CONNINFO] [--table events] [--retention-ms 60000]
 *                [--mode quorum|availability] [--cluster-size N] [--quorum K]
 *                [--lease-ms MS] [--detector-ms MS] [--min-nodes N]
 *                [--missed skip|run_once|all] [--overlap forbid|allow|replace]
 *                [--work-ms MS] [--history PATH] [--ticktime S] [--epmd-port P]
 *                [--mfa MODULE:FUNCTION [--rpc-node NODE]]
 *
 * Each tick runs on one node: with --db (a libpq connection string) it
 * deletes the rows of --table whose inserted_at is older than
 * --retention-ms, and records the run in cron_cleaner_runs, whose key
 * (job, scheduled_ms) makes a second run of one tick a no-op; then
 * prints, and appends to --history PATH (O_APPEND, one write per line):
 *
 *   tick <scheduled_unix_ms> ran=<unix_ms> node=<node> epoch=<E> deleted=<N>
 *
 * Without --db it deletes nothing (deleted=0). With --mfa, the cleanup is
 * an Erlang or Elixir function instead ('Elixir.Cleaner:run'), called by
 * rpc on --rpc-node (default this node) as Function(#{job, scheduled,
 * epoch, attempt}); deleted= is the integer it returns. --work-ms makes each run
 * last that much longer (to see --overlap at work). Quorum mode (the
 * default) needs --cluster-size or --quorum. It also prints the test
 * kit's "#nodeup NODE t=<ms>" / "#nodedown NODE REASON t=<ms>" lines, and
 * "cron_cleaner NODE ready" once it runs; it leaves on SIGINT or SIGTERM.
 * NODUS_LOG=info shows the scheduler's lines: missed, skipped and gated
 * ticks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <nodus.h>

static const char *self_name = "?";
static int history_fd = -1;
static const char *conninfo, *table = "events";
static long retention_ms = 60000, work_ms;

/* One connection for the runs, which may overlap: taken in turn. */
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static PGconn *db;

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static PGconn *db_get(void) {
  if (db && PQstatus(db) == CONNECTION_OK) return db;
  if (db) PQfinish(db);
  db = PQconnectdb(conninfo);
  if (PQstatus(db) != CONNECTION_OK) {
    fprintf(stderr, "cron_cleaner: database: %s", PQerrorMessage(db));
    PQfinish(db);
    return db = NULL;
  }
  char *sql = NULL;
  if (asprintf(&sql,
               "SET client_min_messages = warning;"
               "CREATE TABLE IF NOT EXISTS \"%s\" (id bigserial PRIMARY KEY,"
               " inserted_at timestamptz NOT NULL DEFAULT now(), payload text);"
               "CREATE TABLE IF NOT EXISTS cron_cleaner_runs (job text NOT NULL,"
               " scheduled_ms bigint NOT NULL, epoch bigint NOT NULL, node text NOT NULL,"
               " deleted bigint NOT NULL, PRIMARY KEY (job, scheduled_ms))",
               table) >= 0)
    PQclear(PQexec(db, sql));
  free(sql);
  return db;
}

/* The cleanup and its run record, in one transaction: a tick that ran
 * already (its key is there) deletes nothing again. -1 on failure. */
static int64_t clean(const nodus_cron_run *run) {
  pthread_mutex_lock(&db_lock);
  PGconn *c = db_get();
  int64_t deleted = -1;
  if (c) {
    char *sql = NULL;
    char sched[24], epoch[24], keep[24];
    snprintf(sched, sizeof sched, "%" PRId64, run->scheduled_ms);
    snprintf(epoch, sizeof epoch, "%" PRIu64, run->epoch);
    snprintf(keep, sizeof keep, "%ld", retention_ms);
    if (asprintf(&sql,
                 "WITH claim AS (INSERT INTO cron_cleaner_runs VALUES ($1, $2, $3, $4, 0)"
                 " ON CONFLICT DO NOTHING RETURNING 1),"
                 " gone AS (DELETE FROM \"%s\" WHERE EXISTS (SELECT 1 FROM claim) AND"
                 " inserted_at < now() - $5::bigint * interval '1 millisecond' RETURNING 1)"
                 " SELECT (SELECT count(*) FROM claim), (SELECT count(*) FROM gone)",
                 table) >= 0) {
      const char *params[] = {run->job, sched, epoch, self_name, keep};
      PGresult *r = PQexecParams(c, sql, 5, NULL, params, NULL, NULL, 0);
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        deleted = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        char upd[200];
        snprintf(upd, sizeof upd,
                 "UPDATE cron_cleaner_runs SET deleted = %" PRId64
                 " WHERE job = $1 AND scheduled_ms = $2",
                 deleted);
        PQclear(PQexecParams(c, upd, 2, NULL, params, NULL, NULL, 0)); /* $1, $2 */
      } else {
        fprintf(stderr, "cron_cleaner: cleanup: %s", PQresultErrorMessage(r));
      }
      PQclear(r);
    }
    free(sql);
  }
  pthread_mutex_unlock(&db_lock);
  return deleted;
}

static void tick_line(const nodus_cron_run *run, int64_t deleted) {
  char line[256];
  int len = snprintf(line, sizeof line,
                     "tick %" PRId64 " ran=%" PRId64 " node=%s epoch=%" PRIu64
                     " deleted=%" PRId64 "\n",
                     run->scheduled_ms, run->started_ms, self_name, run->epoch, deleted);
  fputs(line, stdout);
  if (history_fd >= 0 && len > 0 && write(history_fd, line, (size_t)len) != len)
    fprintf(stderr, "cron_cleaner: history write failed\n");
}

static int64_t job_fn(const nodus_cron_run *run, void *arg) {
  (void)arg;
  int64_t deleted = conninfo ? clean(run) : 0;
  for (long waited = 0; waited < work_ms && !nodus_cron_cancelled(run); waited += 10)
    usleep(10000);
  tick_line(run, deleted);
  return deleted;
}

/* --mfa: the function ran by rpc; its result is the count. */
static void mfa_done(const nodus_cron_run *run, int64_t result, bool ok, void *arg) {
  (void)ok, (void)arg;
  tick_line(run, result);
}

static void on_node_event(nodus_node *node, const nodus_node_event *ev, void *arg) {
  (void)node, (void)arg;
  if (ev->up)
    printf("#nodeup %s t=%" PRId64 "\n", nodus_atom_text(ev->node, NULL), wall_ms());
  else
    printf("#nodedown %s %s t=%" PRId64 "\n", nodus_atom_text(ev->node, NULL),
           nodus_atom_text(ev->reason, NULL), wall_ms());
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: cron_cleaner --name NAME [--cookie C] [--discover SPEC] [--peers a@h,b@h]\n"
          "         (--every 5s | --cron EXPR [--tz ZONE]) [--db CONNINFO]\n"
          "         [--table events] [--retention-ms 60000] [--mode quorum|availability]\n"
          "         [--cluster-size N] [--quorum K] [--lease-ms MS] [--detector-ms MS]\n"
          "         [--min-nodes N] [--missed skip|run_once|all]\n"
          "         [--overlap forbid|allow|replace] [--work-ms MS] [--history PATH]\n"
          "         [--ticktime S] [--epmd-port P] [--mfa MOD:FUN [--rpc-node NODE]]\n"
          "Deletes the rows of --table older than --retention-ms once per tick on\n"
          "the whole cluster, and prints\n"
          "  tick <scheduled_ms> ran=<ms> node=<node> epoch=<E> deleted=<N>\n");
}

static bool number(const char *s, long min, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

static int pick(const char *v, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v, names[i])) return i;
  return -1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  nodus_node_opts opts = {0};
  nodus_cron_opts copts = {.name = "cron_cleaner", .mode = NODUS_CRON_QUORUM};
  nodus_cron_job job = {.name = "cleanup", .fn = job_fn};
  const char *discover = NULL, *peers = NULL, *history_path = NULL;
  char every[64] = "", mfa[256] = "";
  static const char *const missed[] = {"skip", "run_once", "all"};
  static const char *const overlap[] = {"forbid", "allow", "replace"};
  static const char *const modes[] = {"quorum", "availability"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long n = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "cron_cleaner: unknown or incomplete option '%s'\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--name")) opts.name = v;
    else if (!strcmp(a, "--cookie")) opts.cookie = v;
    else if (!strcmp(a, "--discover")) discover = v;
    else if (!strcmp(a, "--peers")) peers = v;
    else if (!strcmp(a, "--history")) history_path = v;
    else if (!strcmp(a, "--every")) snprintf(every, sizeof every, "@every %s", v), job.schedule = every;
    else if (!strcmp(a, "--cron")) job.schedule = v;
    else if (!strcmp(a, "--tz")) job.tz = v;
    else if (!strcmp(a, "--db")) conninfo = v;
    else if (!strcmp(a, "--table")) table = v;
    else if (!strcmp(a, "--mfa") && strchr(v, ':') && strlen(v) < sizeof mfa) {
      snprintf(mfa, sizeof mfa, "%s", v);
      *strchr(mfa, ':') = 0;
      job.fn = NULL, job.done = mfa_done;
      job.module = mfa, job.function = mfa + strlen(mfa) + 1;
    } else if (!strcmp(a, "--rpc-node")) job.rpc_node = v;
    else if (!strcmp(a, "--retention-ms") && number(v, 0, 1L << 40, &n)) retention_ms = n;
    else if (!strcmp(a, "--work-ms") && number(v, 0, 3600000, &n)) work_ms = n;
    else if (!strcmp(a, "--mode") && (n = pick(v, modes, 2)) >= 0)
      copts.mode = n == 0 ? NODUS_CRON_QUORUM : NODUS_CRON_AVAILABILITY;
    else if (!strcmp(a, "--missed") && (n = pick(v, missed, 3)) >= 0) job.missed = (int)n;
    else if (!strcmp(a, "--overlap") && (n = pick(v, overlap, 3)) >= 0)
      job.overlap = n == 0 ? NODUS_CRON_FORBID : n == 1 ? NODUS_CRON_ALLOW : NODUS_CRON_REPLACE;
    else if (!strcmp(a, "--min-nodes") && number(v, 0, 256, &n)) job.min_nodes = (unsigned)n;
    else if (!strcmp(a, "--quorum") && number(v, 1, 256, &n)) copts.quorum = (unsigned)n;
    else if (!strcmp(a, "--cluster-size") && number(v, 1, 256, &n))
      copts.cluster_size = (unsigned)n;
    else if (!strcmp(a, "--lease-ms") && number(v, 100, 3600000, &n)) copts.lease_ms = (unsigned)n;
    else if (!strcmp(a, "--detector-ms") && number(v, 100, 3600000, &n))
      copts.detector_ms = (unsigned)n;
    else if (!strcmp(a, "--ticktime") && number(v, 1, 3600, &n))
      opts.net_ticktime_ms = (unsigned)n * 1000;
    else if (!strcmp(a, "--epmd-port") && number(v, 1, 65535, &n)) opts.epmd_port = (int)n;
    else {
      fprintf(stderr, "cron_cleaner: bad option or value '%s %s'\n", a, v);
      usage(stderr);
      return 2;
    }
  }
  if (!opts.name || !job.schedule) {
    fprintf(stderr, "cron_cleaner: --name and --every or --cron are required\n");
    usage(stderr);
    return 2;
  }
  nodus_cron_error err;
  nodus_cron_expr *expr;
  if (nodus_cron_parse(job.schedule, &expr, &err)) {
    fprintf(stderr, "cron_cleaner: schedule '%s', column %u: %s\n", job.schedule, err.position,
            err.reason);
    return 2;
  }
  nodus_cron_expr_free(expr);
  if (copts.mode == NODUS_CRON_QUORUM && !copts.quorum && !copts.cluster_size) {
    fprintf(stderr, "cron_cleaner: quorum mode needs --cluster-size N or --quorum K\n");
    return 2;
  }
  if (history_path &&
      (history_fd = open(history_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
    perror(history_path);
    return 1;
  }
  char *spec = NULL;
  if (peers && discover) {
    if (asprintf(&spec, "%s;static:%s", discover, peers) < 0) return 1;
  } else if (peers) {
    if (asprintf(&spec, "static:%s", peers) < 0) return 1;
  } else if (discover) {
    spec = strdup(discover);
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  nodus_node *node;
  int rc = nodus_node_init(&opts, &node);
  if (rc) {
    fprintf(stderr, "cron_cleaner: %s\n", nodus_strerror(rc));
    free(spec);
    return 1;
  }
  self_name = nodus_atom_text(nodus_node_name(node), NULL);
  copts.jobs = &job;
  copts.n_jobs = 1;
  nodus_node_events *events = NULL;
  nodus_cron *cron = NULL;
  nodus_discovery *disc = NULL;
  char why[512] = "";
  if (!(rc = nodus_node_events_subscribe(node, NODUS_NODES_ALL, on_node_event, NULL, &events)))
    rc = nodus_node_start(node);
  if (!rc) rc = nodus_cron_start(node, &copts, &cron);
  /* Discovery last: every node it connects is met by a running scheduler. */
  if (!rc && spec) {
    nodus_discovery_opts d = {.spec = spec};
    if ((rc = nodus_discovery_start(node, &d, why, sizeof why, &disc)))
      fprintf(stderr, "cron_cleaner: --discover/--peers: %s\n", why);
  }
  free(spec);
  if (rc) {
    fprintf(stderr, "cron_cleaner: %s\n", nodus_strerror(rc));
    nodus_cron_close(cron);
    nodus_node_close(node);
    return 1;
  }
  printf("cron_cleaner %s ready (schedule %s, zone %s, mode %s)\n", self_name, job.schedule,
         job.tz ? job.tz : "UTC", copts.mode == NODUS_CRON_QUORUM ? "quorum" : "availability");

  /* As singleton_worker: the signal awaited with the loop still running,
   * which nodus_cron_close needs to hand the job over at once. */
  int sig = 0;
  sigwait(&stop_signals, &sig);
  printf("cron_cleaner %s: signal %d, leaving\n", self_name, sig);
  nodus_discovery_stop(disc);
  nodus_cron_close(cron);
  nodus_node_close(node);
  if (db) PQfinish(db);
  if (history_fd >= 0) close(history_fd);
  return 0;
}
